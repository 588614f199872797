//! WAL tests: framing across pages and segments, replay into a head, and repair of torn
//! tails, bit flips, zeroed pages and corrupt middle segments.

use std::path::Path;
use std::sync::Arc;

use super::segment::{FRAG_FIRST, FRAG_FULL, FRAG_LAST, FRAG_MIDDLE, HEADER_SIZE, SegmentWriter};
use super::*;
use crate::model::{Labels, Matcher};
use crate::storage::{Appendable, Queryable, SelectHints};
use crate::tsdb::commit::{SampleRecord, SeriesRecord};
use crate::tsdb::head::HeadOptions;

type Dump = Vec<(Labels, Vec<(i64, u64)>)>;

fn dump(h: &Head) -> Dump {
    let q = h.querier(i64::MIN, i64::MAX).unwrap();
    let hints = SelectHints {
        start: i64::MIN,
        end: i64::MAX,
        lazy: false,
    };
    q.select(&[Matcher::equal("__name__", "m")], &hints)
        .unwrap()
        .into_iter()
        .map(|s| (s.labels, s.samples.map(|x| (x.t, x.v.to_bits())).collect()))
        .collect()
}

fn opts(segment_size: u64) -> WalOptions {
    WalOptions {
        segment_size,
        sync: SyncPolicy::Never,
    }
}

fn lbl(i: usize) -> Labels {
    Labels::from_pairs(&[("__name__", "m"), ("i", &i.to_string())])
}

/// A head logging to a WAL in `dir`, fed `batches` commits of `per` series each.
fn write_wal(dir: &Path, o: WalOptions, batches: usize, per: usize) -> Dump {
    let wal = Arc::new(Wal::open(dir, o).unwrap());
    let head = Head::new(HeadOptions {
        commit_log: Some(wal.clone()),
        ..HeadOptions::default()
    });
    for b in 0..batches {
        let mut a = head.appender();
        for i in 0..per {
            a.append(None, &lbl(i), 1000 * b as i64, (b * per + i) as f64)
                .unwrap();
        }
        a.commit().unwrap();
    }
    dump(&head)
}

fn replay(dir: &Path, repair: bool) -> (Head, ReplayReport) {
    let head = Head::new(HeadOptions::default());
    let rep = replay_dir(dir, &head, None, repair).unwrap();
    (head, rep)
}

/// Every record of a segment: (fragment types seen via a raw walk, record bytes).
fn records(path: &Path) -> (Vec<Vec<u8>>, Scan) {
    let mut out = Vec::new();
    let scan = scan_segment(path, |f| out.push(f.data.to_vec())).unwrap();
    (out, scan)
}

fn seg(dir: &Path, i: u32) -> std::path::PathBuf {
    dir.join(segment_name(i))
}

#[test]
fn a_large_record_is_split_into_fragments_on_page_boundaries() {
    let d = tempfile::tempdir().unwrap();
    let mut w = SegmentWriter::create(d.path(), 0, DEFAULT_SEGMENT_SIZE).unwrap();
    let small = vec![7u8; 10];
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    w.log(&[&small, &big]).unwrap();
    w.log(&[&small]).unwrap();
    let bytes = std::fs::read(seg(d.path(), 0)).unwrap();
    // Page 0: full record (7 + 10), then the first fragment filling the page.
    assert_eq!(bytes[0], FRAG_FULL);
    assert_eq!(&bytes[1..3], &10u16.to_be_bytes());
    assert_eq!(&bytes[3..7], &crc32c::crc32c(&small).to_be_bytes());
    assert_eq!(bytes[17], FRAG_FIRST);
    let first_len = PAGE_SIZE - 17 - HEADER_SIZE;
    assert_eq!(&bytes[18..20], &(first_len as u16).to_be_bytes());
    // Pages 1 and 2: middle fragments of a whole page each; page 3: the last one.
    assert_eq!(bytes[PAGE_SIZE], FRAG_MIDDLE);
    assert_eq!(bytes[2 * PAGE_SIZE], FRAG_MIDDLE);
    assert_eq!(bytes[3 * PAGE_SIZE], FRAG_LAST);
    let last_len = 100_000 - first_len - 2 * (PAGE_SIZE - HEADER_SIZE);
    let next = 3 * PAGE_SIZE + HEADER_SIZE + last_len;
    assert_eq!(bytes[next], FRAG_FULL);
    // The last page is written only as far as it is filled.
    assert_eq!(bytes.len(), next + HEADER_SIZE + 10);
    let (recs, scan) = records(&seg(d.path(), 0));
    assert_eq!(recs, vec![small.clone(), big, small]);
    assert_eq!(scan.corruption, None);
}

