//! The authentication layer: a request without a valid bearer token for this resource gets
//! 401 with the challenge the Azure SDKs parse
//! (`Bearer authorization="https://login.{suffix}[:port]/{tenant}", resource="..."`).
//! An authenticated request carries its `Principal` onward, where the service's door decides
//! what it may do.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::extract::check_api_version;
use crate::routing::RequestCtx;
use crate::state::AppState;
use strongroom_service::door::GrantSlot;
use strongroom_service::tokens::{Principal, TokenError};

const MISSING: &str = "AKV10000: Request is missing a Bearer or PoP token.";

fn challenge(state: &AppState, ctx: &RequestCtx, message: String) -> ApiError {
    ApiError::Unauthorized {
        challenge: format!(
            "Bearer authorization=\"{}\", resource=\"{}\"",
            ctx.authority_url(state.auth.tenant()),
            ctx.resource()
        ),
        message,
    }
}

fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn authenticate(state: &AppState, req: &Request) -> Result<Arc<Principal>, ApiError> {
    let ctx = req
        .extensions()
        .get::<Arc<RequestCtx>>()
        .cloned()
        .ok_or_else(|| ApiError::NotFound("no request context".into()))?;
    let token = bearer(req).ok_or_else(|| challenge(state, &ctx, MISSING.into()))?;
    let principal = state
        .auth
        .verify(token)
        .map_err(|e| challenge(state, &ctx, e.to_string()))?;
    if !ctx.accepts_audience(&principal.audience) {
        return Err(challenge(state, &ctx, TokenError::Audience.to_string()));
    }
    Ok(principal)
}

/// The data plane's gate, one layer: a supported `api-version` (400 otherwise, before any
/// authentication, as Key Vault answers), then a valid token for the addressed resource. An
/// answer the RBAC allowed names the role assignment in `x-ms-keyvault-rbac-assignment-id`.
pub async fn require_data_plane(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    const ASSIGNMENT: HeaderName = HeaderName::from_static("x-ms-keyvault-rbac-assignment-id");
    if let Err(e) = check_api_version(&req) {
        return e.into_response();
    }
    match authenticate(&state, &req) {
        Ok(principal) => {
            let granted = GrantSlot::default();
            req.extensions_mut().insert(principal);
            req.extensions_mut().insert(Arc::clone(&granted));
            let mut response = next.run(req).await;
            if let Some(value) = granted.get().and_then(|id| HeaderValue::from_str(id).ok()) {
                response.headers_mut().insert(ASSIGNMENT, value);
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

/// Requires a valid token for the addressed resource, of any identity: what the identity may
/// do is the service's door to decide.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    match authenticate(&state, &req) {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}
