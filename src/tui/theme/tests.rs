//! Tests of theme parsing, the shipped themes, the catalog and the theme set.

use super::parse::{COLOR_KEYS, GRADIENT_PREFIXES, parse_entries};
use super::*;

#[test]
fn default_theme_sets_every_known_key() {
    let mut ignored = Vec::new();
    let entries = parse_entries(DEFAULT_THEME_TEXT, "default", &mut ignored).unwrap();
    assert!(ignored.is_empty(), "{ignored:?}");
    for key in COLOR_KEYS {
        assert!(entries.contains_key(key), "default theme lacks {key}");
    }
    for prefix in GRADIENT_PREFIXES {
        for part in ["start", "mid", "end"] {
            let key = format!("{prefix}_{part}");
            assert!(entries.contains_key(&key), "default theme lacks {key}");
        }
    }
    let theme = Theme::default();
    assert_eq!(theme.name, "default");
    assert_eq!(theme.cpu_box, Color::Rgb(0x5b, 0x8d, 0xd6));
}

#[test]
fn valid_file_overrides_and_missing_keys_fall_back() {
    let text = "# a comment\n\n theme[main_fg]=\"#eeeeee\"\ntheme[cpu_box]=#102030\n\
                    theme[cpu_start]=\"0 0 0\"\ntheme[cpu_mid]=\"\"\ntheme[cpu_end]=\"255 255 255\"\n";
    let theme = Theme::parse(text, "mine.theme").unwrap();
    let default = Theme::default();
    assert_eq!(theme.name, "mine");
    assert_eq!(theme.main_fg, Color::Rgb(0xee, 0xee, 0xee));
    assert_eq!(theme.cpu_box, Color::Rgb(0x10, 0x20, 0x30));
    // Missing keys keep the default.
    assert_eq!(theme.mem_box, default.mem_box);
    assert_eq!(theme.download, default.download);
    // Empty mid: a two-colour gradient.
    assert_eq!(theme.cpu.start(), Color::Rgb(0, 0, 0));
    assert_eq!(theme.cpu.at(50.0), Color::Rgb(128, 128, 128));
    assert_eq!(theme.cpu.end(), Color::Rgb(255, 255, 255));
}

#[test]
fn empty_values() {
    let text = "theme[main_bg]=\"\"\ntheme[title]=\"\"\ntheme[used_start]=\"#ff0000\"\n\
                    theme[used_mid]=\"\"\ntheme[used_end]=\"\"\n";
    let theme = Theme::parse(text, "t").unwrap();
    assert_eq!(theme.main_bg, Color::Reset);
    assert_eq!(theme.title, Theme::default().title);
    assert_eq!(theme.used.start(), Color::Rgb(255, 0, 0));
    assert_eq!(theme.used.end(), Color::Rgb(255, 0, 0));
}

#[test]
fn unknown_keys_are_ignored_and_listed() {
    let text = "theme[gpu_start]=\"#ff0000\"\ntheme[proc_pause_bg]=\"nonsense\"\n";
    let theme = Theme::parse(text, "t").unwrap();
    assert_eq!(theme.ignored_keys, vec!["gpu_start", "proc_pause_bg"]);
}

