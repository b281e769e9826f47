//! Host routing and path normalisation. The `Host` (or HTTP/2 `:authority`) decides which
//! resource a request is for; every id the server returns is built from the authority the
//! client used. Path words (`keys`, `wrapKey`, `rotationPolicy`, ...) match in any case.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::Uri;
use axum::http::uri::PathAndQuery;
use axum::response::{IntoResponse, Response};
use strongroom_core::names::VaultName;
use tower::ServiceExt;

use crate::error::ApiError;
use crate::state::AppState;

/// The resource a request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The bare host (`localhost`, an IP literal, or any other name): the `default` vault,
    /// the token service and management.
    DefaultVault,
    /// `{name}.vault.{suffix}`.
    Vault(VaultName),
    /// `{name}.managedhsm.{suffix}`.
    ManagedHsm(VaultName),
    /// `{name}.attest.{suffix}`.
    Attestation(String),
    /// `login.{suffix}`.
    Login,
    /// A vault or pool host whose label is not a valid name.
    NoSuchHost(String),
}

/// Where a request is going, as the client addressed it.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    /// The resource.
    pub target: Target,
    /// `host[:port]` as sent, lowercased.
    pub authority: String,
    /// `:port` as sent, or empty.
    pub port_suffix: String,
    /// The configured DNS suffix.
    pub dns_suffix: Arc<str>,
    /// This request's id, sent back as `x-ms-request-id` and named in its audit event.
    pub request_id: Arc<str>,
    /// The client's address (the peer of the TCP connection).
    pub client: Option<IpAddr>,
}

impl RequestCtx {
    /// `https://{authority}`: the base of every id returned.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.authority)
    }

    /// The resource advertised in the 401 challenge: the parent domain of vault and pool
    /// hosts (so the SDKs' challenge verification passes), the host itself otherwise.
    pub fn resource(&self) -> String {
        match self.target {
            Target::Vault(_) => format!("https://vault.{}{}", self.dns_suffix, self.port_suffix),
            Target::ManagedHsm(_) => {
                format!("https://managedhsm.{}{}", self.dns_suffix, self.port_suffix)
            }
            _ => self.base_url(),
        }
    }

    /// The authorization URL of the challenge.
    pub fn authority_url(&self, tenant: &str) -> String {
        format!(
            "https://login.{}{}/{tenant}",
            self.dns_suffix, self.port_suffix
        )
    }

    /// Whether a token with audience `aud` may be used here: the advertised resource, or the
    /// public Azure resource of the same kind (what workloads configured for Azure ask for).
    /// Compared in any case and without a trailing `/`, as `normalize_resource` would, but
    /// without building either string.
    pub fn accepts_audience(&self, aud: &str) -> bool {
        let aud = aud.trim().trim_end_matches('/');
        let (kind, public) = match self.target {
            Target::Vault(_) => ("vault.", "https://vault.azure.net"),
            Target::ManagedHsm(_) => ("managedhsm.", "https://managedhsm.azure.net"),
            Target::DefaultVault => ("", "https://vault.azure.net"),
            _ => ("", ""),
        };
        let advertised: [&str; 4] = if kind.is_empty() {
            ["https://", &self.authority, "", ""]
        } else {
            ["https://", kind, &self.dns_suffix, &self.port_suffix]
        };
        spells(aud, &advertised) || (!public.is_empty() && aud.eq_ignore_ascii_case(public))
    }
}

/// Whether `text` is the concatenation of `parts`, in any case.
fn spells(text: &str, parts: &[&str]) -> bool {
    let mut rest = text.as_bytes();
    for part in parts {
        let Some((head, tail)) = rest.split_at_checked(part.len()) else {
            return false;
        };
        if !head.eq_ignore_ascii_case(part.as_bytes()) {
            return false;
        }
        rest = tail;
    }
    rest.is_empty()
}

