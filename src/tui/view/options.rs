//! The options menu (`o`), like bpytop's: the refresh interval, the colour theme, the graph
//! symbols, the alert bell and the boxes shown, each changed in place with ←/→ (Enter or Space toggles a
//! box). Interval changes go to the app at once (`Action::SetInterval`); closing the menu
//! after any change asks the app to save the options (`Action::SaveOptions`) in the
//! settings file. The screens draw it from `ViewState::options`.

use super::{BoxId, Flow, Mode, ViewState};
use crate::app::{Action, SavedOptions};
use crate::tui::keymap::Intent;
use crate::tui::widgets::GraphSymbols;

/// The refresh intervals the menu steps through (ms).
pub const INTERVALS_MS: [i64; 6] = [500, 1000, 2000, 5000, 10_000, 30_000];

/// One row of the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionRow {
    Interval,
    Theme,
    Graph,
    /// Ring the terminal bell when an alert starts firing.
    Bell,
    Box(BoxId),
}

/// The rows, top to bottom.
pub const ROWS: [OptionRow; 9] = [
    OptionRow::Interval,
    OptionRow::Theme,
    OptionRow::Graph,
    OptionRow::Bell,
    OptionRow::Box(BoxId::Cpu),
    OptionRow::Box(BoxId::Memory),
    OptionRow::Box(BoxId::Network),
    OptionRow::Box(BoxId::Disks),
    OptionRow::Box(BoxId::Query),
];

/// The menu's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionsView {
    /// Index into `ROWS`.
    pub selected: usize,
    /// The refresh interval in use (ms): the snapshots' step until the user picks one.
    pub interval_ms: i64,
    /// Whether anything changed since the menu opened (closing saves then).
    pub changed: bool,
    /// The mode the menu returns to.
    before: Mode,
}

impl OptionsView {
    /// The mode closing the menu goes back to (the screen drawn behind it).
    pub fn returns_to(&self) -> Mode {
        self.before
    }
}

/// `ms` as the menu shows it: `500ms`, `2s`, `1m`.
pub fn interval_label(ms: i64) -> String {
    crate::model::format_duration(std::time::Duration::from_millis(ms.max(0) as u64))
}

impl ViewState {
    /// The options intents (`apply` hands them here).
    pub(super) fn apply_option(&mut self, intent: Intent) -> Flow {
        match intent {
            Intent::Options => {
                if self.mode != Mode::Options {
                    self.options.before = self.mode;
                }
                self.options.changed = false;
                self.mode = Mode::Options;
            }
            Intent::OptionUp => {
                let o = &mut self.options;
                o.selected = o.selected.checked_sub(1).unwrap_or(ROWS.len() - 1);
            }
            Intent::OptionDown => {
                let o = &mut self.options;
                o.selected = (o.selected + 1) % ROWS.len();
            }
            Intent::OptionLess | Intent::OptionMore => {
                let forward = intent == Intent::OptionMore;
                self.options.changed = true;
                match ROWS[self.options.selected.min(ROWS.len() - 1)] {
                    OptionRow::Interval => {
                        let o = &mut self.options;
                        let at = INTERVALS_MS
                            .iter()
                            .position(|&ms| ms >= o.interval_ms)
                            .unwrap_or(INTERVALS_MS.len() - 1);
                        let next = if forward {
                            (at + 1).min(INTERVALS_MS.len() - 1)
                        } else {
                            at.saturating_sub(1)
                        };
                        o.interval_ms = INTERVALS_MS[next];
                        let d = std::time::Duration::from_millis(o.interval_ms as u64);
                        return Flow::Send(Action::SetInterval(d));
                    }
                    OptionRow::Theme => self.message = Some(self.themes.cycle(!forward)),
                    OptionRow::Graph => {
                        let all = GraphSymbols::ALL;
                        let n = all.len();
                        let at = all.iter().position(|s| *s == self.symbols).unwrap_or(0);
                        self.symbols = all[if forward {
                            (at + 1) % n
                        } else {
                            (at + n - 1) % n
                        }];
                    }
                    OptionRow::Bell => self.alerts.bell = !self.alerts.bell,
                    OptionRow::Box(id) => {
                        let shown = self.is_shown(id);
                        self.set_shown(id, !shown);
                        if shown {
                            self.maximized = self.maximized.filter(|m| *m != id);
                            self.focus = self.focus.filter(|f| *f != id);
                        }
                    }
                }
            }
            // Back: close, saving when something changed.
            _ => {
                self.mode = self.options.before;
                if std::mem::take(&mut self.options.changed) {
                    return Flow::Send(Action::SaveOptions(self.saved_options()));
                }
            }
        }
        Flow::Continue
    }

