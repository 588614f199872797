//! Keys as data: a table from (mode, key) to intents (`Quit`, `ToggleBox`, `Submit`, ...).
//! The event loop asks `Keymap::lookup` for every key event with the view's current mode
//! and hands the intent to the view state; a printable key that nothing binds in an
//! editing mode is typed (`typed_char`). Later features add rows to the table instead of
//! branches to the loop, users rebind with `Keymap::bind`, and the help overlay lists the
//! table.

use crossterm::event::{KeyEvent, KeyEventKind};

use crate::tui::view::{BoxId, Mode};

/// What a key asks the view to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Leave kmon (sends `Action::Quit` to the app).
    Quit,
    /// Show or hide one box of the main screen.
    ToggleBox(BoxId),
    /// Export the screen and the data (sends `Action::Export` to the app).
    Export,
    /// Focus the query bar.
    FocusQuery,
    /// Open the `:` command line.
    OpenCommand,
    /// Show the key help.
    Help,
    /// Leave the current mode or overlay.
    Back,
    /// Run the query (or command) being edited.
    Submit,
    /// Complete the word at the cursor.
    Complete,
    /// The previous completion candidate (Shift-Tab while completing).
    CompletePrev,
    HistoryPrev,
    HistoryNext,
    /// Ctrl-R: search the history backwards.
    HistorySearch,
    /// Ctrl-U: clear the line.
    ClearLine,
    CursorLeft,
    CursorRight,
    CursorHome,
    CursorEnd,
    WordLeft,
    WordRight,
    DeleteBack,
    DeleteForward,
    DeleteWord,
    KillToEnd,
    /// The next shorter / longer time range preset (5m, 15m, 1h, 6h, 24h).
    RangeShorter,
    RangeLonger,
    /// Freeze the time range, or follow now again.
    TogglePause,
    /// Graph or table view of the query panel.
    ToggleTable,
    /// Move the graph's value cursor one step back / forward (it appears at the newest).
    GraphCursorLeft,
    GraphCursorRight,
    /// Select the previous / next legend entry.
    LegendUp,
    LegendDown,
    /// Hide or show the selected legend entry's series.
    LegendToggle,
    /// Scroll the help overlay.
    HelpUp,
    HelpDown,
    /// Move the focus to the next / previous shown box.
    FocusNext,
    FocusPrev,
    /// Give the focused box the whole screen, or put it back.
    ToggleMaximize,
    /// The next layout preset (which boxes are shown).
    NextLayout,
    /// Open the targets pane.
    Targets,
    /// Select the previous / next target.
    TargetUp,
    TargetDown,
    /// Open the selected target's detail.
    TargetDetail,
    /// Type a text filter for the targets.
    TargetFilter,
    /// Cycle the state filter: all, up, down, unknown.
    TargetStateFilter,
    /// Graph the selected target's `up` in the query box.
    TargetGraph,
    /// Switch to the next colour theme.
    NextTheme,
    /// Open the options menu.
    Options,
    /// Select the previous / next option.
    OptionUp,
    OptionDown,
    /// Step the selected option's value back / forward (or toggle a box).
    OptionLess,
    OptionMore,
    /// Open the dashboard.
    Dashboard,
    /// Pin the query bar's query to the dashboard.
    Pin,
    /// Unpin the focused dashboard panel.
    Unpin,
    /// Focus the next / previous dashboard panel (reading order).
    PanelNext,
    PanelPrev,
    /// Focus the dashboard panel above / below (the rows scroll to it).
    PanelUp,
    PanelDown,
    /// Give the focused dashboard panel the screen, or put it back.
    PanelZoom,
    /// Open the cluster browser's nodes table.
    Nodes,
    /// Open the cluster browser's pods table.
    Pods,
    /// Select the previous / next row of a cluster table (or scroll a pod's detail).
    ClusterUp,
    ClusterDown,
    /// A page up / down in a cluster table.
    ClusterPageUp,
    ClusterPageDown,
    /// The first / last row of a cluster table.
    ClusterTop,
    ClusterBottom,
    /// Open the selected row: a pod's detail, or a node's pods.
    ClusterOpen,
    /// Type a text filter for the cluster table.
    ClusterFilter,
    /// Sort the cluster table by the next column.
    ClusterSort,
    /// Reverse the cluster table's sort.
    ClusterSortReverse,
    /// Open the alerts pane.
    Alerts,
    /// Select the previous / next alert (or scroll the rules view or a detail).
    AlertUp,
    AlertDown,
    /// Open the selected alert's detail.
    AlertOpen,
    /// Type a text filter for the alerts.
    AlertFilter,
    /// List the alerting rules with no active alert too, or not.
    AlertInactive,
    /// Show the rules view (groups and rules with their health), or go back.
    RulesView,
    /// Read the rule files (and the config's rule_files and alerting) again, keeping the
    /// state of unchanged rules, as SIGHUP does.
    ReloadRules,
    /// Silence the selected alert (then pick for how long).
    Silence,
    /// End the silence on the selected alert.
    Unsilence,
    /// Silence for 1 hour / 4 hours / 1 day, or type the duration (`:silence 2h`).
    SilenceFor1h,
    SilenceFor4h,
    SilenceFor1d,
    SilenceCustom,
    /// Silence by every label of the alert, or by its alertname only.
    SilenceMatchers,
    /// In the `:source` picker: the previous or next source, and switching to it.
    SourceUp,
    SourceDown,
    SourceChoose,
}

