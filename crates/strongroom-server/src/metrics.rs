//! Request counts and latency histograms per operation, rendered in the Prometheus text
//! format at `/metrics`. Operations are labelled by method and route template, so key names
//! never become label values.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// What is kept of one operation.
#[derive(Default)]
struct Operation {
    /// Requests by status.
    statuses: BTreeMap<u16, u64>,
    /// Requests at or under each bound of `BUCKETS` (cumulative, as Prometheus buckets are).
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// The registry.
#[derive(Default)]
pub struct Metrics {
    operations: Mutex<BTreeMap<String, Operation>>,
    /// Requests refused by admission control (429).
    refused: AtomicU64,
}

impl Metrics {
    /// Counts a request admission control refused.
    pub fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one finished request of operation `{method} {route}`.
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        thread_local! {
            static LABEL: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        LABEL.with_borrow_mut(|label| {
            label.clear();
            label.push_str(method);
            label.push(' ');
            label.push_str(route);
            self.record_operation(label, status, elapsed);
        });
    }

    fn record_operation(&self, operation: &str, status: u16, elapsed: Duration) {
        let Ok(mut operations) = self.operations.lock() else {
            return;
        };
        // Looked up by reference: an operation's name is copied only the first time.
        let op = match operations.get_mut(operation) {
            Some(op) => op,
            None => operations.entry(operation.to_owned()).or_default(),
        };
        *op.statuses.entry(status).or_default() += 1;
        if op.counts.is_empty() {
            op.counts = vec![0; BUCKETS.len()];
        }
        let secs = elapsed.as_secs_f64();
        for (count, bound) in op.counts.iter_mut().zip(BUCKETS) {
            if secs <= *bound {
                *count += 1;
            }
        }
        op.sum += secs;
        op.count += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(operations) = self.operations.lock() else {
            return out;
        };
        let _ = write!(
            out,
            "# HELP strongroom_requests_refused_total Requests refused by admission control.\n\
             # TYPE strongroom_requests_refused_total counter\n\
             strongroom_requests_refused_total {}\n",
            self.refused.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP strongroom_requests_total Requests served, by operation and status.\n",
        );
        out.push_str("# TYPE strongroom_requests_total counter\n");
        for (name, op) in operations.iter() {
            let name = escape(name);
            for (status, n) in &op.statuses {
                let _ = writeln!(
                    out,
                    "strongroom_requests_total{{operation=\"{name}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP strongroom_request_duration_seconds Request latency, by operation.\n");
        out.push_str("# TYPE strongroom_request_duration_seconds histogram\n");
        for (name, op) in operations.iter() {
            let name = escape(name);
            for (bound, count) in BUCKETS.iter().zip(&op.counts) {
                let _ = writeln!(
                    out,
                    "strongroom_request_duration_seconds_bucket{{operation=\"{name}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "strongroom_request_duration_seconds_bucket{{operation=\"{name}\",le=\"+Inf\"}} {}",
                op.count
            );
            let _ = writeln!(
                out,
                "strongroom_request_duration_seconds_sum{{operation=\"{name}\"}} {}",
                op.sum
            );
            let _ = writeln!(
                out,
                "strongroom_request_duration_seconds_count{{operation=\"{name}\"}} {}",
                op.count
            );
        }
        out
    }
}

/// utime + stime of a procfs `stat` line (of a process or a thread).
pub fn cpu_of_stat(stat: &str) -> Option<Duration> {
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th
    // fields of the line, in USER_HZ (100 per second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_time_from_a_stat_line() {
        let line = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 1800 0 0 0 250 37 0 0 20 0 1 0";
        assert_eq!(cpu_of_stat(line), Some(Duration::from_millis(2870)));
        assert_eq!(cpu_of_stat("garbage"), None);
    }

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::default();
        m.record("GET", "/keys/{name}", 200, Duration::from_micros(800));
        m.record("GET", "/keys/{name}", 404, Duration::from_millis(20));
        m.refused();
        let text = m.render();
        assert!(text.contains("strongroom_requests_refused_total 1\n"));
        assert!(text.contains(
            "strongroom_requests_total{operation=\"GET /keys/{name}\",status=\"200\"} 1"
        ));
        assert!(text.contains("le=\"0.001\"} 1"));
        assert!(text.contains("le=\"0.025\"} 2"));
        assert!(text.contains(
            "strongroom_request_duration_seconds_count{operation=\"GET /keys/{name}\"} 2"
        ));
    }
}
