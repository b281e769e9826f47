//! Identities beyond the client secret: tokens of a trusted external OIDC issuer (its own
//! key pair and JWKS), federated credentials, certificate client assertions, user passwords,
//! and the revocation of a removed credential.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use strongroom_crypto::jws::TokenSigner;

use crate::helpers::{T0, TestApp};

const ISSUER: &str = "https://oidc.cluster.test/realm";
const SUBJECT: &str = "system:serviceaccount:payments:signer";

struct TestIssuer {
    signer: TokenSigner,
}

impl TestIssuer {
    fn new() -> Self {
        Self {
            signer: TokenSigner::generate().unwrap().0,
        }
    }

    fn jwks(&self) -> Value {
        json!({"keys": [self.signer.jwk()]})
    }

    fn token(&self, sub: &str, aud: &str) -> String {
        self.signer
            .sign(&json!({"iss": ISSUER, "sub": sub, "aud": aud,
                "iat": T0, "nbf": T0 - 10, "exp": T0 + 3600}))
            .unwrap()
    }
}

/// The vault's URL and the resource its 401 challenge names.
async fn vault_resource(app: &TestApp, vault: &str) -> (String, String) {
    let url = format!("https://{vault}.vault.strongroom.localhost:{}", app.port);
    let reply = app
        .client
        .http()
        .get(format!("{url}/keys?api-version=7.6"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    let challenge = reply.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let resource = challenge
        .split("resource=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    (url, resource)
}

async fn list_keys(app: &TestApp, url: &str, token: &str) -> (StatusCode, Value) {
    let reply = app
        .client
        .http()
        .get(format!("{url}/keys?api-version=7.6"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = reply.status();
    (status, reply.json().await.unwrap_or(Value::Null))
}

async fn token_request(app: &TestApp, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let reply = app
        .client
        .http()
        .post(app.url("127.0.0.1", "/strongroom/oauth2/v2.0/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = reply.status();
    (status, reply.json().await.unwrap())
}

/// A client-credentials request proving `client_id` with a `client_assertion`.
async fn assertion_grant(
    app: &TestApp,
    client_id: &str,
    assertion: &str,
    scope: &str,
) -> (StatusCode, Value) {
    token_request(
        app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
            ("scope", scope),
        ],
    )
    .await
}

#[tokio::test]
async fn a_trusted_issuers_tokens_are_accepted_and_an_untrusted_ones_refused() {
    let app = TestApp::spawn().await;
    let vault = app.container("fed", false, 7, false).await;
    let (url, resource) = vault_resource(&app, "fed").await;
    let issuer = TestIssuer::new();
    let token = issuer.token(SUBJECT, &resource);

    let (status, _) = list_keys(&app, &url, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "not trusted yet");

    let trusted = app
        .client
        .admin(
            Method::PUT,
            "/issuers",
            Some(&json!({"issuer": format!("{ISSUER}/"), "jwks": issuer.jwks()})),
        )
        .await
        .unwrap();
    assert_eq!(
        trusted["issuer"], ISSUER,
        "stored without the trailing slash"
    );
    assert_eq!(trusted["principalClaim"], "sub");

    let (status, body) = list_keys(&app, &url, &token).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "trusted but holding no role: {body}"
    );
    assert!(body["error"]["message"].as_str().unwrap().contains(SUBJECT));
    app.assign(&vault, "Key Vault Crypto User", SUBJECT, "/")
        .await;
    let (status, body) = list_keys(&app, &url, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let forger = TestIssuer::new();
    let (status, _) = list_keys(&app, &url, &forger.token(SUBJECT, &resource)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "same issuer name, another key"
    );
    let (status, _) = list_keys(&app, &url, &issuer.token(SUBJECT, "https://elsewhere.test")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "another audience");

    let admin = app.admin_oid().await;
    let (status, _) = list_keys(&app, &url, &issuer.token(&admin, &resource)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an external issuer cannot speak for a local identity"
    );

    let listed = app
        .client
        .admin(Method::GET, "/issuers", None)
        .await
        .unwrap();
    assert_eq!(listed["value"].as_array().unwrap().len(), 1);
    let query = format!("/issuers?issuer={}", url_encode(ISSUER));
    app.client
        .admin(Method::DELETE, &query, None)
        .await
        .unwrap();
    let (status, _) = list_keys(&app, &url, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no longer trusted");

    let bad = app
        .client
        .admin(
            Method::PUT,
            "/issuers",
            Some(&json!({"issuer": "http://oidc.cluster.test", "jwks": issuer.jwks()})),
        )
        .await;
    assert!(bad.is_err(), "a plain-http issuer is refused");
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn a_federated_credential_exchanges_an_external_token_and_dies_with_its_removal() {
    let app = TestApp::spawn().await;
    let vault = app.container("wif", false, 7, false).await;
    let (url, resource) = vault_resource(&app, "wif").await;
    let issuer = TestIssuer::new();
    app.client
        .admin(
            Method::PUT,
            "/issuers",
            Some(&json!({"issuer": ISSUER, "jwks": issuer.jwks()})),
        )
        .await
        .unwrap();
    let (oid, _) = app.identity_client("payments").await;
    let shown = app
        .client
        .admin(Method::GET, "/identities/payments", None)
        .await
        .unwrap();
    let client_id = shown["client_id"].as_str().unwrap().to_owned();
    app.assign(&vault, "Key Vault Crypto User", &oid, "/").await;
    let added = app
        .client
        .admin(
            Method::POST,
            "/identities/payments/credentials",
            Some(&json!({"issuer": ISSUER, "subject": SUBJECT})),
        )
        .await
        .unwrap();
    assert_eq!(added["type"], "federated");
    assert_eq!(added["audiences"], json!(["api://AzureADTokenExchange"]));
    let credential = added["id"].as_str().unwrap().to_owned();

    let scope = format!("{resource}/.default");
    let exchange = |assertion: String| {
        let (client_id, scope) = (client_id.clone(), scope.clone());
        let app = &app;
        async move { assertion_grant(app, &client_id, &assertion, &scope).await }
    };
    let (status, body) = exchange(issuer.token(
        "system:serviceaccount:other:sa",
        "api://AzureADTokenExchange",
    ))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "another subject: {body}");
    assert_eq!(body["error"], "invalid_client");
    let (status, _) = exchange(issuer.token(SUBJECT, "https://wrong.audience")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "another audience");
    let (status, _) =
        exchange(TestIssuer::new().token(SUBJECT, "api://AzureADTokenExchange")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "forged");

    let (status, body) = exchange(issuer.token(SUBJECT, "api://AzureADTokenExchange")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let (status, body) = list_keys(&app, &url, &access).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    app.client
        .admin(
            Method::DELETE,
            &format!("/identities/payments/credentials/{credential}"),
            None,
        )
        .await
        .unwrap();
    let (status, body) = list_keys(&app, &url, &access).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "issued through a removed credential: {body}"
    );
}

#[tokio::test]
async fn a_certificate_signs_client_assertions_once_each() {
    let app = TestApp::spawn().await;
    let vault = app.container("certs", false, 7, false).await;
    let (url, resource) = vault_resource(&app, "certs").await;
    let (oid, _) = app.identity_client("certapp").await;
    app.assign(&vault, "Key Vault Crypto User", &oid, "/").await;
    let shown = app
        .client
        .admin(Method::GET, "/identities/certapp", None)
        .await
        .unwrap();
    let client_id = shown["client_id"].as_str().unwrap().to_owned();

    let (signer, pkcs8) = TokenSigner::generate().unwrap();
    let key = rcgen::KeyPair::try_from(pkcs8.as_slice()).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["certapp".into()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2026, 1, 1);
    params.not_after = rcgen::date_time_ymd(2028, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    let added = app
        .client
        .admin(
            Method::POST,
            "/identities/certapp/credentials",
            Some(&json!({"certificate": cert.pem()})),
        )
        .await
        .unwrap();
    assert_eq!(added["type"], "certificate");
    let x5t = added["thumbprint"].as_str().unwrap().to_owned();

    let endpoint = app.url("127.0.0.1", "/strongroom/oauth2/v2.0/token");
    let assertion = |jti: &str, aud: &str| {
        signer
            .sign_with_header(
                json!({"x5t": x5t}),
                &json!({"iss": client_id, "sub": client_id, "aud": aud, "jti": jti,
                    "nbf": T0, "exp": T0 + 600}),
            )
            .unwrap()
    };
    let scope = format!("{resource}/.default");
    let request = |assertion: String| {
        let (client_id, scope) = (client_id.clone(), scope.clone());
        let app = &app;
        async move { assertion_grant(app, &client_id, &assertion, &scope).await }
    };
    let (status, _) = request(assertion("one", "https://other.test/token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "not this token endpoint");
    let (status, body) = request(assertion("two", &endpoint)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = list_keys(&app, &url, body["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = request(assertion("two", &endpoint)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "replayed: {body}");
}

#[tokio::test]
async fn users_sign_in_with_their_password() {
    let app = TestApp::spawn().await;
    let created = app
        .client
        .admin(
            Method::POST,
            "/identities/alice",
            Some(&json!({"password": "correct horse battery"})),
        )
        .await
        .unwrap();
    assert_eq!(created["kind"], "user");
    assert!(
        created.get("client_secret").is_none(),
        "a user has no secret"
    );
    let short = app
        .client
        .admin(
            Method::POST,
            "/identities/bob",
            Some(&json!({"password": "short"})),
        )
        .await;
    assert!(short.is_err(), "too short a password is refused");

    let scope = format!("https://127.0.0.1:{}/.default", app.port);
    let login = |password: &'static str| {
        let (scope, app) = (scope.clone(), &app);
        async move {
            token_request(
                app,
                &[
                    ("grant_type", "password"),
                    ("client_id", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
                    ("username", "alice"),
                    ("password", password),
                    ("scope", &scope),
                ],
            )
            .await
        }
    };
    let (status, body) = token_request(
        &app,
        &[
            ("grant_type", "password"),
            ("client_id", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
            ("username", "nobody"),
            ("password", "correct horse battery"),
            ("scope", &scope),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an unknown user: {body}");
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = login("correct horse battery!").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = login("correct horse battery").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &strongroom_core::b64::decode(token.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["idtyp"], "user");
    assert_eq!(claims["upn"], "alice");
    assert_eq!(claims["oid"], created["object_id"]);

    let (status, body) = list_keys(&app, &format!("https://127.0.0.1:{}", app.port), token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no role yet: {body}");
}
