//! Vaults and managed HSM pools: their kinds, SKUs and soft-delete settings, and the rules each
//! kind applies to key types.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::clock::UnixTime;
use crate::key::{KeyKind, KeySpec, KeyType, RsaExponent};
use crate::names::VaultName;

/// What a container is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VaultKind {
    /// A Key Vault (`{name}.vault.{suffix}`).
    Vault,
    /// A managed HSM pool (`{name}.managedhsm.{suffix}`).
    ManagedHsm,
}

impl VaultKind {
    /// Stable text form used in storage and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vault => "vault",
            Self::ManagedHsm => "managedhsm",
        }
    }
}

impl FromStr for VaultKind {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "vault" => Ok(Self::Vault),
            "managedhsm" => Ok(Self::ManagedHsm),
            _ => Err(DomainError::bad(format!("unknown vault kind '{s}'"))),
        }
    }
}

/// A vault's pricing tier; Premium allows HSM-protected key types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sku {
    /// Software-protected keys only.
    Standard,
    /// Software and HSM-protected keys.
    Premium,
}

impl Sku {
    /// Text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Premium => "premium",
        }
    }
}

impl FromStr for Sku {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "standard" => Ok(Self::Standard),
            "premium" => Ok(Self::Premium),
            _ => Err(DomainError::bad(format!(
                "The SKU '{}' is not valid: use standard or premium.",
                s.chars().take(32).collect::<String>()
            ))),
        }
    }
}

/// Soft-delete retention in days: 7-90, fixed at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionDays(u16);

impl RetentionDays {
    /// Azure's default.
    pub const DEFAULT: Self = Self(90);

    /// Validates a retention period.
    pub fn new(days: u32) -> Result<Self, DomainError> {
        if (7..=90).contains(&days) {
            Ok(Self(u16::try_from(days).unwrap_or(90)))
        } else {
            Err(DomainError::bad(
                "The soft delete retention period must be between 7 and 90 days.",
            ))
        }
    }

    /// The number of days.
    pub fn days(self) -> u16 {
        self.0
    }

    /// The retention in seconds.
    pub fn seconds(self) -> i64 {
        i64::from(self.0) * 86_400
    }
}

/// A vault or managed HSM pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    /// The DNS label.
    pub name: VaultName,
    /// Vault or pool.
    pub kind: VaultKind,
    /// Premium or standard; pools are always HSM-backed and report `Premium`.
    pub sku: Sku,
    /// Soft-delete retention.
    pub retention: RetentionDays,
    /// Whether purge is refused until retention ends.
    pub purge_protection: bool,
    /// Whether the data plane is authorized by role assignments (always, on pools) rather than
    /// by access policies.
    pub rbac_authorization: bool,
    /// Creation time.
    pub created: UnixTime,
}