#[test]
fn a_page_with_exactly_a_header_left_gets_an_empty_first_fragment() {
    let d = tempfile::tempdir().unwrap();
    let mut w = SegmentWriter::create(d.path(), 0, DEFAULT_SEGMENT_SIZE).unwrap();
    let a = vec![1u8; PAGE_SIZE - 2 * HEADER_SIZE];
    let b = vec![2u8; 20];
    // Leaves 7 bytes, 6 bytes: the second case pads the page.
    w.log(&[&a, &b]).unwrap();
    let c = vec![3u8; PAGE_SIZE - 40];
    let bytes = std::fs::read(seg(d.path(), 0)).unwrap();
    assert_eq!(bytes[PAGE_SIZE - HEADER_SIZE], FRAG_FIRST);
    assert_eq!(&bytes[PAGE_SIZE - 6..PAGE_SIZE - 4], &[0, 0]);
    assert_eq!(bytes[PAGE_SIZE], FRAG_LAST);
    w.log(&[&c]).unwrap();
    let (recs, scan) = records(&seg(d.path(), 0));
    assert_eq!(recs, vec![a, b, c]);
    assert_eq!(scan.corruption, None);
    let bytes = std::fs::read(seg(d.path(), 0)).unwrap();
    // c ended 6 bytes short of page 1's end: that page is padded, page 2 is not begun.
    assert_eq!(bytes.len(), 2 * PAGE_SIZE);
}

#[test]
fn records_roll_over_to_new_segments_and_never_cross_them() {
    let d = tempfile::tempdir().unwrap();
    let want = write_wal(d.path(), opts(2 * PAGE_SIZE as u64), 600, 40);
    let segs = list_segments(d.path()).unwrap();
    assert!(segs.len() > 3, "{segs:?}");
    for (_, p) in &segs {
        let (_, scan) = records(p);
        assert_eq!(scan.corruption, None, "{}", p.display());
        assert!(scan.len <= 2 * PAGE_SIZE as u64);
    }
    let (head, rep) = replay(d.path(), true);
    assert_eq!(dump(&head), want);
    assert!(rep.repairs.is_empty());
    assert_eq!(rep.samples, 600 * 40);
    assert_eq!(rep.series, 40);
}

#[test]
fn replay_rebuilds_the_head_and_new_refs_stay_above_replayed_ones() {
    let d = tempfile::tempdir().unwrap();
    let want = write_wal(d.path(), opts(DEFAULT_SEGMENT_SIZE), 300, 5);
    // Reopen: replay, then keep writing to the new segment; replay both again.
    let wal = Arc::new(Wal::open(d.path(), WalOptions::default()).unwrap());
    assert_eq!(wal.position(), (1, 0));
    let head = Head::new(HeadOptions {
        commit_log: Some(wal.clone()),
        ..HeadOptions::default()
    });
    let rep = wal.replay(&head).unwrap();
    assert_eq!(rep.segments, Some((0, 0)));
    assert_eq!((rep.records, rep.series, rep.samples), (301, 5, 1500));
    assert_eq!(dump(&head), want);
    let mut a = head.appender();
    let r_old = a.append(None, &lbl(0), 300_000, 1.5).unwrap();
    let r_new = a.append(None, &lbl(99), 300_000, 2.5).unwrap();
    a.commit().unwrap();
    assert!(r_old <= 5 && r_new > 5, "{r_old} {r_new}");
    let want = dump(&head);
    drop(head);
    drop(wal);
    let (head, rep) = replay(d.path(), false);
    assert_eq!(rep.segments, Some((0, 1)));
    assert_eq!(dump(&head), want);
}

