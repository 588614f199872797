//! The PromQL lexer. It follows the states of Prometheus's lexer (statements, inside braces,
//! the start of a duration expression after `[`) so that it agrees with the parser on what
//! every byte is, including its quirks, but unlike Prometheus's it is lossless and never
//! stops: whitespace and comments are tokens, and a lexing error becomes an `Error` token
//! after which lexing resumes. The parser reads the detailed [`Raw`] tokens; [`lex`] maps
//! them onto the coarse [`TokenKind`]s a syntax highlighter wants.

use nom::IResult;
use nom::Parser;
use nom::bytes::complete::{take_while, take_while1};
use nom::character::complete::satisfy;
use nom::combinator::recognize;
use nom::sequence::pair;

use super::super::ast::{AggOp, Span};
use super::printer::{go_quote, go_quote_rune_verbose};

/// What a token is, as far as a syntax highlighter cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A metric name (an identifier outside braces that is not called).
    MetricName,
    /// A label name: inside braces and in `by`/`without`/`on`/`ignoring`/`group_*` lists.
    LabelName,
    /// `offset`, `by`, `without`, `on`, `ignoring`, `group_left`, `group_right`, `bool`,
    /// `start`, `end`.
    Keyword,
    /// An aggregation operator (`sum`, `topk`, …).
    Aggregation,
    /// A function name (an identifier followed by `(`).
    Function,
    /// A number literal, also `Inf` and `NaN`.
    Number,
    /// A duration literal such as `5m`.
    Duration,
    /// A quoted or raw string.
    String,
    /// Arithmetic, comparison, set, matching and `@` operators.
    Operator,
    /// Parentheses, braces, brackets, commas, colons.
    Punctuation,
    /// `# …` to the end of the line.
    Comment,
    Whitespace,
    /// Bytes that are not PromQL.
    Error,
}

/// One token of [`lex`]: its kind and its byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// Keywords (case-insensitive in PromQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kw {
    And,
    Or,
    Unless,
    Atan2,
    Agg(AggOp),
    Offset,
    By,
    Without,
    On,
    Ignoring,
    GroupLeft,
    GroupRight,
    Bool,
    Start,
    End,
}

/// The parser's view of a token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw {
    Space,
    Comment,
    /// A lexing error with Prometheus's message. `report` is where Prometheus places the
    /// error (usually the token start).
    Error {
        msg: String,
        report: usize,
    },
    /// An identifier without colons.
    Ident,
    /// An identifier with a colon (recording-rule style names).
    MetricIdent,
    Kw(Kw),
    Number,
    Duration,
    Str,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    /// `=`
    Eql,
    /// `==`
    EqlC,
    Neq,
    Lss,
    Lte,
    Gtr,
    Gte,
    EqlRegex,
    NeqRegex,
    At,
    /// End of input (zero width).
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawTok {
    pub raw: Raw,
    pub span: Span,
}

impl RawTok {
    pub fn is_trivia(&self) -> bool {
        matches!(self.raw, Raw::Space | Raw::Comment)
    }
}

