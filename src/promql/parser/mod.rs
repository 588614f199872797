//! The PromQL parser (nom): a reusable lexer (also for syntax highlighting), the parser
//! that builds `ast::Expr` with type checks against the function table, typed errors with
//! byte spans, and the printer (`Display for Expr`) that writes canonical PromQL.

use crate::model::Matcher;

use super::ast::{Expr, Span};

/// Switches for the parts of the language that Prometheus keeps behind feature flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// `--enable-feature=promql-experimental-functions`: experimental functions and the
    /// `limitk`/`limit_ratio` aggregations.
    pub experimental_functions: bool,
    /// `--enable-feature=promql-duration-expr`: arithmetic in ranges, steps and offsets.
    pub duration_expressions: bool,
}

/// A parse error: where, and what, in Prometheus's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub span: Span,
    pub message: String,
}

/// Parses a query with the stable language only.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    parse_with(input, &ParseOptions::default())
}

/// Parses a query with the given feature switches.
pub fn parse_with(input: &str, opts: &ParseOptions) -> Result<Expr, ParseError> {
    let _ = (input, opts);
    todo!("parser")
}

/// Parses a series selector such as the API's `match[]` (`up{job="x"}`, `{a=~"b"}`).
pub fn parse_metric_selector(input: &str) -> Result<Vec<Matcher>, ParseError> {
    let _ = input;
    todo!("parser: selector")
}