#[test]
fn duplicate_series_records_map_refs_like_commit_does() {
    let d = tempfile::tempdir().unwrap();
    let wal = Wal::open(d.path(), opts(DEFAULT_SEGMENT_SIZE)).unwrap();
    let l = lbl(1);
    let rec = |r| SeriesRecord {
        r,
        labels: l.clone(),
    };
    let smp = |r, t| SampleRecord { r, t, v: t as f64 };
    for (series, samples) in [
        (vec![rec(3)], vec![smp(3, 1)]),
        (vec![rec(7)], vec![smp(7, 2)]),
        (vec![], vec![smp(7, 3), smp(3, 4), smp(42, 5)]),
    ] {
        wal.log(&CommitBatch {
            series: &series,
            samples: &samples,
        })
        .unwrap();
    }
    drop(wal);
    let (head, rep) = replay(d.path(), true);
    assert_eq!(
        dump(&head),
        vec![(
            l,
            vec![
                (1, 1.0f64.to_bits()),
                (2, 2.0f64.to_bits()),
                (3, 3.0f64.to_bits()),
                (4, 4.0f64.to_bits())
            ]
        )]
    );
    // The sample for ref 42 has no series.
    assert_eq!(rep.dropped_samples, 1);
    assert_eq!(head.num_series(), 1);
    // Fresh refs start above every replayed one.
    let mut a = head.appender();
    assert!(a.append(None, &lbl(2), 10, 1.0).unwrap() > 7);
}

/// The WAL of `n` one-series commits in one segment, and each record's end offset.
fn small_wal(dir: &Path, n: usize) -> (Vec<u64>, Dump) {
    let wal = Wal::open(dir, opts(DEFAULT_SEGMENT_SIZE)).unwrap();
    let head = Head::new(HeadOptions::default());
    let mut ends = Vec::new();
    for b in 0..n {
        let series = if b == 0 {
            vec![SeriesRecord {
                r: 1,
                labels: lbl(0),
            }]
        } else {
            vec![]
        };
        let samples = [SampleRecord {
            r: 1,
            t: b as i64 * 1000,
            v: b as f64,
        }];
        let batch = CommitBatch {
            series: &series,
            samples: &samples,
        };
        wal.log(&batch).unwrap();
        head.replay_batch(batch, &mut Default::default());
        ends.push(wal.position().1);
    }
    (ends, dump(&head))
}

fn samples_of(h: &Head) -> usize {
    dump(h).iter().map(|(_, s)| s.len()).sum()
}

#[test]
fn a_tail_torn_at_any_byte_of_the_last_record_is_cut_at_the_record_before() {
    let src = tempfile::tempdir().unwrap();
    let (ends, _) = small_wal(src.path(), 5);
    let bytes = std::fs::read(seg(src.path(), 0)).unwrap();
    let (prev, full) = (ends[3], ends[4]);
    for cut in prev..full {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(seg(d.path(), 0), &bytes[..cut as usize]).unwrap();
        let (head, rep) = replay(d.path(), true);
        assert_eq!(samples_of(&head), 4, "cut at {cut}");
        if cut == prev {
            assert!(rep.repairs.is_empty());
            continue;
        }
        assert_eq!(rep.repairs.len(), 1, "cut at {cut}");
        let r = &rep.repairs[0];
        assert!(r.tail && r.torn && r.truncated, "{r:?}");
        assert_eq!((r.segment, r.offset), (0, prev));
        assert_eq!(std::fs::metadata(seg(d.path(), 0)).unwrap().len(), prev);
        // The cut bytes are kept aside; the repaired WAL reads clean and takes new writes.
        assert!(d.path().join("00000000.corrupt").exists());
        let (_, again) = replay(d.path(), true);
        assert!(again.repairs.is_empty());
    }
}

