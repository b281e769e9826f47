//! Key lifecycle use cases: create, import, read, list, update, delete, recover, purge,
//! rotate, rotation policies and random bytes.

use std::sync::Arc;

use strongroom_core::DomainError;
use strongroom_core::clock::Clock;
use strongroom_core::error::DomainResult;
use strongroom_core::key::{
    KeyAttributes, KeyOp, KeySpec, KeyType, KeyVersionRecord, ReleasePolicy, Tags, VersionId,
    check_tags, sealing_aad,
};
use strongroom_core::lifecycle::{Deletion, check_validity_window};
use strongroom_core::names::{KeyName, KeyVersion, VaultName};
use strongroom_core::ports::{
    CryptoProvider, DeletedKey, ImportedJwk, KeyMaterial, KeyProtector, KeyStore,
};
use strongroom_core::rotation::RotationPolicy;
use strongroom_core::vault::VaultKind;

use crate::cache::{CachedVersion, KeyCache};
use crate::door::{Caller, Door, Operation, Scope};
use crate::pool::CryptoPool;
use crate::vaults::OpenVault;
use strongroom_core::audit::WriteEvent;

/// Attribute changes requested by a caller.
#[derive(Debug, Clone, Default)]
pub struct AttributeChanges {
    /// enabled.
    pub enabled: Option<bool>,
    /// nbf.
    pub nbf: Option<i64>,
    /// exp.
    pub exp: Option<i64>,
    /// exportable.
    pub exportable: Option<bool>,
}

/// A key to generate.
pub struct NewKey {
    /// kty.
    pub key_type: KeyType,
    /// Size or curve.
    pub spec: KeySpec,
    /// key_ops (defaults to everything the type can do).
    pub key_ops: Option<Vec<KeyOp>>,
    /// Attributes.
    pub attributes: AttributeChanges,
    /// Tags.
    pub tags: Tags,
    /// Release policy.
    pub release_policy: Option<ReleasePolicy>,
}

/// A key to import.
pub struct ImportKey {
    /// kty (with `-HSM` when the caller asked for HSM protection).
    pub key_type: KeyType,
    /// The key.
    pub jwk: ImportedJwk,
    /// key_ops.
    pub key_ops: Option<Vec<KeyOp>>,
    /// Attributes.
    pub attributes: AttributeChanges,
    /// Tags.
    pub tags: Tags,
    /// Release policy.
    pub release_policy: Option<ReleasePolicy>,
}

/// Changes to a version.
#[derive(Default)]
pub struct KeyUpdate {
    /// key_ops.
    pub key_ops: Option<Vec<KeyOp>>,
    /// Attributes.
    pub attributes: AttributeChanges,
    /// Tags (replace all).
    pub tags: Option<Tags>,
    /// Release policy.
    pub release_policy: Option<ReleasePolicy>,
}

/// The key service.
pub struct KeyService {
    pub(crate) store: Arc<dyn KeyStore>,
    pub(crate) crypto: Arc<dyn CryptoProvider>,
    pub(crate) pool: CryptoPool,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cache: KeyCache,
    pub(crate) door: Arc<Door>,
    /// Seals backups.
    pub(crate) protector: Arc<dyn KeyProtector>,
}

/// What a key service is built from.
pub struct KeyServicePorts {
    /// Storage.
    pub store: Arc<dyn KeyStore>,
    /// Cryptography.
    pub crypto: Arc<dyn CryptoProvider>,
    /// The bounded pool for slow crypto work.
    pub pool: CryptoPool,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The door every operation passes.
    pub door: Arc<Door>,
    /// Seals by purpose under the root of trust (backups).
    pub protector: Arc<dyn KeyProtector>,
}

impl KeyService {
    /// A service over these ports, caching up to `cache_capacity` parsed keys.
    pub fn new(ports: KeyServicePorts, cache_capacity: usize) -> Self {
        Self {
            store: ports.store,
            crypto: ports.crypto,
            pool: ports.pool,
            clock: ports.clock,
            cache: KeyCache::new(cache_capacity),
            door: ports.door,
            protector: ports.protector,
        }
    }

