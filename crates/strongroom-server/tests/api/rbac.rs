//! Managed HSM local RBAC over the wire: statuses, scopes written as the SDKs write them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

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
