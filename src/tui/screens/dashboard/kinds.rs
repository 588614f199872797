//! A dashboard panel's inside, by its kind: `graph` (a `LineGraph` with a compact legend,
//! the y axis in the panel's unit), `stat` (the latest value big, coloured by the theme,
//! with a sparkline of the window under it when there is room; one tile per series),
//! `gauge` (a meter of the latest value: 0–100 for percent, else from 0, or the window's
//! minimum when negative, to the window's maximum) and `table` (the latest value per
//! series beside the labels that tell the series apart). A query error is shown inside
//! the panel, above whatever the other queries returned. Called by the dashboard screen
//! for each panel's inner area.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;

use crate::app::{PanelData, PanelKind, PanelSeries, UiSnapshot, Unit};
use crate::tui::format;
use crate::tui::screens::main::query::body_split;
use crate::tui::screens::{put, put_center, put_right};
use crate::tui::theme::{Gradient, Theme};
use crate::tui::widgets::bignum::{BIG_HEIGHT, big_width, split_number};
use crate::tui::widgets::legend::latest;
use crate::tui::widgets::{
    BigNumber, BrailleGraph, Legend, LineGraph, Meter, distinguishing_labels, series_palette,
};

/// The narrowest stat tile.
const TILE_MIN_WIDTH: u16 = 14;

pub(super) fn render(
    inner: Rect,
    buf: &mut Buffer,
    snap: &UiSnapshot,
    panel: &PanelData,
    theme: &Theme,
) {
    let mut body = inner;
    if let Some(err) = &panel.error {
        // The whole panel when nothing else came back; else up to two rows on top.
        let rows = if panel.series.is_empty() {
            body.height
        } else {
            body.height.saturating_sub(3).min(2)
        };
        let used = wrapped(body, rows, buf, err, Style::new().fg(theme.temp.end()));
        body.y += used;
        body.height -= used;
    }
    if body.is_empty() {
        return;
    }
    if panel.series.is_empty() {
        if panel.error.is_none() {
            let row = Rect::new(body.x, body.y + body.height / 2, body.width, 1);
            put_center(buf, row, "no data", Style::new().fg(theme.graph_text));
        }
        return;
    }
    match panel.kind {
        PanelKind::Graph => graph(body, buf, snap, panel, theme),
        PanelKind::Stat => stat(body, buf, panel, theme),
        PanelKind::Gauge => gauge(body, buf, panel, theme),
        PanelKind::Table => table(body, buf, panel, theme),
    }
}

/// `text` broken into rows of the area's width, at most `max_rows`; returns rows used.
fn wrapped(area: Rect, max_rows: u16, buf: &mut Buffer, text: &str, style: Style) -> u16 {
    let width = usize::from(area.width);
    if width == 0 || max_rows == 0 {
        return 0;
    }
    let chars: Vec<char> = text.chars().collect();
    let lines: Vec<String> = chars.chunks(width).map(|c| c.iter().collect()).collect();
    let n = lines.len().min(usize::from(max_rows));
    for (i, line) in lines.iter().take(n).enumerate() {
        let line = if i + 1 == n && lines.len() > n {
            format::fit(&format!("{line}…"), width)
        } else {
            line.clone()
        };
        put(buf, (area.x, area.y + i as u16), area.width, &line, style);
    }
    n as u16
}

fn graph(body: Rect, buf: &mut Buffer, snap: &UiSnapshot, panel: &PanelData, theme: &Theme) {
    let palette = series_palette(theme);
    let n = panel.series.len();
    // A compact legend: none in a low panel, and at most a quarter of the rows.
    let (g_area, l_area) = if body.height < 8 {
        (body, Rect::new(body.x, body.bottom(), body.width, 0))
    } else {
        let (_, l) = body_split(body, n);
        let keep = l.height.min(body.height / 4).max(1);
        (
            Rect {
                height: body.height - keep,
                ..body
            },
            Rect {
                y: body.bottom() - keep,
                height: keep,
                ..l
            },
        )
    };
    let graph = LineGraph::new(
        panel.series.iter().map(|s| s.points.as_slice()).collect(),
        panel.start_ms,
        panel.end_ms,
        panel.step_ms,
    )
    .palette(&palette)
    .unit(panel.unit)
    .utc_offset(snap.tz_offset_secs)
    .theme(theme);
    (&graph).render(g_area, buf);
    if l_area.is_empty() {
        return;
    }
    let labels: Vec<&crate::model::Labels> = panel.series.iter().map(|s| &s.labels).collect();
    let texts = distinguishing_labels(&labels);
    let values: Vec<Option<f64>> = panel.series.iter().map(|s| latest(&s.points)).collect();
    Legend::new(&texts, &values)
        .palette(&palette)
        .unit(panel.unit)
        .theme(theme)
        .render(l_area, buf);
}

