//! Tests that run the real `strongroom` binary: the CLI against a server, and the crash test
//! (kill -9 during a stream of acknowledged key creations; every acknowledged key survives).
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failed step fails the test"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use strongroom_client::{Client, Container};

const BIN: &str = env!("CARGO_BIN_EXE_strongroom");

struct Server {
    child: Child,
    dir: PathBuf,
}

impl Server {
    fn start(dir: &Path, port: u16) -> Self {
        Self::start_on(dir, port, None, "warn")
    }

    fn start_on(dir: &Path, port: u16, database_url: Option<&str>, level: &str) -> Self {
        let env: Vec<(&str, &str)> = database_url
            .map(|url| ("STRONGROOM_DATABASE_URL", url))
            .into_iter()
            .collect();
        Self::start_with(dir, port, &env, level)
    }

    fn start_with(dir: &Path, port: u16, env: &[(&str, &str)], level: &str) -> Self {
        let log = std::fs::File::create(dir.join(format!("server-{port}.log"))).unwrap();
        let mut command = Command::new(BIN);
        command.envs(env.iter().copied());
        let child = command
            .args(["serve", "--data-dir"])
            .arg(dir.join("data"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("STRONGROOM_LOG", level)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Self {
            child,
            dir: dir.to_owned(),
        };
        server.wait_ready(port);
        server
    }

    fn wait_ready(&self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && self.credentials().exists()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server did not start");
    }

    fn credentials(&self) -> PathBuf {
        self.dir.join("data").join("admin-credentials.json")
    }

    /// Runs the CLI; returns its exit status, stdout and stderr.
    fn run(&self, credentials: &Path, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(BIN)
            .arg("--credentials")
            .arg(credentials)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn cli(&self, args: &[&str]) -> Value {
        let out = Command::new(BIN)
            .arg("--credentials")
            .arg(self.credentials())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "graceful shutdown exits 0");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn cli_manages_vaults_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), free_port());
    server.cli(&[
        "vault",
        "create",
        "--name",
        "cli-vault",
        "--retention-days",
        "7",
    ]);
    let key = server.cli(&[
        "key",
        "create",
        "--vault-name",
        "cli-vault",
        "--name",
        "k1",
        "--kty",
        "EC",
        "--curve",
        "P-256",
        "--tags",
        "team=a",
    ]);
    assert_eq!(key["key"]["crv"], "P-256");
    assert_eq!(key["tags"]["team"], "a");
    let digest = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    let sig = server.cli(&[
        "key",
        "sign",
        "--vault-name",
        "cli-vault",
        "-n",
        "k1",
        "-a",
        "ES256",
        "--digest",
        digest,
    ]);
    let sig = sig["value"].as_str().unwrap().to_owned();
    let ok = server.cli(&[
        "key",
        "verify",
        "--vault-name",
        "cli-vault",
        "-n",
        "k1",
        "-a",
        "ES256",
        "--digest",
        digest,
        "--signature",
        &sig,
    ]);
    assert_eq!(ok["value"], true);
    let listed = server.cli(&["key", "list", "--vault-name", "cli-vault"]);
    assert_eq!(listed["value"].as_array().unwrap().len(), 1);
    let backup = dir.path().join("k1.backup");
    server.cli(&[
        "key",
        "backup",
        "--vault-name",
        "cli-vault",
        "-n",
        "k1",
        "--file",
        backup.to_str().unwrap(),
    ]);
    server.cli(&["key", "delete", "--vault-name", "cli-vault", "-n", "k1"]);
    server.cli(&["key", "purge", "--vault-name", "cli-vault", "-n", "k1"]);
    let restored = server.cli(&[
        "key",
        "restore",
        "--vault-name",
        "cli-vault",
        "--file",
        backup.to_str().unwrap(),
    ]);
    assert_eq!(restored["key"]["kid"], key["key"]["kid"]);
    let identity = server.cli(&["identity", "create", "--name", "workload"]);
    assert!(identity["env"]["IDENTITY_HEADER"].as_str().unwrap().len() > 20);
    server.terminate();
}

#[test]
fn cli_output_is_for_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Server::start_on(dir.path(), port, None, "info");
    let creds = server.credentials();
    // Times go in as ISO 8601 or Unix seconds and come out as ISO 8601 UTC, as az prints them.
    let key = server.cli(&[
        "key",
        "create",
        "-n",
        "person",
        "--kty",
        "RSA",
        "--expires",
        "2031-01-31T12:00:00Z",
        "--not-before",
        "1700000000",
    ]);
    assert_eq!(key["attributes"]["exp"], "2031-01-31T12:00:00+00:00");
    assert_eq!(key["attributes"]["nbf"], "2023-11-14T22:13:20+00:00");
    let version = key["key"]["kid"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();

    let (status, table, _) = server.run(&creds, &["key", "show", "-n", "person", "-o", "table"]);
    assert_eq!(status, 0);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "Name", "Version", "Kty", "Enabled", "Created", "Updated", "Expires"
        ]
    );
    assert!(lines.next().unwrap().starts_with("-----"));
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&row[..4], ["person", version.as_str(), "RSA", "true"]);
    assert_eq!(row[6], "2031-01-31T12:00:00+00:00");
    let n = key["key"]["n"].as_str().unwrap();
    assert!(
        !table.contains(&n[..16]) && !table.contains("AQAB"),
        "{table}"
    );
    assert!(table.lines().all(|l| l.chars().count() <= 160), "{table}");

    // Errors: one line with the service's code, the exit status telling the kind.
    let (status, out, err) = server.run(&creds, &["key", "show", "-n", "absent"]);
    assert_eq!((status, out.as_str()), (3, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: KeyNotFound: A key with (name/id) absent"),
        "{err}"
    );
    let (status, _, err) = server.run(&creds, &["key", "show", "-n", "absent", "--debug"]);
    assert_eq!(status, 3);
    assert!(
        err.contains("HTTP 404 Not Found") && err.contains(r#"{"error":{"code":"KeyNotFound""#),
        "{err}"
    );
    let (status, _, err) = server.run(
        &creds,
        &[
            "key", "create", "-n", "bad", "--kty", "RSA", "--size", "1000",
        ],
    );
    assert_eq!(status, 1, "{err}");
    assert!(err.starts_with("error: BadParameter: "), "{err}");
    let (status, _, err) = server.run(&creds, &["key", "create", "-n", "bad", "--expires", "soon"]);
    assert_eq!(status, 2, "{err}");
    // A stranger's token is refused; an unreachable server is told apart.
    let mut stranger: Value = serde_json::from_slice(&std::fs::read(&creds).unwrap()).unwrap();
    stranger["client_secret"] = json!("not-the-secret");
    let stranger_path = dir.path().join("stranger.json");
    std::fs::write(&stranger_path, stranger.to_string()).unwrap();
    let (status, _, err) = server.run(&stranger_path, &["key", "list"]);
    assert_eq!(status, 4, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    let mut gone = stranger.clone();
    gone["server_url"] = json!(format!("https://127.0.0.1:{}", free_port()));
    std::fs::write(&stranger_path, gone.to_string()).unwrap();
    let (status, _, err) = server.run(&stranger_path, &["key", "list"]);
    assert_eq!(status, 6, "{err}");
    assert!(err.starts_with("error: ConnectionFailed: "), "{err}");

    // The server's log went to a file: no colour codes in it.
    server.terminate();
    let log = std::fs::read_to_string(dir.path().join(format!("server-{port}.log"))).unwrap();
    assert!(log.contains("shutting down"), "{log}");
    assert!(!log.contains('\u{1b}'), "{log}");
}

/// Runs `strongroom bench ARGS` against `server`; its standard output.
fn bench(server: &Server, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--credentials")
        .arg(server.credentials())
        .arg("bench")
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn bench_prints_its_table() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), free_port());
    let text = bench(
        &server,
        &[
            "--concurrency",
            "2",
            "--duration",
            "1",
            "--scenarios",
            "get-key,sign-rsa2048,create-ec",
        ],
    );
    for scenario in ["get-key", "sign-rsa2048", "create-ec"] {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("| {scenario} |")))
            .unwrap_or_else(|| panic!("no row for {scenario} in {text}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        // | name | ops/s | p50 | p99 | errors | CPU/request | store calls | client CPU | raw |
        // ratio |
        assert_eq!(cells.len(), 12, "{row}");
        assert!(cells[2].parse::<f64>().unwrap() > 0.0, "{row}");
        assert_eq!(cells[5], "0", "{row}");
        assert!(cells[6].parse::<f64>().unwrap() > 0.0, "{row}");
        if scenario == "get-key" {
            assert_eq!((cells[9], cells[10]), ("-", "-"), "{row}");
        } else {
            assert!(cells[9].parse::<f64>().unwrap() > 0.0, "{row}");
            assert!(cells[10].ends_with('%'), "{row}");
        }
    }
    let calls = |scenario: &str| -> f64 {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("| {scenario} |")))
            .unwrap();
        row.split('|').nth(7).unwrap().trim().parse().unwrap()
    };
    assert_eq!(calls("get-key"), 0.0);
    assert_eq!(calls("create-ec"), 1.0);
    assert!(text.contains("peak resident memory"), "{text}");
    server.terminate();
}

