//! The Strongroom server: one HTTPS listener that serves vaults, managed HSM pools and the
//! token service, routed by `Host`.
//!
//! `Application::build(config)` binds (port 0 allowed), prepares the data directory, TLS,
//! storage and services, and reports its address; `main` only reads configuration, sets up
//! logging and serves. Handlers are thin: they parse the request into domain types, call one
//! service method and map the result; the one `DomainError -> HTTP` mapping is in `error`.

mod admission;
pub mod api;
pub mod auth;
mod bootstrap;
pub mod config;
pub mod error;
mod extract;
pub mod init;
pub mod metrics;
pub mod proxy;
pub mod routing;
mod startup;
mod state;
pub mod tls;

pub use config::Config;
pub use startup::Application;
