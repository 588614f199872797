//! Colours for every screen: parses btop's theme file syntax (`theme[key]="#RRGGBB"`) into a
//! typed `Theme`, with 101-step gradients for graphs and meters. The app loads one with
//! `Theme::load` (by path, or by name from the user's config dir, btop's theme dir or
//! `./themes`) and hands it to `tui::run`; widgets and screens only read its fields.
//! Keys a file leaves out fall back to the compiled-in default theme; unknown keys are
//! skipped and listed in `Theme::ignored_keys`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ratatui::style::Color;

/// The default theme's text, compiled in so kmon never runs without colours.
pub const DEFAULT_THEME_TEXT: &str = include_str!("../../themes/default.theme");

/// Plain colour keys, btop's names.
const COLOR_KEYS: [&str; 15] = [
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
const GRADIENT_PREFIXES: [&str; 9] = [
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

/// Why a theme could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("theme {name:?} not found (looked for {})", list_paths(.searched))]
    NotFound {
        name: String,
        searched: Vec<PathBuf>,
    },
    #[error("cannot read theme file {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
}

fn list_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "no search directories".to_string();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// 101 colours, one per whole percent from 0 to 100.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gradient {
    steps: [Color; 101],
}

impl Gradient {
    /// A gradient from `start` through optional `mid` to optional `end`. Without `end` the
    /// gradient is two-coloured (start → mid) or, without both, a single colour.
    pub fn new(start: Color, mid: Option<Color>, end: Option<Color>) -> Self {
        let mut steps = [start; 101];
        match (mid, end) {
            (Some(mid), Some(end)) => {
                for (i, step) in steps.iter_mut().enumerate() {
                    *step = if i <= 50 {
                        mix(start, mid, i as f64 / 50.0)
                    } else {
                        mix(mid, end, (i - 50) as f64 / 50.0)
                    };
                }
            }
            (None, Some(to)) | (Some(to), None) => {
                for (i, step) in steps.iter_mut().enumerate() {
                    *step = mix(start, to, i as f64 / 100.0);
                }
            }
            (None, None) => {}
        }
        Gradient { steps }
    }

    /// The colour at `pct` percent (clamped to 0..=100, rounded to a whole percent).
    pub fn at(&self, pct: f64) -> Color {
        let idx = if pct.is_nan() {
            0
        } else {
            pct.clamp(0.0, 100.0).round() as usize
        };
        self.steps[idx]
    }

    /// The colour at 0 %.
    pub fn start(&self) -> Color {
        self.steps[0]
    }

    /// The colour at 100 %.
    pub fn end(&self) -> Color {
        self.steps[100]
    }
}

/// Linear mix of two RGB colours; anything that is not RGB keeps `a` until the halfway
/// point and `b` after it.
fn mix(a: Color, b: Color, t: f64) -> Color {
    match (a, b) {
        (Color::Rgb(r1, g1, b1), Color::Rgb(r2, g2, b2)) => {
            let ch = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * t).round() as u8;
            Color::Rgb(ch(r1, r2), ch(g1, g2), ch(b1, b2))
        }
        _ if t < 0.5 => a,
        _ => b,
    }
}

/// Every colour the screens use, named as in btop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// The theme's name (file stem, or "default").
    pub name: String,
    /// `Color::Reset` when the file leaves it empty (the terminal's own background).
    pub main_bg: Color,
    pub main_fg: Color,
    pub title: Color,
    pub hi_fg: Color,
    pub selected_bg: Color,
    pub selected_fg: Color,
    pub inactive_fg: Color,
    pub graph_text: Color,
    pub meter_bg: Color,
    pub proc_misc: Color,
    pub cpu_box: Color,
    pub mem_box: Color,
    pub net_box: Color,
    pub proc_box: Color,
    pub div_line: Color,
    pub temp: Gradient,
    pub cpu: Gradient,
    pub free: Gradient,
    pub cached: Gradient,
    pub available: Gradient,
    pub used: Gradient,
    pub download: Gradient,
    pub upload: Gradient,
    pub process: Gradient,
    /// Keys the file set that kmon does not know (newer btop keys, typos), in file order.
    pub ignored_keys: Vec<String>,
}

impl Default for Theme {
    fn default() -> Self {
        // The built-in text is a constant checked by a unit test, not user input.
        Theme::parse(DEFAULT_THEME_TEXT, "default").expect("built-in default theme parses")
    }
}

/// One value from a theme file: a colour, or empty (`""`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    Empty,
    Rgb(u8, u8, u8),
}

type Entries = HashMap<String, Spec>;

