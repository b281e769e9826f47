//! Compact JWS with RS256: the access tokens Strongroom's token service issues and verifies,
//! and the JWK that publishes the signing key.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey};
use serde_json::{Value, json};
use strongroom_core::b64;
use thiserror::Error;
use zeroize::Zeroizing;

/// Why a token was rejected.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum JwsError {
    /// Not three base64url parts of JSON.
    #[error("the token is not a well-formed JWS")]
    Malformed,
    /// The header names another algorithm or key.
    #[error("the token was not signed by this service")]
    WrongKey,
    /// The signature does not verify.
    #[error("the token signature is invalid")]
    BadSignature,
    /// Key generation or encoding failed.
    #[error("token signing key failure")]
    Key,
}

/// An RS256 signing key with its key id.
pub struct TokenSigner {
    pair: KeyPair,
    kid: String,
}

impl TokenSigner {
    /// Generates a new RSA-2048 signing key; returns it with its PKCS#8 encoding for storage.
    pub fn generate() -> Result<(Self, Zeroizing<Vec<u8>>), JwsError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| JwsError::Key)?;
        let der = Zeroizing::new(pair.as_der().map_err(|_| JwsError::Key)?.as_ref().to_vec());
        Ok((Self::from_pair(pair), der))
    }

    /// Loads a stored signing key.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, JwsError> {
        KeyPair::from_pkcs8(der)
            .map(Self::from_pair)
            .map_err(|_| JwsError::Key)
    }

    fn from_pair(pair: KeyPair) -> Self {
        let (n, e) = components(&pair);
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let kid = b64::encode(digest::digest(&digest::SHA256, canonical.as_bytes()));
        Self { pair, kid }
    }

    /// The key id (RFC 7638 thumbprint).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK.
    pub fn jwk(&self) -> Value {
        let (n, e) = components(&self.pair);
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": n, "e": e})
    }

    /// Signs `claims` into a compact JWS.
    pub fn sign(&self, claims: &Value) -> Result<String, JwsError> {
        self.sign_with_header(json!({"kid": self.kid}), claims)
    }

    /// Signs `claims` with `header` (`alg` and `typ` are set here): for a JWT naming its key
    /// otherwise than by `kid`, such as a client assertion's `x5t`.
    pub fn sign_with_header(&self, mut header: Value, claims: &Value) -> Result<String, JwsError> {
        if let Some(map) = header.as_object_mut() {
            map.insert("alg".into(), json!("RS256"));
            map.insert("typ".into(), json!("JWT"));
        }
        let signing_input = format!(
            "{}.{}",
            b64::encode(header.to_string()),
            b64::encode(claims.to_string())
        );
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| JwsError::Key)?;
        Ok(format!("{signing_input}.{}", b64::encode(sig)))
    }

    /// Verifies a compact JWS signed by this key and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Value, JwsError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Malformed);
        };
        let header: Value = decode_json(h)?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256")
            || header
                .get("kid")
                .and_then(Value::as_str)
                .is_some_and(|k| k != self.kid)
        {
            return Err(JwsError::WrongKey);
        }
        let sig = b64::decode(s).map_err(|_| JwsError::Malformed)?;
        let message_len = h.len() + 1 + p.len();
        let message = token.get(..message_len).ok_or(JwsError::Malformed)?;
        UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            self.pair.public_key().as_ref(),
        )
        .verify(message.as_bytes(), &sig)
        .map_err(|_| JwsError::BadSignature)?;
        decode_json(p)
    }
}

fn components(pair: &KeyPair) -> (String, String) {
    let public = pair.public_key();
    (
        b64::encode(public.modulus().big_endian_without_leading_zero()),
        b64::encode(public.exponent().big_endian_without_leading_zero()),
    )
}

fn decode_json(part: &str) -> Result<Value, JwsError> {
    let bytes = b64::decode(part).map_err(|_| JwsError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwsError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_reject() {
        let (signer, der) = TokenSigner::generate().unwrap();
        let token = signer.sign(&json!({"aud": "x", "n": 1})).unwrap();
        assert_eq!(signer.verify(&token).unwrap()["aud"], "x");

        let reloaded = TokenSigner::from_pkcs8(&der).unwrap();
        assert_eq!(reloaded.kid(), signer.kid());
        assert!(reloaded.verify(&token).is_ok());

        let (other, _) = TokenSigner::generate().unwrap();
        assert_eq!(other.verify(&token), Err(JwsError::WrongKey));

        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64::encode(json!({"aud": "y", "n": 1}).to_string());
        parts[1] = &forged;
        assert_eq!(signer.verify(&parts.join(".")), Err(JwsError::BadSignature));
        assert_eq!(signer.verify("a.b"), Err(JwsError::Malformed));
        assert_eq!(signer.jwk()["kid"], signer.kid());
    }
}
