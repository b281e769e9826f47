//! The storage conformance suite, run on every backend this build supports.

use std::collections::BTreeMap;

use strongroom_core::DomainError;
use strongroom_core::audit::WriteEvent;
use strongroom_core::identity::{
    Credential, CredentialKind, Identity, IdentityKind, IssuerKeys, TrustedIssuer,
};
use strongroom_core::key::{KeyAttributes, KeyOp, KeyVersionRecord, PublicKeyParts, VersionId};
use strongroom_core::lifecycle::Deletion;
use strongroom_core::names::{KeyName, KeyVersion, VaultName};
use strongroom_core::ports::{KeyStore, StoredVault};
use strongroom_core::rotation::RotationPolicy;
use strongroom_core::vault::{RetentionDays, Sku, Vault, VaultKind};

use crate::SqlStore;

async fn sqlite() -> (tempfile::TempDir, SqlStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let store = SqlStore::connect(&url).await.unwrap();
    (dir, store)
}

fn vault(name: &str) -> StoredVault {
    StoredVault {
        vault: Vault {
            name: name.parse().unwrap(),
            kind: VaultKind::Vault,
            sku: Sku::Premium,
            retention: RetentionDays::new(7).unwrap(),
            purge_protection: false,
            rbac_authorization: true,
            created: 1,
        },
        sealed_kek: vec![1, 2, 3],
    }
}

fn version(vault: &str, name: &str, n: u8) -> KeyVersionRecord {
    KeyVersionRecord {
        id: VersionId {
            vault: vault.parse().unwrap(),
            name: name.parse().unwrap(),
            version: KeyVersion::from_random([n; 16]),
        },
        key_type: "EC".parse().unwrap(),
        public: PublicKeyParts::Ec {
            curve: strongroom_core::key::Curve::P256,
            x: vec![n; 32],
            y: vec![n; 32],
        },
        key_ops: vec![KeyOp::Sign, KeyOp::Verify],
        attributes: KeyAttributes {
            enabled: true,
            nbf: None,
            exp: Some(99),
            exportable: false,
            created: i64::from(n),
            updated: i64::from(n),
        },
        tags: BTreeMap::from([("t".to_owned(), format!("{n}"))]),
        release_policy: None,
        sealed: vec![n; 40],
    }
}

fn kn(s: &str) -> KeyName {
    s.parse().unwrap()
}

fn vn(s: &str) -> VaultName {
    s.parse().unwrap()
}

/// Runs every conformance check against one store.
async fn conformance(store: &dyn KeyStore) {
    vaults(store).await;
    versions_and_latest(store).await;
    soft_delete(store).await;
    backup_restore(store).await;
    identities_and_secrets(store).await;
    role_assignments(store).await;
    access_policies(store).await;
    role_definitions(store).await;
    audit_events(store).await;
    pending_audit_events(store).await;
}