    /// The current time.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Generates a key (a new version if the name exists).
    async fn generate(
        &self,
        vault: &OpenVault,
        name: &KeyName,
        new: NewKey,
        audit: &WriteEvent,
    ) -> DomainResult<KeyVersionRecord> {
        let key_type = vault.vault.admit_key_type(new.key_type)?;
        check_key_type_matches(key_type, new.spec)?;
        vault.vault.check_spec(new.spec)?;
        let crypto = Arc::clone(&self.crypto);
        let spec = new.spec;
        let material = self.pool.run(move || crypto.generate(spec)).await??;
        let shape = Shape {
            key_type,
            key_ops: new.key_ops,
            attributes: new.attributes,
            tags: new.tags,
            release_policy: new.release_policy,
        };
        self.store_new_version(vault, name, material, shape, audit)
            .await
    }

    /// Imports a key (a new version if the name exists).
    async fn import_material(
        &self,
        vault: &OpenVault,
        name: &KeyName,
        import: ImportKey,
        audit: &WriteEvent,
    ) -> DomainResult<KeyVersionRecord> {
        let key_type = vault.vault.admit_key_type(import.key_type)?;
        if import.jwk.kind != key_type.kind {
            return Err(DomainError::bad(
                "The JWK members do not match its key type.",
            ));
        }
        let crypto = Arc::clone(&self.crypto);
        let jwk = import.jwk;
        let material = self.pool.run(move || crypto.import(&jwk)).await??;
        let shape = Shape {
            key_type,
            key_ops: import.key_ops,
            attributes: import.attributes,
            tags: import.tags,
            release_policy: import.release_policy,
        };
        self.store_new_version(vault, name, material, shape, audit)
            .await
    }

    async fn store_new_version(
        &self,
        vault: &OpenVault,
        name: &KeyName,
        material: KeyMaterial,
        shape: Shape,
        audit: &WriteEvent,
    ) -> DomainResult<KeyVersionRecord> {
        let now = self.clock.now();
        let kind = shape.key_type.kind;
        let key_ops = match shape.key_ops {
            Some(ops) => check_key_ops(ops, kind)?,
            None => KeyOp::defaults_for(kind),
        };
        check_tags(&shape.tags)?;
        check_validity_window(shape.attributes.nbf, shape.attributes.exp)?;
        let exportable = shape.attributes.exportable.unwrap_or(false);
        check_release_policy(exportable, shape.release_policy.as_ref())?;
        let id = VersionId {
            vault: vault.vault.name.clone(),
            name: name.clone(),
            version: self.new_version()?,
        };
        let sealed = self
            .crypto
            .seal(vault.kek(), &sealing_aad(&id), &material.private)?;
        let record = KeyVersionRecord {
            id,
            key_type: shape.key_type,
            public: material.public,
            key_ops,
            attributes: KeyAttributes {
                enabled: shape.attributes.enabled.unwrap_or(true),
                nbf: shape.attributes.nbf,
                exp: shape.attributes.exp,
                exportable,
                created: now,
                updated: now,
            },
            tags: shape.tags,
            release_policy: shape.release_policy,
            sealed,
        };
        self.store.insert_version(&record, audit).await?;
        self.cache.invalidate(&record.id.vault, name);
        Ok(record)
    }

    fn new_version(&self) -> DomainResult<KeyVersion> {
        let mut bytes = [0u8; 16];
        self.crypto.fill_random(&mut bytes)?;
        Ok(KeyVersion::from_random(bytes))
    }

    /// A version of a live key (the latest when `version` is `None`), from cache when possible.
    pub(super) async fn cached(
        &self,
        vault: &OpenVault,
        name: &KeyName,
        version: Option<&KeyVersion>,
    ) -> DomainResult<Arc<CachedVersion>> {
        let vault_name = &vault.vault.name;
        if let Some(hit) = self.cache.get(vault_name, name, version) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let record = self
            .store
            .version(vault_name, name, version)
            .await?
            .ok_or_else(|| not_found(name, version))?;
        Ok(self.cache.insert(record, version.is_none(), generation))
    }

    /// Reads a version.
    async fn read(
        &self,
        vault: &OpenVault,
        name: &KeyName,
        version: Option<&KeyVersion>,
    ) -> DomainResult<KeyVersionRecord> {
        Ok(self.cached(vault, name, version).await?.record.clone())
    }

    /// A page of live keys (latest versions) after `after`.
    async fn list_page(
        &self,
        vault: &OpenVault,
        after: Option<&KeyName>,
        limit: usize,
    ) -> DomainResult<Vec<KeyVersionRecord>> {
        self.store.list_keys(&vault.vault.name, after, limit).await
    }

