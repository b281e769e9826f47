//! TPM 2.0 quotes: the marshalled TPMS_ATTEST of a quote (TPM 2.0 Library, Part 2, "TPMS_ATTEST"
//! and "TPMS_QUOTE_INFO"; big-endian), its RSASSA-PKCS1-v1_5/SHA-256 signature by an
//! attestation key given as a JWK, and the PCR values it digests.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;

/// `TPM_GENERATED_VALUE`, the first four bytes of anything a TPM signs.
const GENERATED: u32 = 0xff54_4347;
/// `TPM_ST_ATTEST_QUOTE`.
const ST_ATTEST_QUOTE: u16 = 0x8018;
/// `TPM_ALG_SHA256`.
const ALG_SHA256: u16 = 0x000b;

/// Why a quote was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    /// It cannot be read.
    #[error("malformed TPM quote: {0}")]
    Malformed(String),
    /// The attestation key is not an RSA JWK.
    #[error("the attestation key is not an RSA JWK: {0}")]
    Key(String),
    /// The signature does not verify.
    #[error("the TPM quote's signature does not verify with the attestation key")]
    Signature,
    /// The PCR values given are not the ones quoted.
    #[error("the PCR values do not match the quote's PCR digest: {0}")]
    Pcrs(String),
}

/// What a quote says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The qualified name of the signing key.
    pub signer: Vec<u8>,
    /// The caller's data (the verifier's nonce).
    pub extra_data: Vec<u8>,
    /// The TPM's clock, in milliseconds.
    pub clock: u64,
    /// The firmware version.
    pub firmware_version: u64,
    /// The PCRs quoted: (hash algorithm, PCR indices, ascending).
    pub selections: Vec<(u16, Vec<u8>)>,
    /// The digest of the quoted PCR values.
    pub pcr_digest: Vec<u8>,
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], QuoteError> {
        let (head, rest) = self
            .bytes
            .split_at_checked(n)
            .ok_or_else(|| QuoteError::Malformed(format!("it ends inside {what}")))?;
        self.bytes = rest;
        Ok(head)
    }

    fn uint(&mut self, n: usize, what: &str) -> Result<u64, QuoteError> {
        Ok(self
            .take(n, what)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn sized(&mut self, what: &str) -> Result<&'a [u8], QuoteError> {
        let n = self.uint(2, what)? as usize;
        self.take(n, what)
    }
}

impl Quote {
    /// Parses a marshalled TPMS_ATTEST holding a quote.
    pub fn parse(message: &[u8]) -> Result<Self, QuoteError> {
        let mut r = Reader { bytes: message };
        if r.uint(4, "the magic")? != u64::from(GENERATED) {
            return Err(QuoteError::Malformed(
                "it is not something a TPM generated (magic)".into(),
            ));
        }
        if r.uint(2, "the type")? != u64::from(ST_ATTEST_QUOTE) {
            return Err(QuoteError::Malformed("it is not a quote".into()));
        }
        let signer = r.sized("the qualified signer")?.to_vec();
        let extra_data = r.sized("the extra data")?.to_vec();
        let clock = r.uint(8, "the clock")?;
        r.take(9, "the clock information")?;
        let firmware_version = r.uint(8, "the firmware version")?;
        let count = r.uint(4, "the PCR selection")?;
        if count > 16 {
            return Err(QuoteError::Malformed(format!(
                "{count} PCR selections is more than any TPM has banks"
            )));
        }
        let mut selections = Vec::new();
        for _ in 0..count {
            let hash = r.uint(2, "a PCR selection")? as u16;
            let size = r.uint(1, "a PCR selection")? as usize;
            let bitmap = r.take(size, "a PCR selection")?;
            let pcrs = bitmap
                .iter()
                .enumerate()
                .flat_map(|(i, byte)| {
                    (0..8u8)
                        .filter(move |bit| byte & (1 << bit) != 0)
                        .map(move |bit| (i * 8) as u8 + bit)
                })
                .collect();
            selections.push((hash, pcrs));
        }
        let pcr_digest = r.sized("the PCR digest")?.to_vec();
        if !r.bytes.is_empty() {
            return Err(QuoteError::Malformed(format!(
                "{} bytes follow the quote",
                r.bytes.len()
            )));
        }
        Ok(Self {
            signer,
            extra_data,
            clock,
            firmware_version,
            selections,
            pcr_digest,
        })
    }

