//! Authentication over HTTP: the token service's endpoints (managed identities through the
//! App Service protocol, applications through OAuth2 client credentials and client assertions, users through the
//! password grant, discovery), the OpenID discovery of trusted issuers' keys, and the
//! middleware that verifies bearer tokens and answers the 401 challenge the Azure SDKs need.
//! Issuing and verifying tokens is the service layer's (`strongroom_service::tokens`).

pub mod discovery;
pub mod endpoints;
pub mod middleware;
