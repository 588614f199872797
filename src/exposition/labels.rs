//! Label sets: validating `{…}` on sample lines and exemplars under each format's rules
//! (including duplicate names), resolving escapes, and the zero-copy [`LabelIter`] that
//! re-reads a set the grammar has already validated.

use std::borrow::Cow;

use memchr::{memchr, memchr2};

use super::Ctx;
use super::error::{Fail, ParseErrorKind};
use super::lexer::{
    PResult, Quoted, blanks, fail, is_label_char, is_label_start, label_name, quoted, skip_byte,
};

/// Below this many labels, duplicates are found by comparing every pair.
const PAIRWISE_MAX: usize = 16;

/// The rules a label set follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    /// Text 0.0.4: blanks anywhere between tokens, commas optional, raw line breaks
    /// inside quoted strings.
    Text,
    /// OpenMetrics sample: no blanks, `,` or `}` after every value.
    OpenMetrics,
    /// OpenMetrics exemplar: as `OpenMetrics`, without a quoted metric name.
    Exemplar,
}

/// A validated label set.
#[derive(Debug, Clone, Copy)]
pub(super) struct LabelSet<'a> {
    /// The text between the braces.
    pub inner: &'a [u8],
    /// The quoted metric name found inside the braces, with its position.
    pub name: Option<(Quoted<'a>, &'a [u8])>,
}

/// A label name as written.
enum Name<'a> {
    Bare(&'a [u8]),
    Quoted(Quoted<'a>),
}

/// Whether a byte that cannot start or continue a bare label name was probably meant
/// as part of one (so the error says "invalid label name" rather than "expected `=`").
fn looks_like_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80 || matches!(b, b'.' | b'-' | b':' | b'/')
}

/// Reads a label set starting at its `{`. Label names of sample lines are collected in
/// `ctx.names` for [`check_duplicates`].
pub(super) fn label_set<'a>(
    ctx: &mut Ctx<'a>,
    open: &'a [u8],
    style: Style,
) -> PResult<'a, LabelSet<'a>> {
    let text = style == Style::Text;
    let Some(start) = skip_byte(open, b'{') else {
        return fail(open, ParseErrorKind::ExpectedLabelName);
    };
    ctx.names.clear();
    let mut name = None;
    let mut i = start;
    loop {
        if text {
            i = blanks(i);
        }
        let at = i;
        let (rest, label) = match i.first() {
            Some(b'}') => {
                let inner = &start[..start.len() - i.len()];
                return Ok((&i[1..], LabelSet { inner, name }));
            }
            Some(b'"') => {
                let (rest, q) = quoted(i, style != Style::Exemplar, "label name")?;
                (rest, Name::Quoted(q))
            }
            Some(&b) if is_label_start(b) => {
                let (rest, n) = label_name(i)?;
                (rest, Name::Bare(n))
            }
            None | Some(b'\n') => return fail(open, ParseErrorKind::Unterminated("label set")),
            Some(&b) if looks_like_name(b) => return fail(i, ParseErrorKind::InvalidLabelName),
            Some(_) => return fail(i, ParseErrorKind::ExpectedLabelName),
        };
        let rest = if text { blanks(rest) } else { rest };
        // A quoted string followed by `,` or `}` is the metric name.
        if let (Name::Quoted(q), Some(b',' | b'}')) = (&label, rest.first()) {
            if style == Style::Exemplar {
                return fail(at, ParseErrorKind::ExemplarMetricName);
            }
            if name.is_some() {
                return fail(at, ParseErrorKind::DuplicateMetricName);
            }
            if q.raw.is_empty() {
                return fail(at, ParseErrorKind::EmptyMetricName);
            }
            name = Some((*q, at));
            i = skip_byte(rest, b',').unwrap_or(rest);
            continue;
        }
        let Some(rest) = skip_byte(rest, b'=') else {
            if matches!(label, Name::Bare(_)) && rest.first().is_some_and(|&b| looks_like_name(b)) {
                return fail(rest, ParseErrorKind::InvalidLabelName);
            }
            return fail(rest, ParseErrorKind::ExpectedEqual);
        };
        let rest = if text { blanks(rest) } else { rest };
        if rest.first() != Some(&b'"') {
            return fail(rest, ParseErrorKind::ExpectedLabelValue);
        }
        let (rest, _value) = quoted(rest, text, "label value")?;
        let label = match label {
            Name::Bare(n) => Cow::Borrowed(ctx.str_of(n)),
            Name::Quoted(q) if q.raw.is_empty() => return fail(at, ParseErrorKind::EmptyLabelName),
            Name::Quoted(q) if q.escaped => unescape(ctx.str_of(q.raw), true),
            Name::Quoted(q) => Cow::Borrowed(ctx.str_of(q.raw)),
        };
        if style != Style::Exemplar {
            ctx.names.push((label, at));
        }
        let rest = if text { blanks(rest) } else { rest };
        i = match rest.first() {
            Some(b',') => &rest[1..],
            Some(b'}') => rest,
            // Prometheus's text parser lets pairs follow each other without a comma.
            _ if text => rest,
            _ => return fail(rest, ParseErrorKind::ExpectedCommaOrBrace),
        };
    }
}

