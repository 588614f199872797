//! Golden answers as Prometheus 3.5 writes them, read into kmon's types.

use super::*;

fn data(body: &str) -> Result<Answer<Json>, AnswerError> {
    envelope(200, body.as_bytes())
}

#[test]
fn matrix_values_are_strings_with_nan_and_infinities() {
    let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"__name__":"up","job":"a"},"values":[[1700000000,"1"],[1700000015.5,"NaN"],
         [1700000030,"+Inf"],[1700000045,"-Inf"],[1700000060,"1e-07"]]},
        {"metric":{},"values":[[1,"2"]],"histograms":[[2,{"count":"1"}]]}]}}"#;
    let a = data(body).unwrap();
    assert!(a.warnings.is_empty());
    let QueryData::Matrix(m) = query_data(&a.data).unwrap() else {
        panic!("not a matrix")
    };
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].labels.get("job"), Some("a"));
    let p = &m[0].points;
    assert_eq!(p[0], (1_700_000_000_000, 1.0));
    assert_eq!(p[1].0, 1_700_000_015_500);
    assert!(p[1].1.is_nan());
    assert_eq!(p[2].1, f64::INFINITY);
    assert_eq!(p[3].1, f64::NEG_INFINITY);
    assert_eq!(p[4].1, 1e-7);
    assert_eq!(m[1].labels, Labels::empty());
    assert_eq!(m[1].points, [(1000, 2.0)]);
}

#[test]
fn vectors_scalars_and_strings() {
    let v = data(
        r#"{"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"__name__":"x","i":"1"},"value":[1700000000.123,"42"]}]}}"#,
    )
    .unwrap();
    assert_eq!(
        query_data(&v.data).unwrap(),
        QueryData::Vector(vec![InstantSample {
            labels: Labels::from_pairs(&[("__name__", "x"), ("i", "1")]),
            t_ms: 1_700_000_000_123,
            value: 42.0,
        }])
    );
    let s =
        data(r#"{"status":"success","data":{"resultType":"scalar","result":[10,"3.5"]}}"#).unwrap();
    assert_eq!(query_data(&s.data).unwrap(), QueryData::Scalar(10_000, 3.5));
    let s =
        data(r#"{"status":"success","data":{"resultType":"string","result":[10,"hi"]}}"#).unwrap();
    assert_eq!(
        query_data(&s.data).unwrap(),
        QueryData::String(10_000, "hi".into())
    );
    let bad = data(r#"{"status":"success","data":{"resultType":"blob","result":[]}}"#).unwrap();
    assert!(matches!(
        query_data(&bad.data),
        Err(AnswerError::Malformed(_))
    ));
}

#[test]
fn warnings_and_infos_are_kept() {
    let a = data(
        r#"{"status":"success","data":{"resultType":"vector","result":[]},
        "warnings":["PromQL warning: encountered a mix"],"infos":["PromQL info: x"]}"#,
    )
    .unwrap();
    assert_eq!(a.warnings, ["PromQL warning: encountered a mix"]);
    assert_eq!(a.infos, ["PromQL info: x"]);
}

#[test]
fn errors_carry_the_error_type_and_non_json_the_status() {
    let e = envelope(
        400,
        br#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}"#,
    )
    .unwrap_err();
    assert_eq!(
        e,
        AnswerError::Api {
            error_type: "bad_data".into(),
            message: "1:5: parse error: unexpected end of input".into()
        }
    );
    let e = envelope(404, b"404 page not found\n").unwrap_err();
    assert_eq!(
        e,
        AnswerError::Malformed("HTTP 404: 404 page not found".into())
    );
    assert!(matches!(
        envelope(200, b"{}").unwrap_err(),
        AnswerError::Malformed(_)
    ));
}

#[test]
fn targets_active_and_dropped() {
    let body = r#"{"status":"success","data":{"activeTargets":[{
        "discoveredLabels":{"__address__":"127.0.0.1:9100","job":"node"},
        "labels":{"instance":"127.0.0.1:9100","job":"node"},
        "scrapePool":"node","scrapeUrl":"http://127.0.0.1:9100/metrics","globalUrl":"x",
        "lastError":"","lastScrape":"2023-11-14T22:13:20.5Z","lastScrapeDuration":0.0123,
        "health":"up","scrapeInterval":"15s","scrapeTimeout":"10s"},
        {"discoveredLabels":{},"labels":{"job":"b"},"scrapePool":"b","scrapeUrl":"http://b/",
        "lastError":"connection refused","lastScrape":"0001-01-01T00:00:00Z",
        "lastScrapeDuration":0,"health":"unknown","scrapeInterval":"1m"}],
        "droppedTargets":[{"discoveredLabels":{"__address__":"x:1","job":"node"}}],
        "droppedTargetCounts":{"node":1}}}"#;
    let t = targets(&data(body).unwrap().data).unwrap();
    assert_eq!(t.active.len(), 2);
    let a = &t.active[0];
    assert_eq!(a.pool, "node");
    assert_eq!(a.health, "up");
    assert_eq!(a.last_scrape_ms, Some(1_700_000_000_500));
    assert_eq!(a.interval_secs, 15.0);
    assert_eq!(
        a.discovered_labels.get("__address__"),
        Some("127.0.0.1:9100")
    );
    assert_eq!(t.active[1].last_scrape_ms, None);
    assert_eq!(t.active[1].last_error, "connection refused");
    assert_eq!(t.dropped[0].0, "node");
    assert_eq!(t.dropped_counts.get("node"), Some(&1));
}

