//! JWTs signed by others: tokens of trusted external issuers (verified with their JWKS) and
//! `client_assertion` JWTs signed with an application's certificate.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{
    self, RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm,
};
use serde_json::Value;
use strongroom_core::b64;
use thiserror::Error;
use x509_cert::Certificate;
use x509_cert::der::{Decode, DecodePem, Encode};

/// Why a JWT was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts of JSON.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// An algorithm this service does not accept (`none`, HMAC, ...).
    #[error("the token's algorithm '{0}' is not accepted")]
    Algorithm(String),
    /// No key of the issuer has the token's `kid`.
    #[error("no signing key of the issuer matches the token's kid")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token signature is invalid")]
    BadSignature,
    /// The certificate or key cannot be used.
    #[error("{0}")]
    Key(String),
}

/// A compact JWT split into its parts; nothing verified yet.
#[derive(Debug)]
pub struct UnverifiedJwt<'a> {
    /// The protected header.
    pub header: Value,
    /// The claims.
    pub claims: Value,
    message: &'a str,
    signature: Vec<u8>,
}

impl<'a> UnverifiedJwt<'a> {
    /// Splits and decodes `token`.
    pub fn parse(token: &'a str) -> Result<Self, JwtError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let json = |part: &str| -> Result<Value, JwtError> {
            let bytes = b64::decode(part).map_err(|_| JwtError::Malformed)?;
            serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)
        };
        let header = json(h)?;
        let claims = json(p)?;
        if !claims.is_object() {
            return Err(JwtError::Malformed);
        }
        let signature = b64::decode(s).map_err(|_| JwtError::Malformed)?;
        let message = token
            .get(..h.len() + 1 + p.len())
            .ok_or(JwtError::Malformed)?;
        Ok(Self {
            header,
            claims,
            message,
            signature,
        })
    }

    /// A header member as text.
    pub fn header_text(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A claim as text.
    pub fn claim_text(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    fn alg(&self) -> &str {
        self.header_text("alg").unwrap_or("")
    }

    /// Verifies the signature with the key of `jwks` (a JWK Set) named by the header's `kid`
    /// (or its only key when the token names none).
    pub fn verify_with_jwks(&self, jwks: &Value) -> Result<(), JwtError> {
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| JwtError::Key("the JWKS has no keys array".into()))?;
        let kid = self.header_text("kid");
        let mut candidates = keys.iter().filter(|k| match kid {
            Some(kid) => k.get("kid").and_then(Value::as_str) == Some(kid),
            None => true,
        });
        let key = match (candidates.next(), candidates.next(), kid) {
            (Some(key), None, _) | (Some(key), Some(_), Some(_)) => key,
            (Some(_), Some(_), None) => {
                return Err(JwtError::Key(
                    "the token names no kid and the issuer has several keys".into(),
                ));
            }
            (None, _, _) => return Err(JwtError::UnknownKey),
        };
        self.verify_with_jwk(key)
    }

    fn verify_with_jwk(&self, jwk: &Value) -> Result<(), JwtError> {
        let field = |name: &str| -> Result<Vec<u8>, JwtError> {
            let text = jwk
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| JwtError::Key(format!("the issuer's key has no '{name}'")))?;
            b64::decode(text)
                .map_err(|_| JwtError::Key(format!("the key's '{name}' is not base64url")))
        };
        let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or("");
        let alg = self.alg();
        match (kty, rsa_algorithm(alg), ec_algorithm(alg)) {
            ("RSA", Some(algorithm), _) => {
                let key = RsaPublicKeyComponents {
                    n: field("n")?,
                    e: field("e")?,
                };
                key.verify(algorithm, self.message.as_bytes(), &self.signature)
                    .map_err(|_| JwtError::BadSignature)
            }
            ("EC", _, Some((algorithm, curve))) => {
                if jwk.get("crv").and_then(Value::as_str) != Some(curve) {
                    return Err(JwtError::Key(format!("{alg} needs a {curve} key")));
                }
                let mut point = vec![4u8];
                point.extend(field("x")?);
                point.extend(field("y")?);
                UnparsedPublicKey::new(algorithm, point)
                    .verify(self.message.as_bytes(), &self.signature)
                    .map_err(|_| JwtError::BadSignature)
            }
            _ => Err(JwtError::Algorithm(alg.to_owned())),
        }
    }

    /// Verifies the signature with the public key of a DER certificate (RS256 or PS256, as
    /// MSAL signs client assertions, or ES256/ES384 with an EC certificate).
    pub fn verify_with_certificate(&self, der: &[u8]) -> Result<(), JwtError> {
        let alg = self.alg();
        let algorithm: &'static dyn VerificationAlgorithm =
            match (rsa_algorithm(alg), ec_algorithm(alg)) {
                (Some(rsa), _) => rsa,
                (_, Some((ec, _))) => ec,
                _ => return Err(JwtError::Algorithm(alg.to_owned())),
            };
        verify_by_certificate(der, algorithm, self.message.as_bytes(), &self.signature)
    }
}

