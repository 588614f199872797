//! `Block`: an open block directory (kmon's or Prometheus's) — its meta, memory-mapped
//! index and chunk segments, and tombstones — with a full consistency check (`verify`) and
//! `BlockQuerier`, its `storage::Querier`: matchers resolve to postings in the index, each
//! series' chunks overlapping the range are checked and decoded lazily. The lead merges it
//! with the head's querier; `kmon tsdb analyze` and start-up checks use `verify`, `kmon
//! tsdb check` uses `check`. A query that meets a corrupt chunk (bad checksum, encoding or
//! ref) skips that chunk only, logs it once and counts it (`corrupt_chunks_seen`); chunks
//! are not all checked at open, so start-up stays fast.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use parking_lot::RwLock;

use super::chunks::{ChunkReader, ENCODING_XOR, MappedBytes};
use super::index_reader::IndexReader;
use super::index_writer::ChunkMeta;
use super::meta::BlockMeta;
use super::tombstones::{self, Tombstones};
use super::{BlockError, BlockSeries, Ulid};
use crate::model::{Labels, Matcher, Sample};
use crate::storage::{
    Querier, Queryable, SelectHints, Series, StorageError, VecSampleIter, matches_all,
};
use crate::tsdb::chunk::{Chunk, XorIter, num_samples};
use crate::tsdb::querier::{IterChunk, SeriesIter};

pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunkReader,
    /// Changed only by `delete` (the file is rewritten first).
    tombstones: RwLock<Tombstones>,
    /// Refs of the chunks a query found corrupt (each is logged once) and their count.
    corrupt_seen: Mutex<HashSet<u64>>,
    corrupt_count: AtomicU64,
}

/// What `Block::verify` walked through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub series: u64,
    pub chunks: u64,
    pub samples: u64,
    pub label_indices: u64,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("dir", &self.dir)
            .field("ulid", &self.meta.ulid)
            .finish()
    }
}

