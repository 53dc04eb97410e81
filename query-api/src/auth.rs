//! Bearer tokens: created once and shown once, stored as SHA-256 in
//! `api_tokens`, each mapping to a tenant and its default timezone. Every
//! query is scoped to the token's tenant by the server.

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
}

#[derive(Debug, Row, Serialize, Deserialize)]
struct TokenRow {
    token_sha256: String,
    tenant: String,
    timezone: String,
}

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

/// Stores a new token for `tenant` and returns it; only its hash is kept.
pub async fn create(client: &Client, tenant: &str, zone: &Zone) -> clickhouse::error::Result<String> {
    let token = new_token();
    let mut insert = client.insert::<TokenRow>("api_tokens").await?;
    insert
        .write(&TokenRow { token_sha256: token_hash(&token), tenant: tenant.to_owned(), timezone: zone.name.clone() })
        .await?;
    insert.end().await?;
    Ok(token)
}

/// Token lookups, remembered for a while so that a dashboard's burst of
/// requests costs one ClickHouse round trip.
pub struct TokenStore {
    client: Client,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Tenant, Instant)>>,
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
        if let Some((tenant, at)) = self.cache.lock().expect("token cache").get(&hash)
            && at.elapsed() < self.ttl
        {
            return Ok(tenant.clone());
        }
        let row = self
            .client
            .query("SELECT ?fields FROM api_tokens FINAL WHERE token_sha256 = {hash:String} LIMIT 1")
            .param("hash", &hash)
            .with_setting("readonly", "2")
            .fetch_optional::<TokenRow>()
            .await
            .map_err(|err| match err {
                clickhouse::error::Error::Network(_) => ApiError::Unavailable(err),
                other => ApiError::ClickHouse(other),
            })?
            .ok_or(ApiError::InvalidToken)?;
        let zone = Zone::parse("api_tokens.timezone", &row.timezone).unwrap_or_else(|_| {
            tracing::warn!(tenant = %row.tenant, timezone = %row.timezone, "token has an unknown timezone; using UTC");
            Zone::parse("timezone", "UTC").expect("UTC exists")
        });
        let tenant = Tenant { id: row.tenant, zone };
        let mut cache = self.cache.lock().expect("token cache");
        cache.retain(|_, (_, at)| at.elapsed() < self.ttl);
        cache.insert(hash, (tenant.clone(), Instant::now()));
        Ok(tenant)
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
