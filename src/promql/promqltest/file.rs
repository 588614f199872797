//! Reading a promqltest file into commands: `load`/`load_with_nhcb` blocks, `clear`, and
//! `eval` blocks with their expectations, following the upstream v3.5.3 harness line by
//! line (FORMAT.md §2.1–§2.4). Any error names its 1-based line; upstream rejects the
//! whole file on the first one, and so does this reader.

use std::fmt;
use std::sync::OnceLock;

use regex::Regex;

use crate::model::{Labels, parse_duration};

use super::super::ast::Expr;
use super::super::gonum::parse_go_number;
use super::super::parser::{ParseOptions, parse_with};
use super::load::{SeqValue, SeriesDesc, parse_series_desc};

/// The parser switches the upstream runner turns on for every file.
pub const PARSE_OPTIONS: ParseOptions = ParseOptions {
    experimental_functions: true,
    duration_expressions: true,
};

/// A parsed test file.
#[derive(Debug, Clone)]
pub struct TestFile {
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone)]
pub enum Command {
    Clear { line: usize },
    Load(LoadCmd),
    Eval(Box<EvalCmd>),
}

/// One `load` block.
#[derive(Debug, Clone)]
pub struct LoadCmd {
    pub line: usize,
    /// Milliseconds between the items of a series line.
    pub step: i64,
    pub with_nhcb: bool,
    /// The series lines with their line numbers, in file order.
    pub series: Vec<(usize, SeriesDesc)>,
}

/// When an eval runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalTime {
    /// `instant at T` (ms).
    Instant(i64),
    /// `range from A to B step S` (ms).
    Range { start: i64, end: i64, step: i64 },
}

/// `expect` line kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectKind {
    Ordered,
    Fail,
    Warn,
    NoWarn,
    Info,
    NoInfo,
}

/// A text check of an `expect` line: exact text, or an unanchored regex search. A line
/// without `msg:`/`regex:` gets upstream's match-anything pattern `^.*$`.
#[derive(Debug, Clone)]
pub enum TextMatch {
    Exact(String),
    Regex(Regex),
}

impl TextMatch {
    pub fn matches(&self, s: &str) -> bool {
        match self {
            TextMatch::Exact(m) => m == s,
            TextMatch::Regex(r) => r.is_match(s),
        }
    }
}

impl fmt::Display for TextMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextMatch::Exact(m) => write!(f, "message {m:?}"),
            TextMatch::Regex(r) => write!(f, "pattern {:?}", r.as_str()),
        }
    }
}

/// An expected series: its position among the series lines (1-based) and its values.
#[derive(Debug, Clone)]
pub struct ExpectedSeries {
    pub labels: Labels,
    pub pos: usize,
    pub values: Vec<SeqValue>,
}

/// One `eval` block.
#[derive(Debug, Clone)]
pub struct EvalCmd {
    pub line: usize,
    /// The command word (`eval`, `eval_fail`, ...).
    pub command: String,
    pub expr_text: String,
    pub expr: Expr,
    pub time: EvalTime,
    pub fail: bool,
    pub warn: bool,
    pub info: bool,
    pub ordered: bool,
    /// `expected_fail_message` (empty means "not given", as upstream).
    pub fail_message: String,
    pub fail_regexp: Option<Regex>,
    pub expects: Vec<(ExpectKind, TextMatch)>,
    /// An expected scalar (a number line).
    pub scalar: Option<f64>,
    /// Expected series; a later line with the same labels replaces an earlier one.
    pub series: Vec<ExpectedSeries>,
}

impl EvalCmd {
    pub fn expects_of(&self, kind: ExpectKind) -> impl Iterator<Item = &TextMatch> {
        self.expects
            .iter()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, m)| m)
    }

    pub fn has_expect(&self, kind: ExpectKind) -> bool {
        self.expects.iter().any(|(k, _)| *k == kind)
    }

    pub fn is_ordered(&self) -> bool {
        self.ordered || self.has_expect(ExpectKind::Ordered)
    }

    pub fn is_fail(&self) -> bool {
        self.fail || self.has_expect(ExpectKind::Fail)
    }

    pub fn is_range(&self) -> bool {
        matches!(self.time, EvalTime::Range { .. })
    }

    pub fn expected_series(&self, labels: &Labels) -> Option<&ExpectedSeries> {
        self.series.iter().find(|s| &s.labels == labels)
    }

    /// Whether an expected value is a histogram literal.
    pub fn expects_histogram(&self) -> bool {
        self.series
            .iter()
            .any(|s| s.values.iter().any(|v| matches!(v, SeqValue::Histogram(_))))
    }
}

/// Why a file cannot be read; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FileError {
    pub line: usize,
    pub message: String,
}

fn err<T>(idx: usize, message: impl Into<String>) -> Result<T, FileError> {
    Err(FileError {
        line: idx + 1,
        message: message.into(),
    })
}

