//! `kmon export-screen --after DUR --out DIR [--size COLSxROWS] [--keys KEY...]`: runs
//! the same engine as the TUI without a terminal, waits, presses the given keys through
//! the TUI's own keymap (so any screen can be reached: `--keys / 'up' Enter`, `--keys t`),
//! draws the screen into a buffer of the asked size and writes one export folder (see
//! `export`), then prints the folder's path. This is how the screenshots in
//! `screenshots/` are made.

use std::path::Path;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crossterm::event::KeyEvent;

use super::export::{Export, write_export};
use super::run::{Engine, Prepared, RunOptions, prepare, runtime};
use super::snapshot::{Action, UiSnapshot};
use crate::tui::{Flow, KeyBinding, Keymap, ViewState};

/// The largest side `--size` accepts, in cells.
pub const MAX_SIDE: u16 = 1000;

/// How long to wait past `--after` for the very first snapshot, on top of one interval.
const FIRST_SNAPSHOT_GRACE: Duration = Duration::from_secs(5);

/// A screen size in cells, written `COLSxROWS` (e.g. `120x40`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenSize {
    pub cols: u16,
    pub rows: u16,
}

impl Default for ScreenSize {
    fn default() -> Self {
        ScreenSize {
            cols: 120,
            rows: 40,
        }
    }
}

/// Why a `--size` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("expected COLSxROWS such as 120x40, got {0:?}")]
    Syntax(String),
    #[error("{cols}x{rows} is out of range: both sides must be 1 to {MAX_SIDE} cells")]
    Range { cols: u32, rows: u32 },
}

impl FromStr for ScreenSize {
    type Err = SizeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || SizeError::Syntax(s.to_string());
        let (c, r) = s.trim().split_once(['x', 'X', '×']).ok_or_else(syntax)?;
        let side = |t: &str| {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax());
            }
            // Digits only: an overflow is just a very large number.
            Ok(t.parse::<u32>().unwrap_or(u32::MAX))
        };
        let (cols, rows) = (side(c)?, side(r)?);
        let ok = |n: u32| (1..=u32::from(MAX_SIDE)).contains(&n);
        if !ok(cols) || !ok(rows) {
            return Err(SizeError::Range { cols, rows });
        }
        Ok(ScreenSize {
            cols: cols as u16,
            rows: rows as u16,
        })
    }
}

/// The key presses `--keys` tokens stand for: a single character, a capitalised key name
/// (`Enter`, `Esc`, `Up`, `PgDn`, `F1`) or a modified key (`C-u`, `Ctrl-R`, `M-b`) is
/// that key (see `KeyBinding`'s `FromStr`); any other token is typed character by
/// character (`up`, `rate(x[1m])`).
pub fn key_events(tokens: &[String]) -> Vec<KeyEvent> {
    let mut out = Vec::new();
    for t in tokens {
        let mut chars = t.chars();
        let text = match (chars.next(), chars.next()) {
            (Some(a), Some(b)) => a.is_lowercase() && b != '-',
            _ => false,
        };
        match t.parse::<KeyBinding>() {
            Ok(key) if !text => out.push(key.event()),
            _ => out.extend(t.chars().map(|c| KeyBinding::plain(c).event())),
        }
    }
    out
}

