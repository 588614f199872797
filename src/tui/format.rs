//! Human-readable numbers for the screens: IEC byte sizes (KiB, MiB, GiB), rates, percents,
//! load averages and uptimes, values and axis ticks in a panel's `Unit`, plus width-aware
//! truncation. Screens and the graph/legend widgets call these; nothing here knows about
//! layout or colour.

use crate::app::Unit;

const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/// What a number shows as when it is missing or not finite.
pub const MISSING: &str = "-";

/// Bytes in IEC units, at most three significant digits: `512 B`, `1.5 KiB`, `12.3 MiB`,
/// `476 GiB`. Values are moved to the next unit from 1000 up so they stay short.
pub fn bytes(value: f64) -> String {
    if !value.is_finite() {
        return MISSING.to_string();
    }
    let sign = if value < 0.0 { "-" } else { "" };
    let mut scaled = value.abs();
    let mut unit = 0;
    while scaled >= 999.5 && unit + 1 < UNITS.len() {
        scaled /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{sign}{scaled:.0} B")
    } else if scaled >= 99.95 {
        format!("{sign}{scaled:.0} {}", UNITS[unit])
    } else {
        format!("{sign}{scaled:.1} {}", UNITS[unit])
    }
}

/// `bytes` of an optional value.
pub fn opt_bytes(value: Option<f64>) -> String {
    value.map_or_else(|| MISSING.to_string(), bytes)
}

/// Bytes per second: `bytes` + `/s`.
pub fn rate(value: f64) -> String {
    if !value.is_finite() {
        return MISSING.to_string();
    }
    format!("{}/s", bytes(value))
}

/// `rate` of an optional value.
pub fn opt_rate(value: Option<f64>) -> String {
    value.map_or_else(|| MISSING.to_string(), rate)
}

/// A percent with one decimal: `42.1%`.
pub fn percent(value: f64) -> String {
    if !value.is_finite() {
        return MISSING.to_string();
    }
    format!("{value:.1}%")
}

/// A percent without decimals, for tight spaces: `42%`.
pub fn percent_short(value: f64) -> String {
    if !value.is_finite() {
        return MISSING.to_string();
    }
    format!("{value:.0}%")
}

/// Time since boot: `3d 4h 12m`, `4h 12m`, `12m 5s`, `5s`.
pub fn uptime(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return MISSING.to_string();
    }
    let total = secs as u64;
    let (days, hours) = (total / 86_400, total / 3_600 % 24);
    let (minutes, seconds) = (total / 60 % 60, total % 60);
    if days > 0 {
        format!("{days}d {hours}h {minutes}m")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// The three load averages with two decimals: `0.52 0.48 0.40`.
pub fn load(values: [f64; 3]) -> String {
    let one = |v: f64| {
        if v.is_finite() {
            format!("{v:.2}")
        } else {
            MISSING.to_string()
        }
    };
    format!("{} {} {}", one(values[0]), one(values[1]), one(values[2]))
}

/// The newest non-gap point of a history.
pub fn latest(history: &[Option<f64>]) -> Option<f64> {
    history
        .iter()
        .rev()
        .find_map(|v| v.filter(|v| v.is_finite()))
}

/// SI prefixes above one, for `Unit::None` and `Unit::OpsPerSec`.
const SI_UP: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];
/// SI prefixes below one (milli, micro, nano).
const SI_DOWN: [&str; 3] = ["m", "µ", "n"];

