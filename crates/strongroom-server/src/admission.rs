//! Admission control: at most `max_in_flight` requests are served at once. A request beyond
//! that waits, first come first served, in a bounded queue (`max_queued` requests) for at
//! most `queue_timeout`; when the queue is full or its wait runs out it is refused (429 with
//! `Retry-After`). The check comes before authentication, body reading and any crypto, so a
//! refusal costs only the HTTP exchange; the queue spares clients that retry at once from
//! paying even that over and over, which under overload would take the cores from the
//! requests being served.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The gate.
pub struct Admission {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_queued: usize,
    queue_timeout: Duration,
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The queue was full.
    QueueFull,
    /// The request waited `queue_timeout` without a slot.
    TimedOut,
}

impl Admission {
    /// A gate of `max_in_flight` slots (at least one) and a queue of `max_queued` requests
    /// that wait at most `queue_timeout` (zero: refuse at once when every slot is taken).
    pub fn new(max_in_flight: usize, max_queued: usize, queue_timeout: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_in_flight.max(1))),
            waiting: AtomicUsize::new(0),
            max_queued,
            queue_timeout,
        }
    }

    /// A slot, held until the permit drops, or the refusal.
    pub async fn admit(&self) -> Result<OwnedSemaphorePermit, Refusal> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(permit);
        }
        if self.queue_timeout.is_zero() {
            return Err(Refusal::QueueFull);
        }
        let place = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _leave = Leave(&self.waiting);
        if place >= self.max_queued {
            return Err(Refusal::QueueFull);
        }
        match tokio::time::timeout(
            self.queue_timeout,
            Arc::clone(&self.permits).acquire_owned(),
        )
        .await
        {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; a closed one refuses like a timeout.
            Ok(Err(_)) | Err(_) => Err(Refusal::TimedOut),
        }
    }

    /// Requests waiting now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }
}

/// Leaves the queue when dropped (also when the waiting request is cancelled).
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_in_order_then_refuses_when_full_or_late() {
        let gate = Arc::new(Admission::new(1, 1, Duration::from_secs(5)));
        let first = gate.admit().await.unwrap();
        // The second waits for the first's slot.
        let waiter = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.admit().await.map(drop) })
        };
        while gate.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        // The queue holds one: a third is refused at once.
        assert_eq!(gate.admit().await.err(), Some(Refusal::QueueFull));
        drop(first);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(gate.waiting(), 0);

        // A wait that runs out is refused, and leaves the queue.
        let short = Admission::new(1, 4, Duration::from_millis(20));
        let _held = short.admit().await.unwrap();
        assert_eq!(short.admit().await.err(), Some(Refusal::TimedOut));
        assert_eq!(short.waiting(), 0);

        // No queue: refused at once.
        let none = Admission::new(1, 4, Duration::ZERO);
        let _held = none.admit().await.unwrap();
        assert_eq!(none.admit().await.err(), Some(Refusal::QueueFull));
    }
}
