//! The kernel scheduling policy of the async workers.
//!
//! Under RSA load both cores run crypto-pool threads, and every network event or finished job
//! wakes an async worker. Under the default policy each wake-up preempts a crypto thread at
//! once: two context switches and cold caches for a few microseconds of work, about twice per
//! request. Under `SCHED_BATCH` a woken worker waits for the running thread's time slice to
//! end (or for a core to go idle) and then handles everything that became ready meanwhile in
//! one go. Idle cores run it at once, so only a busy machine sees the wait.
//!
//! Only the policy changes: every thread keeps the nice value it had (the one the server was
//! started with, `nice -n 19` or systemd's `Nice=`), even where the process could lower it.

use thread_priority::{
    NormalThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
    set_thread_priority_and_policy, thread_native_id,
};

/// Puts the calling thread under `SCHED_BATCH`, keeping its nice value.
pub fn batch_current_thread() -> Result<(), String> {
    set_current_policy(NormalThreadSchedulePolicy::Batch)
}

/// Puts the calling thread back under the default policy (`SCHED_OTHER`), keeping its nice
/// value; threads it then starts inherit both.
pub fn default_current_thread() -> Result<(), String> {
    set_current_policy(NormalThreadSchedulePolicy::Other)
}

fn set_current_policy(policy: NormalThreadSchedulePolicy) -> Result<(), String> {
    let nice = current_nice()?;
    let policy = ThreadSchedulePolicy::Normal(policy);
    set_thread_priority_and_policy(thread_native_id(), priority_for_nice(nice, policy)?, policy)
        .map_err(|e| format!("cannot set the scheduling policy {policy:?}: {e:?}"))
}

/// The library sets the nice value along with a normal policy, from a cross-platform value
/// of 0..=99; this finds the value it maps to `nice`, so the nice value stays as it is.
fn priority_for_nice(nice: i32, policy: ThreadSchedulePolicy) -> Result<ThreadPriority, String> {
    (0..=99u8)
        .filter_map(|p| ThreadPriorityValue::try_from(p).ok())
        .map(ThreadPriority::Crossplatform)
        .find(|p| p.to_posix(policy).is_ok_and(|n| n == nice))
        .ok_or_else(|| format!("no thread priority keeps the nice value {nice}"))
}

/// The calling thread's nice value, field 19 of `/proc/thread-self/stat` (proc(5)).
fn current_nice() -> Result<i32, String> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat")
        .map_err(|e| format!("cannot read the thread's nice value: {e}"))?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(16))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| "cannot parse the thread's nice value".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scheduling policy of the calling thread (field 41 of proc(5)).
    fn policy() -> i64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let (_, rest) = stat.rsplit_once(')').unwrap();
        rest.split_whitespace().nth(38).unwrap().parse().unwrap()
    }

    fn state() -> (i32, i64) {
        (current_nice().unwrap(), policy())
    }

    #[test]
    fn policies_switch_and_keep_the_nice_value() {
        std::thread::spawn(|| {
            // Whatever nice value the suite runs at, one step nicer: raising it needs no
            // privilege, and a root process could lower it back, which must not happen.
            let start = current_nice().unwrap();
            let nice = (start + 1).min(19);
            let normal = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other);
            set_thread_priority_and_policy(
                thread_native_id(),
                priority_for_nice(nice, normal).unwrap(),
                normal,
            )
            .unwrap();
            assert_eq!(state(), (nice, 0), "SCHED_OTHER before");
            batch_current_thread().unwrap();
            assert_eq!(state(), (nice, 3), "SCHED_BATCH, same nice value");
            let inherited = std::thread::spawn(state).join().unwrap();
            assert_eq!(inherited, (nice, 3), "threads it starts inherit both");
            default_current_thread().unwrap();
            assert_eq!(state(), (nice, 0), "back to SCHED_OTHER, same nice value");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn every_nice_value_has_a_priority() {
        let batch = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch);
        for nice in -20..=19 {
            let p = priority_for_nice(nice, batch).unwrap();
            assert_eq!(p.to_posix(batch).unwrap(), nice);
        }
    }
}
