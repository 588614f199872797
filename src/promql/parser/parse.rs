//! The recursive-descent (precedence-climbing) parser over the lexer's tokens, with the
//! syntax errors Prometheus reports, followed by the type-check pass (Prometheus's
//! `checkAST`) in the same order as Prometheus, so the first error is the same one.

use crate::model::{MatchOp, Matcher, parse_duration};

use super::super::ast::{
    AggOp, AggregateExpr, At, BinOp, BinaryExpr, Call, Cardinality, Expr, MatrixSelector,
    NumberLiteral, ParenExpr, Span, StringLiteral, SubqueryExpr, UnaryExpr, UnaryOp, ValueType,
    VectorMatching, VectorSelector,
};
use super::super::signatures;
use super::lexer::{Kw, Raw, RawTok, lex_raw};
use super::printer::go_quote;
use super::{ParseError, ParseOptions};

/// How deep expressions may nest (parentheses, calls, operator chains) before the parser
/// gives up with an error instead of risking the stack.
pub const MAX_DEPTH: u32 = 1000;

type PResult<T> = Result<T, ParseError>;

/// The recursive steps (parsing, checking, printing) make sure this much stack is left
/// before they recurse, and otherwise continue on a new heap-allocated segment of
/// `STACK_CHUNK` bytes, so nesting up to `MAX_DEPTH` is safe on any thread and in debug
/// builds, whose frames are large.
pub(crate) const RED_ZONE: usize = 128 * 1024;
pub(crate) const STACK_CHUNK: usize = 1024 * 1024;

fn err(span: Span, msg: impl Into<String>) -> ParseError {
    ParseError {
        span,
        message: msg.into(),
    }
}

/// An expression and how deep its tree is.
struct Node {
    e: Expr,
    depth: u32,
}

/// A duration-expression value while it is parsed: seconds, where it came from, and
/// whether it is a plain (possibly signed) number literal.
#[derive(Clone, Copy)]
struct Dur {
    secs: f64,
    span: Span,
    literal: bool,
}

/// The largest duration, in seconds, that fits Go's `time.Duration`.
const MAX_DURATION_SECS: f64 = 9_223_372_036.854_776;

pub(crate) struct Parser<'a> {
    input: &'a str,
    toks: Vec<RawTok>,
    pos: usize,
    opts: ParseOptions,
    /// Current recursion depth of the descent.
    depth: u32,
    /// How many aggregation bodies enclose the current position: Prometheus's error
    /// recovery reports syntax errors there as "… in aggregation".
    agg_depth: u32,
    /// The first error Prometheus finds only when it evaluates duration expressions (in
    /// the engine, after parsing and type checks succeeded); reported after those.
    deferred: Option<ParseError>,
}

impl<'a> Parser<'a> {
    pub fn new(input: &'a str, opts: &ParseOptions) -> Self {
        let mut toks = lex_raw(input);
        toks.retain(|t| !t.is_trivia());
        Parser {
            input,
            toks,
            pos: 0,
            opts: *opts,
            depth: 0,
            agg_depth: 0,
            deferred: None,
        }
    }

    fn peek(&self) -> &RawTok {
        // The last token is always Eof or an error; never step past it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn peek_at(&self, n: usize) -> &RawTok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> RawTok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn text(&self, t: &RawTok) -> &'a str {
        &self.input[t.span.start..t.span.end]
    }

    /// Prometheus's description of a token in "unexpected …" messages.
    fn desc(&self, t: &RawTok) -> String {
        let text = self.text(t);
        match &t.raw {
            Raw::Eof => "end of input".into(),
            Raw::Ident => format!("identifier {}", go_quote(text)),
            Raw::MetricIdent => format!("metric identifier {}", go_quote(text)),
            Raw::Number => format!("number {}", short_quote(text)),
            Raw::Duration => format!("duration {}", short_quote(text)),
            Raw::Str => format!("string {}", short_quote(text)),
            Raw::Kw(Kw::And | Kw::Or | Kw::Unless | Kw::Atan2) => format!("<op:{text}>"),
            Raw::Kw(Kw::Agg(_)) => format!("<aggr:{text}>"),
            Raw::Kw(Kw::Start | Kw::End) => go_quote(text),
            Raw::Kw(_) => format!("<{text}>"),
            Raw::At => "\"<Item 57400>\" <op:@>".into(),
            Raw::Add
            | Raw::Sub
            | Raw::Mul
            | Raw::Div
            | Raw::Mod
            | Raw::Pow
            | Raw::EqlC
            | Raw::Neq
            | Raw::Lss
            | Raw::Lte
            | Raw::Gtr
            | Raw::Gte
            | Raw::EqlRegex
            | Raw::NeqRegex => format!("<op:{text}>"),
            _ => go_quote(text),
        }
    }

    /// The error for an unexpected token (or the lexer's error if the token is one).
    fn unexpected(&self, t: &RawTok, context: &str, expected: &str) -> ParseError {
        if let Raw::Error { msg, report } = &t.raw {
            return err(Span::new(*report, t.span.end.max(*report)), msg.clone());
        }
        let mut msg = format!("unexpected {}", self.desc(t));
        let context = if context.is_empty() && self.agg_depth > 0 {
            "aggregation"
        } else {
            context
        };
        if !context.is_empty() {
            msg.push_str(" in ");
            msg.push_str(context);
        }
        if !expected.is_empty() {
            msg.push_str(", expected ");
            msg.push_str(expected);
        }
        err(t.span, msg)
    }

