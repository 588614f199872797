//! Replay: reads a WAL directory's segments in order and rebuilds a `Head` from them
//! (series records create series under their refs, sample records append), and repairs
//! what it cannot read. A segment that stops being valid is cut at the end of its last
//! good record (the cut bytes are kept beside it as `NNNNNNNN.corrupt`, which Prometheus
//! ignores), the repair is logged with segment and offset and listed in the
//! `ReplayReport`, and replay goes on with the next segment. `Wal::replay` and the
//! read-only `replay_dir` use it.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::WalError;
use super::checkpoint::last_checkpoint;
use super::reader::{Corruption, scan_segment};
use super::record::{self, Record};
use super::segment::list_segments;
use crate::storage::SeriesRef;
use crate::tsdb::commit::CommitBatch;
use crate::tsdb::head::Head;

/// One damaged segment: where it stopped being valid and what was done about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    pub segment: u32,
    pub path: PathBuf,
    /// The segment was the last one replayed (a torn or corrupt tail) rather than one in
    /// the middle of the log.
    pub tail: bool,
    /// End of the last good record: the file is cut here.
    pub offset: u64,
    /// Where the damage was found.
    pub found_at: u64,
    /// Bytes after `offset` that replay could not use.
    pub dropped_bytes: u64,
    /// The segment ended inside a write (a crash) rather than holding bad bytes.
    pub torn: bool,
    pub reason: String,
    /// The file was truncated at `offset` (false in read-only replay).
    pub truncated: bool,
}

impl std::fmt::Display for Repair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at offset {}: {} ({} bytes after offset {} {})",
            self.path.display(),
            self.found_at,
            self.reason,
            self.dropped_bytes,
            self.offset,
            if self.truncated { "cut off" } else { "skipped" }
        )
    }
}

/// What a replay read, applied and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Segments read, first and last index (None when there were none).
    pub segments: Option<(u32, u32)>,
    /// The checkpoint read before the segments (its index), if there was one.
    pub checkpoint: Option<u32>,
    pub records: u64,
    pub series: u64,
    pub samples: u64,
    /// Samples not applied: unknown series ref, out of order or duplicate.
    pub dropped_samples: u64,
    /// Tombstone intervals read and applied to the head.
    pub tombstones: u64,
    /// Records kmon does not replay: other types, or contents that do not decompress or
    /// decode.
    pub skipped_records: u64,
    pub repairs: Vec<Repair>,
}

/// Replays the segments of `dir` with an index below `upto` (all when `None`) into
/// `head`. With `repair`, damaged segments are cut at their last good record; without, they
/// are only reported (read-only use). Errors are I/O errors only.
pub fn replay_dir(
    dir: &Path,
    head: &Head,
    upto: Option<u32>,
    repair: bool,
) -> Result<ReplayReport, WalError> {
    let io_err = |path: &Path, e: io::Error| WalError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut report = ReplayReport::default();
    let mut aliases: HashMap<SeriesRef, SeriesRef> = HashMap::new();
    let mut segs = list_segments(dir).map_err(|e| io_err(dir, e))?;
    // The newest checkpoint holds what the segments up to its index held; read it first
    // and then only the segments after it. A checkpoint is never cut, only reported.
    if let Some((ci, cdir)) = last_checkpoint(dir).map_err(|e| io_err(dir, e))? {
        report.checkpoint = Some(ci);
        let csegs = list_segments(&cdir).map_err(|e| io_err(&cdir, e))?;
        replay_segments(&cdir, &csegs, head, &mut aliases, &mut report, false)?;
        segs.retain(|(i, _)| *i > ci);
    }
    if let Some(u) = upto {
        segs.retain(|(i, _)| *i < u);
    }
    if let (Some(first), Some(last)) = (segs.first(), segs.last()) {
        report.segments = Some((first.0, last.0));
    }
    replay_segments(dir, &segs, head, &mut aliases, &mut report, repair)?;
    Ok(report)
}

