//! Parse errors: the public [`ParseError`] (line:col, an excerpt of the offending line
//! and a typed [`ParseErrorKind`]) and the internal failure the grammars raise, which
//! only records a position in the page.

use std::fmt;

use memchr::{memchr, memchr_iter, memrchr};

/// The most characters of the offending line shown in [`ParseError::excerpt`].
const EXCERPT_CHARS: usize = 40;
/// How many characters before the error column the excerpt starts, at most.
const EXCERPT_LEAD: usize = 8;
/// The most characters of a bad token quoted inside an error message.
const TOKEN_CHARS: usize = 40;

/// A malformed page: where (1-based line and column, columns counted in characters),
/// what, and a short piece of the line around the position.
///
/// Displays as ``line 3:14: <message> near `<excerpt>` ``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}:{col}: {kind}{near}", near = Near(&self.excerpt))]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    /// Up to 40 characters of the line, starting a few characters before the column.
    pub excerpt: String,
    pub kind: ParseErrorKind,
}

/// What is wrong with a page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    #[error("expected a metric name, `{{` or `#` at the start of a line")]
    UnexpectedStart,
    #[error("blank lines are not allowed in OpenMetrics")]
    BlankLine,
    #[error("invalid comment: OpenMetrics allows only `# HELP`, `# TYPE`, `# UNIT` and `# EOF`")]
    InvalidComment,
    #[error("expected a metric name after `{0}`")]
    ExpectedMetricName(&'static str),
    #[error("expected a space and text after the metric name in `{0}`")]
    ExpectedMetaText(&'static str),
    #[error("expected whitespace after the metric name in `{0}`")]
    InvalidMetaText(&'static str),
    #[error("invalid metric type `{0}`")]
    InvalidType(String),
    #[error("unit `{unit}` is not a suffix of metric name `{metric}`")]
    UnitNotSuffix { unit: String, metric: String },
    #[error("metric name is empty")]
    EmptyMetricName,
    #[error("sample has no metric name")]
    MissingMetricName,
    #[error("metric name is given twice")]
    DuplicateMetricName,
    #[error("expected a label name or `}}`")]
    ExpectedLabelName,
    #[error("invalid label name: other names than [a-zA-Z_][a-zA-Z0-9_]* must be quoted")]
    InvalidLabelName,
    #[error("label name is empty")]
    EmptyLabelName,
    #[error("expected `=` after label name")]
    ExpectedEqual,
    #[error("expected a quoted label value")]
    ExpectedLabelValue,
    #[error("expected `,` or `}}` after label value")]
    ExpectedCommaOrBrace,
    #[error("exemplar labels cannot hold a metric name")]
    ExemplarMetricName,
    #[error("duplicate label name `{0}`")]
    DuplicateLabel(String),
    #[error("unterminated {0}")]
    Unterminated(&'static str),
    #[error("invalid escape sequence: backslash at the end of a line")]
    InvalidEscape,
    #[error("expected {0} value")]
    MissingValue(&'static str),
    #[error("invalid {what} value `{token}`")]
    InvalidValue { what: &'static str, token: String },
    #[error("invalid timestamp `{0}`")]
    InvalidTimestamp(String),
    #[error("expected a timestamp or the end of the line")]
    ExpectedTimestamp,
    #[error("expected the end of the line after {0}")]
    ExpectedLineEnd(&'static str),
    #[error("OpenMetrics data does not end with `# EOF`")]
    MissingEof,
    #[error("unexpected data after `# EOF`")]
    DataAfterEof,
}

impl ParseErrorKind {
    /// `InvalidValue` with the token shortened for the message.
    pub(super) fn invalid_value(what: &'static str, token: &str) -> Self {
        ParseErrorKind::InvalidValue {
            what,
            token: shorten(token),
        }
    }

    /// `InvalidTimestamp` with the token shortened for the message.
    pub(super) fn invalid_timestamp(token: &str) -> Self {
        ParseErrorKind::InvalidTimestamp(shorten(token))
    }
}

/// A failure raised inside the grammars: the position (a slice of the page starting
/// where the problem is) and the kind. It is turned into a [`ParseError`] once, when
/// the iterator gives up.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Fail<'a> {
    pub at: &'a [u8],
    pub kind: ParseErrorKind,
}

impl<'a> nom::error::ParseError<&'a [u8]> for Fail<'a> {
    fn from_error_kind(input: &'a [u8], _kind: nom::error::ErrorKind) -> Self {
        // Only the fallible nom primitives (`take_while1`, `tag`, …) get here, and the
        // grammars replace these with a precise kind before anything is reported.
        Fail {
            at: input,
            kind: ParseErrorKind::UnexpectedStart,
        }
    }

    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

impl ParseError {
    /// Locates `fail` in `text`: counts lines and characters up to the position.
    pub(super) fn new(text: &str, fail: Fail<'_>) -> ParseError {
        let base = text.as_ptr() as usize;
        let offset = (fail.at.as_ptr() as usize)
            .saturating_sub(base)
            .min(text.len());
        let offset = floor_char_boundary(text, offset);
        let bytes = text.as_bytes();
        let before = &bytes[..offset];
        let line = 1 + memchr_iter(b'\n', before).count();
        let line_start = memrchr(b'\n', before).map_or(0, |p| p + 1);
        let line_end = memchr(b'\n', &bytes[offset..]).map_or(text.len(), |p| offset + p);
        let col = 1 + text[line_start..offset].chars().count();
        let lead = text[line_start..offset]
            .char_indices()
            .rev()
            .take(EXCERPT_LEAD)
            .last()
            .map_or(offset, |(i, _)| line_start + i);
        let excerpt = text[lead..line_end].chars().take(EXCERPT_CHARS).collect();
        ParseError {
            line,
            col,
            excerpt,
            kind: fail.kind,
        }
    }
}

/// The largest char boundary at or below `i`.
fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A token for an error message: at most [`TOKEN_CHARS`] characters.
fn shorten(token: &str) -> String {
    match token.char_indices().nth(TOKEN_CHARS) {
        Some((i, _)) => format!("{}…", &token[..i]),
        None => token.to_owned(),
    }
}

/// Displays ``near `excerpt` `` after the message, or nothing for an empty excerpt.
struct Near<'e>(&'e str);

impl fmt::Display for Near<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, " near `{}`", self.0)
        }
    }
}
