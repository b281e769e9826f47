//! `strongroom audit`: the stored audit log, listed, verified, or exported as JSON lines in
//! the shape of Key Vault's AuditEvent diagnostic log.

use std::io::Write;

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};
use strongroom_client::Client;

use crate::cli::{AuditAction, AuditFilters};

/// Runs an audit command.
pub async fn run(client: &Client, action: AuditAction) -> anyhow::Result<Value> {
    match action {
        AuditAction::List { filters } => client
            .admin(Method::GET, &path(&filters), None)
            .await
            .map_err(Into::into),
        AuditAction::Verify => {
            let report = client.admin(Method::GET, "/audit/verify", None).await?;
            if report.get("intact").and_then(Value::as_bool) == Some(true) {
                return Ok(report);
            }
            let problems: Vec<&str> = report
                .get("problems")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            bail!("the audit log is not intact: {}", problems.join("; "))
        }
        AuditAction::Export { filters, file } => {
            let listed = client.admin(Method::GET, &path(&filters), None).await?;
            let events = listed
                .get("value")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut out = std::fs::File::create(&file)
                .with_context(|| format!("cannot create {}", file.display()))?;
            for event in &events {
                writeln!(out, "{}", diagnostic(event))?;
            }
            Ok(json!({"exported": events.len(), "file": file.display().to_string()}))
        }
    }
}

fn path(f: &AuditFilters) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("since", &f.since),
        ("until", &f.until),
        ("principal", &f.principal),
        ("operation", &f.operation),
        ("result", &f.result),
    ] {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    if let Some(limit) = f.limit {
        query.append_pair("limit", &limit.to_string());
    }
    format!("/audit?{}", query.finish())
}

/// One stored event as a line of Key Vault's AuditEvent diagnostic log.
fn diagnostic(e: &Value) -> Value {
    let text = |k: &str| e.get(k).cloned().unwrap_or(Value::Null);
    let time = e
        .get("time")
        .and_then(Value::as_i64)
        .and_then(crate::times::iso8601)
        .unwrap_or_default();
    let duration_ms = e.get("duration_us").and_then(Value::as_i64).unwrap_or(0) / 1000;
    json!({
        "time": time,
        "category": "AuditEvent",
        "operationName": text("operation"),
        "resourceId": text("resource"),
        "resultType": text("result"),
        "httpStatusCode": text("status"),
        "durationMs": duration_ms,
        "callerIpAddress": text("client"),
        "correlationId": text("request_id"),
        "identity": {"claim": {
            "http://schemas.microsoft.com/identity/claims/objectidentifier": text("principal"),
            "appid": text("app_id"),
        }},
        "properties": {"chain": text("chain"), "seq": text("seq"), "hash": text("hash")},
    })
}
