//! The main screen, laid out like bpytop: a header line, CPU across the top, memory over
//! disks on the left below it, network on the right, the query box across the bottom, and
//! a status line. Hidden boxes give their space to the others. `screens::render` calls
//! `MainScreen::render_into` once the terminal is big enough; each box draws itself in its
//! own submodule. In cluster mode the cluster overview takes the host boxes' place, and the
//! cluster browser's screens take the whole body; so does the alerts pane.

mod cpu;
mod disks;
pub(crate) mod header;
mod memory;
mod network;
pub(crate) mod query;
mod status;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

use crate::app::UiSnapshot;
use crate::tui::format;
use crate::tui::screens::{put, put_right};
use crate::tui::theme::{Gradient, Theme};
use crate::tui::view::{BoxId, Mode, ViewState};
use crate::tui::widgets::Meter;

/// The main screen for one snapshot, view state and theme.
#[derive(Debug, Clone, Copy)]
pub struct MainScreen<'a> {
    snapshot: &'a UiSnapshot,
    view: &'a ViewState,
    theme: &'a Theme,
}

/// Where each visible box goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub query: Option<Rect>,
    pub cpu: Option<Rect>,
    pub memory: Option<Rect>,
    pub network: Option<Rect>,
    pub disks: Option<Rect>,
    pub status: Rect,
}

/// Splits the screen among the shown boxes.
pub fn layout(area: Rect, view: &ViewState) -> Areas {
    let status = Rect::new(
        area.x,
        area.bottom().saturating_sub(1),
        area.width,
        area.height.min(1),
    );
    let header = Rect::new(area.x, area.y, area.width, area.height.min(1));
    let mut body = Rect::new(
        area.x,
        area.y + header.height,
        area.width,
        area.height.saturating_sub(header.height + status.height),
    );
    // A maximised box has the body to itself.
    let shown = |id| view.is_shown(id) && view.maximized.is_none_or(|m| m == id);
    let overview = [BoxId::Cpu, BoxId::Memory, BoxId::Network, BoxId::Disks]
        .into_iter()
        .any(shown);
    let mut query = None;
    if shown(BoxId::Query) {
        // The query box takes the lower part: most of it while it has the focus.
        let want = if !overview {
            body.height
        } else if view.mode == crate::tui::view::Mode::Query {
            body.height * 3 / 5
        } else {
            body.height * 2 / 5
        };
        let h = want.max(6.min(body.height)).min(body.height);
        query = Some(Rect {
            y: body.bottom() - h,
            height: h,
            ..body
        });
        body.height -= h;
    }
    let left = shown(BoxId::Memory) || shown(BoxId::Disks);
    let right = shown(BoxId::Network);
    let mut areas = Areas {
        header,
        query,
        cpu: None,
        memory: None,
        network: None,
        disks: None,
        status,
    };
    if body.is_empty() {
        return areas;
    }
    let mut rest = body;
    if shown(BoxId::Cpu) {
        let height = if left || right {
            (body.height * 2 / 5)
                .max(5)
                .min(body.height.saturating_sub(5))
        } else {
            body.height
        };
        areas.cpu = Some(Rect { height, ..body });
        rest = Rect {
            y: body.y + height,
            height: body.height - height,
            ..body
        };
    }
    if rest.is_empty() {
        return areas;
    }
    let (left_col, right_col) = match (left, right) {
        (true, true) => {
            let w = rest.width / 2;
            (
                Rect { width: w, ..rest },
                Rect {
                    x: rest.x + w,
                    width: rest.width - w,
                    ..rest
                },
            )
        }
        _ => (rest, rest),
    };
    if right {
        areas.network = Some(right_col);
    }
    match (shown(BoxId::Memory), shown(BoxId::Disks)) {
        (true, true) => {
            let h = left_col.height;
            let mem_h = (h * 11 / 20).max(7.min(h.saturating_sub(3))).min(h);
            areas.memory = Some(Rect {
                height: mem_h,
                ..left_col
            });
            areas.disks = Some(Rect {
                y: left_col.y + mem_h,
                height: h - mem_h,
                ..left_col
            });
        }
        (true, false) => areas.memory = Some(left_col),
        (false, true) => areas.disks = Some(left_col),
        (false, false) => {}
    }
    areas
}

impl<'a> MainScreen<'a> {
    pub fn new(snapshot: &'a UiSnapshot, view: &'a ViewState, theme: &'a Theme) -> Self {
        MainScreen {
            snapshot,
            view,
            theme,
        }
    }

