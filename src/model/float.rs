//! Float formatting exactly as Prometheus (Go) prints it: `strconv.FormatFloat(f, 'g', -1,
//! 64)` — the shortest digits that round-trip, in exponent form when the exponent is below
//! -4 or at least 6 — and OpenMetrics's variant that forces a `.0` on integral values. The
//! scraper uses it to normalize `le` and `quantile` label values as Prometheus 3 does.

/// Go's `strconv.FormatFloat(f, 'e', -1, 64)` (or `'E'` when `upper`): the shortest digits
/// that read back as `f`, with a signed exponent of at least two digits (`1e+00`,
/// `-2.5E-07`), and `NaN`, `+Inf`, `-Inf`.
pub fn format_go_float_exp(f: f64, upper: bool) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    // Rust's `{:e}` gives the shortest round-tripping digits: "1.5e1", "-2.5e-7", "0e0".
    let e = format!("{f:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    let mark = if upper { 'E' } else { 'e' };
    format!("{mant}{mark}{sign}{:02}", exp.unsigned_abs())
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
pub fn format_go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-tripping digits: "d.ddde-5" or "de6".
    let e = format!("{:e}", f.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(24);
    if f < 0.0 {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Prometheus's `FormatOpenMetricsFloat`: Go's shortest form, with `.0` appended when the
/// result has neither a `.` nor an `e` ("1" → "1.0", "1e+06" stays).
pub fn format_openmetrics_float(f: f64) -> String {
    let mut s = format_go_float(f);
    if f.is_finite() && !s.contains(['.', 'e']) {
        s.push_str(".0");
    }
    if s == "-0.0" {
        // Go's special case compares f == 0, which is true for -0 as well.
        s = "0.0".into();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g_formatting() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (0.1, "0.1"),
            (0.25, "0.25"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (123456789.0, "1.23456789e+08"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (-2.5, "-2.5"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (0.0, "0"),
        ];
        for (f, want) in cases {
            assert_eq!(format_go_float(*f), *want, "{f}");
        }
    }

    #[test]
    fn openmetrics_forces_a_decimal_point() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-0.0, "0.0"),
            (-1.0, "-1.0"),
            (10.0, "10.0"),
            (0.5, "0.5"),
            (1e6, "1e+06"),
            (f64::INFINITY, "+Inf"),
            (f64::NAN, "NaN"),
        ];
        for (f, want) in cases {
            assert_eq!(format_openmetrics_float(*f), *want, "{f}");
        }
    }
}
