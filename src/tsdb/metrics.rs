//! The TSDB's own counters and their text exposition: the head's (samples appended, and
//! rejected as out of order, out of bounds or duplicate), the WAL's (failed writes,
//! fsyncs) and the data dir's (blocks, cuts, compactions, retention, the last storage
//! error). Counters are atomics bumped where things happen, never under an extra lock on
//! the append path; `render` turns a `Db`'s into `kmon_tsdb_*` lines, named after
//! Prometheus's `prometheus_tsdb_*` where it has the same metric. The app hands `render`
//! to the API's `/metrics` as a callback.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::db::Db;

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
/// success, and when the last failure was.
#[derive(Debug, Default)]
pub struct ErrorState {
    current: Mutex<Option<StorageProblem>>,
    last_ms: AtomicI64,
}

impl ErrorState {
    pub(crate) fn fail(&self, message: String) {
        let at_ms = now_ms();
        self.last_ms.store(at_ms, Ordering::Relaxed);
        *self.current.lock() = Some(StorageProblem { at_ms, message });
    }

    /// A success: clears the error (cheap when there is none).
    pub(crate) fn ok(&self) {
        if self.last_ms.load(Ordering::Relaxed) != 0 {
            let mut g = self.current.lock();
            if g.is_some() {
                *g = None;
            }
        }
    }

    /// The error of the latest attempt, if it failed.
    pub fn current(&self) -> Option<StorageProblem> {
        if self.last_ms.load(Ordering::Relaxed) == 0 {
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

/// One metric family: HELP, TYPE and one unlabeled sample.
fn family(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "{name} {value}");
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

/// Appends the `kmon_tsdb_*` families of `db` in the text format 0.0.4.
pub fn render(db: &Db, out: &mut String) {
    let head = db.head();
    let hc = head.counters();
    let dc = db.counters();
    let report = db.open_report();
    let blocks = db.blocks();
    let blocks_bytes: u64 = blocks.iter().map(|b| b.size_bytes()).sum();
    let wal = db.wal_counters();
    let (lowest, highest) = db.time_range().unwrap_or((0, 0));
    let float = "{type=\"float\"}";

    family(
        out,
        "kmon_tsdb_head_series",
        "gauge",
        "Total number of series in the head block.",
        head.num_series(),
    );
    for (name, help, v) in [
        (
            "kmon_tsdb_head_samples_appended_total",
            "Total number of appended samples.",
            hc.appended(),
        ),
        (
            "kmon_tsdb_out_of_order_samples_total",
            "Total number of out of order samples ingestion failed attempts.",
            hc.out_of_order(),
        ),
        (
            "kmon_tsdb_out_of_bound_samples_total",
            "Total number of out of bound samples ingestion failed attempts (older than the head's min valid time).",
            hc.out_of_bounds(),
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name}{float} {v}"
        );
    }
    family(
        out,
        "kmon_tsdb_duplicate_samples_total",
        "counter",
        "Samples rejected for a timestamp their series already has with another value.",
        hc.duplicates(),
    );
    family(
        out,
        "kmon_tsdb_head_min_valid_time_seconds",
        "gauge",
        "Samples older than this are rejected as out of bounds.",
        if head.min_valid_time() == i64::MIN {
            0.0
        } else {
            secs(head.min_valid_time())
        },
    );

    let (writes_failed, fsyncs, fsync_failures, fsync_secs) = wal.map_or((0, 0, 0, 0.0), |w| {
        (
            w.writes_failed(),
            w.fsyncs(),
            w.fsync_failures(),
            get(&w.fsync_nanos) as f64 / 1e9,
        )
    });
    family(
        out,
        "kmon_tsdb_wal_writes_failed_total",
        "counter",
        "Total number of write log writes that failed.",
        writes_failed,
    );
    let _ = writeln!(
        out,
        "# HELP kmon_tsdb_wal_fsync_duration_seconds Duration of write log fsync.\n# TYPE kmon_tsdb_wal_fsync_duration_seconds summary\nkmon_tsdb_wal_fsync_duration_seconds_sum {fsync_secs}\nkmon_tsdb_wal_fsync_duration_seconds_count {fsyncs}"
    );
    family(
        out,
        "kmon_tsdb_wal_fsync_failures_total",
        "counter",
        "Write log fsyncs that failed.",
        fsync_failures,
    );
    family(
        out,
        "kmon_tsdb_wal_corruptions_total",
        "counter",
        "Total number of write log corruptions (repaired when the data dir was opened).",
        report.wal.repairs.len(),
    );
    family(
        out,
        "kmon_tsdb_wal_replay_dropped_samples_total",
        "counter",
        "Samples read from the write log at open that were not applied.",
        report.wal.dropped_samples,
    );

    family(
        out,
        "kmon_tsdb_blocks_loaded",
        "gauge",
        "Number of currently loaded data blocks.",
        blocks.len(),
    );
    family(
        out,
        "kmon_tsdb_blocks_quarantined_total",
        "counter",
        "Blocks that failed to open and were set aside as <ulid>.corrupt.",
        report.quarantined.len(),
    );
    family(
        out,
        "kmon_tsdb_head_cuts_total",
        "counter",
        "Passes that wrote the head's oldest window as a block (head compactions).",
        dc.cuts(),
    );
    family(
        out,
        "kmon_tsdb_head_cuts_failed_total",
        "counter",
        "Head cuts that failed (retried on the next pass).",
        dc.cuts_failed(),
    );
    family(
        out,
        "kmon_tsdb_compactions_total",
        "counter",
        "Total number of compactions that were executed for the partition.",
        dc.compactions(),
    );
    family(
        out,
        "kmon_tsdb_compactions_failed_total",
        "counter",
        "Total number of compactions that failed for the partition.",
        dc.compactions_failed(),
    );
    let (by_time, by_size) = dc.retentions();
    family(
        out,
        "kmon_tsdb_time_retentions_total",
        "counter",
        "The number of times that blocks were deleted because the maximum time limit was exceeded.",
        by_time,
    );
    family(
        out,
        "kmon_tsdb_size_retentions_total",
        "counter",
        "The number of times that blocks were deleted because the maximum number of bytes was exceeded.",
        by_size,
    );

    family(
        out,
        "kmon_tsdb_storage_blocks_bytes",
        "gauge",
        "The number of bytes that are currently used for local storage by all blocks.",
        blocks_bytes,
    );
    family(
        out,
        "kmon_tsdb_wal_storage_size_bytes",
        "gauge",
        "Size of the write log directory.",
        db.wal_dir().map_or(0, |d| dir_bytes(&d)),
    );
    family(
        out,
        "kmon_tsdb_lowest_timestamp_seconds",
        "gauge",
        "Lowest timestamp value stored in the database.",
        secs(lowest),
    );
    family(
        out,
        "kmon_tsdb_highest_timestamp_seconds",
        "gauge",
        "Highest timestamp value stored in the database.",
        secs(highest),
    );
    let last_err = dc
        .errors
        .last_ms()
        .max(wal.map_or(0, |w| w.errors.last_ms()));
    family(
        out,
        "kmon_tsdb_last_error_timestamp_seconds",
        "gauge",
        "When a storage write (WAL, cut, compaction, retention) last failed; 0 if never.",
        secs(last_err),
    );
}
