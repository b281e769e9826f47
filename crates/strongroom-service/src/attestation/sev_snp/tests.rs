//! An Azure confidential VM's platform attestation (`/attest/SevSnpVm` with the SNP report of
//! its HCL report and the HCL runtime claims as JSON runtime data), from real evidence.

use base64::Engine;
use serde_json::json;

use super::*;

fn vector(name: &str) -> Vec<u8> {
    let dir = env!("CARGO_MANIFEST_DIR");
    std::fs::read(format!(
        "{dir}/../strongroom-attest/tests/data/az-snp-vtpm/{name}"
    ))
    .unwrap()
}

/// 2024-06-01T00:00:00Z, inside the VCEK's window.
const AT: u64 = 1_717_200_000;

const PERMIT: &str = "version=1.0; authorizationrules { => permit(); }; issuancerules {};";

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The HCL report's SNP report, and its runtime claims.
fn pieces() -> (Vec<u8>, Vec<u8>) {
    let hcl = vector("hcl-report.bin");
    let claims_len = u32::from_le_bytes(hcl[0x4C0 + 16..0x4C0 + 20].try_into().unwrap());
    let start = 0x4C0 + 20;
    (
        hcl[0x20..0x4C0].to_vec(),
        hcl[start..start + claims_len as usize].to_vec(),
    )
}

/// A body as cvm-attestation-tools sends it; the chain in standard base64, as in the spec's
/// example.
fn body(runtime: &[u8], data_type: &str) -> Value {
    let (report, _) = pieces();
    let chain = base64::engine::general_purpose::STANDARD.encode(vector("vcek.pem"));
    let envelope = format!(
        "\n        {{\n            \"SnpReport\" : \"{}\",\n            \"VcekCertChain\" : \"{chain}\"\n        }}",
        b64url(&report)
    );
    json!({
        "report": b64url(envelope.as_bytes()),
        "runtimeData": {"data": b64url(runtime), "dataType": data_type},
        "nonce": 1234567890123u64,
    })
}

fn attest(body: &Value, policy: &str) -> Result<Map<String, Value>, AttestError> {
    let request = SevSnpVmRequest::read(body)?;
    let policy = Policy::parse(policy).unwrap();
    attest_sev_snp_vm(&request, &policy, "hash", AT)
}

#[test]
fn a_confidential_vm_attests_with_its_runtime_claims() {
    let (_, runtime) = pieces();
    let claims = attest(&body(&runtime, "JSON"), PERMIT).unwrap();
    assert_eq!(claims["x-ms-attestation-type"], "sevsnpvm");
    assert_eq!(claims["x-ms-ver"], "1.0");
    assert_eq!(claims["x-ms-policy-hash"], "hash");
    assert_eq!(
        claims["nonce"], 1234567890123u64,
        "a numeric nonce is echoed as a number"
    );
    assert_eq!(claims["x-ms-sevsnpvm-guestsvn"], 5);
    assert_eq!(claims["x-ms-sevsnpvm-is-debuggable"], false);
    // The runtime claims, verbatim, with the vTPM keys Key Vault and release policies read.
    let keys = claims["x-ms-runtime"]["keys"].as_array().unwrap();
    assert_eq!(keys[0]["kid"], "HCLAkPub");
    assert!(claims["x-ms-runtime"]["vm-configuration"].is_object());
    assert!(!claims.contains_key("x-ms-inittime"));
    // As binary data the same bytes bind, and no x-ms-runtime is issued.
    let claims = attest(&body(&runtime, "Binary"), PERMIT).unwrap();
    assert!(!claims.contains_key("x-ms-runtime"));
}

#[test]
fn data_the_report_does_not_bind_is_refused() {
    let e = attest(&body(b"{\"other\":1}", "JSON"), PERMIT).unwrap_err();
    assert!(
        matches!(e, AttestError::Binding(ref m) if m.contains("REPORT_DATA")),
        "{e}"
    );
    // Init-time data: this VM was launched without host data (zero), which no data hashes to.
    let (_, runtime) = pieces();
    let mut b = body(&runtime, "JSON");
    b["initTimeData"] = json!({"data": b64url(b"{}"), "dataType": "JSON"});
    let e = attest(&b, PERMIT).unwrap_err();
    assert!(
        matches!(e, AttestError::Binding(ref m) if m.contains("HOST_DATA")),
        "{e}"
    );
}

#[test]
fn the_policy_decides_and_issues() {
    let (_, runtime) = pieces();
    let b = body(&runtime, "JSON");
    let refuse_debug = r#"version=1.0;
        authorizationrules {
            [type=="x-ms-sevsnpvm-is-debuggable", value==false] && [type=="x-ms-sevsnpvm-guestsvn", value>=5] => permit();
        };
        issuancerules {
            c:[type=="x-ms-sevsnpvm-guestsvn"] => issue(type="guest-svn", value=c.value);
            => issue(type="x-ms-attestation-type", value="forged");
        };"#;
    let claims = attest(&b, refuse_debug).unwrap();
    assert_eq!(claims["guest-svn"], 5);
    assert_eq!(
        claims["x-ms-attestation-type"], "sevsnpvm",
        "a policy does not override the service's claims"
    );
    let strict = r#"version=1.0; authorizationrules {
        [type=="x-ms-sevsnpvm-guestsvn", value>=6] => permit(); };"#;
    assert_eq!(attest(&b, strict).unwrap_err(), AttestError::NotPermitted);
}

#[test]
fn malformed_requests_are_refused_with_a_reason() {
    let (_, runtime) = pieces();
    let good = body(&runtime, "JSON");
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "report is required"),
        (json!({"report": "!!"}), "JSON document"),
        (
            json!({"report": b64url(b"{\"SnpReport\":\"AAAA\"}"), "runtimeData": good["runtimeData"]}),
            "VcekCertChain",
        ),
        (
            {
                let mut b = good.clone();
                b.as_object_mut().unwrap().remove("runtimeData");
                b
            },
            "runtimeData is required",
        ),
        (
            {
                let mut b = good.clone();
                b["runtimeData"]["dataType"] = json!("XML");
                b
            },
            "neither Binary nor JSON",
        ),
        (
            {
                let mut b = good.clone();
                b["runtimeData"]["data"] = json!(b64url(b"not json"));
                b
            },
            "declared JSON",
        ),
        (
            {
                let mut b = good.clone();
                b["nonce"] = json!({"n": 1});
                b
            },
            "nonce",
        ),
    ];
    for (b, words) in cases {
        let e = SevSnpVmRequest::read(&b).unwrap_err();
        assert!(e.to_string().contains(words), "{b}: {e}");
    }
    // A report altered after it was signed.
    let mut b = good;
    let (mut report, _) = pieces();
    report[0x90] ^= 1;
    let envelope = json!({
        "SnpReport": b64url(&report),
        "VcekCertChain": b64url(&vector("vcek.pem")),
    });
    b["report"] = json!(b64url(envelope.to_string().as_bytes()));
    let e = attest(&b, PERMIT).unwrap_err();
    assert!(
        matches!(e, AttestError::Evidence(ref m) if m.contains("signature")),
        "{e}"
    );
}
