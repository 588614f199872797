//! `Head`: the in-memory TSDB block that everything appends to and queries read. It owns
//! the series table, the postings index and the ref counter; applies committed batches
//! (after handing them to the optional `CommitLog`); reports `stats`; and drops old data
//! in `gc`. The app holds it as `Arc<dyn Storage>`; scrape loops take appenders, PromQL
//! and the UI take queriers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use parking_lot::RwLock;

use super::appender::HeadAppender;
use super::commit::{CommitBatch, CommitLog, SampleRecord, SeriesRecord};
use super::metrics::HeadCounters;
use super::postings::Postings;
use super::querier::HeadQuerier;
use super::series::{self, ChunkOpts, MemSeries};
use super::stripes::{StripedSeries, U64Map, labels_hash};
use crate::model::Labels;
use crate::storage::{Appendable, Appender, Querier, Queryable, SeriesRef, StorageError};

/// How the head is set up. `Default` is what the app uses.
#[derive(Clone)]
pub struct HeadOptions {
    /// Chunks never cross a multiple of this many milliseconds, so they can later be cut
    /// into blocks of this range unchanged (Prometheus: 2h). 0 cuts by sample count only.
    pub chunk_range_ms: i64,
    /// Re-encode each chunk as it closes with the cheapest XOR windows (same format,
    /// fewer bytes, a few microseconds per 120 samples).
    pub compact_chunks: bool,
    /// Lock stripes of the series table (rounded up to a power of two).
    pub stripes: usize,
    /// Receives every batch before it is applied (the WAL's place); `None` keeps the head
    /// purely in memory.
    pub commit_log: Option<Arc<dyn CommitLog>>,
}

impl Default for HeadOptions {
    fn default() -> Self {
        HeadOptions {
            chunk_range_ms: 2 * 3600 * 1000,
            compact_chunks: true,
            stripes: 256,
            commit_log: None,
        }
    }
}

impl std::fmt::Debug for HeadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeadOptions")
            .field("chunk_range_ms", &self.chunk_range_ms)
            .field("compact_chunks", &self.compact_chunks)
            .field("stripes", &self.stripes)
            .field("commit_log", &self.commit_log.is_some())
            .finish()
    }
}

/// A census of the head, from one pass over every series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeadStats {
    pub series: usize,
    pub samples: u64,
    /// Closed chunks plus open chunks that hold samples.
    pub chunks: usize,
    /// Encoded sample bytes (what the chunks would take on disk).
    pub chunk_bytes: usize,
    /// Approximate heap bytes: chunk allocations, open chunk buffers, series objects,
    /// label sets (as if not shared with callers), the series maps and the postings index.
    pub memory_bytes: usize,
    /// Samples that passed the appender's checks but lost a race with another commit to
    /// the same series (out of order or duplicate by the time they were applied).
    pub dropped_at_commit: u64,
}

/// What one `gc` pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcStats {
    pub chunks_removed: usize,
    pub series_removed: usize,
}

pub struct Head {
    opts: HeadOptions,
    chunk_opts: ChunkOpts,
    pub(crate) series: StripedSeries,
    pub(crate) postings: RwLock<Postings>,
    next_ref: AtomicU64,
    dropped_at_commit: AtomicU64,
    /// Samples in the last committed batch (sizes the next appender's buffers).
    last_batch_len: AtomicUsize,
    /// Samples older than this are out of bounds (Prometheus's head min valid time): the
    /// newest block's end, raised by each cut before it reads its window.
    min_valid: AtomicI64,
    /// The newest sample time ever applied (`i64::MIN` while empty); it never goes down.
    max_time: AtomicI64,
    pub(crate) counters: HeadCounters,
}

/// What applying one committed sample did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applied {
    Appended,
    /// Out of order or a duplicate by the time it was applied, or its series is unknown.
    Dropped,
    /// Older than the min valid time by the time it was applied (a cut raised it).
    OutOfBounds,
}

