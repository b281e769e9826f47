//! The built-in roles of vaults and pools, with Azure's names, GUIDs and data actions exactly,
//! irregular forms included (`keys/create` and `keys/delete` without `/action` on a managed
//! HSM).

use super::{Permission, RoleDefinition, RoleType, prefix};
use crate::vault::VaultKind;

struct Builtin {
    id: &'static str,
    name: &'static str,
    description: &'static str,
    data_actions: &'static [&'static str],
}

/// Key Vault's data-plane built-in roles (actions without the `Microsoft.KeyVault/vaults/`
/// prefix; `*` alone stands for the whole prefix).
const VAULT_ROLES: &[Builtin] = &[
    Builtin {
        id: "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        name: "Key Vault Administrator",
        description: "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets.",
        data_actions: &["*"],
    },
    Builtin {
        id: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
        name: "Key Vault Crypto Officer",
        description: "Perform any action on the keys of a key vault, except manage permissions.",
        data_actions: &["keys/*", "keyrotationpolicies/*"],
    },
    Builtin {
        id: "12338af0-0e69-4776-bea7-57ae8d297424",
        name: "Key Vault Crypto User",
        description: "Perform cryptographic operations using keys.",
        data_actions: &[
            "keys/read",
            "keys/update/action",
            "keys/backup/action",
            "keys/encrypt/action",
            "keys/decrypt/action",
            "keys/wrap/action",
            "keys/unwrap/action",
            "keys/sign/action",
            "keys/verify/action",
        ],
    },
    Builtin {
        id: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
        name: "Key Vault Crypto Service Encryption User",
        description: "Read metadata of keys and perform wrap/unwrap operations.",
        data_actions: &["keys/read", "keys/wrap/action", "keys/unwrap/action"],
    },
    Builtin {
        id: "08bbd89e-9f13-488c-ac41-acfcb10c90ab",
        name: "Key Vault Crypto Service Release User",
        description: "Release keys.",
        data_actions: &["keys/release/action"],
    },
    Builtin {
        id: "21090545-7ca7-4776-b22c-e363652d74d2",
        name: "Key Vault Reader",
        description: "Read metadata of key vaults and its certificates, keys, and secrets.",
        data_actions: &["*/read", "secrets/readMetadata/action"],
    },
    Builtin {
        id: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        name: "Key Vault Secrets Officer",
        description: "Perform any action on the secrets of a key vault, except manage permissions.",
        data_actions: &["secrets/*"],
    },
    Builtin {
        id: "4633458b-17de-408a-b874-0445c86b69e6",
        name: "Key Vault Secrets User",
        description: "Read secret contents.",
        data_actions: &["secrets/getSecret/action", "secrets/readMetadata/action"],
    },
    Builtin {
        id: "a4417e6f-fecd-4de8-b567-7b0420556985",
        name: "Key Vault Certificates Officer",
        description: "Perform any action on the certificates of a key vault, except manage permissions.",
        data_actions: &[
            "certificatecas/*",
            "certificates/*",
            "certificatecontacts/write",
        ],
    },
];

