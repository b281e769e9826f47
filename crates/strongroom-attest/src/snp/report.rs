//! The SEV-SNP attestation report (AMD SEV Secure Nested Paging Firmware ABI, table
//! "ATTESTATION_REPORT structure"): 1184 bytes, little-endian, the first 0x2A0 of them signed.

use super::SnpError;

/// Length of a report.
pub const REPORT_LEN: usize = 0x4A0;
/// Length of the signed part.
pub const SIGNED_LEN: usize = 0x2A0;
/// The report versions accepted: 2 (the first published layout) to 5.
pub const VERSIONS: std::ops::RangeInclusive<u32> = 2..=5;

/// A TCB version as the report carries it (8 bytes); its layout depends on the generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcbVersion(pub [u8; 8]);

/// The security patch levels of a TCB version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tcb {
    /// Boot loader.
    pub bootloader: u8,
    /// PSP operating system (TEE).
    pub tee: u8,
    /// SNP firmware.
    pub snp: u8,
    /// Microcode.
    pub microcode: u8,
    /// Firmware mask ROM chip loader (Turin and later; none before).
    pub fmc: Option<u8>,
}

impl TcbVersion {
    /// Its levels: Milan and Genoa put the boot loader, TEE, SNP and microcode levels in
    /// bytes 0, 1, 6 and 7; Turin puts FMC, boot loader, TEE, SNP and microcode in bytes 0, 1,
    /// 2, 3 and 7.
    pub fn levels(&self, turin_layout: bool) -> Tcb {
        let b = |i: usize| self.0.get(i).copied().unwrap_or(0);
        if turin_layout {
            Tcb {
                fmc: Some(b(0)),
                bootloader: b(1),
                tee: b(2),
                snp: b(3),
                microcode: b(7),
            }
        } else {
            Tcb {
                bootloader: b(0),
                tee: b(1),
                snp: b(6),
                microcode: b(7),
                fmc: None,
            }
        }
    }
}

/// Which key signed a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningKey {
    /// The chip's Versioned Chip Endorsement Key.
    Vcek,
    /// A cloud provider's Versioned Loaded Endorsement Key.
    Vlek,
}

/// A parsed report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Report format version.
    pub version: u32,
    /// The guest's security version number.
    pub guest_svn: u32,
    /// The guest policy.
    pub policy: u64,
    /// Family id given at launch.
    pub family_id: [u8; 16],
    /// Image id given at launch.
    pub image_id: [u8; 16],
    /// The VMPL the report was requested at.
    pub vmpl: u32,
    /// Signature algorithm (1: ECDSA P-384 with SHA-384).
    pub signature_algo: u32,
    /// The platform's current TCB.
    pub current_tcb: TcbVersion,
    /// Platform information bits.
    pub platform_info: u64,
    /// Key information bits (author key, masked chip key, signing key).
    pub key_info: u32,
    /// The guest's report data.
    pub report_data: [u8; 64],
    /// The launch measurement.
    pub measurement: [u8; 48],
    /// Host data given at launch.
    pub host_data: [u8; 32],
    /// SHA-384 of the ID key that signed the ID block.
    pub id_key_digest: [u8; 48],
    /// SHA-384 of the author key that certified the ID key.
    pub author_key_digest: [u8; 48],
    /// The guest's report id.
    pub report_id: [u8; 32],
    /// The migration agent's report id.
    pub report_id_ma: [u8; 32],
    /// The TCB the signing key was derived from.
    pub reported_tcb: TcbVersion,
    /// CPUID family, model and stepping (version 3 and later; zero before).
    pub cpuid: [u8; 3],
    /// The chip's id (zero when masked, or with a VLEK).
    pub chip_id: [u8; 64],
    /// The committed TCB.
    pub committed_tcb: TcbVersion,
    /// The TCB at launch.
    pub launch_tcb: TcbVersion,
    /// ECDSA signature `r`, big-endian.
    pub signature_r: [u8; 48],
    /// ECDSA signature `s`, big-endian.
    pub signature_s: [u8; 48],
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = bytes.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(field(bytes, at))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(field(bytes, at))
}

/// A P-384 scalar stored as 72 little-endian bytes, big-endian in 48; None when a
/// significant byte lies beyond the 48.
fn scalar(bytes: &[u8], at: usize) -> Option<[u8; 48]> {
    let raw: [u8; 72] = field(bytes, at);
    if raw
        .get(48..)
        .is_some_and(|high| high.iter().any(|b| *b != 0))
    {
        return None;
    }
    let mut out: [u8; 48] = field(&raw, 0);
    out.reverse();
    Some(out)
}