impl Theme {
    /// Parses a theme file's text; `file` names it in errors. Missing keys take the
    /// default theme's values.
    pub fn parse(text: &str, file: &str) -> Result<Theme, ThemeError> {
        let mut ignored = Vec::new();
        let entries = parse_entries(text, file, &mut ignored)?;
        let defaults = if file == "default" && text == DEFAULT_THEME_TEXT {
            entries.clone()
        } else {
            parse_entries(DEFAULT_THEME_TEXT, "default", &mut Vec::new())?
        };
        let name = Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(file)
            .to_string();
        Ok(build(name, &entries, &defaults, ignored))
    }

    /// Loads a theme by path, or by name from the standard search directories
    /// (see `search_dirs`). "default" without a file of that name is the built-in theme.
    pub fn load(name_or_path: &str) -> Result<Theme, ThemeError> {
        Theme::load_from(name_or_path, &search_dirs())
    }

    /// Like `load`, searching only `dirs` for names.
    pub fn load_from(name_or_path: &str, dirs: &[PathBuf]) -> Result<Theme, ThemeError> {
        let as_path = Path::new(name_or_path);
        let looks_like_path = name_or_path.contains(['/', '\\']) || as_path.extension().is_some();
        let mut searched = Vec::new();
        if looks_like_path {
            if as_path.is_file() {
                return read_file(as_path);
            }
            searched.push(as_path.to_path_buf());
        }
        if !name_or_path.contains(['/', '\\']) {
            let file_name = if as_path.extension().is_some() {
                name_or_path.to_string()
            } else {
                format!("{name_or_path}.theme")
            };
            for dir in dirs {
                let candidate = dir.join(&file_name);
                if candidate.is_file() {
                    return read_file(&candidate);
                }
                searched.push(candidate);
            }
            if name_or_path == "default" {
                return Ok(Theme::default());
            }
        }
        Err(ThemeError::NotFound {
            name: name_or_path.to_string(),
            searched,
        })
    }
}

/// Where theme names are looked up, in order: kmon's config dir (`…/kmon/themes`), btop's
/// user theme dir (`…/btop/themes`, so installed btop themes load by name), `./themes`.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(project) = directories::ProjectDirs::from("", "", "kmon") {
        dirs.push(project.config_dir().join("themes"));
    }
    if let Some(base) = directories::BaseDirs::new() {
        dirs.push(base.config_dir().join("btop").join("themes"));
    }
    dirs.push(PathBuf::from("themes"));
    dirs
}

fn read_file(path: &Path) -> Result<Theme, ThemeError> {
    let text = std::fs::read_to_string(path).map_err(|source| ThemeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Theme::parse(&text, &path.display().to_string())
}

fn build(name: String, entries: &Entries, defaults: &Entries, ignored: Vec<String>) -> Theme {
    let spec = |key: &str| entries.get(key).or_else(|| defaults.get(key)).copied();
    let solid = |key: &str| -> Color {
        match spec(key) {
            Some(Spec::Rgb(r, g, b)) => Color::Rgb(r, g, b),
            // An empty background is the terminal's own; other empty keys keep the default.
            _ if key == "main_bg" => Color::Reset,
            _ => match defaults.get(key) {
                Some(Spec::Rgb(r, g, b)) => Color::Rgb(*r, *g, *b),
                _ => Color::Reset,
            },
        }
    };
    let optional = |key: &str| match spec(key) {
        Some(Spec::Rgb(r, g, b)) => Some(Color::Rgb(r, g, b)),
        _ => None,
    };
    let gradient = |prefix: &str| {
        Gradient::new(
            solid(&format!("{prefix}_start")),
            optional(&format!("{prefix}_mid")),
            optional(&format!("{prefix}_end")),
        )
    };
    Theme {
        name,
        main_bg: solid("main_bg"),
        main_fg: solid("main_fg"),
        title: solid("title"),
        hi_fg: solid("hi_fg"),
        selected_bg: solid("selected_bg"),
        selected_fg: solid("selected_fg"),
        inactive_fg: solid("inactive_fg"),
        graph_text: solid("graph_text"),
        meter_bg: solid("meter_bg"),
        proc_misc: solid("proc_misc"),
        cpu_box: solid("cpu_box"),
        mem_box: solid("mem_box"),
        net_box: solid("net_box"),
        proc_box: solid("proc_box"),
        div_line: solid("div_line"),
        temp: gradient("temp"),
        cpu: gradient("cpu"),
        free: gradient("free"),
        cached: gradient("cached"),
        available: gradient("available"),
        used: gradient("used"),
        download: gradient("download"),
        upload: gradient("upload"),
        process: gradient("process"),
        ignored_keys: ignored,
    }
}

fn is_known_key(key: &str) -> bool {
    COLOR_KEYS.contains(&key)
        || GRADIENT_PREFIXES.iter().any(|p| {
            key.strip_prefix(p)
                .is_some_and(|rest| matches!(rest, "_start" | "_mid" | "_end"))
        })
}

fn parse_entries(text: &str, file: &str, ignored: &mut Vec<String>) -> Result<Entries, ThemeError> {
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
                    "invalid colour {value:?} for {key} (expected \"#RRGGBB\", \"#BW\" grey or \"R G B\")"
                ),
            )
        })?;
        entries.insert(key.to_string(), spec);
    }
    Ok(entries)
}

