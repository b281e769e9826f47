//! Wire protocol: the 401 challenge, token endpoints, api-versions, path conventions, health.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use strongroom_client::Container;

use crate::helpers::TestApp;

#[tokio::test]
async fn unauthenticated_requests_get_the_sdk_challenge() {
    let app = TestApp::spawn().await;
    app.container("vault-one", false, 7, false).await;
    let url = app.url(
        "vault-one.vault.strongroom.localhost",
        "/keys/k1/create?api-version=7.6",
    );
    let resp = app
        .client
        .http()
        .post(&url)
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let expected = format!(
        "Bearer authorization=\"https://login.strongroom.localhost:{port}/strongroom\", resource=\"https://vault.strongroom.localhost:{port}\"",
        port = app.port
    );
    assert_eq!(challenge, expected);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Unauthorized");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("AKV10000")
    );

    let hsm = app.url(
        "pool-one.managedhsm.strongroom.localhost",
        "/keys?api-version=7.6",
    );
    let resp = app.client.http().get(&hsm).send().await.unwrap();
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("resource=\"https://managedhsm.strongroom.localhost:")
    );

    let bad = app
        .client
        .http()
        .get(url.replace("/create", ""))
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn managed_identity_tokens_work_only_for_their_resource() {
    let app = TestApp::spawn_with_token_lifetime(3600).await;
    app.container("vault-one", false, 7, false).await;
    let http = app.client.http();
    let mi = app.url(
        "127.0.0.1",
        "/msi/token?api-version=2019-08-01&resource=https://vault.strongroom.localhost:",
    );
    let resource = format!("https://vault.strongroom.localhost:{}", app.port);
    let resp = http
        .get(format!("{mi}{}", app.port))
        .header("X-IDENTITY-HEADER", &app.creds.client_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let token: Value = resp.json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["resource"], resource);
    assert!(
        token["expires_on"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > crate::helpers::T0
    );
    let access = token["access_token"].as_str().unwrap();

    let keys = app.url(
        "vault-one.vault.strongroom.localhost",
        "/keys?api-version=7.6",
    );
    let ok = http.get(&keys).bearer_auth(access).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let hsm = app.url(
        "x-pool.managedhsm.strongroom.localhost",
        "/keys?api-version=7.6",
    );
    let wrong = http.get(&hsm).bearer_auth(access).send().await.unwrap();
    assert_eq!(
        wrong.status(),
        StatusCode::UNAUTHORIZED,
        "audience is checked"
    );

    let denied = http
        .get(format!("{mi}{}", app.port))
        .header("X-IDENTITY-HEADER", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);

    app.clock.advance(3601);
    let expired = http.get(&keys).bearer_auth(access).send().await.unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED, "tokens expire");
}

