//! Managed HSM local RBAC over the wire: statuses, scopes written as the SDKs write them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use strongroom_client::Container;

use crate::helpers::{TestApp, call_as};

#[tokio::test]
async fn role_assignments_answer_as_managed_hsm_does() {
    let app = TestApp::spawn().await;
    let hsm = app.container("pool-one", true, 7, false).await;
    let vault = app.container("vault-one", false, 7, false).await;
    let token = app.client.token_for(&hsm).await.unwrap();
    let http = app.client.http();
    let url = |path: &str| {
        app.url(
            "pool-one.managedhsm.strongroom.localhost",
            &format!("{path}?api-version=7.6"),
        )
    };
    let name = "6b5a4c3d-1e2f-4a0b-9c8d-7e6f5a4b3c2d";
    let body = json!({"properties": {
        "roleDefinitionId": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b",
        "principalId": "0f0e0d0c-0000-4000-8000-000000000001"}});
    // Scope `/` as the SDKs send it: `///providers/...`.
    let put = http
        .put(url(&format!(
            "///providers/Microsoft.Authorization/roleAssignments/{name}"
        )))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    let created: Value = put.json().await.unwrap();
    assert_eq!(
        created["id"],
        format!("/providers/Microsoft.Authorization/roleAssignments/{name}")
    );
    assert_eq!(created["type"], "Microsoft.Authorization/roleAssignments");
    assert_eq!(created["properties"]["scope"], "/");

    // Another scope does not see it by name.
    let elsewhere = http
        .get(url(&format!(
            "/keys/providers/Microsoft.Authorization/roleAssignments/{name}"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);

    let delete = http
        .delete(url(&format!(
            "/providers/Microsoft.Authorization/roleAssignments/{name}"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::OK);
    let deleted: Value = delete.json().await.unwrap();
    assert_eq!(deleted, created, "DELETE answers the deleted assignment");

    let bad_scope = http
        .get(url(
            "/secrets/providers/Microsoft.Authorization/roleAssignments",
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_scope.status(), StatusCode::BAD_REQUEST);
    let bad_name = http
        .put(url(
            "/providers/Microsoft.Authorization/roleAssignments/not-a-guid",
        ))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_name.status(), StatusCode::BAD_REQUEST);

    // Vaults keep their assignments behind the administration API, not this one.
    let (status, _) = app
        .call(
            &vault,
            Method::GET,
            "/providers/Microsoft.Authorization/roleAssignments",
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn access_policy_vaults_answer_by_their_policies_only() {
    let app = TestApp::spawn().await;
    let without_rbac = json!({"enable_rbac_authorization": false});
    let created = app
        .client
        .admin(Method::PUT, "/vaults/legacy-one", Some(&without_rbac))
        .await
        .unwrap();
    assert_eq!(created["enable_rbac_authorization"], false);
    let legacy = Container::Vault("legacy-one".into());
    // The creator holds every key permission, as az keyvault create gives it.
    let policies = app
        .client
        .admin(Method::GET, "/vaults/legacy-one/accessPolicies", None)
        .await
        .unwrap();
    let admin_oid = app.admin_oid().await;
    assert_eq!(policies["value"][0]["objectId"], admin_oid.as_str());
    assert_eq!(
        policies["value"][0]["permissions"]["keys"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
    let ec = json!({"kty": "EC", "crv": "P-256"});
    app.ok(&legacy, Method::POST, "/keys/k1/create", Some(ec.clone()))
        .await;

    let (oid, worker) = app.identity_client("legacy-worker").await;
    let digest = json!({"alg": "ES256", "value": crate::helpers::b64(&[1u8; 32])});
    let refused = call_as(&worker, &legacy, Method::GET, "/keys/k1", None)
        .await
        .unwrap_err();
    assert_eq!(refused.0, StatusCode::FORBIDDEN);
    assert_eq!(refused.1["error"]["code"], "Forbidden");
    assert_eq!(
        refused.1["error"]["innererror"]["code"],
        "ForbiddenByPolicy"
    );
    let message = refused.1["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("oid={oid}")), "{message}");
    assert!(
        message.contains("does not have keys get permission on key vault 'legacy-one'"),
        "{message}"
    );

    let client = &app.client;
    let set = |keys: Value| {
        let path = format!("/vaults/legacy-one/accessPolicies/{oid}");
        let body = json!({"permissions": {"keys": keys}});
        async move { client.admin(Method::PUT, &path, Some(&body)).await }
    };
    let policy = set(json!(["Get", "release"])).await.unwrap();
    assert_eq!(policy["permissions"]["keys"], json!(["get", "release"]));
    call_as(&worker, &legacy, Method::GET, "/keys/k1", None)
        .await
        .unwrap();
    let sign = || {
        call_as(
            &worker,
            &legacy,
            Method::POST,
            "/keys/k1//sign",
            Some(digest.clone()),
        )
    };
    let no_sign = sign().await.unwrap_err();
    assert_eq!(no_sign.0, StatusCode::FORBIDDEN);
    assert!(
        no_sign.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("keys sign permission")
    );
    // The list replaces the previous one.
    set(json!(["sign"])).await.unwrap();
    sign().await.unwrap();
    assert!(
        call_as(&worker, &legacy, Method::GET, "/keys/k1", None)
            .await
            .is_err()
    );
    // Role assignments do not authorize an access-policy vault.
    app.assign(&legacy, "Key Vault Administrator", &oid, "/")
        .await;
    app.client
        .admin(
            Method::DELETE,
            &format!("/vaults/legacy-one/accessPolicies/{oid}"),
            None,
        )
        .await
        .unwrap();
    let gone = sign().await.unwrap_err();
    assert_eq!(gone.0, StatusCode::FORBIDDEN);

    // Bad permissions, RBAC vaults and pools get a clear 400.
    let bad = set(json!(["steal"])).await.unwrap_err();
    assert!(
        bad.to_string().contains("'steal' is not a key permission"),
        "{bad}"
    );
    app.container("rbac-one", false, 7, false).await;
    let on_rbac = app
        .client
        .admin(
            Method::PUT,
            &format!("/vaults/rbac-one/accessPolicies/{oid}"),
            Some(&json!({"permissions": {"keys": ["get"]}})),
        )
        .await
        .unwrap_err();
    assert!(
        on_rbac.to_string().contains("uses RBAC authorization"),
        "{on_rbac}"
    );
    let pool = app
        .client
        .admin(Method::PUT, "/managedhsms/legacy-pool", Some(&without_rbac))
        .await
        .unwrap_err();
    assert!(
        pool.to_string().contains("always uses its local RBAC"),
        "{pool}"
    );
}

#[tokio::test]
async fn a_deleted_identity_and_a_removed_assignment_are_refused_at_once() {
    let app = TestApp::spawn().await;
    let vault = app.container("revoke-one", false, 7, false).await;
    app.ok(
        &vault,
        Method::POST,
        "/keys/k1/create",
        Some(json!({"kty": "EC"})),
    )
    .await;
    let (oid, worker) = app.identity_client("short-lived").await;
    let token = worker.token_for(&vault).await.unwrap();
    let http = app.client.http();
    let get = || {
        http.get(app.url(
            "revoke-one.vault.strongroom.localhost",
            "/keys/k1?api-version=7.6",
        ))
        .bearer_auth(&token)
        .send()
    };
    assert_eq!(get().await.unwrap().status(), StatusCode::FORBIDDEN);
    let reader = app
        .assign(&vault, "Key Vault Reader", &oid, "/keys/k1")
        .await;
    let allowed = get().await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["x-ms-keyvault-rbac-assignment-id"],
        reader.as_str()
    );
    app.client
        .admin(
            Method::DELETE,
            &format!("/vaults/revoke-one/roleAssignments/{reader}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(get().await.unwrap().status(), StatusCode::FORBIDDEN);
    app.assign(&vault, "Key Vault Reader", &oid, "/").await;
    assert_eq!(get().await.unwrap().status(), StatusCode::OK);
    // Deleting the identity refuses the token it holds, though the token has not expired.
    app.client
        .admin(Method::DELETE, "/identities/short-lived", None)
        .await
        .unwrap();
    let refused = get().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("identity no longer exists"),
        "{body}"
    );
}

#[tokio::test]
async fn custom_role_definitions_answer_as_managed_hsm_does() {
    let app = TestApp::spawn().await;
    let hsm = app.container("pool-one", true, 7, false).await;
    let name = "7c6b5a4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d";
    let body = |guid_name: &str| {
        json!({"properties": {
            "roleName": guid_name, "type": "CustomRole", "assignableScopes": ["/"],
            "permissions": [{"dataActions": ["Microsoft.KeyVault/managedHsm/keys/read/action"]}]}})
    };
    let path = |scope: &str, guid: &str| {
        format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}")
    };
    let created = app
        .ok(&hsm, Method::PUT, &path("", name), Some(body("Peeker")))
        .await;
    assert_eq!(created["name"], name);
    assert_eq!(created["properties"]["type"], "CustomRole");
    let got = app.ok(&hsm, Method::GET, &path("", name), None).await;
    assert_eq!(got, created);
    // Only at `/`; not a built-in GUID; not data actions of vaults.
    let (status, _, _) = app
        .err(
            &hsm,
            Method::PUT,
            &path("/keys", name),
            Some(body("Peeker")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let builtin = "21dbd100-6940-42c2-9190-5d6cb909625b";
    let (status, code, body_of) = app
        .err(&hsm, Method::PUT, &path("", builtin), Some(body("Mine")))
        .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "BadParameter")
    );
    assert!(body_of.to_string().contains("Cannot re-use the name/GUID"));
    let vault_action = json!({"properties": {"roleName": "Odd",
        "permissions": [{"dataActions": ["Microsoft.KeyVault/vaults/keys/read"]}]}});
    let other = "8d7c6b5a-4e3f-4b2a-9d0e-1f2a3b4c5d6e";
    let (status, _, _) = app
        .err(&hsm, Method::PUT, &path("", other), Some(vault_action))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let deleted = app.ok(&hsm, Method::DELETE, &path("", name), None).await;
    assert_eq!(deleted, created, "DELETE answers the deleted definition");
    let (status, _, _) = app.err(&hsm, Method::GET, &path("", name), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