#[test]
fn malformed_lines_name_file_line_and_column() {
    let cases = [
        (
            "theme[main_fg]=\"#eeeeee\"\nmain_bg = red\n",
            2,
            1,
            "expected `theme[key]",
        ),
        ("theme[main_fg=\"#eeeeee\"\n", 1, 1, "missing `]`"),
        ("\n\ntheme[main_fg] \"#eeeeee\"\n", 3, 15, "expected `=`"),
        ("theme[main_fg]=\"#eeeeee\n", 1, 16, "unterminated quote"),
        (
            "theme[main_fg]=\"#eeeeee\" junk\n",
            1,
            26,
            "unexpected text",
        ),
        (
            "theme[cpu_box]=\"#zzzzzz\"\n",
            1,
            16,
            "invalid colour \"#zzzzzz\" for cpu_box",
        ),
    ];
    for (text, line, column, needle) in cases {
        let err = Theme::parse(text, "bad.theme").unwrap_err();
        match &err {
            ThemeError::Parse {
                file,
                line: l,
                column: c,
                message,
            } => {
                assert_eq!(file, "bad.theme");
                assert_eq!((*l, *c), (line, column), "{text:?}: {err}");
                assert!(message.contains(needle), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with(&format!("bad.theme:{line}:{column}: "))
        );
    }
}

#[test]
fn trailing_comment_after_value_is_fine() {
    let theme = Theme::parse("theme[hi_fg]=\"#010203\"  # orange-ish\n", "t").unwrap();
    assert_eq!(theme.hi_fg, Color::Rgb(1, 2, 3));
}

#[test]
fn crlf_bom_and_unquoted_values() {
    let text = "\u{feff}# saved on Windows\r\ntheme[hi_fg]=#0a0b0c\r\ntheme[main_bg]=\r\n";
    let theme = Theme::parse(text, "t").unwrap();
    assert_eq!(theme.hi_fg, Color::Rgb(10, 11, 12));
    assert_eq!(theme.main_bg, Color::Reset);
}

#[test]
fn gradient_three_colours() {
    let g = Gradient::new(
        Color::Rgb(0, 0, 0),
        Some(Color::Rgb(100, 100, 100)),
        Some(Color::Rgb(200, 0, 0)),
    );
    assert_eq!(g.at(0.0), Color::Rgb(0, 0, 0));
    assert_eq!(g.at(25.0), Color::Rgb(50, 50, 50));
    assert_eq!(g.at(50.0), Color::Rgb(100, 100, 100));
    assert_eq!(g.at(100.0), Color::Rgb(200, 0, 0));
    assert_eq!(g.at(150.0), g.end());
    assert_eq!(g.at(-3.0), g.start());
    assert_eq!(g.at(f64::NAN), g.start());
}

#[test]
fn load_by_name_path_and_builtin() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("night.theme"), "theme[title]=\"#abcdef\"\n").unwrap();
    let dirs = vec![dir.path().to_path_buf()];
    let by_name = Theme::load_from("night", &dirs).unwrap();
    assert_eq!(by_name.title, Color::Rgb(0xab, 0xcd, 0xef));
    assert_eq!(by_name.name, "night");
    let path = dir.path().join("night.theme");
    let by_path = Theme::load_from(path.to_str().unwrap(), &[]).unwrap();
    assert_eq!(by_path, by_name);
    assert_eq!(
        Theme::load_from("default", &dirs).unwrap(),
        Theme::default()
    );

    match Theme::load_from("nope", &dirs).unwrap_err() {
        ThemeError::NotFound { name, available } => {
            assert_eq!(name, "nope");
            assert!(available.iter().any(|n| n == "night"), "{available:?}");
            assert!(available.iter().any(|n| n == "terminal"), "{available:?}");
        }
        other => panic!("unexpected {other:?}"),
    }
    std::fs::write(
        dir.path().join("broken.theme"),
        "theme[title]=\"#abcdef\"\noops\n",
    )
    .unwrap();
    let err = Theme::load_from("broken", &dirs).unwrap_err().to_string();
    assert!(err.contains("broken.theme:2:1:"), "{err}");
}

#[test]
fn loads_btop_style_fixture() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/themes/btop-style.theme"
    );
    let theme = Theme::load_from(path, &[]).unwrap();
    assert_eq!(theme.name, "btop-style");
    assert_eq!(theme.main_bg, Color::Reset);
    assert_eq!(theme.main_fg, Color::Rgb(0xcc, 0xcc, 0xcc));
    assert_eq!(theme.inactive_fg, Color::Rgb(0x40, 0x40, 0x40));
    assert_eq!(theme.cpu_box, Color::Rgb(0x55, 0x66, 0x77));
    assert_eq!(theme.meter_bg, Color::Rgb(60, 60, 60));
    assert_eq!(theme.cpu.start(), Color::Rgb(0x00, 0x80, 0x40));
    assert_eq!(theme.cpu.end(), Color::Rgb(0xff, 0x20, 0x20));
    assert_eq!(theme.temp.start(), theme.temp.end());
    assert_eq!(theme.ignored_keys, vec!["gpu_start", "gpu_mid", "gpu_end"]);
}

