//! Keys, versions, soft delete and rotation policies.

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Row};
use strongroom_core::DomainError;
use strongroom_core::audit::WriteEvent;
use strongroom_core::error::DomainResult;
use strongroom_core::key::KeyVersionRecord;
use strongroom_core::lifecycle::Deletion;
use strongroom_core::names::{KeyName, KeyVersion, VaultName};
use strongroom_core::ports::{DeletedKey, PolicyEntry};
use strongroom_core::rotation::RotationPolicy;

use crate::audit::commit_with;
use crate::changes::Change;
use crate::rows::{VERSION_COLUMNS, encode, policy_from_text, to_json, version_from_row};
use crate::{SqlStore, storage};

const INSERT_VERSION: &str = "INSERT INTO key_versions (vault, name, version, seq, kty, public_key, key_ops, enabled, nbf, exp, exportable, created, updated, tags, release_policy, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

fn bind_version<'q>(
    record: &'q KeyVersionRecord,
    seq: i64,
    enc: &'q crate::rows::EncodedVersion,
) -> Query<'q, Any, AnyArguments> {
    let a = &record.attributes;
    sqlx::query(INSERT_VERSION)
        .bind(record.id.vault.as_str())
        .bind(record.id.name.as_str())
        .bind(record.id.version.as_str())
        .bind(seq)
        .bind(record.key_type.as_str())
        .bind(enc.public_key.as_str())
        .bind(enc.key_ops.as_str())
        .bind(i64::from(a.enabled))
        .bind(a.nbf)
        .bind(a.exp)
        .bind(i64::from(a.exportable))
        .bind(a.created)
        .bind(a.updated)
        .bind(enc.tags.as_str())
        .bind(enc.release_policy.as_deref())
        .bind(record.sealed.as_slice())
}

fn live_version_query(versioned: bool) -> String {
    let join = if versioned {
        "v.version = $3"
    } else {
        "v.seq = k.latest_seq"
    };
    format!(
        "SELECT {VERSION_COLUMNS} FROM keys k JOIN key_versions v ON v.vault = k.vault AND v.name = k.name AND {join} WHERE k.vault = $1 AND k.name = $2 AND k.deleted_date IS NULL"
    )
}

impl SqlStore {
    pub(crate) async fn insert_version_impl(
        &self,
        record: &KeyVersionRecord,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        let enc = encode(record)?;
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let row = sqlx::query(
            "INSERT INTO keys (vault, name, latest_seq) VALUES ($1, $2, 1) ON CONFLICT (vault, name) DO UPDATE SET latest_seq = keys.latest_seq + 1 RETURNING latest_seq, deleted_date",
        )
        .bind(record.id.vault.as_str())
        .bind(record.id.name.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(storage)?;
        let seq: i64 = row.try_get(0).map_err(storage)?;
        let deleted: Option<i64> = row.try_get(1).map_err(storage)?;
        if deleted.is_some() {
            tx.rollback().await.map_err(storage)?;
            return Err(DomainError::KeyDeletedButRecoverable {
                name: record.id.name.to_string(),
            });
        }
        bind_version(record, seq, &enc)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        commit_with(tx, audit).await?;
        self.announce(Change::Key(record.id.vault.clone(), record.id.name.clone()))
            .await;
        Ok(())
    }

    pub(crate) async fn version_impl(
        &self,
        vault: &VaultName,
        name: &KeyName,
        version: Option<&KeyVersion>,
    ) -> DomainResult<Option<KeyVersionRecord>> {
        let sql = live_version_query(version.is_some());
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(vault.as_str())
            .bind(name.as_str());
        if let Some(v) = version {
            query = query.bind(v.as_str());
        }
        let row = query.fetch_optional(&self.pool).await.map_err(storage)?;
        row.as_ref().map(version_from_row).transpose()
    }

    pub(crate) async fn update_version_impl(
        &self,
        record: &KeyVersionRecord,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let enc = encode(record)?;
        let a = &record.attributes;
        let done = sqlx::query(
            "UPDATE key_versions SET key_ops = $4, enabled = $5, nbf = $6, exp = $7, exportable = $8, updated = $9, tags = $10, release_policy = $11 WHERE vault = $1 AND name = $2 AND version = $3 AND EXISTS (SELECT 1 FROM keys k WHERE k.vault = $1 AND k.name = $2 AND k.deleted_date IS NULL)",
        )
        .bind(record.id.vault.as_str())
        .bind(record.id.name.as_str())
        .bind(record.id.version.as_str())
        .bind(enc.key_ops.as_str())
        .bind(i64::from(a.enabled))
        .bind(a.nbf)
        .bind(a.exp)
        .bind(i64::from(a.exportable))
        .bind(a.updated)
        .bind(enc.tags.as_str())
        .bind(enc.release_policy.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::KeyNotFound {
                name: format!("{}/{}", record.id.name, record.id.version),
            });
        }
        commit_with(tx, audit).await?;
        self.announce(Change::Key(record.id.vault.clone(), record.id.name.clone()))
            .await;
        Ok(())
    }

