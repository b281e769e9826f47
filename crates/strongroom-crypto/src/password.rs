//! Users' passwords: PBKDF2-HMAC-SHA256 records, `pbkdf2-sha256$iterations$salt$hash`.

use std::num::NonZeroU32;

use aws_lc_rs::pbkdf2;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use strongroom_core::b64;

/// OWASP's figure for PBKDF2-HMAC-SHA256 (2023).
pub const ITERATIONS: u32 = 600_000;
const SCHEME: &str = "pbkdf2-sha256";
const HASH_LEN: usize = 32;

/// A new record for `password` with a random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    hash_with(password, ITERATIONS)
}

fn hash_with(password: &str, iterations: u32) -> Result<String, String> {
    let rounds = NonZeroU32::new(iterations).ok_or("zero iterations")?;
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| "no randomness".to_owned())?;
    let mut out = [0u8; HASH_LEN];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        &salt,
        password.as_bytes(),
        &mut out,
    );
    Ok(format!(
        "{SCHEME}${iterations}${}${}",
        b64::encode(salt),
        b64::encode(out)
    ))
}

/// Whether `password` matches `record` (in constant time); false for a malformed record.
pub fn verify_password(password: &str, record: &str) -> bool {
    let mut parts = record.split('$');
    let (Some(SCHEME), Some(iterations), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Some(rounds), Ok(salt), Ok(hash)) = (
        iterations.parse().ok().and_then(NonZeroU32::new),
        b64::decode(salt),
        b64::decode(hash),
    ) else {
        return false;
    };
    pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        &salt,
        password.as_bytes(),
        &hash,
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_verify_only_their_password() {
        let record = hash_with("correct horse", 1000).unwrap();
        assert!(record.starts_with("pbkdf2-sha256$1000$"));
        assert!(verify_password("correct horse", &record));
        assert!(!verify_password("correct horsE", &record));
        assert_ne!(record, hash_with("correct horse", 1000).unwrap(), "salted");
        assert!(!verify_password("x", "pbkdf2-sha256$0$AA$AA"));
        assert!(!verify_password("x", "bcrypt$..."));
        assert!(hash_password("p").unwrap().contains("$600000$"));
    }
}
