//! The durable, tamper-evident audit log.
//!
//! - Each server process writes its own chain, named by its node id: events numbered from 1,
//!   each carrying the previous event's hash (the first, the chain's start) and its own hash:
//!   HMAC-SHA-256, under the deployment's audit key (sealed by the root key, shared by all
//!   nodes), of its fields and that link. Whoever can edit the database but does not hold the
//!   root key cannot forge a hash, so an edited, removed or reordered event breaks its chain
//!   where it happened ([`verify`]). Chains of several nodes never interleave, so no node waits
//!   for another to append.
//! - Events are group-committed: the sink queues them and a writer appends each batch in one
//!   transaction, at most 100 ms after its first event, never one durable write per request.
//!   An event still queued when the process is killed is lost; the chain written so far stays
//!   whole.
//! - Reading and verifying the log are administration operations through the door.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use strongroom_core::DomainError;
use strongroom_core::audit::{AuditFilter, AuditRecord};
use strongroom_core::error::DomainResult;
use strongroom_core::ports::{KeyProtector, KeyStore, SealPurpose};
use tokio::sync::mpsc;
use zeroize::Zeroizing;

use crate::door::{AuditEvent, AuditSink, Caller, Door, LogAudit, Operation, Scope};

const AUDIT_KEY_NAME: &str = "audit-key";
/// The longest an event waits in the queue before its batch is written.
pub const MAX_DELAY: Duration = Duration::from_millis(100);
const MAX_BATCH: usize = 2_000;
const QUEUE: usize = 100_000;

/// The key of the chains' hashes.
#[derive(Clone)]
pub struct AuditKey(Arc<strongroom_crypto::MacKey>);

impl AuditKey {
    /// Loads the deployment's audit key, creating it at the first start.
    pub async fn load(
        store: &dyn KeyStore,
        protector: &dyn KeyProtector,
        fresh: [u8; 32],
    ) -> DomainResult<Self> {
        let sealed = match store.server_secret(AUDIT_KEY_NAME).await? {
            Some(sealed) => sealed,
            None => {
                let sealed = protector.seal(SealPurpose::AuditKey, &fresh)?;
                store
                    .put_server_secret_if_absent(AUDIT_KEY_NAME, &sealed)
                    .await?
            }
        };
        let plain = protector.unseal(SealPurpose::AuditKey, &sealed)?;
        let mut key = Zeroizing::new([0u8; 32]);
        if plain.len() != key.len() {
            return Err(DomainError::Internal(
                "the audit key has the wrong length".into(),
            ));
        }
        key.copy_from_slice(&plain);
        Ok(Self::of(&key))
    }

    /// The key of these bytes.
    pub fn of(key: &[u8; 32]) -> Self {
        Self(Arc::new(strongroom_crypto::MacKey::new(key)))
    }

    fn mac(&self, text: &str) -> String {
        hex::encode(self.0.sign(text.as_bytes()))
    }

    /// The link the first event of `chain` carries.
    pub fn chain_start(&self, chain: &str) -> String {
        self.mac(&format!("strongroom audit chain start\0{chain}"))
    }

    /// The hash `record` must carry.
    pub fn hash(&self, record: &AuditRecord) -> String {
        self.mac(&record.hashed_text())
    }
}

/// The audit sink that stores events: queued here, appended by a writer task in batches.
pub struct StoreAudit {
    queue: mpsc::Sender<AuditEvent>,
    dropped: AtomicU64,
}

impl StoreAudit {
    /// Starts the writer of `chain` (this node's id) on the current runtime.
    pub fn start(store: Arc<dyn KeyStore>, key: AuditKey, chain: String) -> Arc<Self> {
        let (queue, events) = mpsc::channel(QUEUE);
        tokio::spawn(write(store, key, chain, events));
        Arc::new(Self {
            queue,
            dropped: AtomicU64::new(0),
        })
    }

