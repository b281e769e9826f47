//! Wire DTOs to domain inputs: every string becomes a typed value here, with Key Vault's
//! error for anything malformed.

use strongroom_api::keys as dto;
use strongroom_core::DomainError;
use strongroom_core::b64;
use strongroom_core::error::DomainResult;
use strongroom_core::key::{
    AesBits, Curve, KeyKind, KeyOp, KeySpec, KeyType, ReleasePolicy, RsaExponent,
};
use strongroom_core::ports::{CipherInput, ImportedJwk, JwkPrivate};
use strongroom_core::rotation::{LifetimeAction, RotationPolicy, Trigger};

use strongroom_service::{AttributeChanges, ImportKey, KeyUpdate, NewKey};

fn required<'a>(v: &'a Option<String>, name: &str) -> DomainResult<&'a str> {
    v.as_deref()
        .ok_or_else(|| DomainError::bad(format!("The parameter '{name}' is required.")))
}

/// Decodes a required base64url member.
pub fn bytes(v: &Option<String>, name: &str) -> DomainResult<Vec<u8>> {
    b64::decode(required(v, name)?)
        .map_err(|_| DomainError::bad(format!("The parameter '{name}' is not valid base64url.")))
}

fn optional_bytes(v: &Option<String>, name: &str) -> DomainResult<Option<Vec<u8>>> {
    v.as_ref().map(|_| bytes(v, name)).transpose()
}

fn key_ops(ops: &Option<Vec<String>>) -> DomainResult<Option<Vec<KeyOp>>> {
    ops.as_ref()
        .map(|ops| ops.iter().map(|o| o.parse()).collect())
        .transpose()
}

fn attribute_changes(a: &Option<dto::AttributesIn>) -> AttributeChanges {
    a.as_ref()
        .map_or_else(AttributeChanges::default, |a| AttributeChanges {
            enabled: a.enabled,
            nbf: a.nbf,
            exp: a.exp,
            exportable: a.exportable,
        })
}

/// A release policy from the wire: `data` is required.
pub fn release_policy(p: &Option<dto::KeyReleasePolicy>) -> DomainResult<Option<ReleasePolicy>> {
    let Some(p) = p else { return Ok(None) };
    let data = bytes(&p.data, "release_policy.data")?;
    if serde_json::from_slice::<serde_json::Value>(&data).is_err() {
        return Err(DomainError::bad(
            "The release policy data is not a valid JSON document.",
        ));
    }
    Ok(Some(ReleasePolicy {
        content_type: p.content_type.clone(),
        data,
        immutable: p.immutable.unwrap_or(false),
    }))
}

/// `KeyCreateParameters` to a `NewKey`.
pub fn new_key(p: &dto::KeyCreateParameters) -> DomainResult<NewKey> {
    let key_type: KeyType = required(&p.kty, "kty")?.parse()?;
    let spec = match key_type.kind {
        KeyKind::Rsa => KeySpec::Rsa {
            bits: p.key_size.unwrap_or(2048),
            exponent: p
                .public_exponent
                .map_or(Ok(RsaExponent::F4), RsaExponent::try_from)?,
        },
        KeyKind::Ec => KeySpec::Ec {
            curve: p.crv.as_deref().map_or(Ok(Curve::P256), str::parse)?,
        },
        KeyKind::Oct => KeySpec::Oct {
            bits: AesBits::from_bits(p.key_size.unwrap_or(256))
                .ok_or_else(|| DomainError::bad("AES key sizes are 128, 192 and 256 bits."))?,
        },
    };
    if let (KeySpec::Rsa { bits, .. }, false) = (
        spec,
        [2048, 3072, 4096].contains(&p.key_size.unwrap_or(2048)),
    ) {
        return Err(DomainError::bad(format!(
            "The RSA key size {bits} is not supported. Supported sizes are 2048, 3072 and 4096."
        )));
    }
    Ok(NewKey {
        key_type,
        spec,
        key_ops: key_ops(&p.key_ops)?,
        attributes: attribute_changes(&p.attributes),
        tags: p.tags.clone().unwrap_or_default(),
        release_policy: release_policy(&p.release_policy)?,
    })
}

