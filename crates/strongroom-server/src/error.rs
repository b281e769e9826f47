//! The one mapping from errors to HTTP: each `DomainError` variant gets its status and Azure
//! error code here. 5xx bodies say nothing internal; the cause is logged once.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use strongroom_api::error::ErrorEnvelope;
use strongroom_api::token::OAuthError;
use strongroom_core::DomainError;

/// An error on its way to the client.
#[derive(Debug)]
pub enum ApiError {
    /// A domain failure.
    Domain(DomainError),
    /// Authentication needed or failed; carries the `WWW-Authenticate` value.
    Unauthorized {
        /// Challenge header value.
        challenge: String,
        /// Message.
        message: String,
    },
    /// Authenticated but not allowed.
    Forbidden(String),
    /// No such route or resource.
    NotFound(String),
    /// The path exists but not with this method.
    MethodNotAllowed(String),
    /// api-version missing or unknown.
    ApiVersion(String),
    /// An Azure Resource Manager call without its `api-version`.
    MissingArmApiVersion,
    /// The server is at capacity.
    Throttled,
    /// Token-endpoint errors use OAuth2's shape.
    OAuth {
        /// Status.
        status: StatusCode,
        /// OAuth2 error code.
        error: &'static str,
        /// Explanation.
        description: String,
    },
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        Self::Domain(e)
    }
}

const KEY_NOT_FOUND_HELP: &str = "If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182";

fn envelope(
    status: StatusCode,
    code: &str,
    message: impl Into<String>,
    inner: Option<&str>,
) -> Response {
    (status, Json(ErrorEnvelope::new(code, message, inner))).into_response()
}

fn domain_response(e: DomainError) -> Response {
    use DomainError as D;
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match e {
        D::BadParameter(m) => envelope(status, "BadParameter", m, None),
        D::KeyNotFound { .. } => envelope(
            status,
            "KeyNotFound",
            format!("{e} {KEY_NOT_FOUND_HELP}"),
            None,
        ),
        D::DeletedKeyNotFound { .. } => envelope(status, "KeyNotFound", e.to_string(), None),
        D::KeyDeletedButRecoverable { .. } => envelope(
            status,
            "Conflict",
            e.to_string(),
            Some("ObjectIsDeletedButRecoverable"),
        ),
        D::KeyAlreadyExists { .. } | D::VaultAlreadyExists { .. } => {
            envelope(status, "Conflict", e.to_string(), None)
        }
        D::VaultNotFound { .. } => envelope(status, "VaultNotFound", e.to_string(), None),
        D::PurgeProtected => envelope(status, "Forbidden", e.to_string(), None),
        D::OperationRefused { refusal, .. } => {
            envelope(status, "Forbidden", e.to_string(), Some(refusal.code()))
        }
        D::Forbidden(m) => envelope(status, "Forbidden", m, None),
        D::ForbiddenByRbac(m) => envelope(status, "Forbidden", m, Some("ForbiddenByRbac")),
        D::ForbiddenByPolicy(m) => envelope(status, "Forbidden", m, Some("ForbiddenByPolicy")),
        D::RoleNotFound(m) | D::NotFound(m) => envelope(status, "NotFound", m, None),
        D::RoleAssignmentExists => envelope(status, "RoleAssignmentExists", e.to_string(), None),
        D::CryptoFailed(m) => envelope(status, "BadParameter", m, None),
        D::Overloaded => throttled(),
        D::Storage(_) | D::Internal(_) => {
            tracing::error!(error = %e, "request failed");
            envelope(
                status,
                "InternalServerError",
                "An internal error occurred. Retry the request.",
                None,
            )
        }
    }
}

fn throttled() -> Response {
    let mut r = envelope(
        StatusCode::TOO_MANY_REQUESTS,
        "Throttled",
        "The server is busy. Retry the request after the interval in the Retry-After header.",
        None,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Domain(e) => domain_response(e),
            Self::Unauthorized { challenge, message } => {
                let mut r = envelope(StatusCode::UNAUTHORIZED, "Unauthorized", message, None);
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                r
            }
            Self::Forbidden(m) => envelope(StatusCode::FORBIDDEN, "Forbidden", m, None),
            Self::NotFound(m) => envelope(StatusCode::NOT_FOUND, "NotFound", m, None),
            Self::MethodNotAllowed(m) => envelope(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                format!("The method {m} is not supported for this path."),
                None,
            ),
            Self::ApiVersion(m) => envelope(StatusCode::BAD_REQUEST, "BadParameter", m, None),
            Self::MissingArmApiVersion => envelope(
                StatusCode::BAD_REQUEST,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
                None,
            ),
            Self::Throttled => throttled(),
            Self::OAuth {
                status,
                error,
                description,
            } => (
                status,
                Json(OAuthError {
                    error: error.to_owned(),
                    error_description: description.clone(),
                    status_code: status.as_u16(),
                    message: description,
                }),
            )
                .into_response(),
        }
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
