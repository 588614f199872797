//! Block round trips (writer → reader over many series and label shapes, matchers, label
//! queries, range clipping, the head as a source) and corrupt input (every bit flip and
//! truncation of index and chunks gives an error naming the file, never a panic).

use std::path::{Path, PathBuf};

use super::*;
use crate::model::{Labels, MatchOp, Matcher, Sample, stale_nan};
use crate::storage::{Appendable, Querier, SelectHints, matches_all};
use crate::tsdb::chunk::{Chunk, SAMPLES_PER_CHUNK, XorEncoder};
use crate::tsdb::{Head, HeadOptions};

const ALL: SelectHints = SelectHints {
    start: i64::MIN,
    end: i64::MAX,
    lazy: false,
};

/// Chunks of at most 120 samples from `samples`.
fn chunks_of(samples: &[Sample]) -> Vec<Chunk> {
    samples
        .chunks(SAMPLES_PER_CHUNK)
        .map(|part| {
            let mut e = XorEncoder::new();
            for s in part {
                e.append(s.t, s.v);
            }
            Chunk::seal(&e, false)
        })
        .collect()
}

/// Series of many shapes: 1 to 6 labels, empty-ish and long and non-ASCII values, a label
/// with hundreds of values, and values including NaN, staleness markers and infinities.
fn dataset() -> Vec<(Labels, Vec<Sample>)> {
    let mut out = Vec::new();
    for i in 0..400u32 {
        let mut pairs: Vec<(String, String)> = vec![
            ("__name__".into(), format!("metric_{}", i % 7)),
            ("instance".into(), format!("host-{i}:9100")),
        ];
        if i % 2 == 0 {
            pairs.push(("job".into(), "node".into()));
        }
        if i % 3 == 0 {
            pairs.push((
                "path".into(),
                format!("/var/ünï/{}/{}", i, "x".repeat(i as usize % 50)),
            ));
        }
        if i % 5 == 0 {
            pairs.push(("le".into(), format!("{}", i as f64 / 10.0)));
            pairs.push(("quote".into(), "a\"b\\c\nd".into()));
        }
        let labels = Labels::from_pairs(&pairs);
        let n = 1 + (i as i64 * 37) % 500;
        let samples: Vec<Sample> = (0..n)
            .map(|k| {
                let t = 1_000_000 + k * 15_000 + (i as i64 % 3);
                let v = match k % 50 {
                    7 => f64::NAN,
                    8 => stale_nan(),
                    9 => f64::INFINITY,
                    _ => (k as f64) * 1.5 + i as f64,
                };
                Sample::new(t, v)
            })
            .collect();
        out.push((labels, samples));
    }
    out
}

fn write(dir: &Path, data: &[(Labels, Vec<Sample>)], mint: i64, maxt: i64) -> (BlockMeta, PathBuf) {
    let series = data
        .iter()
        .map(|(l, s)| BlockSeries {
            labels: l.clone(),
            chunks: chunks_of(s),
        })
        .collect();
    let meta = write_block(dir, mint, maxt, series).unwrap();
    let path = dir.join(&meta.ulid);
    (meta, path)
}

fn read_all(q: &dyn Querier, matchers: &[Matcher]) -> Vec<(Labels, Vec<(i64, u64)>)> {
    q.select(matchers, &ALL)
        .unwrap()
        .into_iter()
        .map(|s| (s.labels, s.samples.map(|x| (x.t, x.v.to_bits())).collect()))
        .collect()
}

