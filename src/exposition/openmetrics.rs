//! The OpenMetrics 1.0 text grammar, as Prometheus 3.5 accepts it: `# HELP`, `# TYPE`,
//! `# UNIT` and a final `# EOF`, single spaces between tokens, float-second timestamps
//! and exemplars after ` # `.

use super::error::{Fail, ParseErrorKind};
use super::labels::{Style, label_set, unescape};
use super::lexer::{expect, finish, is_metric_start, meta_name, om_token, rest_of_line, skip_byte};
use super::line::{Keyword, keyword, metric_type, series, value};
use super::number::parse_seconds;
use super::{Ctx, Entry, Exemplar, SampleEntry, Step};

/// What separates a sample from its exemplar.
const EXEMPLAR_START: &[u8] = b" # {";

/// Reads the next entry; `Ok((_, None))` after `# EOF`.
pub(super) fn next_entry<'a>(ctx: &mut Ctx<'a>, i: &'a [u8]) -> Step<'a> {
    let fail = |at, kind| Err(Fail { at, kind });
    match i.first() {
        None => fail(i, ParseErrorKind::MissingEof),
        Some(b'#') => comment(ctx, i),
        Some(&b) if b == b'{' || is_metric_start(b) => {
            let (rest, sample) = sample(ctx, i)?;
            Ok((rest, Some(Entry::Sample(sample))))
        }
        Some(b'\n') => fail(i, ParseErrorKind::BlankLine),
        Some(_) => fail(i, ParseErrorKind::UnexpectedStart),
    }
}

/// A `#` line: `# HELP`, `# TYPE`, `# UNIT` or `# EOF`; no other comments exist.
fn comment<'a>(ctx: &Ctx<'a>, i: &'a [u8]) -> Step<'a> {
    let invalid = Fail {
        at: i,
        kind: ParseErrorKind::InvalidComment,
    };
    let Some(body) = i.strip_prefix(b"# ") else {
        return Err(invalid);
    };
    if let Some(after) = body.strip_prefix(b"EOF") {
        let after = skip_byte(after, b'\n').unwrap_or(after);
        if !after.is_empty() {
            return Err(Fail {
                at: after,
                kind: ParseErrorKind::DataAfterEof,
            });
        }
        return Ok((after, None));
    }
    match keyword(body, true) {
        Ok((rest, kw)) => match skip_byte(rest, b' ') {
            Some(rest) => meta_line(ctx, rest, kw),
            None => Err(invalid),
        },
        Err(_) => Err(invalid),
    }
}

/// The rest of a `# HELP`, `# TYPE` or `# UNIT` line, from the metric name.
fn meta_line<'a>(ctx: &Ctx<'a>, i: &'a [u8], kw: Keyword) -> Step<'a> {
    let (rest, name) = finish(meta_name(i, kw.as_str()), i)?;
    let metric = ctx.str_of(name);
    let Some(rest) = skip_byte(rest, b' ') else {
        return Err(Fail {
            at: rest,
            kind: ParseErrorKind::ExpectedMetaText(kw.as_str()),
        });
    };
    let (text, next) = rest_of_line(rest);
    if text.len() == rest.len() {
        // No line break: the page ends here, without `# EOF`.
        return Err(Fail {
            at: next,
            kind: ParseErrorKind::MissingEof,
        });
    }
    let entry = match kw {
        Keyword::Help => Entry::Help {
            metric,
            text: unescape(ctx.str_of(text), true),
        },
        Keyword::Type => match metric_type(text, true) {
            Some(kind) => Entry::Type { metric, kind },
            None => {
                return Err(Fail {
                    at: text,
                    kind: ParseErrorKind::InvalidType(ctx.str_of(text).chars().take(40).collect()),
                });
            }
        },
        Keyword::Unit => {
            let unit = ctx.str_of(text);
            if !unit_matches(metric, unit) {
                return Err(Fail {
                    at: text,
                    kind: ParseErrorKind::UnitNotSuffix {
                        unit: unit.chars().take(40).collect(),
                        metric: metric.chars().take(80).collect(),
                    },
                });
            }
            Entry::Unit { metric, unit }
        }
    };
    Ok((next, Some(entry)))
}

