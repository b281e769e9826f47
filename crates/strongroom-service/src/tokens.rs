//! The token service: identities (managed identities and applications), the tokens issued to
//! them, and verification of the bearer tokens this deployment issued. The HTTP endpoints and
//! the 401 challenge the Azure SDKs need are the server's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use strongroom_core::DomainError;
use strongroom_core::b64;
use strongroom_core::clock::Clock;
use strongroom_core::error::DomainResult;
use strongroom_core::identity::{Identity, IdentityKind};
use strongroom_core::ports::{CryptoProvider, JwksFetcher, KeyProtector, KeyStore, SealPurpose};
use strongroom_crypto::jws::TokenSigner;
use strongroom_crypto::jwt::UnverifiedJwt;

use crate::door::{Caller, Door, Operation, Scope};
use crate::federation::{Federation, audience_matches};

/// The role claim that marks administrators.
pub const ADMIN_ROLE: &str = "Strongroom.Administrator";
const SIGNING_KEY_NAME: &str = "token-signing-key";
const CACHE_LIMIT: usize = 50_000;

/// Who is calling, from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Object id.
    pub object_id: String,
    /// Client id.
    pub client_id: String,
    /// Identity name.
    pub name: String,
    /// Administrator.
    pub admin: bool,
    /// The token's audience.
    pub audience: String,
    /// A trusted external issuer's token whose audience is one that issuer is trusted for:
    /// accepted for every resource of the deployment.
    pub audience_preapproved: bool,
    /// The credential the token was issued through, when it names one.
    pub credential: Option<String>,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Bad format or signature.
    #[error("AKV10000: The access token is not valid: {0}.")]
    Invalid(String),
    /// Past `exp`.
    #[error("AKV10022: The access token has expired.")]
    Expired,
    /// Wrong issuer.
    #[error("AKV10032: Invalid issuer.")]
    Issuer,
    /// Wrong audience.
    #[error("AKV10022: Invalid audience.")]
    Audience,
    /// The identity the token was issued to has been deleted.
    #[error("AKV10000: The access token's identity no longer exists.")]
    Revoked,
    /// The credential the token was issued through has been removed.
    #[error("AKV10000: The credential the access token was issued through no longer exists.")]
    CredentialRemoved,
    /// Signed by an issuer this deployment does not trust.
    #[error("AKV10032: The token issuer '{0}' is not trusted.")]
    Untrusted(String),
    /// Whether the identity still exists could not be read.
    #[error("The identity store is unavailable: {0}")]
    Unavailable(String),
}

/// The token service and verifier.
pub struct AuthService {
    signer: TokenSigner,
    issuer: String,
    tenant: String,
    lifetime: i64,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: Arc<dyn KeyStore>,
    pub(crate) crypto: Arc<dyn CryptoProvider>,
    pub(crate) door: Arc<Door>,
    pub(crate) federation: Federation,
    verified: Mutex<HashMap<String, (Arc<Principal>, i64), TailHash>>,
    pub(crate) assertions: Mutex<HashMap<String, i64>>,
}

/// How the token service is set up.
pub struct AuthSettings {
    /// `iss` of issued tokens.
    pub issuer: String,
    /// Tenant id (`tid`).
    pub tenant: String,
    /// Token lifetime in seconds.
    pub lifetime: i64,
}

impl AuthService {
    /// Loads the signing key from the store, creating it on first start (every node of a
    /// deployment then shares it, so a token from one node verifies on all).
    pub async fn start(
        store: Arc<dyn KeyStore>,
        crypto: Arc<dyn CryptoProvider>,
        clock: Arc<dyn Clock>,
        protector: &dyn KeyProtector,
        settings: AuthSettings,
        door: Arc<Door>,
        fetcher: Arc<dyn JwksFetcher>,
    ) -> DomainResult<Self> {
        let sealed = match store.server_secret(SIGNING_KEY_NAME).await? {
            Some(sealed) => sealed,
            None => {
                let (_, der) =
                    TokenSigner::generate().map_err(|e| DomainError::Internal(e.to_string()))?;
                let sealed = protector.seal(SealPurpose::TokenSigningKey, &der)?;
                store
                    .put_server_secret_if_absent(SIGNING_KEY_NAME, &sealed)
                    .await?
            }
        };
        let der = protector.unseal(SealPurpose::TokenSigningKey, &sealed)?;
        let signer =
            TokenSigner::from_pkcs8(&der).map_err(|e| DomainError::Internal(e.to_string()))?;
        Ok(Self {
            signer,
            issuer: settings.issuer,
            tenant: settings.tenant,
            lifetime: settings.lifetime,
            federation: Federation::new(Arc::clone(&store), fetcher, Arc::clone(&clock)),
            clock,
            store,
            crypto,
            door,
            verified: Mutex::new(HashMap::default()),
            assertions: Mutex::new(HashMap::new()),
        })
    }

