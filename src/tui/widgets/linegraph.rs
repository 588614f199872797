//! The query panel's line graph: several series of `(t_ms, value)` points drawn as lines
//! over a time window, in braille, block or tty symbols (btop's `graph_symbol` choices), with
//! a y axis in the panel's unit, a time axis and an optional cursor. The query and dashboard
//! panels draw one per panel; the legend and the cursor readout ask it for `values_at` and
//! the mouse handler for `time_at_column`. Drawing is pure: points and colours in, cells out.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

use crate::app::Unit;
use crate::tui::format;
use crate::tui::theme::Theme;

mod dots;

pub use dots::GraphSymbols;
use dots::{Canvas, round_i};

/// Eight or more distinct series colours from a theme: box colours and the ends of its
/// gradients, in an order where neighbours differ, without repeats or the background. A
/// theme with too few distinct colours is topped up with the terminal's ANSI colours.
pub fn series_palette(theme: &Theme) -> Vec<Color> {
    let candidates = [
        theme.cpu_box,
        theme.cpu.start(),
        theme.net_box,
        theme.mem_box,
        theme.proc_box,
        theme.used.end(),
        theme.available.end(),
        theme.download.end(),
        theme.upload.end(),
        theme.cpu.at(50.0),
        theme.free.end(),
        theme.temp.end(),
        theme.cached.end(),
        theme.hi_fg,
        theme.proc_misc,
        theme.download.at(50.0),
        theme.upload.at(50.0),
    ];
    let ansi = [
        Color::Cyan,
        Color::Magenta,
        Color::Yellow,
        Color::Green,
        Color::Blue,
        Color::Red,
        Color::LightCyan,
        Color::LightMagenta,
    ];
    let mut out: Vec<Color> = Vec::new();
    for c in candidates {
        if c != Color::Reset && c != theme.main_bg && !out.contains(&c) {
            out.push(c);
        }
    }
    for c in ansi {
        if out.len() >= 8 {
            break;
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Where the parts of a graph go inside its area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphLayout {
    /// The lines.
    pub plot: Rect,
    /// Tick labels and the axis line, left of the plot (empty when there are no axes).
    pub y_axis: Rect,
    /// Time labels under the plot (empty when there are no axes).
    pub x_axis: Rect,
}

/// A multi-series line graph over the window `[start_ms, end_ms]`.
#[derive(Debug, Clone)]
pub struct LineGraph<'a> {
    series: Vec<&'a [(i64, f64)]>,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
    palette: &'a [Color],
    hidden: &'a [bool],
    symbols: GraphSymbols,
    unit: Unit,
    cursor: Option<i64>,
    utc_offset_secs: i32,
    text: Color,
    axis: Color,
    cursor_color: Color,
}

/// The y range and its ticks.
#[derive(Debug, Clone, PartialEq)]
struct Scale {
    lo: f64,
    hi: f64,
    step: f64,
    ticks: Vec<f64>,
}

const DEFAULT_PALETTE: [Color; 1] = [Color::Reset];

impl<'a> LineGraph<'a> {
    /// A graph of `series` (each a slice of `(ms, value)`, normally sorted by time) over
    /// `[start_ms, end_ms]`, whose points are `step_ms` apart (0 when unknown: then only NaN
    /// breaks lines).
    pub fn new(series: Vec<&'a [(i64, f64)]>, start_ms: i64, end_ms: i64, step_ms: i64) -> Self {
        LineGraph {
            series,
            start_ms,
            end_ms: end_ms.max(start_ms),
            step_ms: step_ms.max(0),
            palette: &DEFAULT_PALETTE,
            hidden: &[],
            symbols: GraphSymbols::default(),
            unit: Unit::None,
            cursor: None,
            utc_offset_secs: 0,
            text: Color::Reset,
            axis: Color::Reset,
            cursor_color: Color::Reset,
        }
    }

    /// Series colours, cycled (series `i` takes `palette[i % len]`).
    pub fn palette(mut self, palette: &'a [Color]) -> Self {
        if !palette.is_empty() {
            self.palette = palette;
        }
        self
    }

    /// Series whose entry is `true` are not drawn and do not count for the y range.
    pub fn hidden(mut self, hidden: &'a [bool]) -> Self {
        self.hidden = hidden;
        self
    }

    pub fn symbols(mut self, symbols: GraphSymbols) -> Self {
        self.symbols = symbols;
        self
    }

    /// The unit of the y axis labels.
    pub fn unit(mut self, unit: Unit) -> Self {
        self.unit = unit;
        self
    }

    /// A vertical marker at time `t` (ms).
    pub fn cursor(mut self, t: Option<i64>) -> Self {
        self.cursor = t;
        self
    }

    /// The local time zone's offset from UTC, for the time labels.
    pub fn utc_offset(mut self, secs: i32) -> Self {
        self.utc_offset_secs = secs;
        self
    }

    /// Colours of the labels, the axis line and the cursor.
    pub fn colors(mut self, text: Color, axis: Color, cursor: Color) -> Self {
        self.text = text;
        self.axis = axis;
        self.cursor_color = cursor;
        self
    }

    /// The theme's colours for labels (`graph_text`), axis (`div_line`) and cursor (`hi_fg`).
    pub fn theme(self, theme: &Theme) -> Self {
        self.colors(theme.graph_text, theme.div_line, theme.hi_fg)
    }

    fn is_hidden(&self, i: usize) -> bool {
        self.hidden.get(i).copied().unwrap_or(false)
    }

    /// Points of series `i` within `[from, to]`, cheaply when the series is sorted.
    fn window(&self, pts: &'a [(i64, f64)], from: i64, to: i64) -> &'a [(i64, f64)] {
        if pts.is_sorted_by_key(|p| p.0) {
            let a = pts.partition_point(|p| p.0 < from);
            let b = pts.partition_point(|p| p.0 <= to);
            &pts[a..b.max(a)]
        } else {
            pts
        }
    }

    /// Finite values of visible series in the window: (min, max), or None.
    fn value_range(&self) -> Option<(f64, f64)> {
        let mut range: Option<(f64, f64)> = None;
        for (i, pts) in self.series.iter().enumerate() {
            if self.is_hidden(i) {
                continue;
            }
            for &(t, v) in self.window(pts, self.start_ms, self.end_ms) {
                if !v.is_finite() || t < self.start_ms || t > self.end_ms {
                    continue;
                }
                let v = v.clamp(-1e300, 1e300);
                range = Some(match range {
                    None => (v, v),
                    Some((lo, hi)) => (lo.min(v), hi.max(v)),
                });
            }
        }
        range
    }

    /// Whether any visible series has a point (finite or not) in the window.
    fn has_visible_points(&self) -> bool {
        self.series.iter().enumerate().any(|(i, pts)| {
            !self.is_hidden(i)
                && self
                    .window(pts, self.start_ms, self.end_ms)
                    .iter()
                    .any(|p| p.0 >= self.start_ms && p.0 <= self.end_ms && !p.1.is_nan())
        })
    }

    /// The y scale for a plot `rows` high.
    fn scale(&self, rows: u16) -> Scale {
        let (mut lo, mut hi) = self.value_range().unwrap_or((0.0, 1.0));
        let non_negative = lo >= 0.0;
        if hi - lo <= hi.abs().max(lo.abs()) * 1e-12 {
            // Flat: pad so the line sits in the middle (5 → 0..10, -2 → -4..0).
            let pad = if hi == 0.0 { 1.0 } else { hi.abs() };
            lo = hi - pad;
            hi += pad;
        }
        if non_negative {
            lo = 0.0;
        }
        // 3–5 ticks with a free row between neighbours where the height allows; 2 below.
        let intervals = if rows >= 3 {
            f64::from((rows.saturating_sub(1) / 2).clamp(2, 4))
        } else {
            1.0
        };
        let base = format::tick_base(hi.abs().max(lo.abs()), self.unit);
        let mut step = nice_step((hi - lo) / intervals / base) * base;
        let (mut tlo, mut thi) = (lo, hi);
        for _ in 0..4 {
            if !(step.is_finite() && step > 0.0) {
                break;
            }
            tlo = (lo / step).floor() * step;
            thi = (hi / step).ceil() * step;
            if (thi - tlo) / step <= intervals + 1.5 {
                break;
            }
            step = nice_step(step * 1.01 / base) * base;
        }
        if !(tlo.is_finite() && thi.is_finite() && thi > tlo && step > 0.0) {
            return Scale {
                lo,
                hi,
                step: hi - lo,
                ticks: vec![lo, hi],
            };
        }
        let mut ticks = Vec::new();
        let mut k = 0.0;
        while ticks.len() < 8 {
            let v = tlo + k * step;
            if v > thi + step * 1e-9 {
                break;
            }
            // Snap tiny float residue around zero.
            ticks.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
            k += 1.0;
        }
        Scale {
            lo: tlo,
            hi: thi,
            step,
            ticks,
        }
    }

    /// Where the plot and the axes go in `area`. Below 10 columns or 3 rows there are no
    /// axes; the y axis is as wide as its longest label plus the axis line.
    pub fn layout(&self, area: Rect) -> GraphLayout {
        self.layout_with(area, None)
    }

    fn layout_with(&self, area: Rect, scale: Option<&Scale>) -> GraphLayout {
        let none = GraphLayout {
            plot: area,
            y_axis: Rect::new(area.x, area.y, 0, area.height),
            x_axis: Rect::new(area.x, area.bottom(), area.width, 0),
        };
        if area.width < 10 || area.height < 3 {
            return none;
        }
        let rows = area.height - 1;
        let owned;
        let scale = match scale {
            Some(s) => s,
            None => {
                owned = self.scale(rows);
                &owned
            }
        };
        let label_w = scale
            .ticks
            .iter()
            .map(|v| format::axis(*v, self.unit, scale.step).chars().count())
            .max()
            .unwrap_or(1);
        let label_w = u16::try_from(label_w)
            .unwrap_or(u16::MAX)
            .min(area.width / 3);
        let y_w = label_w + 1;
        GraphLayout {
            plot: Rect::new(area.x + y_w, area.y, area.width - y_w, rows),
            y_axis: Rect::new(area.x, area.y, y_w, rows),
            x_axis: Rect::new(area.x + y_w, area.y + rows, area.width - y_w, 1),
        }
    }

    /// The dot column (0-based, may be outside the plot) of time `t` in a plot `w` dots wide.
    fn dot_x(&self, t: i64, w: usize) -> f64 {
        let span = self.end_ms as f64 - self.start_ms as f64;
        if span <= 0.0 || w <= 1 {
            return 0.0;
        }
        ((t as f64 - self.start_ms as f64) / span * (w - 1) as f64).clamp(-1e7, 1e7)
    }

    /// The plot column (cell, relative to the plot) of time `t`.
    fn column_of(&self, t: i64, plot: Rect) -> Option<u16> {
        let (dx, _) = self.symbols.dots();
        let w = usize::from(plot.width) * dx;
        if t < self.start_ms || t > self.end_ms || w == 0 {
            return None;
        }
        let x = round_i(self.dot_x(t, w)).max(0) as usize / dx;
        u16::try_from(x).ok().filter(|x| *x < plot.width)
    }

    /// The time under plot column `x` (absolute buffer column) of a graph drawn in `area`,
    /// snapped to the nearest step; None outside the plot.
    pub fn time_at_column(&self, area: Rect, x: u16) -> Option<i64> {
        let plot = self.layout(area).plot;
        if plot.is_empty() || x < plot.x || x >= plot.right() {
            return None;
        }
        let (dx, _) = self.symbols.dots();
        let w = usize::from(plot.width) * dx;
        let span = self.end_ms as f64 - self.start_ms as f64;
        // The middle of the cell's dots.
        let dot = (usize::from(x - plot.x) * dx) as f64 + (dx - 1) as f64 / 2.0;
        let raw = if w <= 1 {
            self.start_ms as f64
        } else {
            self.start_ms as f64 + dot / (w - 1) as f64 * span
        };
        let t = if self.step_ms > 0 {
            let k = ((raw - self.start_ms as f64) / self.step_ms as f64).round();
            self.start_ms as f64 + k * self.step_ms as f64
        } else {
            raw.round()
        };
        Some((t as i64).clamp(self.start_ms, self.end_ms))
    }

    /// Each series' value at `t`: its point nearest to `t` within half a step (any distance
    /// when the step is unknown), or None.
    pub fn values_at(&self, t: i64) -> Vec<Option<f64>> {
        let half = if self.step_ms > 0 {
            self.step_ms / 2
        } else {
            i64::MAX
        };
        self.series
            .iter()
            .map(|pts| {
                pts.iter()
                    .filter(|p| p.0.abs_diff(t) <= half.unsigned_abs())
                    .min_by_key(|p| p.0.abs_diff(t))
                    .map(|p| p.1)
            })
            .collect()
    }
}

/// The smallest 1-2-5 × 10^k at or above `raw` (1 for anything not positive and finite).
pub fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= raw * (1.0 - 1e-9) {
            return m * mag;
        }
    }
    10.0 * mag
}

impl LineGraph<'_> {
    /// Draws every visible series into a canvas the size of `plot`.
    fn paint(&self, plot: Rect, scale: &Scale) -> Canvas {
        let mut canvas = Canvas::new(
            usize::from(plot.width),
            usize::from(plot.height),
            self.symbols.dots(),
        );
        let (w, h) = (canvas.width(), canvas.height());
        if w == 0 || h == 0 {
            return canvas;
        }
        let top = (h - 1) as f64;
        let y_factor = top / (scale.hi - scale.lo);
        let y_of = |v: f64| -> f64 {
            if v == f64::INFINITY {
                top
            } else if v == f64::NEG_INFINITY {
                0.0
            } else {
                ((v - scale.lo) * y_factor).clamp(-1.0, top + 1.0)
            }
        };
        let span_ms = self.end_ms as f64 - self.start_ms as f64;
        let x_factor = if span_ms > 0.0 && w > 1 {
            (w - 1) as f64 / span_ms
        } else {
            0.0
        };
        let start = self.start_ms as f64;
        let x_of = |t: i64| ((t as f64 - start) * x_factor).clamp(-1e7, 1e7);
        // A point more than 1.5 steps after the previous one starts a new line.
        let max_gap = if self.step_ms > 0 {
            self.step_ms.saturating_mul(3) / 2
        } else {
            i64::MAX
        };
        let margin = self.step_ms.saturating_mul(2);
        let mut sorted: Vec<(i64, f64)> = Vec::new();
        for (i, pts) in self.series.iter().enumerate() {
            if self.is_hidden(i) {
                continue;
            }
            let id = u32::try_from(i).unwrap_or(u32::MAX);
            let pts: &[(i64, f64)] = if pts.is_sorted_by_key(|p| p.0) {
                self.window(
                    pts,
                    self.start_ms.saturating_sub(margin),
                    self.end_ms.saturating_add(margin),
                )
            } else {
                sorted.clear();
                sorted.extend_from_slice(pts);
                sorted.sort_by_key(|p| p.0);
                &sorted
            };
            let mut prev: Option<(i64, f64, f64)> = None;
            let mut prev_drawn = false;
            for &(t, v) in pts {
                if v.is_nan() {
                    if let Some((_, px, py)) = prev.filter(|_| !prev_drawn) {
                        canvas.mark(round_i(px), py, py, id);
                    }
                    canvas.end_stroke();
                    prev = None;
                    continue;
                }
                let (x, y) = (x_of(t), y_of(v));
                match prev {
                    Some((pt, px, py)) if t.saturating_sub(pt) <= max_gap => {
                        canvas.line((px, py), (x, y), id);
                        prev_drawn = true;
                    }
                    Some((_, px, py)) => {
                        if !prev_drawn {
                            canvas.mark(round_i(px), py, py, id);
                        }
                        canvas.end_stroke();
                        prev_drawn = false;
                    }
                    None => prev_drawn = false,
                }
                prev = Some((t, x, y));
            }
            if let Some((_, px, py)) = prev.filter(|_| !prev_drawn) {
                canvas.mark(round_i(px), py, py, id);
            }
            canvas.end_stroke();
        }
        canvas
    }

    fn draw_y_axis(&self, buf: &mut Buffer, layout: &GraphLayout, scale: &Scale) {
        let axis = layout.y_axis;
        if axis.width == 0 || axis.height == 0 {
            return;
        }
        let line_x = axis.right() - 1;
        for y in axis.top()..axis.bottom() {
            if let Some(cell) = buf.cell_mut((line_x, y)) {
                cell.set_char('│').set_fg(self.axis);
            }
        }
        let rows = f64::from(axis.height - 1);
        let mut used_rows: Vec<u16> = Vec::new();
        for v in &scale.ticks {
            let frac = (v - scale.lo) / (scale.hi - scale.lo);
            if !frac.is_finite() {
                continue;
            }
            let up = (frac * rows).round().clamp(0.0, rows) as u16;
            let y = axis.bottom() - 1 - up;
            if used_rows.contains(&y) {
                continue;
            }
            used_rows.push(y);
            if let Some(cell) = buf.cell_mut((line_x, y)) {
                cell.set_char('┤').set_fg(self.axis);
            }
            let label = format::fit(
                &format::axis(*v, self.unit, scale.step),
                usize::from(axis.width - 1),
            );
            let lw = label.chars().count() as u16;
            buf.set_string(
                line_x - lw,
                y,
                &label,
                ratatui::style::Style::default().fg(self.text),
            );
        }
    }

    fn draw_x_axis(&self, buf: &mut Buffer, layout: &GraphLayout) {
        let axis = layout.x_axis;
        if axis.width == 0 || axis.height == 0 {
            return;
        }
        // i128: the window may span the whole i64 range.
        let (start, end) = (i128::from(self.start_ms), i128::from(self.end_ms));
        let span = end - start;
        let with_secs = span < 5 * 60 * 1000;
        let label_w: u16 = if with_secs { 8 } else { 5 };
        let max_labels = i128::from(axis.width / (label_w + 2)).min(6);
        if max_labels == 0 || span <= 0 {
            return;
        }
        const INTERVALS: [i128; 19] = [
            1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
            86400, 172_800,
        ];
        let interval = INTERVALS
            .iter()
            .map(|s| s * 1000)
            .find(|i| span / i < max_labels)
            .unwrap_or_else(|| (span / max_labels).max(1000));
        let offset = i128::from(self.utc_offset_secs) * 1000;
        let local_start = start + offset;
        let mut t = if local_start.rem_euclid(interval) == 0 {
            start
        } else {
            (local_start.div_euclid(interval) + 1) * interval - offset
        };
        let style = ratatui::style::Style::default().fg(self.text);
        let mut next_free = axis.x;
        for _ in 0..8 {
            if t > end {
                break;
            }
            let local = (t + offset).rem_euclid(86_400_000) / 1000;
            let (h, m, s) = (local / 3600, local / 60 % 60, local % 60);
            let col = i64::try_from(t)
                .ok()
                .and_then(|t| self.column_of(t, layout.plot));
            t += interval;
            let Some(col) = col else { continue };
            let text = if with_secs {
                format!("{h:02}:{m:02}:{s:02}")
            } else {
                format!("{h:02}:{m:02}")
            };
            let x = (axis.x + col)
                .saturating_sub(label_w / 2)
                .clamp(axis.x, axis.right().saturating_sub(label_w));
            if x < next_free || x + label_w > axis.right() {
                continue;
            }
            buf.set_string(x, axis.y, &text, style);
            next_free = x + label_w + 1;
        }
    }
}

