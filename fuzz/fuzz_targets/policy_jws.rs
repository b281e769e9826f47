//! Policy upload tokens: any text is read (and, when signed, verified) or refused, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_crypto::policy_jws;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(token) = policy_jws::read(text) {
        let _ = token.policy_text();
    }
});
