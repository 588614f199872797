//! The legend under a query panel's graph: one entry per series with its colour swatch, the
//! `label="value"` pairs that tell it apart from the other series, and its latest (or
//! cursor) value in the panel's unit. Hidden series are dimmed with a hollow swatch, the
//! selected entry is highlighted and kept in view. The query and dashboard panels draw it;
//! the mouse handler hit-tests clicks with `Legend::entry_rects`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::widgets::Widget;

use crate::app::Unit;
use crate::model::{Labels, METRIC_NAME};
use crate::tui::format;
use crate::tui::theme::Theme;

/// The narrowest column when the legend lays entries out side by side.
pub const MIN_COLUMN_WIDTH: u16 = 36;

/// For each series, the label text its legend entry shows: the `name="value"` pairs whose
/// value differs between the series (a label missing from some series differs), led by the
/// metric name when the names differ. With one series, or when all are identical, each
/// shows its full set: `name{a="b", c="d"}`.
pub fn distinguishing_labels(series: &[&Labels]) -> Vec<String> {
    let mut names: Vec<&str> = Vec::new();
    for labels in series {
        for l in labels.iter() {
            if l.name != METRIC_NAME && !names.contains(&l.name) {
                names.push(l.name);
            }
        }
    }
    names.sort_unstable();
    let differing: Vec<&str> = names
        .into_iter()
        .filter(|name| {
            let first = series.first().and_then(|l| l.get(name));
            series.iter().any(|l| l.get(name) != first)
        })
        .collect();
    let metric_names_differ = series.first().is_some_and(|first| {
        series
            .iter()
            .any(|l| l.metric_name() != first.metric_name())
    });
    series
        .iter()
        .map(|labels| {
            if differing.is_empty() && !metric_names_differ {
                return full_label_set(labels);
            }
            let pairs: Vec<String> = differing
                .iter()
                .filter_map(|name| labels.get(name).map(|v| pair(name, v)))
                .collect();
            let pairs = pairs.join(", ");
            match (metric_names_differ, labels.metric_name()) {
                (true, name) if !name.is_empty() && pairs.is_empty() => name.to_string(),
                (true, name) if !name.is_empty() => format!("{name}{{{pairs}}}"),
                _ if pairs.is_empty() => "{}".to_string(),
                _ => pairs,
            }
        })
        .collect()
}

/// `name{a="b", ...}`, without braces for a bare name, `{}` for nothing at all.
fn full_label_set(labels: &Labels) -> String {
    let name = labels.metric_name();
    let pairs: Vec<String> = labels
        .iter()
        .filter(|l| l.name != METRIC_NAME)
        .map(|l| pair(l.name, l.value))
        .collect();
    if pairs.is_empty() && !name.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", pairs.join(", "))
    }
}

/// `name="value"` with the value quoted as Prometheus prints it.
fn pair(name: &str, value: &str) -> String {
    let mut out = String::with_capacity(name.len() + value.len() + 3);
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The newest finite value of a series' points (sorted by time or not).
pub fn latest(points: &[(i64, f64)]) -> Option<f64> {
    points
        .iter()
        .filter(|p| !p.1.is_nan())
        .max_by_key(|p| p.0)
        .map(|p| p.1)
}

/// A legend of `labels.len()` entries.
#[derive(Debug, Clone)]
pub struct Legend<'a> {
    labels: &'a [String],
    values: &'a [Option<f64>],
    palette: &'a [Color],
    hidden: &'a [bool],
    selected: Option<usize>,
    unit: Unit,
    fg: Color,
    dim: Color,
    selected_bg: Color,
    selected_fg: Color,
}

const DEFAULT_PALETTE: [Color; 1] = [Color::Reset];

impl<'a> Legend<'a> {
    /// Entries with these label texts (see `distinguishing_labels`) and values (the latest,
    /// or the values at the cursor); a missing value shows as `-`.
    pub fn new(labels: &'a [String], values: &'a [Option<f64>]) -> Self {
        Legend {
            labels,
            values,
            palette: &DEFAULT_PALETTE,
            hidden: &[],
            selected: None,
            unit: Unit::None,
            fg: Color::Reset,
            dim: Color::DarkGray,
            selected_bg: Color::Reset,
            selected_fg: Color::Reset,
        }
    }

    /// Series colours, cycled as in the graph.
    pub fn palette(mut self, palette: &'a [Color]) -> Self {
        if !palette.is_empty() {
            self.palette = palette;
        }
        self
    }

    /// Entries whose flag is `true` are drawn dimmed with a hollow swatch.
    pub fn hidden(mut self, hidden: &'a [bool]) -> Self {
        self.hidden = hidden;
        self
    }

    /// The highlighted entry, scrolled into view.
    pub fn selected(mut self, selected: Option<usize>) -> Self {
        self.selected = selected;
        self
    }

    pub fn unit(mut self, unit: Unit) -> Self {
        self.unit = unit;
        self
    }

