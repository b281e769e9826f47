//! Role-based access control, as Key Vault and Managed HSM define it: role definitions grant
//! data actions (`Microsoft.KeyVault/vaults/keys/sign/action`,
//! `Microsoft.KeyVault/managedHsm/keys/create`, ...), possibly by wildcard, minus their
//! `notDataActions`; a principal may do what some role assigned to it at the scope (or above
//! it) grants. `notDataActions` exclude but do not deny: another role may still grant the
//! action.
//!
//! The built-in roles carry Azure's names, GUIDs and data actions exactly, irregular forms
//! included (`keys/create` and `keys/delete` without `/action` on a managed HSM).

mod builtin;

use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::names::{KeyName, VaultName};
use crate::vault::VaultKind;

pub use builtin::{administrator_role, builtin_role, builtin_roles};

/// Prefix of every vault data action.
pub const VAULT_PREFIX: &str = "Microsoft.KeyVault/vaults/";
/// Prefix of every managed HSM data action.
pub const HSM_PREFIX: &str = "Microsoft.KeyVault/managedHsm/";

/// The permissions of a role: what it grants and what it leaves out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    /// Control-plane actions.
    #[serde(default)]
    pub actions: Vec<String>,
    /// Control-plane actions left out.
    #[serde(default)]
    pub not_actions: Vec<String>,
    /// Data actions granted (`*` matches any run of characters).
    #[serde(default)]
    pub data_actions: Vec<String>,
    /// Data actions left out of `data_actions`.
    #[serde(default)]
    pub not_data_actions: Vec<String>,
}

impl Permission {
    /// Whether this permission grants `action`.
    pub fn grants(&self, action: &str) -> bool {
        self.data_actions.iter().any(|p| action_matches(p, action))
            && !self
                .not_data_actions
                .iter()
                .any(|p| action_matches(p, action))
    }
}

/// Built-in or custom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoleType {
    /// A role Azure defines (`BuiltInRole` on vaults, `AKVBuiltInRole` on pools).
    BuiltIn,
    /// A role defined by the deployment.
    Custom,
}

/// A role definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDefinition {
    /// Its GUID (the definition's `name`).
    pub id: String,
    /// Its name, e.g. "Key Vault Crypto Officer".
    pub role_name: String,
    /// What it is for.
    pub description: String,
    /// Built-in or custom.
    pub role_type: RoleType,
    /// Whether it is a vault role or a managed HSM role.
    pub kind: VaultKind,
    /// Its permissions.
    pub permissions: Vec<Permission>,
}

impl RoleDefinition {
    /// Whether the role grants `action`.
    pub fn grants(&self, action: &str) -> bool {
        self.permissions.iter().any(|p| p.grants(action))
    }

    /// Checks a custom role: a GUID not taken by a built-in role, a name, and data actions of
    /// its kind.
    pub fn validate_custom(&self) -> Result<(), DomainError> {
        if builtin_role(self.kind, &self.id).is_some() {
            return Err(DomainError::bad(
                "Cannot re-use the name/GUID matching that of a built-in role. Please use a unique role ID.",
            ));
        }
        if !is_guid(&self.id) {
            return Err(DomainError::bad(format!(
                "The role definition name '{}' is not a valid GUID.",
                self.id
            )));
        }
        if self.role_name.trim().is_empty() {
            return Err(DomainError::bad("The role definition needs a roleName."));
        }
        let prefix = prefix(self.kind);
        for action in self
            .permissions
            .iter()
            .flat_map(|p| p.data_actions.iter().chain(&p.not_data_actions))
        {
            if !action.starts_with(prefix) && action != "*" {
                return Err(DomainError::bad(format!(
                    "The data action '{action}' is not a data action of this resource (they start with '{prefix}')."
                )));
            }
        }
        Ok(())
    }
}

/// The data-action prefix of a kind of container.
pub fn prefix(kind: VaultKind) -> &'static str {
    match kind {
        VaultKind::Vault => VAULT_PREFIX,
        VaultKind::ManagedHsm => HSM_PREFIX,
    }
}

