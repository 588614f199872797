//! The main screen drawn the way the TUI draws it (`tui::draw`, with the view's theme set)
//! in several themes and colour depths: cell-style asserts that theme X's colours land on
//! the title, the box borders and the graph gradient, insta snapshots (text and style runs)
//! under `light` and `terminal`, the depth mapping, NO_COLOR, and exports at full colour.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use super::{ColorDepth, Theme, nearest_256};
use crate::app::UiSnapshot;
use crate::tui::fixture::sample_snapshot;
use crate::tui::keymap::Intent;
use crate::tui::screens::main::layout;
use crate::tui::view::ViewState;
use crate::tui::widgets::graph::braille;

/// The view with `theme` picked and shown at `depth`, having seen the fixture.
fn view_in(theme: &str, depth: ColorDepth) -> ViewState {
    let mut view = ViewState::default();
    view.themes.select(theme).expect("a shipped theme");
    view.themes.set_depth(depth);
    view.observe(&sample_snapshot());
    view
}

fn drawn(w: u16, h: u16, snap: &UiSnapshot, view: &ViewState) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    crate::tui::draw(&mut terminal, snap, view).unwrap();
    terminal.backend().buffer().clone()
}

/// The fixture with the cpu at 100 %, so the total graph's top row is full.
fn busy() -> UiSnapshot {
    let mut snap = sample_snapshot();
    for point in snap.cpu.total.iter_mut() {
        *point = Some(100.0);
    }
    snap
}

/// Asserts that `theme`'s colours are where the main screen promises them.
fn assert_theme_on_screen(buf: &Buffer, view: &ViewState, theme: &Theme) {
    assert_eq!(buf[(0, 1)].symbol(), "╭");
    assert_eq!(buf[(0, 1)].fg, theme.cpu_box, "cpu box border");
    assert_eq!(buf[(3, 1)].fg, theme.hi_fg, "hotkey digit");
    assert_eq!(buf[(4, 1)].fg, theme.title, "box title");
    assert_eq!(buf[(1, 0)].fg, theme.title, "header");
    let areas = layout(buf.area, view);
    let mem = areas.memory.unwrap();
    assert_eq!(buf[(mem.x, mem.y)].fg, theme.mem_box, "mem box border");
    let net = areas.network.unwrap();
    assert_eq!(buf[(net.x, net.y)].fg, theme.net_box, "net box border");
    // The full top row of the cpu graph is the gradient's end; its bottom row is not.
    let cpu = areas.cpu.unwrap();
    let full = braille(4, 4, false).to_string();
    let top: Vec<u16> = (1..60)
        .filter(|x| buf[(*x, cpu.y + 1)].symbol() == full)
        .collect();
    assert!(top.len() > 40, "a full top row");
    for x in top {
        assert_eq!(buf[(x, cpu.y + 1)].fg, theme.cpu.end(), "column {x}");
    }
    assert_ne!(buf[(30, cpu.bottom() - 2)].fg, theme.cpu.end());
}

#[test]
fn every_shipped_theme_colours_title_borders_and_graph() {
    for (name, _) in super::BUILTIN {
        let view = view_in(name, ColorDepth::TrueColor);
        let buf = drawn(120, 40, &busy(), &view);
        assert_theme_on_screen(&buf, &view, view.themes.full());
    }
}

#[test]
fn light_theme_paints_its_background() {
    let view = view_in("light", ColorDepth::TrueColor);
    let light = view.themes.full().clone();
    let buf = drawn(120, 40, &busy(), &view);
    assert_eq!(light.main_bg, Color::Rgb(0xfa, 0xfa, 0xf7));
    assert_eq!(buf[(60, 20)].bg, light.main_bg);
    let t = drawn(80, 24, &sample_snapshot(), &view);
    insta::assert_debug_snapshot!("main_80x24_light", t);
}

#[test]
fn terminal_theme_draws_only_in_the_terminals_colours() {
    let view = view_in("terminal", ColorDepth::TrueColor);
    let buf = drawn(120, 40, &busy(), &view);
    assert_theme_on_screen(&buf, &view, view.themes.full());
    assert_eq!(buf[(0, 1)].fg, Color::Blue);
    assert_eq!(
        buf[(60, 20)].bg,
        Color::Reset,
        "the terminal's own background"
    );
    for cell in buf.content.iter() {
        for c in [cell.fg, cell.bg] {
            assert!(
                !matches!(c, Color::Rgb(..) | Color::Indexed(..)),
                "{c:?} at {:?}",
                cell.symbol()
            );
        }
    }
    let t = drawn(80, 24, &sample_snapshot(), &view);
    insta::assert_debug_snapshot!("main_80x24_terminal", t);
}

