//! Trusted external issuers: which OpenID Connect issuers' tokens Strongroom accepts (a
//! Kubernetes service-account issuer, a Keycloak realm, Entra ID, another Strongroom), with
//! their signing keys. The list lives in the store so every node agrees; each node caches it
//! and the keys, and drops the cache when another node announces a change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use strongroom_core::DomainError;
use strongroom_core::clock::{Clock, UnixTime};
use strongroom_core::error::DomainResult;
use strongroom_core::identity::{IssuerKeys, TrustedIssuer, normalize_issuer};
use strongroom_core::ports::{JwksFetcher, KeyStore};
use strongroom_crypto::jwt::{JwtError, UnverifiedJwt};

use crate::tokens::TokenError;

/// Keys fetched by discovery are fetched again after this long, or at once for an unknown
/// `kid` (at most once a minute per issuer, so a flood of forged kids cannot hammer it).
const JWKS_TTL: i64 = 3600;
const REFETCH_PAUSE: i64 = 60;
/// Clock skew allowed on `exp` and `nbf` of external tokens.
pub const SKEW: i64 = 60;

#[derive(Clone)]
struct Fetched {
    jwks: Arc<Value>,
    at: UnixTime,
}

/// The trusted issuers of the deployment, cached.
pub struct Federation {
    store: Arc<dyn KeyStore>,
    fetcher: Arc<dyn JwksFetcher>,
    clock: Arc<dyn Clock>,
    issuers: Mutex<Option<Arc<HashMap<String, TrustedIssuer>>>>,
    fetched: Mutex<HashMap<String, Fetched>>,
}

/// A verified external token: its issuer and claims.
pub struct ExternalToken {
    /// The trusted issuer.
    pub issuer: TrustedIssuer,
    /// The verified claims.
    pub claims: Value,
}

impl Federation {
    /// The registry over `store`, fetching discovered keys with `fetcher`.
    pub fn new(
        store: Arc<dyn KeyStore>,
        fetcher: Arc<dyn JwksFetcher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            fetcher,
            clock,
            issuers: Mutex::new(None),
            fetched: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets the cached list and keys (a change here or on another node).
    pub fn forget(&self) {
        if let Ok(mut issuers) = self.issuers.lock() {
            *issuers = None;
        }
        if let Ok(mut fetched) = self.fetched.lock() {
            fetched.clear();
        }
    }

    async fn all(&self) -> DomainResult<Arc<HashMap<String, TrustedIssuer>>> {
        if let Some(cached) = self.issuers.lock().ok().and_then(|c| c.clone()) {
            return Ok(cached);
        }
        let list = self.store.trusted_issuers().await?;
        let map: Arc<HashMap<_, _>> =
            Arc::new(list.into_iter().map(|i| (i.issuer.clone(), i)).collect());
        if let Ok(mut cached) = self.issuers.lock() {
            *cached = Some(Arc::clone(&map));
        }
        Ok(map)
    }

    /// The trusted issuer `iss` names, if any.
    pub async fn issuer(&self, iss: &str) -> DomainResult<Option<TrustedIssuer>> {
        Ok(self.all().await?.get(&normalize_issuer(iss)).cloned())
    }

    /// Verifies a token of a trusted issuer: signature with the issuer's keys, `exp` and
    /// `nbf`. `Ok(None)` when its issuer is not trusted.
    pub async fn verify(
        &self,
        jwt: &UnverifiedJwt<'_>,
    ) -> Result<Option<ExternalToken>, TokenError> {
        let Some(iss) = jwt.claim_text("iss") else {
            return Err(TokenError::Invalid("no iss".into()));
        };
        let issuer = self
            .issuer(iss)
            .await
            .map_err(|e| TokenError::Unavailable(e.to_string()))?;
        let Some(issuer) = issuer else {
            return Ok(None);
        };
        self.check_signature(&issuer, jwt).await?;
        check_times(&jwt.claims, self.clock.now())?;
        Ok(Some(ExternalToken {
            issuer,
            claims: jwt.claims.clone(),
        }))
    }

    async fn check_signature(
        &self,
        issuer: &TrustedIssuer,
        jwt: &UnverifiedJwt<'_>,
    ) -> Result<(), TokenError> {
        let invalid = |e: JwtError| TokenError::Invalid(e.to_string());
        match &issuer.keys {
            IssuerKeys::Jwks(text) => {
                let jwks: Value = serde_json::from_str(text)
                    .map_err(|e| TokenError::Invalid(format!("the issuer's JWKS: {e}")))?;
                jwt.verify_with_jwks(&jwks).map_err(invalid)
            }
            IssuerKeys::Discovery => {
                let now = self.clock.now();
                let cached = self
                    .fetched
                    .lock()
                    .ok()
                    .and_then(|f| f.get(&issuer.issuer).cloned());
                let fresh = match &cached {
                    Some(f) if now - f.at < JWKS_TTL => f.clone(),
                    _ => self.fetch(&issuer.issuer, now).await?,
                };
                match jwt.verify_with_jwks(&fresh.jwks) {
                    Err(JwtError::UnknownKey) if now - fresh.at >= REFETCH_PAUSE => {
                        let again = self.fetch(&issuer.issuer, now).await?;
                        jwt.verify_with_jwks(&again.jwks).map_err(invalid)
                    }
                    other => other.map_err(invalid),
                }
            }
        }
    }

    async fn fetch(&self, issuer: &str, now: UnixTime) -> Result<Fetched, TokenError> {
        let jwks = self
            .fetcher
            .fetch_jwks(issuer)
            .await
            .map_err(|e| TokenError::Unavailable(format!("the keys of {issuer}: {e}")))?;
        let fetched = Fetched {
            jwks: Arc::new(jwks),
            at: now,
        };
        if let Ok(mut cache) = self.fetched.lock() {
            cache.insert(issuer.to_owned(), fetched.clone());
        }
        Ok(fetched)
    }
}

/// `exp` (required) and `nbf` of an external token, with [`SKEW`].
pub fn check_times(claims: &Value, now: UnixTime) -> Result<(), TokenError> {
    let exp = numeric_date(claims, "exp").ok_or_else(|| TokenError::Invalid("no exp".into()))?;
    if now >= exp + SKEW {
        return Err(TokenError::Expired);
    }
    if numeric_date(claims, "nbf").is_some_and(|nbf| now + SKEW < nbf) {
        return Err(TokenError::Invalid("not yet valid".into()));
    }
    Ok(())
}

/// A NumericDate claim in whole seconds: RFC 7519 allows fractions, and MSAL sends them.
#[expect(
    clippy::cast_possible_truncation,
    reason = "seconds since 1970 fit an i64"
)]
pub fn numeric_date(claims: &Value, name: &str) -> Option<i64> {
    let value = claims.get(name)?;
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

/// Whether the token's `aud` (a string or an array) contains one of `accepted`.
pub fn audience_matches(claims: &Value, accepted: &[String]) -> bool {
    let norm = |a: &str| a.trim_end_matches('/').to_ascii_lowercase();
    let matches = |a: &str| accepted.iter().any(|x| norm(x) == norm(a));
    match claims.get("aud") {
        Some(Value::String(a)) => matches(a),
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).any(matches),
        _ => false,
    }
}

