//! The key model: key types, curves, permitted operations, algorithms, public parts, attributes
//! and the stored form of one key version.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::clock::UnixTime;
use crate::names::{KeyName, KeyVersion, VaultName};

/// The family of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyKind {
    /// RSA.
    Rsa,
    /// Elliptic curve.
    Ec,
    /// Symmetric AES ("octet sequence").
    Oct,
}

/// A Key Vault key type (`kty`): a family and whether it is HSM-protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyType {
    /// The family.
    pub kind: KeyKind,
    /// `-HSM` flavour.
    pub hsm: bool,
}

impl KeyType {
    /// The wire spelling: `RSA`, `RSA-HSM`, `EC`, `EC-HSM`, `oct`, `oct-HSM`.
    pub fn as_str(self) -> &'static str {
        match (self.kind, self.hsm) {
            (KeyKind::Rsa, false) => "RSA",
            (KeyKind::Rsa, true) => "RSA-HSM",
            (KeyKind::Ec, false) => "EC",
            (KeyKind::Ec, true) => "EC-HSM",
            (KeyKind::Oct, false) => "oct",
            (KeyKind::Oct, true) => "oct-HSM",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyType {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, hsm) = match s.to_ascii_uppercase().as_str() {
            "RSA" => (KeyKind::Rsa, false),
            "RSA-HSM" => (KeyKind::Rsa, true),
            "EC" => (KeyKind::Ec, false),
            "EC-HSM" => (KeyKind::Ec, true),
            "OCT" => (KeyKind::Oct, false),
            "OCT-HSM" => (KeyKind::Oct, true),
            _ => {
                return Err(DomainError::bad(format!(
                    "The key type '{}' is not supported. Supported key types are RSA, RSA-HSM, EC, EC-HSM, oct and oct-HSM.",
                    s.chars().take(32).collect::<String>()
                )));
            }
        };
        Ok(Self { kind, hsm })
    }
}

/// An elliptic curve (`crv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Curve {
    /// NIST P-256.
    P256,
    /// NIST P-384.
    P384,
    /// NIST P-521.
    P521,
    /// secp256k1.
    P256K,
}

impl Curve {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
            Self::P256K => "P-256K",
        }
    }

    /// Length in bytes of one coordinate or of the private scalar.
    pub fn field_len(self) -> usize {
        match self {
            Self::P256 | Self::P256K => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }
}

impl FromStr for Curve {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "P-256" => Ok(Self::P256),
            "P-384" => Ok(Self::P384),
            "P-521" => Ok(Self::P521),
            "P-256K" | "SECP256K1" => Ok(Self::P256K),
            _ => Err(DomainError::bad(format!(
                "The curve '{}' is not supported. Supported curves are P-256, P-256K, P-384 and P-521.",
                s.chars().take(32).collect::<String>()
            ))),
        }
    }
}

/// An operation a key may permit (`key_ops`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyOp {
    /// encrypt
    Encrypt,
    /// decrypt
    Decrypt,
    /// sign
    Sign,
    /// verify
    Verify,
    /// wrapKey
    WrapKey,
    /// unwrapKey
    UnwrapKey,
    /// import
    Import,
    /// export
    Export,
}

impl KeyOp {
    /// The wire spelling, exactly as Key Vault returns it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
            Self::Sign => "sign",
            Self::Verify => "verify",
            Self::WrapKey => "wrapKey",
            Self::UnwrapKey => "unwrapKey",
            Self::Import => "import",
            Self::Export => "export",
        }
    }

    /// The operations a key of this kind can perform, in Key Vault's order.
    pub fn defaults_for(kind: KeyKind) -> Vec<KeyOp> {
        match kind {
            KeyKind::Rsa => vec![
                Self::Encrypt,
                Self::Decrypt,
                Self::Sign,
                Self::Verify,
                Self::WrapKey,
                Self::UnwrapKey,
            ],
            KeyKind::Ec => vec![Self::Sign, Self::Verify],
            KeyKind::Oct => vec![Self::Encrypt, Self::Decrypt, Self::WrapKey, Self::UnwrapKey],
        }
    }

    /// Whether a key of this kind can perform the operation at all.
    pub fn applies_to(self, kind: KeyKind) -> bool {
        matches!(self, Self::Import | Self::Export) || Self::defaults_for(kind).contains(&self)
    }
}