    /// The tenant id.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The public signing keys as a JWKS.
    pub fn jwks(&self) -> Value {
        json!({"keys": [self.signer.jwk()]})
    }

    /// Issues a token for `identity`, which `caller` proved to be through `credential`, with
    /// audience `resource`; returns it with its expiry.
    pub async fn issue(
        &self,
        caller: &Caller,
        identity: &Identity,
        credential: &str,
        resource: &str,
    ) -> DomainResult<(String, i64)> {
        self.door
            .pass(caller, Operation::TokenIssue, Scope::Deployment, async {
                self.sign_token(identity, credential, resource)
            })
            .await
    }

    fn sign_token(
        &self,
        identity: &Identity,
        credential: &str,
        resource: &str,
    ) -> DomainResult<(String, i64)> {
        let now = self.clock.now();
        let exp = now + self.lifetime;
        let mut uti = [0u8; 16];
        self.crypto.fill_random(&mut uti)?;
        let mut claims = json!({
            "aud": normalize_resource(resource),
            "iss": self.issuer,
            "iat": now,
            "nbf": now - 60,
            "exp": exp,
            "sub": identity.object_id,
            "oid": identity.object_id,
            "appid": identity.client_id,
            "azp": identity.client_id,
            "tid": self.tenant,
            "idtyp": identity.kind.as_str(),
            "name": identity.name.as_str(),
            "credid": credential,
            "uti": b64::encode(uti),
            "ver": "2.0",
        });
        if let Some(map) = claims.as_object_mut() {
            if identity.admin {
                map.insert("roles".into(), json!([ADMIN_ROLE]));
            }
            if identity.kind == IdentityKind::User {
                for claim in ["upn", "unique_name", "preferred_username"] {
                    map.insert(claim.into(), json!(identity.name.as_str()));
                }
            }
        }
        let token = self
            .signer
            .sign(&claims)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        Ok((token, exp))
    }

