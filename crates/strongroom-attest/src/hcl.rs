//! The Azure confidential VM's HCL report (the paravisor's "HCLA" report, read from the vTPM):
//! a 32-byte header, the hardware report (an SEV-SNP report here) at offset 0x20, then the
//! runtime data: a 20-byte header (size, version, report type, hash type, claims size) and the
//! runtime claims JSON (the vTPM's attestation and endorsement keys, the VM configuration, the
//! user data), whose hash the hardware report's `report_data` carries.

use aws_lc_rs::digest;

use crate::snp::{self, SnpError};

/// Where the hardware report starts.
const HARDWARE_AT: usize = 0x20;
/// Where the runtime data starts (after an SNP report).
const RUNTIME_AT: usize = HARDWARE_AT + snp::REPORT_LEN;
/// The runtime data's header length.
const RUNTIME_HEADER: usize = 20;
/// Report type of an SEV-SNP hardware report.
const TYPE_SNP: u32 = 2;
/// Report type of a TDX hardware report.
const TYPE_TDX: u32 = 4;

/// Why an HCL report was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HclError {
    /// It cannot be read.
    #[error("malformed HCL report: {0}")]
    Malformed(String),
    /// Its hardware report was refused.
    #[error(transparent)]
    Snp(#[from] SnpError),
    /// The hardware report does not vouch for these runtime claims.
    #[error("the SNP report's report data is not the {0} of the HCL runtime claims")]
    Binding(&'static str),
}

/// A parsed HCL report.
#[derive(Debug, Clone)]
pub struct HclReport<'a> {
    /// The hardware report's bytes.
    pub hardware: &'a [u8],
    /// The runtime claims JSON, as hashed.
    pub claims: &'a [u8],
    /// The hash over the claims: 1 SHA-256, 2 SHA-384, 3 SHA-512.
    pub hash_type: u32,
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, HclError> {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| HclError::Malformed("it ends before its runtime data header".into()))
}

impl<'a> HclReport<'a> {
    /// Parses an HCL report holding an SEV-SNP report.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, HclError> {
        if bytes.get(..4) != Some(b"HCLA".as_slice()) {
            return Err(HclError::Malformed(
                "it does not begin with \"HCLA\"".into(),
            ));
        }
        let report_type = u32_at(bytes, RUNTIME_AT + 8)?;
        match report_type {
            TYPE_SNP => {}
            TYPE_TDX => {
                return Err(HclError::Malformed(
                    "it holds a TDX report, which this verifier does not read".into(),
                ));
            }
            other => {
                return Err(HclError::Malformed(format!("unknown report type {other}")));
            }
        }
        let hash_type = u32_at(bytes, RUNTIME_AT + 12)?;
        let claims_len = u32_at(bytes, RUNTIME_AT + 16)? as usize;
        let start = RUNTIME_AT + RUNTIME_HEADER;
        let claims = bytes.get(start..start + claims_len).ok_or_else(|| {
            HclError::Malformed(format!(
                "its runtime claims ({claims_len} bytes) run past its end"
            ))
        })?;
        Ok(Self {
            hardware: bytes.get(HARDWARE_AT..RUNTIME_AT).unwrap_or_default(),
            claims,
            hash_type,
        })
    }

    /// The runtime claims, parsed.
    pub fn claims_json(&self) -> Result<serde_json::Value, HclError> {
        serde_json::from_slice(self.claims)
            .map_err(|e| HclError::Malformed(format!("the runtime claims are not JSON: {e}")))
    }
}

/// What a verified HCL report proves: its SNP report, and the runtime claims it vouches for.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The SNP report and its chain.
    pub snp: snp::Verified,
    /// The runtime claims.
    pub claims: serde_json::Value,
}

impl Verified {
    /// The JWK of the runtime claims' key `kid` (`HCLAkPub`, `HCLEkPub`).
    pub fn key(&self, kid: &str) -> Option<&serde_json::Value> {
        self.claims
            .get("keys")?
            .as_array()?
            .iter()
            .find(|k| k.get("kid").and_then(|v| v.as_str()) == Some(kid))
    }
}

/// Verifies an HCL report: its SNP report with `vcek` at `at` (see `snp::verify`), and that the
/// report's `report_data` begins with the hash, of the type the runtime data names, of the
/// runtime claims.
pub fn verify(bytes: &[u8], vcek: &[u8], at: u64) -> Result<Verified, HclError> {
    let hcl = HclReport::parse(bytes)?;
    let verified = snp::verify(hcl.hardware, vcek, at)?;
    let (algorithm, name) = match hcl.hash_type {
        1 => (&digest::SHA256, "SHA-256"),
        2 => (&digest::SHA384, "SHA-384"),
        3 => (&digest::SHA512, "SHA-512"),
        other => {
            return Err(HclError::Malformed(format!("unknown hash type {other}")));
        }
    };
    let hash = digest::digest(algorithm, hcl.claims);
    if verified.report.report_data.get(..hash.as_ref().len()) != Some(hash.as_ref()) {
        return Err(HclError::Binding(name));
    }
    Ok(Verified {
        claims: hcl.claims_json()?,
        snp: verified,
    })
}
