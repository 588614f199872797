//! Compaction interop with the real promtool 3.5: promtool backfills an OpenMetrics file
//! spanning more than 6 hours into several 2h blocks, kmon compacts them into one block,
//! and `promtool tsdb analyze` and `promtool tsdb dump` read the result, which dumps
//! exactly the file's samples.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use kmon::model::Labels;
use kmon::tsdb::block::Block;
use kmon::tsdb::compact::compact;

use crate::support::ref_bin;
use crate::tsdb_blocks::{parse_dump, prom_labels, promtool};

/// 40 series over 7 hours at 30–75 s steps, and the dump rows they must give.
fn openmetrics_file() -> (String, Vec<(String, i64, u64)>) {
    let mut text = String::new();
    let mut want = Vec::new();
    let start_s: i64 = 1_700_000_000;
    for fam in 0..4 {
        let name = format!("compact_family_{fam}");
        let _ = writeln!(text, "# TYPE {name} gauge");
        for j in 0..10 {
            let labels = Labels::from_pairs(&[
                ("__name__", name.clone()),
                ("job", format!("j{}", j % 3)),
                ("pod", format!("pod-{j}")),
            ]);
            let key = prom_labels(&labels);
            let step = 30 + (j as i64 % 4) * 15;
            let mut t = start_s + j as i64;
            let mut k = 0u32;
            while t < start_s + 7 * 3600 {
                let v = f64::from(k) * 1.5 + f64::from(fam * 10 + j);
                let _ = writeln!(text, "{name}{{job=\"j{}\",pod=\"pod-{j}\"}} {v} {t}", j % 3);
                want.push((key.clone(), t * 1000, v.to_bits()));
                t += step;
                k += 1;
            }
        }
    }
    text.push_str("# EOF\n");
    want.sort();
    (text, want)
}

#[test]
fn kmon_compacts_promtool_blocks() {
    let Some(bin) = ref_bin("promtool") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (text, want) = openmetrics_file();
    let file = tmp.path().join("in.om");
    std::fs::write(&file, text).unwrap();
    let src = tmp.path().join("src");
    let (ok, out, err) = promtool(
        &bin,
        tmp.path(),
        &[
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            file.to_str().unwrap(),
            src.to_str().unwrap(),
        ],
    );
    assert!(ok, "promtool create-blocks-from failed: {err}\n{out}");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| Block::is_block_dir(p))
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 3, "expected 3+ 2h blocks, got {dirs:?}");
    let blocks: Vec<Block> = dirs.iter().map(|d| Block::open(d).unwrap()).collect();
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