/// Every key of a theme file, as btop names them.
fn all_keys() -> Vec<String> {
    let mut keys: Vec<String> = COLOR_KEYS.iter().map(|k| k.to_string()).collect();
    for p in GRADIENT_PREFIXES {
        for part in ["start", "mid", "end"] {
            keys.push(format!("{p}_{part}"));
        }
    }
    keys
}

#[test]
fn every_shipped_theme_parses_sets_every_key_and_matches_its_file() {
    assert!(BUILTIN.len() >= 8);
    for (name, text) in BUILTIN {
        let mut ignored = Vec::new();
        let entries =
            parse_entries(text, name, &mut ignored).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(ignored.is_empty(), "{name} has unknown keys {ignored:?}");
        for key in all_keys() {
            assert!(entries.contains_key(&key), "{name} leaves out {key}");
        }
        let theme = Theme::parse(text, name).unwrap();
        assert_eq!(theme.name, name);
        assert!(theme.ignored_keys.is_empty());
        // The compiled-in text is the file in themes/.
        let path = format!("{}/themes/{name}.theme", env!("CARGO_MANIFEST_DIR"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "{path}");
    }
    // And every file in themes/ is compiled in.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/themes");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        assert!(
            BUILTIN.iter().any(|(n, _)| *n == stem),
            "{stem} not in BUILTIN"
        );
    }
}

#[test]
fn shipped_themes_look_distinct() {
    let themes: Vec<Theme> = BUILTIN
        .iter()
        .map(|(n, t)| Theme::parse(t, n).unwrap())
        .collect();
    let look = |t: &Theme| {
        (
            t.main_bg,
            t.main_fg,
            t.hi_fg,
            t.cpu_box,
            t.mem_box,
            t.cpu.end(),
        )
    };
    for (i, a) in themes.iter().enumerate() {
        for b in &themes[i + 1..] {
            assert_ne!(look(a), look(b), "{} and {} look alike", a.name, b.name);
            let same = [
                a.main_bg == b.main_bg,
                a.main_fg == b.main_fg,
                a.hi_fg == b.hi_fg,
                a.cpu_box == b.cpu_box,
            ];
            assert!(
                same.iter().filter(|s| **s).count() <= 1,
                "{} and {} share most colours",
                a.name,
                b.name
            );
        }
        // Selection, focus and text stand apart from the background.
        for c in [a.main_fg, a.selected_bg, a.hi_fg, a.title] {
            assert!(
                c != a.main_bg || c == Color::Reset,
                "{}: {c:?} is the background",
                a.name
            );
        }
    }
    let light = themes.iter().find(|t| t.name == "light").unwrap();
    let Color::Rgb(r, g, b) = light.main_bg else {
        panic!("light has an RGB background")
    };
    assert!(u32::from(r) + u32::from(g) + u32::from(b) > 3 * 200);
}

#[test]
fn terminal_theme_uses_only_the_terminals_colours() {
    let (_, text) = BUILTIN.iter().find(|(n, _)| *n == "terminal").unwrap();
    let t = Theme::parse(text, "terminal").unwrap();
    assert_eq!(t.main_bg, Color::Reset);
    assert_eq!(t.main_fg, Color::Reset);
    assert_eq!(t.cpu_box, Color::Blue);
    assert_eq!(t.selected_bg, Color::Blue);
    assert_eq!(t.inactive_fg, Color::DarkGray);
    let all = t.map_colors(|c| {
        assert!(
            !matches!(c, Color::Rgb(..) | Color::Indexed(..)),
            "terminal theme has {c:?}"
        );
        c
    });
    // Its gradients step between ANSI colours instead of mixing RGB.
    assert_eq!(all.cpu.start(), Color::Green);
    assert_eq!(all.cpu.at(50.0), Color::Yellow);
    assert_eq!(all.cpu.end(), Color::Red);
    // Mapping it down changes nothing: it already is in the terminal's palette.
    assert_eq!(t.with_depth(ColorDepth::Ansi16), t);
    assert_eq!(t.with_depth(ColorDepth::Ansi256), t);
}

