//! Application state shared by every handler.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::config::Config;
use crate::metrics::Metrics;
use strongroom_service::tokens::AuthService;
use strongroom_service::{KeyService, VaultService};

/// Everything handlers need.
pub struct Inner {
    /// Configuration.
    pub config: Config,
    /// Keys.
    pub keys: Arc<KeyService>,
    /// Vaults and pools.
    pub vaults: Arc<VaultService>,
    /// Role definitions and assignments, and access policies.
    pub roles: Arc<strongroom_service::roles::RoleService>,
    /// The stored audit log.
    pub audit: Arc<strongroom_service::audit::AuditService>,
    /// Tokens and identities.
    pub auth: Arc<AuthService>,
    /// Request metrics.
    pub metrics: Metrics,
    /// Admission control: one permit per request in flight, a bounded queue for the rest.
    pub admission: crate::admission::Admission,
    /// False while shutting down.
    pub ready: AtomicBool,
    /// Storage health probe.
    pub store: strongroom_store::SqlStore,
    /// Port used in URLs printed for clients.
    pub public_port: u16,
    /// This process's id (lease holder name).
    pub node_id: String,
    /// The deployment's one Azure subscription id (`GET /subscriptions`).
    pub subscription_id: String,
}

/// Shared state handle.
pub type AppState = Arc<Inner>;