    /// What the options menu saves.
    pub fn saved_options(&self) -> SavedOptions {
        SavedOptions {
            interval_ms: (self.options.interval_ms > 0).then_some(self.options.interval_ms),
            theme: self.themes.current_name().to_string(),
            graph: self.symbols.name().to_string(),
            boxes: BoxId::ALL
                .into_iter()
                .filter(|b| self.is_shown(*b))
                .map(|b| b.setting_name().to_string())
                .collect(),
            bell: self.alerts.bell,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn open() -> ViewState {
        let mut v = ViewState::default();
        v.observe(&crate::app::UiSnapshot {
            step_ms: 2000,
            ..Default::default()
        });
        assert_eq!(v.apply(Intent::Options), Flow::Continue);
        assert_eq!(v.mode, Mode::Options);
        v
    }

    #[test]
    fn the_interval_steps_through_presets_and_goes_to_the_app_at_once() {
        let mut v = open();
        assert_eq!(v.options.interval_ms, 2000);
        assert_eq!(
            v.apply(Intent::OptionMore),
            Flow::Send(Action::SetInterval(Duration::from_secs(5)))
        );
        assert_eq!(
            v.apply(Intent::OptionLess),
            Flow::Send(Action::SetInterval(Duration::from_secs(2)))
        );
        for _ in 0..10 {
            v.apply(Intent::OptionLess);
        }
        assert_eq!(v.options.interval_ms, 500, "stops at the shortest");
        // A snapshot at the new step does not move the menu's value.
        v.observe(&crate::app::UiSnapshot {
            step_ms: 9000,
            ..Default::default()
        });
        assert_eq!(v.options.interval_ms, 500);
        // An interval between presets steps to its neighbours.
        v.options.interval_ms = 3000;
        assert_eq!(
            v.apply(Intent::OptionMore),
            Flow::Send(Action::SetInterval(Duration::from_secs(10)))
        );
    }

    #[test]
    fn theme_graph_and_boxes_change_in_place_and_closing_saves_once() {
        let mut v = open();
        // Closing without a change saves nothing.
        assert_eq!(v.apply(Intent::Back), Flow::Continue);
        assert_eq!(v.mode, Mode::Normal);
        let mut v = open();
        v.apply(Intent::OptionDown);
        let before = v.themes.current_name().to_string();
        v.apply(Intent::OptionMore);
        assert_ne!(v.themes.current_name(), before);
        v.apply(Intent::OptionDown);
        v.apply(Intent::OptionMore);
        assert_eq!(v.symbols, GraphSymbols::Block);
        v.apply(Intent::OptionLess);
        v.apply(Intent::OptionLess);
        assert_eq!(v.symbols, GraphSymbols::Tty);
        // The bell, off by default, toggled on.
        v.apply(Intent::OptionDown);
        assert_eq!(ROWS[v.options.selected], OptionRow::Bell);
        assert!(!v.alerts.bell);
        v.apply(Intent::OptionMore);
        assert!(v.alerts.bell);
        // Down to box 2 (mem), toggled off: the menu stays open.
        v.apply(Intent::OptionDown);
        v.apply(Intent::OptionDown);
        assert_eq!(ROWS[v.options.selected], OptionRow::Box(BoxId::Memory));
        v.apply(Intent::OptionMore);
        assert!(!v.is_shown(BoxId::Memory));
        assert_eq!(v.mode, Mode::Options);
        let theme = v.themes.current_name().to_string();
        assert_eq!(
            v.apply(Intent::Back),
            Flow::Send(Action::SaveOptions(SavedOptions {
                interval_ms: Some(2000),
                theme,
                graph: "tty".into(),
                boxes: vec!["cpu".into(), "net".into(), "disks".into(), "query".into()],
                bell: true,
            }))
        );
        assert_eq!(v.mode, Mode::Normal);
        // Up from the top wraps to the last row.
        let mut v = open();
        v.apply(Intent::OptionUp);
        assert_eq!(ROWS[v.options.selected], OptionRow::Box(BoxId::Query));
    }

    #[test]
    fn the_menu_returns_to_the_targets_pane_it_was_opened_from() {
        let mut v = ViewState::default();
        v.apply(Intent::Targets);
        v.apply(Intent::Options);
        v.apply(Intent::Back);
        assert_eq!(v.mode, Mode::Targets);
        assert_eq!(interval_label(500), "500ms");
        assert_eq!(interval_label(60_000), "1m");
    }
}
