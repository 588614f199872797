//! The scrape cache of one target: for each series text (`name{...}` as the page writes
//! it) seen in the last two scrapes, its stored labels (after target labels, relabeling
//! and limits; `None` when relabeling dropped it), its storage slot and its staleness
//! marks. The `Ingester` looks every sample up here.
//!
//! Pages of a target list their series in the same order scrape after scrape, so entries
//! and their texts are kept in arrays in the order they were first seen and a lookup
//! first tries the entry after the previous hit: a sequential walk that needs no hashing
//! and that the CPU prefetches, where a hash map costs a cache miss or two per sample.
//! Only when that guess fails does it hash the text (xxh3) into `index`. Entries not seen
//! for two scrapes are marked dead and the arrays are compacted when half are dead.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::model::Labels;
use crate::storage::SeriesSlot;

/// Hashes a key that is already a well-mixed hash by passing it through.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// One cached series text.
pub(super) struct CacheEntry {
    key_off: u32,
    key_len: u32,
    /// `None` when metric relabeling dropped the series.
    pub labels: Option<Labels>,
    /// `Labels::stable_hash` of `labels` (0 when dropped): staleness works per label set.
    pub hash: u64,
    pub slot: SeriesSlot,
    /// The last scrape (ingest number) that listed the text; 0 marks a dead entry.
    pub last_iter: u32,
    /// The last scrape in which the series counted for staleness, and the one before.
    pub marked: u32,
    pub marked_before: u32,
}

impl CacheEntry {
    /// An entry kept outside the cache (see `SeriesCache::insert`).
    pub fn detached(labels: Option<Labels>, hash: u64) -> Self {
        CacheEntry {
            key_off: 0,
            key_len: 0,
            labels,
            hash,
            slot: SeriesSlot::default(),
            last_iter: 1,
            marked: 0,
            marked_before: 0,
        }
    }

    /// Counts the series for staleness in scrape `iter`.
    pub fn mark(&mut self, iter: u32) {
        if self.marked != iter {
            self.marked_before = self.marked;
            self.marked = iter;
        }
    }

    /// Whether the series counted for staleness in scrape `prev`, seen from scrape `iter`
    /// (which may have marked it already).
    pub fn marked_in(&self, prev: u32, iter: u32) -> bool {
        self.marked == prev || (self.marked == iter && self.marked_before == prev)
    }

    fn is_live(&self) -> bool {
        self.last_iter != 0
    }
}

#[derive(Default)]
pub(super) struct SeriesCache {
    /// The series texts of `entries`, back to back.
    keys: Vec<u8>,
    entries: Vec<CacheEntry>,
    /// xxh3 of a text → its entry; a live text whose hash another live text holds already
    /// is listed in `collisions` instead.
    index: IdMap<u32>,
    collisions: Vec<u32>,
    /// The entry after the last hit: where the next lookup looks first.
    next: usize,
    dead: usize,
}

/// A text longer than this, or one that would push the texts past `u32` offsets, is not
/// cached (the caller resolves it every time).
const MAX_KEYS: usize = u32::MAX as usize;

impl SeriesCache {
    fn key(&self, e: &CacheEntry) -> &[u8] {
        let off = e.key_off as usize;
        &self.keys[off..off + e.key_len as usize]
    }

    /// The text of the entry the next lookup tries first (the one after the last hit).
    pub fn expected(&self) -> Option<&[u8]> {
        self.entries
            .get(self.next)
            .filter(|e| e.is_live())
            .map(|e| self.key(e))
    }

    /// The entry for `key`, if cached.
    pub fn find(&mut self, key: &str) -> Option<usize> {
        let k = key.as_bytes();
        if let Some(e) = self.entries.get(self.next)
            && e.is_live()
            && self.key(e) == k
        {
            self.next += 1;
            return Some(self.next - 1);
        }
        let h = xxhash_rust::xxh3::xxh3_64(k);
        let hit = self
            .index
            .get(&h)
            .map(|&i| i as usize)
            .filter(|&i| self.key(&self.entries[i]) == k)
            .or_else(|| {
                self.collisions
                    .iter()
                    .map(|&i| i as usize)
                    .find(|&i| self.key(&self.entries[i]) == k)
            })?;
        self.next = hit + 1;
        Some(hit)
    }

    /// Adds an entry for `key` (not cached yet); `None` when the texts would outgrow
    /// `u32` offsets.
    pub fn insert(
        &mut self,
        key: &str,
        labels: Option<Labels>,
        hash: u64,
        iter: u32,
    ) -> Option<usize> {
        if self.keys.len() + key.len() > MAX_KEYS || self.entries.len() >= MAX_KEYS {
            return None;
        }
        let i = self.entries.len();
        self.entries.push(CacheEntry {
            key_off: self.keys.len() as u32,
            key_len: key.len() as u32,
            labels,
            hash,
            slot: SeriesSlot::default(),
            last_iter: iter,
            marked: 0,
            marked_before: 0,
        });
        self.keys.extend_from_slice(key.as_bytes());
        self.index_entry(i);
        self.next = i + 1;
        Some(i)
    }