/// An empty unit, or one the metric name ends with after an `_`.
fn unit_matches(metric: &str, unit: &str) -> bool {
    unit.is_empty()
        || metric
            .strip_suffix(unit)
            .is_some_and(|stem| stem.ends_with('_'))
}

/// A sample line: series, ` value`, optional ` timestamp`, optional exemplar, `\n`.
fn sample<'a>(ctx: &mut Ctx<'a>, start: &'a [u8]) -> Result<(&'a [u8], SampleEntry<'a>), Fail<'a>> {
    let (rest, series) = series(ctx, start, Style::OpenMetrics)?;
    let (rest, value) = spaced_value(ctx, rest, "a sample", "sample")?;
    let (rest, timestamp_ms) = match rest.first() {
        Some(b' ') if !rest.starts_with(EXEMPLAR_START) => {
            let (rest, ts) = timestamp(ctx, &rest[1..])?;
            (rest, Some(ts))
        }
        _ => (rest, None),
    };
    let (rest, exemplar) = if rest.starts_with(EXEMPLAR_START) {
        let (rest, exemplar) = exemplar(ctx, &rest[3..])?;
        (rest, Some(exemplar))
    } else {
        (rest, None)
    };
    let last = match (&exemplar, timestamp_ms) {
        (Some(_), _) => "the exemplar",
        (None, Some(_)) => "the timestamp",
        (None, None) => "the value",
    };
    let rest = line_end(rest, last)?;
    let sample = SampleEntry {
        name: series.name,
        value,
        timestamp_ms,
        exemplar,
        series: ctx.str_of(series.raw),
        labels: ctx.str_of(series.labels),
    };
    Ok((rest, sample))
}

/// `{labels} value[ timestamp]` after ` # `, up to (not including) the line break.
fn exemplar<'a>(ctx: &mut Ctx<'a>, open: &'a [u8]) -> Result<(&'a [u8], Exemplar<'a>), Fail<'a>> {
    let (rest, set) = finish(label_set(ctx, open, Style::Exemplar), open)?;
    let (rest, value) = spaced_value(ctx, rest, "an exemplar", "exemplar")?;
    let (rest, timestamp_ms) = match rest.first() {
        Some(b' ') => {
            let (rest, ts) = timestamp(ctx, &rest[1..])?;
            (rest, Some(ts))
        }
        _ => (rest, None),
    };
    let exemplar = Exemplar {
        value,
        timestamp_ms,
        labels: ctx.str_of(set.inner),
    };
    Ok((rest, exemplar))
}

/// ` value`: one space and a float token.
fn spaced_value<'a>(
    ctx: &Ctx<'a>,
    i: &'a [u8],
    missing: &'static str,
    what: &'static str,
) -> Result<(&'a [u8], f64), Fail<'a>> {
    let Some(after) = skip_byte(i, b' ') else {
        return Err(Fail {
            at: i,
            kind: ParseErrorKind::MissingValue(missing),
        });
    };
    let (rest, token) = finish(
        expect(
            om_token(after),
            after,
            ParseErrorKind::MissingValue(missing),
        ),
        after,
    )?;
    Ok((rest, value(ctx, token, what)?))
}

/// A timestamp token in float seconds, as milliseconds.
fn timestamp<'a>(ctx: &Ctx<'a>, i: &'a [u8]) -> Result<(&'a [u8], i64), Fail<'a>> {
    let (rest, token) = finish(expect(om_token(i), i, ParseErrorKind::ExpectedTimestamp), i)?;
    let text = ctx.str_of(token);
    match parse_seconds(text) {
        Some(ts) => Ok((rest, ts)),
        None => Err(Fail {
            at: token,
            kind: ParseErrorKind::invalid_timestamp(text),
        }),
    }
}

/// The line break ending a sample line; `after` names what came last, for the error.
fn line_end<'a>(i: &'a [u8], after: &'static str) -> Result<&'a [u8], Fail<'a>> {
    match i.first() {
        Some(b'\n') => Ok(&i[1..]),
        None => Err(Fail {
            at: i,
            kind: ParseErrorKind::MissingEof,
        }),
        Some(_) => Err(Fail {
            at: i,
            kind: ParseErrorKind::ExpectedLineEnd(after),
        }),
    }
}
