//! Vaults and managed HSM pools: creation with a fresh KEK sealed under the root key, lookup
//! with the unsealed KEK cached, deletion.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use strongroom_core::DomainError;
use strongroom_core::access_policy::{AccessPolicy, KeyPermission};
use strongroom_core::audit::WriteEvent;
use strongroom_core::clock::Clock;
use strongroom_core::error::DomainResult;
use strongroom_core::names::VaultName;
use strongroom_core::ports::{CryptoProvider, KeyProtector, KeyStore, SealPurpose, StoredVault};
use strongroom_core::vault::{RetentionDays, Sku, Vault, VaultKind};
use zeroize::Zeroizing;

use crate::access::AccessCache;
use crate::door::{Actor, Caller, Door, Operation, Scope};

/// A vault with its KEK unsealed, ready for key operations.
pub struct OpenVault {
    /// Settings.
    pub vault: Vault,
    kek: Zeroizing<[u8; 32]>,
}

impl OpenVault {
    /// The vault KEK.
    pub fn kek(&self) -> &[u8; 32] {
        &self.kek
    }
}

/// What a new vault or pool looks like.
pub struct VaultSpec {
    /// Name.
    pub name: VaultName,
    /// Vault or pool.
    pub kind: VaultKind,
    /// SKU (vaults).
    pub sku: Sku,
    /// Retention.
    pub retention: RetentionDays,
    /// Purge protection.
    pub purge_protection: bool,
    /// Role assignments (true) or access policies (false) authorize the data plane; pools
    /// always use role assignments.
    pub rbac_authorization: bool,
}

/// Vault management and lookup.
pub struct VaultService {
    store: Arc<dyn KeyStore>,
    crypto: Arc<dyn CryptoProvider>,
    clock: Arc<dyn Clock>,
    protector: Arc<dyn KeyProtector>,
    door: Arc<Door>,
    access: Arc<AccessCache>,
    open: RwLock<HashMap<VaultName, Arc<OpenVault>>>,
}

impl VaultService {
    /// A service over these ports.
    pub fn new(
        store: Arc<dyn KeyStore>,
        crypto: Arc<dyn CryptoProvider>,
        clock: Arc<dyn Clock>,
        protector: Arc<dyn KeyProtector>,
        door: Arc<Door>,
        access: Arc<AccessCache>,
    ) -> Self {
        Self {
            store,
            crypto,
            clock,
            protector,
            door,
            access,
            open: RwLock::new(HashMap::new()),
        }
    }

    /// Creates a vault or pool with a fresh KEK. As `az keyvault create` does, an identity that
    /// creates an access-policy vault gets an access policy with every key permission.
    pub async fn create(&self, caller: &Caller, spec: VaultSpec) -> DomainResult<Vault> {
        let scope = Scope::Vault(spec.name.clone());
        let audit = self
            .door
            .write_event(caller, Operation::VaultCreate, &scope);
        self.door
            .pass_write(caller, Operation::VaultCreate, scope, &audit, async {
                let vault = self.insert(spec, &audit).await?;
                if let (false, Actor::Identity(creator)) = (vault.rbac_authorization, &caller.actor)
                {
                    let policy = AccessPolicy {
                        vault: vault.name.clone(),
                        object_id: creator.object_id.clone(),
                        keys: KeyPermission::ALL.to_vec(),
                        updated: self.clock.now(),
                    };
                    self.store.put_access_policy(&policy, &audit).await?;
                }
                Ok(vault)
            })
            .await
    }

    /// A vault or pool's properties.
    pub async fn show(&self, caller: &Caller, name: &VaultName) -> DomainResult<Vault> {
        let scope = Scope::Vault(name.clone());
        self.door
            .pass(caller, Operation::VaultGet, scope, async {
                Ok(self.open(name).await?.vault.clone())
            })
            .await
    }

    /// All vaults and pools.
    pub async fn list(&self, caller: &Caller) -> DomainResult<Vec<Vault>> {
        self.door
            .pass(
                caller,
                Operation::VaultList,
                Scope::Deployment,
                self.store.vaults(),
            )
            .await
    }

    /// Deletes a vault or pool and every key in it.
    pub async fn delete(&self, caller: &Caller, name: &VaultName) -> DomainResult<()> {
        let scope = Scope::Vault(name.clone());
        let audit = self
            .door
            .write_event(caller, Operation::VaultDelete, &scope);
        self.door
            .pass_write(
                caller,
                Operation::VaultDelete,
                scope,
                &audit,
                self.remove(name, &audit),
            )
            .await
    }

    async fn insert(&self, spec: VaultSpec, audit: &WriteEvent) -> DomainResult<Vault> {
        if spec.kind == VaultKind::ManagedHsm && !spec.rbac_authorization {
            return Err(DomainError::bad(
                "A managed HSM pool always uses its local RBAC: enable_rbac_authorization cannot be false.",
            ));
        }
        let vault = Vault {
            name: spec.name,
            kind: spec.kind,
            sku: if spec.kind == VaultKind::ManagedHsm {
                Sku::Premium
            } else {
                spec.sku
            },
            retention: spec.retention,
            purge_protection: spec.purge_protection,
            rbac_authorization: spec.rbac_authorization,
            created: self.clock.now(),
        };
        let mut kek = Zeroizing::new([0u8; 32]);
        self.crypto.fill_random(kek.as_mut())?;
        let sealed_kek = self
            .protector
            .seal(SealPurpose::VaultKey(&vault.name), kek.as_ref())?;
        self.store
            .insert_vault(
                &StoredVault {
                    vault: vault.clone(),
                    sealed_kek,
                },
                audit,
            )
            .await?;
        Ok(vault)
    }

    /// Opens a vault, from cache when possible.
    pub async fn open(&self, name: &VaultName) -> DomainResult<Arc<OpenVault>> {
        if let Some(open) = self.open.read().ok().and_then(|m| m.get(name).cloned()) {
            return Ok(open);
        }
        let stored = self
            .store
            .vault(name)
            .await?
            .ok_or_else(|| DomainError::VaultNotFound {
                name: name.to_string(),
            })?;
        let plain = self
            .protector
            .unseal(SealPurpose::VaultKey(name), &stored.sealed_kek)?;
        let mut kek = Zeroizing::new([0u8; 32]);
        if plain.len() != 32 {
            return Err(DomainError::Internal(
                "vault KEK has the wrong length".into(),
            ));
        }
        kek.copy_from_slice(&plain);
        let open = Arc::new(OpenVault {
            vault: stored.vault,
            kek,
        });
        if let Ok(mut map) = self.open.write() {
            map.insert(name.clone(), Arc::clone(&open));
        }
        Ok(open)
    }

    /// Forgets who may use a vault (its role assignments changed elsewhere).
    pub fn forget_access(&self, name: &VaultName) {
        self.access.forget(Some(name));
    }

    /// Forgets a cached vault (deleted elsewhere) and who may use it, or all of them.
    pub fn forget(&self, name: Option<&VaultName>) {
        self.access.forget(name);
        if let Ok(mut map) = self.open.write() {
            match name {
                Some(name) => {
                    map.remove(name);
                }
                None => map.clear(),
            }
        }
    }

    async fn remove(&self, name: &VaultName, audit: &WriteEvent) -> DomainResult<()> {
        if let Ok(mut map) = self.open.write() {
            map.remove(name);
        }
        let deleted = self.store.delete_vault(name, audit).await?;
        self.access.forget(Some(name));
        if deleted {
            Ok(())
        } else {
            Err(DomainError::VaultNotFound {
                name: name.to_string(),
            })
        }
    }
}
