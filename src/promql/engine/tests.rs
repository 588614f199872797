//! Engine tests over `MemStorage` with hand-built expressions (no parser or function
//! needed): selectors, staleness, offsets and `@`, subquery alignment, binary operators
//! and matching errors, aggregations, name handling and limits.

use std::time::Duration;

use crate::model::{Labels, Matcher, stale_nan};
use crate::storage::{Appendable, MemStorage};

use super::super::ast::*;
use super::super::value::{Point, Value};
use super::{Cancel, Engine, EngineOptions, QueryError};

const S: i64 = 1000;
const M: i64 = 60 * S;

// ---- expression builders -------------------------------------------------------------

fn sp() -> Span {
    Span::default()
}

fn sel(name: &str, pairs: &[(&str, &str)]) -> VectorSelector {
    let mut matchers = vec![Matcher::equal("__name__", name)];
    matchers.extend(pairs.iter().map(|(n, v)| Matcher::equal(n, v)));
    VectorSelector {
        name: Some(name.to_string()),
        matchers,
        offset: 0,
        at: None,
        span: sp(),
    }
}

fn vs(name: &str) -> Expr {
    Expr::VectorSelector(sel(name, &[]))
}

fn vs_with(name: &str, pairs: &[(&str, &str)]) -> Expr {
    Expr::VectorSelector(sel(name, pairs))
}

fn vs_re(pattern: &str) -> Expr {
    Expr::VectorSelector(VectorSelector {
        name: None,
        matchers: vec![Matcher::new(crate::model::MatchOp::Regex, "__name__", pattern).unwrap()],
        offset: 0,
        at: None,
        span: sp(),
    })
}

fn offset(e: Expr, off: i64) -> Expr {
    match e {
        Expr::VectorSelector(mut v) => {
            v.offset = off;
            Expr::VectorSelector(v)
        }
        Expr::MatrixSelector(mut m) => {
            m.selector.offset = off;
            Expr::MatrixSelector(m)
        }
        Expr::Subquery(mut s) => {
            s.offset = off;
            Expr::Subquery(s)
        }
        e => e,
    }
}

fn at(e: Expr, a: At) -> Expr {
    match e {
        Expr::VectorSelector(mut v) => {
            v.at = Some(a);
            Expr::VectorSelector(v)
        }
        Expr::MatrixSelector(mut m) => {
            m.selector.at = Some(a);
            Expr::MatrixSelector(m)
        }
        Expr::Subquery(mut s) => {
            s.at = Some(a);
            Expr::Subquery(s)
        }
        e => e,
    }
}

fn mat(e: Expr, range: i64) -> Expr {
    let Expr::VectorSelector(selector) = e else {
        panic!("matrix of a non-selector")
    };
    Expr::MatrixSelector(MatrixSelector {
        selector,
        range,
        span: sp(),
    })
}

fn subq(e: Expr, range: i64, step: Option<i64>) -> Expr {
    Expr::Subquery(SubqueryExpr {
        expr: Box::new(e),
        range,
        step,
        offset: 0,
        at: None,
        span: sp(),
    })
}

fn num(v: f64) -> Expr {
    Expr::Number(NumberLiteral {
        value: v,
        span: sp(),
    })
}

fn neg(e: Expr) -> Expr {
    Expr::Unary(UnaryExpr {
        op: UnaryOp::Neg,
        expr: Box::new(e),
        span: sp(),
    })
}

fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
    let both_vec = l.value_type() == ValueType::Vector && r.value_type() == ValueType::Vector;
    let matching = both_vec.then(|| VectorMatching {
        card: if op.is_set() {
            Cardinality::ManyToMany
        } else {
            Cardinality::OneToOne
        },
        labels: vec![],
        on: false,
        include: vec![],
    });
    Expr::Binary(BinaryExpr {
        op,
        lhs: Box::new(l),
        rhs: Box::new(r),
        return_bool: false,
        matching,
        span: sp(),
    })
}

fn bool_bin(op: BinOp, l: Expr, r: Expr) -> Expr {
    let Expr::Binary(mut b) = bin(op, l, r) else {
        unreachable!()
    };
    b.return_bool = true;
    Expr::Binary(b)
}

fn matched(
    op: BinOp,
    l: Expr,
    r: Expr,
    card: Cardinality,
    on: bool,
    labels: &[&str],
    include: &[&str],
) -> Expr {
    let Expr::Binary(mut b) = bin(op, l, r) else {
        unreachable!()
    };
    b.matching = Some(VectorMatching {
        card,
        labels: labels.iter().map(|s| s.to_string()).collect(),
        on,
        include: include.iter().map(|s| s.to_string()).collect(),
    });
    Expr::Binary(b)
}

fn agg(op: AggOp, e: Expr, by: &[&str]) -> Expr {
    Expr::Aggregate(AggregateExpr {
        op,
        expr: Box::new(e),
        param: None,
        grouping: by.iter().map(|s| s.to_string()).collect(),
        without: false,
        span: sp(),
    })
}

fn agg_without(op: AggOp, e: Expr, without: &[&str]) -> Expr {
    let Expr::Aggregate(mut a) = agg(op, e, without) else {
        unreachable!()
    };
    a.without = true;
    Expr::Aggregate(a)
}

fn agg_p(op: AggOp, param: Expr, e: Expr, by: &[&str]) -> Expr {
    let Expr::Aggregate(mut a) = agg(op, e, by) else {
        unreachable!()
    };
    a.param = Some(Box::new(param));
    Expr::Aggregate(a)
}

fn string(s: &str) -> Expr {
    Expr::String(StringLiteral {
        value: s.to_string(),
        span: sp(),
    })
}

// ---- data and evaluation helpers ------------------------------------------------------

fn labels(name: &str, pairs: &[(&str, &str)]) -> Labels {
    let mut v: Vec<(&str, &str)> = vec![("__name__", name)];
    v.extend_from_slice(pairs);
    Labels::from_pairs(&v)
}

/// Loads `values` at 0, step, 2·step, …; `None` leaves a gap.
fn load(st: &MemStorage, l: &Labels, step: i64, values: &[Option<f64>]) {
    let mut a = st.appender();
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v {
            a.append(None, l, i as i64 * step, *v).unwrap();
        }
    }
    a.commit().unwrap();
}

fn series_up(st: &MemStorage, l: &Labels, step: i64, start: f64, inc: f64, n: usize) {
    let v: Vec<Option<f64>> = (0..n).map(|i| Some(start + inc * i as f64)).collect();
    load(st, l, step, &v);
}

fn engine() -> Engine {
    Engine::new(EngineOptions::default())
}

