//! Scrape behaviour a user would notice, against `MemStorage` and a tiny HTTP server on
//! loopback: labels and honor_labels, metric relabeling, limits, staleness, the synthetic
//! series, and the errors a target shows when it is down.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::config::ScrapeConfig;
use crate::exposition::Format;
use crate::model::{Labels, RelabelAction, RelabelConfig, is_stale_nan};
use crate::storage::{Appendable, MemStorage, Storage};

fn target() -> Labels {
    Labels::from_pairs(&[("instance", "h:1"), ("job", "j")])
}

fn values_of(st: &MemStorage, name: &str) -> Vec<(Labels, Vec<f64>)> {
    st.dump()
        .into_iter()
        .filter(|(l, _)| l.metric_name() == name)
        .map(|(l, s)| (l, s.into_iter().map(|s| s.v).collect()))
        .collect()
}

fn ingest(
    ing: &mut Ingester,
    st: &MemStorage,
    text: &str,
    t: i64,
) -> Result<IngestReport, IngestError> {
    let mut app = st.appender();
    let r = ing.ingest(&mut *app, text, Format::PromText, t);
    if r.is_ok() {
        app.commit().unwrap();
    }
    r
}

#[test]
fn target_labels_win_and_scraped_ones_are_exported() {
    let st = MemStorage::new();
    let mut ing = Ingester::new(target(), IngestOptions::default());
    ingest(&mut ing, &st, "m{job=\"inner\",a=\"1\"} 5\n", 1000).unwrap();
    let v = values_of(&st, "m");
    assert_eq!(
        v[0].0.to_string(),
        r#"{__name__="m", a="1", exported_job="inner", instance="h:1", job="j"}"#
    );

    let st = MemStorage::new();
    let opts = IngestOptions {
        honor_labels: true,
        ..Default::default()
    };
    let mut ing = Ingester::new(target(), opts);
    ingest(&mut ing, &st, "m{job=\"inner\"} 5\n", 1000).unwrap();
    assert_eq!(
        values_of(&st, "m")[0].0.to_string(),
        r#"{__name__="m", instance="h:1", job="inner"}"#
    );
}

#[test]
fn metric_relabeling_drops_and_counts() {
    let st = MemStorage::new();
    let drop_go = RelabelConfig {
        source_labels: vec!["__name__".into()],
        regex: crate::model::RelabelRegex::new("go_.*").unwrap(),
        action: RelabelAction::Drop,
        ..Default::default()
    };
    let opts = IngestOptions {
        metric_relabel_configs: vec![drop_go],
        ..Default::default()
    };
    let mut ing = Ingester::new(target(), opts);
    let rep = ingest(&mut ing, &st, "go_x 1\ngo_y 2\nkeep 3\n", 1000).unwrap();
    assert_eq!((rep.scraped, rep.post_relabel, rep.series_added), (3, 1, 1));
    assert!(values_of(&st, "go_x").is_empty());
    let rep = ingest(&mut ing, &st, "go_x 1\ngo_y 2\nkeep 3\n", 2000).unwrap();
    assert_eq!(rep.series_added, 0, "cached series are not new");
}

#[test]
fn vanished_series_get_stale_markers_and_failures_stale_everything() {
    let st = MemStorage::new();
    let mut ing = Ingester::new(target(), IngestOptions::default());
    ingest(&mut ing, &st, "a 1\nb 2\n", 1000).unwrap();
    let rep = ingest(&mut ing, &st, "a 1\n", 2000).unwrap();
    assert_eq!(rep.stale_markers, 1);
    let b = values_of(&st, "b");
    assert!(is_stale_nan(b[0].1[1]), "b ends with a stale marker");
    let mut app = st.appender();
    assert_eq!(ing.ingest_failed(&mut *app, 3000), 1);
    app.commit().unwrap();
    assert!(is_stale_nan(*values_of(&st, "a")[0].1.last().unwrap()));
}

