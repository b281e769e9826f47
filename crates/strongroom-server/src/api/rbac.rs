//! Managed HSM local RBAC (`rbac.json`): role definitions and role assignments at a scope
//! (`/`, `/keys`, `/keys/{name}`), under `{scope}/providers/Microsoft.Authorization/`. The
//! routing middleware takes the scope off the path (tolerating the SDKs' `///providers/...`)
//! and hands it over as [`RbacScope`].

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use strongroom_core::DomainError;
use strongroom_core::rbac::{Permission, RoleAssignment, RoleDefinition, RoleScope, RoleType};
use strongroom_core::vault::VaultKind;
use strongroom_service::roles::NewAssignment;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AzJson, VaultAccess};
use crate::state::AppState;

/// The scope written before `/providers/Microsoft.Authorization/` in the request path.
#[derive(Debug, Clone)]
pub struct RbacScope(pub String);

const DEFINITION_PREFIX: &str =
    "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/";

/// The query of list calls.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "$filter")]
    pub(crate) filter: Option<String>,
    /// The scope to list at (administration API).
    pub(crate) scope: Option<String>,
}

/// The body of a role assignment PUT.
#[derive(Debug, Deserialize)]
pub struct AssignmentCreate {
    pub(crate) properties: Option<AssignmentProperties>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AssignmentProperties {
    /// Where it applies (the administration API names it in the body; the REST API in the path).
    pub(crate) scope: Option<String>,
    #[serde(rename = "roleDefinitionId", alias = "roledefinitionid")]
    pub(crate) role_definition_id: Option<String>,
    #[serde(rename = "principalId", alias = "principalid")]
    pub(crate) principal_id: Option<String>,
}

fn pool_only_access(a: &VaultAccess) -> Result<(), ApiError> {
    if a.vault.vault.kind == VaultKind::ManagedHsm {
        Ok(())
    } else {
        Err(ApiError::NotFound(
            "Role assignments of a vault are managed through Strongroom's administration API."
                .into(),
        ))
    }
}

fn scope(raw: &RbacScope) -> Result<RoleScope, ApiError> {
    RoleScope::parse(&raw.0).map_err(ApiError::Domain)
}

pub(crate) fn assignment_json(a: &RoleAssignment) -> Value {
    let scope = a.scope.as_string();
    let prefix = if scope == "/" {
        String::new()
    } else {
        scope.clone()
    };
    json!({
        "id": format!("{prefix}/providers/Microsoft.Authorization/roleAssignments/{}", a.name),
        "name": a.name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "scope": scope,
            "roleDefinitionId": format!("{DEFINITION_PREFIX}{}", a.role_definition),
            "principalId": a.principal_id,
        }
    })
}

pub(crate) fn definition_json(d: &RoleDefinition) -> Value {
    json!({
        "id": format!("{DEFINITION_PREFIX}{}", d.id),
        "name": d.id,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "assignableScopes": ["/"],
            "description": d.description,
            "permissions": d.permissions,
            "roleName": d.role_name,
            "type": match d.role_type {
                RoleType::BuiltIn => "AKVBuiltInRole",
                RoleType::Custom => "CustomRole",
            },
        }
    })
}

/// The body of a role definition PUT.
#[derive(Debug, Deserialize)]
pub struct DefinitionBody {
    properties: Option<DefinitionProperties>,
}

#[derive(Debug, Deserialize)]
struct DefinitionProperties {
    #[serde(rename = "roleName", alias = "rolename")]
    role_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "type", default)]
    role_type: Option<String>,
    #[serde(default)]
    permissions: Vec<Permission>,
    #[serde(rename = "assignableScopes", alias = "assignablescopes", default)]
    assignable_scopes: Vec<String>,
}

/// The custom role a PUT asks for, named `name` (a GUID).
pub(crate) fn new_definition(
    kind: VaultKind,
    name: &str,
    body: DefinitionBody,
) -> Result<RoleDefinition, ApiError> {
    let p = body
        .properties
        .ok_or_else(|| DomainError::bad("The role definition needs properties."))?;
    if p.role_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("CustomRole"))
    {
        return Err(ApiError::Domain(DomainError::bad(
            "Only roles of type 'CustomRole' can be created.",
        )));
    }
    if p.assignable_scopes
        .iter()
        .any(|s| !s.trim_matches('/').is_empty())
    {
        return Err(ApiError::Domain(DomainError::bad(
            "The assignable scopes of a role definition can only be '/'.",
        )));
    }
    Ok(RoleDefinition {
        id: name.to_owned(),
        role_name: p
            .role_name
            .ok_or_else(|| DomainError::bad("The role definition needs a roleName."))?,
        description: p.description.unwrap_or_default(),
        role_type: RoleType::Custom,
        kind,
        permissions: p.permissions,
    })
}

/// `principalId eq 'x'` (quotes optional) or `atScope()`; other filters are refused.
pub(crate) fn principal_filter(filter: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(filter) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(None);
    };
    if filter.eq_ignore_ascii_case("atScope()") {
        return Ok(None);
    }
    let mut words = filter.split_whitespace();
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some(field), Some(op), Some(value), None)
            if field.eq_ignore_ascii_case("principalId") && op.eq_ignore_ascii_case("eq") =>
        {
            Ok(Some(value.trim_matches('\'').to_owned()))
        }
        _ => Err(ApiError::Domain(DomainError::bad(format!(
            "The filter '{filter}' is not supported: use atScope() or principalId eq '<id>'."
        )))),
    }
}

