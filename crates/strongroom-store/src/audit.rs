//! The audit log, stored one row per group-committed batch of a chain (the batch's events as a
//! JSON array): a batch costs one insert however many events it holds. The event of a write is
//! stored by the write's own transaction among the pending events (`audit_pending`), and moves
//! into its chain's batches when the node's writer links it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{AssertSqlSafe, Row};
use strongroom_core::DomainError;
use strongroom_core::audit::{AuditFilter, AuditRecord, StoredBatch, WriteEvent};
use strongroom_core::error::DomainResult;

use crate::{SqlStore, storage};

fn stored_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn event_text(events: &impl serde::Serialize) -> DomainResult<String> {
    serde_json::to_string(events).map_err(|e| DomainError::Internal(e.to_string()))
}

/// Commits a write's transaction with its audit event among the pending events.
pub(crate) async fn commit_with(
    mut tx: sqlx::Transaction<'_, sqlx::Any>,
    audit: &WriteEvent,
) -> DomainResult<()> {
    let pending = audit.pending();
    if let Some(event) = &pending {
        sqlx::query("INSERT INTO audit_pending (chain, stored_at, event) VALUES ($1, $2, $3)")
            .bind(event.chain.as_str())
            .bind(stored_now())
            .bind(event_text(event)?)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
    }
    tx.commit().await.map_err(storage)?;
    if pending.is_some() {
        audit.mark_stored();
    }
    Ok(())
}

fn matches(filter: &AuditFilter, e: &AuditRecord) -> bool {
    filter.since.is_none_or(|t| e.time >= t)
        && filter.until.is_none_or(|t| e.time <= t)
        && filter.principal.as_ref().is_none_or(|p| &e.principal == p)
        && filter.operation.as_ref().is_none_or(|o| &e.operation == o)
        && filter.result.as_ref().is_none_or(|r| &e.result == r)
}

impl SqlStore {
    pub(crate) async fn append_audit_impl(
        &self,
        events: &[AuditRecord],
        linked: &[i64],
    ) -> DomainResult<bool> {
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Ok(true);
        };
        if events.iter().any(|e| e.chain != first.chain) {
            return Err(DomainError::Internal(
                "an audit batch holds events of one chain".into(),
            ));
        }
        let mut tx = self.pool.begin().await.map_err(storage)?;
        for ids in linked.chunks(500) {
            let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "DELETE FROM audit_pending WHERE id IN ({})",
                marks.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(*id);
            }
            let done = query.execute(&mut *tx).await.map_err(storage)?;
            if done.rows_affected() != ids.len() as u64 {
                // Another node linked some of them first: they are in its chain.
                tx.rollback().await.map_err(storage)?;
                return Ok(false);
            }
        }
        sqlx::query(
            "INSERT INTO audit_batches (chain, first_seq, last_seq, first_time, last_time, events) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(first.chain.as_str())
        .bind(first.seq)
        .bind(last.seq)
        .bind(first.time)
        .bind(last.time)
        .bind(event_text(&events)?)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(true)
    }

    pub(crate) async fn pending_audit_impl(
        &self,
        chain: &str,
        orphaned_after: Duration,
        limit: usize,
    ) -> DomainResult<Vec<(i64, AuditRecord)>> {
        let age = i64::try_from(orphaned_after.as_secs()).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT id, event FROM audit_pending WHERE chain = $1 OR stored_at <= $2 \
             ORDER BY id LIMIT $3",
        )
        .bind(chain)
        .bind(stored_now().saturating_sub(age))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter()
            .map(|row| {
                let text: String = row.try_get(1).map_err(storage)?;
                let event = serde_json::from_str(&text)
                    .map_err(|e| DomainError::Storage(format!("corrupt audit event: {e}")))?;
                Ok((row.try_get(0).map_err(storage)?, event))
            })
            .collect()
    }

    pub(crate) async fn audit_events_impl(
        &self,
        filter: &AuditFilter,
    ) -> DomainResult<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT events FROM audit_batches WHERE last_time >= $1 AND first_time <= $2 \
             ORDER BY chain, first_seq",
        )
        .bind(filter.since.unwrap_or(i64::MIN))
        .bind(filter.until.unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        let limit = filter
            .limit
            .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(0));
        let mut out = Vec::new();
        for row in rows {
            let text: String = row.try_get(0).map_err(storage)?;
            let batch: Vec<AuditRecord> = serde_json::from_str(&text)
                .map_err(|e| DomainError::Storage(format!("corrupt audit batch: {e}")))?;
            out.extend(batch.into_iter().filter(|e| matches(filter, e)));
            if out.len() >= limit {
                out.truncate(limit);
                break;
            }
        }
        Ok(out)
    }

    pub(crate) async fn audit_batches_after_impl(
        &self,
        after: Option<(&str, i64)>,
        count: i64,
    ) -> DomainResult<Vec<StoredBatch>> {
        let (chain, seq) = after.unwrap_or(("", i64::MIN));
        let rows = sqlx::query(
            "SELECT chain, first_seq, events FROM audit_batches \
             WHERE chain > $1 OR (chain = $1 AND first_seq > $2) ORDER BY chain, first_seq LIMIT $3",
        )
        .bind(chain)
        .bind(seq)
        .bind(count)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter()
            .map(|row| {
                let text: String = row.try_get(2).map_err(storage)?;
                Ok(StoredBatch {
                    chain: row.try_get(0).map_err(storage)?,
                    first_seq: row.try_get(1).map_err(storage)?,
                    events: serde_json::from_str(&text)
                        .map_err(|e| DomainError::Storage(format!("corrupt audit batch: {e}")))?,
                })
            })
            .collect()
    }
}
