//! The `:source` picker's state and keys: which line is selected and which screen it
//! returns to. `:source` opens it on the active source; Enter sends
//! `Action::SwitchSource` with the chosen name (the app switches at once); Esc closes it.
//! The options themselves come from the snapshot (`UiSnapshot::sources`).

use super::{Flow, Mode, ViewState};
use crate::app::{Action, UiSnapshot};
use crate::tui::keymap::Intent;

/// The picker's view state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourcePicker {
    /// The selected option's index in `UiSnapshot::sources.options`.
    pub selected: usize,
    /// The mode the picker returns to.
    pub before: Mode,
}

impl ViewState {
    /// `:source`: opens the picker on the active source.
    pub(super) fn open_source_picker(&mut self, snap: &UiSnapshot) -> Flow {
        let v = &snap.sources;
        if v.options.is_empty() {
            self.message = Some("source: embedded (no other source configured)".into());
            return Flow::Continue;
        }
        self.sources.selected = v
            .options
            .iter()
            .position(|o| o.name == v.active)
            .unwrap_or(0);
        self.sources.before = self.mode;
        self.mode = Mode::SourcePick;
        Flow::Continue
    }

    /// The picker's keys.
    pub(super) fn apply_source(&mut self, intent: Intent, snap: &UiSnapshot) -> Flow {
        let n = snap.sources.options.len();
        if self.mode != Mode::SourcePick || n == 0 {
            return Flow::Continue;
        }
        let p = &mut self.sources;
        p.selected = p.selected.min(n - 1);
        match intent {
            Intent::SourceUp => p.selected = p.selected.saturating_sub(1),
            Intent::SourceDown => p.selected = (p.selected + 1).min(n - 1),
            Intent::SourceChoose => {
                let name = snap.sources.options[p.selected].name.clone();
                self.mode = p.before;
                return Flow::Send(Action::SwitchSource(name));
            }
            _ => {}
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap_with_sources() -> UiSnapshot {
        UiSnapshot {
            sources: crate::tui::fixture::sample_sources(),
            ..UiSnapshot::default()
        }
    }

    #[test]
    fn the_picker_opens_on_the_active_source_and_enter_switches() {
        let snap = snap_with_sources();
        let mut v = ViewState::default();
        assert_eq!(v.open_source_picker(&snap), Flow::Continue);
        assert_eq!((v.mode, v.sources.selected), (Mode::SourcePick, 1));
        v.apply_source(Intent::SourceDown, &snap);
        v.apply_source(Intent::SourceDown, &snap);
        assert_eq!(v.sources.selected, 2);
        v.apply_source(Intent::SourceUp, &snap);
        v.apply_source(Intent::SourceUp, &snap);
        v.apply_source(Intent::SourceUp, &snap);
        assert_eq!(
            v.apply_source(Intent::SourceChoose, &snap),
            Flow::Send(Action::SwitchSource("embedded".into()))
        );
        assert_eq!(v.mode, Mode::Normal);
    }
}
