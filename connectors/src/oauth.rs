//! OAuth helpers shared by the platforms: a signed, expiring `state` bound
//! to who asked, PKCE (RFC 7636, S256), and the OAuth 2.0 token endpoint of
//! the platforms with refresh tokens (RFC 6749 §4.1.3, §6: Google, Yahoo! JAPAN).

use aws_lc_rs::{digest, hmac, rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};
use crate::http::{Dialect, Http, json};
use crate::model::{Credentials, PlatformId};

/// What a `state` carries through the consent page and back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateClaims {
    pub platform: PlatformId,
    pub tenant: String,
    /// Which API token asked (its hash), so that another user's callback
    /// cannot complete the flow.
    pub requested_by: String,
    /// Random; the single-use key (the caller records it as used).
    pub nonce: String,
    /// Unix seconds after which the state is refused.
    pub expires_at: i64,
}

/// Signs and checks states with HMAC-SHA256 under a server key.
pub struct StateSigner {
    key: hmac::Key,
}

impl StateSigner {
    pub fn new(secret: &[u8]) -> Self {
        Self { key: hmac::Key::new(hmac::HMAC_SHA256, secret) }
    }

    /// `base64url(claims JSON) "." base64url(HMAC)`.
    pub fn sign(&self, claims: &StateClaims) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let tag = hmac::sign(&self.key, body.as_bytes());
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The claims of a state this server signed that has not expired at
    /// `now` (Unix seconds). Single use is the caller's: it must record
    /// `nonce` and refuse it the second time.
    pub fn verify(&self, state: &str, now: i64) -> Result<StateClaims> {
        let (body, tag) = state.split_once('.').ok_or(Error::State("malformed"))?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| Error::State("malformed"))?;
        hmac::verify(&self.key, body.as_bytes(), &tag).map_err(|_| Error::State("bad signature"))?;
        let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| Error::State("malformed"))?;
        let claims: StateClaims = serde_json::from_slice(&json).map_err(|_| Error::State("malformed"))?;
        if claims.expires_at < now {
            return Err(Error::State("expired"));
        }
        Ok(claims)
    }
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// An access token expiring sooner than this is renewed before use.
pub const REFRESH_MARGIN_SECS: i64 = 300;

/// An app's token endpoint: grants posted as a form with the client's id and
/// secret in the body (`client_secret_post`), answers parsed by the
/// platform's dialect.
pub struct TokenEndpoint<'a> {
    pub http: &'a Http,
    pub url: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: i64,
    refresh_token: Option<String>,
}

impl TokenEndpoint<'_> {
    async fn grant(&self, dialect: &dyn Dialect, fields: &[(&str, &str)]) -> Result<TokenAnswer> {
        let mut form = vec![("client_id", self.client_id), ("client_secret", self.client_secret)];
        form.extend_from_slice(fields);
        let body = self.http.send(dialect, &[], || self.http.client().post(self.url).form(&form)).await?;
        json(dialect.remote(), "token answer", &body)
    }

    /// `grant_type=authorization_code` with `fields` (code, redirect_uri, …):
    /// credentials with the refresh token that makes them last.
    pub async fn exchange(&self, dialect: &dyn Dialect, fields: &[(&str, &str)]) -> Result<Credentials> {
        let mut form = vec![("grant_type", "authorization_code")];
        form.extend_from_slice(fields);
        let answer = self.grant(dialect, &form).await?;
        let refresh_token = answer.refresh_token.filter(|t| !t.is_empty()).ok_or_else(|| Error::Decode {
            remote: dialect.remote(),
            detail: "token answer without a refresh_token (was offline access asked for?)".into(),
        })?;
        Ok(Credentials::bearer(answer.access_token, refresh_token, now() + answer.expires_in))
    }

    /// `credentials` as they are while the access token has more than
    /// [`REFRESH_MARGIN_SECS`] left, else refreshed.
    pub async fn refresh_if_due(&self, dialect: &dyn Dialect, credentials: &Credentials) -> Result<Credentials> {
        if credentials.expires_at - now() > REFRESH_MARGIN_SECS {
            return Ok(credentials.clone());
        }
        self.refresh(dialect, credentials).await
    }

    /// `grant_type=refresh_token`: a new access token. A platform that sends
    /// no new refresh token (neither Google nor Yahoo! JAPAN rotates them)
    /// keeps the old one.
    pub async fn refresh(&self, dialect: &dyn Dialect, credentials: &Credentials) -> Result<Credentials> {
        if credentials.refresh_token.is_empty() {
            return Err(Error::Platform {
                remote: dialect.remote(),
                status: 0,
                code: "no_refresh_token".into(),
                message: "the grant has no refresh token; link the account again".into(),
                kind: ErrorKind::Relink,
                retry_after: None,
            });
        }
        let answer = self.grant(dialect, &[("grant_type", "refresh_token"), ("refresh_token", &credentials.refresh_token)]).await?;
        Ok(Credentials::bearer(
            answer.access_token,
            answer.refresh_token.filter(|t| !t.is_empty()).unwrap_or_else(|| credentials.refresh_token.clone()),
            now() + answer.expires_in,
        ))
    }
}

/// `n` random bytes from the system's generator, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0; n];
    rand::fill(&mut bytes).expect("the system random generator works");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A PKCE verifier (43 characters of base64url) and its S256 challenge.
pub fn pkce_pair() -> (String, String) {
    let verifier = random_token(32);
    let challenge = pkce_challenge(&verifier);
    (verifier, challenge)
}

/// `BASE64URL(SHA256(verifier))`, RFC 7636 §4.2.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(expires_at: i64) -> StateClaims {
        StateClaims {
            platform: PlatformId::Google,
            tenant: "acme".into(),
            requested_by: "h".into(),
            nonce: random_token(16),
            expires_at,
        }
    }

    #[test]
    fn a_state_verifies_once_signed_and_is_refused_when_forged_tampered_or_expired() {
        let signer = StateSigner::new(b"server key");
        let state = signer.sign(&claims(100));
        assert_eq!(signer.verify(&state, 99).unwrap(), serde_json::from_slice(&URL_SAFE_NO_PAD.decode(state.split('.').next().unwrap()).unwrap()).unwrap());
        assert!(matches!(signer.verify(&state, 101), Err(Error::State("expired"))));
        assert!(matches!(StateSigner::new(b"other key").verify(&state, 99), Err(Error::State("bad signature"))));
        let mut tampered = claims(100);
        tampered.tenant = "globex".into();
        let forged = format!("{}.{}", signer.sign(&tampered).split('.').next().unwrap(), state.split('.').nth(1).unwrap());
        assert!(matches!(signer.verify(&forged, 99), Err(Error::State("bad signature"))));
    }

    #[test]
    fn pkce_challenge_is_the_rfc_7636_example() {
        // RFC 7636, Appendix B.
        assert_eq!(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }
}