impl Block {
    /// Opens the block in `dir`: reads `meta.json` and the tombstones, maps the index and
    /// the chunk segments and checks their headers, the TOC, the symbol table and the
    /// postings offset table.
    pub fn open(dir: &Path) -> Result<Block, BlockError> {
        let meta = BlockMeta::load(dir)?;
        let index = IndexReader::open(&dir.join("index"))?;
        let chunks = ChunkReader::open(&dir.join("chunks"))?;
        let tombstones = tombstones::read(dir)?;
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
            tombstones: RwLock::new(tombstones),
            corrupt_seen: Mutex::new(HashSet::new()),
            corrupt_count: AtomicU64::new(0),
        })
    }

    /// How many distinct chunks queries of this block found corrupt (bad checksum,
    /// unknown encoding, bad ref) and skipped. Each one is logged once, naming the block,
    /// the series and the chunk ref; `kmon tsdb check` lists them all.
    pub fn corrupt_chunks_seen(&self) -> u64 {
        self.corrupt_count.load(Ordering::Relaxed)
    }

    /// Takes over what `old` (this block's directory opened before) learnt about corrupt
    /// chunks, so a reopened block neither logs them again nor forgets their count.
    pub(crate) fn carry_corrupt_from(&self, old: &Block) {
        let seen = old.corrupt_seen.lock().clone();
        let n = seen.len() as u64;
        self.corrupt_seen.lock().extend(seen);
        self.corrupt_count.fetch_max(n, Ordering::Relaxed);
    }

    /// A cheap decode check for queries (the full one is `check`'s): the chunk's first
    /// sample lies in the time range the index gives it, so a checksum-valid chunk that
    /// is not the one the index means, or does not decode, is caught without decoding it
    /// all.
    fn first_sample_fits<C: AsRef<[u8]>>(&self, c: C, m: &ChunkMeta) -> Result<C, BlockError> {
        let bytes = c.as_ref();
        match XorIter::new(bytes).next() {
            Some(s) if s.t >= m.min_t && s.t <= m.max_t => Ok(c),
            None if num_samples(bytes) == 0 => Ok(c),
            first => {
                let path = self.chunks.segment_path(m.r).unwrap_or(self.dir.as_path());
                Err(BlockError::corrupt(
                    path,
                    m.r & 0xffff_ffff,
                    format!(
                        "chunk {:#x} starts at {:?}, outside [{}, {}] the index gives it",
                        m.r,
                        first.map(|s| s.t),
                        m.min_t,
                        m.max_t
                    ),
                ))
            }
        }
    }

    /// Notes that a query skipped the corrupt chunk `m` of `labels`.
    fn skip_corrupt(&self, labels: &Labels, m: &ChunkMeta, e: &BlockError) {
        if self.corrupt_seen.lock().insert(m.r) {
            self.corrupt_count.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                block = %self.meta.ulid,
                series = %labels,
                chunk_ref = format_args!("{:#x}", m.r),
                error = %e,
                "corrupt chunk skipped: its samples are missing from query results"
            );
        }
    }

    /// Whether `dir`'s name is a ULID (how a data dir's blocks are told from the rest).
    pub fn is_block_dir(dir: &Path) -> bool {
        dir.file_name()
            .and_then(|n| n.to_str())
            .and_then(Ulid::parse)
            .is_some()
            && dir.join("meta.json").is_file()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// Bytes of the index and chunk files.
    pub fn size_bytes(&self) -> u64 {
        self.index.size_bytes() + self.chunks.size_bytes()
    }

    /// Strings in the index's symbol table.
    pub fn num_symbols(&self) -> usize {
        self.index.num_symbols()
    }

    /// All label names in the block, sorted.
    pub fn label_names(&self) -> Vec<String> {
        self.index.label_names()
    }

    /// The deleted intervals by series ID (a copy).
    pub fn tombstones(&self) -> Tombstones {
        self.tombstones.read().clone()
    }

    /// How many deleted intervals the block's tombstones hold.
    pub fn num_tombstones(&self) -> u64 {
        tombstones::total(&self.tombstones.read())
    }

    /// Deletes the samples of the series matching `matchers` in `[mint, maxt]`
    /// (inclusive), as Prometheus's `Block.Delete`: every matching series with a chunk in
    /// the range gets the interval (clamped to its chunks' span) added to its tombstones; the `tombstones` file is then
    /// replaced atomically and `meta.json`'s `numTombstones` updated. Returns how many
    /// series were hit. Queriers opened afterwards no longer see those samples;
    /// compaction leaves them out.
    pub fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<usize, BlockError> {
        if mint > maxt || maxt < self.meta.min_time || mint >= self.meta.max_time {
            return Ok(0);
        }
        // As Prometheus, each series' interval is clamped to the span of its chunks.
        let mut hit = Vec::new();
        for id in self.index.postings_for_matchers(matchers)? {
            let (_, metas) = self.index.series(id)?;
            if metas.iter().any(|m| m.min_t <= maxt && m.max_t >= mint)
                && let (Some(first), Some(last)) = (metas.first(), metas.last())
            {
                hit.push((id, mint.max(first.min_t), maxt.min(last.max_t)));
            }
        }
        if hit.is_empty() {
            return Ok(0);
        }
        let mut t = self.tombstones.write();
        let mut next = t.clone();
        for &(id, lo, hi) in &hit {
            tombstones::add_interval(next.entry(id).or_default(), lo, hi);
        }
        tombstones::write(&self.dir, &next)?;
        let mut meta = self.meta.clone();
        meta.stats.num_tombstones = tombstones::total(&next);
        super::meta::write_atomic(&self.dir, &meta)?;
        *t = next;
        Ok(hit.len())
    }

    /// A querier over `[mint, maxt]` (inclusive, as `storage::Queryable`).
    pub fn querier(&self, mint: i64, maxt: i64) -> BlockQuerier<'_> {
        BlockQuerier {
            block: self,
            mint,
            maxt,
        }
    }

    /// An error naming the chunk's segment unless `enc` is float XOR, the one kmon reads.
    fn check_encoding(&self, m: &ChunkMeta, enc: u8) -> Result<(), BlockError> {
        if enc == ENCODING_XOR {
            return Ok(());
        }
        let path = self.chunks.segment_path(m.r).unwrap_or(self.dir.as_path());
        Err(BlockError::corrupt(
            path,
            m.r & 0xffff_ffff,
            format!("chunk encoding {enc} is not supported (kmon reads float XOR chunks)"),
        ))
    }

    /// The chunk behind `m`, checked (checksum, XOR encoding).
    fn chunk(&self, m: &ChunkMeta) -> Result<Chunk, BlockError> {
        let (enc, data) = self.chunks.chunk(m.r)?;
        self.check_encoding(m, enc)?;
        Ok(Chunk::from_parts(Arc::from(data), m.min_t, m.max_t))
    }

    /// The chunk behind `m` as queries read it: checked (checksum, XOR encoding) and
    /// left in the map.
    fn mapped_chunk(&self, m: &ChunkMeta) -> Result<MappedChunk, BlockError> {
        let (enc, bytes) = self.chunks.chunk_shared(m.r)?;
        self.check_encoding(m, enc)?;
        Ok(MappedChunk {
            bytes,
            min_t: m.min_t,
            max_t: m.max_t,
        })
    }

    /// The series matching `matchers` with their raw chunks (checked), in label order:
    /// what compaction rewrites into a new block. Tombstones are not applied.
    pub fn series_chunks(&self, matchers: &[Matcher]) -> Result<Vec<BlockSeries>, BlockError> {
        let ids = self.index.postings_for_matchers(matchers)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let (labels, metas) = self.index.series(id)?;
            let chunks = metas
                .iter()
                .map(|m| self.chunk(m))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(BlockSeries { labels, chunks });
        }
        Ok(out)
    }

    /// Every series with its chunks as compaction must carry them over: checked, in label
    /// order, with the samples deleted by tombstones left out (a chunk that loses samples
    /// is re-encoded; a series that loses all of them is dropped).
    pub fn series_for_compaction(&self) -> Result<Vec<BlockSeries>, BlockError> {
        let ids = self.index.all_postings()?;
        let tombstones = self.tombstones.read().clone();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let (labels, metas) = self.index.series(id)?;
            let mut chunks = Vec::with_capacity(metas.len());
            for m in &metas {
                let c = self.chunk(m)?;
                match tombstones.get(&id) {
                    Some(deleted) if deleted.iter().any(|&(a, z)| c.overlaps(a, z)) => {
                        let mut enc = crate::tsdb::chunk::XorEncoder::new();
                        for s in c
                            .iter()
                            .filter(|s| !deleted.iter().any(|&(a, z)| s.t >= a && s.t <= z))
                        {
                            enc.append(s.t, s.v);
                        }
                        if !enc.is_empty() {
                            chunks.push(Chunk::seal(&enc, false));
                        }
                    }
                    _ => chunks.push(c),
                }
            }
            if !chunks.is_empty() {
                out.push(BlockSeries { labels, chunks });
            }
        }
        Ok(out)
    }

    /// Reads everything: every series entry (labels in order, series in order), every
    /// chunk (checksum, and every sample decodes inside its recorded time range), every
    /// postings list and label index. The first problem is returned as an error naming
    /// the file and offset; `check` lists all of them.
    pub fn verify(&self) -> Result<VerifyReport, BlockError> {
        let (rep, mut problems) = self.check();
        if problems.is_empty() {
            Ok(rep)
        } else {
            Err(problems.swap_remove(0))
        }
    }

    /// What `verify` reads, going on past a bad chunk or series entry: the counts of what
    /// was read and every problem found, in file order, each naming the file and offset
    /// (and, for a chunk, the series and chunk ref).
    pub fn check(&self) -> (VerifyReport, Vec<BlockError>) {
        let mut rep = VerifyReport::default();
        let mut problems = Vec::new();
        let ids = match self.index.all_postings() {
            Ok(ids) => ids,
            Err(e) => return (rep, vec![e]),
        };
        let mut prev: Option<Labels> = None;
        for id in ids {
            let (labels, metas) = match self.index.series(id) {
                Ok(s) => s,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            if prev.as_ref().is_some_and(|p| *p >= labels) {
                problems.push(BlockError::corrupt(
                    self.index.path(),
                    id * 16,
                    format!("series {labels} is not after the one before it"),
                ));
            }
            for m in &metas {
                match self.checked_chunk(&labels, m) {
                    Ok(n) => {
                        rep.chunks += 1;
                        rep.samples += n;
                    }
                    Err(e) => problems.push(e),
                }
            }
            rep.series += 1;
            prev = Some(labels);
        }
        for name in self.index.label_names() {
            for v in self.index.label_values(&name) {
                if let Err(e) = self.index.postings(&name, &v) {
                    problems.push(e);
                }
            }
        }
        match self.index.check_label_indices() {
            Ok(n) => rep.label_indices = n as u64,
            Err(e) => problems.push(e),
        }
        (rep, problems)
    }

    /// Checks chunk `m` of `labels` fully (checksum, encoding, every sample decodes in
    /// order inside `[min_t, max_t]`, the last one at `max_t`); its sample count.
    fn checked_chunk(&self, labels: &Labels, m: &ChunkMeta) -> Result<u64, BlockError> {
        let name_it = |e: BlockError| match e {
            BlockError::Corrupt { path, offset, what } => BlockError::Corrupt {
                path,
                offset,
                what: format!("chunk {:#x} of {labels}: {what}", m.r),
            },
            other => other,
        };
        let c = self.chunk(m).map_err(name_it)?;
        let want = num_samples(c.bytes());
        let mut n = 0;
        let mut last = i64::MIN;
        for s in c.iter() {
            if s.t < m.min_t || s.t > m.max_t || (n > 0 && s.t <= last) {
                break;
            }
            last = s.t;
            n += 1;
        }
        if n != want || (n > 0 && last != m.max_t) {
            let path = self.chunks.segment_path(m.r).unwrap_or(self.dir.as_path());
            return Err(BlockError::corrupt(
                path,
                m.r & 0xffff_ffff,
                format!(
                    "chunk {:#x} of {labels} decodes {n} of {want} samples within [{}, {}]",
                    m.r, m.min_t, m.max_t
                ),
            ));
        }
        Ok(n as u64)
    }
}

