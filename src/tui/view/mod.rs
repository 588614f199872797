//! The TUI's own state between frames: which boxes are shown, focused or maximised, the
//! input mode, the query bar's line, history and Tab completion, the time range the user
//! picked, the graph cursor and hidden series, the targets pane's state and the
//! dashboard's focus. It changes
//! only through `ViewState::apply`/`apply_with` (an intent from the keymap, with the
//! snapshot for the intents that need its data), `ViewState::type_char` (a typed
//! character) and `ViewState::observe` (a new snapshot); screens read it to lay themselves
//! out. Changes the app must carry out come
//! back as `Flow::Send(Action)`. Nothing here touches the terminal.

use crate::app::{Action, TimeRange, UiSnapshot};
use crate::tui::dashboard_view::DashboardView;
use crate::tui::editor::{History, LineEditor};
use crate::tui::keymap::{HelpRow, Intent};
use crate::tui::targets_view::TargetsView;
use crate::tui::theme::ThemeSet;
use crate::tui::widgets::GraphSymbols;

mod alerts;
mod cluster;
mod editing;
mod options;
mod sources;
pub use alerts::{
    AlertScreen, AlertsPane, DetailRef, FLASH_MS, Item as AlertItem, SILENCE_PRESETS,
};
pub use options::{INTERVALS_MS, OptionRow, OptionsView, ROWS as OPTION_ROWS, interval_label};
pub use sources::SourcePicker;

/// The boxes of the main screen, numbered as their toggle keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoxId {
    Cpu,
    Memory,
    Network,
    Disks,
    Query,
}

impl BoxId {
    /// Every box, in hotkey order.
    pub const ALL: [BoxId; 5] = [
        BoxId::Cpu,
        BoxId::Memory,
        BoxId::Network,
        BoxId::Disks,
        BoxId::Query,
    ];

    /// The number key that toggles this box (1..=5).
    pub fn number(self) -> u8 {
        match self {
            BoxId::Cpu => 1,
            BoxId::Memory => 2,
            BoxId::Network => 3,
            BoxId::Disks => 4,
            BoxId::Query => 5,
        }
    }

    /// The box a number key toggles.
    pub fn from_number(n: u8) -> Option<BoxId> {
        BoxId::ALL.into_iter().find(|b| b.number() == n)
    }

    /// The title drawn on the box's border.
    pub fn title(self) -> &'static str {
        match self {
            BoxId::Cpu => "cpu",
            BoxId::Memory => "mem",
            BoxId::Network => "net",
            BoxId::Disks => "disks",
            BoxId::Query => "query",
        }
    }

    /// The box's name in the settings file (`cpu`, `mem`, `net`, `disks`, `query`).
    pub fn setting_name(self) -> &'static str {
        self.title()
    }

    /// The box a settings-file name means.
    pub fn from_setting_name(name: &str) -> Option<BoxId> {
        BoxId::ALL.into_iter().find(|b| b.setting_name() == name)
    }

    fn index(self) -> usize {
        usize::from(self.number() - 1)
    }
}

/// What keys do at the moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Keys are commands on the boxes.
    #[default]
    Normal,
    /// Keys edit the query bar.
    Query,
    /// Keys edit the `:` command line.
    Command,
    /// The help overlay is open.
    Help,
    /// The targets pane is open.
    Targets,
    /// Keys edit the targets pane's filter.
    TargetFilter,
    /// The options menu is open.
    Options,
    /// The dashboard is open.
    Dashboard,
    /// The cluster browser (nodes, pods, a pod's detail) is open.
    Cluster,
    /// Keys edit the cluster table's filter.
    ClusterFilter,
    /// The alerts pane (list, an alert's detail, or the rules view) is open.
    Alerts,
    /// Keys edit the alerts pane's filter.
    AlertFilter,
    /// Picking how long to silence an alert (over the alerts pane).
    SilencePick,
    /// Picking the query source (`:source`), over the screen it was opened on.
    SourcePick,
}

/// What the event loop does after an intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
    /// Hand the app a copy of the screen to export.
    Export,
    /// Hand the app an action (run a query, change the time range).
    Send(Action),
}

/// The time range presets `-` and `+` step through.
pub const RANGE_PRESETS: [(&str, i64); 5] = [
    ("5m", 5 * 60_000),
    ("15m", 15 * 60_000),
    ("1h", 3_600_000),
    ("6h", 6 * 3_600_000),
    ("24h", 24 * 3_600_000),
];

