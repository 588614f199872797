use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::model::{Labels, MatchOp, Matcher};
use crate::storage::SelectHints;
use crate::tsdb::wal::SyncPolicy;

const MIN: i64 = 60_000;

pub(super) fn opts() -> DbOptions {
    DbOptions {
        wal: WalOptions {
            sync: SyncPolicy::Never,
            ..WalOptions::default()
        },
        ..DbOptions::default()
    }
}

pub(super) fn lbl(name: &str, i: usize) -> Labels {
    Labels::from_pairs(&[("__name__", name), ("i", &i.to_string())])
}

/// Appends samples of `n` series at every minute in `[from, to)`, one commit per minute.
pub(super) fn fill(db: &Db, n: usize, from: i64, to: i64) {
    let mut t = from;
    while t < to {
        let mut app = db.appender();
        for i in 0..n {
            app.append(None, &lbl("m", i), t, (t / MIN) as f64 + i as f64)
                .expect("append");
        }
        app.commit().expect("commit");
        t += MIN;
    }
}

/// Every sample of every series, by labels.
pub(super) fn dump(db: &Db) -> BTreeMap<String, Vec<(i64, f64)>> {
    let q = db.querier(i64::MIN, i64::MAX).expect("querier");
    let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").expect("matcher")];
    let hints = SelectHints {
        start: i64::MIN,
        end: i64::MAX,
        lazy: false,
    };
    let mut out = BTreeMap::new();
    for s in q.select(&all, &hints).expect("select") {
        let v: Vec<(i64, f64)> = s.samples.map(|x| (x.t, x.v)).collect();
        assert!(
            out.insert(s.labels.to_string(), v).is_none(),
            "series twice"
        );
    }
    out
}

fn expected(n: usize, from: i64, to: i64) -> BTreeMap<String, Vec<(i64, f64)>> {
    (0..n)
        .map(|i| {
            let v = (from..to)
                .step_by(MIN as usize)
                .map(|t| (t, (t / MIN) as f64 + i as f64))
                .collect();
            (lbl("m", i).to_string(), v)
        })
        .collect()
}

#[test]
fn data_survives_close_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = Db::open(dir.path(), opts()).expect("open");
        fill(&db, 3, 0, 30 * MIN);
    }
    let db = Db::open(dir.path(), opts()).expect("reopen");
    assert_eq!(db.open_report().wal.samples, 90);
    assert_eq!(dump(&db), expected(3, 0, 30 * MIN));
    // And it keeps taking appends after the replayed data.
    fill(&db, 3, 30 * MIN, 31 * MIN);
    assert_eq!(dump(&db), expected(3, 0, 31 * MIN));
}

#[test]
fn a_torn_wal_tail_is_cut_and_the_rest_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = Db::open(dir.path(), opts()).expect("open");
        fill(&db, 2, 0, 20 * MIN);
    }
    let segs = crate::tsdb::wal::list_segments(&dir.path().join(WAL_DIR)).expect("segments");
    let (_, last) = segs
        .iter()
        .rev()
        .find(|(_, p)| std::fs::metadata(p).map(|m| m.len() > 0).unwrap_or(false))
        .expect("a segment with data");
    let len = std::fs::metadata(last).expect("meta").len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(last)
        .expect("open segment");
    f.set_len(len - 5).expect("truncate");
    drop(f);
    let db = Db::open(dir.path(), opts()).expect("reopen");
    assert_eq!(db.open_report().wal.repairs.len(), 1);
    // The last commit (one minute of both series) is gone, everything before is there.
    assert_eq!(dump(&db), expected(2, 0, 19 * MIN));
}

