//! Tests of ingestion limits and failures at the data-dir level: the head's min valid
//! time at open, cut and replay, the `kmon_tsdb_*` metrics, and failed writes.

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
        let mut app = db.appender();
        let e = app.append(None, &lbl("m", 7), range - 1, 1.0).unwrap_err();
        assert!(matches!(e, StorageError::OutOfBounds { min, .. } if min == range));
        drop(app);
        assert_eq!(db.head().counters().out_of_bounds(), 1);
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
    let mut late = db.appender();
    late.append(None, &lbl("quiet", 0), 5 * MIN, 1.0)
        .expect("in bounds before the cut");
    let r = db.cut().expect("cut");
    assert_eq!(r.written.len(), 1);
    late.commit().expect("commit");
    assert_eq!(db.head().counters().out_of_bounds(), 1);
    assert!(!dump(&db).contains_key(&lbl("quiet", 0).to_string()));
}
