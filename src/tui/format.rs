//! Human-readable numbers for the screens: IEC byte sizes (KiB, MiB, GiB), rates, percents,
//! load averages and uptimes, plus width-aware truncation. Screens call these; nothing here
//! knows about layout or colour.

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
}
