//! Series description lines, used by `load` blocks and by expected results:
//! `name{label="value", ...} item item ...`. Items are numbers, `_`, `stale`, the
//! shorthands `AxN`, `A+BxN`, `A-BxN`, `_xN`, and native-histogram literals `{{...}}`
//! (also `{{..}}xN`, `{{a}}+{{b}}xN`, `{{a}}-{{b}}xN`). kmon has no native histograms yet,
//! so histogram literals are checked for syntax and kept as text, not as values.

use std::fmt;

use crate::model::{Label, Labels, METRIC_NAME};

use super::super::gonum::{parse_go_number, unquote};

/// The most values one series line may expand to (`1x10000000000` would otherwise
/// allocate without bound).
pub const MAX_VALUES_PER_LINE: usize = 1_000_000;

/// One item of an expanded value sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum SeqValue {
    /// `_`: no sample at this step.
    Omitted,
    /// A float (also `stale`, the staleness marker, and `Inf`/`NaN`).
    Float(f64),
    /// A native histogram literal, kept as written.
    Histogram(Box<HistogramLiteral>),
}

impl SeqValue {
    /// The float the upstream runner compares for this item: omitted and histogram
    /// items count as 0.
    pub fn float(&self) -> f64 {
        match self {
            SeqValue::Float(v) => *v,
            _ => 0.0,
        }
    }
}

impl fmt::Display for SeqValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqValue::Omitted => f.write_str("_"),
            SeqValue::Float(v) => f.write_str(&super::compare::fmt_float(*v)),
            SeqValue::Histogram(h) => f.write_str(&h.text),
        }
    }
}

/// `counter_reset_hint:` of a histogram literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterResetHint {
    Unknown,
    Reset,
    NotReset,
    Gauge,
}

/// A parsed `{{...}}` literal: the fields that were written, and the text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistogramLiteral {
    pub schema: Option<i64>,
    pub sum: Option<f64>,
    pub count: Option<f64>,
    pub zero_count: Option<f64>,
    pub zero_threshold: Option<f64>,
    pub offset: Option<i64>,
    pub negative_offset: Option<i64>,
    pub buckets: Option<Vec<f64>>,
    pub negative_buckets: Option<Vec<f64>>,
    pub custom_values: Option<Vec<f64>>,
    pub counter_reset_hint: Option<CounterResetHint>,
    /// The literal as written, `{{` and `}}` included.
    pub text: String,
}

/// A parsed series line.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesDesc {
    pub labels: Labels,
    pub values: Vec<SeqValue>,
}

impl SeriesDesc {
    pub fn has_histograms(&self) -> bool {
        self.values
            .iter()
            .any(|v| matches!(v, SeqValue::Histogram(_)))
    }
}

/// Why a series line was rejected; `col` is the 1-based character column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescError {
    pub col: usize,
    pub message: String,
}

impl fmt::Display for DescError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.col, self.message)
    }
}

type Res<T> = Result<T, DescError>;

/// Words that the PromQL lexer makes keywords and that cannot name a metric here.
const NOT_A_METRIC_NAME: [&str; 8] = [
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "atan2",
    "inf",
    "nan",
];

fn is_alpha(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphabetic()
}

fn is_alnum(c: u8) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