/// The assignment a PUT asks for, at `scope`.
pub(crate) fn new_assignment(
    name: String,
    scope: RoleScope,
    body: AssignmentCreate,
) -> Result<NewAssignment, ApiError> {
    let properties = body
        .properties
        .ok_or_else(|| DomainError::bad("The role assignment needs properties."))?;
    Ok(NewAssignment {
        name,
        scope,
        role: properties
            .role_definition_id
            .ok_or_else(|| DomainError::bad("The role assignment needs a roleDefinitionId."))?,
        principal_id: properties
            .principal_id
            .ok_or_else(|| DomainError::bad("The role assignment needs a principalId."))?,
    })
}

/// `GET {scope}/providers/Microsoft.Authorization/roleAssignments`.
pub async fn list_assignments(
    State(s): State<AppState>,
    a: VaultAccess,
    Extension(raw): Extension<RbacScope>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    pool_only_access(&a)?;
    let principal = principal_filter(q.filter.as_deref())?;
    let found = s
        .roles
        .assignments(&a.caller, &a.vault, &scope(&raw)?, principal.as_deref())
        .await?;
    Ok(Json(json!({
        "value": found.iter().map(assignment_json).collect::<Vec<_>>(),
        "nextLink": null,
    })))
}

/// `GET {scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
pub async fn get_assignment(
    State(s): State<AppState>,
    a: VaultAccess,
    Extension(raw): Extension<RbacScope>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    pool_only_access(&a)?;
    let found = s
        .roles
        .assignment(&a.caller, &a.vault, Some(&scope(&raw)?), &name)
        .await?;
    Ok(Json(assignment_json(&found)))
}

/// `PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name}`: 201.
pub async fn put_assignment(
    State(s): State<AppState>,
    a: VaultAccess,
    Extension(raw): Extension<RbacScope>,
    Path(name): Path<String>,
    AzJson(body): AzJson<AssignmentCreate>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    pool_only_access(&a)?;
    let new = new_assignment(name, scope(&raw)?, body)?;
    let created = s.roles.assign(&a.caller, &a.vault, new).await?;
    Ok((StatusCode::CREATED, Json(assignment_json(&created))))
}

/// `DELETE {scope}/providers/Microsoft.Authorization/roleAssignments/{name}`: 200 with the
/// deleted assignment.
pub async fn delete_assignment(
    State(s): State<AppState>,
    a: VaultAccess,
    Extension(raw): Extension<RbacScope>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    pool_only_access(&a)?;
    let deleted = s
        .roles
        .unassign(&a.caller, &a.vault, Some(&scope(&raw)?), &name)
        .await?;
    Ok(Json(assignment_json(&deleted)))
}

/// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions`.
pub async fn list_definitions(
    State(s): State<AppState>,
    a: VaultAccess,
    Extension(raw): Extension<RbacScope>,
) -> ApiResult<Json<Value>> {
    pool_only_access(&a)?;
    scope(&raw)?;
    let all = s.roles.definitions(&a.caller, &a.vault).await?;
    Ok(Json(json!({
        "value": all.iter().map(definition_json).collect::<Vec<_>>(),
        "nextLink": null,
    })))
}

/// `PUT {scope}/providers/Microsoft.Authorization/roleDefinitions/{name}`: 201.
pub async fn put_definition(
    State(s): State<AppState>,
    a: VaultAccess,
    Extension(raw): Extension<RbacScope>,
    Path(name): Path<String>,
    AzJson(body): AzJson<DefinitionBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    pool_only_access(&a)?;
    let wanted = new_definition(a.vault.vault.kind, &name, body)?;
    let put = s
        .roles
        .put_definition(&a.caller, &a.vault, &scope(&raw)?, wanted)
        .await?;
    Ok((StatusCode::CREATED, Json(definition_json(&put))))
}

/// `DELETE {scope}/providers/Microsoft.Authorization/roleDefinitions/{name}`: 200 with it.
pub async fn delete_definition(
    State(s): State<AppState>,
    a: VaultAccess,
    Extension(raw): Extension<RbacScope>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    pool_only_access(&a)?;
    scope(&raw)?;
    let deleted = s
        .roles
        .delete_definition(&a.caller, &a.vault, &name)
        .await?;
    Ok(Json(definition_json(&deleted)))
}

/// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{name}`.
pub async fn get_definition(
    State(s): State<AppState>,
    a: VaultAccess,
    Extension(raw): Extension<RbacScope>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    pool_only_access(&a)?;
    scope(&raw)?;
    let found = s.roles.definition(&a.caller, &a.vault, &name).await?;
    Ok(Json(definition_json(&found)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert_eq!(principal_filter(None).unwrap(), None);
        assert_eq!(principal_filter(Some("atScope()")).unwrap(), None);
        assert_eq!(
            principal_filter(Some("principalId eq 'abc'"))
                .unwrap()
                .as_deref(),
            Some("abc")
        );
        assert_eq!(
            principal_filter(Some("principalId eq abc"))
                .unwrap()
                .as_deref(),
            Some("abc")
        );
        assert!(principal_filter(Some("roleName eq 'x'")).is_err());
    }
}