/// The event of a write is stored by the write's transaction, and is linked into one chain
/// once.
async fn pending_audit_events(store: &dyn KeyStore) {
    use std::time::{Duration, Instant};

    use strongroom_core::audit::AuditRecord;
    let draft = |chain: &str, operation: &str| AuditRecord {
        chain: chain.into(),
        seq: 0,
        time: 2_000,
        request_id: "r".into(),
        principal: "admin".into(),
        app_id: String::new(),
        client: String::new(),
        operation: operation.into(),
        resource: "/vaults/pending-one".into(),
        result: "Success".into(),
        status: Some(201),
        duration_us: 0,
        prev_hash: String::new(),
        hash: String::new(),
    };
    let event =
        |chain: &str, operation: &str| WriteEvent::new(draft(chain, operation), Instant::now());
    let created = event("node-a", "VaultCreate");
    store
        .insert_vault(&vault("pending-one"), &created)
        .await
        .unwrap();
    assert!(created.is_stored());
    // A refused write stores no event; nor does one that changes nothing.
    let refused = event("node-a", "VaultCreate");
    assert!(
        store
            .insert_vault(&vault("pending-one"), &refused)
            .await
            .is_err()
    );
    assert!(!refused.is_stored());
    let nothing = event("node-b", "VaultDelete");
    assert!(
        !store
            .delete_vault(&vn("absent-vault"), &nothing)
            .await
            .unwrap()
    );
    assert!(!nothing.is_stored());
    // One event per operation, however many writes it makes.
    store
        .insert_vault(&vault("pending-two"), &created)
        .await
        .unwrap();
    let deleted = event("node-b", "VaultDelete");
    assert!(
        store
            .delete_vault(&vn("pending-two"), &deleted)
            .await
            .unwrap()
    );

    let hour = Duration::from_secs(3_600);
    let mine = store.pending_audit("node-a", hour, 100).await.unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0].1.operation, "VaultCreate");
    assert_eq!(mine[0].1.chain, "node-a");
    // Another node sees them only as orphans, once old enough.
    assert!(
        store
            .pending_audit("node-c", hour, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .pending_audit("node-c", Duration::ZERO, 100)
            .await
            .unwrap()
            .len(),
        2
    );

    let first = store
        .pending_audit("node-c", Duration::ZERO, 1)
        .await
        .unwrap();
    assert_eq!(
        first.len(),
        1,
        "a page holds at most its limit, oldest first"
    );
    assert_eq!(first[0].0, mine[0].0);
    let ids: Vec<i64> = mine.iter().map(|(id, _)| *id).collect();
    let linked = |chain: &str| {
        let mut record = mine[0].1.clone();
        record.chain = chain.into();
        record.seq = 1;
        vec![record]
    };
    assert!(store.append_audit(&linked("node-a"), &ids).await.unwrap());
    // Taken once: a second node linking it stores nothing.
    assert!(!store.append_audit(&linked("node-c"), &ids).await.unwrap());
    let batches = store.audit_batches_after(None, 100).await.unwrap();
    assert!(batches.iter().any(|b| b.chain == "node-a"));
    assert!(!batches.iter().any(|b| b.chain == "node-c"));
    let left = store
        .pending_audit("node-c", Duration::ZERO, 100)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].1.operation, "VaultDelete");
}

async fn audit_events(store: &dyn KeyStore) {
    use strongroom_core::audit::{AuditFilter, AuditRecord};
    let event = |chain: &str, seq: i64, operation: &str| AuditRecord {
        chain: chain.into(),
        seq,
        time: 1_000 + seq,
        request_id: format!("r{seq}"),
        principal: if seq % 2 == 0 {
            "even".into()
        } else {
            "odd".into()
        },
        app_id: String::new(),
        client: "10.0.0.1".into(),
        operation: operation.into(),
        resource: "/vaults/v".into(),
        result: "Success".into(),
        status: (seq % 3 != 0).then_some(200),
        duration_us: 5,
        prev_hash: format!("h{}", seq - 1),
        hash: format!("h{seq}"),
    };
    let first = vec![event("b", 1, "KeySign"), event("b", 2, "KeyGet")];
    store.append_audit(&first, &[]).await.unwrap();
    store
        .append_audit(&[event("a", 1, "KeySign")], &[])
        .await
        .unwrap();
    let all = store.audit_events(&AuditFilter::default()).await.unwrap();
    assert_eq!(
        all,
        vec![event("a", 1, "KeySign"), first[0].clone(), first[1].clone()]
    );
    let signs = AuditFilter {
        operation: Some("KeySign".into()),
        principal: Some("odd".into()),
        since: Some(1_001),
        until: Some(1_001),
        ..AuditFilter::default()
    };
    assert_eq!(store.audit_events(&signs).await.unwrap().len(), 2);
    let limited = AuditFilter {
        limit: Some(1),
        ..AuditFilter::default()
    };
    assert_eq!(store.audit_events(&limited).await.unwrap().len(), 1);
    store
        .append_audit(&[event("b", 3, "KeyGet")], &[])
        .await
        .unwrap();
    // Paging through the batches, one at a time, in chain order.
    let mut places = Vec::new();
    let mut after: Option<(String, i64)> = None;
    loop {
        let place = after.as_ref().map(|(c, s)| (c.as_str(), *s));
        let page = store.audit_batches_after(place, 1).await.unwrap();
        let Some(batch) = page.first() else { break };
        places.push((batch.chain.clone(), batch.first_seq, batch.events.len()));
        after = Some((batch.chain.clone(), batch.first_seq));
    }
    assert_eq!(
        places,
        [("a".into(), 1, 1), ("b".into(), 1, 2), ("b".into(), 3, 1)]
    );
    assert_eq!(store.audit_batches_after(None, 10).await.unwrap().len(), 3);
    // A chain's place is taken once.
    assert!(
        store
            .append_audit(&[event("a", 1, "KeyGet")], &[])
            .await
            .is_err()
    );
}

