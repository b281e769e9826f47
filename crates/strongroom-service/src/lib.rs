//! Strongroom's use cases, apart from HTTP: keys and their cryptographic operations, vaults
//! and pools, the token service and identities, and the background scheduler. They combine
//! the store, the crypto provider (slow work on the bounded pool) and the clock; the server
//! crate only parses requests, calls one of them and maps the result.

pub mod access;
pub mod attestation;
pub mod audit;
mod backup;
mod cache;
pub mod door;
pub mod federation;
pub mod identities;
pub mod keys;
mod ops;
pub mod policies;
pub mod pool;
pub mod protector;
pub mod roles;
pub mod sched;
pub mod scheduler;
pub mod tokens;
pub mod vaults;

pub use door::{Caller, Door};
pub use keys::{AttributeChanges, ImportKey, KeyService, KeyServicePorts, KeyUpdate, NewKey};
pub use ops::{CryptoRequest, CryptoResponse};
pub use vaults::{OpenVault, VaultService};
