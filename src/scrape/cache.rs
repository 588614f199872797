//! The scrape cache of one target: for each series text (`name{...}` as the page writes
//! it) seen in the last two scrapes, its stored labels (after target labels, relabeling
//! and limits; `None` when relabeling dropped it), its storage slot and its staleness
//! marks. The `Ingester` looks every sample up here.
//!
//! An entry is keyed by the xxh3-128 hash of the series text (a collision between two
//! series of one target, odds about 2^-100 for millions of series, is the price of not
//! keeping every text a second time). Pages of a target list their series in the same
//! order scrape after scrape, so entries are kept in an array in the order they were
//! first seen and a lookup first tries the entry after the previous hit: a sequential walk
//! the CPU prefetches, where a hash map costs a cache miss or two per sample. Only when
//! that guess fails does it go through `index`. The expected entry's key and text length
//! also let the parser skip re-validating a line that repeats it. Entries not seen for
//! two scrapes are marked dead and the array is compacted when half are dead.
//!
//! Memory per series is what this file is laid out for: the index holds only a `u32`
//! position per entry (its hash is the entry's key, read from the array), and an entry does
//! not keep a hash of its labels (staleness, which needs one, computes it in the rare
//! passes where a series went away).

use hashbrown::HashTable;

use crate::model::Labels;
use crate::storage::SeriesSlot;

/// The index's hash of a cache key, which is already a 128-bit hash: its halves folded.
#[inline]
fn fold(key: u128) -> u64 {
    (key as u64) ^ ((key >> 64) as u64)
}

/// The cache key of a series text.
pub(super) fn cache_key(series: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(series)
}

/// One cached series text.
pub(super) struct CacheEntry {
    key: u128,
    key_len: u32,
    /// `None` when metric relabeling dropped the series.
    pub labels: Option<Labels>,
    pub slot: SeriesSlot,
    /// The last scrape (ingest number) that listed the text; 0 marks a dead entry.
    pub last_iter: u32,
    /// The last scrape in which the series counted for staleness, and the one before.
    pub marked: u32,
    pub marked_before: u32,
}

impl CacheEntry {
    /// An entry kept outside the cache (see `SeriesCache::insert`).
    pub fn detached(labels: Option<Labels>) -> Self {
        CacheEntry {
            key: 0,
            key_len: 0,
            labels,
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
    entries: Vec<CacheEntry>,
    /// Positions in `entries` of the live entries, hashed by their keys: for the lookups
    /// the sequential guess misses.
    index: HashTable<u32>,
    /// The entry after the last hit: where the next lookup looks first.
    next: usize,
    dead: usize,
}

impl SeriesCache {
    /// The key and text length of the entry the next lookup tries first (the one after
    /// the last hit).
    pub fn expected(&self) -> Option<(u128, usize)> {
        self.entries
            .get(self.next)
            .filter(|e| e.is_live())
            .map(|e| (e.key, e.key_len as usize))
    }

    /// The entry for `key`, if cached.
    pub fn find(&mut self, key: u128) -> Option<usize> {
        if let Some(e) = self.entries.get(self.next)
            && e.is_live()
            && e.key == key
        {
            self.next += 1;
            return Some(self.next - 1);
        }
        let entries = &self.entries;
        let hit = *self
            .index
            .find(fold(key), |&i| entries[i as usize].key == key)? as usize;
        self.next = hit + 1;
        Some(hit)
    }

    /// Adds an entry for `key` (not cached yet) with text length `len`; `None` when the
    /// cache cannot take more entries.
    pub fn insert(
        &mut self,
        key: u128,
        len: usize,
        labels: Option<Labels>,
        iter: u32,
    ) -> Option<usize> {
        if self.entries.len() >= u32::MAX as usize {
            return None;
        }
        let i = self.entries.len();
        self.entries.push(CacheEntry {
            key,
            key_len: u32::try_from(len).unwrap_or(u32::MAX),
            labels,
            slot: SeriesSlot::default(),
            last_iter: iter,
            marked: 0,
            marked_before: 0,
        });
        let entries = &self.entries;
        self.index
            .insert_unique(fold(key), i as u32, |&j| fold(entries[j as usize].key));
        self.next = i + 1;
        Some(i)
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
        let mut gone = 0;
        for (i, e) in self.entries.iter_mut().enumerate() {
            if e.is_live() && iter.wrapping_sub(e.last_iter) >= 2 {
                e.last_iter = 0;
                e.labels = None;
                e.slot = SeriesSlot::default();
                if let Ok(found) = self.index.find_entry(fold(e.key), |&j| j as usize == i) {
                    found.remove();
                }
                gone += 1;
            }
        }
        self.dead += gone;
        if gone > 0 && self.dead * 2 >= self.entries.len() {
            self.compact();
        }
    }

    /// Rewrites the array with the live entries only and rebuilds the index.
    fn compact(&mut self) {
        self.entries.retain(CacheEntry::is_live);
        self.entries.shrink_to(self.entries.len() * 2);
        self.index.clear();
        self.index.shrink_to(self.entries.len() * 2, |_| 0);
        for (i, e) in self.entries.iter().enumerate() {
            let entries = &self.entries;
            self.index
                .insert_unique(fold(e.key), i as u32, |&j| fold(entries[j as usize].key));
        }
        self.dead = 0;
        self.next = 0;
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

    fn k(s: &str) -> u128 {
        cache_key(s.as_bytes())
    }

    #[test]
    fn finds_in_order_and_out_of_order_and_expires() {
        let mut c = SeriesCache::default();
        for (i, s) in ["a", "b{x=\"1\"}", "c"].iter().enumerate() {
            assert_eq!(c.find(k(s)), None);
            assert_eq!(c.insert(k(s), s.len(), None, 1), Some(i));
        }
        c.next = 0;
        assert_eq!(c.expected(), Some((k("a"), 1)));
        assert_eq!(c.find(k("a")), Some(0));
        assert_eq!(c.find(k("b{x=\"1\"}")), Some(1));
        assert_eq!(
            c.find(k("a")),
            Some(0),
            "out of order falls back to the index"
        );
        assert_eq!(c.find(k("c")), Some(2));
        assert_eq!(c.find(k("d")), None);
        c.entry_mut(0).last_iter = 3;
        c.expire(3);
        assert_eq!(c.len(), 1);
        assert_eq!(c.find(k("b{x=\"1\"}")), None);
        assert_eq!(c.find(k("a")), Some(0), "compaction keeps the live entry");
        assert_eq!(c.insert(k("b{x=\"1\"}"), 8, None, 3), Some(1));
        c.next = 0;
        assert_eq!(c.find(k("a")), Some(0));
        assert_eq!(c.find(k("b{x=\"1\"}")), Some(1));
    }

    #[test]
    fn dead_entries_are_not_expected_or_found_before_compaction() {
        let mut c = SeriesCache::default();
        for s in ["a", "b", "c", "d", "e"] {
            c.insert(k(s), 1, None, 1);
        }
        for e in c.live_mut() {
            e.last_iter = 5;
        }
        c.entry_mut(1).last_iter = 1;
        c.expire(5);
        assert_eq!(c.len(), 4, "one dead of five: no compaction yet");
        c.next = 1;
        assert_eq!(c.expected(), None);
        assert_eq!(c.find(k("b")), None);
        assert_eq!(c.find(k("c")), Some(2));
        assert_eq!(c.expected(), Some((k("d"), 1)));
    }
}
