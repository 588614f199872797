//! `screen.ansi`: the screen with 24-bit SGR escape sequences, so `cat screen.ansi` in a
//! terminal at least as wide as the screen shows it again. Every style change writes a
//! full `ESC[0;…m` (reset, then attributes and colours), and every line ends with a reset,
//! so a line can be cut out and still shows right.

use std::fmt::Write as _;

use ratatui::buffer::Buffer;

use super::{Defaults, Look, rows};
use crate::tui::theme::Theme;

/// The SGR sequence that ends every line.
pub const RESET: &str = "\x1b[0m";

/// The buffer as text with colour and attribute escapes. Colours the theme leaves empty
/// stay the terminal's default.
pub fn to_ansi(buf: &Buffer, theme: &Theme) -> String {
    let defaults = Defaults::from_theme(theme);
    let mut out = String::new();
    for row in rows(buf, &defaults) {
        let mut current: Option<Look> = None;
        for g in &row {
            if current != Some(g.look) {
                sgr(&mut out, &g.look);
                current = Some(g.look);
            }
            out.push_str(g.symbol);
        }
        out.push_str(RESET);
        out.push('\n');
    }
    out
}

/// Writes `ESC[0;<attributes>;<fg>;<bg>m` for one look.
fn sgr(out: &mut String, look: &Look) {
    out.push_str("\x1b[0");
    for (on, code) in [
        (look.bold, "1"),
        (look.dim, "2"),
        (look.italic, "3"),
        (look.underline, "4"),
        (look.crossed, "9"),
    ] {
        if on {
            out.push(';');
            out.push_str(code);
        }
    }
    if let Some(c) = look.fg {
        let _ = write!(out, ";38;2;{};{};{}", c.0, c.1, c.2);
    }
    if let Some(c) = look.bg {
        let _ = write!(out, ";48;2;{};{};{}", c.0, c.1, c.2);
    }
    out.push('m');
}
