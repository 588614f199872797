//! The screen export formats on small hand-built buffers: exact text and ANSI output,
//! well-formed SVG and HTML with the right colours, escaping, wide characters and cells
//! the terminal would skip.

use ratatui::buffer::{Buffer, CellDiffOption};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use super::*;

fn theme() -> Theme {
    Theme {
        main_fg: Color::Rgb(200, 200, 200),
        main_bg: Color::Rgb(10, 20, 30),
        ..Theme::default()
    }
}

/// 6×2: `a<&` red and bold, `b` in the default colours; a wide `世`, then `"` on blue.
fn sample() -> Buffer {
    let mut buf = Buffer::empty(Rect::new(0, 0, 6, 2));
    let red_bold = Style::new()
        .fg(Color::Rgb(255, 0, 0))
        .add_modifier(Modifier::BOLD);
    buf.set_string(0, 0, "a<&", red_bold);
    buf.set_string(3, 0, "b", Style::new());
    buf.set_string(0, 1, "世", Style::new());
    buf.set_string(2, 1, "\"", Style::new().bg(Color::Blue));
    buf
}

const ESC: &str = "\x1b";

#[test]
fn text_trims_and_respects_wide_cells() {
    assert_eq!(to_text(&sample()), "a<&b\n世\"\n");
    let empty = Buffer::empty(Rect::new(0, 0, 3, 2));
    assert_eq!(to_text(&empty), "\n\n");
    assert_eq!(to_text(&Buffer::empty(Rect::new(0, 0, 0, 0))), "");
}

#[test]
fn ansi_is_exact() {
    let def = format!("{ESC}[0;38;2;200;200;200;48;2;10;20;30m");
    let expected = format!(
        "{ESC}[0;1;38;2;255;0;0;48;2;10;20;30ma<&{def}b  {ESC}[0m\n\
         {def}世{ESC}[0;38;2;200;200;200;48;2;0;0;238m\"{def}   {ESC}[0m\n"
    );
    assert_eq!(to_ansi(&sample(), &theme()), expected);
}

#[test]
fn ansi_leaves_empty_theme_colours_to_the_terminal() {
    let theme = Theme {
        main_bg: Color::Reset,
        ..theme()
    };
    let mut buf = Buffer::empty(Rect::new(0, 0, 2, 1));
    buf.set_string(0, 0, "x", Style::new().add_modifier(Modifier::UNDERLINED));
    assert_eq!(
        to_ansi(&buf, &theme),
        format!("{ESC}[0;4;38;2;200;200;200mx{ESC}[0;38;2;200;200;200m {ESC}[0m\n")
    );
}

#[test]
fn reversed_hidden_and_skipped_cells() {
    let mut buf = Buffer::empty(Rect::new(0, 0, 4, 1));
    buf.set_string(
        0,
        0,
        "rhs!",
        Style::new().fg(Color::Rgb(1, 2, 3)).bg(Color::Rgb(4, 5, 6)),
    );
    buf[(0, 0)].modifier = Modifier::REVERSED;
    buf[(1, 0)].modifier = Modifier::HIDDEN;
    buf[(2, 0)].set_diff_option(CellDiffOption::Skip);
    assert_eq!(to_text(&buf), "r  !\n");
    let rows = rows(&buf, &Defaults::from_theme(&theme()));
    assert_eq!(rows[0][0].look.fg, Some(Rgb(4, 5, 6)));
    assert_eq!(rows[0][0].look.bg, Some(Rgb(1, 2, 3)));
    assert_eq!(rows[0].len(), 4);
}

#[test]
fn wide_grapheme_cut_at_the_right_edge_becomes_blanks() {
    let mut buf = Buffer::empty(Rect::new(0, 0, 3, 1));
    buf.set_string(0, 0, "ab", Style::new());
    // Put a wide symbol in the last column by hand (set_string would refuse).
    buf[(2, 0)].set_symbol("世");
    let rows = rows(&buf, &Defaults::from_theme(&theme()));
    let covered: u16 = rows[0].iter().map(|g| g.width).sum();
    assert_eq!(covered, 3);
    assert_eq!(to_text(&buf), "ab\n");
}

#[test]
fn palette_colours() {
    assert_eq!(rgb_of(Color::Reset), None);
    assert_eq!(rgb_of(Color::Red), Some(Rgb(205, 0, 0)));
    assert_eq!(rgb_of(Color::White), Some(Rgb(255, 255, 255)));
    assert_eq!(rgb_of(Color::Indexed(16)), Some(Rgb(0, 0, 0)));
    assert_eq!(rgb_of(Color::Indexed(196)), Some(Rgb(255, 0, 0)));
    assert_eq!(rgb_of(Color::Indexed(231)), Some(Rgb(255, 255, 255)));
    assert_eq!(rgb_of(Color::Indexed(232)), Some(Rgb(8, 8, 8)));
    assert_eq!(rgb_of(Color::Indexed(255)), Some(Rgb(238, 238, 238)));
    assert_eq!(Rgb(0, 0, 0).mix(Rgb(100, 200, 50), 0.5), Rgb(50, 100, 25));
    assert_eq!(Rgb(18, 22, 29).hex(), "#12161d");
}

