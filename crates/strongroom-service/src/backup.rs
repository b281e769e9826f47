//! Key backup and restore. A backup holds every version of a key with its private material
//! and rotation policy, as JSON sealed with AES-256-GCM under a key derived from the root key,
//! behind a format marker. Restore works into any vault or pool of the same deployment that
//! accepts the key's type, keeps the version ids, and refuses a name already in use.

use serde::{Deserialize, Serialize};
use strongroom_core::DomainError;
use strongroom_core::audit::WriteEvent;
use strongroom_core::b64;
use strongroom_core::error::DomainResult;
use strongroom_core::key::{
    KeyAttributes, KeyOp, KeyType, KeyVersionRecord, PublicKeyParts, ReleasePolicy, Tags,
    VersionId, sealing_aad,
};
use strongroom_core::names::KeyName;
use strongroom_core::ports::SealPurpose;
use strongroom_core::rotation::RotationPolicy;
use zeroize::{Zeroize, Zeroizing};

use crate::door::{Caller, Operation, Scope};
use crate::keys::{KeyService, not_found};
use crate::vaults::OpenVault;

const MAGIC: &[u8] = b"strongroom-key-backup-v1:";

#[derive(Serialize, Deserialize)]
struct BackupKey {
    name: String,
    rotation_policy: Option<RotationPolicy>,
    versions: Vec<BackupVersion>,
}

#[derive(Serialize, Deserialize)]
struct BackupVersion {
    version: String,
    key_type: KeyType,
    public: PublicKeyParts,
    key_ops: Vec<KeyOp>,
    attributes: KeyAttributes,
    tags: Tags,
    release_policy: Option<ReleasePolicy>,
    private: String,
}

impl Drop for BackupVersion {
    fn drop(&mut self) {
        self.private.zeroize();
    }
}

impl KeyService {
    /// Backs a key up: all its versions and its rotation policy, sealed for this deployment.
    pub async fn backup(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &KeyName,
    ) -> DomainResult<Vec<u8>> {
        let scope = Scope::Key(vault.vault.name.clone(), name.clone());
        self.door
            .pass(
                caller,
                Operation::KeyBackup,
                scope,
                self.backup_blob(vault, name),
            )
            .await
    }

    /// Restores a key from a backup of this deployment.
    pub async fn restore(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        blob: &[u8],
    ) -> DomainResult<KeyVersionRecord> {
        let scope = Scope::Keys(vault.vault.name.clone());
        let audit = self.door.write_event(caller, Operation::KeyRestore, &scope);
        self.door
            .pass_write(
                caller,
                Operation::KeyRestore,
                scope,
                &audit,
                self.restore_blob(vault, blob, &audit),
            )
            .await
    }

    /// The backup blob of a key.
    async fn backup_blob(&self, vault: &OpenVault, name: &KeyName) -> DomainResult<Vec<u8>> {
        let (records, rotation_policy) = self
            .store
            .key_for_backup(&vault.vault.name, name)
            .await?
            .ok_or_else(|| not_found(name, None))?;
        let mut versions = Vec::with_capacity(records.len());
        for r in records {
            let private = self
                .crypto
                .unseal(vault.kek(), &sealing_aad(&r.id), &r.sealed)?;
            versions.push(BackupVersion {
                version: r.id.version.to_string(),
                key_type: r.key_type,
                public: r.public,
                key_ops: r.key_ops,
                attributes: r.attributes,
                tags: r.tags,
                release_policy: r.release_policy,
                private: b64::encode(private.as_slice()),
            });
        }
        let doc = BackupKey {
            name: name.to_string(),
            rotation_policy,
            versions,
        };
        let json = Zeroizing::new(
            serde_json::to_vec(&doc).map_err(|e| DomainError::Internal(e.to_string()))?,
        );
        let mut blob = MAGIC.to_vec();
        blob.extend(self.protector.seal(SealPurpose::Backup, &json)?);
        Ok(blob)
    }

    /// Restores a backup into `vault`.
    async fn restore_blob(
        &self,
        vault: &OpenVault,
        blob: &[u8],
        audit: &WriteEvent,
    ) -> DomainResult<KeyVersionRecord> {
        let invalid = || {
            DomainError::bad(
                "The backup blob is not valid: it is corrupt or was not made by this deployment.",
            )
        };
        let sealed = blob.strip_prefix(MAGIC).ok_or_else(invalid)?;
        let json = self
            .protector
            .unseal(SealPurpose::Backup, sealed)
            .map_err(|_| invalid())?;
        let doc: BackupKey = serde_json::from_slice(&json).map_err(|_| invalid())?;
        let name: KeyName = doc.name.parse().map_err(|_| invalid())?;
        let mut records = Vec::with_capacity(doc.versions.len());
        for v in &doc.versions {
            vault.vault.check_key_type(v.key_type)?;
            let id = VersionId {
                vault: vault.vault.name.clone(),
                name: name.clone(),
                version: v.version.parse().map_err(|_| invalid())?,
            };
            let private = Zeroizing::new(b64::decode(&v.private).map_err(|_| invalid())?);
            let sealed = self.crypto.seal(vault.kek(), &sealing_aad(&id), &private)?;
            records.push(KeyVersionRecord {
                id,
                key_type: v.key_type,
                public: v.public.clone(),
                key_ops: v.key_ops.clone(),
                attributes: v.attributes.clone(),
                tags: v.tags.clone(),
                release_policy: v.release_policy.clone(),
                sealed,
            });
        }
        self.store
            .restore_key(&records, doc.rotation_policy.as_ref(), audit)
            .await?;
        self.cache.invalidate(&vault.vault.name, &name);
        records.pop().ok_or_else(invalid)
    }
}
