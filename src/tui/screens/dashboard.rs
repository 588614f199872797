//! The dashboard screen (`d`, or `--dashboard FILE`): the snapshot's `DashboardLayout`
//! drawn between the header and the status line, rows top to bottom and panels side by
//! side by their relative widths, each panel a rounded box titled with its title and
//! drawn by its kind (`kinds`). Rows ask for a height or share what is left; rows that do
//! not fit at `MIN_ROW_HEIGHT` go to further pages, and the page with the focused panel
//! is the one shown (↑↓/PgUp/PgDn move the focus, so they scroll). A maximised panel has
//! the whole body. `MainScreen` calls `render` in dashboard mode; `mouse` focuses the
//! panel under a click.

mod kinds;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Widget;

use crate::app::{DashboardLayout, PanelData, UiSnapshot};
use crate::tui::screens::put_center;
use crate::tui::theme::Theme;
use crate::tui::view::ViewState;
use crate::tui::widgets::TitledBox;

/// The lowest a row is squeezed to before rows go to another page.
pub const MIN_ROW_HEIGHT: u16 = 5;

/// What the body shows with no panels at all.
const EMPTY: &str = "no panels: on the main screen, b pins the query bar's query here";

/// One panel's box on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub id: u64,
    /// Its row in the layout.
    pub row: usize,
    pub rect: Rect,
}

/// Where everything goes: the panels' boxes, and whether rows are off screen above or
/// below.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pub panels: Vec<Placed>,
    pub rows_above: usize,
    pub rows_below: usize,
}

/// The least a row takes: `MIN_ROW_HEIGHT`, or less when it asks for less.
fn row_min(want: Option<u16>) -> u16 {
    want.map_or(MIN_ROW_HEIGHT, |h| h.min(MIN_ROW_HEIGHT))
}

/// Heights for rows that ask for `wants` (`None`: a share of the rest) in `total` rows:
/// explicit heights as asked when they fit, else shrunk in proportion (none below its
/// `row_min`); the other rows share what is left.
fn heights(wants: &[Option<u16>], total: u16) -> Vec<u16> {
    let autos = wants.iter().filter(|w| w.is_none()).count() as u16;
    let fixed: u32 = wants.iter().flatten().map(|h| u32::from(*h)).sum();
    let mut out: Vec<u16> = wants.iter().map(|w| w.unwrap_or(MIN_ROW_HEIGHT)).collect();
    if fixed + u32::from(autos) * u32::from(MIN_ROW_HEIGHT) > u32::from(total) {
        let budget = u32::from(total.saturating_sub(autos * MIN_ROW_HEIGHT));
        for (h, w) in out.iter_mut().zip(wants) {
            if let Some(w) = w {
                let scaled = u32::from(*w) * budget / fixed.max(1);
                *h = u16::try_from(scaled)
                    .unwrap_or(u16::MAX)
                    .max(row_min(Some(*w)));
            }
        }
        while out.iter().map(|h| u32::from(*h)).sum::<u32>() > u32::from(total) {
            let Some(tallest) = out
                .iter_mut()
                .zip(wants)
                .filter(|(h, w)| w.is_some() && **h > row_min(**w))
                .map(|(h, _)| h)
                .max_by_key(|h| **h)
            else {
                break;
            };
            *tallest -= 1;
        }
    }
    let used: u16 = out.iter().sum();
    let spare = total.saturating_sub(used);
    if let (Some(each), Some(mut extra)) = (spare.checked_div(autos), spare.checked_rem(autos)) {
        for (h, w) in out.iter_mut().zip(wants) {
            if w.is_none() {
                *h += each + u16::from(extra > 0);
                extra = extra.saturating_sub(1);
            }
        }
    }
    out
}

/// The page of rows holding `focus_row`: rows are cut into pages of as many rows as fit
/// at the minimum height (at least one).
fn page(rows: usize, height: u16, focus_row: usize) -> std::ops::Range<usize> {
    let per_page = usize::from((height / MIN_ROW_HEIGHT).max(1));
    let first = focus_row.min(rows.saturating_sub(1)) / per_page * per_page;
    first..(first + per_page).min(rows)
}

