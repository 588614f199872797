//! Exports: `write_export` makes a timestamped folder (`kmon-YYYYmmdd-HHMMSS`, with `-2`,
//! `-3`… when it exists) holding `screen.svg`, `screen.html`, `screen.ansi`, `screen.txt`
//! (the drawn screen, through `tui::export`) and `data.json`, `data.csv` (the data behind
//! the boxes on that screen, through `data`). The `e` key and `kmon export-screen` both end here. Errors name the
//! path that failed.

pub mod data;

use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, TimeZone};
use ratatui::buffer::Buffer;

use crate::app::snapshot::{Shown, UiSnapshot};
use crate::tui::Theme;
use crate::tui::export::{to_ansi, to_html, to_svg, to_text};

/// The files of every export folder, in the order they are written.
pub const FILES: [&str; 6] = [
    "screen.svg",
    "screen.html",
    "screen.ansi",
    "screen.txt",
    "data.json",
    "data.csv",
];

/// How many `-N` suffixes are tried before giving up on a name.
const MAX_SUFFIX: u32 = 999;

/// What one export holds: the buffer the screen was drawn into, the theme it was drawn
/// in, the snapshot it showed and which of its boxes were on screen.
pub struct Export<'a> {
    pub screen: &'a Buffer,
    pub theme: &'a Theme,
    pub snapshot: &'a UiSnapshot,
    pub shown: &'a [Shown],
}

/// Writes `export` into a new folder under `dir` (created if missing); returns the
/// folder's absolute path.
pub fn write_export(dir: &Path, export: &Export<'_>) -> io::Result<PathBuf> {
    write_export_at(dir, &Local::now(), export)
}

/// `write_export` with the clock given, for tests.
pub fn write_export_at<Tz: TimeZone>(
    dir: &Path,
    now: &DateTime<Tz>,
    export: &Export<'_>,
) -> io::Result<PathBuf>
where
    Tz::Offset: std::fmt::Display,
{
    // Absolute, so the path shown in the status line or printed is usable from anywhere.
    let dir = &std::path::absolute(dir).map_err(at(dir))?;
    if dir.exists() && !dir.is_dir() {
        let e = io::Error::new(io::ErrorKind::NotADirectory, "not a folder");
        return Err(at(dir)(e));
    }
    std::fs::create_dir_all(dir).map_err(at(dir))?;
    let folder = new_folder(dir, &now.format("kmon-%Y%m%d-%H%M%S").to_string())?;
    let &Export {
        screen,
        theme,
        snapshot,
        shown,
    } = export;
    let title = title(snapshot, &now.format("%Y-%m-%d %H:%M:%S").to_string());
    let contents = [
        to_svg(screen, theme, &title),
        to_html(screen, theme, &title),
        to_ansi(screen, theme),
        to_text(screen),
        data::to_json(snapshot, shown, &now.to_rfc3339()),
        data::to_csv(snapshot, shown),
    ];
    for (name, text) in FILES.iter().zip(contents) {
        let path = folder.join(name);
        std::fs::write(&path, text).map_err(at(&path))?;
    }
    Ok(folder)
}

/// Creates `dir/base`, or `dir/base-2`, `dir/base-3`… when taken.
fn new_folder(dir: &Path, base: &str) -> io::Result<PathBuf> {
    for n in 1..=MAX_SUFFIX {
        let path = if n == 1 {
            dir.join(base)
        } else {
            dir.join(format!("{base}-{n}"))
        };
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(at(&path)(e)),
        }
    }
    let path = dir.join(format!("{base}-{MAX_SUFFIX}"));
    Err(at(&path)(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "every name up to this one is taken",
    )))
}

/// "kmon — host — 2025-01-31 12:00:00", for the SVG and HTML titles.
fn title(snapshot: &UiSnapshot, when: &str) -> String {
    if snapshot.host.hostname.is_empty() {
        format!("kmon — {when}")
    } else {
        format!("kmon — {} — {when}", snapshot.host.hostname)
    }
}

/// An error mapper that puts `path` in front of the message, keeping the kind.
fn at(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, TimeZone};
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    use super::*;

    fn when() -> DateTime<FixedOffset> {
        FixedOffset::east_opt(0)
            .and_then(|tz| tz.with_ymd_and_hms(2025, 1, 31, 12, 34, 56).single())
            .expect("a valid time")
    }

    fn screen() -> Buffer {
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 2));
        buf.set_string(0, 0, "cpu 12%", Style::new());
        buf
    }

    #[test]
    fn writes_six_files_in_a_timestamped_folder_and_never_reuses_one() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("exports");
        let theme = Theme::default();
        let mut snap = UiSnapshot {
            at_ms: 1000,
            step_ms: 1000,
            ..UiSnapshot::default()
        };
        snap.host.hostname = "box<1>".into();
        snap.cpu.total = vec![Some(12.0)];
        let screen = screen();
        let export = Export {
            screen: &screen,
            theme: &theme,
            snapshot: &snap,
            shown: &[Shown::Cpu],
        };
        let first = write_export_at(&dir, &when(), &export).expect("export");
        assert_eq!(first, dir.join("kmon-20250131-123456"));
        for f in FILES {
            assert!(first.join(f).is_file(), "{f}");
        }
        let txt = std::fs::read_to_string(first.join("screen.txt")).expect("txt");
        assert_eq!(txt, "cpu 12%\n\n");
        let csv = std::fs::read_to_string(first.join("data.csv")).expect("csv");
        assert_eq!(csv, "panel,series,timestamp_ms,value\ncpu,total,1000,12\n");
        let svg = std::fs::read_to_string(first.join("screen.svg")).expect("svg");
        assert!(svg.contains("<title>kmon — box&lt;1&gt; — 2025-01-31 12:34:56</title>"));

        let json = std::fs::read_to_string(first.join("data.json")).expect("json");
        assert!(
            json.contains("\"exportedAt\": \"2025-01-31T12:34:56+00:00\""),
            "{json}"
        );
        let second = write_export_at(&dir, &when(), &export).expect("again");
        assert_eq!(second, dir.join("kmon-20250131-123456-2"));
        let third = write_export_at(&dir, &when(), &export).expect("again");
        assert_eq!(third, dir.join("kmon-20250131-123456-3"));
    }

    #[test]
    fn errors_name_the_path() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("not-a-dir");
        std::fs::write(&file, "x").expect("write");
        let export = Export {
            screen: &screen(),
            theme: &Theme::default(),
            snapshot: &UiSnapshot::default(),
            shown: &[],
        };
        let err = write_export_at(&file, &when(), &export).expect_err("a file is not a folder");
        assert_eq!(err.to_string(), format!("{}: not a folder", file.display()));
    }
}
