//! Liveness, readiness and metrics.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::state::AppState;

/// `GET /healthz`: the process is serving.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: accepting traffic and the database answers.
pub async fn readyz(State(s): State<AppState>) -> (StatusCode, &'static str) {
    if s.ready.load(Ordering::SeqCst) && s.store.ping().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

/// `GET /metrics`: Prometheus text format, with store calls and the process's memory.
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let mut text = s.metrics.render();
    text.push_str(&gauge(
        "strongroom_store_calls_total",
        "counter",
        "Store operations, one transaction each.",
        s.store.calls(),
    ));
    text.push_str(&gauge(
        "strongroom_max_in_flight",
        "gauge",
        "Requests served at once (max_in_flight).",
        s.config.max_in_flight as u64,
    ));
    text.push_str(&gauge(
        "strongroom_admission_waiting",
        "gauge",
        "Requests waiting for a slot.",
        s.admission.waiting() as u64,
    ));
    text.push_str(&memory_gauges());
    if let Some(cpu) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| crate::metrics::cpu_of_stat(&stat))
    {
        text.push_str(&format!(
            "# HELP process_cpu_seconds_total User and system CPU time of the process.\n\
             # TYPE process_cpu_seconds_total counter\n\
             process_cpu_seconds_total {}\n",
            cpu.as_secs_f64()
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

fn gauge(name: &str, kind: &str, help: &str, value: u64) -> String {
    format!(
        "# HELP {name} {help}
# TYPE {name} {kind}
{name} {value}
"
    )
}

/// Current and peak resident memory from `/proc/self/status` (Linux).
fn memory_gauges() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let kib = |field: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
    };
    let mut out = String::new();
    if let Some(v) = kib("VmRSS:") {
        out.push_str(&gauge(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory.",
            v * 1024,
        ));
    }
    if let Some(v) = kib("VmHWM:") {
        out.push_str(&gauge(
            "strongroom_peak_resident_memory_bytes",
            "gauge",
            "Peak resident memory since start.",
            v * 1024,
        ));
    }
    out
}
