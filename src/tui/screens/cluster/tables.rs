//! The nodes and pods tables of the cluster browser, k9s-style: a filter line (text, sort
//! column and direction, namespace), a header with the sort column marked, and only the
//! rows that fit, the selected one highlighted and kept in view. Pods are coloured by
//! state; the nodes' CPU and memory are meters against allocatable. Columns are dropped
//! from the least useful on when the terminal is narrow.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{age, first_shown, health_style, mebibytes, millicores};
use crate::app::cluster::{ClusterView, NodeRow, PodRow};
use crate::tui::cluster_view::{NODE_COLUMNS, POD_COLUMNS, TableState};
use crate::tui::format;
use crate::tui::screens::{put, put_right};
use crate::tui::theme::Theme;
use crate::tui::view::{Mode, ViewState};
use crate::tui::widgets::{Meter, TitledBox};

/// One column on screen: which of the table's columns, its width, and alignment.
#[derive(Debug, Clone, Copy)]
struct Col {
    id: usize,
    width: u16,
    right: bool,
}

/// What a cell holds.
enum Cell {
    Text(String, Style),
    /// A meter (percent) with a short text after it.
    Bar(f64, String),
}

/// The columns that fit in `width`: `specs` are (id, width, right-aligned, drop order —
/// higher goes first), the `flex` column takes what is left (at least `min_flex`).
fn columns(specs: &[(usize, u16, bool, u8)], flex: usize, min_flex: u16, width: u16) -> Vec<Col> {
    let mut keep: Vec<(usize, u16, bool, u8)> = specs.to_vec();
    loop {
        let fixed: u16 = keep.iter().filter(|c| c.0 != flex).map(|c| c.1 + 1).sum();
        if fixed + min_flex <= width || keep.len() <= 2 {
            let rest = width.saturating_sub(fixed).max(1);
            return keep
                .iter()
                .map(|&(id, w, right, _)| Col {
                    id,
                    width: if id == flex { rest } else { w },
                    right,
                })
                .collect();
        }
        // Drop the column with the highest drop order.
        let Some(pos) = keep
            .iter()
            .enumerate()
            .filter(|(_, c)| c.3 > 0)
            .max_by_key(|(_, c)| c.3)
            .map(|(i, _)| i)
        else {
            let rest = width.saturating_sub(fixed).max(1);
            return keep
                .iter()
                .map(|&(id, w, right, _)| Col {
                    id,
                    width: if id == flex { rest } else { w },
                    right,
                })
                .collect();
        };
        keep.remove(pos);
    }
}

/// Draws one row of cells.
fn row(buf: &mut Buffer, area: Rect, y: u16, cols: &[Col], cells: &[Cell], theme: &Theme) {
    let mut x = area.x;
    for col in cols {
        if x >= area.right() {
            break;
        }
        let w = col.width.min(area.right() - x);
        match cells.get(col.id) {
            Some(Cell::Text(text, style)) => {
                let text = format::fit(text, usize::from(w));
                if col.right {
                    put_right(buf, Rect::new(x, y, w, 1), &text, *style);
                } else {
                    put(buf, (x, y), w, &text, *style);
                }
            }
            Some(Cell::Bar(pct, text)) => {
                let text_w = (text.chars().count() as u16 + 1).min(w);
                let bar_w = w - text_w;
                if bar_w >= 2 {
                    Meter::new(*pct, &theme.cpu, theme.meter_bg)
                        .render(Rect::new(x, y, bar_w, 1), buf);
                }
                put_right(
                    buf,
                    Rect::new(x + bar_w, y, text_w, 1),
                    text,
                    Style::new().fg(theme.main_fg),
                );
            }
            None => {}
        }
        x = x.saturating_add(w + 1);
    }
}

