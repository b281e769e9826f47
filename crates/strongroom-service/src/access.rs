//! Who may do what: the authorizer the door asks for every operation, and the cache of each
//! vault's and pool's role assignments it reads.
//!
//! - The data plane is RBAC: an identity may perform an operation's data action on a key when a
//!   role assigned to it at `/`, `/keys` or that key grants the action. Nothing else allows it.
//! - A pool's roles are managed with the pool's own data actions (`roleAssignments/write/action`
//!   and the like, as Managed HSM's local RBAC does); a vault's by the deployment's
//!   administrators (Azure manages them in its management plane).
//! - The deployment's administrators hold the Administrator role of every vault and pool ("Key
//!   Vault Administrator": every data action; "Managed HSM Administrator": roles, not keys).
//! - A vault created without RBAC authorization uses access policies instead: an identity may
//!   perform an operation when its policy holds the operation's key permission.
//! - Vaults, pools and identities are administered by administrators; the token service is
//!   open to callers proving who they are; the server's own work may act on vaults and keys.
//!
//! Each vault's assignments are read once and cached; a change drops the vault's entry here
//! and, through the store's change notifications, on every other node.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use strongroom_core::DomainError;
use strongroom_core::access_policy::AccessPolicy;
use strongroom_core::error::DomainResult;
use strongroom_core::names::{KeyName, VaultName};
use strongroom_core::ports::KeyStore;
use strongroom_core::rbac::{Grants, RoleDefinition, administrator_role, builtin_role};
use strongroom_core::vault::VaultKind;

use crate::door::{Actor, Authorizer, Caller, Grant, Operation, Plane, Scope};
use crate::tokens::Principal;

/// What authorization knows of one vault or pool.
pub struct VaultAccess {
    /// Vault or pool.
    pub kind: VaultKind,
    /// Whether role assignments (rather than access policies) authorize its data plane.
    pub rbac: bool,
    /// Its role assignments.
    pub grants: Grants,
    /// Its access policies (vaults without RBAC authorization).
    pub policies: Vec<AccessPolicy>,
}

/// Each vault's and pool's access, read once from the store.
pub struct AccessCache {
    store: Arc<dyn KeyStore>,
    generation: AtomicU64,
    vaults: RwLock<HashMap<VaultName, Arc<VaultAccess>>>,
}

impl AccessCache {
    /// An empty cache over `store`.
    pub fn new(store: Arc<dyn KeyStore>) -> Self {
        Self {
            store,
            generation: AtomicU64::new(0),
            vaults: RwLock::new(HashMap::new()),
        }
    }

    /// The access of `vault`; `VaultNotFound` when there is no such vault or pool.
    pub async fn get(&self, vault: &VaultName) -> DomainResult<Arc<VaultAccess>> {
        if let Some(hit) = self.vaults.read().ok().and_then(|m| m.get(vault).cloned()) {
            return Ok(hit);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let stored = self
            .store
            .vault(vault)
            .await?
            .ok_or_else(|| DomainError::VaultNotFound {
                name: vault.to_string(),
            })?;
        let kind = stored.vault.kind;
        let rbac = stored.vault.rbac_authorization;
        let assignments = self.store.role_assignments(vault).await?;
        let custom = self.store.role_definitions(vault).await?;
        let policies = if rbac {
            Vec::new()
        } else {
            self.store.access_policies(vault).await?
        };
        let access = Arc::new(VaultAccess {
            kind,
            rbac,
            grants: Grants::new(kind, assignments, &custom),
            policies,
        });
        if let Ok(mut map) = self.vaults.write()
            && self.generation.load(Ordering::SeqCst) == generation
        {
            map.insert(vault.clone(), Arc::clone(&access));
        }
        Ok(access)
    }

    /// Drops what is cached of `vault` (its assignments changed, here or on another node), or
    /// of every vault.
    pub fn forget(&self, vault: Option<&VaultName>) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut map) = self.vaults.write() {
            match vault {
                Some(v) => {
                    map.remove(v);
                }
                None => map.clear(),
            }
        }
    }
}

/// The deployment's authorizer: role assignments for the data plane and pools' roles,
/// administrators for administration.
pub struct RoleAuthorizer {
    access: Arc<AccessCache>,
    administrators: [(VaultKind, RoleDefinition); 2],
}

