//! Real Azure confidential-VM evidence (tests/data/az-snp-vtpm, see its MANIFEST.md): HCL
//! reports verified through their SEV-SNP reports and bound to their runtime claims, vTPM
//! quotes verified with the attestation key those claims carry, at pinned times.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

use base64::Engine;
use serde_json::Value;
use strongroom_attest::hcl::{self, HclError};
use strongroom_attest::snp::{Generation, SnpError};
use strongroom_attest::tpm::{self, QuoteError};

fn data(name: &str) -> Vec<u8> {
    let dir = env!("CARGO_MANIFEST_DIR");
    std::fs::read(format!("{dir}/tests/data/az-snp-vtpm/{name}")).unwrap()
}

fn json(name: &str) -> Value {
    serde_json::from_slice(&data(name)).unwrap()
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
        .collect()
}

/// 2024-06-01T00:00:00Z and 2025-06-01T00:00:00Z.
const JUNE_2024: u64 = 1_717_200_000;
const JUNE_2025: u64 = 1_748_736_000;

#[test]
fn an_hcl_report_verifies_and_vouches_for_its_runtime_claims() {
    let v = hcl::verify(&data("hcl-report.bin"), &data("vcek.pem"), JUNE_2024).unwrap();
    assert_eq!(v.snp.generation, Generation::Milan);
    assert_eq!(v.snp.report.policy, 0x3001f);
    let ak = v.key("HCLAkPub").unwrap();
    assert_eq!(ak["kty"], "RSA");
    assert_eq!(ak["key_ops"][0], "sign");
    assert!(v.key("HCLEkPub").is_some());
    assert_eq!(v.claims["vm-configuration"]["secure-boot"], true);
    assert!(v.claims["vm-configuration"]["vmUniqueId"].is_string());
}

#[test]
fn runtime_claims_the_report_does_not_vouch_for_are_refused() {
    let mut report = data("hcl-report.bin");
    // A byte of the claims JSON (after the 20-byte runtime header at 0x4C0): the SNP report
    // still verifies, its report data no longer matches.
    let at = 0x4C0 + 20 + 30;
    report[at] = if report[at] == b'a' { b'b' } else { b'a' };
    let e = hcl::verify(&report, &data("vcek.pem"), JUNE_2024).unwrap_err();
    assert_eq!(e, HclError::Binding("SHA-256"));
    // A byte of the SNP report inside it.
    let mut report = data("hcl-report.bin");
    report[0x20 + 0x90] ^= 1;
    let e = hcl::verify(&report, &data("vcek.pem"), JUNE_2024).unwrap_err();
    assert_eq!(e, HclError::Snp(SnpError::Signature("VCEK")));
    // Not an HCL report at all.
    let e = hcl::verify(&data("quote.bin"), &data("vcek.pem"), JUNE_2024).unwrap_err();
    assert!(matches!(e, HclError::Malformed(_)), "{e}");
}

#[test]
fn the_vtpm_quote_verifies_with_the_hcl_attestation_key() {
    let v = hcl::verify(&data("hcl-report.bin"), &data("vcek.pem"), JUNE_2024).unwrap();
    let ak = v.key("HCLAkPub").unwrap();
    // quote.bin: a 256-byte signature at 8, the message length (u64 LE) at 264, the message
    // at 272.
    let blob = data("quote.bin");
    let len = u64::from_le_bytes(blob[264..272].try_into().unwrap()) as usize;
    let q = tpm::verify(&blob[272..272 + len], &blob[8..264], ak).unwrap();
    assert_eq!(q.extra_data, b"challenge");
    // The same quote as JSON, with the PCR values it digests.
    let j = json("tpm-quote-v1.json");
    let q = tpm::verify(&unhex(&j["message"]), &unhex(&j["signature"]), ak).unwrap();
    assert_eq!(q.extra_data, b"challenge");
    let pcrs: Vec<Vec<u8>> = j["pcrs"].as_array().unwrap().iter().map(unhex).collect();
    q.check_pcrs(&pcrs).unwrap();
    let mut altered = pcrs.clone();
    let first = usize::from(q.selections[0].1[0]);
    altered[first][0] ^= 1;
    assert!(matches!(q.check_pcrs(&altered), Err(QuoteError::Pcrs(_))));
}

