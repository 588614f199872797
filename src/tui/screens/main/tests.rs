//! Screen tests for the main screen: insta snapshots of whole frames drawn from the fixture
//! on a `TestBackend`, and cell-style asserts for the colours the theme promises.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

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
    assert_eq!(
        row_text(buf, 0).chars().take(8).collect::<String>(),
        "╭─┐¹cpu┌"
    );
    assert_eq!(buf[(0, 0)].fg, theme.cpu_box);
    assert_eq!(buf[(2, 0)].fg, theme.cpu_box);
    assert_eq!(buf[(3, 0)].fg, theme.hi_fg, "hotkey digit");
    assert_eq!(buf[(4, 0)].fg, theme.title, "title text");
    assert_eq!(buf[(7, 0)].fg, theme.cpu_box);
    assert_eq!(buf[(60, 20)].bg, theme.main_bg);

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
    // Row 1 is the top row of the total graph; the uptime text covers its left end.
    let top: Vec<u16> = (1..60).filter(|x| buf[(*x, 1)].symbol() == full).collect();
    assert!(
        top.len() > 40,
        "expected a full top row, got {:?}",
        row_text(buf, 1)
    );
    for x in top {
        assert_eq!(buf[(x, 1)].fg, theme.cpu.end(), "column {x}");
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
    assert_eq!(all.cpu, Some(Rect::new(0, 0, 120, 15)));
    assert_eq!(all.memory, Some(Rect::new(0, 15, 60, 13)));
    assert_eq!(all.disks, Some(Rect::new(0, 28, 60, 11)));
    assert_eq!(all.network, Some(Rect::new(60, 15, 60, 24)));
    assert_eq!(all.status, Rect::new(0, 39, 120, 1));

    let no_net = layout(area, &hidden(&[BoxId::Network]));
    assert_eq!(no_net.memory.unwrap().width, 120);
    let cpu_only = layout(
        area,
        &hidden(&[BoxId::Memory, BoxId::Network, BoxId::Disks]),
    );
    assert_eq!(cpu_only.cpu, Some(Rect::new(0, 0, 120, 39)));
    let net_only = layout(area, &hidden(&[BoxId::Cpu, BoxId::Memory, BoxId::Disks]));
    assert_eq!(net_only.network, Some(Rect::new(0, 0, 120, 39)));
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
