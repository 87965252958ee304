//! Tokens: HMAC-SHA256 under per-namespace keys derived from the production salt, truncated to
//! 16 lowercase hex characters (64 bits). The salt never leaves this module: not in a message,
//! not in `Debug`. The salt fingerprint is an HMAC of a fixed label, so two packs made with the
//! same salt can be told apart from packs made with another, and nothing is learnt of the salt.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Hex characters in a token.
pub const TOKEN_HEX_LEN: usize = 16;

/// The salt's minimum length in bytes.
pub const MIN_SALT_BYTES: usize = 32;

/// The environment variable that holds the salt.
pub const SALT_VAR: &str = "ANONYMIZATION_SALT";

/// Why a salt was refused (never carries the salt).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SaltError {
    #[error(
        "FATAL: {SALT_VAR} is not set: the production salt is required (from the secret store)"
    )]
    Missing,
    #[error("FATAL: {SALT_VAR} is too short: at least {MIN_SALT_BYTES} bytes are required; make one with `openssl rand -hex 32`")]
    TooShort,
    /// Long enough but guessable (repeated, sequential or made of words): the estimate in
    /// whole bits, never the salt.
    #[error("FATAL: {SALT_VAR} is too weak: about {0} bits estimated (repeats, sequences or words), at least {min} are required; make one with `openssl rand -hex 32` and keep it in the secret store", min = crate::entropy::MIN_SALT_BITS)]
    Weak(u32),
}

/// The production salt. `Debug` prints nothing of it.
pub struct Salt(Vec<u8>);

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salt(<redacted>)")
    }
}

impl Salt {
    /// Reads the salt from `ANONYMIZATION_SALT`.
    pub fn from_env() -> Result<Salt, SaltError> {
        Salt::new(std::env::var_os(SALT_VAR).map(|v| v.into_encoded_bytes()))
    }

    /// Checks a salt value: present, at least [`MIN_SALT_BYTES`] long and of at least
    /// [`crate::entropy::MIN_SALT_BITS`] estimated bits.
    pub fn new(value: Option<Vec<u8>>) -> Result<Salt, SaltError> {
        match value {
            None => Err(SaltError::Missing),
            Some(v) if v.is_empty() => Err(SaltError::Missing),
            Some(v) if v.len() < MIN_SALT_BYTES => Err(SaltError::TooShort),
            Some(v) => {
                let bits = crate::entropy::estimate_bits(&v);
                if bits < crate::entropy::MIN_SALT_BITS {
                    return Err(SaltError::Weak(bits as u32));
                }
                Ok(Salt(v))
            }
        }
    }

    /// The fingerprint: HMAC(salt, fixed label), 16 hex characters.
    pub fn fingerprint(&self) -> String {
        truncated(&self.0, b"pgshape/salt-fingerprint/v1")
    }

    /// The tokenizer of one namespace (columns that share a namespace share tokens, so joins
    /// stay consistent). The namespace key is HKDF-SHA256(salt, info = namespace).
    pub fn namespace(&self, namespace: &str) -> Tokenizer {
        let hk = Hkdf::<Sha256>::new(Some(b"pgshape/token/v1"), &self.0);
        let mut key = [0u8; 32];
        hk.expand(namespace.as_bytes(), &mut key)
            .expect("32 bytes is a valid HKDF length");
        Tokenizer { key }
    }
}

/// Tokens of one namespace.
pub struct Tokenizer {
    key: [u8; 32],
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokenizer(<redacted>)")
    }
}

impl Tokenizer {
    /// The token of a value.
    pub fn token(&self, value: &[u8]) -> String {
        truncated(&self.key, value)
    }
}

fn truncated(key: &[u8], msg: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg);
    let out = mac.finalize().into_bytes();
    hex::encode(&out[..TOKEN_HEX_LEN / 2])
}

/// True for a well-formed token: exactly 16 lowercase hex characters.
pub fn is_token(s: &str) -> bool {
    s.len() == TOKEN_HEX_LEN
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn salt() -> Salt {
        Salt::new(Some(
            b"1593342dfd631c3539380c786496d4b652d9a2215dd05f56acd27ddf13bebc74".to_vec(),
        ))
        .unwrap()
    }

    #[test]
    fn tokens_are_deterministic_16_hex_and_namespaced() {
        let t = salt().namespace("users.id").token(b"42");
        assert!(is_token(&t), "{t}");
        assert_eq!(t, salt().namespace("users.id").token(b"42"));
        assert_ne!(t, salt().namespace("other").token(b"42"));
        assert_ne!(t, salt().namespace("users.id").token(b"43"));
    }

    #[test]
    fn salt_is_never_shown() {
        let s = salt();
        assert!(!format!("{s:?}").contains("1593"));
        assert!(!format!("{:?}", s.namespace("x")).contains("1593"));
        assert!(is_token(&s.fingerprint()));
        assert_eq!(Salt::new(None).unwrap_err(), SaltError::Missing);
        assert_eq!(
            Salt::new(Some(b"short".to_vec())).unwrap_err(),
            SaltError::TooShort
        );
        assert!(!SaltError::TooShort.to_string().contains("short\""));
        let weak = Salt::new(Some(vec![b'a'; 32])).unwrap_err();
        assert!(matches!(weak, SaltError::Weak(_)), "{weak:?}");
        assert!(weak.to_string().contains("openssl rand -hex 32"), "{weak}");
        assert!(!weak.to_string().contains("aaaa"), "{weak}");
    }
}
