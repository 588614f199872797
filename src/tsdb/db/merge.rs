//! Reading across storage: `MergeQuerier` asks every source of a `Db` (the head and the
//! blocks overlapping the query range) and merges their answers. Series are merged by
//! labels in one k-way pass over the sources' sorted lists; a series found in several
//! sources gets a `MergeIter`, which merges their samples in time order and keeps one
//! sample per timestamp (the first source's, which is the newest: the head, then blocks
//! from newest to oldest). Label names and values are the sorted union.

use std::sync::Arc;

use crate::model::{Matcher, Sample};
use crate::storage::{Querier, SampleIterator, SelectHints, Series, StorageError};
use crate::tsdb::block::Block;

/// A querier over the head and a set of blocks.
pub(crate) struct MergeQuerier<'a> {
    head: Box<dyn Querier + 'a>,
    /// Newest first.
    blocks: Vec<Arc<Block>>,
    mint: i64,
    maxt: i64,
}

impl<'a> MergeQuerier<'a> {
    pub fn new(head: Box<dyn Querier + 'a>, blocks: Vec<Arc<Block>>, mint: i64, maxt: i64) -> Self {
        MergeQuerier {
            head,
            blocks,
            mint,
            maxt,
        }
    }

    /// Runs `f` on every source's querier, head first.
    fn each<T>(
        &self,
        mut f: impl FnMut(&dyn Querier) -> Result<T, StorageError>,
    ) -> Result<Vec<T>, StorageError> {
        let mut out = Vec::with_capacity(self.blocks.len() + 1);
        out.push(f(self.head.as_ref())?);
        for b in &self.blocks {
            out.push(f(&b.querier(self.mint, self.maxt))?);
        }
        Ok(out)
    }
}

impl Querier for MergeQuerier<'_> {
    fn select(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
    ) -> Result<Vec<Series>, StorageError> {
        let lists = self.each(|q| q.select(matchers, hints))?;
        Ok(merge_series(lists))
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        Ok(union_sorted(self.each(|q| q.label_names(matchers))?))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        Ok(union_sorted(self.each(|q| q.label_values(name, matchers))?))
    }
}

/// The sorted, de-duplicated union of sorted lists.
fn union_sorted(lists: Vec<Vec<String>>) -> Vec<String> {
    let mut lists = lists.into_iter().filter(|l| !l.is_empty());
    let Some(first) = lists.next() else {
        return Vec::new();
    };
    let mut all = first;
    let mut more = false;
    for l in lists {
        all.extend(l);
        more = true;
    }
    if more {
        all.sort_unstable();
        all.dedup();
    }
    all
}

/// Merges lists of series each sorted by labels (earlier lists win ties in sample
/// de-duplication) into one sorted list with one entry per label set.
pub(crate) fn merge_series(lists: Vec<Vec<Series>>) -> Vec<Series> {
    let mut lists: Vec<std::iter::Peekable<std::vec::IntoIter<Series>>> = lists
        .into_iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.into_iter().peekable())
        .collect();
    if lists.len() <= 1 {
        return lists.pop().map(|l| l.collect()).unwrap_or_default();
    }
    let mut out = Vec::new();
    loop {
        // The smallest label set at the front of any list (few sources: a linear scan).
        let mut min: Option<&crate::model::Labels> = None;
        for l in lists.iter_mut() {
            if let Some(s) = l.peek()
                && min.is_none_or(|m| s.labels < *m)
            {
                min = Some(&s.labels);
            }
        }
        let Some(min) = min.cloned() else {
            break;
        };
        let mut parts: Vec<Box<dyn SampleIterator>> = Vec::new();
        for l in lists.iter_mut() {
            if l.peek().is_some_and(|s| s.labels == min)
                && let Some(s) = l.next()
            {
                parts.push(s.samples);
            }
        }
        let samples = if parts.len() == 1 {
            parts
                .pop()
                .unwrap_or_else(|| Box::new(MergeIter::new(Vec::new())))
        } else {
            Box::new(MergeIter::new(parts))
        };
        out.push(Series {
            labels: min,
            samples,
        });
    }
    out
}

