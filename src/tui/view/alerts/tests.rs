//! The alerts pane's keys against the fixture's alerts: opening, moving, filtering, the
//! detail and its graph request, silencing and unsilencing, the rules view, and the
//! header's flash and bell.

use std::sync::Arc;

use super::*;
use crate::tui::fixture::{sample_alerts, sample_alerts_snapshot};

fn typed(view: &mut ViewState, text: &str) {
    for c in text.chars() {
        view.type_char(c);
    }
}

#[test]
fn the_pane_opens_moves_filters_and_closes() {
    let snap = sample_alerts_snapshot();
    let mut v = ViewState::default();
    v.observe(&snap);
    assert_eq!(v.apply_with(Intent::Alerts, &snap), Flow::Continue);
    assert_eq!(v.mode, Mode::Alerts);
    let items = v.alerts.items(&snap.alerts);
    assert_eq!(
        items,
        [
            Item::Alert(0),
            Item::Alert(1),
            Item::Alert(2),
            Item::Alert(3)
        ]
    );
    v.apply_with(Intent::AlertDown, &snap);
    v.apply_with(Intent::AlertDown, &snap);
    v.apply_with(Intent::AlertDown, &snap);
    v.apply_with(Intent::AlertDown, &snap);
    assert_eq!(v.alerts.selected, 3, "stops at the last");
    v.apply_with(Intent::AlertUp, &snap);
    assert_eq!(v.alerts.selected, 2);
    // Inactive rules join the list, after the alerts.
    v.apply_with(Intent::AlertInactive, &snap);
    let items = v.alerts.items(&snap.alerts);
    assert_eq!(items.len(), 6);
    assert_eq!(items[4], Item::Rule(0, 3));
    assert_eq!(items[5], Item::Rule(1, 0));
    // The filter.
    v.apply_with(Intent::AlertFilter, &snap);
    assert_eq!(v.mode, Mode::AlertFilter);
    typed(&mut v, "web");
    assert_eq!(
        v.alerts.items(&snap.alerts),
        [Item::Alert(1), Item::Alert(3)]
    );
    v.apply_with(Intent::Submit, &snap);
    assert_eq!(v.mode, Mode::Alerts);
    v.alerts.filter.set("pending");
    assert_eq!(v.alerts.items(&snap.alerts), [Item::Alert(3)]);
    v.alerts.filter.clear();
    // Esc goes back where the pane was opened from.
    v.apply_with(Intent::Back, &snap);
    assert_eq!(v.mode, Mode::Normal);
    v.apply_with(Intent::Targets, &snap);
    v.apply_with(Intent::Alerts, &snap);
    v.apply_with(Intent::Back, &snap);
    assert_eq!(v.mode, Mode::Targets);
}

#[test]
fn enter_opens_the_detail_and_asks_for_its_graph() {
    let snap = sample_alerts_snapshot();
    let mut v = ViewState::default();
    v.apply_with(Intent::Alerts, &snap);
    let graph = snap.alerts.groups[0].rules[0].graph_expr.clone();
    assert_eq!(
        v.apply_with(Intent::AlertOpen, &snap),
        Flow::Send(Action::ShowAlertGraph(Some(graph)))
    );
    assert_eq!(v.alerts.screen, AlertScreen::Detail);
    let d = v.alerts.detail.clone().expect("a detail");
    assert_eq!(d.key.as_deref(), Some(snap.alerts.alerts[0].key.as_str()));
    // Scrolling the detail, then Esc back to the list (the graph is dropped).
    v.apply_with(Intent::AlertDown, &snap);
    assert_eq!(v.alerts.scroll, 1);
    assert_eq!(
        v.apply_with(Intent::Back, &snap),
        Flow::Send(Action::ShowAlertGraph(None))
    );
    assert_eq!((v.mode, v.alerts.screen), (Mode::Alerts, AlertScreen::List));
    // An inactive rule's detail graphs the rule.
    v.apply_with(Intent::AlertInactive, &snap);
    for _ in 0..4 {
        v.apply_with(Intent::AlertDown, &snap);
    }
    assert_eq!(
        v.apply_with(Intent::AlertOpen, &snap),
        Flow::Send(Action::ShowAlertGraph(Some(
            "abs(node_timex_offset_seconds)".into()
        )))
    );
    assert_eq!(v.alerts.detail.as_ref().and_then(|d| d.key.clone()), None);
    // `r` from the detail goes to the rules view and drops the graph; again back.
    assert_eq!(
        v.apply_with(Intent::RulesView, &snap),
        Flow::Send(Action::ShowAlertGraph(None))
    );
    assert_eq!(v.alerts.screen, AlertScreen::Rules);
    v.apply_with(Intent::RulesView, &snap);
    assert_eq!(v.alerts.screen, AlertScreen::List);
    // An empty list opens nothing.
    let empty = UiSnapshot::default();
    let mut v = ViewState::default();
    v.apply_with(Intent::Alerts, &empty);
    assert_eq!(v.apply_with(Intent::AlertOpen, &empty), Flow::Continue);
    assert_eq!(v.alerts.screen, AlertScreen::List);
}

