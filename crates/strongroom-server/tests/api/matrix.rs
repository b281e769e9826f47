//! The authorization matrix over the wire: every built-in role of vaults and pools, assigned at
//! `/`, `/keys` and `/keys/k`, against every data-plane operation, and every access-policy
//! permission against every operation, checked against tables written here by hand. An
//! operation is refused when the answer is 403 with the inner code of its permission model;
//! any other answer (success, 404, 400, ...) means the door let it through.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use strongroom_client::{Client, Container};

use crate::helpers::{TestApp, b64, call_as};

/// One data-plane request, named as the tables name it.
struct Op {
    name: &'static str,
    method: Method,
    path: &'static str,
    body: Option<Value>,
    /// Whether it acts on key `k` (an assignment at `/keys/k` reaches it) rather than on the
    /// vault's keys as a whole.
    on_key: bool,
}

fn op(name: &'static str, method: Method, path: &'static str, body: Option<Value>) -> Op {
    let on_key = !matches!(name, "List" | "ListDeleted" | "Restore" | "Rng");
    Op {
        name,
        method,
        path,
        body,
        on_key,
    }
}

fn operations(pool: bool) -> Vec<Op> {
    let kty = if pool { "EC-HSM" } else { "EC" };
    let digest = b64(&[7u8; 32]);
    let sig = b64(&[1u8; 64]);
    let wrap = json!({"alg": "RSA-OAEP-256", "value": b64(&[2u8; 32])});
    vec![
        op(
            "Create",
            Method::POST,
            "/keys/k/create",
            Some(json!({"kty": kty, "crv": "P-256"})),
        ),
        op(
            "Import",
            Method::PUT,
            "/keys/k",
            Some(json!({"key": {"kty": "oct", "k": b64(&[0x11; 16])}, "hsm": true})),
        ),
        op("Get", Method::GET, "/keys/k/", None),
        op("List", Method::GET, "/keys", None),
        op("ListVersions", Method::GET, "/keys/k/versions", None),
        op(
            "Update",
            Method::PATCH,
            "/keys/k/",
            Some(json!({"tags": {"a": "b"}})),
        ),
        op("Delete", Method::DELETE, "/keys/k", None),
        op("GetDeleted", Method::GET, "/deletedkeys/k", None),
        op("ListDeleted", Method::GET, "/deletedkeys", None),
        op("Recover", Method::POST, "/deletedkeys/k/recover", None),
        op("Purge", Method::DELETE, "/deletedkeys/k", None),
        op("Backup", Method::POST, "/keys/k/backup", None),
        op(
            "Restore",
            Method::POST,
            "/keys/restore",
            Some(json!({"value": b64(b"not a backup")})),
        ),
        op("Rotate", Method::POST, "/keys/k/rotate", None),
        op("PolicyGet", Method::GET, "/keys/k/rotationpolicy", None),
        op(
            "PolicySet",
            Method::PUT,
            "/keys/k/rotationpolicy",
            Some(json!({"lifetimeActions": []})),
        ),
        op(
            "Encrypt",
            Method::POST,
            "/keys/k//encrypt",
            Some(wrap.clone()),
        ),
        op(
            "Decrypt",
            Method::POST,
            "/keys/k//decrypt",
            Some(wrap.clone()),
        ),
        op("Wrap", Method::POST, "/keys/k//wrapkey", Some(wrap.clone())),
        op("Unwrap", Method::POST, "/keys/k//unwrapkey", Some(wrap)),
        op(
            "Sign",
            Method::POST,
            "/keys/k//sign",
            Some(json!({"alg": "ES256", "value": digest})),
        ),
        op(
            "Verify",
            Method::POST,
            "/keys/k//verify",
            Some(json!({"alg": "ES256", "digest": digest, "value": sig})),
        ),
        op("Rng", Method::POST, "/rng", Some(json!({"count": 8}))),
    ]
}

const KEY_OPS: &[&str] = &[
    "Create",
    "Import",
    "Get",
    "List",
    "ListVersions",
    "Update",
    "Delete",
    "GetDeleted",
    "ListDeleted",
    "Recover",
    "Purge",
    "Backup",
    "Restore",
    "Rotate",
    "PolicyGet",
    "PolicySet",
    "Encrypt",
    "Decrypt",
    "Wrap",
    "Unwrap",
    "Sign",
    "Verify",
];

