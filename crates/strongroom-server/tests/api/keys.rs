//! Keys: creation rules per container kind, import, paging, updates, operations and their
//! enforcement, random bytes.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{T0, TestApp, b64, unb64};

#[tokio::test]
async fn container_kinds_enforce_key_types() {
    let app = TestApp::spawn().await;
    let premium = app.container("premium-one", false, 7, false).await;
    let standard = {
        let body = json!({"sku": "standard", "retention_days": 7});
        app.client
            .admin(Method::PUT, "/vaults/standard-one", Some(&body))
            .await
            .unwrap();
        strongroom_client::Container::Vault("standard-one".into())
    };
    let hsm = app.container("pool-one", true, 7, false).await;
    app.use_pool_keys(&hsm).await;
    let create = |kty: &str| json!({"kty": kty});
    app.ok(
        &premium,
        Method::POST,
        "/keys/a/create",
        Some(create("RSA-HSM")),
    )
    .await;
    app.ok(
        &standard,
        Method::POST,
        "/keys/a/create",
        Some(create("EC")),
    )
    .await;
    app.ok(
        &hsm,
        Method::POST,
        "/keys/a/create",
        Some(create("oct-HSM")),
    )
    .await;
    for (at, kty) in [
        (&standard, "RSA-HSM"),
        (&premium, "oct"),
        (&premium, "oct-HSM"),
    ] {
        let (status, code, _) = app
            .err(at, Method::POST, "/keys/b/create", Some(create(kty)))
            .await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "BadParameter"),
            "{kty}"
        );
    }
    // A pool keeps every key in its HSM: software types are taken as their HSM types.
    for (asked, got) in [("RSA", "RSA-HSM"), ("EC", "EC-HSM"), ("oct", "oct-HSM")] {
        let key = app
            .ok(&hsm, Method::POST, "/keys/soft/create", Some(create(asked)))
            .await;
        assert_eq!(key["key"]["kty"], got, "{asked}");
    }
    let exponent = |e: u64| json!({"kty": "RSA", "key_size": 2048, "public_exponent": e});
    let key = app
        .ok(&hsm, Method::POST, "/keys/e17/create", Some(exponent(17)))
        .await;
    assert_eq!(key["key"]["e"], b64(&[17]));
    let (status, code, _) = app
        .err(
            &premium,
            Method::POST,
            "/keys/e17/create",
            Some(exponent(17)),
        )
        .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "BadParameter")
    );
    let (status, _, _) = app
        .err(
            &premium,
            Method::POST,
            "/keys/c/create",
            Some(json!({"kty": "RSA", "key_size": 1024})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = app
        .err(
            &premium,
            Method::POST,
            "/keys/bad_name/create",
            Some(create("EC")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn versions_updates_and_paging() {
    let app = TestApp::spawn().await;
    let at = app.container("vault-one", false, 7, false).await;
    let first = app
        .ok(
            &at,
            Method::POST,
            "/keys/k/create",
            Some(json!({"kty": "EC", "tags": {"a": "1"}})),
        )
        .await;
    let second = app
        .ok(
            &at,
            Method::POST,
            "/keys/k/create",
            Some(json!({"kty": "EC", "crv": "P-384"})),
        )
        .await;
    let latest = app.ok(&at, Method::GET, "/keys/k", None).await;
    assert_eq!(latest["key"]["kid"], second["key"]["kid"]);
    assert_eq!(latest["key"]["crv"], "P-384");
    let v1 = first["key"]["kid"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let old = app
        .ok(&at, Method::GET, &format!("/keys/k/{v1}"), None)
        .await;
    assert_eq!(old["tags"]["a"], "1");

    let patch = json!({"attributes": {"enabled": false, "exp": T0 + 100}, "tags": {"b": "2"}, "key_ops": ["verify"]});
    let updated = app
        .ok(&at, Method::PATCH, &format!("/keys/k/{v1}"), Some(patch))
        .await;
    assert_eq!(updated["attributes"]["enabled"], false);
    assert_eq!(updated["attributes"]["exp"], T0 + 100);
    assert_eq!(updated["key"]["key_ops"], json!(["verify"]));
    assert_eq!(updated["tags"], json!({"b": "2"}));
    let versions = app.ok(&at, Method::GET, "/keys/k/versions", None).await;
    assert_eq!(versions["value"].as_array().unwrap().len(), 2);
    assert!(versions["value"][0]["kid"].as_str().unwrap().ends_with(&v1));

    for i in 0..7 {
        app.ok(
            &at,
            Method::POST,
            &format!("/keys/p{i}/create"),
            Some(json!({"kty": "EC"})),
        )
        .await;
    }
    let mut names = Vec::new();
    let mut page = app.ok(&at, Method::GET, "/keys?maxresults=3", None).await;
    loop {
        for item in page["value"].as_array().unwrap() {
            assert!(
                !item["kid"].as_str().unwrap().contains("/keys/k/"),
                "list kids are versionless"
            );
            names.push(
                item["kid"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned(),
            );
        }
        let Some(next) = page["nextLink"].as_str() else {
            break;
        };
        assert!(next.starts_with(&format!(
            "https://vault-one.vault.strongroom.localhost:{}/keys?",
            app.port
        )));
        page = app
            .client
            .call(
                &format!("https://vault.strongroom.localhost:{}", app.port),
                Method::GET,
                next,
                None,
            )
            .await
            .unwrap();
    }
    assert_eq!(names, vec!["k", "p0", "p1", "p2", "p3", "p4", "p5", "p6"]);
    let (status, _, _) = app.err(&at, Method::GET, "/keys?maxresults=26", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rsa_operations_and_enforcement() {
    let app = TestApp::spawn().await;
    let at = app.container("vault-one", false, 7, false).await;
    app.ok(
        &at,
        Method::POST,
        "/keys/r/create",
        Some(json!({"kty": "RSA-HSM", "key_size": 2048, "public_exponent": 65537})),
    )
    .await;
    for alg in ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"] {
        let ct = app
            .ok(
                &at,
                Method::POST,
                "/keys/r//encrypt",
                Some(json!({"alg": alg, "value": b64(b"secret")})),
            )
            .await;
        let pt = app
            .ok(
                &at,
                Method::POST,
                "/keys/r//decrypt",
                Some(json!({"alg": alg, "value": ct["value"]})),
            )
            .await;
        assert_eq!(unb64(&pt["value"]), b"secret", "{alg}");
        let wrapped = app
            .ok(
                &at,
                Method::POST,
                "/keys/r//wrapKey",
                Some(json!({"alg": alg, "value": b64(&[9; 32])})),
            )
            .await;
        let unwrapped = app
            .ok(
                &at,
                Method::POST,
                "/keys/r//unwrapkey",
                Some(json!({"alg": alg, "value": wrapped["value"]})),
            )
            .await;
        assert_eq!(unb64(&unwrapped["value"]), vec![9; 32]);
    }
    let digest = b64(&[7; 32]);
    let sig = app
        .ok(
            &at,
            Method::POST,
            "/keys/r//sign",
            Some(json!({"alg": "PS256", "value": digest})),
        )
        .await;
    let verified = app
        .ok(
            &at,
            Method::POST,
            "/keys/r//verify",
            Some(json!({"alg": "PS256", "digest": digest, "value": sig["value"]})),
        )
        .await;
    assert_eq!(verified["value"], true);
    let forged = app
        .ok(
            &at,
            Method::POST,
            "/keys/r//verify",
            Some(json!({"alg": "PS256", "digest": b64(&[8; 32]), "value": sig["value"]})),
        )
        .await;
    assert_eq!(forged["value"], false);

    app.ok(
        &at,
        Method::PATCH,
        "/keys/r/",
        Some(json!({"attributes": {"enabled": false}})),
    )
    .await;
    let (status, _, body) = app
        .err(
            &at,
            Method::POST,
            "/keys/r//sign",
            Some(json!({"alg": "RS256", "value": digest})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["innererror"]["code"], "KeyDisabled");
    let (status, _, _) = app
        .err(
            &at,
            Method::POST,
            "/keys/r//encrypt",
            Some(json!({"alg": "RSA-OAEP", "value": b64(b"x")})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a disabled key does nothing");

    app.ok(
        &at,
        Method::PATCH,
        "/keys/r/",
        Some(json!({"attributes": {"enabled": true, "exp": T0 + 10}, "key_ops": ["sign"]})),
    )
    .await;
    let (status, _, body) = app
        .err(
            &at,
            Method::POST,
            "/keys/r//decrypt",
            Some(json!({"alg": "RSA-OAEP", "value": b64(&[0; 256])})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["innererror"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("KeyOperationForbidden"))
    );
    app.ok(
        &at,
        Method::POST,
        "/keys/r//sign",
        Some(json!({"alg": "RS256", "value": digest})),
    )
    .await;
    app.clock.advance(10);
    let (_, _, body) = app
        .err(
            &at,
            Method::POST,
            "/keys/r//sign",
            Some(json!({"alg": "RS256", "value": digest})),
        )
        .await;
    assert_eq!(body["error"]["innererror"]["code"], "KeyExpired");
    app.ok(
        &at,
        Method::PATCH,
        "/keys/r/",
        Some(json!({"key_ops": ["sign", "verify"]})),
    )
    .await;
    let still = app
        .ok(
            &at,
            Method::POST,
            "/keys/r//verify",
            Some(json!({"alg": "PS256", "digest": digest, "value": sig["value"]})),
        )
        .await;
    assert_eq!(still["value"], true, "expired keys still verify");
    let (status, _, _) = app
        .err(
            &at,
            Method::POST,
            "/keys/r//sign",
            Some(json!({"alg": "ES256", "value": digest})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "expiry is checked first");
}

#[tokio::test]
async fn aes_operations_on_a_pool_and_random_bytes() {
    let app = TestApp::spawn().await;
    let hsm = app.container("pool-one", true, 7, false).await;
    app.use_pool_keys(&hsm).await;
    let key = app
        .ok(
            &hsm,
            Method::POST,
            "/keys/aes/create",
            Some(json!({"kty": "oct-HSM", "key_size": 256})),
        )
        .await;
    assert!(
        key["key"].get("k").is_none(),
        "symmetric material is never returned"
    );
    let out = app
        .ok(
            &hsm,
            Method::POST,
            "/keys/aes//encrypt",
            Some(json!({"alg": "A256GCM", "value": b64(b"hello"), "aad": b64(b"ctx")})),
        )
        .await;
    assert_eq!(unb64(&out["iv"]).len(), 12);
    let back = json!({"alg": "A256GCM", "value": out["value"], "iv": out["iv"], "tag": out["tag"], "aad": b64(b"ctx")});
    assert_eq!(
        unb64(
            &app.ok(&hsm, Method::POST, "/keys/aes//decrypt", Some(back))
                .await["value"]
        ),
        b"hello"
    );
    let cbc = app
        .ok(
            &hsm,
            Method::POST,
            "/keys/aes//encrypt",
            Some(json!({"alg": "A256CBCPAD", "value": b64(b"hello"), "iv": b64(&[1; 16])})),
        )
        .await;
    let plain = app
        .ok(
            &hsm,
            Method::POST,
            "/keys/aes//decrypt",
            Some(json!({"alg": "A256CBCPAD", "value": cbc["value"], "iv": b64(&[1; 16])})),
        )
        .await;
    assert_eq!(unb64(&plain["value"]), b"hello");
    for alg in ["A256KW", "CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD"] {
        let w = app
            .ok(
                &hsm,
                Method::POST,
                "/keys/aes//wrapkey",
                Some(json!({"alg": alg, "value": b64(&[5; 32])})),
            )
            .await;
        let u = app
            .ok(
                &hsm,
                Method::POST,
                "/keys/aes//unwrapkey",
                Some(json!({"alg": alg, "value": w["value"]})),
            )
            .await;
        assert_eq!(unb64(&u["value"]), vec![5; 32], "{alg}");
    }
    let (status, _, _) = app
        .err(
            &hsm,
            Method::POST,
            "/keys/aes//encrypt",
            Some(json!({"alg": "A128GCM", "value": b64(b"x")})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "key size must match the algorithm"
    );
    let rng = app
        .ok(&hsm, Method::POST, "/rng", Some(json!({"count": 128})))
        .await;
    assert_eq!(unb64(&rng["value"]).len(), 128);
    for count in [0, 129] {
        let (status, code, _) = app
            .err(&hsm, Method::POST, "/rng", Some(json!({"count": count})))
            .await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "BadParameter")
        );
    }
}

#[tokio::test]
async fn import_keeps_the_key() {
    let app = TestApp::spawn().await;
    let hsm = app.container("pool-one", true, 7, false).await;
    app.use_pool_keys(&hsm).await;
    let k = b64(&[0x11; 16]);
    let imported = app
        .ok(
            &hsm,
            Method::PUT,
            "/keys/imp",
            Some(json!({"key": {"kty": "oct", "k": k}, "hsm": true})),
        )
        .await;
    assert_eq!(imported["key"]["kty"], "oct-HSM");
    // RFC 3394 4.1 with the imported KEK proves the material is the one sent.
    let data = b64(&hex("00112233445566778899AABBCCDDEEFF"));
    let kek = b64(&hex("000102030405060708090A0B0C0D0E0F"));
    app.ok(
        &hsm,
        Method::PUT,
        "/keys/rfc",
        Some(json!({"key": {"kty": "oct-HSM", "k": kek}})),
    )
    .await;
    let w = app
        .ok(
            &hsm,
            Method::POST,
            "/keys/rfc//wrapkey",
            Some(json!({"alg": "A128KW", "value": data})),
        )
        .await;
    assert_eq!(
        unb64(&w["value"]),
        hex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
    );
    let (status, _, _) = app.err(&hsm, Method::PUT, "/keys/pub", Some(json!({"key": {"kty": "EC-HSM", "crv": "P-256", "x": b64(&[1; 32]), "y": b64(&[2; 32])}}))).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "public-only keys cannot be imported"
    );
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
