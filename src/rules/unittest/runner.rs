//! Runs one unit-test file as promtool 3.5's `test rules` does: the rule files resolved
//! against the test file's directory and globbed, then per test group a fresh in-memory
//! storage, every group evaluated at 0, interval, 2·interval, … up to the largest
//! `eval_time` (in `group_eval_order`), the input samples appended up to each time just
//! before it, firing alerts compared at the evaluation whose slot holds each alert test's
//! `eval_time`, and the expression tests queried at the end. Failures are returned as
//! promtool's texts (see `report`).
//!
//! The rule groups come through the `Backend` seam: `app` plugs in the rule-file loader and
//! the evaluator (`rules::eval::Group`); the tests plug in fakes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::model::{Labels, format_duration};
use crate::promql::promqltest::parse_series_desc;
use crate::promql::{Cancel, Engine, EngineOptions, Value};
use crate::rules::{AlertState, GroupSpec, GroupStatus, RuleKind};
use crate::storage::{Appendable, MemStorage, Queryable};

use super::format::{DEFAULT_EVALUATION_INTERVAL, TestGroup, parse_test_file};
use super::input::Inputs;
use super::report::{
    AlertItem, ParsedSample, fmt_alerts, fmt_samples, go_duration, go_quote, indent_lines, pairs_of,
};

/// One rule group being evaluated for a test.
pub trait TestRuleGroup {
    /// The group's name (`group_eval_order` names groups).
    fn name(&self) -> &str;
    /// One evaluation at `ts` (ms): queries read `q`, results go to `a`.
    fn eval(&mut self, q: &dyn Queryable, a: &dyn Appendable, ts: i64);
    /// The rules' health, last errors and active alerts after the last evaluation.
    fn status(&self) -> GroupStatus;
}

/// What a test group's rule groups are evaluated with.
#[derive(Debug, Clone)]
pub struct GroupSettings {
    /// The query engine of promtool's lazy loader (10,000 samples, 100s, subqueries
    /// without a step at the evaluation interval).
    pub engine: Engine,
    pub external_labels: Labels,
    pub external_url: String,
    /// The test group's `interval`: the interval of groups that set none (ms).
    pub default_interval: i64,
}

/// Where rule files and rule evaluation come from.
pub trait Backend {
    /// The files `pattern` matches (Go's `filepath.Glob`), sorted.
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, String>;
    /// Loads one rule file; the errors are the texts to report.
    fn load_rule_file(&self, path: &Path) -> Result<Vec<GroupSpec>, Vec<String>>;
    /// A group ready to evaluate. Its alerting rules count as restored (they write ALERTS
    /// from the first evaluation on), as promtool marks them.
    fn new_group(&self, spec: GroupSpec, settings: &GroupSettings) -> Box<dyn TestRuleGroup>;
}

/// `--run`: only test groups whose name matches one of these (unanchored) regexes run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub run: Option<regex::Regex>,
}

impl RunOptions {
    /// The filter from `--run` values, joined with `|` as promtool does.
    pub fn with_run(patterns: &[String]) -> Result<RunOptions, regex::Error> {
        if patterns.is_empty() {
            return Ok(RunOptions::default());
        }
        Ok(RunOptions {
            run: Some(regex::Regex::new(&patterns.join("|"))?),
        })
    }

    fn matches(&self, name: &str) -> bool {
        self.run.as_ref().is_none_or(|r| r.is_match(name))
    }
}

/// Runs every file and writes promtool's output: per file `  SUCCESS` on `out`, or
/// `  FAILED:` and each failure on `err` (with a blank line on `out` after each), then a
/// blank line on `out`. Warnings about patterns that match no file go to `err`. Returns
/// whether every file passed.
pub fn run_files(
    files: &[PathBuf],
    opts: &RunOptions,
    backend: &dyn Backend,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<bool> {
    let mut ok = true;
    for f in files {
        let errs = run_file(f, opts, backend, err)?;
        if errs.is_empty() {
            writeln!(out, "  SUCCESS")?;
        } else {
            ok = false;
            writeln!(err, "  FAILED:")?;
            for e in &errs {
                writeln!(err, "{e}")?;
                writeln!(out)?;
            }
        }
        writeln!(out)?;
    }
    Ok(ok)
}

/// Runs one file; the failures, empty when it passed. `warn` gets the no-match warnings.
pub fn run_file(
    path: &Path,
    opts: &RunOptions,
    backend: &dyn Backend,
    warn: &mut dyn Write,
) -> std::io::Result<Vec<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Ok(vec![format!("open {}: {e}", path.display())]),
    };
    let file = match parse_test_file(&text) {
        Ok(f) => f,
        Err(e) => return Ok(vec![e]),
    };
    let base = path.parent().unwrap_or(Path::new(""));
    let mut rule_files = Vec::new();
    for rf in &file.rule_files {
        let pattern = if rf.is_empty() || Path::new(rf).is_absolute() {
            rf.clone()
        } else {
            base.join(rf).to_string_lossy().into_owned()
        };
        match backend.glob(&pattern) {
            Ok(m) if m.is_empty() => writeln!(warn, "  WARNING: no file match pattern {pattern}")?,
            Ok(m) => rule_files.extend(m),
            Err(e) => return Ok(vec![e]),
        }
    }
    let eval_interval = if file.evaluation_interval == 0 {
        DEFAULT_EVALUATION_INTERVAL
    } else {
        file.evaluation_interval
    };
    let mut order: Vec<&str> = Vec::new();
    for g in &file.group_eval_order {
        if order.contains(&g.as_str()) {
            return Ok(vec![format!(
                "group name repeated in evaluation order: {g}"
            )]);
        }
        order.push(g);
    }
    let ctx = FileCtx {
        eval_interval,
        order: &order,
        fuzzy: file.fuzzy_compare,
        rule_files: &rule_files,
        backend,
    };
    let mut errs = Vec::new();
    for tg in &file.tests {
        if !opts.matches(&tg.name) {
            continue;
        }
        let mut tg = tg.clone();
        if tg.interval == 0 {
            tg.interval = eval_interval;
        }
        errs.extend(ctx.test(&tg));
    }
    Ok(errs)
}

