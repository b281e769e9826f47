//! Host routing and path normalisation. The `Host` (or HTTP/2 `:authority`) decides which
//! resource a request is for; every id the server returns is built from the authority the
//! client used. Path words (`keys`, `wrapKey`, `rotationPolicy`, ...) match in any case.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Uri;
use axum::http::uri::PathAndQuery;
use axum::middleware::Next;
use axum::response::Response;
use strongroom_core::names::VaultName;

use crate::state::AppState;
use strongroom_service::tokens::normalize_resource;

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
    pub dns_suffix: String,
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
    pub fn accepts_audience(&self, aud: &str) -> bool {
        let aud = normalize_resource(aud);
        if aud == normalize_resource(&self.resource()) {
            return true;
        }
        match self.target {
            Target::Vault(_) | Target::DefaultVault => aud == "https://vault.azure.net",
            Target::ManagedHsm(_) => aud == "https://managedhsm.azure.net",
            _ => false,
        }
    }
}

/// Classifies a host name (without port).
pub fn classify(host: &str, suffix: &str) -> Target {
    let host = host.trim_end_matches('.');
    if host == format!("login.{suffix}") {
        return Target::Login;
    }
    type Make = fn(VaultName) -> Target;
    let kinds: [(&str, Make); 2] = [("vault", Target::Vault), ("managedhsm", Target::ManagedHsm)];
    for (kind, make) in kinds {
        if let Some(label) = host.strip_suffix(&format!(".{kind}.{suffix}")) {
            return match label.parse::<VaultName>() {
                Ok(name) if !label.contains('.') => make(name),
                _ => Target::NoSuchHost(host.to_owned()),
            };
        }
    }
    if let Some(label) = host.strip_suffix(&format!(".attest.{suffix}")) {
        return Target::Attestation(label.to_owned());
    }
    Target::DefaultVault
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

/// Middleware: attaches the `RequestCtx` and lowercases path words.
pub async fn context(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let authority = req
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_else(|| state.config.listen.to_string())
        .to_ascii_lowercase();
    let (host, port) = split_authority(&authority);
    let client = crate::proxy::client_address(req.extensions());
    let ctx = RequestCtx {
        target: classify(host, &state.config.dns_suffix),
        port_suffix: port.to_owned(),
        authority: authority.clone(),
        dns_suffix: state.config.dns_suffix.clone(),
        request_id: new_request_id(),
        client,
    };
    let request_id = Arc::clone(&ctx.request_id);
    if let Some((scope, uri)) = rbac_uri(req.uri()) {
        req.extensions_mut()
            .insert(crate::api::rbac::RbacScope(scope));
        *req.uri_mut() = uri;
    } else if let Some(uri) = normalized_uri(req.uri(), req.method() == axum::http::Method::POST) {
        *req.uri_mut() = uri;
    }
    req.extensions_mut().insert(Arc::new(ctx));
    let client_request_id = req.headers().get("x-ms-client-request-id").cloned();
    let mut response = next.run(req).await;
    add_service_headers(response.headers_mut(), &request_id, client_request_id);
    response
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
    let at = path.to_ascii_lowercase().find(RBAC_MARK)?;
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

/// The path with its fixed words lowercased, if that changes anything.
pub fn normalize_path(path: &str, is_post: bool) -> Option<String> {
    let mut segments: Vec<String> = path.split('/').map(str::to_owned).collect();
    let lower_if = |seg: &mut String, words: &[&str]| {
        let lower = seg.to_ascii_lowercase();
        if words.contains(&lower.as_str()) {
            *seg = lower;
        }
    };
    let count = segments.len();
    if let Some(first) = segments.get_mut(1) {
        lower_if(first, ROOT_WORDS);
    }
    let root = segments.get(1).cloned().unwrap_or_default();
    if root == "keys" {
        if count == 3
            && is_post
            && let Some(s) = segments.get_mut(2)
        {
            lower_if(s, &["restore"]);
        }
        if let Some(s) = segments.get_mut(3) {
            lower_if(s, KEY_WORDS);
        }
        if let Some(s) = segments.get_mut(4) {
            lower_if(s, OP_WORDS);
        }
    } else if root == "deletedkeys"
        && let Some(s) = segments.get_mut(3)
    {
        lower_if(s, &["recover"]);
    }
    let joined = segments.join("/");
    (joined != path).then_some(joined)
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
        assert_eq!(ctx.authority_url("t"), "https://login.s.test:8443/t");
    }
}
