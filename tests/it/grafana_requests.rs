//! kmon as a Grafana data source, against the real Prometheus 3.5: the same OpenMetrics
//! data goes into Prometheus (`promtool tsdb create-blocks-from openmetrics`) and into
//! `kmon serve --load`, then the requests Grafana's Prometheus data source sends (its
//! backend `pkg/promlib` with the default POST method: form bodies, Grafana's headers,
//! `start`/`end` as Unix seconds with fractions, `step` in seconds; the label and
//! metadata lookups of its query editor; the health check; buildinfo; exemplars) are
//! replayed against both, and status and body must be byte-for-byte the same — except
//! buildinfo's version fields, which name different programs (kmon's `version` must read
//! as Prometheus 3.5 with semver, and no `features` key, so Grafana takes it for
//! Prometheus). The server helpers here are shared with `federate_interop`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{ChildGuard, free_port, ref_bin};

/// One series of a fixture family: labels, value at point `i`, number of points.
type SeriesSpec<'a> = (&'a str, &'a dyn Fn(i64) -> f64, i64);

/// One replayed request: method, path, form.
type Request = (&'static str, String, Vec<(&'static str, String)>);

/// The base time of the fixture (s).
const T0: i64 = 1_700_000_000;

/// The fixture: counters, gauges, a histogram, label values that need escaping, a label
/// name sorting before `__name__`, series that end early.
pub fn fixture(t0: i64) -> String {
    let mut s = String::new();
    let mut family = |name: &str, ty: &str, series: &[SeriesSpec<'_>]| {
        s.push_str(&format!("# TYPE {name} {ty}\n"));
        for (labels, value, points) in series {
            for i in 0..*points {
                let suffix = if ty == "counter" { "_total" } else { "" };
                s.push_str(&format!(
                    "{name}{suffix}{labels} {} {}\n",
                    value(i),
                    t0 - 600 + i * 60
                ));
            }
        }
    };
    family(
        "up",
        "gauge",
        &[
            ("{job=\"api\",instance=\"a:1\"}", &|_| 1.0, 11),
            ("{job=\"api\",instance=\"b:1\"}", &|i| (i % 2) as f64, 11),
            ("{job=\"db\",instance=\"c:1\"}", &|_| 1.0, 4),
        ],
    );
    family(
        "http_requests",
        "counter",
        &[
            (
                "{job=\"api\",code=\"200\",instance=\"a:1\"}",
                &|i| (i * i * 10) as f64,
                11,
            ),
            (
                "{job=\"api\",code=\"500\",instance=\"a:1\"}",
                &|i| i as f64 * 0.5,
                11,
            ),
        ],
    );
    family(
        "temp_celsius",
        "gauge",
        &[
            (
                "{job=\"node\",zone=\"x\\\\y\\\"q\\nz <&>\"}",
                &|i| 21.5 + i as f64 * 1e-5,
                11,
            ),
            (
                "{job=\"node\",Zone=\"A\",instance=\"n\"}",
                &|i| 1e22 / (i + 1) as f64,
                11,
            ),
        ],
    );
    s.push_str("# TYPE rpc_seconds histogram\n");
    for i in 0..11 {
        let t = t0 - 600 + i * 60;
        for (le, n) in [("0.1", 1), ("0.5", 3), ("1", 6), ("+Inf", 7)] {
            s.push_str(&format!(
                "rpc_seconds_bucket{{job=\"api\",le=\"{le}\"}} {} {t}\n",
                n * i
            ));
        }
        s.push_str(&format!("rpc_seconds_count{{job=\"api\"}} {} {t}\n", 7 * i));
        s.push_str(&format!(
            "rpc_seconds_sum{{job=\"api\"}} {} {t}\n",
            2.5 * i as f64
        ));
    }
    s.push_str("# EOF\n");
    s
}

/// A running server and where it answers.
pub struct Running {
    pub child: ChildGuard,
    pub url: String,
}

