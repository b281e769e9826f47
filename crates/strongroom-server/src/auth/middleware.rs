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

fn bearer(value: &HeaderValue) -> Option<&str> {
    let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The request's context and its bearer token (owned: a request is not shared between
/// threads, so no reference to it may cross an await).
fn bearer_of(state: &AppState, req: &Request) -> Result<(Arc<RequestCtx>, Token), ApiError> {
    let ctx = req
        .extensions()
        .get::<Arc<RequestCtx>>()
        .cloned()
        .ok_or_else(|| ApiError::NotFound("no request context".into()))?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(Token::of)
        .ok_or_else(|| challenge(state, &ctx, MISSING.into()))?;
    Ok((ctx, token))
}

/// A bearer token: the `Authorization` header (a cheap copy of shared bytes, checked once) and
/// where the token lies in it.
struct Token {
    header: HeaderValue,
    at: std::ops::Range<usize>,
}

impl Token {
    fn of(header: &HeaderValue) -> Option<Self> {
        let text = bearer(header)?;
        let start = text.as_ptr() as usize - header.as_bytes().as_ptr() as usize;
        Some(Self {
            at: start..start + text.len(),
            header: header.clone(),
        })
    }

    fn as_str(&self) -> &str {
        // The range was cut from this header's text, which `bearer` checked is visible ASCII.
        std::str::from_utf8(
            self.header
                .as_bytes()
                .get(self.at.clone())
                .unwrap_or_default(),
        )
        .unwrap_or_default()
    }
}

async fn verified(
    state: &AppState,
    ctx: Arc<RequestCtx>,
    token: Token,
) -> Result<Arc<Principal>, ApiError> {
    let principal = state
        .auth
        .verify(token.as_str())
        .await
        .map_err(|e| match e {
            TokenError::Unavailable(m) => {
                ApiError::Domain(strongroom_core::DomainError::Storage(m))
            }
            e => challenge(state, &ctx, e.to_string()),
        })?;
    if !principal.audience_preapproved && !ctx.accepts_audience(&principal.audience) {
        return Err(challenge(state, &ctx, TokenError::Audience.to_string()));
    }
    Ok(principal)
}

/// The request with the principal its token proves attached, or the refusal.
async fn authenticated(state: &AppState, mut req: Request) -> Result<Request, Response> {
    let (ctx, token) = bearer_of(state, &req).map_err(IntoResponse::into_response)?;
    let principal = verified(state, ctx, token)
        .await
        .map_err(IntoResponse::into_response)?;
    req.extensions_mut().insert(principal);
    Ok(req)
}

/// The data plane's gate, one layer: a supported `api-version` (400 otherwise, before any
/// authentication, as Key Vault answers), then a valid token for the addressed resource. An
/// answer the RBAC allowed names the role assignment in `x-ms-keyvault-rbac-assignment-id`.
pub async fn require_data_plane(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    const ASSIGNMENT: HeaderName = HeaderName::from_static("x-ms-keyvault-rbac-assignment-id");
    if let Err(e) = check_api_version(&req) {
        return e.into_response();
    }
    let mut req = match authenticated(&state, req).await {
        Ok(req) => req,
        Err(refused) => return refused,
    };
    let granted = GrantSlot::default();
    req.extensions_mut().insert(Arc::clone(&granted));
    let mut response = next.run(req).await;
    if let Some(value) = granted.get().and_then(|id| HeaderValue::from_str(id).ok()) {
        response.headers_mut().insert(ASSIGNMENT, value);
    }
    response
}

/// Requires a valid token for the addressed resource, of any identity: what the identity may
/// do is the service's door to decide.
pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match authenticated(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(refused) => refused,
    }
}
