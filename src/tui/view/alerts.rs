//! The alerts pane's own state (`a`): which of its screens shows (the list, an alert's
//! detail, the rules view), the text filter, the selection, whether inactive rules are
//! listed, the silence being picked, and the header's flash and bell for an alert that
//! just started firing. `items` picks and orders what the list shows from the snapshot's
//! `AlertsView`. `ViewState::apply_with` hands the alert intents here, `observe` the new
//! snapshots; the alerts screen draws from it.

use std::collections::BTreeSet;

use super::{Flow, Mode, ViewState};
use crate::app::alerts::{AlertRow, AlertState, AlertsView};
use crate::app::{Action, UiSnapshot};
use crate::tui::editor::LineEditor;
use crate::tui::keymap::Intent;

/// How long the header flashes for a newly firing alert (ms of snapshot time).
pub const FLASH_MS: i64 = 3000;

/// The durations the silence picker offers: key intent, label, ms.
pub const SILENCE_PRESETS: [(Intent, &str, i64); 3] = [
    (Intent::SilenceFor1h, "1h", 3_600_000),
    (Intent::SilenceFor4h, "4h", 4 * 3_600_000),
    (Intent::SilenceFor1d, "1d", 24 * 3_600_000),
];

/// Which screen of the pane shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AlertScreen {
    #[default]
    List,
    Detail,
    Rules,
}

/// One line of the alerts list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// `AlertsView::alerts[i]`.
    Alert(usize),
    /// An alerting rule with no active alert: `groups[g].rules[r]`.
    Rule(usize, usize),
}

/// What the detail shows: an alert (by key, so it stays put while the list reorders) and
/// its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailRef {
    pub key: Option<String>,
    pub group: usize,
    pub rule: usize,
}

/// The alerts pane's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsPane {
    pub screen: AlertScreen,
    /// Text every listed alert must contain (name, labels, severity, state, summary).
    pub filter: LineEditor,
    /// Index into `items`.
    pub selected: usize,
    /// Alerting rules with no pending or firing alert are listed too.
    pub show_inactive: bool,
    /// The detail open.
    pub detail: Option<DetailRef>,
    /// Rows the rules view or the detail is scrolled down.
    pub scroll: usize,
    /// The matchers of the silence being picked (the alert's labels).
    pub silencing: Vec<(String, String)>,
    /// The silence matches the alertname only (else every label).
    pub by_name: bool,
    /// The mode the pane returns to when it closes.
    pub before: Mode,
    /// Ring the terminal bell when an alert starts firing (options menu, default off).
    pub bell: bool,
    /// A bell is due: the event loop rings it once and clears this.
    pub ring: bool,
    /// The header flashes until this snapshot time (ms).
    pub flash_until_ms: i64,
    /// The alertnames that just started firing, for the flashing header.
    pub flash_names: Vec<String>,
    /// The keys of the alerts firing in the last snapshot seen.
    firing: BTreeSet<String>,
    /// Whether a snapshot was seen yet.
    seen: bool,
}

impl Default for AlertsPane {
    fn default() -> Self {
        AlertsPane {
            screen: AlertScreen::List,
            filter: LineEditor::default(),
            selected: 0,
            show_inactive: false,
            detail: None,
            scroll: 0,
            silencing: Vec::new(),
            by_name: false,
            before: Mode::Normal,
            bell: false,
            ring: false,
            flash_until_ms: 0,
            flash_names: Vec::new(),
            firing: BTreeSet::new(),
            seen: false,
        }
    }
}

impl AlertsPane {
    /// The list's lines: the alerts in the view's order (firing, pending), then the
    /// alerting rules without active alerts when `show_inactive`, all through the filter.
    pub fn items(&self, v: &AlertsView) -> Vec<Item> {
        let needle = self.filter.text().trim().to_lowercase();
        let mut out: Vec<Item> = v
            .alerts
            .iter()
            .enumerate()
            .filter(|(_, a)| needle.is_empty() || haystack(a).contains(&needle))
            .map(|(i, _)| Item::Alert(i))
            .collect();
        if self.show_inactive {
            let mut rules: Vec<(usize, usize, &str)> = Vec::new();
            for (g, group) in v.groups.iter().enumerate() {
                for (r, rule) in group.rules.iter().enumerate() {
                    if rule.alerting
                        && rule.firing + rule.pending == 0
                        && (needle.is_empty()
                            || format!("{} inactive {}", rule.name, rule.expr)
                                .to_lowercase()
                                .contains(&needle))
                    {
                        rules.push((g, r, &rule.name));
                    }
                }
            }
            rules.sort_by(|a, b| a.2.cmp(b.2));
            out.extend(rules.into_iter().map(|(g, r, _)| Item::Rule(g, r)));
        }
        out
    }

    /// The selected line, if the list has any.
    pub fn selected_item(&self, v: &AlertsView) -> Option<Item> {
        let items = self.items(v);
        items
            .get(self.selected.min(items.len().saturating_sub(1)))
            .copied()
    }

