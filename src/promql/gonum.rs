//! Go's number and string syntax, which Prometheus inherits and kmon must read the same
//! way: the parser's number literals, histogram `le` values and the promqltest harness's
//! scalars all go through here. Go's
//! `strconv.ParseInt(s, 0, 64)` with a fallback to `strconv.ParseFloat(s, 64)` (hex, octal
//! and binary integers, a leading `0` for octal, `_` digit separators, `Inf`/`NaN`, hex
//! floats), and PromQL's quoted strings in label sets.

/// Go's `ParseInt(s, 0, 64)` then, if that fails, `ParseFloat(s, 64)`: what an expected
/// scalar line and a number in a series description mean. `None` when neither accepts `s`.
pub fn parse_go_number(s: &str) -> Option<f64> {
    if let Some(i) = parse_go_int(s) {
        return Some(i as f64);
    }
    parse_go_float(s)
}

/// `strconv.ParseInt(s, 0, 64)`: an optional sign, then `0x`/`0o`/`0b` prefixes, a
/// leading `0` for octal, or decimal; `_` may separate digits. `None` on syntax errors and
/// on values outside `i64`.
pub fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = split_sign(s);
    if body.is_empty() || !underscores_ok(body) {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mag = u64::from_str_radix(&digits, radix).ok()?;
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some((mag as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(mag).ok()
    }
}

/// `strconv.ParseFloat(s, 64)`: decimal and hex floats with optional sign and `_`
/// separators, `inf`/`infinity` (signed) and `nan` in any letter case. Like Go, a finite
/// literal too large for `f64` is an error rather than infinity.
pub fn parse_go_float(s: &str) -> Option<f64> {
    if let Some(v) = special_float(s) {
        return Some(v);
    }
    let (neg, body) = split_sign(s);
    if body.is_empty() || !underscores_ok(body) {
        return None;
    }
    let clean: String = body.chars().filter(|c| *c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let v = if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex)?
    } else {
        if !is_decimal_float(&lower) {
            return None;
        }
        let v: f64 = lower.parse().ok()?;
        if v.is_infinite() {
            return None;
        }
        v
    };
    Some(if neg { -v } else { v })
}

fn split_sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

/// Go's special float spellings: an optional sign with `inf`/`infinity`, or a bare `nan`.
fn special_float(s: &str) -> Option<f64> {
    let (neg, body) = split_sign(s);
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if lower == "nan" && body.len() == s.len() {
        return Some(f64::NAN);
    }
    None
}

/// Go's rule for `_` in number literals: only between digits, or between a base prefix and
/// a digit.
pub fn underscores_ok(body: &str) -> bool {
    if !body.contains('_') {
        return true;
    }
    let b = body.as_bytes();
    let mut i = 0;
    // 'd' = digit or prefix, '_' = underscore, '^' = start, '!' = anything else.
    let mut saw = b'^';
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'd';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'd';
        } else if c == b'_' {
            if saw != b'd' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `digits [. digits] [e [+-] digits]` with at least one mantissa digit (`5.`, `.5` ok).
fn is_decimal_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut mant_digits = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        mant_digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            mant_digits += 1;
        }
    }
    if mant_digits == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'e' {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// The part after `0x` of a Go hex float: hex mantissa with an optional point and a
/// mandatory binary exponent `p[+-]digits`.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = s.split_once('p')?;
    let exp: i64 = {
        let (neg, digits) = split_sign(exp);
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let v: i64 = digits.parse().unwrap_or(i64::MAX / 4);
        if neg { -v } else { v }
    };
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut m: u128 = 0;
    let mut shift: i64 = 0;
    for (i, c) in int_part.chars().chain(frac_part.chars()).enumerate() {
        let d = c.to_digit(16)? as u128;
        let is_frac = i >= int_part.len();
        if m >> 120 == 0 {
            m = m * 16 + d;
            if is_frac {
                shift -= 4;
            }
        } else if !is_frac {
            // Too many digits to keep: drop precision, keep magnitude.
            shift += 4;
        }
    }
    // Scale by 2^e in steps that cannot overflow or underflow on their own.
    let mut e = exp.saturating_add(shift).clamp(-4000, 4000);
    let mut v = m as f64;
    while e != 0 && v != 0.0 && v.is_finite() {
        let step = e.clamp(-1000, 1000);
        v *= 2f64.powi(step as i32);
        e -= step;
    }
    if v.is_infinite() { None } else { Some(v) }
}

/// Unquotes a PromQL string literal (`"..."`, `'...'` or `` `...` ``) as Go's
/// `strconv.Unquote` would, including `\x`, octal, `\u` and `\U` escapes. Invalid UTF-8
/// produced by byte escapes is replaced by U+FFFD.
pub fn unquote(lit: &str) -> Result<String, String> {
    let bad = || format!("invalid quoted string {lit}");
    let mut chars = lit.chars();
    let q = chars.next().ok_or_else(bad)?;
    if !matches!(q, '"' | '\'' | '`') || lit.len() < 2 || !lit.ends_with(q) {
        return Err(bad());
    }
    let inner = &lit[1..lit.len() - 1];
    if q == '`' {
        if inner.contains('`') {
            return Err(bad());
        }
        return Ok(inner.to_string());
    }
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut it = inner.chars().peekable();
    while let Some(c) = it.next() {
        if c == q || c == '\n' {
            return Err(bad());
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = it.next().ok_or_else(bad)?;
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '\'' => Some(b'\''),
            '"' => Some(b'"'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let mut take = |n: usize, radix: u32| -> Result<u32, String> {
            let mut v = 0u32;
            for _ in 0..n {
                let d = it.next().and_then(|c| c.to_digit(radix)).ok_or_else(bad)?;
                v = v * radix + d;
            }
            Ok(v)
        };
        match e {
            'x' => out.push(take(2, 16)? as u8),
            'u' | 'U' => {
                let v = take(if e == 'u' { 4 } else { 8 }, 16)?;
                let ch = char::from_u32(v).ok_or_else(bad)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            '0'..='7' => {
                let rest = take(2, 8)?;
                let v = e.to_digit(8).unwrap_or(0) * 64 + rest;
                if v > 255 {
                    return Err(bad());
                }
                out.push(v as u8);
            }
            _ => return Err(bad()),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
