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
use strongroom_core::identity::Identity;
use strongroom_service::identities::{JWT_BEARER, ProofError};

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
    let (identity, credential) = state
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
    let (token, exp) = state
        .auth
        .issue(&caller, &identity, &credential, resource)
        .await?;
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

/// `POST /{tenant}/oauth2/token` and `/{tenant}/oauth2/v2.0/token`: client credentials
/// (a client secret, or a `client_assertion` JWT: signed with a certificate of the
/// application, or a trusted issuer's token matching one of its federated credentials), and
/// the password grant for users.
pub async fn oauth_token(
    State(state): State<AppState>,
    RequestCaller(caller): RequestCaller,
    Path(tenant): Path<String>,
    Extension(ctx): Extension<Arc<RequestCtx>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<OAuthToken>> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let resource = || {
        requested_resource(&form).ok_or_else(|| {
            oauth(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "A scope ending in /.default (or a resource) is required.",
            )
        })
    };
    let ((identity, credential), resource) = match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {
            let resource = resource()?;
            let proof = client_proof(&state, &form, &headers, &ctx, &tenant, uri.path()).await?;
            (proof, resource)
        }
        Some("password") => {
            let resource = resource()?;
            let (Some(username), Some(password)) = (form.get("username"), form.get("password"))
            else {
                return Err(oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "username and password are required.",
                ));
            };
            let proof = state
                .auth
                .identity_by_password(username, password)
                .await
                .map_err(proof_error)?;
            (proof, resource)
        }
        _ => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Only the client_credentials and password grants are supported.",
            ));
        }
    };
    let (token, exp) = state
        .auth
        .issue(&caller, &identity, &credential, &resource)
        .await?;
    let lifetime = exp - state.keys.now();
    Ok(Json(OAuthToken {
        token_type: "Bearer".into(),
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: token,
    }))
}

fn proof_error(e: ProofError) -> ApiError {
    match e {
        ProofError::InvalidClient(m) => ApiError::OAuth {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: m,
        },
        ProofError::InvalidGrant(m) => ApiError::OAuth {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_grant",
            description: m,
        },
        ProofError::Domain(e) => e.into(),
    }
}

/// Who the client credentials of a `client_credentials` request prove the caller to be.
async fn client_proof(
    state: &AppState,
    form: &HashMap<String, String>,
    headers: &HeaderMap,
    ctx: &RequestCtx,
    tenant: &str,
    path: &str,
) -> ApiResult<(Identity, String)> {
    if let Some(assertion) = form.get("client_assertion") {
        if form.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("client_assertion_type must be {JWT_BEARER}."),
            ));
        }
        let client_id = form.get("client_id").ok_or_else(|| {
            oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client_id is required.",
            )
        })?;
        let base = ctx.base_url();
        let endpoints = [
            format!("{base}{path}"),
            format!("{base}/{tenant}/oauth2/token"),
            format!("{base}/{tenant}/oauth2/v2.0/token"),
        ];
        return state
            .auth
            .identity_by_assertion(client_id, assertion, &endpoints)
            .await
            .map_err(proof_error);
    }
    let (client_id, secret) = client_credentials(form, headers).ok_or_else(|| {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id with client_secret or client_assertion is required.",
        )
    })?;
    state
        .auth
        .identity_by_credentials(&client_id, &secret)
        .await
        .map_err(proof_error)
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
        grant_types_supported: vec!["client_credentials".into(), "password".into()],
        token_endpoint_auth_methods_supported: vec![
            "client_secret_post".into(),
            "client_secret_basic".into(),
            "private_key_jwt".into(),
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