impl Intent {
    /// Whether the cluster browser handles this intent (with the snapshot's rows).
    pub fn is_cluster(self) -> bool {
        matches!(
            self,
            Intent::Nodes
                | Intent::Pods
                | Intent::ClusterUp
                | Intent::ClusterDown
                | Intent::ClusterPageUp
                | Intent::ClusterPageDown
                | Intent::ClusterTop
                | Intent::ClusterBottom
                | Intent::ClusterOpen
                | Intent::ClusterFilter
                | Intent::ClusterSort
                | Intent::ClusterSortReverse
        )
    }

    /// Whether the alerts pane handles this intent (with the snapshot's alerts).
    pub fn is_alerts(self) -> bool {
        matches!(
            self,
            Intent::Alerts
                | Intent::AlertUp
                | Intent::AlertDown
                | Intent::AlertOpen
                | Intent::AlertFilter
                | Intent::AlertInactive
                | Intent::RulesView
                | Intent::ReloadRules
                | Intent::Silence
                | Intent::Unsilence
                | Intent::SilenceFor1h
                | Intent::SilenceFor4h
                | Intent::SilenceFor1d
                | Intent::SilenceCustom
                | Intent::SilenceMatchers
        )
    }

    /// Whether the `:source` picker handles this intent (with the snapshot's sources).
    pub fn is_source(self) -> bool {
        matches!(
            self,
            Intent::SourceUp | Intent::SourceDown | Intent::SourceChoose
        )
    }