#[test]
fn ansi_extension_in_a_file() {
    let text = "theme[main_fg]=\"ansi:default\"\ntheme[hi_fg]=\"ansi:9\"\n\
                theme[title]=\"ansi:208\"\ntheme[cpu_start]=\"ansi:2\"\n";
    let t = Theme::parse(text, "t").unwrap();
    assert_eq!(t.main_fg, Color::Reset);
    assert_eq!(t.hi_fg, Color::LightRed);
    assert_eq!(t.title, Color::Indexed(208));
    assert_eq!(t.cpu.start(), Color::Green);
    // Left-out keys still come from the default theme.
    assert_eq!(t.main_bg, Theme::default().main_bg);
    let err = Theme::parse("theme[hi_fg]=\"ansi:300\"\n", "x.theme").unwrap_err();
    assert!(
        err.to_string().starts_with("x.theme:1:14: invalid colour"),
        "{err}"
    );
}

/// A btop-style theme file as people publish them: comments, `#BW` greys, decimal RGB,
/// empty values and keys kmon does not draw.
const BTOP_STYLE: &str = "#Bashtop-like theme\n\n# Main bg\ntheme[main_bg]=\"\"\n\n\
    # Main text color\ntheme[main_fg]=\"#dd\"\ntheme[title]=\"#ee\"\ntheme[hi_fg]=\"#b54040\"\n\
    theme[selected_bg]=\"#6e1b1b\"\ntheme[cpu_box]=\"95 135 95\"\n\
    theme[proc_pause_bg]=\"#b54040\"\ntheme[cpu_start]=\"#77ca9b\"\ntheme[cpu_mid]=\"#cbc06c\"\n\
    theme[cpu_end]=\"#dc4c4c\"\n";

#[test]
fn catalog_reads_btop_and_bpytop_layouts_with_precedence() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    let xdg = root.path().join("xdg");
    let kmon = xdg.join("kmon/themes");
    let btop = xdg.join("btop/themes");
    let bpytop = home.join(".config/bpytop/user_themes");
    let system = root.path().join("usr/share/btop/themes");
    for d in [&kmon, &btop, &bpytop, &system] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(btop.join("bashtop-like.theme"), BTOP_STYLE).unwrap();
    std::fs::write(btop.join("nord.theme"), "theme[title]=\"#010101\"\n").unwrap();
    std::fs::write(kmon.join("nord.theme"), "theme[title]=\"#020202\"\n").unwrap();
    std::fs::write(bpytop.join("flat.theme"), "theme[title]=\"#030303\"\n").unwrap();
    std::fs::write(system.join("dracula.theme"), "theme[title]=\"#040404\"\n").unwrap();
    std::fs::write(system.join("zz-system.theme"), "theme[title]=\"#050505\"\n").unwrap();
    std::fs::write(system.join("not-a-theme.txt"), "x").unwrap();

    let var = |k: &str| match k {
        "HOME" => Some(home.clone().into_os_string()),
        "XDG_CONFIG_HOME" => Some(xdg.clone().into_os_string()),
        _ => None,
    };
    let mut dirs = ThemeDirs::from_env(var, Some(kmon.clone()));
    assert_eq!(
        dirs.user,
        vec![
            kmon.clone(),
            btop.clone(),
            home.join(".config/bpytop/themes"),
            bpytop.clone()
        ]
    );
    assert!(
        dirs.system
            .contains(&PathBuf::from("/usr/share/btop/themes"))
    );
    assert!(
        dirs.system
            .contains(&PathBuf::from("/usr/local/share/bpytop/themes"))
    );
    dirs.system = vec![system.clone()];

    let catalog = Catalog::scan(&dirs);
    let names = catalog.names();
    // Built-in names first, in their order; the rest by name.
    assert_eq!(&names[..BUILTIN.len()], &BUILTIN.map(|(n, _)| n));
    assert_eq!(
        &names[BUILTIN.len()..],
        &["bashtop-like", "flat", "zz-system"]
    );
    // kmon's user dir beats btop's, which beats the built-in theme.
    assert_eq!(
        catalog.source("nord"),
        Some(&Source::File(kmon.join("nord.theme")))
    );
    assert_eq!(catalog.load("nord").unwrap().title, Color::Rgb(2, 2, 2));
    // The built-in theme beats a system-wide file of the same name.
    assert!(matches!(
        catalog.source("dracula"),
        Some(Source::Builtin(_))
    ));
    // The btop file loads with btop's semantics.
    let t = catalog.load("bashtop-like").unwrap();
    assert_eq!(t.main_bg, Color::Reset);
    assert_eq!(t.main_fg, Color::Rgb(0xdd, 0xdd, 0xdd));
    assert_eq!(t.cpu_box, Color::Rgb(95, 135, 95));
    assert_eq!(t.cpu.end(), Color::Rgb(0xdc, 0x4c, 0x4c));
    assert_eq!(t.ignored_keys, vec!["proc_pause_bg"]);
    // Left-out keys come from the default theme.
    assert_eq!(t.mem_box, Theme::default().mem_box);
    assert_eq!(t.download, Theme::default().download);
    // Names: `.theme` suffix and case do not matter; paths load directly.
    assert_eq!(
        catalog.position("Bashtop-Like.theme"),
        catalog.position("bashtop-like")
    );
    let by_path = catalog
        .load(system.join("dracula.theme").to_str().unwrap())
        .unwrap();
    assert_eq!(by_path.title, Color::Rgb(4, 4, 4));
    let err = catalog.load("solarized-light").unwrap_err().to_string();
    assert!(
        err.starts_with("no theme solarized-light; try: default, nord, gruvbox-dark,"),
        "{err}"
    );
    assert!(err.ends_with("bashtop-like, flat, zz-system"), "{err}");
}

