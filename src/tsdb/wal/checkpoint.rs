//! WAL checkpoints, in Prometheus's layout: `wal/checkpoint.NNNNNNNN/` is itself a WAL
//! directory (segments of framed records) holding what replay still needs from the
//! segments up to NNNNNNNN: the series records of the series the head keeps, their samples
//! at or after a cut-off time, and their tombstones that reach it. `checkpoint` writes one
//! through `checkpoint.NNNNNNNN.tmp` and a rename, then deletes the segments and older
//! checkpoints it replaces; replay (`replay_dir`) reads the newest checkpoint first. The
//! data dir's head truncation calls `checkpoint` after cutting a block.

use std::io;
use std::path::{Path, PathBuf};

use super::WalError;
use super::reader::scan_segment;
use super::record::{self, Record};
use super::segment::{DEFAULT_SEGMENT_SIZE, SegmentWriter, list_segments};
use crate::storage::SeriesRef;
use crate::tsdb::commit::{SampleRecord, SeriesRecord};

const PREFIX: &str = "checkpoint.";
/// Records are buffered up to about this many bytes before they are written.
const BATCH_BYTES: usize = 1 << 20;

/// What a checkpoint kept and dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// The new checkpoint's directory.
    pub dir: PathBuf,
    pub total_series: u64,
    pub dropped_series: u64,
    pub total_samples: u64,
    pub dropped_samples: u64,
    pub total_tombstones: u64,
    pub dropped_tombstones: u64,
    /// Records kmon cannot carry over (another type, undecodable); any
    /// such record fails the checkpoint, so a successful one reports 0.
    pub dropped_records: u64,
    /// Segment files deleted afterwards, and older checkpoints deleted.
    pub deleted_segments: u64,
    pub deleted_checkpoints: u64,
}

/// The name of the checkpoint holding segments up to `i`.
pub fn checkpoint_name(i: u32) -> String {
    format!("{PREFIX}{i:08}")
}

/// The checkpoints in `wal_dir` by index, oldest first (`checkpoint.<digits>` directories
/// only, so unfinished `.tmp` ones are ignored).
pub fn list_checkpoints(wal_dir: &Path) -> io::Result<Vec<(u32, PathBuf)>> {
    super::segment::list_numbered(wal_dir, PREFIX, true)
}

/// The newest checkpoint, if any.
pub fn last_checkpoint(wal_dir: &Path) -> io::Result<Option<(u32, PathBuf)>> {
    Ok(list_checkpoints(wal_dir)?.pop())
}

/// Removes `checkpoint.*.tmp` directories left by a checkpoint that did not finish.
/// Returns how many were removed.
pub fn remove_checkpoint_tmps(wal_dir: &Path) -> io::Result<u64> {
    let mut n = 0;
    let rd = match std::fs::read_dir(wal_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for e in rd {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(PREFIX) && name.ends_with(".tmp") {
            tracing::info!(dir = %e.path().display(), "removing an unfinished WAL checkpoint");
            std::fs::remove_dir_all(e.path())?;
            n += 1;
        }
    }
    Ok(n)
}

fn io_err(path: &Path, e: io::Error) -> WalError {
    WalError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn sync_dir(dir: &Path) -> Result<(), WalError> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(dir, e))
}

/// Writes `checkpoint.<upto_segment>` from the newest existing checkpoint and the segments
/// after it up to and including `upto_segment`: the series records of series for which
/// `keep` holds, their samples with `t >= mint` and their tombstones reaching `mint`. Then
/// deletes the segments up to `upto_segment`, older checkpoints and leftover `.tmp`
/// directories. The caller must not be writing to any segment up to `upto_segment`.
///
/// A corrupt source segment (the error names the file and offset), or a record kmon
/// cannot carry over (a type kmon does not write, as in a Prometheus WAL;
/// the error names the file and the record's number), fails the checkpoint and leaves
/// everything as it was.
pub fn checkpoint(
    wal_dir: &Path,
    upto_segment: u32,
    keep: impl Fn(SeriesRef) -> bool,
    mint: i64,
) -> Result<CheckpointStats, WalError> {
    let prev = last_checkpoint(wal_dir).map_err(|e| io_err(wal_dir, e))?;
    if let Some((i, _)) = &prev
        && *i >= upto_segment
    {
        return Err(io_err(
            wal_dir,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("checkpoint {i} already covers segment {upto_segment}"),
            ),
        ));
    }
    let mut sources: Vec<PathBuf> = Vec::new();
    if let Some((_, dir)) = &prev {
        sources.extend(
            list_segments(dir)
                .map_err(|e| io_err(dir, e))?
                .into_iter()
                .map(|(_, p)| p),
        );
    }
    let after = prev.as_ref().map(|(i, _)| i + 1).unwrap_or(0);
    let segs = list_segments(wal_dir).map_err(|e| io_err(wal_dir, e))?;
    sources.extend(
        segs.iter()
            .filter(|(i, _)| (after..=upto_segment).contains(i))
            .map(|(_, p)| p.clone()),
    );

    let final_dir = wal_dir.join(checkpoint_name(upto_segment));
    let tmp = wal_dir.join(format!("{}.tmp", checkpoint_name(upto_segment)));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    let mut stats = match write_checkpoint(&tmp, &sources, &keep, mint) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    sync_dir(&tmp)?;
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir).map_err(|e| io_err(&final_dir, e))?;
    }
    std::fs::rename(&tmp, &final_dir).map_err(|e| io_err(&final_dir, e))?;
    sync_dir(wal_dir)?;
    stats.dir = final_dir;

    // The checkpoint is durable: what it replaces can go.
    for (i, p) in &segs {
        if *i <= upto_segment {
            std::fs::remove_file(p).map_err(|e| io_err(p, e))?;
            stats.deleted_segments += 1;
        }
    }
    for (i, p) in list_checkpoints(wal_dir).map_err(|e| io_err(wal_dir, e))? {
        if i < upto_segment {
            std::fs::remove_dir_all(&p).map_err(|e| io_err(&p, e))?;
            stats.deleted_checkpoints += 1;
        }
    }
    remove_checkpoint_tmps(wal_dir).map_err(|e| io_err(wal_dir, e))?;
    sync_dir(wal_dir)?;
    Ok(stats)
}

