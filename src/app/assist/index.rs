//! The completion index: what the query bar completes from — metric names, each metric's
//! label names and values, and all label names and values across metrics. `app` builds it
//! from storage every little while and shares it (in an `Arc`) with the TUI through the
//! snapshot; [`super::complete`] reads it. It reads storage one metric at a time (so a
//! rebuild never holds every series at once) and keeps each distinct label value once,
//! shared between a metric's entry and the entry across metrics.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::model::{Labels, METRIC_NAME, MatchOp, Matcher};
use crate::storage::{Querier, SelectHints, StorageError};

/// The most values kept per label (per metric, and across metrics). Beyond it the
/// smallest values (in byte order) are kept and the index says it is truncated.
pub const MAX_VALUES_PER_LABEL: usize = 10_000;

/// One label value of the index: shared between the entries that hold it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndexValue(Arc<str>);

impl IndexValue {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for IndexValue {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for IndexValue {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for IndexValue {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<str> for IndexValue {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

/// One label name and its values, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LabelEntry {
    pub name: String,
    pub values: Vec<IndexValue>,
}

/// One metric: its name, how many series it has, and its labels (without `__name__`),
/// sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MetricEntry {
    pub name: String,
    pub series: usize,
    pub labels: Vec<LabelEntry>,
}

/// Everything completion needs to know about the stored series. Cheap to share in an
/// `Arc`; comparing two `Arc`s of it checks the pointer first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompletionIndex {
    /// Sorted by name.
    pub(crate) metrics: Vec<MetricEntry>,
    /// Every label name but `__name__` across metrics, with all its values, sorted.
    pub(crate) labels: Vec<LabelEntry>,
    series: usize,
    truncated: bool,
    /// Built from name and value lists (a remote source's labels API): metrics have no
    /// labels of their own, so lookups by metric fall back to all labels.
    flat: bool,
}

type Building<'a> = BTreeMap<&'a str, BTreeSet<&'a str>>;

/// Builds an index metric by metric: the values across metrics are kept once and the
/// metrics' entries share them.
#[derive(Default)]
struct Builder {
    metrics: BTreeMap<String, MetricEntry>,
    global: BTreeMap<String, BTreeSet<IndexValue>>,
    series: usize,
    truncated: bool,
}

impl Builder {
    /// Adds one metric's series (`labels` are the label sets of series named `name`).
    fn add_metric<'a>(&mut self, name: &str, labels: impl IntoIterator<Item = &'a Labels>) {
        let mut building: Building<'a> = BTreeMap::new();
        let mut n = 0;
        for ls in labels {
            n += 1;
            for l in ls.iter() {
                if l.name != METRIC_NAME {
                    let set = building.entry(l.name).or_default();
                    self.truncated |= insert_capped(set, l.value);
                }
            }
        }
        if n == 0 {
            return;
        }
        self.series += n;
        let mut entries = Vec::with_capacity(building.len());
        for (label, values) in building {
            let global = match self.global.get_mut(label) {
                Some(g) => g,
                None => self.global.entry(label.to_string()).or_default(),
            };
            let mut shared = Vec::with_capacity(values.len());
            for v in values {
                let value = match global.get(v) {
                    Some(x) => x.clone(),
                    None => {
                        let x = IndexValue(Arc::from(v));
                        self.truncated |= insert_capped(global, x.clone());
                        x
                    }
                };
                shared.push(value);
            }
            entries.push(LabelEntry {
                name: label.to_string(),
                values: shared,
            });
        }
        let entry = self
            .metrics
            .entry(name.to_string())
            .or_insert_with(|| MetricEntry {
                name: name.to_string(),
                ..MetricEntry::default()
            });
        entry.series += n;
        if entry.labels.is_empty() {
            entry.labels = entries;
        } else {
            merge_entries(&mut entry.labels, entries, &mut self.truncated);
        }
    }

    fn finish(self) -> CompletionIndex {
        CompletionIndex {
            metrics: self.metrics.into_values().collect(),
            labels: self
                .global
                .into_iter()
                .map(|(name, values)| LabelEntry {
                    name,
                    values: values.into_iter().collect(),
                })
                .collect(),
            series: self.series,
            truncated: self.truncated,
            flat: false,
        }
    }
}

/// Merges `more` into `into` (both sorted by name, values sorted), capping each label.
fn merge_entries(into: &mut Vec<LabelEntry>, more: Vec<LabelEntry>, truncated: &mut bool) {
    let mut map: BTreeMap<String, BTreeSet<IndexValue>> = std::mem::take(into)
        .into_iter()
        .map(|e| (e.name, e.values.into_iter().collect()))
        .collect();
    for e in more {
        let set = map.entry(e.name).or_default();
        for v in e.values {
            *truncated |= insert_capped(set, v);
        }
    }
    *into = map
        .into_iter()
        .map(|(name, values)| LabelEntry {
            name,
            values: values.into_iter().collect(),
        })
        .collect();
}

impl CompletionIndex {
    /// Reads every series of the querier one metric at a time (`__name__="m"` for each
    /// metric name, lazily: no samples are decoded) and indexes their labels.
    pub fn from_querier(q: &dyn Querier) -> Result<Self, StorageError> {
        let hints = SelectHints {
            start: i64::MIN,
            end: i64::MAX,
            lazy: true,
        };
        let mut b = Builder::default();
        for name in q.label_values(METRIC_NAME, &[])? {
            if name.is_empty() {
                continue;
            }
            let m = Matcher::new(MatchOp::Equal, METRIC_NAME, &name)
                .map_err(|e| StorageError::Io(std::io::Error::other(e)))?;
            let series = q.select(&[m], &hints)?;
            b.add_metric(&name, series.iter().map(|s| &s.labels));
        }
        Ok(b.finish())
    }

