//! Wiring: the only module that knows the concrete types. It opens storage, starts
//! discovery, scraping and the built-in collector, computes the UI snapshot from storage
//! queries on every refresh tick, and carries out the TUI's actions.

mod snapshot;

pub use snapshot::*;
