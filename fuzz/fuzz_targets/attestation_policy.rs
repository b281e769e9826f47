//! The attestation policy language: any text parses or is refused with a position, and a
//! parsed policy evaluates (or reports why not) against a few claims, without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_core::attestation_policy::{Claim, ClaimValue, Policy};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Policy::parse(text) {
        Ok(policy) => {
            let claims = vec![
                Claim::from_evidence("x-ms-attestation-type", ClaimValue::Str("sevsnpvm".into())),
                Claim::from_evidence("x-ms-sevsnpvm-guestsvn", ClaimValue::Int(5)),
                Claim::from_evidence("x-ms-sevsnpvm-is-debuggable", ClaimValue::Bool(false)),
            ];
            let _ = policy.evaluate(claims);
        }
        Err(e) => assert!(e.line >= 1 && e.column >= 1),
    }
});
