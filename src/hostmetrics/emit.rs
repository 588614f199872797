//! The series cache and the sample writer the subsystems call. `SeriesCache` remembers,
//! for every series written by the previous collects, its label set and the `SeriesRef`
//! storage handed back, keyed by a cheap byte key (job, name and label values), so a
//! repeated collect builds no label sets. `Emitter` writes one collect's samples through
//! an `Appender` and, when the collect ends, writes a staleness marker for every series
//! that was not written again, as a scrape does.

use std::collections::HashMap;

use xxhash_rust::xxh3::Xxh3DefaultBuilder;

use crate::model::{Label, Labels, METRIC_NAME, stale_nan};
use crate::storage::{Appender, SeriesRef, StorageError};

/// Which job a series belongs to: the machine's (`node` by default) or kmon's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobKind {
    Node,
    Kmon,
}

struct Cached {
    labels: Labels,
    sref: Option<SeriesRef>,
    /// The generation (collect number) that last wrote this series.
    seen: u64,
}

/// The series written by previous collects. Keys are the job tag, the metric name and
/// every label name and value separated by 0xfe/0xff, bytes that never occur in UTF-8,
/// so two different series never share a key.
#[derive(Default)]
pub(crate) struct SeriesCache {
    entries: HashMap<Box<[u8]>, Cached, Xxh3DefaultBuilder>,
    generation: u64,
    key: Vec<u8>,
}

impl SeriesCache {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Counts of one collect's writes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EmitCounts {
    pub samples: usize,
    pub stale_markers: usize,
    pub duplicates: usize,
    pub rejected: usize,
}

/// Writes one collect's samples. Made by `begin`, ended by `finish`.
pub(crate) struct Emitter<'a> {
    cache: &'a mut SeriesCache,
    app: &'a mut dyn Appender,
    t_ms: i64,
    node_job: &'a str,
    kmon_job: &'a str,
    instance: &'a str,
    job: JobKind,
    counts: EmitCounts,
    first_rejection: Option<StorageError>,
}

impl<'a> Emitter<'a> {
    pub(crate) fn begin(
        cache: &'a mut SeriesCache,
        app: &'a mut dyn Appender,
        t_ms: i64,
        node_job: &'a str,
        kmon_job: &'a str,
        instance: &'a str,
    ) -> Self {
        cache.generation += 1;
        Emitter {
            cache,
            app,
            t_ms,
            node_job,
            kmon_job,
            instance,
            job: JobKind::Node,
            counts: EmitCounts::default(),
            first_rejection: None,
        }
    }

    /// Selects the job of the following samples.
    pub(crate) fn set_job(&mut self, job: JobKind) {
        self.job = job;
    }

    /// Writes one sample of the series `name{labels}` (plus `job` and `instance`). A series
    /// written twice in one collect keeps its first value; storage rejections are counted,
    /// never fatal.
    pub(crate) fn emit(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let generation = self.cache.generation;
        let key = &mut self.cache.key;
        key.clear();
        key.push(self.job as u8);
        key.extend_from_slice(name.as_bytes());
        key.push(0xff);
        for (n, v) in labels {
            key.extend_from_slice(n.as_bytes());
            key.push(0xfe);
            key.extend_from_slice(v.as_bytes());
            key.push(0xff);
        }
        if let Some(entry) = self.cache.entries.get_mut(key.as_slice()) {
            write_one(
                entry,
                generation,
                self.app,
                self.t_ms,
                &mut self.counts,
                &mut self.first_rejection,
                value,
            );
            return;
        }
        let built = self.build_labels(name, labels);
        let key: Box<[u8]> = self.cache.key.as_slice().into();
        let entry = self.cache.entries.entry(key).or_insert(Cached {
            labels: built,
            sref: None,
            seen: 0,
        });
        write_one(
            entry,
            generation,
            self.app,
            self.t_ms,
            &mut self.counts,
            &mut self.first_rejection,
            value,
        );
    }

    fn build_labels(&self, name: &str, labels: &[(&str, &str)]) -> Labels {
        let job = match self.job {
            JobKind::Node => self.node_job,
            JobKind::Kmon => self.kmon_job,
        };
        let mut pairs = Vec::with_capacity(labels.len() + 3);
        pairs.push(Label::new(METRIC_NAME, name));
        pairs.push(Label::new("job", job));
        pairs.push(Label::new("instance", self.instance));
        pairs.extend(labels.iter().map(|(n, v)| Label::new(*n, *v)));
        Labels::new(pairs)
    }

