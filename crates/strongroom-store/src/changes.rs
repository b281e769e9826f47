//! Change notifications between nodes: on PostgreSQL every change to a key, a vault, who may
//! use a vault, or an identity is announced with `NOTIFY`, and each node drops what it cached
//! of it, so a change made through any node takes effect on every node as soon as the
//! notification arrives (milliseconds; the listener reconnects and clears all caches if its
//! connection drops).

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use strongroom_core::names::{KeyName, VaultName};

use crate::{Backend, SqlStore};

/// The channel of key and vault changes.
pub const CHANNEL: &str = "strongroom_changes";

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A key (any of its versions, its deletion state or its policy).
    Key(VaultName, KeyName),
    /// A vault (deleted).
    Vault(VaultName),
    /// Who may do what in a vault or pool (a role assignment or access policy changed).
    Access(VaultName),
    /// An identity (by object id) was deleted or lost a credential: tokens issued to it (or
    /// through that credential) are checked again.
    Identity(String),
    /// The trusted external issuers changed.
    Issuers,
    /// Notifications may have been missed: forget everything.
    Reset,
}

impl Change {
    fn encode(&self) -> String {
        match self {
            Self::Key(v, k) => format!("k/{v}/{k}"),
            Self::Vault(v) => format!("v/{v}"),
            Self::Access(v) => format!("a/{v}"),
            Self::Identity(oid) => format!("i/{oid}"),
            Self::Issuers => "t".into(),
            Self::Reset => "r".into(),
        }
    }

    fn decode(text: &str) -> Self {
        let mut parts = text.splitn(3, '/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("k"), Some(v), Some(k)) => match (v.parse(), k.parse()) {
                (Ok(v), Ok(k)) => Self::Key(v, k),
                _ => Self::Reset,
            },
            (Some("v"), Some(v), None) => v.parse().map_or(Self::Reset, Self::Vault),
            (Some("a"), Some(v), None) => v.parse().map_or(Self::Reset, Self::Access),
            (Some("i"), Some(oid), None) if !oid.is_empty() => Self::Identity(oid.to_owned()),
            (Some("t"), None, None) => Self::Issuers,
            _ => Self::Reset,
        }
    }
}

/// Receives changes.
pub type ChangeSink = Arc<dyn Fn(Change) + Send + Sync>;

impl SqlStore {
    /// Announces a change to other nodes (PostgreSQL only; a failure is logged, since the
    /// write itself has committed).
    pub(crate) async fn announce(&self, change: Change) {
        if self.backend != Backend::Postgres {
            return;
        }
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(change.encode())
            .execute(&self.pool)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not announce a change to other nodes");
        }
    }

    /// Starts delivering other nodes' changes to `sink`. Returns false on backends with a
    /// single node (SQLite), where there is nothing to watch.
    pub async fn watch(&self, sink: ChangeSink) -> bool {
        if self.backend != Backend::Postgres {
            return false;
        }
        let url = self.url.clone();
        tokio::spawn(async move {
            loop {
                match PgListener::connect(&url).await {
                    Ok(mut listener) => {
                        if listener.listen(CHANNEL).await.is_ok() {
                            sink(Change::Reset);
                            while let Ok(n) = listener.recv().await {
                                sink(Change::decode(n.payload()));
                            }
                        }
                        sink(Change::Reset);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "change listener cannot connect; retrying")
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_round_trip() {
        let key = Change::Key("vault1".parse().unwrap(), "my-key".parse().unwrap());
        assert_eq!(Change::decode(&key.encode()), key);
        let vault = Change::Vault("vault1".parse().unwrap());
        assert_eq!(Change::decode(&vault.encode()), vault);
        let access = Change::Access("vault1".parse().unwrap());
        assert_eq!(Change::decode(&access.encode()), access);
        let identity = Change::Identity("0f0e0d0c-0000-4000-8000-000000000001".into());
        assert_eq!(Change::decode(&identity.encode()), identity);
        assert_eq!(Change::decode(&Change::Issuers.encode()), Change::Issuers);
        assert_eq!(Change::decode("garbage"), Change::Reset);
    }
}
