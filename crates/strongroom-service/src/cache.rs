//! The bounded cache of key versions: each entry holds the stored record and, once used for
//! an operation, the parsed key, so stored material is unsealed and checked once rather than
//! on every request. Any write to a key drops all its entries; a generation counter keeps a
//! read that raced a write from re-inserting what the write replaced.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use strongroom_core::key::KeyVersionRecord;
use strongroom_core::names::{KeyName, KeyVersion, VaultName};
use strongroom_core::ports::LoadedKey;
use tokio::sync::OnceCell;

/// One cached version.
pub struct CachedVersion {
    /// The stored record.
    pub record: KeyVersionRecord,
    /// The parsed key, filled on first use.
    pub loaded: OnceCell<Arc<dyn LoadedKey>>,
}

#[derive(Default)]
struct KeyEntry {
    latest: Option<Arc<CachedVersion>>,
    versions: HashMap<KeyVersion, Arc<CachedVersion>>,
}

type Slot = (VaultName, KeyName);

/// The cache.
pub struct KeyCache {
    capacity: usize,
    generation: AtomicU64,
    entries: Mutex<HashMap<Slot, KeyEntry>>,
}

impl KeyCache {
    /// A cache of at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            generation: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The generation to pass to `insert` for a read starting now.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// A cached version (the latest when `version` is `None`).
    pub fn get(
        &self,
        vault: &VaultName,
        name: &KeyName,
        version: Option<&KeyVersion>,
    ) -> Option<Arc<CachedVersion>> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(&(vault.clone(), name.clone()))?;
        match version {
            None => entry.latest.clone(),
            Some(v) => entry.versions.get(v).cloned(),
        }
    }

    /// Caches a record read at `generation`; returns the entry to use.
    pub fn insert(
        &self,
        record: KeyVersionRecord,
        is_latest: bool,
        generation: u64,
    ) -> Arc<CachedVersion> {
        let slot = (record.id.vault.clone(), record.id.name.clone());
        let version = record.id.version.clone();
        let fresh = Arc::new(CachedVersion {
            record,
            loaded: OnceCell::new(),
        });
        let Ok(mut entries) = self.entries.lock() else {
            return fresh;
        };
        if self.generation.load(Ordering::SeqCst) != generation {
            return fresh;
        }
        if entries.len() >= self.capacity && !entries.contains_key(&slot) {
            evict_some(&mut entries);
        }
        let entry = entries.entry(slot).or_default();
        let cached = Arc::clone(entry.versions.entry(version).or_insert(fresh));
        if is_latest {
            entry.latest = Some(Arc::clone(&cached));
        }
        cached
    }

    /// Drops every cached version of a key.
    pub fn invalidate(&self, vault: &VaultName, name: &KeyName) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&(vault.clone(), name.clone()));
        }
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }

    /// Drops everything cached for a vault.
    pub fn invalidate_vault(&self, vault: &VaultName) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|(v, _), _| v != vault);
        }
    }
}

/// Frees a quarter of the entries (arbitrary ones; hash order is effectively random).
fn evict_some(entries: &mut HashMap<Slot, KeyEntry>) {
    let drop_count = (entries.len() / 4).max(1);
    let victims: Vec<Slot> = entries.keys().take(drop_count).cloned().collect();
    for slot in victims {
        entries.remove(&slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom_core::key::{KeyAttributes, PublicKeyParts, VersionId};

    fn record(name: &str, v: u8) -> KeyVersionRecord {
        KeyVersionRecord {
            id: VersionId {
                vault: "vault".parse().unwrap(),
                name: name.parse().unwrap(),
                version: KeyVersion::from_random([v; 16]),
            },
            key_type: "EC".parse().unwrap(),
            public: PublicKeyParts::Oct { len: 32 },
            key_ops: vec![],
            attributes: KeyAttributes {
                enabled: true,
                nbf: None,
                exp: None,
                exportable: false,
                created: 0,
                updated: 0,
            },
            tags: Default::default(),
            release_policy: None,
            sealed: vec![],
        }
    }

    #[test]
    fn caches_latest_and_versions_and_invalidates() {
        let cache = KeyCache::new(10);
        let (vault, name) = ("vault".parse().unwrap(), "k".parse().unwrap());
        let g = cache.generation();
        cache.insert(record("k", 1), true, g);
        assert!(cache.get(&vault, &name, None).is_some());
        assert!(
            cache
                .get(&vault, &name, Some(&KeyVersion::from_random([1; 16])))
                .is_some()
        );
        cache.invalidate(&vault, &name);
        assert!(cache.get(&vault, &name, None).is_none());
        cache.insert(record("k", 2), true, g);
        assert!(
            cache.get(&vault, &name, None).is_none(),
            "a stale read must not repopulate"
        );
    }

    #[test]
    fn stays_bounded() {
        let cache = KeyCache::new(8);
        for i in 0..100u8 {
            cache.insert(record(&format!("k{i}"), i), true, cache.generation());
        }
        assert!(cache.entries.lock().unwrap().len() <= 8);
    }
}