fn expected(
    data: &[(Labels, Vec<Sample>)],
    matchers: &[Matcher],
    lo: i64,
    hi: i64,
) -> Vec<(Labels, Vec<(i64, u64)>)> {
    let mut out: Vec<_> = data
        .iter()
        .filter(|(l, _)| matches_all(l, matchers))
        .map(|(l, s)| {
            let v: Vec<(i64, u64)> = s
                .iter()
                .filter(|x| x.t >= lo && x.t <= hi)
                .map(|x| (x.t, x.v.to_bits()))
                .collect();
            (l.clone(), v)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn round_trip_many_series_and_label_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset();
    let (meta, path) = write(dir.path(), &data, 0, 100_000_000);
    assert!(Block::is_block_dir(&path));
    assert!(!path.with_extension("tmp-for-creation").exists());
    let b = Block::open(&path).unwrap();
    assert_eq!(b.meta(), &meta);
    let total: usize = data.iter().map(|(_, s)| s.len()).sum();
    assert_eq!(meta.stats.num_samples, total as u64);
    assert_eq!(meta.stats.num_series, data.len() as u64);
    let rep = b.verify().unwrap();
    assert_eq!(rep.samples, total as u64);
    assert_eq!(rep.series, data.len() as u64);
    assert_eq!(rep.chunks, meta.stats.num_chunks);

    let q = b.querier(i64::MIN, i64::MAX);
    assert_eq!(read_all(&q, &[]), expected(&data, &[], i64::MIN, i64::MAX));
    let re = |op, n: &str, v: &str| Matcher::new(op, n, v).unwrap();
    let cases: Vec<Vec<Matcher>> = vec![
        vec![Matcher::equal("__name__", "metric_3")],
        vec![
            Matcher::equal("job", "node"),
            re(MatchOp::NotEqual, "__name__", "metric_1"),
        ],
        vec![re(MatchOp::Regex, "instance", "host-1.*")],
        vec![re(MatchOp::NotRegex, "path", ".*ünï.*")],
        vec![Matcher::equal("job", "")],
        vec![
            re(MatchOp::Regex, "le", ".+"),
            Matcher::equal("quote", "a\"b\\c\nd"),
        ],
        vec![Matcher::equal("nosuch", "x")],
        vec![
            re(MatchOp::Regex, "nosuch", ".*"),
            re(MatchOp::NotEqual, "job", "node"),
        ],
    ];
    for ms in &cases {
        assert_eq!(
            read_all(&q, ms),
            expected(&data, ms, i64::MIN, i64::MAX),
            "{ms:?}"
        );
    }
    // A narrower querier and narrower hints both cut the samples.
    let q2 = b.querier(1_500_000, 2_000_000);
    assert_eq!(
        read_all(&q2, &[]),
        expected(&data, &[], 1_500_000, 2_000_000)
    );
    let hints = SelectHints {
        start: 1_200_000,
        end: 1_300_000,
        lazy: false,
    };
    let got: usize = q.select(&[], &hints).unwrap().len();
    assert_eq!(got, expected(&data, &[], 1_200_000, 1_300_000).len());
    // Seek inside a series.
    let mut s = q
        .select(&[Matcher::equal("instance", "host-399:9100")], &ALL)
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        s.samples.seek(1_000_000 + 15_000 * 200).map(|x| x.t),
        Some(1_000_000 + 15_000 * 200)
    );

    let names = q.label_names(&[]).unwrap();
    assert_eq!(
        names,
        ["__name__", "instance", "job", "le", "path", "quote"]
    );
    assert_eq!(
        q.label_names(&[Matcher::equal("instance", "host-1:9100")])
            .unwrap(),
        ["__name__", "instance"]
    );
    assert_eq!(q.label_values("__name__", &[]).unwrap().len(), 7);
    assert_eq!(
        q.label_values("job", &[Matcher::equal("__name__", "metric_0")])
            .unwrap(),
        ["node"]
    );
}

#[test]
fn chunks_crossing_the_block_range_are_clipped() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset();
    let (mint, maxt) = (1_600_000, 3_000_000);
    let (meta, path) = write(dir.path(), &data, mint, maxt);
    let b = Block::open(&path).unwrap();
    b.verify().unwrap();
    let want = expected(&data, &[], mint, maxt - 1);
    assert_eq!(meta.stats.num_series, want.len() as u64);
    let q = b.querier(i64::MIN, i64::MAX);
    assert_eq!(read_all(&q, &[]), want);
    // Outside the block's range nothing is selected.
    assert!(
        b.querier(maxt, i64::MAX)
            .select(&[], &ALL)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn head_series_persist_into_a_block() {
    let head = Head::new(HeadOptions::default());
    let mut app = head.appender();
    for i in 0..50 {
        let l = Labels::from_pairs(&[("__name__", "up"), ("instance", &format!("i{i}"))]);
        for k in 0..300 {
            app.append(None, &l, k * 60_000, (i * k) as f64).unwrap();
        }
    }
    app.commit().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mint, maxt) = (0, 7_200_000);
    let meta = write_block(dir.path(), mint, maxt, series_from_head(&head, mint, maxt)).unwrap();
    assert_eq!(meta.stats.num_series, 50);
    assert_eq!(meta.stats.num_samples, 50 * 120);
    let b = Block::open(&dir.path().join(&meta.ulid)).unwrap();
    let mut hq = crate::storage::Queryable::querier(&head, mint, maxt - 1).unwrap();
    let from_head = read_all(hq.as_mut(), &[]);
    assert_eq!(read_all(&b.querier(mint, maxt - 1), &[]), from_head);
}

#[test]
fn writer_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let l = Labels::from_pairs(&[("__name__", "a")]);
    let s = |v: Vec<Sample>| BlockSeries {
        labels: l.clone(),
        chunks: chunks_of(&v),
    };
    let one = vec![Sample::new(1, 1.0)];
    assert!(write_block(dir.path(), 5, 5, vec![]).is_err());
    assert!(write_block(dir.path(), 0, 10, vec![s(one.clone()), s(one.clone())]).is_err());
    let mut overlapping = s(one.clone());
    overlapping.chunks.extend(chunks_of(&one));
    assert!(write_block(dir.path(), 0, 10, vec![overlapping]).is_err());
    // Nothing half-written is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // An empty block is still a valid block.
    let meta = write_block(dir.path(), 0, 10, vec![]).unwrap();
    let b = Block::open(&dir.path().join(&meta.ulid)).unwrap();
    assert_eq!(b.verify().unwrap(), VerifyReport::default());
}