impl Head {
    pub fn new(opts: HeadOptions) -> Head {
        Head {
            chunk_opts: ChunkOpts {
                range_ms: opts.chunk_range_ms.max(0),
                compact: opts.compact_chunks,
            },
            series: StripedSeries::new(opts.stripes),
            postings: RwLock::new(Postings::new()),
            next_ref: AtomicU64::new(1),
            dropped_at_commit: AtomicU64::new(0),
            last_batch_len: AtomicUsize::new(0),
            min_valid: AtomicI64::new(i64::MIN),
            max_time: AtomicI64::new(i64::MIN),
            counters: HeadCounters::default(),
            opts,
        }
    }

    pub fn options(&self) -> &HeadOptions {
        &self.opts
    }

    /// A new, never used series ref. Refs only grow; rolled-back batches leave gaps.
    pub(crate) fn allocate_ref(&self) -> SeriesRef {
        self.next_ref.fetch_add(1, Ordering::Relaxed)
    }

    /// How many samples the last committed batch had (capped, for buffer sizing).
    pub(crate) fn batch_size_hint(&self) -> usize {
        self.last_batch_len.load(Ordering::Relaxed).min(4096)
    }

    pub fn num_series(&self) -> usize {
        self.series.len()
    }

    /// Samples before this time (ms) are rejected as out of bounds; `i64::MIN` at first.
    pub fn min_valid_time(&self) -> i64 {
        self.min_valid.load(Ordering::SeqCst)
    }

    /// Raises the min valid time to `t` (never lowers it). A commit applies each sample
    /// under its series' lock after re-reading this time, so once this returns no sample
    /// older than `t` enters a series that is read after it.
    pub fn raise_min_valid_time(&self, t: i64) {
        self.min_valid.fetch_max(t, Ordering::SeqCst);
    }

    /// The newest sample time the head has taken, if any (not lowered by `gc`).
    pub fn max_time(&self) -> Option<i64> {
        match self.max_time.load(Ordering::Relaxed) {
            i64::MIN => None,
            t => Some(t),
        }
    }

    /// The bound a new (live) appender checks samples against, as Prometheus's head does:
    /// the min valid time, or half a chunk range before the newest sample when that is
    /// later. The second bound keeps samples out of the window a cut reads next, so a
    /// series that went quiet cannot take a sample far behind the others.
    pub(crate) fn appendable_min_valid_time(&self) -> i64 {
        let min = self.min_valid_time();
        match self.max_time() {
            Some(max) => min.max(max.saturating_sub(self.opts.chunk_range_ms / 2)),
            None => min,
        }
    }

    /// The head's counters (appended, rejected samples), for the TSDB's metrics.
    pub fn counters(&self) -> &HeadCounters {
        &self.counters
    }

    /// Whether the series `r` is still in the head (a WAL checkpoint keeps only those).
    pub fn has_series(&self, r: SeriesRef) -> bool {
        self.series.get(r).is_some()
    }

    /// The one way into memory: log the batch, then apply it. `targets[i]`, when present,
    /// is the series the appender already resolved for `samples[i]`.
    pub(crate) fn commit(
        &self,
        series: &[SeriesRecord],
        samples: &[SampleRecord],
        targets: &[Option<Arc<MemSeries>>],
    ) -> Result<(), StorageError> {
        if let Some(log) = &self.opts.commit_log {
            log.log(&CommitBatch { series, samples })?;
        }
        self.apply(CommitBatch { series, samples }, targets);
        self.last_batch_len.store(samples.len(), Ordering::Relaxed);
        Ok(())
    }

    /// Creates the batch's series (or finds them, when another batch made the same labels
    /// first) and appends its samples. Samples whose ref is unknown, or that a concurrent
    /// commit made out of order, are counted in `dropped_at_commit`. A WAL replay would
    /// call this with empty `targets`.
    fn apply(&self, batch: CommitBatch<'_>, targets: &[Option<Arc<MemSeries>>]) {
        let mut created: U64Map<Arc<MemSeries>> = U64Map::default();
        for rec in batch.series {
            created.insert(rec.r, self.get_or_create(&rec.labels, rec.r));
        }
        let (mut dropped, mut appended, mut oob) = (0, 0, 0);
        let mut maxt = i64::MIN;
        for (i, smp) in batch.samples.iter().enumerate() {
            let looked_up;
            let s = if let Some(s) = targets.get(i).and_then(Option::as_ref) {
                s
            } else if let Some(s) = created.get(&smp.r) {
                s
            } else if let Some(s) = self.series.get(smp.r) {
                looked_up = s;
                &looked_up
            } else {
                dropped += 1;
                continue;
            };
            match self.append_committed(s, smp.t, smp.v, true) {
                Applied::Appended => {
                    appended += 1;
                    maxt = maxt.max(smp.t);
                }
                Applied::Dropped => dropped += 1,
                Applied::OutOfBounds => {
                    dropped += 1;
                    oob += 1;
                }
            }
        }
        if dropped > 0 {
            self.dropped_at_commit.fetch_add(dropped, Ordering::Relaxed);
        }
        self.max_time.fetch_max(maxt, Ordering::Relaxed);
        self.counters.add_appended(appended);
        self.counters.add_out_of_bounds(oob);
    }

