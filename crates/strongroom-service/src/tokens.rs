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
use strongroom_core::identity::Identity;
use strongroom_core::names::IdentityName;
use strongroom_core::ports::{CryptoProvider, KeyProtector, KeyStore, SealPurpose};
use strongroom_crypto::jws::TokenSigner;

use crate::door::{Caller, Door, Operation, Scope};

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
    clock: Arc<dyn Clock>,
    store: Arc<dyn KeyStore>,
    crypto: Arc<dyn CryptoProvider>,
    door: Arc<Door>,
    verified: Mutex<HashMap<String, (Arc<Principal>, i64)>>,
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
            clock,
            store,
            crypto,
            door,
            verified: Mutex::new(HashMap::new()),
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

    /// Issues a token for `identity`, which `caller` proved to be, with audience `resource`;
    /// returns it with its expiry.
    pub async fn issue(
        &self,
        caller: &Caller,
        identity: &Identity,
        resource: &str,
    ) -> DomainResult<(String, i64)> {
        self.door
            .pass(caller, Operation::TokenIssue, Scope::Deployment, async {
                self.sign_token(identity, resource)
            })
            .await
    }

    fn sign_token(&self, identity: &Identity, resource: &str) -> DomainResult<(String, i64)> {
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
            "idtyp": "app",
            "name": identity.name.as_str(),
            "uti": b64::encode(uti),
            "ver": "2.0",
        });
        if let (true, Some(map)) = (identity.admin, claims.as_object_mut()) {
            map.insert("roles".into(), json!([ADMIN_ROLE]));
        }
        let token = self
            .signer
            .sign(&claims)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        Ok((token, exp))
    }

    /// Verifies a bearer token: signature, issuer, expiry, and that its identity still exists.
    /// The audience is checked by the caller against the resource it serves. Verified tokens
    /// are cached until they expire or their identity is deleted (`forget_identity`).
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
        let claims = self
            .signer
            .verify(token)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        let (principal, exp) = self.check_claims(&claims, now)?;
        let exists = self
            .store
            .identity_by_object_id(&principal.object_id)
            .await
            .map_err(|e| TokenError::Unavailable(e.to_string()))?;
        if exists.is_none() {
            return Err(TokenError::Revoked);
        }
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

    /// Drops the cached tokens of a deleted identity (here, or on another node): its next
    /// request is refused.
    pub fn forget_identity(&self, object_id: &str) {
        if let Ok(mut cache) = self.verified.lock() {
            cache.retain(|_, (p, _)| p.object_id != object_id);
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
        };
        Ok((principal, exp))
    }

    /// The identity whose secret is `secret` (managed-identity protocol).
    pub async fn identity_by_secret(&self, secret: &str) -> DomainResult<Option<Identity>> {
        self.store
            .identity_by_secret_hash(&hash_secret(secret))
            .await
    }

    /// The identity with these client credentials.
    pub async fn identity_by_credentials(
        &self,
        client_id: &str,
        secret: &str,
    ) -> DomainResult<Option<Identity>> {
        let found = self.store.identity_by_client_id(client_id).await?;
        Ok(found.filter(|id| {
            strongroom_crypto::constant_time_eq(
                id.secret_hash.as_bytes(),
                hash_secret(secret).as_bytes(),
            )
        }))
    }

    /// Creates an identity; returns it with its secret (shown once, stored only as a hash).
    pub async fn create_identity(
        &self,
        caller: &Caller,
        name: IdentityName,
        admin: bool,
    ) -> DomainResult<(Identity, String)> {
        self.door
            .pass(
                caller,
                Operation::IdentityCreate,
                Scope::Deployment,
                self.insert_identity(name, admin),
            )
            .await
    }

    /// All identities.
    pub async fn identities(&self, caller: &Caller) -> DomainResult<Vec<Identity>> {
        self.door
            .pass(
                caller,
                Operation::IdentityList,
                Scope::Deployment,
                self.store.identities(),
            )
            .await
    }

    /// Deletes an identity.
    pub async fn delete_identity(&self, caller: &Caller, name: &IdentityName) -> DomainResult<()> {
        self.door
            .pass(
                caller,
                Operation::IdentityDelete,
                Scope::Deployment,
                async {
                    match self.store.delete_identity(name).await? {
                        Some(deleted) => {
                            self.forget_identity(&deleted.object_id);
                            Ok(())
                        }
                        None => Err(DomainError::bad(format!("No identity named '{name}'."))),
                    }
                },
            )
            .await
    }

    async fn insert_identity(
        &self,
        name: IdentityName,
        admin: bool,
    ) -> DomainResult<(Identity, String)> {
        let mut secret_bytes = [0u8; 32];
        self.crypto.fill_random(&mut secret_bytes)?;
        let secret = format!("{SECRET_PREFIX}{}", b64::encode(secret_bytes));
        let identity = Identity {
            object_id: uuid::Uuid::new_v4().to_string(),
            name,
            client_id: uuid::Uuid::new_v4().to_string(),
            secret_hash: hash_secret(&secret),
            admin,
            created: self.clock.now(),
        };
        self.store.insert_identity(&identity).await?;
        Ok((identity, secret))
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

/// A resource or audience without a trailing `/`, lowercased.
pub fn normalize_resource(resource: &str) -> String {
    resource.trim().trim_end_matches('/').to_ascii_lowercase()
}
