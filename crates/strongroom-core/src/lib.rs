//! Strongroom's domain: the key model (types, curves, operations, algorithms), key lifecycle and
//! soft-delete rules, vaults and managed HSM pools, rotation policies, identities, and the port
//! traits (`KeyStore`, `CryptoProvider`, `Clock`) that adapters implement.
//!
//! Nothing here performs I/O. Raw strings from the wire are parsed into these types at the edge
//! (`FromStr` / `TryFrom`), so the rest of the system never handles unchecked input.

pub mod access_policy;
pub mod attestation_policy;
pub mod audit;
pub mod b64;
pub mod clock;
pub mod error;
pub mod identity;
pub mod key;
pub mod lifecycle;
pub mod names;
pub mod ports;
pub mod rbac;
pub mod rotation;
pub mod vault;

pub use error::DomainError;
