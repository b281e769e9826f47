//! `TestApp`: one server per test, with its own data directory and pinned clock.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use strongroom_client::{Client, ClientError, Container, Credentials};
use strongroom_core::clock::ManualClock;
use strongroom_server::{Application, Config};
use strongroom_service::scheduler::{PassReport, Scheduler};

/// Start of pinned time: 2026-12-01T00:00:00Z.
pub const T0: i64 = 1_796_083_200;

pub struct TestApp {
    pub port: u16,
    pub clock: Arc<ManualClock>,
    pub client: Client,
    pub creds: Credentials,
    scheduler: Arc<Scheduler>,
    _dir: tempfile::TempDir,
    _server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestApp {
    /// A server whose tokens outlive every clock jump the tests make.
    pub async fn spawn() -> Self {
        Self::spawn_with_token_lifetime(400 * 86_400).await
    }

    pub async fn spawn_with_token_lifetime(seconds: u64) -> Self {
        Self::spawn_with(seconds, |_| {}).await
    }

    /// A server with its configuration adjusted by `tweak`.
    pub async fn spawn_with(seconds: u64, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: dir.path().join("data"),
            listen: "127.0.0.1:0".parse().unwrap(),
            scheduler_interval_secs: 3600,
            scheduler_lease_secs: 7200,
            log: "warn".into(),
            token_lifetime_secs: seconds,
            ..Config::default()
        };
        tweak(&mut config);
        let clock = Arc::new(ManualClock::new(T0));
        let app = Application::build_with_clock(config, clock.clone())
            .await
            .unwrap();
        let port = app.local_addr().port();
        let scheduler = app.scheduler();
        let creds_path = app.info().admin_credentials.clone();
        let server = tokio::spawn(app.run_until(std::future::pending()));
        let text = std::fs::read_to_string(&creds_path).unwrap();
        let creds: Credentials = serde_json::from_str(&text).unwrap();
        let client = Client::new(creds.clone()).await.unwrap();
        Self {
            port,
            clock,
            client,
            creds,
            scheduler,
            _dir: dir,
            _server: server,
        }
    }

    /// Creates a vault (`hsm` = managed HSM pool).
    pub async fn container(
        &self,
        name: &str,
        hsm: bool,
        retention: u32,
        purge_protection: bool,
    ) -> Container {
        let kind = if hsm { "managedhsms" } else { "vaults" };
        let body = serde_json::json!({"sku": "premium", "retention_days": retention, "purge_protection": purge_protection});
        self.client
            .admin(Method::PUT, &format!("/{kind}/{name}"), Some(&body))
            .await
            .unwrap();
        if hsm {
            Container::Hsm(name.into())
        } else {
            Container::Vault(name.into())
        }
    }

    pub async fn call(
        &self,
        at: &Container,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, (StatusCode, Value)> {
        call_as(&self.client, at, method, path, body).await
    }

    pub async fn ok(
        &self,
        at: &Container,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        self.call(at, method, path, body)
            .await
            .unwrap_or_else(|(s, b)| panic!("{path}: {s} {b}"))
    }

    /// Expects an error; returns its status and `error.code`.
    pub async fn err(
        &self,
        at: &Container,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, String, Value) {
        let (status, body) = self
            .call(at, method, path, body)
            .await
            .expect_err("expected an error");
        let code = body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (status, code, body)
    }

    /// The object id of the administrator the client acts as.
    pub async fn admin_oid(&self) -> String {
        let all = self
            .client
            .admin(Method::GET, "/identities", None)
            .await
            .unwrap();
        all["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["client_id"] == self.creds.client_id.as_str())
            .and_then(|i| i["object_id"].as_str())
            .unwrap()
            .to_owned()
    }

    /// A new identity of the deployment (no role, no policy) and a client acting as it.
    pub async fn identity_client(&self, name: &str) -> (String, Client) {
        let created = self
            .client
            .admin(
                Method::POST,
                &format!("/identities/{name}"),
                Some(&serde_json::json!({})),
            )
            .await
            .unwrap();
        let mut creds = self.creds.clone();
        creds.client_id = created["client_id"].as_str().unwrap().to_owned();
        creds.client_secret = created["client_secret"].as_str().unwrap().to_owned();
        let oid = created["object_id"].as_str().unwrap().to_owned();
        (oid, Client::new(creds).await.unwrap())
    }

    /// Assigns `role` (a name or GUID) at `scope` of a vault or pool to `oid`; returns the
    /// assignment's name.
    pub async fn assign(&self, at: &Container, role: &str, oid: &str, scope: &str) -> String {
        let name = uuid::Uuid::new_v4().to_string();
        let body = serde_json::json!({"properties": {
            "scope": scope, "roleDefinitionId": role, "principalId": oid}});
        match at {
            Container::Hsm(_) => {
                let path = format!(
                    "{}/providers/Microsoft.Authorization/roleAssignments/{name}",
                    scope.trim_end_matches('/')
                );
                self.ok(at, Method::PUT, &path, Some(body)).await;
            }
            Container::Vault(vault) => {
                self.client
                    .admin(
                        Method::PUT,
                        &format!("/vaults/{vault}/roleAssignments/{name}"),
                        Some(&body),
                    )
                    .await
                    .unwrap();
            }
            Container::Default => panic!("name the vault"),
        }
        name
    }

    /// Removes the assignment `name` made at `scope` of a vault or pool.
    pub async fn unassign(&self, at: &Container, scope: &str, name: &str) {
        match at {
            Container::Hsm(_) => {
                let path = format!(
                    "{}/providers/Microsoft.Authorization/roleAssignments/{name}",
                    scope.trim_end_matches('/')
                );
                self.ok(at, Method::DELETE, &path, None).await;
            }
            Container::Vault(vault) => {
                self.client
                    .admin(
                        Method::DELETE,
                        &format!("/vaults/{vault}/roleAssignments/{name}"),
                        None,
                    )
                    .await
                    .unwrap();
            }
            Container::Default => panic!("name the vault"),
        }
    }

    /// Gives the administrator the key roles of a pool (its Administrator role manages roles
    /// only): Crypto User and Crypto Officer at `/`.
    pub async fn use_pool_keys(&self, pool: &Container) {
        let oid = self.admin_oid().await;
        for role in ["Managed HSM Crypto User", "Managed HSM Crypto Officer"] {
            self.assign(pool, role, &oid, "/").await;
        }
    }

    pub async fn tick(&self) -> PassReport {
        self.scheduler.run_once().await.unwrap()
    }

    pub fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.port)
    }
}

/// A data-plane call by `client`: its answer, or the error status and body.
pub async fn call_as(
    client: &Client,
    at: &Container,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, (StatusCode, Value)> {
    match client.data(at, method, path, body.as_ref()).await {
        Ok(v) => Ok(v),
        Err(ClientError::Server { status, body }) => Err((
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )),
        Err(e) => panic!("transport error: {e}"),
    }
}

pub fn b64(bytes: &[u8]) -> String {
    strongroom_core::b64::encode(bytes)
}

pub fn unb64(v: &Value) -> Vec<u8> {
    strongroom_core::b64::decode(v.as_str().unwrap()).unwrap()
}
