//! The parts of a sample line both grammars read the same way: the series (a bare
//! metric name and/or a label set holding a quoted one), values and the metadata
//! keywords.

use std::borrow::Cow;

use nom::Parser as _;
use nom::branch::alt;
use nom::bytes::complete::tag;

use super::error::{Fail, ParseErrorKind};
use super::labels::{LabelSet, Style, check_duplicates, label_set, unescape};
use super::lexer::{PResult, finish, metric_name};
use super::number::parse_float;
use super::{Ctx, MetricType};

/// The metadata keyword of a `#` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keyword {
    Help,
    Type,
    Unit,
}

impl Keyword {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Keyword::Help => "HELP",
            Keyword::Type => "TYPE",
            Keyword::Unit => "UNIT",
        }
    }
}

/// `HELP`, `TYPE` or, when `with_unit`, `UNIT`.
pub(super) fn keyword(i: &[u8], with_unit: bool) -> PResult<'_, Keyword> {
    let help = tag("HELP").map(|_| Keyword::Help);
    let kind = tag("TYPE").map(|_| Keyword::Type);
    if with_unit {
        alt((help, kind, tag("UNIT").map(|_| Keyword::Unit))).parse(i)
    } else {
        alt((help, kind)).parse(i)
    }
}

/// The metric type named on a `# TYPE` line.
pub(super) fn metric_type(text: &[u8], open_metrics: bool) -> Option<MetricType> {
    Some(match text {
        b"counter" => MetricType::Counter,
        b"gauge" => MetricType::Gauge,
        b"histogram" => MetricType::Histogram,
        b"summary" => MetricType::Summary,
        b"untyped" if !open_metrics => MetricType::Unknown,
        b"unknown" if open_metrics => MetricType::Unknown,
        b"gaugehistogram" if open_metrics => MetricType::GaugeHistogram,
        b"info" if open_metrics => MetricType::Info,
        b"stateset" if open_metrics => MetricType::StateSet,
        _ => return None,
    })
}

/// The series of a sample line, validated.
pub(super) struct Series<'a> {
    pub name: Cow<'a, str>,
    /// The bytes of the series as written (name and braces).
    pub raw: &'a [u8],
    /// The text between the braces.
    pub labels: &'a [u8],
}

/// Reads the series at the start of a sample line: a bare metric name, optionally
/// followed by a label set (after blanks when `style` is `Text`), or a label set holding
/// a quoted metric name. Checks that there is exactly one name and no duplicate label.
pub(super) fn series<'a>(
    ctx: &mut Ctx<'a>,
    start: &'a [u8],
    style: Style,
) -> Result<(&'a [u8], Series<'a>), Fail<'a>> {
    let (after_name, bare) = if start.first() == Some(&b'{') {
        (start, None)
    } else {
        let (rest, name) = finish(metric_name(start), start)?;
        (rest, Some(name))
    };
    let open = match style {
        Style::Text => super::lexer::blanks(after_name),
        _ => after_name,
    };
    let (rest, set) = if open.first() == Some(&b'{') {
        let (rest, set) = finish(label_set(ctx, open, style), open)?;
        (rest, Some(set))
    } else {
        ctx.names.clear();
        (after_name, None)
    };
    let name = match (bare, set.and_then(|s: LabelSet<'a>| s.name)) {
        (Some(_), Some((_, at))) => {
            return Err(Fail {
                at,
                kind: ParseErrorKind::DuplicateMetricName,
            });
        }
        (Some(name), None) => Cow::Borrowed(ctx.str_of(name)),
        (None, Some((q, _))) if q.escaped => unescape(ctx.str_of(q.raw), true),
        (None, Some((q, _))) => Cow::Borrowed(ctx.str_of(q.raw)),
        (None, None) => {
            return Err(Fail {
                at: start,
                kind: ParseErrorKind::MissingMetricName,
            });
        }
    };
    check_duplicates(&mut ctx.names)?;
    let series = Series {
        name,
        raw: &start[..start.len() - rest.len()],
        labels: set.map_or(&rest[..0], |s| s.inner),
    };
    Ok((rest, series))
}

/// Parses a value token; `what` names it in the error.
pub(super) fn value<'a>(
    ctx: &Ctx<'a>,
    token: &'a [u8],
    what: &'static str,
) -> Result<f64, Fail<'a>> {
    let text = ctx.str_of(token);
    parse_float(text).ok_or_else(|| Fail {
        at: token,
        kind: ParseErrorKind::invalid_value(what, text),
    })
}