    fn enter(&mut self, at: Span) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(
                at,
                format!("expression nesting exceeds the maximum depth of {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Parses a whole query.
    pub fn parse_query(&mut self) -> PResult<Expr> {
        if self.peek().raw == Raw::Eof {
            return Err(err(Span::new(0, 0), "no expression found in input"));
        }
        let mut node = self.expr(0)?;
        let t = self.peek();
        if t.raw != Raw::Eof {
            return Err(self.unexpected(t, "", ""));
        }
        check(self.input, &mut node.e)?;
        match self.deferred.take() {
            Some(e) => Err(e),
            None => Ok(node.e),
        }
    }

    /// Parses a series selector only.
    pub fn parse_selector(&mut self) -> PResult<VectorSelector> {
        let t = self.peek().clone();
        let vs = match &t.raw {
            Raw::LBrace => self.selector(None)?,
            r if metric_identifier(r) => {
                self.bump();
                self.selector(Some(t))?
            }
            Raw::Eof => return Err(self.unexpected(&t, "", "")),
            _ => return Err(self.unexpected(&t, "", "")),
        };
        let t = self.peek();
        if t.raw != Raw::Eof {
            return Err(self.unexpected(t, "", ""));
        }
        Ok(vs)
    }

    // ---------------------------------------------------------------- expressions

    fn binop(&self, t: &RawTok) -> Option<BinOp> {
        Some(match t.raw {
            Raw::Add => BinOp::Add,
            Raw::Sub => BinOp::Sub,
            Raw::Mul => BinOp::Mul,
            Raw::Div => BinOp::Div,
            Raw::Mod => BinOp::Mod,
            Raw::Pow => BinOp::Pow,
            Raw::EqlC => BinOp::Eql,
            Raw::Neq => BinOp::Neq,
            Raw::Lss => BinOp::Lss,
            Raw::Lte => BinOp::Lte,
            Raw::Gtr => BinOp::Gtr,
            Raw::Gte => BinOp::Gte,
            Raw::Kw(Kw::And) => BinOp::And,
            Raw::Kw(Kw::Or) => BinOp::Or,
            Raw::Kw(Kw::Unless) => BinOp::Unless,
            Raw::Kw(Kw::Atan2) => BinOp::Atan2,
            _ => return None,
        })
    }

    /// Precedence climbing: operators binding at least as tightly as `min_prec`.
    fn expr(&mut self, min_prec: u8) -> PResult<Node> {
        stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || self.expr_inner(min_prec))
    }

    fn expr_inner(&mut self, min_prec: u8) -> PResult<Node> {
        let start = self.peek().span;
        self.enter(start)?;
        let mut lhs = self.unary()?;
        loop {
            let t = self.peek().clone();
            let Some(op) = self.binop(&t) else { break };
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            self.bump();
            let (return_bool, matching) = self.bin_modifiers()?;
            let next_min = if op.is_right_associative() {
                prec
            } else {
                prec + 1
            };
            let rhs = self.expr(next_min)?;
            let depth = lhs.depth.max(rhs.depth) + 1;
            if depth > MAX_DEPTH {
                return Err(err(
                    t.span,
                    format!("expression nesting exceeds the maximum depth of {MAX_DEPTH}"),
                ));
            }
            let span = lhs.e.span().to(rhs.e.span());
            lhs = Node {
                e: Expr::Binary(BinaryExpr {
                    op,
                    lhs: Box::new(lhs.e),
                    rhs: Box::new(rhs.e),
                    return_bool,
                    matching: Some(matching),
                    span,
                }),
                depth,
            };
        }
        self.leave();
        Ok(lhs)
    }

    /// `bool`, `on(…)`/`ignoring(…)`, `group_left(…)`/`group_right(…)` after an operator.
    fn bin_modifiers(&mut self) -> PResult<(bool, VectorMatching)> {
        let mut m = VectorMatching {
            card: Cardinality::OneToOne,
            labels: Vec::new(),
            on: false,
            include: Vec::new(),
        };
        let mut return_bool = false;
        if self.peek().raw == Raw::Kw(Kw::Bool) {
            self.bump();
            return_bool = true;
        }
        let on = match self.peek().raw {
            Raw::Kw(Kw::On) => true,
            Raw::Kw(Kw::Ignoring) => false,
            _ => return Ok((return_bool, m)),
        };
        self.bump();
        m.on = on;
        m.labels = self.grouping_labels()?;
        let card = match self.peek().raw {
            Raw::Kw(Kw::GroupLeft) => Cardinality::ManyToOne,
            Raw::Kw(Kw::GroupRight) => Cardinality::OneToMany,
            _ => return Ok((return_bool, m)),
        };
        self.bump();
        m.card = card;
        if self.peek().raw == Raw::LParen {
            m.include = self.grouping_labels()?;
        }
        Ok((return_bool, m))
    }

    /// `(a, b, "c")`
    fn grouping_labels(&mut self) -> PResult<Vec<String>> {
        let t = self.peek().clone();
        if t.raw != Raw::LParen {
            return Err(self.unexpected(&t, "grouping opts", "\"(\""));
        }
        self.bump();
        let mut labels = Vec::new();
        loop {
            let t = self.bump();
            match &t.raw {
                Raw::RParen => return Ok(labels),
                Raw::Str => {
                    let v = self.unquote(&t)?;
                    if v.is_empty() {
                        return Err(err(
                            t.span,
                            format!("invalid label name for grouping: {}", go_quote(&v)),
                        ));
                    }
                    labels.push(v);
                }
                r if maybe_label(r) => labels.push(self.text(&t).to_string()),
                _ => return Err(self.unexpected(&t, "grouping opts", "label")),
            }
            let t = self.bump();
            match t.raw {
                Raw::RParen => return Ok(labels),
                Raw::Comma => {
                    if self.peek().raw == Raw::RParen {
                        self.bump();
                        return Ok(labels);
                    }
                }
                _ => return Err(self.unexpected(&t, "grouping opts", "\",\" or \")\"")),
            }
        }
    }

    /// A unary operator (binding like `*`), or a postfix expression.
    fn unary(&mut self) -> PResult<Node> {
        let t = self.peek().clone();
        let op = match t.raw {
            Raw::Add => UnaryOp::Pos,
            Raw::Sub => UnaryOp::Neg,
            _ => return self.postfix(),
        };
        self.bump();
        // The operand takes only `^` (which binds tighter than `*`).
        let inner = self.expr(BinOp::Pow.precedence())?;
        let span = t.span.to(inner.e.span());
        Ok(match inner.e {
            Expr::Number(mut n) => {
                if op == UnaryOp::Neg {
                    n.value = -n.value;
                }
                n.span = span;
                Node {
                    e: Expr::Number(n),
                    depth: inner.depth,
                }
            }
            e => Node {
                e: Expr::Unary(UnaryExpr {
                    op,
                    expr: Box::new(e),
                    span,
                }),
                depth: inner.depth + 1,
            },
        })
    }

    /// A primary expression followed by ranges, subqueries, `offset` and `@`.
    fn postfix(&mut self) -> PResult<Node> {
        let mut node = self.primary()?;
        loop {
            match self.peek().raw {
                Raw::LBracket => node = self.range_or_subquery(node)?,
                Raw::Kw(Kw::Offset) => {
                    self.bump();
                    node.e = self.offset(node.e)?;
                }
                Raw::At => {
                    self.bump();
                    node.e = self.at(node.e)?;
                }
                _ => return Ok(node),
            }
        }
    }

    fn primary(&mut self) -> PResult<Node> {
        let t = self.peek().clone();
        let leaf = |e| Ok(Node { e, depth: 1 });
        match &t.raw {
            Raw::Number => {
                self.bump();
                let value = parse_number(self.text(&t)).map_err(|m| err(t.span, m))?;
                leaf(Expr::Number(NumberLiteral {
                    value,
                    span: t.span,
                }))
            }
            Raw::Duration => {
                self.bump();
                let value = self.duration_secs(&t)?;
                leaf(Expr::Number(NumberLiteral {
                    value,
                    span: t.span,
                }))
            }
            Raw::Str => {
                self.bump();
                let value = self.unquote(&t)?;
                leaf(Expr::String(StringLiteral {
                    value,
                    span: t.span,
                }))
            }
            Raw::LParen => {
                self.bump();
                let inner = self.expr(0)?;
                let close = self.bump();
                if close.raw != Raw::RParen {
                    return Err(self.unexpected(&close, "", ""));
                }
                Ok(Node {
                    e: Expr::Paren(ParenExpr {
                        expr: Box::new(inner.e),
                        span: t.span.to(close.span),
                    }),
                    depth: inner.depth + 1,
                })
            }
            Raw::LBrace => leaf(Expr::VectorSelector(self.selector(None)?)),
            Raw::Kw(Kw::Agg(op))
                if matches!(
                    self.peek_at(1).raw,
                    Raw::LParen | Raw::Kw(Kw::By) | Raw::Kw(Kw::Without)
                ) =>
            {
                let op = *op;
                self.aggregate(op)
            }
            Raw::Ident if self.peek_at(1).raw == Raw::LParen => self.call(),
            r if metric_identifier(r) => {
                self.bump();
                leaf(Expr::VectorSelector(self.selector(Some(t))?))
            }
            Raw::Eof if self.pos == 0 => Err(err(Span::new(0, 0), "no expression found in input")),
            _ => Err(self.unexpected(&t, "", "")),
        }
    }

    // ---------------------------------------------------------------- selectors

    /// A selector after its (already consumed) name, or starting at `{`.
    fn selector(&mut self, name_tok: Option<RawTok>) -> PResult<VectorSelector> {
        let name = name_tok.as_ref().map(|t| self.text(t).to_string());
        let mut span = name_tok.as_ref().map(|t| t.span);
        let mut matchers = Vec::new();
        if let Some(n) = &name {
            matchers.push(Matcher::equal(crate::model::METRIC_NAME, n));
        }
        if self.peek().raw == Raw::LBrace {
            let open = self.bump();
            let close_span = self.label_matchers(&mut matchers)?;
            let s = open.span.to(close_span);
            span = Some(span.map_or(s, |n| n.to(s)));
        }
        Ok(VectorSelector {
            name,
            matchers,
            offset: 0,
            at: None,
            span: span.unwrap_or_default(),
        })
    }

    /// The matchers after `{`, through `}`; returns the span of `}`.
    fn label_matchers(&mut self, out: &mut Vec<Matcher>) -> PResult<Span> {
        let first = self.peek().clone();
        if first.raw == Raw::RBrace {
            self.bump();
            return Ok(first.span);
        }
        loop {
            let t = self.bump();
            match &t.raw {
                Raw::Ident | Raw::Str => {
                    let next = self.peek().clone();
                    let op = match next.raw {
                        Raw::Eql => Some(MatchOp::Equal),
                        Raw::Neq => Some(MatchOp::NotEqual),
                        Raw::EqlRegex => Some(MatchOp::Regex),
                        Raw::NeqRegex => Some(MatchOp::NotRegex),
                        _ => None,
                    };
                    match op {
                        Some(op) => {
                            self.bump();
                            let v = self.bump();
                            if v.raw != Raw::Str {
                                return Err(self.unexpected(&v, "label matching", "string"));
                            }
                            let name = if t.raw == Raw::Str {
                                self.unquote(&t)?
                            } else {
                                self.text(&t).to_string()
                            };
                            let value = self.unquote(&v)?;
                            let m = new_matcher(op, &name, &value).map_err(|e| {
                                err(t.span.to(v.span), regex_error_message(&e.source, &value))
                            })?;
                            out.push(m);
                        }
                        None if t.raw == Raw::Ident => {
                            return Err(self.unexpected(
                                &next,
                                "label matching",
                                "label matching operator",
                            ));
                        }
                        None => {
                            // A bare quoted string is the metric name.
                            let name = self.unquote(&t)?;
                            out.push(Matcher::equal(crate::model::METRIC_NAME, &name));
                        }
                    }
                }
                _ => {
                    return Err(self.unexpected(&t, "label matching", "identifier or \"}\""));
                }
            }
            let t = self.bump();
            match t.raw {
                Raw::RBrace => return Ok(t.span),
                Raw::Comma => {
                    if self.peek().raw == Raw::RBrace {
                        return Ok(self.bump().span);
                    }
                }
                _ => {
                    return Err(self.unexpected(&t, "label matching", "\",\" or \"}\""));
                }
            }
        }
    }

    // ---------------------------------------------------------------- calls, aggregations

    /// `(a, b, …)`; returns the arguments and the closing parenthesis.
    fn call_body(&mut self) -> PResult<(Vec<Node>, Span)> {
        let open = self.bump();
        if open.raw != Raw::LParen {
            return Err(self.unexpected(&open, "", ""));
        }
        let mut args = Vec::new();
        if self.peek().raw == Raw::RParen {
            let close = self.bump();
            return Ok((args, close.span));
        }
        loop {
            args.push(self.expr(0)?);
            let t = self.bump();
            match t.raw {
                Raw::RParen => return Ok((args, t.span)),
                Raw::Comma => {
                    // Whatever cannot start an argument makes Prometheus's parser take
                    // the comma as a trailing one (a lexing error is reported first).
                    let next = self.peek();
                    if !matches!(next.raw, Raw::Error { .. }) && !starts_expr(&next.raw) {
                        return Err(err(
                            t.span,
                            "trailing commas not allowed in function call args",
                        ));
                    }
                }
                _ => return Err(self.unexpected(&t, "", "")),
            }
        }
    }

    fn call(&mut self) -> PResult<Node> {
        let name_tok = self.bump();
        let name = self.text(&name_tok);
        let (args, close) = self.call_body()?;
        let Some(func) = signatures::lookup(name) else {
            return Err(err(
                name_tok.span,
                format!("unknown function with name {}", go_quote(name)),
            ));
        };
        if func.experimental && !self.opts.experimental_functions {
            return Err(err(
                name_tok.span,
                format!("function {} is not enabled", go_quote(name)),
            ));
        }
        let depth = args.iter().map(|a| a.depth).max().unwrap_or(0) + 1;
        Ok(Node {
            e: Expr::Call(Call {
                func,
                args: args.into_iter().map(|a| a.e).collect(),
                span: name_tok.span.to(close),
            }),
            depth,
        })
    }

    fn aggregate(&mut self, op: AggOp) -> PResult<Node> {
        let op_tok = self.bump();
        let mut grouping = Vec::new();
        let mut without = false;
        let mut have_modifier = false;
        if let Raw::Kw(k @ (Kw::By | Kw::Without)) = self.peek().raw {
            self.bump();
            without = k == Kw::Without;
            grouping = self.grouping_labels()?;
            have_modifier = true;
            let t = self.peek().clone();
            if t.raw != Raw::LParen {
                return Err(self.unexpected(&t, "aggregation", ""));
            }
        }
        self.agg_depth += 1;
        let body = self.call_body();
        self.agg_depth -= 1;
        let (args, close) = body?;
        if !have_modifier && let Raw::Error { .. } = self.peek().raw {
            // Prometheus reads the next token (for a `by`/`without`) before it checks the
            // arguments, so a lexing error there comes first.
            return Err(self.unexpected(self.peek(), "", ""));
        }
        let mut end = close;
        if !have_modifier && let Raw::Kw(k @ (Kw::By | Kw::Without)) = self.peek().raw {
            self.bump();
            without = k == Kw::Without;
            grouping = self.grouping_labels()?;
            end = self.toks[self.pos.saturating_sub(1)].span;
        }
        let span = op_tok.span.to(end);
        if args.is_empty() {
            return Err(err(span, "no arguments for aggregate expression provided"));
        }
        let mut want = 1;
        if op.has_param() {
            if op.is_experimental() && !self.opts.experimental_functions {
                return Err(err(
                    span,
                    format!(
                        "{}() is experimental and must be enabled with --enable-feature=promql-experimental-functions",
                        op.as_str()
                    ),
                ));
            }
            want = 2;
        }
        if args.len() != want {
            return Err(err(
                span,
                format!(
                    "wrong number of arguments for aggregate expression provided, expected {want}, got {}",
                    args.len()
                ),
            ));
        }
        let depth = args.iter().map(|a| a.depth).max().unwrap_or(0) + 1;
        let mut it = args.into_iter();
        let param = if want == 2 {
            it.next().map(|n| Box::new(n.e))
        } else {
            None
        };
        let expr = it
            .next()
            .map(|n| n.e)
            .unwrap_or(Expr::Number(NumberLiteral { value: 0.0, span }));
        Ok(Node {
            e: Expr::Aggregate(AggregateExpr {
                op,
                expr: Box::new(expr),
                param,
                grouping,
                without,
                span,
            }),
            depth,
        })
    }

    // ---------------------------------------------------------------- ranges, offset, @

    fn range_or_subquery(&mut self, node: Node) -> PResult<Node> {
        let open = self.bump();
        let range = self.positive_duration("subquery selector", "number or duration")?;
        let t = self.bump();
        match t.raw {
            Raw::RBracket => {
                let span = open.span.to(t.span);
                let Expr::VectorSelector(vs) = node.e else {
                    return Err(err(span, "ranges only allowed for vector selectors"));
                };
                if vs.offset != 0 {
                    return Err(err(span, "no offset modifiers allowed before range"));
                }
                if vs.at.is_some() {
                    return Err(err(span, "no @ modifiers allowed before range"));
                }
                let span = vs.span.to(t.span);
                Ok(Node {
                    e: Expr::MatrixSelector(MatrixSelector {
                        selector: vs,
                        range,
                        span,
                    }),
                    depth: node.depth + 1,
                })
            }
            Raw::Colon => {
                let step = if self.peek().raw == Raw::RBracket {
                    None
                } else {
                    Some(
                        self.positive_duration("subquery selector", "number or duration or \"]\"")?,
                    )
                };
                let close = self.bump();
                if close.raw != Raw::RBracket {
                    return Err(self.unexpected(&close, "subquery selector", "\"]\""));
                }
                let span = node.e.span().to(close.span);
                Ok(Node {
                    e: Expr::Subquery(SubqueryExpr {
                        expr: Box::new(node.e),
                        range,
                        step,
                        offset: 0,
                        at: None,
                        span,
                    }),
                    depth: node.depth + 1,
                })
            }
            _ => Err(self.unexpected(&t, "subquery or range", "\":\" or \"]\"")),
        }
    }

    /// A range or step: a duration expression that must be positive; in milliseconds.
    fn positive_duration(&mut self, ctx: &str, expected: &str) -> PResult<i64> {
        let d = self.dur_expr(0, ctx, expected)?;
        if d.literal {
            if d.secs <= 0.0 || d.secs.is_nan() {
                return Err(err(d.span, "duration must be greater than 0"));
            }
            return Ok(literal_ms(d.secs));
        }
        match expr_ms(d) {
            Ok(ms) if ms > 0 => Ok(ms),
            Ok(_) => {
                self.defer(err(d.span, "duration must be greater than 0"));
                Ok(1)
            }
            Err(e) => {
                self.defer(e);
                Ok(1)
            }
        }
    }

    fn defer(&mut self, e: ParseError) {
        if self.deferred.is_none() {
            self.deferred = Some(e);
        }
    }

    /// A duration expression (`5m`, `2m*15`, `(1h - 5m)`), evaluated to seconds.
    fn dur_expr(&mut self, min_prec: u8, ctx: &str, expected: &str) -> PResult<Dur> {
        stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || {
            self.dur_expr_inner(min_prec, ctx, expected)
        })
    }

