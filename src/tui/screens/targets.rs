//! The targets pane (`t`): Prometheus's /targets and /service-discovery pages in a
//! terminal. Targets are grouped by scrape pool with up/down/unknown counts; each row shows
//! the state, the endpoint, the labels, the last scrape ("3s ago"), its duration and the
//! last error. A filter line takes text (`/`) and a state (`s`). Enter opens the detail of
//! the selected target: its labels from discovery (before relabeling) beside its final
//! labels, and the full last error. The last row counts the targets relabeling dropped,
//! per pool. Drawn by `MainScreen` in place of the boxes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::app::{Health, TargetRow, UiSnapshot};
use crate::tui::screens::{put, put_right};
use crate::tui::targets_view::StateFilter;
use crate::tui::theme::Theme;
use crate::tui::view::{Mode, ViewState};
use crate::tui::widgets::TitledBox;

/// The state glyph and its colour.
fn state(h: Health, theme: &Theme) -> (&'static str, Style) {
    match h {
        Health::Up => ("▲ up", Style::new().fg(theme.cpu.start())),
        Health::Down => ("▼ down", Style::new().fg(theme.temp.end())),
        Health::Unknown => ("? unknown", Style::new().fg(theme.inactive_fg)),
    }
}

/// "3s ago", "2m ago", "never".
pub(crate) fn ago(now_ms: i64, then: Option<i64>) -> String {
    let Some(then) = then else {
        return "never".into();
    };
    let secs = (now_ms.saturating_sub(then) / 1000).max(0);
    match secs {
        s if s < 60 => format!("{s}s ago"),
        s if s < 3600 => format!("{}m ago", s / 60),
        s => format!("{}h ago", s / 3600),
    }
}

/// A duration in seconds as `4ms`, `1.2s`.
fn took(secs: f64) -> String {
    if secs <= 0.0 {
        "–".into()
    } else if secs < 1.0 {
        format!("{:.0}ms", (secs * 1000.0).max(1.0))
    } else {
        format!("{secs:.1}s")
    }
}

pub fn render(area: Rect, buf: &mut Buffer, snap: &UiSnapshot, view: &ViewState, theme: &Theme) {
    let tv = &view.targets;
    let rows = tv.rows(snap);
    let visible = tv.visible(rows);
    let dropped = tv.state == StateFilter::Dropped;
    let (up, down, unknown) = snap
        .targets
        .iter()
        .fold((0, 0, 0), |(u, d, k), r| match r.health {
            Health::Up => (u + 1, d, k),
            Health::Down => (u, d + 1, k),
            Health::Unknown => (u, d, k + 1),
        });
    let counts = Line::from(vec![
        Span::styled(format!("▲{up}"), Style::new().fg(theme.cpu.start())),
        Span::styled(format!(" ▼{down}"), Style::new().fg(theme.temp.end())),
        Span::styled(format!(" ?{unknown}"), Style::new().fg(theme.inactive_fg)),
    ]);
    TitledBox::new("targets", theme.hi_fg, theme.title, theme.hi_fg)
        .right_label(counts)
        .render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.is_empty() {
        return;
    }
    // The filter line.
    let dim = Style::new().fg(theme.graph_text);
    let text = Style::new().fg(theme.main_fg);
    let key = Style::new().fg(theme.hi_fg).add_modifier(Modifier::BOLD);
    let editing = view.mode == Mode::TargetFilter;
    let mut filter = vec![
        Span::styled("filter ", dim),
        Span::styled(tv.filter.text().to_string(), text),
    ];
    if editing {
        filter.push(Span::styled(" ", text.add_modifier(Modifier::REVERSED)));
    } else if tv.filter.text().is_empty() {
        filter.push(Span::styled("(/ to type)", dim));
    }
    filter.push(Span::styled("   state ", dim));
    filter.push(Span::styled(tv.state.name(), key));
    filter.push(Span::styled(
        format!(
            "   {} of {} {}",
            visible.len(),
            rows.len(),
            if dropped {
                "dropped targets"
            } else {
                "targets"
            }
        ),
        dim,
    ));
    buf.set_line(inner.x, inner.y, &Line::from(filter), inner.width);
    let body = Rect {
        y: inner.y + 2,
        height: inner.height.saturating_sub(2),
        ..inner
    };
    if body.is_empty() {
        return;
    }
    if rows.is_empty() {
        let none = if dropped {
            "relabeling dropped no target"
        } else {
            "no targets"
        };
        // A remote source's targets that did not come: why (unavailable, unreachable).
        let none = snap.sources.targets_note.as_deref().unwrap_or(none);
        put(buf, (body.x, body.y), body.width, none, dim);
        return;
    }
    if visible.is_empty() {
        put(
            buf,
            (body.x, body.y),
            body.width,
            "no target matches the filter",
            dim,
        );
        return;
    }
    let selected = tv.selected.min(visible.len() - 1);
    if tv.detail {
        detail(
            body,
            buf,
            &rows[visible[selected]],
            snap.at_ms,
            theme,
            dropped,
        );
        return;
    }
    // The last row says what relabeling dropped, as Prometheus's service-discovery page
    // counts it.
    let list_area = list_area(body, snap);
    if list_area.height < body.height {
        let parts: Vec<String> = snap
            .dropped_targets
            .iter()
            .map(|(pool, n)| format!("{pool} {n}"))
            .collect();
        let line = format!("dropped by relabeling: {}", parts.join(", "));
        put(buf, (body.x, body.bottom() - 1), body.width, &line, dim);
    }
    let list_rows = ListRows {
        rows,
        visible: &visible,
        selected,
        dropped,
    };
    list(list_area, buf, &list_rows, snap.at_ms, theme);
}

