//! The terminal guard: enters raw mode, the alternate screen and mouse reporting, hides the
//! cursor, and puts all of it back when dropped, on every exit path. A panic hook (installed once, chained
//! in front of the previous hook) restores the terminal before the panic message prints,
//! so the message is readable. Only `tui::run` creates a guard.

use std::io::{self, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::{Hide, MoveTo, Show};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// Whether a guard currently owns the terminal; the panic hook restores only then.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Whether the terminal is lent to another program (an exec credential plugin's sign-in):
/// nothing is drawn meanwhile.
static SUSPENDED: AtomicBool = AtomicBool::new(false);

/// Lends the terminal out: puts it back as `restore` does and stops drawing until
/// [`resume`].
pub fn suspend() {
    SUSPENDED.store(true, Ordering::SeqCst);
    restore();
}

/// Takes the terminal back after [`suspend`]: raw mode, alternate screen, mouse, cursor
/// hidden. The caller redraws everything.
pub fn resume() -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut stdout = io::stdout();
    execute!(stdout, EnterAlternateScreen, EnableMouseCapture, Hide)?;
    SUSPENDED.store(false, Ordering::SeqCst);
    Ok(())
}

/// Whether the terminal is lent out now.
pub fn is_suspended() -> bool {
    SUSPENDED.load(Ordering::SeqCst)
}

/// Rings the terminal bell (BEL), only while a guard owns the terminal and it is not lent
/// out (tests on a `TestBackend` and exports never ring).
pub fn bell() {
    if ACTIVE.load(Ordering::SeqCst) && !is_suspended() {
        let mut stdout = io::stdout();
        let _ = stdout.write_all(b"\x07").and_then(|()| stdout.flush());
    }
}
static HOOK: Once = Once::new();

/// Owns the terminal while the TUI runs.
pub struct TerminalGuard {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    /// Takes over the terminal. On failure, whatever was already changed is undone.
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        // From here on an early return drops nothing that restores, so restore by hand.
        let setup = || -> io::Result<Terminal<CrosstermBackend<Stdout>>> {
            let mut stdout = io::stdout();
            execute!(stdout, EnterAlternateScreen, EnableMouseCapture, Hide)?;
            let mut terminal = Terminal::new(CrosstermBackend::new(stdout))?;
            terminal.clear()?;
            Ok(terminal)
        };
        match setup() {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(err) => {
                restore();
                Err(err)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back: cursor shown, mouse reporting off, main screen, cooked mode. Safe to call more than
/// once; does nothing when no guard is active.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut stdout = io::stdout();
    // Best effort: there is nothing better to do with an error while restoring. The
    // alternate screen is blanked and the cursor sent home before leaving it: tmux (3.3)
    // carries rows of the alternate screen into the main screen when its window grew
    // while the alternate screen was up, and blank rows leave nothing behind.
    let _ = execute!(
        stdout,
        Show,
        DisableMouseCapture,
        MoveTo(0, 0),
        Clear(ClearType::All),
        LeaveAlternateScreen
    );
    let _ = disable_raw_mode();
    let _ = stdout.flush();
}

fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_without_a_guard_is_a_no_op() {
        // Must not touch the (test runner's) terminal or panic.
        restore();
        restore();
        assert!(!ACTIVE.load(Ordering::SeqCst));
    }
}
