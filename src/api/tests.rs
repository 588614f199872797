//! The API over a small store: the handlers called directly (no network), checked against
//! the bodies Prometheus 3.5.3 gives for the same data and requests.

use std::sync::Arc;

use super::params::Form;
use super::{Api, ApiError, ApiOptions, ErrorType};
use crate::model::Labels;
use crate::storage::{Appendable, MemStorage};

/// 1700000000 s, the fixed "now" of these tests.
pub(super) const NOW: i64 = 1_700_000_000_000;

/// A series' labels and its samples.
type Fixture<'a> = (&'a [(&'a str, &'a str)], &'a [(i64, f64)]);

pub(super) fn store() -> Arc<MemStorage> {
    let s = MemStorage::new();
    let mut app = s.appender();
    let series: &[Fixture<'_>] = &[
        (
            &[("__name__", "up"), ("job", "api"), ("instance", "a:1")],
            &[(NOW - 60_000, 1.0), (NOW - 30_000, 1.0), (NOW, 1.0)],
        ),
        (
            &[("__name__", "up"), ("job", "api"), ("instance", "b:1")],
            &[(NOW - 60_000, 0.0), (NOW, 0.0)],
        ),
        (
            &[("__name__", "up"), ("job", "db"), ("instance", "c<&>")],
            &[(NOW - 3_600_000, 1.0)],
        ),
        (
            &[
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("code", "200"),
            ],
            &[(NOW - 60_000, 10.0), (NOW - 30_000, 20.0), (NOW, 40.0)],
        ),
    ];
    for (labels, samples) in series {
        let l = Labels::from_pairs(labels);
        for (t, v) in *samples {
            app.append(None, &l, *t, *v).unwrap();
        }
    }
    app.commit().unwrap();
    Arc::new(s)
}

fn api() -> Api {
    let api = Api::with_clock(store(), ApiOptions::default(), || NOW);
    api.set_ready(true);
    api
}

fn form(q: &str) -> Form {
    Form::new(Some(q), None)
}

fn body(r: Result<super::Success, ApiError>) -> String {
    match r {
        Ok(s) => s.body(),
        Err(e) => e.body(),
    }
}

fn err(r: Result<super::Success, ApiError>) -> ApiError {
    r.expect_err("an error")
}

#[test]
fn series_lists_label_sets_in_order() {
    let api = api();
    assert_eq!(
        body(api.series(&form("match[]=up{job=\"api\"}"))),
        r#"{"status":"success","data":[{"__name__":"up","instance":"a:1","job":"api"},{"__name__":"up","instance":"b:1","job":"api"}]}"#
    );
    // Two selectors are merged without duplicates; label values are not HTML-escaped.
    assert_eq!(
        body(api.series(&form("match[]=up{job=\"db\"}&match[]={job=~\"d.*\"}"))),
        r#"{"status":"success","data":[{"__name__":"up","instance":"c<&>","job":"db"}]}"#
    );
    // A range excludes series without samples in it.
    let f = form(&format!(
        "match[]=up&start={}&end={}",
        (NOW - 120_000) / 1000,
        NOW / 1000
    ));
    let b = body(api.series(&f));
    assert!(!b.contains("c<&>"), "{b}");
    assert_eq!(
        body(api.series(&form("match[]=up&limit=1"))),
        r#"{"status":"success","data":[{"__name__":"up","instance":"a:1","job":"api"}],"warnings":["results truncated due to limit"]}"#
    );
}

#[test]
fn series_errors_match_prometheus() {
    let api = api();
    let cases = [
        ("", "no match[] parameter provided"),
        (
            "match[]={a=\"\"}",
            "invalid parameter \"match[]\": match[] must contain at least one non-empty matcher",
        ),
        (
            "match[]={a=\"b\"",
            "invalid parameter \"match[]\": 1:7: parse error: unexpected end of input inside braces",
        ),
        (
            "match[]=up&start=x",
            "invalid parameter \"start\": invalid time value for 'start': cannot parse \"x\" to a valid timestamp",
        ),
        (
            "match[]=up&limit=-1",
            "invalid parameter \"limit\": limit must be non-negative",
        ),
    ];
    for (q, msg) in cases {
        let e = err(api.series(&form(q)));
        assert_eq!(e.kind, ErrorType::BadData, "{q}");
        assert_eq!(e.message, msg, "{q}");
    }
}

