//! The theme file reader: btop's line syntax (`theme[key]="value"`, `#` comments) into a
//! map of key to colour spec, with errors that name file, line and column. `Theme::parse`
//! (in `theme/mod.rs`) is its one user; it turns the specs into colours.
//!
//! Values are btop's colour forms — `"#RRGGBB"`, `"#RGB"`, a grey level `"#BW"`, decimal
//! `"R G B"`, a bare `RRGGBB`, and `""` (for `main_bg` the terminal's own background; for a
//! gradient's `_mid`/`_end` "no such stop"; elsewhere "keep the default") — plus one kmon
//! extension that no btop file uses, because btop's syntax cannot say it:
//!
//! - `"ansi:N"` (N = 0–255): the terminal's palette entry N. 0–7 are the ANSI colours,
//!   8–15 their bright variants, so a theme drawn in these follows the user's palette;
//! - `"ansi:default"`: the terminal's own default colour (foreground or background).

use std::collections::HashMap;

use super::ThemeError;

/// Plain colour keys, btop's names.
pub(super) const COLOR_KEYS: [&str; 15] = [
    "main_bg",
    "main_fg",
    "title",
    "hi_fg",
    "selected_bg",
    "selected_fg",
    "inactive_fg",
    "graph_text",
    "meter_bg",
    "proc_misc",
    "cpu_box",
    "mem_box",
    "net_box",
    "proc_box",
    "div_line",
];

/// Gradient prefixes; each has `_start`, `_mid` and `_end` keys.
pub(super) const GRADIENT_PREFIXES: [&str; 9] = [
    "temp",
    "cpu",
    "free",
    "cached",
    "available",
    "used",
    "download",
    "upload",
    "process",
];

/// One value from a theme file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spec {
    /// `""`.
    Empty,
    Rgb(u8, u8, u8),
    /// kmon's `"ansi:N"`: a palette index of the terminal.
    Ansi(u8),
    /// kmon's `"ansi:default"`: the terminal's default colour.
    TerminalDefault,
}

pub(super) type Entries = HashMap<String, Spec>;

pub(super) fn is_known_key(key: &str) -> bool {
    COLOR_KEYS.contains(&key)
        || GRADIENT_PREFIXES.iter().any(|p| {
            key.strip_prefix(p)
                .is_some_and(|rest| matches!(rest, "_start" | "_mid" | "_end"))
        })
}

/// The entries of a theme file; unknown keys are skipped and pushed to `ignored`.
pub(super) fn parse_entries(
    text: &str,
    file: &str,
    ignored: &mut Vec<String>,
) -> Result<Entries, ThemeError> {
    let mut entries = Entries::new();
    // Editors on some systems start files with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (idx, raw) in text.lines().enumerate() {
        let err = |column: usize, message: String| ThemeError::Parse {
            file: file.to_string(),
            line: idx + 1,
            column,
            message,
        };
        let indent = raw.len() - raw.trim_start().len();
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix("theme[") else {
            return Err(err(
                indent + 1,
                format!("expected `theme[key]=\"value\"`, found {line:?}"),
            ));
        };
        let Some(close) = rest.find(']') else {
            return Err(err(indent + 1, "missing `]` after the key".to_string()));
        };
        let key = rest[..close].trim();
        let after_key = &rest[close + 1..];
        let value_col = |s: &str| indent + line.len() - s.len() + 1;
        let Some(value_part) = after_key.trim_start().strip_prefix('=') else {
            return Err(err(
                value_col(after_key),
                format!("expected `=` after `theme[{key}]`"),
            ));
        };
        let value_part = value_part.trim_start();
        let (value, tail) = if let Some(quoted) = value_part.strip_prefix('"') {
            let Some(end) = quoted.find('"') else {
                return Err(err(
                    value_col(value_part),
                    format!("unterminated quote in the value of {key}"),
                ));
            };
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = value_part
                .find(char::is_whitespace)
                .unwrap_or(value_part.len());
            (&value_part[..end], &value_part[end..])
        };
        let tail = tail.trim_start();
        if !tail.is_empty() && !tail.starts_with('#') {
            return Err(err(
                value_col(tail),
                format!("unexpected text after the value of {key}: {tail:?}"),
            ));
        }
        if !is_known_key(key) {
            ignored.push(key.to_string());
            continue;
        }
        let spec = parse_color(value).ok_or_else(|| {
            err(
                value_col(value_part),
                format!(
                    "invalid colour {value:?} for {key} (expected \"#RRGGBB\", \"#BW\" grey, \
                     \"R G B\", \"ansi:0\"..\"ansi:255\" or \"ansi:default\")"
                ),
            )
        })?;
        entries.insert(key.to_string(), spec);
    }
    Ok(entries)
}