    fn index_entry(&mut self, i: usize) {
        let h = xxhash_rust::xxh3::xxh3_64(self.key(&self.entries[i]));
        match self.index.entry(h) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i as u32);
            }
            std::collections::hash_map::Entry::Occupied(_) => self.collisions.push(i as u32),
        }
    }

    pub fn entry_mut(&mut self, i: usize) -> &mut CacheEntry {
        &mut self.entries[i]
    }

    /// The live entries (for staleness passes).
    pub fn live_mut(&mut self) -> impl Iterator<Item = &mut CacheEntry> {
        self.entries.iter_mut().filter(|e| e.is_live())
    }

    /// Forgets the entries not listed in scrape `iter` or the one before, then compacts
    /// when at least half of the entries are dead.
    pub fn expire(&mut self, iter: u32) {
        let mut gone = Vec::new();
        for (i, e) in self.entries.iter_mut().enumerate() {
            if e.is_live() && e.last_iter.saturating_add(2) <= iter {
                e.last_iter = 0;
                e.labels = None;
                e.slot = SeriesSlot::default();
                gone.push(i);
            }
        }
        if gone.is_empty() {
            return;
        }
        self.dead += gone.len();
        if self.dead * 2 >= self.entries.len() {
            self.compact();
            return;
        }
        for i in gone {
            let h = xxhash_rust::xxh3::xxh3_64(self.key(&self.entries[i]));
            if self.index.get(&h) == Some(&(i as u32)) {
                self.index.remove(&h);
                // A live text with the same hash now takes the index slot.
                if let Some(p) = self.collisions.iter().position(|&c| {
                    xxhash_rust::xxh3::xxh3_64(self.key(&self.entries[c as usize])) == h
                }) {
                    let c = self.collisions.swap_remove(p);
                    self.index.insert(h, c);
                }
            } else {
                self.collisions.retain(|&c| c as usize != i);
            }
        }
    }

    /// Rewrites the arrays with the live entries only and rebuilds the index.
    fn compact(&mut self) {
        let old_keys = std::mem::take(&mut self.keys);
        let old = std::mem::take(&mut self.entries);
        self.index.clear();
        self.collisions.clear();
        self.dead = 0;
        self.next = 0;
        for mut e in old.into_iter().filter(CacheEntry::is_live) {
            let off = e.key_off as usize;
            let key = &old_keys[off..off + e.key_len as usize];
            e.key_off = self.keys.len() as u32;
            self.keys.extend_from_slice(key);
            self.entries.push(e);
            self.index_entry(self.entries.len() - 1);
        }
        self.keys.shrink_to(self.keys.len() * 2);
        self.entries.shrink_to(self.entries.len() * 2);
    }

    /// Live entries (for tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len() - self.dead
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_in_order_and_out_of_order_and_expires() {
        let mut c = SeriesCache::default();
        for (i, k) in ["a", "b{x=\"1\"}", "c"].iter().enumerate() {
            assert_eq!(c.find(k), None);
            assert_eq!(c.insert(k, None, 0, 1), Some(i));
        }
        c.next = 0;
        assert_eq!(c.find("a"), Some(0));
        assert_eq!(c.find("b{x=\"1\"}"), Some(1));
        assert_eq!(c.find("a"), Some(0), "out of order falls back to the index");
        assert_eq!(c.find("c"), Some(2));
        assert_eq!(c.find("d"), None);
        c.entry_mut(0).last_iter = 3;
        c.expire(3);
        assert_eq!(c.len(), 1);
        assert_eq!(c.find("b{x=\"1\"}"), None);
        assert_eq!(c.find("a"), Some(0), "compaction keeps the live entry");
        assert_eq!(c.insert("b{x=\"1\"}", None, 0, 3), Some(1));
        c.next = 0;
        assert_eq!(c.find("a"), Some(0));
        assert_eq!(c.find("b{x=\"1\"}"), Some(1));
    }

    #[test]
    fn colliding_hashes_are_found_after_expiry() {
        let mut c = SeriesCache::default();
        for k in ["a", "b", "c", "d"] {
            c.insert(k, None, 0, 1);
        }
        // Force a collision: move "b" out of the index into the collision list.
        let hb = xxhash_rust::xxh3::xxh3_64(b"b");
        c.index.remove(&hb);
        let ha = xxhash_rust::xxh3::xxh3_64(b"a");
        c.index.remove(&ha);
        c.index.insert(ha, 0);
        c.collisions.push(1);
        c.next = 3;
        assert_eq!(c.find("b"), Some(1));
        for e in c.live_mut() {
            e.last_iter = 5;
        }
        c.entry_mut(0).last_iter = 1;
        c.expire(5);
        c.next = 3;
        assert_eq!(c.find("b"), Some(1));
        assert_eq!(c.find("a"), None);
    }
}