/// The targets list's area in the pane's body: all of it but the last row when that row
/// counts dropped targets.
fn list_area(body: Rect, snap: &UiSnapshot) -> Rect {
    let mut area = body;
    if !snap.dropped_targets.is_empty() && body.height > 2 {
        area.height -= 1;
    }
    area
}

/// The list's lines: a heading per pool, then its targets.
enum L {
    Pool(String, usize, usize),
    /// Index into the visible targets.
    Target(usize),
}

/// The list's lines for `visible`, and the first one shown in `height` rows so that the
/// selected target is in view.
fn lines(rows: &[TargetRow], visible: &[usize], selected: usize, height: usize) -> (Vec<L>, usize) {
    let mut lines: Vec<L> = Vec::new();
    let mut sel_line = 0;
    for (k, &i) in visible.iter().enumerate() {
        let job = &rows[i].job;
        if !matches!(lines.last(), Some(L::Target(j)) if rows[visible[*j]].job == *job) {
            let in_pool: Vec<&TargetRow> = visible
                .iter()
                .map(|&x| &rows[x])
                .filter(|r| r.job == *job)
                .collect();
            let ups = in_pool.iter().filter(|r| r.health == Health::Up).count();
            lines.push(L::Pool(job.clone(), ups, in_pool.len()));
        }
        if k == selected {
            sel_line = lines.len();
        }
        lines.push(L::Target(k));
    }
    let first = (sel_line + 1).saturating_sub(height);
    (lines, first)
}

/// The visible target (its index among the filtered targets) drawn at row `y` of the
/// targets pane drawn in `area`, for a click; `None` off the list or in the detail.
pub fn target_at(area: Rect, snap: &UiSnapshot, view: &ViewState, y: u16) -> Option<usize> {
    let tv = &view.targets;
    let rows = tv.rows(snap);
    let visible = tv.visible(rows);
    if tv.detail || visible.is_empty() {
        return None;
    }
    let inner = TitledBox::inner(area);
    let body = Rect {
        y: inner.y + 2,
        height: inner.height.saturating_sub(2),
        ..inner
    };
    let list = list_area(body, snap);
    if y < list.y || y >= list.bottom() {
        return None;
    }
    let selected = tv.selected.min(visible.len() - 1);
    let (lines, first) = lines(rows, &visible, selected, usize::from(list.height));
    match lines.get(first + usize::from(y - list.y)) {
        Some(L::Target(k)) => Some(*k),
        _ => None,
    }
}