#[test]
fn a_cut_writes_a_block_and_queries_see_every_sample_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), opts()).expect("open");
    let range = db.options().block_range_ms;
    // 2h + 2h + 1 minute: the head spans more than 1.5 ranges once.
    let end = 2 * range + MIN;
    fill(&db, 4, 0, end);
    let r = db.cut().expect("cut");
    assert_eq!(r.written.len(), 1, "{r:?}");
    assert!(r.deleted.is_empty());
    let blocks = db.blocks();
    assert_eq!(blocks.len(), 1);
    assert_eq!(
        (blocks[0].meta().min_time, blocks[0].meta().max_time),
        (0, range)
    );
    blocks[0].verify().expect("the block verifies");
    assert_eq!(db.head().time_range().map(|r| r.0), Some(range));
    assert_eq!(dump(&db), expected(4, 0, end));
    // A second cut has nothing to do: the head spans 1 range + 1 minute.
    assert!(db.cut().expect("cut").written.is_empty());
    drop(db);
    // Reopened: the WAL still holds the block's samples; each is returned once.
    let db = Db::open(dir.path(), opts()).expect("reopen");
    assert_eq!(db.blocks().len(), 1);
    assert_eq!(dump(&db), expected(4, 0, end));
    assert!(db.cut().expect("cut").written.is_empty());
}

#[test]
fn retention_by_time_and_by_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let range = 10 * MIN;
    let mut o = opts();
    o.block_range_ms = range;
    o.retention_ms = 3 * range;
    let db = Db::open(dir.path(), o).expect("open");
    fill(&db, 2, 0, 8 * range);
    let r = db.cut().expect("cut");
    // Windows [0, 10m) … [60m, 70m) are written; the head keeps [70m, 80m).
    assert_eq!(r.written.len(), 7, "{r:?}");
    // Newest data is at 80m − 1m: blocks ending at or before 49m are dropped.
    assert_eq!(r.deleted.len(), 4, "{r:?}");
    let left: Vec<i64> = db.blocks().iter().map(|b| b.meta().min_time).collect();
    assert_eq!(left, vec![4 * range, 5 * range, 6 * range]);
    for id in &r.deleted {
        assert!(!dir.path().join(id).exists());
    }
    drop(db);

    // Size: keep only what fits in two blocks' bytes.
    let mut o2 = o;
    o2.retention_ms = i64::MAX / 2;
    let sizes: Vec<u64> = {
        let db = Db::open(dir.path(), o2).expect("reopen");
        db.blocks().iter().map(|b| b.size_bytes()).collect()
    };
    o2.retention_bytes = Some(sizes[1] + sizes[2]);
    let db = Db::open(dir.path(), o2).expect("reopen");
    let r = db.cut().expect("cut");
    assert_eq!(r.deleted.len(), 1, "{r:?}");
    let left: Vec<i64> = db.blocks().iter().map(|b| b.meta().min_time).collect();
    assert_eq!(left, vec![5 * range, 6 * range]);
}

fn hash_tree(dir: &Path) -> BTreeMap<String, (u64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            let key = p.strip_prefix(dir).expect("prefix").display().to_string();
            if p.is_dir() {
                out.insert(key, (0, Vec::new()));
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).expect("read");
                let mtime = std::fs::metadata(&p)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0);
                out.insert(key, (mtime, bytes));
            }
        }
    }
    out
}

#[test]
fn read_only_open_changes_nothing_and_refuses_appends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = opts();
    o.block_range_ms = 10 * MIN;
    {
        let db = Db::open(dir.path(), o).expect("open");
        fill(&db, 2, 0, 30 * MIN);
        db.cut().expect("cut");
        // [0, 10m) and [10m, 20m).
        assert_eq!(db.blocks().len(), 2);
    }
    // A leftover unfinished block must not be removed read-only either.
    std::fs::create_dir(
        dir.path()
            .join("01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp-for-creation"),
    )
    .expect("tmp dir");
    let before = hash_tree(dir.path());
    o.read_only = true;
    {
        let db = Db::open(dir.path(), o).expect("read-only open");
        assert_eq!(dump(&db), expected(2, 0, 30 * MIN));
        let mut app = db.appender();
        assert!(matches!(
            app.append(None, &lbl("m", 0), 31 * MIN, 1.0),
            Err(StorageError::ReadOnly)
        ));
        assert!(db.cut().expect("no-op").written.is_empty());
        // A writer may hold the lock meanwhile.
        let _w = DirLock::acquire(dir.path()).expect("read-only takes no lock");
    }
    assert_eq!(hash_tree(dir.path()), before);
    // A missing dir is empty, and is not created.
    let missing = dir.path().join("nope");
    let db = Db::open(&missing, o).expect("missing dir");
    assert!(dump(&db).is_empty());
    assert!(!missing.exists());
}

