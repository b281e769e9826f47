//! Real SEV-SNP evidence (tests/data/snp, see its MANIFEST.md), verified at times pinned
//! inside each vector's window, and the refusals of altered or mismatched evidence.
#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step fails the test"
)]

use strongroom_attest::snp::{self, Generation, SigningKey, SnpError};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/snp/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// 2024-06-01T00:00:00Z: inside the VCEK vectors' windows.
const JUNE_2024: u64 = 1_717_200_000;
/// 2025-06-01T00:00:00Z: inside the VLEK's one-year window.
const JUNE_2025: u64 = 1_748_736_000;

fn milan_hex_report() -> Vec<u8> {
    let text = String::from_utf8(data("report_milan.hex")).unwrap();
    hex::decode(text.trim()).unwrap()
}

#[test]
fn a_vcek_signed_milan_report_verifies_and_yields_its_claims() {
    let v = snp::verify(&data("test-report.bin"), &data("test-vcek.der"), JUNE_2024).unwrap();
    assert_eq!(v.generation, Generation::Milan);
    assert_eq!(v.signing_key, SigningKey::Vcek);
    assert_eq!(v.report.version, 2);
    assert_eq!(v.report.policy, 0x3001f);
    assert_eq!(v.report.guest_svn, 4);
    assert_eq!(
        (v.tcb.bootloader, v.tcb.tee, v.tcb.snp, v.tcb.microcode),
        (3, 0, 8, 115)
    );
    assert!(hex::encode(v.report.chip_id).starts_with("c38427a30d4c7af9"));
    let claims = snp::claims(&v);
    assert_eq!(claims["x-ms-sevsnpvm-guestsvn"], 4);
    assert_eq!(claims["x-ms-sevsnpvm-microcode-svn"], 115);
    assert_eq!(claims["x-ms-sevsnpvm-snpfw-svn"], 8);
    assert_eq!(claims["x-ms-sevsnpvm-smt-allowed"], true, "policy bit 16");
    assert_eq!(claims["x-ms-sevsnpvm-is-debuggable"], false);
    assert_eq!(claims["x-ms-sevsnpvm-migration-allowed"], false);
    let measurement = claims["x-ms-sevsnpvm-launchmeasurement"].as_str().unwrap();
    assert_eq!(measurement, hex::encode(v.report.measurement));
    assert_eq!(measurement.len(), 96);
    assert!(claims.contains_key("x-ms-sevsnpvm-familyId"));
    assert!(claims.contains_key("x-ms-sevsnpvm-imageId"));
    assert_eq!(claims.len(), 17);
}

#[test]
fn the_hex_milan_report_verifies_with_its_vcek_alone_or_with_amds_chain() {
    let report = milan_hex_report();
    let v = snp::verify(&report, &data("vcek_milan.der"), JUNE_2024).unwrap();
    assert_eq!(v.report.policy, 0x30000);
    assert!(hex::encode(v.report.chip_id).starts_with("d49554ec717f"));
    // The VCEK in PEM followed by the ASK and ARK AMD publishes.
    let vcek = x509_pem(&data("vcek_milan.der"));
    let mut chain = vcek.into_bytes();
    chain.extend(data("cert_chain_milan"));
    snp::verify(&report, &chain, JUNE_2024).unwrap();
}

#[test]
fn a_vlek_signed_report_verifies_through_the_asvk_inside_the_vleks_year() {
    let report = data("test-vlek-report.bin");
    let v = snp::verify(&report, &data("test-vlek.der"), JUNE_2025).unwrap();
    assert_eq!(v.signing_key, SigningKey::Vlek);
    assert_eq!(v.report.version, 3);
    assert_eq!(v.generation, Generation::Milan);
    assert_eq!(
        v.report.chip_id, [0u8; 64],
        "a VLEK report carries no chip id"
    );
    // The VLEK expired on 2025-12-10.
    let late = snp::verify(&report, &data("test-vlek.der"), JUNE_2025 + 365 * 86_400);
    assert!(
        matches!(late, Err(SnpError::Chain(ref e)) if e.to_string().contains("SEV-VLEK")),
        "{late:?}"
    );
}

#[test]
fn time_outside_the_windows_is_refused() {
    // Before the VCEK was issued (2023-01-24), and after it expires (2030-01-24).
    for at in [1_600_000_000, 1_900_000_000] {
        let e = snp::verify(&data("test-report.bin"), &data("test-vcek.der"), at).unwrap_err();
        assert!(matches!(e, SnpError::Chain(_)), "{e}");
        assert!(e.to_string().contains("not at"), "{e}");
    }
}