impl RoleAuthorizer {
    /// An authorizer reading `access`.
    pub fn new(access: Arc<AccessCache>) -> DomainResult<Self> {
        let admin = |kind| {
            builtin_role(kind, administrator_role(kind))
                .map(|role| (kind, role))
                .ok_or_else(|| DomainError::Internal("no administrator role".into()))
        };
        Ok(Self {
            access,
            administrators: [admin(VaultKind::Vault)?, admin(VaultKind::ManagedHsm)?],
        })
    }

    /// Whether `principal` may perform `action` on `key` of `vault`: by an assignment, or as an
    /// administrator of the deployment holding the Administrator role.
    fn check(
        &self,
        principal: &Principal,
        vault: &VaultName,
        access: &VaultAccess,
        action: &'static str,
        key: Option<&KeyName>,
        resource: &Scope,
    ) -> DomainResult<Grant> {
        if let Some(a) = access.grants.granting(&principal.object_id, action, key) {
            return Ok(Grant::Assignment(Arc::from(a.name.as_str())));
        }
        if principal.admin
            && self
                .administrators
                .iter()
                .any(|(kind, role)| *kind == access.kind && role.grants(action))
        {
            return Ok(Grant::Assignment(administrator_assignment(
                vault,
                &principal.object_id,
            )));
        }
        Err(DomainError::ForbiddenByRbac(format!(
            "Caller is not authorized to perform action on resource. If role assignments, deny \
             assignments or role definitions were changed recently, please observe propagation \
             time. Caller: appid={};oid={};name={}. Action: '{action}'. Resource: '{}'. \
             Assignment: (not found). DecisionReason: 'DeniedWithNoValidRBAC'. Vault: {vault}.",
            principal.client_id,
            principal.object_id,
            principal.name,
            resource.resource(),
        )))
    }
}

/// The access-policy decision in a vault without RBAC authorization.
fn by_policy(
    principal: &Principal,
    vault: &VaultName,
    access: &VaultAccess,
    operation: Operation,
) -> DomainResult<Grant> {
    let permission = operation.key_permission().ok_or_else(|| {
        DomainError::bad(format!(
            "{} is not an operation of a key vault.",
            operation.name()
        ))
    })?;
    let allowed = access
        .policies
        .iter()
        .any(|p| p.object_id.eq_ignore_ascii_case(&principal.object_id) && p.allows(permission));
    if allowed {
        Ok(Grant::Rule("access policy"))
    } else {
        Err(DomainError::ForbiddenByPolicy(format!(
            "The user, group or application 'appid={};oid={};name={}' does not have keys \
             {permission} permission on key vault '{vault}'. For help resolving this issue, \
             please see https://go.microsoft.com/fwlink/?linkid=2125287",
            principal.client_id, principal.object_id, principal.name
        )))
    }
}

fn administrator_only(principal: &Principal) -> DomainResult<Grant> {
    if principal.admin {
        Ok(Grant::Rule("administrator"))
    } else {
        Err(DomainError::Forbidden(format!(
            "The identity '{}' (oid={}) is not an administrator of this Strongroom deployment.",
            principal.name, principal.object_id
        )))
    }
}

/// The id under which an administrator holds a vault's Administrator role: a GUID fixed per
/// vault and administrator.
fn administrator_assignment(vault: &VaultName, object_id: &str) -> Arc<str> {
    let digest = strongroom_crypto::sha256(format!("administrator/{vault}/{object_id}").as_bytes());
    let mut bytes = [0u8; 16];
    for (b, d) in bytes.iter_mut().zip(digest.iter()) {
        *b = *d;
    }
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    Arc::from(id.hyphenated().to_string().as_str())
}

