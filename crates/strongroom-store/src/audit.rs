//! The audit log, stored one row per group-committed batch of a chain (the batch's events as a
//! JSON array): a batch costs one insert however many events it holds.

use sqlx::Row;
use strongroom_core::DomainError;
use strongroom_core::audit::{AuditFilter, AuditRecord, StoredBatch};
use strongroom_core::error::DomainResult;

use crate::{SqlStore, storage};

fn matches(filter: &AuditFilter, e: &AuditRecord) -> bool {
    filter.since.is_none_or(|t| e.time >= t)
        && filter.until.is_none_or(|t| e.time <= t)
        && filter.principal.as_ref().is_none_or(|p| &e.principal == p)
        && filter.operation.as_ref().is_none_or(|o| &e.operation == o)
        && filter.result.as_ref().is_none_or(|r| &e.result == r)
}

impl SqlStore {
    pub(crate) async fn append_audit_impl(&self, events: &[AuditRecord]) -> DomainResult<()> {
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Ok(());
        };
        if events.iter().any(|e| e.chain != first.chain) {
            return Err(DomainError::Internal(
                "an audit batch holds events of one chain".into(),
            ));
        }
        let text =
            serde_json::to_string(events).map_err(|e| DomainError::Internal(e.to_string()))?;
        sqlx::query(
            "INSERT INTO audit_batches (chain, first_seq, last_seq, first_time, last_time, events) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(first.chain.as_str())
        .bind(first.seq)
        .bind(last.seq)
        .bind(first.time)
        .bind(last.time)
        .bind(text)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
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
