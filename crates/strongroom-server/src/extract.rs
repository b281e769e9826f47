//! Request extractors: lenient JSON bodies (empty body = `{}`, property names in any case),
//! the query parameters of the data plane, and the vault or pool a request addresses.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use strongroom_core::DomainError;
use strongroom_core::vault::VaultKind;

use crate::error::ApiError;
use crate::routing::{RequestCtx, Target};
use crate::state::AppState;
use strongroom_service::door::GrantSlot;
use strongroom_service::tokens::Principal;
use strongroom_service::{Caller, OpenVault};

/// A JSON body parsed the way Key Vault parses it.
pub struct AzJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AzJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::Domain(DomainError::bad(format!(
                "The request body could not be read: {e}"
            )))
        })?;
        parse_body(&bytes).map(AzJson)
    }
}

/// Parses a body: empty means `{}`; member names are canonicalised first.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        bytes
    };
    let mut value: serde_json::Value = serde_json::from_slice(text).map_err(|e| {
        ApiError::Domain(DomainError::bad(format!(
            "The request body is not valid JSON: {e}"
        )))
    })?;
    strongroom_api::normalize::canonicalize(&mut value);
    serde_json::from_value(value).map_err(|e| {
        ApiError::Domain(DomainError::bad(format!(
            "The request body is not valid: {e}"
        )))
    })
}

/// The data plane's query parameters. Names are percent-decoded (`api%2Dversion`).
#[derive(Debug, Default, Clone)]
pub struct DataQuery {
    /// `api-version`.
    pub api_version: Option<String>,
    /// `maxresults`.
    pub maxresults: Option<String>,
    /// `$skiptoken`.
    pub skiptoken: Option<String>,
}

impl DataQuery {
    /// Parses a query string.
    pub fn parse(query: Option<&str>) -> Self {
        let mut out = Self::default();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let slot = if k.eq_ignore_ascii_case("api-version") {
                &mut out.api_version
            } else if k.eq_ignore_ascii_case("maxresults") {
                &mut out.maxresults
            } else if k.eq_ignore_ascii_case("$skiptoken") {
                &mut out.skiptoken
            } else {
                continue;
            };
            *slot = Some(v.into_owned());
        }
        out
    }

    /// The page size: `maxresults` in 1..=25, default 25.
    pub fn page_size(&self) -> Result<usize, ApiError> {
        match &self.maxresults {
            None => Ok(25),
            Some(m) => m
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=25).contains(n))
                .ok_or_else(|| {
                    ApiError::Domain(DomainError::bad(
                        "maxresults must be an integer between 1 and 25.",
                    ))
                }),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for DataQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::parse(parts.uri.query()))
    }
}

/// Checks the data plane's `api-version`: a missing or unknown one is 400.
pub fn check_api_version(req: &Request) -> Result<(), ApiError> {
    match DataQuery::parse(req.uri().query()).api_version {
        None => Err(ApiError::ApiVersion("The 'api-version' query parameter is missing. Specify a supported version, for example api-version=7.6.".into())),
        Some(v) if !strongroom_api::version::is_supported(&v) => Err(ApiError::ApiVersion(format!(
            "The specified version ({}) is not recognized. Supported versions: {}.",
            v.chars().take(32).collect::<String>(),
            strongroom_api::version::SUPPORTED.join(", ")
        ))),
        Some(_) => Ok(()),
    }
}

/// The request context (always present behind the routing middleware).
pub fn ctx(parts: &Parts) -> Result<Arc<RequestCtx>, ApiError> {
    parts
        .extensions
        .get::<Arc<RequestCtx>>()
        .cloned()
        .ok_or_else(|| ApiError::Domain(DomainError::Internal("request context missing".into())))
}

/// The caller of a request: the identity its token proved (none yet at the token service),
/// the client's address and the request id.
pub struct RequestCaller(pub Caller);

/// The caller of a request with this context.
pub fn caller(parts: &Parts, ctx: &RequestCtx) -> Caller {
    let caller = match parts.extensions.get::<Arc<Principal>>() {
        Some(p) => Caller::identity(Arc::clone(p), ctx.client, Arc::clone(&ctx.request_id)),
        None => Caller::anonymous(ctx.client, Arc::clone(&ctx.request_id)),
    };
    match parts.extensions.get::<GrantSlot>() {
        Some(slot) => caller.noting_grant_in(Arc::clone(slot)),
        None => caller,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ctx = ctx(parts)?;
        Ok(Self(caller(parts, &ctx)))
    }
}

/// The vault or pool addressed by the host, opened, and who calls.
pub struct VaultAccess {
    /// The vault.
    pub vault: Arc<OpenVault>,
    /// The request context.
    pub ctx: Arc<RequestCtx>,
    /// The caller.
    pub caller: Caller,
}

impl FromRequestParts<AppState> for VaultAccess {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ctx = ctx(parts)?;
        let State(state) = State::<AppState>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("state".into()))?;
        let (name, kind) = match &ctx.target {
            Target::DefaultVault => (
                "default".parse().map_err(ApiError::Domain)?,
                VaultKind::Vault,
            ),
            Target::Vault(n) => (n.clone(), VaultKind::Vault),
            Target::ManagedHsm(n) => (n.clone(), VaultKind::ManagedHsm),
            other => {
                return Err(ApiError::NotFound(format!(
                    "No vault or managed HSM pool is served at this host ({other:?})."
                )));
            }
        };
        let vault = state.vaults.open(&name).await?;
        if vault.vault.kind != kind {
            return Err(ApiError::Domain(DomainError::VaultNotFound {
                name: name.to_string(),
            }));
        }
        let caller = caller(parts, &ctx);
        Ok(Self { vault, ctx, caller })
    }
}
