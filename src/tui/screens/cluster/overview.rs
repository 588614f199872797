//! The cluster overview boxes the main screen shows in cluster mode in place of the host
//! boxes: CPU and memory (used against allocatable, a meter and a braille history),
//! network (receive up, transmit down), pods by phase, and nodes ready / not ready with the
//! not-ready ones named. Drawn from `ClusterView::overview` and its node rows.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Widget;

use super::health_style;
use crate::app::History;
use crate::app::cluster::{ClusterView, PodHealth};
use crate::tui::format;
use crate::tui::screens::{put, put_center, put_right};
use crate::tui::theme::{Gradient, Theme};
use crate::tui::widgets::{BrailleGraph, Meter, TitledBox};

/// Draws the five boxes into `area`: CPU, memory and network across the top, pods and
/// nodes below.
pub fn render(area: Rect, buf: &mut Buffer, cluster: &ClusterView, theme: &Theme) {
    if area.is_empty() {
        return;
    }
    let top_h = if area.height >= 12 {
        area.height * 3 / 5
    } else {
        area.height
    };
    let top = Rect {
        height: top_h,
        ..area
    };
    let bottom = Rect {
        y: area.y + top_h,
        height: area.height - top_h,
        ..area
    };
    let w = top.width / 3;
    let o = &cluster.overview;
    usage(
        Rect { width: w, ..top },
        buf,
        ("cpu", theme.cpu_box, &theme.cpu),
        (o.cpu_used_cores, o.cpu_allocatable_cores),
        &o.cpu_history,
        |v| format!("{v:.2}"),
        "cores",
        theme,
    );
    usage(
        Rect {
            x: top.x + w,
            width: w,
            ..top
        },
        buf,
        ("mem", theme.mem_box, &theme.used),
        (o.memory_used_bytes, o.memory_allocatable_bytes),
        &o.memory_history,
        format::bytes,
        "",
        theme,
    );
    network(
        Rect {
            x: top.x + 2 * w,
            width: top.width - 2 * w,
            ..top
        },
        buf,
        cluster,
        theme,
    );
    if bottom.is_empty() {
        return;
    }
    let half = bottom.width / 2;
    pods(
        Rect {
            width: half,
            ..bottom
        },
        buf,
        cluster,
        theme,
    );
    nodes(
        Rect {
            x: bottom.x + half,
            width: bottom.width - half,
            ..bottom
        },
        buf,
        cluster,
        theme,
    );
}

/// A used-against-allocatable box: a meter line, then the history.
#[allow(clippy::too_many_arguments)]
fn usage(
    area: Rect,
    buf: &mut Buffer,
    (title, border, gradient): (&str, ratatui::style::Color, &Gradient),
    (used, of): (Option<f64>, Option<f64>),
    history: &History,
    fmt: fn(f64) -> String,
    unit: &str,
    theme: &Theme,
) {
    let mut frame = TitledBox::new(title, border, theme.title, theme.hi_fg);
    if let Some(of) = of {
        let style = Style::new().fg(theme.main_fg).add_modifier(Modifier::BOLD);
        frame = frame.right_label(Line::styled(
            format!("{} {unit} allocatable", fmt(of))
                .trim()
                .replace("  ", " "),
            style,
        ));
    }
    frame.render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.is_empty() {
        return;
    }
    let text = Style::new().fg(theme.main_fg);
    let pct = match (used, of) {
        (Some(u), Some(o)) if o > 0.0 => u / o * 100.0,
        _ => f64::NAN,
    };
    let value = used.map_or("–".to_string(), fmt);
    let label = format!("used {value}");
    let pct_text = format::percent(pct);
    let used_w = put(buf, (inner.x, inner.y), inner.width, &label, text);
    let pct_w = pct_text.chars().count() as u16 + 1;
    if inner.width > used_w + pct_w + 3 {
        put_right(
            buf,
            Rect::new(inner.x, inner.y, inner.width, 1),
            &pct_text,
            text,
        );
        let bar = Rect::new(
            inner.x + used_w + 1,
            inner.y,
            inner.width - used_w - pct_w - 1,
            1,
        );
        Meter::new(pct, gradient, theme.meter_bg).render(bar, buf);
    }
    let graph = Rect {
        y: inner.y + 1,
        height: inner.height.saturating_sub(1),
        ..inner
    };
    if graph.is_empty() {
        return;
    }
    if history.iter().all(Option::is_none) {
        let row = Rect::new(graph.x, graph.y + graph.height / 2, graph.width, 1);
        put_center(
            buf,
            row,
            "no usage data yet",
            Style::new().fg(theme.inactive_fg),
        );
        return;
    }
    let max = of
        .filter(|o| *o > 0.0)
        .unwrap_or_else(|| history.iter().flatten().fold(1e-9, |a, v| a.max(*v)));
    let shown = &history[history.len().saturating_sub(usize::from(graph.width) * 2)..];
    BrailleGraph::new(shown, max, gradient).render(graph, buf);
}

