//! An alert's detail (`Enter` on the alerts pane): its state, severity, value, since when
//! it is pending and firing, its silence; the rendered annotations (summary and
//! description first), every label, the rule's expression; and below, a graph of the
//! rule's expression (the side of its comparison, see `app::alerts::threshold`) over the
//! current time range with the threshold drawn as a line. The graph's data is the alert
//! panel the detail asked the app for (`Action::ShowAlertGraph`). An inactive rule's
//! detail shows the rule and its graph. Drawn by `screens::alerts`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::app::alerts::{AlertRow, AlertState, RuleRow};
use crate::app::panels::ALERT_PANEL_ID;
use crate::app::{PanelData, UiSnapshot};
use crate::model::Labels;
use crate::tui::screens::alerts::{age, severity_color, state_color, state_text, value_text};
use crate::tui::screens::main::header::clock;
use crate::tui::screens::{put, put_center};
use crate::tui::theme::Theme;
use crate::tui::view::ViewState;
use crate::tui::widgets::{LineGraph, TitledBox, series_palette};

/// A line of the text part: a name column and its value.
type Row = (String, String, Style);

pub fn render(area: Rect, buf: &mut Buffer, snap: &UiSnapshot, view: &ViewState, theme: &Theme) {
    let v = &*snap.alerts;
    let Some(d) = &view.alerts.detail else {
        return;
    };
    let rule = v.groups.get(d.group).and_then(|g| g.rules.get(d.rule));
    let alert = d
        .key
        .as_deref()
        .and_then(|k| v.alerts.iter().find(|a| a.key == k));
    let title = match (alert, rule) {
        (Some(a), _) => format!("alert {}", a.alertname),
        (None, Some(r)) => format!("rule {}", r.name),
        (None, None) => "alert".to_string(),
    };
    let mut frame = TitledBox::new(&title, theme.hi_fg, theme.title, theme.hi_fg);
    let state_label;
    if let Some(a) = alert {
        state_label = Line::styled(
            state_text(a.state).to_string(),
            Style::new()
                .fg(state_color(a.state, theme))
                .add_modifier(Modifier::BOLD),
        );
        frame = frame.right_label(state_label);
    } else if d.key.is_some() {
        frame = frame.right_label(Line::styled(
            "no longer active",
            Style::new().fg(theme.inactive_fg),
        ));
    }
    frame.render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.is_empty() {
        return;
    }
    let Some(rule) = rule else {
        put(
            buf,
            (inner.x, inner.y),
            inner.width,
            "the rule is gone (rules reloaded)",
            Style::new().fg(theme.graph_text),
        );
        return;
    };
    // The graph takes the lower part when there is room for text above it.
    let graph_h = if inner.height >= 14 {
        (inner.height * 2 / 5).max(7)
    } else if inner.height >= 9 {
        inner.height / 2
    } else {
        0
    };
    let text_area = Rect {
        height: inner.height - graph_h,
        ..inner
    };
    let graph_area = Rect {
        y: inner.y + text_area.height,
        height: graph_h,
        ..inner
    };
    let rows = text_rows(alert, rule, snap, theme);
    draw_rows(text_area, buf, &rows, view.alerts.scroll, theme);
    if !graph_area.is_empty() {
        let panel = snap
            .panels
            .iter()
            .find(|p| p.id == ALERT_PANEL_ID && p.queries.first() == Some(&rule.graph_expr));
        graph(graph_area, buf, panel, rule, alert, snap, view, theme);
    }
}

