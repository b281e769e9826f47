//! Strongroom's software `CryptoProvider`, on aws-lc-rs (AES key wrap on RustCrypto `aes-kw`,
//! which also covers 192-bit key-encryption keys).
//!
//! It owns key generation and import, parsing stored material once into a [`SoftwareKey`],
//! every Key Vault operation (RSA-OAEP/RSA1_5, RS/PS/ES signatures over digests, AES-GCM, CBC,
//! key wrap), sealing with AES-256-GCM, and the RS256 JWS used for access tokens.

mod aes;
mod ec;
pub mod jws;
pub mod jwt;
pub mod password;
pub mod policy_jws;
mod rsa;
pub mod seal;

use std::sync::Arc;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use strongroom_core::DomainError;
use strongroom_core::error::DomainResult;
use strongroom_core::key::{KeyKind, KeySpec, PublicKeyParts};
use strongroom_core::ports::{CryptoProvider, ImportedJwk, KeyMaterial, LoadedKey};
use zeroize::Zeroizing;

/// The software provider. Stateless; cheap to share.
#[derive(Debug, Default, Clone, Copy)]
pub struct SoftwareCrypto;

impl CryptoProvider for SoftwareCrypto {
    fn generate(&self, spec: KeySpec) -> DomainResult<KeyMaterial> {
        match spec {
            KeySpec::Rsa { bits, exponent } => rsa::generate(bits, exponent),
            KeySpec::Ec { curve } => ec::generate(curve),
            KeySpec::Oct { bits } => {
                let mut key = Zeroizing::new(vec![0u8; bits.bytes()]);
                self.fill_random(&mut key)?;
                Ok(KeyMaterial {
                    public: PublicKeyParts::Oct { len: key.len() },
                    private: key,
                })
            }
        }
    }

    fn import(&self, jwk: &ImportedJwk) -> DomainResult<KeyMaterial> {
        match (jwk.kind, jwk.curve) {
            (KeyKind::Rsa, _) => rsa::import(&jwk.members),
            (KeyKind::Ec, Some(curve)) => ec::import(curve, &jwk.members),
            (KeyKind::Ec, None) => Err(DomainError::bad("An EC key must name its curve (crv).")),
            (KeyKind::Oct, _) => aes::import(&jwk.members.k),
        }
    }

    fn load(&self, public: &PublicKeyParts, private: &[u8]) -> DomainResult<Arc<dyn LoadedKey>> {
        let key = match public {
            PublicKeyParts::Rsa { .. } => SoftwareKey::Rsa(rsa::RsaKey::load(private)?),
            PublicKeyParts::Ec { curve, .. } => SoftwareKey::Ec(ec::EcKey::load(*curve, private)?),
            PublicKeyParts::Oct { .. } => SoftwareKey::Oct(aes::AesKey::load(private)?),
        };
        Ok(Arc::new(key))
    }

    fn fill_random(&self, out: &mut [u8]) -> DomainResult<()> {
        SystemRandom::new()
            .fill(out)
            .map_err(|_| DomainError::Internal("the system random generator failed".into()))
    }

    fn seal(&self, key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> DomainResult<Vec<u8>> {
        seal::seal(key, aad, plaintext)
    }

    fn unseal(
        &self,
        key: &[u8; 32],
        aad: &[u8],
        sealed: &[u8],
    ) -> DomainResult<Zeroizing<Vec<u8>>> {
        seal::unseal(key, aad, sealed)
    }
}

/// A parsed key, ready for operations.
pub enum SoftwareKey {
    /// RSA.
    Rsa(rsa::RsaKey),
    /// EC.
    Ec(ec::EcKey),
    /// AES.
    Oct(aes::AesKey),
}

use strongroom_core::key::SignatureAlgorithm;
use strongroom_core::ports::{CipherInput, CipherOutput};

impl LoadedKey for SoftwareKey {
    fn encrypt(&self, input: &CipherInput) -> DomainResult<CipherOutput> {
        match self {
            Self::Rsa(k) => k.encrypt(input),
            Self::Oct(k) => k.encrypt(input),
            Self::Ec(_) => Err(not_for_ec("encrypt")),
        }
    }

