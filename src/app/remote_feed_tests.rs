//! The publisher's rounds against a fake remote source (axum on loopback): panels on
//! their sources in mixed mode, targets and rules unavailable on a Mimir-like server, a
//! slow source that keeps the last data and is said to be waited for.

use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::app::panels::{PanelRequest, PanelSpec};
use crate::app::sources::{SourceOrigin, SourceRegistry, transport_for_url};
use crate::config::{ClientAuth, TlsConfig};
use crate::storage::{Appendable, MemStorage, Storage};

/// A source without targets and rules whose range queries take `delay_ms` (settable)
/// and answer one series, `remote_only{job="far"}`.
async fn fake(delay_ms: Arc<AtomicU64>) -> String {
    use axum::routing::{any, get};
    let app = axum::Router::new()
        .route(
            "/api/v1/query_range",
            any(move || {
                let delay = delay_ms.clone();
                async move {
                    let ms = delay.load(Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"remote_only","job":"far"},"values":[[1000,"7"]]}]}}"#
                }
            }),
        )
        .route(
            "/api/v1/label/__name__/values",
            get(|| async { r#"{"status":"success","data":["remote_only"]}"# }),
        )
        .route(
            "/api/v1/labels",
            get(|| async { r#"{"status":"success","data":["__name__","job"]}"# }),
        )
        .route(
            "/api/v1/label/job/values",
            get(|| async { r#"{"status":"success","data":["far"]}"# }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn spec(id: u64, query: &str, source: Option<&str>) -> PanelSpec {
    PanelSpec {
        id,
        queries: vec![query.into()],
        source: source.map(str::to_string),
        ..PanelSpec::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_mode_panels_unavailable_features_and_a_slow_source() {
    let delay = Arc::new(AtomicU64::new(0));
    let url = fake(delay.clone()).await;
    let mem = MemStorage::new();
    let mut a = mem.appender();
    let l = crate::model::Labels::from_pairs(&[("__name__", "local_only"), ("job", "here")]);
    a.append(None, &l, 1_000, 3.0).unwrap();
    a.commit().unwrap();
    let storage: Arc<dyn Storage> = Arc::new(mem);
    let reg = SourceRegistry::new();
    let t = transport_for_url(&url, ClientAuth::None, &TlsConfig::default()).unwrap();
    reg.add("far", &url, SourceOrigin::Configured, t);
    reg.set_active("far").unwrap();
    let mut request = PanelRequest::default();
    request.set_query("remote_only");
    request.dashboard_shown = true;
    request.set_board(
        vec![
            spec(1, "local_only", Some("embedded")),
            spec(2, "remote_only", Some("far")),
            spec(3, "up", Some("gone")),
        ],
        Default::default(),
    );
    let mut feeds = RemoteFeeds::default();
    let wait = Duration::from_secs(5);
    let round = feeds
        .evaluate(&storage, &reg, &request, 60_000, 1_000, true, wait)
        .await;
    let by_id = |id: u64| round.panels.iter().find(|p| p.id == id).unwrap().clone();
    // The query bar's panel follows the active (remote) source; the dashboard's panels
    // ask their own.
    assert_eq!(by_id(0).series[0].labels.get("job"), Some("far"));
    assert_eq!(by_id(1).series[0].labels.get("job"), Some("here"));
    assert_eq!(by_id(2).series[0].points, [(1_000_000, 7.0)]);
    assert_eq!(by_id(3).error.as_deref(), Some("no source \"gone\""));
    let active = round.active.expect("a remote source is active");
    let targets = active.targets.expect("asked").unwrap_err().to_string();
    assert_eq!(targets, format!("targets unavailable on {url}"));
    assert!(matches!(
        active.groups,
        Some(Err(crate::remote::source::SourceError::Unavailable { .. }))
    ));
    let index = active.completion.expect("a completion index");
    assert_eq!(index.metric_names().collect::<Vec<_>>(), ["remote_only"]);
    assert_eq!(index.all_values("job"), ["far"]);

    // A slow source: the round waits at most `wait`, keeps the last data and says so.
    delay.store(1_500, Ordering::SeqCst);
    let round = feeds
        .evaluate(
            &storage,
            &reg,
            &request,
            61_000,
            1_000,
            false,
            Duration::from_millis(100),
        )
        .await;
    let p = round.panels.iter().find(|p| p.id == 2).unwrap();
    assert_eq!(p.series[0].points, [(1_000_000, 7.0)]);
    assert_eq!(p.warnings, ["waiting for far"]);
    assert!(round.active.expect("active").waiting);
    // The running job is not started again; once it is done, the next round has it.
    let round = feeds
        .evaluate(
            &storage,
            &reg,
            &request,
            62_000,
            1_000,
            false,
            Duration::from_secs(5),
        )
        .await;
    assert!(!round.active.expect("active").waiting);
    let p = round.panels.iter().find(|p| p.id == 2).unwrap();
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}