/// The `{job="…", instance="…"}` selector of a target's `up` series.
fn up_selector(labels: &crate::model::Labels) -> String {
    let quote = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
    let parts: Vec<String> = ["job", "instance"]
        .into_iter()
        .filter_map(|n| labels.get(n).map(|v| format!("{n}=\"{}\"", quote(v))))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// What identifies a panel series across refreshes (for hiding it).
pub fn series_key(s: &crate::app::PanelSeries) -> String {
    format!("{}#{}", s.query, s.labels)
}

/// One completion candidate as the query bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// What replaces the word being completed.
    pub text: String,
    /// What the list shows.
    pub label: String,
    /// A hint beside it (a function's signature, the kind of name).
    pub detail: String,
}

/// A Tab completion under way: the candidates, the one in the line, and where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionView {
    pub candidates: Vec<Candidate>,
    pub selected: usize,
    /// Byte offset where the candidate starts in the line.
    start: usize,
    /// The line as the candidate left it: any other edit ends the completion.
    line: String,
}

/// The layout presets `P` cycles through: a name and the boxes shown.
pub const LAYOUTS: [(&str, &[BoxId]); 4] = [
    ("everything", &BoxId::ALL),
    ("query", &[BoxId::Cpu, BoxId::Query]),
    (
        "overview",
        &[BoxId::Cpu, BoxId::Memory, BoxId::Network, BoxId::Disks],
    ),
    ("query only", &[BoxId::Query]),
];

/// The preset shown at start (15m).
const DEFAULT_PRESET: usize = 1;

/// View state: what is visible and what is being typed. Starts with every box shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewState {
    shown: [bool; 5],
    pub mode: Mode,
    /// The mode the help overlay returns to.
    before_help: Mode,
    /// The query bar's line.
    pub query: LineEditor,
    pub history: History,
    /// The `:` command line.
    pub command: LineEditor,
    /// Index into `RANGE_PRESETS`.
    pub range_preset: usize,
    /// The end of a frozen range (ms); `None` follows now.
    pub paused_at: Option<i64>,
    /// The newest data time seen (ms), where a pause freezes the range.
    pub now_ms: i64,
    /// Table instead of graph in the query panel.
    pub table: bool,
    /// A message of the TUI's own for the status line (an unknown command).
    pub message: Option<String>,
    /// The help overlay's rows, from the keymap in use.
    pub help: Vec<HelpRow>,
    /// The keymap in use, for the status line's key hints (remapped keys show there).
    pub keys: crate::tui::keymap::Keymap,
    /// The Tab completion under way in the query bar, if any.
    pub completion: Option<CompletionView>,
    /// The graph's value cursor: steps back from the newest, `None` when off.
    pub cursor_back: Option<usize>,
    /// The selected legend entry.
    pub legend_selected: Option<usize>,
    /// Hidden series of the query panel, by their label text.
    pub hidden: std::collections::BTreeSet<String>,
    /// The legend's label texts in entry order (the latest drawn panel's), so a toggle
    /// names the series.
    pub legend_keys: Vec<String>,
    /// How graphs draw: braille, block or tty characters.
    pub symbols: GraphSymbols,
    /// Rows the help overlay is scrolled down.
    pub help_scroll: usize,
    /// The box with the focus (its border is highlighted), if any.
    pub focus: Option<BoxId>,
    /// The box that has the whole screen, if any.
    pub maximized: Option<BoxId>,
    /// Index into `LAYOUTS` of the last preset picked.
    pub layout: usize,
    /// The targets pane.
    pub targets: TargetsView,
    /// The colour themes there are and the one in use (`T`, `:theme NAME`).
    pub themes: ThemeSet,
    /// The options menu (`o`).
    pub options: OptionsView,
    /// The dashboard's focus and maximised panel.
    pub dashboard: DashboardView,
    /// The cluster browser's screens, tables and namespace.
    pub cluster: crate::tui::cluster_view::ClusterBrowser,
    /// The alerts pane, and the header's flash for a newly firing alert.
    pub alerts: AlertsPane,
    /// The `:source` picker.
    pub sources: SourcePicker,
    /// The mode the `:` command line returns to.
    command_from: Mode,
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            shown: [true; 5],
            mode: Mode::Normal,
            before_help: Mode::Normal,
            query: LineEditor::default(),
            history: History::default(),
            command: LineEditor::default(),
            range_preset: DEFAULT_PRESET,
            paused_at: None,
            now_ms: 0,
            table: false,
            message: None,
            help: crate::tui::keymap::Keymap::default().help_rows(),
            keys: crate::tui::keymap::Keymap::default(),
            completion: None,
            cursor_back: None,
            legend_selected: None,
            hidden: Default::default(),
            legend_keys: Vec::new(),
            symbols: GraphSymbols::default(),
            help_scroll: 0,
            focus: None,
            maximized: None,
            layout: 0,
            targets: TargetsView::default(),
            themes: ThemeSet::default(),
            options: OptionsView::default(),
            dashboard: DashboardView::default(),
            cluster: Default::default(),
            alerts: AlertsPane::default(),
            sources: SourcePicker::default(),
            command_from: Mode::Normal,
        }
    }
}