/// The rows of a bench table whose first cell is one of `names`, split into cells.
fn rows<'a>(text: &'a str, names: &[&str]) -> Vec<Vec<&'a str>> {
    let found: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>())
        .filter(|cells| cells.get(1).is_some_and(|c| names.contains(c)))
        .collect();
    assert_eq!(found.len(), names.len(), "{text}");
    found
}

#[test]
fn bench_measures_strongroom_beside_the_floor() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), free_port());
    let scenarios = "health,get-key,encrypt-a256gcm,sign-p256";
    let text = bench(
        &server,
        &[
            "--floor",
            "--concurrency",
            "2",
            "--duration",
            "1",
            "--scenarios",
            scenarios,
        ],
    );
    let names = ["health", "get-key", "encrypt-a256gcm", "sign-p256"];
    for cells in rows(&text, &names) {
        // | name | ops/s | p50 | p99 | CPU | floor ops/s | p50 | p99 | CPU | ratio |
        assert_eq!(cells.len(), 12, "{cells:?}");
        for i in [2, 5, 6, 9, 10] {
            assert!(cells[i].parse::<f64>().unwrap() > 0.0, "{cells:?}");
        }
    }
    server.terminate();
}

#[test]
fn bench_measures_goodput_under_overload() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        free_port(),
        &[("STRONGROOM_MAX_IN_FLIGHT", "2")],
        "warn",
    );
    let text = bench(&server, &["--overload", "--duration", "1"]);
    assert!(text.contains("max_in_flight 2 "), "{text}");
    for cells in rows(&text, &["2", "4", "16"]) {
        // | connections | load | goodput | refusals | p50 | p99 | errors | CPU | share |
        assert_eq!(cells.len(), 11, "{cells:?}");
        assert!(cells[3].parse::<f64>().unwrap() > 0.0, "{cells:?}");
        assert_eq!(cells[7], "0", "{cells:?}");
        assert!(cells[9].ends_with('%'), "{cells:?}");
    }
    server.terminate();
}