fn instant(st: &MemStorage, e: &Expr, t: i64) -> Value {
    engine().instant(st, e, t, &Cancel::new()).unwrap().value
}

fn instant_err(st: &MemStorage, e: &Expr, t: i64) -> String {
    engine()
        .instant(st, e, t, &Cancel::new())
        .unwrap_err()
        .to_string()
}

/// An instant vector result as sorted `(labels, value)` text pairs.
fn vec_of(v: Value) -> Vec<(String, f64)> {
    let Value::Vector(v) = v else {
        panic!("expected a vector, got {v:?}")
    };
    let mut out: Vec<(String, f64)> = v.into_iter().map(|s| (s.metric.to_string(), s.f)).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn ordered_vec(v: Value) -> Vec<(String, f64)> {
    let Value::Vector(v) = v else {
        panic!("expected a vector, got {v:?}")
    };
    v.into_iter().map(|s| (s.metric.to_string(), s.f)).collect()
}

fn range(
    st: &MemStorage,
    e: &Expr,
    start: i64,
    end: i64,
    step: i64,
) -> Vec<(String, Vec<(i64, f64)>)> {
    let r = engine()
        .range(st, e, start, end, step, &Cancel::new())
        .unwrap();
    let Value::Matrix(m) = r.value else {
        panic!("expected a matrix")
    };
    m.into_iter()
        .map(|s| {
            (
                s.metric.to_string(),
                s.points.iter().map(|p| (p.t, p.f)).collect(),
            )
        })
        .collect()
}

fn one(v: &[(String, f64)]) -> f64 {
    assert_eq!(v.len(), 1, "{v:?}");
    v[0].1
}

/// The usual fixture: http_requests{job, instance, group} at 5m steps, 0+N*10 increments.
fn http_requests() -> MemStorage {
    let st = MemStorage::new();
    let rows = [
        ("api-server", "0", "production", 1.0),
        ("api-server", "1", "production", 2.0),
        ("api-server", "0", "canary", 3.0),
        ("api-server", "1", "canary", 4.0),
        ("app-server", "0", "production", 5.0),
        ("app-server", "1", "production", 6.0),
        ("app-server", "0", "canary", 7.0),
        ("app-server", "1", "canary", 8.0),
    ];
    for (job, inst, group, k) in rows {
        let l = labels(
            "http_requests",
            &[("job", job), ("instance", inst), ("group", group)],
        );
        series_up(&st, &l, 5 * M, 0.0, 10.0 * k, 11);
    }
    st
}

// ---- selectors -------------------------------------------------------------------------

#[test]
fn instant_selector_uses_lookback_and_left_open_window() {
    let st = MemStorage::new();
    load(&st, &labels("x", &[]), M, &[Some(1.0), Some(2.0)]);
    // The latest sample at or before t.
    assert_eq!(
        vec_of(instant(&st, &vs("x"), 90 * S)),
        vec![("{__name__=\"x\"}".into(), 2.0)]
    );
    // Exactly lookback after the last sample: outside the left-open window.
    assert!(vec_of(instant(&st, &vs("x"), M + 5 * M)).is_empty());
    assert_eq!(one(&vec_of(instant(&st, &vs("x"), M + 5 * M - 1))), 2.0);
    // Before the first sample: nothing.
    assert!(vec_of(instant(&st, &vs("x"), -1)).is_empty());
}

#[test]
fn stale_marker_hides_the_series() {
    let st = MemStorage::new();
    load(
        &st,
        &labels("x", &[]),
        M,
        &[Some(1.0), Some(stale_nan()), Some(3.0)],
    );
    assert_eq!(one(&vec_of(instant(&st, &vs("x"), 30 * S))), 1.0);
    assert!(vec_of(instant(&st, &vs("x"), M + 30 * S)).is_empty());
    assert_eq!(one(&vec_of(instant(&st, &vs("x"), 2 * M))), 3.0);
}

#[test]
fn offsets_and_at_move_the_reference_time() {
    let st = MemStorage::new();
    series_up(&st, &labels("x", &[]), 10 * S, 0.0, 1.0, 100);
    assert_eq!(
        one(&vec_of(instant(&st, &offset(vs("x"), 50 * S), 100 * S))),
        5.0
    );
    assert_eq!(
        one(&vec_of(instant(&st, &offset(vs("x"), -50 * S), 0))),
        5.0
    );
    assert_eq!(
        one(&vec_of(instant(
            &st,
            &at(vs("x"), At::Time(100 * S)),
            10 * S
        ))),
        10.0
    );
    let e = offset(at(vs("x"), At::Time(100 * S)), 50 * S);
    assert_eq!(one(&vec_of(instant(&st, &e, 10 * S))), 5.0);
    // @ end() in a range query pins every step to the end.
    let e = at(vs("x"), At::End);
    let r = range(&st, &e, 0, 100 * S, 50 * S);
    assert_eq!(r[0].1, vec![(0, 10.0), (50 * S, 10.0), (100 * S, 10.0)]);
}

#[test]
fn bare_matrix_selector_keeps_raw_timestamps_and_drops_stale_markers() {
    let st = MemStorage::new();
    load(
        &st,
        &labels("x", &[]),
        M,
        &[Some(1.0), Some(2.0), Some(stale_nan()), Some(4.0)],
    );
    let Value::Matrix(m) = instant(&st, &mat(vs("x"), 3 * M), 3 * M) else {
        panic!()
    };
    // (0, 3m]: the sample at 0 is excluded, the stale marker dropped.
    assert_eq!(
        m[0].points,
        vec![Point { t: M, f: 2.0 }, Point { t: 3 * M, f: 4.0 }]
    );
    let err = engine()
        .range(&st, &mat(vs("x"), M), 0, M, S, &Cancel::new())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"
    );
}

#[test]
fn range_query_evaluates_every_step_and_sorts_series() {
    let st = MemStorage::new();
    series_up(&st, &labels("x", &[("a", "2")]), M, 0.0, 1.0, 10);
    series_up(&st, &labels("x", &[("a", "1")]), M, 100.0, 1.0, 3);
    let r = range(&st, &vs("x"), 0, 9 * M, 3 * M);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].0, "{__name__=\"x\", a=\"1\"}");
    // Last sample at 2m, visible until 7m (exclusive).
    assert_eq!(r[0].1, vec![(0, 100.0), (3 * M, 102.0), (6 * M, 102.0)]);
    assert_eq!(
        r[1].1,
        vec![(0, 0.0), (3 * M, 3.0), (6 * M, 6.0), (9 * M, 9.0)]
    );
    // A scalar becomes one series without labels.
    let r = range(&st, &num(7.0), 0, 2 * M, M);
    assert_eq!(
        r,
        vec![("{}".to_string(), vec![(0, 7.0), (M, 7.0), (2 * M, 7.0)])]
    );
}

