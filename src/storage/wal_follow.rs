//! The seam through which a consumer follows what a persistent store writes ahead of its
//! head: `WalSource::follow` gives a `WalFollower` that reports the series and samples the
//! store logs, in log order, with the log position after each batch. remote_write's queue
//! reads its samples this way (the TSDB implements the seam), so what it has not sent
//! survives restarts and receiver outages: it keeps the position of what was sent and
//! follows again from there.

use std::time::Duration;

use crate::model::Labels;

use super::StorageError;

/// A place in the write-ahead log: the segment and the byte offset in it of the next
/// record. Positions order as the log does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct WalPosition {
    pub segment: u32,
    pub offset: u64,
}

impl std::fmt::Display for WalPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "segment {} offset {}", self.segment, self.offset)
    }
}

/// One logged sample of the series the log knows as `series` (a `WalEvent::Series` id).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WalSample {
    pub series: u64,
    pub t: i64,
    pub v: f64,
}

/// What a follower reports, one log record (or a run of them) at a time.
#[derive(Debug, Clone, PartialEq)]
pub enum WalEvent {
    /// Series the log names from here on, with their ids. Also reported for every series of
    /// the checkpoint and of the records before the starting position, so samples after
    /// it can be labelled.
    Series(Vec<(u64, Labels)>),
    /// Samples logged.
    Samples(Vec<WalSample>),
    /// The records between `from` and `to` are gone (the store truncated its log past
    /// them) and were skipped: whatever they held cannot be followed.
    Gap { from: WalPosition, to: WalPosition },
}

/// Follows one store's log forward from a position.
pub trait WalFollower: Send {
    /// The next event and the position just after it, waiting up to `wait` for the store
    /// to log more; `Ok(None)` when nothing new came in `wait`. A torn or corrupt record
    /// is an error that names the segment and offset.
    fn next(&mut self, wait: Duration) -> Result<Option<(WalPosition, WalEvent)>, StorageError>;
}

/// A store whose write-ahead log can be followed.
pub trait WalSource: Send + Sync {
    /// A follower that first reports the series logged before `from` (from the checkpoint
    /// and the older segments), then every record from `from` on. `None` starts at the end
    /// of the log as it is now (after reporting every series it names).
    fn follow(&self, from: Option<WalPosition>) -> Result<Box<dyn WalFollower>, StorageError>;
}
