//! kmon's own settings file, `kmon.yaml` in the config dir (`~/.config/kmon/kmon.yaml`):
//! what the options menu saves (refresh interval, theme, graph symbols, shown boxes, the
//! alert bell) and the user's key remapping. `run_tui` reads it at start (command-line flags win over it)
//! and writes it when the options menu closes with changes; the key section is kept as
//! the user wrote it. A broken file never stops kmon: `load` says what is wrong, with
//! file, line and column, and the defaults apply.
//!
//! ```yaml
//! interval: 2s               # 500ms 1s 2s 5s 10s 30s, or any Prometheus duration
//! theme: nord                # a theme name or a path to a btop .theme file
//! graph: braille             # braille | block | tty
//! boxes: [cpu, mem, net, disks, query]
//! bell: false                # ring the terminal bell when an alert starts firing
//! source: thanos             # the remote query source to start on (see source_settings)
//! sources: [...]             # remote query sources: name, url, auth, tls_config
//! keys:                      # intent: key, or a list of keys
//!   quit: [q, Q]             # rebinds quit wherever it is bound
//!   targets.quit: x          # only in the targets pane
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::yaml::{Node, Value};

/// The settings file's name in the config dir.
pub const FILE_NAME: &str = "kmon.yaml";

/// What the file says; `None` where it says nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub interval: Option<Duration>,
    pub theme: Option<String>,
    pub graph: Option<String>,
    /// Box names (`cpu`, `mem`, `net`, `disks`, `query`) to show.
    pub boxes: Option<Vec<String>>,
    /// Ring the terminal bell when an alert starts firing.
    pub bell: Option<bool>,
    /// `(intent or scope.intent, keys)` in file order, for `Keymap::remap`.
    pub keys: Vec<(String, Vec<String>)>,
    /// Remote query sources (`sources:`), in file order.
    pub sources: Vec<super::source_settings::SourceSetting>,
    /// The source the TUI starts on (`source: NAME`); `None` is the embedded engine.
    pub source: Option<String>,
}

/// The settings file's path: `$XDG_CONFIG_HOME/kmon/kmon.yaml` (or the platform's config
/// dir); `None` when there is no home to put it in.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "kmon").map(|p| p.config_dir().join(FILE_NAME))
}

/// The default settings file's settings (errors in it left to the TUI to report) and the
/// name messages give it: its path, or `kmon.yaml` where the platform has no config dir.
/// The one-shot commands that read sources (`kmon query`, `export-screen`) use it.
pub fn load_default() -> (Settings, String) {
    let path = default_path();
    let settings = path.as_deref().map(|p| load(p).0).unwrap_or_default();
    (settings, label(path.as_deref()))
}

/// How messages name the settings file at `path`: its path, or `kmon.yaml` without one.
pub fn label(path: Option<&Path>) -> String {
    path.map_or_else(|| FILE_NAME.to_string(), |p| p.display().to_string())
}

/// Reads `path`. A missing file is empty settings; anything wrong in it is an error that
/// names the file, line and column, and the key. Problems in one key do not hide the
/// others: what could be read comes back with the errors.
pub fn load(path: &Path) -> (Settings, Vec<String>) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Default::default(),
        Err(e) => {
            return (
                Settings::default(),
                vec![format!("{}: {e}", path.display())],
            );
        }
    };
    parse(&text, &path.display().to_string())
}