#[test]
fn bit_flips_never_panic_and_never_lose_earlier_records() {
    let src = tempfile::tempdir().unwrap();
    let (ends, _) = small_wal(src.path(), 6);
    let bytes = std::fs::read(seg(src.path(), 0)).unwrap();
    let start = ends[3] as usize;
    let mut detected = 0;
    for pos in start..bytes.len() {
        for bit in [0u8, 3, 7] {
            let d = tempfile::tempdir().unwrap();
            let mut b = bytes.clone();
            b[pos] ^= 1 << bit;
            std::fs::write(seg(d.path(), 0), &b).unwrap();
            let (head, rep) = replay(d.path(), true);
            let n = samples_of(&head);
            assert!(n >= 4, "flip {pos}:{bit} lost earlier records");
            if !rep.repairs.is_empty() {
                detected += 1;
                assert!(rep.repairs[0].offset >= start as u64);
            } else {
                // Undetected only when the flip hit the header's compression flags (the
                // record is then skipped) or left a valid value.
                assert!(rep.skipped_records > 0 || n == 6, "flip {pos}:{bit}");
            }
        }
    }
    assert!(detected > 0);
}

#[test]
fn a_zeroed_last_page_is_cut() {
    let d = tempfile::tempdir().unwrap();
    write_wal(d.path(), opts(DEFAULT_SEGMENT_SIZE), 300, 30);
    let p = seg(d.path(), 0);
    let mut b = std::fs::read(&p).unwrap();
    assert!(b.len() > 2 * PAGE_SIZE);
    let last = (b.len() - 1) / PAGE_SIZE * PAGE_SIZE;
    b[last..].fill(0);
    std::fs::write(&p, &b).unwrap();
    let (head, rep) = replay(d.path(), true);
    assert_eq!(rep.repairs.len(), 1);
    let r = &rep.repairs[0];
    assert!(
        r.offset <= last as u64 && r.found_at == last as u64,
        "{r:?}"
    );
    assert!(samples_of(&head) > 0);
    assert_eq!(std::fs::metadata(&p).unwrap().len(), r.offset);
}

#[test]
fn a_corrupt_middle_segment_keeps_the_records_before_and_after_it() {
    let d = tempfile::tempdir().unwrap();
    let want = write_wal(d.path(), opts(2 * PAGE_SIZE as u64), 600, 40);
    let segs = list_segments(d.path()).unwrap();
    assert!(segs.len() >= 4);
    let mid = segs[1].1.clone();
    let mut b = std::fs::read(&mid).unwrap();
    b[PAGE_SIZE + 100] ^= 0x40;
    std::fs::write(&mid, &b).unwrap();
    let (head, rep) = replay(d.path(), true);
    assert_eq!(rep.repairs.len(), 1);
    let r = &rep.repairs[0];
    assert!(!r.tail && r.segment == segs[1].0 && r.truncated, "{r:?}");
    let got = dump(&head);
    // Every series is there (created in segment 0) and the newest samples (from the last
    // segment) are too; only what followed the damage in segment 1 is missing.
    assert_eq!(got.len(), want.len());
    let lost: usize = want.iter().map(|(_, s)| s.len()).sum::<usize>() - samples_of(&head);
    assert!(lost > 0 && lost < 600 * 40 / 2, "lost {lost}");
    for ((l1, s1), (l2, s2)) in got.iter().zip(&want) {
        assert_eq!(l1, l2);
        assert_eq!(s1.last(), s2.last());
    }
    // Without repair (read-only), the same is read and nothing changes on disk.
    std::fs::write(&mid, &b).unwrap();
    let (head2, rep2) = replay(d.path(), false);
    assert!(!rep2.repairs[0].truncated);
    assert_eq!(dump(&head2), got);
    assert_eq!(std::fs::read(&mid).unwrap(), b);
}