    /// Draws the boxes and the status line into `area`.
    pub fn render_into(&self, area: Rect, buf: &mut Buffer) {
        let areas = layout(area, self.view);
        let (snap, theme) = (self.snapshot, self.theme);
        let screen = self.view.screen_mode();
        if matches!(screen, Mode::Cluster | Mode::ClusterFilter) {
            // The cluster browser takes the place of the boxes.
            crate::tui::screens::cluster::render(body(area), buf, snap, self.view, theme);
            header::render(areas.header, buf, snap, self.view, theme);
            status::render(areas.status, buf, snap, self.view, theme);
            return;
        }
        if matches!(screen, Mode::Alerts | Mode::AlertFilter) {
            // The alerts pane (list, detail or rules view) takes the place of the boxes.
            crate::tui::screens::alerts::render(body(area), buf, snap, self.view, theme);
            header::render(areas.header, buf, snap, self.view, theme);
            status::render(areas.status, buf, snap, self.view, theme);
            return;
        }
        if matches!(screen, Mode::Targets | Mode::TargetFilter | Mode::Dashboard) {
            // The targets pane or the dashboard takes the place of the boxes.
            let body = body(area);
            header::render(areas.header, buf, snap, self.view, theme);
            if screen == Mode::Dashboard {
                let note =
                    crate::tui::screens::dashboard::render(body, buf, snap, self.view, theme);
                status::render_with_note(areas.status, buf, snap, self.view, theme, &note);
            } else {
                crate::tui::screens::targets::render(body, buf, snap, self.view, theme);
                status::render(areas.status, buf, snap, self.view, theme);
            }
            return;
        }
        if let Some(cluster) = snap.cluster.as_deref() {
            // Cluster mode: the cluster overview instead of the host boxes, above the
            // query box.
            let body = body(area);
            let overview = match areas.query {
                Some(q) => Rect {
                    height: q.y.saturating_sub(body.y),
                    ..body
                },
                None => body,
            };
            crate::tui::screens::cluster::overview::render(overview, buf, cluster, theme);
            if let Some(r) = areas.query {
                query::render(r, buf, snap, self.view, theme);
                if self.view.focus == Some(BoxId::Query) {
                    highlight_border(buf, r, theme.hi_fg);
                }
            }
            header::render(areas.header, buf, snap, self.view, theme);
            status::render(areas.status, buf, snap, self.view, theme);
            return;
        }
        if let Some(r) = areas.cpu {
            cpu::render(r, buf, snap, theme);
        }
        if let Some(r) = areas.memory {
            memory::render(r, buf, &snap.memory, theme);
        }
        if let Some(r) = areas.network {
            network::render(r, buf, &snap.network, theme);
        }
        if let Some(r) = areas.disks {
            disks::render(r, buf, &snap.disks, theme);
        }
        if let Some(r) = areas.query {
            query::render(r, buf, snap, self.view, theme);
        }
        if !BoxId::ALL.iter().any(|b| self.view.is_shown(*b)) {
            let row = Rect::new(area.x, area.y + area.height / 2, area.width, 1);
            crate::tui::screens::put_center(
                buf,
                row,
                "all boxes hidden: press 1-5 to show them",
                Style::new().fg(theme.inactive_fg),
            );
        }
        // The focused box's border in the highlight colour.
        let focused = match self.view.focus {
            Some(BoxId::Cpu) => areas.cpu,
            Some(BoxId::Memory) => areas.memory,
            Some(BoxId::Network) => areas.network,
            Some(BoxId::Disks) => areas.disks,
            Some(BoxId::Query) => areas.query,
            None => None,
        };
        if let Some(r) = focused {
            highlight_border(buf, r, theme.hi_fg);
        }
        header::render(areas.header, buf, snap, self.view, theme);
        status::render(areas.status, buf, snap, self.view, theme);
    }
}

/// The screen between the header and the status line.
pub fn body(area: Rect) -> Rect {
    Rect::new(
        area.x,
        area.y + area.height.min(1),
        area.width,
        area.height.saturating_sub(2),
    )
}

/// Recolours the border line characters around `r` (the titles set into the border keep
/// their colours).
fn highlight_border(buf: &mut Buffer, r: Rect, color: ratatui::style::Color) {
    if r.width < 2 || r.height < 2 {
        return;
    }
    let line = |s: &str| matches!(s, "─" | "│" | "╭" | "╮" | "╰" | "╯" | "┐" | "┌" | "┘" | "└");
    let mut paint = |x: u16, y: u16| {
        let cell = &mut buf[(x, y)];
        if line(cell.symbol()) {
            cell.set_fg(color);
        }
    };
    for x in r.x..r.right() {
        paint(x, r.y);
        paint(x, r.bottom() - 1);
    }
    for y in r.y..r.bottom() {
        paint(r.x, y);
        paint(r.right() - 1, y);
    }
}

/// Widths of a meter row's columns.
#[derive(Debug, Clone, Copy)]
struct MeterColumns {
    label: u16,
    value: u16,
}

/// One `label ■■■■■■  42.1%  6.5 GiB` row: the value is dropped first, then the meter, when
/// the row is too narrow.
fn meter_row(
    buf: &mut Buffer,
    row: Rect,
    cols: MeterColumns,
    (label, pct, value): (&str, f64, &str),
    gradient: &Gradient,
    theme: &Theme,
) {
    let text = Style::new().fg(theme.main_fg);
    put(buf, (row.x, row.y), cols.label.min(row.width), label, text);
    let mut right = row.right();
    let pct_w = 7; // " 100.0%"
    if cols.value > 0 && row.width >= cols.label + pct_w + cols.value + 1 + 4 {
        put_right(
            buf,
            Rect::new(right - cols.value, row.y, cols.value, 1),
            value,
            text,
        );
        right -= cols.value + 1;
    }
    let start = row.x + cols.label;
    if right >= start + pct_w {
        put_right(
            buf,
            Rect::new(right - pct_w, row.y, pct_w, 1),
            &format::percent(pct),
            text,
        );
        right -= pct_w + 1;
    }
    if right >= start + 2 {
        Meter::new(pct, gradient, theme.meter_bg)
            .render(Rect::new(start, row.y, right - start, 1), buf);
    }
}

/// `part / whole` in percent, NaN when either is unknown or the whole is zero.
fn share(part: Option<f64>, whole: Option<f64>) -> f64 {
    match (part, whole) {
        (Some(p), Some(w)) if w > 0.0 => p / w * 100.0,
        _ => f64::NAN,
    }
}

/// The points a graph `width` cells wide shows: the newest `2 * width`.
fn visible(history: &[Option<f64>], width: u16) -> &[Option<f64>] {
    let n = usize::from(width) * 2;
    &history[history.len().saturating_sub(n)..]
}

/// A graph's scale: the largest visible value, at least `floor`.
fn scale(history: &[Option<f64>], width: u16, floor: f64) -> f64 {
    visible(history, width)
        .iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold(floor, |acc, v| acc.max(*v))
}

#[cfg(test)]
mod tests;
