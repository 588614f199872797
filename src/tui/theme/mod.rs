//! Colours for every screen: parses btop's theme file syntax (`theme[key]="#RRGGBB"`) into a
//! typed `Theme`, with 101-step gradients for graphs and meters. Widgets and screens only
//! read a `Theme`'s fields. Keys a file leaves out take the default theme's values, as in
//! btop; unknown keys are skipped and listed in `Theme::ignored_keys`.
//!
//! Inside: `parse` (the file syntax, with kmon's `ansi:N` extension), `catalog` (the themes
//! compiled in, the btop/bpytop/kmon theme directories and which name wins, and the
//! `ThemeSet` the TUI switches between) and `depth` (truecolor, 256 or 16 colours or none,
//! from COLORTERM/TERM/NO_COLOR, and the nearest-colour mapping).

mod catalog;
mod depth;
mod parse;

use std::path::{Path, PathBuf};

use ratatui::style::Color;

pub use catalog::{BUILTIN, Catalog, Source, ThemeDirs, ThemeSet};
pub use depth::{ColorDepth, map_color, monochrome, nearest_16, nearest_256};
use parse::{Entries, Spec, parse_entries};

/// The default theme's text, compiled in so kmon never runs without colours.
pub const DEFAULT_THEME_TEXT: &str = include_str!("../../../themes/default.theme");

/// Why a theme could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("no theme {name}; try: {}", .available.join(", "))]
    NotFound {
        name: String,
        /// The names there are.
        available: Vec<String>,
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

    /// The same gradient with every step passed through `f` (a colour depth's mapping).
    pub fn map(&self, f: impl Fn(Color) -> Color) -> Gradient {
        Gradient {
            steps: self.steps.map(f),
        }
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

impl Theme {
    /// Parses a theme file's text; `file` names it in errors and gives the theme its name
    /// (the file stem). Missing keys take the default theme's values.
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

    /// Loads a theme by path, or by name from the standard theme directories and the
    /// themes compiled in (see `Catalog` for which name wins).
    pub fn load(name_or_path: &str) -> Result<Theme, ThemeError> {
        Catalog::scan(&ThemeDirs::standard()).load(name_or_path)
    }

    /// Like `load`, with `dirs` as the only (user) theme directories.
    pub fn load_from(name_or_path: &str, dirs: &[PathBuf]) -> Result<Theme, ThemeError> {
        let dirs = ThemeDirs {
            user: dirs.to_vec(),
            system: Vec::new(),
        };
        Catalog::scan(&dirs).load(name_or_path)
    }

    /// Every colour of the theme passed through `f`.
    pub fn map_colors(&self, f: impl Fn(Color) -> Color) -> Theme {
        Theme {
            name: self.name.clone(),
            main_bg: f(self.main_bg),
            main_fg: f(self.main_fg),
            title: f(self.title),
            hi_fg: f(self.hi_fg),
            selected_bg: f(self.selected_bg),
            selected_fg: f(self.selected_fg),
            inactive_fg: f(self.inactive_fg),
            graph_text: f(self.graph_text),
            meter_bg: f(self.meter_bg),
            proc_misc: f(self.proc_misc),
            cpu_box: f(self.cpu_box),
            mem_box: f(self.mem_box),
            net_box: f(self.net_box),
            proc_box: f(self.proc_box),
            div_line: f(self.div_line),
            temp: self.temp.map(&f),
            cpu: self.cpu.map(&f),
            free: self.free.map(&f),
            cached: self.cached.map(&f),
            available: self.available.map(&f),
            used: self.used.map(&f),
            download: self.download.map(&f),
            upload: self.upload.map(&f),
            process: self.process.map(&f),
            ignored_keys: self.ignored_keys.clone(),
        }
    }
}

/// Reads and parses one theme file.
pub fn read_file(path: &Path) -> Result<Theme, ThemeError> {
    let text = std::fs::read_to_string(path).map_err(|source| ThemeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Theme::parse(&text, &path.display().to_string())
}

/// The terminal colour of kmon's `ansi:N`: the 16 ANSI colours by name (SGR 30–37 and
/// 90–97, which every terminal maps through its palette), the rest as palette indexes.
pub fn ansi_color(n: u8) -> Color {
    const NAMED: [Color; 16] = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
        Color::DarkGray,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ];
    NAMED
        .get(usize::from(n))
        .copied()
        .unwrap_or(Color::Indexed(n))
}

fn build(name: String, entries: &Entries, defaults: &Entries, ignored: Vec<String>) -> Theme {
    let colour = |spec: Spec| match spec {
        Spec::Rgb(r, g, b) => Some(Color::Rgb(r, g, b)),
        Spec::Ansi(n) => Some(ansi_color(n)),
        Spec::TerminalDefault => Some(Color::Reset),
        Spec::Empty => None,
    };
    let solid = |key: &str| -> Color {
        match entries.get(key).copied().and_then(colour) {
            Some(c) => c,
            // An empty background is the terminal's own; other empty keys keep the default.
            None if key == "main_bg" && entries.contains_key(key) => Color::Reset,
            None => defaults
                .get(key)
                .copied()
                .and_then(colour)
                .unwrap_or(Color::Reset),
        }
    };
    // A gradient's mid and end: "" in the file means "no such stop".
    let optional = |key: &str| {
        let spec = entries.get(key).or_else(|| defaults.get(key)).copied();
        match spec.and_then(colour) {
            Some(Color::Reset) | None => None,
            Some(c) => Some(c),
        }
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

#[cfg(test)]
mod tests;

#[cfg(test)]
mod screen_tests;