    fn dur_expr_inner(&mut self, min_prec: u8, ctx: &str, expected: &str) -> PResult<Dur> {
        let start = self.peek().span;
        self.enter(start)?;
        let mut lhs = self.dur_unary(ctx, expected)?;
        loop {
            let t = self.peek().clone();
            let op = match t.raw {
                Raw::Add => BinOp::Add,
                Raw::Sub => BinOp::Sub,
                Raw::Mul => BinOp::Mul,
                Raw::Div => BinOp::Div,
                Raw::Mod => BinOp::Mod,
                Raw::Pow => BinOp::Pow,
                _ => break,
            };
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            self.bump();
            let next = if op.is_right_associative() {
                prec
            } else {
                prec + 1
            };
            let rhs = self.dur_expr(next, ctx, expected)?;
            if let Raw::Error { .. } = self.peek().raw {
                // Prometheus reads the next token before it reduces the operation.
                return Err(self.unexpected(self.peek(), "", ""));
            }
            self.experimental(lhs.span)?;
            if rhs.literal && rhs.secs == 0.0 {
                if op == BinOp::Div {
                    return Err(err(t.span, "division by zero"));
                }
                if op == BinOp::Mod {
                    return Err(err(t.span, "modulo by zero"));
                }
            }
            let span = lhs.span.to(rhs.span);
            let secs = match op {
                BinOp::Add => lhs.secs + rhs.secs,
                BinOp::Sub => lhs.secs - rhs.secs,
                BinOp::Mul => lhs.secs * rhs.secs,
                BinOp::Div | BinOp::Mod if rhs.secs == 0.0 => {
                    let what = if op == BinOp::Div {
                        "division"
                    } else {
                        "modulo"
                    };
                    self.defer(err(span, format!("{what} by zero")));
                    f64::NAN
                }
                BinOp::Div => lhs.secs / rhs.secs,
                BinOp::Mod => lhs.secs % rhs.secs,
                _ => lhs.secs.powf(rhs.secs),
            };
            lhs = Dur {
                secs,
                span,
                literal: false,
            };
        }
        self.leave();
        Ok(lhs)
    }

