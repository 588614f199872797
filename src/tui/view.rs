//! The TUI's own state between frames: which boxes are shown. It changes only through
//! `ViewState::apply` with an intent from the keymap; screens read it to lay themselves out.
//! Nothing here touches the snapshot or the terminal.

use crate::tui::keymap::Intent;

/// The boxes of the main screen, numbered as their toggle keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoxId {
    Cpu,
    Memory,
    Network,
    Disks,
}

impl BoxId {
    /// Every box, in hotkey order.
    pub const ALL: [BoxId; 4] = [BoxId::Cpu, BoxId::Memory, BoxId::Network, BoxId::Disks];

    /// The number key that toggles this box (1..=4).
    pub fn number(self) -> u8 {
        match self {
            BoxId::Cpu => 1,
            BoxId::Memory => 2,
            BoxId::Network => 3,
            BoxId::Disks => 4,
        }
    }

    /// The box a number key toggles.
    pub fn from_number(n: u8) -> Option<BoxId> {
        BoxId::ALL.into_iter().find(|b| b.number() == n)
    }

    /// The title drawn on the box's border.
    pub fn title(self) -> &'static str {
        match self {
            BoxId::Cpu => "cpu",
            BoxId::Memory => "mem",
            BoxId::Network => "net",
            BoxId::Disks => "disks",
        }
    }

    fn index(self) -> usize {
        usize::from(self.number() - 1)
    }
}

/// What the event loop does after an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
    /// Hand the app a copy of the screen to export.
    Export,
}

/// View state: what is visible. Starts with every box shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewState {
    shown: [bool; 4],
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState { shown: [true; 4] }
    }
}

impl ViewState {
    pub fn is_shown(&self, id: BoxId) -> bool {
        self.shown[id.index()]
    }

    pub fn set_shown(&mut self, id: BoxId, shown: bool) {
        self.shown[id.index()] = shown;
    }

    /// Applies one intent; says whether the loop should go on.
    pub fn apply(&mut self, intent: Intent) -> Flow {
        match intent {
            Intent::Quit => Flow::Quit,
            Intent::Export => Flow::Export,
            Intent::ToggleBox(id) => {
                let shown = self.is_shown(id);
                self.set_shown(id, !shown);
                Flow::Continue
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toggling_and_quitting() {
        let mut view = ViewState::default();
        assert!(BoxId::ALL.iter().all(|b| view.is_shown(*b)));
        assert_eq!(
            view.apply(Intent::ToggleBox(BoxId::Network)),
            Flow::Continue
        );
        assert!(!view.is_shown(BoxId::Network));
        assert!(view.is_shown(BoxId::Cpu));
        view.apply(Intent::ToggleBox(BoxId::Network));
        assert!(view.is_shown(BoxId::Network));
        assert_eq!(view.apply(Intent::Export), Flow::Export);
        assert!(BoxId::ALL.iter().all(|b| view.is_shown(*b)));
        assert_eq!(view.apply(Intent::Quit), Flow::Quit);
    }

    #[test]
    fn numbers_round_trip() {
        for id in BoxId::ALL {
            assert_eq!(BoxId::from_number(id.number()), Some(id));
        }
        assert_eq!(BoxId::from_number(0), None);
        assert_eq!(BoxId::from_number(5), None);
    }
}