    /// A short description for the help overlay.
    pub fn describe(self) -> String {
        match self {
            Intent::Quit => "quit".into(),
            Intent::ToggleBox(b) => format!("show/hide the {} box", b.title()),
            Intent::Export => "export screen and data".into(),
            Intent::FocusQuery => "query bar".into(),
            Intent::OpenCommand => "command line (:theme)".into(),
            Intent::Help => "this help".into(),
            Intent::Back => "back".into(),
            Intent::Submit => "run".into(),
            Intent::Complete => "complete".into(),
            Intent::CompletePrev => "previous completion".into(),
            Intent::HistoryPrev => "older history entry".into(),
            Intent::HistoryNext => "newer history entry".into(),
            Intent::HistorySearch => "search history".into(),
            Intent::ClearLine => "clear the line".into(),
            Intent::CursorLeft => "cursor left".into(),
            Intent::CursorRight => "cursor right".into(),
            Intent::CursorHome => "start of line".into(),
            Intent::CursorEnd => "end of line".into(),
            Intent::WordLeft => "word left".into(),
            Intent::WordRight => "word right".into(),
            Intent::DeleteBack => "delete left".into(),
            Intent::DeleteForward => "delete right".into(),
            Intent::DeleteWord => "delete word".into(),
            Intent::KillToEnd => "delete to end of line".into(),
            Intent::RangeShorter => "shorter time range".into(),
            Intent::RangeLonger => "longer time range".into(),
            Intent::TogglePause => "pause / follow now".into(),
            Intent::ToggleTable => "graph / table".into(),
            Intent::GraphCursorLeft => "graph cursor back".into(),
            Intent::GraphCursorRight => "graph cursor forward".into(),
            Intent::LegendUp => "previous legend entry".into(),
            Intent::LegendDown => "next legend entry".into(),
            Intent::LegendToggle => "hide/show series".into(),
            Intent::HelpUp => "scroll up".into(),
            Intent::HelpDown => "scroll down".into(),
            Intent::FocusNext => "focus next box".into(),
            Intent::FocusPrev => "focus previous box".into(),
            Intent::ToggleMaximize => "maximise focused box".into(),
            Intent::NextLayout => "next layout preset".into(),
            Intent::Targets => "targets".into(),
            Intent::TargetUp => "previous target".into(),
            Intent::TargetDown => "next target".into(),
            Intent::TargetDetail => "target detail".into(),
            Intent::TargetFilter => "filter targets by text".into(),
            Intent::TargetStateFilter => "state filter".into(),
            Intent::TargetGraph => "graph its up".into(),
            Intent::NextTheme => "next theme".into(),
            Intent::Options => "options (interval, theme, graph, boxes)".into(),
            Intent::OptionUp => "previous option".into(),
            Intent::OptionDown => "next option".into(),
            Intent::OptionLess => "previous value".into(),
            Intent::OptionMore => "next value / toggle".into(),
            Intent::Dashboard => "dashboard".into(),
            Intent::Pin => "pin the query to the dashboard".into(),
            Intent::Unpin => "unpin the focused panel".into(),
            Intent::PanelNext => "next panel".into(),
            Intent::PanelPrev => "previous panel".into(),
            Intent::PanelUp => "panel above (scrolls)".into(),
            Intent::PanelDown => "panel below (scrolls)".into(),
            Intent::PanelZoom => "maximise / restore the panel".into(),
            Intent::Nodes => "cluster nodes".into(),
            Intent::Pods => "cluster pods".into(),
            Intent::ClusterUp => "previous row".into(),
            Intent::ClusterDown => "next row".into(),
            Intent::ClusterPageUp => "page up".into(),
            Intent::ClusterPageDown => "page down".into(),
            Intent::ClusterTop => "first row".into(),
            Intent::ClusterBottom => "last row".into(),
            Intent::ClusterOpen => "pod detail / a node's pods".into(),
            Intent::ClusterFilter => "filter rows by text".into(),
            Intent::ClusterSort => "sort by the next column".into(),
            Intent::ClusterSortReverse => "reverse the sort".into(),
            Intent::Alerts => "alerts".into(),
            Intent::AlertUp => "previous alert".into(),
            Intent::AlertDown => "next alert".into(),
            Intent::AlertOpen => "alert detail".into(),
            Intent::AlertFilter => "filter alerts by text".into(),
            Intent::AlertInactive => "show/hide inactive rules".into(),
            Intent::RulesView => "rules view".into(),
            Intent::ReloadRules => "reload rules".into(),
            Intent::Silence => "silence the alert".into(),
            Intent::Unsilence => "end its silence".into(),
            Intent::SilenceFor1h => "silence for 1h".into(),
            Intent::SilenceFor4h => "silence for 4h".into(),
            Intent::SilenceFor1d => "silence for 1d".into(),
            Intent::SilenceCustom => "silence for… (:silence 2h)".into(),
            Intent::SilenceMatchers => "all labels / alertname only".into(),
            Intent::SourceUp => "previous source".into(),
            Intent::SourceDown => "next source".into(),
            Intent::SourceChoose => "query this source".into(),
        }
    }

    /// The intent's name in the settings file's `keys:` section: its variant in snake case
    /// (`quit`, `focus_query`, `legend_toggle`, `toggle_box_cpu`).
    pub fn name(self) -> String {
        let debug = format!("{self:?}");
        let mut out = String::with_capacity(debug.len() + 4);
        for c in debug.chars() {
            match c {
                '(' => out.push('_'),
                ')' => {}
                c if c.is_ascii_uppercase() => {
                    if !out.is_empty() && !out.ends_with('_') {
                        out.push('_');
                    }
                    out.push(c.to_ascii_lowercase());
                }
                c => out.push(c),
            }
        }
        out
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// In every mode (Ctrl-C).
    Everywhere,
    /// On the boxes (no line being edited).
    Normal,
    /// While the query bar or the command line is being edited.
    Editing,
    /// On the help overlay.
    Help,
    /// On the targets pane.
    Targets,
    /// In the options menu.
    Options,
    /// On the dashboard.
    Dashboard,
    /// On the cluster browser (nodes, pods, pod detail).
    Cluster,
    /// On the alerts pane (list, alert detail, rules view).
    Alerts,
    /// Picking how long to silence an alert.
    Silence,
    /// Picking the query source (`:source`).
    Source,
}

impl Scope {
    pub fn covers(self, mode: Mode) -> bool {
        match self {
            Scope::Everywhere => true,
            Scope::Normal => mode == Mode::Normal,
            Scope::Editing => matches!(
                mode,
                Mode::Query
                    | Mode::Command
                    | Mode::TargetFilter
                    | Mode::ClusterFilter
                    | Mode::AlertFilter
            ),
            Scope::Help => mode == Mode::Help,
            Scope::Targets => mode == Mode::Targets,
            Scope::Options => mode == Mode::Options,
            Scope::Dashboard => mode == Mode::Dashboard,
            Scope::Cluster => mode == Mode::Cluster,
            Scope::Alerts => mode == Mode::Alerts,
            Scope::Silence => mode == Mode::SilencePick,
            Scope::Source => mode == Mode::SourcePick,
        }
    }

