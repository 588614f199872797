//! `Db`: the persistent TSDB of one data dir, laid out as Prometheus lays out its own: the
//! `lock` file, one `<ULID>/` directory per block and the write-ahead log in `wal/`. It
//! opens the blocks (quarantining the ones that fail to open), replays the WAL into a
//! fresh head, takes appends through the head (logged to the WAL first), answers queries
//! across the head and every overlapping block (`merge`), cuts the head's oldest data into
//! blocks and applies retention (`cut`, also run by a background thread); `admin` adds
//! series deletion, tombstone cleaning and snapshots. Read-only, it
//! takes no lock and writes nothing into the dir, so it can browse a Prometheus data dir or
//! snapshot. The app opens one `Db` for the TUI, `kmon serve` and `export-screen`.

mod admin;
mod follow;
mod merge;
mod open;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

pub use admin::{
    DeleteReport, SNAPSHOTS_DIR, SnapshotProgress, SnapshotReport, is_vanished, snapshot_name,
};

use super::block::{Block, BlockError, series_from_head, write_block};
use super::lock::{DirLock, LockError};
use super::metrics::{DbCounters, WalCounters};
use super::wal::{ReplayReport, Wal, WalError, WalOptions, replay_dir};
use super::{Head, HeadOptions};
use crate::model::Labels;
use crate::storage::{Appendable, Appender, Querier, Queryable, SeriesRef, StorageError};
use open::open_blocks;

/// The WAL's directory inside the data dir (Prometheus's too).
pub const WAL_DIR: &str = "wal";

/// Suffix given to a block directory that failed to open. Prometheus only loads
/// directories named exactly by a ULID, so it ignores these too.
pub const CORRUPT_SUFFIX: &str = ".corrupt";

const HOUR_MS: i64 = 3600 * 1000;

/// How a `Db` is set up.
#[derive(Debug, Clone, Copy)]
pub struct DbOptions {
    /// The span of a block cut from the head, and of the head's chunks (Prometheus: 2h).
    pub block_range_ms: i64,
    /// Blocks whose data ends this long before the newest data are deleted.
    pub retention_ms: i64,
    /// The oldest blocks are deleted while all blocks together are larger than this.
    pub retention_bytes: Option<u64>,
    pub wal: WalOptions,
    /// No lock, no writes into the dir, no appends.
    pub read_only: bool,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            block_range_ms: 2 * HOUR_MS,
            retention_ms: 7 * 24 * HOUR_MS,
            retention_bytes: None,
            wal: WalOptions::default(),
            read_only: false,
        }
    }
}

/// Why a data dir could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error(transparent)]
    Block(#[from] BlockError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A write (delete, clean tombstones) asked of a data dir opened read-only.
    #[error("the data dir is open read-only")]
    ReadOnly,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DbError + '_ {
    move |source| DbError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A block directory that could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    pub dir: PathBuf,
    /// Where it was moved (`None` when read-only, or when the move failed).
    pub moved_to: Option<PathBuf>,
    pub error: String,
}

/// What opening the data dir found, repaired or dropped.
#[derive(Debug, Clone, Default)]
pub struct OpenReport {
    pub blocks: usize,
    pub quarantined: Vec<Quarantined>,
    /// Unfinished block directories (`*.tmp*`) removed (not read-only) or skipped.
    pub removed_tmp: Vec<PathBuf>,
    pub wal: ReplayReport,
}

/// What one `cut` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CutReport {
    /// Blocks written, by ULID.
    pub written: Vec<String>,
    /// Blocks compacted into bigger ones: (the new block, the blocks it replaced).
    pub compacted: Vec<(String, Vec<String>)>,
    /// The WAL segment a checkpoint replaced everything up to, if one was made.
    pub checkpoint: Option<u32>,
    /// Blocks deleted by retention, by ULID.
    pub deleted: Vec<String>,
}

/// Compactions one maintenance pass does at most (each plan is acted on before the next).
const MAX_COMPACTIONS_PER_PASS: usize = 16;

/// The largest block compaction builds: a tenth of the retention, at most 31 days (as
/// Prometheus).
fn max_block_range(range: i64, retention: i64) -> i64 {
    (retention / 10).clamp(range, 31 * 24 * HOUR_MS)
}

