//! The options menu overlay (`o`), like bpytop's: one row per option with its value
//! between ◀ ▶ (boxes as check marks), the selected row highlighted, and the keys at the
//! bottom. Drawn over the main screen from `ViewState::options`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;

use crate::tui::screens::put;
use crate::tui::theme::Theme;
use crate::tui::view::{OPTION_ROWS, OptionRow, ViewState, interval_label};
use crate::tui::widgets::TitledBox;

/// The menu's width and height, before clipping to the screen.
const WIDTH: u16 = 44;
const HEIGHT: u16 = OPTION_ROWS.len() as u16 + 6;

/// The label and value text of one row.
fn row_text(row: OptionRow, view: &ViewState) -> (String, String) {
    match row {
        OptionRow::Interval => (
            "refresh interval".into(),
            format!("◀ {} ▶", interval_label(view.options.interval_ms)),
        ),
        OptionRow::Theme => (
            "theme".into(),
            format!("◀ {} ▶", view.themes.current_name()),
        ),
        OptionRow::Graph => (
            "graph symbols".into(),
            format!("◀ {} ▶", view.symbols.name()),
        ),
        OptionRow::Bell => (
            "bell on alerts".into(),
            if view.alerts.bell {
                "[x] rings"
            } else {
                "[ ] silent"
            }
            .into(),
        ),
        OptionRow::Box(id) => (
            format!("box {} {}", id.number(), id.title()),
            if view.is_shown(id) {
                "[x] shown"
            } else {
                "[ ] hidden"
            }
            .into(),
        ),
    }
}

pub fn render(area: Rect, buf: &mut Buffer, view: &ViewState, theme: &Theme) {
    let inner = TitledBox::new("options", theme.hi_fg, theme.title, theme.hi_fg)
        .bottom_label(Line::styled(
            "↑↓ select  ←→ change  Esc save",
            Style::new().fg(theme.graph_text),
        ))
        .render_centered(
            area,
            (WIDTH, HEIGHT),
            Style::new().bg(theme.main_bg).fg(theme.main_fg),
            buf,
        );
    if inner.is_empty() {
        return;
    }
    let label_w = 18.min(inner.width);
    let mut y = inner.y + 1;
    for (i, row) in OPTION_ROWS.iter().enumerate() {
        if y >= inner.bottom() {
            break;
        }
        // A blank line between the settings and the boxes.
        if matches!(row, OptionRow::Box(_)) && !matches!(OPTION_ROWS[i - 1], OptionRow::Box(_)) {
            y += 1;
            if y >= inner.bottom() {
                break;
            }
        }
        let (label, value) = row_text(*row, view);
        let selected = i == view.options.selected;
        let line = Rect::new(inner.x, y, inner.width, 1);
        let (label_style, value_style) = if selected {
            let s = Style::new()
                .bg(theme.selected_bg)
                .fg(theme.selected_fg)
                .add_modifier(Modifier::BOLD);
            buf.set_style(line, s);
            (s, s)
        } else {
            (Style::new().fg(theme.main_fg), Style::new().fg(theme.hi_fg))
        };
        put(buf, (inner.x + 1, y), label_w, &label, label_style);
        let vx = inner.x + 1 + label_w + 1;
        if vx < inner.right() {
            put(buf, (vx, y), inner.right() - vx, &value, value_style);
        }
        y += 1;
    }
}