    fn dur_unary(&mut self, ctx: &str, expected: &str) -> PResult<Dur> {
        let t = self.peek().clone();
        let neg = match t.raw {
            Raw::Add => false,
            Raw::Sub => true,
            _ => return self.dur_primary(ctx, expected),
        };
        self.bump();
        let inner = self.dur_expr(BinOp::Pow.precedence(), ctx, expected)?;
        let secs = if neg { -inner.secs } else { inner.secs };
        let span = t.span.to(inner.span);
        if inner.literal && secs.abs() > MAX_DURATION_SECS {
            return Err(err(t.span, "duration out of range"));
        }
        Ok(Dur {
            secs,
            span,
            literal: inner.literal,
        })
    }

    fn dur_primary(&mut self, ctx: &str, expected: &str) -> PResult<Dur> {
        let t = self.peek().clone();
        match t.raw {
            Raw::Number | Raw::Duration => {
                self.bump();
                let secs = if t.raw == Raw::Number {
                    parse_number(self.text(&t)).map_err(|m| err(t.span, m))?
                } else {
                    self.duration_secs(&t)?
                };
                if secs.abs() > MAX_DURATION_SECS {
                    return Err(err(t.span, "duration out of range"));
                }
                Ok(Dur {
                    secs,
                    span: t.span,
                    literal: true,
                })
            }
            Raw::LParen => {
                self.bump();
                let inner = self.dur_expr(0, ctx, expected)?;
                let close = self.bump();
                if close.raw != Raw::RParen {
                    return Err(self.unexpected(&close, ctx, expected));
                }
                self.experimental(inner.span)?;
                Ok(inner)
            }
            _ => Err(self.unexpected(&t, ctx, expected)),
        }
    }

