//! SEV-SNP evidence: a report and an endorsement certificate (chain) of any bytes are verified
//! or refused, never a panic. The first byte splits the input between the two.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_attest::snp;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let at = (usize::from(split) * 8).min(rest.len());
    let (report, chain) = rest.split_at(at);
    let _ = snp::Report::parse(rest);
    let _ = snp::verify(report, chain, 1_717_200_000);
});
