//! Screen tests for the alerts pane, an alert's detail, the rules view, the silence
//! picker and the header's alert counts and flash: insta snapshots of whole frames drawn
//! from the alerts fixture on a `TestBackend`, at 80×24, 120×40 and 200×50, and
//! cell-style asserts for the colours.

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::app::UiSnapshot;
use crate::app::alerts::AlertsView;
use crate::tui::fixture::{sample_alerts, sample_alerts_snapshot, sample_snapshot};
use crate::tui::keymap::Intent;
use crate::tui::screens;
use crate::tui::theme::Theme;
use crate::tui::view::ViewState;

fn draw(width: u16, height: u16, snap: &UiSnapshot, view: &ViewState) -> Terminal<TestBackend> {
    let theme = Theme::default();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| screens::draw(frame, snap, view, &theme))
        .unwrap();
    terminal
}

fn view_after(snap: &UiSnapshot, intents: &[Intent]) -> ViewState {
    let mut v = ViewState::default();
    v.observe(snap);
    for i in intents {
        v.apply_with(*i, snap);
    }
    v
}

fn row_text(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

fn screen_text(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| row_text(buf, y))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn alerts_pane_120x40() {
    let snap = sample_alerts_snapshot();
    let t = draw(120, 40, &snap, &view_after(&snap, &[Intent::Alerts]));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn alerts_pane_80x24() {
    let snap = sample_alerts_snapshot();
    let t = draw(80, 24, &snap, &view_after(&snap, &[Intent::Alerts]));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn alerts_pane_with_inactive_rules_200x50() {
    let snap = sample_alerts_snapshot();
    let view = view_after(
        &snap,
        &[Intent::Alerts, Intent::AlertInactive, Intent::AlertDown],
    );
    let t = draw(200, 50, &snap, &view);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn alert_detail_with_graph_and_threshold_120x40() {
    let snap = sample_alerts_snapshot();
    let t = draw(
        120,
        40,
        &snap,
        &view_after(&snap, &[Intent::Alerts, Intent::AlertOpen]),
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn alert_detail_80x24() {
    let snap = sample_alerts_snapshot();
    let t = draw(
        80,
        24,
        &snap,
        &view_after(&snap, &[Intent::Alerts, Intent::AlertOpen]),
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn silenced_alert_detail_200x50() {
    let snap = sample_alerts_snapshot();
    let view = view_after(
        &snap,
        &[
            Intent::Alerts,
            Intent::AlertDown,
            Intent::AlertDown,
            Intent::AlertOpen,
        ],
    );
    let t = draw(200, 50, &snap, &view);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn rules_view_with_an_erroring_rule_120x40() {
    let snap = sample_alerts_snapshot();
    let t = draw(
        120,
        40,
        &snap,
        &view_after(&snap, &[Intent::Alerts, Intent::RulesView]),
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn rules_view_80x24() {
    let snap = sample_alerts_snapshot();
    let t = draw(
        80,
        24,
        &snap,
        &view_after(&snap, &[Intent::Alerts, Intent::RulesView]),
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn silence_picker_120x40() {
    let snap = sample_alerts_snapshot();
    let t = draw(
        120,
        40,
        &snap,
        &view_after(&snap, &[Intent::Alerts, Intent::Silence]),
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn empty_states() {
    // No rules at all.
    let snap = sample_snapshot();
    let t = draw(80, 24, &snap, &view_after(&snap, &[Intent::Alerts]));
    insta::assert_snapshot!("no_alerting_rules_80x24", t.backend());
    let t = draw(
        80,
        24,
        &snap,
        &view_after(&snap, &[Intent::Alerts, Intent::RulesView]),
    );
    assert!(screen_text(t.backend().buffer()).contains("no rules loaded"));
    // Rules, but nothing firing or pending.
    let mut quiet = sample_alerts();
    quiet.alerts.clear();
    quiet.counts = Default::default();
    for g in &mut quiet.groups {
        for r in &mut g.rules {
            r.firing = 0;
            r.pending = 0;
        }
    }
    let snap = UiSnapshot {
        alerts: Arc::new(quiet),
        ..sample_snapshot()
    };
    let t = draw(80, 24, &snap, &view_after(&snap, &[Intent::Alerts]));
    insta::assert_snapshot!("no_alerts_firing_80x24", t.backend());
    let t = draw(120, 40, &snap, &view_after(&snap, &[]));
    assert!(row_text(t.backend().buffer(), 0).contains("alerts ✓ none"));
    // Only recording rules.
    let recording = AlertsView {
        groups: sample_alerts().groups,
        recording_rules: 1,
        ..AlertsView::default()
    };
    let snap = UiSnapshot {
        alerts: Arc::new(recording),
        ..sample_snapshot()
    };
    let t = draw(80, 24, &snap, &view_after(&snap, &[Intent::Alerts]));
    assert!(screen_text(t.backend().buffer()).contains("no alerting rules (only recording"));
}

#[test]
fn header_shows_counts_in_severity_colours() {
    let snap = sample_alerts_snapshot();
    let view = view_after(&snap, &[]);
    let t = draw(120, 40, &snap, &view);
    insta::assert_snapshot!(t.backend());
    let buf = t.backend().buffer();
    let header = row_text(buf, 0);
    let at = header
        .find("●3 firing")
        .expect("firing count in the header");
    let x = header[..at].chars().count() as u16;
    let theme = Theme::default();
    // Critical is the most severe firing alert: red; the pending one is info: blue.
    assert_eq!(buf[(x, 0)].fg, theme.temp.end());
    let at = header.find("◐1 pending").expect("pending count");
    let x = header[..at].chars().count() as u16;
    assert_eq!(buf[(x, 0)].fg, theme.temp.start());
    // Narrow screens keep the counts (they come right after the source).
    let t = draw(80, 24, &snap, &view);
    assert!(row_text(t.backend().buffer(), 0).contains("●3 firing ◐1 pending"));
    // Without rules: the dash.
    let plain = sample_snapshot();
    let t = draw(120, 40, &plain, &view_after(&plain, &[]));
    assert!(row_text(t.backend().buffer(), 0).contains("alerts –"));
}

#[test]
fn header_flashes_for_a_newly_firing_alert() {
    let full = sample_alerts_snapshot();
    let mut before = full.clone();
    let mut fewer = sample_alerts();
    fewer.alerts.remove(1);
    before.alerts = Arc::new(fewer);
    let mut view = ViewState::default();
    view.observe(&before);
    view.observe(&full);
    let t = draw(100, 30, &full, &view);
    insta::assert_snapshot!(t.backend());
    let buf = t.backend().buffer();
    let theme = Theme::default();
    assert!(row_text(buf, 0).contains("⚠ now firing: HostHighCpu"));
    for x in [0, 50, 99] {
        assert_eq!(buf[(x, 0)].bg, theme.temp.end(), "column {x}");
    }
    // Three seconds later the header is back to normal.
    let mut later = full.clone();
    later.at_ms += 3_000;
    view.observe(&later);
    let t = draw(100, 30, &later, &view);
    let buf = t.backend().buffer();
    assert!(!row_text(buf, 0).contains("now firing"));
    assert_ne!(buf[(50, 0)].bg, theme.temp.end());
}

#[test]
fn silenced_rows_are_dimmed_and_marked() {
    let snap = sample_alerts_snapshot();
    let t = draw(120, 40, &snap, &view_after(&snap, &[Intent::Alerts]));
    let buf = t.backend().buffer();
    let y = (0..buf.area.height)
        .find(|y| row_text(buf, *y).contains("NodeDiskFull"))
        .expect("the silenced alert's row");
    let row = row_text(buf, y);
    assert!(
        row.contains("⊘ firing") && row.contains("silenced ·"),
        "{row}"
    );
    let x = row[..row.find("NodeDiskFull").unwrap()].chars().count() as u16;
    assert_eq!(buf[(x, y)].fg, Theme::default().inactive_fg);
}

/// Every size from the minimum up, in every alerts screen, with and without data: nothing
/// may panic.
#[test]
fn every_size_draws_without_panicking() {
    let theme = Theme::default();
    let data = sample_alerts_snapshot();
    let empty = UiSnapshot::default();
    let views: Vec<ViewState> = [
        &[Intent::Alerts][..],
        &[Intent::Alerts, Intent::AlertInactive, Intent::AlertDown],
        &[Intent::Alerts, Intent::AlertOpen],
        &[
            Intent::Alerts,
            Intent::AlertOpen,
            Intent::AlertDown,
            Intent::AlertDown,
        ],
        &[Intent::Alerts, Intent::RulesView, Intent::AlertDown],
        &[Intent::Alerts, Intent::Silence],
        &[Intent::Alerts, Intent::AlertFilter],
    ]
    .iter()
    .map(|intents| view_after(&data, intents))
    .collect();
    for w in (screens::MIN_WIDTH - 1..=130).step_by(7).chain([200, 250]) {
        for h in (screens::MIN_HEIGHT - 1..=45).step_by(5).chain([50, 70]) {
            for view in &views {
                for snap in [&data, &empty] {
                    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
                    screens::render(buf.area, &mut buf, snap, view, &theme);
                }
            }
        }
    }
}

#[test]
fn clicks_select_alerts_and_the_wheel_moves() {
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let snap = sample_alerts_snapshot();
    let mut view = view_after(&snap, &[Intent::Alerts]);
    let area = Rect::new(0, 0, 120, 40);
    let t = draw(120, 40, &snap, &view);
    let buf = t.backend().buffer();
    let y = (0..40)
        .find(|y| row_text(buf, *y).contains("HostHighLoad"))
        .expect("the pending alert's row");
    let at = |kind, row| MouseEvent {
        kind,
        column: 20,
        row,
        modifiers: KeyModifiers::NONE,
    };
    assert!(screens::mouse(
        area,
        &snap,
        &mut view,
        at(MouseEventKind::Down(MouseButton::Left), y)
    ));
    assert_eq!(view.alerts.selected, 3);
    // A heading is not an alert.
    let heading = (0..40)
        .find(|y| row_text(buf, *y).contains("firing (3)"))
        .expect("the heading");
    assert!(!screens::mouse(
        area,
        &snap,
        &mut view,
        at(MouseEventKind::Down(MouseButton::Left), heading)
    ));
    assert!(screens::mouse(
        area,
        &snap,
        &mut view,
        at(MouseEventKind::ScrollUp, 0)
    ));
    assert_eq!(view.alerts.selected, 2);
}
