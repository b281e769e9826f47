//! The domain's one error type. The server maps each variant to an HTTP status and an Azure
//! error code in exactly one place (`strongroom-server::error`).

use thiserror::Error;

impl Refusal {
    /// The inner error code Key Vault reports.
    pub fn code(self) -> &'static str {
        match self {
            Self::Disabled => "KeyDisabled",
            Self::Expired => "KeyExpired",
            Self::NotYetValid => "KeyNotYetValid",
            Self::OperationNotPermitted => "KeyOperationForbidden",
        }
    }
}

/// Why an operation on a key version was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `attributes.enabled` is false.
    Disabled,
    /// `attributes.exp` has passed.
    Expired,
    /// `attributes.nbf` has not arrived.
    NotYetValid,
    /// The operation is missing from `key_ops`.
    OperationNotPermitted,
}

/// Everything that can go wrong in the domain, with what the caller needs to know.
#[derive(Debug, Error)]
pub enum DomainError {
    /// A request parameter is malformed or not allowed.
    #[error("{0}")]
    BadParameter(String),
    /// The key (or that version of it) does not exist.
    #[error("A key with (name/id) {name} was not found in this key vault.")]
    KeyNotFound {
        /// The key name, with `/version` when a version was asked for.
        name: String,
    },
    /// No deleted key of that name.
    #[error("Deleted Key not found: {name}")]
    DeletedKeyNotFound {
        /// The key name.
        name: String,
    },
    /// The key is soft-deleted, so its name cannot be reused until it is recovered or purged.
    #[error(
        "Key {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged."
    )]
    KeyDeletedButRecoverable {
        /// The key name.
        name: String,
    },
    /// A key of that name already exists (restore refuses to overwrite).
    #[error("A key with name {name} already exists in this key vault.")]
    KeyAlreadyExists {
        /// The key name.
        name: String,
    },
    /// The vault or pool does not exist.
    #[error("The vault or managed HSM pool '{name}' does not exist.")]
    VaultNotFound {
        /// The vault name.
        name: String,
    },
    /// A vault or pool of that name already exists.
    #[error("A vault or managed HSM pool named '{name}' already exists.")]
    VaultAlreadyExists {
        /// The vault name.
        name: String,
    },
    /// Purge is refused while purge protection is on.
    #[error(
        "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed"
    )]
    PurgeProtected,
    /// The key version's attributes forbid the operation.
    #[error("{}", refusal_message(*.refusal, .operation))]
    OperationRefused {
        /// Which rule refused it.
        refusal: Refusal,
        /// The operation name as Key Vault spells it (`sign`, `wrapKey`, ...).
        operation: String,
    },
    /// The caller is not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// No role assignment allows the caller this data action here.
    #[error("{0}")]
    ForbiddenByRbac(String),
    /// No access policy gives the caller this permission on the vault.
    #[error("{0}")]
    ForbiddenByPolicy(String),
    /// No role assignment or role definition of that name at that scope.
    #[error("{0}")]
    RoleNotFound(String),
    /// No identity, credential or trusted issuer of that name.
    #[error("{0}")]
    NotFound(String),
    /// A role assignment of that name exists already.
    #[error("The role assignment already exists.")]
    RoleAssignmentExists,
    /// A cryptographic operation failed on valid-looking input (bad ciphertext, bad tag, ...).
    #[error("{0}")]
    CryptoFailed(String),
    /// The server is at capacity; try again shortly.
    #[error("The server is busy. Retry the request after a short delay.")]
    Overloaded,
    /// Storage failed.
    #[error("storage failure: {0}")]
    Storage(String),
    /// An invariant was broken; the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

fn refusal_message(refusal: Refusal, operation: &str) -> String {
    match refusal {
        Refusal::Disabled => format!("Operation {operation} is not allowed on a disabled key."),
        Refusal::Expired => format!("Operation {operation} is not allowed on an expired key."),
        Refusal::NotYetValid => {
            format!("Operation {operation} is not allowed on a key that is not yet valid.")
        }
        Refusal::OperationNotPermitted => {
            format!("Operation {operation} is not permitted on this key.")
        }
    }
}

/// Shorthand for domain results.
pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    /// A `BadParameter` with the given message.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::BadParameter(message.into())
    }
}

impl DomainError {
    /// The HTTP status the error is answered with (the server's one mapping and the audit
    /// log's `httpStatusCode` both come from here).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::BadParameter(_) | Self::CryptoFailed(_) => 400,
            Self::Forbidden(_)
            | Self::ForbiddenByRbac(_)
            | Self::ForbiddenByPolicy(_)
            | Self::OperationRefused { .. }
            | Self::PurgeProtected => 403,
            Self::KeyNotFound { .. }
            | Self::DeletedKeyNotFound { .. }
            | Self::VaultNotFound { .. }
            | Self::RoleNotFound(_)
            | Self::NotFound(_) => 404,
            Self::KeyAlreadyExists { .. }
            | Self::VaultAlreadyExists { .. }
            | Self::KeyDeletedButRecoverable { .. }
            | Self::RoleAssignmentExists => 409,
            Self::Overloaded => 429,
            Self::Storage(_) | Self::Internal(_) => 500,
        }
    }
}
