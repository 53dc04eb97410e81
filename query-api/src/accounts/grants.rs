//! Pending grants (`platform_grants`) between the platform's callback and
//! the user's choice of accounts, the used-state ledger
//! (`oauth_used_states`) that makes each OAuth state single-use, and the
//! temporary credentials of OAuth 1.0a flows (`oauth_flows`).

use adhouse_connectors::oauth::random_token;
use adhouse_connectors::vault::Vault;
use adhouse_connectors::{Account, Credentials, PlatformId};
use clickhouse::{Client, Row};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How long a grant can be linked from after the callback: the user chooses
/// accounts right away; the table's TTL drops rows after a day anyway.
const GRANT_VALID_MINUTES: i64 = 60;

#[derive(Debug, Row, Serialize, Deserialize)]
struct GrantRow {
    grant_id: String,
    tenant: String,
    platform: String,
    requested_by: String,
    sealed: String,
    accounts: String,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    created_at: OffsetDateTime,
}

/// A grant as stored: whose it is, what it can see, and its sealed
/// credentials (opened only when accounts are linked).
#[derive(Debug)]
pub struct Grant {
    pub id: String,
    pub tenant: String,
    pub platform: PlatformId,
    /// Hash of the API token that started the flow.
    pub requested_by: String,
    pub accounts: Vec<Account>,
    sealed: String,
}

impl Grant {
    /// The grant's credentials; they open only under this grant's id.
    pub fn credentials(&self, vault: &Vault) -> adhouse_connectors::Result<Credentials> {
        vault.open(&self.sealed, &self.id)
    }

    /// Whether `tenant`'s token `token_hash` started this flow: a grant is
    /// shown to and linked by nobody else.
    pub fn belongs_to(&self, tenant: &str, token_hash: &str) -> bool {
        self.tenant == tenant && self.requested_by == token_hash
    }
}

/// What the callback learned, before it is stored.
pub struct NewGrant<'a> {
    pub tenant: &'a str,
    pub platform: PlatformId,
    pub requested_by: &'a str,
    pub credentials: &'a Credentials,
    pub accounts: &'a [Account],
}

/// Stores a grant under a fresh random id (the context its credentials are
/// sealed under) and returns the id.
pub async fn put(client: &Client, vault: &Vault, grant: &NewGrant<'_>) -> clickhouse::error::Result<String> {
    let grant_id = random_token(18);
    let row = GrantRow {
        sealed: vault.seal(grant.credentials, &grant_id),
        grant_id: grant_id.clone(),
        tenant: grant.tenant.to_owned(),
        platform: grant.platform.as_str().to_owned(),
        requested_by: grant.requested_by.to_owned(),
        accounts: serde_json::to_string(grant.accounts).expect("accounts serialize"),
        created_at: OffsetDateTime::now_utc(),
    };
    let mut insert = client.insert::<GrantRow>("platform_grants").await?;
    insert.write(&row).await?;
    insert.end().await?;
    Ok(grant_id)
}

/// The grant `id` if it exists and is still fresh enough to link from.
pub async fn get(client: &Client, id: &str) -> clickhouse::error::Result<Option<Grant>> {
    let sql = "SELECT ?fields FROM platform_grants FINAL \
               WHERE grant_id = {id:String} AND created_at > now64(3) - toIntervalMinute({minutes:Int64})";
    let Some(row) = client.query(sql).param("id", id).param("minutes", GRANT_VALID_MINUTES).fetch_optional::<GrantRow>().await? else {
        return Ok(None);
    };
    // Rows are written only by `put`: an unreadable one is not a grant.
    let (Some(platform), Ok(accounts)) = (PlatformId::parse(&row.platform), serde_json::from_str(&row.accounts)) else {
        tracing::error!(grant = %row.grant_id, "unreadable row in platform_grants");
        return Ok(None);
    };
    Ok(Some(Grant { id: row.grant_id, tenant: row.tenant, platform, requested_by: row.requested_by, accounts, sealed: row.sealed }))
}

/// Records `nonce` as used; `false` when it already was (a replayed state).
///
/// Failure mode: two callbacks with the same state in the same instant can
/// both see the nonce unused. The second one then exchanges an authorization
/// code the platform has already redeemed, which every platform refuses, so
/// a state still completes at most one grant.
pub async fn claim_nonce(client: &Client, nonce: &str) -> clickhouse::error::Result<bool> {
    let used: u64 = client.query("SELECT count() FROM oauth_used_states WHERE nonce = {nonce:String}").param("nonce", nonce).fetch_one().await?;
    if used > 0 {
        return Ok(false);
    }
    client.query("INSERT INTO oauth_used_states (nonce, used_at) SELECT {nonce:String}, now64(3)").param("nonce", nonce).execute().await?;
    Ok(true)
}

#[derive(Debug, Row, Serialize, Deserialize)]
struct FlowRow {
    nonce: String,
    sealed: String,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    created_at: OffsetDateTime,
}

/// Keeps a flow's temporary credentials until its callback, sealed under
/// the state's nonce (so they open for that state only).
pub async fn put_temporary(client: &Client, vault: &Vault, nonce: &str, temporary: &Credentials) -> clickhouse::error::Result<()> {
    let row = FlowRow { nonce: nonce.to_owned(), sealed: vault.seal(temporary, nonce), created_at: OffsetDateTime::now_utc() };
    let mut insert = client.insert::<FlowRow>("oauth_flows").await?;
    insert.write(&row).await?;
    insert.end().await
}

/// The temporary credentials kept for the flow of `nonce`, if any.
pub async fn temporary(client: &Client, vault: &Vault, nonce: &str) -> Result<Option<Credentials>, String> {
    let sealed: Option<String> = client
        .query("SELECT sealed FROM oauth_flows FINAL WHERE nonce = {nonce:String}")
        .param("nonce", nonce)
        .fetch_optional()
        .await
        .map_err(|err| err.to_string())?;
    sealed.map(|sealed| vault.open(&sealed, nonce).map_err(|err| err.to_string())).transpose()
}
