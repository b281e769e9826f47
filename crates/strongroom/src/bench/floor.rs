//! The floor of `bench --floor`: the least an HTTPS key service can do per request, built from
//! Strongroom's own stack (rustls on aws-lc-rs with the same kind of certificate, axum on
//! hyper through axum-server, serde_json, the same crypto provider, mimalloc, the same
//! runtime) and answering the bench's requests with bodies of the same shape, from keys held
//! in memory: no authentication, storage, audit, metrics, Azure headers or routing by host.
//! It runs as a child process of the bench (`strongroom bench-floor`), so that its CPU time is
//! its own.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use anyhow::Context;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use strongroom_api::keys::{
    JsonWebKey, KeyAttributes, KeyBundle, KeyOperationResult, KeyOperationsParameters,
    KeySignParameters,
};
use strongroom_core::b64;
use strongroom_core::key::{AesBits, Curve, KeyKind, KeyOp, KeySpec, PublicKeyParts, RsaExponent};
use strongroom_core::ports::{CipherInput, CryptoProvider, KeyMaterial, LoadedKey};
use strongroom_crypto::SoftwareCrypto;

/// Flags of the floor server.
#[derive(Debug, clap::Args)]
pub struct FloorArgs {
    /// DNS suffix its certificate covers (as the measured server's does).
    #[arg(long, default_value = "strongroom.localhost")]
    pub dns_suffix: String,
}

/// A key of the floor: its bundle as served and the loaded key for crypto.
struct FloorKey {
    kid: String,
    bundle: KeyBundle,
    loaded: Arc<dyn LoadedKey>,
}

#[derive(Default)]
struct Keys {
    by_name: RwLock<HashMap<String, Arc<FloorKey>>>,
}

type Shared = Arc<Keys>;

const CREATED: i64 = 1_767_225_600;

fn floor_key(name: &str, kind: KeyKind, m: &KeyMaterial) -> anyhow::Result<FloorKey> {
    let version = uuid::Uuid::new_v4().simple().to_string();
    let kid = format!("https://floor/keys/{name}/{version}");
    let mut key = JsonWebKey {
        kid: Some(kid.clone()),
        key_ops: Some(
            KeyOp::defaults_for(kind)
                .iter()
                .map(|o| o.as_str().to_owned())
                .collect(),
        ),
        ..JsonWebKey::default()
    };
    match &m.public {
        PublicKeyParts::Rsa { n, e } => {
            key.kty = Some("RSA".into());
            key.n = Some(b64::encode(n));
            key.e = Some(b64::encode(e));
        }
        PublicKeyParts::Ec { curve, x, y } => {
            key.kty = Some("EC".into());
            key.crv = Some(curve.as_str().to_owned());
            key.x = Some(b64::encode(x));
            key.y = Some(b64::encode(y));
        }
        PublicKeyParts::Oct { .. } => key.kty = Some("oct-HSM".into()),
    }
    let bundle = KeyBundle {
        key,
        attributes: KeyAttributes {
            enabled: Some(true),
            created: Some(CREATED),
            updated: Some(CREATED),
            recoverable_days: Some(7),
            recovery_level: Some("CustomizedRecoverable+Purgeable".into()),
            exportable: Some(false),
            ..KeyAttributes::default()
        },
        ..KeyBundle::default()
    };
    Ok(FloorKey {
        kid,
        bundle,
        loaded: SoftwareCrypto.load(&m.public, &m.private)?,
    })
}

fn generate(name: &str, spec: KeySpec) -> anyhow::Result<FloorKey> {
    let kind = match spec {
        KeySpec::Rsa { .. } => KeyKind::Rsa,
        KeySpec::Ec { .. } => KeyKind::Ec,
        KeySpec::Oct { .. } => KeyKind::Oct,
    };
    floor_key(name, kind, &SoftwareCrypto.generate(spec)?)
}