    /// Every scope.
    pub const ALL: [Scope; 11] = [
        Scope::Everywhere,
        Scope::Normal,
        Scope::Editing,
        Scope::Help,
        Scope::Targets,
        Scope::Options,
        Scope::Dashboard,
        Scope::Cluster,
        Scope::Alerts,
        Scope::Silence,
        Scope::Source,
    ];

    /// The scope's name before a `.` in the settings file's `keys:` section.
    pub fn key_name(self) -> &'static str {
        match self {
            Scope::Everywhere => "everywhere",
            Scope::Normal => "normal",
            Scope::Editing => "editing",
            Scope::Help => "help",
            Scope::Targets => "targets",
            Scope::Options => "options",
            Scope::Dashboard => "dashboard",
            Scope::Cluster => "cluster",
            Scope::Alerts => "alerts",
            Scope::Silence => "silence",
            Scope::Source => "source",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scope::Everywhere => "everywhere",
            Scope::Normal => "boxes",
            Scope::Editing => "query bar and command line",
            Scope::Help => "help",
            Scope::Targets => "targets",
            Scope::Options => "options",
            Scope::Dashboard => "dashboard",
            Scope::Cluster => "cluster browser",
            Scope::Alerts => "alerts",
            Scope::Silence => "silence",
            Scope::Source => "source picker",
        }
    }
}

mod bindings;
mod keys;

pub use bindings::DEFAULT_BINDINGS;
pub use keys::{KeyBinding, typed_char};

/// One line of the help overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpRow {
    pub scope: &'static str,
    pub keys: String,
    pub what: String,
}

/// The key table the event loop consults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<(Scope, KeyBinding, Intent)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            bindings: DEFAULT_BINDINGS.to_vec(),
        }
    }
}

impl Keymap {
    /// The intent of a key event in `mode`, if any. Key releases never match.
    pub fn lookup(&self, mode: Mode, event: &KeyEvent) -> Option<Intent> {
        if event.kind == KeyEventKind::Release {
            return None;
        }
        let key = KeyBinding::from_event(event);
        self.bindings
            .iter()
            .find(|(scope, binding, _)| *binding == key && scope.covers(mode))
            .map(|(_, _, intent)| *intent)
    }

    /// Binds `key` to `intent` in `scope`, replacing what it did there before.
    pub fn bind(&mut self, scope: Scope, key: KeyBinding, intent: Intent) {
        self.bindings
            .retain(|(s, b, _)| !(*s == scope && *b == key));
        self.bindings.push((scope, key, intent));
    }

    /// Removes a binding; returns what it did.
    pub fn unbind(&mut self, scope: Scope, key: KeyBinding) -> Option<Intent> {
        let pos = self
            .bindings
            .iter()
            .position(|(s, b, _)| *s == scope && *b == key)?;
        Some(self.bindings.remove(pos).2)
    }

    /// Applies the settings file's `keys:` entries in order: `intent: [keys]` gives the
    /// intent these keys instead of its built-in ones in every scope where it has any
    /// but `everywhere` (or in Normal when it has none); `scope.intent: [keys]` does it
    /// in one scope.
    /// Returns a warning for every entry that names no intent, scope or key, and for
    /// every key taken from another intent.
    pub fn remap(&mut self, entries: &[(String, Vec<String>)]) -> Vec<String> {
        let mut intents: Vec<Intent> = Vec::new();
        for (_, _, i) in DEFAULT_BINDINGS {
            if !intents.contains(i) {
                intents.push(*i);
            }
        }
        let mut warnings = Vec::new();
        for (name, keys) in entries {
            let (scope, intent_name) = match name.split_once('.') {
                Some((s, i)) => match Scope::ALL.iter().find(|sc| sc.key_name() == s) {
                    Some(sc) => (Some(*sc), i),
                    None => {
                        let names: Vec<&str> = Scope::ALL.iter().map(|s| s.key_name()).collect();
                        warnings.push(format!(
                            "keys.{name}: no scope {s:?} (one of {})",
                            names.join(", ")
                        ));
                        continue;
                    }
                },
                None => (None, name.as_str()),
            };
            let Some(intent) = intents.iter().copied().find(|i| i.name() == intent_name) else {
                warnings.push(format!(
                    "keys.{name}: no intent {intent_name:?} (README lists them)"
                ));
                continue;
            };
            let mut parsed = Vec::new();
            for k in keys {
                match k.parse::<KeyBinding>() {
                    Ok(b) => parsed.push(b),
                    Err(e) => warnings.push(format!("keys.{name}: {e}")),
                }
            }
            if parsed.is_empty() {
                continue;
            }
            let scopes: Vec<Scope> = match scope {
                Some(s) => vec![s],
                None => {
                    let mut found: Vec<Scope> = Vec::new();
                    for (s, _, i) in &self.bindings {
                        // Ctrl-C stays the way out from anywhere unless named.
                        if *i == intent && *s != Scope::Everywhere && !found.contains(s) {
                            found.push(*s);
                        }
                    }
                    if found.is_empty() {
                        found.push(Scope::Normal);
                    }
                    found
                }
            };
            for s in scopes {
                self.bindings
                    .retain(|(bs, _, bi)| !(*bs == s && *bi == intent));
                for key in &parsed {
                    let taken = self
                        .bindings
                        .iter()
                        .find(|(bs, bk, _)| *bs == s && bk == key)
                        .map(|(_, _, i)| *i);
                    if let Some(old) = taken {
                        warnings.push(format!(
                            "keys.{name}: {} no longer does {} in {}",
                            key.label(),
                            old.name(),
                            s.key_name()
                        ));
                    }
                    self.bind(s, *key, intent);
                }
            }
        }
        warnings
    }

