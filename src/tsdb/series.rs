//! One series in the head: its ref and labels, its closed chunks and the open chunk being
//! appended, and the last sample (for out-of-order and duplicate checks). The appender
//! reads the last sample, a commit appends (cutting chunks at 120 samples or at a chunk
//! range boundary), the querier copies what overlaps its range, and `gc` trims old chunks.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use super::chunk::{Chunk, SAMPLES_PER_CHUNK, XorEncoder};
use crate::model::{Labels, is_stale_nan};
use crate::storage::SeriesRef;

/// How a series cuts and seals chunks (from `HeadOptions`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChunkOpts {
    /// Chunks never span a multiple of this many milliseconds (0: cut by count only).
    pub range_ms: i64,
    /// Re-encode sealed chunks with optimal XOR windows.
    pub compact: bool,
}

/// Why a sample cannot be appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reject {
    OutOfOrder { last: i64 },
    Duplicate,
}

/// What to do with sample `(t, bits)` after a series' last sample: `Ok(true)` append,
/// `Ok(false)` ignore (same timestamp and same bits, or a staleness marker at the same
/// timestamp, as `MemStorage` does), or reject.
pub(crate) fn check(last: Option<(i64, u64)>, t: i64, bits: u64) -> Result<bool, Reject> {
    match last {
        None => Ok(true),
        Some((lt, _)) if t > lt => Ok(true),
        Some((lt, _)) if t < lt => Err(Reject::OutOfOrder { last: lt }),
        Some((_, lv)) if lv == bits || is_stale_nan(f64::from_bits(bits)) => Ok(false),
        Some(_) => Err(Reject::Duplicate),
    }
}

/// A series and its data. Identity fields are immutable; the data sits behind a mutex that
/// is only held for an append, a snapshot or a trim.
#[derive(Debug)]
pub(crate) struct MemSeries {
    pub r: SeriesRef,
    pub labels: Labels,
    pub hash: u64,
    /// Set (under the data lock) when `gc` drops the series; a commit that finds it set
    /// re-resolves the labels to a live series.
    deleted: AtomicBool,
    pub data: Mutex<SeriesData>,
}

impl MemSeries {
    pub fn new(r: SeriesRef, labels: Labels, hash: u64) -> Self {
        MemSeries {
            r,
            labels,
            hash,
            deleted: AtomicBool::new(false),
            data: Mutex::new(SeriesData::default()),
        }
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }

    /// Marks the series dropped. Call with the data lock held, after seeing it empty.
    pub fn mark_deleted(&self) {
        self.deleted.store(true, Ordering::Release);
    }

    /// Whether `labels` are this series' labels; a shared allocation answers at once.
    pub fn has_labels(&self, labels: &Labels) -> bool {
        self.labels.ptr_eq(labels) || self.labels == *labels
    }
}

/// Every series has one, so it is kept small: the closed chunks are an exact-size boxed
/// slice (a chunk is added every 120 samples, so the copy that costs is rare), and the end
/// of the open chunk's range is computed from its first sample instead of stored.
#[derive(Debug, Default)]
pub(crate) struct SeriesData {
    chunks: Box<[Chunk]>,
    open: XorEncoder,
    last: Option<(i64, u64)>,
}

/// The exclusive end of the chunk range that `t` falls in (`i64::MAX` without ranges).
#[inline]
fn range_end(t: i64, range_ms: i64) -> i64 {
    if range_ms > 0 {
        t.div_euclid(range_ms)
            .saturating_add(1)
            .saturating_mul(range_ms)
    } else {
        i64::MAX
    }
}

impl SeriesData {
    /// The last committed sample as (timestamp, value bits).
    pub fn last(&self) -> Option<(i64, u64)> {
        self.last
    }

    /// Appends a committed sample, checking it again (a concurrent commit may have moved
    /// the series on since the appender looked). `Ok(false)` when it was a no-op.
    pub fn append(&mut self, t: i64, v: f64, opts: ChunkOpts) -> Result<bool, Reject> {
        let bits = v.to_bits();
        if !check(self.last, t, bits)? {
            return Ok(false);
        }
        if !self.open.is_empty()
            && opts.range_ms > 0
            && t >= range_end(self.open.min_time(), opts.range_ms)
        {
            self.cut(opts);
        }
        self.open.append(t, v);
        self.last = Some((t, bits));
        if self.open.num_samples() >= SAMPLES_PER_CHUNK {
            self.cut(opts);
        }
        Ok(true)
    }

