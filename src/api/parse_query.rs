//! `/api/v1/parse_query`: the parsed query as the JSON tree Prometheus's `translateAST`
//! writes for its UI's tree view — one object per node with its keys in sorted order (Go
//! marshals maps sorted), strings escaped by the HTML-escaping standard encoder, times and
//! durations in milliseconds, numbers as Go's `FormatFloat('f', -1)` strings.

use super::error::ApiError;
use super::params::Form;
use super::{Api, Success, json};
use crate::model::Matcher;
use crate::promql::Expr;
use crate::promql::ast::{At, Cardinality, UnaryOp, VectorSelector};

impl Api {
    /// `GET|POST /api/v1/parse_query`.
    pub fn parse_query_tree(&self, form: &Form) -> Result<Success, ApiError> {
        let query = form.value("query");
        let expr = crate::promql::parse_with(query, &self.inner.opts.parse).map_err(|e| {
            ApiError::invalid_param("query", super::query::parse_error_text(&e, query))
        })?;
        let mut out = String::new();
        tree(&mut out, &expr);
        Ok(Success::data(out))
    }
}

/// One key of an object and what writes its value.
type Field<'a> = (&'a str, &'a dyn Fn(&mut String));

/// Writes `{"k":v,...}` from pairs already in sorted key order.
fn object(out: &mut String, fields: &[Field<'_>]) {
    out.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::push_str_std(out, k);
        out.push(':');
        v(out);
    }
    out.push('}');
}

fn string(s: &str) -> impl Fn(&mut String) + '_ {
    move |out: &mut String| json::push_str_std(out, s)
}

fn boolean(b: bool) -> impl Fn(&mut String) {
    move |out: &mut String| out.push_str(if b { "true" } else { "false" })
}

fn number(n: i64) -> impl Fn(&mut String) {
    move |out: &mut String| out.push_str(&n.to_string())
}

