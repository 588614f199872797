//! Tests of `WalFollow`: following while a head appends from another thread, resuming
//! from a saved position, a checkpoint truncating the log mid-follow, corrupt and torn
//! records, compressed records.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::segment::{FRAG_FULL, SNAPPY_FLAG, ZSTD_FLAG};
use super::*;
use crate::model::Labels;
use crate::storage::{Appendable, WalEvent, WalFollower, WalPosition, WalSample};
use crate::tsdb::commit::{SampleRecord, SeriesRecord};
use crate::tsdb::head::HeadOptions;

fn opts(segment_size: u64) -> WalOptions {
    WalOptions {
        segment_size,
        sync: SyncPolicy::Never,
    }
}

fn lbl(i: usize) -> Labels {
    Labels::from_pairs(&[("__name__", "m"), ("i", &i.to_string())])
}

fn head_on(wal: &Arc<Wal>) -> Head {
    Head::new(HeadOptions {
        commit_log: Some(wal.clone()),
        ..HeadOptions::default()
    })
}

/// Commits batch `b`: one sample at `1000 * b` for each of `per` series.
fn commit(head: &Head, b: usize, per: usize) {
    let mut a = head.appender();
    for i in 0..per {
        a.append(None, &lbl(i), 1000 * b as i64, (b * per + i) as f64)
            .unwrap();
    }
    a.commit().unwrap();
}

/// What a follower reported, by kind.
#[derive(Default, Debug)]
struct Seen {
    series: Vec<(u64, Labels)>,
    samples: Vec<WalSample>,
    gaps: Vec<(WalPosition, WalPosition)>,
    /// The position after each event.
    positions: Vec<WalPosition>,
}

impl Seen {
    fn take(&mut self, pos: WalPosition, ev: WalEvent) {
        self.positions.push(pos);
        match ev {
            WalEvent::Series(s) => self.series.extend(s),
            WalEvent::Samples(s) => self.samples.extend(s),
            WalEvent::Gap { from, to } => self.gaps.push((from, to)),
        }
    }

    /// (series labels, t, v) of every sample, resolved through the reported series.
    fn resolved(&self) -> Vec<(Labels, i64, f64)> {
        let map: std::collections::HashMap<u64, &Labels> =
            self.series.iter().map(|(r, l)| (*r, l)).collect();
        self.samples
            .iter()
            .map(|s| {
                (
                    (*map.get(&s.series).expect("series reported")).clone(),
                    s.t,
                    s.v,
                )
            })
            .collect()
    }
}

/// Reads events until `done` holds of what was seen or until nothing comes for a while
/// (bounded: 20 s in all).
fn drain(f: &mut dyn WalFollower, seen: &mut Seen, done: impl Fn(&Seen) -> bool) {
    let limit = Instant::now() + Duration::from_secs(20);
    while !done(seen) && Instant::now() < limit {
        if let Some((p, ev)) = f.next(Duration::from_millis(200)).unwrap() {
            seen.take(p, ev);
        }
    }
}

fn expected(batches: std::ops::Range<usize>, per: usize) -> Vec<(Labels, i64, f64)> {
    batches
        .flat_map(|b| (0..per).map(move |i| (lbl(i), 1000 * b as i64, (b * per + i) as f64)))
        .collect()
}