impl ViewState {
    pub fn is_shown(&self, id: BoxId) -> bool {
        self.shown[id.index()]
    }

    pub fn set_shown(&mut self, id: BoxId, shown: bool) {
        self.shown[id.index()] = shown;
    }

    /// The screen under the help overlay (the current mode when help is closed).
    pub fn screen_mode(&self) -> Mode {
        let mode = match self.mode {
            Mode::Help => self.before_help,
            Mode::Options => self.options.returns_to(),
            Mode::SourcePick => self.sources.before,
            mode => mode,
        };
        match mode {
            // The alerts pane stays under its picker and under a command typed there.
            Mode::SilencePick => Mode::Alerts,
            Mode::Command if matches!(self.command_from, Mode::Alerts | Mode::SilencePick) => {
                Mode::Alerts
            }
            mode => mode,
        }
    }

    /// What `b` pins: the query bar's line, or (with nothing typed) the query panel's.
    fn pin(&mut self, panel_query: Option<&str>) -> Flow {
        let typed = self.query.text().trim();
        let expr = if typed.is_empty() {
            panel_query.unwrap_or("")
        } else {
            typed
        };
        if expr.is_empty() {
            self.message = Some("nothing to pin: type a query first (/)".into());
            return Flow::Continue;
        }
        Flow::Send(Action::Pin {
            expr: expr.to_string(),
        })
    }

    /// Where the `:` command line goes back to: the cluster browser when it was opened
    /// there, the boxes otherwise.
    fn after_command(&self) -> Mode {
        match self.command_from {
            Mode::Cluster => Mode::Cluster,
            Mode::Alerts | Mode::SilencePick => Mode::Alerts,
            _ => Mode::Normal,
        }
    }

    /// The time range the user picked.
    pub fn time_range(&self) -> TimeRange {
        TimeRange {
            span_ms: RANGE_PRESETS[self.range_preset.min(RANGE_PRESETS.len() - 1)].1,
            end_ms: self.paused_at.unwrap_or(0),
            paused: self.paused_at.is_some(),
        }
    }

