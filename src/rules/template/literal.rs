//! Go literal syntax inside actions: `strconv.Unquote` for "..." and `...` strings and
//! character escapes, and number literals as Go's parser reads them (decimal, hex, octal,
//! binary, underscores, floats, complex and rune constants) with Go's error wording.
//! `parse` uses it.

use super::ast::Number;
use super::lex::Tok;

/// Go's `strconv.Unquote` for "..." and `...` literals.
pub(crate) fn unquote(s: &str) -> Result<String, String> {
    let bad = || "invalid syntax".to_string();
    if let Some(raw) = s.strip_prefix('`') {
        let body = raw.strip_suffix('`').ok_or_else(bad)?;
        return Ok(body.replace('\r', ""));
    }
    let body = s
        .strip_prefix('"')
        .and_then(|b| b.strip_suffix('"'))
        .ok_or_else(bad)?;
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while !rest.is_empty() {
        let (c, tail) = unquote_char(rest, '"').ok_or_else(bad)?;
        out.push(c);
        rest = tail;
    }
    Ok(out)
}

/// Go's `strconv.UnquoteChar`: the first (possibly escaped) character and the rest.
pub(crate) fn unquote_char(s: &str, quote: char) -> Option<(char, &str)> {
    let mut it = s.chars();
    let c = it.next()?;
    if c == quote && (quote == '\'' || quote == '"') {
        return None;
    }
    if c != '\\' {
        return Some((c, it.as_str()));
    }
    let e = it.next()?;
    let simple = match e {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        '\'' | '"' if e == quote => Some(e),
        _ => None,
    };
    if let Some(c) = simple {
        return Some((c, it.as_str()));
    }
    let rest = it.as_str();
    let hex = |n: usize| -> Option<(u32, &str)> {
        let digits = rest.get(..n)?;
        Some((u32::from_str_radix(digits, 16).ok()?, &rest[n..]))
    };
    match e {
        'x' => {
            let (v, t) = hex(2)?;
            // \x in a Go string is a byte; a non-ASCII byte alone is not UTF-8.
            Some((
                char::from_u32(v).filter(|_| v < 0x80).unwrap_or('\u{fffd}'),
                t,
            ))
        }
        'u' => hex(4).and_then(|(v, t)| Some((char::from_u32(v)?, t))),
        'U' => hex(8).and_then(|(v, t)| Some((char::from_u32(v)?, t))),
        '0'..='7' => {
            let digits = s.get(1..4)?;
            let v = u32::from_str_radix(digits, 8).ok()?;
            if v > 0xff {
                return None;
            }
            Some((
                char::from_u32(v).filter(|_| v < 0x80).unwrap_or('\u{fffd}'),
                &s[4..],
            ))
        }
        _ => None,
    }
}

fn strip_underscores(s: &str) -> Option<String> {
    if !s.contains('_') {
        return Some(s.to_string());
    }
    // Each underscore sits between digits (a base prefix counts as one), as Go requires.
    let b = s.as_bytes();
    for (i, c) in b.iter().enumerate() {
        if *c == b'_' {
            let prev = i.checked_sub(1).map(|p| b[p]);
            let next = b.get(i + 1);
            if !prev.is_some_and(|p| p.is_ascii_alphanumeric())
                || !next.is_some_and(|n| n.is_ascii_hexdigit())
            {
                return None;
            }
        }
    }
    Some(s.replace('_', ""))
}

fn parse_uint_base0(s: &str) -> Option<u64> {
    if s.starts_with(['+', '-']) {
        return None;
    }
    let s = strip_underscores(s)?;
    let (digits, radix) = if let Some(r) = s.strip_prefix("0x").or(s.strip_prefix("0X")) {
        (r.to_string(), 16)
    } else if let Some(r) = s.strip_prefix("0o").or(s.strip_prefix("0O")) {
        (r.to_string(), 8)
    } else if let Some(r) = s.strip_prefix("0b").or(s.strip_prefix("0B")) {
        (r.to_string(), 2)
    } else if s.len() > 1 && s.starts_with('0') {
        (s[1..].to_string(), 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    u64::from_str_radix(&digits, radix).ok()
}

fn parse_int_base0(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint_base0(body)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

fn parse_float(s: &str) -> Option<f64> {
    let s = strip_underscores(s)?;
    if s.contains(['x', 'X', 'p', 'P', 'i', 'n', 'N']) {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// A number token as Go's parse.NumberNode sees it.
pub(crate) fn parse_number(text: &str, typ: Tok) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        int: None,
        uint: None,
        float: None,
        complex: None,
    };
    let from_complex = |n: &mut Number, re: f64, im: f64| {
        n.complex = Some((re, im));
        if im == 0.0 {
            n.float = Some(re);
            if re.fract() == 0.0 && re.abs() < 9.2e18 {
                n.int = Some(re as i64);
            }
            if re.fract() == 0.0 && (0.0..1.8e19).contains(&re) {
                n.uint = Some(re as u64);
            }
        }
    };
    match typ {
        Tok::CharConstant => {
            let inner = &text[1..];
            let (c, tail) =
                unquote_char(inner, '\'').ok_or_else(|| "invalid syntax".to_string())?;
            if tail != "'" {
                return Err(format!("malformed character constant: {text}"));
            }
            n.int = Some(c as i64);
            n.uint = Some(c as u64);
            n.float = Some(c as u32 as f64);
            return Ok(n);
        }
        Tok::Complex => {
            // re±imi
            let idx = text[1..]
                .rfind(['+', '-'])
                .map(|i| i + 1)
                .filter(|i| !matches!(text.as_bytes()[i - 1], b'e' | b'E'));
            let Some(i) = idx else {
                return Err(format!(
                    "illegal number syntax: {}",
                    super::gofmt::go_quote(text)
                ));
            };
            // Go reads both parts with strconv.ParseFloat (fmt.Sscan), so no hex integers.
            let bad = |t: &str| {
                format!(
                    "strconv.ParseFloat: parsing {}: invalid syntax",
                    super::gofmt::go_quote(t)
                )
            };
            let re_txt = &text[..i];
            let im_txt = text[i..].trim_end_matches('i');
            let re = parse_float(re_txt).ok_or_else(|| bad(re_txt))?;
            let im = parse_float(im_txt).ok_or_else(|| bad(im_txt))?;
            from_complex(&mut n, re, im);
            return Ok(n);
        }
        _ => {}
    }
    if let Some(im_txt) = text.strip_suffix('i')
        && let Some(f) = parse_float(im_txt).or_else(|| parse_int_base0(im_txt).map(|v| v as f64))
    {
        from_complex(&mut n, 0.0, f);
        return Ok(n);
    }
    let u = parse_uint_base0(text);
    n.uint = u;
    if let Some(i) = parse_int_base0(text) {
        n.int = Some(i);
        if i == 0 {
            n.uint = Some(0);
        }
    }
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!(
                "integer overflow: {}",
                super::gofmt::go_quote(text)
            ));
        }
        n.float = Some(f);
        if f.fract() == 0.0 && f.abs() < 9.2e18 {
            n.int = Some(f as i64);
        }
        if f.fract() == 0.0 && (0.0..1.8e19).contains(&f) {
            n.uint = Some(f as u64);
        }
    }
    if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
        return Err(format!(
            "illegal number syntax: {}",
            super::gofmt::go_quote(text)
        ));
    }
    Ok(n)
}
