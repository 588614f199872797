//! Lays out a whole block directory from a set of series: chunks into segment files, the
//! index, an empty tombstones file and `meta.json`, first under `<ULID>.tmp-for-creation`
//! and then renamed into place (each file and both directories synced), so a crash never
//! leaves a half-written block under a ULID name. The lead's compaction calls
//! `write_block` with `series_from_head`.

use std::path::Path;

use super::chunks::{ChunkWriter, ENCODING_XOR};
use super::index_writer::{ChunkMeta, write_index};
use super::meta::{BlockMeta, BlockStats, Compaction, META_FILE, META_VERSION};
use super::{BlockError, SEGMENT_MAX_BYTES, Ulid, tombstones};
use crate::model::Labels;
use crate::tsdb::Head;
use crate::tsdb::chunk::{Chunk, XorEncoder};

/// One series to persist: its labels and its XOR chunks in time order.
#[derive(Debug, Clone)]
pub struct BlockSeries {
    pub labels: Labels,
    pub chunks: Vec<Chunk>,
}

/// The head's series with their chunks overlapping `[mint, maxt)`, unsorted. Chunks that
/// cross the range's edges are trimmed by `write_block`.
pub fn series_from_head(head: &Head, mint: i64, maxt: i64) -> Vec<BlockSeries> {
    let refs = head.postings.read().all().to_vec();
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        let Some(s) = head.series.get(r) else {
            continue;
        };
        let chunks = s.data.lock().snapshot(mint, maxt.saturating_sub(1));
        if !chunks.is_empty() {
            out.push(BlockSeries {
                labels: s.labels.clone(),
                chunks,
            });
        }
    }
    out
}

/// `c` restricted to samples in `[mint, maxt)`: itself when it lies inside, a re-encoded
/// copy when it crosses an edge, `None` when nothing is left.
fn clip(c: &Chunk, mint: i64, maxt: i64) -> Option<Chunk> {
    if c.min_time() >= mint && c.max_time() < maxt {
        return Some(c.clone());
    }
    if c.max_time() < mint || c.min_time() >= maxt {
        return None;
    }
    let mut enc = XorEncoder::new();
    for s in c.iter().filter(|s| s.t >= mint && s.t < maxt) {
        enc.append(s.t, s.v);
    }
    (!enc.is_empty()).then(|| Chunk::seal(&enc, false))
}

fn sync_dir(dir: &Path) -> Result<(), BlockError> {
    let f = std::fs::File::open(dir).map_err(|e| BlockError::io(dir, e))?;
    f.sync_all().map_err(|e| BlockError::io(dir, e))
}

/// Writes the samples of `series` in `[mint, maxt)` as a new level-1 block under
/// `parent` and returns its meta (the directory is `parent/<meta.ulid>`). Series must be
/// distinct; those without samples in the range are left out. An empty result still
/// makes a (valid, empty) block.
pub fn write_block(
    parent: &Path,
    mint: i64,
    maxt: i64,
    series: Vec<BlockSeries>,
) -> Result<BlockMeta, BlockError> {
    write_block_with(parent, mint, maxt, series, |ulid| Compaction {
        level: 1,
        sources: vec![ulid.to_string()],
        other: Default::default(),
    })
}

/// `write_block` with the `compaction` section of `meta.json` made by `compaction` from
/// the new block's ULID (compaction uses it for level, sources and parents).
pub fn write_block_with(
    parent: &Path,
    mint: i64,
    maxt: i64,
    mut series: Vec<BlockSeries>,
    compaction: impl FnOnce(&Ulid) -> Compaction,
) -> Result<BlockMeta, BlockError> {
    if mint >= maxt {
        return Err(BlockError::Invalid(format!(
            "empty block range [{mint}, {maxt})"
        )));
    }
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    if let Some(w) = series.windows(2).find(|w| w[0].labels == w[1].labels) {
        return Err(BlockError::Invalid(format!(
            "series {} given twice",
            w[0].labels
        )));
    }
    let ulid = Ulid::now();
    let tmp = parent.join(format!("{ulid}.tmp-for-creation"));
    let dir = parent.join(ulid.to_string());
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| BlockError::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| BlockError::io(&tmp, e))?;
    let result = write_into(&tmp, ulid, mint, maxt, &series, compaction(&ulid));
    // Whatever fails before the rename (a full disk, say) leaves no `.tmp` dir behind.
    let result = result.and_then(|meta| {
        sync_dir(&tmp)?;
        std::fs::rename(&tmp, &dir).map_err(|e| BlockError::io(&dir, e))?;
        Ok(meta)
    });
    let meta = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    sync_dir(parent)?;
    Ok(meta)
}

