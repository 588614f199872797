//! remote_write against the real Prometheus 3.5 started with
//! `--web.enable-remote-write-receiver` on loopback: kmon's queue, driven by the in-memory
//! WAL, writes a few series (external labels added, one series dropped by write
//! relabeling, special values); Prometheus's API must then hold exactly those series and
//! samples. (Scraping with `kmon serve`, kill -9 and a receiver outage are exercised by the
//! TSDB-follower tests beside this one.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use kmon::config::RemoteWriteConfig;
use kmon::model::{Labels, RelabelAction, RelabelConfig, RelabelRegex};
use kmon::remote::write::{MemWal, QueueManager, QueueOptions};

use crate::support::{ChildGuard, Http, free_port, ref_bin, urlencode};

fn start_receiver(prom: &std::path::Path, work: &std::path::Path) -> (ChildGuard, String) {
    let cfg = work.join("prometheus.yml");
    std::fs::write(&cfg, "global:\n  scrape_interval: 1h\n").expect("config");
    let port = free_port();
    let log = std::fs::File::create(work.join("prometheus.log")).expect("log");
    let child = std::process::Command::new(prom)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            work.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let guard = ChildGuard::new(child);
    let url = format!("http://127.0.0.1:{port}");
    assert!(
        Http::new().wait_ok(&format!("{url}/-/ready"), Duration::from_secs(90)),
        "prometheus not ready; log:\n{}",
        std::fs::read_to_string(work.join("prometheus.log")).unwrap_or_default()
    );
    (guard, url)
}

#[test]
fn prometheus_receives_exactly_the_samples_kmon_writes() {
    let Some(prom) = ref_bin("prometheus") else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let (_guard, url) = start_receiver(&prom, work.path());

    let now = chrono::Utc::now().timestamp_millis() / 1000 * 1000;
    let base = now - 120_000;
    let series: Vec<(u64, Labels)> = vec![
        (
            1,
            Labels::from_pairs(&[
                ("__name__", "rw_up"),
                ("job", "node"),
                ("instance", "a:9100"),
            ]),
        ),
        (
            2,
            Labels::from_pairs(&[("__name__", "rw_temp"), ("room", "küche \"1\"")]),
        ),
        (
            3,
            Labels::from_pairs(&[("__name__", "rw_dropped"), ("x", "y")]),
        ),
    ];
    // (series, offset in s, value)
    let mut samples: Vec<(u64, i64, f64)> = Vec::new();
    for k in 0..10i64 {
        samples.push((1, base + k * 5000, (k % 2) as f64));
        samples.push((2, base + k * 5000, 20.5 + k as f64 / 4.0));
        samples.push((3, base + k * 5000, 1.0));
    }
    samples.push((2, base + 50_000, f64::INFINITY));
    samples.push((2, base + 55_000, -1e-7));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let wal = MemWal::new();
    let mut cfg = RemoteWriteConfig::new(format!("{url}/api/v1/write"));
    cfg.name = "interop".into();
    cfg.name_given = true;
    cfg.queue_config.batch_send_deadline = Duration::from_millis(100);
    cfg.queue_config.max_samples_per_send = 7;
    cfg.write_relabel_configs = vec![RelabelConfig {
        source_labels: vec!["__name__".into()],
        regex: RelabelRegex::new("rw_dropped").expect("regex"),
        action: RelabelAction::Drop,
        ..RelabelConfig::default()
    }];
    let opts = QueueOptions {
        external_labels: Labels::from_pairs(&[("source", "kmon")]),
        data_dir: work.path().join("kmon"),
        poll: Duration::from_millis(20),
        ..QueueOptions::default()
    };
    // Follow from the start of the log (a first start follows from its end, which races
    // with the appends below).
    kmon::remote::write::position::save(
        &kmon::remote::write::position::path_for(&opts.data_dir, "interop"),
        &kmon::remote::write::SavedPosition {
            segment: 0,
            offset: 0,
            url_hash: kmon::remote::write::position::url_hash(&cfg.url),
            shards: 0,
            acked: vec![],
        },
    )
    .expect("position");
    let source = Arc::new(wal.clone());
    let queue = rt
        .block_on(async { QueueManager::start(cfg, opts, source) })
        .expect("queue");
    wal.series(&series);
    for chunk in samples.chunks(6) {
        wal.samples(chunk);
    }
    let m = queue.metrics().clone();
    let sent_until = Instant::now() + Duration::from_secs(60);
    let want_sent = 2 * 10 + 2;
    while m.samples_total.load(std::sync::atomic::Ordering::Relaxed) < want_sent
        || m.samples_pending.load(std::sync::atomic::Ordering::Relaxed) != 0
    {
        assert!(
            Instant::now() < sent_until,
            "the queue did not send everything"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    rt.block_on(queue.stop());
    assert_eq!(
        m.samples_failed.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert_eq!(m.dropped("dropped_series"), 10);

    let http = Http::new();
    let query = format!(
        "{url}/api/v1/query?query={}&time={}",
        urlencode("{__name__=~\"rw_.*\"}[10m]"),
        now / 1000 + 1
    );
    let (status, body) = http.get(&query).expect("query");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let mut got: Vec<(String, Vec<(i64, String)>)> = v["data"]["result"]
        .as_array()
        .expect("result")
        .iter()
        .map(|s| {
            let labels = s["metric"].to_string();
            let points = s["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|p| {
                    let t = (p[0].as_f64().expect("t") * 1000.0).round() as i64;
                    (t, p[1].as_str().expect("value").to_string())
                })
                .collect();
            (labels, points)
        })
        .collect();
    got.sort();
    let mut temp: Vec<(i64, String)> = (0..10i64)
        .map(|k| (base + k * 5000, format!("{}", 20.5 + k as f64 / 4.0)))
        .collect();
    temp.push((base + 50_000, "+Inf".into()));
    temp.push((base + 55_000, "-1e-07".into()));
    let up: Vec<(i64, String)> = (0..10i64)
        .map(|k| (base + k * 5000, format!("{}", k % 2)))
        .collect();
    let want = vec![
        (
            r#"{"__name__":"rw_temp","room":"küche \"1\"","source":"kmon"}"#.to_string(),
            temp,
        ),
        (
            r#"{"__name__":"rw_up","instance":"a:9100","job":"node","source":"kmon"}"#.to_string(),
            up,
        ),
    ];
    assert_eq!(got, want);
}
