//! Big numbers for stat panels: digits, the decimal point and signs drawn three rows high
//! in heavy box-drawing strokes (`┏━┓`), as clocks in terminals draw them. `big_width`
//! says whether (and how wide) a text can be drawn; `BigNumber` draws it at the top left
//! of its area. The dashboard's stat and gauge panels use it when they have the room.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

/// Rows a big number takes.
pub const BIG_HEIGHT: u16 = 3;

/// The three rows of a character's glyph, or `None` when it has none.
fn glyph(c: char) -> Option<[&'static str; 3]> {
    Some(match c {
        '0' => ["┏━┓", "┃ ┃", "┗━┛"],
        '1' => ["╺┓ ", " ┃ ", "╺┻╸"],
        '2' => ["┏━┓", "┏━┛", "┗━╸"],
        '3' => ["┏━┓", "╺━┫", "┗━┛"],
        '4' => ["╻ ╻", "┗━┫", "  ╹"],
        '5' => ["┏━╸", "┗━┓", "┗━┛"],
        '6' => ["┏━╸", "┣━┓", "┗━┛"],
        '7' => ["┏━┓", "  ┃", "  ╹"],
        '8' => ["┏━┓", "┣━┫", "┗━┛"],
        '9' => ["┏━┓", "┗━┫", "┗━┛"],
        '.' => [" ", " ", "╹"],
        '-' => ["  ", "╺╸", "  "],
        '+' => ["   ", "╺╋╸", "   "],
        ' ' => [" ", " ", " "],
        _ => return None,
    })
}

/// The cells `text` takes drawn big (a column between glyphs), or `None` when a
/// character has no big glyph.
pub fn big_width(text: &str) -> Option<u16> {
    let mut w: usize = 0;
    for (i, c) in text.chars().enumerate() {
        let g = glyph(c)?;
        w += g[0].chars().count() + usize::from(i > 0);
    }
    u16::try_from(w).ok()
}

/// Splits a formatted value into the part drawn big and the unit after it:
/// `"1.5 MiB/s"` → `("1.5", "MiB/s")`, `"42.1%"` → `("42.1", "%")`, `"NaN"` → `("", "NaN")`.
pub fn split_number(text: &str) -> (&str, &str) {
    let end = text
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && c == '-')))
        .map_or(text.len(), |(i, _)| i);
    let (num, unit) = text.split_at(end);
    if num.chars().any(|c| c.is_ascii_digit()) {
        (num, unit.trim_start())
    } else {
        ("", text)
    }
}

/// `text` drawn three rows high from the top left of the area, clipped to it.
#[derive(Debug, Clone)]
pub struct BigNumber<'a> {
    text: &'a str,
    style: Style,
}

impl<'a> BigNumber<'a> {
    pub fn new(text: &'a str, style: Style) -> Self {
        BigNumber { text, style }
    }
}

impl Widget for BigNumber<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        let mut x = area.x;
        for (i, c) in self.text.chars().enumerate() {
            let Some(g) = glyph(c) else { continue };
            if i > 0 {
                x = x.saturating_add(1);
            }
            let w = g[0].chars().count() as u16;
            for (dy, line) in g.iter().enumerate() {
                let y = area.y + dy as u16;
                if y >= area.bottom() {
                    break;
                }
                for (dx, ch) in line.chars().enumerate() {
                    let cx = x.saturating_add(dx as u16);
                    if cx < area.right() && ch != ' ' {
                        buf[(cx, y)].set_char(ch).set_style(self.style);
                    }
                }
            }
            x = x.saturating_add(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(buf: &Buffer) -> Vec<String> {
        (0..buf.area.height)
            .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
            .collect()
    }

    #[test]
    fn digits_are_three_rows_high() {
        assert_eq!(big_width("42.1"), Some(3 + 1 + 3 + 1 + 1 + 1 + 3));
        assert_eq!(big_width("1e5"), None);
        assert_eq!(big_width(""), Some(0));
        let mut buf = Buffer::empty(Rect::new(0, 0, 13, 3));
        BigNumber::new("-40.7", Style::new()).render(buf.area, &mut buf);
        assert_eq!(
            rows(&buf),
            ["   ╻ ╻ ┏━┓   ", "╺╸ ┗━┫ ┃ ┃   ", "     ╹ ┗━┛ ╹ "]
        );
        // Clipped, never out of bounds.
        let mut small = Buffer::empty(Rect::new(0, 0, 2, 1));
        BigNumber::new("888", Style::new()).render(small.area, &mut small);
        assert_eq!(rows(&small), ["┏━"]);
    }

    #[test]
    fn numbers_split_from_their_units() {
        assert_eq!(split_number("1.5 MiB/s"), ("1.5", "MiB/s"));
        assert_eq!(split_number("42.1%"), ("42.1", "%"));
        assert_eq!(split_number("-3.2k"), ("-3.2", "k"));
        assert_eq!(split_number("3.18d"), ("3.18", "d"));
        assert_eq!(split_number("NaN"), ("", "NaN"));
        assert_eq!(split_number("+Inf"), ("", "+Inf"));
        assert_eq!(split_number("-"), ("", "-"));
        assert_eq!(split_number("0"), ("0", ""));
    }
}