    /// Ends the collect: every cached series this collect did not write gets a staleness
    /// marker and is forgotten. Returns the counts and the first storage rejection.
    pub(crate) fn finish(self) -> (EmitCounts, Option<StorageError>) {
        let Emitter {
            cache,
            app,
            t_ms,
            mut counts,
            mut first_rejection,
            ..
        } = self;
        let generation = cache.generation;
        cache.entries.retain(|_, e| {
            if e.seen == generation {
                return true;
            }
            match app.append(e.sref, &e.labels, t_ms, stale_nan()) {
                Ok(_) => counts.stale_markers += 1,
                Err(err) => {
                    counts.rejected += 1;
                    first_rejection.get_or_insert(err);
                }
            }
            false
        });
        (counts, first_rejection)
    }
}

/// Appends one sample of a cached series unless this collect already wrote it.
fn write_one(
    entry: &mut Cached,
    generation: u64,
    app: &mut dyn Appender,
    t_ms: i64,
    counts: &mut EmitCounts,
    first_rejection: &mut Option<StorageError>,
    value: f64,
) {
    if entry.seen == generation {
        counts.duplicates += 1;
        return;
    }
    entry.seen = generation;
    match app.append(entry.sref, &entry.labels, t_ms, value) {
        Ok(r) => {
            entry.sref = Some(r);
            counts.samples += 1;
        }
        Err(e) => {
            counts.rejected += 1;
            first_rejection.get_or_insert(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::is_stale_nan;
    use crate::storage::{Appendable, MemStorage};

    fn run(cache: &mut SeriesCache, store: &MemStorage, t: i64, devs: &[&str]) -> EmitCounts {
        let mut app = store.appender();
        let mut e = Emitter::begin(cache, app.as_mut(), t, "node", "kmon", "h");
        for d in devs {
            e.emit("x_total", &[("device", d)], t as f64);
        }
        let (counts, err) = e.finish();
        assert!(err.is_none(), "{err:?}");
        app.commit().unwrap();
        counts
    }

    #[test]
    fn vanished_series_get_one_stale_marker() {
        let (mut cache, store) = (SeriesCache::default(), MemStorage::new());
        run(&mut cache, &store, 1000, &["a", "b"]);
        let c = run(&mut cache, &store, 2000, &["a"]);
        assert_eq!((c.samples, c.stale_markers), (1, 1));
        let c = run(&mut cache, &store, 3000, &["a"]);
        assert_eq!((c.samples, c.stale_markers), (1, 0), "only one marker");
        let dump = store.dump();
        let b = &dump[1];
        assert_eq!(b.0.get("device"), Some("b"));
        assert_eq!(b.0.get("job"), Some("node"));
        assert_eq!(b.0.get("instance"), Some("h"));
        assert_eq!(b.1.len(), 2);
        assert!(is_stale_nan(b.1[1].v));
        assert_eq!(b.1[1].t, 2000);
        // A series that comes back is written again.
        let c = run(&mut cache, &store, 4000, &["a", "b"]);
        assert_eq!(c.samples, 2);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn duplicates_in_one_collect_keep_the_first_value() {
        let (mut cache, store) = (SeriesCache::default(), MemStorage::new());
        let c = run(&mut cache, &store, 1000, &["a", "a"]);
        assert_eq!((c.samples, c.duplicates), (1, 1));
    }

    #[test]
    fn jobs_are_separate_series() {
        let (mut cache, store) = (SeriesCache::default(), MemStorage::new());
        let mut app = store.appender();
        let mut e = Emitter::begin(&mut cache, app.as_mut(), 1, "node", "kmon", "h");
        e.emit("up", &[], 1.0);
        e.set_job(JobKind::Kmon);
        e.emit("up", &[], 1.0);
        let (c, _) = e.finish();
        app.commit().unwrap();
        assert_eq!(c.samples, 2);
        let jobs: Vec<_> = store
            .dump()
            .iter()
            .map(|(l, _)| l.get("job").unwrap_or("").to_string())
            .collect();
        assert_eq!(jobs, ["kmon", "node"]);
    }
}
