//! The dashboard screen: insta snapshots of the fixture dashboard at 80×24, 120×40 and
//! 250×70, focus and maximise, paging, the empty dashboard, the row arithmetic, and the
//! colours the theme promises.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::app::DashboardRow;
use crate::tui::fixture::sample_dashboard_snapshot;
use crate::tui::keymap::Intent;
use crate::tui::screens;
use crate::tui::view::Mode;

fn on_dashboard(intents: &[Intent]) -> ViewState {
    let snap = sample_dashboard_snapshot();
    let mut view = ViewState::default();
    view.apply_with(Intent::Dashboard, &snap);
    for i in intents {
        view.apply_with(*i, &snap);
    }
    view
}

fn draw(width: u16, height: u16, snap: &UiSnapshot, view: &ViewState) -> Terminal<TestBackend> {
    let theme = Theme::default();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal
        .draw(|frame| screens::draw(frame, snap, view, &theme))
        .expect("draw");
    terminal
}

fn text(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn dashboard_80x24() {
    let t = draw(80, 24, &sample_dashboard_snapshot(), &on_dashboard(&[]));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn dashboard_120x40() {
    let t = draw(120, 40, &sample_dashboard_snapshot(), &on_dashboard(&[]));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn dashboard_250x70() {
    let t = draw(250, 70, &sample_dashboard_snapshot(), &on_dashboard(&[]));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn focused_graph_maximised_120x40() {
    let view = on_dashboard(&[Intent::PanelDown, Intent::PanelZoom]);
    assert_eq!(view.dashboard.focus, Some(6));
    let t = draw(120, 40, &sample_dashboard_snapshot(), &view);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn rows_that_do_not_fit_page_with_the_focus() {
    let snap = sample_dashboard_snapshot();
    // 80×16: a 14-row body holds two rows at the minimum height.
    let first = draw(80, 16, &snap, &on_dashboard(&[]));
    let first = text(first.backend().buffer());
    assert!(
        first.contains("CPU busy") && first.contains("Network receive"),
        "{first}"
    );
    assert!(first.contains("▦ This machine · ▼2 rows"), "{first}");
    assert!(!first.contains("Broken"), "{first}");
    let view = on_dashboard(&[Intent::PanelDown, Intent::PanelDown, Intent::PanelDown]);
    let t = draw(80, 16, &snap, &view);
    insta::assert_snapshot!(t.backend());
    let last = text(t.backend().buffer());
    assert!(last.contains("▦ This machine · ▲2 rows"), "{last}");
    assert!(last.contains("pinned · x unpins"), "{last}");
    assert!(!last.contains("CPU busy"), "{last}");
}

#[test]
fn an_empty_dashboard_says_how_to_pin() {
    let snap = UiSnapshot::default();
    let mut view = ViewState::default();
    view.apply_with(Intent::Dashboard, &snap);
    let t = draw(90, 20, &snap, &view);
    assert!(text(t.backend().buffer()).contains(EMPTY));
}

#[test]
fn help_over_the_dashboard_keeps_the_dashboard_underneath() {
    let view = on_dashboard(&[Intent::Help]);
    assert_eq!(view.mode, Mode::Help);
    // Wide enough for the help's columns to leave the dashboard's edges showing.
    let t = draw(250, 70, &sample_dashboard_snapshot(), &view);
    let screen = text(t.backend().buffer());
    assert!(screen.contains("Broken"), "{screen}");
    assert!(screen.contains("unpin the focused panel"), "{screen}");
}

#[test]
fn colours_follow_the_theme() {
    let theme = Theme::default();
    let snap = sample_dashboard_snapshot();
    let view = on_dashboard(&[Intent::PanelNext]);
    let t = draw(120, 40, &snap, &view);
    let buf = t.backend().buffer();
    let placement = place(screens::main::body(buf.area), &snap.dashboard, &view);
    let rect = |id| {
        placement
            .panels
            .iter()
            .find(|p| p.id == id)
            .expect("placed")
            .rect
    };
    // The focused panel's border is highlighted, the others take their row's colour.
    assert_eq!(buf[(rect(2).x, rect(2).y)].fg, theme.hi_fg);
    assert_eq!(buf[(rect(1).x, rect(1).y)].fg, theme.cpu_box);
    assert_eq!(buf[(rect(6).x, rect(6).y)].fg, theme.mem_box);
    // The query error is in the error colour, inside its panel.
    let broken = rect(8);
    let cell = &buf[(broken.x + 1, broken.y + 1)];
    assert_eq!(cell.symbol(), "q");
    assert_eq!(cell.fg, theme.temp.end());
    // A percentage's stat colour comes from the CPU gradient at its value.
    let cpu = rect(1);
    let latest = snap
        .panels
        .iter()
        .find(|p| p.id == 1)
        .and_then(|p| p.series[0].points.last())
        .map(|p| p.1);
    let want = theme.cpu.at(latest.expect("a value"));
    let row: Vec<_> = (cpu.x..cpu.right()).map(|x| &buf[(x, cpu.y + 1)]).collect();
    assert!(
        row.iter().any(|c| c.symbol() != " " && c.fg == want),
        "no cell in {want:?}"
    );
}

#[test]
fn row_heights_share_and_shrink() {
    assert_eq!(heights(&[Some(6), None, None], 22), [6, 8, 8]);
    assert_eq!(heights(&[None, None, None], 16), [6, 5, 5]);
    assert_eq!(heights(&[Some(10), Some(10)], 30), [10, 10]);
    // Too tall: explicit rows shrink in proportion, never under the minimum.
    assert_eq!(heights(&[Some(30), Some(10), None], 20), [10, 5, 5]);
    assert_eq!(heights(&[Some(3), None], 10), [3, 7]);
    assert_eq!(page(7, 14, 0), 0..2);
    assert_eq!(page(7, 14, 5), 4..6);
    assert_eq!(page(7, 14, 6), 6..7);
    assert_eq!(page(7, 3, 6), 6..7);
    assert_eq!(page(0, 14, 0), 0..0);
}

#[test]
fn panels_split_the_row_by_width_and_clicks_focus_them() {
    let snap = sample_dashboard_snapshot();
    let mut view = on_dashboard(&[]);
    let area = Rect::new(0, 1, 120, 38);
    let p = place(area, &snap.dashboard, &view);
    let row2: Vec<Rect> = p
        .panels
        .iter()
        .filter(|p| p.row == 1)
        .map(|p| p.rect)
        .collect();
    assert_eq!(row2[0].width, 80);
    assert_eq!(row2[1].width, 40);
    assert_eq!(row2[0].right(), row2[1].x);
    assert!(
        p.panels
            .iter()
            .all(|p| area.contains(p.rect.as_position()) && p.rect.bottom() <= area.bottom())
    );
    let table = row2[1];
    assert!(click(area, &snap, &mut view, table.x + 2, table.y + 2));
    assert_eq!(view.dashboard.focus, Some(7));
    assert!(!click(area, &snap, &mut view, table.x + 2, table.y + 2));
    let _ = DashboardRow::default();
}

#[test]
fn odd_values_and_labels_draw_in_every_kind() {
    use crate::app::{PanelData, PanelKind, PanelSeries, Unit};
    use crate::model::Labels;
    let mut snap = sample_dashboard_snapshot();
    let odd = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e300,
        -1e300,
        1e-300,
        -5.0,
        0.0,
    ];
    let series: Vec<PanelSeries> = odd
        .iter()
        .enumerate()
        .map(|(i, v)| PanelSeries {
            query: i % 2,
            labels: Labels::from_pairs(&[("名前", &format!("ünï {i} 🚀"))]),
            points: vec![(1_699_999_990_000, *v), (1_700_000_000_000, *v)],
        })
        .collect();
    let kinds = [
        PanelKind::Graph,
        PanelKind::Stat,
        PanelKind::Gauge,
        PanelKind::Table,
    ];
    for (p, kind) in snap
        .panels
        .iter_mut()
        .filter(|p| p.id != 0)
        .zip(kinds.iter().cycle())
    {
        *p = PanelData {
            kind: *kind,
            unit: [Unit::Percent, Unit::Bytes, Unit::Seconds, Unit::None][p.id as usize % 4],
            series: series.clone(),
            ..p.clone()
        };
    }
    let theme = Theme::default();
    for view in [on_dashboard(&[]), on_dashboard(&[Intent::PanelZoom])] {
        for (w, h) in [(40, 12), (80, 24), (121, 41), (250, 70), (300, 13)] {
            let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
            screens::render(buf.area, &mut buf, &snap, &view, &theme);
        }
    }
}
