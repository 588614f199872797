//! The meter bar: one row of small squares, the filled share coloured along a gradient (each
//! square by its own position) and the rest in the theme's `meter_bg`, as btop draws memory
//! and disk usage. Screens render one per memory, swap, filesystem and core row.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

use crate::tui::theme::Gradient;

/// The square every meter cell shows, filled or not.
pub const METER_CHAR: char = '■';

/// A horizontal meter showing `pct` (0..=100) of its width.
#[derive(Debug, Clone)]
pub struct Meter<'a> {
    pct: f64,
    gradient: &'a Gradient,
    empty: Color,
}

impl<'a> Meter<'a> {
    /// `empty` colours the unfilled squares (the theme's `meter_bg`).
    pub fn new(pct: f64, gradient: &'a Gradient, empty: Color) -> Self {
        Meter {
            pct,
            gradient,
            empty,
        }
    }
}

/// How many of `width` squares `pct` fills (rounded; NaN fills none).
pub fn filled_cells(pct: f64, width: u16) -> u16 {
    if !pct.is_finite() {
        return 0;
    }
    let share = pct.clamp(0.0, 100.0) / 100.0;
    (share * f64::from(width)).round() as u16
}

impl Widget for Meter<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        let filled = filled_cells(self.pct, area.width);
        for i in 0..area.width {
            let colour = if i < filled {
                self.gradient
                    .at(f64::from(i + 1) / f64::from(area.width) * 100.0)
            } else {
                self.empty
            };
            if let Some(cell) = buf.cell_mut((area.x + i, area.y)) {
                cell.set_char(METER_CHAR);
                cell.set_fg(colour);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_by_share_with_gradient_and_background() {
        let g = Gradient::new(Color::Rgb(0, 0, 0), None, Some(Color::Rgb(100, 100, 100)));
        let empty = Color::Rgb(9, 9, 9);
        let mut buf = Buffer::empty(Rect::new(0, 0, 10, 1));
        Meter::new(42.0, &g, empty).render(buf.area, &mut buf);
        let line: String = (0..10).map(|x| buf[(x, 0)].symbol()).collect();
        assert_eq!(line, "■■■■■■■■■■");
        assert_eq!(buf[(0, 0)].fg, g.at(10.0));
        assert_eq!(buf[(3, 0)].fg, g.at(40.0));
        assert_eq!(buf[(4, 0)].fg, empty);
        assert_eq!(buf[(9, 0)].fg, empty);
    }

    #[test]
    fn full_meter_ends_on_the_gradient_end() {
        let g = Gradient::new(Color::Rgb(0, 0, 0), None, Some(Color::Rgb(100, 100, 100)));
        let mut buf = Buffer::empty(Rect::new(0, 0, 5, 1));
        Meter::new(100.0, &g, Color::Reset).render(buf.area, &mut buf);
        assert_eq!(buf[(4, 0)].fg, g.end());
    }

    #[test]
    fn filled_cell_counts() {
        assert_eq!(filled_cells(0.0, 10), 0);
        assert_eq!(filled_cells(4.9, 10), 0);
        assert_eq!(filled_cells(5.0, 10), 1);
        assert_eq!(filled_cells(100.0, 10), 10);
        assert_eq!(filled_cells(130.0, 10), 10);
        assert_eq!(filled_cells(f64::NAN, 10), 0);
    }
}
