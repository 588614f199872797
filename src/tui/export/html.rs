//! `screen.html`: a standalone page (no scripts, no external files) with the screen in a
//! `<pre>` of inline-styled spans, in the same colours as the SVG export.

use std::fmt::Write as _;

use ratatui::buffer::Buffer;

use super::{Defaults, FONT_FAMILY, Look, Metrics, escape_xml, rows};
use crate::tui::theme::Theme;

/// The page. `title` goes into `<title>` (escaped).
pub fn to_html(buf: &Buffer, theme: &Theme, title: &str) -> String {
    let defaults = &Defaults::from_theme(theme);
    let m = Metrics::default();
    let page_fg = defaults.canvas_fg();
    let page_bg = defaults.canvas_bg();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n<style>\n\
         body {{ margin: 0; background: {bg}; }}\n\
         pre {{ margin: 0; padding: 8px; font-family: {FONT_FAMILY}; font-size: {fs}px; \
         line-height: {lh}px; color: {fg}; background: {bg}; }}\n\
         </style>\n</head>\n<body>\n<pre>",
        title = escape_xml(title),
        bg = page_bg.hex(),
        fg = page_fg.hex(),
        fs = m.font_size,
        lh = m.cell_height,
    );
    for row in rows(buf, defaults) {
        let mut i = 0;
        while i < row.len() {
            let look = row[i].look;
            let mut text = String::new();
            while i < row.len() && row[i].look == look {
                text.push_str(row[i].symbol);
                i += 1;
            }
            let style = span_style(&look, defaults);
            if style.is_empty() {
                out.push_str(&escape_xml(&text));
            } else {
                let _ = write!(out, "<span style=\"{style}\">{}</span>", escape_xml(&text));
            }
        }
        out.push('\n');
    }
    out.push_str("</pre>\n</body>\n</html>\n");
    out
}

/// The inline CSS of one run: only what differs from the page.
fn span_style(look: &Look, defaults: &Defaults) -> String {
    let mut css = Vec::new();
    let fg = look.canvas_fg(defaults);
    if fg != defaults.canvas_fg() {
        css.push(format!("color:{}", fg.hex()));
    }
    let bg = look.canvas_bg(defaults);
    if bg != defaults.canvas_bg() {
        css.push(format!("background:{}", bg.hex()));
    }
    if look.bold {
        css.push("font-weight:bold".into());
    }
    if look.italic {
        css.push("font-style:italic".into());
    }
    match (look.underline, look.crossed) {
        (true, true) => css.push("text-decoration:underline line-through".into()),
        (true, false) => css.push("text-decoration:underline".into()),
        (false, true) => css.push("text-decoration:line-through".into()),
        (false, false) => {}
    }
    css.join(";")
}
