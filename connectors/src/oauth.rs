//! OAuth helpers shared by the platforms: a signed, expiring `state` bound
//! to who asked, and PKCE (RFC 7636, S256).

use aws_lc_rs::{digest, hmac, rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::PlatformId;

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
