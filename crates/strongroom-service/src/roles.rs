//! Role definitions and role assignments of vaults and pools: the built-in roles of each kind,
//! and the assignments an administrator makes, stored per vault or pool.

use std::sync::Arc;

use strongroom_core::DomainError;
use strongroom_core::clock::Clock;
use strongroom_core::error::DomainResult;
use strongroom_core::ports::KeyStore;
use strongroom_core::rbac::{
    RoleAssignment, RoleDefinition, RoleScope, RoleType, builtin_role, builtin_roles, is_guid,
    role_definition_guid,
};

/// Custom role definitions per vault or pool, as Managed HSM limits them.
const CUSTOM_ROLE_LIMIT: usize = 50;

use crate::access::AccessCache;
use crate::door::{Caller, Door, Operation, Scope};
use crate::vaults::OpenVault;

/// A role assignment asked for.
#[derive(Debug, Clone)]
pub struct NewAssignment {
    /// Its GUID.
    pub name: String,
    /// Where it applies.
    pub scope: RoleScope,
    /// The role definition's id (a GUID, or a full `.../roleDefinitions/<guid>` id), or a
    /// built-in role's name.
    pub role: String,
    /// The principal's object id.
    pub principal_id: String,
}

/// Roles and their assignments, and the access policies of vaults without RBAC authorization.
pub struct RoleService {
    pub(crate) store: Arc<dyn KeyStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) door: Arc<Door>,
    pub(crate) access: Arc<AccessCache>,
}

impl RoleService {
    /// A service over these ports; changes to assignments drop what `access` holds of the
    /// vault.
    pub fn new(
        store: Arc<dyn KeyStore>,
        clock: Arc<dyn Clock>,
        door: Arc<Door>,
        access: Arc<AccessCache>,
    ) -> Self {
        Self {
            store,
            clock,
            door,
            access,
        }
    }

    /// The role definitions of a vault or pool: the built-in roles of its kind and its custom
    /// roles.
    pub async fn definitions(
        &self,
        caller: &Caller,
        vault: &OpenVault,
    ) -> DomainResult<Vec<RoleDefinition>> {
        let scope = Scope::Vault(vault.vault.name.clone());
        self.door
            .pass(caller, Operation::RoleDefinitionRead, scope, async {
                let mut all = builtin_roles(vault.vault.kind);
                all.extend(self.store.role_definitions(&vault.vault.name).await?);
                Ok(all)
            })
            .await
    }

    /// One role definition, by GUID.
    pub async fn definition(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &str,
    ) -> DomainResult<RoleDefinition> {
        let scope = Scope::Vault(vault.vault.name.clone());
        self.door
            .pass(caller, Operation::RoleDefinitionRead, scope, async {
                self.find_role(vault, name).await
            })
            .await
    }

    /// Creates or replaces a custom role definition (at scope `/` only, as Managed HSM
    /// allows); returns it.
    pub async fn put_definition(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        scope: &RoleScope,
        definition: RoleDefinition,
    ) -> DomainResult<RoleDefinition> {
        let door_scope = Scope::Vault(vault.vault.name.clone());
        let audit = self
            .door
            .write_event(caller, Operation::RoleDefinitionWrite, &door_scope);
        self.door
            .pass_write(caller, Operation::RoleDefinitionWrite, door_scope, &audit, async {
                if *scope != RoleScope::Global {
                    return Err(DomainError::bad(
                        "Role definitions are created at scope '/' only.",
                    ));
                }
                let definition = RoleDefinition {
                    id: definition.id.to_ascii_lowercase(),
                    kind: vault.vault.kind,
                    role_type: RoleType::Custom,
                    ..definition
                };
                definition.validate_custom()?;
                if builtin_role(vault.vault.kind, &definition.role_name).is_some() {
                    return Err(DomainError::bad(format!(
                        "'{}' is the name of a built-in role.",
                        definition.role_name
                    )));
                }
                let existing = self.store.role_definitions(&vault.vault.name).await?;
                if existing.iter().any(|d| {
                    d.id != definition.id && d.role_name.eq_ignore_ascii_case(&definition.role_name)
                }) {
                    return Err(DomainError::bad(format!(
                        "A custom role named '{}' exists already.",
                        definition.role_name
                    )));
                }
                let replaces = existing.iter().any(|d| d.id == definition.id);
                if !replaces && existing.len() >= CUSTOM_ROLE_LIMIT {
                    return Err(DomainError::bad(format!(
                        "A vault or pool holds at most {CUSTOM_ROLE_LIMIT} custom role definitions."
                    )));
                }
                self.store
                    .put_role_definition(&vault.vault.name, &definition, &audit)
                    .await?;
                self.access.forget(Some(&vault.vault.name));
                Ok(definition)
            })
            .await
    }

    /// Deletes a custom role definition that no assignment uses; returns it.
    pub async fn delete_definition(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        name: &str,
    ) -> DomainResult<RoleDefinition> {
        let door_scope = Scope::Vault(vault.vault.name.clone());
        let audit = self
            .door
            .write_event(caller, Operation::RoleDefinitionDelete, &door_scope);
        self.door
            .pass_write(caller, Operation::RoleDefinitionDelete, door_scope, &audit, async {
                let found = self.find_role(vault, name).await?;
                if found.role_type == RoleType::BuiltIn {
                    return Err(DomainError::bad(format!(
                        "The built-in role '{}' cannot be deleted.",
                        found.role_name
                    )));
                }
                let assignments = self.store.role_assignments(&vault.vault.name).await?;
                if let Some(used) = assignments.iter().find(|a| a.role_definition == found.id) {
                    return Err(DomainError::bad(format!(
                        "The role '{}' is assigned (assignment '{}'): remove its assignments first.",
                        found.role_name, used.name
                    )));
                }
                self.store
                    .delete_role_definition(&vault.vault.name, &found.id, &audit)
                    .await?;
                self.access.forget(Some(&vault.vault.name));
                Ok(found)
            })
            .await
    }

