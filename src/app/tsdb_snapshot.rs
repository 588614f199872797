//! `kmon snapshot OUTDIR [--data-dir D]`: a consistent copy of a data dir that Prometheus
//! and kmon can open — every block hard-linked, the head (from the WAL) written as blocks
//! — made by `Db::snapshot` on the data dir opened read-only. When no kmon holds D, D's
//! lock is taken for the duration; when one does, D is read without the lock and nothing
//! is written into it, and the snapshot is retried when a concurrent cut, compaction or
//! retention changed the blocks while it was being taken. Shows a progress bar on a
//! terminal.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::tsdb::block::{Block, Ulid};
use crate::tsdb::db::{Db, DbOptions, SnapshotProgress, SnapshotReport, is_vanished};
use crate::tsdb::lock::{DirLock, LockError};

/// Attempts against a data dir whose blocks keep changing under a running kmon.
const ATTEMPTS: usize = 8;

/// What `snapshot_data_dir` did.
#[derive(Debug, Clone, Default)]
pub struct DataDirSnapshot {
    pub report: SnapshotReport,
    /// Whether another process held the data dir (read without its lock).
    pub shared: bool,
    /// That process, when the OS says: (pid, command name).
    pub holder: Option<(u32, String)>,
    /// Attempts it took (more than one when the blocks changed meanwhile).
    pub attempts: usize,
}

/// Snapshots `data_dir` into `out` (missing or empty). See the module docs.
pub fn snapshot_data_dir(
    data_dir: &Path,
    out: &Path,
    progress: &mut dyn FnMut(SnapshotProgress),
) -> anyhow::Result<DataDirSnapshot> {
    if !data_dir.is_dir() {
        bail!("data dir {} does not exist", data_dir.display());
    }
    let same = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y);
    if same(data_dir, out) {
        bail!("the snapshot dir cannot be the data dir itself");
    }
    if out.exists() {
        let mut entries =
            std::fs::read_dir(out).with_context(|| format!("reading {}", out.display()))?;
        if entries.next().is_some() {
            bail!("{} is not empty", out.display());
        }
    }
    let mut holder = None;
    let lock = match DirLock::acquire(data_dir) {
        Ok(l) => Some(l),
        Err(LockError::Held { holder: h, .. }) => {
            holder = h;
            None
        }
        Err(e) => return Err(e).context("locking the data dir"),
    };
    let opts = DbOptions {
        read_only: true,
        ..DbOptions::default()
    };
    let mut last_reason = String::new();
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            clear(out)?;
            std::thread::sleep(std::time::Duration::from_millis(50 * attempt as u64));
        }
        let db = match Db::open(data_dir, opts) {
            Ok(db) => db,
            Err(e) if lock.is_none() && is_vanished(&e) => {
                last_reason = e.to_string();
                continue;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("opening {}", data_dir.display()));
            }
        };
        let report = match db.snapshot(out, true, progress) {
            Ok(r) => r,
            Err(e) if lock.is_none() && is_vanished(&e) => {
                last_reason = e.to_string();
                continue;
            }
            Err(e) => return Err(e).context("writing the snapshot"),
        };
        if lock.is_some() {
            return Ok(DataDirSnapshot {
                report,
                shared: false,
                holder: None,
                attempts: attempt,
            });
        }
        // Unlocked: the blocks read must still be the blocks there (plus the ones that
        // failed to open), or the WAL read may not match them.
        let mut seen: BTreeSet<String> =
            db.blocks().iter().map(|b| b.meta().ulid.clone()).collect();
        for q in &db.open_report().quarantined {
            if let Some(n) = q.dir.file_name().and_then(|n| n.to_str()) {
                seen.insert(n.to_string());
            }
        }
        let now = block_names(data_dir)?;
        if now == seen {
            return Ok(DataDirSnapshot {
                report,
                shared: true,
                holder,
                attempts: attempt,
            });
        }
        last_reason = "the blocks changed while the snapshot was taken".into();
    }
    clear(out)?;
    bail!(
        "the data dir kept changing under the process that holds it ({ATTEMPTS} attempts; last: {last_reason})"
    )
}

/// The names of the block dirs in `dir` (a ULID name and a meta.json).
fn block_names(dir: &Path) -> anyhow::Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e.with_context(|| format!("reading {}", dir.display()))?;
        let p = e.path();
        if Block::is_block_dir(&p)
            && let Some(n) = p.file_name().and_then(|n| n.to_str())
        {
            out.insert(n.to_string());
        }
    }
    Ok(out)
}

/// Removes what an attempt wrote into `out` (which started empty): its block dirs and
/// unfinished `.tmp` dirs.
fn clear(out: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Ok(());
    };
    let mut doomed: Vec<PathBuf> = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let ulid = name.split('.').next().unwrap_or_default();
        if Ulid::parse(ulid).is_some() {
            doomed.push(e.path());
        }
    }
    for p in doomed {
        std::fs::remove_dir_all(&p).with_context(|| format!("removing {}", p.display()))?;
    }
    Ok(())
}

