//! AES-256-GCM sealing of key material and KEKs: `nonce (12) || ciphertext || tag (16)`, with
//! a random nonce per seal and caller-chosen additional authenticated data.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use strongroom_core::DomainError;
use strongroom_core::error::DomainResult;
use zeroize::Zeroizing;

const TAG_LEN: usize = 16;

fn key(bytes: &[u8; 32]) -> DomainResult<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| DomainError::Internal("invalid sealing key".into()))
}

/// Seals `plaintext` under `key_bytes`, binding `aad`.
pub fn seal(key_bytes: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> DomainResult<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| DomainError::Internal("random generator failed".into()))?;
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let body = out.get_mut(NONCE_LEN..).unwrap_or_default();
    let tag = key(key_bytes)?
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), body)
        .map_err(|_| DomainError::Internal("sealing failed".into()))?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens a sealed blob; fails if the key, the AAD or any byte differs.
pub fn unseal(key_bytes: &[u8; 32], aad: &[u8], sealed: &[u8]) -> DomainResult<Zeroizing<Vec<u8>>> {
    let failed = || DomainError::Internal("sealed data failed authentication".into());
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(failed());
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| failed())?;
    let mut buf = Zeroizing::new(body.to_vec());
    let len = key(key_bytes)?
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| failed())?
        .len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let key = [7u8; 32];
        let sealed = seal(&key, b"aad", b"secret").unwrap();
        assert_eq!(sealed.len(), 12 + 6 + 16);
        assert_eq!(unseal(&key, b"aad", &sealed).unwrap().as_slice(), b"secret");
        assert!(unseal(&key, b"other", &sealed).is_err());
        assert!(unseal(&[8u8; 32], b"aad", &sealed).is_err());
        let mut tampered = sealed.clone();
        tampered[13] ^= 1;
        assert!(unseal(&key, b"aad", &tampered).is_err());
        assert!(unseal(&key, b"aad", &sealed[..10]).is_err());
    }

    #[test]
    fn nonces_differ() {
        let key = [1u8; 32];
        assert_ne!(
            seal(&key, b"", b"x").unwrap(),
            seal(&key, b"", b"x").unwrap()
        );
    }
}
