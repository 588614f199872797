//! Colour depth: how many colours the terminal shows, read from the environment
//! (`ColorDepth::detect`: NO_COLOR, COLORTERM, TERM), and the pure functions that bring a
//! theme's 24-bit colours down to it — a nearest-colour search over xterm's 256-colour
//! cube and grey ramp, or over the 16 ANSI colours. With no colours at all, `monochrome`
//! strips a drawn buffer and marks with attributes what colour alone said (selection,
//! focus, meters, the selected graph series). `ThemeSet` (in `catalog`) keeps a theme at
//! full depth for exports and a mapped copy for the screen; the TUI's draw calls
//! `monochrome`.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use super::Theme;

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ColorDepth {
    /// 24-bit colour (`COLORTERM=truecolor` or `24bit`).
    #[default]
    TrueColor,
    /// xterm's 256 colours (`TERM=*256color*`).
    Ansi256,
    /// The 16 ANSI colours.
    Ansi16,
    /// No colour at all (`NO_COLOR` set and not empty, see no-color.org).
    None,
}

impl ColorDepth {
    /// The depth the environment asks for: NO_COLOR (set and non-empty) wins, then
    /// COLORTERM `truecolor`/`24bit`, then a TERM naming 256 colours; 16 otherwise.
    /// `var` reads one environment variable (`std::env::var`, or a map in tests).
    pub fn detect(var: impl Fn(&str) -> Option<String>) -> ColorDepth {
        if var("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return ColorDepth::None;
        }
        let colorterm = var("COLORTERM").unwrap_or_default().to_ascii_lowercase();
        if matches!(colorterm.trim(), "truecolor" | "24bit") {
            return ColorDepth::TrueColor;
        }
        let term = var("TERM").unwrap_or_default().to_ascii_lowercase();
        if term.contains("256color") {
            return ColorDepth::Ansi256;
        }
        ColorDepth::Ansi16
    }

    /// `detect` on this process's environment.
    pub fn from_env() -> ColorDepth {
        ColorDepth::detect(|k| std::env::var(k).ok())
    }

    /// The `--color` names: auto is `None` (detect), the rest a depth.
    pub fn from_name(name: &str) -> Option<Option<ColorDepth>> {
        match name.to_ascii_lowercase().as_str() {
            "auto" => Some(None),
            "truecolor" | "24bit" => Some(Some(ColorDepth::TrueColor)),
            "256" => Some(Some(ColorDepth::Ansi256)),
            "16" => Some(Some(ColorDepth::Ansi16)),
            "none" | "no" | "off" => Some(Some(ColorDepth::None)),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ColorDepth::TrueColor => "truecolor",
            ColorDepth::Ansi256 => "256",
            ColorDepth::Ansi16 => "16",
            ColorDepth::None => "none",
        }
    }
}

/// The reference RGB of palette entry `i` (xterm's defaults; the export uses the same).
fn palette_rgb(i: u8) -> (u8, u8, u8) {
    const BASE: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    match i {
        0..=15 => BASE[usize::from(i)],
        16..=231 => {
            let n = i - 16;
            (
                LEVELS[usize::from(n / 36)],
                LEVELS[usize::from(n / 6 % 6)],
                LEVELS[usize::from(n % 6)],
            )
        }
        _ => {
            let v = 8 + 10 * (i - 232);
            (v, v, v)
        }
    }
}

/// Perceptual distance between two sRGB colours ("redmean": a weighted Euclidean distance
/// that tracks the eye far better than plain RGB, without a colour-space conversion).
fn distance(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let rmean = (u32::from(a.0) + u32::from(b.0)) / 2;
    let dr = (i32::from(a.0) - i32::from(b.0)).unsigned_abs();
    let dg = (i32::from(a.1) - i32::from(b.1)).unsigned_abs();
    let db = (i32::from(a.2) - i32::from(b.2)).unsigned_abs();
    (((512 + rmean) * dr * dr) >> 8) + 4 * dg * dg + (((767 - rmean) * db * db) >> 8)
}