// ---- subqueries ------------------------------------------------------------------------

#[test]
fn subquery_steps_are_aligned_to_multiples_of_the_step() {
    let st = MemStorage::new();
    series_up(&st, &labels("x", &[]), 10 * S, 0.0, 1.0, 100);
    let Value::Matrix(m) = instant(&st, &subq(vs("x"), 60 * S, Some(25 * S)), 107 * S) else {
        panic!()
    };
    let ts: Vec<i64> = m[0].points.iter().map(|p| p.t).collect();
    assert_eq!(ts, vec![50 * S, 75 * S, 100 * S]);
    // Offset shifts the window; default step is 1m.
    let Value::Matrix(m) = instant(&st, &offset(subq(vs("x"), 3 * M, None), 30 * S), 5 * M) else {
        panic!()
    };
    let ts: Vec<i64> = m[0].points.iter().map(|p| p.t).collect();
    assert_eq!(ts, vec![2 * M, 3 * M, 4 * M]);
    // Negative times align too.
    let Value::Matrix(m) = instant(&st, &subq(num(1.0).clone(), 50 * S, Some(20 * S)), -S) else {
        // Scalars inside subqueries are rejected by the parser; the engine still copes.
        panic!()
    };
    let ts: Vec<i64> = m[0].points.iter().map(|p| p.t).collect();
    assert_eq!(ts, vec![-40 * S, -20 * S]);
}

#[test]
fn nested_subquery_with_at() {
    let st = MemStorage::new();
    series_up(&st, &labels("x", &[]), 10 * S, 0.0, 1.0, 100);
    let inner = at(subq(vs("x"), 30 * S, Some(10 * S)), At::Time(100 * S));
    let Value::Matrix(m) = instant(&st, &inner, 5 * S) else {
        panic!()
    };
    let pts: Vec<(i64, f64)> = m[0].points.iter().map(|p| (p.t, p.f)).collect();
    assert_eq!(pts, vec![(80 * S, 8.0), (90 * S, 9.0), (100 * S, 10.0)]);
}

// ---- unary and binary operators ------------------------------------------------------

#[test]
fn unary_minus_drops_the_name_and_detects_collisions() {
    let st = MemStorage::new();
    load(&st, &labels("a", &[("x", "1")]), M, &[Some(1.0)]);
    load(&st, &labels("b", &[("x", "1")]), M, &[Some(2.0)]);
    assert_eq!(
        vec_of(instant(&st, &neg(vs("a")), 0)),
        vec![("{x=\"1\"}".into(), -1.0)]
    );
    assert_eq!(
        instant_err(&st, &neg(vs_re("a|b")), 0),
        "vector cannot contain metrics with the same labelset"
    );
}

#[test]
fn scalar_arithmetic_and_comparisons() {
    let st = http_requests();
    let Value::Scalar { v, .. } = instant(&st, &bin(BinOp::Mod, num(-7.0), num(3.0)), 0) else {
        panic!()
    };
    assert_eq!(v, -1.0);
    let Value::Scalar { v, .. } = instant(&st, &bin(BinOp::Pow, num(2.0), num(10.0)), 0) else {
        panic!()
    };
    assert_eq!(v, 1024.0);
    // Vector/scalar arithmetic drops the name.
    let e = bin(
        BinOp::Mul,
        vs_with(
            "http_requests",
            &[
                ("job", "api-server"),
                ("instance", "0"),
                ("group", "canary"),
            ],
        ),
        num(2.0),
    );
    assert_eq!(
        vec_of(instant(&st, &e, 50 * M)),
        vec![(
            "{group=\"canary\", instance=\"0\", job=\"api-server\"}".into(),
            600.0
        )]
    );
    // Filtering keeps the name and the vector's value, also with the scalar on the left.
    let e = bin(BinOp::Lss, num(700.0), vs("http_requests"));
    let got = vec_of(instant(&st, &e, 50 * M));
    assert_eq!(got.len(), 1);
    assert!(got[0].0.starts_with("{__name__=\"http_requests\""));
    assert_eq!(got[0].1, 800.0);
    // bool gives 0/1 and drops the name.
    let e = bool_bin(BinOp::Gtr, vs("http_requests"), num(700.0));
    let got = vec_of(instant(&st, &e, 50 * M));
    assert_eq!(got.len(), 8);
    assert!(
        got.iter()
            .all(|(l, v)| !l.contains("__name__") && (*v == 0.0 || *v == 1.0))
    );
}

#[test]
fn vector_matching_one_to_one_and_group_left() {
    let st = MemStorage::new();
    load(
        &st,
        &labels("a", &[("i", "1"), ("j", "x")]),
        M,
        &[Some(10.0)],
    );
    load(
        &st,
        &labels("a", &[("i", "2"), ("j", "x")]),
        M,
        &[Some(20.0)],
    );
    load(
        &st,
        &labels("b", &[("i", "1"), ("k", "y")]),
        M,
        &[Some(2.0)],
    );
    load(
        &st,
        &labels("b", &[("i", "2"), ("k", "z")]),
        M,
        &[Some(4.0)],
    );
    let e = matched(
        BinOp::Div,
        vs("a"),
        vs("b"),
        Cardinality::OneToOne,
        true,
        &["i"],
        &[],
    );
    assert_eq!(
        vec_of(instant(&st, &e, 0)),
        vec![("{i=\"1\"}".into(), 5.0), ("{i=\"2\"}".into(), 5.0)]
    );
    let e = matched(
        BinOp::Mul,
        vs("a"),
        vs("b"),
        Cardinality::ManyToOne,
        true,
        &["i"],
        &["k"],
    );
    assert_eq!(
        vec_of(instant(&st, &e, 0)),
        vec![
            ("{i=\"1\", j=\"x\", k=\"y\"}".into(), 20.0),
            ("{i=\"2\", j=\"x\", k=\"z\"}".into(), 80.0)
        ]
    );
    // Without on(), the label sets differ: nothing matches.
    assert!(vec_of(instant(&st, &bin(BinOp::Add, vs("a"), vs("b")), 0)).is_empty());
    // Comparison with ignoring keeps the lhs labels minus ignored ones.
    let e = matched(
        BinOp::Gtr,
        vs("a"),
        vs("b"),
        Cardinality::OneToOne,
        true,
        &["i"],
        &[],
    );
    assert_eq!(vec_of(instant(&st, &e, 0)).len(), 2);
}