/// Managed HSM's local built-in roles (actions without the `Microsoft.KeyVault/managedHsm/`
/// prefix), as the service returns them.
const HSM_ROLES: &[Builtin] = &[
    Builtin {
        id: "a290e904-7015-4bba-90c8-60543313cdb4",
        name: "Managed HSM Administrator",
        description: "",
        data_actions: &[
            "roleAssignments/delete/action",
            "roleAssignments/read/action",
            "roleAssignments/write/action",
            "roleDefinitions/read/action",
            "roleDefinitions/write/action",
            "roleDefinitions/delete/action",
            "securitydomain/download/action",
            "securitydomain/download/read",
            "securitydomain/upload/action",
            "securitydomain/upload/read",
            "securitydomain/transferkey/read",
            "backup/start/action",
            "restore/start/action",
            "backup/status/action",
            "restore/status/action",
        ],
    },
    Builtin {
        id: "515eb02d-2335-4d2d-92f2-b1cbdf9c3778",
        name: "Managed HSM Crypto Officer",
        description: "",
        data_actions: &[
            "roleAssignments/delete/action",
            "roleAssignments/read/action",
            "roleAssignments/write/action",
            "roleDefinitions/read/action",
            "roleDefinitions/write/action",
            "roleDefinitions/delete/action",
            "keys/deletedKeys/read/action",
            "keys/deletedKeys/delete",
            "keys/deletedKeys/recover/action",
            "keys/export/action",
        ],
    },
    Builtin {
        id: "21dbd100-6940-42c2-9190-5d6cb909625b",
        name: "Managed HSM Crypto User",
        description: "",
        data_actions: &[
            "roleDefinitions/read/action",
            "roleAssignments/read/action",
            "keys/read/action",
            "keys/write/action",
            "keys/delete",
            "keys/create",
            "keys/import/action",
            "keys/release/action",
            "keys/backup/action",
            "keys/restore/action",
            "keys/encrypt/action",
            "keys/decrypt/action",
            "keys/wrap/action",
            "keys/unwrap/action",
            "keys/sign/action",
            "keys/verify/action",
            "keys/rotate/action",
            "rng/action",
        ],
    },
    Builtin {
        id: "4bd23610-cdcf-4971-bdee-bdc562cc28e4",
        name: "Managed HSM Policy Administrator",
        description: "",
        data_actions: &[
            "roleDefinitions/read/action",
            "roleDefinitions/write/action",
            "roleDefinitions/delete/action",
            "roleAssignments/read/action",
            "roleAssignments/write/action",
            "roleAssignments/delete/action",
        ],
    },
    Builtin {
        id: "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3",
        name: "Managed HSM Crypto Auditor",
        description: "",
        data_actions: &[
            "roleAssignments/read/action",
            "roleDefinitions/read/action",
            "keys/read/action",
            "keys/deletedKeys/read/action",
        ],
    },
    Builtin {
        id: "33413926-3206-4cdd-b39a-83574fe37a17",
        name: "Managed HSM Crypto Service Encryption User",
        description: "",
        data_actions: &["keys/read/action", "keys/wrap/action", "keys/unwrap/action"],
    },
    Builtin {
        id: "21dbd100-6940-42c2-9190-5d6cb909625c",
        name: "Managed HSM Crypto Service Release User",
        description: "",
        data_actions: &["keys/release/action"],
    },
    Builtin {
        id: "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8",
        name: "Managed HSM Backup",
        description: "",
        data_actions: &[
            "backup/start/action",
            "backup/status/action",
            "keys/backup/action",
        ],
    },
    Builtin {
        id: "6efe6056-5259-49d2-8b3d-d3d73544b20b",
        name: "Managed HSM Restore",
        description: "",
        data_actions: &[
            "restore/start/action",
            "restore/status/action",
            "keys/restore/action",
        ],
    },
];

fn expand(kind: VaultKind, b: &Builtin) -> RoleDefinition {
    let prefix = prefix(kind);
    RoleDefinition {
        id: b.id.to_owned(),
        role_name: b.name.to_owned(),
        description: b.description.to_owned(),
        role_type: RoleType::BuiltIn,
        kind,
        permissions: vec![Permission {
            data_actions: b
                .data_actions
                .iter()
                .map(|a| format!("{prefix}{a}"))
                .collect(),
            ..Permission::default()
        }],
    }
}

fn table(kind: VaultKind) -> &'static [Builtin] {
    match kind {
        VaultKind::Vault => VAULT_ROLES,
        VaultKind::ManagedHsm => HSM_ROLES,
    }
}

/// The built-in roles of a kind of container.
pub fn builtin_roles(kind: VaultKind) -> Vec<RoleDefinition> {
    table(kind).iter().map(|b| expand(kind, b)).collect()
}

/// A built-in role by GUID or by name (any case), as `az ... --role` accepts either.
pub fn builtin_role(kind: VaultKind, id_or_name: &str) -> Option<RoleDefinition> {
    table(kind)
        .iter()
        .find(|b| b.id.eq_ignore_ascii_case(id_or_name) || b.name.eq_ignore_ascii_case(id_or_name))
        .map(|b| expand(kind, b))
}

/// The role of a vault's or pool's administrators: "Key Vault Administrator" or "Managed HSM
/// Administrator".
pub fn administrator_role(kind: VaultKind) -> &'static str {
    match kind {
        VaultKind::Vault => "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        VaultKind::ManagedHsm => "a290e904-7015-4bba-90c8-60543313cdb4",
    }
}
