//! The requests Grafana's Prometheus data source sends (its backend, `pkg/promlib`, with
//! the default `POST` method: form bodies, `Content-Type: application/x-www-form-urlencoded`,
//! times as Unix seconds with fractions, `step` in seconds), one test each, through the
//! router on loopback, with the bodies Prometheus 3.5.3 gives for the same data
//! (`tests/it/grafana_requests.rs` compares them with the real binary); and the
//! compression Prometheus applies to the API and `/federate`.

use super::tests::{NOW, store};
use super::{Api, ApiOptions};
use crate::model::Labels;

/// A server over the shared fixture; dropped at the end of the test.
struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    async fn start() -> Server {
        let opts = ApiOptions {
            external_labels: Labels::from_pairs(&[("region", "eu")]),
            ..ApiOptions::default()
        };
        let api = Api::with_clock(store(), opts, || NOW);
        api.set_ready(true);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(super::serve(listener, api, async {
            let _ = rx.await;
        }));
        Server {
            base: format!("http://{addr}"),
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// A form POST as Grafana's backend sends it.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let r = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("User-Agent", "Grafana/12.1.0")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A GET with the form in the URL (Grafana's GET-only endpoints and fallback).
    async fn get(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let r = reqwest::Client::new()
            .get(format!("{}{path}?{q}", self.base))
            .header("User-Agent", "Grafana/12.1.0")
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }
}

/// Grafana's time parameters: `strconv.FormatFloat(secs, 'f', -1, 64)`.
const START: &str = "1699999940.5";
const END: &str = "1700000000";

fn ok(data: &str) -> (u16, String) {
    (200, format!(r#"{{"status":"success","data":{data}}}"#))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_range_as_a_form_post() {
    let s = Server::start().await;
    let form = [
        ("query", "up{job=\"api\"}"),
        ("start", START),
        ("end", END),
        ("step", "30"),
        ("timeout", "30s"),
    ];
    assert_eq!(
        s.post("/api/v1/query_range", &form).await,
        ok(
            r#"{"resultType":"matrix","result":[{"metric":{"__name__":"up","instance":"a:1","job":"api"},"values":[[1699999940.500,"1"],[1699999970.500,"1"]]},{"metric":{"__name__":"up","instance":"b:1","job":"api"},"values":[[1699999940.500,"0"],[1699999970.500,"0"]]}]}"#
        )
    );
    // A step with a unit and a bad query, as Prometheus answers them.
    let (code, body) = s
        .post(
            "/api/v1/query_range",
            &[
                ("query", "up"),
                ("start", START),
                ("end", END),
                ("step", "1m"),
            ],
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        s.post(
            "/api/v1/query_range",
            &[("query", "up{"), ("start", START), ("end", END), ("step", "30")],
        )
        .await,
        (
            400,
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:4: parse error: unexpected end of input inside braces"}"#.into()
        )
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_query_and_the_health_check() {
    let s = Server::start().await;
    assert_eq!(
        s.post(
            "/api/v1/query",
            &[
                ("query", "up{job=\"api\"}"),
                ("time", "1700000000.5"),
                ("timeout", "30s")
            ],
        )
        .await,
        ok(
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"a:1","job":"api"},"value":[1700000000.500,"1"]},{"metric":{"__name__":"up","instance":"b:1","job":"api"},"value":[1700000000.500,"0"]}]}"#
        )
    );
    // Grafana's "Save & test": `1+1` at 4s.
    assert_eq!(
        s.post("/api/v1/query", &[("query", "1+1"), ("time", "4")])
            .await,
        ok(r#"{"resultType":"scalar","result":[4,"2"]}"#)
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_with_range_match_and_limit() {
    let s = Server::start().await;
    let range = [("start", "1699999880"), ("end", END)];
    let with = |extra: &'static [(&'static str, &'static str)]| {
        let mut v = range.to_vec();
        v.extend_from_slice(extra);
        v
    };
    assert_eq!(
        s.post("/api/v1/labels", &with(&[("limit", "40000")])).await,
        ok(r#"["__name__","code","instance","job"]"#)
    );
    assert_eq!(
        s.get("/api/v1/labels", &with(&[("limit", "2")])).await,
        (
            200,
            r#"{"status":"success","data":["__name__","code"],"warnings":["results truncated due to limit"]}"#.into()
        )
    );
    assert_eq!(
        s.post("/api/v1/labels", &with(&[("match[]", "up")])).await,
        ok(r#"["__name__","instance","job"]"#)
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_values_for_metric_names_and_labels() {
    let s = Server::start().await;
    let range = [("start", "1699999880"), ("end", END)];
    let mut f = range.to_vec();
    f.push(("limit", "40000"));
    assert_eq!(
        s.get("/api/v1/label/__name__/values", &f).await,
        ok(r#"["http_requests_total","up"]"#)
    );
    let mut f = range.to_vec();
    f.push(("limit", "1"));
    assert_eq!(
        s.get("/api/v1/label/__name__/values", &f).await,
        (
            200,
            r#"{"status":"success","data":["http_requests_total"],"warnings":["results truncated due to limit"]}"#.into()
        )
    );
    let mut f = range.to_vec();
    f.push(("match[]", "{__name__=\"up\"}"));
    assert_eq!(
        s.get("/api/v1/label/instance/values", &f).await,
        ok(r#"["a:1","b:1"]"#)
    );
    // Label values take GET only (Grafana sends GET), as in Prometheus.
    assert_eq!(
        s.post("/api/v1/label/job/values", &range).await,
        (405, "Method Not Allowed\n".into())
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_by_post_and_get_with_limit() {
    let s = Server::start().await;
    let form = [
        ("start", "1699999880"),
        ("end", END),
        ("match[]", "{__name__!=\"\"}"),
        ("limit", "2"),
    ];
    let want = (
        200,
        r#"{"status":"success","data":[{"__name__":"http_requests_total","code":"200","job":"api"},{"__name__":"up","instance":"a:1","job":"api"}],"warnings":["results truncated due to limit"]}"#.to_string(),
    );
    assert_eq!(s.post("/api/v1/series", &form).await, want);
    assert_eq!(s.get("/api/v1/series", &form).await, want);
    assert_eq!(
        s.post("/api/v1/series", &[("start", "1699999880")]).await,
        (
            400,
            r#"{"status":"error","errorType":"bad_data","error":"no match[] parameter provided"}"#
                .into()
        )
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_and_buildinfo() {
    let s = Server::start().await;
    assert_eq!(
        s.get(
            "/api/v1/metadata",
            &[("limit", "10000"), ("limit_per_metric", "1")]
        )
        .await,
        ok("{}")
    );
    assert_eq!(
        s.get("/api/v1/metadata", &[("metric", "up")]).await,
        ok("{}")
    );
    let (code, body) = s.get("/api/v1/status/buildinfo", &[]).await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    // Grafana reads `version` with semver and takes a buildinfo without `features` as
    // Prometheus (with features, as Mimir).
    let version = v["data"]["version"].as_str().unwrap();
    assert!(version.starts_with("3.5.0+kmon."), "{version}");
    assert!(v["data"].get("features").is_none(), "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemplar_queries_answer_empty_lists_or_prometheus_errors() {
    let s = Server::start().await;
    let range = [("start", START), ("end", END)];
    let with = |q: &'static str| {
        let mut v = range.to_vec();
        v.push(("query", q));
        v
    };
    assert_eq!(
        s.post("/api/v1/query_exemplars", &with("rate(up[5m])"))
            .await,
        ok("[]")
    );
    assert_eq!(
        s.get("/api/v1/query_exemplars", &with("up")).await,
        ok("[]")
    );
    // No selector in the query: no content.
    assert_eq!(
        s.post("/api/v1/query_exemplars", &with("1+1")).await,
        (204, String::new())
    );
    assert_eq!(
        s.post("/api/v1/query_exemplars", &with("up{")).await,
        (
            400,
            r#"{"status":"error","errorType":"bad_data","error":"1:4: parse error: unexpected end of input inside braces"}"#.into()
        )
    );
    assert_eq!(
        s.post(
            "/api/v1/query_exemplars",
            &[("query", "up"), ("start", END), ("end", START)]
        )
        .await,
        (
            400,
            r#"{"status":"error","errorType":"bad_data","error":"end timestamp must not be before start timestamp"}"#.into()
        )
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format_query_pretty_prints() {
    let s = Server::start().await;
    assert_eq!(
        s.post("/api/v1/format_query", &[("query", "sum(up)by(job) > 1")])
            .await,
        ok(r#""sum by (job) (up) \u003e 1""#)
    );
    assert_eq!(
        s.get("/api/v1/format_query", &[("query", "up{")]).await,
        (
            400,
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:4: parse error: unexpected end of input inside braces"}"#.into()
        )
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parse_query_answers_the_syntax_tree() {
    let s = Server::start().await;
    assert_eq!(
        s.get(
            "/api/v1/parse_query",
            &[("query", "up{job=\"a\"} > bool 1")]
        )
        .await,
        ok(
            r#"{"bool":true,"lhs":{"matchers":[{"name":"job","type":"=","value":"a"},{"name":"__name__","type":"=","value":"up"}],"name":"up","offset":0,"startOrEnd":null,"timestamp":null,"type":"vectorSelector"},"matching":null,"op":"\u003e","rhs":{"type":"numberLiteral","val":"1"},"type":"binaryExpr"}"#
        )
    );
    assert_eq!(
        s.post(
            "/api/v1/parse_query",
            &[("query", "max_over_time(x[1h:5m] @ start())")]
        )
        .await,
        ok(
            r#"{"args":[{"expr":{"matchers":[{"name":"__name__","type":"=","value":"x"}],"name":"x","offset":0,"startOrEnd":null,"timestamp":null,"type":"vectorSelector"},"offset":0,"range":3600000,"startOrEnd":"start","step":300000,"timestamp":null,"type":"subquery"}],"func":{"argTypes":["matrix"],"name":"max_over_time","returnType":"vector","variadic":0},"type":"call"}"#
        )
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federate_over_http() {
    let s = Server::start().await;
    let (code, body) = s.get("/federate", &[("match[]", "up")]).await;
    assert_eq!(code, 200);
    assert_eq!(
        body,
        "# TYPE up untyped\n\
         up{instance=\"a:1\",job=\"api\",region=\"eu\"} 1 1700000000000\n\
         up{instance=\"b:1\",job=\"api\",region=\"eu\"} 0 1700000000000\n"
    );
    assert_eq!(
        s.get("/federate", &[("match[]", "up{")]).await,
        (
            400,
            "1:4: parse error: unexpected end of input inside braces\n".into()
        )
    );
    assert_eq!(
        s.post("/federate", &[("match[]", "up")]).await,
        (405, "Method Not Allowed\n".into())
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_compressed_when_the_client_accepts_it() {
    let s = Server::start().await;
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    for (path, accept, enc) in [
        ("/api/v1/labels", "gzip", Some("gzip")),
        ("/federate?match[]=up", "br, deflate, gzip", Some("deflate")),
        ("/api/v1/labels", "gzip;q=1.0", None),
        ("/-/healthy", "gzip", None),
    ] {
        let r = client
            .get(format!("{}{path}", s.base))
            .header("Accept-Encoding", accept)
            .send()
            .await
            .unwrap();
        let got = r
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(got.as_deref(), enc, "{path} {accept}");
        let bytes = r.bytes().await.unwrap();
        let text = match enc {
            Some("gzip") => {
                let mut out = String::new();
                std::io::Read::read_to_string(
                    &mut flate2::read::GzDecoder::new(&bytes[..]),
                    &mut out,
                )
                .unwrap();
                out
            }
            Some(_) => {
                let mut out = String::new();
                std::io::Read::read_to_string(
                    &mut flate2::read::ZlibDecoder::new(&bytes[..]),
                    &mut out,
                )
                .unwrap();
                out
            }
            None => String::from_utf8(bytes.to_vec()).unwrap(),
        };
        assert!(!text.is_empty(), "{path}");
        if path == "/api/v1/labels" {
            assert!(
                text.starts_with(r#"{"status":"success","data":["#),
                "{text}"
            );
        }
    }
    s.stop().await;
}
