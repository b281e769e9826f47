//! AMD SEV-SNP: an attestation report verified against the VCEK (or VLEK) that signed it, that
//! certificate against AMD's roots for Milan, Genoa and Turin, all at an injected time.
//!
//! The checks, in order: the report parses (length, a version in `VERSIONS`, a P-384
//! signature); the endorsement certificate chains to a pinned ASK (VCEK) or ASVK (VLEK) that
//! the generation's pinned, self-signed ARK signed, every certificate valid at the time; a
//! VCEK's TCB extensions equal the report's `reported_tcb` and its hardware id equals the
//! report's `chip_id`; the report's ECDSA P-384/SHA-384 signature verifies with the
//! certificate's key. Certificates given with the evidence beyond the leaf must be the pinned
//! ones: a chain to any other root is refused.

mod report;

use std::sync::OnceLock;

use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED, UnparsedPublicKey};
use x509_cert::Certificate;
use x509_cert::der::oid::ObjectIdentifier;

pub use report::{REPORT_LEN, Report, SIGNED_LEN, SigningKey, Tcb, TcbVersion, VERSIONS};

use crate::x509::{self, CertError};

/// Why evidence was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnpError {
    /// The report cannot be read.
    #[error("malformed SEV-SNP report: {0}")]
    Malformed(String),
    /// A certificate of the chain failed.
    #[error("SEV-SNP certificate chain: {0}")]
    Chain(#[from] CertError),
    /// The endorsement key does not chain to AMD's roots.
    #[error("the {key} does not chain to AMD's ARK for Milan, Genoa or Turin: {detail}")]
    UnknownRoot {
        /// VCEK or VLEK.
        key: &'static str,
        /// What was tried.
        detail: String,
    },
    /// The certificate vouches for another TCB or chip than the report's.
    #[error("the VCEK does not match the report: {0}")]
    Mismatch(String),
    /// The report's signature does not verify.
    #[error("the report's signature does not verify with the {0}'s key")]
    Signature(&'static str),
}

/// A processor generation, with AMD's signing chain for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// EPYC 7003.
    Milan,
    /// EPYC 9004.
    Genoa,
    /// EPYC 9005.
    Turin,
}

impl Generation {
    /// Every generation known.
    pub const ALL: [Self; 3] = [Self::Milan, Self::Genoa, Self::Turin];

    /// Its name, as AMD spells it in certificate names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Milan => "Milan",
            Self::Genoa => "Genoa",
            Self::Turin => "Turin",
        }
    }

    fn bundle(self) -> &'static [u8] {
        match self {
            Self::Milan => include_bytes!("../../roots/amd/milan_ask_ark_asvk.pem"),
            Self::Genoa => include_bytes!("../../roots/amd/genoa_ask_ark_asvk.pem"),
            Self::Turin => include_bytes!("../../roots/amd/turin_ask_ark_asvk.pem"),
        }
    }
}

/// A generation's pinned chain: ASK, ARK and ASVK, the ASK and ASVK checked against the ARK
/// (and the ARK against itself) once.
struct Roots {
    generation: Generation,
    ask: Certificate,
    ark: Certificate,
    asvk: Certificate,
    /// The DER of the three, to compare certificates given with evidence against.
    pinned: [Vec<u8>; 3],
}

fn roots() -> &'static [Roots] {
    static ROOTS: OnceLock<Vec<Roots>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        Generation::ALL
            .iter()
            .filter_map(|&generation| {
                let mut certs = x509::read_all(generation.bundle()).ok()?.into_iter();
                let (ask, ark, asvk) = (certs.next()?, certs.next()?, certs.next()?);
                let sound = x509::check_signed_by(&ark, &ark).is_ok()
                    && x509::check_signed_by(&ask, &ark).is_ok()
                    && x509::check_signed_by(&asvk, &ark).is_ok();
                sound.then(|| Roots {
                    generation,
                    pinned: [x509::der(&ask), x509::der(&ark), x509::der(&asvk)],
                    ask,
                    ark,
                    asvk,
                })
            })
            .collect()
    })
}

/// VCEK extensions (AMD's "Versioned Chip Endorsement Key" specification).
const BL_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.1");
const TEE_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.2");
const SNP_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.3");
const UCODE_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.8");
const FMC_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.9");
const HW_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.4");

/// What a verified report proves.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The report.
    pub report: Report,
    /// The generation whose chain vouched for it.
    pub generation: Generation,
    /// The key that signed it.
    pub signing_key: SigningKey,
    /// The reported TCB's levels.
    pub tcb: Tcb,
}