    /// The alert the silence keys act on: the detail's, else the selected one.
    pub fn target<'v>(&self, v: &'v AlertsView) -> Option<&'v AlertRow> {
        match (self.screen, &self.detail) {
            (AlertScreen::Detail, Some(d)) => {
                let key = d.key.as_deref()?;
                v.alerts.iter().find(|a| a.key == key)
            }
            (AlertScreen::Rules, _) => None,
            _ => match self.selected_item(v)? {
                Item::Alert(i) => v.alerts.get(i),
                Item::Rule(..) => None,
            },
        }
    }

    /// The silence's matchers for `a` as the picker stands.
    pub fn matchers_for(&self, a: &AlertRow) -> Vec<(String, String)> {
        if self.by_name {
            vec![("alertname".to_string(), a.alertname.clone())]
        } else {
            a.labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect()
        }
    }

    /// Whether the header flashes at snapshot time `now_ms`.
    pub fn flashing(&self, now_ms: i64) -> bool {
        !self.flash_names.is_empty() && now_ms < self.flash_until_ms
    }
}

/// What the text filter searches in an alert.
fn haystack(a: &AlertRow) -> String {
    format!(
        "{} {} {} {} {}",
        a.alertname,
        a.state.as_str(),
        a.severity,
        a.labels,
        a.annotations.get("summary").unwrap_or("")
    )
    .to_lowercase()
}

impl ViewState {
    /// The alert intents, with the snapshot's alerts.
    pub(super) fn apply_alerts(&mut self, intent: Intent, snap: &UiSnapshot) -> Flow {
        self.message = None;
        let v = &*snap.alerts;
        let p = &mut self.alerts;
        match intent {
            Intent::Alerts => {
                if !matches!(
                    self.mode,
                    Mode::Alerts | Mode::AlertFilter | Mode::SilencePick
                ) {
                    p.before = match self.mode {
                        Mode::Targets | Mode::Cluster => self.mode,
                        _ => Mode::Normal,
                    };
                }
                self.mode = Mode::Alerts;
                if p.screen == AlertScreen::Detail {
                    return self.close_detail();
                }
            }
            Intent::AlertUp | Intent::AlertDown => {
                let down = intent == Intent::AlertDown;
                if p.screen == AlertScreen::List {
                    let len = p.items(v).len();
                    p.selected = match (len, down) {
                        (0, _) => 0,
                        (n, true) => (p.selected + 1).min(n - 1),
                        (n, false) => p.selected.min(n - 1).saturating_sub(1),
                    };
                } else if down {
                    // The screen clamps it to what there is to show.
                    p.scroll = (p.scroll + 1).min(10_000);
                } else {
                    p.scroll = p.scroll.saturating_sub(1);
                }
            }
            Intent::AlertOpen => {
                if p.screen != AlertScreen::List {
                    return Flow::Continue;
                }
                let detail = match p.selected_item(v) {
                    Some(Item::Alert(i)) => v.alerts.get(i).map(|a| DetailRef {
                        key: Some(a.key.clone()),
                        group: a.group,
                        rule: a.rule,
                    }),
                    Some(Item::Rule(group, rule)) => Some(DetailRef {
                        key: None,
                        group,
                        rule,
                    }),
                    None => None,
                };
                let Some(d) = detail else {
                    return Flow::Continue;
                };
                let expr = v
                    .groups
                    .get(d.group)
                    .and_then(|g| g.rules.get(d.rule))
                    .map(|r| r.graph_expr.clone());
                p.detail = Some(d);
                p.screen = AlertScreen::Detail;
                p.scroll = 0;
                return Flow::Send(Action::ShowAlertGraph(expr));
            }
            Intent::AlertFilter if p.screen == AlertScreen::List => {
                self.mode = Mode::AlertFilter;
            }
            Intent::AlertInactive => {
                p.show_inactive = !p.show_inactive;
                p.selected = 0;
            }
            Intent::ReloadRules => return Flow::Send(Action::ReloadRules),
            Intent::RulesView => {
                self.mode = Mode::Alerts;
                let leaving_detail = p.screen == AlertScreen::Detail;
                p.screen = if p.screen == AlertScreen::Rules {
                    AlertScreen::List
                } else {
                    AlertScreen::Rules
                };
                p.scroll = 0;
                if leaving_detail {
                    p.detail = None;
                    return Flow::Send(Action::ShowAlertGraph(None));
                }
            }
            Intent::Silence => match p.target(v) {
                Some(a) => {
                    p.by_name = false;
                    p.silencing = p.matchers_for(a);
                    self.mode = Mode::SilencePick;
                }
                None => self.message = Some("no alert selected to silence".into()),
            },
            Intent::SilenceMatchers => {
                p.by_name = !p.by_name;
                if let Some(a) = p.target(v) {
                    p.silencing = p.matchers_for(a);
                }
            }
            Intent::Unsilence => match p.target(v) {
                Some(a) => match a.silenced_by {
                    Some(id) => return Flow::Send(Action::Unsilence { id }),
                    None => self.message = Some("the alert is not silenced".into()),
                },
                None => self.message = Some("no alert selected".into()),
            },
            Intent::SilenceFor1h | Intent::SilenceFor4h | Intent::SilenceFor1d => {
                let ms = SILENCE_PRESETS
                    .iter()
                    .find(|(i, _, _)| *i == intent)
                    .map_or(3_600_000, |(_, _, ms)| *ms);
                return self.silence_for(ms);
            }
            Intent::SilenceCustom => {
                self.apply(Intent::OpenCommand);
                self.command.set("silence ");
            }
            _ => {}
        }
        Flow::Continue
    }