/// The colour a value is shown in: along the CPU gradient for percentages, else the
/// series' colour.
fn value_colour(v: Option<f64>, unit: Unit, i: usize, palette: &[Color], theme: &Theme) -> Color {
    match (unit, v) {
        (Unit::Percent, Some(v)) if v.is_finite() => theme.cpu.at(v.clamp(0.0, 100.0)),
        _ => palette[i % palette.len().max(1)],
    }
}

fn stat(body: Rect, buf: &mut Buffer, panel: &PanelData, theme: &Theme) {
    let palette = series_palette(theme);
    let n = panel.series.len();
    let tiles = usize::from((body.width / TILE_MIN_WIDTH).max(1)).min(n);
    let labels: Vec<&crate::model::Labels> = panel.series.iter().map(|s| &s.labels).collect();
    let texts = distinguishing_labels(&labels);
    let w = body.width / tiles as u16;
    for (i, s) in panel.series.iter().take(tiles).enumerate() {
        let x = body.x + i as u16 * w;
        let width = if i + 1 == tiles {
            body.right() - x
        } else {
            w.saturating_sub(1)
        };
        let area = Rect::new(x, body.y, width, body.height);
        let label = (n > 1).then(|| texts[i].as_str());
        let colour = value_colour(latest(&s.points), panel.unit, i, &palette, theme);
        stat_tile(area, buf, panel, s, label, colour, theme);
    }
}

/// One series' stat: a label row (with several series), the value big when it fits (or
/// bold on one row), and a sparkline in the rows left.
fn stat_tile(
    area: Rect,
    buf: &mut Buffer,
    panel: &PanelData,
    s: &PanelSeries,
    label: Option<&str>,
    colour: Color,
    theme: &Theme,
) {
    let mut area = area;
    if area.is_empty() {
        return;
    }
    if let Some(l) = label.filter(|_| area.height >= 2) {
        let row = Rect { height: 1, ..area };
        put_center(
            buf,
            row,
            &format::fit(l, usize::from(area.width)),
            Style::new().fg(theme.graph_text),
        );
        area.y += 1;
        area.height -= 1;
    }
    let value = latest(&s.points).map_or(format::MISSING.to_string(), |v| {
        format::value(v, panel.unit)
    });
    let style = Style::new().fg(colour).add_modifier(Modifier::BOLD);
    let (num, unit) = split_number(&value);
    let unit_w = unit.chars().count() as u16;
    let big = big_width(num)
        .filter(|w| !num.is_empty() && area.height >= BIG_HEIGHT && *w + 1 + unit_w <= area.width);
    let used = match big {
        Some(w) => {
            let total = w + if unit_w > 0 { 1 + unit_w } else { 0 };
            let x = area.x + (area.width - total) / 2;
            BigNumber::new(num, style).render(Rect::new(x, area.y, w, BIG_HEIGHT), buf);
            put(
                buf,
                (x + w + 1, area.y + BIG_HEIGHT - 1),
                unit_w,
                unit,
                style,
            );
            BIG_HEIGHT
        }
        None => {
            // One row, in the middle of what the sparkline leaves.
            let y = if area.height >= 3 {
                area.y + (area.height - 1) / 3
            } else {
                area.y
            };
            put_center(buf, Rect::new(area.x, y, area.width, 1), &value, style);
            y - area.y + 1
        }
    };
    let spark = Rect {
        y: area.y + used,
        height: area.height.saturating_sub(used),
        ..area
    };
    if spark.height > 0 {
        sparkline(spark, buf, panel, s, colour, theme);
    }
}