    /// Text (`main_fg`), hidden entries (`inactive_fg`) and the selection colours.
    pub fn theme(mut self, theme: &Theme) -> Self {
        self.fg = theme.main_fg;
        self.dim = theme.inactive_fg;
        self.selected_bg = theme.selected_bg;
        self.selected_fg = theme.selected_fg;
        self
    }

    /// Where each visible entry is drawn in `area`, as `(entry index, rect)`.
    pub fn entry_rects(&self, area: Rect) -> Vec<(usize, Rect)> {
        Legend::layout(area, self.labels.len(), self.selected)
    }

    /// The legend's layout of `n` entries in `area` with `selected` kept in view: one entry
    /// per row, or — when the entries do not fit one column and the area is at least two
    /// `MIN_COLUMN_WIDTH`s wide — several columns filled row by row. When the rows still
    /// do not fit, the list scrolls so the selected entry's row is the last one shown (the
    /// rightmost cell stays free for the scroll marks).
    pub fn layout(area: Rect, n: usize, selected: Option<usize>) -> Vec<(usize, Rect)> {
        if area.is_empty() || n == 0 {
            return Vec::new();
        }
        let height = usize::from(area.height);
        let cols = if n > height {
            usize::from(area.width / MIN_COLUMN_WIDTH).clamp(1, n.div_ceil(height))
        } else {
            1
        };
        let rows = n.div_ceil(cols);
        let scrolling = rows > height;
        let width = if scrolling {
            area.width.saturating_sub(1)
        } else {
            area.width
        };
        let first_row = match selected.filter(|s| *s < n) {
            Some(s) if scrolling => (s / cols + 1).saturating_sub(height),
            _ => 0,
        };
        let col_w = width / cols as u16;
        let mut out = Vec::new();
        for row in 0..height.min(rows - first_row) {
            for col in 0..cols {
                let i = (first_row + row) * cols + col;
                if i >= n {
                    break;
                }
                let x = area.x + col as u16 * col_w;
                let w = if col + 1 == cols {
                    width - col as u16 * col_w
                } else {
                    col_w
                };
                out.push((i, Rect::new(x, area.y + row as u16, w, 1)));
            }
        }
        out
    }

    fn is_hidden(&self, i: usize) -> bool {
        self.hidden.get(i).copied().unwrap_or(false)
    }

    fn draw_entry(&self, buf: &mut Buffer, i: usize, rect: Rect, multi_column: bool) {
        let selected = self.selected == Some(i);
        let hidden = self.is_hidden(i);
        let text_fg = if selected {
            self.selected_fg
        } else if hidden {
            self.dim
        } else {
            self.fg
        };
        let mut base = Style::default().fg(text_fg);
        if selected {
            base = base.bg(self.selected_bg);
            for x in rect.left()..rect.right() {
                if let Some(cell) = buf.cell_mut((x, rect.y)) {
                    cell.set_char(' ').set_style(base);
                }
            }
        }
        // A space between columns, taken from the entry on the left.
        let width = if multi_column {
            rect.width.saturating_sub(1)
        } else {
            rect.width
        };
        if width == 0 {
            return;
        }
        let color = self.palette[i % self.palette.len()];
        let swatch = if hidden { "□" } else { "■" };
        buf.set_string(rect.x, rect.y, swatch, base.fg(color));
        if width <= 2 {
            return;
        }
        let value = match self.values.get(i).copied().flatten() {
            Some(v) => format::value(v, self.unit),
            None => format::MISSING.to_string(),
        };
        let value_w = value.chars().count() as u16;
        let room = width - 2;
        let (label_room, show_value) = if room >= value_w + 5 {
            (room - value_w - 1, true)
        } else {
            (room, false)
        };
        let label = self.labels.get(i).map_or("", String::as_str);
        let label = format::fit(label, usize::from(label_room));
        buf.set_stringn(rect.x + 2, rect.y, &label, usize::from(label_room), base);
        if show_value {
            buf.set_string(rect.x + width - value_w, rect.y, &value, base);
        }
    }
}

impl Widget for &Legend<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        let n = self.labels.len();
        let rects = Legend::layout(area, n, self.selected);
        let Some(&(first, _)) = rects.first() else {
            return;
        };
        let multi_column = rects.iter().filter(|(_, r)| r.y == area.y).count() > 1;
        for &(i, rect) in &rects {
            self.draw_entry(buf, i, rect, multi_column);
        }
        let last = rects.last().map_or(0, |r| r.0);
        let mark = Style::default().fg(self.dim);
        let right = area.right().saturating_sub(1);
        if first > 0 {
            buf.set_string(right, area.y, "▲", mark);
        }
        if last + 1 < n {
            buf.set_string(right, area.bottom() - 1, "▼", mark);
        }
    }
}

impl Widget for Legend<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        (&self).render(area, buf);
    }
}

#[cfg(test)]
mod tests;
