//! Base64url as Key Vault speaks it: unpadded URL-safe alphabet out, lenient in (either alphabet,
//! with or without padding).

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, GeneralPurpose as Engine64};

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(false)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent);
const URL_LENIENT: Engine64 = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);
const STD_LENIENT: Engine64 = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_LENIENT.encode(bytes)
}

/// Decodes base64url or standard base64, padded or not.
pub fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let trimmed = text.trim();
    if trimmed.contains(['+', '/']) {
        STD_LENIENT.decode(trimmed)
    } else {
        URL_LENIENT.decode(trimmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_unpadded_url_safe() {
        assert_eq!(encode([0xfb, 0xff]), "-_8");
        assert_eq!(encode([1, 0, 1]), "AQAB");
    }

    #[test]
    fn decodes_every_dialect() {
        for text in ["-_8", "-_8=", "+/8", "+/8="] {
            assert_eq!(decode(text).ok(), Some(vec![0xfb, 0xff]), "{text}");
        }
        assert!(decode("!!").is_err());
    }
}