    /// Verifies a bearer token: one of this deployment's (signature, issuer, expiry, and that
    /// its identity and the credential it was issued through still exist) or one of a trusted
    /// external issuer (signature with the issuer's keys, expiry; the principal is the claim
    /// the issuer is trusted for). The audience is checked by the caller against the resource
    /// it serves. Verified tokens are cached until they expire, or until their identity or a
    /// credential of it changes (`forget_identity`), or the trusted issuers change.
    pub async fn verify(&self, token: &str) -> Result<Arc<Principal>, TokenError> {
        let now = self.clock.now();
        if let Some((principal, exp)) = self
            .verified
            .lock()
            .ok()
            .and_then(|c| c.get(token).cloned())
        {
            return if now < exp {
                Ok(principal)
            } else {
                Err(TokenError::Expired)
            };
        }
        let jwt = UnverifiedJwt::parse(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        let (principal, exp) = if jwt.claim_text("iss") == Some(self.issuer.as_str()) {
            self.verify_own(token, now).await?
        } else {
            self.verify_external(&jwt).await?
        };
        let principal = Arc::new(principal);
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.retain(|_, (_, exp)| *exp > now);
                if cache.len() >= CACHE_LIMIT {
                    cache.clear();
                }
            }
            cache.insert(token.to_owned(), (Arc::clone(&principal), exp));
        }
        Ok(principal)
    }

    async fn verify_own(&self, token: &str, now: i64) -> Result<(Principal, i64), TokenError> {
        let claims = self
            .signer
            .verify(token)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        let (principal, exp) = self.check_claims(&claims, now)?;
        let unavailable = |e: DomainError| TokenError::Unavailable(e.to_string());
        let exists = self
            .store
            .identity_by_object_id(&principal.object_id)
            .await
            .map_err(unavailable)?;
        if exists.is_none() {
            return Err(TokenError::Revoked);
        }
        if let Some(id) = &principal.credential {
            let credentials = self
                .store
                .credentials(&principal.object_id)
                .await
                .map_err(unavailable)?;
            if !credentials.iter().any(|c| &c.id == id) {
                return Err(TokenError::CredentialRemoved);
            }
        }
        Ok((principal, exp))
    }

    async fn verify_external(
        &self,
        jwt: &UnverifiedJwt<'_>,
    ) -> Result<(Principal, i64), TokenError> {
        let iss = jwt.claim_text("iss").unwrap_or_default().to_owned();
        let external = self
            .federation
            .verify(jwt)
            .await?
            .ok_or(TokenError::Untrusted(iss))?;
        let claims = &external.claims;
        let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
        let object_id = text(&external.issuer.principal_claim).ok_or_else(|| {
            TokenError::Invalid(format!(
                "no '{}' claim to name the principal",
                external.issuer.principal_claim
            ))
        })?;
        // An external issuer names its own principals: it may not speak for a local identity
        // (and so hold that identity's roles) by minting a token with its object id.
        let local = self
            .store
            .identity_by_object_id(&object_id)
            .await
            .map_err(|e| TokenError::Unavailable(e.to_string()))?;
        if local.is_some() {
            return Err(TokenError::Invalid(
                "the external principal has the object id of a local identity".into(),
            ));
        }
        let audience = match claims.get("aud") {
            Some(Value::String(a)) => a.clone(),
            Some(Value::Array(list)) => list
                .iter()
                .find_map(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            _ => return Err(TokenError::Invalid("no aud".into())),
        };
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .unwrap_or_default();
        let principal = Principal {
            client_id: text("azp").or_else(|| text("appid")).unwrap_or_default(),
            name: text("name")
                .or_else(|| text("preferred_username"))
                .unwrap_or_else(|| object_id.clone()),
            object_id,
            admin: false,
            audience,
            audience_preapproved: audience_matches(claims, &external.issuer.audiences),
            credential: None,
        };
        Ok((principal, exp))
    }

    /// Drops the cached tokens of an identity that was deleted or lost a credential (here, or
    /// on another node): its next request is checked again.
    pub fn forget_identity(&self, object_id: &str) {
        if let Ok(mut cache) = self.verified.lock() {
            cache.retain(|_, (p, _)| p.object_id != object_id);
        }
    }

    /// Drops the cached trusted issuers, their keys and every cached token (a change here, or
    /// on another node; rare, so the tokens of this deployment are simply verified again).
    pub fn forget_issuers(&self) {
        self.federation.forget();
        if let Ok(mut cache) = self.verified.lock() {
            cache.clear();
        }
    }

    fn check_claims(&self, claims: &Value, now: i64) -> Result<(Principal, i64), TokenError> {
        let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
        if text("iss").as_deref() != Some(self.issuer.as_str()) {
            return Err(TokenError::Issuer);
        }
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or_else(|| TokenError::Invalid("no exp".into()))?;
        let nbf = claims
            .get("nbf")
            .and_then(Value::as_i64)
            .unwrap_or(i64::MIN);
        if now >= exp {
            return Err(TokenError::Expired);
        }
        if now < nbf {
            return Err(TokenError::Invalid("not yet valid".into()));
        }
        let admin = claims
            .get("roles")
            .and_then(Value::as_array)
            .is_some_and(|roles| roles.iter().any(|r| r.as_str() == Some(ADMIN_ROLE)));
        let principal = Principal {
            object_id: text("oid").unwrap_or_default(),
            client_id: text("appid").unwrap_or_default(),
            name: text("name").unwrap_or_default(),
            admin,
            audience: text("aud").ok_or_else(|| TokenError::Invalid("no aud".into()))?,
            audience_preapproved: false,
            credential: text("credid"),
        };
        Ok((principal, exp))
    }
}

/// Every client secret starts with this: secret scanners can recognise one, and no secret
/// begins with `-` (which command-line parsers such as `az login --password` would read as
/// an option).
pub const SECRET_PREFIX: &str = "srs_";

/// Lowercase hex SHA-256 of a secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(strongroom_crypto::sha256(secret.as_bytes()))
}

/// Hashes only the last 32 bytes of what it is given, with a random key: the verified-token
/// cache's keys are whole tokens (a kilobyte or so), whose signature, at their end, already
/// tells them apart; equality still compares whole tokens.
#[derive(Default, Clone)]
struct TailHash(std::hash::RandomState);

struct TailHasher(std::hash::DefaultHasher);

impl std::hash::BuildHasher for TailHash {
    type Hasher = TailHasher;

    fn build_hasher(&self) -> TailHasher {
        TailHasher(self.0.build_hasher())
    }
}

impl std::hash::Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        let tail = bytes.get(bytes.len().saturating_sub(32)..).unwrap_or(bytes);
        self.0.write(tail);
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// A resource or audience without a trailing `/`, lowercased.
pub fn normalize_resource(resource: &str) -> String {
    resource.trim().trim_end_matches('/').to_ascii_lowercase()
}