/// Receive over transmit, each on its own scale.
fn network(area: Rect, buf: &mut Buffer, cluster: &ClusterView, theme: &Theme) {
    let o = &cluster.overview;
    TitledBox::new("net", theme.net_box, theme.title, theme.hi_fg).render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.is_empty() {
        return;
    }
    let bold = Style::new().fg(theme.main_fg).add_modifier(Modifier::BOLD);
    let rx_h = inner.height.div_ceil(2);
    let halves = [
        (
            Rect {
                height: rx_h,
                ..inner
            },
            &o.rx_history,
            o.rx_bytes_per_sec,
            &theme.download,
            "▼ in",
            false,
        ),
        (
            Rect {
                y: inner.y + rx_h,
                height: inner.height - rx_h,
                ..inner
            },
            &o.tx_history,
            o.tx_bytes_per_sec,
            &theme.upload,
            "▲ out",
            true,
        ),
    ];
    for (r, history, now, gradient, label, inverted) in halves {
        if r.is_empty() {
            continue;
        }
        let shown = &history[history.len().saturating_sub(usize::from(r.width) * 2)..];
        let max = shown.iter().flatten().fold(1024.0, |a: f64, v| a.max(*v));
        BrailleGraph::new(shown, max, gradient)
            .inverted(inverted)
            .render(r, buf);
        let y = if inverted { r.bottom() - 1 } else { r.y };
        put(
            buf,
            (r.x, y),
            r.width,
            &format!(" {label} {} ", format::opt_rate(now)),
            bold,
        );
    }
}

/// Pods per phase with counts in the phase's colour.
fn pods(area: Rect, buf: &mut Buffer, cluster: &ClusterView, theme: &Theme) {
    let total: usize = cluster.overview.pods_by_phase.iter().map(|(_, n)| n).sum();
    TitledBox::new("pods", theme.proc_box, theme.title, theme.hi_fg)
        .right_label(Line::styled(
            format!("{total} total"),
            Style::new().fg(theme.main_fg).add_modifier(Modifier::BOLD),
        ))
        .render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.is_empty() {
        return;
    }
    if cluster.pods.is_empty() {
        let text = match &cluster.meta.status {
            Some(s) => s.clone(),
            None => "no pods yet, syncing…".into(),
        };
        put(
            buf,
            (inner.x, inner.y),
            inner.width,
            &text,
            Style::new().fg(theme.inactive_fg),
        );
        return;
    }
    let failing = cluster
        .pods
        .iter()
        .filter(|p| p.health == PodHealth::Failed && p.phase != "Failed")
        .count();
    let mut rows: Vec<(String, usize, PodHealth)> = cluster
        .overview
        .pods_by_phase
        .iter()
        .map(|(phase, n)| {
            let h = match phase.as_str() {
                "Running" => PodHealth::Running,
                "Pending" => PodHealth::Pending,
                "Succeeded" => PodHealth::Done,
                "Failed" => PodHealth::Failed,
                _ => PodHealth::Unknown,
            };
            (phase.clone(), *n, h)
        })
        .collect();
    rows.push(("crash-looping / failing".into(), failing, PodHealth::Failed));
    let label_w = 24u16.min(inner.width / 2);
    for (k, (phase, n, h)) in rows.iter().enumerate().take(usize::from(inner.height)) {
        let y = inner.y + k as u16;
        let style = if *n == 0 {
            Style::new().fg(theme.inactive_fg)
        } else {
            health_style(*h, theme)
        };
        put(buf, (inner.x, y), label_w, phase, style);
        let count = format!("{n:>5}");
        put_right(buf, Rect::new(inner.x, y, inner.width, 1), &count, style);
        let bar_x = inner.x + label_w + 1;
        let bar_w = inner.width.saturating_sub(label_w + 1 + 6);
        if bar_w >= 2 && total > 0 {
            let pct = *n as f64 / total as f64 * 100.0;
            let cells = crate::tui::widgets::meter::filled_cells(pct, bar_w);
            put(
                buf,
                (bar_x, y),
                cells,
                &"■".repeat(usize::from(cells)),
                style,
            );
        }
    }
}

/// Nodes ready and not ready, then the not-ready (or pressured) ones by name.
fn nodes(area: Rect, buf: &mut Buffer, cluster: &ClusterView, theme: &Theme) {
    let o = &cluster.overview;
    TitledBox::new("nodes", theme.cpu_box, theme.title, theme.hi_fg).render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.is_empty() {
        return;
    }
    let dim = Style::new().fg(theme.inactive_fg);
    if cluster.nodes.is_empty() {
        let text = match &cluster.meta.status {
            Some(s) => s.clone(),
            None => "no nodes yet, syncing…".into(),
        };
        put(buf, (inner.x, inner.y), inner.width, &text, dim);
        return;
    }
    let good = health_style(PodHealth::Running, theme).add_modifier(Modifier::BOLD);
    let bad = Style::new()
        .fg(theme.temp.end())
        .add_modifier(Modifier::BOLD);
    let line = Line::from(vec![
        ratatui::text::Span::styled(format!("▲ {} ready", o.nodes_ready), good),
        ratatui::text::Span::styled("   ", dim),
        ratatui::text::Span::styled(
            format!("▼ {} not ready", o.nodes_not_ready),
            if o.nodes_not_ready > 0 { bad } else { dim },
        ),
    ]);
    buf.set_line(inner.x, inner.y, &line, inner.width);
    let troubled = cluster
        .nodes
        .iter()
        .filter(|n| n.ready != Some(true) || !n.bad_conditions.is_empty());
    for (k, n) in troubled
        .take(usize::from(inner.height.saturating_sub(1)))
        .enumerate()
    {
        let mut what = match n.ready {
            Some(true) => "Ready".to_string(),
            Some(false) => "NotReady".to_string(),
            None => "Unknown".to_string(),
        };
        for c in &n.bad_conditions {
            what.push(',');
            what.push_str(c);
        }
        let y = inner.y + 1 + k as u16;
        let used = put(
            buf,
            (inner.x, y),
            inner.width,
            &format!("  {} ", n.name),
            Style::new().fg(theme.main_fg),
        );
        put(buf, (inner.x + used, y), inner.width - used, &what, bad);
    }
}