#[test]
fn theme_set_cycles_selects_and_falls_back_on_broken_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.theme"),
        "theme[title]=\"#abcdef\"\ntheme[hi_fg]=\"#12345\"\n",
    )
    .unwrap();
    let dirs = ThemeDirs {
        user: vec![dir.path().to_path_buf()],
        system: Vec::new(),
    };
    let mut set = ThemeSet::new(Catalog::scan(&dirs), ColorDepth::TrueColor);
    assert_eq!(set.current_name(), "default");
    assert_eq!(set.full(), &Theme::default());
    assert_eq!(set.cycle(false), "theme: nord (2/10)");
    assert_eq!(set.full().name, "nord");
    assert_eq!(set.shown(), set.full());
    assert_eq!(set.cycle(true), "theme: default (1/10)");
    let msg = set.cycle(true);
    assert!(
        msg.starts_with("theme broken is broken: ")
            && msg.contains("broken.theme:2:14: invalid colour"),
        "{msg}"
    );
    assert!(msg.ends_with("; using the default theme"), "{msg}");
    assert_eq!(set.current_name(), "broken");
    assert_eq!(set.full(), &Theme::default());
    // Cycling goes on from the broken entry.
    assert_eq!(set.cycle(false), "theme: default (1/10)");

    assert_eq!(set.select("light"), Ok("theme: light (7/10)".to_string()));
    let err = set.select("nope").unwrap_err();
    assert!(
        err.starts_with("no theme nope; try: default, nord, "),
        "{err}"
    );
    assert_eq!(set.full().name, "light", "an unknown name changes nothing");

    // At start: a broken or unknown theme leaves the default in place, with a warning.
    let mut fresh = ThemeSet::new(Catalog::scan(&dirs), ColorDepth::TrueColor);
    let warning = fresh.start_with("broken").unwrap();
    assert!(warning.contains("broken.theme:2:14:"), "{warning}");
    assert_eq!(fresh.full(), &Theme::default());
    let warning = fresh.start_with("missing").unwrap();
    assert!(warning.starts_with("no theme missing; try: "), "{warning}");
    assert!(warning.ends_with("; using the default theme"), "{warning}");
    let unreadable = dir.path().join("gone/x.theme");
    let warning = fresh.start_with(unreadable.to_str().unwrap()).unwrap();
    assert!(warning.contains("x.theme"), "{warning}");
    assert_eq!(fresh.start_with("terminal"), None);
    assert_eq!(fresh.full().name, "terminal");

    // The shown theme follows the depth; the full one keeps its colours for exports.
    fresh.select("nord").unwrap();
    fresh.set_depth(ColorDepth::Ansi256);
    assert!(matches!(fresh.shown().cpu_box, Color::Indexed(_)));
    assert!(matches!(fresh.full().cpu_box, Color::Rgb(..)));
}
