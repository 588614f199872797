//! The alerts pane (`a`): Prometheus's /alerts page in a terminal. Alerts are listed
//! firing first, then pending (then, with `i`, the alerting rules with no active alert),
//! each state under a heading with its count, by alertname and severity within it; a row
//! shows the state, the alertname, the severity in its colour, "for 12m" since it went
//! pending, the value and the labels (without alertname and severity). Silenced alerts are
//! dimmed and marked, and the local silences in force are listed under the alerts. A
//! filter line takes text (`/`). The detail (`Enter`) is drawn by
//! `alerts_detail`, the rules view (`r`) by `alerts_rules`; the silence picker (`s`) is an
//! overlay drawn here. `MainScreen` draws the pane in place of the boxes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::app::UiSnapshot;
use crate::app::alerts::{AlertRow, AlertState, AlertsView, Severity};
use crate::tui::format;
use crate::tui::screens::put;
use crate::tui::theme::Theme;
use crate::tui::view::{AlertItem, AlertScreen, Mode, ViewState};
use crate::tui::widgets::TitledBox;

/// The colour of a severity: critical red, warning yellow, info blue (the theme's
/// temperature gradient: its end, middle and start), others plain.
pub fn severity_color(rank: Severity, theme: &Theme) -> Color {
    match rank {
        Severity::Critical => theme.temp.end(),
        Severity::Warning => theme.temp.at(50.0),
        Severity::Info => theme.temp.start(),
        Severity::Other => theme.main_fg,
    }
}

/// The state's glyph and word.
pub fn state_text(state: AlertState) -> &'static str {
    match state {
        AlertState::Firing => "● firing",
        AlertState::Pending => "◐ pending",
        AlertState::Inactive => "○ inactive",
    }
}

/// The colour of a state: firing red, pending yellow, inactive dim.
pub fn state_color(state: AlertState, theme: &Theme) -> Color {
    match state {
        AlertState::Firing => theme.temp.end(),
        AlertState::Pending => theme.temp.at(50.0),
        AlertState::Inactive => theme.inactive_fg,
    }
}

/// How long since `since_ms`: `45s`, `12m`, `3h12m`, `2d3h`.
pub fn age(now_ms: i64, since_ms: i64) -> String {
    let s = (now_ms.saturating_sub(since_ms) / 1000).max(0);
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => match s % 3600 / 60 {
            0 => format!("{}h", s / 3600),
            m => format!("{}h{m}m", s / 3600),
        },
        s => match s % 86_400 / 3600 {
            0 => format!("{}d", s / 86_400),
            h => format!("{}d{h}h", s / 86_400),
        },
    }
}

/// An alert's value as Prometheus's templates' `humanize` would: `93.5`, `1.23k`, `NaN`.
pub fn value_text(v: f64) -> String {
    format::value(v, crate::app::Unit::None)
}

/// The labels without `alertname` and `severity` (the row shows them): `a="1", b="2"`.
pub fn compact_labels(a: &AlertRow) -> String {
    let pairs: Vec<String> = a
        .labels
        .iter()
        .filter(|l| !matches!(l.name, "alertname" | "severity"))
        .map(|l| format!("{}={:?}", l.name, l.value))
        .collect();
    pairs.join(", ")
}

/// The counts for a box's top border: `●2 firing ◐1 pending ⊘1 silenced`.
pub fn counts_line(v: &AlertsView, theme: &Theme) -> Line<'static> {
    let c = v.counts;
    let sev =
        |s: Option<Severity>, fallback: Color| s.map_or(fallback, |s| severity_color(s, theme));
    let mut spans = vec![
        Span::styled(
            format!("●{} firing", c.firing),
            Style::new().fg(if c.firing > 0 {
                sev(c.firing_severity, theme.inactive_fg)
            } else {
                theme.inactive_fg
            }),
        ),
        Span::styled(
            format!(" ◐{} pending", c.pending),
            Style::new().fg(if c.pending > 0 {
                sev(c.pending_severity, theme.inactive_fg)
            } else {
                theme.inactive_fg
            }),
        ),
    ];
    if c.silenced > 0 {
        spans.push(Span::styled(
            format!(" ⊘{} silenced", c.silenced),
            Style::new().fg(theme.inactive_fg),
        ));
    }
    Line::from(spans)
}

