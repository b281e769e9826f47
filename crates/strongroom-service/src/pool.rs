//! The bounded crypto pool: a fixed set of OS threads (one per core by default) that run the
//! operations too slow for the async workers (RSA private-key operations, key generation,
//! parsing stored keys). Its queue is bounded; a full queue is reported as overload (429)
//! instead of letting latency grow without limit.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use strongroom_core::DomainError;

type Job = Box<dyn FnOnce() + Send>;

/// Handle to the pool; cheap to clone.
#[derive(Clone)]
pub struct CryptoPool {
    sender: SyncSender<Job>,
    threads: usize,
}

impl CryptoPool {
    /// Starts `threads` workers with room for `queue` waiting jobs.
    pub fn start(threads: usize, queue: usize) -> std::io::Result<Self> {
        let threads = threads.max(1);
        let (sender, receiver) = sync_channel::<Job>(queue.max(1));
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("strongroom-crypto-{i}"))
                .spawn(move || {
                    // Crypto threads keep the default policy even when started from an async
                    // worker under the batch policy, which new threads would inherit.
                    let _ = crate::sched::default_current_thread();
                    worker(&receiver);
                })?;
        }
        Ok(Self { sender, threads })
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` on the pool and awaits its result.
    pub async fn run<R, F>(&self, f: F) -> Result<R, DomainError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        match self.sender.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(DomainError::Overloaded),
            Err(TrySendError::Disconnected(_)) => {
                return Err(DomainError::Internal("crypto pool stopped".into()));
            }
        }
        rx.await
            .map_err(|_| DomainError::Internal("crypto job panicked".into()))
    }
}

fn worker(receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = match receiver.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        match job {
            // A panicking job drops its sender, so its caller gets an error; the worker lives on.
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_job_spares_its_worker() {
        let pool = CryptoPool::start(1, 4).unwrap();
        let panicked = pool.run(|| -> u8 { panic!("job failure") }).await;
        assert!(matches!(panicked, Err(DomainError::Internal(_))));
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn runs_jobs_and_reports_overload() {
        let pool = CryptoPool::start(1, 1).unwrap();
        assert_eq!(pool.run(|| 2 + 2).await.unwrap(), 4);

        let (release, hold) = std::sync::mpsc::channel::<()>();
        let blocked = pool.clone();
        let first = tokio::spawn(async move { blocked.run(move || hold.recv().is_ok()).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let queued = pool.clone();
        let second = tokio::spawn(async move { queued.run(|| 1).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(matches!(pool.run(|| 0).await, Err(DomainError::Overloaded)));
        release.send(()).unwrap();
        assert!(first.await.unwrap().unwrap());
        assert_eq!(second.await.unwrap().unwrap(), 1);
    }
}