struct FileCtx<'a> {
    eval_interval: i64,
    order: &'a [&'a str],
    fuzzy: bool,
    rule_files: &'a [PathBuf],
    backend: &'a dyn Backend,
}

/// promtool's lazy loader engine.
pub fn test_engine(eval_interval: i64) -> Engine {
    Engine::new(EngineOptions {
        max_samples: 10_000,
        timeout: Duration::from_secs(100),
        default_subquery_step: eval_interval,
        ..EngineOptions::default()
    })
}

fn model_duration(ms: i64) -> String {
    format_duration(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

impl FileCtx<'_> {
    fn floats_equal(&self, a: f64, b: f64) -> bool {
        a == b
            || (self.fuzzy
                && (next_toward(a, f64::NEG_INFINITY) == b || next_toward(a, f64::INFINITY) == b))
    }

    fn test(&self, tg: &TestGroup) -> Vec<String> {
        let mut inputs = match Inputs::parse(&tg.input_series, tg.interval) {
            Ok(i) => i,
            Err(e) => return vec![e],
        };
        let settings = GroupSettings {
            engine: test_engine(self.eval_interval),
            external_labels: tg.external_labels.clone(),
            external_url: tg.external_url.clone(),
            default_interval: tg.interval,
        };
        let mut specs = Vec::new();
        for f in self.rule_files {
            match self.backend.load_rule_file(f) {
                Ok(g) => specs.extend(g),
                Err(e) => return e,
            }
        }
        // A stable sort by position in `group_eval_order`; unlisted groups count as 0.
        specs.sort_by_key(|g| self.order.iter().position(|o| *o == g.name).unwrap_or(0));
        let mut groups: Vec<Box<dyn TestRuleGroup>> = specs
            .into_iter()
            .map(|s| self.backend.new_group(s, &settings))
            .collect();

        let mut alert_times: Vec<i64> = Vec::new();
        for a in &tg.alert_rule_tests {
            if a.alertname.is_empty() {
                let within = if tg.name.is_empty() {
                    String::new()
                } else {
                    format!(" (in TestGroup {})", tg.name)
                };
                return vec![format!(
                    "an item under alert_rule_test misses required attribute alertname at eval_time {}{within}",
                    model_duration(a.eval_time)
                )];
            }
            if !alert_times.contains(&a.eval_time) {
                alert_times.push(a.eval_time);
            }
        }
        alert_times.sort_unstable();
        let max_t = tg
            .alert_rule_tests
            .iter()
            .map(|a| a.eval_time)
            .chain(tg.promql_expr_tests.iter().map(|p| p.eval_time))
            .max()
            .unwrap_or(0);

        let storage = MemStorage::new();
        let mut errs = Vec::new();
        let mut curr = 0;
        let mut ts: i64 = 0;
        while ts <= max_t {
            match inputs.append_till(&storage, ts) {
                Err(e) => errs.push(e),
                Ok(()) => {
                    let mut eval_errs = Vec::new();
                    for g in &mut groups {
                        g.eval(&storage, &storage, ts);
                        for r in g.status().rules {
                            if let Some(e) = &r.last_error {
                                eval_errs.push(format!(
                                    "    rule: {}, time: {}, err: {e}",
                                    r.spec.name(),
                                    go_duration(ts)
                                ));
                            }
                        }
                    }
                    if !eval_errs.is_empty() {
                        errs.extend(eval_errs);
                        return errs;
                    }
                }
            }
            while curr < alert_times.len()
                && ts <= alert_times[curr]
                && alert_times[curr] < ts.saturating_add(self.eval_interval)
            {
                self.check_alerts(tg, alert_times[curr], &groups, &mut errs);
                curr += 1;
            }
            let Some(next) = ts.checked_add(self.eval_interval) else {
                break;
            };
            ts = next;
        }
        for pt in &tg.promql_expr_tests {
            if let Err(e) = self.check_expr(pt, &settings.engine, &storage) {
                errs.push(e);
            }
        }
        errs
    }

    /// Compares the firing alerts of every alert test at `t` with what is expected.
    fn check_alerts(
        &self,
        tg: &TestGroup,
        t: i64,
        groups: &[Box<dyn TestRuleGroup>],
        errs: &mut Vec<String>,
    ) {
        let statuses: Vec<GroupStatus> = groups.iter().map(|g| g.status()).collect();
        for case in tg.alert_rule_tests.iter().filter(|a| a.eval_time == t) {
            let mut got: Vec<AlertItem> = Vec::new();
            for st in &statuses {
                for r in &st.rules {
                    let RuleKind::Alerting { alert, .. } = &r.spec.kind else {
                        continue;
                    };
                    if *alert != case.alertname {
                        continue;
                    }
                    got.extend(
                        r.alerts
                            .iter()
                            .filter(|a| a.state == AlertState::Firing)
                            .map(|a| AlertItem {
                                labels: pairs_of(&a.labels),
                                annotations: pairs_of(&a.annotations),
                            }),
                    );
                }
            }
            let mut exp: Vec<AlertItem> = case
                .exp_alerts
                .iter()
                .map(|a| {
                    let mut labels = a.exp_labels.clone();
                    labels.retain(|(k, _)| k != "alertname");
                    labels.push(("alertname".into(), case.alertname.clone()));
                    labels.sort();
                    AlertItem {
                        labels,
                        annotations: a.exp_annotations.clone(),
                    }
                })
                .collect();
            got.sort();
            exp.sort();
            if got != exp {
                let name = if tg.name.is_empty() {
                    String::new()
                } else {
                    format!("    name: {},\n", tg.name)
                };
                let indent = "            ";
                errs.push(format!(
                    "{name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                    case.alertname,
                    model_duration(case.eval_time),
                    indent_lines(&fmt_alerts(&exp), indent),
                    indent_lines(&fmt_alerts(&got), indent)
                ));
            }
        }
    }

    fn check_expr(
        &self,
        pt: &super::format::PromqlTestCase,
        engine: &Engine,
        storage: &MemStorage,
    ) -> Result<(), String> {
        let head = format!(
            "    expr: {}, time: {}",
            go_quote(&pt.expr),
            model_duration(pt.eval_time)
        );
        let got = query(engine, storage, &pt.expr, pt.eval_time)
            .map_err(|e| format!("{head}, err: {e}"))?;
        let mut exp = Vec::with_capacity(pt.exp_samples.len());
        for s in &pt.exp_samples {
            let labels = expected_labels(&s.labels, &s.histogram)
                .map_err(|e| format!("{head}, err: labels {}: {e}", go_quote(&s.labels)))?;
            exp.push(ParsedSample {
                labels,
                value: s.value,
            });
        }
        let mut got = got;
        exp.sort_by(ParsedSample::cmp_labels);
        got.sort_by(ParsedSample::cmp_labels);
        let same = exp.len() == got.len()
            && exp
                .iter()
                .zip(&got)
                .all(|(e, g)| e.labels == g.labels && self.floats_equal(e.value, g.value));
        if same {
            Ok(())
        } else {
            Err(format!(
                "{head},\n        exp: {}\n        got: {}",
                fmt_samples(&exp),
                fmt_samples(&got)
            ))
        }
    }
}

/// An expected sample's series, parsed as PromQL's series notation.
fn expected_labels(text: &str, histogram: &str) -> Result<Labels, String> {
    let desc = parse_series_desc(text).map_err(|e| e.to_string())?;
    if !desc.values.is_empty() {
        return Err("unexpected values after the series".into());
    }
    if !histogram.is_empty() {
        return Err("native histogram samples are not supported by kmon yet".into());
    }
    Ok(desc.labels)
}

/// An instant query at `t` whose result must be a vector or a scalar (a scalar becomes one
/// sample with no labels).
fn query(
    engine: &Engine,
    q: &dyn Queryable,
    expr: &str,
    t: i64,
) -> Result<Vec<ParsedSample>, String> {
    let e = crate::promql::parse(expr).map_err(|e| e.to_string())?;
    let res = engine
        .instant(q, &e, t, &Cancel::new())
        .map_err(|e| e.to_string())?;
    match res.value {
        Value::Vector(v) => Ok(v
            .into_iter()
            .map(|s| ParsedSample {
                labels: s.metric,
                value: s.f,
            })
            .collect()),
        Value::Scalar { v, .. } => Ok(vec![ParsedSample {
            labels: Labels::empty(),
            value: v,
        }]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}

/// Go's `math.Nextafter(x, toward)` for infinite `toward`.
fn next_toward(x: f64, toward: f64) -> f64 {
    if x.is_nan() || x == toward {
        return x;
    }
    if x == 0.0 {
        let tiny = f64::from_bits(1);
        return if toward > 0.0 { tiny } else { -tiny };
    }
    let bits = x.to_bits();
    let up = (toward > x) == (x > 0.0);
    f64::from_bits(if up { bits + 1 } else { bits - 1 })
}
