//! The status line at the bottom of the main screen: the `:` command line while it is
//! open; otherwise the TUI's own message or the app's last status (export results), and
//! on the right the keys of the current mode with the keys highlighted. Drawn by
//! `MainScreen` from `UiSnapshot::status` and the view state.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::app::UiSnapshot;
use crate::tui::theme::Theme;
use crate::tui::view::{Mode, ViewState};

/// The key hints of each mode: (key, what it does).
fn hints(mode: Mode) -> &'static [(&'static str, &'static str)] {
    match mode {
        Mode::Normal => &[
            ("/", "query"),
            ("1-5", "boxes"),
            ("-+", "range"),
            ("e", "export"),
            ("o", "options"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Mode::Query => &[
            ("Enter", "run"),
            ("Tab", "complete"),
            ("↑↓", "history"),
            ("Ctrl-R", "search"),
            ("Esc", "back"),
        ],
        Mode::Command => &[("Enter", "run"), ("Esc", "back")],
        Mode::Help => &[("Esc", "close")],
        Mode::Targets => &[
            ("↑↓", "select"),
            ("Enter", "detail"),
            ("/", "filter"),
            ("s", "state"),
            ("g", "graph up"),
            ("Esc", "back"),
        ],
        Mode::TargetFilter => &[("Enter", "done"), ("Esc", "back")],
        Mode::Options => &[
            ("↑↓", "select"),
            ("←→", "change"),
            ("Esc", "close and save"),
        ],
        Mode::Dashboard => &[
            ("Tab", "panel"),
            ("Enter", "zoom"),
            ("↑↓", "scroll"),
            ("x", "unpin"),
            ("Esc", "back"),
        ],
    }
}

pub(super) fn render(
    row: Rect,
    buf: &mut Buffer,
    snap: &UiSnapshot,
    view: &ViewState,
    theme: &Theme,
) {
    render_with_note(row, buf, snap, view, theme, "");
}

/// `render`, with `note` after the dashboard's title (rows scrolled off the screen).
pub(super) fn render_with_note(
    row: Rect,
    buf: &mut Buffer,
    snap: &UiSnapshot,
    view: &ViewState,
    theme: &Theme,
    note: &str,
) {
    if row.is_empty() {
        return;
    }
    let key = Style::new().fg(theme.hi_fg).add_modifier(Modifier::BOLD);
    let text = Style::new().fg(theme.main_fg);
    let dim = Style::new().fg(theme.graph_text);
    let mut help_spans = Vec::new();
    for (k, what) in hints(view.mode) {
        help_spans.push(Span::styled(*k, key));
        help_spans.push(Span::styled(format!(" {what}  "), dim));
    }
    let help = Line::from(help_spans);
    let help_w = help.width() as u16;

    let left = if view.mode == Mode::Command {
        let line = &view.command;
        let mut spans = vec![
            Span::styled(":", key),
            Span::styled(line.text().to_string(), text),
        ];
        if line.cursor() >= line.text().len() {
            spans.push(Span::styled(" ", text.add_modifier(Modifier::REVERSED)));
        }
        Line::from(spans)
    } else if let Some(m) = &view.message {
        Line::from(Span::styled(format!(" {m}"), Style::new().fg(theme.hi_fg)))
    } else if !snap.status.is_empty() {
        Line::from(Span::styled(
            format!(" {}", snap.status),
            Style::new().fg(theme.hi_fg),
        ))
    } else if view.screen_mode() == Mode::Dashboard && !snap.dashboard.title.is_empty() {
        Line::from(Span::styled(
            format!(" ▦ {}{note}", snap.dashboard.title),
            text.add_modifier(Modifier::BOLD),
        ))
    } else {
        Line::from(Span::styled(
            format!(" {}", snap.host.hostname),
            text.add_modifier(Modifier::BOLD),
        ))
    };

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