/// Verifies `signature` over `message` with the public key of a DER certificate.
pub(crate) fn verify_by_certificate(
    der: &[u8],
    algorithm: &'static dyn VerificationAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), JwtError> {
    let cert = Certificate::from_der(der).map_err(|e| JwtError::Key(e.to_string()))?;
    let key = cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes();
    UnparsedPublicKey::new(algorithm, key)
        .verify(message, signature)
        .map_err(|_| JwtError::BadSignature)
}

fn rsa_algorithm(alg: &str) -> Option<&'static signature::RsaParameters> {
    Some(match alg {
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
        "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
        "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
        "PS384" => &signature::RSA_PSS_2048_8192_SHA384,
        "PS512" => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

fn ec_algorithm(
    alg: &str,
) -> Option<(&'static signature::EcdsaVerificationAlgorithm, &'static str)> {
    Some(match alg {
        "ES256" => (&signature::ECDSA_P256_SHA256_FIXED, "P-256"),
        "ES384" => (&signature::ECDSA_P384_SHA384_FIXED, "P-384"),
        _ => return None,
    })
}

/// A certificate given as a credential: its DER, thumbprints and validity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// DER encoding.
    pub der: Vec<u8>,
    /// base64url SHA-1 of the DER (`x5t`).
    pub x5t: String,
    /// base64url SHA-256 of the DER (`x5t#S256`).
    pub x5t_s256: String,
    /// `notAfter`, Unix seconds.
    pub not_after: i64,
}

/// Reads a certificate from PEM (the first `CERTIFICATE` block) or DER.
pub fn read_certificate(bytes: &[u8]) -> Result<CertificateInfo, JwtError> {
    // DER begins with a SEQUENCE tag (0x30); anything else is read as PEM text.
    let cert = if bytes.first() != Some(&0x30) {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| JwtError::Key("the certificate PEM is not text".into()))?;
        let start = text
            .find("-----BEGIN CERTIFICATE-----")
            .ok_or_else(|| JwtError::Key("no CERTIFICATE block in the PEM".into()))?;
        let block = text.get(start..).unwrap_or_default();
        let end = block
            .find("-----END CERTIFICATE-----")
            .map(|i| i + "-----END CERTIFICATE-----".len())
            .ok_or_else(|| JwtError::Key("the CERTIFICATE block is not closed".into()))?;
        Certificate::from_pem(block.get(..end).unwrap_or_default())
            .map_err(|e| JwtError::Key(format!("not a certificate: {e}")))?
    } else {
        Certificate::from_der(bytes)
            .map_err(|e| JwtError::Key(format!("not a certificate: {e}")))?
    };
    let der = cert
        .to_der()
        .map_err(|e| JwtError::Key(format!("not a certificate: {e}")))?;
    let not_after = cert
        .tbs_certificate()
        .validity()
        .not_after
        .to_unix_duration()
        .as_secs();
    Ok(CertificateInfo {
        x5t: b64::encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &der)),
        x5t_s256: b64::encode(digest::digest(&digest::SHA256, &der)),
        not_after: i64::try_from(not_after).unwrap_or(i64::MAX),
        der,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _};
    use serde_json::json;

    fn compact(header: &Value, claims: &Value) -> String {
        format!(
            "{}.{}",
            b64::encode(header.to_string()),
            b64::encode(claims.to_string())
        )
    }

    fn rsa_jwt(pair: &KeyPair, alg: &str, kid: &str) -> String {
        let input = compact(&json!({"alg": alg, "kid": kid}), &json!({"sub": "s"}));
        let mut sig = vec![0u8; pair.public_modulus_len()];
        let padding: &dyn signature::RsaEncoding = if alg == "PS256" {
            &signature::RSA_PSS_SHA256
        } else {
            &signature::RSA_PKCS1_SHA256
        };
        pair.sign(padding, &SystemRandom::new(), input.as_bytes(), &mut sig)
            .unwrap();
        format!("{input}.{}", b64::encode(sig))
    }

    fn rsa_jwk(pair: &KeyPair, kid: &str) -> Value {
        let public = pair.public_key();
        json!({"kty": "RSA", "kid": kid,
            "n": b64::encode(public.modulus().big_endian_without_leading_zero()),
            "e": b64::encode(public.exponent().big_endian_without_leading_zero())})
    }

    #[test]
    fn rsa_tokens_verify_by_kid_and_forgeries_fail() {
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let other = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let jwks = json!({"keys": [rsa_jwk(&other, "k0"), rsa_jwk(&pair, "k1")]});
        for alg in ["RS256", "PS256"] {
            let token = rsa_jwt(&pair, alg, "k1");
            let jwt = UnverifiedJwt::parse(&token).unwrap();
            assert_eq!(jwt.claim_text("sub"), Some("s"));
            jwt.verify_with_jwks(&jwks).unwrap();
        }
        let token = rsa_jwt(&pair, "RS256", "k0");
        assert_eq!(
            UnverifiedJwt::parse(&token)
                .unwrap()
                .verify_with_jwks(&jwks),
            Err(JwtError::BadSignature)
        );
        let token = rsa_jwt(&pair, "RS256", "k9");
        assert_eq!(
            UnverifiedJwt::parse(&token)
                .unwrap()
                .verify_with_jwks(&jwks),
            Err(JwtError::UnknownKey)
        );
        let forged = compact(&json!({"alg": "none", "kid": "k1"}), &json!({"sub": "s"}));
        assert_eq!(
            UnverifiedJwt::parse(&format!("{forged}."))
                .unwrap()
                .verify_with_jwks(&jwks),
            Err(JwtError::Algorithm("none".into()))
        );
        let hmac = compact(&json!({"alg": "HS256", "kid": "k1"}), &json!({"sub": "s"}));
        assert!(matches!(
            UnverifiedJwt::parse(&format!("{hmac}.AAAA"))
                .unwrap()
                .verify_with_jwks(&jwks),
            Err(JwtError::Algorithm(_))
        ));
        assert_eq!(
            UnverifiedJwt::parse("a.b").unwrap_err(),
            JwtError::Malformed
        );
    }

    #[test]
    fn ec_tokens_verify() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .unwrap();
        let point = pair.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "e",
            "x": b64::encode(point.get(1..33).unwrap()), "y": b64::encode(point.get(33..).unwrap())});
        let input = compact(&json!({"alg": "ES256", "kid": "e"}), &json!({"sub": "s"}));
        let sig = pair.sign(&rng, input.as_bytes()).unwrap();
        let token = format!("{input}.{}", b64::encode(sig.as_ref()));
        UnverifiedJwt::parse(&token)
            .unwrap()
            .verify_with_jwks(&json!({"keys": [jwk]}))
            .unwrap();
    }

    #[test]
    fn certificates_sign_assertions() {
        use aws_lc_rs::encoding::AsDer;
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let rc_key = rcgen::KeyPair::try_from(pair.as_der().unwrap().as_ref()).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["app".into()])
            .unwrap()
            .self_signed(&rc_key)
            .unwrap();
        let info = read_certificate(cert.pem().as_bytes()).unwrap();
        assert_eq!(read_certificate(cert.der()).unwrap(), info);
        assert_eq!(info.x5t.len(), 27);
        assert_eq!(info.x5t_s256.len(), 43);
        for alg in ["RS256", "PS256"] {
            let token = rsa_jwt(&pair, alg, "x");
            UnverifiedJwt::parse(&token)
                .unwrap()
                .verify_with_certificate(&info.der)
                .unwrap();
        }
        let stranger = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let token = rsa_jwt(&stranger, "RS256", "x");
        assert_eq!(
            UnverifiedJwt::parse(&token)
                .unwrap()
                .verify_with_certificate(&info.der),
            Err(JwtError::BadSignature)
        );
        assert!(
            read_certificate(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
                .is_err()
        );
    }
}