impl FromStr for KeyOp {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "encrypt" => Ok(Self::Encrypt),
            "decrypt" => Ok(Self::Decrypt),
            "sign" => Ok(Self::Sign),
            "verify" => Ok(Self::Verify),
            "wrapkey" => Ok(Self::WrapKey),
            "unwrapkey" => Ok(Self::UnwrapKey),
            "import" => Ok(Self::Import),
            "export" => Ok(Self::Export),
            _ => Err(DomainError::bad(format!(
                "The key operation '{}' is not valid. Valid operations are encrypt, decrypt, sign, verify, wrapKey, unwrapKey, import and export.",
                s.chars().take(32).collect::<String>()
            ))),
        }
    }
}

/// AES key length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AesBits {
    /// 128 bits.
    B128,
    /// 192 bits.
    B192,
    /// 256 bits.
    B256,
}

impl AesBits {
    /// Key length in bytes.
    pub fn bytes(self) -> usize {
        match self {
            Self::B128 => 16,
            Self::B192 => 24,
            Self::B256 => 32,
        }
    }

    /// From a key length in bits.
    pub fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            128 => Some(Self::B128),
            192 => Some(Self::B192),
            256 => Some(Self::B256),
            _ => None,
        }
    }

    /// From a key length in bytes.
    pub fn from_len(len: usize) -> Option<Self> {
        match len {
            16 => Some(Self::B128),
            24 => Some(Self::B192),
            32 => Some(Self::B256),
            _ => None,
        }
    }

    fn bits(self) -> u32 {
        match self {
            Self::B128 => 128,
            Self::B192 => 192,
            Self::B256 => 256,
        }
    }
}

/// An encryption or key-wrap algorithm (`alg` of encrypt, decrypt, wrapKey, unwrapKey).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncryptionAlgorithm {
    /// RSA-OAEP with SHA-1 and MGF1-SHA-1.
    RsaOaep,
    /// RSA-OAEP with SHA-256 and MGF1-SHA-256.
    RsaOaep256,
    /// RSAES-PKCS1-v1_5.
    Rsa15,
    /// AES-GCM.
    AesGcm(AesBits),
    /// AES-CBC without padding.
    AesCbc(AesBits),
    /// AES-CBC with PKCS#7 padding.
    AesCbcPad(AesBits),
    /// AES key wrap (RFC 3394) with a key of the given size.
    AesKw(AesBits),
    /// AES key wrap (RFC 3394) with any AES key size.
    CkmAesKeyWrap,
    /// AES key wrap with padding (RFC 5649) with any AES key size.
    CkmAesKeyWrapPad,
}

impl EncryptionAlgorithm {
    /// The key family the algorithm needs.
    pub fn kind(self) -> KeyKind {
        match self {
            Self::RsaOaep | Self::RsaOaep256 | Self::Rsa15 => KeyKind::Rsa,
            _ => KeyKind::Oct,
        }
    }

    /// The AES key size the algorithm requires, if it names one.
    pub fn required_aes_bits(self) -> Option<AesBits> {
        match self {
            Self::AesGcm(b) | Self::AesCbc(b) | Self::AesCbcPad(b) | Self::AesKw(b) => Some(b),
            _ => None,
        }
    }

    /// Whether this is one of the key-wrap-only algorithms.
    pub fn is_key_wrap(self) -> bool {
        matches!(
            self,
            Self::AesKw(_) | Self::CkmAesKeyWrap | Self::CkmAesKeyWrapPad
        )
    }

