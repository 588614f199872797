//! Interop: the real Prometheus 3.5 and kmon scrape the same page with the same
//! prometheus.yml, and must agree. A loopback HTTP server serves a fixed exposition that
//! exercises target labels, `honor_labels` conflicts, escapes, special values and metric
//! relabeling; it records the request headers. Prometheus's Accept header must equal
//! kmon's, and the series Prometheus stores (read back from its HTTP API) must be exactly
//! the series kmon's scrape loop stores, with the same values.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use kmon::config;
use kmon::discovery::TargetGroup;
use kmon::model::{Labels, is_stale_nan};
use kmon::scrape::{ACCEPT_HEADER, ScrapeLoop, TargetHealth, targets_from_groups};
use kmon::storage::MemStorage;

use crate::support::{ChildGuard, free_port, ref_bin};

const PAGE: &str = r#"# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code="200",method="get"} 1027
http_requests_total{code="500",method="post",job="inner"} 3
# TYPE temperature gauge
temperature{room="a \"quoted\" \\ room\nline"} -12.5
temperature{room="hot"} +Inf
temperature{room="cold"} -Inf
# TYPE go_goroutines gauge
go_goroutines 42
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.05
rpc_seconds{quantile="0.99"} 1.5
rpc_seconds_sum 17.5
rpc_seconds_count 200
# TYPE lat histogram
lat_bucket{le="0.1"} 1
lat_bucket{le="1"} 5
lat_bucket{le="+Inf"} 6
lat_sum 3.3
lat_count 6
"#;

/// Serves `PAGE` to every request (bounded to 200 connections) and records each request's
/// head.
async fn serve_page(heads: Arc<Mutex<Vec<String>>>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let port = l.local_addr().expect("local addr").port();
    tokio::spawn(async move {
        for _ in 0..200 {
            let Ok(Ok((mut s, _))) =
                tokio::time::timeout(Duration::from_secs(60), l.accept()).await
            else {
                return;
            };
            let heads = heads.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                let n = s.read(&mut buf).await.unwrap_or(0);
                heads
                    .lock()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{PAGE}",
                    PAGE.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    port
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn prometheus_yml(port: u16) -> String {
    format!(
        r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: fixture
    static_configs:
      - targets: ["127.0.0.1:{port}"]
        labels:
          env: test
    relabel_configs:
      - source_labels: [__address__]
        regex: "127\\.0\\.0\\.1:(.*)"
        target_label: port
        replacement: "p$1"
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
      - source_labels: [method]
        target_label: verb
        action: replace
      - regex: method
        action: labeldrop
"#
    )
}

/// Series as `{labels} value` strings, the value printed the way Prometheus's API does.
type SeriesSet = BTreeSet<String>;

fn fmt_value(v: f64) -> String {
    if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v}")
    }
}

/// Prometheus's view: an instant query for every series of the job.
async fn prometheus_series(client: &reqwest::Client, base: &str) -> Option<SeriesSet> {
    let url = format!("{base}/api/v1/query");
    let resp = client
        .get(&url)
        .query(&[("query", r#"{job="fixture"}"#)])
        .send()
        .await
        .ok()?;
    let v: serde_json::Value = serde_json::from_str(&resp.text().await.ok()?).ok()?;
    let results = v["data"]["result"].as_array()?;
    let mut out = SeriesSet::new();
    for r in results {
        let metric = r["metric"].as_object()?;
        let pairs: Vec<(String, String)> = metric
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        let labels = Labels::from_pairs(&pairs);
        let name = labels.metric_name();
        if name == "scrape_duration_seconds" {
            out.insert(format!("{labels}"));
            continue;
        }
        let value: f64 = match r["value"][1].as_str()? {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            s => s.parse().ok()?,
        };
        out.insert(format!("{labels} {}", fmt_value(value)));
    }
    Some(out)
}

#[tokio::test]
async fn prometheus_and_kmon_scrape_the_same_page_the_same_way() {
    let Some(bin) = ref_bin("prometheus") else {
        return;
    };
    let heads = Arc::new(Mutex::new(Vec::new()));
    let page_port = serve_page(heads.clone()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let yml = prometheus_yml(page_port);
    let cfg_path = dir.path().join("prometheus.yml");
    std::fs::write(&cfg_path, &yml).expect("write prometheus.yml");
    let prom_port = free_port();
    let log = tempfile::NamedTempFile::new().expect("log file");
    let child = Command::new(&bin)
        .arg(format!("--config.file={}", cfg_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log.reopen().expect("reopen log"))
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
    let mut guard = ChildGuard::new(child);

    // kmon: the same file, the same page, one scrape.
    let (cfg, warnings) = config::load_str(&yml, "prometheus.yml").expect("kmon loads the file");
    assert!(warnings.is_empty(), "{warnings:?}");
    let sc = &cfg.scrape_configs[0];
    let group = TargetGroup {
        source: "static/0".into(),
        labels: sc.static_configs[0].labels.clone(),
        targets: vec![Labels::from_pairs(&[(
            "__address__",
            sc.static_configs[0].targets[0].as_str(),
        )])],
    };
    let (specs, errs) = targets_from_groups(sc, &[group]);
    assert!(errs.is_empty(), "{errs:?}");
    let spec = specs.into_iter().next().expect("one target");
    let store = Arc::new(MemStorage::new());
    let (mut lp, record) = ScrapeLoop::for_job(spec, sc, store.clone()).expect("scrape loop");
    lp.scrape_once().await;
    assert_eq!(
        record.read().health,
        TargetHealth::Up,
        "{}",
        record.read().last_error
    );
    let mut ours = SeriesSet::new();
    for (l, s) in store.dump() {
        let last = s
            .iter()
            .rev()
            .find(|s| !is_stale_nan(s.v))
            .expect("a value");
        if l.metric_name() == "scrape_duration_seconds" {
            ours.insert(format!("{l}"));
        } else {
            ours.insert(format!("{l} {}", fmt_value(last.v)));
        }
    }

    // Prometheus: wait (bounded) until it has scraped and its query shows the job.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let base = format!("http://127.0.0.1:{prom_port}");
    let deadline = Instant::now() + Duration::from_secs(45);
    let theirs = loop {
        if let Some(status) = guard.exited() {
            let log = std::fs::read_to_string(log.path()).unwrap_or_default();
            panic!("prometheus exited with {status}:\n{log}");
        }
        if let Some(s) = prometheus_series(&client, &base).await
            && s.len() >= ours.len()
        {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not store the fixture's series within 45s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    drop(guard);

    let prom_accept: Vec<String> = heads
        .lock()
        .iter()
        .filter(|h| header(h, "user-agent").is_some_and(|u| u.starts_with("Prometheus/")))
        .filter_map(|h| header(h, "accept").map(str::to_string))
        .collect();
    assert!(!prom_accept.is_empty(), "Prometheus never scraped the page");
    assert_eq!(
        prom_accept[0], ACCEPT_HEADER,
        "Accept header differs from Prometheus's"
    );

    let only_ours: Vec<_> = ours.difference(&theirs).collect();
    let only_theirs: Vec<_> = theirs.difference(&ours).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "series differ\nonly kmon:\n  {}\nonly Prometheus:\n  {}",
        only_ours
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  "),
        only_theirs
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    assert!(
        ours.len() > 15,
        "the fixture should yield many series: {ours:?}"
    );
}
