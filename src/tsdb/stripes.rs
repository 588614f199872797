//! The head's series table: series by ref and by label hash, each map split into stripes
//! with their own lock so concurrent appenders (one per scrape loop) and queriers rarely
//! meet. The appender resolves refs and labels here, commits create series here, the
//! querier fetches series by ref, and `gc` removes dropped ones.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use hashbrown::HashTable;
use parking_lot::RwLock;

use super::series::MemSeries;
use crate::model::Labels;
use crate::storage::SeriesRef;

/// Hashes a `u64` key (a ref or an already well-mixed label hash) with one folded 128-bit
/// multiply: cheap, and both halves of the result depend on every key bit, which matters
/// because the keys of one stripe share their low bits.
#[derive(Default, Clone, Copy)]
pub(crate) struct U64Hasher(u64);

impl Hasher for U64Hasher {
    fn finish(&self) -> u64 {
        let m = (self.0 as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
        (m as u64) ^ ((m >> 64) as u64)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(crate) type U64Map<V> = HashMap<u64, V, BuildHasherDefault<U64Hasher>>;

const K: u64 = 0x9e37_79b9_7f4a_7c15;

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let m = (a as u128).wrapping_mul(b as u128);
    (m as u64) ^ ((m >> 64) as u64)
}

#[inline]
fn mix_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = fold_mul(h ^ u64::from_le_bytes(w), K);
    }
    let rest = chunks.remainder();
    let mut w = [0u8; 8];
    w[..rest.len()].copy_from_slice(rest);
    fold_mul(h ^ u64::from_le_bytes(w) ^ ((bytes.len() as u64) << 56), K)
}

/// The head's hash of a label set, for its own maps and stripes only: a few multiplies
/// per 8 bytes, several times cheaper than the streaming `Labels::stable_hash`. It is not
/// stable across versions and never stored.
pub(crate) fn labels_hash(labels: &Labels) -> u64 {
    let mut h = 0x243f_6a88_85a3_08d3;
    for l in labels {
        h = mix_bytes(h, l.name.as_bytes());
        h = mix_bytes(h, l.value.as_bytes());
    }
    h
}

/// Where a series' ref lands in its stripe's table (refs of one stripe share their low
/// bits, so they are mixed first).
#[inline]
fn ref_hash(r: SeriesRef) -> u64 {
    fold_mul(r, K)
}

/// Series by label hash, in a dense table that holds only the `Arc` (8 bytes a slot: the
/// key is read from the series); series with the same hash simply sit side by side.
#[derive(Default)]
struct HashStripe(HashTable<Arc<MemSeries>>);

impl HashStripe {
    fn get(&self, hash: u64, labels: &Labels) -> Option<&Arc<MemSeries>> {
        self.0.find(hash, |s| {
            s.hash == hash && !s.is_deleted() && s.has_labels(labels)
        })
    }
}

/// Series by ref, likewise keyed by the series' own ref.
#[derive(Default)]
struct RefStripe(HashTable<Arc<MemSeries>>);

pub(crate) struct StripedSeries {
    mask: usize,
    by_ref: Box<[RwLock<RefStripe>]>,
    by_hash: Box<[RwLock<HashStripe>]>,
}

impl StripedSeries {
    /// `stripes` is rounded up to a power of two.
    pub fn new(stripes: usize) -> Self {
        let n = stripes.max(1).next_power_of_two();
        StripedSeries {
            mask: n - 1,
            by_ref: (0..n).map(|_| RwLock::default()).collect(),
            by_hash: (0..n).map(|_| RwLock::default()).collect(),
        }
    }

    fn ref_stripe(&self, r: SeriesRef) -> &RwLock<RefStripe> {
        &self.by_ref[r as usize & self.mask]
    }

    fn hash_stripe(&self, hash: u64) -> &RwLock<HashStripe> {
        &self.by_hash[hash as usize & self.mask]
    }

    pub fn get(&self, r: SeriesRef) -> Option<Arc<MemSeries>> {
        self.ref_stripe(r)
            .read()
            .0
            .find(ref_hash(r), |s| s.r == r)
            .cloned()
    }

    /// The live series with these labels (`hash` is their `labels_hash`).
    pub fn get_by_labels(&self, hash: u64, labels: &Labels) -> Option<Arc<MemSeries>> {
        self.hash_stripe(hash).read().get(hash, labels).cloned()
    }

