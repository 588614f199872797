use std::collections::BTreeMap;

use super::*;
use crate::model::Labels;
use crate::tsdb::block::{BlockStats, write_block};

fn labels(name: &str, i: usize) -> Labels {
    Labels::from_pairs(&[("__name__", name), ("i", &i.to_string())])
}

fn chunks_of(samples: &[(i64, f64)]) -> Vec<Chunk> {
    samples
        .chunks(SAMPLES_PER_CHUNK)
        .map(|part| {
            let mut enc = XorEncoder::new();
            for &(t, v) in part {
                enc.append(t, v);
            }
            Chunk::seal(&enc, false)
        })
        .collect()
}

type Data = BTreeMap<Labels, BTreeMap<i64, u64>>;

/// Writes `data` as a block over `[mint, maxt)`.
fn block(dir: &Path, mint: i64, maxt: i64, data: &Data) -> Block {
    let series = data
        .iter()
        .map(|(l, s)| BlockSeries {
            labels: l.clone(),
            chunks: chunks_of(
                &s.iter()
                    .map(|(&t, &v)| (t, f64::from_bits(v)))
                    .collect::<Vec<_>>(),
            ),
        })
        .collect();
    let meta = write_block(dir, mint, maxt, series).unwrap();
    Block::open(&dir.join(&meta.ulid)).unwrap()
}

fn read_all(b: &Block) -> Data {
    let mut out = Data::new();
    for s in b.series_chunks(&[]).unwrap() {
        let mut prev = i64::MIN;
        for c in &s.chunks {
            assert!(c.min_time() > prev, "chunks overlap in {}", s.labels);
            assert!(c.num_samples() <= SAMPLES_PER_CHUNK);
            prev = c.max_time();
            for x in c.iter() {
                assert!(x.t >= c.min_time() && x.t <= c.max_time());
                out.entry(s.labels.clone())
                    .or_default()
                    .insert(x.t, x.v.to_bits());
            }
        }
    }
    out
}

/// `n` series `name{i}` with samples every `step` in `[from, to)`, value from `seed`.
fn gen_data(name: &str, n: usize, from: i64, to: i64, step: i64, seed: f64) -> Data {
    let mut d = Data::new();
    for i in 0..n {
        let s = d.entry(labels(name, i)).or_default();
        let mut t = from + i as i64;
        while t < to {
            s.insert(t, (seed + (t as f64) / 7.0 + i as f64).to_bits());
            t += step;
        }
    }
    d
}

/// Later maps win on equal timestamps.
fn union(parts: &[&Data]) -> Data {
    let mut out = Data::new();
    for p in parts {
        for (l, s) in p.iter() {
            out.entry(l.clone()).or_default().extend(s.iter());
        }
    }
    out
}

#[test]
fn disjoint_blocks_merge_into_their_union() {
    let tmp = tempfile::tempdir().unwrap();
    let d1 = gen_data("a", 30, 0, 7_200_000, 15_000, 1.0);
    let mut d2 = gen_data("a", 20, 7_200_000, 14_400_000, 15_000, 2.0);
    d2.extend(gen_data("b", 5, 7_200_000, 14_400_000, 60_000, 3.0));
    let d3 = gen_data("c", 3, 14_400_000, 21_600_000, 30_000, 4.0);
    let b1 = block(tmp.path(), 0, 7_200_000, &d1);
    let b2 = block(tmp.path(), 7_200_000, 14_400_000, &d2);
    let b3 = block(tmp.path(), 14_400_000, 21_600_000, &d3);
    let meta = compact(tmp.path(), &[&b1, &b2, &b3]).unwrap().unwrap();
    let out = Block::open(&tmp.path().join(&meta.ulid)).unwrap();
    out.verify().unwrap();
    assert_eq!(read_all(&out), union(&[&d1, &d2, &d3]));
    assert_eq!((meta.min_time, meta.max_time), (0, 21_600_000));
    assert_eq!(meta.compaction.level, 2);
    let mut srcs: Vec<String> = [&b1, &b2, &b3]
        .iter()
        .map(|b| b.meta().ulid.clone())
        .collect();
    srcs.sort();
    assert_eq!(meta.compaction.sources, srcs);
    let parents = meta.compaction.other["parents"].as_array().unwrap();
    assert_eq!(parents.len(), 3);
    assert_eq!(parents[1]["ulid"], b2.meta().ulid.as_str());
    assert_eq!(parents[1]["minTime"], 7_200_000);
    assert_eq!(parents[1]["maxTime"], 14_400_000);
    // Non-overlapping chunks are carried over byte for byte.
    let a0 = labels("a", 0);
    let before = b1.series_chunks(&[]).unwrap();
    let after = out.series_chunks(&[]).unwrap();
    let (x, y) = (
        before.iter().find(|s| s.labels == a0).unwrap(),
        after.iter().find(|s| s.labels == a0).unwrap(),
    );
    assert_eq!(x.chunks[0].bytes(), y.chunks[0].bytes());
    // The meta on disk is the one returned, and a level-3 compaction keeps the sources.
    assert_eq!(out.meta(), &meta);
    let b4 = block(tmp.path(), 21_600_000, 28_800_000, &d3);
    let m2 = compact(tmp.path(), &[&out, &b4]).unwrap().unwrap();
    assert_eq!(m2.compaction.level, 3);
    assert_eq!(m2.compaction.sources.len(), 4);
}