/// The persistent TSDB of one data dir.
pub struct Db {
    dir: PathBuf,
    opts: DbOptions,
    head: Head,
    wal: Option<Arc<Wal>>,
    /// Sorted by min time.
    blocks: RwLock<Vec<Arc<Block>>>,
    report: OpenReport,
    /// One cut or retention pass at a time.
    cutting: Mutex<()>,
    counters: DbCounters,
    /// A WAL checkpoint is owed: the last one after a cut failed.
    checkpoint_due: std::sync::atomic::AtomicBool,
    /// Dropping it stops the background thread.
    stop: Mutex<Option<mpsc::Sender<()>>>,
    _lock: Option<DirLock>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("dir", &self.dir)
            .field("read_only", &self.opts.read_only)
            .field("blocks", &self.blocks.read().len())
            .finish()
    }
}

impl Db {
    /// Opens (creating, unless read-only) the data dir `dir`. See the module docs.
    pub fn open(dir: &Path, opts: DbOptions) -> Result<Db, DbError> {
        let mut report = OpenReport::default();
        let lock = if opts.read_only {
            None
        } else {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
            Some(DirLock::acquire(dir)?)
        };
        let blocks = open_blocks(dir, opts.read_only, &mut report)?;
        report.blocks = blocks.len();
        let mut head_opts = HeadOptions {
            chunk_range_ms: opts.block_range_ms,
            ..HeadOptions::default()
        };
        let wal_dir = dir.join(WAL_DIR);
        let (head, wal) = if opts.read_only {
            let head = Head::new(head_opts);
            if wal_dir.is_dir() {
                report.wal = replay_dir(&wal_dir, &head, None, false)?;
            }
            (head, None)
        } else {
            let wal = Arc::new(Wal::open(&wal_dir, opts.wal)?);
            head_opts.commit_log = Some(wal.clone());
            let head = Head::new(head_opts);
            report.wal = wal.replay(&head)?;
            (head, Some(wal))
        };
        // The WAL (before its next checkpoint) still holds what blocks already have: drop
        // it from the head so it is neither cut twice nor held twice in memory, and so data
        // retention deleted does not come back. As in Prometheus, whose head never goes
        // below the newest block's max time, samples older than that are not kept, even in
        // the window of a block that was set aside as corrupt. Replay above was not bounded
        // (what it brought back from before `max` is dropped here, not counted as out of
        // bounds); from now on, appends older than `max` are refused as out of bounds.
        if let Some(max) = blocks.iter().map(|b| b.meta().max_time).max() {
            head.gc(max);
            head.raise_min_valid_time(max);
        }
        for r in &report.wal.repairs {
            tracing::warn!("WAL repaired: {r}");
        }
        Ok(Db {
            dir: dir.to_path_buf(),
            opts,
            head,
            wal,
            blocks: RwLock::new(blocks),
            report,
            cutting: Mutex::new(()),
            counters: DbCounters::default(),
            checkpoint_due: std::sync::atomic::AtomicBool::new(false),
            stop: Mutex::new(None),
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn options(&self) -> &DbOptions {
        &self.opts
    }

    pub fn is_read_only(&self) -> bool {
        self.opts.read_only
    }

    /// What opening found, repaired or dropped.
    pub fn open_report(&self) -> &OpenReport {
        &self.report
    }

    /// The in-memory head (its stats, its gc).
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// Cuts, compactions, retention and the maintenance pass's last error.
    pub fn counters(&self) -> &DbCounters {
        &self.counters
    }

    /// The WAL's counters (`None` read-only).
    pub fn wal_counters(&self) -> Option<&WalCounters> {
        self.wal.as_deref().map(Wal::counters)
    }

    /// The WAL's directory (`None` read-only).
    pub fn wal_dir(&self) -> Option<PathBuf> {
        self.wal.as_ref().map(|w| w.dir().to_path_buf())
    }

    /// What is failing in storage right now, if anything: the last WAL write (cleared by
    /// the next that succeeds), else the last maintenance pass (cleared by the next
    /// successful one).
    pub fn storage_error(&self) -> Option<String> {
        if let Some(p) = self.wal_counters().and_then(WalCounters::current_error) {
            return Some(p.message);
        }
        self.counters.errors.current().map(|p| p.message)
    }

    /// The `kmon_tsdb_*` metrics in the text format (see `tsdb::metrics`).
    pub fn render_metrics(&self, out: &mut String) {
        super::metrics::render(self, out);
    }

    /// The open blocks, oldest first.
    pub fn blocks(&self) -> Vec<Arc<Block>> {
        self.blocks.read().clone()
    }

    /// Flushes the WAL to disk.
    pub fn sync(&self) -> Result<(), DbError> {
        if let Some(w) = &self.wal {
            w.sync()?;
        }
        Ok(())
    }

    /// The oldest and newest sample times over the head and the blocks.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let blocks = self.blocks.read();
        let b = blocks
            .iter()
            .map(|b| (b.meta().min_time, b.meta().max_time - 1))
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
        match (b, self.head.time_range()) {
            (Some(a), Some(h)) => Some((a.0.min(h.0), a.1.max(h.1))),
            (a, h) => a.or(h),
        }
    }

    /// Corrupt chunks that queries skipped, summed over the blocks open now (see
    /// `Block::corrupt_chunks_seen`; a block that compaction or retention removes takes
    /// its count with it).
    pub fn corrupt_chunks_seen(&self) -> u64 {
        self.blocks
            .read()
            .iter()
            .map(|b| b.corrupt_chunks_seen())
            .sum()
    }

    /// Persists the head's oldest data and applies retention: while the head spans more
    /// than 1.5 block ranges, writes its oldest whole aligned window as a block and drops
    /// that window from memory; then compacts blocks and deletes blocks by time and size
    /// retention. A step that fails leaves what is stored as it was (an unfinished block
    /// dir is removed, the head keeps the window) and is retried on the next pass;
    /// retention still runs, as deleting may free the space that was missing. Failures
    /// are counted and kept as the `storage_error` until a pass succeeds.
    /// Does nothing read-only.
    pub fn cut(&self) -> Result<CutReport, DbError> {
        let mut out = CutReport::default();
        if self.opts.read_only {
            return Ok(out);
        }
        let _one = self.cutting.lock();
        let mut result = self.cut_head(&mut out);
        if result.is_err() {
            self.counters.cuts_failed.fetch_add(1, Relaxed);
        }
        if result.is_ok() && (!out.written.is_empty() || self.checkpoint_due.load(Relaxed)) {
            let r = self.checkpoint_wal();
            self.checkpoint_due.store(r.is_err(), Relaxed);
            result = r.map(|c| out.checkpoint = c);
        }
        if result.is_ok() {
            result = self.compact_blocks(&mut out.compacted);
        }
        let retention = self.apply_retention(&mut out.deleted);
        match result.and(retention) {
            Ok(()) => {
                self.counters.errors.ok();
                Ok(out)
            }
            Err(e) => {
                self.counters.errors.fail(format!("tsdb maintenance: {e}"));
                Err(e)
            }
        }
    }

    /// The head-cutting part of `cut`.
    fn cut_head(&self, out: &mut CutReport) -> Result<(), DbError> {
        let range = self.opts.block_range_ms.max(1);
        while let Some((lo, hi)) = self.head.time_range() {
            if hi.saturating_sub(lo) <= range.saturating_mul(3) / 2 {
                break;
            }
            let a = lo.div_euclid(range).saturating_mul(range);
            let b = a.saturating_add(range);
            // First close the window to appenders: a commit re-checks this under each
            // series' lock, so nothing enters the window after it is read below (where it
            // would be lost by the gc).
            self.head.raise_min_valid_time(b);
            let series = series_from_head(&self.head, a, b);
            if !series.is_empty() {
                let meta = write_block(&self.dir, a, b, series)?;
                let path = self.dir.join(&meta.ulid);
                let block = match Block::open(&path) {
                    Ok(b) => b,
                    Err(e) => {
                        // Not kept half-known: the next pass writes the window again.
                        let _ = delete_block_dir(&path);
                        return Err(e.into());
                    }
                };
                let mut blocks = self.blocks.write();
                blocks.push(Arc::new(block));
                blocks.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
                out.written.push(meta.ulid);
                self.counters.cuts.fetch_add(1, Relaxed);
            }
            self.head.gc(b);
        }
        Ok(())
    }

    /// After a cut, the WAL's older segments hold only data now in blocks: as Prometheus
    /// does, checkpoint the first two thirds of them (the series still in the head, the
    /// samples not yet in a block) so replay and disk stay bounded.
    fn checkpoint_wal(&self) -> Result<Option<u32>, DbError> {
        let Some(wal) = &self.wal else {
            return Ok(None);
        };
        let segs = crate::tsdb::wal::list_segments(wal.dir()).map_err(io_err(wal.dir()))?;
        let (Some((first, _)), current) = (segs.first(), wal.position().0) else {
            return Ok(None);
        };
        let upto = first + current.saturating_sub(*first) * 2 / 3;
        if upto <= *first || upto >= current {
            return Ok(None);
        }
        let mint = self.head.time_range().map_or(i64::MIN, |(lo, _)| lo);
        wal.checkpoint(upto, |r| self.head.has_series(r), mint)
            .map_err(DbError::Wal)?;
        Ok(Some(upto))
    }

    /// Compacts blocks as Prometheus's leveled planner says, one plan at a time, and
    /// deletes the blocks each new block replaces.
    fn compact_blocks(&self, done: &mut Vec<(String, Vec<String>)>) -> Result<(), DbError> {
        use crate::tsdb::compact::{block_ranges, compact, plan};
        let range = self.opts.block_range_ms.max(1);
        let ranges = block_ranges(range, max_block_range(range, self.opts.retention_ms));
        for _ in 0..MAX_COMPACTIONS_PER_PASS {
            let blocks = self.blocks();
            // A deletion rewrites meta.json on disk; the planner must see its count.
            let metas: Vec<_> = blocks
                .iter()
                .map(|b| {
                    let mut m = b.meta().clone();
                    m.stats.num_tombstones = b.num_tombstones();
                    m
                })
                .collect();
            let Some(ulids) = plan(&metas, &ranges) else {
                break;
            };
            let inputs: Vec<Arc<Block>> = blocks
                .iter()
                .filter(|b| ulids.contains(&b.meta().ulid))
                .cloned()
                .collect();
            if inputs.is_empty() {
                break;
            }
            let refs: Vec<&Block> = inputs.iter().map(|b| b.as_ref()).collect();
            let made = match compact(&self.dir, &refs) {
                Ok(m) => m,
                Err(e @ BlockError::Corrupt { .. }) => {
                    self.counters.compactions_failed.fetch_add(1, Relaxed);
                    self.fail_compaction(&refs, &e)?;
                    continue;
                }
                Err(e) => {
                    self.counters.compactions_failed.fetch_add(1, Relaxed);
                    return Err(e.into());
                }
            };
            let new_block = match &made {
                Some(meta) => {
                    let path = self.dir.join(&meta.ulid);
                    match Block::open(&path) {
                        Ok(b) => Some(Arc::new(b)),
                        Err(e) => {
                            let _ = delete_block_dir(&path);
                            self.counters.compactions_failed.fetch_add(1, Relaxed);
                            return Err(e.into());
                        }
                    }
                }
                None => None,
            };
            self.counters.compactions.fetch_add(1, Relaxed);
            {
                let mut list = self.blocks.write();
                list.retain(|b| !ulids.contains(&b.meta().ulid));
                list.extend(new_block);
                list.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
            }
            for b in &inputs {
                delete_block_dir(b.dir())?;
            }
            let name = made.map(|m| m.ulid).unwrap_or_default();
            done.push((name, ulids));
        }
        Ok(())
    }

    /// Compaction met corrupt data: marks the blocks to blame `compaction.failed` (the
    /// planner then leaves them alone; queries still skip only the bad chunks) and swaps
    /// them, reopened, into the block list.
    fn fail_compaction(&self, inputs: &[&Block], e: &BlockError) -> Result<(), DbError> {
        for b in crate::tsdb::compact::blame(inputs, e) {
            tracing::error!(block = %b.meta().ulid, error = %e, "compaction failed on corrupt data; the block will not be compacted again");
            let mut meta = b.meta().clone();
            meta.set_compaction_failed();
            meta.store(b.dir())?;
            let fresh = Arc::new(Block::open(b.dir())?);
            fresh.carry_corrupt_from(b);
            let mut list = self.blocks.write();
            for slot in list.iter_mut().filter(|x| x.dir() == b.dir()) {
                *slot = fresh.clone();
            }
        }
        Ok(())
    }

    /// Deletes whole blocks: those ending more than the retention before the newest data,
    /// then the oldest while the blocks' total size is above `retention_bytes`.
    fn apply_retention(&self, deleted: &mut Vec<String>) -> Result<(), DbError> {
        let newest = self.time_range().map(|(_, hi)| hi);
        let mut doomed: Vec<Arc<Block>> = Vec::new();
        {
            let mut blocks = self.blocks.write();
            if let Some(newest) = newest {
                let horizon = newest.saturating_sub(self.opts.retention_ms);
                blocks.retain(|b| {
                    let keep = b.meta().max_time > horizon;
                    if !keep {
                        doomed.push(b.clone());
                        self.counters.time_retentions.fetch_add(1, Relaxed);
                    }
                    keep
                });
            }
            if let Some(limit) = self.opts.retention_bytes {
                let mut total: u64 = blocks.iter().map(|b| b.size_bytes()).sum();
                while total > limit && !blocks.is_empty() {
                    let b = blocks.remove(0);
                    total = total.saturating_sub(b.size_bytes());
                    doomed.push(b);
                    self.counters.size_retentions.fetch_add(1, Relaxed);
                }
            }
        }
        for b in doomed {
            delete_block_dir(b.dir())?;
            deleted.push(b.meta().ulid.clone());
        }
        Ok(())
    }

    /// Starts a thread that runs `cut` every `every` until the `Db` is dropped. Errors are
    /// logged. Does nothing read-only or when already started.
    pub fn start_maintenance(self: &Arc<Self>, every: Duration) {
        if self.opts.read_only {
            return;
        }
        let mut stop = self.stop.lock();
        if stop.is_some() {
            return;
        }
        let (tx, rx) = mpsc::channel::<()>();
        *stop = Some(tx);
        let db: Weak<Db> = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("kmon-tsdb-cut".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                    let Some(db) = db.upgrade() else {
                        return;
                    };
                    match db.cut() {
                        Ok(r) if !r.written.is_empty() || !r.deleted.is_empty() => {
                            tracing::info!(
                                "tsdb: wrote blocks {:?}, deleted blocks {:?}",
                                r.written,
                                r.deleted
                            );
                        }
                        Ok(_) => {}
                        Err(e) => tracing::error!("tsdb: cutting a block failed: {e}"),
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!("tsdb: cannot start the block cutting thread: {e}");
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        self.stop.lock().take();
        if let Some(w) = &self.wal
            && let Err(e) = w.sync()
        {
            tracing::error!("tsdb: final WAL sync failed: {e}");
        }
    }
}

/// Renames a block dir out of Prometheus's sight, then removes it.
fn delete_block_dir(dir: &Path) -> Result<(), DbError> {
    let mut gone = dir.as_os_str().to_owned();
    gone.push(".tmp-for-deletion");
    let gone = PathBuf::from(gone);
    std::fs::rename(dir, &gone).map_err(io_err(dir))?;
    std::fs::remove_dir_all(&gone).map_err(io_err(&gone))
}

/// Refuses every sample: the appender of a read-only `Db`.
struct ReadOnlyAppender;

impl Appender for ReadOnlyAppender {
    fn append(
        &mut self,
        _r: Option<SeriesRef>,
        _labels: &Labels,
        _t: i64,
        _v: f64,
    ) -> Result<SeriesRef, StorageError> {
        Err(StorageError::ReadOnly)
    }

    fn commit(self: Box<Self>) -> Result<(), StorageError> {
        Err(StorageError::ReadOnly)
    }
}

impl Appendable for Db {
    fn appender(&self) -> Box<dyn Appender + '_> {
        if self.opts.read_only {
            Box::new(ReadOnlyAppender)
        } else {
            self.head.appender()
        }
    }

    fn history_appender(&self) -> Box<dyn Appender + '_> {
        if self.opts.read_only {
            Box::new(ReadOnlyAppender)
        } else {
            self.head.history_appender()
        }
    }
}

impl Queryable for Db {
    /// A querier over the head and every block overlapping `[mint, maxt]`.
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        let mut blocks: Vec<Arc<Block>> = self
            .blocks
            .read()
            .iter()
            .filter(|b| b.meta().min_time <= maxt && b.meta().max_time > mint)
            .cloned()
            .collect();
        blocks.reverse();
        let head = self.head.querier(mint, maxt)?;
        Ok(Box::new(merge::MergeQuerier::new(head, blocks, mint, maxt)))
    }
}

#[cfg(test)]
mod ingest_tests;
#[cfg(test)]
mod tests;