/// The text part: facts, annotations, labels, the rule.
fn text_rows(
    alert: Option<&AlertRow>,
    rule: &RuleRow,
    snap: &UiSnapshot,
    theme: &Theme,
) -> Vec<Row> {
    let text = Style::new().fg(theme.main_fg);
    let tz = snap.tz_offset_secs;
    let mut rows: Vec<Row> = Vec::new();
    if let Some(a) = alert {
        rows.push((
            "state".into(),
            state_text(a.state).into(),
            Style::new()
                .fg(state_color(a.state, theme))
                .add_modifier(Modifier::BOLD),
        ));
        if !a.severity.is_empty() {
            rows.push((
                "severity".into(),
                a.severity.clone(),
                Style::new().fg(severity_color(a.rank, theme)),
            ));
        }
        rows.push(("value".into(), value_text(a.value), text));
        rows.push((
            "active since".into(),
            format!(
                "{} (for {})",
                clock(a.active_at, tz),
                age(snap.at_ms, a.active_at)
            ),
            text,
        ));
        if let Some(f) = a.fired_at.filter(|_| a.state == AlertState::Firing) {
            rows.push((
                "firing since".into(),
                format!("{} (for {})", clock(f, tz), age(snap.at_ms, f)),
                text,
            ));
        }
        if let (Some(id), Some(until)) = (a.silenced_by, a.silenced_until) {
            rows.push((
                "silenced".into(),
                format!(
                    "until {} ({} left, silence {id}; u ends it)",
                    clock(until, tz),
                    age(until, snap.at_ms)
                ),
                Style::new().fg(theme.inactive_fg),
            ));
        }
        rows.push((String::new(), String::new(), text));
        for (name, value) in ordered_annotations(&a.annotations) {
            rows.push((name, value, text));
        }
        if !a.annotations.is_empty() {
            rows.push((String::new(), String::new(), text));
        }
        rows.push(("labels".into(), String::new(), text));
        for l in a.labels.iter() {
            rows.push((
                format!("  {}", l.name),
                l.value.to_string(),
                Style::new().fg(theme.graph_text),
            ));
        }
        rows.push((String::new(), String::new(), text));
    } else {
        rows.push((
            "state".into(),
            "inactive: no pending or firing alert".into(),
            Style::new().fg(theme.inactive_fg),
        ));
    }
    rows.push(("expr".into(), rule.expr.clone(), text));
    if rule.for_ms > 0 {
        rows.push((
            "for".into(),
            crate::tui::screens::main::header::duration(rule.for_ms),
            text,
        ));
    }
    if let Some(e) = &rule.last_error {
        rows.push(("error".into(), e.clone(), Style::new().fg(theme.temp.end())));
    }
    rows
}

/// Summary and description first, then the others by name.
fn ordered_annotations(a: &Labels) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for first in ["summary", "description"] {
        if let Some(v) = a.get(first) {
            out.push((first.to_string(), v.to_string()));
        }
    }
    for l in a.iter() {
        if !matches!(l.name, "summary" | "description") {
            out.push((l.name.to_string(), l.value.to_string()));
        }
    }
    out
}

/// `text` cut into lines of at most `width` characters (at line breaks too).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let chars: Vec<char> = para.chars().collect();
        if chars.is_empty() {
            out.push(String::new());
            continue;
        }
        for chunk in chars.chunks(width) {
            out.push(chunk.iter().collect());
        }
    }
    out
}

/// The rows with their values wrapped, from line `scroll` on.
fn draw_rows(area: Rect, buf: &mut Buffer, rows: &[Row], scroll: usize, theme: &Theme) {
    if area.is_empty() {
        return;
    }
    let name_w = 14.min(area.width / 3);
    let value_w = usize::from(area.width.saturating_sub(name_w + 1));
    let name_style = Style::new().fg(theme.graph_text);
    let mut lines: Vec<(String, String, Style)> = Vec::new();
    for (name, value, style) in rows {
        for (i, part) in wrap(value, value_w).into_iter().enumerate() {
            let n = if i == 0 { name.clone() } else { String::new() };
            lines.push((n, part, *style));
        }
    }
    let height = usize::from(area.height);
    let first = scroll.min(lines.len().saturating_sub(height));
    for (n, (name, value, style)) in lines.iter().skip(first).take(height).enumerate() {
        let y = area.y + n as u16;
        put(buf, (area.x, y), name_w, name, name_style);
        put(
            buf,
            (area.x + name_w + 1, y),
            area.width.saturating_sub(name_w + 1),
            value,
            *style,
        );
    }
    if lines.len() > first + height {
        put(
            buf,
            (area.right().saturating_sub(1), area.bottom() - 1),
            1,
            "↓",
            name_style,
        );
    }
}