    /// A page of a key's versions.
    async fn version_page(
        &self,
        vault: &OpenVault,
        name: &KeyName,
        skip: usize,
        limit: usize,
    ) -> DomainResult<Vec<KeyVersionRecord>> {
        let page = self
            .store
            .list_versions(&vault.vault.name, name, skip, limit)
            .await?;
        if page.is_empty() && skip == 0 {
            return Err(not_found(name, None));
        }
        Ok(page)
    }

    /// Updates a version's mutable properties.
    async fn update_version(
        &self,
        vault: &OpenVault,
        name: &KeyName,
        version: Option<&KeyVersion>,
        update: KeyUpdate,
        audit: &WriteEvent,
    ) -> DomainResult<KeyVersionRecord> {
        let mut record = self
            .store
            .version(&vault.vault.name, name, version)
            .await?
            .ok_or_else(|| not_found(name, version))?;
        apply_update(&mut record, update, self.clock.now())?;
        self.store.update_version(&record, audit).await?;
        self.cache.invalidate(&vault.vault.name, name);
        Ok(record)
    }

    /// Soft-deletes a key with all its versions.
    async fn soft_delete(
        &self,
        vault: &OpenVault,
        name: &KeyName,
        audit: &WriteEvent,
    ) -> DomainResult<DeletedKey> {
        let latest = self
            .store
            .version(&vault.vault.name, name, None)
            .await?
            .ok_or_else(|| not_found(name, None))?;
        let deletion = Deletion::starting(&vault.vault, self.clock.now());
        let deleted = self
            .store
            .delete_key(&vault.vault.name, name, deletion, audit)
            .await?;
        self.cache.invalidate(&vault.vault.name, name);
        if !deleted {
            return Err(not_found(name, None));
        }
        Ok(DeletedKey { latest, deletion })
    }

    /// A deleted key.
    async fn deleted(&self, vault: &OpenVault, name: &KeyName) -> DomainResult<DeletedKey> {
        self.store
            .deleted_key(&vault.vault.name, name)
            .await?
            .ok_or_else(|| DomainError::DeletedKeyNotFound {
                name: name.to_string(),
            })
    }

    /// A page of deleted keys.
    async fn deleted_page(
        &self,
        vault: &OpenVault,
        after: Option<&KeyName>,
        limit: usize,
    ) -> DomainResult<Vec<DeletedKey>> {
        self.store
            .list_deleted(&vault.vault.name, after, limit)
            .await
    }

    /// Recovers a deleted key; returns its latest version.
    async fn recover_key(
        &self,
        vault: &OpenVault,
        name: &KeyName,
        audit: &WriteEvent,
    ) -> DomainResult<KeyVersionRecord> {
        if !self
            .store
            .recover_key(&vault.vault.name, name, audit)
            .await?
        {
            return Err(DomainError::DeletedKeyNotFound {
                name: name.to_string(),
            });
        }
        self.cache.invalidate(&vault.vault.name, name);
        self.read(vault, name, None).await
    }

    /// Purges a deleted key, unless purge protection holds it.
    async fn purge_key(
        &self,
        vault: &OpenVault,
        name: &KeyName,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        let deleted = self.deleted(vault, name).await?;
        deleted
            .deletion
            .check_purge(&vault.vault, self.clock.now())?;
        if !self.store.purge_key(&vault.vault.name, name, audit).await? {
            return Err(DomainError::DeletedKeyNotFound {
                name: name.to_string(),
            });
        }
        self.cache.invalidate(&vault.vault.name, name);
        Ok(())
    }

    /// Creates a new version with the latest version's type, size, operations and tags; its
    /// expiry comes from the rotation policy.
    async fn rotate_key(
        &self,
        vault: &OpenVault,
        name: &KeyName,
        audit: &WriteEvent,
    ) -> DomainResult<KeyVersionRecord> {
        let latest = self
            .store
            .version(&vault.vault.name, name, None)
            .await?
            .ok_or_else(|| not_found(name, None))?;
        let policy = self.store.rotation_policy(&vault.vault.name, name).await?;
        let spec = latest
            .public
            .spec()
            .ok_or_else(|| DomainError::Internal("stored key has no generatable shape".into()))?;
        let now = self.clock.now();
        let new = NewKey {
            key_type: latest.key_type,
            spec,
            key_ops: Some(latest.key_ops.clone()),
            attributes: AttributeChanges {
                enabled: Some(true),
                nbf: None,
                exp: policy.as_ref().and_then(|p| p.expiry_for(now)),
                exportable: Some(latest.attributes.exportable),
            },
            tags: latest.tags.clone(),
            release_policy: latest.release_policy.clone(),
        };
        self.generate(vault, name, new, audit).await
    }