/// The samples of several iterators over one series, in time order, one per timestamp
/// (the earliest iterator's value wins).
pub(crate) struct MergeIter {
    parts: Vec<Box<dyn SampleIterator>>,
    /// Each part's next sample, not yet returned.
    heads: Vec<Option<Sample>>,
}

impl MergeIter {
    pub fn new(mut parts: Vec<Box<dyn SampleIterator>>) -> Self {
        let heads = parts.iter_mut().map(|p| p.next()).collect();
        MergeIter { parts, heads }
    }
}

impl Iterator for MergeIter {
    type Item = Sample;

    fn next(&mut self) -> Option<Sample> {
        let mut best: Option<(usize, i64)> = None;
        for (i, h) in self.heads.iter().enumerate() {
            if let Some(s) = h
                && best.is_none_or(|(_, t)| s.t < t)
            {
                best = Some((i, s.t));
            }
        }
        let (i, t) = best?;
        let out = self.heads[i];
        // Advance every part sitting on this timestamp (the duplicates are dropped).
        for (j, h) in self.heads.iter_mut().enumerate() {
            if h.is_some_and(|s| s.t == t) {
                *h = self.parts[j].next();
            }
        }
        out
    }
}

impl SampleIterator for MergeIter {
    fn seek(&mut self, t: i64) -> Option<Sample> {
        for (j, h) in self.heads.iter_mut().enumerate() {
            if h.is_some_and(|s| s.t < t) {
                *h = self.parts[j].seek(t);
            }
        }
        self.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::storage::VecSampleIter;

    fn it(ts: &[(i64, f64)]) -> Box<dyn SampleIterator> {
        Box::new(VecSampleIter::new(
            ts.iter().map(|&(t, v)| Sample { t, v }).collect(),
        ))
    }

    fn series(name: &str, ts: &[(i64, f64)]) -> Series {
        Series {
            labels: Labels::from_pairs(&[("__name__", name)]),
            samples: it(ts),
        }
    }

    #[test]
    fn samples_merge_in_order_with_one_per_timestamp() {
        let m = MergeIter::new(vec![
            it(&[(2, 20.0), (5, 50.0)]),
            it(&[(1, 1.0), (2, 2.0), (3, 3.0), (6, 6.0)]),
            it(&[]),
        ]);
        let got: Vec<(i64, f64)> = m.map(|s| (s.t, s.v)).collect();
        assert_eq!(
            got,
            vec![(1, 1.0), (2, 20.0), (3, 3.0), (5, 50.0), (6, 6.0)]
        );
        let mut m = MergeIter::new(vec![it(&[(2, 20.0), (5, 50.0)]), it(&[(1, 1.0), (4, 4.0)])]);
        assert_eq!(m.seek(3).map(|s| s.t), Some(4));
        assert_eq!(m.next().map(|s| s.t), Some(5));
        assert_eq!(m.seek(1), None);
    }

    #[test]
    fn series_merge_by_labels() {
        let merged = merge_series(vec![
            vec![series("a", &[(3, 3.0)]), series("c", &[(1, 1.0)])],
            vec![],
            vec![series("a", &[(1, 1.0), (3, 9.0)]), series("b", &[(2, 2.0)])],
        ]);
        let names: Vec<&str> = merged.iter().map(|s| s.labels.metric_name()).collect();
        assert_eq!(names, vec!["a", "b", "c"]);
        let a: Vec<(i64, f64)> = merged
            .into_iter()
            .next()
            .map(|s| s.samples.map(|x| (x.t, x.v)).collect())
            .unwrap_or_default();
        assert_eq!(a, vec![(1, 1.0), (3, 3.0)]);
        assert_eq!(
            union_sorted(vec![
                vec!["a".into(), "c".into()],
                vec![],
                vec!["b".into(), "c".into()]
            ]),
            vec!["a", "b", "c"]
        );
    }
}
