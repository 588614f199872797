//! Interop: `kmon serve` scrapes a loopback fixture every second and remote-writes to the
//! real Prometheus 3.5 (`--web.enable-remote-write-receiver`). Mid-stream the receiver is
//! stopped for several scrape intervals and started again on the same port and data dir,
//! and kmon itself is killed with SIGKILL once and restarted on its data dir. Because the
//! queue follows the WAL, nothing may be lost and nothing added: for every series of the
//! fixture job, the raw samples kmon holds over the run equal those the receiver holds.
//! kmon's /metrics must count the samples sent and the retries during the outage.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::{ChildGuard, Http, free_port, ref_bin, urlencode};

/// Serves a page whose values change with every scrape, until `stop` (or 10 minutes).
fn serve_fixture(stop: Arc<AtomicBool>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = l.local_addr().expect("addr").port();
    l.set_nonblocking(true).expect("nonblocking");
    let scrapes = AtomicU64::new(0);
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(600);
        while !stop.load(Ordering::Relaxed) && Instant::now() < end {
            let Ok((mut s, _)) = l.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            let _ = s.set_nonblocking(false);
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf);
            let n = scrapes.fetch_add(1, Ordering::Relaxed) as f64;
            let mut page = String::from("# TYPE rw_fixture_total counter\n");
            for i in 0..10 {
                page.push_str(&format!(
                    "rw_fixture_total{{i=\"{i}\"}} {}\n",
                    n * (i as f64 + 1.0)
                ));
            }
            page.push_str("# TYPE rw_fixture_ratio gauge\n");
            for i in 0..5 {
                page.push_str(&format!(
                    "rw_fixture_ratio{{i=\"{i}\"}} {}\n",
                    (n * 0.37 + i as f64).sin()
                ));
            }
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = s.write_all(resp.as_bytes());
        }
    });
    port
}

/// The receiver: real Prometheus on `port` and `data`, its log in `work`.
fn start_receiver(prom: &Path, work: &Path, data: &Path, port: u16, http: &Http) -> ChildGuard {
    let cfg = work.join("receiver.yml");
    std::fs::write(&cfg, "").expect("config");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(work.join("receiver.log"))
        .expect("log");
    let child = Command::new(prom)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let mut g = ChildGuard::new(child);
    let ready = http.wait_ok(
        &format!("http://127.0.0.1:{port}/-/ready"),
        Duration::from_secs(90),
    );
    assert!(
        ready,
        "receiver not ready (exited: {:?}); log:\n{}",
        g.exited(),
        std::fs::read_to_string(work.join("receiver.log")).unwrap_or_default()
    );
    g
}