    /// Events refused because the queue was full (the writer could not keep up).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl AuditSink for StoreAudit {
    fn record(&self, event: AuditEvent) {
        if LogAudit.enabled() {
            LogAudit.record(event.clone());
        }
        if self.queue.try_send(event).is_err() {
            let before = self.dropped.fetch_add(1, Ordering::Relaxed);
            if before.is_power_of_two() || before == 0 {
                tracing::error!(
                    dropped = before + 1,
                    "the audit queue is full: events are lost"
                );
            }
        }
    }
}

fn record_of(event: AuditEvent, chain: &str, seq: i64, prev_hash: String) -> AuditRecord {
    AuditRecord {
        chain: chain.to_owned(),
        seq,
        time: event.time,
        request_id: event.request_id.to_string(),
        principal: event.principal,
        app_id: event.app_id.unwrap_or_default(),
        client: event.client.map(|c| c.to_string()).unwrap_or_default(),
        operation: event.operation.to_owned(),
        resource: event.resource,
        result: event.result.to_owned(),
        status: Some(event.status),
        duration_us: i64::try_from(event.duration_us).unwrap_or(i64::MAX),
        prev_hash,
        hash: String::new(),
    }
}

async fn write(
    store: Arc<dyn KeyStore>,
    key: AuditKey,
    chain: String,
    mut events: mpsc::Receiver<AuditEvent>,
) {
    let mut seq = 0i64;
    let mut prev = key.chain_start(&chain);
    while let Some(first) = events.recv().await {
        let deadline = tokio::time::Instant::now() + MAX_DELAY;
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(event)) => batch.push(event),
                Ok(None) | Err(_) => break,
            }
        }
        let mut records = Vec::with_capacity(batch.len());
        for event in batch {
            seq += 1;
            let mut record = record_of(event, &chain, seq, prev);
            record.hash = key.hash(&record);
            prev = record.hash.clone();
            records.push(record);
        }
        // A failed append is retried: the chain never skips.
        while let Err(e) = store.append_audit(&records).await {
            tracing::warn!(error = %e, events = records.len(), "cannot store audit events; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// What `verify` found wrong, one line per break.
pub fn verify(key: &AuditKey, records: &[AuditRecord]) -> Vec<String> {
    let mut verifier = ChainVerifier::default();
    for r in records {
        verifier.check(key, r);
    }
    verifier.problems
}

/// Checks events one at a time, in chain order, holding only the place in the current chain:
/// a log of any size is verified a page at a time.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    chain: Option<String>,
    next_seq: i64,
    prev: String,
    /// Events checked.
    pub events: usize,
    /// Chains met.
    pub chains: usize,
    /// What was found wrong.
    pub problems: Vec<String>,
}

impl ChainVerifier {
    /// Checks the next event.
    pub fn check(&mut self, key: &AuditKey, r: &AuditRecord) {
        if self.chain.as_deref() != Some(r.chain.as_str()) {
            self.chain = Some(r.chain.clone());
            self.chains += 1;
            self.next_seq = 1;
            self.prev = key.chain_start(&r.chain);
        }
        self.events += 1;
        if r.seq != self.next_seq {
            self.problems.push(format!(
                "chain {}: event {} is missing or out of place (found event {} there)",
                r.chain, self.next_seq, r.seq
            ));
        } else if r.prev_hash != self.prev {
            self.problems.push(format!(
                "chain {}: event {} does not follow the event before it (removed or reordered)",
                r.chain, r.seq
            ));
        }
        if key.hash(r) != r.hash {
            self.problems.push(format!(
                "chain {}: event {} was edited (its hash does not match its content)",
                r.chain, r.seq
            ));
        }
        self.next_seq = r.seq + 1;
        self.prev.clone_from(&r.hash);
    }
}

/// Batches read per page when verifying the stored log (each at most 2,000 events).
const VERIFY_PAGE: i64 = 64;

/// Reading and verifying the stored log.
pub struct AuditService {
    store: Arc<dyn KeyStore>,
    key: AuditKey,
    door: Arc<Door>,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Events read.
    pub events: usize,
    /// Chains read.
    pub chains: usize,
    /// Breaks found.
    pub problems: Vec<String>,
}

impl AuditService {
    /// A service over the store, with the deployment's audit key.
    pub fn new(store: Arc<dyn KeyStore>, key: AuditKey, door: Arc<Door>) -> Self {
        Self { store, key, door }
    }

    /// Stored events matching `filter`.
    pub async fn list(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
    ) -> DomainResult<Vec<AuditRecord>> {
        self.door
            .pass(
                caller,
                Operation::AuditRead,
                Scope::Deployment,
                self.store.audit_events(filter),
            )
            .await
    }

    /// Checks every chain.
    pub async fn verify(&self, caller: &Caller) -> DomainResult<Verification> {
        self.door
            .pass(caller, Operation::AuditVerify, Scope::Deployment, async {
                let mut verifier = ChainVerifier::default();
                let mut after: Option<(String, i64)> = None;
                loop {
                    let place = after.as_ref().map(|(c, s)| (c.as_str(), *s));
                    let page = self.store.audit_batches_after(place, VERIFY_PAGE).await?;
                    for batch in &page {
                        for r in &batch.events {
                            verifier.check(&self.key, r);
                        }
                        after = Some((batch.chain.clone(), batch.first_seq));
                    }
                    if i64::try_from(page.len()).unwrap_or(0) < VERIFY_PAGE {
                        break;
                    }
                }
                Ok(Verification {
                    events: verifier.events,
                    chains: verifier.chains,
                    problems: verifier.problems,
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(key: &AuditKey, n: i64) -> Vec<AuditRecord> {
        let mut prev = key.chain_start("node-a");
        (1..=n)
            .map(|seq| {
                let mut r = AuditRecord {
                    chain: "node-a".into(),
                    seq,
                    time: 1_800_000_000 + seq,
                    request_id: format!("req-{seq}"),
                    principal: "oid".into(),
                    app_id: "app".into(),
                    client: "10.0.0.1".into(),
                    operation: "KeySign".into(),
                    resource: "/vaults/v/keys/k".into(),
                    result: "Success".into(),
                    status: Some(200),
                    duration_us: 50,
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                r.hash = key.hash(&r);
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    #[test]
    fn an_edited_removed_or_reordered_event_breaks_its_chain() {
        let key = AuditKey::of(&[9; 32]);
        let whole = chain(&key, 5);
        assert!(verify(&key, &whole).is_empty());

        let mut edited = whole.clone();
        edited[2].result = "Forbidden".into();
        let found = verify(&key, &edited);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("event 3 was edited"));

        let mut removed = whole.clone();
        removed.remove(1);
        let found = verify(&key, &removed);
        assert!(
            found.iter().any(|p| p.contains("event 2 is missing")),
            "{found:?}"
        );

        let mut status = whole.clone();
        status[3].status = Some(403);
        assert!(
            verify(&key, &status)
                .iter()
                .any(|p| p.contains("event 4 was edited")),
            "the status is hashed"
        );

        // Events stored before the status was recorded verify as they were hashed.
        let mut old = chain(&key, 3);
        let mut prev = old[0].prev_hash.clone();
        for r in &mut old {
            r.status = None;
            r.prev_hash = prev.clone();
            r.hash = key.hash(r);
            prev = r.hash.clone();
        }
        assert!(verify(&key, &old).is_empty());

        let mut reordered = whole.clone();
        reordered.swap(1, 2);
        assert!(!verify(&key, &reordered).is_empty());

        // Recomputing the hashes needs the key.
        let other = AuditKey::of(&[8; 32]);
        let mut forged = whole.clone();
        forged[4].result = "Forbidden".into();
        forged[4].hash = other.hash(&forged[4]);
        assert!(
            verify(&key, &forged)
                .iter()
                .any(|p| p.contains("event 5 was edited"))
        );
    }
}
