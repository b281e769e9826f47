//! RSA keys: generation (2048/3072/4096), JWK import, OAEP (SHA-1, SHA-256), PKCS#1 v1.5
//! encryption, and RS/PS signatures over caller-supplied digests.
//!
//! aws-lc generates keys with the exponent 65537 only. A managed HSM pool may ask for another
//! (3, 17, ...): RustCrypto's `rsa` crate then finds the primes, and the key is handed to
//! aws-lc as components, which checks it like an imported key. Only generation uses `rsa`;
//! every operation on the key runs in aws-lc.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeyPair, KeyPairComponents, KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm,
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, Pkcs1PrivateDecryptingKey,
    Pkcs1PublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey, PublicKeyComponents,
};
use aws_lc_rs::signature::{self, KeyPair as _, RsaEncoding, RsaParameters, UnparsedPublicKey};
use strongroom_core::DomainError;
use strongroom_core::error::DomainResult;
use strongroom_core::key::{
    DigestAlg, EncryptionAlgorithm, PublicKeyParts, RsaExponent, SignatureAlgorithm,
};
use strongroom_core::ports::{CipherInput, CipherOutput, JwkPrivate, KeyMaterial};
use zeroize::Zeroizing;

use crate::{import_digest, strip_leading_zeros};

/// Generates an RSA key of `bits` bits with the public exponent `exponent`.
pub fn generate(bits: u32, exponent: RsaExponent) -> DomainResult<KeyMaterial> {
    if exponent != RsaExponent::F4 {
        return generate_with_exponent(bits, exponent);
    }
    let size = match bits {
        2048 => KeySize::Rsa2048,
        3072 => KeySize::Rsa3072,
        4096 => KeySize::Rsa4096,
        _ => {
            return Err(DomainError::bad(format!(
                "The RSA key size {bits} is not supported. Supported sizes are 2048, 3072 and 4096."
            )));
        }
    };
    let pair =
        KeyPair::generate(size).map_err(|_| DomainError::Internal("RSA keygen failed".into()))?;
    material(&pair)
}

/// Generates the primes with RustCrypto `rsa`, then loads the key into aws-lc.
fn generate_with_exponent(bits: u32, exponent: RsaExponent) -> DomainResult<KeyMaterial> {
    use ::rsa::traits::{PrivateKeyParts, PublicKeyParts as _};
    check_size(bits)?;
    let failed = || DomainError::Internal("RSA keygen failed".into());
    let e = ::rsa::BoxedUint::from(u64::from(exponent.get()));
    let width = usize::try_from(bits).map_err(|_| failed())?;
    let mut key =
        ::rsa::PrivateKey::new_with_exp(&mut rand::rng(), width, e).map_err(|_| failed())?;
    key.precompute().map_err(|_| failed())?;
    let bytes = |v: &::rsa::BoxedUint| v.to_be_bytes().into_vec();
    let (dp, dq) = key.dp().zip(key.dq()).ok_or_else(failed)?;
    let qi = key.crt_coefficient().ok_or_else(failed)?;
    let [p, q] = key.primes() else {
        return Err(failed());
    };
    let mut members = JwkPrivate::default();
    members.n = bytes(key.n());
    members.e = bytes(key.e());
    members.d = bytes(key.d());
    members.p = bytes(p);
    members.q = bytes(q);
    members.dp = bytes(dp);
    members.dq = bytes(dq);
    members.qi = bytes(&qi);
    import(&members)
}

fn check_size(bits: u32) -> DomainResult<()> {
    if [2048, 3072, 4096].contains(&bits) {
        Ok(())
    } else {
        Err(DomainError::bad(format!(
            "The RSA key size {bits} is not supported. Supported sizes are 2048, 3072 and 4096."
        )))
    }
}

/// Imports an RSA private key from JWK members; all CRT members are required.
pub fn import(m: &JwkPrivate) -> DomainResult<KeyMaterial> {
    let missing = [&m.n, &m.e, &m.d, &m.p, &m.q, &m.dp, &m.dq, &m.qi]
        .iter()
        .any(|v| v.is_empty());
    if missing {
        return Err(DomainError::bad(
            "An RSA key import needs the members n, e, d, p, q, dp, dq and qi.",
        ));
    }
    let components = KeyPairComponents {
        public_key: PublicKeyComponents {
            n: strip_leading_zeros(&m.n),
            e: strip_leading_zeros(&m.e),
        },
        d: m.d.as_slice(),
        p: m.p.as_slice(),
        q: m.q.as_slice(),
        dP: m.dp.as_slice(),
        dQ: m.dq.as_slice(),
        qInv: m.qi.as_slice(),
    };
    let pair = KeyPair::from_components(&components)
        .map_err(|e| DomainError::bad(format!("The RSA key is not valid: {e}.")))?;
    let bits = pair.public_modulus_len() * 8;
    if ![2048, 3072, 4096].contains(&bits) {
        return Err(DomainError::bad(format!(
            "The RSA key size {bits} is not supported. Supported sizes are 2048, 3072 and 4096."
        )));
    }
    material(&pair)
}

