//! The head's appender: buffers one batch (a scrape's worth) of samples and of series that
//! do not exist yet, checking each sample against the series' last committed sample and
//! against earlier samples of the same batch. `commit` hands the batch to `Head::commit`
//! (log, then apply); dropping the appender discards it. New series are only created when
//! a batch commits, so a rolled-back batch leaves nothing behind (its allocated refs are
//! simply never used). Callers get it from `Head::appender` as a `Box<dyn Appender>`.

use std::sync::Arc;

use super::commit::{SampleRecord, SeriesRecord};
use super::head::Head;
use super::series::{MemSeries, Reject, check};
use super::stripes::{U64Map, labels_hash};
use crate::model::{Labels, METRIC_NAME};
use crate::storage::{Appender, SeriesRef, SeriesSlot, StorageError};

pub(crate) struct HeadAppender<'a> {
    head: &'a Head,
    /// Series this batch creates, in first-append order.
    series: Vec<SeriesRecord>,
    samples: Vec<SampleRecord>,
    /// Per sample, the existing series it goes to (`None` for series of this batch).
    targets: Vec<Option<Arc<MemSeries>>>,
    new_by_ref: U64Map<usize>,
    new_by_hash: U64Map<Vec<usize>>,
    /// The last sample of the batch per series ref, as (timestamp, value bits).
    batch_last: U64Map<(i64, u64)>,
    /// A live appender's bound from its creation (`Head::appendable_min_valid_time`);
    /// `i64::MIN` for a history appender, which only the head's min valid time bounds.
    window_bound: i64,
}

impl<'a> HeadAppender<'a> {
    /// `live`: bound samples as Prometheus bounds a scrape's (see
    /// `Head::appendable_min_valid_time`); false for loading history (`--load`, import),
    /// where series come one after another over the whole time range.
    pub fn new(head: &'a Head, live: bool) -> Self {
        // Size the buffers like the last committed batch: scrapes of the same targets
        // repeat, and growing a 10k-entry map step by step is a measurable share of a
        // scrape's cost.
        let n = head.batch_size_hint();
        HeadAppender {
            head,
            series: Vec::new(),
            samples: Vec::with_capacity(n),
            targets: Vec::with_capacity(n),
            new_by_ref: U64Map::default(),
            new_by_hash: U64Map::default(),
            batch_last: U64Map::with_capacity_and_hasher(n, Default::default()),
            window_bound: if live {
                head.appendable_min_valid_time()
            } else {
                i64::MIN
            },
        }
    }

    /// Finds the series for `labels`: through the ref hint when it names these labels, else
    /// by label hash among this batch's new series and the head's; failing both, registers
    /// a new series with a fresh ref. Returns the ref and the existing series, if any.
    fn resolve(
        &mut self,
        hint: Option<SeriesRef>,
        labels: &Labels,
    ) -> Result<(SeriesRef, Option<Arc<MemSeries>>), StorageError> {
        if let Some(r) = hint {
            if let Some(&i) = self.new_by_ref.get(&r) {
                if self.series[i].labels == *labels {
                    return Ok((r, None));
                }
            } else if let Some(s) = self.head.series.get(r)
                && !s.is_deleted()
                && s.has_labels(labels)
            {
                return Ok((r, Some(s)));
            }
        }
        let hash = labels_hash(labels);
        if let Some(idx) = self.new_by_hash.get(&hash)
            && let Some(&i) = idx.iter().find(|&&i| self.series[i].labels == *labels)
        {
            return Ok((self.series[i].r, None));
        }
        if let Some(s) = self.head.series.get_by_labels(hash, labels) {
            return Ok((s.r, Some(s)));
        }
        if labels.get(METRIC_NAME).is_none() {
            return Err(StorageError::NoMetricName(labels.clone()));
        }
        let r = self.head.allocate_ref();
        let i = self.series.len();
        self.series.push(SeriesRecord {
            r,
            labels: labels.clone(),
        });
        self.new_by_ref.insert(r, i);
        self.new_by_hash.entry(hash).or_default().push(i);
        Ok((r, None))
    }
}

impl HeadAppender<'_> {
    /// As Prometheus (without an out-of-order window): a sample before the head's min
    /// valid time is out of bounds, whatever the series holds, and is refused before its
    /// series is looked up or created.
    fn check_bounds(&self, labels: &Labels, t: i64) -> Result<(), StorageError> {
        let min = self.head.min_valid_time().max(self.window_bound);
        if t < min {
            self.head.counters.add_out_of_bounds(1);
            return Err(StorageError::OutOfBounds {
                labels: labels.clone(),
                t,
                min,
            });
        }
        Ok(())
    }

    /// Checks the sample against the series' last sample (of this batch, else the
    /// committed one) and buffers it.
    fn buffer(
        &mut self,
        r: SeriesRef,
        existing: Option<Arc<MemSeries>>,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<(), StorageError> {
        let bits = v.to_bits();
        let last = match self.batch_last.get(&r) {
            Some(&l) => Some(l),
            None => existing.as_ref().and_then(|s| s.data.lock().last()),
        };
        match check(last, t, bits) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(Reject::OutOfOrder { last }) => {
                self.head.counters.add_out_of_order(1);
                return Err(StorageError::OutOfOrder {
                    labels: labels.clone(),
                    t,
                    last,
                });
            }
            Err(Reject::Duplicate) => {
                self.head.counters.add_duplicates(1);
                return Err(StorageError::DuplicateSample {
                    labels: labels.clone(),
                    t,
                });
            }
        }
        self.samples.push(SampleRecord { r, t, v });
        self.targets.push(existing);
        self.batch_last.insert(r, (t, bits));
        Ok(())
    }
}

impl Appender for HeadAppender<'_> {
    fn append(
        &mut self,
        r: Option<SeriesRef>,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, StorageError> {
        self.check_bounds(labels, t)?;
        let (r, existing) = self.resolve(r, labels)?;
        self.buffer(r, existing, labels, t, v)?;
        Ok(r)
    }

    /// Trusts the slot's series (as Prometheus's appender trusts a cached ref) unless `gc`
    /// dropped it; otherwise resolves as `append` does and keeps the series found.
    fn append_cached(
        &mut self,
        slot: &mut SeriesSlot,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<(), StorageError> {
        self.check_bounds(labels, t)?;
        let cached = slot
            .handle::<MemSeries>()
            .filter(|s| Some(s.r) == slot.r && !s.is_deleted());
        if let Some(s) = cached {
            return self.buffer(s.r, Some(s), labels, t, v);
        }
        let (r, existing) = self.resolve(slot.r, labels)?;
        let handle = existing
            .clone()
            .map(|s| s as Arc<dyn std::any::Any + Send + Sync>);
        self.buffer(r, existing, labels, t, v)?;
        slot.r = Some(r);
        slot.set_handle(handle);
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<(), StorageError> {
        if self.samples.is_empty() {
            return Ok(());
        }
        self.head.commit(&self.series, &self.samples, &self.targets)
    }
}