    /// Sends the picked silence for `ms` from now, back on the pane.
    fn silence_for(&mut self, ms: i64) -> Flow {
        self.mode = Mode::Alerts;
        let matchers = std::mem::take(&mut self.alerts.silencing);
        if matchers.is_empty() {
            self.message = Some("no alert selected to silence".into());
            return Flow::Continue;
        }
        Flow::Send(Action::Silence {
            matchers,
            until_ms: self.now_ms.saturating_add(ms),
        })
    }

    /// `:silence DURATION` (a Prometheus duration: `90m`, `2h`, `1d`): silences the
    /// alert being picked, or the selected one.
    pub(super) fn silence_command(&mut self, arg: Option<&str>, snap: &UiSnapshot) -> Flow {
        let Some(arg) = arg else {
            self.message = Some(":silence needs a duration, e.g. :silence 2h".into());
            return Flow::Continue;
        };
        let d = match crate::model::parse_duration(arg) {
            Ok(d) if !d.is_zero() => d,
            _ => {
                self.message = Some(format!(":silence {arg}: not a duration (e.g. 90m, 2h, 1d)"));
                return Flow::Continue;
            }
        };
        if self.alerts.silencing.is_empty() {
            // Without the picker: every label of the alert.
            self.alerts.by_name = false;
            match self.alerts.target(&snap.alerts) {
                Some(a) => self.alerts.silencing = self.alerts.matchers_for(a),
                None => {
                    self.message = Some("no alert selected to silence".into());
                    return Flow::Continue;
                }
            }
        }
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.silence_for(ms)
    }

    /// `:rules` (and `:alerts`): the pane on the rules view (or the list).
    pub(super) fn rules_command(&mut self, rules: bool) -> Flow {
        if !matches!(self.mode, Mode::Alerts) {
            self.alerts.before = match self.command_from {
                Mode::Targets | Mode::Cluster => self.command_from,
                _ => Mode::Normal,
            };
        }
        self.mode = Mode::Alerts;
        let leaving_detail = self.alerts.screen == AlertScreen::Detail;
        self.alerts.screen = if rules {
            AlertScreen::Rules
        } else {
            AlertScreen::List
        };
        self.alerts.scroll = 0;
        if leaving_detail {
            self.alerts.detail = None;
            return Flow::Send(Action::ShowAlertGraph(None));
        }
        Flow::Continue
    }

    /// Esc on the pane: the picker closes, the detail or rules view goes back to the list,
    /// the list back to where the pane was opened from.
    pub(super) fn alerts_back(&mut self) -> Flow {
        let p = &mut self.alerts;
        match (self.mode, p.screen) {
            (Mode::SilencePick, _) => {
                p.silencing.clear();
                self.mode = Mode::Alerts;
                Flow::Continue
            }
            (_, AlertScreen::Detail) => self.close_detail(),
            (_, AlertScreen::Rules) => {
                p.screen = AlertScreen::List;
                Flow::Continue
            }
            (_, AlertScreen::List) => {
                self.mode = p.before;
                Flow::Continue
            }
        }
    }

    fn close_detail(&mut self) -> Flow {
        self.alerts.screen = AlertScreen::List;
        self.alerts.detail = None;
        self.alerts.scroll = 0;
        Flow::Send(Action::ShowAlertGraph(None))
    }

    /// A new snapshot: alerts firing now that were not in the last one flash the header
    /// (and ring the bell when it is on). The first snapshot only sets the baseline.
    pub(super) fn observe_alerts(&mut self, snap: &UiSnapshot) {
        let p = &mut self.alerts;
        let now: BTreeSet<String> = snap
            .alerts
            .alerts
            .iter()
            .filter(|a| a.state == AlertState::Firing)
            .map(|a| a.key.clone())
            .collect();
        if p.seen {
            let mut names: Vec<String> = snap
                .alerts
                .alerts
                .iter()
                .filter(|a| {
                    a.state == AlertState::Firing
                        && a.silenced_by.is_none()
                        && !p.firing.contains(&a.key)
                })
                .map(|a| a.alertname.clone())
                .collect();
            names.dedup();
            if !names.is_empty() {
                p.flash_names = names;
                p.flash_until_ms = snap.at_ms.saturating_add(FLASH_MS);
                p.ring |= p.bell;
            }
        }
        p.seen = true;
        p.firing = now;
    }
}

#[cfg(test)]
mod tests;
