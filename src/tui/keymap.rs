//! Keys as data: a table from key presses to view intents (`Quit`, `ToggleBox`, ...). The
//! event loop asks `Keymap::lookup` for every key event and hands the intent to the view
//! state; later features add rows to the table instead of branches to the loop, and users
//! can rebind with `Keymap::bind`.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::tui::view::BoxId;

/// What a key asks the view to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Leave kmon (sends `Action::Quit` to the app).
    Quit,
    /// Show or hide one box of the main screen.
    ToggleBox(BoxId),
    /// Export the screen and the data (sends `Action::Export` to the app).
    Export,
}

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
}

/// The built-in bindings.
pub const DEFAULT_BINDINGS: &[(KeyBinding, Intent)] = &[
    (KeyBinding::plain('q'), Intent::Quit),
    (KeyBinding::ctrl('c'), Intent::Quit),
    (KeyBinding::plain('1'), Intent::ToggleBox(BoxId::Cpu)),
    (KeyBinding::plain('2'), Intent::ToggleBox(BoxId::Memory)),
    (KeyBinding::plain('3'), Intent::ToggleBox(BoxId::Network)),
    (KeyBinding::plain('4'), Intent::ToggleBox(BoxId::Disks)),
    (KeyBinding::plain('e'), Intent::Export),
];

/// The key table the event loop consults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<(KeyBinding, Intent)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            bindings: DEFAULT_BINDINGS.to_vec(),
        }
    }
}

impl Keymap {
    /// The intent of a key event, if any. Key releases never match.
    pub fn lookup(&self, event: &KeyEvent) -> Option<Intent> {
        if event.kind == KeyEventKind::Release {
            return None;
        }
        let key = KeyBinding::from_event(event);
        self.bindings
            .iter()
            .find(|(binding, _)| *binding == key)
            .map(|(_, intent)| *intent)
    }

    /// Binds `key` to `intent`, replacing what it did before.
    pub fn bind(&mut self, key: KeyBinding, intent: Intent) {
        self.bindings.retain(|(binding, _)| *binding != key);
        self.bindings.push((key, intent));
    }

    /// Removes a binding; returns what it did.
    pub fn unbind(&mut self, key: KeyBinding) -> Option<Intent> {
        let pos = self
            .bindings
            .iter()
            .position(|(binding, _)| *binding == key)?;
        Some(self.bindings.remove(pos).1)
    }

    /// Every binding, for the help screen.
    pub fn bindings(&self) -> &[(KeyBinding, Intent)] {
        &self.bindings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventState;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn quit_keys() {
        let map = Keymap::default();
        assert_eq!(
            map.lookup(&key(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Intent::Quit)
        );
        assert_eq!(
            map.lookup(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Intent::Quit)
        );
        // Ctrl+Shift+C arrives as an upper-case C on some terminals.
        let shifted = key(
            KeyCode::Char('C'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        );
        assert_eq!(map.lookup(&shifted), Some(Intent::Quit));
        assert_eq!(
            map.lookup(&key(KeyCode::Char('c'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            map.lookup(&key(KeyCode::Char('Q'), KeyModifiers::SHIFT)),
            None
        );
        assert_eq!(
            map.lookup(&key(KeyCode::Char('q'), KeyModifiers::ALT)),
            None
        );
    }

    #[test]
    fn number_keys_toggle_boxes() {
        let map = Keymap::default();
        for id in BoxId::ALL {
            let c = char::from(b'0' + id.number());
            assert_eq!(
                map.lookup(&key(KeyCode::Char(c), KeyModifiers::NONE)),
                Some(Intent::ToggleBox(id))
            );
        }
        assert_eq!(
            map.lookup(&key(KeyCode::Char('5'), KeyModifiers::NONE)),
            None
        );
    }

    #[test]
    fn e_exports() {
        let map = Keymap::default();
        assert_eq!(
            map.lookup(&key(KeyCode::Char('e'), KeyModifiers::NONE)),
            Some(Intent::Export)
        );
    }

    #[test]
    fn releases_do_not_match_and_repeats_do() {
        let map = Keymap::default();
        let mut release = key(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(map.lookup(&release), None);
        let repeat = KeyEvent::new_with_kind_and_state(
            KeyCode::Char('1'),
            KeyModifiers::NONE,
            KeyEventKind::Repeat,
            KeyEventState::NONE,
        );
        assert_eq!(map.lookup(&repeat), Some(Intent::ToggleBox(BoxId::Cpu)));
    }

    #[test]
    fn rebinding() {
        let mut map = Keymap::default();
        map.bind(KeyBinding::plain('x'), Intent::Quit);
        map.bind(KeyBinding::plain('q'), Intent::ToggleBox(BoxId::Disks));
        assert_eq!(
            map.lookup(&key(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(Intent::Quit)
        );
        assert_eq!(
            map.lookup(&key(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Intent::ToggleBox(BoxId::Disks))
        );
        assert_eq!(map.unbind(KeyBinding::plain('x')), Some(Intent::Quit));
        assert_eq!(
            map.lookup(&key(KeyCode::Char('x'), KeyModifiers::NONE)),
            None
        );
        let esc = KeyBinding::from_event(&key(KeyCode::Esc, KeyModifiers::NONE));
        assert_eq!(
            esc,
            KeyBinding {
                code: KeyCode::Esc,
                modifiers: KeyModifiers::NONE
            }
        );
    }
}
