//! The catalogue of operations the door passes: their names in the audit log, the plane
//! they belong to, and the Key Vault and Managed HSM actions or access-policy permissions that
//! allow them.

use strongroom_core::access_policy::KeyPermission;
use strongroom_core::rbac::{KeyAction, RoleAction};

/// An operation, named as Key Vault's audit log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Create a key or a new version.
    KeyCreate,
    /// Import a key.
    KeyImport,
    /// Read a key version.
    KeyGet,
    /// List keys.
    KeyList,
    /// List a key's versions.
    KeyListVersions,
    /// Change a version's attributes.
    KeyUpdate,
    /// Soft-delete a key.
    KeyDelete,
    /// Read a deleted key.
    KeyGetDeleted,
    /// List deleted keys.
    KeyListDeleted,
    /// Recover a deleted key.
    KeyRecover,
    /// Purge a deleted key.
    KeyPurge,
    /// Back a key up.
    KeyBackup,
    /// Restore a key from a backup.
    KeyRestore,
    /// Create a new version now.
    KeyRotate,
    /// Read a rotation policy.
    KeyRotationPolicyGet,
    /// Set a rotation policy.
    KeyRotationPolicySet,
    /// Encrypt.
    KeyEncrypt,
    /// Decrypt.
    KeyDecrypt,
    /// Wrap a key.
    KeyWrap,
    /// Unwrap a key.
    KeyUnwrap,
    /// Sign a digest.
    KeySign,
    /// Verify a signature.
    KeyVerify,
    /// Random bytes from a pool.
    GetRandomBytes,
    /// Create a vault or pool.
    VaultCreate,
    /// Read a vault or pool.
    VaultGet,
    /// List vaults or pools.
    VaultList,
    /// Delete a vault or pool.
    VaultDelete,
    /// Create an identity.
    IdentityCreate,
    /// List identities.
    IdentityList,
    /// Delete an identity.
    IdentityDelete,
    /// Read an identity and its credentials.
    IdentityGet,
    /// Add a credential to an identity.
    CredentialAdd,
    /// Remove a credential from an identity.
    CredentialRemove,
    /// List the trusted external issuers.
    IssuerList,
    /// Trust an external issuer (or change how it is trusted).
    IssuerSet,
    /// Stop trusting an external issuer.
    IssuerDelete,
    /// Issue an access token.
    TokenIssue,
    /// Read role definitions.
    RoleDefinitionRead,
    /// Create or update a custom role definition.
    RoleDefinitionWrite,
    /// Delete a custom role definition.
    RoleDefinitionDelete,
    /// Create a role assignment.
    RoleAssignmentWrite,
    /// Read role assignments.
    RoleAssignmentRead,
    /// Delete a role assignment.
    RoleAssignmentDelete,
    /// Read a vault's access policies.
    AccessPolicyList,
    /// Set a principal's access policy.
    AccessPolicySet,
    /// Remove a principal's access policy.
    AccessPolicyDelete,
    /// Read the audit log.
    AuditRead,
    /// Verify the audit log's chains.
    AuditVerify,
}

/// How an operation is governed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    /// Keys and their use, in a vault or pool: data actions.
    Data,
    /// Roles of a vault or pool: data actions on a pool, administration on a vault.
    Roles,
    /// Vaults, pools and identities of the deployment.
    Administration,
    /// The token service: callers prove who they are.
    Token,
}