#[test]
fn label_names_and_values() {
    let api = api();
    assert_eq!(
        body(api.label_names(&form(""))),
        r#"{"status":"success","data":["__name__","code","instance","job"]}"#
    );
    assert_eq!(
        body(api.label_names(&form("match[]=up"))),
        r#"{"status":"success","data":["__name__","instance","job"]}"#
    );
    // Plain string lists are HTML-escaped, as Prometheus's standard encoder does.
    assert_eq!(
        body(api.label_values("instance", &form(""))),
        r#"{"status":"success","data":["a:1","b:1","c\u003c\u0026\u003e"]}"#
    );
    assert_eq!(
        body(api.label_values("job", &form("match[]=http_requests_total"))),
        r#"{"status":"success","data":["api"]}"#
    );
    assert_eq!(
        body(api.label_values("job", &form("limit=1"))),
        r#"{"status":"success","data":["api"],"warnings":["results truncated due to limit"]}"#
    );
    assert_eq!(
        body(api.label_values("nope", &form(""))),
        r#"{"status":"success","data":[]}"#
    );
    // A range: only series with samples in it.
    let f = form(&format!(
        "start={}&end={}",
        (NOW - 120_000) / 1000,
        NOW / 1000
    ));
    assert_eq!(
        body(api.label_values("instance", &f)),
        r#"{"status":"success","data":["a:1","b:1"]}"#
    );
    // The label endpoints report matcher errors without the parameter prefix.
    let e = err(api.label_names(&form("match[]={a=\"\"}")));
    assert_eq!(
        e.message,
        "match[] must contain at least one non-empty matcher"
    );
}

#[tokio::test]
async fn instant_queries_answer_in_prometheus_shapes() {
    let api = api();
    assert_eq!(
        body(api.instant_query(&form("query=up{job=\"api\"}")).await),
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"a:1","job":"api"},"value":[1700000000,"1"]},{"metric":{"__name__":"up","instance":"b:1","job":"api"},"value":[1700000000,"0"]}]}}"#
    );
    assert_eq!(
        body(api.instant_query(&form("query=1%2B1&time=1.5")).await),
        r#"{"status":"success","data":{"resultType":"scalar","result":[1.500,"2"]}}"#
    );
    assert_eq!(
        body(
            api.instant_query(&form("query=\"a\"&time=2023-11-14T22:13:20.25Z"))
                .await
        ),
        r#"{"status":"success","data":{"resultType":"string","result":[1700000000.250,"a"]}}"#
    );
    assert_eq!(
        body(api.instant_query(&form("query=up&limit=1")).await),
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"a:1","job":"api"},"value":[1700000000,"1"]}]},"warnings":["results truncated due to limit"]}"#
    );
    // Annotations carry their position.
    assert_eq!(
        body(api.instant_query(&form("query=quantile(2, up)")).await),
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"+Inf"]}]},"warnings":["PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)"]}"#
    );
    let b = body(api.instant_query(&form("query=rate(up[5m])")).await);
    assert!(
        b.ends_with(r#""infos":["PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"up\" (1:6)"]}"#),
        "{b}"
    );
}

#[tokio::test]
async fn range_queries_do_not_align_start() {
    let api = api();
    let f = form(&format!(
        "query=http_requests_total&start={}&end={}&step=20",
        (NOW - 65_000) as f64 / 1000.0,
        NOW / 1000
    ));
    assert_eq!(
        body(api.range_query(&f).await),
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"http_requests_total","code":"200","job":"api"},"values":[[1699999955,"10"],[1699999975,"20"],[1699999995,"20"]]}]}}"#
    );
}

