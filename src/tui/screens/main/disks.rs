//! The disks box: one row per filesystem (mountpoint, used meter, used percent, available
//! and size), then one row per block device (name, a mini graph of its total I/O, read and
//! write rates). A header row appears when there is room. Drawn by `MainScreen` from
//! `UiSnapshot::disks`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

use super::{MeterColumns, meter_row, scale};
use crate::app::{DiskIoRow, DisksPanel, FilesystemRow};
use crate::tui::format;
use crate::tui::screens::{put, put_center, put_right};
use crate::tui::theme::Theme;
use crate::tui::view::BoxId;
use crate::tui::widgets::{BrailleGraph, TitledBox};

/// Each of the avail and size columns ("99.9 GiB").
const SIZE_WIDTH: u16 = 8;
/// Each of the read and write columns ("r 99.9 MiB/s").
const RATE_WIDTH: u16 = 12;

enum Line<'a> {
    Header,
    Fs(&'a FilesystemRow),
    Dev(&'a DiskIoRow),
    More(usize),
}

pub(super) fn render(area: Rect, buf: &mut Buffer, disks: &DisksPanel, theme: &Theme) {
    TitledBox::new(
        BoxId::Disks.title(),
        theme.mem_box,
        theme.title,
        theme.hi_fg,
    )
    .hotkey(BoxId::Disks.number())
    .render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.is_empty() {
        return;
    }
    if disks.filesystems.is_empty() && disks.devices.is_empty() {
        let row = Rect::new(inner.x, inner.y + inner.height / 2, inner.width, 1);
        put_center(buf, row, "no disks", Style::new().fg(theme.inactive_fg));
        return;
    }

    let name_w = disks
        .filesystems
        .iter()
        .map(|f| f.mountpoint.chars().count())
        .chain(disks.devices.iter().map(|d| d.device.chars().count()))
        .max()
        .unwrap_or(0)
        .clamp(5, usize::from(inner.width / 3).max(5)) as u16;

    let wide = inner.width >= name_w + 1 + 4 + 7 + 2 * (SIZE_WIDTH + 1);
    let mut lines: Vec<Line<'_>> = Vec::new();
    let content = disks.filesystems.len() + disks.devices.len();
    let rows = usize::from(inner.height);
    if wide && !disks.filesystems.is_empty() && rows > content {
        lines.push(Line::Header);
    }
    lines.extend(disks.filesystems.iter().map(Line::Fs));
    lines.extend(disks.devices.iter().map(Line::Dev));
    if lines.len() > rows && rows == 1 {
        lines.truncate(1);
    } else if lines.len() > rows {
        let hidden = lines.len() - rows + 1;
        lines.truncate(rows - 1);
        lines.push(Line::More(hidden));
    }

    for (i, line) in lines.iter().enumerate() {
        let row = Rect::new(inner.x, inner.y + i as u16, inner.width, 1);
        match line {
            Line::Header => header(buf, row, name_w, theme),
            Line::Fs(fs) => fs_row(buf, row, name_w, wide, fs, theme),
            Line::Dev(dev) => dev_row(buf, row, name_w, dev, theme),
            Line::More(n) => {
                put(
                    buf,
                    (row.x, row.y),
                    row.width,
                    &format!("+{n} more"),
                    Style::new().fg(theme.graph_text),
                );
            }
        }
    }
}

/// Column titles over the filesystem rows, aligned with `fs_row`'s columns when wide.
fn header(buf: &mut Buffer, row: Rect, name_w: u16, theme: &Theme) {
    let dim = Style::new().fg(theme.graph_text);
    put(buf, (row.x, row.y), name_w, "mount", dim);
    let mut right = row.right();
    put_right(
        buf,
        Rect::new(right - SIZE_WIDTH, row.y, SIZE_WIDTH, 1),
        "size",
        dim,
    );
    right -= SIZE_WIDTH + 1;
    put_right(
        buf,
        Rect::new(right - SIZE_WIDTH, row.y, SIZE_WIDTH, 1),
        "avail",
        dim,
    );
    right -= SIZE_WIDTH + 1;
    if right >= row.x + name_w + 7 {
        put_right(buf, Rect::new(right - 7, row.y, 7, 1), "used", dim);
    }
}

/// `/home  ■■■■■■■  62.0%  180 GiB  475 GiB` (the size column only when `wide`).
fn fs_row(buf: &mut Buffer, row: Rect, name_w: u16, wide: bool, fs: &FilesystemRow, theme: &Theme) {
    let text = Style::new().fg(theme.main_fg);
    let mut rest = row;
    if wide {
        let size = format::bytes(fs.size_bytes);
        put_right(
            buf,
            Rect::new(row.right() - SIZE_WIDTH, row.y, SIZE_WIDTH, 1),
            &size,
            text,
        );
        rest.width -= SIZE_WIDTH + 1;
    }
    let used = fs.size_bytes - fs.avail_bytes;
    let pct = if fs.size_bytes > 0.0 {
        used / fs.size_bytes * 100.0
    } else {
        f64::NAN
    };
    let name = format::fit(&fs.mountpoint, usize::from(name_w));
    let cols = MeterColumns {
        label: name_w + 1,
        value: SIZE_WIDTH,
    };
    meter_row(
        buf,
        rest,
        cols,
        (&name, pct, &format::bytes(fs.avail_bytes)),
        &theme.used,
        theme,
    );
}

/// `nvme0n1 ⣀⣤⣶  r 1.2 MiB/s  w 300 KiB/s`
fn dev_row(buf: &mut Buffer, row: Rect, name_w: u16, dev: &DiskIoRow, theme: &Theme) {
    let name = format::fit(&dev.device, usize::from(name_w));
    put(
        buf,
        (row.x, row.y),
        name_w,
        &name,
        Style::new().fg(theme.main_fg),
    );
    let read = format::opt_rate(format::latest(&dev.read));
    let written = format::opt_rate(format::latest(&dev.written));
    let rates = format!("r {read:>10} w {written:>10}");
    let rates_w = 2 * RATE_WIDTH + 1;
    let start = row.x + name_w + 1;
    if row.right() < start {
        return;
    }
    let room = row.right() - start;
    put_right(
        buf,
        Rect::new(start, row.y, room, 1),
        &rates,
        Style::new().fg(theme.graph_text),
    );
    let graph_w = room.saturating_sub(rates_w + 1);
    if graph_w >= 2 {
        let combined: Vec<Option<f64>> = dev
            .read
            .iter()
            .zip(&dev.written)
            .map(|(r, w)| match (r, w) {
                (None, None) => None,
                _ => Some(r.unwrap_or(0.0) + w.unwrap_or(0.0)),
            })
            .collect();
        let max = scale(&combined, graph_w, 1024.0);
        BrailleGraph::new(&combined, max, &theme.cached)
            .render(Rect::new(start, row.y, graph_w, 1), buf);
    }
}
