//! Key Vault keys data-plane models (keys.json, api-version 7.6), with byte-exact names.
//! Binary members are base64url strings; times are Unix seconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `JsonWebKey`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct JsonWebKey {
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Key type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kty: Option<String>,
    /// Permitted operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// RSA private exponent or EC private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    /// RSA d mod (p-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<String>,
    /// RSA d mod (q-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dq: Option<String>,
    /// RSA q^-1 mod p.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qi: Option<String>,
    /// RSA prime p.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    /// RSA prime q.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Symmetric key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
    /// Protected key (BYOK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_hsm: Option<String>,
    /// Curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

/// `KeyAttributes` as returned.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyAttributes {
    /// Enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    /// Updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<i64>,
    /// Soft-delete retention in days.
    #[serde(
        default,
        rename = "recoverableDays",
        skip_serializing_if = "Option::is_none"
    )]
    pub recoverable_days: Option<u16>,
    /// Recovery level.
    #[serde(
        default,
        rename = "recoveryLevel",
        skip_serializing_if = "Option::is_none"
    )]
    pub recovery_level: Option<String>,
    /// Exportable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exportable: Option<bool>,
    /// HSM platform.
    #[serde(
        default,
        rename = "hsmPlatform",
        skip_serializing_if = "Option::is_none"
    )]
    pub hsm_platform: Option<String>,
}

/// `KeyReleasePolicy`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyReleasePolicy {
    /// Content type of `data`.
    #[serde(
        default,
        rename = "contentType",
        skip_serializing_if = "Option::is_none"
    )]
    pub content_type: Option<String>,
    /// Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    /// Base64url policy document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// Tags.
pub type Tags = BTreeMap<String, String>;

/// `KeyBundle`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyBundle {
    /// The key.
    pub key: JsonWebKey,
    /// Attributes.
    pub attributes: KeyAttributes,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
    /// Whether the key backs a certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
    /// Release policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_policy: Option<KeyReleasePolicy>,
}

/// `DeletedKeyBundle`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeletedKeyBundle {
    /// The key bundle.
    #[serde(flatten)]
    pub bundle: KeyBundle,
    /// `https://{vault}/deletedkeys/{name}`.
    #[serde(rename = "recoveryId")]
    pub recovery_id: String,
    /// Scheduled purge time.
    #[serde(rename = "scheduledPurgeDate")]
    pub scheduled_purge_date: i64,
    /// Deletion time.
    #[serde(rename = "deletedDate")]
    pub deleted_date: i64,
}

/// `KeyItem`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyItem {
    /// Key id (versionless in `/keys`, versioned in `/versions`).
    pub kid: String,
    /// Attributes.
    pub attributes: KeyAttributes,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
    /// Managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
}

/// `DeletedKeyItem`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeletedKeyItem {
    /// The item.
    #[serde(flatten)]
    pub item: KeyItem,
    /// Recovery id.
    #[serde(rename = "recoveryId")]
    pub recovery_id: String,
    /// Scheduled purge time.
    #[serde(rename = "scheduledPurgeDate")]
    pub scheduled_purge_date: i64,
    /// Deletion time.
    #[serde(rename = "deletedDate")]
    pub deleted_date: i64,
}

/// A page of results: `KeyListResult`, `DeletedKeyListResult`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Page<T> {
    /// Items.
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    /// Absolute URL of the next page, `null` on the last.
    #[serde(rename = "nextLink", default)]
    pub next_link: Option<String>,
}

/// Writable attributes in requests.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct AttributesIn {
    /// Enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Exportable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exportable: Option<bool>,
}

/// `KeyCreateParameters`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct KeyCreateParameters {
    /// Key type (required).
    #[serde(default)]
    pub kty: Option<String>,
    /// RSA size or AES size in bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_size: Option<u32>,
    /// RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_exponent: Option<u64>,
    /// Permitted operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// Attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<AttributesIn>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
    /// Curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Release policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_policy: Option<KeyReleasePolicy>,
}

/// `KeyImportParameters`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct KeyImportParameters {
    /// HSM-protect the key (`Hsm` on the wire; matched case-insensitively).
    #[serde(default, rename = "Hsm", skip_serializing_if = "Option::is_none")]
    pub hsm: Option<bool>,
    /// The key (required).
    #[serde(default)]
    pub key: Option<JsonWebKey>,
    /// Attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<AttributesIn>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
    /// Release policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_policy: Option<KeyReleasePolicy>,
}

