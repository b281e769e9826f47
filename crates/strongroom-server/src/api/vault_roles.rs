//! Role definitions and assignments of vaults, through Strongroom's administration API (Azure
//! manages a vault's assignments through its management plane):
//! `/strongroom/v1/vaults/{vault}/roleDefinitions` and
//! `/strongroom/v1/vaults/{vault}/roleAssignments[/{name}]`, in the shapes of the Managed HSM
//! API, the scope in the body or the query (`/` when left out).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use strongroom_core::DomainError;
use strongroom_core::rbac::RoleScope;
use strongroom_core::vault::VaultKind;
use strongroom_service::OpenVault;

use super::rbac::{
    AssignmentCreate, DefinitionBody, ListQuery, assignment_json, definition_json, new_assignment,
    new_definition, principal_filter,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AzJson, RequestCaller};
use crate::state::AppState;

pub(crate) async fn vault(s: &AppState, raw: &str) -> Result<Arc<OpenVault>, ApiError> {
    let name = raw.parse().map_err(ApiError::Domain)?;
    let open = s.vaults.open(&name).await?;
    if open.vault.kind == VaultKind::Vault {
        Ok(open)
    } else {
        Err(ApiError::Domain(DomainError::VaultNotFound {
            name: raw.to_owned(),
        }))
    }
}

fn scope_or_global(raw: Option<&str>) -> Result<RoleScope, ApiError> {
    raw.map_or(Ok(RoleScope::Global), |s| {
        RoleScope::parse(s).map_err(ApiError::Domain)
    })
}

/// `GET /strongroom/v1/vaults/{vault}/roleDefinitions`.
pub async fn definitions(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path(v): Path<String>,
) -> ApiResult<Json<Value>> {
    let open = vault(&s, &v).await?;
    let all = s.roles.definitions(&c, &open).await?;
    Ok(Json(
        json!({"value": all.iter().map(definition_json).collect::<Vec<_>>()}),
    ))
}

/// `GET /strongroom/v1/vaults/{vault}/roleDefinitions/{name}`.
pub async fn definition(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path((v, name)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let open = vault(&s, &v).await?;
    Ok(Json(definition_json(
        &s.roles.definition(&c, &open, &name).await?,
    )))
}

/// `PUT /strongroom/v1/vaults/{vault}/roleDefinitions/{name}`: 201.
pub async fn put_definition(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path((v, name)): Path<(String, String)>,
    AzJson(body): AzJson<DefinitionBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let open = vault(&s, &v).await?;
    let wanted = new_definition(open.vault.kind, &name, body)?;
    let put = s
        .roles
        .put_definition(&c, &open, &RoleScope::Global, wanted)
        .await?;
    Ok((StatusCode::CREATED, Json(definition_json(&put))))
}

/// `DELETE /strongroom/v1/vaults/{vault}/roleDefinitions/{name}`: 200 with it.
pub async fn delete_definition(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path((v, name)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let open = vault(&s, &v).await?;
    Ok(Json(definition_json(
        &s.roles.delete_definition(&c, &open, &name).await?,
    )))
}

/// `GET /strongroom/v1/vaults/{vault}/roleAssignments[?scope=...&$filter=principalId eq '...']`.
pub async fn list(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path(v): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let open = vault(&s, &v).await?;
    let principal = principal_filter(q.filter.as_deref())?;
    let scope = scope_or_global(q.scope.as_deref())?;
    let found = s
        .roles
        .assignments(&c, &open, &scope, principal.as_deref())
        .await?;
    Ok(Json(
        json!({"value": found.iter().map(assignment_json).collect::<Vec<_>>()}),
    ))
}

/// `PUT /strongroom/v1/vaults/{vault}/roleAssignments/{name}`: 201.
pub async fn put(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path((v, name)): Path<(String, String)>,
    crate::extract::AzJson(body): crate::extract::AzJson<AssignmentCreate>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let open = vault(&s, &v).await?;
    let scope = scope_or_global(body.properties.as_ref().and_then(|p| p.scope.as_deref()))?;
    let created = s
        .roles
        .assign(&c, &open, new_assignment(name, scope, body)?)
        .await?;
    Ok((StatusCode::CREATED, Json(assignment_json(&created))))
}

/// `GET /strongroom/v1/vaults/{vault}/roleAssignments/{name}`.
pub async fn get(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path((v, name)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let open = vault(&s, &v).await?;
    Ok(Json(assignment_json(
        &s.roles.assignment(&c, &open, None, &name).await?,
    )))
}

/// `DELETE /strongroom/v1/vaults/{vault}/roleAssignments/{name}`: 200 with the assignment.
pub async fn delete(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path((v, name)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let open = vault(&s, &v).await?;
    Ok(Json(assignment_json(
        &s.roles.unassign(&c, &open, None, &name).await?,
    )))
}