    /// The wire spelling.
    pub fn as_string(self) -> String {
        match self {
            Self::RsaOaep => "RSA-OAEP".into(),
            Self::RsaOaep256 => "RSA-OAEP-256".into(),
            Self::Rsa15 => "RSA1_5".into(),
            Self::AesGcm(b) => format!("A{}GCM", b.bits()),
            Self::AesCbc(b) => format!("A{}CBC", b.bits()),
            Self::AesCbcPad(b) => format!("A{}CBCPAD", b.bits()),
            Self::AesKw(b) => format!("A{}KW", b.bits()),
            Self::CkmAesKeyWrap => "CKM_AES_KEY_WRAP".into(),
            Self::CkmAesKeyWrapPad => "CKM_AES_KEY_WRAP_PAD".into(),
        }
    }
}

impl FromStr for EncryptionAlgorithm {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.to_ascii_uppercase();
        let fixed = match upper.as_str() {
            "RSA-OAEP" => Some(Self::RsaOaep),
            "RSA-OAEP-256" => Some(Self::RsaOaep256),
            "RSA1_5" => Some(Self::Rsa15),
            "CKM_AES_KEY_WRAP" => Some(Self::CkmAesKeyWrap),
            "CKM_AES_KEY_WRAP_PAD" => Some(Self::CkmAesKeyWrapPad),
            _ => None,
        };
        fixed.or_else(|| parse_aes_alg(&upper)).ok_or_else(|| {
            DomainError::bad(format!(
                "The algorithm '{}' is not a valid encryption or key wrap algorithm.",
                s.chars().take(32).collect::<String>()
            ))
        })
    }
}

fn parse_aes_alg(upper: &str) -> Option<EncryptionAlgorithm> {
    let rest = upper.strip_prefix('A')?;
    let bits = AesBits::from_bits(rest.get(..3)?.parse().ok()?)?;
    match rest.get(3..)? {
        "GCM" => Some(EncryptionAlgorithm::AesGcm(bits)),
        "CBC" => Some(EncryptionAlgorithm::AesCbc(bits)),
        "CBCPAD" => Some(EncryptionAlgorithm::AesCbcPad(bits)),
        "KW" => Some(EncryptionAlgorithm::AesKw(bits)),
        _ => None,
    }
}

/// Digest used by a signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlg {
    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// A signature algorithm (`alg` of sign and verify). Input is always a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5.
    Rs(DigestAlg),
    /// RSASSA-PSS, salt length = digest length.
    Ps(DigestAlg),
    /// ECDSA; raw `r || s` output.
    Es(Curve),
}

impl SignatureAlgorithm {
    /// The key family the algorithm needs.
    pub fn kind(self) -> KeyKind {
        match self {
            Self::Rs(_) | Self::Ps(_) => KeyKind::Rsa,
            Self::Es(_) => KeyKind::Ec,
        }
    }

    /// The digest the caller must supply.
    pub fn digest(self) -> DigestAlg {
        match self {
            Self::Rs(d) | Self::Ps(d) => d,
            Self::Es(Curve::P256 | Curve::P256K) => DigestAlg::Sha256,
            Self::Es(Curve::P384) => DigestAlg::Sha384,
            Self::Es(Curve::P521) => DigestAlg::Sha512,
        }
    }
}

impl FromStr for SignatureAlgorithm {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "RS256" => Ok(Self::Rs(DigestAlg::Sha256)),
            "RS384" => Ok(Self::Rs(DigestAlg::Sha384)),
            "RS512" => Ok(Self::Rs(DigestAlg::Sha512)),
            "PS256" => Ok(Self::Ps(DigestAlg::Sha256)),
            "PS384" => Ok(Self::Ps(DigestAlg::Sha384)),
            "PS512" => Ok(Self::Ps(DigestAlg::Sha512)),
            "ES256" => Ok(Self::Es(Curve::P256)),
            "ES256K" => Ok(Self::Es(Curve::P256K)),
            "ES384" => Ok(Self::Es(Curve::P384)),
            "ES512" => Ok(Self::Es(Curve::P521)),
            _ => Err(DomainError::bad(format!(
                "The algorithm '{}' is not a supported signature algorithm. Supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES256K, ES384, ES512.",
                s.chars().take(32).collect::<String>()
            ))),
        }
    }
}

