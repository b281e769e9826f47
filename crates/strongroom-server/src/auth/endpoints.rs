//! Token endpoints in the shapes azure-identity, MSAL and the Azure CLI speak:
//! managed identity (App Service `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, on every host),
//! OAuth2 client credentials (v1 and v2 paths), OpenID discovery and the JWKS.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::{Extension, Json};
use serde_json::Value;
use strongroom_api::token::{ManagedIdentityToken, OAuthToken, OpenIdConfiguration};

use crate::error::{ApiError, ApiResult};
use crate::extract::RequestCaller;
use crate::routing::RequestCtx;
use crate::state::AppState;

fn oauth(status: StatusCode, error: &'static str, description: impl Into<String>) -> ApiError {
    ApiError::OAuth {
        status,
        error,
        description: description.into(),
    }
}

/// `GET|POST /msi/token`, `/metadata/identity/oauth2/token`: the identity is the one whose
/// secret is in `X-IDENTITY-HEADER` (or `secret`, the Azure ML spelling).
pub async fn managed_identity_token(
    State(state): State<AppState>,
    RequestCaller(caller): RequestCaller,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> ApiResult<Json<ManagedIdentityToken>> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let resource = query
        .get("resource")
        .or_else(|| form.get("resource"))
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| {
            oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The 'resource' parameter is required.",
            )
        })?;
    let secret = headers
        .get("x-identity-header")
        .or_else(|| headers.get("secret"))
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The X-IDENTITY-HEADER header is required.",
            )
        })?;
    let identity = state
        .auth
        .identity_by_secret(secret)
        .await?
        .ok_or_else(|| {
            oauth(
                StatusCode::UNAUTHORIZED,
                "unauthorized_client",
                "The identity header does not match any identity.",
            )
        })?;
    let requested = query
        .get("client_id")
        .or_else(|| query.get("principal_id"))
        .or_else(|| query.get("object_id"));
    if requested.is_some_and(|id| *id != identity.client_id && *id != identity.object_id) {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The requested identity does not match the identity header.",
        ));
    }
    let (token, exp) = state.auth.issue(&caller, &identity, resource).await?;
    let now = state.keys.now();
    Ok(Json(ManagedIdentityToken {
        access_token: token,
        expires_on: exp.to_string(),
        expires_in: (exp - now).to_string(),
        resource: resource.clone(),
        token_type: "Bearer".into(),
        client_id: identity.client_id,
    }))
}

/// `POST /{tenant}/oauth2/token` and `/{tenant}/oauth2/v2.0/token`: client credentials.
pub async fn oauth_token(
    State(state): State<AppState>,
    RequestCaller(caller): RequestCaller,
    Path(_tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<OAuthToken>> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only the client_credentials grant is supported.",
        ));
    }
    if form.contains_key("client_assertion") {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "Client assertions are not accepted; authenticate with client_secret.",
        ));
    }
    let (client_id, secret) = client_credentials(&form, &headers).ok_or_else(|| {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and client_secret are required.",
        )
    })?;
    let identity = state
        .auth
        .identity_by_credentials(&client_id, &secret)
        .await?
        .ok_or_else(|| {
            oauth(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The client credentials are not valid.",
            )
        })?;
    let resource = requested_resource(&form).ok_or_else(|| {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "A scope ending in /.default (or a resource) is required.",
        )
    })?;
    let (token, exp) = state.auth.issue(&caller, &identity, &resource).await?;
    let lifetime = exp - state.keys.now();
    Ok(Json(OAuthToken {
        token_type: "Bearer".into(),
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: token,
    }))
}

fn client_credentials(
    form: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Option<(String, String)> {
    if let (Some(id), Some(secret)) = (form.get("client_id"), form.get("client_secret")) {
        return Some((id.clone(), secret.clone()));
    }
    let basic = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = strongroom_core::b64::decode(basic).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The resource of a v2 `scope` (`{resource}/.default`, first of several) or a v1 `resource`.
fn requested_resource(form: &HashMap<String, String>) -> Option<String> {
    if let Some(scope) = form.get("scope") {
        return scope
            .split_whitespace()
            .find_map(|s| s.strip_suffix("/.default"))
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
    }
    form.get("resource").filter(|r| !r.is_empty()).cloned()
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration` (and the v1 path).
pub async fn openid_configuration(
    State(_state): State<AppState>,
    Path(tenant): Path<String>,
    Extension(ctx): Extension<Arc<RequestCtx>>,
    uri: Uri,
) -> ApiResult<Json<OpenIdConfiguration>> {
    let base = ctx.base_url();
    let v2 = uri.path().contains("/v2.0/");
    let (issuer, token_path) = match (tenant.as_str(), v2) {
        ("adfs", _) => (format!("{base}/adfs"), format!("{base}/adfs/oauth2/token")),
        (t, true) => (
            format!("{base}/{t}/v2.0"),
            format!("{base}/{t}/oauth2/v2.0/token"),
        ),
        (t, false) => (format!("{base}/{t}/"), format!("{base}/{t}/oauth2/token")),
    };
    Ok(Json(OpenIdConfiguration {
        issuer,
        authorization_endpoint: format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        token_endpoint: token_path,
        jwks_uri: format!("{base}/{tenant}/discovery/v2.0/keys"),
        grant_types_supported: vec!["client_credentials".into()],
        token_endpoint_auth_methods_supported: vec![
            "client_secret_post".into(),
            "client_secret_basic".into(),
        ],
        id_token_signing_alg_values_supported: vec!["RS256".into()],
    }))
}

/// `GET /{tenant}/discovery/v2.0/keys`: the token-signing keys.
pub async fn jwks(State(state): State<AppState>) -> Json<Value> {
    Json(state.auth.jwks())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_from_scopes() {
        let form = |k: &str, v: &str| HashMap::from([(k.to_owned(), v.to_owned())]);
        assert_eq!(
            requested_resource(&form("scope", "https://h:1//.default")).as_deref(),
            Some("https://h:1/")
        );
        assert_eq!(
            requested_resource(&form("scope", "openid https://v.x/.default")).as_deref(),
            Some("https://v.x")
        );
        assert_eq!(requested_resource(&form("scope", "openid")), None);
        assert_eq!(
            requested_resource(&form("resource", "https://r")).as_deref(),
            Some("https://r")
        );
    }
}