/// What each built-in role of a vault allows, by hand.
fn vault_allows(role: &str) -> Vec<&'static str> {
    let read = ["Get", "List", "ListVersions", "GetDeleted", "ListDeleted"];
    match role {
        "Key Vault Administrator" => [KEY_OPS, &["Rng"]].concat(),
        "Key Vault Crypto Officer" => KEY_OPS.to_vec(),
        "Key Vault Crypto User" => [
            &read[..],
            &[
                "Update", "Backup", "Encrypt", "Decrypt", "Wrap", "Unwrap", "Sign", "Verify",
            ],
        ]
        .concat(),
        "Key Vault Crypto Service Encryption User" => [&read[..], &["Wrap", "Unwrap"]].concat(),
        "Key Vault Reader" => [&read[..], &["PolicyGet"]].concat(),
        "Key Vault Crypto Service Release User"
        | "Key Vault Secrets Officer"
        | "Key Vault Secrets User"
        | "Key Vault Certificates Officer" => vec![],
        other => panic!("no expectation for the vault role {other}"),
    }
}

/// What each built-in role of a pool allows, by hand.
fn pool_allows(role: &str) -> Vec<&'static str> {
    let deleted = ["GetDeleted", "ListDeleted", "Recover", "Purge"];
    match role {
        "Managed HSM Crypto Officer" => deleted.to_vec(),
        "Managed HSM Crypto User" => [KEY_OPS, &["Rng"]]
            .concat()
            .into_iter()
            .filter(|op| !deleted.contains(op))
            .collect(),
        "Managed HSM Crypto Auditor" => {
            vec![
                "Get",
                "List",
                "ListVersions",
                "PolicyGet",
                "GetDeleted",
                "ListDeleted",
            ]
        }
        "Managed HSM Crypto Service Encryption User" => {
            vec!["Get", "List", "ListVersions", "PolicyGet", "Wrap", "Unwrap"]
        }
        "Managed HSM Backup" => vec!["Backup"],
        "Managed HSM Restore" => vec!["Restore"],
        "Managed HSM Administrator"
        | "Managed HSM Policy Administrator"
        | "Managed HSM Crypto Service Release User" => vec![],
        other => panic!("no expectation for the pool role {other}"),
    }
}

/// The operations an access-policy key permission allows, by hand.
fn permission_allows(permission: &str) -> Vec<&'static str> {
    match permission {
        "get" => vec!["Get", "GetDeleted"],
        "list" => vec!["List", "ListVersions", "ListDeleted"],
        "update" => vec!["Update"],
        "create" => vec!["Create"],
        "import" => vec!["Import"],
        "delete" => vec!["Delete"],
        "recover" => vec!["Recover"],
        "backup" => vec!["Backup"],
        "restore" => vec!["Restore"],
        "decrypt" => vec!["Decrypt"],
        "encrypt" => vec!["Encrypt"],
        "unwrapKey" => vec!["Unwrap"],
        "wrapKey" => vec!["Wrap"],
        "verify" => vec!["Verify"],
        "sign" => vec!["Sign"],
        "purge" => vec!["Purge"],
        "rotate" => vec!["Rotate"],
        "getrotationpolicy" => vec!["PolicyGet"],
        "setrotationpolicy" => vec!["PolicySet"],
        "release" => vec![],
        other => panic!("no expectation for the permission {other}"),
    }
}

/// The operations `client` was let through, of `ops`, at `at`; a refusal must carry `inner`.
async fn let_through(
    client: &Client,
    at: &Container,
    ops: &[Op],
    inner: &str,
) -> Vec<&'static str> {
    let mut through = Vec::new();
    for op in ops {
        match call_as(client, at, op.method.clone(), op.path, op.body.clone()).await {
            Err((StatusCode::FORBIDDEN, body)) if body["error"]["innererror"]["code"] == inner => {}
            _ => through.push(op.name),
        }
    }
    through
}

