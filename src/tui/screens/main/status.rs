//! The status line at the bottom of the main screen: host, data source and the app's last
//! status message on the left, the key help on the right with hotkeys highlighted. Drawn by
//! `MainScreen` from `UiSnapshot::host` and `UiSnapshot::status`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::app::UiSnapshot;
use crate::tui::theme::Theme;

pub(super) fn render(row: Rect, buf: &mut Buffer, snap: &UiSnapshot, theme: &Theme) {
    if row.is_empty() {
        return;
    }
    let key = Style::new().fg(theme.hi_fg).add_modifier(Modifier::BOLD);
    let text = Style::new().fg(theme.main_fg);
    let dim = Style::new().fg(theme.graph_text);
    let help = Line::from(vec![
        Span::styled("1-4", key),
        Span::styled(" boxes  ", dim),
        Span::styled("q", key),
        Span::styled(" quit ", dim),
    ]);
    let help_w = help.width() as u16;

    let host = if snap.host.hostname.is_empty() {
        "kmon"
    } else {
        snap.host.hostname.as_str()
    };
    let mut parts = vec![Span::styled(
        format!(" {host}"),
        text.add_modifier(Modifier::BOLD),
    )];
    if !snap.host.source.is_empty() {
        parts.push(Span::styled(" │ ", dim));
        parts.push(Span::styled(snap.host.source.as_str(), text));
    }
    if !snap.status.is_empty() {
        parts.push(Span::styled(" │ ", dim));
        parts.push(Span::styled(
            snap.status.as_str(),
            Style::new().fg(theme.hi_fg),
        ));
    }
    let left = Line::from(parts);

    // The help keeps its place; the left side is cut to what remains (with `…`).
    let show_help = row.width >= help_w + 12;
    let left_room = if show_help {
        row.width - help_w - 1
    } else {
        row.width
    };
    let left_w = left.width() as u16;
    if left_w <= left_room {
        buf.set_line(row.x, row.y, &left, left_room);
    } else if left_room > 0 {
        buf.set_line(row.x, row.y, &left, left_room - 1);
        buf.set_string(row.x + left_room - 1, row.y, "…", dim);
    }
    if show_help {
        buf.set_line(row.right() - help_w, row.y, &help, help_w);
    }
}
