//! Tests of ingestion limits and failures at the data-dir level: the head's min valid
//! time at open, cut and replay, the `kmon_tsdb_*` metrics, and failed writes.

use std::collections::BTreeMap;

use super::tests::{dump, fill, lbl, opts};
use super::*;

const MIN: i64 = 60_000;

#[test]
fn open_bounds_the_head_at_the_newest_block_and_replay_is_not_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let range = 10 * MIN;
    let mut o = opts();
    o.block_range_ms = range;
    {
        let db = Db::open(dir.path(), o).expect("open");
        assert_eq!(db.head().min_valid_time(), i64::MIN);
        fill(&db, 2, 0, 17 * MIN);
        let r = db.cut().expect("cut");
        assert_eq!(r.written.len(), 1, "{r:?}");
        // The cut raised the bound to the end of the window it wrote, before reading it.
        assert_eq!(db.head().min_valid_time(), range);
        let mut app = db.history_appender();
        let e = app.append(None, &lbl("m", 7), range - 1, 1.0).unwrap_err();
        assert!(matches!(e, StorageError::OutOfBounds { min, .. } if min == range));
        app.append(None, &lbl("m", 7), range, 1.0)
            .expect("a history appender takes the window after the block");
        drop(app);
        // A live appender also keeps half a range behind the newest sample (16m) away.
        let mut app = db.appender();
        let e = app
            .append(None, &lbl("m", 7), 11 * MIN - 1, 1.0)
            .unwrap_err();
        assert!(
            matches!(e, StorageError::OutOfBounds { min, .. } if min == 11 * MIN),
            "{e}"
        );
        app.append(None, &lbl("m", 7), 11 * MIN, 1.0)
            .expect("at the bound");
        drop(app);
        assert_eq!(db.head().counters().out_of_bounds(), 2);
    }
    // The WAL still holds samples of [0, 10m) (no checkpoint with one segment): replay
    // brings them back without calling them out of bounds, and the gc drops them.
    let db = Db::open(dir.path(), o).expect("reopen");
    assert_eq!(db.head().min_valid_time(), range);
    assert_eq!(db.head().counters().out_of_bounds(), 0);
    assert_eq!(db.head().time_range().map(|r| r.0), Some(range));
    assert_eq!(db.open_report().wal.dropped_samples, 0);
    let mut app = db.appender();
    let e = app
        .append(None, &lbl("m", 0), range - MIN, 1.0)
        .unwrap_err();
    assert!(matches!(e, StorageError::OutOfBounds { .. }), "{e}");
    app.append(None, &lbl("m", 0), 17 * MIN, 1.0)
        .expect("in bounds");
    app.commit().expect("commit");
    // Every sample is served once: the block's from the block, the rest from the head.
    let got = dump(&db);
    assert_eq!(got[&lbl("m", 0).to_string()].len(), 18);
    assert_eq!(got[&lbl("m", 1).to_string()].len(), 17);
}

#[test]
fn a_sample_appended_into_the_window_being_cut_is_refused_not_lost() {
    // The race report-db described: an appender checked its sample before the cut, and
    // commits after the cut raised the bound. The sample is refused (counted), not
    // silently dropped by the gc after the cut read the window.
    let dir = tempfile::tempdir().expect("tempdir");
    let range = 10 * MIN;
    let mut o = opts();
    o.block_range_ms = range;
    let db = Db::open(dir.path(), o).expect("open");
    fill(&db, 1, 0, 17 * MIN);
    // A live appender would already refuse 5m (more than half a range behind the newest
    // sample); a history appender (`--load`, import) is bounded by the min valid time only.
    let mut late = db.history_appender();
    late.append(None, &lbl("quiet", 0), 5 * MIN, 1.0)
        .expect("in bounds before the cut");
    let r = db.cut().expect("cut");
    assert_eq!(r.written.len(), 1);
    late.commit().expect("commit");
    assert_eq!(db.head().counters().out_of_bounds(), 1);
    assert!(!dump(&db).contains_key(&lbl("quiet", 0).to_string()));
}

