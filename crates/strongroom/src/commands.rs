//! Running commands: each builds one request to the server and prints the answer.

use std::path::PathBuf;

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Map, Value, json};
use strongroom_client::{Client, Container};

use crate::cli::{
    CipherArgs, Cli, Command, ContainerAction, KeyAction, KeyProps, KeyRef, PolicyAction, Target,
    VaultAction,
};
use crate::output::print;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Login {
        server,
        username,
        ca_file,
    } = &cli.command
    {
        let profile = cli.profile.as_deref().unwrap_or("default");
        let signed_in =
            crate::identities::login(server, username, ca_file.as_deref(), profile).await?;
        print(&signed_in, cli.output);
        return Ok(());
    }
    let path = match (&cli.credentials, &cli.profile) {
        (Some(path), _) => path.clone(),
        (None, Some(profile)) => crate::identities::profile_path(profile)?,
        (None, None) => PathBuf::from("strongroom-data/admin-credentials.json"),
    };
    let client = Client::from_file(&path)
        .await
        .with_context(|| format!("using credentials {}", path.display()))?;
    if let Command::Bench(args) = cli.command {
        return crate::bench::run(client, args).await;
    }
    let result = match cli.command {
        Command::Serve(_)
        | Command::Init(_)
        | Command::Bench(_)
        | Command::BenchFloor(_)
        | Command::Login { .. } => unreachable_serve()?,
        Command::Vault { action } => vault(&client, action).await?,
        Command::Hsm { action } => container(&client, "managedhsms", action).await?,
        Command::Identity { action } => crate::identities::identity(&client, action).await?,
        Command::Key { action } => key(&client, action).await?,
        Command::Role { action } => crate::roles::run(&client, action).await?,
        Command::Audit { action } => crate::audit::run(&client, action).await?,
        Command::Issuer { action } => crate::identities::issuer(&client, action).await?,
        Command::Rng { at, count } => {
            client
                .data(
                    &target(&at),
                    Method::POST,
                    "/rng",
                    Some(&json!({ "count": count })),
                )
                .await?
        }
    };
    if !result.is_null() {
        print(&result, cli.output);
    }
    Ok(())
}

fn unreachable_serve() -> anyhow::Result<Value> {
    bail!("serve and init are run by main and bench before this point")
}

async fn vault(client: &Client, action: VaultAction) -> anyhow::Result<Value> {
    let policy = |name: &str, oid: &str| format!("/vaults/{name}/accessPolicies/{oid}");
    Ok(match action {
        VaultAction::Common(action) => container(client, "vaults", action).await?,
        VaultAction::SetPolicy {
            name,
            object_id,
            key_permissions,
        } => {
            let body = json!({"permissions": {"keys": key_permissions}});
            client
                .admin(Method::PUT, &policy(&name, &object_id), Some(&body))
                .await?
        }
        VaultAction::DeletePolicy { name, object_id } => {
            client
                .admin(Method::DELETE, &policy(&name, &object_id), None)
                .await?
        }
        VaultAction::ListPolicies { name } => {
            let path = format!("/vaults/{name}/accessPolicies");
            client.admin(Method::GET, &path, None).await?
        }
    })
}

async fn container(client: &Client, kind: &str, action: ContainerAction) -> anyhow::Result<Value> {
    Ok(match action {
        ContainerAction::Create {
            name,
            sku,
            retention_days,
            purge_protection,
            enable_rbac_authorization,
        } => {
            let sku = (kind == "vaults").then_some(sku);
            let body = json!({
                "retention_days": retention_days,
                "purge_protection": purge_protection,
                "sku": sku,
                "enable_rbac_authorization": enable_rbac_authorization,
            });
            client
                .admin(Method::PUT, &format!("/{kind}/{name}"), Some(&body))
                .await?
        }
        ContainerAction::List => client.admin(Method::GET, &format!("/{kind}"), None).await?,
        ContainerAction::Show { name } => {
            client
                .admin(Method::GET, &format!("/{kind}/{name}"), None)
                .await?
        }
        ContainerAction::Delete { name } => {
            client
                .admin(Method::DELETE, &format!("/{kind}/{name}"), None)
                .await?
        }
    })
}