    fn experimental(&self, span: Span) -> PResult<()> {
        if self.opts.duration_expressions {
            Ok(())
        } else {
            Err(err(span, "experimental duration expression is not enabled"))
        }
    }

    fn duration_secs(&self, t: &RawTok) -> PResult<f64> {
        match parse_duration(self.text(t)) {
            Ok(d) => Ok(d.as_secs_f64()),
            Err(e) => Err(err(t.span, e.to_string())),
        }
    }

    fn offset(&mut self, e: Expr) -> PResult<Expr> {
        let t = self.peek().clone();
        let next = self.peek_at(1).raw.clone();
        let ms = match (&t.raw, &next) {
            (Raw::Number | Raw::Duration, _) => {
                let d = self.dur_primary("offset", "number or duration")?;
                literal_ms(d.secs)
            }
            (Raw::Add | Raw::Sub, Raw::Number | Raw::Duration) => {
                self.bump();
                let lit = self.bump();
                let mut secs = if lit.raw == Raw::Number {
                    parse_number(self.text(&lit)).map_err(|m| err(lit.span, m))?
                } else {
                    self.duration_secs(&lit)?
                };
                if t.raw == Raw::Sub {
                    secs = -secs;
                }
                if secs.abs() > MAX_DURATION_SECS {
                    return Err(err(t.span, "duration out of range"));
                }
                literal_ms(secs)
            }
            (Raw::LParen | Raw::Add | Raw::Sub, _) => {
                let d = self.dur_expr(0, "offset", "number or duration")?;
                if d.literal {
                    literal_ms(d.secs)
                } else {
                    expr_ms(d).unwrap_or_else(|e| {
                        self.defer(e);
                        0
                    })
                }
            }
            _ => return Err(self.unexpected(&t, "offset", "number or duration")),
        };
        let end = self.toks[self.pos.saturating_sub(1)].span;
        apply_offset(e, ms, end)
    }

    fn at(&mut self, e: Expr) -> PResult<Expr> {
        let t = self.bump();
        let at = match &t.raw {
            Raw::Number | Raw::Duration => At::Time(self.at_time(&e, &t, false)?),
            Raw::Add | Raw::Sub => {
                let n = self.bump();
                if !matches!(n.raw, Raw::Number | Raw::Duration) {
                    return Err(self.unexpected(&n, "@", "timestamp"));
                }
                At::Time(self.at_time(&e, &n, t.raw == Raw::Sub)?)
            }
            Raw::Kw(k @ (Kw::Start | Kw::End)) => {
                let k = *k;
                let open = self.bump();
                if open.raw != Raw::LParen {
                    return Err(self.unexpected(&open, "@", "timestamp"));
                }
                let close = self.bump();
                if close.raw != Raw::RParen {
                    return Err(self.unexpected(&close, "@", "timestamp"));
                }
                if k == Kw::Start { At::Start } else { At::End }
            }
            _ => return Err(self.unexpected(&t, "@", "timestamp")),
        };
        let end = self.toks[self.pos.saturating_sub(1)].span;
        apply_at(e, at, end)
    }