    /// Replays WAL records into the head without logging them again: creates the batch's
    /// series (a series record for labels the head already holds maps its ref to that
    /// series, recorded in `aliases` so later sample records find it too, as `commit`
    /// does within a batch), then appends the samples. New refs stay above every replayed
    /// ref. Returns how many samples were dropped (unknown ref, out of order, duplicate).
    pub fn replay_batch(
        &self,
        batch: CommitBatch<'_>,
        aliases: &mut HashMap<SeriesRef, SeriesRef>,
    ) -> u64 {
        for rec in batch.series {
            self.next_ref
                .fetch_max(rec.r.saturating_add(1), Ordering::Relaxed);
            // A ref already taken by other labels (only a damaged log does that) gets a
            // fresh ref rather than shadowing that series.
            let r = match self.series.get(rec.r) {
                Some(s) if !s.has_labels(&rec.labels) => self.allocate_ref(),
                _ => rec.r,
            };
            let s = self.get_or_create(&rec.labels, r);
            if s.r != rec.r {
                aliases.insert(rec.r, s.r);
            } else {
                aliases.remove(&rec.r);
            }
        }
        let mut dropped = 0;
        let mut maxt = i64::MIN;
        for smp in batch.samples {
            let r = aliases.get(&smp.r).copied().unwrap_or(smp.r);
            match self.series.get(r) {
                Some(s) if self.append_committed(&s, smp.t, smp.v, false) == Applied::Appended => {
                    maxt = maxt.max(smp.t);
                }
                _ => dropped += 1,
            }
        }
        self.max_time.fetch_max(maxt, Ordering::Relaxed);
        dropped
    }

    /// Appends to `s`, or to the live series with its labels if `gc` dropped it meanwhile.
    /// With `bounded`, a sample older than the min valid time (read under the series'
    /// lock, see `raise_min_valid_time`) is refused; replay passes false, as what it
    /// brings back that is older than the blocks is dropped by `gc` instead.
    fn append_committed(&self, s: &Arc<MemSeries>, t: i64, v: f64, bounded: bool) -> Applied {
        let put = |data: &mut series::SeriesData| {
            if bounded && t < self.min_valid.load(Ordering::SeqCst) {
                Applied::OutOfBounds
            } else if data.append(t, v, self.chunk_opts).is_ok() {
                Applied::Appended
            } else {
                Applied::Dropped
            }
        };
        {
            let mut data = s.data.lock();
            if !s.is_deleted() {
                return put(&mut data);
            }
        }
        let mut s = self.get_or_create(&s.labels, self.allocate_ref());
        loop {
            let mut data = s.data.lock();
            if !s.is_deleted() {
                return put(&mut data);
            }
            drop(data);
            s = self.get_or_create(&s.labels, self.allocate_ref());
        }
    }

    fn get_or_create(&self, labels: &Labels, r: SeriesRef) -> Arc<MemSeries> {
        self.series
            .get_or_create(labels_hash(labels), labels, r, |s| {
                self.postings.write().add(s.r, &s.labels)
            })
    }

    /// Counts series, samples and chunks and estimates memory (one pass, locking each
    /// series briefly).
    pub fn stats(&self) -> HeadStats {
        let mut st = HeadStats {
            dropped_at_commit: self.dropped_at_commit.load(Ordering::Relaxed),
            ..HeadStats::default()
        };
        let mut mem = 0;
        for i in 0..self.series.num_stripes() {
            for s in self.series.stripe_series(i) {
                let d = s.data.lock();
                st.series += 1;
                st.samples += d.num_samples() as u64;
                st.chunks += d.num_chunks();
                st.chunk_bytes += d.chunk_bytes();
                mem += d.heap_bytes() + series::series_heap_bytes();
                mem += series::labels_heap_bytes(&s.labels);
            }
        }
        mem += self.series.map_bytes() + self.postings.read().memory_bytes();
        st.memory_bytes = mem;
        st
    }