#[test]
fn vector_matching_errors_use_prometheus_wording() {
    let st = MemStorage::new();
    load(
        &st,
        &labels("a", &[("i", "1"), ("j", "x")]),
        M,
        &[Some(10.0)],
    );
    load(
        &st,
        &labels("a", &[("i", "1"), ("j", "y")]),
        M,
        &[Some(20.0)],
    );
    load(&st, &labels("b", &[("i", "1")]), M, &[Some(2.0)]);
    let e = matched(
        BinOp::Add,
        vs("a"),
        vs("b"),
        Cardinality::OneToOne,
        true,
        &["i"],
        &[],
    );
    assert_eq!(
        instant_err(&st, &e, 0),
        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
    );
    let e = matched(
        BinOp::Add,
        vs("b"),
        vs("a"),
        Cardinality::OneToOne,
        true,
        &["i"],
        &[],
    );
    assert_eq!(
        instant_err(&st, &e, 0),
        "found duplicate series for the match group {i=\"1\"} on the right hand-side of the operation: \
         [{__name__=\"a\", i=\"1\", j=\"y\"}, {__name__=\"a\", i=\"1\", j=\"x\"}];many-to-many matching \
         not allowed: matching labels must be unique on one side"
    );
    let e = matched(
        BinOp::Add,
        vs("a"),
        vs("b"),
        Cardinality::OneToMany,
        true,
        &["i"],
        &[],
    );
    assert!(instant_err(&st, &e, 0).contains("on the left hand-side"));
}

#[test]
fn set_operators() {
    let st = http_requests();
    let canary = vs_with("http_requests", &[("group", "canary")]);
    let api = vs_with("http_requests", &[("job", "api-server")]);
    assert_eq!(
        vec_of(instant(
            &st,
            &bin(BinOp::And, canary.clone(), api.clone()),
            50 * M
        ))
        .len(),
        2
    );
    assert_eq!(
        vec_of(instant(
            &st,
            &bin(BinOp::Or, canary.clone(), api.clone()),
            50 * M
        ))
        .len(),
        6
    );
    assert_eq!(
        vec_of(instant(
            &st,
            &bin(BinOp::Unless, canary.clone(), api.clone()),
            50 * M
        ))
        .len(),
        2
    );
    let e = matched(
        BinOp::And,
        vs("http_requests"),
        api,
        Cardinality::ManyToMany,
        true,
        &["job"],
        &[],
    );
    assert_eq!(vec_of(instant(&st, &e, 50 * M)).len(), 4);
    // `or` in a range query merges the sides per step.
    let st = MemStorage::new();
    load(
        &st,
        &labels("a", &[]),
        M,
        &[Some(1.0), None, None, None, None, None, None, None],
    );
    load(
        &st,
        &labels("b", &[]),
        M,
        &[None, None, None, None, None, None, None, Some(2.0)],
    );
    let r = range(&st, &bin(BinOp::Or, vs("a"), vs("b")), 0, 10 * M, 5 * M);
    assert_eq!(r.len(), 2);
}

// ---- aggregations ----------------------------------------------------------------------

#[test]
fn basic_aggregations() {
    let st = http_requests();
    let got = vec_of(instant(
        &st,
        &agg(AggOp::Sum, vs("http_requests"), &["job"]),
        50 * M,
    ));
    assert_eq!(
        got,
        vec![
            ("{job=\"api-server\"}".into(), 1000.0),
            ("{job=\"app-server\"}".into(), 2600.0)
        ]
    );
    assert_eq!(
        one(&vec_of(instant(
            &st,
            &agg(AggOp::Avg, vs("http_requests"), &[]),
            50 * M
        ))),
        450.0
    );
    assert_eq!(
        one(&vec_of(instant(
            &st,
            &agg(AggOp::Count, vs("http_requests"), &[]),
            50 * M
        ))),
        8.0
    );
    assert_eq!(
        one(&vec_of(instant(
            &st,
            &agg(AggOp::Max, vs("http_requests"), &[]),
            50 * M
        ))),
        800.0
    );
    assert_eq!(
        one(&vec_of(instant(
            &st,
            &agg(AggOp::Min, vs("http_requests"), &[]),
            50 * M
        ))),
        100.0
    );
    assert_eq!(
        one(&vec_of(instant(
            &st,
            &agg(AggOp::Group, vs("http_requests"), &[]),
            50 * M
        ))),
        1.0
    );
    let sd = one(&vec_of(instant(
        &st,
        &agg(AggOp::Stddev, vs("http_requests"), &[]),
        50 * M,
    )));
    assert!((sd - 229.128784747792).abs() < 1e-9, "{sd}");
    let sv = one(&vec_of(instant(
        &st,
        &agg(AggOp::Stdvar, vs("http_requests"), &[]),
        50 * M,
    )));
    assert!((sv - 52500.0).abs() < 1e-6);
    let q = agg_p(AggOp::Quantile, num(0.5), vs("http_requests"), &[]);
    assert_eq!(one(&vec_of(instant(&st, &q, 50 * M))), 450.0);
    let got = vec_of(instant(
        &st,
        &agg_without(AggOp::Sum, vs("http_requests"), &["instance"]),
        50 * M,
    ));
    assert_eq!(got.len(), 4);
    assert!(
        got.iter()
            .all(|(l, _)| !l.contains("__name__") && !l.contains("instance"))
    );
}

#[test]
fn quantile_warns_about_out_of_range_parameters() {
    let st = http_requests();
    let q = agg_p(AggOp::Quantile, num(1.5), vs("http_requests"), &[]);
    let r = engine().instant(&st, &q, 50 * M, &Cancel::new()).unwrap();
    let msgs: Vec<String> = r.annotations.iter().map(|a| a.text()).collect();
    assert_eq!(
        msgs,
        vec!["PromQL warning: quantile value should be between 0 and 1, got 1.5"]
    );
}

