//! The stored audit log through the administration API: `GET /strongroom/v1/audit` (filters
//! `since`, `until` as Unix seconds or ISO 8601, `principal`, `operation`, `result`, `limit`)
//! and `GET /strongroom/v1/audit/verify`.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use strongroom_core::DomainError;
use strongroom_core::audit::AuditFilter;

use crate::error::{ApiError, ApiResult};
use crate::extract::RequestCaller;
use crate::state::AppState;

/// The filters of a listing.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    since: Option<String>,
    until: Option<String>,
    principal: Option<String>,
    operation: Option<String>,
    result: Option<String>,
    limit: Option<i64>,
}

fn time(raw: Option<&str>, name: &str) -> Result<Option<i64>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    if let Ok(seconds) = raw.parse::<i64>() {
        return Ok(Some(seconds));
    }
    time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map(|t| Some(t.unix_timestamp()))
        .map_err(|_| {
            ApiError::Domain(DomainError::bad(format!(
                "'{name}' must be Unix seconds or an RFC 3339 time, not '{raw}'."
            )))
        })
}

/// `GET /strongroom/v1/audit`.
pub async fn list(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Value>> {
    let filter = AuditFilter {
        since: time(q.since.as_deref(), "since")?,
        until: time(q.until.as_deref(), "until")?,
        principal: q.principal,
        operation: q.operation,
        result: q.result,
        limit: q.limit,
    };
    let events = s.audit.list(&c, &filter).await?;
    Ok(Json(json!({ "value": events })))
}

/// `GET /strongroom/v1/audit/verify`.
pub async fn verify(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
) -> ApiResult<Json<Value>> {
    let found = s.audit.verify(&c).await?;
    Ok(Json(json!({
        "events": found.events,
        "chains": found.chains,
        "intact": found.problems.is_empty(),
        "problems": found.problems,
    })))
}