/// The index in `candidates` nearest to `rgb` (the first on ties).
fn nearest(rgb: (u8, u8, u8), candidates: impl Iterator<Item = u8>) -> u8 {
    candidates
        .min_by_key(|&i| distance(rgb, palette_rgb(i)))
        .unwrap_or(0)
}

/// The xterm 256-colour index nearest to an RGB colour, from the 6×6×6 cube (16–231) and
/// the grey ramp (232–255). The first 16 are left out: they follow the user's palette, so
/// their RGB is not known.
pub fn nearest_256(r: u8, g: u8, b: u8) -> u8 {
    nearest((r, g, b), 16..=255)
}

/// The ANSI colour (0–15) nearest to an RGB colour, by xterm's default palette.
pub fn nearest_16(r: u8, g: u8, b: u8) -> u8 {
    nearest((r, g, b), 0..=15)
}

/// One colour brought down to `depth`. The 16 ANSI colours and `Reset` pass unchanged;
/// palette indexes 16–255 stay at 256 colours and become their nearest ANSI colour at 16.
/// At `None` everything is `Reset`.
pub fn map_color(color: Color, depth: ColorDepth) -> Color {
    match (depth, color) {
        (ColorDepth::TrueColor, c) => c,
        (ColorDepth::None, _) => Color::Reset,
        (ColorDepth::Ansi256, Color::Rgb(r, g, b)) => Color::Indexed(nearest_256(r, g, b)),
        (ColorDepth::Ansi16, Color::Rgb(r, g, b)) => super::ansi_color(nearest_16(r, g, b)),
        (ColorDepth::Ansi16, Color::Indexed(i)) if i >= 16 => {
            let (r, g, b) = palette_rgb(i);
            super::ansi_color(nearest_16(r, g, b))
        }
        (_, c) => c,
    }
}

impl Theme {
    /// The theme as a terminal of `depth` shows it. At 16 colours the selection, meter
    /// and divider colours that fell onto the background are moved off it, so they stay
    /// visible. At `None` the theme is returned as is: the screen is drawn in it and then
    /// stripped by `monochrome`, which needs the colours to know what they meant.
    pub fn with_depth(&self, depth: ColorDepth) -> Theme {
        if matches!(depth, ColorDepth::TrueColor | ColorDepth::None) {
            return self.clone();
        }
        let mut out = self.map_colors(|c| map_color(c, depth));
        if depth == ColorDepth::Ansi16 {
            let light_bg = matches!(
                out.main_bg,
                Color::White | Color::Gray | Color::LightYellow | Color::LightCyan
            );
            let apart = if light_bg {
                Color::Gray
            } else {
                Color::DarkGray
            };
            for c in [
                &mut out.selected_bg,
                &mut out.meter_bg,
                &mut out.div_line,
                &mut out.inactive_fg,
            ] {
                if *c == out.main_bg {
                    *c = apart;
                }
            }
            if out.selected_bg == out.selected_fg {
                out.selected_fg = if light_bg { Color::Black } else { Color::White };
            }
        }
        out
    }
}

