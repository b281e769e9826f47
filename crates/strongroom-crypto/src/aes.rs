//! AES keys (128/192/256): GCM with IV, tag and AAD; CBC with and without PKCS#7 padding; key
//! wrap (RFC 3394) and key wrap with padding (RFC 5649).

use aes_kw::KeyInit;
use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{
    self, DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext,
    PaddedBlockDecryptingKey, PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use strongroom_core::DomainError;
use strongroom_core::error::DomainResult;
use strongroom_core::key::{AesBits, EncryptionAlgorithm, PublicKeyParts};
use strongroom_core::ports::{CipherInput, CipherOutput, KeyMaterial};
use zeroize::Zeroizing;

const GCM_NONCE: usize = 12;
const GCM_TAG: usize = 16;
const CBC_IV: usize = 16;
const CBC_BLOCK: usize = 16;

/// Imports raw AES key bytes.
pub fn import(k: &[u8]) -> DomainResult<KeyMaterial> {
    if AesBits::from_len(k.len()).is_none() {
        return Err(DomainError::bad(
            "An AES key must be 128, 192 or 256 bits (member k).",
        ));
    }
    Ok(KeyMaterial {
        public: PublicKeyParts::Oct { len: k.len() },
        private: Zeroizing::new(k.to_vec()),
    })
}

/// An AES key.
pub struct AesKey {
    bits: AesBits,
    key: Zeroizing<Vec<u8>>,
}

impl AesKey {
    /// Wraps raw key bytes.
    pub fn load(raw: &[u8]) -> DomainResult<Self> {
        let bits = AesBits::from_len(raw.len())
            .ok_or_else(|| DomainError::Internal("stored AES key has a bad length".into()))?;
        Ok(Self {
            bits,
            key: Zeroizing::new(raw.to_vec()),
        })
    }

    fn check_size(&self, alg: EncryptionAlgorithm) -> DomainResult<()> {
        match alg.required_aes_bits() {
            Some(bits) if bits != self.bits => Err(DomainError::bad(format!(
                "The algorithm {} needs a {}-bit key; this key has {} bits.",
                alg.as_string(),
                bits.bytes() * 8,
                self.bits.bytes() * 8
            ))),
            _ => Ok(()),
        }
    }

    /// Encrypts with GCM or CBC.
    pub fn encrypt(&self, input: &CipherInput) -> DomainResult<CipherOutput> {
        self.check_size(input.alg)?;
        match input.alg {
            EncryptionAlgorithm::AesGcm(_) => self.gcm_seal(input),
            EncryptionAlgorithm::AesCbc(_) => self.cbc_encrypt(input, false),
            EncryptionAlgorithm::AesCbcPad(_) => self.cbc_encrypt(input, true),
            other => Err(wrong_op(other, "encrypt")),
        }
    }

    /// Decrypts with GCM or CBC.
    pub fn decrypt(&self, input: &CipherInput) -> DomainResult<CipherOutput> {
        self.check_size(input.alg)?;
        match input.alg {
            EncryptionAlgorithm::AesGcm(_) => self.gcm_open(input),
            EncryptionAlgorithm::AesCbc(_) => self.cbc_decrypt(input, false),
            EncryptionAlgorithm::AesCbcPad(_) => self.cbc_decrypt(input, true),
            other => Err(wrong_op(other, "decrypt")),
        }
    }

    /// Wraps with AES-KW or AES-KWP.
    pub fn wrap(&self, input: &CipherInput) -> DomainResult<CipherOutput> {
        self.check_size(input.alg)?;
        let value = match input.alg {
            EncryptionAlgorithm::AesKw(_) | EncryptionAlgorithm::CkmAesKeyWrap => {
                kw(&self.key, &input.value, Mode::Wrap)?
            }
            EncryptionAlgorithm::CkmAesKeyWrapPad => kwp(&self.key, &input.value, Mode::Wrap)?,
            other => return Err(wrong_op(other, "wrapKey")),
        };
        Ok(CipherOutput {
            value,
            ..CipherOutput::default()
        })
    }

    /// Unwraps with AES-KW or AES-KWP.
    pub fn unwrap(&self, input: &CipherInput) -> DomainResult<CipherOutput> {
        self.check_size(input.alg)?;
        let value = match input.alg {
            EncryptionAlgorithm::AesKw(_) | EncryptionAlgorithm::CkmAesKeyWrap => {
                kw(&self.key, &input.value, Mode::Unwrap)?
            }
            EncryptionAlgorithm::CkmAesKeyWrapPad => kwp(&self.key, &input.value, Mode::Unwrap)?,
            other => return Err(wrong_op(other, "unwrapKey")),
        };
        Ok(CipherOutput {
            value,
            ..CipherOutput::default()
        })
    }

    fn gcm_key(&self) -> DomainResult<LessSafeKey> {
        let alg = match self.bits {
            AesBits::B128 => &aead::AES_128_GCM,
            AesBits::B192 => &aead::AES_192_GCM,
            AesBits::B256 => &aead::AES_256_GCM,
        };
        UnboundKey::new(alg, &self.key)
            .map(LessSafeKey::new)
            .map_err(|_| DomainError::Internal("AES-GCM key setup failed".into()))
    }

    fn gcm_seal(&self, input: &CipherInput) -> DomainResult<CipherOutput> {
        let iv = match &input.iv {
            Some(iv) => iv.clone(),
            None => random(GCM_NONCE)?,
        };
        let nonce = Nonce::try_assume_unique_for_key(&iv)
            .map_err(|_| DomainError::bad("The AES-GCM iv must be 12 bytes."))?;
        let aad = input.aad.clone().unwrap_or_default();
        let mut buf = input.value.clone();
        let tag = self
            .gcm_key()?
            .seal_in_place_separate_tag(nonce, Aad::from(&aad), &mut buf)
            .map_err(|_| DomainError::Internal("AES-GCM encryption failed".into()))?;
        Ok(CipherOutput {
            value: buf,
            iv: Some(iv),
            tag: Some(tag.as_ref().to_vec()),
            aad: input.aad.clone(),
        })
    }

    fn gcm_open(&self, input: &CipherInput) -> DomainResult<CipherOutput> {
        let (Some(iv), Some(tag)) = (&input.iv, &input.tag) else {
            return Err(DomainError::bad(
                "AES-GCM decryption needs the iv and the authentication tag.",
            ));
        };
        if tag.len() != GCM_TAG {
            return Err(DomainError::bad(
                "The AES-GCM authentication tag must be 16 bytes.",
            ));
        }
        let nonce = Nonce::try_assume_unique_for_key(iv)
            .map_err(|_| DomainError::bad("The AES-GCM iv must be 12 bytes."))?;
        let aad = input.aad.clone().unwrap_or_default();
        let mut buf = input.value.clone();
        buf.extend_from_slice(tag);
        let len = self
            .gcm_key()?
            .open_in_place(nonce, Aad::from(&aad), &mut buf)
            .map_err(|_| {
                DomainError::CryptoFailed(
                    "Decryption failed: the authentication tag does not match.".into(),
                )
            })?
            .len();
        buf.truncate(len);
        Ok(CipherOutput {
            value: buf,
            ..CipherOutput::default()
        })
    }

    fn cbc_key(&self) -> DomainResult<UnboundCipherKey> {
        let alg = match self.bits {
            AesBits::B128 => &cipher::AES_128,
            AesBits::B192 => &cipher::AES_192,
            AesBits::B256 => &cipher::AES_256,
        };
        UnboundCipherKey::new(alg, &self.key)
            .map_err(|_| DomainError::Internal("AES key setup failed".into()))
    }

    fn cbc_iv(iv: Option<&Vec<u8>>) -> DomainResult<[u8; CBC_IV]> {
        match iv {
            Some(iv) => <[u8; CBC_IV]>::try_from(iv.as_slice())
                .map_err(|_| DomainError::bad("The AES-CBC iv must be 16 bytes.")),
            None => {
                let mut out = [0u8; CBC_IV];
                SystemRandom::new()
                    .fill(&mut out)
                    .map_err(|_| DomainError::Internal("random generator failed".into()))?;
                Ok(out)
            }
        }
    }

    fn cbc_encrypt(&self, input: &CipherInput, padded: bool) -> DomainResult<CipherOutput> {
        let iv = Self::cbc_iv(input.iv.as_ref())?;
        let context = EncryptionContext::Iv128(FixedLength::from(iv));
        let mut buf = input.value.clone();
        let failed = |_| DomainError::Internal("AES-CBC encryption failed".into());
        if padded {
            PaddedBlockEncryptingKey::cbc_pkcs7(self.cbc_key()?)
                .map_err(failed)?
                .less_safe_encrypt(&mut buf, context)
                .map_err(failed)?;
        } else {
            if buf.is_empty() {
                return Err(DomainError::bad(
                    "AES-CBC encryption needs a non-empty plaintext.",
                ));
            }
            // As Managed HSM does: without padding, a partial last block is filled with zero
            // bytes, and decryption returns the zero-filled plaintext.
            buf.resize(buf.len().next_multiple_of(CBC_BLOCK), 0);
            EncryptingKey::cbc(self.cbc_key()?)
                .map_err(failed)?
                .less_safe_encrypt(&mut buf, context)
                .map_err(failed)?;
        }
        Ok(CipherOutput {
            value: buf,
            iv: Some(iv.to_vec()),
            ..CipherOutput::default()
        })
    }

    fn cbc_decrypt(&self, input: &CipherInput, padded: bool) -> DomainResult<CipherOutput> {
        let Some(iv) = &input.iv else {
            return Err(DomainError::bad("AES-CBC decryption needs the iv."));
        };
        let iv = Self::cbc_iv(Some(iv))?;
        let context = DecryptionContext::Iv128(FixedLength::from(iv));
        let mut buf = input.value.clone();
        if buf.is_empty() || !buf.len().is_multiple_of(16) {
            return Err(DomainError::bad(
                "AES-CBC ciphertext must be a non-empty multiple of 16 bytes.",
            ));
        }
        let setup = |_| DomainError::Internal("AES key setup failed".into());
        let failed = |_| {
            DomainError::CryptoFailed(
                "Decryption failed: the ciphertext or padding is not valid.".into(),
            )
        };
        let len = if padded {
            PaddedBlockDecryptingKey::cbc_pkcs7(self.cbc_key()?)
                .map_err(setup)?
                .decrypt(&mut buf, context)
                .map_err(failed)?
                .len()
        } else {
            DecryptingKey::cbc(self.cbc_key()?)
                .map_err(setup)?
                .decrypt(&mut buf, context)
                .map_err(failed)?
                .len()
        };
        buf.truncate(len);
        Ok(CipherOutput {
            value: buf,
            ..CipherOutput::default()
        })
    }
}

#[derive(Clone, Copy)]
enum Mode {
    Wrap,
    Unwrap,
}

macro_rules! with_kek {
    ($key:expr, $ty128:ty, $ty192:ty, $ty256:ty, |$kek:ident| $body:expr) => {
        match $key.len() {
            16 => {
                let $kek = <$ty128>::new_from_slice($key).map_err(|_| kek_error())?;
                $body
            }
            24 => {
                let $kek = <$ty192>::new_from_slice($key).map_err(|_| kek_error())?;
                $body
            }
            _ => {
                let $kek = <$ty256>::new_from_slice($key).map_err(|_| kek_error())?;
                $body
            }
        }
    };
}

fn kw(key: &[u8], data: &[u8], mode: Mode) -> DomainResult<Vec<u8>> {
    use aes_kw::{KwAes128, KwAes192, KwAes256};
    if !data.len().is_multiple_of(8) || data.len() < 16 {
        return Err(DomainError::bad(
            "AES key wrap needs a key of at least 16 bytes in multiples of 8; use CKM_AES_KEY_WRAP_PAD for other lengths.",
        ));
    }
    let mut buf = vec![0u8; data.len() + 8];
    let len = with_kek!(key, KwAes128, KwAes192, KwAes256, |kek| match mode {
        Mode::Wrap => kek.wrap_key(data, &mut buf).map(<[u8]>::len),
        Mode::Unwrap => kek.unwrap_key(data, &mut buf).map(<[u8]>::len),
    })
    .map_err(|_| unwrap_failed())?;
    buf.truncate(len);
    Ok(buf)
}

fn kwp(key: &[u8], data: &[u8], mode: Mode) -> DomainResult<Vec<u8>> {
    use aes_kw::{KwpAes128, KwpAes192, KwpAes256};
    if data.is_empty() {
        return Err(DomainError::bad("The key to wrap must not be empty."));
    }
    if matches!(mode, Mode::Unwrap) && (!data.len().is_multiple_of(8) || data.len() < 16) {
        return Err(unwrap_failed());
    }
    let mut buf = vec![0u8; data.len() + 16];
    let len = with_kek!(key, KwpAes128, KwpAes192, KwpAes256, |kek| match mode {
        Mode::Wrap => kek.wrap_key(data, &mut buf).map(<[u8]>::len),
        Mode::Unwrap => kek.unwrap_key(data, &mut buf).map(<[u8]>::len),
    })
    .map_err(|_| unwrap_failed())?;
    buf.truncate(len);
    Ok(buf)
}

fn kek_error() -> DomainError {
    DomainError::Internal("AES key-encryption key setup failed".into())
}

fn unwrap_failed() -> DomainError {
    DomainError::CryptoFailed("Unwrap failed: the wrapped key is not valid for this key.".into())
}

fn wrong_op(alg: EncryptionAlgorithm, op: &str) -> DomainError {
    DomainError::bad(format!(
        "The algorithm {} cannot be used for {op} with an AES key.",
        alg.as_string()
    ))
}

fn random(len: usize) -> DomainResult<Vec<u8>> {
    let mut out = vec![0u8; len];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| DomainError::Internal("random generator failed".into()))?;
    Ok(out)
}