#[test]
fn topk_and_bottomk_order_like_prometheus() {
    let st = http_requests();
    let e = agg_p(AggOp::Topk, num(3.0), vs("http_requests"), &[]);
    let got = ordered_vec(instant(&st, &e, 50 * M));
    let vals: Vec<f64> = got.iter().map(|x| x.1).collect();
    assert_eq!(vals, vec![800.0, 700.0, 600.0]);
    let e = agg_p(AggOp::Bottomk, num(3.0), vs("http_requests"), &[]);
    let vals: Vec<f64> = ordered_vec(instant(&st, &e, 50 * M))
        .iter()
        .map(|x| x.1)
        .collect();
    assert_eq!(vals, vec![100.0, 200.0, 300.0]);
    let e = agg_p(AggOp::Topk, num(f64::NAN), vs("http_requests"), &[]);
    assert_eq!(
        instant_err(&st, &e, 50 * M),
        "Scalar value NaN overflows int64"
    );
    // NaN is sorted away from the top.
    let st = MemStorage::new();
    load(&st, &labels("x", &[("i", "0")]), M, &[Some(100.0)]);
    load(&st, &labels("x", &[("i", "1")]), M, &[Some(200.0)]);
    load(&st, &labels("x", &[("i", "2")]), M, &[Some(f64::NAN)]);
    let e = agg_p(AggOp::Topk, num(3.0), vs("x"), &[]);
    let got = ordered_vec(instant(&st, &e, 0));
    assert_eq!(got[0].1, 200.0);
    assert_eq!(got[1].1, 100.0);
    assert!(got[2].1.is_nan());
    let e = agg_p(AggOp::Bottomk, num(3.0), vs("x"), &[]);
    let got = ordered_vec(instant(&st, &e, 0));
    assert_eq!(got[0].1, 100.0);
    assert_eq!(got[1].1, 200.0);
    assert!(got[2].1.is_nan());
}

#[test]
fn count_values_labels_values_like_go() {
    let st = MemStorage::new();
    load(&st, &labels("v", &[("i", "0")]), M, &[Some(6.0)]);
    load(&st, &labels("v", &[("i", "1")]), M, &[Some(6.0)]);
    load(&st, &labels("v", &[("i", "2")]), M, &[Some(0.5)]);
    let e = agg_p(AggOp::CountValues, string("version"), vs("v"), &[]);
    assert_eq!(
        vec_of(instant(&st, &e, 0)),
        vec![
            ("{version=\"0.5\"}".into(), 1.0),
            ("{version=\"6\"}".into(), 2.0)
        ]
    );
    let e = agg_p(AggOp::CountValues, string(""), vs("v"), &[]);
    assert_eq!(instant_err(&st, &e, 0), "invalid label name \"\"");
}

#[test]
fn topk_in_range_query() {
    let st = http_requests();
    let e = agg(
        AggOp::Count,
        agg_p(AggOp::Topk, num(2.0), vs("http_requests"), &[]),
        &[],
    );
    let r = range(&st, &e, 0, 10 * M, 5 * M);
    assert_eq!(r[0].1, vec![(0, 2.0), (5 * M, 2.0), (10 * M, 2.0)]);
    let e = agg_p(AggOp::Topk, num(1.0), vs("http_requests"), &["job"]);
    let r = range(&st, &e, 0, 10 * M, 5 * M);
    // At 0 all values tie (0): the first of each group stays on the heap.
    assert_eq!(r.len(), 4, "{r:?}");
}

// ---- names, invariants, limits ---------------------------------------------------------

#[test]
fn delayed_name_removal_strips_at_the_end() {
    let st = MemStorage::new();
    load(&st, &labels("a", &[("x", "1")]), M, &[Some(1.0)]);
    load(&st, &labels("b", &[("x", "1")]), M, &[Some(2.0)]);
    let opts = EngineOptions {
        delayed_name_removal: true,
        ..EngineOptions::default()
    };
    let e = Engine::new(opts);
    // sum by (__name__) of negated series keeps the groups apart, then the names go.
    let q = agg(AggOp::Sum, neg(vs_re("a|b")), &["__name__"]);
    let err = e
        .instant(&st, &q, 0, &Cancel::new())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "vector cannot contain metrics with the same labelset");
    let q = agg(AggOp::Sum, neg(vs_re("a|b")), &["x"]);
    let r = e.instant(&st, &q, 0, &Cancel::new()).unwrap();
    assert_eq!(vec_of(r.value), vec![("{x=\"1\"}".into(), -3.0)]);
}

#[test]
fn step_invariant_subtree_is_replicated() {
    let st = MemStorage::new();
    series_up(&st, &labels("x", &[]), 10 * S, 0.0, 1.0, 100);
    let e = agg(AggOp::Sum, at(vs("x"), At::Time(100 * S)), &[]);
    let r = range(&st, &e, 0, 30 * S, 10 * S);
    assert_eq!(
        r[0].1,
        vec![(0, 10.0), (10 * S, 10.0), (20 * S, 10.0), (30 * S, 10.0)]
    );
    let e = bin(BinOp::Add, at(vs("x"), At::Start), vs("x"));
    let r = range(&st, &e, 100 * S, 120 * S, 10 * S);
    assert_eq!(
        r[0].1,
        vec![(100 * S, 20.0), (110 * S, 21.0), (120 * S, 22.0)]
    );
}

#[test]
fn limits_cancel_timeout_and_hostile_inputs() {
    let st = http_requests();
    let opts = EngineOptions {
        max_samples: 10,
        ..EngineOptions::default()
    };
    let err = Engine::new(opts)
        .range(&st, &vs("http_requests"), 0, 50 * M, 5 * M, &Cancel::new())
        .unwrap_err();
    assert!(
        matches!(err, QueryError::TooManySamples("query execution")),
        "{err}"
    );

    let cancel = Cancel::new();
    cancel.cancel();
    let err = engine()
        .instant(&st, &vs("http_requests"), 0, &cancel)
        .unwrap_err();
    assert!(matches!(err, QueryError::Canceled(_)), "{err}");

    let opts = EngineOptions {
        timeout: Duration::from_nanos(1),
        ..EngineOptions::default()
    };
    let err = Engine::new(opts)
        .instant(
            &st,
            &agg(AggOp::Count, vs("http_requests"), &[]),
            0,
            &Cancel::new(),
        )
        .unwrap_err();
    assert!(
        matches!(err, QueryError::Timeout("expression evaluation")),
        "{err}"
    );

    // Extreme offsets, @ times and ranges never panic.
    for e in [
        offset(vs("http_requests"), i64::MAX),
        offset(vs("http_requests"), i64::MIN),
        at(vs("http_requests"), At::Time(i64::MIN)),
        offset(at(vs("http_requests"), At::Time(i64::MAX)), i64::MIN),
        mat(offset(vs("http_requests"), i64::MIN), i64::MAX),
        subq(vs("http_requests"), i64::MAX, Some(i64::MAX)),
        offset(subq(vs("http_requests"), M, Some(1)), i64::MIN),
    ] {
        let _ = engine().instant(&st, &e, i64::MAX, &Cancel::new());
        let _ = engine().instant(&st, &e, i64::MIN, &Cancel::new());
    }
    let _ = engine().range(
        &st,
        &vs("http_requests"),
        i64::MIN,
        i64::MAX,
        i64::MAX,
        &Cancel::new(),
    );
    let err = engine()
        .range(&st, &vs("http_requests"), 0, 10, 0, &Cancel::new())
        .unwrap_err();
    assert!(err.to_string().contains("zero or negative"), "{err}");
}

