//! `screen.txt`: the screen as plain text, one line per row, each line's trailing spaces
//! trimmed, for pasting into issues and for grepping in tests.

use ratatui::buffer::Buffer;

use super::{Defaults, rows};

/// The buffer's characters, row by row, each row ending in `\n`.
pub fn to_text(buf: &Buffer) -> String {
    // Colours do not matter here; any defaults do.
    let defaults = Defaults { fg: None, bg: None };
    let mut out = String::new();
    for row in rows(buf, &defaults) {
        let line: String = row.iter().map(|g| g.symbol).collect();
        out.push_str(line.trim_end_matches(' '));
        out.push('\n');
    }
    out
}
