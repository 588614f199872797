//! The memory box: used, available, cached and free memory and swap as meter rows with
//! percent and size, the total in the top border, and the used-percent history as a graph
//! in the rows left over. Drawn by `MainScreen` from `UiSnapshot::memory`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Widget;

use super::{MeterColumns, meter_row, share};
use crate::app::MemoryPanel;
use crate::tui::format;
use crate::tui::screens::{put, put_right};
use crate::tui::theme::{Gradient, Theme};
use crate::tui::view::BoxId;
use crate::tui::widgets::{BrailleGraph, TitledBox};

pub(super) fn render(area: Rect, buf: &mut Buffer, mem: &MemoryPanel, theme: &Theme) {
    let mut frame = TitledBox::new(
        BoxId::Memory.title(),
        theme.mem_box,
        theme.title,
        theme.hi_fg,
    )
    .hotkey(BoxId::Memory.number());
    if let Some(total) = mem.total_bytes {
        let style = Style::new().fg(theme.main_fg).add_modifier(Modifier::BOLD);
        frame = frame.right_label(Line::styled(format::bytes(total), style));
    }
    frame.render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.is_empty() {
        return;
    }

    let used = match (mem.total_bytes, mem.available_bytes) {
        (Some(t), Some(a)) => Some(t - a),
        _ => None,
    };
    let rows: [(&str, Option<f64>, &Gradient); 4] = [
        ("Used:", used, &theme.used),
        ("Available:", mem.available_bytes, &theme.available),
        ("Cached:", mem.cached_bytes, &theme.cached),
        ("Free:", mem.free_bytes, &theme.free),
    ];
    let cols = MeterColumns {
        label: 11,
        value: 8,
    };
    let mut y = inner.y;
    for (label, bytes, gradient) in rows {
        if y >= inner.bottom() {
            return;
        }
        let row = Rect::new(inner.x, y, inner.width, 1);
        let pct = share(bytes, mem.total_bytes);
        meter_row(
            buf,
            row,
            cols,
            (label, pct, &format::opt_bytes(bytes)),
            gradient,
            theme,
        );
        y += 1;
    }
    if y >= inner.bottom() {
        return;
    }
    let row = Rect::new(inner.x, y, inner.width, 1);
    swap_row(buf, row, cols, mem, theme);
    y += 1;

    // The used-percent history fills what is left, if that is at least two rows.
    let left = inner.bottom() - y;
    if left >= 2 {
        let graph = Rect::new(inner.x, y, inner.width, left);
        BrailleGraph::new(&mem.used_pct, 100.0, &theme.used).render(graph, buf);
        let label = match format::latest(&mem.used_pct) {
            Some(pct) => format!(" used {} ", format::percent(pct)),
            None => " used ".to_string(),
        };
        let text = Style::new().fg(theme.graph_text);
        put(buf, (graph.x, graph.y), graph.width, &label, text);
    }
}

fn swap_row(buf: &mut Buffer, row: Rect, cols: MeterColumns, mem: &MemoryPanel, theme: &Theme) {
    match (mem.swap_total_bytes, mem.swap_free_bytes) {
        (Some(total), Some(free)) if total > 0.0 => {
            let used = total - free;
            let pct = used / total * 100.0;
            meter_row(
                buf,
                row,
                cols,
                ("Swap:", pct, &format::bytes(used)),
                &theme.used,
                theme,
            );
        }
        (Some(_), _) => {
            let text = Style::new().fg(theme.main_fg);
            put(buf, (row.x, row.y), cols.label, "Swap:", text);
            put_right(buf, row, "none", Style::new().fg(theme.inactive_fg));
        }
        (None, _) => {
            put(
                buf,
                (row.x, row.y),
                cols.label,
                "Swap:",
                Style::new().fg(theme.main_fg),
            );
            put_right(
                buf,
                row,
                format::MISSING,
                Style::new().fg(theme.inactive_fg),
            );
        }
    }
}