/// Fails on the first label name that repeats an earlier one, or on a `__name__` label
/// (the sample already has a metric name). Reports the later occurrence.
pub(super) fn check_duplicates<'a>(names: &mut [(Cow<'a, str>, &'a [u8])]) -> Result<(), Fail<'a>> {
    let duplicate = |name: &Cow<'a, str>, at: &'a [u8]| Fail {
        at,
        kind: ParseErrorKind::DuplicateLabel(name.to_string()),
    };
    if let Some((name, at)) = names.iter().find(|(n, _)| n == "__name__") {
        return Err(duplicate(name, at));
    }
    if names.len() <= PAIRWISE_MAX {
        for (j, (name, at)) in names.iter().enumerate() {
            if names[..j].iter().any(|(earlier, _)| earlier == name) {
                return Err(duplicate(name, at));
            }
        }
        return Ok(());
    }
    names.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.as_ptr().cmp(&b.1.as_ptr())));
    let first_repeat = names
        .windows(2)
        .filter(|w| w[0].0 == w[1].0)
        .map(|w| &w[1])
        .min_by_key(|(_, at)| at.as_ptr());
    match first_repeat {
        Some((name, at)) => Err(duplicate(name, at)),
        None => Ok(()),
    }
}

/// Resolves `\\`, `\n` and, when `quote` is set, `\"`. Other backslashes are kept as
/// written, as Prometheus does. Borrows when there is nothing to resolve.
pub(super) fn unescape(raw: &str, quote: bool) -> Cow<'_, str> {
    let Some(first) = memchr(b'\\', raw.as_bytes()) else {
        return Cow::Borrowed(raw);
    };
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    let mut next = Some(first);
    while let Some(p) = next {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        rest = match after.as_bytes().first() {
            Some(b'\\') => {
                out.push('\\');
                &after[1..]
            }
            Some(b'n') => {
                out.push('\n');
                &after[1..]
            }
            Some(b'"') if quote => {
                out.push('"');
                &after[1..]
            }
            _ => {
                out.push('\\');
                after
            }
        };
        next = memchr(b'\\', rest.as_bytes());
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Iterator over the `(name, value)` pairs of a validated label set, in source order,
/// escapes resolved. A quoted metric name inside the set is skipped.
#[derive(Debug, Clone)]
pub struct LabelIter<'a> {
    rest: &'a str,
}

impl<'a> LabelIter<'a> {
    pub(super) fn new(inner: &'a str) -> Self {
        LabelIter { rest: inner }
    }
}

/// The index of the quote closing a string whose content starts at `from`, and whether
/// the content holds a backslash.
fn closing_quote(b: &[u8], from: usize) -> Option<(usize, bool)> {
    let mut pos = from;
    let mut escaped = false;
    loop {
        let at = pos + memchr2(b'"', b'\\', b.get(pos..)?)?;
        if b[at] == b'"' {
            return Some((at, escaped));
        }
        escaped = true;
        pos = at + 2;
    }
}

/// The content of a quoted string, escapes resolved only when it has any.
fn content(raw: &str, escaped: bool) -> Cow<'_, str> {
    if escaped {
        unescape(raw, true)
    } else {
        Cow::Borrowed(raw)
    }
}

/// The index of the first byte at or after `from` that is not a blank.
fn skip_blanks(b: &[u8], from: usize) -> usize {
    from + b.get(from..).map_or(0, |s| {
        s.iter().take_while(|&&c| c == b' ' || c == b'\t').count()
    })
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let s = self.rest;
            let b = s.as_bytes();
            let start = b.iter().position(|&c| !matches!(c, b' ' | b'\t' | b','))?;
            let (name, name_escaped, after_name) = if b[start] == b'"' {
                let (end, escaped) = closing_quote(b, start + 1)?;
                (&s[start + 1..end], escaped, end + 1)
            } else {
                let len = b[start..].iter().take_while(|&&c| is_label_char(c)).count();
                (&s[start..start + len], false, start + len)
            };
            let eq = skip_blanks(b, after_name);
            if b.get(eq) == Some(&b'=') {
                let open = skip_blanks(b, eq + 1);
                if b.get(open) != Some(&b'"') {
                    self.rest = "";
                    return None;
                }
                let (close, escaped) = closing_quote(b, open + 1)?;
                self.rest = &s[close + 1..];
                let value = &s[open + 1..close];
                return Some((content(name, name_escaped), content(value, escaped)));
            }
            if after_name == start {
                // Not a validated set; stop rather than loop.
                self.rest = "";
                return None;
            }
            // A quoted metric name: not a label.
            self.rest = &s[after_name..];
        }
    }
}
