//! The background scheduler: purges deleted keys whose retention has ended, rotates keys
//! whose rotation policy is due, and logs near-expiry notifications. One pass per interval.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use strongroom_core::error::DomainResult;
use strongroom_core::names::KeyVersion;
use strongroom_core::ports::KeyStore;
use tracing::{info, warn};

use crate::door::Caller;
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
    /// Where the scheduler lease is held.
    store: Arc<dyn KeyStore>,
    notified: Mutex<HashSet<KeyVersion>>,
}

impl Scheduler {
    /// A scheduler over these services.
    pub fn new(keys: Arc<KeyService>, vaults: Arc<VaultService>, store: Arc<dyn KeyStore>) -> Self {
        Self {
            keys,
            vaults,
            store,
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
            .store
            .try_lease("scheduler", node, now, lease_secs)
            .await?
        {
            return Ok(None);
        }
        self.run_once().await.map(Some)
    }

    /// Runs one pass, as the system caller `scheduler`: every purge and rotation goes through
    /// the door like a request.
    pub async fn run_once(&self) -> DomainResult<PassReport> {
        let caller = Caller::system("scheduler", self.run_id()?.into());
        let mut report = PassReport::default();
        let now = self.keys.now();
        for (vault, key) in self.keys.purge_expired(&caller).await? {
            info!(vault = %vault, key = %key, "purged deleted key at the end of its retention period");
            report.purged += 1;
        }
        for entry in self.keys.rotation_schedule().await? {
            if entry
                .policy
                .rotation_due_at(entry.created, entry.exp)
                .is_some_and(|due| due <= now)
            {
                let vault = self.vaults.open(&entry.vault).await?;
                match self.keys.rotate(&caller, &vault, &entry.name).await {
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
                .notify_due_at(entry.created, entry.exp)
                .is_some_and(|due| due <= now)
                && self.first_notice(&entry.version)
            {
                warn!(vault = %entry.vault, key = %entry.name, version = %entry.version, expires = ?entry.exp, "key version is near expiry");
                report.notified += 1;
            }
        }
        Ok(report)
    }

    /// A fresh id for one pass, the request id of its audit events.
    fn run_id(&self) -> DomainResult<String> {
        let mut bytes = [0u8; 16];
        self.keys.crypto.fill_random(&mut bytes)?;
        Ok(format!("scheduler-{}", hex::encode(bytes)))
    }

    fn first_notice(&self, version: &KeyVersion) -> bool {
        self.notified
            .lock()
            .map(|mut set| set.insert(version.clone()))
            .unwrap_or(false)
    }
}
