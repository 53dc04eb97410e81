//! Bearer tokens: created once and shown once, stored as SHA-256 in
//! `api_tokens`, each mapping to a tenant and its default timezone, with an
//! optional expiry. Revocations and last uses are appended to
//! `api_token_events` (`adhouse-api token list`/`revoke`). Every query is
//! scoped to the token's tenant by the server.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use clickhouse::{Client, Row};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, Result};
use crate::query::time::Zone;

const PREFIX: &str = "adh_";

/// The tenant a request acts for, and its default timezone.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub zone: Zone,
    /// SHA-256 of the request's token: who started an OAuth flow, so that
    /// only that token may read and link its grant.
    pub token_hash: String,
}

/// What one lookup reads: the token's tenant and timezone, its expiry and
/// its last recorded use (epoch seconds, 0 for none), unless revoked.
#[derive(Debug, Row, Deserialize)]
struct TokenRow {
    tenant: String,
    timezone: String,
    expires_secs: u32,
    last_used_secs: u32,
}

/// One query per lookup: a revoked token matches no row.
const LOOKUP_SQL: &str = "SELECT t.tenant AS tenant, t.timezone AS timezone, \
     toUInt32(ifNull(toUnixTimestamp(t.expires_at), 0)) AS expires_secs, \
     toUInt32(ifNull((SELECT toUnixTimestamp(max(at)) FROM api_token_events WHERE token_sha256 = {hash:String} AND event = 'used'), 0)) AS last_used_secs \
     FROM api_tokens AS t FINAL \
     WHERE t.token_sha256 = {hash:String} \
       AND t.token_sha256 NOT IN (SELECT token_sha256 FROM api_token_events WHERE token_sha256 = {hash:String} AND event = 'revoked') \
     LIMIT 1";

/// Last use is written only when the stored one is older than this, so a
/// busy token costs one write a minute, not one per request.
const LAST_USE_RESOLUTION_SECS: i64 = 60;

/// `adh_` and 64 hex digits of operating-system randomness.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    // Without OS randomness no token is safe to hand out; nothing to recover.
    getrandom::fill(&mut bytes).expect("operating-system randomness");
    format!("{PREFIX}{}", hex(&bytes))
}

pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Stores a new token for `tenant` that never expires and returns it.
pub async fn create(client: &Client, tenant: &str, zone: &Zone) -> clickhouse::error::Result<String> {
    create_expiring(client, tenant, zone, None).await
}

/// Stores a new token for `tenant`, valid until `expires_at` (epoch
/// seconds) if given, and returns it; only its hash is kept.
pub async fn create_expiring(client: &Client, tenant: &str, zone: &Zone, expires_at: Option<i64>) -> clickhouse::error::Result<String> {
    let token = new_token();
    client
        .query(
            "INSERT INTO api_tokens (token_sha256, tenant, timezone, expires_at) \
             SELECT {hash:String}, {tenant:String}, {timezone:String}, \
                    if({expires:UInt32} = 0, NULL, toDateTime64({expires:UInt32}, 3, 'UTC'))",
        )
        .param("hash", token_hash(&token))
        .param("tenant", tenant)
        .param("timezone", &zone.name)
        .param("expires", expires_at.map_or(0, |at| u32::try_from(at.max(1)).unwrap_or(u32::MAX)))
        .execute()
        .await?;
    Ok(token)
}

/// One token as `adhouse-api token list` shows it; never the token itself.
#[derive(Debug, Row, Deserialize, Serialize)]
pub struct TokenInfo {
    /// The first 12 hex digits of the token's SHA-256, enough to revoke it by.
    pub id: String,
    pub tenant: String,
    pub timezone: String,
    pub created_at: String,
    /// Empty for never.
    pub expires_at: String,
    /// Empty if it was never used (recorded to the minute).
    pub last_used_at: String,
    /// Empty unless revoked.
    pub revoked_at: String,
}

/// Every token, oldest first per tenant (optionally one tenant's).
pub async fn list(client: &Client, tenant: Option<&str>) -> clickhouse::error::Result<Vec<TokenInfo>> {
    client
        .query(
            "SELECT substring(t.token_sha256, 1, 12) AS id, t.tenant AS tenant, t.timezone AS timezone, \
                    toString(t.created_at) AS created_at, ifNull(toString(t.expires_at), '') AS expires_at, \
                    if(e.used > 0, toString(e.last_used), '') AS last_used_at, if(e.revoked > 0, toString(e.revoked_at), '') AS revoked_at \
             FROM api_tokens AS t FINAL \
             LEFT JOIN (SELECT token_sha256, countIf(event = 'used') AS used, maxIf(at, event = 'used') AS last_used, \
                               countIf(event = 'revoked') AS revoked, minIf(at, event = 'revoked') AS revoked_at \
                        FROM api_token_events GROUP BY token_sha256) AS e ON e.token_sha256 = t.token_sha256 \
             WHERE {tenant:String} = '' OR t.tenant = {tenant:String} \
             ORDER BY t.tenant, t.created_at",
        )
        .param("tenant", tenant.unwrap_or(""))
        .fetch_all()
        .await
}

/// What to revoke: one token by its listed id, or every token of a tenant.
#[derive(Debug, Clone)]
pub enum Revoke {
    Id(String),
    Tenant(String),
}

/// What `revoke` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Revoked {
    /// The ids of the tokens revoked now (none if nothing matched).
    Now(Vec<String>),
    /// An id that matches several tokens revokes none of them.
    Ambiguous(Vec<String>),
}

