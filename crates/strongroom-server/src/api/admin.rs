//! Strongroom's management API under `/strongroom/v1`: vaults and managed HSM pools.
//! Administrators only (except `info`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use strongroom_api::admin::{ServerInfo, VaultCreate, VaultInfo, VaultList};
use strongroom_core::names::VaultName;
use strongroom_core::vault::{RetentionDays, Sku, Vault, VaultKind};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AzJson, RequestCaller};
use crate::state::AppState;
use strongroom_service::Caller;
use strongroom_service::vaults::VaultSpec;

fn vault_url(s: &AppState, v: &Vault) -> String {
    let kind = match v.kind {
        VaultKind::Vault => "vault",
        VaultKind::ManagedHsm => "managedhsm",
    };
    format!(
        "https://{}.{kind}.{}:{}",
        v.name, s.config.dns_suffix, s.public_port
    )
}

fn info(s: &AppState, v: &Vault) -> VaultInfo {
    VaultInfo {
        name: v.name.to_string(),
        kind: v.kind.as_str().into(),
        sku: v.sku.as_str().into(),
        retention_days: v.retention.days(),
        purge_protection: v.purge_protection,
        enable_rbac_authorization: v.rbac_authorization,
        created: v.created,
        url: vault_url(s, v),
    }
}

fn name(raw: &str) -> Result<VaultName, ApiError> {
    raw.parse().map_err(ApiError::Domain)
}

async fn create(
    s: &AppState,
    c: &Caller,
    kind: VaultKind,
    raw: &str,
    p: &VaultCreate,
) -> ApiResult<(StatusCode, Json<VaultInfo>)> {
    let sku = match (kind, p.sku.as_deref()) {
        (VaultKind::ManagedHsm, _) | (_, None) => Sku::Premium,
        (VaultKind::Vault, Some(sku)) => sku.parse()?,
    };
    let spec = VaultSpec {
        name: name(raw)?,
        kind,
        sku,
        retention: p
            .retention_days
            .map_or(Ok(RetentionDays::DEFAULT), RetentionDays::new)?,
        purge_protection: p.purge_protection.unwrap_or(false),
        rbac_authorization: p.enable_rbac_authorization.unwrap_or(true),
    };
    let vault = s.vaults.create(c, spec).await?;
    Ok((StatusCode::CREATED, Json(info(s, &vault))))
}

async fn list(s: &AppState, c: &Caller, kind: VaultKind) -> ApiResult<Json<VaultList>> {
    let all = s.vaults.list(c).await?;
    Ok(Json(VaultList {
        value: all
            .iter()
            .filter(|v| v.kind == kind)
            .map(|v| info(s, v))
            .collect(),
    }))
}

async fn show(s: &AppState, c: &Caller, kind: VaultKind, raw: &str) -> ApiResult<Json<VaultInfo>> {
    let vault = s.vaults.show(c, &name(raw)?).await?;
    if vault.kind != kind {
        return Err(ApiError::Domain(
            strongroom_core::DomainError::VaultNotFound {
                name: raw.to_owned(),
            },
        ));
    }
    Ok(Json(info(s, &vault)))
}

async fn delete(s: &AppState, c: &Caller, kind: VaultKind, raw: &str) -> ApiResult<StatusCode> {
    let _exists = show(s, c, kind, raw).await?;
    let vault = name(raw)?;
    s.vaults.delete(c, &vault).await?;
    s.keys.forget_vault(&vault);
    Ok(StatusCode::OK)
}

macro_rules! kind_handlers {
    ($kind:expr, $create:ident, $list:ident, $show:ident, $delete:ident) => {
        /// Create.
        pub async fn $create(
            State(s): State<AppState>,
            RequestCaller(c): RequestCaller,
            Path(n): Path<String>,
            AzJson(p): AzJson<VaultCreate>,
        ) -> ApiResult<(StatusCode, Json<VaultInfo>)> {
            create(&s, &c, $kind, &n, &p).await
        }
        /// List.
        pub async fn $list(
            State(s): State<AppState>,
            RequestCaller(c): RequestCaller,
        ) -> ApiResult<Json<VaultList>> {
            list(&s, &c, $kind).await
        }
        /// Show.
        pub async fn $show(
            State(s): State<AppState>,
            RequestCaller(c): RequestCaller,
            Path(n): Path<String>,
        ) -> ApiResult<Json<VaultInfo>> {
            show(&s, &c, $kind, &n).await
        }
        /// Delete.
        pub async fn $delete(
            State(s): State<AppState>,
            RequestCaller(c): RequestCaller,
            Path(n): Path<String>,
        ) -> ApiResult<StatusCode> {
            delete(&s, &c, $kind, &n).await
        }
    };
}

kind_handlers!(
    VaultKind::Vault,
    create_vault,
    list_vaults,
    show_vault,
    delete_vault
);
kind_handlers!(
    VaultKind::ManagedHsm,
    create_hsm,
    list_hsms,
    show_hsm,
    delete_hsm
);

/// `GET /strongroom/v1/info`.
pub async fn server_info(State(s): State<AppState>) -> Json<ServerInfo> {
    Json(ServerInfo {
        dns_suffix: s.config.dns_suffix.clone(),
        tenant_id: s.auth.tenant().to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        node_id: s.node_id.clone(),
    })
}
