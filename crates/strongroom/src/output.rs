//! Printing results for a person or a script: JSON as the server answered, with its Unix times
//! written as ISO 8601 UTC (`2026-12-07T05:28:27+00:00`, as `az` prints them), or a table.
//!
//! A table of keys shows the columns `az keyvault key` shows (name, version, type, enabled,
//! created, updated, expires; deleted keys add when they were deleted and when they will be
//! purged) and never key material. Any other answer is flattened to one column per field. A
//! table never grows wider than [`TABLE_WIDTH`] columns: long cells wrap.

use comfy_table::{ContentArrangement, ContentLineStyle, LineStyle, Table, TableStyle};
use serde_json::{Map, Value};

use crate::cli::Output;
use crate::times::iso8601;

/// The widest a table prints.
pub const TABLE_WIDTH: u16 = 160;

/// `az`'s table style: a header underlined with dashes, columns apart by two spaces.
const AZ_STYLE: TableStyle = TableStyle::new()
    .header_lines(ContentLineStyle::none().junction(' '))
    .header_separator(LineStyle::none().fill('-').junction(' '))
    .content_lines(ContentLineStyle::none().junction(' '));

/// Fields holding Unix seconds in Key Vault and Strongroom answers.
const TIME_FIELDS: [&str; 6] = [
    "created",
    "updated",
    "exp",
    "nbf",
    "deletedDate",
    "scheduledPurgeDate",
];

/// Members of a JSON Web Key other than its id, type and curve: public or private key material,
/// which a table never shows.
const KEY_MATERIAL: [&str; 12] = [
    "n", "e", "d", "dp", "dq", "qi", "p", "q", "k", "t", "x", "y",
];

/// Prints a response; a reader that went away (`| head`) ends the output quietly.
pub fn print(value: &Value, format: Output) {
    use std::io::Write;
    let value = with_iso_times(value);
    let text = match format {
        Output::Json => serde_json::to_string_pretty(&value).unwrap_or_default(),
        Output::Table => table(&value).to_string(),
    };
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// A copy of `value` with every time field written as ISO 8601 UTC.
fn with_iso_times(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match (TIME_FIELDS.contains(&k.as_str()), v.as_i64()) {
                        (true, Some(secs)) => iso8601(secs).map_or_else(|| v.clone(), Value::from),
                        _ => with_iso_times(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(with_iso_times).collect()),
        other => other.clone(),
    }
}

fn rows(value: &Value) -> Vec<&Value> {
    match value.get("value").and_then(Value::as_array) {
        Some(items) => items.iter().collect(),
        None => vec![value],
    }
}

/// A key bundle (`key.kid`) or a key item (`kid`) with its attributes.
fn is_key(row: &Value) -> bool {
    row.get("attributes").is_some()
        && (row.pointer("/key/kid").is_some() || row.get("kid").is_some())
}

fn table(value: &Value) -> Table {
    let rows = rows(value);
    let (header, cells) = if !rows.is_empty() && rows.iter().all(|r| is_key(r)) {
        key_table(&rows)
    } else {
        field_table(&rows)
    };
    let mut table = Table::new();
    table
        .load_style(AZ_STYLE)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(TABLE_WIDTH)
        .set_header(header);
    for row in cells {
        table.add_row(row);
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 1));
    }
    table
}

/// The `az keyvault key` columns, without the ones no row fills. Deleted keys show when they
/// were deleted and will be purged in place of when they were created and updated.
fn key_table(rows: &[&Value]) -> (Vec<String>, Vec<Vec<String>>) {
    const COLUMNS: [&str; 9] = [
        "Name", "Version", "Kty", "Enabled", "Created", "Updated", "Expires", "Deleted", "Purge",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let kid = row
                .pointer("/key/kid")
                .or_else(|| row.get("kid"))
                .map(scalar)
                .unwrap_or_default();
            let (name, version) = name_and_version(&kid);
            let attr = |k: &str| row.pointer(&format!("/attributes/{k}")).map(scalar);
            vec![
                name,
                version,
                row.pointer("/key/kty").map(scalar).unwrap_or_default(),
                attr("enabled").unwrap_or_default(),
                attr("created").unwrap_or_default(),
                attr("updated").unwrap_or_default(),
                attr("exp").unwrap_or_default(),
                row.get("deletedDate").map(scalar).unwrap_or_default(),
                row.get("scheduledPurgeDate")
                    .map(scalar)
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let deleted = rows.iter().any(|r| r.get("deletedDate").is_some());
    let keep: Vec<bool> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, column)| match *column {
            "Name" => true,
            "Created" | "Updated" if deleted => false,
            _ => cells
                .iter()
                .any(|row| row.get(i).is_some_and(|c| !c.is_empty())),
        })
        .collect();
    let pick = |row: Vec<String>| -> Vec<String> {
        row.into_iter()
            .zip(&keep)
            .filter_map(|(cell, &k)| k.then_some(cell))
            .collect()
    };
    let header = pick(COLUMNS.iter().map(|c| (*c).to_owned()).collect());
    (header, cells.into_iter().map(pick).collect())
}