    /// The key's rotation policy, or the default one.
    async fn policy(&self, vault: &OpenVault, name: &KeyName) -> DomainResult<RotationPolicy> {
        let stored = self.store.rotation_policy(&vault.vault.name, name).await?;
        Ok(stored
            .unwrap_or_else(|| RotationPolicy::default_for(vault.vault.kind == VaultKind::Vault)))
    }

    /// Replaces the key's rotation policy.
    async fn replace_policy(
        &self,
        vault: &OpenVault,
        name: &KeyName,
        mut policy: RotationPolicy,
        audit: &WriteEvent,
    ) -> DomainResult<RotationPolicy> {
        policy.validate(vault.vault.kind == VaultKind::Vault)?;
        let existing = self.store.rotation_policy(&vault.vault.name, name).await?;
        let now = self.clock.now();
        policy.created = existing.and_then(|p| p.created).or(Some(now));
        policy.updated = Some(now);
        self.store
            .set_rotation_policy(&vault.vault.name, name, &policy, audit)
            .await?;
        Ok(policy)
    }

    /// `count` random bytes (1..=128).
    fn random(&self, count: i64) -> DomainResult<Vec<u8>> {
        let len = usize::try_from(count)
            .ok()
            .filter(|n| (1..=128).contains(n))
            .ok_or_else(|| {
                DomainError::bad(
                    "GetRandomBytesRequest: count cannot be greater than 128 or less than 1",
                )
            })?;
        let mut out = vec![0u8; len];
        self.crypto.fill_random(&mut out)?;
        Ok(out)
    }
}

struct Shape {
    key_type: KeyType,
    key_ops: Option<Vec<KeyOp>>,
    attributes: AttributeChanges,
    tags: Tags,
    release_policy: Option<ReleasePolicy>,
}

pub(super) fn not_found(name: &KeyName, version: Option<&KeyVersion>) -> DomainError {
    DomainError::KeyNotFound {
        name: version.map_or_else(|| name.to_string(), |v| format!("{name}/{v}")),
    }
}

fn check_key_type_matches(key_type: KeyType, spec: KeySpec) -> DomainResult<()> {
    if key_type.kind == spec.kind() {
        Ok(())
    } else {
        Err(DomainError::Internal(
            "key spec does not match key type".into(),
        ))
    }
}

fn check_key_ops(
    mut ops: Vec<KeyOp>,
    kind: strongroom_core::key::KeyKind,
) -> DomainResult<Vec<KeyOp>> {
    if let Some(op) = ops.iter().find(|op| !op.applies_to(kind)) {
        return Err(DomainError::bad(format!(
            "The key operation {} is not valid for this key type.",
            op.as_str()
        )));
    }
    ops.dedup();
    Ok(ops)
}

fn check_release_policy(exportable: bool, policy: Option<&ReleasePolicy>) -> DomainResult<()> {
    match (exportable, policy) {
        (true, None) => Err(DomainError::bad(
            "Exportable keys must have release policy.",
        )),
        (false, Some(_)) => Err(DomainError::bad(
            "Non-exportable keys must not have release policy.",
        )),
        _ => Ok(()),
    }
}

fn apply_update(record: &mut KeyVersionRecord, update: KeyUpdate, now: i64) -> DomainResult<()> {
    if let Some(ops) = update.key_ops {
        record.key_ops = check_key_ops(ops, record.key_type.kind)?;
    }
    let a = update.attributes;
    if a.exportable
        .is_some_and(|e| e != record.attributes.exportable)
    {
        return Err(DomainError::bad(
            "The exportable attribute cannot be changed after a key is created.",
        ));
    }
    if let Some(enabled) = a.enabled {
        record.attributes.enabled = enabled;
    }
    if a.nbf.is_some() {
        record.attributes.nbf = a.nbf;
    }
    if a.exp.is_some() {
        record.attributes.exp = a.exp;
    }
    check_validity_window(record.attributes.nbf, record.attributes.exp)?;
    if let Some(tags) = update.tags {
        check_tags(&tags)?;
        record.tags = tags;
    }
    if let Some(policy) = update.release_policy {
        if record.release_policy.as_ref().is_some_and(|p| p.immutable) {
            return Err(DomainError::bad(
                "The release policy is immutable and cannot be changed.",
            ));
        }
        check_release_policy(record.attributes.exportable, Some(&policy))?;
        record.release_policy = Some(policy);
    }
    record.attributes.updated = now;
    Ok(())
}

