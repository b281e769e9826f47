//! EC keys on P-256, P-384, P-521 and secp256k1: generation, JWK import, and ECDSA over a
//! caller-supplied digest with raw `r || s` signatures (the JOSE form).

use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, KeyPair as _,
    UnparsedPublicKey,
};
use strongroom_core::DomainError;
use strongroom_core::error::DomainResult;
use strongroom_core::key::{Curve, PublicKeyParts, SignatureAlgorithm};
use strongroom_core::ports::{JwkPrivate, KeyMaterial};
use zeroize::Zeroizing;

use crate::import_digest;

fn signing_alg(curve: Curve) -> &'static EcdsaSigningAlgorithm {
    match curve {
        Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        Curve::P256K => &signature::ECDSA_P256K1_SHA256_FIXED_SIGNING,
    }
}

fn verify_alg(curve: Curve) -> &'static EcdsaVerificationAlgorithm {
    match curve {
        Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
        Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
        Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
        Curve::P256K => &signature::ECDSA_P256K1_SHA256_FIXED,
    }
}

/// Generates a key on `curve`.
pub fn generate(curve: Curve) -> DomainResult<KeyMaterial> {
    let pair = EcdsaKeyPair::generate(signing_alg(curve))
        .map_err(|_| DomainError::Internal("EC keygen failed".into()))?;
    material(curve, &pair)
}

/// Imports an EC private key from `d`, `x` and `y`.
pub fn import(curve: Curve, m: &JwkPrivate) -> DomainResult<KeyMaterial> {
    let len = curve.field_len();
    if m.d.is_empty() || m.x.is_empty() || m.y.is_empty() {
        return Err(DomainError::bad(
            "An EC key import needs the members crv, d, x and y.",
        ));
    }
    let (Some(d), Some(x), Some(y)) = (
        left_pad(&m.d, len),
        left_pad(&m.x, len),
        left_pad(&m.y, len),
    ) else {
        return Err(DomainError::bad(format!(
            "The members d, x and y of a {} key must be at most {len} bytes.",
            curve.as_str()
        )));
    };
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(4);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    let pair = EcdsaKeyPair::from_private_key_and_public_key(signing_alg(curve), &d, &point)
        .map_err(|e| DomainError::bad(format!("The EC key is not valid: {e}.")))?;
    material(curve, &pair)
}

fn left_pad(bytes: &[u8], len: usize) -> Option<Zeroizing<Vec<u8>>> {
    let trimmed = crate::strip_leading_zeros(bytes);
    if trimmed.len() > len {
        return None;
    }
    let mut out = Zeroizing::new(vec![0u8; len - trimmed.len()]);
    out.extend_from_slice(trimmed);
    Some(out)
}

fn material(curve: Curve, pair: &EcdsaKeyPair) -> DomainResult<KeyMaterial> {
    let der = pair
        .to_pkcs8v1()
        .map_err(|_| DomainError::Internal("EC PKCS#8 encoding failed".into()))?;
    let (x, y) = split_point(curve, pair.public_key().as_ref())?;
    Ok(KeyMaterial {
        public: PublicKeyParts::Ec { curve, x, y },
        private: Zeroizing::new(der.as_ref().to_vec()),
    })
}

fn split_point(curve: Curve, point: &[u8]) -> DomainResult<(Vec<u8>, Vec<u8>)> {
    let len = curve.field_len();
    match point.split_first() {
        Some((4, rest)) if rest.len() == 2 * len => {
            let (x, y) = rest.split_at(len);
            Ok((x.to_vec(), y.to_vec()))
        }
        _ => Err(DomainError::Internal("unexpected EC point encoding".into())),
    }
}

/// A parsed EC key.
pub struct EcKey {
    curve: Curve,
    pair: EcdsaKeyPair,
}

impl EcKey {
    /// Parses PKCS#8 DER.
    pub fn load(curve: Curve, pkcs8: &[u8]) -> DomainResult<Self> {
        let pair = EcdsaKeyPair::from_pkcs8(signing_alg(curve), pkcs8)
            .map_err(|_| DomainError::Internal("stored EC key failed to parse".into()))?;
        Ok(Self { curve, pair })
    }

    fn check_alg(&self, alg: SignatureAlgorithm) -> DomainResult<()> {
        match alg {
            SignatureAlgorithm::Es(curve) if curve == self.curve => Ok(()),
            _ => Err(DomainError::bad(format!(
                "The algorithm does not match the key: a {} key signs with {}.",
                self.curve.as_str(),
                match self.curve {
                    Curve::P256 => "ES256",
                    Curve::P256K => "ES256K",
                    Curve::P384 => "ES384",
                    Curve::P521 => "ES512",
                }
            ))),
        }
    }

    /// Signs a digest; returns raw `r || s`.
    pub fn sign(&self, alg: SignatureAlgorithm, digest: &[u8]) -> DomainResult<Vec<u8>> {
        self.check_alg(alg)?;
        let digest = import_digest(alg, digest)?;
        let sig = self
            .pair
            .sign_digest(&digest)
            .map_err(|_| DomainError::Internal("ECDSA signing failed".into()))?;
        Ok(sig.as_ref().to_vec())
    }

    /// Verifies a raw `r || s` signature over a digest.
    pub fn verify(&self, alg: SignatureAlgorithm, digest: &[u8], sig: &[u8]) -> DomainResult<bool> {
        self.check_alg(alg)?;
        let digest = import_digest(alg, digest)?;
        let key = UnparsedPublicKey::new(verify_alg(self.curve), self.pair.public_key().as_ref());
        Ok(key.verify_digest(&digest, sig).is_ok())
    }
}