/// Whether `pattern` (with `*` matching any run of characters) matches `action`, ignoring
/// ASCII case as Azure does.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern = pattern.as_bytes();
    let action = action.as_bytes();
    // Greedy matching with backtracking to the last star: linear for patterns of one star,
    // and data-action patterns have at most two.
    let (mut p, mut a) = (0, 0);
    let (mut star, mut resume) = (None, 0);
    while let Some(&next) = action.get(a) {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some(p);
                resume = a;
                p += 1;
            }
            Some(c) if c.eq_ignore_ascii_case(&next) => {
                p += 1;
                a += 1;
            }
            _ => match star {
                Some(s) => {
                    p = s + 1;
                    resume += 1;
                    a = resume;
                }
                None => return false,
            },
        }
    }
    pattern.iter().skip(p).all(|&c| c == b'*')
}

/// Whether `s` is a GUID in its 8-4-4-4-12 hex form.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Where a role assignment applies inside a vault or pool: everywhere (`/`), all keys
/// (`/keys`, the same reach on a pool) or one key with all its versions (`/keys/{name}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RoleScope {
    /// `/`.
    Global,
    /// `/keys`.
    Keys,
    /// `/keys/{name}`.
    Key(KeyName),
}

impl RoleScope {
    /// Parses a scope as the REST API and the CLI write it; repeated and trailing slashes are
    /// tolerated (the SDKs send `/` as `//`).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let parts: Vec<&str> = raw.split('/').filter(|p| !p.is_empty()).collect();
        match parts.as_slice() {
            [] => Ok(Self::Global),
            [keys] if keys.eq_ignore_ascii_case("keys") => Ok(Self::Keys),
            [keys, name] if keys.eq_ignore_ascii_case("keys") => Ok(Self::Key(name.parse()?)),
            _ => Err(DomainError::bad(format!(
                "The scope '{raw}' is not valid: use '/', '/keys' or '/keys/<key name>'."
            ))),
        }
    }

    /// The scope as Azure writes it.
    pub fn as_string(&self) -> String {
        match self {
            Self::Global => "/".into(),
            Self::Keys => "/keys".into(),
            Self::Key(name) => format!("/keys/{name}"),
        }
    }

    /// Whether an assignment at this scope applies to an operation on `key` (none: on the
    /// vault or pool as a whole).
    pub fn covers(&self, key: Option<&KeyName>) -> bool {
        match self {
            Self::Global | Self::Keys => true,
            Self::Key(name) => key == Some(name),
        }
    }
}

/// A role given to a principal at a scope of one vault or pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    /// The vault or pool.
    pub vault: VaultName,
    /// Its GUID (the assignment's `name`).
    pub name: String,
    /// Where it applies.
    pub scope: RoleScope,
    /// The GUID of the role definition.
    pub role_definition: String,
    /// The principal's object id.
    pub principal_id: String,
    /// Unix seconds.
    pub created: i64,
}

/// The role-definition GUID at the end of a `roleDefinitionId` in any of the forms Azure
/// writes it (`Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/<guid>`,
/// `/providers/Microsoft.Authorization/roleDefinitions/<guid>`, the GUID alone).
pub fn role_definition_guid(id: &str) -> Result<String, DomainError> {
    let guid = id
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if is_guid(&guid) {
        Ok(guid)
    } else {
        Err(DomainError::bad(format!(
            "'{id}' does not name a role definition."
        )))
    }
}

