//! Exposition parsing: turns one scraped page in the Prometheus text format 0.0.4 or
//! OpenMetrics 1.0 text format into a lazy, zero-copy stream of [`Entry`] values (HELP,
//! TYPE and UNIT metadata and samples) for the scraper, with the acceptance rules of
//! Prometheus 3.5's `textparse`. Errors carry line:col. It depends on nothing else in the
//! crate.
//!
//! ```
//! use kmon::exposition::{parse, Entry, Format};
//!
//! let page = "# TYPE up gauge\nup{job=\"node\"} 1\n";
//! let mut samples = 0;
//! for entry in parse(page, Format::PromText) {
//!     if let Entry::Sample(s) = entry.expect("valid page") {
//!         assert_eq!(s.name, "up");
//!         assert_eq!(s.labels().count(), 1);
//!         samples += 1;
//!     }
//! }
//! assert_eq!(samples, 1);
//! ```

mod error;
mod labels;
mod lexer;
mod line;
mod number;
mod openmetrics;
mod prom;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

pub use error::{ParseError, ParseErrorKind};
pub use labels::LabelIter;

use error::Fail;

/// The wire format of a page, chosen from the scrape response's `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Prometheus text exposition format 0.0.4 (`text/plain; version=0.0.4`).
    #[default]
    PromText,
    /// OpenMetrics 1.0 text format (`application/openmetrics-text; version=1.0.0`).
    OpenMetrics,
}

impl Format {
    /// From an HTTP Content-Type header value: `application/openmetrics-text` (any version,
    /// any parameters) is OpenMetrics; `text/plain`, anything else or empty is PromText.
    pub fn from_content_type(ct: &str) -> Format {
        let media = ct.split_once(';').map_or(ct, |(media, _)| media).trim();
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::PromText
        }
    }
}

/// The type a `# TYPE` line declares for a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    /// `unknown` in OpenMetrics, `untyped` in the text format.
    Unknown,
}

impl MetricType {
    /// The OpenMetrics spelling (`counter`, `gaugehistogram`, …, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One item of a page, borrowed from the page text.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    /// `# HELP name text`; escapes in `text` are resolved (`\\` and `\n`, plus `\"` in
    /// OpenMetrics). A quoted `metric` is given as written between the quotes.
    Help { metric: &'a str, text: Cow<'a, str> },
    /// `# TYPE name type`.
    Type { metric: &'a str, kind: MetricType },
    /// `# UNIT name unit` (OpenMetrics only).
    Unit { metric: &'a str, unit: &'a str },
    /// A sample line, fully validated.
    Sample(SampleEntry<'a>),
}

/// One sample line: name, labels, value, optional timestamp and exemplar.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleEntry<'a> {
    /// The metric name, bare or quoted inside the braces (`{"my.metric", a="b"}`),
    /// with escapes resolved. Suffixed samples (`_total`, `_bucket`, `_created`, …)
    /// keep their full names.
    pub name: Cow<'a, str>,
    /// The value; `NaN`, `+Inf` and `-Inf` included. NaN is Rust's `f64::NAN`, never
    /// Prometheus's stale-marker bit pattern.
    pub value: f64,
    /// Milliseconds since the Unix epoch, when the line has a timestamp (OpenMetrics
    /// float seconds are converted, truncating toward zero as Prometheus does).
    pub timestamp_ms: Option<i64>,
    /// The exemplar after ` # ` (OpenMetrics only).
    pub exemplar: Option<Exemplar<'a>>,
    /// The series as written: the name and the label set with its braces.
    series: &'a str,
    /// The text between the braces (empty when there are none).
    labels: &'a str,
}

impl<'a> SampleEntry<'a> {
    /// Zero-copy iterator over `(name, value)` label pairs in source order, escapes
    /// resolved (`Cow::Borrowed` when a string has none). The metric name is not among
    /// them, even when it is written quoted inside the braces.
    pub fn labels(&self) -> LabelIter<'a> {
        LabelIter::new(self.labels)
    }