/// The series over the window resampled to `n` points: each the newest value at or before
/// its time, no older than a step (a gap stays a gap).
fn resample(panel: &PanelData, points: &[(i64, f64)], n: usize) -> Vec<Option<f64>> {
    let span = (panel.end_ms - panel.start_ms).max(1) as f64;
    let step = panel.step_ms.max(1);
    let mut at = 0;
    (0..n)
        .map(|j| {
            let t = panel.start_ms + (span * j as f64 / (n.max(2) - 1) as f64) as i64;
            while at < points.len() && points[at].0 <= t {
                at += 1;
            }
            at.checked_sub(1)
                .map(|i| points[i])
                .filter(|p| t - p.0 < step && p.1.is_finite())
                .map(|p| p.1)
        })
        .collect()
}

/// The series over the window, as a filled braille area (two points per cell), from 0
/// (or the minimum, when negative).
fn sparkline(
    area: Rect,
    buf: &mut Buffer,
    panel: &PanelData,
    s: &PanelSeries,
    colour: Color,
    theme: &Theme,
) {
    let values = if s.points.is_sorted_by_key(|p| p.0) {
        resample(panel, &s.points, usize::from(area.width) * 2)
    } else {
        Vec::new()
    };
    let lo = values.iter().flatten().fold(0.0f64, |a, v| a.min(*v));
    let hi = values
        .iter()
        .flatten()
        .fold(f64::NEG_INFINITY, |a, v| a.max(*v));
    if !hi.is_finite() {
        return;
    }
    let shifted: Vec<Option<f64>> = values.iter().map(|v| v.map(|v| v - lo)).collect();
    let max = if panel.unit == Unit::Percent && lo >= 0.0 {
        100.0
    } else {
        hi - lo
    };
    let gradient = if panel.unit == Unit::Percent {
        theme.cpu.clone()
    } else {
        Gradient::new(colour, None, None)
    };
    BrailleGraph::new(&shifted, max, &gradient).render(area, buf);
}

