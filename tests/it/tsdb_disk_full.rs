//! Ingestion survives a full disk. `kmon serve` scrapes a fixture target on loopback into
//! a data dir that is a 2 MiB tmpfs, mounted in a private mount namespace (`unshare
//! --mount`; `--user --map-root-user` too when not root). The test fills the tmpfs through
//! `/proc/<kmon pid>/root/<dir>` and checks that `/metrics` counts failing WAL writes while
//! `/api/v1/query` still serves what was stored; then it deletes the filler and checks that
//! new samples come in again. After SIGTERM the namespace's shell copies the data dir out,
//! and the copy, opened read-only, holds every sample served before the disk filled, with
//! no WAL repair and no corrupt block; with `KMON_REF_BIN`, the real Prometheus replays a
//! copy of it and serves exactly the same samples. Without unshare or tmpfs mounts the test
//! prints why and passes, except under `CI=true`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kmon::model::{MatchOp, Matcher, is_stale_nan};
use kmon::storage::{Queryable, SelectHints};
use kmon::tsdb::db::{Db, DbOptions};

use crate::support::{ChildGuard, Http, PromOnDir, ci, copy_tree, free_port, ref_bin, urlencode};

/// Series the fixture target exposes.
const SERIES: usize = 50;

/// The unshare arguments that give a private mount namespace here, if any works: tries
/// mounting a tmpfs on `probe` in one.
fn unshare_args(probe: &Path) -> Result<Vec<&'static str>, String> {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let args: Vec<&str> = if root {
        vec!["--mount"]
    } else {
        vec!["--user", "--map-root-user", "--mount"]
    };
    let out = Command::new("unshare")
        .args(&args)
        .args(["sh", "-c", "mount -t tmpfs -o size=1m tmpfs \"$0\""])
        .arg(probe)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    if out.status.success() {
        Ok(args)
    } else {
        Err(format!(
            "unshare {args:?} + mount -t tmpfs failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A metrics page on loopback whose values grow with every scrape. Stops when dropped.
struct Target {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Target {
    fn start() -> Target {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind the fixture target");
        l.set_nonblocking(true).expect("nonblocking");
        let port = l.local_addr().expect("address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let scrapes = AtomicU64::new(0);
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let n = scrapes.fetch_add(1, Ordering::Relaxed);
                let mut body = String::from("# TYPE fill_metric counter\n");
                for i in 0..SERIES {
                    body.push_str(&format!(
                        "fill_metric_total{{i=\"{i}\",pad=\"{}\"}} {}\n",
                        "x".repeat(40),
                        n * 1000 + i as u64
                    ));
                }
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Target {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Every sample of `fill_metric_total` in the last hour, by series (JSON of a range
/// vector selector), or `None` when the query fails.
fn served(http: &Http, url: &str) -> Option<BTreeMap<String, BTreeSet<(i64, String)>>> {
    let q = urlencode("fill_metric_total[1h]");
    let (status, body) = http.get(&format!("{url}/api/v1/query?query={q}"))?;
    if status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    let mut out = BTreeMap::new();
    for s in v["data"]["result"].as_array()? {
        let key = s["metric"]["i"].as_str()?.to_string();
        let samples: BTreeSet<(i64, String)> = s["values"]
            .as_array()?
            .iter()
            .filter_map(|p| {
                let t = (p[0].as_f64()? * 1000.0).round() as i64;
                Some((t, p[1].as_str()?.to_string()))
            })
            .collect();
        out.insert(key, samples);
    }
    Some(out)
}

fn newest(s: &BTreeMap<String, BTreeSet<(i64, String)>>) -> i64 {
    s.values()
        .filter_map(|v| v.iter().next_back().map(|x| x.0))
        .max()
        .unwrap_or(i64::MIN)
}

/// `name value` of one unlabeled metric on `/metrics`.
fn metric(http: &Http, url: &str, name: &str) -> Option<f64> {
    let (_, body) = http.get(&format!("{url}/metrics"))?;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Polls `f` every 200 ms until it gives `Some`, for at most `limit`.
fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(x) = f() {
            return Some(x);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Writes zeros to `path` until the file system is full; returns the bytes written.
fn fill_up(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).expect("create the filler");
    let mut total = 0;
    for chunk in [64 * 1024, 4096, 512, 1] {
        let buf = vec![0u8; chunk];
        while f.write_all(&buf).is_ok() {
            total += chunk as u64;
            if total > 64 * 1024 * 1024 {
                panic!("{} is not filling up", path.display());
            }
        }
    }
    total
}

fn signal(pid: u32, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("a pid");
    // SAFETY: kill(2) on the pid of the kmon this test started.
    let r = unsafe { libc::kill(pid, sig) };
    assert_eq!(r, 0, "kill({pid}, {sig})");
}

#[test]
fn ingestion_survives_a_full_disk() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let probe = tmp.path().join("probe");
    std::fs::create_dir(&probe).expect("probe dir");
    let unshare = match unshare_args(&probe) {
        Ok(a) => a,
        Err(why) if ci() => panic!("{why}: CI must run the disk-full test"),
        Err(why) => {
            println!("skipping: {why}");
            return;
        }
    };
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    std::fs::create_dir(&data).expect("data dir");
    std::fs::create_dir(&out).expect("out dir");
    let target = Target::start();
    let cfg = tmp.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: fill\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            target.port
        ),
    )
    .expect("config");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    // The shell mounts the tmpfs, runs kmon in the background (its pid to `out/pid`),
    // and after kmon exits copies the data dir out of the namespace.
    let script = "set -e; mount -t tmpfs -o size=2m tmpfs \"$1\"; \
        \"$3\" serve --listen \"$4\" --config \"$5\" --data-dir \"$1\" </dev/null >\"$2/kmon.out\" 2>&1 & \
        echo $! > \"$2/pid.tmp\"; mv \"$2/pid.tmp\" \"$2/pid\"; \
        wait $! || true; mkdir \"$2/copy\"; cp -a \"$1/.\" \"$2/copy/\"; touch \"$2/done\"";
    let shell = Command::new("unshare")
        .args(&unshare)
        .args(["sh", "-c", script, "sh"])
        .arg(&data)
        .arg(&out)
        .arg(env!("CARGO_BIN_EXE_kmon"))
        .arg(format!("127.0.0.1:{port}"))
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start unshare");
    let mut shell = ChildGuard::new(shell);
    let pid: u32 = wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(out.join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    })
    .expect("kmon's pid");
    // If the test fails from here on, kmon must not outlive it.
    struct Kill(u32);
    impl Drop for Kill {
        fn drop(&mut self) {
            if let Ok(p) = libc::pid_t::try_from(self.0) {
                // SAFETY: kill(2) on the kmon this test started; ESRCH once it exited.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
        }
    }
    let kill = Kill(pid);
    let log = || std::fs::read_to_string(out.join("kmon.out")).unwrap_or_default();
    let http = Http::new();
    assert!(
        http.wait_ok(&format!("{url}/-/ready"), Duration::from_secs(30)),
        "kmon serve not ready; output:\n{}",
        log()
    );
    let inside =
        PathBuf::from(format!("/proc/{pid}/root")).join(data.strip_prefix("/").expect("absolute"));

    // A few scrapes stored.
    let before = wait_for(Duration::from_secs(30), || {
        served(&http, &url).filter(|s| s.len() == SERIES && s.values().all(|v| v.len() >= 3))
    })
    .unwrap_or_else(|| panic!("no scrapes stored; output:\n{}", log()));

    // Fill the disk: WAL writes fail, and the counter keeps rising.
    let filler = inside.join("filler");
    let filled = fill_up(&filler);
    assert!(filled > 0);
    let failing = |at_least: f64| {
        wait_for(Duration::from_secs(30), || {
            metric(&http, &url, "kmon_tsdb_wal_writes_failed_total").filter(|v| *v >= at_least)
        })
    };
    let first =
        failing(1.0).unwrap_or_else(|| panic!("no failed WAL write counted; output:\n{}", log()));
    failing(first + 2.0).expect("failed WAL writes keep being counted while the disk is full");
    assert!(
        metric(&http, &url, "kmon_tsdb_last_error_timestamp_seconds").is_some_and(|t| t > 1e9),
        "the last error time is set"
    );
    // What was stored is still served.
    let during = served(&http, &url).expect("queries still answer on a full disk");
    for (k, v) in &before {
        assert!(
            during.get(k).is_some_and(|d| d.is_superset(v)),
            "series i={k} lost samples"
        );
    }
    let full_until = newest(&during);

    // Room again: ingestion resumes.
    std::fs::remove_file(&filler).expect("delete the filler");
    let after = wait_for(Duration::from_secs(30), || {
        served(&http, &url).filter(|s| newest(s) > full_until + 1000)
    })
    .unwrap_or_else(|| panic!("ingestion did not resume; output:\n{}", log()));

    // Stop kmon; the shell copies the data dir out.
    signal(pid, libc::SIGTERM);
    let done = wait_for(Duration::from_secs(30), || {
        out.join("done").exists().then_some(())
    });
    assert!(
        done.is_some(),
        "kmon did not stop and the copy was not made; output:\n{}",
        log()
    );
    // kmon has exited (the shell waited for it): its pid may be reused, so no kill.
    std::mem::forget(kill);
    shell.wait_for_exit(Duration::from_secs(10));

    // The copy, read-only: every sample served before (and after) the fill, no repair,
    // no corrupt block.
    let copy = out.join("copy");
    let db = Db::open(
        &copy,
        DbOptions {
            read_only: true,
            ..DbOptions::default()
        },
    )
    .expect("open the copy read-only");
    let report = db.open_report();
    assert!(report.quarantined.is_empty(), "{:?}", report.quarantined);
    assert!(report.wal.repairs.is_empty(), "{:?}", report.wal.repairs);
    for b in db.blocks() {
        b.verify().expect("blocks verify");
    }
    let q = db.querier(i64::MIN, i64::MAX).expect("querier");
    let m = [Matcher::new(MatchOp::Equal, "__name__", "fill_metric_total").expect("matcher")];
    let hints = SelectHints {
        start: i64::MIN,
        end: i64::MAX,
        lazy: false,
    };
    let mut stored: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for s in q.select(&m, &hints).expect("select") {
        let i = s.labels.get("i").unwrap_or_default().to_string();
        // Stale markers (written at shutdown) are not samples a query returns.
        stored
            .entry(i)
            .or_default()
            .extend(s.samples.filter(|x| !is_stale_nan(x.v)).map(|x| x.t));
    }
    let count = |s: &BTreeMap<String, BTreeSet<(i64, String)>>| {
        s.values().map(BTreeSet::len).sum::<usize>()
    };
    println!(
        "filler {filled} bytes; failed WAL writes ≥ {first}; samples served before {}, during {}, after {}; in the copy {}",
        count(&before),
        count(&during),
        count(&after),
        stored.values().map(BTreeSet::len).sum::<usize>()
    );
    for served in [&before, &after] {
        for (k, v) in served {
            let have = stored.get(k).cloned().unwrap_or_default();
            let missing: Vec<i64> = v
                .iter()
                .map(|x| x.0)
                .filter(|t| !have.contains(t))
                .collect();
            assert!(
                missing.is_empty(),
                "series i={k}: {missing:?} not in the copy"
            );
        }
    }
    drop(q);
    drop(db);
    prometheus_replays_the_same(&copy, &stored, tmp.path());
}

/// The real Prometheus, started on a copy of `dir`, replays its WAL without calling
/// anything corrupt and serves exactly the samples `stored` (by series `i`). Skipped
/// without `KMON_REF_BIN`.
fn prometheus_replays_the_same(dir: &Path, stored: &BTreeMap<String, BTreeSet<i64>>, tmp: &Path) {
    let Some(prom) = ref_bin("prometheus") else {
        return;
    };
    let pdir = tmp.join("prom");
    copy_tree(dir, &pdir);
    let prom = PromOnDir::start(&prom, tmp, &pdir);
    let url = prom.url.clone();
    let http = Http::new();
    let prom_log = || prom.log();
    let newest = stored
        .values()
        .filter_map(|v| v.last())
        .max()
        .copied()
        .unwrap_or(0);
    let q = urlencode("fill_metric_total[1h]");
    let (status, body) = http
        .get(&format!(
            "{url}/api/v1/query?query={q}&time={}",
            newest as f64 / 1000.0 + 1.0
        ))
        .expect("query");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let mut got: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for s in v["data"]["result"].as_array().cloned().unwrap_or_default() {
        let i = s["metric"]["i"].as_str().unwrap_or_default().to_string();
        let times = s["values"].as_array().cloned().unwrap_or_default();
        got.entry(i).or_default().extend(
            times
                .iter()
                .filter_map(|p| p[0].as_f64())
                .map(|t| (t * 1000.0).round() as i64),
        );
    }
    assert_eq!(&got, stored, "log:\n{}", prom_log());
    let lower = prom_log().to_lowercase();
    assert!(!lower.contains("corrupt"), "{}", prom_log());
}