    /// Indexes the given label sets (series without a metric name are skipped).
    pub fn from_labels<'a>(series: impl IntoIterator<Item = &'a Labels>) -> Self {
        let mut by_metric: BTreeMap<&'a str, Vec<&'a Labels>> = BTreeMap::new();
        for labels in series {
            let name = labels.metric_name();
            if !name.is_empty() {
                by_metric.entry(name).or_default().push(labels);
            }
        }
        let mut b = Builder::default();
        for (name, labels) in by_metric {
            b.add_metric(name, labels);
        }
        b.finish()
    }
    /// An index from lists, as a remote source's API gives them (`/api/v1/label/__name__/values`,
    /// `/api/v1/labels` and each label's values): metric names, and label names with
    /// their values across all metrics (`__name__` among them is skipped). Metrics get no
    /// labels of their own; completion inside their braces offers all labels.
    pub fn from_lists(metric_names: Vec<String>, labels: Vec<(String, Vec<String>)>) -> Self {
        let mut truncated = false;
        let mut names = metric_names;
        names.sort_unstable();
        names.dedup();
        let mut labels: Vec<LabelEntry> = labels
            .into_iter()
            .filter(|(n, _)| n != METRIC_NAME)
            .map(|(name, mut values)| {
                values.sort_unstable();
                values.dedup();
                truncated |= values.len() > MAX_VALUES_PER_LABEL;
                values.truncate(MAX_VALUES_PER_LABEL);
                let values = values
                    .into_iter()
                    .map(|v| IndexValue(Arc::from(v)))
                    .collect();
                LabelEntry { name, values }
            })
            .collect();
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        labels.dedup_by(|a, b| a.name == b.name);
        CompletionIndex {
            series: names.len(),
            metrics: names
                .into_iter()
                .map(|name| MetricEntry {
                    name,
                    series: 0,
                    labels: Vec::new(),
                })
                .collect(),
            labels,
            truncated,
            flat: true,
        }
    }

    /// How many series were indexed.
    pub fn series_count(&self) -> usize {
        self.series
    }

    /// Whether some label had more than [`MAX_VALUES_PER_LABEL`] values (the rest were
    /// dropped).
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Whether nothing was indexed.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// All metric names, sorted.
    pub fn metric_names(&self) -> impl Iterator<Item = &str> {
        self.metrics.iter().map(|m| m.name.as_str())
    }

    /// The label names of `metric` (sorted, without `__name__`), or `None` for a metric
    /// the index does not know.
    pub fn label_names_of(&self, metric: &str) -> Option<Vec<&str>> {
        self.metric(metric)
            .map(|m| m.labels.iter().map(|l| l.name.as_str()).collect())
    }

    /// All label names across metrics, sorted (without `__name__`).
    pub fn all_label_names(&self) -> impl Iterator<Item = &str> {
        self.labels.iter().map(|l| l.name.as_str())
    }

    /// The values of `label` on `metric`, sorted (empty when either is unknown).
    pub fn values_of(&self, metric: &str, label: &str) -> &[IndexValue] {
        self.metric(metric)
            .and_then(|m| find_label(&m.labels, label))
            .map_or(&[], |l| l.values.as_slice())
    }

    /// The values of `label` across all metrics, sorted.
    pub fn all_values(&self, label: &str) -> &[IndexValue] {
        find_label(&self.labels, label).map_or(&[], |l| l.values.as_slice())
    }

    pub(crate) fn metric(&self, name: &str) -> Option<&MetricEntry> {
        if self.flat {
            return None;
        }
        self.metrics
            .binary_search_by(|m| m.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.metrics[i])
    }
}

pub(crate) fn find_label<'a>(labels: &'a [LabelEntry], name: &str) -> Option<&'a LabelEntry> {
    labels
        .binary_search_by(|l| l.name.as_str().cmp(name))
        .ok()
        .map(|i| &labels[i])
}

/// Inserts `v`, keeping at most [`MAX_VALUES_PER_LABEL`] of the smallest values. Returns
/// whether a value was dropped.
fn insert_capped<T: Ord>(set: &mut BTreeSet<T>, v: T) -> bool {
    if set.len() < MAX_VALUES_PER_LABEL {
        set.insert(v);
        return false;
    }
    if set.contains(&v) {
        return false;
    }
    if set.last().is_some_and(|last| v < *last) {
        set.insert(v);
        set.pop_last();
    }
    true
}
