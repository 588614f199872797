//! Screens: pure functions from (snapshot, view state, theme) to a frame's cells. The event
//! loop calls `draw` for every frame; each screen composes the widgets and never fetches,
//! waits or mutates: the main screen (with the targets pane or the dashboard in place of
//! its boxes, and the cluster browser's tables, pod detail and overview in `cluster`; the
//! alerts pane in `alerts`, with an alert's detail in `alerts_detail` and the rules view
//! in `alerts_rules`), the help overlay and the options menu. `mouse` maps a click to a view
//! change against the same layout, and `shown` lists the boxes drawn, for the data
//! export. Also home to the "terminal too small" fallback and the small text helpers
//! screens share.

pub mod alerts;
pub mod alerts_detail;
pub mod alerts_rules;
#[cfg(test)]
mod alerts_tests;
pub mod cluster;
pub mod dashboard;
pub mod help;
pub mod main;
pub mod options;
pub mod sources;
pub mod targets;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

use crate::app::{Shown, UiSnapshot};
use crate::tui::format;
use crate::tui::theme::Theme;
use crate::tui::view::ViewState;
use crate::tui::widgets::{Legend, LineGraph};

pub use main::MainScreen;

/// Below this many columns the screens draw the "too small" message instead.
pub const MIN_WIDTH: u16 = 40;
/// Below this many rows the screens draw the "too small" message instead.
pub const MIN_HEIGHT: u16 = 12;

/// Draws the current screen into the frame.
pub fn draw(frame: &mut Frame<'_>, snapshot: &UiSnapshot, view: &ViewState, theme: &Theme) {
    let area = frame.area();
    render(area, frame.buffer_mut(), snapshot, view, theme);
}

/// Draws the current screen into a buffer (what `draw` does, without a terminal).
pub fn render(
    area: Rect,
    buf: &mut Buffer,
    snapshot: &UiSnapshot,
    view: &ViewState,
    theme: &Theme,
) {
    let area = area.intersection(buf.area);
    buf.set_style(area, Style::new().bg(theme.main_bg).fg(theme.main_fg));
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(area, buf, theme);
        return;
    }
    MainScreen::new(snapshot, view, theme).render_into(area, buf);
    match view.mode {
        crate::tui::view::Mode::Help => help::render(area, buf, view, theme),
        crate::tui::view::Mode::Options => options::render(area, buf, view, theme),
        crate::tui::view::Mode::SilencePick => alerts::picker(area, buf, view, theme),
        crate::tui::view::Mode::SourcePick => sources::picker(area, buf, snapshot, view, theme),
        _ => {}
    }
}

/// The boxes `render` draws for `snapshot` and `view` in `area`, in drawing order: what a
/// data export writes.
pub fn shown(area: Rect, snapshot: &UiSnapshot, view: &ViewState) -> Vec<Shown> {
    use crate::tui::view::Mode;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return Vec::new();
    }
    match view.screen_mode() {
        Mode::Targets | Mode::TargetFilter => return vec![Shown::Targets],
        Mode::Cluster | Mode::ClusterFilter => return vec![Shown::Cluster],
        Mode::Alerts | Mode::AlertFilter | Mode::SilencePick => {
            // The detail's graph is the data there is to export.
            let id = crate::app::panels::ALERT_PANEL_ID;
            let graph = view.alerts.screen == crate::tui::view::AlertScreen::Detail
                && snapshot.panels.iter().any(|p| p.id == id);
            return if graph {
                vec![Shown::Panel(id)]
            } else {
                Vec::new()
            };
        }
        Mode::Dashboard => {
            return dashboard::place(main::body(area), &snapshot.dashboard, view)
                .panels
                .iter()
                .filter(|p| !p.rect.is_empty())
                .map(|p| Shown::Panel(p.id))
                .collect();
        }
        _ => {}
    }
    let areas = main::layout(area, view);
    if snapshot.cluster.is_some() {
        // Cluster mode: the cluster overview stands where the host boxes would.
        let mut out = vec![Shown::Cluster];
        if areas.query.is_some_and(|r| !r.is_empty()) && snapshot.panels.iter().any(|p| p.id == 0) {
            out.push(Shown::Panel(0));
        }
        return out;
    }
    let mut out: Vec<Shown> = [
        (areas.cpu, Shown::Cpu),
        (areas.memory, Shown::Memory),
        (areas.network, Shown::Network),
        (areas.disks, Shown::Disks),
    ]
    .into_iter()
    .filter_map(|(r, s)| r.filter(|r| !r.is_empty()).map(|_| s))
    .collect();
    if areas.query.is_some_and(|r| !r.is_empty()) && snapshot.panels.iter().any(|p| p.id == 0) {
        out.push(Shown::Panel(0));
    }
    out
}

