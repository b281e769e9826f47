//! `strongroom bench`: load against a running server, each scenario next to a baseline
//! measured in the same run: the raw throughput of the same crypto library (aws-lc-rs through
//! Strongroom's provider) on all cores of this machine, or with `--floor` a bare HTTPS server
//! of the same stack answering the same requests; `--overload` measures goodput beyond
//! `max_in_flight`.

mod driver;
pub mod floor;
mod loadgen;
mod overload;
mod raw;

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use strongroom_client::{Client, ClientError, Container};

use driver::{Driver, SLICE, Tally};
use raw::Raw;

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
    /// Scenarios to run (default all): health, get-key, sign-rsa2048, sign-p256, encrypt-a256gcm, wrap-rsa-oaep256, create-ec.
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Option<Vec<String>>,
    /// Nodes of one deployment to spread the load over (default: the credentials' server).
    #[arg(long, value_delimiter = ',')]
    pub servers: Option<Vec<String>>,
    /// Use HTTP/2 instead of HTTP/1.1 (the Azure SDKs for Python speak HTTP/1.1).
    #[arg(long)]
    pub http2: bool,
    /// Compare with a bare HTTPS server of the same stack (started by the bench, keys in
    /// memory, no authentication, storage or audit) instead of the raw library.
    #[arg(long)]
    pub floor: bool,
    /// Measure goodput under overload: RSA-2048 signs at 1x, 2x and 8x the server's
    /// `max_in_flight` connections, each retrying at once when refused.
    #[arg(long)]
    pub overload: bool,
}

/// One kind of request the bench sends.
pub struct Scenario {
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
            name: "health",
            container: Container::Default,
            method: Method::GET,
            path: "/healthz",
            body: Value::Null,
        },
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
    if args.http2 && (args.floor || args.overload) {
        bail!("--floor and --overload measure over HTTP/1.1 only");
    }
    // The load runs as a workload identity holding the roles it needs, as applications do.
    let workload = setup(&client).await?;
    let mut nodes = Vec::new();
    for server in servers {
        let mut creds = workload.clone();
        creds.server_url = server.trim_end_matches('/').to_owned();
        nodes.push(Arc::new(Client::with_protocol(creds, !args.http2).await?));
    }
    let first = nodes.first().cloned().context("no server")?;
    // The floor starts before this thread changes its policy, so that it keeps the default.
    let floor = if args.floor {
        Some(floor::FloorProcess::start(&workload.dns_suffix)?)
    } else {
        None
    };
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
    if args.overload {
        overload::run(&nodes, args.duration.max(1)).await?;
    } else {
        match &floor {
            Some(floor) => against_floor(&nodes, &args, floor).await?,
            None => against_raw(&nodes, &args).await?,
        }
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

fn selected<'a>(args: &'a BenchArgs) -> impl Iterator<Item = Scenario> + 'a {
    scenarios().into_iter().filter(|s| {
        args.scenarios
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == s.name))
    })
}

fn per_request(us: Option<f64>) -> String {
    us.map_or_else(|| "-".to_owned(), |us| format!("{us:.0}"))
}

/// Each scenario beside the raw library on every core.
async fn against_raw(nodes: &[Arc<Client>], args: &BenchArgs) -> anyhow::Result<()> {
    let slices = args.duration.max(1);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let protocol = if args.http2 { "HTTP/2" } else { "HTTP/1.1" };
    println!(
        "strongroom bench: {} node(s), {protocol}, concurrency {}, {slices} s per scenario, raw baseline on {cores} cores",
        nodes.len(),
        args.concurrency,
    );
    println!(
        "| scenario | server ops/s | p50 ms | p99 ms | errors | server CPU us/request | store calls/request | load generator CPU | raw ops/s ({cores} cores) | server / raw |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in selected(args) {
        let raw = Raw::new(s.name)?;
        let mut driver = Driver::connect(nodes, &s, args.concurrency, args.http2).await?;
        let calls_before = store_calls(nodes).await;
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
        let calls = (store_calls(nodes).await - calls_before) / load.requests.max(1) as f64;
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
            "| {} | {:.0} | {:.2} | {:.2} | {} | {} | {calls:.2} | {client} | {raw_text} | {ratio} |",
            s.name,
            load.ops_per_sec,
            load.p50_ms,
            load.p99_ms,
            load.errors,
            per_request(load.server_us_per_request)
        );
    }
    Ok(())
}