#[test]
fn a_flipped_byte_in_the_report_or_its_signature_is_refused() {
    let good = data("test-report.bin");
    // A byte of the measurement, inside the signed part.
    let mut body = good.clone();
    body[0x90] ^= 1;
    assert_eq!(
        snp::verify(&body, &data("test-vcek.der"), JUNE_2024).unwrap_err(),
        SnpError::Signature("VCEK")
    );
    // A byte of r.
    let mut sig = good.clone();
    sig[0x2A0] ^= 1;
    assert_eq!(
        snp::verify(&sig, &data("test-vcek.der"), JUNE_2024).unwrap_err(),
        SnpError::Signature("VCEK")
    );
    // The reported TCB no longer matches the VCEK's.
    let mut tcb = good.clone();
    tcb[0x187] ^= 1;
    let e = snp::verify(&tcb, &data("test-vcek.der"), JUNE_2024).unwrap_err();
    assert!(
        matches!(e, SnpError::Mismatch(ref m) if m.contains("microcode")),
        "{e}"
    );
    // Nor the chip id.
    let mut chip = good;
    chip[0x1A0] ^= 1;
    let e = snp::verify(&chip, &data("test-vcek.der"), JUNE_2024).unwrap_err();
    assert!(
        matches!(e, SnpError::Mismatch(ref m) if m.contains("chip")),
        "{e}"
    );
}

#[test]
fn a_vcek_of_another_chip_or_not_signed_by_amd_is_refused() {
    // Another chip's genuine VCEK: the chain holds, the TCB matches, the chip does not.
    let e = snp::verify(&data("test-report.bin"), &data("vcek_milan.der"), JUNE_2024).unwrap_err();
    assert!(
        matches!(e, SnpError::Mismatch(ref m) if m.contains("chip")),
        "{e}"
    );
    // VCEK-shaped certificates AMD never signed.
    for forged in ["test-vcek-invalid-legacy.der", "test-vcek-invalid-new.der"] {
        let e = snp::verify(&data("test-report.bin"), &data(forged), JUNE_2024).unwrap_err();
        assert!(matches!(e, SnpError::UnknownRoot { .. }), "{forged}: {e}");
    }
}

#[test]
fn a_chain_to_another_root_is_refused() {
    // The Milan VCEK followed by Turin's ASK and ARK: not the chain that signed it.
    let mut chain = x509_pem(&data("vcek_milan.der")).into_bytes();
    chain.extend(data("cert_chain_turin"));
    let e = snp::verify(&milan_hex_report(), &chain, JUNE_2024).unwrap_err();
    assert!(matches!(e, SnpError::UnknownRoot { .. }), "{e}");
    // A certificate naming AMD's SEV-Milan as its issuer, signed by another key.
    let e = snp::verify(&milan_hex_report(), FORGED.as_bytes(), JUNE_2024).unwrap_err();
    assert!(matches!(e, SnpError::UnknownRoot { .. }), "{e}");
}

#[test]
fn the_turin_vcek_chains_to_turins_roots() {
    // No Turin report is among the vectors. Against the Milan report, the Turin chain is
    // accepted (valid, signed by Turin's ASK and ARK) and the refusal comes from the next
    // check: the report's TCB read in Turin's layout is not the VCEK's.
    let e = snp::verify(&milan_hex_report(), &data("vcek_turin.der"), JUNE_2025).unwrap_err();
    assert!(
        matches!(e, SnpError::Mismatch(ref m) if m.contains("level")),
        "{e}"
    );
    // Before the Turin VCEK was issued, the chain itself fails.
    let e = snp::verify(&milan_hex_report(), &data("vcek_turin.der"), JUNE_2024).unwrap_err();
    assert!(matches!(e, SnpError::Chain(_)), "{e}");
}

#[test]
fn malformed_evidence_is_refused_with_a_reason() {
    let e = snp::verify(&[0u8; 10], &data("test-vcek.der"), JUNE_2024).unwrap_err();
    assert!(e.to_string().contains("1184 bytes"), "{e}");
    let e = snp::verify(&data("test-report.bin"), b"garbage", JUNE_2024).unwrap_err();
    assert!(matches!(e, SnpError::Chain(_)), "{e}");
    let mut unsigned = data("test-report.bin");
    unsigned[0x48] = 0x1c;
    let e = snp::verify(&unsigned, &data("test-vcek.der"), JUNE_2024).unwrap_err();
    assert!(e.to_string().contains("not signed"), "{e}");
}

fn x509_pem(der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// A P-384 certificate CN=SEV-VCEK whose issuer name is the Milan ASK's but which a CA of
/// this test's own (an RSA key under that same name) signed.
const FORGED: &str = include_str!("data/forged-vcek.pem");
