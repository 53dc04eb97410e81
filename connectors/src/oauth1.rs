//! OAuth 1.0a request signing (RFC 5849 §3), as X's APIs require on every
//! call: HMAC-SHA1 over the method, the base URI and every parameter (query,
//! form body and the `oauth_*` protocol parameters), keyed by the consumer
//! secret and the token secret.
//!
//! HMAC-SHA1 comes from aws-lc-rs, which TLS and the token vault already
//! link: no new dependency. SHA-1 is what the protocol fixes; its weakness
//! against collisions does not reach HMAC.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::oauth::random_token;

/// RFC 5849 §3.6: every byte but the unreserved characters of RFC 3986
/// (`ALPHA DIGIT - . _ ~`) is encoded, spaces as `%20`.
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, RESERVED).to_string()
}

/// The app's consumer key and secret.
#[derive(Clone, Copy)]
pub struct Consumer<'a> {
    pub key: &'a str,
    pub secret: &'a str,
}

/// The token a request is made with (none for the request-token call).
#[derive(Clone, Copy)]
pub struct Token<'a> {
    pub token: &'a str,
    pub secret: &'a str,
}

/// One request to sign: `url` with its query, and the form fields of the body.
pub struct Signed<'a> {
    pub method: &'a str,
    pub url: &'a url::Url,
    pub form: &'a [(&'a str, &'a str)],
    /// Protocol parameters beyond the standard ones: `oauth_callback` of the
    /// request-token call, `oauth_verifier` of the access-token call.
    pub extra: &'a [(&'a str, &'a str)],
}

impl Consumer<'_> {
    /// The `Authorization: OAuth …` header of `request`, with a fresh nonce
    /// and `timestamp` (Unix seconds on the server's clock as far as known;
    /// a retried request is signed again).
    pub fn authorization(&self, request: &Signed<'_>, token: Option<Token<'_>>, timestamp: i64) -> String {
        self.authorization_at(request, token, &random_token(24), timestamp)
    }

    fn authorization_at(&self, request: &Signed<'_>, token: Option<Token<'_>>, nonce: &str, timestamp: i64) -> String {
        let timestamp = timestamp.to_string();
        let mut protocol: Vec<(&str, &str)> = vec![
            ("oauth_consumer_key", self.key),
            ("oauth_nonce", nonce),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", &timestamp),
            ("oauth_version", "1.0"),
        ];
        if let Some(token) = token {
            protocol.push(("oauth_token", token.token));
        }
        protocol.extend_from_slice(request.extra);
        let signature = self.signature(request, &protocol, token.map_or("", |t| t.secret));
        protocol.push(("oauth_signature", &signature));
        protocol.sort_unstable();
        let fields: Vec<String> = protocol.iter().map(|(name, value)| format!("{}=\"{}\"", encode(name), encode(value))).collect();
        format!("OAuth {}", fields.join(", "))
    }

    /// RFC 5849 §3.4.2: base64(HMAC-SHA1(consumer secret & token secret,
    /// signature base string)).
    fn signature(&self, request: &Signed<'_>, protocol: &[(&str, &str)], token_secret: &str) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, format!("{}&{}", encode(self.secret), encode(token_secret)).as_bytes());
        STANDARD.encode(hmac::sign(&key, base_string(request, protocol).as_bytes()).as_ref())
    }
}

/// RFC 5849 §3.4.1: `METHOD&base URI&normalized parameters`, each part
/// encoded; parameters encoded, then sorted by name and value.
fn base_string(request: &Signed<'_>, protocol: &[(&str, &str)]) -> String {
    let url = request.url;
    let mut base_uri = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default().to_ascii_lowercase());
    if let Some(port) = url.port() {
        base_uri.push_str(&format!(":{port}"));
    }
    base_uri.push_str(url.path());
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(name, value)| (encode(&name), encode(&value)))
        .chain(request.form.iter().chain(protocol).map(|(name, value)| (encode(name), encode(value))))
        .collect();
    params.sort_unstable();
    let normalized: Vec<String> = params.into_iter().map(|(name, value)| format!("{name}={value}")).collect();
    format!("{}&{}&{}", request.method.to_ascii_uppercase(), encode(&base_uri), encode(&normalized.join("&")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// X's documentation example ("Creating a signature", POST
    /// statuses/update): its parameters, keys and published signature.
    #[test]
    fn the_signature_is_xs_documented_example() {
        let url = url::Url::parse("https://api.twitter.com/1.1/statuses/update.json?include_entities=true").unwrap();
        let request = Signed { method: "post", url: &url, form: &[("status", "Hello Ladies + Gentlemen, a signed OAuth request!")], extra: &[] };
        let consumer = Consumer { key: "xvz1evFS4wEEPTGEFPHBog", secret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw" };
        let token = Token { token: "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", secret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE" };
        let header = consumer.authorization_at(&request, Some(token), "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", 1_318_622_958);
        assert!(header.contains(r#"oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D""#), "{header}");
        assert!(header.starts_with("OAuth oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\", oauth_nonce="), "{header}");
    }

    #[test]
    fn encoding_keeps_only_unreserved_characters() {
        assert_eq!(encode("Ladies + Gentlemen ~a-b_c.d!*'()é"), "Ladies%20%2B%20Gentlemen%20~a-b_c.d%21%2A%27%28%29%C3%A9");
    }
}