#[async_trait]
impl Authorizer for RoleAuthorizer {
    async fn authorize(
        &self,
        caller: &Caller,
        operation: Operation,
        scope: &Scope,
    ) -> DomainResult<Grant> {
        let plane = operation.plane();
        let principal = match (&caller.actor, plane) {
            (Actor::Anonymous | Actor::Identity(_), Plane::Token) => {
                return Ok(Grant::Rule("token service"));
            }
            (Actor::System(job), Plane::Token) => {
                return Err(DomainError::Forbidden(format!(
                    "The server's job '{job}' may not {}.",
                    operation.name()
                )));
            }
            (Actor::System(_), _) => return Ok(Grant::Rule("the server's own work")),
            (Actor::Anonymous, _) => {
                return Err(DomainError::Forbidden(
                    "The request carries no valid token.".into(),
                ));
            }
            (Actor::Identity(p), _) => p,
        };
        if plane == Plane::Administration {
            return administrator_only(principal);
        }
        let Some((vault, key)) = scope.target() else {
            return Err(DomainError::Internal(format!(
                "{} names no vault or pool",
                operation.name()
            )));
        };
        let access = self.access.get(vault).await?;
        if plane == Plane::Data && !access.rbac {
            return by_policy(principal, vault, &access, operation);
        }
        let action = match (plane, access.kind) {
            (Plane::Roles, VaultKind::Vault) => return administrator_only(principal),
            (Plane::Roles, VaultKind::ManagedHsm) => {
                operation.role_action().map(|a| a.hsm_data_action())
            }
            _ => operation.key_action().map(|a| a.data_action(access.kind)),
        };
        let action = action.ok_or_else(|| {
            DomainError::Internal(format!("{} has no data action", operation.name()))
        })?;
        self.check(principal, vault, &access, action, key, scope)
    }
}

#[cfg(test)]
mod tests {
    use strongroom_core::audit::WriteEvent;
    use strongroom_core::ports::StoredVault;
    use strongroom_core::rbac::{RoleAssignment, RoleScope};
    use strongroom_core::vault::{RetentionDays, Sku, Vault};

    use super::*;

    fn principal(oid: &str, admin: bool) -> Caller {
        Caller::identity(
            Arc::new(Principal {
                object_id: oid.into(),
                client_id: format!("app-{oid}"),
                name: oid.into(),
                admin,
                audience: "https://vault.strongroom.localhost".into(),
                audience_preapproved: false,
                credential: None,
            }),
            None,
            "req".into(),
        )
    }

    async fn store_with(dir: &std::path::Path) -> Arc<dyn KeyStore> {
        let url = format!("sqlite://{}", dir.join("db.sqlite").display());
        let store: Arc<dyn KeyStore> =
            Arc::new(strongroom_store::SqlStore::connect(&url).await.unwrap());
        for (name, kind) in [
            ("vault-one", VaultKind::Vault),
            ("pool-one", VaultKind::ManagedHsm),
            ("legacy-one", VaultKind::Vault),
        ] {
            store
                .insert_vault(
                    &StoredVault {
                        vault: Vault {
                            name: name.parse().unwrap(),
                            kind,
                            sku: Sku::Premium,
                            retention: RetentionDays::DEFAULT,
                            purge_protection: false,
                            rbac_authorization: kind == VaultKind::ManagedHsm
                                || name != "legacy-one",
                            created: 0,
                        },
                        sealed_kek: vec![0; 60],
                    },
                    &WriteEvent::unrecorded(),
                )
                .await
                .unwrap();
        }
        store
    }

    fn assignment(
        vault: &str,
        name: &str,
        scope: RoleScope,
        role: &str,
        oid: &str,
    ) -> RoleAssignment {
        let kind = if vault.starts_with("pool") {
            VaultKind::ManagedHsm
        } else {
            VaultKind::Vault
        };
        RoleAssignment {
            vault: vault.parse().unwrap(),
            name: name.into(),
            scope,
            role_definition: builtin_role(kind, role).unwrap().id,
            principal_id: oid.into(),
            created: 0,
        }
    }

    #[tokio::test]
    async fn only_assignments_and_administrators_allow() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(dir.path()).await;
        let cache = Arc::new(AccessCache::new(Arc::clone(&store)));
        let rbac = RoleAuthorizer::new(Arc::clone(&cache)).unwrap();
        let vault: VaultName = "vault-one".parse().unwrap();
        let pool: VaultName = "pool-one".parse().unwrap();
        let k: KeyName = "k".parse().unwrap();
        let on_key = |v: &VaultName| Scope::Key(v.clone(), k.clone());
        let user = principal("user", false);
        let admin = principal("admin", true);
        let allowed = async |c: &Caller, op, scope: &Scope| rbac.authorize(c, op, scope).await;

