//! The OpenMetrics a series dump writes (`kmon::app::dump`, behind `kmon export -o
//! openmetrics`) imports into the real promtool 3.5: `promtool tsdb create-blocks-from
//! openmetrics` builds blocks from it, and `promtool tsdb dump` of those blocks lists
//! exactly the series and samples that were dumped — a UTF-8 metric name, escaped label
//! values, NaN, ±Inf, tiny and huge values and millisecond timestamps included. And on
//! the same data `kmon::app::analyze` (behind `kmon tsdb analyze`) reports what
//! `promtool tsdb analyze` reports.

use std::collections::BTreeMap;
use std::process::Command;

use kmon::app::dump::{DumpFormat, dump};
use kmon::model::{Label, Labels, MatchOp, Matcher};
use kmon::storage::{Appendable, MemStorage};

use super::support::ref_bin;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().map(|(n, v)| Label::new(*n, *v)).collect())
}

/// A label set as Prometheus's `Labels.String()` writes it.
fn promtool_labels(l: &Labels) -> String {
    let quote = |s: &str| {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    };
    let pairs: Vec<String> = l
        .iter()
        .map(|l| {
            let name = if kmon::model::is_valid_legacy_label_name(l.name) {
                l.name.to_string()
            } else {
                quote(l.name)
            };
            format!("{name}={}", quote(l.value))
        })
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

#[test]
fn promtool_imports_the_openmetrics_dump() {
    let Some(promtool) = ref_bin("promtool") else {
        return;
    };
    let store = MemStorage::new();
    let t0 = 1_700_000_000_000i64;
    let series = [
        labels(&[("__name__", "up"), ("job", "a"), ("instance", "h:1")]),
        labels(&[
            ("__name__", "http_requests_total"),
            ("code", "200"),
            ("path", "/a \"b\"\n"),
        ]),
        labels(&[("__name__", "odd.name"), ("we ird", "é ✓\\")]),
    ];
    let values = [
        0.0,
        1.0,
        -2.5,
        1e300,
        -1.5e-300,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        0.1,
        123456.789,
    ];
    let mut app = store.appender();
    for (si, l) in series.iter().enumerate() {
        for (i, v) in values.iter().enumerate() {
            let t = t0 + (i as i64) * 15_000 + si as i64 * 7 + 1;
            app.append(None, l, t, *v).expect("append");
        }
    }
    app.commit().expect("commit");

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("dump.om");
    let mut out = Vec::new();
    let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").expect("matcher")];
    let stats = dump(
        &store,
        &all,
        0,
        i64::MAX / 2,
        DumpFormat::OpenMetrics,
        &mut out,
    )
    .expect("dump");
    assert_eq!((stats.series, stats.samples), (3, 30));
    std::fs::write(&file, &out).expect("write the dump");

    let blocks = dir.path().join("blocks");
    let made = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&file)
        .arg(&blocks)
        .output()
        .expect("run promtool");
    assert!(
        made.status.success(),
        "promtool create-blocks-from: {}\n{}",
        String::from_utf8_lossy(&made.stderr),
        String::from_utf8_lossy(&out)
    );
    // `tsdb dump` opens the dir as a database, which wants a wal/ beside the blocks.
    std::fs::create_dir_all(blocks.join("wal")).expect("mkdir wal");
    let dumped = Command::new(&promtool)
        .args(["tsdb", "dump"])
        .arg(&blocks)
        .output()
        .expect("run promtool");
    assert!(
        dumped.status.success(),
        "promtool tsdb dump: {}",
        String::from_utf8_lossy(&dumped.stderr)
    );
    // `{labels} value ms` per line; compare (series, ms) → value as parsed floats.
    let text = String::from_utf8(dumped.stdout).expect("utf-8");
    let mut got: BTreeMap<(String, i64), String> = BTreeMap::new();
    for line in text.lines() {
        let (rest, ms) = line.rsplit_once(' ').expect("a timestamp");
        let (series, v) = rest.rsplit_once(' ').expect("a value");
        got.insert((series.to_string(), ms.parse().expect("ms")), v.to_string());
    }
    assert_eq!(got.len(), 30, "{text}");
    for (si, l) in series.iter().enumerate() {
        // promtool writes label sets as `{__name__="up", job="a"}`, quoting a name outside
        // the legacy charset (`"we ird"="…"`).
        let key = promtool_labels(l);
        for (i, v) in values.iter().enumerate() {
            let t = t0 + (i as i64) * 15_000 + si as i64 * 7 + 1;
            let text_v = got
                .get(&(key.clone(), t))
                .unwrap_or_else(|| panic!("{key} @ {t} missing in:\n{text}"));
            let parsed: f64 = match text_v.as_str() {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                other => other.parse().expect("a float"),
            };
            if v.is_nan() {
                assert!(parsed.is_nan(), "{key} @ {t}: {text_v}");
            } else {
                assert_eq!(parsed.to_bits(), v.to_bits(), "{key} @ {t}: {text_v}");
            }
        }
    }
}

