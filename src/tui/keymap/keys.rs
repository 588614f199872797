//! One key as data: `KeyBinding` (a key code and the Ctrl/Alt/Shift that matter), matched
//! from crossterm's key events, written for the help overlay (`label`), and read back
//! from the names people type in the settings file and in `export-screen --keys`
//! (`FromStr`); and `typed_char`, what a key types in an editing mode.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// A key with its modifiers. Shift is folded into the character (`Q`, not shift+`q`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyBinding {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl KeyBinding {
    /// A character key without modifiers.
    pub const fn plain(c: char) -> Self {
        KeyBinding {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::NONE,
        }
    }

    /// Ctrl + a (lower-case) character.
    pub const fn ctrl(c: char) -> Self {
        KeyBinding {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::CONTROL,
        }
    }

    /// Alt + a character.
    pub const fn alt(c: char) -> Self {
        KeyBinding {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::ALT,
        }
    }

    /// A named key (arrows, Enter, Esc, ...) without modifiers.
    pub const fn key(code: KeyCode) -> Self {
        KeyBinding {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    /// A named key with modifiers.
    pub const fn with(code: KeyCode, modifiers: KeyModifiers) -> Self {
        KeyBinding { code, modifiers }
    }

    /// The binding a key event matches: Shift dropped for characters (the character already
    /// carries it), Ctrl+letter lower-cased, only Ctrl and Alt kept.
    pub fn from_event(event: &KeyEvent) -> Self {
        let mut modifiers = event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match event.code {
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            KeyCode::Char(c) => KeyCode::Char(c),
            other => {
                modifiers |= event.modifiers & KeyModifiers::SHIFT;
                other
            }
        };
        KeyBinding { code, modifiers }
    }

    /// How the help overlay writes the key: `q`, `Ctrl-R`, `Alt-b`, `Enter`, `Shift-Tab`.
    pub fn label(&self) -> String {
        let mut out = String::new();
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            out.push_str("Ctrl-");
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            out.push_str("Alt-");
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) && self.code != KeyCode::BackTab {
            out.push_str("Shift-");
        }
        match self.code {
            KeyCode::Char(' ') => out.push_str("Space"),
            KeyCode::Char(c) if self.modifiers.contains(KeyModifiers::CONTROL) => {
                out.push(c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => out.push(c),
            KeyCode::BackTab => out.push_str("Shift-Tab"),
            KeyCode::Backspace => out.push_str("Backspace"),
            KeyCode::Delete => out.push_str("Del"),
            KeyCode::Enter => out.push_str("Enter"),
            KeyCode::Esc => out.push_str("Esc"),
            KeyCode::Tab => out.push_str("Tab"),
            KeyCode::Up => out.push('↑'),
            KeyCode::Down => out.push('↓'),
            KeyCode::Left => out.push('←'),
            KeyCode::Right => out.push('→'),
            KeyCode::Home => out.push_str("Home"),
            KeyCode::End => out.push_str("End"),
            KeyCode::PageUp => out.push_str("PgUp"),
            KeyCode::PageDown => out.push_str("PgDn"),
            KeyCode::Insert => out.push_str("Ins"),
            KeyCode::F(n) => out.push_str(&format!("F{n}")),
            other => out.push_str(&format!("{other:?}")),
        }
        out
    }
}

impl std::str::FromStr for KeyBinding {
    type Err = String;

    /// A key as `label` writes it, and the spellings people type in config files and
    /// scripts: `q`, `Q`, `Ctrl-R` (or `C-r`, `ctrl+r`), `Alt-b` (`M-b`), `Shift-Tab`
    /// (`BTab`), `Enter`, `Esc`, `Tab`, `Space`, `Backspace` (`BSpace`), `Del`, `Up`/`↑`,
    /// `Down`, `Left`, `Right`, `Home`, `End`, `PgUp` (`PageUp`, `PPage`), `PgDn`
    /// (`PageDown`, `NPage`), `F1`…`F12`. Names are case-insensitive; a single character
    /// is itself.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("unknown key {text:?} (try q, Ctrl-R, Alt-b, Enter, Esc, Tab, Up, PgDn, F1)")
        };
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        // Modifier prefixes: "Ctrl-", "C-", "ctrl+", "Alt-", "M-", "Shift-", "S-". A lone
        // "-" or "+" is the key itself.
        while let Some(i) = rest
            .find(['-', '+'])
            .filter(|&i| i > 0 && i + 1 < rest.len())
        {
            let m = match rest[..i].to_ascii_lowercase().as_str() {
                "ctrl" | "control" | "c" => KeyModifiers::CONTROL,
                "alt" | "meta" | "m" => KeyModifiers::ALT,
                "shift" | "s" => KeyModifiers::SHIFT,
                _ => break,
            };
            modifiers |= m;
            rest = &rest[i + 1..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => match c {
                '↑' => KeyCode::Up,
                '↓' => KeyCode::Down,
                '←' => KeyCode::Left,
                '→' => KeyCode::Right,
                c if c.is_control() => return Err(bad()),
                c => KeyCode::Char(c),
            },
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" | "cr" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "btab" | "backtab" => KeyCode::BackTab,
                "space" | "spc" => KeyCode::Char(' '),
                "backspace" | "bspace" | "bs" => KeyCode::Backspace,
                "del" | "delete" | "dc" => KeyCode::Delete,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pgup" | "pageup" | "ppage" => KeyCode::PageUp,
                "pgdn" | "pagedown" | "npage" => KeyCode::PageDown,
                "insert" | "ins" | "ic" => KeyCode::Insert,
                f if f.len() > 1 && f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => KeyCode::F(n),
                    _ => return Err(bad()),
                },
                _ => return Err(bad()),
            },
        };
        // Shift-Tab is BackTab; Shift with a character is the shifted character.
        let code = match code {
            // Terminals report Shift-Tab as BackTab with Shift held.
            KeyCode::Tab | KeyCode::BackTab => {
                if code == KeyCode::BackTab || modifiers.contains(KeyModifiers::SHIFT) {
                    modifiers |= KeyModifiers::SHIFT;
                    KeyCode::BackTab
                } else {
                    KeyCode::Tab
                }
            }
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::SHIFT) => {
                modifiers -= KeyModifiers::SHIFT;
                KeyCode::Char(c.to_ascii_uppercase())
            }
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        Ok(KeyBinding { code, modifiers })
    }
}

impl KeyBinding {
    /// The key event that presses this binding (for scripted key presses).
    pub fn event(&self) -> KeyEvent {
        KeyEvent::new(self.code, self.modifiers)
    }
}

/// The character a key event types in an editing mode, if it is a plain (or shifted)
/// printable character.
pub fn typed_char(event: &KeyEvent) -> Option<char> {
    if event.kind == KeyEventKind::Release
        || event
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    match event.code {
        KeyCode::Char(c) if !c.is_control() => Some(c),
        _ => None,
    }
}
