//! A pod's detail in the cluster browser: braille graphs of its containers' CPU and memory
//! and of its network across the top, then its status, containers (state, restarts, last
//! termination), scrape targets, labels and annotations as scrollable text. Drawn from
//! `ClusterView::detail` once the app has built it for the pod the view asked for.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::health_style;
use crate::app::cluster::{ClusterView, NamedSeries, PodDetail};
use crate::app::{Health, UiSnapshot, Unit};
use crate::tui::screens::put_center;
use crate::tui::theme::Theme;
use crate::tui::view::ViewState;
use crate::tui::widgets::linegraph::series_palette;
use crate::tui::widgets::{LineGraph, TitledBox};

pub fn render(
    area: Rect,
    buf: &mut Buffer,
    snap: &UiSnapshot,
    cluster: &ClusterView,
    view: &ViewState,
    theme: &Theme,
) {
    let want = view.cluster.detail.as_ref();
    let title = want.map_or("pod".to_string(), |p| {
        format!("pod {}/{}", p.namespace, p.name)
    });
    let detail = cluster.detail.as_ref().filter(|d| Some(&d.pod) == want);
    let mut frame = TitledBox::new(&title, theme.hi_fg, theme.title, theme.hi_fg);
    if let Some(d) = detail {
        frame = frame.right_label(Line::styled(
            d.status.clone(),
            health_style(d.health, theme).add_modifier(Modifier::BOLD),
        ));
    }
    frame.render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.is_empty() {
        return;
    }
    let dim = Style::new().fg(theme.inactive_fg);
    let Some(d) = detail else {
        let row = Rect::new(inner.x, inner.y + inner.height / 2, inner.width, 1);
        put_center(buf, row, "loading the pod's detail…", dim);
        return;
    };
    if !d.found {
        let row = Rect::new(inner.x, inner.y + inner.height / 2, inner.width, 1);
        put_center(buf, row, "this pod is gone (or not synced yet)", dim);
        return;
    }
    // Graphs over the top 40 % (at least 6 rows), side by side.
    let graph_h = if inner.height >= 14 {
        (inner.height * 2 / 5).max(6)
    } else {
        0
    };
    if graph_h > 0 {
        let w = inner.width / 3;
        let boxes = [
            (
                Rect::new(inner.x, inner.y, w, graph_h),
                "cpu",
                &d.cpu,
                Unit::None,
            ),
            (
                Rect::new(inner.x + w, inner.y, w, graph_h),
                "memory",
                &d.memory,
                Unit::Bytes,
            ),
            (
                Rect::new(inner.x + 2 * w, inner.y, inner.width - 2 * w, graph_h),
                "network",
                &d.network,
                Unit::BytesPerSec,
            ),
        ];
        for (r, name, series, unit) in boxes {
            graph(buf, r, name, series, unit, d, snap, view, theme);
        }
    }
    let text_area = Rect {
        y: inner.y + graph_h,
        height: inner.height - graph_h,
        ..inner
    };
    let lines = text_lines(d, theme);
    let scroll = view
        .cluster
        .detail_scroll
        .min(lines.len().saturating_sub(usize::from(text_area.height)));
    for (k, line) in lines
        .iter()
        .skip(scroll)
        .take(usize::from(text_area.height))
        .enumerate()
    {
        buf.set_line(text_area.x, text_area.y + k as u16, line, text_area.width);
    }
}

