//! The load of one scenario: request loops that each keep one connection, run in slices, and
//! what they measured (latencies, refusals, errors, the CPU time of both ends).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::Value;
use strongroom_client::Client;

use super::Scenario;
use super::loadgen;

/// Length of one load slice and of one baseline slice.
pub const SLICE: Duration = Duration::from_secs(1);

/// What a scenario measured.
pub struct Load {
    pub requests: usize,
    pub ops_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: usize,
    /// Requests refused with 429, per second.
    pub refused_per_sec: f64,
    /// Cores' worth of CPU the load generator used while loading.
    pub client_cpu: Option<f64>,
    /// Server CPU time per successful request, in microseconds.
    pub server_us_per_request: Option<f64>,
}

/// Latencies and errors gathered over the load slices of one scenario.
pub struct Tally {
    latencies: Vec<Duration>,
    errors: usize,
    refused: usize,
    elapsed: Duration,
    /// CPU time the load generator used, when the platform tells.
    client_cpu: Option<Duration>,
    /// CPU time the server used while loaded, when it tells.
    server_cpu: Option<Duration>,
}

impl Tally {
    pub fn new() -> Self {
        Self {
            latencies: Vec::new(),
            errors: 0,
            refused: 0,
            elapsed: Duration::ZERO,
            client_cpu: Some(Duration::ZERO),
            server_cpu: Some(Duration::ZERO),
        }
    }

    pub fn finish(mut self, name: &str) -> anyhow::Result<Load> {
        let all = &mut self.latencies;
        all.sort();
        if all.is_empty() {
            bail!(
                "scenario {name} completed no request ({} errors, {} refused)",
                self.errors,
                self.refused
            );
        }
        let pct = |p: f64| {
            all.get(((all.len() as f64 * p) as usize).min(all.len() - 1))
                .map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        Ok(Load {
            requests: all.len(),
            ops_per_sec: all.len() as f64 / secs,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            errors: self.errors,
            refused_per_sec: self.refused as f64 / secs,
            client_cpu: self.client_cpu.map(|cpu| cpu.as_secs_f64() / secs),
            server_us_per_request: self
                .server_cpu
                .map(|cpu| cpu.as_secs_f64() * 1e6 / all.len() as f64),
        })
    }
}

/// Where the CPU time of the server under load is read.
#[derive(Clone)]
pub enum CpuSource {
    /// `process_cpu_seconds_total` of each node's metrics, summed.
    Nodes(Vec<Arc<Client>>),
    /// procfs of a child process.
    Process(u32),
}

impl CpuSource {
    async fn read(&self) -> Option<Duration> {
        match self {
            Self::Nodes(nodes) => {
                let mut total = 0.0;
                for node in nodes {
                    total += super::metric(node, "process_cpu_seconds_total").await?;
                }
                Some(Duration::from_secs_f64(total))
            }
            Self::Process(pid) => strongroom_server::metrics::cpu_of_stat(
                &std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?,
            ),
        }
    }
}

/// Where and how a request loop sends its requests.
#[derive(Clone)]
enum Endpoint {
    /// The lean HTTP/1.1 generator, one keep-alive connection per loop.
    Lean {
        target: loadgen::Target,
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

/// How one request ended.
enum Outcome {
    Ok,
    /// 429: admission control refused it.
    Refused,
    Failed,
}

/// One request loop per request in flight, kept (with its connection) across slices.
struct Worker {
    endpoint: Endpoint,
    /// The lean generator's connection (None for HTTP/2, or after a failed reconnect).
    connection: Option<Box<loadgen::Connection>>,
}

/// The request loops of one scenario against one server (or the nodes of one deployment).
pub struct Driver {
    workers: Vec<Worker>,
    cpu: CpuSource,
}

impl Driver {
    /// Prepares `concurrency` request loops spread over `nodes`, connections opened.
    pub async fn connect(
        nodes: &[Arc<Client>],
        s: &Scenario,
        concurrency: usize,
        http2: bool,
    ) -> anyhow::Result<Self> {
        let mut templates = Vec::new();
        for client in nodes {
            templates.push(template(client, s, http2).await?);
        }
        Self::open(templates, concurrency, CpuSource::Nodes(nodes.to_vec())).await
    }

    /// The same requests, byte for byte, sent to the floor at `addr` (whose certificate the
    /// CA in `ca_file` issued) instead.
    pub async fn retarget(
        &self,
        addr: SocketAddr,
        ca_file: &str,
        pid: u32,
    ) -> anyhow::Result<Self> {
        let Some(Worker {
            endpoint: Endpoint::Lean { target, request },
            ..
        }) = self.workers.first()
        else {
            bail!("the floor is measured over HTTP/1.1 only");
        };
        let floor = Endpoint::Lean {
            target: target.elsewhere(addr, Some(ca_file))?,
            request: Arc::clone(request),
        };
        Self::open(vec![floor], self.workers.len(), CpuSource::Process(pid)).await
    }

    async fn open(
        templates: Vec<Endpoint>,
        concurrency: usize,
        cpu: CpuSource,
    ) -> anyhow::Result<Self> {
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
        Ok(Self { workers, cpu })
    }

    /// One request on the first loop's connection: its status and body.
    pub async fn sample(&mut self) -> anyhow::Result<(u16, Vec<u8>)> {
        let worker = self.workers.first_mut().context("no request loop")?;
        match (&worker.endpoint, worker.connection.as_mut()) {
            (Endpoint::Lean { request, .. }, Some(c)) => {
                let status = c.round_trip(request).await?;
                Ok((status, c.body().to_vec()))
            }
            _ => bail!("samples are taken over HTTP/1.1 only"),
        }
    }

    /// Runs every request loop for `length`, adding what they did to `tally`.
    pub async fn run(&mut self, length: Duration, tally: &mut Tally) {
        let cpu_before = thread_cpu();
        let server_before = self.cpu.read().await;
        let started = Instant::now();
        let deadline = started + length;
        let tasks: Vec<_> = std::mem::take(&mut self.workers)
            .into_iter()
            .map(|mut worker| {
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    let (mut errors, mut refused) = (0usize, 0usize);
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        match worker.round_trip().await {
                            Outcome::Ok => latencies.push(t.elapsed()),
                            Outcome::Refused => refused += 1,
                            Outcome::Failed => errors += 1,
                        }
                    }
                    (worker, latencies, errors, refused)
                })
            })
            .collect();
        for task in tasks {
            // A load task only ends by returning: it has no panicking path.
            if let Ok((worker, latencies, errors, refused)) = task.await {
                self.workers.push(worker);
                tally.latencies.extend(latencies);
                tally.errors += errors;
                tally.refused += refused;
            }
        }
        tally.elapsed += started.elapsed();
        tally.server_cpu = match (tally.server_cpu, server_before, self.cpu.read().await) {
            (Some(total), Some(before), Some(after)) => Some(total + after.saturating_sub(before)),
            _ => None,
        };
        tally.client_cpu = match (tally.client_cpu, cpu_before, thread_cpu()) {
            (Some(total), Some(before), Some(after)) => Some(total + after.saturating_sub(before)),
            _ => None,
        };
    }
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
    let request = loadgen::request(
        s.method.as_str(),
        &format!("{host}:{port}"),
        &path,
        &token,
        body.as_deref(),
    );
    Ok(Endpoint::Lean {
        target: loadgen::Target::new(addr, &host, creds.ca_file.as_deref())?,
        request: Arc::new(request),
    })
}