    /// Applies one intent; says what the loop should do next.
    pub fn apply(&mut self, intent: Intent) -> Flow {
        self.message = None;
        if !matches!(intent, Intent::Complete | Intent::CompletePrev) {
            self.completion = None;
        }
        match intent {
            Intent::Quit => Flow::Quit,
            Intent::Export => Flow::Export,
            Intent::ToggleBox(id) => {
                let shown = self.is_shown(id);
                self.set_shown(id, !shown);
                if shown && self.maximized == Some(id) {
                    self.maximized = None;
                }
                if shown && self.focus == Some(id) {
                    self.focus = None;
                }
                Flow::Continue
            }
            Intent::FocusNext | Intent::FocusPrev => {
                let shown: Vec<BoxId> = BoxId::ALL
                    .into_iter()
                    .filter(|b| self.is_shown(*b) && self.maximized.is_none_or(|m| m == *b))
                    .collect();
                let n = shown.len();
                if n > 0 {
                    let at = self.focus.and_then(|f| shown.iter().position(|b| *b == f));
                    let next = match (at, intent) {
                        (None, Intent::FocusPrev) => n - 1,
                        (None, _) => 0,
                        (Some(i), Intent::FocusPrev) => (i + n - 1) % n,
                        (Some(i), _) => (i + 1) % n,
                    };
                    self.focus = Some(shown[next]);
                }
                Flow::Continue
            }
            Intent::Targets => {
                self.mode = Mode::Targets;
                // Leaving an alert's detail: its graph is no longer needed.
                if self.alerts.detail.take().is_some() {
                    self.alerts.screen = AlertScreen::List;
                    return Flow::Send(Action::ShowAlertGraph(None));
                }
                Flow::Continue
            }
            Intent::TargetDetail => {
                self.targets.detail = !self.targets.detail;
                Flow::Continue
            }
            Intent::TargetFilter => {
                self.mode = Mode::TargetFilter;
                self.targets.detail = false;
                Flow::Continue
            }
            Intent::TargetStateFilter => {
                self.targets.state = self.targets.state.next();
                self.targets.selected = 0;
                Flow::Continue
            }
            Intent::Options
            | Intent::OptionUp
            | Intent::OptionDown
            | Intent::OptionLess
            | Intent::OptionMore => self.apply_option(intent),
            Intent::Back if self.mode == Mode::Options => self.apply_option(intent),
            Intent::NextTheme => {
                self.message = Some(self.themes.cycle(false));
                Flow::Continue
            }
            // These need the snapshot's targets or dashboard: `apply_with` does them.
            Intent::TargetUp
            | Intent::TargetDown
            | Intent::TargetGraph
            | Intent::PanelNext
            | Intent::PanelPrev
            | Intent::PanelUp
            | Intent::PanelDown
            | Intent::Unpin => Flow::Continue,
            // The cluster browser's and the alerts pane's keys need their rows:
            // `apply_with` does them.
            i if i.is_cluster() || i.is_alerts() || i.is_source() => Flow::Continue,
            Intent::Dashboard => {
                self.mode = Mode::Dashboard;
                Flow::Send(Action::ShowDashboard(true))
            }
            Intent::PanelZoom => {
                self.dashboard.maximized = !self.dashboard.maximized;
                Flow::Continue
            }
            Intent::Pin => self.pin(None),
            Intent::NextLayout => {
                self.layout = (self.layout + 1) % LAYOUTS.len();
                let (name, boxes) = LAYOUTS[self.layout];
                for b in BoxId::ALL {
                    self.set_shown(b, boxes.contains(&b));
                }
                self.maximized = None;
                self.focus = self.focus.filter(|f| boxes.contains(f));
                self.message = Some(format!("layout: {name}"));
                Flow::Continue
            }
            Intent::ToggleMaximize => {
                self.maximized = match self.maximized {
                    Some(_) => None,
                    None => {
                        // Without a focus, the query box (when shown) is the one.
                        let target = self.focus.or(Some(BoxId::Query));
                        target.filter(|b| self.is_shown(*b))
                    }
                };
                if self.maximized.is_some() {
                    self.focus = self.maximized;
                }
                Flow::Continue
            }
            Intent::FocusQuery => {
                self.mode = Mode::Query;
                self.set_shown(BoxId::Query, true);
                self.query.end();
                Flow::Continue
            }
            Intent::OpenCommand => {
                self.command_from = self.mode;
                self.mode = Mode::Command;
                self.command.clear();
                Flow::Continue
            }
            Intent::Help => {
                self.before_help = self.mode;
                self.mode = Mode::Help;
                self.help_scroll = 0;
                Flow::Continue
            }
            Intent::HelpUp => {
                self.help_scroll = self.help_scroll.saturating_sub(1);
                Flow::Continue
            }
            Intent::HelpDown => {
                // The overlay clamps it to what there is to show.
                self.help_scroll = (self.help_scroll + 1).min(self.help.len() * 2);
                Flow::Continue
            }
            Intent::Back => {
                match self.mode {
                    Mode::Help => self.mode = self.before_help,
                    Mode::Query if self.history.searching() => {
                        self.history.end_search(&mut self.query, false)
                    }
                    Mode::Query => self.mode = Mode::Normal,
                    Mode::Command => self.mode = self.after_command(),
                    Mode::TargetFilter => self.mode = Mode::Targets,
                    Mode::ClusterFilter => self.mode = Mode::Cluster,
                    Mode::Cluster => return self.cluster_back(),
                    Mode::AlertFilter => self.mode = Mode::Alerts,
                    Mode::Alerts | Mode::SilencePick => return self.alerts_back(),
                    Mode::SourcePick => self.mode = self.sources.before,
                    Mode::Targets if self.targets.detail => self.targets.detail = false,
                    Mode::Targets => self.mode = Mode::Normal,
                    // `apply` hands Back in the menu to `apply_option`.
                    Mode::Options => {}
                    Mode::Dashboard if self.dashboard.maximized => self.dashboard.maximized = false,
                    Mode::Dashboard => {
                        self.mode = Mode::Normal;
                        return Flow::Send(Action::ShowDashboard(false));
                    }
                    Mode::Normal => {
                        self.cursor_back = None;
                        self.legend_selected = None;
                    }
                }
                Flow::Continue
            }
            Intent::Submit => self.submit(),
            Intent::RangeShorter | Intent::RangeLonger => {
                let last = RANGE_PRESETS.len() - 1;
                self.range_preset = if intent == Intent::RangeShorter {
                    self.range_preset.saturating_sub(1)
                } else {
                    (self.range_preset + 1).min(last)
                };
                Flow::Send(Action::SetRange(self.time_range()))
            }
            Intent::TogglePause => {
                self.paused_at = match self.paused_at {
                    Some(_) => None,
                    None => Some(self.now_ms),
                };
                Flow::Send(Action::SetRange(self.time_range()))
            }
            Intent::ToggleTable => {
                self.table = !self.table;
                Flow::Continue
            }
            Intent::GraphCursorLeft => {
                self.cursor_back = Some(self.cursor_back.map_or(0, |b| b + 1));
                Flow::Continue
            }
            Intent::GraphCursorRight => {
                self.cursor_back = match self.cursor_back {
                    Some(0) | None => None,
                    Some(b) => Some(b - 1),
                };
                Flow::Continue
            }
            Intent::LegendUp | Intent::LegendDown => {
                if !self.legend_keys.is_empty() {
                    let last = self.legend_keys.len() - 1;
                    self.legend_selected = Some(match (self.legend_selected, intent) {
                        (None, Intent::LegendUp) => last,
                        (None, _) => 0,
                        (Some(i), Intent::LegendUp) => i.saturating_sub(1),
                        (Some(i), _) => (i + 1).min(last),
                    });
                }
                Flow::Continue
            }
            Intent::LegendToggle => {
                if let Some(i) = self.legend_selected {
                    self.toggle_series(i);
                }
                Flow::Continue
            }
            // Completion needs the snapshot's index: the event loop does it.
            Intent::Complete | Intent::CompletePrev => Flow::Continue,
            edit => {
                self.edit(edit);
                Flow::Continue
            }
        }
    }