/// `KeyUpdateParameters`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct KeyUpdateParameters {
    /// Permitted operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// Attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<AttributesIn>,
    /// Tags (replaces all tags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
    /// Release policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_policy: Option<KeyReleasePolicy>,
}

/// `KeyOperationsParameters` (encrypt, decrypt, wrapKey, unwrapKey).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct KeyOperationsParameters {
    /// Algorithm (required).
    #[serde(default)]
    pub alg: Option<String>,
    /// Input (required).
    #[serde(default)]
    pub value: Option<String>,
    /// IV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iv: Option<String>,
    /// Additional authenticated data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<String>,
    /// Authentication tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// `KeyOperationResult`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyOperationResult {
    /// Key id used.
    pub kid: String,
    /// Output.
    pub value: String,
    /// IV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iv: Option<String>,
    /// Tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// AAD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<String>,
}

/// `KeySignParameters`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct KeySignParameters {
    /// Algorithm (required).
    #[serde(default)]
    pub alg: Option<String>,
    /// Digest (required).
    #[serde(default)]
    pub value: Option<String>,
}

/// `KeyVerifyParameters`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct KeyVerifyParameters {
    /// Algorithm (required).
    #[serde(default)]
    pub alg: Option<String>,
    /// Digest (required).
    #[serde(default)]
    pub digest: Option<String>,
    /// Signature (required).
    #[serde(default)]
    pub value: Option<String>,
}

/// `KeyVerifyResult`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyVerifyResult {
    /// Whether the signature verified.
    pub value: bool,
}

/// `{"value": "<base64url>"}`: backup blobs, restore input, random bytes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ValueBlob {
    /// The bytes, base64url.
    #[serde(default)]
    pub value: Option<String>,
}

/// `GetRandomBytesRequest`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RandomBytesRequest {
    /// 1..128.
    #[serde(default)]
    pub count: Option<i64>,
}

/// `KeyRotationPolicy`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyRotationPolicy {
    /// `https://{vault}/keys/{name}/rotationpolicy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Actions.
    #[serde(
        rename = "lifetimeActions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub lifetime_actions: Option<Vec<LifetimeAction>>,
    /// Attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<RotationPolicyAttributes>,
}

/// `LifetimeActions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LifetimeAction {
    /// Trigger.
    #[serde(default)]
    pub trigger: Option<LifetimeTrigger>,
    /// Action.
    #[serde(default)]
    pub action: Option<LifetimeActionType>,
}

/// `LifetimeActionsTrigger`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LifetimeTrigger {
    /// ISO-8601 duration after creation.
    #[serde(
        rename = "timeAfterCreate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub time_after_create: Option<String>,
    /// ISO-8601 duration before expiry.
    #[serde(
        rename = "timeBeforeExpiry",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub time_before_expiry: Option<String>,
}

/// `LifetimeActionsType`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LifetimeActionType {
    /// `Rotate` or `Notify`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// `KeyRotationPolicyAttributes`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RotationPolicyAttributes {
    /// ISO-8601 expiry for new versions.
    #[serde(
        rename = "expiryTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub expiry_time: Option<String>,
    /// Created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    /// Updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_bundle_flattens_with_exact_names() {
        let bundle = DeletedKeyBundle {
            bundle: KeyBundle {
                key: JsonWebKey {
                    kid: Some("k".into()),
                    ..JsonWebKey::default()
                },
                ..KeyBundle::default()
            },
            recovery_id: "r".into(),
            scheduled_purge_date: 2,
            deleted_date: 1,
        };
        let json = serde_json::to_value(&bundle).unwrap();
        assert_eq!(json["key"]["kid"], "k");
        assert_eq!(json["recoveryId"], "r");
        assert_eq!(json["scheduledPurgeDate"], 2);
        assert_eq!(json["deletedDate"], 1);
        assert!(json.get("tags").is_none());
    }

    #[test]
    fn pages_default_empty_values() {
        let page: Page<KeyItem> = serde_json::from_str(r#"{"nextLink":null}"#).unwrap();
        assert!(page.value.is_empty() && page.next_link.is_none());
    }
}
