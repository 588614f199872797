//! The rules view (`r` on the alerts pane, or `:rules`): Prometheus's /rules page in a
//! terminal. Each group shows its file and name, its interval, when it was last evaluated
//! ("3s ago") and how long that took, and a load error if its file failed to reload; each
//! rule under it its health (ok, err, unknown, coloured), kind, name, last evaluation,
//! duration, for alerting rules its firing and pending counts, its expression, and the
//! error of its last evaluation. ↑↓ scroll. Drawn by `screens::alerts`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::app::UiSnapshot;
use crate::app::alerts::{AlertsView, RuleHealth};
use crate::tui::screens::main::header::duration;
use crate::tui::screens::put;
use crate::tui::screens::targets::ago;
use crate::tui::theme::Theme;
use crate::tui::view::ViewState;
use crate::tui::widgets::TitledBox;

/// An evaluation duration in seconds: `4ms`, `1.2s`, `–` before the first.
fn took(secs: f64) -> String {
    if secs <= 0.0 {
        "–".into()
    } else if secs < 1.0 {
        format!("{:.0}ms", (secs * 1000.0).max(1.0))
    } else {
        format!("{secs:.1}s")
    }
}

/// The last evaluation as "3s ago", or "never".
fn last(now_ms: i64, at: i64) -> String {
    ago(now_ms, (at > 0).then_some(at))
}

/// An error's text in lines that fit `width` after an `indent`, at most three (the last
/// ending in `…` when more was cut).
fn wrapped(text: &str, width: u16, indent: u16) -> Vec<String> {
    let w = usize::from(width.saturating_sub(indent)).max(10);
    let chars: Vec<char> = text.replace('\n', " ").chars().collect();
    let mut out: Vec<String> = chars.chunks(w).map(|c| c.iter().collect()).collect();
    if out.len() > 3 {
        out.truncate(3);
        if let Some(last) = out.last_mut() {
            *last = crate::tui::format::fit(&format!("{last}…"), w);
        }
    }
    out
}

/// The view's lines, each already styled.
fn lines(v: &AlertsView, now_ms: i64, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let dim = Style::new().fg(theme.graph_text);
    let text = Style::new().fg(theme.main_fg);
    let bad = Style::new().fg(theme.temp.end());
    let head = Style::new().fg(theme.title).add_modifier(Modifier::BOLD);
    let name_w = v
        .groups
        .iter()
        .flat_map(|g| g.rules.iter().map(|r| r.name.chars().count()))
        .max()
        .unwrap_or(8)
        .clamp(8, 32);
    let mut out = Vec::new();
    for g in &v.groups {
        out.push(Line::from(vec![
            Span::styled(format!("{} › {}", g.file, g.name), head),
            Span::styled(
                format!(
                    "   every {} · evaluated {} · took {}",
                    duration(g.interval_ms),
                    last(now_ms, g.last_evaluation),
                    took(g.evaluation_seconds)
                ),
                dim,
            ),
        ]));
        if let Some(e) = &g.load_error {
            for (i, part) in wrapped(e, width, 14).into_iter().enumerate() {
                let lead = if i == 0 {
                    "  load error: "
                } else {
                    "              "
                };
                out.push(Line::from(vec![
                    Span::styled(lead, bad.add_modifier(Modifier::BOLD)),
                    Span::styled(part, bad),
                ]));
            }
        }
        if g.rules.is_empty() {
            out.push(Line::styled("  (no rules)", dim));
        }
        for r in &g.rules {
            let (health, hs) = match r.health {
                RuleHealth::Ok => ("ok", Style::new().fg(theme.cpu.start())),
                RuleHealth::Err => ("err", bad.add_modifier(Modifier::BOLD)),
                RuleHealth::Unknown => ("unknown", Style::new().fg(theme.inactive_fg)),
            };
            let mut spans = vec![
                Span::styled(format!("  {health:<8}"), hs),
                Span::styled(if r.alerting { "alert  " } else { "record " }, dim),
                Span::styled(
                    format!("{:<name_w$} ", r.name),
                    text.add_modifier(Modifier::BOLD),
                ),
                Span::styled(
                    format!(
                        "{:>9} {:>6}  ",
                        last(now_ms, r.last_evaluation),
                        took(r.evaluation_seconds)
                    ),
                    dim,
                ),
            ];
            if r.alerting {
                let fs = if r.firing > 0 {
                    Style::new().fg(theme.temp.end())
                } else {
                    dim
                };
                let ps = if r.pending > 0 {
                    Style::new().fg(theme.temp.at(50.0))
                } else {
                    dim
                };
                spans.push(Span::styled(format!("●{:<3}", r.firing), fs));
                spans.push(Span::styled(format!("◐{:<3} ", r.pending), ps));
            } else {
                spans.push(Span::styled("         ", dim));
            }
            if width >= 90 {
                spans.push(Span::styled(r.expr.replace('\n', " "), dim));
            }
            out.push(Line::from(spans));
            if let Some(e) = &r.last_error {
                for (i, part) in wrapped(e, width, 11).into_iter().enumerate() {
                    let lead = if i == 0 { "    error: " } else { "           " };
                    out.push(Line::from(vec![
                        Span::styled(lead, bad),
                        Span::styled(part, bad),
                    ]));
                }
            }
        }
        out.push(Line::default());
    }
    out
}

pub fn render(area: Rect, buf: &mut Buffer, snap: &UiSnapshot, view: &ViewState, theme: &Theme) {
    let v = &*snap.alerts;
    let rules: usize = v.groups.iter().map(|g| g.rules.len()).sum();
    let errors = v
        .groups
        .iter()
        .flat_map(|g| g.rules.iter())
        .filter(|r| r.health == RuleHealth::Err)
        .count()
        + v.groups.iter().filter(|g| g.load_error.is_some()).count();
    let mut label = vec![Span::styled(
        format!("{} groups · {rules} rules", v.groups.len()),
        Style::new().fg(theme.graph_text),
    )];
    if errors > 0 {
        label.push(Span::styled(
            format!(" · {errors} failing"),
            Style::new()
                .fg(theme.temp.end())
                .add_modifier(Modifier::BOLD),
        ));
    }
    TitledBox::new("rules", theme.hi_fg, theme.title, theme.hi_fg)
        .right_label(Line::from(label))
        .render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.is_empty() {
        return;
    }
    if v.groups.is_empty() {
        put(
            buf,
            (inner.x, inner.y),
            inner.width,
            snap.sources
                .rules_note
                .as_deref()
                .unwrap_or("no rules loaded: give kmon rule files with --rules or rule_files"),
            Style::new().fg(theme.graph_text),
        );
        return;
    }
    let all = lines(v, snap.at_ms, inner.width, theme);
    let height = usize::from(inner.height);
    let first = view.alerts.scroll.min(all.len().saturating_sub(height));
    for (n, line) in all.iter().skip(first).take(height).enumerate() {
        buf.set_line(inner.x, inner.y + n as u16, line, inner.width);
    }
}
