//! Times as a person writes and reads them: ISO 8601 UTC, as `az` prints them, or Unix seconds.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Unix seconds as ISO 8601 UTC, as `az` prints times.
pub fn iso8601(unix: i64) -> Option<String> {
    let t = OffsetDateTime::from_unix_timestamp(unix).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Parses a time given on the command line: Unix seconds, or ISO 8601 / RFC 3339
/// (`2027-01-31T12:00:00Z`, with an offset or fractional seconds), also without seconds
/// (`2027-01-31T12:00Z`), without an offset (taken as UTC) or as a date alone (`2027-01-31`,
/// midnight UTC).
pub fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    let bad = || {
        format!(
            "'{text}' is neither Unix seconds nor an ISO 8601 time such as 2027-01-31T12:00:00Z"
        )
    };
    let (date, rest) = match text.find(['T', 't']) {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text.trim_end_matches(['Z', 'z']), "00:00:00Z"),
    };
    let offset_at = rest
        .find(['Z', 'z', '+'])
        .or_else(|| rest.rfind('-'))
        .unwrap_or(rest.len());
    let (clock, offset) = rest.split_at(offset_at);
    let clock = match clock.matches(':').count() {
        1 => format!("{clock}:00"),
        _ => clock.to_owned(),
    };
    let offset = if offset.is_empty() { "Z" } else { offset };
    let full = format!("{date}T{clock}{offset}");
    OffsetDateTime::parse(&full, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_from_unix_seconds_or_iso_8601() {
        let midnight = 1_796_601_600;
        for text in [
            "1796601600",
            "2026-12-07T00:00:00Z",
            "2026-12-07T00:00:00+00:00",
            "2026-12-07T01:00:00+01:00",
            "2026-12-06T19:00:00-05:00",
            "2026-12-07T00:00:00.000Z",
            "2026-12-07T00:00Z",
            "2026-12-07T00:00:00",
            "2026-12-07",
            "2026-12-07Z",
        ] {
            assert_eq!(parse_time(text), Ok(midnight), "{text}");
        }
        for bad in [
            "",
            "tomorrow",
            "2026-13-01",
            "2026-12-07T25:00:00Z",
            "12/07/2026",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