#[test]
fn a_second_writer_is_refused_naming_this_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _db = Db::open(dir.path(), opts()).expect("open");
    let err = Db::open(dir.path(), opts()).expect_err("locked");
    assert!(
        matches!(err, DbError::Lock(LockError::Held { .. })),
        "{err}"
    );
    if cfg!(target_os = "linux") {
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
    }
}

#[test]
fn a_block_that_fails_to_open_is_quarantined() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = opts();
    o.block_range_ms = 10 * MIN;
    let id = {
        let db = Db::open(dir.path(), o).expect("open");
        fill(&db, 2, 0, 30 * MIN);
        db.cut().expect("cut").written[0].clone()
    };
    std::fs::write(dir.path().join(&id).join("index"), b"garbage").expect("clobber");
    let db = Db::open(dir.path(), o).expect("open despite a bad block");
    let q = &db.open_report().quarantined;
    assert_eq!(q.len(), 1, "{q:?}");
    assert!(q[0].error.contains("index"), "{}", q[0].error);
    let moved = dir.path().join(format!("{id}{CORRUPT_SUFFIX}"));
    assert_eq!(q[0].moved_to.as_deref(), Some(moved.as_path()));
    assert!(moved.is_dir());
    assert_eq!(db.blocks().len(), 1);
    // Everything after the lost block is still served (the good block, then the head
    // replayed from the WAL; the head keeps nothing older than the newest block).
    assert_eq!(dump(&db), expected(2, 10 * MIN, 30 * MIN));
}

#[test]
fn the_background_thread_cuts_blocks_and_stops_with_the_db() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = opts();
    o.block_range_ms = 10 * MIN;
    let db = Arc::new(Db::open(dir.path(), o).expect("open"));
    fill(&db, 2, 0, 30 * MIN);
    db.start_maintenance(Duration::from_millis(10));
    // Bounded wait for the thread's first pass (no timing assertion: only a bound).
    let start = std::time::Instant::now();
    while db.blocks().len() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no block was cut in the background"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(dump(&db), expected(2, 0, 30 * MIN));
    let weak = Arc::downgrade(&db);
    drop(db);
    // The thread holds no strong reference between passes, so the Db (and its lock) go.
    let start = std::time::Instant::now();
    while weak.upgrade().is_some() {
        assert!(start.elapsed() < Duration::from_secs(30), "the Db was kept");
        std::thread::sleep(Duration::from_millis(10));
    }
    let start = std::time::Instant::now();
    while Db::open(dir.path(), o).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the lock was kept"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn cuts_checkpoint_the_wal_and_compact_blocks_keeping_every_sample() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = DbOptions {
        block_range_ms: 10 * MIN,
        wal: WalOptions {
            // Small segments, so cuts leave whole segments behind to checkpoint.
            segment_size: 64 * 1024,
            sync: SyncPolicy::Never,
        },
        ..DbOptions::default()
    };
    let db = Db::open(dir.path(), o).expect("open");
    // 7 hours of 200 series, cut as it goes (as the background thread would).
    let end = 7 * 60 * MIN;
    let mut t = 0;
    let mut report = CutReport::default();
    while t < end {
        fill(&db, 200, t, t + 30 * MIN);
        t += 30 * MIN;
        let r = db.cut().expect("cut");
        report.written.extend(r.written);
        report.compacted.extend(r.compacted);
        report.checkpoint = r.checkpoint.or(report.checkpoint);
    }
    assert!(report.written.len() >= 30, "{report:?}");
    // Compaction built bigger blocks (30m and 90m ranges from 10m ones) and removed what
    // they replaced.
    assert!(!report.compacted.is_empty(), "{report:?}");
    let blocks = db.blocks();
    assert!(blocks.len() < report.written.len(), "{}", blocks.len());
    assert!(blocks.iter().any(|b| b.meta().compaction.level >= 2));
    for b in &blocks {
        b.verify().expect("every block verifies");
    }
    let on_disk = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter(|e| {
            e.as_ref()
                .map(|e| Block::is_block_dir(&e.path()))
                .unwrap_or(false)
        })
        .count();
    assert_eq!(on_disk, blocks.len(), "replaced blocks are deleted");
    // The WAL was checkpointed: a checkpoint dir, and fewer segments than were written.
    let upto = report.checkpoint.expect("a checkpoint was made");
    assert!(
        dir.path()
            .join("wal")
            .join(format!("checkpoint.{upto:08}"))
            .is_dir()
    );
    assert_eq!(dump(&db), expected(200, 0, end));
    drop(db);
    // Reopened from the blocks, the checkpoint and the later segments: every sample once.
    let db = Db::open(dir.path(), opts()).expect("reopen");
    assert_eq!(dump(&db), expected(200, 0, end));
}