#[test]
fn a_scrape_failing_midway_still_stales_all_of_the_last_good_one() {
    let st = MemStorage::new();
    let opts = IngestOptions {
        sample_limit: 2,
        ..Default::default()
    };
    let mut ing = Ingester::new(target(), opts);
    ingest(&mut ing, &st, "a 1\nb 2\n", 1000).unwrap();
    // a and b are seen again before the limit fails the scrape.
    let mut app = st.appender();
    assert!(
        ing.ingest(&mut *app, "a 1\nb 2\nc 3\n", Format::PromText, 2000)
            .is_err()
    );
    drop(app);
    let mut app = st.appender();
    assert_eq!(ing.ingest_failed(&mut *app, 2000), 2);
    app.commit().unwrap();
    // Nothing is left to stale after a failure, and the next good scrape starts afresh.
    let mut app = st.appender();
    assert_eq!(ing.ingest_failed(&mut *app, 3000), 0);
    drop(app);
    let rep = ingest(&mut ing, &st, "a 1\n", 4000).unwrap();
    assert_eq!(rep.stale_markers, 0);
}

#[test]
fn series_made_equal_by_relabeling_go_stale_once_and_only_when_all_vanish() {
    let st = MemStorage::new();
    let drop_x = RelabelConfig {
        regex: crate::model::RelabelRegex::new("x").unwrap(),
        action: RelabelAction::LabelDrop,
        ..Default::default()
    };
    let opts = IngestOptions {
        metric_relabel_configs: vec![drop_x],
        ..Default::default()
    };
    let mut ing = Ingester::new(target(), opts);
    ingest(&mut ing, &st, "m{x=\"1\"} 1\n", 1000).unwrap();
    // Another raw series, the same stored series: not stale.
    let rep = ingest(&mut ing, &st, "m{x=\"2\"} 1\n", 2000).unwrap();
    assert_eq!(rep.stale_markers, 0);
    let rep = ingest(&mut ing, &st, "m{x=\"1\"} 1\nm{x=\"2\"} 1\n", 3000).unwrap();
    assert_eq!(rep.stale_markers, 0);
    let rep = ingest(&mut ing, &st, "", 4000).unwrap();
    assert_eq!(rep.stale_markers, 1);
}

#[test]
fn explicit_timestamps_are_honored_and_not_stale_tracked() {
    let st = MemStorage::new();
    let opts = IngestOptions {
        honor_timestamps: true,
        ..Default::default()
    };
    let mut ing = Ingester::new(target(), opts);
    ingest(&mut ing, &st, "a 1 500\n", 1000).unwrap();
    ingest(&mut ing, &st, "", 2000).unwrap();
    let a = st.dump();
    assert_eq!(a[0].1.len(), 1, "no stale marker for explicit timestamps");
    assert_eq!(a[0].1[0].t, 500);
}

#[test]
fn limits_fail_the_whole_scrape_with_a_clear_reason() {
    let st = MemStorage::new();
    let opts = IngestOptions {
        sample_limit: 2,
        ..Default::default()
    };
    let mut ing = Ingester::new(target(), opts);
    let e = ingest(&mut ing, &st, "a 1\nb 1\nc 1\n", 1000).unwrap_err();
    assert_eq!(e.to_string(), "sample_limit exceeded (2 samples allowed)");
    assert!(st.dump().is_empty(), "nothing committed");

    let opts = IngestOptions {
        label_limit: 3,
        ..Default::default()
    };
    let mut ing = Ingester::new(target(), opts);
    let e = ingest(&mut ing, &st, "a{x=\"1\",y=\"2\"} 1\n", 1000).unwrap_err();
    assert!(
        e.to_string()
            .contains("label_limit exceeded (metric: a, number of labels: 5, limit: 3)"),
        "{e}"
    );
}

#[test]
fn parse_errors_name_line_and_column() {
    let st = MemStorage::new();
    let mut ing = Ingester::new(target(), IngestOptions::default());
    let e = ingest(&mut ing, &st, "a 1\nb{x=\"1\" 2\n", 1000).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("line 2:"), "{msg}");
}

// ---- the loop against a real socket -------------------------------------------------

/// Serves `responses` (raw HTTP after the status line) one connection each, on loopback.
async fn serve(responses: Vec<(String, Vec<u8>, Duration)>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        for (head, body, delay) in responses {
            let Ok(Ok((mut s, _))) =
                tokio::time::timeout(Duration::from_secs(10), l.accept()).await
            else {
                return;
            };
            let mut buf = vec![0u8; 8192];
            let _ = s.read(&mut buf).await;
            tokio::time::sleep(delay).await;
            let resp = format!(
                "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
            let _ = s.write_all(&body).await;
        }
    });
    addr
}

fn ok(body: &str) -> (String, Vec<u8>, Duration) {
    (
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4".into(),
        body.as_bytes().to_vec(),
        Duration::ZERO,
    )
}