/// `KeyImportParameters` to an `ImportKey`.
pub fn import_key(p: &dto::KeyImportParameters) -> DomainResult<ImportKey> {
    let jwk = p
        .key
        .as_ref()
        .ok_or_else(|| DomainError::bad("The parameter 'key' is required."))?;
    let mut key_type: KeyType = required(&jwk.kty, "key.kty")?.parse()?;
    if p.hsm == Some(true) {
        key_type.hsm = true;
    }
    let curve = match key_type.kind {
        KeyKind::Ec => Some(required(&jwk.crv, "key.crv")?.parse::<Curve>()?),
        _ => None,
    };
    let mut members = JwkPrivate::default();
    let fields: [(&Option<String>, &mut Vec<u8>, &str); 11] = [
        (&jwk.n, &mut members.n, "n"),
        (&jwk.e, &mut members.e, "e"),
        (&jwk.d, &mut members.d, "d"),
        (&jwk.p, &mut members.p, "p"),
        (&jwk.q, &mut members.q, "q"),
        (&jwk.dp, &mut members.dp, "dp"),
        (&jwk.dq, &mut members.dq, "dq"),
        (&jwk.qi, &mut members.qi, "qi"),
        (&jwk.x, &mut members.x, "x"),
        (&jwk.y, &mut members.y, "y"),
        (&jwk.k, &mut members.k, "k"),
    ];
    for (src, dst, name) in fields {
        if let Some(bytes) = optional_bytes(src, &format!("key.{name}"))? {
            *dst = bytes;
        }
    }
    if key_type.kind != KeyKind::Oct && members.d.is_empty() {
        return Err(DomainError::bad(
            "The imported key must include its private members (d).",
        ));
    }
    Ok(ImportKey {
        key_type,
        jwk: ImportedJwk {
            kind: key_type.kind,
            curve,
            members,
        },
        key_ops: key_ops(&jwk.key_ops)?,
        attributes: attribute_changes(&p.attributes),
        tags: p.tags.clone().unwrap_or_default(),
        release_policy: release_policy(&p.release_policy)?,
    })
}

/// `KeyUpdateParameters` to a `KeyUpdate`.
pub fn update(p: &dto::KeyUpdateParameters) -> DomainResult<KeyUpdate> {
    Ok(KeyUpdate {
        key_ops: key_ops(&p.key_ops)?,
        attributes: attribute_changes(&p.attributes),
        tags: p.tags.clone(),
        release_policy: release_policy(&p.release_policy)?,
    })
}

/// `KeyOperationsParameters` to a `CipherInput`.
pub fn cipher_input(p: &dto::KeyOperationsParameters) -> DomainResult<CipherInput> {
    Ok(CipherInput {
        alg: required(&p.alg, "alg")?.parse()?,
        value: bytes(&p.value, "value")?,
        iv: optional_bytes(&p.iv, "iv")?,
        aad: optional_bytes(&p.aad, "aad")?,
        tag: optional_bytes(&p.tag, "tag")?,
    })
}

/// `KeyRotationPolicy` to a domain policy.
pub fn rotation_policy(p: &dto::KeyRotationPolicy) -> DomainResult<RotationPolicy> {
    let mut actions = Vec::new();
    for a in p.lifetime_actions.iter().flatten() {
        let trigger = a
            .trigger
            .as_ref()
            .ok_or_else(|| DomainError::bad("Each lifetime action needs a trigger."))?;
        let trigger = match (&trigger.time_after_create, &trigger.time_before_expiry) {
            (Some(d), None) => Trigger::AfterCreate(d.parse()?),
            (None, Some(d)) => Trigger::BeforeExpiry(d.parse()?),
            _ => {
                return Err(DomainError::bad(
                    "A trigger needs exactly one of timeAfterCreate and timeBeforeExpiry.",
                ));
            }
        };
        let kind = a
            .action
            .as_ref()
            .and_then(|t| t.kind.as_deref())
            .ok_or_else(|| DomainError::bad("Each lifetime action needs an action type."))?;
        actions.push(LifetimeAction {
            trigger,
            action: kind.parse()?,
        });
    }
    let expiry_time = p
        .attributes
        .as_ref()
        .and_then(|a| a.expiry_time.as_deref())
        .map(str::parse)
        .transpose()?;
    Ok(RotationPolicy {
        lifetime_actions: actions,
        expiry_time,
        created: None,
        updated: None,
    })
}
