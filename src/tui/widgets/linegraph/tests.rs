//! Tests of the line graph: insta snapshots of the fixture panel in every symbol set and
//! size, cell-colour asserts, line joining and breaking, axes, the cursor helpers, and a
//! no-panic sweep over hostile data and area sizes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

use super::*;
use crate::app::{PanelData, Unit};
use crate::tui::fixture::sample_panel;
use crate::tui::theme::Theme;

const RED: Color = Color::Rgb(255, 0, 0);
const GREEN: Color = Color::Rgb(0, 255, 0);
const BLUE: Color = Color::Rgb(0, 0, 255);
const PALETTE: [Color; 3] = [RED, GREEN, BLUE];

fn text(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| {
            let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            row.trim_end().to_string() + "\n"
        })
        .collect()
}

fn panel_graph<'a>(panel: &'a PanelData, palette: &'a [Color]) -> LineGraph<'a> {
    LineGraph::new(
        panel.series.iter().map(|s| s.points.as_slice()).collect(),
        panel.start_ms,
        panel.end_ms,
        panel.step_ms,
    )
    .palette(palette)
    .unit(panel.unit)
    .theme(&Theme::default())
}

fn draw(graph: &LineGraph<'_>, w: u16, h: u16) -> Buffer {
    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
    graph.render(buf.area, &mut buf);
    buf
}

/// Snapshot text plus the symbol set, so a snapshot names what it shows.
fn snap(panel: &PanelData, symbols: GraphSymbols, w: u16, h: u16) -> String {
    let palette = series_palette(&Theme::default());
    let g = panel_graph(panel, &palette).symbols(symbols);
    text(&draw(&g, w, h))
}

#[test]
fn symbol_sets_cycle_and_have_btop_names() {
    assert_eq!(GraphSymbols::default(), GraphSymbols::Braille);
    assert_eq!(GraphSymbols::Braille.next(), GraphSymbols::Block);
    assert_eq!(GraphSymbols::Block.next(), GraphSymbols::Tty);
    assert_eq!(GraphSymbols::Tty.next(), GraphSymbols::Braille);
    for s in GraphSymbols::ALL {
        assert_eq!(GraphSymbols::from_name(s.name()), Some(s));
    }
    assert_eq!(GraphSymbols::from_name("BLOCK"), Some(GraphSymbols::Block));
    assert_eq!(GraphSymbols::from_name("dots"), None);
    assert_eq!(GraphSymbols::Braille.glyph(0xff), '⣿');
    assert_eq!(GraphSymbols::Braille.glyph(0b0100_0001), '⡁');
    assert_eq!(GraphSymbols::Block.glyph(0b1001), '▚');
    assert_eq!(GraphSymbols::Tty.glyph(3), ':');
}

#[test]
fn fixture_panel_in_every_symbol_set_and_size() {
    let panel = sample_panel();
    for symbols in GraphSymbols::ALL {
        for (w, h) in [(80, 20), (40, 10)] {
            let name = format!("panel_{}_{w}x{h}", symbols.name());
            insta::assert_snapshot!(name, snap(&panel, symbols, w, h));
        }
    }
}

#[test]
fn cursor_marks_a_column() {
    let panel = sample_panel();
    let palette = series_palette(&Theme::default());
    let t = panel.start_ms + 30 * panel.step_ms;
    let g = panel_graph(&panel, &palette).cursor(Some(t));
    let buf = draw(&g, 80, 20);
    insta::assert_snapshot!(text(&buf));
    let plot = g.layout(buf.area).plot;
    let col = g.column_of(t, plot).unwrap();
    let x = plot.x + col;
    let theme = Theme::default();
    let marked = (plot.y..plot.bottom())
        .filter(|&y| buf[(x, y)].symbol() == "│" && buf[(x, y)].fg == theme.hi_fg)
        .count();
    assert!(marked > plot.height as usize / 2, "{marked} marker cells");
    let back = g.time_at_column(buf.area, x).unwrap();
    assert!(back.abs_diff(t) <= panel.step_ms as u64, "{back} vs {t}");
    assert_eq!(
        g.column_of(back, plot),
        Some(col),
        "a click maps back to its column"
    );
}