    /// `apply`, with the snapshot for the intents that need its data (moving in the
    /// targets list, graphing a target).
    pub fn apply_with(&mut self, intent: Intent, snap: &UiSnapshot) -> Flow {
        match intent {
            i if i.is_cluster() => self.apply_cluster(intent, snap),
            i if i.is_alerts() => self.apply_alerts(intent, snap),
            i if i.is_source() => self.apply_source(intent, snap),
            Intent::Submit if self.mode == Mode::Command => {
                // `:silence` needs the snapshot's alerts, `:source` its sources.
                let line = self.command.text().trim().to_string();
                let mut words = line.split_whitespace();
                if line == "source" {
                    self.mode = self.after_command();
                    self.message = None;
                    return self.open_source_picker(snap);
                }
                if words.next() == Some("silence") {
                    self.mode = self.after_command();
                    self.message = None;
                    return self.silence_command(words.next(), snap);
                }
                self.apply(intent)
            }
            Intent::TargetUp | Intent::TargetDown => {
                let len = self.targets.visible(self.targets.rows(snap)).len();
                let delta = if intent == Intent::TargetUp { -1 } else { 1 };
                self.targets.move_selection(delta, len);
                Flow::Continue
            }
            Intent::GraphCursorLeft => {
                // Not past the panel's first step.
                let steps = snap
                    .panels
                    .iter()
                    .find(|p| p.id == 0)
                    .map_or(0, |p| (p.end_ms - p.start_ms) / p.step_ms.max(1));
                let max = usize::try_from(steps).unwrap_or(0);
                self.cursor_back = Some(self.cursor_back.map_or(0, |b| (b + 1).min(max)));
                Flow::Continue
            }
            Intent::PanelNext
            | Intent::PanelPrev
            | Intent::PanelUp
            | Intent::PanelDown
            | Intent::Unpin => {
                self.message = None;
                match self.dashboard.apply(intent, &snap.dashboard) {
                    Ok(Some(action)) => Flow::Send(action),
                    Ok(None) => Flow::Continue,
                    Err(why) => {
                        self.message = Some(why);
                        Flow::Continue
                    }
                }
            }
            Intent::Pin => {
                self.message = None;
                let shown = snap
                    .panels
                    .iter()
                    .find(|p| p.id == 0)
                    .and_then(|p| p.queries.first());
                self.pin(shown.map(String::as_str))
            }
            Intent::TargetGraph => {
                // A dropped target has no series.
                let Some(row) = self
                    .targets
                    .selected_row(self.targets.rows(snap))
                    .filter(|r| !r.labels.is_empty())
                else {
                    return Flow::Continue;
                };
                let expr = format!("up{}", up_selector(&row.labels));
                self.query.set(&expr);
                self.history.push(&expr);
                self.mode = Mode::Normal;
                self.targets.detail = false;
                self.set_shown(BoxId::Query, true);
                Flow::Send(Action::RunQuery { expr })
            }
            other => self.apply(other),
        }
    }

    /// Takes in what a new snapshot changes for the view: the time, and the query panel's
    /// series (the legend's entries).
    pub fn observe(&mut self, snap: &UiSnapshot) {
        self.now_ms = snap.at_ms;
        self.observe_alerts(snap);
        if self.options.interval_ms <= 0 {
            self.options.interval_ms = snap.step_ms;
        }
        self.legend_keys = snap
            .panels
            .iter()
            .find(|p| p.id == 0)
            .map(|p| p.series.iter().map(series_key).collect())
            .unwrap_or_default();
        if let Some(i) = self.legend_selected
            && i >= self.legend_keys.len()
        {
            self.legend_selected = self.legend_keys.len().checked_sub(1);
        }
    }

