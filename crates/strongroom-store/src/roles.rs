//! Role assignments of vaults and pools.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use strongroom_core::DomainError;
use strongroom_core::error::DomainResult;
use strongroom_core::names::VaultName;
use strongroom_core::rbac::{RoleAssignment, RoleScope};

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
    pub(crate) async fn insert_role_assignment_impl(&self, a: &RoleAssignment) -> DomainResult<()> {
        let sql =
            format!("INSERT INTO role_assignments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
        sqlx::query(AssertSqlSafe(sql))
            .bind(a.vault.as_str())
            .bind(a.name.as_str())
            .bind(a.scope.as_string())
            .bind(a.role_definition.as_str())
            .bind(a.principal_id.as_str())
            .bind(a.created)
            .execute(&self.pool)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    DomainError::RoleAssignmentExists
                } else {
                    storage(e)
                }
            })?;
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
    ) -> DomainResult<Option<RoleAssignment>> {
        let sql = format!(
            "DELETE FROM role_assignments WHERE vault = $1 AND name = $2 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(vault.as_str())
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        if row.is_some() {
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