#[test]
fn huge_subquery_hits_the_sample_limit_instead_of_exhausting_memory() {
    let st = http_requests();
    let opts = EngineOptions {
        max_samples: 1000,
        ..EngineOptions::default()
    };
    let e = subq(vs("http_requests"), 1_000_000 * M, Some(S));
    let err = Engine::new(opts)
        .instant(&st, &e, 60 * M, &Cancel::new())
        .unwrap_err();
    assert!(matches!(err, QueryError::TooManySamples(_)), "{err}");
}

#[test]
fn prometheus_labels_hash_matches_go() {
    // xxhash64 of the packed encoding of {__name__="a"}: 0x08 "__name__" 0x01 "a".
    let l = Labels::from_pairs(&[("__name__", "a")]);
    let mut buf = vec![8u8];
    buf.extend_from_slice(b"__name__");
    buf.push(1);
    buf.push(b'a');
    assert_eq!(
        super::series::prometheus_labels_hash(&l),
        xxhash_rust::xxh64::xxh64(&buf, 0)
    );
}

// ---- function calls --------------------------------------------------------------------

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Call(Call {
        func: super::super::signatures::lookup(name).unwrap(),
        args,
        span: sp(),
    })
}

#[test]
fn rate_over_a_range_query_reads_each_series_once() {
    let st = MemStorage::new();
    series_up(
        &st,
        &labels("c_total", &[("i", "1")]),
        15 * S,
        0.0,
        15.0,
        200,
    );
    series_up(
        &st,
        &labels("c_total", &[("i", "2")]),
        15 * S,
        0.0,
        30.0,
        200,
    );
    let e = call("rate", vec![mat(vs("c_total"), 5 * M)]);
    let r = range(&st, &e, 10 * M, 20 * M, 5 * M);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].0, "{i=\"1\"}");
    for (_, v) in &r[0].1 {
        assert!((v - 1.0).abs() < 1e-9, "{v}");
    }
    for (_, v) in &r[1].1 {
        assert!((v - 2.0).abs() < 1e-9, "{v}");
    }
    // Instant and range agree at the same time.
    let v = vec_of(instant(&st, &e, 15 * M));
    assert!((v[1].1 - 2.0).abs() < 1e-9);
    // sum by of it.
    let e = agg(AggOp::Sum, e, &[]);
    let r = range(&st, &e, 10 * M, 20 * M, 5 * M);
    assert!((r[0].1[0].1 - 3.0).abs() < 1e-9);
}

#[test]
fn last_over_time_keeps_the_name_and_absent_over_time_fills_gaps() {
    let st = MemStorage::new();
    load(
        &st,
        &labels("x", &[("a", "b")]),
        M,
        &[Some(1.0), None, None, None, None, None, Some(7.0)],
    );
    let e = call("last_over_time", vec![mat(vs("x"), 2 * M)]);
    assert_eq!(
        vec_of(instant(&st, &e, M)),
        vec![("{__name__=\"x\", a=\"b\"}".into(), 1.0)]
    );
    let e = call(
        "absent_over_time",
        vec![mat(vs_with("x", &[("a", "b")]), 2 * M)],
    );
    let r = range(&st, &e, 0, 6 * M, M);
    assert_eq!(r[0].0, "{a=\"b\"}");
    let ts: Vec<i64> = r[0].1.iter().map(|p| p.0).collect();
    assert_eq!(ts, vec![2 * M, 3 * M, 4 * M, 5 * M]);
}

#[test]
fn max_over_time_of_a_rate_subquery() {
    let st = MemStorage::new();
    series_up(&st, &labels("c_total", &[]), 15 * S, 0.0, 15.0, 400);
    let inner = call("rate", vec![mat(vs("c_total"), M)]);
    let e = call("max_over_time", vec![subq(inner, 30 * M, Some(M))]);
    let v = one(&vec_of(instant(&st, &e, 60 * M)));
    assert!((v - 1.0).abs() < 1e-9, "{v}");
    let r = range(&st, &e, 40 * M, 60 * M, 10 * M);
    assert_eq!(r[0].1.len(), 3);
}

#[test]
fn timestamp_sees_raw_sample_times() {
    let st = MemStorage::new();
    load(&st, &labels("x", &[]), 10 * S, &[Some(1.0), Some(2.0)]);
    let e = call("timestamp", vec![vs("x")]);
    assert_eq!(one(&vec_of(instant(&st, &e, 15 * S))), 10.0);
    // Of an expression, it is the evaluation time.
    let e = call("timestamp", vec![neg(vs("x"))]);
    assert_eq!(one(&vec_of(instant(&st, &e, 15 * S))), 15.0);
    // With @, the sample at the @ time.
    let e = call("timestamp", vec![at(vs("x"), At::Time(5 * S))]);
    assert_eq!(one(&vec_of(instant(&st, &e, 15 * S))), 0.0);
    let r = range(&st, &e, 0, 20 * S, 10 * S);
    assert_eq!(r[0].1, vec![(0, 0.0), (10 * S, 0.0), (20 * S, 0.0)]);
}

#[test]
fn label_replace_relabels_series_once_and_rejects_collisions() {
    let st = MemStorage::new();
    load(
        &st,
        &labels("x", &[("src", "a")]),
        M,
        &[Some(1.0), Some(2.0)],
    );
    load(
        &st,
        &labels("x", &[("src", "b")]),
        M,
        &[Some(3.0), Some(4.0)],
    );
    let e = call(
        "label_replace",
        vec![
            vs("x"),
            string("dst"),
            string("v-$1"),
            string("src"),
            string("(.*)"),
        ],
    );
    let r = range(&st, &e, 0, M, M);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].0, "{__name__=\"x\", dst=\"v-a\", src=\"a\"}");
    let e = call(
        "label_replace",
        vec![vs("x"), string("src"), string(""), string(""), string("")],
    );
    assert_eq!(
        instant_err(&st, &e, 0),
        "vector cannot contain metrics with the same labelset"
    );
    // A bad regex fails even when nothing is selected.
    let e = call(
        "label_replace",
        vec![
            vs("nothing"),
            string("dst"),
            string(""),
            string("src"),
            string("(.*"),
        ],
    );
    assert!(engine().instant(&st, &e, 0, &Cancel::new()).is_err());
}