fn key_scope(vault: &OpenVault, name: &KeyName) -> Scope {
    Scope::Key(vault.vault.name.clone(), name.clone())
}

fn keys_scope(vault: &OpenVault) -> Scope {
    Scope::Keys(vault.vault.name.clone())
}

/// The use cases, each through the door.
impl KeyService {
    /// Generates a key (a new version if the name exists).
    pub async fn create(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &KeyName,
        new: NewKey,
    ) -> DomainResult<KeyVersionRecord> {
        let scope = key_scope(vault, name);
        let audit = self.door.write_event(caller, Operation::KeyCreate, &scope);
        self.door
            .pass_write(
                caller,
                Operation::KeyCreate,
                scope,
                &audit,
                self.generate(vault, name, new, &audit),
            )
            .await
    }

    /// Imports a key (a new version if the name exists).
    pub async fn import(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &KeyName,
        import: ImportKey,
    ) -> DomainResult<KeyVersionRecord> {
        let scope = key_scope(vault, name);
        let audit = self.door.write_event(caller, Operation::KeyImport, &scope);
        self.door
            .pass_write(
                caller,
                Operation::KeyImport,
                scope,
                &audit,
                self.import_material(vault, name, import, &audit),
            )
            .await
    }

    /// Reads a version (the latest when `version` is `None`).
    pub async fn get(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &KeyName,
        version: Option<&KeyVersion>,
    ) -> DomainResult<KeyVersionRecord> {
        let scope = key_scope(vault, name);
        self.door
            .pass(
                caller,
                Operation::KeyGet,
                scope,
                self.read(vault, name, version),
            )
            .await
    }

    /// A page of live keys (latest versions) after `after`.
    pub async fn list(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        after: Option<&KeyName>,
        limit: usize,
    ) -> DomainResult<Vec<KeyVersionRecord>> {
        self.door
            .pass(
                caller,
                Operation::KeyList,
                keys_scope(vault),
                self.list_page(vault, after, limit),
            )
            .await
    }

    /// A page of a key's versions.
    pub async fn versions(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &KeyName,
        skip: usize,
        limit: usize,
    ) -> DomainResult<Vec<KeyVersionRecord>> {
        let scope = key_scope(vault, name);
        self.door
            .pass(
                caller,
                Operation::KeyListVersions,
                scope,
                self.version_page(vault, name, skip, limit),
            )
            .await
    }

    /// Updates a version's mutable properties.
    pub async fn update(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &KeyName,
        version: Option<&KeyVersion>,
        update: KeyUpdate,
    ) -> DomainResult<KeyVersionRecord> {
        let scope = key_scope(vault, name);
        let audit = self.door.write_event(caller, Operation::KeyUpdate, &scope);
        self.door
            .pass_write(
                caller,
                Operation::KeyUpdate,
                scope,
                &audit,
                self.update_version(vault, name, version, update, &audit),
            )
            .await
    }

    /// Soft-deletes a key with all its versions.
    pub async fn delete(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &KeyName,
    ) -> DomainResult<DeletedKey> {
        let scope = key_scope(vault, name);
        let audit = self.door.write_event(caller, Operation::KeyDelete, &scope);
        self.door
            .pass_write(
                caller,
                Operation::KeyDelete,
                scope,
                &audit,
                self.soft_delete(vault, name, &audit),
            )
            .await
    }

    /// A deleted key.
    pub async fn get_deleted(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &KeyName,
    ) -> DomainResult<DeletedKey> {
        let scope = key_scope(vault, name);
        self.door
            .pass(
                caller,
                Operation::KeyGetDeleted,
                scope,
                self.deleted(vault, name),
            )
            .await
    }

    /// A page of deleted keys.
    pub async fn list_deleted(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        after: Option<&KeyName>,
        limit: usize,
    ) -> DomainResult<Vec<DeletedKey>> {
        self.door
            .pass(
                caller,
                Operation::KeyListDeleted,
                keys_scope(vault),
                self.deleted_page(vault, after, limit),
            )
            .await
    }

    /// Recovers a deleted key; returns its latest version.
    pub async fn recover(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &KeyName,
    ) -> DomainResult<KeyVersionRecord> {
        let scope = key_scope(vault, name);
        let audit = self.door.write_event(caller, Operation::KeyRecover, &scope);
        self.door
            .pass_write(
                caller,
                Operation::KeyRecover,
                scope,
                &audit,
                self.recover_key(vault, name, &audit),
            )
            .await
    }

