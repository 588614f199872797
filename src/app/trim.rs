//! Hands memory the allocator holds but no longer uses back to the OS. glibc's malloc
//! keeps what is freed in its arenas (one per thread that allocated, up to eight per
//! core), so the memory of data the head dropped after a block cut, or of a transient
//! rebuild (the completion index), stays in the RSS until something reuses it. `open_db`
//! starts this beside the TSDB's block cutting: once a minute it calls `malloc_trim`
//! and logs (at debug, target `kmon::app::trim`) the head's series and blocks and what
//! the trim released, which the soak benchmark reads.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::tsdb::db::Db;

/// Starts the trimming thread; it ends when the `Db` is dropped.
pub(crate) fn start(db: &Arc<Db>, every: Duration) {
    let weak: Weak<Db> = Arc::downgrade(db);
    let spawned = std::thread::Builder::new()
        .name("kmon-trim".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                let Some(db) = weak.upgrade() else {
                    return;
                };
                let before = rss_bytes();
                trim();
                let after = rss_bytes();
                tracing::debug!(
                    head_series = db.head().num_series(),
                    blocks = db.blocks().len(),
                    rss_before = before,
                    rss_after = after,
                    "memory: trim released {} KiB",
                    before.saturating_sub(after) / 1024
                );
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the memory trimming thread: {e}");
    }
}

/// Releases the allocator's free memory (glibc: `malloc_trim(0)`; elsewhere nothing).
pub(crate) fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks; it has no
    // preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// This process's resident set size (0 where /proc is not there).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_runs_and_rss_reads() {
        let v: Vec<Vec<u8>> = (0..1000).map(|i| vec![i as u8; 4096]).collect();
        drop(v);
        trim();
        if cfg!(target_os = "linux") {
            assert!(rss_bytes() > 0);
        }
    }

    #[test]
    fn the_thread_ends_with_the_db() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Arc::new(Db::open(dir.path(), Default::default()).expect("open"));
        start(&db, Duration::from_millis(10));
        std::thread::sleep(Duration::from_millis(50));
        drop(db);
        std::thread::sleep(Duration::from_millis(50));
    }
}
