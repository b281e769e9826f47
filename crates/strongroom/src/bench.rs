//! `strongroom bench`: load against a running server, each scenario next to the raw
//! throughput of the same crypto library (aws-lc-rs through Strongroom's provider) on all
//! cores of this machine, measured in the same run, with the ratio.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use strongroom_client::{Client, ClientError, Container};
use strongroom_core::key::{AesBits, Curve, KeySpec, RsaExponent};
use strongroom_core::ports::{CipherInput, CryptoProvider, LoadedKey};
use strongroom_crypto::SoftwareCrypto;

/// Flags of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Requests in flight: enough by default to keep every crypto thread busy while the async
    /// workers hand back results in batches.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds of load per scenario, run as one-second slices between one-second raw slices.
    #[arg(long, default_value_t = 5)]
    pub duration: u64,
    /// Store this many keys first (in vault bench-fill), to measure memory with many keys.
    #[arg(long, default_value_t = 0)]
    pub populate: usize,
    /// Scenarios to run (default all): get-key, sign-rsa2048, sign-p256, encrypt-a256gcm, wrap-rsa-oaep256, create-ec.
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Option<Vec<String>>,
    /// Nodes of one deployment to spread the load over (default: the credentials' server).
    #[arg(long, value_delimiter = ',')]
    pub servers: Option<Vec<String>>,
    /// Use HTTP/2 instead of HTTP/1.1 (the Azure SDKs for Python speak HTTP/1.1).
    #[arg(long)]
    pub http2: bool,
}

struct Scenario {
    name: &'static str,
    container: Container,
    method: Method,
    path: &'static str,
    body: Value,
}

fn scenarios() -> Vec<Scenario> {
    let digest = strongroom_core::b64::encode([7u8; 32]);
    let vault = Container::Vault("bench-vault".into());
    let pool = Container::Hsm("bench-pool".into());
    vec![
        Scenario {
            name: "get-key",
            container: vault.clone(),
            method: Method::GET,
            path: "/keys/bench-ec/",
            body: Value::Null,
        },
        Scenario {
            name: "sign-rsa2048",
            container: vault.clone(),
            method: Method::POST,
            path: "/keys/bench-rsa//sign",
            body: json!({"alg": "RS256", "value": digest}),
        },
        Scenario {
            name: "sign-p256",
            container: vault.clone(),
            method: Method::POST,
            path: "/keys/bench-ec//sign",
            body: json!({"alg": "ES256", "value": digest}),
        },
        Scenario {
            name: "encrypt-a256gcm",
            container: pool,
            method: Method::POST,
            path: "/keys/bench-aes//encrypt",
            body: json!({"alg": "A256GCM", "value": strongroom_core::b64::encode([1u8; 64])}),
        },
        Scenario {
            name: "wrap-rsa-oaep256",
            container: vault.clone(),
            method: Method::POST,
            path: "/keys/bench-rsa//wrapkey",
            body: json!({"alg": "RSA-OAEP-256", "value": strongroom_core::b64::encode([2u8; 32])}),
        },
        Scenario {
            name: "create-ec",
            container: vault,
            method: Method::POST,
            path: "/keys/bench-created/create",
            body: json!({"kty": "EC", "crv": "P-256"}),
        },
    ]
}