/// Classifies a host name (without port).
pub fn classify(host: &str, suffix: &str) -> Target {
    let host = host.trim_end_matches('.');
    let Some(under) = host
        .strip_suffix(suffix)
        .and_then(|rest| rest.strip_suffix('.'))
    else {
        return Target::DefaultVault;
    };
    if under == "login" {
        return Target::Login;
    }
    let Some((label, kind)) = under.rsplit_once('.') else {
        return Target::DefaultVault;
    };
    let make: fn(VaultName) -> Target = match kind {
        "vault" => Target::Vault,
        "managedhsm" => Target::ManagedHsm,
        "attest" => return Target::Attestation(label.to_owned()),
        _ => return Target::DefaultVault,
    };
    match label.parse::<VaultName>() {
        Ok(name) if !label.contains('.') => make(name),
        _ => Target::NoSuchHost(host.to_owned()),
    }
}

/// Splits `host[:port]` (IPv6 literals in brackets).
fn split_authority(authority: &str) -> (&str, &str) {
    if let Some(rest) = authority.strip_prefix('[')
        && let Some((host, port)) = rest.split_once(']')
    {
        return (host, port);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
            (host, &authority[host.len()..])
        }
        _ => (authority, ""),
    }
}

/// The front of the server, around the API router: the request context (from `Host`), the
/// path rewrite (before routing), admission control and the service headers on every
/// response. One tower service rather than middleware layers and a second router, because it
/// runs on every request.
#[derive(Clone)]
pub struct Front {
    state: AppState,
    router: axum::Router,
    suffix: Arc<str>,
}

impl Front {
    /// The front of `state`'s API.
    pub fn new(state: AppState) -> Self {
        Self {
            router: crate::api::router(Arc::clone(&state)),
            suffix: Arc::from(state.config.dns_suffix.as_str()),
            state,
        }
    }

    async fn serve(self, mut req: Request) -> Response {
        let request_id = self.attach_context(&mut req);
        let client_request_id = req.headers().get("x-ms-client-request-id").cloned();
        let mut response = match self.state.admission.admit().await {
            Ok(slot) => {
                let response = match self.router.oneshot(req).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                drop(slot);
                response
            }
            Err(_) => {
                self.state.metrics.refused();
                ApiError::Throttled.into_response()
            }
        };
        add_service_headers(response.headers_mut(), &request_id, client_request_id);
        response
    }

    /// Attaches the `RequestCtx` and lowercases path words; the request id.
    fn attach_context(&self, req: &mut Request) -> Arc<str> {
        let mut authority = req
            .headers()
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
            .unwrap_or_else(|| self.state.config.listen.to_string());
        authority.make_ascii_lowercase();
        let (host, port) = split_authority(&authority);
        let ctx = RequestCtx {
            target: classify(host, &self.suffix),
            port_suffix: port.to_owned(),
            dns_suffix: Arc::clone(&self.suffix),
            request_id: new_request_id(),
            client: crate::proxy::client_address(req.extensions()),
            authority,
        };
        let request_id = Arc::clone(&ctx.request_id);
        if let Some((scope, uri)) = rbac_uri(req.uri()) {
            req.extensions_mut()
                .insert(crate::api::rbac::RbacScope(scope));
            *req.uri_mut() = uri;
        } else if let Some(uri) =
            normalized_uri(req.uri(), req.method() == axum::http::Method::POST)
        {
            *req.uri_mut() = uri;
        }
        req.extensions_mut().insert(Arc::new(ctx));
        request_id
    }
}

impl<B> tower::Service<axum::http::Request<B>> for Front
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, Self::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        let front = self.clone();
        Box::pin(async move { Ok(front.serve(req.map(axum::body::Body::new)).await) })
    }
}

/// A version-4 UUID from the thread's userspace generator: no system call per request.
fn new_request_id() -> Arc<str> {
    let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    let mut buffer = uuid::Uuid::encode_buffer();
    Arc::from(&*id.hyphenated().encode_lower(&mut buffer))
}

