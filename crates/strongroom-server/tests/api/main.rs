//! Integration tests of the server: a real `Application` per test, on port 0 with real TLS,
//! driven over HTTPS by Strongroom's own client. Time is pinned with a `ManualClock`.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

mod federation;
mod helpers;
mod keys;
mod lifecycle;
mod matrix;
mod protocol;
mod proxy;
mod rbac;
