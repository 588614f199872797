//! kmon reads the WAL the real Prometheus 3.5 writes, compressed: Prometheus scrapes itself
//! for a few seconds with its default snappy WAL compression and again with
//! `--storage.tsdb.wal-compression-type=zstd`, answers a range-vector query over every
//! series it scraped, and is stopped by PID; then `kmon tsdb check` finds its data dir
//! sound and `kmon export` on it (read-only) returns exactly the samples Prometheus served. Skips without KMON_REF_BIN (fails under
//! CI).

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kmon::tsdb::wal::{Codec, list_segments, scan_segment};

use crate::support::{ChildGuard, Http, free_port, ref_bin, run_kmon, urlencode};

/// Series → [(t ms, value text)] from a Prometheus-shaped matrix body.
type Matrix = BTreeMap<String, Vec<(i64, String)>>;

fn matrix(body: &str) -> Matrix {
    let v: serde_json::Value = serde_json::from_str(body).expect("json");
    let mut out = Matrix::new();
    for s in v["data"]["result"].as_array().cloned().unwrap_or_default() {
        let labels: BTreeMap<String, String> =
            serde_json::from_value(s["metric"].clone()).expect("labels");
        let key = format!("{labels:?}");
        let points = s["values"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                let t = (p[0].as_f64().unwrap_or(0.0) * 1000.0).round() as i64;
                (t, p[1].as_str().unwrap_or("").to_string())
            })
            .collect();
        out.insert(key, points);
    }
    out
}

fn prometheus_wal_case(compression: &str) {
    let Some(prom) = ref_bin("prometheus") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("prom");
    let port = free_port();
    let cfg = tmp.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - \
             job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .expect("config");
    let log = std::fs::File::create(tmp.path().join("prometheus.log")).expect("log");
    let mut cmd = Command::new(prom);
    cmd.arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"));
    if compression == "zstd" {
        cmd.arg("--storage.tsdb.wal-compression-type=zstd");
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let mut child = ChildGuard::new(child);
    let http = Http::new();
    let url = format!("http://127.0.0.1:{port}");
    assert!(
        http.wait_ok(&format!("{url}/-/ready"), Duration::from_secs(60)),
        "prometheus not ready (exited: {:?})",
        child.exited()
    );
    // Wait for a few scrapes (bounded).
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut scrapes = 0;
    while Instant::now() < deadline && scrapes < 5 {
        std::thread::sleep(Duration::from_millis(500));
        let q = format!(
            "{url}/api/v1/query?query={}",
            urlencode("count_over_time(up[5m])")
        );
        if let Some((200, body)) = http.get(&q) {
            let v: serde_json::Value = serde_json::from_str(&body).expect("json");
            scrapes = v["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
        }
    }
    assert!(scrapes >= 5, "{compression}: only {scrapes} scrapes");
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        - 1;
    let q = format!(
        "{url}/api/v1/query?query={}&time={t}",
        urlencode("{job=\"self\"}[5m]")
    );
    let (code, body) = http.get(&q).expect("query answered");
    assert_eq!(code, 200, "{body}");
    let want = matrix(&body);
    assert!(want.len() > 100, "{compression}: {} series", want.len());
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    // SAFETY: kill(2) with the pid of our own child has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert!(
        child.wait_for_exit(Duration::from_secs(30)).is_some(),
        "prometheus did not stop"
    );

    // The WAL really is compressed the way asked.
    let mut codecs: BTreeMap<String, usize> = BTreeMap::new();
    for (_, seg) in list_segments(&data.join("wal")).expect("segments") {
        scan_segment(&seg, |f| {
            *codecs.entry(format!("{:?}", f.codec)).or_default() += 1;
        })
        .expect("scan");
    }
    let asked = if compression == "zstd" {
        Codec::Zstd
    } else {
        Codec::Snappy
    };
    assert!(
        codecs.get(&format!("{asked:?}")).copied().unwrap_or(0) > 0,
        "{compression}: WAL records by codec: {codecs:?}"
    );

    // kmon's own check reads Prometheus's compressed WAL end to end without a problem.
    let (code, out, err) = run_kmon(
        &["tsdb", "check", "--data-dir", &data.display().to_string()],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{compression}: kmon tsdb check:\n{out}{err}");

    let (code, out, err) = run_kmon(
        &[
            "export",
            "--match",
            "{job=\"self\"}",
            "--start",
            &(t - 300).to_string(),
            "--end",
            &t.to_string(),
            "-o",
            "json",
            "--data-dir",
            &data.display().to_string(),
        ],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{err}");
    let mut got = matrix(&out);
    // A range selector leaves out its start; export includes it.
    for points in got.values_mut() {
        points.retain(|(pt, _)| *pt > (t as i64 - 300) * 1000);
    }
    got.retain(|_, p| !p.is_empty());
    let missing: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    assert!(missing.is_empty(), "{compression}: kmon lacks {missing:?}");
    let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(extra.is_empty(), "{compression}: kmon has extra {extra:?}");
    for (k, w) in &want {
        assert_eq!(&got[k], w, "{compression}: {k}");
    }
    println!(
        "{compression}: {} series, {} samples, WAL records by codec {codecs:?}",
        want.len(),
        want.values().map(Vec::len).sum::<usize>()
    );
}

#[test]
fn kmon_reads_prometheus_snappy_wal() {
    prometheus_wal_case("snappy");
}

#[test]
fn kmon_reads_prometheus_zstd_wal() {
    prometheus_wal_case("zstd");
}
