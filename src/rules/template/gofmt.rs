//! Go's `fmt` as templates reach it: `printf`'s verbs, flags, width and precision (with Go's
//! `%!d(string=x)`, `%!s(MISSING)` and `%!(EXTRA ...)` for mismatches), `print` and
//! `println` spacing, `strconv.Quote`, and float formatting with Go's `%e`/`%f`/`%g` rules.
//! Used by `funcs` (printf, print, println, humanize) and `lex`/`parse` (quoted tokens).

pub(crate) use super::gofloat::format_float;
use super::gofloat::hex_float;
use super::value::{Value, write_v};

/// Whether Go's `strconv.IsPrint` holds (an approximation outside ASCII).
pub(crate) fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    !c.is_control()
        && !c.is_whitespace()
        && !matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{e000}'..='\u{f8ff}')
}

fn push_escaped(out: &mut String, c: char, quote: char) {
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        c if is_print(c) => out.push(c),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Go's `strconv.Quote`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go's `strconv.QuoteRune`.
pub(crate) fn quote_rune(c: char) -> String {
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'');
    out.push('\'');
    out
}

/// Go's `%#U`: `U+0041 'A'`, or just `U+00A0` when the rune is not printable.
pub(crate) fn quote_rune_u(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

#[derive(Default, Clone, Copy)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

fn pad(out: &mut String, s: &str, f: &Flags) {
    let n = s.chars().count();
    let w = f.width.unwrap_or(0);
    if n >= w {
        out.push_str(s);
        return;
    }
    let fill = w - n;
    if f.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if f.zero {
        // Zero padding goes after the sign.
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+' | b'-' | b' ') => s.split_at(1),
            _ => ("", s),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(rest);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

/// Go's `%!verb(type=value)`; the value prints with `%v` and the same width and precision.
fn bad_verb(out: &mut String, verb: char, v: &Value, f: &Flags) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    match v {
        Value::Invalid | Value::Nil => out.push_str("<nil>"),
        v => {
            out.push_str(v.type_name());
            out.push('=');
            fmt_arg(out, v, 'v', f);
        }
    }
    out.push(')');
}

/// An integer of a named Go type (for the type in a bad-verb message).
fn fmt_typed_int(out: &mut String, i: i64, ty: &str, verb: char, f: &Flags) {
    if matches!(
        verb,
        'd' | 'v' | 'x' | 'X' | 'o' | 'O' | 'b' | 'c' | 'q' | 'U'
    ) {
        return fmt_int(out, i, verb, f, &Value::Int64(i));
    }
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    out.push_str(ty);
    out.push('=');
    fmt_int(out, i, 'd', f, &Value::Int64(i));
    out.push(')');
}

fn fmt_int(out: &mut String, i: i64, verb: char, f: &Flags, v: &Value) {
    let neg = i < 0;
    let u = i.unsigned_abs();
    let mut body = match verb {
        'd' | 'v' => u.to_string(),
        'x' => format!("{u:x}"),
        'X' => format!("{u:X}"),
        'o' | 'O' => format!("{u:o}"),
        'b' => format!("{u:b}"),
        'c' => {
            let c = char::from_u32(i as u32).filter(|_| (0..=0x10ffff).contains(&i));
            return pad(out, &c.unwrap_or('\u{fffd}').to_string(), f);
        }
        'q' => {
            let c = char::from_u32(i as u32).filter(|_| (0..=0x10ffff).contains(&i));
            return pad(out, &quote_rune(c.unwrap_or('\u{fffd}')), f);
        }
        'U' => return pad(out, &format!("U+{:04X}", i), f),
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 's' | 't' => return bad_verb(out, verb, v, f),
        _ => return bad_verb(out, verb, v, f),
    };
    if let Some(p) = f.prec {
        while body.len() < p {
            body.insert(0, '0');
        }
        if p == 0 && u == 0 {
            body.clear();
        }
    }
    if f.sharp {
        match verb {
            'x' => body.insert_str(0, "0x"),
            'X' => body.insert_str(0, "0X"),
            'o' if !body.starts_with('0') => body.insert(0, '0'),
            'b' => body.insert_str(0, "0b"),
            _ => {}
        }
    }
    if verb == 'O' {
        body.insert_str(0, "0o");
    }
    let sign = if neg {
        "-"
    } else if f.plus {
        "+"
    } else if f.space {
        " "
    } else {
        ""
    };
    let mut f2 = *f;
    if f.prec.is_some() {
        f2.zero = false;
    }
    pad(out, &format!("{sign}{body}"), &f2);
}

fn fmt_float(out: &mut String, x: f64, verb: char, f: &Flags, v: &Value) {
    let (verb, prec) = match verb {
        'v' => ('g', f.prec.map_or(-1, |p| p as i64)),
        'g' | 'G' => (verb, f.prec.map_or(-1, |p| p as i64)),
        'e' | 'E' | 'f' | 'F' => (verb, f.prec.map_or(6, |p| p as i64)),
        'x' | 'X' => {
            let mut s = hex_float(x, f.prec);
            if verb == 'X' {
                s = s.to_uppercase();
            }
            if f.plus && !s.starts_with('-') {
                s.insert(0, '+');
            }
            return pad(out, &s, f);
        }
        _ => return bad_verb(out, verb, v, f),
    };
    let mut num = format_float(x, verb, prec);
    if f.sharp && !num.contains(['.', 'I', 'N']) {
        if let Some(e) = num.find(['e', 'E']) {
            num.insert(e, '.');
        } else {
            num.push('.');
        }
    }
    let mut flags = *f;
    if x.is_nan() || x.is_infinite() {
        flags.zero = false;
        if x.is_nan() && (f.plus || f.space) {
            num.insert(0, if f.plus { '+' } else { ' ' });
        }
        return pad(out, &num, &flags);
    }
    if !num.starts_with('-') {
        if f.plus {
            num.insert(0, '+');
        } else if f.space {
            num.insert(0, ' ');
        }
    }
    pad(out, &num, &flags);
}

fn fmt_str(out: &mut String, s: &str, verb: char, f: &Flags, v: &Value) {
    let s: String = match f.prec {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    };
    match verb {
        'v' | 's' => pad(out, &s, f),
        'q' => pad(out, &go_quote(&s), f),
        'x' | 'X' => {
            let hex: String = s
                .bytes()
                .map(|b| {
                    if verb == 'x' {
                        format!("{b:02x}")
                    } else {
                        format!("{b:02X}")
                    }
                })
                .collect();
            pad(out, &hex, f)
        }
        _ => bad_verb(out, verb, v, f),
    }
}

fn fmt_arg(out: &mut String, v: &Value, verb: char, f: &Flags) {
    if verb == 'T' {
        let t = match v {
            Value::Invalid | Value::Nil => "<nil>",
            v => v.type_name(),
        };
        return pad(out, t, f);
    }
    match v {
        Value::Invalid | Value::Nil => match verb {
            'v' => pad(out, "<nil>", f),
            _ => bad_verb(out, verb, v, f),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, if *b { "true" } else { "false" }, f),
            _ => bad_verb(out, verb, v, f),
        },
        Value::Int(i) | Value::Int64(i) => fmt_int(out, *i, verb, f, v),
        Value::Uint8(u) => fmt_int(out, i64::from(*u), verb, f, v),
        Value::Float(x) => fmt_float(out, *x, verb, f, v),
        Value::Str(s) | Value::Html(s) => fmt_str(out, s, verb, f, v),
        Value::TimePtr(t) | Value::Time(t) => match verb {
            'v' | 's' | 'q' | 'x' | 'X' => {
                fmt_str(out, &super::humanize::time_string(*t), verb, f, v)
            }
            _ => {
                // Not a Stringer verb: Go prints time.Time's fields (wall, ext, loc).
                if matches!(v, Value::TimePtr(_)) {
                    out.push('&');
                }
                out.push('{');
                fmt_typed_int(out, i64::from(t.nanos), "uint64", verb, f);
                out.push(' ');
                fmt_typed_int(out, t.secs.saturating_add(62_135_596_800), "int64", verb, f);
                out.push(' ');
                match verb {
                    'd' | 'o' | 'O' | 'b' => out.push('0'),
                    'x' | 'X' => out.push_str("0x0"),
                    _ => {
                        out.push_str("%!");
                        out.push(verb);
                        out.push_str("(*time.Location=<nil>)");
                    }
                }
                out.push('}');
            }
        },
        // Composites apply the verb to each element, as Go's printValue does.
        Value::StrMap(m) => {
            out.push_str("map[");
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_str(out, k, verb, f, &Value::str(k));
                out.push(':');
                fmt_str(out, v, verb, f, &Value::str(v));
            }
            out.push(']');
        }
        Value::AnyMap(m) => {
            out.push_str("map[");
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_str(out, k, verb, f, &Value::str(k));
                out.push(':');
                match v {
                    Value::Sample(_) | Value::Samples(_) => write_v(out, v, 1),
                    v => fmt_arg(out, v, verb, f),
                }
            }
            out.push(']');
        }
        Value::Data(d) => {
            out.push('{');
            fmt_arg(out, &Value::StrMap(d.labels.clone()), verb, f);
            out.push(' ');
            fmt_arg(out, &Value::StrMap(d.external_labels.clone()), verb, f);
            out.push(' ');
            fmt_str(
                out,
                &d.external_url,
                verb,
                f,
                &Value::Str(d.external_url.clone()),
            );
            out.push(' ');
            fmt_arg(out, &Value::Float(d.value), verb, f);
            out.push('}');
        }
        Value::Sample(smp) => {
            out.push_str("&{");
            fmt_arg(out, &Value::StrMap(smp.labels.clone()), verb, f);
            out.push(' ');
            fmt_arg(out, &Value::Float(smp.value), verb, f);
            out.push('}');
        }
        other => {
            let mut s = String::new();
            write_v(&mut s, other, 0);
            pad(out, &s, f)
        }
    }
}