#[tokio::test]
async fn query_parameter_errors_come_in_prometheus_order_and_words() {
    let api = api();
    let range_cases = [
        (
            "query=up&start=1&end=0&step=1",
            "invalid parameter \"end\": end timestamp must not be before start time",
        ),
        (
            "query=up&start=0&end=1",
            "invalid parameter \"step\": cannot parse \"\" to a valid duration",
        ),
        (
            "query=up&start=0&end=1&step=0",
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ),
        (
            "query=up&start=0&end=1&step=-1s",
            "invalid parameter \"step\": cannot parse \"-1s\" to a valid duration",
        ),
        (
            "query=up&start=0&end=100000&step=1",
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ),
        (
            "query=up&start=x&end=1&step=1",
            "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp",
        ),
        (
            "query=up[5m]&start=0&end=1&step=1",
            "invalid parameter \"query\": invalid expression type \"range vector\" for range query, must be Scalar or instant Vector",
        ),
        (
            "query=up&start=0&end=1&step=1&timeout=x",
            "invalid parameter \"timeout\": cannot parse \"x\" to a valid duration",
        ),
        (
            "query=up&start=0&end=1&step=1&lookback_delta=x",
            "error parsing lookback delta duration: cannot parse \"x\" to a valid duration",
        ),
        (
            "query=sum(up&start=0&end=1&step=1",
            "invalid parameter \"query\": 1:7: parse error: unclosed left parenthesis",
        ),
    ];
    for (q, msg) in range_cases {
        let e = err(api.range_query(&form(q)).await);
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorType::BadData, msg),
            "{q}"
        );
    }
    let e = err(api.instant_query(&form("query=foo(")).await);
    assert_eq!(
        e.body(),
        r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"}"#
    );
    let e = err(api.instant_query(&form("query=")).await);
    assert_eq!(
        e.message,
        "invalid parameter \"query\": unknown position: parse error: no expression found in input"
    );
    let e = err(api.instant_query(&form("query=up&limit=x")).await);
    assert_eq!(
        e.message,
        "invalid parameter \"limit\": strconv.Atoi: parsing \"x\": invalid syntax"
    );
    // Execution errors are 422.
    let e = err(api
        .instant_query(&form(
            "query=label_replace(up{job=\"api\"}, \"instance\", \"x\", \"\", \"\")",
        ))
        .await);
    assert_eq!(e.kind, ErrorType::Execution, "{}", e.message);
    assert_eq!(e.kind.status().as_u16(), 422);
    assert_eq!(
        e.message,
        "vector cannot contain metrics with the same labelset"
    );
}

#[test]
fn targets_without_scraping_are_empty_lists() {
    let api = api();
    assert_eq!(
        body(api.targets(&form(""))),
        r#"{"status":"success","data":{"activeTargets":[],"droppedTargets":[],"droppedTargetCounts":{}}}"#
    );
    assert_eq!(
        body(api.targets(&form("state=active"))),
        r#"{"status":"success","data":{"activeTargets":[],"droppedTargets":[],"droppedTargetCounts":null}}"#
    );
    assert_eq!(
        body(api.metadata(&form(""))),
        r#"{"status":"success","data":{}}"#
    );
    assert_eq!(
        err(api.metadata(&form("limit=x"))).message,
        "limit must be a number"
    );
}