    fn at_time(&self, e: &Expr, t: &RawTok, neg: bool) -> PResult<i64> {
        let mut secs = if t.raw == Raw::Number {
            parse_number(self.text(t)).map_err(|m| err(t.span, m))?
        } else {
            self.duration_secs(t)?
        };
        if neg {
            secs = -secs;
        }
        if !secs.is_finite() || secs >= i64::MAX as f64 || secs <= i64::MIN as f64 {
            return Err(err(
                e.span(),
                format!(
                    "timestamp out of bounds for @ modifier: {}",
                    go_format_f(secs)
                ),
            ));
        }
        // `as` saturates; Prometheus's conversion of such values is undefined anyway.
        Ok((secs * 1000.0).round() as i64)
    }

    fn unquote(&self, t: &RawTok) -> PResult<String> {
        unquote(self.text(t)).map_err(|m| err(t.span, m))
    }
}

/// Go's `%q` of a token, or `%.10q...` when it is longer than 10 bytes.
fn short_quote(text: &str) -> String {
    if text.len() > 10 {
        let cut: String = text.chars().take(10).collect();
        format!("{}...", go_quote(&cut))
    } else {
        go_quote(text)
    }
}

/// Go's `%f`.
fn go_format_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v:.6}")
    }
}

/// Milliseconds of a literal duration in seconds, as Prometheus rounds it to nanoseconds
/// and the engine truncates to milliseconds.
fn literal_ms(secs: f64) -> i64 {
    let ns = (secs * 1e9).round();
    (ns / 1e6).trunc() as i64
}

/// Milliseconds of an evaluated duration expression (Prometheus truncates).
fn expr_ms(d: Dur) -> PResult<i64> {
    let ms = (d.secs * 1000.0).trunc();
    if !ms.is_finite() || ms.abs() > MAX_DURATION_SECS * 1000.0 {
        return Err(err(d.span, "duration is out of range"));
    }
    Ok(ms as i64)
}

fn apply_offset(e: Expr, ms: i64, end: Span) -> PResult<Expr> {
    const MSG: &str = "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery";
    const TWICE: &str = "offset may not be set multiple times";
    match e {
        Expr::VectorSelector(mut vs) => {
            if vs.offset != 0 {
                return Err(err(vs.span, TWICE));
            }
            vs.offset = ms;
            vs.span = vs.span.to(end);
            Ok(Expr::VectorSelector(vs))
        }
        Expr::MatrixSelector(mut m) => {
            if m.selector.offset != 0 {
                return Err(err(m.span, TWICE));
            }
            m.selector.offset = ms;
            m.span = m.span.to(end);
            Ok(Expr::MatrixSelector(m))
        }
        Expr::Subquery(mut s) => {
            if s.offset != 0 {
                return Err(err(s.span, TWICE));
            }
            s.offset = ms;
            s.span = s.span.to(end);
            Ok(Expr::Subquery(s))
        }
        other => Err(err(other.span(), MSG)),
    }
}

fn apply_at(e: Expr, at: At, end: Span) -> PResult<Expr> {
    const MSG: &str = "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery";
    const TWICE: &str = "@ <timestamp> may not be set multiple times";
    match e {
        Expr::VectorSelector(mut vs) => {
            if vs.at.is_some() {
                return Err(err(vs.span, TWICE));
            }
            vs.at = Some(at);
            vs.span = vs.span.to(end);
            Ok(Expr::VectorSelector(vs))
        }
        Expr::MatrixSelector(mut m) => {
            if m.selector.at.is_some() {
                return Err(err(m.span, TWICE));
            }
            m.selector.at = Some(at);
            m.span = m.span.to(end);
            Ok(Expr::MatrixSelector(m))
        }
        Expr::Subquery(mut s) => {
            if s.at.is_some() {
                return Err(err(s.span, TWICE));
            }
            s.at = Some(at);
            s.span = s.span.to(end);
            Ok(Expr::Subquery(s))
        }
        other => Err(err(other.span(), MSG)),
    }
}

/// Tokens that may start an expression.
fn starts_expr(r: &Raw) -> bool {
    matches!(
        r,
        Raw::Number | Raw::Duration | Raw::Str | Raw::LParen | Raw::LBrace | Raw::Add | Raw::Sub
    ) || metric_identifier(r)
}

/// Tokens that may be a metric name (Prometheus's `metric_identifier`).
fn metric_identifier(r: &Raw) -> bool {
    matches!(
        r,
        Raw::Ident
            | Raw::MetricIdent
            | Raw::Kw(
                Kw::Agg(_)
                    | Kw::By
                    | Kw::And
                    | Kw::Or
                    | Kw::Unless
                    | Kw::Offset
                    | Kw::Without
                    | Kw::Start
                    | Kw::End
            )
    )
}

/// Tokens that may be a label in a grouping list (Prometheus's `maybe_label`).
fn maybe_label(r: &Raw) -> bool {
    matches!(r, Raw::Ident | Raw::MetricIdent) || matches!(r, Raw::Kw(k) if *k != Kw::Without)
}

/// How many compiled regex matchers each thread keeps for reuse.
const REGEX_CACHE_SIZE: usize = 256;

thread_local! {
    /// Compiled regex matchers by (operator, pattern): dashboards parse the same queries
    /// on every refresh, and compiling a regex costs far more than parsing the query.
    static REGEX_CACHE: std::cell::RefCell<std::collections::HashMap<(MatchOp, String), Matcher>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// `Matcher::new`, reusing a compiled regex when the same pattern was seen before.
fn new_matcher(
    op: MatchOp,
    name: &str,
    value: &str,
) -> Result<Matcher, crate::model::MatcherError> {
    if !matches!(op, MatchOp::Regex | MatchOp::NotRegex) {
        return Matcher::new(op, name, value);
    }
    let key = (op, value.to_string());
    let cached = REGEX_CACHE.with(|c| c.borrow().get(&key).cloned());
    if let Some(mut m) = cached {
        m.name.clear();
        m.name.push_str(name);
        return Ok(m);
    }
    let m = Matcher::new(op, name, value)?;
    REGEX_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= REGEX_CACHE_SIZE {
            c.clear();
        }
        c.insert(key, m.clone());
    });
    Ok(m)
}