/// The header row with the sort column marked.
fn header(
    buf: &mut Buffer,
    area: Rect,
    cols: &[Col],
    titles: &[&str],
    t: &TableState,
    theme: &Theme,
) {
    let dim = Style::new()
        .fg(theme.graph_text)
        .add_modifier(Modifier::BOLD);
    let hi = Style::new().fg(theme.hi_fg).add_modifier(Modifier::BOLD);
    let cells: Vec<Cell> = titles
        .iter()
        .enumerate()
        .map(|(i, title)| {
            if i == t.sort {
                let arrow = if t.descending { "▼" } else { "▲" };
                Cell::Text(format!("{title}{arrow}"), hi)
            } else {
                Cell::Text(title.to_string(), dim)
            }
        })
        .collect();
    row(buf, area, area.y, cols, &cells, theme);
}

/// The box, the filter line and the header; returns the rows' area.
#[allow(clippy::too_many_arguments)]
fn frame(
    area: Rect,
    buf: &mut Buffer,
    title: &str,
    counts: Line<'_>,
    t: &TableState,
    titles: &[&str],
    extra: Vec<Span<'static>>,
    view: &ViewState,
    theme: &Theme,
) -> Option<Rect> {
    TitledBox::new(title, theme.hi_fg, theme.title, theme.hi_fg)
        .right_label(counts)
        .render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.height < 3 {
        return None;
    }
    let dim = Style::new().fg(theme.graph_text);
    let text = Style::new().fg(theme.main_fg);
    let key = Style::new().fg(theme.hi_fg).add_modifier(Modifier::BOLD);
    let mut spans = vec![
        Span::styled("filter ", dim),
        Span::styled(t.filter.text().to_string(), text),
    ];
    if view.mode == Mode::ClusterFilter {
        spans.push(Span::styled(" ", text.add_modifier(Modifier::REVERSED)));
    } else if t.filter.text().is_empty() {
        spans.push(Span::styled("(/ to type)", dim));
    }
    let dir = if t.descending { "▼" } else { "▲" };
    spans.push(Span::styled("   sort ", dim));
    spans.push(Span::styled(
        format!("{} {dir}", titles.get(t.sort).copied().unwrap_or("")),
        key,
    ));
    spans.extend(extra);
    buf.set_line(inner.x, inner.y, &Line::from(spans), inner.width);
    Some(inner)
}

/// Writes an empty state's line under the header.
fn empty(buf: &mut Buffer, body: Rect, text: &str, theme: &Theme) {
    put(
        buf,
        (body.x, body.y),
        body.width,
        text,
        Style::new().fg(theme.inactive_fg),
    );
}

/// What the table says with no rows: the connection status, or that sync is under way.
fn nothing_yet(cluster: &ClusterView, what: &str) -> String {
    match &cluster.meta.status {
        Some(s) => format!("no {what}: {s}"),
        None => format!("no {what} yet, syncing…"),
    }
}

/// The pods table.
pub fn pods(area: Rect, buf: &mut Buffer, cluster: &ClusterView, view: &ViewState, theme: &Theme) {
    let b = &view.cluster;
    let visible = b.visible_pods(cluster);
    let dim = Style::new().fg(theme.graph_text);
    let key = Style::new().fg(theme.hi_fg).add_modifier(Modifier::BOLD);
    let mut extra = vec![
        Span::styled("   namespace ", dim),
        Span::styled(b.namespace.clone().unwrap_or_else(|| "all".into()), key),
    ];
    if b.namespace.is_none()
        && let Some(pre) = &cluster.meta.namespace_preselect
    {
        extra.push(Span::styled(format!(" (:ns {pre})"), dim));
    }
    let counts = Line::styled(
        format!("{} of {}", visible.len(), cluster.pods.len()),
        Style::new().fg(theme.main_fg),
    );
    let Some(inner) = frame(
        area,
        buf,
        "pods",
        counts,
        &b.pods,
        &POD_COLUMNS,
        extra,
        view,
        theme,
    ) else {
        return;
    };
    // id, width, right, drop order
    let specs = [
        (0, 14, false, 3),
        (1, 0, false, 0),
        (2, 14, false, 5),
        (3, 17, false, 0),
        (4, 5, true, 1),
        (5, 8, true, 4),
        (6, 6, true, 0),
        (7, 7, true, 2),
        (8, 5, true, 6),
    ];
    let cols = columns(&specs, 1, 16, inner.width);
    let empty_text = if cluster.pods.is_empty() {
        Some(nothing_yet(cluster, "pods"))
    } else if visible.is_empty() {
        Some("no pod matches the filter or namespace".to_string())
    } else {
        None
    };
    table_rows(
        buf,
        inner,
        &cols,
        (&POD_COLUMNS, &b.pods),
        empty_text,
        &visible,
        theme,
        |i| pod_cells(&cluster.pods[i], theme),
    );
}