    fn cut(&mut self, opts: ChunkOpts) {
        let mut chunks = std::mem::take(&mut self.chunks).into_vec();
        chunks.reserve_exact(1);
        chunks.push(Chunk::seal(&self.open, opts.compact));
        self.chunks = chunks.into_boxed_slice();
        self.open.reset_and_release();
    }

    /// Copies of the chunks that overlap `[lo, hi]`, in time order: closed chunks share
    /// their bytes, the open chunk's bytes are copied.
    pub fn snapshot(&self, lo: i64, hi: i64) -> Vec<Chunk> {
        let start = self.chunks.partition_point(|c| c.max_time() < lo);
        let mut out: Vec<Chunk> = self.chunks[start..]
            .iter()
            .take_while(|c| c.min_time() <= hi)
            .cloned()
            .collect();
        let o = &self.open;
        if !o.is_empty() && o.min_time() <= hi && o.max_time() >= lo {
            out.push(Chunk::seal(o, false));
        }
        out
    }

    /// Drops the chunks (closed or open) whose samples are all older than `before`.
    /// Returns how many went.
    pub fn truncate_before(&mut self, before: i64) -> usize {
        let n = self.chunks.partition_point(|c| c.max_time() < before);
        if n > 0 {
            let mut chunks = std::mem::take(&mut self.chunks).into_vec();
            chunks.drain(..n);
            self.chunks = chunks.into_boxed_slice();
        }
        if !self.open.is_empty() && self.open.max_time() < before {
            self.open.reset_and_release();
            return n + 1;
        }
        n
    }

    /// Removes the samples in `[mint, maxt]` (inclusive) by rebuilding the chunks from the
    /// samples that remain (deletions are rare; this keeps the chunks plain XOR chunks that
    /// blocks can take unchanged). The last sample seen stays the out-of-order reference,
    /// so appends after a deletion follow the same rules as before it. Returns how many
    /// samples went.
    pub fn delete_range(&mut self, mint: i64, maxt: i64, opts: ChunkOpts) -> usize {
        let open_hit =
            !self.open.is_empty() && self.open.min_time() <= maxt && self.open.max_time() >= mint;
        if mint > maxt || !(open_hit || self.chunks.iter().any(|c| c.overlaps(mint, maxt))) {
            return 0;
        }
        let mut samples: Vec<(i64, f64)> = Vec::with_capacity(self.num_samples());
        for c in &self.chunks {
            samples.extend(c.iter().map(|s| (s.t, s.v)));
        }
        if !self.open.is_empty() {
            samples.extend(Chunk::seal(&self.open, false).iter().map(|s| (s.t, s.v)));
        }
        let before = samples.len();
        samples.retain(|&(t, _)| t < mint || t > maxt);
        let removed = before - samples.len();
        let last = self.last;
        *self = SeriesData::default();
        for (t, v) in samples {
            // Already in strict time order, so every append is accepted.
            let _ = self.append(t, v, opts);
        }
        self.last = last;
        removed
    }

    /// The time of the oldest sample held, if any.
    pub fn min_time(&self) -> Option<i64> {
        match self.chunks.first() {
            Some(c) => Some(c.min_time()),
            None if !self.open.is_empty() => Some(self.open.min_time()),
            None => None,
        }
    }

    /// No samples at all (never had any, or all truncated).
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.open.is_empty()
    }

    pub fn num_samples(&self) -> usize {
        self.chunks.iter().map(Chunk::num_samples).sum::<usize>() + self.open.num_samples()
    }

    /// Closed chunks plus the open one when it has samples.
    pub fn num_chunks(&self) -> usize {
        self.chunks.len() + usize::from(!self.open.is_empty())
    }

    /// Bytes of encoded samples (closed chunks and the used part of the open one).
    pub fn chunk_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.bytes().len()).sum::<usize>()
            + if self.open.is_empty() {
                0
            } else {
                self.open.bytes().len()
            }
    }

    /// Heap bytes this data holds, including allocator rounding and the open chunk's spare
    /// capacity.
    pub fn heap_bytes(&self) -> usize {
        self.chunks.len() * std::mem::size_of::<Chunk>()
            + self
                .chunks
                .iter()
                .map(|c| alloc_size(16 + c.bytes().len()))
                .sum::<usize>()
            + alloc_size(self.open.capacity())
    }
}