        let refused = allowed(&user, Operation::KeyGet, &on_key(&vault))
            .await
            .unwrap_err();
        assert!(matches!(&refused, DomainError::ForbiddenByRbac(m)
            if m.contains("oid=user") && m.contains("Microsoft.KeyVault/vaults/keys/read")));
        assert!(
            allowed(&admin, Operation::KeySign, &on_key(&vault))
                .await
                .is_ok()
        );
        assert!(matches!(
            allowed(&admin, Operation::KeySign, &on_key(&pool)).await,
            Err(DomainError::ForbiddenByRbac(_))
        ));
        assert!(
            allowed(
                &admin,
                Operation::RoleAssignmentWrite,
                &Scope::Vault(pool.clone())
            )
            .await
            .is_ok()
        );
        assert!(
            allowed(
                &user,
                Operation::RoleAssignmentWrite,
                &Scope::Vault(vault.clone())
            )
            .await
            .is_err()
        );

        store
            .insert_role_assignment(
                &assignment(
                    "vault-one",
                    "00000000-0000-0000-0000-000000000001",
                    RoleScope::Key(k.clone()),
                    "Key Vault Crypto User",
                    "user",
                ),
                &WriteEvent::unrecorded(),
            )
            .await
            .unwrap();
        assert!(
            allowed(&user, Operation::KeySign, &on_key(&vault))
                .await
                .is_err(),
            "a cached decision holds until the vault's access is forgotten"
        );
        cache.forget(Some(&vault));
        assert_eq!(
            allowed(&user, Operation::KeySign, &on_key(&vault))
                .await
                .unwrap(),
            Grant::Assignment("00000000-0000-0000-0000-000000000001".into())
        );
        assert!(
            allowed(&user, Operation::KeyCreate, &on_key(&vault))
                .await
                .is_err()
        );
        let other = Scope::Key(vault.clone(), "other".parse().unwrap());
        assert!(allowed(&user, Operation::KeySign, &other).await.is_err());
        assert!(
            allowed(&user, Operation::KeyList, &Scope::Keys(vault.clone()))
                .await
                .is_err()
        );

        let nobody = Caller::anonymous(None, "r".into());
        let job = Caller::system("scheduler", "run".into());
        assert!(
            allowed(&nobody, Operation::KeyGet, &on_key(&vault))
                .await
                .is_err()
        );
        assert!(
            allowed(&nobody, Operation::TokenIssue, &Scope::Deployment)
                .await
                .is_ok()
        );
        assert!(
            allowed(&user, Operation::VaultCreate, &Scope::Vault(vault.clone()))
                .await
                .is_err()
        );
        assert!(
            allowed(&admin, Operation::VaultCreate, &Scope::Vault(vault.clone()))
                .await
                .is_ok()
        );
        assert!(
            allowed(&job, Operation::KeyPurge, &on_key(&vault))
                .await
                .is_ok()
        );
        assert!(
            allowed(&job, Operation::TokenIssue, &Scope::Deployment)
                .await
                .is_err()
        );
        // A vault without RBAC authorization answers by its access policies only.
        let legacy: VaultName = "legacy-one".parse().unwrap();
        store
            .put_access_policy(
                &AccessPolicy {
                    vault: legacy.clone(),
                    object_id: "user".into(),
                    keys: vec![strongroom_core::access_policy::KeyPermission::Get],
                    updated: 0,
                },
                &WriteEvent::unrecorded(),
            )
            .await
            .unwrap();
        store
            .insert_role_assignment(
                &assignment(
                    "legacy-one",
                    "00000000-0000-0000-0000-000000000002",
                    RoleScope::Global,
                    "Key Vault Administrator",
                    "user",
                ),
                &WriteEvent::unrecorded(),
            )
            .await
            .unwrap();
        assert_eq!(
            allowed(&user, Operation::KeyGet, &on_key(&legacy))
                .await
                .unwrap(),
            Grant::Rule("access policy")
        );
        assert!(matches!(
            allowed(&user, Operation::KeySign, &on_key(&legacy)).await,
            Err(DomainError::ForbiddenByPolicy(m)) if m.contains("keys sign permission")
        ));
        assert!(matches!(
            allowed(&admin, Operation::KeyGet, &on_key(&legacy)).await,
            Err(DomainError::ForbiddenByPolicy(_))
        ));
        let missing = Scope::Keys("no-such-vault".parse().unwrap());
        assert!(matches!(
            allowed(&admin, Operation::KeyList, &missing).await,
            Err(DomainError::VaultNotFound { .. })
        ));
    }
}
