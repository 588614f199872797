//! Screen tests for the main screen: insta snapshots of whole frames drawn from the fixture
//! on a `TestBackend`, and cell-style asserts for the colours the theme promises.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Modifier;

use super::*;
use crate::tui::fixture::sample_snapshot;
use crate::tui::screens;
use crate::tui::widgets::graph::braille;

fn draw(width: u16, height: u16, snap: &UiSnapshot, view: &ViewState) -> Terminal<TestBackend> {
    let theme = Theme::default();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| screens::draw(frame, snap, view, &theme))
        .unwrap();
    terminal
}

fn hidden(ids: &[BoxId]) -> ViewState {
    let mut view = ViewState::default();
    for id in ids {
        view.set_shown(*id, false);
    }
    view
}

fn row_text(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

#[test]
fn full_screen_120x40() {
    let t = draw(120, 40, &sample_snapshot(), &ViewState::default());
    insta::assert_snapshot!(t.backend());
}

#[test]
fn full_screen_80x24() {
    let t = draw(80, 24, &sample_snapshot(), &ViewState::default());
    insta::assert_snapshot!(t.backend());
}

#[test]
fn minimum_size_40x12() {
    let t = draw(40, 12, &sample_snapshot(), &ViewState::default());
    insta::assert_snapshot!(t.backend());
}

#[test]
fn too_small() {
    let t = draw(39, 12, &sample_snapshot(), &ViewState::default());
    insta::assert_snapshot!(t.backend());
}

#[test]
fn network_and_disks_toggled_off() {
    let view = hidden(&[BoxId::Network, BoxId::Disks]);
    let t = draw(100, 30, &sample_snapshot(), &view);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn cpu_toggled_off() {
    let view = hidden(&[BoxId::Cpu]);
    let t = draw(100, 30, &sample_snapshot(), &view);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn all_boxes_toggled_off() {
    let t = draw(60, 14, &sample_snapshot(), &hidden(&BoxId::ALL));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn empty_snapshot() {
    let t = draw(80, 24, &UiSnapshot::default(), &ViewState::default());
    insta::assert_snapshot!(t.backend());
}

#[test]
fn box_titles_take_theme_colours() {
    let theme = Theme::default();
    let t = draw(120, 40, &sample_snapshot(), &ViewState::default());
    let buf = t.backend().buffer();
    // Row 0 is the header; the cpu box starts under it.
    assert_eq!(
        row_text(buf, 1).chars().take(8).collect::<String>(),
        "╭─┐¹cpu┌"
    );
    assert_eq!(buf[(0, 1)].fg, theme.cpu_box);
    assert_eq!(buf[(2, 1)].fg, theme.cpu_box);
    assert_eq!(buf[(3, 1)].fg, theme.hi_fg, "hotkey digit");
    assert_eq!(buf[(4, 1)].fg, theme.title, "title text");
    assert_eq!(buf[(7, 1)].fg, theme.cpu_box);
    assert_eq!(buf[(60, 20)].bg, theme.main_bg);
    assert_eq!(buf[(1, 0)].fg, theme.title, "the header's kmon");

    let areas = layout(buf.area, &ViewState::default());
    let mem = areas.memory.unwrap();
    let net = areas.network.unwrap();
    let disks = areas.disks.unwrap();
    assert_eq!(buf[(mem.x, mem.y)].symbol(), "╭");
    assert_eq!(buf[(mem.x, mem.y)].fg, theme.mem_box);
    assert_eq!(buf[(net.x, net.y)].fg, theme.net_box);
    assert_eq!(buf[(disks.x + 3, disks.y)].symbol(), "⁴");
    assert_eq!(buf[(disks.x + 3, disks.y)].fg, theme.hi_fg);
}

#[test]
fn full_graph_columns_end_in_the_gradient_end_colour() {
    let theme = Theme::default();
    let mut snap = sample_snapshot();
    for point in snap.cpu.total.iter_mut() {
        *point = Some(100.0);
    }
    let t = draw(120, 40, &snap, &ViewState::default());
    let buf = t.backend().buffer();
    let full = braille(4, 4, false).to_string();
    // The box's first inner row is the top row of the total graph; the uptime text covers
    // its left end.
    let top_y = layout(buf.area, &ViewState::default()).cpu.unwrap().y + 1;
    let top: Vec<u16> = (1..60)
        .filter(|x| buf[(*x, top_y)].symbol() == full)
        .collect();
    assert!(
        top.len() > 40,
        "expected a full top row, got {:?}",
        row_text(buf, top_y)
    );
    for x in top {
        assert_eq!(buf[(x, top_y)].fg, theme.cpu.end(), "column {x}");
    }
    // The bottom row of the same graph is the gradient's lowest step.
    let bottom_y = layout(buf.area, &ViewState::default())
        .cpu
        .unwrap()
        .bottom()
        - 2;
    assert_eq!(buf[(30, bottom_y)].symbol(), full);
    assert_ne!(buf[(30, bottom_y)].fg, theme.cpu.end());
}

#[test]
fn meters_use_their_gradients() {
    let theme = Theme::default();
    let t = draw(120, 40, &sample_snapshot(), &ViewState::default());
    let buf = t.backend().buffer();
    let mem = layout(buf.area, &ViewState::default()).memory.unwrap();
    // The first meter square of the "Used:" row: the used gradient near its start.
    let (x, y) = (mem.x + 1 + 11, mem.y + 1);
    assert_eq!(buf[(x, y)].symbol(), "■");
    let used_colours: Vec<_> = (0..=100).map(|p| theme.used.at(f64::from(p))).collect();
    assert!(used_colours.contains(&buf[(x, y)].fg));
    // The empty end of the "Free:" row (13 % full) is meter_bg.
    let free_row = mem.y + 4;
    let last_square = (mem.x..mem.right())
        .rev()
        .find(|x| buf[(*x, free_row)].symbol() == "■")
        .unwrap();
    assert_eq!(buf[(last_square, free_row)].fg, theme.meter_bg);
}

#[test]
fn layout_gives_hidden_space_away() {
    let area = Rect::new(0, 0, 120, 40);
    let all = layout(area, &ViewState::default());
    assert_eq!(all.header, Rect::new(0, 0, 120, 1));
    assert_eq!(all.cpu, Some(Rect::new(0, 1, 120, 9)));
    assert_eq!(all.memory, Some(Rect::new(0, 10, 60, 7)));
    assert_eq!(all.disks, Some(Rect::new(0, 17, 60, 7)));
    assert_eq!(all.network, Some(Rect::new(60, 10, 60, 14)));
    assert_eq!(all.query, Some(Rect::new(0, 24, 120, 15)));
    assert_eq!(all.status, Rect::new(0, 39, 120, 1));

    // Focused, the query box takes more of the screen.
    let mut typing = ViewState::default();
    typing.apply(crate::tui::keymap::Intent::FocusQuery);
    assert_eq!(layout(area, &typing).query, Some(Rect::new(0, 17, 120, 22)));

    let no_net = layout(area, &hidden(&[BoxId::Network]));
    assert_eq!(no_net.memory.unwrap().width, 120);
    let cpu_only = layout(
        area,
        &hidden(&[BoxId::Memory, BoxId::Network, BoxId::Disks, BoxId::Query]),
    );
    assert_eq!(cpu_only.cpu, Some(Rect::new(0, 1, 120, 38)));
    assert_eq!(cpu_only.query, None);
    let net_only = layout(
        area,
        &hidden(&[BoxId::Cpu, BoxId::Memory, BoxId::Disks, BoxId::Query]),
    );
    assert_eq!(net_only.network, Some(Rect::new(0, 1, 120, 38)));
    let query_only = layout(
        area,
        &hidden(&[BoxId::Cpu, BoxId::Memory, BoxId::Network, BoxId::Disks]),
    );
    assert_eq!(query_only.query, Some(Rect::new(0, 1, 120, 38)));
}

#[test]
fn busiest_interface_is_chosen_by_latest_traffic() {
    let snap = sample_snapshot();
    assert_eq!(network::busiest(&snap.network.interfaces), Some(0));
    let mut swapped = snap.network.interfaces.clone();
    swapped.reverse();
    assert_eq!(network::busiest(&swapped), Some(1));
    assert_eq!(network::busiest(&[]), None);
}

fn typed(view: &mut ViewState, text: &str) {
    for c in text.chars() {
        view.type_char(c);
    }
}

fn observed() -> ViewState {
    let mut view = ViewState::default();
    view.observe(&sample_snapshot());
    view
}

#[test]
fn query_bar_highlights_and_underlines_while_typing() {
    let theme = Theme::default();
    let mut view = observed();
    view.apply(crate::tui::keymap::Intent::FocusQuery);
    typed(
        &mut view,
        "sum by (device) (rate(node_network_receive_bytes_total[1m]",
    );
    let t = draw(100, 30, &sample_snapshot(), &view);
    insta::assert_snapshot!(t.backend());
    let buf = t.backend().buffer();
    let q = layout(buf.area, &view).query.unwrap();
    let bar_y = q.y + 1;
    let line = row_text(buf, bar_y);
    assert!(line.starts_with("│❯ sum by (device)"), "{line}");
    // `sum` is an aggregation (hi_fg, bold); the metric name is bold main_fg.
    assert_eq!(buf[(q.x + 3, bar_y)].fg, theme.hi_fg);
    let metric_x = q.x + 3 + line[..line.find("node_network").unwrap()].chars().count() as u16 - 3;
    assert!(buf[(metric_x, bar_y)].modifier.contains(Modifier::BOLD));
    // The problem row names it, in the error colour.
    let problem = row_text(buf, bar_y + 1);
    assert!(problem.contains("unclosed left parenthesis"), "{problem}");
    assert_eq!(buf[(q.x + 1, bar_y + 1)].fg, theme.temp.end());
    // The block cursor sits after the text.
    let end_x = q.x + 3 + "sum by (device) (rate(node_network_receive_bytes_total[1m]".len() as u16;
    assert!(buf[(end_x, bar_y)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn completion_list_covers_the_panel() {
    let mut view = observed();
    view.apply(crate::tui::keymap::Intent::FocusQuery);
    typed(&mut view, "rate(node_net");
    let cand = |t: &str, d: &str| crate::tui::view::Candidate {
        text: t.into(),
        label: t.into(),
        detail: d.into(),
    };
    view.start_completion(
        vec![
            cand("node_network_receive_bytes_total", "counter"),
            cand("node_network_transmit_bytes_total", "counter"),
            cand("node_netstat_Tcp_ActiveOpens", ""),
        ],
        5..13,
    );
    view.cycle_completion(false);
    let t = draw(100, 30, &sample_snapshot(), &view);
    insta::assert_snapshot!(t.backend());
    let buf = t.backend().buffer();
    let theme = Theme::default();
    let q = layout(buf.area, &view).query.unwrap();
    // The second candidate is in the line and highlighted in the list.
    assert!(row_text(buf, q.y + 1).contains("rate(node_network_transmit_bytes_total"));
    assert_eq!(buf[(q.x + 2, q.y + 3)].bg, theme.selected_bg);
}

#[test]
fn table_view_cursor_and_hidden_series() {
    let mut view = observed();
    view.apply(crate::tui::keymap::Intent::ToggleTable);
    let t = draw(100, 30, &sample_snapshot(), &view);
    insta::assert_snapshot!("table_view", t.backend());

    let mut view = observed();
    view.apply(crate::tui::keymap::Intent::LegendDown);
    view.apply(crate::tui::keymap::Intent::LegendDown);
    view.apply(crate::tui::keymap::Intent::LegendToggle);
    for _ in 0..30 {
        view.apply_with(
            crate::tui::keymap::Intent::GraphCursorLeft,
            &sample_snapshot(),
        );
    }
    let t = draw(100, 30, &sample_snapshot(), &view);
    insta::assert_snapshot!("cursor_and_hidden", t.backend());
    let buf = t.backend().buffer();
    let bottom = row_text(buf, layout(buf.area, &view).query.unwrap().bottom() - 1);
    assert!(
        bottom.contains("3 series · cursor 22:08:30 · 1 hidden"),
        "{bottom}"
    );
    // The cursor stops at the panel's first step (89 steps back).
    for _ in 0..200 {
        view.apply_with(
            crate::tui::keymap::Intent::GraphCursorLeft,
            &sample_snapshot(),
        );
    }
    assert_eq!(view.cursor_back, Some(89));
}

#[test]
fn help_overlay_lists_the_keymap() {
    let mut view = observed();
    view.apply(crate::tui::keymap::Intent::Help);
    let t = draw(120, 40, &sample_snapshot(), &view);
    insta::assert_snapshot!("help_120x40", t.backend());
    let text: String = (0..40).map(|y| row_text(t.backend().buffer(), y)).collect();
    assert!(text.contains("search history"), "{text}");
    let t = draw(80, 24, &sample_snapshot(), &view);
    insta::assert_snapshot!("help_80x24", t.backend());
    let text: String = (0..24).map(|y| row_text(t.backend().buffer(), y)).collect();
    assert!(
        text.contains("↓ more") && !text.contains("search history"),
        "{text}"
    );
    // Scrolling down reaches the keys further down (the targets pane's).
    for _ in 0..40 {
        view.apply(crate::tui::keymap::Intent::HelpDown);
    }
    let t = draw(80, 24, &sample_snapshot(), &view);
    let text: String = (0..24).map(|y| row_text(t.backend().buffer(), y)).collect();
    assert!(
        text.contains("previous target") && text.contains("more"),
        "{text}"
    );
}

#[test]
fn command_line_in_the_status_row() {
    let mut view = observed();
    view.apply(crate::tui::keymap::Intent::OpenCommand);
    typed(&mut view, "range 1h");
    let t = draw(100, 30, &sample_snapshot(), &view);
    let last = row_text(t.backend().buffer(), 29);
    assert!(last.starts_with(":range 1h "), "{last}");
    assert!(last.contains("Enter run"), "{last}");
}

#[test]
fn mouse_toggles_legend_entries_sets_the_cursor_and_focuses_the_bar() {
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let snap = sample_snapshot();
    let area = Rect::new(0, 0, 100, 30);
    let click = |column, row| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let mut view = observed();
    let q = layout(area, &view).query.unwrap();
    let (graph, legend, _) = query::regions(q, &snap, &view).unwrap();
    // The legend's second entry (`lo`), wherever the legend put it.
    let (_, r) = crate::tui::widgets::Legend::layout(legend, 3, None)
        .into_iter()
        .find(|(i, _)| *i == 1)
        .unwrap();
    assert!(screens::mouse(area, &snap, &mut view, click(r.x + 2, r.y)));
    assert_eq!(view.hidden.len(), 1);
    assert!(view.hidden.iter().next().unwrap().contains("device=\"lo\""));
    assert!(screens::mouse(area, &snap, &mut view, click(r.x + 2, r.y)));
    assert!(view.hidden.is_empty());
    // The middle of the graph: a cursor some steps back.
    assert!(screens::mouse(
        area,
        &snap,
        &mut view,
        click(graph.x + graph.width / 2, graph.y + 1)
    ));
    let back = view.cursor_back.expect("a cursor");
    assert!((20..70).contains(&back), "{back}");
    // On another box: it takes the focus.
    assert!(screens::mouse(area, &snap, &mut view, click(1, 2)));
    assert_eq!(view.focus, Some(BoxId::Cpu));
    let net = layout(area, &view).network.unwrap();
    assert!(screens::mouse(
        area,
        &snap,
        &mut view,
        click(net.x + 3, net.y + 2)
    ));
    assert_eq!(view.focus, Some(BoxId::Network));
    // The header row is no box: nothing.
    assert!(!screens::mouse(area, &snap, &mut view, click(1, 0)));
    // The bar row focuses the query bar.
    assert!(screens::mouse(
        area,
        &snap,
        &mut view,
        click(q.x + 5, q.y + 1)
    ));
    assert_eq!(view.mode, crate::tui::view::Mode::Query);
}

#[test]
fn focus_highlights_a_border_and_maximise_gives_it_the_screen() {
    let theme = Theme::default();
    let mut view = observed();
    view.apply(crate::tui::keymap::Intent::FocusNext);
    view.apply(crate::tui::keymap::Intent::FocusNext);
    assert_eq!(view.focus, Some(BoxId::Memory));
    let t = draw(100, 30, &sample_snapshot(), &view);
    let buf = t.backend().buffer();
    let areas = layout(buf.area, &view);
    let mem = areas.memory.unwrap();
    assert_eq!(buf[(mem.x, mem.y)].fg, theme.hi_fg);
    assert_eq!(buf[(mem.x, mem.bottom() - 1)].fg, theme.hi_fg);
    let cpu = areas.cpu.unwrap();
    assert_eq!(buf[(cpu.x, cpu.y)].fg, theme.cpu_box);

    view.apply(crate::tui::keymap::Intent::FocusNext);
    view.apply(crate::tui::keymap::Intent::FocusNext);
    view.apply(crate::tui::keymap::Intent::FocusNext);
    assert_eq!(view.focus, Some(BoxId::Query));
    view.apply(crate::tui::keymap::Intent::ToggleMaximize);
    let t = draw(100, 30, &sample_snapshot(), &view);
    insta::assert_snapshot!("query_maximised", t.backend());
    let areas = layout(Rect::new(0, 0, 100, 30), &view);
    assert_eq!(areas.query, Some(Rect::new(0, 1, 100, 28)));
    assert_eq!(
        (areas.cpu, areas.memory, areas.network, areas.disks),
        (None, None, None, None)
    );
}

#[test]
fn targets_pane_lists_filters_and_opens_a_detail() {
    use crate::tui::keymap::Intent;
    let snap = sample_snapshot();
    let theme = Theme::default();
    let mut view = observed();
    view.apply_with(Intent::Targets, &snap);
    let t = draw(120, 30, &snap, &view);
    insta::assert_snapshot!("targets_list", t.backend());
    let text: Vec<String> = (0..30).map(|y| row_text(t.backend().buffer(), y)).collect();
    let all = text.join("\n");
    assert!(all.contains("node-exporter (1/2 up)"), "{all}");
    assert!(all.contains("dial tcp 10.0"), "{all}");
    assert!(all.contains("4 of 4 targets"), "{all}");
    assert!(
        all.contains("dropped by relabeling: node-exporter 3"),
        "{all}"
    );
    // The first target (kmon, never scraped) is selected.
    let sel_y = text.iter().position(|l| l.contains("? unknown")).unwrap() as u16;
    assert_eq!(t.backend().buffer()[(5, sel_y)].bg, theme.selected_bg);

    // Down twice, then the state filter to "down" keeps only the failing target.
    view.apply_with(Intent::TargetDown, &snap);
    view.apply_with(Intent::TargetStateFilter, &snap);
    view.apply_with(Intent::TargetStateFilter, &snap);
    let t = draw(120, 30, &snap, &view);
    let all: String = (0..30).map(|y| row_text(t.backend().buffer(), y)).collect();
    assert!(
        all.contains("state down") && all.contains("1 of 4 targets"),
        "{all}"
    );

    // Its detail: labels before and after relabeling, the full error.
    view.apply_with(Intent::TargetDetail, &snap);
    let t = draw(120, 30, &snap, &view);
    insta::assert_snapshot!("targets_detail", t.backend());
    let all: String = (0..30).map(|y| row_text(t.backend().buffer(), y)).collect();
    assert!(
        all.contains("discovered labels (before relabeling)"),
        "{all}"
    );
    assert!(
        all.contains("__meta_filepath=\"/etc/prometheus/targets.json\""),
        "{all}"
    );
    assert!(
        all.contains("dial tcp 10.0.0.8:9100: connect: connection refused"),
        "{all}"
    );

    // A text filter, typed (after the state filter goes round to all: dropped, all).
    view.apply_with(Intent::Back, &snap);
    view.apply_with(Intent::TargetStateFilter, &snap);
    view.apply_with(Intent::TargetStateFilter, &snap);
    view.apply_with(Intent::TargetStateFilter, &snap);
    view.apply_with(Intent::TargetFilter, &snap);
    typed(&mut view, "builtin");
    let t = draw(120, 30, &snap, &view);
    let all: String = (0..30).map(|y| row_text(t.backend().buffer(), y)).collect();
    assert!(
        all.contains("filter builtin") && all.contains("1 of 4 targets"),
        "{all}"
    );
    view.apply_with(Intent::Submit, &snap);
    assert_eq!(view.mode, crate::tui::view::Mode::Targets);

    // `g` graphs the selected target's up in the query box.
    let flow = view.apply_with(Intent::TargetGraph, &snap);
    assert_eq!(
        flow,
        crate::tui::Flow::Send(crate::app::Action::RunQuery {
            expr: "up{job=\"node\", instance=\"kmon-demo\"}".into()
        })
    );
    assert_eq!(view.mode, crate::tui::view::Mode::Normal);
    assert_eq!(
        view.query.text(),
        "up{job=\"node\", instance=\"kmon-demo\"}"
    );
}

#[test]
fn options_menu_overlay() {
    use crate::tui::keymap::Intent;
    let snap = sample_snapshot();
    let mut view = observed();
    view.apply(Intent::Options);
    view.apply(Intent::OptionDown);
    view.apply(Intent::OptionDown);
    view.apply(Intent::OptionMore);
    // Past the bell, down to box 2 (mem).
    view.apply(Intent::OptionDown);
    view.apply(Intent::OptionDown);
    view.apply(Intent::OptionDown);
    view.apply(Intent::OptionMore);
    let t = draw(100, 30, &snap, &view);
    insta::assert_snapshot!(t.backend());
    let buf = t.backend().buffer();
    let rows: Vec<String> = (0..30).map(|y| row_text(buf, y)).collect();
    let graph = rows
        .iter()
        .position(|r| r.contains("graph symbols"))
        .expect("graph row");
    assert!(rows[graph].contains("◀ block ▶"), "{}", rows[graph]);
    let mem = rows
        .iter()
        .position(|r| r.contains("box 2 mem"))
        .expect("mem row");
    assert!(rows[mem].contains("[ ] hidden"), "{}", rows[mem]);
    // The selected row (mem) is drawn in the selection colours.
    let theme = crate::tui::Theme::default();
    let x = rows[mem]
        .find("box 2")
        .map(|b| rows[mem][..b].chars().count())
        .unwrap() as u16;
    assert_eq!(buf[(x, mem as u16)].bg, theme.selected_bg);
    assert!(rows.last().unwrap().contains("Esc close and save"));
}

#[test]
fn mouse_selects_targets_opens_a_detail_and_scrolls() {
    use crate::tui::keymap::Intent;
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let snap = sample_snapshot();
    let area = Rect::new(0, 0, 100, 30);
    let ev = |kind, row| MouseEvent {
        kind,
        column: 10,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let click = |row| ev(MouseEventKind::Down(MouseButton::Left), row);
    let mut view = observed();
    view.apply_with(Intent::Targets, &snap);
    let t = draw(100, 30, &snap, &view);
    let buf = t.backend().buffer();
    // The rows of the list that show a target (its state), top to bottom.
    let target_rows: Vec<u16> = (0..30)
        .filter(|y| {
            let r = row_text(buf, *y);
            ["▲ up", "▼ down", "? unknown"]
                .iter()
                .any(|s| r.contains(s))
        })
        .collect();
    assert!(target_rows.len() >= 3, "{target_rows:?}");
    assert_eq!(view.targets.selected, 0);
    // A click on the third target selects it; the screen draws it selected.
    assert!(screens::mouse(
        area,
        &snap,
        &mut view,
        click(target_rows[2])
    ));
    assert_eq!(view.targets.selected, 2);
    let t = draw(100, 30, &snap, &view);
    let theme = crate::tui::Theme::default();
    assert_eq!(
        t.backend().buffer()[(3, target_rows[2])].bg,
        theme.selected_bg
    );
    // A click on a pool heading or the filter line selects nothing.
    assert!(!screens::mouse(area, &snap, &mut view, click(2)));
    // The wheel moves the selection.
    assert!(screens::mouse(
        area,
        &snap,
        &mut view,
        ev(MouseEventKind::ScrollUp, 5)
    ));
    assert_eq!(view.targets.selected, 1);
    assert!(screens::mouse(
        area,
        &snap,
        &mut view,
        ev(MouseEventKind::ScrollDown, 5)
    ));
    assert_eq!(view.targets.selected, 2);
    // A click on the selected target opens its detail.
    assert!(screens::mouse(
        area,
        &snap,
        &mut view,
        click(target_rows[2])
    ));
    assert!(view.targets.detail);
    let t = draw(100, 30, &snap, &view);
    let text: String = (0..30).map(|y| row_text(t.backend().buffer(), y)).collect();
    assert!(text.contains("discovered labels"), "{text}");
}

#[test]
fn the_dropped_filter_lists_what_relabeling_dropped() {
    use crate::tui::keymap::Intent;
    let snap = sample_snapshot();
    let mut view = observed();
    view.apply_with(Intent::Targets, &snap);
    // all → up → down → unknown → dropped.
    for _ in 0..4 {
        view.apply_with(Intent::TargetStateFilter, &snap);
    }
    let t = draw(100, 30, &snap, &view);
    let text: Vec<String> = (0..30).map(|y| row_text(t.backend().buffer(), y)).collect();
    let all = text.join("\n");
    assert!(
        all.contains("state dropped   3 of 3 dropped targets"),
        "{all}"
    );
    assert!(all.contains("node-exporter (3 dropped)"), "{all}");
    let row = text
        .iter()
        .find(|r| r.contains("10.0.1.2:9100"))
        .expect("a dropped row");
    assert!(
        row.contains("✕ dropped") && row.contains("__meta_env=\"staging\""),
        "{row}"
    );
    // The header still counts the active targets.
    assert!(all.contains("▲2 ▼1 ?1"), "{all}");
    // Down, Enter: its detail, with no target labels; g graphs nothing.
    view.apply_with(Intent::TargetDown, &snap);
    view.apply_with(Intent::TargetDetail, &snap);
    assert_eq!(
        view.apply_with(Intent::TargetGraph, &snap),
        crate::tui::Flow::Continue
    );
    let t = draw(100, 30, &snap, &view);
    let all: String = (0..30)
        .map(|y| row_text(t.backend().buffer(), y) + "\n")
        .collect();
    assert!(all.contains("10.0.1.2:9100"), "{all}");
    assert!(
        all.contains("dropped by relabeling: never scraped"),
        "{all}"
    );
    assert!(all.contains("(none: relabeling dropped it)"), "{all}");
    // One more `s`: back to all targets.
    view.apply_with(Intent::Back, &snap);
    view.apply_with(Intent::TargetStateFilter, &snap);
    assert_eq!(view.targets.state.name(), "all");
}