/// Approximately what the allocator spends on an `n`-byte request (16-byte granules, an
/// 8-byte header, 32 bytes minimum), for memory estimates.
pub(crate) fn alloc_size(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n + 8).next_multiple_of(16).max(32)
    }
}

/// Heap bytes a label set would hold if nothing else shared it.
pub(crate) fn labels_heap_bytes(labels: &Labels) -> usize {
    alloc_size(labels.heap_bytes())
}

/// Heap bytes of one series object behind its `Arc`.
pub(crate) fn series_heap_bytes() -> usize {
    alloc_size(16 + std::mem::size_of::<MemSeries>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stale_nan;

    const OPTS: ChunkOpts = ChunkOpts {
        range_ms: 0,
        compact: true,
    };

    fn samples(d: &SeriesData) -> Vec<(i64, f64)> {
        d.snapshot(i64::MIN, i64::MAX)
            .iter()
            .flat_map(|c| c.iter())
            .map(|s| (s.t, s.v))
            .collect()
    }

    #[test]
    fn a_series_fits_a_192_byte_allocation() {
        // Every series is one `Arc<MemSeries>` (16 bytes of counts, the series, glibc's
        // 8-byte header, 16-byte granules): keep it in the 192-byte class (it was 208).
        assert!(
            16 + std::mem::size_of::<MemSeries>() + 8 <= 192,
            "MemSeries is {} bytes",
            std::mem::size_of::<MemSeries>()
        );
    }

    #[test]
    fn check_mirrors_mem_storage_rules() {
        let last = Some((10, 1.0f64.to_bits()));
        assert_eq!(check(None, 5, 0), Ok(true));
        assert_eq!(check(last, 11, 0), Ok(true));
        assert_eq!(check(last, 9, 0), Err(Reject::OutOfOrder { last: 10 }));
        assert_eq!(check(last, 10, 1.0f64.to_bits()), Ok(false));
        assert_eq!(check(last, 10, 2.0f64.to_bits()), Err(Reject::Duplicate));
        assert_eq!(check(last, 10, stale_nan().to_bits()), Ok(false));
    }

    #[test]
    fn exactly_120_samples_make_one_chunk_and_121_make_two() {
        let mut d = SeriesData::default();
        for i in 0..120 {
            d.append(i * 1000, i as f64, OPTS).unwrap();
        }
        assert_eq!(d.num_chunks(), 1);
        assert!(d.open.is_empty(), "a full chunk is sealed at once");
        d.append(120_000, 0.5, OPTS).unwrap();
        assert_eq!(d.num_chunks(), 2);
        assert_eq!(d.chunks[0].num_samples(), 120);
        assert_eq!(d.num_samples(), 121);
        assert_eq!(samples(&d).len(), 121);
    }

    #[test]
    fn chunks_do_not_span_a_range_boundary() {
        let opts = ChunkOpts {
            range_ms: 7_200_000,
            compact: false,
        };
        let mut d = SeriesData::default();
        for t in (7_190_000..7_210_000).step_by(1000) {
            d.append(t, 1.0, opts).unwrap();
        }
        assert_eq!(d.num_chunks(), 2);
        assert_eq!(d.chunks[0].max_time(), 7_199_000);
        assert_eq!(d.open.min_time(), 7_200_000);
    }

    #[test]
    fn snapshot_picks_overlapping_chunks_and_truncate_drops_old_ones() {
        let mut d = SeriesData::default();
        for i in 0..300 {
            d.append(i * 10, i as f64, OPTS).unwrap();
        }
        // Chunks: [0,1190], [1200,2390], open [2400,2990].
        assert_eq!(d.snapshot(1195, 1199).len(), 0);
        assert_eq!(d.snapshot(1000, 1300).len(), 2);
        assert_eq!(d.snapshot(2500, 9999).len(), 1);
        assert_eq!(d.truncate_before(2000), 1);
        assert_eq!(d.num_samples(), 180);
        assert_eq!(d.truncate_before(5000), 2);
        assert!(d.is_empty());
        assert_eq!(d.last(), Some((2990, 299.0f64.to_bits())));
    }
}
