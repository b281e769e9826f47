//! Evidence verifiers: each turns the evidence of one kind of trusted execution environment
//! into typed, verified facts, or a clear refusal. No I/O: certificates, collateral and the
//! verification time come from the caller, so that every check happens at an injected time
//! and offline.

#[cfg(feature = "azure-vtpm")]
pub mod hcl;
#[cfg(feature = "sev-snp")]
pub mod snp;
#[cfg(feature = "azure-vtpm")]
pub mod tpm;

mod x509;