/// Below the filter line of `inner`: the header row with the sort column marked, then the
/// `visible` rows (a page around the selection, which is drawn bold on the selection
/// colour), or `empty_text` when there is nothing to list.
#[allow(clippy::too_many_arguments)]
fn table_rows(
    buf: &mut Buffer,
    inner: Rect,
    cols: &[Col],
    (titles, state): (&[&str], &TableState),
    empty_text: Option<String>,
    visible: &[usize],
    theme: &Theme,
    cells: impl Fn(usize) -> Vec<Cell>,
) {
    let head = Rect {
        y: inner.y + 1,
        height: 1,
        ..inner
    };
    header(buf, head, cols, titles, state, theme);
    let body = Rect {
        y: inner.y + 2,
        height: inner.height - 2,
        ..inner
    };
    if body.is_empty() {
        return;
    }
    if let Some(text) = empty_text {
        return empty(buf, body, &text, theme);
    }
    let height = usize::from(body.height);
    let selected = state.selected.min(visible.len() - 1);
    let first = first_shown(selected, visible.len(), height);
    for (k, &i) in visible.iter().enumerate().skip(first).take(height) {
        let y = body.y + (k - first) as u16;
        let selected_row = Rect::new(body.x, y, body.width, 1);
        if k == selected {
            buf.set_style(selected_row, Style::new().bg(theme.selected_bg));
        }
        row(buf, body, y, cols, &cells(i), theme);
        if k == selected {
            // The selection's text in the selected colours, keeping each state colour's
            // meaning readable on the bar.
            for x in body.x..body.right() {
                let c = &mut buf[(x, y)];
                c.set_bg(theme.selected_bg);
                c.modifier.insert(Modifier::BOLD);
            }
        }
    }
}

fn pod_cells(p: &PodRow, theme: &Theme) -> Vec<Cell> {
    let text = Style::new().fg(theme.main_fg);
    let dim = Style::new().fg(theme.graph_text);
    let state = health_style(p.health, theme);
    let ready_style = if p.ready < p.containers { state } else { text };
    let restarts = if p.restarts > 0 {
        Style::new().fg(theme.cpu.at(50.0))
    } else {
        text
    };
    vec![
        Cell::Text(p.namespace.clone(), dim),
        Cell::Text(p.name.clone(), text),
        Cell::Text(p.node.clone(), dim),
        Cell::Text(p.status.clone(), state),
        Cell::Text(format!("{}/{}", p.ready, p.containers), ready_style),
        Cell::Text(p.restarts.to_string(), restarts),
        Cell::Text(millicores(p.cpu_cores), text),
        Cell::Text(mebibytes(p.memory_bytes), text),
        Cell::Text(age(p.age_secs), dim),
    ]
}

/// The nodes table.
pub fn nodes(area: Rect, buf: &mut Buffer, cluster: &ClusterView, view: &ViewState, theme: &Theme) {
    let b = &view.cluster;
    let visible = b.visible_nodes(cluster);
    let ready = cluster
        .nodes
        .iter()
        .filter(|n| n.ready == Some(true))
        .count();
    let counts = Line::from(vec![
        Span::styled(format!("▲{ready}"), Style::new().fg(theme.cpu.start())),
        Span::styled(
            format!(" ▼{}", cluster.nodes.len() - ready),
            Style::new().fg(theme.temp.end()),
        ),
    ]);
    let Some(inner) = frame(
        area,
        buf,
        "nodes",
        counts,
        &b.nodes,
        &NODE_COLUMNS,
        Vec::new(),
        view,
        theme,
    ) else {
        return;
    };
    let specs = [
        (0, 0, false, 0),
        (1, 24, false, 0),
        (2, 13, false, 3),
        (3, 18, false, 0),
        (4, 18, false, 1),
        (5, 7, true, 4),
        (6, 9, false, 5),
        (7, 5, true, 2),
    ];
    let cols = columns(&specs, 0, 12, inner.width);
    let empty_text = if cluster.nodes.is_empty() {
        Some(nothing_yet(cluster, "nodes"))
    } else if visible.is_empty() {
        Some("no node matches the filter".to_string())
    } else {
        None
    };
    table_rows(
        buf,
        inner,
        &cols,
        (&NODE_COLUMNS, &b.nodes),
        empty_text,
        &visible,
        theme,
        |i| node_cells(&cluster.nodes[i], theme),
    );
}