/// Revokes the matching tokens that are not revoked yet. Running API
/// processes stop accepting them within `api.token_cache_secs` (their
/// cache); new lookups refuse them at once.
pub async fn revoke(client: &Client, which: &Revoke) -> clickhouse::error::Result<Revoked> {
    let (id, tenant) = match which {
        Revoke::Id(id) => (id.to_ascii_lowercase(), String::new()),
        Revoke::Tenant(tenant) => (String::new(), tenant.clone()),
    };
    let matching = "SELECT token_sha256 FROM api_tokens FINAL \
         WHERE (({id:String} != '' AND startsWith(token_sha256, {id:String})) OR ({tenant:String} != '' AND tenant = {tenant:String})) \
           AND token_sha256 NOT IN (SELECT token_sha256 FROM api_token_events WHERE event = 'revoked')";
    let hashes: Vec<String> = client.query(matching).param("id", &id).param("tenant", &tenant).fetch_all().await?;
    let ids = hashes.iter().map(|hash| hash[..12].to_owned()).collect();
    if matches!(which, Revoke::Id(_)) && hashes.len() > 1 {
        return Ok(Revoked::Ambiguous(ids));
    }
    if !hashes.is_empty() {
        client
            .query("INSERT INTO api_token_events (token_sha256, event) SELECT arrayJoin({hashes:Array(String)}), 'revoked'")
            .param("hashes", &hashes)
            .execute()
            .await?;
    }
    Ok(Revoked::Now(ids))
}

/// Token lookups, remembered for a while so that a dashboard's burst of
/// requests costs one ClickHouse round trip. A cached token is refused as
/// soon as it expires; a revoked one once its entry is older than `ttl`
/// (`api.token_cache_secs`): that is the bound on revocation.
pub struct TokenStore {
    client: Client,
    ttl: Duration,
    cache: Mutex<HashMap<String, Cached>>,
}

#[derive(Debug, Clone)]
struct Cached {
    tenant: Tenant,
    /// Epoch seconds; 0 for never.
    expires_secs: i64,
    at: Instant,
}

impl TokenStore {
    pub fn new(client: Client, ttl: Duration) -> Self {
        Self { client, ttl, cache: Mutex::new(HashMap::new()) }
    }

    pub async fn tenant(&self, token: &str) -> Result<Tenant> {
        if !token.starts_with(PREFIX) || token.len() > 128 {
            return Err(ApiError::InvalidToken);
        }
        let hash = token_hash(token);
        let expired = |expires_secs: i64| expires_secs != 0 && now_secs() >= expires_secs;
        if let Some(cached) = self.cache.lock().expect("token cache").get(&hash)
            && cached.at.elapsed() < self.ttl
        {
            return if expired(cached.expires_secs) { Err(ApiError::InvalidToken) } else { Ok(cached.tenant.clone()) };
        }
        let unavailable = |err: clickhouse::error::Error| match err {
            clickhouse::error::Error::Network(_) => ApiError::Unavailable(err),
            other => ApiError::ClickHouse(other),
        };
        let row = self
            .client
            .query(LOOKUP_SQL)
            .param("hash", &hash)
            .with_setting("readonly", "2")
            .fetch_optional::<TokenRow>()
            .await
            .map_err(unavailable)?
            .ok_or(ApiError::InvalidToken)?;
        let expires_secs = i64::from(row.expires_secs);
        if expired(expires_secs) {
            return Err(ApiError::InvalidToken);
        }
        if now_secs() - i64::from(row.last_used_secs) >= LAST_USE_RESOLUTION_SECS {
            self.record_use(&hash).await.map_err(unavailable)?;
        }
        let zone = Zone::parse("api_tokens.timezone", &row.timezone).unwrap_or_else(|_| {
            tracing::warn!(tenant = %row.tenant, timezone = %row.timezone, "token has an unknown timezone; using UTC");
            Zone::parse("timezone", "UTC").expect("UTC exists")
        });
        let tenant = Tenant { id: row.tenant, zone, token_hash: hash.clone() };
        let mut cache = self.cache.lock().expect("token cache");
        cache.retain(|_, cached| cached.at.elapsed() < self.ttl);
        cache.insert(hash, Cached { tenant: tenant.clone(), expires_secs, at: Instant::now() });
        Ok(tenant)
    }

    /// Appends a `used` event; at most once a minute per token (see
    /// [`LAST_USE_RESOLUTION_SECS`]), and only on a cache miss.
    async fn record_use(&self, hash: &str) -> clickhouse::error::Result<()> {
        self.client
            .query("INSERT INTO api_token_events (token_sha256, event) SELECT {hash:String}, 'used'")
            .param("hash", hash)
            .execute()
            .await
    }
}

impl FromRequest for Tenant {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = request
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .map(|token| token.trim().to_owned());
        let tokens = request.app_data::<web::Data<TokenStore>>().cloned();
        let request = request.clone();
        Box::pin(async move {
            let token = token.ok_or(ApiError::MissingToken)?;
            let tokens = tokens.expect("the TokenStore is registered as app data");
            let tenant = tokens.tenant(&token).await?;
            // For the request log, which never sees the token itself.
            request.extensions_mut().insert(TenantId(tenant.id.clone()));
            Ok(tenant)
        })
    }
}

/// The authenticated tenant, left in the request extensions for logging.
#[derive(Debug, Clone)]
pub struct TenantId(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hashed_as_hex_sha256() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with("adh_") && a.len() == 4 + 64);
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
