//! Access policies of vaults created without RBAC authorization, through Strongroom's
//! administration API (Azure sets them on the vault resource in its management plane):
//! `GET /strongroom/v1/vaults/{vault}/accessPolicies`,
//! `PUT|DELETE /strongroom/v1/vaults/{vault}/accessPolicies/{objectId}`, in the shape of an
//! ARM access-policy entry (`{"tenantId", "objectId", "permissions": {"keys": [...]}}`).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use strongroom_core::DomainError;
use strongroom_core::access_policy::{AccessPolicy, KeyPermission};

use super::vault_roles::vault;
use crate::error::ApiResult;
use crate::extract::{AzJson, RequestCaller};
use crate::state::AppState;

/// The body of a PUT.
#[derive(Debug, Deserialize)]
pub struct PolicyBody {
    permissions: Option<Permissions>,
}

#[derive(Debug, Deserialize)]
struct Permissions {
    keys: Option<Vec<String>>,
}

fn policy_json(s: &AppState, p: &AccessPolicy) -> Value {
    json!({
        "tenantId": s.auth.tenant(),
        "objectId": p.object_id,
        "permissions": {"keys": p.keys.iter().map(|k| k.name()).collect::<Vec<_>>()},
        "updated": p.updated,
    })
}

/// `GET /strongroom/v1/vaults/{vault}/accessPolicies`.
pub async fn list(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path(v): Path<String>,
) -> ApiResult<Json<Value>> {
    let open = vault(&s, &v).await?;
    let all = s.roles.policies(&c, &open).await?;
    let value: Vec<Value> = all.iter().map(|p| policy_json(&s, p)).collect();
    Ok(Json(json!({ "value": value })))
}

/// `PUT /strongroom/v1/vaults/{vault}/accessPolicies/{objectId}`: sets the key permissions.
pub async fn put(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path((v, object_id)): Path<(String, String)>,
    AzJson(body): AzJson<PolicyBody>,
) -> ApiResult<Json<Value>> {
    let open = vault(&s, &v).await?;
    let names = body
        .permissions
        .and_then(|p| p.keys)
        .ok_or_else(|| DomainError::bad("The access policy needs permissions.keys."))?;
    let keys = KeyPermission::parse_list(&names)?;
    let set = s.roles.set_policy(&c, &open, &object_id, keys).await?;
    Ok(Json(policy_json(&s, &set)))
}

/// `DELETE /strongroom/v1/vaults/{vault}/accessPolicies/{objectId}`.
pub async fn delete(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path((v, object_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let open = vault(&s, &v).await?;
    s.roles.delete_policy(&c, &open, &object_id).await?;
    Ok(Json(json!({ "objectId": object_id })))
}