/// What to generate: the key family and its size or curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    /// RSA with a modulus of this many bits (2048, 3072 or 4096).
    Rsa {
        /// Modulus size in bits.
        bits: u32,
        /// Public exponent.
        exponent: RsaExponent,
    },
    /// An EC key on this curve.
    Ec {
        /// The curve.
        curve: Curve,
    },
    /// An AES key.
    Oct {
        /// Key size.
        bits: AesBits,
    },
}

impl KeySpec {
    /// The key family.
    pub fn kind(self) -> KeyKind {
        match self {
            Self::Rsa { .. } => KeyKind::Rsa,
            Self::Ec { .. } => KeyKind::Ec,
            Self::Oct { .. } => KeyKind::Oct,
        }
    }
}

/// An RSA public exponent: odd, at least 3 and below 2^32 (the range RSA libraries generate
/// keys for). Key Vault vaults take only 65537; Managed HSM pools take any such value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RsaExponent(u32);

impl RsaExponent {
    /// 65537 (F4), the exponent every vault and every client default uses.
    pub const F4: Self = Self(65537);

    /// The exponent's value.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The exponent from its big-endian bytes (a JWK's `e`), if it is one.
    pub fn from_be_bytes(e: &[u8]) -> Option<Self> {
        if e.len() > 8 {
            return None;
        }
        let value = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        Self::try_from(value).ok()
    }
}

impl Default for RsaExponent {
    fn default() -> Self {
        Self::F4
    }
}

impl TryFrom<u64> for RsaExponent {
    type Error = DomainError;

    fn try_from(e: u64) -> Result<Self, DomainError> {
        match u32::try_from(e) {
            Ok(e) if e >= 3 && e % 2 == 1 => Ok(Self(e)),
            _ => Err(DomainError::bad(format!(
                "The public exponent {e} is not valid: it must be an odd number from 3 to 4294967295."
            ))),
        }
    }
}

/// The public half of a key, as it appears in a JWK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PublicKeyParts {
    /// RSA modulus and exponent, big-endian without leading zeros.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// EC public point.
    Ec {
        /// The curve.
        curve: Curve,
        /// X coordinate, fixed length.
        x: Vec<u8>,
        /// Y coordinate, fixed length.
        y: Vec<u8>,
    },
    /// Symmetric keys have no public part; only their size is recorded.
    Oct {
        /// Key size in bytes.
        len: usize,
    },
}

impl PublicKeyParts {
    /// The key family.
    pub fn kind(&self) -> KeyKind {
        match self {
            Self::Rsa { .. } => KeyKind::Rsa,
            Self::Ec { .. } => KeyKind::Ec,
            Self::Oct { .. } => KeyKind::Oct,
        }
    }

    /// The spec that would generate a key of this shape.
    pub fn spec(&self) -> Option<KeySpec> {
        match self {
            Self::Rsa { n, e } => Some(KeySpec::Rsa {
                bits: u32::try_from(n.len() * 8).ok()?,
                exponent: RsaExponent::from_be_bytes(e)?,
            }),
            Self::Ec { curve, .. } => Some(KeySpec::Ec { curve: *curve }),
            Self::Oct { len } => AesBits::from_len(*len).map(|bits| KeySpec::Oct { bits }),
        }
    }
}

/// The writable and read-only attributes of a key version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttributes {
    /// Whether the version may be used.
    pub enabled: bool,
    /// Not before (Unix seconds).
    pub nbf: Option<UnixTime>,
    /// Expiry (Unix seconds).
    pub exp: Option<UnixTime>,
    /// Whether the private key may be released (Secure Key Release).
    pub exportable: bool,
    /// Creation time.
    pub created: UnixTime,
    /// Last update time.
    pub updated: UnixTime,
}