#[test]
fn hidden_series_are_not_drawn() {
    let panel = sample_panel();
    let palette = series_palette(&Theme::default());
    let hidden = [true, false, true];
    let g = panel_graph(&panel, &palette).hidden(&hidden);
    let buf = draw(&g, 80, 20);
    insta::assert_snapshot!(text(&buf));
    let plot = g.layout(buf.area).plot;
    for y in plot.y..plot.bottom() {
        for x in plot.x..plot.right() {
            let c = &buf[(x, y)];
            if c.symbol() != " " {
                assert_eq!(c.fg, palette[1], "only lo (series 1) is drawn");
            }
        }
    }
}

#[test]
fn no_data_is_centred() {
    let panel = PanelData {
        start_ms: 0,
        end_ms: 900_000,
        step_ms: 10_000,
        ..PanelData::default()
    };
    let palette = series_palette(&Theme::default());
    let buf = draw(&panel_graph(&panel, &palette), 40, 10);
    insta::assert_snapshot!(text(&buf));
    assert_eq!(text(&buf).lines().nth(5).unwrap().trim(), "no data");
    // A series with points outside the window only is no data too.
    let pts = [(2_000_000, 1.0)];
    let g = LineGraph::new(vec![&pts], 0, 900_000, 10_000);
    assert!(text(&draw(&g, 20, 3)).contains("no data"));
    let hidden = [true];
    let pts = [(0, 1.0)];
    let g = LineGraph::new(vec![&pts], 0, 900_000, 10_000).hidden(&hidden);
    assert!(text(&draw(&g, 30, 3)).contains("all series hidden"));
}

/// A plot without axes: 10 steps over 9 columns... use a tiny area so the layout is simple.
fn bare(series: Vec<&[(i64, f64)]>, w: u16, h: u16, symbols: GraphSymbols) -> Buffer {
    bare_step(series, w, h, symbols, 3_000)
}

fn bare_step(
    series: Vec<&[(i64, f64)]>,
    w: u16,
    h: u16,
    symbols: GraphSymbols,
    step: i64,
) -> Buffer {
    let g = LineGraph::new(series, 0, 9_000, step)
        .symbols(symbols)
        .palette(&PALETTE);
    draw(&g, w, h)
}

#[test]
fn lines_join_consecutive_points_through_every_column() {
    // Two points at the ends of a 5-cell (10-dot) braille plot without axes.
    let pts = [(0, 0.0), (9_000, 10.0)];
    let g = LineGraph::new(vec![&pts], 0, 9_000, 9_000).palette(&PALETTE);
    let buf = draw(&g, 5, 2);
    for x in 0..5 {
        assert!(
            (0..2).any(|y| buf[(x, y)].symbol() != " "),
            "column {x} is empty:\n{}",
            text(&buf)
        );
    }
    // Lower left, upper right.
    assert_ne!(buf[(0, 1)].symbol(), " ");
    assert_ne!(buf[(4, 0)].symbol(), " ");
    assert_eq!(buf[(0, 0)].symbol(), " ");
    assert_eq!(buf[(4, 1)].symbol(), " ");
}