#[test]
fn targets_list_active_and_dropped_with_prometheus_fields() {
    use crate::scrape::{TargetHealth, TargetRegistry, TargetSpec};
    let registry = TargetRegistry::new();
    registry.set_pools(["self", "drop"]);
    let spec = TargetSpec {
        job: "self".into(),
        labels: Labels::from_pairs(&[("instance", "127.0.0.1:9090"), ("job", "self")]),
        discovered_labels: Labels::from_pairs(&[
            ("__address__", "127.0.0.1:9090"),
            ("__metrics_path__", "/metrics"),
            ("__scheme__", "http"),
            ("__scrape_interval__", "15s"),
            ("__scrape_timeout__", "10s"),
            ("job", "self"),
        ]),
        url: "http://127.0.0.1:9090/metrics".into(),
        interval: std::time::Duration::from_secs(15),
        timeout: std::time::Duration::from_secs(10),
    };
    let rec = registry.insert(
        ("self".into(), spec.hash()),
        crate::scrape::Target::new(&spec),
    );
    {
        let mut t = rec.write();
        t.health = TargetHealth::Down;
        t.last_error = "Get \"http://127.0.0.1:9090/metrics\": refused".into();
        t.last_scrape = Some(1_700_000_000_500);
        t.duration = std::time::Duration::from_micros(622);
    }
    registry.set_dropped(
        "drop",
        vec![Labels::from_pairs(&[
            ("__address__", "dropme:80"),
            ("job", "drop"),
        ])],
    );
    let api = Api::new(
        store(),
        ApiOptions {
            targets: Some(registry),
            external_host: "vm:9090".into(),
            listen_port: 9090,
            ..ApiOptions::default()
        },
    );
    assert_eq!(
        body(api.targets(&form(""))),
        concat!(
            r#"{"status":"success","data":{"activeTargets":[{"discoveredLabels":{"__address__":"127.0.0.1:9090","__metrics_path__":"/metrics","__scheme__":"http","__scrape_interval__":"15s","__scrape_timeout__":"10s","job":"self"},"#,
            r#""labels":{"instance":"127.0.0.1:9090","job":"self"},"scrapePool":"self","scrapeUrl":"http://127.0.0.1:9090/metrics","globalUrl":"http://vm:9090/metrics","#,
            r#""lastError":"Get \"http://127.0.0.1:9090/metrics\": refused","lastScrape":"2023-11-14T22:13:20.5Z","lastScrapeDuration":0.000622,"health":"down","scrapeInterval":"15s","scrapeTimeout":"10s"}],"#,
            r#""droppedTargets":[{"discoveredLabels":{"__address__":"dropme:80","job":"drop"},"scrapePool":"drop"}],"droppedTargetCounts":{"drop":1,"self":0}}}"#
        )
    );
    let b = body(api.targets(&form("scrapePool=drop&state=dropped")));
    assert!(
        b.contains(r#""activeTargets":[],"droppedTargets":[{"#),
        "{b}"
    );
}

#[test]
fn buildinfo_has_prometheus_keys() {
    let b = body(Ok(api().buildinfo()));
    assert!(
        b.starts_with(&format!(
            r#"{{"status":"success","data":{{"version":"3.5.0+kmon.{}","revision":"#,
            env!("CARGO_PKG_VERSION")
        )),
        "{b}"
    );
    for k in ["branch", "buildUser", "buildDate", "goVersion"] {
        assert!(b.contains(&format!("\"{k}\":")), "{b}");
    }
}

/// A store whose queriers take a second to open: long enough for any small timeout.
struct Slow(Arc<MemStorage>);

impl crate::storage::Queryable for Slow {
    fn querier(
        &self,
        mint: i64,
        maxt: i64,
    ) -> Result<Box<dyn crate::storage::Querier + '_>, crate::storage::StorageError> {
        std::thread::sleep(std::time::Duration::from_secs(1));
        self.0.querier(mint, maxt)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_past_its_timeout_answers_timeout_503() {
    let api = Api::with_clock(Arc::new(Slow(store())), ApiOptions::default(), || NOW);
    api.set_ready(true);
    let e = err(api.instant_query(&form("query=up&timeout=5ms")).await);
    assert_eq!(e.kind, ErrorType::Timeout, "{}", e.message);
    assert_eq!(e.kind.status().as_u16(), 503);
    assert!(
        e.message.starts_with("query timed out in "),
        "{}",
        e.message
    );
}

/// An admin seam that records its calls (the real one is the TSDB's `Db`).
#[derive(Default)]
struct Recorder {
    calls: parking_lot::Mutex<Vec<String>>,
}

impl crate::storage::Admin for Recorder {
    fn delete_series(
        &self,
        selectors: &[Vec<crate::model::Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Result<(), crate::storage::StorageError> {
        let sel: Vec<String> = selectors
            .iter()
            .map(|s| {
                s.iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        self.calls
            .lock()
            .push(format!("delete {} {mint} {maxt}", sel.join(" | ")));
        Ok(())
    }

    fn clean_tombstones(&self) -> Result<(), crate::storage::StorageError> {
        self.calls.lock().push("clean".into());
        Ok(())
    }

    fn snapshot(&self, skip_head: bool) -> Result<String, crate::storage::StorageError> {
        self.calls.lock().push(format!("snapshot {skip_head}"));
        Ok("20261121T161500Z-1a2b".into())
    }
}

fn admin_api(rec: &Arc<Recorder>) -> Api {
    let opts = ApiOptions {
        admin: Some(rec.clone()),
        ..ApiOptions::default()
    };
    let api = Api::with_clock(store(), opts, || NOW);
    api.set_ready(true);
    api
}

#[test]
fn admin_calls_are_refused_unless_enabled() {
    let api = api();
    for e in [
        api.delete_series(&form("match[]=up")).unwrap_err(),
        api.clean_tombstones().unwrap_err(),
        api.snapshot(&form("")).unwrap_err(),
    ] {
        assert_eq!(e.kind, ErrorType::Unavailable);
        assert_eq!(e.kind.status().as_u16(), 500);
        assert_eq!(
            e.body(),
            r#"{"status":"error","errorType":"unavailable","error":"admin APIs disabled"}"#
        );
    }
}

#[test]
fn delete_series_parses_selectors_and_times_as_prometheus() {
    let rec = Arc::new(Recorder::default());
    let api = admin_api(&rec);
    assert_eq!(
        api.delete_series(&form(
            "match[]=up{job=\"api\"}&match[]=http_requests_total&start=1&end=2.5"
        )),
        Ok(None)
    );
    assert_eq!(
        api.delete_series(&form("match[]=up")),
        Ok(None),
        "start and end default to all time"
    );
    let calls = rec.calls.lock().clone();
    assert_eq!(
        calls,
        [
            "delete __name__=\"up\",job=\"api\" | __name__=\"http_requests_total\" 1000 2500"
                .to_string(),
            format!(
                "delete __name__=\"up\" {} {}",
                super::params::MIN_TIME.from_time_ms(),
                super::params::MAX_TIME.from_time_ms()
            )
        ]
    );

    let e = api.delete_series(&form("")).unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorType::BadData, "no match[] parameter provided")
    );
    // The texts Prometheus 3.5.3 answers with (`curl -X POST .../delete_series?...`).
    let e = api.delete_series(&form("match[]=up&start=x")).unwrap_err();
    assert_eq!(e.kind, ErrorType::BadData);
    assert_eq!(
        e.message,
        "invalid parameter \"start\": invalid time value for 'start': cannot parse \"x\" to a valid timestamp"
    );
    let e = api.delete_series(&form("match[]=up{")).unwrap_err();
    assert_eq!(e.kind, ErrorType::BadData);
    assert_eq!(
        e.message,
        "invalid parameter \"match[]\": 1:4: parse error: unexpected end of input inside braces"
    );
    assert_eq!(rec.calls.lock().len(), 2, "nothing deleted on bad input");
    // Prometheus takes a selector that only matches empty values here.
    assert_eq!(api.delete_series(&form("match[]={a=\"\"}")), Ok(None));
    assert_eq!(
        rec.calls.lock().last().map(String::as_str),
        Some(
            format!(
                "delete a=\"\" {} {}",
                super::params::MIN_TIME.from_time_ms(),
                super::params::MAX_TIME.from_time_ms()
            )
            .as_str()
        )
    );
}

#[test]
fn snapshot_answers_the_name_and_reads_skip_head_as_go_does() {
    let rec = Arc::new(Recorder::default());
    let api = admin_api(&rec);
    let ok = api.snapshot(&form("")).unwrap().expect("data");
    assert_eq!(
        ok.body(),
        r#"{"status":"success","data":{"name":"20261121T161500Z-1a2b"}}"#
    );
    api.snapshot(&form("skip_head=T")).unwrap();
    api.snapshot(&form("skip_head=0")).unwrap();
    let e = api.snapshot(&form("skip_head=yes")).unwrap_err();
    assert_eq!(e.kind, ErrorType::BadData);
    assert_eq!(
        e.message,
        "invalid parameter \"skip_head\": unable to parse boolean: strconv.ParseBool: parsing \"yes\": invalid syntax"
    );
    assert_eq!(api.clean_tombstones(), Ok(None));
    assert_eq!(
        *rec.calls.lock(),
        ["snapshot false", "snapshot true", "snapshot false", "clean"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_take_post_and_put_and_answer_204_or_json() {
    let rec = Arc::new(Recorder::default());
    let api = admin_api(&rec);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(super::serve(listener, api, async {
        let _ = rx.await;
    }));
    let base = format!("http://{addr}/api/v1/admin/tsdb");
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{base}/delete_series"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("match[]=up&start=10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(r.text().await.unwrap(), "");
    let r = c
        .put(format!("{base}/clean_tombstones"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let r = c
        .put(format!("{base}/snapshot?skip_head=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"status":"success","data":{"name":"20261121T161500Z-1a2b"}}"#
    );
    let r = c.get(format!("{base}/snapshot")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405, "GET is not an admin method");
    assert_eq!(r.text().await.unwrap(), "Method Not Allowed\n");
    // Without --web.enable-admin-api: Prometheus 3.5's 500 and body.
    let off = Api::with_clock(store(), ApiOptions::default(), || NOW);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let off_addr = listener.local_addr().unwrap();
    let (off_tx, off_rx) = tokio::sync::oneshot::channel::<()>();
    let off_server = tokio::spawn(super::serve(listener, off, async {
        let _ = off_rx.await;
    }));
    let r = c
        .post(format!(
            "http://{off_addr}/api/v1/admin/tsdb/delete_series?match[]=up"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 500);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"status":"error","errorType":"unavailable","error":"admin APIs disabled"}"#
    );
    let _ = off_tx.send(());
    off_server.await.unwrap().unwrap();
    let calls = rec.calls.lock().clone();
    assert_eq!(
        calls[0],
        format!(
            "delete __name__=\"up\" 10000 {}",
            super::params::MAX_TIME.from_time_ms()
        )
    );
    assert_eq!(calls[1..], ["clean", "snapshot true"]);
    let _ = tx.send(());
    server.await.unwrap().unwrap();
}
