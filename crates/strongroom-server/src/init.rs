//! `strongroom init`: the files a deployment of several nodes shares, written before any node
//! starts. A root key (32 random bytes, base64, 0600), a CA (its key 0600, to keep off the
//! nodes) and a server certificate from it for every Strongroom host name under the DNS suffix
//! plus any further names the load balancer is reached by. Nothing already there is replaced,
//! except the server certificate, which is issued afresh (so a second run can add names).

use std::path::{Path, PathBuf};

use strongroom_core::ports::CryptoProvider;
use strongroom_crypto::SoftwareCrypto;

use crate::{bootstrap, tls};

/// What `init` wrote, for the operator.
#[derive(Debug, Clone)]
pub struct SharedFiles {
    /// The root key every node reads (`root_key_file`).
    pub root_key: PathBuf,
    /// Whether the root key was made now (false: it was already there and is kept).
    pub new_root_key: bool,
    /// The CA certificate clients trust.
    pub ca: PathBuf,
    /// The CA's private key: it issues certificates, no node needs it.
    pub ca_key: PathBuf,
    /// The certificate every node serves (`tls_cert_file`).
    pub cert: PathBuf,
    /// Its key (`tls_key_file`).
    pub key: PathBuf,
    /// The names the certificate covers.
    pub names: Vec<String>,
}

/// Writes (or completes) the shared files of a deployment in `dir`.
pub fn shared_files(
    dir: &Path,
    suffix: &str,
    extra_names: &[String],
) -> Result<SharedFiles, String> {
    if suffix.is_empty() || suffix.starts_with('.') || suffix.contains(['/', ':', ' ']) {
        return Err(format!(
            "'{suffix}' is not a DNS suffix such as kms.example"
        ));
    }
    bootstrap::data_dir(dir)?;
    // Absolute paths, so what is printed can go into any node's configuration as it is.
    let dir = &std::fs::canonicalize(dir)
        .map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
    let root_key = dir.join("root.key");
    let new_root_key = !root_key.exists();
    bootstrap::root_key(&root_key, |b| {
        SoftwareCrypto.fill_random(b).map_err(|e| e.to_string())
    })?;
    let files = tls::self_signed(&dir.join("tls"), suffix, extra_names)?;
    let mut names = tls::server_names(suffix);
    names.extend(extra_names.iter().cloned());
    Ok(SharedFiles {
        root_key,
        new_root_key,
        ca: files.ca.unwrap_or_default(),
        ca_key: dir.join("tls").join("ca-key.pem"),
        cert: files.cert,
        key: files.key,
        names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_files_are_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("shared");
        let first = shared_files(&at, "kms.example", &["lb.kms.example".into()]).unwrap();
        assert!(first.new_root_key);
        let root = std::fs::read(&first.root_key).unwrap();
        let ca = std::fs::read(&first.ca).unwrap();
        assert!(first.names.contains(&"*.vault.kms.example".to_owned()));
        assert!(first.names.contains(&"lb.kms.example".to_owned()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for private in [&first.root_key, &first.ca_key, &first.key] {
                let mode = std::fs::metadata(private).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "{}", private.display());
            }
        }
        // The served certificate loads with its key.
        tls::server_config(&first.cert, &first.key).unwrap();

        let second = shared_files(&at, "kms.example", &[]).unwrap();
        assert!(!second.new_root_key);
        assert_eq!(std::fs::read(&second.root_key).unwrap(), root);
        assert_eq!(std::fs::read(&second.ca).unwrap(), ca);
        assert!(shared_files(&at, ".kms.example", &[]).is_err());
    }
}
