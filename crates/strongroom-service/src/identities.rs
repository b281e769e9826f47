//! Identities and their credentials, the trusted issuers, and the proofs the token service
//! accepts: a client secret (or the managed-identity header), a `client_assertion` JWT signed
//! with an application's certificate, a trusted issuer's token matching a federated
//! credential, a user's password.

use strongroom_core::DomainError;
use strongroom_core::b64;
use strongroom_core::error::DomainResult;
use strongroom_core::identity::{
    CREDENTIAL_LIMIT, Credential, CredentialKind, FEDERATED_AUDIENCE, Identity, IdentityKind,
    TrustedIssuer, normalize_issuer,
};
use strongroom_core::names::IdentityName;
use strongroom_crypto::jwt::{UnverifiedJwt, read_certificate};
use strongroom_crypto::password;

use crate::door::{Caller, Operation, Scope};
use crate::federation::{audience_matches, check_times, validate_issuer};
use crate::tokens::{AuthService, SECRET_PREFIX, hash_secret};

/// A credential to add.
#[derive(Debug, Clone)]
pub enum NewCredential {
    /// A generated client secret, valid until the time given (if any).
    Secret {
        /// Expiry.
        expires: Option<i64>,
    },
    /// A certificate (PEM or DER); it expires with the certificate.
    Certificate {
        /// The certificate.
        certificate: Vec<u8>,
    },
    /// Tokens of a trusted issuer with this subject.
    Federated {
        /// The issuer.
        issuer: String,
        /// The subject.
        subject: String,
        /// Accepted audiences (default `api://AzureADTokenExchange`).
        audiences: Vec<String>,
    },
    /// A user's password.
    Password {
        /// The password.
        password: String,
    },
}

/// Why a proof of identity failed, in OAuth terms.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// Unknown client, wrong secret or assertion (`invalid_client`).
    #[error("{0}")]
    InvalidClient(String),
    /// Wrong user name or password (`invalid_grant`).
    #[error("{0}")]
    InvalidGrant(String),
    /// The store failed.
    #[error(transparent)]
    Domain(#[from] DomainError),
}

/// The client assertion type of RFC 7523.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const MIN_PASSWORD: usize = 12;
/// A PBKDF2 record of no one's password, checked for unknown users (600,000 iterations, as
/// real records).
const DECOY_RECORD: &str =
    "pbkdf2-sha256$600000$c3Ryb25ncm9vbS1kZWNveQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

impl AuthService {
    /// Creates an identity: an application with a first client secret (returned once, stored
    /// only as a hash), or a user with a password.
    pub async fn create_identity(
        &self,
        caller: &Caller,
        name: IdentityName,
        admin: bool,
        user_password: Option<String>,
    ) -> DomainResult<(Identity, Option<String>)> {
        let audit = self
            .door
            .write_event(caller, Operation::IdentityCreate, &Scope::Deployment);
        self.door
            .pass_write(
                caller,
                Operation::IdentityCreate,
                Scope::Deployment,
                &audit,
                async {
                    let now = self.clock.now();
                    let identity = Identity {
                        object_id: uuid::Uuid::new_v4().to_string(),
                        name,
                        client_id: uuid::Uuid::new_v4().to_string(),
                        kind: if user_password.is_some() {
                            IdentityKind::User
                        } else {
                            IdentityKind::Application
                        },
                        admin,
                        created: now,
                    };
                    let first = match user_password {
                        Some(password) => NewCredential::Password { password },
                        None => NewCredential::Secret { expires: None },
                    };
                    let (credential, secret) = self.credential_for(&identity, first)?;
                    self.store
                        .insert_identity(&identity, &[credential], &audit)
                        .await?;
                    Ok((identity, secret))
                },
            )
            .await
    }

