//! Compaction interop with the real promtool 3.5: promtool backfills an OpenMetrics file
//! spanning more than 6 hours into several 2h blocks, kmon compacts them into one block,
//! and `promtool tsdb analyze` and `promtool tsdb dump` read the result, which dumps
//! exactly the file's samples; with overlapping backfills (vertical compaction) too; and a
//! real Prometheus 3.5 started on the compacted block beside its inputs reads its
//! `parents`, deletes the inputs and serves every sample once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use kmon::model::Labels;
use kmon::tsdb::block::Block;
use kmon::tsdb::compact::compact;

use crate::support::{Http, PromOnDir, ref_bin};
use crate::tsdb_blocks::{parse_dump, prom_labels, promtool};

type Want = BTreeMap<String, BTreeMap<i64, u64>>;

/// 40 series over 7 hours at 30–75 s steps, and their samples by dump label string. With
/// `overlay`, only the first two families between hours 2 and 4, at the same timestamps
/// (other values, so the later block must win) and 7 s after each of them.
fn openmetrics_file(overlay: bool) -> (String, Want) {
    let mut text = String::new();
    let mut want = Want::new();
    let start_s: i64 = 1_700_000_000;
    let families = if overlay { 2 } else { 4 };
    for fam in 0..families {
        let name = format!("compact_family_{fam}");
        let _ = writeln!(text, "# TYPE {name} gauge");
        for j in 0..10 {
            let labels = Labels::from_pairs(&[
                ("__name__", name.clone()),
                ("job", format!("j{}", j % 3)),
                ("pod", format!("pod-{j}")),
            ]);
            let series = want.entry(prom_labels(&labels)).or_default();
            let step = 30 + (j as i64 % 4) * 15;
            let mut t = start_s + j as i64;
            let mut k = 0u32;
            let mut emit = |t: i64, v: f64| {
                let _ = writeln!(text, "{name}{{job=\"j{}\",pod=\"pod-{j}\"}} {v} {t}", j % 3);
                series.insert(t * 1000, v.to_bits());
            };
            while t < start_s + 7 * 3600 {
                let v = f64::from(k) * 1.5 + f64::from(fam * 10 + j);
                if !overlay {
                    emit(t, v);
                } else if (start_s + 2 * 3600..start_s + 4 * 3600).contains(&t) {
                    emit(t, v + 1000.0);
                    emit(t + 7, -v);
                }
                t += step;
                k += 1;
            }
        }
    }
    text.push_str("# EOF\n");
    (text, want)
}

fn rows(w: &Want) -> Vec<(String, i64, u64)> {
    let mut out: Vec<_> = w
        .iter()
        .flat_map(|(l, s)| s.iter().map(move |(&t, &v)| (l.clone(), t, v)))
        .collect();
    out.sort();
    out
}

/// Backfills `text` with promtool into `dir` and opens the blocks, in time order.
fn promtool_blocks(bin: &Path, work: &Path, text: &str, dir: &Path) -> Vec<Block> {
    let file = work.join("in.om");
    std::fs::write(&file, text).unwrap();
    let (ok, out, err) = promtool(
        bin,
        work,
        &[
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            file.to_str().unwrap(),
            dir.to_str().unwrap(),
        ],
    );
    assert!(ok, "promtool create-blocks-from failed: {err}\n{out}");
    let mut blocks: Vec<Block> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| Block::is_block_dir(p))
        .map(|d| Block::open(&d).unwrap())
        .collect();
    blocks.sort_by_key(|b| b.meta().min_time);
    blocks
}

#[test]
fn kmon_compacts_promtool_blocks() {
    let Some(bin) = ref_bin("promtool") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (text, want_map) = openmetrics_file(false);
    let want = rows(&want_map);
    let blocks = promtool_blocks(&bin, tmp.path(), &text, &tmp.path().join("src"));
    assert!(
        blocks.len() >= 3,
        "expected 3+ 2h blocks, got {}",
        blocks.len()
    );
    let refs: Vec<&Block> = blocks.iter().collect();

    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("wal")).unwrap();
    let meta = compact(&data, &refs)
        .unwrap()
        .expect("samples in the inputs");
    assert_eq!(meta.compaction.level, 2);
    assert_eq!(meta.compaction.sources.len(), blocks.len());
    assert_eq!(meta.stats.num_samples as usize, want.len());
    assert_eq!(
        meta.min_time,
        blocks.iter().map(|b| b.meta().min_time).min().unwrap()
    );
    let merged = Block::open(&data.join(&meta.ulid)).unwrap();
    assert_eq!(merged.verify().unwrap().samples as usize, want.len());

    let d = data.to_str().unwrap();
    let (ok, out, err) = promtool(&bin, tmp.path(), &["tsdb", "analyze", d]);
    assert!(ok, "promtool tsdb analyze failed: {err}\n{out}");
    assert!(out.contains(&format!("Block ID: {}", meta.ulid)), "{out}");
    assert!(out.contains("Total Series: 40"), "{out}");

    let (ok, out, err) = promtool(&bin, tmp.path(), &["tsdb", "dump", d]);
    assert!(ok, "promtool tsdb dump failed: {err}");
    let got = parse_dump(&out);
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
    let by_series: BTreeMap<&str, usize> = got.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.0.as_str()).or_default() += 1;
        m
    });
    assert_eq!(by_series.len(), 40);
}