/// Key operations as RBAC names them, one data action each per kind of container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAction {
    /// Read a key, its versions or list keys.
    Read,
    /// Create a key or version.
    Create,
    /// Import a key.
    Import,
    /// Change attributes.
    Update,
    /// Soft-delete.
    Delete,
    /// Read deleted keys.
    ReadDeleted,
    /// Recover a deleted key.
    Recover,
    /// Purge a deleted key.
    Purge,
    /// Back up.
    Backup,
    /// Restore.
    Restore,
    /// Rotate now.
    Rotate,
    /// Read the rotation policy.
    ReadRotationPolicy,
    /// Set the rotation policy.
    WriteRotationPolicy,
    /// Encrypt.
    Encrypt,
    /// Decrypt.
    Decrypt,
    /// Wrap.
    Wrap,
    /// Unwrap.
    Unwrap,
    /// Sign.
    Sign,
    /// Verify.
    Verify,
    /// Release to an attested environment.
    Release,
    /// Random bytes (managed HSM).
    RandomBytes,
}

impl KeyAction {
    /// The data action, in full, for a container of `kind`.
    pub fn data_action(self, kind: VaultKind) -> &'static str {
        use KeyAction as K;
        match kind {
            VaultKind::Vault => match self {
                K::Read => "Microsoft.KeyVault/vaults/keys/read",
                K::Create => "Microsoft.KeyVault/vaults/keys/create/action",
                K::Import => "Microsoft.KeyVault/vaults/keys/import/action",
                K::Update => "Microsoft.KeyVault/vaults/keys/update/action",
                K::Delete => "Microsoft.KeyVault/vaults/keys/delete",
                K::ReadDeleted => "Microsoft.KeyVault/vaults/keys/read",
                K::Recover => "Microsoft.KeyVault/vaults/keys/recover/action",
                K::Purge => "Microsoft.KeyVault/vaults/keys/purge/action",
                K::Backup => "Microsoft.KeyVault/vaults/keys/backup/action",
                K::Restore => "Microsoft.KeyVault/vaults/keys/restore/action",
                K::Rotate => "Microsoft.KeyVault/vaults/keys/rotate/action",
                K::ReadRotationPolicy => "Microsoft.KeyVault/vaults/keyrotationpolicies/read",
                K::WriteRotationPolicy => "Microsoft.KeyVault/vaults/keyrotationpolicies/write",
                K::Encrypt => "Microsoft.KeyVault/vaults/keys/encrypt/action",
                K::Decrypt => "Microsoft.KeyVault/vaults/keys/decrypt/action",
                K::Wrap => "Microsoft.KeyVault/vaults/keys/wrap/action",
                K::Unwrap => "Microsoft.KeyVault/vaults/keys/unwrap/action",
                K::Sign => "Microsoft.KeyVault/vaults/keys/sign/action",
                K::Verify => "Microsoft.KeyVault/vaults/keys/verify/action",
                K::Release => "Microsoft.KeyVault/vaults/keys/release/action",
                K::RandomBytes => "Microsoft.KeyVault/vaults/rng/action",
            },
            VaultKind::ManagedHsm => match self {
                K::Read | K::ReadRotationPolicy => "Microsoft.KeyVault/managedHsm/keys/read/action",
                K::Create => "Microsoft.KeyVault/managedHsm/keys/create",
                K::Import => "Microsoft.KeyVault/managedHsm/keys/import/action",
                K::Update | K::WriteRotationPolicy => {
                    "Microsoft.KeyVault/managedHsm/keys/write/action"
                }
                K::Delete => "Microsoft.KeyVault/managedHsm/keys/delete",
                K::ReadDeleted => "Microsoft.KeyVault/managedHsm/keys/deletedKeys/read/action",
                K::Recover => "Microsoft.KeyVault/managedHsm/keys/deletedKeys/recover/action",
                K::Purge => "Microsoft.KeyVault/managedHsm/keys/deletedKeys/delete",
                K::Backup => "Microsoft.KeyVault/managedHsm/keys/backup/action",
                K::Restore => "Microsoft.KeyVault/managedHsm/keys/restore/action",
                K::Rotate => "Microsoft.KeyVault/managedHsm/keys/rotate/action",
                K::Encrypt => "Microsoft.KeyVault/managedHsm/keys/encrypt/action",
                K::Decrypt => "Microsoft.KeyVault/managedHsm/keys/decrypt/action",
                K::Wrap => "Microsoft.KeyVault/managedHsm/keys/wrap/action",
                K::Unwrap => "Microsoft.KeyVault/managedHsm/keys/unwrap/action",
                K::Sign => "Microsoft.KeyVault/managedHsm/keys/sign/action",
                K::Verify => "Microsoft.KeyVault/managedHsm/keys/verify/action",
                K::Release => "Microsoft.KeyVault/managedHsm/keys/release/action",
                K::RandomBytes => "Microsoft.KeyVault/managedHsm/rng/action",
            },
        }
    }

    /// Every key action.
    pub const ALL: [KeyAction; 21] = [
        KeyAction::Read,
        KeyAction::Create,
        KeyAction::Import,
        KeyAction::Update,
        KeyAction::Delete,
        KeyAction::ReadDeleted,
        KeyAction::Recover,
        KeyAction::Purge,
        KeyAction::Backup,
        KeyAction::Restore,
        KeyAction::Rotate,
        KeyAction::ReadRotationPolicy,
        KeyAction::WriteRotationPolicy,
        KeyAction::Encrypt,
        KeyAction::Decrypt,
        KeyAction::Wrap,
        KeyAction::Unwrap,
        KeyAction::Sign,
        KeyAction::Verify,
        KeyAction::Release,
        KeyAction::RandomBytes,
    ];
}

