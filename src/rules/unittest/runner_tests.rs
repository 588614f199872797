//! The runner against a fake backend: a tiny evaluator whose alerting rules fire at once for
//! every result of their expression and whose recording rules append their results.

use std::path::{Path, PathBuf};

use super::runner::{Backend, GroupSettings, RunOptions, TestRuleGroup, run_file, run_files};
use crate::model::{Label, Labels};
use crate::promql::{Cancel, Value};
use crate::rules::{
    Alert, AlertState, GroupSpec, GroupStatus, RuleHealth, RuleKind, RuleSpec, RuleStatus,
};
use crate::storage::{Appendable, Queryable};

struct FakeGroup {
    spec: GroupSpec,
    engine: crate::promql::Engine,
    status: Vec<RuleStatus>,
}

impl TestRuleGroup for FakeGroup {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn eval(&mut self, q: &dyn Queryable, a: &dyn Appendable, ts: i64) {
        self.status.clear();
        for r in &self.spec.rules {
            let mut st = RuleStatus {
                spec: r.clone(),
                health: RuleHealth::Ok,
                last_error: None,
                last_evaluation: ts,
                evaluation_seconds: 0.0,
                alerts: Vec::new(),
            };
            match self.engine.instant(q, &r.expr, ts, &Cancel::new()) {
                Ok(res) => {
                    let Value::Vector(v) = res.value else {
                        continue;
                    };
                    let mut app = a.appender();
                    for s in v {
                        let mut pairs: Vec<Label> = s.metric.to_vec();
                        match &r.kind {
                            RuleKind::Recording { record } => {
                                pairs.push(Label::new("__name__", record.as_str()));
                                let l = Labels::new(pairs);
                                app.append(None, &l, ts, s.f).expect("append");
                            }
                            RuleKind::Alerting { alert, .. } => {
                                pairs.retain(|l| &*l.name != "__name__");
                                pairs.push(Label::new("alertname", alert.as_str()));
                                st.alerts.push(Alert {
                                    labels: Labels::new(pairs),
                                    annotations: Labels::from_pairs(&[("v", s.f.to_string())]),
                                    state: AlertState::Firing,
                                    value: s.f,
                                    active_at: ts,
                                    fired_at: Some(ts),
                                    resolved_at: None,
                                    last_sent_at: None,
                                    valid_until: None,
                                    keep_firing_since: None,
                                });
                            }
                        }
                    }
                    app.commit().expect("commit");
                }
                Err(e) => {
                    st.health = RuleHealth::Err;
                    st.last_error = Some(e.to_string());
                }
            }
            self.status.push(st);
        }
    }

    fn status(&self) -> GroupStatus {
        GroupStatus {
            file: self.spec.file.clone(),
            name: self.spec.name.clone(),
            interval: 0,
            query_offset: 0,
            limit: 0,
            rules: self.status.clone(),
            last_evaluation: 0,
            evaluation_seconds: 0.0,
            load_error: None,
        }
    }
}

struct FakeBackend {
    groups: Vec<GroupSpec>,
}

impl Backend for FakeBackend {
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, String> {
        let p = PathBuf::from(pattern);
        Ok(if p.is_file() { vec![p] } else { Vec::new() })
    }

    fn load_rule_file(&self, path: &Path) -> Result<Vec<GroupSpec>, Vec<String>> {
        if path.ends_with("bad.yml") {
            return Err(vec!["bad.yml: broken".into()]);
        }
        Ok(self.groups.clone())
    }

    fn new_group(&self, spec: GroupSpec, settings: &GroupSettings) -> Box<dyn TestRuleGroup> {
        Box::new(FakeGroup {
            spec,
            engine: settings.engine.clone(),
            status: Vec::new(),
        })
    }
}

fn rule(kind: RuleKind, expr: &str) -> RuleSpec {
    RuleSpec {
        kind,
        expr_text: expr.into(),
        expr: crate::promql::parse(expr).expect("expr parses"),
        labels: Vec::new(),
        line: 0,
    }
}

