//! Identities known to Strongroom's token service: managed identities and applications.

use crate::clock::UnixTime;
use crate::names::IdentityName;

/// An identity that can obtain tokens. Its secret is never stored, only its SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Object id (a UUID), the token's `oid` and `sub`.
    pub object_id: String,
    /// Unique display name.
    pub name: IdentityName,
    /// Application (client) id, a UUID, the token's `appid`/`azp`.
    pub client_id: String,
    /// Lowercase hex SHA-256 of the secret.
    pub secret_hash: String,
    /// Administrators may manage vaults, pools and identities.
    pub admin: bool,
    /// Creation time.
    pub created: UnixTime,
}
