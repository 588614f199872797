//! The data dir as a user meets it through the real binary: (a) data survives a restart
//! (a second `export-screen` on the same data dir shows samples from the first run);
//! (b) a second kmon on a locked data dir exits 2 naming the holder; (c) `kmon serve
//! --read-only` (and `export-screen --read-only`) serve a data dir promtool made and leave
//! it byte for byte unchanged; (d) the real Prometheus serves a copy of kmon's data dir.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::{Http, PromOnDir, copy_tree, ref_bin, start_kmon_serve, urlencode};

/// Runs kmon with `args` (state files kept under `state`), killing it after `limit`.
/// Returns (exit code, stdout, stderr).
fn kmon(args: &[&str], state: &Path, limit: Duration) -> (Option<i32>, String, String) {
    crate::support::run_kmon(
        args,
        &[("XDG_STATE_HOME", state), ("XDG_CACHE_HOME", state)],
        limit,
    )
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The timestamps (seconds) of every sample of the query box's first result.
fn query_box_times(folder: &Path) -> Vec<f64> {
    let json = std::fs::read_to_string(folder.join("data.json")).expect("data.json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("data.json parses");
    let query = v["boxes"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["box"] == "query"))
        .unwrap_or_else(|| panic!("no query box in {json}"));
    let result = &query["results"][0];
    assert_eq!(result["status"], "success", "{result}");
    result["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p[0].as_f64())
        .collect()
}

#[test]
fn a_restart_shows_the_earlier_data() {
    let out = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let run = || {
        let (code, stdout, stderr) = kmon(
            &[
                "export-screen",
                "--local",
                "--after",
                "3s",
                "--interval",
                "500ms",
                "--out",
                out.path().to_str().expect("utf-8"),
                "--data-dir",
                data.path().to_str().expect("utf-8"),
                "--keys",
                "/",
                "up",
                "Enter",
            ],
            out.path(),
            Duration::from_secs(60),
        );
        assert_eq!(code, Some(0), "stderr: {stderr}");
        std::path::PathBuf::from(stdout.trim_end())
    };
    let first = run();
    let first_times = query_box_times(&first);
    assert!(!first_times.is_empty(), "the first run collected nothing");
    // Folder names have one-second resolution: keep the second export's apart.
    std::thread::sleep(Duration::from_millis(1100));
    let second_start = now_s();
    let second = run();
    assert_ne!(first, second);
    let times = query_box_times(&second);
    let earlier = times.iter().filter(|&&t| t < second_start).count();
    assert!(
        earlier > 0,
        "no sample from before the second run ({second_start}): {times:?}"
    );
    // Every sample of the first run is among them.
    for t in &first_times {
        assert!(times.contains(t), "{t} lost: {times:?}");
    }
    assert!(data.path().join("wal").is_dir());
    assert!(data.path().join("lock").is_file());
}

#[test]
fn a_locked_data_dir_is_refused_naming_the_holder() {
    let out = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let _held = kmon::tsdb::lock::DirLock::acquire(data.path()).expect("lock");
    let (code, _, stderr) = kmon(
        &[
            "export-screen",
            "--local",
            "--after",
            "0s",
            "--out",
            out.path().to_str().expect("utf-8"),
            "--data-dir",
            data.path().to_str().expect("utf-8"),
        ],
        out.path(),
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert!(stderr.contains("is in use"), "{stderr}");
    if cfg!(target_os = "linux") {
        assert!(
            stderr.contains(&format!("pid {}", std::process::id())),
            "{stderr}"
        );
    }
    assert!(stderr.contains("--read-only"), "{stderr}");
}

/// Every file under `dir` with its bytes and modification time.
fn tree(dir: &Path) -> BTreeMap<String, (Option<SystemTime>, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            let key = p.strip_prefix(dir).expect("prefix").display().to_string();
            if p.is_dir() {
                out.insert(key, (None, Vec::new()));
                stack.push(p);
            } else {
                let m = std::fs::metadata(&p).and_then(|m| m.modified()).ok();
                out.insert(key, (m, std::fs::read(&p).expect("read")));
            }
        }
    }
    out
}

#[test]
fn read_only_serves_a_promtool_data_dir_and_changes_nothing() {
    let Some(promtool) = ref_bin("promtool") else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let data = work.path().join("data");
    std::fs::create_dir(&data).expect("data dir");
    // 3 series × 800 samples at 15s from a fixed start (3h20m: two 2h blocks).
    let t0: i64 = 1_700_000_000;
    let mut om = String::from("# TYPE kmon_ro gauge\n");
    for k in 0..800i64 {
        for i in 0..3 {
            om.push_str(&format!(
                "kmon_ro{{i=\"{i}\"}} {} {}\n",
                k + 100 * i,
                t0 + 15 * k
            ));
        }
    }
    om.push_str("# EOF\n");
    let file = work.path().join("in.om");
    std::fs::write(&file, om).expect("write");
    let status = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&file)
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run promtool");
    assert!(status.success(), "promtool create-blocks-from failed");
    let before = tree(&data);
    assert!(before.keys().any(|k| k.ends_with("meta.json")));

    let (child, url) = start_kmon_serve(&data, work.path(), &["--read-only"]);
    let http = Http::new();
    // Instant queries at three points, one in each 2h block and the last sample.
    for k in [0i64, 500, 799] {
        let q = format!(
            "{url}/api/v1/query?query={}&time={}",
            urlencode("kmon_ro"),
            t0 + 15 * k
        );
        let (code, body) = http.get(&q).expect("query answered");
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        let result = v["data"]["result"].as_array().cloned().unwrap_or_default();
        assert_eq!(result.len(), 3, "{body}");
        for s in &result {
            let i: i64 = s["metric"]["i"]
                .as_str()
                .and_then(|x| x.parse().ok())
                .unwrap_or(-1);
            assert_eq!(s["value"][1], (k + 100 * i).to_string(), "{body}");
        }
    }
    // Every sample, once: count over the whole range.
    let q = format!(
        "{url}/api/v1/query?query={}&time={}",
        urlencode("count_over_time(kmon_ro[2h])"),
        t0 + 15 * 799
    );
    let (_, body) = http.get(&q).expect("query answered");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    for s in v["data"]["result"].as_array().cloned().unwrap_or_default() {
        // The samples in (t − 2h, t]: 480 of them, across both blocks.
        let expected = (0..800).filter(|k| 15 * k > 15 * 799 - 7200).count();
        assert_eq!(s["value"][1], expected.to_string(), "{body}");
    }
    drop(child);
    // The screen export, read-only too: the query panel starts paused at the newest
    // sample (the data is long past), so it shows the data.
    let out = work.path().join("out");
    std::fs::create_dir(&out).expect("out dir");
    let (code, stdout, stderr) = kmon(
        &[
            "export-screen",
            "--read-only",
            "--after",
            "1s",
            "--out",
            out.to_str().expect("utf-8"),
            "--data-dir",
            data.to_str().expect("utf-8"),
            "--keys",
            "/",
            "kmon_ro",
            "Enter",
        ],
        work.path(),
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "stderr: {stderr}");
    let times = query_box_times(Path::new(stdout.trim_end()));
    let last = (t0 + 15 * 799) as f64;
    assert!(
        times.iter().any(|&t| t > last - 900.0 && t <= last),
        "{times:?}"
    );
    assert_eq!(tree(&data), before, "the read-only data dir changed");
}