#[test]
fn follows_a_head_appending_from_another_thread_across_segments() {
    let d = tempfile::tempdir().unwrap();
    // Two pages per segment: the writer rolls over many times.
    let wal = Arc::new(Wal::open(d.path(), opts(2 * PAGE_SIZE as u64)).unwrap());
    let head = Arc::new(head_on(&wal));
    let mut f = WalFollow::open(d.path(), None).unwrap();
    let (batches, per) = (400, 60);
    let h = head.clone();
    let writer = std::thread::spawn(move || {
        for b in 0..batches {
            commit(&h, b, per);
            if b % 50 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    });
    let mut seen = Seen::default();
    drain(&mut f, &mut seen, |s| s.samples.len() >= batches * per);
    writer.join().unwrap();
    assert_eq!(seen.resolved(), expected(0..batches, per));
    assert!(seen.gaps.is_empty());
    assert!(wal.position().0 > 2, "the test should cross segments");
    // Positions never go backwards, and the last is where the writer is.
    assert!(seen.positions.windows(2).all(|w| w[0] <= w[1]));
    let (s, o) = wal.position();
    assert_eq!(
        seen.positions.last(),
        Some(&WalPosition {
            segment: s,
            offset: o
        })
    );
    // Nothing more comes.
    assert!(f.next(Duration::from_millis(20)).unwrap().is_none());
}

#[test]
fn resumes_from_a_saved_position_with_the_series_before_it() {
    let d = tempfile::tempdir().unwrap();
    let wal = Arc::new(Wal::open(d.path(), opts(PAGE_SIZE as u64)).unwrap());
    let head = head_on(&wal);
    let per = 30;
    for b in 0..400 {
        commit(&head, b, per);
    }
    let mut f = WalFollow::open(d.path(), Some(WalPosition::default())).unwrap();
    let mut seen = Seen::default();
    drain(&mut f, &mut seen, |s| s.samples.len() >= 200 * per);
    assert_eq!(seen.samples.len(), 200 * per);
    let saved = *seen.positions.last().unwrap();
    assert!(
        saved.segment > 0,
        "the saved position should be past segment 0"
    );
    // More series after the saved position.
    let mut a = head.appender();
    a.append(None, &lbl(999), 100_000, 1.0).unwrap();
    a.commit().unwrap();

    let mut g = WalFollow::open(d.path(), Some(saved)).unwrap();
    let mut again = Seen::default();
    let want = 200 * per + 1;
    drain(&mut g, &mut again, |s| s.samples.len() >= want);
    let mut all = expected(200..400, per);
    all.push((lbl(999), 100_000, 1.0));
    assert_eq!(again.resolved(), all);
    // The series logged before the position came first, at the position itself.
    assert_eq!(again.positions[0], saved);
    let first: Vec<Labels> = again.series[..per].iter().map(|(_, l)| l.clone()).collect();
    assert_eq!(first, (0..per).map(lbl).collect::<Vec<_>>());
    assert!(g.next(Duration::from_millis(20)).unwrap().is_none());

    // From `None`: every series, then only what is logged afterwards.
    let mut h = WalFollow::open(d.path(), None).unwrap();
    let mut now = Seen::default();
    drain(&mut h, &mut now, |s| s.series.len() > per);
    assert_eq!(now.series.len(), per + 1);
    assert!(now.samples.is_empty());
    commit(&head, 500, per);
    drain(&mut h, &mut now, |s| !s.samples.is_empty());
    assert_eq!(now.resolved(), expected(500..501, per));
}

#[test]
fn a_checkpoint_mid_follow_gives_a_gap_and_the_follower_goes_on() {
    let d = tempfile::tempdir().unwrap();
    let wal = Arc::new(Wal::open(d.path(), opts(PAGE_SIZE as u64)).unwrap());
    let head = head_on(&wal);
    let per = 30;
    for b in 0..600 {
        commit(&head, b, per);
    }
    let mut f = WalFollow::open(d.path(), Some(WalPosition::default())).unwrap();
    let mut seen = Seen::default();
    drain(&mut f, &mut seen, |s| !s.samples.is_empty());
    assert_eq!(seen.positions.last().unwrap().segment, 0);
    // Checkpoint and delete segments 0..=upto while the follower is inside segment 0.
    let upto = wal.position().0 - 2;
    assert!(upto >= 2);
    let stats = wal.checkpoint(upto, |_| true, i64::MIN).unwrap();
    assert!(stats.deleted_segments >= 3);
    assert!(!d.path().join(segment_name(0)).exists());
    commit(&head, 1000, per);
    drain(&mut f, &mut seen, |s| {
        s.samples.last().map(|x| x.t) == Some(1_000_000) && s.samples.len() % per == 0
    });
    // Segment 0, open already, was read to its end; then the gap up to the oldest
    // segment left, and everything from there on.
    assert_eq!(seen.gaps.len(), 1, "{:?}", seen.gaps);
    let (from, to) = seen.gaps[0];
    assert_eq!(from.segment, 0);
    assert_eq!(
        to,
        WalPosition {
            segment: upto + 1,
            offset: 0
        }
    );
    let got = seen.resolved();
    let ts: Vec<i64> = got.iter().map(|x| x.1).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(
        got.last().unwrap(),
        &(lbl(per - 1), 1_000_000, (1000 * per + per - 1) as f64)
    );

    // A follower starting inside the deleted segments: the gap, then the checkpoint's
    // series, then what is left.
    let mut g = WalFollow::open(d.path(), Some(WalPosition::default())).unwrap();
    let mut seen = Seen::default();
    drain(&mut g, &mut seen, |s| {
        s.samples.last().map(|x| x.t) == Some(1_000_000)
    });
    assert_eq!(seen.gaps.len(), 1);
    assert_eq!(seen.gaps[0].1.segment, upto + 1);
    assert!(seen.series.len() >= per);
    assert!(seen.resolved().iter().all(|x| x.1 > 0));
}

#[test]
fn a_corrupt_record_in_a_finished_segment_is_an_error_naming_segment_and_offset() {
    let d = tempfile::tempdir().unwrap();
    let wal = Arc::new(Wal::open(d.path(), opts(PAGE_SIZE as u64)).unwrap());
    let head = head_on(&wal);
    for b in 0..400 {
        commit(&head, b, 30);
    }
    assert!(wal.position().0 >= 2);
    let p = d.path().join(segment_name(1));
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[5000] ^= 0x55;
    std::fs::write(&p, &bytes).unwrap();
    let mut f = WalFollow::open(
        d.path(),
        Some(WalPosition {
            segment: 1,
            offset: 0,
        }),
    )
    .unwrap();
    let limit = Instant::now() + Duration::from_secs(10);
    let err = loop {
        assert!(Instant::now() < limit, "no error");
        match f.next(Duration::from_millis(100)) {
            Ok(_) => {}
            Err(e) => break e.to_string(),
        }
    };
    assert!(err.contains("00000001"), "{err}");
    assert!(err.contains("segment 1"), "{err}");
    assert!(err.contains("offset"), "{err}");
    // Asking again retries and fails the same way.
    assert_eq!(f.next(Duration::ZERO).unwrap_err().to_string(), err);
    // Starting after it (a prefix scan over it) is an error too, never a panic.
    let e = WalFollow::open(
        d.path(),
        Some(WalPosition {
            segment: 2,
            offset: 0,
        }),
    )
    .unwrap_err();
    assert!(e.to_string().contains("00000001"), "{e}");
}

fn full_fragment(flag: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![FRAG_FULL | flag];
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(data).to_be_bytes());
    out.extend_from_slice(data);
    out
}