fn strings(list: &[String]) -> impl Fn(&mut String) + '_ {
    move |out: &mut String| json::push_str_list(out, list)
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`.
fn go_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

fn matchers(out: &mut String, ms: &[Matcher]) {
    out.push('[');
    for (i, m) in ms.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        object(
            out,
            &[
                ("name", &string(&m.name)),
                ("type", &string(m.op.as_str())),
                ("value", &string(&m.value)),
            ],
        );
    }
    out.push(']');
}

/// `timestamp` (ms or null) and `startOrEnd` ("start", "end" or null) of an `@`.
fn at_parts(at: Option<At>) -> (Option<i64>, Option<&'static str>) {
    match at {
        Some(At::Time(t)) => (Some(t), None),
        Some(At::Start) => (None, Some("start")),
        Some(At::End) => (None, Some("end")),
        None => (None, None),
    }
}

fn optional_number(n: Option<i64>) -> impl Fn(&mut String) {
    move |out: &mut String| match n {
        Some(n) => out.push_str(&n.to_string()),
        None => out.push_str("null"),
    }
}

fn optional_string(s: Option<&'static str>) -> impl Fn(&mut String) {
    move |out: &mut String| match s {
        Some(s) => json::push_str_std(out, s),
        None => out.push_str("null"),
    }
}

fn selector(out: &mut String, vs: &VectorSelector, range: Option<i64>) {
    let (ts, soe) = at_parts(vs.at);
    let name = vs.name.clone().unwrap_or_default();
    // Prometheus appends the matcher of a written metric name after the braces' ones;
    // kmon's parser puts it first.
    let mut ordered: Vec<Matcher> = vs.matchers.clone();
    if vs.name.is_some()
        && ordered
            .first()
            .is_some_and(|m| m.name == crate::model::METRIC_NAME)
    {
        let first = ordered.remove(0);
        ordered.push(first);
    }
    let ms = |o: &mut String| matchers(o, &ordered);
    let ts = optional_number(ts);
    let soe = optional_string(soe);
    let offset = number(vs.offset);
    let name = string(&name);
    match range {
        Some(r) => object(
            out,
            &[
                ("matchers", &ms),
                ("name", &name),
                ("offset", &offset),
                ("range", &number(r)),
                ("startOrEnd", &soe),
                ("timestamp", &ts),
                ("type", &string("matrixSelector")),
            ],
        ),
        None => object(
            out,
            &[
                ("matchers", &ms),
                ("name", &name),
                ("offset", &offset),
                ("startOrEnd", &soe),
                ("timestamp", &ts),
                ("type", &string("vectorSelector")),
            ],
        ),
    }
}

/// One node of the tree.
fn tree(out: &mut String, e: &Expr) {
    stacker::maybe_grow(128 * 1024, 1024 * 1024, || node(out, e));
}

fn node(out: &mut String, e: &Expr) {
    match e {
        Expr::Aggregate(a) => object(
            out,
            &[
                ("expr", &|o: &mut String| tree(o, &a.expr)),
                ("grouping", &strings(&a.grouping)),
                ("op", &string(a.op.as_str())),
                ("param", &|o: &mut String| match &a.param {
                    Some(p) => tree(o, p),
                    None => o.push_str("null"),
                }),
                ("type", &string("aggregation")),
                ("without", &boolean(a.without)),
            ],
        ),
        Expr::Binary(b) => object(
            out,
            &[
                ("bool", &boolean(b.return_bool)),
                ("lhs", &|o: &mut String| tree(o, &b.lhs)),
                ("matching", &|o: &mut String| match &b.matching {
                    Some(m) => object(
                        o,
                        &[
                            (
                                "card",
                                &string(match m.card {
                                    Cardinality::OneToOne => "one-to-one",
                                    Cardinality::ManyToOne => "many-to-one",
                                    Cardinality::OneToMany => "one-to-many",
                                    Cardinality::ManyToMany => "many-to-many",
                                }),
                            ),
                            ("include", &strings(&m.include)),
                            ("labels", &strings(&m.labels)),
                            ("on", &boolean(m.on)),
                        ],
                    ),
                    None => o.push_str("null"),
                }),
                ("op", &string(b.op.as_str())),
                ("rhs", &|o: &mut String| tree(o, &b.rhs)),
                ("type", &string("binaryExpr")),
            ],
        ),
        Expr::Call(c) => {
            let f = c.func;
            let variadic: i64 = if f.variadic {
                -1
            } else {
                (f.arg_types.len() - f.min_args.min(f.arg_types.len())) as i64
            };
            let arg_types: Vec<String> =
                f.arg_types.iter().map(|t| t.as_str().to_string()).collect();
            object(
                out,
                &[
                    ("args", &|o: &mut String| {
                        o.push('[');
                        for (i, a) in c.args.iter().enumerate() {
                            if i > 0 {
                                o.push(',');
                            }
                            tree(o, a);
                        }
                        o.push(']');
                    }),
                    ("func", &|o: &mut String| {
                        object(
                            o,
                            &[
                                ("argTypes", &strings(&arg_types)),
                                ("name", &string(f.name)),
                                ("returnType", &string(f.return_type.as_str())),
                                ("variadic", &number(variadic)),
                            ],
                        )
                    }),
                    ("type", &string("call")),
                ],
            )
        }
        Expr::MatrixSelector(m) => selector(out, &m.selector, Some(m.range)),
        Expr::VectorSelector(vs) => selector(out, vs, None),
        Expr::Subquery(sq) => {
            let (ts, soe) = at_parts(sq.at);
            object(
                out,
                &[
                    ("expr", &|o: &mut String| tree(o, &sq.expr)),
                    ("offset", &number(sq.offset)),
                    ("range", &number(sq.range)),
                    ("startOrEnd", &optional_string(soe)),
                    ("step", &number(sq.step.unwrap_or(0))),
                    ("timestamp", &optional_number(ts)),
                    ("type", &string("subquery")),
                ],
            )
        }
        Expr::Number(n) => {
            let v = go_f(n.value);
            object(
                out,
                &[("type", &string("numberLiteral")), ("val", &string(&v))],
            )
        }
        Expr::String(s) => object(
            out,
            &[
                ("type", &string("stringLiteral")),
                ("val", &string(&s.value)),
            ],
        ),
        Expr::Paren(p) => object(
            out,
            &[
                ("expr", &|o: &mut String| tree(o, &p.expr)),
                ("type", &string("parenExpr")),
            ],
        ),
        Expr::Unary(u) => object(
            out,
            &[
                ("expr", &|o: &mut String| tree(o, &u.expr)),
                ("op", &string(if u.op == UnaryOp::Neg { "-" } else { "+" })),
                ("type", &string("unaryExpr")),
            ],
        ),
    }
}
