//! The tokens both grammars are made of, as nom parsers over the page's bytes: character
//! classes, bare metric and label names, quoted strings with their escapes, whitespace
//! and value tokens.

use nom::bytes::complete::take_while1;
use nom::combinator::verify;
use nom::{IResult, Parser as _};

use super::error::{Fail, ParseErrorKind};

/// A nom result over the page's bytes with the grammars' failure type.
pub(super) type PResult<'a, T> = IResult<&'a [u8], T, Fail<'a>>;

/// Raises an unrecoverable failure at `at`.
pub(super) fn fail<'a, T>(at: &'a [u8], kind: ParseErrorKind) -> PResult<'a, T> {
    Err(nom::Err::Failure(Fail { at, kind }))
}

/// Replaces any failure of `result` by `kind` at `at`, the position where the token was
/// expected.
pub(super) fn expect<'a, T>(
    result: PResult<'a, T>,
    at: &'a [u8],
    kind: ParseErrorKind,
) -> PResult<'a, T> {
    result.or_else(|_| fail(at, kind))
}

const METRIC_START: u8 = 1;
const METRIC_CHAR: u8 = 2;
const LABEL_START: u8 = 4;
const LABEL_CHAR: u8 = 8;

/// Character classes of the names: `[a-zA-Z_:][a-zA-Z0-9_:]*` for metric names and
/// `[a-zA-Z_][a-zA-Z0-9_]*` for label names.
static CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let alpha = c.is_ascii_alphabetic() || c == b'_';
        let mut class = 0;
        if alpha || c == b':' {
            class |= METRIC_START | METRIC_CHAR;
        }
        if c.is_ascii_digit() {
            class |= METRIC_CHAR | LABEL_CHAR;
        }
        if alpha {
            class |= LABEL_START | LABEL_CHAR;
        }
        table[b] = class;
        b += 1;
    }
    table
};

#[inline]
pub(super) fn is_metric_start(b: u8) -> bool {
    CLASSES[b as usize] & METRIC_START != 0
}

#[inline]
fn is_metric_char(b: u8) -> bool {
    CLASSES[b as usize] & METRIC_CHAR != 0
}

#[inline]
pub(super) fn is_label_start(b: u8) -> bool {
    CLASSES[b as usize] & LABEL_START != 0
}

#[inline]
pub(super) fn is_label_char(b: u8) -> bool {
    CLASSES[b as usize] & LABEL_CHAR != 0
}

/// A bare metric name `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub(super) fn metric_name(i: &[u8]) -> PResult<'_, &[u8]> {
    verify(take_while1(is_metric_char), |name: &[u8]| {
        name.first().is_some_and(|&b| is_metric_start(b))
    })
    .parse(i)
}

/// A bare label name `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(super) fn label_name(i: &[u8]) -> PResult<'_, &[u8]> {
    verify(take_while1(is_label_char), |name: &[u8]| {
        name.first().is_some_and(|&b| is_label_start(b))
    })
    .parse(i)
}

/// Spaces and tabs, possibly none (the text format's whitespace).
pub(super) fn blanks(i: &[u8]) -> &[u8] {
    let n = i.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    &i[n..]
}

/// A value or timestamp token of the text format: anything up to `{`, whitespace or the
/// end of the line.
pub(super) fn text_token(i: &[u8]) -> PResult<'_, &[u8]> {
    take_while1(|b| !matches!(b, b'{' | b' ' | b'\t' | b'\n')).parse(i)
}

/// A value or timestamp token of OpenMetrics: anything up to a space or the end of the
/// line.
pub(super) fn om_token(i: &[u8]) -> PResult<'_, &[u8]> {
    take_while1(|b| b != b' ' && b != b'\n').parse(i)
}

/// The rest of the line, without its line break, and the input after the line break.
pub(super) fn rest_of_line(i: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b'\n', i) {
        Some(n) => (&i[..n], &i[n + 1..]),
        None => (i, &i[i.len()..]),
    }
}

/// Consumes `byte` if `i` starts with it.
pub(super) fn skip_byte(i: &[u8], byte: u8) -> Option<&[u8]> {
    match i.split_first() {
        Some((&b, rest)) if b == byte => Some(rest),
        _ => None,
    }
}

/// A double-quoted string's content, as written (escapes unresolved).
#[derive(Debug, Clone, Copy)]
pub(super) struct Quoted<'a> {
    pub raw: &'a [u8],
    /// Whether `raw` holds a backslash, so resolving escapes may change it.
    pub escaped: bool,
}

/// A double-quoted string. A backslash escapes the next character, whatever it is, but a
/// line break (Prometheus keeps unknown escapes as written). Raw line breaks inside the
/// quotes are accepted only when `multiline`, as Prometheus's lexers do in some places.
/// `what` names the string in the "unterminated" error. Fails softly (a nom `Error`)
/// when `i` does not start with a quote.
pub(super) fn quoted<'a>(
    i: &'a [u8],
    multiline: bool,
    what: &'static str,
) -> PResult<'a, Quoted<'a>> {
    let Some(body) = skip_byte(i, b'"') else {
        return Err(nom::Err::Error(Fail {
            at: i,
            kind: ParseErrorKind::Unterminated(what),
        }));
    };
    let mut pos = 0;
    let mut escaped = false;
    loop {
        let found = if multiline {
            memchr::memchr2(b'"', b'\\', &body[pos..])
        } else {
            memchr::memchr3(b'"', b'\\', b'\n', &body[pos..])
        };
        let Some(n) = found else {
            return fail(i, ParseErrorKind::Unterminated(what));
        };
        let at = pos + n;
        match body[at] {
            b'"' => {
                let quoted = Quoted {
                    raw: &body[..at],
                    escaped,
                };
                return Ok((&body[at + 1..], quoted));
            }
            b'\\' => match body.get(at + 1) {
                None => return fail(i, ParseErrorKind::Unterminated(what)),
                Some(b'\n') => return fail(&body[at..], ParseErrorKind::InvalidEscape),
                Some(_) => {
                    escaped = true;
                    pos = at + 2;
                }
            },
            _ => return fail(i, ParseErrorKind::Unterminated(what)),
        }
    }
}

/// A metric name after `# HELP`, `# TYPE` or `# UNIT`: bare, or quoted (content as
/// written). Quoted names may span lines, as in Prometheus.
pub(super) fn meta_name<'a>(i: &'a [u8], keyword: &'static str) -> PResult<'a, &'a [u8]> {
    if i.first() == Some(&b'"') {
        let (rest, name) = quoted(i, true, "metric name")?;
        if name.raw.is_empty() {
            return fail(i, ParseErrorKind::EmptyMetricName);
        }
        return Ok((rest, name.raw));
    }
    expect(
        metric_name(i),
        i,
        ParseErrorKind::ExpectedMetricName(keyword),
    )
}

/// Unwraps a nom error into the grammars' failure. The parsers are all "complete", so
/// `Incomplete` cannot happen; it is reported at `at` all the same.
pub(super) fn finish<'a, T>(
    result: PResult<'a, T>,
    at: &'a [u8],
) -> Result<(&'a [u8], T), Fail<'a>> {
    result.map_err(|e| match e {
        nom::Err::Error(f) | nom::Err::Failure(f) => f,
        nom::Err::Incomplete(_) => Fail {
            at,
            kind: ParseErrorKind::UnexpectedStart,
        },
    })
}
