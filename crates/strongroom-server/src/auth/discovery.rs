//! OpenID discovery of a trusted issuer's signing keys over HTTPS: the discovery document at
//! `{issuer}/.well-known/openid-configuration` (its `issuer` must be the issuer), then the
//! JWKS at its `jwks_uri`. Certificates are checked against the system's roots and the
//! deployment's own CA (so another Strongroom deployment sharing the CA can be trusted).

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use strongroom_core::DomainError;
use strongroom_core::error::DomainResult;
use strongroom_core::identity::normalize_issuer;
use strongroom_core::ports::JwksFetcher;

const TIMEOUT: Duration = Duration::from_secs(10);
const MAX_DOCUMENT: usize = 1 << 20;

/// Fetches JWKS with reqwest.
pub struct HttpJwksFetcher {
    http: reqwest::Client,
}

impl HttpJwksFetcher {
    /// A fetcher trusting the system's roots and, when present, the CA at `ca_file`.
    pub fn new(ca_file: Option<&Path>) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3));
        if let Some(pem) = ca_file.and_then(|p| std::fs::read(p).ok()) {
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| e.to_string())?;
            builder = builder.add_root_certificate(cert);
        }
        Ok(Self {
            http: builder.build().map_err(|e| e.to_string())?,
        })
    }

    async fn json(&self, url: &str) -> DomainResult<Value> {
        let unavailable = |e: String| DomainError::Storage(format!("{url}: {e}"));
        let reply = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !reply.status().is_success() {
            return Err(unavailable(format!("HTTP {}", reply.status())));
        }
        let body = reply
            .bytes()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if body.len() > MAX_DOCUMENT {
            return Err(unavailable("the document is too large".into()));
        }
        serde_json::from_slice(&body).map_err(|e| unavailable(e.to_string()))
    }
}

fn acceptable(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| {
        u.scheme() == "https"
            || (u.scheme() == "http"
                && matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")))
    })
}

#[async_trait]
impl JwksFetcher for HttpJwksFetcher {
    async fn fetch_jwks(&self, issuer: &str) -> DomainResult<Value> {
        let issuer = normalize_issuer(issuer);
        let document = self
            .json(&format!("{issuer}/.well-known/openid-configuration"))
            .await?;
        let named = document
            .get("issuer")
            .and_then(Value::as_str)
            .map(normalize_issuer);
        if named.as_deref() != Some(issuer.as_str()) {
            return Err(DomainError::Storage(format!(
                "the discovery document of {issuer} names another issuer"
            )));
        }
        let jwks_uri = document
            .get("jwks_uri")
            .and_then(Value::as_str)
            .filter(|u| acceptable(u))
            .ok_or_else(|| {
                DomainError::Storage(format!(
                    "the discovery document of {issuer} has no usable jwks_uri"
                ))
            })?;
        self.json(jwks_uri).await
    }
}
