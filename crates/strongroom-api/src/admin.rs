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
    /// A user's password: the identity is then a user who signs in with it (no secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
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
    /// `app` or `user`.
    #[serde(default = "app_kind")]
    pub kind: String,
    /// Administrator.
    pub admin: bool,
    /// Creation time.
    pub created: i64,
}

fn app_kind() -> String {
    "app".into()
}

/// A credential of an identity, without any secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CredentialInfo {
    /// Credential id.
    pub id: String,
    /// `secret`, `certificate`, `federated` or `password`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A secret's first characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// A certificate's SHA-1 thumbprint (`x5t`, base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    /// A federated credential's issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// A federated credential's subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// A federated credential's audiences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    /// Creation time.
    pub created: i64,
    /// Expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
}

/// An identity with its credentials.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdentityDetails {
    /// The identity.
    #[serde(flatten)]
    pub identity: IdentityInfo,
    /// Its credentials.
    pub credentials: Vec<CredentialInfo>,
}

/// Request to add a credential: exactly one of `secret`, `certificate`, `federated`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialCreate {
    /// Generate a client secret.
    #[serde(default)]
    pub secret: bool,
    /// A certificate, PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// A federated credential's issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// A federated credential's subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// A federated credential's audiences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    /// A new password for a user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A secret's expiry (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
}

/// A credential just added, with the generated secret (shown once).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CredentialCreated {
    /// The credential.
    #[serde(flatten)]
    pub credential: CredentialInfo,
    /// The secret, for `secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// A trusted external issuer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct IssuerInfo {
    /// The issuer URL (`iss`).
    pub issuer: String,
    /// Its JWKS; absent: fetched by OpenID discovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// The claim naming the principal (default `sub`).
    #[serde(default = "sub_claim")]
    pub principal_claim: String,
    /// Audiences accepted when its tokens are used directly.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// When it was added.
    #[serde(default)]
    pub created: i64,
}

fn sub_claim() -> String {
    "sub".into()
}

/// The trusted issuers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IssuerList {
    /// Items.
    pub value: Vec<IssuerInfo>,
}

/// A newly created identity with its secret, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdentityCreated {
    /// The identity.
    #[serde(flatten)]
    pub identity: IdentityInfo,
    /// The secret: the client secret and the managed-identity header value (applications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
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