    /// Checks that `pcrs` (SHA-256 values by PCR index) are the values the quote digests.
    pub fn check_pcrs(&self, pcrs: &[Vec<u8>]) -> Result<(), QuoteError> {
        let mut ctx = digest::Context::new(&digest::SHA256);
        for (hash, indices) in &self.selections {
            if *hash != ALG_SHA256 {
                return Err(QuoteError::Pcrs(format!(
                    "the quote selects a bank of hash algorithm {hash:#06x}, not SHA-256"
                )));
            }
            for i in indices {
                let value = pcrs
                    .get(usize::from(*i))
                    .ok_or_else(|| QuoteError::Pcrs(format!("PCR {i} is quoted, not given")))?;
                ctx.update(value);
            }
        }
        if ctx.finish().as_ref() != self.pcr_digest.as_slice() {
            return Err(QuoteError::Pcrs("their SHA-256 differs".into()));
        }
        Ok(())
    }
}

/// Verifies `signature` over `message` with the RSA attestation key `ak` (a JWK with `n` and
/// `e` in base64url), then parses the quote.
pub fn verify(
    message: &[u8],
    signature: &[u8],
    ak: &serde_json::Value,
) -> Result<Quote, QuoteError> {
    let member = |name: &str| -> Result<Vec<u8>, QuoteError> {
        let text = ak
            .get(name)
            .and_then(|v| v.as_str())
            .ok_or_else(|| QuoteError::Key(format!("no '{name}'")))?;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| QuoteError::Key(format!("'{name}' is not base64url")))
    };
    if ak.get("kty").and_then(|v| v.as_str()) != Some("RSA") {
        return Err(QuoteError::Key("its kty is not RSA".into()));
    }
    let (n, e) = (member("n")?, member("e")?);
    RsaPublicKeyComponents { n: &n, e: &e }
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
        .map_err(|_| QuoteError::Signature)?;
    Quote::parse(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(selection: &[u8], digest: &[u8]) -> Vec<u8> {
        let mut m = GENERATED.to_be_bytes().to_vec();
        m.extend(ST_ATTEST_QUOTE.to_be_bytes());
        m.extend([0, 2, 0xaa, 0xbb]); // signer
        m.extend([0, 3, b'n', b'o', b'w']); // extra data
        m.extend(42u64.to_be_bytes());
        m.extend([0; 9]);
        m.extend(7u64.to_be_bytes());
        m.extend(1u32.to_be_bytes());
        m.extend(ALG_SHA256.to_be_bytes());
        m.push(selection.len() as u8);
        m.extend(selection);
        m.extend((digest.len() as u16).to_be_bytes());
        m.extend(digest);
        m
    }

    #[test]
    fn parses_a_quote_and_checks_its_pcrs() {
        let pcrs: Vec<Vec<u8>> = (0..24u8).map(|i| vec![i; 32]).collect();
        let mut ctx = digest::Context::new(&digest::SHA256);
        for i in [0u8, 2, 9] {
            ctx.update(&pcrs[usize::from(i)]);
        }
        let d = ctx.finish();
        let m = quote(&[0b0000_0101, 0b0000_0010, 0], d.as_ref());
        let q = Quote::parse(&m).unwrap();
        assert_eq!(q.extra_data, b"now");
        assert_eq!(q.clock, 42);
        assert_eq!(q.firmware_version, 7);
        assert_eq!(q.selections, vec![(ALG_SHA256, vec![0, 2, 9])]);
        q.check_pcrs(&pcrs).unwrap();
        let mut other = pcrs.clone();
        other[9][0] ^= 1;
        assert!(q.check_pcrs(&other).is_err());
        assert!(q.check_pcrs(&pcrs[..5]).is_err(), "PCR 9 missing");
    }

    #[test]
    fn refuses_what_is_not_a_quote() {
        let m = quote(&[1, 0, 0], &[0; 32]);
        assert!(Quote::parse(&m[..m.len() - 1]).is_err(), "truncated");
        let mut long = m.clone();
        long.push(0);
        assert!(Quote::parse(&long).is_err(), "trailing bytes");
        let mut magic = m.clone();
        magic[0] = 0;
        assert!(Quote::parse(&magic).is_err());
        let mut kind = m;
        kind[5] = 0x17;
        assert!(Quote::parse(&kind).is_err(), "a certify, not a quote");
    }
}