/// `""`, `#RRGGBB`, `#RGB`, `#BW` (grey), `R G B` (decimal), or a bare `RRGGBB` (a slip
/// common in published btop themes).
fn parse_color(value: &str) -> Option<Spec> {
    let value = value.trim();
    if value.is_empty() {
        return Some(Spec::Empty);
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
    fn default_theme_sets_every_known_key() {
        let mut ignored = Vec::new();
        let entries = parse_entries(DEFAULT_THEME_TEXT, "default", &mut ignored).unwrap();
        assert!(ignored.is_empty(), "{ignored:?}");
        for key in COLOR_KEYS {
            assert!(entries.contains_key(key), "default theme lacks {key}");
        }
        for prefix in GRADIENT_PREFIXES {
            for part in ["start", "mid", "end"] {
                let key = format!("{prefix}_{part}");
                assert!(entries.contains_key(&key), "default theme lacks {key}");
            }
        }
        let theme = Theme::default();
        assert_eq!(theme.name, "default");
        assert_eq!(theme.cpu_box, Color::Rgb(0x5b, 0x8d, 0xd6));
    }

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
    fn valid_file_overrides_and_missing_keys_fall_back() {
        let text = "# a comment\n\n theme[main_fg]=\"#eeeeee\"\ntheme[cpu_box]=#102030\n\
                    theme[cpu_start]=\"0 0 0\"\ntheme[cpu_mid]=\"\"\ntheme[cpu_end]=\"255 255 255\"\n";
        let theme = Theme::parse(text, "mine.theme").unwrap();
        let default = Theme::default();
        assert_eq!(theme.name, "mine");
        assert_eq!(theme.main_fg, Color::Rgb(0xee, 0xee, 0xee));
        assert_eq!(theme.cpu_box, Color::Rgb(0x10, 0x20, 0x30));
        // Missing keys keep the default.
        assert_eq!(theme.mem_box, default.mem_box);
        assert_eq!(theme.download, default.download);
        // Empty mid: a two-colour gradient.
        assert_eq!(theme.cpu.start(), Color::Rgb(0, 0, 0));
        assert_eq!(theme.cpu.at(50.0), Color::Rgb(128, 128, 128));
        assert_eq!(theme.cpu.end(), Color::Rgb(255, 255, 255));
    }

    #[test]
    fn empty_values() {
        let text = "theme[main_bg]=\"\"\ntheme[title]=\"\"\ntheme[used_start]=\"#ff0000\"\n\
                    theme[used_mid]=\"\"\ntheme[used_end]=\"\"\n";
        let theme = Theme::parse(text, "t").unwrap();
        assert_eq!(theme.main_bg, Color::Reset);
        assert_eq!(theme.title, Theme::default().title);
        assert_eq!(theme.used.start(), Color::Rgb(255, 0, 0));
        assert_eq!(theme.used.end(), Color::Rgb(255, 0, 0));
    }

    #[test]
    fn unknown_keys_are_ignored_and_listed() {
        let text = "theme[gpu_start]=\"#ff0000\"\ntheme[proc_pause_bg]=\"nonsense\"\n";
        let theme = Theme::parse(text, "t").unwrap();
        assert_eq!(theme.ignored_keys, vec!["gpu_start", "proc_pause_bg"]);
    }

    #[test]
    fn malformed_lines_name_file_line_and_column() {
        let cases = [
            (
                "theme[main_fg]=\"#eeeeee\"\nmain_bg = red\n",
                2,
                1,
                "expected `theme[key]",
            ),
            ("theme[main_fg=\"#eeeeee\"\n", 1, 1, "missing `]`"),
            ("\n\ntheme[main_fg] \"#eeeeee\"\n", 3, 15, "expected `=`"),
            ("theme[main_fg]=\"#eeeeee\n", 1, 16, "unterminated quote"),
            (
                "theme[main_fg]=\"#eeeeee\" junk\n",
                1,
                26,
                "unexpected text",
            ),
            (
                "theme[cpu_box]=\"#zzzzzz\"\n",
                1,
                16,
                "invalid colour \"#zzzzzz\" for cpu_box",
            ),
        ];
        for (text, line, column, needle) in cases {
            let err = Theme::parse(text, "bad.theme").unwrap_err();
            match &err {
                ThemeError::Parse {
                    file,
                    line: l,
                    column: c,
                    message,
                } => {
                    assert_eq!(file, "bad.theme");
                    assert_eq!((*l, *c), (line, column), "{text:?}: {err}");
                    assert!(message.contains(needle), "{message}");
                }
                other => panic!("unexpected {other:?}"),
            }
            assert!(
                err.to_string()
                    .starts_with(&format!("bad.theme:{line}:{column}: "))
            );
        }
    }

    #[test]
    fn trailing_comment_after_value_is_fine() {
        let theme = Theme::parse("theme[hi_fg]=\"#010203\"  # orange-ish\n", "t").unwrap();
        assert_eq!(theme.hi_fg, Color::Rgb(1, 2, 3));
    }

    #[test]
    fn crlf_bom_and_unquoted_values() {
        let text = "\u{feff}# saved on Windows\r\ntheme[hi_fg]=#0a0b0c\r\ntheme[main_bg]=\r\n";
        let theme = Theme::parse(text, "t").unwrap();
        assert_eq!(theme.hi_fg, Color::Rgb(10, 11, 12));
        assert_eq!(theme.main_bg, Color::Reset);
    }

    #[test]
    fn gradient_three_colours() {
        let g = Gradient::new(
            Color::Rgb(0, 0, 0),
            Some(Color::Rgb(100, 100, 100)),
            Some(Color::Rgb(200, 0, 0)),
        );
        assert_eq!(g.at(0.0), Color::Rgb(0, 0, 0));
        assert_eq!(g.at(25.0), Color::Rgb(50, 50, 50));
        assert_eq!(g.at(50.0), Color::Rgb(100, 100, 100));
        assert_eq!(g.at(100.0), Color::Rgb(200, 0, 0));
        assert_eq!(g.at(150.0), g.end());
        assert_eq!(g.at(-3.0), g.start());
        assert_eq!(g.at(f64::NAN), g.start());
    }

    #[test]
    fn load_by_name_path_and_builtin() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("night.theme"), "theme[title]=\"#abcdef\"\n").unwrap();
        let dirs = vec![dir.path().to_path_buf()];
        let by_name = Theme::load_from("night", &dirs).unwrap();
        assert_eq!(by_name.title, Color::Rgb(0xab, 0xcd, 0xef));
        assert_eq!(by_name.name, "night");
        let path = dir.path().join("night.theme");
        let by_path = Theme::load_from(path.to_str().unwrap(), &[]).unwrap();
        assert_eq!(by_path, by_name);
        assert_eq!(
            Theme::load_from("default", &dirs).unwrap(),
            Theme::default()
        );

        match Theme::load_from("nope", &dirs).unwrap_err() {
            ThemeError::NotFound { name, searched } => {
                assert_eq!(name, "nope");
                assert_eq!(searched, vec![dir.path().join("nope.theme")]);
            }
            other => panic!("unexpected {other:?}"),
        }
        std::fs::write(
            dir.path().join("broken.theme"),
            "theme[title]=\"#abcdef\"\noops\n",
        )
        .unwrap();
        let err = Theme::load_from("broken", &dirs).unwrap_err().to_string();
        assert!(err.contains("broken.theme:2:1:"), "{err}");
    }

    #[test]
    fn loads_btop_style_fixture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/themes/btop-style.theme"
        );
        let theme = Theme::load_from(path, &[]).unwrap();
        assert_eq!(theme.name, "btop-style");
        assert_eq!(theme.main_bg, Color::Reset);
        assert_eq!(theme.main_fg, Color::Rgb(0xcc, 0xcc, 0xcc));
        assert_eq!(theme.inactive_fg, Color::Rgb(0x40, 0x40, 0x40));
        assert_eq!(theme.cpu_box, Color::Rgb(0x55, 0x66, 0x77));
        assert_eq!(theme.meter_bg, Color::Rgb(60, 60, 60));
        assert_eq!(theme.cpu.start(), Color::Rgb(0x00, 0x80, 0x40));
        assert_eq!(theme.cpu.end(), Color::Rgb(0xff, 0x20, 0x20));
        assert_eq!(theme.temp.start(), theme.temp.end());
        assert_eq!(theme.ignored_keys, vec!["gpu_start", "gpu_mid", "gpu_end"]);
    }
}
