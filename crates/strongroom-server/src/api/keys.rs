//! Handlers for keys: create, import, get, list, versions, update, backup, restore, rotate,
//! rotation policy.

use axum::Json;
use axum::extract::{Path, State};
use strongroom_api::keys::{
    KeyBundle, KeyCreateParameters, KeyImportParameters, KeyItem, KeyRotationPolicy,
    KeyUpdateParameters, Page, ValueBlob,
};
use strongroom_core::DomainError;
use strongroom_core::b64;
use strongroom_core::names::{KeyName, KeyVersion};

use super::{convert, page, parse};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AzJson, DataQuery, VaultAccess};
use crate::state::AppState;

/// Parses a key name from the path.
pub fn key_name(raw: &str) -> Result<KeyName, ApiError> {
    raw.parse().map_err(ApiError::Domain)
}

/// Parses a version segment: empty means latest; anything not a version cannot exist.
pub fn key_version(name: &KeyName, raw: &str) -> Result<Option<KeyVersion>, ApiError> {
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| {
        ApiError::Domain(DomainError::KeyNotFound {
            name: format!("{name}/{}", raw.chars().take(64).collect::<String>()),
        })
    })
}

/// `POST /keys/{name}/create`.
pub async fn create(
    State(s): State<AppState>,
    a: VaultAccess,
    Path(name): Path<String>,
    AzJson(p): AzJson<KeyCreateParameters>,
) -> ApiResult<Json<KeyBundle>> {
    let name = key_name(&name)?;
    let record = s
        .keys
        .create(&a.caller, &a.vault, &name, parse::new_key(&p)?)
        .await?;
    Ok(Json(convert::bundle(
        &a.ctx.base_url(),
        &a.vault.vault,
        &record,
    )))
}

/// `PUT /keys/{name}`.
pub async fn import(
    State(s): State<AppState>,
    a: VaultAccess,
    Path(name): Path<String>,
    AzJson(p): AzJson<KeyImportParameters>,
) -> ApiResult<Json<KeyBundle>> {
    let name = key_name(&name)?;
    let record = s
        .keys
        .import(&a.caller, &a.vault, &name, parse::import_key(&p)?)
        .await?;
    Ok(Json(convert::bundle(
        &a.ctx.base_url(),
        &a.vault.vault,
        &record,
    )))
}

async fn get(
    s: &AppState,
    a: &VaultAccess,
    name: &str,
    version: &str,
) -> ApiResult<Json<KeyBundle>> {
    let name = key_name(name)?;
    let version = key_version(&name, version)?;
    let record = s
        .keys
        .get(&a.caller, &a.vault, &name, version.as_ref())
        .await?;
    Ok(Json(convert::bundle(
        &a.ctx.base_url(),
        &a.vault.vault,
        &record,
    )))
}

/// `GET /keys/{name}` and `/keys/{name}/`.
pub async fn get_latest(
    State(s): State<AppState>,
    a: VaultAccess,
    Path(name): Path<String>,
) -> ApiResult<Json<KeyBundle>> {
    get(&s, &a, &name, "").await
}

