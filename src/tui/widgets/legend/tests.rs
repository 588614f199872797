//! Tests of the legend: which labels distinguish series, snapshots with 3 and 30 entries
//! (scrolling, selection, hidden entries), cell colours, and the hit-test layout.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

use super::*;
use crate::model::Labels;
use crate::tui::fixture::sample_panel;
use crate::tui::theme::Theme;
use crate::tui::widgets::linegraph::series_palette;

fn text(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| {
            let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            row.trim_end().to_string() + "\n"
        })
        .collect()
}

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs)
}

#[test]
fn distinguishing_pairs() {
    let a = l(&[("__name__", "up"), ("job", "node"), ("instance", "a:9100")]);
    let b = l(&[("__name__", "up"), ("job", "node"), ("instance", "b:9100")]);
    assert_eq!(
        distinguishing_labels(&[&a, &b]),
        vec![r#"instance="a:9100""#, r#"instance="b:9100""#]
    );
    // One series: the full set with its name.
    assert_eq!(
        distinguishing_labels(&[&a]),
        vec![r#"up{instance="a:9100", job="node"}"#]
    );
    // Identical series: full sets too.
    assert_eq!(distinguishing_labels(&[&a, &a]).len(), 2);
    assert_eq!(
        distinguishing_labels(&[&a, &a])[1],
        r#"up{instance="a:9100", job="node"}"#
    );
    // A label missing in one series differs; the other shows nothing for it.
    let c = l(&[("job", "node"), ("mode", "idle")]);
    let d = l(&[("job", "node")]);
    assert_eq!(
        distinguishing_labels(&[&c, &d]),
        vec![r#"mode="idle""#, "{}"]
    );
    // Different names lead with the name.
    let e = l(&[("__name__", "node_load1"), ("instance", "x")]);
    let f = l(&[("__name__", "node_load5"), ("instance", "x")]);
    assert_eq!(
        distinguishing_labels(&[&e, &f]),
        vec!["node_load1", "node_load5"]
    );
    let g = l(&[("__name__", "node_load5"), ("instance", "y")]);
    assert_eq!(
        distinguishing_labels(&[&e, &g]),
        vec![r#"node_load1{instance="x"}"#, r#"node_load5{instance="y"}"#]
    );
    // No name, no labels; quoting; unicode.
    assert_eq!(distinguishing_labels(&[&Labels::empty()]), vec!["{}"]);
    let q = l(&[("path", "a\"b\\c\nd")]);
    let r = l(&[("path", "ünï")]);
    assert_eq!(
        distinguishing_labels(&[&q, &r]),
        vec![r#"path="a\"b\\c\nd""#, r#"path="ünï""#]
    );
    assert!(distinguishing_labels(&[]).is_empty());
}

fn fixture_legend_parts() -> (Vec<String>, Vec<Option<f64>>) {
    let panel = sample_panel();
    let labels: Vec<&Labels> = panel.series.iter().map(|s| &s.labels).collect();
    let values = panel.series.iter().map(|s| latest(&s.points)).collect();
    (distinguishing_labels(&labels), values)
}

fn draw(legend: &Legend<'_>, w: u16, h: u16) -> Buffer {
    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
    legend.render(buf.area, &mut buf);
    buf
}

#[test]
fn three_entries_with_a_hidden_one_and_a_selection() {
    let theme = Theme::default();
    let palette = series_palette(&theme);
    let (labels, values) = fixture_legend_parts();
    assert_eq!(
        labels,
        vec![r#"device="eth0""#, r#"device="lo""#, r#"device="wlan0""#]
    );
    let hidden = [false, true, false];
    let legend = Legend::new(&labels, &values)
        .palette(&palette)
        .hidden(&hidden)
        .selected(Some(2))
        .unit(Unit::BytesPerSec)
        .theme(&theme);
    let buf = draw(&legend, 40, 4);
    insta::assert_snapshot!(text(&buf));
    // Swatches in the series colours; the hidden one hollow, its text dimmed.
    assert_eq!(buf[(0, 0)].symbol(), "■");
    assert_eq!(buf[(0, 0)].fg, palette[0]);
    assert_eq!(buf[(2, 0)].fg, theme.main_fg);
    assert_eq!(buf[(0, 1)].symbol(), "□");
    assert_eq!(buf[(0, 1)].fg, palette[1]);
    assert_eq!(buf[(2, 1)].fg, theme.inactive_fg);
    assert_eq!(
        buf[(39, 1)].fg,
        theme.inactive_fg,
        "the value is dimmed too"
    );
    // The selected row is highlighted across its width.
    for x in [1, 2, 20, 39] {
        assert_eq!(buf[(x, 2)].bg, theme.selected_bg, "x={x}");
    }
    assert_eq!(buf[(2, 2)].fg, theme.selected_fg);
    assert_eq!(buf[(0, 2)].fg, palette[2]);
    assert_eq!(buf[(2, 0)].bg, Color::Reset);
    // wlan0 stops 20 steps early: its latest value is still shown.
    assert!(values.iter().all(Option::is_some));
}

fn thirty() -> (Vec<String>, Vec<Option<f64>>) {
    let labels: Vec<Labels> = (0..30)
        .map(|i| {
            Labels::from_pairs(&[
                ("__name__", "node_cpu_seconds_total".to_string()),
                ("cpu", format!("{i}")),
                ("mode", "idle".to_string()),
            ])
        })
        .collect();
    let refs: Vec<&Labels> = labels.iter().collect();
    let values = (0..30)
        .map(|i| if i == 7 { None } else { Some(i as f64 * 1.5) })
        .collect();
    (distinguishing_labels(&refs), values)
}

#[test]
fn thirty_entries_scroll_to_the_selection() {
    let theme = Theme::default();
    let palette = series_palette(&theme);
    let (labels, values) = thirty();
    let hidden: Vec<bool> = (0..30).map(|i| i % 5 == 0).collect();
    let top = Legend::new(&labels, &values)
        .palette(&palette)
        .hidden(&hidden)
        .unit(Unit::Percent)
        .theme(&theme);
    let buf = draw(&top, 30, 6);
    insta::assert_snapshot!("thirty_top", text(&buf));
    assert_eq!(buf[(29, 5)].symbol(), "▼");
    let scrolled = top.clone().selected(Some(22));
    let buf = draw(&scrolled, 30, 6);
    insta::assert_snapshot!("thirty_selected_22", text(&buf));
    assert!(text(&buf).contains(r#"cpu="22""#));
    assert_eq!(buf[(29, 0)].symbol(), "▲");
    assert_eq!(buf[(3, 5)].bg, theme.selected_bg);
    // Wide areas take several columns, filled row by row.
    let wide = top.clone().selected(Some(29));
    let buf = draw(&wide, 80, 6);
    insta::assert_snapshot!("thirty_wide", text(&buf));
    let rects = wide.entry_rects(buf.area);
    assert_eq!(rects.last().unwrap().0, 29);
    assert!(rects.iter().filter(|(_, r)| r.y == 0).count() == 2);
}

#[test]
fn entry_rects_match_the_drawing() {
    let theme = Theme::default();
    let (labels, values) = thirty();
    for (w, h, sel) in [
        (30, 6, None),
        (30, 6, Some(29)),
        (80, 6, Some(13)),
        (120, 3, Some(0)),
    ] {
        let legend = Legend::new(&labels, &values).selected(sel).theme(&theme);
        let area = Rect::new(0, 0, w, h);
        let buf = draw(&legend, w, h);
        let rects = legend.entry_rects(area);
        assert!(!rects.is_empty());
        if let Some(s) = sel {
            assert!(rects.iter().any(|(i, _)| *i == s), "selection {s} in view");
        }
        for (i, r) in &rects {
            assert!(area.contains(r.as_position()), "{r:?}");
            assert_eq!(
                buf[(r.x, r.y)].symbol(),
                "■",
                "entry {i} starts with its swatch"
            );
            let text: String = (r.x..r.right()).map(|x| buf[(x, r.y)].symbol()).collect();
            let want = format!("cpu=\"{i}\"");
            assert!(text.contains(&want), "{text:?} lacks {want}");
        }
        // No two rects overlap.
        for (a, (_, ra)) in rects.iter().enumerate() {
            for (_, rb) in &rects[a + 1..] {
                assert!(!ra.intersects(*rb), "{ra:?} {rb:?}");
            }
        }
    }
}

#[test]
fn tiny_and_odd_areas_never_panic() {
    let theme = Theme::default();
    let (labels, values) = thirty();
    let short_values = [Some(f64::NAN)];
    let hidden = [true; 40];
    for (w, h) in [
        (0, 0),
        (1, 1),
        (2, 1),
        (3, 1),
        (5, 2),
        (36, 1),
        (72, 2),
        (200, 50),
    ] {
        for sel in [None, Some(0), Some(29), Some(99)] {
            let legend = Legend::new(&labels, &values)
                .selected(sel)
                .hidden(&hidden)
                .theme(&theme);
            let mut buf = Buffer::empty(Rect::new(1, 1, w, h));
            legend.render(Rect::new(0, 0, w + 3, h + 3), &mut buf);
            // Fewer values than labels, and an empty palette.
            let legend = Legend::new(&labels, &short_values).palette(&[]);
            legend.render(buf.area, &mut buf);
        }
    }
    assert!(Legend::layout(Rect::new(0, 0, 10, 10), 0, Some(3)).is_empty());
}

#[test]
fn wide_characters_stay_inside_their_entry() {
    let labels = vec!["path=\"数据库数据库数据库数据库\"".to_string()];
    let values = [Some(1.0)];
    let legend = Legend::new(&labels, &values);
    let buf = draw(&legend, 20, 1);
    let row: String = (0..20).map(|x| buf[(x, 0)].symbol()).collect();
    assert!(row.ends_with(" 1"), "{row:?}");
}

#[test]
fn latest_skips_nan_and_reads_unsorted_points() {
    assert_eq!(latest(&[(1, 1.0), (3, 3.0), (2, 2.0)]), Some(3.0));
    assert_eq!(latest(&[(1, 1.0), (2, f64::NAN)]), Some(1.0));
    assert_eq!(latest(&[(1, f64::INFINITY)]), Some(f64::INFINITY));
    assert_eq!(latest(&[]), None);
}
