//! The background scheduler: purges deleted keys whose retention has ended, rotates keys
//! whose rotation policy is due, and logs near-expiry notifications. One pass per interval.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use strongroom_core::error::DomainResult;
use strongroom_core::names::KeyVersion;
use tracing::{info, warn};

use crate::keys::KeyService;
use crate::vaults::VaultService;

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// Keys purged.
    pub purged: usize,
    /// Keys rotated.
    pub rotated: usize,
    /// Notifications raised.
    pub notified: usize,
}

/// The scheduler.
pub struct Scheduler {
    keys: Arc<KeyService>,
    vaults: Arc<VaultService>,
    notified: Mutex<HashSet<KeyVersion>>,
}

impl Scheduler {
    /// A scheduler over these services.
    pub fn new(keys: Arc<KeyService>, vaults: Arc<VaultService>) -> Self {
        Self {
            keys,
            vaults,
            notified: Mutex::new(HashSet::new()),
        }
    }

    /// Runs one pass if this node holds (or can take) the scheduler lease, so that one node of
    /// a deployment runs each job; returns `None` when another node holds it.
    pub async fn run_if_leader(
        &self,
        node: &str,
        lease_secs: i64,
    ) -> DomainResult<Option<PassReport>> {
        let now = self.keys.now();
        if !self
            .keys
            .store
            .try_lease("scheduler", node, now, lease_secs)
            .await?
        {
            return Ok(None);
        }
        self.run_once().await.map(Some)
    }

    /// Runs one pass.
    pub async fn run_once(&self) -> DomainResult<PassReport> {
        let mut report = PassReport::default();
        let now = self.keys.now();
        for (vault_name, name) in self.keys.store.due_purges(now).await? {
            if self.keys.store.purge_key(&vault_name, &name).await? {
                self.keys.cache.invalidate(&vault_name, &name);
                info!(vault = %vault_name, key = %name, "purged deleted key at the end of its retention period");
                report.purged += 1;
            }
        }
        for entry in self.keys.store.rotation_policies().await? {
            let vault = self.vaults.open(&entry.vault).await?;
            let Some(latest) = self
                .keys
                .store
                .version(&entry.vault, &entry.name, None)
                .await?
            else {
                continue;
            };
            let (created, exp) = (latest.attributes.created, latest.attributes.exp);
            if entry
                .policy
                .rotation_due_at(created, exp)
                .is_some_and(|due| due <= now)
            {
                match self.keys.rotate(&vault, &entry.name).await {
                    Ok(new) => {
                        info!(vault = %entry.vault, key = %entry.name, version = %new.id.version, "rotated key by policy");
                        report.rotated += 1;
                    }
                    Err(e) => {
                        warn!(vault = %entry.vault, key = %entry.name, error = %e, "automatic rotation failed")
                    }
                }
            } else if entry
                .policy
                .notify_due_at(created, exp)
                .is_some_and(|due| due <= now)
                && self.first_notice(&latest.id.version)
            {
                warn!(vault = %entry.vault, key = %entry.name, version = %latest.id.version, expires = ?exp, "key version is near expiry");
                report.notified += 1;
            }
        }
        Ok(report)
    }

    fn first_notice(&self, version: &KeyVersion) -> bool {
        self.notified
            .lock()
            .map(|mut set| set.insert(version.clone()))
            .unwrap_or(false)
    }
}