/// Managing a pool's roles: on a managed HSM these are data actions of the pool itself (a
/// vault's roles are managed by the deployment's administrators instead, as Azure manages them
/// in its management plane).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoleAction {
    /// Read role definitions.
    ReadDefinitions,
    /// Create or update a custom role definition.
    WriteDefinitions,
    /// Delete a custom role definition.
    DeleteDefinitions,
    /// Read role assignments.
    ReadAssignments,
    /// Create a role assignment.
    WriteAssignments,
    /// Delete a role assignment.
    DeleteAssignments,
}

impl RoleAction {
    /// The managed HSM data action.
    pub fn hsm_data_action(self) -> &'static str {
        match self {
            Self::ReadDefinitions => "Microsoft.KeyVault/managedHsm/roleDefinitions/read/action",
            Self::WriteDefinitions => "Microsoft.KeyVault/managedHsm/roleDefinitions/write/action",
            Self::DeleteDefinitions => {
                "Microsoft.KeyVault/managedHsm/roleDefinitions/delete/action"
            }
            Self::ReadAssignments => "Microsoft.KeyVault/managedHsm/roleAssignments/read/action",
            Self::WriteAssignments => "Microsoft.KeyVault/managedHsm/roleAssignments/write/action",
            Self::DeleteAssignments => {
                "Microsoft.KeyVault/managedHsm/roleAssignments/delete/action"
            }
        }
    }
}

/// The role assignments of one vault or pool with their roles resolved: what RBAC reads to
/// decide.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    assignments: Vec<(RoleAssignment, RoleDefinition)>,
}

impl Grants {
    /// The assignments of a vault or pool of `kind`, whose custom roles are `custom`;
    /// assignments of roles that no longer exist grant nothing.
    pub fn new(
        kind: VaultKind,
        assignments: Vec<RoleAssignment>,
        custom: &[RoleDefinition],
    ) -> Self {
        let assignments = assignments
            .into_iter()
            .filter_map(|a| {
                let role = builtin_role(kind, &a.role_definition).or_else(|| {
                    custom
                        .iter()
                        .find(|d| d.id.eq_ignore_ascii_case(&a.role_definition))
                        .cloned()
                })?;
                Some((a, role))
            })
            .collect();
        Self { assignments }
    }

    /// The assignment that lets `principal` perform `action` on `key` (none: on the vault or
    /// pool as a whole), if any: one of a role granting the action at `/`, `/keys`, or that
    /// key.
    pub fn granting(
        &self,
        principal: &str,
        action: &str,
        key: Option<&KeyName>,
    ) -> Option<&RoleAssignment> {
        self.assignments
            .iter()
            .find(|(a, role)| {
                a.principal_id.eq_ignore_ascii_case(principal)
                    && a.scope.covers(key)
                    && role.grants(action)
            })
            .map(|(a, _)| a)
    }

