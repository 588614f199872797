//! Block interop with the real promtool 3.5: (a) kmon writes a block and `promtool tsdb
//! analyze` and `promtool tsdb dump` read it, dumping exactly kmon's series and samples;
//! (b) `promtool tsdb create-blocks-from openmetrics` writes blocks from a generated file
//! and kmon's block reader reads back the same series and samples.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use kmon::model::{Labels, Sample};
use kmon::storage::{Querier, SelectHints};
use kmon::tsdb::block::{Block, BlockSeries, write_block};
use kmon::tsdb::chunk::{Chunk, SAMPLES_PER_CHUNK, XorEncoder};

use crate::support::{ChildGuard, ref_bin};

/// Runs `promtool args…` with stdout and stderr in files, bounded in time; returns
/// (success, stdout, stderr).
pub(crate) fn promtool(bin: &Path, work: &Path, args: &[&str]) -> (bool, String, String) {
    let (out, err) = (work.join("promtool.out"), work.join("promtool.err"));
    let child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("start promtool");
    let mut guard = ChildGuard::new(child);
    let status = guard
        .wait_for_exit(Duration::from_secs(120))
        .unwrap_or_else(|| panic!("promtool {args:?} did not finish within 120s"));
    (
        status.success(),
        std::fs::read_to_string(out).unwrap(),
        std::fs::read_to_string(err).unwrap(),
    )
}

