//! The terminal UI: takes the terminal over, draws the latest `UiSnapshot` the app publishes,
//! and turns key presses into view changes or `Action`s sent back to the app. `app` calls
//! `run` with the snapshot and action channels, a `Theme` and `TuiOptions`; nothing else in
//! the crate talks to it. It sees only `app`'s snapshot and action types, `model`, and its
//! own theme.

pub mod fixture;
pub mod format;
pub mod keymap;
pub mod screens;
pub mod theme;
pub mod view;
pub mod widgets;

pub use keymap::{Intent, KeyBinding, Keymap};
pub use theme::{Gradient, Theme, ThemeError};
pub use view::{BoxId, Flow, ViewState};
