//! Runs a parsed test file against the engine: fresh storage per file and per `clear`,
//! load blocks appended as batches, and every eval case checked the way the upstream
//! v3.5.3 harness checks it (FORMAT.md §2.5–§2.7): range evals once; instant evals plainly,
//! with a range-mode cross-check, and again with `@ T` pinned on every selector at
//! several evaluation times.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::model::Labels;
use crate::storage::matches_all;

use super::super::ast::{At, Expr, ValueType};
use super::super::engine::{Cancel, Engine, EngineOptions, QueryResult};
use super::super::signatures::AT_UNSAFE_FUNCTIONS;
use super::super::value::{Value, VectorSample};
use super::compare::{
    assert_matrix_sorted, check_annotations, check_expected_failure, compare_result, compare_vector,
};
use super::file::{Command, EvalCmd, EvalTime, TestFile, eval_header_lines, parse_file};
use super::report::{CaseResult, FileReport, Outcome};
use super::store::TestStorage;

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Skip (instead of run) cases that need native histograms.
    pub skip_unsupported: bool,
    /// The engine settings; `harness_engine_options()` unless a test changes them.
    pub engine: EngineOptions,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            skip_unsupported: false,
            engine: harness_engine_options(),
        }
    }
}

/// The engine settings of the upstream harness (FORMAT.md §2.9): lookback 5m, at most
/// 10000 samples per query, 100s timeout, 1m default subquery step, delayed name removal.
pub fn harness_engine_options() -> EngineOptions {
    EngineOptions {
        lookback_delta: 5 * 60 * 1000,
        max_samples: 10_000,
        timeout: std::time::Duration::from_secs(100),
        default_subquery_step: 60 * 1000,
        delayed_name_removal: true,
    }
}

/// Runs the text of one test file; `name` is how results name the file.
pub fn run_source(name: &str, text: &str, opts: &RunOptions) -> FileReport {
    let mut report = FileReport {
        file: name.to_string(),
        ..FileReport::default()
    };
    let file = match parse_file(text) {
        Ok(f) => f,
        Err(e) => {
            let why = format!("file does not parse: {e}");
            let mut lines = eval_header_lines(text);
            if lines.is_empty() {
                lines.push(e.line);
            }
            for line in lines {
                report.cases.push(CaseResult {
                    file: name.to_string(),
                    line,
                    expr: String::new(),
                    outcome: Outcome::Fail(why.clone()),
                });
            }
            report.errors.push(why);
            return report;
        }
    };
    run_parsed(&mut report, &file, opts);
    report
}

fn run_parsed(report: &mut FileReport, file: &TestFile, opts: &RunOptions) {
    let engine = Engine::new(opts.engine.clone());
    let mut store = TestStorage::new();
    let mut aborted: Option<String> = None;
    for cmd in &file.commands {
        match cmd {
            Command::Eval(e) => {
                let outcome = match &aborted {
                    Some(why) => Outcome::Fail(format!("not run: {why}")),
                    None => run_eval(e, &store, &engine, opts),
                };
                report.cases.push(CaseResult {
                    file: report.file.clone(),
                    line: e.line,
                    expr: e.expr_text.clone(),
                    outcome,
                });
            }
            _ if aborted.is_some() => {}
            Command::Clear { .. } => store = TestStorage::new(),
            Command::Load(l) => {
                if let Err(e) = store.load(l) {
                    let why = format!("load at line {} failed: {e}", l.line);
                    report.errors.push(why.clone());
                    aborted = Some(why);
                }
            }
        }
    }
}

/// Why a case needs native histograms, if it does.
pub fn unsupported_reason(cmd: &EvalCmd, store: &TestStorage) -> Option<String> {
    if cmd.expects_histogram() {
        return Some("unsupported: expects a native histogram value".into());
    }
    let hist = store.histogram_series();
    if hist.is_empty() {
        return None;
    }
    let mut found: Option<&Labels> = None;
    cmd.expr.walk(&mut |e| {
        if found.is_some() {
            return;
        }
        let sel = match e {
            Expr::VectorSelector(v) => v,
            Expr::MatrixSelector(m) => &m.selector,
            _ => return,
        };
        found = hist.iter().find(|l| matches_all(l, &sel.matchers));
    });
    found.map(|l| format!("unsupported: selects native-histogram series {l}"))
}