struct Cursor<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.b.get(self.pos + n).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    fn err<T>(&self, message: impl Into<String>) -> Res<T> {
        Err(DescError {
            col: self.s[..self.pos.min(self.s.len())].chars().count() + 1,
            message: message.into(),
        })
    }

    fn skip_spaces(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// What is left, for messages.
    fn rest_word(&self) -> String {
        self.s[self.pos..]
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .to_string()
    }

    /// A quoted string starting at the cursor; returns the unquoted value.
    fn string(&mut self) -> Res<String> {
        let start = self.pos;
        let Some(q) = self.peek() else {
            return self.err("expected a quoted string");
        };
        if !matches!(q, b'"' | b'\'' | b'`') {
            return self.err("expected a quoted string");
        }
        self.pos += 1;
        loop {
            match self.peek() {
                None => return self.err("unterminated quoted string"),
                Some(b'\\') if q != b'`' => self.pos += 2,
                Some(c) if c == q => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
            }
        }
        let lit = &self.s[start..self.pos.min(self.s.len())];
        unquote(lit).or_else(|m| self.err(m))
    }

    /// Go's number scan in series-description mode: no hex; the token ends before an `x`
    /// (the repetition sign) or any non-alphanumeric character.
    fn number_token(&mut self) -> Res<&'a str> {
        let start = self.pos;
        let bad = |c: &Self| c.err(format!("bad number syntax: {:?}", &c.s[start..c.pos]));
        self.eat(b'.');
        if self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let (mut dot, mut exp) = (false, false);
        while let Some(c) = self.peek() {
            match c {
                b'.' => {
                    self.pos += 1;
                    if dot || matches!(self.peek(), Some(b'_' | b'.')) {
                        return bad(self);
                    }
                    dot = true;
                }
                b'e' | b'E' => {
                    self.pos += 1;
                    if exp {
                        return bad(self);
                    }
                    exp = true;
                    if matches!(self.peek(), Some(b'+' | b'-')) {
                        self.pos += 1;
                    }
                    if matches!(self.peek(), None | Some(b'.' | b'_' | b'e' | b'E')) {
                        return bad(self);
                    }
                }
                b'_' => {
                    self.pos += 1;
                    if matches!(self.peek(), None | Some(b'.' | b'_' | b'e' | b'E')) {
                        return bad(self);
                    }
                }
                c if c.is_ascii_digit() => self.pos += 1,
                _ => break,
            }
        }
        if self.pos == start {
            return bad(self);
        }
        match self.peek() {
            Some(b'x') => {}
            Some(c) if is_alnum(c) => {
                return bad(self);
            }
            _ => {}
        }
        Ok(&self.s[start..self.pos])
    }

    /// An unsigned number: a number token, or the words `Inf`/`NaN`.
    fn number(&mut self) -> Res<f64> {
        let start = self.pos;
        let tok = match self.peek() {
            Some(c) if is_alpha(c) => {
                let w = self.take_while(|c| is_alnum(c) || c == b':');
                let l = w.to_ascii_lowercase();
                if l != "inf" && l != "nan" {
                    self.pos = start;
                    return self.err(format!(
                        "unexpected {w:?} in series values, expected number"
                    ));
                }
                w
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => self.number_token()?,
            _ => {
                return self.err(format!(
                    "unexpected {:?} in series values, expected number",
                    self.rest_word()
                ));
            }
        };
        match parse_go_number(tok) {
            Some(v) => Ok(v),
            None => {
                self.pos = start;
                self.err(format!("error parsing number: {tok:?}"))
            }
        }
    }

    /// A signed or unsigned number (`-1`, `+Inf`, `3`).
    fn signed_number(&mut self) -> Res<f64> {
        if self.eat(b'-') {
            return Ok(-self.number()?);
        }
        self.eat(b'+');
        self.number()
    }

    /// The `N` of `xN`: decimal digits only.
    fn repetition(&mut self) -> Res<u64> {
        let start = self.pos;
        let tok = if self.peek().is_some_and(|c| c.is_ascii_digit() || c == b'.') {
            self.number_token()?
        } else {
            ""
        };
        match tok.parse::<u64>() {
            Ok(n) if tok.bytes().all(|c| c.is_ascii_digit()) => Ok(n),
            _ => {
                self.pos = start;
                self.err(format!(
                    "invalid repetition in series values: {:?}",
                    self.rest_word()
                ))
            }
        }
    }
}

/// Parses one series line: the label set (metric name included as `__name__`) and the
/// expanded values.
pub fn parse_series_desc(line: &str) -> Result<SeriesDesc, DescError> {
    let mut c = Cursor {
        s: line,
        b: line.as_bytes(),
        pos: 0,
    };
    c.skip_spaces();
    let labels = parse_metric(&mut c)?;
    let values = parse_values(&mut c)?;
    Ok(SeriesDesc { labels, values })
}

fn parse_metric(c: &mut Cursor<'_>) -> Res<Labels> {
    let mut name = None;
    if c.peek().is_some_and(|b| is_alpha(b) || b == b':') {
        let start = c.pos;
        let w = c.take_while(|b| is_alnum(b) || b == b':');
        if NOT_A_METRIC_NAME.contains(&w.to_ascii_lowercase().as_str()) {
            c.pos = start;
            return c.err(format!("unexpected {w:?} in series description"));
        }
        name = Some(w.to_string());
    }
    let mut pairs: Vec<Label> = Vec::new();
    if c.peek() == Some(b'{') {
        if c.peek_at(1) == Some(b'{') && name.is_none() {
            return c.err("unexpected left brace '{'");
        }
        c.pos += 1;
        parse_label_set(c, &mut pairs)?;
    }
    if let Some(n) = name {
        pairs.retain(|l| &*l.name != METRIC_NAME);
        pairs.push(Label::new(METRIC_NAME, n));
    }
    Ok(Labels::new(pairs))
}

