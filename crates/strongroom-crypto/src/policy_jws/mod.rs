//! The JWS in which clients send attestation policies and policy-management certificates to
//! an attestation provider (Microsoft Azure Attestation's upload format): unsigned
//! (`{"alg":"none"}`, empty signature) or signed with the key of a certificate carried in the
//! header (`x5c`, or `jwk.x5c` as the official Python client sends it), and the hashes the
//! service reports for them.
//!
//! Accepted algorithms: `none`; `RS256` and the Python client's `RSA256` (RSASSA-PKCS1-v1_5
//! with SHA-256); `ES256` and the Python client's `ECDH256` (ECDSA P-256 with SHA-256, the
//! signature fixed-width or DER).

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, VerificationAlgorithm};
use serde_json::Value;
use strongroom_core::b64;

use crate::jwt::JwtError;

/// Why a policy token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyJwsError {
    /// Not a compact JWS, or its parts are not what they should be.
    #[error("the policy token is malformed: {0}")]
    Malformed(String),
    /// An algorithm this service does not accept.
    #[error(
        "the policy token's algorithm '{0}' is not supported (none, RS256, RSA256, ES256, ECDH256)"
    )]
    Algorithm(String),
    /// Signed, but with no certificate to verify it by.
    #[error("the signed policy token carries no certificate (x5c or jwk.x5c)")]
    NoCertificate,
    /// The signature does not verify with the certificate's key.
    #[error("the policy token's signature does not verify with its certificate")]
    BadSignature,
}

/// A policy token read and, when signed, verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyJws {
    /// The decoded payload, or None for an empty one (a reset).
    pub body: Option<Value>,
    /// The DER certificate whose key signed it, for a signed token.
    pub signer: Option<Vec<u8>>,
    /// `x-ms-policy-token-hash`: base64url(SHA-256(the token as received)).
    pub token_hash: String,
}

impl PolicyJws {
    /// The policy text of an `{"AttestationPolicy": ...}` body: base64url (with or without
    /// padding) of the UTF-8 text, or (as older clients sent) the text itself.
    pub fn policy_text(&self) -> Result<Option<String>, PolicyJwsError> {
        let Some(body) = &self.body else {
            return Ok(None);
        };
        let value = body
            .get("AttestationPolicy")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                PolicyJwsError::Malformed("the body has no AttestationPolicy string".into())
            })?;
        if looks_like_policy(value) {
            return Ok(Some(value.to_owned()));
        }
        let decoded = b64::decode(value)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                PolicyJwsError::Malformed("AttestationPolicy is not base64url of UTF-8 text".into())
            })?;
        Ok(Some(decoded))
    }
}

fn looks_like_policy(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .trim_start()
        .get(..7)
        .is_some_and(|head| head.eq_ignore_ascii_case("version"))
}

/// Reads `token` and verifies it when it is signed.
pub fn read(token: &str) -> Result<PolicyJws, PolicyJwsError> {
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(PolicyJwsError::Malformed(
            "a JWS has three parts separated by '.'".into(),
        ));
    };
    let header: Value = b64::decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| PolicyJwsError::Malformed("the header is not base64url JSON".into()))?;
    let body = if p.is_empty() {
        None
    } else {
        let bytes = b64::decode(p)
            .map_err(|_| PolicyJwsError::Malformed("the payload is not base64url".into()))?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|_| PolicyJwsError::Malformed("the payload is not JSON".into()))?;
        (!value.is_null()).then_some(value)
    };
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let signer = match alg {
        "none" => {
            if !s.is_empty() {
                return Err(PolicyJwsError::Malformed(
                    "an unsigned token has an empty signature".into(),
                ));
            }
            None
        }
        "RS256" | "RSA256" | "ES256" | "ECDH256" => {
            let der = certificate(&header)?;
            let sig = b64::decode(s)
                .map_err(|_| PolicyJwsError::Malformed("the signature is not base64url".into()))?;
            let message = token.get(..h.len() + 1 + p.len()).unwrap_or_default();
            verify(alg, &der, message.as_bytes(), &sig)?;
            Some(der)
        }
        other => return Err(PolicyJwsError::Algorithm(other.to_owned())),
    };
    Ok(PolicyJws {
        body,
        signer,
        token_hash: b64::encode(digest::digest(&digest::SHA256, token.as_bytes())),
    })
}

/// The first certificate of the header's `x5c` or `jwk.x5c` (standard base64 DER).
fn certificate(header: &Value) -> Result<Vec<u8>, PolicyJwsError> {
    let chain = header
        .get("x5c")
        .or_else(|| header.get("jwk").and_then(|j| j.get("x5c")))
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(Value::as_str)
        .ok_or(PolicyJwsError::NoCertificate)?;
    b64::decode(chain)
        .map_err(|_| PolicyJwsError::Malformed("the x5c certificate is not base64".into()))
}

fn verify(alg: &str, der: &[u8], message: &[u8], sig: &[u8]) -> Result<(), PolicyJwsError> {
    let algorithm: &'static dyn VerificationAlgorithm = match alg {
        "RS256" | "RSA256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        _ if sig.len() == 64 => &signature::ECDSA_P256_SHA256_FIXED,
        _ => &signature::ECDSA_P256_SHA256_ASN1,
    };
    crate::jwt::verify_by_certificate(der, algorithm, message, sig).map_err(|e| match e {
        JwtError::BadSignature => PolicyJwsError::BadSignature,
        other => PolicyJwsError::Malformed(format!("the x5c certificate: {other}")),
    })
}

/// `x-ms-policy-hash`: base64url(SHA-256(base64url(UTF-8 policy text))).
pub fn policy_hash(policy: &str) -> String {
    let encoded = b64::encode(policy.as_bytes());
    b64::encode(digest::digest(&digest::SHA256, encoded.as_bytes()))
}

#[cfg(test)]
mod tests;