    /// The live series with these labels, or a new one with ref `r`. `on_create` runs for a
    /// new series while its hash stripe is still locked, before the series can be found by
    /// ref, so an index it updates is never behind a series `gc` can see.
    pub fn get_or_create(
        &self,
        hash: u64,
        labels: &Labels,
        r: SeriesRef,
        on_create: impl FnOnce(&MemSeries),
    ) -> Arc<MemSeries> {
        let mut stripe = self.hash_stripe(hash).write();
        if let Some(s) = stripe.get(hash, labels) {
            return s.clone();
        }
        let s = Arc::new(MemSeries::new(r, labels.clone(), hash));
        stripe.0.insert_unique(hash, s.clone(), |x| x.hash);
        on_create(&s);
        self.ref_stripe(r)
            .write()
            .0
            .insert_unique(ref_hash(r), s.clone(), |x| ref_hash(x.r));
        s
    }

    /// Forgets a series (by identity, so a newer series with the same labels stays).
    pub fn remove(&self, s: &Arc<MemSeries>) {
        if let Ok(e) = self
            .hash_stripe(s.hash)
            .write()
            .0
            .find_entry(s.hash, |x| Arc::ptr_eq(x, s))
        {
            e.remove();
        }
        if let Ok(e) = self
            .ref_stripe(s.r)
            .write()
            .0
            .find_entry(ref_hash(s.r), |x| Arc::ptr_eq(x, s))
        {
            e.remove();
        }
    }

    pub fn num_stripes(&self) -> usize {
        self.mask + 1
    }

    /// The series of one stripe (cloned out, so no lock is held while the caller works).
    pub fn stripe_series(&self, i: usize) -> Vec<Arc<MemSeries>> {
        self.by_ref[i].read().0.iter().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.by_ref.iter().map(|s| s.read().0.len()).sum()
    }

    /// Approximate heap bytes of the tables themselves (slots and control bytes).
    pub fn map_bytes(&self) -> usize {
        let slot = std::mem::size_of::<Arc<MemSeries>>() + 1;
        let refs: usize = self.by_ref.iter().map(|s| s.read().0.capacity()).sum();
        let hashes: usize = self.by_hash.iter().map(|s| s.read().0.capacity()).sum();
        (refs + hashes) * slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_hash_conflicts_keep_series_apart() {
        let t = StripedSeries::new(4);
        let a = Labels::from_pairs(&[("__name__", "a")]);
        let b = Labels::from_pairs(&[("__name__", "b")]);
        // Same (fake) hash for different labels.
        let sa = t.get_or_create(7, &a, 1, |_| {});
        let sb = t.get_or_create(7, &b, 2, |_| {});
        assert_eq!((sa.r, sb.r), (1, 2));
        assert_eq!(t.get_by_labels(7, &b).map(|s| s.r), Some(2));
        assert_eq!(t.get_or_create(7, &a, 3, |_| panic!("exists")).r, 1);
        t.remove(&sa);
        assert_eq!(t.get_by_labels(7, &b).map(|s| s.r), Some(2));
        assert!(t.get_by_labels(7, &a).is_none());
        assert!(t.get(1).is_none());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn labels_hash_separates_names_from_values() {
        let h = |p: &[(&str, &str)]| labels_hash(&Labels::from_pairs(p));
        assert_ne!(h(&[("a", "1b")]), h(&[("a1", "b")]));
        assert_ne!(h(&[("a", "12345678")]), h(&[("a", "123456789")]));
        assert_eq!(h(&[("a", "1"), ("b", "2")]), h(&[("b", "2"), ("a", "1")]));
    }

    #[test]
    fn deleted_series_are_not_found_and_get_replaced() {
        let t = StripedSeries::new(2);
        let a = Labels::from_pairs(&[("__name__", "a")]);
        let h = labels_hash(&a);
        let s = t.get_or_create(h, &a, 1, |_| {});
        s.mark_deleted();
        assert!(t.get_by_labels(h, &a).is_none());
        let s2 = t.get_or_create(h, &a, 2, |_| {});
        assert_eq!(s2.r, 2);
        t.remove(&s);
        assert_eq!(t.get_by_labels(h, &a).map(|s| s.r), Some(2));
    }
}
