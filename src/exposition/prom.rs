//! The Prometheus text format 0.0.4 grammar, as Prometheus 3.5 accepts it: `# HELP`
//! and `# TYPE` lines, other `#` lines and blank lines skipped, blanks allowed between
//! tokens, optional integer millisecond timestamps.

use nom::Parser as _;
use nom::character::complete::space1;
use nom::sequence::terminated;

use super::error::{Fail, ParseErrorKind};
use super::labels::{Style, unescape};
use super::lexer::{blanks, expect, finish, is_metric_start, meta_name, rest_of_line, text_token};
use super::line::{Keyword, Series, keyword, metric_type, series, value};
use super::number::parse_millis;
use super::{Ctx, Entry, SampleEntry, Step};

/// Reads up to the next entry; `Ok((_, None))` at the end of the page.
pub(super) fn next_entry<'a>(ctx: &mut Ctx<'a>, i: &'a [u8]) -> Step<'a> {
    next_entry_expecting(ctx, i, None)
}

/// What a caller expects the next sample line's series to be: its length, and a test of
/// its bytes that only accepts series texts this grammar accepted before.
pub(super) type Hint<'h> = (usize, &'h dyn Fn(&[u8]) -> bool);

/// `next_entry` for a caller that expects the next sample line's series (see `Hint`).
/// When the line starts with such a text, with a bare metric name and followed by blanks
/// that do not lead into a label set, the series is not validated again: only the value
/// and the timestamp are read. Any other line is read in full, so the result is the same
/// either way.
pub(super) fn next_entry_expecting<'a>(
    ctx: &mut Ctx<'a>,
    mut i: &'a [u8],
    hint: Option<Hint<'_>>,
) -> Step<'a> {
    loop {
        i = blanks(i);
        match i.first() {
            // Prometheus's lexer reads a NUL at the start of a line as the end of input.
            None | Some(0) => return Ok((i, None)),
            Some(b'\n') => i = &i[1..],
            Some(b'#') => match comment(ctx, i)? {
                (rest, Some(entry)) => return Ok((rest, Some(entry))),
                (rest, None) => i = rest,
            },
            Some(&b) if b == b'{' || is_metric_start(b) => {
                if let Some(series) = hint.and_then(|h| known_series(ctx, i, h)) {
                    let rest = &i[series.raw.len()..];
                    let (rest, sample) = sample_rest(ctx, series, rest)?;
                    return Ok((rest, Some(Entry::Sample(sample))));
                }
                let (rest, sample) = sample(ctx, i)?;
                return Ok((rest, Some(Entry::Sample(sample))));
            }
            Some(_) => {
                return Err(Fail {
                    at: i,
                    kind: ParseErrorKind::UnexpectedStart,
                });
            }
        }
    }
}

/// A line starting with `#`: `# HELP`, `# TYPE` or a comment, which yields nothing.
fn comment<'a>(ctx: &Ctx<'a>, i: &'a [u8]) -> Step<'a> {
    let after_hash = &i[1..];
    let meta = space1::<_, Fail<'a>>
        .parse(after_hash)
        .and_then(|(rest, _)| terminated(|i| keyword(i, false), space1).parse(rest));
    match meta {
        Ok((rest, kw)) => meta_line(ctx, blanks(rest), kw),
        Err(_) => Ok((rest_of_line(i).1, None)),
    }
}

/// The rest of a `# HELP` or `# TYPE` line, from the metric name.
fn meta_line<'a>(ctx: &Ctx<'a>, i: &'a [u8], kw: Keyword) -> Step<'a> {
    let (rest, name) = finish(meta_name(i, kw.as_str()), i)?;
    let metric = ctx.str_of(name);
    let (line, next) = rest_of_line(rest);
    // Prometheus drops the one character after the name (normally a blank) and keeps
    // the rest of the line; a line of blanks means no text.
    let text = match line.first() {
        _ if line.iter().all(|&b| b == b' ' || b == b'\t') => &line[line.len()..],
        Some(&b) if b.is_ascii() => &line[1..],
        _ => {
            return Err(Fail {
                at: line,
                kind: ParseErrorKind::InvalidMetaText(kw.as_str()),
            });
        }
    };
    let entry = match kw {
        Keyword::Help => Entry::Help {
            metric,
            text: unescape(ctx.str_of(text), false),
        },
        _ => match metric_type(text, false) {
            Some(kind) => Entry::Type { metric, kind },
            None => {
                return Err(Fail {
                    at: text,
                    kind: ParseErrorKind::InvalidType(ctx.str_of(text).chars().take(40).collect()),
                });
            }
        },
    };
    Ok((next, Some(entry)))
}