fn run_eval(cmd: &EvalCmd, store: &TestStorage, engine: &Engine, opts: &RunOptions) -> Outcome {
    if opts.skip_unsupported
        && let Some(why) = unsupported_reason(cmd, store)
    {
        return Outcome::Skip(why);
    }
    let res = match cmd.time {
        EvalTime::Range { start, end, step } => run_range(cmd, store, engine, start, end, step),
        EvalTime::Instant(t) => run_instant_all(cmd, store, engine, t),
    };
    match res {
        Ok(()) => Outcome::Pass,
        Err(why) => Outcome::Fail(why),
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    super::panic_message(p)
}

/// Evaluates, turning a panic into an error that is never an "expected failure".
enum Eval {
    Ok(QueryResult),
    Err(String),
    Panic(String),
}

fn eval_instant(engine: &Engine, store: &TestStorage, expr: &Expr, t: i64) -> Eval {
    let cancel = Cancel::new();
    match catch_unwind(AssertUnwindSafe(|| engine.instant(store, expr, t, &cancel))) {
        Ok(Ok(r)) => Eval::Ok(r),
        Ok(Err(e)) => Eval::Err(e.to_string()),
        Err(p) => Eval::Panic(panic_text(p.as_ref())),
    }
}

/// Upstream's checks when a range query is created (before it runs).
fn range_setup_error(expr: &Expr, step: i64) -> Option<String> {
    if step <= 0 {
        return Some(
            "zero or negative query resolution step widths are not accepted. Try a positive \
             integer"
                .into(),
        );
    }
    match expr.value_type() {
        ValueType::Scalar | ValueType::Vector => None,
        t => Some(format!(
            "invalid expression type {:?} for range query, must be Scalar or instant Vector",
            t.document_name()
        )),
    }
}

fn eval_range(
    engine: &Engine,
    store: &TestStorage,
    expr: &Expr,
    start: i64,
    end: i64,
    step: i64,
) -> Eval {
    let cancel = Cancel::new();
    let r = catch_unwind(AssertUnwindSafe(|| {
        engine.range(store, expr, start, end, step, &cancel)
    }));
    match r {
        Ok(Ok(r)) => Eval::Ok(r),
        Ok(Err(e)) => Eval::Err(e.to_string()),
        Err(p) => Eval::Panic(panic_text(p.as_ref())),
    }
}

fn run_range(
    cmd: &EvalCmd,
    store: &TestStorage,
    engine: &Engine,
    start: i64,
    end: i64,
    step: i64,
) -> Result<(), String> {
    if let Some(e) = range_setup_error(&cmd.expr, step) {
        return Err(format!("error creating range query: {e}"));
    }
    let res = match eval_range(engine, store, &cmd.expr, start, end, step) {
        Eval::Panic(p) => return Err(format!("engine panicked: {p}")),
        Eval::Err(e) if cmd.is_fail() => return check_expected_failure(cmd, &e),
        Eval::Err(e) => return Err(format!("error evaluating query: {e}")),
        Eval::Ok(_) if cmd.is_fail() => {
            return Err("expected error evaluating query but got none".into());
        }
        Eval::Ok(r) => r,
    };
    check_annotations(cmd, &res.annotations)?;
    compare_result(cmd, &res.value)
}

/// The expression with `@ t` on every selector and subquery that has no `@ <time>`
/// (`@ start()`/`@ end()` are replaced, as upstream's rewrite does), nothing changed below
/// subqueries. `None` when the expression calls a time-dependent function outside
/// subqueries.
pub fn at_rewrite(expr: &Expr, t: i64) -> Option<Expr> {
    fn pin(at: &mut Option<At>, t: i64) {
        if !matches!(at, Some(At::Time(_))) {
            *at = Some(At::Time(t));
        }
    }
    fn go(e: &mut Expr, t: i64, unsafe_call: &mut bool) {
        match e {
            Expr::Number(_) | Expr::String(_) => {}
            Expr::VectorSelector(v) => pin(&mut v.at, t),
            Expr::MatrixSelector(m) => pin(&mut m.selector.at, t),
            Expr::Subquery(s) => pin(&mut s.at, t),
            Expr::Paren(p) => go(&mut p.expr, t, unsafe_call),
            Expr::Unary(u) => go(&mut u.expr, t, unsafe_call),
            Expr::Binary(b) => {
                go(&mut b.lhs, t, unsafe_call);
                go(&mut b.rhs, t, unsafe_call);
            }
            Expr::Aggregate(a) => {
                if let Some(p) = &mut a.param {
                    go(p, t, unsafe_call);
                }
                go(&mut a.expr, t, unsafe_call);
            }
            Expr::Call(c) => {
                if AT_UNSAFE_FUNCTIONS.contains(&c.func.name) {
                    *unsafe_call = true;
                }
                for a in &mut c.args {
                    go(a, t, unsafe_call);
                }
            }
        }
    }
    let mut out = expr.clone();
    let mut unsafe_call = false;
    go(&mut out, t, &mut unsafe_call);
    if unsafe_call { None } else { Some(out) }
}

/// The evaluation times of the `@`-invariance runs for an eval at `t`.
pub fn at_eval_times(t: i64) -> Vec<i64> {
    if t == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![t.saturating_mul(-10), 0, t / 5, t, t.saturating_mul(10)]
    }
}

