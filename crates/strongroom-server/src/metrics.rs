//! Request counts and latency histograms per operation, rendered in the Prometheus text
//! format at `/metrics`. Operations are labelled by method and route template, so key names
//! never become label values.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// The registry.
#[derive(Default)]
pub struct Metrics {
    /// Per operation, per status.
    requests: Mutex<BTreeMap<String, BTreeMap<u16, u64>>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    /// Records one finished request.
    pub fn record(&self, operation: &str, status: u16, elapsed: Duration) {
        // Looked up by reference: an operation's name is copied only the first time.
        if let Ok(mut requests) = self.requests.lock() {
            let statuses = match requests.get_mut(operation) {
                Some(statuses) => statuses,
                None => requests.entry(operation.to_owned()).or_default(),
            };
            *statuses.entry(status).or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let h = match latency.get_mut(operation) {
                Some(h) => h,
                None => latency.entry(operation.to_owned()).or_default(),
            };
            if h.counts.is_empty() {
                h.counts = vec![0; BUCKETS.len()];
            }
            let secs = elapsed.as_secs_f64();
            for (count, bound) in h.counts.iter_mut().zip(BUCKETS) {
                if secs <= *bound {
                    *count += 1;
                }
            }
            h.sum += secs;
            h.count += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP strongroom_requests_total Requests served, by operation and status.\n",
        );
        out.push_str("# TYPE strongroom_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for (op, statuses) in requests.iter() {
                let op = escape(op);
                for (status, n) in statuses {
                    let _ = writeln!(
                        out,
                        "strongroom_requests_total{{operation=\"{op}\",status=\"{status}\"}} {n}"
                    );
                }
            }
        }
        out.push_str("# HELP strongroom_request_duration_seconds Request latency, by operation.\n");
        out.push_str("# TYPE strongroom_request_duration_seconds histogram\n");
        if let Ok(latency) = self.latency.lock() {
            for (op, h) in latency.iter() {
                let op = escape(op);
                for (bound, count) in BUCKETS.iter().zip(&h.counts) {
                    let _ = writeln!(
                        out,
                        "strongroom_request_duration_seconds_bucket{{operation=\"{op}\",le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "strongroom_request_duration_seconds_bucket{{operation=\"{op}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "strongroom_request_duration_seconds_sum{{operation=\"{op}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "strongroom_request_duration_seconds_count{{operation=\"{op}\"}} {}",
                    h.count
                );
            }
        }
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::default();
        m.record("GET /keys/{name}", 200, Duration::from_micros(800));
        m.record("GET /keys/{name}", 404, Duration::from_millis(20));
        let text = m.render();
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
