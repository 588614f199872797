//! Wiring: the only module that knows the concrete types. It opens storage, starts
//! discovery, scraping and the built-in collector, computes the UI snapshot from storage
//! queries on every refresh tick, and carries out the TUI's actions. The one-shot
//! subcommands live in `cli`, exports (the `e` key) in `export`, and the headless
//! `kmon export-screen` in `export_screen`.

pub mod cli;
pub mod dashboard;
pub mod export;
mod export_screen;
mod run;
mod snapshot;

pub use export_screen::{MAX_SIDE, ScreenSize, SizeError, export_screen};
pub use run::{BuiltinHealth, Engine, RunOptions, data_dir, run_tui};
pub use snapshot::*;