fn run_instant_all(
    cmd: &EvalCmd,
    store: &TestStorage,
    engine: &Engine,
    t: i64,
) -> Result<(), String> {
    run_instant(cmd, store, engine, &cmd.expr, t)?;
    if let Some(pinned) = at_rewrite(&cmd.expr, t) {
        for et in at_eval_times(t) {
            run_instant(cmd, store, engine, &pinned, et)
                .map_err(|e| format!("with @ {} evaluated at {et}ms: {e}", fmt_secs(t)))?;
        }
    }
    Ok(())
}

fn fmt_secs(ms: i64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

fn run_instant(
    cmd: &EvalCmd,
    store: &TestStorage,
    engine: &Engine,
    expr: &Expr,
    t: i64,
) -> Result<(), String> {
    let res = match eval_instant(engine, store, expr, t) {
        Eval::Panic(p) => return Err(format!("engine panicked: {p}")),
        Eval::Err(e) if cmd.is_fail() => return check_expected_failure(cmd, &e),
        Eval::Err(e) => return Err(format!("error evaluating query: {e}")),
        Eval::Ok(_) if cmd.is_fail() => {
            return Err("expected error evaluating query but got none".into());
        }
        Eval::Ok(r) => r,
    };
    check_annotations(cmd, &res.annotations)?;
    compare_result(cmd, &res.value)?;

    // The same query in range mode, checked at its middle step.
    let (start, end) = (t.saturating_sub(60_000), t.saturating_add(60_000));
    if let Some(e) = range_setup_error(expr, 60_000) {
        return Err(format!("error creating range query: {e}"));
    }
    let range = match eval_range(engine, store, expr, start, end, 60_000) {
        Eval::Panic(p) => return Err(format!("range mode: engine panicked: {p}")),
        Eval::Err(e) => return Err(format!("range mode: error evaluating query: {e}")),
        Eval::Ok(r) => r,
    };
    if cmd.is_ordered() {
        return Ok(());
    }
    let Value::Matrix(m) = &range.value else {
        return Err(format!(
            "range mode: the range query returned a {}, not a matrix",
            range.value.value_type().as_str()
        ));
    };
    assert_matrix_sorted(m).map_err(|e| format!("range mode: {e}"))?;
    let vec: Vec<VectorSample> = m
        .iter()
        .filter_map(|s| {
            s.points.iter().find(|p| p.t == t).map(|p| VectorSample {
                metric: s.metric.clone(),
                t: p.t,
                f: p.f,
                drop_name: false,
            })
        })
        .collect();
    let checked = if matches!(res.value, Value::Scalar { .. }) {
        match vec.first() {
            Some(s) => compare_result(cmd, &Value::Scalar { t, v: s.f }),
            None => Err(format!("no point at {t}ms for the scalar result")),
        }
    } else {
        compare_vector(cmd, &vec)
    };
    checked.map_err(|e| format!("range mode: {e}"))
}
