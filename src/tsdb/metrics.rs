//! The TSDB's own counters and their text exposition: the head's (samples appended, and
//! rejected as out of order, out of bounds or duplicate), the WAL's (failed writes,
//! fsyncs) and the data dir's (blocks, cuts, compactions, retention, the last storage
//! error). Counters are atomics bumped where things happen, never under an extra lock on
//! the append path; `render` turns a `Db`'s into `kmon_tsdb_*` lines, named after
//! Prometheus's `prometheus_tsdb_*` where it has the same metric. The app hands `render`
//! to the API's `/metrics` as a callback.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::db::Db;
use crate::model::format_go_float;

fn bump(c: &AtomicU64, n: u64) {
    if n > 0 {
        c.fetch_add(n, Ordering::Relaxed);
    }
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// Milliseconds since the Unix epoch, now.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Kept by the head.
#[derive(Debug, Default)]
pub struct HeadCounters {
    appended: AtomicU64,
    out_of_order: AtomicU64,
    out_of_bounds: AtomicU64,
    duplicates: AtomicU64,
}

impl HeadCounters {
    pub(crate) fn add_appended(&self, n: u64) {
        bump(&self.appended, n);
    }
    pub(crate) fn add_out_of_order(&self, n: u64) {
        bump(&self.out_of_order, n);
    }
    pub(crate) fn add_out_of_bounds(&self, n: u64) {
        bump(&self.out_of_bounds, n);
    }
    pub(crate) fn add_duplicates(&self, n: u64) {
        bump(&self.duplicates, n);
    }
    /// Samples committed into the head (not counting WAL replay).
    pub fn appended(&self) -> u64 {
        get(&self.appended)
    }
    pub fn out_of_order(&self) -> u64 {
        get(&self.out_of_order)
    }
    /// Samples refused because they are older than the head's min valid time (at append,
    /// or at commit after a cut raised it).
    pub fn out_of_bounds(&self) -> u64 {
        get(&self.out_of_bounds)
    }
    /// Samples refused for a timestamp the series has with another value.
    pub fn duplicates(&self) -> u64 {
        get(&self.duplicates)
    }
}

/// A storage error and when it happened (ms), as the status line and the metrics show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageProblem {
    pub at_ms: i64,
    pub message: String,
}

/// The error state of one kind of storage write: the latest failure, cleared by the next
/// success, and when the last failure was. A success costs one atomic load unless the
/// previous attempt failed.
#[derive(Debug, Default)]
pub struct ErrorState {
    failing: AtomicBool,
    current: Mutex<Option<StorageProblem>>,
    last_ms: AtomicI64,
}

impl ErrorState {
    pub(crate) fn fail(&self, message: String) {
        let at_ms = now_ms();
        self.last_ms.store(at_ms, Ordering::Relaxed);
        let mut g = self.current.lock();
        *g = Some(StorageProblem { at_ms, message });
        self.failing.store(true, Ordering::Release);
    }

    /// A success: clears the error.
    pub(crate) fn ok(&self) {
        if self.failing.load(Ordering::Acquire) {
            let mut g = self.current.lock();
            *g = None;
            self.failing.store(false, Ordering::Release);
        }
    }

    /// The error of the latest attempt, if it failed.
    pub fn current(&self) -> Option<StorageProblem> {
        if !self.failing.load(Ordering::Acquire) {
            return None;
        }
        self.current.lock().clone()
    }

    /// When the last failure happened (ms), 0 when never.
    pub fn last_ms(&self) -> i64 {
        self.last_ms.load(Ordering::Relaxed)
    }
}

/// Kept by the WAL.
#[derive(Debug, Default)]
pub struct WalCounters {
    writes_failed: AtomicU64,
    fsyncs: AtomicU64,
    fsync_failures: AtomicU64,
    fsync_nanos: AtomicU64,
    pub(crate) errors: ErrorState,
}

