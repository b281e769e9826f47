//! The kernel scheduling policy of the async workers.
//!
//! Under RSA load both cores run crypto-pool threads, and every network event or finished job
//! wakes an async worker. Under the default policy each wake-up preempts a crypto thread at
//! once: two context switches and cold caches for a few microseconds of work, about twice per
//! request. Under `SCHED_BATCH` a woken worker waits for the running thread's time slice to
//! end (or for a core to go idle) and then handles everything that became ready meanwhile in
//! one go. Idle cores run it at once, so only a busy machine sees the wait.

use thread_priority::{
    NormalThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
    set_thread_priority_and_policy, thread_native_id,
};

/// The library maps a cross-platform value of 0..=99 onto nice 19..=-20 for the normal
/// policies; this value maps to nice 0, so only the policy changes.
const NICE_ZERO: u8 = 47;

/// Puts the calling thread under `SCHED_BATCH` at nice 0.
pub fn batch_current_thread() -> Result<(), String> {
    set_current_policy(NormalThreadSchedulePolicy::Batch)
}

/// Puts the calling thread back under the default policy (`SCHED_OTHER`) at nice 0; threads
/// it then starts inherit that.
pub fn default_current_thread() -> Result<(), String> {
    set_current_policy(NormalThreadSchedulePolicy::Other)
}

fn set_current_policy(policy: NormalThreadSchedulePolicy) -> Result<(), String> {
    let priority = ThreadPriorityValue::try_from(NICE_ZERO)?;
    set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Crossplatform(priority),
        ThreadSchedulePolicy::Normal(policy),
    )
    .map_err(|e| format!("cannot set the scheduling policy {policy:?}: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (nice, policy) of the calling thread, from /proc.
    fn nice_and_policy() -> (i64, i64) {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let (_, fields) = stat.rsplit_once(')').unwrap();
        let fields: Vec<i64> = fields
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        // Fields 19 (nice) and 41 (policy) of proc(5), counted from field 4 here.
        (fields[15], fields[37])
    }

    #[test]
    fn policies_switch_and_keep_the_nice_value() {
        std::thread::spawn(|| {
            assert_eq!(nice_and_policy(), (0, 0), "SCHED_OTHER at nice 0 before");
            batch_current_thread().unwrap();
            assert_eq!(nice_and_policy(), (0, 3), "SCHED_BATCH at nice 0 after");
            let inherited = std::thread::spawn(nice_and_policy).join().unwrap();
            assert_eq!(inherited, (0, 3), "threads it starts inherit the policy");
            default_current_thread().unwrap();
            assert_eq!(nice_and_policy(), (0, 0), "back to SCHED_OTHER");
        })
        .join()
        .unwrap();
    }
}