    /// How many assignments there are.
    pub fn len(&self) -> usize {
        self.assignments.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.assignments.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn wildcards_match_as_azure_matches() {
        assert!(action_matches(
            "Microsoft.KeyVault/vaults/*",
            "Microsoft.KeyVault/vaults/keys/read"
        ));
        assert!(action_matches(
            "Microsoft.KeyVault/vaults/keys/*",
            "microsoft.keyvault/VAULTS/keys/sign/action"
        ));
        assert!(action_matches(
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/keys/read"
        ));
        assert!(action_matches(
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/keyrotationpolicies/read"
        ));
        assert!(!action_matches(
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/keys/sign/action"
        ));
        assert!(!action_matches(
            "Microsoft.KeyVault/vaults/keys/*",
            "Microsoft.KeyVault/vaults/keyrotationpolicies/read"
        ));
        assert!(!action_matches(
            "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/keys/read/x"
        ));
        assert!(action_matches("*", "anything"));
        assert!(!action_matches("", "x"));
    }

    /// The hand-written expectation: which vault roles may do which key action.
    fn vault_expectation(role: &str, action: KeyAction) -> bool {
        use KeyAction as K;
        match role {
            "Key Vault Administrator" => true,
            "Key Vault Crypto Officer" => action != K::RandomBytes,
            "Key Vault Crypto User" => matches!(
                action,
                K::Read
                    | K::ReadDeleted
                    | K::Update
                    | K::Backup
                    | K::Encrypt
                    | K::Decrypt
                    | K::Wrap
                    | K::Unwrap
                    | K::Sign
                    | K::Verify
            ),
            "Key Vault Crypto Service Encryption User" => {
                matches!(action, K::Read | K::ReadDeleted | K::Wrap | K::Unwrap)
            }
            "Key Vault Crypto Service Release User" => action == K::Release,
            "Key Vault Reader" => {
                matches!(action, K::Read | K::ReadDeleted | K::ReadRotationPolicy)
            }
            _ => false,
        }
    }

    fn hsm_expectation(role: &str, action: KeyAction) -> bool {
        use KeyAction as K;
        match role {
            "Managed HSM Crypto Officer" => {
                matches!(action, K::ReadDeleted | K::Recover | K::Purge)
            }
            "Managed HSM Crypto User" => !matches!(action, K::ReadDeleted | K::Recover | K::Purge),
            "Managed HSM Crypto Auditor" => {
                matches!(action, K::Read | K::ReadRotationPolicy | K::ReadDeleted)
            }
            "Managed HSM Crypto Service Encryption User" => {
                matches!(
                    action,
                    K::Read | K::ReadRotationPolicy | K::Wrap | K::Unwrap
                )
            }
            "Managed HSM Crypto Service Release User" => action == K::Release,
            "Managed HSM Backup" => action == K::Backup,
            "Managed HSM Restore" => action == K::Restore,
            _ => false,
        }
    }

    #[test]
    fn built_in_roles_grant_exactly_the_expected_key_actions() {
        for (kind, expect) in [
            (
                VaultKind::Vault,
                vault_expectation as fn(&str, KeyAction) -> bool,
            ),
            (VaultKind::ManagedHsm, hsm_expectation),
        ] {
            let roles = builtin_roles(kind);
            assert!(roles.len() >= 7);
            for role in &roles {
                for action in KeyAction::ALL {
                    assert_eq!(
                        role.grants(action.data_action(kind)),
                        expect(&role.role_name, action),
                        "{} / {action:?}",
                        role.role_name
                    );
                }
            }
        }
    }

    #[test]
    fn grants_reach_exactly_the_assigned_scope_and_principal() {
        let vault: VaultName = "vault-one".parse().unwrap();
        let k: KeyName = "k".parse().unwrap();
        let other: KeyName = "other".parse().unwrap();
        let scopes = [
            RoleScope::Global,
            RoleScope::Keys,
            RoleScope::Key(k.clone()),
        ];
        for (kind, expect) in [
            (
                VaultKind::Vault,
                vault_expectation as fn(&str, KeyAction) -> bool,
            ),
            (VaultKind::ManagedHsm, hsm_expectation),
        ] {
            for role in builtin_roles(kind) {
                for scope in &scopes {
                    let grants = Grants::new(
                        kind,
                        vec![RoleAssignment {
                            vault: vault.clone(),
                            name: "5ab2b1f4-0d6c-4a35-8d10-3f0ad4c2e111".into(),
                            scope: scope.clone(),
                            role_definition: role.id.clone(),
                            principal_id: "OID-1".into(),
                            created: 0,
                        }],
                        &[],
                    );
                    for action in KeyAction::ALL {
                        let data_action = action.data_action(kind);
                        for target in [Some(&k), Some(&other), None] {
                            let reaches = match scope {
                                RoleScope::Global | RoleScope::Keys => true,
                                RoleScope::Key(name) => target == Some(name),
                            };
                            let expected = reaches && expect(&role.role_name, action);
                            assert_eq!(
                                grants.granting("oid-1", data_action, target).is_some(),
                                expected,
                                "{} at {} / {action:?} on {target:?}",
                                role.role_name,
                                scope.as_string()
                            );
                            assert!(grants.granting("oid-2", data_action, target).is_none());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn administrators_manage_roles_and_only_pool_administrators_skip_keys() {
        let vault_admin = builtin_role(VaultKind::Vault, administrator_role(VaultKind::Vault));
        assert_eq!(
            vault_admin.map(|r| r.role_name),
            Some("Key Vault Administrator".to_owned())
        );
        let hsm_admin = builtin_role(
            VaultKind::ManagedHsm,
            administrator_role(VaultKind::ManagedHsm),
        )
        .unwrap();
        assert_eq!(hsm_admin.role_name, "Managed HSM Administrator");
        assert!(hsm_admin.grants(RoleAction::WriteAssignments.hsm_data_action()));
        assert!(!hsm_admin.grants(KeyAction::Sign.data_action(VaultKind::ManagedHsm)));
        let user = builtin_role(VaultKind::ManagedHsm, "Managed HSM Crypto User").unwrap();
        assert!(user.grants(RoleAction::ReadAssignments.hsm_data_action()));
        assert!(!user.grants(RoleAction::WriteAssignments.hsm_data_action()));
    }

    #[test]
    fn built_in_roles_are_found_by_guid_or_name_and_unique() {
        for kind in [VaultKind::Vault, VaultKind::ManagedHsm] {
            let roles = builtin_roles(kind);
            let ids: HashSet<_> = roles.iter().map(|r| r.id.clone()).collect();
            assert_eq!(ids.len(), roles.len());
            for role in &roles {
                assert!(is_guid(&role.id), "{}", role.id);
                assert_eq!(builtin_role(kind, &role.id).as_ref(), Some(role));
                assert_eq!(
                    builtin_role(kind, &role.role_name.to_uppercase()).as_ref(),
                    Some(role)
                );
            }
        }
        let officer = builtin_role(VaultKind::Vault, "Key Vault Crypto Officer").unwrap();
        assert_eq!(officer.id, "14b46e9e-c2b7-41b4-b07b-48a6ebf60603");
        assert_eq!(
            officer.permissions[0].data_actions,
            [
                "Microsoft.KeyVault/vaults/keys/*",
                "Microsoft.KeyVault/vaults/keyrotationpolicies/*"
            ]
        );
        let user = builtin_role(
            VaultKind::ManagedHsm,
            "21dbd100-6940-42c2-9190-5d6cb909625b",
        )
        .unwrap();
        assert!(
            user.permissions[0]
                .data_actions
                .contains(&"Microsoft.KeyVault/managedHsm/keys/create".to_owned())
        );
        assert!(builtin_role(VaultKind::Vault, "Managed HSM Crypto User").is_none());
    }

    #[test]
    fn not_data_actions_exclude_within_their_permission_only() {
        let all_but_purge = Permission {
            data_actions: vec!["Microsoft.KeyVault/managedHsm/keys/*".into()],
            not_data_actions: vec!["Microsoft.KeyVault/managedHsm/keys/deletedKeys/delete".into()],
            ..Permission::default()
        };
        let purge = KeyAction::Purge.data_action(VaultKind::ManagedHsm);
        let sign = KeyAction::Sign.data_action(VaultKind::ManagedHsm);
        assert!(all_but_purge.grants(sign));
        assert!(!all_but_purge.grants(purge));
        let mut role = RoleDefinition {
            id: "8a1d7c1e-0000-4000-8000-000000000001".into(),
            role_name: "No purge".into(),
            description: String::new(),
            role_type: RoleType::Custom,
            kind: VaultKind::ManagedHsm,
            permissions: vec![all_but_purge],
        };
        assert!(!role.grants(purge));
        role.permissions.push(Permission {
            data_actions: vec![purge.into()],
            ..Permission::default()
        });
        assert!(
            role.grants(purge),
            "excluded is not denied: another permission may grant it"
        );
        assert!(role.validate_custom().is_ok());
    }

    #[test]
    fn scopes_parse_as_the_sdks_send_them() {
        assert_eq!(RoleScope::parse("/").unwrap(), RoleScope::Global);
        assert_eq!(RoleScope::parse("//").unwrap(), RoleScope::Global);
        assert_eq!(RoleScope::parse("/keys").unwrap(), RoleScope::Keys);
        assert_eq!(RoleScope::parse("/Keys/").unwrap(), RoleScope::Keys);
        let k: KeyName = "k1".parse().unwrap();
        let one = RoleScope::parse("/keys/k1").unwrap();
        assert_eq!(one, RoleScope::Key(k.clone()));
        assert_eq!(one.as_string(), "/keys/k1");
        assert!(one.covers(Some(&k)));
        assert!(!one.covers(Some(&"k2".parse().unwrap())));
        assert!(!one.covers(None));
        assert!(RoleScope::Keys.covers(None) && RoleScope::Global.covers(Some(&k)));
        for bad in ["/secrets", "/keys/k1/v1", "/keys/bad_name"] {
            assert!(RoleScope::parse(bad).is_err(), "{bad}");
        }
        let guid = "21dbd100-6940-42c2-9190-5d6cb909625b";
        for id in [
            format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
            format!(
                "/providers/Microsoft.Authorization/roleDefinitions/{}",
                guid.to_uppercase()
            ),
            guid.to_owned(),
        ] {
            assert_eq!(role_definition_guid(&id).unwrap(), guid);
        }
        assert!(role_definition_guid("Managed HSM Crypto User").is_err());
    }

    #[test]
    fn custom_roles_cannot_take_a_built_in_guid() {
        let custom = |id: &str, action: &str| RoleDefinition {
            id: id.into(),
            role_name: "mine".into(),
            description: String::new(),
            role_type: RoleType::Custom,
            kind: VaultKind::ManagedHsm,
            permissions: vec![Permission {
                data_actions: vec![action.into()],
                ..Permission::default()
            }],
        };
        let reused = custom(
            "21dbd100-6940-42c2-9190-5d6cb909625b",
            "Microsoft.KeyVault/managedHsm/keys/read/action",
        );
        let err = reused.validate_custom().unwrap_err().to_string();
        assert!(
            err.contains("Cannot re-use the name/GUID matching that of a built-in role"),
            "{err}"
        );
        assert!(
            custom(
                "not-a-guid",
                "Microsoft.KeyVault/managedHsm/keys/read/action"
            )
            .validate_custom()
            .is_err()
        );
        assert!(
            custom(
                "8a1d7c1e-0000-4000-8000-000000000002",
                "Microsoft.KeyVault/vaults/keys/read"
            )
            .validate_custom()
            .is_err()
        );
    }
}