#[test]
fn silencing_picks_a_duration_and_matchers() {
    let mut snap = sample_alerts_snapshot();
    snap.at_ms = 1_000;
    let mut v = ViewState::default();
    v.observe(&snap);
    v.apply_with(Intent::Alerts, &snap);
    v.apply_with(Intent::Silence, &snap);
    assert_eq!(v.mode, Mode::SilencePick);
    assert_eq!(v.screen_mode(), Mode::Alerts);
    let all: Vec<(String, String)> = snap.alerts.alerts[0]
        .labels
        .iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect();
    assert_eq!(v.alerts.silencing, all);
    assert_eq!(
        v.apply_with(Intent::SilenceFor4h, &snap),
        Flow::Send(Action::Silence {
            matchers: all,
            until_ms: 1_000 + 4 * 3_600_000
        })
    );
    assert_eq!(v.mode, Mode::Alerts);
    // By alertname only, for a custom duration typed on the command line.
    v.apply_with(Intent::Silence, &snap);
    v.apply_with(Intent::SilenceMatchers, &snap);
    assert_eq!(
        v.alerts.silencing,
        [("alertname".to_string(), "HostHighCpu".to_string())]
    );
    v.apply_with(Intent::SilenceCustom, &snap);
    assert_eq!(v.mode, Mode::Command);
    assert_eq!(v.screen_mode(), Mode::Alerts);
    typed(&mut v, "90m");
    assert_eq!(
        v.apply_with(Intent::Submit, &snap),
        Flow::Send(Action::Silence {
            matchers: vec![("alertname".into(), "HostHighCpu".into())],
            until_ms: 1_000 + 90 * 60_000
        })
    );
    assert_eq!(v.mode, Mode::Alerts);
    // A bad duration says so; Esc in the picker cancels.
    v.apply_with(Intent::OpenCommand, &snap);
    typed(&mut v, "silence soon");
    assert_eq!(v.apply_with(Intent::Submit, &snap), Flow::Continue);
    assert!(
        v.message
            .as_deref()
            .is_some_and(|m| m.contains("not a duration")),
        "{:?}",
        v.message
    );
    v.apply_with(Intent::Silence, &snap);
    v.apply_with(Intent::Back, &snap);
    assert_eq!(v.mode, Mode::Alerts);
    assert!(v.alerts.silencing.is_empty());
    // `u` on a silenced alert ends its silence; on another it says why not.
    v.apply_with(Intent::AlertDown, &snap);
    v.apply_with(Intent::AlertDown, &snap);
    assert_eq!(
        v.apply_with(Intent::Unsilence, &snap),
        Flow::Send(Action::Unsilence { id: 1 })
    );
    v.apply_with(Intent::AlertUp, &snap);
    assert_eq!(v.apply_with(Intent::Unsilence, &snap), Flow::Continue);
    assert_eq!(v.message.as_deref(), Some("the alert is not silenced"));
    // Nothing to silence in an empty pane.
    let empty = UiSnapshot::default();
    let mut v = ViewState::default();
    v.apply_with(Intent::Alerts, &empty);
    v.apply_with(Intent::Silence, &empty);
    assert_eq!(v.mode, Mode::Alerts);
    assert_eq!(v.message.as_deref(), Some("no alert selected to silence"));
}