#[test]
fn escaping() {
    assert_eq!(
        escape_xml("<a href=\"x\">&'</a>"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
    );
    assert_eq!(escape_xml("a\u{1b}b\u{7}"), "a\u{FFFD}b\u{FFFD}");
    assert_eq!(escape_xml("⣿│世"), "⣿│世");
}

/// Checks that `doc` is well-formed XML as far as these exports go: every tag closed in
/// order, attributes quoted, no raw `<` or stray `&` in text. Returns the element names in
/// document order.
fn well_formed(doc: &str) -> Vec<String> {
    let body = doc.strip_prefix("<!DOCTYPE html>").unwrap_or(doc);
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open]);
        let close = rest[open..].find('>').expect("unclosed tag") + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, attrs) = tag.split_once(' ').unwrap_or((tag, ""));
        check_attrs(attrs);
        names.push(name.to_string());
        // HTML's void element.
        if !self_closing && name != "meta" {
            stack.push(name.to_string());
        }
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    names
}

fn check_text(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "stray & in {text:?}"
        );
    }
    assert!(!text.contains('>'), "raw > in text {text:?}");
}

fn check_attrs(attrs: &str) {
    let mut rest = attrs.trim();
    while !rest.is_empty() {
        let eq = rest.find("=\"").expect("attribute without =\"");
        let name = &rest[..eq];
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':'),
            "attribute name {name:?}"
        );
        let after = &rest[eq + 2..];
        let end = after.find('"').expect("unterminated attribute");
        check_text(&after[..end]);
        rest = after[end + 1..].trim_start();
    }
}

#[test]
fn svg_is_well_formed_with_grid_backgrounds_and_text() {
    let svg = to_svg(&sample(), &theme(), "kmon <test> & \"q\"");
    let names = well_formed(&svg);
    assert_eq!(names.first().map(String::as_str), Some("svg"));
    assert!(svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "));
    assert!(svg.contains("xml:space=\"preserve\""));
    assert!(svg.contains("font-family=\"'DejaVu Sans Mono', 'Noto Sans Mono',"));
    assert!(svg.contains("width=\"50.4\" height=\"32\" viewBox=\"0 0 50.4 32\""));
    assert!(svg.contains("<title>kmon &lt;test&gt; &amp; &quot;q&quot;</title>"));
    // The canvas in the theme's background, the blue cell as its own rect.
    assert!(svg.contains("<rect width=\"50.4\" height=\"32\" fill=\"#0a141e\"/>"));
    assert!(
        svg.contains("<rect x=\"16.8\" y=\"16\" width=\"8.4\" height=\"16\" fill=\"#0000ee\"/>")
    );
    assert_eq!(svg.matches("<rect").count(), 2);
    // Red bold text, escaped, as one word at column 0; `b` in the default colour.
    assert!(svg.contains(
        "<text y=\"12.8\" fill=\"#ff0000\" font-weight=\"bold\"><tspan x=\"0\">a&lt;&amp;</tspan></text>"
    ));
    assert!(svg.contains("<text y=\"12.8\" fill=\"#c8c8c8\"><tspan x=\"25.2\">b</tspan></text>"));
    // The wide character at column 0, the quote at column 2 (not 1).
    assert!(svg.contains(
        "<text y=\"28.8\" fill=\"#c8c8c8\"><tspan x=\"0\">世</tspan><tspan x=\"16.8\">&quot;</tspan></text>"
    ));
}

#[test]
fn svg_uses_black_when_the_theme_has_no_background() {
    let theme = Theme {
        main_bg: Color::Reset,
        ..theme()
    };
    let svg = to_svg(&Buffer::empty(Rect::new(0, 0, 2, 1)), &theme, "t");
    well_formed(&svg);
    assert!(svg.contains("fill=\"#000000\"/>"));
    assert_eq!(svg.matches("<rect").count(), 1);
    assert!(!svg.contains("crispEdges"), "no empty group of backgrounds");
    assert!(!svg.contains("<tspan"), "blank cells draw no text");
}

#[test]
fn svg_separates_non_ascii_glyphs_and_dims() {
    let mut buf = Buffer::empty(Rect::new(0, 0, 5, 1));
    buf.set_string(0, 0, "⣿⣀ab", Style::new().fg(Color::Rgb(100, 100, 100)));
    buf[(4, 0)].set_symbol("x").modifier = Modifier::DIM | Modifier::ITALIC;
    let svg = to_svg(&buf, &theme(), "t");
    assert!(svg.contains(
        "<tspan x=\"0\">⣿</tspan><tspan x=\"8.4\">⣀</tspan><tspan x=\"16.8\">ab</tspan>"
    ));
    // Dim: 40 % of the way from (200,200,200) to the background (10,20,30).
    assert!(svg.contains("fill=\"#7c8084\" font-style=\"italic\""));
}

#[test]
fn html_is_standalone_and_coloured() {
    let html = to_html(&sample(), &theme(), "kmon <test>");
    let names = well_formed(&html);
    assert_eq!(names.first().map(String::as_str), Some("html"));
    assert!(html.starts_with("<!DOCTYPE html>\n"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("<title>kmon &lt;test&gt;</title>"));
    assert!(html.contains("color: #c8c8c8; background: #0a141e;"));
    assert!(
        html.contains("<pre><span style=\"color:#ff0000;font-weight:bold\">a&lt;&amp;</span>b  \n")
    );
    assert!(html.contains("世<span style=\"background:#0000ee\">&quot;</span>   \n</pre>"));
    assert!(!html.contains("<script"));
}
