//! Go's float formatting: `strconv.FormatFloat` with the `e`, `f` and `g` formats and a
//! precision (or the shortest round-tripping digits), Go's `%g` exponent rules, and `%x`'s
//! hexadecimal mantissa. `gofmt` (printf) and `humanize` (`%.4g`) use it.

/// Decimal digits (no trailing zeros) and decimal point position of |v| rounded to `sig`
/// significant digits, or the shortest round-tripping digits when `sig` is `None`.
fn digits(v: f64, sig: Option<usize>) -> (Vec<u8>, i32) {
    if v == 0.0 {
        return (Vec::new(), 0);
    }
    let e = match sig {
        None => format!("{:e}", v.abs()),
        Some(n) => format!("{:.*e}", n.max(1) - 1, v.abs()),
    };
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.len() > 1 && d.last() == Some(&b'0') {
        d.pop();
    }
    if d == [b'0'] {
        d.clear();
    }
    (d, exp + 1)
}

fn fmt_e(out: &mut String, d: &[u8], dp: i32, prec: usize, upper: bool) {
    out.push(d.first().map_or('0', |c| *c as char));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(d.get(i).map_or('0', |c| *c as char));
        }
    }
    let exp = if d.is_empty() { 0 } else { dp - 1 };
    out.push(if upper { 'E' } else { 'e' });
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
}

fn fmt_f(out: &mut String, d: &[u8], dp: i32, prec: usize) {
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(d.get(i).map_or('0', |c| *c as char));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 0..prec as i32 {
            let j = dp + i;
            out.push(if j < 0 {
                '0'
            } else {
                d.get(j as usize).map_or('0', |c| *c as char)
            });
        }
    }
}

/// Go's `strconv.FormatFloat(v, verb, prec, 64)` for verbs e, E, f, F, g, G (prec -1 is
/// the shortest representation), without the sign handling fmt adds.
pub(crate) fn format_float(v: f64, verb: char, prec: i64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    let shortest = prec < 0;
    match verb {
        'e' | 'E' => {
            let (d, dp) = if shortest {
                digits(v, None)
            } else {
                digits(v, Some(prec as usize + 1))
            };
            let p = if shortest {
                d.len().saturating_sub(1)
            } else {
                prec as usize
            };
            fmt_e(&mut out, &d, dp, p, verb == 'E');
        }
        'f' | 'F' => {
            if shortest {
                let (d, dp) = digits(v, None);
                fmt_f(&mut out, &d, dp, (d.len() as i32 - dp).max(0) as usize);
            } else {
                out.push_str(&format!("{:.*}", prec as usize, v.abs()));
            }
        }
        _ => {
            let mut p = if shortest { 0 } else { prec.max(1) as usize };
            let (d, dp) = if shortest {
                digits(v, None)
            } else {
                digits(v, Some(p))
            };
            if shortest {
                p = d.len();
            }
            let nd = d.len();
            let mut eprec = p as i32;
            if eprec > nd as i32 && nd as i32 >= dp {
                eprec = nd as i32;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if !d.is_empty() && (exp < -4 || exp >= eprec) {
                let q = p.min(nd).max(1) - 1;
                fmt_e(&mut out, &d, dp, q, verb == 'G');
            } else {
                let q = if p as i32 > dp {
                    (nd as i32 - dp).max(0)
                } else {
                    0
                };
                fmt_f(&mut out, &d, dp, q as usize);
            }
        }
    }
    out
}

/// Go's `%x` for a float: `-0x1.8p+00` (shortest hex mantissa, or `prec` hex digits).
pub(super) fn hex_float(x: f64, prec: Option<usize>) -> String {
    if !x.is_finite() {
        return format_float(x, 'g', -1);
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x == 0.0 {
        let frac = prec
            .filter(|p| *p > 0)
            .map_or(String::new(), |p| format!(".{}", "0".repeat(p)));
        return format!("{sign}0x0{frac}p+00");
    }
    let bits = x.abs().to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1 << 52) - 1);
    if exp == 0 {
        // Subnormal: normalise so the leading 1 is implicit again.
        let shift = mant.leading_zeros() as i64 - 11;
        mant = (mant << shift) & ((1 << 52) - 1);
        exp = 1 - shift;
    }
    let e = exp - 1023;
    let mut lead = 1u64;
    let mut digits = format!("{mant:013x}");
    if let Some(p) = prec.filter(|p| *p < 13) {
        // Round the 52-bit fraction to p hex digits, half to even.
        let drop = (13 - p) * 4;
        let full = (1u64 << 52) | mant;
        let half = 1u64 << (drop - 1);
        let rem = full & ((1u64 << drop) - 1);
        let mut q = full >> drop;
        if rem > half || (rem == half && q & 1 == 1) {
            q += 1;
        }
        lead = q >> (p * 4);
        let frac = q & ((1u64 << (p * 4)) - 1);
        digits = if p == 0 {
            String::new()
        } else {
            format!("{frac:0w$x}", w = p)
        };
    } else {
        digits = digits.trim_end_matches('0').to_string();
        if let Some(p) = prec {
            while digits.len() < p {
                digits.push('0');
            }
        }
    }
    let (lead, e) = if lead == 2 { (1, e + 1) } else { (lead, e) };
    let dot = if digits.is_empty() { "" } else { "." };
    let es = if e < 0 { '-' } else { '+' };
    format!("{sign}0x{lead}{dot}{digits}p{es}{:02}", e.abs())
}