/// Runs the benchmark and prints the table.
pub async fn run(client: Client, args: BenchArgs) -> anyhow::Result<()> {
    let servers = args
        .servers
        .clone()
        .unwrap_or_else(|| vec![client.credentials().server_url.clone()]);
    // The load runs as a workload identity holding the roles it needs, as applications do.
    let workload = setup(&client).await?;
    let mut nodes = Vec::new();
    for server in servers {
        let mut creds = workload.clone();
        creds.server_url = server.trim_end_matches('/').to_owned();
        nodes.push(Arc::new(Client::with_protocol(creds, !args.http2).await?));
    }
    let first = nodes.first().cloned().context("no server")?;
    // The load generator (this thread) runs under the batch policy, so that its wake-ups do
    // not preempt the server it shares the cores with; the raw baseline's threads go back to
    // the default policy (they would inherit this thread's).
    if let Err(e) = strongroom_service::sched::batch_current_thread() {
        eprintln!("warning: {e}; the load generator keeps the default policy");
    }
    create_keys(&first).await?;
    if args.populate > 0 {
        populate(&first, args.populate, args.concurrency).await?;
    }
    let slices = args.duration.max(1);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let protocol = if args.http2 { "HTTP/2" } else { "HTTP/1.1" };
    println!(
        "strongroom bench: {} node(s), {protocol}, concurrency {}, {slices} s per scenario, raw baseline on {cores} cores",
        nodes.len(),
        args.concurrency,
    );
    println!(
        "| scenario | server ops/s | p50 ms | p99 ms | errors | store calls/request | load generator CPU | raw ops/s ({cores} cores) | server / raw |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in scenarios() {
        if args
            .scenarios
            .as_ref()
            .is_some_and(|only| !only.iter().any(|o| o == s.name))
        {
            continue;
        }
        let raw = Raw::new(s.name)?;
        let mut driver = Driver::connect(&nodes, &s, args.concurrency, args.http2).await?;
        let calls_before = store_calls(&nodes).await;
        // Load and raw baseline alternate in one-second slices, each load slice between two
        // raw slices, so that the drift of this shared machine's speed between seconds
        // weighs on both alike.
        let mut raw_rates = Vec::new();
        let mut tally = Tally::new();
        if let Some(raw) = &raw {
            raw_rates.push(raw.measure(SLICE, cores));
        }
        for _ in 0..slices {
            driver.run(SLICE, &mut tally).await;
            if let Some(raw) = &raw {
                raw_rates.push(raw.measure(SLICE, cores));
            }
        }
        let load = tally.finish(s.name)?;
        let calls = (store_calls(&nodes).await - calls_before) / load.requests.max(1) as f64;
        let (raw_text, ratio) = if raw_rates.is_empty() {
            ("-".into(), "-".into())
        } else {
            let r = raw_rates.iter().sum::<f64>() / raw_rates.len() as f64;
            (
                format!("{r:.0}"),
                format!("{:.0}%", 100.0 * load.ops_per_sec / r),
            )
        };
        let client = load.client_cpu.map_or_else(
            || "-".to_owned(),
            |c| format!("{:.0}%", 100.0 * c / cores as f64),
        );
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {calls:.2} | {client} | {raw_text} | {ratio} |",
            s.name, load.ops_per_sec, load.p50_ms, load.p99_ms, load.errors
        );
    }
    for (i, node) in nodes.iter().enumerate() {
        if let Some(peak) = metric(node, "strongroom_peak_resident_memory_bytes").await {
            println!(
                "node {} peak resident memory: {:.1} MB",
                i + 1,
                peak / 1_048_576.0
            );
        }
    }
    Ok(())
}

async fn store_calls(nodes: &[Arc<Client>]) -> f64 {
    let mut total = 0.0;
    for node in nodes {
        total += metric(node, "strongroom_store_calls_total")
            .await
            .unwrap_or(0.0);
    }
    total
}