    fn decrypt(&self, input: &CipherInput) -> DomainResult<CipherOutput> {
        match self {
            Self::Rsa(k) => k.decrypt(input),
            Self::Oct(k) => k.decrypt(input),
            Self::Ec(_) => Err(not_for_ec("decrypt")),
        }
    }

    fn wrap(&self, input: &CipherInput) -> DomainResult<CipherOutput> {
        match self {
            Self::Rsa(k) => k.encrypt(input),
            Self::Oct(k) => k.wrap(input),
            Self::Ec(_) => Err(not_for_ec("wrapKey")),
        }
    }

    fn unwrap(&self, input: &CipherInput) -> DomainResult<CipherOutput> {
        match self {
            Self::Rsa(k) => k.decrypt(input),
            Self::Oct(k) => k.unwrap(input),
            Self::Ec(_) => Err(not_for_ec("unwrapKey")),
        }
    }

    fn sign(&self, alg: SignatureAlgorithm, digest: &[u8]) -> DomainResult<Vec<u8>> {
        match self {
            Self::Rsa(k) => k.sign(alg, digest),
            Self::Ec(k) => k.sign(alg, digest),
            Self::Oct(_) => Err(DomainError::bad("AES keys cannot sign.")),
        }
    }

    fn verify(
        &self,
        alg: SignatureAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> DomainResult<bool> {
        match self {
            Self::Rsa(k) => k.verify(alg, digest, signature),
            Self::Ec(k) => k.verify(alg, digest, signature),
            Self::Oct(_) => Err(DomainError::bad("AES keys cannot verify.")),
        }
    }
}

fn not_for_ec(op: &str) -> DomainError {
    DomainError::bad(format!("EC keys do not support the {op} operation."))
}

/// The aws-lc-rs digest algorithm matching a domain digest.
fn digest_alg(d: strongroom_core::key::DigestAlg) -> &'static aws_lc_rs::digest::Algorithm {
    use strongroom_core::key::DigestAlg;
    match d {
        DigestAlg::Sha256 => &aws_lc_rs::digest::SHA256,
        DigestAlg::Sha384 => &aws_lc_rs::digest::SHA384,
        DigestAlg::Sha512 => &aws_lc_rs::digest::SHA512,
    }
}

/// Imports a caller-supplied digest, checking its length against the algorithm.
fn import_digest(
    alg: SignatureAlgorithm,
    digest: &[u8],
) -> DomainResult<aws_lc_rs::digest::Digest> {
    let expected = alg.digest().output_len();
    aws_lc_rs::digest::Digest::import_less_safe(digest, digest_alg(alg.digest())).map_err(|_| {
        DomainError::bad(format!(
            "The digest must be {expected} bytes for this algorithm; got {} bytes.",
            digest.len()
        ))
    })
}

/// Removes leading zero bytes (JWK integers may carry them).
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

#[cfg(test)]
mod tests;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref());
    out
}

/// Derives a 32-byte subkey of `root` for one purpose (HMAC-SHA-256 of the label).
pub fn derive_key(root: &[u8; 32], label: &str) -> Zeroizing<[u8; 32]> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, root);
    let tag = aws_lc_rs::hmac::sign(&key, label.as_bytes());
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(tag.as_ref());
    out
}

/// An HMAC-SHA-256 key, its schedule computed once.
pub struct MacKey(aws_lc_rs::hmac::Key);

impl MacKey {
    /// A key of these bytes.
    pub fn new(key: &[u8; 32]) -> Self {
        Self(aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key))
    }

    /// The tag of `data`.
    pub fn sign(&self, data: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(aws_lc_rs::hmac::sign(&self.0, data).as_ref());
        out
    }
}

/// Compares two byte strings in constant time.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}
