//! The runner with the real evaluator (`rules::eval::Group` through `eval_group`) on
//! hand-built rule specs: alert states at eval times, `keep_firing_for`, recording rules
//! seen by expression tests, and rule errors.

use std::path::{Path, PathBuf};

use super::backend::eval_group;
use super::runner::{Backend, GroupSettings, RunOptions, TestRuleGroup, run_file};
use crate::model::Labels;
use crate::rules::{GroupSpec, RuleKind, RuleSpec};

struct SpecBackend(Vec<GroupSpec>);

impl Backend for SpecBackend {
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, String> {
        let p = PathBuf::from(pattern);
        Ok(if p.is_file() { vec![p] } else { Vec::new() })
    }

    fn load_rule_file(&self, _path: &Path) -> Result<Vec<GroupSpec>, Vec<String>> {
        Ok(self.0.clone())
    }

    fn new_group(&self, spec: GroupSpec, settings: &GroupSettings) -> Box<dyn TestRuleGroup> {
        eval_group(spec, settings)
    }
}

fn spec(kind: RuleKind, expr: &str, labels: &[(&str, &str)]) -> RuleSpec {
    RuleSpec {
        kind,
        expr_text: expr.into(),
        expr: crate::promql::parse(expr).expect("expr parses"),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        line: 0,
    }
}

fn group(rules: Vec<RuleSpec>) -> GroupSpec {
    GroupSpec {
        file: "rules.yml".into(),
        name: "g".into(),
        interval: None,
        query_offset: None,
        limit: 0,
        labels: Labels::empty(),
        rules,
        line: 1,
    }
}

fn alert(name: &str, expr: &str, for_ms: i64, keep_ms: i64) -> RuleSpec {
    spec(
        RuleKind::Alerting {
            alert: name.into(),
            for_ms,
            keep_firing_for_ms: keep_ms,
            annotations: Vec::new(),
        },
        expr,
        &[("severity", "page")],
    )
}

fn run(rules: Vec<RuleSpec>, test: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("rules.yml"), "").expect("write");
    let f = dir.path().join("t.yml");
    std::fs::write(&f, format!("rule_files: [rules.yml]\n{test}")).expect("write");
    let be = SpecBackend(vec![group(rules)]);
    run_file(&f, &RunOptions::default(), &be, &mut Vec::new()).expect("runs")
}

#[test]
fn pending_alerts_do_not_count_firing_ones_do() {
    let rules = vec![alert("Down", "up == 0", 120_000, 0)];
    let test = "tests:\n  - input_series:\n      - series: 'up{job=\"a\"}'\n        values: '1 1 0 0 0 0 0'\n    alert_rule_test:\n      - eval_time: 3m\n        alertname: Down\n      - eval_time: 4m\n        alertname: Down\n        exp_alerts:\n          - exp_labels: {job: a, severity: page}\n";
    let errs = run(rules.clone(), test);
    assert!(errs.is_empty(), "{errs:#?}");
    let wrong = test.replace("eval_time: 4m", "eval_time: 3m30s");
    let errs = run(rules, &wrong);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].starts_with("    alertname: Down, time: 3m30s, \n        exp:[\n"),
        "{}",
        errs[0]
    );
    assert!(errs[0].ends_with("got:[]"), "{}", errs[0]);
}

#[test]
fn keep_firing_for_holds_the_alert() {
    let rules = vec![alert("Slow", "latency > 0.5", 0, 180_000)];
    let test = "tests:\n  - input_series:\n      - series: 'latency'\n        values: '1 1 0 0 0 0 0 0'\n    alert_rule_test:\n      - eval_time: 4m\n        alertname: Slow\n        exp_alerts:\n          - exp_labels: {severity: page}\n      - eval_time: 5m\n        alertname: Slow\n";
    let errs = run(rules, test);
    assert!(errs.is_empty(), "{errs:#?}");
}

#[test]
fn recording_results_are_queried_by_expression_tests() {
    let rules = vec![spec(
        RuleKind::Recording {
            record: "job:x:sum".into(),
        },
        "sum by (job) (x)",
        &[("kind", "sum")],
    )];
    let test = "tests:\n  - input_series:\n      - series: 'x{job=\"a\", i=\"1\"}'\n        values: '1+1x5'\n      - series: 'x{job=\"a\", i=\"2\"}'\n        values: '10x5'\n    promql_expr_test:\n      - expr: job:x:sum\n        eval_time: 2m\n        exp_samples:\n          - labels: 'job:x:sum{job=\"a\", kind=\"sum\"}'\n            value: 13\n      - expr: count_over_time(job:x:sum[10m])\n        eval_time: 3m\n        exp_samples:\n          - labels: '{job=\"a\", kind=\"sum\"}'\n            value: 4\n";
    let errs = run(rules, test);
    assert!(errs.is_empty(), "{errs:#?}");
}

#[test]
fn a_rule_error_ends_the_test_group() {
    let rules = vec![spec(
        RuleKind::Recording {
            record: "dup".into(),
        },
        "label_replace(x, \"i\", \"\", \"i\", \".*\")",
        &[],
    )];
    let test = "tests:\n  - input_series:\n      - series: 'x{i=\"1\"}'\n        values: '1 1 1'\n      - series: 'x{i=\"2\"}'\n        values: '_ 1 1'\n    promql_expr_test:\n      - expr: dup\n        eval_time: 2m\n";
    let errs = run(rules, test);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].starts_with("    rule: dup, time: 1m0s, err: "),
        "{}",
        errs[0]
    );
}
