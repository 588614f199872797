//! Tests of deletion, tombstone cleaning and snapshots on a `Db`.

use super::*;
use crate::tsdb::block::BlockMeta;

type Dump = BTreeMap<String, Vec<(i64, f64)>>;

/// `m` without the samples of series `which` in `[lo, hi]`.
fn without(mut m: Dump, which: &[usize], lo: i64, hi: i64) -> Dump {
    for &i in which {
        let key = lbl("m", i).to_string();
        if let Some(v) = m.get_mut(&key) {
            v.retain(|&(t, _)| t < lo || t > hi);
            if v.is_empty() {
                m.remove(&key);
            }
        }
    }
    m
}

fn sel(re: &str) -> Vec<Matcher> {
    vec![Matcher::new(MatchOp::Regex, "i", re).expect("matcher")]
}

fn small_blocks() -> DbOptions {
    DbOptions {
        block_range_ms: 10 * MIN,
        ..opts()
    }
}

#[test]
fn delete_in_the_head_survives_reopen_and_appends_continue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let want = without(expected(3, 0, 30 * MIN), &[1], 10 * MIN, 19 * MIN);
    {
        let db = Db::open(dir.path(), opts()).expect("open");
        fill(&db, 3, 0, 30 * MIN);
        let r = db.delete(&sel("1"), 10 * MIN, 19 * MIN).expect("delete");
        assert_eq!((r.head_series, r.head_samples, r.blocks), (1, 10, 0));
        assert_eq!(dump(&db), want);
        // A second identical delete finds nothing.
        assert_eq!(
            db.delete(&sel("1"), 10 * MIN, 19 * MIN).expect("again"),
            DeleteReport::default()
        );
    }
    let db = Db::open(dir.path(), opts()).expect("reopen");
    assert_eq!(db.open_report().wal.tombstones, 1);
    assert_eq!(dump(&db), want);
    fill(&db, 3, 30 * MIN, 31 * MIN);
    let mut want = without(expected(3, 0, 31 * MIN), &[1], 10 * MIN, 19 * MIN);
    assert_eq!(dump(&db), want);
    // Deleting a whole series drops it from the head and the label index.
    db.delete(&sel("2"), i64::MIN, i64::MAX)
        .expect("delete all");
    want = without(want, &[2], i64::MIN, i64::MAX);
    assert_eq!(dump(&db), want);
    let q = db.querier(i64::MIN, i64::MAX).expect("querier");
    assert_eq!(q.label_values("i", &[]).expect("values"), ["0", "1"]);
}

#[test]
fn delete_in_blocks_writes_tombstones_that_reopen_and_clean_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), small_blocks()).expect("open");
    fill(&db, 3, 0, 40 * MIN);
    assert!(db.cut().expect("cut").written.len() >= 2);
    let want = without(expected(3, 0, 40 * MIN), &[0, 2], 3 * MIN, 12 * MIN);
    let r = db.delete(&sel("0|2"), 3 * MIN, 12 * MIN).expect("delete");
    assert_eq!((r.head_series, r.blocks, r.block_series), (0, 2, 4));
    assert_eq!(dump(&db), want);
    let first = db.blocks()[0].clone();
    assert_eq!(first.num_tombstones(), 2);
    // Clamped to each series' data in the block, as Prometheus writes them.
    let mut stones: Vec<Vec<(i64, i64)>> = first.tombstones().into_values().collect();
    stones.sort();
    assert_eq!(stones, vec![vec![(3 * MIN, 9 * MIN)]; 2]);
    let second = db.blocks()[1].clone();
    assert!(
        second
            .tombstones()
            .values()
            .all(|v| v == &vec![(10 * MIN, 12 * MIN)])
    );
    drop(second);
    let meta = BlockMeta::load(first.dir()).expect("meta");
    assert_eq!(meta.stats.num_tombstones, 2);
    assert!(!first.dir().join("tombstones.tmp").exists());
    drop(first);
    drop(db);

    let db = Db::open(dir.path(), small_blocks()).expect("reopen");
    assert_eq!(dump(&db), want);
    let before = db.blocks().len();
    let cleaned = db.clean_tombstones().expect("clean");
    assert_eq!(cleaned.len(), 2, "{cleaned:?}");
    assert_eq!(db.blocks().len(), before);
    for b in db.blocks() {
        assert_eq!(b.num_tombstones(), 0);
        b.verify().expect("verifies");
        // Prometheus's CleanTombstones makes a level-1 block that is its own source and
        // names the old one as its parent.
        if let Some((old, _)) = cleaned
            .iter()
            .find(|(_, new)| new.as_deref() == Some(b.meta().ulid.as_str()))
        {
            let c = &b.meta().compaction;
            assert_eq!(
                (c.level, c.sources.clone()),
                (1, vec![b.meta().ulid.clone()])
            );
            assert_eq!(c.other["parents"][0]["ulid"], old.as_str());
        }
        assert!(!cleaned.iter().any(|(old, _)| *old == b.meta().ulid));
    }
    for (old, _) in &cleaned {
        assert!(!dir.path().join(old).exists(), "{old} deleted");
    }
    assert_eq!(dump(&db), want);
    drop(db);
    let db = Db::open(dir.path(), small_blocks()).expect("reopen");
    assert_eq!(dump(&db), want);
}

