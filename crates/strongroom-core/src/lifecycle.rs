//! Key lifecycle, in one place: whether a version may be used now, and the soft-delete state
//! machine of a key (active -> deleted -> recovered or purged).

use crate::clock::UnixTime;
use crate::error::{DomainError, Refusal};
use crate::key::{KeyAttributes, KeyOp};
use crate::vault::Vault;

/// The usability of one key version at a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionState {
    /// Usable.
    Active,
    /// `enabled` is false.
    Disabled,
    /// Before `nbf`.
    NotYetValid,
    /// After `exp`.
    Expired,
}

impl VersionState {
    /// The state of a version with these attributes at `now`.
    pub fn of(attributes: &KeyAttributes, now: UnixTime) -> Self {
        if !attributes.enabled {
            Self::Disabled
        } else if attributes.nbf.is_some_and(|nbf| now < nbf) {
            Self::NotYetValid
        } else if attributes.exp.is_some_and(|exp| now >= exp) {
            Self::Expired
        } else {
            Self::Active
        }
    }
}

/// Refuses `op` unless the version is enabled and lists `op` in its `key_ops`. Outside the
/// `nbf`/`exp` window a version still decrypts, unwraps and verifies (so data protected while
/// it was valid stays recoverable) but no longer encrypts, wraps or signs, as Key Vault
/// documents for date-time controlled operations.
pub fn check_operation(
    attributes: &KeyAttributes,
    key_ops: &[KeyOp],
    op: KeyOp,
    now: UnixTime,
) -> Result<(), DomainError> {
    let protects = matches!(op, KeyOp::Encrypt | KeyOp::WrapKey | KeyOp::Sign);
    let refusal = match VersionState::of(attributes, now) {
        VersionState::Disabled => Some(Refusal::Disabled),
        VersionState::NotYetValid if protects => Some(Refusal::NotYetValid),
        VersionState::Expired if protects => Some(Refusal::Expired),
        _ if !key_ops.contains(&op) => Some(Refusal::OperationNotPermitted),
        _ => None,
    };
    match refusal {
        Some(refusal) => Err(DomainError::OperationRefused {
            refusal,
            operation: op.as_str().to_owned(),
        }),
        None => Ok(()),
    }
}

/// Checks that `nbf` is not after `exp`.
pub fn check_validity_window(
    nbf: Option<UnixTime>,
    exp: Option<UnixTime>,
) -> Result<(), DomainError> {
    match (nbf, exp) {
        (Some(nbf), Some(exp)) if nbf > exp => Err(DomainError::bad(
            "The key's not-before time (nbf) must not be later than its expiry time (exp).",
        )),
        _ => Ok(()),
    }
}

/// When a key was soft-deleted and when it will be purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deletion {
    /// `deletedDate`.
    pub deleted_date: UnixTime,
    /// `scheduledPurgeDate`.
    pub scheduled_purge_date: UnixTime,
}

impl Deletion {
    /// A deletion made now in `vault`, purged when its retention ends.
    pub fn starting(vault: &Vault, now: UnixTime) -> Self {
        Self {
            deleted_date: now,
            scheduled_purge_date: now.saturating_add(vault.retention.seconds()),
        }
    }

    /// Whether the scheduled purge is due.
    pub fn purge_due(&self, now: UnixTime) -> bool {
        now >= self.scheduled_purge_date
    }

    /// Whether a caller may purge now: always, unless purge protection holds until retention ends.
    pub fn check_purge(&self, vault: &Vault, now: UnixTime) -> Result<(), DomainError> {
        if vault.purge_protection && !self.purge_due(now) {
            Err(DomainError::PurgeProtected)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::{RetentionDays, Sku, VaultKind};

    fn attrs(enabled: bool, nbf: Option<i64>, exp: Option<i64>) -> KeyAttributes {
        KeyAttributes {
            enabled,
            nbf,
            exp,
            exportable: false,
            created: 0,
            updated: 0,
        }
    }

    #[test]
    fn states_in_priority_order() {
        assert_eq!(
            VersionState::of(&attrs(true, None, None), 5),
            VersionState::Active
        );
        assert_eq!(
            VersionState::of(&attrs(false, None, Some(1)), 5),
            VersionState::Disabled
        );
        assert_eq!(
            VersionState::of(&attrs(true, Some(10), None), 5),
            VersionState::NotYetValid
        );
        assert_eq!(
            VersionState::of(&attrs(true, None, Some(5)), 5),
            VersionState::Expired
        );
        assert_eq!(
            VersionState::of(&attrs(true, Some(5), Some(6)), 5),
            VersionState::Active
        );
    }

    #[test]
    fn operations_need_key_ops() {
        let a = attrs(true, None, None);
        assert!(check_operation(&a, &[KeyOp::Sign], KeyOp::Sign, 0).is_ok());
        let err = check_operation(&a, &[KeyOp::Verify], KeyOp::Sign, 0).unwrap_err();
        assert!(matches!(
            err,
            DomainError::OperationRefused {
                refusal: Refusal::OperationNotPermitted,
                ..
            }
        ));
        let err = check_operation(&attrs(false, None, None), &[KeyOp::Sign], KeyOp::Sign, 0);
        assert!(err.unwrap_err().to_string().contains("disabled"));
        let ops = [KeyOp::Verify, KeyOp::Encrypt, KeyOp::Decrypt];
        assert!(check_operation(&attrs(false, None, None), &ops, KeyOp::Verify, 5).is_err());
        assert!(check_operation(&attrs(true, None, Some(0)), &ops, KeyOp::Decrypt, 5).is_ok());
        assert!(check_operation(&attrs(true, None, Some(0)), &ops, KeyOp::Verify, 5).is_ok());
        assert!(check_operation(&attrs(true, None, Some(0)), &ops, KeyOp::Encrypt, 5).is_err());
        assert!(check_operation(&attrs(true, Some(9), None), &ops, KeyOp::Encrypt, 5).is_err());
    }

    #[test]
    fn purge_protection_holds_until_retention_ends() {
        let vault = Vault {
            name: "protected".parse().unwrap(),
            kind: VaultKind::Vault,
            sku: Sku::Premium,
            retention: RetentionDays::new(7).unwrap(),
            purge_protection: true,
            rbac_authorization: true,
            created: 0,
        };
        let deletion = Deletion::starting(&vault, 100);
        assert_eq!(deletion.scheduled_purge_date, 100 + 7 * 86_400);
        assert!(matches!(
            deletion.check_purge(&vault, 200),
            Err(DomainError::PurgeProtected)
        ));
        assert!(deletion.check_purge(&vault, 100 + 7 * 86_400).is_ok());
    }

    #[test]
    fn validity_window() {
        assert!(check_validity_window(Some(2), Some(1)).is_err());
        assert!(check_validity_window(Some(1), Some(2)).is_ok());
        assert!(check_validity_window(None, Some(2)).is_ok());
    }
}