    /// The oldest and newest sample times held, `None` when the head is empty (one pass,
    /// locking each series briefly).
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let mut out: Option<(i64, i64)> = None;
        for i in 0..self.series.num_stripes() {
            for s in self.series.stripe_series(i) {
                let d = s.data.lock();
                if let (Some(lo), Some((hi, _))) = (d.min_time(), d.last()) {
                    out = Some(match out {
                        Some((a, b)) => (a.min(lo), b.max(hi)),
                        None => (lo, hi),
                    });
                }
            }
        }
        out
    }

    /// The series matching `matchers` that hold samples in `[mint, maxt]`, ascending by
    /// ref, each with the range clamped to its own first and last sample (as Prometheus
    /// records a head deletion): what a deletion must log and apply.
    pub fn deletion_targets(
        &self,
        matchers: &[crate::model::Matcher],
        mint: i64,
        maxt: i64,
    ) -> Vec<(SeriesRef, i64, i64)> {
        let refs = self.postings.read().for_matchers(matchers);
        let mut out: Vec<(SeriesRef, i64, i64)> = refs
            .into_iter()
            .filter_map(|r| {
                let s = self.series.get(r)?;
                let d = s.data.lock();
                let (lo, (hi, _)) = (d.min_time()?, d.last()?);
                let hit = d
                    .snapshot(mint, maxt)
                    .iter()
                    .any(|c| c.iter().any(|x| x.t >= mint && x.t <= maxt));
                hit.then(|| (r, mint.max(lo), maxt.min(hi)))
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Deletes the samples of series `r` in `[mint, maxt]` (inclusive); a series left
    /// without samples is dropped as `gc` drops it. Used by `Db::delete` (after logging the
    /// tombstone) and by WAL replay of tombstone records. Returns the samples removed.
    pub fn delete_range(&self, r: SeriesRef, mint: i64, maxt: i64) -> usize {
        let Some(s) = self.series.get(r) else {
            return 0;
        };
        let mut d = s.data.lock();
        let n = d.delete_range(mint, maxt, self.chunk_opts);
        if n > 0 && d.is_empty() {
            s.mark_deleted();
            drop(d);
            self.drop_series(&[s]);
        }
        n
    }

    /// Removes series already marked deleted from the table and the postings index.
    fn drop_series(&self, removed: &[Arc<MemSeries>]) {
        for s in removed {
            self.series.remove(s);
        }
        let gone: Vec<(SeriesRef, Labels)> =
            removed.iter().map(|s| (s.r, s.labels.clone())).collect();
        self.postings.write().delete(&gone);
    }

    /// Drops every chunk whose samples are all older than `before_ms`, then every series
    /// left without samples (from the series table and the postings index). A later sample
    /// for a dropped series' labels starts a new series with a new ref.
    pub fn gc(&self, before_ms: i64) -> GcStats {
        let mut out = GcStats::default();
        let mut removed: Vec<Arc<MemSeries>> = Vec::new();
        for i in 0..self.series.num_stripes() {
            for s in self.series.stripe_series(i) {
                let mut d = s.data.lock();
                out.chunks_removed += d.truncate_before(before_ms);
                if d.is_empty() {
                    s.mark_deleted();
                    drop(d);
                    removed.push(s);
                }
            }
        }
        if removed.is_empty() {
            return out;
        }
        self.drop_series(&removed);
        out.series_removed = removed.len();
        out
    }
}

impl Appendable for Head {
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(HeadAppender::new(self, true))
    }

    fn history_appender(&self) -> Box<dyn Appender + '_> {
        Box::new(HeadAppender::new(self, false))
    }
}

impl Queryable for Head {
    /// A querier over `[mint, maxt]`. Each `select` copies what it needs (shared closed
    /// chunks, a copy of open chunks) and then holds no lock while iterating.
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        Ok(Box::new(HeadQuerier::new(self, mint, maxt)))
    }
}