#[test]
fn delete_across_blocks_and_head_then_cut_checkpoint_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = DbOptions {
        wal: WalOptions {
            segment_size: 64 * 1024,
            sync: SyncPolicy::Never,
        },
        ..small_blocks()
    };
    let db = Db::open(dir.path(), o).expect("open");
    fill(&db, 20, 0, 60 * MIN);
    db.cut().expect("cut");
    let head_lo = db.head().time_range().expect("head").0;
    assert!(head_lo > 20 * MIN);
    // From inside the blocks to inside the head.
    let (lo, hi) = (15 * MIN, head_lo + 5 * MIN);
    let r = db.delete(&sel("1|3"), lo, hi).expect("delete");
    assert_eq!(r.head_series, 2);
    assert!(r.blocks >= 2);
    let mut want = without(expected(20, 0, 60 * MIN), &[1, 3], lo, hi);
    assert_eq!(dump(&db), want);

    // Many new series at one instant roll the WAL past the tombstone's segment without
    // moving the head's time, so a checkpoint must carry the deleted range's tombstone
    // (its samples are at or after the head's min time and are carried too).
    let tomb_seg = db.wal.as_ref().expect("wal").position().0;
    let t = 60 * MIN;
    let mut app = db.appender();
    for i in 0..3000 {
        app.append(None, &lbl("filler", i), t, 1.0).expect("append");
    }
    app.commit().expect("commit");
    let wal = db.wal.as_ref().expect("wal");
    let current = wal.position().0;
    assert!(current > tomb_seg, "{current} > {tomb_seg}");
    let mint = db.head().time_range().expect("head").0;
    assert!(mint <= hi);
    let stats = wal
        .checkpoint(current - 1, |r| db.head().has_series(r), mint)
        .expect("checkpoint");
    assert!(stats.total_tombstones >= 2, "{stats:?}");
    assert_eq!(stats.dropped_tombstones, 0);
    for i in 0..3000 {
        want.insert(lbl("filler", i).to_string(), vec![(t, 1.0)]);
    }
    assert_eq!(dump(&db), want);
    drop(db);
    let db = Db::open(dir.path(), o).expect("reopen");
    assert_eq!(dump(&db), want);

    // Cuts and compactions carry the deletion over into the blocks they write.
    fill(&db, 20, 61 * MIN, 120 * MIN);
    db.cut().expect("cut");
    let mut want = without(expected(20, 0, 120 * MIN), &[1, 3], lo, hi);
    // The fills skipped 60m for the m series (the fillers' instant).
    for v in want.values_mut() {
        v.retain(|&(t, _)| t != 60 * MIN);
    }
    let mut got = dump(&db);
    got.retain(|k, _| !k.contains("filler"));
    assert_eq!(got, want);
}