fn write_into(
    tmp: &Path,
    ulid: Ulid,
    mint: i64,
    maxt: i64,
    series: &[BlockSeries],
    compaction: Compaction,
) -> Result<BlockMeta, BlockError> {
    let mut stats = BlockStats::default();
    let mut cw = ChunkWriter::new(&tmp.join("chunks"), SEGMENT_MAX_BYTES)?;
    let mut index: Vec<(Labels, Vec<ChunkMeta>)> = Vec::with_capacity(series.len());
    for s in series {
        let mut metas = Vec::with_capacity(s.chunks.len());
        let mut prev_max: Option<i64> = None;
        for c in &s.chunks {
            let Some(c) = clip(c, mint, maxt) else {
                continue;
            };
            if prev_max.is_some_and(|p| c.min_time() <= p) {
                return Err(BlockError::Invalid(format!(
                    "chunks of {} out of order or overlapping at {}",
                    s.labels,
                    c.min_time()
                )));
            }
            prev_max = Some(c.max_time());
            let r = cw.write(ENCODING_XOR, c.bytes())?;
            stats.num_chunks += 1;
            stats.num_samples += c.num_samples() as u64;
            metas.push(ChunkMeta {
                min_t: c.min_time(),
                max_t: c.max_time(),
                r,
            });
        }
        if !metas.is_empty() {
            index.push((s.labels.clone(), metas));
        }
    }
    cw.finish()?;
    // Prometheus 3.5 leaves numFloatSamples out of the blocks it writes; so does kmon.
    stats.num_series = index.len() as u64;
    sync_dir(&tmp.join("chunks"))?;
    #[cfg(test)]
    test_fault::check(tmp)?;
    write_index(&tmp.join("index"), &index)?;
    tombstones::write_empty(tmp)?;
    let meta = BlockMeta {
        ulid: ulid.to_string(),
        min_time: mint,
        max_time: maxt,
        stats,
        compaction,
        version: META_VERSION,
    };
    let path = tmp.join(META_FILE);
    let json = meta.to_json()?;
    let mut f = std::fs::File::create(&path).map_err(|e| BlockError::io(&path, e))?;
    std::io::Write::write_all(&mut f, &json).map_err(|e| BlockError::io(&path, e))?;
    f.sync_all().map_err(|e| BlockError::io(&path, e))?;
    Ok(meta)
}

/// Tests: make block writes on this thread fail (as a full disk would, after the chunks
/// are written) once `n` more have succeeded.
#[cfg(test)]
pub(crate) mod test_fault {
    use std::cell::Cell;
    use std::path::Path;

    use super::BlockError;

    thread_local! {
        static FAIL_AFTER: Cell<Option<u32>> = const { Cell::new(None) };
    }

    /// `Some(n)`: the write after the next `n` fails (and every one after it); `None`:
    /// writes succeed.
    pub(crate) fn fail_after(n: Option<u32>) {
        FAIL_AFTER.with(|c| c.set(n));
    }

    pub(super) fn check(tmp: &Path) -> Result<(), BlockError> {
        FAIL_AFTER.with(|c| match c.get() {
            Some(0) => Err(BlockError::io(
                &tmp.join("index"),
                std::io::Error::from_raw_os_error(28),
            )),
            Some(n) => {
                c.set(Some(n - 1));
                Ok(())
            }
            None => Ok(()),
        })
    }
}
