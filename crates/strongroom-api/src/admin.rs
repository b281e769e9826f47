//! Strongroom's management API (vaults, managed HSM pools, identities), served under
//! `/strongroom/v1` and used by the `strongroom` CLI.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Request to create a vault or pool.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VaultCreate {
    /// `standard` or `premium` (vaults only; default premium).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Soft-delete retention, 7-90 days (default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// Purge protection (default off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge_protection: Option<bool>,
    /// Role assignments authorize the data plane (default); `false` for access policies
    /// (vaults only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_rbac_authorization: Option<bool>,
}

/// A vault or pool.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VaultInfo {
    /// Name.
    pub name: String,
    /// `vault` or `managedhsm`.
    pub kind: String,
    /// `standard` or `premium`.
    pub sku: String,
    /// Soft-delete retention.
    pub retention_days: u16,
    /// Purge protection.
    pub purge_protection: bool,
    /// Role assignments (true) or access policies (false) authorize the data plane.
    pub enable_rbac_authorization: bool,
    /// Creation time.
    pub created: i64,
    /// The base URL clients use.
    pub url: String,
}

/// A list of vaults or pools.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VaultList {
    /// Items.
    pub value: Vec<VaultInfo>,
}

/// Request to create an identity.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdentityCreate {
    /// Administrators may manage vaults and identities.
    #[serde(default)]
    pub admin: bool,
}

/// An identity, without its secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdentityInfo {
    /// Name.
    pub name: String,
    /// Client (application) id.
    pub client_id: String,
    /// Object id.
    pub object_id: String,
    /// Administrator.
    pub admin: bool,
    /// Creation time.
    pub created: i64,
}

/// A newly created identity with its secret, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdentityCreated {
    /// The identity.
    #[serde(flatten)]
    pub identity: IdentityInfo,
    /// The secret: the client secret and the managed-identity header value.
    pub client_secret: String,
    /// Tenant id to use.
    pub tenant_id: String,
    /// Environment for a workload using this identity.
    pub env: BTreeMap<String, String>,
}

/// A list of identities.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdentityList {
    /// Items.
    pub value: Vec<IdentityInfo>,
}

/// Facts about the server a client needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerInfo {
    /// DNS suffix of vault and pool host names.
    pub dns_suffix: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Version of Strongroom.
    pub version: String,
    /// This node's id (the scheduler lease holder name).
    pub node_id: String,
}
