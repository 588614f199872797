use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::routing::post;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::config::StaticConfig;
use crate::model::{RelabelAction, RelabelRegex};
use crate::rules::AlertState;

/// A fake Alertmanager on loopback: records each POST body, answers `status`.
struct FakeAm {
    addr: String,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

async fn fake_am(status: StatusCode) -> FakeAm {
    let bodies: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let app = Router::new()
        .route(
            "/api/v2/alerts",
            post(
                move |AxState(b): AxState<Arc<Mutex<Vec<serde_json::Value>>>>, body: String| async move {
                    if let Ok(v) = serde_json::from_str(&body) {
                        b.lock().push(v);
                    }
                    status
                },
            ),
        )
        .with_state(Arc::clone(&bodies));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    FakeAm { addr, bodies }
}

fn am_config(targets: &[&str]) -> AlertmanagerConfig {
    AlertmanagerConfig {
        static_configs: vec![StaticConfig {
            targets: targets.iter().map(|t| t.to_string()).collect(),
            labels: Labels::empty(),
        }],
        timeout: Duration::from_secs(5),
        ..AlertmanagerConfig::default()
    }
}

fn firing(name: &str, i: usize) -> Alert {
    Alert {
        labels: Labels::from_pairs(&[("alertname", name.to_string()), ("i", i.to_string())]),
        annotations: Labels::empty(),
        state: AlertState::Firing,
        value: 1.0,
        active_at: 1_000,
        fired_at: Some(2_000),
        resolved_at: None,
        last_sent_at: Some(2_000),
        valid_until: Some(4_000_000_000_000),
        keep_firing_since: None,
    }
}

/// Polls `cond` for up to 20s (a bound, not a timing assertion).
async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

#[tokio::test]
async fn batches_of_at_most_256_reach_every_alertmanager() {
    let a = fake_am(StatusCode::OK).await;
    let b = fake_am(StatusCode::OK).await;
    let cancel = CancellationToken::new();
    let opts = NotifierOptions {
        external_labels: Labels::from_pairs(&[("cluster", "c1")]),
        ..NotifierOptions::default()
    };
    let n = Notifier::start(opts, &[am_config(&[&a.addr, &b.addr])], cancel.clone()).unwrap();
    let alerts: Vec<Alert> = (0..600).map(|i| firing("Many", i)).collect();
    n.send_rule("up == 0", &alerts);
    let total = |am: &FakeAm| -> usize {
        am.bodies
            .lock()
            .iter()
            .map(|v| v.as_array().map_or(0, Vec::len))
            .sum()
    };
    assert!(eventually(|| total(&a) == 600 && total(&b) == 600).await);
    for am in [&a, &b] {
        let bodies = am.bodies.lock();
        assert!(bodies.iter().all(|v| v.as_array().unwrap().len() <= 256));
        let first = &bodies[0][0];
        assert_eq!(first["labels"]["cluster"], "c1");
        assert_eq!(first["labels"]["alertname"], "Many");
        assert_eq!(first["startsAt"], "1970-01-01T00:00:02.000Z");
        assert_eq!(first["generatorURL"], "/graph?g0.expr=up+%3D%3D+0&g0.tab=1");
    }
    // The counters move once every post of a batch has been answered.
    assert!(eventually(|| n.stats().sent == 1200).await);
    let stats = n.stats();
    assert_eq!((stats.errors, stats.dropped, stats.queue_length), (0, 0, 0));
    assert_eq!(stats.alertmanagers.len(), 2);
    assert!(
        stats
            .alertmanagers
            .iter()
            .all(|s| s.last_success_at.is_some())
    );
    cancel.cancel();
}

#[tokio::test]
async fn a_failing_or_absent_alertmanager_is_counted_and_does_not_block() {
    let failing = fake_am(StatusCode::INTERNAL_SERVER_ERROR).await;
    // A port that was free a moment ago: nothing listens there.
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let cancel = CancellationToken::new();
    let n = Notifier::start(
        NotifierOptions::default(),
        &[am_config(&[&failing.addr, &down])],
        cancel.clone(),
    )
    .unwrap();
    let began = Instant::now();
    n.send_rule("x", &[firing("Down", 0), firing("Down", 1)]);
    // `send` only queues; it returns long before any post could time out.
    assert!(began.elapsed() < Duration::from_secs(5));
    assert!(eventually(|| n.stats().dropped == 2).await);
    let stats = n.stats();
    assert_eq!(stats.errors, 4);
    assert_eq!(stats.sent, 4);
    let by_url: BTreeMap<_, _> = stats
        .alertmanagers
        .iter()
        .map(|s| (s.url.clone(), s.clone()))
        .collect();
    let f = &by_url[&format!("http://{}/api/v2/alerts", failing.addr)];
    assert_eq!(
        f.last_error.as_deref(),
        Some("bad response status 500 Internal Server Error")
    );
    let d = &by_url[&format!("http://{down}/api/v2/alerts")];
    assert!(d.last_error.is_some());
    assert_eq!(failing.bodies.lock().len(), 1);
    cancel.cancel();
}

#[tokio::test]
async fn one_working_alertmanager_in_a_set_is_enough() {
    let ok = fake_am(StatusCode::OK).await;
    let failing = fake_am(StatusCode::SERVICE_UNAVAILABLE).await;
    let cancel = CancellationToken::new();
    let n = Notifier::start(
        NotifierOptions::default(),
        &[am_config(&[&ok.addr, &failing.addr])],
        cancel.clone(),
    )
    .unwrap();
    n.send_rule("x", &[firing("A", 0)]);
    assert!(eventually(|| n.stats().sent == 2).await);
    let stats = n.stats();
    assert_eq!((stats.errors, stats.dropped), (1, 0));
    cancel.cancel();
}

#[tokio::test]
async fn per_set_alert_relabeling_filters_what_that_set_gets() {
    let all = fake_am(StatusCode::OK).await;
    let pages = fake_am(StatusCode::OK).await;
    let mut only_pages = am_config(&[&pages.addr]);
    only_pages.alert_relabel_configs = vec![RelabelConfig {
        source_labels: vec!["alertname".into()],
        regex: RelabelRegex::new("Page").unwrap(),
        action: RelabelAction::Keep,
        ..RelabelConfig::default()
    }];
    let cancel = CancellationToken::new();
    let n = Notifier::start(
        NotifierOptions::default(),
        &[am_config(&[&all.addr]), only_pages],
        cancel.clone(),
    )
    .unwrap();
    n.send_rule("x", &[firing("Page", 0), firing("Ticket", 0)]);
    n.send_rule("x", &[firing("Ticket", 1)]);
    assert!(eventually(|| n.stats().sent == 4).await);
    let got: Vec<String> = pages
        .bodies
        .lock()
        .iter()
        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
        .map(|a| a["labels"]["alertname"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(got, ["Page"]);
    assert_eq!(n.stats().dropped, 0);
    cancel.cancel();
}

#[tokio::test]
async fn a_full_queue_drops_the_oldest() {
    let cancel = CancellationToken::new();
    cancel.cancel();
    let opts = NotifierOptions {
        queue_capacity: 3,
        drain_on_shutdown: false,
        ..NotifierOptions::default()
    };
    let n = Notifier::start(opts, &[], cancel).unwrap();
    // Let the cancelled task end so nothing takes from the queue.
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let alerts: Vec<NotifierAlert> = (0..5)
        .map(|i| NotifierAlert::from_rule_alert(&firing("Q", i), "x", ""))
        .collect();
    n.queue(alerts[..2].to_vec());
    n.queue(alerts[2..].to_vec());
    let st = n.inner.state.lock();
    let kept: Vec<&str> = st.queue.iter().filter_map(|a| a.labels.get("i")).collect();
    assert_eq!(kept, ["2", "3", "4"]);
    drop(st);
    assert_eq!(n.stats().dropped, 2);
    // A batch bigger than the whole queue keeps its newest alerts.
    n.queue(alerts.clone());
    assert_eq!(n.stats().dropped, 2 + 2 + 3);
    assert_eq!(n.stats().queue_length, 3);
}

#[tokio::test]
async fn metrics_read_like_prometheus() {
    let cancel = CancellationToken::new();
    let n = Notifier::start(
        NotifierOptions::default(),
        &[am_config(&["127.0.0.1:1"])],
        cancel.clone(),
    )
    .unwrap();
    let mut out = String::new();
    n.write_metrics(&mut out);
    let want = "\
# HELP prometheus_notifications_alertmanagers_discovered The number of alertmanagers discovered and active.
# TYPE prometheus_notifications_alertmanagers_discovered gauge
prometheus_notifications_alertmanagers_discovered 1
# HELP prometheus_notifications_dropped_total Total number of alerts dropped due to errors when sending to Alertmanager.
# TYPE prometheus_notifications_dropped_total counter
prometheus_notifications_dropped_total 0
# HELP prometheus_notifications_errors_total Total number of sent alerts affected by errors.
# TYPE prometheus_notifications_errors_total counter
prometheus_notifications_errors_total{alertmanager=\"http://127.0.0.1:1/api/v2/alerts\"} 0
# HELP prometheus_notifications_queue_capacity The capacity of the alert notifications queue.
# TYPE prometheus_notifications_queue_capacity gauge
prometheus_notifications_queue_capacity 10000
# HELP prometheus_notifications_queue_length The number of alert notifications in the queue.
# TYPE prometheus_notifications_queue_length gauge
prometheus_notifications_queue_length 0
# HELP prometheus_notifications_sent_total Total number of alerts sent.
# TYPE prometheus_notifications_sent_total counter
prometheus_notifications_sent_total{alertmanager=\"http://127.0.0.1:1/api/v2/alerts\"} 0
";
    assert_eq!(out, want);
    cancel.cancel();
}

#[tokio::test]
async fn a_reload_keeps_counters_of_alertmanagers_still_there() {
    let a = fake_am(StatusCode::OK).await;
    let cancel = CancellationToken::new();
    let n = Notifier::start(
        NotifierOptions::default(),
        &[am_config(&[&a.addr])],
        cancel.clone(),
    )
    .unwrap();
    n.send_rule("x", &[firing("R", 0)]);
    assert!(eventually(|| n.stats().sent == 1).await);
    let mut config = Config::default();
    config.alerting.alertmanagers = vec![am_config(&[&a.addr, "127.0.0.1:1"])];
    n.apply_config(&config).unwrap();
    let stats = n.stats();
    assert_eq!(stats.alertmanagers.len(), 2);
    assert_eq!(stats.alertmanagers[0].sent, 1);
    assert_eq!(stats.alertmanagers[1].sent, 0);
    config.alerting.alertmanagers = vec![];
    n.apply_config(&config).unwrap();
    assert!(n.alertmanagers().is_empty());
    assert_eq!(n.stats().sent, 0);
    cancel.cancel();
}

#[tokio::test]
async fn each_rules_alerts_link_to_its_printed_expression() {
    let cancel = CancellationToken::new();
    cancel.cancel();
    let opts = NotifierOptions {
        external_url: "http://k:9090".into(),
        drain_on_shutdown: false,
        ..NotifierOptions::default()
    };
    let n = Notifier::start(opts, &[], cancel).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The rule manager hands over each rule's expression as `Expr`'s Display prints it.
    let printed = |e: &str| crate::promql::parse(e).unwrap().to_string();
    n.send_rule(&printed("sum(up)   < 1"), &[firing("Same", 2)]);
    n.send_rule(
        &printed("up  ==  0"),
        &[firing("Same", 1), firing("Same", 3)],
    );
    n.send_rule("up", &[]);
    let st = n.inner.state.lock();
    let urls: Vec<&str> = st.queue.iter().map(|a| a.generator_url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "http://k:9090/graph?g0.expr=sum%28up%29+%3C+1&g0.tab=1",
            "http://k:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
            "http://k:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
        ]
    );
}

#[test]
fn starting_outside_a_runtime_is_an_error() {
    let err = Notifier::start(NotifierOptions::default(), &[], CancellationToken::new());
    assert!(matches!(err, Err(NotifierError::NoRuntime)));
}
