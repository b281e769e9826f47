//! First-start preparation of the data directory: the directory itself (0700), the root key
//! file (0600), and the administrator's credentials file (0600).

use std::io::Write;
use std::path::Path;

use strongroom_core::b64;
use zeroize::Zeroizing;

/// Writes a file readable only by its owner, replacing it atomically.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Creates the data directory, owner-only.
pub fn data_dir(path: &Path) -> Result<(), String> {
    std::fs::create_dir_all(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot secure {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Reads the root key file, creating it with fresh random bytes when it does not exist.
pub fn root_key(
    path: &Path,
    fill_random: impl Fn(&mut [u8]) -> Result<(), String>,
) -> Result<Zeroizing<[u8; 32]>, String> {
    let mut key = Zeroizing::new([0u8; 32]);
    if path.exists() {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read root key {}: {e}", path.display()))?,
        );
        let bytes = Zeroizing::new(
            b64::decode(text.trim())
                .map_err(|_| format!("root key {} is not base64", path.display()))?,
        );
        if bytes.len() != 32 {
            return Err(format!("root key {} must hold 32 bytes", path.display()));
        }
        key.copy_from_slice(&bytes);
    } else {
        fill_random(key.as_mut())?;
        let text = Zeroizing::new(format!("{}\n", b64::encode(key.as_ref())));
        write_private(path, text.as_bytes())?;
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_key_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        let first = root_key(&path, |b| {
            b.fill(7);
            Ok(())
        })
        .unwrap();
        let again = root_key(&path, |_| Err("must not regenerate".into())).unwrap();
        assert_eq!(*first, *again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        std::fs::write(&path, "c2hvcnQ=").unwrap();
        assert!(root_key(&path, |_| Ok(())).is_err());
    }
}