fn node_cells(n: &NodeRow, theme: &Theme) -> Vec<Cell> {
    let text = Style::new().fg(theme.main_fg);
    let dim = Style::new().fg(theme.graph_text);
    let (status, style) = match n.ready {
        Some(true) if n.bad_conditions.is_empty() => (
            "Ready".to_string(),
            health_style(crate::app::cluster::PodHealth::Running, theme),
        ),
        Some(true) => (
            "Ready".to_string(),
            health_style(crate::app::cluster::PodHealth::Pending, theme),
        ),
        Some(false) => ("NotReady".to_string(), Style::new().fg(theme.temp.end())),
        None => ("Unknown".to_string(), dim),
    };
    let mut status = status;
    for c in &n.bad_conditions {
        status.push(',');
        status.push_str(c);
    }
    if n.unschedulable {
        status.push_str(",SchedulingDisabled");
    }
    let pct = |used: Option<f64>, of: Option<f64>| match (used, of) {
        (Some(u), Some(o)) if o > 0.0 => u / o * 100.0,
        _ => f64::NAN,
    };
    let cpu_text = match n.cpu_used_cores {
        Some(_) => format!(
            "{:>3.0}%",
            pct(n.cpu_used_cores, n.cpu_allocatable_cores).max(0.0)
        ),
        None => "–".into(),
    };
    let mem_text = match n.memory_used_bytes {
        Some(_) => format!(
            "{:>3.0}%",
            pct(n.memory_used_bytes, n.memory_allocatable_bytes).max(0.0)
        ),
        None => "–".into(),
    };
    let pods = match n.pods_allocatable {
        Some(a) => format!("{}/{}", n.pods, a as u64),
        None => n.pods.to_string(),
    };
    let roles = if n.roles.is_empty() {
        "<none>".to_string()
    } else {
        n.roles.join(",")
    };
    vec![
        Cell::Text(n.name.clone(), text),
        Cell::Text(status, style),
        Cell::Text(roles, dim),
        Cell::Bar(pct(n.cpu_used_cores, n.cpu_allocatable_cores), cpu_text),
        Cell::Bar(
            pct(n.memory_used_bytes, n.memory_allocatable_bytes),
            mem_text,
        ),
        Cell::Text(pods, text),
        Cell::Text(n.kubelet_version.clone(), dim),
        Cell::Text(age(n.age_secs), dim),
    ]
}

/// The listed row (index into the visible rows) drawn at screen row `y` of the table in
/// `area`, for the mouse.
pub fn row_at(area: Rect, cluster: &ClusterView, view: &ViewState, y: u16) -> Option<usize> {
    let b = &view.cluster;
    let (len, selected) = match b.screen {
        crate::tui::cluster_view::ClusterScreen::Nodes => {
            (b.visible_nodes(cluster).len(), b.nodes.selected)
        }
        crate::tui::cluster_view::ClusterScreen::Pods => {
            (b.visible_pods(cluster).len(), b.pods.selected)
        }
        crate::tui::cluster_view::ClusterScreen::Detail => return None,
    };
    let inner = TitledBox::inner(area);
    if inner.height < 3 || len == 0 {
        return None;
    }
    let body_y = inner.y + 2;
    let height = usize::from(inner.height - 2);
    if y < body_y || y >= inner.bottom() {
        return None;
    }
    let first = first_shown(selected.min(len - 1), len, height);
    let k = first + usize::from(y - body_y);
    (k < len).then_some(k)
}