fn alerting(name: &str, expr: &str) -> RuleSpec {
    rule(
        RuleKind::Alerting {
            alert: name.into(),
            for_ms: 0,
            keep_firing_for_ms: 0,
            annotations: Vec::new(),
        },
        expr,
    )
}

fn backend() -> FakeBackend {
    FakeBackend {
        groups: vec![GroupSpec {
            file: "rules.yml".into(),
            name: "g".into(),
            interval: None,
            query_offset: None,
            limit: 0,
            labels: Labels::empty(),
            rules: vec![
                rule(
                    RuleKind::Recording {
                        record: "job:up:sum".into(),
                    },
                    "sum by (job) (up)",
                ),
                alerting("Down", "up == 0"),
            ],
            line: 1,
        }],
    }
}

/// Writes the test file (and an empty rules.yml beside it) and runs it.
fn run(test: &str, opts: &RunOptions) -> (Vec<String>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("rules.yml"), "").expect("write");
    std::fs::write(dir.path().join("bad.yml"), "").expect("write");
    let f = dir.path().join("t.yml");
    std::fs::write(&f, test).expect("write");
    let mut warn = Vec::new();
    let errs = run_file(&f, opts, &backend(), &mut warn).expect("runs");
    (errs, String::from_utf8_lossy(&warn).into_owned())
}

const PASSING: &str = r#"
rule_files: [rules.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="a", instance="x"}'
        values: '1 1 0 0'
    alert_rule_test:
      - eval_time: 1m
        alertname: Down
      - eval_time: 150s
        alertname: Down
        exp_alerts:
          - exp_labels: {job: a, instance: x}
            exp_annotations: {v: "0"}
    promql_expr_test:
      - expr: job:up:sum
        eval_time: 1m
        exp_samples:
          - labels: 'job:up:sum{job="a"}'
            value: 1
      - expr: 1 + 2
        eval_time: 0s
        exp_samples:
          - labels: '{}'
            value: 3
"#;

#[test]
fn a_passing_file_has_no_failures() {
    let (errs, warn) = run(PASSING, &RunOptions::default());
    assert!(errs.is_empty(), "{errs:#?}");
    assert!(warn.is_empty());
}

#[test]
fn failures_read_like_promtools() {
    let t = PASSING
        .replace(
            "eval_time: 1m\n        alertname: Down",
            "eval_time: 3m\n        alertname: Down",
        )
        .replace("value: 1\n", "value: 2\n")
        .replace("interval: 1m\n", "interval: 1m\n    name: named\n");
    let (errs, _) = run(&t, &RunOptions::default());
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!(
        errs[0],
        "    name: named,\n    alertname: Down, time: 3m, \n        exp:[], \n        got:[\n            0:\n              Labels:{alertname=\"Down\", instance=\"x\", job=\"a\"}\n              Annotations:{v=\"0\"}\n            ]"
    );
    assert_eq!(
        errs[1],
        "    expr: \"job:up:sum\", time: 1m,\n        exp: {__name__=\"job:up:sum\", job=\"a\"} 2E+00\n        got: {__name__=\"job:up:sum\", job=\"a\"} 1E+00"
    );
}

#[test]
fn the_run_filter_and_file_level_errors() {
    let t = PASSING.replace("value: 1\n", "value: 2\n");
    let only = RunOptions::with_run(&["^nomatch$".into()]).expect("regex");
    assert!(run(&t, &only).0.is_empty());
    let (errs, warn) = run(
        &t.replace("[rules.yml]", "[rules.yml, 'none*.yml']"),
        &RunOptions::default(),
    );
    assert_eq!(errs.len(), 1);
    assert!(
        warn.starts_with("  WARNING: no file match pattern "),
        "{warn}"
    );
    assert!(warn.trim_end().ends_with("none*.yml"), "{warn}");
    let (errs, _) = run(
        &t.replace("[rules.yml]", "[bad.yml]"),
        &RunOptions::default(),
    );
    assert_eq!(errs, vec!["bad.yml: broken"]);
    let (errs, _) = run("group_eval_order: [a, a]\n", &RunOptions::default());
    assert_eq!(errs, vec!["group name repeated in evaluation order: a"]);
    let (errs, _) = run(
        "tests:\n  - name: n\n    alert_rule_test:\n      - eval_time: 2m\n",
        &RunOptions::default(),
    );
    assert_eq!(
        errs,
        vec![
            "an item under alert_rule_test misses required attribute alertname at eval_time 2m (in TestGroup n)"
        ]
    );
    let (errs, _) = run(
        "tests:\n  - input_series:\n      - series: 'x{'\n",
        &RunOptions::default(),
    );
    assert!(errs[0].starts_with("input_series[0]"), "{errs:?}");
}