fn material(pair: &KeyPair) -> DomainResult<KeyMaterial> {
    let der = pair
        .as_der()
        .map_err(|_| DomainError::Internal("RSA PKCS#8 encoding failed".into()))?;
    let public = pair.public_key();
    Ok(KeyMaterial {
        public: PublicKeyParts::Rsa {
            n: public.modulus().big_endian_without_leading_zero().to_vec(),
            e: public.exponent().big_endian_without_leading_zero().to_vec(),
        },
        private: Zeroizing::new(der.as_ref().to_vec()),
    })
}

/// A parsed RSA key: signing pair, decrypting key and the public encrypting key.
pub struct RsaKey {
    pair: KeyPair,
    decrypting: PrivateDecryptingKey,
    public: PublicEncryptingKey,
}

impl RsaKey {
    /// Parses PKCS#8 DER.
    pub fn load(pkcs8: &[u8]) -> DomainResult<Self> {
        let bad = |_| DomainError::Internal("stored RSA key failed to parse".into());
        let pair = KeyPair::from_pkcs8(pkcs8).map_err(bad)?;
        let decrypting = PrivateDecryptingKey::from_pkcs8(pkcs8).map_err(bad)?;
        let public = decrypting.public_key();
        Ok(Self {
            pair,
            decrypting,
            public,
        })
    }

    /// Encrypts with the public key.
    pub fn encrypt(&self, input: &CipherInput) -> DomainResult<CipherOutput> {
        let value = match input.alg {
            EncryptionAlgorithm::RsaOaep => self.oaep_encrypt(&OAEP_SHA1_MGF1SHA1, &input.value)?,
            EncryptionAlgorithm::RsaOaep256 => {
                self.oaep_encrypt(&OAEP_SHA256_MGF1SHA256, &input.value)?
            }
            EncryptionAlgorithm::Rsa15 => self.pkcs1_encrypt(&input.value)?,
            other => return Err(wrong_alg(other)),
        };
        Ok(CipherOutput {
            value,
            ..CipherOutput::default()
        })
    }

    /// Decrypts with the private key. Every padding failure gets the same error.
    pub fn decrypt(&self, input: &CipherInput) -> DomainResult<CipherOutput> {
        let value = match input.alg {
            EncryptionAlgorithm::RsaOaep => self.oaep_decrypt(&OAEP_SHA1_MGF1SHA1, &input.value)?,
            EncryptionAlgorithm::RsaOaep256 => {
                self.oaep_decrypt(&OAEP_SHA256_MGF1SHA256, &input.value)?
            }
            EncryptionAlgorithm::Rsa15 => self.pkcs1_decrypt(&input.value)?,
            other => return Err(wrong_alg(other)),
        };
        Ok(CipherOutput {
            value,
            ..CipherOutput::default()
        })
    }

    fn oaep_encrypt(&self, alg: &'static OaepAlgorithm, plaintext: &[u8]) -> DomainResult<Vec<u8>> {
        let key = OaepPublicEncryptingKey::new(self.public.clone()).map_err(internal)?;
        if plaintext.len() > key.max_plaintext_size(alg) {
            return Err(too_long(key.max_plaintext_size(alg)));
        }
        let mut out = vec![0u8; key.ciphertext_size()];
        let len = key
            .encrypt(alg, plaintext, &mut out, None)
            .map_err(internal)?
            .len();
        out.truncate(len);
        Ok(out)
    }

    fn pkcs1_encrypt(&self, plaintext: &[u8]) -> DomainResult<Vec<u8>> {
        let key = Pkcs1PublicEncryptingKey::new(self.public.clone()).map_err(internal)?;
        if plaintext.len() > key.max_plaintext_size() {
            return Err(too_long(key.max_plaintext_size()));
        }
        let mut out = vec![0u8; key.ciphertext_size()];
        let len = key.encrypt(plaintext, &mut out).map_err(internal)?.len();
        out.truncate(len);
        Ok(out)
    }

