//! Wiring: the only module that knows the concrete types. It opens storage, starts
//! discovery, scraping and the built-in collector, computes the UI snapshot from storage
//! queries on every refresh tick, and carries out the TUI's actions. The one-shot
//! subcommands live in `cli`.

pub mod cli;
pub mod dashboard;
pub mod export;
mod run;
mod snapshot;

pub use run::{BuiltinHealth, Engine, RunOptions, data_dir, run_tui};
pub use snapshot::*;
