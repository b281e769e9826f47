//! `strongroom identity ...` and `strongroom issuer ...`: identities, their credentials and
//! the trusted external issuers, through the management API.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};
use strongroom_client::{Client, Credentials};

use crate::cli::{CredentialAction, IdentityAction, IssuerAction};

const YEAR: i64 = 365 * 24 * 3600;

/// A password from the first line of standard input.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

pub async fn identity(client: &Client, action: IdentityAction) -> anyhow::Result<Value> {
    Ok(match action {
        IdentityAction::Create {
            name,
            admin,
            role,
            at,
            scope,
            user,
        } => {
            let password = if user {
                Some(password_from_stdin()?)
            } else {
                None
            };
            let body = json!({ "admin": admin, "password": password });
            let mut created = client
                .admin(Method::POST, &format!("/identities/{name}"), Some(&body))
                .await?;
            if let Some(role) = role {
                let oid = created
                    .get("object_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let assigned =
                    match crate::roles::assign(client, &at, &role, &oid, &scope, None).await {
                        Ok(assigned) => assigned,
                        Err(e) => {
                            // No identity without the role it was created for.
                            let path = format!("/identities/{name}");
                            let _ = client.admin(Method::DELETE, &path, None).await;
                            return Err(e);
                        }
                    };
                if let Some(map) = created.as_object_mut() {
                    map.insert("role_assignment".into(), assigned);
                }
            }
            created
        }
        IdentityAction::List => client.admin(Method::GET, "/identities", None).await?,
        IdentityAction::Show { name } => {
            client
                .admin(Method::GET, &format!("/identities/{name}"), None)
                .await?
        }
        IdentityAction::Delete { name } => {
            client
                .admin(Method::DELETE, &format!("/identities/{name}"), None)
                .await?
        }
        IdentityAction::Credential { action } => credential(client, action).await?,
    })
}

async fn credential(client: &Client, action: CredentialAction) -> anyhow::Result<Value> {
    Ok(match action {
        CredentialAction::Add {
            name,
            secret,
            years,
            cert,
            issuer,
            subject,
            audience,
            password_stdin,
        } => {
            let body = if secret {
                let expires = years.map(|y| now() + i64::from(y) * YEAR);
                json!({"secret": true, "expires": expires})
            } else if let Some(path) = cert {
                let pem = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                json!({ "certificate": pem })
            } else if let (Some(issuer), Some(subject)) = (issuer, subject) {
                json!({"issuer": issuer, "subject": subject, "audiences": audience})
            } else if password_stdin {
                json!({ "password": password_from_stdin()? })
            } else {
                bail!(
                    "give --secret, --cert FILE, --issuer URL --subject SUB, or --password-stdin"
                );
            };
            client
                .admin(
                    Method::POST,
                    &format!("/identities/{name}/credentials"),
                    Some(&body),
                )
                .await?
        }
        CredentialAction::Remove { name, id } => {
            client
                .admin(
                    Method::DELETE,
                    &format!("/identities/{name}/credentials/{id}"),
                    None,
                )
                .await?
        }
    })
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub async fn issuer(client: &Client, action: IssuerAction) -> anyhow::Result<Value> {
    Ok(match action {
        IssuerAction::Add {
            issuer,
            jwks_file,
            discovery,
            principal_claim,
            audience,
        } => {
            let jwks = match (jwks_file, discovery) {
                (Some(path), false) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let jwks: Value = serde_json::from_str(&text)
                        .with_context(|| format!("{} is not JSON", path.display()))?;
                    Some(jwks)
                }
                (None, true) => None,
                _ => bail!("give --jwks-file FILE or --discovery"),
            };
            let body = json!({
                "issuer": issuer,
                "jwks": jwks,
                "principalClaim": principal_claim,
                "audiences": audience,
            });
            client.admin(Method::PUT, "/issuers", Some(&body)).await?
        }
        IssuerAction::List => client.admin(Method::GET, "/issuers", None).await?,
        IssuerAction::Remove { issuer } => {
            let query: String = url::form_urlencoded::byte_serialize(issuer.as_bytes()).collect();
            client
                .admin(Method::DELETE, &format!("/issuers?issuer={query}"), None)
                .await?
        }
    })
}

/// Where a profile's signed-in session is kept: `$XDG_CONFIG_HOME/strongroom/profiles/` (or
/// `~/.config/strongroom/profiles/`).
pub fn profile_path(profile: &str) -> anyhow::Result<PathBuf> {
    if profile.is_empty()
        || !profile
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("a profile name is letters, digits, '-' and '_'");
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .context("neither XDG_CONFIG_HOME nor HOME is set")?;
    Ok(base
        .join("strongroom")
        .join("profiles")
        .join(format!("{profile}.json")))
}

/// `strongroom login`: the password grant for each of the server's resources; the tokens go
/// to the profile (mode 0600), never the password.
pub async fn login(
    server: &str,
    username: &str,
    ca_file: Option<&Path>,
    profile: &str,
) -> anyhow::Result<Value> {
    let path = profile_path(profile)?;
    let server = server.trim_end_matches('/').to_owned();
    let ca_file = ca_file.map(|p| p.display().to_string());
    let probe = Credentials {
        server_url: server.clone(),
        ca_file: ca_file.clone(),
        tenant_id: String::new(),
        client_id: String::new(),
        client_secret: String::new(),
        dns_suffix: String::new(),
        username: None,
        tokens: Default::default(),
    };
    let client = Client::new(probe.clone()).await?;
    let info: Value = client
        .http()
        .get(format!("{server}/strongroom/v1/info"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let field = |name: &str| {
        info.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("the server's info has no {name}"))
    };
    let creds = Credentials {
        tenant_id: field("tenant_id")?,
        dns_suffix: field("dns_suffix")?,
        ..probe
    };
    let password = password_from_stdin()?;
    let signed_in = Client::new(creds)
        .await?
        .sign_in(username, &password)
        .await?;
    let expires_on = signed_in.tokens.values().map(|t| t.expires_on).min();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_vec_pretty(&signed_in)?;
    write_private(&path, &text)?;
    Ok(json!({
        "profile": profile,
        "path": path.display().to_string(),
        "username": username,
        "expires_on": expires_on,
    }))
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("writing {}", path.display()))
}
