//! The queue against an in-process receiver on 127.0.0.1 that decodes requests, keeps the
//! samples, and answers 500, 429 or 400 on demand.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use parking_lot::Mutex;

use super::mem_wal::MemWal;
use super::proto::decode_request;
use super::*;
use crate::config::RemoteWriteConfig;
use crate::model::{Labels, RelabelAction, RelabelConfig, RelabelRegex};

#[derive(Default)]
struct Received {
    /// (labels as text, t, v) in arrival order.
    samples: Mutex<Vec<(String, i64, f64)>>,
    headers: Mutex<Option<HeaderMap>>,
    /// 0: 200; otherwise answer this status.
    status: AtomicU16,
    /// Retry-After sent with a non-200 answer (seconds; 0: none).
    retry_after: AtomicU64,
    requests: AtomicU64,
    /// Like Prometheus's head: a request with a sample older than its series' newest is
    /// refused whole with 400 "out of order sample".
    strict_order: std::sync::atomic::AtomicBool,
    newest: Mutex<std::collections::HashMap<String, i64>>,
}

struct Receiver {
    url: String,
    state: Arc<Received>,
    _task: tokio::task::JoinHandle<()>,
}

async fn receiver() -> Receiver {
    let state = Arc::new(Received::default());
    let s = state.clone();
    let app = axum::Router::new().route(
        "/api/v1/write",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            async move {
                s.requests.fetch_add(1, Ordering::Relaxed);
                let status = s.status.load(Ordering::Relaxed);
                if status != 0 {
                    let mut h = HeaderMap::new();
                    let ra = s.retry_after.load(Ordering::Relaxed);
                    if ra > 0 {
                        h.insert("Retry-After", ra.to_string().parse().expect("header value"));
                    }
                    let code = StatusCode::from_u16(status).expect("status");
                    return (code, h, "refused".to_string());
                }
                let Ok(req) = decode_request(&body) else {
                    return (StatusCode::BAD_REQUEST, HeaderMap::new(), "bad body".into());
                };
                *s.headers.lock() = Some(headers);
                let text_of = |ts: &super::proto::TimeSeries| {
                    let labels: Vec<(&str, &str)> = ts
                        .labels
                        .iter()
                        .map(|l| (l.name.as_str(), l.value.as_str()))
                        .collect();
                    Labels::from_pairs(&labels).to_string()
                };
                if s.strict_order.load(Ordering::Relaxed) {
                    let mut newest = s.newest.lock();
                    let refused = req.timeseries.iter().any(|ts| {
                        let max = newest.get(&text_of(ts)).copied().unwrap_or(i64::MIN);
                        ts.samples.iter().any(|x| x.timestamp < max)
                    });
                    if refused {
                        let msg = "out of order sample".to_string();
                        return (StatusCode::BAD_REQUEST, HeaderMap::new(), msg);
                    }
                    for ts in &req.timeseries {
                        let e = newest.entry(text_of(ts)).or_insert(i64::MIN);
                        for x in &ts.samples {
                            *e = (*e).max(x.timestamp);
                        }
                    }
                }
                let mut got = s.samples.lock();
                for ts in req.timeseries {
                    let labels: Vec<(String, String)> =
                        ts.labels.into_iter().map(|l| (l.name, l.value)).collect();
                    let text = Labels::from_pairs(&labels).to_string();
                    for smp in ts.samples {
                        got.push((text.clone(), smp.timestamp, smp.value));
                    }
                }
                (StatusCode::NO_CONTENT, HeaderMap::new(), String::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver {
        url: format!("http://{addr}/api/v1/write"),
        state,
        _task: task,
    }
}

fn config(url: &str) -> RemoteWriteConfig {
    let mut c = RemoteWriteConfig::new(url);
    c.name = "test".into();
    c.name_given = true;
    c.queue_config.batch_send_deadline = Duration::from_millis(20);
    c.queue_config.min_backoff = Duration::from_millis(5);
    c.queue_config.max_backoff = Duration::from_millis(50);
    c.queue_config.max_samples_per_send = 50;
    c
}

fn options(dir: &std::path::Path) -> QueueOptions {
    QueueOptions {
        data_dir: dir.to_path_buf(),
        flush_deadline: Duration::from_secs(2),
        save_interval: Duration::from_millis(50),
        poll: Duration::from_millis(20),
        ..QueueOptions::default()
    }
}

/// Makes the queue `test` of `url` follow from the start of the log: a first start
/// follows from the end, which would race with the test's appends.
fn from_start(dir: &std::path::Path, url: &str) {
    position::save(
        &position::path_for(dir, "test"),
        &SavedPosition {
            segment: 0,
            offset: 0,
            url_hash: position::url_hash(url),
            shards: 0,
            acked: vec![],
        },
    )
    .unwrap();
}

/// Waits (bounded) until `cond` holds.
async fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn up(job: &str) -> Labels {
    Labels::from_pairs(&[("__name__", "up"), ("job", job)])
}

/// Series 1..=n named up{job="j<i>"}; `per` samples each at t = 1000*k.
fn fill(wal: &MemWal, n: u64, per: i64, from: i64) {
    let series: Vec<(u64, Labels)> = (1..=n).map(|i| (i, up(&format!("j{i}")))).collect();
    wal.series(&series);
    for k in from..from + per {
        let samples: Vec<(u64, i64, f64)> = (1..=n).map(|i| (i, k * 1000, k as f64)).collect();
        wal.samples(&samples);
    }
}

fn count(r: &Receiver) -> usize {
    r.state.samples.lock().len()
}

fn load(m: &QueueMetrics, c: &AtomicU64) -> u64 {
    let _ = m;
    c.load(Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_arrive_with_the_protocol_headers_labels_and_relabeling() {
    let r = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let wal = MemWal::new();
    let mut cfg = config(&r.url);
    cfg.headers.insert("X-Scope-OrgID".into(), "team-a".into());
    cfg.basic_auth = Some(crate::config::BasicAuth {
        username: "u".into(),
        username_file: None,
        password: Some(crate::config::SecretSource::Inline(
            crate::config::Secret::new("p"),
        )),
    });
    cfg.write_relabel_configs = vec![RelabelConfig {
        source_labels: vec!["job".into()],
        regex: RelabelRegex::new("j2").unwrap(),
        action: RelabelAction::Drop,
        ..RelabelConfig::default()
    }];
    let opts = QueueOptions {
        external_labels: Labels::from_pairs(&[("cluster", "eu"), ("job", "ignored")]),
        ..options(dir.path())
    };
    // Samples logged before the queue starts are not sent (it follows from the end).
    fill(&wal, 1, 1, 0);
    let q = QueueManager::start(cfg, opts, Arc::new(wal.clone())).unwrap();
    wait_for("the reader to follow", || q.is_following()).await;
    fill(&wal, 3, 2, 10);
    wait_for("4 samples", || count(&r) == 4).await;
    let m = q.metrics().clone();
    wait_for("2 dropped", || m.dropped("dropped_series") == 2).await;
    let mut got = r.state.samples.lock().clone();
    got.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(
        got,
        vec![
            (
                "{__name__=\"up\", cluster=\"eu\", job=\"j1\"}".to_string(),
                10_000,
                10.0
            ),
            (
                "{__name__=\"up\", cluster=\"eu\", job=\"j1\"}".to_string(),
                11_000,
                11.0
            ),
            (
                "{__name__=\"up\", cluster=\"eu\", job=\"j3\"}".to_string(),
                10_000,
                10.0
            ),
            (
                "{__name__=\"up\", cluster=\"eu\", job=\"j3\"}".to_string(),
                11_000,
                11.0
            ),
        ]
    );
    let h = r.state.headers.lock().clone().unwrap();
    let get = |k: &str| {
        h.get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(get("content-encoding"), "snappy");
    assert_eq!(get("content-type"), "application/x-protobuf");
    assert_eq!(get("x-prometheus-remote-write-version"), "0.1.0");
    assert!(get("user-agent").starts_with("kmon/"));
    assert_eq!(get("x-scope-orgid"), "team-a");
    assert_eq!(get("authorization"), "Basic dTpw");
    assert_eq!(load(&m, &m.samples_total), 4);
    // The receiver holds the samples before the sender has its answer and raises the
    // newest sent timestamp.
    wait_for("the newest sent timestamp", || {
        m.highest_sent_ms.load(Ordering::Relaxed) == 11_000
    })
    .await;
    let mut text = String::new();
    write_metrics(&[&m], &mut text);
    assert!(text.contains("prometheus_remote_storage_samples_total{remote_name=\"test\","));
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_outage_loses_nothing() {
    let r = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let wal = MemWal::new();
    from_start(dir.path(), &r.url);
    let q =
        QueueManager::start(config(&r.url), options(dir.path()), Arc::new(wal.clone())).unwrap();
    r.state.status.store(503, Ordering::Relaxed);
    fill(&wal, 20, 30, 0);
    let m = q.metrics().clone();
    wait_for("retries", || load(&m, &m.samples_retried) > 0).await;
    r.state.status.store(0, Ordering::Relaxed);
    wait_for("600 samples", || count(&r) >= 600).await;
    q.stop().await;
    let got = r.state.samples.lock().clone();
    assert_eq!(got.len(), 600, "each sample exactly once");
    for i in 1..=20 {
        let name = format!("{{__name__=\"up\", job=\"j{i}\"}}");
        let ts: Vec<i64> = got.iter().filter(|s| s.0 == name).map(|s| s.1).collect();
        let want: Vec<i64> = (0..30).map(|k| k * 1000).collect();
        assert_eq!(ts, want, "{name} in order");
    }
    assert_eq!(load(&m, &m.samples_failed), 0);
    assert_eq!(m.samples_pending.load(Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_batches_are_dropped_and_counted_by_reason() {
    let r = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let wal = MemWal::new();
    from_start(dir.path(), &r.url);
    let q =
        QueueManager::start(config(&r.url), options(dir.path()), Arc::new(wal.clone())).unwrap();
    let m = q.metrics().clone();
    // 400, and 429 without retry_on_http_429: dropped.
    r.state.status.store(400, Ordering::Relaxed);
    fill(&wal, 2, 1, 0);
    wait_for("http_400", || m.dropped("http_400") == 2).await;
    r.state.status.store(429, Ordering::Relaxed);
    wal.samples(&[(1, 5000, 5.0)]);
    wait_for("http_429", || m.dropped("http_429") == 1).await;
    assert_eq!(load(&m, &m.samples_failed), 3);
    assert_eq!(load(&m, &m.samples_retried), 0);
    // The queue goes on: later samples arrive.
    r.state.status.store(0, Ordering::Relaxed);
    wal.samples(&[(1, 6000, 6.0)]);
    wait_for("the next sample", || count(&r) == 1).await;
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_retry_after_when_configured() {
    let r = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let wal = MemWal::new();
    let mut cfg = config(&r.url);
    cfg.queue_config.retry_on_http_429 = true;
    from_start(dir.path(), &r.url);
    let q = QueueManager::start(cfg, options(dir.path()), Arc::new(wal.clone())).unwrap();
    let m = q.metrics().clone();
    r.state.status.store(429, Ordering::Relaxed);
    r.state.retry_after.store(1, Ordering::Relaxed);
    fill(&wal, 1, 1, 0);
    wait_for("a retry", || load(&m, &m.samples_retried) >= 1).await;
    r.state.status.store(0, Ordering::Relaxed);
    wait_for("the sample", || count(&r) == 1).await;
    assert_eq!(m.dropped("http_429"), 0);
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resends_only_what_was_not_delivered() {
    let r = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let wal = MemWal::new();
    let source = Arc::new(wal.clone());
    from_start(dir.path(), &r.url);
    let q = QueueManager::start(config(&r.url), options(dir.path()), source.clone()).unwrap();
    fill(&wal, 8, 5, 0);
    wait_for("40 samples", || count(&r) == 40).await;
    // The receiver goes down; more is logged; kmon stops before it is delivered.
    r.state.status.store(500, Ordering::Relaxed);
    for k in 5..10 {
        let s: Vec<(u64, i64, f64)> = (1..=8).map(|i| (i, k * 1000, k as f64)).collect();
        wal.samples(&s);
    }
    let m = q.metrics().clone();
    wait_for("retries", || load(&m, &m.samples_retried) > 0).await;
    let saved_before = q.position();
    q.stop().await;
    let file = position::path_for(dir.path(), "test");
    let saved = position::load(&file).unwrap().expect("a saved position");
    assert!(saved.position() <= saved_before.unwrap().position());
    assert!(saved.position() < wal.end());
    // Logged while kmon was down.
    for k in 10..12 {
        let s: Vec<(u64, i64, f64)> = (1..=8).map(|i| (i, k * 1000, k as f64)).collect();
        wal.samples(&s);
    }
    r.state.status.store(0, Ordering::Relaxed);
    let q2 = QueueManager::start(config(&r.url), options(dir.path()), source).unwrap();
    wait_for("96 samples", || count(&r) >= 96).await;
    q2.stop().await;
    let got = r.state.samples.lock().clone();
    assert_eq!(got.len(), 96, "every sample exactly once");
    for i in 1..=8 {
        let name = format!("{{__name__=\"up\", job=\"j{i}\"}}");
        let ts: Vec<i64> = got.iter().filter(|s| s.0 == name).map(|s| s.1).collect();
        assert_eq!(ts, (0..12).map(|k| k * 1000).collect::<Vec<_>>(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_shard_makes_the_reader_wait_without_dropping() {
    let r = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let wal = MemWal::new();
    let mut cfg = config(&r.url);
    cfg.queue_config.capacity = 5;
    cfg.queue_config.max_shards = 1;
    cfg.queue_config.max_samples_per_send = 5;
    from_start(dir.path(), &r.url);
    let q = QueueManager::start(cfg, options(dir.path()), Arc::new(wal.clone())).unwrap();
    r.state.status.store(500, Ordering::Relaxed);
    fill(&wal, 10, 10, 0);
    let m = q.metrics().clone();
    wait_for("enqueue retries", || load(&m, &m.enqueue_retries) > 0).await;
    r.state.status.store(0, Ordering::Relaxed);
    wait_for("100 samples", || count(&r) == 100).await;
    q.stop().await;
    assert_eq!(m.dropped("too_old") + load(&m, &m.samples_failed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_older_than_the_age_limit_are_dropped() {
    let r = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let wal = MemWal::new();
    let mut cfg = config(&r.url);
    cfg.queue_config.sample_age_limit = Duration::from_secs(60);
    from_start(dir.path(), &r.url);
    let q = QueueManager::start(cfg, options(dir.path()), Arc::new(wal.clone())).unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    wal.series(&[(1, up("a"))]);
    wal.samples(&[(1, now - 3_600_000, 1.0), (1, now, 2.0)]);
    let m = q.metrics().clone();
    wait_for("one sample", || count(&r) == 1).await;
    assert_eq!(m.dropped("too_old"), 1);
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_in_the_log_is_counted() {
    let r = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let wal = MemWal::new();
    fill(&wal, 1, 1, 0);
    // A saved position older than what the log still has.
    let file = position::path_for(dir.path(), "test");
    position::save(
        &file,
        &SavedPosition {
            segment: 0,
            offset: 0,
            url_hash: position::url_hash(&r.url),
            shards: 0,
            acked: vec![],
        },
    )
    .unwrap();
    wal.truncate(wal.end());
    fill(&wal, 1, 1, 5);
    let q =
        QueueManager::start(config(&r.url), options(dir.path()), Arc::new(wal.clone())).unwrap();
    let m = q.metrics().clone();
    wait_for("the later sample", || count(&r) == 1).await;
    assert_eq!(m.wal_gaps.load(Ordering::Relaxed), 1);
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_refused_as_out_of_order_is_split_and_only_old_samples_dropped() {
    let r = receiver().await;
    r.state.strict_order.store(true, Ordering::Relaxed);
    // The receiver already holds j1 up to t=5000 (sent before a crash, say).
    r.state
        .newest
        .lock()
        .insert("{__name__=\"up\", job=\"j1\"}".to_string(), 5000);
    let dir = tempfile::tempdir().unwrap();
    let wal = MemWal::new();
    fill(&wal, 2, 11, 0);
    from_start(dir.path(), &r.url);
    let mut cfg = config(&r.url);
    cfg.queue_config.max_shards = 1;
    cfg.queue_config.max_samples_per_send = 100;
    let q = QueueManager::start(cfg, options(dir.path()), Arc::new(wal.clone())).unwrap();
    let m = q.metrics().clone();
    wait_for("the old samples dropped", || m.dropped("http_400") == 5).await;
    wait_for("the rest", || count(&r) == 17).await;
    q.stop().await;
    let got = r.state.samples.lock().clone();
    let ts = |name: &str| -> Vec<i64> { got.iter().filter(|s| s.0 == name).map(|s| s.1).collect() };
    assert_eq!(
        ts("{__name__=\"up\", job=\"j1\"}"),
        (5..11).map(|k| k * 1000).collect::<Vec<_>>()
    );
    assert_eq!(
        ts("{__name__=\"up\", job=\"j2\"}"),
        (0..11).map(|k| k * 1000).collect::<Vec<_>>()
    );
}