impl Queryable for Block {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        Ok(Box::new(Block::querier(self, mint, maxt)))
    }
}

/// A chunk of a block as a query iterates it: its bytes stay in the segment map.
struct MappedChunk {
    bytes: MappedBytes,
    min_t: i64,
    max_t: i64,
}

impl AsRef<[u8]> for MappedChunk {
    fn as_ref(&self) -> &[u8] {
        self.bytes.as_ref()
    }
}

impl IterChunk for MappedChunk {
    type Bytes = MappedBytes;

    fn min_time(&self) -> i64 {
        self.min_t
    }

    fn max_time(&self) -> i64 {
        self.max_t
    }

    fn into_samples(self) -> XorIter<MappedBytes> {
        XorIter::new(self.bytes)
    }
}

/// Reads `[mint, maxt]` of one block.
pub struct BlockQuerier<'a> {
    block: &'a Block,
    mint: i64,
    maxt: i64,
}

impl BlockQuerier<'_> {
    /// Whether the block can hold samples in `[lo, hi]` (its range is `[min, max)`).
    fn overlaps(&self, lo: i64, hi: i64) -> bool {
        lo <= hi && self.block.meta.min_time <= hi && lo < self.block.meta.max_time
    }

    fn labels_of_matching(&self, matchers: &[Matcher]) -> Result<Vec<Labels>, BlockError> {
        let ids = self.block.index.postings_for_matchers(matchers)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let (labels, _) = self.block.index.series(id)?;
            out.push(labels);
        }
        Ok(out)
    }
}

