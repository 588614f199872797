//! The JSON of `/api/v1/rules` and `/api/v1/alerts`, field by field as Prometheus 3.5
//! writes it, and the request filters and their errors.

use std::sync::Arc;

use super::*;
use crate::api::ApiOptions;
use crate::rules::{RuleHealth, RuleSpec};
use crate::storage::MemStorage;

struct Fixed(Vec<GroupStatus>);

impl RulesSource for Fixed {
    fn groups(&self) -> Vec<GroupStatus> {
        self.0.clone()
    }
}

fn spec(kind: RuleKind, expr: &str, labels: &[(&str, &str)]) -> RuleSpec {
    RuleSpec {
        kind,
        expr_text: expr.into(),
        expr: crate::promql::parse(expr).expect("test expression parses"),
        labels: labels
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        line: 0,
    }
}

fn alert(state: AlertState, value: f64, keep: Option<i64>, resolved: Option<i64>) -> Alert {
    Alert {
        labels: Labels::from_pairs(&[("alertname", "Down"), ("job", "a<b"), ("sev", "page")]),
        annotations: Labels::from_pairs(&[("summary", "job a is down")]),
        state,
        value,
        active_at: 1_700_000_000_500,
        fired_at: None,
        resolved_at: resolved,
        last_sent_at: None,
        valid_until: None,
        keep_firing_since: keep,
    }
}

fn fixture() -> Vec<GroupStatus> {
    let alerting = RuleStatus {
        spec: spec(
            RuleKind::Alerting {
                alert: "Down".into(),
                for_ms: 300_000,
                keep_firing_for_ms: 0,
                annotations: vec![("summary".into(), "{{ $labels.job }} is down".into())],
            },
            "up == 0",
            &[("sev", "page")],
        ),
        health: RuleHealth::Ok,
        last_error: None,
        last_evaluation: 1_700_000_001_000,
        evaluation_seconds: 0.0015,
        alerts: vec![
            alert(AlertState::Firing, 0.0, None, None),
            alert(AlertState::Inactive, 0.0, None, Some(1_700_000_001_000)),
        ],
    };
    let recording = RuleStatus {
        spec: spec(
            RuleKind::Recording {
                record: "job:up:sum".into(),
            },
            "sum by (job) (up)",
            &[],
        ),
        health: RuleHealth::Err,
        last_error: Some("exceeded limit of 1 with 2 series".into()),
        last_evaluation: 0,
        evaluation_seconds: 0.0,
        alerts: Vec::new(),
    };
    vec![
        GroupStatus {
            file: "/etc/rules.yml".into(),
            name: "g".into(),
            interval: 15_000,
            query_offset: 0,
            limit: 0,
            rules: vec![alerting, recording],
            last_evaluation: 1_700_000_001_000,
            evaluation_seconds: 0.25,
            load_error: None,
        },
        GroupStatus {
            file: "/etc/broken.yml".into(),
            name: String::new(),
            interval: 60_000,
            query_offset: 0,
            limit: 0,
            rules: Vec::new(),
            last_evaluation: 0,
            evaluation_seconds: 0.0,
            load_error: Some("broken".into()),
        },
    ]
}

fn api(groups: Vec<GroupStatus>) -> Api {
    Api::new(
        Arc::new(MemStorage::new()),
        ApiOptions {
            rules: Some(Arc::new(Fixed(groups))),
            ..ApiOptions::default()
        },
    )
}

fn rules(q: &str) -> String {
    match api(fixture()).rules(&Form::new(Some(q), None)) {
        Ok(s) => s.body(),
        Err(e) => e.body(),
    }
}

const ALERT_JSON: &str = concat!(
    r#"{"labels":{"alertname":"Down","job":"a\u003cb","sev":"page"},"#,
    r#""annotations":{"summary":"job a is down"},"state":"firing","#,
    r#""activeAt":"2023-11-14T22:13:20.5Z","value":"0e+00"}"#
);

const ALERTING_RULE: &str = concat!(
    r#"{"state":"firing","name":"Down","query":"up == 0","duration":300,"keepFiringFor":0,"#,
    r#""labels":{"sev":"page"},"annotations":{"summary":"{{ $labels.job }} is down"},"#,
);

const ALERTING_RULE_TAIL: &str = concat!(
    r#","health":"ok","evaluationTime":0.0015,"#,
    r#""lastEvaluation":"2023-11-14T22:13:21Z","type":"alerting"}"#
);

