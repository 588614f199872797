//! Rules in kmon and in the real Prometheus 3.5 on the same data: both scrape one static
//! target served here on loopback (whose value the test steps: low, high, low again) with
//! the same prometheus.yml (1s scrape and evaluation intervals, the same rule file by the
//! same absolute path, so both place the group at the same offset within the second).
//!
//! What is compared: `/api/v1/alerts` when the alert fires (labels with a templated label,
//! rendered annotations, state, and `activeAt`: the same sub-second part, i.e. the same
//! aligned evaluation slot, and at most two slots apart — the two scrape the target at
//! their own offsets, so they can see the step one evaluation apart); that both resolve
//! after keep_firing_for; the label sets of ALERTS and the recording rule's series over the
//! run (query_range); the recorded values in a steady state. And a restart: kmon killed
//! and started again on the same data dir restores a pending alert's `for` state from
//! ALERTS_FOR_STATE.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{ChildGuard, Http, free_port, ref_bin, start_kmon_serve, urlencode};

const RULES: &str = r#"groups:
  - name: interop
    interval: 1s
    query_offset: 1s
    labels:
      team: infra
    rules:
      - record: demo:value:doubled
        expr: demo_value * 2
      - alert: DemoHigh
        expr: demo_value > 5
        for: 3s
        keep_firing_for: 2s
        labels:
          severity: '{{ if gt $value 50.0 }}critical{{ else }}warning{{ end }}'
        annotations:
          summary: '{{ $labels.instance }} is {{ $value }}'
          description: 'value {{ printf "%.1f" $value }} on {{ $labels.job }}'
"#;

/// A static exposition on loopback whose body the test changes; stops when dropped.
struct Target {
    port: u16,
    body: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
}