#[test]
fn missing_steps_and_nan_break_lines() {
    // 10 steps over 5 block cells (10 dot columns): one dot column per step.
    let flat: Vec<(i64, f64)> = (0..10).map(|i| (i * 1_000, 1.0)).collect();
    let row = |buf: &Buffer| -> String { (0..5).map(|x| buf[(x, 0)].symbol()).collect() };
    let buf = bare(vec![&flat], 5, 1, GraphSymbols::Block);
    assert_eq!(
        row(&buf),
        "▀▀▀▀▀",
        "a flat line sits in the middle (upper half)"
    );
    // Steps 4 and 5 missing: dots 3 and 6 end and start lines, columns 4, 5 are empty.
    let gap: Vec<(i64, f64)> = flat
        .iter()
        .copied()
        .filter(|p| p.0 != 4_000 && p.0 != 5_000)
        .collect();
    let buf = bare_step(vec![&gap], 5, 1, GraphSymbols::Block, 1_000);
    assert_eq!(row(&buf), "▀▀ ▀▀");
    let mut nan = flat.clone();
    nan[4].1 = f64::NAN;
    nan[5].1 = f64::NAN;
    let buf = bare_step(vec![&nan], 5, 1, GraphSymbols::Block, 1_000);
    assert_eq!(row(&buf), "▀▀ ▀▀");
    // A lone point between gaps is still a dot.
    let lone = [(0, 1.0), (5_000, 1.0), (6_500, f64::NAN), (9_000, 1.0)];
    let buf = bare_step(vec![&lone], 5, 1, GraphSymbols::Block, 1_000);
    assert_eq!(row(&buf), "▘ ▝ ▝");
}

#[test]
fn infinities_clamp_to_the_edges() {
    let pts = [
        (0, 1.0),
        (3_000, f64::INFINITY),
        (6_000, f64::NEG_INFINITY),
        (9_000, 1.0),
    ];
    let buf = bare(vec![&pts], 10, 2, GraphSymbols::Tty);
    // +Inf reaches the top dot at column 3, -Inf the bottom dot at column 6.
    assert!(matches!(buf[(3, 0)].symbol(), "'" | ":"), "{}", text(&buf));
    assert!(matches!(buf[(6, 1)].symbol(), "." | ":"), "{}", text(&buf));
}

#[test]
fn later_series_colour_wins_a_shared_cell() {
    let a: Vec<(i64, f64)> = (0..10).map(|i| (i * 1_000, 1.0)).collect();
    let b = a.clone();
    let buf = bare(vec![&a, &b], 5, 1, GraphSymbols::Braille);
    for x in 0..5 {
        assert_eq!(buf[(x, 0)].fg, GREEN);
    }
    // With the later one hidden, the first one's colour shows.
    let hidden = [false, true];
    let g = LineGraph::new(vec![&a, &b], 0, 9_000, 3_000)
        .palette(&PALETTE)
        .hidden(&hidden);
    let buf = draw(&g, 5, 1);
    assert_eq!(buf[(2, 0)].fg, RED);
    // Colours cycle past the palette's end.
    let c = [(0, 1.0)];
    let d = [(0, 1.0)];
    let buf = bare(vec![&a, &b, &c, &d], 5, 1, GraphSymbols::Braille);
    assert_eq!(buf[(0, 0)].fg, RED, "series 3 takes palette[0]");
}

