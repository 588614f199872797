//! The CPU box: a large braille graph of total busy percent with the uptime over it, and a
//! side panel with a total meter, one row per core (name, mini graph, percent) and the load
//! average (in the bottom border instead when the panel is full). Drawn by `MainScreen`
//! from `UiSnapshot::cpu` and `UiSnapshot::host`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Widget};

use super::{MeterColumns, meter_row};
use crate::app::{CoreRow, UiSnapshot};
use crate::tui::format;
use crate::tui::screens::{put, put_right};
use crate::tui::theme::Theme;
use crate::tui::view::BoxId;
use crate::tui::widgets::{BrailleGraph, TitledBox};

/// Narrowest total graph worth drawing; below it the core panel takes the whole box.
const MIN_GRAPH_WIDTH: u16 = 8;
/// " 100.0%" after each core's mini graph.
const PCT_WIDTH: u16 = 7;

pub(super) fn render(area: Rect, buf: &mut Buffer, snap: &UiSnapshot, theme: &Theme) {
    let cpu = &snap.cpu;
    let inner = TitledBox::inner(area);
    let mut load_in_panel = false;
    if !inner.is_empty() {
        let panel_w = (inner.width * 2 / 5).clamp(22, 44).min(inner.width);
        let graph_w = inner.width - panel_w;
        let (graph, panel) = if graph_w >= MIN_GRAPH_WIDTH {
            (
                Some(Rect {
                    width: graph_w,
                    ..inner
                }),
                Rect {
                    x: inner.x + graph_w,
                    width: panel_w,
                    ..inner
                },
            )
        } else {
            (None, inner)
        };
        if let Some(graph) = graph {
            BrailleGraph::new(&cpu.total, 100.0, &theme.cpu).render(graph, buf);
            if snap.host.uptime_secs > 0.0 {
                // Blanks either side keep the text apart from the dots around it.
                let uptime = format!(" up {} ", format::uptime(snap.host.uptime_secs));
                let style = Style::new().fg(theme.graph_text);
                put(buf, (graph.x, graph.y), graph.width, &uptime, style);
            }
        }
        load_in_panel = render_panel(panel, buf, snap, theme);
    }

    // The box goes on last: it only draws the border, around the content.
    let mut frame = TitledBox::new(BoxId::Cpu.title(), theme.cpu_box, theme.title, theme.hi_fg)
        .hotkey(BoxId::Cpu.number());
    if !load_in_panel {
        frame = frame.bottom_label(Line::from(vec![
            Span::styled("load ", Style::new().fg(theme.graph_text)),
            Span::styled(load_text(snap), Style::new().fg(theme.main_fg)),
        ]));
    }
    frame.render(area, buf);
}

fn load_text(snap: &UiSnapshot) -> String {
    snap.cpu
        .load
        .map_or_else(|| format::MISSING.to_string(), format::load)
}

/// The core panel: a total row, then the cores in as many columns as the height needs and
/// the width allows, then the load average if two rows are left. It has its own rounded
/// box in the divider colour when there is room for that. Says whether it showed the load.
fn render_panel(panel: Rect, buf: &mut Buffer, snap: &UiSnapshot, theme: &Theme) -> bool {
    let cores = &snap.cpu.cores;
    // The border costs two rows: worth it when every core still fits, or the panel is tall.
    let bordered = panel.width >= 16
        && panel.height >= 3
        && (usize::from(panel.height) >= cores.len() + 3 || panel.height >= 8);
    let inner = if bordered {
        let block = Block::bordered()
            .border_type(BorderType::Rounded)
            .border_style(Style::new().fg(theme.div_line));
        let inner = block.inner(panel);
        block.render(panel, buf);
        inner
    } else {
        // Without a border, a blank column keeps the panel off the graph.
        Rect {
            x: panel.x + 1,
            width: panel.width.saturating_sub(1),
            ..panel
        }
    };
    if inner.is_empty() {
        return false;
    }
    let name_w = cores
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(3, 6) as u16;
    let total_pct = format::latest(&snap.cpu.total).unwrap_or(f64::NAN);
    let cols = MeterColumns {
        label: name_w.max(5) + 1,
        value: 0,
    };
    let first = Rect { height: 1, ..inner };
    meter_row(
        buf,
        first,
        cols,
        ("total", total_pct, ""),
        &theme.cpu,
        theme,
    );

    let rows = inner.height - 1;
    let mut used_rows = 0;
    if rows > 0 && !cores.is_empty() {
        used_rows = core_grid(
            Rect {
                y: inner.y + 1,
                height: rows,
                ..inner
            },
            buf,
            name_w,
            cores,
            theme,
        );
    }
    // A blank row, then the load average, when both fit under the cores.
    if rows >= used_rows + 2 {
        let row = Rect::new(inner.x, inner.y + 1 + used_rows + 1, inner.width, 1);
        put(
            buf,
            (row.x, row.y),
            row.width,
            "load avg",
            Style::new().fg(theme.graph_text),
        );
        put_right(buf, row, &load_text(snap), Style::new().fg(theme.main_fg));
        return true;
    }
    false
}

/// Lays the cores out top to bottom, then left to right, in `area`; the last slot says
/// "+N more" when they do not all fit. Returns the rows used.
fn core_grid(area: Rect, buf: &mut Buffer, name_w: u16, cores: &[CoreRow], theme: &Theme) -> u16 {
    let rows = area.height;
    let min_col = name_w + 1 + 4 + PCT_WIDTH;
    let max_cols = ((area.width + 1) / (min_col + 1)).max(1);
    let needed = cores.len().div_ceil(usize::from(rows)) as u16;
    let cols = needed.clamp(1, max_cols);
    let col_w = (area.width + 1) / cols - 1;
    let capacity = usize::from(cols) * usize::from(rows);
    let overflow = cores.len() > capacity;
    let shown = if overflow { capacity - 1 } else { cores.len() };
    let slot = |i: usize| {
        let (col, row) = (i / usize::from(rows), i % usize::from(rows));
        Rect::new(
            area.x + col as u16 * (col_w + 1),
            area.y + row as u16,
            col_w,
            1,
        )
    };
    for (i, core) in cores.iter().take(shown).enumerate() {
        core_row(buf, slot(i), name_w, core, theme);
    }
    if overflow {
        let cell = slot(capacity - 1);
        let more = format!("+{} more", cores.len() - shown);
        put(
            buf,
            (cell.x, cell.y),
            cell.width,
            &more,
            Style::new().fg(theme.graph_text),
        );
    }
    cores.len().min(capacity).min(usize::from(rows)) as u16
}

/// `cpu0 ⣀⣤⣶⣿  42.1%`: name, a one-row graph of the core's history, latest percent.
fn core_row(buf: &mut Buffer, row: Rect, name_w: u16, core: &CoreRow, theme: &Theme) {
    let name = format::fit(&core.name, usize::from(name_w));
    put(
        buf,
        (row.x, row.y),
        name_w,
        &name,
        Style::new().fg(theme.main_fg),
    );
    let pct = format::latest(&core.busy);
    let pct_text = pct.map_or_else(|| format::MISSING.to_string(), format::percent);
    let style = Style::new().fg(theme.main_fg).add_modifier(Modifier::BOLD);
    put_right(buf, row, &pct_text, style);
    let graph_w = row.width.saturating_sub(name_w + 1 + PCT_WIDTH);
    if graph_w >= 2 {
        let graph = Rect::new(row.x + name_w + 1, row.y, graph_w, 1);
        BrailleGraph::new(&core.busy, 100.0, &theme.cpu).render(graph, buf);
    }
}