impl Operation {
    /// The name in audit events.
    pub fn name(self) -> &'static str {
        use Operation as O;
        match self {
            O::KeyCreate => "KeyCreate",
            O::KeyImport => "KeyImport",
            O::KeyGet => "KeyGet",
            O::KeyList => "KeyList",
            O::KeyListVersions => "KeyListVersions",
            O::KeyUpdate => "KeyUpdate",
            O::KeyDelete => "KeyDelete",
            O::KeyGetDeleted => "KeyGetDeleted",
            O::KeyListDeleted => "KeyListDeleted",
            O::KeyRecover => "KeyRecover",
            O::KeyPurge => "KeyPurge",
            O::KeyBackup => "KeyBackup",
            O::KeyRestore => "KeyRestore",
            O::KeyRotate => "KeyRotate",
            O::KeyRotationPolicyGet => "KeyRotationPolicyGet",
            O::KeyRotationPolicySet => "KeyRotationPolicySet",
            O::KeyEncrypt => "KeyEncrypt",
            O::KeyDecrypt => "KeyDecrypt",
            O::KeyWrap => "KeyWrap",
            O::KeyUnwrap => "KeyUnwrap",
            O::KeySign => "KeySign",
            O::KeyVerify => "KeyVerify",
            O::GetRandomBytes => "GetRandomBytes",
            O::VaultCreate => "VaultCreate",
            O::VaultGet => "VaultGet",
            O::VaultList => "VaultList",
            O::VaultDelete => "VaultDelete",
            O::IdentityCreate => "IdentityCreate",
            O::IdentityList => "IdentityList",
            O::IdentityDelete => "IdentityDelete",
            O::IdentityGet => "IdentityGet",
            O::CredentialAdd => "IdentityCredentialAdd",
            O::CredentialRemove => "IdentityCredentialRemove",
            O::IssuerList => "TrustedIssuerList",
            O::IssuerSet => "TrustedIssuerSet",
            O::IssuerDelete => "TrustedIssuerDelete",
            O::TokenIssue => "TokenIssue",
            O::RoleDefinitionRead => "RoleDefinitionGet",
            O::RoleDefinitionWrite => "RoleDefinitionCreate",
            O::RoleDefinitionDelete => "RoleDefinitionDelete",
            O::RoleAssignmentWrite => "RoleAssignmentCreate",
            O::RoleAssignmentRead => "RoleAssignmentGet",
            O::RoleAssignmentDelete => "RoleAssignmentDelete",
            O::AccessPolicyList => "VaultAccessPolicyGet",
            O::AccessPolicySet => "VaultAccessPolicySet",
            O::AccessPolicyDelete => "VaultAccessPolicyDelete",
            O::AuditRead => "AuditEventList",
            O::AuditVerify => "AuditLogVerify",
        }
    }

    /// The key action RBAC checks for a data-plane operation (none for administration and the
    /// token service).
    pub fn key_action(self) -> Option<KeyAction> {
        use KeyAction as K;
        use Operation as O;
        Some(match self {
            O::KeyCreate => K::Create,
            O::KeyImport => K::Import,
            O::KeyGet | O::KeyList | O::KeyListVersions => K::Read,
            O::KeyUpdate => K::Update,
            O::KeyDelete => K::Delete,
            O::KeyGetDeleted | O::KeyListDeleted => K::ReadDeleted,
            O::KeyRecover => K::Recover,
            O::KeyPurge => K::Purge,
            O::KeyBackup => K::Backup,
            O::KeyRestore => K::Restore,
            O::KeyRotate => K::Rotate,
            O::KeyRotationPolicyGet => K::ReadRotationPolicy,
            O::KeyRotationPolicySet => K::WriteRotationPolicy,
            O::KeyEncrypt => K::Encrypt,
            O::KeyDecrypt => K::Decrypt,
            O::KeyWrap => K::Wrap,
            O::KeyUnwrap => K::Unwrap,
            O::KeySign => K::Sign,
            O::KeyVerify => K::Verify,
            O::GetRandomBytes => K::RandomBytes,
            O::VaultCreate
            | O::VaultGet
            | O::VaultList
            | O::VaultDelete
            | O::IdentityCreate
            | O::IdentityList
            | O::IdentityDelete
            | O::IdentityGet
            | O::CredentialAdd
            | O::CredentialRemove
            | O::IssuerList
            | O::IssuerSet
            | O::IssuerDelete
            | O::TokenIssue
            | O::RoleDefinitionRead
            | O::RoleDefinitionWrite
            | O::RoleDefinitionDelete
            | O::RoleAssignmentWrite
            | O::RoleAssignmentRead
            | O::RoleAssignmentDelete
            | O::AccessPolicyList
            | O::AccessPolicySet
            | O::AccessPolicyDelete
            | O::AuditRead
            | O::AuditVerify => return None,
        })
    }

    /// The access-policy key permission a data-plane operation needs in a vault without RBAC
    /// authorization. Reading and setting a rotation policy need `getrotationpolicy` and
    /// `setrotationpolicy`, the permissions Key Vault added for them.
    pub fn key_permission(self) -> Option<KeyPermission> {
        use KeyPermission as P;
        use Operation as O;
        Some(match self {
            O::KeyCreate => P::Create,
            O::KeyImport => P::Import,
            O::KeyGet | O::KeyGetDeleted => P::Get,
            O::KeyList | O::KeyListVersions | O::KeyListDeleted => P::List,
            O::KeyUpdate => P::Update,
            O::KeyDelete => P::Delete,
            O::KeyRecover => P::Recover,
            O::KeyPurge => P::Purge,
            O::KeyBackup => P::Backup,
            O::KeyRestore => P::Restore,
            O::KeyRotate => P::Rotate,
            O::KeyRotationPolicyGet => P::GetRotationPolicy,
            O::KeyRotationPolicySet => P::SetRotationPolicy,
            O::KeyEncrypt => P::Encrypt,
            O::KeyDecrypt => P::Decrypt,
            O::KeyWrap => P::WrapKey,
            O::KeyUnwrap => P::UnwrapKey,
            O::KeySign => P::Sign,
            O::KeyVerify => P::Verify,
            _ => return None,
        })
    }

    /// The role action of a roles operation.
    pub fn role_action(self) -> Option<RoleAction> {
        use Operation as O;
        Some(match self {
            O::RoleDefinitionRead => RoleAction::ReadDefinitions,
            O::RoleDefinitionWrite => RoleAction::WriteDefinitions,
            O::RoleDefinitionDelete => RoleAction::DeleteDefinitions,
            O::RoleAssignmentWrite => RoleAction::WriteAssignments,
            O::RoleAssignmentRead => RoleAction::ReadAssignments,
            O::RoleAssignmentDelete => RoleAction::DeleteAssignments,
            _ => return None,
        })
    }

    /// How the operation is authorized.
    pub fn plane(self) -> Plane {
        use Operation as O;
        match self {
            O::VaultCreate
            | O::VaultGet
            | O::VaultList
            | O::VaultDelete
            | O::IdentityCreate
            | O::IdentityList
            | O::IdentityDelete
            | O::IdentityGet
            | O::CredentialAdd
            | O::CredentialRemove
            | O::IssuerList
            | O::IssuerSet
            | O::IssuerDelete
            | O::AccessPolicyList
            | O::AccessPolicySet
            | O::AccessPolicyDelete
            | O::AuditRead
            | O::AuditVerify => Plane::Administration,
            O::RoleDefinitionRead
            | O::RoleDefinitionWrite
            | O::RoleDefinitionDelete
            | O::RoleAssignmentWrite
            | O::RoleAssignmentRead
            | O::RoleAssignmentDelete => Plane::Roles,
            O::TokenIssue => Plane::Token,
            _ => Plane::Data,
        }
    }

    /// The HTTP status of a success: 201 where the API answers Created, 204 for a purge, 200
    /// otherwise (Key Vault answers 200 for a new key or version).
    pub fn success_status(self) -> u16 {
        use Operation as O;
        match self {
            O::VaultCreate
            | O::IdentityCreate
            | O::CredentialAdd
            | O::RoleDefinitionWrite
            | O::RoleAssignmentWrite => 201,
            O::KeyPurge => 204,
            _ => 200,
        }
    }

    /// Whether the operation changes what is stored (and so meets governance).
    pub fn is_write(self) -> bool {
        use Operation as O;
        matches!(
            self,
            O::KeyCreate
                | O::KeyImport
                | O::KeyUpdate
                | O::KeyDelete
                | O::KeyRecover
                | O::KeyPurge
                | O::KeyRestore
                | O::KeyRotate
                | O::KeyRotationPolicySet
                | O::VaultCreate
                | O::VaultDelete
                | O::IdentityCreate
                | O::IdentityDelete
                | O::CredentialAdd
                | O::CredentialRemove
                | O::IssuerSet
                | O::IssuerDelete
                | O::RoleDefinitionWrite
                | O::RoleDefinitionDelete
                | O::RoleAssignmentWrite
                | O::RoleAssignmentDelete
                | O::AccessPolicySet
                | O::AccessPolicyDelete
        )
    }
}