#[test]
fn delete_is_refused_read_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(Db::open(dir.path(), opts()).expect("create"));
    let ro = DbOptions {
        read_only: true,
        ..opts()
    };
    let db = Db::open(dir.path(), ro).expect("open read-only");
    assert!(matches!(db.delete(&sel("1"), 0, 1), Err(DbError::ReadOnly)));
    assert!(matches!(db.clean_tombstones(), Err(DbError::ReadOnly)));
    assert!(matches!(
        crate::storage::Admin::snapshot(&db, false),
        Err(crate::storage::StorageError::ReadOnly)
    ));
    assert!(!dir.path().join(SNAPSHOTS_DIR).exists());
}

/// The largest block max time in a snapshot dir.
fn snap_newest(dir: &Path) -> i64 {
    std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| BlockMeta::load(&e.ok()?.path()).ok())
        .map(|m| m.max_time)
        .max()
        .expect("blocks")
}

#[test]
fn a_snapshot_holds_the_blocks_and_the_head_and_opens_as_the_same_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), small_blocks()).expect("open");
    fill(&db, 4, 0, 47 * MIN);
    db.cut().expect("cut");
    db.delete(&sel("2"), 5 * MIN, 6 * MIN).expect("delete");
    let want = dump(&db);
    let mut steps = Vec::new();
    let snap_dir = out.path().join("snap");
    let r = db
        .snapshot(&snap_dir, true, &mut |p| steps.push(p))
        .expect("snapshot");
    assert_eq!(r.linked.len(), db.blocks().len());
    assert!(!r.from_head.is_empty());
    // The last head block ends just after the newest sample.
    let newest = snap_newest(&snap_dir);
    assert_eq!(newest, 46 * MIN + 1);
    let last = steps.last().expect("progress");
    assert_eq!(last.done, last.total);
    // The links share the blocks' inodes.
    use std::os::unix::fs::MetadataExt;
    let b0 = &db.blocks()[0];
    let a = std::fs::metadata(b0.dir().join("index"))
        .expect("meta")
        .ino();
    let b = std::fs::metadata(snap_dir.join(&b0.meta().ulid).join("index"))
        .expect("linked")
        .ino();
    assert_eq!(a, b);
    let ro = DbOptions {
        read_only: true,
        ..small_blocks()
    };
    let snap = Db::open(&snap_dir, ro).expect("open snapshot");
    assert!(snap.open_report().quarantined.is_empty());
    assert_eq!(dump(&snap), want);
    for b in snap.blocks() {
        b.verify().expect("verifies");
    }
    // Without the head: only the blocks' data.
    let blocks_only = out.path().join("blocks");
    let r = db
        .snapshot(&blocks_only, false, &mut |_| {})
        .expect("snapshot");
    assert!(r.from_head.is_empty());
    let end = db
        .blocks()
        .iter()
        .map(|b| b.meta().max_time)
        .max()
        .expect("blocks");
    let snap = Db::open(&blocks_only, ro).expect("open snapshot");
    let mut want_blocks = want.clone();
    for v in want_blocks.values_mut() {
        v.retain(|&(t, _)| t < end);
    }
    assert_eq!(dump(&snap), want_blocks);
    // The admin seam names a dir under snapshots/.
    let name = crate::storage::Admin::snapshot(&db, false).expect("admin snapshot");
    assert!(
        dir.path().join(SNAPSHOTS_DIR).join(&name).is_dir(),
        "{name}"
    );
    assert_eq!(
        name.len(),
        16 + 1 + name.split('-').nth(1).map_or(0, str::len)
    );
}

#[test]
fn a_block_deleted_under_a_read_only_snapshot_is_reported_as_vanished() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), small_blocks()).expect("open");
    fill(&db, 2, 0, 40 * MIN);
    db.cut().expect("cut");
    let ro = Db::open(
        dir.path(),
        DbOptions {
            read_only: true,
            ..small_blocks()
        },
    )
    .expect("open read-only");
    // As a compaction in the writing process would: the block dir goes away.
    let gone = ro.blocks()[0].dir().to_path_buf();
    std::fs::remove_dir_all(&gone).expect("remove");
    let e = ro
        .snapshot(&out.path().join("s"), true, &mut |_| {})
        .unwrap_err();
    assert!(is_vanished(&e), "{e}");
    assert!(!is_vanished(&DbError::ReadOnly));
}

