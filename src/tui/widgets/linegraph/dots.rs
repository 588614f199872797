//! The dot grid under the line graph: `GraphSymbols` (braille, block, tty), which says how
//! many dots a cell holds and which character shows a set of dots, and `Canvas`, where
//! `LineGraph` sets dots and draws column-by-column line segments before turning each cell
//! into one character.

/// Which characters draw the lines, as btop's `graph_symbol` option.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum GraphSymbols {
    /// 2×4 dots per cell (U+2800 braille patterns).
    #[default]
    Braille,
    /// 2×2 quadrants per cell (▘▝▖▗▀▄▌▐▚▞▙▛▜▟█).
    Block,
    /// 1×2 per cell in plain ASCII (`'` `.` `:`), for fonts without either.
    Tty,
}

impl GraphSymbols {
    pub const ALL: [GraphSymbols; 3] = [
        GraphSymbols::Braille,
        GraphSymbols::Block,
        GraphSymbols::Tty,
    ];

    /// The next symbol set (braille → block → tty → braille).
    pub fn next(self) -> Self {
        match self {
            GraphSymbols::Braille => GraphSymbols::Block,
            GraphSymbols::Block => GraphSymbols::Tty,
            GraphSymbols::Tty => GraphSymbols::Braille,
        }
    }

    /// btop's name: "braille", "block" or "tty".
    pub fn name(self) -> &'static str {
        match self {
            GraphSymbols::Braille => "braille",
            GraphSymbols::Block => "block",
            GraphSymbols::Tty => "tty",
        }
    }

    /// The set with btop's name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        GraphSymbols::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Dots per cell: (columns, rows).
    pub(super) fn dots(self) -> (usize, usize) {
        match self {
            GraphSymbols::Braille => (2, 4),
            GraphSymbols::Block => (2, 2),
            GraphSymbols::Tty => (1, 2),
        }
    }

    /// The character for a cell whose dot `row * cols + col` (rows from the top) is set for
    /// every set bit of `mask`.
    pub(super) fn glyph(self, mask: u8) -> char {
        match self {
            GraphSymbols::Braille => {
                // Dot order (row, col): braille's dots 1 4 / 2 5 / 3 6 / 7 8.
                const BITS: [u8; 8] = [0x01, 0x08, 0x02, 0x10, 0x04, 0x20, 0x40, 0x80];
                let code = (0..8)
                    .filter(|i| mask & (1 << i) != 0)
                    .fold(0u32, |acc, i| acc | u32::from(BITS[i]));
                char::from_u32(0x2800 + code).unwrap_or(' ')
            }
            GraphSymbols::Block => {
                const QUADS: [char; 16] = [
                    ' ', '▘', '▝', '▀', '▖', '▌', '▞', '▛', '▗', '▚', '▐', '▜', '▄', '▙', '▟', '█',
                ];
                QUADS[usize::from(mask & 0x0f)]
            }
            GraphSymbols::Tty => match mask & 0x03 {
                1 => '\'',
                2 => '.',
                3 => ':',
                _ => ' ',
            },
        }
    }
}

/// Rounds half away from zero with a plain cast (no libm call on the hot path); callers
/// keep `x` well inside the i64 range, and NaN gives 0.
#[inline]
pub fn round_i(x: f64) -> i64 {
    if x >= 0.0 {
        (x + 0.5) as i64
    } else {
        (x - 0.5) as i64
    }
}

/// A grid of dots, one bit mask and one owning series per cell. Dots per cell are powers of
/// two, so cells and bits are found with shifts.
pub(super) struct Canvas {
    pub cols: usize,
    pub rows: usize,
    dx_shift: u32,
    dy_shift: u32,
    pub masks: Vec<u8>,
    pub owner: Vec<u32>,
    /// The run of the stroke being drawn in its current column: (x, low y, high y,
    /// series). Runs of one continuous stroke in one column always touch, so they are
    /// merged and the column's dots are set once, when the stroke moves on.
    pen: Option<(i64, f64, f64, u32)>,
}

