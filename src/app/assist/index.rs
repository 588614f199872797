//! The completion index: what the query bar completes from — metric names, each metric's
//! label names and values, and all label names and values across metrics. `app` builds it
//! from storage every little while and shares it (in an `Arc`) with the TUI through the
//! snapshot; [`super::complete`] reads it.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Labels, METRIC_NAME, MatchOp, Matcher};
use crate::storage::{Querier, SelectHints, StorageError};

/// The most values kept per label (per metric, and across metrics). Beyond it the
/// smallest values (in byte order) are kept and the index says it is truncated.
pub const MAX_VALUES_PER_LABEL: usize = 10_000;

/// One label name and its values, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LabelEntry {
    pub name: String,
    pub values: Vec<String>,
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

impl CompletionIndex {
    /// Reads every series of the querier (`__name__=~".+"`, lazily: no samples are
    /// decoded) and indexes their labels.
    pub fn from_querier(q: &dyn Querier) -> Result<Self, StorageError> {
        let all = Matcher::new(MatchOp::Regex, METRIC_NAME, ".+")
            .map_err(|e| StorageError::Io(std::io::Error::other(e)))?;
        let hints = SelectHints {
            start: i64::MIN,
            end: i64::MAX,
            lazy: true,
        };
        let series = q.select(&[all], &hints)?;
        Ok(Self::from_labels(series.iter().map(|s| &s.labels)))
    }

    /// Indexes the given label sets (series without a metric name are skipped).
    pub fn from_labels<'a>(series: impl IntoIterator<Item = &'a Labels>) -> Self {
        let mut metrics: BTreeMap<&'a str, (usize, Building<'a>)> = BTreeMap::new();
        let mut global: Building<'a> = BTreeMap::new();
        let mut truncated = false;
        let mut count = 0;
        for labels in series {
            let name = labels.metric_name();
            if name.is_empty() {
                continue;
            }
            count += 1;
            let (n, per_metric) = metrics.entry(name).or_default();
            *n += 1;
            for l in labels.iter() {
                if l.name == METRIC_NAME {
                    continue;
                }
                let set = per_metric.entry(l.name).or_default();
                truncated |= insert_capped(set, l.value);
                let set = global.entry(l.name).or_default();
                truncated |= insert_capped(set, l.value);
            }
        }
        CompletionIndex {
            metrics: metrics
                .into_iter()
                .map(|(name, (series, labels))| MetricEntry {
                    name: name.to_string(),
                    series,
                    labels: entries(labels),
                })
                .collect(),
            labels: entries(global),
            series: count,
            truncated,
            flat: false,
        }
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
    pub fn values_of(&self, metric: &str, label: &str) -> &[String] {
        self.metric(metric)
            .and_then(|m| find_label(&m.labels, label))
            .map_or(&[], |l| l.values.as_slice())
    }

    /// The values of `label` across all metrics, sorted.
    pub fn all_values(&self, label: &str) -> &[String] {
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
fn insert_capped<'a>(set: &mut BTreeSet<&'a str>, v: &'a str) -> bool {
    if set.len() < MAX_VALUES_PER_LABEL {
        set.insert(v);
        return false;
    }
    if set.contains(v) {
        return false;
    }
    if set.last().is_some_and(|last| v < *last) {
        set.insert(v);
        set.pop_last();
    }
    true
}

fn entries(map: Building<'_>) -> Vec<LabelEntry> {
    map.into_iter()
        .map(|(name, values)| LabelEntry {
            name: name.to_string(),
            values: values.into_iter().map(str::to_string).collect(),
        })
        .collect()
}