#[test]
fn rules_and_alerts() {
    let body = r#"{"status":"success","data":{"groups":[{"name":"g","file":"/r.yml",
        "interval":15,"limit":0,"evaluationTime":0.001,"lastEvaluation":"2023-11-14T22:13:20Z",
        "rules":[{"state":"firing","name":"HighCpu","query":"cpu > 90","duration":300,
        "keepFiringFor":0,"labels":{"severity":"page"},"annotations":{"summary":"hot"},
        "alerts":[{"labels":{"alertname":"HighCpu","severity":"page"},"annotations":{"summary":"hot"},
        "state":"firing","activeAt":"2023-11-14T22:13:20Z","value":"9.5e+01"}],
        "health":"ok","evaluationTime":0.0005,"lastEvaluation":"2023-11-14T22:13:20Z","type":"alerting"},
        {"name":"job:up:sum","query":"sum(up)","health":"err","lastError":"boom",
        "evaluationTime":0,"lastEvaluation":"0001-01-01T00:00:00Z","type":"recording"}]}]}}"#;
    let g = rule_groups(&data(body).unwrap().data).unwrap();
    assert_eq!(g[0].interval_secs, 15.0);
    let r = &g[0].rules;
    assert_eq!(
        (r[0].kind.as_str(), r[0].duration_secs),
        ("alerting", 300.0)
    );
    assert_eq!(r[0].alerts[0].value, 95.0);
    assert_eq!(r[0].alerts[0].active_at_ms, Some(1_700_000_000_000));
    assert_eq!(
        (r[1].health.as_str(), r[1].last_error.as_str()),
        ("err", "boom")
    );
    assert_eq!(r[1].last_evaluation_ms, None);
    let a = alerts(
        &data(
            r#"{"status":"success","data":{"alerts":[{"labels":{"alertname":"A"},
        "annotations":{},"state":"pending","activeAt":"2023-11-14T22:13:20Z","value":"NaN"}]}}"#,
        )
        .unwrap()
        .data,
    )
    .unwrap();
    assert_eq!(a[0].state, "pending");
    assert!(a[0].value.is_nan());
}

#[test]
fn labels_series_metadata_and_buildinfo() {
    let l = data(r#"{"status":"success","data":["__name__","job"]}"#).unwrap();
    assert_eq!(string_list(&l.data).unwrap(), ["__name__", "job"]);
    let s = data(r#"{"status":"success","data":[{"__name__":"up","job":"a"}]}"#).unwrap();
    assert_eq!(series_list(&s.data).unwrap()[0].metric_name(), "up");
    let m = data(r#"{"status":"success","data":{"up":[{"type":"gauge","help":"Up.","unit":""}]}}"#)
        .unwrap();
    assert_eq!(metadata(&m.data).unwrap()["up"].kind, "gauge");
    let b = data(r#"{"status":"success","data":{"version":"3.5.0","revision":"abc"}}"#).unwrap();
    assert_eq!(build_info(&b.data).unwrap().version, "3.5.0");
    assert!(string_list(&Json::Null).is_err());
    assert!(targets(&Json::Null).is_err());
}