/// CPU time of the calling thread (the load generator's only thread), from procfs.
fn thread_cpu() -> Option<Duration> {
    strongroom_server::metrics::cpu_of_stat(
        &std::fs::read_to_string("/proc/thread-self/stat").ok()?,
    )
}

impl Worker {
    /// One request.
    async fn round_trip(&mut self) -> Outcome {
        let judge = |status: u16| match status {
            200..=299 => Outcome::Ok,
            429 => Outcome::Refused,
            _ => Outcome::Failed,
        };
        match &self.endpoint {
            Endpoint::Lean { target, request } => {
                let result = match self.connection.as_mut() {
                    Some(c) => c.round_trip(request).await,
                    None => Err(anyhow::anyhow!("not connected")),
                };
                match result {
                    Ok(status) => judge(status),
                    Err(_) => {
                        // Reconnect for the next request; a refused connection stays None and
                        // counts as an error on each attempt.
                        self.connection = target.connect().await.ok().map(Box::new);
                        Outcome::Failed
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
                    Ok(r) => {
                        let outcome = judge(r.status().as_u16());
                        match r.bytes().await {
                            Ok(_) => outcome,
                            Err(_) => Outcome::Failed,
                        }
                    }
                    Err(_) => Outcome::Failed,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_thread_cpu_time() {
        assert!(thread_cpu().is_some());
    }

    #[test]
    fn tally_reports_percentiles_and_refusals() {
        let mut t = Tally::new();
        t.latencies = (1..=100).map(Duration::from_millis).collect();
        t.refused = 50;
        t.elapsed = Duration::from_secs(2);
        t.server_cpu = Some(Duration::from_millis(10));
        let load = t.finish("x").unwrap();
        assert_eq!(load.requests, 100);
        assert!((load.ops_per_sec - 50.0).abs() < 1e-9);
        assert!((load.refused_per_sec - 25.0).abs() < 1e-9);
        assert!((load.p50_ms - 51.0).abs() < 1e-9);
        assert!((load.p99_ms - 100.0).abs() < 1e-9);
        assert!((load.server_us_per_request.unwrap() - 100.0).abs() < 1e-9);
        assert!(Tally::new().finish("empty").is_err());
    }
}