fn target(at: &Target) -> Container {
    match (&at.vault_name, &at.hsm_name) {
        (_, Some(h)) => Container::Hsm(h.clone()),
        (Some(v), None) => Container::Vault(v.clone()),
        (None, None) => Container::Default,
    }
}

fn props(
    body: &mut Map<String, Value>,
    props: &KeyProps,
    enabled: Option<bool>,
) -> anyhow::Result<()> {
    if let Some(ops) = &props.ops {
        body.insert("key_ops".into(), json!(ops));
    }
    if let Some(tags) = &props.tags {
        let mut map = Map::new();
        for tag in tags {
            let (k, v) = tag
                .split_once('=')
                .with_context(|| format!("tag '{tag}' is not name=value"))?;
            map.insert(k.to_owned(), json!(v));
        }
        body.insert("tags".into(), Value::Object(map));
    }
    let mut attributes = Map::new();
    if let Some(exp) = props.expires {
        attributes.insert("exp".into(), json!(exp));
    }
    if let Some(nbf) = props.not_before {
        attributes.insert("nbf".into(), json!(nbf));
    }
    if let Some(enabled) = enabled {
        attributes.insert("enabled".into(), json!(enabled));
    }
    body.insert("attributes".into(), Value::Object(attributes));
    Ok(())
}

fn hsm_kty(kty: &str, protection: &str) -> anyhow::Result<String> {
    match protection {
        "software" => Ok(kty.to_owned()),
        "hsm" if kty.ends_with("-HSM") => Ok(kty.to_owned()),
        "hsm" => Ok(format!("{kty}-HSM")),
        other => bail!("--protection must be software or hsm, not {other}"),
    }
}

fn read_json(value: &str) -> anyhow::Result<Value> {
    let text = if std::path::Path::new(value).is_file() {
        std::fs::read_to_string(value)?
    } else {
        value.to_owned()
    };
    serde_json::from_str(&text).context("not valid JSON")
}

fn key_path(key: &KeyRef, op: &str) -> String {
    format!("/keys/{}/{}/{op}", key.name, key.version)
}

async fn cipher(client: &Client, args: CipherArgs, op: &str) -> anyhow::Result<Value> {
    let body = json!({ "alg": args.algorithm, "value": args.value, "iv": args.iv, "aad": args.aad, "tag": args.tag });
    Ok(client
        .data(
            &target(&args.key.at),
            Method::POST,
            &key_path(&args.key, op),
            Some(&body),
        )
        .await?)
}