impl WalCounters {
    pub(crate) fn write_failed(&self, message: String) {
        bump(&self.writes_failed, 1);
        self.errors.fail(message);
    }
    pub(crate) fn write_ok(&self) {
        self.errors.ok();
    }
    /// One fsync that took `d` (failed or not).
    pub(crate) fn fsynced(&self, d: std::time::Duration, ok: bool) {
        bump(&self.fsyncs, 1);
        bump(
            &self.fsync_nanos,
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
        );
        if !ok {
            bump(&self.fsync_failures, 1);
        }
    }
    pub fn writes_failed(&self) -> u64 {
        get(&self.writes_failed)
    }
    pub fn fsyncs(&self) -> u64 {
        get(&self.fsyncs)
    }
    pub fn fsync_failures(&self) -> u64 {
        get(&self.fsync_failures)
    }
    /// The latest WAL write error, until a write succeeds again.
    pub fn current_error(&self) -> Option<StorageProblem> {
        self.errors.current()
    }
}

/// Kept by the data dir's `Db`.
#[derive(Debug, Default)]
pub struct DbCounters {
    pub(crate) cuts: AtomicU64,
    pub(crate) cuts_failed: AtomicU64,
    pub(crate) compactions: AtomicU64,
    pub(crate) compactions_failed: AtomicU64,
    pub(crate) time_retentions: AtomicU64,
    pub(crate) size_retentions: AtomicU64,
    /// The maintenance pass (cut, compaction, retention) and its last error.
    pub(crate) errors: ErrorState,
}

impl DbCounters {
    pub fn cuts(&self) -> u64 {
        get(&self.cuts)
    }
    pub fn cuts_failed(&self) -> u64 {
        get(&self.cuts_failed)
    }
    pub fn compactions(&self) -> u64 {
        get(&self.compactions)
    }
    pub fn compactions_failed(&self) -> u64 {
        get(&self.compactions_failed)
    }
    /// Blocks deleted by time retention, and by size retention.
    pub fn retentions(&self) -> (u64, u64) {
        (get(&self.time_retentions), get(&self.size_retentions))
    }
}

/// Seconds from milliseconds, as the text format writes them.
fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// Bytes of the regular files under `dir` (recursively); missing or unreadable parts
/// count as nothing.
pub(crate) fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for e in rd.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => total += dir_bytes(&e.path()),
            Ok(t) if t.is_file() => total += e.metadata().map_or(0, |m| m.len()),
            _ => {}
        }
    }
    total
}

