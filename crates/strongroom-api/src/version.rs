//! The api-versions the keys data plane accepts.

/// Every accepted `api-version`: 7.0-7.6 (and the 7.x previews clients send), the date-based
/// stable versions and the 2026 preview.
pub const SUPPORTED: &[&str] = &[
    "7.0",
    "7.1",
    "7.2",
    "7.3",
    "7.3-preview",
    "7.4",
    "7.4-preview.1",
    "7.5",
    "7.5-preview.1",
    "7.6",
    "7.6-preview.1",
    "7.6-preview.2",
    "2025-06-01",
    "2025-07-01",
    "2026-03-01-preview",
];

/// The version Strongroom's own client sends.
pub const CLIENT_DEFAULT: &str = "7.6";

/// Whether `v` is accepted.
pub fn is_supported(v: &str) -> bool {
    SUPPORTED.contains(&v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn accepts_what_the_sdks_send() {
        for v in [
            "7.0",
            "7.4",
            "7.6",
            "7.6-preview.2",
            "2025-07-01",
            "2026-03-01-preview",
        ] {
            assert!(super::is_supported(v), "{v}");
        }
        assert!(!super::is_supported("2016-10-01"));
        assert!(!super::is_supported(""));
    }
}