/// Checks an issuer before it is stored: an https URL (or http on a loopback address, for
/// tests and sidecars), a principal claim, and a JWKS that parses with at least one key.
pub fn validate_issuer(issuer: &TrustedIssuer) -> DomainResult<()> {
    let url = url::Url::parse(&issuer.issuer).map_err(|e| {
        DomainError::bad(format!("The issuer '{}' is not a URL: {e}.", issuer.issuer))
    })?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(DomainError::bad("The issuer must be an https URL."));
    }
    if issuer.principal_claim.trim().is_empty() {
        return Err(DomainError::bad("The principal claim must not be empty."));
    }
    if let IssuerKeys::Jwks(text) = &issuer.keys {
        let jwks: Value = serde_json::from_str(text)
            .map_err(|e| DomainError::bad(format!("The JWKS is not JSON: {e}.")))?;
        let keys = jwks.get("keys").and_then(Value::as_array);
        if keys.is_none_or(|k| k.is_empty()) {
            return Err(DomainError::bad(
                "The JWKS must hold a 'keys' array with at least one key.",
            ));
        }
        if keys
            .into_iter()
            .flatten()
            .any(|k| k.get("d").is_some() || k.get("k").is_some())
        {
            return Err(DomainError::bad(
                "The JWKS holds private or symmetric key material: give only public keys.",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audiences_and_times() {
        let claims = json!({"aud": ["api://AzureADTokenExchange", "x"], "exp": 100, "nbf": 50});
        assert!(audience_matches(
            &claims,
            &["API://AzureADTokenExchange/".into()]
        ));
        assert!(!audience_matches(&claims, &["y".into()]));
        assert!(audience_matches(
            &json!({"aud": "https://v/"}),
            &["https://v".into()]
        ));
        assert!(check_times(&claims, 99).is_ok());
        assert!(check_times(&claims, 100 + SKEW - 1).is_ok());
        assert_eq!(check_times(&claims, 100 + SKEW), Err(TokenError::Expired));
        assert!(check_times(&claims, 50 - SKEW - 1).is_err());
        assert!(check_times(&json!({}), 0).is_err());
        assert!(
            check_times(&json!({"exp": 100.7}), 99).is_ok(),
            "MSAL's fractional dates"
        );
    }

    #[test]
    fn issuers_are_checked_before_storing() {
        let good = TrustedIssuer {
            issuer: "https://issuer.example".into(),
            keys: IssuerKeys::Jwks(r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#.into()),
            principal_claim: "sub".into(),
            audiences: vec![],
            created: 0,
        };
        assert!(validate_issuer(&good).is_ok());
        let bad = |f: fn(&mut TrustedIssuer)| {
            let mut i = good.clone();
            f(&mut i);
            validate_issuer(&i).is_err()
        };
        assert!(bad(|i| i.issuer = "http://issuer.example".into()));
        assert!(!bad(|i| i.issuer = "http://127.0.0.1:9000/realm".into()));
        assert!(bad(|i| i.issuer = "not a url".into()));
        assert!(bad(|i| i.principal_claim = " ".into()));
        assert!(bad(|i| i.keys = IssuerKeys::Jwks("{}".into())));
        assert!(bad(
            |i| i.keys = IssuerKeys::Jwks(r#"{"keys":[{"kty":"oct","k":"AA"}]}"#.into())
        ));
        assert!(!bad(|i| i.keys = IssuerKeys::Discovery));
    }
}
