//! Strongroom's storage adapter: the `KeyStore` port on sqlx's `Any` driver, so one code path
//! serves SQLite and PostgreSQL and only the migrations differ. SQLite is the embedded
//! default: WAL journal with `synchronous=FULL`, so an acknowledged write survives a crash.
//! PostgreSQL (with `synchronous_commit` on) lets several stateless nodes share one database;
//! they keep their caches coherent through `NOTIFY` (see `changes`) and run background work
//! under a lease.
//!
//! Every `KeyStore` method is one transaction. Writes that read-then-write start with a write
//! (an upsert with `RETURNING`), so SQLite takes its write lock up front and concurrent writers
//! queue on `busy_timeout` instead of failing.

mod audit;
pub mod changes;
mod identities;
mod keys;
mod policies;
mod roles;
mod rows;
mod system;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use strongroom_core::DomainError;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL, shared by several nodes.
    Postgres,
}

impl FromStr for Backend {
    type Err = DomainError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(DomainError::bad(format!(
                "unsupported database URL scheme in '{}': use sqlite://PATH or postgres://...",
                url.split(':').next().unwrap_or_default()
            )))
        }
    }
}

/// A `KeyStore` on a SQL database.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    url: String,
    calls: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl SqlStore {
    /// Connects to `url` (`sqlite://PATH`, created if missing, or `postgres://...`) and applies
    /// migrations.
    pub async fn connect(url: &str) -> Result<Self, DomainError> {
        install_default_drivers();
        let backend: Backend = url.parse()?;
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            Backend::Sqlite | Backend::Postgres => url.to_owned(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Postgres { 16 } else { 8 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        for pragma in SQLITE_PRAGMAS {
                            conn.execute(*pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(storage)?;
        let store = Self {
            pool,
            backend,
            url,
            calls: std::sync::Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), DomainError> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&self.pool).await,
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await
            }
        }
        .map_err(|e| DomainError::Storage(format!("migration failed: {e}")))
    }

    /// Creates database `name` on the PostgreSQL server of `base_url` and returns its URL (for
    /// throwaway databases in tests and benchmarks).
    pub async fn create_postgres_database(
        base_url: &str,
        name: &str,
    ) -> Result<String, DomainError> {
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(DomainError::bad(
                "database names are lowercase letters, digits and _",
            ));
        }
        install_default_drivers();
        let admin = sqlx::AnyPool::connect(base_url).await.map_err(storage)?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .map_err(storage)?;
        admin.close().await;
        let (prefix, _) = base_url
            .rsplit_once('/')
            .ok_or_else(|| DomainError::bad("the URL has no database path"))?;
        Ok(format!("{prefix}/{name}"))
    }

    /// How many store operations (each one transaction) this process has run: the database
    /// round trips behind requests, as reported in `/metrics`.
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn count(&self) {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs the database's own consistency check; returns its findings (empty when sound).
    /// PostgreSQL verifies its pages itself as it reads them, so there it checks that every
    /// version belongs to a key instead.
    pub async fn integrity_check(&self) -> Result<Vec<String>, DomainError> {
        if self.backend == Backend::Postgres {
            let orphans: Vec<(String, String)> = sqlx::query_as(
                "SELECT v.vault, v.name FROM key_versions v LEFT JOIN keys k ON k.vault = v.vault AND k.name = v.name WHERE k.name IS NULL",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
            return Ok(orphans
                .into_iter()
                .map(|(v, n)| format!("orphan version of {v}/{n}"))
                .collect());
        }
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        Ok(rows
            .into_iter()
            .map(|(r,)| r)
            .filter(|r| r != "ok")
            .collect())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA busy_timeout = 30000",
    "PRAGMA foreign_keys = ON",
];

/// Maps a driver error to the domain's storage error.
pub(crate) fn storage(e: sqlx::Error) -> DomainError {
    DomainError::Storage(e.to_string())
}

/// Whether a driver error is a unique-constraint violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests;