impl Widget for &LineGraph<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        if !self.has_visible_points() {
            let any = self.series.iter().any(|s| !s.is_empty());
            let msg = if any
                && self
                    .series
                    .iter()
                    .enumerate()
                    .all(|(i, _)| self.is_hidden(i))
            {
                "all series hidden"
            } else {
                "no data"
            };
            let msg = format::fit(msg, usize::from(area.width));
            let w = msg.chars().count() as u16;
            let x = area.x + (area.width - w) / 2;
            let y = area.y + area.height / 2;
            buf.set_string(x, y, &msg, ratatui::style::Style::default().fg(self.text));
            return;
        }
        let rows = if area.width < 10 || area.height < 3 {
            area.height
        } else {
            area.height - 1
        };
        let scale = self.scale(rows);
        let layout = self.layout_with(area, Some(&scale));
        let plot = layout.plot;
        if plot.is_empty() {
            return;
        }
        self.draw_y_axis(buf, &layout, &scale);
        self.draw_x_axis(buf, &layout);
        let canvas = self.paint(plot, &scale);
        let cursor_col = self.cursor.and_then(|t| self.column_of(t, plot));
        for row in 0..canvas.rows {
            for col in 0..canvas.cols {
                let (x, y) = (plot.x + col as u16, plot.y + row as u16);
                let i = row * canvas.cols + col;
                let mask = canvas.masks[i];
                let Some(cell) = buf.cell_mut((x, y)) else {
                    continue;
                };
                if mask != 0 {
                    let color = self.palette[canvas.owner[i] as usize % self.palette.len()];
                    cell.set_char(self.symbols.glyph(mask)).set_fg(color);
                    if cursor_col == Some(col as u16) {
                        cell.set_bg(self.axis);
                    }
                } else if cursor_col == Some(col as u16) {
                    let c = if self.symbols == GraphSymbols::Tty {
                        '|'
                    } else {
                        '│'
                    };
                    cell.set_char(c).set_fg(self.cursor_color);
                }
            }
        }
    }
}

impl Widget for LineGraph<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        (&self).render(area, buf);
    }
}

#[cfg(test)]
mod tests;