impl Canvas {
    pub fn new(cols: usize, rows: usize, (dx, dy): (usize, usize)) -> Self {
        debug_assert!(dx.is_power_of_two() && dy.is_power_of_two());
        Canvas {
            cols,
            rows,
            dx_shift: dx.trailing_zeros(),
            dy_shift: dy.trailing_zeros(),
            masks: vec![0; cols * rows],
            owner: vec![0; cols * rows],
            pen: None,
        }
    }

    pub fn width(&self) -> usize {
        self.cols << self.dx_shift
    }

    pub fn height(&self) -> usize {
        self.rows << self.dy_shift
    }

    /// Sets the dots of column `x` from `y0` to `y1` (counted from the bottom, either
    /// order, rounded and clamped to the grid).
    fn vline(&mut self, x: i64, y0: f64, y1: f64, series: u32) {
        let (w, h) = (self.width(), self.height());
        if x < 0 || x as usize >= w || h == 0 {
            return;
        }
        let x = x as usize;
        let top = (h - 1) as i64;
        let (a, b) = if y0 <= y1 { (y0, y1) } else { (y1, y0) };
        let a = round_i(a).clamp(0, top) as usize;
        let b = round_i(b).clamp(0, top) as usize;
        let col = x >> self.dx_shift;
        let x_bit = x & ((1 << self.dx_shift) - 1);
        let dy_mask = (1 << self.dy_shift) - 1;
        // Rows from the top.
        for y in (h - 1 - b)..=(h - 1 - a) {
            let cell = (y >> self.dy_shift) * self.cols + col;
            self.masks[cell] |= 1 << (((y & dy_mask) << self.dx_shift) + x_bit);
            self.owner[cell] = series;
        }
    }

    /// Adds the run from `y0` to `y1` in column `x` to the current stroke.
    pub fn mark(&mut self, x: i64, y0: f64, y1: f64, series: u32) {
        let (lo, hi) = if y0 <= y1 { (y0, y1) } else { (y1, y0) };
        if let Some((px, plo, phi, ps)) = self.pen.as_mut()
            && *px == x
            && *ps == series
        {
            *plo = plo.min(lo);
            *phi = phi.max(hi);
            return;
        }
        self.end_stroke();
        self.pen = Some((x, lo, hi, series));
    }

    /// Sets the pending run's dots; call at every break in a line and after each series.
    pub fn end_stroke(&mut self) {
        if let Some((x, lo, hi, series)) = self.pen.take() {
            self.vline(x, lo, hi, series);
        }
    }

    /// A line from (x0, y0) to (x1, y1) in dot space, column by column: each column gets
    /// the vertical run the segment crosses within it, so steep lines stay connected.
    pub fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), series: u32) {
        let (xa, xb) = (round_i(x0), round_i(x1));
        if xa == xb {
            self.mark(xa, y0, y1, series);
            return;
        }
        let ((xa, ya), (xb, yb)) = if xa < xb {
            ((xa, y0), (xb, y1))
        } else {
            ((xb, y1), (xa, y0))
        };
        if xb - xa == 1 {
            // Neighbouring columns (dense data): each takes its half of the rise.
            let mid = (ya + yb) / 2.0;
            self.mark(xa, ya, mid, series);
            self.mark(xb, mid, yb, series);
            return;
        }
        let from = xa.max(0);
        let to = xb.min(self.width() as i64 - 1);
        let slope = (yb - ya) / (xb - xa) as f64;
        let (ymin, ymax) = (ya.min(yb), ya.max(yb));
        for x in from..=to {
            let at = |px: f64| (ya + slope * (px - xa as f64)).clamp(ymin, ymax);
            self.mark(x, at(x as f64 - 0.5), at(x as f64 + 0.5), series);
        }
    }
}