/// Replays `segs` (of `dir`) in order into `head`, adding to `report`.
fn replay_segments(
    dir: &Path,
    segs: &[(u32, PathBuf)],
    head: &Head,
    aliases: &mut HashMap<SeriesRef, SeriesRef>,
    report: &mut ReplayReport,
    repair: bool,
) -> Result<(), WalError> {
    let io_err = |path: &Path, e: io::Error| WalError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let Some(&(last_index, _)) = segs.last() else {
        return Ok(());
    };
    let mut prev: Option<u32> = None;
    for (index, path) in segs {
        if let Some(p) = prev
            && p + 1 != *index
        {
            tracing::warn!(after = p, next = index, dir = %dir.display(), "WAL segments are not sequential");
        }
        prev = Some(*index);
        let scan = scan_segment(path, |frame| {
            report.records += 1;
            let bytes = match frame.record() {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(segment = index, offset = frame.offset, error = %e, "WAL record does not decompress; skipped");
                    report.skipped_records += 1;
                    return;
                }
            };
            match record::decode(&bytes) {
                Ok(Record::Series(series)) => {
                    report.series += series.len() as u64;
                    head.replay_batch(
                        CommitBatch {
                            series: &series,
                            samples: &[],
                        },
                        aliases,
                    );
                }
                Ok(Record::Samples(samples)) => {
                    report.samples += samples.len() as u64;
                    report.dropped_samples += head.replay_batch(
                        CommitBatch {
                            series: &[],
                            samples: &samples,
                        },
                        aliases,
                    );
                }
                Ok(Record::Tombstones(t)) => {
                    report.tombstones += t.len() as u64;
                    for stone in &t {
                        let r = aliases.get(&stone.r).copied().unwrap_or(stone.r);
                        head.delete_range(r, stone.mint, stone.maxt);
                    }
                }
                Ok(Record::Other(_)) => report.skipped_records += 1,
                Err(e) => {
                    tracing::warn!(segment = index, error = %e, "WAL record with a valid frame does not decode; skipped");
                    report.skipped_records += 1;
                }
            }
        })
        .map_err(|e| io_err(path, e))?;
        if let Some(c) = scan.corruption {
            let r = handle_corruption(*index, path, *index == last_index, scan.len, c, repair)
                .map_err(|e| io_err(path, e))?;
            report.repairs.push(r);
        }
    }
    Ok(())
}

fn handle_corruption(
    segment: u32,
    path: &Path,
    tail: bool,
    len: u64,
    c: Corruption,
    repair: bool,
) -> io::Result<Repair> {
    let mut r = Repair {
        segment,
        path: path.to_path_buf(),
        tail,
        offset: c.good_until,
        found_at: c.at,
        dropped_bytes: len.saturating_sub(c.good_until),
        torn: c.torn,
        reason: c.reason,
        truncated: false,
    };
    if repair {
        quarantine(path, c.good_until)?;
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(c.good_until)?;
        f.sync_all()?;
        r.truncated = true;
    }
    tracing::warn!(
        segment,
        offset = r.offset,
        found_at = r.found_at,
        dropped_bytes = r.dropped_bytes,
        tail,
        truncated = r.truncated,
        reason = %r.reason,
        "WAL segment damaged: {}",
        if r.truncated { "cut at the last good record" } else { "records after the damage skipped" }
    );
    Ok(r)
}

/// Copies the bytes of `path` from `from` on to `path.corrupt` before a repair cuts them.
fn quarantine(path: &Path, from: u64) -> io::Result<()> {
    let mut src = std::fs::File::open(path)?;
    src.seek(SeekFrom::Start(from))?;
    let mut name = path.as_os_str().to_owned();
    name.push(".corrupt");
    let mut dst = std::fs::File::create(PathBuf::from(name))?;
    io::copy(&mut src.by_ref(), &mut dst)?;
    dst.sync_all()
}
