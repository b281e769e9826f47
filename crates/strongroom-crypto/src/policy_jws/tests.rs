use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair,
    RSA_PKCS1_SHA256, RsaKeyPair,
};
use serde_json::json;

use super::*;

const POLICY: &str = "version=1.0; authorizationrules { => permit(); }; issuancerules {};";

fn part(value: &Value) -> String {
    b64::encode(value.to_string().as_bytes())
}

fn unsigned(body: Option<&Value>) -> String {
    format!(
        "eyJhbGciOiJub25lIn0.{}.",
        body.map(part).unwrap_or_default()
    )
}

/// A certificate and a signer of its key.
enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

fn certificate(alg: &'static rcgen::SignatureAlgorithm) -> (Vec<u8>, Vec<u8>) {
    let key = rcgen::KeyPair::generate_for(alg).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["policy-signer".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.der().to_vec(), key.serialize_der())
}

fn signed(header: Value, body: &Value, signer: &Signer) -> String {
    let message = format!("{}.{}", part(&header), part(body));
    let rng = SystemRandom::new();
    let sig = match signer {
        Signer::Rsa(key) => {
            let mut sig = vec![0u8; key.public_modulus_len()];
            key.sign(&RSA_PKCS1_SHA256, &rng, message.as_bytes(), &mut sig)
                .unwrap();
            sig
        }
        Signer::Ec(key) => key
            .sign(&rng, message.as_bytes())
            .unwrap()
            .as_ref()
            .to_vec(),
    };
    format!("{message}.{}", b64::encode(&sig))
}

fn x5c(der: &[u8]) -> Value {
    use base64::Engine;
    json!([base64::engine::general_purpose::STANDARD.encode(der)])
}

#[test]
fn an_unsigned_policy_and_reset_are_read() {
    let body = json!({"AttestationPolicy": b64::encode(POLICY.as_bytes())});
    let token = unsigned(Some(&body));
    let got = read(&token).unwrap();
    assert_eq!(got.policy_text().unwrap().as_deref(), Some(POLICY));
    assert_eq!(got.signer, None);
    assert_eq!(
        got.token_hash,
        b64::encode(digest::digest(&digest::SHA256, token.as_bytes()))
    );
    // A reset: the empty payload the Python client sends.
    let reset = read_reset();
    assert_eq!(reset.body, None);
    assert_eq!(reset.policy_text().unwrap(), None);
    // An older client's raw text, and padded standard base64.
    let raw = json!({"AttestationPolicy": POLICY});
    assert_eq!(
        read(&unsigned(Some(&raw)))
            .unwrap()
            .policy_text()
            .unwrap()
            .as_deref(),
        Some(POLICY)
    );
    use base64::Engine;
    let padded =
        json!({"AttestationPolicy": base64::engine::general_purpose::STANDARD.encode(POLICY)});
    assert_eq!(
        read(&unsigned(Some(&padded)))
            .unwrap()
            .policy_text()
            .unwrap()
            .as_deref(),
        Some(POLICY)
    );
}

fn read_reset() -> PolicyJws {
    read("eyJhbGciOiJub25lIn0..").unwrap()
}

#[test]
fn signed_policies_verify_with_the_certificate_they_carry() {
    let body = json!({"AttestationPolicy": b64::encode(POLICY.as_bytes())});
    let (rsa_cert, rsa_key) = certificate(&rcgen::PKCS_RSA_SHA256);
    let rsa = Signer::Rsa(RsaKeyPair::from_pkcs8(&rsa_key).unwrap());
    let (ec_cert, ec_key) = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
    // The Python client signs EC keys in DER; JOSE's ES256 is fixed-width.
    let ec_der =
        Signer::Ec(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &ec_key).unwrap());
    let ec_fixed =
        Signer::Ec(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &ec_key).unwrap());
    let cases = [
        // The Python client: RSA256 with the certificate in jwk.x5c.
        (
            json!({"alg": "RSA256", "jwk": {"x5c": x5c(&rsa_cert)}}),
            &rsa,
            &rsa_cert,
        ),
        // The documented form: RS256 with a top-level x5c.
        (
            json!({"alg": "RS256", "x5c": x5c(&rsa_cert)}),
            &rsa,
            &rsa_cert,
        ),
        (
            json!({"alg": "ECDH256", "jwk": {"x5c": x5c(&ec_cert)}}),
            &ec_der,
            &ec_cert,
        ),
        (
            json!({"alg": "ES256", "x5c": x5c(&ec_cert)}),
            &ec_fixed,
            &ec_cert,
        ),
    ];
    for (header, signer, cert) in cases {
        let token = signed(header.clone(), &body, signer);
        let got = read(&token).unwrap_or_else(|e| panic!("{header}: {e}"));
        assert_eq!(got.signer.as_deref(), Some(cert.as_slice()), "{header}");
        assert_eq!(got.policy_text().unwrap().as_deref(), Some(POLICY));
        // One altered byte of the payload breaks it.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = part(&json!({"AttestationPolicy": b64::encode(b"version=1.0;")}));
        assert_eq!(read_err(&parts.join(".")), PolicyJwsError::BadSignature);
    }
    // Signed by one key, carrying another's certificate.
    let token = signed(json!({"alg": "RS256", "x5c": x5c(&ec_cert)}), &body, &rsa);
    assert_eq!(read_err(&token), PolicyJwsError::BadSignature);
    // Signed, with no certificate.
    let token = signed(json!({"alg": "RS256"}), &body, &rsa);
    assert_eq!(read_err(&token), PolicyJwsError::NoCertificate);
}

fn read_err(token: &str) -> PolicyJwsError {
    read(token).unwrap_err()
}

#[test]
fn malformed_tokens_are_refused_with_a_reason() {
    assert!(matches!(read_err("abc"), PolicyJwsError::Malformed(_)));
    assert!(matches!(read_err("a.b.c.d"), PolicyJwsError::Malformed(_)));
    assert!(matches!(read_err("!!.e30."), PolicyJwsError::Malformed(_)));
    let hs = format!("{}.e30.c2ln", part(&json!({"alg": "HS256"})));
    assert_eq!(read_err(&hs), PolicyJwsError::Algorithm("HS256".into()));
    // alg none with a signature.
    assert!(matches!(
        read_err("eyJhbGciOiJub25lIn0.e30.c2ln"),
        PolicyJwsError::Malformed(_)
    ));
    let no_policy = read(&unsigned(Some(&json!({"other": 1})))).unwrap();
    assert!(no_policy.policy_text().is_err());
}

#[test]
fn the_policy_hash_is_over_the_base64url_text() {
    // Computed independently (Python: base64.urlsafe_b64encode(hashlib.sha256(
    // base64.urlsafe_b64encode(text) without padding)) without padding).
    assert_eq!(
        policy_hash(POLICY),
        "lfVeHKkKisMmG_NLREtuz2UrU9xYi_fjYgmmTANE1f4"
    );
    assert_ne!(policy_hash(POLICY), policy_hash("version=1.1;"));
}