/// Lexes `input` into tokens that cover every byte (plus nothing else).
pub fn lex(input: &str) -> Vec<Token> {
    let raw = lex_raw(input);
    let mut out = Vec::with_capacity(raw.len());
    // Which significant token comes next, for "identifier followed by `(`".
    let mut next_sig = vec![None; raw.len()];
    let mut upcoming: Option<usize> = None;
    for i in (0..raw.len()).rev() {
        next_sig[i] = upcoming;
        if !raw[i].is_trivia() && raw[i].span.start < raw[i].span.end {
            upcoming = Some(i);
        }
    }
    // Grouping lists: after by/without/on/ignoring/group_left/group_right, the identifiers
    // and keywords inside the following parentheses are label names.
    let mut in_group_list = false;
    let mut expect_group_paren = false;
    let mut brace = false;
    for (i, t) in raw.iter().enumerate() {
        if t.span.start == t.span.end {
            continue;
        }
        let next_is_paren = next_sig[i].is_some_and(|j| raw[j].raw == Raw::LParen);
        let kind = match &t.raw {
            Raw::Space => TokenKind::Whitespace,
            Raw::Comment => TokenKind::Comment,
            Raw::Error { .. } => TokenKind::Error,
            Raw::Ident | Raw::MetricIdent if brace || in_group_list => TokenKind::LabelName,
            Raw::Ident if next_is_paren => TokenKind::Function,
            Raw::Ident | Raw::MetricIdent => TokenKind::MetricName,
            Raw::Kw(_) if in_group_list => TokenKind::LabelName,
            Raw::Kw(Kw::And | Kw::Or | Kw::Unless | Kw::Atan2) => TokenKind::Operator,
            // An aggregation name not followed by `(`, `by` or `without` is a metric name.
            Raw::Kw(Kw::Agg(_))
                if next_sig[i].is_some_and(|j| {
                    matches!(raw[j].raw, Raw::LParen | Raw::Kw(Kw::By | Kw::Without))
                }) =>
            {
                TokenKind::Aggregation
            }
            Raw::Kw(Kw::Agg(_)) => TokenKind::MetricName,
            Raw::Kw(_) => TokenKind::Keyword,
            Raw::Number => TokenKind::Number,
            Raw::Duration => TokenKind::Duration,
            Raw::Str if in_group_list => TokenKind::LabelName,
            Raw::Str => TokenKind::String,
            Raw::LParen
            | Raw::RParen
            | Raw::LBrace
            | Raw::RBrace
            | Raw::LBracket
            | Raw::RBracket
            | Raw::Comma
            | Raw::Colon => TokenKind::Punctuation,
            Raw::Eof => continue,
            _ => TokenKind::Operator,
        };
        match &t.raw {
            Raw::Kw(
                Kw::By | Kw::Without | Kw::On | Kw::Ignoring | Kw::GroupLeft | Kw::GroupRight,
            ) if !in_group_list => expect_group_paren = true,
            Raw::LParen if expect_group_paren => {
                in_group_list = true;
                expect_group_paren = false;
            }
            Raw::RParen if in_group_list => in_group_list = false,
            Raw::LBrace => brace = true,
            Raw::RBrace => brace = false,
            Raw::Space | Raw::Comment => {}
            _ => expect_group_paren = false,
        }
        out.push(Token { kind, span: t.span });
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Statements,
    /// Right after `[` (or an operator/paren there) until the first number or duration,
    /// as Prometheus's `lexDurationExpr`.
    DurationStart,
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    mode: Mode,
    paren_depth: i64,
    brace_open: bool,
    bracket_open: bool,
    got_colon: bool,
    got_duration: bool,
    toks: Vec<RawTok>,
}

/// Lexes into parser tokens; the last token is always a zero-width `Eof` or `Error`.
pub(crate) fn lex_raw(input: &str) -> Vec<RawTok> {
    let mut l = Lexer {
        input,
        pos: 0,
        mode: Mode::Statements,
        paren_depth: 0,
        brace_open: false,
        bracket_open: false,
        got_colon: false,
        got_duration: false,
        toks: Vec::with_capacity(input.len() / 3 + 2),
    };
    while l.pos < input.len() {
        let before = l.pos;
        l.step();
        if l.pos == before {
            // Cannot happen, but never loop forever: swallow one character as an error.
            let c = l.peek().unwrap_or('\0');
            l.pos += c.len_utf8().max(1);
            l.push_error(
                before,
                format!("unexpected character: {}", go_quote_rune(c)),
            );
        }
    }
    let end = input.len();
    let eof = if l.brace_open {
        Raw::Error {
            msg: "unexpected end of input inside braces".into(),
            report: end,
        }
    } else if l.mode == Mode::DurationStart {
        Raw::Error {
            msg: "unexpected end of input in duration expression".into(),
            report: end,
        }
    } else if l.paren_depth > 0 {
        Raw::Error {
            msg: "unclosed left parenthesis".into(),
            report: end,
        }
    } else if l.bracket_open {
        Raw::Error {
            msg: "unclosed left bracket".into(),
            report: end,
        }
    } else {
        Raw::Eof
    };
    l.toks.push(RawTok {
        raw: eof,
        span: Span::new(end, end),
    });
    l.toks
}

fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_alnum(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Go's `%q` of a rune, as Prometheus's lexer errors print it.
fn go_quote_rune(c: char) -> String {
    super::printer::go_quote_rune(c)
}

fn ident_outside(i: &str) -> IResult<&str, &str> {
    recognize(pair(
        satisfy(|c| is_alpha(c) || c == ':'),
        take_while(|c: char| is_alnum(c) || c == ':'),
    ))
    .parse(i)
}

fn ident_inside(i: &str) -> IResult<&str, &str> {
    recognize(pair(satisfy(is_alpha), take_while(is_alnum))).parse(i)
}

fn spaces(i: &str) -> IResult<&str, &str> {
    take_while1(is_space)(i)
}

fn comment(i: &str) -> IResult<&str, &str> {
    recognize(pair(
        satisfy(|c| c == '#'),
        take_while(|c: char| c != '\n' && c != '\r'),
    ))
    .parse(i)
}

/// The keyword an identifier is, if any (case-insensitive). `inf` and `nan` are numbers.
pub(crate) fn keyword(word: &str) -> Option<Raw> {
    if word.len() > 12 {
        return None;
    }
    let mut buf = [0u8; 12];
    let lower = &mut buf[..word.len()];
    lower.copy_from_slice(word.as_bytes());
    lower.make_ascii_lowercase();
    let kw = match &*lower {
        b"and" => Kw::And,
        b"or" => Kw::Or,
        b"unless" => Kw::Unless,
        b"atan2" => Kw::Atan2,
        b"offset" => Kw::Offset,
        b"by" => Kw::By,
        b"without" => Kw::Without,
        b"on" => Kw::On,
        b"ignoring" => Kw::Ignoring,
        b"group_left" => Kw::GroupLeft,
        b"group_right" => Kw::GroupRight,
        b"bool" => Kw::Bool,
        b"start" => Kw::Start,
        b"end" => Kw::End,
        b"inf" | b"nan" => return Some(Raw::Number),
        _ => return AggOp::from_name(word).map(|op| Raw::Kw(Kw::Agg(op))),
    };
    Some(Raw::Kw(kw))
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.rest().chars();
        it.next();
        it.next()
    }

    fn push(&mut self, raw: Raw, start: usize) {
        self.toks.push(RawTok {
            raw,
            span: Span::new(start, self.pos),
        });
    }

    fn push_error(&mut self, start: usize, msg: String) {
        self.push_error_at(start, start, msg);
    }

    fn push_error_at(&mut self, start: usize, report: usize, msg: String) {
        self.toks.push(RawTok {
            raw: Raw::Error { msg, report },
            span: Span::new(start, self.pos),
        });
    }

    /// Consumes a run handled by a nom recognizer.
    fn take(&mut self, f: fn(&str) -> IResult<&str, &str>) -> Option<&'a str> {
        let rest = self.rest();
        match f(rest) {
            Ok((_, m)) if !m.is_empty() => {
                self.pos += m.len();
                Some(m)
            }
            _ => None,
        }
    }

    fn step(&mut self) {
        let start = self.pos;
        if self.take(spaces).is_some() {
            self.push(Raw::Space, start);
            return;
        }
        if self.brace_open {
            return self.inside_braces();
        }
        if self.mode == Mode::DurationStart {
            return self.duration_start();
        }
        if self.take(comment).is_some() {
            self.push(Raw::Comment, start);
            return;
        }
        self.statements();
    }

    fn single(&mut self, raw: Raw, width: usize) {
        let start = self.pos;
        self.pos += width;
        self.push(raw, start);
    }

    fn statements(&mut self) {
        let start = self.pos;
        let Some(c) = self.peek() else { return };
        match c {
            ',' => self.single(Raw::Comma, 1),
            '*' => self.single(Raw::Mul, 1),
            '/' => self.single(Raw::Div, 1),
            '%' => self.single(Raw::Mod, 1),
            '+' => self.single(Raw::Add, 1),
            '-' => self.single(Raw::Sub, 1),
            '^' => self.single(Raw::Pow, 1),
            '@' => self.single(Raw::At, 1),
            '=' => match self.peek2() {
                Some('=') => self.single(Raw::EqlC, 2),
                Some('~') => {
                    self.pos += 2;
                    self.push_error(start, "unexpected character after '=': '~'".into());
                }
                _ => self.single(Raw::Eql, 1),
            },
            '!' => match self.peek2() {
                Some('=') => self.single(Raw::Neq, 2),
                other => {
                    self.pos += 1 + other.map_or(0, char::len_utf8);
                    let q = go_quote_rune(other.unwrap_or('\u{FFFD}'));
                    self.push_error(start, format!("unexpected character after '!': {q}"));
                }
            },
            '<' => match self.peek2() {
                Some('=') => self.single(Raw::Lte, 2),
                _ => self.single(Raw::Lss, 1),
            },
            '>' => match self.peek2() {
                Some('=') => self.single(Raw::Gte, 2),
                _ => self.single(Raw::Gtr, 1),
            },
            c if c.is_ascii_digit()
                || (c == '.' && self.peek2().is_some_and(|d| d.is_ascii_digit())) =>
            {
                self.number_or_duration()
            }
            '"' | '\'' => self.string(c),
            '`' => self.raw_string(),
            c if is_alpha(c) || c == ':' => {
                if !self.bracket_open {
                    let word = self.take(ident_outside).unwrap_or_default();
                    let raw = match keyword(word) {
                        Some(k) => k,
                        None if word.contains(':') => Raw::MetricIdent,
                        None => Raw::Ident,
                    };
                    self.push(raw, start);
                } else if self.got_colon {
                    self.pos += c.len_utf8();
                    self.push_error(start, format!("unexpected colon {}", go_quote_rune(c)));
                } else {
                    // Prometheus's lexer turns any letter inside brackets into a colon.
                    self.single(Raw::Colon, 1);
                    self.got_colon = true;
                }
            }
            '(' => {
                self.single(Raw::LParen, 1);
                self.paren_depth += 1;
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    self.paren_depth = 0;
                    self.pos += 1;
                    self.push_error_at(start, self.pos, "unexpected right parenthesis ')'".into());
                } else {
                    self.single(Raw::RParen, 1);
                }
            }
            '{' => {
                self.single(Raw::LBrace, 1);
                self.brace_open = true;
            }
            '[' => {
                if self.bracket_open {
                    self.pos += 1;
                    self.push_error(start, "unexpected left bracket '['".into());
                } else {
                    self.got_colon = false;
                    self.got_duration = false;
                    self.single(Raw::LBracket, 1);
                    self.bracket_open = true;
                    self.mode = Mode::DurationStart;
                }
            }
            ']' => {
                if !self.bracket_open {
                    self.pos += 1;
                    self.push_error(start, "unexpected right bracket ']'".into());
                } else {
                    self.single(Raw::RBracket, 1);
                    self.bracket_open = false;
                }
            }
            c => {
                self.pos += c.len_utf8();
                self.push_error(start, format!("unexpected character: {}", go_quote_rune(c)));
            }
        }
    }

    fn duration_start(&mut self) {
        let start = self.pos;
        let Some(c) = self.peek() else { return };
        match c {
            ']' => {
                self.single(Raw::RBracket, 1);
                self.bracket_open = false;
                self.got_colon = false;
                self.mode = Mode::Statements;
            }
            ':' => {
                if !self.got_duration {
                    self.pos += 1;
                    self.push_error_at(
                        start,
                        self.pos,
                        "unexpected colon before duration in duration expression".into(),
                    );
                } else if self.got_colon {
                    self.pos += 1;
                    self.push_error_at(
                        start,
                        self.pos,
                        "unexpected repeated colon in duration expression".into(),
                    );
                } else {
                    self.single(Raw::Colon, 1);
                    self.got_colon = true;
                }
            }
            '(' => {
                self.single(Raw::LParen, 1);
                self.paren_depth += 1;
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    self.paren_depth = 0;
                    self.pos += 1;
                    self.push_error_at(start, self.pos, "unexpected right parenthesis ')'".into());
                } else {
                    self.single(Raw::RParen, 1);
                }
            }
            '+' => self.single(Raw::Add, 1),
            '-' => self.single(Raw::Sub, 1),
            '*' => self.single(Raw::Mul, 1),
            '/' => self.single(Raw::Div, 1),
            '%' => self.single(Raw::Mod, 1),
            '^' => self.single(Raw::Pow, 1),
            c if c.is_ascii_digit()
                || (c == '.' && self.peek2().is_some_and(|d| d.is_ascii_digit())) =>
            {
                self.got_duration = true;
                self.mode = Mode::Statements;
                self.number_or_duration();
            }
            c => {
                self.pos += c.len_utf8();
                self.push_error(
                    start,
                    format!(
                        "unexpected character in duration expression: {}",
                        go_quote_rune(c)
                    ),
                );
            }
        }
    }

    fn inside_braces(&mut self) {
        let start = self.pos;
        if self.take(comment).is_some() {
            self.push(Raw::Comment, start);
            return;
        }
        let Some(c) = self.peek() else { return };
        match c {
            c if is_alpha(c) => {
                self.take(ident_inside);
                self.push(Raw::Ident, start);
            }
            ',' => self.single(Raw::Comma, 1),
            '"' | '\'' => self.string(c),
            '`' => self.raw_string(),
            '=' => match self.peek2() {
                Some('~') => self.single(Raw::EqlRegex, 2),
                _ => self.single(Raw::Eql, 1),
            },
            '!' => match self.peek2() {
                Some('~') => self.single(Raw::NeqRegex, 2),
                Some('=') => self.single(Raw::Neq, 2),
                other => {
                    self.pos += 1 + other.map_or(0, char::len_utf8);
                    let q = go_quote_rune(other.unwrap_or('\u{FFFD}'));
                    self.push_error(
                        start,
                        format!("unexpected character after '!' inside braces: {q}"),
                    );
                }
            },
            '{' => {
                self.pos += 1;
                self.push_error(start, "unexpected left brace '{'".into());
            }
            '}' => {
                self.single(Raw::RBrace, 1);
                self.brace_open = false;
            }
            c => {
                self.pos += c.len_utf8();
                self.push_error(
                    start,
                    format!("unexpected character inside braces: {}", go_quote_rune(c)),
                );
            }
        }
    }

    /// A quoted string with Go escapes; on a bad escape the whole string (to its closing
    /// quote or the end of the line) becomes one error token.
    fn string(&mut self, quote: char) {
        let start = self.pos;
        self.pos += 1;
        let mut err: Option<String> = None;
        loop {
            let Some(c) = self.peek() else {
                self.push_error(start, err.unwrap_or("unterminated quoted string".into()));
                return;
            };
            if c == '\n' {
                self.push_error(start, err.unwrap_or("unterminated quoted string".into()));
                return;
            }
            self.pos += c.len_utf8();
            if c == quote {
                break;
            }
            if c == '\u{FFFD}' && err.is_none() {
                err = Some("invalid UTF-8 rune".into());
            }
            if c == '\\'
                && let Err(e) = self.escape(quote)
                && err.is_none()
            {
                err = Some(e);
            }
        }
        match err {
            Some(e) => self.push_error(start, e),
            None => self.push(Raw::Str, start),
        }
    }

    /// Checks one escape after a backslash, as Prometheus's `lexEscape`.
    fn escape(&mut self, quote: char) -> Result<(), String> {
        let Some(c) = self.peek() else {
            return Err("escape sequence not terminated".into());
        };
        let (mut n, base, max): (u32, u32, u32) = match c {
            'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' => {
                self.pos += 1;
                return Ok(());
            }
            c if c == quote => {
                self.pos += 1;
                return Ok(());
            }
            '0'..='7' => (3, 8, 255),
            'x' => {
                self.pos += 1;
                (2, 16, 255)
            }
            'u' => {
                self.pos += 1;
                (4, 16, 0x10FFFF)
            }
            'U' => {
                self.pos += 1;
                (8, 16, 0x10FFFF)
            }
            c => {
                // Do not consume a newline: the string loop reports it as unterminated.
                if c != '\n' {
                    self.pos += c.len_utf8();
                }
                return Err(format!("unknown escape sequence {}", go_unicode_verbose(c)));
            }
        };
        let mut x: u32 = 0;
        while n > 0 {
            let Some(d) = self.peek() else {
                return Err("escape sequence not terminated".into());
            };
            let v = d.to_digit(16).unwrap_or(16);
            if v >= base {
                if d == '\n' {
                    return Err(format!(
                        "illegal character {} in escape sequence",
                        go_unicode_verbose(d)
                    ));
                }
                self.pos += d.len_utf8();
                return Err(format!(
                    "illegal character {} in escape sequence",
                    go_unicode_verbose(d)
                ));
            }
            self.pos += 1;
            x = x.saturating_mul(base).saturating_add(v);
            n -= 1;
        }
        if x > max || (0xD800..0xE000).contains(&x) {
            return Err("escape sequence is an invalid Unicode code point".into());
        }
        Ok(())
    }

    fn raw_string(&mut self) {
        let start = self.pos;
        self.pos += 1;
        match self.rest().find('`') {
            Some(i) => {
                let body = &self.rest()[..i];
                self.pos += i + 1;
                if body.contains('\u{FFFD}') {
                    self.push_error(start, "invalid UTF-8 rune".into());
                } else {
                    self.push(Raw::Str, start);
                }
            }
            None => {
                self.pos = self.input.len();
                self.push_error(start, "unterminated raw string".into());
            }
        }
    }

    fn number_or_duration(&mut self) {
        let start = self.pos;
        let bytes = self.input.as_bytes();
        let (ok, end) = scan_number(bytes, start);
        if ok {
            self.pos = end;
            self.push(Raw::Number, start);
            return;
        }
        match accept_remaining_duration(bytes, end) {
            Ok(end) => {
                self.pos = end;
                self.push(Raw::Duration, start);
            }
            Err(end) => {
                // Never end inside a multi-byte character.
                let mut end = end.min(self.input.len());
                while !self.input.is_char_boundary(end) {
                    end += 1;
                }
                self.pos = end.max(start + 1);
                let text = &self.input[start..end];
                self.push_error(
                    start,
                    format!("bad number or duration syntax: {}", go_quote(text)),
                );
            }
        }
    }
}

