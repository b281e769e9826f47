//! Integration tests of the server: a real `Application` per test, on port 0 with real TLS,
//! driven over HTTPS by Strongroom's own client. Time is pinned with a `ManualClock`.

mod helpers;
mod keys;
mod lifecycle;
mod protocol;