/// The headers Key Vault puts on every response: a request id of its own, the caller's
/// `x-ms-client-request-id` echoed, the service version, and HSTS (the service is HTTPS only).
fn add_service_headers(
    headers: &mut axum::http::HeaderMap,
    request_id: &str,
    client_request_id: Option<axum::http::HeaderValue>,
) {
    use axum::http::{HeaderName, HeaderValue};
    const REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");
    const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");
    const SERVICE_VERSION: HeaderName = HeaderName::from_static("x-ms-keyvault-service-version");
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, id);
    }
    if let Some(id) = client_request_id {
        headers.insert(CLIENT_REQUEST_ID, id);
    }
    headers.insert(
        SERVICE_VERSION,
        HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
    );
    headers.insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000;includeSubDomains"),
    );
}

const RBAC_MARK: &str = "/providers/microsoft.authorization/";

/// An RBAC path `{scope}/providers/Microsoft.Authorization/{rest}` split into its scope and
/// the path the router knows (`/providers/Microsoft.Authorization/{rest}`).
fn rbac_uri(uri: &Uri) -> Option<(String, Uri)> {
    let path = uri.path();
    let at = path
        .as_bytes()
        .windows(RBAC_MARK.len())
        .position(|w| w.eq_ignore_ascii_case(RBAC_MARK.as_bytes()))?;
    let (scope, rest) = path.split_at(at);
    let rest = &rest[RBAC_MARK.len()..];
    let (kind, tail) = rest.split_once('/').map_or((rest, ""), |(k, t)| (k, t));
    let kind = match kind.to_ascii_lowercase().as_str() {
        "roleassignments" => "roleAssignments",
        "roledefinitions" => "roleDefinitions",
        _ => return None,
    };
    let mut new_path = format!("/providers/Microsoft.Authorization/{kind}");
    if !tail.is_empty() {
        new_path.push('/');
        new_path.push_str(tail);
    }
    if let Some(q) = uri.query() {
        new_path.push('?');
        new_path.push_str(q);
    }
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(new_path.parse::<PathAndQuery>().ok()?);
    Some((scope.to_owned(), Uri::from_parts(parts).ok()?))
}

fn normalized_uri(uri: &Uri, is_post: bool) -> Option<Uri> {
    let path = normalize_path(uri.path(), is_post)?;
    let pq = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(pq.parse::<PathAndQuery>().ok()?);
    Uri::from_parts(parts).ok()
}

const ROOT_WORDS: &[&str] = &["keys", "deletedkeys", "rng"];
const KEY_WORDS: &[&str] = &[
    "create",
    "versions",
    "backup",
    "rotate",
    "rotationpolicy",
    "release",
    "attestation",
];
const OP_WORDS: &[&str] = &[
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "wrapkey",
    "unwrapkey",
    "release",
    "attestation",
];