/// Where the panels of `layout` go in `area`, with the view's focus and maximised panel.
pub fn place(area: Rect, layout: &DashboardLayout, view: &ViewState) -> Placement {
    let mut out = Placement::default();
    if area.is_empty() {
        return out;
    }
    let focus = view.dashboard.place(layout);
    if let (true, Some((r, c))) = (view.dashboard.maximized, focus)
        && let Some(cell) = layout.rows.get(r).and_then(|row| row.panels.get(c))
    {
        out.panels.push(Placed {
            id: cell.id,
            row: r,
            rect: area,
        });
        return out;
    }
    let wants: Vec<Option<u16>> = layout.rows.iter().map(|r| r.height).collect();
    let fits = wants.iter().map(|w| u32::from(row_min(*w))).sum::<u32>() <= u32::from(area.height);
    let shown = if fits || area.height < MIN_ROW_HEIGHT {
        0..layout.rows.len()
    } else {
        page(layout.rows.len(), area.height, focus.map_or(0, |f| f.0))
    };
    out.rows_above = shown.start;
    out.rows_below = layout.rows.len() - shown.end;
    let hs = if area.height < MIN_ROW_HEIGHT {
        // Too low for even one row at the minimum: the first row takes it all.
        let mut v = vec![0; shown.len()];
        if let Some(h) = v.first_mut() {
            *h = area.height;
        }
        v
    } else {
        heights(&wants[shown.clone()], area.height)
    };
    let mut y = area.y;
    for (r, h) in shown.zip(hs) {
        let h = h.min(area.bottom().saturating_sub(y));
        let cells = &layout.rows[r].panels;
        let total: u32 = cells.iter().map(|c| u32::from(c.width.max(1))).sum();
        let mut acc = 0u32;
        for c in cells {
            let x0 = area.x + (u32::from(area.width) * acc / total.max(1)) as u16;
            acc += u32::from(c.width.max(1));
            let x1 = area.x + (u32::from(area.width) * acc / total.max(1)) as u16;
            out.panels.push(Placed {
                id: c.id,
                row: r,
                rect: Rect::new(x0, y, x1 - x0, h),
            });
        }
        y += h;
    }
    out
}

/// The box colours rows cycle through, as btop colours its boxes.
fn row_colour(theme: &Theme, row: usize) -> ratatui::style::Color {
    [theme.cpu_box, theme.mem_box, theme.net_box, theme.proc_box][row % 4]
}

/// Draws the dashboard into `area`; returns the note for the status line about rows off
/// the screen (empty when every row is shown).
pub fn render(
    area: Rect,
    buf: &mut Buffer,
    snap: &UiSnapshot,
    view: &ViewState,
    theme: &Theme,
) -> String {
    let layout = &*snap.dashboard;
    if layout.rows.iter().all(|r| r.panels.is_empty()) {
        let row = Rect::new(
            area.x,
            area.y + area.height / 2,
            area.width,
            area.height.min(1),
        );
        put_center(buf, row, EMPTY, Style::new().fg(theme.inactive_fg));
        return String::new();
    }
    let placement = place(area, layout, view);
    let focused = view.dashboard.focused(layout).map(|c| c.id);
    for p in &placement.panels {
        let Some(cell) = layout.rows[p.row].panels.iter().find(|c| c.id == p.id) else {
            continue;
        };
        let data = snap.panels.iter().find(|d| d.id == p.id);
        let is_focused = focused == Some(p.id);
        let border = if is_focused {
            theme.hi_fg
        } else {
            row_colour(theme, p.row)
        };
        let mut frame = TitledBox::new(&cell.title, border, theme.title, theme.hi_fg);
        let right = if view.dashboard.maximized {
            Some("Esc restores")
        } else if layout.rows[p.row].pinned {
            Some(if is_focused {
                "pinned · x unpins"
            } else {
                "pinned"
            })
        } else {
            None
        };
        if let Some(r) = right {
            frame = frame.right_label(Line::styled(r, Style::new().fg(theme.graph_text)));
        }
        let bottom = data.map(bottom_label).unwrap_or_default();
        if !bottom.is_empty() {
            frame = frame.bottom_label(Line::styled(bottom, Style::new().fg(theme.graph_text)));
        }
        frame.render(p.rect, buf);
        let inner = TitledBox::inner(p.rect).intersection(buf.area);
        if inner.is_empty() {
            continue;
        }
        match data {
            Some(d) => kinds::render(inner, buf, snap, d, theme),
            None => {
                let row = Rect::new(inner.x, inner.y + inner.height / 2, inner.width, 1);
                put_center(buf, row, "loading…", Style::new().fg(theme.graph_text));
            }
        }
    }
    page_note(&placement)
}

/// What the status line says about rows off the screen: ` · ▲2 ▼1 rows`.
fn page_note(p: &Placement) -> String {
    if p.rows_above == 0 && p.rows_below == 0 {
        return String::new();
    }
    let mut out = " ·".to_string();
    if p.rows_above > 0 {
        out.push_str(&format!(" ▲{}", p.rows_above));
    }
    if p.rows_below > 0 {
        out.push_str(&format!(" ▼{}", p.rows_below));
    }
    out.push_str(" rows");
    out
}

/// The series count and the first warning, for the box's bottom border.
fn bottom_label(d: &PanelData) -> String {
    let mut out = String::new();
    if d.series.len() > 1 {
        out = format!("{} series", d.series.len());
    }
    if let Some(w) = d.warnings.first() {
        if !out.is_empty() {
            out.push_str(" · ");
        }
        out.push_str("⚠ ");
        out.push_str(w);
    }
    out
}

/// A click on the dashboard drawn in `body`: focuses the panel under it. Returns whether
/// the view changed.
pub fn click(body: Rect, snap: &UiSnapshot, view: &mut ViewState, x: u16, y: u16) -> bool {
    let at = ratatui::layout::Position::new(x, y);
    let hit = place(body, &snap.dashboard, view)
        .panels
        .into_iter()
        .find(|p| p.rect.contains(at));
    match hit {
        Some(p) if view.dashboard.focus != Some(p.id) => {
            view.dashboard.focus = Some(p.id);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