fn make_loop(addr: &str, cfg: ScrapeConfig, st: Arc<MemStorage>) -> ScrapeLoop {
    let group = crate::discovery::TargetGroup {
        source: "t".into(),
        labels: Labels::empty(),
        targets: vec![Labels::from_pairs(&[("__address__", addr)])],
    };
    let (specs, errs) = targets_from_groups(&cfg, &[group]);
    assert!(errs.is_empty(), "{errs:?}");
    let spec = specs.into_iter().next().unwrap();
    ScrapeLoop::for_job(spec, &cfg, st).unwrap().0
}

fn job(name: &str) -> ScrapeConfig {
    ScrapeConfig::new(name)
}

#[tokio::test]
async fn a_good_scrape_writes_samples_and_the_synthetic_series() {
    let addr = serve(vec![ok("# TYPE a gauge\na{x=\"1\"} 7\nb 2\n")]).await;
    let st = Arc::new(MemStorage::new());
    let mut lp = make_loop(&addr, job("svc"), st.clone());
    lp.scrape_once().await;
    let rec = lp.record.read().clone();
    assert_eq!(rec.health, TargetHealth::Up, "{}", rec.last_error);
    assert_eq!(rec.samples, 2);
    let a = values_of(&st, "a");
    assert_eq!(
        a[0].0.to_string(),
        format!(r#"{{__name__="a", instance="{addr}", job="svc", x="1"}}"#)
    );
    assert_eq!(values_of(&st, "up")[0].1, vec![1.0]);
    assert_eq!(values_of(&st, "scrape_samples_scraped")[0].1, vec![2.0]);
    assert_eq!(
        values_of(&st, "scrape_samples_post_metric_relabeling")[0].1,
        vec![2.0]
    );
    assert_eq!(values_of(&st, "scrape_series_added")[0].1, vec![2.0]);
    assert_eq!(values_of(&st, "scrape_duration_seconds").len(), 1);
}

#[tokio::test]
async fn down_targets_say_why() {
    // A malformed page: down, with the parse position; earlier series go stale.
    let addr = serve(vec![ok("a 1\n"), ok("a 1\nb{ 2\n")]).await;
    let st = Arc::new(MemStorage::new());
    let mut lp = make_loop(&addr, job("svc"), st.clone());
    lp.scrape_once().await;
    lp.scrape_once().await;
    let rec = lp.record.read().clone();
    assert_eq!(rec.health, TargetHealth::Down);
    assert!(rec.last_error.contains("line 2:"), "{}", rec.last_error);
    assert_eq!(values_of(&st, "up")[0].1, vec![1.0, 0.0]);
    assert!(is_stale_nan(values_of(&st, "a")[0].1[1]));

    // HTTP status.
    let addr = serve(vec![(
        "HTTP/1.1 503 Service Unavailable".into(),
        b"x".to_vec(),
        Duration::ZERO,
    )])
    .await;
    let mut lp = make_loop(&addr, job("svc"), Arc::new(MemStorage::new()));
    lp.scrape_once().await;
    assert!(
        lp.record.read().last_error.contains("503"),
        "{}",
        lp.record.read().last_error
    );

    // Body too large.
    let mut cfg = job("svc");
    cfg.limits.body_size_limit = 10;
    let addr = serve(vec![ok("a_long_metric_name 1\n")]).await;
    let mut lp = make_loop(&addr, cfg, Arc::new(MemStorage::new()));
    lp.scrape_once().await;
    assert_eq!(
        lp.record.read().last_error,
        "body size limit exceeded (10 bytes)"
    );

    // Timeout.
    let mut cfg = job("svc");
    cfg.scrape_timeout = Duration::from_millis(200);
    let mut slow = ok("a 1\n");
    slow.2 = Duration::from_secs(3);
    let addr = serve(vec![slow]).await;
    let mut lp = make_loop(&addr, cfg, Arc::new(MemStorage::new()));
    lp.scrape_once().await;
    assert!(
        lp.record.read().last_error.contains("timed out"),
        "{}",
        lp.record.read().last_error
    );

    // Connection refused: bind a port, then close it.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    let mut lp = make_loop(&addr, job("svc"), Arc::new(MemStorage::new()));
    lp.scrape_once().await;
    let rec = lp.record.read().clone();
    assert_eq!(rec.health, TargetHealth::Down);
    assert!(
        rec.last_error.to_lowercase().contains("refused"),
        "{}",
        rec.last_error
    );
}

#[tokio::test]
async fn gzip_bodies_are_decompressed() {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(b"gz_metric 42\n").unwrap();
    let body = enc.finish().unwrap();
    let addr = serve(vec![(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip".into(),
        body,
        Duration::ZERO,
    )])
    .await;
    let st = Arc::new(MemStorage::new());
    let mut lp = make_loop(&addr, job("svc"), st.clone());
    lp.scrape_once().await;
    assert_eq!(values_of(&st, "gz_metric")[0].1, vec![42.0]);
}

#[test]
fn offsets_are_deterministic_and_within_the_interval() {
    let iv = Duration::from_secs(15);
    let now = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let a = scrape_offset(12345, iv, now);
    assert_eq!(a, scrape_offset(12345, iv, now));
    assert!(a <= iv);
    assert_ne!(a, scrape_offset(54321, iv, now));
}

#[test]
fn accept_header_follows_scrape_protocols() {
    use crate::config::ScrapeProtocol as P;
    assert_eq!(accept_header(&P::DEFAULT), ACCEPT_HEADER);
    assert_eq!(
        accept_header(&[P::PrometheusText0_0_4]),
        "text/plain;version=0.0.4;q=0.6,*/*;q=0.5"
    );
}

#[test]
fn le_and_quantile_values_are_normalized_like_prometheus_3() {
    let st = MemStorage::new();
    let mut ing = Ingester::new(target(), IngestOptions::default());
    let page = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n\
                # TYPE s summary\ns{quantile=\"0\"} 1\n# TYPE g gauge\ng{le=\"1\"} 1\n";
    ingest(&mut ing, &st, page, 1000).unwrap();
    let les: Vec<String> = st
        .dump()
        .iter()
        .filter_map(|(l, _)| {
            l.get("le")
                .or(l.get("quantile"))
                .map(|v| format!("{}:{v}", l.metric_name()))
        })
        .collect();
    assert_eq!(les, vec!["g:1", "h_bucket:+Inf", "h_bucket:1.0", "s:0.0"]);
}

/// Serves `body` to every connection until the test ends (bounded to 100 connections).
async fn serve_forever(body: &'static str) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        for _ in 0..100 {
            let Ok(Ok((mut s, _))) =
                tokio::time::timeout(Duration::from_secs(10), l.accept()).await
            else {
                return;
            };
            let mut buf = vec![0u8; 8192];
            let _ = s.read(&mut buf).await;
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
        }
    });
    addr
}

