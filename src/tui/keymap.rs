//! Keys as data: a table from (mode, key) to intents (`Quit`, `ToggleBox`, `Submit`, ...).
//! The event loop asks `Keymap::lookup` for every key event with the view's current mode
//! and hands the intent to the view state; a printable key that nothing binds in an
//! editing mode is typed (`typed_char`). Later features add rows to the table instead of
//! branches to the loop, users rebind with `Keymap::bind`, and the help overlay lists the
//! table.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

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
}

impl Intent {
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
            Intent::Dashboard => "dashboard".into(),
            Intent::Pin => "pin the query to the dashboard".into(),
            Intent::Unpin => "unpin the focused panel".into(),
            Intent::PanelNext => "next panel".into(),
            Intent::PanelPrev => "previous panel".into(),
            Intent::PanelUp => "panel above (scrolls)".into(),
            Intent::PanelDown => "panel below (scrolls)".into(),
            Intent::PanelZoom => "maximise / restore the panel".into(),
        }
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
    /// On the dashboard.
    Dashboard,
}

impl Scope {
    pub fn covers(self, mode: Mode) -> bool {
        match self {
            Scope::Everywhere => true,
            Scope::Normal => mode == Mode::Normal,
            Scope::Editing => matches!(mode, Mode::Query | Mode::Command | Mode::TargetFilter),
            Scope::Help => mode == Mode::Help,
            Scope::Targets => mode == Mode::Targets,
            Scope::Dashboard => mode == Mode::Dashboard,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scope::Everywhere => "everywhere",
            Scope::Normal => "boxes",
            Scope::Editing => "query bar and command line",
            Scope::Help => "help",
            Scope::Targets => "targets",
            Scope::Dashboard => "dashboard",
        }
    }
}