#[test]
fn functions_of_vectors_in_range_queries_merge_by_labels() {
    let st = MemStorage::new();
    load(&st, &labels("a", &[("x", "1")]), M, &[Some(-1.0)]);
    load(
        &st,
        &labels("b", &[("x", "1")]),
        M,
        &[None, None, None, Some(-3.0)],
    );
    // abs drops the names; at 0 only a exists, at 7m only b: they merge into one series.
    let e = call("abs", vec![vs_re("a|b")]);
    let r = range(&st, &e, 0, 7 * M, 7 * M);
    assert_eq!(
        r,
        vec![("{x=\"1\"}".to_string(), vec![(0, 1.0), (7 * M, 3.0)])]
    );
    // At 3m both exist: the same label set twice at one step.
    let err = engine()
        .range(&st, &e, 0, 6 * M, 3 * M, &Cancel::new())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "vector cannot contain metrics with the same labelset"
    );
    // time() and vector() give a value at every step.
    let e = call("vector", vec![call("time", vec![])]);
    let r = range(&st, &e, 0, 2 * M, M);
    assert_eq!(r[0].1, vec![(0, 0.0), (M, 60.0), (2 * M, 120.0)]);
}

/// The v3.5 corpus with name removal not delayed (Prometheus's default server setting):
/// exactly the cases whose expectations rely on the delayed removal the upstream harness
/// switches on may fail, and nothing else.
#[test]
fn corpus_without_delayed_name_removal() {
    use super::super::promqltest::{RunOptions, harness_engine_options, run_file};
    const NEEDS_DELAYED_REMOVAL: &[&str] = &[
        "name_label_dropping.test:51",
        "name_label_dropping.test:56",
        "name_label_dropping.test:61",
        "name_label_dropping.test:66",
        "name_label_dropping.test:80",
        "type_and_unit.test:77",
        "type_and_unit.test:92",
        "type_and_unit.test:222",
        "type_and_unit.test:237",
    ];
    let root = std::env::var_os("KMON_PROMQL_CORPUS").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/promql-tests"),
        std::path::PathBuf::from,
    );
    let dir = root.join("v3.5");
    if !dir.is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the PromQL corpus is missing at {}",
            dir.display()
        );
        eprintln!("no PromQL corpus at {}: skipped", dir.display());
        return;
    }
    let mut opts = RunOptions {
        skip_unsupported: true,
        engine: harness_engine_options(),
    };
    opts.engine.delayed_name_removal = false;
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("reading the corpus folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    let mut failed = Vec::new();
    let mut passed = 0;
    for f in &files {
        let r = run_file(f, &opts);
        for c in &r.cases {
            if c.outcome.is_fail() {
                let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("?");
                failed.push((format!("{name}:{}", c.line), c.to_string()));
            } else if c.outcome.is_pass() {
                passed += 1;
            }
        }
    }
    let unexpected: Vec<_> = failed
        .iter()
        .filter(|(at, _)| !NEEDS_DELAYED_REMOVAL.contains(&at.as_str()))
        .map(|(_, c)| c.as_str())
        .collect();
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    assert!(passed > 800, "only {passed} cases passed");
}

/// Every expression of the conformance corpus, at hostile times and steps, over a small
/// data set: errors are fine, panics are not.
#[test]
fn corpus_expressions_never_panic_at_extreme_times() {
    use super::super::parser::{ParseOptions, parse_with};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/promql-tests/v3.5");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("corpus not found at {}; skipping", dir.display());
        return;
    };
    let opts = ParseOptions {
        experimental_functions: true,
        duration_expressions: true,
    };
    let mut exprs = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "test") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        for line in text.lines() {
            let l = line.trim();
            let rest = if let Some(i) = l.find(" at ") {
                if !l.starts_with("eval") {
                    continue;
                }
                &l[i + 4..]
            } else if l.starts_with("eval") && l.contains(" step ") {
                let Some(i) = l.find(" step ") else { continue };
                &l[i + 6..]
            } else {
                continue;
            };
            // Skip the time/step token.
            let Some((_, q)) = rest.split_once(' ') else {
                continue;
            };
            if let Ok(e) = parse_with(q, &opts) {
                exprs.push(e);
            }
        }
    }
    assert!(exprs.len() > 1000, "{} expressions", exprs.len());
    let st = http_requests();
    series_up(&st, &labels("x_total", &[("a", "1")]), 15 * S, 0.0, 1.0, 40);
    load(
        &st,
        &labels("x_total", &[("a", "2")]),
        15 * S,
        &[
            Some(1.0),
            Some(stale_nan()),
            Some(f64::NAN),
            Some(f64::INFINITY),
        ],
    );
    let opts = EngineOptions {
        max_samples: 200_000,
        timeout: Duration::from_secs(20),
        ..EngineOptions::default()
    };
    let eng = Engine::new(opts);
    let cancel = Cancel::new();
    for e in &exprs {
        for t in [i64::MIN, -1, 0, 7 * M + 1, i64::MAX] {
            let _ = eng.instant(&st, e, t, &cancel);
        }
        for (s, en, step) in [
            (0, 20 * M, 7 * M),
            (i64::MIN, i64::MIN + 10, 3),
            (i64::MAX - 10, i64::MAX, 5),
            (-M, M, i64::MAX),
        ] {
            let _ = eng.range(&st, e, s, en, step, &cancel);
        }
    }
}

#[test]
fn huge_step_counts_stop_at_the_sample_limit() {
    use super::super::parser::parse;
    let st = http_requests();
    let opts = EngineOptions {
        max_samples: 100_000,
        ..EngineOptions::default()
    };
    let eng = Engine::new(opts);
    for q in [
        "max_over_time(vector(time())[100y:1s])",
        "count_over_time(vector(1)[100y:1ms])",
        "sum_over_time((http_requests > 0)[100y:1ms])",
        "max_over_time(sum(http_requests)[100y:1ms])",
        "max_over_time((-http_requests)[100y:1ms])",
        "max_over_time((http_requests + http_requests)[100y:1ms])",
        "max_over_time((http_requests or http_requests)[100y:1ms])",
    ] {
        let e = parse(q).unwrap();
        let err = eng.instant(&st, &e, 50 * M, &Cancel::new()).unwrap_err();
        assert!(matches!(err, QueryError::TooManySamples(_)), "{q}: {err}");
    }
    // Over no data, steps without input are skipped rather than walked one by one.
    for q in [
        "max_over_time(sum(nothing)[100y:1ms])",
        "max_over_time((nothing + nothing)[100y:1ms])",
        "max_over_time((nothing and nothing)[100y:1ms])",
        "max_over_time(rate(nothing[5m])[100y:1ms])",
    ] {
        let e = parse(q).unwrap();
        let r = eng
            .instant(&st, &e, 50 * M, &Cancel::new())
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        assert_eq!(r.value, Value::Vector(vec![]), "{q}");
    }
}