/// How a number of `unit` is scaled for display: divide by `.0`, then write `.1` after it.
/// The prefix is chosen from the magnitude `|v|` so that the scaled number is below 1000
/// (999.5 for bytes, so `1023 KiB` shows as `1.0 MiB`). Tiny and huge magnitudes beyond
/// the prefixes keep the last prefix (and `value` switches to exponent notation).
pub fn scale(magnitude: f64, unit: Unit) -> (f64, &'static str) {
    let m = if magnitude.is_finite() {
        magnitude.abs()
    } else {
        0.0
    };
    match unit {
        Unit::Bytes | Unit::BytesPerSec => {
            const IEC: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
            const IEC_RATE: [&str; 7] =
                ["B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s", "PiB/s", "EiB/s"];
            let names = if unit == Unit::Bytes { &IEC } else { &IEC_RATE };
            let mut div = 1.0;
            let mut i = 0;
            while m / div >= 999.5 && i + 1 < names.len() {
                div *= 1024.0;
                i += 1;
            }
            (div, names[i])
        }
        Unit::Seconds => {
            const STEPS: [(f64, &str); 7] = [
                (86_400.0, "d"),
                (3_600.0, "h"),
                (60.0, "m"),
                (1.0, "s"),
                (1e-3, "ms"),
                (1e-6, "µs"),
                (1e-9, "ns"),
            ];
            if m == 0.0 {
                return (1.0, "s");
            }
            // Days only from two days up, hours from two hours up: "90m" reads better than
            // "1.5h", "36h" better than "1.5d".
            for (i, (div, name)) in STEPS.iter().enumerate() {
                let from = if i < 3 { div * 2.0 } else { *div };
                if m >= from * 0.9995 {
                    return (*div, name);
                }
            }
            (1e-9, "ns")
        }
        Unit::Percent => (1.0, "%"),
        Unit::None | Unit::OpsPerSec => {
            let rate = unit == Unit::OpsPerSec;
            let (div, prefix) = si_prefix(m, !rate);
            (div, if rate { si_rate(prefix) } else { prefix })
        }
    }
}

/// The SI divisor and prefix for a magnitude; `small` allows m/µ/n below 0.01.
fn si_prefix(m: f64, small: bool) -> (f64, &'static str) {
    if m >= 999.5 {
        let mut div = 1.0;
        let mut i = 0;
        while m / div >= 999.5 && i + 1 < SI_UP.len() {
            div *= 1000.0;
            i += 1;
        }
        return (div, SI_UP[i]);
    }
    if small && m > 0.0 && m < 0.01 {
        let mut div = 1e-3;
        for (i, prefix) in SI_DOWN.iter().enumerate() {
            if m >= div * 0.9995 || i + 1 == SI_DOWN.len() {
                return (div, prefix);
            }
            div *= 1e-3;
        }
    }
    (1.0, "")
}

/// `/s` after an SI prefix, as a static string.
fn si_rate(prefix: &str) -> &'static str {
    match prefix {
        "k" => "k/s",
        "M" => "M/s",
        "G" => "G/s",
        "T" => "T/s",
        "P" => "P/s",
        "E" => "E/s",
        _ => "/s",
    }
}

/// Whether a unit suffix is written after a space in `value` (`1.5 KiB`, `42%`, `1.2k`).
fn spaced(unit: Unit) -> bool {
    matches!(unit, Unit::Bytes | Unit::BytesPerSec)
}

/// A number with at most three significant digits and no trailing zeros after the point.
fn sig3(x: f64) -> String {
    let a = x.abs();
    let decimals = if a >= 99.95 {
        0
    } else if a >= 9.995 {
        1
    } else {
        2
    };
    trim_zeros(format!("{x:.decimals$}"))
}

fn trim_zeros(s: String) -> String {
    if !s.contains('.') {
        return s;
    }
    let t = s.trim_end_matches('0').trim_end_matches('.');
    if t == "-0" {
        "0".to_string()
    } else {
        t.to_string()
    }
}

/// A value in a panel's unit, for legends and readouts: three significant digits and the
/// unit: `1.5 MiB/s`, `512 B`, `250ms`, `42.1%`, `1.23k/s`, `0.5`, `3.2M`. Values beyond
/// the prefixes use exponent notation (`1.2e+21`); NaN and ±Inf show as `NaN`, `+Inf` and
/// `-Inf`, as Prometheus writes them.
pub fn value(v: f64, unit: Unit) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return with_suffix("0", unit, scale(0.0, unit).1);
    }
    let (div, suffix) = scale(v, unit);
    let scaled = v / div;
    if scaled.abs() >= 999.5 || scaled.abs() < 0.001 {
        return with_suffix(&format!("{v:.2e}"), unit, scale(1.0, unit).1);
    }
    with_suffix(&sig3(scaled), unit, suffix)
}

fn with_suffix(num: &str, unit: Unit, suffix: &str) -> String {
    if spaced(unit) {
        format!("{num} {suffix}")
    } else {
        format!("{num}{suffix}")
    }
}