/// The command: snapshots with a progress bar when standard error is a terminal, then
/// says what it wrote.
pub fn snapshot_cli(data_dir: &Path, out: &Path) -> anyhow::Result<ExitCode> {
    let bar = super::progress::Progress::new("reading the data dir", "snapshot", "blocks");
    let r = snapshot_data_dir(data_dir, out, &mut |p| bar.update(p.done, p.total));
    bar.finish();
    let r = r?;
    eprintln!(
        "kmon: snapshot of {} in {}: {} block(s) linked, {} written from the head{}",
        data_dir.display(),
        out.display(),
        r.report.linked.len(),
        r.report.from_head.len(),
        match (&r.shared, &r.holder) {
            (false, _) => String::new(),
            (true, Some((pid, name))) => {
                format!(" (read beside {name} (pid {pid}), which holds the data dir)")
            }
            (true, None) => " (read beside the process that holds the data dir)".to_string(),
        }
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::storage::Appendable;

    fn fill(db: &Db, from: i64, to: i64) {
        let mut t = from;
        while t < to {
            let mut app = db.appender();
            for i in 0..3 {
                let l = Labels::from_pairs(&[("__name__", "m"), ("i", &i.to_string())]);
                app.append(None, &l, t, t as f64).expect("append");
            }
            app.commit().expect("commit");
            t += 60_000;
        }
    }

    /// The timestamps of every series `m` in `dir`, opened read-only.
    fn times(dir: &Path) -> Vec<(crate::model::Labels, Vec<i64>)> {
        let db = Db::open(
            dir,
            DbOptions {
                read_only: true,
                ..DbOptions::default()
            },
        )
        .expect("open");
        let q = crate::storage::Queryable::querier(&db, i64::MIN, i64::MAX).expect("querier");
        let m = [
            crate::model::Matcher::new(crate::model::MatchOp::Equal, "__name__", "m")
                .expect("matcher"),
        ];
        let h = crate::storage::SelectHints {
            start: i64::MIN,
            end: i64::MAX,
            lazy: false,
        };
        q.select(&m, &h)
            .expect("select")
            .into_iter()
            .map(|s| (s.labels, s.samples.map(|x| x.t).collect()))
            .collect()
    }

    fn samples(dir: &Path) -> usize {
        times(dir).iter().map(|(_, t)| t.len()).sum()
    }

    #[test]
    fn a_free_dir_and_a_held_dir_both_snapshot_without_writes_when_held() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let db = Db::open(&data, DbOptions::default()).expect("open");
        // 5h: the cut leaves blocks and a head.
        fill(&db, 0, 5 * 3_600_000);
        assert!(!db.cut().expect("cut").written.is_empty());
        db.sync().expect("sync");

        // Held by the open Db: read beside it.
        let out = tmp.path().join("held");
        let mut calls = 0;
        let r = snapshot_data_dir(&data, &out, &mut |_| calls += 1).expect("snapshot");
        assert!(r.shared && calls > 0);
        assert_eq!(r.report.linked.len(), db.blocks().len());
        assert!(!r.report.from_head.is_empty());
        assert_eq!(samples(&out), 3 * 300);
        drop(db);

        // Free: locked for the duration, same data.
        let out2 = tmp.path().join("free");
        let r = snapshot_data_dir(&data, &out2, &mut |_| {}).expect("snapshot");
        assert!(!r.shared);
        assert_eq!(samples(&out2), 3 * 300);

        // Not into a non-empty dir, nor from a missing one.
        let e = snapshot_data_dir(&data, &out2, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("not empty"), "{e}");
        let e = snapshot_data_dir(&tmp.path().join("nope"), &out2, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
    }

    /// Every series' samples in `dir`, which must be one sample per minute from 0 with no
    /// gap: a snapshot that missed a block or part of the WAL would show one.
    fn contiguous_minutes(dir: &Path) -> Vec<usize> {
        let mut out = Vec::new();
        for (labels, times) in times(dir) {
            for (k, t) in times.iter().enumerate() {
                assert_eq!(*t, k as i64 * 60_000, "{labels} has a gap at {k}");
            }
            out.push(times.len());
        }
        out
    }

    #[test]
    fn snapshots_beside_a_writer_that_cuts_and_compacts_have_no_gaps() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let opts = DbOptions {
            block_range_ms: 10 * 60_000,
            wal: crate::tsdb::wal::WalOptions {
                segment_size: 64 * 1024,
                sync: crate::tsdb::wal::SyncPolicy::Never,
            },
            ..DbOptions::default()
        };
        let db = Arc::new(Db::open(&data, opts).expect("open"));
        fill(&db, 0, 60 * 60_000);
        db.cut().expect("cut");
        db.sync().expect("sync");
        let done = Arc::new(AtomicBool::new(false));
        let writer = {
            let (db, done) = (db.clone(), done.clone());
            std::thread::spawn(move || {
                // A bounded burst of cuts, compactions and checkpoints, far faster than
                // the app's one cut a minute.
                let mut t = 60 * 60_000;
                for _ in 0..600 {
                    fill(&db, t, t + 5 * 60_000);
                    t += 5 * 60_000;
                    db.cut().expect("cut");
                    db.sync().expect("sync");
                }
                done.store(true, Ordering::Release);
            })
        };
        // While it runs, a snapshot either succeeds without gaps or gives up saying why.
        let mut i = 0;
        while !done.load(Ordering::Acquire) && i < 20 {
            let out = tmp.path().join(format!("snap{i}"));
            match snapshot_data_dir(&data, &out, &mut |_| {}) {
                Ok(r) => {
                    assert!(r.shared);
                    let lens = contiguous_minutes(&out);
                    assert_eq!(lens.len(), 3, "{lens:?}");
                    assert!(lens.iter().all(|&n| n >= 60), "{lens:?}");
                }
                Err(e) => assert!(e.to_string().contains("kept changing"), "{e:#}"),
            }
            i += 1;
        }
        writer.join().expect("writer");
        // Once it is quiet (still holding the lock), the snapshot has everything.
        let out = tmp.path().join("quiet");
        let r = snapshot_data_dir(&data, &out, &mut |_| {}).expect("snapshot");
        assert!(r.shared && r.attempts == 1, "{r:?}");
        assert_eq!(contiguous_minutes(&out), vec![60 + 600 * 5; 3]);
        drop(db);
    }
}
