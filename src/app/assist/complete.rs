//! Tab completion for the query bar: from the tokens before the cursor, work out what may
//! come next (a label name inside `{…}`, a label value after `=`, a duration inside `[…]`,
//! a label in `by (…)`, otherwise metric names, functions, aggregations and keywords) and
//! rank the candidates from the [`CompletionIndex`] against the word being typed.

use std::ops::Range;

use super::floor_boundary;
use super::index::CompletionIndex;
use super::items::{Cand, Detail, keywords, quote, rank, rank_by};
use crate::promql::ast::AggOp;
use crate::promql::parser::lexer::{self, Token, TokenKind};
use crate::promql::signatures::FUNCTIONS;

/// The most items one completion returns.
pub const MAX_ITEMS: usize = 200;

/// Range durations offered inside `[`.
const DURATIONS: &[&str] = &["1m", "5m", "10m", "15m", "30m", "1h", "6h", "1d"];
/// Subquery steps offered after `[5m:`.
const STEPS: &[&str] = &["10s", "15s", "30s", "1m", "5m", "15m", "1h"];

/// What kind of thing a completion item inserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompletionKind {
    Metric,
    Label,
    LabelValue,
    Function,
    Aggregation,
    Keyword,
    Duration,
}

/// One candidate: `text` is inserted in place of the completion's `replace` range,
/// `label` is shown in the list, `detail` beside it (a signature, a series count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionItem {
    pub text: String,
    pub label: String,
    pub kind: CompletionKind,
    pub detail: String,
}

/// The candidates for one cursor position, best first, and the byte range of the text
/// that accepting one replaces (the word under the cursor; empty at a word boundary).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    pub replace: Range<usize>,
    pub items: Vec<CompletionItem>,
}