#[test]
fn overlapping_blocks_merge_samplewise_and_later_block_wins() {
    let tmp = tempfile::tempdir().unwrap();
    // Same series, interleaved and partly equal timestamps, different values.
    let d1 = gen_data("a", 10, 0, 7_200_000, 10_000, 1.0);
    let d2 = gen_data("a", 10, 3_600_000, 10_800_000, 15_000, 100.0);
    let d3 = gen_data("a", 4, 5_000_000, 5_100_000, 1_000, 1000.0);
    let b1 = block(tmp.path(), 0, 7_200_000, &d1);
    let b2 = block(tmp.path(), 3_600_000, 10_800_000, &d2);
    let b3 = block(tmp.path(), 5_000_000, 5_100_000, &d3);
    let meta = compact(tmp.path(), &[&b1, &b2, &b3]).unwrap().unwrap();
    let out = Block::open(&tmp.path().join(&meta.ulid)).unwrap();
    out.verify().unwrap();
    let want = union(&[&d1, &d2, &d3]);
    let got = read_all(&out);
    assert_eq!(got, want);
    // There really were shared timestamps, and the later block's value is the one kept.
    let shared = d1[&labels("a", 0)]
        .keys()
        .filter(|t| d2[&labels("a", 0)].contains_key(t))
        .count();
    assert!(shared > 10);
    assert_eq!(
        meta.stats.num_samples as usize,
        want.values().map(|s| s.len()).sum::<usize>()
    );
    assert_eq!((meta.min_time, meta.max_time), (0, 10_800_000));
}

#[test]
fn merge_chunks_keeps_order_and_dedups() {
    let a = chunks_of(&[(1, 1.0), (5, 5.0), (9, 9.0)]);
    let b = chunks_of(&[(5, 50.0), (6, 60.0)]);
    let c = chunks_of(&[(20, 2.0)]);
    let out = merge_chunks(vec![
        (0, a[0].clone()),
        (1, c[0].clone()),
        (1, b[0].clone()),
    ]);
    let got: Vec<(i64, f64)> = out
        .iter()
        .flat_map(|c| c.iter().map(|s| (s.t, s.v)))
        .collect();
    assert_eq!(
        got,
        vec![(1, 1.0), (5, 50.0), (6, 60.0), (9, 9.0), (20, 2.0)]
    );
    assert_eq!(out.len(), 2);
    // Source order decides, not argument order.
    let out = merge_chunks(vec![(1, b[0].clone()), (0, a[0].clone())]);
    assert_eq!(out[0].iter().nth(1).unwrap().v, 50.0);
    assert!(merge_chunks(Vec::new()).is_empty());
}

#[test]
fn empty_inputs_write_no_block() {
    let tmp = tempfile::tempdir().unwrap();
    let b1 = block(tmp.path(), 0, 1000, &Data::new());
    let before = std::fs::read_dir(tmp.path()).unwrap().count();
    assert!(compact(tmp.path(), &[&b1]).unwrap().is_none());
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), before);
    assert!(compact(tmp.path(), &[]).is_err());
}

