//! Token-service responses in the shapes azure-identity, MSAL and the Azure CLI parse.

use serde::{Deserialize, Serialize};

/// Managed-identity token (App Service / IMDS shape). `expires_on` and `expires_in` are
/// numeric strings, which every client accepts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManagedIdentityToken {
    /// The bearer token.
    pub access_token: String,
    /// Expiry, Unix seconds as a string.
    pub expires_on: String,
    /// Lifetime in seconds, as a string.
    pub expires_in: String,
    /// The resource (audience) the token is for.
    pub resource: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// The identity's client id.
    pub client_id: String,
}

/// OAuth2 client-credentials token response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OAuthToken {
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// Same as `expires_in`.
    pub ext_expires_in: i64,
    /// The bearer token.
    pub access_token: String,
}

/// OAuth2 error response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OAuthError {
    /// `invalid_client`, `invalid_request`, ...
    pub error: String,
    /// Explanation.
    pub error_description: String,
    /// The HTTP status, as App Service's managed-identity endpoint reports it (MSAL's
    /// managed-identity client shows `statusCode` and `message`).
    #[serde(rename = "statusCode", default)]
    pub status_code: u16,
    /// The explanation again, under App Service's name.
    #[serde(default)]
    pub message: String,
}

/// OpenID Connect discovery document (the members MSAL requires).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OpenIdConfiguration {
    /// Issuer.
    pub issuer: String,
    /// Authorization endpoint (unused, required by MSAL).
    pub authorization_endpoint: String,
    /// Token endpoint.
    pub token_endpoint: String,
    /// Signing keys.
    pub jwks_uri: String,
    /// Supported grant types.
    pub grant_types_supported: Vec<String>,
    /// Supported token-endpoint authentication methods.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Supported ID-token algorithms.
    pub id_token_signing_alg_values_supported: Vec<String>,
}
