//! Domain services: the use cases behind the handlers. They combine the store, the crypto
//! provider (slow work on the bounded pool) and the clock; handlers never touch SQL or keys.

mod backup;
mod cache;
pub mod keys;
mod ops;
pub mod scheduler;
pub mod vaults;

pub use keys::{AttributeChanges, ImportKey, KeyService, KeyUpdate, NewKey};
pub use ops::{CryptoRequest, CryptoResponse};
pub use vaults::{OpenVault, VaultService};