/// `%#U` of a rune: `U+0071 'q'`.
fn go_unicode_verbose(c: char) -> String {
    go_quote_rune_verbose(c)
}

fn is_alnum_byte(b: Option<&u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// Prometheus's `scanNumber`: whether a number ends at a non-alphanumeric character, and
/// where the scan stopped.
pub(crate) fn scan_number(b: &[u8], start: usize) -> (bool, usize) {
    let mut p = start;
    let at = |p: usize| b.get(p).copied();
    let mut hex = false;
    if at(p) == Some(b'0') {
        p += 1;
        if matches!(at(p), Some(b'x' | b'X')) {
            p += 1;
            hex = true;
            if at(p) == Some(b'_') {
                p += 1;
            }
        }
    }
    let is_digit = |c: Option<u8>| match c {
        Some(c) if hex => c.is_ascii_hexdigit(),
        Some(c) => c.is_ascii_digit(),
        None => false,
    };
    if at(p) == Some(b'.') {
        p += 1;
    }
    if is_digit(at(p)) {
        p += 1;
    }
    let mut dot = false;
    let mut exp = false;
    loop {
        let c = at(p);
        let in_set = is_digit(c) || matches!(c, Some(b'.' | b'_' | b'e' | b'E'));
        if !in_set {
            break;
        }
        if c == Some(b'.') && dot {
            return (false, p + 1);
        }
        if matches!(c, Some(b'e' | b'E')) && exp && !hex {
            return (false, p + 1);
        }
        if c == Some(b'.') {
            p += 1;
            dot = true;
            if matches!(at(p), Some(b'_' | b'.')) {
                return (false, p + 1);
            }
            if hex {
                return (false, p);
            }
            continue;
        }
        if matches!(c, Some(b'e' | b'E')) && !hex {
            p += 1;
            exp = true;
            if matches!(at(p), Some(b'+' | b'-')) {
                p += 1;
            }
            if matches!(at(p), Some(b'.' | b'_' | b'e' | b'E')) {
                return (false, p + 1);
            }
            if at(p).is_none() {
                return (false, p);
            }
            continue;
        }
        if c == Some(b'_') {
            p += 1;
            if matches!(at(p), Some(b'.' | b'_' | b'e' | b'E')) {
                return (false, p + 1);
            }
            if at(p).is_none() {
                return (false, p);
            }
            continue;
        }
        while is_digit(at(p)) {
            p += 1;
        }
    }
    if p == start {
        return (false, p);
    }
    (!is_alnum_byte(b.get(p)), p)
}

/// Prometheus's `acceptRemainingDuration` from where `scan_number` stopped: `Ok(end)` of a
/// duration token, or `Err(pos)` where the scan failed (the failing character included).
fn accept_remaining_duration(b: &[u8], mut p: usize) -> Result<usize, usize> {
    let at = |p: usize| b.get(p).copied();
    if !matches!(at(p), Some(b's' | b'm' | b'h' | b'd' | b'w' | b'y')) {
        return Err(p);
    }
    p += 1;
    if at(p) == Some(b's') {
        p += 1;
    }
    while at(p).is_some_and(|c| c.is_ascii_digit()) {
        while at(p).is_some_and(|c| c.is_ascii_digit()) {
            p += 1;
        }
        if !matches!(at(p), Some(b's' | b'm' | b'h' | b'd' | b'w')) {
            return Err(p);
        }
        p += 1;
        if at(p) == Some(b's') {
            p += 1;
        }
    }
    if is_alnum_byte(b.get(p)) {
        return Err(p + 1);
    }
    Ok(p)
}