/// The completions for `text` with the cursor at byte `cursor` (clamped to the text and
/// to a character boundary). Never panics; an empty list when nothing fits.
pub fn complete(index: &CompletionIndex, text: &str, cursor: usize) -> Completion {
    let cursor = floor_boundary(text, cursor);
    let head = &text[..cursor];
    let toks: Vec<Token> = lexer::lex(head);
    let tok_text = |t: &Token| &head[t.span.start..t.span.end];

    // The word being typed: the last token, if it touches the cursor and is a word.
    let mut word: Option<Word> = None;
    if let Some(last) = toks.last().filter(|t| t.span.end == cursor) {
        let first = tok_text(last).chars().next().unwrap_or(' ');
        match last.kind {
            TokenKind::Comment => return empty(cursor),
            TokenKind::Error if matches!(first, '"' | '\'' | '`') => {
                word = Some(Word::open_string(text, last.span.start, cursor, first));
            }
            TokenKind::Number | TokenKind::Duration if first.is_ascii_digit() || first == '.' => {
                word = Some(Word::plain(text, last.span.start, cursor, false));
            }
            TokenKind::Whitespace
            | TokenKind::Error
            | TokenKind::Punctuation
            | TokenKind::Operator
            | TokenKind::String => {}
            _ if first.is_ascii_alphabetic() || first == '_' || first == ':' => {
                word = Some(Word::plain(text, last.span.start, cursor, true));
            }
            _ => {}
        }
    }
    let numeric = word.as_ref().is_some_and(|w| {
        w.prefix
            .starts_with(|c: char| c.is_ascii_digit() || c == '.')
    });
    let word_start = word.as_ref().map_or(cursor, |w| w.start);
    let ctx: Vec<Token> = toks
        .iter()
        .filter(|t| t.span.end <= word_start)
        .filter(|t| !matches!(t.kind, TokenKind::Whitespace | TokenKind::Comment))
        .copied()
        .collect();
    let prev = ctx.last().map(|t| (t.kind, tok_text(t)));
    let (replace, prefix) = match &word {
        Some(w) => (w.start..w.end, w.prefix.clone()),
        None => (cursor..cursor, String::new()),
    };
    let mut out = Completion {
        replace,
        items: Vec::new(),
    };
    let open_string = word.as_ref().is_some_and(|w| w.quoted);
    let state = scan(&ctx, head);

    // Inside `{…}`.
    if let Some(brace) = &state.brace {
        let matcher = match_position(&ctx, head);
        if let Some((label, op)) = matcher {
            let metric = brace.metric.as_deref();
            let values = match metric.and_then(|m| index.metric(m)) {
                Some(_) => index.values_of(metric.unwrap_or_default(), label),
                None => index.all_values(label),
            };
            let regex = matches!(op, "=~" | "!~");
            let prefix = if regex {
                unescape(&prefix)
            } else {
                prefix.clone()
            };
            let cands = values.iter().map(|v| v.as_str());
            out.items = rank(cands, &prefix, |v| CompletionItem {
                text: quote(&if regex {
                    regex::escape(v)
                } else {
                    v.to_string()
                }),
                label: v.to_string(),
                kind: CompletionKind::LabelValue,
                detail: label.to_string(),
            });
        } else if !open_string && matches!(prev, Some((_, "{" | ","))) {
            let labels = brace_labels(index, brace.metric.as_deref());
            let used = &brace.used;
            let cands = labels
                .iter()
                .filter(|(name, _)| !used.iter().any(|u| u == name))
                .map(|(name, _)| *name);
            out.items = rank(cands, &prefix, |name| CompletionItem {
                text: name.to_string(),
                label: name.to_string(),
                kind: CompletionKind::Label,
                detail: labels
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(String::new(), |(_, d)| d.clone()),
            });
        }
        return out;
    }
    if open_string {
        return out;
    }
    // Inside `[…]`, or after `offset`.
    let after_offset =
        matches!(prev, Some((TokenKind::Keyword, k)) if k.eq_ignore_ascii_case("offset"));
    if let Some(colon) = state.bracket.or(after_offset.then_some(false)) {
        if after_offset || matches!(prev, Some((_, "[" | ":"))) {
            let (list, detail) = if colon {
                (STEPS, "subquery step")
            } else if after_offset {
                (DURATIONS, "offset")
            } else {
                (DURATIONS, "range")
            };
            out.items = rank_by(list.iter().copied(), &prefix, false, |d| CompletionItem {
                text: d.to_string(),
                label: d.to_string(),
                kind: CompletionKind::Duration,
                detail: detail.to_string(),
            });
        }
        return out;
    }
    // Inside `by (…)` and the like.
    if matches!(
        state.parens.last(),
        Some(Paren::Group | Paren::GroupOn | Paren::GroupMatch)
    ) {
        if matches!(prev, Some((_, "(" | ","))) {
            let names = group_labels(index, text);
            out.items = rank(names.iter().copied(), &prefix, |name| CompletionItem {
                text: name.to_string(),
                label: name.to_string(),
                kind: CompletionKind::Label,
                detail: "label".to_string(),
            });
        }
        return out;
    }
    // An expression position: nothing completes a number.
    if numeric {
        return out;
    }
    let mut cands: Vec<Cand> = Vec::new();
    let mut exprs = false;
    match prev {
        None => exprs = true,
        Some((TokenKind::Punctuation, "(" | ",")) => exprs = true,
        Some((TokenKind::Operator, "@")) => keywords(&mut cands, &["start()", "end()"]),
        Some((TokenKind::Operator, op)) => {
            exprs = true;
            keywords(&mut cands, &["on", "ignoring"]);
            if matches!(op, "==" | "!=" | ">" | "<" | ">=" | "<=") {
                keywords(&mut cands, &["bool"]);
            }
        }
        Some((TokenKind::Keyword, kw)) if kw.eq_ignore_ascii_case("bool") => exprs = true,
        Some((TokenKind::Aggregation, _)) => keywords(&mut cands, &["by", "without"]),
        Some((TokenKind::Punctuation, ")")) => match state.closed {
            Some(Paren::GroupOn) => {
                exprs = true;
                keywords(&mut cands, &["group_left", "group_right"]);
            }
            Some(Paren::GroupMatch) => exprs = true,
            Some(Paren::Group) => {}
            Some(Paren::Agg) => keywords(&mut cands, &["by", "without", "and", "or", "unless"]),
            _ => keywords(&mut cands, &["and", "or", "unless"]),
        },
        Some((TokenKind::MetricName, name)) => {
            // `sum b` lexes `sum` as a metric name until `by` is complete.
            if AggOp::from_name(name).is_some() {
                keywords(&mut cands, &["by", "without"]);
            }
            keywords(&mut cands, &["and", "or", "unless", "offset", "@"]);
        }
        Some((TokenKind::Punctuation, "}")) => {
            keywords(&mut cands, &["and", "or", "unless", "offset", "@"]);
        }
        Some((TokenKind::Punctuation, "]")) => keywords(&mut cands, &["offset", "@"]),
        Some((TokenKind::Number | TokenKind::String | TokenKind::Duration, _)) => {
            keywords(&mut cands, &["and", "or", "unless"]);
        }
        _ => {}
    }
    if exprs {
        cands.extend(index.metrics.iter().map(|m| Cand {
            label: m.name.as_str(),
            kind: CompletionKind::Metric,
            detail: Detail::Series(m.series),
        }));
        cands.extend(FUNCTIONS.iter().filter(|f| !f.experimental).map(|f| Cand {
            label: f.name,
            kind: CompletionKind::Function,
            detail: Detail::Function(f),
        }));
        cands.extend(
            AggOp::ALL
                .into_iter()
                .filter(|op| !op.is_experimental())
                .map(|op| Cand {
                    label: op.as_str(),
                    kind: CompletionKind::Aggregation,
                    detail: Detail::Agg(op),
                }),
        );
    }
    let paren_follows = text[out.replace.end..].trim_start().starts_with('(');
    out.items = rank(cands.iter(), &prefix, |c| c.item(paren_follows));
    out
}