struct Patterns {
    load: Regex,
    instant: Regex,
    range: Regex,
    expect: Regex,
    any: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("static harness pattern");
        Patterns {
            load: re(r"^load(?:_(with_nhcb))?\s+(.+?)$"),
            instant: re(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$"),
            range: re(
                r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$",
            ),
            expect: re(
                r"^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$",
            ),
            any: re(r"^.*$"),
        }
    })
}

/// The file's lines as the harness sees them: trimmed, comment lines emptied.
pub fn harness_lines(text: &str) -> Vec<String> {
    text.split('\n')
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') {
                String::new()
            } else {
                t.to_string()
            }
        })
        .collect()
}

/// The lines (1-based) of every eval header, found without parsing anything else. Used to
/// fail each case of a file that does not parse.
pub fn eval_header_lines(text: &str) -> Vec<usize> {
    harness_lines(text)
        .iter()
        .enumerate()
        .filter(|(_, l)| command_word(l).starts_with("eval"))
        .map(|(i, _)| i + 1)
        .collect()
}

fn command_word(line: &str) -> String {
    line.split([' ', '\t'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// A harness duration (`5m`, `10s53ms`, `0`) in milliseconds.
pub fn harness_duration(s: &str) -> Result<i64, String> {
    let d = parse_duration(s).map_err(|e| e.to_string())?;
    i64::try_from(d.as_millis()).map_err(|_| "duration out of range".to_string())
}

/// Parses a whole file; eval expressions go through kmon's PromQL parser with
/// `PARSE_OPTIONS`.
pub fn parse_file(text: &str) -> Result<TestFile, FileError> {
    parse_file_with(text, &parse_expr)
}

/// How eval expressions are parsed (tests of the file reader pass a stand-in).
pub type ExprParser<'a> = &'a dyn Fn(&str) -> Result<Expr, String>;

/// `parse_file` with the given expression parser.
pub fn parse_file_with(text: &str, parse_expr: ExprParser<'_>) -> Result<TestFile, FileError> {
    let lines = harness_lines(text);
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let c = command_word(l);
        if c == "clear" {
            commands.push(Command::Clear { line: i + 1 });
        } else if c.starts_with("load") {
            let (end, cmd) = parse_load(&lines, i)?;
            commands.push(Command::Load(cmd));
            i = end;
        } else if c.starts_with("eval") {
            let (end, cmd) = parse_eval(&lines, i, parse_expr)?;
            commands.push(Command::Eval(Box::new(cmd)));
            i = end;
        } else {
            return err(i, format!("invalid command {l:?}"));
        }
        i += 1;
    }
    Ok(TestFile { commands })
}

fn series_line(lines: &[String], i: usize) -> Result<SeriesDesc, FileError> {
    parse_series_desc(&lines[i]).or_else(|e| err(i, format!("parse error at {e}")))
}

/// Returns the index of the block's last line and the command.
fn parse_load(lines: &[String], i: usize) -> Result<(usize, LoadCmd), FileError> {
    let Some(caps) = patterns().load.captures(&lines[i]) else {
        return err(
            i,
            "invalid load command. (load[_with_nhcb] <step:duration>)",
        );
    };
    let step_text = caps.get(2).map_or("", |m| m.as_str());
    let step = harness_duration(step_text)
        .or_else(|e| err(i, format!("invalid step definition {step_text:?}: {e}")))?;
    let mut cmd = LoadCmd {
        line: i + 1,
        step,
        with_nhcb: caps.get(1).is_some(),
        series: Vec::new(),
    };
    let mut j = i;
    while j + 1 < lines.len() && !lines[j + 1].is_empty() {
        j += 1;
        cmd.series.push((j + 1, series_line(lines, j)?));
    }
    Ok((j, cmd))
}

fn parse_eval(
    lines: &[String],
    i: usize,
    parse_expr: ExprParser<'_>,
) -> Result<(usize, EvalCmd), FileError> {
    let p = patterns();
    let line = &lines[i];
    let inst = p.instant.captures(line);
    let range = p.range.captures(line);
    let cap = |c: &regex::Captures<'_>, n: usize| c.get(n).map_or("", |m| m.as_str()).to_string();
    let (modifier, expr_text, time_parts) = match (&inst, &range) {
        (Some(c), _) => (cap(c, 1), cap(c, 3), vec![cap(c, 2)]),
        (None, Some(c)) => (cap(c, 1), cap(c, 5), vec![cap(c, 2), cap(c, 3), cap(c, 4)]),
        (None, None) => {
            return err(
                i,
                "invalid evaluation command. Must be either 'eval[_fail|_warn|_ordered] instant \
                 [at <offset:duration>] <query>' or 'eval[_fail|_warn] range from <from> to <to> \
                 step <step> <query>'",
            );
        }
    };
    let expr = match parse_expr(&expr_text) {
        Ok(e) => e,
        Err(m) => return err(i, format!("parse error in {expr_text:?}: {m}")),
    };
    let ctx = |m: String| format!("error in eval {expr_text} (line {}): {m}", i + 1);
    let dur = |what: &str, s: &str| {
        harness_duration(s).map_err(|e| ctx(format!("invalid {what} definition {s:?}: {e}")))
    };
    let time = if inst.is_some() {
        EvalTime::Instant(dur("timestamp", &time_parts[0]).or_else(|m| err(i, m))?)
    } else {
        let start = dur("start timestamp", &time_parts[0]).or_else(|m| err(i, m))?;
        let end = dur("end timestamp", &time_parts[1]).or_else(|m| err(i, m))?;
        if end < start {
            return err(
                i,
                ctx(format!(
                    "invalid test definition, end timestamp ({}) is before start timestamp ({})",
                    time_parts[1], time_parts[0]
                )),
            );
        }
        let step = dur("step", &time_parts[2]).or_else(|m| err(i, m))?;
        EvalTime::Range { start, end, step }
    };
    let mut cmd = EvalCmd {
        line: i + 1,
        command: command_word(line),
        expr_text: expr_text.clone(),
        expr,
        time,
        fail: modifier == "fail",
        warn: modifier == "warn",
        info: modifier == "info",
        ordered: modifier == "ordered",
        fail_message: String::new(),
        fail_regexp: None,
        expects: Vec::new(),
        scalar: None,
        series: Vec::new(),
    };
    let mut j = i;
    let mut pos = 0;
    while j + 1 < lines.len() && !lines[j + 1].is_empty() {
        j += 1;
        let def = &lines[j];
        if cmd.fail {
            if let Some(rest) = def.strip_prefix("expected_fail_message") {
                cmd.fail_message = rest.trim().to_string();
                break;
            }
            if let Some(rest) = def.strip_prefix("expected_fail_regexp") {
                let pat = rest.trim();
                let re = Regex::new(pat).or_else(|e| {
                    err(
                        j,
                        ctx(format!(
                            "invalid regexp '{pat}' for expected_fail_regexp: {e}"
                        )),
                    )
                })?;
                cmd.fail_regexp = Some(re);
                break;
            }
        }
        if def.split(' ').next() == Some("expect") {
            let e = parse_expect(def).or_else(|m| err(j, ctx(m)))?;
            cmd.expects.push(e);
            validate_expects(&cmd).or_else(|m| err(j, ctx(m)))?;
            continue;
        }
        pos += 1;
        if let Some(v) = parse_go_number(def) {
            cmd.scalar = Some(v);
            break;
        }
        let desc = series_line(lines, j)?;
        if desc.values.len() > 1 && !cmd.is_range() {
            return err(
                j,
                ctx("expecting multiple values in instant evaluation not allowed".into()),
            );
        }
        cmd.series.retain(|s| s.labels != desc.labels);
        cmd.series.push(ExpectedSeries {
            labels: desc.labels,
            pos,
            values: desc.values,
        });
    }
    Ok((j, cmd))
}

/// Parses an eval expression with the harness's parser switches. A panic in the parser is
/// reported as an error, so one bad expression cannot stop a whole run.
pub fn parse_expr(text: &str) -> Result<Expr, String> {
    let r = std::panic::catch_unwind(|| parse_with(text, &PARSE_OPTIONS));
    match r {
        Ok(Ok(e)) => Ok(e),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(format!(
            "parser panicked: {}",
            super::panic_message(p.as_ref())
        )),
    }
}

fn parse_expect(def: &str) -> Result<(ExpectKind, TextMatch), String> {
    let p = patterns();
    let Some(c) = p.expect.captures(def.trim()) else {
        return Err(
            "invalid expect statement, must match `expect <type> <match_type>: <string>` format"
                .into(),
        );
    };
    let kind = match c.get(1).map_or("", |m| m.as_str()) {
        "ordered" => ExpectKind::Ordered,
        "fail" => ExpectKind::Fail,
        "warn" => ExpectKind::Warn,
        "no_warn" => ExpectKind::NoWarn,
        "info" => ExpectKind::Info,
        _ => ExpectKind::NoInfo,
    };
    let text = c.get(3).map_or("", |m| m.as_str()).trim().to_string();
    let m = match c.get(2).map(|m| m.as_str()) {
        Some("msg") => TextMatch::Exact(text),
        Some(_) => TextMatch::Regex(
            Regex::new(&text).map_err(|_| format!("invalid regex {text} for {kind:?}"))?,
        ),
        None => TextMatch::Regex(p.any.clone()),
    };
    Ok((kind, m))
}

fn validate_expects(cmd: &EvalCmd) -> Result<(), String> {
    use ExpectKind::*;
    let n = |k| cmd.expects.iter().filter(|(x, _)| *x == k).count();
    if n(Info) > 0 && n(NoInfo) > 0 {
        return Err("invalid expect lines, info and no_info cannot be used together".into());
    }
    if n(Warn) > 0 && n(NoWarn) > 0 {
        return Err("invalid expect lines, warn and no_warn cannot be used together".into());
    }
    if n(Fail) > 1 {
        return Err("invalid expect lines, multiple expect fail lines are not allowed".into());
    }
    Ok(())
}
