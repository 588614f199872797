//! `screen.svg`: the screen as a real SVG on a monospace grid — a background `<rect>` per
//! run of equal background colour, then the text in `<text>` elements grouped by style.
//! Every word of ASCII and every other grapheme is placed at its own column, so fallback
//! fonts with other advances (braille comes from one in most font setups) cannot push the
//! rest of a line off the grid.

use std::fmt::Write as _;

use ratatui::buffer::Buffer;

use super::{Defaults, FONT_FAMILY, Glyph, Metrics, Rgb, escape_xml, rows};
use crate::tui::theme::Theme;

/// The SVG document for the buffer, with `title` in its `<title>` (escaped).
pub fn to_svg(buf: &Buffer, theme: &Theme, title: &str) -> String {
    let defaults = Defaults::from_theme(theme);
    let m = Metrics::default();
    let width = num(f64::from(buf.area.width) * m.cell_width);
    let height = num(f64::from(buf.area.height) * m.cell_height);
    let mut out = String::new();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"{FONT_FAMILY}\" font-size=\"{fs}\" \
         xml:space=\"preserve\">\n<title>{title}</title>\n\
         <rect width=\"{width}\" height=\"{height}\" fill=\"{bg}\"/>\n",
        fs = num(m.font_size),
        title = escape_xml(title),
        bg = defaults.canvas_bg().hex(),
    );
    let rows = rows(buf, &defaults);
    let mut rects = String::new();
    for (y, row) in rows.iter().enumerate() {
        backgrounds(&mut rects, y, row, &defaults, &m);
    }
    if !rects.is_empty() {
        out.push_str("<g shape-rendering=\"crispEdges\">\n");
        out.push_str(&rects);
        out.push_str("</g>\n");
    }
    out.push_str("<g>\n");
    for (y, row) in rows.iter().enumerate() {
        texts(&mut out, y, row, &defaults, &m);
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// One `<rect>` per run of equal background that differs from the canvas.
fn backgrounds(out: &mut String, y: usize, row: &[Glyph<'_>], d: &Defaults, m: &Metrics) {
    let canvas = d.canvas_bg();
    let mut i = 0;
    while i < row.len() {
        let bg = row[i].look.canvas_bg(d);
        let start = row[i].x;
        let mut end = start;
        while i < row.len() && row[i].look.canvas_bg(d) == bg {
            end = row[i].x + row[i].width;
            i += 1;
        }
        if bg != canvas {
            let _ = writeln!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                num(f64::from(start) * m.cell_width),
                num(y as f64 * m.cell_height),
                num(f64::from(end - start) * m.cell_width),
                num(m.cell_height),
                bg.hex(),
            );
        }
    }
}

/// What `<text>` elements are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TextStyle {
    fill: Rgb,
    bold: bool,
    italic: bool,
    underline: bool,
    crossed: bool,
}

/// A piece of text placed at one column: an ASCII word, or one other grapheme.
struct Piece {
    x: u16,
    end: u16,
    text: String,
    ascii: bool,
}

/// The row's ink: consecutive glyphs of one style in one `<text>`, each piece in a
/// `<tspan>` at its column. Blanks are left out unless they carry a line.
fn texts(out: &mut String, y: usize, row: &[Glyph<'_>], d: &Defaults, m: &Metrics) {
    let mut groups: Vec<(TextStyle, Vec<Piece>)> = Vec::new();
    for g in row {
        if g.is_blank() && !g.look.marks_blanks() {
            continue;
        }
        let style = TextStyle {
            fill: g.look.canvas_fg(d),
            bold: g.look.bold,
            italic: g.look.italic,
            underline: g.look.underline,
            crossed: g.look.crossed,
        };
        if groups.last().is_none_or(|(s, _)| *s != style) {
            groups.push((style, Vec::new()));
        }
        let Some((_, pieces)) = groups.last_mut() else {
            continue;
        };
        let ascii = g.symbol.len() == 1 && g.symbol.is_ascii();
        match pieces.last_mut() {
            Some(p) if ascii && p.ascii && p.end == g.x => {
                p.text.push_str(g.symbol);
                p.end = g.x + g.width;
            }
            _ => pieces.push(Piece {
                x: g.x,
                end: g.x + g.width,
                text: g.symbol.to_string(),
                ascii,
            }),
        }
    }
    let baseline = num(y as f64 * m.cell_height + m.baseline);
    for (style, pieces) in groups {
        let _ = write!(out, "<text y=\"{baseline}\" fill=\"{}\"", style.fill.hex());
        if style.bold {
            out.push_str(" font-weight=\"bold\"");
        }
        if style.italic {
            out.push_str(" font-style=\"italic\"");
        }
        match (style.underline, style.crossed) {
            (true, true) => out.push_str(" text-decoration=\"underline line-through\""),
            (true, false) => out.push_str(" text-decoration=\"underline\""),
            (false, true) => out.push_str(" text-decoration=\"line-through\""),
            (false, false) => {}
        }
        out.push('>');
        for p in pieces {
            let _ = write!(
                out,
                "<tspan x=\"{}\">{}</tspan>",
                num(f64::from(p.x) * m.cell_width),
                escape_xml(&p.text)
            );
        }
        out.push_str("</text>\n");
    }
}

/// A coordinate with at most two decimals and no trailing zeros.
fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}