/// Parses the settings in `text` (`file` names it in errors).
pub fn parse(text: &str, file: &str) -> (Settings, Vec<String>) {
    let mut out = Settings::default();
    let mut errors = Vec::new();
    let tree: Node = match serde_saphyr::from_str::<Option<Node>>(text) {
        Ok(t) => t.unwrap_or_else(Node::null),
        Err(e) => {
            let at = e
                .location()
                .map(|l| format!(":{}:{}", l.line(), l.column()))
                .unwrap_or_default();
            let msg = e.without_snippet().to_string().replace('\n', " ");
            return (out, vec![format!("{file}{at}: {msg}")]);
        }
    };
    let entries = match &tree.value {
        Value::Map(entries) => entries,
        Value::Null => return (out, errors),
        _ => {
            let at = tree.pos;
            errors.push(format!(
                "{file}:{}:{}: expected a mapping of settings",
                at.line, at.column
            ));
            return (out, errors);
        }
    };
    for e in entries {
        let at = |pos: crate::config::yaml::Pos| format!("{file}:{}:{}", pos.line, pos.column);
        let mut bad = |what: &str| errors.push(format!("{}: {}: {what}", at(e.value.pos), e.key));
        match e.key.as_str() {
            "interval" => match scalar(&e.value).map(crate::model::parse_duration) {
                Some(Ok(d)) if d >= Duration::from_millis(100) => out.interval = Some(d),
                Some(Ok(_)) => bad("must be at least 100ms"),
                Some(Err(err)) => bad(&err.to_string()),
                None => bad("expected a duration such as 2s"),
            },
            "theme" => match scalar(&e.value) {
                Some(s) if !s.is_empty() => out.theme = Some(s.to_string()),
                _ => bad("expected a theme name or path"),
            },
            "graph" => match scalar(&e.value) {
                Some(s @ ("braille" | "block" | "tty")) => out.graph = Some(s.to_string()),
                _ => bad("expected braille, block or tty"),
            },
            "boxes" => match list(&e.value) {
                Some(names) => {
                    let unknown: Vec<&String> = names
                        .iter()
                        .filter(|n| !BOX_NAMES.contains(&n.as_str()))
                        .collect();
                    if unknown.is_empty() {
                        out.boxes = Some(names);
                    } else {
                        bad(&format!(
                            "unknown box {:?} (the boxes are {})",
                            unknown[0],
                            BOX_NAMES.join(", ")
                        ));
                    }
                }
                None => bad("expected a list of box names"),
            },
            "bell" => match scalar(&e.value) {
                Some("true" | "yes" | "on") => out.bell = Some(true),
                Some("false" | "no" | "off") => out.bell = Some(false),
                _ => bad("expected true or false"),
            },
            "keys" => match &e.value.value {
                Value::Map(keys) => {
                    for k in keys {
                        match list(&k.value) {
                            Some(v) if !v.is_empty() => out.keys.push((k.key.clone(), v)),
                            _ => errors.push(format!(
                                "{}: keys.{}: expected a key or a list of keys",
                                at(k.value.pos),
                                k.key
                            )),
                        }
                    }
                }
                Value::Null => {}
                _ => bad("expected a mapping from intents to keys"),
            },
            "sources" => {
                out.sources = super::source_settings::parse_sources(&e.value, file, &mut errors);
            }
            "source" => match scalar(&e.value) {
                Some(s) if !s.is_empty() => out.source = Some(s.to_string()),
                _ => bad("expected the name of a source (or embedded)"),
            },
            _ => errors.push(format!(
                "{}: unknown setting {:?} (known: interval, theme, graph, boxes, bell, keys, \
                 sources, source)",
                at(e.key_pos),
                e.key
            )),
        }
    }
    (out, errors)
}

/// The box names the file uses, in hotkey order.
pub const BOX_NAMES: [&str; 5] = ["cpu", "mem", "net", "disks", "query"];

fn scalar(n: &Node) -> Option<&str> {
    match &n.value {
        Value::Scalar(s) => Some(s.as_str()),
        _ => None,
    }
}

/// A list of scalars, or one scalar as a list of one.
fn list(n: &Node) -> Option<Vec<String>> {
    match &n.value {
        Value::Scalar(s) => Some(vec![s.clone()]),
        Value::Seq(items) => items
            .iter()
            .map(|i| scalar(i).map(str::to_string))
            .collect(),
        Value::Null => Some(Vec::new()),
        Value::Map(_) => None,
    }
}

/// The settings as the file holds them, with a header saying who wrote it.
pub fn render(s: &Settings) -> String {
    let mut out = String::from(
        "# kmon settings: written by the options menu (o); edit freely.\n\
         # Keys: intent: key, or a list of keys; scope.intent for one scope (see README).\n",
    );
    let quote = |v: &str| serde_json::to_string(v).unwrap_or_default();
    if let Some(d) = s.interval {
        out.push_str(&format!("interval: {}\n", crate::model::format_duration(d)));
    }
    if let Some(t) = &s.theme {
        out.push_str(&format!("theme: {}\n", quote(t)));
    }
    if let Some(g) = &s.graph {
        out.push_str(&format!("graph: {g}\n"));
    }
    if let Some(b) = &s.boxes {
        out.push_str(&format!("boxes: [{}]\n", b.join(", ")));
    }
    if let Some(b) = s.bell {
        out.push_str(&format!("bell: {b}\n"));
    }
    if let Some(src) = &s.source {
        out.push_str(&format!("source: {}\n", quote(src)));
    }
    if !s.sources.is_empty() {
        out.push_str(&super::source_settings::render_sources(&s.sources));
    }
    if !s.keys.is_empty() {
        out.push_str("keys:\n");
        for (intent, keys) in &s.keys {
            let keys: Vec<String> = keys.iter().map(|k| quote(k)).collect();
            out.push_str(&format!("  {}: [{}]\n", quote(intent), keys.join(", ")));
        }
    }
    out
}

/// Writes `s` to `path` (creating its folder) through a temporary file and a rename, so
/// a crash never leaves half a file. Errors name the path.
pub fn save(path: &Path, s: &Settings) -> std::io::Result<()> {
    let at = |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(at)?;
    }
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, render(s)).map_err(at)?;
    std::fs::rename(&tmp, path).map_err(at)
}

