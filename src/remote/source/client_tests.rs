//! The client against an in-process fake server (axum on loopback) that lacks some
//! endpoints, and against a scripted transport for backoff and the POST→GET fallback.

use std::sync::atomic::AtomicUsize;

use super::*;
use crate::config::{ClientAuth, TlsConfig};
use crate::remote::source::http::HttpTransport;

/// A fake Mimir-like server: queries and labels work, `/api/v1/targets` is 404, rules
/// answer 501 and alerts answer HTML; every request is counted per path.
async fn fake_server() -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::routing::{any, get};
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new()
        .route(
            "/prefix/api/v1/query_range",
            any(|| async {
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"m"},"values":[[1,"1"]]}]},"warnings":["w"]}"#
            }),
        )
        .route(
            "/prefix/api/v1/labels",
            get(|| async { r#"{"status":"success","data":["__name__","job"]}"# }),
        )
        .route(
            "/prefix/api/v1/rules",
            get(|| async { (axum::http::StatusCode::NOT_IMPLEMENTED, "not implemented") }),
        )
        .route(
            "/prefix/api/v1/alerts",
            get(|| async { "<html>alerts</html>" }),
        )
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let log = log.clone();
                async move {
                    log.lock().push(req.uri().path().to_string());
                    next.run(req).await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/prefix/"), seen)
}

#[tokio::test]
async fn missing_endpoints_mark_features_unavailable_and_are_not_asked_again() {
    let (url, seen) = fake_server().await;
    let t = HttpTransport::new(&url, ClientAuth::None, &TlsConfig::default()).unwrap();
    let c = Client::new(Arc::new(t), Duration::from_secs(5));
    let q = c.range_query("m", 0, 60_000, 15_000).await.unwrap();
    assert_eq!(q.warnings, ["w"]);
    assert!(matches!(q.data, QueryData::Matrix(ref m) if m.len() == 1));
    assert_eq!(
        c.label_names(&MetaQuery::default()).await.unwrap().data,
        ["__name__", "job"]
    );
    for _ in 0..3 {
        let e = c.targets().await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("targets unavailable on {}", c.describe())
        );
        assert!(matches!(
            c.rules().await,
            Err(SourceError::Unavailable { .. })
        ));
        assert!(matches!(
            c.alerts().await,
            Err(SourceError::Unavailable { .. })
        ));
    }
    let asked = |p: &str| seen.lock().iter().filter(|s| s.ends_with(p)).count();
    // Asked once each; the next two rounds were answered from the marks.
    assert_eq!(asked("/targets"), 1);
    assert_eq!(asked("/rules"), 1);
    assert_eq!(asked("/alerts"), 1);
    assert_eq!(
        c.state(),
        SourceState::Limited(vec![Feature::Targets, Feature::Rules, Feature::Alerts])
    );
    assert_eq!(c.describe(), url.trim_end_matches('/'));
}

type Script = Box<dyn Fn(&ApiRequest) -> Result<Reply, TransportError> + Send + Sync>;

/// A transport that answers from a script and counts requests.
struct Scripted {
    calls: AtomicUsize,
    answer: Script,
    log: Mutex<Vec<ApiRequest>>,
}

impl Transport for Scripted {
    fn send(
        &self,
        req: ApiRequest,
        _timeout: Duration,
    ) -> futures_util::future::BoxFuture<'_, Result<Reply, TransportError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let r = (self.answer)(&req);
        self.log.lock().push(req);
        Box::pin(async move { r })
    }

    fn describe(&self) -> String {
        "http://scripted".into()
    }
}

fn scripted(
    answer: impl Fn(&ApiRequest) -> Result<Reply, TransportError> + Send + Sync + 'static,
) -> Arc<Scripted> {
    Arc::new(Scripted {
        calls: AtomicUsize::new(0),
        answer: Box::new(answer),
        log: Mutex::default(),
    })
}

fn ok(body: &str) -> Result<Reply, TransportError> {
    Ok(Reply {
        status: 200,
        content_type: Some("application/json".into()),
        body: body.as_bytes().to_vec(),
    })
}

#[tokio::test]
async fn connection_failures_back_off_without_sending() {
    let t = scripted(|_| {
        Err(TransportError::Connect {
            target: "http://scripted".into(),
            reason: "connection refused".into(),
        })
    });
    let c = Client::new(t.clone(), Duration::from_secs(1));
    let e = c.instant_query("up", None).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "http://scripted: connection failed: connection refused; retrying in 1s"
    );
    for _ in 0..5 {
        assert!(matches!(
            c.instant_query("up", None).await,
            Err(SourceError::Retrying { .. })
        ));
    }
    assert_eq!(t.calls.load(Ordering::SeqCst), 1);
    assert!(matches!(
        c.state(),
        SourceState::Down {
            retry_in_secs: 1,
            ..
        }
    ));
}

#[tokio::test]
async fn post_refused_with_405_falls_back_to_get_for_good() {
    let t = scripted(|req| match req.method {
        Method::Post => Ok(Reply {
            status: 405,
            content_type: None,
            body: b"method not allowed".to_vec(),
        }),
        Method::Get => {
            ok(r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#)
        }
    });
    let c = Client::new(t.clone(), Duration::from_secs(1));
    for _ in 0..2 {
        let a = c.instant_query("2", Some(1000)).await.unwrap();
        assert_eq!(a.data, QueryData::Scalar(1000, 2.0));
    }
    let log = t.log.lock();
    let methods: Vec<Method> = log.iter().map(|r| r.method).collect();
    assert_eq!(methods, [Method::Post, Method::Get, Method::Get]);
    assert_eq!(
        log[2].params,
        [
            ("query".to_string(), "2".to_string()),
            ("time".into(), "1.000".into())
        ]
    );
}

#[tokio::test]
async fn query_errors_keep_the_error_type_and_are_not_capabilities() {
    let t = scripted(|req| {
        if req.path.ends_with("/query") {
            Ok(Reply {
                status: 400,
                content_type: None,
                body: br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#
                    .to_vec(),
            })
        } else {
            Ok(Reply {
                status: 404,
                content_type: None,
                body: b"404 page not found".to_vec(),
            })
        }
    });
    let c = Client::new(t.clone(), Duration::from_secs(1));
    let e = c.instant_query("(", None).await.unwrap_err();
    assert_eq!(e.to_string(), "bad_data: parse error");
    let e = c.range_query("up", 0, 1000, 1000).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "http://scripted: HTTP 404: 404 page not found"
    );
    assert_eq!(c.state(), SourceState::Ok);
    let q = MetaQuery {
        start_ms: Some(1500),
        end_ms: Some(-1),
        matchers: vec!["up".into(), "x".into()],
    };
    assert!(c.label_values("__name__", &q).await.is_err());
    let log = t.log.lock();
    let last = log.last().unwrap();
    assert_eq!(last.path, "/api/v1/label/__name__/values");
    assert_eq!(
        last.params,
        [
            ("start".to_string(), "1.500".to_string()),
            ("end".into(), "-0.001".into()),
            ("match[]".into(), "up".into()),
            ("match[]".into(), "x".into())
        ]
    );
}
