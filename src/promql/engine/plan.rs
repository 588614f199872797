//! The evaluation plan: the AST as the evaluator walks it. Building it resolves what
//! Prometheus's preprocessing resolves: `@ start()`/`@ end()` become fixed times, the
//! default subquery step is filled in, parentheses disappear, and step-invariant subtrees
//! (those pinned by `@`) are marked so they are evaluated once and replicated across the
//! steps of a range. It also computes the time range the whole query reads.

use super::super::signatures::AT_UNSAFE_FUNCTIONS;
use crate::model::Matcher;

use super::super::ast::{
    AggOp, At, BinOp, Call, Cardinality, Expr, Span, UnaryOp, ValueType, VectorMatching,
    VectorSelector,
};
use super::super::signatures::Function;

/// An instant or range selector's data source.
#[derive(Debug)]
pub(super) struct Selector<'a> {
    pub matchers: &'a [Matcher],
    /// Offset in ms (may be negative).
    pub offset: i64,
    /// The resolved `@` time in ms.
    pub at: Option<i64>,
}

impl Selector<'_> {
    /// The reference time (end of the look-back or of the window) for evaluation time `ts`.
    pub fn ref_time(&self, ts: i64) -> i64 {
        self.at.unwrap_or(ts).saturating_sub(self.offset)
    }
}

#[derive(Debug)]
pub(super) struct SubqueryNode<'a> {
    pub expr: Node<'a>,
    pub range: i64,
    pub step: i64,
    pub offset: i64,
    pub at: Option<i64>,
}

impl SubqueryNode<'_> {
    /// The end of the subquery window for evaluation time `ts`.
    pub fn ref_time(&self, ts: i64) -> i64 {
        self.at.unwrap_or(ts).saturating_sub(self.offset)
    }
}

#[derive(Debug)]
pub(super) struct BinaryNode<'a> {
    pub op: BinOp,
    pub lhs: Node<'a>,
    pub rhs: Node<'a>,
    pub lhs_type: ValueType,
    pub rhs_type: ValueType,
    pub return_bool: bool,
    pub card: Cardinality,
    /// Sorted `on`/`ignoring` labels.
    pub matching_labels: Vec<String>,
    pub on: bool,
    pub include: Vec<String>,
}

#[derive(Debug)]
pub(super) struct AggNode<'a> {
    pub op: AggOp,
    pub expr: Node<'a>,
    pub param: Option<Node<'a>>,
    /// Whether the parameter is a number literal (constant across steps).
    pub param_is_literal: bool,
    /// The parameter as written when it is a string (count_values).
    pub param_string: Option<&'a str>,
    /// Sorted, deduplicated grouping labels.
    pub grouping: Vec<String>,
    pub without: bool,
    pub param_span: Span,
}

#[derive(Debug)]
pub(super) struct CallNode<'a> {
    pub func: &'static Function,
    pub args: Vec<Node<'a>>,
    pub ast: &'a Call,
}