/// A key with its modifiers. Shift is folded into the character (`Q`, not shift+`q`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyBinding {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl KeyBinding {
    /// A character key without modifiers.
    pub const fn plain(c: char) -> Self {
        KeyBinding {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::NONE,
        }
    }

    /// Ctrl + a (lower-case) character.
    pub const fn ctrl(c: char) -> Self {
        KeyBinding {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::CONTROL,
        }
    }

    /// Alt + a character.
    pub const fn alt(c: char) -> Self {
        KeyBinding {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::ALT,
        }
    }

    /// A named key (arrows, Enter, Esc, ...) without modifiers.
    pub const fn key(code: KeyCode) -> Self {
        KeyBinding {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    /// A named key with modifiers.
    pub const fn with(code: KeyCode, modifiers: KeyModifiers) -> Self {
        KeyBinding { code, modifiers }
    }

    /// The binding a key event matches: Shift dropped for characters (the character already
    /// carries it), Ctrl+letter lower-cased, only Ctrl and Alt kept.
    pub fn from_event(event: &KeyEvent) -> Self {
        let mut modifiers = event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match event.code {
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            KeyCode::Char(c) => KeyCode::Char(c),
            other => {
                modifiers |= event.modifiers & KeyModifiers::SHIFT;
                other
            }
        };
        KeyBinding { code, modifiers }
    }

    /// How the help overlay writes the key: `q`, `Ctrl-R`, `Alt-b`, `Enter`, `Shift-Tab`.
    pub fn label(&self) -> String {
        let mut out = String::new();
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            out.push_str("Ctrl-");
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            out.push_str("Alt-");
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) && self.code != KeyCode::BackTab {
            out.push_str("Shift-");
        }
        match self.code {
            KeyCode::Char(' ') => out.push_str("Space"),
            KeyCode::Char(c) if self.modifiers.contains(KeyModifiers::CONTROL) => {
                out.push(c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => out.push(c),
            KeyCode::BackTab => out.push_str("Shift-Tab"),
            KeyCode::Backspace => out.push_str("Backspace"),
            KeyCode::Delete => out.push_str("Del"),
            KeyCode::Enter => out.push_str("Enter"),
            KeyCode::Esc => out.push_str("Esc"),
            KeyCode::Tab => out.push_str("Tab"),
            KeyCode::Up => out.push('↑'),
            KeyCode::Down => out.push('↓'),
            KeyCode::Left => out.push('←'),
            KeyCode::Right => out.push('→'),
            KeyCode::Home => out.push_str("Home"),
            KeyCode::End => out.push_str("End"),
            KeyCode::PageUp => out.push_str("PgUp"),
            KeyCode::PageDown => out.push_str("PgDn"),
            other => out.push_str(&format!("{other:?}")),
        }
        out
    }
}

/// The character a key event types in an editing mode, if it is a plain (or shifted)
/// printable character.
pub fn typed_char(event: &KeyEvent) -> Option<char> {
    if event.kind == KeyEventKind::Release
        || event
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    match event.code {
        KeyCode::Char(c) if !c.is_control() => Some(c),
        _ => None,
    }
}

use KeyCode as K;
use KeyModifiers as M;

/// The built-in bindings.
#[rustfmt::skip]
pub const DEFAULT_BINDINGS: &[(Scope, KeyBinding, Intent)] = &[
    (Scope::Everywhere, KeyBinding::ctrl('c'), Intent::Quit),
    (Scope::Normal, KeyBinding::plain('q'), Intent::Quit),
    (Scope::Normal, KeyBinding::plain('1'), Intent::ToggleBox(BoxId::Cpu)),
    (Scope::Normal, KeyBinding::plain('2'), Intent::ToggleBox(BoxId::Memory)),
    (Scope::Normal, KeyBinding::plain('3'), Intent::ToggleBox(BoxId::Network)),
    (Scope::Normal, KeyBinding::plain('4'), Intent::ToggleBox(BoxId::Disks)),
    (Scope::Normal, KeyBinding::plain('5'), Intent::ToggleBox(BoxId::Query)),
    (Scope::Normal, KeyBinding::plain('e'), Intent::Export),
    (Scope::Normal, KeyBinding::plain('/'), Intent::FocusQuery),
    (Scope::Normal, KeyBinding::plain(':'), Intent::OpenCommand),
    (Scope::Normal, KeyBinding::plain('?'), Intent::Help),
    (Scope::Normal, KeyBinding::key(K::Esc), Intent::Back),
    (Scope::Normal, KeyBinding::plain('-'), Intent::RangeShorter),
    (Scope::Normal, KeyBinding::plain('+'), Intent::RangeLonger),
    (Scope::Normal, KeyBinding::plain(' '), Intent::TogglePause),
    (Scope::Normal, KeyBinding::plain('v'), Intent::ToggleTable),
    (Scope::Normal, KeyBinding::key(K::Left), Intent::GraphCursorLeft),
    (Scope::Normal, KeyBinding::key(K::Right), Intent::GraphCursorRight),
    (Scope::Normal, KeyBinding::plain('h'), Intent::GraphCursorLeft),
    (Scope::Normal, KeyBinding::plain('l'), Intent::GraphCursorRight),
    (Scope::Normal, KeyBinding::key(K::Up), Intent::LegendUp),
    (Scope::Normal, KeyBinding::key(K::Down), Intent::LegendDown),
    (Scope::Normal, KeyBinding::plain('k'), Intent::LegendUp),
    (Scope::Normal, KeyBinding::plain('j'), Intent::LegendDown),
    (Scope::Normal, KeyBinding::key(K::Enter), Intent::LegendToggle),
    (Scope::Normal, KeyBinding::key(K::Tab), Intent::FocusNext),
    (Scope::Normal, KeyBinding::with(K::BackTab, M::SHIFT), Intent::FocusPrev),
    (Scope::Normal, KeyBinding::plain('z'), Intent::ToggleMaximize),
    (Scope::Normal, KeyBinding::plain('P'), Intent::NextLayout),
    (Scope::Normal, KeyBinding::plain('t'), Intent::Targets),
    (Scope::Normal, KeyBinding::plain('d'), Intent::Dashboard),
    (Scope::Normal, KeyBinding::plain('b'), Intent::Pin),
    (Scope::Editing, KeyBinding::key(K::Enter), Intent::Submit),
    (Scope::Editing, KeyBinding::key(K::Esc), Intent::Back),
    (Scope::Editing, KeyBinding::key(K::Tab), Intent::Complete),
    (Scope::Editing, KeyBinding::with(K::BackTab, M::SHIFT), Intent::CompletePrev),
    (Scope::Editing, KeyBinding::key(K::Up), Intent::HistoryPrev),
    (Scope::Editing, KeyBinding::key(K::Down), Intent::HistoryNext),
    (Scope::Editing, KeyBinding::ctrl('r'), Intent::HistorySearch),
    (Scope::Editing, KeyBinding::ctrl('u'), Intent::ClearLine),
    (Scope::Editing, KeyBinding::key(K::Left), Intent::CursorLeft),
    (Scope::Editing, KeyBinding::key(K::Right), Intent::CursorRight),
    (Scope::Editing, KeyBinding::key(K::Home), Intent::CursorHome),
    (Scope::Editing, KeyBinding::key(K::End), Intent::CursorEnd),
    (Scope::Editing, KeyBinding::ctrl('a'), Intent::CursorHome),
    (Scope::Editing, KeyBinding::ctrl('e'), Intent::CursorEnd),
    (Scope::Editing, KeyBinding::with(K::Left, M::CONTROL), Intent::WordLeft),
    (Scope::Editing, KeyBinding::with(K::Right, M::CONTROL), Intent::WordRight),
    (Scope::Editing, KeyBinding::alt('b'), Intent::WordLeft),
    (Scope::Editing, KeyBinding::alt('f'), Intent::WordRight),
    (Scope::Editing, KeyBinding::key(K::Backspace), Intent::DeleteBack),
    (Scope::Editing, KeyBinding::key(K::Delete), Intent::DeleteForward),
    (Scope::Editing, KeyBinding::ctrl('w'), Intent::DeleteWord),
    (Scope::Editing, KeyBinding::ctrl('k'), Intent::KillToEnd),
    (Scope::Targets, KeyBinding::key(K::Esc), Intent::Back),
    (Scope::Targets, KeyBinding::plain('t'), Intent::Back),
    (Scope::Targets, KeyBinding::plain('q'), Intent::Quit),
    (Scope::Targets, KeyBinding::key(K::Up), Intent::TargetUp),
    (Scope::Targets, KeyBinding::key(K::Down), Intent::TargetDown),
    (Scope::Targets, KeyBinding::plain('k'), Intent::TargetUp),
    (Scope::Targets, KeyBinding::plain('j'), Intent::TargetDown),
    (Scope::Targets, KeyBinding::key(K::Enter), Intent::TargetDetail),
    (Scope::Targets, KeyBinding::plain('/'), Intent::TargetFilter),
    (Scope::Targets, KeyBinding::plain('s'), Intent::TargetStateFilter),
    (Scope::Targets, KeyBinding::plain('g'), Intent::TargetGraph),
    (Scope::Targets, KeyBinding::plain('e'), Intent::Export),
    (Scope::Targets, KeyBinding::plain('?'), Intent::Help),
    (Scope::Dashboard, KeyBinding::key(K::Esc), Intent::Back),
    (Scope::Dashboard, KeyBinding::plain('d'), Intent::Back),
    (Scope::Dashboard, KeyBinding::plain('q'), Intent::Quit),
    (Scope::Dashboard, KeyBinding::key(K::Tab), Intent::PanelNext),
    (Scope::Dashboard, KeyBinding::with(K::BackTab, M::SHIFT), Intent::PanelPrev),
    (Scope::Dashboard, KeyBinding::key(K::Right), Intent::PanelNext),
    (Scope::Dashboard, KeyBinding::key(K::Left), Intent::PanelPrev),
    (Scope::Dashboard, KeyBinding::plain('l'), Intent::PanelNext),
    (Scope::Dashboard, KeyBinding::plain('h'), Intent::PanelPrev),
    (Scope::Dashboard, KeyBinding::key(K::Up), Intent::PanelUp),
    (Scope::Dashboard, KeyBinding::key(K::Down), Intent::PanelDown),
    (Scope::Dashboard, KeyBinding::plain('k'), Intent::PanelUp),
    (Scope::Dashboard, KeyBinding::plain('j'), Intent::PanelDown),
    (Scope::Dashboard, KeyBinding::key(K::PageUp), Intent::PanelUp),
    (Scope::Dashboard, KeyBinding::key(K::PageDown), Intent::PanelDown),
    (Scope::Dashboard, KeyBinding::key(K::Enter), Intent::PanelZoom),
    (Scope::Dashboard, KeyBinding::plain('z'), Intent::PanelZoom),
    (Scope::Dashboard, KeyBinding::plain('x'), Intent::Unpin),
    (Scope::Dashboard, KeyBinding::plain('-'), Intent::RangeShorter),
    (Scope::Dashboard, KeyBinding::plain('+'), Intent::RangeLonger),
    (Scope::Dashboard, KeyBinding::plain(' '), Intent::TogglePause),
    (Scope::Dashboard, KeyBinding::plain('e'), Intent::Export),
    (Scope::Dashboard, KeyBinding::plain('?'), Intent::Help),
    (Scope::Help, KeyBinding::key(K::Esc), Intent::Back),
    (Scope::Help, KeyBinding::plain('?'), Intent::Back),
    (Scope::Help, KeyBinding::plain('q'), Intent::Back),
    (Scope::Help, KeyBinding::key(K::Up), Intent::HelpUp),
    (Scope::Help, KeyBinding::key(K::Down), Intent::HelpDown),
    (Scope::Help, KeyBinding::plain('k'), Intent::HelpUp),
    (Scope::Help, KeyBinding::plain('j'), Intent::HelpDown),
];

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
                Scope::Dashboard,
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
        // Every intent with a description is bound somewhere.
        let rows = map.help_rows();
        assert!(rows.iter().any(|r| r.what == "targets"));
        assert!(rows.iter().any(|r| r.what == "maximise focused box"));
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