/// Strips every colour from a drawn buffer (NO_COLOR) and says with attributes what the
/// colours said, by the roles `theme` (the theme the buffer was drawn in) gives them:
/// the selection (`selected_bg`) is REVERSED, highlighted borders (`hi_fg`, the focused
/// box) BOLD, a meter's unfilled squares (`meter_bg`) become dim dots, and when `series`
/// is the selected legend entry's colour its graph line is BOLD and the other lines DIM.
/// Errors are already UNDERLINED by the screens.
pub fn monochrome(buf: &mut Buffer, theme: &Theme, series: Option<Color>) {
    let box_line = |s: &str| {
        matches!(
            s,
            "─" | "│"
                | "╭"
                | "╮"
                | "╰"
                | "╯"
                | "┐"
                | "┌"
                | "┘"
                | "└"
                | "├"
                | "┤"
                | "┬"
                | "┴"
        )
    };
    let graph_ink = |s: &str| {
        s.chars().next().is_some_and(|c| {
            ('\u{2801}'..='\u{28ff}').contains(&c) || ('\u{2580}'..='\u{259f}').contains(&c)
        }) || matches!(s, "'" | "." | ":")
    };
    let meter = crate::tui::widgets::meter::METER_CHAR.to_string();
    let selection = theme.selected_bg != Color::Reset && theme.selected_bg != theme.main_bg;
    for cell in buf.content.iter_mut() {
        let mut add = Modifier::empty();
        if selection && cell.bg == theme.selected_bg {
            add |= Modifier::REVERSED;
        }
        let symbol = cell.symbol();
        if cell.fg == theme.hi_fg && box_line(symbol) {
            add |= Modifier::BOLD;
        }
        if symbol == meter && cell.fg == theme.meter_bg {
            cell.set_char('·');
            add |= Modifier::DIM;
        } else if let Some(selected) = series
            && graph_ink(cell.symbol())
            && cell.fg != Color::Reset
        {
            add |= if cell.fg == selected {
                Modifier::BOLD
            } else {
                Modifier::DIM
            };
        }
        cell.modifier |= add;
        cell.fg = Color::Reset;
        cell.bg = Color::Reset;
        cell.underline_color = Color::Reset;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn detection_follows_no_color_colorterm_and_term() {
        let d = |pairs: &[(&str, &str)]| ColorDepth::detect(env(pairs));
        assert_eq!(d(&[("COLORTERM", "truecolor")]), ColorDepth::TrueColor);
        assert_eq!(d(&[("COLORTERM", "24bit")]), ColorDepth::TrueColor);
        assert_eq!(
            d(&[("COLORTERM", "TrueColor"), ("TERM", "xterm")]),
            ColorDepth::TrueColor
        );
        assert_eq!(d(&[("TERM", "xterm-256color")]), ColorDepth::Ansi256);
        assert_eq!(
            d(&[("COLORTERM", "yes"), ("TERM", "tmux-256color")]),
            ColorDepth::Ansi256
        );
        assert_eq!(d(&[("TERM", "xterm")]), ColorDepth::Ansi16);
        assert_eq!(d(&[("TERM", "linux")]), ColorDepth::Ansi16);
        assert_eq!(d(&[]), ColorDepth::Ansi16);
        // NO_COLOR: set and non-empty wins over everything; empty is ignored.
        assert_eq!(
            d(&[("NO_COLOR", "1"), ("COLORTERM", "truecolor")]),
            ColorDepth::None
        );
        assert_eq!(
            d(&[("NO_COLOR", ""), ("COLORTERM", "truecolor")]),
            ColorDepth::TrueColor
        );
        assert_eq!(ColorDepth::from_name("auto"), Some(None));
        assert_eq!(
            ColorDepth::from_name("256"),
            Some(Some(ColorDepth::Ansi256))
        );
        assert_eq!(ColorDepth::from_name("none"), Some(Some(ColorDepth::None)));
        assert_eq!(ColorDepth::from_name("lots"), None);
    }

    #[test]
    fn nearest_256_hits_the_cube_and_the_grey_ramp() {
        // Exact cube and ramp colours map to themselves.
        assert_eq!(nearest_256(0, 0, 0), 16);
        assert_eq!(nearest_256(255, 255, 255), 231);
        assert_eq!(nearest_256(0x5f, 0x87, 0xaf), 16 + 36 + 2 * 6 + 3);
        assert_eq!(nearest_256(8, 8, 8), 232);
        assert_eq!(nearest_256(238, 238, 238), 255);
        // A dark grey goes to the ramp, not the coarse cube.
        assert_eq!(nearest_256(0x30, 0x30, 0x30), 236);
        // Near colours round to their neighbours.
        assert_eq!(nearest_256(250, 2, 3), 196);
        assert_eq!(nearest_256(0x12, 0x16, 0x1d), 234);
        // Every index round-trips through its own RGB.
        for i in 16..=255u8 {
            let (r, g, b) = palette_rgb(i);
            let j = nearest_256(r, g, b);
            assert_eq!(palette_rgb(j), (r, g, b), "{i} -> {j}");
        }
    }

    #[test]
    fn nearest_16_uses_the_ansi_set() {
        assert_eq!(nearest_16(0, 0, 0), 0);
        assert_eq!(nearest_16(0x12, 0x16, 0x1d), 0);
        assert_eq!(nearest_16(250, 10, 10), 9);
        assert_eq!(nearest_16(180, 0, 0), 1);
        assert_eq!(nearest_16(0x20, 0xc0, 0x30), 2);
        // A muted teal is nearer the grey than any saturated ANSI colour.
        assert_eq!(nearest_16(0x3f, 0xb6, 0x8b), 8);
        assert_eq!(nearest_16(0xd3, 0xd7, 0xde), 7);
        assert_eq!(nearest_16(250, 250, 250), 15);
        assert_eq!(nearest_16(110, 110, 110), 8);
        for i in 0..16u8 {
            let (r, g, b) = palette_rgb(i);
            assert_eq!(nearest_16(r, g, b), i);
        }
    }

    #[test]
    fn map_color_per_depth() {
        let c = Color::Rgb(255, 0, 0);
        assert_eq!(map_color(c, ColorDepth::TrueColor), c);
        assert_eq!(map_color(c, ColorDepth::Ansi256), Color::Indexed(196));
        assert_eq!(map_color(c, ColorDepth::Ansi16), Color::LightRed);
        assert_eq!(map_color(c, ColorDepth::None), Color::Reset);
        // ANSI colours and the terminal's default follow the user's palette at any depth.
        for depth in [
            ColorDepth::TrueColor,
            ColorDepth::Ansi256,
            ColorDepth::Ansi16,
        ] {
            assert_eq!(map_color(Color::Blue, depth), Color::Blue);
            assert_eq!(map_color(Color::Reset, depth), Color::Reset);
        }
        assert_eq!(
            map_color(Color::Indexed(196), ColorDepth::Ansi256),
            Color::Indexed(196)
        );
        assert_eq!(
            map_color(Color::Indexed(196), ColorDepth::Ansi16),
            Color::LightRed
        );
    }

    #[test]
    fn theme_with_depth_maps_every_colour() {
        let full = Theme::default();
        assert_eq!(full.with_depth(ColorDepth::TrueColor), full);
        let t256 = full.with_depth(ColorDepth::Ansi256);
        let t16 = full.with_depth(ColorDepth::Ansi16);
        for t in [&t256, &t16] {
            for c in [
                t.main_bg,
                t.main_fg,
                t.cpu_box,
                t.cpu.at(37.0),
                t.upload.end(),
            ] {
                assert!(!matches!(c, Color::Rgb(..)), "{c:?}");
            }
        }
        assert!(matches!(t256.cpu.at(50.0), Color::Indexed(16..)));
        // At 16 colours the selection and meters stay off the background.
        assert_eq!(t16.main_bg, Color::Black);
        assert_ne!(t16.selected_bg, t16.main_bg);
        assert_ne!(t16.meter_bg, t16.main_bg);
        assert_ne!(t16.selected_fg, t16.selected_bg);
    }

    #[test]
    fn monochrome_strips_colour_and_keeps_meaning() {
        let theme = Theme::default();
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 1));
        buf[(0, 0)].set_char('x').set_bg(theme.selected_bg);
        buf[(1, 0)].set_char('─').set_fg(theme.hi_fg);
        buf[(2, 0)].set_char('■').set_fg(theme.meter_bg);
        buf[(3, 0)].set_char('■').set_fg(theme.cpu.end());
        buf[(4, 0)].set_char('⣿').set_fg(theme.cpu_box);
        buf[(5, 0)].set_char('⣀').set_fg(theme.mem_box);
        monochrome(&mut buf, &theme, Some(theme.cpu_box));
        for cell in buf.content.iter() {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset));
        }
        assert!(buf[(0, 0)].modifier.contains(Modifier::REVERSED));
        assert!(buf[(1, 0)].modifier.contains(Modifier::BOLD));
        assert_eq!(buf[(2, 0)].symbol(), "·");
        assert_eq!(buf[(3, 0)].symbol(), "■");
        assert!(buf[(4, 0)].modifier.contains(Modifier::BOLD));
        assert!(buf[(5, 0)].modifier.contains(Modifier::DIM));
    }
}
