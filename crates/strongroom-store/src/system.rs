//! Vaults, identities, server secrets, and the `KeyStore` implementation that ties the
//! modules together.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use strongroom_core::DomainError;
use strongroom_core::access_policy::AccessPolicy;
use strongroom_core::audit::{AuditFilter, AuditRecord, StoredBatch, WriteEvent};
use strongroom_core::error::DomainResult;
use strongroom_core::identity::{Credential, Identity, TrustedIssuer};
use strongroom_core::key::KeyVersionRecord;
use strongroom_core::lifecycle::Deletion;
use strongroom_core::names::{IdentityName, KeyName, KeyVersion, VaultName};
use strongroom_core::ports::{DeletedKey, KeyStore, PolicyEntry, StoredVault};
use strongroom_core::rbac::{RoleAssignment, RoleDefinition};
use strongroom_core::rotation::RotationPolicy;
use strongroom_core::vault::{RetentionDays, Vault};

use crate::audit::commit_with;
use crate::{SqlStore, is_unique_violation, storage};

fn corrupt(e: DomainError) -> DomainError {
    DomainError::Storage(format!("corrupt row: {e}"))
}

fn vault_from_row(row: &AnyRow) -> DomainResult<StoredVault> {
    let name: String = row.try_get(0).map_err(storage)?;
    let kind: String = row.try_get(1).map_err(storage)?;
    let sku: String = row.try_get(2).map_err(storage)?;
    let days: i64 = row.try_get(3).map_err(storage)?;
    Ok(StoredVault {
        vault: Vault {
            name: name.parse().map_err(corrupt)?,
            kind: kind.parse().map_err(corrupt)?,
            sku: sku.parse().map_err(corrupt)?,
            retention: RetentionDays::new(u32::try_from(days).unwrap_or(0)).map_err(corrupt)?,
            purge_protection: row.try_get::<i64, _>(4).map_err(storage)? != 0,
            created: row.try_get(5).map_err(storage)?,
            rbac_authorization: row.try_get::<i64, _>(7).map_err(storage)? != 0,
        },
        sealed_kek: row.try_get(6).map_err(storage)?,
    })
}

const VAULT_COLUMNS: &str =
    "name, kind, sku, retention_days, purge_protection, created, sealed_kek, rbac_authorization";

#[async_trait]
impl KeyStore for SqlStore {
    async fn insert_role_assignment(
        &self,
        assignment: &RoleAssignment,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        self.count();
        self.insert_role_assignment_impl(assignment, audit).await
    }

    async fn role_assignment(
        &self,
        vault: &VaultName,
        name: &str,
    ) -> DomainResult<Option<RoleAssignment>> {
        self.count();
        self.role_assignment_impl(vault, name).await
    }

    async fn delete_role_assignment(
        &self,
        vault: &VaultName,
        name: &str,
        audit: &WriteEvent,
    ) -> DomainResult<Option<RoleAssignment>> {
        self.count();
        self.delete_role_assignment_impl(vault, name, audit).await
    }

    async fn role_assignments(&self, vault: &VaultName) -> DomainResult<Vec<RoleAssignment>> {
        self.count();
        self.role_assignments_impl(vault).await
    }

    async fn append_audit(&self, events: &[AuditRecord], linked: &[i64]) -> DomainResult<bool> {
        // Not counted: batches are written off the request path, never one per request.
        self.append_audit_impl(events, linked).await
    }

    async fn pending_audit(
        &self,
        chain: &str,
        orphaned_after: std::time::Duration,
        limit: usize,
    ) -> DomainResult<Vec<(i64, AuditRecord)>> {
        // Not counted: read by the audit writer, off the request path.
        self.pending_audit_impl(chain, orphaned_after, limit).await
    }

    async fn audit_events(&self, filter: &AuditFilter) -> DomainResult<Vec<AuditRecord>> {
        self.count();
        self.audit_events_impl(filter).await
    }

    async fn audit_batches_after(
        &self,
        after: Option<(&str, i64)>,
        count: i64,
    ) -> DomainResult<Vec<StoredBatch>> {
        self.count();
        self.audit_batches_after_impl(after, count).await
    }

    async fn put_role_definition(
        &self,
        vault: &VaultName,
        definition: &RoleDefinition,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        self.count();
        self.put_role_definition_impl(vault, definition, audit)
            .await
    }

    async fn delete_role_definition(
        &self,
        vault: &VaultName,
        name: &str,
        audit: &WriteEvent,
    ) -> DomainResult<bool> {
        self.count();
        self.delete_role_definition_impl(vault, name, audit).await
    }

    async fn role_definitions(&self, vault: &VaultName) -> DomainResult<Vec<RoleDefinition>> {
        self.count();
        self.role_definitions_impl(vault).await
    }

