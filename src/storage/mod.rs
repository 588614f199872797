//! The storage seams every producer and consumer of samples talks through: `Appendable` /
//! `Appender` to write, `Queryable` / `Querier` to read. The TSDB implements them; so does
//! `MemStorage`, a simple reference implementation for tests of other modules. `Admin` is
//! the seam of the admin API (deletion, tombstone cleaning, snapshots); `WalSource` /
//! `WalFollower` the seam through which remote_write follows the write-ahead log.

mod mem;
mod wal_follow;

pub use mem::MemStorage;
pub use wal_follow::{WalEvent, WalFollower, WalPosition, WalSample, WalSource};

use std::any::Any;
use std::sync::Arc;

use crate::model::{Labels, Matcher, Sample};

/// An opaque handle to a series, returned by `append` so later appends of the same series
/// can skip the label lookup. It is only a hint: a stale or foreign ref is ignored.
pub type SeriesRef = u64;

/// What a caller that appends the same series batch after batch (a scrape loop's series
/// cache) keeps per series: the ref, and an opaque handle with which the storage that
/// filled it finds the series again without any lookup or label comparison. Only
/// `Appender::append_cached` reads and fills it. A slot belongs to the labels it was
/// first passed with and to the storage that filled it: pass it back only with those
/// labels, to appenders of that storage (a slot from another storage is a contract
/// violation; at worst its samples go to a series no query sees).
#[derive(Clone, Default)]
pub struct SeriesSlot {
    /// The ref the last successful append returned (`None`: never appended).
    pub r: Option<SeriesRef>,
    handle: Option<Arc<dyn Any + Send + Sync>>,
}

impl SeriesSlot {
    /// The storage's handle, if it left one of type `T`.
    pub fn handle<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.handle.clone()?.downcast::<T>().ok()
    }

    /// Keeps `handle` (or forgets the old one with `None`) for the next append.
    pub fn set_handle(&mut self, handle: Option<Arc<dyn Any + Send + Sync>>) {
        self.handle = handle;
    }
}

impl std::fmt::Debug for SeriesSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesSlot")
            .field("r", &self.r)
            .field("handle", &self.handle.is_some())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("out of order sample for {labels} at {t}ms (series is at {last}ms)")]
    OutOfOrder { labels: Labels, t: i64, last: i64 },
    #[error("out of bounds sample for {labels} at {t}ms (the head starts at {min}ms)")]
    OutOfBounds { labels: Labels, t: i64, min: i64 },
    #[error("duplicate sample for {labels} at {t}ms with a different value")]
    DuplicateSample { labels: Labels, t: i64 },
    #[error("series without a metric name: {0}")]
    NoMetricName(Labels),
    #[error("storage is closed")]
    Closed,
    #[error("storage is read-only")]
    ReadOnly,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl StorageError {
    /// Errors that reject one sample but leave the batch usable (a scrape skips and counts
    /// them, as Prometheus does).
    pub fn is_sample_error(&self) -> bool {
        matches!(
            self,
            StorageError::OutOfOrder { .. }
                | StorageError::OutOfBounds { .. }
                | StorageError::DuplicateSample { .. }
                | StorageError::NoMetricName(_)
        )
    }
}

/// A batch of writes. Nothing is visible to queriers until `commit`; dropping an appender
/// without committing rolls the batch back.
pub trait Appender: Send {
    /// Adds one sample. `r` is the ref a previous append of the same labels returned, if the
    /// caller kept one. Returns the ref to use next time.
    fn append(
        &mut self,
        r: Option<SeriesRef>,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, StorageError>;

    /// `append` for a caller that keeps a `SeriesSlot` per series (see there): the storage
    /// may trust the slot's handle instead of looking the series up and comparing labels,
    /// and updates the slot (`slot.r` is the ref `append` would return). On an error the
    /// slot is left as it was. The default passes the slot's ref as the hint.
    fn append_cached(
        &mut self,
        slot: &mut SeriesSlot,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<(), StorageError> {
        let r = self.append(slot.r, labels, t, v)?;
        slot.r = Some(r);
        Ok(())
    }

    /// Makes the batch visible (and durable, for a persistent store) in one step.
    fn commit(self: Box<Self>) -> Result<(), StorageError>;
}

/// Something that accepts samples.
pub trait Appendable: Send + Sync {
    /// An appender for live data (scrapes, rules, this machine's metrics).
    fn appender(&self) -> Box<dyn Appender + '_>;

    /// An appender for loading history (`--load` files, backfill), whose series come one
    /// after another over a whole time range: a storage that bounds live samples by how far
    /// they are behind its newest sample (as Prometheus's head does) skips that bound here.
    fn history_appender(&self) -> Box<dyn Appender + '_> {
        self.appender()
    }
}

/// Tells a querier what the caller will read, so it can skip data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectHints {
    pub start: i64,
    pub end: i64,
    /// The caller copes with series that turn out to have no sample in the range (their
    /// iterators yield nothing): the querier may then return every series whose data
    /// overlaps the range without decoding any of it to check. The PromQL engine sets it
    /// and reads the samples later, in parallel; the API's series lists do not.
    pub lazy: bool,
}

