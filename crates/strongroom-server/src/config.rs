//! Configuration: defaults, then a TOML file, then `STRONGROOM_*` environment variables, then
//! command-line flags (applied by the binary).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Everything a node needs to know that is not in the database.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Holds the SQLite database, TLS material, the root key file and admin credentials.
    pub data_dir: PathBuf,
    /// Listen address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// DNS suffix of vault, pool, attestation and login host names.
    pub dns_suffix: String,
    /// Database URL; default `sqlite://{data_dir}/strongroom.db`.
    pub database_url: Option<String>,
    /// PEM certificate chain to serve instead of the self-signed default.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key for `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// The CA certificate clients trust for `tls_cert_file` (printed at start and named in the
    /// administrator's credentials); none when a public CA issued it.
    pub tls_ca_file: Option<PathBuf>,
    /// File holding the 32-byte root key (base64); default `{data_dir}/root.key`.
    pub root_key_file: Option<PathBuf>,
    /// Tenant id named in challenges and tokens.
    pub tenant_id: String,
    /// Port clients use, if it differs from the listen port (behind a load balancer).
    pub public_port: Option<u16>,
    /// Lifetime of issued access tokens, in seconds.
    pub token_lifetime_secs: u64,
    /// How often the background scheduler runs, in seconds.
    pub scheduler_interval_secs: u64,
    /// How long the scheduler lease lasts: another node takes over this long after its
    /// holder stops renewing it.
    pub scheduler_lease_secs: u64,
    /// Requests served at once; more wait in the admission queue.
    pub max_in_flight: usize,
    /// Requests that may wait for a slot; beyond that the server answers 429.
    pub max_queued: usize,
    /// How long a request may wait for a slot before it is answered 429, in milliseconds
    /// (0: no queue, refuse at once when every slot is taken).
    pub queue_timeout_ms: u64,
    /// Threads of the crypto pool; default the number of cores.
    pub crypto_threads: Option<usize>,
    /// Jobs queued on the crypto pool beyond which the server answers 429.
    pub crypto_queue: usize,
    /// Key versions kept parsed in memory.
    pub key_cache_capacity: usize,
    /// Runs the async workers under the kernel's batch policy, so that their wake-ups wait for
    /// a crypto thread's time slice instead of interrupting it: more RSA throughput on busy
    /// cores, at the price of up to a few milliseconds of queueing while the cores are busy.
    pub batch_scheduling: bool,
    /// Every connection begins with a PROXY protocol v2 header (a TLS-passthrough load
    /// balancer with `send-proxy-v2` or `proxy_protocol on;`) naming the real client.
    pub proxy_protocol: bool,
    /// Log filter (`info`, `strongroom_server=debug`, ...).
    pub log: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("strongroom-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            dns_suffix: "strongroom.localhost".into(),
            database_url: None,
            tls_cert_file: None,
            tls_key_file: None,
            tls_ca_file: None,
            root_key_file: None,
            tenant_id: "strongroom".into(),
            public_port: None,
            token_lifetime_secs: 3600,
            scheduler_interval_secs: 60,
            scheduler_lease_secs: 180,
            max_in_flight: 2048,
            max_queued: 4096,
            queue_timeout_ms: 1000,
            crypto_threads: None,
            crypto_queue: 4096,
            key_cache_capacity: 20_000,
            batch_scheduling: true,
            proxy_protocol: false,
            log: "info".into(),
        }
    }
}