#[test]
fn a_corrupt_chunk_marks_its_block_failed_and_the_rest_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = DbOptions {
        block_range_ms: 10 * MIN,
        ..opts()
    };
    let db = Db::open(dir.path(), o).expect("open");
    // Two 10m blocks, then corrupt the first block's first chunk.
    fill(&db, 3, 0, 35 * MIN);
    db.cut().expect("cut");
    let first = db.blocks()[0].clone();
    let seg = first.dir().join("chunks").join("000001");
    let mut b = std::fs::read(&seg).expect("read");
    b[12] ^= 0x40;
    std::fs::write(&seg, &b).expect("write");
    // A query skips the bad chunk and serves everything else, and counts it.
    let got = dump(&db);
    let want = expected(3, 0, 35 * MIN);
    assert_eq!(got.len(), 3);
    let lost: usize =
        want.values().map(Vec::len).sum::<usize>() - got.values().map(Vec::len).sum::<usize>();
    assert_eq!(lost, 10, "one chunk of 10 samples");
    assert_eq!(db.corrupt_chunks_seen(), 1);
    // The next cut makes a third block; the planner would compact the 30m window, which
    // fails on the bad chunk: the block is marked and the cut goes on.
    fill(&db, 3, 35 * MIN, 60 * MIN);
    db.cut().expect("a cut with a corrupt input still succeeds");
    let marked: Vec<_> = db
        .blocks()
        .iter()
        .filter(|b| b.meta().compaction_failed())
        .map(|b| b.meta().ulid.clone())
        .collect();
    assert_eq!(marked, vec![first.meta().ulid.clone()]);
    let on_disk = crate::tsdb::block::BlockMeta::load(first.dir()).expect("meta");
    assert!(on_disk.compaction_failed());
    let mut text = String::new();
    crate::tsdb::metrics::render(&db, &mut text);
    assert!(
        text.contains("\nkmon_tsdb_blocks_compaction_failed 1\n"),
        "{text}"
    );
    assert!(
        text.contains("\nkmon_tsdb_corrupt_chunks_skipped 1\n"),
        "{text}"
    );
    // Later cuts leave it alone, and everything but the chunk is still served.
    db.cut().expect("cut again");
    let got = dump(&db);
    let want = expected(3, 0, 60 * MIN);
    let lost: usize =
        want.values().map(Vec::len).sum::<usize>() - got.values().map(Vec::len).sum::<usize>();
    assert_eq!(lost, 10);
}

mod admin;
