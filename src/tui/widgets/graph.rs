//! The braille graph: a history drawn as a filled area with 2×4 braille dots per cell, so
//! each cell shows two points at four heights. The newest point sits at the right edge, a
//! `None` point is a gap, and each row takes the gradient colour of its height. Screens
//! build one per graph and render it into whatever area the layout gives them.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use crate::tui::theme::Gradient;

/// The empty braille pattern; every other pattern is this plus dot bits.
const BRAILLE_BASE: u32 = 0x2800;
/// Dot bits of the left column, bottom dot first (dots 7, 3, 2, 1).
const LEFT_UP: [u8; 4] = [0x40, 0x04, 0x02, 0x01];
/// Dot bits of the right column, bottom dot first (dots 8, 6, 5, 4).
const RIGHT_UP: [u8; 4] = [0x80, 0x20, 0x10, 0x08];

/// A filled braille area graph of `values` (oldest first) scaled to `0..=max`.
#[derive(Debug, Clone)]
pub struct BrailleGraph<'a> {
    values: &'a [Option<f64>],
    max: f64,
    gradient: &'a Gradient,
    inverted: bool,
}

impl<'a> BrailleGraph<'a> {
    pub fn new(values: &'a [Option<f64>], max: f64, gradient: &'a Gradient) -> Self {
        BrailleGraph {
            values,
            max,
            gradient,
            inverted: false,
        }
    }

    /// Grow from the top edge downwards (btop's upload graph under the download graph).
    pub fn inverted(mut self, inverted: bool) -> Self {
        self.inverted = inverted;
        self
    }
}

/// How many of `levels` dots a value fills: rounded, and at least one for any positive
/// value so small activity stays visible. Gaps, NaN and values ≤ 0 fill none.
pub fn dots_for(value: Option<f64>, max: f64, levels: usize) -> usize {
    let Some(v) = value.filter(|v| v.is_finite()) else {
        return 0;
    };
    if v <= 0.0 || max.is_nan() || max <= 0.0 || levels == 0 {
        return 0;
    }
    let filled = (v.min(max) / max * levels as f64).round() as usize;
    filled.clamp(1, levels)
}

/// The braille character with the bottom `left` dots of the left column and the bottom
/// `right` dots of the right column set (each 0..=4). With `from_top`, the dots are counted
/// from the top instead.
pub fn braille(left: usize, right: usize, from_top: bool) -> char {
    let pick = |bits: &[u8; 4], n: usize| -> u8 {
        let n = n.min(4);
        if from_top {
            bits.iter().rev().take(n).fold(0, |acc, b| acc | b)
        } else {
            bits.iter().take(n).fold(0, |acc, b| acc | b)
        }
    };
    let code = BRAILLE_BASE + u32::from(pick(&LEFT_UP, left) | pick(&RIGHT_UP, right));
    char::from_u32(code).unwrap_or(' ')
}