/// The range a gauge fills: 0–100 for percent, else from 0 (or the lowest value, when
/// negative) to the highest value in the window.
fn gauge_range(panel: &PanelData) -> (f64, f64) {
    if panel.unit == Unit::Percent {
        return (0.0, 100.0);
    }
    let values = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((0.0f64, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    (lo, if hi.is_finite() { hi } else { lo })
}

/// How full a gauge of `v` in `lo..hi` is, in percent.
fn fill(v: Option<f64>, (lo, hi): (f64, f64)) -> f64 {
    match v {
        Some(v) if v.is_finite() && hi > lo => ((v - lo) / (hi - lo) * 100.0).clamp(0.0, 100.0),
        Some(v) if v.is_finite() && v > lo => 100.0,
        _ => 0.0,
    }
}

fn gauge(body: Rect, buf: &mut Buffer, panel: &PanelData, theme: &Theme) {
    let range = gauge_range(panel);
    let palette = series_palette(theme);
    let dim = Style::new().fg(theme.graph_text);
    if panel.series.len() == 1 {
        let s = &panel.series[0];
        let v = latest(&s.points);
        let colour = value_colour(v, panel.unit, 0, &palette, theme);
        let value = v.map_or(format::MISSING.to_string(), |v| {
            format::value(v, panel.unit)
        });
        let style = Style::new().fg(colour).add_modifier(Modifier::BOLD);
        let (num, unit) = split_number(&value);
        let unit_w = unit.chars().count() as u16;
        let mut y = body.y;
        // Big when there is room for it, the meter and the scale.
        match big_width(num).filter(|w| {
            !num.is_empty() && body.height > BIG_HEIGHT && *w + 1 + unit_w <= body.width
        }) {
            Some(w) => {
                let total = w + if unit_w > 0 { 1 + unit_w } else { 0 };
                let x = body.x + (body.width - total) / 2;
                BigNumber::new(num, style).render(Rect::new(x, y, w, BIG_HEIGHT), buf);
                put(buf, (x + w + 1, y + BIG_HEIGHT - 1), unit_w, unit, style);
                y += BIG_HEIGHT;
            }
            None if body.height >= 2 => {
                put_center(buf, Rect::new(body.x, y, body.width, 1), &value, style);
                y += 1;
            }
            None => {}
        }
        if y < body.bottom() {
            Meter::new(fill(v, range), &theme.cpu, theme.meter_bg)
                .render(Rect::new(body.x, y, body.width, 1), buf);
            y += 1;
        }
        if y < body.bottom() && body.width >= 12 {
            let row = Rect::new(body.x, y, body.width, 1);
            put(
                buf,
                (row.x, y),
                row.width,
                &format::value(range.0, panel.unit),
                dim,
            );
            put_right(buf, row, &format::value(range.1, panel.unit), dim);
        }
        return;
    }
    // One row per series: label, meter, value.
    let labels: Vec<&crate::model::Labels> = panel.series.iter().map(|s| &s.labels).collect();
    let texts = distinguishing_labels(&labels);
    let rows = usize::from(body.height);
    let shown = if panel.series.len() > rows {
        rows.saturating_sub(1)
    } else {
        rows
    };
    let label_w =
        (body.width / 3).min(texts.iter().map(|t| t.chars().count()).max().unwrap_or(0) as u16);
    let text = Style::new().fg(theme.main_fg);
    for (i, s) in panel.series.iter().take(shown).enumerate() {
        let y = body.y + i as u16;
        let v = latest(&s.points);
        let value = v.map_or(format::MISSING.to_string(), |v| {
            format::value(v, panel.unit)
        });
        put(
            buf,
            (body.x, y),
            label_w,
            &format::fit(&texts[i], usize::from(label_w)),
            text,
        );
        let value_w = 9.min(body.width.saturating_sub(label_w + 1));
        put_right(buf, Rect::new(body.x, y, body.width, 1), &value, text);
        let start = body.x + label_w + 1;
        let end = body.right().saturating_sub(value_w + 1);
        if end > start + 1 {
            Meter::new(fill(v, range), &theme.cpu, theme.meter_bg)
                .render(Rect::new(start, y, end - start, 1), buf);
        }
    }
    if panel.series.len() > shown && rows > 0 {
        let row = Rect::new(body.x, body.bottom() - 1, body.width, 1);
        put_right(
            buf,
            row,
            &format!("+{} more", panel.series.len() - shown),
            dim,
        );
    }
}

fn table(body: Rect, buf: &mut Buffer, panel: &PanelData, theme: &Theme) {
    let head = Style::new().fg(theme.title).add_modifier(Modifier::BOLD);
    let text = Style::new().fg(theme.main_fg);
    let header = Rect { height: 1, ..body };
    put(buf, (body.x, body.y), body.width, "series", head);
    put_right(buf, header, "latest", head);
    let labels: Vec<&crate::model::Labels> = panel.series.iter().map(|s| &s.labels).collect();
    let texts = distinguishing_labels(&labels);
    let rows = usize::from(body.height.saturating_sub(1));
    let n = panel.series.len();
    let shown = if n > rows { rows.saturating_sub(1) } else { n };
    for (i, s) in panel.series.iter().take(shown).enumerate() {
        let y = body.y + 1 + i as u16;
        let value = latest(&s.points).map_or(format::MISSING.to_string(), |v| {
            format::value(v, panel.unit)
        });
        let value_w = value.chars().count() as u16;
        let room = body.width.saturating_sub(value_w + 1);
        put(
            buf,
            (body.x, y),
            room,
            &format::fit(&texts[i], usize::from(room)),
            text,
        );
        put_right(buf, Rect::new(body.x, y, body.width, 1), &value, text);
    }
    if n > shown && rows > 0 {
        let row = Rect::new(body.x, body.bottom() - 1, body.width, 1);
        put_right(
            buf,
            row,
            &format!("+{} more", n - shown),
            Style::new().fg(theme.graph_text),
        );
    }
}