/// A mouse event on the screen drawn for `snapshot` and `view` in `area` (the targets
/// pane, the cluster browser and the alerts pane have their own): a click on a
/// legend entry hides or shows its series, a click in the graph puts the value cursor at
/// that time, the wheel over the legend moves its selection, a click on the query bar
/// focuses it. Returns whether the view changed.
pub fn mouse(area: Rect, snapshot: &UiSnapshot, view: &mut ViewState, ev: MouseEvent) -> bool {
    use crate::tui::view::{BoxId, Mode};
    if view.mode == Mode::Targets && area.width >= MIN_WIDTH && area.height >= MIN_HEIGHT {
        return targets_mouse(area, snapshot, view, ev);
    }
    if view.mode == Mode::Cluster && area.width >= MIN_WIDTH && area.height >= MIN_HEIGHT {
        return cluster_mouse(area, snapshot, view, ev);
    }
    if view.mode == Mode::Alerts && area.width >= MIN_WIDTH && area.height >= MIN_HEIGHT {
        return alerts_mouse(area, snapshot, view, ev);
    }
    if matches!(
        view.mode,
        Mode::Help
            | Mode::Targets
            | Mode::TargetFilter
            | Mode::Options
            | Mode::Cluster
            | Mode::ClusterFilter
            | Mode::Alerts
            | Mode::AlertFilter
            | Mode::SilencePick
            | Mode::SourcePick
    ) || area.width < MIN_WIDTH
        || area.height < MIN_HEIGHT
    {
        return false;
    }
    if view.mode == Mode::Dashboard {
        return matches!(ev.kind, MouseEventKind::Down(MouseButton::Left))
            && dashboard::click(main::body(area), snapshot, view, ev.column, ev.row);
    }
    let areas = main::layout(area, view);
    let at = ratatui::layout::Position::new(ev.column, ev.row);
    // A click on an overview box gives it the focus (Tab's highlight; `z` maximises it).
    if let MouseEventKind::Down(MouseButton::Left) = ev.kind {
        let boxes = [
            (areas.cpu, BoxId::Cpu),
            (areas.memory, BoxId::Memory),
            (areas.network, BoxId::Network),
            (areas.disks, BoxId::Disks),
        ];
        if let Some((_, id)) = boxes
            .into_iter()
            .find(|(r, _)| r.is_some_and(|r| r.contains(at)))
        {
            view.focus = Some(id);
            if view.mode == Mode::Query {
                view.mode = Mode::Normal;
            }
            return true;
        }
    }
    let Some(query_area) = areas.query else {
        return false;
    };
    if !query_area.contains(at) || !view.is_shown(BoxId::Query) {
        return false;
    }
    let bar_row = query_area.y + 1;
    if let MouseEventKind::Down(MouseButton::Left) = ev.kind {
        view.focus = Some(BoxId::Query);
    }
    match ev.kind {
        MouseEventKind::Down(MouseButton::Left) if ev.row == bar_row => {
            view.apply(crate::tui::keymap::Intent::FocusQuery);
            true
        }
        MouseEventKind::Down(MouseButton::Left) => {
            let Some((graph, legend, panel)) = main::query::regions(query_area, snapshot, view)
            else {
                return false;
            };
            if legend.contains(at) {
                let hit = Legend::layout(legend, panel.series.len(), view.legend_selected)
                    .into_iter()
                    .find(|(_, r)| r.contains(at));
                if let Some((i, _)) = hit {
                    view.toggle_series(i);
                    return true;
                }
                return false;
            }
            if graph.contains(at) {
                let g = LineGraph::new(
                    panel.series.iter().map(|s| s.points.as_slice()).collect(),
                    panel.start_ms,
                    panel.end_ms,
                    panel.step_ms,
                )
                .unit(panel.unit);
                if let Some(t) = g.time_at_column(graph, ev.column) {
                    let back =
                        (panel.end_ms.saturating_sub(t) + panel.step_ms / 2) / panel.step_ms.max(1);
                    view.cursor_back = usize::try_from(back).ok();
                    return true;
                }
            }
            false
        }
        MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
            let intent = if ev.kind == MouseEventKind::ScrollUp {
                crate::tui::keymap::Intent::LegendUp
            } else {
                crate::tui::keymap::Intent::LegendDown
            };
            view.apply(intent);
            true
        }
        _ => false,
    }
}

