//! Opaque tokens and password hashes.
//!
//! Refresh, verification and reset tokens are 256-bit random strings handed to the user once;
//! only their SHA-256 is stored, so a database leak does not leak usable tokens.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A freshly generated opaque token: the plain value for the user and its hash for storage.
pub struct OpaqueToken {
    pub plain: String,
    pub hash: Vec<u8>,
}

impl OpaqueToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let plain = URL_SAFE_NO_PAD.encode(bytes);
        let hash = hash_token(&plain);
        Self { plain, hash }
    }
}

pub fn hash_token(plain: &str) -> Vec<u8> {
    Sha256::digest(plain.as_bytes()).to_vec()
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// argon2id with OWASP's parameters (m = 19456 KiB, t = 2, p = 1), the crate's defaults.
/// CPU-heavy (tens of ms): call it on a blocking thread, never on the async executor.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// True when `password` matches `phc`. A malformed stored hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = OpaqueToken::generate();
        let b = OpaqueToken::generate();
        assert_ne!(a.plain, b.plain);
        assert!(a.plain.len() >= 43, "256 bits in base64url");
        assert_eq!(a.hash, hash_token(&a.plain));
        assert_eq!(a.hash.len(), 32);
    }

    #[test]
    fn password_round_trip_uses_argon2id_owasp_params() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}

type HmacSha256 = hmac::Hmac<Sha256>;

fn unsubscribe_mac(key: &[u8], user_id: uuid::Uuid) -> Vec<u8> {
    use hmac::Mac;
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(b"unsubscribe:");
    mac.update(user_id.as_bytes());
    mac.finalize().into_bytes()[..16].to_vec()
}

/// A one-click unsubscribe token for `user_id`: the id and a MAC under the server's key, so
/// it needs no storage and cannot be forged for another user.
pub fn unsubscribe_token(key: &[u8], user_id: uuid::Uuid) -> String {
    let mut bytes = user_id.as_bytes().to_vec();
    bytes.extend(unsubscribe_mac(key, user_id));
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The user an unsubscribe token was made for, if it is genuine.
pub fn verify_unsubscribe_token(key: &[u8], token: &str) -> Option<uuid::Uuid> {
    use hmac::Mac;
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    if bytes.len() != 32 {
        return None;
    }
    let user_id = uuid::Uuid::from_slice(&bytes[..16]).ok()?;
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).ok()?;
    mac.update(b"unsubscribe:");
    mac.update(user_id.as_bytes());
    // Constant-time comparison of the truncated MAC.
    mac.verify_truncated_left(&bytes[16..]).ok()?;
    Some(user_id)
}

#[cfg(test)]
mod unsubscribe_tests {
    use super::*;

    #[test]
    fn tokens_verify_only_for_their_user_and_key() {
        let id = uuid::Uuid::now_v7();
        let token = unsubscribe_token(b"key-one", id);
        assert_eq!(verify_unsubscribe_token(b"key-one", &token), Some(id));
        assert_eq!(verify_unsubscribe_token(b"key-two", &token), None);
        let mut forged = URL_SAFE_NO_PAD.decode(&token).unwrap();
        forged[0] ^= 1;
        assert_eq!(
            verify_unsubscribe_token(b"key-one", &URL_SAFE_NO_PAD.encode(forged)),
            None
        );
        assert_eq!(verify_unsubscribe_token(b"key-one", "short"), None);
    }
}
