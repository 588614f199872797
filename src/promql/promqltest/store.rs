//! The storage a test file runs against: a plain sorted map of series to float samples
//! that implements `storage::Queryable`. It follows the append rules of the TSDB head the
//! upstream harness uses (no out-of-order window): a sample older than its series' newest
//! is out of order, the same timestamp with other value bits is a duplicate, and once data
//! exists nothing older than 12h before the newest sample is accepted ("out of bounds").
//! Series without a metric name are fine here (`storage::MemStorage` rejects them).
//!
//! Native-histogram samples are not stored (kmon cannot evaluate them yet); they still
//! take part in the ordering checks, and their series are remembered so that the runner
//! can recognise queries that need them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::{Label, Labels, METRIC_NAME, Matcher, Sample};
use crate::storage::{
    Querier, Queryable, SampleIterator, SelectHints, Series, StorageError, VecSampleIter,
    matches_all,
};

use super::file::LoadCmd;
use super::load::SeqValue;

/// Half of the 24h block range of the upstream test storage.
const OUT_OF_BOUNDS_WINDOW: i64 = 12 * 3600 * 1000;

#[derive(Debug, Default)]
struct SeriesData {
    samples: Vec<Sample>,
    /// The newest timestamp of any sample, float or histogram.
    max_t: Option<i64>,
    /// The value of the newest sample when it was a float.
    last_float: Option<f64>,
}

/// An empty store per file and per `clear`.
#[derive(Debug, Default)]
pub struct TestStorage {
    series: BTreeMap<Labels, SeriesData>,
    /// Series that received native-histogram samples (from `{{...}}` literals or built by
    /// `load_with_nhcb`).
    histogram_series: BTreeSet<Labels>,
}

enum Item {
    Float(f64),
    Histogram,
}

impl TestStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Series that hold native histograms in the upstream storage.
    pub fn histogram_series(&self) -> &BTreeSet<Labels> {
        &self.histogram_series
    }

    fn max_time(&self) -> Option<i64> {
        self.series.values().filter_map(|s| s.max_t).max()
    }

    /// Appends one load block as a single batch: either all of it lands or, on the first
    /// rejected sample, none of it. The error reads like the TSDB's.
    pub fn load(&mut self, cmd: &LoadCmd) -> Result<(), String> {
        // A series written twice in one block keeps its last line, as upstream.
        let mut defs: Vec<(&Labels, &[SeqValue])> = Vec::new();
        for (_, desc) in &cmd.series {
            defs.retain(|(l, _)| *l != &desc.labels);
            defs.push((&desc.labels, &desc.values));
        }
        let mut batch: Vec<(Labels, i64, Item)> = Vec::new();
        for (labels, values) in &defs {
            for (i, v) in values.iter().enumerate() {
                let t = (i as i64)
                    .checked_mul(cmd.step)
                    .ok_or_else(|| format!("timestamp out of range for {labels}"))?;
                match v {
                    SeqValue::Omitted => {}
                    SeqValue::Float(f) => batch.push(((*labels).clone(), t, Item::Float(*f))),
                    SeqValue::Histogram(_) => batch.push(((*labels).clone(), t, Item::Histogram)),
                }
            }
        }
        let mut nhcb = Vec::new();
        if cmd.with_nhcb {
            for (labels, i) in nhcb_series(&defs) {
                let t = (i as i64)
                    .checked_mul(cmd.step)
                    .ok_or_else(|| format!("timestamp out of range for {labels}"))?;
                nhcb.push(labels.clone());
                batch.push((labels, t, Item::Histogram));
            }
        }
        let min_valid = self
            .max_time()
            .map_or(i64::MIN, |m| m.saturating_sub(OUT_OF_BOUNDS_WINDOW));
        for (labels, t, item) in &batch {
            self.check(labels, *t, item, min_valid)?;
        }
        // Commit. Within the batch a sample that does not advance its series is dropped.
        for (labels, t, item) in batch {
            let s = self.series.entry(labels.clone()).or_default();
            if s.max_t.is_some_and(|m| t <= m) {
                continue;
            }
            s.max_t = Some(t);
            match item {
                Item::Float(v) => {
                    s.samples.push(Sample::new(t, v));
                    s.last_float = Some(v);
                }
                Item::Histogram => {
                    s.last_float = None;
                    self.histogram_series.insert(labels);
                }
            }
        }
        for l in nhcb {
            self.histogram_series.insert(l);
        }
        Ok(())
    }

    fn check(&self, labels: &Labels, t: i64, item: &Item, min_valid: i64) -> Result<(), String> {
        if labels.is_empty() {
            return Err("empty labelset: invalid sample".into());
        }
        if t < min_valid {
            return Err(format!("out of bounds: sample at {t}ms for {labels}"));
        }
        let Some(s) = self.series.get(labels) else {
            return Ok(());
        };
        let Some(max_t) = s.max_t else {
            return Ok(());
        };
        if t < max_t {
            return Err(format!("out of order sample: {labels} at {t}ms"));
        }
        if t == max_t {
            let same = match (item, s.last_float) {
                (Item::Float(v), Some(last)) => v.to_bits() == last.to_bits(),
                _ => false,
            };
            if !same {
                return Err(format!("duplicate sample for timestamp: {labels} at {t}ms"));
            }
        }
        Ok(())
    }
}