    /// Hides or shows legend entry `i` of the query panel.
    pub fn toggle_series(&mut self, i: usize) {
        if let Some(key) = self.legend_keys.get(i) {
            if !self.hidden.remove(key) {
                self.hidden.insert(key.clone());
            }
            self.legend_selected = Some(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toggling_and_quitting() {
        let mut view = ViewState::default();
        assert!(BoxId::ALL.iter().all(|b| view.is_shown(*b)));
        assert_eq!(
            view.apply(Intent::ToggleBox(BoxId::Network)),
            Flow::Continue
        );
        assert!(!view.is_shown(BoxId::Network));
        assert!(view.is_shown(BoxId::Cpu));
        view.apply(Intent::ToggleBox(BoxId::Network));
        assert!(view.is_shown(BoxId::Network));
        assert_eq!(view.apply(Intent::Export), Flow::Export);
        assert_eq!(view.mode, Mode::Normal);
        assert!(BoxId::ALL.iter().all(|b| view.is_shown(*b)));
        assert_eq!(view.apply(Intent::Quit), Flow::Quit);
    }

    #[test]
    fn numbers_round_trip() {
        for id in BoxId::ALL {
            assert_eq!(BoxId::from_number(id.number()), Some(id));
        }
        assert_eq!(BoxId::from_number(0), None);
        assert_eq!(BoxId::from_number(6), None);
    }
}

#[cfg(test)]
mod query_tests {
    use super::*;

    fn typed(view: &mut ViewState, text: &str) {
        for c in text.chars() {
            view.type_char(c);
        }
    }

    #[test]
    fn slash_types_a_query_and_enter_runs_it() {
        let mut view = ViewState::default();
        view.set_shown(BoxId::Query, false);
        typed(&mut view, "ignored in normal mode");
        assert_eq!(view.query.text(), "");
        view.apply(Intent::FocusQuery);
        assert_eq!(view.mode, Mode::Query);
        assert!(view.is_shown(BoxId::Query));
        typed(&mut view, "rate(up[5m]) ");
        assert_eq!(
            view.apply(Intent::Submit),
            Flow::Send(Action::RunQuery {
                expr: "rate(up[5m])".into()
            })
        );
        assert_eq!(view.mode, Mode::Normal);
        assert_eq!(view.query.text(), "rate(up[5m]) ");
        view.apply(Intent::FocusQuery);
        view.apply(Intent::ClearLine);
        typed(&mut view, "up");
        view.apply(Intent::HistoryPrev);
        assert_eq!(view.query.text(), "rate(up[5m])");
        view.apply(Intent::HistoryNext);
        assert_eq!(view.query.text(), "up");
        view.apply(Intent::Back);
        assert_eq!(view.mode, Mode::Normal);
    }

    #[test]
    fn ctrl_r_in_the_query_bar() {
        let mut view = ViewState {
            history: History::new(vec!["sum(a)".into(), "max(b)".into()]),
            ..ViewState::default()
        };
        view.apply(Intent::FocusQuery);
        view.apply(Intent::HistorySearch);
        typed(&mut view, "su");
        assert_eq!(view.query.text(), "sum(a)");
        view.apply(Intent::DeleteBack);
        view.apply(Intent::DeleteBack);
        assert_eq!(view.history.search_status(), Some(("", true)));
        typed(&mut view, "max");
        // Moving the cursor accepts the match and edits it.
        view.apply(Intent::CursorHome);
        assert!(!view.history.searching());
        view.apply(Intent::DeleteForward);
        assert_eq!(view.query.text(), "ax(b)");
    }

    fn cand(text: &str) -> Candidate {
        Candidate {
            text: text.into(),
            label: text.into(),
            detail: String::new(),
        }
    }

    #[test]
    fn tab_completion_inserts_and_cycles() {
        let mut view = ViewState::default();
        view.apply(Intent::FocusQuery);
        typed(&mut view, "sum(node_c");
        view.start_completion(
            vec![
                cand("node_cpu_seconds_total"),
                cand("node_context_switches_total"),
            ],
            4..10,
        );
        assert_eq!(view.query.text(), "sum(node_cpu_seconds_total");
        assert!(view.completing());
        view.cycle_completion(false);
        assert_eq!(view.query.text(), "sum(node_context_switches_total");
        view.cycle_completion(false);
        assert_eq!(view.query.text(), "sum(node_cpu_seconds_total");
        view.cycle_completion(true);
        assert_eq!(view.query.text(), "sum(node_context_switches_total");
        // Typing ends it.
        typed(&mut view, ")");
        assert!(view.completion.is_none());
        assert!(!view.completing());
        // One candidate goes straight in; none says so.
        view.start_completion(vec![cand(" by")], 33..33);
        assert_eq!(view.query.text(), "sum(node_context_switches_total) by");
        assert!(view.completion.is_none());
        view.start_completion(vec![], 0..0);
        assert_eq!(view.message.as_deref(), Some("no completions here"));
    }

    #[test]
    fn range_presets_and_pause() {
        let mut view = ViewState::default();
        assert_eq!(view.time_range().span_ms, 15 * 60_000);
        for _ in 0..9 {
            view.apply(Intent::RangeLonger);
        }
        assert_eq!(view.time_range().span_ms, 24 * 3_600_000);
        view.apply(Intent::RangeShorter);
        assert_eq!(view.time_range().span_ms, 6 * 3_600_000);
        view.now_ms = 1_700_000_000_000;
        let flow = view.apply(Intent::TogglePause);
        let want = TimeRange {
            span_ms: 6 * 3_600_000,
            end_ms: 1_700_000_000_000,
            paused: true,
        };
        assert_eq!(flow, Flow::Send(Action::SetRange(want)));
        view.apply(Intent::TogglePause);
        assert!(!view.time_range().paused);
    }

    #[test]
    fn focus_cycles_over_shown_boxes_and_maximise_toggles() {
        let mut view = ViewState::default();
        view.set_shown(BoxId::Memory, false);
        view.apply(Intent::FocusNext);
        assert_eq!(view.focus, Some(BoxId::Cpu));
        view.apply(Intent::FocusNext);
        assert_eq!(view.focus, Some(BoxId::Network));
        view.apply(Intent::FocusPrev);
        view.apply(Intent::FocusPrev);
        assert_eq!(view.focus, Some(BoxId::Query));
        view.apply(Intent::ToggleMaximize);
        assert_eq!(view.maximized, Some(BoxId::Query));
        // While maximised the focus stays on it.
        view.apply(Intent::FocusNext);
        assert_eq!(view.focus, Some(BoxId::Query));
        view.apply(Intent::ToggleMaximize);
        assert_eq!(view.maximized, None);
        view.apply(Intent::FocusNext);
        view.apply(Intent::ToggleMaximize);
        assert_eq!(view.maximized, Some(BoxId::Cpu));
        // Hiding the maximised box gives the screen back.
        view.apply(Intent::ToggleBox(BoxId::Cpu));
        assert_eq!((view.maximized, view.focus), (None, None));
        // No focus: `z` maximises the query box.
        view.apply(Intent::ToggleMaximize);
        assert_eq!(view.maximized, Some(BoxId::Query));
    }

    #[test]
    fn layout_presets_cycle() {
        let mut view = ViewState::default();
        view.apply(Intent::ToggleMaximize);
        view.apply(Intent::NextLayout);
        assert_eq!(view.message.as_deref(), Some("layout: query"));
        assert_eq!(view.maximized, None);
        let shown: Vec<BoxId> = BoxId::ALL
            .into_iter()
            .filter(|b| view.is_shown(*b))
            .collect();
        assert_eq!(shown, [BoxId::Cpu, BoxId::Query]);
        view.apply(Intent::NextLayout);
        assert!(!view.is_shown(BoxId::Query) && view.is_shown(BoxId::Disks));
        view.apply(Intent::NextLayout);
        view.apply(Intent::NextLayout);
        assert!(BoxId::ALL.iter().all(|b| view.is_shown(*b)));
        assert_eq!(view.message.as_deref(), Some("layout: everything"));
    }

    #[test]
    fn dashboard_opens_moves_pins_unpins_and_closes() {
        use crate::app::{DashboardCell, DashboardLayout, DashboardRow};
        let mut snap = UiSnapshot::default();
        let cell = |id| DashboardCell {
            id,
            width: 1,
            ..DashboardCell::default()
        };
        snap.dashboard = std::sync::Arc::new(DashboardLayout {
            title: "t".into(),
            rows: vec![
                DashboardRow {
                    height: None,
                    pinned: false,
                    panels: vec![cell(1), cell(2)],
                },
                DashboardRow {
                    height: None,
                    pinned: true,
                    panels: vec![cell(3)],
                },
            ],
        });
        snap.panels = vec![crate::tui::fixture::sample_panel()];
        let mut view = ViewState::default();
        // `b` pins the panel's query when nothing is typed, else the typed line.
        assert_eq!(
            view.apply_with(Intent::Pin, &snap),
            Flow::Send(Action::Pin {
                expr: "rate(node_network_receive_bytes_total[1m])".into()
            })
        );
        view.query.set("up ");
        assert_eq!(
            view.apply_with(Intent::Pin, &snap),
            Flow::Send(Action::Pin { expr: "up".into() })
        );
        view.query.set("");
        assert_eq!(
            view.apply_with(Intent::Pin, &UiSnapshot::default()),
            Flow::Continue
        );
        assert_eq!(
            view.message.as_deref(),
            Some("nothing to pin: type a query first (/)")
        );

        assert_eq!(
            view.apply_with(Intent::Dashboard, &snap),
            Flow::Send(Action::ShowDashboard(true))
        );
        assert_eq!(view.mode, Mode::Dashboard);
        assert_eq!(view.apply_with(Intent::Unpin, &snap), Flow::Continue);
        assert!(
            view.message
                .as_deref()
                .is_some_and(|m| m.starts_with("only pinned"))
        );
        view.apply_with(Intent::PanelDown, &snap);
        assert_eq!(
            view.apply_with(Intent::Unpin, &snap),
            Flow::Send(Action::Unpin { id: 3 })
        );
        view.apply_with(Intent::PanelZoom, &snap);
        assert!(view.dashboard.maximized);
        // Help returns to the dashboard, which stays the screen underneath.
        view.apply_with(Intent::Help, &snap);
        assert_eq!(view.screen_mode(), Mode::Dashboard);
        view.apply_with(Intent::Back, &snap);
        assert_eq!(view.mode, Mode::Dashboard);
        // Esc restores the maximised panel first, then leaves.
        assert_eq!(view.apply_with(Intent::Back, &snap), Flow::Continue);
        assert!(!view.dashboard.maximized);
        assert_eq!(
            view.apply_with(Intent::Back, &snap),
            Flow::Send(Action::ShowDashboard(false))
        );
        assert_eq!(view.mode, Mode::Normal);
    }

    #[test]
    fn commands_and_help() {
        let mut view = ViewState::default();
        view.apply(Intent::OpenCommand);
        typed(&mut view, "range 1h");
        assert!(
            matches!(view.apply(Intent::Submit), Flow::Send(Action::SetRange(r)) if r.span_ms == 3_600_000)
        );
        view.apply(Intent::OpenCommand);
        typed(&mut view, "range 2h");
        assert_eq!(view.apply(Intent::Submit), Flow::Continue);
        assert_eq!(
            view.message.as_deref(),
            Some(":range 2h: not a preset (one of 5m, 15m, 1h, 6h, 24h)")
        );
        view.apply(Intent::OpenCommand);
        typed(&mut view, "bogus");
        view.apply(Intent::Submit);
        assert_eq!(
            view.message.as_deref(),
            Some(":bogus: unknown command (try :help)")
        );
        view.apply(Intent::FocusQuery);
        view.apply(Intent::Help);
        assert_eq!(view.mode, Mode::Help);
        view.apply(Intent::Back);
        assert_eq!(view.mode, Mode::Query);
        view.apply(Intent::Back);
        view.apply(Intent::OpenCommand);
        typed(&mut view, "q");
        assert_eq!(view.apply(Intent::Submit), Flow::Quit);
    }

    #[test]
    fn theme_key_and_command() {
        let mut view = ViewState::default();
        assert_eq!(view.themes.current_name(), "default");
        assert_eq!(view.apply(Intent::NextTheme), Flow::Continue);
        assert_eq!(view.themes.current_name(), "nord");
        assert_eq!(view.message.as_deref(), Some("theme: nord (2/9)"));
        view.apply(Intent::OpenCommand);
        typed(&mut view, "theme terminal");
        view.apply(Intent::Submit);
        assert_eq!(view.themes.full().name, "terminal");
        assert_eq!(view.message.as_deref(), Some("theme: terminal (9/9)"));
        view.apply(Intent::OpenCommand);
        typed(&mut view, "theme solarized-light");
        view.apply(Intent::Submit);
        assert_eq!(
            view.message.as_deref(),
            Some(
                "no theme solarized-light; try: default, nord, gruvbox-dark, dracula, \
                 solarized-dark, tokyo-night, light, high-contrast, terminal"
            )
        );
        assert_eq!(view.themes.full().name, "terminal");
        view.apply(Intent::OpenCommand);
        typed(&mut view, "theme");
        view.apply(Intent::Submit);
        assert!(
            view.message
                .as_deref()
                .is_some_and(|m| m.starts_with("theme: terminal; there are default, nord,"))
        );
        // `T` wraps around.
        view.apply(Intent::NextTheme);
        assert_eq!(view.themes.current_name(), "default");
    }
}