/// Go's `strconv.Quote` for the strings used here (printable Unicode kept as is).
fn go_quote(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A label set as Prometheus prints it: `{a="1", b="2"}`.
pub(crate) fn prom_labels(l: &Labels) -> String {
    let parts: Vec<String> = l
        .iter()
        .map(|p| format!("{}={}", p.name, go_quote(p.value)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// The series kmon writes: a few hundred, of several label shapes.
fn kmon_dataset() -> Vec<(Labels, Vec<Sample>)> {
    (0..300u32)
        .map(|i| {
            let mut pairs = vec![
                ("__name__".to_string(), format!("kmon_metric_{}", i % 9)),
                (
                    "instance".to_string(),
                    format!("10.0.{}.{}:9100", i / 256, i % 256),
                ),
            ];
            if i % 2 == 0 {
                pairs.push(("job".into(), "node".into()));
            }
            if i % 7 == 0 {
                pairs.push(("mount".into(), format!("/mnt/dätä \"{i}\"\\x")));
            }
            let n = 1 + (i as i64 * 13) % 400;
            let samples = (0..n)
                .map(|k| {
                    let v = match k % 4 {
                        0 => k as f64,
                        1 => (k as f64) * 0.1 + i as f64,
                        2 => 1e21 * k as f64,
                        _ => -(i as f64) / 3.0,
                    };
                    Sample::new(1_700_000_000_000 + k * 15_000 + i as i64, v)
                })
                .collect();
            (Labels::from_pairs(&pairs), samples)
        })
        .collect()
}

fn chunks_of(samples: &[Sample]) -> Vec<Chunk> {
    samples
        .chunks(SAMPLES_PER_CHUNK)
        .map(|part| {
            let mut e = XorEncoder::new();
            for s in part {
                e.append(s.t, s.v);
            }
            Chunk::seal(&e, true)
        })
        .collect()
}

/// One dump line per sample, as `promtool tsdb dump` prints them (value as Go's `%g`,
/// compared after parsing back so the float formatting does not matter).
fn dump_key(labels: &str, v: f64, t: i64) -> (String, i64, u64) {
    (labels.to_string(), t, v.to_bits())
}

pub(crate) fn parse_dump(out: &str) -> Vec<(String, i64, u64)> {
    let mut rows: Vec<(String, i64, u64)> = out
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let close = line
                .rfind("} ")
                .unwrap_or_else(|| panic!("dump line {line:?}"));
            let labels = &line[..=close];
            let mut rest = line[close + 2..].split(' ');
            let v: f64 = rest.next().unwrap().parse().unwrap();
            let t: i64 = rest.next().unwrap().parse().unwrap();
            dump_key(labels, v, t)
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn promtool_reads_kmon_blocks() {
    let Some(bin) = ref_bin("promtool") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    std::fs::create_dir_all(data_dir.join("wal")).unwrap();
    let data = kmon_dataset();
    let (mint, maxt) = (1_699_999_200_000, 1_700_006_400_000);
    let series = data
        .iter()
        .map(|(l, s)| BlockSeries {
            labels: l.clone(),
            chunks: chunks_of(s),
        })
        .collect();
    let meta = write_block(&data_dir, mint, maxt, series).unwrap();
    let d = data_dir.to_str().unwrap();

    let (ok, out, err) = promtool(&bin, tmp.path(), &["tsdb", "analyze", d]);
    assert!(ok, "promtool tsdb analyze failed: {err}\n{out}");
    assert!(out.contains(&format!("Block ID: {}", meta.ulid)), "{out}");
    assert!(
        out.contains(&format!("Total Series: {}", data.len())),
        "{out}"
    );

    let (ok, out, err) = promtool(&bin, tmp.path(), &["tsdb", "dump", d]);
    assert!(ok, "promtool tsdb dump failed: {err}");
    let got = parse_dump(&out);
    let mut want: Vec<(String, i64, u64)> = data
        .iter()
        .flat_map(|(l, s)| {
            let l = prom_labels(l);
            s.iter().map(move |x| dump_key(&l, x.v, x.t))
        })
        .collect();
    want.sort();
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
}

/// A `# EOF`-terminated OpenMetrics file of 360 series over about 5 hours (so promtool
/// cuts several 2h blocks) and what it holds, by Prometheus's label string.
fn openmetrics_file() -> (String, BTreeMap<String, Vec<(i64, u64)>>) {
    let mut text = String::new();
    let mut want: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    let start_s: i64 = 1_700_000_000;
    for fam in 0..12 {
        let name = format!("om_family_{fam}");
        let _ = writeln!(text, "# HELP {name} generated for the block interop test");
        let _ = writeln!(text, "# TYPE {name} gauge");
        for j in 0..30 {
            let mut pairs = vec![
                ("__name__".to_string(), name.clone()),
                ("pod".to_string(), format!("pod-{j}")),
            ];
            if j % 3 == 0 {
                pairs.push(("zone".into(), format!("eu-{}", j % 4)));
            }
            if j % 5 == 0 {
                pairs.push(("path".into(), format!("/ü/\"q\"/{j}")));
            }
            let labels = Labels::from_pairs(&pairs);
            let om_labels: Vec<String> = labels
                .iter()
                .filter(|p| p.name != "__name__")
                .map(|p| {
                    let v = p.value.replace('\\', "\\\\").replace('"', "\\\"");
                    format!("{}=\"{}\"", p.name, v)
                })
                .collect();
            let key = prom_labels(&labels);
            let series = want.entry(key).or_default();
            let step = 60 + (fam * 30 + j) % 4 * 15;
            let mut t = start_s + (j as i64 % 7);
            let mut k = 0u32;
            while t < start_s + 5 * 3600 {
                let v = f64::from(k) * 0.25 + f64::from(fam * 100 + j);
                let _ = writeln!(text, "{name}{{{}}} {v} {t}", om_labels.join(","));
                series.push((t * 1000, v.to_bits()));
                t += step as i64;
                k += 1;
            }
        }
    }
    text.push_str("# EOF\n");
    (text, want)
}

#[test]
fn kmon_reads_promtool_blocks() {
    let Some(bin) = ref_bin("promtool") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (text, want) = openmetrics_file();
    let file = tmp.path().join("in.om");
    std::fs::write(&file, text).unwrap();
    let out_dir = tmp.path().join("blocks");
    let (ok, out, err) = promtool(
        &bin,
        tmp.path(),
        &[
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            file.to_str().unwrap(),
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(ok, "promtool create-blocks-from failed: {err}\n{out}");

    let dirs: Vec<PathBuf> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| Block::is_block_dir(p))
        .collect();
    assert!(dirs.len() >= 3, "expected several 2h blocks, got {dirs:?}");
    let mut got: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    let all = SelectHints {
        start: i64::MIN,
        end: i64::MAX,
        lazy: false,
    };
    let mut meta_samples = 0;
    for dir in &dirs {
        let b = Block::open(dir).unwrap_or_else(|e| panic!("open {}: {e}", dir.display()));
        let rep = b.verify().unwrap();
        assert_eq!(rep.samples, b.meta().stats.num_samples);
        meta_samples += b.meta().stats.num_samples;
        let q = b.querier(i64::MIN, i64::MAX);
        for s in q.select(&[], &all).unwrap() {
            let e = got.entry(prom_labels(&s.labels)).or_default();
            e.extend(s.samples.map(|x| (x.t, x.v.to_bits())));
        }
        assert!(q.label_names(&[]).unwrap().contains(&"pod".to_string()));

        // Rewritten by kmon's writer, the block's index and chunk files are byte for byte
        // what promtool wrote.
        let series = b.series_chunks(&[]).unwrap();
        let again = tmp.path().join("again");
        std::fs::create_dir_all(&again).unwrap();
        let m = b.meta();
        let meta = write_block(&again, m.min_time, m.max_time, series).unwrap();
        let new = again.join(&meta.ulid);
        for f in ["index", "chunks/000001", "tombstones"] {
            let (a, z) = (
                std::fs::read(dir.join(f)).unwrap(),
                std::fs::read(new.join(f)).unwrap(),
            );
            let first = a.iter().zip(&z).position(|(x, y)| x != y);
            assert!(
                a == z,
                "{f} differs from promtool's ({} vs {} bytes), first at {first:?}; TOC {:?}",
                a.len(),
                z.len(),
                &a[a.len().saturating_sub(52)..]
            );
        }
        assert_eq!(meta.stats, m.stats);
    }
    for v in got.values_mut() {
        v.sort();
    }
    let total: usize = want.values().map(Vec::len).sum();
    assert_eq!(meta_samples as usize, total);
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
}