/// Vertical compaction: a second backfill overlaps the first (same series, equal and new
/// timestamps); kmon compacts all blocks, the later backfill wins equal timestamps, and
/// promtool dumps exactly that union.
#[test]
fn kmon_compacts_overlapping_promtool_blocks() {
    let Some(bin) = ref_bin("promtool") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (a_text, a) = openmetrics_file(false);
    let (b_text, b) = openmetrics_file(true);
    let mut blocks = promtool_blocks(&bin, tmp.path(), &a_text, &tmp.path().join("a"));
    let later = promtool_blocks(&bin, tmp.path(), &b_text, &tmp.path().join("b"));
    assert!(!later.is_empty());
    blocks.extend(later);
    let mut union = a.clone();
    for (l, s) in &b {
        union.get_mut(l).expect("same series").extend(s.iter());
    }
    let want = rows(&union);
    let replaced: usize = b
        .iter()
        .map(|(l, s)| s.keys().filter(|t| a[l].contains_key(t)).count())
        .sum();
    assert!(replaced > 100, "the files share timestamps");

    let refs: Vec<&Block> = blocks.iter().collect();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("wal")).unwrap();
    let meta = compact(&data, &refs)
        .unwrap()
        .expect("samples in the inputs");
    assert_eq!(meta.stats.num_samples as usize, want.len());
    let d = data.to_str().unwrap();
    let (ok, out, err) = promtool(&bin, tmp.path(), &["tsdb", "analyze", d]);
    assert!(ok, "promtool tsdb analyze failed: {err}\n{out}");
    let (ok, out, err) = promtool(&bin, tmp.path(), &["tsdb", "dump", d]);
    assert!(ok, "promtool tsdb dump failed: {err}");
    let got = parse_dump(&out);
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
}

/// A real Prometheus reads the `parents` kmon writes: started on a data dir holding the
/// compacted block and its (not yet deleted) inputs, it deletes the inputs, as after a
/// crash between compaction and cleanup, and serves each sample once.
#[test]
fn prometheus_deletes_the_parents_of_kmons_compacted_block() {
    let (Some(tool), Some(prom)) = (ref_bin("promtool"), ref_bin("prometheus")) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (text, want_map) = openmetrics_file(false);
    let data = tmp.path().join("data");
    let blocks = promtool_blocks(&tool, tmp.path(), &text, &data);
    let refs: Vec<&Block> = blocks.iter().collect();
    let meta = compact(&data, &refs).unwrap().unwrap();
    let parents: Vec<String> = blocks.iter().map(|b| b.meta().ulid.clone()).collect();
    drop(refs);
    drop(blocks);

    let prom = PromOnDir::start(&prom, tmp.path(), &data);
    let url = prom.url.clone();
    let http = Http::new();
    let prom_log = || prom.log();
    for p in &parents {
        assert!(
            !data.join(p).exists(),
            "parent {p} still there; log:\n{}",
            prom_log()
        );
    }
    assert!(data.join(&meta.ulid).is_dir());
    let end = (meta.max_time - 1) as f64 / 1000.0;
    let q = format!(
        "{url}/api/v1/query?query=%7B__name__%3D~%22compact_family_.%2B%22%7D%5B8h%5D&time={end}"
    );
    let (status, body) = http.get(&q).expect("query");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut got = Want::new();
    for r in v["data"]["result"].as_array().expect("a matrix") {
        let l: Vec<(String, String)> = r["metric"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let key = prom_labels(&Labels::from_pairs(&l));
        for pair in r["values"].as_array().unwrap() {
            let t = (pair[0].as_f64().unwrap() * 1000.0).round() as i64;
            let val: f64 = pair[1].as_str().unwrap().parse().unwrap();
            assert!(
                got.entry(key.clone())
                    .or_default()
                    .insert(t, val.to_bits())
                    .is_none()
            );
        }
    }
    assert_eq!(got, want_map, "log:\n{}", prom_log());
}