/// `""`, `#RRGGBB`, `#RGB`, `#BW` (grey), `R G B` (decimal), a bare `RRGGBB` (a slip
/// common in published btop themes), and kmon's `ansi:N` / `ansi:default`.
pub(super) fn parse_color(value: &str) -> Option<Spec> {
    let value = value.trim();
    if value.is_empty() {
        return Some(Spec::Empty);
    }
    if let Some(ansi) = value.strip_prefix("ansi:") {
        let ansi = ansi.trim();
        if ansi == "default" {
            return Some(Spec::TerminalDefault);
        }
        if ansi.is_empty() || !ansi.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return ansi.parse::<u8>().ok().map(Spec::Ansi);
    }
    let hex = |s: &str| u8::from_str_radix(s, 16).ok();
    let all_hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    let digits = value.strip_prefix('#');
    match digits {
        Some(d) if all_hex(d) => match d.len() {
            6 => Some(Spec::Rgb(hex(&d[0..2])?, hex(&d[2..4])?, hex(&d[4..6])?)),
            3 => {
                let one = |i: usize| hex(&d[i..i + 1]).map(|v| v * 17);
                Some(Spec::Rgb(one(0)?, one(1)?, one(2)?))
            }
            2 => {
                let grey = hex(d)?;
                Some(Spec::Rgb(grey, grey, grey))
            }
            _ => None,
        },
        Some(_) => None,
        None if value.len() == 6 && all_hex(value) => Some(Spec::Rgb(
            hex(&value[0..2])?,
            hex(&value[2..4])?,
            hex(&value[4..6])?,
        )),
        None => {
            let parts: Vec<&str> = value.split_whitespace().collect();
            match parts.as_slice() {
                [r, g, b] => Some(Spec::Rgb(r.parse().ok()?, g.parse().ok()?, b.parse().ok()?)),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_forms() {
        assert_eq!(parse_color("#1e1e2e"), Some(Spec::Rgb(0x1e, 0x1e, 0x2e)));
        assert_eq!(parse_color("#FFFFFF"), Some(Spec::Rgb(255, 255, 255)));
        assert_eq!(parse_color("#ff"), Some(Spec::Rgb(255, 255, 255)));
        assert_eq!(parse_color("#50"), Some(Spec::Rgb(0x50, 0x50, 0x50)));
        assert_eq!(parse_color("#f80"), Some(Spec::Rgb(0xff, 0x88, 0x00)));
        assert_eq!(parse_color("255 128 0"), Some(Spec::Rgb(255, 128, 0)));
        assert_eq!(parse_color("5ffdff"), Some(Spec::Rgb(0x5f, 0xfd, 0xff)));
        assert_eq!(parse_color(""), Some(Spec::Empty));
        assert_eq!(parse_color("#12345"), None);
        assert_eq!(parse_color("#gggggg"), None);
        assert_eq!(parse_color("256 0 0"), None);
        assert_eq!(parse_color("30"), None);
        assert_eq!(parse_color("red"), None);
    }

    #[test]
    fn kmon_ansi_extension() {
        assert_eq!(parse_color("ansi:0"), Some(Spec::Ansi(0)));
        assert_eq!(parse_color("ansi:15"), Some(Spec::Ansi(15)));
        assert_eq!(parse_color("ansi:255"), Some(Spec::Ansi(255)));
        assert_eq!(parse_color("ansi:default"), Some(Spec::TerminalDefault));
        for bad in [
            "ansi:256", "ansi:", "ansi:-1", "ansi:+3", "ansi:red", "ansi:1.5",
        ] {
            assert_eq!(parse_color(bad), None, "{bad}");
        }
    }
}