#[test]
fn y_ticks_are_nice_and_include_zero() {
    assert_eq!(nice_step(0.7), 1.0);
    assert_eq!(nice_step(1.3), 2.0);
    assert_eq!(nice_step(3.0), 5.0);
    assert_eq!(nice_step(7.0), 10.0);
    assert_eq!(nice_step(0.012), 0.02);
    assert_eq!(nice_step(f64::NAN), 1.0);
    let pts = [(0, 3.0), (9_000, 77.0)];
    let g = LineGraph::new(vec![&pts], 0, 9_000, 1_000).unit(Unit::Percent);
    let s = g.scale(19);
    assert_eq!(s.ticks, vec![0.0, 20.0, 40.0, 60.0, 80.0]);
    let buf = draw(&g, 40, 20);
    let t = text(&buf);
    assert!(t.starts_with("80%┤"), "{t}");
    assert!(t.contains("40%┤"), "{t}");
    assert!(t.contains(" 0%┤"), "{t}");
    // A short plot gets fewer ticks.
    assert_eq!(g.scale(4).ticks.len(), 3);
    // Negative data keeps its own range; flat data is padded around its value.
    let neg = [(0, -3.0), (9_000, -1.0)];
    let s = LineGraph::new(vec![&neg], 0, 9_000, 1_000).scale(10);
    assert!(s.lo <= -3.0 && s.hi >= -1.0 && s.hi <= 0.0, "{s:?}");
    let flat = [(0, 5.0), (9_000, 5.0)];
    let s = LineGraph::new(vec![&flat], 0, 9_000, 1_000).scale(10);
    assert_eq!((s.lo, s.hi), (0.0, 10.0));
    let zero = [(0, 0.0)];
    let s = LineGraph::new(vec![&zero], 0, 9_000, 1_000).scale(10);
    assert_eq!((s.lo, s.hi), (0.0, 1.0));
    // Bytes step in binary units.
    let mib = 1024.0 * 1024.0;
    let b = [(0, 0.0), (9_000, 1.9 * mib)];
    let s = LineGraph::new(vec![&b], 0, 9_000, 1_000)
        .unit(Unit::BytesPerSec)
        .scale(19);
    assert_eq!(s.step, 0.5 * mib);
}

#[test]
fn time_labels_sit_at_round_times_in_local_time() {
    // 15 minutes ending at 12:00:00 UTC.
    let end = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000;
    let start = end - 900_000;
    let pts = [(start, 1.0), (end, 2.0)];
    let g = LineGraph::new(vec![&pts], start, end, 10_000);
    let t = text(&draw(&g, 80, 10));
    let last = t.lines().last().unwrap().to_string();
    assert!(
        last.contains("21:50") && last.contains("21:55") && last.contains("22:00"),
        "{last}"
    );
    let g = g.utc_offset(5 * 3600 + 1800);
    let last = text(&draw(&g, 80, 10)).lines().last().unwrap().to_string();
    assert!(last.contains("03:20") && last.contains("03:30"), "{last}");
    // Under five minutes the labels carry seconds.
    let short = [(end - 120_000, 1.0), (end, 2.0)];
    let g = LineGraph::new(vec![&short], end - 120_000, end, 1_000);
    let last = text(&draw(&g, 80, 10)).lines().last().unwrap().to_string();
    assert!(
        last.contains("21:59:00") && last.contains("22:00:00"),
        "{last}"
    );
}

#[test]
fn values_at_finds_the_nearest_point_within_half_a_step() {
    let a = [(0, 1.0), (10_000, 2.0), (20_000, 3.0)];
    let b = [(0, 5.0), (30_000, 6.0)];
    let g = LineGraph::new(vec![&a, &b], 0, 30_000, 10_000);
    assert_eq!(g.values_at(10_000), vec![Some(2.0), None]);
    assert_eq!(g.values_at(14_000), vec![Some(2.0), None]);
    assert_eq!(g.values_at(29_000), vec![None, Some(6.0)]);
    assert_eq!(g.values_at(1_000), vec![Some(1.0), Some(5.0)]);
    let panel = sample_panel();
    let palette = series_palette(&Theme::default());
    let g = panel_graph(&panel, &palette);
    let area = Rect::new(0, 0, 80, 20);
    let plot = g.layout(area).plot;
    assert_eq!(g.time_at_column(area, plot.x), Some(panel.start_ms));
    assert_eq!(g.time_at_column(area, plot.right() - 1), Some(panel.end_ms));
    assert_eq!(g.time_at_column(area, 0), None);
    assert_eq!(g.time_at_column(area, 200), None);
    let v = g.values_at(panel.end_ms);
    assert_eq!(v.len(), 3);
    assert!(v[0].is_some() && v[1].is_some() && v[2].is_none(), "{v:?}");
}

