//! A client of a running Strongroom server. It authenticates with client credentials from a
//! credentials file (the administrator's is written at first start), or with the tokens a
//! user's `strongroom login` cached in a profile, trusts the server's CA,
//! and resolves every `*.{dns_suffix}` host name to the server's address itself, so vault and
//! pool host names work without DNS.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use strongroom_api::token::OAuthToken;
use tokio::sync::Mutex;

/// What the client needs to reach and authenticate to a server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// `https://host:port` of the server.
    pub server_url: String,
    /// CA certificate to trust (PEM), if not publicly trusted.
    pub ca_file: Option<String>,
    /// Tenant.
    pub tenant_id: String,
    /// Client id.
    pub client_id: String,
    /// Client secret (empty for a signed-in user).
    #[serde(default)]
    pub client_secret: String,
    /// DNS suffix of vault and pool hosts.
    pub dns_suffix: String,
    /// A signed-in user's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// A signed-in user's tokens by resource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tokens: BTreeMap<String, CachedToken>,
}

/// A token cached in a profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CachedToken {
    /// The bearer token.
    pub access_token: String,
    /// Expiry, Unix seconds.
    pub expires_on: u64,
}

/// The client id the CLI signs users in as (a public client: no secret).
pub const STRONGROOM_CLI_CLIENT_ID: &str = "5f4e7a3c-2b1d-4c8e-9a6f-0d3b2c1a9e87";

/// Client failures.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Bad setup.
    #[error("{0}")]
    Setup(String),
    /// Network or TLS failure.
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered with an error.
    #[error("{status}: {body}")]
    Server {
        /// HTTP status.
        status: StatusCode,
        /// The error body.
        body: String,
    },
}

/// Which container a data-plane call addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Container {
    /// The default vault on the bare host.
    Default,
    /// A vault.
    Vault(String),
    /// A managed HSM pool.
    Hsm(String),
}

/// Resolves `*.{suffix}` (and the suffix itself) to the server address; other names through
/// the system.
struct SuffixResolver {
    suffix: String,
    server: SocketAddr,
}

impl Resolve for SuffixResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let ours = host == self.suffix || host.ends_with(&format!(".{}", self.suffix));
        let server = self.server;
        Box::pin(async move {
            if ours {
                let addrs: Addrs = Box::new(std::iter::once(server));
                return Ok(addrs);
            }
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let addrs: Addrs = Box::new(found.collect::<Vec<_>>().into_iter());
            Ok(addrs)
        })
    }
}

/// The client.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    creds: Credentials,
    port: u16,
    tokens: Arc<Mutex<HashMap<String, (String, u64)>>>,
}