fn start_kmon(cfg: &Path, data: &Path, work: &Path, port: u16, http: &Http) -> ChildGuard {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(work.join("kmon.log"))
        .expect("log");
    let child = Command::new(env!("CARGO_BIN_EXE_kmon"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--config")
        .arg(cfg)
        .arg("--data-dir")
        .arg(data)
        .env("XDG_STATE_HOME", work)
        .env("XDG_CACHE_HOME", work)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start kmon serve");
    let mut g = ChildGuard::new(child);
    let ready = http.wait_ok(
        &format!("http://127.0.0.1:{port}/-/ready"),
        Duration::from_secs(60),
    );
    assert!(
        ready,
        "kmon serve not ready (exited: {:?}); log:\n{}",
        g.exited(),
        std::fs::read_to_string(work.join("kmon.log")).unwrap_or_default()
    );
    g
}

/// Stops a child with SIGTERM (by its PID) and waits for it, at most 60 s.
fn terminate(g: &mut ChildGuard) {
    // SAFETY: kill(2) on the PID of a child this test started and has not reaped.
    unsafe {
        libc::kill(g.id() as libc::pid_t, libc::SIGTERM);
    }
    assert!(
        g.wait_for_exit(Duration::from_secs(60)).is_some(),
        "did not stop on SIGTERM"
    );
}

/// Raw samples per series (labels as text → [(t ms, value text)]) of `{job="fixture"}`
/// in the `range_s` seconds up to `at` (Unix seconds), from the API at `base`.
type Raw = BTreeMap<String, Vec<(i64, String)>>;

fn raw_samples(http: &Http, base: &str, at: f64, range_s: u64) -> Option<Raw> {
    let q = format!("{{job=\"fixture\"}}[{range_s}s]");
    let url = format!("{base}/api/v1/query?query={}&time={at:.3}", urlencode(&q));
    let (status, body) = http.get(&url)?;
    if status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    let mut out = Raw::new();
    for r in v["data"]["result"].as_array()? {
        let labels = r["metric"].to_string();
        let vals = r["values"]
            .as_array()?
            .iter()
            .filter_map(|p| {
                let t = (p[0].as_f64()? * 1000.0).round() as i64;
                Some((t, p[1].as_str()?.to_string()))
            })
            .collect();
        out.insert(labels, vals);
    }
    Some(out)
}

/// The value of the first sample of `name` in a text exposition (summed over series).
fn metric_sum(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for l in text.lines() {
        let Some(rest) = l.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with(' ') || rest.starts_with('{')) {
            continue;
        }
        let v: f64 = rest.rsplit(' ').next()?.parse().ok()?;
        *found.get_or_insert(0.0) += v;
    }
    found
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

/// Waits up to `limit` for `cond`, polling every 250 ms.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    cond()
}

#[test]
fn remote_write_survives_a_receiver_outage_and_a_kmon_kill() {
    let Some(prom) = ref_bin("prometheus") else {
        return;
    };
    let http = Http::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path();
    let (kdata, rdata) = (work.join("kmon-data"), work.join("receiver-data"));
    let stop = Arc::new(AtomicBool::new(false));
    let fixture = serve_fixture(stop.clone());
    let (rport, kport) = (free_port(), free_port());
    let recv_url = format!("http://127.0.0.1:{rport}");
    let kmon_url = format!("http://127.0.0.1:{kport}");
    let cfg = work.join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: fixture
    static_configs:
      - targets: ["127.0.0.1:{fixture}"]
remote_write:
  - url: {recv_url}/api/v1/write
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
"#
        ),
    )
    .expect("config");
    let t0 = now_s();
    let mut recv = start_receiver(&prom, work, &rdata, rport, &http);
    let mut kmon = start_kmon(&cfg, &kdata, work, kport, &http);
    let log = |w: &Path| {
        format!(
            "kmon log:\n{}\nreceiver log:\n{}",
            std::fs::read_to_string(w.join("kmon.log")).unwrap_or_default(),
            std::fs::read_to_string(w.join("receiver.log")).unwrap_or_default()
        )
    };
    // Samples reach the receiver.
    let arrived = wait_until(Duration::from_secs(60), || {
        raw_samples(&http, &recv_url, now_s(), 600)
            .is_some_and(|r| r.values().any(|v| v.len() >= 3))
    });
    assert!(arrived, "no samples reached the receiver; {}", log(work));

    // The receiver goes away for several scrape intervals.
    let ms = || (now_s() * 1000.0) as i64;
    let mut milestones = vec![("receiver stopped", ms())];
    terminate(&mut recv);
    std::thread::sleep(Duration::from_secs(6));
    let (_, metrics) = http
        .get(&format!("{kmon_url}/metrics"))
        .expect("kmon /metrics");
    let sent = metric_sum(&metrics, "prometheus_remote_storage_samples_total");
    assert!(
        sent.is_some_and(|v| v > 0.0),
        "samples sent not counted: {sent:?}"
    );
    let retried = metric_sum(&metrics, "prometheus_remote_storage_samples_retried_total");
    assert!(
        retried.is_some_and(|v| v > 0.0),
        "retries during the outage not counted: {retried:?}\n{metrics}"
    );
    let mut recv = start_receiver(&prom, work, &rdata, rport, &http);
    milestones.push(("receiver back", ms()));
    std::thread::sleep(Duration::from_secs(3));

    // kmon dies without warning and comes back on its data dir.
    drop(kmon);
    milestones.push(("kmon killed", ms()));
    std::thread::sleep(Duration::from_secs(2));
    kmon = start_kmon(&cfg, &kdata, work, kport, &http);
    milestones.push(("kmon back", ms()));
    std::thread::sleep(Duration::from_secs(5));

    // Every sample kmon holds up to `t1` reaches the receiver, and nothing else does.
    let t1 = now_s() - 2.0;
    let range = (t1 - t0).ceil() as u64 + 30;
    let mut last = (Raw::new(), Raw::new());
    let same = wait_until(Duration::from_secs(60), || {
        let (Some(k), Some(r)) = (
            raw_samples(&http, &kmon_url, t1, range),
            raw_samples(&http, &recv_url, t1, range),
        ) else {
            return false;
        };
        last = (k, r);
        !last.0.is_empty() && last.0 == last.1
    });
    stop.store(true, Ordering::Relaxed);
    if !same {
        let (k, r) = &last;
        let mut diff = String::new();
        let keys: std::collections::BTreeSet<&String> = k.keys().chain(r.keys()).collect();
        for key in keys {
            let a: Vec<i64> = k
                .get(key)
                .map(|v| v.iter().map(|x| x.0).collect())
                .unwrap_or_default();
            let b: Vec<i64> = r
                .get(key)
                .map(|v| v.iter().map(|x| x.0).collect())
                .unwrap_or_default();
            if k.get(key) != r.get(key) {
                let lost: Vec<&i64> = a.iter().filter(|t| !b.contains(t)).collect();
                let extra: Vec<&i64> = b.iter().filter(|t| !a.contains(t)).collect();
                diff.push_str(&format!(
                    "{key}: kmon {} samples, receiver {}; missing at {lost:?}, extra at {extra:?}\n",
                    a.len(),
                    b.len()
                ));
            }
        }
        diff.push_str(&format!("milestones (ms): {milestones:?}\n"));
        panic!("kmon and the receiver disagree:\n{diff}\n{}", log(work));
    }
    // The run spanned the outage and the restart: each fixture series has samples from
    // before and after both.
    let n = last.0.values().map(Vec::len).min().unwrap_or(0);
    assert!(n >= 10, "too few samples per series: {n}");
    assert!(last.0.len() >= 15, "series: {:?}", last.0.keys());
    terminate(&mut kmon);
    terminate(&mut recv);
}