#[derive(Debug)]
pub(super) enum Node<'a> {
    Number(f64),
    Str(&'a str),
    Vector(Selector<'a>),
    Matrix {
        sel: Selector<'a>,
        range: i64,
    },
    Subquery(Box<SubqueryNode<'a>>),
    Neg(Box<Node<'a>>),
    Binary(Box<BinaryNode<'a>>),
    Aggregate(Box<AggNode<'a>>),
    Call(Box<CallNode<'a>>),
    /// Evaluated once at the first step and replicated across the others.
    Invariant(Box<Node<'a>>),
}

impl<'a> Node<'a> {
    /// The node without any step-invariance wrapper.
    pub fn inner(&self) -> &Node<'a> {
        let mut n = self;
        while let Node::Invariant(c) = n {
            n = c;
        }
        n
    }
}

/// Settings the plan needs from the query.
pub(super) struct PlanCtx {
    pub start: i64,
    pub end: i64,
    pub default_subquery_step: i64,
}

/// Builds the plan of `expr`, with step-invariant subtrees wrapped.
pub(super) fn build<'a>(expr: &'a Expr, ctx: &PlanCtx) -> Node<'a> {
    let (node, invariant) = build_node(expr, ctx);
    if invariant { wrap(node) } else { node }
}

fn wrap(node: Node<'_>) -> Node<'_> {
    match node {
        // Literals evaluate the same at every step; no wrapper needed.
        n @ (Node::Number(_) | Node::Str(_) | Node::Invariant(_)) => n,
        n => Node::Invariant(Box::new(n)),
    }
}

fn resolve_at(at: Option<At>, ctx: &PlanCtx) -> Option<i64> {
    at.map(|a| match a {
        At::Time(t) => t,
        At::Start => ctx.start,
        At::End => ctx.end,
    })
}

fn selector<'a>(vs: &'a VectorSelector, ctx: &PlanCtx) -> Selector<'a> {
    Selector {
        matchers: &vs.matchers,
        offset: vs.offset,
        at: resolve_at(vs.at, ctx),
    }
}

/// Returns the node and whether it is step-invariant.
fn build_node<'a>(expr: &'a Expr, ctx: &PlanCtx) -> (Node<'a>, bool) {
    match expr {
        Expr::Number(n) => (Node::Number(n.value), true),
        Expr::String(s) => (Node::Str(&s.value), true),
        Expr::Paren(p) => build_node(&p.expr, ctx),
        Expr::VectorSelector(vs) => {
            let sel = selector(vs, ctx);
            let inv = sel.at.is_some();
            (Node::Vector(sel), inv)
        }
        Expr::MatrixSelector(ms) => {
            let sel = selector(&ms.selector, ctx);
            let inv = sel.at.is_some();
            (
                Node::Matrix {
                    sel,
                    range: ms.range,
                },
                inv,
            )
        }
        Expr::Subquery(sq) => {
            let (inner, inner_inv) = build_node(&sq.expr, ctx);
            let inner = if inner_inv { wrap(inner) } else { inner };
            let at = resolve_at(sq.at, ctx);
            let step = sq.step.unwrap_or(ctx.default_subquery_step);
            (
                Node::Subquery(Box::new(SubqueryNode {
                    expr: inner,
                    range: sq.range,
                    step,
                    offset: sq.offset,
                    at,
                })),
                at.is_some(),
            )
        }
        Expr::Unary(u) => {
            let (inner, inv) = build_node(&u.expr, ctx);
            match u.op {
                UnaryOp::Neg => (Node::Neg(Box::new(inner)), inv),
                UnaryOp::Pos => (inner, inv),
            }
        }
        Expr::Binary(b) => {
            let (lhs, linv) = build_node(&b.lhs, ctx);
            let (rhs, rinv) = build_node(&b.rhs, ctx);
            let both = linv && rinv;
            let lhs = if linv && !both { wrap(lhs) } else { lhs };
            let rhs = if rinv && !both { wrap(rhs) } else { rhs };
            let (card, mut matching_labels, on, include) = match &b.matching {
                Some(VectorMatching {
                    card,
                    labels,
                    on,
                    include,
                }) => (*card, labels.clone(), *on, include.clone()),
                None => {
                    let card = if b.op.is_set() {
                        Cardinality::ManyToMany
                    } else {
                        Cardinality::OneToOne
                    };
                    (card, Vec::new(), false, Vec::new())
                }
            };
            matching_labels.sort();
            matching_labels.dedup();
            let node = BinaryNode {
                op: b.op,
                lhs,
                rhs,
                lhs_type: b.lhs.value_type(),
                rhs_type: b.rhs.value_type(),
                return_bool: b.return_bool,
                card,
                matching_labels,
                on,
                include,
            };
            (Node::Binary(Box::new(node)), both)
        }
        Expr::Aggregate(a) => {
            // As in Prometheus, only the aggregated expression decides invariance; the
            // parameter is evaluated wherever the aggregation is.
            let (inner, inv) = build_node(&a.expr, ctx);
            let param_expr = a.param.as_deref().map(Expr::unparen);
            let param = a.param.as_deref().map(|p| build_node(p, ctx).0);
            let param_is_literal = matches!(param_expr, Some(Expr::Number(_)));
            let param_string = match param_expr {
                Some(Expr::String(s)) => Some(s.value.as_str()),
                _ => None,
            };
            let mut grouping = a.grouping.clone();
            grouping.sort();
            grouping.dedup();
            let node = AggNode {
                op: a.op,
                expr: inner,
                param,
                param_is_literal,
                param_string,
                grouping,
                without: a.without,
                param_span: a.param.as_deref().map(Expr::span).unwrap_or(a.span),
            };
            (Node::Aggregate(Box::new(node)), inv)
        }
        Expr::Call(c) => {
            let mut inv = !AT_UNSAFE_FUNCTIONS.contains(&c.func.name);
            let built: Vec<(Node<'a>, bool)> = c.args.iter().map(|a| build_node(a, ctx)).collect();
            inv = inv && built.iter().all(|(_, i)| *i);
            let args = built
                .into_iter()
                .map(|(n, i)| if i && !inv { wrap(n) } else { n })
                .collect();
            (
                Node::Call(Box::new(CallNode {
                    func: c.func,
                    args,
                    ast: c,
                })),
                inv,
            )
        }
    }
}

/// The earliest and latest sample time the query may read, as Prometheus computes it
/// (`(0, 0)` when no selector is involved).
pub(super) fn time_range(node: &Node<'_>, start: i64, end: i64, lookback: i64) -> (i64, i64) {
    let mut acc = (i64::MAX, i64::MIN);
    walk_range(node, start, end, lookback, &mut acc);
    if acc.1 == i64::MIN { (0, 0) } else { acc }
}

fn widen(acc: &mut (i64, i64), lo: i64, hi: i64) {
    acc.0 = acc.0.min(lo);
    acc.1 = acc.1.max(hi);
}

fn walk_range(node: &Node<'_>, start: i64, end: i64, lookback: i64, acc: &mut (i64, i64)) {
    match node {
        Node::Number(_) | Node::Str(_) => {}
        Node::Vector(sel) => {
            let (s, e) = sel_bounds(sel, start, end);
            widen(acc, s.saturating_sub(lookback).saturating_add(1), e);
        }
        Node::Matrix { sel, range } => {
            let (s, e) = sel_bounds(sel, start, end);
            widen(acc, s.saturating_sub(*range).saturating_add(1), e);
        }
        Node::Subquery(sq) => {
            let (s, e) = match sq.at {
                Some(at) => (at, at),
                None => (start, end),
            };
            let e = e.saturating_sub(sq.offset);
            let s = s.saturating_sub(sq.offset).saturating_sub(sq.range);
            walk_range(&sq.expr, s, e, lookback, acc);
        }
        Node::Neg(n) | Node::Invariant(n) => walk_range(n, start, end, lookback, acc),
        Node::Binary(b) => {
            walk_range(&b.lhs, start, end, lookback, acc);
            walk_range(&b.rhs, start, end, lookback, acc);
        }
        Node::Aggregate(a) => {
            if let Some(p) = &a.param {
                walk_range(p, start, end, lookback, acc);
            }
            walk_range(&a.expr, start, end, lookback, acc);
        }
        Node::Call(c) => {
            for a in &c.args {
                walk_range(a, start, end, lookback, acc);
            }
        }
    }
}

fn sel_bounds(sel: &Selector<'_>, start: i64, end: i64) -> (i64, i64) {
    match sel.at {
        Some(at) => {
            let t = at.saturating_sub(sel.offset);
            (t, t)
        }
        None => (
            start.saturating_sub(sel.offset),
            end.saturating_sub(sel.offset),
        ),
    }
}
