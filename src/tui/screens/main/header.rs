//! The header line at the top of the main screen: where the data comes from (in cluster
//! mode the context, the namespace shown and any connection problem), the wall
//! clock, the refresh interval, the time range (live or paused), target health counts,
//! kmon's own CPU and memory, and the alerts: a dash without rules, else the firing and
//! pending counts in the colour of their most severe alert, right after the source so a
//! narrow line keeps them. For a few seconds after an alert starts firing the whole line
//! flashes in its colour and names it. Parts are dropped from the right when the line is
//! too narrow. Drawn by `MainScreen`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::app::{Health, UiSnapshot};
use crate::tui::format;
use crate::tui::screens::alerts::severity_color;
use crate::tui::theme::Theme;
use crate::tui::view::ViewState;

pub(super) fn render(
    row: Rect,
    buf: &mut Buffer,
    snap: &UiSnapshot,
    view: &ViewState,
    theme: &Theme,
) {
    if row.is_empty() {
        return;
    }
    let bold = Style::new().fg(theme.title).add_modifier(Modifier::BOLD);
    let text = Style::new().fg(theme.main_fg);
    let dim = Style::new().fg(theme.graph_text);
    let sep = || Span::styled(" │ ", dim);

    let mut groups: Vec<Vec<Span<'static>>> = Vec::new();
    let source = if snap.host.source.is_empty() {
        "starting".to_string()
    } else {
        snap.host.source.clone()
    };
    match snap.cluster.as_deref() {
        // Cluster mode: the context and the namespace the tables show, and a connection
        // problem in the warning colour.
        Some(cluster) => {
            let ns = view.cluster.namespace.as_deref().unwrap_or("all");
            let mut g = vec![
                Span::styled(" kmon ", bold),
                Span::styled("⎈ ", dim),
                Span::styled(cluster.meta.context.clone(), bold),
                Span::styled(" ns ", dim),
                Span::styled(ns.to_string(), text),
            ];
            if let Some(s) = &cluster.meta.status {
                g.push(Span::styled(
                    format!(" {s}"),
                    Style::new()
                        .fg(theme.temp.end())
                        .add_modifier(Modifier::BOLD),
                ));
            }
            groups.push(g);
        }
        None => groups.push(vec![
            Span::styled(" kmon ", bold),
            Span::styled(source, text),
        ]),
    }
    // A remote query source: its name (and while its answers are late, that it is
    // being waited for); the boxes of this machine or cluster keep their local data.
    if snap.sources.remote_active() {
        let mut g = vec![
            Span::styled("⇄ ", dim),
            Span::styled(snap.sources.active.clone(), bold),
        ];
        if let Some(w) = &snap.sources.waiting {
            g.push(Span::styled(format!(" {w}"), Style::new().fg(theme.hi_fg)));
        }
        groups.insert(1, g);
    }
    groups.push(vec![Span::styled(
        clock(snap.at_ms, snap.tz_offset_secs),
        bold,
    )]);
    if snap.step_ms > 0 {
        groups.push(vec![
            Span::styled("every ", dim),
            Span::styled(duration(snap.step_ms), text),
        ]);
    }
    let range = view.time_range();
    let mut r = vec![
        Span::styled("last ", dim),
        Span::styled(duration(range.span_ms), text),
    ];
    if range.paused {
        r.push(Span::styled(
            format!(" paused at {}", clock(range.end_ms, snap.tz_offset_secs)),
            Style::new().fg(theme.hi_fg),
        ));
    }
    groups.push(r);
    let count = |h| snap.targets.iter().filter(|t| t.health == h).count();
    groups.push(vec![
        Span::styled("targets ", dim),
        Span::styled(
            format!("▲{}", count(Health::Up)),
            Style::new().fg(theme.cpu.start()),
        ),
        Span::styled(
            format!(" ▼{}", count(Health::Down)),
            Style::new().fg(theme.temp.end()),
        ),
        Span::styled(format!(" ?{}", count(Health::Unknown)), dim),
    ]);
    let mut me = vec![Span::styled("kmon ", dim)];
    me.push(Span::styled(
        snap.me
            .cpu_pct
            .map_or("–".to_string(), format::percent_short),
        text,
    ));
    me.push(Span::styled(" ", dim));
    me.push(Span::styled(format::opt_bytes(snap.me.rss_bytes), text));
    groups.push(me);
    // Alerts: a dash without rules, a quiet count when nothing is active, and the firing
    // and pending counts in their severity's colour right after the source when any are.
    let alerts = &*snap.alerts;
    let c = alerts.counts;
    let flash_color = c
        .firing_severity
        .map_or(theme.temp.end(), |s| severity_color(s, theme));
    let flashing = view.alerts.flashing(snap.at_ms);
    if flashing {
        groups.insert(
            1,
            vec![Span::styled(
                format!("⚠ now firing: {}", view.alerts.flash_names.join(", ")),
                Style::new().add_modifier(Modifier::BOLD),
            )],
        );
    }
    if !alerts.has_rules() {
        groups.push(vec![Span::styled("alerts ", dim), Span::styled("–", text)]);
    } else if c.firing + c.pending == 0 {
        groups.push(vec![
            Span::styled("alerts ", dim),
            Span::styled("✓ none", Style::new().fg(theme.cpu.start())),
        ]);
    } else {
        let colour = |sev: Option<crate::app::alerts::Severity>| {
            sev.map_or(Style::new().fg(theme.inactive_fg), |s| {
                Style::new()
                    .fg(severity_color(s, theme))
                    .add_modifier(Modifier::BOLD)
            })
        };
        let mut g = vec![Span::styled("alerts ", dim)];
        g.push(Span::styled(
            format!("●{} firing", c.firing),
            if c.firing > 0 {
                colour(c.firing_severity)
            } else {
                dim
            },
        ));
        g.push(Span::styled(
            format!(" ◐{} pending", c.pending),
            if c.pending > 0 {
                colour(c.pending_severity)
            } else {
                dim
            },
        ));
        let at = if flashing { 2 } else { 1 };
        groups.insert(at.min(groups.len()), g);
    }

    // Keep whole groups, left to right, while they fit.
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut width = 0usize;
    for (i, g) in groups.into_iter().enumerate() {
        let w: usize = g.iter().map(Span::width).sum::<usize>() + if i > 0 { 3 } else { 0 };
        if width + w > usize::from(row.width) {
            break;
        }
        if i > 0 {
            spans.push(sep());
        }
        spans.extend(g);
        width += w;
    }
    buf.set_line(row.x, row.y, &Line::from(spans), row.width);
    if flashing {
        // The whole line in the alert's colour, for the flash's few seconds.
        buf.set_style(
            row,
            Style::new()
                .bg(flash_color)
                .fg(theme.main_bg)
                .add_modifier(Modifier::BOLD),
        );
    }
}

/// `HH:MM:SS` of `ms` since the epoch in a zone `offset` seconds east of UTC.
pub(crate) fn clock(ms: i64, offset: i32) -> String {
    let secs = ms.div_euclid(1000) + i64::from(offset);
    let day = secs.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

/// A short duration: `500ms`, `2s`, `15m`, `1h30m`, `24h`.
pub(crate) fn duration(ms: i64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, 0) => format!("{h}h{m}m"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_and_durations() {
        assert_eq!(clock(1_700_000_000_000, 0), "22:13:20");
        assert_eq!(clock(1_700_000_000_000, 3600), "23:13:20");
        assert_eq!(clock(1_700_000_000_000, 2 * 3600), "00:13:20");
        assert_eq!(clock(-1, 0), "23:59:59");
        assert_eq!(duration(500), "500ms");
        assert_eq!(duration(2000), "2s");
        assert_eq!(duration(15 * 60_000), "15m");
        assert_eq!(duration(90_000), "1m30s");
        assert_eq!(duration(5_400_000), "1h30m");
        assert_eq!(duration(86_400_000), "24h");
        assert_eq!(duration(3_661_000), "1h1m1s");
    }
}
