//! The ports adapters implement: storage (`KeyStore`) and cryptography (`CryptoProvider`,
//! `LoadedKey`). Both are object safe and `Send + Sync`, so they live in app state as
//! `Arc<dyn ...>`.

use std::sync::Arc;

use async_trait::async_trait;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::access_policy::AccessPolicy;
use crate::audit::{AuditFilter, AuditRecord, StoredBatch, WriteEvent};
use crate::clock::UnixTime;
use crate::error::DomainResult;
use crate::identity::{Credential, Identity, TrustedIssuer};
use crate::key::{
    Curve, EncryptionAlgorithm, KeyKind, KeySpec, KeyVersionRecord, PublicKeyParts,
    SignatureAlgorithm,
};
use crate::lifecycle::Deletion;
use crate::names::{IdentityName, KeyName, KeyVersion, VaultName};
use crate::rbac::{RoleAssignment, RoleDefinition};
use crate::rotation::RotationPolicy;
use crate::vault::Vault;

/// A vault as stored: its settings and its key-encryption key sealed under the root key.
#[derive(Debug, Clone)]
pub struct StoredVault {
    /// Settings.
    pub vault: Vault,
    /// The vault KEK, sealed under the root key.
    pub sealed_kek: Vec<u8>,
}

/// A soft-deleted key: its latest version and when it was deleted.
#[derive(Debug, Clone)]
pub struct DeletedKey {
    /// The latest version at deletion.
    pub latest: KeyVersionRecord,
    /// Deletion dates.
    pub deletion: Deletion,
}

/// A key with a rotation policy, for the scheduler.
#[derive(Debug, Clone)]
pub struct PolicyEntry {
    /// The vault.
    pub vault: VaultName,
    /// The key.
    pub name: KeyName,
    /// Its policy.
    pub policy: RotationPolicy,
}

