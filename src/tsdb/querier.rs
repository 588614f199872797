//! Reading the head: `HeadQuerier` answers `select` from the postings index, copying each
//! matching series' overlapping chunks (closed chunks by `Arc`, the open chunk's bytes) so
//! that iteration holds no lock; `SeriesIter` walks those chunks within the query range and
//! seeks chunk by chunk. `label_names` and `label_values` come from the index. PromQL, the
//! API and the UI use it through `storage::Querier`.
//!
//! What a select sees: everything committed before it started, and possibly parts of
//! batches committing while it runs (each series' samples are consistent, but a batch is
//! not applied to all its series at one instant; Prometheus's isolation is not
//! implemented).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::chunk::{Chunk, XorIter};
use super::head::Head;
use crate::model::{Matcher, Sample};
use crate::storage::{Querier, SampleIterator, SelectHints, Series, SeriesRef, StorageError};

pub(crate) struct HeadQuerier<'a> {
    head: &'a Head,
    mint: i64,
    maxt: i64,
}

impl<'a> HeadQuerier<'a> {
    pub fn new(head: &'a Head, mint: i64, maxt: i64) -> Self {
        HeadQuerier { head, mint, maxt }
    }

    fn refs(&self, matchers: &[Matcher]) -> Vec<SeriesRef> {
        self.head.postings.read().for_matchers(matchers)
    }

    /// Calls `f` with the labels of every series matching `matchers`.
    fn for_each_labels(&self, matchers: &[Matcher], mut f: impl FnMut(&crate::model::Labels)) {
        for r in self.refs(matchers) {
            if let Some(s) = self.head.series.get(r) {
                f(&s.labels);
            }
        }
    }
}

impl Querier for HeadQuerier<'_> {
    fn select(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
    ) -> Result<Vec<Series>, StorageError> {
        let (lo, hi) = (self.mint.max(hints.start), self.maxt.min(hints.end));
        if lo > hi {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for r in self.refs(matchers) {
            let Some(s) = self.head.series.get(r) else {
                continue;
            };
            let chunks = s.data.lock().snapshot(lo, hi);
            if chunks.is_empty() {
                continue;
            }
            let mut it = SeriesIter::new(chunks, lo, hi);
            if !hints.lazy {
                // A chunk can straddle the range without a sample inside it.
                let Some(first) = it.advance(lo) else {
                    continue;
                };
                it.peeked = Some(first);
            }
            out.push(Series {
                labels: s.labels.clone(),
                samples: Box::new(it),
            });
        }
        out.sort_unstable_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        if matchers.is_empty() {
            return Ok(self.head.postings.read().label_names());
        }
        let mut names = BTreeSet::new();
        self.for_each_labels(matchers, |l| {
            for l in l {
                if !names.contains(l.name) {
                    names.insert(l.name.to_string());
                }
            }
        });
        Ok(names.into_iter().collect())
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        if matchers.is_empty() {
            return Ok(self.head.postings.read().label_values(name));
        }
        let mut values = BTreeSet::new();
        self.for_each_labels(matchers, |l| {
            if let Some(v) = l.get(name)
                && !values.contains(v)
            {
                values.insert(v.to_string());
            }
        });
        Ok(values.into_iter().collect())
    }
}

/// A chunk `SeriesIter` walks: its time range and its samples. The head's `Chunk`s own
/// their bytes; a block's chunks point into the segment map.
pub(crate) trait IterChunk: Send {
    type Bytes: AsRef<[u8]> + Send;
    fn min_time(&self) -> i64;
    fn max_time(&self) -> i64;
    fn into_samples(self) -> XorIter<Self::Bytes>;
}

impl IterChunk for Chunk {
    type Bytes = Arc<[u8]>;

    fn min_time(&self) -> i64 {
        Chunk::min_time(self)
    }

    fn max_time(&self) -> i64 {
        Chunk::max_time(self)
    }

    fn into_samples(self) -> XorIter<Arc<[u8]>> {
        self.iter()
    }
}

/// The samples of one series in `[lo, hi]`, decoded lazily from a snapshot of its chunks.
pub(crate) struct SeriesIter<C: IterChunk = Chunk> {
    chunks: std::vec::IntoIter<C>,
    cur: Option<XorIter<C::Bytes>>,
    cur_max: i64,
    lo: i64,
    hi: i64,
    /// A sample already decoded but not yet returned.
    peeked: Option<Sample>,
}

impl<C: IterChunk> SeriesIter<C> {
    pub fn new(chunks: Vec<C>, lo: i64, hi: i64) -> Self {
        SeriesIter {
            chunks: chunks.into_iter(),
            cur: None,
            cur_max: i64::MIN,
            lo,
            hi,
            peeked: None,
        }
    }

    /// Decodes up to the first sample in range and keeps it for `next`; false when there
    /// is none (a chunk can straddle the range without a sample inside it).
    pub fn prime(&mut self) -> bool {
        if self.peeked.is_none() {
            self.peeked = self.advance(self.lo);
        }
        self.peeked.is_some()
    }

    /// The first unread sample with timestamp >= `t` (`t` >= `lo`), skipping whole chunks
    /// that end before `t`; `None`, for good, past `hi`.
    fn advance(&mut self, t: i64) -> Option<Sample> {
        loop {
            if let Some(it) = &mut self.cur {
                if self.cur_max >= t
                    && let Some(s) = it.find(|s| s.t >= t)
                {
                    if s.t <= self.hi {
                        return Some(s);
                    }
                    self.finish();
                    return None;
                }
                self.cur = None;
            }
            let c = self.chunks.find(|c| c.max_time() >= t)?;
            if c.min_time() > self.hi {
                self.finish();
                return None;
            }
            self.cur_max = c.max_time();
            self.cur = Some(c.into_samples());
        }
    }

    fn finish(&mut self) {
        self.cur = None;
        self.chunks = Vec::new().into_iter();
    }
}

impl<C: IterChunk> Iterator for SeriesIter<C> {
    type Item = Sample;

    #[inline]
    fn next(&mut self) -> Option<Sample> {
        if let Some(s) = self.peeked.take() {
            return Some(s);
        }
        // The common case: the next sample of the current chunk, past `lo`.
        if let Some(it) = &mut self.cur {
            match it.next() {
                Some(s) if s.t >= self.lo => {
                    if s.t <= self.hi {
                        return Some(s);
                    }
                    self.finish();
                    return None;
                }
                Some(_) => {}
                None => self.cur = None,
            }
        }
        self.advance(self.lo)
    }
}

impl<C: IterChunk> SampleIterator for SeriesIter<C> {
    fn seek(&mut self, t: i64) -> Option<Sample> {
        let t = t.max(self.lo);
        match self.peeked.take() {
            Some(s) if s.t >= t => Some(s),
            _ => self.advance(t),
        }
    }
}
