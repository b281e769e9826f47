//! Command-line syntax, shaped like `az keyvault key` where it fits.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::serve::ServeArgs;

/// Strongroom: a self-hostable confidential key management service.
///
/// Exit status: 0 success; 1 the request was refused or failed for another reason; 2 the
/// command line is wrong; 3 no such vault, pool, key or version; 4 not authenticated or not
/// allowed; 5 the server failed or is busy; 6 the server cannot be reached.
#[derive(Debug, Parser)]
#[command(name = "strongroom", version)]
pub struct Cli {
    /// Credentials file of the identity to act as (default: ./strongroom-data/admin-credentials.json).
    #[arg(long, global = true, env = "STRONGROOM_CREDENTIALS")]
    pub credentials: Option<PathBuf>,
    /// Act as the user signed in to this profile by `strongroom login` (instead of a
    /// credentials file).
    #[arg(
        long,
        global = true,
        env = "STRONGROOM_PROFILE",
        conflicts_with = "credentials"
    )]
    pub profile: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Json)]
    pub output: Output,
    /// On an error, print the server's whole answer (status and body), not one line.
    #[arg(long, global = true)]
    pub debug: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Pretty JSON.
    Json,
    /// A table.
    Table,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Write the files every node of a deployment shares (root key, CA, server certificate),
    /// before any node starts.
    Init(crate::serve::InitArgs),
    /// Manage vaults.
    Vault {
        /// Action.
        #[command(subcommand)]
        action: VaultAction,
    },
    /// Manage managed HSM pools.
    Hsm {
        /// Action.
        #[command(subcommand)]
        action: ContainerAction,
    },
    /// Manage identities.
    Identity {
        /// Action.
        #[command(subcommand)]
        action: IdentityAction,
    },
    /// Manage and use keys.
    Key {
        /// Action.
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Benchmark a running server against the raw crypto library.
    Bench(crate::bench::BenchArgs),
    /// The bare HTTPS server `bench --floor` measures Strongroom against (started by it).
    #[command(hide = true)]
    BenchFloor(crate::bench::floor::FloorArgs),
    /// Sign a user in with the password read from standard input; the tokens are cached in a
    /// profile (`--profile`, default `default`) that later commands use with `--profile`.
    Login {
        /// The server, `https://host:port`.
        #[arg(long)]
        server: String,
        /// The user's name.
        #[arg(long, short = 'u')]
        username: String,
        /// The CA certificate to trust (PEM), if the server's is not publicly trusted.
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
    /// Trusted external token issuers (OpenID Connect).
    Issuer {
        /// Action.
        #[command(subcommand)]
        action: IssuerAction,
    },
    /// The stored audit log: list, verify, export.
    Audit {
        /// Action.
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Role definitions and assignments of a vault or pool.
    Role {
        /// Action.
        #[command(subcommand)]
        action: RoleAction,
    },
    /// Get random bytes from a vault or pool.
    Rng {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// How many bytes (1-128).
        #[arg(long, default_value_t = 32)]
        count: i64,
    },
}

/// Role actions.
#[derive(Debug, Subcommand)]
pub enum RoleAction {
    /// Role assignments.
    Assignment {
        /// Action.
        #[command(subcommand)]
        action: AssignmentAction,
    },
    /// Role definitions.
    Definition {
        /// Action.
        #[command(subcommand)]
        action: DefinitionAction,
    },
}

/// Role assignment actions.
#[derive(Debug, Subcommand)]
pub enum AssignmentAction {
    /// Assign a role to a principal at a scope.
    Create {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// Role name (e.g. "Managed HSM Crypto User") or definition GUID.
        #[arg(long)]
        role: String,
        /// The principal's object id.
        #[arg(long)]
        assignee_object_id: String,
        /// `/`, `/keys` or `/keys/NAME`.
        #[arg(long, default_value = "/")]
        scope: String,
        /// The assignment's GUID (default: a new one).
        #[arg(long)]
        name: Option<String>,
    },
    /// List assignments at a scope.
    List {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// `/`, `/keys` or `/keys/NAME`.
        #[arg(long, default_value = "/")]
        scope: String,
        /// Only this principal's.
        #[arg(long)]
        assignee_object_id: Option<String>,
    },
    /// Delete an assignment by name, or a principal's assignments of a role at a scope.
    Delete {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// The assignment's GUID.
        #[arg(long)]
        name: Option<String>,
        /// The principal's object id (with --role and --scope).
        #[arg(long)]
        assignee_object_id: Option<String>,
        /// Role name or definition GUID (with --assignee-object-id).
        #[arg(long)]
        role: Option<String>,
        /// `/`, `/keys` or `/keys/NAME`.
        #[arg(long, default_value = "/")]
        scope: String,
    },
}

/// Role definition actions.
#[derive(Debug, Subcommand)]
pub enum DefinitionAction {
    /// List the role definitions.
    List {
        /// Where.
        #[command(flatten)]
        at: Target,
    },
    /// Show one role definition, by name or GUID.
    Show {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// Role name or GUID.
        #[arg(long)]
        name: String,
    },
    /// Create a custom role: `--role-definition` is JSON (or `@FILE`) as az takes it:
    /// `{"roleName", "description", "dataActions", "notDataActions", "name"?}`.
    Create {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// The role as JSON, or @FILE.
        #[arg(long)]
        role_definition: String,
    },
    /// Update a custom role: the JSON names it with "name" (its GUID).
    Update {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// The role as JSON, or @FILE.
        #[arg(long)]
        role_definition: String,
    },
    /// Delete a custom role, by name or GUID.
    Delete {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// Role name or GUID.
        #[arg(long)]
        name: String,
    },
}

/// Vault and pool actions.
#[derive(Debug, Subcommand)]
pub enum ContainerAction {
    /// Create.
    Create {
        /// Name (3-24 letters, digits, hyphens).
        #[arg(long, short = 'n')]
        name: String,
        /// SKU (vaults): standard or premium.
        #[arg(long, default_value = "premium")]
        sku: String,
        /// Soft-delete retention in days (7-90).
        #[arg(long, default_value_t = 90)]
        retention_days: u32,
        /// Refuse purge until retention ends (cannot be undone).
        #[arg(long)]
        purge_protection: bool,
        /// `false` for a vault authorized by access policies (Key Vault's legacy model); role
        /// assignments otherwise.
        #[arg(long, action = clap::ArgAction::Set)]
        enable_rbac_authorization: Option<bool>,
    },
    /// List.
    List,
    /// Show one.
    Show {
        /// Name.
        #[arg(long, short = 'n')]
        name: String,
    },
    /// Delete with all its keys.
    Delete {
        /// Name.
        #[arg(long, short = 'n')]
        name: String,
    },
}

/// Which audit events.
#[derive(Debug, Clone, Args)]
pub struct AuditFilters {
    /// At or after (ISO 8601 or Unix seconds).
    #[arg(long)]
    pub since: Option<String>,
    /// At or before (ISO 8601 or Unix seconds).
    #[arg(long)]
    pub until: Option<String>,
    /// This principal's object id (or the server's job name) only.
    #[arg(long)]
    pub principal: Option<String>,
    /// This operation only (KeySign, KeyCreate, VaultCreate, ...).
    #[arg(long)]
    pub operation: Option<String>,
    /// This result only (Success, Forbidden, NotFound, ...).
    #[arg(long)]
    pub result: Option<String>,
    /// At most this many events.
    #[arg(long)]
    pub limit: Option<i64>,
}

/// Audit actions.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// List stored events, by node chain and order.
    List {
        /// Which.
        #[command(flatten)]
        filters: AuditFilters,
    },
    /// Check every chain: an edited, removed or reordered event is reported (exit status 1).
    Verify,
    /// Write events as JSON lines in the shape of Key Vault's AuditEvent diagnostic log.
    Export {
        /// Which.
        #[command(flatten)]
        filters: AuditFilters,
        /// The file to write.
        #[arg(long)]
        file: std::path::PathBuf,
    },
}

/// Vault actions: those of pools, and access policies.
#[derive(Debug, Subcommand)]
pub enum VaultAction {
    /// Create, list, show, delete.
    #[command(flatten)]
    Common(ContainerAction),
    /// Set a principal's key permissions on a vault created with --enable-rbac-authorization
    /// false (the list replaces the previous one).
    SetPolicy {
        /// Vault name.
        #[arg(long, short = 'n')]
        name: String,
        /// The principal's object id.
        #[arg(long)]
        object_id: String,
        /// Key permissions: get list update create import delete recover backup restore decrypt
        /// encrypt unwrapKey wrapKey verify sign purge release rotate getrotationpolicy
        /// setrotationpolicy, or all.
        #[arg(long, num_args = 1.., required = true)]
        key_permissions: Vec<String>,
    },
    /// Remove a principal's access policy.
    DeletePolicy {
        /// Vault name.
        #[arg(long, short = 'n')]
        name: String,
        /// The principal's object id.
        #[arg(long)]
        object_id: String,
    },
    /// List a vault's access policies.
    ListPolicies {
        /// Vault name.
        #[arg(long, short = 'n')]
        name: String,
    },
}

/// Identity actions.
#[derive(Debug, Subcommand)]
pub enum IdentityAction {
    /// Create an identity and print the environment a workload sets to use it.
    Create {
        /// Name.
        #[arg(long, short = 'n')]
        name: String,
        /// Make it an administrator.
        #[arg(long)]
        admin: bool,
        /// A role to assign to it at once (with --vault-name or --hsm-name), e.g. "Key Vault
        /// Crypto Officer".
        #[arg(long, requires = "place")]
        role: Option<String>,
        /// The vault or pool of --role.
        #[command(flatten)]
        at: Target,
        /// The scope of --role: `/`, `/keys` or `/keys/NAME`.
        #[arg(long, default_value = "/")]
        scope: String,
        /// Make it a user who signs in with a password (read from standard input) instead of
        /// an application with a client secret.
        #[arg(long)]
        user: bool,
    },
    /// List.
    List,
    /// Show an identity with its credentials.
    Show {
        /// Name.
        #[arg(long, short = 'n')]
        name: String,
    },
    /// Delete.
    Delete {
        /// Name.
        #[arg(long, short = 'n')]
        name: String,
    },
    /// Add or remove an identity's credentials.
    Credential {
        /// Action.
        #[command(subcommand)]
        action: CredentialAction,
    },
}

/// Credential actions.
#[derive(Debug, Subcommand)]
pub enum CredentialAction {
    /// Add a client secret (printed once), a certificate, a federated credential, or (for a
    /// user) a new password read from standard input.
    Add {
        /// The identity.
        #[arg(long, short = 'n')]
        name: String,
        /// Generate a new client secret.
        #[arg(long, group = "credential")]
        secret: bool,
        /// Years a new secret stays valid (default: no expiry).
        #[arg(long, requires = "secret")]
        years: Option<u32>,
        /// A certificate (PEM) whose key signs client assertions.
        #[arg(long, group = "credential")]
        cert: Option<std::path::PathBuf>,
        /// A trusted issuer whose tokens with --subject stand for this application.
        #[arg(long, group = "credential", requires = "subject")]
        issuer: Option<String>,
        /// The subject (`sub`) of the federated tokens.
        #[arg(long, requires = "issuer")]
        subject: Option<String>,
        /// Accepted audiences of the federated tokens (default api://AzureADTokenExchange).
        #[arg(long, num_args = 1.., requires = "issuer")]
        audience: Vec<String>,
        /// A new password, read from standard input (users).
        #[arg(long, group = "credential")]
        password_stdin: bool,
    },
    /// Remove a credential: tokens issued through it stop working on every node.
    Remove {
        /// The identity.
        #[arg(long, short = 'n')]
        name: String,
        /// The credential id (`identity show` lists them).
        #[arg(long)]
        id: String,
    },
}

/// Trusted issuer actions.
#[derive(Debug, Subcommand)]
pub enum IssuerAction {
    /// Trust an OpenID Connect issuer's tokens (or change how it is trusted).
    Add {
        /// The issuer URL, exactly as its tokens' `iss`.
        #[arg(long)]
        issuer: String,
        /// Its JWKS, from a file.
        #[arg(long, group = "keys")]
        jwks_file: Option<std::path::PathBuf>,
        /// Fetch its keys by OpenID discovery (`jwks_uri`).
        #[arg(long, group = "keys")]
        discovery: bool,
        /// The claim that names the principal: `sub` (Kubernetes, Keycloak) or `oid` (Entra ID).
        #[arg(long, default_value = "sub")]
        principal_claim: String,
        /// Audiences accepted when its tokens are presented directly, beside this
        /// deployment's own resources (e.g. https://vault.azure.net).
        #[arg(long, num_args = 1..)]
        audience: Vec<String>,
    },
    /// List the trusted issuers.
    List,
    /// Stop trusting an issuer.
    Remove {
        /// The issuer URL.
        #[arg(long)]
        issuer: String,
    },
}

/// Which vault or pool (default: the default vault).
#[derive(Debug, Clone, Args)]
#[group(id = "place", multiple = false)]
pub struct Target {
    /// Vault name.
    #[arg(long, conflicts_with = "hsm_name")]
    pub vault_name: Option<String>,
    /// Managed HSM pool name.
    #[arg(long)]
    pub hsm_name: Option<String>,
}

/// A key and optional version.
#[derive(Debug, Clone, Args)]
pub struct KeyRef {
    /// Where.
    #[command(flatten)]
    pub at: Target,
    /// Key name.
    #[arg(long, short = 'n')]
    pub name: String,
    /// Version (default: latest).
    #[arg(long, default_value = "")]
    pub version: String,
}

/// Attributes settable at create and update.
#[derive(Debug, Clone, Args)]
pub struct KeyProps {
    /// Permitted operations.
    #[arg(long, num_args = 1..)]
    pub ops: Option<Vec<String>>,
    /// Tags as name=value.
    #[arg(long, num_args = 1..)]
    pub tags: Option<Vec<String>>,
    /// Expiry: ISO 8601 UTC (2027-01-31T12:00:00Z, 2027-01-31) or Unix seconds.
    #[arg(long, value_parser = crate::times::parse_time)]
    pub expires: Option<i64>,
    /// Not before: ISO 8601 UTC (2027-01-31T12:00:00Z, 2027-01-31) or Unix seconds.
    #[arg(long, value_parser = crate::times::parse_time)]
    pub not_before: Option<i64>,
}

/// Key actions.
#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// Create a key (or a new version).
    Create {
        /// Where and which.
        #[command(flatten)]
        at: Target,
        /// Key name.
        #[arg(long, short = 'n')]
        name: String,
        /// Key type: RSA, EC, oct (with --protection hsm: RSA-HSM, EC-HSM, oct-HSM).
        #[arg(long, default_value = "RSA")]
        kty: String,
        /// RSA or AES size in bits.
        #[arg(long)]
        size: Option<u32>,
        /// EC curve: P-256, P-256K, P-384, P-521.
        #[arg(long)]
        curve: Option<String>,
        /// software or hsm.
        #[arg(long, default_value = "software")]
        protection: String,
        /// Create disabled.
        #[arg(long)]
        disabled: bool,
        /// Properties.
        #[command(flatten)]
        props: KeyProps,
    },
    /// Import a private key from a JWK file.
    Import {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// Key name.
        #[arg(long, short = 'n')]
        name: String,
        /// JSON Web Key file with private members.
        #[arg(long)]
        jwk_file: PathBuf,
        /// software or hsm.
        #[arg(long, default_value = "software")]
        protection: String,
    },
    /// Show a key.
    Show(KeyRef),
    /// List keys.
    List {
        /// Where.
        #[command(flatten)]
        at: Target,
    },
    /// List a key's versions.
    ListVersions {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// Key name.
        #[arg(long, short = 'n')]
        name: String,
    },
    /// Update a version's attributes.
    SetAttributes {
        /// Which.
        #[command(flatten)]
        key: KeyRef,
        /// Enable or disable.
        #[arg(long)]
        enabled: Option<bool>,
        /// Properties.
        #[command(flatten)]
        props: KeyProps,
    },
    /// Soft-delete a key.
    Delete {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// Key name.
        #[arg(long, short = 'n')]
        name: String,
    },
    /// Recover a deleted key.
    Recover {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// Key name.
        #[arg(long, short = 'n')]
        name: String,
    },
    /// Purge a deleted key.
    Purge {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// Key name.
        #[arg(long, short = 'n')]
        name: String,
    },
    /// List deleted keys.
    ListDeleted {
        /// Where.
        #[command(flatten)]
        at: Target,
    },
    /// Back a key up to a file.
    Backup {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// Key name.
        #[arg(long, short = 'n')]
        name: String,
        /// Output file.
        #[arg(long, short = 'f')]
        file: PathBuf,
    },
    /// Restore a key from a backup file.
    Restore {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// Backup file.
        #[arg(long, short = 'f')]
        file: PathBuf,
    },
    /// Create a new version now.
    Rotate {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// Key name.
        #[arg(long, short = 'n')]
        name: String,
    },
    /// Encrypt (value base64).
    Encrypt(CipherArgs),
    /// Decrypt (value base64).
    Decrypt(CipherArgs),
    /// Wrap a key (value base64).
    Wrap(CipherArgs),
    /// Unwrap a key (value base64).
    Unwrap(CipherArgs),
    /// Sign a digest (base64).
    Sign {
        /// Which.
        #[command(flatten)]
        key: KeyRef,
        /// Algorithm, e.g. RS256, ES256.
        #[arg(long, short = 'a')]
        algorithm: String,
        /// Digest, base64.
        #[arg(long, allow_hyphen_values = true)]
        digest: String,
    },
    /// Verify a signature over a digest.
    Verify {
        /// Which.
        #[command(flatten)]
        key: KeyRef,
        /// Algorithm.
        #[arg(long, short = 'a')]
        algorithm: String,
        /// Digest, base64.
        #[arg(long, allow_hyphen_values = true)]
        digest: String,
        /// Signature, base64.
        #[arg(long, allow_hyphen_values = true)]
        signature: String,
    },
    /// Show or update the rotation policy.
    RotationPolicy {
        /// Action.
        #[command(subcommand)]
        action: PolicyAction,
    },
}

