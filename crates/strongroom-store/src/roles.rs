//! Role assignments and custom role definitions of vaults and pools.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use strongroom_core::DomainError;
use strongroom_core::audit::WriteEvent;
use strongroom_core::error::DomainResult;
use strongroom_core::names::VaultName;
use strongroom_core::rbac::{RoleAssignment, RoleDefinition, RoleScope, RoleType};

use crate::audit::commit_with;
use crate::{SqlStore, is_unique_violation, storage};

const COLUMNS: &str = "vault, name, scope, role_definition, principal_id, created";

fn from_row(row: &AnyRow) -> DomainResult<RoleAssignment> {
    let corrupt = |e: DomainError| DomainError::Storage(format!("corrupt role assignment: {e}"));
    let vault: String = row.try_get(0).map_err(storage)?;
    let scope: String = row.try_get(2).map_err(storage)?;
    Ok(RoleAssignment {
        vault: vault.parse().map_err(corrupt)?,
        name: row.try_get(1).map_err(storage)?,
        scope: RoleScope::parse(&scope).map_err(corrupt)?,
        role_definition: row.try_get(3).map_err(storage)?,
        principal_id: row.try_get(4).map_err(storage)?,
        created: row.try_get(5).map_err(storage)?,
    })
}

use crate::changes::Change;

impl SqlStore {
    pub(crate) async fn insert_role_assignment_impl(
        &self,
        a: &RoleAssignment,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let sql =
            format!("INSERT INTO role_assignments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
        sqlx::query(AssertSqlSafe(sql))
            .bind(a.vault.as_str())
            .bind(a.name.as_str())
            .bind(a.scope.as_string())
            .bind(a.role_definition.as_str())
            .bind(a.principal_id.as_str())
            .bind(a.created)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    DomainError::RoleAssignmentExists
                } else {
                    storage(e)
                }
            })?;
        commit_with(tx, audit).await?;
        self.announce(Change::Access(a.vault.clone())).await;
        Ok(())
    }

    pub(crate) async fn role_assignment_impl(
        &self,
        vault: &VaultName,
        name: &str,
    ) -> DomainResult<Option<RoleAssignment>> {
        let sql = format!("SELECT {COLUMNS} FROM role_assignments WHERE vault = $1 AND name = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(vault.as_str())
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.as_ref().map(from_row).transpose()
    }

    pub(crate) async fn delete_role_assignment_impl(
        &self,
        vault: &VaultName,
        name: &str,
        audit: &WriteEvent,
    ) -> DomainResult<Option<RoleAssignment>> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let sql = format!(
            "DELETE FROM role_assignments WHERE vault = $1 AND name = $2 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(vault.as_str())
            .bind(name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(storage)?;
        if row.is_some() {
            commit_with(tx, audit).await?;
            self.announce(Change::Access(vault.clone())).await;
        }
        row.as_ref().map(from_row).transpose()
    }

    pub(crate) async fn role_assignments_impl(
        &self,
        vault: &VaultName,
    ) -> DomainResult<Vec<RoleAssignment>> {
        let sql = format!("SELECT {COLUMNS} FROM role_assignments WHERE vault = $1 ORDER BY name");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(vault.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter().map(from_row).collect()
    }
}

fn definition_from_row(row: &AnyRow) -> DomainResult<RoleDefinition> {
    let corrupt = |e: String| DomainError::Storage(format!("corrupt role definition: {e}"));
    let kind: String = row.try_get(1).map_err(storage)?;
    let permissions: String = row.try_get(4).map_err(storage)?;
    Ok(RoleDefinition {
        id: row.try_get(0).map_err(storage)?,
        kind: kind
            .parse()
            .map_err(|e: DomainError| corrupt(e.to_string()))?,
        role_name: row.try_get(2).map_err(storage)?,
        description: row.try_get(3).map_err(storage)?,
        role_type: RoleType::Custom,
        permissions: serde_json::from_str(&permissions).map_err(|e| corrupt(e.to_string()))?,
    })
}

impl SqlStore {
    pub(crate) async fn put_role_definition_impl(
        &self,
        vault: &VaultName,
        d: &RoleDefinition,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let permissions = serde_json::to_string(&d.permissions)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        sqlx::query(
            "INSERT INTO role_definitions (vault, name, kind, role_name, description, permissions) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (vault, name) DO UPDATE SET \
             role_name = excluded.role_name, description = excluded.description, \
             permissions = excluded.permissions",
        )
        .bind(vault.as_str())
        .bind(d.id.as_str())
        .bind(d.kind.as_str())
        .bind(d.role_name.as_str())
        .bind(d.description.as_str())
        .bind(permissions)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        commit_with(tx, audit).await?;
        self.announce(Change::Access(vault.clone())).await;
        Ok(())
    }

    pub(crate) async fn delete_role_definition_impl(
        &self,
        vault: &VaultName,
        name: &str,
        audit: &WriteEvent,
    ) -> DomainResult<bool> {
        self.delete_access_row("role_definitions", "name", vault, name, audit)
            .await
    }

    /// Deletes the row of `table` whose `column` is `key` in `vault` (a change of who may do
    /// what there, announced); whether there was one.
    pub(crate) async fn delete_access_row(
        &self,
        table: &str,
        column: &str,
        vault: &VaultName,
        key: &str,
        audit: &WriteEvent,
    ) -> DomainResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let sql = format!("DELETE FROM {table} WHERE vault = $1 AND {column} = $2");
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(vault.as_str())
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        let removed = done.rows_affected() > 0;
        if removed {
            commit_with(tx, audit).await?;
            self.announce(Change::Access(vault.clone())).await;
        }
        Ok(removed)
    }

    pub(crate) async fn role_definitions_impl(
        &self,
        vault: &VaultName,
    ) -> DomainResult<Vec<RoleDefinition>> {
        let rows = sqlx::query(
            "SELECT name, kind, role_name, description, permissions FROM role_definitions \
             WHERE vault = $1 ORDER BY name",
        )
        .bind(vault.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter().map(definition_from_row).collect()
    }
}