const H: i64 = 3_600_000;

fn meta(ulid: &str, min: i64, max: i64) -> BlockMeta {
    BlockMeta {
        ulid: ulid.into(),
        min_time: min,
        max_time: max,
        stats: BlockStats {
            num_series: 100,
            ..Default::default()
        },
        compaction: Compaction {
            level: 1,
            sources: vec![ulid.into()],
            other: Default::default(),
        },
        version: 1,
    }
}

fn ids(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|s| s.to_string()).collect())
}

#[test]
fn ranges_are_powers_of_three_capped() {
    assert_eq!(
        block_ranges(2 * H, 31 * 24 * H),
        vec![2 * H, 6 * H, 18 * H, 54 * H, 162 * H, 486 * H]
    );
    assert_eq!(block_ranges(2 * H, 20 * H), vec![2 * H, 6 * H, 18 * H]);
    assert!(block_ranges(0, H).is_empty());
}

#[test]
fn planner_cases() {
    let r = block_ranges(2 * H, 1000 * H);
    // Nothing, or a single block: nothing to do.
    assert_eq!(plan(&[], &r), None);
    assert_eq!(plan(&[meta("1", 0, 2 * H)], &r), None);
    // Three 2h blocks filling a 6h window, plus the newest: the three are compacted.
    let ms = [
        meta("1", 0, 2 * H),
        meta("2", 2 * H, 4 * H),
        meta("3", 4 * H, 6 * H),
        meta("4", 6 * H, 8 * H),
    ];
    assert_eq!(plan(&ms, &r), ids(&["1", "2", "3"]));
    // The newest block is left out: only two in the window, and it is not done yet.
    assert_eq!(plan(&ms[..3], &r), None);
    // Two blocks in an older window that is not full still go once a newer block exists.
    let ms = [
        meta("1", 0, 2 * H),
        meta("2", 2 * H, 4 * H),
        meta("5", 8 * H, 10 * H),
        meta("6", 10 * H, 12 * H),
    ];
    assert_eq!(plan(&ms, &r), ids(&["1", "2"]));
    // Already compacted 6h blocks form an 18h block.
    let ms = [
        meta("a", 0, 6 * H),
        meta("b", 6 * H, 12 * H),
        meta("c", 12 * H, 18 * H),
        meta("d", 18 * H, 20 * H),
    ];
    assert_eq!(plan(&ms, &r), ids(&["a", "b", "c"]));
    // Overlapping blocks come first, whatever else is due; input order does not matter.
    let ms = [
        meta("5", 20 * H, 22 * H),
        meta("1", 0, 2 * H),
        meta("2", 2 * H, 4 * H),
        meta("3", 4 * H, 6 * H),
        meta("x", 21 * H, 23 * H),
        meta("y", 30 * H, 32 * H),
    ];
    assert_eq!(plan(&ms, &r), ids(&["5", "x"]));
    // A block whose compaction failed is not picked.
    let mut bad = meta("2", 2 * H, 4 * H);
    bad.compaction.other.insert("failed".into(), true.into());
    let ms = [
        meta("1", 0, 2 * H),
        bad,
        meta("3", 4 * H, 6 * H),
        meta("4", 6 * H, 8 * H),
    ];
    assert_eq!(plan(&ms, &r), None);
    // A big block with many tombstones is rewritten alone.
    let mut t = meta("big", 0, 54 * H);
    t.stats.num_tombstones = 10;
    assert_eq!(plan(&[t, meta("n", 54 * H, 56 * H)], &r), ids(&["big"]));
    // A small block entirely deleted, too.
    let mut t = meta("gone", 0, 2 * H);
    t.stats.num_tombstones = 100;
    assert_eq!(plan(&[t, meta("n", 4 * H, 6 * H)], &r), ids(&["gone"]));
    // Degenerate ranges never panic.
    let ms = [
        meta("1", 0, 2 * H),
        meta("2", 2 * H, 4 * H),
        meta("3", 4 * H, 6 * H),
    ];
    assert_eq!(plan(&ms, &[]), None);
    assert_eq!(plan(&ms, &[0, 0, -5]), None);
}