/// Arguments of encrypt, decrypt, wrap and unwrap.
#[derive(Debug, Clone, Args)]
pub struct CipherArgs {
    /// Which.
    #[command(flatten)]
    pub key: KeyRef,
    /// Algorithm, e.g. RSA-OAEP-256, A256GCM, A256KW.
    #[arg(long, short = 'a')]
    pub algorithm: String,
    /// Input, base64.
    #[arg(long, allow_hyphen_values = true)]
    pub value: String,
    /// IV, base64.
    #[arg(long, allow_hyphen_values = true)]
    pub iv: Option<String>,
    /// Additional authenticated data, base64.
    #[arg(long, allow_hyphen_values = true)]
    pub aad: Option<String>,
    /// Authentication tag, base64.
    #[arg(long, allow_hyphen_values = true)]
    pub tag: Option<String>,
}

/// Rotation policy actions.
#[derive(Debug, Subcommand)]
pub enum PolicyAction {
    /// Show.
    Show {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// Key name.
        #[arg(long, short = 'n')]
        name: String,
    },
    /// Replace with a policy given as JSON (a file path, or the JSON itself).
    Update {
        /// Where.
        #[command(flatten)]
        at: Target,
        /// Key name.
        #[arg(long, short = 'n')]
        name: String,
        /// Policy JSON or a file holding it.
        #[arg(long)]
        value: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_values_may_start_with_a_hyphen() {
        let cli = Cli::try_parse_from([
            "strongroom",
            "key",
            "verify",
            "-n",
            "k1",
            "-a",
            "ES256",
            "--digest",
            "-AQE",
            "--signature",
            "-TlM",
        ])
        .unwrap();
        let Command::Key { action } = cli.command else {
            panic!("not a key command");
        };
        let KeyAction::Verify {
            digest, signature, ..
        } = action
        else {
            panic!("not verify");
        };
        assert_eq!((digest.as_str(), signature.as_str()), ("-AQE", "-TlM"));
        let cli = Cli::try_parse_from([
            "strongroom",
            "key",
            "encrypt",
            "-n",
            "k1",
            "-a",
            "A256GCM",
            "--value",
            "-x",
            "--iv",
            "-y",
            "--aad",
            "-z",
            "--tag",
            "-w",
        ])
        .unwrap();
        let Command::Key {
            action: KeyAction::Encrypt(args),
        } = cli.command
        else {
            panic!("not encrypt");
        };
        assert_eq!(
            [
                args.value,
                args.iv.unwrap(),
                args.aad.unwrap(),
                args.tag.unwrap()
            ],
            ["-x", "-y", "-z", "-w"]
        );
    }
}
