//! Azure HCL reports: any bytes parse or are refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_attest::hcl::HclReport;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = HclReport::parse(data) {
        let _ = report.claims_json();
    }
});
