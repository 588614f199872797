//! Byte sizes as Prometheus writes them in `body_size_limit` (`10MB`, `512KiB`, `1.5GB`):
//! base 2, so `KB` and `KiB` both mean 1024. Only the config validator calls this.

/// A size Prometheus would reject, with its wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("units: invalid {0}")]
    Invalid(String),
    #[error("units: unknown unit {unit} in {input}")]
    UnknownUnit { unit: String, input: String },
    #[error("units: overflow parsing unit")]
    Overflow,
}

const KI: f64 = 1024.0;
/// The IEC spellings, tried first.
const IEC_UNITS: [(&str, f64); 7] = [
    ("B", 1.0),
    ("KiB", KI),
    ("MiB", KI * KI),
    ("GiB", KI * KI * KI),
    ("TiB", KI * KI * KI * KI),
    ("PiB", KI * KI * KI * KI * KI),
    ("EiB", KI * KI * KI * KI * KI * KI),
];
/// The traditional spellings with base-2 meaning, tried when the IEC ones fail.
const OLD_UNITS: [(&str, f64); 7] = [
    ("B", 1.0),
    ("KB", KI),
    ("MB", KI * KI),
    ("GB", KI * KI * KI),
    ("TB", KI * KI * KI * KI),
    ("PB", KI * KI * KI * KI * KI),
    ("EB", KI * KI * KI * KI * KI * KI),
];

/// Parses a base-2 byte size such as `10MB` (10 MiB), `1.5GiB` or `1GB512MB`. A bare `0` is
/// zero; any other number needs a unit, as in Prometheus. A negative size is returned as is
/// (Prometheus treats it like 0: no limit).
pub fn parse_base2_bytes(s: &str) -> Result<i64, SizeError> {
    parse_unit(s, &IEC_UNITS).or_else(|_| parse_unit(s, &OLD_UNITS))
}

fn parse_unit(input: &str, units: &[(&str, f64)]) -> Result<i64, SizeError> {
    let invalid = || SizeError::Invalid(input.to_string());
    let (neg, mut s) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    while !s.is_empty() {
        if !s.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
            return Err(invalid());
        }
        let int_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let mut value: f64 = if int_end > 0 {
            s[..int_end].parse::<u64>().map_err(|_| invalid())? as f64
        } else {
            0.0
        };
        let mut rest = &s[int_end..];
        let mut frac_digits = 0;
        if let Some(after_dot) = rest.strip_prefix('.') {
            frac_digits = after_dot
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after_dot.len());
            if frac_digits > 0 {
                let frac: f64 = after_dot[..frac_digits].parse().map_err(|_| invalid())?;
                value += frac / 10f64.powi(i32::try_from(frac_digits).unwrap_or(i32::MAX));
            }
            rest = &after_dot[frac_digits..];
        }
        if int_end == 0 && frac_digits == 0 {
            return Err(invalid());
        }
        let unit_end = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        let Some((_, mult)) = units.iter().find(|(u, _)| *u == unit) else {
            return Err(SizeError::UnknownUnit {
                unit: unit.to_string(),
                input: input.to_string(),
            });
        };
        total += value * mult;
        s = &rest[unit_end..];
    }
    if neg {
        total = -total;
    }
    // 2^63: the bounds of Go's int64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&total) {
        return Err(SizeError::Overflow);
    }
    // Truncation toward zero, as Go's int64 conversion does.
    Ok(total as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_sizes() {
        let mib = 1024 * 1024;
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("100B", 100),
            ("1KB", 1024),
            ("1KiB", 1024),
            ("10MB", 10 * mib),
            ("10MiB", 10 * mib),
            ("1.5MB", mib + mib / 2),
            ("1GB", 1024 * mib),
            ("1GB512MB", 1024 * mib + 512 * mib),
            ("2TiB", 2 * 1024 * 1024 * mib),
            ("-1KB", -1024),
            (".5KB", 512),
        ];
        for (input, want) in cases {
            assert_eq!(parse_base2_bytes(input), Ok(*want), "{input}");
        }
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        for input in [
            "",
            "1024",
            "10kB",
            "10 MB",
            "MB",
            "1.KBx",
            "10XB",
            "1GiB512MB",
            "9EB",
        ] {
            assert!(parse_base2_bytes(input).is_err(), "{input} should fail");
        }
        assert_eq!(
            parse_base2_bytes("1024").unwrap_err().to_string(),
            "units: unknown unit  in 1024"
        );
    }
}