impl Querier for BlockQuerier<'_> {
    fn select(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
    ) -> Result<Vec<Series>, StorageError> {
        let (lo, hi) = (self.mint.max(hints.start), self.maxt.min(hints.end));
        if !self.overlaps(lo, hi) {
            return Ok(Vec::new());
        }
        let b = self.block;
        let mut out = Vec::new();
        let mut metas = Vec::new();
        let tombstones = b.tombstones.read();
        for id in b.index.postings_for_matchers(matchers)? {
            let labels = b.index.series_into(id, &mut metas)?;
            let mut chunks = Vec::new();
            for m in metas.iter().filter(|m| m.min_t <= hi && m.max_t >= lo) {
                // A corrupt chunk loses its own samples only: the rest is still served.
                match b.mapped_chunk(m).and_then(|c| b.first_sample_fits(c, m)) {
                    Ok(c) => chunks.push(c),
                    Err(e) => b.skip_corrupt(&labels, m, &e),
                }
            }
            if chunks.is_empty() {
                continue;
            }
            let samples: Box<dyn crate::storage::SampleIterator> = match tombstones.get(&id) {
                Some(deleted) => {
                    let kept: Vec<Sample> = SeriesIter::new(chunks, lo, hi)
                        .filter(|s| !deleted.iter().any(|&(a, z)| s.t >= a && s.t <= z))
                        .collect();
                    if kept.is_empty() && !hints.lazy {
                        continue;
                    }
                    Box::new(VecSampleIter::new(kept))
                }
                None => {
                    let mut it = SeriesIter::new(chunks, lo, hi);
                    if !hints.lazy && !it.prime() {
                        continue;
                    }
                    Box::new(it)
                }
            };
            out.push(Series { labels, samples });
        }
        // Series IDs follow label order, so `out` is sorted already.
        Ok(out)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        if matchers.is_empty() {
            return Ok(self.block.index.label_names());
        }
        let mut names: Vec<String> = Vec::new();
        for l in self.labels_of_matching(matchers)? {
            for p in &l {
                names.push(p.name.to_string());
            }
        }
        names.sort_unstable();
        names.dedup();
        Ok(names)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        if matchers.is_empty() {
            return Ok(self.block.index.label_values(name));
        }
        let mut values: Vec<String> = Vec::new();
        for l in self.labels_of_matching(matchers)? {
            debug_assert!(matches_all(&l, matchers));
            if let Some(v) = l.get(name) {
                values.push(v.to_string());
            }
        }
        values.sort_unstable();
        values.dedup();
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsdb::block::write_block;
    use crate::tsdb::chunk::XorEncoder;

    #[test]
    fn a_chunk_ref_pointing_at_another_valid_chunk_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        // Two series whose chunks lie at different times; the second's chunk meta is then
        // pointed at the first series' chunk (checksum-valid, the wrong data).
        let series = [("a", 0i64), ("b", 500_000)]
            .iter()
            .map(|(n, t0)| {
                let mut e = XorEncoder::new();
                for k in 0..50 {
                    e.append(t0 + k * 1000, 1.0);
                }
                BlockSeries {
                    labels: Labels::from_pairs(&[("__name__", "m"), ("s", n)]),
                    chunks: vec![Chunk::seal(&e, false)],
                }
            })
            .collect();
        let meta = write_block(dir.path(), 0, 1_000_000, series).unwrap();
        let b = Block::open(&dir.path().join(&meta.ulid)).unwrap();
        let ids = b.index.all_postings().unwrap();
        let (_, metas) = b.index.series(ids[1]).unwrap();
        let m = metas[0];
        assert!(
            b.mapped_chunk(&m)
                .and_then(|c| b.first_sample_fits(c, &m))
                .is_ok()
        );
        let wrong = ChunkMeta { r: 8, ..m };
        let e = b
            .mapped_chunk(&wrong)
            .and_then(|c| b.first_sample_fits(c, &wrong))
            .map(|_| ())
            .unwrap_err();
        assert!(e.to_string().contains("outside"), "{e}");
    }
}
