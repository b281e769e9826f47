//! Handlers for soft-deleted keys: delete, get, list, recover, purge.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use strongroom_api::keys::{DeletedKeyBundle, DeletedKeyItem, KeyBundle, Page};

use super::keys::key_name;
use super::{convert, page};
use crate::error::ApiResult;
use crate::extract::{DataQuery, VaultAccess};
use crate::state::AppState;

/// `DELETE /keys/{name}`.
pub async fn delete(
    State(s): State<AppState>,
    a: VaultAccess,
    Path(name): Path<String>,
) -> ApiResult<Json<DeletedKeyBundle>> {
    let name = key_name(&name)?;
    let deleted = s.keys.delete(&a.caller, &a.vault, &name).await?;
    Ok(Json(convert::deleted_bundle(
        &a.ctx.base_url(),
        &a.vault.vault,
        &deleted,
    )))
}

/// `GET /deletedkeys/{name}`.
pub async fn get(
    State(s): State<AppState>,
    a: VaultAccess,
    Path(name): Path<String>,
) -> ApiResult<Json<DeletedKeyBundle>> {
    let name = key_name(&name)?;
    let deleted = s.keys.get_deleted(&a.caller, &a.vault, &name).await?;
    Ok(Json(convert::deleted_bundle(
        &a.ctx.base_url(),
        &a.vault.vault,
        &deleted,
    )))
}

/// `GET /deletedkeys`.
pub async fn list(
    State(s): State<AppState>,
    a: VaultAccess,
    q: DataQuery,
) -> ApiResult<Json<Page<DeletedKeyItem>>> {
    let size = q.page_size()?;
    let after = page::name_token(q.skiptoken.as_deref())?;
    let mut items = s
        .keys
        .list_deleted(&a.caller, &a.vault, after.as_ref(), size + 1)
        .await?;
    let more = items.len() > size;
    items.truncate(size);
    let next = items.last().filter(|_| more).map(|d| {
        page::next_link(
            &a.ctx,
            "/deletedkeys",
            &q,
            &page::encode_name(&d.latest.id.name),
            size,
        )
    });
    let base = a.ctx.base_url();
    Ok(Json(Page {
        value: items
            .iter()
            .map(|d| convert::deleted_item(&base, &a.vault.vault, d))
            .collect(),
        next_link: next,
    }))
}

/// `POST /deletedkeys/{name}/recover`.
pub async fn recover(
    State(s): State<AppState>,
    a: VaultAccess,
    Path(name): Path<String>,
) -> ApiResult<Json<KeyBundle>> {
    let name = key_name(&name)?;
    let record = s.keys.recover(&a.caller, &a.vault, &name).await?;
    Ok(Json(convert::bundle(
        &a.ctx.base_url(),
        &a.vault.vault,
        &record,
    )))
}

/// `DELETE /deletedkeys/{name}`: 204 with no body.
pub async fn purge(
    State(s): State<AppState>,
    a: VaultAccess,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let name = key_name(&name)?;
    s.keys.purge(&a.caller, &a.vault, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
