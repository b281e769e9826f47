//! The raw library operation behind a scenario: the same crypto provider called directly on
//! every core, the ceiling no server can pass.

use std::sync::Arc;
use std::time::{Duration, Instant};

use strongroom_core::key::{AesBits, Curve, KeySpec, RsaExponent};
use strongroom_core::ports::{CipherInput, CryptoProvider, LoadedKey};
use strongroom_crypto::SoftwareCrypto;

/// The raw library operation behind a scenario.
pub struct Raw {
    op: Arc<dyn Fn() -> bool + Send + Sync>,
}

impl Raw {
    /// The operation of scenario `name`, or None when it has no library counterpart.
    pub fn new(name: &str) -> anyhow::Result<Option<Self>> {
        let crypto = SoftwareCrypto;
        let loaded = |spec: KeySpec| -> anyhow::Result<Arc<dyn LoadedKey>> {
            let m = crypto.generate(spec)?;
            Ok(crypto.load(&m.public, &m.private)?)
        };
        let op: Arc<dyn Fn() -> bool + Send + Sync> = match name {
            "sign-rsa2048" => {
                let key = loaded(KeySpec::Rsa {
                    bits: 2048,
                    exponent: RsaExponent::F4,
                })?;
                let alg = "RS256".parse()?;
                Arc::new(move || key.sign(alg, &[7u8; 32]).is_ok())
            }
            "sign-p256" => {
                let key = loaded(KeySpec::Ec { curve: Curve::P256 })?;
                let alg = "ES256".parse()?;
                Arc::new(move || key.sign(alg, &[7u8; 32]).is_ok())
            }
            "encrypt-a256gcm" => {
                let key = loaded(KeySpec::Oct {
                    bits: AesBits::B256,
                })?;
                Arc::new(move || key.encrypt(&cipher("A256GCM", &[1u8; 64])).is_ok())
            }
            "wrap-rsa-oaep256" => {
                let key = loaded(KeySpec::Rsa {
                    bits: 2048,
                    exponent: RsaExponent::F4,
                })?;
                Arc::new(move || key.wrap(&cipher("RSA-OAEP-256", &[2u8; 32])).is_ok())
            }
            "create-ec" => Arc::new(move || {
                SoftwareCrypto
                    .generate(KeySpec::Ec { curve: Curve::P256 })
                    .is_ok()
            }),
            _ => return Ok(None),
        };
        Ok(Some(Self { op }))
    }

    /// Operations per second on `cores` threads for `length`.
    pub fn measure(&self, length: Duration, cores: usize) -> f64 {
        let started = Instant::now();
        let deadline = started + length;
        let threads: Vec<_> = (0..cores)
            .map(|_| {
                let op = Arc::clone(&self.op);
                std::thread::spawn(move || {
                    let _ = strongroom_service::sched::default_current_thread();
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        if op() {
                            n += 1;
                        }
                    }
                    n
                })
            })
            .collect();
        let total: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
        total as f64 / started.elapsed().as_secs_f64()
    }
}

fn cipher(alg: &str, value: &[u8]) -> CipherInput {
    CipherInput {
        alg: alg
            .parse()
            .unwrap_or(strongroom_core::key::EncryptionAlgorithm::RsaOaep256),
        value: value.to_vec(),
        iv: None,
        aad: None,
        tag: None,
    }
}