/// A configuration problem, reported before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file or a variable is malformed.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Defaults overlaid with the TOML file at `path`, if given.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))
    }

    /// Applies `STRONGROOM_*` variables from `env` (use `std::env::vars()`).
    pub fn apply_env(
        &mut self,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        for (name, value) in env {
            let Some(key) = name.strip_prefix("STRONGROOM_") else {
                continue;
            };
            self.set(&key.to_ascii_lowercase(), &value)?;
        }
        Ok(())
    }

    /// Sets one option by its TOML name; unknown names are ignored (the variable namespace is
    /// shared with the CLI).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let bad = |e: &dyn std::fmt::Display| ConfigError::Invalid(format!("{key}={value}: {e}"));
        match key {
            "data_dir" => self.data_dir = value.into(),
            "listen" => self.listen = value.parse().map_err(|e| bad(&e))?,
            "dns_suffix" => self.dns_suffix = value.trim_matches('.').to_ascii_lowercase(),
            "database_url" => self.database_url = Some(value.into()),
            "tls_cert_file" => self.tls_cert_file = Some(value.into()),
            "tls_key_file" => self.tls_key_file = Some(value.into()),
            "tls_ca_file" => self.tls_ca_file = Some(value.into()),
            "root_key_file" => self.root_key_file = Some(value.into()),
            "tenant_id" => self.tenant_id = value.into(),
            "public_port" => self.public_port = Some(value.parse().map_err(|e| bad(&e))?),
            "token_lifetime_secs" => {
                self.token_lifetime_secs = value.parse().map_err(|e| bad(&e))?
            }
            "scheduler_lease_secs" => {
                self.scheduler_lease_secs = value.parse().map_err(|e| bad(&e))?
            }
            "scheduler_interval_secs" => {
                self.scheduler_interval_secs = value.parse().map_err(|e| bad(&e))?
            }
            "max_in_flight" => self.max_in_flight = value.parse().map_err(|e| bad(&e))?,
            "max_queued" => self.max_queued = value.parse().map_err(|e| bad(&e))?,
            "queue_timeout_ms" => self.queue_timeout_ms = value.parse().map_err(|e| bad(&e))?,
            "crypto_threads" => self.crypto_threads = Some(value.parse().map_err(|e| bad(&e))?),
            "crypto_queue" => self.crypto_queue = value.parse().map_err(|e| bad(&e))?,
            "key_cache_capacity" => self.key_cache_capacity = value.parse().map_err(|e| bad(&e))?,
            "batch_scheduling" => self.batch_scheduling = value.parse().map_err(|e| bad(&e))?,
            "proxy_protocol" => self.proxy_protocol = value.parse().map_err(|e| bad(&e))?,
            "log" => self.log = value.into(),
            _ => {}
        }
        Ok(())
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!("sqlite://{}", self.data_dir.join("strongroom.db").display())
        })
    }

    /// The root key file in effect.
    pub fn root_key_path(&self) -> PathBuf {
        self.root_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("root.key"))
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err(ConfigError::Invalid(
                "tls_cert_file and tls_key_file go together".into(),
            ));
        }
        if self.dns_suffix.is_empty() || self.tenant_id.is_empty() {
            return Err(ConfigError::Invalid(
                "dns_suffix and tenant_id must not be empty".into(),
            ));
        }
        if self.scheduler_interval_secs == 0 || self.token_lifetime_secs < 60 {
            return Err(ConfigError::Invalid(
                "scheduler_interval_secs must be >= 1 and token_lifetime_secs >= 60".into(),
            ));
        }
        if self.scheduler_lease_secs <= self.scheduler_interval_secs {
            return Err(ConfigError::Invalid(
                "scheduler_lease_secs must be longer than scheduler_interval_secs".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_file_then_env() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\ndns_suffix = \"kms.example\"\n",
        )
        .unwrap();
        let mut config = Config::load(Some(&path)).unwrap();
        assert_eq!(config.listen.port(), 9000);
        config
            .apply_env(
                [
                    ("STRONGROOM_LISTEN".to_owned(), "0.0.0.0:1".to_owned()),
                    ("OTHER".into(), "x".into()),
                ]
                .into_iter(),
            )
            .unwrap();
        assert_eq!(config.listen.port(), 1);
        assert_eq!(config.dns_suffix, "kms.example");
        config.set("scheduler_interval_secs", "1").unwrap();
        config.set("scheduler_lease_secs", "3").unwrap();
        assert_eq!(
            (config.scheduler_interval_secs, config.scheduler_lease_secs),
            (1, 3)
        );
        assert!(config.validate().is_ok());
        assert!(config.set("listen", "nope").is_err());
    }

    #[test]
    fn rejects_unknown_file_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "listne = \"x\"\n").unwrap();
        assert!(Config::load(Some(&path)).is_err());
    }
}
