//! `Display for Expr`: canonical PromQL as Prometheus's `String()` writes it
//! (`sum by (job) (rate(x{a="b"}[5m] offset 1m))`), plus Go-style quoting helpers shared by
//! the lexer's and parser's error messages.

use std::fmt::{self, Display, Write};
use std::time::Duration;

use crate::model::{Matcher, format_duration};

use super::super::ast::{
    AggregateExpr, At, BinOp, BinaryExpr, Cardinality, Expr, MatrixSelector, SubqueryExpr, UnaryOp,
    VectorSelector,
};

/// Approximates Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and
/// the ASCII space.
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    !matches!(u,
        0xAD
        | 0x600..=0x605
        | 0x61C
        | 0x6DD
        | 0x70F
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x206F
        | 0xD800..=0xDFFF
        | 0xE000..=0xF8FF
        | 0xFEFF
        | 0xFFF9..=0xFFFB
        | 0xFFFE
        | 0xFFFF
        | 0xF0000..=0x10FFFF
    )
}

fn push_escaped(out: &mut String, c: char, quote: char) {
    match c {
        c if c == quote || c == '\\' => {
            out.push('\\');
            out.push(c);
        }
        // What invalid UTF-8 in an escape became; PromQL's lexer rejects it written raw.
        '\u{FFFD}' => out.push_str("\\ufffd"),
        c if is_print(c) => out.push(c),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// Go's `strconv.Quote` (`%q` of a string).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go's `%q` of a rune: `'x'`.
pub(crate) fn go_quote_rune(c: char) -> String {
    if c == '\u{FFFD}' {
        return "'\u{FFFD}'".to_string();
    }
    let mut out = String::with_capacity(4);
    out.push('\'');
    push_escaped(&mut out, c, '\'');
    out.push('\'');
    out
}

/// Go's `%#U` of a rune: `U+0071 'q'` (the quoted form only for printable runes).
pub(crate) fn go_quote_rune_verbose(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub(crate) fn is_legacy_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c == ':' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c == ':' || c.is_ascii_alphanumeric())
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
pub(crate) fn is_legacy_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// A number as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it.
pub(crate) fn format_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
}

/// A duration in milliseconds as Prometheus prints one (`1h30m`, `-5m`, `0s`).
pub(crate) fn format_ms(ms: i64) -> String {
    let d = Duration::from_millis(ms.unsigned_abs());
    if ms < 0 {
        format!("-{}", format_duration(d))
    } else {
        format_duration(d)
    }
}

fn write_label_list(f: &mut fmt::Formatter<'_>, labels: &[String]) -> fmt::Result {
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        if is_legacy_metric_name(l) {
            f.write_str(l)?;
        } else {
            f.write_str(&go_quote(l))?;
        }
    }
    Ok(())
}

fn matcher_string(m: &Matcher) -> String {
    let mut s = String::with_capacity(m.name.len() + m.value.len() + 6);
    if is_legacy_label_name(&m.name) {
        s.push_str(&m.name);
    } else {
        s.push_str(&go_quote(&m.name));
    }
    s.push_str(m.op.as_str());
    s.push_str(&go_quote(&m.value));
    s
}

fn write_at_offset(f: &mut fmt::Formatter<'_>, at: Option<At>, offset: i64) -> fmt::Result {
    match at {
        Some(At::Time(ms)) => write!(f, " @ {:.3}", ms as f64 / 1000.0)?,
        Some(At::Start) => f.write_str(" @ start()")?,
        Some(At::End) => f.write_str(" @ end()")?,
        None => {}
    }
    if offset != 0 {
        write!(f, " offset {}", format_ms(offset))?;
    }
    Ok(())
}