#[test]
fn sync_policies_write_and_sync() {
    for sync in [
        SyncPolicy::Always,
        SyncPolicy::Every(std::time::Duration::from_millis(1)),
        SyncPolicy::Never,
    ] {
        let d = tempfile::tempdir().unwrap();
        let want = write_wal(
            d.path(),
            WalOptions {
                segment_size: DEFAULT_SEGMENT_SIZE,
                sync,
            },
            20,
            3,
        );
        let (head, rep) = replay(d.path(), true);
        assert_eq!(dump(&head), want, "{sync:?}");
        assert!(rep.repairs.is_empty());
    }
    let d = tempfile::tempdir().unwrap();
    let wal = Wal::open(d.path(), WalOptions::default()).unwrap();
    wal.log_tombstones(&[Tombstone {
        r: 1,
        mint: 0,
        maxt: 10,
    }])
    .unwrap();
    wal.sync().unwrap();
    drop(wal);
    let (_, rep) = replay(d.path(), true);
    assert_eq!(rep.tombstones, 1);
}

#[test]
fn garbage_segments_give_reports_not_panics() {
    let d = tempfile::tempdir().unwrap();
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for i in 0..20u32 {
        let n = (x % (3 * PAGE_SIZE as u64)) as usize;
        let b: Vec<u8> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(seg(d.path(), i), b).unwrap();
    }
    let (_, rep) = replay(d.path(), false);
    assert!(!rep.repairs.is_empty());
}

