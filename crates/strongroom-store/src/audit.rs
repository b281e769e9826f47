//! The audit log: events appended in batches, read back by filter.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use strongroom_core::audit::{AuditFilter, AuditRecord};
use strongroom_core::error::DomainResult;

use crate::{SqlStore, storage};

const COLUMNS: &str = "chain, seq, time, request_id, principal, app_id, client, operation, \
                       resource, result, duration_us, prev_hash, hash";

fn from_row(row: &AnyRow) -> DomainResult<AuditRecord> {
    let text = |i: usize| row.try_get::<String, _>(i).map_err(storage);
    Ok(AuditRecord {
        chain: text(0)?,
        seq: row.try_get(1).map_err(storage)?,
        time: row.try_get(2).map_err(storage)?,
        request_id: text(3)?,
        principal: text(4)?,
        app_id: text(5)?,
        client: text(6)?,
        operation: text(7)?,
        resource: text(8)?,
        result: text(9)?,
        duration_us: row.try_get(10).map_err(storage)?,
        prev_hash: text(11)?,
        hash: text(12)?,
    })
}

impl SqlStore {
    pub(crate) async fn append_audit_impl(&self, events: &[AuditRecord]) -> DomainResult<()> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let sql = format!(
            "INSERT INTO audit_events ({COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        );
        for e in events {
            sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(e.chain.as_str())
                .bind(e.seq)
                .bind(e.time)
                .bind(e.request_id.as_str())
                .bind(e.principal.as_str())
                .bind(e.app_id.as_str())
                .bind(e.client.as_str())
                .bind(e.operation.as_str())
                .bind(e.resource.as_str())
                .bind(e.result.as_str())
                .bind(e.duration_us)
                .bind(e.prev_hash.as_str())
                .bind(e.hash.as_str())
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
        }
        tx.commit().await.map_err(storage)
    }

    pub(crate) async fn audit_events_impl(
        &self,
        filter: &AuditFilter,
    ) -> DomainResult<Vec<AuditRecord>> {
        enum Arg {
            Int(i64),
            Text(String),
        }
        let mut clauses = Vec::new();
        let mut args = Vec::new();
        let mut add = |clause: &str, arg: Arg| {
            args.push(arg);
            clauses.push(format!("{clause} ${}", args.len()));
        };
        if let Some(since) = filter.since {
            add("time >=", Arg::Int(since));
        }
        if let Some(until) = filter.until {
            add("time <=", Arg::Int(until));
        }
        if let Some(p) = &filter.principal {
            add("principal =", Arg::Text(p.clone()));
        }
        if let Some(o) = &filter.operation {
            add("operation =", Arg::Text(o.clone()));
        }
        if let Some(r) = &filter.result {
            add("result =", Arg::Text(r.clone()));
        }
        let mut sql = format!("SELECT {COLUMNS} FROM audit_events");
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(" ORDER BY chain, seq");
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {}", limit.max(0)));
        }
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for arg in args {
            query = match arg {
                Arg::Int(i) => query.bind(i),
                Arg::Text(t) => query.bind(t),
            };
        }
        let rows = query.fetch_all(&self.pool).await.map_err(storage)?;
        rows.iter().map(from_row).collect()
    }
}