async fn role_definitions(store: &dyn KeyStore) {
    use strongroom_core::rbac::{Permission, RoleDefinition, RoleType};
    store
        .insert_vault(&vault("custom-roles"), &WriteEvent::unrecorded())
        .await
        .unwrap();
    let mut reader = RoleDefinition {
        id: "c0000000-0000-4000-8000-000000000001".into(),
        role_name: "Key reader".into(),
        description: "reads keys".into(),
        role_type: RoleType::Custom,
        kind: VaultKind::Vault,
        permissions: vec![Permission {
            data_actions: vec!["Microsoft.KeyVault/vaults/keys/read".into()],
            ..Permission::default()
        }],
    };
    store
        .put_role_definition(&vn("custom-roles"), &reader, &WriteEvent::unrecorded())
        .await
        .unwrap();
    reader.role_name = "Key reader v2".into();
    store
        .put_role_definition(&vn("custom-roles"), &reader, &WriteEvent::unrecorded())
        .await
        .unwrap();
    assert_eq!(
        store.role_definitions(&vn("custom-roles")).await.unwrap(),
        vec![reader.clone()]
    );
    assert!(
        store
            .delete_role_definition(&vn("custom-roles"), &reader.id, &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_role_definition(&vn("custom-roles"), &reader.id, &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    store
        .put_role_definition(&vn("custom-roles"), &reader, &WriteEvent::unrecorded())
        .await
        .unwrap();
    assert!(
        store
            .delete_vault(&vn("custom-roles"), &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(
        store
            .role_definitions(&vn("custom-roles"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn access_policies(store: &dyn KeyStore) {
    use strongroom_core::access_policy::{AccessPolicy, KeyPermission};
    let mut legacy = vault("legacy");
    legacy.vault.rbac_authorization = false;
    store
        .insert_vault(&legacy, &WriteEvent::unrecorded())
        .await
        .unwrap();
    let stored = store.vault(&vn("legacy")).await.unwrap().unwrap();
    assert!(!stored.vault.rbac_authorization);
    let policy = |oid: &str, keys: &[&str]| AccessPolicy {
        vault: vn("legacy"),
        object_id: oid.into(),
        keys: KeyPermission::parse_list(keys).unwrap(),
        updated: 5,
    };
    store
        .put_access_policy(&policy("oid-b", &["all"]), &WriteEvent::unrecorded())
        .await
        .unwrap();
    store
        .put_access_policy(
            &policy("oid-a", &["get", "sign"]),
            &WriteEvent::unrecorded(),
        )
        .await
        .unwrap();
    // Setting again replaces the permissions.
    store
        .put_access_policy(
            &policy("oid-a", &["get", "release"]),
            &WriteEvent::unrecorded(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.access_policies(&vn("legacy")).await.unwrap(),
        vec![
            policy("oid-a", &["get", "release"]),
            policy("oid-b", &["all"])
        ]
    );
    assert!(
        store
            .delete_access_policy(&vn("legacy"), "oid-b", &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_access_policy(&vn("legacy"), "oid-b", &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(
        store
            .delete_vault(&vn("legacy"), &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(
        store
            .access_policies(&vn("legacy"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn role_assignments(store: &dyn KeyStore) {
    use strongroom_core::rbac::{RoleAssignment, RoleScope};
    store
        .insert_vault(&vault("roles"), &WriteEvent::unrecorded())
        .await
        .unwrap();
    store
        .insert_vault(&vault("roles2"), &WriteEvent::unrecorded())
        .await
        .unwrap();
    let assignment = |vault: &str, name: &str, scope: RoleScope| RoleAssignment {
        vault: vn(vault),
        name: name.into(),
        scope,
        role_definition: "21dbd100-6940-42c2-9190-5d6cb909625b".into(),
        principal_id: "0f0e0d0c-0000-4000-8000-000000000001".into(),
        created: 1_700_000_000,
    };
    let global = assignment(
        "roles",
        "b0000000-0000-4000-8000-000000000001",
        RoleScope::Global,
    );
    let one_key = assignment(
        "roles",
        "a0000000-0000-4000-8000-000000000002",
        RoleScope::Key(kn("k1")),
    );
    store
        .insert_role_assignment(&global, &WriteEvent::unrecorded())
        .await
        .unwrap();
    store
        .insert_role_assignment(&one_key, &WriteEvent::unrecorded())
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert_role_assignment(&global, &WriteEvent::unrecorded())
            .await,
        Err(DomainError::RoleAssignmentExists)
    ));
    // The same name in another vault is another assignment.
    let elsewhere = assignment("roles2", &global.name, RoleScope::Keys);
    store
        .insert_role_assignment(&elsewhere, &WriteEvent::unrecorded())
        .await
        .unwrap();
    assert_eq!(
        store
            .role_assignment(&vn("roles"), &global.name)
            .await
            .unwrap(),
        Some(global.clone())
    );
    assert_eq!(
        store.role_assignments(&vn("roles")).await.unwrap(),
        vec![one_key.clone(), global.clone()]
    );
    assert_eq!(
        store
            .delete_role_assignment(&vn("roles"), &one_key.name, &WriteEvent::unrecorded())
            .await
            .unwrap(),
        Some(one_key.clone())
    );
    assert_eq!(
        store
            .delete_role_assignment(&vn("roles"), &one_key.name, &WriteEvent::unrecorded())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.role_assignments(&vn("roles")).await.unwrap(),
        vec![global.clone()]
    );
    // Deleting a vault deletes its assignments.
    assert!(
        store
            .delete_vault(&vn("roles2"), &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    store
        .insert_vault(&vault("roles2"), &WriteEvent::unrecorded())
        .await
        .unwrap();
    assert!(
        store
            .role_assignments(&vn("roles2"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn vaults(store: &dyn KeyStore) {
    store
        .insert_vault(&vault("alpha"), &WriteEvent::unrecorded())
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert_vault(&vault("alpha"), &WriteEvent::unrecorded())
            .await,
        Err(DomainError::VaultAlreadyExists { .. })
    ));
    let got = store.vault(&vn("alpha")).await.unwrap().unwrap();
    assert_eq!(got.vault, vault("alpha").vault);
    assert_eq!(got.sealed_kek, vec![1, 2, 3]);
    store
        .insert_vault(&vault("scratch"), &WriteEvent::unrecorded())
        .await
        .unwrap();
    store
        .insert_version(&version("scratch", "k", 9), &WriteEvent::unrecorded())
        .await
        .unwrap();
    assert!(
        store
            .delete_vault(&vn("scratch"), &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(store.vault(&vn("scratch")).await.unwrap().is_none());
    assert!(
        store
            .version(&vn("scratch"), &kn("k"), None)
            .await
            .unwrap()
            .is_none()
    );
}

async fn versions_and_latest(store: &dyn KeyStore) {
    let (v, k) = (vn("alpha"), kn("key1"));
    for n in 1..=3 {
        store
            .insert_version(&version("alpha", "key1", n), &WriteEvent::unrecorded())
            .await
            .unwrap();
    }
    let latest = store.version(&v, &k, None).await.unwrap().unwrap();
    assert_eq!(latest.id.version, version("alpha", "key1", 3).id.version);
    assert_eq!(latest.tags["t"], "3");
    let first = store
        .version(&v, &k, Some(&version("alpha", "key1", 1).id.version))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.sealed, vec![1; 40]);
    let all = store.list_versions(&v, &k, 0, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.attributes.created).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(store.list_versions(&v, &k, 2, 10).await.unwrap().len(), 1);

    let mut updated = first.clone();
    updated.attributes.enabled = false;
    updated.tags.clear();
    updated.key_ops = vec![KeyOp::Verify];
    store
        .update_version(&updated, &WriteEvent::unrecorded())
        .await
        .unwrap();
    let again = store
        .version(&v, &k, Some(&first.id.version))
        .await
        .unwrap()
        .unwrap();
    assert!(
        !again.attributes.enabled && again.tags.is_empty() && again.key_ops == vec![KeyOp::Verify]
    );

    store
        .insert_version(&version("alpha", "key0", 5), &WriteEvent::unrecorded())
        .await
        .unwrap();
    let page = store.list_keys(&v, None, 1).await.unwrap();
    assert_eq!(page[0].id.name, kn("key0"));
    let rest = store.list_keys(&v, Some(&kn("key0")), 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].id.version, latest.id.version);
}

async fn soft_delete(store: &dyn KeyStore) {
    let (v, k) = (vn("alpha"), kn("gone"));
    store
        .insert_version(&version("alpha", "gone", 1), &WriteEvent::unrecorded())
        .await
        .unwrap();
    let d = Deletion {
        deleted_date: 10,
        scheduled_purge_date: 20,
    };
    assert!(
        store
            .delete_key(&v, &k, d, &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_key(&v, &k, d, &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(store.version(&v, &k, None).await.unwrap().is_none());
    assert!(matches!(
        store
            .insert_version(&version("alpha", "gone", 2), &WriteEvent::unrecorded())
            .await,
        Err(DomainError::KeyDeletedButRecoverable { .. })
    ));
    let deleted = store.deleted_key(&v, &k).await.unwrap().unwrap();
    assert_eq!(deleted.deletion, d);
    assert_eq!(store.list_deleted(&v, None, 10).await.unwrap().len(), 1);
    assert_eq!(store.due_purges(19).await.unwrap(), vec![]);
    assert_eq!(
        store.due_purges(20).await.unwrap(),
        vec![(v.clone(), k.clone())]
    );
    assert!(
        store
            .recover_key(&v, &k, &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(store.version(&v, &k, None).await.unwrap().is_some());
    assert!(
        !store
            .purge_key(&v, &k, &WriteEvent::unrecorded())
            .await
            .unwrap(),
        "only deleted keys purge"
    );
    assert!(
        store
            .delete_key(&v, &k, d, &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(
        store
            .purge_key(&v, &k, &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(store.deleted_key(&v, &k).await.unwrap().is_none());
    store
        .insert_version(&version("alpha", "gone", 4), &WriteEvent::unrecorded())
        .await
        .unwrap();
    assert_eq!(
        store.list_versions(&v, &k, 0, 10).await.unwrap().len(),
        1,
        "purge removed old versions"
    );
}

async fn backup_restore(store: &dyn KeyStore) {
    let (v, k) = (vn("alpha"), kn("backed"));
    store
        .insert_version(&version("alpha", "backed", 1), &WriteEvent::unrecorded())
        .await
        .unwrap();
    store
        .insert_version(&version("alpha", "backed", 2), &WriteEvent::unrecorded())
        .await
        .unwrap();
    let policy = RotationPolicy::default_for(true);
    store
        .set_rotation_policy(&v, &k, &policy, &WriteEvent::unrecorded())
        .await
        .unwrap();
    assert_eq!(store.rotation_policies().await.unwrap().len(), 1);
    let (versions, got_policy) = store.key_for_backup(&v, &k).await.unwrap().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(got_policy, Some(policy.clone()));
    assert!(matches!(
        store
            .restore_key(&versions, None, &WriteEvent::unrecorded())
            .await,
        Err(DomainError::KeyAlreadyExists { .. })
    ));
    store
        .delete_key(
            &v,
            &k,
            Deletion {
                deleted_date: 1,
                scheduled_purge_date: 2,
            },
            &WriteEvent::unrecorded(),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .restore_key(&versions, None, &WriteEvent::unrecorded())
            .await,
        Err(DomainError::KeyDeletedButRecoverable { .. })
    ));
    store
        .purge_key(&v, &k, &WriteEvent::unrecorded())
        .await
        .unwrap();
    store
        .restore_key(&versions, Some(&policy), &WriteEvent::unrecorded())
        .await
        .unwrap();
    let latest = store.version(&v, &k, None).await.unwrap().unwrap();
    assert_eq!(latest.id.version, versions[1].id.version);
    assert_eq!(store.rotation_policy(&v, &k).await.unwrap(), Some(policy));
}

async fn identities_and_secrets(store: &dyn KeyStore) {
    let id = Identity {
        object_id: "oid".into(),
        name: "app1".parse().unwrap(),
        client_id: "cid".into(),
        kind: IdentityKind::Application,
        admin: true,
        created: 5,
    };
    let secret = Credential {
        id: "c1".into(),
        object_id: "oid".into(),
        kind: CredentialKind::Secret {
            hash: "hash".into(),
            hint: "srs".into(),
        },
        created: 5,
        expires: None,
    };
    store
        .insert_identity(
            &id,
            std::slice::from_ref(&secret),
            &WriteEvent::unrecorded(),
        )
        .await
        .unwrap();
    assert!(
        store
            .insert_identity(&id, &[], &WriteEvent::unrecorded())
            .await
            .is_err()
    );
    assert_eq!(
        store.identity_by_secret_hash("hash").await.unwrap(),
        Some((id.clone(), secret.clone()))
    );
    assert_eq!(
        store.identity_by_client_id("cid").await.unwrap(),
        Some(id.clone())
    );
    assert_eq!(
        store.identity_by_name(&id.name).await.unwrap(),
        Some(id.clone())
    );
    assert_eq!(store.identities().await.unwrap().len(), 1);
    assert_eq!(
        store.identity_by_object_id(&id.object_id).await.unwrap(),
        Some(id.clone())
    );

    let certificate = Credential {
        id: "c2".into(),
        object_id: "oid".into(),
        kind: CredentialKind::Certificate {
            x5t: "t1".into(),
            x5t_s256: "t256".into(),
            der: vec![0x30, 0x03, 1, 2, 3],
        },
        created: 6,
        expires: Some(100),
    };
    let federated = Credential {
        id: "c3".into(),
        object_id: "oid".into(),
        kind: CredentialKind::Federated {
            issuer: "https://issuer.example".into(),
            subject: "system:serviceaccount:ns:sa".into(),
            audiences: vec!["api://AzureADTokenExchange".into()],
        },
        created: 7,
        expires: None,
    };
    store
        .insert_credential(&certificate, &WriteEvent::unrecorded())
        .await
        .unwrap();
    store
        .insert_credential(&federated, &WriteEvent::unrecorded())
        .await
        .unwrap();
    let again = Credential {
        id: "c4".into(),
        ..secret.clone()
    };
    assert!(
        store
            .insert_credential(&again, &WriteEvent::unrecorded())
            .await
            .is_err(),
        "a secret hash is unique"
    );
    assert_eq!(
        store.credentials("oid").await.unwrap(),
        vec![secret.clone(), certificate.clone(), federated.clone()]
    );
    assert!(
        store
            .delete_credential("oid", "c2", &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_credential("oid", "c2", &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_credential("other", "c3", &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert_eq!(store.credentials("oid").await.unwrap().len(), 2);

    assert_eq!(
        store
            .delete_identity(&id.name, &WriteEvent::unrecorded())
            .await
            .unwrap(),
        Some(id.clone())
    );
    assert_eq!(
        store.identity_by_object_id(&id.object_id).await.unwrap(),
        None
    );
    assert!(store.identity_by_client_id("cid").await.unwrap().is_none());
    assert!(store.credentials("oid").await.unwrap().is_empty());
    assert!(
        store
            .identity_by_secret_hash("hash")
            .await
            .unwrap()
            .is_none()
    );

    let issuer = TrustedIssuer {
        issuer: "https://issuer.example".into(),
        keys: IssuerKeys::Jwks(r#"{"keys":[]}"#.into()),
        principal_claim: "sub".into(),
        audiences: vec!["https://vault.example".into()],
        created: 9,
    };
    store
        .put_trusted_issuer(&issuer, &WriteEvent::unrecorded())
        .await
        .unwrap();
    let replaced = TrustedIssuer {
        keys: IssuerKeys::Discovery,
        principal_claim: "oid".into(),
        ..issuer.clone()
    };
    store
        .put_trusted_issuer(&replaced, &WriteEvent::unrecorded())
        .await
        .unwrap();
    assert_eq!(store.trusted_issuers().await.unwrap(), vec![replaced]);
    assert!(
        store
            .delete_trusted_issuer(&issuer.issuer, &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_trusted_issuer(&issuer.issuer, &WriteEvent::unrecorded())
            .await
            .unwrap()
    );
    assert!(store.trusted_issuers().await.unwrap().is_empty());

    assert_eq!(
        store
            .put_server_secret_if_absent("s", b"one")
            .await
            .unwrap(),
        b"one"
    );
    assert_eq!(
        store
            .put_server_secret_if_absent("s", b"two")
            .await
            .unwrap(),
        b"one"
    );
    assert_eq!(
        store.server_secret("s").await.unwrap(),
        Some(b"one".to_vec())
    );
}

#[tokio::test]
async fn sqlite_conformance() {
    let (_dir, store) = sqlite().await;
    conformance(&store).await;
    assert!(store.integrity_check().await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_concurrent_versions_are_all_kept() {
    let (_dir, store) = sqlite().await;
    store
        .insert_vault(&vault("alpha"), &WriteEvent::unrecorded())
        .await
        .unwrap();
    let tasks: Vec<_> = (1..=20u8)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_version(&version("alpha", "race", n), &WriteEvent::unrecorded())
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let all = store
        .list_versions(&vn("alpha"), &kn("race"), 0, 100)
        .await
        .unwrap();
    assert_eq!(all.len(), 20);
}

/// A fresh database on the PostgreSQL cluster named by `STRONGROOM_TEST_POSTGRES_URL`
/// (`scripts/with-postgres.sh` provides one). Without it the PostgreSQL half of the suite
/// cannot run: that fails under CI and is reported as skipped elsewhere.
async fn postgres() -> Option<SqlStore> {
    let Ok(base) = std::env::var("STRONGROOM_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run the PostgreSQL conformance suite"
        );
        eprintln!("skipped: STRONGROOM_TEST_POSTGRES_URL is not set");
        return None;
    };
    let name = format!("conformance_{}_{}", std::process::id(), rand_byte());
    let url = SqlStore::create_postgres_database(&base, &name)
        .await
        .unwrap();
    Some(SqlStore::connect(&url).await.unwrap())
}

fn rand_byte() -> u8 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    (t.subsec_nanos() % 251) as u8
}

#[tokio::test]
async fn postgres_conformance() {
    let Some(store) = postgres().await else {
        return;
    };
    assert_eq!(store.backend(), crate::Backend::Postgres);
    conformance(&store).await;
    assert!(store.integrity_check().await.unwrap().is_empty());
}

#[tokio::test]
async fn postgres_concurrent_versions_and_leases() {
    let Some(store) = postgres().await else {
        return;
    };
    store
        .insert_vault(&vault("alpha"), &WriteEvent::unrecorded())
        .await
        .unwrap();
    let tasks: Vec<_> = (1..=20u8)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_version(&version("alpha", "race", n), &WriteEvent::unrecorded())
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        store
            .list_versions(&vn("alpha"), &kn("race"), 0, 100)
            .await
            .unwrap()
            .len(),
        20
    );
    leases(&store).await;
}

#[tokio::test]
async fn sqlite_leases() {
    let (_dir, store) = sqlite().await;
    leases(&store).await;
}

async fn leases(store: &dyn KeyStore) {
    assert!(store.try_lease("job", "node-a", 100, 10).await.unwrap());
    assert!(
        store.try_lease("job", "node-a", 105, 10).await.unwrap(),
        "the holder renews"
    );
    assert!(
        !store.try_lease("job", "node-b", 114, 10).await.unwrap(),
        "held until 115"
    );
    assert!(
        store.try_lease("job", "node-b", 115, 10).await.unwrap(),
        "taken over after expiry"
    );
    assert!(!store.try_lease("job", "node-a", 116, 10).await.unwrap());
}