fn empty(cursor: usize) -> Completion {
    Completion {
        replace: cursor..cursor,
        items: Vec::new(),
    }
}

/// The word under the cursor: where it starts and ends in the whole text, and the part
/// before the cursor (unquoted, for a string).
struct Word {
    start: usize,
    end: usize,
    prefix: String,
    quoted: bool,
}

impl Word {
    /// An identifier or duration from `start`, running on past the cursor.
    fn plain(text: &str, start: usize, cursor: usize, colons: bool) -> Word {
        let rest = &text[cursor..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':')))
            .unwrap_or(rest.len());
        Word {
            start,
            end: cursor + len,
            prefix: text[start..cursor].to_string(),
            quoted: false,
        }
    }

    /// An unterminated string (as far as the cursor): the word runs to its closing quote
    /// if there is one later on the line.
    fn open_string(text: &str, start: usize, cursor: usize, quote: char) -> Word {
        let body = &text[start + 1..cursor];
        let raw = quote == '`';
        // A string ending in an odd run of backslashes escapes the next character.
        let mut escaped = !raw && (body.len() - body.trim_end_matches('\\').len()) % 2 == 1;
        let mut end = cursor;
        for (i, c) in text[cursor..].char_indices() {
            if c == '\n' {
                break;
            }
            if escaped {
                escaped = false;
            } else if c == '\\' && !raw {
                escaped = true;
            } else if c == quote {
                end = cursor + i + 1;
                break;
            }
        }
        Word {
            start,
            end,
            prefix: if raw {
                body.to_string()
            } else {
                unescape(body)
            },
            quoted: true,
        }
    }
}

/// Drops the backslash of each escape (`\"` → `"`, `\\` → `\`, `\.` → `.`): good enough
/// to match what was typed against plain values.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(n) => out.push(n),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What a `(` opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paren {
    /// `by (` / `without (`: a label list.
    Group,
    /// `on (` / `ignoring (`: a label list, after which `group_left` may follow.
    GroupOn,
    /// `group_left (` / `group_right (`: a label list before the right-hand side.
    GroupMatch,
    /// An aggregation's argument list.
    Agg,
    /// Anything else.
    Plain,
}

struct Brace {
    metric: Option<String>,
    /// Label names already matched in this selector.
    used: Vec<String>,
}

#[derive(Default)]
struct State {
    brace: Option<Brace>,
    /// `Some(colon seen)` inside `[…]`.
    bracket: Option<bool>,
    parens: Vec<Paren>,
    /// What the last `)` closed.
    closed: Option<Paren>,
}

