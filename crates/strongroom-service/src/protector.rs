//! The root key file as a [`KeyProtector`]: AES-256-GCM under the root key (vault keys, the
//! token signing key) or under a key derived from it (backups), each purpose with its own
//! associated data. The root key's bytes stay in here.

use std::sync::Arc;

use strongroom_core::error::DomainResult;
use strongroom_core::ports::{CryptoProvider, KeyProtector, SealPurpose};
use zeroize::Zeroizing;

const TOKEN_SIGNING_KEY_AAD: &[u8] = b"strongroom/token-signing-key/v1";
const BACKUP_AAD: &[u8] = b"strongroom/key-backup/v1";
const AUDIT_KEY_AAD: &[u8] = b"strongroom/audit-key/v1";
const BACKUP_KEY_LABEL: &str = "strongroom/key-backup-key/v1";

/// Seals under the 32-byte root key of the deployment.
pub struct RootKeyProtector {
    root: Zeroizing<[u8; 32]>,
    backup_key: Zeroizing<[u8; 32]>,
    crypto: Arc<dyn CryptoProvider>,
}

impl RootKeyProtector {
    /// A protector over these root key bytes.
    pub fn new(root: Zeroizing<[u8; 32]>, crypto: Arc<dyn CryptoProvider>) -> Self {
        let backup_key = strongroom_crypto::derive_key(&root, BACKUP_KEY_LABEL);
        Self {
            root,
            backup_key,
            crypto,
        }
    }

    fn key_and_aad(&self, purpose: SealPurpose<'_>) -> (&[u8; 32], Vec<u8>) {
        match purpose {
            SealPurpose::VaultKey(name) => (
                &self.root,
                format!("strongroom/vault-kek/v1\0{name}").into_bytes(),
            ),
            SealPurpose::TokenSigningKey => (&self.root, TOKEN_SIGNING_KEY_AAD.to_vec()),
            SealPurpose::Backup => (&self.backup_key, BACKUP_AAD.to_vec()),
            SealPurpose::AuditKey => (&self.root, AUDIT_KEY_AAD.to_vec()),
        }
    }
}

impl KeyProtector for RootKeyProtector {
    fn seal(&self, purpose: SealPurpose<'_>, plaintext: &[u8]) -> DomainResult<Vec<u8>> {
        let (key, aad) = self.key_and_aad(purpose);
        self.crypto.seal(key, &aad, plaintext)
    }

    fn unseal(&self, purpose: SealPurpose<'_>, sealed: &[u8]) -> DomainResult<Zeroizing<Vec<u8>>> {
        let (key, aad) = self.key_and_aad(purpose);
        self.crypto.unseal(key, &aad, sealed)
    }
}

#[cfg(test)]
mod tests {
    use strongroom_core::names::VaultName;
    use strongroom_crypto::SoftwareCrypto;

    use super::*;

    #[test]
    fn a_seal_opens_only_for_its_purpose() {
        let protector = RootKeyProtector::new(Zeroizing::new([7; 32]), Arc::new(SoftwareCrypto));
        let one: VaultName = "vault-one".parse().unwrap();
        let two: VaultName = "vault-two".parse().unwrap();
        let purposes = [
            SealPurpose::VaultKey(&one),
            SealPurpose::VaultKey(&two),
            SealPurpose::TokenSigningKey,
            SealPurpose::Backup,
            SealPurpose::AuditKey,
        ];
        for (i, sealed_for) in purposes.iter().enumerate() {
            let sealed = protector.seal(*sealed_for, b"secret").unwrap();
            for (j, opened_for) in purposes.iter().enumerate() {
                let opened = protector.unseal(*opened_for, &sealed);
                assert_eq!(
                    opened.is_ok(),
                    i == j,
                    "{sealed_for:?} opened as {opened_for:?}"
                );
            }
            assert_eq!(
                protector.unseal(*sealed_for, &sealed).unwrap().as_slice(),
                b"secret"
            );
        }
        let other = RootKeyProtector::new(Zeroizing::new([8; 32]), Arc::new(SoftwareCrypto));
        let sealed = protector.seal(SealPurpose::Backup, b"secret").unwrap();
        assert!(
            other.unseal(SealPurpose::Backup, &sealed).is_err(),
            "another root opens nothing"
        );
    }
}
