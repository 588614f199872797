//! The write-ahead log: every committed batch is written to `wal/` before the head applies
//! it, in Prometheus's own WAL format (segments of 32 KiB pages of CRC-framed record
//! fragments; series and samples records as `tsdb/record` encodes them), so a Prometheus
//! started on a copy of the data dir replays it. `Wal` implements the head's `CommitLog`;
//! the app opens it, replays it into a fresh `Head`, and then hands it to the head.
//!
//! Files: `segment` (framing, writer, segment names), `reader` (reads and validates a
//! segment), `record` (record contents), `replay` (rebuilds a head from the newest
//! checkpoint and the segments after it, repairs damage), `checkpoint` (writes
//! `checkpoint.NNNNNNNN/` and deletes the segments it replaces), `follow` (`WalFollow`,
//! which tails the log while it is written, for remote_write) over `tail` (reads one
//! segment record by record while it may still grow).
//!
//! Use:
//! ```text
//! let wal = Arc::new(Wal::open(&dir.join("wal"), WalOptions::default())?);
//! let head = Head::new(HeadOptions { commit_log: Some(wal.clone()), ..Default::default() });
//! let report = wal.replay(&head)?; // before the first commit
//! ```

mod checkpoint;
mod follow;
mod reader;
pub mod record;
mod replay;
mod segment;
mod tail;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub use checkpoint::{
    CheckpointStats, checkpoint, checkpoint_name, last_checkpoint, list_checkpoints,
    remove_checkpoint_tmps,
};
pub use follow::WalFollow;
pub use reader::{Codec, Corruption, Frame, MAX_DECODED_RECORD, Scan, scan_segment};
pub use record::Tombstone;
pub use replay::{Repair, ReplayReport, replay_dir};
pub use segment::{DEFAULT_SEGMENT_SIZE, PAGE_SIZE, list_segments, segment_name};

use super::commit::{CommitBatch, CommitLog};
use super::head::Head;
use super::metrics::WalCounters;
use crate::storage::StorageError;
use segment::SegmentWriter;

/// When the WAL fsyncs. Every commit is written through to the OS regardless, so only a
/// machine crash (not a process crash) can lose unsynced commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// fsync on every commit.
    Always,
    /// fsync at least this often: on the commit that crosses the deadline, and from a
    /// background thread when commits stop.
    Every(Duration),
    /// Never fsync (the OS writes back when it likes); for tests and throwaway data.
    Never,
}