#[test]
fn unsilence_command_ends_a_silence_by_id() {
    let snap = sample_alerts_snapshot();
    let mut v = ViewState::default();
    v.apply_with(Intent::Alerts, &snap);
    v.apply_with(Intent::OpenCommand, &snap);
    typed(&mut v, "unsilence 7");
    assert_eq!(
        v.apply_with(Intent::Submit, &snap),
        Flow::Send(Action::Unsilence { id: 7 })
    );
    assert_eq!(v.mode, Mode::Alerts);
    v.apply_with(Intent::OpenCommand, &snap);
    typed(&mut v, "unsilence x");
    assert_eq!(v.apply_with(Intent::Submit, &snap), Flow::Continue);
    assert_eq!(v.message.as_deref(), Some(":unsilence x: not a silence id"));
}

#[test]
fn rules_command_opens_the_rules_view() {
    let snap = sample_alerts_snapshot();
    let mut v = ViewState::default();
    v.apply_with(Intent::OpenCommand, &snap);
    typed(&mut v, "rules");
    assert_eq!(v.apply_with(Intent::Submit, &snap), Flow::Continue);
    assert_eq!(
        (v.mode, v.alerts.screen),
        (Mode::Alerts, AlertScreen::Rules)
    );
    v.apply_with(Intent::Back, &snap);
    assert_eq!((v.mode, v.alerts.screen), (Mode::Alerts, AlertScreen::List));
    v.apply_with(Intent::Back, &snap);
    assert_eq!(v.mode, Mode::Normal);
}

#[test]
fn a_newly_firing_alert_flashes_and_rings_when_the_bell_is_on() {
    let full = sample_alerts_snapshot();
    let mut before = full.clone();
    let mut fewer = sample_alerts();
    // web-2 was not firing yet.
    fewer.alerts.remove(1);
    before.alerts = Arc::new(fewer);
    before.at_ms = full.at_ms - 2_000;

    let mut v = ViewState::default();
    v.alerts.bell = true;
    // The first snapshot sets the baseline: nothing flashes at start.
    v.observe(&before);
    assert!(!v.alerts.flashing(before.at_ms));
    assert!(!v.alerts.ring);
    v.observe(&full);
    assert!(v.alerts.flashing(full.at_ms));
    assert_eq!(v.alerts.flash_names, ["HostHighCpu"]);
    assert!(std::mem::take(&mut v.alerts.ring));
    // The same alerts a little later: still flashing for the rest of the 3 s, no new bell.
    let mut later = full.clone();
    later.at_ms += 2_000;
    v.observe(&later);
    assert!(v.alerts.flashing(later.at_ms));
    assert!(!v.alerts.ring);
    later.at_ms += 2_000;
    v.observe(&later);
    assert!(!v.alerts.flashing(later.at_ms));
    // Without the bell it only flashes; a silenced alert does neither.
    let mut v = ViewState::default();
    v.observe(&before);
    v.observe(&full);
    assert!(v.alerts.flashing(full.at_ms) && !v.alerts.ring);
    let mut silenced = sample_alerts();
    silenced.alerts[1].silenced_by = Some(7);
    let muted = UiSnapshot {
        alerts: Arc::new(silenced),
        ..full.clone()
    };
    let mut v = ViewState::default();
    v.alerts.bell = true;
    v.observe(&before);
    v.observe(&muted);
    assert!(!v.alerts.flashing(muted.at_ms) && !v.alerts.ring);
}
