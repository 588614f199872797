//! The help overlay (`?`): every key binding of the keymap in use, grouped by where it
//! applies, in a box centred over the screen. The rows come from `Keymap::help_rows`
//! through the view state, so a remapped key shows as remapped.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use crate::tui::screens::put;
use crate::tui::theme::Theme;
use crate::tui::view::ViewState;
use crate::tui::widgets::TitledBox;

pub fn render(area: Rect, buf: &mut Buffer, view: &ViewState, theme: &Theme) {
    let rows = &view.help;
    let key_w = rows
        .iter()
        .map(|r| r.keys.chars().count())
        .max()
        .unwrap_or(0) as u16;
    let what_w = rows
        .iter()
        .map(|r| r.what.chars().count())
        .max()
        .unwrap_or(0) as u16;
    // The lines: a heading before each scope (with a blank line before all but the first),
    // then its rows; they flow into as many columns as the height needs.
    let mut lines: Vec<Option<(bool, &str, &str)>> = Vec::new();
    let mut scope = "";
    for r in rows {
        if r.scope != scope {
            if !scope.is_empty() {
                lines.push(None);
            }
            scope = r.scope;
            lines.push(Some((true, r.scope, "")));
        }
        lines.push(Some((false, &r.keys, &r.what)));
    }
    let col_w = key_w + what_w + 5;
    let room = usize::from(area.height.saturating_sub(2).max(1));
    // As many columns as the width takes (each `col_w` wide), filled top to bottom; when
    // they cannot hold every line the list scrolls by rows.
    let fit = usize::from((area.width.saturating_sub(2) / col_w).max(1));
    let columns = lines.len().div_ceil(room).clamp(1, fit);
    let per_col = lines.len().div_ceil(columns).min(room);
    let max_scroll = lines.len().saturating_sub(columns * per_col);
    let scroll = view.help_scroll.min(max_scroll);
    let width = (columns as u16 * col_w + 1).clamp(30.min(area.width), area.width);
    let height = (per_col as u16 + 2).min(area.height);
    let mut title = TitledBox::new("help", theme.hi_fg, theme.title, theme.hi_fg);
    if max_scroll > 0 {
        let more = match (scroll > 0, scroll < max_scroll) {
            (true, true) => "↑↓ more",
            (false, _) => "↓ more",
            (true, false) => "↑ more",
        };
        title = title.right_label(ratatui::text::Line::styled(
            more,
            Style::new().fg(theme.graph_text),
        ));
    }
    let inner = title.render_centered(
        area,
        (width, height),
        Style::new().bg(theme.main_bg).fg(theme.main_fg),
        buf,
    );
    let heading = Style::new().fg(theme.title).add_modifier(Modifier::BOLD);
    let key = Style::new().fg(theme.hi_fg).add_modifier(Modifier::BOLD);
    let text = Style::new().fg(theme.main_fg);
    let shown = lines
        .iter()
        .enumerate()
        .skip(scroll)
        .take(columns * per_col);
    for (i, line) in shown.map(|(i, l)| (i - scroll, l)) {
        let (col, row) = ((i / per_col.max(1)) as u16, (i % per_col.max(1)) as u16);
        let (x, y) = (inner.x + col * col_w, inner.y + row);
        if x >= inner.right() || y >= inner.bottom() {
            continue;
        }
        let max = inner.right() - x;
        match line {
            None => {}
            Some((true, name, _)) => {
                put(buf, (x, y), max, name, heading);
            }
            Some((false, keys, what)) => {
                put(buf, (x + 1, y), max.saturating_sub(1).min(key_w), keys, key);
                let wx = x + 1 + key_w + 2;
                if wx < inner.right() {
                    put(buf, (wx, y), (inner.right() - wx).min(what_w), what, text);
                }
            }
        }
    }
}
