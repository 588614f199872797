//! Completion candidates and their ranking: the items an expression position offers
//! (metrics, functions with their signatures, aggregations, keywords), how a label value
//! is quoted, and the ordering of candidates against the word being typed. Used by
//! [`super::complete`].

use super::complete::{CompletionItem, CompletionKind, MAX_ITEMS};
use crate::promql::ast::{AggOp, ValueType};
use crate::promql::signatures::Function;

pub(super) enum Detail {
    Series(usize),
    Function(&'static Function),
    Agg(AggOp),
    Keyword,
}

/// An expression-position candidate.
pub(super) struct Cand<'a> {
    pub label: &'a str,
    pub kind: CompletionKind,
    pub detail: Detail,
}

impl AsRef<str> for &Cand<'_> {
    fn as_ref(&self) -> &str {
        self.label
    }
}

impl Cand<'_> {
    pub fn item(&self, paren_follows: bool) -> CompletionItem {
        let label = self.label.to_string();
        let (text, detail) = match &self.detail {
            Detail::Series(1) => (label.clone(), "1 series".to_string()),
            Detail::Series(n) => (label.clone(), format!("{n} series")),
            Detail::Function(f) if paren_follows => (label.clone(), signature(f)),
            Detail::Function(f) => (format!("{label}("), signature(f)),
            Detail::Agg(op) => (label.clone(), agg_signature(*op)),
            Detail::Keyword => (label.clone(), keyword_detail(&label).to_string()),
        };
        CompletionItem {
            text,
            label,
            kind: self.kind,
            detail,
        }
    }
}

pub(super) fn keywords<'a>(cands: &mut Vec<Cand<'a>>, words: &[&'static str]) {
    cands.extend(words.iter().map(|w| Cand {
        label: w,
        kind: CompletionKind::Keyword,
        detail: Detail::Keyword,
    }));
}

fn keyword_detail(kw: &str) -> &'static str {
    match kw {
        "by" => "aggregate keeping only these labels",
        "without" => "aggregate dropping these labels",
        "offset" => "shift the selector back in time",
        "bool" => "comparison returns 0 or 1",
        "and" => "intersection",
        "or" => "union",
        "unless" => "complement",
        "on" => "match only on these labels",
        "ignoring" => "match ignoring these labels",
        "group_left" => "many-to-one match",
        "group_right" => "one-to-many match",
        "@" => "evaluate at a fixed time",
        "start()" => "the start of the range query",
        "end()" => "the end of the range query",
        _ => "keyword",
    }
}

fn arg_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Vector => "instant-vector",
        ValueType::Matrix => "range-vector",
        ValueType::Scalar => "scalar",
        ValueType::String => "string",
    }
}

/// `rate(range-vector) → instant vector`; optional arguments in brackets, a repeating
/// last one with `...`.
pub(super) fn signature(f: &Function) -> String {
    let mut args = String::new();
    for (i, t) in f.arg_types.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let last = i + 1 == f.arg_types.len();
        let dots = if f.variadic && last { "..." } else { "" };
        if i >= f.min_args {
            args.push_str(&format!("[{sep}{}{dots}]", arg_name(*t)));
        } else {
            args.push_str(&format!("{sep}{}{dots}", arg_name(*t)));
        }
    }
    format!("{}({args}) → {}", f.name, f.return_type.document_name())
}

fn agg_signature(op: AggOp) -> String {
    let param = match op {
        AggOp::Topk | AggOp::Bottomk | AggOp::Limitk => "k, ",
        AggOp::Quantile => "φ, ",
        AggOp::CountValues => "label, ",
        AggOp::LimitRatio => "ratio, ",
        _ => "",
    };
    format!(
        "{}({param}instant-vector) [by|without (labels)] → instant vector",
        op.as_str()
    )
}

/// Ranks candidates against `prefix`: those starting with it first, then those containing
/// it (ignoring ASCII case), each group sorted by label, at most [`MAX_ITEMS`] in all.
pub(super) fn rank<C: AsRef<str>>(
    cands: impl Iterator<Item = C>,
    prefix: &str,
    make: impl Fn(C) -> CompletionItem,
) -> Vec<CompletionItem> {
    rank_by(cands, prefix, true, make)
}

/// [`rank`], optionally keeping the candidates' own order (durations, shortest first).
pub(super) fn rank_by<C: AsRef<str>>(
    cands: impl Iterator<Item = C>,
    prefix: &str,
    sorted: bool,
    make: impl Fn(C) -> CompletionItem,
) -> Vec<CompletionItem> {
    let mut starts: Vec<C> = Vec::new();
    let mut contains: Vec<C> = Vec::new();
    for c in cands {
        let s = c.as_ref();
        if s.starts_with(prefix) {
            starts.push(c);
        } else if contains_ignore_case(s, prefix) {
            contains.push(c);
        }
    }
    let take = |mut v: Vec<C>, n: usize| {
        if sorted {
            smallest(v, n)
        } else {
            v.truncate(n);
            v
        }
    };
    let mut out = take(starts, MAX_ITEMS);
    let room = MAX_ITEMS - out.len();
    if room > 0 {
        out.extend(take(contains, room));
    }
    out.into_iter().map(make).collect()
}

/// The `n` smallest items by label, sorted (stable for equal labels).
fn smallest<C: AsRef<str>>(mut v: Vec<C>, n: usize) -> Vec<C> {
    if v.len() > n && n > 0 {
        v.select_nth_unstable_by(n - 1, |a, b| a.as_ref().cmp(b.as_ref()));
    }
    v.truncate(n);
    v.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
    v
}

fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return true;
    }
    h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// A double-quoted PromQL string of `v`.
pub(super) fn quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