fn samples(t: i64, n: usize) -> Vec<SampleRecord> {
    (0..n)
        .map(|i| SampleRecord {
            r: i as u64 + 1,
            t,
            v: i as f64,
        })
        .collect()
}

fn append(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn a_torn_tail_in_the_live_segment_is_waited_on() {
    let d = tempfile::tempdir().unwrap();
    let series: Vec<SeriesRecord> = (0..3)
        .map(|i| SeriesRecord {
            r: i as u64 + 1,
            labels: lbl(i),
        })
        .collect();
    let mut s = Vec::new();
    record::encode_series(&series, &mut s);
    // A record over several pages, written the way the writer does.
    let big = samples(5, 3);
    let other = tempfile::tempdir().unwrap();
    let mut w =
        super::segment::SegmentWriter::create(other.path(), 0, DEFAULT_SEGMENT_SIZE).unwrap();
    let mut a = Vec::new();
    record::encode_samples(&big, &mut a);
    let mut huge = Vec::new();
    let many: Vec<SampleRecord> = (0..6000)
        .map(|i| SampleRecord {
            r: (i % 3) + 1,
            t: 10 + i as i64,
            v: 0.5,
        })
        .collect();
    record::encode_samples(&many, &mut huge);
    w.log(&[&s, &a, &huge]).unwrap();
    drop(w);
    let full = std::fs::read(other.path().join(segment_name(0))).unwrap();
    let live = d.path().join(segment_name(0));
    // All but the end of the big record.
    let cut = full.len() - 100;
    append(&live, &full[..cut]);
    let mut f = WalFollow::open(d.path(), Some(WalPosition::default())).unwrap();
    let mut seen = Seen::default();
    drain(&mut f, &mut seen, |s| s.samples.len() >= 3);
    assert_eq!(seen.samples.len(), 3);
    // Torn in several ways: inside a fragment, inside a header, between fragments.
    for _ in 0..3 {
        assert!(f.next(Duration::from_millis(30)).unwrap().is_none());
    }
    append(&live, &full[cut..cut + 3]);
    assert!(f.next(Duration::from_millis(30)).unwrap().is_none());
    append(&live, &full[cut + 3..]);
    drain(&mut f, &mut seen, |s| s.samples.len() >= 6003);
    assert_eq!(seen.samples.len(), 6003);
    assert_eq!(seen.samples.last().unwrap().t, 10 + 5999);
    // A finished segment that ends torn is an error.
    append(&live, &full[..20]);
    std::fs::write(d.path().join(segment_name(1)), b"").unwrap();
    let e = f.next(Duration::from_millis(100)).unwrap_err().to_string();
    assert!(e.contains("segment 0") && e.contains("offset"), "{e}");
}

#[test]
fn compressed_records_are_followed_and_tombstones_skipped() {
    let d = tempfile::tempdir().unwrap();
    let series: Vec<SeriesRecord> = (0..3)
        .map(|i| SeriesRecord {
            r: i as u64 + 1,
            labels: lbl(i),
        })
        .collect();
    let (mut s, mut a, mut b, mut t) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    record::encode_series(&series, &mut s);
    record::encode_samples(&samples(1000, 3), &mut a);
    record::encode_samples(&samples(2000, 3), &mut b);
    record::encode_tombstones(
        &[Tombstone {
            r: 1,
            mint: 0,
            maxt: 10,
        }],
        &mut t,
    );
    let snappy = |x: &[u8]| snap::raw::Encoder::new().compress_vec(x).unwrap();
    let zstd = |x: &[u8]| {
        ruzstd::encoding::compress_to_vec(x, ruzstd::encoding::CompressionLevel::Fastest)
    };
    let mut seg0 = Vec::new();
    seg0.extend(full_fragment(SNAPPY_FLAG, &snappy(&s)));
    seg0.extend(full_fragment(SNAPPY_FLAG, &snappy(&a)));
    seg0.extend(full_fragment(0, &t));
    seg0.extend(full_fragment(ZSTD_FLAG, &zstd(&b)));
    std::fs::write(d.path().join(segment_name(0)), &seg0).unwrap();
    let mut f = WalFollow::open(d.path(), Some(WalPosition::default())).unwrap();
    let mut seen = Seen::default();
    drain(&mut f, &mut seen, |s| s.samples.len() >= 6);
    let got = seen.resolved();
    assert_eq!(got.len(), 6);
    assert_eq!(got[0], (lbl(0), 1000, 0.0));
    assert_eq!(got[5], (lbl(2), 2000, 2.0));
    assert_eq!(
        *seen.positions.last().unwrap(),
        WalPosition {
            segment: 0,
            offset: seg0.len() as u64
        }
    );
    // A frame that does not decompress is an error, not a panic.
    append(
        &d.path().join(segment_name(0)),
        &full_fragment(SNAPPY_FLAG, b"\xff\xff\xff\xff\xff\x0fgarbage"),
    );
    std::fs::write(d.path().join(segment_name(1)), b"").unwrap();
    let e = f.next(Duration::from_millis(100)).unwrap_err().to_string();
    assert!(e.contains(&format!("offset {}", seg0.len())), "{e}");
}

#[test]
fn the_db_is_a_wal_source() {
    use crate::storage::WalSource;
    use crate::tsdb::db::{Db, DbOptions};
    let d = tempfile::tempdir().unwrap();
    let db = Db::open(
        d.path(),
        DbOptions {
            wal: opts(DEFAULT_SEGMENT_SIZE),
            ..DbOptions::default()
        },
    )
    .unwrap();
    let mut f = db.follow(None).unwrap();
    let mut a = db.appender();
    a.append(None, &lbl(1), 5, 2.5).unwrap();
    a.commit().unwrap();
    let mut seen = Seen::default();
    drain(f.as_mut(), &mut seen, |s| !s.samples.is_empty());
    assert_eq!(seen.resolved(), vec![(lbl(1), 5, 2.5)]);
}
