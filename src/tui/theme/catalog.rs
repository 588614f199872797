//! Which themes there are and which one is in use. `BUILTIN` holds the themes in `themes/`,
//! compiled in so kmon works anywhere; `ThemeDirs` lists where theme files are looked for
//! (kmon's, btop's and bpytop's user and system directories); `Catalog` merges the two into
//! one list of names; `ThemeSet` is what the TUI keeps: the catalog, the theme in use at
//! full depth (for exports) and as the terminal shows it (for the screen), and the
//! switching (`cycle`, `select`). The app builds them in `prepare`.
//!
//! When two places have a theme of the same name, the first of these wins:
//! 1. kmon's user directory (`~/.config/kmon/themes`);
//! 2. btop's user directory (`$XDG_CONFIG_HOME/btop/themes`, else `~/.config/btop/themes`);
//! 3. bpytop's user directories (`~/.config/bpytop/themes`, `~/.config/bpytop/user_themes`);
//! 4. the themes compiled into kmon;
//! 5. system directories: `/usr/local/share/btop/themes`, `/usr/share/btop/themes`,
//!    `/usr/local/share/bpytop/themes`, `/usr/share/bpytop/themes`,
//!    `/snap/bpytop/current/usr/share/bpytop/themes`.
//!
//! So a user's own file replaces a built-in theme of that name, and a theme a btop package
//! installed system-wide never does (it is still loadable by path).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::depth::ColorDepth;
use super::{Theme, ThemeError, read_file};

/// The themes compiled into kmon, in the order `T` cycles through them: (name, file text).
pub const BUILTIN: [(&str, &str); 9] = [
    ("default", include_str!("../../../themes/default.theme")),
    ("nord", include_str!("../../../themes/nord.theme")),
    (
        "gruvbox-dark",
        include_str!("../../../themes/gruvbox-dark.theme"),
    ),
    ("dracula", include_str!("../../../themes/dracula.theme")),
    (
        "solarized-dark",
        include_str!("../../../themes/solarized-dark.theme"),
    ),
    (
        "tokyo-night",
        include_str!("../../../themes/tokyo-night.theme"),
    ),
    ("light", include_str!("../../../themes/light.theme")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.theme"),
    ),
    ("terminal", include_str!("../../../themes/terminal.theme")),
];

/// Where theme files are looked for: user directories (they beat the built-in themes) and
/// system directories (the built-in themes beat them), each in order of precedence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThemeDirs {
    pub user: Vec<PathBuf>,
    pub system: Vec<PathBuf>,
}

impl ThemeDirs {
    /// The directories for this user and machine (see the module docs).
    pub fn standard() -> ThemeDirs {
        let kmon =
            directories::ProjectDirs::from("", "", "kmon").map(|p| p.config_dir().join("themes"));
        ThemeDirs::from_env(|k| std::env::var_os(k), kmon)
    }

    /// The directories from environment variables (`var`: HOME, XDG_CONFIG_HOME) and
    /// kmon's own theme directory.
    pub fn from_env(var: impl Fn(&str) -> Option<OsString>, kmon: Option<PathBuf>) -> ThemeDirs {
        let nonempty = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = nonempty("HOME");
        let mut user: Vec<PathBuf> = kmon.into_iter().collect();
        // btop: $XDG_CONFIG_HOME/btop, else $HOME/.config/btop.
        if let Some(config) =
            nonempty("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")))
        {
            user.push(config.join("btop").join("themes"));
        }
        // bpytop always uses ~/.config/bpytop: `themes` (1.0.50+) and `user_themes`.
        if let Some(home) = &home {
            let bpytop = home.join(".config").join("bpytop");
            user.push(bpytop.join("themes"));
            user.push(bpytop.join("user_themes"));
        }
        user.dedup();
        let system = [
            "/usr/local/share/btop/themes",
            "/usr/share/btop/themes",
            "/usr/local/share/bpytop/themes",
            "/usr/share/bpytop/themes",
            "/snap/bpytop/current/usr/share/bpytop/themes",
        ]
        .into_iter()
        .map(PathBuf::from)
        .collect();
        ThemeDirs { user, system }
    }
}