/// A number literal's value, as Prometheus reads it: an integer (with Go's base prefixes
/// and octal for a leading 0) if it is one, else a float.
pub(crate) fn parse_number(s: &str) -> Result<f64, String> {
    if let Some(i) = crate::promql::gonum::parse_go_int(s) {
        return Ok(i as f64);
    }
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => return Ok(f64::INFINITY),
        "-inf" | "-infinity" => return Ok(f64::NEG_INFINITY),
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    let invalid = || {
        format!(
            "error parsing number: strconv.ParseFloat: parsing {}: invalid syntax",
            go_quote(s)
        )
    };
    // Hexadecimal floats need a `p` exponent, which the lexer never produces.
    if lower.contains('x') || lower.contains("inf") || lower.contains("nan") {
        return Err(invalid());
    }
    if s.contains('_') && !crate::promql::gonum::underscores_ok(s) {
        return Err(invalid());
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    match clean.parse::<f64>() {
        Ok(v) if v.is_infinite() => Err(format!(
            "error parsing number: strconv.ParseFloat: parsing {}: value out of range",
            go_quote(s)
        )),
        Ok(v) => Ok(v),
        Err(_) => Err(invalid()),
    }
}

/// Unquotes a string token (`"…"`, `'…'` with Go escapes, or `` `…` ``). Bytes that do
/// not form UTF-8 (from `\xNN` or octal escapes) become U+FFFD.
pub(crate) fn unquote(s: &str) -> Result<String, String> {
    let bad = || format!("error unquoting string {}: invalid syntax", go_quote(s));
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b[b.len() - 1] {
        return Err(bad());
    }
    let quote = b[0];
    let body = &s[1..s.len() - 1];
    if quote == b'`' {
        return Ok(body.to_string());
    }
    if quote != b'"' && quote != b'\'' {
        return Err(bad());
    }
    if !body.contains('\\') {
        return Ok(body.to_string());
    }
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    let mut buf = [0u8; 4];
    while let Some((_, c)) = chars.next() {
        if c != '\\' {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some((_, e)) = chars.next() else {
            return Err(bad());
        };
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '\'' | '"' => Some(e as u8),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
            continue;
        }
        let (n, radix, byte) = match e {
            '0'..='7' => (2, 8, true),
            'x' => (2, 16, true),
            'u' => (4, 16, false),
            'U' => (8, 16, false),
            _ => return Err(bad()),
        };
        let mut v: u32 = if radix == 8 { e as u32 - '0' as u32 } else { 0 };
        for _ in 0..n {
            let Some((_, d)) = chars.next() else {
                return Err(bad());
            };
            let Some(x) = d.to_digit(radix) else {
                return Err(bad());
            };
            v = v * radix + x;
        }
        if byte {
            if v > 255 {
                return Err(bad());
            }
            out.push(v as u8);
        } else {
            let Some(ch) = char::from_u32(v) else {
                return Err(bad());
            };
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        }
    }
    Ok(match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Go's regexp error wording for the common mistakes, with the regex crate's text
/// otherwise. `pattern` is the matcher's value (the regex before anchoring).
fn regex_error_message(e: &regex::Error, pattern: &str) -> String {
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let kind = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("error:"))
        .map(str::trim)
        .unwrap_or_else(|| lines.last().copied().unwrap_or("").trim());
    // The offending part: the carets under the (anchored) pattern in the crate's message.
    let snippet = || -> Option<String> {
        if lines.len() < 4 {
            return None;
        }
        let shown: Vec<char> = lines[1].strip_prefix("    ")?.chars().collect();
        let carets = lines[2].strip_prefix("    ")?;
        let from = carets.find('^')?;
        let len = carets[from..].chars().take_while(|c| *c == '^').count();
        Some(shown.get(from..from + len)?.iter().collect())
    };
    let go = |what: &str, part: Option<String>| match part {
        Some(p) => format!("error parsing regexp: {what}: `{p}`"),
        None => format!("error parsing regexp: {kind}"),
    };
    match kind {
        "unclosed group" => go("missing closing )", Some(pattern.to_string())),
        "unopened group" => go("unexpected )", Some(pattern.to_string())),
        "repetition operator missing expression" => {
            go("missing argument to repetition operator", snippet())
        }
        k if k.starts_with("invalid repetition count range") => {
            go("invalid repeat count", snippet())
        }
        k if k.starts_with("invalid character class range") => {
            go("invalid character class range", snippet())
        }
        "unrecognized escape sequence" => go("invalid escape sequence", snippet()),
        "unclosed character class" => go(
            "missing closing ]",
            pattern.rfind('[').map(|i| pattern[i..].to_string()),
        ),
        _ => format!("error parsing regexp: {kind}"),
    }
}

// -------------------------------------------------------------------- type checks

/// The span of a binary operator and its modifiers: between the operands, without
/// surrounding blanks (as Prometheus's `opRange`).
fn op_span(input: &str, lhs: Span, rhs: Span) -> Span {
    let b = input.as_bytes();
    let mut s = lhs.end.min(b.len());
    let mut e = rhs.start.min(b.len());
    while s < e && matches!(b[s], b' ' | b'\t' | b'\n' | b'\r') {
        s += 1;
    }
    while e > s && matches!(b[e - 1], b' ' | b'\t' | b'\n' | b'\r') {
        e -= 1;
    }
    Span::new(s, e)
}

fn expect_type(input: &str, e: &mut Expr, want: ValueType, context: &str) -> PResult<()> {
    let got = check(input, e)?;
    if got != want {
        return Err(err(
            e.span(),
            format!(
                "expected type {} in {}, got {}",
                want.document_name(),
                context,
                got.document_name()
            ),
        ));
    }
    Ok(())
}

/// Prometheus's `checkAST`: returns the expression's type or the first type error.
pub(crate) fn check(input: &str, e: &mut Expr) -> PResult<ValueType> {
    stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || check_inner(input, e))
}

fn check_inner(input: &str, e: &mut Expr) -> PResult<ValueType> {
    // The type comes from the children's checks rather than `Expr::value_type`, which
    // would walk the subtree again at every level.
    let mut typ = match e {
        Expr::Number(_) => ValueType::Scalar,
        Expr::String(_) => ValueType::String,
        Expr::MatrixSelector(_) | Expr::Subquery(_) => ValueType::Matrix,
        Expr::Call(c) => c.func.return_type,
        _ => ValueType::Vector,
    };
    match e {
        Expr::Number(_) | Expr::String(_) => {}
        Expr::Paren(p) => {
            typ = check(input, &mut p.expr)?;
        }
        Expr::Aggregate(a) => {
            expect_type(
                input,
                &mut a.expr,
                ValueType::Vector,
                "aggregation expression",
            )?;
            let want = match a.op {
                AggOp::Topk
                | AggOp::Bottomk
                | AggOp::Quantile
                | AggOp::Limitk
                | AggOp::LimitRatio => Some(ValueType::Scalar),
                AggOp::CountValues => Some(ValueType::String),
                _ => None,
            };
            if let (Some(want), Some(p)) = (want, a.param.as_mut()) {
                expect_type(input, p, want, "aggregation parameter")?;
            }
        }
        Expr::Binary(b) => {
            let lt = check(input, &mut b.lhs)?;
            let rt = check(input, &mut b.rhs)?;
            if lt == ValueType::Scalar && rt == ValueType::Scalar {
                typ = ValueType::Scalar;
            }
            let op_range = || op_span(input, b.lhs.span(), b.rhs.span());
            if b.return_bool && !b.op.is_comparison() {
                return Err(err(
                    op_range(),
                    "bool modifier can only be used on comparison operators",
                ));
            }
            if b.op.is_comparison()
                && !b.return_bool
                && lt == ValueType::Scalar
                && rt == ValueType::Scalar
            {
                return Err(err(
                    op_range(),
                    "comparisons between scalars must use BOOL modifier",
                ));
            }
            if let Some(m) = b.matching.as_mut() {
                if b.op.is_set() && m.card == Cardinality::OneToOne {
                    m.card = Cardinality::ManyToMany;
                }
                if m.on
                    && let Some(l) = m.labels.iter().find(|l| m.include.contains(l))
                {
                    return Err(err(
                        op_range(),
                        format!(
                            "label {} must not occur in ON and GROUP clause at once",
                            go_quote(l)
                        ),
                    ));
                }
            }
            if lt != ValueType::Scalar && lt != ValueType::Vector {
                return Err(err(
                    b.lhs.span(),
                    "binary expression must contain only scalar and instant vector types",
                ));
            }
            if rt != ValueType::Scalar && rt != ValueType::Vector {
                return Err(err(
                    b.rhs.span(),
                    "binary expression must contain only scalar and instant vector types",
                ));
            }
            if lt != ValueType::Vector || rt != ValueType::Vector {
                if b.matching.as_ref().is_some_and(|m| !m.labels.is_empty()) {
                    return Err(err(
                        b.span,
                        "vector matching only allowed between instant vectors",
                    ));
                }
                b.matching = None;
            } else if b.op.is_set()
                && let Some(m) = &b.matching
                && matches!(m.card, Cardinality::OneToMany | Cardinality::ManyToOne)
            {
                return Err(err(
                    b.span,
                    format!(
                        "no grouping allowed for {} operation",
                        go_quote(b.op.as_str())
                    ),
                ));
            }
            if (lt == ValueType::Scalar || rt == ValueType::Scalar) && b.op.is_set() {
                return Err(err(
                    b.span,
                    format!(
                        "set operator {} not allowed in binary scalar expression",
                        go_quote(b.op.as_str())
                    ),
                ));
            }
        }
        Expr::Call(c) => {
            let f = c.func;
            let n = c.args.len();
            let name = go_quote(f.name);
            if !f.variadic && f.min_args == f.arg_types.len() {
                if n != f.arg_types.len() {
                    return Err(err(
                        c.span,
                        format!(
                            "expected {} argument(s) in call to {name}, got {n}",
                            f.arg_types.len()
                        ),
                    ));
                }
            } else if n < f.min_args {
                return Err(err(
                    c.span,
                    format!(
                        "expected at least {} argument(s) in call to {name}, got {n}",
                        f.min_args
                    ),
                ));
            } else if n > f.max_args() {
                return Err(err(
                    c.span,
                    format!(
                        "expected at most {} argument(s) in call to {name}, got {n}",
                        f.max_args()
                    ),
                ));
            }
            let context = format!("call to function {name}");
            if f.name == "info" && n > 1 {
                let t = c.args[1].value_type();
                if t != ValueType::Vector {
                    return Err(err(
                        c.span,
                        format!(
                            "expected type {} in {context}, got {}",
                            ValueType::Vector.document_name(),
                            t.document_name()
                        ),
                    ));
                }
                match &c.args[1] {
                    Expr::VectorSelector(vs) if vs.name.is_none() => {}
                    other => {
                        return Err(err(
                            other.span(),
                            "expected label selectors only, got vector selector instead",
                        ));
                    }
                }
            }
            for (i, arg) in c.args.iter_mut().enumerate() {
                let Some(want) = f.arg_type(i) else { break };
                if f.name == "info" && i == 1 {
                    // The label selector may be empty: no selector check, type only.
                    continue;
                }
                expect_type(input, arg, want, &context)?;
            }
        }
        Expr::Unary(u) => {
            let t = check(input, &mut u.expr)?;
            typ = t;
            if t != ValueType::Scalar && t != ValueType::Vector {
                return Err(err(
                    u.span,
                    format!(
                        "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                        go_quote(t.document_name())
                    ),
                ));
            }
        }
        Expr::Subquery(s) => {
            let t = check(input, &mut s.expr)?;
            if t != ValueType::Vector {
                return Err(err(
                    s.span,
                    format!(
                        "subquery is only allowed on instant vector, got {} instead",
                        t.as_str()
                    ),
                ));
            }
        }
        Expr::MatrixSelector(m) => check_selector(&m.selector)?,
        Expr::VectorSelector(vs) => check_selector(vs)?,
    }
    Ok(typ)
}

pub(crate) fn check_selector(vs: &VectorSelector) -> PResult<()> {
    if let Some(name) = vs.name.as_deref().filter(|n| !n.is_empty()) {
        for m in vs.matchers.iter().skip(1) {
            if m.name == crate::model::METRIC_NAME {
                return Err(err(
                    vs.span,
                    format!(
                        "metric name must not be set twice: {} or {}",
                        go_quote(name),
                        go_quote(&m.value)
                    ),
                ));
            }
        }
        return Ok(());
    }
    if !vs.matchers.iter().any(|m| !m.matches_empty()) {
        return Err(err(
            vs.span,
            "vector selector must contain at least one non-empty matcher",
        ));
    }
    Ok(())
}
