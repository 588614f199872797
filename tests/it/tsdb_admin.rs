//! Deletion and snapshots through the real binary: (a) kmon writes hours of data (blocks
//! and head), deletes part of a series, `kmon snapshot` copies the data dir, and the real
//! Prometheus 3.5 started on the snapshot (and on a copy of the data dir, WAL included)
//! answers `query_range` exactly as kmon does on the original, while promtool analyzes and
//! dumps it (without the deleted samples);
//! (b) `kmon snapshot` beside a running `kmon serve` that holds the data dir, and the
//! admin API (`delete_series`, `snapshot`) of that server.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kmon::model::{Labels, MatchOp, Matcher};
use kmon::storage::{Appendable, Queryable, SelectHints};
use kmon::tsdb::db::{Db, DbOptions};

use crate::support::{Http, PromOnDir, copy_tree, ref_bin, start_kmon_serve, urlencode};

const STEP: i64 = 15_000;
/// 5 hours at 15 s.
const N: i64 = 5 * 240;

fn value(i: i64, k: i64) -> f64 {
    (k * 3 + i) as f64 * 0.25
}

/// Writes `N` samples of `kmon_snap{i="0".."2"}` ending about now into a new data dir and
/// cuts it, leaving blocks and a head; then `delete(db, t0)` runs on it. Returns the first
/// timestamp.
fn write_data(dir: &Path, delete: impl FnOnce(&Db, i64)) -> i64 {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let t0 = (now_ms - N * STEP).div_euclid(STEP) * STEP;
    let db = Db::open(dir, DbOptions::default()).expect("open");
    for k in 0..N {
        let mut app = db.appender();
        for i in 0..3 {
            let l = Labels::from_pairs(&[("__name__", "kmon_snap"), ("i", &i.to_string())]);
            app.append(None, &l, t0 + k * STEP, value(i, k))
                .expect("append");
        }
        app.commit().expect("commit");
    }
    let r = db.cut().expect("cut");
    assert!(!r.written.is_empty(), "{r:?}");
    assert!(db.head().time_range().is_some());
    delete(&db, t0);
    t0
}

/// Samples of `kmon_snap` per series `i` in a data dir (opened read-only).
fn counts(dir: &Path) -> [usize; 3] {
    let ro = DbOptions {
        read_only: true,
        ..DbOptions::default()
    };
    let db = Db::open(dir, ro).expect("open read-only");
    let q = db.querier(i64::MIN, i64::MAX).expect("querier");
    let m = [Matcher::new(MatchOp::Equal, "__name__", "kmon_snap").expect("matcher")];
    let h = SelectHints {
        start: i64::MIN,
        end: i64::MAX,
        lazy: false,
    };
    let mut out = [0; 3];
    for s in q.select(&m, &h).expect("select") {
        let i: usize = s.labels.get("i").and_then(|v| v.parse().ok()).unwrap_or(9);
        if let Some(c) = out.get_mut(i) {
            *c = s.samples.count();
        }
    }
    out
}

fn kmon(args: &[&str], state: &Path) -> (Option<i32>, String, String) {
    crate::support::run_kmon(
        args,
        &[("XDG_STATE_HOME", state), ("XDG_CACHE_HOME", state)],
        Duration::from_secs(120),
    )
}

/// `data.result` of a query_range of `kmon_snap` over the whole data.
fn query_range(http: &Http, url: &str, t0: i64) -> serde_json::Value {
    let (start, end) = (t0 as f64 / 1000.0, (t0 + (N - 1) * STEP) as f64 / 1000.0);
    let q = format!("{url}/api/v1/query_range?query=kmon_snap&start={start}&end={end}&step=60");
    let (status, body) = http.get(&q).expect("query_range");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    v["data"]["result"].clone()
}

