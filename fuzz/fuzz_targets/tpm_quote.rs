//! TPM quotes (TPMS_ATTEST): any bytes parse or are refused, and a parsed quote checks its PCR
//! digest against PCR values without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_attest::tpm::Quote;

fuzz_target!(|data: &[u8]| {
    if let Ok(quote) = Quote::parse(data) {
        let pcrs: Vec<Vec<u8>> = (0..24u8).map(|i| vec![i; 32]).collect();
        let _ = quote.check_pcrs(&pcrs);
    }
});