/// Each scenario beside the floor: the same requests to a bare HTTPS server of the same
/// stack, in alternating one-second slices, with the ratio of throughputs and both servers'
/// CPU time per request.
async fn against_floor(
    nodes: &[Arc<Client>],
    args: &BenchArgs,
    floor: &floor::FloorProcess,
) -> anyhow::Result<()> {
    let slices = args.duration.max(1);
    println!(
        "strongroom bench --floor: {} node(s), HTTP/1.1, concurrency {}, {slices} s per scenario and server",
        nodes.len(),
        args.concurrency,
    );
    println!(
        "| scenario | Strongroom ops/s | p50 ms | p99 ms | CPU us/request | floor ops/s | p50 ms | p99 ms | CPU us/request | Strongroom / floor |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in selected(args) {
        let mut driver = Driver::connect(nodes, &s, args.concurrency, false).await?;
        let mut bare = driver
            .retarget(floor.addr, &floor.ca_file, floor.pid())
            .await?;
        // Both answer alike, or the comparison would not be fair.
        let (ours, theirs) = (driver.sample().await?, bare.sample().await?);
        if let Err(e) = same_shape(&ours, &theirs) {
            bail!(
                "scenario {}: the floor does not answer as Strongroom does: {e}",
                s.name
            );
        }
        let (mut tally, mut floor_tally) = (Tally::new(), Tally::new());
        for _ in 0..slices {
            driver.run(SLICE, &mut tally).await;
            bare.run(SLICE, &mut floor_tally).await;
        }
        let (load, base) = (tally.finish(s.name)?, floor_tally.finish(s.name)?);
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {:.0} | {:.2} | {:.2} | {} | {:.2} |",
            s.name,
            load.ops_per_sec,
            load.p50_ms,
            load.p99_ms,
            per_request(load.server_us_per_request),
            base.ops_per_sec,
            base.p50_ms,
            base.p99_ms,
            per_request(base.server_us_per_request),
            load.ops_per_sec / base.ops_per_sec.max(1e-9),
        );
        if load.errors + base.errors > 0 {
            println!(
                "(errors: Strongroom {}, floor {})",
                load.errors, base.errors
            );
        }
    }
    Ok(())
}

/// Two responses agree in status and in the member names of their JSON bodies (values differ:
/// ids, keys and signatures are each server's own).
fn same_shape(a: &(u16, Vec<u8>), b: &(u16, Vec<u8>)) -> Result<(), String> {
    if a.0 != b.0 {
        return Err(format!("status {} against {}", a.0, b.0));
    }
    let paths = |body: &[u8]| -> Option<Vec<String>> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let mut out = Vec::new();
        member_paths(&value, "", &mut out);
        out.sort();
        Some(out)
    };
    match (paths(&a.1), paths(&b.1)) {
        (Some(x), Some(y)) if x == y => Ok(()),
        (None, None) if a.1 == b.1 => Ok(()),
        _ => Err(format!(
            "{} against {}",
            String::from_utf8_lossy(&a.1),
            String::from_utf8_lossy(&b.1)
        )),
    }
}

fn member_paths(value: &Value, at: &str, out: &mut Vec<String>) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            let path = format!("{at}/{k}");
            member_paths(v, &path, out);
            out.push(path);
        }
    }
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
    fn compares_the_member_names_of_responses() {
        let a = (
            200,
            br#"{"key":{"kid":"a","x":"1"},"attributes":{"enabled":true}}"#.to_vec(),
        );
        let b = (
            200,
            br#"{"attributes":{"enabled":false},"key":{"x":"2","kid":"b"}}"#.to_vec(),
        );
        assert_eq!(same_shape(&a, &b), Ok(()));
        let fewer = (
            200,
            br#"{"key":{"kid":"a"},"attributes":{"enabled":true}}"#.to_vec(),
        );
        assert!(same_shape(&a, &fewer).is_err());
        assert!(same_shape(&a, &(404, a.1.clone())).is_err());
        assert_eq!(
            same_shape(&(200, b"ok".to_vec()), &(200, b"ok".to_vec())),
            Ok(())
        );
        assert!(same_shape(&(200, b"ok".to_vec()), &(200, b"no".to_vec())).is_err());
    }
}
