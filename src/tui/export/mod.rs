//! Screen export: pure functions from a drawn ratatui `Buffer` to files a person can keep
//! or share — `to_svg`, `to_html`, `to_ansi` and `to_text`. The app's export writer calls
//! them with the buffer the screen was drawn into and the theme (for the colours of cells
//! left at the terminal's default); nothing here touches files or the terminal.
//!
//! This file turns a buffer into rows of `Glyph`s with resolved colours and attributes
//! (wide characters and skipped cells handled once, here); one file per format turns
//! those rows into text.

mod ansi;
mod html;
mod svg;
mod text;

use ratatui::buffer::{Buffer, Cell, CellDiffOption, CellWidth};
use ratatui::style::{Color, Modifier};

pub use ansi::to_ansi;
pub use html::to_html;
pub use svg::to_svg;
pub use text::to_text;

use crate::tui::theme::Theme;

/// Fonts for the SVG and HTML exports, best first: monospace fonts with box-drawing and
/// block glyphs, then fonts that add braille (DejaVu Sans, Noto Sans Symbols 2), then the
/// viewer's monospace.
pub const FONT_FAMILY: &str = "'DejaVu Sans Mono', 'Noto Sans Mono', 'Liberation Mono', \
    Menlo, Consolas, 'DejaVu Sans', 'Noto Sans Symbols 2', 'Segoe UI Symbol', monospace";

/// The size of the grid in the SVG and HTML exports, in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    pub font_size: f64,
    /// Column width: at most the font's advance (0.6 em for the fonts above), so
    /// horizontal box lines and blocks overlap by a hair instead of leaving gaps.
    pub cell_width: f64,
    /// Row height: at most the font's ascent + descent (1.164 em for DejaVu Sans Mono),
    /// so vertical box lines connect from row to row.
    pub cell_height: f64,
    /// From the top of a row to the text baseline.
    pub baseline: f64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            font_size: 14.0,
            cell_width: 8.4,
            cell_height: 16.0,
            baseline: 12.8,
        }
    }
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// `self` moved towards `other` by `t` (0 = self, 1 = other).
    pub fn mix(self, other: Rgb, t: f64) -> Rgb {
        let ch = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
        Rgb(
            ch(self.0, other.0),
            ch(self.1, other.1),
            ch(self.2, other.2),
        )
    }
}

/// What formats with their own canvas (SVG, HTML) paint when neither the cell nor the
/// theme names a background: black, as most terminals.
pub const FALLBACK_BG: Rgb = Rgb(0, 0, 0);
/// ... and a foreground: xterm's default light grey.
pub const FALLBACK_FG: Rgb = Rgb(229, 229, 229);

/// The colours of cells left at `Color::Reset`: the theme's `main_fg`/`main_bg`, or `None`
/// (the terminal's own default) when the theme leaves them empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    pub fg: Option<Rgb>,
    pub bg: Option<Rgb>,
}

impl Defaults {
    pub fn from_theme(theme: &Theme) -> Defaults {
        Defaults {
            fg: rgb_of(theme.main_fg),
            bg: rgb_of(theme.main_bg),
        }
    }

    /// The background a canvas format paints behind everything.
    pub fn canvas_bg(&self) -> Rgb {
        self.bg.unwrap_or(FALLBACK_BG)
    }

    /// The foreground a canvas format uses for text without a colour.
    pub fn canvas_fg(&self) -> Rgb {
        self.fg.unwrap_or(FALLBACK_FG)
    }
}

/// A cell's look after `Reset`, `REVERSED` and `HIDDEN` are resolved. `None` colours are
/// the terminal's defaults (only possible when the theme leaves them empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Look {
    pub fg: Option<Rgb>,
    pub bg: Option<Rgb>,
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
    pub underline: bool,
    pub crossed: bool,
}

impl Look {
    fn of(cell: &Cell, defaults: &Defaults) -> Look {
        let m = cell.modifier;
        let mut fg = rgb_of(cell.fg).or(defaults.fg);
        let mut bg = rgb_of(cell.bg).or(defaults.bg);
        if m.contains(Modifier::REVERSED) {
            std::mem::swap(&mut fg, &mut bg);
        }
        Look {
            fg,
            bg,
            bold: m.contains(Modifier::BOLD),
            dim: m.contains(Modifier::DIM),
            italic: m.contains(Modifier::ITALIC),
            underline: m.contains(Modifier::UNDERLINED),
            crossed: m.contains(Modifier::CROSSED_OUT),
        }
    }

    /// The text colour a canvas format paints: dim text is mixed 40 % towards the
    /// background, as terminals show faint text.
    pub fn canvas_fg(&self, defaults: &Defaults) -> Rgb {
        let fg = self.fg.unwrap_or(defaults.canvas_fg());
        if self.dim {
            fg.mix(self.canvas_bg(defaults), 0.4)
        } else {
            fg
        }
    }