    async fn put_access_policy(
        &self,
        policy: &AccessPolicy,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        self.count();
        self.put_access_policy_impl(policy, audit).await
    }

    async fn delete_access_policy(
        &self,
        vault: &VaultName,
        object_id: &str,
        audit: &WriteEvent,
    ) -> DomainResult<bool> {
        self.count();
        self.delete_access_policy_impl(vault, object_id, audit)
            .await
    }

    async fn access_policies(&self, vault: &VaultName) -> DomainResult<Vec<AccessPolicy>> {
        self.count();
        self.access_policies_impl(vault).await
    }

    async fn insert_vault(&self, stored: &StoredVault, audit: &WriteEvent) -> DomainResult<()> {
        self.count();
        let v = &stored.vault;
        let sql =
            format!("INSERT INTO vaults ({VAULT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        let mut tx = self.pool.begin().await.map_err(storage)?;
        sqlx::query(AssertSqlSafe(sql))
            .bind(v.name.as_str())
            .bind(v.kind.as_str())
            .bind(v.sku.as_str())
            .bind(i64::from(v.retention.days()))
            .bind(i64::from(v.purge_protection))
            .bind(v.created)
            .bind(stored.sealed_kek.as_slice())
            .bind(i64::from(v.rbac_authorization))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    DomainError::VaultAlreadyExists {
                        name: v.name.to_string(),
                    }
                } else {
                    storage(e)
                }
            })?;
        commit_with(tx, audit).await
    }

    async fn vault(&self, name: &VaultName) -> DomainResult<Option<StoredVault>> {
        self.count();
        let sql = format!("SELECT {VAULT_COLUMNS} FROM vaults WHERE name = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.as_ref().map(vault_from_row).transpose()
    }

    async fn vaults(&self) -> DomainResult<Vec<Vault>> {
        self.count();
        let sql = format!("SELECT {VAULT_COLUMNS} FROM vaults ORDER BY name");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter()
            .map(|r| vault_from_row(r).map(|s| s.vault))
            .collect()
    }

    async fn delete_vault(&self, name: &VaultName, audit: &WriteEvent) -> DomainResult<bool> {
        self.count();
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let done = sqlx::query("DELETE FROM vaults WHERE name = $1")
            .bind(name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        for table in [
            "key_versions",
            "keys",
            "role_assignments",
            "role_definitions",
            "access_policies",
        ] {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE vault = $1"
            )))
            .bind(name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        }
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        commit_with(tx, audit).await?;
        self.announce(crate::changes::Change::Vault(name.clone()))
            .await;
        Ok(true)
    }

    async fn insert_version(
        &self,
        record: &KeyVersionRecord,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        self.count();
        self.insert_version_impl(record, audit).await
    }

    async fn version(
        &self,
        vault: &VaultName,
        name: &KeyName,
        version: Option<&KeyVersion>,
    ) -> DomainResult<Option<KeyVersionRecord>> {
        self.count();
        self.version_impl(vault, name, version).await
    }

    async fn update_version(
        &self,
        record: &KeyVersionRecord,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        self.count();
        self.update_version_impl(record, audit).await
    }

    async fn list_keys(
        &self,
        vault: &VaultName,
        after: Option<&KeyName>,
        limit: usize,
    ) -> DomainResult<Vec<KeyVersionRecord>> {
        self.count();
        self.list_keys_impl(vault, after, limit).await
    }

    async fn list_versions(
        &self,
        vault: &VaultName,
        name: &KeyName,
        skip: usize,
        limit: usize,
    ) -> DomainResult<Vec<KeyVersionRecord>> {
        self.count();
        self.list_versions_impl(vault, name, skip, limit).await
    }

    async fn key_for_backup(
        &self,
        vault: &VaultName,
        name: &KeyName,
    ) -> DomainResult<Option<(Vec<KeyVersionRecord>, Option<RotationPolicy>)>> {
        self.count();
        self.key_for_backup_impl(vault, name).await
    }

    async fn restore_key(
        &self,
        versions: &[KeyVersionRecord],
        policy: Option<&RotationPolicy>,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        self.count();
        self.restore_key_impl(versions, policy, audit).await
    }

    async fn delete_key(
        &self,
        vault: &VaultName,
        name: &KeyName,
        deletion: Deletion,
        audit: &WriteEvent,
    ) -> DomainResult<bool> {
        self.count();
        self.delete_key_impl(vault, name, deletion, audit).await
    }

    async fn deleted_key(
        &self,
        vault: &VaultName,
        name: &KeyName,
    ) -> DomainResult<Option<DeletedKey>> {
        self.count();
        Ok(self
            .deleted_keys_impl(vault, Some(name), None, 1)
            .await?
            .pop())
    }

    async fn list_deleted(
        &self,
        vault: &VaultName,
        after: Option<&KeyName>,
        limit: usize,
    ) -> DomainResult<Vec<DeletedKey>> {
        self.count();
        self.deleted_keys_impl(vault, None, after, limit).await
    }

    async fn recover_key(
        &self,
        vault: &VaultName,
        name: &KeyName,
        audit: &WriteEvent,
    ) -> DomainResult<bool> {
        self.count();
        self.recover_key_impl(vault, name, audit).await
    }

    async fn purge_key(
        &self,
        vault: &VaultName,
        name: &KeyName,
        audit: &WriteEvent,
    ) -> DomainResult<bool> {
        self.count();
        self.purge_key_impl(vault, name, audit).await
    }

    async fn due_purges(&self, now: i64) -> DomainResult<Vec<(VaultName, KeyName)>> {
        self.count();
        self.due_purges_impl(now).await
    }

    async fn rotation_policy(
        &self,
        vault: &VaultName,
        name: &KeyName,
    ) -> DomainResult<Option<RotationPolicy>> {
        self.count();
        self.rotation_policy_impl(vault, name).await
    }

    async fn set_rotation_policy(
        &self,
        vault: &VaultName,
        name: &KeyName,
        policy: &RotationPolicy,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        self.count();
        self.set_rotation_policy_impl(vault, name, policy, audit)
            .await
    }

    async fn rotation_policies(&self) -> DomainResult<Vec<PolicyEntry>> {
        self.count();
        self.rotation_policies_impl().await
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        ttl_secs: i64,
    ) -> DomainResult<bool> {
        self.count();
        self.try_lease_impl(name, holder, now, ttl_secs).await
    }

    async fn insert_identity(
        &self,
        identity: &Identity,
        credentials: &[Credential],
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        self.count();
        self.insert_identity_impl(identity, credentials, audit)
            .await
    }

    async fn identity_by_secret_hash(
        &self,
        secret_hash: &str,
    ) -> DomainResult<Option<(Identity, Credential)>> {
        self.count();
        self.identity_by_secret_hash_impl(secret_hash).await
    }

    async fn identity_by_client_id(&self, client_id: &str) -> DomainResult<Option<Identity>> {
        self.count();
        self.identity_by_client_id_impl(client_id).await
    }

    async fn identity_by_name(&self, name: &IdentityName) -> DomainResult<Option<Identity>> {
        self.count();
        self.identity_by_name_impl(name).await
    }

    async fn identities(&self) -> DomainResult<Vec<Identity>> {
        self.count();
        self.identities_impl().await
    }

    async fn identity_by_object_id(&self, object_id: &str) -> DomainResult<Option<Identity>> {
        self.count();
        self.identity_by_object_id_impl(object_id).await
    }

    async fn delete_identity(
        &self,
        name: &IdentityName,
        audit: &WriteEvent,
    ) -> DomainResult<Option<Identity>> {
        self.count();
        self.delete_identity_impl(name, audit).await
    }

    async fn credentials(&self, object_id: &str) -> DomainResult<Vec<Credential>> {
        self.count();
        self.credentials_impl(object_id).await
    }

    async fn insert_credential(
        &self,
        credential: &Credential,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        self.count();
        self.insert_credential_impl(credential, audit).await
    }

    async fn delete_credential(
        &self,
        object_id: &str,
        id: &str,
        audit: &WriteEvent,
    ) -> DomainResult<bool> {
        self.count();
        self.delete_credential_impl(object_id, id, audit).await
    }

    async fn trusted_issuers(&self) -> DomainResult<Vec<TrustedIssuer>> {
        self.count();
        self.trusted_issuers_impl().await
    }

    async fn put_trusted_issuer(
        &self,
        issuer: &TrustedIssuer,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        self.count();
        self.put_trusted_issuer_impl(issuer, audit).await
    }

    async fn delete_trusted_issuer(&self, issuer: &str, audit: &WriteEvent) -> DomainResult<bool> {
        self.count();
        self.delete_trusted_issuer_impl(issuer, audit).await
    }

    async fn server_secret(&self, name: &str) -> DomainResult<Option<Vec<u8>>> {
        self.count();
        let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.map(|r| r.try_get(0).map_err(storage)).transpose()
    }

    async fn put_server_secret_if_absent(&self, name: &str, value: &[u8]) -> DomainResult<Vec<u8>> {
        self.count();
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        self.server_secret(name)
            .await?
            .ok_or_else(|| DomainError::Storage(format!("server secret {name} vanished")))
    }
}