/// Appends one sample of each of `n` series at `t` and commits.
fn commit_at(db: &Db, n: usize, t: i64) -> Result<(), StorageError> {
    let mut app = db.appender();
    for i in 0..n {
        app.append(None, &lbl("m", i), t, (t / MIN) as f64 + i as f64)?;
    }
    app.commit()
}

#[test]
fn a_failed_wal_write_fails_the_commit_and_leaves_the_wal_readable() {
    // Disk space running out at several points: inside the first page, at a page
    // boundary and inside records that span pages (3000 series: samples records of about
    // 30 KiB).
    for (n, space) in [(2, 0), (2, 5), (2, 30), (3000, 1000), (3000, 20_000)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut want;
        {
            let db = Db::open(dir.path(), opts()).expect("open");
            for t in 0..3 {
                commit_at(&db, n, t * MIN).expect("commit");
            }
            want = dump(&db);
            let wal = db.wal.clone().expect("a WAL");
            wal.set_test_space(Some(space));
            let e = commit_at(&db, n, 3 * MIN)
                .expect_err(&format!("n={n} space={space}: the disk is full"));
            assert!(
                matches!(&e, StorageError::Io(io) if io.raw_os_error().is_none()
                && io.kind() == std::io::ErrorKind::StorageFull),
                "{e}"
            );
            // Not applied, counted, shown as the storage error.
            assert_eq!(dump(&db), want, "n={n} space={space}");
            assert_eq!(db.wal_counters().map(|c| c.writes_failed()), Some(1));
            let msg = db.storage_error().expect("a storage error");
            assert!(msg.contains("WAL"), "{msg}");
            // Still full: fails again.
            wal.set_test_space(Some(0));
            commit_at(&db, n, 3 * MIN).expect_err("still full");
            assert_eq!(db.wal_counters().map(|c| c.writes_failed()), Some(2));
            // Space again: the same batch goes in, and the error clears.
            wal.set_test_space(None);
            commit_at(&db, n, 3 * MIN).expect("commit after the disk has room");
            commit_at(&db, n, 4 * MIN).expect("commit");
            assert_eq!(db.storage_error(), None);
        }
        for i in 0..n {
            let v = want.entry(lbl("m", i).to_string()).or_default();
            for t in [3 * MIN, 4 * MIN] {
                v.push((t, (t / MIN) as f64 + i as f64));
            }
        }
        // Replay sees every committed record and nothing of the failed ones.
        let db = Db::open(dir.path(), opts()).expect("reopen");
        let r = &db.open_report().wal;
        assert!(r.repairs.is_empty(), "n={n} space={space}: {:?}", r.repairs);
        assert_eq!(r.dropped_samples, 0);
        assert_eq!(dump(&db), want, "n={n} space={space}");
    }
}

/// `name value` of every unlabeled sample line, and `name{...}` → value for labeled ones.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, v) = l.rsplit_once(' ').expect("name and value");
        let v: f64 = v.parse().unwrap_or_else(|_| panic!("value of {l}"));
        assert!(out.insert(name.to_string(), v).is_none(), "{name} twice");
    }
    out
}