/// Where a theme of the catalog comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Compiled in: the file text.
    Builtin(&'static str),
    /// A `.theme` file.
    File(PathBuf),
}

/// Every theme name kmon can load, once each: the built-in names first (in `BUILTIN`
/// order, whatever file now serves them), then the others by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    entries: Vec<(String, Source)>,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog::builtin()
    }
}

impl Catalog {
    /// Only the built-in themes.
    pub fn builtin() -> Catalog {
        Catalog::scan(&ThemeDirs::default())
    }

    /// The built-in themes and the `.theme` files in `dirs`, a name served by the place
    /// of highest precedence (see the module docs). Missing or unreadable directories are
    /// skipped.
    pub fn scan(dirs: &ThemeDirs) -> Catalog {
        let mut entries: Vec<(String, Source)> = Vec::new();
        let mut add = |name: String, source: Source| {
            if !entries.iter().any(|(n, _)| *n == name) {
                entries.push((name, source));
            }
        };
        for dir in &dirs.user {
            for (name, path) in theme_files(dir) {
                add(name, Source::File(path));
            }
        }
        for (name, text) in BUILTIN {
            add(name.to_string(), Source::Builtin(text));
        }
        for dir in &dirs.system {
            for (name, path) in theme_files(dir) {
                add(name, Source::File(path));
            }
        }
        let rank = |name: &str| BUILTIN.iter().position(|(n, _)| *n == name);
        entries.sort_by(|(a, _), (b, _)| match (rank(a), rank(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(b),
        });
        Catalog { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The names, in cycling order.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Where the theme `name` comes from.
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.position(name).map(|i| &self.entries[i].1)
    }

    /// The index of `name` (a trailing `.theme` is ignored; an exact match first, then one
    /// ignoring case).
    pub fn position(&self, name: &str) -> Option<usize> {
        let name = name.strip_suffix(".theme").unwrap_or(name);
        self.entries
            .iter()
            .position(|(n, _)| n == name)
            .or_else(|| {
                self.entries
                    .iter()
                    .position(|(n, _)| n.eq_ignore_ascii_case(name))
            })
    }

    /// Loads the theme at `index`.
    pub fn load_at(&self, index: usize) -> Result<Theme, ThemeError> {
        let Some((name, source)) = self.entries.get(index) else {
            return Err(self.not_found(&index.to_string()));
        };
        match source {
            Source::Builtin(text) => Theme::parse(text, name),
            Source::File(path) => read_file(path),
        }
    }

    /// Loads a theme by name, or from a path (anything with a `/` or ending in `.theme`
    /// that is a file).
    pub fn load(&self, name_or_path: &str) -> Result<Theme, ThemeError> {
        let path = Path::new(name_or_path);
        let path_like = name_or_path.contains(['/', '\\']) || name_or_path.ends_with(".theme");
        if path_like && path.is_file() {
            return read_file(path);
        }
        if let Some(i) = self.position(name_or_path) {
            return self.load_at(i);
        }
        if path_like && !name_or_path.ends_with(".theme") {
            return read_file(path);
        }
        Err(self.not_found(name_or_path))
    }

    fn not_found(&self, name: &str) -> ThemeError {
        ThemeError::NotFound {
            name: name.to_string(),
            available: self.names().into_iter().map(String::from).collect(),
        }
    }
}

/// The `.theme` files directly in `dir`, by name (the file stem), sorted.
fn theme_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = read
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "theme") && p.is_file())
        .filter_map(|p| Some((p.file_stem()?.to_str()?.to_string(), p)))
        .collect();
    out.sort();
    out
}

/// The themes the TUI switches between and the one in use, at full depth (what exports
/// write) and as this terminal shows it (what the screen draws).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeSet {
    catalog: Catalog,
    /// The catalog index of the theme in use; `None` for one loaded by path.
    current: Option<usize>,
    full: Theme,
    shown: Theme,
    depth: ColorDepth,
}

impl Default for ThemeSet {
    fn default() -> Self {
        ThemeSet::new(Catalog::builtin(), ColorDepth::TrueColor)
    }
}