#[test]
fn a_quote_from_another_vtpm_or_altered_is_refused() {
    let v = hcl::verify(&data("hcl-report.bin"), &data("vcek.pem"), JUNE_2024).unwrap();
    let ak = v.key("HCLAkPub").unwrap();
    let e = tpm::verify(&data("tpm-quote.msg"), &data("tpm-quote.sig"), ak).unwrap_err();
    assert_eq!(e, QuoteError::Signature);
    let j = json("tpm-quote-v1.json");
    let mut message = unhex(&j["message"]);
    let last = message.len() - 1;
    message[last] ^= 1;
    let e = tpm::verify(&message, &unhex(&j["signature"]), ak).unwrap_err();
    assert_eq!(e, QuoteError::Signature);
    let e = tpm::verify(&unhex(&j["message"]), &unhex(&j["signature"]), &v.claims).unwrap_err();
    assert!(matches!(e, QuoteError::Key(_)), "{e}");
}

/// Evidence as trustee's az-snp-vtpm attester packs it, versions 1 and 2: the HCL report and
/// the VCEK (DER) in base64url, the quote in hex. Its HCL report, VCEK and quote.
fn packed(name: &str) -> (Vec<u8>, Vec<u8>, Value) {
    let e = json(name);
    let b64url = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(v.as_str().unwrap().trim_end_matches('='))
            .unwrap()
    };
    (
        b64url(&e["hcl_report"]),
        b64url(&e["vcek"]),
        e["tpm_quote"].clone(),
    )
}

#[test]
fn packed_evidence_of_two_vms_verifies_whole() {
    for name in ["evidence-v1.json", "evidence-v2.json"] {
        let (report, vcek, q) = packed(name);
        let v = hcl::verify(&report, &vcek, JUNE_2025).unwrap();
        let quote = tpm::verify(
            &unhex(&q["message"]),
            &unhex(&q["signature"]),
            v.key("HCLAkPub").unwrap(),
        )
        .unwrap();
        let pcrs: Vec<Vec<u8>> = q["pcrs"].as_array().unwrap().iter().map(unhex).collect();
        quote.check_pcrs(&pcrs).unwrap();
        // Before its VCEK was issued (2025-01-28), the chain fails.
        let early = hcl::verify(&report, &vcek, JUNE_2024).unwrap_err();
        assert!(
            matches!(early, HclError::Snp(SnpError::Chain(_))),
            "{early}"
        );
    }
    // v2's user data reaches the claims.
    let (report, vcek, _) = packed("evidence-v2.json");
    let v = hcl::verify(&report, &vcek, JUNE_2025).unwrap();
    assert!(
        v.claims["user-data"]
            .as_str()
            .unwrap()
            .starts_with("982F5C6E")
    );
}

#[test]
fn genoa_evidence_verifies_through_genoas_chain() {
    let e = json("evidence-genoa.json");
    let report = bytes(&e["report"]);
    let v = hcl::verify(&report, e["vcek"].as_str().unwrap().as_bytes(), JUNE_2025).unwrap();
    assert_eq!(v.snp.generation, Generation::Genoa);
    assert_eq!(
        (v.snp.tcb.bootloader, v.snp.tcb.snp, v.snp.tcb.microcode),
        (10, 23, 84)
    );
    assert!(v.claims["vm-configuration"]["root-cert-thumbprint"].is_string());
    let q = &e["quote"];
    let quote = tpm::verify(
        &bytes(&q["message"]),
        &bytes(&q["signature"]),
        v.key("HCLAkPub").unwrap(),
    )
    .unwrap();
    // A 48-byte nonce: the 161-byte message holds a 34-byte signer name, one SHA-256 bank of
    // three selection bytes and a 32-byte digest around it, and nothing is left over.
    assert_eq!(quote.extra_data.len(), 48);
    let pcrs: Vec<Vec<u8>> = q["pcrs"].as_array().unwrap().iter().map(bytes).collect();
    quote.check_pcrs(&pcrs).unwrap();
    // The separate copy of its VCEK verifies it as well; the Milan VM's does not.
    hcl::verify(&report, &data("vcek-genoa.pem"), JUNE_2025).unwrap();
    assert!(hcl::verify(&report, &data("vcek.pem"), JUNE_2025).is_err());
}
