//! Soft delete, purge protection, scheduled purge, backup and restore, rotation.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{T0, TestApp, b64, unb64};

const DAY: i64 = 86_400;

#[tokio::test]
async fn delete_recover_purge() {
    let app = TestApp::spawn().await;
    let at = app.container("vault-one", false, 7, false).await;
    app.ok(
        &at,
        Method::POST,
        "/keys/k/create",
        Some(json!({"kty": "EC"})),
    )
    .await;
    let (status, _, _) = app.err(&at, Method::GET, "/deletedkeys/k", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let deleted = app.ok(&at, Method::DELETE, "/keys/k", None).await;
    assert_eq!(
        deleted["recoveryId"],
        format!(
            "https://vault-one.vault.strongroom.localhost:{}/deletedkeys/k",
            app.port
        )
    );
    assert_eq!(deleted["deletedDate"], T0);
    assert_eq!(deleted["scheduledPurgeDate"], T0 + 7 * DAY);
    assert_eq!(
        deleted["attributes"]["recoveryLevel"],
        "CustomizedRecoverable+Purgeable"
    );
    app.ok(&at, Method::GET, "/deletedkeys/k", None).await;
    assert_eq!(
        app.ok(&at, Method::GET, "/deletedkeys", None).await["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (status, code, _) = app.err(&at, Method::GET, "/keys/k", None).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "KeyNotFound")
    );
    let (status, code, body) = app
        .err(
            &at,
            Method::POST,
            "/keys/k/create",
            Some(json!({"kty": "EC"})),
        )
        .await;
    assert_eq!((status, code.as_str()), (StatusCode::CONFLICT, "Conflict"));
    assert_eq!(
        body["error"]["innererror"]["code"],
        "ObjectIsDeletedButRecoverable"
    );

    app.ok(&at, Method::POST, "/deletedkeys/k/recover", None)
        .await;
    app.ok(&at, Method::GET, "/keys/k/", None).await;
    app.ok(&at, Method::DELETE, "/keys/k", None).await;
    let purged = app
        .client
        .data(&at, Method::DELETE, "/deletedkeys/k", None)
        .await
        .unwrap();
    assert!(purged.is_null(), "purge answers 204 with no body");
    let (status, _, _) = app.err(&at, Method::GET, "/deletedkeys/k", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.ok(
        &at,
        Method::POST,
        "/keys/k/create",
        Some(json!({"kty": "EC"})),
    )
    .await;
}

#[tokio::test]
async fn purge_protection_and_scheduled_purge() {
    let app = TestApp::spawn().await;
    let at = app.container("guarded", false, 7, true).await;
    app.ok(
        &at,
        Method::POST,
        "/keys/k/create",
        Some(json!({"kty": "EC"})),
    )
    .await;
    let deleted = app.ok(&at, Method::DELETE, "/keys/k", None).await;
    assert_eq!(
        deleted["attributes"]["recoveryLevel"],
        "CustomizedRecoverable"
    );
    let (status, code, body) = app.err(&at, Method::DELETE, "/deletedkeys/k", None).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "Forbidden")
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("purge protection")
    );
    assert_eq!(app.tick().await.purged, 0);
    app.clock.advance(7 * DAY - 1);
    assert_eq!(app.tick().await.purged, 0);
    app.clock.advance(1);
    assert_eq!(
        app.tick().await.purged,
        1,
        "purged exactly when retention ends"
    );
    let (status, _, _) = app.err(&at, Method::GET, "/deletedkeys/k", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.tick().await.purged, 0);
}

#[tokio::test]
async fn backup_and_restore_keep_versions_and_material() {
    let app = TestApp::spawn().await;
    let at = app.container("vault-one", false, 7, false).await;
    let other = app.container("vault-two", false, 7, false).await;
    let v1 = app
        .ok(
            &at,
            Method::POST,
            "/keys/k/create",
            Some(json!({"kty": "RSA"})),
        )
        .await;
    let v2 = app
        .ok(
            &at,
            Method::POST,
            "/keys/k/create",
            Some(json!({"kty": "RSA", "tags": {"t": "2"}})),
        )
        .await;
    let ct = app
        .ok(
            &at,
            Method::POST,
            "/keys/k//encrypt",
            Some(json!({"alg": "RSA-OAEP-256", "value": b64(b"keep")})),
        )
        .await;
    let blob = app.ok(&at, Method::POST, "/keys/k/backup", None).await;
    let (status, code, _) = app
        .err(
            &at,
            Method::POST,
            "/keys/restore",
            Some(json!({"value": blob["value"]})),
        )
        .await;
    assert_eq!((status, code.as_str()), (StatusCode::CONFLICT, "Conflict"));

    let restored = app
        .ok(
            &other,
            Method::POST,
            "/keys/restore",
            Some(json!({"value": blob["value"]})),
        )
        .await;
    let version = |v: &serde_json::Value| {
        v["key"]["kid"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(version(&restored), version(&v2));
    assert_eq!(restored["tags"]["t"], "2");
    let versions = app.ok(&other, Method::GET, "/keys/k/versions", None).await;
    let ids: Vec<_> = versions["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["kid"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, vec![version(&v1), version(&v2)]);
    let pt = app
        .ok(
            &other,
            Method::POST,
            "/keys/k//decrypt",
            Some(json!({"alg": "RSA-OAEP-256", "value": ct["value"]})),
        )
        .await;
    assert_eq!(unb64(&pt["value"]), b"keep");

    let mut tampered = unb64(&blob["value"]);
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let (status, code, _) = app
        .err(
            &other,
            Method::POST,
            "/keys/restore",
            Some(json!({"value": b64(&tampered)})),
        )
        .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "BadParameter")
    );
    let hsm = app.container("pool-one", true, 7, false).await;
    app.use_pool_keys(&hsm).await;
    let (status, _, _) = app
        .err(
            &hsm,
            Method::POST,
            "/keys/restore",
            Some(json!({"value": blob["value"]})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "software RSA keys cannot go to a pool"
    );
}

#[tokio::test]
async fn rotation_manual_and_by_policy() {
    let app = TestApp::spawn().await;
    let at = app.container("vault-one", false, 7, false).await;
    app.ok(
        &at,
        Method::POST,
        "/keys/k/create",
        Some(json!({"kty": "EC", "key_ops": ["sign"], "tags": {"a": "b"}})),
    )
    .await;
    let default_policy = app
        .ok(&at, Method::GET, "/keys/k/rotationpolicy", None)
        .await;
    assert_eq!(
        default_policy["lifetimeActions"][0]["action"]["type"],
        "Notify"
    );
    let rotated = app.ok(&at, Method::POST, "/keys/k/rotate", None).await;
    assert_eq!(rotated["key"]["key_ops"], json!(["sign"]));
    assert_eq!(rotated["tags"]["a"], "b");

    let policy = json!({
        "lifetimeActions": [{"trigger": {"timeAfterCreate": "P30D"}, "action": {"type": "rotate"}}],
        "attributes": {"expiryTime": "P90D"}
    });
    let stored = app
        .ok(&at, Method::PUT, "/keys/k/rotationPolicy", Some(policy))
        .await;
    assert_eq!(stored["lifetimeActions"][0]["action"]["type"], "Rotate");
    assert_eq!(stored["attributes"]["expiryTime"], "P90D");
    assert_eq!(
        stored["id"],
        format!(
            "https://vault-one.vault.strongroom.localhost:{}/keys/k/rotationpolicy",
            app.port
        )
    );
    let bad = json!({"lifetimeActions": [{"trigger": {"timeAfterCreate": "P1D"}, "action": {"type": "Rotate"}}]});
    let (status, _, _) = app
        .err(&at, Method::PUT, "/keys/k/rotationpolicy", Some(bad))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    app.clock.advance(30 * DAY - 1);
    assert_eq!(app.tick().await.rotated, 0);
    app.clock.advance(1);
    assert_eq!(app.tick().await.rotated, 1);
    let latest = app.ok(&at, Method::GET, "/keys/k", None).await;
    assert_eq!(
        latest["attributes"]["exp"],
        T0 + 30 * DAY + 90 * DAY,
        "expiry from the policy"
    );
    assert_eq!(
        app.tick().await.rotated,
        0,
        "the new version is not due yet"
    );
    assert_eq!(
        app.ok(&at, Method::GET, "/keys/k/versions", None).await["value"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}