/// The mouse on the targets pane: a click selects a target (a click on the selected one
/// opens its detail), the wheel moves the selection.
fn targets_mouse(area: Rect, snapshot: &UiSnapshot, view: &mut ViewState, ev: MouseEvent) -> bool {
    use crate::tui::keymap::Intent;
    match ev.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            let Some(k) = targets::target_at(main::body(area), snapshot, view, ev.row) else {
                return false;
            };
            if view.targets.selected == k {
                view.apply(Intent::TargetDetail);
            } else {
                view.targets.selected = k;
            }
            true
        }
        MouseEventKind::ScrollUp => {
            view.apply_with(Intent::TargetUp, snapshot);
            true
        }
        MouseEventKind::ScrollDown => {
            view.apply_with(Intent::TargetDown, snapshot);
            true
        }
        _ => false,
    }
}

/// The mouse on a cluster table: a click selects a row, the wheel moves the selection
/// (Enter opens it: opening a pod sends an action, which a mouse handler cannot).
fn cluster_mouse(area: Rect, snapshot: &UiSnapshot, view: &mut ViewState, ev: MouseEvent) -> bool {
    use crate::tui::keymap::Intent;
    let Some(cluster) = snapshot.cluster.as_deref() else {
        return false;
    };
    match ev.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            let Some(k) = cluster::tables::row_at(main::body(area), cluster, view, ev.row) else {
                return false;
            };
            view.cluster.table().selected = k;
            true
        }
        MouseEventKind::ScrollUp => {
            view.apply_with(Intent::ClusterUp, snapshot);
            true
        }
        MouseEventKind::ScrollDown => {
            view.apply_with(Intent::ClusterDown, snapshot);
            true
        }
        _ => false,
    }
}

/// The mouse on the alerts pane: a click selects an alert, the wheel moves the selection
/// (or scrolls the detail and the rules view). Enter opens the detail: that sends an
/// action, which a mouse handler cannot.
fn alerts_mouse(area: Rect, snapshot: &UiSnapshot, view: &mut ViewState, ev: MouseEvent) -> bool {
    use crate::tui::keymap::Intent;
    match ev.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            match alerts::item_at(main::body(area), snapshot, view, ev.row) {
                Some(k) => {
                    view.alerts.selected = k;
                    true
                }
                None => false,
            }
        }
        MouseEventKind::ScrollUp => {
            view.apply_with(Intent::AlertUp, snapshot);
            true
        }
        MouseEventKind::ScrollDown => {
            view.apply_with(Intent::AlertDown, snapshot);
            true
        }
        _ => false,
    }
}

/// The centered "terminal too small (W×H, need 40×12)" message.
fn too_small(area: Rect, buf: &mut Buffer, theme: &Theme) {
    if area.is_empty() {
        return;
    }
    let message = format!(
        "terminal too small ({}×{}, need {MIN_WIDTH}×{MIN_HEIGHT})",
        area.width, area.height
    );
    let width = usize::from(area.width);
    // Break after the closing word when one line is not enough.
    let lines: Vec<String> = if message.chars().count() <= width {
        vec![message]
    } else {
        vec![
            "terminal too small".to_string(),
            format!(
                "{}×{}, need {MIN_WIDTH}×{MIN_HEIGHT}",
                area.width, area.height
            ),
        ]
    };
    let top = area.y + area.height.saturating_sub(lines.len() as u16) / 2;
    for (i, line) in lines.iter().enumerate() {
        let y = top + i as u16;
        let row = Rect::new(area.x, y, area.width, 1).intersection(area);
        put_center(
            buf,
            row,
            &format::fit(line, width),
            Style::new().fg(theme.main_fg),
        );
    }
}