impl Client {
    /// A client from a credentials file.
    pub async fn from_file(path: &Path) -> Result<Self, ClientError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ClientError::Setup(format!("cannot read {}: {e}", path.display())))?;
        let creds: Credentials = serde_json::from_str(&text).map_err(|e| {
            ClientError::Setup(format!("{} is not a credentials file: {e}", path.display()))
        })?;
        Self::new(creds).await
    }

    /// A client from credentials.
    pub async fn new(creds: Credentials) -> Result<Self, ClientError> {
        Self::with_protocol(creds, false).await
    }

    /// A client from credentials that speaks only HTTP/1.1 (as the Azure SDKs for Python do),
    /// with one connection per request in flight.
    pub async fn with_protocol(creds: Credentials, http1_only: bool) -> Result<Self, ClientError> {
        let url = url::Url::parse(&creds.server_url)
            .map_err(|e| ClientError::Setup(format!("bad server_url: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| ClientError::Setup("server_url has no host".into()))?
            .trim_matches(['[', ']'])
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let server = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| ClientError::Setup(format!("cannot resolve {host}: {e}")))?
            .next()
            .ok_or_else(|| ClientError::Setup(format!("{host} has no address")))?;
        let mut builder = reqwest::Client::builder()
            .dns_resolver(Arc::new(SuffixResolver {
                suffix: creds.dns_suffix.clone(),
                server,
            }))
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(64);
        if http1_only {
            builder = builder.http1_only();
        }
        if let Some(ca) = &creds.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| ClientError::Setup(format!("cannot read CA {ca}: {e}")))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| ClientError::Setup(format!("bad CA {ca}: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder.build()?;
        Ok(Self {
            http,
            creds,
            port,
            tokens: Arc::default(),
        })
    }

    /// Base URL and token audience of a container.
    pub fn base(&self, container: &Container) -> (String, String) {
        let (suffix, port) = (&self.creds.dns_suffix, self.port);
        match container {
            Container::Default => (self.creds.server_url.clone(), self.creds.server_url.clone()),
            Container::Vault(n) => (
                format!("https://{n}.vault.{suffix}:{port}"),
                format!("https://vault.{suffix}:{port}"),
            ),
            Container::Hsm(n) => (
                format!("https://{n}.managedhsm.{suffix}:{port}"),
                format!("https://managedhsm.{suffix}:{port}"),
            ),
        }
    }

    async fn token(&self, resource: &str) -> Result<String, ClientError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if let Some(user) = &self.creds.username {
            return match self.creds.tokens.get(resource) {
                Some(cached) if cached.expires_on > now + 60 => Ok(cached.access_token.clone()),
                _ => Err(ClientError::Setup(format!(
                    "the session of {user} has expired: run `strongroom login` again"
                ))),
            };
        }
        let mut tokens = self.tokens.lock().await;
        if let Some((token, exp)) = tokens.get(resource)
            && *exp > now + 60
        {
            return Ok(token.clone());
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.creds.client_id.as_str()),
            ("client_secret", self.creds.client_secret.as_str()),
        ];
        let (token, exp) = self.request_token(&form, resource, now).await?;
        tokens.insert(resource.to_owned(), (token.clone(), exp));
        Ok(token)
    }

    async fn request_token(
        &self,
        form: &[(&str, &str)],
        resource: &str,
        now: u64,
    ) -> Result<(String, u64), ClientError> {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.creds.server_url, self.creds.tenant_id
        );
        let scope = format!("{resource}/.default");
        let mut form = form.to_vec();
        form.push(("scope", scope.as_str()));
        let response = self.http.post(&url).form(&form).send().await?;
        let token: OAuthToken = check(response).await?.json().await?;
        let exp = now + u64::try_from(token.expires_in).unwrap_or(0);
        Ok((token.access_token, exp))
    }

    /// Signs a user in with the password grant: the credentials with a token for each of the
    /// server's resources (the default vault and administration, vaults, pools), to be kept
    /// in a profile.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Credentials, ClientError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let form = [
            ("grant_type", "password"),
            ("client_id", STRONGROOM_CLI_CLIENT_ID),
            ("username", username),
            ("password", password),
        ];
        let mut creds = self.creds.clone();
        creds.client_id = STRONGROOM_CLI_CLIENT_ID.to_owned();
        creds.client_secret.clear();
        creds.username = Some(username.to_owned());
        creds.tokens.clear();
        for container in [
            Container::Default,
            Container::Vault(String::new()),
            Container::Hsm(String::new()),
        ] {
            let (_, resource) = self.base(&container);
            let (access_token, expires_on) = self.request_token(&form, &resource, now).await?;
            creds.tokens.insert(
                resource,
                CachedToken {
                    access_token,
                    expires_on,
                },
            );
        }
        Ok(creds)
    }

    /// Calls the data plane of `container`: `path` is relative to its base, `api-version` is
    /// added. Returns the JSON body (`Null` for empty bodies).
    pub async fn data(
        &self,
        container: &Container,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let (base, resource) = self.base(container);
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!(
            "{base}{path}{sep}api-version={}",
            strongroom_api::version::CLIENT_DEFAULT
        );
        self.call(&resource, method, &url, body).await
    }

    /// Calls the management API.
    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let url = format!("{}/strongroom/v1{path}", self.creds.server_url);
        let resource = self.creds.server_url.clone();
        self.call(&resource, method, &url, body).await
    }

    /// Calls any URL with a token for `resource`.
    pub async fn call(
        &self,
        resource: &str,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let token = self.token(resource).await?;
        let mut request = self.http.request(method, url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = check(request.send().await?).await?;
        let bytes = response.bytes().await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Setup(format!("the server sent invalid JSON: {e}")))
    }

    /// The credentials in use.
    pub fn credentials(&self) -> &Credentials {
        &self.creds
    }

    /// The underlying HTTP client (benchmarks reuse its connection pool).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A bearer token for a container, for callers that build their own requests.
    pub async fn token_for(&self, container: &Container) -> Result<String, ClientError> {
        let (_, resource) = self.base(container);
        self.token(&resource).await
    }
}

async fn check(response: reqwest::Response) -> Result<reqwest::Response, ClientError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(ClientError::Server { status, body })
}
