//! kmon's WAL read by the real Prometheus 3.5: kmon writes a WAL (a few series with a few
//! hundred recent samples, plus one commit big enough to be split across pages, with small
//! segments so it rolls over), the test copies it into an empty data dir as `wal/`, starts
//! Prometheus there and checks that `query_range` returns exactly kmon's samples.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kmon::model::Labels;
use kmon::storage::Appendable;
use kmon::tsdb::wal::{SyncPolicy, Wal, WalOptions, list_segments};
use kmon::tsdb::{Head, HeadOptions};

use crate::support::{ChildGuard, Http, free_port, ref_bin};

const STEP_MS: i64 = 15_000;
const N: i64 = 300;
const FILLERS: usize = 1500;

fn value(series: usize, i: i64) -> f64 {
    match series {
        0 => i as f64,
        1 => i as f64 * 0.25 - 17.0,
        _ => (i as f64).sin() * 1e6,
    }
}

/// Writes the WAL into `dir` and returns the first sample's timestamp (ms).
fn write_wal(dir: &Path) -> i64 {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64;
    let t0 = (now_ms - (N + 10) * STEP_MS) / STEP_MS * STEP_MS;
    let wal = Arc::new(
        Wal::open(
            dir,
            WalOptions {
                segment_size: 64 * 1024,
                sync: SyncPolicy::Always,
            },
        )
        .expect("open the WAL"),
    );
    let head = Head::new(HeadOptions {
        commit_log: Some(wal.clone()),
        ..HeadOptions::default()
    });
    let series: Vec<Labels> = (0..3)
        .map(|s| {
            Labels::from_pairs(&[
                ("__name__", "kmon_wal_test"),
                ("series", &s.to_string()),
                ("job", "wal"),
            ])
        })
        .collect();
    let mut refs = vec![None; series.len()];
    for i in 0..N {
        let mut a = head.appender();
        for (s, l) in series.iter().enumerate() {
            refs[s] = Some(a.append(refs[s], l, t0 + i * STEP_MS, value(s, i)).unwrap());
        }
        if i == 0 {
            // One batch of many new series: a series record larger than a page.
            for f in 0..FILLERS {
                let l = Labels::from_pairs(&[
                    ("__name__", "kmon_wal_filler"),
                    ("instance", &format!("host-{f:05}.example.org:9100")),
                ]);
                a.append(None, &l, t0, f as f64).unwrap();
            }
        }
        a.commit().unwrap();
    }
    drop(head);
    drop(wal);
    t0
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn prometheus_replays_kmons_wal() {
    let Some(prom) = ref_bin("prometheus") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let kwal = tmp.path().join("kmon-wal");
    let t0 = write_wal(&kwal);
    assert!(
        list_segments(&kwal).unwrap().len() > 2,
        "the WAL should roll over"
    );

    let data = tmp.path().join("prom-data");
    copy_dir(&kwal, &data.join("wal"));
    let cfg = tmp.path().join("empty.yml");
    std::fs::write(&cfg, "").unwrap();
    let port = free_port();
    let log_path = tmp.path().join("prometheus.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let child = Command::new(prom)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let mut guard = ChildGuard::new(child);
    let url = format!("http://127.0.0.1:{port}");
    let http = Http::new();
    let prom_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        http.wait_ok(&format!("{url}/-/ready"), Duration::from_secs(90)),
        "prometheus not ready (exited: {:?}); log:\n{}",
        guard.exited(),
        prom_log()
    );

    let (start, end) = (t0 as f64 / 1000.0, (t0 + (N - 1) * STEP_MS) as f64 / 1000.0);
    let q = format!("{url}/api/v1/query_range?query=kmon_wal_test&start={start}&end={end}&step=15");
    let (status, body) = http.get(&q).expect("query_range");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let result = v["data"]["result"].as_array().expect("a matrix");
    assert_eq!(result.len(), 3, "{body}\nlog:\n{}", prom_log());
    for r in result {
        let s: usize = r["metric"]["series"].as_str().unwrap().parse().unwrap();
        assert_eq!(r["metric"]["job"], "wal");
        let vals = r["values"].as_array().unwrap();
        assert_eq!(vals.len(), N as usize, "series {s}");
        for (i, pair) in vals.iter().enumerate() {
            let t = pair[0].as_f64().unwrap();
            let got: f64 = pair[1].as_str().unwrap().parse().unwrap();
            assert_eq!(t, start + i as f64 * 15.0);
            assert_eq!(got, value(s, i as i64), "series {s} step {i}");
        }
    }
    let q = format!("{url}/api/v1/query?query=count(kmon_wal_filler)&time={start}");
    let (status, body) = http.get(&q).expect("query");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["data"]["result"][0]["value"][1],
        FILLERS.to_string(),
        "{body}"
    );
    assert!(
        !prom_log().to_lowercase().contains("corrupt"),
        "prometheus reported corruption:\n{}",
        prom_log()
    );
}
