//! `strongroom bench`: load against a running server, each scenario next to the raw
//! throughput of the same crypto library (aws-lc-rs through Strongroom's provider) on all
//! cores of this machine, measured in the same run, with the ratio.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use strongroom_client::{Client, ClientError, Container};
use strongroom_core::key::{AesBits, Curve, KeySpec};
use strongroom_core::ports::{CipherInput, CryptoProvider, LoadedKey};
use strongroom_crypto::SoftwareCrypto;

/// Flags of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Requests in flight.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds per scenario (server and raw each).
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
    let mut nodes = Vec::new();
    for server in servers {
        let mut creds = client.credentials().clone();
        creds.server_url = server.trim_end_matches('/').to_owned();
        nodes.push(Arc::new(Client::with_protocol(creds, !args.http2).await?));
    }
    let first = nodes.first().cloned().context("no server")?;
    setup(&first).await?;
    if args.populate > 0 {
        populate(&first, args.populate, args.concurrency).await?;
    }
    let duration = Duration::from_secs(args.duration.max(1));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let protocol = if args.http2 { "HTTP/2" } else { "HTTP/1.1" };
    println!(
        "strongroom bench: {} node(s), {protocol}, concurrency {}, {} s per scenario, raw baseline on {cores} cores",
        nodes.len(),
        args.concurrency,
        duration.as_secs()
    );
    println!(
        "| scenario | server ops/s | p50 ms | p99 ms | errors | store calls/request | raw ops/s ({cores} cores) | server / raw |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for s in scenarios() {
        if args
            .scenarios
            .as_ref()
            .is_some_and(|only| !only.iter().any(|o| o == s.name))
        {
            continue;
        }
        let raw_before = raw_ops(s.name, duration, cores)?;
        let calls_before = store_calls(&nodes).await;
        let load = if args.http2 {
            load(&nodes, &s, args.concurrency, duration).await?
        } else {
            lean_load(&nodes, &s, args.concurrency, duration).await?
        };
        let calls = (store_calls(&nodes).await - calls_before) / load.requests.max(1) as f64;
        // The raw baseline is measured right before and right after the load and averaged,
        // since this shared machine's speed drifts between seconds.
        let raw = match (raw_before, raw_ops(s.name, duration, cores)?) {
            (Some(a), Some(b)) => Some((a + b) / 2.0),
            _ => None,
        };
        let (raw_text, ratio) = match raw {
            Some(r) => (
                format!("{r:.0}"),
                format!("{:.0}%", 100.0 * load.ops_per_sec / r),
            ),
            None => ("-".into(), "-".into()),
        };
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {calls:.2} | {raw_text} | {ratio} |",
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

async fn setup(client: &Client) -> anyhow::Result<()> {
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

struct Load {
    requests: usize,
    ops_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
}

async fn load(
    nodes: &[Arc<Client>],
    s: &Scenario,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Load> {
    let mut targets = Vec::new();
    for client in nodes {
        let (base, _) = client.base(&s.container);
        let url = format!("{base}{}?api-version=7.6", s.path);
        targets.push((
            client.http().clone(),
            url,
            client.token_for(&s.container).await?,
        ));
    }
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|i| {
            let (http, url, token) = targets
                .get(i % targets.len().max(1))
                .cloned()
                .unwrap_or_else(|| (reqwest::Client::new(), String::new(), String::new()));
            let (method, body) = (s.method.clone(), s.body.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let mut request = http.request(method.clone(), &url).bearer_auth(&token);
                    if !body.is_null() {
                        request = request.json(&body);
                    }
                    match request.send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            latencies.push(t.elapsed());
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    collect(s.name, started, tasks).await
}

/// The same load through the lean HTTP/1.1 generator.
async fn lean_load(
    nodes: &[Arc<Client>],
    s: &Scenario,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Load> {
    let mut targets = Vec::new();
    for client in nodes {
        let creds = client.credentials();
        let server = url::Url::parse(&creds.server_url)?;
        let server_host = server
            .host_str()
            .context("server_url has no host")?
            .trim_matches(['[', ']'])
            .to_owned();
        let (base, _) = client.base(&s.container);
        let base = url::Url::parse(&base)?;
        let host = base.host_str().context("no host")?.to_owned();
        let port = base.port_or_known_default().unwrap_or(443);
        let addr = tokio::net::lookup_host((server_host.as_str(), port))
            .await?
            .next()
            .context("no address")?;
        let body = (!s.body.is_null()).then(|| s.body.to_string().into_bytes());
        let path = format!("{}?api-version=7.6", s.path);
        let token = client.token_for(&s.container).await?;
        let request = crate::loadgen::request(
            s.method.as_str(),
            &format!("{host}:{port}"),
            &path,
            &token,
            body.as_deref(),
        );
        targets.push((
            crate::loadgen::Target::new(addr, &host, creds.ca_file.as_deref())?,
            Arc::new(request),
        ));
    }
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for i in 0..concurrency.max(1) {
        let (target, request) = targets
            .get(i % targets.len().max(1))
            .cloned()
            .context("no target")?;
        let mut connection = target.connect().await?;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let t = Instant::now();
                match connection.round_trip(&request).await {
                    Ok(status) if (200..300).contains(&status) => latencies.push(t.elapsed()),
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        match target.connect().await {
                            Ok(c) => connection = c,
                            Err(_) => break,
                        }
                    }
                }
            }
            (latencies, errors)
        }));
    }
    collect(s.name, started, tasks).await
}

async fn collect(
    name: &str,
    started: Instant,
    tasks: Vec<tokio::task::JoinHandle<(Vec<Duration>, usize)>>,
) -> anyhow::Result<Load> {
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.context("load task")?;
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    if all.is_empty() {
        bail!("scenario {name} completed no request ({errors} errors)");
    }
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len() - 1))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    Ok(Load {
        requests: all.len(),
        ops_per_sec: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        errors,
    })
}

/// The raw library operation behind a scenario, on `cores` threads.
fn raw_ops(name: &str, duration: Duration, cores: usize) -> anyhow::Result<Option<f64>> {
    let crypto = SoftwareCrypto;
    let loaded = |spec: KeySpec| -> anyhow::Result<Arc<dyn LoadedKey>> {
        let m = crypto.generate(spec)?;
        Ok(crypto.load(&m.public, &m.private)?)
    };
    let op: Arc<dyn Fn() -> bool + Send + Sync> = match name {
        "sign-rsa2048" => {
            let key = loaded(KeySpec::Rsa { bits: 2048 })?;
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
            let key = loaded(KeySpec::Rsa { bits: 2048 })?;
            Arc::new(move || key.wrap(&cipher("RSA-OAEP-256", &[2u8; 32])).is_ok())
        }
        "create-ec" => Arc::new(move || {
            SoftwareCrypto
                .generate(KeySpec::Ec { curve: Curve::P256 })
                .is_ok()
        }),
        _ => return Ok(None),
    };
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let op = Arc::clone(&op);
            std::thread::spawn(move || {
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
    Ok(Some(total as f64 / started.elapsed().as_secs_f64()))
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
