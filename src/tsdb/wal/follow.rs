//! Follows a WAL directory while the TSDB writes it: `WalFollow` is the TSDB's
//! `storage::WalFollower`, which remote_write's queue reads its samples from (through
//! `WalSource for Db`). It first reports the series named before its starting position
//! (from the newest checkpoint and the older segments), then every series and samples
//! record from the position on, segment after segment, as Prometheus's WAL watcher does.
//!
//! Behaviour at the edges:
//! - The live segment (the newest) may end inside a record the writer has not finished:
//!   the follower waits and reads it again, never reporting it as corrupt. A segment is
//!   known to be finished once a later segment exists (the writer pads and syncs a segment
//!   before it creates the next), so its end moves the follower on to the next one.
//! - Bad bytes, or a torn record in a finished segment, are an error naming the segment
//!   file and offset; the follower stays where it was (calling `next` again retries).
//!   In the live segment bad bytes are first re-read for a moment, in case they were
//!   caught mid-write.
//! - A checkpoint that deleted the segments the follower was going to read gives a
//!   `WalEvent::Gap` from where it was to the oldest remaining segment, followed by the
//!   checkpoint's series (so later samples can still be labelled).
//! - Compressed records (snappy, zstd: a Prometheus WAL) are decoded; tombstones and
//!   record types kmon does not write are skipped. Series ids are the WAL's series refs.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::checkpoint::last_checkpoint;
use super::reader::scan_segment;
use super::record::{self, Record, TYPE_SERIES};
use super::segment::{list_segments, segment_name};
use super::tail::{SegmentTail, Step};
use crate::model::Labels;
use crate::storage::{StorageError, WalEvent, WalFollower, WalPosition, WalSample};

/// Series per `WalEvent::Series` when reporting what came before the start.
const SERIES_CHUNK: usize = 10_000;
/// How long bad bytes at the tail of the live segment are re-read before they are an error.
const LIVE_CORRUPT_GRACE: Duration = Duration::from_secs(1);
/// How often, at most, the directory is listed to find a later segment than `seg + 1`.
const RELIST_EVERY: Duration = Duration::from_secs(1);
/// Polling intervals while waiting for the writer.
const POLL_MIN: Duration = Duration::from_millis(2);
const POLL_MAX: Duration = Duration::from_millis(50);

/// Follows the WAL in one directory. See the module docs.
pub struct WalFollow {
    dir: PathBuf,
    /// Events decided but not yet handed out.
    pending: VecDeque<(WalPosition, WalEvent)>,
    /// The segment being read and the offset of its next record.
    seg: u32,
    off: u64,
    tail: Option<SegmentTail>,
    /// The last listing that looked for a segment after `seg`.
    listed: Option<(u32, Instant)>,
    /// Bad bytes seen at the tail of the live segment: (segment, offset, first seen).
    live_corrupt: Option<(u32, u64, Instant)>,
    /// The current wait between polls; grows while nothing comes, across `next` calls.
    nap: Duration,
}

impl std::fmt::Debug for WalFollow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalFollow")
            .field("dir", &self.dir)
            .field("position", &self.position())
            .finish()
    }
}

fn invalid(msg: String) -> StorageError {
    StorageError::Io(io::Error::new(io::ErrorKind::InvalidData, msg))
}

fn io_at(path: &Path, e: io::Error) -> StorageError {
    StorageError::Io(io::Error::new(
        e.kind(),
        format!("WAL {}: {e}", path.display()),
    ))
}

fn push_series(
    out: &mut VecDeque<(WalPosition, WalEvent)>,
    pos: WalPosition,
    series: Vec<(u64, Labels)>,
) {
    let mut it = series.into_iter().peekable();
    while it.peek().is_some() {
        let chunk: Vec<_> = it.by_ref().take(SERIES_CHUNK).collect();
        out.push_back((pos, WalEvent::Series(chunk)));
    }
}

