//! `strongroom serve`: configuration layering, logging, startup banner, signals.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use strongroom_server::{Application, Config};

/// Flags of `serve`, applied over the file and the environment.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "STRONGROOM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (database, TLS material, root key, admin credentials).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Listen address, e.g. 127.0.0.1:8443 (port 0 picks a free port).
    #[arg(long)]
    pub listen: Option<String>,
    /// Database URL (default: SQLite in the data directory).
    #[arg(long)]
    pub database_url: Option<String>,
}

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Directory to write into (created owner-only).
    #[arg(long, default_value = "strongroom-shared")]
    pub dir: PathBuf,
    /// DNS suffix of the deployment's vault, pool and login host names.
    #[arg(long, default_value = "strongroom.localhost")]
    pub dns_suffix: String,
    /// Further host names or IP addresses the certificate covers (a load balancer's), repeatable.
    #[arg(long = "name")]
    pub names: Vec<String>,
}

/// The configuration in effect: defaults, file, environment, flags.
pub fn config(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut config = Config::load(args.config.as_deref())?;
    config.apply_env(std::env::vars())?;
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(listen) = &args.listen {
        config.set("listen", listen)?;
    }
    if let Some(url) = &args.database_url {
        config.database_url = Some(url.clone());
    }
    Ok(config)
}

/// `strongroom init`: writes the shared files and says where each goes.
pub fn init(args: &InitArgs) -> anyhow::Result<()> {
    let files = strongroom_server::init::shared_files(&args.dir, &args.dns_suffix, &args.names)
        .map_err(anyhow::Error::msg)?;
    let root = if files.new_root_key { "new" } else { "kept" };
    println!("Shared files of the deployment in {}:", args.dir.display());
    println!("  root key ({root}):        {}", files.root_key.display());
    println!("  server certificate:    {}", files.cert.display());
    println!("  server key:            {}", files.key.display());
    println!("  CA certificate:        {}", files.ca.display());
    println!("  CA key:                {}", files.ca_key.display());
    println!("The certificate covers: {}", files.names.join(", "));
    println!();
    println!("Copy the root key, the server certificate and its key (mode 0600) and the CA");
    println!("certificate to every node, the same bytes everywhere, and name them in each node's");
    println!("configuration:");
    println!("  root_key_file = \"{}\"", files.root_key.display());
    println!("  tls_cert_file = \"{}\"", files.cert.display());
    println!("  tls_key_file  = \"{}\"", files.key.display());
    println!("  tls_ca_file   = \"{}\"", files.ca.display());
    println!("  dns_suffix    = \"{}\"", args.dns_suffix);
    println!("Clients trust the CA certificate. Keep the CA key off the nodes: it only issues");
    println!("certificates (run init again with more --name values to reissue the server one).");
    Ok(())
}

/// Runs the server with `config` (see [`config`]) until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let filter =
        tracing_subscriber::EnvFilter::try_new(&config.log).context("invalid log filter")?;
    // Colour only on a terminal: a log written to a file, a pipe or the journal stays plain.
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(colour)
        .try_init();
    let app = Application::build(config.clone()).await?;
    let info = app.info().clone();
    // Every URL but the listening address is what clients use: behind a load balancer,
    // `public_port` is the balancer's port.
    let port = config.public_port.unwrap_or(app.local_addr().port());
    let suffix = &config.dns_suffix;
    println!("Strongroom is listening on https://{}", app.local_addr());
    if let Some(ca) = &info.ca_file {
        println!("  CA certificate to trust: {}", ca.display());
    }
    println!("  default vault:           {}", info.default_vault_url);
    println!("  vaults:                  https://<name>.vault.{suffix}:{port}");
    println!("  managed HSM pools:       https://<name>.managedhsm.{suffix}:{port}");
    println!("  token service:           https://login.{suffix}:{port}");
    if info.admin_credentials.exists() {
        println!(
            "  admin credentials:       {}",
            info.admin_credentials.display()
        );
    } else {
        println!("  admin credentials:       with the node that first started this deployment");
    }
    println!("  data directory:          {}", config.data_dir.display());
    app.run_until(shutdown_signal())
        .await
        .context("server failed")?;
    println!("Strongroom stopped.");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