impl ThemeSet {
    /// The catalog's default theme in use, shown at `depth`.
    pub fn new(catalog: Catalog, depth: ColorDepth) -> ThemeSet {
        let current = catalog.position("default");
        let full = current
            .and_then(|i| catalog.load_at(i).ok())
            .unwrap_or_default();
        let shown = full.with_depth(depth);
        ThemeSet {
            catalog,
            current,
            full,
            shown,
            depth,
        }
    }

    /// The theme in use, at full depth: exports write these colours.
    pub fn full(&self) -> &Theme {
        &self.full
    }

    /// The theme in use as the terminal shows it: the screen draws in these colours.
    pub fn shown(&self) -> &Theme {
        &self.shown
    }

    pub fn depth(&self) -> ColorDepth {
        self.depth
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The name of the theme in use (the catalog's name; a file's stem when loaded by path).
    pub fn current_name(&self) -> &str {
        match self.current {
            Some(i) => self.catalog.entries[i].0.as_str(),
            None => self.full.name.as_str(),
        }
    }

    /// Picks the theme to start with, by name or path. When it cannot be loaded the
    /// default theme stays in use and the warning (naming the file and line) is returned.
    pub fn start_with(&mut self, name_or_path: &str) -> Option<String> {
        match self.catalog.position(name_or_path) {
            Some(i) => match self.switch_to(i) {
                (_, true) => None,
                (broken, false) => Some(broken),
            },
            None => self
                .select(name_or_path)
                .err()
                .map(|e| format!("{e}; using the default theme")),
        }
    }

    /// Switches to the theme `name_or_path`. `Ok` carries the status-line message (the
    /// new theme's name, or — for a broken file — the error and that the default theme
    /// stands in); `Err` that there is no such theme ("no theme NAME; try: a, b, …") or
    /// that the file given by path is broken: nothing changed.
    pub fn select(&mut self, name_or_path: &str) -> Result<String, String> {
        match self.catalog.position(name_or_path) {
            Some(i) => Ok(self.switch_to(i).0),
            None => match self.catalog.load(name_or_path) {
                Ok(theme) => {
                    self.current = None;
                    self.set(theme);
                    Ok(format!("theme: {}", self.full.name))
                }
                Err(e) => Err(e.to_string()),
            },
        }
    }

    /// The next (or previous) theme of the catalog; returns the status-line message.
    pub fn cycle(&mut self, backwards: bool) -> String {
        let n = self.catalog.len();
        if n == 0 {
            return "no themes".to_string();
        }
        let next = match (self.current, backwards) {
            (Some(i), false) => (i + 1) % n,
            (Some(i), true) => (i + n - 1) % n,
            (None, _) => 0,
        };
        self.switch_to(next).0
    }

    /// Makes `theme` the one in use (the app's or a test's pick), keeping its catalog
    /// place when it has one.
    pub fn adopt(&mut self, theme: &Theme) {
        if *theme == self.full {
            return;
        }
        self.current = self.catalog.position(&theme.name);
        self.set(theme.clone());
    }

    /// Shows themes at another depth.
    pub fn set_depth(&mut self, depth: ColorDepth) {
        self.depth = depth;
        self.shown = self.full.with_depth(depth);
    }

    /// Makes catalog entry `i` current; the status-line message, and whether it loaded
    /// (a broken file puts the default theme in its place).
    fn switch_to(&mut self, i: usize) -> (String, bool) {
        self.current = Some(i);
        match self.catalog.load_at(i) {
            Ok(theme) => {
                self.set(theme);
                let msg = format!(
                    "theme: {} ({}/{})",
                    self.current_name(),
                    i + 1,
                    self.catalog.len()
                );
                (msg, true)
            }
            Err(e) => {
                self.set(Theme::default());
                let msg = format!(
                    "theme {} is broken: {e}; using the default theme",
                    self.current_name()
                );
                (msg, false)
            }
        }
    }

    fn set(&mut self, theme: Theme) {
        self.shown = theme.with_depth(self.depth);
        self.full = theme;
    }
}