/// Serves until standard input closes (the bench that started it ends), printing
/// `listening ADDR CA_FILE` once it accepts connections.
pub async fn run(args: FloorArgs) -> anyhow::Result<()> {
    let keys = Shared::default();
    {
        let mut map = keys
            .by_name
            .write()
            .map_err(|_| anyhow::anyhow!("key map poisoned"))?;
        for (name, spec) in [
            ("bench-ec", KeySpec::Ec { curve: Curve::P256 }),
            (
                "bench-rsa",
                KeySpec::Rsa {
                    bits: 2048,
                    exponent: RsaExponent::F4,
                },
            ),
            (
                "bench-aes",
                KeySpec::Oct {
                    bits: AesBits::B256,
                },
            ),
        ] {
            map.insert(name.to_owned(), Arc::new(generate(name, spec)?));
        }
    }
    let dir = tempfile::tempdir()?;
    let files = strongroom_server::tls::self_signed(dir.path(), &args.dns_suffix, &[])
        .map_err(anyhow::Error::msg)?;
    let tls = strongroom_server::tls::server_config(&files.cert, &files.key)
        .map_err(anyhow::Error::msg)?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/keys/{name}", get(get_key))
        .route("/keys/{name}/", get(get_key))
        .route("/keys/{name}/create", post(create))
        .route("/keys/{name}/{version}/{op}", post(operate))
        .with_state(keys);
    let ca = files.ca.context("the floor's certificate has no CA")?;
    println!("listening {addr} {}", ca.display());
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    std::thread::spawn(move || {
        // The bench holds the other end of standard input: its end (or its death) stops us.
        use std::io::BufRead;
        for _ in std::io::stdin().lock().lines() {}
        stopper.shutdown();
    });
    axum_server::tls_rustls::from_tcp_rustls(
        listener,
        axum_server::tls_rustls::RustlsConfig::from_config(tls),
    )?
    .handle(handle)
    .serve(app.into_make_service())
    .await?;
    drop(dir);
    Ok(())
}

fn missing() -> Response {
    (StatusCode::NOT_FOUND, "no such key").into_response()
}

fn bad(e: impl std::fmt::Display) -> Response {
    (StatusCode::BAD_REQUEST, e.to_string()).into_response()
}

fn key(keys: &Keys, name: &str) -> Option<Arc<FloorKey>> {
    keys.by_name.read().ok()?.get(name).cloned()
}

async fn get_key(State(keys): State<Shared>, Path(name): Path<String>) -> Response {
    match key(&keys, &name) {
        Some(k) => Json(&k.bundle).into_response(),
        None => missing(),
    }
}

async fn create(State(keys): State<Shared>, Path(name): Path<String>) -> Response {
    match generate(&name, KeySpec::Ec { curve: Curve::P256 }) {
        Ok(k) => {
            let k = Arc::new(k);
            let body = Json(&k.bundle).into_response();
            if let Ok(mut map) = keys.by_name.write() {
                map.insert(name, k);
            }
            body
        }
        Err(e) => bad(e),
    }
}

async fn operate(
    State(keys): State<Shared>,
    Path((name, _version, op)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let Some(k) = key(&keys, &name) else {
        return missing();
    };
    let result = if op == "sign" {
        sign(&k, &body)
    } else {
        cipher(&k, &op, &body)
    };
    match result {
        Ok(value) => Json(KeyOperationResult {
            kid: k.kid.clone(),
            value: b64::encode(value.0),
            iv: value.1.map(b64::encode),
            tag: value.2.map(b64::encode),
            aad: None,
        })
        .into_response(),
        Err(e) => bad(e),
    }
}

type Output = (Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);

fn sign(k: &FloorKey, body: &[u8]) -> anyhow::Result<Output> {
    let p: KeySignParameters = serde_json::from_slice(body)?;
    let alg = p.alg.as_deref().context("alg")?.parse()?;
    let digest = b64::decode(p.value.as_deref().context("value")?)?;
    Ok((k.loaded.sign(alg, &digest)?, None, None))
}

fn cipher(k: &FloorKey, op: &str, body: &[u8]) -> anyhow::Result<Output> {
    let p: KeyOperationsParameters = serde_json::from_slice(body)?;
    let input = CipherInput {
        alg: p.alg.as_deref().context("alg")?.parse()?,
        value: b64::decode(p.value.as_deref().context("value")?)?,
        iv: None,
        aad: None,
        tag: None,
    };
    let out = match op {
        "encrypt" => k.loaded.encrypt(&input)?,
        "wrapkey" => k.loaded.wrap(&input)?,
        other => anyhow::bail!("the floor does not do {other}"),
    };
    Ok((out.value, out.iv, out.tag))
}

/// The floor server, running as a child process of the bench; it stops when this is dropped.
pub struct FloorProcess {
    child: std::process::Child,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// The CA certificate that issued its certificate.
    pub ca_file: String,
}

impl FloorProcess {
    /// Starts `strongroom bench-floor` and waits until it listens.
    pub fn start(dns_suffix: &str) -> anyhow::Result<Self> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new(std::env::current_exe()?)
            .args(["bench-floor", "--dns-suffix", dns_suffix])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start the floor server")?;
        let stdout = child.stdout.take().context("the floor has no stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let mut words = line.split_whitespace();
        let (Some("listening"), Some(addr), Some(ca)) = (words.next(), words.next(), words.next())
        else {
            let _ = child.kill();
            anyhow::bail!("the floor server did not start: {line:?}");
        };
        Ok(Self {
            addr: addr.parse()?,
            ca_file: ca.to_owned(),
            child,
        })
    }

    /// Its process id, whose CPU time procfs tells.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for FloorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