async fn key(client: &Client, action: KeyAction) -> anyhow::Result<Value> {
    Ok(match action {
        KeyAction::Create {
            at,
            name,
            kty,
            size,
            curve,
            protection,
            disabled,
            props: p,
        } => {
            let mut body = Map::new();
            body.insert("kty".into(), json!(hsm_kty(&kty, &protection)?));
            if let Some(size) = size {
                body.insert("key_size".into(), json!(size));
            }
            if let Some(curve) = curve {
                body.insert("crv".into(), json!(curve));
            }
            props(&mut body, &p, disabled.then_some(false))?;
            client
                .data(
                    &target(&at),
                    Method::POST,
                    &format!("/keys/{name}/create"),
                    Some(&Value::Object(body)),
                )
                .await?
        }
        KeyAction::Import {
            at,
            name,
            jwk_file,
            protection,
        } => {
            let jwk = read_json(&jwk_file.display().to_string())?;
            let body = json!({ "key": jwk, "Hsm": protection == "hsm" });
            client
                .data(
                    &target(&at),
                    Method::PUT,
                    &format!("/keys/{name}"),
                    Some(&body),
                )
                .await?
        }
        KeyAction::Show(key) => {
            client
                .data(
                    &target(&key.at),
                    Method::GET,
                    &format!("/keys/{}/{}", key.name, key.version),
                    None,
                )
                .await?
        }
        KeyAction::List { at } => list_all(client, &target(&at), "/keys").await?,
        KeyAction::ListVersions { at, name } => {
            list_all(client, &target(&at), &format!("/keys/{name}/versions")).await?
        }
        KeyAction::ListDeleted { at } => list_all(client, &target(&at), "/deletedkeys").await?,
        KeyAction::SetAttributes {
            key,
            enabled,
            props: p,
        } => {
            let mut body = Map::new();
            props(&mut body, &p, enabled)?;
            client
                .data(
                    &target(&key.at),
                    Method::PATCH,
                    &format!("/keys/{}/{}", key.name, key.version),
                    Some(&Value::Object(body)),
                )
                .await?
        }
        KeyAction::Delete { at, name } => {
            client
                .data(&target(&at), Method::DELETE, &format!("/keys/{name}"), None)
                .await?
        }
        KeyAction::Recover { at, name } => {
            client
                .data(
                    &target(&at),
                    Method::POST,
                    &format!("/deletedkeys/{name}/recover"),
                    None,
                )
                .await?
        }
        KeyAction::Purge { at, name } => {
            client
                .data(
                    &target(&at),
                    Method::DELETE,
                    &format!("/deletedkeys/{name}"),
                    None,
                )
                .await?
        }
        KeyAction::Backup { at, name, file } => {
            let blob = client
                .data(
                    &target(&at),
                    Method::POST,
                    &format!("/keys/{name}/backup"),
                    None,
                )
                .await?;
            let value = blob
                .get("value")
                .and_then(Value::as_str)
                .context("the server returned no backup")?;
            std::fs::write(&file, value)
                .with_context(|| format!("cannot write {}", file.display()))?;
            json!({ "file": file.display().to_string(), "bytes": value.len() })
        }
        KeyAction::Restore { at, file } => {
            let value = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            client
                .data(
                    &target(&at),
                    Method::POST,
                    "/keys/restore",
                    Some(&json!({ "value": value.trim() })),
                )
                .await?
        }
        KeyAction::Rotate { at, name } => {
            client
                .data(
                    &target(&at),
                    Method::POST,
                    &format!("/keys/{name}/rotate"),
                    None,
                )
                .await?
        }
        KeyAction::Encrypt(args) => cipher(client, args, "encrypt").await?,
        KeyAction::Decrypt(args) => cipher(client, args, "decrypt").await?,
        KeyAction::Wrap(args) => cipher(client, args, "wrapkey").await?,
        KeyAction::Unwrap(args) => cipher(client, args, "unwrapkey").await?,
        KeyAction::Sign {
            key,
            algorithm,
            digest,
        } => {
            client
                .data(
                    &target(&key.at),
                    Method::POST,
                    &key_path(&key, "sign"),
                    Some(&json!({ "alg": algorithm, "value": digest })),
                )
                .await?
        }
        KeyAction::Verify {
            key,
            algorithm,
            digest,
            signature,
        } => {
            let body = json!({ "alg": algorithm, "digest": digest, "value": signature });
            client
                .data(
                    &target(&key.at),
                    Method::POST,
                    &key_path(&key, "verify"),
                    Some(&body),
                )
                .await?
        }
        KeyAction::RotationPolicy { action } => match action {
            PolicyAction::Show { at, name } => {
                client
                    .data(
                        &target(&at),
                        Method::GET,
                        &format!("/keys/{name}/rotationpolicy"),
                        None,
                    )
                    .await?
            }
            PolicyAction::Update { at, name, value } => {
                client
                    .data(
                        &target(&at),
                        Method::PUT,
                        &format!("/keys/{name}/rotationpolicy"),
                        Some(&read_json(&value)?),
                    )
                    .await?
            }
        },
    })
}

/// Follows `nextLink` to the end and returns `{"value": [...all items]}`.
async fn list_all(client: &Client, at: &Container, path: &str) -> anyhow::Result<Value> {
    let (_, resource) = client.base(at);
    let mut page = client.data(at, Method::GET, path, None).await?;
    let mut items = Vec::new();
    loop {
        if let Some(values) = page.get_mut("value").and_then(Value::as_array_mut) {
            items.append(values);
        }
        match page
            .get("nextLink")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            Some(next) => {
                let next = next.to_owned();
                page = client.call(&resource, Method::GET, &next, None).await?;
            }
            None => break,
        }
    }
    Ok(json!({ "value": items }))
}