/// What replay must give after `checkpoint(upto, keep, mint)`, computed from the raw
/// segments: kept series' samples that are at or after `mint` or in a later segment.
fn expected_after_checkpoint(dir: &Path, upto: u32, keep: impl Fn(u64) -> bool, mint: i64) -> Dump {
    let mut names: std::collections::HashMap<u64, Labels> = Default::default();
    let mut out: std::collections::BTreeMap<Labels, Vec<(i64, u64)>> = Default::default();
    for (i, p) in list_segments(dir).unwrap() {
        let (recs, _) = records(&p);
        for r in recs {
            match record::decode(&r).unwrap() {
                record::Record::Series(s) => {
                    for x in s {
                        names.insert(x.r, x.labels);
                    }
                }
                record::Record::Samples(s) => {
                    for x in s {
                        if keep(x.r) && (i > upto || x.t >= mint) {
                            out.entry(names[&x.r].clone())
                                .or_default()
                                .push((x.t, x.v.to_bits()));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out.into_iter().collect()
}

#[test]
fn checkpoint_then_replay_keeps_exactly_what_was_kept() {
    let d = tempfile::tempdir().unwrap();
    let all = write_wal(d.path(), opts(PAGE_SIZE as u64), 600, 40);
    let segs = list_segments(d.path()).unwrap();
    assert!(segs.len() > 4, "{segs:?}");
    let upto = segs[segs.len() - 3].0;
    let keep = |r: u64| !r.is_multiple_of(3);
    let mint = 250_000;
    let want = expected_after_checkpoint(d.path(), upto, keep, mint);
    assert!(want.len() < all.len() && !want.is_empty());

    let st = checkpoint(d.path(), upto, keep, mint).unwrap();
    assert_eq!(st.dir, d.path().join(checkpoint_name(upto)));
    assert!(st.dir.is_dir());
    assert!(st.dropped_series > 0 && st.dropped_samples > 0);
    assert_eq!(st.deleted_segments as usize, segs.len() - 2);
    assert_eq!(st.dropped_records, 0);
    let left: Vec<u32> = list_segments(d.path())
        .unwrap()
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    assert_eq!(left, vec![upto + 1, upto + 2]);
    let (head, rep) = replay(d.path(), true);
    assert_eq!(rep.checkpoint, Some(upto));
    assert_eq!(rep.segments, Some((upto + 1, upto + 2)));
    assert!(rep.repairs.is_empty());
    assert_eq!(dump(&head), want);

    // A second checkpoint reads the first, replaces it, and replay still agrees.
    let st2 = checkpoint(d.path(), upto + 1, |_| true, 0).unwrap();
    assert_eq!(st2.deleted_checkpoints, 1);
    assert_eq!(list_checkpoints(d.path()).unwrap().len(), 1);
    let (head, rep) = replay(d.path(), true);
    assert_eq!(rep.checkpoint, Some(upto + 1));
    assert_eq!(dump(&head), want);
    // Not going backwards.
    assert!(checkpoint(d.path(), upto, |_| true, 0).is_err());

    // A WAL opened on it writes after the checkpoint, and its replay sees everything.
    let wal = Arc::new(Wal::open(d.path(), opts(PAGE_SIZE as u64)).unwrap());
    assert_eq!(wal.position().0, upto + 3);
    assert!(wal.checkpoint(upto + 3, |_| true, 0).is_err());
    let head = Head::new(HeadOptions {
        commit_log: Some(wal.clone()),
        ..HeadOptions::default()
    });
    wal.replay(&head).unwrap();
    assert_eq!(dump(&head), want);
}

#[test]
fn an_unfinished_checkpoint_is_ignored_and_cleaned_up() {
    let d = tempfile::tempdir().unwrap();
    let all = write_wal(d.path(), opts(PAGE_SIZE as u64), 400, 20);
    let segs = list_segments(d.path()).unwrap();
    assert!(segs.len() > 2);
    // A crash after writing part of checkpoint.N.tmp: a torn segment with a series
    // record of a label set that exists nowhere else.
    let tmp = d.path().join(format!("{}.tmp", checkpoint_name(segs[1].0)));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut w = SegmentWriter::create(&tmp, 0, DEFAULT_SEGMENT_SIZE).unwrap();
    let mut buf = Vec::new();
    record::encode_series(
        &[SeriesRecord {
            r: 1,
            labels: Labels::from_pairs(&[("__name__", "m"), ("ghost", "1")]),
        }],
        &mut buf,
    );
    w.log(&[&buf]).unwrap();
    drop(w);
    let (head, rep) = replay(d.path(), false);
    assert_eq!(rep.checkpoint, None);
    assert_eq!(dump(&head), all);
    assert!(tmp.exists(), "read-only replay leaves it");

    // A new checkpoint removes it (and any other leftover), as does opening the WAL.
    let other = d.path().join(format!("{}.tmp", checkpoint_name(99)));
    std::fs::create_dir_all(&other).unwrap();
    checkpoint(d.path(), segs[0].0, |_| true, i64::MIN).unwrap();
    assert!(!tmp.exists() && !other.exists());
    std::fs::create_dir_all(&tmp).unwrap();
    let wal = Wal::open(d.path(), opts(PAGE_SIZE as u64)).unwrap();
    assert!(!tmp.exists());
    let head = Head::new(HeadOptions::default());
    wal.replay(&head).unwrap();
    assert_eq!(dump(&head), all);
}

#[test]
fn a_corrupt_source_segment_fails_the_checkpoint_and_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    write_wal(d.path(), opts(PAGE_SIZE as u64), 400, 20);
    let segs = list_segments(d.path()).unwrap();
    let victim = &segs[0].1;
    let mut b = std::fs::read(victim).unwrap();
    b[100] ^= 0x40;
    std::fs::write(victim, &b).unwrap();
    let before: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let err = checkpoint(d.path(), segs[1].0, |_| true, 0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&segment_name(segs[0].0)) && err.contains("offset"),
        "{err}"
    );
    let after: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before.len(), after.len());
    assert_eq!(list_segments(d.path()).unwrap().len(), segs.len());
}

#[test]
fn a_record_kmon_cannot_carry_over_fails_the_checkpoint() {
    let d = tempfile::tempdir().unwrap();
    write_wal(d.path(), opts(PAGE_SIZE as u64), 50, 5);
    let last = list_segments(d.path()).unwrap().last().unwrap().0;
    // An exemplars record (type 4), as a Prometheus WAL may hold.
    let mut w = SegmentWriter::create(d.path(), last + 1, DEFAULT_SEGMENT_SIZE).unwrap();
    w.log(&[&[4u8, 0, 0, 0, 0, 0, 0, 0, 1]]).unwrap();
    drop(w);
    let before = list_segments(d.path()).unwrap();
    let err = checkpoint(d.path(), last + 1, |_| true, 0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&segment_name(last + 1)) && err.contains("type 4"),
        "{err}"
    );
    assert_eq!(list_segments(d.path()).unwrap(), before);
    assert!(list_checkpoints(d.path()).unwrap().is_empty());
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), before.len());
}

