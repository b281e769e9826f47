//! Building and running the application: `Application::build(config)` prepares everything and
//! binds the listener; `run_until` serves until the shutdown future completes, then drains
//! in-flight requests.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use serde_json::json;
use strongroom_core::DomainError;
use strongroom_core::clock::{Clock, SystemClock};
use strongroom_core::ports::{CryptoProvider, KeyProtector, KeyStore};
use strongroom_core::vault::{RetentionDays, Sku, VaultKind};
use strongroom_crypto::SoftwareCrypto;
use strongroom_store::SqlStore;
use tracing::{info, warn};

use crate::bootstrap;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::state::{AppState, Inner};
use crate::tls;
use strongroom_service::access::{AccessCache, RoleAuthorizer};
use strongroom_service::audit::{AuditKey, AuditService, StoreAudit};
use strongroom_service::door::{Caller, Door, NoPolicies};
use strongroom_service::pool::CryptoPool;
use strongroom_service::protector::RootKeyProtector;
use strongroom_service::roles::RoleService;
use strongroom_service::scheduler::Scheduler;
use strongroom_service::tokens::{AuthService, AuthSettings};
use strongroom_service::vaults::VaultSpec;
use strongroom_service::{KeyService, KeyServicePorts, VaultService};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Configuration or files.
    #[error("{0}")]
    Setup(String),
    /// A domain or storage failure during start.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Binding the listener.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// What an operator needs to know after start.
#[derive(Debug, Clone)]
pub struct StartupInfo {
    /// The CA to trust, in self-signed mode.
    pub ca_file: Option<PathBuf>,
    /// URL of the default vault.
    pub default_vault_url: String,
    /// Where the administrator's credentials are.
    pub admin_credentials: PathBuf,
    /// Whether this start created the deployment (default vault and administrator).
    pub first_start: bool,
}

/// A built, bound, not yet serving server.
pub struct Application {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    state: AppState,
    scheduler: Arc<Scheduler>,
    info: StartupInfo,
}

impl Application {
    /// Builds the server on the system clock.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Builds the server on the given clock (tests pin time).
    pub async fn build_with_clock(
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        config
            .validate()
            .map_err(|e| StartupError::Setup(e.to_string()))?;
        bootstrap::data_dir(&config.data_dir).map_err(StartupError::Setup)?;
        // Absolute paths, so the CA and credential paths printed and written work from anywhere.
        let mut config = config;
        if let Ok(absolute) = std::fs::canonicalize(&config.data_dir) {
            config.data_dir = absolute;
        }
        let crypto: Arc<dyn CryptoProvider> = Arc::new(SoftwareCrypto);
        let root = bootstrap::root_key(&config.root_key_path(), |b| {
            crypto.fill_random(b).map_err(|e| e.to_string())
        })
        .map_err(StartupError::Setup)?;
        let tls_files = match (&config.tls_cert_file, &config.tls_key_file) {
            (Some(cert), Some(key)) => tls::TlsFiles {
                ca: config.tls_ca_file.clone(),
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => tls::self_signed(&config.data_dir.join("tls"), &config.dns_suffix, &[])
                .map_err(StartupError::Setup)?,
        };
        let tls =
            tls::server_config(&tls_files.cert, &tls_files.key).map_err(StartupError::Setup)?;
        let listener =
            std::net::TcpListener::bind(config.listen).map_err(|source| StartupError::Bind {
                addr: config.listen,
                source,
            })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| StartupError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.listen,
            source,
        })?;
        let public_port = config.public_port.unwrap_or(addr.port());