#[test]
fn parallel_range_functions_agree_with_instant_evaluation() {
    use super::super::parser::parse;
    let st = MemStorage::new();
    for i in 0..700 {
        let name = if i % 2 == 0 { "c_total" } else { "g" };
        let l = labels(name, &[("i", &i.to_string())]);
        let mut a = st.appender();
        for k in 0..200 {
            let v = ((k * (i % 7 + 1)) % 97) as f64;
            a.append(None, &l, k * 15 * S, v).unwrap();
        }
        a.commit().unwrap();
    }
    let eng = engine();
    for q in [
        "{__name__=~\"c_total|g\"}",
        "timestamp({__name__=~\"c_total|g\"} offset 20s)",
        "rate({__name__=~\"c_total|g\"}[5m])",
        "max_over_time({__name__=~\"c_total|g\"}[2m])",
        "max_over_time(rate({__name__=~\"c_total|g\"}[1m])[10m:1m])",
    ] {
        let e = parse(q).unwrap();
        let r = eng
            .range(&st, &e, 10 * M, 40 * M, 15 * S, &Cancel::new())
            .unwrap();
        let Value::Matrix(m) = r.value else { panic!() };
        assert_eq!(m.len(), 700, "{q}");
        assert!(m.windows(2).all(|w| w[0].metric < w[1].metric));
        for t in [10 * M, 25 * M + 15 * S, 40 * M] {
            let Value::Vector(v) = eng.instant(&st, &e, t, &Cancel::new()).unwrap().value else {
                panic!()
            };
            for s in v {
                let series = m.iter().find(|x| x.metric == s.metric).expect("series");
                let p = series.points.iter().find(|p| p.t == t).expect("point");
                assert!(
                    p.f == s.f || (p.f.is_nan() && s.f.is_nan()),
                    "{q} at {t}: {} vs {}",
                    p.f,
                    s.f
                );
            }
        }
        // The info about non-counter names appears once, whatever the split.
        let infos: Vec<_> = r.annotations.infos().collect();
        assert!(infos.len() <= 1, "{infos:?}");
    }
}

#[test]
fn info_joins_data_labels_of_info_series() {
    use super::super::parser::{ParseOptions, parse_with};
    let opts = ParseOptions {
        experimental_functions: true,
        duration_expressions: false,
    };
    let st = MemStorage::new();
    series_up(
        &st,
        &labels("metric", &[("instance", "a"), ("job", "1"), ("label", "v")]),
        5 * M,
        0.0,
        1.0,
        3,
    );
    series_up(
        &st,
        &labels("other", &[("instance", "a"), ("job", "2")]),
        5 * M,
        0.0,
        1.0,
        3,
    );
    load(
        &st,
        &labels(
            "target_info",
            &[
                ("instance", "a"),
                ("job", "1"),
                ("data", "info"),
                ("more", "x"),
            ],
        ),
        5 * M,
        &[Some(1.0); 3],
    );
    load(
        &st,
        &labels(
            "build_info",
            &[("instance", "a"), ("job", "1"), ("version", "v1")],
        ),
        5 * M,
        &[Some(1.0); 3],
    );
    let run = |q: &str| {
        let e = parse_with(q, &opts).unwrap();
        range(&st, &e, 0, 10 * M, 5 * M)
    };
    let r = run("info(metric)");
    assert_eq!(
        r[0].0,
        "{__name__=\"metric\", data=\"info\", instance=\"a\", job=\"1\", label=\"v\", more=\"x\"}"
    );
    assert_eq!(r[0].1.len(), 3);
    let r = run("info(metric, {data=~\".+\"})");
    assert_eq!(
        r[0].0,
        "{__name__=\"metric\", data=\"info\", instance=\"a\", job=\"1\", label=\"v\"}"
    );
    let r = run("info(metric, {__name__=\"build_info\"})");
    assert_eq!(
        r[0].0,
        "{__name__=\"metric\", instance=\"a\", job=\"1\", label=\"v\", version=\"v1\"}"
    );
    // No info series for job 2: kept unchanged unless a data matcher needs a value.
    assert_eq!(run("info(other)").len(), 1);
    assert!(run("info(other, {data=~\".+\"})").is_empty());
    // Info series themselves pass through.
    let r = run("info(target_info)");
    assert_eq!(
        r[0].0,
        "{__name__=\"target_info\", data=\"info\", instance=\"a\", job=\"1\", more=\"x\"}"
    );
}

#[test]
fn aggregations_see_range_function_outputs_without_their_names() {
    use super::super::parser::parse;
    let st = MemStorage::new();
    series_up(
        &st,
        &labels("a_total", &[("__type__", "counter"), ("x", "1")]),
        15 * S,
        0.0,
        1.0,
        40,
    );
    series_up(&st, &labels("b_total", &[("x", "2")]), 15 * S, 0.0, 2.0, 40);
    series_up(&st, &labels("c_total", &[("x", "2")]), 15 * S, 0.0, 2.0, 40);
    let q = |s: &str| vec_of(instant(&st, &parse(s).unwrap(), 9 * M));
    // The name (and type) of rate's output is gone for grouping, in either form.
    assert_eq!(
        q("sum by (__name__) (rate(a_total[5m]))"),
        vec![("{}".into(), 1.0 / 15.0)]
    );
    assert_eq!(
        q("sum by (__type__, x) (rate(a_total[5m]))"),
        vec![("{x=\"1\"}".into(), 1.0 / 15.0)]
    );
    assert_eq!(
        q("sum without () (rate(a_total[5m]))"),
        vec![("{x=\"1\"}".into(), 1.0 / 15.0)]
    );
    assert_eq!(q("max(rate(a_total[5m]))").len(), 1);
    // Outputs that collide once their names are gone are an error, aggregated or not.
    let e = parse("sum(rate({__name__=~\"b_total|c_total\"}[5m]))").unwrap();
    assert_eq!(
        instant_err(&st, &e, 9 * M),
        "vector cannot contain metrics with the same labelset"
    );
    // Everything else sees stripped labels.
    assert_eq!(q("rate(a_total[5m])")[0].0, "{x=\"1\"}");
    assert_eq!(q("topk(1, rate(a_total[5m]))")[0].0, "{x=\"1\"}");
    assert_eq!(q("rate(a_total[5m]) > 0")[0].0, "{x=\"1\"}");
}