/// Whether every label of a series has the alert's value (the series the alert came from).
fn is_alerts_series(series: &Labels, alert: &Labels) -> bool {
    !series.is_empty()
        && series
            .iter()
            .filter(|l| l.name != "__name__")
            .all(|l| alert.get(l.name) == Some(l.value))
}

/// The graph of the rule's expression, with the threshold as a line.
#[allow(clippy::too_many_arguments)]
fn graph(
    area: Rect,
    buf: &mut Buffer,
    panel: Option<&PanelData>,
    rule: &RuleRow,
    alert: Option<&AlertRow>,
    snap: &UiSnapshot,
    view: &ViewState,
    theme: &Theme,
) {
    let dim = Style::new().fg(theme.graph_text);
    let head = Rect { height: 1, ..area };
    let threshold_color: Color = theme.temp.end();
    let mut spans = vec![Span::styled(format!("{} ", rule.graph_expr), dim)];
    if let Some(t) = rule.threshold {
        spans.push(Span::styled(
            format!("── threshold {}", value_text(t)),
            Style::new().fg(threshold_color),
        ));
    }
    buf.set_line(head.x, head.y, &Line::from(spans), head.width);
    let body = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(1),
        ..area
    };
    if body.is_empty() {
        return;
    }
    let Some(p) = panel else {
        put_center(
            buf,
            Rect {
                height: 1,
                y: body.y + body.height / 2,
                ..body
            },
            "graph loading…",
            dim,
        );
        return;
    };
    if let Some(e) = &p.error {
        put(
            buf,
            (body.x, body.y),
            body.width,
            e,
            Style::new().fg(theme.temp.end()),
        );
        return;
    }
    // The alert's own series when the expression has it, else every series.
    let mine: Vec<&crate::app::PanelSeries> = match alert {
        Some(a) => p
            .series
            .iter()
            .filter(|s| is_alerts_series(&s.labels, &a.labels))
            .collect(),
        None => Vec::new(),
    };
    let shown: Vec<&crate::app::PanelSeries> = if mine.is_empty() {
        p.series.iter().collect()
    } else {
        mine
    };
    let step = p.step_ms.max(1);
    let line: Vec<(i64, f64)> = match rule.threshold {
        Some(t) => {
            let n = ((p.end_ms - p.start_ms) / step).clamp(0, 10_000);
            (0..=n).map(|k| (p.start_ms + k * step, t)).collect()
        }
        None => Vec::new(),
    };
    let base = series_palette(theme);
    let mut palette: Vec<Color> = (0..shown.len())
        .map(|i| base[i % base.len().max(1)])
        .collect();
    let mut series: Vec<&[(i64, f64)]> = shown.iter().map(|s| s.points.as_slice()).collect();
    if !line.is_empty() {
        series.push(&line);
        palette.push(threshold_color);
    }
    if shown.is_empty() {
        put(
            buf,
            (body.x, body.y),
            body.width,
            "no data for the expression in this range",
            dim,
        );
    }
    LineGraph::new(series, p.start_ms, p.end_ms, p.step_ms)
        .palette(&palette)
        .symbols(view.symbols)
        .unit(p.unit)
        .utc_offset(snap.tz_offset_secs)
        .theme(theme)
        .render(body, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_and_annotation_order() {
        assert_eq!(wrap("abcdef", 4), ["abcd", "ef"]);
        assert_eq!(wrap("a\n\nb", 4), ["a", "", "b"]);
        assert_eq!(wrap("", 0), [""]);
        let a = Labels::from_pairs(&[("description", "d"), ("runbook_url", "r"), ("summary", "s")]);
        let names: Vec<String> = ordered_annotations(&a)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["summary", "description", "runbook_url"]);
        let alert = Labels::from_pairs(&[("alertname", "X"), ("instance", "a")]);
        assert!(is_alerts_series(
            &Labels::from_pairs(&[("instance", "a")]),
            &alert
        ));
        assert!(!is_alerts_series(
            &Labels::from_pairs(&[("instance", "b")]),
            &alert
        ));
    }
}
