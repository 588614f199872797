//! The PromQL parser (nom): a reusable lexer (also for syntax highlighting), the parser
//! that builds `ast::Expr` with type checks against the function table, typed errors with
//! byte spans, and the printer (`Display for Expr`) that writes canonical PromQL.
//!
//! The lexer (`lexer`) recognizes tokens with nom combinators and follows the states of
//! Prometheus's lexer; the parser (`parse`) is a precedence-climbing descent over those
//! tokens that reports Prometheus's messages, then runs Prometheus's type checks
//! (`checkAST`) in the same order, so the first error is the one Prometheus reports.

use crate::model::Matcher;

use super::ast::{Expr, Span};

pub mod lexer;
mod parse;
mod printer;
#[cfg(test)]
mod tests;

pub use parse::MAX_DEPTH;

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
