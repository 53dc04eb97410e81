//! How a feed's requests authenticate: a static header or basic credentials
//! from the environment, or an OAuth 2.0 client-credentials token (RFC 6749
//! §4.4) cached until shortly before it expires.

use std::sync::Mutex;

use adhouse_core::settings::{AuthSettings, Secret, secret_from_env};
use reqwest::RequestBuilder;
use serde::Deserialize;
use tokio::time::{Duration, Instant};

use super::dialect::PartnerDialect;
use crate::error::{Error, Result};
use crate::http::{Http, json};

/// A token expiring sooner than this is renewed before use.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

pub enum Auth {
    None,
    Header { name: String, value: Secret },
    Basic { user: String, password: Secret },
    Oauth2 { token_url: String, client_id: String, client_secret: Secret, scope: String, cached: Mutex<Option<(String, Instant)>> },
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    /// Seconds; a token without one is used for an hour.
    expires_in: Option<u64>,
}

/// What a request carries, resolved before the request is built (a token
/// call must not happen inside the HTTP layer's retry of the request).
pub enum Credential {
    None,
    Header(String, String),
    Basic(String, String),
    Bearer(String),
}

impl Credential {
    pub fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Self::None => request,
            Self::Header(name, value) => request.header(name, value),
            Self::Basic(user, password) => request.basic_auth(user, Some(password)),
            Self::Bearer(token) => request.bearer_auth(token),
        }
    }
}

impl Auth {
    /// The secrets named by `settings`, read from the environment; `key` names the setting in errors.
    pub fn from_settings(key: &str, settings: &AuthSettings) -> std::result::Result<Self, adhouse_core::Error> {
        Ok(match settings {
            AuthSettings::None => Self::None,
            AuthSettings::Header { name, value_env } => {
                Self::Header { name: name.clone(), value: secret_from_env(&format!("{key}.value_env"), value_env)? }
            }
            AuthSettings::Basic { user, password_env } => {
                Self::Basic { user: user.clone(), password: secret_from_env(&format!("{key}.password_env"), password_env)? }
            }
            AuthSettings::Oauth2 { token_url, client_id, client_secret_env, scope } => Self::Oauth2 {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                client_secret: secret_from_env(&format!("{key}.client_secret_env"), client_secret_env)?,
                scope: scope.clone(),
                cached: Mutex::new(None),
            },
        })
    }

    /// The credential of the next request, fetching a token when none is
    /// cached or the cached one is about to expire.
    pub async fn credential(&self, http: &Http, dialect: &PartnerDialect) -> Result<Credential> {
        Ok(match self {
            Self::None => Credential::None,
            Self::Header { name, value } => Credential::Header(name.clone(), value.expose().to_owned()),
            Self::Basic { user, password } => Credential::Basic(user.clone(), password.expose().to_owned()),
            Self::Oauth2 { token_url, client_id, client_secret, scope, cached } => {
                if let Some((token, until)) = cached.lock().expect("never poisoned").clone()
                    && Instant::now() + TOKEN_MARGIN < until
                {
                    return Ok(Credential::Bearer(token));
                }
                let mut form = vec![("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", client_secret.expose())];
                if !scope.is_empty() {
                    form.push(("scope", scope));
                }
                let body = http.send(dialect, &[], || http.client().post(token_url).form(&form)).await?;
                let answer: TokenAnswer = json(dialect.remote.clone(), "token answer", &body)?;
                if answer.access_token.is_empty() {
                    return Err(Error::Decode { remote: dialect.remote.clone(), detail: "token answer with an empty access_token".into() });
                }
                let until = Instant::now() + Duration::from_secs(answer.expires_in.unwrap_or(3_600));
                *cached.lock().expect("never poisoned") = Some((answer.access_token.clone(), until));
                Credential::Bearer(answer.access_token)
            }
        })
    }

    /// Forgets a cached token the partner refused (revoked before its expiry).
    pub fn forget_token(&self) {
        if let Self::Oauth2 { cached, .. } = self {
            *cached.lock().expect("never poisoned") = None;
        }
    }
}
