//! Cryptographic operations on a key version: enforcement of `enabled`, `nbf`, `exp` and
//! `key_ops`, then the operation itself, inline when it is cheaper than a pool hop and on the
//! bounded pool otherwise (RSA private-key operations, RSA-4096).

use std::sync::Arc;

use strongroom_core::DomainError;
use strongroom_core::error::DomainResult;
use strongroom_core::key::{KeyKind, KeyOp, KeyVersionRecord, SignatureAlgorithm, sealing_aad};
use strongroom_core::lifecycle::check_operation;
use strongroom_core::names::{KeyName, KeyVersion};
use strongroom_core::ports::{CipherInput, CipherOutput, LoadedKey, runs_on_pool};

use crate::cache::CachedVersion;
use crate::door::{Caller, Operation, Scope};
use crate::keys::KeyService;
use crate::vaults::OpenVault;

/// An operation request.
pub enum CryptoRequest {
    /// encrypt.
    Encrypt(CipherInput),
    /// decrypt.
    Decrypt(CipherInput),
    /// wrapKey.
    Wrap(CipherInput),
    /// unwrapKey.
    Unwrap(CipherInput),
    /// sign a digest.
    Sign {
        /// Algorithm.
        alg: SignatureAlgorithm,
        /// Digest.
        digest: Vec<u8>,
    },
    /// verify a signature over a digest.
    Verify {
        /// Algorithm.
        alg: SignatureAlgorithm,
        /// Digest.
        digest: Vec<u8>,
        /// Signature.
        signature: Vec<u8>,
    },
}

impl CryptoRequest {
    fn op(&self) -> KeyOp {
        match self {
            Self::Encrypt(_) => KeyOp::Encrypt,
            Self::Decrypt(_) => KeyOp::Decrypt,
            Self::Wrap(_) => KeyOp::WrapKey,
            Self::Unwrap(_) => KeyOp::UnwrapKey,
            Self::Sign { .. } => KeyOp::Sign,
            Self::Verify { .. } => KeyOp::Verify,
        }
    }

    fn alg_kind(&self) -> KeyKind {
        match self {
            Self::Encrypt(i) | Self::Decrypt(i) | Self::Wrap(i) | Self::Unwrap(i) => i.alg.kind(),
            Self::Sign { alg, .. } | Self::Verify { alg, .. } => alg.kind(),
        }
    }

    fn check_alg_fits(&self, op: KeyOp) -> DomainResult<()> {
        let wrap_only = match self {
            Self::Encrypt(i) | Self::Decrypt(i) => i.alg.is_key_wrap(),
            _ => false,
        };
        if wrap_only {
            return Err(DomainError::bad(format!(
                "Key wrap algorithms cannot be used with {}; use wrapKey/unwrapKey.",
                op.as_str()
            )));
        }
        Ok(())
    }

    fn private(&self) -> bool {
        matches!(self, Self::Decrypt(_) | Self::Unwrap(_) | Self::Sign { .. })
    }

    fn run(self, key: &dyn LoadedKey) -> DomainResult<CryptoResponse> {
        Ok(match self {
            Self::Encrypt(i) => CryptoResponse::Cipher(key.encrypt(&i)?),
            Self::Decrypt(i) => CryptoResponse::Cipher(key.decrypt(&i)?),
            Self::Wrap(i) => CryptoResponse::Cipher(key.wrap(&i)?),
            Self::Unwrap(i) => CryptoResponse::Cipher(key.unwrap(&i)?),
            Self::Sign { alg, digest } => CryptoResponse::Signature(key.sign(alg, &digest)?),
            Self::Verify {
                alg,
                digest,
                signature,
            } => CryptoResponse::Verified(key.verify(alg, &digest, &signature)?),
        })
    }
}

/// An operation result.
pub enum CryptoResponse {
    /// encrypt, decrypt, wrapKey, unwrapKey.
    Cipher(CipherOutput),
    /// sign.
    Signature(Vec<u8>),
    /// verify.
    Verified(bool),
}

impl KeyService {
    /// Runs a cryptographic operation on a version (latest when `version` is `None`); returns
    /// the version used with the result.
    pub async fn operate(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &KeyName,
        version: Option<&KeyVersion>,
        request: CryptoRequest,
    ) -> DomainResult<(KeyVersionRecord, CryptoResponse)> {
        let operation = match &request {
            CryptoRequest::Encrypt(_) => Operation::KeyEncrypt,
            CryptoRequest::Decrypt(_) => Operation::KeyDecrypt,
            CryptoRequest::Wrap(_) => Operation::KeyWrap,
            CryptoRequest::Unwrap(_) => Operation::KeyUnwrap,
            CryptoRequest::Sign { .. } => Operation::KeySign,
            CryptoRequest::Verify { .. } => Operation::KeyVerify,
        };
        let scope = Scope::Key(vault.vault.name.clone(), name.clone());
        self.door
            .pass(
                caller,
                operation,
                scope,
                self.run_operation(vault, name, version, request),
            )
            .await
    }

    async fn run_operation(
        &self,
        vault: &OpenVault,
        name: &KeyName,
        version: Option<&KeyVersion>,
        request: CryptoRequest,
    ) -> DomainResult<(KeyVersionRecord, CryptoResponse)> {
        let cached = self.cached(vault, name, version).await?;
        let record = &cached.record;
        let op = request.op();
        check_operation(&record.attributes, &record.key_ops, op, self.clock.now())?;
        if request.alg_kind() != record.key_type.kind {
            return Err(DomainError::bad(format!(
                "The algorithm is not valid for a {} key.",
                record.key_type
            )));
        }
        request.check_alg_fits(op)?;
        let key = self.loaded(vault, &cached).await?;
        let response = if runs_on_pool(&record.public, request.private()) {
            self.pool.run(move || request.run(key.as_ref())).await??
        } else {
            request.run(key.as_ref())?
        };
        Ok((record.clone(), response))
    }

    /// The parsed key of a cached version, unsealing and parsing it (on the pool) once.
    async fn loaded(
        &self,
        vault: &OpenVault,
        cached: &Arc<CachedVersion>,
    ) -> DomainResult<Arc<dyn LoadedKey>> {
        let key = cached
            .loaded
            .get_or_try_init(|| async {
                let record = &cached.record;
                let private =
                    self.crypto
                        .unseal(vault.kek(), &sealing_aad(&record.id), &record.sealed)?;
                let crypto = Arc::clone(&self.crypto);
                let public = record.public.clone();
                self.pool
                    .run(move || crypto.load(&public, &private))
                    .await?
            })
            .await?;
        Ok(Arc::clone(key))
    }
}