impl Vault {
    /// The `recoveryLevel` string reported on every key of this vault.
    pub fn recovery_level(&self) -> &'static str {
        let customized = self.retention.days() < 90;
        match (customized, self.purge_protection) {
            (false, false) => "Recoverable+Purgeable",
            (false, true) => "Recoverable",
            (true, false) => "CustomizedRecoverable+Purgeable",
            (true, true) => "CustomizedRecoverable",
        }
    }

    /// The key type a key created, imported or restored here gets, with Azure's error if it
    /// cannot live here. A managed HSM pool keeps every key in its HSM, so it takes `RSA`, `EC`
    /// and `oct` as `RSA-HSM`, `EC-HSM` and `oct-HSM`, as Managed HSM does; a vault keeps the
    /// type asked for.
    pub fn admit_key_type(&self, requested: KeyType) -> Result<KeyType, DomainError> {
        let key_type = match self.kind {
            VaultKind::ManagedHsm => KeyType {
                hsm: true,
                ..requested
            },
            VaultKind::Vault => requested,
        };
        self.check_key_type(key_type)?;
        Ok(key_type)
    }

    /// Whether keys of `spec` can be generated here: a vault generates RSA keys with the
    /// exponent 65537 only; a pool with any exponent [`RsaExponent`] admits.
    pub fn check_spec(&self, spec: KeySpec) -> Result<(), DomainError> {
        match (self.kind, spec) {
            (VaultKind::Vault, KeySpec::Rsa { exponent, .. }) if exponent != RsaExponent::F4 => {
                Err(DomainError::bad(format!(
                    "The public exponent {} is not supported. Key Vault supports only 65537.",
                    exponent.get()
                )))
            }
            _ => Ok(()),
        }
    }

    /// Whether a key of this type may live here, with Azure's error if not.
    pub fn check_key_type(&self, key_type: KeyType) -> Result<(), DomainError> {
        match self.kind {
            VaultKind::ManagedHsm if !key_type.hsm => Err(DomainError::bad(format!(
                "Key type {key_type} is not supported by Managed HSM. Use {}-HSM.",
                if key_type.kind == KeyKind::Oct {
                    "oct"
                } else {
                    key_type.as_str()
                }
            ))),
            VaultKind::Vault if key_type.kind == KeyKind::Oct => Err(DomainError::bad(
                "Key type oct and oct-HSM are only supported by Managed HSM.",
            )),
            VaultKind::Vault if key_type.hsm && self.sku == Sku::Standard => {
                Err(DomainError::bad(format!(
                    "Key type {key_type} is not supported by a standard SKU vault. HSM-protected keys require a premium SKU vault."
                )))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(kind: VaultKind, sku: Sku, days: u32, protect: bool) -> Vault {
        Vault {
            name: "test-vault".parse().unwrap(),
            kind,
            sku,
            retention: RetentionDays::new(days).unwrap(),
            purge_protection: protect,
            rbac_authorization: true,
            created: 0,
        }
    }

    #[test]
    fn recovery_levels() {
        assert_eq!(
            vault(VaultKind::Vault, Sku::Premium, 90, false).recovery_level(),
            "Recoverable+Purgeable"
        );
        assert_eq!(
            vault(VaultKind::Vault, Sku::Premium, 90, true).recovery_level(),
            "Recoverable"
        );
        assert_eq!(
            vault(VaultKind::ManagedHsm, Sku::Premium, 7, false).recovery_level(),
            "CustomizedRecoverable+Purgeable"
        );
        assert_eq!(
            vault(VaultKind::Vault, Sku::Standard, 30, true).recovery_level(),
            "CustomizedRecoverable"
        );
    }

    #[test]
    fn key_type_rules() {
        let t = |s: &str| s.parse::<KeyType>().unwrap();
        let standard = vault(VaultKind::Vault, Sku::Standard, 90, false);
        let premium = vault(VaultKind::Vault, Sku::Premium, 90, false);
        let hsm = vault(VaultKind::ManagedHsm, Sku::Premium, 90, false);
        assert!(standard.check_key_type(t("RSA")).is_ok());
        assert!(standard.check_key_type(t("RSA-HSM")).is_err());
        assert!(premium.check_key_type(t("EC-HSM")).is_ok());
        assert!(premium.check_key_type(t("oct-HSM")).is_err());
        assert!(hsm.check_key_type(t("oct-HSM")).is_ok());
        assert!(hsm.check_key_type(t("oct")).is_err());
        assert!(hsm.check_key_type(t("RSA")).is_err());
    }

    #[test]
    fn pools_admit_software_types_as_hsm_types() {
        let t = |s: &str| s.parse::<KeyType>().unwrap();
        let hsm = vault(VaultKind::ManagedHsm, Sku::Premium, 90, false);
        let premium = vault(VaultKind::Vault, Sku::Premium, 90, false);
        for (asked, got) in [("RSA", "RSA-HSM"), ("EC", "EC-HSM"), ("oct", "oct-HSM")] {
            assert_eq!(hsm.admit_key_type(t(asked)).unwrap(), t(got));
            assert_eq!(hsm.admit_key_type(t(got)).unwrap(), t(got));
        }
        assert_eq!(premium.admit_key_type(t("RSA")).unwrap(), t("RSA"));
        assert_eq!(premium.admit_key_type(t("EC-HSM")).unwrap(), t("EC-HSM"));
        assert!(premium.admit_key_type(t("oct")).is_err());
    }

    #[test]
    fn only_pools_take_other_exponents() {
        let e17 = RsaExponent::try_from(17).unwrap();
        let spec = |exponent| KeySpec::Rsa {
            bits: 2048,
            exponent,
        };
        let hsm = vault(VaultKind::ManagedHsm, Sku::Premium, 90, false);
        let premium = vault(VaultKind::Vault, Sku::Premium, 90, false);
        assert!(hsm.check_spec(spec(e17)).is_ok());
        assert!(premium.check_spec(spec(e17)).is_err());
        assert!(premium.check_spec(spec(RsaExponent::F4)).is_ok());
        for bad in [0, 1, 2, 4, 65536, 1 << 32] {
            assert!(RsaExponent::try_from(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn retention_bounds() {
        assert!(RetentionDays::new(6).is_err());
        assert!(RetentionDays::new(91).is_err());
        assert_eq!(RetentionDays::new(7).unwrap().seconds(), 7 * 86_400);
    }
}