    /// The first key bound to `intent` in `mode` (its own scope's before `everywhere`'s),
    /// as the help overlay writes it.
    pub fn key_for(&self, mode: Mode, intent: Intent) -> Option<String> {
        let find = |everywhere: bool| {
            self.bindings
                .iter()
                .find(|(s, _, i)| {
                    *i == intent && s.covers(mode) && (*s == Scope::Everywhere) == everywhere
                })
                .map(|(_, k, _)| k.label())
        };
        find(false).or_else(|| find(true))
    }

    /// Every binding, for the help screen.
    pub fn bindings(&self) -> &[(Scope, KeyBinding, Intent)] {
        &self.bindings
    }

    /// The help overlay's rows: per scope (in table order), each intent once with every key
    /// bound to it.
    pub fn help_rows(&self) -> Vec<HelpRow> {
        let mut rows: Vec<HelpRow> = Vec::new();
        let mut seen: Vec<(Scope, Intent)> = Vec::new();
        for (scope, _, intent) in &self.bindings {
            if seen.contains(&(*scope, *intent)) {
                continue;
            }
            seen.push((*scope, *intent));
            let keys: Vec<String> = self
                .bindings
                .iter()
                .filter(|(s, _, i)| s == scope && i == intent)
                .map(|(_, k, _)| k.label())
                .collect();
            rows.push(HelpRow {
                scope: scope.name(),
                keys: keys.join(" "),
                what: intent.describe(),
            });
        }
        rows.sort_by_key(|r| {
            [
                Scope::Normal,
                Scope::Editing,
                Scope::Targets,
                Scope::Options,
                Scope::Dashboard,
                Scope::Cluster,
                Scope::Alerts,
                Scope::Silence,
                Scope::Source,
                Scope::Help,
                Scope::Everywhere,
            ]
            .iter()
            .position(|s| s.name() == r.scope)
        });
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers as M;
    use crossterm::event::{KeyCode, KeyModifiers};

    #[test]
    fn readme_lists_every_intent_and_scope_for_remapping() {
        let readme = include_str!("../../../README.md");
        let section = readme
            .split("## Settings and key remapping")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .expect("README has the section");
        for (scope, _, intent) in DEFAULT_BINDINGS {
            assert!(
                section.contains(&format!("`{}`", intent.name())),
                "{}",
                intent.name()
            );
            assert!(
                section.contains(&format!("`{}`", scope.key_name())),
                "{}",
                scope.key_name()
            );
        }
    }

    #[test]
    fn intents_have_settings_names() {
        assert_eq!(Intent::Quit.name(), "quit");
        assert_eq!(Intent::FocusQuery.name(), "focus_query");
        assert_eq!(Intent::ToggleBox(BoxId::Cpu).name(), "toggle_box_cpu");
        assert_eq!(Intent::HistorySearch.name(), "history_search");
        let mut names: Vec<String> = DEFAULT_BINDINGS.iter().map(|(_, _, i)| i.name()).collect();
        names.sort();
        names.dedup();
        let intents: std::collections::BTreeSet<String> = DEFAULT_BINDINGS
            .iter()
            .map(|(_, _, i)| format!("{i:?}"))
            .collect();
        assert_eq!(names.len(), intents.len(), "names are unique");
    }

    #[test]
    fn remapping_replaces_an_intents_keys_in_its_scopes_or_one_scope() {
        let ev = |c: char| KeyEvent::new(KeyCode::Char(c), M::NONE);
        let mut km = Keymap::default();
        let warnings = km.remap(&[
            ("quit".into(), vec!["Q".into()]),
            (
                "targets.target_graph".into(),
                vec!["G".into(), "Ctrl-G".into()],
            ),
            ("normal.help".into(), vec!["h".into()]),
            ("bogus".into(), vec!["x".into()]),
            ("nowhere.quit".into(), vec!["x".into()]),
            ("export".into(), vec!["Hyper-x".into()]),
        ]);
        // q no longer quits, in the boxes or the targets pane; Q does in both.
        assert_eq!(km.lookup(Mode::Normal, &ev('q')), None);
        assert_eq!(km.lookup(Mode::Normal, &ev('Q')), Some(Intent::Quit));
        assert_eq!(km.lookup(Mode::Targets, &ev('q')), None);
        assert_eq!(km.lookup(Mode::Targets, &ev('Q')), Some(Intent::Quit));
        // Ctrl-C still quits everywhere (an unscoped remap leaves `everywhere` alone),
        // and Q is typed in the query bar.
        assert_eq!(
            km.lookup(Mode::Query, &KeyEvent::new(KeyCode::Char('c'), M::CONTROL)),
            Some(Intent::Quit)
        );
        assert_eq!(km.lookup(Mode::Query, &ev('Q')), None);
        assert_eq!(
            km.lookup(Mode::Targets, &ev('G')),
            Some(Intent::TargetGraph)
        );
        assert_eq!(km.lookup(Mode::Targets, &ev('g')), None);
        assert_eq!(
            km.lookup(
                Mode::Targets,
                &KeyEvent::new(KeyCode::Char('g'), M::CONTROL)
            ),
            Some(Intent::TargetGraph)
        );
        // h took the graph cursor's key in the boxes: said so.
        assert_eq!(km.lookup(Mode::Normal, &ev('h')), Some(Intent::Help));
        assert_eq!(km.lookup(Mode::Normal, &ev('?')), None);
        assert_eq!(
            warnings,
            [
                "keys.normal.help: h no longer does graph_cursor_left in normal",
                "keys.bogus: no intent \"bogus\" (README lists them)",
                "keys.nowhere.quit: no scope \"nowhere\" (one of everywhere, normal, editing, help, targets, options, dashboard, cluster, alerts, silence, source)",
                "keys.export: unknown key \"Hyper-x\" (try q, Ctrl-R, Alt-b, Enter, Esc, Tab, Up, PgDn, F1)",
            ]
        );
        // The export keys stay when none of the new ones parse; help rows follow.
        assert_eq!(km.lookup(Mode::Normal, &ev('e')), Some(Intent::Export));
        assert!(
            km.help_rows()
                .iter()
                .any(|r| r.keys == "Q" && r.what == "quit")
        );
    }

    #[test]
    fn keys_parse_from_their_labels_and_common_spellings() {
        for (_, key, _) in DEFAULT_BINDINGS {
            assert_eq!(
                key.label().parse::<KeyBinding>().as_ref(),
                Ok(key),
                "{}",
                key.label()
            );
        }
        let p = |t: &str| t.parse::<KeyBinding>();
        assert_eq!(p("C-r"), Ok(KeyBinding::ctrl('r')));
        assert_eq!(p("ctrl+R"), Ok(KeyBinding::ctrl('r')));
        assert_eq!(p("M-b"), Ok(KeyBinding::alt('b')));
        assert_eq!(p("S-q"), Ok(KeyBinding::plain('Q')));
        let back_tab = KeyBinding::with(KeyCode::BackTab, M::SHIFT);
        assert_eq!(p("BTab"), Ok(back_tab));
        assert_eq!(p("shift-tab"), Ok(back_tab));
        assert_eq!(p("enter"), Ok(KeyBinding::key(KeyCode::Enter)));
        assert_eq!(p("Up"), Ok(KeyBinding::key(KeyCode::Up)));
        assert_eq!(p("NPage"), Ok(KeyBinding::key(KeyCode::PageDown)));
        assert_eq!(p("F12"), Ok(KeyBinding::key(KeyCode::F(12))));
        assert_eq!(p("-"), Ok(KeyBinding::plain('-')));
        assert_eq!(p("+"), Ok(KeyBinding::plain('+')));
        assert_eq!(
            p("Ctrl-+"),
            Ok(KeyBinding::with(KeyCode::Char('+'), M::CONTROL))
        );
        assert_eq!(p("Space"), Ok(KeyBinding::plain(' ')));
        assert_eq!(p("Shift-Up"), Ok(KeyBinding::with(KeyCode::Up, M::SHIFT)));
        for bad in ["", "F13", "F0", "Hyper-x", "Ctrl-", "enterr", "\u{1}"] {
            let err = p(bad).expect_err(bad);
            assert!(err.contains("unknown key"), "{bad}: {err}");
        }
        assert_eq!(KeyBinding::from_event(&back_tab.event()), back_tab);
        assert_eq!(KeyBinding::ctrl('u').event().modifiers, M::CONTROL);
    }
    use crossterm::event::KeyEventState;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn quit_keys() {
        let map = Keymap::default();
        assert_eq!(
            map.lookup(Mode::Normal, &key(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Intent::Quit)
        );
        assert_eq!(
            map.lookup(
                Mode::Normal,
                &key(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Intent::Quit)
        );
        // Ctrl+Shift+C arrives as an upper-case C on some terminals.
        let shifted = key(
            KeyCode::Char('C'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        );
        assert_eq!(map.lookup(Mode::Normal, &shifted), Some(Intent::Quit));
        assert_eq!(
            map.lookup(Mode::Normal, &key(KeyCode::Char('c'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            map.lookup(Mode::Normal, &key(KeyCode::Char('Q'), KeyModifiers::SHIFT)),
            None
        );
        assert_eq!(
            map.lookup(Mode::Normal, &key(KeyCode::Char('q'), KeyModifiers::ALT)),
            None
        );
    }

    #[test]
    fn number_keys_toggle_boxes() {
        let map = Keymap::default();
        for id in BoxId::ALL {
            let c = char::from(b'0' + id.number());
            assert_eq!(
                map.lookup(Mode::Normal, &key(KeyCode::Char(c), KeyModifiers::NONE)),
                Some(Intent::ToggleBox(id))
            );
        }
        assert_eq!(
            map.lookup(Mode::Normal, &key(KeyCode::Char('6'), KeyModifiers::NONE)),
            None
        );
    }

    #[test]
    fn e_exports() {
        let map = Keymap::default();
        assert_eq!(
            map.lookup(Mode::Normal, &key(KeyCode::Char('e'), KeyModifiers::NONE)),
            Some(Intent::Export)
        );
    }

    #[test]
    fn releases_do_not_match_and_repeats_do() {
        let map = Keymap::default();
        let mut release = key(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(map.lookup(Mode::Normal, &release), None);
        let repeat = KeyEvent::new_with_kind_and_state(
            KeyCode::Char('1'),
            KeyModifiers::NONE,
            KeyEventKind::Repeat,
            KeyEventState::NONE,
        );
        assert_eq!(
            map.lookup(Mode::Normal, &repeat),
            Some(Intent::ToggleBox(BoxId::Cpu))
        );
    }

    #[test]
    fn modes_scope_the_bindings() {
        let map = Keymap::default();
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(map.lookup(Mode::Normal, &q), Some(Intent::Quit));
        // In the query bar `q` is typed, not a command.
        assert_eq!(map.lookup(Mode::Query, &q), None);
        assert_eq!(typed_char(&q), Some('q'));
        assert_eq!(map.lookup(Mode::Help, &q), Some(Intent::Back));
        let enter = key(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(map.lookup(Mode::Query, &enter), Some(Intent::Submit));
        assert_eq!(map.lookup(Mode::Command, &enter), Some(Intent::Submit));
        // On the boxes Enter hides or shows the selected legend entry.
        assert_eq!(map.lookup(Mode::Normal, &enter), Some(Intent::LegendToggle));
        let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for mode in [Mode::Normal, Mode::Query, Mode::Command, Mode::Help] {
            assert_eq!(map.lookup(mode, &ctrl_c), Some(Intent::Quit));
        }
        assert_eq!(typed_char(&ctrl_c), None);
        assert_eq!(
            typed_char(&key(KeyCode::Char('Q'), KeyModifiers::SHIFT)),
            Some('Q')
        );
        let shift_tab = key(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(
            map.lookup(Mode::Query, &shift_tab),
            Some(Intent::CompletePrev)
        );
        assert_eq!(KeyBinding::ctrl('r').label(), "Ctrl-R");
        assert_eq!(
            KeyBinding::with(KeyCode::BackTab, KeyModifiers::SHIFT).label(),
            "Shift-Tab"
        );
    }

    #[test]
    fn boxes_layout_and_targets_keys() {
        let map = Keymap::default();
        let k = |code, m| key(code, m);
        let n = KeyModifiers::NONE;
        assert_eq!(
            map.lookup(Mode::Normal, &k(KeyCode::Tab, n)),
            Some(Intent::FocusNext)
        );
        assert_eq!(
            map.lookup(Mode::Normal, &k(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Intent::FocusPrev)
        );
        assert_eq!(
            map.lookup(Mode::Normal, &k(KeyCode::Char('z'), n)),
            Some(Intent::ToggleMaximize)
        );
        assert_eq!(
            map.lookup(Mode::Normal, &k(KeyCode::Char('P'), KeyModifiers::SHIFT)),
            Some(Intent::NextLayout)
        );
        assert_eq!(
            map.lookup(Mode::Normal, &k(KeyCode::Char('t'), n)),
            Some(Intent::Targets)
        );
        assert_eq!(
            map.lookup(Mode::Targets, &k(KeyCode::Char('t'), n)),
            Some(Intent::Back)
        );
        assert_eq!(
            map.lookup(Mode::Targets, &k(KeyCode::Enter, n)),
            Some(Intent::TargetDetail)
        );
        assert_eq!(
            map.lookup(Mode::Targets, &k(KeyCode::Char('s'), n)),
            Some(Intent::TargetStateFilter)
        );
        // The filter line is typed into.
        assert_eq!(
            map.lookup(Mode::TargetFilter, &k(KeyCode::Char('s'), n)),
            None
        );
        assert_eq!(
            map.lookup(Mode::TargetFilter, &k(KeyCode::Enter, n)),
            Some(Intent::Submit)
        );
        for mode in [Mode::Normal, Mode::Targets] {
            assert_eq!(
                map.lookup(mode, &k(KeyCode::Char('T'), KeyModifiers::SHIFT)),
                Some(Intent::NextTheme)
            );
        }
        // In the query bar `T` is typed.
        assert_eq!(
            map.lookup(Mode::Query, &k(KeyCode::Char('T'), KeyModifiers::SHIFT)),
            None
        );
        // Every intent with a description is bound somewhere.
        let rows = map.help_rows();
        assert!(rows.iter().any(|r| r.what == "targets"));
        assert!(rows.iter().any(|r| r.what == "maximise focused box"));
        assert!(rows.iter().any(|r| r.keys == "T" && r.what == "next theme"));
    }

    #[test]
    fn dashboard_keys() {
        let map = Keymap::default();
        let n = KeyModifiers::NONE;
        let at = |mode, code| map.lookup(mode, &key(code, n));
        assert_eq!(
            at(Mode::Normal, KeyCode::Char('d')),
            Some(Intent::Dashboard)
        );
        assert_eq!(at(Mode::Normal, KeyCode::Char('b')), Some(Intent::Pin));
        assert_eq!(at(Mode::Dashboard, KeyCode::Char('d')), Some(Intent::Back));
        assert_eq!(at(Mode::Dashboard, KeyCode::Esc), Some(Intent::Back));
        assert_eq!(at(Mode::Dashboard, KeyCode::Tab), Some(Intent::PanelNext));
        assert_eq!(
            at(Mode::Dashboard, KeyCode::Char('j')),
            Some(Intent::PanelDown)
        );
        assert_eq!(at(Mode::Dashboard, KeyCode::PageUp), Some(Intent::PanelUp));
        assert_eq!(at(Mode::Dashboard, KeyCode::Enter), Some(Intent::PanelZoom));
        assert_eq!(at(Mode::Dashboard, KeyCode::Char('x')), Some(Intent::Unpin));
        // The dashboard does not type into the query bar.
        assert_eq!(at(Mode::Dashboard, KeyCode::Char('/')), None);
        assert_eq!(KeyBinding::key(KeyCode::PageDown).label(), "PgDn");
        let rows = map.help_rows();
        assert!(
            rows.iter()
                .any(|r| r.scope == "dashboard" && r.what == "unpin the focused panel")
        );
    }

    #[test]
    fn rebinding() {
        let mut map = Keymap::default();
        map.bind(Scope::Normal, KeyBinding::plain('x'), Intent::Quit);
        map.bind(
            Scope::Normal,
            KeyBinding::plain('q'),
            Intent::ToggleBox(BoxId::Disks),
        );
        assert_eq!(
            map.lookup(Mode::Normal, &key(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(Intent::Quit)
        );
        assert_eq!(
            map.lookup(Mode::Normal, &key(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Intent::ToggleBox(BoxId::Disks))
        );
        assert_eq!(
            map.unbind(Scope::Normal, KeyBinding::plain('x')),
            Some(Intent::Quit)
        );
        assert_eq!(
            map.lookup(Mode::Normal, &key(KeyCode::Char('x'), KeyModifiers::NONE)),
            None
        );
        let esc = KeyBinding::from_event(&key(KeyCode::Esc, KeyModifiers::NONE));
        assert_eq!(
            esc,
            KeyBinding {
                code: KeyCode::Esc,
                modifiers: KeyModifiers::NONE
            }
        );
    }
}
