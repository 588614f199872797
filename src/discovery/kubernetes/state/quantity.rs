//! Kubernetes resource quantities ("100m", "1Gi", "129e6") read exactly, with the rounding
//! of Go's `resource.Quantity` (`Value`, `MilliValue`), so the kube state series carry the
//! same numbers kube-state-metrics would. Used by the pod and node generators.

/// A parsed quantity: `mantissa × 10^exp10 × 2^exp2`, with a sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quantity {
    negative: bool,
    mantissa: u128,
    exp10: i32,
    exp2: u32,
}

impl Quantity {
    /// Parses Kubernetes' quantity syntax: a signed decimal number and an optional suffix
    /// (binary `Ki`..`Ei`, decimal `n u m k M G T P E`, or an exponent `e3`/`E-2`). `None` when
    /// the text is not a quantity.
    pub(crate) fn parse(s: &str) -> Option<Quantity> {
        let b = s.trim().as_bytes();
        let mut i = 0;
        let mut negative = false;
        if let Some(&c) = b.first()
            && (c == b'+' || c == b'-')
        {
            negative = c == b'-';
            i = 1;
        }
        let mut mantissa: u128 = 0;
        let mut exp10: i32 = 0;
        let mut digits = 0;
        let mut seen_point = false;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_digit() {
                digits += 1;
                let d = u128::from(c - b'0');
                match mantissa.checked_mul(10).and_then(|m| m.checked_add(d)) {
                    Some(m) => {
                        mantissa = m;
                        if seen_point {
                            exp10 -= 1;
                        }
                    }
                    // Too many digits to hold: drop the rest, keeping the magnitude.
                    None => {
                        if !seen_point {
                            exp10 += 1;
                        }
                    }
                }
            } else if c == b'.' && !seen_point {
                seen_point = true;
            } else {
                break;
            }
            i += 1;
        }
        if digits == 0 {
            return None;
        }
        let (e10, exp2) = suffix(&b[i..])?;
        Some(Quantity {
            negative,
            mantissa,
            exp10: exp10.checked_add(e10)?,
            exp2,
        })
    }

    /// The value times `10^scale`, rounded away from zero to an integer (Go's
    /// `ScaledValue`); `None` when it does not fit.
    fn scaled(&self, scale: i32) -> Option<i128> {
        let mut num = self.mantissa.checked_mul(1u128.checked_shl(self.exp2)?)?;
        let e = self.exp10.checked_add(scale)?;
        if e >= 0 {
            num = num.checked_mul(10u128.checked_pow(e as u32)?)?;
        } else {
            let div = 10u128.checked_pow(e.unsigned_abs());
            num = match div {
                Some(d) => num.div_ceil(d),
                None => u128::from(num > 0),
            };
        }
        let v = i128::try_from(num).ok()?;
        Some(if self.negative { -v } else { v })
    }

    /// Go's `Quantity.Value()`: the integer value, rounded up.
    pub(crate) fn value(&self) -> f64 {
        match self.scaled(0) {
            Some(v) => v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as f64,
            None => self.approx(),
        }
    }

    /// kube-state-metrics' `convertValueToFloat64`: milli-precision (`MilliValue()/1000`)
    /// unless the value is too large for milli units, then `Value()`.
    pub(crate) fn milli_float(&self) -> f64 {
        const MAX_MILLI: i128 = (i64::MAX / 1000) as i128;
        match self.scaled(0) {
            Some(v) if v > MAX_MILLI => self.value(),
            Some(_) => match self.scaled(3) {
                Some(m) => m as f64 / 1000.0,
                None => self.approx(),
            },
            None => self.approx(),
        }
    }

    fn approx(&self) -> f64 {
        let v = self.mantissa as f64 * 10f64.powi(self.exp10) * 2f64.powi(self.exp2 as i32);
        if self.negative { -v } else { v }
    }
}

/// The decimal and binary exponents of a quantity suffix.
fn suffix(s: &[u8]) -> Option<(i32, u32)> {
    Some(match s {
        b"" => (0, 0),
        b"n" => (-9, 0),
        b"u" => (-6, 0),
        b"m" => (-3, 0),
        b"k" => (3, 0),
        b"M" => (6, 0),
        b"G" => (9, 0),
        b"T" => (12, 0),
        b"P" => (15, 0),
        b"E" => (18, 0),
        b"Ki" => (0, 10),
        b"Mi" => (0, 20),
        b"Gi" => (0, 30),
        b"Ti" => (0, 40),
        b"Pi" => (0, 50),
        b"Ei" => (0, 60),
        [b'e' | b'E', rest @ ..] => {
            let text = std::str::from_utf8(rest).ok()?;
            if text.is_empty() || text.starts_with('+') && text.len() == 1 {
                return None;
            }
            (text.parse::<i32>().ok()?, 0)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::Quantity;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn cpu_quantities_keep_milli_precision() {
        assert_eq!(q("100m").milli_float(), 0.1);
        assert_eq!(q("250m").milli_float(), 0.25);
        assert_eq!(q("2").milli_float(), 2.0);
        assert_eq!(q("1.5").milli_float(), 1.5);
        assert_eq!(q("0.0001").milli_float(), 0.001, "rounded up to a milli");
        assert_eq!(q("100m").value(), 1.0, "Value() rounds up");
    }

    #[test]
    fn memory_quantities_are_exact_bytes() {
        assert_eq!(q("128Mi").value(), 134_217_728.0);
        assert_eq!(q("1Gi").value(), 1_073_741_824.0);
        assert_eq!(q("16323420Ki").value(), 16_715_182_080.0);
        assert_eq!(q("129e6").value(), 129_000_000.0);
        assert_eq!(q("1.5G").value(), 1_500_000_000.0);
        assert_eq!(q("1E3").value(), 1000.0);
        assert_eq!(q("2E").value(), 2e18);
        assert_eq!(q("110").milli_float(), 110.0);
        assert_eq!(q("-1k").value(), -1000.0);
        assert_eq!(q("500n").value(), 1.0);
    }

    #[test]
    fn garbage_is_rejected_not_panicking() {
        for s in [
            "",
            "m",
            "1Xi",
            "1.2.3",
            "--1",
            "1e",
            "1e+",
            "Gi",
            "1e99999999999",
        ] {
            assert_eq!(Quantity::parse(s), None, "{s:?}");
        }
        // Huge but valid: falls back to an approximation instead of overflowing.
        let big = q("99999999999999999999999999999999999999999999Ei");
        assert!(big.value().is_finite());
        assert!(q("1e300").milli_float() > 1e18);
    }
}
