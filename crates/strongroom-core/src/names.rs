//! Names that reach the server in URLs and host names, parsed once at the edge.

use std::fmt;
use std::str::FromStr;

use crate::DomainError;

/// A key name: 1-127 characters of `[0-9a-zA-Z-]` (Key Vault's rule).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

/// A key version: 32 lowercase hexadecimal characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyVersion(String);

/// A vault or managed HSM pool name: 3-24 characters, letters, digits and single hyphens,
/// starting with a letter and ending with a letter or digit. Stored lowercase, since it is
/// also a DNS label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VaultName(String);

/// The name of an identity known to the token service: 1-64 of `[0-9a-zA-Z._-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdentityName(String);

macro_rules! string_newtype {
    ($ty:ident) => {
        impl $ty {
            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_newtype!(KeyName);
string_newtype!(KeyVersion);
string_newtype!(VaultName);
string_newtype!(IdentityName);

impl FromStr for KeyName {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = (1..=127).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::BadParameter(format!(
                "The key name '{}' is invalid: it must be 1-127 characters of 0-9, a-z, A-Z and '-'.",
                truncate(s)
            )))
        }
    }
}

impl KeyVersion {
    /// Builds a version from 16 random bytes.
    pub fn from_random(bytes: [u8; 16]) -> Self {
        use fmt::Write;
        let mut text = String::with_capacity(32);
        for b in bytes {
            let _ = write!(text, "{b:02x}");
        }
        Self(text)
    }
}

impl FromStr for KeyVersion {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if valid {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(DomainError::BadParameter(format!(
                "The key version '{}' is invalid: it must be 32 hexadecimal characters.",
                truncate(s)
            )))
        }
    }
}

impl FromStr for VaultName {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        let bytes = lower.as_bytes();
        let valid = (3..=24).contains(&bytes.len())
            && bytes.first().is_some_and(u8::is_ascii_lowercase)
            && bytes.last().is_some_and(|b| b.is_ascii_alphanumeric())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && !lower.contains("--");
        if valid {
            Ok(Self(lower))
        } else {
            Err(DomainError::BadParameter(format!(
                "The name '{}' is invalid: it must be 3-24 characters of letters, digits and single hyphens, start with a letter and end with a letter or digit.",
                truncate(s)
            )))
        }
    }
}

impl FromStr for IdentityName {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::BadParameter(format!(
                "The identity name '{}' is invalid: it must be 1-64 characters of letters, digits, '.', '_' and '-'.",
                truncate(s)
            )))
        }
    }
}

/// Shortens untrusted text before it is echoed in an error message.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_follow_key_vault_rules() {
        assert!("my-Key-01".parse::<KeyName>().is_ok());
        assert!("".parse::<KeyName>().is_err());
        assert!("a_b".parse::<KeyName>().is_err());
        assert!("a".repeat(128).parse::<KeyName>().is_err());
        assert!("a".repeat(127).parse::<KeyName>().is_ok());
    }

    #[test]
    fn versions_are_32_hex_and_normalised() {
        let v: KeyVersion = "78DEEBED173B48E48F55ABF87ED4CF71".parse().unwrap();
        assert_eq!(v.as_str(), "78deebed173b48e48f55abf87ed4cf71");
        assert!("xyz".parse::<KeyVersion>().is_err());
        assert_eq!(
            KeyVersion::from_random([0xab; 16]).as_str(),
            "ab".repeat(16)
        );
    }

    #[test]
    fn vault_names_are_dns_labels() {
        assert_eq!("MyVault".parse::<VaultName>().unwrap().as_str(), "myvault");
        for bad in ["ab", "1abc", "abc-", "a--b", "a.b.c", &"a".repeat(25)] {
            assert!(bad.parse::<VaultName>().is_err(), "{bad}");
        }
    }
}
