//! Attestation tokens: RS256 JWS signed by a provider's signing key, whose self-signed
//! certificate `/certs` publishes (`{"keys": [{"kty", "kid", "x5c"}]}`); the header names the
//! key (`kid`, the padded standard base64 of the SHA-256 of the certificate, as MAA's are) and
//! where to fetch it (`jku`). Tokens live 8 hours from `iat` (= `nbf`), each with its own `jti`.
//! A draft-policy attestation gets an unsigned token (`alg: none`), which cannot be mistaken
//! for a verified one.

use base64::Engine;
use serde_json::{Map, Value, json};
use strongroom_core::b64;
use strongroom_crypto::jws::TokenSigner;
use zeroize::Zeroizing;

/// The lifetime of an attestation token, in seconds.
pub const TOKEN_LIFETIME: i64 = 8 * 3600;

/// Why a signing key could not be made or loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attestation signing key: {0}")]
pub struct SignerError(String);

/// A provider's token-signing key and its certificate.
pub struct AttestationSigner {
    signer: TokenSigner,
    certificate: Vec<u8>,
    kid: String,
}

impl AttestationSigner {
    /// A new RSA-2048 key with a self-signed certificate naming `provider` (its URL); returns
    /// it with its PKCS#8 encoding, to be stored sealed beside the certificate.
    pub fn generate(provider: &str) -> Result<(Self, Zeroizing<Vec<u8>>), SignerError> {
        let bad = |e: &dyn std::fmt::Display| SignerError(e.to_string());
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).map_err(|e| bad(&e))?;
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| bad(&e))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, provider);
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2045, 1, 1);
        let certificate = params.self_signed(&key).map_err(|e| bad(&e))?;
        let pkcs8 = Zeroizing::new(key.serialize_der());
        let signer = Self::load(&pkcs8, certificate.der())?;
        Ok((signer, pkcs8))
    }

    /// A stored key and its certificate.
    pub fn load(pkcs8: &[u8], certificate: &[u8]) -> Result<Self, SignerError> {
        let signer = TokenSigner::from_pkcs8(pkcs8).map_err(|e| SignerError(e.to_string()))?;
        let kid = base64::engine::general_purpose::STANDARD
            .encode(strongroom_crypto::sha256(certificate));
        Ok(Self {
            signer,
            certificate: certificate.to_vec(),
            kid,
        })
    }

    /// Its key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The certificate (DER).
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// Its entry in `/certs`.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "kid": self.kid,
            "x5c": [base64::engine::general_purpose::STANDARD.encode(&self.certificate)],
        })
    }

    /// A token of `claims` from the provider at `issuer` (its URL), issued at `now`.
    pub fn issue(
        &self,
        issuer: &str,
        claims: Map<String, Value>,
        now: i64,
    ) -> Result<String, SignerError> {
        let issuer = issuer.trim_end_matches('/');
        let header = json!({"jku": format!("{issuer}/certs"), "kid": self.kid});
        let body = with_registered(issuer, claims, now);
        self.signer
            .sign_with_header(header, &Value::Object(body))
            .map_err(|e| SignerError(e.to_string()))
    }
}

/// `/certs`: the signing keys of a provider, the current one first.
pub fn certs<'a>(signers: impl IntoIterator<Item = &'a AttestationSigner>) -> Value {
    json!({"keys": signers.into_iter().map(AttestationSigner::jwk).collect::<Vec<_>>()})
}

/// The unsigned token of a draft-policy attestation.
pub fn unsigned(issuer: &str, claims: Map<String, Value>, now: i64) -> String {
    let body = with_registered(issuer.trim_end_matches('/'), claims, now);
    format!(
        "{}.{}.",
        b64::encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64::encode(Value::Object(body).to_string())
    )
}

fn with_registered(issuer: &str, mut claims: Map<String, Value>, now: i64) -> Map<String, Value> {
    let jti = hex::encode(strongroom_crypto::sha256(uuid::Uuid::new_v4().as_bytes()));
    claims.insert("iss".into(), issuer.into());
    claims.insert("iat".into(), now.into());
    claims.insert("nbf".into(), now.into());
    claims.insert("exp".into(), (now + TOKEN_LIFETIME).into());
    claims.insert("jti".into(), jti.into());
    claims
}

#[cfg(test)]
mod tests {
    use strongroom_crypto::jwt::UnverifiedJwt;

    use super::*;

    const PROVIDER: &str = "https://shared.attest.strongroom.localhost:8443/";
    const NOW: i64 = 1_780_000_000;

    #[test]
    fn tokens_verify_with_the_certificate_certs_publishes() {
        let (signer, pkcs8) = AttestationSigner::generate(PROVIDER).unwrap();
        let mut claims = Map::new();
        claims.insert("x-ms-attestation-type".into(), "sevsnpvm".into());
        let token = signer.issue(PROVIDER, claims, NOW).unwrap();
        let jwt = UnverifiedJwt::parse(&token).unwrap();
        assert_eq!(jwt.header["alg"], "RS256");
        assert_eq!(jwt.header["typ"], "JWT");
        assert_eq!(
            jwt.header["jku"],
            "https://shared.attest.strongroom.localhost:8443/certs"
        );
        // The key named by kid in /certs verifies it.
        let published = certs([&signer]);
        let entry = &published["keys"][0];
        assert_eq!(jwt.header["kid"], entry["kid"]);
        assert_eq!(
            entry["kid"].as_str().unwrap().len(),
            44,
            "padded base64 of 32 bytes"
        );
        let der = base64::engine::general_purpose::STANDARD
            .decode(entry["x5c"][0].as_str().unwrap())
            .unwrap();
        jwt.verify_with_certificate(&der).unwrap();
        let c = &jwt.claims;
        assert_eq!(c["iss"], "https://shared.attest.strongroom.localhost:8443");
        assert_eq!(c["iat"], NOW);
        assert_eq!(c["nbf"], NOW);
        assert_eq!(c["exp"], NOW + 28_800);
        assert_eq!(c["x-ms-attestation-type"], "sevsnpvm");
        let jti = c["jti"].as_str().unwrap();
        assert_eq!(jti.len(), 64);
        // Each token has its own jti; a stored key signs alike.
        let again = AttestationSigner::load(&pkcs8, signer.certificate()).unwrap();
        assert_eq!(again.kid(), signer.kid());
        let other = again.issue(PROVIDER, Map::new(), NOW).unwrap();
        let other = UnverifiedJwt::parse(&other).unwrap();
        other.verify_with_certificate(&der).unwrap();
        assert_ne!(other.claims["jti"], c["jti"]);
        // Another provider's key does not.
        let (stranger, _) = AttestationSigner::generate(PROVIDER).unwrap();
        assert!(jwt.verify_with_certificate(stranger.certificate()).is_err());
    }

    #[test]
    fn draft_policy_tokens_are_unsigned() {
        let token = unsigned(PROVIDER, Map::new(), NOW);
        assert!(token.ends_with('.'));
        let mut parts = token.split('.');
        let header: Value =
            serde_json::from_slice(&b64::decode(parts.next().unwrap()).unwrap()).unwrap();
        assert_eq!(header["alg"], "none");
        let body: Value =
            serde_json::from_slice(&b64::decode(parts.next().unwrap()).unwrap()).unwrap();
        assert_eq!(body["exp"], NOW + TOKEN_LIFETIME);
        assert_eq!(parts.next(), Some(""));
    }
}
