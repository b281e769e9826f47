//! `strongroom role`: role definitions and assignments of a vault (through the administration
//! API) or a managed HSM pool (through Managed HSM's RBAC API), shaped like `az keyvault role`.

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};
use strongroom_client::{Client, Container};
use strongroom_core::rbac::RoleScope;

use crate::cli::{AssignmentAction, DefinitionAction, RoleAction, Target};

/// Runs a role command.
pub async fn run(client: &Client, action: RoleAction) -> anyhow::Result<Value> {
    match action {
        RoleAction::Assignment { action } => assignment(client, action).await,
        RoleAction::Definition { action } => definition(client, action).await,
    }
}

/// Where the roles live.
enum Place {
    Vault(String),
    Pool(String),
}

fn place(at: &Target) -> anyhow::Result<Place> {
    match (&at.vault_name, &at.hsm_name) {
        (_, Some(pool)) => Ok(Place::Pool(pool.clone())),
        (Some(vault), None) => Ok(Place::Vault(vault.clone())),
        (None, None) => bail!("name the vault (--vault-name) or the managed HSM pool (--hsm-name)"),
    }
}

/// A scope as the service writes it back (`/`, `/keys`, `/keys/NAME`); one it would refuse is
/// passed on as given, for the service to answer.
fn scope_text(scope: &str) -> String {
    RoleScope::parse(scope).map_or_else(|_| scope.to_owned(), |s| s.as_string())
}

/// The scope as the path prefix of Managed HSM's RBAC API (empty for `/`).
fn path_prefix(scope: &str) -> String {
    let text = scope_text(scope);
    if text == "/" { String::new() } else { text }
}