/// `kmon::app::analyze` (behind `kmon tsdb analyze`) reports what `promtool tsdb analyze`
/// reports on the same series: kmon's dump, imported by promtool, gives promtool the data.
#[test]
fn analyze_agrees_with_promtool() {
    let Some(promtool) = ref_bin("promtool") else {
        return;
    };
    let store = MemStorage::new();
    let mut app = store.appender();
    let t0 = 1_700_000_000_000i64;
    for (i, (name, job, n)) in [
        ("http_requests_total", "api", 7),
        ("http_requests_total", "web", 3),
        ("up", "api", 1),
        ("up", "web", 1),
        ("process_cpu_seconds_total", "api", 2),
        ("node_cpu_seconds_total", "node", 16),
    ]
    .into_iter()
    .enumerate()
    {
        for k in 0..n {
            let pod = format!("pod-{i}-{k}");
            let l = labels(&[("__name__", name), ("job", job), ("pod", &pod)]);
            app.append(None, &l, t0 + k as i64, k as f64)
                .expect("append");
        }
    }
    app.commit().expect("commit");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("dump.om");
    let mut out = Vec::new();
    let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").expect("matcher")];
    dump(
        &store,
        &all,
        0,
        i64::MAX / 2,
        DumpFormat::OpenMetrics,
        &mut out,
    )
    .expect("dump");
    std::fs::write(&file, &out).expect("write the dump");
    let blocks = dir.path().join("blocks");
    let made = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&file)
        .arg(&blocks)
        .output()
        .expect("run promtool");
    assert!(made.status.success(), "{made:?}");
    let analysed = Command::new(&promtool)
        .args(["tsdb", "analyze", "--limit=100"])
        .arg(&blocks)
        .output()
        .expect("run promtool");
    assert!(analysed.status.success(), "{analysed:?}");
    let theirs = String::from_utf8(analysed.stdout).expect("utf-8");
    let ours = kmon::app::analyze::render(
        &kmon::app::analyze::analyze(&store, 0, i64::MAX / 2, 100).expect("analyze"),
        "",
    );
    for heading in [
        "Total Series:",
        "Label names:",
        "Postings (unique label pairs):",
        "Postings entries (total label pairs):",
    ] {
        let line = |t: &str| {
            t.lines()
                .find(|l| l.starts_with(heading))
                .map(str::to_string)
        };
        assert_eq!(line(&ours), line(&theirs), "{heading}\n{theirs}");
    }
    // promtool orders ties arbitrarily: compare each section as a set of lines.
    for section in [
        "Most common label pairs:",
        "Label names with highest cumulative label value length:",
        "Highest cardinality labels:",
        "Highest cardinality metric names:",
    ] {
        let lines = |t: &str| -> std::collections::BTreeSet<String> {
            t.split(section)
                .nth(1)
                .map(|rest| rest.split("\n\n").next().unwrap_or(""))
                .unwrap_or("")
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        assert!(!lines(&theirs).is_empty(), "{section}\n{theirs}");
        assert_eq!(lines(&ours), lines(&theirs), "{section}\n{theirs}");
    }
}
