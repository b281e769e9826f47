//! Conversions between rows and domain records.

use sqlx::Row;
use sqlx::any::AnyRow;
use strongroom_core::DomainError;
use strongroom_core::error::DomainResult;
use strongroom_core::key::{
    KeyAttributes, KeyOp, KeyType, KeyVersionRecord, PublicKeyParts, ReleasePolicy, Tags, VersionId,
};
use strongroom_core::rotation::RotationPolicy;

use crate::storage;

/// Columns of `key_versions`, in the order `version_from_row` reads them.
pub(crate) const VERSION_COLUMNS: &str = "v.vault, v.name, v.version, v.kty, v.public_key, v.key_ops, v.enabled, v.nbf, v.exp, v.exportable, v.created, v.updated, v.tags, v.release_policy, v.sealed";

/// Encoded mutable and immutable fields of a version.
pub(crate) struct EncodedVersion {
    pub public_key: String,
    pub key_ops: String,
    pub tags: String,
    pub release_policy: Option<String>,
}

pub(crate) fn encode(record: &KeyVersionRecord) -> DomainResult<EncodedVersion> {
    let ops: Vec<&str> = record.key_ops.iter().map(|o| o.as_str()).collect();
    Ok(EncodedVersion {
        public_key: to_json(&record.public)?,
        key_ops: to_json(&ops)?,
        tags: to_json(&record.tags)?,
        release_policy: record.release_policy.as_ref().map(to_json).transpose()?,
    })
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> DomainResult<String> {
    serde_json::to_string(value).map_err(|e| DomainError::Internal(format!("encoding failed: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> DomainResult<T> {
    serde_json::from_str(text).map_err(|e| DomainError::Storage(format!("corrupt row: {e}")))
}

fn parse<T: std::str::FromStr<Err = DomainError>>(text: &str) -> DomainResult<T> {
    text.parse()
        .map_err(|e: DomainError| DomainError::Storage(format!("corrupt row: {e}")))
}

pub(crate) fn version_from_row(row: &AnyRow) -> DomainResult<KeyVersionRecord> {
    let get_s = |i: usize| row.try_get::<String, _>(i).map_err(storage);
    let get_i = |i: usize| row.try_get::<i64, _>(i).map_err(storage);
    let get_oi = |i: usize| row.try_get::<Option<i64>, _>(i).map_err(storage);
    let ops: Vec<String> = from_json(&get_s(5)?)?;
    let release_policy: Option<String> = row.try_get(13).map_err(storage)?;
    Ok(KeyVersionRecord {
        id: VersionId {
            vault: parse(&get_s(0)?)?,
            name: parse(&get_s(1)?)?,
            version: parse(&get_s(2)?)?,
        },
        key_type: parse::<KeyType>(&get_s(3)?)?,
        public: from_json::<PublicKeyParts>(&get_s(4)?)?,
        key_ops: ops
            .iter()
            .map(|o| parse::<KeyOp>(o))
            .collect::<DomainResult<_>>()?,
        attributes: KeyAttributes {
            enabled: get_i(6)? != 0,
            nbf: get_oi(7)?,
            exp: get_oi(8)?,
            exportable: get_i(9)? != 0,
            created: get_i(10)?,
            updated: get_i(11)?,
        },
        tags: from_json::<Tags>(&get_s(12)?)?,
        release_policy: release_policy
            .as_deref()
            .map(from_json::<ReleasePolicy>)
            .transpose()?,
        sealed: row.try_get::<Vec<u8>, _>(14).map_err(storage)?,
    })
}

pub(crate) fn policy_from_text(text: Option<String>) -> DomainResult<Option<RotationPolicy>> {
    text.as_deref().map(from_json).transpose()
}