async fn role_matrix(app: &TestApp, at: &Container, pool: bool, mismatches: &mut Vec<String>) {
    let ops = operations(pool);
    let path = "/providers/Microsoft.Authorization/roleDefinitions";
    let listed = match at {
        Container::Hsm(_) => app.ok(at, Method::GET, path, None).await,
        Container::Vault(v) => app
            .client
            .admin(Method::GET, &format!("/vaults/{v}/roleDefinitions"), None)
            .await
            .unwrap(),
        Container::Default => panic!("name the vault"),
    };
    let roles: Vec<String> = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["properties"]["roleName"].as_str().unwrap().to_owned())
        .collect();
    assert!(roles.len() >= 9, "{roles:?}");
    for (i, role) in roles.iter().enumerate() {
        let expected = if pool {
            pool_allows(role)
        } else {
            vault_allows(role)
        };
        let (oid, client) = app
            .identity_client(&format!("matrix-{}-{i}", if pool { "p" } else { "v" }))
            .await;
        for scope in ["/", "/keys", "/keys/k"] {
            let name = app.assign(at, role, &oid, scope).await;
            let through = let_through(&client, at, &ops, "ForbiddenByRbac").await;
            let want: Vec<&str> = ops
                .iter()
                .filter(|op| expected.contains(&op.name) && (op.on_key || scope != "/keys/k"))
                .map(|op| op.name)
                .collect();
            if through != want {
                mismatches.push(format!(
                    "{role} at {scope}: let through {through:?}, expected {want:?}"
                ));
            }
            app.unassign(at, scope, &name).await;
        }
        // Without the assignment, nothing.
        let through = let_through(&client, at, &ops, "ForbiddenByRbac").await;
        if !through.is_empty() {
            mismatches.push(format!("{role} removed: still let through {through:?}"));
        }
    }
}

#[tokio::test]
async fn every_role_at_every_scope_allows_exactly_its_operations() {
    let app = TestApp::spawn().await;
    let vault = app.container("matrix-vault", false, 7, false).await;
    let pool = app.container("matrix-pool", true, 7, false).await;
    app.use_pool_keys(&pool).await;
    let ec = |kty: &str| Some(json!({"kty": kty, "crv": "P-256"}));
    app.ok(&vault, Method::POST, "/keys/k/create", ec("EC"))
        .await;
    app.ok(&pool, Method::POST, "/keys/k/create", ec("EC-HSM"))
        .await;
    let mut mismatches = Vec::new();
    role_matrix(&app, &vault, false, &mut mismatches).await;
    role_matrix(&app, &pool, true, &mut mismatches).await;
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[tokio::test]
async fn every_access_policy_permission_allows_exactly_its_operations() {
    let app = TestApp::spawn().await;
    app.client
        .admin(
            Method::PUT,
            "/vaults/matrix-legacy",
            Some(&json!({"enable_rbac_authorization": false})),
        )
        .await
        .unwrap();
    let vault = Container::Vault("matrix-legacy".into());
    app.ok(
        &vault,
        Method::POST,
        "/keys/k/create",
        Some(json!({"kty": "EC", "crv": "P-256"})),
    )
    .await;
    // Random bytes come from pools only, which have no access policies.
    let ops: Vec<Op> = operations(false)
        .into_iter()
        .filter(|op| op.name != "Rng")
        .collect();
    let (oid, client) = app.identity_client("matrix-policy").await;
    let policy = format!("/vaults/matrix-legacy/accessPolicies/{oid}");
    let mut mismatches = Vec::new();
    for permission in [
        "get",
        "list",
        "update",
        "create",
        "import",
        "delete",
        "recover",
        "backup",
        "restore",
        "decrypt",
        "encrypt",
        "unwrapKey",
        "wrapKey",
        "verify",
        "sign",
        "purge",
        "release",
        "rotate",
        "getrotationpolicy",
        "setrotationpolicy",
    ] {
        let body = json!({"permissions": {"keys": [permission]}});
        app.client
            .admin(Method::PUT, &policy, Some(&body))
            .await
            .unwrap();
        let through = let_through(&client, &vault, &ops, "ForbiddenByPolicy").await;
        let expected = permission_allows(permission);
        let want: Vec<&str> = ops
            .iter()
            .filter(|op| expected.contains(&op.name))
            .map(|op| op.name)
            .collect();
        if through != want {
            mismatches.push(format!(
                "{permission}: let through {through:?}, expected {want:?}"
            ));
        }
    }
    app.client
        .admin(Method::DELETE, &policy, None)
        .await
        .unwrap();
    let through = let_through(&client, &vault, &ops, "ForbiddenByPolicy").await;
    if !through.is_empty() {
        mismatches.push(format!("no policy: let through {through:?}"));
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