    fn credential_for(
        &self,
        identity: &Identity,
        new: NewCredential,
    ) -> DomainResult<(Credential, Option<String>)> {
        let now = self.clock.now();
        let mut expires = None;
        let mut secret = None;
        let kind = match (new, identity.kind) {
            (NewCredential::Secret { expires: until }, IdentityKind::Application) => {
                if until.is_some_and(|t| t <= now) {
                    return Err(DomainError::bad("The secret's expiry is in the past."));
                }
                expires = until;
                let mut bytes = [0u8; 32];
                self.crypto.fill_random(&mut bytes)?;
                let text = format!("{SECRET_PREFIX}{}", b64::encode(bytes));
                let kind = CredentialKind::Secret {
                    hash: hash_secret(&text),
                    hint: text.chars().skip(SECRET_PREFIX.len()).take(3).collect(),
                };
                secret = Some(text);
                kind
            }
            (NewCredential::Certificate { certificate }, IdentityKind::Application) => {
                let info = read_certificate(&certificate).map_err(|e| {
                    DomainError::bad(format!("The certificate cannot be used: {e}."))
                })?;
                if info.not_after <= now {
                    return Err(DomainError::bad("The certificate has expired."));
                }
                expires = Some(info.not_after);
                CredentialKind::Certificate {
                    x5t: info.x5t,
                    x5t_s256: info.x5t_s256,
                    der: info.der,
                }
            }
            (
                NewCredential::Federated {
                    issuer,
                    subject,
                    audiences,
                },
                IdentityKind::Application,
            ) => {
                if subject.trim().is_empty() {
                    return Err(DomainError::bad("A federated credential needs a subject."));
                }
                let issuer = normalize_issuer(&issuer);
                url::Url::parse(&issuer).map_err(|e| {
                    DomainError::bad(format!("The issuer '{issuer}' is not a URL: {e}."))
                })?;
                CredentialKind::Federated {
                    issuer,
                    subject,
                    audiences: if audiences.is_empty() {
                        vec![FEDERATED_AUDIENCE.to_owned()]
                    } else {
                        audiences
                    },
                }
            }
            (NewCredential::Password { password }, IdentityKind::User) => {
                if password.chars().count() < MIN_PASSWORD {
                    return Err(DomainError::bad(format!(
                        "A password needs at least {MIN_PASSWORD} characters."
                    )));
                }
                CredentialKind::Password {
                    record: password::hash_password(&password).map_err(DomainError::Internal)?,
                }
            }
            (_, IdentityKind::User) => {
                return Err(DomainError::bad("A user signs in with a password only."));
            }
            (NewCredential::Password { .. }, IdentityKind::Application) => {
                return Err(DomainError::bad(
                    "An application has secrets, certificates or federated credentials, not a password.",
                ));
            }
        };
        let credential = Credential {
            id: uuid::Uuid::new_v4().to_string(),
            object_id: identity.object_id.clone(),
            kind,
            created: now,
            expires,
        };
        Ok((credential, secret))
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

    async fn named(&self, name: &IdentityName) -> DomainResult<Identity> {
        self.store
            .identity_by_name(name)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("No identity named '{name}'.")))
    }

    /// An identity with its credentials (hashes and certificates, never a secret).
    pub async fn identity(
        &self,
        caller: &Caller,
        name: &IdentityName,
    ) -> DomainResult<(Identity, Vec<Credential>)> {
        self.door
            .pass(caller, Operation::IdentityGet, Scope::Deployment, async {
                let identity = self.named(name).await?;
                let credentials = self.store.credentials(&identity.object_id).await?;
                Ok((identity, credentials))
            })
            .await
    }

    /// Deletes an identity and its credentials: its tokens stop working on every node.
    pub async fn delete_identity(&self, caller: &Caller, name: &IdentityName) -> DomainResult<()> {
        let audit = self
            .door
            .write_event(caller, Operation::IdentityDelete, &Scope::Deployment);
        self.door
            .pass_write(
                caller,
                Operation::IdentityDelete,
                Scope::Deployment,
                &audit,
                async {
                    match self.store.delete_identity(name, &audit).await? {
                        Some(deleted) => {
                            self.forget_identity(&deleted.object_id);
                            Ok(())
                        }
                        None => Err(DomainError::NotFound(format!(
                            "No identity named '{name}'."
                        ))),
                    }
                },
            )
            .await
    }

    /// Adds a credential; returns it, with the secret when one was generated (shown once).
    pub async fn add_credential(
        &self,
        caller: &Caller,
        name: &IdentityName,
        new: NewCredential,
    ) -> DomainResult<(Credential, Option<String>)> {
        let audit = self
            .door
            .write_event(caller, Operation::CredentialAdd, &Scope::Deployment);
        self.door
            .pass_write(
                caller,
                Operation::CredentialAdd,
                Scope::Deployment,
                &audit,
                async {
                    let identity = self.named(name).await?;
                    let existing = self.store.credentials(&identity.object_id).await?;
                    if existing.len() >= CREDENTIAL_LIMIT {
                        return Err(DomainError::bad(format!(
                            "An identity holds at most {CREDENTIAL_LIMIT} credentials."
                        )));
                    }
                    let (credential, secret) = self.credential_for(&identity, new)?;
                    let duplicate = existing
                        .iter()
                        .any(|c| same_credential(&c.kind, &credential.kind));
                    if duplicate {
                        return Err(DomainError::bad(
                            "The identity already holds that credential.",
                        ));
                    }
                    self.store.insert_credential(&credential, &audit).await?;
                    Ok((credential, secret))
                },
            )
            .await
    }

    /// Removes a credential: tokens issued through it stop working on every node.
    pub async fn remove_credential(
        &self,
        caller: &Caller,
        name: &IdentityName,
        id: &str,
    ) -> DomainResult<()> {
        let audit = self
            .door
            .write_event(caller, Operation::CredentialRemove, &Scope::Deployment);
        self.door
            .pass_write(
                caller,
                Operation::CredentialRemove,
                Scope::Deployment,
                &audit,
                async {
                    let identity = self.named(name).await?;
                    if !self
                        .store
                        .delete_credential(&identity.object_id, id, &audit)
                        .await?
                    {
                        return Err(DomainError::NotFound(format!(
                            "Identity '{name}' has no credential '{id}'."
                        )));
                    }
                    self.forget_identity(&identity.object_id);
                    Ok(())
                },
            )
            .await
    }

    /// The trusted external issuers.
    pub async fn trusted_issuers(&self, caller: &Caller) -> DomainResult<Vec<TrustedIssuer>> {
        self.door
            .pass(
                caller,
                Operation::IssuerList,
                Scope::Deployment,
                self.store.trusted_issuers(),
            )
            .await
    }

    /// Trusts an issuer (or changes how): checked, stored, announced to every node.
    pub async fn trust_issuer(
        &self,
        caller: &Caller,
        mut issuer: TrustedIssuer,
    ) -> DomainResult<TrustedIssuer> {
        let audit = self
            .door
            .write_event(caller, Operation::IssuerSet, &Scope::Deployment);
        self.door
            .pass_write(
                caller,
                Operation::IssuerSet,
                Scope::Deployment,
                &audit,
                async {
                    issuer.issuer = normalize_issuer(&issuer.issuer);
                    issuer.created = self.clock.now();
                    validate_issuer(&issuer)?;
                    self.store.put_trusted_issuer(&issuer, &audit).await?;
                    self.forget_issuers();
                    Ok(issuer)
                },
            )
            .await
    }

    /// Stops trusting an issuer: its tokens are refused on every node.
    pub async fn distrust_issuer(&self, caller: &Caller, issuer: &str) -> DomainResult<()> {
        let audit = self
            .door
            .write_event(caller, Operation::IssuerDelete, &Scope::Deployment);
        self.door
            .pass_write(
                caller,
                Operation::IssuerDelete,
                Scope::Deployment,
                &audit,
                async {
                    let issuer = normalize_issuer(issuer);
                    if !self.store.delete_trusted_issuer(&issuer, &audit).await? {
                        return Err(DomainError::NotFound(format!(
                            "The issuer '{issuer}' is not trusted."
                        )));
                    }
                    self.forget_issuers();
                    Ok(())
                },
            )
            .await
    }

    /// The application whose secret is `secret` (managed-identity protocol), with the
    /// credential's id.
    pub async fn identity_by_secret(
        &self,
        secret: &str,
    ) -> DomainResult<Option<(Identity, String)>> {
        let now = self.clock.now();
        Ok(self
            .store
            .identity_by_secret_hash(&hash_secret(secret))
            .await?
            .filter(|(_, c)| c.valid_at(now))
            .map(|(i, c)| (i, c.id)))
    }

    /// The application with these client credentials, with the secret's credential id.
    pub async fn identity_by_credentials(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<(Identity, String), ProofError> {
        let refused = || ProofError::InvalidClient("The client credentials are not valid.".into());
        let identity = self
            .store
            .identity_by_client_id(client_id)
            .await?
            .ok_or_else(refused)?;
        let hash = hash_secret(secret);
        let now = self.clock.now();
        let credentials = self.store.credentials(&identity.object_id).await?;
        let id = credentials
            .into_iter()
            .find(|c| {
                c.valid_at(now)
                    && matches!(&c.kind, CredentialKind::Secret { hash: h, .. }
                        if strongroom_crypto::constant_time_eq(h.as_bytes(), hash.as_bytes()))
            })
            .map(|c| c.id)
            .ok_or_else(refused)?;
        Ok((identity, id))
    }

    /// The application a `client_assertion` proves: a JWT signed with one of its
    /// certificates (header `x5t` or `x5t#S256`; `iss` = `sub` = the client id; `aud` one of
    /// `token_endpoints`; each `jti` once), or a token of a trusted issuer matching one of its
    /// federated credentials (issuer, subject, audience).
    pub async fn identity_by_assertion(
        &self,
        client_id: &str,
        assertion: &str,
        token_endpoints: &[String],
    ) -> Result<(Identity, String), ProofError> {
        let refused = |why: &str| {
            ProofError::InvalidClient(format!(
                "AADSTS700027: The client assertion is not valid: {why}."
            ))
        };
        let identity = self
            .store
            .identity_by_client_id(client_id)
            .await?
            .ok_or_else(|| refused("no application has this client id"))?;
        let jwt = UnverifiedJwt::parse(assertion.trim()).map_err(|e| refused(&e.to_string()))?;
        let now = self.clock.now();
        let credentials = self.store.credentials(&identity.object_id).await?;
        // MSAL pads its thumbprints (`base64.urlsafe_b64encode`); RFC 7515 does not.
        let x5t = jwt.header_text("x5t").map(|t| t.trim_end_matches('='));
        let x5t_s256 = jwt.header_text("x5t#S256").map(|t| t.trim_end_matches('='));
        if x5t.is_some() || x5t_s256.is_some() {
            let credential = credentials
                .iter()
                .filter(|c| c.valid_at(now))
                .find(|c| {
                    matches!(&c.kind, CredentialKind::Certificate { x5t: a, x5t_s256: b, .. }
                    if Some(a.as_str()) == x5t || Some(b.as_str()) == x5t_s256)
                })
                .ok_or_else(|| refused("no certificate of the application has this thumbprint"))?;
            let CredentialKind::Certificate { der, .. } = &credential.kind else {
                return Err(refused("not a certificate"));
            };
            jwt.verify_with_certificate(der)
                .map_err(|e| refused(&e.to_string()))?;
            if jwt.claim_text("iss") != Some(client_id) || jwt.claim_text("sub") != Some(client_id)
            {
                return Err(refused("iss and sub must be the client id"));
            }
            if !audience_matches(&jwt.claims, token_endpoints) {
                return Err(refused("aud must be the token endpoint"));
            }
            check_times(&jwt.claims, now).map_err(|e| refused(&e.to_string()))?;
            self.note_assertion(&jwt, now).map_err(|e| refused(&e))?;
            return Ok((identity, credential.id.clone()));
        }
        let external = self
            .federation
            .verify(&jwt)
            .await
            .map_err(|e| refused(&e.to_string()))?
            .ok_or_else(|| refused("its issuer is not trusted"))?;
        let subject = jwt.claim_text("sub").unwrap_or_default();
        let credential = credentials
            .iter()
            .filter(|c| c.valid_at(now))
            .find(|c| matches!(&c.kind, CredentialKind::Federated { issuer, subject: s, audiences }
                if *issuer == external.issuer.issuer && s == subject
                    && audience_matches(&jwt.claims, audiences)))
            .ok_or_else(|| {
                refused("no federated credential of the application matches its issuer, subject and audience")
            })?;
        Ok((identity, credential.id.clone()))
    }

    fn note_assertion(&self, jwt: &UnverifiedJwt<'_>, now: i64) -> Result<(), String> {
        let jti = jwt.claim_text("jti").ok_or("no jti")?;
        let exp = jwt
            .claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(now);
        let mut seen = self
            .assertions
            .lock()
            .map_err(|_| "replay cache unavailable")?;
        seen.retain(|_, until| *until + crate::federation::SKEW > now);
        if seen.insert(jti.to_owned(), exp).is_some() {
            return Err("this assertion was already used".into());
        }
        Ok(())
    }

    /// The user with this name and password, with the password's credential id.
    pub async fn identity_by_password(
        &self,
        username: &str,
        password_text: &str,
    ) -> Result<(Identity, String), ProofError> {
        let refused =
            || ProofError::InvalidGrant("AADSTS50126: Invalid username or password.".into());
        let user = match username.parse::<IdentityName>() {
            Ok(name) => self
                .store
                .identity_by_name(&name)
                .await?
                .filter(|i| i.kind == IdentityKind::User),
            Err(_) => None,
        };
        let mut records: Vec<(String, String)> = Vec::new();
        if let Some(identity) = &user {
            let credentials = self.store.credentials(&identity.object_id).await?;
            records.extend(credentials.into_iter().filter_map(|c| match c.kind {
                CredentialKind::Password { record } => Some((c.id, record)),
                _ => None,
            }));
        }
        // An unknown user costs the same PBKDF2 work as a known one: the time of the answer
        // does not tell which names exist.
        let decoy = records.is_empty();
        if decoy {
            records.push((String::new(), DECOY_RECORD.to_owned()));
        }
        let password_text = password_text.to_owned();
        // PBKDF2 takes a few hundred milliseconds: off the async threads.
        let found = tokio::task::spawn_blocking(move || {
            records
                .into_iter()
                .find(|(_, record)| password::verify_password(&password_text, record))
                .map(|(id, _)| id)
        })
        .await
        .map_err(|e| DomainError::Internal(e.to_string()))?;
        let (Some(identity), Some(id), false) = (user, found, decoy) else {
            return Err(refused());
        };
        Ok((identity, id))
    }
}

fn same_credential(a: &CredentialKind, b: &CredentialKind) -> bool {
    match (a, b) {
        (
            CredentialKind::Certificate { x5t_s256: x, .. },
            CredentialKind::Certificate { x5t_s256: y, .. },
        ) => x == y,
        (
            CredentialKind::Federated {
                issuer: i,
                subject: s,
                ..
            },
            CredentialKind::Federated {
                issuer: j,
                subject: t,
                ..
            },
        ) => i == j && s == t,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_record_costs_what_a_real_one_does() {
        let parts: Vec<&str> = DECOY_RECORD.split('$').collect();
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[1], password::ITERATIONS.to_string());
        assert_eq!(b64::decode(parts[3]).unwrap().len(), 32);
        assert!(!password::verify_password("anything", DECOY_RECORD));
    }
}