/// Follows braces, brackets and parentheses through the significant tokens.
fn scan(ctx: &[Token], head: &str) -> State {
    let text = |t: &Token| &head[t.span.start..t.span.end];
    let mut st = State::default();
    for (i, t) in ctx.iter().enumerate() {
        let s = text(t);
        let prev = i.checked_sub(1).map(|j| &ctx[j]);
        match (t.kind, s) {
            (TokenKind::Punctuation, "{") => {
                let metric = prev
                    .filter(|p| p.kind == TokenKind::MetricName)
                    .map(|p| text(p).to_string());
                st.brace = Some(Brace {
                    metric,
                    used: Vec::new(),
                });
            }
            (TokenKind::Punctuation, "}") => st.brace = None,
            (TokenKind::Punctuation, "[") => st.bracket = Some(false),
            (TokenKind::Punctuation, ":") if st.bracket.is_some() => st.bracket = Some(true),
            (TokenKind::Punctuation, "]") => st.bracket = None,
            (TokenKind::Punctuation, "(") => {
                let kind = match prev.map(|p| (p.kind, text(p).to_ascii_lowercase())) {
                    Some((TokenKind::Keyword, k)) => match k.as_str() {
                        "by" | "without" => Paren::Group,
                        "on" | "ignoring" => Paren::GroupOn,
                        "group_left" | "group_right" => Paren::GroupMatch,
                        _ => Paren::Plain,
                    },
                    Some((TokenKind::Aggregation, _)) => Paren::Agg,
                    _ => Paren::Plain,
                };
                st.parens.push(kind);
            }
            (TokenKind::Punctuation, ")") => st.closed = st.parens.pop(),
            (TokenKind::Operator, "=" | "!=" | "=~" | "!~") => {
                let name = prev.filter(|p| p.kind == TokenKind::LabelName).map(text);
                if let (Some(b), Some(name)) = (st.brace.as_mut(), name) {
                    b.used.push(name.to_string());
                    // `{__name__="foo", …}` names the metric too.
                    let value = ctx.get(i + 1).filter(|v| v.kind == TokenKind::String);
                    if name == "__name__" && s == "=" && b.metric.is_none() {
                        b.metric = value.map(|v| {
                            let q = text(v);
                            unescape(q.get(1..q.len().saturating_sub(1)).unwrap_or(""))
                        });
                    }
                }
            }
            _ => {}
        }
    }
    st
}

/// Inside braces, the label and operator of the matcher whose value comes next.
fn match_position<'h>(ctx: &[Token], head: &'h str) -> Option<(&'h str, &'h str)> {
    let n = ctx.len();
    if n < 2 {
        return None;
    }
    let (name, op) = (&ctx[n - 2], &ctx[n - 1]);
    let op_text = &head[op.span.start..op.span.end];
    let ok = name.kind == TokenKind::LabelName
        && op.kind == TokenKind::Operator
        && matches!(op_text, "=" | "!=" | "=~" | "!~");
    ok.then(|| (&head[name.span.start..name.span.end], op_text))
}

/// The label names offered in a selector, with a detail: the metric's own when the index
/// knows it, otherwise all of them.
fn brace_labels<'a>(index: &'a CompletionIndex, metric: Option<&str>) -> Vec<(&'a str, String)> {
    match metric.and_then(|m| index.metric(m)) {
        Some(m) => m
            .labels
            .iter()
            .map(|l| (l.name.as_str(), values_detail(l.values.len())))
            .collect(),
        None => index
            .labels
            .iter()
            .map(|l| (l.name.as_str(), values_detail(l.values.len())))
            .collect(),
    }
}

fn values_detail(n: usize) -> String {
    if n == 1 {
        "1 value".to_string()
    } else {
        format!("{n} values")
    }
}

/// The label names of the metrics `text` mentions (all label names when it mentions none
/// the index knows), sorted.
fn group_labels<'a>(index: &'a CompletionIndex, text: &str) -> Vec<&'a str> {
    let mut names: Vec<&'a str> = Vec::new();
    for t in lexer::lex(text) {
        if t.kind == TokenKind::MetricName
            && let Some(m) = index.metric(&text[t.span.start..t.span.end])
        {
            names.extend(m.labels.iter().map(|l| l.name.as_str()));
        }
    }
    if names.is_empty() {
        return index.all_label_names().collect();
    }
    names.sort_unstable();
    names.dedup();
    names
}
