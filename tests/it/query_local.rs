//! `kmon query --data-dir D` and `kmon query-range --data-dir D` evaluate in process on a
//! data dir opened read-only: the output (`-o json`, table, CSV, errors) is byte for byte
//! what the same commands print against `kmon serve --read-only` on that dir, and the dir
//! is left unchanged, whether the samples are in blocks or still only in the WAL.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{ChildGuard, Http, free_port, start_kmon_serve};

/// Every file under `dir` with its bytes (relative path → contents).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let key = p
                    .strip_prefix(dir)
                    .expect("under dir")
                    .to_string_lossy()
                    .into_owned();
                out.insert(key, std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

fn kmon(args: &[&str], state: &Path) -> (Option<i32>, String, String) {
    crate::support::run_kmon(
        args,
        &[("XDG_STATE_HOME", state), ("XDG_CACHE_HOME", state)],
        Duration::from_secs(60),
    )
}

#[test]
fn data_dir_queries_print_what_the_read_only_server_answers() {
    let work = tempfile::tempdir().expect("tempdir");
    let data = work.path().join("data");
    std::fs::create_dir(&data).expect("data dir");
    let dir = data.to_str().expect("utf-8");
    // 4 series × 600 samples at 15 s (2h30m: two blocks), one with a label needing escapes.
    let t0: i64 = 1_700_000_000;
    let mut om = String::from("# TYPE kmon_q gauge\n");
    for i in 0..4 {
        for k in 0..600i64 {
            let v = (k * (i + 1)) as f64 / 8.0;
            om.push_str(&format!(
                "kmon_q{{i=\"{i}\",path=\"a\\\\b \\\"q\\\"\"}} {v} {}\n",
                t0 + 15 * k
            ));
        }
    }
    om.push_str("# EOF\n");
    let file = work.path().join("in.om");
    std::fs::write(&file, om).expect("write");
    let (code, _, stderr) = kmon(
        &[
            "import",
            "openmetrics",
            file.to_str().expect("utf-8"),
            "--data-dir",
            dir,
        ],
        work.path(),
    );
    assert_eq!(code, Some(0), "import: {stderr}");
    let before = tree(&data);
    assert!(
        before.keys().any(|k| k.ends_with("meta.json")),
        "{before:?}"
    );

    let end = (t0 + 15 * 599).to_string();
    let mid = (t0 + 15 * 300).to_string();
    let start = t0.to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec!["query", "kmon_q", "--time", &end, "-o", "json"],
        vec!["query", "kmon_q", "--time", &mid],
        vec![
            "query",
            "sum by (i) (rate(kmon_q[5m]))",
            "--time",
            &end,
            "-o",
            "json",
        ],
        vec!["query", "count_over_time(kmon_q[3h])", "--time", &end],
        vec!["query", "scalar(sum(kmon_q))", "--time", &mid, "-o", "json"],
        vec!["query", "kmon_q[1m]", "--time", &end, "-o", "json"],
        // Errors: a parse error, and a range query of a range vector.
        vec!["query", "sum(kmon_q", "-o", "json"],
        vec![
            "query-range",
            "kmon_q[1m]",
            "--start",
            &start,
            "--end",
            &end,
            "--step",
            "60",
        ],
        vec![
            "query-range",
            "avg(kmon_q) by (i)",
            "--start",
            &start,
            "--end",
            &end,
            "--step",
            "5m",
            "-o",
            "json",
        ],
        vec![
            "query-range",
            "kmon_q{i=\"2\"}",
            "--start",
            &mid,
            "--end",
            &end,
            "--step",
            "1m",
            "-o",
            "csv",
        ],
    ];
    let local: Vec<_> = cases
        .iter()
        .map(|args| {
            let mut a = args.clone();
            a.extend(["--data-dir", dir]);
            kmon(&a, work.path())
        })
        .collect();
    assert_eq!(
        tree(&data),
        before,
        "kmon query --data-dir changed the data dir"
    );

    let (child, url) = start_kmon_serve(&data, work.path(), &["--read-only"]);
    for (args, local) in cases.iter().zip(&local) {
        let mut a = args.clone();
        a.extend(["--url", &url]);
        let served = kmon(&a, work.path());
        assert_eq!(local, &served, "kmon {args:?}: --data-dir vs --url");
    }
    drop(child);
    assert_eq!(tree(&data), before, "the data dir changed");

    // The answers are real: the instant vector has the four series, and a parse error is
    // Prometheus's, with exit 1.
    let (code, json, _) = &local[0];
    assert_eq!(*code, Some(0));
    let v: serde_json::Value = serde_json::from_str(json).expect("json");
    assert_eq!(
        v["data"]["result"].as_array().map(Vec::len),
        Some(4),
        "{json}"
    );
    let (code, _, stderr) = &local[6];
    assert_eq!(*code, Some(1));
    assert!(
        stderr.contains("bad_data: invalid parameter \"query\""),
        "{stderr}"
    );

    // --url and --data-dir together are refused; a missing dir is an error.
    let (code, _, stderr) = kmon(
        &["query", "up", "--url", &url, "--data-dir", dir],
        work.path(),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not both"), "{stderr}");
    let missing = work.path().join("nope");
    let (code, _, stderr) = kmon(
        &[
            "query",
            "up",
            "--data-dir",
            missing.to_str().expect("utf-8"),
        ],
        work.path(),
    );
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains("nope"), "{stderr}");
    assert!(!missing.exists());
}