/// The inside of `{...}` after the opening brace, through the closing brace.
fn parse_label_set(c: &mut Cursor<'_>, pairs: &mut Vec<Label>) -> Res<()> {
    let mut seen: Vec<String> = Vec::new();
    loop {
        c.skip_spaces();
        if c.eat(b'}') {
            return Ok(());
        }
        let item_start = c.pos;
        let (name, quoted) = match c.peek() {
            Some(b) if is_alpha(b) => (c.take_while(is_alnum).to_string(), false),
            Some(b'"' | b'\'' | b'`') => (c.string()?, true),
            _ => {
                return c.err(format!(
                    "unexpected {:?} in label set, expected identifier or \"}}\"",
                    c.rest_word()
                ));
            }
        };
        c.skip_spaces();
        let label = if c.peek() == Some(b'=') && c.peek_at(1) != Some(b'~') {
            c.pos += 1;
            c.skip_spaces();
            Label::new(name.as_str(), c.string()?)
        } else if quoted && matches!(c.peek(), Some(b',' | b'}')) {
            Label::new(METRIC_NAME, name.as_str())
        } else {
            return c.err("unexpected token in label set, expected \"=\"");
        };
        if seen.iter().any(|n| **n == *label.name) {
            c.pos = item_start;
            return c.err(format!("label name {:?} is not unique", &*label.name));
        }
        seen.push(label.name.to_string());
        pairs.push(label);
        c.skip_spaces();
        if c.eat(b',') {
            continue;
        }
        if c.eat(b'}') {
            return Ok(());
        }
        return c.err("unexpected token in label set, expected \",\" or \"}\"");
    }
}

fn push_n(
    c: &Cursor<'_>,
    out: &mut Vec<SeqValue>,
    n: u64,
    mut f: impl FnMut(u64) -> SeqValue,
) -> Res<()> {
    let room = MAX_VALUES_PER_LINE.saturating_sub(out.len()) as u64;
    if n > room {
        return c.err(format!(
            "series line expands to more than {MAX_VALUES_PER_LINE} values"
        ));
    }
    for i in 0..n {
        out.push(f(i));
    }
    Ok(())
}

fn parse_values(c: &mut Cursor<'_>) -> Res<Vec<SeqValue>> {
    let mut out = Vec::new();
    loop {
        if c.at_end() {
            return Ok(out);
        }
        if !c.skip_spaces() {
            return c.err(format!(
                "unexpected {:?} in series values, expected a blank",
                c.rest_word()
            ));
        }
        if c.at_end() {
            return Ok(out);
        }
        parse_item(c, &mut out)?;
        if !c.at_end() && !c.peek().is_some_and(is_space) {
            return c.err(format!("unexpected {:?} in series values", c.rest_word()));
        }
    }
}

fn parse_item(c: &mut Cursor<'_>, out: &mut Vec<SeqValue>) -> Res<()> {
    if c.peek() == Some(b'_') && !c.peek_at(1).is_some_and(|b| is_alnum(b) && b != b'x') {
        c.pos += 1;
        if c.eat(b'x') {
            let n = c.repetition()?;
            return push_n(c, out, n, |_| SeqValue::Omitted);
        }
        out.push(SeqValue::Omitted);
        return Ok(());
    }
    if c.peek() == Some(b'{') && c.peek_at(1) == Some(b'{') {
        return parse_histogram_item(c, out);
    }
    let first = if c.peek().is_some_and(is_alpha) {
        let start = c.pos;
        let w = c.take_while(|b| is_alnum(b) || b == b':');
        if w == "stale" {
            crate::model::stale_nan()
        } else {
            c.pos = start;
            c.number()?
        }
    } else {
        c.signed_number()?
    };
    match c.peek() {
        Some(b'x') => {
            c.pos += 1;
            let n = c.repetition()?;
            push_n(c, out, n.saturating_add(1), |_| SeqValue::Float(first))
        }
        Some(b'+' | b'-') => {
            let neg = c.peek() == Some(b'-');
            c.pos += 1;
            let step = c.number()?;
            let step = if neg { -step } else { step };
            if !c.eat(b'x') {
                return c.err("expected \"x\" and a repetition count after the increment");
            }
            let n = c.repetition()?;
            // Accumulate by addition, as upstream does, so float steps round the same way.
            let mut cur = first;
            push_n(c, out, n.saturating_add(1), |_| {
                let v = cur;
                cur += step;
                SeqValue::Float(v)
            })
        }
        _ => {
            out.push(SeqValue::Float(first));
            Ok(())
        }
    }
}