#[test]
fn retention_cases() {
    let ms = [
        meta("1", 0, 2 * H),
        meta("2", 2 * H, 4 * H),
        meta("3", 4 * H, 6 * H),
        meta("4", 6 * H, 8 * H),
    ];
    let sizes = [10, 20, 30, 40];
    assert!(retention(&ms, 0, 0, &sizes).is_empty());
    assert!(retention(&[], 5 * H, 1, &[]).is_empty());
    // Counted from the newest block's max time (8h), not the clock: 8h-4h >= 4h.
    assert_eq!(retention(&ms, 4 * H, 0, &sizes), ["1", "2"]);
    assert_eq!(retention(&ms, 4 * H + 1, 0, &sizes), ["1"]);
    assert!(retention(&ms, 100 * H, 0, &sizes).is_empty());
    // The newest block is never deleted by time.
    assert_eq!(retention(&ms, 1, 0, &sizes), ["1", "2", "3"]);
    // Size: 40+30 = 70 fits in 70, adding 20 does not.
    assert_eq!(retention(&ms, 0, 70, &sizes), ["1", "2"]);
    assert_eq!(retention(&ms, 0, 69, &sizes), ["1", "2", "3"]);
    assert_eq!(retention(&ms, 0, 39, &sizes), ["1", "2", "3", "4"]);
    // Both: the stricter one wins; order of the input does not matter.
    let rev: Vec<BlockMeta> = ms.iter().rev().cloned().collect();
    let rsizes: Vec<u64> = sizes.iter().rev().copied().collect();
    assert_eq!(retention(&rev, 2 * H, 1000, &rsizes), ["1", "2", "3"]);
    assert_eq!(retention(&rev, 6 * H, 70, &rsizes), ["1", "2"]);
}

#[test]
fn merge_chunks_matches_a_map_union_on_random_inputs() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    for _round in 0..200 {
        let mut parts = Vec::new();
        let mut want: BTreeMap<i64, u64> = BTreeMap::new();
        for src in 0..1 + rnd(4) as usize {
            // One source: increasing timestamps cut into chunks of random sizes.
            let mut t = rnd(500) as i64 - 250;
            let mut samples = Vec::new();
            for _ in 0..rnd(400) {
                t += 1 + rnd(5) as i64;
                let v = (src * 1000) as f64 + rnd(100) as f64 / 4.0;
                samples.push((t, v));
                want.insert(t, v.to_bits());
            }
            let mut rest = &samples[..];
            while !rest.is_empty() {
                let n = (1 + rnd(200) as usize).min(rest.len());
                parts.extend(chunks_of(&rest[..n]).into_iter().map(|c| (src, c)));
                rest = &rest[n..];
            }
        }
        // Shuffle the argument order: only the source index may decide.
        for i in (1..parts.len()).rev() {
            parts.swap(i, rnd(i as u64 + 1) as usize);
        }
        let out = merge_chunks(parts);
        let mut got = BTreeMap::new();
        let mut prev = i64::MIN;
        for c in &out {
            assert!(c.min_time() > prev && c.num_samples() <= SAMPLES_PER_CHUNK.max(200));
            prev = c.max_time();
            for s in c.iter() {
                assert!(
                    got.insert(s.t, s.v.to_bits()).is_none(),
                    "duplicate {}",
                    s.t
                );
            }
        }
        assert_eq!(got, want);
    }
}