pub fn render(area: Rect, buf: &mut Buffer, snap: &UiSnapshot, view: &ViewState, theme: &Theme) {
    match view.alerts.screen {
        AlertScreen::Detail => super::alerts_detail::render(area, buf, snap, view, theme),
        AlertScreen::Rules => super::alerts_rules::render(area, buf, snap, view, theme),
        AlertScreen::List => list(area, buf, snap, view, theme),
    }
}

/// The list screen: the filter line, then the alerts by state.
fn list(area: Rect, buf: &mut Buffer, snap: &UiSnapshot, view: &ViewState, theme: &Theme) {
    let v = &*snap.alerts;
    let p = &view.alerts;
    TitledBox::new("alerts", theme.hi_fg, theme.title, theme.hi_fg)
        .right_label(counts_line(v, theme))
        .render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.is_empty() {
        return;
    }
    let dim = Style::new().fg(theme.graph_text);
    let text = Style::new().fg(theme.main_fg);
    let key = Style::new().fg(theme.hi_fg).add_modifier(Modifier::BOLD);
    let items = p.items(v);
    let mut filter = vec![
        Span::styled("filter ", dim),
        Span::styled(p.filter.text().to_string(), text),
    ];
    if view.mode == Mode::AlertFilter {
        filter.push(Span::styled(" ", text.add_modifier(Modifier::REVERSED)));
    } else if p.filter.text().is_empty() {
        filter.push(Span::styled("(/ to type)", dim));
    }
    filter.push(Span::styled("   inactive rules ", dim));
    filter.push(Span::styled(
        if p.show_inactive { "shown" } else { "hidden" },
        key,
    ));
    filter.push(Span::styled(
        format!(
            "   {} of {} alerts",
            items
                .iter()
                .filter(|i| matches!(i, AlertItem::Alert(_)))
                .count(),
            v.alerts.len()
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
    let note = snap.sources.rules_note.as_deref();
    let empty = if v.alerting_rules == 0 && note.is_some() {
        // A remote source's rules that did not come: why.
        note
    } else if v.alerting_rules == 0 {
        Some(if v.has_rules() {
            "no alerting rules (only recording rules are loaded; r shows them)"
        } else {
            "no alerting rules: give kmon rule files with --rules or rule_files"
        })
    } else if items.is_empty() && v.alerts.is_empty() {
        Some("no alerts firing or pending (i lists the rules)")
    } else if items.is_empty() {
        Some("no alert matches the filter")
    } else {
        None
    };
    if let Some(msg) = empty {
        silences(body, 1, buf, snap, theme);
        let ok = v.alerting_rules > 0 && v.alerts.is_empty();
        let style = if ok {
            Style::new().fg(theme.cpu.start())
        } else {
            dim
        };
        put(
            buf,
            (body.x, body.y),
            body.width,
            &format!("{}{msg}", if ok { "✓ " } else { "" }),
            style,
        );
        return;
    }
    let selected = p.selected.min(items.len() - 1);
    let (lines, first) = lines(v, &items, selected, usize::from(body.height));
    let cols = Columns::for_width(body.width, v);
    for (n, line) in lines
        .iter()
        .skip(first)
        .take(usize::from(body.height))
        .enumerate()
    {
        let y = body.y + n as u16;
        let row = Rect::new(body.x, y, body.width, 1);
        match line {
            L::Heading(state, count) => {
                let st = Style::new()
                    .fg(state_color(*state, theme))
                    .add_modifier(Modifier::BOLD);
                let word = match state {
                    AlertState::Firing => "firing",
                    AlertState::Pending => "pending",
                    AlertState::Inactive => "inactive rules",
                };
                put(buf, (row.x, y), row.width, &format!("{word} ({count})"), st);
            }
            L::Item(k) => {
                let is_sel = *k == selected;
                draw_item(buf, row, v, items[*k], is_sel, &cols, snap.at_ms, theme);
            }
        }
    }
    let used = lines
        .len()
        .saturating_sub(first)
        .min(usize::from(body.height));
    silences(body, used as u16, buf, snap, theme);
}

/// The local silences in force, under the list where there is room (`:unsilence ID`
/// ends one).
fn silences(body: Rect, used: u16, buf: &mut Buffer, snap: &UiSnapshot, theme: &Theme) {
    let list = &snap.alerts.silences;
    let mut y = body.y + used + 1;
    if list.is_empty() || y + 1 >= body.bottom() {
        return;
    }
    let dim = Style::new().fg(theme.graph_text);
    put(
        buf,
        (body.x, y),
        body.width,
        &format!("local silences ({}) · :unsilence ID ends one", list.len()),
        dim.add_modifier(Modifier::BOLD),
    );
    y += 1;
    for s in list {
        if y >= body.bottom() {
            break;
        }
        let line = format!(
            " {:>3}  until {} ({} left)  {}",
            s.id,
            crate::tui::screens::main::header::clock(s.until_ms, snap.tz_offset_secs),
            age(s.until_ms, snap.at_ms),
            s.selector()
        );
        put(
            buf,
            (body.x, y),
            body.width,
            &line,
            Style::new().fg(theme.inactive_fg),
        );
        y += 1;
    }
}

/// The list item (its index among the listed items) drawn at row `y` of the pane drawn
/// in `area`, for a click; `None` off the list or on another screen of the pane.
pub fn item_at(area: Rect, snap: &UiSnapshot, view: &ViewState, y: u16) -> Option<usize> {
    let p = &view.alerts;
    if p.screen != AlertScreen::List {
        return None;
    }
    let items = p.items(&snap.alerts);
    if items.is_empty() {
        return None;
    }
    let inner = TitledBox::inner(area);
    let body = Rect {
        y: inner.y + 2,
        height: inner.height.saturating_sub(2),
        ..inner
    };
    if y < body.y || y >= body.bottom() {
        return None;
    }
    let selected = p.selected.min(items.len() - 1);
    let (lines, first) = lines(&snap.alerts, &items, selected, usize::from(body.height));
    match lines.get(first + usize::from(y - body.y)) {
        Some(L::Item(k)) => Some(*k),
        _ => None,
    }
}

/// The list's lines: a heading per state, then its items.
enum L {
    Heading(AlertState, usize),
    /// Index into the items.
    Item(usize),
}

/// The state an item is listed under.
fn item_state(v: &AlertsView, item: AlertItem) -> AlertState {
    match item {
        AlertItem::Alert(i) => v.alerts.get(i).map_or(AlertState::Inactive, |a| a.state),
        AlertItem::Rule(..) => AlertState::Inactive,
    }
}

/// The lines for `items`, and the first one shown in `height` rows so that the selected
/// item is in view.
fn lines(v: &AlertsView, items: &[AlertItem], selected: usize, height: usize) -> (Vec<L>, usize) {
    let mut out = Vec::new();
    let mut sel_line = 0;
    let mut last: Option<AlertState> = None;
    for (k, item) in items.iter().enumerate() {
        let state = item_state(v, *item);
        if last != Some(state) {
            let count = items.iter().filter(|i| item_state(v, **i) == state).count();
            out.push(L::Heading(state, count));
            last = Some(state);
        }
        if k == selected {
            sel_line = out.len();
        }
        out.push(L::Item(k));
    }
    let first = (sel_line + 1).saturating_sub(height);
    (out, first)
}

/// The widths of a row's columns (state, name, severity, for, value); labels take the
/// rest. Narrow panes drop the severity and value columns' padding first.
struct Columns {
    state: u16,
    name: u16,
    severity: u16,
    since: u16,
    value: u16,
}

impl Columns {
    /// Labels keep at least this many cells where the pane is wide enough.
    const LABELS_MIN: u16 = 20;

    fn for_width(width: u16, v: &AlertsView) -> Columns {
        let longest = v
            .alerts
            .iter()
            .map(|a| a.alertname.chars().count())
            .chain(
                v.groups
                    .iter()
                    .flat_map(|g| g.rules.iter().map(|r| r.name.chars().count())),
            )
            .max()
            .unwrap_or(8);
        let longest = u16::try_from(longest).unwrap_or(u16::MAX).clamp(8, 28);
        if width < 60 {
            // Glyph, name, "for …" and the labels.
            return Columns {
                state: 1,
                name: longest.min(width / 3),
                severity: 0,
                since: 9,
                value: 0,
            };
        }
        let (state, severity, since, value) = (10, 9, 10, 8);
        // Six separators and the leading blank.
        let fixed = 1 + state + severity + since + value + 6;
        let room = width.saturating_sub(fixed + Self::LABELS_MIN);
        Columns {
            state,
            name: longest.min(room.max(8)),
            severity,
            since,
            value,
        }
    }
}

/// One alert (or inactive rule) row.
#[allow(clippy::too_many_arguments)]
fn draw_item(
    buf: &mut Buffer,
    row: Rect,
    v: &AlertsView,
    item: AlertItem,
    selected: bool,
    c: &Columns,
    now_ms: i64,
    theme: &Theme,
) {
    let y = row.y;
    if selected {
        buf.set_style(
            row,
            Style::new().bg(theme.selected_bg).fg(theme.selected_fg),
        );
    }
    let pick = |st: Style| {
        if selected {
            st.bg(theme.selected_bg)
        } else {
            st
        }
    };
    let text = Style::new().fg(theme.main_fg);
    let dim = Style::new().fg(theme.inactive_fg);
    let right = row.right();
    let mut x = row.x + 1;
    let mut cell = |x: &mut u16, w: u16, s: &str, st: Style| {
        if w == 0 || *x >= right {
            return;
        }
        put(buf, (*x, y), w.min(right - *x), s, pick(st));
        *x += w + 1;
    };
    match item {
        AlertItem::Alert(i) => {
            let Some(a) = v.alerts.get(i) else { return };
            let muted = a.silenced_by.is_some();
            let st = |s: Style| {
                if muted {
                    dim.add_modifier(Modifier::DIM)
                } else {
                    s
                }
            };
            let state = if c.state < 5 {
                state_text(a.state).chars().take(1).collect::<String>()
            } else {
                state_text(a.state).to_string()
            };
            let glyph = if muted { "⊘".to_string() } else { state };
            let shown_state = if muted && c.state >= 5 {
                format!("⊘ {}", a.state.as_str())
            } else {
                glyph
            };
            cell(
                &mut x,
                c.state,
                &shown_state,
                st(Style::new().fg(state_color(a.state, theme))),
            );
            cell(
                &mut x,
                c.name,
                &a.alertname,
                st(text.add_modifier(Modifier::BOLD)),
            );
            cell(
                &mut x,
                c.severity,
                &a.severity,
                st(Style::new().fg(severity_color(a.rank, theme))),
            );
            cell(
                &mut x,
                c.since,
                &format!("for {}", age(now_ms, a.active_at)),
                st(text),
            );
            if c.value > 0 {
                let val = format!("{:>w$}", value_text(a.value), w = usize::from(c.value));
                cell(&mut x, c.value, &val, st(text));
            }
            let mut rest = compact_labels(a);
            if muted {
                rest = format!("silenced · {rest}");
            }
            if x < right {
                put(
                    buf,
                    (x, y),
                    right - x,
                    &rest,
                    pick(st(Style::new().fg(theme.graph_text))),
                );
            }
        }
        AlertItem::Rule(g, r) => {
            let Some(rule) = v.groups.get(g).and_then(|g| g.rules.get(r)) else {
                return;
            };
            let state = if c.state < 5 { "○" } else { "○ inactive" };
            cell(&mut x, c.state, state, dim);
            cell(&mut x, c.name, &rule.name, text);
            cell(&mut x, c.severity, "", dim);
            cell(&mut x, c.since, "", dim);
            if c.value > 0 {
                cell(&mut x, c.value, "", dim);
            }
            if x < right {
                put(
                    buf,
                    (x, y),
                    right - x,
                    &rule.expr,
                    pick(Style::new().fg(theme.graph_text)),
                );
            }
        }
    }
}

/// The silence picker over the pane: what will be silenced and the keys for how long.
pub fn picker(area: Rect, buf: &mut Buffer, view: &ViewState, theme: &Theme) {
    let p = &view.alerts;
    let selector = {
        let parts: Vec<String> = p
            .silencing
            .iter()
            .map(|(n, v)| format!("{n}={v:?}"))
            .collect();
        format!("{{{}}}", parts.join(", "))
    };
    let inner = TitledBox::new("silence", theme.hi_fg, theme.title, theme.hi_fg)
        .bottom_label(Line::styled(
            "Esc cancel",
            Style::new().fg(theme.graph_text),
        ))
        .render_centered(
            area,
            (60, 9),
            Style::new().bg(theme.main_bg).fg(theme.main_fg),
            buf,
        );
    if inner.is_empty() {
        return;
    }
    let dim = Style::new().fg(theme.graph_text);
    let text = Style::new().fg(theme.main_fg);
    let key = Style::new().fg(theme.hi_fg).add_modifier(Modifier::BOLD);
    let w = inner.width.saturating_sub(2);
    let x = inner.x + 1;
    let mut y = inner.y;
    let mut line = |spans: Vec<Span<'static>>, y: &mut u16| {
        if *y < inner.bottom() {
            buf.set_line(x, *y, &Line::from(spans), w);
        }
        *y += 1;
    };
    line(
        vec![Span::styled(
            if p.by_name {
                "alerts named"
            } else {
                "alerts with the labels"
            },
            dim,
        )],
        &mut y,
    );
    // The selector over two lines at most.
    let chars: Vec<char> = selector.chars().collect();
    let wide = usize::from(w).max(1);
    for (i, chunk) in chars.chunks(wide).take(2).enumerate() {
        let mut part: String = chunk.iter().collect();
        if i == 1 && chars.len() > 2 * wide {
            part = format::fit(&format!("{part}…"), wide);
        }
        line(vec![Span::styled(part, text)], &mut y);
    }
    y += 1;
    line(
        vec![
            Span::styled("1", key),
            Span::styled(" 1 hour   ", text),
            Span::styled("4", key),
            Span::styled(" 4 hours   ", text),
            Span::styled("d", key),
            Span::styled(" 1 day   ", text),
            Span::styled("c", key),
            Span::styled(" other…", text),
        ],
        &mut y,
    );
    line(
        vec![
            Span::styled("n", key),
            Span::styled(
                if p.by_name {
                    " match every label instead"
                } else {
                    " match the alertname only"
                },
                text,
            ),
        ],
        &mut y,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(age(10_000, 10_000), "0s");
        assert_eq!(age(10_000, 20_000), "0s");
        assert_eq!(age(45_000, 0), "45s");
        assert_eq!(age(12 * 60_000 + 5_000, 0), "12m");
        assert_eq!(age(3 * 3_600_000, 0), "3h");
        assert_eq!(age(3 * 3_600_000 + 12 * 60_000, 0), "3h12m");
        assert_eq!(age(2 * 86_400_000 + 3 * 3_600_000, 0), "2d3h");
        assert_eq!(age(86_400_000, 0), "1d");
        assert_eq!(value_text(93.5), "93.5");
        assert_eq!(value_text(f64::NAN), "NaN");
    }
}
