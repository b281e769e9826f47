//! The little of X.509 the verifiers need: reading certificates (DER or PEM), checking one
//! certificate's signature with its issuer's key and its validity at a given time, and reading
//! extensions by OID.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_cert::Certificate;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};

/// id-RSASSA-PSS.
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
/// sha384WithRSAEncryption.
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
/// ecdsa-with-SHA384.
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

/// Why a certificate was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// Not a certificate.
    #[error("not an X.509 certificate: {0}")]
    Malformed(String),
    /// The issuer's key does not verify it.
    #[error("the signature of {subject} does not verify with the key of {issuer}")]
    Signature {
        /// Who the certificate names.
        subject: String,
        /// Who should have signed it.
        issuer: String,
    },
    /// Signed with an algorithm no verifier here accepts.
    #[error("{subject} is signed with an unsupported algorithm ({oid})")]
    Algorithm {
        /// Who the certificate names.
        subject: String,
        /// The algorithm.
        oid: String,
    },
    /// Outside its validity at the verification time.
    #[error("{subject} is valid from {not_before} to {not_after} (Unix seconds), not at {at}")]
    Expired {
        /// Who the certificate names.
        subject: String,
        /// Start of validity.
        not_before: u64,
        /// End of validity.
        not_after: u64,
        /// The verification time.
        at: u64,
    },
}

/// Reads every certificate of `bytes`: one DER certificate, or PEM with one or more.
pub fn read_all(bytes: &[u8]) -> Result<Vec<Certificate>, CertError> {
    if bytes.first() == Some(&0x30) {
        return Certificate::from_der(bytes)
            .map(|c| vec![c])
            .map_err(|e| CertError::Malformed(e.to_string()));
    }
    let certs =
        Certificate::load_pem_chain(bytes).map_err(|e| CertError::Malformed(e.to_string()))?;
    if certs.is_empty() {
        return Err(CertError::Malformed("no certificate in the PEM".into()));
    }
    Ok(certs)
}

/// The certificate's subject, for messages.
pub fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

/// The DER encoding.
pub fn der(cert: &Certificate) -> Vec<u8> {
    cert.to_der().unwrap_or_default()
}

/// The raw subject public key (an RSAPublicKey, or an uncompressed EC point).
pub fn public_key(cert: &Certificate) -> &[u8] {
    cert.tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
}

/// Checks that `issuer`'s key signed `cert`.
pub fn check_signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), CertError> {
    let oid = cert.signature_algorithm().oid;
    let algorithm: &dyn VerificationAlgorithm = if oid == RSASSA_PSS {
        // AMD signs with RSASSA-PSS, SHA-384, MGF1-SHA-384 and a 48-byte salt; other
        // parameters simply fail to verify.
        &signature::RSA_PSS_2048_8192_SHA384
    } else if oid == SHA384_WITH_RSA {
        &signature::RSA_PKCS1_2048_8192_SHA384
    } else if oid == ECDSA_WITH_SHA384 {
        &signature::ECDSA_P384_SHA384_ASN1
    } else {
        return Err(CertError::Algorithm {
            subject: subject(cert),
            oid: oid.to_string(),
        });
    };
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|e| CertError::Malformed(e.to_string()))?;
    let sig = cert.signature().raw_bytes();
    UnparsedPublicKey::new(algorithm, public_key(issuer))
        .verify(&tbs, sig)
        .map_err(|_| CertError::Signature {
            subject: subject(cert),
            issuer: subject(issuer),
        })
}

/// Checks that `at` (Unix seconds) lies within `cert`'s validity.
pub fn check_valid_at(cert: &Certificate, at: u64) -> Result<(), CertError> {
    let validity = cert.tbs_certificate().validity();
    let not_before = validity.not_before.to_unix_duration().as_secs();
    let not_after = validity.not_after.to_unix_duration().as_secs();
    if at < not_before || at > not_after {
        return Err(CertError::Expired {
            subject: subject(cert),
            not_before,
            not_after,
            at,
        });
    }
    Ok(())
}

/// The value (the octets inside the extension's OCTET STRING) of extension `oid`.
pub fn extension<'a>(cert: &'a Certificate, oid: &ObjectIdentifier) -> Option<&'a [u8]> {
    cert.tbs_certificate()
        .extensions()?
        .iter()
        .find(|e| e.extn_id == *oid)
        .map(|e| e.extn_value.as_bytes())
}

/// A DER INTEGER's value, when it is non-negative and fits in a u64.
pub fn der_uint(value: &[u8]) -> Option<u64> {
    let (&tag, rest) = value.split_first()?;
    let (&len, content) = rest.split_first()?;
    if tag != 0x02 || usize::from(len) != content.len() || content.is_empty() {
        return None;
    }
    if content.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let digits = content.strip_prefix(&[0]).unwrap_or(content);
    if digits.len() > 8 {
        return None;
    }
    Some(digits.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_der_integers() {
        assert_eq!(der_uint(&[0x02, 0x01, 0x73]), Some(115));
        assert_eq!(der_uint(&[0x02, 0x02, 0x00, 0xa9]), Some(169));
        assert_eq!(der_uint(&[0x02, 0x01, 0x80]), None, "negative");
        assert_eq!(der_uint(&[0x04, 0x01, 0x01]), None, "not an INTEGER");
        assert_eq!(der_uint(&[0x02, 0x02, 0x01]), None, "short");
        assert_eq!(der_uint(&[0x02, 0x00]), None);
    }

    #[test]
    fn refuses_what_is_not_a_certificate() {
        assert!(matches!(
            read_all(b"\x30\x03\x02\x01\x00"),
            Err(CertError::Malformed(_))
        ));
        assert!(matches!(
            read_all(b"no pem here"),
            Err(CertError::Malformed(_))
        ));
    }
}