/// The series at `i` when it is the expected one (see `next_entry_expecting`): the bare
/// name and the label set's inner text sliced out of the line without validating them
/// again.
fn known_series<'a>(
    ctx: &Ctx<'a>,
    i: &'a [u8],
    (len, is_expected): Hint<'_>,
) -> Option<Series<'a>> {
    if len == 0 || len >= i.len() || !is_metric_start(i[0]) {
        return None;
    }
    let (raw, after) = i.split_at(len);
    if !matches!(after.first(), Some(b' ' | b'\t'))
        || blanks(after).first() == Some(&b'{')
        || !is_expected(raw)
    {
        return None;
    }
    let name_len = raw
        .iter()
        .position(|&b| b == b'{' || b == b' ' || b == b'\t')
        .unwrap_or(raw.len());
    let name = &raw[..name_len];
    let labels = match memchr::memchr(b'{', raw) {
        // A validated series text with a label set ends with its `}`.
        Some(open) if raw.len() > open + 1 => &raw[open + 1..raw.len() - 1],
        _ => &raw[raw.len()..],
    };
    Some(Series {
        name: std::borrow::Cow::Borrowed(ctx.str_of(name)),
        raw,
        labels,
    })
}

/// A sample line: series, blanks, value, optional blanks and timestamp, line break.
fn sample<'a>(ctx: &mut Ctx<'a>, start: &'a [u8]) -> Result<(&'a [u8], SampleEntry<'a>), Fail<'a>> {
    let (rest, series) = series(ctx, start, Style::Text)?;
    sample_rest(ctx, series, rest)
}

/// The rest of a sample line after its series.
fn sample_rest<'a>(
    ctx: &Ctx<'a>,
    series: Series<'a>,
    rest: &'a [u8],
) -> Result<(&'a [u8], SampleEntry<'a>), Fail<'a>> {
    let rest = blanks(rest);
    let (rest, token) = finish(
        expect(
            text_token(rest),
            rest,
            ParseErrorKind::MissingValue("a sample"),
        ),
        rest,
    )?;
    let value = value(ctx, token, "sample")?;
    let rest = blanks(rest);
    let (rest, timestamp_ms) = match rest.first() {
        None => (rest, None),
        Some(b'\n') => (&rest[1..], None),
        Some(b) if b.is_ascii_digit() || matches!(b, b'-' | b'+') => {
            let (after, token) = finish(
                expect(text_token(rest), rest, ParseErrorKind::ExpectedTimestamp),
                rest,
            )?;
            let Some(ts) = parse_millis(token) else {
                return Err(Fail {
                    at: token,
                    kind: ParseErrorKind::invalid_timestamp(ctx.str_of(token)),
                });
            };
            let after = blanks(after);
            match after.first() {
                None => (after, Some(ts)),
                Some(b'\n') => (&after[1..], Some(ts)),
                Some(_) => {
                    return Err(Fail {
                        at: after,
                        kind: ParseErrorKind::ExpectedLineEnd("the timestamp"),
                    });
                }
            }
        }
        Some(_) => {
            return Err(Fail {
                at: rest,
                kind: ParseErrorKind::ExpectedTimestamp,
            });
        }
    };
    let sample = SampleEntry {
        name: series.name,
        value,
        timestamp_ms,
        exemplar: None,
        series: ctx.str_of(series.raw),
        labels: ctx.str_of(series.labels),
    };
    Ok((rest, sample))
}