impl Widget for BrailleGraph<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        let rows = usize::from(area.height);
        let levels = rows * 4;
        let columns = usize::from(area.width) * 2;
        // Column c (0..columns) shows values[first + c]; negative indices are before the data.
        let first = self.values.len() as isize - columns as isize;
        let dots_at = |c: usize| -> usize {
            let idx = first + c as isize;
            if idx < 0 {
                return 0;
            }
            dots_for(
                self.values.get(idx as usize).copied().flatten(),
                self.max,
                levels,
            )
        };
        for cx in 0..area.width {
            let left = dots_at(usize::from(cx) * 2);
            let right = dots_at(usize::from(cx) * 2 + 1);
            if left == 0 && right == 0 {
                continue;
            }
            for row in 0..rows {
                // `level` counts cells from the graph's base (bottom, or top when inverted).
                let level = if self.inverted { row } else { rows - 1 - row };
                let in_cell = |n: usize| n.saturating_sub(level * 4).min(4);
                let (l, r) = (in_cell(left), in_cell(right));
                if l == 0 && r == 0 {
                    continue;
                }
                let pct = (level + 1) as f64 / rows as f64 * 100.0;
                let y = area.y + row as u16;
                if let Some(cell) = buf.cell_mut((area.x + cx, y)) {
                    cell.set_char(braille(l, r, self.inverted));
                    cell.set_fg(self.gradient.at(pct));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;

    fn gradient() -> Gradient {
        Gradient::new(Color::Rgb(0, 0, 0), None, Some(Color::Rgb(200, 200, 200)))
    }

    fn render(values: &[Option<f64>], max: f64, w: u16, h: u16, inverted: bool) -> Buffer {
        let g = gradient();
        let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
        BrailleGraph::new(values, max, &g)
            .inverted(inverted)
            .render(buf.area, &mut buf);
        buf
    }

    fn symbols(buf: &Buffer) -> Vec<String> {
        (0..buf.area.height)
            .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
            .collect()
    }

    #[test]
    fn code_points() {
        assert_eq!(braille(0, 0, false), '\u{2800}');
        assert_eq!(braille(1, 0, false), '\u{2840}'); // dot 7
        assert_eq!(braille(0, 1, false), '\u{2880}'); // dot 8
        assert_eq!(braille(1, 1, false), '⣀');
        assert_eq!(braille(2, 2, false), '⣤');
        assert_eq!(braille(3, 3, false), '⣶');
        assert_eq!(braille(4, 4, false), '⣿');
        assert_eq!(braille(4, 0, false), '⡇');
        assert_eq!(braille(0, 4, false), '⢸');
        assert_eq!(braille(2, 4, false), '⣼');
        assert_eq!(braille(1, 1, true), '⠉');
        assert_eq!(braille(2, 0, true), '⠃');
    }

    #[test]
    fn dots_round_and_clamp() {
        assert_eq!(dots_for(Some(0.0), 100.0, 4), 0);
        assert_eq!(
            dots_for(Some(0.1), 100.0, 4),
            1,
            "small positive values stay visible"
        );
        assert_eq!(dots_for(Some(50.0), 100.0, 4), 2);
        assert_eq!(dots_for(Some(62.5), 100.0, 8), 5);
        assert_eq!(dots_for(Some(100.0), 100.0, 4), 4);
        assert_eq!(dots_for(Some(250.0), 100.0, 4), 4);
        assert_eq!(dots_for(Some(-5.0), 100.0, 4), 0);
        assert_eq!(dots_for(None, 100.0, 4), 0);
        assert_eq!(dots_for(Some(f64::NAN), 100.0, 4), 0);
        assert_eq!(dots_for(Some(5.0), 0.0, 4), 0);
    }

    #[test]
    fn one_row_values_map_to_code_points() {
        // 0, 25, 50, 75, 100, 100 → dots 0|1, 2|3, 4|4.
        let v = [0.0, 25.0, 50.0, 75.0, 100.0, 100.0].map(Some);
        let buf = render(&v, 100.0, 3, 1, false);
        assert_eq!(symbols(&buf), vec!["\u{2880}⣴⣿"]);
    }

    #[test]
    fn newest_on_the_right_and_gaps_blank() {
        // Width 3 shows 6 points; 4 exist, so the left cell is before the data, and the
        // `None` leaves the right half of the middle cell empty.
        let v = [Some(100.0), None, Some(100.0), Some(50.0)];
        let buf = render(&v, 100.0, 3, 1, false);
        assert_eq!(braille(4, 2, false), '\u{28E7}');
        assert_eq!(symbols(&buf), vec![" ⡇⣧"]);
    }

    #[test]
    fn two_rows_fill_from_the_bottom() {
        // Height 2 = 8 levels: 50% → 4 dots = full bottom cell, empty top cell;
        // 75% → 6 dots = full bottom, 2 dots in the top cell.
        let v = [Some(50.0), Some(75.0)];
        let buf = render(&v, 100.0, 1, 2, false);
        assert_eq!(symbols(&buf), vec!["⢠", "⣿"]);
    }

    #[test]
    fn inverted_grows_down() {
        let v = [Some(50.0), Some(75.0)];
        let buf = render(&v, 100.0, 1, 2, true);
        assert_eq!(symbols(&buf), vec!["⣿", "⠘"]);
    }

    #[test]
    fn rows_take_the_gradient_by_height() {
        let g = gradient();
        let v = vec![Some(100.0); 4];
        let buf = render(&v, 100.0, 2, 4, false);
        assert_eq!(
            buf[(1, 0)].fg,
            g.end(),
            "top row of a 100% column is the end colour"
        );
        assert_eq!(buf[(1, 3)].fg, g.at(25.0));
        let inv = render(&v, 100.0, 2, 4, true);
        assert_eq!(
            inv[(1, 3)].fg,
            g.end(),
            "inverted graphs peak at the bottom"
        );
    }

    #[test]
    fn scales_to_max_and_survives_tiny_areas() {
        let v = [Some(5.0), Some(10.0)];
        let buf = render(&v, 10.0, 1, 1, false);
        assert_eq!(symbols(&buf), vec!["⣼"]);
        let mut empty = Buffer::empty(Rect::new(0, 0, 0, 0));
        let g = gradient();
        BrailleGraph::new(&v, 10.0, &g).render(Rect::new(0, 0, 5, 5), &mut empty);
    }
}