/// One value formatted with a bare verb (`%s`, `%v`), as in Go's error messages.
pub(crate) fn format_verb(v: &Value, verb: char) -> String {
    let mut out = String::new();
    fmt_arg(&mut out, v, verb, &Flags::default());
    out
}

/// Go's `fmt.Sprintf`.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut arg = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut f = Flags::default();
        while let Some(&c) = chars.peek() {
            match c {
                '+' => f.plus = true,
                '-' => f.minus = true,
                '#' => f.sharp = true,
                ' ' => f.space = true,
                '0' => f.zero = !f.minus,
                _ => break,
            }
            chars.next();
        }
        if f.minus {
            f.zero = false;
        }
        let num = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, arg: &mut usize| {
            if chars.peek() == Some(&'*') {
                chars.next();
                let n = match args.get(*arg) {
                    Some(Value::Int(n)) => Some((*n).clamp(0, 1_000_000) as usize),
                    _ => None,
                };
                *arg += 1;
                return n;
            }
            let mut n: Option<usize> = None;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = Some((n.unwrap_or(0) * 10 + d as usize).min(1_000_000));
                chars.next();
            }
            n
        };
        f.width = num(&mut chars, &mut arg);
        if chars.peek() == Some(&'.') {
            chars.next();
            f.prec = Some(num(&mut chars, &mut arg).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(arg) {
            None => {
                out.push_str("%!");
                out.push(verb);
                out.push_str("(MISSING)");
            }
            Some(v) => fmt_arg(&mut out, v, verb, &f),
        }
        arg += 1;
    }
    if arg < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, v) in args[arg..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match v {
                Value::Invalid | Value::Nil => out.push_str("<nil>"),
                v => {
                    out.push_str(v.type_name());
                    out.push('=');
                    write_v(&mut out, v, 0);
                }
            }
        }
        out.push(')');
    }
    out
}

fn is_string(v: &Value) -> bool {
    matches!(v, Value::Str(_) | Value::Html(_))
}

/// Go's `fmt.Sprint`: spaces between operands when neither side is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, v) in args.iter().enumerate() {
        if i > 0 && !is_string(v) && !is_string(&args[i - 1]) {
            out.push(' ');
        }
        fmt_arg(&mut out, v, 'v', &Flags::default());
    }
    out
}

/// Go's `fmt.Sprintln`: always spaces, then a newline.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, v) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        fmt_arg(&mut out, v, 'v', &Flags::default());
    }
    out.push('\n');
    out
}