/// A y-axis tick label: like `value`, but without spaces and with as many decimals as the
/// tick `step` needs to tell neighbouring ticks apart (`0B`, `512KiB`, `1.5MiB`, `2.0MiB`).
pub fn axis(v: f64, unit: Unit, step: f64) -> String {
    if !v.is_finite() {
        return value(v, unit);
    }
    let (div, suffix) = scale(v, unit);
    let scaled = v / div;
    if v == 0.0 {
        return format!("0{}", scale(0.0, unit).1);
    }
    if scaled.abs() >= 999.5 || scaled.abs() < 0.001 {
        return format!("{v:.1e}{}", scale(1.0, unit).1);
    }
    let rel = if step.is_finite() && step > 0.0 {
        step / div
    } else {
        1.0
    };
    // The fewest decimals (up to 3) that write the step exactly: 2.5 → 1, 0.5 → 1, 20 → 0.
    let decimals = (0..=3)
        .find(|d| {
            let x = rel * 10f64.powi(*d);
            (x - x.round()).abs() < 1e-6 * x.abs().max(1.0)
        })
        .unwrap_or(3) as usize;
    let num = format!("{scaled:.decimals$}");
    let num = if num == "-0" { "0".to_string() } else { num };
    format!("{num}{suffix}")
}

/// The base a unit's ticks step in: ticks are 1-2-5 multiples of a power of ten times this
/// base, so byte axes step in KiB/MiB (`512KiB, 1.0MiB`) and long time axes in minutes or
/// hours rather than in 1000 s.
pub fn tick_base(magnitude: f64, unit: Unit) -> f64 {
    match unit {
        Unit::Bytes | Unit::BytesPerSec => scale(magnitude, unit).0,
        Unit::Seconds => {
            let (div, _) = scale(magnitude, unit);
            if div >= 60.0 { div } else { 1.0 }
        }
        _ => 1.0,
    }
}

