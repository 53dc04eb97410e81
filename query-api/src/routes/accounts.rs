//! `/api/v1/accounts…`: connect a platform, read a grant, link, list and
//! unlink ad accounts. Thin: parse, call `crate::accounts`, respond.

use std::collections::{BTreeSet, HashMap};

use actix_web::{HttpResponse, web};
use adhouse_connectors::PlatformId;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::accounts::grants::{self, Grant};
use crate::accounts::listing::{self, AccountView, platform_label};
use crate::accounts::{Linking, flow, link};
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorCode, Result};
use crate::state::AppState;

/// Accounts one link request may name.
pub const MAX_LINK_ACCOUNTS: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    platform: String,
}

fn enabled(state: &AppState) -> Vec<&'static str> {
    state.linking.as_ref().map(Linking::enabled).unwrap_or_default()
}

/// `POST /api/v1/accounts/connect`: the consent page to send the user to.
pub async fn connect(state: web::Data<AppState>, tenant: Tenant, body: web::Json<ConnectRequest>) -> Result<HttpResponse> {
    let Some(linking) = state.linking.as_ref() else {
        return Err(ApiError::invalid(ErrorCode::InvalidChoice, "platform", "no ad platform is enabled on this server"));
    };
    let platform = PlatformId::parse(&body.platform).filter(|id| linking.platform(*id).is_some());
    let now = jiff::Timestamp::now().as_second();
    let url = match platform {
        Some(platform) => flow::authorize_url(linking, state.db.client(), &tenant, platform, now).await?,
        None => None,
    };
    let url = url.ok_or_else(|| ApiError::unknown(ErrorCode::InvalidChoice, "platform", &body.platform, enabled(&state)))?;
    Ok(HttpResponse::Ok().json(json!({ "authorize_url": url, "expires_in_secs": flow::STATE_VALID_SECS })))
}

/// The grant `id`, if `tenant`'s token started it; the same 404 otherwise, so
/// that another user learns nothing about it.
async fn owned_grant(state: &AppState, tenant: &Tenant, id: &str) -> Result<Grant> {
    let missing = || ApiError::NotFound("no such grant: it is older than an hour or was started by someone else; connect again".into());
    if id.is_empty() || id.len() > 64 {
        return Err(missing());
    }
    let grant = grants::get(state.db.client(), id).await.map_err(ApiError::clickhouse)?;
    grant.filter(|grant| grant.belongs_to(&tenant.id, &tenant.token_hash)).ok_or_else(missing)
}

#[derive(Debug, Serialize)]
struct GrantAccount<'a> {
    id: &'a str,
    /// Yahoo! JAPAN's `search` or `display`; absent for single-product platforms.
    #[serde(skip_serializing_if = "str::is_empty")]
    kind: &'a str,
    name: &'a str,
    currency: &'a str,
    timezone: &'a str,
    /// Whether the platform says the account can serve and report.
    active: bool,
    /// The link status if the tenant already linked it (`active`, `needs_relink`).
    linked: Option<&'static str>,
}

/// `GET /api/v1/accounts/grants/{id}`: the accounts a grant can see.
pub async fn grant(state: web::Data<AppState>, tenant: Tenant, id: web::Path<String>) -> Result<HttpResponse> {
    let grant = owned_grant(&state, &tenant, &id).await?;
    let linked: HashMap<String, &'static str> = state
        .accounts
        .accounts(&tenant.id)
        .await?
        .into_iter()
        .filter(|account| account.platform == grant.platform.as_str())
        .map(|account| (account.account_id, account.status.as_str()))
        .collect();
    let accounts: Vec<GrantAccount> = grant
        .accounts
        .iter()
        .map(|account| GrantAccount {
            id: &account.id,
            kind: &account.kind,
            name: &account.name,
            currency: &account.currency,
            timezone: &account.timezone,
            active: account.active,
            linked: linked.get(&account.id).copied(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "grant": grant.id, "platform": grant.platform, "accounts": accounts })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    grant: String,
    account_ids: Vec<String>,
}

/// `POST /api/v1/accounts`: links accounts of a grant and queues their backfill.
pub async fn link(state: web::Data<AppState>, tenant: Tenant, body: web::Json<LinkRequest>) -> Result<HttpResponse> {
    let LinkRequest { grant, account_ids } = body.into_inner();
    if account_ids.is_empty() || account_ids.len() > MAX_LINK_ACCOUNTS {
        return Err(ApiError::invalid(ErrorCode::InvalidValue, "account_ids", format!("choose 1 to {MAX_LINK_ACCOUNTS} accounts")));
    }
    let mut seen = BTreeSet::new();
    let account_ids: Vec<String> = account_ids.into_iter().filter(|id| seen.insert(id.clone())).collect();
    let grant = owned_grant(&state, &tenant, &grant).await?;
    let linking = state.linking.as_ref().ok_or_else(|| ApiError::NotFound(format!("{} is no longer enabled on this server", grant.platform)))?;
    let now = time::OffsetDateTime::now_utc();
    let linked = link::link(linking, &grant, &account_ids, now).await?;
    state.metrics.observe_account_link(grant.platform.as_str(), "linked", linked.len() as u64);
    let accounts = listing::list(&state.db, &state.accounts, &tenant.id).await?;
    let linked: Vec<_> = linked.iter().map(|account| json!({ "platform": account.platform, "id": account.account_id })).collect();
    Ok(HttpResponse::Ok().json(json!({ "linked": linked, "platforms": platforms(&state), "accounts": accounts })))
}

fn platforms(state: &AppState) -> Vec<serde_json::Value> {
    enabled(state).into_iter().map(|id| json!({ "id": id, "name": platform_label(id) })).collect()
}

/// `GET /api/v1/accounts`: the enabled platforms and the tenant's accounts.
pub async fn list(state: web::Data<AppState>, tenant: Tenant) -> Result<HttpResponse> {
    let accounts: Vec<AccountView> = listing::list(&state.db, &state.accounts, &tenant.id).await?;
    Ok(HttpResponse::Ok().json(json!({ "platforms": platforms(&state), "accounts": accounts })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnlinkParams {
    #[serde(default)]
    purge: bool,
}

/// `DELETE /api/v1/accounts/{platform}/{id}?purge=`.
pub async fn unlink(
    state: web::Data<AppState>,
    tenant: Tenant,
    path: web::Path<(String, String)>,
    params: web::Query<UnlinkParams>,
) -> Result<HttpResponse> {
    let (platform_name, id) = path.into_inner();
    let missing = || ApiError::NotFound(format!("no linked account {platform_name}/{id}"));
    let platform = PlatformId::parse(&platform_name).ok_or_else(missing)?;
    let purge = params.purge;
    if !listing::unlink(&state.accounts, state.db.client(), &tenant.id, platform, &id, purge).await? {
        return Err(missing());
    }
    state.metrics.observe_account_link(platform.as_str(), if purge { "purged" } else { "unlinked" }, 1);
    Ok(HttpResponse::Ok().json(json!({ "platform": platform, "id": id, "status": "unlinked", "purged": purge })))
}