#[test]
fn prometheus_serves_a_kmon_snapshot_with_deletions_as_kmon_does() {
    let (Some(prom), Some(promtool)) = (ref_bin("prometheus"), ref_bin("promtool")) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    // Delete kmon_snap{i="1"} from inside the blocks to inside the head.
    let range = |t0: i64| (t0 + 60 * 60_000, t0 + 270 * 60_000);
    let t0 = write_data(&data, |db, t0| {
        let (lo, hi) = range(t0);
        let m = [Matcher::new(MatchOp::Equal, "i", "1").expect("matcher")];
        let r = db.delete(&m, lo, hi).expect("delete");
        assert!(r.blocks >= 1 && r.head_series == 1, "{r:?}");
    });
    let (lo, hi) = range(t0);
    let deleted = (0..N)
        .filter(|k| (lo..=hi).contains(&(t0 + k * STEP)))
        .count();
    assert_eq!(counts(&data), [1200, 1200 - deleted, 1200]);

    let out = tmp.path().join("snap");
    let (code, _, stderr) = kmon(
        &[
            "snapshot",
            out.to_str().expect("utf-8"),
            "--data-dir",
            data.to_str().expect("utf-8"),
        ],
        tmp.path(),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("written from the head"), "{stderr}");
    assert_eq!(counts(&out), [1200, 1200 - deleted, 1200]);

    let analyzed = Command::new(&promtool)
        .args(["tsdb", "analyze"])
        .arg(&out)
        .output()
        .expect("run promtool");
    assert!(analyzed.status.success(), "{analyzed:?}");
    // promtool's dump applies the tombstones too (it wants a wal/ beside the blocks).
    std::fs::create_dir_all(out.join("wal")).expect("mkdir wal");
    let dumped = Command::new(&promtool)
        .args(["tsdb", "dump"])
        .arg(&out)
        .output()
        .expect("run promtool");
    assert!(dumped.status.success(), "{dumped:?}");
    let text = String::from_utf8_lossy(&dumped.stdout);
    let per = |i: &str| {
        text.lines()
            .filter(|l| l.contains(&format!("i=\"{i}\"")))
            .count()
    };
    assert_eq!((per("0"), per("1"), per("2")), (1200, 1200 - deleted, 1200));

    // kmon on the original and Prometheus on the snapshot answer alike.
    let http = Http::new();
    let (_kmon, kurl) = start_kmon_serve(&data, tmp.path(), &["--read-only"]);
    let want = query_range(&http, &kurl, t0);
    assert_eq!(want.as_array().map(Vec::len), Some(3), "{want}");

    // Prometheus on the snapshot, and on a copy of the data dir itself (the head's
    // deletion then comes from kmon's WAL tombstones record).
    let copy = tmp.path().join("copy");
    copy_tree(&data, &copy);
    for (name, dir) in [("snapshot", &out), ("copy", &copy)] {
        let p = PromOnDir::start(&prom, &tmp.path().join(format!("prometheus-{name}")), dir);
        let purl = p.url.clone();
        let prom_log = || p.log();
        let got = query_range(&http, &purl, t0);
        assert_eq!(got, want, "prometheus on the {name}; log:\n{}", prom_log());
        assert!(
            !prom_log().to_lowercase().contains("corrupt"),
            "{}",
            prom_log()
        );
    }
}

#[test]
fn a_snapshot_beside_a_running_serve_and_the_admin_api() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let t0 = write_data(&data, |_, _| {});
    let (serve, url) = start_kmon_serve(&data, tmp.path(), &["--web.enable-admin-api"]);
    let lock_before = std::fs::read(data.join("lock")).expect("lock file");

    let out = tmp.path().join("snap");
    let (code, _, stderr) = kmon(
        &[
            "snapshot",
            out.to_str().expect("utf-8"),
            "--data-dir",
            data.to_str().expect("utf-8"),
        ],
        tmp.path(),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("(pid {}), which holds the data dir", serve.id())),
        "{stderr}"
    );
    assert_eq!(counts(&out), [1200; 3]);
    assert_eq!(std::fs::read(data.join("lock")).expect("lock"), lock_before);
    assert!(!data.join("snapshots").exists());

    let http = Http::new();
    let admin = format!("{url}/api/v1/admin/tsdb");
    let (code, body) = http
        .post_form(
            &format!("{admin}/delete_series"),
            &[("match[]", "kmon_snap{i=\"2\"}")],
        )
        .expect("delete_series");
    assert_eq!((code, body.as_str()), (204, ""));
    let q = format!(
        "{url}/api/v1/query?query={}&time={}",
        urlencode("count_over_time(kmon_snap[6h])"),
        (t0 + N * STEP) as f64 / 1000.0
    );
    let (_, body) = http.get(&q).expect("query");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let result = v["data"]["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(result.len(), 2, "{body}");
    assert!(!body.contains("\"i\":\"2\""), "{body}");

    let (code, body) = http
        .post_form(&format!("{admin}/snapshot"), &[])
        .expect("snapshot");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["status"], "success", "{body}");
    let name = v["data"]["name"].as_str().expect("a name").to_string();
    let snap = data.join("snapshots").join(&name);
    assert!(snap.is_dir(), "{body}");
    assert_eq!(counts(&snap), [1200, 1200, 0]);
    let (code, _) = http
        .post_form(&format!("{admin}/clean_tombstones"), &[])
        .expect("clean");
    assert_eq!(code, 204);
    drop(serve);
}