impl Report {
    /// Parses a report.
    pub fn parse(bytes: &[u8]) -> Result<Self, SnpError> {
        if bytes.len() != REPORT_LEN {
            return Err(SnpError::Malformed(format!(
                "an SNP report is {REPORT_LEN} bytes, not {}",
                bytes.len()
            )));
        }
        let version = u32_at(bytes, 0x00);
        if !VERSIONS.contains(&version) {
            return Err(SnpError::Malformed(format!(
                "report version {version} is not one of {}..={}",
                VERSIONS.start(),
                VERSIONS.end()
            )));
        }
        let (Some(signature_r), Some(signature_s)) = (scalar(bytes, 0x2A0), scalar(bytes, 0x2E8))
        else {
            return Err(SnpError::Malformed(
                "the report's signature is not a P-384 signature".into(),
            ));
        };
        let with_cpuid = version >= 3;
        Ok(Self {
            version,
            guest_svn: u32_at(bytes, 0x04),
            policy: u64_at(bytes, 0x08),
            family_id: field(bytes, 0x10),
            image_id: field(bytes, 0x20),
            vmpl: u32_at(bytes, 0x30),
            signature_algo: u32_at(bytes, 0x34),
            current_tcb: TcbVersion(field(bytes, 0x38)),
            platform_info: u64_at(bytes, 0x40),
            key_info: u32_at(bytes, 0x48),
            report_data: field(bytes, 0x50),
            measurement: field(bytes, 0x90),
            host_data: field(bytes, 0xC0),
            id_key_digest: field(bytes, 0xE0),
            author_key_digest: field(bytes, 0x110),
            report_id: field(bytes, 0x140),
            report_id_ma: field(bytes, 0x160),
            reported_tcb: TcbVersion(field(bytes, 0x180)),
            cpuid: if with_cpuid {
                field(bytes, 0x188)
            } else {
                [0; 3]
            },
            chip_id: field(bytes, 0x1A0),
            committed_tcb: TcbVersion(field(bytes, 0x1E0)),
            launch_tcb: TcbVersion(field(bytes, 0x1F0)),
            signature_r,
            signature_s,
        })
    }

    /// The key that signed it, from bits 2-4 of the key information.
    pub fn signing_key(&self) -> Result<SigningKey, SnpError> {
        match (self.key_info >> 2) & 0b111 {
            0 => Ok(SigningKey::Vcek),
            1 => Ok(SigningKey::Vlek),
            7 => Err(SnpError::Malformed("the report is not signed".into())),
            other => Err(SnpError::Malformed(format!(
                "the report names an unknown signing key ({other})"
            ))),
        }
    }

    /// The guest may run with simultaneous multithreading (policy bit 16).
    pub fn smt_allowed(&self) -> bool {
        self.policy & (1 << 16) != 0
    }

    /// A migration agent may be associated (policy bit 18).
    pub fn migration_allowed(&self) -> bool {
        self.policy & (1 << 18) != 0
    }

    /// The guest may be debugged by the host (policy bit 19).
    pub fn debuggable(&self) -> bool {
        self.policy & (1 << 19) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_tcb_versions_by_generation() {
        // reported_tcb 0x7308000000000003 of a Milan report, as stored (little-endian).
        let tcb = TcbVersion(0x7308_0000_0000_0003u64.to_le_bytes());
        assert_eq!(
            tcb.levels(false),
            Tcb {
                bootloader: 3,
                tee: 0,
                snp: 8,
                microcode: 115,
                fmc: None
            }
        );
        let turin = TcbVersion([1, 2, 3, 4, 0, 0, 0, 9]);
        assert_eq!(
            turin.levels(true),
            Tcb {
                fmc: Some(1),
                bootloader: 2,
                tee: 3,
                snp: 4,
                microcode: 9
            }
        );
    }

    #[test]
    fn refuses_bad_lengths_versions_and_signatures() {
        assert!(Report::parse(&[0u8; 100]).is_err());
        let mut bytes = vec![0u8; REPORT_LEN];
        bytes[0] = 1;
        assert!(
            Report::parse(&bytes)
                .unwrap_err()
                .to_string()
                .contains("version 1")
        );
        bytes[0] = 2;
        assert!(Report::parse(&bytes).is_ok());
        bytes[0x2A0 + 60] = 1;
        assert!(Report::parse(&bytes).is_err(), "r beyond 48 bytes");
    }
}