/// Filters the records of `sources` into a new WAL in `tmp`.
fn write_checkpoint(
    tmp: &Path,
    sources: &[PathBuf],
    keep: &impl Fn(SeriesRef) -> bool,
    mint: i64,
) -> Result<CheckpointStats, WalError> {
    let mut w = SegmentWriter::create(tmp, 0, DEFAULT_SEGMENT_SIZE).map_err(|e| io_err(tmp, e))?;
    let mut stats = CheckpointStats::default();
    let mut batch: Vec<Vec<u8>> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut failed: Option<io::Error> = None;
    let seg0 = tmp.join(super::segment_name(0));
    for src in sources {
        let mut nth = 0u64;
        let scan = scan_segment(src, |frame| {
            if failed.is_some() {
                return;
            }
            nth += 1;
            // kmon's own WAL holds only records it can decode; anything else comes from
            // another writer (a Prometheus WAL: histograms, exemplars …) and
            // dropping it would lose data, so the checkpoint stops instead.
            // Compressed records (Prometheus's) are decoded and written back uncompressed.
            let rec = match frame.record() {
                Err(e) => Err(format!("a record that does not decompress ({e})")),
                Ok(bytes) => match record::decode(&bytes) {
                    Ok(Record::Other(t)) => Err(format!("a record of type {t}")),
                    Ok(r) => Ok(r),
                    Err(e) => Err(format!("a record that does not decode ({e})")),
                },
            };
            let rec = match rec {
                Ok(r) => r,
                Err(what) => {
                    stats.dropped_records += 1;
                    failed = Some(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("record {nth} is {what}, which a checkpoint cannot carry over"),
                    ));
                    return;
                }
            };
            let mut buf = Vec::new();
            match rec {
                Record::Series(series) => {
                    stats.total_series += series.len() as u64;
                    let n = series.len();
                    let kept: Vec<SeriesRecord> =
                        series.into_iter().filter(|s| keep(s.r)).collect();
                    stats.dropped_series += (n - kept.len()) as u64;
                    if !kept.is_empty() {
                        record::encode_series(&kept, &mut buf);
                    }
                }
                Record::Samples(samples) => {
                    stats.total_samples += samples.len() as u64;
                    let n = samples.len();
                    let kept: Vec<SampleRecord> = samples
                        .into_iter()
                        .filter(|s| s.t >= mint && keep(s.r))
                        .collect();
                    stats.dropped_samples += (n - kept.len()) as u64;
                    if !kept.is_empty() {
                        record::encode_samples(&kept, &mut buf);
                    }
                }
                Record::Tombstones(stones) => {
                    stats.total_tombstones += stones.len() as u64;
                    let n = stones.len();
                    let kept: Vec<record::Tombstone> = stones
                        .into_iter()
                        .filter(|s| s.maxt >= mint && keep(s.r))
                        .collect();
                    stats.dropped_tombstones += (n - kept.len()) as u64;
                    if !kept.is_empty() {
                        record::encode_tombstones(&kept, &mut buf);
                    }
                }
                Record::Other(_) => {}
            }
            if buf.is_empty() {
                return;
            }
            batch_bytes += buf.len();
            batch.push(buf);
            if batch_bytes >= BATCH_BYTES {
                let recs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
                if let Err(e) = w.log(&recs) {
                    failed = Some(e);
                }
                batch.clear();
                batch_bytes = 0;
            }
        })
        .map_err(|e| io_err(src, e))?;
        if let Some(e) = failed.take() {
            // A write error names the checkpoint's segment; a record error the source.
            let at = if e.kind() == io::ErrorKind::InvalidData {
                src
            } else {
                &seg0
            };
            return Err(io_err(at, e));
        }
        if let Some(c) = scan.corruption {
            return Err(io_err(
                src,
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "corrupt at offset {} ({}); repair the WAL before checkpointing",
                        c.at, c.reason
                    ),
                ),
            ));
        }
    }
    if !batch.is_empty() {
        let recs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
        w.log(&recs).map_err(|e| io_err(&seg0, e))?;
    }
    w.sync().map_err(|e| io_err(&seg0, e))?;
    Ok(stats)
}
