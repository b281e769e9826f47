//! What an attestation provider serves, by name as MAA's REST API spells it: the attestation
//! types (matched in any case, as the confidential-containers sidecar posts `SevSnpVM`), their
//! default policies, the API versions, and the JWK that names a policy's signer.

use base64::Engine;
use serde_json::{Value, json};
use strongroom_core::attestation_policy::defaults;

/// The api-versions of the attestation data plane.
pub const API_VERSIONS: &[&str] = &[
    "2018-09-01-preview",
    "2020-10-01",
    "2022-08-01",
    "2022-09-01-preview",
    "2023-04-01-preview",
    "2025-06-01",
];

/// Whether `version` is an attestation api-version.
pub fn supports_api_version(version: &str) -> bool {
    API_VERSIONS.contains(&version)
}

/// A kind of evidence, and of policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttestationType {
    /// Intel SGX enclaves (an SGX quote).
    SgxEnclave,
    /// Open Enclave reports (a header and an SGX quote).
    OpenEnclave,
    /// AMD SEV-SNP virtual machines and containers.
    SevSnpVm,
    /// Intel TDX virtual machines.
    TdxVm,
    /// TPM and VBS attestation (policies only have no default).
    Tpm,
    /// Azure confidential VMs through their guest (protocol 2.0).
    AzureGuest,
}

impl AttestationType {
    /// Every type.
    pub const ALL: [Self; 6] = [
        Self::SgxEnclave,
        Self::OpenEnclave,
        Self::SevSnpVm,
        Self::TdxVm,
        Self::Tpm,
        Self::AzureGuest,
    ];

    /// Its name in paths (`/attest/SevSnpVm`, `/policies/SgxEnclave`).
    pub fn name(self) -> &'static str {
        match self {
            Self::SgxEnclave => "SgxEnclave",
            Self::OpenEnclave => "OpenEnclave",
            Self::SevSnpVm => "SevSnpVm",
            Self::TdxVm => "TdxVm",
            Self::Tpm => "Tpm",
            Self::AzureGuest => "AzureGuest",
        }
    }

    /// The `x-ms-attestation-type` of its tokens.
    pub fn token_type(self) -> &'static str {
        match self {
            Self::SgxEnclave | Self::OpenEnclave => "sgx",
            Self::SevSnpVm => "sevsnpvm",
            Self::TdxVm => "tdxvm",
            Self::Tpm => "tpm",
            Self::AzureGuest => "azurevm",
        }
    }

    /// The policy a provider starts with: SGX's documented default for SGX and for Open
    /// Enclave (whose report carries an SGX quote); for the types MAA documents no default for,
    /// the permit-all policy of the API's stored example; none for TPM, whose policy must be
    /// set first.
    pub fn default_policy(self) -> Option<&'static str> {
        match self {
            Self::SgxEnclave | Self::OpenEnclave => Some(defaults::SGX),
            Self::SevSnpVm | Self::TdxVm | Self::AzureGuest => Some(defaults::PERMIT_ALL),
            Self::Tpm => None,
        }
    }
}

impl std::str::FromStr for AttestationType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "'{}' is not an attestation type: {}",
                    s.chars().take(32).collect::<String>(),
                    Self::ALL.map(Self::name).join(", ")
                )
            })
    }
}

/// `x-ms-policy-signer`: the JWK of the certificate (DER) that signed a policy.
pub fn signer_jwk(certificate: &[u8]) -> Value {
    json!({
        "alg": "RS256",
        "kty": "RSA",
        "use": "sig",
        "x5c": [base64::engine::general_purpose::STANDARD.encode(certificate)],
    })
}

#[cfg(test)]
mod tests {
    use strongroom_core::attestation_policy::Policy;

    use super::*;

    #[test]
    fn types_match_in_any_case_and_name_their_tokens() {
        assert_eq!("SevSnpVM".parse(), Ok(AttestationType::SevSnpVm));
        assert_eq!("sgxenclave".parse(), Ok(AttestationType::SgxEnclave));
        assert_eq!("AZUREGUEST".parse(), Ok(AttestationType::AzureGuest));
        let e = "Sgx".parse::<AttestationType>().unwrap_err();
        assert!(
            e.contains("SgxEnclave, OpenEnclave, SevSnpVm, TdxVm, Tpm, AzureGuest"),
            "{e}"
        );
        assert_eq!(AttestationType::OpenEnclave.token_type(), "sgx");
        assert_eq!(AttestationType::AzureGuest.token_type(), "azurevm");
    }

    #[test]
    fn every_default_policy_parses_and_permits() {
        for t in AttestationType::ALL {
            match t.default_policy() {
                Some(text) => {
                    let policy = Policy::parse(text).unwrap_or_else(|e| panic!("{t:?}: {e}"));
                    assert!(policy.evaluate(Vec::new()).unwrap().permitted, "{t:?}");
                }
                None => assert_eq!(t, AttestationType::Tpm),
            }
        }
    }

    #[test]
    fn api_versions_are_the_services() {
        assert!(supports_api_version("2020-10-01"));
        assert!(supports_api_version("2022-08-01"));
        assert!(supports_api_version("2025-06-01"));
        assert!(!supports_api_version("7.6"));
        assert_eq!(signer_jwk(&[1, 2])["x5c"][0], "AQI=");
    }
}