    /// Assigns a role.
    pub async fn assign(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        new: NewAssignment,
    ) -> DomainResult<RoleAssignment> {
        let scope = Scope::Vault(vault.vault.name.clone());
        let audit = self
            .door
            .write_event(caller, Operation::RoleAssignmentWrite, &scope);
        self.door
            .pass_write(
                caller,
                Operation::RoleAssignmentWrite,
                scope,
                &audit,
                async {
                    if !is_guid(&new.name) {
                        return Err(DomainError::bad(format!(
                            "The role assignment name '{}' is not a valid GUID.",
                            new.name
                        )));
                    }
                    if new.principal_id.trim().is_empty() {
                        return Err(DomainError::bad("The role assignment needs a principalId."));
                    }
                    let role = self.find_role(vault, &new.role).await?;
                    let assignment = RoleAssignment {
                        vault: vault.vault.name.clone(),
                        name: new.name.to_ascii_lowercase(),
                        scope: new.scope,
                        role_definition: role.id,
                        principal_id: new.principal_id,
                        created: self.clock.now(),
                    };
                    self.store
                        .insert_role_assignment(&assignment, &audit)
                        .await?;
                    self.access.forget(Some(&assignment.vault));
                    Ok(assignment)
                },
            )
            .await
    }

    /// One role assignment; with `scope`, only if it was made there (as the REST API, which
    /// names the scope in the path, answers).
    pub async fn assignment(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        scope: Option<&RoleScope>,
        name: &str,
    ) -> DomainResult<RoleAssignment> {
        let door_scope = Scope::Vault(vault.vault.name.clone());
        self.door
            .pass(
                caller,
                Operation::RoleAssignmentRead,
                door_scope,
                self.find_at(vault, scope, name),
            )
            .await
    }

    /// The role assignments at `scope` (keys' own assignments only at their key's scope),
    /// optionally of one principal only.
    pub async fn assignments(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        scope: &RoleScope,
        principal: Option<&str>,
    ) -> DomainResult<Vec<RoleAssignment>> {
        let door_scope = Scope::Vault(vault.vault.name.clone());
        self.door
            .pass(caller, Operation::RoleAssignmentRead, door_scope, async {
                let all = self.store.role_assignments(&vault.vault.name).await?;
                Ok(all
                    .into_iter()
                    .filter(|a| match scope {
                        RoleScope::Global | RoleScope::Keys => {
                            !matches!(a.scope, RoleScope::Key(_))
                        }
                        RoleScope::Key(_) => {
                            a.scope == *scope || !matches!(a.scope, RoleScope::Key(_))
                        }
                    })
                    .filter(|a| principal.is_none_or(|p| a.principal_id.eq_ignore_ascii_case(p)))
                    .collect())
            })
            .await
    }

    /// Removes a role assignment (with `scope`, only if it was made there); returns it.
    pub async fn unassign(
        &self,
        caller: &Caller,
        vault: &OpenVault,
        scope: Option<&RoleScope>,
        name: &str,
    ) -> DomainResult<RoleAssignment> {
        let door_scope = Scope::Vault(vault.vault.name.clone());
        let audit = self
            .door
            .write_event(caller, Operation::RoleAssignmentDelete, &door_scope);
        self.door
            .pass_write(
                caller,
                Operation::RoleAssignmentDelete,
                door_scope,
                &audit,
                async {
                    let found = self.find_at(vault, scope, name).await?;
                    let removed = self
                        .store
                        .delete_role_assignment(&vault.vault.name, &found.name, &audit)
                        .await?;
                    self.access.forget(Some(&vault.vault.name));
                    removed.ok_or_else(|| assignment_not_found(name))
                },
            )
            .await
    }
}

impl RoleService {
    /// The assignment `name` of `vault`, if it was made at `scope` (any scope: `None`).
    async fn find_at(
        &self,
        vault: &OpenVault,
        scope: Option<&RoleScope>,
        name: &str,
    ) -> DomainResult<RoleAssignment> {
        self.store
            .role_assignment(&vault.vault.name, &name.to_ascii_lowercase())
            .await?
            .filter(|a| scope.is_none_or(|s| &a.scope == s))
            .ok_or_else(|| assignment_not_found(name))
    }
}

fn assignment_not_found(name: &str) -> DomainError {
    DomainError::RoleNotFound(format!(
        "The role assignment '{name}' does not exist at this scope."
    ))
}

impl RoleService {
    /// A role of the vault by GUID, full id or name: built-in or custom.
    async fn find_role(&self, vault: &OpenVault, id_or_name: &str) -> DomainResult<RoleDefinition> {
        let kind = vault.vault.kind;
        let key = role_definition_guid(id_or_name).unwrap_or_else(|_| id_or_name.to_owned());
        if let Some(role) = builtin_role(kind, &key) {
            return Ok(role);
        }
        let custom = self.store.role_definitions(&vault.vault.name).await?;
        custom
            .into_iter()
            .find(|d| {
                d.id.eq_ignore_ascii_case(&key) || d.role_name.eq_ignore_ascii_case(id_or_name)
            })
            .ok_or_else(|| {
                DomainError::RoleNotFound(format!(
                    "The role definition '{id_or_name}' does not exist."
                ))
            })
    }
}