fn parse_histogram_item(c: &mut Cursor<'_>, out: &mut Vec<SeqValue>) -> Res<()> {
    let base = parse_histogram(c)?;
    match c.peek() {
        Some(b'x') => {
            c.pos += 1;
            let n = c.repetition()?;
            push_n(c, out, n.saturating_add(1), |_| {
                SeqValue::Histogram(Box::new(base.clone()))
            })
        }
        Some(b'+' | b'-') => {
            let sign = c.peek().map(char::from).unwrap_or('+');
            c.pos += 1;
            if !(c.peek() == Some(b'{') && c.peek_at(1) == Some(b'{')) {
                return c.err("expected a histogram literal after the sign");
            }
            let inc = parse_histogram(c)?;
            if !c.eat(b'x') {
                return c.err("expected \"x\" and a repetition count after the histogram");
            }
            let n = c.repetition()?;
            push_n(c, out, n.saturating_add(1), |i| {
                let mut h = base.clone();
                if i > 0 {
                    h.text = format!("{}{sign}{}*{i}", base.text, inc.text);
                }
                SeqValue::Histogram(Box::new(h))
            })
        }
        _ => {
            out.push(SeqValue::Histogram(Box::new(base)));
            Ok(())
        }
    }
}

/// `{{key:value key:[a b c] ...}}` with the keys of Prometheus 3.5.
fn parse_histogram(c: &mut Cursor<'_>) -> Res<HistogramLiteral> {
    let start = c.pos;
    c.pos += 2;
    let mut h = HistogramLiteral::default();
    let mut keys: Vec<String> = Vec::new();
    loop {
        c.skip_spaces();
        if c.peek() == Some(b'}') && c.peek_at(1) == Some(b'}') {
            c.pos += 2;
            break;
        }
        if !c.peek().is_some_and(is_alpha) {
            return c.err(format!(
                "histogram description incomplete, unexpected {:?}",
                c.rest_word()
            ));
        }
        let key_start = c.pos;
        let key = c.take_while(is_alpha).to_ascii_lowercase();
        if !c.eat(b':') {
            c.pos = key_start;
            return c.err(format!("bad histogram descriptor found: {key:?}"));
        }
        if keys.contains(&key) {
            c.pos = key_start;
            return c.err(format!("duplicate key \"{key}\" in histogram"));
        }
        match key.as_str() {
            "schema" => h.schema = Some(hist_int(c)?),
            "offset" => h.offset = Some(hist_int(c)?),
            "n_offset" => h.negative_offset = Some(hist_int(c)?),
            "sum" => h.sum = Some(c.signed_number()?),
            "count" => h.count = Some(c.signed_number()?),
            "z_bucket" => h.zero_count = Some(c.signed_number()?),
            "z_bucket_w" => h.zero_threshold = Some(c.number()?),
            "buckets" => h.buckets = Some(bucket_list(c)?),
            "n_buckets" => h.negative_buckets = Some(bucket_list(c)?),
            "custom_values" => h.custom_values = Some(bucket_list(c)?),
            "counter_reset_hint" => {
                let w = c.take_while(is_alpha);
                h.counter_reset_hint = Some(match w.to_ascii_lowercase().as_str() {
                    "unknown" => CounterResetHint::Unknown,
                    "reset" => CounterResetHint::Reset,
                    "not_reset" => CounterResetHint::NotReset,
                    "gauge" => CounterResetHint::Gauge,
                    _ => return c.err(format!("bad counter reset hint: {w:?}")),
                });
            }
            _ => {
                c.pos = key_start;
                return c.err(format!("bad histogram descriptor found: {key:?}"));
            }
        }
        keys.push(key);
        if !(c.peek().is_some_and(is_space) || c.peek() == Some(b'}')) {
            return c.err(format!(
                "histogram description incomplete, unexpected {:?}",
                c.rest_word()
            ));
        }
    }
    h.text = c.s[start..c.pos].to_string();
    Ok(h)
}

fn hist_int(c: &mut Cursor<'_>) -> Res<i64> {
    let neg = c.eat(b'-');
    let n = c.repetition()?;
    let n = i64::try_from(n).or_else(|_| c.err("integer out of range"))?;
    Ok(if neg { -n } else { n })
}

fn bucket_list(c: &mut Cursor<'_>) -> Res<Vec<f64>> {
    if !c.eat(b'[') {
        return c.err("expected \"[\" to start a bucket list");
    }
    let mut out = Vec::new();
    loop {
        c.skip_spaces();
        if c.eat(b']') {
            if out.is_empty() {
                return c.err("empty bucket list");
            }
            return Ok(out);
        }
        if out.len() >= MAX_VALUES_PER_LINE {
            return c.err("bucket list too long");
        }
        out.push(c.signed_number()?);
        if !(c.peek().is_some_and(is_space) || c.peek() == Some(b']')) {
            return c.err(format!(
                "invalid character in buckets description: {:?}",
                c.rest_word()
            ));
        }
    }
}
