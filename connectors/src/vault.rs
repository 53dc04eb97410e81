//! Credentials at rest: AES-256-GCM under a key named by an id, so that keys
//! rotate (new seals use the current key, old ones still open with theirs).

use std::collections::BTreeMap;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, Result};
use crate::model::Credentials;

pub struct Vault {
    current: String,
    keys: BTreeMap<String, LessSafeKey>,
}

impl Vault {
    /// `keys`: key id → 32 bytes; `current` seals new credentials.
    pub fn new(current: &str, keys: &BTreeMap<String, Vec<u8>>) -> Result<Self> {
        let keys = keys
            .iter()
            .map(|(id, bytes)| {
                let key = UnboundKey::new(&AES_256_GCM, bytes)
                    .map_err(|_| Error::Vault(format!("key {id:?} is not 32 bytes")))?;
                Ok((id.clone(), LessSafeKey::new(key)))
            })
            .collect::<Result<BTreeMap<_, _>>>()?;
        if !keys.contains_key(current) {
            return Err(Error::Vault(format!("the current key {current:?} is not among the keys")));
        }
        Ok(Self { current: current.to_owned(), keys })
    }

    /// From the `platforms.vault_keys` setting: `id:base64(32 bytes)`,
    /// comma-separated, the first sealing.
    pub fn from_setting(keys: &str) -> Result<Self> {
        let mut parsed = BTreeMap::new();
        let mut current = None;
        for entry in keys.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, key) = entry
                .split_once(':')
                .ok_or_else(|| Error::Vault("platforms.vault_keys: each key is id:base64".into()))?;
            let bytes = STANDARD.decode(key).map_err(|_| Error::Vault(format!("platforms.vault_keys: key {id:?} is not base64")))?;
            current.get_or_insert_with(|| id.to_owned());
            parsed.insert(id.to_owned(), bytes);
        }
        let current = current.ok_or_else(|| Error::Vault("platforms.vault_keys is empty; set it to id:base64-of-32-random-bytes".into()))?;
        Self::new(&current, &parsed)
    }

    /// `key id "." base64(nonce ‖ ciphertext ‖ tag)`. `context` (tenant,
    /// platform, account) is authenticated too: a sealed value copied to
    /// another account's row does not open.
    pub fn seal(&self, credentials: &Credentials, context: &str) -> String {
        let key = &self.keys[&self.current];
        let mut nonce = [0; NONCE_LEN];
        rand::fill(&mut nonce).expect("the system random generator works");
        let mut data = serde_json::to_vec(credentials).expect("credentials serialize");
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context.as_bytes()), &mut data)
            .expect("sealing in memory cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!("{}.{}", self.current, STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<Credentials> {
        let (id, body) = sealed.split_once('.').ok_or_else(|| Error::Vault("not a sealed value".into()))?;
        let key = self.keys.get(id).ok_or_else(|| Error::Vault(format!("unknown key {id:?}; was it removed from the settings?")))?;
        let bytes = STANDARD.decode(body).map_err(|_| Error::Vault("not a sealed value".into()))?;
        if bytes.len() < NONCE_LEN {
            return Err(Error::Vault("not a sealed value".into()));
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::Vault("bad nonce".into()))?;
        let mut data = data.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut data)
            .map_err(|_| Error::Vault("the value does not open with its key (tampered, or another account's)".into()))?;
        serde_json::from_slice(plain).map_err(|_| Error::Vault("the opened value is not credentials".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(ids: &[&str]) -> BTreeMap<String, Vec<u8>> {
        ids.iter().enumerate().map(|(i, id)| ((*id).to_owned(), vec![i as u8 + 1; 32])).collect()
    }

    #[test]
    fn sealed_credentials_open_with_their_key_after_rotation_and_not_in_another_context() {
        let credentials = Credentials { token_secret: "secret-of-the-token".into(), ..Credentials::bearer("secret-access".into(), "secret-refresh".into(), 7) };
        let old = Vault::new("k1", &keys(&["k1"])).unwrap();
        let sealed = old.seal(&credentials, "acme/google/123");
        assert!(sealed.starts_with("k1.") && !sealed.contains("secret"));
        let rotated = Vault::new("k2", &keys(&["k1", "k2"])).unwrap();
        assert_eq!(rotated.open(&sealed, "acme/google/123").unwrap(), credentials);
        assert!(rotated.seal(&credentials, "acme/google/123").starts_with("k2."));
        assert!(rotated.open(&sealed, "globex/google/123").is_err());
        assert!(Vault::new("k2", &keys(&["k2"])).unwrap().open(&sealed, "acme/google/123").is_err());
    }
}