#[test]
fn expression_errors_and_bad_expected_labels() {
    let t = "tests:\n  - promql_expr_test:\n      - expr: 'up +'\n        eval_time: 1m\n      - expr: up\n        exp_samples:\n          - labels: 'up{'\n      - expr: '\"s\"'\n";
    let (errs, _) = run(t, &RunOptions::default());
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(
        errs[0].starts_with("    expr: \"up +\", time: 1m, err: "),
        "{}",
        errs[0]
    );
    assert!(
        errs[1].starts_with("    expr: \"up\", time: 0s, err: labels \"up{\": "),
        "{}",
        errs[1]
    );
    assert_eq!(
        errs[2],
        "    expr: \"\\\"s\\\"\", time: 0s, err: rule result is not a vector or scalar"
    );
}

#[test]
fn rule_errors_stop_the_test_group() {
    let t = "rule_files: [rules.yml]\ntests:\n  - input_series:\n      - series: 'up{job=\"a\"}'\n        values: '1 1 1'\n      - series: 'up{job=\"b\"}'\n        values: '1 1 1'\n    promql_expr_test:\n      - expr: up\n        eval_time: 2m\n";
    let be = FakeBackend {
        groups: vec![GroupSpec {
            rules: vec![alerting(
                "Dup",
                "label_replace(up, \"job\", \"x\", \"job\", \".*\")",
            )],
            ..backend().groups[0].clone()
        }],
    };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("rules.yml"), "").expect("write");
    let f = dir.path().join("t.yml");
    std::fs::write(&f, t).expect("write");
    let errs = run_file(&f, &RunOptions::default(), &be, &mut Vec::new()).expect("runs");
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].starts_with("    rule: Dup, time: 0s, err: "),
        "{}",
        errs[0]
    );
}

#[test]
fn fuzzy_compare_allows_one_ulp() {
    let t = "fuzzy_compare: true\ntests:\n  - promql_expr_test:\n      - expr: 0.1 + 0.2\n        exp_samples:\n          - labels: '{}'\n            value: 0.30000000000000004\n      - expr: 0.1 + 0.2\n        exp_samples:\n          - labels: '{}'\n            value: 0.3\n";
    assert!(run(t, &RunOptions::default()).0.is_empty());
    let strict = t.replace("fuzzy_compare: true\n", "");
    let (errs, _) = run(&strict, &RunOptions::default());
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].contains("exp: {} 3E-01\n        got: {} 3.0000000000000004E-01"),
        "{}",
        errs[0]
    );
}

#[test]
fn run_files_writes_promtools_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("rules.yml"), "").expect("write");
    let good = dir.path().join("good.yml");
    std::fs::write(&good, PASSING).expect("write");
    let bad = dir.path().join("bad_test.yml");
    std::fs::write(&bad, PASSING.replace("value: 3", "value: 4")).expect("write");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let ok = run_files(
        &[good, bad],
        &RunOptions::default(),
        &backend(),
        &mut out,
        &mut err,
    )
    .expect("writes");
    assert!(!ok);
    assert_eq!(String::from_utf8_lossy(&out), "  SUCCESS\n\n\n\n");
    let err = String::from_utf8_lossy(&err);
    assert!(
        err.starts_with("  FAILED:\n    expr: \"1 + 2\", time: 0s,\n"),
        "{err}"
    );
}