#[test]
fn palette_has_eight_distinct_colours() {
    let p = series_palette(&Theme::default());
    assert!(p.len() >= 8, "{p:?}");
    for (i, c) in p.iter().enumerate() {
        assert!(!p[i + 1..].contains(c), "repeat {c:?}");
    }
    // A theme of one colour everywhere is topped up with ANSI colours.
    let text: String = [
        "main_fg",
        "title",
        "hi_fg",
        "selected_bg",
        "selected_fg",
        "inactive_fg",
        "graph_text",
        "meter_bg",
        "proc_misc",
        "cpu_box",
        "mem_box",
        "net_box",
        "proc_box",
        "div_line",
    ]
    .iter()
    .map(|k| format!("theme[{k}]=\"#808080\"\n"))
    .chain(
        [
            "temp",
            "cpu",
            "free",
            "cached",
            "available",
            "used",
            "download",
            "upload",
            "process",
        ]
        .iter()
        .map(|g| {
            format!("theme[{g}_start]=\"#808080\"\ntheme[{g}_mid]=\"\"\ntheme[{g}_end]=\"\"\n")
        }),
    )
    .collect();
    let grey = Theme::parse(&text, "grey").unwrap();
    let p = series_palette(&grey);
    assert!(p.len() >= 8, "{p:?}");
}

const UNITS: [Unit; 6] = [
    Unit::None,
    Unit::Bytes,
    Unit::BytesPerSec,
    Unit::Seconds,
    Unit::Percent,
    Unit::OpsPerSec,
];

/// A deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn value(&mut self) -> f64 {
        match self.next() % 12 {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => 1e300,
            4 => -1e-300,
            5 => -1e300,
            6 => 0.0,
            7 => f64::MAX,
            _ => (self.next() % 10_000) as f64 / 7.0 - 300.0,
        }
    }
}

#[test]
fn hostile_data_never_panics_at_any_size() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..60 {
        let n_series = (rng.next() % 5) as usize;
        let series: Vec<Vec<(i64, f64)>> = (0..n_series)
            .map(|_| {
                let len = match rng.next() % 4 {
                    0 => 0,
                    1 => 1,
                    _ => (rng.next() % 80) as usize,
                };
                let mut pts: Vec<(i64, f64)> = (0..len)
                    .map(|i| {
                        let t = match rng.next() % 10 {
                            0 => (rng.next() % 100_000) as i64,
                            1 => i64::MAX - (rng.next() % 10) as i64,
                            2 => i64::MIN + (rng.next() % 10) as i64,
                            _ => i as i64 * 1_000,
                        };
                        (t, rng.value())
                    })
                    .collect();
                if rng.next().is_multiple_of(3) && !pts.is_empty() {
                    pts.push(pts[0]);
                }
                pts
            })
            .collect();
        let (start, end, step) = match round % 5 {
            0 => (0, 0, 0),
            1 => (i64::MIN, i64::MAX, i64::MAX),
            2 => (10_000, 0, 1_000),
            _ => (0, 79_000, 1_000),
        };
        let hidden: Vec<bool> = (0..n_series)
            .map(|_| rng.next().is_multiple_of(4))
            .collect();
        for symbols in GraphSymbols::ALL {
            let g = LineGraph::new(series.iter().map(Vec::as_slice).collect(), start, end, step)
                .symbols(symbols)
                .hidden(&hidden)
                .unit(UNITS[round % UNITS.len()])
                .cursor(Some(40_000))
                .utc_offset(-5 * 3600);
            for (w, h) in [
                (0, 0),
                (1, 1),
                (3, 1),
                (9, 2),
                (10, 3),
                (12, 4),
                (40, 10),
                (81, 23),
            ] {
                let mut buf = Buffer::empty(Rect::new(2, 1, w, h));
                g.clone().render(Rect::new(0, 0, w + 4, h + 2), &mut buf);
                let _ = g.time_at_column(buf.area, 5);
                let _ = g.values_at(1_000);
            }
        }
    }
}