/// The native histograms with custom buckets that `load_with_nhcb` builds from a block's
/// classic histogram series: one series per base name and label set without `le`, with a
/// sample (returned as a step index) at every step where any of its `_bucket`/`_count`/`_sum` series has a float.
fn nhcb_series(defs: &[(&Labels, &[SeqValue])]) -> Vec<(Labels, usize)> {
    let mut groups: HashMap<Labels, BTreeSet<usize>> = HashMap::new();
    for (labels, values) in defs {
        let name = labels.metric_name();
        let base = if let Some(b) = name.strip_suffix("_bucket") {
            let le = labels.get("le").unwrap_or("");
            match super::super::gonum::parse_go_float(le) {
                Some(v) if !v.is_nan() => b,
                _ => continue,
            }
        } else if let Some(b) = name.strip_suffix("_count") {
            b
        } else if let Some(b) = name.strip_suffix("_sum") {
            b
        } else {
            continue;
        };
        let mut pairs: Vec<Label> = labels
            .iter()
            .filter(|l| l.name != "le" && l.name != METRIC_NAME)
            .map(|l| l.to_label())
            .collect();
        pairs.push(Label::new(METRIC_NAME, base));
        let steps = groups.entry(Labels::new(pairs)).or_default();
        for (i, v) in values.iter().enumerate() {
            if matches!(v, SeqValue::Float(_)) {
                steps.insert(i);
            }
        }
    }
    let mut out: Vec<(Labels, usize)> = groups
        .into_iter()
        .flat_map(|(l, steps)| steps.into_iter().map(move |i| (l.clone(), i)))
        .collect();
    out.sort();
    out
}

struct StoreQuerier<'a> {
    store: &'a TestStorage,
    mint: i64,
    maxt: i64,
}

impl Querier for StoreQuerier<'_> {
    fn select(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
    ) -> Result<Vec<Series>, StorageError> {
        let (lo, hi) = (self.mint.max(hints.start), self.maxt.min(hints.end));
        let mut out = Vec::new();
        for (labels, s) in &self.store.series {
            if !matches_all(labels, matchers) {
                continue;
            }
            let from = s.samples.partition_point(|x| x.t < lo);
            let to = s.samples.partition_point(|x| x.t <= hi);
            if from >= to {
                continue;
            }
            out.push(Series {
                labels: labels.clone(),
                samples: Box::new(VecSampleIter::new(s.samples[from..to].to_vec()))
                    as Box<dyn SampleIterator>,
            });
        }
        Ok(out)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let mut names = BTreeSet::new();
        for l in self
            .store
            .series
            .keys()
            .filter(|l| matches_all(l, matchers))
        {
            names.extend(l.iter().map(|l| l.name.to_string()));
        }
        Ok(names.into_iter().collect())
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let values: BTreeSet<String> = self
            .store
            .series
            .keys()
            .filter(|l| matches_all(l, matchers))
            .filter_map(|l| l.get(name).map(str::to_string))
            .collect();
        Ok(values.into_iter().collect())
    }
}

impl Queryable for TestStorage {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        Ok(Box::new(StoreQuerier {
            store: self,
            mint,
            maxt,
        }))
    }
}