/// The path with its fixed words lowercased, if that changes anything (and only then is
/// anything allocated).
pub fn normalize_path(path: &str, is_post: bool) -> Option<String> {
    // The word `seg` spells in another case, if it is one of `words` and not in lower case.
    fn word(seg: Option<&str>, words: &[&'static str]) -> Option<&'static str> {
        let seg = seg?;
        if !seg.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        words.iter().find(|w| w.eq_ignore_ascii_case(seg)).copied()
    }
    let mut first = [None; 5];
    let mut count = 0;
    for (slot, seg) in first.iter_mut().zip(path.split('/')) {
        *slot = Some(seg);
        count += 1;
    }
    count += path.split('/').skip(5).count();
    let [_, s1, s2, s3, s4] = first;
    let mut changes: [Option<&'static str>; 5] = [None; 5];
    changes[1] = word(s1, ROOT_WORDS);
    let root = changes[1].or(s1).unwrap_or_default();
    if root == "keys" {
        if count == 3 && is_post {
            changes[2] = word(s2, &["restore"]);
        }
        changes[3] = word(s3, KEY_WORDS);
        changes[4] = word(s4, OP_WORDS);
    } else if root == "deletedkeys" {
        changes[3] = word(s3, &["recover"]);
    }
    if changes.iter().all(Option::is_none) {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(changes.get(i).copied().flatten().unwrap_or(seg));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_hosts() {
        let s = "strongroom.localhost";
        assert_eq!(
            classify("vault1.vault.strongroom.localhost", s),
            Target::Vault("vault1".parse().unwrap())
        );
        assert!(
            matches!(
                classify("v1.vault.strongroom.localhost", s),
                Target::NoSuchHost(_)
            ),
            "names are 3-24 chars"
        );
        assert!(matches!(
            classify("pool-1.managedhsm.strongroom.localhost", s),
            Target::ManagedHsm(_)
        ));
        assert_eq!(classify("login.strongroom.localhost", s), Target::Login);
        assert_eq!(classify("127.0.0.1", s), Target::DefaultVault);
        assert_eq!(classify("localhost", s), Target::DefaultVault);
        assert!(matches!(
            classify("a.b.vault.strongroom.localhost", s),
            Target::NoSuchHost(_)
        ));
        assert!(matches!(
            classify("x.attest.strongroom.localhost", s),
            Target::Attestation(_)
        ));
    }

    #[test]
    fn splits_authorities() {
        assert_eq!(split_authority("h.example:8443"), ("h.example", ":8443"));
        assert_eq!(split_authority("h.example"), ("h.example", ""));
        assert_eq!(split_authority("[::1]:8443"), ("::1", ":8443"));
    }

    #[test]
    fn lowercases_path_words_only() {
        assert_eq!(
            normalize_path("/Keys/MyKey/v1/wrapKey", false).as_deref(),
            Some("/keys/MyKey/v1/wrapkey")
        );
        assert_eq!(
            normalize_path("/keys/MyKey/rotationPolicy", false).as_deref(),
            Some("/keys/MyKey/rotationpolicy")
        );
        assert_eq!(
            normalize_path("/deletedKeys/K/Recover", true).as_deref(),
            Some("/deletedkeys/K/recover")
        );
        assert_eq!(
            normalize_path("/keys/Restore", true).as_deref(),
            Some("/keys/restore")
        );
        assert_eq!(normalize_path("/keys/Restore", false), None);
        assert_eq!(normalize_path("/keys/Create/create", true), None);
        assert_eq!(normalize_path("/keys/k1//sign", true), None);
    }

    #[test]
    fn resources_and_audiences() {
        let ctx = RequestCtx {
            target: Target::Vault("vault1".parse().unwrap()),
            authority: "v1.vault.s.test:8443".into(),
            port_suffix: ":8443".into(),
            dns_suffix: "s.test".into(),
            request_id: "r".into(),
            client: None,
        };
        assert_eq!(ctx.resource(), "https://vault.s.test:8443");
        assert!(ctx.accepts_audience("https://vault.s.test:8443/"));
        assert!(ctx.accepts_audience("https://vault.azure.net"));
        assert!(!ctx.accepts_audience("https://managedhsm.s.test:8443"));
        assert!(ctx.accepts_audience(" HTTPS://Vault.S.Test:8443// "));
        assert!(!ctx.accepts_audience("https://vault.s.test:844"));
        assert!(!ctx.accepts_audience("https://vault.s.test:84433"));
        assert_eq!(ctx.authority_url("t"), "https://login.s.test:8443/t");
        let bare = RequestCtx {
            target: Target::DefaultVault,
            authority: "127.0.0.1:8443".into(),
            port_suffix: ":8443".into(),
            ..ctx
        };
        assert!(bare.accepts_audience("https://127.0.0.1:8443/"));
        assert!(bare.accepts_audience("https://VAULT.azure.net/"));
        assert!(!bare.accepts_audience("https://vault.s.test:8443"));
    }
}
