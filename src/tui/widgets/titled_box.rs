//! The rounded box every panel sits in, titled in btop's manner: the title is set into the
//! top border between `┐` and `┌`, led by a superscript hotkey number (`╭─┐¹cpu┌───╮`), with
//! optional labels at the top right and bottom left. Screens draw the box, then their
//! content into `TitledBox::inner`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};

/// Superscript digits for hotkeys, `¹`..`⁹`; other numbers have none.
pub fn superscript(n: u8) -> Option<char> {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    DIGITS.get(usize::from(n)).copied()
}

/// A rounded, titled box. Colours come from the caller (normally the theme's `*_box`,
/// `title` and `hi_fg`).
#[derive(Debug, Clone)]
pub struct TitledBox<'a> {
    title: &'a str,
    hotkey: Option<u8>,
    border: Color,
    title_fg: Color,
    hotkey_fg: Color,
    right: Option<Line<'a>>,
    bottom: Option<Line<'a>>,
}

impl<'a> TitledBox<'a> {
    pub fn new(title: &'a str, border: Color, title_fg: Color, hotkey_fg: Color) -> Self {
        TitledBox {
            title,
            hotkey: None,
            border,
            title_fg,
            hotkey_fg,
            right: None,
            bottom: None,
        }
    }

    /// The number key that toggles this box, shown as a superscript before the title.
    pub fn hotkey(mut self, n: u8) -> Self {
        self.hotkey = Some(n);
        self
    }

    /// A label set into the top border at the right.
    pub fn right_label(mut self, label: Line<'a>) -> Self {
        self.right = Some(label);
        self
    }

    /// A label set into the bottom border at the left.
    pub fn bottom_label(mut self, label: Line<'a>) -> Self {
        self.bottom = Some(label);
        self
    }

    /// The area inside the border.
    pub fn inner(area: Rect) -> Rect {
        Block::bordered().inner(area)
    }

    /// Draws the box as an overlay (help, options, pickers): `width`×`height`, clipped to
    /// `area` and centred in it, over a cleared area filled with `fill`. Returns the area
    /// inside the border.
    pub fn render_centered(
        self,
        area: Rect,
        (width, height): (u16, u16),
        fill: Style,
        buf: &mut Buffer,
    ) -> Rect {
        let width = width.min(area.width);
        let height = height.min(area.height);
        let frame = Rect::new(
            area.x + (area.width - width) / 2,
            area.y + (area.height - height) / 2,
            width,
            height,
        );
        Clear.render(frame, buf);
        buf.set_style(frame, fill);
        self.render(frame, buf);
        TitledBox::inner(frame)
    }
}

/// Writes `open` + `label` + `close` at `(x, y)`, in at most `max` cells; returns the width
/// used.
fn set_label(
    buf: &mut Buffer,
    (x, y): (u16, u16),
    open: char,
    label: &Line<'_>,
    close: char,
    border: Style,
    max: u16,
) -> u16 {
    let label_width = u16::try_from(label.width()).unwrap_or(u16::MAX);
    if max < 3 {
        return 0;
    }
    let shown = label_width.min(max - 2);
    buf.set_string(x, y, open.to_string(), border);
    buf.set_line(x + 1, y, label, shown);
    buf.set_string(x + 1 + shown, y, close.to_string(), border);
    shown + 2
}

impl Widget for TitledBox<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.width < 2 || area.height < 2 {
            return;
        }
        let border = Style::new().fg(self.border);
        Block::bordered()
            .border_type(BorderType::Rounded)
            .border_style(border)
            .render(area, buf);
        // Labels keep one `─` after each corner.
        let room = area.width.saturating_sub(4);
        let mut title = Vec::new();
        if let Some(sup) = self.hotkey.and_then(superscript) {
            title.push(Span::styled(
                sup.to_string(),
                Style::new().fg(self.hotkey_fg),
            ));
        }
        title.push(Span::styled(
            self.title,
            Style::new().fg(self.title_fg).add_modifier(Modifier::BOLD),
        ));
        let used = set_label(
            buf,
            (area.x + 2, area.y),
            '┐',
            &Line::from(title),
            '┌',
            border,
            room,
        );
        if let Some(right) = &self.right {
            let want = u16::try_from(right.width())
                .unwrap_or(u16::MAX)
                .saturating_add(2);
            // Leave a `─` between the title and the right label.
            let free = room.saturating_sub(used + 1);
            if want <= free {
                let x = area.right() - 2 - want;
                set_label(buf, (x, area.y), '┐', right, '┌', border, want);
            }
        }
        if let Some(bottom) = &self.bottom {
            set_label(
                buf,
                (area.x + 2, area.bottom() - 1),
                '┘',
                bottom,
                '└',
                border,
                room,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(buf: &Buffer, y: u16) -> String {
        (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
    }

    #[test]
    fn title_sits_in_the_top_border() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 3));
        TitledBox::new("cpu", Color::Blue, Color::White, Color::Red)
            .hotkey(1)
            .right_label(Line::from("42%"))
            .bottom_label(Line::from("load 1"))
            .render(buf.area, &mut buf);
        assert_eq!(row(&buf, 0), "╭─┐¹cpu┌─────┐42%┌─╮");
        assert_eq!(row(&buf, 1), "│                  │");
        assert_eq!(row(&buf, 2), "╰─┘load 1└─────────╯");
        assert_eq!(buf[(0, 0)].fg, Color::Blue);
        assert_eq!(buf[(2, 0)].fg, Color::Blue);
        assert_eq!(buf[(3, 0)].fg, Color::Red);
        assert_eq!(buf[(4, 0)].fg, Color::White);
        assert!(buf[(4, 0)].modifier.contains(Modifier::BOLD));
        assert_eq!(TitledBox::inner(buf.area), Rect::new(1, 1, 18, 1));
    }

    #[test]
    fn narrow_boxes_cut_the_title_and_drop_the_right_label() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 2));
        TitledBox::new("network", Color::Blue, Color::White, Color::Red)
            .hotkey(3)
            .right_label(Line::from("eth0"))
            .render(buf.area, &mut buf);
        assert_eq!(row(&buf, 0), "╭─┐³n┌─╮");
    }

    #[test]
    fn superscripts() {
        assert_eq!(superscript(1), Some('¹'));
        assert_eq!(superscript(4), Some('⁴'));
        assert_eq!(superscript(10), None);
    }
}