/// What the list shows: the rows, the visible ones in order, the selection, and whether
/// they are dropped targets.
struct ListRows<'a> {
    rows: &'a [TargetRow],
    visible: &'a [usize],
    selected: usize,
    dropped: bool,
}

/// The grouped list, scrolled to keep the selected target in view.
fn list(body: Rect, buf: &mut Buffer, l: &ListRows<'_>, now_ms: i64, theme: &Theme) {
    let &ListRows {
        rows,
        visible,
        selected,
        dropped,
    } = l;
    let height = usize::from(body.height);
    let (lines, first) = lines(rows, visible, selected, height);
    let text = Style::new().fg(theme.main_fg);
    let dim = Style::new().fg(theme.graph_text);
    let url_w = (body.width / 3).max(12);
    for (n, line) in lines.iter().skip(first).take(height).enumerate() {
        let y = body.y + n as u16;
        let row = Rect::new(body.x, y, body.width, 1);
        match line {
            L::Pool(job, ups, total) => {
                let head = Style::new().fg(theme.title).add_modifier(Modifier::BOLD);
                let used = put(buf, (row.x, y), row.width, job, head);
                put(
                    buf,
                    (row.x + used + 1, y),
                    row.width.saturating_sub(used + 1),
                    &if dropped {
                        format!("({total} dropped)")
                    } else {
                        format!("({ups}/{total} up)")
                    },
                    dim,
                );
            }
            L::Target(k) => {
                let r = &rows[visible[*k]];
                let is_sel = *k == selected;
                if is_sel {
                    buf.set_style(
                        row,
                        Style::new().bg(theme.selected_bg).fg(theme.selected_fg),
                    );
                }
                let pick = |st: Style| if is_sel { st.bg(theme.selected_bg) } else { st };
                let (glyph, st) = if dropped {
                    DROPPED
                } else {
                    state(r.health, theme)
                };
                let st = if dropped {
                    Style::new().fg(theme.inactive_fg)
                } else {
                    st
                };
                let mut x = row.x + 2;
                put(buf, (x, y), 10, glyph, pick(st));
                x += 10;
                let w = url_w.min(row.right().saturating_sub(x));
                put(buf, (x, y), w, &r.url, pick(text));
                x += url_w + 1;
                let when = format!(
                    "{:>8} {:>6}",
                    ago(now_ms, r.last_scrape_ms),
                    took(r.duration_secs)
                );
                if x < row.right() && !dropped {
                    let used = put(buf, (x, y), row.right() - x, &when, pick(dim));
                    x += used + 2;
                }
                let rest = if dropped {
                    (discovered_text(r), pick(dim))
                } else if r.last_error.is_empty() {
                    (labels_text(r), pick(text))
                } else {
                    (
                        r.last_error.clone(),
                        pick(Style::new().fg(theme.temp.end())),
                    )
                };
                if x < row.right() {
                    put(buf, (x, y), row.right() - x, &rest.0, rest.1);
                }
            }
        }
    }
}

/// How a dropped target's state shows.
const DROPPED: (&str, Style) = ("✕ dropped", Style::new());

/// A dropped target's discovered labels without `__address__` (the URL column has it).
fn discovered_text(r: &TargetRow) -> String {
    let pairs: Vec<String> = r
        .discovered_labels
        .iter()
        .filter(|l| l.name != "__address__")
        .map(|l| format!("{}=\"{}\"", l.name, l.value))
        .collect();
    pairs.join(", ")
}

/// The target's labels without `job` (the pool heading says it).
fn labels_text(r: &TargetRow) -> String {
    let pairs: Vec<String> = r
        .labels
        .iter()
        .filter(|l| l.name != "job")
        .map(|l| format!("{}=\"{}\"", l.name, l.value))
        .collect();
    pairs.join(", ")
}

