//! The PromQL parser (nom): a reusable lexer (also for syntax highlighting), the parser
//! that builds `ast::Expr` with type checks against the function table, typed errors with
//! byte spans, the printer (`Display for Expr`) that writes canonical PromQL, and
//! Prometheus's pretty printer on top of it (`pretty`).
//!
//! The lexer (`lexer`) recognizes tokens with nom combinators and follows the states of
//! Prometheus's lexer; the parser (`parse`) is a precedence-climbing descent over those
//! tokens that reports Prometheus's messages, then runs Prometheus's type checks
//! (`checkAST`) in the same order, so the first error is the one Prometheus reports.
//! Messages are Prometheus 3.5's (`tests/promql_parser/` holds several hundred queries
//! whose error text and canonical printing were checked against a Prometheus 3.5.3).
//!
//! Known, deliberate differences from Prometheus 3.5:
//! * Duration expressions (`[2m*15]`, `offset (1h - 5m)`) are folded to milliseconds
//!   while parsing. What Prometheus only finds when the engine evaluates them (a
//!   non-positive range or step, division by a computed zero) is a `ParseError` here,
//!   reported after the syntax and type errors, as Prometheus's order is.
//! * So the printer writes the folded value (`foo[30m]`), and a duration used as a number
//!   (`5m + 1`) prints as seconds (`300 + 1`); both parse back to the same tree.
//! * `a + ignoring() group_left b` prints with its `group_left` (Prometheus drops it), and
//!   `on`/`ignoring` labels that need quotes are quoted.
//! * `\xNN`/octal escapes that do not form UTF-8 become U+FFFD (printed as `\ufffd`).
//! * Regexes are the `regex` crate's dialect (RE2-like, as Go's): a few patterns differ
//!   (Go takes a stray `{` literally), and only the common errors use Go's wording.
//! * `info(x, sum(y))` is an error message, not Prometheus's internal panic; `@` times
//!   beyond the i64 range saturate; `foo offset (1m) [5m]` is refused like
//!   `foo offset 1m [5m]`; nesting deeper than [`MAX_DEPTH`] is an error.

use crate::model::Matcher;

use super::ast::{Expr, Span};

pub mod lexer;
mod parse;
mod pretty;
mod printer;
#[cfg(test)]
mod tests;

pub use parse::MAX_DEPTH;
pub use pretty::pretty;
/// Go's `%q` of a string, for every message that quotes as Prometheus does.
pub(crate) use printer::go_quote;

/// Switches for the parts of the language that Prometheus keeps behind feature flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// `--enable-feature=promql-experimental-functions`: experimental functions and the
    /// `limitk`/`limit_ratio` aggregations.
    pub experimental_functions: bool,
    /// `--enable-feature=promql-duration-expr`: arithmetic in ranges, steps and offsets.
    pub duration_expressions: bool,
}

impl ParseOptions {
    /// Every feature switch on (what the upstream test runner uses).
    pub fn all() -> Self {
        ParseOptions {
            experimental_functions: true,
            duration_expressions: true,
        }
    }
}

/// A parse error: where, and what, in Prometheus's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub span: Span,
    pub message: String,
}

impl ParseError {
    /// The 1-based line and column of the error's start, counted as Prometheus does
    /// (columns in bytes).
    pub fn position(&self, input: &str) -> (usize, usize) {
        let pos = self.span.start.min(input.len());
        let before = &input.as_bytes()[..pos];
        let line = 1 + before.iter().filter(|b| **b == b'\n').count();
        let col = match before.iter().rposition(|b| *b == b'\n') {
            Some(nl) => pos - nl,
            None => pos + 1,
        };
        (line, col)
    }

    /// `"{line}:{col}: parse error: {message}"`, as Prometheus's HTTP API shows it.
    pub fn to_prometheus_string(&self, input: &str) -> String {
        if input.is_empty() {
            return format!("unknown position: parse error: {}", self.message);
        }
        let (line, col) = self.position(input);
        format!("{line}:{col}: parse error: {}", self.message)
    }
}

/// Parses a query with the stable language only.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    parse_with(input, &ParseOptions::default())
}

/// Parses a query with the given feature switches.
pub fn parse_with(input: &str, opts: &ParseOptions) -> Result<Expr, ParseError> {
    parse::Parser::new(input, opts).parse_query()
}

/// Parses a series selector such as the API's `match[]` (`up{job="x"}`, `{a=~"b"}`).
/// As Prometheus's `ParseMetricSelector`, it does not require a non-empty matcher; the
/// caller decides.
pub fn parse_metric_selector(input: &str) -> Result<Vec<Matcher>, ParseError> {
    let vs = parse::Parser::new(input, &ParseOptions::default()).parse_selector()?;
    Ok(vs.matchers)
}