impl Target {
    fn start(body: &str) -> Target {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.set_nonblocking(true).expect("nonblocking");
        let port = l.local_addr().expect("addr").port();
        let body = Arc::new(Mutex::new(body.to_string()));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (Arc::clone(&body), Arc::clone(&stop));
        std::thread::spawn(move || {
            // Bounded: at most 10 minutes, and until the test ends.
            let until = Instant::now() + Duration::from_secs(600);
            while !s.load(Ordering::Relaxed) && Instant::now() < until {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.set_nonblocking(false);
                        let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut buf = [0u8; 4096];
                        let _ = c.read(&mut buf);
                        let text = b.lock().map(|t| t.clone()).unwrap_or_default();
                        let _ = write!(
                            c,
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                            text.len()
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Target { port, body, stop }
    }

    fn set(&self, text: &str) {
        if let Ok(mut b) = self.body.lock() {
            *b = text.to_string();
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn page(a: f64, b: f64) -> String {
    format!(
        "# TYPE demo_value gauge\ndemo_value{{instance=\"a\"}} {a}\ndemo_value{{instance=\"b\"}} {b}\n"
    )
}

fn get_json(http: &Http, url: &str) -> Value {
    let (code, body) = http.get(url).unwrap_or((0, String::new()));
    assert_eq!(code, 200, "GET {url}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

fn alerts(http: &Http, base: &str) -> Vec<Value> {
    let mut v = get_json(http, &format!("{base}/api/v1/alerts"))["data"]["alerts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    v.sort_by_key(|a| a["labels"].to_string());
    v
}

/// Polls `f` every 200ms for at most `limit`.
fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

fn firing(http: &Http, base: &str) -> bool {
    alerts(http, base).iter().any(|a| a["state"] == "firing")
}

/// RFC 3339 → (whole seconds, nanoseconds) through chrono.
fn parse_time(s: &str) -> (i64, u32) {
    let t = chrono::DateTime::parse_from_rfc3339(s).expect("RFC 3339 time");
    (t.timestamp(), t.timestamp_subsec_nanos())
}

fn series_sets(http: &Http, base: &str, expr: &str, start: f64, end: f64) -> Vec<String> {
    let url = format!(
        "{base}/api/v1/query_range?query={}&start={start}&end={end}&step=1",
        urlencode(expr)
    );
    let v = get_json(http, &url);
    let mut out: Vec<String> = v["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| s["metric"].to_string())
        .collect();
    out.sort();
    out
}

fn write_config(dir: &Path, target_port: u16) -> std::path::PathBuf {
    let rules = dir.join("rules.yml");
    std::fs::write(&rules, RULES).expect("rules");
    let cfg = dir.join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n",
            rules.display()
        ),
    )
    .expect("config");
    cfg
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[test]
fn alerts_and_recording_rules_match_prometheus() {
    let Some(prom) = ref_bin("prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let target = Target::start(&page(1.0, 1.0));
    let cfg = write_config(dir.path(), target.port);

    let port = free_port();
    let child = std::process::Command::new(&prom)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("pdata").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start prometheus");
    let _prom_guard = ChildGuard::new(child);
    let prom_url = format!("http://127.0.0.1:{port}");
    let http = Http::new();
    assert!(http.wait_ok(&format!("{prom_url}/-/ready"), Duration::from_secs(90)));
    let cfg_s = cfg.display().to_string();
    let (_kmon_guard, kmon_url) = start_kmon_serve(
        &dir.path().join("kdata"),
        &dir.path().join("kstate"),
        &["--config", &cfg_s],
    );
    let start = now_s();
    let both = [prom_url.as_str(), kmon_url.as_str()];

    // Low: no alerts, the recording rule runs (and both have restored `for` state).
    std::thread::sleep(Duration::from_secs(5));
    for base in both {
        assert!(
            alerts(&http, base).is_empty(),
            "{base}: no alerts while low"
        );
    }

    // High on instance a: pending, then firing after 3s.
    target.set(&page(80.0, 1.0));
    for base in both {
        assert!(
            wait_for(Duration::from_secs(30), || firing(&http, base)),
            "{base}: the alert fires"
        );
    }
    std::thread::sleep(Duration::from_secs(2));
    let p = alerts(&http, &prom_url);
    let k = alerts(&http, &kmon_url);
    assert_eq!(p.len(), 1, "prometheus: {p:?}");
    assert_eq!(k.len(), 1, "kmon: {k:?}");
    for field in ["labels", "annotations", "state", "value"] {
        assert_eq!(
            k[0][field], p[0][field],
            "{field}: kmon {k:?} prometheus {p:?}"
        );
    }
    let (ps, pn) = parse_time(p[0]["activeAt"].as_str().unwrap_or(""));
    let (ks, kn) = parse_time(k[0]["activeAt"].as_str().unwrap_or(""));
    assert_eq!(
        kn / 1_000_000,
        pn / 1_000_000,
        "the same evaluation slot offset"
    );
    assert!((ks - ps).abs() <= 2, "activeAt {ks} vs {ps}");

    // Low again: kept firing for 2s, then resolved in both.
    target.set(&page(1.0, 1.0));
    for base in both {
        assert!(
            wait_for(Duration::from_secs(30), || alerts(&http, base).is_empty()),
            "{base}: the alert resolves"
        );
    }
    std::thread::sleep(Duration::from_secs(2));
    let end = now_s();

    for expr in ["ALERTS", "ALERTS_FOR_STATE", "demo:value:doubled"] {
        let p = series_sets(&http, &prom_url, expr, start, end);
        let k = series_sets(&http, &kmon_url, expr, start, end);
        assert!(!p.is_empty(), "prometheus has {expr}");
        assert_eq!(k, p, "{expr} series over the run");
    }
    let q = format!("/api/v1/query?query={}", urlencode("demo:value:doubled"));
    let values = |base: &str| {
        let v = get_json(&http, &format!("{base}{q}"));
        let mut r: Vec<(String, String)> = v["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|s| (s["metric"].to_string(), s["value"][1].to_string()))
            .collect();
        r.sort();
        r
    };
    assert_eq!(values(&kmon_url), values(&prom_url));

    // /api/v1/rules: the same document but for the timings.
    let rules = |base: &str| {
        let mut v = get_json(&http, &format!("{base}/api/v1/rules"));
        if let Some(groups) = v["data"]["groups"].as_array_mut() {
            for g in groups {
                strip_timings(g);
                if let Some(rules) = g["rules"].as_array_mut() {
                    rules.iter_mut().for_each(strip_timings);
                }
            }
        }
        v
    };
    assert_eq!(rules(&kmon_url), rules(&prom_url));
}

fn strip_timings(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("evaluationTime");
        o.remove("lastEvaluation");
    }
}

#[test]
fn a_restarted_kmon_restores_the_for_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: restore\n    interval: 1s\n    rules:\n      - alert: Slow\n        expr: vector(1)\n        for: 20m\n",
    )
    .expect("rules");
    let rules_s = rules.display().to_string();
    let data = dir.path().join("data");
    let state = dir.path().join("state");
    let http = Http::new();
    let active_at = |base: &str| -> Option<i64> {
        let a = alerts(&http, base);
        let s = a.first()?["activeAt"].as_str()?.to_string();
        Some(parse_time(&s).0)
    };
    let (guard, url) = start_kmon_serve(&data, &state, &["--rules", &rules_s]);
    // ALERTS_FOR_STATE is written from the third evaluation on; give it several.
    assert!(wait_for(Duration::from_secs(30), || active_at(&url).is_some()));
    let first = active_at(&url).expect("pending alert");
    std::thread::sleep(Duration::from_secs(12));
    drop(guard);
    let restarted_at = now_s() as i64;
    let (_guard, url) = start_kmon_serve(&data, &state, &["--rules", &rules_s]);
    // After the restore (the second evaluation), activeAt is moved by the downtime only:
    // it lies before the restart, where a fresh alert would start at or after it.
    let restored = wait_for(Duration::from_secs(30), || {
        active_at(&url).is_some_and(|t| t < restarted_at)
    });
    let now_active = active_at(&url);
    assert!(
        restored,
        "activeAt {now_active:?} was not restored (first run {first}, restart {restarted_at})"
    );
    let a = alerts(&http, &url);
    assert_eq!(a[0]["state"], "pending");
}