/// One full fragment holding `data`, with the compression `flag` bits in its type byte.
fn full_fragment(flag: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![FRAG_FULL | flag];
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(data).to_be_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn snappy_and_zstd_records_replay_and_bad_ones_are_skipped() {
    use super::segment::{SNAPPY_FLAG, ZSTD_FLAG};
    let series: Vec<SeriesRecord> = (0..3)
        .map(|i| SeriesRecord {
            r: i as u64 + 1,
            labels: lbl(i),
        })
        .collect();
    let samples = |t: i64| -> Vec<SampleRecord> {
        (0..3)
            .map(|i| SampleRecord {
                r: i as u64 + 1,
                t,
                v: t as f64 + i as f64,
            })
            .collect()
    };
    let (mut s, mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    record::encode_series(&series, &mut s);
    record::encode_samples(&samples(1000), &mut a);
    record::encode_samples(&samples(2000), &mut b);
    record::encode_samples(&samples(3000), &mut c);
    let snappy = |x: &[u8]| snap::raw::Encoder::new().compress_vec(x).unwrap();
    let zstd = |x: &[u8]| {
        ruzstd::encoding::compress_to_vec(x, ruzstd::encoding::CompressionLevel::Fastest)
    };
    let mut seg0 = Vec::new();
    seg0.extend(full_fragment(SNAPPY_FLAG, &snappy(&s)));
    seg0.extend(full_fragment(SNAPPY_FLAG, &snappy(&a)));
    seg0.extend(full_fragment(ZSTD_FLAG, &zstd(&b)));
    // Valid frames whose contents are not snappy or zstd: skipped, never a panic.
    seg0.extend(full_fragment(
        SNAPPY_FLAG,
        b"\xff\xff\xff\xff\xff\x0fgarbage",
    ));
    seg0.extend(full_fragment(ZSTD_FLAG, b"\x28\xb5\x2f\xfd garbage"));
    seg0.extend(full_fragment(0, &c));
    let d = tempfile::tempdir().unwrap();
    std::fs::write(seg(d.path(), 0), &seg0).unwrap();
    let (head, rep) = replay(d.path(), false);
    assert_eq!(rep.records, 6);
    assert_eq!(rep.skipped_records, 2);
    assert_eq!(rep.samples, 9);
    assert!(rep.repairs.is_empty());
    let got = dump(&head);
    assert_eq!(got.len(), 3);
    for (i, (l, s)) in got.iter().enumerate() {
        assert_eq!(*l, lbl(i));
        let want: Vec<(i64, u64)> = [1000, 2000, 3000]
            .iter()
            .map(|&t| (t, (t as f64 + i as f64).to_bits()))
            .collect();
        assert_eq!(*s, want);
    }
    // Random bytes behind either flag never panic.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for n in 0..300usize {
        let bytes: Vec<u8> = (0..n % 97)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for (flag, mut prefix) in [
            (SNAPPY_FLAG, Vec::new()),
            (ZSTD_FLAG, vec![0x28, 0xb5, 0x2f, 0xfd]),
        ] {
            prefix.extend_from_slice(&bytes);
            let f = full_fragment(flag, &prefix);
            std::fs::write(seg(d.path(), 0), &f).unwrap();
            replay(d.path(), false);
        }
    }
}