/// `https://host/keys/{name}[/{version}]` to its name and version.
fn name_and_version(kid: &str) -> (String, String) {
    let path = kid.split_once("/keys/").map_or("", |(_, p)| p);
    let mut parts = path.splitn(2, '/');
    let name = parts.next().unwrap_or_default().to_owned();
    let version = parts.next().unwrap_or_default().to_owned();
    (name, version)
}

/// One column per field (`a.b` for nested ones), key material left out.
fn field_table(rows: &[&Value]) -> (Vec<String>, Vec<Vec<String>>) {
    let flat: Vec<Vec<(String, String)>> = rows.iter().map(|r| flatten(r)).collect();
    let mut columns: Vec<String> = Vec::new();
    for row in &flat {
        for (k, _) in row {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    let cells = flat
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| {
                    row.iter()
                        .find(|(k, _)| k == c)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    (columns, cells)
}

fn flatten(value: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match value {
        Value::Object(map) => walk_object("", map, &mut out),
        other => out.push(("value".into(), scalar(other))),
    }
    out
}

fn walk_object(prefix: &str, map: &Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (k, v) in map {
        if prefix == "key" && KEY_MATERIAL.contains(&k.as_str()) {
            continue;
        }
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(inner) => walk_object(&path, inner, out),
            other => out.push((path, scalar(other))),
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn times_print_as_az_prints_them() {
        assert_eq!(iso8601(0).unwrap(), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso8601(1_796_601_600).unwrap(), "2026-12-07T00:00:00+00:00");
        let answer = json!({"attributes": {"created": 1_796_601_600, "enabled": true},
            "deletedDate": 0, "tags": {"created": "by hand"}});
        let shown = with_iso_times(&answer);
        assert_eq!(shown["attributes"]["created"], "2026-12-07T00:00:00+00:00");
        assert_eq!(shown["attributes"]["enabled"], true);
        assert_eq!(shown["deletedDate"], "1970-01-01T00:00:00+00:00");
        assert_eq!(shown["tags"]["created"], "by hand");
    }

    fn rendered(value: &Value) -> String {
        table(&with_iso_times(value)).to_string()
    }

    #[test]
    fn key_tables_show_az_columns_and_no_key_material() {
        let n = "q".repeat(342);
        let bundle = json!({
            "key": {"kid": format!("https://vault-one.vault.strongroom.localhost:8443/keys/signing/{}", "a".repeat(32)),
                    "kty": "RSA-HSM", "n": n, "e": "AQAB", "key_ops": ["sign"]},
            "attributes": {"enabled": true, "created": 1_796_601_600, "updated": 1_796_601_600,
                           "exp": 1_828_137_600, "recoveryLevel": "Recoverable+Purgeable"},
            "tags": {"team": "a"}
        });
        let text = rendered(&bundle);
        for header in [
            "Name", "Version", "Kty", "Enabled", "Created", "Updated", "Expires",
        ] {
            assert!(text.contains(header), "{header} in\n{text}");
        }
        assert!(text.contains("signing") && text.contains("RSA-HSM"));
        assert!(text.contains("2026-12-07T00:00:00+00:00"));
        assert!(text.contains("2027-12-07T00:00:00+00:00"));
        assert!(!text.contains("qqqq") && !text.contains("AQAB"), "{text}");
        assert!(!text.contains("Deleted"));
        assert!(
            text.lines()
                .all(|l| l.chars().count() <= usize::from(TABLE_WIDTH))
        );

        let deleted = json!({"value": [{
            "kid": "https://vault-one.vault.strongroom.localhost:8443/keys/old",
            "attributes": {"enabled": false, "created": 0, "updated": 0},
            "deletedDate": 1_796_601_600, "scheduledPurgeDate": 1_797_206_400,
            "recoveryId": "https://vault-one.vault.strongroom.localhost:8443/deletedkeys/old"}]});
        let text = rendered(&deleted);
        assert!(text.contains("Deleted") && text.contains("Purge"), "{text}");
        assert!(
            !text.contains("Created") && !text.contains("Version"),
            "{text}"
        );
        assert!(text.contains("old") && text.contains("2026-12-14T00:00:00+00:00"));
    }

    #[test]
    fn other_tables_flatten_fields_and_keep_within_width() {
        let result = json!({"kid": "https://v.vault.x:8443/keys/k/v", "value": "A".repeat(700)});
        let text = rendered(&result);
        assert!(text.contains("kid") && text.contains("value"));
        assert!(
            text.lines()
                .all(|l| l.chars().count() <= usize::from(TABLE_WIDTH)),
            "{text}"
        );
        let vaults = json!({"value": [{"name": "one", "sku": "premium", "created": 0},
                                      {"name": "two", "sku": "standard", "created": 0}]});
        let text = rendered(&vaults);
        assert!(text.contains("1970-01-01T00:00:00+00:00") && text.contains("standard"));
    }
}