const RECORDING_RULE: &str = concat!(
    r#"{"name":"job:up:sum","query":"sum by (job) (up)","labels":{},"health":"err","#,
    r#""lastError":"exceeded limit of 1 with 2 series","evaluationTime":0,"#,
    r#""lastEvaluation":"0001-01-01T00:00:00Z","type":"recording"}"#
);

fn group_json(rules: &str) -> String {
    format!(
        concat!(
            r#"{{"name":"g","file":"/etc/rules.yml","rules":[{}],"interval":15,"limit":0,"#,
            r#""evaluationTime":0.25,"lastEvaluation":"2023-11-14T22:13:21Z"}}"#
        ),
        rules
    )
}

fn success(data: &str) -> String {
    format!(r#"{{"status":"success","data":{data}}}"#)
}

#[test]
fn rules_json_has_prometheus_fields_in_order() {
    let alerting = format!("{ALERTING_RULE}\"alerts\":[{ALERT_JSON}]{ALERTING_RULE_TAIL}");
    let want = success(&format!(
        r#"{{"groups":[{}]}}"#,
        group_json(&format!("{alerting},{RECORDING_RULE}"))
    ));
    assert_eq!(rules(""), want);
}

#[test]
fn rules_filters() {
    let alerting = format!("{ALERTING_RULE}\"alerts\":[{ALERT_JSON}]{ALERTING_RULE_TAIL}");
    let only_alerting = success(&format!(r#"{{"groups":[{}]}}"#, group_json(&alerting)));
    assert_eq!(rules("type=alert"), only_alerting);
    assert_eq!(rules("type=ALERT"), only_alerting);
    assert_eq!(rules("rule_name[]=Down"), only_alerting);
    assert_eq!(rules("match[]={sev=\"page\"}"), only_alerting);
    let only_recording = success(&format!(r#"{{"groups":[{}]}}"#, group_json(RECORDING_RULE)));
    assert_eq!(rules("type=record"), only_recording);
    let empty = success(r#"{"groups":[]}"#);
    assert_eq!(rules("rule_group[]=other"), empty);
    assert_eq!(rules("file[]=/other.yml"), empty);
    assert_eq!(
        rules("rule_group[]=g&file[]=/etc/rules.yml&rule_name[]=x"),
        empty
    );
    let excluded = format!("{ALERTING_RULE}\"alerts\":null{ALERTING_RULE_TAIL}");
    assert_eq!(
        rules("exclude_alerts=true&type=alert"),
        success(&format!(r#"{{"groups":[{}]}}"#, group_json(&excluded)))
    );
}

#[test]
fn rules_parameter_errors() {
    assert_eq!(
        rules("type=foo"),
        r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"type\": not supported value \"foo\""}"#
    );
    assert_eq!(
        rules("exclude_alerts=maybe"),
        r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"exclude_alerts\": error converting exclude_alerts: strconv.ParseBool: parsing \"maybe\": invalid syntax"}"#
    );
    assert!(
        rules("match[]={x=\"\"}").contains("match[] must contain at least one non-empty matcher")
    );
}

#[test]
fn alerts_lists_active_alerts_only() {
    let body = api(fixture()).alerts().body();
    assert_eq!(body, success(&format!(r#"{{"alerts":[{ALERT_JSON}]}}"#)));
    let none = Api::new(Arc::new(MemStorage::new()), ApiOptions::default());
    assert_eq!(none.alerts().body(), success(r#"{"alerts":[]}"#));
    assert_eq!(
        none.rules(&Form::new(None, None)).map(|s| s.body()),
        Ok(success(r#"{"groups":[]}"#))
    );
}

#[test]
fn keep_firing_since_and_values_are_go_formatted() {
    let mut d = String::new();
    push_alert(
        &mut d,
        &alert(AlertState::Firing, 42.5, Some(1_700_000_002_000), None),
    );
    assert!(d.contains(r#""keepFiringSince":"2023-11-14T22:13:22Z","value":"4.25e+01"}"#));
    assert_eq!(crate::model::format_go_float_exp(1.0, false), "1e+00");
    assert_eq!(crate::model::format_go_float_exp(0.001, false), "1e-03");
    assert_eq!(
        crate::model::format_go_float_exp(-123456.0, false),
        "-1.23456e+05"
    );
    assert_eq!(crate::model::format_go_float_exp(1e100, false), "1e+100");
    assert_eq!(crate::model::format_go_float_exp(f64::NAN, false), "NaN");
    assert_eq!(
        crate::model::format_go_float_exp(f64::NEG_INFINITY, false),
        "-Inf"
    );
}