    fn oaep_decrypt(
        &self,
        alg: &'static OaepAlgorithm,
        ciphertext: &[u8],
    ) -> DomainResult<Vec<u8>> {
        let key = OaepPrivateDecryptingKey::new(self.decrypting.clone()).map_err(internal)?;
        let mut out = vec![0u8; key.min_output_size()];
        let len = key
            .decrypt(alg, ciphertext, &mut out, None)
            .map_err(|_| decryption_failed())?
            .len();
        out.truncate(len);
        Ok(out)
    }

    fn pkcs1_decrypt(&self, ciphertext: &[u8]) -> DomainResult<Vec<u8>> {
        let key = Pkcs1PrivateDecryptingKey::new(self.decrypting.clone()).map_err(internal)?;
        let mut out = vec![0u8; key.min_output_size()];
        let len = key
            .decrypt(ciphertext, &mut out)
            .map_err(|_| decryption_failed())?
            .len();
        out.truncate(len);
        Ok(out)
    }

    /// Signs a digest with RS* or PS* (PSS salt = digest length).
    pub fn sign(&self, alg: SignatureAlgorithm, digest: &[u8]) -> DomainResult<Vec<u8>> {
        let encoding = sign_encoding(alg)?;
        let digest = import_digest(alg, digest)?;
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign_digest(encoding, &digest, &mut sig)
            .map_err(|_| DomainError::Internal("RSA signing failed".into()))?;
        Ok(sig)
    }

    /// Verifies a signature over a digest.
    pub fn verify(&self, alg: SignatureAlgorithm, digest: &[u8], sig: &[u8]) -> DomainResult<bool> {
        let params = verify_params(alg)?;
        let digest = import_digest(alg, digest)?;
        let key = UnparsedPublicKey::new(params, self.pair.public_key().as_ref());
        Ok(key.verify_digest(&digest, sig).is_ok())
    }
}

fn sign_encoding(alg: SignatureAlgorithm) -> DomainResult<&'static dyn RsaEncoding> {
    Ok(match alg {
        SignatureAlgorithm::Rs(DigestAlg::Sha256) => &signature::RSA_PKCS1_SHA256,
        SignatureAlgorithm::Rs(DigestAlg::Sha384) => &signature::RSA_PKCS1_SHA384,
        SignatureAlgorithm::Rs(DigestAlg::Sha512) => &signature::RSA_PKCS1_SHA512,
        SignatureAlgorithm::Ps(DigestAlg::Sha256) => &signature::RSA_PSS_SHA256,
        SignatureAlgorithm::Ps(DigestAlg::Sha384) => &signature::RSA_PSS_SHA384,
        SignatureAlgorithm::Ps(DigestAlg::Sha512) => &signature::RSA_PSS_SHA512,
        SignatureAlgorithm::Es(_) => return Err(DomainError::bad("ES algorithms need an EC key.")),
    })
}

fn verify_params(alg: SignatureAlgorithm) -> DomainResult<&'static RsaParameters> {
    Ok(match alg {
        SignatureAlgorithm::Rs(DigestAlg::Sha256) => &signature::RSA_PKCS1_2048_8192_SHA256,
        SignatureAlgorithm::Rs(DigestAlg::Sha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
        SignatureAlgorithm::Rs(DigestAlg::Sha512) => &signature::RSA_PKCS1_2048_8192_SHA512,
        SignatureAlgorithm::Ps(DigestAlg::Sha256) => &signature::RSA_PSS_2048_8192_SHA256,
        SignatureAlgorithm::Ps(DigestAlg::Sha384) => &signature::RSA_PSS_2048_8192_SHA384,
        SignatureAlgorithm::Ps(DigestAlg::Sha512) => &signature::RSA_PSS_2048_8192_SHA512,
        SignatureAlgorithm::Es(_) => return Err(DomainError::bad("ES algorithms need an EC key.")),
    })
}

fn wrong_alg(alg: EncryptionAlgorithm) -> DomainError {
    DomainError::bad(format!(
        "The algorithm {} cannot be used with an RSA key.",
        alg.as_string()
    ))
}

fn too_long(max: usize) -> DomainError {
    DomainError::bad(format!(
        "The plaintext is too long for this key and algorithm: at most {max} bytes."
    ))
}

fn decryption_failed() -> DomainError {
    DomainError::CryptoFailed(
        "Decryption failed: the ciphertext is not valid for this key and algorithm.".into(),
    )
}

fn internal(_: aws_lc_rs::error::Unspecified) -> DomainError {
    DomainError::Internal("RSA key setup failed".into())
}