/// Persistent state. Every method is one transaction; a method that writes stores its
/// [`WriteEvent`] in that transaction, so no write commits without its audit event.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Adds a role assignment; `RoleAssignmentExists` if its name is taken in its vault.
    async fn insert_role_assignment(
        &self,
        assignment: &RoleAssignment,
        audit: &WriteEvent,
    ) -> DomainResult<()>;
    /// One role assignment of a vault or pool.
    async fn role_assignment(
        &self,
        vault: &VaultName,
        name: &str,
    ) -> DomainResult<Option<RoleAssignment>>;
    /// Removes a role assignment; returns it, or `None` when there was none.
    async fn delete_role_assignment(
        &self,
        vault: &VaultName,
        name: &str,
        audit: &WriteEvent,
    ) -> DomainResult<Option<RoleAssignment>>;
    /// Every role assignment of a vault or pool, by name.
    async fn role_assignments(&self, vault: &VaultName) -> DomainResult<Vec<RoleAssignment>>;
    /// Appends a batch of a chain's audit events in one transaction, taking out of the pending
    /// events those of `linked` (ids of [`KeyStore::pending_audit`]) it includes; false, with
    /// nothing stored, when another node linked one of them first.
    async fn append_audit(&self, events: &[AuditRecord], linked: &[i64]) -> DomainResult<bool>;
    /// At most `limit` pending events of writes (stored by the writes' transactions, not yet
    /// in a chain) for `chain` to link, oldest first: its own, and those of other chains stored
    /// at least `orphaned_after` ago (their node stopped before it linked them).
    async fn pending_audit(
        &self,
        chain: &str,
        orphaned_after: std::time::Duration,
        limit: usize,
    ) -> DomainResult<Vec<(i64, AuditRecord)>>;
    /// Audit events matching `filter`, by chain and place in it.
    async fn audit_events(&self, filter: &AuditFilter) -> DomainResult<Vec<AuditRecord>>;
    /// The next stored batches of audit events, by chain and place in it, after the batch
    /// of `after` (`(chain, first seq)`; from the start when `None`): at most `count` batches,
    /// so the whole log can be read a page at a time.
    async fn audit_batches_after(
        &self,
        after: Option<(&str, i64)>,
        count: i64,
    ) -> DomainResult<Vec<StoredBatch>>;
    /// Creates or replaces a custom role definition of a vault or pool.
    async fn put_role_definition(
        &self,
        vault: &VaultName,
        definition: &RoleDefinition,
        audit: &WriteEvent,
    ) -> DomainResult<()>;
    /// Removes a custom role definition; whether there was one.
    async fn delete_role_definition(
        &self,
        vault: &VaultName,
        name: &str,
        audit: &WriteEvent,
    ) -> DomainResult<bool>;
    /// The custom role definitions of a vault or pool, by GUID.
    async fn role_definitions(&self, vault: &VaultName) -> DomainResult<Vec<RoleDefinition>>;
    /// Sets a principal's access policy on a vault (replacing its key permissions).
    async fn put_access_policy(
        &self,
        policy: &AccessPolicy,
        audit: &WriteEvent,
    ) -> DomainResult<()>;
    /// Removes a principal's access policy; whether there was one.
    async fn delete_access_policy(
        &self,
        vault: &VaultName,
        object_id: &str,
        audit: &WriteEvent,
    ) -> DomainResult<bool>;
    /// Every access policy of a vault, by object id.
    async fn access_policies(&self, vault: &VaultName) -> DomainResult<Vec<AccessPolicy>>;
    /// Adds a vault; `VaultAlreadyExists` if the name is taken.
    async fn insert_vault(&self, vault: &StoredVault, audit: &WriteEvent) -> DomainResult<()>;
    /// One vault.
    async fn vault(&self, name: &VaultName) -> DomainResult<Option<StoredVault>>;
    /// All vaults and pools, by name.
    async fn vaults(&self) -> DomainResult<Vec<Vault>>;
    /// Removes a vault with all its keys; false if there was none.
    async fn delete_vault(&self, name: &VaultName, audit: &WriteEvent) -> DomainResult<bool>;

    /// Adds a version (and the key, if new). Refused with `KeyDeletedButRecoverable` while a
    /// deleted key holds the name.
    async fn insert_version(
        &self,
        record: &KeyVersionRecord,
        audit: &WriteEvent,
    ) -> DomainResult<()>;
    /// One version of a live key, or its latest version when `version` is `None`.
    async fn version(
        &self,
        vault: &VaultName,
        name: &KeyName,
        version: Option<&KeyVersion>,
    ) -> DomainResult<Option<KeyVersionRecord>>;
    /// Rewrites the mutable fields (attributes, key_ops, tags, release policy) of a version.
    async fn update_version(
        &self,
        record: &KeyVersionRecord,
        audit: &WriteEvent,
    ) -> DomainResult<()>;
    /// The latest version of each live key, ordered by name, after `after`.
    async fn list_keys(
        &self,
        vault: &VaultName,
        after: Option<&KeyName>,
        limit: usize,
    ) -> DomainResult<Vec<KeyVersionRecord>>;
    /// Versions of a live key, oldest first.
    async fn list_versions(
        &self,
        vault: &VaultName,
        name: &KeyName,
        skip: usize,
        limit: usize,
    ) -> DomainResult<Vec<KeyVersionRecord>>;
    /// Every version of a live key, oldest first, with its rotation policy (for backup).
    async fn key_for_backup(
        &self,
        vault: &VaultName,
        name: &KeyName,
    ) -> DomainResult<Option<(Vec<KeyVersionRecord>, Option<RotationPolicy>)>>;
    /// Restores a key with all its versions; `KeyAlreadyExists` or `KeyDeletedButRecoverable`
    /// if the name is taken.
    async fn restore_key(
        &self,
        versions: &[KeyVersionRecord],
        policy: Option<&RotationPolicy>,
        audit: &WriteEvent,
    ) -> DomainResult<()>;

    /// Soft-deletes a live key; false if there is none.
    async fn delete_key(
        &self,
        vault: &VaultName,
        name: &KeyName,
        deletion: Deletion,
        audit: &WriteEvent,
    ) -> DomainResult<bool>;
    /// A deleted key.
    async fn deleted_key(
        &self,
        vault: &VaultName,
        name: &KeyName,
    ) -> DomainResult<Option<DeletedKey>>;
    /// Deleted keys ordered by name, after `after`.
    async fn list_deleted(
        &self,
        vault: &VaultName,
        after: Option<&KeyName>,
        limit: usize,
    ) -> DomainResult<Vec<DeletedKey>>;
    /// Undeletes a key; false if it was not deleted.
    async fn recover_key(
        &self,
        vault: &VaultName,
        name: &KeyName,
        audit: &WriteEvent,
    ) -> DomainResult<bool>;
    /// Removes a deleted key and all its versions for good; false if it was not deleted.
    async fn purge_key(
        &self,
        vault: &VaultName,
        name: &KeyName,
        audit: &WriteEvent,
    ) -> DomainResult<bool>;
    /// Deleted keys whose scheduled purge date is at or before `now`.
    async fn due_purges(&self, now: UnixTime) -> DomainResult<Vec<(VaultName, KeyName)>>;

    /// A key's rotation policy, if one was set.
    async fn rotation_policy(
        &self,
        vault: &VaultName,
        name: &KeyName,
    ) -> DomainResult<Option<RotationPolicy>>;
    /// Sets a live key's rotation policy.
    async fn set_rotation_policy(
        &self,
        vault: &VaultName,
        name: &KeyName,
        policy: &RotationPolicy,
        audit: &WriteEvent,
    ) -> DomainResult<()>;
    /// Every live key that has a rotation policy.
    async fn rotation_policies(&self) -> DomainResult<Vec<PolicyEntry>>;

    /// Takes or renews the lease `name` for `holder` until `now + ttl_secs`; false while
    /// another holder's lease is unexpired. One node at a time runs work under a lease.
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: UnixTime,
        ttl_secs: i64,
    ) -> DomainResult<bool>;

    /// Adds an identity with its first credentials, in one transaction; `BadParameter` if
    /// the name is taken.
    async fn insert_identity(
        &self,
        identity: &Identity,
        credentials: &[Credential],
        audit: &WriteEvent,
    ) -> DomainResult<()>;
    /// The identity holding the secret that hashes to `secret_hash`, with that credential.
    async fn identity_by_secret_hash(
        &self,
        secret_hash: &str,
    ) -> DomainResult<Option<(Identity, Credential)>>;
    /// The identity with this client id.
    async fn identity_by_client_id(&self, client_id: &str) -> DomainResult<Option<Identity>>;
    /// The identity with this name.
    async fn identity_by_name(&self, name: &IdentityName) -> DomainResult<Option<Identity>>;
    /// All identities by name.
    async fn identities(&self) -> DomainResult<Vec<Identity>>;
    /// The identity with this object id.
    async fn identity_by_object_id(&self, object_id: &str) -> DomainResult<Option<Identity>>;
    /// Removes an identity and its credentials; returns it, or `None` when there was none.
    async fn delete_identity(
        &self,
        name: &IdentityName,
        audit: &WriteEvent,
    ) -> DomainResult<Option<Identity>>;
    /// An identity's credentials, oldest first.
    async fn credentials(&self, object_id: &str) -> DomainResult<Vec<Credential>>;
    /// Adds a credential to an existing identity.
    async fn insert_credential(
        &self,
        credential: &Credential,
        audit: &WriteEvent,
    ) -> DomainResult<()>;
    /// Removes a credential; false when the identity has none with this id. Tokens issued
    /// through it stop being accepted on every node.
    async fn delete_credential(
        &self,
        object_id: &str,
        id: &str,
        audit: &WriteEvent,
    ) -> DomainResult<bool>;

    /// The trusted external issuers.
    async fn trusted_issuers(&self) -> DomainResult<Vec<TrustedIssuer>>;
    /// Adds or replaces a trusted issuer.
    async fn put_trusted_issuer(
        &self,
        issuer: &TrustedIssuer,
        audit: &WriteEvent,
    ) -> DomainResult<()>;
    /// Removes a trusted issuer; false when there was none.
    async fn delete_trusted_issuer(&self, issuer: &str, audit: &WriteEvent) -> DomainResult<bool>;

    /// A sealed server-wide secret (such as the token-signing key) by name.
    async fn server_secret(&self, name: &str) -> DomainResult<Option<Vec<u8>>>;
    /// Stores `value` under `name` unless one exists; returns what is stored afterwards, so
    /// concurrent first starts agree on one value.
    async fn put_server_secret_if_absent(&self, name: &str, value: &[u8]) -> DomainResult<Vec<u8>>;
}