        let sql = SqlStore::connect(&config.database_url()).await?;
        let store: Arc<dyn KeyStore> = Arc::new(sql.clone());
        let threads = config
            .crypto_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
        let pool = CryptoPool::start(threads, config.crypto_queue)
            .map_err(|e| StartupError::Setup(format!("cannot start crypto pool: {e}")))?;
        let issuer = format!(
            "https://login.{}:{public_port}/{}/v2.0",
            config.dns_suffix, config.tenant_id
        );
        let settings = AuthSettings {
            issuer,
            tenant: config.tenant_id.clone(),
            lifetime: i64::try_from(config.token_lifetime_secs).unwrap_or(3600),
        };
        // The root key's bytes go into the protector and nowhere else.
        let protector: Arc<dyn KeyProtector> =
            Arc::new(RootKeyProtector::new(root, Arc::clone(&crypto)));
        // The one door every operation passes: role assignments and access policies decide, no
        // governance policy yet, audit events to this node's chain of the stored audit log.
        let node_id = uuid::Uuid::new_v4().to_string();
        let mut fresh = [0u8; 32];
        crypto.fill_random(&mut fresh)?;
        let audit_key = AuditKey::load(store.as_ref(), protector.as_ref(), fresh).await?;
        let access = Arc::new(AccessCache::new(Arc::clone(&store)));
        let door = Arc::new(Door::new(
            Arc::new(RoleAuthorizer::new(Arc::clone(&access))?),
            Arc::new(NoPolicies),
            StoreAudit::start(Arc::clone(&store), audit_key.clone(), node_id.clone()),
            Arc::clone(&clock),
        ));
        let audit = Arc::new(AuditService::new(
            Arc::clone(&store),
            audit_key,
            Arc::clone(&door),
        ));
        let auth = Arc::new(
            AuthService::start(
                Arc::clone(&store),
                Arc::clone(&crypto),
                Arc::clone(&clock),
                protector.as_ref(),
                settings,
                Arc::clone(&door),
                Arc::new(
                    crate::auth::discovery::HttpJwksFetcher::new(Some(
                        &config.data_dir.join("tls").join("ca.pem"),
                    ))
                    .map_err(StartupError::Setup)?,
                ),
            )
            .await?,
        );
        let keys = Arc::new(KeyService::new(
            KeyServicePorts {
                store: Arc::clone(&store),
                crypto: Arc::clone(&crypto),
                pool,
                clock: Arc::clone(&clock),
                door: Arc::clone(&door),
                protector: Arc::clone(&protector),
            },
            config.key_cache_capacity,
        ));
        let vaults = Arc::new(VaultService::new(
            Arc::clone(&store),
            Arc::clone(&crypto),
            Arc::clone(&clock),
            protector,
            Arc::clone(&door),
            Arc::clone(&access),
        ));
        let roles = Arc::new(RoleService::new(
            Arc::clone(&store),
            clock,
            door,
            Arc::clone(&access),
        ));
        let scheduler = Arc::new(Scheduler::new(
            Arc::clone(&keys),
            Arc::clone(&vaults),
            Arc::clone(&store),
        ));
        let subscription_id = subscription_id(store.as_ref(), crypto.as_ref()).await?;
        let state: AppState = Arc::new(Inner {
            admission: crate::admission::Admission::new(
                config.max_in_flight,
                config.max_queued,
                Duration::from_millis(config.queue_timeout_ms),
            ),
            config,
            keys,
            vaults,
            roles,
            audit,
            auth,
            metrics: Metrics::default(),
            ready: AtomicBool::new(true),
            store: sql,
            public_port,
            node_id,
            subscription_id,
        });
        watch_changes(&state).await;
        let info = first_start(&state, store.as_ref(), tls_files.ca, addr).await?;
        Ok(Self {
            listener,
            addr,
            tls,
            state,
            scheduler,
            info,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// What to tell the operator.
    pub fn info(&self) -> &StartupInfo {
        &self.info
    }

    /// The background scheduler (tests run passes directly).
    pub fn scheduler(&self) -> Arc<Scheduler> {
        Arc::clone(&self.scheduler)
    }

    /// Serves until `shutdown` completes, then stops accepting, drains for up to 10 s and
    /// closes the database.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let handle = axum_server::Handle::new();
        let state = Arc::clone(&self.state);
        let stopper = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            state.ready.store(false, Ordering::SeqCst);
            info!("shutting down: draining in-flight requests");
            stopper.graceful_shutdown(Some(Duration::from_secs(10)));
        });
        let scheduler = Arc::clone(&self.scheduler);
        let interval = Duration::from_secs(self.state.config.scheduler_interval_secs);
        let lease = i64::try_from(self.state.config.scheduler_lease_secs).unwrap_or(i64::MAX);
        let node = self.state.node_id.clone();
        let ticker = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                if let Err(e) = scheduler.run_if_leader(&node, lease).await {
                    warn!(error = %e, "scheduler pass failed");
                }
            }
        });
        let app = crate::routing::Front::new(Arc::clone(&self.state));
        let acceptor =
            axum_server::tls_rustls::RustlsAcceptor::new(RustlsConfig::from_config(self.tls))
                .acceptor(crate::proxy::ProxyAcceptor {
                    enabled: self.state.config.proxy_protocol,
                });
        let served = axum_server::from_tcp(self.listener)?
            .acceptor(acceptor)
            .handle(handle)
            .serve(
                axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                    std::net::SocketAddr,
                >(app),
            )
            .await;
        ticker.abort();
        self.state.store.close().await;
        served
    }
}

