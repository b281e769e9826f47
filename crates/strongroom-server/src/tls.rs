//! TLS material. By default a local CA (kept in `{data_dir}/tls`) issues, at every start, a
//! server certificate for the bare names and every Strongroom host pattern; a deployment can
//! instead configure its own certificate and key (shared by all nodes).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::bootstrap::write_private;

/// Where the served certificate came from.
pub struct TlsFiles {
    /// CA certificate clients should trust (self-signed mode only).
    pub ca: Option<PathBuf>,
    /// Served certificate chain.
    pub cert: PathBuf,
    /// Its key.
    pub key: PathBuf,
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Strongroom Local CA");
    dn.push(DnType::OrganizationName, "Strongroom");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = date_time_ymd(2025, 1, 1);
    params.not_after = date_time_ymd(2045, 1, 1);
    params
}

/// The names the default certificate covers.
pub fn server_names(suffix: &str) -> Vec<String> {
    vec![
        "localhost".into(),
        "127.0.0.1".into(),
        "::1".into(),
        format!("*.vault.{suffix}"),
        format!("*.managedhsm.{suffix}"),
        format!("*.attest.{suffix}"),
        format!("login.{suffix}"),
    ]
}

/// Creates the local CA if missing and issues a fresh server certificate from it, for the
/// Strongroom names under `suffix` and `extra_names` (host names or IP addresses).
pub fn self_signed(dir: &Path, suffix: &str, extra_names: &[String]) -> Result<TlsFiles, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (ca_cert, ca_key, cert, key) = (
        dir.join("ca.pem"),
        dir.join("ca-key.pem"),
        dir.join("server.pem"),
        dir.join("server-key.pem"),
    );
    let ca_key_pair = if ca_key.exists() && ca_cert.exists() {
        let pem = std::fs::read_to_string(&ca_key)
            .map_err(|e| format!("cannot read {}: {e}", ca_key.display()))?;
        KeyPair::from_pem(&pem).map_err(|e| format!("bad CA key: {e}"))?
    } else {
        let pair = KeyPair::generate().map_err(|e| e.to_string())?;
        let ca = ca_params().self_signed(&pair).map_err(|e| e.to_string())?;
        write_private(&ca_key, pair.serialize_pem().as_bytes())?;
        std::fs::write(&ca_cert, ca.pem())
            .map_err(|e| format!("cannot write {}: {e}", ca_cert.display()))?;
        pair
    };
    let issuer = Issuer::new(ca_params(), ca_key_pair);
    let mut names = server_names(suffix);
    names.extend(extra_names.iter().cloned());
    let mut params = CertificateParams::new(names).map_err(|e| e.to_string())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "Strongroom");
    params.not_before = date_time_ymd(2025, 1, 1);
    params.not_after = date_time_ymd(2045, 1, 1);
    let server_key = KeyPair::generate().map_err(|e| e.to_string())?;
    let server = params
        .signed_by(&server_key, &issuer)
        .map_err(|e| e.to_string())?;
    write_private(&key, server_key.serialize_pem().as_bytes())?;
    std::fs::write(&cert, server.pem())
        .map_err(|e| format!("cannot write {}: {e}", cert.display()))?;
    Ok(TlsFiles {
        ca: Some(ca_cert),
        cert,
        key,
    })
}

/// A rustls server configuration (HTTP/2 and HTTP/1.1) from PEM files.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("cannot read {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad certificate in {}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read key {}: {e}", key.display()))?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| format!("certificate and key do not match: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
