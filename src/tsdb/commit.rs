//! What a commit consists of, as a write-ahead log would record it: the series the batch
//! creates (ref and labels) and its samples (ref, timestamp, value). `CommitLog` is the
//! seam a WAL will implement: the head hands it every batch before the batch touches
//! memory, and replaying the records through the head's apply path rebuilds the head.

use crate::model::Labels;
use crate::storage::{SeriesRef, StorageError};

/// A series first written by this batch. The ref was allocated when the series was first
/// appended; if another batch created the same labels meanwhile, applying maps this ref to
/// that series (replay must do the same).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRecord {
    pub r: SeriesRef,
    pub labels: Labels,
}

/// One sample of the batch, for the series with ref `r` (an existing series or one of the
/// batch's `SeriesRecord`s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRecord {
    pub r: SeriesRef,
    pub t: i64,
    pub v: f64,
}

/// One committed batch, in append order.
#[derive(Debug, Clone, Copy)]
pub struct CommitBatch<'a> {
    pub series: &'a [SeriesRecord],
    pub samples: &'a [SampleRecord],
}

/// Receives every batch before it is applied to memory. An error fails the commit and the
/// batch is not applied.
pub trait CommitLog: Send + Sync {
    fn log(&self, batch: &CommitBatch<'_>) -> Result<(), StorageError>;
}