/// Verifies `report` (its 1184 bytes) with `endorsement`: the VCEK or VLEK that signed it, DER
/// or PEM, optionally followed (PEM) by its ASK or ASVK and ARK, which must then be AMD's;
/// `at` is the verification time in Unix seconds.
pub fn verify(report: &[u8], endorsement: &[u8], at: u64) -> Result<Verified, SnpError> {
    let parsed = Report::parse(report)?;
    let signing_key = parsed.signing_key()?;
    let key_name = match signing_key {
        SigningKey::Vcek => "VCEK",
        SigningKey::Vlek => "VLEK",
    };
    let mut certs = x509::read_all(endorsement)?.into_iter();
    let leaf = certs
        .next()
        .ok_or_else(|| CertError::Malformed("no endorsement certificate".into()))?;
    let given: Vec<Vec<u8>> = certs.map(|c| x509::der(&c)).collect();
    let roots = chain_of(&leaf, signing_key, key_name)?;
    for extra in &given {
        if !roots.pinned.contains(extra) {
            return Err(SnpError::UnknownRoot {
                key: key_name,
                detail: "a certificate given with it is not AMD's ASK, ASVK or ARK".into(),
            });
        }
    }
    let issuer = match signing_key {
        SigningKey::Vcek => &roots.ask,
        SigningKey::Vlek => &roots.asvk,
    };
    for cert in [&leaf, issuer, &roots.ark] {
        x509::check_valid_at(cert, at)?;
    }
    let tcb = parsed
        .reported_tcb
        .levels(roots.generation == Generation::Turin);
    if signing_key == SigningKey::Vcek {
        check_vcek_matches(&leaf, &parsed, &tcb)?;
    }
    let signed = report.get(..SIGNED_LEN).unwrap_or_default();
    let mut signature = [0u8; 96];
    for (out, b) in signature
        .iter_mut()
        .zip(parsed.signature_r.iter().chain(parsed.signature_s.iter()))
    {
        *out = *b;
    }
    UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, x509::public_key(&leaf))
        .verify(signed, &signature)
        .map_err(|_| SnpError::Signature(key_name))?;
    Ok(Verified {
        report: parsed,
        generation: roots.generation,
        signing_key,
        tcb,
    })
}

/// The pinned chain whose ASK (VCEK) or ASVK (VLEK) signed `leaf`.
fn chain_of(
    leaf: &Certificate,
    signing_key: SigningKey,
    key_name: &'static str,
) -> Result<&'static Roots, SnpError> {
    let roots = roots();
    if roots.len() != Generation::ALL.len() {
        return Err(SnpError::UnknownRoot {
            key: key_name,
            detail: "the pinned AMD chains did not verify".into(),
        });
    }
    roots
        .iter()
        .find(|r| {
            let issuer = match signing_key {
                SigningKey::Vcek => &r.ask,
                SigningKey::Vlek => &r.asvk,
            };
            leaf.tbs_certificate().issuer() == issuer.tbs_certificate().subject()
                && x509::check_signed_by(leaf, issuer).is_ok()
        })
        .ok_or_else(|| SnpError::UnknownRoot {
            key: key_name,
            detail: format!(
                "no pinned {} signed {}",
                match signing_key {
                    SigningKey::Vcek => "ASK",
                    SigningKey::Vlek => "ASVK",
                },
                x509::subject(leaf)
            ),
        })
}

/// A VCEK's TCB levels equal the report's, and its hardware id the report's chip id.
fn check_vcek_matches(vcek: &Certificate, report: &Report, tcb: &Tcb) -> Result<(), SnpError> {
    let level = |oid: &ObjectIdentifier, name: &str| -> Result<u64, SnpError> {
        x509::extension(vcek, oid)
            .and_then(x509::der_uint)
            .ok_or_else(|| SnpError::Mismatch(format!("the VCEK has no {name} level")))
    };
    let mut expected = vec![
        (
            "boot loader",
            level(&BL_SPL, "boot loader")?,
            tcb.bootloader,
        ),
        ("TEE", level(&TEE_SPL, "TEE")?, tcb.tee),
        ("SNP", level(&SNP_SPL, "SNP")?, tcb.snp),
        ("microcode", level(&UCODE_SPL, "microcode")?, tcb.microcode),
    ];
    if let Some(fmc) = tcb.fmc {
        expected.push(("FMC", level(&FMC_SPL, "FMC")?, fmc));
    }
    for (name, certified, reported) in expected {
        if certified != u64::from(reported) {
            return Err(SnpError::Mismatch(format!(
                "its {name} level is {certified}, the report's {reported}"
            )));
        }
    }
    let hw_id = x509::extension(vcek, &HW_ID)
        .ok_or_else(|| SnpError::Mismatch("the VCEK has no hardware id".into()))?;
    // The id is the extension's raw value, or (in some VCEKs) an OCTET STRING holding it.
    let id = match hw_id {
        [0x04, 0x40, rest @ ..] if rest.len() == 64 => rest,
        raw => raw,
    };
    if id != report.chip_id.as_slice() {
        return Err(SnpError::Mismatch(format!(
            "it is for chip {}, the report is from chip {}",
            hex::encode(id),
            hex::encode(report.chip_id)
        )));
    }
    Ok(())
}

/// The claims Microsoft Azure Attestation issues for a verified report (`x-ms-sevsnpvm-*`),
/// named and typed as it names and types them: lowercase hex, integers, booleans.
pub fn claims(v: &Verified) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let r = &v.report;
    let pairs: [(&str, Value); 17] = [
        ("authorkeydigest", hex::encode(r.author_key_digest).into()),
        ("bootloader-svn", v.tcb.bootloader.into()),
        ("familyId", hex::encode(r.family_id).into()),
        ("guestsvn", r.guest_svn.into()),
        ("hostdata", hex::encode(r.host_data).into()),
        ("idkeydigest", hex::encode(r.id_key_digest).into()),
        ("imageId", hex::encode(r.image_id).into()),
        ("is-debuggable", r.debuggable().into()),
        ("launchmeasurement", hex::encode(r.measurement).into()),
        ("microcode-svn", v.tcb.microcode.into()),
        ("migration-allowed", r.migration_allowed().into()),
        ("reportdata", hex::encode(r.report_data).into()),
        ("reportid", hex::encode(r.report_id).into()),
        ("smt-allowed", r.smt_allowed().into()),
        ("snpfw-svn", v.tcb.snp.into()),
        ("tee-svn", v.tcb.tee.into()),
        ("vmpl", r.vmpl.into()),
    ];
    pairs
        .into_iter()
        .map(|(name, value)| (format!("x-ms-sevsnpvm-{name}"), value))
        .collect()
}