/// `GET /keys/{name}/{version}`.
pub async fn get_version(
    State(s): State<AppState>,
    a: VaultAccess,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Json<KeyBundle>> {
    get(&s, &a, &name, &version).await
}

async fn update(
    s: &AppState,
    a: &VaultAccess,
    name: &str,
    version: &str,
    p: &KeyUpdateParameters,
) -> ApiResult<Json<KeyBundle>> {
    let name = key_name(name)?;
    let version = key_version(&name, version)?;
    let record = s
        .keys
        .update(
            &a.caller,
            &a.vault,
            &name,
            version.as_ref(),
            parse::update(p)?,
        )
        .await?;
    Ok(Json(convert::bundle(
        &a.ctx.base_url(),
        &a.vault.vault,
        &record,
    )))
}

/// `PATCH /keys/{name}` and `/keys/{name}/`: updates the latest version.
pub async fn update_latest(
    State(s): State<AppState>,
    a: VaultAccess,
    Path(name): Path<String>,
    AzJson(p): AzJson<KeyUpdateParameters>,
) -> ApiResult<Json<KeyBundle>> {
    update(&s, &a, &name, "", &p).await
}

/// `PATCH /keys/{name}/{version}`.
pub async fn update_version(
    State(s): State<AppState>,
    a: VaultAccess,
    Path((name, version)): Path<(String, String)>,
    AzJson(p): AzJson<KeyUpdateParameters>,
) -> ApiResult<Json<KeyBundle>> {
    update(&s, &a, &name, &version, &p).await
}

/// `GET /keys`.
pub async fn list(
    State(s): State<AppState>,
    a: VaultAccess,
    q: DataQuery,
) -> ApiResult<Json<Page<KeyItem>>> {
    let size = q.page_size()?;
    let after = page::name_token(q.skiptoken.as_deref())?;
    let mut records = s
        .keys
        .list(&a.caller, &a.vault, after.as_ref(), size + 1)
        .await?;
    let more = records.len() > size;
    records.truncate(size);
    let next = records
        .last()
        .filter(|_| more)
        .map(|r| page::next_link(&a.ctx, "/keys", &q, &page::encode_name(&r.id.name), size));
    let base = a.ctx.base_url();
    Ok(Json(Page {
        value: records
            .iter()
            .map(|r| convert::item(&base, &a.vault.vault, r, false))
            .collect(),
        next_link: next,
    }))
}

/// `GET /keys/{name}/versions`.
pub async fn versions(
    State(s): State<AppState>,
    a: VaultAccess,
    Path(name): Path<String>,
    q: DataQuery,
) -> ApiResult<Json<Page<KeyItem>>> {
    let name = key_name(&name)?;
    let size = q.page_size()?;
    let skip = page::offset_token(q.skiptoken.as_deref())?;
    let mut records = s
        .keys
        .versions(&a.caller, &a.vault, &name, skip, size + 1)
        .await?;
    let more = records.len() > size;
    records.truncate(size);
    let path = format!("/keys/{name}/versions");
    let next = more.then(|| page::next_link(&a.ctx, &path, &q, &(skip + size).to_string(), size));
    let base = a.ctx.base_url();
    Ok(Json(Page {
        value: records
            .iter()
            .map(|r| convert::item(&base, &a.vault.vault, r, true))
            .collect(),
        next_link: next,
    }))
}

/// `POST /keys/{name}/backup`.
pub async fn backup(
    State(s): State<AppState>,
    a: VaultAccess,
    Path(name): Path<String>,
) -> ApiResult<Json<ValueBlob>> {
    let name = key_name(&name)?;
    let blob = s.keys.backup(&a.caller, &a.vault, &name).await?;
    Ok(Json(ValueBlob {
        value: Some(b64::encode(blob)),
    }))
}

/// `POST /keys/restore`.
pub async fn restore(
    State(s): State<AppState>,
    a: VaultAccess,
    AzJson(p): AzJson<ValueBlob>,
) -> ApiResult<Json<KeyBundle>> {
    let blob = parse::bytes(&p.value, "value")?;
    let record = s.keys.restore(&a.caller, &a.vault, &blob).await?;
    Ok(Json(convert::bundle(
        &a.ctx.base_url(),
        &a.vault.vault,
        &record,
    )))
}

/// `POST /keys/{name}/rotate`.
pub async fn rotate(
    State(s): State<AppState>,
    a: VaultAccess,
    Path(name): Path<String>,
) -> ApiResult<Json<KeyBundle>> {
    let name = key_name(&name)?;
    let record = s.keys.rotate(&a.caller, &a.vault, &name).await?;
    Ok(Json(convert::bundle(
        &a.ctx.base_url(),
        &a.vault.vault,
        &record,
    )))
}

/// `GET /keys/{name}/rotationpolicy`.
pub async fn get_policy(
    State(s): State<AppState>,
    a: VaultAccess,
    Path(name): Path<String>,
) -> ApiResult<Json<KeyRotationPolicy>> {
    let name = key_name(&name)?;
    let policy = s.keys.rotation_policy(&a.caller, &a.vault, &name).await?;
    Ok(Json(convert::rotation_policy(
        &a.ctx.base_url(),
        name.as_str(),
        &policy,
    )))
}

/// `PUT /keys/{name}/rotationpolicy`.
pub async fn set_policy(
    State(s): State<AppState>,
    a: VaultAccess,
    Path(name): Path<String>,
    AzJson(p): AzJson<KeyRotationPolicy>,
) -> ApiResult<Json<KeyRotationPolicy>> {
    let name = key_name(&name)?;
    let policy = s
        .keys
        .set_rotation_policy(&a.caller, &a.vault, &name, parse::rotation_policy(&p)?)
        .await?;
    Ok(Json(convert::rotation_policy(
        &a.ctx.base_url(),
        name.as_str(),
        &policy,
    )))
}