#[derive(Debug, Clone, Copy)]
pub struct WalOptions {
    /// Segment size in bytes (rounded down to whole pages; Prometheus: 128 MiB).
    pub segment_size: u64,
    pub sync: SyncPolicy,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
            sync: SyncPolicy::Every(Duration::from_secs(1)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("WAL {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

struct Inner {
    w: SegmentWriter,
    series_buf: Vec<u8>,
    samples_buf: Vec<u8>,
    /// Written since the last fsync.
    dirty: bool,
    last_sync: Instant,
}

/// The WAL of one data dir's head. Writes go to a new segment after the ones that existed
/// when it was opened; `replay` reads those.
pub struct Wal {
    dir: PathBuf,
    opts: WalOptions,
    /// Segments below this index existed before this process opened the WAL.
    first_new: u32,
    inner: Arc<Mutex<Inner>>,
    counters: Arc<WalCounters>,
    /// Dropping the sender stops the background flusher.
    _flusher: Option<mpsc::Sender<()>>,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .field("opts", &self.opts)
            .finish()
    }
}

impl Wal {
    /// Opens the WAL in `dir` (created if missing) and starts a new segment after the
    /// existing ones, which it does not touch until `replay`.
    pub fn open(dir: &Path, opts: WalOptions) -> Result<Wal, WalError> {
        let err = |e| WalError::Io {
            path: dir.to_path_buf(),
            source: e,
        };
        std::fs::create_dir_all(dir).map_err(err)?;
        remove_checkpoint_tmps(dir).map_err(err)?;
        let segs = list_segments(dir).map_err(err)?;
        // New segments go after the existing ones and after the newest checkpoint (whose
        // segments were deleted), so replay never mistakes them for checkpointed ones.
        let newest = segs
            .last()
            .map(|(i, _)| *i)
            .max(last_checkpoint(dir).map_err(err)?.map(|(i, _)| i));
        let first_new = match newest {
            Some(i) => i
                .checked_add(1)
                .ok_or_else(|| err(std::io::Error::other("WAL segment numbers exhausted")))?,
            None => 0,
        };
        let w = SegmentWriter::create(dir, first_new, opts.segment_size).map_err(err)?;
        let inner = Arc::new(Mutex::new(Inner {
            w,
            series_buf: Vec::new(),
            samples_buf: Vec::new(),
            dirty: false,
            last_sync: Instant::now(),
        }));
        let counters = Arc::new(WalCounters::default());
        let flusher = match opts.sync {
            SyncPolicy::Every(d) => {
                Some(spawn_flusher(Arc::downgrade(&inner), counters.clone(), d))
            }
            _ => None,
        };
        Ok(Wal {
            dir: dir.to_path_buf(),
            opts,
            first_new,
            inner,
            counters,
            _flusher: flusher,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Failed writes, fsyncs and the current write error, for the TSDB's metrics.
    pub fn counters(&self) -> &WalCounters {
        &self.counters
    }

    /// Tests: let only `space` more bytes be written (None: no limit), as a full disk.
    #[cfg(test)]
    pub(crate) fn set_test_space(&self, space: Option<u64>) {
        self.inner.lock().w.space = space;
    }

    /// Tests: make cutting a failed write off fail too.
    #[cfg(test)]
    pub(crate) fn set_test_fail_truncate(&self, fail: bool) {
        self.inner.lock().w.fail_truncate = fail;
    }

    /// fsyncs the segment being written, timed and counted.
    fn timed_sync(&self, g: &Inner) -> std::io::Result<()> {
        let start = Instant::now();
        let r = g.w.sync();
        self.counters.fsynced(start.elapsed(), r.is_ok());
        r
    }

    /// Replays the newest checkpoint and then the segments that existed when the WAL was
    /// opened into `head` (which should be empty; call before the first commit),
    /// repairing damaged segments.
    pub fn replay(&self, head: &Head) -> Result<ReplayReport, WalError> {
        replay_dir(&self.dir, head, Some(self.first_new), true)
    }

    /// Checkpoints the segments up to `upto` (see `checkpoint`), which must all be older
    /// than the segment being written; the data dir calls this after cutting a block,
    /// with `keep` = the series still in the head and `mint` = the head's new min time.
    pub fn checkpoint(
        &self,
        upto: u32,
        keep: impl Fn(crate::storage::SeriesRef) -> bool,
        mint: i64,
    ) -> Result<CheckpointStats, WalError> {
        let current = self.inner.lock().w.index();
        if upto >= current {
            return Err(WalError::Io {
                path: self.dir.join(segment_name(upto)),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("cannot checkpoint up to segment {upto} while writing {current}"),
                ),
            });
        }
        checkpoint(&self.dir, upto, keep, mint)
    }

    /// Logs deleted intervals (a tombstones record).
    pub fn log_tombstones(&self, stones: &[Tombstone]) -> Result<(), WalError> {
        let mut buf = Vec::new();
        record::encode_tombstones(stones, &mut buf);
        let mut g = self.inner.lock();
        let r = g.w.log(&[&buf]);
        self.after_write(&mut g, r)
    }

    /// fsyncs what has been written.
    pub fn sync(&self) -> Result<(), WalError> {
        let mut g = self.inner.lock();
        let r = self.timed_sync(&g);
        if r.is_ok() {
            g.dirty = false;
            g.last_sync = Instant::now();
        }
        r.map_err(|e| self.io_err(&g, e))
    }

    /// The segment being written and the bytes written to it.
    pub fn position(&self) -> (u32, u64) {
        let g = self.inner.lock();
        (g.w.index(), g.w.offset())
    }

    fn io_err(&self, g: &Inner, e: std::io::Error) -> WalError {
        WalError::Io {
            path: self.dir.join(segment_name(g.w.index())),
            source: e,
        }
    }

    /// After a write: the error, or the fsync the policy asks for.
    fn after_write(&self, g: &mut Inner, r: std::io::Result<()>) -> Result<(), WalError> {
        r.map_err(|e| self.io_err(g, e))?;
        g.dirty = true;
        let due = match self.opts.sync {
            SyncPolicy::Always => true,
            SyncPolicy::Every(d) => g.last_sync.elapsed() >= d,
            SyncPolicy::Never => false,
        };
        if due {
            self.timed_sync(g).map_err(|e| self.io_err(g, e))?;
            g.dirty = false;
            g.last_sync = Instant::now();
        }
        Ok(())
    }
}

impl Drop for Wal {
    /// fsyncs what is still unsynced (unless the policy is `Never`).
    fn drop(&mut self) {
        let g = self.inner.lock();
        if g.dirty && self.opts.sync != SyncPolicy::Never {
            let _ = g.w.sync();
        }
    }
}

impl CommitLog for Wal {
    /// Writes the batch's new series (one series record) and its samples (one samples
    /// record) in one write, then fsyncs if the policy says so.
    fn log(&self, batch: &CommitBatch<'_>) -> Result<(), StorageError> {
        let mut g = self.inner.lock();
        let g = &mut *g;
        g.series_buf.clear();
        g.samples_buf.clear();
        if !batch.series.is_empty() {
            record::encode_series(batch.series, &mut g.series_buf);
        }
        if !batch.samples.is_empty() {
            record::encode_samples(batch.samples, &mut g.samples_buf);
        }
        let recs: Vec<&[u8]> = [&g.series_buf[..], &g.samples_buf[..]]
            .into_iter()
            .filter(|b| !b.is_empty())
            .collect();
        if recs.is_empty() {
            return Ok(());
        }
        let r = g.w.log(&recs);
        match self.after_write(g, r) {
            Ok(()) => {
                self.counters.write_ok();
                Ok(())
            }
            Err(WalError::Io { path, source }) => {
                let msg = format!("WAL {}: {source}", path.display());
                self.counters.write_failed(msg.clone());
                Err(StorageError::Io(std::io::Error::new(source.kind(), msg)))
            }
        }
    }
}

/// fsyncs the WAL every `every` when something was written and no commit did it; ends
/// when the `Wal` is dropped (its sender closes) or gone.
fn spawn_flusher(
    inner: Weak<Mutex<Inner>>,
    counters: Arc<WalCounters>,
    every: Duration,
) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    let every = every.max(Duration::from_millis(1));
    let spawned = std::thread::Builder::new()
        .name("kmon-wal-sync".into())
        .spawn(move || {
            loop {
                match rx.recv_timeout(every) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                let Some(inner) = inner.upgrade() else { return };
                // Take a handle and sync outside the lock, so commits are not held up.
                let file: Option<File> = {
                    let mut g = inner.lock();
                    if g.dirty && g.last_sync.elapsed() >= every {
                        g.dirty = false;
                        g.last_sync = Instant::now();
                        g.w.file_handle().ok()
                    } else {
                        None
                    }
                };
                if let Some(f) = file {
                    let start = Instant::now();
                    let r = f.sync_data();
                    counters.fsynced(start.elapsed(), r.is_ok());
                    if let Err(e) = r {
                        tracing::warn!(error = %e, "WAL background fsync failed");
                        inner.lock().dirty = true;
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "WAL flusher thread not started; fsync only on commits");
    }
    tx
}

#[cfg(test)]
mod follow_tests;
#[cfg(test)]
mod tests;
