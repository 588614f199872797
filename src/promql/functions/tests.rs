//! Unit tests of every function on hand-built inputs. Most expectations come from the
//! upstream conformance files (`functions.test`, `histograms.test`, ...), with the data
//! of their `load` blocks rebuilt here; a few come from running Prometheus 3.5.3.

// The expected values are copied with all the digits Prometheus prints.
#![allow(clippy::excessive_precision, clippy::approx_constant)]

use crate::model::{Labels, MatchOp, Matcher};
use crate::promql::ast::{Expr, MatrixSelector, NumberLiteral, Span, VectorSelector};
use crate::promql::engine::QueryError;
use crate::promql::signatures::lookup;
use crate::promql::value::{AnnotationKind, Annotations, Point, VectorSample};

use super::{FnArg, FnCtx, FnOutput, SeriesWindow, call};

const S: i64 = 1000;
const M: i64 = 60 * S;

fn labels(s: &str) -> Labels {
    // `a=b,c=d`; `__name__=x` for the name.
    let pairs: Vec<(&str, &str)> = s
        .split(',')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .collect();
    Labels::from_pairs(&pairs)
}

/// A series loaded as in a `load <step>` block: values at 0, step, 2·step, ...; NaN
/// in `skip` positions is left out.
#[derive(Clone)]
struct Series {
    metric: Labels,
    points: Vec<Point>,
}

fn load(metric: &str, step: i64, values: &[f64]) -> Series {
    Series {
        metric: labels(metric),
        points: values
            .iter()
            .enumerate()
            .map(|(i, &f)| Point {
                t: i as i64 * step,
                f,
            })
            .collect(),
    }
}

/// `a+bxn`: n+1 values.
fn seq(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..=n).map(|i| a + b * i as f64).collect()
}

fn cat(parts: &[Vec<f64>]) -> Vec<f64> {
    parts.concat()
}

fn scalar_vec(v: &[(&str, f64)]) -> Vec<VectorSample> {
    v.iter()
        .map(|(m, f)| VectorSample {
            metric: labels(m),
            t: 0,
            f: *f,
            drop_name: false,
        })
        .collect()
}

/// A call's result and annotations.
struct Outcome {
    out: Result<FnOutput, QueryError>,
    annotations: Annotations,
}

impl Outcome {
    fn vector(&self) -> &[VectorSample] {
        match &self.out {
            Ok(FnOutput::Vector(v)) => v,
            other => panic!("expected a vector, got {other:?}"),
        }
    }

    /// `labels → value` pairs in output order, with the name gone where the engine
    /// would strip it.
    fn pairs(&self) -> Vec<(String, f64)> {
        self.vector()
            .iter()
            .map(|s| (effective(s).to_string(), s.f))
            .collect()
    }

    fn value_of(&self, metric: &str) -> f64 {
        let want = labels(metric);
        self.vector()
            .iter()
            .find(|s| effective(s) == want)
            .unwrap_or_else(|| panic!("no {want} in {:?}", self.pairs()))
            .f
    }

    fn scalar(&self) -> f64 {
        match &self.out {
            Ok(FnOutput::Scalar(v)) => *v,
            other => panic!("expected a scalar, got {other:?}"),
        }
    }

