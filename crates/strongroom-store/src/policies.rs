//! Access policies of vaults (Key Vault's legacy permission model).

use sqlx::Row;
use sqlx::any::AnyRow;
use strongroom_core::DomainError;
use strongroom_core::access_policy::{AccessPolicy, KeyPermission};
use strongroom_core::audit::WriteEvent;
use strongroom_core::error::DomainResult;
use strongroom_core::names::VaultName;

use crate::audit::commit_with;
use crate::changes::Change;
use crate::{SqlStore, storage};

fn from_row(row: &AnyRow) -> DomainResult<AccessPolicy> {
    let corrupt = |e: DomainError| DomainError::Storage(format!("corrupt access policy: {e}"));
    let vault: String = row.try_get(0).map_err(storage)?;
    let keys: String = row.try_get(2).map_err(storage)?;
    let names: Vec<&str> = keys.split(',').filter(|k| !k.is_empty()).collect();
    Ok(AccessPolicy {
        vault: vault.parse().map_err(corrupt)?,
        object_id: row.try_get(1).map_err(storage)?,
        keys: KeyPermission::parse_list(&names).map_err(corrupt)?,
        updated: row.try_get(3).map_err(storage)?,
    })
}

impl SqlStore {
    pub(crate) async fn put_access_policy_impl(
        &self,
        p: &AccessPolicy,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        // SQLite and PostgreSQL spell the upsert alike.
        sqlx::query(
            "INSERT INTO access_policies (vault, object_id, keys, updated) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (vault, object_id) DO UPDATE SET keys = excluded.keys, updated = excluded.updated",
        )
            .bind(p.vault.as_str())
            .bind(p.object_id.as_str())
            .bind(p.keys_text())
            .bind(p.updated)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        commit_with(tx, audit).await?;
        self.announce(Change::Access(p.vault.clone())).await;
        Ok(())
    }

    pub(crate) async fn delete_access_policy_impl(
        &self,
        vault: &VaultName,
        object_id: &str,
        audit: &WriteEvent,
    ) -> DomainResult<bool> {
        self.delete_access_row("access_policies", "object_id", vault, object_id, audit)
            .await
    }

    pub(crate) async fn access_policies_impl(
        &self,
        vault: &VaultName,
    ) -> DomainResult<Vec<AccessPolicy>> {
        let rows = sqlx::query(
            "SELECT vault, object_id, keys, updated FROM access_policies WHERE vault = $1 ORDER BY object_id",
        )
        .bind(vault.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter().map(from_row).collect()
    }
}
