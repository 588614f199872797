//! Prometheus's pretty printer (`Prettify`, behind `/api/v1/format_query`): a node whose
//! canonical form (the `Display` printer) fits in 100 bytes is written on one line; a
//! longer one is split, its children on their own lines two spaces deeper. Aggregations
//! and calls put their arguments between `op(` and `)`, binary operations put the
//! operator (with `bool` and matching) on its own line between the operands,
//! parentheses wrap their content, subqueries and unary operators stay with their
//! expression — each quirk as Prometheus 3.5's `prettier.go` has it.

use super::super::ast::{AggregateExpr, BinaryExpr, Expr, NumberLiteral, Span, SubqueryExpr};

const MAX_LINE: usize = 100;
const INDENT: &str = "  ";

/// The pretty-printed form of `expr`.
pub fn pretty(expr: &Expr) -> String {
    node(expr, 0)
}

fn indent(level: usize) -> String {
    INDENT.repeat(level)
}

fn zero() -> Box<Expr> {
    Box::new(Expr::Number(NumberLiteral {
        value: 0.0,
        span: Span::new(0, 0),
    }))
}

fn node(e: &Expr, level: usize) -> String {
    stacker::maybe_grow(super::parse::RED_ZONE, super::parse::STACK_CHUNK, || {
        write(e, level)
    })
}

fn write(e: &Expr, level: usize) -> String {
    let flat = e.to_string();
    let split = flat.len() > MAX_LINE;
    match e {
        Expr::Aggregate(a) if split => {
            let mut s = format!("{}{}(\n", indent(level), aggregate_prefix(a));
            if let Some(p) = &a.param {
                s.push_str(&node(p, level + 1));
                s.push_str(",\n");
            }
            s.push_str(&node(&a.expr, level + 1));
            s.push('\n');
            s.push_str(&indent(level));
            s.push(')');
            s
        }
        Expr::Binary(b) if split => format!(
            "{}\n{}{}\n{}",
            node(&b.lhs, level + 1),
            indent(level),
            binary_operator(b),
            node(&b.rhs, level + 1)
        ),
        Expr::Call(c) if split => {
            let args: Vec<String> = c.args.iter().map(|a| node(a, level + 1)).collect();
            format!(
                "{}{}(\n{}\n{})",
                indent(level),
                c.func.name,
                args.join(",\n"),
                indent(level)
            )
        }
        Expr::Paren(p) if split => format!(
            "{}(\n{}\n{})",
            indent(level),
            node(&p.expr, level + 1),
            indent(level)
        ),
        // Prometheus writes an unsplit subquery without its indent.
        Expr::Subquery(_) if !split => flat,
        Expr::Subquery(sq) => format!("{}{}", node(&sq.expr, level), subquery_suffix(sq)),
        Expr::Unary(u) => {
            let child = node(&u.expr, level);
            let op = if u.op == super::super::ast::UnaryOp::Neg {
                '-'
            } else {
                '+'
            };
            format!("{}{op}{}", indent(level), child.trim())
        }
        _ => format!("{}{flat}", indent(level)),
    }
}

/// `sum by (job) ` / `topk without (a) `: the aggregation up to its `(`.
fn aggregate_prefix(a: &AggregateExpr) -> String {
    let bare = AggregateExpr {
        expr: zero(),
        param: None,
        ..a.clone()
    };
    let s = bare.to_string();
    s.strip_suffix("(0)").unwrap_or(&s).to_string()
}

/// `/ on (a) group_left (b)`: the operator with `bool` and the matching.
fn binary_operator(b: &BinaryExpr) -> String {
    let bare = BinaryExpr {
        lhs: zero(),
        rhs: zero(),
        ..b.clone()
    };
    let s = bare.to_string();
    let s = s.strip_prefix("0 ").unwrap_or(&s);
    s.strip_suffix(" 0").unwrap_or(s).to_string()
}

/// `[5m:1m] @ 10.000 offset 1m`: what follows a subquery's expression.
fn subquery_suffix(sq: &SubqueryExpr) -> String {
    let bare = SubqueryExpr {
        expr: zero(),
        ..sq.clone()
    };
    let s = bare.to_string();
    s.strip_prefix('0').unwrap_or(&s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> String {
        pretty(&crate::promql::parse(q).unwrap())
    }

    #[test]
    fn short_expressions_stay_on_one_line() {
        assert_eq!(p("sum(up)by(job)"), "sum by (job) (up)");
        assert_eq!(p("-up"), "-up");
        assert_eq!(p("rate(x[5m:1m])"), "rate(x[5m:1m])");
    }

    #[test]
    fn long_expressions_split_as_prometheus_does() {
        // Each was checked against Prometheus 3.5.3's /api/v1/format_query.
        let cases: &[(&str, &str)] = &[
            (
                "sum by (job, instance) (rate(http_requests_total{job=\"api-server\",code=~\"5..\"}[5m])) / on (job, instance) group_left sum by (job, instance) (rate(http_requests_total{job=\"api-server\"}[5m]))",
                "  sum by (job, instance) (rate(http_requests_total{code=~\"5..\",job=\"api-server\"}[5m]))\n/ on (job, instance) group_left ()\n  sum by (job, instance) (rate(http_requests_total{job=\"api-server\"}[5m]))",
            ),
            (
                "topk(5, histogram_quantile(0.99, sum by (le, service_name_that_is_long) (rate(request_duration_seconds_bucket[5m]))))",
                "topk(\n  5,\n  histogram_quantile(\n    0.99,\n    sum by (le, service_name_that_is_long) (rate(request_duration_seconds_bucket[5m]))\n  )\n)",
            ),
            (
                "-(sum by (job, instance) (rate(http_requests_total{job=\"api-server\",code=~\"5..\"}[5m])) + sum by (job, instance) (rate(x[5m])))",
                "-(\n    sum by (job, instance) (rate(http_requests_total{code=~\"5..\",job=\"api-server\"}[5m]))\n  +\n    sum by (job, instance) (rate(x[5m]))\n)",
            ),
            (
                "max_over_time((sum by (job, instance) (rate(http_requests_total{job=\"api-server\",code=~\"5..\"}[5m])) > bool 1)[30m:1m] offset 5m @ 100)",
                "max_over_time(\n  (sum by (job, instance) (rate(http_requests_total{code=~\"5..\",job=\"api-server\"}[5m])) > bool 1)[30m:1m] @ 100.000 offset 5m\n)",
            ),
            (
                "quantile_over_time(0.9, (rate(http_requests_total{job=\"api-server\",code=~\"5..\", handler=\"/api/v1/query_range\"}[5m]))[1h:])",
                "quantile_over_time(\n  0.9,\n(rate(http_requests_total{code=~\"5..\",handler=\"/api/v1/query_range\",job=\"api-server\"}[5m]))[1h:]\n)",
            ),
            ("(((a)))", "(((a)))"),
        ];
        for (q, want) in cases {
            assert_eq!(p(q), *want, "{q}");
        }
    }
}