/// A release policy attached to an exportable key: the policy document bytes as the caller sent
/// them, its content type and whether it is immutable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasePolicy {
    /// `contentType`.
    pub content_type: Option<String>,
    /// The policy document.
    pub data: Vec<u8>,
    /// Once true, never changes again.
    pub immutable: bool,
}

/// Free-form tags (at most 15, Key Vault's limit).
pub type Tags = BTreeMap<String, String>;

/// Checks Key Vault's tag limits: at most 15 tags, names up to 512 and values up to 256 chars.
pub fn check_tags(tags: &Tags) -> Result<(), DomainError> {
    if tags.len() > 15 {
        return Err(DomainError::bad("A key can have at most 15 tags."));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 512 || v.chars().count() > 256 {
            return Err(DomainError::bad(
                "Tag names must be 1-512 characters and tag values at most 256 characters.",
            ));
        }
    }
    Ok(())
}

/// Identifies one key version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionId {
    /// The vault or pool.
    pub vault: VaultName,
    /// The key.
    pub name: KeyName,
    /// The version.
    pub version: KeyVersion,
}

/// One stored key version: everything but the plaintext private material, which is sealed.
#[derive(Debug, Clone)]
pub struct KeyVersionRecord {
    /// Which version this is.
    pub id: VersionId,
    /// `kty`.
    pub key_type: KeyType,
    /// Public parts for the JWK.
    pub public: PublicKeyParts,
    /// Permitted operations.
    pub key_ops: Vec<KeyOp>,
    /// Attributes.
    pub attributes: KeyAttributes,
    /// Tags.
    pub tags: Tags,
    /// Release policy, for exportable keys.
    pub release_policy: Option<ReleasePolicy>,
    /// The private material sealed under the vault KEK (AES-256-GCM, AAD bound to the id).
    pub sealed: Vec<u8>,
}

/// The additional authenticated data that binds sealed material to its version.
pub fn sealing_aad(id: &VersionId) -> Vec<u8> {
    format!(
        "strongroom/key-material/v1\0{}\0{}\0{}",
        id.vault, id.name, id.version
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_types_round_trip() {
        for text in ["RSA", "RSA-HSM", "EC", "EC-HSM", "oct", "oct-HSM"] {
            assert_eq!(text.parse::<KeyType>().unwrap().as_str(), text);
        }
        assert!("DSA".parse::<KeyType>().is_err());
    }

    #[test]
    fn encryption_algorithms_parse() {
        for text in [
            "RSA-OAEP",
            "RSA-OAEP-256",
            "RSA1_5",
            "A128GCM",
            "A192CBC",
            "A256CBCPAD",
            "A192KW",
            "CKM_AES_KEY_WRAP",
            "CKM_AES_KEY_WRAP_PAD",
        ] {
            assert_eq!(
                text.parse::<EncryptionAlgorithm>().unwrap().as_string(),
                text
            );
        }
        assert!("A512GCM".parse::<EncryptionAlgorithm>().is_err());
        assert!("A".parse::<EncryptionAlgorithm>().is_err());
    }

    #[test]
    fn signature_digests() {
        let es512: SignatureAlgorithm = "ES512".parse().unwrap();
        assert_eq!(es512.digest(), DigestAlg::Sha512);
        assert_eq!(es512.kind(), KeyKind::Ec);
        assert_eq!(
            "PS384"
                .parse::<SignatureAlgorithm>()
                .unwrap()
                .digest()
                .output_len(),
            48
        );
    }

    #[test]
    fn key_ops_use_service_spelling() {
        assert_eq!("WRAPKEY".parse::<KeyOp>().unwrap().as_str(), "wrapKey");
        assert!(!KeyOp::Sign.applies_to(KeyKind::Oct));
        assert!(KeyOp::Export.applies_to(KeyKind::Oct));
    }

    #[test]
    fn tag_limits() {
        let mut tags = Tags::new();
        for i in 0..15 {
            tags.insert(format!("t{i}"), "v".into());
        }
        assert!(check_tags(&tags).is_ok());
        tags.insert("one-more".into(), "v".into());
        assert!(check_tags(&tags).is_err());
    }
}
