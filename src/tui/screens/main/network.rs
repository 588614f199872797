//! The network box: download and upload graphs of the busiest interface (download growing
//! up from the middle line, upload hanging below it, each on its own auto scale) with the
//! current rate, total and scale over them, and one line per other interface underneath.
//! Drawn by `MainScreen` from `UiSnapshot::network`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Widget;

use super::scale;
use crate::app::{InterfaceRow, NetworkPanel};
use crate::tui::format;
use crate::tui::screens::{put, put_center, put_right};
use crate::tui::theme::Theme;
use crate::tui::view::BoxId;
use crate::tui::widgets::{BrailleGraph, TitledBox};

/// Graph scales never go below this (bytes/s), so an idle link does not look busy.
const MIN_SCALE: f64 = 1024.0;
/// Name column of the other-interfaces list.
const NAME_WIDTH: u16 = 10;

/// The interface with the highest latest rx + tx; the first one when nothing moves.
pub(super) fn busiest(interfaces: &[InterfaceRow]) -> Option<usize> {
    let load = |i: &InterfaceRow| {
        format::latest(&i.rx).unwrap_or(0.0) + format::latest(&i.tx).unwrap_or(0.0)
    };
    let mut best: Option<(usize, f64)> = None;
    for (idx, iface) in interfaces.iter().enumerate() {
        let l = load(iface);
        if best.is_none_or(|(_, b)| l > b) {
            best = Some((idx, l));
        }
    }
    best.map(|(idx, _)| idx)
}

pub(super) fn render(area: Rect, buf: &mut Buffer, net: &NetworkPanel, theme: &Theme) {
    let main = busiest(&net.interfaces);
    let mut frame = TitledBox::new(
        BoxId::Network.title(),
        theme.net_box,
        theme.title,
        theme.hi_fg,
    )
    .hotkey(BoxId::Network.number());
    if let Some(iface) = main.and_then(|i| net.interfaces.get(i)) {
        frame = frame.right_label(Line::styled(
            iface.device.as_str(),
            Style::new().fg(theme.main_fg).add_modifier(Modifier::BOLD),
        ));
    }
    frame.render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.is_empty() {
        return;
    }
    let Some(main) = main.and_then(|i| net.interfaces.get(i).map(|iface| (i, iface))) else {
        let row = Rect::new(inner.x, inner.y + inner.height / 2, inner.width, 1);
        put_center(
            buf,
            row,
            "no interfaces",
            Style::new().fg(theme.inactive_fg),
        );
        return;
    };
    let (main_idx, iface) = main;
    let others: Vec<&InterfaceRow> = net
        .interfaces
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != main_idx)
        .map(|(_, iface)| iface)
        .collect();

    // The list of other interfaces takes at most a third of the box, plus a divider line.
    let list_rows = if others.is_empty() || inner.height < 6 {
        0
    } else {
        (others.len() as u16).min((inner.height - 4) / 3).max(1)
    };
    let list_h = if list_rows > 0 { list_rows + 1 } else { 0 };
    let graph_h = inner.height - list_h;
    let rx_h = graph_h.div_ceil(2);
    let tx_h = graph_h - rx_h;
    let rx_area = Rect::new(inner.x, inner.y, inner.width, rx_h);
    let tx_area = Rect::new(inner.x, inner.y + rx_h, inner.width, tx_h);
    direction(buf, rx_area, iface, true, theme);
    direction(buf, tx_area, iface, false, theme);

    if list_rows > 0 {
        let divider_y = inner.y + graph_h;
        let line = "─".repeat(usize::from(inner.width));
        put(
            buf,
            (inner.x, divider_y),
            inner.width,
            &line,
            Style::new().fg(theme.div_line),
        );
        let shown = usize::from(list_rows);
        for (i, other) in others.iter().take(shown).enumerate() {
            let row = Rect::new(inner.x, divider_y + 1 + i as u16, inner.width, 1);
            if i + 1 == shown && others.len() > shown {
                let more = format!("+{} more", others.len() - shown + 1);
                put(
                    buf,
                    (row.x, row.y),
                    row.width,
                    &more,
                    Style::new().fg(theme.graph_text),
                );
            } else {
                other_row(buf, row, other, theme);
            }
        }
    }
}

/// One direction's graph with its labels: download grows up and labels at its top,
/// upload hangs down and labels at its bottom.
fn direction(buf: &mut Buffer, area: Rect, iface: &InterfaceRow, download: bool, theme: &Theme) {
    if area.is_empty() {
        return;
    }
    let (history, total, gradient, arrow) = if download {
        (&iface.rx, iface.rx_total, &theme.download, "▼")
    } else {
        (&iface.tx, iface.tx_total, &theme.upload, "▲")
    };
    let max = scale(history, area.width, MIN_SCALE);
    BrailleGraph::new(history, max, gradient)
        .inverted(!download)
        .render(area, buf);

    // Labels carry a blank on each side so they stand apart from the dots around them.
    let rate = format!(" {arrow} {} ", format::opt_rate(format::latest(history)));
    let total = format!(" total {} ", format::opt_bytes(total));
    let scale_text = format!(" top {} ", format::rate(max));
    let (first_y, second_y) = if download {
        (area.y, area.y + 1)
    } else {
        (area.bottom() - 1, area.bottom().saturating_sub(2))
    };
    let (x, width) = (area.x, area.width);
    let bold = Style::new().fg(theme.main_fg).add_modifier(Modifier::BOLD);
    let dim = Style::new().fg(theme.graph_text);
    let used = put(buf, (x, first_y), width, &rate, bold);
    // The scale goes on the same line at the right when it fits beside the rate.
    let scale_w = scale_text.chars().count() as u16;
    if width >= used + scale_w {
        put_right(buf, Rect::new(x, first_y, width, 1), &scale_text, dim);
    }
    if area.height >= 2 {
        put(buf, (x, second_y), width, &total, dim);
    }
}

/// `wlan0      ▼ 4.1 KiB/s  ▲ 512 B/s`
fn other_row(buf: &mut Buffer, row: Rect, iface: &InterfaceRow, theme: &Theme) {
    let name = format::fit(&iface.device, usize::from(NAME_WIDTH));
    put(
        buf,
        (row.x, row.y),
        NAME_WIDTH,
        &name,
        Style::new().fg(theme.main_fg),
    );
    let rates = format!(
        "▼ {:>10}  ▲ {:>10}",
        format::opt_rate(format::latest(&iface.rx)),
        format::opt_rate(format::latest(&iface.tx)),
    );
    if row.width > NAME_WIDTH + 1 {
        let right = Rect::new(row.x + NAME_WIDTH + 1, row.y, row.width - NAME_WIDTH - 1, 1);
        put_right(buf, right, &rates, Style::new().fg(theme.graph_text));
    }
}