async fn ignore_conflict(result: Result<Value, ClientError>) -> anyhow::Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(ClientError::Server {
            status: StatusCode::CONFLICT,
            ..
        }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

const WORKLOAD: &str = "bench-workload";

/// Creates the vaults and pool, and the workload identity with Crypto Officer on the vaults and
/// Crypto User on the pool; returns the workload's credentials.
async fn setup(client: &Client) -> anyhow::Result<strongroom_client::Credentials> {
    let body = json!({"sku": "premium", "retention_days": 7});
    ignore_conflict(
        client
            .admin(Method::PUT, "/vaults/bench-vault", Some(&body))
            .await,
    )
    .await?;
    ignore_conflict(
        client
            .admin(Method::PUT, "/vaults/bench-fill", Some(&body))
            .await,
    )
    .await?;
    ignore_conflict(
        client
            .admin(Method::PUT, "/managedhsms/bench-pool", Some(&body))
            .await,
    )
    .await?;
    match client
        .admin(Method::DELETE, &format!("/identities/{WORKLOAD}"), None)
        .await
    {
        Ok(_) | Err(ClientError::Server { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let created = client
        .admin(
            Method::POST,
            &format!("/identities/{WORKLOAD}"),
            Some(&json!({})),
        )
        .await?;
    let text = |k: &str| {
        created
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("the new identity has no {k}"))
    };
    let oid = text("object_id")?;
    let at = |vault: Option<&str>, hsm: Option<&str>| crate::cli::Target {
        vault_name: vault.map(str::to_owned),
        hsm_name: hsm.map(str::to_owned),
    };
    for (place, role) in [
        (at(Some("bench-vault"), None), "Key Vault Crypto Officer"),
        (at(Some("bench-fill"), None), "Key Vault Crypto Officer"),
        (at(None, Some("bench-pool")), "Managed HSM Crypto User"),
    ] {
        crate::roles::assign(client, &place, role, &oid, "/", None).await?;
    }
    let mut creds = client.credentials().clone();
    creds.client_id = text("client_id")?;
    creds.client_secret = text("client_secret")?;
    Ok(creds)
}

/// The keys the scenarios use.
async fn create_keys(client: &Client) -> anyhow::Result<()> {
    let vault = Container::Vault("bench-vault".into());
    let pool = Container::Hsm("bench-pool".into());
    client
        .data(
            &vault,
            Method::POST,
            "/keys/bench-ec/create",
            Some(&json!({"kty": "EC", "crv": "P-256"})),
        )
        .await?;
    client
        .data(
            &vault,
            Method::POST,
            "/keys/bench-rsa/create",
            Some(&json!({"kty": "RSA", "key_size": 2048})),
        )
        .await?;
    client
        .data(
            &pool,
            Method::POST,
            "/keys/bench-aes/create",
            Some(&json!({"kty": "oct-HSM", "key_size": 256})),
        )
        .await?;
    Ok(())
}

async fn populate(client: &Arc<Client>, count: usize, concurrency: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (client, next) = (Arc::clone(client), Arc::clone(&next));
            tokio::spawn(async move {
                let at = Container::Vault("bench-fill".into());
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if i >= count {
                        return Ok::<(), ClientError>(());
                    }
                    client
                        .data(
                            &at,
                            Method::POST,
                            &format!("/keys/fill-{i}/create"),
                            Some(&json!({"kty": "EC"})),
                        )
                        .await?;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.context("populate task")??;
    }
    println!(
        "stored {count} keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Length of one load slice and of one raw slice.
const SLICE: Duration = Duration::from_secs(1);

struct Load {
    requests: usize,
    ops_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
    /// Cores' worth of CPU the load generator used while loading.
    client_cpu: Option<f64>,
}

/// Latencies and errors gathered over the load slices of one scenario.
struct Tally {
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
    /// CPU time the load generator used, when the platform tells.
    client_cpu: Option<Duration>,
}

impl Tally {
    fn new() -> Self {
        Self {
            latencies: Vec::new(),
            errors: 0,
            elapsed: Duration::ZERO,
            client_cpu: Some(Duration::ZERO),
        }
    }

    fn finish(mut self, name: &str) -> anyhow::Result<Load> {
        let all = &mut self.latencies;
        all.sort();
        if all.is_empty() {
            bail!(
                "scenario {name} completed no request ({} errors)",
                self.errors
            );
        }
        let pct = |p: f64| {
            all.get(((all.len() as f64 * p) as usize).min(all.len() - 1))
                .map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        Ok(Load {
            requests: all.len(),
            ops_per_sec: all.len() as f64 / self.elapsed.as_secs_f64().max(1e-9),
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            errors: self.errors,
            client_cpu: self
                .client_cpu
                .map(|cpu| cpu.as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9)),
        })
    }
}

/// Where and how a request loop sends its requests.
#[derive(Clone)]
enum Endpoint {
    /// The lean HTTP/1.1 generator, one keep-alive connection per loop.
    Lean {
        target: crate::loadgen::Target,
        request: Arc<Vec<u8>>,
    },
    /// A general-purpose HTTP/2 client.
    Http2 {
        http: reqwest::Client,
        url: String,
        token: String,
        method: Method,
        body: Value,
    },
}

/// One request loop per request in flight, kept (with its connection) across slices.
struct Worker {
    endpoint: Endpoint,
    /// The lean generator's connection (None for HTTP/2, or after a failed reconnect).
    connection: Option<Box<crate::loadgen::Connection>>,
}

struct Driver {
    workers: Vec<Worker>,
}

impl Driver {
    /// Prepares `concurrency` request loops spread over `nodes`, connections opened.
    async fn connect(
        nodes: &[Arc<Client>],
        s: &Scenario,
        concurrency: usize,
        http2: bool,
    ) -> anyhow::Result<Self> {
        let mut templates = Vec::new();
        for client in nodes {
            templates.push(Self::template(client, s, http2).await?);
        }
        let mut workers = Vec::new();
        for i in 0..concurrency.max(1) {
            let endpoint = templates
                .get(i % templates.len().max(1))
                .context("no target")?
                .clone();
            let connection = match &endpoint {
                Endpoint::Lean { target, .. } => Some(Box::new(target.connect().await?)),
                Endpoint::Http2 { .. } => None,
            };
            workers.push(Worker {
                endpoint,
                connection,
            });
        }
        Ok(Self { workers })
    }

    async fn template(client: &Client, s: &Scenario, http2: bool) -> anyhow::Result<Endpoint> {
        let token = client.token_for(&s.container).await?;
        let (base, _) = client.base(&s.container);
        if http2 {
            return Ok(Endpoint::Http2 {
                http: client.http().clone(),
                url: format!("{base}{}?api-version=7.6", s.path),
                token,
                method: s.method.clone(),
                body: s.body.clone(),
            });
        }
        let creds = client.credentials();
        let server = url::Url::parse(&creds.server_url)?;
        let server_host = server
            .host_str()
            .context("server_url has no host")?
            .trim_matches(['[', ']'])
            .to_owned();
        let base = url::Url::parse(&base)?;
        let host = base.host_str().context("no host")?.to_owned();
        let port = base.port_or_known_default().unwrap_or(443);
        let addr = tokio::net::lookup_host((server_host.as_str(), port))
            .await?
            .next()
            .context("no address")?;
        let body = (!s.body.is_null()).then(|| s.body.to_string().into_bytes());
        let path = format!("{}?api-version=7.6", s.path);
        let request = crate::loadgen::request(
            s.method.as_str(),
            &format!("{host}:{port}"),
            &path,
            &token,
            body.as_deref(),
        );
        Ok(Endpoint::Lean {
            target: crate::loadgen::Target::new(addr, &host, creds.ca_file.as_deref())?,
            request: Arc::new(request),
        })
    }

    /// Runs every request loop for `length`, adding what they did to `tally`.
    async fn run(&mut self, length: Duration, tally: &mut Tally) {
        let cpu_before = thread_cpu();
        let started = Instant::now();
        let deadline = started + length;
        let tasks: Vec<_> = std::mem::take(&mut self.workers)
            .into_iter()
            .map(|mut worker| {
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    let mut errors = 0usize;
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        if worker.round_trip().await {
                            latencies.push(t.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                    (worker, latencies, errors)
                })
            })
            .collect();
        for task in tasks {
            // A load task only ends by returning: it has no panicking path.
            if let Ok((worker, latencies, errors)) = task.await {
                self.workers.push(worker);
                tally.latencies.extend(latencies);
                tally.errors += errors;
            }
        }
        tally.elapsed += started.elapsed();
        tally.client_cpu = match (tally.client_cpu, cpu_before, thread_cpu()) {
            (Some(total), Some(before), Some(after)) => Some(total + after.saturating_sub(before)),
            _ => None,
        };
    }
}

/// CPU time of the calling thread (the load generator's only thread), from procfs.
fn thread_cpu() -> Option<Duration> {
    cpu_of_stat(&std::fs::read_to_string("/proc/thread-self/stat").ok()?)
}

/// utime + stime of a procfs `stat` line.
fn cpu_of_stat(stat: &str) -> Option<Duration> {
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th
    // fields of the line, in USER_HZ (100 per second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

impl Worker {
    /// One request; true when it succeeded.
    async fn round_trip(&mut self) -> bool {
        match &self.endpoint {
            Endpoint::Lean { target, request } => {
                let result = match self.connection.as_mut() {
                    Some(c) => c.round_trip(request).await,
                    None => Err(anyhow::anyhow!("not connected")),
                };
                match result {
                    Ok(status) => (200..300).contains(&status),
                    Err(_) => {
                        // Reconnect for the next request; a refused connection stays None and
                        // counts as an error on each attempt.
                        self.connection = target.connect().await.ok().map(Box::new);
                        false
                    }
                }
            }
            Endpoint::Http2 {
                http,
                url,
                token,
                method,
                body,
            } => {
                let mut request = http
                    .request(method.clone(), url.as_str())
                    .bearer_auth(token);
                if !body.is_null() {
                    request = request.json(body);
                }
                match request.send().await {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                }
            }
        }
    }
}

/// The raw library operation behind a scenario.
struct Raw {
    op: Arc<dyn Fn() -> bool + Send + Sync>,
}

impl Raw {
    /// The operation of scenario `name`, or None when it has no library counterpart.
    fn new(name: &str) -> anyhow::Result<Option<Self>> {
        let crypto = SoftwareCrypto;
        let loaded = |spec: KeySpec| -> anyhow::Result<Arc<dyn LoadedKey>> {
            let m = crypto.generate(spec)?;
            Ok(crypto.load(&m.public, &m.private)?)
        };
        let op: Arc<dyn Fn() -> bool + Send + Sync> = match name {
            "sign-rsa2048" => {
                let key = loaded(KeySpec::Rsa {
                    bits: 2048,
                    exponent: RsaExponent::F4,
                })?;
                let alg = "RS256".parse()?;
                Arc::new(move || key.sign(alg, &[7u8; 32]).is_ok())
            }
            "sign-p256" => {
                let key = loaded(KeySpec::Ec { curve: Curve::P256 })?;
                let alg = "ES256".parse()?;
                Arc::new(move || key.sign(alg, &[7u8; 32]).is_ok())
            }
            "encrypt-a256gcm" => {
                let key = loaded(KeySpec::Oct {
                    bits: AesBits::B256,
                })?;
                Arc::new(move || key.encrypt(&cipher("A256GCM", &[1u8; 64])).is_ok())
            }
            "wrap-rsa-oaep256" => {
                let key = loaded(KeySpec::Rsa {
                    bits: 2048,
                    exponent: RsaExponent::F4,
                })?;
                Arc::new(move || key.wrap(&cipher("RSA-OAEP-256", &[2u8; 32])).is_ok())
            }
            "create-ec" => Arc::new(move || {
                SoftwareCrypto
                    .generate(KeySpec::Ec { curve: Curve::P256 })
                    .is_ok()
            }),
            _ => return Ok(None),
        };
        Ok(Some(Self { op }))
    }

    /// Operations per second on `cores` threads for `length`.
    fn measure(&self, length: Duration, cores: usize) -> f64 {
        let started = Instant::now();
        let deadline = started + length;
        let threads: Vec<_> = (0..cores)
            .map(|_| {
                let op = Arc::clone(&self.op);
                std::thread::spawn(move || {
                    let _ = strongroom_service::sched::default_current_thread();
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        if op() {
                            n += 1;
                        }
                    }
                    n
                })
            })
            .collect();
        let total: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
        total as f64 / started.elapsed().as_secs_f64()
    }
}

fn cipher(alg: &str, value: &[u8]) -> CipherInput {
    CipherInput {
        alg: alg
            .parse()
            .unwrap_or(strongroom_core::key::EncryptionAlgorithm::RsaOaep256),
        value: value.to_vec(),
        iv: None,
        aad: None,
        tag: None,
    }
}

async fn metric(client: &Client, name: &str) -> Option<f64> {
    let (base, _) = client.base(&Container::Default);
    let text = client
        .http()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_time_from_a_stat_line() {
        let line = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 1800 0 0 0 250 37 0 0 20 0 1 0";
        assert_eq!(cpu_of_stat(line), Some(Duration::from_millis(2870)));
        assert_eq!(cpu_of_stat("garbage"), None);
        assert!(thread_cpu().is_some());
    }
}