#[test]
fn tsdb_metrics_appear_with_their_types_and_move() {
    let dir = tempfile::tempdir().expect("tempdir");
    let range = 10 * MIN;
    let mut o = opts();
    o.block_range_ms = range;
    let db = Db::open(dir.path(), o).expect("open");
    let mut text = String::new();
    db.render_metrics(&mut text);
    let before = parse_metrics(&text);
    let families = [
        ("kmon_tsdb_head_series", "gauge"),
        ("kmon_tsdb_head_samples_appended_total", "counter"),
        ("kmon_tsdb_out_of_order_samples_total", "counter"),
        ("kmon_tsdb_out_of_bound_samples_total", "counter"),
        ("kmon_tsdb_duplicate_samples_total", "counter"),
        ("kmon_tsdb_wal_writes_failed_total", "counter"),
        ("kmon_tsdb_wal_fsync_duration_seconds", "summary"),
        ("kmon_tsdb_wal_fsync_failures_total", "counter"),
        ("kmon_tsdb_wal_corruptions_total", "counter"),
        ("kmon_tsdb_blocks_loaded", "gauge"),
        ("kmon_tsdb_blocks_quarantined_total", "counter"),
        ("kmon_tsdb_head_cuts_total", "counter"),
        ("kmon_tsdb_head_cuts_failed_total", "counter"),
        ("kmon_tsdb_compactions_total", "counter"),
        ("kmon_tsdb_compactions_failed_total", "counter"),
        ("kmon_tsdb_time_retentions_total", "counter"),
        ("kmon_tsdb_size_retentions_total", "counter"),
        ("kmon_tsdb_storage_blocks_bytes", "gauge"),
        ("kmon_tsdb_wal_storage_size_bytes", "gauge"),
        ("kmon_tsdb_lowest_timestamp_seconds", "gauge"),
        ("kmon_tsdb_highest_timestamp_seconds", "gauge"),
        ("kmon_tsdb_last_error_timestamp_seconds", "gauge"),
    ];
    for (name, kind) in families {
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "{name}\n{text}"
        );
    }
    assert_eq!(before["kmon_tsdb_head_series"], 0.0);

    fill(&db, 3, 0, 17 * MIN);
    let mut app = db.appender();
    let _ = app.append(None, &lbl("m", 0), 15 * MIN, 5.0).unwrap_err(); // out of order
    let _ = app.append(None, &lbl("m", 0), 16 * MIN, 5.0).unwrap_err(); // duplicate
    drop(app);
    db.cut().expect("cut");
    let mut app = db.appender();
    let _ = app.append(None, &lbl("m", 9), MIN, 5.0).unwrap_err(); // out of bounds
    drop(app);
    let wal = db.wal.clone().expect("a WAL");
    wal.set_test_space(Some(0));
    commit_at(&db, 1, 20 * MIN).expect_err("full");
    wal.set_test_space(None);
    db.sync().expect("sync");

    let mut text = String::new();
    db.render_metrics(&mut text);
    let m = parse_metrics(&text);
    let f = "{type=\"float\"}";
    assert_eq!(m["kmon_tsdb_head_series"], 3.0);
    assert_eq!(
        m[&format!("kmon_tsdb_head_samples_appended_total{f}")],
        51.0
    );
    assert_eq!(m[&format!("kmon_tsdb_out_of_order_samples_total{f}")], 1.0);
    assert_eq!(m[&format!("kmon_tsdb_out_of_bound_samples_total{f}")], 1.0);
    assert_eq!(m["kmon_tsdb_duplicate_samples_total"], 1.0);
    assert_eq!(m["kmon_tsdb_wal_writes_failed_total"], 1.0);
    assert!(m["kmon_tsdb_wal_fsync_duration_seconds_count"] >= 1.0);
    assert_eq!(m["kmon_tsdb_blocks_loaded"], 1.0);
    assert_eq!(m["kmon_tsdb_head_cuts_total"], 1.0);
    assert!(m["kmon_tsdb_storage_blocks_bytes"] > 0.0);
    assert!(m["kmon_tsdb_wal_storage_size_bytes"] > 0.0);
    assert_eq!(m["kmon_tsdb_lowest_timestamp_seconds"], 0.0);
    assert_eq!(m["kmon_tsdb_highest_timestamp_seconds"], 16.0 * 60.0);
    assert_eq!(m["kmon_tsdb_head_min_valid_time_seconds"], 600.0);
    assert!(m["kmon_tsdb_last_error_timestamp_seconds"] > 1e9);
}

/// Entries of `dir` whose name holds `.tmp`.
fn tmp_dirs(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(".tmp"))
        .collect()
}