/// The items of a `{"value": [...]}` list.
fn items(list: &Value) -> impl Iterator<Item = &Value> {
    list.get("value")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The string at a JSON pointer.
fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// Whether a role definition has this GUID or role name.
fn names_role(definition: &Value, role: &str) -> bool {
    [
        text(definition, "/name"),
        text(definition, "/properties/roleName"),
    ]
    .into_iter()
    .flatten()
    .any(|n| n.eq_ignore_ascii_case(role))
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl Place {
    /// Calls `tail` (`roleAssignments/NAME`, `roleDefinitions`) at `scope`: Managed HSM's
    /// `{scope}/providers/Microsoft.Authorization/{tail}` on a pool, the administration API's
    /// `/vaults/{vault}/{tail}?scope=...` for a vault.
    async fn call(
        &self,
        client: &Client,
        method: Method,
        scope: &str,
        tail: &str,
        filter: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let filter = filter.map(|f| format!("$filter={}", encode(f)));
        Ok(match self {
            Self::Pool(pool) => {
                let mut path = format!(
                    "{}/providers/Microsoft.Authorization/{tail}",
                    path_prefix(scope)
                );
                if let Some(filter) = filter {
                    path.push('?');
                    path.push_str(&filter);
                }
                let pool = Container::Hsm(pool.clone());
                client.data(&pool, method, &path, body).await?
            }
            Self::Vault(vault) => {
                let mut path = format!("/vaults/{vault}/{tail}?scope={}", encode(scope));
                if let Some(filter) = filter {
                    path.push('&');
                    path.push_str(&filter);
                }
                client.admin(method, &path, body).await?
            }
        })
    }
}

async fn list_assignments(
    client: &Client,
    place: &Place,
    scope: &str,
    assignee: Option<&str>,
) -> anyhow::Result<Value> {
    let filter = assignee.map(|oid| format!("principalId eq '{oid}'"));
    place
        .call(
            client,
            Method::GET,
            scope,
            "roleAssignments",
            filter.as_deref(),
            None,
        )
        .await
}

async fn definitions(client: &Client, place: &Place) -> anyhow::Result<Value> {
    place
        .call(client, Method::GET, "/", "roleDefinitions", None, None)
        .await
}

/// Assigns `role` at `scope` of the vault or pool `at` to `oid`, under `name` (default: a new
/// GUID); returns the assignment.
pub async fn assign(
    client: &Client,
    at: &Target,
    role: &str,
    oid: &str,
    scope: &str,
    name: Option<String>,
) -> anyhow::Result<Value> {
    let name = name.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let body = json!({"properties": {
        "scope": scope,
        "roleDefinitionId": role,
        "principalId": oid,
    }});
    let tail = format!("roleAssignments/{name}");
    place(at)?
        .call(client, Method::PUT, scope, &tail, None, Some(&body))
        .await
}

async fn assignment(client: &Client, action: AssignmentAction) -> anyhow::Result<Value> {
    match action {
        AssignmentAction::Create {
            at,
            role,
            assignee_object_id,
            scope,
            name,
        } => assign(client, &at, &role, &assignee_object_id, &scope, name).await,
        AssignmentAction::List {
            at,
            scope,
            assignee_object_id,
        } => list_assignments(client, &place(&at)?, &scope, assignee_object_id.as_deref()).await,
        AssignmentAction::Delete {
            at,
            name,
            assignee_object_id,
            role,
            scope,
        } => {
            let place = place(&at)?;
            let names = match (name, assignee_object_id, role) {
                (Some(name), _, _) => vec![name],
                (None, Some(oid), Some(role)) => {
                    matching(client, &place, &scope, &oid, &role).await?
                }
                _ => bail!(
                    "name the assignment (--name) or give --assignee-object-id, --role and --scope"
                ),
            };
            let mut deleted = Vec::new();
            for name in names {
                let tail = format!("roleAssignments/{name}");
                deleted.push(
                    place
                        .call(client, Method::DELETE, &scope, &tail, None, None)
                        .await?,
                );
            }
            Ok(json!({ "value": deleted }))
        }
    }
}

/// The assignments of `oid` at `scope` of the role named or identified by `role`.
async fn matching(
    client: &Client,
    place: &Place,
    scope: &str,
    oid: &str,
    role: &str,
) -> anyhow::Result<Vec<String>> {
    let defs = definitions(client, place).await?;
    let role_id = items(&defs)
        .find(|d| names_role(d, role))
        .and_then(|d| text(d, "/id"))
        .map(str::to_owned)
        .with_context(|| format!("no role definition named '{role}'"))?;
    let listed = list_assignments(client, place, scope, Some(oid)).await?;
    let at = scope_text(scope);
    let names: Vec<String> = items(&listed)
        .filter(|a| text(a, "/properties/roleDefinitionId") == Some(role_id.as_str()))
        .filter(|a| text(a, "/properties/scope") == Some(at.as_str()))
        .filter_map(|a| text(a, "/name").map(str::to_owned))
        .collect();
    if names.is_empty() {
        bail!("no assignment of '{role}' to {oid} at {scope}");
    }
    Ok(names)
}

async fn definition(client: &Client, action: DefinitionAction) -> anyhow::Result<Value> {
    match action {
        DefinitionAction::List { at } => definitions(client, &place(&at)?).await,
        DefinitionAction::Show { at, name } => {
            let all = definitions(client, &place(&at)?).await?;
            find_definition(&all, &name)
        }
        DefinitionAction::Create {
            at,
            role_definition,
        } => put_definition(client, &place(&at)?, &role_definition, false).await,
        DefinitionAction::Update {
            at,
            role_definition,
        } => put_definition(client, &place(&at)?, &role_definition, true).await,
        DefinitionAction::Delete { at, name } => {
            let place = place(&at)?;
            let all = definitions(client, &place).await?;
            let found = find_definition(&all, &name)?;
            let guid = text(&found, "/name").context("the role definition has no name")?;
            let tail = format!("roleDefinitions/{guid}");
            place
                .call(client, Method::DELETE, "/", &tail, None, None)
                .await
        }
    }
}

fn find_definition(all: &Value, name: &str) -> anyhow::Result<Value> {
    items(all)
        .find(|d| names_role(d, name))
        .cloned()
        .with_context(|| format!("no role definition named '{name}'"))
}

/// Creates (a new GUID unless the JSON names one) or updates (the JSON must name it) a custom
/// role from az's flat JSON.
async fn put_definition(
    client: &Client,
    place: &Place,
    raw: &str,
    update: bool,
) -> anyhow::Result<Value> {
    let text_of = match raw.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the role definition file {path}"))?,
        None => raw.to_owned(),
    };
    let role: Value = serde_json::from_str(&text_of).context("the role definition is not JSON")?;
    let list = |k: &str| role.get(k).cloned().unwrap_or_else(|| json!([]));
    let name = match (text(&role, "/name"), update) {
        (Some(name), _) => name.to_owned(),
        (None, false) => uuid::Uuid::new_v4().to_string(),
        (None, true) => bail!("an update names the role definition's GUID in \"name\""),
    };
    let body = json!({"properties": {
        "roleName": role.get("roleName").cloned().unwrap_or(Value::Null),
        "description": role.get("description").cloned().unwrap_or_else(|| json!("")),
        "type": "CustomRole",
        "assignableScopes": ["/"],
        "permissions": [{
            "actions": list("actions"),
            "notActions": list("notActions"),
            "dataActions": list("dataActions"),
            "notDataActions": list("notDataActions"),
        }],
    }});
    let tail = format!("roleDefinitions/{name}");
    place
        .call(client, Method::PUT, "/", &tail, None, Some(&body))
        .await
}
