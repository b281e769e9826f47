//! Attestation, apart from HTTP and storage: an attest request of Microsoft Azure
//! Attestation's REST API read into typed evidence, the evidence verified (strongroom-attest),
//! the runtime and init-time data checked against what the evidence binds, the provider's
//! policy applied, and the claims of the token that results.

pub mod kinds;
mod sev_snp;
pub mod token;

use serde_json::{Map, Value};
use strongroom_core::attestation_policy::{Claim, ClaimValue, Outcome, Policy, PolicyError};
use strongroom_core::b64;

pub use kinds::AttestationType;
pub use sev_snp::{SevSnpVmRequest, attest_sev_snp_vm};

/// Why an attestation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestError {
    /// The request is not what the API describes.
    #[error("{0}")]
    BadRequest(String),
    /// The evidence did not verify.
    #[error("the evidence did not verify: {0}")]
    Evidence(String),
    /// The runtime or init-time data is not what the evidence binds.
    #[error("{0}")]
    Binding(String),
    /// The policy cannot be applied.
    #[error("the attestation policy failed: {0}")]
    Policy(#[from] PolicyError),
    /// The policy's authorization rules did not permit the attestation.
    #[error("the attestation policy's authorization rules did not permit this evidence")]
    NotPermitted,
}

/// Runtime or init-time data: `{"data": base64url, "dataType": "Binary" | "JSON"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataItem {
    /// The decoded bytes, as the evidence binds them.
    pub bytes: Vec<u8>,
    /// The parsed JSON, when the data type is JSON.
    pub json: Option<Value>,
}

impl DataItem {
    /// Reads a `RuntimeData` / `InitTimeData` object; `name` names it in errors.
    pub fn read(value: &Value, name: &str) -> Result<Self, AttestError> {
        let data = member(value, "data")
            .and_then(Value::as_str)
            .ok_or_else(|| AttestError::BadRequest(format!("{name}.data is required")))?;
        let bytes = b64::decode(data)
            .map_err(|_| AttestError::BadRequest(format!("{name}.data is not base64url")))?;
        let json = match member(value, "dataType").and_then(Value::as_str) {
            None => None,
            Some(t) if t.eq_ignore_ascii_case("binary") => None,
            Some(t) if t.eq_ignore_ascii_case("json") => {
                Some(serde_json::from_slice(&bytes).map_err(|e| {
                    AttestError::BadRequest(format!("{name} is declared JSON but is not: {e}"))
                })?)
            }
            Some(other) => {
                return Err(AttestError::BadRequest(format!(
                    "{name}.dataType '{other}' is neither Binary nor JSON"
                )));
            }
        };
        Ok(Self { bytes, json })
    }
}

/// A member of a JSON object, its name matched in any case (clients differ: `AttestationInfo`,
/// `attestationInfo`).
pub fn member<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The `nonce` of a request, a string or (as the confidential-containers sidecar sends it) a
/// number, echoed as given.
pub fn nonce(body: &Value) -> Result<Option<Value>, AttestError> {
    match member(body, "nonce") {
        None | Some(Value::Null) => Ok(None),
        Some(v @ (Value::String(_) | Value::Number(_))) => Ok(Some(v.clone())),
        Some(_) => Err(AttestError::BadRequest(
            "nonce is a string or a number".into(),
        )),
    }
}

/// Applies `policy` to the service's claims, and merges what it issues into them: service
/// claims (`x-ms-*`, `nonce`) are not overridden; a type issued several times becomes an
/// array.
fn apply_policy(
    policy: &Policy,
    service: &Map<String, Value>,
) -> Result<(Outcome, Map<String, Value>), AttestError> {
    let evidence: Vec<Claim> = service
        .iter()
        .filter_map(|(k, v)| {
            let value = match v {
                Value::String(s) => ClaimValue::Str(s.clone()),
                Value::Bool(b) => ClaimValue::Bool(*b),
                Value::Number(n) => ClaimValue::Int(n.as_i64()?),
                _ => return None,
            };
            Some(Claim::from_evidence(k, value))
        })
        .collect();
    let outcome = policy.evaluate(evidence)?;
    if !outcome.permitted {
        return Err(AttestError::NotPermitted);
    }
    let mut claims = service.clone();
    let mut issued: Map<String, Value> = Map::new();
    for c in &outcome.issued {
        if service.contains_key(&c.claim_type) {
            continue;
        }
        let value = c.value.to_json();
        match issued.get_mut(&c.claim_type) {
            None => {
                issued.insert(c.claim_type.clone(), value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
        }
    }
    claims.extend(issued);
    Ok((outcome, claims))
}
