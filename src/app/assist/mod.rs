//! Query assistance for the TUI's query bar: syntax highlighting, error checking and
//! completion of the PromQL being typed. The TUI may not use `crate::promql` or storage
//! (see tests/it/deps.rs), so this facade in `app` wraps the lossless PromQL lexer, the
//! parser and the function table in three pure functions over the text: [`highlight`],
//! [`check`] and [`complete`] (the last over a [`CompletionIndex`] that `app` builds from
//! storage and hands to the TUI with every snapshot).

mod complete;
mod index;
mod items;
#[cfg(test)]
mod tests;

use std::ops::Range;

use crate::promql::parser::lexer::{self, TokenKind};
use crate::promql::{ParseOptions, parse_with};

pub use complete::{Completion, CompletionItem, CompletionKind, complete};
pub use index::{CompletionIndex, IndexValue, MAX_VALUES_PER_LABEL};

/// What a highlighted piece of the query is; the theme picks its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenClass {
    /// A metric name (an identifier outside braces that is not called).
    Metric,
    /// A label name, inside braces or in a `by (…)`-style list.
    Label,
    /// A quoted or raw string.
    String,
    Number,
    /// A duration literal such as `5m`.
    Duration,
    /// A function name (an identifier followed by `(`).
    Function,
    /// An aggregation operator (`sum`, `topk`, …).
    Aggregation,
    /// `by`, `without`, `offset`, `bool`, `on`, `ignoring`, `group_left`, …
    Keyword,
    /// Arithmetic, comparison, set and matching operators, and `@`.
    Operator,
    /// Parentheses, braces, brackets, commas, colons.
    Punct,
    /// `# …` to the end of the line.
    Comment,
    /// Bytes that are not PromQL (an unterminated string, a stray character).
    Error,
    /// Whitespace.
    Plain,
}

/// One highlighted piece: a byte range of the query and its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Highlight {
    pub range: Range<usize>,
    pub class: TokenClass,
}

/// Splits `text` into highlighted pieces that cover every byte exactly once, in order.
/// Never panics; bytes the lexer cannot place are `Error`.
pub fn highlight(text: &str) -> Vec<Highlight> {
    let mut out: Vec<Highlight> = Vec::new();
    let mut pos = 0;
    for tok in lexer::lex(text) {
        let start = tok.span.start.max(pos);
        let end = tok.span.end.min(text.len());
        if end <= start {
            continue;
        }
        if start > pos {
            // Defensive: the lexer is lossless, but a gap must still be covered.
            push_piece(&mut out, pos..start, TokenClass::Plain);
        }
        push_piece(&mut out, start..end, class_of(tok.kind));
        pos = end;
    }
    if pos < text.len() {
        push_piece(&mut out, pos..text.len(), TokenClass::Plain);
    }
    out
}

fn push_piece(out: &mut Vec<Highlight>, range: Range<usize>, class: TokenClass) {
    out.push(Highlight { range, class });
}

fn class_of(kind: TokenKind) -> TokenClass {
    match kind {
        TokenKind::MetricName => TokenClass::Metric,
        TokenKind::LabelName => TokenClass::Label,
        TokenKind::Keyword => TokenClass::Keyword,
        TokenKind::Aggregation => TokenClass::Aggregation,
        TokenKind::Function => TokenClass::Function,
        TokenKind::Number => TokenClass::Number,
        TokenKind::Duration => TokenClass::Duration,
        TokenKind::String => TokenClass::String,
        TokenKind::Operator => TokenClass::Operator,
        TokenKind::Punctuation => TokenClass::Punct,
        TokenKind::Comment => TokenClass::Comment,
        TokenKind::Whitespace => TokenClass::Plain,
        TokenKind::Error => TokenClass::Error,
    }
}

/// What is wrong with a query: where (a non-empty byte range within the text; when the
/// query ends too early, its last character) and Prometheus's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryProblem {
    pub range: Range<usize>,
    pub message: String,
}

/// Parses `text` as `kmon serve` does by default (experimental functions and duration
/// expressions off) and returns the first error, as Prometheus reports it. A blank query
/// is not a problem.
pub fn check(text: &str) -> Option<QueryProblem> {
    if text.trim().is_empty() {
        return None;
    }
    let err = parse_with(text, &ParseOptions::default()).err()?;
    let range = widen(text, err.span.start, err.span.end);
    Some(QueryProblem {
        range,
        message: err.message,
    })
}

/// Clamps a span to the text and to character boundaries, and makes it at least one
/// character wide: a zero-width span inside the text covers the next character, one at
/// the end covers the last character.
fn widen(text: &str, start: usize, end: usize) -> Range<usize> {
    let len = text.len();
    let mut start = floor_boundary(text, start.min(len));
    let mut end = ceil_boundary(text, end.clamp(start, len));
    if end == start {
        if start < len {
            end = ceil_boundary(text, start + 1);
        } else {
            // At the end: the last character (the text is not empty here).
            start = floor_boundary(text, len.saturating_sub(1));
        }
    }
    start..end
}

/// The largest character boundary at or before `i` (`i` must be <= len).
pub(crate) fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest character boundary at or after `i` (`i` must be <= len).
fn ceil_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}