    pub fn canvas_bg(&self, defaults: &Defaults) -> Rgb {
        self.bg.unwrap_or(defaults.canvas_bg())
    }

    /// Whether a blank glyph in this look still draws something (a line through or under).
    pub fn marks_blanks(&self) -> bool {
        self.underline || self.crossed
    }

    /// The same look without its background (what text runs are grouped by).
    pub fn text_only(&self) -> Look {
        Look { bg: None, ..*self }
    }
}

/// One thing drawn on the grid: a grapheme at column `x` covering `width` columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Glyph<'a> {
    pub x: u16,
    pub width: u16,
    /// The grapheme; a space for skipped or hidden cells.
    pub symbol: &'a str,
    pub look: Look,
}

impl Glyph<'_> {
    /// A glyph that draws no ink of its own (space, or the empty braille pattern).
    pub fn is_blank(&self) -> bool {
        self.symbol.chars().all(|c| c == ' ' || c == '\u{2800}')
    }
}

/// The buffer as rows of glyphs, left to right, covering every column exactly once. A wide
/// grapheme covers the cells after it (ratatui leaves those blank and the terminal never
/// draws them); a wide grapheme that would run past the right edge is replaced by blanks.
/// Cells marked `Skip` (something outside the buffer draws there) and `HIDDEN` cells are
/// blanks in their own colours.
pub fn rows<'a>(buf: &'a Buffer, defaults: &Defaults) -> Vec<Vec<Glyph<'a>>> {
    let width = usize::from(buf.area.width);
    if width == 0 {
        return Vec::new();
    }
    buf.content
        .chunks(width)
        .map(|cells| row(cells, defaults))
        .collect()
}

fn row<'a>(cells: &'a [Cell], defaults: &Defaults) -> Vec<Glyph<'a>> {
    let mut out = Vec::with_capacity(cells.len());
    let mut x = 0;
    while x < cells.len() {
        let cell = &cells[x];
        let look = Look::of(cell, defaults);
        let blank = |x: usize| Glyph {
            x: x as u16,
            width: 1,
            symbol: " ",
            look,
        };
        if is_skipped(cell) || cell.modifier.contains(Modifier::HIDDEN) {
            out.push(blank(x));
            x += 1;
            continue;
        }
        let symbol = cell.symbol();
        let w = usize::from(cell.cell_width());
        if w == 0 {
            // A lone zero-width symbol (combining mark): terminals show nothing useful.
            out.push(blank(x));
            x += 1;
        } else if x + w > cells.len() {
            for i in x..cells.len() {
                out.push(blank(i));
            }
            x = cells.len();
        } else {
            out.push(Glyph {
                x: x as u16,
                width: w as u16,
                symbol,
                look,
            });
            x += w;
        }
    }
    out
}

#[allow(deprecated)] // `skip` is the pre-0.30.1 spelling of `CellDiffOption::Skip`.
fn is_skipped(cell: &Cell) -> bool {
    matches!(cell.diff_option, CellDiffOption::Skip)
        || (cell.skip && cell.diff_option == CellDiffOption::None)
}

/// The RGB value of a ratatui colour (xterm's palette for the 16 named and 256 indexed
/// colours); `None` for `Reset`.
pub fn rgb_of(color: Color) -> Option<Rgb> {
    let idx = match color {
        Color::Reset => return None,
        Color::Rgb(r, g, b) => return Some(Rgb(r, g, b)),
        Color::Indexed(i) => i,
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
    };
    Some(xterm(idx))
}

/// xterm's default 256-colour palette.
fn xterm(i: u8) -> Rgb {
    const BASE: [Rgb; 16] = [
        Rgb(0, 0, 0),
        Rgb(205, 0, 0),
        Rgb(0, 205, 0),
        Rgb(205, 205, 0),
        Rgb(0, 0, 238),
        Rgb(205, 0, 205),
        Rgb(0, 205, 205),
        Rgb(229, 229, 229),
        Rgb(127, 127, 127),
        Rgb(255, 0, 0),
        Rgb(0, 255, 0),
        Rgb(255, 255, 0),
        Rgb(92, 92, 255),
        Rgb(255, 0, 255),
        Rgb(0, 255, 255),
        Rgb(255, 255, 255),
    ];
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    match i {
        0..=15 => BASE[usize::from(i)],
        16..=231 => {
            let n = i - 16;
            Rgb(
                LEVELS[usize::from(n / 36)],
                LEVELS[usize::from(n / 6 % 6)],
                LEVELS[usize::from(n % 6)],
            )
        }
        _ => {
            let v = 8 + 10 * (i - 232);
            Rgb(v, v, v)
        }
    }
}

/// `text` with XML's five special characters escaped, and characters XML 1.0 cannot hold
/// (control characters other than tab and newline) replaced by U+FFFD.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
