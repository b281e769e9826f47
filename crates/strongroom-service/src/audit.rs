//! The durable, tamper-evident audit log.
//!
//! - Each server process writes its own chain, named by its node id: events numbered from 1,
//!   each carrying the previous event's hash (the first, the chain's start) and its own hash:
//!   HMAC-SHA-256, under the deployment's audit key (sealed by the root key, shared by all
//!   nodes), of its fields and that link. Whoever can edit the database but does not hold the
//!   root key cannot forge a hash, so an edited, removed or reordered event breaks its chain
//!   where it happened ([`verify`]). Chains of several nodes never interleave, so no node waits
//!   for another to append.
//! - The event of a write (a key created, a role assigned, ...) is stored by the write's own
//!   transaction, among the pending events: a write that commits has its event, even if the
//!   process is killed a moment later. The node's writer links pending events into its chain
//!   (moving them in one transaction) within the group-commit delay; a pending event whose
//!   node stopped first is linked by the next node to start, or by any node after 5 s.
//! - The events of reads and cryptographic operations are group-committed: the sink queues
//!   them and a writer appends each batch in one transaction, at most 100 ms after its first
//!   event, never one durable write per request. Such an event still queued when the process
//!   is killed is lost; the chain written so far stays whole.
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
        self.hash_with(record, &mut Vec::new())
    }

    /// `hash`, with `buffer` reused for the hashed text.
    pub fn hash_with(&self, record: &AuditRecord, buffer: &mut Vec<u8>) -> String {
        buffer.clear();
        record.write_hashed_text(buffer);
        hex::encode(self.0.sign(buffer))
    }
}

/// The audit sink that stores events: queued here, appended by a writer task in batches. The
/// events of writes are stored by the writes' transactions; the writer links them into the
/// chain with the queued ones.
pub struct StoreAudit {
    queue: mpsc::Sender<Queued>,
    chain: String,
    dropped: AtomicU64,
}

enum Queued {
    /// An event to store.
    Event(AuditEvent),
    /// A write stored its event among the pending ones: link it soon.
    Stored,
}

/// How long a pending event of another chain waits before this node links it (its node has
/// stopped, or cannot reach the database).
const ORPHANED_AFTER: Duration = Duration::from_secs(5);
/// How often an idle writer looks for such events.
const IDLE: Duration = Duration::from_secs(5);
/// Pending events linked per batch.
const PENDING_PAGE: usize = 2_000;

impl StoreAudit {
    /// Starts the writer of `chain` (this node's id) on the current runtime.
    pub fn start(store: Arc<dyn KeyStore>, key: AuditKey, chain: String) -> Arc<Self> {
        let (queue, events) = mpsc::channel(QUEUE);
        tokio::spawn(write(store, key, chain.clone(), events));
        Arc::new(Self {
            queue,
            chain,
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
        if self.queue.try_send(Queued::Event(event)).is_err() {
            let before = self.dropped.fetch_add(1, Ordering::Relaxed);
            if before.is_power_of_two() || before == 0 {
                tracing::error!(
                    dropped = before + 1,
                    "the audit queue is full: events are lost"
                );
            }
        }
    }

    fn write_chain(&self) -> Option<&str> {
        Some(&self.chain)
    }

    fn stored(&self, event: AuditEvent) {
        if LogAudit.enabled() {
            LogAudit.record(event);
        }
        // A full queue will be written soon anyway, and the event is already stored.
        let _ = self.queue.try_send(Queued::Stored);
    }
}

/// Where a chain stands: the last event's place and hash.
#[derive(Clone)]
struct ChainEnd {
    seq: i64,
    hash: String,
}

async fn write(
    store: Arc<dyn KeyStore>,
    key: AuditKey,
    chain: String,
    mut queue: mpsc::Receiver<Queued>,
) {
    let mut end = ChainEnd {
        seq: 0,
        hash: key.chain_start(&chain),
    };
    // At start, any node's events of writes still pending are linked: a node stopped before
    // it could link them, or another node links them first (each is taken once).
    flush(&*store, &key, &chain, &mut end, Vec::new(), Duration::ZERO).await;
    let mut open = true;
    let mut queued = Vec::with_capacity(MAX_BATCH);
    while open {
        // The first event starts a batch; the writer then sleeps until that event's deadline
        // and takes everything queued by then, so that it wakes ten times a second under load
        // rather than once per event.
        match tokio::time::timeout(IDLE, queue.recv_many(&mut queued, MAX_BATCH)).await {
            Ok(0) => open = false,
            Ok(_) => tokio::time::sleep(MAX_DELAY).await,
            // Idle: look for events of stopped nodes.
            Err(_) => {}
        }
        loop {
            while queued.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(q) => queued.push(q),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
            }
            let full = queued.len() >= MAX_BATCH;
            let batch: Vec<AuditRecord> = queued
                .drain(..)
                .filter_map(|q| match q {
                    Queued::Event(event) => Some(event.into_record(&chain, 0, String::new())),
                    Queued::Stored => None,
                })
                .collect();
            flush(&*store, &key, &chain, &mut end, batch, ORPHANED_AFTER).await;
            // A full batch leaves more behind: write it now rather than after another delay.
            if !full {
                break;
            }
        }
    }
}

/// Links the pending events of writes and then `queued` into the chain after `end`, and
/// stores them in one transaction. A failed append is retried: the chain never skips.
async fn flush(
    store: &dyn KeyStore,
    key: &AuditKey,
    chain: &str,
    end: &mut ChainEnd,
    mut queued: Vec<AuditRecord>,
    orphaned_after: Duration,
) {
    loop {
        let pending = match store
            .pending_audit(chain, orphaned_after, PENDING_PAGE)
            .await
        {
            Ok(pending) => pending,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read pending audit events; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let more = pending.len() >= PENDING_PAGE;
        if pending.is_empty() && queued.is_empty() {
            return;
        }
        let linked: Vec<i64> = pending.iter().map(|(id, _)| *id).collect();
        let mut next = end.clone();
        let mut records: Vec<AuditRecord> = pending.into_iter().map(|(_, r)| r).collect();
        let of_others = records.len();
        records.append(&mut queued);
        let mut text = Vec::new();
        for record in &mut records {
            next.seq += 1;
            if record.chain != chain {
                chain.clone_into(&mut record.chain);
            }
            record.seq = next.seq;
            record.prev_hash = std::mem::take(&mut next.hash);
            record.hash = key.hash_with(record, &mut text);
            next.hash.clone_from(&record.hash);
        }
        match store.append_audit(&records, &linked).await {
            Ok(true) => {
                *end = next;
                if !more {
                    return;
                }
            }
            // Another node linked some of them first: read the pending events again.
            Ok(false) => queued = records.split_off(of_others),
            Err(e) => {
                tracing::warn!(error = %e, events = records.len(), "cannot store audit events; retrying");
                queued = records.split_off(of_others);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
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