/// Private key material in its storage encoding (PKCS#8 DER for RSA and EC, raw bytes for AES),
/// with its public parts. Zeroized on drop.
pub struct KeyMaterial {
    /// Public parts.
    pub public: PublicKeyParts,
    /// Private encoding.
    pub private: Zeroizing<Vec<u8>>,
}

/// The private members of an imported JWK, already base64url-decoded.
#[derive(Default, Zeroize, ZeroizeOnDrop)]
pub struct JwkPrivate {
    /// RSA modulus.
    pub n: Vec<u8>,
    /// RSA public exponent.
    pub e: Vec<u8>,
    /// RSA private exponent or EC private scalar.
    pub d: Vec<u8>,
    /// RSA prime p.
    pub p: Vec<u8>,
    /// RSA prime q.
    pub q: Vec<u8>,
    /// RSA d mod (p-1).
    pub dp: Vec<u8>,
    /// RSA d mod (q-1).
    pub dq: Vec<u8>,
    /// RSA q^-1 mod p.
    pub qi: Vec<u8>,
    /// EC x.
    pub x: Vec<u8>,
    /// EC y.
    pub y: Vec<u8>,
    /// AES key.
    pub k: Vec<u8>,
}

/// An imported key: its family, curve for EC, and the private members.
pub struct ImportedJwk {
    /// Family.
    pub kind: KeyKind,
    /// Curve, for EC keys.
    pub curve: Option<Curve>,
    /// Members.
    pub members: JwkPrivate,
}

