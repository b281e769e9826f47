//! Wire types shared by the Strongroom server and its client: the Key Vault keys data-plane
//! DTOs with their byte-exact field names, the Azure error envelope, api-version handling,
//! the token-service responses and Strongroom's own management API. No logic lives here.

pub mod admin;
pub mod error;
pub mod keys;
pub mod normalize;
pub mod token;
pub mod version;