#[test]
fn depth_256_and_16_draw_mapped_colours() {
    let full = Theme::default();
    let view = view_in("default", ColorDepth::Ansi256);
    let buf = drawn(120, 40, &busy(), &view);
    assert_theme_on_screen(&buf, &view, view.themes.shown());
    let Color::Rgb(r, g, b) = full.cpu_box else {
        panic!("the default theme is RGB")
    };
    assert_eq!(buf[(0, 1)].fg, Color::Indexed(nearest_256(r, g, b)));
    let view16 = view_in("nord", ColorDepth::Ansi16);
    let buf16 = drawn(120, 40, &busy(), &view16);
    for buf in [&buf, &buf16] {
        for cell in buf.content.iter() {
            assert!(!matches!(cell.fg, Color::Rgb(..)), "{:?}", cell.fg);
            assert!(!matches!(cell.bg, Color::Rgb(..)), "{:?}", cell.bg);
        }
    }
    for cell in buf16.content.iter() {
        assert!(!matches!(cell.fg, Color::Indexed(..)), "{:?}", cell.fg);
    }
}

#[test]
fn no_color_draws_no_colour_and_keeps_meaning_in_attributes() {
    let mut view = view_in("default", ColorDepth::None);
    view.apply(Intent::FocusNext);
    view.apply(Intent::FocusNext);
    view.apply(Intent::LegendDown);
    let snap = busy();
    let buf = drawn(120, 40, &snap, &view);
    for cell in buf.content.iter() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    // The focused box's border is bold; the others are not.
    let areas = layout(buf.area, &view);
    let mem = areas.memory.unwrap();
    assert!(buf[(mem.x, mem.y)].modifier.contains(Modifier::BOLD));
    assert!(!buf[(0, 1)].modifier.contains(Modifier::BOLD));
    // Meters: filled squares, then dim dots for the rest.
    let free_row = mem.y + 4;
    let row: String = (mem.x..mem.right())
        .map(|x| buf[(x, free_row)].symbol())
        .collect();
    assert!(row.contains('■') && row.contains('·'), "{row}");
    // The selected legend entry is reversed.
    let reversed = buf
        .content
        .iter()
        .filter(|c| c.modifier.contains(Modifier::REVERSED))
        .count();
    assert!(reversed > 3, "a reversed legend entry");
    // A theme with colour drawn the same way has colours.
    let coloured = drawn(120, 40, &snap, &view_in("default", ColorDepth::TrueColor));
    assert!(coloured.content.iter().any(|c| c.fg != Color::Reset));
}

#[test]
fn exports_render_the_full_colour_theme() {
    let view = view_in("nord", ColorDepth::Ansi16);
    let terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let (screen, _) = crate::tui::render_screen(&terminal, &busy(), &view).unwrap();
    assert_theme_on_screen(&screen, &view, view.themes.full());
    assert_eq!(screen[(0, 1)].fg, Color::Rgb(0x5e, 0x81, 0xac));
}

#[tokio::test]
async fn the_event_loop_starts_in_the_given_theme_and_t_cycles_live() {
    use crate::app::Action;
    use crate::tui::{TuiOptions, drive};
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use std::sync::Arc;
    use tokio::sync::{mpsc, watch};

    let key = |c: char, m: KeyModifiers| Ok(Event::Key(KeyEvent::new(KeyCode::Char(c), m)));
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let (_snap_tx, snap_rx) = watch::channel(Arc::new(sample_snapshot()));
    let (action_tx, mut action_rx) = mpsc::channel(4);
    let events = futures_util::stream::iter(vec![
        key('e', KeyModifiers::NONE),
        key('T', KeyModifiers::SHIFT),
        key('q', KeyModifiers::NONE),
    ]);
    let mut opts = TuiOptions::default();
    opts.view.themes.set_depth(ColorDepth::Ansi256);
    let light = Theme::parse(
        super::BUILTIN
            .iter()
            .find(|(n, _)| *n == "light")
            .unwrap()
            .1,
        "light",
    )
    .unwrap();
    let run = drive(&mut terminal, events, snap_rx, action_tx, &light, opts);
    tokio::time::timeout(std::time::Duration::from_secs(5), run)
        .await
        .unwrap()
        .unwrap();
    let mut screens = Vec::new();
    while let Some(Action::Export { screen, theme, .. }) = action_rx.recv().await {
        // The export carries the full-colour theme it was drawn in.
        assert_eq!(*theme, light);
        screens.push(screen);
    }
    assert_eq!(screens.len(), 1);
    // Exports carry the full-colour theme in use.
    assert_eq!(screens[0][(0, 1)].fg, light.cpu_box);
    let next = Theme::parse(
        super::BUILTIN
            .iter()
            .find(|(n, _)| *n == "high-contrast")
            .unwrap()
            .1,
        "high-contrast",
    )
    .unwrap();
    // `T` switched to the next theme: the terminal shows it at 256 colours, and the
    // status line names it.
    let buf = terminal.backend().buffer();
    assert_eq!(
        buf[(0, 1)].fg,
        super::map_color(next.cpu_box, ColorDepth::Ansi256)
    );
    let status: String = (0..buf.area.width)
        .map(|x| buf[(x, buf.area.height - 1)].symbol())
        .collect();
    assert!(status.contains("theme: high-contrast (8/9)"), "{status}");
}