/// The selector without its offset and `@`.
fn write_selector_body(f: &mut fmt::Formatter<'_>, vs: &VectorSelector) -> fmt::Result {
    let mut strs: Vec<String> = Vec::with_capacity(vs.matchers.len());
    let mut skipped_name = false;
    for m in &vs.matchers {
        if !skipped_name
            && vs.name.as_deref().is_some_and(|n| !n.is_empty())
            && m.name == crate::model::METRIC_NAME
            && m.op == crate::model::MatchOp::Equal
            && Some(m.value.as_str()) == vs.name.as_deref()
        {
            skipped_name = true;
            continue;
        }
        strs.push(matcher_string(m));
    }
    strs.sort();
    let name = vs.name.as_deref().unwrap_or("");
    if !name.is_empty() && !is_legacy_metric_name(name) {
        // A name that only a quoted form can carry: `{"my.metric", a="b"}`.
        f.write_char('{')?;
        f.write_str(&go_quote(name))?;
        for s in &strs {
            f.write_str(", ")?;
            f.write_str(s)?;
        }
        return f.write_char('}');
    }
    f.write_str(name)?;
    if !strs.is_empty() || name.is_empty() {
        f.write_char('{')?;
        f.write_str(&strs.join(","))?;
        f.write_char('}')?;
    }
    Ok(())
}

impl fmt::Display for VectorSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_selector_body(f, self)?;
        write_at_offset(f, self.at, self.offset)
    }
}

impl fmt::Display for MatrixSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_selector_body(f, &self.selector)?;
        write!(f, "[{}]", format_ms(self.range))?;
        write_at_offset(f, self.selector.at, self.selector.offset)
    }
}

impl fmt::Display for SubqueryExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}:", self.expr, format_ms(self.range))?;
        if let Some(step) = self.step {
            f.write_str(&format_ms(step))?;
        }
        f.write_char(']')?;
        write_at_offset(f, self.at, self.offset)
    }
}

impl fmt::Display for AggregateExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.op.as_str())?;
        if self.without {
            f.write_str(" without (")?;
            write_label_list(f, &self.grouping)?;
            f.write_str(") ")?;
        } else if !self.grouping.is_empty() {
            f.write_str(" by (")?;
            write_label_list(f, &self.grouping)?;
            f.write_str(") ")?;
        }
        f.write_char('(')?;
        if let Some(p) = &self.param {
            write!(f, "{p}, ")?;
        }
        write!(f, "{})", self.expr)
    }
}

impl fmt::Display for BinaryExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.lhs {
            // `+Inf ^ x` would read back as `+(Inf ^ x)`.
            Expr::Number(n) if self.op == BinOp::Pow && n.value == f64::INFINITY => {
                f.write_str("Inf")?
            }
            lhs => Display::fmt(lhs, f)?,
        }
        write!(f, " {}", self.op.as_str())?;
        if self.return_bool {
            f.write_str(" bool")?;
        }
        if let Some(m) = &self.matching {
            let grouped = matches!(m.card, Cardinality::ManyToOne | Cardinality::OneToMany);
            if m.on || !m.labels.is_empty() || grouped {
                f.write_str(if m.on { " on (" } else { " ignoring (" })?;
                write_label_list(f, &m.labels)?;
                f.write_char(')')?;
                if grouped {
                    f.write_str(if m.card == Cardinality::ManyToOne {
                        " group_left ("
                    } else {
                        " group_right ("
                    })?;
                    write_label_list(f, &m.include)?;
                    f.write_char(')')?;
                }
            }
        }
        write!(f, " {}", self.rhs)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        stacker::maybe_grow(super::parse::RED_ZONE, super::parse::STACK_CHUNK, || {
            self.write(f)
        })
    }
}

impl Expr {
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(n) => f.write_str(&format_number(n.value)),
            Expr::String(s) => f.write_str(&go_quote(&s.value)),
            Expr::VectorSelector(vs) => Display::fmt(vs, f),
            Expr::MatrixSelector(ms) => Display::fmt(ms, f),
            Expr::Subquery(sq) => Display::fmt(sq, f),
            Expr::Paren(p) => write!(f, "({})", p.expr),
            Expr::Unary(u) => {
                f.write_char(if u.op == UnaryOp::Neg { '-' } else { '+' })?;
                Display::fmt(&u.expr, f)
            }
            Expr::Binary(b) => Display::fmt(b, f),
            Expr::Aggregate(a) => Display::fmt(a, f),
            Expr::Call(c) => {
                write!(f, "{}(", c.func.name)?;
                for (i, a) in c.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    Display::fmt(a, f)?;
                }
                f.write_char(')')
            }
        }
    }
}