/// The settings file's graph symbols, boxes and keys, applied to the TUI's start
/// (`run_tui` applies the interval and theme itself, where flags win).
pub(super) fn apply_settings(
    settings: &Settings,
    tui: &mut crate::tui::TuiOptions,
    warnings: &mut Vec<String>,
) {
    use crate::tui::view::BoxId;
    if let Some(sym) = settings
        .graph
        .as_deref()
        .and_then(crate::tui::widgets::GraphSymbols::from_name)
    {
        tui.view.symbols = sym;
    }
    if let Some(boxes) = &settings.boxes {
        for b in BoxId::ALL {
            tui.view
                .set_shown(b, boxes.iter().any(|n| n == b.setting_name()));
        }
    }
    if let Some(bell) = settings.bell {
        tui.view.alerts.bell = bell;
    }
    let file = settings_file_label();
    warnings.extend(
        tui.keymap
            .remap(&settings.keys)
            .into_iter()
            .map(|w| format!("{file}: {w}")),
    );
}

/// The settings file's path for messages.
fn settings_file_label() -> String {
    default_path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| FILE_NAME.to_string())
}

/// The options menu's choices merged into the settings file (its keys kept).
pub(super) fn save_options(
    path: &Path,
    saved: &super::snapshot::SavedOptions,
) -> std::io::Result<()> {
    let (mut s, errors) = load(path);
    if !errors.is_empty() {
        // Never overwrite a file the user is in the middle of editing into shape.
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not saved, the file has problems: {}", errors[0]),
        ));
    }
    if let Some(ms) = saved.interval_ms {
        s.interval = Some(Duration::from_millis(ms.max(0) as u64));
    }
    s.theme = Some(saved.theme.clone());
    s.graph = Some(saved.graph.clone());
    s.boxes = Some(saved.boxes.clone());
    s.bell = Some(saved.bell);
    save(path, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_parses() {
        let (s, errors) = parse(
            "interval: 5s\ntheme: nord\ngraph: tty\nboxes: [cpu, query]\nbell: true\n\
             keys:\n  quit: [q, Q]\n  targets.back: x\n",
            "kmon.yaml",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            s,
            Settings {
                interval: Some(Duration::from_secs(5)),
                theme: Some("nord".into()),
                graph: Some("tty".into()),
                boxes: Some(vec!["cpu".into(), "query".into()]),
                bell: Some(true),
                keys: vec![
                    ("quit".into(), vec!["q".into(), "Q".into()]),
                    ("targets.back".into(), vec!["x".into()]),
                ],
                ..Settings::default()
            }
        );
        assert_eq!(parse("", "f"), (Settings::default(), vec![]));
        assert_eq!(
            parse("# only a comment\n", "f"),
            (Settings::default(), vec![])
        );
    }

    #[test]
    fn errors_name_file_line_column_and_key_and_keep_the_rest() {
        let (s, errors) = parse(
            "interval: soon\ntheme: light\ngraph: dots\nboxes: [cpu, gpu]\ncolour: red\n\
             keys:\n  quit: {a: b}\n",
            "/home/u/.config/kmon/kmon.yaml",
        );
        assert_eq!(s.theme.as_deref(), Some("light"));
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert!(errors[0].starts_with("/home/u/.config/kmon/kmon.yaml:1:11: interval: "));
        assert_eq!(
            errors[1],
            "/home/u/.config/kmon/kmon.yaml:3:8: graph: expected braille, block or tty"
        );
        assert!(
            errors[2].contains(":4:8: boxes: unknown box \"gpu\""),
            "{}",
            errors[2]
        );
        assert!(
            errors[3].contains(":5:1: unknown setting \"colour\""),
            "{}",
            errors[3]
        );
        assert!(
            errors[4].contains(":7:9: keys.quit: expected a key"),
            "{}",
            errors[4]
        );
        let (_, errors) = parse("interval: 10ms\n", "f");
        assert_eq!(errors, ["f:1:11: interval: must be at least 100ms"]);
        let (_, errors) = parse("interval: [\n", "f");
        assert!(errors[0].starts_with("f:"), "{errors:?}");
        let (_, errors) = parse("- a\n- b\n", "f");
        assert_eq!(errors, ["f:1:1: expected a mapping of settings"]);
    }

    #[test]
    fn save_and_load_round_trip_atomically() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("sub").join(FILE_NAME);
        assert_eq!(load(&path), (Settings::default(), vec![]));
        let s = Settings {
            interval: Some(Duration::from_millis(500)),
            theme: Some("a \"quoted\" name".into()),
            graph: Some("block".into()),
            boxes: Some(vec!["mem".into()]),
            bell: Some(false),
            keys: vec![("normal.quit".into(), vec!["Ctrl-Q".into(), ":".into()])],
            ..Settings::default()
        };
        save(&path, &s).expect("saves");
        assert_eq!(load(&path), (s, vec![]));
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [FILE_NAME], "no temporary file left");
        std::fs::write(tmp.path().join("blocker"), "x").expect("write");
        let err = save(
            &tmp.path().join("blocker").join(FILE_NAME),
            &Settings::default(),
        )
        .expect_err("a file is in the way");
        assert!(err.to_string().contains("blocker"), "{err}");
    }
}