#[test]
fn acknowledged_keys_survive_kill_9_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("data").join("strongroom.db").display()
    );
    crash_test(dir.path(), &url);
}

#[test]
fn acknowledged_keys_survive_kill_9_on_postgres() {
    let Ok(base) = std::env::var("STRONGROOM_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run the PostgreSQL crash test"
        );
        eprintln!("skipped: STRONGROOM_TEST_POSTGRES_URL is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let name = format!("crash_{}", std::process::id());
    let url = runtime
        .block_on(strongroom_store::SqlStore::create_postgres_database(
            &base, &name,
        ))
        .unwrap();
    crash_test(dir.path(), &url);
}

/// Streams acknowledged key creations, kills the server with SIGKILL, restarts it, and checks
/// that every acknowledged key exists and signs, and that the database is consistent.
fn crash_test(dir: &Path, url: &str) {
    let port = free_port();
    let server = Server::start_on(dir, port, Some(url), "warn");
    server.cli(&[
        "vault",
        "create",
        "--name",
        "crash-vault",
        "--retention-days",
        "7",
    ]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let creds = server.credentials();
    runtime.block_on(async {
        let client = Arc::new(Client::from_file(&creds).await.unwrap());
        let at = Container::Vault("crash-vault".into());
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let (client, at, acknowledged) = (client.clone(), at.clone(), acknowledged.clone());
                tokio::spawn(async move {
                    for i in 0.. {
                        let name = format!("key-{w}-{i}");
                        let body = json!({"kty": "EC", "crv": "P-256"});
                        match client
                            .data(
                                &at,
                                Method::POST,
                                &format!("/keys/{name}/create"),
                                Some(&body),
                            )
                            .await
                        {
                            Ok(_) => acknowledged.lock().unwrap().push(name),
                            Err(_) => break,
                        }
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.kill9();
        for w in writers {
            w.await.unwrap();
        }
    });
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 10,
        "the stream made progress: {}",
        acknowledged.len()
    );

    let server = Server::start_on(dir, port, Some(url), "warn");
    runtime.block_on(async {
        let client = Client::from_file(&server.credentials()).await.unwrap();
        let at = Container::Vault("crash-vault".into());
        let digest = strongroom_core::b64::encode([3u8; 32]);
        for name in &acknowledged {
            client
                .data(&at, Method::GET, &format!("/keys/{name}"), None)
                .await
                .unwrap_or_else(|e| panic!("{name} lost: {e}"));
            let body = json!({"alg": "ES256", "value": digest});
            client
                .data(
                    &at,
                    Method::POST,
                    &format!("/keys/{name}//sign"),
                    Some(&body),
                )
                .await
                .unwrap();
        }
    });
    // Every acknowledged creation has its audit event: stored by the creation's own
    // transaction, linked into a chain by the restarted node.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let listed = server.cli(&[
            "audit",
            "list",
            "--operation",
            "KeyCreate",
            "--output",
            "json",
        ]);
        let audited: std::collections::HashSet<&str> = listed
            .get("value")
            .and_then(Value::as_array)
            .unwrap()
            .iter()
            .filter(|e| e.get("result").and_then(Value::as_str) == Some("Success"))
            .filter_map(|e| e.get("resource").and_then(Value::as_str))
            .collect();
        let missing: Vec<&String> = acknowledged
            .iter()
            .filter(|n| !audited.contains(format!("/vaults/crash-vault/keys/{n}").as_str()))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} acknowledged creations have no audit event: {missing:?}",
            missing.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let report = server.cli(&["audit", "verify", "--output", "json"]);
    assert_eq!(report.get("intact"), Some(&Value::Bool(true)), "{report}");
    println!(
        "{} acknowledged keys survived kill -9, each with its audit event",
        acknowledged.len()
    );
    server.terminate();
    runtime.block_on(async {
        let store = strongroom_store::SqlStore::connect(url).await.unwrap();
        assert_eq!(store.integrity_check().await.unwrap(), Vec::<String>::new());
    });
}

#[test]
fn cli_manages_role_assignments_of_vaults_and_pools() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), free_port());
    server.cli(&["vault", "create", "--name", "role-vault"]);
    server.cli(&["hsm", "create", "--name", "role-pool"]);
    let identity = server.cli(&["identity", "create", "--name", "officer"]);
    let oid = identity["object_id"].as_str().unwrap().to_owned();
    for (flag, place, role) in [
        ("--vault-name", "role-vault", "Key Vault Crypto Officer"),
        ("--hsm-name", "role-pool", "Managed HSM Crypto User"),
    ] {
        let assign_role = |role: &str, scope: &str| {
            let args = ["create", flag, place, "--role", role];
            let to = ["--assignee-object-id", &oid, "--scope", scope];
            server.cli(&[&["role", "assignment"][..], &args, &to].concat())
        };
        let assign = |scope: &str| assign_role(role, scope);
        let created = assign("/keys");
        assert_eq!(created["properties"]["principalId"], oid.as_str());
        assert_eq!(created["properties"]["scope"], "/keys");
        let name = created["name"].as_str().unwrap().to_owned();
        let listed = server.cli(&[
            "role",
            "assignment",
            "list",
            flag,
            place,
            "--scope",
            "/keys",
            "--assignee-object-id",
            &oid,
        ]);
        let names: Vec<&str> = listed["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["name"].as_str())
            .collect();
        assert_eq!(names, [name.as_str()]);
        let shown = server.cli(&["role", "definition", "show", flag, place, "--name", role]);
        assert_eq!(created["properties"]["roleDefinitionId"], shown["id"]);
        server.cli(&[
            "role",
            "assignment",
            "delete",
            flag,
            place,
            "--name",
            &name,
            "--scope",
            "/keys",
        ]);
        let listed = server.cli(&[
            "role",
            "assignment",
            "list",
            flag,
            place,
            "--assignee-object-id",
            &oid,
        ]);
        assert_eq!(listed["value"].as_array().unwrap().len(), 0, "{listed}");
        assign("/");
        let deleted = server.cli(&[
            "role",
            "assignment",
            "delete",
            flag,
            place,
            "--role",
            role,
            "--assignee-object-id",
            &oid,
            "--scope",
            "/",
        ]);
        assert_eq!(deleted["value"].as_array().unwrap().len(), 1);
        let (code, _, err) = server.run(
            &server.credentials(),
            &[
                "role",
                "assignment",
                "create",
                flag,
                place,
                "--role",
                "No Such Role",
                "--assignee-object-id",
                &oid,
            ],
        );
        assert_eq!(code, 3, "{err}");

        // A custom role: created, assigned, not deletable while assigned, then deleted.
        let action = if flag == "--hsm-name" {
            "Microsoft.KeyVault/managedHsm/keys/read/action"
        } else {
            "Microsoft.KeyVault/vaults/keys/read"
        };
        let json = format!(
            r#"{{"roleName": "Key peeker", "description": "reads keys", "dataActions": ["{action}"]}}"#
        );
        let definition = |verb: &str, extra: &[&str]| {
            let args = [&["role", "definition", verb, flag, place][..], extra].concat();
            server.run(&server.credentials(), &args)
        };
        let (code, out, err) = definition("create", &["--role-definition", &json]);
        assert_eq!(code, 0, "{err}");
        let custom: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(custom["properties"]["type"], "CustomRole");
        assert_eq!(
            custom["properties"]["permissions"][0]["dataActions"][0],
            action
        );
        let peek = assign_role("Key peeker", "/keys");
        let (code, _, err) = definition("delete", &["--name", "Key peeker"]);
        assert_eq!(code, 1, "deleting an assigned role: {err}");
        assert!(err.contains("is assigned"), "{err}");
        let name = peek["name"].as_str().unwrap();
        server.cli(&[
            "role",
            "assignment",
            "delete",
            flag,
            place,
            "--name",
            name,
            "--scope",
            "/keys",
        ]);
        let (code, _, err) = definition("delete", &["--name", "Key peeker"]);
        assert_eq!(code, 0, "{err}");
        let (code, _, _) = definition("show", &["--name", "Key peeker"]);
        assert_ne!(code, 0);
    }
    // An access-policy vault: its creator holds every permission; set-policy replaces.
    server.cli(&[
        "vault",
        "create",
        "--name",
        "policy-vault",
        "--enable-rbac-authorization",
        "false",
    ]);
    let policy = |action: &str, extra: &[&str]| {
        let args = [&["vault", action, "--name", "policy-vault"][..], extra].concat();
        server.cli(&args)
    };
    let set = policy(
        "set-policy",
        &["--object-id", &oid, "--key-permissions", "get", "release"],
    );
    assert_eq!(set["permissions"]["keys"], json!(["get", "release"]));
    assert_eq!(
        policy("list-policies", &[])["value"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    policy("delete-policy", &["--object-id", &oid]);
    assert_eq!(
        policy("list-policies", &[])["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    server.terminate();
}

#[test]
fn cli_manages_credentials_and_trusted_issuers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), free_port());
    server.cli(&["identity", "create", "--name", "worker"]);
    let secret = server.cli(&[
        "identity",
        "credential",
        "add",
        "--name",
        "worker",
        "--secret",
        "--years",
        "1",
    ]);
    assert!(
        secret["client_secret"]
            .as_str()
            .unwrap()
            .starts_with("srs_"),
        "{secret}"
    );
    assert!(secret["expires"].as_i64().is_some());
    let federated = server.cli(&[
        "identity",
        "credential",
        "add",
        "--name",
        "worker",
        "--issuer",
        "https://oidc.example/",
        "--subject",
        "system:serviceaccount:ns:worker",
    ]);
    assert_eq!(federated["issuer"], "https://oidc.example");
    let shown = server.cli(&["identity", "show", "--name", "worker"]);
    let mut kinds: Vec<&str> = shown["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["type"].as_str())
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["federated", "secret", "secret"]);
    assert!(
        !shown
            .to_string()
            .contains(secret["client_secret"].as_str().unwrap()),
        "a secret is shown once"
    );
    let id = federated["id"].as_str().unwrap();
    server.cli(&[
        "identity",
        "credential",
        "remove",
        "--name",
        "worker",
        "--id",
        id,
    ]);
    let shown = server.cli(&["identity", "show", "--name", "worker"]);
    assert_eq!(shown["credentials"].as_array().unwrap().len(), 2);

    let jwks = dir.path().join("jwks.json");
    std::fs::write(
        &jwks,
        r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#,
    )
    .unwrap();
    let jwks_arg = jwks.to_str().unwrap();
    let added = server.cli(&[
        "issuer",
        "add",
        "--issuer",
        "https://keycloak.example/realms/prod",
        "--jwks-file",
        jwks_arg,
        "--principal-claim",
        "sub",
    ]);
    assert_eq!(added["issuer"], "https://keycloak.example/realms/prod");
    let listed = server.cli(&["issuer", "list"]);
    assert_eq!(listed["value"].as_array().unwrap().len(), 1, "{listed}");
    server.cli(&[
        "issuer",
        "remove",
        "--issuer",
        "https://keycloak.example/realms/prod",
    ]);
    let listed = server.cli(&["issuer", "list"]);
    assert_eq!(listed["value"].as_array().unwrap().len(), 0, "{listed}");
    let (code, _, err) = server.run(
        &server.credentials(),
        &[
            "issuer",
            "remove",
            "--issuer",
            "https://keycloak.example/realms/prod",
        ],
    );
    assert_ne!(code, 0);
    assert!(err.contains("NotFound"), "{err}");
}

#[test]
fn a_user_logs_in_and_acts_through_a_profile() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), free_port());
    let creds: Value =
        serde_json::from_slice(&std::fs::read(server.credentials()).unwrap()).unwrap();
    let url = creds["server_url"].as_str().unwrap().to_owned();
    let ca = creds["ca_file"].as_str().unwrap().to_owned();
    let with_stdin = |args: &[&str], input: &str| {
        let mut child = Command::new(BIN)
            .args(args)
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let admin = server.credentials();
    let admin = admin.to_str().unwrap();
    let create_alice = [
        "--credentials",
        admin,
        "identity",
        "create",
        "--name",
        "alice",
        "--user",
        "--role",
        "Key Vault Crypto Officer",
        "--vault-name",
        "people",
    ];
    let (code, out, err) = with_stdin(&create_alice, "a long enough password\n");
    assert_eq!(code, 3, "no vault 'people' yet: {out} {err}");
    server.cli(&["vault", "create", "--name", "people"]);
    let (code, out, err) = with_stdin(&create_alice, "a long enough password\n");
    assert_eq!(code, 0, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(created["kind"], "user");

    let login = [
        "login",
        "--server",
        &url,
        "--ca-file",
        &ca,
        "--username",
        "alice",
    ];
    let (code, _, err) = with_stdin(&login, "the wrong password\n");
    assert_eq!(code, 4, "{err}");
    let (code, out, err) = with_stdin(&login, "a long enough password\n");
    assert_eq!(code, 0, "{err}");
    let signed_in: Value = serde_json::from_str(&out).unwrap();
    let profile = std::path::PathBuf::from(signed_in["path"].as_str().unwrap());
    let text = std::fs::read_to_string(&profile).unwrap();
    assert!(
        !text.contains("a long enough password"),
        "no password in the profile"
    );
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&profile).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let as_alice = |args: &[&str]| with_stdin(&[&["--profile", "default"][..], args].concat(), "");
    let (code, _, err) = as_alice(&[
        "key",
        "create",
        "--vault-name",
        "people",
        "--name",
        "k",
        "--kty",
        "EC",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = as_alice(&["identity", "list"]);
    assert_eq!(code, 4, "a user without the administrator role: {err}");
}