/// The real Prometheus over `om` (as blocks) with `cfg`, logging to `dir/prometheus.log`.
pub fn start_prometheus(dir: &Path, cfg: &Path, om: Option<&Path>) -> Option<Running> {
    let (bin, promtool) = (ref_bin("prometheus")?, ref_bin("promtool")?);
    let data = dir.join("prom-data");
    if let Some(om) = om {
        let out = Command::new(promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(om)
            .arg(&data)
            .stdin(Stdio::null())
            .output()
            .expect("run promtool");
        assert!(
            out.status.success(),
            "promtool create-blocks-from openmetrics failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let port = free_port();
    let log = std::fs::File::create(dir.join("prometheus.log")).expect("log file");
    let child = Command::new(bin)
        .arg("--config.file")
        .arg(cfg)
        .arg("--storage.tsdb.path")
        .arg(&data)
        .arg("--storage.tsdb.retention.time=100y")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    Some(Running {
        child: ChildGuard::new(child),
        url: format!("http://127.0.0.1:{port}"),
    })
}

/// `kmon serve` on `port` with `cfg` and `om` loaded, its data dir under `dir`.
pub fn start_kmon(dir: &Path, cfg: &Path, om: &Path, port: u16) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_kmon"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--load"])
        .arg(om)
        .arg("--config")
        .arg(cfg)
        .arg("--data-dir")
        .arg(dir.join("kmon"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kmon serve");
    Running {
        child: ChildGuard::new(child),
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// Waits (bounded) until each server is ready; panics with the Prometheus log if not.
pub fn wait_ready(client: &Client, servers: &mut [(&str, &mut Running)], log: &Path) {
    for (name, s) in servers.iter_mut() {
        if !client.wait_ok(&format!("{}/-/ready", s.url), Duration::from_secs(90)) {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!(
                "{name} not ready (exited: {:?}); prometheus log:\n{log}",
                s.child.exited()
            );
        }
    }
}

/// An HTTP client sending what Grafana's backend sends (a Go client: gzip accepted and
/// decompressed, Grafana's User-Agent, form POSTs).
pub struct Client {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

/// One answer: status, `Content-Type`, body.
pub type Answer = (u16, String, String);

impl Client {
    pub fn new() -> Client {
        Client {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .user_agent("Grafana/12.1.0")
                .build()
                .expect("an HTTP client"),
        }
    }

    pub fn send(&self, method: &str, url: &str, form: &[(&str, &str)]) -> Answer {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.rt.block_on(async {
            let req = if method == "POST" {
                self.client
                    .post(url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(encoded)
            } else if encoded.is_empty() {
                self.client.get(url)
            } else {
                self.client.get(format!("{url}?{encoded}"))
            };
            let req = req
                .header("X-Dashboard-UID", "kmon-interop")
                .header("X-Panel-Id", "2")
                .header("X-Grafana-Org-Id", "1");
            match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let ct = r
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    (status, ct, r.text().await.unwrap_or_default())
                }
                Err(e) => (0, String::new(), format!("no answer: {e}")),
            }
        })
    }

    pub fn wait_ok(&self, url: &str, limit: Duration) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if self.send("GET", url, &[]).0 == 200 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

/// A fresh temp dir with the fixture and a minimal config.
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let om = dir.path().join("fixture.om");
    std::fs::write(&om, fixture(T0)).expect("write the fixture");
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, "global:\n  scrape_interval: 15s\n").expect("write the config");
    (dir, om, cfg)
}

/// Grafana's requests: (method, path, form).
fn requests() -> Vec<Request> {
    let f = |s: i64| s.to_string();
    // `strconv.FormatFloat(secs, 'f', -1, 64)` of a time with milliseconds.
    let (start, end) = (format!("{}.123", T0 - 900), format!("{}.456", T0));
    let mut r: Vec<Request> = Vec::new();
    let mut add = |m: &'static str, p: &str, form: Vec<(&'static str, String)>| {
        r.push((m, p.to_string(), form));
    };
    // Panels: range and instant queries, with Grafana's timeout and steps.
    for (q, step) in [
        ("sum by (code) (rate(http_requests_total[2m]))", "60"),
        ("rate(http_requests_total{code=\"200\"}[5m])", "15"),
        ("up", "30"),
        (
            "histogram_quantile(0.9, sum by (le) (rate(rpc_seconds_bucket[5m])))",
            "60",
        ),
        ("temp_celsius", "120"),
        ("topk(1, temp_celsius)", "90.5"),
        (
            "label_replace(up, \"host\", \"$1\", \"instance\", \"(.*):.*\")",
            "60",
        ),
        ("up{", "60"),
        ("rate(up)", "60"),
        ("up", "0"),
        ("up", "0.01"),
    ] {
        add(
            "POST",
            "/api/v1/query_range",
            vec![
                ("query", q.into()),
                ("start", start.clone()),
                ("end", end.clone()),
                ("step", step.into()),
                ("timeout", "60s".into()),
            ],
        );
    }
    for (q, t) in [
        ("up", end.clone()),
        ("sum(rate(http_requests_total[5m]))", end.clone()),
        ("http_requests_total[3m]", f(T0)),
        ("1+1", "4".to_string()),
        ("count by (job) ({__name__=~\".+\"})", end.clone()),
        ("nope(", end.clone()),
    ] {
        add(
            "POST",
            "/api/v1/query",
            vec![("query", q.into()), ("time", t), ("timeout", "60s".into())],
        );
    }
    // The query editor's lookups (label names, metric names, label values, series).
    let range = || vec![("start", f(T0 - 3600)), ("end", f(T0))];
    let with = |extra: &[(&'static str, &str)]| {
        let mut v = range();
        v.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        v
    };
    for m in ["POST", "GET"] {
        add(m, "/api/v1/labels", with(&[("limit", "40000")]));
        add(m, "/api/v1/labels", with(&[("limit", "2")]));
        add(
            m,
            "/api/v1/labels",
            with(&[("match[]", "up"), ("limit", "40000")]),
        );
        add(
            m,
            "/api/v1/labels",
            with(&[
                ("match[]", "{__name__=~\"up|temp_celsius\"}"),
                ("limit", "3"),
            ]),
        );
        add(
            m,
            "/api/v1/series",
            with(&[("match[]", "{__name__!=\"\"}"), ("limit", "40000")]),
        );
        add(
            m,
            "/api/v1/series",
            with(&[("match[]", "{__name__!=\"\"}"), ("limit", "3")]),
        );
        add(
            m,
            "/api/v1/series",
            with(&[("match[]", "up{job=\"api\"}"), ("match[]", "temp_celsius")]),
        );
        add(m, "/api/v1/series", with(&[]));
        add(m, "/api/v1/series", with(&[("match[]", "{a=\"\"}")]));
    }
    add(
        "GET",
        "/api/v1/label/__name__/values",
        with(&[("limit", "40000")]),
    );
    add(
        "GET",
        "/api/v1/label/__name__/values",
        with(&[("limit", "2")]),
    );
    add(
        "GET",
        "/api/v1/label/__name__/values",
        with(&[("match[]", "{__name__=~\".*requests.*\"}")]),
    );
    add(
        "GET",
        "/api/v1/label/job/values",
        with(&[("match[]", "{__name__=\"up\"}"), ("limit", "40000")]),
    );
    add("GET", "/api/v1/label/zone/values", with(&[]));
    add("GET", "/api/v1/label/U__zone/values", with(&[]));
    add(
        "GET",
        "/api/v1/label/le/values",
        with(&[("match[]", "rpc_seconds_bucket")]),
    );
    add("POST", "/api/v1/label/job/values", with(&[]));
    add("GET", "/api/v1/labels", vec![("limit", "-1".into())]);
    // Metadata (kmon keeps none; Prometheus has none for data loaded from blocks).
    add("GET", "/api/v1/metadata", vec![]);
    add(
        "GET",
        "/api/v1/metadata",
        vec![("limit", "10000".into()), ("limit_per_metric", "1".into())],
    );
    add("GET", "/api/v1/metadata", vec![("metric", "up".into())]);
    add("GET", "/api/v1/metadata", vec![("limit", "x".into())]);
    // Exemplars, as Grafana asks for them beside a panel's query.
    for q in [
        "histogram_quantile(0.9, sum by (le) (rate(rpc_seconds_bucket[5m])))",
        "up",
        "1+1",
        "up{",
    ] {
        for m in ["POST", "GET"] {
            add(
                m,
                "/api/v1/query_exemplars",
                vec![
                    ("query", q.into()),
                    ("start", start.clone()),
                    ("end", end.clone()),
                ],
            );
        }
    }
    add(
        "POST",
        "/api/v1/query_exemplars",
        vec![
            ("query", "up".into()),
            ("start", end.clone()),
            ("end", start.clone()),
        ],
    );
    // The front end's exemplar probe (`areExemplarsAvailable`): a GET with `start` and
    // `end` in milliseconds.
    add(
        "GET",
        "/api/v1/query_exemplars",
        vec![
            ("query", "test".into()),
            ("start", f((T0 - 1800) * 1000)),
            ("end", f(T0 * 1000)),
        ],
    );
    // `format_query` (Grafana's Prometheus data source does not call it; Prometheus's UI
    // and other clients do).
    for q in [
        "sum(rate(x[5m]))by(job)",
        "a < b",
        "sum by (job, instance) (rate(http_requests_total{job=\"api-server\",code=~\"5..\"}[5m])) / on (job, instance) group_left sum by (job, instance) (rate(http_requests_total{job=\"api-server\"}[5m]))",
        "quantile_over_time(0.9, (rate(http_requests_total{job=\"api-server\",code=~\"5..\", handler=\"/api/v1/query_range\"}[5m]))[1h:])",
        "-(sum by (job, instance) (rate(http_requests_total{job=\"api-server\",code=~\"5..\"}[5m])) + sum by (job, instance) (rate(x[5m])))",
        "up{",
    ] {
        add("POST", "/api/v1/format_query", vec![("query", q.into())]);
        add("GET", "/api/v1/format_query", vec![("query", q.into())]);
    }
    // `parse_query`, the same (Prometheus's UI uses it for its tree view).
    for q in [
        "up{job=\"a\",x=~\"b.*\"}",
        "sum by (job) (rate(x[5m] offset 1m)) / on (a) group_left (b) -y",
        "max_over_time(x[1h:5m] @ start()) and x @ 100.5 offset -5m",
        "label_join(up, \"a\", \",\", \"b\", \"c\") > bool 1e22",
        "topk(3, \"a<b\" == \"x\")",
        "up{",
    ] {
        add("POST", "/api/v1/parse_query", vec![("query", q.into())]);
    }
    // Recording-rule expansion (`loadRules`) and alert state.
    add("GET", "/api/v1/rules", vec![]);
    add("GET", "/api/v1/alerts", vec![]);
    r
}

#[test]
fn grafana_requests_answer_as_prometheus_does() {
    let client = Client::new();
    let (dir, om, cfg) = setup();
    let Some(mut prom) = start_prometheus(dir.path(), &cfg, Some(&om)) else {
        return;
    };
    let mut kmon = start_kmon(dir.path(), &cfg, &om, free_port());
    wait_ready(
        &client,
        &mut [("prometheus", &mut prom), ("kmon", &mut kmon)],
        &dir.path().join("prometheus.log"),
    );
    let mut mismatches = Vec::new();
    let mut compared = 0;
    let mut substantial = 0;
    for (method, path, form) in requests() {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let p = client.send(method, &format!("{}{path}", prom.url), &form);
        let k = client.send(method, &format!("{}{path}", kmon.url), &form);
        compared += 1;
        if p.0 == 200 && p.2.len() > 100 {
            substantial += 1;
        }
        if p != k {
            mismatches.push(format!(
                "{method} {path} {form:?}\n  Prometheus: {p:?}\n  kmon:       {k:?}"
            ));
        }
    }
    // Buildinfo: the same keys in the same order; kmon's version reads as Prometheus 3.5.
    let p = client.send("GET", &format!("{}/api/v1/status/buildinfo", prom.url), &[]);
    let k = client.send("GET", &format!("{}/api/v1/status/buildinfo", kmon.url), &[]);
    assert_eq!((p.0, &p.1), (k.0, &k.1), "buildinfo status and type");
    let keys = |body: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(body).expect("buildinfo JSON");
        assert_eq!(v["status"], "success");
        v["data"]
            .as_object()
            .expect("data")
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(keys(&p.2), keys(&k.2), "buildinfo keys:\n{}\n{}", p.2, k.2);
    let kv: serde_json::Value = serde_json::from_str(&k.2).unwrap();
    let version = kv["data"]["version"].as_str().unwrap_or("");
    assert!(version.starts_with("3.5.0+kmon."), "{version}");
    assert!(kv["data"].get("features").is_none());
    println!(
        "{compared} Grafana requests compared ({substantial} with data), {} differ",
        mismatches.len()
    );
    assert!(substantial >= 20, "only {substantial} answers carry data");
    assert!(
        mismatches.is_empty(),
        "{} of {compared} requests differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