/// The series records of a decoded-or-not record's bytes, if it is one.
fn series_of(bytes: &[u8]) -> Result<Option<Vec<(u64, Labels)>>, String> {
    if bytes.first() != Some(&TYPE_SERIES) {
        return Ok(None);
    }
    match record::decode(bytes) {
        Ok(Record::Series(s)) => Ok(Some(s.into_iter().map(|s| (s.r, s.labels)).collect())),
        Ok(_) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// The series of every series record in the finished segment at `path`.
fn segment_series(path: &Path, out: &mut Vec<(u64, Labels)>) -> Result<(), StorageError> {
    let mut bad: Option<(u64, String)> = None;
    let scan = scan_segment(path, |frame| {
        if bad.is_some() {
            return;
        }
        let got = frame.record().and_then(|b| series_of(&b));
        match got {
            Ok(Some(s)) => out.extend(s),
            Ok(None) => {}
            Err(e) => bad = Some((frame.offset, e)),
        }
    })
    .map_err(|e| io_at(path, e))?;
    if let Some(c) = scan.corruption {
        bad = bad.or(Some((c.at, c.reason)));
    }
    match bad {
        Some((at, reason)) => Err(invalid(format!(
            "WAL {} offset {at}: {reason}",
            path.display()
        ))),
        None => Ok(()),
    }
}

/// The series of the newest checkpoint whose index is at least `min` (none if there is
/// no such checkpoint). A checkpoint replaced while it is read is read again.
fn checkpoint_series(dir: &Path, min: u32) -> Result<Vec<(u64, Labels)>, StorageError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let Some((i, cdir)) = last_checkpoint(dir).map_err(|e| io_at(dir, e))? else {
            return Ok(Vec::new());
        };
        if i < min {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let segs = list_segments(&cdir).map_err(|e| io_at(&cdir, e))?;
        let r = segs
            .iter()
            .try_for_each(|(_, p)| segment_series(p, &mut out));
        match r {
            Ok(()) => return Ok(out),
            Err(StorageError::Io(e)) if e.kind() == io::ErrorKind::NotFound && attempts < 3 => {}
            Err(e) => return Err(e),
        }
    }
}

impl WalFollow {
    /// A follower of the WAL in `dir` (see `storage::WalSource::follow`): reads, now, the
    /// series named before `from` (before the end of the log when `None`), which the
    /// first events report, and then follows the log from `from` (or that end).
    pub fn open(dir: &Path, from: Option<WalPosition>) -> Result<WalFollow, StorageError> {
        // A checkpoint may delete a segment between listing and reading it: look again.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match Self::open_once(dir, from) {
                Err(StorageError::Io(e)) if e.kind() == io::ErrorKind::NotFound && attempts < 3 => {
                }
                r => return r,
            }
        }
    }

    fn open_once(dir: &Path, from: Option<WalPosition>) -> Result<WalFollow, StorageError> {
        let ck = last_checkpoint(dir).map_err(|e| io_at(dir, e))?;
        let after_ck = ck.as_ref().map_or(0, |(i, _)| i.saturating_add(1));
        let segs: Vec<(u32, PathBuf)> = list_segments(dir)
            .map_err(|e| io_at(dir, e))?
            .into_iter()
            .filter(|(i, _)| *i >= after_ck)
            .collect();
        let target = match from {
            Some(p) => p.segment,
            None => segs.last().map_or(after_ck, |(i, _)| *i),
        };
        let exists = segs.iter().any(|(i, _)| *i == target);
        let mut series = Vec::new();
        // A start in deleted segments gives a gap, which reports the checkpoint's series.
        let gone = from.is_some() && !exists && segs.iter().any(|(i, _)| *i > target);
        if !gone {
            series = checkpoint_series(dir, 0)?;
        }
        for (_, p) in segs.iter().filter(|(i, _)| *i < target) {
            segment_series(p, &mut series)?;
        }
        let mut f = WalFollow {
            dir: dir.to_path_buf(),
            pending: VecDeque::new(),
            seg: target,
            off: from.map_or(0, |p| p.offset),
            tail: None,
            listed: None,
            live_corrupt: None,
            nap: POLL_MIN,
        };
        if exists {
            let path = dir.join(segment_name(target));
            let mut t = SegmentTail::open(&path, 0).map_err(|e| io_at(&path, e))?;
            let stop = from.map_or(u64::MAX, |p| p.offset);
            while let Step::Record { start, .. } = t.step().map_err(|e| io_at(&path, e))? {
                if start >= stop {
                    break;
                }
                let got = t.frame(start).record().and_then(|b| series_of(&b));
                match got {
                    Ok(Some(s)) => series.extend(s),
                    Ok(None) => {}
                    Err(e) => {
                        return Err(invalid(format!(
                            "WAL {} offset {start}: {e}",
                            path.display()
                        )));
                    }
                }
                if t.offset() >= stop {
                    break;
                }
            }
            if from.is_none() {
                // The end of the log: the last complete record of the newest segment.
                f.off = t.offset();
                f.tail = Some(t);
            }
        }
        let at = f.position();
        push_series(&mut f.pending, at, series);
        Ok(f)
    }

    /// Where the follower is: the offset of the next record it will read.
    pub fn position(&self) -> WalPosition {
        WalPosition {
            segment: self.seg,
            offset: self.off,
        }
    }

    /// The segment after `seg`, if one exists: `seg + 1`, else (listing the directory at
    /// most every `RELIST_EVERY` unless `now`) the oldest one after it.
    fn next_segment(&mut self, now: bool) -> Result<Option<u32>, StorageError> {
        let Some(n) = self.seg.checked_add(1) else {
            return Ok(None);
        };
        if self.dir.join(segment_name(n)).is_file() {
            return Ok(Some(n));
        }
        if !now
            && let Some((s, at)) = self.listed
            && s == self.seg
            && at.elapsed() < RELIST_EVERY
        {
            return Ok(None);
        }
        self.listed = Some((self.seg, Instant::now()));
        let segs = list_segments(&self.dir).map_err(|e| io_at(&self.dir, e))?;
        Ok(segs.into_iter().map(|(i, _)| i).find(|&i| i > self.seg))
    }

    /// Moves to segment `next`: a gap (and the checkpoint's series) when segments were
    /// skipped or when `lost` (the rest of the current one is gone).
    fn move_to(&mut self, next: u32, lost: bool) -> Result<(), StorageError> {
        let from = self.position();
        self.seg = next;
        self.off = 0;
        self.tail = None;
        self.live_corrupt = None;
        if lost || Some(next) != from.segment.checked_add(1) {
            self.gap(from)?;
        }
        Ok(())
    }

    fn gap(&mut self, from: WalPosition) -> Result<(), StorageError> {
        let to = self.position();
        tracing::warn!(%from, %to, dir = %self.dir.display(), "WAL truncated past the follower: records skipped");
        self.pending.push_back((to, WalEvent::Gap { from, to }));
        let series = checkpoint_series(&self.dir, from.segment)?;
        push_series(&mut self.pending, to, series);
        Ok(())
    }

    /// The next event if one can be had without waiting.
    fn poll(&mut self) -> Result<Option<(WalPosition, WalEvent)>, StorageError> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Ok(Some(e));
            }
            let path = self.dir.join(segment_name(self.seg));
            if self.tail.is_none() {
                match SegmentTail::open(&path, self.off) {
                    Ok(t) => {
                        let len = t.len().map_err(|e| io_at(&path, e))?;
                        if self.off > len {
                            // Cut shorter than the position (a repair after a crash).
                            match self.next_segment(true)? {
                                Some(n) => {
                                    self.move_to(n, true)?;
                                    continue;
                                }
                                None => {
                                    return Err(invalid(format!(
                                        "WAL {}: position {} is past the end ({len} bytes) of the segment being written",
                                        path.display(),
                                        self.off
                                    )));
                                }
                            }
                        }
                        self.tail = Some(t);
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        match self.next_segment(true)? {
                            // Deleted by a checkpoint: on to the oldest segment left.
                            Some(n) => {
                                self.move_to(n, true)?;
                                continue;
                            }
                            // Not written yet.
                            None => return Ok(None),
                        }
                    }
                    Err(e) => return Err(io_at(&path, e)),
                }
            }
            let Some(t) = self.tail.as_mut() else {
                return Ok(None);
            };
            let mut step = t.step().map_err(|e| io_at(&path, e))?;
            // Where the segment stops, whether it is finished decides: the writer
            // completes a segment before it creates the next, so once a later segment
            // is seen, one more read gives the segment's true end.
            let mut next = None;
            if !matches!(step, Step::Record { .. }) {
                next = self.next_segment(false)?;
                if next.is_some()
                    && let Some(t) = self.tail.as_mut()
                {
                    step = t.step().map_err(|e| io_at(&path, e))?;
                }
            }
            let Some(t) = self.tail.as_mut() else {
                return Ok(None);
            };
            match step {
                Step::Record { start, end } => {
                    self.live_corrupt = None;
                    let ev = decode_event(t, start).map_err(|e| {
                        invalid(format!(
                            "WAL {} (segment {}) offset {start}: {e}",
                            path.display(),
                            self.seg
                        ))
                    })?;
                    self.off = end;
                    if let Some(ev) = ev {
                        return Ok(Some((self.position(), ev)));
                    }
                }
                Step::End => {
                    self.off = t.offset();
                    match next {
                        Some(n) => self.move_to(n, false)?,
                        None => return Ok(None),
                    }
                }
                Step::Torn { at, reason } => {
                    if next.is_none() {
                        return Ok(None);
                    }
                    return Err(invalid(format!(
                        "WAL {} (segment {}) offset {at}: {reason} (and the segment is finished)",
                        path.display(),
                        self.seg
                    )));
                }
                Step::Corrupt { at, reason } => {
                    if next.is_none() {
                        let first = match self.live_corrupt {
                            Some((s, a, since)) if s == self.seg && a == at => since,
                            _ => Instant::now(),
                        };
                        self.live_corrupt = Some((self.seg, at, first));
                        if first.elapsed() < LIVE_CORRUPT_GRACE {
                            if let Some(t) = self.tail.as_mut() {
                                t.reset();
                            }
                            return Ok(None);
                        }
                    }
                    return Err(invalid(format!(
                        "WAL {} (segment {}) offset {at}: {reason}",
                        path.display(),
                        self.seg
                    )));
                }
            }
        }
    }
}

/// The event of the record `t` just read (None for records not followed).
fn decode_event(t: &SegmentTail, start: u64) -> Result<Option<WalEvent>, String> {
    let bytes = t.frame(start).record()?;
    Ok(match record::decode(&bytes).map_err(|e| e.to_string())? {
        Record::Series(s) => Some(WalEvent::Series(
            s.into_iter().map(|s| (s.r, s.labels)).collect(),
        )),
        Record::Samples(s) if !s.is_empty() => Some(WalEvent::Samples(
            s.into_iter()
                .map(|s| WalSample {
                    series: s.r,
                    t: s.t,
                    v: s.v,
                })
                .collect(),
        )),
        _ => None,
    })
}

impl WalFollower for WalFollow {
    fn next(&mut self, wait: Duration) -> Result<Option<(WalPosition, WalEvent)>, StorageError> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(e) = self.poll()? {
                self.nap = POLL_MIN;
                return Ok(Some(e));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            std::thread::sleep(self.nap.min(deadline - now));
            self.nap = (self.nap * 2).min(POLL_MAX);
        }
    }
}
