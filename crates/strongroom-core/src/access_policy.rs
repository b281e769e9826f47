//! Key Vault's legacy permission model: a vault created without RBAC authorization holds access
//! policies, one per object id, each a list of key permissions. A principal may perform an
//! operation when its policy holds the operation's permission; policies apply to the whole
//! vault (no key-level scope). Managed HSM pools have no access policies.

use std::fmt;

use crate::DomainError;
use crate::names::VaultName;

/// A key permission of an access policy, as Azure names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyPermission {
    /// Read a key or a deleted key.
    Get,
    /// List keys, versions or deleted keys.
    List,
    /// Change a key's attributes.
    Update,
    /// Create a key or version.
    Create,
    /// Import a key.
    Import,
    /// Soft-delete a key.
    Delete,
    /// Recover a deleted key.
    Recover,
    /// Back a key up.
    Backup,
    /// Restore a backup.
    Restore,
    /// Decrypt.
    Decrypt,
    /// Encrypt.
    Encrypt,
    /// Unwrap a key.
    UnwrapKey,
    /// Wrap a key.
    WrapKey,
    /// Verify a signature.
    Verify,
    /// Sign a digest.
    Sign,
    /// Purge a deleted key.
    Purge,
    /// Release a key to an attested environment.
    Release,
    /// Create a new version now.
    Rotate,
    /// Read the rotation policy.
    GetRotationPolicy,
    /// Set the rotation policy.
    SetRotationPolicy,
}

impl KeyPermission {
    /// Every key permission, in Azure's order.
    pub const ALL: [Self; 20] = [
        Self::Get,
        Self::List,
        Self::Update,
        Self::Create,
        Self::Import,
        Self::Delete,
        Self::Recover,
        Self::Backup,
        Self::Restore,
        Self::Decrypt,
        Self::Encrypt,
        Self::UnwrapKey,
        Self::WrapKey,
        Self::Verify,
        Self::Sign,
        Self::Purge,
        Self::Release,
        Self::Rotate,
        Self::GetRotationPolicy,
        Self::SetRotationPolicy,
    ];

    /// The name as Azure writes it (`get`, `unwrapKey`, `getrotationpolicy`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Update => "update",
            Self::Create => "create",
            Self::Import => "import",
            Self::Delete => "delete",
            Self::Recover => "recover",
            Self::Backup => "backup",
            Self::Restore => "restore",
            Self::Decrypt => "decrypt",
            Self::Encrypt => "encrypt",
            Self::UnwrapKey => "unwrapKey",
            Self::WrapKey => "wrapKey",
            Self::Verify => "verify",
            Self::Sign => "sign",
            Self::Purge => "purge",
            Self::Release => "release",
            Self::Rotate => "rotate",
            Self::GetRotationPolicy => "getrotationpolicy",
            Self::SetRotationPolicy => "setrotationpolicy",
        }
    }

    /// Parses a list of permission names in any case; `all` stands for every permission. The
    /// result is sorted and without repeats.
    pub fn parse_list<S: AsRef<str>>(names: &[S]) -> Result<Vec<Self>, DomainError> {
        let mut out = Vec::new();
        for raw in names {
            let raw = raw.as_ref().trim();
            if raw.eq_ignore_ascii_case("all") {
                out.extend(Self::ALL);
                continue;
            }
            let found = Self::ALL
                .into_iter()
                .find(|p| p.name().eq_ignore_ascii_case(raw))
                .ok_or_else(|| {
                    DomainError::bad(format!(
                        "'{raw}' is not a key permission: use {} or all.",
                        Self::ALL.map(Self::name).join(", ")
                    ))
                })?;
            out.push(found);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

impl fmt::Display for KeyPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The access policy of one principal on one vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPolicy {
    /// The vault.
    pub vault: VaultName,
    /// The principal's object id.
    pub object_id: String,
    /// Its key permissions, sorted.
    pub keys: Vec<KeyPermission>,
    /// Unix seconds of the last change.
    pub updated: i64,
}

impl AccessPolicy {
    /// Whether the policy holds `permission`.
    pub fn allows(&self, permission: KeyPermission) -> bool {
        self.keys.binary_search(&permission).is_ok()
    }

    /// The permissions as stored: names joined by commas.
    pub fn keys_text(&self) -> String {
        self.keys
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_parse_in_any_case_and_all_expands() {
        let parsed = KeyPermission::parse_list(&["GET", "unwrapkey", "get", "Release"]).unwrap();
        assert_eq!(
            parsed,
            [
                KeyPermission::Get,
                KeyPermission::UnwrapKey,
                KeyPermission::Release
            ]
        );
        assert_eq!(KeyPermission::parse_list(&["all"]).unwrap().len(), 20);
        let err = KeyPermission::parse_list(&["steal"]).unwrap_err();
        assert!(err.to_string().contains("'steal' is not a key permission"));
        for p in KeyPermission::ALL {
            assert_eq!(KeyPermission::parse_list(&[p.name()]).unwrap(), [p]);
        }
    }

    #[test]
    fn a_policy_allows_exactly_its_permissions() {
        let policy = AccessPolicy {
            vault: "vault-one".parse().unwrap(),
            object_id: "oid".into(),
            keys: KeyPermission::parse_list(&["get", "release"]).unwrap(),
            updated: 0,
        };
        for p in KeyPermission::ALL {
            assert_eq!(
                policy.allows(p),
                matches!(p, KeyPermission::Get | KeyPermission::Release),
                "{p}"
            );
        }
        assert_eq!(policy.keys_text(), "get,release");
    }
}