    fn error(&self) -> String {
        match &self.out {
            Err(e) => e.to_string(),
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }

    fn messages(&self, kind: AnnotationKind) -> Vec<String> {
        self.annotations
            .iter()
            .filter(|a| a.kind == kind)
            .map(|a| a.message.clone())
            .collect()
    }

    fn warnings(&self) -> Vec<String> {
        self.messages(AnnotationKind::Warning)
    }

    fn infos(&self) -> Vec<String> {
        self.messages(AnnotationKind::Info)
    }
}

/// The labels a sample ends up with once the engine has dropped names.
fn effective(s: &VectorSample) -> Labels {
    if s.drop_name {
        s.metric.without_metric_name()
    } else {
        s.metric.clone()
    }
}

/// Calls `name` at `ts` with the given arguments and argument expressions.
fn run_with(
    name: &str,
    ts: i64,
    window_end: i64,
    range: i64,
    args: &[FnArg<'_>],
    exprs: &[Expr],
) -> Outcome {
    let func = lookup(name).unwrap_or_else(|| panic!("no function {name}"));
    let mut annotations = Annotations::default();
    let mut ctx = FnCtx {
        ts,
        window_end,
        range,
        args: exprs,
        span: Span::new(0, 10),
        annotations: &mut annotations,
    };
    let out = call(func, args, &mut ctx);
    Outcome { out, annotations }
}

fn run(name: &str, ts: i64, args: &[FnArg<'_>]) -> Outcome {
    run_with(name, ts, 0, 0, args, &[])
}

/// Evaluates `name(before.., series[range] offset off, after..)` at `ts`, building the
/// left-open windows `(ts - off - range, ts - off]` as the engine does.
fn run_range(
    name: &str,
    ts: i64,
    range: i64,
    series: &[Series],
    before: &[FnArg<'_>],
    after: &[FnArg<'_>],
) -> Outcome {
    run_range_at(name, ts, ts, range, series, before, after)
}

fn run_range_at(
    name: &str,
    ts: i64,
    window_end: i64,
    range: i64,
    series: &[Series],
    before: &[FnArg<'_>],
    after: &[FnArg<'_>],
) -> Outcome {
    let windows: Vec<SeriesWindow<'_>> = series
        .iter()
        .filter_map(|s| {
            let lo = s.points.partition_point(|p| p.t <= window_end - range);
            let hi = s.points.partition_point(|p| p.t <= window_end);
            (lo < hi).then(|| SeriesWindow {
                metric: &s.metric,
                points: &s.points[lo..hi],
            })
        })
        .collect();
    let mut args = before.to_vec();
    args.push(FnArg::Matrix(&windows));
    args.extend_from_slice(after);
    run_with(name, ts, window_end, range, &args, &[])
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    (a - b).abs() / (a.abs() + b.abs()) < 1e-6
}

/// Asserts the output equals `want` (labels as `a=b,...`), in any order.
#[track_caller]
fn assert_vec(o: &Outcome, want: &[(&str, f64)]) {
    let got = o.vector();
    assert_eq!(got.len(), want.len(), "got {:?}, want {want:?}", o.pairs());
    for (m, v) in want {
        let g = o.value_of(m);
        assert!(close(g, *v), "{m}: got {g}, want {v}; all: {:?}", o.pairs());
    }
}

/// Asserts the output holds exactly `want`, in this order.
#[track_caller]
fn assert_ordered(o: &Outcome, want: &[(&str, f64)]) {
    let got: Vec<(Labels, f64)> = o.vector().iter().map(|s| (effective(s), s.f)).collect();
    let want: Vec<(Labels, f64)> = want.iter().map(|(m, f)| (labels(m), *f)).collect();
    assert_eq!(got.len(), want.len(), "got {got:?}");
    for (g, w) in got.iter().zip(&want) {
        assert!(g.0 == w.0 && close(g.1, w.1), "got {got:?}, want {want:?}");
    }
}

fn selector(name: Option<&str>, matchers: &[(&str, MatchOp, &str)]) -> VectorSelector {
    let mut ms = Vec::new();
    if let Some(n) = name {
        ms.push(Matcher::equal("__name__", n));
    }
    for (n, op, v) in matchers {
        ms.push(Matcher::new(*op, n, v).unwrap());
    }
    VectorSelector {
        name: name.map(String::from),
        matchers: ms,
        offset: 0,
        at: None,
        span: Span::new(0, 1),
    }
}

// ---------------------------------------------------------------- resets, changes

fn http_requests_resets() -> Vec<Series> {
    let step = 5 * M;
    vec![
        load(
            "__name__=http_requests,path=/foo",
            step,
            &[1., 2., 3., 0., 1., 0., 0., 1., 2., 0.],
        ),
        load(
            "__name__=http_requests,path=/bar",
            step,
            &[1., 2., 3., 4., 5., 1., 2., 3., 4., 5.],
        ),
        load(
            "__name__=http_requests,path=/biz",
            step,
            &[0., 0., 0., 0., 0., 1., 1., 1., 1., 1.],
        ),
    ]
}

#[test]
fn resets_counts_decreases() {
    let s = http_requests_resets();
    assert_vec(&run_range("resets", 50 * M, 5 * M, &s, &[], &[]), &[]);
    for (range, foo, bar) in [
        (10, 0., 0.),
        (20, 1., 0.),
        (30, 1., 0.),
        (32, 2., 1.),
        (50, 3., 1.),
    ] {
        let o = run_range("resets", 50 * M, range * M, &s, &[], &[]);
        assert_vec(
            &o,
            &[("path=/foo", foo), ("path=/bar", bar), ("path=/biz", 0.)],
        );
        assert!(o.vector().iter().all(|s| s.drop_name));
    }
}

#[test]
fn changes_counts_changes_and_nan_to_nan_is_none() {
    let s = http_requests_resets();
    assert_vec(&run_range("changes", 50 * M, 5 * M, &s, &[], &[]), &[]);
    let o = run_range("changes", 50 * M, 6 * M, &s, &[], &[]);
    assert_vec(
        &o,
        &[("path=/foo", 0.), ("path=/bar", 0.), ("path=/biz", 0.)],
    );
    let o = run_range("changes", 50 * M, 30 * M, &s, &[], &[]);
    assert_vec(
        &o,
        &[("path=/foo", 3.), ("path=/bar", 4.), ("path=/biz", 0.)],
    );
    let o = run_range("changes", 50 * M, 50 * M, &s, &[], &[]);
    assert_vec(
        &o,
        &[("path=/foo", 7.), ("path=/bar", 8.), ("path=/biz", 1.)],
    );

    let nan = f64::NAN;
    let x = [
        load("__name__=x,a=b", 5 * M, &[nan, nan, nan]),
        load("__name__=x,a=c", 5 * M, &[0., nan, 0.]),
    ];
    let o = run_range("changes", 15 * M, 20 * M, &x, &[], &[]);
    assert_vec(&o, &[("a=b", 0.), ("a=c", 2.)]);
}

// ---------------------------------------------------------------- rate, increase, delta

#[test]
fn increase_extrapolates_but_not_below_zero() {
    let step = 5 * M;
    let s = [
        load(
            "__name__=http_requests_total,path=/foo",
            step,
            &seq(0., 10., 10),
        ),
        load(
            "__name__=http_requests_total,path=/bar",
            step,
            &cat(&[seq(0., 18., 5), seq(0., 18., 5)]),
        ),
        load(
            "__name__=http_requests_total,path=/dings",
            step,
            &seq(10., 10., 10),
        ),
        load(
            "__name__=http_requests_total,path=/bumms",
            step,
            &seq(1., 10., 10),
        ),
    ];
    let o = run_range("increase", 50 * M, 50 * M, &s, &[], &[]);
    assert_vec(
        &o,
        &[
            ("path=/foo", 100.),
            ("path=/bar", 160.),
            ("path=/dings", 100.),
            ("path=/bumms", 100.),
        ],
    );
    let o = run_range("increase", 50 * M, 100 * M, &s, &[], &[]);
    assert_vec(
        &o,
        &[
            ("path=/foo", 100.),
            ("path=/bar", 162.),
            ("path=/dings", 105.),
            ("path=/bumms", 101.),
        ],
    );
    assert!(o.infos().is_empty(), "{:?}", o.infos());

    let reset = [load(
        "__name__=http_requests_total,path=/foo",
        step,
        &[0., 1., 2., 3., 2., 3., 4.],
    )];
    assert_vec(
        &run_range("increase", 30 * M, 30 * M, &reset, &[], &[]),
        &[("path=/foo", 7.)],
    );
}

#[test]
fn rate_handles_resets_offsets_and_the_zero_cutoff() {
    let step = 5 * M;
    let s = [
        load(
            "__name__=testcounter_reset_middle_total",
            step,
            &cat(&[seq(0., 27., 4), seq(0., 27., 5)]),
        ),
        load(
            "__name__=testcounter_reset_end_total",
            step,
            &cat(&[seq(0., 10., 9), vec![0., 10.]]),
        ),
    ];
    let o = run_range("rate", 50 * M, 50 * M, &s[..1], &[], &[]);
    assert_vec(&o, &[("", 0.08)]);
    // One point in the window: nothing.
    assert_vec(&run_range("rate", 50 * M, 5 * M, &s[1..], &[], &[]), &[]);
    assert_vec(
        &run_range("rate", 50 * M, 6 * M, &s[1..], &[], &[]),
        &[("", 0.)],
    );

    let off = [
        load(
            "__name__=calculate_rate_offset_total,x=a",
            step,
            &seq(0., 10., 10),
        ),
        load(
            "__name__=calculate_rate_offset_total,x=b",
            step,
            &seq(0., 20., 10),
        ),
        load(
            "__name__=calculate_rate_window_total",
            step,
            &seq(0., 80., 10),
        ),
    ];
    assert_vec(
        &run_range("rate", 50 * M, 50 * M, &off[2..], &[], &[]),
        &[("", 0.26666666666666666)],
    );
    let o = run_range_at("rate", 50 * M, 45 * M, 10 * M, &off[..2], &[], &[]);
    assert_vec(
        &o,
        &[("x=a", 0.03333333333333333), ("x=b", 0.06666666666666667)],
    );

    let step = 4 * M;
    let zero: Vec<Series> = (0..6)
        .map(|i| {
            let m = format!("__name__=testcounter_zero_cutoff_total,start={i}m");
            load(&m, step, &seq(60. * i as f64, 240., 10))
        })
        .collect();
    let o = run_range("rate", 10 * M, 20 * M, &zero, &[], &[]);
    assert_vec(
        &o,
        &[
            ("start=0m", 0.5),
            ("start=1m", 0.55),
            ("start=2m", 0.6),
            ("start=3m", 0.6),
            ("start=4m", 0.6),
            ("start=5m", 0.6),
        ],
    );
    let o = run_range("rate", 50 * M, 20 * M, &zero, &[], &[]);
    assert!(o.vector().iter().all(|s| close(s.f, 0.6)));
}

#[test]
fn rate_and_increase_note_names_that_do_not_look_like_counters() {
    let s = [
        load("__name__=metric,job=1", 10 * S, &seq(0., 1., 20)),
        load("__name__=requests_total", 10 * S, &seq(0., 1., 20)),
        load("job=3", 10 * S, &seq(0., 1., 20)),
    ];
    let want = "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"metric\"";
    for f in ["rate", "increase"] {
        let o = run_range(f, 100 * S, 100 * S, &s, &[], &[]);
        assert_eq!(o.infos(), vec![want.to_string()]);
    }
    for f in ["delta", "irate", "resets"] {
        assert!(
            run_range(f, 100 * S, 100 * S, &s, &[], &[])
                .infos()
                .is_empty()
        );
    }
    // No output, no info.
    assert!(
        run_range("rate", 100 * S, 5 * S, &s, &[], &[])
            .infos()
            .is_empty()
    );
}

#[test]
fn delta_is_not_reset_corrected() {
    let step = 5 * M;
    let s = [
        load(
            "__name__=http_requests,path=/foo",
            step,
            &[0., 50., 100., 150., 200.],
        ),
        load(
            "__name__=http_requests,path=/bar",
            step,
            &[200., 150., 100., 50., 0.],
        ),
    ];
    let o = run_range("delta", 20 * M, 20 * M, &s, &[], &[]);
    assert_vec(&o, &[("path=/foo", 200.), ("path=/bar", -200.)]);
}

#[test]
fn irate_and_idelta_use_the_last_two_points() {
    let step = 5 * M;
    let s = [
        load(
            "__name__=http_requests_total,path=/foo",
            step,
            &seq(0., 10., 10),
        ),
        load(
            "__name__=http_requests_total,path=/bar",
            step,
            &cat(&[seq(0., 10., 5), seq(0., 10., 5)]),
        ),
    ];
    let o = run_range("irate", 50 * M, 50 * M, &s, &[], &[]);
    assert_vec(&o, &[("path=/foo", 1. / 30.), ("path=/bar", 1. / 30.)]);
    let o = run_range("irate", 30 * M, 50 * M, &s, &[], &[]);
    assert_vec(&o, &[("path=/foo", 1. / 30.), ("path=/bar", 0.)]);

    // range from 0 to 20m step 5m irate(http_requests_nan[15m1s]): _ NaN NaN NaN 0.02
    let nan = f64::NAN;
    let n = [load(
        "__name__=http_requests_nan",
        step,
        &[1., nan, nan, 5., 11.],
    )];
    let range = 15 * M + S;
    assert!(
        run_range("irate", 0, range, &n, &[], &[])
            .vector()
            .is_empty()
    );
    for t in [5, 10, 15] {
        assert!(
            run_range("irate", t * M, range, &n, &[], &[]).vector()[0]
                .f
                .is_nan()
        );
    }
    assert_vec(
        &run_range("irate", 20 * M, range, &n, &[], &[]),
        &[("", 0.02)],
    );
    // idelta over the same: _ NaN NaN NaN 6
    assert!(
        run_range("idelta", 15 * M, range, &n, &[], &[]).vector()[0]
            .f
            .is_nan()
    );
    assert_vec(
        &run_range("idelta", 20 * M, range, &n, &[], &[]),
        &[("", 6.)],
    );

    let g = [
        load(
            "__name__=http_requests,path=/foo",
            step,
            &[0., 50., 100., 150.],
        ),
        load(
            "__name__=http_requests,path=/bar",
            step,
            &[0., 50., 100., 50.],
        ),
    ];
    let o = run_range("idelta", 20 * M, 20 * M, &g, &[], &[]);
    assert_vec(&o, &[("path=/foo", 50.), ("path=/bar", -50.)]);
}

// ---------------------------------------------------------------- deriv, predict_linear

fn reset_middle() -> Vec<Series> {
    vec![load(
        "__name__=testcounter_reset_middle_total",
        5 * M,
        &cat(&[seq(0., 10., 4), seq(0., 10., 5)]),
    )]
}

#[test]
fn deriv_is_the_regression_slope() {
    let s = [load(
        "__name__=http_requests_total,job=app-server",
        5 * M,
        &seq(0., 80., 10),
    )];
    assert_vec(
        &run_range("deriv", 50 * M, 50 * M, &s, &[], &[]),
        &[("job=app-server", 0.26666666666666666)],
    );
    assert_vec(
        &run_range("deriv", 50 * M, 100 * M, &reset_middle(), &[], &[]),
        &[("", 0.010606060606060607)],
    );
    let inf = [load(
        "__name__=http_requests_inf",
        5 * M,
        &cat(&[
            vec![f64::NEG_INFINITY],
            seq(0., 80., 10),
            vec![f64::INFINITY],
        ]),
    )];
    assert!(
        run_range("deriv", 100 * M, 100 * M, &inf, &[], &[]).vector()[0]
            .f
            .is_nan()
    );
    // Constant series: slope 0; one point: nothing.
    let c = [load("__name__=c", 10 * S, &[3., 3., 3.])];
    assert_vec(&run_range("deriv", 20 * S, M, &c, &[], &[]), &[("", 0.)]);
    assert_vec(&run_range("deriv", 20 * S, 5 * S, &c, &[], &[]), &[]);
}

#[test]
fn predict_linear_extends_the_line_from_the_evaluation_time() {
    let s = reset_middle();
    let h = [FnArg::Scalar(3600.)];
    assert_vec(
        &run_range("predict_linear", 50 * M, 50 * M, &s, &[], &h),
        &[("", 70.)],
    );
    // `[55m] @ 3000`: the window ends at 3000s while the line is read at the eval time.
    for (ts, want) in [
        (50 * M, 76.81818181818181),
        (10 * M, 51.36363636363637),
        (70 * M, 89.54545454545455),
    ] {
        let o = run_range_at("predict_linear", ts, 3000 * S, 55 * M, &s, &[], &h);
        assert_vec(&o, &[("", want)]);
    }
    let inf = [load(
        "__name__=http_requests_inf",
        5 * M,
        &cat(&[
            vec![f64::NEG_INFINITY],
            seq(0., 80., 10),
            vec![f64::INFINITY],
        ]),
    )];
    let o = run_range(
        "predict_linear",
        100 * M,
        100 * M,
        &inf,
        &[],
        &[FnArg::Scalar(6000.)],
    );
    assert!(o.vector()[0].f.is_nan());
}

// ---------------------------------------------------------------- double_exponential_smoothing

#[test]
fn double_exponential_smoothing_follows_trends() {
    let step = 10 * S;
    let s = [
        load(
            "i=0",
            step,
            &cat(&[seq(0., 10., 1000), seq(100., 30., 1000)]),
        ),
        load(
            "i=1",
            step,
            &cat(&[seq(0., 20., 1000), seq(200., 30., 1000)]),
        ),
        load(
            "i=2",
            step,
            &cat(&[seq(0., 30., 1000), seq(300., 80., 1000)]),
        ),
        load("i=3", step, &seq(0., 40., 2000)),
    ];
    let f = [FnArg::Scalar(0.01), FnArg::Scalar(0.1)];
    let o = run_range("double_exponential_smoothing", 8000 * S, M, &s, &[], &f);
    assert_vec(
        &o,
        &[
            ("i=0", 8000.),
            ("i=1", 16000.),
            ("i=2", 24000.),
            ("i=3", 32000.),
        ],
    );

    let neg = [
        load("i=0", step, &seq(8000., -10., 1000)),
        load("i=1", step, &seq(0., -20., 1000)),
        load(
            "i=2",
            step,
            &cat(&[seq(0., 30., 1000), seq(300., -80., 1000)]),
        ),
        load(
            "i=3",
            step,
            &cat(&[seq(0., -40., 1000), seq(0., 40., 1000)]),
        ),
    ];
    let o = run_range("double_exponential_smoothing", 8000 * S, M, &neg, &[], &f);
    assert_vec(
        &o,
        &[
            ("i=0", 0.),
            ("i=1", -16000.),
            ("i=2", 24000.),
            ("i=3", -32000.),
        ],
    );
}

#[test]
fn double_exponential_smoothing_rejects_factors_outside_zero_one() {
    let s = [load("x=1", 10 * S, &[1., 2., 3.])];
    let o = run_range(
        "double_exponential_smoothing",
        20 * S,
        M,
        &s,
        &[],
        &[FnArg::Scalar(1.), FnArg::Scalar(0.5)],
    );
    assert_eq!(
        o.error(),
        "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000"
    );
    let o = run_range(
        "double_exponential_smoothing",
        20 * S,
        M,
        &s,
        &[],
        &[FnArg::Scalar(0.5), FnArg::Scalar(0.)],
    );
    assert_eq!(
        o.error(),
        "invalid trend factor. Expected: 0 < tf < 1, got: 0.000000"
    );
    let o = run_range(
        "double_exponential_smoothing",
        20 * S,
        M,
        &s,
        &[],
        &[FnArg::Scalar(0.5), FnArg::Scalar(f64::INFINITY)],
    );
    assert_eq!(
        o.error(),
        "invalid trend factor. Expected: 0 < tf < 1, got: +Inf"
    );
    // No series: no error, as Prometheus never calls the function then.
    let o = run_range(
        "double_exponential_smoothing",
        20 * S,
        M,
        &[],
        &[],
        &[FnArg::Scalar(2.), FnArg::Scalar(2.)],
    );
    assert!(o.vector().is_empty());
    // One point: no result.
    assert!(
        run_range(
            "double_exponential_smoothing",
            0,
            M,
            &s,
            &[],
            &[FnArg::Scalar(0.5), FnArg::Scalar(0.5)]
        )
        .vector()
        .is_empty()
    );
}

// ---------------------------------------------------------------- *_over_time

#[test]
fn avg_over_time_with_infinities_nan_and_overflow() {
    let (inf, ninf, nan) = (f64::INFINITY, f64::NEG_INFINITY, f64::NAN);
    let big = 9.988465674311579e+307;
    let cases: [(&[f64], f64); 17] = [
        (&[1., 2., 3., 4., 5.], 3.),
        (&[1., 2., 3., 4., inf], inf),
        (&[1., 2., 3., 4., ninf], ninf),
        (&[1., 2., 3., inf, ninf], nan),
        (&[inf, 0., inf], inf),
        (&[inf, inf, inf, ninf], nan),
        (&[1., 2., 3., ninf, ninf], ninf),
        (&[ninf, 0., ninf], ninf),
        (&[ninf, ninf, ninf, inf], nan),
        (&[1., 2., ninf, ninf, inf], nan),
        (&[big, big], big),
        (&[-big, -big, -big], -big),
        (&[-big, big], 0.),
        (&[1., 2., 3., nan, nan], nan),
        (&[1., 1e100, 1., -1e100], 0.5),
        (
            &[1e10, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6],
            1.6666666666666675e+09,
        ),
        (
            &[
                -2.258E+220,
                -1.78264E+219,
                0.76342771,
                1.9592258,
                2.3757689E+217,
                -2.3757689E+217,
                2.258E+220,
                7.69805412,
                1.78264E+219,
                -458.90154,
            ],
            0.,
        ),
    ];
    for (values, want) in cases {
        let s = [load("__name__=metric", 5 * S, values)];
        let o = run_range("avg_over_time", 55 * S, M, &s, &[], &[]);
        assert!(
            close(o.vector()[0].f, want),
            "{values:?}: got {}, want {want}",
            o.vector()[0].f
        );
    }
    let more: [(&[f64], f64); 6] = [
        (
            &[1.78264e50, 0.76342771, 1.9592258, 7.69805412, 458.90154],
            3.56528E+49,
        ),
        (
            &[
                1.78264E+50,
                0.76342771,
                1.9592258,
                2.258E+220,
                7.69805412,
                458.90154,
            ],
            3.76333333333333E+219,
        ),
        (
            &[
                -1.78264E+50,
                0.76342771,
                1.9592258,
                -2.258E+220,
                7.69805412,
                -458.90154,
            ],
            -3.76333333333333E+219,
        ),
        (
            &[
                -1.78264E+215,
                0.76342771,
                1.9592258,
                2.258E+220,
                7.69805412,
                -458.90154,
            ],
            3.76330362266667E+219,
        ),
        (
            &[
                -1.78264E+215,
                0.76342771,
                1.9592258,
                2.258E+220,
                7.69805412,
                1.78264E+215,
                -458.90154,
            ],
            3.225714285714286e+219,
        ),
        (
            &[
                -1.78264E+219,
                0.76342771,
                1.9592258,
                2.3757689E+217,
                -2.3757689E+217,
                2.258E+220,
                7.69805412,
                1.78264E+219,
                -458.90154,
            ],
            2.5088888888888888e+219,
        ),
    ];
    for (values, want) in more {
        let s = [load("__name__=metric", 5 * S, values)];
        let got = run_range("avg_over_time", 55 * S, M, &s, &[], &[]).vector()[0].f;
        assert!(close(got, want), "{values:?}: got {got}, want {want}");
    }
    // 52 a hundred times: exactly 52.
    let s = [load("__name__=foo", 10 * S, &[52.; 101])];
    for r in [100, 110, 120, 130] {
        assert_eq!(
            run_range("avg_over_time", 10 * M, r * S, &s, &[], &[]).vector()[0].f,
            52.
        );
    }
    // No points: nothing; one point: its value.
    let s = [load("__name__=metric", 10 * S, &[1., 2., 3., 4., 5.])];
    assert!(
        run_range("avg_over_time", 55 * S, 10 * S, &s, &[], &[])
            .vector()
            .is_empty()
    );
    assert_vec(
        &run_range("avg_over_time", 55 * S, 20 * S, &s, &[], &[]),
        &[("", 5.)],
    );
}

#[test]
fn sum_over_time_is_compensated() {
    let s = [load("__name__=metric", 10 * S, &[1., 1e100, 1., -1e100])];
    assert_vec(
        &run_range("sum_over_time", M, 2 * M, &s, &[], &[]),
        &[("", 2.)],
    );
    let dense = [load("__name__=metric", 1, &[1.; 4001])];
    for r in [1000, 1001, 1002, 1003, 2000, 2003, 3000, 3003] {
        assert_vec(
            &run_range("sum_over_time", 4 * S, r, &dense, &[], &[]),
            &[("", r as f64)],
        );
    }
    let s = [load("__name__=metric", 10 * S, &[f64::INFINITY, 1.])];
    assert_vec(
        &run_range("sum_over_time", M, 2 * M, &s, &[], &[]),
        &[("", f64::INFINITY)],
    );
}

#[test]
fn min_max_last_count_with_nans() {
    let nan = f64::NAN;
    let s = [
        load("__name__=data,type=numbers", 10 * S, &[2., 0., 3.]),
        load("__name__=data,type=some_nan", 10 * S, &[2., 0., nan]),
        load("__name__=data,type=some_nan2", 10 * S, &[2., nan, 1.]),
        load("__name__=data,type=some_nan3", 10 * S, &[nan, 0., 1.]),
        load("__name__=data,type=only_nan", 10 * S, &[nan, nan, nan]),
    ];
    let o = run_range("min_over_time", M, 2 * M, &s, &[], &[]);
    assert_vec(
        &o,
        &[
            ("type=numbers", 0.),
            ("type=some_nan", 0.),
            ("type=some_nan2", 1.),
            ("type=some_nan3", 0.),
            ("type=only_nan", nan),
        ],
    );
    let o = run_range("max_over_time", M, 2 * M, &s, &[], &[]);
    assert_vec(
        &o,
        &[
            ("type=numbers", 3.),
            ("type=some_nan", 2.),
            ("type=some_nan2", 2.),
            ("type=some_nan3", 1.),
            ("type=only_nan", nan),
        ],
    );
    assert!(o.vector().iter().all(|s| s.drop_name));
    // last_over_time keeps the name.
    let o = run_range("last_over_time", M, 2 * M, &s, &[], &[]);
    assert_vec(
        &o,
        &[
            ("__name__=data,type=numbers", 3.),
            ("__name__=data,type=some_nan", nan),
            ("__name__=data,type=some_nan2", 1.),
            ("__name__=data,type=some_nan3", 1.),
            ("__name__=data,type=only_nan", nan),
        ],
    );
    assert!(o.vector().iter().all(|s| !s.drop_name));
    let o = run_range("count_over_time", M, 2 * M, &s, &[], &[]);
    assert!(o.vector().iter().all(|s| s.f == 3. && s.drop_name));
    let o = run_range("present_over_time", M, 2 * M, &s, &[], &[]);
    assert!(o.vector().iter().all(|s| s.f == 1. && s.drop_name));
}

#[test]
fn stddev_stdvar_mad() {
    let s = [load("__name__=metric", 10 * S, &[0., 8., 8., 2., 3.])];
    assert_vec(
        &run_range("stdvar_over_time", M, 2 * M, &s, &[], &[]),
        &[("", 10.56)],
    );
    assert_vec(
        &run_range("stddev_over_time", M, 2 * M, &s, &[], &[]),
        &[("", 3.249615)],
    );
    let c = [load("__name__=metric", 10 * S, &[1.5990505637277868; 3])];
    assert_vec(
        &run_range("stdvar_over_time", 55 * S, M, &c, &[], &[]),
        &[("", 0.)],
    );
    assert_vec(
        &run_range("stddev_over_time", 55 * S, M, &c, &[], &[]),
        &[("", 0.)],
    );
    let m = [load(
        "__name__=metric",
        10 * S,
        &[4., 6., 2., 1., 999., 1., 2.],
    )];
    assert_vec(
        &run_range("mad_over_time", 70 * S, 70 * S, &m, &[], &[]),
        &[("", 1.)],
    );
}

#[test]
fn timestamps_of_min_max_last() {
    let step = 10 * S + 53;
    let s = [load(
        "__name__=metric",
        step,
        &[1., 2., 3., 0., 5., 6., 2., 1., 4.],
    )];
    assert_vec(
        &run_range("ts_of_min_over_time", 90 * S, 90 * S, &s, &[], &[]),
        &[("", 30.159)],
    );
    assert_vec(
        &run_range("ts_of_max_over_time", 90 * S, 90 * S, &s, &[], &[]),
        &[("", 50.265)],
    );
    let l = [load("__name__=metric", step, &[1., 2., 3.])];
    assert_vec(
        &run_range("ts_of_last_over_time", 90 * S, 90 * S, &l, &[], &[]),
        &[("", 20.106)],
    );
    assert_vec(
        &run_range("ts_of_last_over_time", 95 * S, 90 * S, &l, &[], &[]),
        &[("", 20.106)],
    );
    // Ties: the latest extreme wins.
    let t = [load("__name__=metric", 10 * S, &[1., 5., 5., 1.])];
    assert_vec(
        &run_range("ts_of_max_over_time", 30 * S, M, &t, &[], &[]),
        &[("", 20.)],
    );
    assert_vec(
        &run_range("ts_of_min_over_time", 30 * S, M, &t, &[], &[]),
        &[("", 30.)],
    );
}

#[test]
fn quantile_over_time_interpolates_and_warns_out_of_range() {
    let s = [
        load("__name__=data,test=two", 10 * S, &[0., 1.]),
        load("__name__=data,test=three", 10 * S, &[0., 1., 2.]),
        load("__name__=data,test=uneven", 10 * S, &[0., 1., 4.]),
    ];
    for (q, two, three, uneven) in [
        (0., 0., 0., 0.),
        (0.5, 0.5, 1., 1.),
        (0.75, 0.75, 1.5, 2.5),
        (0.8, 0.8, 1.6, 2.8),
        (1., 1., 2., 4.),
        (-1., f64::NEG_INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY),
        (2., f64::INFINITY, f64::INFINITY, f64::INFINITY),
    ] {
        let o = run_range("quantile_over_time", M, 2 * M, &s, &[FnArg::Scalar(q)], &[]);
        assert_vec(
            &o,
            &[
                ("test=two", two),
                ("test=three", three),
                ("test=uneven", uneven),
            ],
        );
        if (0.0..=1.0).contains(&q) {
            assert!(o.warnings().is_empty());
        } else {
            assert_eq!(
                o.warnings(),
                vec![format!("quantile value should be between 0 and 1, got {q}")]
            );
        }
    }
    let o = run_range(
        "quantile_over_time",
        M,
        2 * M,
        &s,
        &[FnArg::Scalar(f64::NAN)],
        &[],
    );
    assert_eq!(
        o.warnings(),
        vec!["quantile value should be between 0 and 1, got NaN".to_string()]
    );
    // No series: no warning.
    let o = run_range(
        "quantile_over_time",
        M,
        2 * M,
        &[],
        &[FnArg::Scalar(2.)],
        &[],
    );
    assert!(o.warnings().is_empty());
    // NaNs sort first, as in Prometheus.
    let n = [load("a=1", M, &[f64::NAN, 1., 2., 3.])];
    assert!(
        run_range(
            "quantile_over_time",
            4 * M,
            5 * M,
            &n,
            &[FnArg::Scalar(0.)],
            &[]
        )
        .vector()[0]
            .f
            .is_nan()
    );
    assert_vec(
        &run_range(
            "quantile_over_time",
            4 * M,
            5 * M,
            &n,
            &[FnArg::Scalar(0.5)],
            &[],
        ),
        &[("a=1", 1.5)],
    );
}

#[test]
fn absent_and_absent_over_time_take_labels_from_equality_matchers() {
    use MatchOp::*;
    let cases: Vec<(VectorSelector, &str)> = vec![
        (selector(Some("nonexistent"), &[]), ""),
        (
            selector(
                Some("nonexistent"),
                &[
                    ("job", Equal, "testjob"),
                    ("instance", Equal, "testinstance"),
                    ("method", Regex, ".x"),
                ],
            ),
            "instance=testinstance,job=testjob",
        ),
        (
            selector(
                Some("nonexistent"),
                &[
                    ("job", Equal, "testjob"),
                    ("job", Equal, "testjob2"),
                    ("foo", Equal, "bar"),
                ],
            ),
            "foo=bar",
        ),
        (
            selector(
                Some("x"),
                &[
                    ("job", Equal, "a"),
                    ("job", Equal, "b"),
                    ("job", Equal, "c"),
                    ("foo", Equal, "bar"),
                ],
            ),
            "foo=bar",
        ),
        (
            selector(
                Some("x"),
                &[
                    ("job", Equal, "a"),
                    ("job", Regex, "b"),
                    ("foo", Equal, "bar"),
                ],
            ),
            "foo=bar",
        ),
        (selector(Some("x"), &[("handler", NotEqual, "/foo")]), ""),
        (
            selector(None, &[("__name__", Regex, "a|b"), ("job", Equal, "grok")]),
            "job=grok",
        ),
    ];
    for (vs, want) in cases {
        let exprs = [Expr::VectorSelector(vs.clone())];
        let o = run_with("absent", 50 * M, 0, 0, &[FnArg::Vector(&[])], &exprs);
        assert_vec(&o, &[(want, 1.)]);
        assert!(!o.vector()[0].drop_name);
        let ms = Expr::MatrixSelector(MatrixSelector {
            selector: vs,
            range: 5 * M,
            span: Span::new(0, 1),
        });
        let o = run_with(
            "absent_over_time",
            M,
            M,
            5 * M,
            &[FnArg::Matrix(&[])],
            &[ms],
        );
        assert_vec(&o, &[(want, 1.)]);
    }
    // Something present: nothing. Not a selector: no labels.
    let present = scalar_vec(&[("a=1", 1.)]);
    assert_vec(&run("absent", 0, &[FnArg::Vector(&present)]), &[]);
    let num = [Expr::Number(NumberLiteral {
        value: 1.,
        span: Span::new(0, 1),
    })];
    assert_vec(
        &run_with("absent", 0, 0, 0, &[FnArg::Vector(&[])], &num),
        &[("", 1.)],
    );
    let s = [load(
        "__name__=http_requests_total,job=httpd",
        M,
        &seq(1., 1., 10),
    )];
    assert_vec(
        &run_range("absent_over_time", 5 * M, 5 * M, &s, &[], &[]),
        &[],
    );
}

// ---------------------------------------------------------------- element-wise math

fn data_special() -> Vec<VectorSample> {
    scalar_vec(&[
        ("__name__=data,type=positive", 2.5),
        ("__name__=data,type=whole", 2.),
        ("__name__=data,type=negative", -2.5),
        ("__name__=data,type=nwhole", -2.),
        ("__name__=data,type=zero", 0.),
        ("__name__=data,type=nzero", -0.),
        ("__name__=data,type=inf", f64::INFINITY),
        ("__name__=data,type=ninf", f64::NEG_INFINITY),
        ("__name__=data,type=nan", f64::NAN),
    ])
}

#[test]
fn abs_ceil_floor_round_drop_the_name() {
    let d = data_special();
    let (inf, ninf, nan) = (f64::INFINITY, f64::NEG_INFINITY, f64::NAN);
    let expect = |f: &str, v: [f64; 9]| {
        let o = run(f, 0, &[FnArg::Vector(&d)]);
        let types = [
            "positive", "whole", "negative", "nwhole", "zero", "nzero", "inf", "ninf", "nan",
        ];
        let want: Vec<(String, f64)> = types
            .iter()
            .zip(v)
            .map(|(t, v)| (format!("type={t}"), v))
            .collect();
        let want: Vec<(&str, f64)> = want.iter().map(|(m, v)| (m.as_str(), *v)).collect();
        assert_vec(&o, &want);
        assert!(o.vector().iter().all(|s| s.drop_name), "{f}");
    };
    expect("abs", [2.5, 2., 2.5, 2., 0., 0., inf, inf, nan]);
    expect("ceil", [3., 2., -2., -2., 0., 0., inf, ninf, nan]);
    expect("floor", [2., 2., -3., -2., 0., 0., inf, ninf, nan]);
    expect("round", [3., 2., -2., -2., 0., 0., inf, ninf, nan]);
    expect("sgn", [1., 1., -1., -1., 0., 0., 1., -1., nan]);
}

#[test]
fn round_to_nearest_uses_the_inverse() {
    let v = scalar_vec(&[
        ("a=1", 1.05),
        ("a=2", 2.5),
        ("a=3", -2.5),
        ("a=4", 12.34567),
    ]);
    let o = run("round", 0, &[FnArg::Vector(&v), FnArg::Scalar(0.1)]);
    assert_vec(
        &o,
        &[("a=1", 1.1), ("a=2", 2.5), ("a=3", -2.5), ("a=4", 12.3)],
    );
    // Prometheus 3.5.3: round(1000, 0.3) = 999.9, round(7, 0.3) = 6.8999999999999995.
    let w = scalar_vec(&[("a=1", 1000.), ("a=2", 7.), ("a=3", -0.5)]);
    let o = run("round", 0, &[FnArg::Vector(&w), FnArg::Scalar(0.3)]);
    assert_eq!(o.value_of("a=1"), 999.9);
    assert_eq!(o.value_of("a=2"), 6.8999999999999995);
    assert_eq!(o.value_of("a=3"), -0.6);
    let o = run("round", 0, &[FnArg::Vector(&v), FnArg::Scalar(5.)]);
    assert_vec(&o, &[("a=1", 0.), ("a=2", 5.), ("a=3", 0.), ("a=4", 10.)]);
}

#[test]
fn exp_ln_logs_sqrt() {
    let v = scalar_vec(&[("l=x", 10.), ("l=y", 20.)]);
    let check = |f: &str, x: f64, y: f64| {
        assert_vec(&run(f, 0, &[FnArg::Vector(&v)]), &[("l=x", x), ("l=y", y)]);
    };
    check("exp", 22026.465794806718, 485165195.4097903);
    check("ln", 2.302585092994046, 2.995732273553991);
    check("sqrt", 3.1622776601683795, 4.47213595499958);
    check("log2", 3.3219280948873626, 4.321928094887363);
    check("log10", 1., 1.301029995663981);
    let z = scalar_vec(&[("l=x", 0.), ("l=y", -10.)]);
    for f in ["ln", "log2", "log10"] {
        let o = run(f, 0, &[FnArg::Vector(&z)]);
        assert_eq!(o.value_of("l=x"), f64::NEG_INFINITY);
        assert!(o.value_of("l=y").is_nan());
    }
    // Exact where Prometheus is exact.
    let t = scalar_vec(&[("a=1", 1000.), ("a=2", 0.001), ("a=3", 1e-300)]);
    assert_vec(
        &run("log10", 0, &[FnArg::Vector(&t)]),
        &[("a=1", 3.), ("a=2", -3.), ("a=3", -300.)],
    );
    assert_eq!(run("log10", 0, &[FnArg::Vector(&t)]).value_of("a=1"), 3.);
    let p = scalar_vec(&[("a=1", 1024.), ("a=2", 0.125), ("a=3", 5e-324)]);
    assert_vec(
        &run("log2", 0, &[FnArg::Vector(&p)]),
        &[("a=1", 10.), ("a=2", -3.), ("a=3", -1074.)],
    );
}

#[test]
fn trigonometry() {
    let v = scalar_vec(&[("l=x", 10.), ("l=y", 20.), ("l=NaN", f64::NAN)]);
    let check = |f: &str, input: &[VectorSample], x: f64, y: f64| {
        let o = run(f, 0, &[FnArg::Vector(input)]);
        assert_vec(&o, &[("l=x", x), ("l=y", y), ("l=NaN", f64::NAN)]);
    };
    check("sin", &v, -0.5440211108893699, 0.9129452507276277);
    check("cos", &v, -0.8390715290764524, 0.40808206181339196);
    check("tan", &v, 0.6483608274590867, 2.2371609442247427);
    check("atan", &v, 1.4711276743037345, 1.5208379310729538);
    check("sinh", &v, 11013.232920103324, 2.4258259770489514e+08);
    check("cosh", &v, 11013.232920103324, 2.4258259770489514e+08);
    check("tanh", &v, 0.9999999958776927, 1.);
    check("asinh", &v, 2.99822295029797, 3.6895038689889055);
    check("acosh", &v, 2.993222846126381, 3.6882538673612966);
    check("rad", &v, 0.17453292519943295, 0.3490658503988659);
    check("deg", &v, 572.9577951308232, 1145.9155902616465);
    let shifted = scalar_vec(&[
        ("l=x", 10. - 10.1),
        ("l=y", 20. - 10.1),
        ("l=NaN", f64::NAN),
    ]);
    check("asin", &shifted, -0.10016742116155944, f64::NAN);
    check("acos", &shifted, 1.670963747956456, f64::NAN);
    check("atanh", &shifted, -0.10033534773107522, f64::NAN);
    assert_eq!(run("pi", 0, &[]).scalar(), std::f64::consts::PI);
}

#[test]
fn clamp_family() {
    let v = scalar_vec(&[("src=a", -50.), ("src=b", 0.), ("src=c", 100.)]);
    let c = |f: &str, args: &[f64]| {
        let mut a = vec![FnArg::Vector(&v)];
        a.extend(args.iter().map(|x| FnArg::Scalar(*x)));
        run(f, 0, &a)
    };
    assert_vec(
        &c("clamp_max", &[75.]),
        &[("src=a", -50.), ("src=b", 0.), ("src=c", 75.)],
    );
    assert_vec(
        &c("clamp_min", &[-25.]),
        &[("src=a", -25.), ("src=b", 0.), ("src=c", 100.)],
    );
    assert_vec(
        &c("clamp", &[-25., 75.]),
        &[("src=a", -25.), ("src=b", 0.), ("src=c", 75.)],
    );
    let nan = f64::NAN;
    assert_vec(
        &c("clamp", &[0., nan]),
        &[("src=a", nan), ("src=b", nan), ("src=c", nan)],
    );
    assert_vec(
        &c("clamp", &[nan, 0.]),
        &[("src=a", nan), ("src=b", nan), ("src=c", nan)],
    );
    assert_vec(&c("clamp", &[5., -5.]), &[]);
    assert!(c("clamp", &[0., 1.]).vector().iter().all(|s| s.drop_name));
    // Go's math.Max lets +Inf win over NaN.
    let n = scalar_vec(&[("a=1", nan)]);
    let o = run(
        "clamp_min",
        0,
        &[FnArg::Vector(&n), FnArg::Scalar(f64::INFINITY)],
    );
    assert_eq!(o.vector()[0].f, f64::INFINITY);
}

#[test]
fn timestamp_vector_scalar_time() {
    let v = vec![VectorSample {
        metric: labels("__name__=metric"),
        t: 10_000,
        f: 1.,
        drop_name: false,
    }];
    let o = run("timestamp", 12_000, &[FnArg::Vector(&v)]);
    assert_eq!(
        (o.vector()[0].f, o.vector()[0].t, o.vector()[0].drop_name),
        (10., 12_000, true)
    );
    let o = run("vector", 5_000, &[FnArg::Scalar(5.)]);
    assert_ordered(&o, &[("", 5.)]);
    assert!(!o.vector()[0].drop_name);
    assert_eq!(run("time", 1, &[]).scalar(), 0.001);
    assert_eq!(run("time", 50 * M, &[]).scalar(), 3000.);
    let two = scalar_vec(&[("l=x", 1.), ("l=y", 2.)]);
    assert!(run("scalar", 0, &[FnArg::Vector(&two)]).scalar().is_nan());
    assert!(run("scalar", 0, &[FnArg::Vector(&[])]).scalar().is_nan());
    assert_eq!(run("scalar", 0, &[FnArg::Vector(&two[..1])]).scalar(), 1.);
}

#[test]
fn date_functions() {
    let t = scalar_vec(&[("__name__=x", 1_136_239_445.)]);
    for (f, no_arg, with_arg) in [
        ("year", 1970., 2006.),
        ("month", 1., 1.),
        ("day_of_month", 1., 2.),
        ("day_of_year", 1., 2.),
        ("day_of_week", 4., 1.),
        ("hour", 0., 22.),
        ("minute", 0., 4.),
        ("days_in_month", 31., 31.),
    ] {
        let o = run(f, 0, &[]);
        assert_ordered(&o, &[("", no_arg)]);
        assert!(!o.vector()[0].drop_name);
        let o = run(f, 0, &[FnArg::Vector(&t)]);
        assert_ordered(&o, &[("", with_arg)]);
        assert!(o.vector()[0].drop_name);
    }
    let y = |secs: f64| run("year", 0, &[FnArg::Vector(&scalar_vec(&[("", secs)]))]).vector()[0].f;
    assert_eq!(y(1_230_767_999.), 2008.);
    assert_eq!(y(1_230_768_000.), 2009.);
    assert_eq!(y(f64::NAN), 292_277_026_596.);
    // Negative evaluation times truncate towards zero, as Go's integer division.
    assert_ordered(&run("year", -500, &[]), &[("", 1970.)]);
}

// ---------------------------------------------------------------- labels

fn testmetric() -> Vec<VectorSample> {
    scalar_vec(&[
        (
            "__name__=testmetric,src=source-value-10,dst=original-destination-value",
            0.,
        ),
        (
            "__name__=testmetric,src=source-value-20,dst=original-destination-value",
            1.,
        ),
    ])
}

fn replace(v: &[VectorSample], dst: &str, repl: &str, src: &str, re: &str) -> Outcome {
    run(
        "label_replace",
        0,
        &[
            FnArg::Vector(v),
            FnArg::String(dst),
            FnArg::String(repl),
            FnArg::String(src),
            FnArg::String(re),
        ],
    )
}

#[test]
fn label_replace_matches_whole_values_and_expands() {
    let v = testmetric();
    let o = replace(
        &v,
        "dst",
        "destination-value-$1",
        "src",
        "source-value-(.*)",
    );
    assert_vec(
        &o,
        &[
            (
                "__name__=testmetric,src=source-value-10,dst=destination-value-10",
                0.,
            ),
            (
                "__name__=testmetric,src=source-value-20,dst=destination-value-20",
                1.,
            ),
        ],
    );
    let unchanged = [
        (
            "__name__=testmetric,src=source-value-10,dst=original-destination-value",
            0.,
        ),
        (
            "__name__=testmetric,src=source-value-20,dst=original-destination-value",
            1.,
        ),
    ];
    assert_vec(
        &replace(&v, "dst", "destination-value-$1", "src", "value-(.*)"),
        &unchanged,
    );
    assert_vec(
        &replace(
            &v,
            "dst",
            "value-$1",
            "nonexistent-src",
            "source-value-(.*)",
        ),
        &unchanged,
    );
    assert_vec(
        &replace(&v, "dst", "value-$1", "src", "non-matching-regex"),
        &unchanged,
    );
    let o = replace(&v, "dst", "$1-value-$2", "src", "(.*)-value-(.*)");
    assert_eq!(o.vector()[0].metric.get("dst"), Some("source-value-10"));
    let o = replace(&v, "dst", "value-$1", "nonexistent-src", "(.*)");
    assert!(
        o.vector()
            .iter()
            .all(|s| s.metric.get("dst") == Some("value-"))
    );
    let o = replace(&v, "dst", "", "dst", ".*");
    assert_vec(
        &o,
        &[
            ("__name__=testmetric,src=source-value-10", 0.),
            ("__name__=testmetric,src=source-value-20", 1.),
        ],
    );
    let o = replace(
        &v,
        "dst",
        "${1}x$name",
        "src",
        "source-(?P<name>value)-(.*)",
    );
    assert_eq!(o.vector()[0].metric.get("dst"), Some("valuexvalue"));
    // Newlines match `.`.
    let nl = scalar_vec(&[("src=a\nb", 1.)]);
    assert_eq!(
        replace(&nl, "d", "$1", "src", "(.*)").vector()[0]
            .metric
            .get("d"),
        Some("a\nb")
    );
}

#[test]
fn label_replace_errors_and_name_dropping() {
    let v = testmetric();
    assert_eq!(
        replace(&v, "dst", "value-$1", "src", "(.*").error(),
        "invalid regular expression in label_replace(): (.*"
    );
    assert_eq!(
        replace(&v, "", "", "src", "(.*)").error(),
        "invalid destination label name in label_replace(): "
    );
    assert_eq!(
        replace(&v, "\u{fffd}", "", "src", "(.*)").error(),
        "invalid destination label name in label_replace(): \u{fffd}"
    );
    // Errors even without input.
    assert!(replace(&[], "dst", "", "src", "(").out.is_err());
    // UTF-8 label names are fine.
    assert_eq!(
        replace(&v, "d.s-t", "x", "src", ".*").vector()[0]
            .metric
            .get("d.s-t"),
        Some("x")
    );

    let mut dropped = testmetric();
    for s in &mut dropped {
        s.drop_name = true;
    }
    let o = replace(&dropped, "my_name", "rate_$1", "__name__", "(.+)");
    assert!(
        o.vector()
            .iter()
            .all(|s| s.drop_name && s.metric.get("my_name") == Some("rate_testmetric"))
    );
    let o = replace(&dropped, "__name__", "rate_$1", "__name__", "(.+)");
    assert!(
        o.vector()
            .iter()
            .all(|s| !s.drop_name && s.metric.metric_name() == "rate_testmetric")
    );
    // No match: the mark is kept.
    let o = replace(&dropped, "__name__", "x", "src", "nomatch");
    assert!(o.vector().iter().all(|s| s.drop_name));
}

#[test]
fn label_join_joins_in_order() {
    let v = scalar_vec(&[
        ("__name__=testmetric,src=a,src1=b,src2=c,dst=original", 0.),
        ("__name__=testmetric,src=d,src1=e,src2=f,dst=original", 1.),
    ]);
    let join = |args: &[&str]| {
        let mut a = vec![FnArg::Vector(&v)];
        a.extend(args.iter().map(|s| FnArg::String(s)));
        run("label_join", 0, &a)
    };
    let o = join(&["dst", "-", "src", "src1", "src2"]);
    assert_eq!(
        o.value_of("__name__=testmetric,src=a,src1=b,src2=c,dst=a-b-c"),
        0.
    );
    let o = join(&["dst", "-", "src", "src3", "src1"]);
    assert_eq!(
        o.value_of("__name__=testmetric,src=d,src1=e,src2=f,dst=d--e"),
        1.
    );
    let o = join(&["dst", "", "emptysrc", "emptysrc1"]);
    assert_eq!(o.value_of("__name__=testmetric,src=a,src1=b,src2=c"), 0.);
    let o = join(&["dst", ", "]);
    assert_eq!(o.value_of("__name__=testmetric,src=d,src1=e,src2=f"), 1.);
    let o = join(&["new", ", ", "src", "src1"]);
    assert_eq!(o.vector()[0].metric.get("new"), Some("a, b"));
    assert_eq!(
        join(&["dst", "-", ""]).error(),
        "invalid source label name in label_join(): "
    );
    assert_eq!(
        join(&["", "-", "src"]).error(),
        "invalid destination label name in label_join(): "
    );

    let mut dropped = v.clone();
    for s in &mut dropped {
        s.drop_name = true;
    }
    let o = run(
        "label_join",
        0,
        &[
            FnArg::Vector(&dropped),
            FnArg::String("__name__"),
            FnArg::String("_"),
            FnArg::String("__name__"),
            FnArg::String("src"),
        ],
    );
    assert_eq!(o.vector()[0].metric.metric_name(), "testmetric_a");
    assert!(!o.vector()[0].drop_name);
}

// ---------------------------------------------------------------- sort

fn http_requests_50m() -> Vec<VectorSample> {
    let mut v = scalar_vec(&[
        (
            "__name__=http_requests,job=api-server,instance=0,group=production",
            100.,
        ),
        (
            "__name__=http_requests,job=api-server,instance=1,group=production",
            200.,
        ),
        (
            "__name__=http_requests,job=api-server,instance=0,group=canary",
            300.,
        ),
        (
            "__name__=http_requests,job=api-server,instance=1,group=canary",
            400.,
        ),
        (
            "__name__=http_requests,job=api-server,instance=2,group=canary",
            f64::NAN,
        ),
        (
            "__name__=http_requests,job=app-server,instance=0,group=production",
            500.,
        ),
        (
            "__name__=http_requests,job=app-server,instance=1,group=production",
            600.,
        ),
        (
            "__name__=http_requests,job=app-server,instance=0,group=canary",
            700.,
        ),
        (
            "__name__=http_requests,job=app-server,instance=1,group=canary",
            800.,
        ),
    ]);
    // As storage returns series: sorted by labels.
    v.sort_by(|a, b| a.metric.cmp(&b.metric));
    v
}

#[test]
fn sort_and_sort_desc_put_nan_last() {
    let v = http_requests_50m();
    let o = run("sort", 0, &[FnArg::Vector(&v)]);
    let values: Vec<f64> = o.vector().iter().map(|s| s.f).collect();
    assert_eq!(
        &values[..8],
        &[100., 200., 300., 400., 500., 600., 700., 800.]
    );
    assert!(values[8].is_nan());
    let o = run("sort_desc", 0, &[FnArg::Vector(&v)]);
    let values: Vec<f64> = o.vector().iter().map(|s| s.f).collect();
    assert_eq!(
        &values[..8],
        &[800., 700., 600., 500., 400., 300., 200., 100.]
    );
    assert!(values[8].is_nan());
    assert_eq!(o.vector()[8].metric.get("instance"), Some("2"));
    // Equal values keep their order; names and marks are untouched.
    let e = scalar_vec(&[
        ("__name__=a,i=1", 1.),
        ("__name__=a,i=2", 1.),
        ("__name__=a,i=0", 0.),
    ]);
    assert_ordered(
        &run("sort", 0, &[FnArg::Vector(&e)]),
        &[
            ("__name__=a,i=0", 0.),
            ("__name__=a,i=1", 1.),
            ("__name__=a,i=2", 1.),
        ],
    );
    assert_ordered(
        &run("sort_desc", 0, &[FnArg::Vector(&e)]),
        &[
            ("__name__=a,i=1", 1.),
            ("__name__=a,i=2", 1.),
            ("__name__=a,i=0", 0.),
        ],
    );
    assert!(
        run("sort", 0, &[FnArg::Vector(&e)])
            .vector()
            .iter()
            .all(|s| !s.drop_name)
    );
}

fn sort_by(v: &[VectorSample], f: &str, names: &[&str]) -> Vec<String> {
    let mut args = vec![FnArg::Vector(v)];
    args.extend(names.iter().map(|n| FnArg::String(n)));
    run(f, 0, &args)
        .vector()
        .iter()
        .map(|s| {
            ["group", "instance", "job", "cpu", "release"]
                .iter()
                .filter_map(|n| s.metric.get(n).map(|v| format!("{n}={v}")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

#[test]
fn sort_by_label_is_natural_and_falls_back_to_all_labels() {
    let mut v = http_requests_50m();
    v.extend(scalar_vec(&[(
        "__name__=http_requests,job=api-server,instance=2,group=production",
        100.,
    )]));
    v.sort_by(|a, b| a.metric.cmp(&b.metric));
    assert_eq!(
        sort_by(&v, "sort_by_label", &["instance"]),
        [
            "group=canary,instance=0,job=api-server",
            "group=canary,instance=0,job=app-server",
            "group=production,instance=0,job=api-server",
            "group=production,instance=0,job=app-server",
            "group=canary,instance=1,job=api-server",
            "group=canary,instance=1,job=app-server",
            "group=production,instance=1,job=api-server",
            "group=production,instance=1,job=app-server",
            "group=canary,instance=2,job=api-server",
            "group=production,instance=2,job=api-server",
        ]
    );
    assert_eq!(
        sort_by(&v, "sort_by_label", &["job", "instance", "group"]),
        [
            "group=canary,instance=0,job=api-server",
            "group=production,instance=0,job=api-server",
            "group=canary,instance=1,job=api-server",
            "group=production,instance=1,job=api-server",
            "group=canary,instance=2,job=api-server",
            "group=production,instance=2,job=api-server",
            "group=canary,instance=0,job=app-server",
            "group=production,instance=0,job=app-server",
            "group=canary,instance=1,job=app-server",
            "group=production,instance=1,job=app-server",
        ]
    );
    assert_eq!(
        sort_by(&v, "sort_by_label_desc", &["instance"]),
        [
            "group=production,instance=2,job=api-server",
            "group=canary,instance=2,job=api-server",
            "group=production,instance=1,job=app-server",
            "group=production,instance=1,job=api-server",
            "group=canary,instance=1,job=app-server",
            "group=canary,instance=1,job=api-server",
            "group=production,instance=0,job=app-server",
            "group=production,instance=0,job=api-server",
            "group=canary,instance=0,job=app-server",
            "group=canary,instance=0,job=api-server",
        ]
    );

    let cpus: Vec<VectorSample> = ["0", "1", "2", "3", "10", "11", "12", "20", "21", "100"]
        .iter()
        .map(|c| {
            scalar_vec(&[(&format!("__name__=cpu_time_total,job=cpu,cpu={c}"), 100.)])[0].clone()
        })
        .collect();
    let mut shuffled = cpus.clone();
    shuffled.sort_by(|a, b| a.metric.cmp(&b.metric));
    let got = sort_by(&shuffled, "sort_by_label", &["cpu"]);
    let want: Vec<String> = ["0", "1", "2", "3", "10", "11", "12", "20", "21", "100"]
        .iter()
        .map(|c| format!("job=cpu,cpu={c}"))
        .collect();
    assert_eq!(got, want);

    let nodes = scalar_vec(&[
        (
            "__name__=node_uname_info,job=node_exporter,instance=4m600,release=1.2.3",
            100.,
        ),
        (
            "__name__=node_uname_info,job=node_exporter,instance=4m5,release=1.11.3",
            100.,
        ),
        (
            "__name__=node_uname_info,job=node_exporter,instance=4m1000,release=1.111.3",
            100.,
        ),
    ]);
    assert_eq!(
        sort_by(&nodes, "sort_by_label", &["instance"]),
        [
            "instance=4m5,job=node_exporter,release=1.11.3",
            "instance=4m600,job=node_exporter,release=1.2.3",
            "instance=4m1000,job=node_exporter,release=1.111.3"
        ]
    );
    assert_eq!(
        sort_by(&nodes, "sort_by_label", &["release"]),
        [
            "instance=4m600,job=node_exporter,release=1.2.3",
            "instance=4m5,job=node_exporter,release=1.11.3",
            "instance=4m1000,job=node_exporter,release=1.111.3"
        ]
    );
}

#[test]
fn natural_order_is_total() {
    use super::sort::natural_cmp;
    use std::cmp::Ordering::*;
    assert_eq!(natural_cmp("a2", "a10"), Less);
    assert_eq!(natural_cmp("a10b", "a10"), Greater);
    assert_eq!(natural_cmp("01", "1"), Less);
    assert_eq!(natural_cmp("1", "01"), Greater);
    assert_eq!(natural_cmp("", "x"), Less);
    assert_eq!(
        natural_cmp("99999999999999999999", "100000000000000000000"),
        Less
    );
    // A sort with many awkward values must not panic.
    let values: Vec<String> = (0..300)
        .map(|i| format!("{}{}x{}", i % 7, "0".repeat(i % 3), i * 7919 % 1000))
        .collect();
    let mut v: Vec<VectorSample> = values
        .iter()
        .map(|x| scalar_vec(&[(&format!("v={x}"), 0.)])[0].clone())
        .collect();
    v.push(scalar_vec(&[("w=1", 0.)])[0].clone());
    let o = run("sort_by_label", 0, &[FnArg::Vector(&v), FnArg::String("v")]);
    assert_eq!(o.vector().len(), 301);
}

// ---------------------------------------------------------------- histograms

fn testhistogram_50m() -> Vec<VectorSample> {
    scalar_vec(&[
        ("__name__=testhistogram_bucket,le=0.1,start=positive", 50.),
        ("__name__=testhistogram_bucket,le=.2,start=positive", 70.),
        ("__name__=testhistogram_bucket,le=1e0,start=positive", 110.),
        ("__name__=testhistogram_bucket,le=+Inf,start=positive", 120.),
        ("__name__=testhistogram_bucket,le=-.2,start=negative", 10.),
        ("__name__=testhistogram_bucket,le=-0.1,start=negative", 20.),
        ("__name__=testhistogram_bucket,le=0.3,start=negative", 20.),
        ("__name__=testhistogram_bucket,le=+Inf,start=negative", 30.),
    ])
}

#[test]
fn histogram_quantile_of_classic_buckets() {
    let v = testhistogram_50m();
    let (inf, ninf, nan) = (f64::INFINITY, f64::NEG_INFINITY, f64::NAN);
    for (q, pos, neg) in [
        (0., 0., -0.2),
        (1., 1., 0.3),
        (0.2, 0.048, -0.2),
        (0.5, 0.15, -0.15),
        (0.8, 0.72, 0.3),
        (-0.1, ninf, ninf),
        (1.01, inf, inf),
        (nan, nan, nan),
    ] {
        let o = run(
            "histogram_quantile",
            0,
            &[FnArg::Scalar(q), FnArg::Vector(&v)],
        );
        let want = [("start=positive", pos), ("start=negative", neg)];
        assert_vec(&o, &want);
        assert!(o.vector().iter().all(|s| s.drop_name));
        if (0.0..=1.0).contains(&q) {
            assert!(o.warnings().is_empty() && o.infos().is_empty());
        } else {
            let got = o.warnings();
            assert_eq!(got.len(), 1);
            assert!(
                got[0].starts_with("quantile value should be between 0 and 1, got "),
                "{got:?}"
            );
        }
    }
    // q(1/6), q(1/2), q(5/6) in the middle of buckets.
    let h2 = scalar_vec(&[
        ("le=0", 0.),
        ("le=2", 1.),
        ("le=4", 2.),
        ("le=6", 3.),
        ("le=+Inf", 3.),
    ]);
    for (q, want) in [(1. / 6., 1.), (0.5, 3.), (5. / 6., 5.)] {
        assert_vec(
            &run(
                "histogram_quantile",
                0,
                &[FnArg::Scalar(q), FnArg::Vector(&h2)],
            ),
            &[("", want)],
        );
    }
}

#[test]
fn histogram_quantile_fixes_monotonicity_with_an_info() {
    let v = scalar_vec(&[
        ("__name__=nonmonotonic_bucket,le=0.1", 20.),
        ("__name__=nonmonotonic_bucket,le=1", 10.),
        ("__name__=nonmonotonic_bucket,le=10", 50.),
        ("__name__=nonmonotonic_bucket,le=100", 40.),
        ("__name__=nonmonotonic_bucket,le=1000", 90.),
        ("__name__=nonmonotonic_bucket,le=+Inf", 80.),
    ]);
    for (q, want) in [(0.01, 0.0045), (0.5, 8.5), (0.99, 979.75)] {
        let o = run(
            "histogram_quantile",
            0,
            &[FnArg::Scalar(q), FnArg::Vector(&v)],
        );
        assert_vec(&o, &[("", want)]);
        assert_eq!(
            o.infos(),
            vec![
                "input to histogram_quantile needed to be fixed for monotonicity (see \
                 https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) \
                 for metric name \"nonmonotonic_bucket\""
                    .to_string()
            ]
        );
    }
    // Float noise is evened out silently.
    let noisy = scalar_vec(&[("le=1", 10.), ("le=2", 10. - 1e-14), ("le=+Inf", 10.)]);
    let o = run(
        "histogram_quantile",
        0,
        &[FnArg::Scalar(0.5), FnArg::Vector(&noisy)],
    );
    assert!(o.infos().is_empty());
    assert_vec(&o, &[("", 0.5)]);
}

#[test]
fn histogram_quantile_edge_cases() {
    // Equal bounds in different spellings are merged; `+inf` parses.
    let mixed = scalar_vec(&[
        ("instance=ins1,le=0.1", 1.),
        ("instance=ins1,le=0.2", 1.),
        ("instance=ins1,le=2e-1", 1.),
        ("instance=ins1,le=2.0e-1", 1.),
        ("instance=ins1,le=+Inf", 4.),
        ("instance=ins2,le=+inf", 0.),
        ("instance=ins2,le=+Inf", 0.),
    ]);
    for (q, want) in [(0.5, 0.15), (0.75, 0.2), (1., 0.2)] {
        let o = run(
            "histogram_quantile",
            0,
            &[FnArg::Scalar(q), FnArg::Vector(&mixed)],
        );
        assert_vec(&o, &[("instance=ins1", want), ("instance=ins2", f64::NAN)]);
    }
    // No +Inf bucket, a lone +Inf bucket, no observations: NaN.
    for buckets in [
        vec![("le=1", 1.), ("le=2", 2.)],
        vec![("le=+Inf", 5.)],
        vec![("le=1", 0.), ("le=+Inf", 0.)],
    ] {
        let v = scalar_vec(&buckets);
        let o = run(
            "histogram_quantile",
            0,
            &[FnArg::Scalar(0.5), FnArg::Vector(&v)],
        );
        assert!(o.vector()[0].f.is_nan(), "{buckets:?}");
    }
    // Missing or malformed `le`: skipped with a warning.
    let bad = scalar_vec(&[
        ("__name__=x_bucket,le=abc", 1.),
        ("__name__=x_bucket", 2.),
        ("__name__=x_bucket,le=1", 1.),
        ("__name__=x_bucket,le=+Inf", 2.),
    ]);
    let o = run(
        "histogram_quantile",
        0,
        &[FnArg::Scalar(0.5), FnArg::Vector(&bad)],
    );
    assert_vec(&o, &[("", 1.)]);
    assert_eq!(o.vector()[0].metric.metric_name(), "x_bucket");
    assert_eq!(
        o.warnings(),
        vec![
            "bucket label \"le\" is missing or has a malformed value of \"abc\" for metric name \"x_bucket\"".to_string(),
            "bucket label \"le\" is missing or has a malformed value of \"\" for metric name \"x_bucket\"".to_string(),
        ]
    );
    // Empty input: nothing, but the φ warning still comes.
    let o = run(
        "histogram_quantile",
        0,
        &[FnArg::Scalar(2.), FnArg::Vector(&[])],
    );
    assert!(o.vector().is_empty());
    assert_eq!(o.warnings().len(), 1);
    // Lowest bucket with a bound ≤ 0 answers its bound.
    let neg = scalar_vec(&[("le=-1", 5.), ("le=1", 10.), ("le=+Inf", 10.)]);
    assert_vec(
        &run(
            "histogram_quantile",
            0,
            &[FnArg::Scalar(0.1), FnArg::Vector(&neg)],
        ),
        &[("", -1.)],
    );
}

#[test]
fn histogram_fraction_of_classic_buckets() {
    let h2 = scalar_vec(&[
        ("le=0", 0.),
        ("le=2", 10.),
        ("le=4", 20.),
        ("le=6", 30.),
        ("le=+Inf", 30.),
    ]);
    for (lo, hi, want) in [
        (0., 4., 0.6666666666666666),
        (0., 6., 1.),
        (0., 3.5, 0.5833333333333334),
        (4., 4., 0.),
        (5., 1., 0.),
    ] {
        let o = run(
            "histogram_fraction",
            0,
            &[FnArg::Scalar(lo), FnArg::Scalar(hi), FnArg::Vector(&h2)],
        );
        assert_vec(&o, &[("", want)]);
    }
    let o = run(
        "histogram_fraction",
        0,
        &[
            FnArg::Scalar(f64::NAN),
            FnArg::Scalar(1.),
            FnArg::Vector(&h2),
        ],
    );
    assert!(o.vector()[0].f.is_nan());
    let h3 = scalar_vec(&[
        ("__name__=testhistogram3_bucket,le=0,start=positive", 0.),
        ("__name__=testhistogram3_bucket,le=0.1,start=positive", 50.),
        ("__name__=testhistogram3_bucket,le=.2,start=positive", 70.),
        ("__name__=testhistogram3_bucket,le=1e0,start=positive", 110.),
        (
            "__name__=testhistogram3_bucket,le=+Inf,start=positive",
            110.,
        ),
        ("__name__=testhistogram3_bucket,le=-.25,start=negative", 0.),
        ("__name__=testhistogram3_bucket,le=-.2,start=negative", 10.),
        ("__name__=testhistogram3_bucket,le=-0.1,start=negative", 20.),
        ("__name__=testhistogram3_bucket,le=0.3,start=negative", 20.),
        ("__name__=testhistogram3_bucket,le=+Inf,start=negative", 20.),
    ]);
    let o = run(
        "histogram_fraction",
        0,
        &[FnArg::Scalar(0.), FnArg::Scalar(0.2), FnArg::Vector(&h3)],
    );
    assert_vec(
        &o,
        &[
            ("start=positive", 0.6363636363636364),
            ("start=negative", 0.),
        ],
    );
    assert!(o.vector().iter().all(|s| s.drop_name));
    // Everything below -Inf..+Inf.
    let o = run(
        "histogram_fraction",
        0,
        &[
            FnArg::Scalar(f64::NEG_INFINITY),
            FnArg::Scalar(f64::INFINITY),
            FnArg::Vector(&h2),
        ],
    );
    assert_vec(&o, &[("", 1.)]);
}

#[test]
fn native_only_histogram_functions_ignore_floats() {
    let v = testhistogram_50m();
    for f in [
        "histogram_count",
        "histogram_sum",
        "histogram_avg",
        "histogram_stddev",
        "histogram_stdvar",
    ] {
        assert!(run(f, 0, &[FnArg::Vector(&v)]).vector().is_empty());
    }
}

#[test]
fn go_float_parsing() {
    use crate::promql::gonum::parse_go_float as p;
    assert_eq!(p("1e0"), Some(1.));
    assert_eq!(p(".2"), Some(0.2));
    assert_eq!(p("1."), Some(1.));
    assert_eq!(p("-0.1"), Some(-0.1));
    assert_eq!(p("+Inf"), Some(f64::INFINITY));
    assert_eq!(p("-infinity"), Some(f64::NEG_INFINITY));
    assert_eq!(p("INF"), Some(f64::INFINITY));
    assert!(p("NaN").is_some_and(f64::is_nan));
    assert_eq!(p("0x1p-2"), Some(0.25));
    assert_eq!(p("0x1.8p1"), Some(3.));
    // Underscores between digits, as Prometheus 3.5.3 reads `le="1_0"` and `0x_1p0`.
    assert_eq!(p("1_0"), Some(10.));
    assert_eq!(p("0x_1p0"), Some(1.));
    assert_eq!(p("1e1_0"), Some(1e10));
    for bad in [
        "", "+nan", "1e400", "abc", "1__0", "_1", "1_", "1_.5", "0x10", ".", "e5", "1e", "infinit",
        " 1", "0xp1", "0x1p",
    ] {
        assert_eq!(p(bad).map(|v| v.to_bits()), None, "{bad:?}");
    }
}

#[test]
fn go_quoting_of_names() {
    use super::go_quote;
    assert_eq!(go_quote("foo"), "\"foo\"");
    assert_eq!(go_quote("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\x01\"");
    assert_eq!(go_quote("héllo"), "\"héllo\"");
    assert_eq!(go_quote("a\u{a0}b"), "\"a\\u00a0b\"");
}

#[test]
fn wrong_arguments_are_errors_not_panics() {
    assert!(run("rate", 0, &[FnArg::Scalar(1.)]).out.is_err());
    assert!(run("abs", 0, &[]).out.is_err());
    assert!(run("label_replace", 0, &[FnArg::Vector(&[])]).out.is_err());
    assert!(run("info", 0, &[FnArg::Vector(&[])]).out.is_err());
}

#[test]
fn label_replace_regexes_mean_what_they_mean_in_go() {
    // Prometheus 3.5.3: \d and \w are ASCII-only, so Arabic-Indic digits do not match.
    let v = scalar_vec(&[("a=١٢,b=b1", 1.), ("a=12,b=b2", 2.)]);
    for class in [
        "(\\d+)",
        "(\\w+)",
        "([\\d]+)",
        "([^\\D]+)",
        "([[:digit:]]+)",
    ] {
        let o = replace(&v, "d", "$1", "a", class);
        assert_eq!(o.value_of("a=12,b=b2,d=12"), 2., "{class}");
        assert_eq!(o.value_of("a=١٢,b=b1"), 1., "{class}");
    }
    let w = scalar_vec(&[("a=x y\u{a0}z", 1.)]);
    let o = replace(&w, "d", "$1|$2", "a", "(\\S+)\\s(.*)");
    assert_eq!(o.vector()[0].metric.get("d"), Some("x|y\u{a0}z"));
    let o = replace(&w, "d", "$1", "a", "(.*\\b)y.*");
    assert_eq!(o.vector()[0].metric.get("d"), Some("x "));
    // \Q…\E quotes; `[` and `&&` inside a class are plain characters.
    let q = scalar_vec(&[("a=a.b(c", 1.), ("a=[&", 2.)]);
    let o = replace(&q, "d", "yes", "a", "\\Qa.b(c\\E");
    assert_eq!(o.vector()[0].metric.get("d"), Some("yes"));
    let o = replace(&q, "d", "yes", "a", "[[&&]+");
    assert_eq!(o.vector()[1].metric.get("d"), Some("yes"));
    let o = replace(&q, "d", "yes", "a", "[]a.b(c]+");
    assert_eq!(o.vector()[0].metric.get("d"), Some("yes"));
}

#[test]
fn sort_by_label_of_small_vectors_follows_go_even_where_its_order_is_inconsistent() {
    // Prometheus 3.5.3: sort_by_label(x or {b="y"} or 01 or 1 or {}, "a") with the input in
    // this order gives x, {b="y"}, 1, 01, {}.
    let v = scalar_vec(&[
        ("a=x", 1.),
        ("b=y", 2.),
        ("a=01", 3.),
        ("a=1", 4.),
        ("", 5.),
    ]);
    let o = run("sort_by_label", 0, &[FnArg::Vector(&v), FnArg::String("a")]);
    let got: Vec<f64> = o.vector().iter().map(|s| s.f).collect();
    assert_eq!(got, [1., 2., 4., 3., 5.]);
    let o = run(
        "sort_by_label_desc",
        0,
        &[FnArg::Vector(&v), FnArg::String("a")],
    );
    assert_eq!(o.vector().len(), 5);
}

#[test]
fn every_function_but_info_is_implemented() {
    use crate::promql::signatures::{FUNCTIONS, Function};
    for f in FUNCTIONS {
        let op = super::Op::of_function(f);
        assert_eq!(
            matches!(op, super::Op::Unknown),
            f.name == "info",
            "{}",
            f.name
        );
    }
    // A function description that is not an entry of the table is resolved by name.
    let own = Function {
        name: "abs",
        arg_types: &[],
        min_args: 1,
        variadic: false,
        return_type: crate::promql::ast::ValueType::Vector,
        experimental: false,
    };
    assert!(matches!(
        super::Op::of_function(&own),
        super::Op::Elementwise(_)
    ));
}

/// Every function, with empty inputs and with extreme values and timestamps: no panic
/// (tests run with overflow checks), and errors only where Prometheus has them.
#[test]
fn no_function_panics_on_extreme_input() {
    use crate::promql::ast::ValueType;
    use crate::promql::signatures::FUNCTIONS;
    let values = [
        0.,
        -0.,
        1.,
        -1.,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        1e300,
    ];
    let times = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];
    let points: Vec<Point> = times
        .iter()
        .flat_map(|&t| values.iter().map(move |&f| Point { t, f }))
        .collect();
    let metrics: Vec<Labels> = [
        "__name__=x,le=+Inf",
        "__name__=x,le=1",
        "__name__=x,le=NaN",
        "le=0x1p-1074",
        "",
        "a=1",
    ]
    .iter()
    .map(|m| labels(m))
    .collect();
    let vector: Vec<VectorSample> = metrics
        .iter()
        .enumerate()
        .flat_map(|(i, m)| {
            values.iter().map(move |&f| VectorSample {
                metric: m.clone(),
                t: times[i % times.len()],
                f,
                drop_name: i % 2 == 0,
            })
        })
        .collect();
    // Windows: the whole list, each single point, and sorted runs of two.
    let mut window_sets: Vec<Vec<SeriesWindow<'_>>> = vec![vec![]];
    window_sets.push(
        metrics
            .iter()
            .map(|m| SeriesWindow {
                metric: m,
                points: &points,
            })
            .collect(),
    );
    window_sets.push(
        points
            .chunks(2)
            .map(|c| SeriesWindow {
                metric: &metrics[0],
                points: c,
            })
            .collect(),
    );
    window_sets.push(
        points
            .chunks(1)
            .map(|c| SeriesWindow {
                metric: &metrics[1],
                points: c,
            })
            .collect(),
    );
    for f in FUNCTIONS.iter().filter(|f| f.name != "info") {
        for windows in &window_sets {
            for &scalar in &[0.5, f64::NAN, f64::INFINITY, -1.0, 1e300] {
                for vec in [&vector[..], &[][..]] {
                    let n = if f.variadic {
                        f.arg_types.len() + 1
                    } else {
                        f.arg_types.len()
                    };
                    let args: Vec<FnArg<'_>> = (0..n)
                        .map(|i| match f.arg_type(i) {
                            Some(ValueType::Scalar) => FnArg::Scalar(scalar),
                            Some(ValueType::String) => {
                                FnArg::String(if i == 1 { "dst" } else { "a" })
                            }
                            Some(ValueType::Vector) => FnArg::Vector(vec),
                            _ => FnArg::Matrix(windows),
                        })
                        .collect();
                    for (ts, end, range) in [
                        (0, 0, 1),
                        (i64::MAX, i64::MIN, i64::MAX),
                        (i64::MIN, i64::MAX, 1),
                    ] {
                        let o = run_with(f.name, ts, end, range, &args, &[]);
                        if let Err(e) = &o.out {
                            let allowed = f.name == "double_exponential_smoothing";
                            assert!(allowed, "{}: {e}", f.name);
                        }
                    }
                }
            }
        }
    }
}

/// Every `WindowKernel` gives, window by window, the samples and annotations `call` gives
/// for the same windows (the engine uses the kernel; the corpus runs through it).
#[test]
fn window_kernels_agree_with_call() {
    use super::WindowKernel;
    let mut seed = 3u64;
    let mut rnd = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let names = ["x_total", "gauge", "", "y_bucket"];
    let mut checked = 0;
    for f in crate::promql::signatures::FUNCTIONS {
        let Some(kernel) = WindowKernel::of(f) else {
            continue;
        };
        checked += 1;
        let arg = Expr::MatrixSelector(MatrixSelector {
            selector: selector(Some("m"), &[]),
            range: 5 * M,
            span: Span::new(0, 1),
        });
        for round in 0..40 {
            // Windows of 0..12 points, with resets, repeats, NaNs and infinities.
            let series: Vec<Series> = (0..6)
                .map(|s| {
                    let n = rnd(12) as usize;
                    let mut t = 5 * M - rnd(30) as i64 * S * 10;
                    let mut v = rnd(100) as f64;
                    let mut points = Vec::new();
                    for _ in 0..n {
                        v = match rnd(20) {
                            0 => f64::NAN,
                            1 => f64::INFINITY,
                            2 => v,
                            3 => rnd(10) as f64,
                            _ => v + rnd(50) as f64 - 5.0,
                        };
                        t += 1 + rnd(20_000) as i64;
                        points.push(Point { t, f: v });
                    }
                    let name = names[(s + round) % names.len()];
                    Series {
                        metric: labels(&format!("__name__={name},i={s}")),
                        points,
                    }
                })
                .collect();
            let window_end = series
                .iter()
                .flat_map(|s| s.points.last())
                .map(|p| p.t)
                .max()
                .unwrap_or(0);
            let windows: Vec<SeriesWindow<'_>> = series
                .iter()
                .filter(|s| !s.points.is_empty())
                .map(|s| SeriesWindow {
                    metric: &s.metric,
                    points: &s.points,
                })
                .collect();
            let args = [arg.clone()];
            let mut want_ann = Annotations::default();
            let mut ctx = FnCtx {
                ts: window_end,
                window_end,
                range: 5 * M,
                args: &args,
                span: Span::default(),
                annotations: &mut want_ann,
            };
            let want = match call(f, &[FnArg::Matrix(&windows)], &mut ctx) {
                Ok(FnOutput::Vector(v)) => v,
                other => panic!("{}: {other:?}", f.name),
            };
            let mut got = Vec::new();
            let mut got_ann = Annotations::default();
            for w in &windows {
                let Some(v) = kernel.value(w.points, window_end, 5 * M) else {
                    continue;
                };
                got.push(VectorSample {
                    metric: w.metric.clone(),
                    t: window_end,
                    f: v,
                    drop_name: kernel.drops_name(),
                });
                if let Some(name) = kernel.name_to_note(w.metric) {
                    let mut ctx = FnCtx {
                        ts: window_end,
                        window_end,
                        range: 5 * M,
                        args: &args,
                        span: Span::default(),
                        annotations: &mut got_ann,
                    };
                    kernel.note(name, &mut ctx);
                }
            }
            assert_eq!(
                format!("{got:?}"),
                format!("{want:?}"),
                "{} round {round}",
                f.name
            );
            assert_eq!(got_ann, want_ann, "{} round {round}", f.name);
        }
    }
    assert_eq!(checked, 21, "functions with a kernel");
}