#[tokio::test]
async fn client_credentials_and_discovery() {
    let app = TestApp::spawn().await;
    let http = app.client.http();
    let doc: Value = http
        .get(app.url("127.0.0.1", "/adfs/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for member in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
    ] {
        assert!(
            doc[member]
                .as_str()
                .unwrap()
                .starts_with("https://127.0.0.1:"),
            "{member}"
        );
    }
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app.creds.client_id.as_str()),
        ("client_secret", app.creds.client_secret.as_str()),
        ("scope", "https://vault.azure.net/.default"),
    ];
    let resp = http
        .post(doc["token_endpoint"].as_str().unwrap())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let token: Value = resp.json().await.unwrap();
    assert_eq!(token["expires_in"], 400 * 86_400);
    let bad = [
        ("grant_type", "client_credentials"),
        ("client_id", app.creds.client_id.as_str()),
        ("client_secret", "nope"),
        ("scope", "x/.default"),
    ];
    let resp = http
        .post(doc["token_endpoint"].as_str().unwrap())
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let jwks: Value = http
        .get(doc["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
}

#[tokio::test]
async fn api_versions_and_path_conventions() {
    let app = TestApp::spawn().await;
    let at = app.container("vault-one", false, 7, false).await;
    let token = app.client.token_for(&at).await.unwrap();
    let http = app.client.http();
    let base = app.url("vault-one.vault.strongroom.localhost", "");
    let missing = http
        .get(format!("{base}/keys"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    let unknown = http
        .get(format!("{base}/keys?api-version=1999-01-01"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    for v in ["7.0", "7.5", "2025-07-01", "2026-03-01-preview"] {
        let ok = http
            .get(format!("{base}/keys?api-version={v}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK, "{v}");
    }
    let encoded = http
        .get(format!("{base}/keys?api%2Dversion=7.6"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        encoded.status(),
        StatusCode::OK,
        "percent-encoded query names"
    );

    app.ok(
        &at,
        Method::POST,
        "/keys/k1/create",
        Some(json!({"kty": "EC", "crv": "P-256"})),
    )
    .await;
    for path in ["/keys/k1", "/keys/k1/", "/Keys/k1/"] {
        let v = app.ok(&at, Method::GET, path, None).await;
        assert!(
            v["key"]["kid"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{base}/keys/k1/")),
            "{path}"
        );
    }
    let digest = crate::helpers::b64(&[1u8; 32]);
    let signed = app
        .ok(
            &at,
            Method::POST,
            "/keys/k1//Sign",
            Some(json!({"alg": "ES256", "value": digest})),
        )
        .await;
    assert_eq!(crate::helpers::unb64(&signed["value"]).len(), 64);
    let (status, code, _) = app.err(&at, Method::DELETE, "/keys/k1/create", None).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed")
    );
    let (status, code, _) = app
        .err(
            &at,
            Method::POST,
            "/keys/k1/create",
            Some(json!({"kty": 5})),
        )
        .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "BadParameter"),
        "malformed bodies get the envelope"
    );
    let (status, code, _) = app
        .err(&at, Method::GET, "/keys/k1/notaversion", None)
        .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "KeyNotFound")
    );
}

#[tokio::test]
async fn health_metrics_and_unknown_hosts() {
    let app = TestApp::spawn().await;
    let http = app.client.http();
    assert_eq!(
        http.get(app.url("127.0.0.1", "/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        http.get(app.url("127.0.0.1", "/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    app.ok(&Container::Default, Method::GET, "/keys", None)
        .await;
    let metrics = http
        .get(app.url("127.0.0.1", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("strongroom_requests_total{operation=\"GET /keys\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("strongroom_request_duration_seconds_bucket{operation=\"GET /keys\""));
    assert!(
        metrics.contains("\nstrongroom_store_calls_total "),
        "{metrics}"
    );
    assert!(
        metrics.contains("\nstrongroom_peak_resident_memory_bytes "),
        "{metrics}"
    );
    let (status, code, _) = app
        .err(
            &Container::Vault("no-such-vault".into()),
            Method::GET,
            "/keys",
            None,
        )
        .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "VaultNotFound")
    );
}

/// Starts an RSA-4096 key creation (a second or so of work that holds its slot); its status.
fn spawn_rsa4096(
    http: &reqwest::Client,
    token: &str,
    url: String,
) -> tokio::task::JoinHandle<StatusCode> {
    let (http, token) = (http.clone(), token.to_owned());
    tokio::spawn(async move {
        let body = json!({"kty": "RSA", "key_size": 4096});
        http.post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
    })
}

#[tokio::test]
async fn overload_answers_429_with_retry_after() {
    let app = TestApp::spawn_with(3600, |c| {
        c.max_in_flight = 1;
        c.queue_timeout_ms = 0;
    })
    .await;
    let at = app.container("vault-one", false, 7, false).await;
    let token = app.client.token_for(&at).await.unwrap();
    let http = app.client.http().clone();
    let list = app.url(
        "vault-one.vault.strongroom.localhost",
        "/keys?api-version=7.6",
    );
    // RSA-4096 generation holds the only slot for a second or so; a few attempts keep a fast
    // generation from making the test flaky.
    for attempt in 0..5 {
        let url = app.url(
            "vault-one.vault.strongroom.localhost",
            &format!("/keys/big{attempt}/create?api-version=7.6"),
        );
        let slow = spawn_rsa4096(&http, &token, url);
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let resp = http.get(&list).bearer_auth(&token).send().await.unwrap();
        let slow_status = slow.await.unwrap();
        if resp.status() != StatusCode::TOO_MANY_REQUESTS || slow_status != StatusCode::OK {
            continue;
        }
        assert_eq!(resp.headers()["retry-after"], "1");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "Throttled");
        assert_eq!(
            http.get(&list)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
        return;
    }
    panic!("no request was refused while another held the only slot");
}

#[tokio::test]
async fn beyond_max_in_flight_a_request_waits_its_turn() {
    let app = TestApp::spawn_with(3600, |c| {
        c.max_in_flight = 1;
        c.queue_timeout_ms = 60_000;
    })
    .await;
    let at = app.container("vault-one", false, 7, false).await;
    let token = app.client.token_for(&at).await.unwrap();
    let http = app.client.http().clone();
    let host = "vault-one.vault.strongroom.localhost";
    let list = app.url(host, "/keys?api-version=7.6");
    let create = app.url(host, "/keys/big/create?api-version=7.6");
    let slow = spawn_rsa4096(&http, &token, create);
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    // Whether or not the generation still holds the only slot, the list is served: it waits
    // in the queue rather than being refused.
    let resp = http.get(&list).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(slow.await.unwrap(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert!(body["value"].is_array(), "{body}");
}

#[tokio::test]
async fn responses_carry_key_vault_service_headers() {
    let app = TestApp::spawn().await;
    let token = app.client.token_for(&Container::Default).await.unwrap();
    let url = app.url("127.0.0.1", "/keys?api-version=7.6");
    let http = app.client.http();
    let authorized = http
        .get(&url)
        .bearer_auth(&token)
        .header("x-ms-client-request-id", "caller-chosen-id")
        .send()
        .await
        .unwrap();
    let anonymous = http.get(&url).send().await.unwrap();
    assert_eq!(authorized.status(), StatusCode::OK);
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let id = |r: &reqwest::Response| r.headers()["x-ms-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id(&authorized), id(&anonymous));
    assert!(uuid::Uuid::parse_str(&id(&authorized)).is_ok());
    assert_eq!(
        authorized.headers()["x-ms-client-request-id"],
        "caller-chosen-id"
    );
    assert!(!anonymous.headers().contains_key("x-ms-client-request-id"));
    for r in [&authorized, &anonymous] {
        assert!(r.headers().contains_key("x-ms-keyvault-service-version"));
        assert!(
            r.headers()["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age=")
        );
    }
}

#[tokio::test]
async fn the_azure_cli_login_finds_one_subscription() {
    let app = TestApp::spawn_with_token_lifetime(3600).await;
    let http = app.client.http();
    // az login --identity: a managed-identity token for the cloud's resource, trailing slash kept.
    let mi = app.url(
        "127.0.0.1",
        &format!(
            "/msi/token?api-version=2019-08-01&resource=https://127.0.0.1:{}/",
            app.port
        ),
    );
    let token: Value = http
        .get(mi)
        .header("X-IDENTITY-HEADER", &app.creds.client_secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap();
    let subscriptions = app.url("127.0.0.1", "/subscriptions?api-version=2022-12-01");
    let resp = http
        .get(&subscriptions)
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let listed: Value = resp.json().await.unwrap();
    let subs = listed["value"].as_array().unwrap();
    assert_eq!(subs.len(), 1);
    let id = subs[0]["subscriptionId"].as_str().unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(subs[0]["id"], format!("/subscriptions/{id}"));
    assert_eq!(subs[0]["tenantId"], "strongroom");
    assert_eq!(subs[0]["state"], "Enabled");
    // The same subscription every time (it is kept in the database).
    let again: Value = http
        .get(&subscriptions)
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["value"][0]["subscriptionId"], id);

    let anonymous = http.get(&subscriptions).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let unversioned = http
        .get(app.url("127.0.0.1", "/subscriptions"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(unversioned.status(), StatusCode::BAD_REQUEST);
    let body: Value = unversioned.json().await.unwrap();
    assert_eq!(body["error"]["code"], "MissingApiVersionParameter");
}

#[tokio::test]
async fn the_door_admits_administration_to_administrators_only() {
    let app = TestApp::spawn_with_token_lifetime(3600).await;
    let created = app
        .client
        .admin(
            Method::POST,
            "/identities/worker",
            Some(&serde_json::json!({"admin": false})),
        )
        .await
        .unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    assert!(
        secret.starts_with("srs_"),
        "a secret never begins with '-': {secret}"
    );
    let http = app.client.http();
    let token: Value = http
        .get(app.url(
            "127.0.0.1",
            &format!(
                "/msi/token?api-version=2019-08-01&resource=https://127.0.0.1:{}",
                app.port
            ),
        ))
        .header("X-IDENTITY-HEADER", secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap();
    let oid = created["object_id"].as_str().unwrap();
    let list_keys = async || {
        http.get(app.url("127.0.0.1", "/keys?api-version=7.6"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    };
    // No role, no keys: 403 naming the principal and the missing action.
    let refused = list_keys().await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .headers()
            .get("x-ms-keyvault-rbac-assignment-id")
            .is_none()
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Forbidden");
    assert_eq!(body["error"]["innererror"]["code"], "ForbiddenByRbac");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("oid={oid}")), "{message}");
    assert!(
        message.contains("Microsoft.KeyVault/vaults/keys/read"),
        "{message}"
    );
    // A role assignment lets it in, and the answer names the assignment.
    let default = Container::Vault("default".into());
    let reader = app.assign(&default, "Key Vault Reader", oid, "/").await;
    let keys = list_keys().await;
    assert_eq!(keys.status(), StatusCode::OK);
    assert_eq!(
        keys.headers()["x-ms-keyvault-rbac-assignment-id"],
        reader.as_str()
    );
    // Removing the assignment takes effect on the next request.
    app.client
        .admin(
            Method::DELETE,
            &format!("/vaults/default/roleAssignments/{reader}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(list_keys().await.status(), StatusCode::FORBIDDEN);
    // Administration stays closed to it.
    let mut request_ids = std::collections::HashSet::new();
    for (method, path) in [
        (Method::GET, "/strongroom/v1/vaults"),
        (Method::PUT, "/strongroom/v1/vaults/stolen"),
        (Method::POST, "/strongroom/v1/identities/another"),
        (Method::DELETE, "/strongroom/v1/identities/worker"),
    ] {
        let resp = http
            .request(method.clone(), app.url("127.0.0.1", path))
            .bearer_auth(access)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let id = resp.headers()["x-ms-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(id.len(), 36);
        request_ids.insert(id);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "Forbidden");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("'worker' (oid="),
            "{body}"
        );
    }
    assert_eq!(request_ids.len(), 4, "every request has its own id");
    // Nothing was done: no vault, and the identity still exists.
    let vaults = app
        .client
        .admin(Method::GET, "/vaults", None)
        .await
        .unwrap();
    assert!(!vaults.to_string().contains("stolen"));
    let identities = app
        .client
        .admin(Method::GET, "/identities", None)
        .await
        .unwrap();
    assert!(identities.to_string().contains("\"worker\""));
}