/// A data dir whose samples are still only in the WAL (what a running kmon leaves): the
/// local evaluation replays it read-only and answers as `kmon serve --read-only` does.
#[test]
fn data_dir_queries_read_the_wal() {
    let work = tempfile::tempdir().expect("tempdir");
    let data = work.path().join("data");
    let dir = data.to_str().expect("utf-8");
    let out = work.path().join("shots");
    let (code, _, stderr) = kmon(
        &[
            "export-screen",
            "--local",
            "--after",
            "2s",
            "--interval",
            "500ms",
            "--out",
            out.to_str().expect("utf-8"),
            "--data-dir",
            dir,
        ],
        work.path(),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(data.join("wal").is_dir());
    let before = tree(&data);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .to_string();
    let start = (now.parse::<u64>().unwrap_or(0) - 60).to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "query",
            "count_over_time(up[1m])",
            "--time",
            &now,
            "-o",
            "json",
        ],
        vec!["query", "count(node_cpu_seconds_total) > 0", "--time", &now],
        vec![
            "query-range",
            "up",
            "--start",
            &start,
            "--end",
            &now,
            "--step",
            "1s",
            "-o",
            "json",
        ],
    ];
    let local: Vec<_> = cases
        .iter()
        .map(|args| {
            let mut a = args.clone();
            a.extend(["--data-dir", dir]);
            kmon(&a, work.path())
        })
        .collect();
    let v: serde_json::Value = serde_json::from_str(&local[0].1).expect("json");
    let n: u64 = v["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(n >= 2, "the WAL's up samples: {}", local[0].1);

    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_kmon"))
        .args([
            "serve",
            "--read-only",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--data-dir")
        .arg(&data)
        .env("XDG_STATE_HOME", work.path())
        .env("XDG_CACHE_HOME", work.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kmon serve");
    let mut child = ChildGuard::new(child);
    assert!(
        Http::new().wait_ok(&format!("{url}/-/ready"), Duration::from_secs(30)),
        "kmon serve not ready (exited: {:?})",
        child.exited()
    );
    for (args, local) in cases.iter().zip(&local) {
        let mut a = args.clone();
        a.extend(["--url", &url]);
        assert_eq!(
            local,
            &kmon(&a, work.path()),
            "kmon {args:?}: --data-dir vs --url"
        );
    }
    drop(child);
    assert_eq!(tree(&data), before, "the data dir changed");
}
