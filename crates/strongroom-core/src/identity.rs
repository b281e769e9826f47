//! Identities known to Strongroom's token service (applications, which managed identities
//! are too, and users) and the credentials each proves itself with.

use std::fmt;
use std::str::FromStr;

use crate::clock::UnixTime;
use crate::error::DomainError;
use crate::names::IdentityName;

/// What an identity is: the token's `idtyp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityKind {
    /// An application or managed identity: client credentials, the managed-identity
    /// protocol, certificates and federated credentials.
    Application,
    /// A person: password login.
    User,
}

impl IdentityKind {
    /// The stored and wire name, also the token's `idtyp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Application => "app",
            Self::User => "user",
        }
    }
}

impl fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IdentityKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "app" | "application" => Ok(Self::Application),
            "user" => Ok(Self::User),
            other => Err(DomainError::bad(format!(
                "Unknown identity kind '{other}': use app or user."
            ))),
        }
    }
}

/// An identity that can obtain tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Object id (a UUID), the token's `oid` and `sub`.
    pub object_id: String,
    /// Unique display name (a user's login name).
    pub name: IdentityName,
    /// Application (client) id, a UUID, the token's `appid`/`azp`.
    pub client_id: String,
    /// Application or user.
    pub kind: IdentityKind,
    /// Administrators may manage vaults, pools and identities.
    pub admin: bool,
    /// Creation time.
    pub created: UnixTime,
}

/// One way an identity proves itself. Secrets and passwords are never stored, only hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Credential id (a UUID), Entra's `keyId`.
    pub id: String,
    /// The identity it belongs to.
    pub object_id: String,
    /// What it is.
    pub kind: CredentialKind,
    /// Creation time.
    pub created: UnixTime,
    /// After this it is no longer accepted.
    pub expires: Option<UnixTime>,
}

/// The kinds of credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialKind {
    /// A client secret (also the managed-identity header value).
    Secret {
        /// Lowercase hex SHA-256 of the secret.
        hash: String,
        /// Its first characters, to tell secrets apart (Entra's `hint`).
        hint: String,
    },
    /// An X.509 certificate whose key signs `client_assertion` JWTs.
    Certificate {
        /// base64url SHA-1 of the DER certificate (the JWT header's `x5t`).
        x5t: String,
        /// base64url SHA-256 of the DER certificate (`x5t#S256`).
        x5t_s256: String,
        /// The DER certificate.
        der: Vec<u8>,
    },
    /// Tokens of a trusted external issuer with this subject stand for the identity
    /// (workload identity federation).
    Federated {
        /// The issuer (`iss`).
        issuer: String,
        /// The subject (`sub`).
        subject: String,
        /// Accepted audiences (`aud`).
        audiences: Vec<String>,
    },
    /// A user's password, as a PBKDF2 record.
    Password {
        /// `pbkdf2-sha256$iterations$salt$hash` (base64url).
        record: String,
    },
}

impl CredentialKind {
    /// The stored and wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Secret { .. } => "secret",
            Self::Certificate { .. } => "certificate",
            Self::Federated { .. } => "federated",
            Self::Password { .. } => "password",
        }
    }
}

/// The audience Entra and the Azure SDKs use for federated tokens.
pub const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";

/// At most this many credentials per identity (Entra allows some tens).
pub const CREDENTIAL_LIMIT: usize = 20;

impl Credential {
    /// Whether it is accepted at `now`.
    pub fn valid_at(&self, now: UnixTime) -> bool {
        self.expires.is_none_or(|exp| now < exp)
    }
}

/// An external OpenID Connect issuer whose tokens Strongroom accepts: directly, the principal
/// named by one of its claims, or as a federated credential of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedIssuer {
    /// The issuer (`iss`), without a trailing `/`.
    pub issuer: String,
    /// Where its signing keys come from.
    pub keys: IssuerKeys,
    /// The claim whose value is the principal's object id (`sub` for Kubernetes service
    /// accounts and Keycloak, `oid` for Entra ID).
    pub principal_claim: String,
    /// Audiences accepted when its tokens are used directly, beside the resource the request
    /// is for.
    pub audiences: Vec<String>,
    /// When it was added.
    pub created: UnixTime,
}

/// An issuer's signing keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerKeys {
    /// A JWKS given by the administrator (JSON text).
    Jwks(String),
    /// Fetched from the issuer's OpenID discovery document (`jwks_uri`), cached, fetched
    /// again for an unknown `kid`.
    Discovery,
}

/// An issuer URL without its trailing `/`: the form issuers are stored and compared in.
pub fn normalize_issuer(issuer: &str) -> String {
    issuer.trim().trim_end_matches('/').to_owned()
}