/// Input of encrypt, decrypt, wrapKey and unwrapKey.
pub struct CipherInput {
    /// Algorithm.
    pub alg: EncryptionAlgorithm,
    /// Plaintext or ciphertext.
    pub value: Vec<u8>,
    /// IV (AES-CBC, AES-GCM).
    pub iv: Option<Vec<u8>>,
    /// Additional authenticated data (AES-GCM).
    pub aad: Option<Vec<u8>>,
    /// Authentication tag (AES-GCM decrypt).
    pub tag: Option<Vec<u8>>,
}

/// Output of encrypt, decrypt, wrapKey and unwrapKey.
#[derive(Debug, Default)]
pub struct CipherOutput {
    /// Result bytes.
    pub value: Vec<u8>,
    /// IV used (AES-CBC, AES-GCM encrypt).
    pub iv: Option<Vec<u8>>,
    /// Tag produced (AES-GCM encrypt).
    pub tag: Option<Vec<u8>>,
    /// AAD echoed (AES-GCM encrypt).
    pub aad: Option<Vec<u8>>,
}

/// A key parsed once from its private encoding, ready for operations.
pub trait LoadedKey: Send + Sync {
    /// Encrypts (RSA with the public key, AES).
    fn encrypt(&self, input: &CipherInput) -> DomainResult<CipherOutput>;
    /// Decrypts.
    fn decrypt(&self, input: &CipherInput) -> DomainResult<CipherOutput>;
    /// Wraps a key (RSA encryption or AES key wrap).
    fn wrap(&self, input: &CipherInput) -> DomainResult<CipherOutput>;
    /// Unwraps a key.
    fn unwrap(&self, input: &CipherInput) -> DomainResult<CipherOutput>;
    /// Signs a digest.
    fn sign(&self, alg: SignatureAlgorithm, digest: &[u8]) -> DomainResult<Vec<u8>>;
    /// Verifies a signature over a digest.
    fn verify(
        &self,
        alg: SignatureAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> DomainResult<bool>;
}

/// Key generation, import, parsing, sealing and randomness.
pub trait CryptoProvider: Send + Sync {
    /// Generates a key.
    fn generate(&self, spec: KeySpec) -> DomainResult<KeyMaterial>;
    /// Checks and converts an imported JWK to the storage encoding.
    fn import(&self, jwk: &ImportedJwk) -> DomainResult<KeyMaterial>;
    /// Parses stored private material (the expensive step worth caching).
    fn load(&self, public: &PublicKeyParts, private: &[u8]) -> DomainResult<Arc<dyn LoadedKey>>;
    /// Fills `out` with random bytes.
    fn fill_random(&self, out: &mut [u8]) -> DomainResult<()>;
    /// AES-256-GCM seal with a random nonce; output is `nonce || ciphertext || tag`.
    fn seal(&self, key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> DomainResult<Vec<u8>>;
    /// Opens what `seal` produced.
    fn unseal(&self, key: &[u8; 32], aad: &[u8], sealed: &[u8])
    -> DomainResult<Zeroizing<Vec<u8>>>;
}

/// Whether an operation costs more than a hop to the blocking pool (about 13 us on the
/// reference machine), so it should leave the async workers: RSA private-key operations,
/// anything on RSA keys of 4096 bits, ECDSA verification (about 100 us even on P-256) and
/// ECDSA signing on the slower curves (P-384, P-521, secp256k1). ES256 signing, RSA public-key
/// operations below 4096 bits and AES run inline.
pub fn runs_on_pool(public: &PublicKeyParts, private_op: bool) -> bool {
    match public {
        PublicKeyParts::Rsa { n, .. } => private_op || n.len() >= 512,
        PublicKeyParts::Ec { curve, .. } => !private_op || *curve != Curve::P256,
        PublicKeyParts::Oct { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_operations_go_to_the_pool() {
        let rsa = |bytes: usize| PublicKeyParts::Rsa {
            n: vec![1; bytes],
            e: vec![1, 0, 1],
        };
        let ec = |curve| PublicKeyParts::Ec {
            curve,
            x: vec![],
            y: vec![],
        };
        assert!(runs_on_pool(&rsa(256), true));
        assert!(!runs_on_pool(&rsa(256), false));
        assert!(runs_on_pool(&rsa(512), false));
        assert!(!runs_on_pool(&ec(Curve::P256), true));
        assert!(runs_on_pool(&ec(Curve::P256), false));
        assert!(runs_on_pool(&ec(Curve::P521), true));
        assert!(!runs_on_pool(&PublicKeyParts::Oct { len: 32 }, true));
    }
}

/// What a secret sealed under the deployment's root of trust is for. The purpose (and, for a
/// vault key, the vault it belongs to) is bound into the seal: a blob sealed for one purpose
/// does not open for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealPurpose<'a> {
    /// A vault's or pool's key-encryption key, under which its key versions are sealed.
    VaultKey(&'a VaultName),
    /// The token service's signing key.
    TokenSigningKey,
    /// A key backup.
    Backup,
    /// The key that seals the audit log's chains (each event's keyed hash).
    AuditKey,
}

/// Seals and unseals secrets by purpose under the root of trust, whose bytes never leave the
/// adapter (today the root key file; a passphrase, a PKCS#11 HSM or a pool's security domain
/// later).
pub trait KeyProtector: Send + Sync {
    /// Seals `plaintext` for `purpose`.
    fn seal(&self, purpose: SealPurpose<'_>, plaintext: &[u8]) -> DomainResult<Vec<u8>>;
    /// Opens what [`KeyProtector::seal`] sealed for the same purpose.
    fn unseal(&self, purpose: SealPurpose<'_>, sealed: &[u8]) -> DomainResult<Zeroizing<Vec<u8>>>;
}

/// Fetches an OpenID issuer's signing keys: its discovery document
/// (`{issuer}/.well-known/openid-configuration`), then the JWKS at its `jwks_uri`.
#[async_trait]
pub trait JwksFetcher: Send + Sync {
    /// The issuer's current JWKS.
    async fn fetch_jwks(&self, issuer: &str) -> DomainResult<serde_json::Value>;
}