/// An iterator over a series' samples in time order that can skip ahead.
pub trait SampleIterator: Iterator<Item = Sample> + Send {
    /// Advances to the first sample with timestamp >= `t` and returns it; `next` then
    /// returns the sample after it. It never moves backwards. `None` when there is none.
    fn seek(&mut self, t: i64) -> Option<Sample>;
}

/// One selected series: its labels and its samples within the querier's range.
pub struct Series {
    pub labels: Labels,
    pub samples: Box<dyn SampleIterator>,
}

impl std::fmt::Debug for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Series")
            .field("labels", &self.labels)
            .finish()
    }
}

/// Reads a time range of the store. A querier sees the data committed before it was made.
pub trait Querier: Send {
    /// The series whose labels satisfy every matcher, sorted by labels, each with the
    /// samples in `[mint, maxt]` of this querier (narrowed further by `hints`). Series
    /// without a sample there are left out, unless `hints.lazy` allows them.
    fn select(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
    ) -> Result<Vec<Series>, StorageError>;

    /// All label names of series that match `matchers` (all series when empty), sorted.
    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError>;

    /// All values of label `name` in series that match `matchers`, sorted.
    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError>;
}

/// Something that can be read.
pub trait Queryable: Send + Sync {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError>;
}

/// Administrative operations on a persistent store, as Prometheus's admin API offers
/// them; the API reaches the TSDB through this seam.
pub trait Admin: Send + Sync {
    /// Deletes the samples in `[mint, maxt]` (inclusive, ms) of every series matching any
    /// of the `selectors` (each a list of matchers that must all hold).
    fn delete_series(
        &self,
        selectors: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Result<(), StorageError>;

    /// Rewrites the stored data without the samples deletions hid.
    fn clean_tombstones(&self) -> Result<(), StorageError>;

    /// Writes a snapshot of the data (without the in-memory head when `skip_head`) and
    /// returns its name (a directory under the store's `snapshots/`).
    fn snapshot(&self, skip_head: bool) -> Result<String, StorageError>;
}

/// A store that can be both written and read: what the app wires everything to.
pub trait Storage: Appendable + Queryable {}
impl<T: Appendable + Queryable> Storage for T {}

/// A `SampleIterator` over an owned, sorted vector of samples.
pub struct VecSampleIter {
    samples: Vec<Sample>,
    pos: usize,
}

impl VecSampleIter {
    pub fn new(samples: Vec<Sample>) -> Self {
        VecSampleIter { samples, pos: 0 }
    }
}

impl Iterator for VecSampleIter {
    type Item = Sample;
    fn next(&mut self) -> Option<Sample> {
        let s = self.samples.get(self.pos).copied();
        if s.is_some() {
            self.pos += 1;
        }
        s
    }
}

impl SampleIterator for VecSampleIter {
    fn seek(&mut self, t: i64) -> Option<Sample> {
        let rest = &self.samples[self.pos..];
        self.pos += rest.partition_point(|s| s.t < t);
        let s = self.samples.get(self.pos).copied();
        if s.is_some() {
            self.pos += 1;
        }
        s
    }
}

/// Whether a label set satisfies every matcher (missing labels count as "").
pub fn matches_all(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}
