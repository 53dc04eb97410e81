//! The OAuth flow: `connect` signs a state and asks the platform for the
//! consent URL; `callback` checks the state the platform sends back,
//! exchanges the code (OAuth 1.0a: the verifier) and keeps the grant until
//! the user picks accounts.
//!
//! OAuth 1.0a (X) needs a request token before the consent page, and its
//! secret at the exchange. That secret is the one thing a flow stores: sealed
//! under the state's nonce in `oauth_flows`, read back only by the callback
//! that spends the nonce, and never sent to the browser.
//!
//! PKCE without storage: the verifier is `HMAC(pkce key, nonce)`, derived
//! again at the callback from the nonce inside the signed state. It never
//! travels — neither in clear nor sealed — and nothing is stored between the
//! two steps; only the S256 challenge goes to the platform. An attacker who
//! intercepts the code lacks the server's key, so cannot redeem it.

use adhouse_connectors::oauth::{StateClaims, pkce_challenge, random_token};
use adhouse_connectors::platform::Consent;
use adhouse_connectors::{ErrorKind, PlatformId};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clickhouse::Client;

use super::Linking;
use super::grants::{self, NewGrant};
use crate::auth::Tenant;
use crate::error::ApiError;

/// How long a user has on the platform's consent page.
pub const STATE_VALID_SECS: i64 = 600;

/// The PKCE verifier of the flow whose state carries `nonce`: 43 characters
/// of base64url, as RFC 7636 §4.1 asks.
fn verifier(linking: &Linking, nonce: &str) -> String {
    URL_SAFE_NO_PAD.encode(hmac::sign(&linking.pkce_key, nonce.as_bytes()).as_ref())
}

/// The consent page URL for `tenant` on `platform`; `None` when the
/// platform is not enabled.
pub async fn authorize_url(linking: &Linking, db: &Client, tenant: &Tenant, platform: PlatformId, now: i64) -> Result<Option<String>, ApiError> {
    let Some(client) = linking.platform(platform) else {
        return Ok(None);
    };
    let claims = StateClaims {
        platform,
        tenant: tenant.id.clone(),
        requested_by: tenant.token_hash.clone(),
        nonce: random_token(18),
        expires_at: now + STATE_VALID_SECS,
    };
    let challenge = pkce_challenge(&verifier(linking, &claims.nonce));
    let authorization = client
        .authorize(&linking.redirect_uri(platform), &linking.signer.sign(&claims), &challenge)
        .await
        .map_err(|source| ApiError::Platform { platform, source })?;
    if let Some(temporary) = &authorization.temporary {
        grants::put_temporary(db, &linking.vault, &claims.nonce, temporary).await.map_err(ApiError::clickhouse)?;
    }
    Ok(Some(authorization.url))
}

/// What the platform appends to the redirect URI. Platforms add fields of
/// their own (Google's `scope`, Meta's `error_reason`): they are ignored.
#[derive(Debug, serde::Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    /// OAuth 1.0a (RFC 5849 §2.2): the request token the user approved, and
    /// the verifier that stands in for OAuth 2.0's `code`.
    pub oauth_token: Option<String>,
    pub oauth_verifier: Option<String>,
    /// X's answer when the user cancels: the request token, and no verifier.
    pub denied: Option<String>,
}

/// Why a callback did not produce a grant; each has its own page.
#[derive(Debug)]
pub enum CallbackError {
    /// The user clicked cancel on the consent page.
    Denied,
    /// The platform reported another error (shown generically: its text is
    /// the platform's, not ours to echo into a page).
    PlatformRefused(String),
    /// Missing, forged, expired, for another platform, or already used.
    BadState(&'static str),
    /// The platform failed exchanging the code or listing accounts.
    Platform(adhouse_connectors::Error),
    /// Our own failure (ClickHouse); details in the log.
    Internal(String),
}

impl CallbackError {
    /// The `outcome` label of the callback metric.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Denied => "denied",
            Self::PlatformRefused(_) => "platform_refused",
            Self::BadState("replayed") => "replayed",
            Self::BadState(_) => "bad_state",
            Self::Platform(_) => "platform_error",
            Self::Internal(_) => "internal",
        }
    }
}

/// Checks the callback and stores the grant; returns its id.
pub async fn callback(
    linking: &Linking,
    client: &Client,
    platform: PlatformId,
    params: &CallbackParams,
    now: i64,
) -> Result<String, CallbackError> {
    match params.error.as_deref() {
        Some("access_denied") => return Err(CallbackError::Denied),
        Some(other) => return Err(CallbackError::PlatformRefused(other.chars().take(100).collect())),
        None if params.denied.is_some() => return Err(CallbackError::Denied),
        None => {}
    }
    let code = params.code.as_deref().or(params.oauth_verifier.as_deref());
    let (Some(code), Some(state)) = (code, params.state.as_deref()) else {
        return Err(CallbackError::BadState("missing code or state"));
    };
    let claims = linking.signer.verify(state, now).map_err(|err| match err {
        adhouse_connectors::Error::State(reason) => CallbackError::BadState(reason),
        other => CallbackError::Internal(other.to_string()),
    })?;
    if claims.platform != platform {
        return Err(CallbackError::BadState("issued for another platform"));
    }
    let Some(client_of_platform) = linking.platform(platform) else {
        return Err(CallbackError::BadState("platform no longer enabled"));
    };
    // Spent before the exchange: a replay racing the exchange is refused too;
    // a failed exchange costs the user one more click on Connect.
    if !grants::claim_nonce(client, &claims.nonce).await.map_err(|err| CallbackError::Internal(err.to_string()))? {
        return Err(CallbackError::BadState("replayed"));
    }
    let temporary = grants::temporary(client, &linking.vault, &claims.nonce).await.map_err(CallbackError::Internal)?;
    // OAuth 1.0a: the token the user approved must be this flow's (OAuth 2.0
    // flows have neither).
    if temporary.as_ref().map(|t| t.access_token.as_str()) != params.oauth_token.as_deref() {
        return Err(CallbackError::BadState("request token of another flow"));
    }
    let redirect_uri = linking.redirect_uri(platform);
    let code_verifier = verifier(linking, &claims.nonce);
    let consent = Consent { redirect_uri: &redirect_uri, code, code_verifier: &code_verifier, temporary: temporary.as_ref() };
    let credentials = client_of_platform.exchange_code(consent).await.map_err(CallbackError::Platform)?;
    let accounts = client_of_platform.discover(&credentials).await.map_err(CallbackError::Platform)?;
    let grant = NewGrant {
        tenant: &claims.tenant,
        platform,
        requested_by: &claims.requested_by,
        credentials: &credentials,
        accounts: &accounts,
    };
    let id = grants::put(client, &linking.vault, &grant).await.map_err(|err| CallbackError::Internal(err.to_string()))?;
    tracing::info!(tenant = %claims.tenant, %platform, grant = %id, accounts = accounts.len(), "OAuth grant received");
    Ok(id)
}

/// Whether a platform failure means the user should simply try again.
pub fn is_passing(err: &adhouse_connectors::Error) -> bool {
    err.kind() == ErrorKind::Retry
}