/// One graph box with its series' names as a legend in the title row.
#[allow(clippy::too_many_arguments)]
fn graph(
    buf: &mut Buffer,
    area: Rect,
    name: &str,
    series: &[NamedSeries],
    unit: Unit,
    d: &PodDetail,
    snap: &UiSnapshot,
    view: &ViewState,
    theme: &Theme,
) {
    let palette = series_palette(theme);
    let mut legend: Vec<Span> = Vec::new();
    for (i, s) in series.iter().enumerate() {
        let color = palette[i % palette.len().max(1)];
        let latest = s.points.last().map(|p| p.1);
        let value = match (unit, latest) {
            (Unit::None, v) => super::millicores(v),
            (_, Some(v)) => crate::tui::format::value(v, unit),
            (_, None) => "–".into(),
        };
        legend.push(Span::styled(
            format!(" {} {value}", s.name),
            Style::new().fg(color),
        ));
    }
    TitledBox::new(name, theme.div_line, theme.title, theme.hi_fg)
        .bottom_label(Line::from(legend))
        .render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.is_empty() {
        return;
    }
    if series.is_empty() {
        let row = Rect::new(inner.x, inner.y + inner.height / 2, inner.width, 1);
        put_center(buf, row, "no data", Style::new().fg(theme.inactive_fg));
        return;
    }
    LineGraph::new(
        series.iter().map(|s| s.points.as_slice()).collect(),
        d.start_ms,
        d.end_ms,
        d.step_ms,
    )
    .palette(&palette)
    .symbols(view.symbols)
    .unit(unit)
    .utc_offset(snap.tz_offset_secs)
    .theme(theme)
    .render(inner, buf);
}

/// The detail's text: status, containers, targets, labels, annotations.
fn text_lines(d: &PodDetail, theme: &Theme) -> Vec<Line<'static>> {
    let head = Style::new().fg(theme.title).add_modifier(Modifier::BOLD);
    let dim = Style::new().fg(theme.graph_text);
    let text = Style::new().fg(theme.main_fg);
    let bad = Style::new().fg(theme.temp.end());
    let good = Style::new().fg(theme.cpu.start());
    let mut out: Vec<Line<'static>> = Vec::new();
    out.push(Line::from(vec![
        Span::styled("status ", dim),
        Span::styled(d.status.clone(), health_style(d.health, theme)),
        Span::styled("   node ", dim),
        Span::styled(
            if d.node.is_empty() {
                "<none>".into()
            } else {
                d.node.clone()
            },
            text,
        ),
    ]));
    if let Some(m) = &d.message {
        out.push(Line::from(vec![
            Span::styled("message ", dim),
            Span::styled(m.clone(), text),
        ]));
    }
    out.push(Line::styled("containers", head));
    if d.containers.is_empty() {
        out.push(Line::styled("  none known", dim));
    }
    for c in &d.containers {
        let spans = vec![
            Span::styled(format!("  {:<16} ", c.name), text),
            if c.ready {
                Span::styled("ready    ", good)
            } else {
                Span::styled("not ready", bad)
            },
            Span::styled(format!("  restarts {:<4}", c.restarts), dim),
            Span::styled(
                c.state.clone(),
                if c.state.starts_with("running") {
                    good
                } else {
                    bad
                },
            ),
        ];
        out.push(Line::from(spans));
        if let Some(t) = &c.last_termination {
            out.push(Line::from(vec![
                Span::styled("    last terminated ", dim),
                Span::styled(t.clone(), text),
            ]));
        }
    }
    out.push(Line::styled("targets", head));
    if d.targets.is_empty() {
        out.push(Line::styled("  no scrape target from this pod", dim));
    }
    for t in &d.targets {
        let (glyph, style) = match t.health {
            Health::Up => ("▲ up  ", good),
            Health::Down => ("▼ down", bad),
            Health::Unknown => ("? unknown", dim),
        };
        let mut spans = vec![
            Span::styled(format!("  {glyph} "), style),
            Span::styled(format!("{} ", t.job), text),
            Span::styled(t.url.clone(), dim),
        ];
        if !t.last_error.is_empty() {
            spans.push(Span::styled(format!("  {}", t.last_error), bad));
        }
        out.push(Line::from(spans));
    }
    for (title, pairs) in [("labels", &d.labels), ("annotations", &d.annotations)] {
        out.push(Line::styled(title, head));
        if !d.objects_known {
            out.push(Line::styled(
                "  unknown (the cluster's objects are not watched)",
                dim,
            ));
        } else if pairs.is_empty() {
            out.push(Line::styled("  none", dim));
        }
        for (k, v) in pairs {
            out.push(Line::from(vec![
                Span::styled(format!("  {k}"), dim),
                Span::styled("=", dim),
                Span::styled(v.clone(), text),
            ]));
        }
    }
    out
}
