//! The audit log as stored: each server process appends its events to a chain of its own
//! (named by its node id), numbered from 1, each event carrying the hash of the one before it
//! and its own hash over its fields and that link. Editing, removing or reordering a stored
//! event breaks its chain where it happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A stored batch of one chain's events, with the place the store keeps it under (which
/// paging follows, whatever the events inside claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBatch {
    /// Its chain.
    pub chain: String,
    /// The seq of its first event, as stored beside it.
    pub first_seq: i64,
    /// Its events.
    pub events: Vec<AuditRecord>,
}

/// One stored audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The chain (the node id of the process that wrote it).
    pub chain: String,
    /// Its place in the chain, from 1.
    pub seq: i64,
    /// Unix seconds.
    pub time: i64,
    /// The request (or job run) id.
    pub request_id: String,
    /// The principal's object id, or the job's name.
    pub principal: String,
    /// The principal's application id, or empty.
    pub app_id: String,
    /// The client's address, or empty.
    pub client: String,
    /// The operation's name, as Key Vault's audit log names it.
    pub operation: String,
    /// The resource acted on.
    pub resource: String,
    /// `Success`, `Forbidden`, `NotFound`, ...
    pub result: String,
    /// The HTTP status (absent in events stored before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// How long it took, in microseconds.
    pub duration_us: i64,
    /// The hash of the previous event of the chain (the chain's start for the first).
    pub prev_hash: String,
    /// Its own hash.
    pub hash: String,
}

impl AuditRecord {
    /// The bytes its hash covers: every field but the hash, in a fixed order.
    pub fn hashed_text(&self) -> String {
        let mut out = Vec::new();
        self.write_hashed_text(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// `hashed_text`, appended to `out`.
    pub fn write_hashed_text(&self, out: &mut Vec<u8>) {
        // JSON string escaping keeps fields from running into each other.
        let fields = (
            &self.chain,
            self.seq,
            self.time,
            &self.request_id,
            &self.principal,
            &self.app_id,
            &self.client,
            &self.operation,
            &self.resource,
            &self.result,
            self.duration_us,
            &self.prev_hash,
        );
        // The status joins the hashed fields only when present, so events stored before it
        // was recorded still verify.
        // Writing JSON of strings and integers to a Vec cannot fail.
        let _ = match self.status {
            Some(status) => serde_json::to_writer(out, &(fields, status)),
            None => serde_json::to_writer(out, &fields),
        };
    }
}

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// At or after (Unix seconds).
    pub since: Option<i64>,
    /// At or before.
    pub until: Option<i64>,
    /// This principal only.
    pub principal: Option<String>,
    /// This operation only.
    pub operation: Option<String>,
    /// This result only.
    pub result: Option<String>,
    /// At most this many (the newest first are not implied: events come in chain order).
    pub limit: Option<i64>,
}

/// The event of one write, stored by the write's own transaction: a write that commits has its
/// event, whatever happens to the process after. It waits in the pending events until its
/// node's writer links it into the node's chain (within the group-commit delay).
#[derive(Debug, Clone)]
pub struct WriteEvent(Arc<WriteEventInner>);

#[derive(Debug)]
struct WriteEventInner {
    /// The event as it reads if the write succeeds (none where no log is kept).
    draft: Option<AuditRecord>,
    started: Instant,
    stored: AtomicBool,
}

impl WriteEvent {
    /// The event `draft` (its chain names the node that links it), for a write started then.
    pub fn new(draft: AuditRecord, started: Instant) -> Self {
        Self(Arc::new(WriteEventInner {
            draft: Some(draft),
            started,
            stored: AtomicBool::new(false),
        }))
    }

    /// A write whose event is not kept (no audit log is configured).
    pub fn unrecorded() -> Self {
        Self(Arc::new(WriteEventInner {
            draft: None,
            started: Instant::now(),
            stored: AtomicBool::new(false),
        }))
    }

    /// The event to store with a write, its duration measured now; none when not kept, or
    /// when an earlier write of the same operation stored it.
    pub fn pending(&self) -> Option<AuditRecord> {
        if self.is_stored() {
            return None;
        }
        let mut record = self.0.draft.clone()?;
        record.duration_us =
            i64::try_from(self.0.started.elapsed().as_micros()).unwrap_or(i64::MAX);
        Some(record)
    }

    /// Called by the store once a transaction holding the event has committed.
    pub fn mark_stored(&self) {
        self.0.stored.store(true, Ordering::Release);
    }

    /// Whether the event has been stored with a write.
    pub fn is_stored(&self) -> bool {
        self.0.stored.load(Ordering::Acquire)
    }
}
