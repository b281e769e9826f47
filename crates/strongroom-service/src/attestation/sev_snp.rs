//! `POST /attest/SevSnpVm`: `{"report": base64url(JSON {"SnpReport", "VcekCertChain",
//! "Endorsements"?}), "runtimeData", "initTimeData"?, "draftPolicyForAttestation"?, "nonce"?}`.
//! The runtime data's SHA-256 must begin the report's REPORT_DATA, the init-time data's
//! SHA-256 must be its HOST_DATA.

use serde_json::{Map, Value};
use strongroom_attest::snp;
use strongroom_core::attestation_policy::Policy;
use strongroom_core::b64;

use super::{AttestError, DataItem, apply_policy, member, nonce};

/// A SevSnpVm attest request, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SevSnpVmRequest {
    /// The 1184-byte report.
    pub report: Vec<u8>,
    /// The VCEK (or VLEK) PEM, possibly followed by AMD's chain.
    pub vcek_chain: Vec<u8>,
    /// The runtime data the report binds.
    pub runtime: DataItem,
    /// The init-time data the report binds, if any.
    pub init_time: Option<DataItem>,
    /// A policy to use instead of the provider's.
    pub draft_policy: Option<String>,
    /// The nonce to echo.
    pub nonce: Option<Value>,
}

impl SevSnpVmRequest {
    /// Reads a request body.
    pub fn read(body: &Value) -> Result<Self, AttestError> {
        let report = member(body, "report")
            .and_then(Value::as_str)
            .ok_or_else(|| AttestError::BadRequest("report is required".into()))?;
        let envelope: Value = b64::decode(report)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| {
                AttestError::BadRequest(
                    "report is not base64url of a JSON document {SnpReport, VcekCertChain}".into(),
                )
            })?;
        let field = |name: &str| -> Result<Vec<u8>, AttestError> {
            let text = member(&envelope, name)
                .and_then(Value::as_str)
                .ok_or_else(|| AttestError::BadRequest(format!("report.{name} is required")))?;
            b64::decode(text)
                .map_err(|_| AttestError::BadRequest(format!("report.{name} is not base64")))
        };
        let runtime = member(body, "runtimeData")
            .ok_or_else(|| AttestError::BadRequest("runtimeData is required".into()))
            .and_then(|v| DataItem::read(v, "runtimeData"))?;
        let init_time = member(body, "initTimeData")
            .filter(|v| !v.is_null())
            .map(|v| DataItem::read(v, "initTimeData"))
            .transpose()?;
        let draft_policy = member(body, "draftPolicyForAttestation")
            .and_then(Value::as_str)
            .filter(|p| !p.trim().is_empty())
            .map(str::to_owned);
        Ok(Self {
            report: field("SnpReport")?,
            vcek_chain: field("VcekCertChain")?,
            runtime,
            init_time,
            draft_policy,
            nonce: nonce(body)?,
        })
    }
}

/// Verifies the request at `at` (Unix seconds), applies `policy`, and returns the token's
/// claims (without `iss`, `iat`, `nbf`, `exp` and `jti`, which the signer adds).
pub fn attest_sev_snp_vm(
    request: &SevSnpVmRequest,
    policy: &Policy,
    policy_hash: &str,
    at: u64,
) -> Result<Map<String, Value>, AttestError> {
    let verified = snp::verify(&request.report, &request.vcek_chain, at)
        .map_err(|e| AttestError::Evidence(e.to_string()))?;
    let runtime_hash = strongroom_crypto::sha256(&request.runtime.bytes);
    if verified.report.report_data.get(..32) != Some(runtime_hash.as_slice()) {
        return Err(AttestError::Binding(
            "the SHA-256 of runtimeData is not the report's REPORT_DATA".into(),
        ));
    }
    if let Some(init) = &request.init_time
        && strongroom_crypto::sha256(&init.bytes) != verified.report.host_data
    {
        return Err(AttestError::Binding(
            "the SHA-256 of initTimeData is not the report's HOST_DATA".into(),
        ));
    }
    let mut claims = snp::claims(&verified);
    claims.insert("x-ms-attestation-type".into(), "sevsnpvm".into());
    claims.insert("x-ms-ver".into(), "1.0".into());
    claims.insert("x-ms-policy-hash".into(), policy_hash.into());
    if let Some(nonce) = &request.nonce {
        claims.insert("nonce".into(), nonce.clone());
    }
    let (_, mut claims) = apply_policy(policy, &claims)?;
    // The client's JSON data, verbatim: release policies and Key Vault read it.
    if let Some(json) = &request.runtime.json {
        claims.insert("x-ms-runtime".into(), json.clone());
    }
    if let Some(json) = request.init_time.as_ref().and_then(|d| d.json.as_ref()) {
        claims.insert("x-ms-inittime".into(), json.clone());
    }
    Ok(claims)
}

#[cfg(test)]
mod tests;