/// Writes `text` at `(x, y)`, cut to `max` cells; returns the cells used. Rows outside the
/// buffer are skipped.
pub fn put(buf: &mut Buffer, (x, y): (u16, u16), max: u16, text: &str, style: Style) -> u16 {
    if y < buf.area.top() || y >= buf.area.bottom() || x >= buf.area.right() || max == 0 {
        return 0;
    }
    let (end, _) = buf.set_stringn(x, y, text, usize::from(max), style);
    end - x
}

/// Writes `text` right-aligned in a one-row area.
pub fn put_right(buf: &mut Buffer, row: Rect, text: &str, style: Style) {
    let width = text.chars().count().min(usize::from(row.width)) as u16;
    let x = row.right() - width;
    put(buf, (x, row.y), width, text, style);
}

/// Writes `text` centered in a one-row area.
pub fn put_center(buf: &mut Buffer, row: Rect, text: &str, style: Style) {
    let width = text.chars().count().min(usize::from(row.width)) as u16;
    let x = row.x + (row.width - width) / 2;
    put(buf, (x, row.y), width, text, style);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(buf: &Buffer) -> Vec<String> {
        (0..buf.area.height)
            .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
            .collect()
    }

    #[test]
    fn too_small_is_centered_and_wraps_when_needed() {
        let theme = Theme::default();
        let snap = UiSnapshot::default();
        let view = ViewState::default();
        let mut buf = Buffer::empty(Rect::new(0, 0, 39, 11));
        render(buf.area, &mut buf, &snap, &view, &theme);
        assert_eq!(
            text(&buf)[5].trim(),
            "terminal too small (39×11, need 40×12)"
        );

        let mut narrow = Buffer::empty(Rect::new(0, 0, 30, 8));
        render(narrow.area, &mut narrow, &snap, &view, &theme);
        let lines = text(&narrow);
        assert_eq!(lines[3].trim(), "terminal too small");
        assert_eq!(lines[4].trim(), "30×8, need 40×12");

        let mut wide = Buffer::empty(Rect::new(0, 0, 60, 5));
        render(wide.area, &mut wide, &snap, &view, &theme);
        assert_eq!(
            text(&wide)[2].trim(),
            "terminal too small (60×5, need 40×12)"
        );
        assert_eq!(wide[(0, 0)].bg, theme.main_bg);
    }

    #[test]
    fn shown_lists_the_boxes_drawn() {
        use crate::tui::keymap::Intent;
        let data = crate::tui::fixture::sample_snapshot();
        let area = Rect::new(0, 0, 120, 40);
        let view = |intents: &[Intent]| {
            let mut v = ViewState::default();
            v.observe(&data);
            for i in intents {
                v.apply_with(*i, &data);
            }
            v
        };
        let all = [
            Shown::Cpu,
            Shown::Memory,
            Shown::Network,
            Shown::Disks,
            Shown::Panel(0),
        ];
        assert_eq!(shown(area, &data, &view(&[])), all);
        // Without a query the query box shows a hint, not data.
        assert_eq!(
            shown(area, &UiSnapshot::default(), &view(&[])),
            all[..4].to_vec()
        );
        assert_eq!(
            shown(
                area,
                &data,
                &view(&[Intent::ToggleBox(crate::tui::view::BoxId::Memory)])
            ),
            [Shown::Cpu, Shown::Network, Shown::Disks, Shown::Panel(0)]
        );
        assert_eq!(
            shown(area, &data, &view(&[Intent::Targets])),
            [Shown::Targets]
        );
        let mut maximised = view(&[Intent::FocusNext]);
        maximised.apply(Intent::ToggleMaximize);
        assert_eq!(shown(area, &data, &maximised).len(), 1);
        assert!(shown(Rect::new(0, 0, 39, 11), &data, &view(&[])).is_empty());
        // The dashboard: the panels on screen (a maximised one alone).
        let board = crate::tui::fixture::sample_dashboard_snapshot();
        let mut v = ViewState::default();
        v.observe(&board);
        v.apply_with(Intent::Dashboard, &board);
        let on_screen = shown(area, &board, &v);
        let ids: Vec<u64> = board
            .dashboard
            .rows
            .iter()
            .flat_map(|r| r.panels.iter().map(|c| c.id))
            .collect();
        assert!(!on_screen.is_empty());
        assert!(
            on_screen
                .iter()
                .all(|s| matches!(s, Shown::Panel(id) if ids.contains(id))),
            "{on_screen:?}"
        );
        v.apply_with(Intent::PanelZoom, &board);
        assert_eq!(shown(area, &board, &v).len(), 1);
    }

    #[test]
    fn degenerate_sizes_do_not_panic() {
        let theme = Theme::default();
        let snap = UiSnapshot::default();
        for (w, h) in [(0, 0), (1, 1), (5, 2), (40, 12), (41, 13), (200, 12)] {
            let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
            render(buf.area, &mut buf, &snap, &ViewState::default(), &theme);
        }
    }

    /// Every size from the minimum to 130×45, with data and without, in every mode the
    /// screens draw differently: nothing may panic (debug builds check arithmetic).
    #[test]
    fn every_size_and_mode_draws_without_panicking() {
        use crate::tui::keymap::Intent;
        let theme = Theme::default();
        let data = crate::tui::fixture::sample_snapshot();
        let empty = UiSnapshot::default();
        let mut views = vec![ViewState::default()];
        for intents in [
            &[Intent::FocusQuery][..],
            &[Intent::Help],
            &[Intent::Targets],
            &[Intent::Targets, Intent::TargetDetail],
            &[Intent::ToggleTable],
            &[
                Intent::GraphCursorLeft,
                Intent::LegendDown,
                Intent::LegendToggle,
            ],
            &[Intent::ToggleMaximize],
            &[Intent::NextLayout],
        ] {
            let mut v = ViewState::default();
            v.observe(&data);
            for i in intents {
                v.apply_with(*i, &data);
            }
            views.push(v);
        }
        // The dashboard, plain, focused on each row, maximised, under help; with the
        // fixture's dashboard, with none, and with the layout but no data yet.
        let dash = crate::tui::fixture::sample_dashboard_snapshot();
        let unevaluated = UiSnapshot {
            panels: Vec::new(),
            ..dash.clone()
        };
        let mut dash_views = Vec::new();
        for intents in [
            &[][..],
            &[Intent::PanelDown],
            &[Intent::PanelDown, Intent::PanelDown, Intent::PanelDown],
            &[Intent::PanelNext, Intent::PanelZoom],
            &[Intent::PanelPrev, Intent::PanelZoom],
            &[Intent::Help],
        ] {
            let mut v = ViewState::default();
            v.apply_with(Intent::Dashboard, &dash);
            for i in intents {
                v.apply_with(*i, &dash);
            }
            dash_views.push(v);
        }
        let widths = ((MIN_WIDTH - 1)..=130).step_by(3).chain([80, 100, 120]);
        for w in widths {
            for h in ((MIN_HEIGHT - 1)..=45).step_by(2).chain([24, 30, 40]) {
                for view in &views {
                    for snap in [&data, &empty] {
                        let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
                        render(buf.area, &mut buf, snap, view, &theme);
                    }
                }
                for view in &dash_views {
                    for snap in [&dash, &empty, &unevaluated] {
                        let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
                        render(buf.area, &mut buf, snap, view, &theme);
                    }
                }
            }
        }
        // And the largest sizes the dashboard is made for.
        for (w, h) in [(250, 70), (200, 50), (250, 12), (40, 70)] {
            for view in &dash_views {
                let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
                render(buf.area, &mut buf, &dash, view, &theme);
            }
        }
    }

    #[test]
    fn put_clips() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 5, 1));
        assert_eq!(put(&mut buf, (3, 0), 10, "abcdef", Style::new()), 2);
        assert_eq!(put(&mut buf, (0, 3), 10, "abc", Style::new()), 0);
        put_right(&mut buf, Rect::new(0, 0, 3, 1), "xy", Style::new());
        assert_eq!(text(&buf), vec![" xyab"]);
    }
}
