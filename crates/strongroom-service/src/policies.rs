//! Access policies of vaults created without RBAC authorization: one per object id, each a
//! list of key permissions, set and removed by the deployment's administrators. They belong to
//! the role service, which manages who may do what in each vault.

use strongroom_core::DomainError;
use strongroom_core::access_policy::{AccessPolicy, KeyPermission};
use strongroom_core::error::DomainResult;
use strongroom_core::vault::VaultKind;

use crate::door::{Caller, Operation, Scope};
use crate::roles::RoleService;
use crate::vaults::OpenVault;

impl RoleService {
    /// A vault's access policies.
    pub async fn policies(
        &self,
        caller: &Caller,
        vault: &OpenVault,
    ) -> DomainResult<Vec<AccessPolicy>> {
        let scope = Scope::Vault(vault.vault.name.clone());
        self.door
            .pass(caller, Operation::AccessPolicyList, scope, async {
                uses_policies(vault)?;
                self.store.access_policies(&vault.vault.name).await
            })
            .await
    }

    /// Sets the key permissions of `object_id` on the vault (as `az keyvault set-policy`, the
    /// given list replaces the previous one).
    pub async fn set_policy(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        object_id: &str,
        keys: Vec<KeyPermission>,
    ) -> DomainResult<AccessPolicy> {
        let scope = Scope::Vault(vault.vault.name.clone());
        let audit = self
            .door
            .write_event(caller, Operation::AccessPolicySet, &scope);
        self.door
            .pass_write(caller, Operation::AccessPolicySet, scope, &audit, async {
                uses_policies(vault)?;
                if object_id.trim().is_empty() {
                    return Err(DomainError::bad("The access policy needs an object id."));
                }
                let policy = AccessPolicy {
                    vault: vault.vault.name.clone(),
                    object_id: object_id.to_ascii_lowercase(),
                    keys,
                    updated: self.clock.now(),
                };
                self.store.put_access_policy(&policy, &audit).await?;
                self.access.forget(Some(&policy.vault));
                Ok(policy)
            })
            .await
    }

    /// Removes the access policy of `object_id`.
    pub async fn delete_policy(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        object_id: &str,
    ) -> DomainResult<()> {
        let scope = Scope::Vault(vault.vault.name.clone());
        let audit = self
            .door
            .write_event(caller, Operation::AccessPolicyDelete, &scope);
        self.door
            .pass_write(
                caller,
                Operation::AccessPolicyDelete,
                scope,
                &audit,
                async {
                    uses_policies(vault)?;
                    let removed = self
                        .store
                        .delete_access_policy(
                            &vault.vault.name,
                            &object_id.to_ascii_lowercase(),
                            &audit,
                        )
                        .await?;
                    self.access.forget(Some(&vault.vault.name));
                    if removed {
                        Ok(())
                    } else {
                        Err(DomainError::bad(format!(
                            "The vault '{}' has no access policy for the object id '{object_id}'.",
                            vault.vault.name
                        )))
                    }
                },
            )
            .await
    }
}

/// Access policies exist only on vaults created without RBAC authorization (as
/// `az keyvault set-policy` refuses on an RBAC vault).
fn uses_policies(vault: &OpenVault) -> DomainResult<()> {
    match (vault.vault.kind, vault.vault.rbac_authorization) {
        (VaultKind::Vault, false) => Ok(()),
        (VaultKind::ManagedHsm, _) => Err(DomainError::bad(
            "A managed HSM pool has no access policies: it uses its local RBAC.",
        )),
        (VaultKind::Vault, true) => Err(DomainError::bad(format!(
            "The vault '{}' uses RBAC authorization: access policies apply only to vaults created with enable_rbac_authorization false. Assign a role instead.",
            vault.vault.name
        ))),
    }
}