/// The selected target in full: its facts, its last error, and its labels before and
/// after relabeling side by side.
fn detail(body: Rect, buf: &mut Buffer, r: &TargetRow, now_ms: i64, theme: &Theme, dropped: bool) {
    let dim = Style::new().fg(theme.graph_text);
    let text = Style::new().fg(theme.main_fg);
    let head = Style::new().fg(theme.title).add_modifier(Modifier::BOLD);
    let (glyph, st) = state(r.health, theme);
    let mut y = body.y;
    let facts: Vec<(&str, String, Style)> = if dropped {
        vec![
            ("endpoint", r.url.clone(), text),
            ("pool", r.job.clone(), text),
            (
                "state",
                "dropped by relabeling: never scraped".into(),
                Style::new().fg(theme.inactive_fg),
            ),
        ]
    } else {
        vec![
            ("endpoint", r.url.clone(), text),
            ("pool", r.job.clone(), text),
            ("state", glyph.to_string(), st),
            ("last scrape", ago(now_ms, r.last_scrape_ms), text),
            ("took", took(r.duration_secs), text),
            (
                "samples",
                format!("{} (every {}s)", r.samples, r.interval_secs),
                text,
            ),
        ]
    };
    for (name, value, style) in facts {
        if y >= body.bottom() {
            return;
        }
        put(buf, (body.x, y), 12, name, dim);
        put(
            buf,
            (body.x + 13, y),
            body.width.saturating_sub(13),
            &value,
            style,
        );
        y += 1;
    }
    if !r.last_error.is_empty() && y < body.bottom() {
        put(buf, (body.x, y), 12, "last error", dim);
        // Wrapped over as many rows as it needs (at most 4).
        let w = usize::from(body.width.saturating_sub(13)).max(1);
        let chars: Vec<char> = r.last_error.chars().collect();
        for chunk in chars.chunks(w).take(4) {
            if y >= body.bottom() {
                return;
            }
            let line: String = chunk.iter().collect();
            put(
                buf,
                (body.x + 13, y),
                body.width.saturating_sub(13),
                &line,
                Style::new().fg(theme.temp.end()),
            );
            y += 1;
        }
    }
    y += 1;
    if y + 1 >= body.bottom() {
        return;
    }
    let half = body.width / 2;
    put(
        buf,
        (body.x, y),
        half,
        "discovered labels (before relabeling)",
        head,
    );
    put(
        buf,
        (body.x + half, y),
        body.width - half,
        "target labels",
        head,
    );
    y += 1;
    let left: Vec<String> = r
        .discovered_labels
        .iter()
        .map(|l| format!("{}=\"{}\"", l.name, l.value))
        .collect();
    let right: Vec<String> = if dropped {
        vec!["(none: relabeling dropped it)".into()]
    } else {
        r.labels
            .iter()
            .map(|l| format!("{}=\"{}\"", l.name, l.value))
            .collect()
    };
    for i in 0..left.len().max(right.len()) {
        if y >= body.bottom() {
            let more = Rect::new(body.x, body.bottom() - 1, body.width, 1);
            put_right(buf, more, "…", dim);
            return;
        }
        if let Some(l) = left.get(i) {
            put(buf, (body.x, y), half.saturating_sub(1), l, text);
        }
        if let Some(l) = right.get(i) {
            put(buf, (body.x + half, y), body.width - half, l, text);
        }
        y += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_durations() {
        assert_eq!(ago(10_000, None), "never");
        assert_eq!(ago(10_000, Some(7_000)), "3s ago");
        assert_eq!(ago(10_000, Some(20_000)), "0s ago");
        assert_eq!(ago(200_000, Some(20_000)), "3m ago");
        assert_eq!(ago(8_000_000, Some(0)), "2h ago");
        assert_eq!(took(0.0), "–");
        assert_eq!(took(0.0042), "4ms");
        assert_eq!(took(0.0001), "1ms");
        assert_eq!(took(1.25), "1.2s");
    }
}