/// kmon's data dir (a cut block plus the WAL) is a Prometheus data dir: the real
/// Prometheus 3.5 started on a copy answers with exactly kmon's samples.
#[test]
fn prometheus_serves_a_copy_of_kmons_data_dir() {
    use kmon::model::Labels;
    use kmon::storage::Appendable;
    use kmon::tsdb::db::{Db, DbOptions};
    let Some(prom) = ref_bin("prometheus") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let kdir = tmp.path().join("kmon");
    const STEP: i64 = 15_000;
    const N: i64 = 4 * 240; // 4h at 15s
    let now_ms = (now_s() * 1000.0) as i64;
    let t0 = (now_ms - N * STEP).div_euclid(STEP) * STEP;
    let value = |i: i64, k: i64| (k * 3 + i) as f64 * 0.5;
    {
        let db = Db::open(&kdir, DbOptions::default()).expect("open");
        for k in 0..N {
            let mut app = db.appender();
            for i in 0..3 {
                let l = Labels::from_pairs(&[("__name__", "kmon_db"), ("i", &i.to_string())]);
                app.append(None, &l, t0 + k * STEP, value(i, k))
                    .expect("append");
            }
            app.commit().expect("commit");
        }
        let r = db.cut().expect("cut");
        assert!(!r.written.is_empty(), "{r:?}");
    }
    let pdir = tmp.path().join("prom");
    copy_tree(&kdir, &pdir);
    let prom = PromOnDir::start(&prom, tmp.path(), &pdir);
    let url = prom.url.clone();
    let http = Http::new();
    let prom_log = || prom.log();
    let (start, end) = (t0 as f64 / 1000.0, (t0 + (N - 1) * STEP) as f64 / 1000.0);
    let q = format!("{url}/api/v1/query_range?query=kmon_db&start={start}&end={end}&step=15");
    let (status, body) = http.get(&q).expect("query_range");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let result = v["data"]["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(result.len(), 3, "{body}\nlog:\n{}", prom_log());
    for r in &result {
        let i: i64 = r["metric"]["i"]
            .as_str()
            .and_then(|x| x.parse().ok())
            .unwrap_or(-1);
        let vals = r["values"].as_array().cloned().unwrap_or_default();
        assert_eq!(vals.len(), N as usize, "series {i}\nlog:\n{}", prom_log());
        for (k, pair) in vals.iter().enumerate() {
            let got: f64 = pair[1]
                .as_str()
                .and_then(|x| x.parse().ok())
                .unwrap_or(f64::NAN);
            assert_eq!(got, value(i, k as i64), "series {i} step {k}");
        }
    }
    let lower = prom_log().to_lowercase();
    assert!(!lower.contains("corrupt"), "{}", prom_log());
}

/// `kmon export` and `kmon tsdb analyze` read a data dir kmon wrote (opened read-only):
/// the built-in collector's `up` comes out as OpenMetrics and as JSON, and the analysis
/// counts the collector's metrics.
#[test]
fn export_and_analyze_read_the_data_dir() {
    let state = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let dir = data.path().to_str().expect("utf-8");
    let out = state.path().join("shots");
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
        state.path(),
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{stderr}");

    let (code, om, stderr) = kmon(
        &["export", "--match", "up", "--data-dir", dir],
        state.path(),
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(om.starts_with("# TYPE up unknown\nup{instance=\""), "{om}");
    assert!(om.ends_with("# EOF\n"), "{om}");
    let samples = om.lines().filter(|l| l.starts_with("up{")).count();
    assert!(samples >= 2, "{om}");
    assert!(
        om.lines()
            .filter(|l| l.starts_with("up{"))
            .all(|l| l.contains(",job=\"node\"} 1 "))
    );
    assert!(
        stderr.contains(&format!("exported 1 series, {samples} samples")),
        "{stderr}"
    );

    let (code, json, stderr) = kmon(
        &[
            "export",
            "--match",
            "up{job=\"node\"}",
            "-o",
            "json",
            "--data-dir",
            dir,
        ],
        state.path(),
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v["data"]["result"][0]["metric"]["job"], "node", "{json}");

    let (code, text, stderr) = kmon(
        &["tsdb", "analyze", "--limit", "5", "--data-dir", dir],
        state.path(),
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        text.starts_with(&format!("Data dir: {dir} (0 blocks and the head, ")),
        "{text}"
    );
    let metrics = text
        .split("Highest cardinality metric names:\n")
        .nth(1)
        .expect("the metric names section");
    assert!(metrics.contains("node_cpu_seconds_total"), "{text}");
    assert_eq!(metrics.lines().count(), 5, "--limit 5:\n{text}");

    // A bad selector names itself; a missing dir is an error too.
    let (code, _, stderr) = kmon(
        &["export", "--match", "up{", "--data-dir", dir],
        state.path(),
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--match \"up{\""), "{stderr}");
}

/// `kmon import openmetrics` backfills into 2-hour blocks that promtool reads in full, and
/// that `kmon export` reads back.
#[test]
fn import_openmetrics_makes_blocks_promtool_reads() {
    let Some(promtool) = ref_bin("promtool") else {
        return;
    };
    let state = tempfile::tempdir().expect("tempdir");
    let data = state.path().join("data");
    let file = state.path().join("in.om");
    let mut text = String::from("# TYPE m gauge\n");
    for s in ["a", "b", "c"] {
        for i in 0..400 {
            text.push_str(&format!(
                "m{{s=\"{s}\"}} {} {}\n",
                i as f64 * 0.5,
                1_700_000_000 + i * 60
            ));
        }
    }
    text.push_str("# EOF\n");
    std::fs::write(&file, &text).expect("write");
    let dir = data.to_str().expect("utf-8");
    let (code, _, stderr) = kmon(
        &[
            "import",
            "openmetrics",
            file.to_str().expect("utf-8"),
            "--data-dir",
            dir,
        ],
        state.path(),
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("imported 1200 samples of 3 series into 4 block(s)"),
        "{stderr}"
    );
    // promtool's `tsdb dump` wants a wal/ beside the blocks.
    std::fs::create_dir_all(data.join("wal")).expect("mkdir wal");
    let dumped = Command::new(&promtool)
        .args(["tsdb", "dump"])
        .arg(&data)
        .output()
        .expect("run promtool");
    assert!(dumped.status.success(), "{dumped:?}");
    let lines = String::from_utf8_lossy(&dumped.stdout).lines().count();
    assert_eq!(lines, 1200);
    let (code, om, stderr) = kmon(
        &["export", "--match", "m", "--data-dir", dir],
        state.path(),
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(om.lines().filter(|l| l.starts_with("m{")).count(), 1200);
    assert!(om.contains("m{s=\"b\"} 199.5 1700023940\n"), "{om}");
}