#[test]
fn a_failed_cut_leaves_no_tmp_dir_keeps_the_head_and_is_retried() {
    use crate::tsdb::block::writer::test_fault;
    let dir = tempfile::tempdir().expect("tempdir");
    let range = 10 * MIN;
    let mut o = opts();
    o.block_range_ms = range;
    let db = Db::open(dir.path(), o).expect("open");
    fill(&db, 3, 0, 17 * MIN);
    let want = dump(&db);
    test_fault::fail_after(Some(0));
    let e = db.cut().expect_err("the block write fails");
    test_fault::fail_after(None);
    assert!(e.to_string().contains("index"), "{e}");
    assert_eq!(tmp_dirs(dir.path()), Vec::<String>::new());
    assert!(db.blocks().is_empty());
    assert_eq!(dump(&db), want);
    assert_eq!(db.counters().cuts_failed(), 1);
    let msg = db.storage_error().expect("the error is kept");
    assert!(msg.contains("maintenance"), "{msg}");
    // The next pass writes the window.
    let r = db.cut().expect("retried");
    assert_eq!(r.written.len(), 1);
    assert_eq!(db.storage_error(), None);
    assert_eq!(dump(&db), want);
}

#[test]
fn a_failed_compaction_leaves_its_inputs_alone_and_is_retried() {
    use crate::tsdb::block::writer::test_fault;
    let dir = tempfile::tempdir().expect("tempdir");
    let range = 10 * MIN;
    let mut o = opts();
    o.block_range_ms = range;
    let db = Db::open(dir.path(), o).expect("open");
    fill(&db, 3, 0, 53 * MIN);
    let want = dump(&db);
    // The cut writes its blocks, then the compaction's write fails.
    test_fault::fail_after(Some(4));
    let e = db.cut().expect_err("the compaction fails");
    test_fault::fail_after(None);
    assert_eq!(db.counters().compactions_failed(), 1, "{e}");
    assert_eq!(db.counters().cuts(), 4);
    assert_eq!(db.blocks().len(), 4);
    assert_eq!(tmp_dirs(dir.path()), Vec::<String>::new());
    for b in db.blocks() {
        b.verify().expect("inputs intact");
    }
    assert_eq!(dump(&db), want);
    // Retried on the next pass.
    let r = db.cut().expect("retried");
    assert!(!r.compacted.is_empty(), "{r:?}");
    assert!(db.blocks().len() < 4);
    assert_eq!(db.counters().compactions_failed(), 1);
    assert_eq!(dump(&db), want);
    assert_eq!(db.storage_error(), None);
}

#[test]
fn a_failed_write_that_cannot_be_cut_off_continues_in_a_new_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let want;
    {
        let db = Db::open(dir.path(), opts()).expect("open");
        for t in 0..3 {
            commit_at(&db, 2, t * MIN).expect("commit");
        }
        let wal = db.wal.clone().expect("a WAL");
        let (seg, _) = wal.position();
        wal.set_test_space(Some(9));
        wal.set_test_fail_truncate(true);
        commit_at(&db, 2, 3 * MIN).expect_err("full, and the garbage stays");
        wal.set_test_space(None);
        wal.set_test_fail_truncate(false);
        commit_at(&db, 2, 3 * MIN).expect("commit");
        commit_at(&db, 2, 4 * MIN).expect("commit");
        // Not written after the garbage: in the next segment.
        assert_eq!(wal.position().0, seg + 1);
        want = dump(&db);
    }
    let db = Db::open(dir.path(), opts()).expect("reopen");
    // The 9 bytes of the failed write are found and cut off; nothing committed is lost.
    let r = &db.open_report().wal;
    assert_eq!(r.repairs.len(), 1, "{:?}", r.repairs);
    assert_eq!(r.repairs[0].dropped_bytes, 9, "{:?}", r.repairs);
    assert_eq!(dump(&db), want);
    assert_eq!(want[&lbl("m", 0).to_string()].len(), 5);
}