/// Runs the engine for `after`, presses `keys` (as `key_events` reads them) on a fresh
/// view, then exports the screen at `size` into a new folder under `out` and prints the
/// folder's path.
pub fn export_screen(
    mut opts: RunOptions,
    after: Duration,
    out: &Path,
    size: ScreenSize,
    keys: &[String],
) -> anyhow::Result<ExitCode> {
    let Prepared {
        cfg,
        themes,
        theme_warning,
        log,
    } = prepare(&opts)?;
    // Headless: a theme that cannot be used is said on stderr, and the default draws.
    if let Some(w) = &theme_warning {
        eprintln!("kmon: warning: {w}");
    }
    tracing::info!(log = %log.display(), ?after, "kmon export-screen starting");
    // `--source`: the settings file's sources, as the TUI has them.
    let mut k8s_plan = None;
    if opts.source.is_some() {
        let (settings, label) = super::settings::load_default();
        // `k8s://` sources need the cluster connection: connected below, in the runtime.
        let (plan, reg, warnings) = super::k8s_sources::sources_for(
            opts.source.as_deref(),
            &settings.sources,
            None,
            &label,
        )?;
        for w in warnings {
            eprintln!("kmon: warning: {w}");
        }
        opts.sources = reg;
        k8s_plan = Some((plan, label));
    }
    let (mut board, _) = super::board::board_for(opts.dashboard.as_deref(), &opts.state_dir())?;
    let rt = runtime()?;
    let folder = rt.block_on(async {
        let work = super::kube::decide(cfg, &opts).await?;
        if let Some((plan, label)) = &k8s_plan {
            let warnings =
                super::k8s_sources::connect_planned(plan, &opts.sources, &opts.kube, label, &work)
                    .await?;
            for w in warnings {
                eprintln!("kmon: warning: {w}");
            }
        }
        let engine = Engine::start(work, &opts)?;
        board.publish(&engine.request);
        if opts.dashboard.is_some() {
            // With --dashboard the export shows the dashboard.
            engine.request.send_modify(|r| r.dashboard_shown = true);
        }
        tokio::select! {
            _ = tokio::time::sleep(after) => {}
            _ = tokio::signal::ctrl_c() => {
                engine.stop().await;
                anyhow::bail!("interrupted before the export");
            }
        }
        let mut snapshots = engine.snapshots.clone();
        if snapshots.borrow().at_ms == 0 {
            // Nothing published yet (a very short --after): wait for the first snapshot.
            let wait = opts.interval + FIRST_SNAPSHOT_GRACE;
            let _ = tokio::time::timeout(wait, snapshots.changed()).await;
        }
        let mut snapshot = snapshots.borrow_and_update().clone();
        let keymap = Keymap::default();
        let mut view = ViewState::default();
        view.help = keymap.help_rows();
        view.keys = keymap.clone();
        view.themes = themes;
        if opts.dashboard.is_some() {
            view.mode = crate::tui::Mode::Dashboard;
        }
        view.observe(&snapshot);
        let mut asked = false;
        for key in key_events(keys) {
            match crate::tui::press(&mut view, &keymap, &snapshot, &key) {
                Flow::Quit => break,
                Flow::Send(Action::RunQuery { expr }) => {
                    engine.request.send_modify(|r| r.set_query(&expr));
                    asked = true;
                }
                Flow::Send(Action::SetRange(range)) => {
                    engine.request.send_modify(|r| r.range = range);
                    asked = true;
                }
                Flow::Send(
                    action @ (Action::ShowDashboard(_) | Action::Pin { .. } | Action::Unpin { .. }),
                ) => {
                    if let Some(status) = board.carry_out(&action, &engine.request) {
                        eprintln!("kmon: {status}");
                    }
                    asked = true;
                }
                _ => {}
            }
        }
        if asked {
            // Wait for a snapshot that answers the request: its range, and every panel.
            let request = engine.request.borrow().clone();
            let answers = |s: &UiSnapshot| {
                // A followed range ends at each snapshot's own now; a paused one is fixed.
                let range_ok = if request.range.paused {
                    s.range == request.range
                } else {
                    !s.range.paused && s.range.span_ms == request.range.span_ms
                };
                range_ok
                    && request.wanted().all(|p| {
                        s.panels
                            .iter()
                            .any(|d| d.id == p.id && d.queries == p.queries)
                    })
            };
            let wait = opts.interval + FIRST_SNAPSHOT_GRACE;
            let _ = tokio::time::timeout(wait, async {
                while !answers(&snapshots.borrow_and_update()) {
                    if snapshots.changed().await.is_err() {
                        break;
                    }
                }
            })
            .await;
            snapshot = snapshots.borrow_and_update().clone();
            view.observe(&snapshot);
        }
        // Exports always carry the theme's full colours (the one `T` picked last, if any),
        // whatever a terminal would show.
        let theme = view.themes.full().clone();
        let area = Rect::new(0, 0, size.cols, size.rows);
        let mut screen = Buffer::empty(area);
        crate::tui::screens::render(area, &mut screen, &snapshot, &view, &theme);
        let shown = crate::tui::screens::shown(area, &snapshot, &view);
        let export = Export {
            screen: &screen,
            theme: &theme,
            snapshot: &snapshot,
            shown: &shown,
        };
        let written = write_export(out, &export);
        engine.stop().await;
        written.context("writing the export")
    })?;
    println!("{}", folder.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_tokens_are_keys_or_typed_text() {
        use crossterm::event::{KeyCode, KeyModifiers};
        let t = |v: &[&str]| -> Vec<(KeyCode, KeyModifiers)> {
            let tokens: Vec<String> = v.iter().map(|s| s.to_string()).collect();
            key_events(&tokens)
                .into_iter()
                .map(|e| (e.code, e.modifiers))
                .collect()
        };
        let none = KeyModifiers::NONE;
        assert_eq!(
            t(&["/", "up{a=\"b\"}", "Enter", "C-u", "t"]),
            [
                (KeyCode::Char('/'), none),
                (KeyCode::Char('u'), none),
                (KeyCode::Char('p'), none),
                (KeyCode::Char('{'), none),
                (KeyCode::Char('a'), none),
                (KeyCode::Char('='), none),
                (KeyCode::Char('"'), none),
                (KeyCode::Char('b'), none),
                (KeyCode::Char('"'), none),
                (KeyCode::Char('}'), none),
                (KeyCode::Enter, none),
                (KeyCode::Char('u'), KeyModifiers::CONTROL),
                (KeyCode::Char('t'), none),
            ]
        );
        // A capitalised key name is the key; in lower case it is text.
        assert_eq!(t(&["Up"]), [(KeyCode::Up, none)]);
        assert_eq!(
            t(&["up", "c-u"]),
            [
                (KeyCode::Char('u'), none),
                (KeyCode::Char('p'), none),
                (KeyCode::Char('u'), KeyModifiers::CONTROL)
            ]
        );
        assert!(t(&[]).is_empty());
    }

    #[test]
    fn sizes() {
        let s = |t: &str| t.parse::<ScreenSize>();
        assert_eq!(
            s("120x40"),
            Ok(ScreenSize {
                cols: 120,
                rows: 40
            })
        );
        assert_eq!(s("80X24"), Ok(ScreenSize { cols: 80, rows: 24 }));
        assert_eq!(
            s("100×30"),
            Ok(ScreenSize {
                cols: 100,
                rows: 30
            })
        );
        assert_eq!(s("120x40"), Ok(ScreenSize::default()));
        for bad in [
            "", "120", "x40", "120x", "12ax40", "-1x5", "1.5x3", "120x40x2",
        ] {
            assert_eq!(s(bad), Err(SizeError::Syntax(bad.to_string())), "{bad}");
        }
        assert_eq!(s("0x40"), Err(SizeError::Range { cols: 0, rows: 40 }));
        assert_eq!(
            s("1001x40").map_err(|e| e.to_string()),
            Err("1001x40 is out of range: both sides must be 1 to 1000 cells".to_string())
        );
        assert!(matches!(s("99999999999x1"), Err(SizeError::Range { .. })));
    }
}