/// Keeps this node's caches coherent with writes made through other nodes.
async fn watch_changes(state: &AppState) {
    use strongroom_store::changes::Change;
    let (keys, vaults) = (Arc::clone(&state.keys), Arc::clone(&state.vaults));
    let auth = Arc::clone(&state.auth);
    let sink = Arc::new(move |change: Change| match change {
        Change::Identity(object_id) => auth.forget_identity(&object_id),
        Change::Issuers => auth.forget_issuers(),
        Change::Key(vault, name) => keys.forget_key(&vault, &name),
        Change::Access(vault) => vaults.forget_access(&vault),
        Change::Vault(vault) => {
            vaults.forget(Some(&vault));
            keys.forget_vault(&vault);
        }
        Change::Reset => {
            vaults.forget(None);
            keys.forget_all();
            auth.forget_issuers();
        }
    });
    if state.store.watch(sink).await {
        info!(node = %state.node_id, "watching other nodes' changes");
    }
}

const BOOTSTRAP_MARKER: &str = "bootstrap";
const SUBSCRIPTION: &str = "subscription";

/// The deployment's subscription id: random at the first start, then the one in the database.
async fn subscription_id(
    store: &dyn KeyStore,
    crypto: &dyn CryptoProvider,
) -> Result<String, StartupError> {
    let mut fresh = [0u8; 16];
    crypto.fill_random(&mut fresh)?;
    let stored = store
        .put_server_secret_if_absent(SUBSCRIPTION, &fresh)
        .await?;
    let bytes: [u8; 16] = stored
        .as_slice()
        .try_into()
        .map_err(|_| StartupError::Setup("the stored subscription id is not 16 bytes".into()))?;
    Ok(uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string())
}

/// On the first start of a deployment: the premium vault `default` and an administrator
/// whose credentials go to a 0600 file in the data directory.
async fn first_start(
    state: &AppState,
    store: &dyn KeyStore,
    ca: Option<PathBuf>,
    addr: SocketAddr,
) -> Result<StartupInfo, StartupError> {
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    let server_url = format!("https://{host}:{}", state.public_port);
    let admin_file = state.config.data_dir.join("admin-credentials.json");
    let mut marker = [0u8; 16];
    strongroom_crypto::SoftwareCrypto.fill_random(&mut marker)?;
    let first = store
        .put_server_secret_if_absent(BOOTSTRAP_MARKER, &marker)
        .await?
        == marker;
    if first {
        let spec = VaultSpec {
            name: "default".parse()?,
            kind: VaultKind::Vault,
            sku: Sku::Premium,
            retention: RetentionDays::DEFAULT,
            purge_protection: false,
            rbac_authorization: true,
        };
        let bootstrap = Caller::system("first-start", Arc::from(state.node_id.as_str()));
        match state.vaults.create(&bootstrap, spec).await {
            Ok(_) | Err(DomainError::VaultAlreadyExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let (identity, secret) = state
            .auth
            .create_identity(&bootstrap, "admin".parse()?, true, None)
            .await?;
        let secret = secret.unwrap_or_default();
        let ca_file = ca.as_ref().map(|p| p.display().to_string());
        let doc = json!({
            "server_url": server_url,
            "ca_file": ca_file,
            "tenant_id": state.auth.tenant(),
            "client_id": identity.client_id,
            "client_secret": secret,
            "dns_suffix": state.config.dns_suffix,
            "token_endpoint": format!("{server_url}/{}/oauth2/v2.0/token", state.auth.tenant()),
            "env": crate::api::identity_env(state, &identity, &secret, ca_file.as_deref().unwrap_or_default()),
        });
        let text =
            serde_json::to_vec_pretty(&doc).map_err(|e| StartupError::Setup(e.to_string()))?;
        bootstrap::write_private(&admin_file, &text).map_err(StartupError::Setup)?;
    }
    Ok(StartupInfo {
        ca_file: ca,
        default_vault_url: server_url,
        admin_credentials: admin_file,
        first_start: first,
    })
}