async fn wait_until(what: &str, mut pred: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !pred() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn manager_starts_loops_for_new_targets_and_stales_removed_ones() {
    let addr = serve_forever("m 1\n").await;
    let st = Arc::new(MemStorage::new());
    let mut cfg = ScrapeConfig::new("svc");
    cfg.scrape_interval = Duration::from_millis(200);
    cfg.scrape_timeout = Duration::from_millis(150);
    let storage: Arc<dyn Storage> = st.clone();
    let mut mgr = ScrapeManager::new(storage, std::slice::from_ref(&cfg));
    let registry = mgr.registry();
    let cancel = tokio_util::sync::CancellationToken::new();
    let group = crate::discovery::TargetGroup {
        source: "s".into(),
        labels: Labels::empty(),
        targets: vec![Labels::from_pairs(&[("__address__", addr.as_str())])],
    };
    let mut groups = std::collections::BTreeMap::new();
    groups.insert("svc".to_string(), vec![group]);
    mgr.sync(&groups, &cancel);
    assert_eq!(registry.snapshot().len(), 1);
    wait_until("two scrapes", || {
        values_of(&st, "m")
            .first()
            .is_some_and(|(_, v)| v.len() >= 2)
    })
    .await;
    assert_eq!(registry.snapshot()[0].health, TargetHealth::Up);

    // The same target again: no second loop (the series keeps one sample per tick).
    mgr.sync(&groups, &cancel);
    assert_eq!(registry.snapshot().len(), 1);

    // The target goes away: its loop ends with stale markers on all its series.
    groups.insert("svc".to_string(), vec![]);
    mgr.sync(&groups, &cancel);
    assert!(registry.snapshot().is_empty());
    wait_until("stale markers", || {
        ["m", "up", "scrape_duration_seconds"].iter().all(|n| {
            values_of(&st, n)
                .first()
                .is_some_and(|(_, v)| v.last().is_some_and(|x| is_stale_nan(*x)))
        })
    })
    .await;
    cancel.cancel();
}