    pub(crate) async fn list_keys_impl(
        &self,
        vault: &VaultName,
        after: Option<&KeyName>,
        limit: usize,
    ) -> DomainResult<Vec<KeyVersionRecord>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM keys k JOIN key_versions v ON v.vault = k.vault AND v.name = k.name AND v.seq = k.latest_seq WHERE k.vault = $1 AND k.deleted_date IS NULL AND k.name > $2 ORDER BY k.name LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(vault.as_str())
            .bind(after.map_or("", KeyName::as_str))
            .bind(limit_i64(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter().map(version_from_row).collect()
    }

    pub(crate) async fn list_versions_impl(
        &self,
        vault: &VaultName,
        name: &KeyName,
        skip: usize,
        limit: usize,
    ) -> DomainResult<Vec<KeyVersionRecord>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM keys k JOIN key_versions v ON v.vault = k.vault AND v.name = k.name WHERE k.vault = $1 AND k.name = $2 AND k.deleted_date IS NULL ORDER BY v.seq LIMIT $3 OFFSET $4"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(vault.as_str())
            .bind(name.as_str())
            .bind(limit_i64(limit))
            .bind(limit_i64(skip))
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter().map(version_from_row).collect()
    }

    pub(crate) async fn key_for_backup_impl(
        &self,
        vault: &VaultName,
        name: &KeyName,
    ) -> DomainResult<Option<(Vec<KeyVersionRecord>, Option<RotationPolicy>)>> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let policy = sqlx::query("SELECT rotation_policy FROM keys WHERE vault = $1 AND name = $2 AND deleted_date IS NULL")
            .bind(vault.as_str())
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(storage)?;
        let Some(policy) = policy else {
            return Ok(None);
        };
        let policy = policy_from_text(policy.try_get(0).map_err(storage)?)?;
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM key_versions v WHERE v.vault = $1 AND v.name = $2 ORDER BY v.seq"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(vault.as_str())
            .bind(name.as_str())
            .fetch_all(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        let versions = rows
            .iter()
            .map(version_from_row)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Some((versions, policy)))
    }

    pub(crate) async fn restore_key_impl(
        &self,
        versions: &[KeyVersionRecord],
        policy: Option<&RotationPolicy>,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        let Some(first) = versions.first() else {
            return Err(DomainError::bad("The backup holds no key versions."));
        };
        let (vault, name) = (&first.id.vault, &first.id.name);
        let policy_text = policy.map(to_json).transpose()?;
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let inserted = sqlx::query(
            "INSERT INTO keys (vault, name, latest_seq, rotation_policy) VALUES ($1, $2, $3, $4) ON CONFLICT (vault, name) DO NOTHING",
        )
        .bind(vault.as_str())
        .bind(name.as_str())
        .bind(limit_i64(versions.len()))
        .bind(policy_text.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        if inserted.rows_affected() == 0 {
            let deleted =
                sqlx::query("SELECT deleted_date FROM keys WHERE vault = $1 AND name = $2")
                    .bind(vault.as_str())
                    .bind(name.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(storage)?
                    .try_get::<Option<i64>, _>(0)
                    .map_err(storage)?;
            tx.rollback().await.map_err(storage)?;
            return Err(match deleted {
                Some(_) => DomainError::KeyDeletedButRecoverable {
                    name: name.to_string(),
                },
                None => DomainError::KeyAlreadyExists {
                    name: name.to_string(),
                },
            });
        }
        for (i, record) in versions.iter().enumerate() {
            let enc = encode(record)?;
            bind_version(record, limit_i64(i + 1), &enc)
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
        }
        commit_with(tx, audit).await?;
        self.announce(Change::Key(vault.clone(), name.clone()))
            .await;
        Ok(())
    }

    pub(crate) async fn delete_key_impl(
        &self,
        vault: &VaultName,
        name: &KeyName,
        d: Deletion,
        audit: &WriteEvent,
    ) -> DomainResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let done = sqlx::query(
            "UPDATE keys SET deleted_date = $3, scheduled_purge_date = $4 WHERE vault = $1 AND name = $2 AND deleted_date IS NULL",
        )
        .bind(vault.as_str())
        .bind(name.as_str())
        .bind(d.deleted_date)
        .bind(d.scheduled_purge_date)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        let changed = done.rows_affected() > 0;
        if changed {
            commit_with(tx, audit).await?;
        }
        if changed {
            self.announce(Change::Key(vault.clone(), name.clone()))
                .await;
        }
        Ok(changed)
    }

    pub(crate) async fn deleted_keys_impl(
        &self,
        vault: &VaultName,
        name: Option<&KeyName>,
        after: Option<&KeyName>,
        limit: usize,
    ) -> DomainResult<Vec<DeletedKey>> {
        let filter = if name.is_some() {
            "k.name = $2"
        } else {
            "k.name > $2"
        };
        let sql = format!(
            "SELECT {VERSION_COLUMNS}, k.deleted_date, k.scheduled_purge_date FROM keys k JOIN key_versions v ON v.vault = k.vault AND v.name = k.name AND v.seq = k.latest_seq WHERE k.vault = $1 AND k.deleted_date IS NOT NULL AND {filter} ORDER BY k.name LIMIT $3"
        );
        let key = name.or(after).map_or("", KeyName::as_str);
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(vault.as_str())
            .bind(key)
            .bind(limit_i64(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter()
            .map(|row| {
                Ok(DeletedKey {
                    latest: version_from_row(row)?,
                    deletion: Deletion {
                        deleted_date: row.try_get(15).map_err(storage)?,
                        scheduled_purge_date: row.try_get(16).map_err(storage)?,
                    },
                })
            })
            .collect()
    }

    pub(crate) async fn recover_key_impl(
        &self,
        vault: &VaultName,
        name: &KeyName,
        audit: &WriteEvent,
    ) -> DomainResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let done = sqlx::query(
            "UPDATE keys SET deleted_date = NULL, scheduled_purge_date = NULL WHERE vault = $1 AND name = $2 AND deleted_date IS NOT NULL",
        )
        .bind(vault.as_str())
        .bind(name.as_str())
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        let changed = done.rows_affected() > 0;
        if changed {
            commit_with(tx, audit).await?;
        }
        if changed {
            self.announce(Change::Key(vault.clone(), name.clone()))
                .await;
        }
        Ok(changed)
    }

    pub(crate) async fn purge_key_impl(
        &self,
        vault: &VaultName,
        name: &KeyName,
        audit: &WriteEvent,
    ) -> DomainResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let done = sqlx::query(
            "DELETE FROM keys WHERE vault = $1 AND name = $2 AND deleted_date IS NOT NULL",
        )
        .bind(vault.as_str())
        .bind(name.as_str())
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(storage)?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM key_versions WHERE vault = $1 AND name = $2")
            .bind(vault.as_str())
            .bind(name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        commit_with(tx, audit).await?;
        self.announce(Change::Key(vault.clone(), name.clone()))
            .await;
        Ok(true)
    }

    pub(crate) async fn due_purges_impl(
        &self,
        now: i64,
    ) -> DomainResult<Vec<(VaultName, KeyName)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT vault, name FROM keys WHERE scheduled_purge_date IS NOT NULL AND scheduled_purge_date <= $1 ORDER BY scheduled_purge_date LIMIT 1000",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.into_iter()
            .map(|(v, n)| {
                let corrupt = |e: DomainError| DomainError::Storage(format!("corrupt row: {e}"));
                Ok((v.parse().map_err(corrupt)?, n.parse().map_err(corrupt)?))
            })
            .collect()
    }

    pub(crate) async fn rotation_policy_impl(
        &self,
        vault: &VaultName,
        name: &KeyName,
    ) -> DomainResult<Option<RotationPolicy>> {
        let row = sqlx::query("SELECT rotation_policy FROM keys WHERE vault = $1 AND name = $2 AND deleted_date IS NULL")
            .bind(vault.as_str())
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        match row {
            Some(row) => policy_from_text(row.try_get(0).map_err(storage)?),
            None => Err(DomainError::KeyNotFound {
                name: name.to_string(),
            }),
        }
    }

    pub(crate) async fn set_rotation_policy_impl(
        &self,
        vault: &VaultName,
        name: &KeyName,
        policy: &RotationPolicy,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let done = sqlx::query("UPDATE keys SET rotation_policy = $3 WHERE vault = $1 AND name = $2 AND deleted_date IS NULL")
            .bind(vault.as_str())
            .bind(name.as_str())
            .bind(to_json(policy)?)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        if done.rows_affected() == 0 {
            return Err(DomainError::KeyNotFound {
                name: name.to_string(),
            });
        }
        commit_with(tx, audit).await?;
        self.announce(Change::Key(vault.clone(), name.clone()))
            .await;
        Ok(())
    }

    pub(crate) async fn rotation_policies_impl(&self) -> DomainResult<Vec<PolicyEntry>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT vault, name, rotation_policy FROM keys WHERE deleted_date IS NULL AND rotation_policy IS NOT NULL ORDER BY vault, name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.into_iter()
            .map(|(v, n, p)| {
                let corrupt = |e: DomainError| DomainError::Storage(format!("corrupt row: {e}"));
                Ok(PolicyEntry {
                    vault: v.parse().map_err(corrupt)?,
                    name: n.parse().map_err(corrupt)?,
                    policy: policy_from_text(Some(p))?
                        .ok_or_else(|| DomainError::Storage("missing policy".into()))?,
                })
            })
            .collect()
    }
}

impl SqlStore {
    pub(crate) async fn try_lease_impl(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        ttl: i64,
    ) -> DomainResult<bool> {
        let row = sqlx::query(
            "INSERT INTO leases (name, holder, expires) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET holder = $2, expires = $3 WHERE leases.expires <= $4 OR leases.holder = $2 RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(now.saturating_add(ttl))
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage)?;
        Ok(row.is_some())
    }
}

pub(crate) fn limit_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
