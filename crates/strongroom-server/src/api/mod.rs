//! The HTTP surface: one router for every host; the routing middleware has already decided
//! which vault, pool or service a request addresses. One module per API area.

mod admin;
mod arm;
mod audit;
mod convert;
mod deleted;
mod health;
mod identities;
mod keys;
mod ops;
mod page;
mod parse;
pub mod rbac;
mod vault_policies;
mod vault_roles;

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{delete, get, post, put};

use crate::auth::endpoints as token;
use crate::auth::middleware::{require_data_plane, require_token};
use crate::error::ApiError;
use crate::state::AppState;

pub use identities::identity_env;

/// The keys data plane.
fn data_plane(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/keys", get(keys::list))
        .route("/keys/restore", post(keys::restore))
        .route(
            "/keys/{name}",
            get(keys::get_latest)
                .put(keys::import)
                .delete(deleted::delete)
                .patch(keys::update_latest),
        )
        .route(
            "/keys/{name}/",
            get(keys::get_latest).patch(keys::update_latest),
        )
        .route("/keys/{name}/create", post(keys::create))
        .route("/keys/{name}/versions", get(keys::versions))
        .route("/keys/{name}/backup", post(keys::backup))
        .route("/keys/{name}/rotate", post(keys::rotate))
        .route(
            "/keys/{name}/rotationpolicy",
            get(keys::get_policy).put(keys::set_policy),
        )
        .route(
            "/keys/{name}/{version}",
            get(keys::get_version).patch(keys::update_version),
        )
        .route("/keys/{name}/{version}/{op}", post(ops::operate))
        .route("/deletedkeys", get(deleted::list))
        .route(
            "/deletedkeys/{name}",
            get(deleted::get).delete(deleted::purge),
        )
        .route("/deletedkeys/{name}/recover", post(deleted::recover))
        .route("/rng", post(ops::rng))
        .route(
            "/providers/Microsoft.Authorization/roleAssignments",
            get(rbac::list_assignments),
        )
        .route(
            "/providers/Microsoft.Authorization/roleAssignments/{name}",
            get(rbac::get_assignment)
                .put(rbac::put_assignment)
                .delete(rbac::delete_assignment),
        )
        .route(
            "/providers/Microsoft.Authorization/roleDefinitions",
            get(rbac::list_definitions),
        )
        .route(
            "/providers/Microsoft.Authorization/roleDefinitions/{name}",
            get(rbac::get_definition)
                .put(rbac::put_definition)
                .delete(rbac::delete_definition),
        )
        .route_layer(from_fn_with_state(state.clone(), require_data_plane))
}

/// Strongroom's management API (the door admits administrators only).
fn management(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/strongroom/v1/vaults", get(admin::list_vaults))
        .route(
            "/strongroom/v1/vaults/{name}",
            put(admin::create_vault)
                .get(admin::show_vault)
                .delete(admin::delete_vault),
        )
        .route(
            "/strongroom/v1/vaults/{name}/roleDefinitions",
            get(vault_roles::definitions),
        )
        .route(
            "/strongroom/v1/vaults/{name}/roleDefinitions/{definition}",
            get(vault_roles::definition)
                .put(vault_roles::put_definition)
                .delete(vault_roles::delete_definition),
        )
        .route(
            "/strongroom/v1/vaults/{name}/roleAssignments",
            get(vault_roles::list),
        )
        .route(
            "/strongroom/v1/vaults/{name}/roleAssignments/{assignment}",
            put(vault_roles::put)
                .get(vault_roles::get)
                .delete(vault_roles::delete),
        )
        .route(
            "/strongroom/v1/vaults/{name}/accessPolicies",
            get(vault_policies::list),
        )
        .route(
            "/strongroom/v1/vaults/{name}/accessPolicies/{object_id}",
            put(vault_policies::put).delete(vault_policies::delete),
        )
        .route("/strongroom/v1/managedhsms", get(admin::list_hsms))
        .route(
            "/strongroom/v1/managedhsms/{name}",
            put(admin::create_hsm)
                .get(admin::show_hsm)
                .delete(admin::delete_hsm),
        )
        .route("/strongroom/v1/audit", get(audit::list))
        .route("/strongroom/v1/audit/verify", get(audit::verify))
        .route("/strongroom/v1/identities", get(identities::list))
        .route(
            "/strongroom/v1/identities/{name}",
            post(identities::create)
                .get(identities::show)
                .delete(identities::delete),
        )
        .route(
            "/strongroom/v1/identities/{name}/credentials",
            post(identities::add_credential),
        )
        .route(
            "/strongroom/v1/identities/{name}/credentials/{id}",
            delete(identities::remove_credential),
        )
        .route(
            "/strongroom/v1/issuers",
            get(identities::list_issuers)
                .put(identities::put_issuer)
                .delete(identities::delete_issuer),
        )
        .route_layer(from_fn_with_state(state.clone(), require_token))
}

/// What the Azure CLI asks Azure Resource Manager at login: any valid token for the host.
fn resource_manager(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/subscriptions", get(arm::subscriptions))
        .route_layer(from_fn_with_state(state.clone(), require_token))
}

/// The token service, discovery, health and metrics: no authentication.
fn open_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/msi/token",
            get(token::managed_identity_token).post(token::managed_identity_token),
        )
        .route(
            "/metadata/identity/oauth2/token",
            get(token::managed_identity_token).post(token::managed_identity_token),
        )
        .route(
            "/metadata/identity/oauth2/token/",
            get(token::managed_identity_token),
        )
        .route("/{tenant}/oauth2/token", post(token::oauth_token))
        .route("/{tenant}/oauth2/v2.0/token", post(token::oauth_token))
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(token::openid_configuration),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(token::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(token::jwks))
        .route("/{tenant}/discovery/keys", get(token::jwks))
        .route("/strongroom/v1/info", get(admin::server_info))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
}

/// The whole router, with metrics and admission control.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(data_plane(&state))
        .merge(management(&state))
        .merge(resource_manager(&state))
        .merge(open_routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(ObserveLayer(state.clone()))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("The requested path does not exist.".into())
}

async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

/// Per-operation metrics, labelled by method and route template (known once routed, so this
/// wraps each route); a plain tower layer, without a middleware's per-request boxing of the
/// route it wraps.
#[derive(Clone)]
struct Observe<S> {
    inner: S,
    state: AppState,
}

#[derive(Clone)]
struct ObserveLayer(AppState);

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            state: Arc::clone(&self.0),
        }
    }
}

impl<S> tower::Service<Request> for Observe<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let method = req.method().clone();
        let route = req.extensions().get::<MatchedPath>().cloned();
        let started = Instant::now();
        let answer = self.inner.call(req);
        let state = Arc::clone(&self.state);
        Box::pin(async move {
            let response = answer.await?;
            state.metrics.record(
                method.as_str(),
                route.as_ref().map_or("unmatched", MatchedPath::as_str),
                response.status().as_u16(),
                started.elapsed(),
            );
            Ok(response)
        })
    }
}