/// Cuts `text` to at most `width` characters, ending in `…` when something was cut.
pub fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(999.0), "999 B");
        assert_eq!(bytes(1000.0), "1.0 KiB");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(12.34 * 1024.0 * 1024.0), "12.3 MiB");
        assert_eq!(bytes(475.0 * 1024.0 * 1024.0 * 1024.0), "475 GiB");
        assert_eq!(bytes(16.0 * 1024.0 * 1024.0 * 1024.0), "16.0 GiB");
        assert_eq!(bytes(1023.0 * 1024.0), "1.0 MiB");
        assert_eq!(bytes(2.0 * 1024f64.powi(4)), "2.0 TiB");
        assert_eq!(bytes(-2048.0), "-2.0 KiB");
        assert_eq!(bytes(f64::NAN), "-");
        assert_eq!(opt_bytes(None), "-");
    }

    #[test]
    fn rates_and_percents() {
        assert_eq!(rate(300.0), "300 B/s");
        assert_eq!(rate(3.5 * 1024.0 * 1024.0), "3.5 MiB/s");
        assert_eq!(opt_rate(None), "-");
        assert_eq!(percent(42.06), "42.1%");
        assert_eq!(percent(100.0), "100.0%");
        assert_eq!(percent(f64::INFINITY), "-");
        assert_eq!(percent_short(42.6), "43%");
    }

    #[test]
    fn uptimes_and_loads() {
        assert_eq!(uptime(274_325.0), "3d 4h 12m");
        assert_eq!(uptime(3_600.0 * 5.0 + 60.0), "5h 1m");
        assert_eq!(uptime(725.0), "12m 5s");
        assert_eq!(uptime(9.9), "9s");
        assert_eq!(uptime(-1.0), "-");
        assert_eq!(load([0.52, 0.476, 12.0]), "0.52 0.48 12.00");
    }

    #[test]
    fn latest_skips_gaps() {
        assert_eq!(latest(&[Some(1.0), Some(2.0), None]), Some(2.0));
        assert_eq!(latest(&[Some(1.0), Some(f64::NAN)]), Some(1.0));
        assert_eq!(latest(&[None, None]), None);
    }

    #[test]
    fn fitting() {
        assert_eq!(fit("eth0", 10), "eth0");
        assert_eq!(fit("enp0s31f6", 5), "enp0…");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("abc", 1), "…");
    }

    #[test]
    fn values_in_units() {
        let k = 1024.0;
        let cases: &[(f64, Unit, &str)] = &[
            (0.0, Unit::None, "0"),
            (0.5, Unit::None, "0.5"),
            (12.345, Unit::None, "12.3"),
            (999.0, Unit::None, "999"),
            (1234.0, Unit::None, "1.23k"),
            (3.2e6, Unit::None, "3.2M"),
            (-4.5e9, Unit::None, "-4.5G"),
            (0.0042, Unit::None, "4.2m"),
            (2.5e-7, Unit::None, "250n"),
            (1e-300, Unit::None, "1.00e-300"),
            (1e300, Unit::None, "1.00e300"),
            (1e300, Unit::Bytes, "1.00e300 B"),
            (512.0, Unit::Bytes, "512 B"),
            (1536.0, Unit::Bytes, "1.5 KiB"),
            (1023.0 * k, Unit::Bytes, "1 MiB"),
            (16.0 * k * k * k, Unit::Bytes, "16 GiB"),
            (3.5 * k * k, Unit::BytesPerSec, "3.5 MiB/s"),
            (0.25, Unit::Seconds, "250ms"),
            (1.5, Unit::Seconds, "1.5s"),
            (90.0, Unit::Seconds, "90s"),
            (5400.0, Unit::Seconds, "90m"),
            (3.0 * 3600.0, Unit::Seconds, "3h"),
            (3.0 * 86400.0, Unit::Seconds, "3d"),
            (4.2e-6, Unit::Seconds, "4.2µs"),
            (7e-9, Unit::Seconds, "7ns"),
            (42.06, Unit::Percent, "42.1%"),
            (100.0, Unit::Percent, "100%"),
            (0.5, Unit::OpsPerSec, "0.5/s"),
            (1234.0, Unit::OpsPerSec, "1.23k/s"),
            (350.0, Unit::OpsPerSec, "350/s"),
            (f64::NAN, Unit::Bytes, "NaN"),
            (f64::INFINITY, Unit::None, "+Inf"),
            (f64::NEG_INFINITY, Unit::Percent, "-Inf"),
        ];
        for (v, unit, want) in cases {
            assert_eq!(value(*v, *unit), *want, "value({v}, {unit:?})");
        }
    }

    #[test]
    fn axis_ticks_in_units() {
        let k = 1024.0;
        let cases: &[(f64, Unit, f64, &str)] = &[
            (0.0, Unit::Bytes, 512.0 * k, "0B"),
            (512.0 * k, Unit::Bytes, 512.0 * k, "512KiB"),
            (k * k, Unit::Bytes, 512.0 * k, "1.0MiB"),
            (1.5 * k * k, Unit::BytesPerSec, 512.0 * k, "1.5MiB/s"),
            (2.0 * k * k, Unit::BytesPerSec, k * k, "2MiB/s"),
            (0.0, Unit::None, 0.5, "0"),
            (0.5, Unit::None, 0.5, "0.5"),
            (1.0, Unit::None, 0.5, "1.0"),
            (0.02, Unit::None, 0.01, "0.02"),
            (500_000.0, Unit::None, 500_000.0, "500k"),
            (1_500_000.0, Unit::None, 500_000.0, "1.5M"),
            (25.0, Unit::Percent, 25.0, "25%"),
            (12.5, Unit::Percent, 2.5, "12.5%"),
            (0.0, Unit::Seconds, 0.1, "0s"),
            (0.2, Unit::Seconds, 0.1, "200ms"),
            (1200.0, Unit::Seconds, 600.0, "20m"),
            (2000.0, Unit::OpsPerSec, 1000.0, "2k/s"),
            (-1.0, Unit::None, 0.5, "-1.0"),
        ];
        for (v, unit, step, want) in cases {
            assert_eq!(axis(*v, *unit, *step), *want, "axis({v}, {unit:?}, {step})");
        }
    }

    #[test]
    fn tick_bases() {
        assert_eq!(
            tick_base(3.0 * 1024.0 * 1024.0, Unit::Bytes),
            1024.0 * 1024.0
        );
        assert_eq!(tick_base(3e6, Unit::None), 1.0);
        assert_eq!(tick_base(7200.0, Unit::Seconds), 3600.0);
        assert_eq!(tick_base(0.5, Unit::Seconds), 1.0);
    }
}