    /// The series exactly as written on the line (metric name and label set, without
    /// value or timestamp): a cheap cache key for a scraper, as Prometheus uses it.
    pub fn series(&self) -> &'a str {
        self.series
    }
}

/// An OpenMetrics exemplar: `# {trace_id="x"} 1.5 1620000000.123`.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar<'a> {
    pub value: f64,
    /// Milliseconds since the Unix epoch, converted from float seconds.
    pub timestamp_ms: Option<i64>,
    labels: &'a str,
}

impl<'a> Exemplar<'a> {
    /// Zero-copy iterator over the exemplar's label pairs, as [`SampleEntry::labels`].
    pub fn labels(&self) -> LabelIter<'a> {
        LabelIter::new(self.labels)
    }
}

/// Parses `text` in `format`. Nothing is read until the iterator is advanced.
pub fn parse(text: &str, format: Format) -> Parser<'_> {
    Parser {
        ctx: Ctx {
            text,
            names: Vec::new(),
        },
        rest: text.as_bytes(),
        format,
        done: false,
    }
}

/// Iterator over the entries of a page. Every sample line is validated completely before
/// it is yielded. After the first error it yields that error and then `None`.
#[derive(Debug)]
pub struct Parser<'a> {
    ctx: Ctx<'a>,
    rest: &'a [u8],
    format: Format,
    done: bool,
}

impl<'a> Parser<'a> {
    /// The format this parser reads.
    pub fn format(&self) -> Format {
        self.format
    }

    /// `next`, for a caller that expects the next sample's series text
    /// (`SampleEntry::series`) to be one this parser's format accepted before (a scrape
    /// cache's key): `len` bytes long, and `is_expected` tells it by its bytes. In the
    /// text format a line that starts with such a series (with a bare metric name,
    /// followed by blanks that do not lead into a label set) is not validated again; every
    /// other line, and every line of OpenMetrics, is read as `next` reads it. The entries
    /// are the same either way, as long as `is_expected` only accepts accepted texts.
    pub fn next_expecting(
        &mut self,
        len: usize,
        is_expected: impl Fn(&[u8]) -> bool,
    ) -> Option<Result<Entry<'a>, ParseError>> {
        if self.done {
            return None;
        }
        let step = match self.format {
            Format::PromText => {
                prom::next_entry_expecting(&mut self.ctx, self.rest, Some((len, &is_expected)))
            }
            Format::OpenMetrics => openmetrics::next_entry(&mut self.ctx, self.rest),
        };
        self.finish_step(step)
    }

    fn finish_step(&mut self, step: Step<'a>) -> Option<Result<Entry<'a>, ParseError>> {
        match step {
            Ok((rest, Some(entry))) => {
                self.rest = rest;
                Some(Ok(entry))
            }
            Ok((rest, None)) => {
                self.rest = rest;
                self.done = true;
                None
            }
            Err(fail) => {
                self.done = true;
                Some(Err(ParseError::new(self.ctx.text, fail)))
            }
        }
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let step = match self.format {
            Format::PromText => prom::next_entry(&mut self.ctx, self.rest),
            Format::OpenMetrics => openmetrics::next_entry(&mut self.ctx, self.rest),
        };
        self.finish_step(step)
    }
}

/// What the grammars share while reading one page: the text, to turn byte slices back
/// into `&str`, and a scratch list of label names reused across lines.
#[derive(Debug)]
struct Ctx<'a> {
    text: &'a str,
    names: Vec<(Cow<'a, str>, &'a [u8])>,
}

impl<'a> Ctx<'a> {
    /// The `&str` for a byte slice of the page. Every slice the grammars take starts
    /// and ends at an ASCII delimiter or at the ends of the page, so it lies on char
    /// boundaries.
    fn str_of(&self, bytes: &'a [u8]) -> &'a str {
        let start = bytes.as_ptr() as usize - self.text.as_ptr() as usize;
        &self.text[start..start + bytes.len()]
    }
}

/// The result of reading one entry: the rest of the page and the entry, or `None` at the
/// end of the page.
type Step<'a> = Result<(&'a [u8], Option<Entry<'a>>), Fail<'a>>;