/// Opens and fully reads a block; `Err` with the message on any problem.
fn check(path: &Path) -> Result<(), String> {
    let b = Block::open(path).map_err(|e| e.to_string())?;
    b.verify().map_err(|e| e.to_string())?;
    let q = b.querier(i64::MIN, i64::MAX);
    q.select(&[], &ALL).map_err(|e| e.to_string())?;
    Ok(())
}

fn small_block(dir: &Path) -> PathBuf {
    let data: Vec<(Labels, Vec<Sample>)> = dataset().into_iter().take(12).collect();
    write(dir, &data, 0, 100_000_000).1
}

#[test]
fn every_index_bit_flip_and_truncation_is_an_error_or_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_block(dir.path());
    let file = path.join("index");
    let good = std::fs::read(&file).unwrap();
    let mut errors = 0;
    for i in 0..good.len() {
        let mut b = good.clone();
        b[i] ^= 1 << (i % 8);
        std::fs::write(&file, &b).unwrap();
        match check(&path) {
            Err(e) => {
                assert!(e.contains("index"), "{e}");
                errors += 1;
            }
            // Only alignment padding between sections is not covered by a checksum.
            Ok(()) => assert_eq!(good[i], 0, "flip at {i} went unnoticed"),
        }
    }
    assert!(errors * 10 > good.len() * 9, "{errors} of {}", good.len());
    for n in (0..good.len()).step_by(7) {
        std::fs::write(&file, &good[..n]).unwrap();
        let e = check(&path).unwrap_err();
        assert!(e.contains("index"), "{e}");
    }
}

#[test]
fn every_chunk_bit_flip_and_truncation_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_block(dir.path());
    let file = path.join("chunks").join("000001");
    let good = std::fs::read(&file).unwrap();
    for i in (0..good.len()).filter(|i| !(5..8).contains(i)) {
        let mut b = good.clone();
        b[i] ^= 1 << (i % 8);
        std::fs::write(&file, &b).unwrap();
        let e = check(&path).expect_err(&format!("flip at {i} went unnoticed"));
        assert!(e.contains("000001") && e.contains("offset"), "{e}");
    }
    for n in (0..good.len()).step_by(5) {
        std::fs::write(&file, &good[..n]).unwrap();
        let e = check(&path).unwrap_err();
        assert!(e.contains("000001"), "{e}");
    }
}

#[test]
fn bad_meta_and_tombstones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_block(dir.path());
    std::fs::write(path.join("tombstones"), b"\x01\x30\xba\x30\x01\xff").unwrap();
    assert!(check(&path).unwrap_err().contains("tombstones"));
    std::fs::write(path.join("meta.json"), b"{\"ulid\": 3").unwrap();
    assert!(check(&path).unwrap_err().contains("meta.json"));
}

#[test]
fn a_corrupt_chunk_is_skipped_and_the_rest_served() {
    let dir = tempfile::tempdir().unwrap();
    // Two series of 300 samples: three chunks each, six chunks in all.
    let data: Vec<(Labels, Vec<Sample>)> = ["a", "b"]
        .iter()
        .map(|n| {
            let l = Labels::from_pairs(&[("__name__", "m"), ("s", n)]);
            (
                l,
                (0..300).map(|k| Sample::new(k * 1000, k as f64)).collect(),
            )
        })
        .collect();
    let (_, path) = write(dir.path(), &data, 0, 1_000_000);
    let file = path.join("chunks").join("000001");
    let mut bytes = std::fs::read(&file).unwrap();
    // Series "a"'s chunks come first; flip a bit inside its second chunk's data.
    let sizes: Vec<usize> = chunks_of(&data[0].1)
        .iter()
        .map(|c| c.bytes().len())
        .collect();
    let varint = |n: usize| if n < 128 { 1 } else { 2 };
    let at = 8 + varint(sizes[0]) + 1 + sizes[0] + 4 + varint(sizes[1]) + 1 + 20;
    bytes[at] ^= 0x10;
    std::fs::write(&file, &bytes).unwrap();

    let b = Block::open(&path).unwrap();
    let (rep, problems) = b.check();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let msg = problems[0].to_string();
    assert!(msg.contains("000001") && msg.contains("s=\"a\""), "{msg}");
    assert_eq!(rep.chunks, 5);
    assert!(b.verify().is_err());

    let got = read_all(&b.querier(i64::MIN, i64::MAX), &[]);
    assert_eq!(got.len(), 2);
    let a: Vec<i64> = got[0].1.iter().map(|x| x.0).collect();
    let want: Vec<i64> = (0..120).chain(240..300).map(|k| k * 1000).collect();
    assert_eq!(a, want, "series a keeps its first and third chunks");
    assert_eq!(got[1].1.len(), 300, "series b is whole");
    assert_eq!(b.corrupt_chunks_seen(), 1);
    // Asked again, the chunk is still skipped but counted once.
    read_all(&b.querier(i64::MIN, i64::MAX), &[]);
    assert_eq!(b.corrupt_chunks_seen(), 1);
}