/// The loop the data dir runs: plan, compact, delete what the new block supersedes, until
/// nothing is due. Seven 2h blocks end as two 6h blocks and the newest 2h block, with
/// every sample unchanged.
#[test]
fn planning_and_compacting_until_done_keeps_every_sample() {
    let tmp = tempfile::tempdir().unwrap();
    let mut all = Data::new();
    for k in 0..7i64 {
        let d = gen_data("a", 4, k * 2 * H, (k + 1) * 2 * H, 60_000, k as f64);
        block(tmp.path(), k * 2 * H, (k + 1) * 2 * H, &d);
        all = union(&[&all, &d]);
    }
    let ranges = block_ranges(2 * H, 100 * H);
    let open_all = || -> Vec<Block> {
        let mut v: Vec<Block> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| Block::is_block_dir(p))
            .map(|p| Block::open(&p).unwrap())
            .collect();
        v.sort_by_key(|b| b.meta().min_time);
        v
    };
    let mut rounds = 0;
    loop {
        let blocks = open_all();
        let metas: Vec<BlockMeta> = blocks.iter().map(|b| b.meta().clone()).collect();
        assert!(superseded(&metas).is_empty());
        let Some(ids) = plan(&metas, &ranges) else {
            break;
        };
        rounds += 1;
        assert!(rounds < 10, "the planner does not converge");
        let chosen: Vec<&Block> = blocks
            .iter()
            .filter(|b| ids.contains(&b.meta().ulid))
            .collect();
        let meta = compact(tmp.path(), &chosen).unwrap().unwrap();
        let mut metas = metas;
        metas.push(meta);
        let gone = superseded(&metas);
        assert_eq!(gone.len(), ids.len());
        for u in gone {
            std::fs::remove_dir_all(tmp.path().join(u)).unwrap();
        }
    }
    let blocks = open_all();
    let spans: Vec<(i64, i64, u32)> = blocks
        .iter()
        .map(|b| {
            (
                b.meta().min_time,
                b.meta().max_time,
                b.meta().compaction.level,
            )
        })
        .collect();
    // [0,6h) and [6h,12h) became 6h blocks, then [0,18h) would need 18h: 12h-14h is the
    // newest block and is left alone, so the two 6h blocks and 12h-14h remain.
    assert_eq!(
        spans,
        vec![(0, 6 * H, 2), (6 * H, 12 * H, 2), (12 * H, 14 * H, 1)]
    );
    let mut got = Data::new();
    for b in &blocks {
        got = union(&[&got, &read_all(b)]);
    }
    assert_eq!(got, all);
    // A deletable mark also supersedes.
    let mut m = blocks[2].meta().clone();
    m.compaction.other.insert("deletable".into(), true.into());
    assert_eq!(superseded(&[m.clone()]), vec![m.ulid]);
}

/// Writes a tombstones file deleting `[mint, maxt]` from every series ID below `ids`
/// (index series IDs are offsets / 16, so this covers every series of a small block).
fn tombstone_everything(dir: &Path, ids: u64, mint: i64, maxt: i64) {
    let mut body = Vec::new();
    let put_uvarint = |b: &mut Vec<u8>, mut v: u64| {
        while v >= 0x80 {
            b.push(v as u8 | 0x80);
            v >>= 7;
        }
        b.push(v as u8);
    };
    for id in 0..ids {
        put_uvarint(&mut body, id);
        put_uvarint(&mut body, ((mint << 1) ^ (mint >> 63)) as u64);
        put_uvarint(&mut body, ((maxt << 1) ^ (maxt >> 63)) as u64);
    }
    let mut f = vec![0x01, 0x30, 0xBA, 0x30, 1];
    f.extend_from_slice(&body);
    f.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    std::fs::write(dir.join("tombstones"), f).unwrap();
}

#[test]
fn compaction_applies_tombstones() {
    let tmp = tempfile::tempdir().unwrap();
    let d1 = gen_data("a", 5, 0, 7_200_000, 15_000, 1.0);
    let d2 = gen_data("a", 5, 7_200_000, 14_400_000, 15_000, 2.0);
    let b1 = block(tmp.path(), 0, 7_200_000, &d1);
    let b2 = block(tmp.path(), 7_200_000, 14_400_000, &d2);
    // Delete [1h, 1.5h] everywhere in the first block.
    tombstone_everything(b1.dir(), 4096, 3_600_000, 5_400_000);
    let b1 = Block::open(b1.dir()).unwrap();
    let meta = compact(tmp.path(), &[&b1, &b2]).unwrap().unwrap();
    let got = read_all(&Block::open(&tmp.path().join(&meta.ulid)).unwrap());
    let mut want = union(&[&d1, &d2]);
    for s in want.values_mut() {
        s.retain(|t, _| !(3_600_000..=5_400_000).contains(t));
    }
    assert_eq!(got, want);
    assert!(meta.stats.num_tombstones == 0);
}