/// Appends the `kmon_tsdb_*` families of `db` in the text format 0.0.4. Names follow
/// Prometheus's `prometheus_tsdb_*` where it has the same metric (same type, `_total` on
/// counters, `type="float"` where Prometheus labels by sample type).
#[rustfmt::skip]
pub fn render(db: &Db, out: &mut String) {
    let head = db.head();
    let hc = head.counters();
    let dc = db.counters();
    let report = db.open_report();
    let blocks = db.blocks();
    let wal = db.wal_counters();
    let wal_get = |f: fn(&WalCounters) -> u64| wal.map_or(0, f);
    let (lowest, highest) = db.time_range().unwrap_or((0, 0));
    let min_valid = head.min_valid_time();
    let (by_time, by_size) = dc.retentions();
    let last_error = dc.errors.last_ms().max(wal.map_or(0, |w| w.errors.last_ms()));
    let n = |v: u64| v as f64;
    const G: &str = "gauge";
    const C: &str = "counter";
    // (name, labels, type, help, value)
    let rows: [(&str, &str, &str, &str, f64); 26] = [
        ("kmon_tsdb_head_series", "", G, "Series held in the in-memory head.", head.num_series() as f64),
        ("kmon_tsdb_head_samples_appended_total", "{type=\"float\"}", C, "Samples committed into the head.", n(hc.appended())),
        ("kmon_tsdb_out_of_order_samples_total", "{type=\"float\"}", C, "Samples refused because their series already had a newer one.", n(hc.out_of_order())),
        ("kmon_tsdb_out_of_bound_samples_total", "{type=\"float\"}", C, "Samples refused as older than the head's min valid time.", n(hc.out_of_bounds())),
        ("kmon_tsdb_duplicate_samples_total", "", C, "Samples rejected for a timestamp their series already has with another value.", n(hc.duplicates())),
        ("kmon_tsdb_head_min_valid_time_seconds", "", G, "Samples older than this are rejected as out of bounds (0: no bound yet).", if min_valid == i64::MIN { 0.0 } else { secs(min_valid) }),
        ("kmon_tsdb_wal_writes_failed_total", "", C, "WAL writes that failed (the commit failed with them).", n(wal_get(WalCounters::writes_failed))),
        ("kmon_tsdb_wal_fsync_duration_seconds_sum", "", "summary", "Time spent in WAL fsyncs.", wal.map_or(0.0, |w| get(&w.fsync_nanos) as f64 / 1e9)),
        ("kmon_tsdb_wal_fsync_duration_seconds_count", "", "", "", n(wal_get(WalCounters::fsyncs))),
        ("kmon_tsdb_wal_fsync_failures_total", "", C, "Write log fsyncs that failed.", n(wal_get(WalCounters::fsync_failures))),
        ("kmon_tsdb_wal_corruptions_total", "", C, "Damaged WAL places repaired when the data dir was opened.", report.wal.repairs.len() as f64),
        ("kmon_tsdb_wal_replay_dropped_samples_total", "", C, "Samples read from the write log at open that could not be applied.", n(report.wal.dropped_samples)),
        ("kmon_tsdb_blocks_loaded", "", G, "Blocks open now.", blocks.len() as f64),
        ("kmon_tsdb_corrupt_chunks_skipped", "", G, "Corrupt chunks that queries skipped in the blocks open now.", n(db.corrupt_chunks_seen())),
        ("kmon_tsdb_blocks_compaction_failed", "", G, "Open blocks marked compaction.failed (corrupt data; left out of compaction).", blocks.iter().filter(|b| b.meta().compaction_failed()).count() as f64),
        ("kmon_tsdb_blocks_quarantined_total", "", C, "Blocks that failed to open and were set aside as <ulid>.corrupt.", report.quarantined.len() as f64),
        ("kmon_tsdb_head_cuts_total", "", C, "Blocks written from the head's oldest window (head compactions).", n(dc.cuts())),
        ("kmon_tsdb_head_cuts_failed_total", "", C, "Head cuts that failed (retried on the next pass).", n(dc.cuts_failed())),
        ("kmon_tsdb_compactions_total", "", C, "Block compactions done.", n(dc.compactions())),
        ("kmon_tsdb_compactions_failed_total", "", C, "Block compactions that failed.", n(dc.compactions_failed())),
        ("kmon_tsdb_time_retentions_total", "", C, "Blocks deleted by time retention (--retention).", n(by_time)),
        ("kmon_tsdb_size_retentions_total", "", C, "Blocks deleted by size retention (--retention-size).", n(by_size)),
        ("kmon_tsdb_storage_blocks_bytes", "", G, "Bytes on disk of all open blocks.", n(blocks.iter().map(|b| b.size_bytes()).sum())),
        ("kmon_tsdb_wal_storage_size_bytes", "", G, "Bytes on disk of the WAL directory.", n(db.wal_dir().map_or(0, |d| dir_bytes(&d)))),
        ("kmon_tsdb_lowest_timestamp_seconds", "", G, "Oldest sample time over the head and the blocks.", secs(lowest)),
        ("kmon_tsdb_highest_timestamp_seconds", "", G, "Newest sample time over the head and the blocks.", secs(highest)),
    ];
    for (name, labels, kind, help, v) in rows {
        if !kind.is_empty() {
            let family = name.strip_suffix("_sum").unwrap_or(name);
            let _ = writeln!(out, "# HELP {family} {help}\n# TYPE {family} {kind}");
        }
        let _ = writeln!(out, "{name}{labels} {}", format_go_float(v));
    }
    let _ = writeln!(
        out,
        "# HELP kmon_tsdb_last_error_timestamp_seconds When a storage write (WAL, cut, compaction, retention) last failed; 0 if never.\n\
         # TYPE kmon_tsdb_last_error_timestamp_seconds gauge\n\
         kmon_tsdb_last_error_timestamp_seconds {}",
        format_go_float(secs(last_error))
    );
}
