//! `MemStorage`: a plain, obviously correct store (a sorted map of series to sample
//! vectors) that implements the storage seams. Tests of other modules use it, and it is
//! the reference the TSDB head is checked against.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use parking_lot::RwLock;

use super::{
    Appendable, Appender, Querier, Queryable, SampleIterator, SelectHints, Series, SeriesRef,
    StorageError, VecSampleIter, matches_all,
};
use crate::model::{Labels, Matcher, Sample, is_stale_nan};

#[derive(Default)]
pub struct MemStorage {
    series: RwLock<BTreeMap<Labels, Vec<Sample>>>,
}

impl MemStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every series with all its samples, sorted by labels (a test helper).
    pub fn dump(&self) -> Vec<(Labels, Vec<Sample>)> {
        self.series
            .read()
            .iter()
            .map(|(l, s)| (l.clone(), s.clone()))
            .collect()
    }
}

struct MemAppender<'a> {
    store: &'a MemStorage,
    pending: Vec<(Labels, Sample)>,
}

impl Appender for MemAppender<'_> {
    fn append(
        &mut self,
        _r: Option<SeriesRef>,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, StorageError> {
        if labels.get(crate::model::METRIC_NAME).is_none() {
            return Err(StorageError::NoMetricName(labels.clone()));
        }
        let last = self
            .pending
            .iter()
            .rev()
            .find(|(l, _)| l == labels)
            .map(|(_, s)| *s)
            .or_else(|| {
                self.store
                    .series
                    .read()
                    .get(labels)
                    .and_then(|s| s.last().copied())
            });
        if let Some(last) = last {
            if t < last.t {
                return Err(StorageError::OutOfOrder {
                    labels: labels.clone(),
                    t,
                    last: last.t,
                });
            }
            if t == last.t && last.v.to_bits() != v.to_bits() && !is_stale_nan(v) {
                return Err(StorageError::DuplicateSample {
                    labels: labels.clone(),
                    t,
                });
            }
            if t == last.t {
                return Ok(0);
            }
        }
        self.pending.push((labels.clone(), Sample::new(t, v)));
        Ok(0)
    }

    fn commit(self: Box<Self>) -> Result<(), StorageError> {
        let mut map = self.store.series.write();
        for (l, s) in self.pending {
            match map.entry(l) {
                Entry::Occupied(mut e) => e.get_mut().push(s),
                Entry::Vacant(e) => {
                    e.insert(vec![s]);
                }
            }
        }
        Ok(())
    }
}

impl Appendable for MemStorage {
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(MemAppender {
            store: self,
            pending: Vec::new(),
        })
    }
}

struct MemQuerier<'a> {
    store: &'a MemStorage,
    mint: i64,
    maxt: i64,
}

impl MemQuerier<'_> {
    fn matching(&self, matchers: &[Matcher]) -> Vec<Labels> {
        self.store
            .series
            .read()
            .keys()
            .filter(|l| matches_all(l, matchers))
            .cloned()
            .collect()
    }
}

impl Querier for MemQuerier<'_> {
    fn select(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
    ) -> Result<Vec<Series>, StorageError> {
        let (lo, hi) = (self.mint.max(hints.start), self.maxt.min(hints.end));
        let map = self.store.series.read();
        let mut out = Vec::new();
        for (labels, samples) in map.iter() {
            if !matches_all(labels, matchers) {
                continue;
            }
            let in_range: Vec<Sample> = samples
                .iter()
                .filter(|s| s.t >= lo && s.t <= hi)
                .copied()
                .collect();
            if in_range.is_empty() {
                continue;
            }
            out.push(Series {
                labels: labels.clone(),
                samples: Box::new(VecSampleIter::new(in_range)) as Box<dyn SampleIterator>,
            });
        }
        Ok(out)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let mut names: Vec<String> = self
            .matching(matchers)
            .iter()
            .flat_map(|l| l.iter().map(|l| l.name.to_string()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let mut values: Vec<String> = self
            .matching(matchers)
            .iter()
            .filter_map(|l| l.get(name).map(str::to_string))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }
}

impl Queryable for MemStorage {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        Ok(Box::new(MemQuerier {
            store: self,
            mint,
            maxt,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Matcher;

    fn up(job: &str) -> Labels {
        Labels::from_pairs(&[("__name__", "up"), ("job", job)])
    }

    #[test]
    fn nothing_visible_before_commit_and_drop_rolls_back() {
        let s = MemStorage::new();
        let mut a = s.appender();
        a.append(None, &up("a"), 1000, 1.0).unwrap();
        drop(a);
        assert!(s.dump().is_empty());
        let mut a = s.appender();
        a.append(None, &up("a"), 1000, 1.0).unwrap();
        a.commit().unwrap();
        assert_eq!(s.dump().len(), 1);
    }

    #[test]
    fn select_filters_by_matchers_and_range_and_seeks() {
        let s = MemStorage::new();
        let mut a = s.appender();
        for t in 0..10 {
            a.append(None, &up("a"), t * 1000, t as f64).unwrap();
            a.append(None, &up("b"), t * 1000, 1.0).unwrap();
        }
        a.commit().unwrap();
        let q = s.querier(2000, 8000).unwrap();
        let hints = SelectHints {
            start: i64::MIN,
            end: i64::MAX,
            lazy: false,
        };
        let mut res = q.select(&[Matcher::equal("job", "a")], &hints).unwrap();
        assert_eq!(res.len(), 1);
        assert_eq!(res[0].samples.seek(4500), Some(Sample::new(5000, 5.0)));
        assert_eq!(res[0].samples.next(), Some(Sample::new(6000, 6.0)));
        assert_eq!(res[0].samples.by_ref().count(), 2);
        assert_eq!(q.label_values("job", &[]).unwrap(), vec!["a", "b"]);
    }

    #[test]
    fn out_of_order_is_rejected_per_sample() {
        let s = MemStorage::new();
        let mut a = s.appender();
        a.append(None, &up("a"), 2000, 1.0).unwrap();
        let e = a.append(None, &up("a"), 1000, 1.0).unwrap_err();
        assert!(e.is_sample_error());
        assert!(e.to_string().contains("out of order"), "{e}");
    }
}
