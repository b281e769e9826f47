//! Domain records to wire DTOs. Ids are built from the base URL the client used.

use strongroom_api::keys as dto;
use strongroom_core::b64;
use strongroom_core::key::{KeyVersionRecord, PublicKeyParts, ReleasePolicy};
use strongroom_core::ports::DeletedKey;
use strongroom_core::rotation::{ActionType, RotationPolicy, Trigger};
use strongroom_core::vault::Vault;

/// The default content type of release policies.
pub const POLICY_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// `https://{host}/keys/{name}/{version}`.
pub fn kid(base: &str, r: &KeyVersionRecord) -> String {
    format!("{base}/keys/{}/{}", r.id.name, r.id.version)
}

/// The public JWK of a version (no private members, nothing for AES keys but kid/kty/ops).
pub fn jwk(base: &str, r: &KeyVersionRecord) -> dto::JsonWebKey {
    let mut key = dto::JsonWebKey {
        kid: Some(kid(base, r)),
        kty: Some(r.key_type.as_str().to_owned()),
        key_ops: Some(r.key_ops.iter().map(|o| o.as_str().to_owned()).collect()),
        ..dto::JsonWebKey::default()
    };
    match &r.public {
        PublicKeyParts::Rsa { n, e } => {
            key.n = Some(b64::encode(n));
            key.e = Some(b64::encode(e));
        }
        PublicKeyParts::Ec { curve, x, y } => {
            key.crv = Some(curve.as_str().to_owned());
            key.x = Some(b64::encode(x));
            key.y = Some(b64::encode(y));
        }
        PublicKeyParts::Oct { .. } => {}
    }
    key
}

/// Attributes with the vault's recovery settings.
pub fn attributes(vault: &Vault, r: &KeyVersionRecord) -> dto::KeyAttributes {
    let a = &r.attributes;
    dto::KeyAttributes {
        enabled: Some(a.enabled),
        nbf: a.nbf,
        exp: a.exp,
        created: Some(a.created),
        updated: Some(a.updated),
        recoverable_days: Some(vault.retention.days()),
        recovery_level: Some(vault.recovery_level().to_owned()),
        exportable: Some(a.exportable),
        hsm_platform: None,
    }
}

/// A release policy on the wire.
pub fn release_policy(p: &ReleasePolicy) -> dto::KeyReleasePolicy {
    dto::KeyReleasePolicy {
        content_type: Some(
            p.content_type
                .clone()
                .unwrap_or_else(|| POLICY_CONTENT_TYPE.to_owned()),
        ),
        immutable: Some(p.immutable),
        data: Some(b64::encode(&p.data)),
    }
}

fn tags(r: &KeyVersionRecord) -> Option<dto::Tags> {
    (!r.tags.is_empty()).then(|| r.tags.clone())
}

/// `KeyBundle`.
pub fn bundle(base: &str, vault: &Vault, r: &KeyVersionRecord) -> dto::KeyBundle {
    dto::KeyBundle {
        key: jwk(base, r),
        attributes: attributes(vault, r),
        tags: tags(r),
        managed: None,
        release_policy: r.release_policy.as_ref().map(release_policy),
    }
}

/// `KeyItem`; `kid` carries the version only in version lists.
pub fn item(base: &str, vault: &Vault, r: &KeyVersionRecord, versioned: bool) -> dto::KeyItem {
    dto::KeyItem {
        kid: if versioned {
            kid(base, r)
        } else {
            format!("{base}/keys/{}", r.id.name)
        },
        attributes: attributes(vault, r),
        tags: tags(r),
        managed: None,
    }
}

fn recovery_id(base: &str, d: &DeletedKey) -> String {
    format!("{base}/deletedkeys/{}", d.latest.id.name)
}

/// `DeletedKeyBundle`.
pub fn deleted_bundle(base: &str, vault: &Vault, d: &DeletedKey) -> dto::DeletedKeyBundle {
    dto::DeletedKeyBundle {
        bundle: bundle(base, vault, &d.latest),
        recovery_id: recovery_id(base, d),
        scheduled_purge_date: d.deletion.scheduled_purge_date,
        deleted_date: d.deletion.deleted_date,
    }
}

/// `DeletedKeyItem`.
pub fn deleted_item(base: &str, vault: &Vault, d: &DeletedKey) -> dto::DeletedKeyItem {
    dto::DeletedKeyItem {
        item: item(base, vault, &d.latest, false),
        recovery_id: recovery_id(base, d),
        scheduled_purge_date: d.deletion.scheduled_purge_date,
        deleted_date: d.deletion.deleted_date,
    }
}

/// `KeyRotationPolicy`.
pub fn rotation_policy(base: &str, name: &str, p: &RotationPolicy) -> dto::KeyRotationPolicy {
    let actions = p
        .lifetime_actions
        .iter()
        .map(|a| {
            let trigger = match &a.trigger {
                Trigger::AfterCreate(d) => dto::LifetimeTrigger {
                    time_after_create: Some(d.to_string()),
                    time_before_expiry: None,
                },
                Trigger::BeforeExpiry(d) => dto::LifetimeTrigger {
                    time_after_create: None,
                    time_before_expiry: Some(d.to_string()),
                },
            };
            dto::LifetimeAction {
                trigger: Some(trigger),
                action: Some(dto::LifetimeActionType {
                    kind: Some(action_name(a.action).to_owned()),
                }),
            }
        })
        .collect();
    dto::KeyRotationPolicy {
        id: Some(format!("{base}/keys/{name}/rotationpolicy")),
        lifetime_actions: Some(actions),
        attributes: Some(dto::RotationPolicyAttributes {
            expiry_time: p.expiry_time.as_ref().map(ToString::to_string),
            created: p.created,
            updated: p.updated,
        }),
    }
}

fn action_name(a: ActionType) -> &'static str {
    a.as_str()
}
