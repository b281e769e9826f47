//! Printing results as JSON or a table.

use comfy_table::Table;
use serde_json::Value;

use crate::cli::Output;

/// Prints a response.
pub fn print(value: &Value, format: Output) {
    match format {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        ),
        Output::Table => println!("{}", table(value)),
    }
}

fn rows(value: &Value) -> Vec<&Value> {
    match value.get("value").and_then(Value::as_array) {
        Some(items) => items.iter().collect(),
        None => vec![value],
    }
}

fn table(value: &Value) -> Table {
    let mut table = Table::new();
    let rows = rows(value);
    let mut columns: Vec<String> = Vec::new();
    for row in &rows {
        for (k, _) in flatten(row) {
            if !columns.contains(&k) {
                columns.push(k);
            }
        }
    }
    table.set_header(columns.clone());
    for row in rows {
        let cells = flatten(row);
        table.add_row(columns.iter().map(|c| {
            cells
                .iter()
                .find(|(k, _)| k == c)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        }));
    }
    table
}

/// Flattens an object to `a.b` columns; scalars print plainly, arrays joined.
fn flatten(value: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}

fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                walk(&key, v, out);
            }
        }
        Value::Array(items) => out.push((
            prefix.to_owned(),
            items.iter().map(scalar).collect::<Vec<_>>().join(","),
        )),
        other => out.push((
            if prefix.is_empty() {
                "value".into()
            } else {
                prefix.to_owned()
            },
            scalar(other),
        )),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