#[test]
fn a_selector_matching_only_empty_values_deletes_every_series_without_the_label() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), small_blocks()).expect("open");
    fill(&db, 3, 0, 40 * MIN);
    db.cut().expect("cut");
    let head_lo = db.head().time_range().expect("head").0;
    let none = [Matcher::new(MatchOp::Equal, "x", "").expect("matcher")];
    let r = db.delete(&none, 5 * MIN, head_lo + MIN).expect("delete");
    assert_eq!(r.head_series, 3, "{r:?}");
    assert!(r.block_series >= 3, "{r:?}");
    let want = without(expected(3, 0, 40 * MIN), &[0, 1, 2], 5 * MIN, head_lo + MIN);
    assert_eq!(dump(&db), want);
    // `i` is set on every series: nothing matches.
    let set = [Matcher::new(MatchOp::Equal, "i", "").expect("matcher")];
    assert_eq!(
        db.delete(&set, 0, 40 * MIN).expect("delete"),
        DeleteReport::default()
    );
}

#[test]
fn the_next_cut_compacts_a_block_whose_series_were_all_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), small_blocks()).expect("open");
    fill(&db, 2, 0, 40 * MIN);
    db.cut().expect("cut");
    let blocks = db.blocks();
    assert!(blocks.len() >= 2, "{blocks:?}");
    // The planner looks at the blocks before the newest one, newest first (as
    // Prometheus's): every series of that block loses a sample, tombstones >= series.
    let target = blocks[blocks.len() - 2].clone();
    let first = target.meta().ulid.clone();
    let t = target.meta().min_time;
    db.delete(&sel(".*"), t, t).expect("delete");
    assert_eq!(target.num_tombstones(), 2);
    drop((blocks, target));
    let r = db.cut().expect("cut");
    assert!(
        r.compacted
            .iter()
            .any(|(_, old)| old == &vec![first.clone()]),
        "{r:?}"
    );
    assert!(db.blocks().iter().all(|b| b.num_tombstones() == 0));
    assert_eq!(dump(&db), without(expected(2, 0, 40 * MIN), &[0, 1], t, t));
}

/// The tombstone records in `dir`'s WAL segments: (ref, mint, maxt).
fn wal_tombstones(dir: &Path) -> Vec<(u64, i64, i64)> {
    fn varint(b: &[u8], pos: &mut usize) -> i64 {
        let mut u: u64 = 0;
        let mut shift = 0;
        while let Some(&byte) = b.get(*pos) {
            *pos += 1;
            u |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte < 0x80 {
                break;
            }
        }
        ((u >> 1) as i64) ^ -((u & 1) as i64)
    }
    let mut out = Vec::new();
    let segs = crate::tsdb::wal::list_segments(&dir.join("wal")).expect("segments");
    for (_, path) in segs {
        crate::tsdb::wal::scan_segment(&path, |f| {
            if f.data.first() != Some(&3) {
                return;
            }
            let b = f.data;
            let mut pos = 1;
            while pos + 8 <= b.len() {
                let r = u64::from_be_bytes(b[pos..pos + 8].try_into().expect("8 bytes"));
                pos += 8;
                let lo = varint(b, &mut pos);
                let hi = varint(b, &mut pos);
                out.push((r, lo, hi));
            }
        })
        .expect("scan");
    }
    out
}

#[test]
fn head_tombstones_are_logged_clamped_to_the_series_samples() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), opts()).expect("open");
    fill(&db, 2, 5 * MIN, 30 * MIN);
    db.delete(&sel("1"), i64::MIN, 10 * MIN).expect("delete");
    db.delete(&sel("0"), 20 * MIN, i64::MAX).expect("delete");
    let stones = wal_tombstones(dir.path());
    let ranges: Vec<(i64, i64)> = stones.iter().map(|&(_, lo, hi)| (lo, hi)).collect();
    assert_eq!(ranges, [(5 * MIN, 10 * MIN), (20 * MIN, 29 * MIN)]);
    drop(db);
    let db = Db::open(dir.path(), opts()).expect("reopen");
    let want = without(
        without(expected(2, 5 * MIN, 30 * MIN), &[1], 5 * MIN, 10 * MIN),
        &[0],
        20 * MIN,
        29 * MIN,
    );
    assert_eq!(dump(&db), want);
}