    /// Purges a deleted key, unless purge protection holds it.
    pub async fn purge(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &KeyName,
    ) -> DomainResult<()> {
        let scope = key_scope(vault, name);
        let audit = self.door.write_event(caller, Operation::KeyPurge, &scope);
        self.door
            .pass_write(
                caller,
                Operation::KeyPurge,
                scope,
                &audit,
                self.purge_key(vault, name, &audit),
            )
            .await
    }

    /// Creates a new version like the latest one, its expiry from the rotation policy.
    pub async fn rotate(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &KeyName,
    ) -> DomainResult<KeyVersionRecord> {
        let scope = key_scope(vault, name);
        let audit = self.door.write_event(caller, Operation::KeyRotate, &scope);
        self.door
            .pass_write(
                caller,
                Operation::KeyRotate,
                scope,
                &audit,
                self.rotate_key(vault, name, &audit),
            )
            .await
    }

    /// The key's rotation policy, or the default one.
    pub async fn rotation_policy(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &KeyName,
    ) -> DomainResult<RotationPolicy> {
        let scope = key_scope(vault, name);
        self.door
            .pass(
                caller,
                Operation::KeyRotationPolicyGet,
                scope,
                self.policy(vault, name),
            )
            .await
    }

    /// Replaces the key's rotation policy.
    pub async fn set_rotation_policy(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &KeyName,
        policy: RotationPolicy,
    ) -> DomainResult<RotationPolicy> {
        let scope = key_scope(vault, name);
        let audit = self
            .door
            .write_event(caller, Operation::KeyRotationPolicySet, &scope);
        self.door
            .pass_write(
                caller,
                Operation::KeyRotationPolicySet,
                scope,
                &audit,
                self.replace_policy(vault, name, policy, &audit),
            )
            .await
    }

    /// `count` random bytes (1..=128) from a pool.
    pub async fn random_bytes(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        count: i64,
    ) -> DomainResult<Vec<u8>> {
        let scope = Scope::Vault(vault.vault.name.clone());
        self.door
            .pass(caller, Operation::GetRandomBytes, scope, async {
                self.random(count)
            })
            .await
    }

    /// Purges, through the door, every deleted key whose retention has ended; returns the
    /// keys purged.
    pub async fn purge_expired(&self, caller: &Caller) -> DomainResult<Vec<(VaultName, KeyName)>> {
        let now = self.clock.now();
        let mut purged = Vec::new();
        for (vault, name) in self.store.due_purges(now).await? {
            let scope = Scope::Key(vault.clone(), name.clone());
            let audit = self.door.write_event(caller, Operation::KeyPurge, &scope);
            let done = self
                .door
                .pass_write(caller, Operation::KeyPurge, scope, &audit, async {
                    let purged = self.store.purge_key(&vault, &name, &audit).await?;
                    self.cache.invalidate(&vault, &name);
                    Ok(purged)
                })
                .await?;
            if done {
                purged.push((vault, name));
            }
        }
        Ok(purged)
    }

    /// Every key with a rotation policy, with its latest version's creation and expiry times.
    pub async fn rotation_schedule(&self) -> DomainResult<Vec<ScheduledKey>> {
        let mut out = Vec::new();
        for entry in self.store.rotation_policies().await? {
            if let Some(latest) = self.store.version(&entry.vault, &entry.name, None).await? {
                out.push(ScheduledKey {
                    vault: entry.vault,
                    name: entry.name,
                    policy: entry.policy,
                    version: latest.id.version,
                    created: latest.attributes.created,
                    exp: latest.attributes.exp,
                });
            }
        }
        Ok(out)
    }
}

/// A key under a rotation policy, as the scheduler sees it.
#[derive(Debug, Clone)]
pub struct ScheduledKey {
    /// Its vault or pool.
    pub vault: VaultName,
    /// Its name.
    pub name: KeyName,
    /// Its policy.
    pub policy: RotationPolicy,
    /// The latest version.
    pub version: KeyVersion,
    /// When the latest version was created.
    pub created: i64,
    /// When the latest version expires.
    pub exp: Option<i64>,
}

impl KeyService {
    /// Drops everything cached for a deleted vault.
    pub fn forget_vault(&self, vault: &VaultName) {
        self.cache.invalidate_vault(vault);
    }

    /// Drops what is cached for a key changed elsewhere.
    pub fn forget_key(&self, vault: &VaultName, name: &KeyName) {
        self.cache.invalidate(vault, name);
    }

    /// Drops every cached key.
    pub fn forget_all(&self) {
        self.cache.clear();
    }
}
