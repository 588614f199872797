//! One scrape's worth of appending: parse the page, attach the target's labels (honoring
//! `honor_labels`), run `metric_relabel_configs`, enforce the sample and label limits,
//! append through cached series refs, and write stale markers for series that vanished.
//! The scrape loop owns one `Ingester` per target and calls it once per tick; it knows
//! nothing about HTTP.

use std::cell::Cell;
use std::collections::HashSet;

use super::cache::{CacheEntry, SeriesCache, cache_key};
use crate::exposition::{self, Entry, Format, MetricType, ParseError};
use crate::model::{
    Label, Labels, METRIC_NAME, RelabelConfig, format_openmetrics_float, relabel, stale_nan,
};
use crate::storage::{Appender, SeriesRef, StorageError};

/// The per-job rules the ingester applies.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    /// 0 = no limit (as in Prometheus).
    pub sample_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    pub metric_relabel_configs: Vec<RelabelConfig>,
}

/// Why a scrape's samples were rejected as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("parse error at {0}")]
    Parse(#[from] ParseError),
    #[error("sample_limit exceeded ({limit} samples allowed)")]
    SampleLimit { limit: u64 },
    #[error("label_limit exceeded (metric: {metric}, number of labels: {count}, limit: {limit})")]
    LabelLimit {
        metric: String,
        count: usize,
        limit: u64,
    },
    #[error(
        "label_name_length_limit exceeded (metric: {metric}, label name: {name}, limit: {limit})"
    )]
    LabelNameLength {
        metric: String,
        name: String,
        limit: u64,
    },
    #[error(
        "label_value_length_limit exceeded (metric: {metric}, label name: {name}, limit: {limit})"
    )]
    LabelValueLength {
        metric: String,
        name: String,
        limit: u64,
    },
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
}

/// Counts of one successful ingest, for the synthetic `scrape_*` series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Samples on the page (`scrape_samples_scraped`).
    pub scraped: u64,
    /// Samples left after metric relabeling (`scrape_samples_post_metric_relabeling`).
    pub post_relabel: u64,
    /// Series seen for the first time (`scrape_series_added`).
    pub series_added: u64,
    /// Samples the storage refused one by one (out of order, duplicates).
    pub rejected: u64,
    /// Stale markers written for series that vanished.
    pub stale_markers: u64,
}

/// Per-target state that outlives a scrape: the series cache, which also records which
/// series the last successful scrape wrote (for staleness).
pub struct Ingester {
    target_labels: Labels,
    opts: IngestOptions,
    cache: SeriesCache,
    /// Ingest calls so far (the current scrape's number while one runs).
    iter: u32,
    /// The number of the last successful scrape, whose series are the staleness
    /// reference; `None` at first and after a failed scrape.
    prev: Option<u32>,
    /// The last scrape whose page was not in the text format.
    not_text_iter: u32,
}

impl Ingester {
    pub fn new(target_labels: Labels, opts: IngestOptions) -> Self {
        Ingester {
            target_labels,
            opts,
            cache: SeriesCache::default(),
            iter: 0,
            prev: None,
            not_text_iter: 0,
        }
    }

    /// The labels that every series of this target carries.
    pub fn target_labels(&self) -> &Labels {
        &self.target_labels
    }

    /// Appends one page scraped at `t` (ms). On error nothing should be committed: the
    /// caller drops the appender and calls `ingest_failed`.
    pub fn ingest(
        &mut self,
        app: &mut dyn Appender,
        text: &str,
        format: Format,
        t: i64,
    ) -> Result<IngestReport, IngestError> {
        self.iter = self.iter.wrapping_add(1).max(1);
        let iter = self.iter;
        let mut rep = IngestReport::default();
        // The family of the last TYPE line, for Prometheus 3's normalization of `le` and
        // `quantile` values ("1" → "1.0") in classic histograms and summaries.
        let mut family: (&str, Option<NormalizedLabel>) = ("", None);
        // Keys cached from an OpenMetrics page are only trusted as text-format hints once
        // every entry has been seen again in a fully read text page or has expired.
        if format != Format::PromText {
            self.not_text_iter = iter;
        }
        let hints = iter.wrapping_sub(self.not_text_iter) > 2;
        let mut parser = exposition::parse(text, format);
        loop {
            // The parser may skip re-validating the line the cache expects next; `known`
            // then holds that entry, whose key the line's series text hashed to.
            let expected = if hints { self.cache.expected() } else { None };
            let known = Cell::new(None);
            let next = match expected {
                Some((key, len)) => parser.next_expecting(len, |raw| {
                    let hit = cache_key(raw) == key;
                    if hit {
                        known.set(Some(key));
                    }
                    hit
                }),
                None => parser.next(),
            };
            let Some(entry) = next else {
                break;
            };
            let s = match entry? {
                Entry::Sample(s) => s,
                Entry::Type { metric, kind } => {
                    family = (metric, normalized_label(kind));
                    continue;
                }
                _ => continue,
            };
            rep.scraped += 1;
            // The raw `name{...}` text identifies the series, as in Prometheus; the cache
            // keeps only its hash.
            let series = s.series();
            let key = known.get().unwrap_or_else(|| cache_key(series.as_bytes()));
            let explicit_ts = self.opts.honor_timestamps && s.timestamp_ms.is_some();
            let ts = if explicit_ts {
                s.timestamp_ms.unwrap_or(t)
            } else {
                t
            };
            let mut uncached;
            let entry = match self.cache.find(key) {
                Some(i) => self.cache.entry_mut(i),
                None => {
                    let normalize = match family {
                        (fam, Some(label)) if s.name.starts_with(fam) => Some(label.name()),
                        _ => None,
                    };
                    let raw: Vec<Label> = std::iter::once(Label::new(METRIC_NAME, &*s.name))
                        .chain(s.labels().map(|(n, v)| {
                            if Some(&*n) == normalize
                                && let Ok(f) = v.trim().parse::<f64>()
                            {
                                return Label::new(&*n, format_openmetrics_float(f));
                            }
                            Label::new(&*n, &*v)
                        }))
                        .collect();
                    let labels = self.series_labels(Labels::new(raw))?;
                    match self.cache.insert(key, series.len(), labels.clone(), iter) {
                        Some(i) => self.cache.entry_mut(i),
                        None => {
                            // Too much text to cache: resolve it every time, without
                            // staleness tracking.
                            uncached = CacheEntry::detached(labels);
                            &mut uncached
                        }
                    }
                }
            };
            entry.last_iter = iter;
            let Some(labels) = &entry.labels else {
                continue;
            };
            rep.post_relabel += 1;
            if self.opts.sample_limit > 0 && rep.post_relabel > self.opts.sample_limit {
                return Err(IngestError::SampleLimit {
                    limit: self.opts.sample_limit,
                });
            }
            let new = entry.slot.r.is_none();
            match app.append_cached(&mut entry.slot, labels, ts, s.value) {
                Ok(()) => rep.series_added += u64::from(new),
                Err(e) if e.is_sample_error() => rep.rejected += 1,
                Err(e) => return Err(e.into()),
            }
            if !explicit_ts || self.opts.track_timestamps_staleness {
                entry.mark(iter);
            }
        }
        rep.stale_markers = self.mark_stale(app, t, true);
        self.prev = Some(iter);
        // Forget series not seen in the last two scrapes, so the cache cannot grow forever.
        self.cache.expire(iter);
        Ok(rep)
    }

    /// After a failed scrape (fetch, parse or limit error): every series of the last good
    /// scrape gets a stale marker at `t`, as Prometheus does.
    pub fn ingest_failed(&mut self, app: &mut dyn Appender, t: i64) -> u64 {
        let n = self.mark_stale(app, t, false);
        self.prev = None;
        n
    }

    /// Stale markers for the label sets the last successful scrape wrote that the current
    /// one (`current`: an ingest that succeeded; otherwise none) did not.
    fn mark_stale(&mut self, app: &mut dyn Appender, t: i64, current: bool) -> u64 {
        let Some(prev) = self.prev else {
            return 0;
        };
        let iter = self.iter;
        let in_cur = |e: &CacheEntry| current && e.marked == iter;
        let mut gone: Vec<usize> = Vec::new();
        for (i, e) in self.cache.live_mut().enumerate() {
            if e.labels.is_some() && e.marked_in(prev, iter) && !in_cur(e) {
                gone.push(i);
            }
        }
        if gone.is_empty() {
            return 0;
        }
        // Staleness is per label set: two texts can name the same series. The entries keep
        // no label hash (memory per series), so it is computed here, where a series went.
        let hash = |e: &CacheEntry| e.labels.as_ref().map_or(0, Labels::stable_hash);
        let cur: HashSet<u64> = self
            .cache
            .live_mut()
            .filter(|e| in_cur(e))
            .map(|e| hash(e))
            .collect();
        let mut done: HashSet<u64> = HashSet::new();
        let mut n = 0;
        for (i, e) in self.cache.live_mut().enumerate() {
            if gone.binary_search(&i).is_err() {
                continue;
            }
            let h = hash(e);
            if cur.contains(&h) || !done.insert(h) {
                continue;
            }
            if let Some(labels) = &e.labels
                && app
                    .append_cached(&mut e.slot, labels, t, stale_nan())
                    .is_ok()
            {
                n += 1;
            }
        }
        n
    }

    /// Scraped labels → stored labels: target labels, then metric relabeling, then limits.
    /// `Ok(None)` when relabeling drops the series.
    fn series_labels(&self, scraped: Labels) -> Result<Option<Labels>, IngestError> {
        let mut b = scraped.builder();
        if self.opts.honor_labels {
            for l in self.target_labels.iter() {
                if scraped.get(l.name).is_none() {
                    b.set(l.name, l.value);
                }
            }
        } else {
            for l in self.target_labels.iter() {
                if let Some(v) = scraped.get(l.name) {
                    // Keep the scraped value under exported_<name> (exported_exported_... if
                    // that is taken too).
                    let mut name = format!("exported_{}", l.name);
                    while scraped.get(&name).is_some() {
                        name = format!("exported_{name}");
                    }
                    b.set(&name, v);
                }
                b.set(l.name, l.value);
            }
        }
        let labels = b.build();
        let labels = if self.opts.metric_relabel_configs.is_empty() {
            labels
        } else {
            match relabel(&labels, &self.opts.metric_relabel_configs) {
                Some(l) => l,
                None => return Ok(None),
            }
        };
        self.check_limits(&labels)?;
        Ok(Some(labels))
    }

    fn check_limits(&self, labels: &Labels) -> Result<(), IngestError> {
        let o = &self.opts;
        let metric = || labels.metric_name().chars().take(50).collect::<String>();
        if o.label_limit > 0 && labels.len() as u64 > o.label_limit {
            return Err(IngestError::LabelLimit {
                metric: metric(),
                count: labels.len(),
                limit: o.label_limit,
            });
        }
        for l in labels.iter() {
            if o.label_name_length_limit > 0 && l.name.len() as u64 > o.label_name_length_limit {
                return Err(IngestError::LabelNameLength {
                    metric: metric(),
                    name: l.name.to_string(),
                    limit: o.label_name_length_limit,
                });
            }
            if o.label_value_length_limit > 0 && l.value.len() as u64 > o.label_value_length_limit {
                return Err(IngestError::LabelValueLength {
                    metric: metric(),
                    name: l.name.to_string(),
                    limit: o.label_value_length_limit,
                });
            }
        }
        Ok(())
    }
}

/// The label whose float values Prometheus 3 normalizes in a family of a given type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NormalizedLabel {
    Le,
    Quantile,
}

impl NormalizedLabel {
    fn name(self) -> &'static str {
        match self {
            NormalizedLabel::Le => "le",
            NormalizedLabel::Quantile => "quantile",
        }
    }
}

fn normalized_label(kind: MetricType) -> Option<NormalizedLabel> {
    match kind {
        MetricType::Histogram => Some(NormalizedLabel::Le),
        MetricType::Summary => Some(NormalizedLabel::Quantile),
        _ => None,
    }
}

/// The five series Prometheus writes about every scrape.
pub const REPORT_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// Appends the synthetic series for one scrape. `rep` is `None` for a failed scrape
/// (`up` = 0, counts 0). `refs` caches the series refs between calls.
pub fn append_report(
    app: &mut dyn Appender,
    target_labels: &Labels,
    refs: &mut [Option<(Labels, Option<SeriesRef>)>; 5],
    t: i64,
    duration_secs: f64,
    rep: Option<&IngestReport>,
) -> Result<(), StorageError> {
    let values = match rep {
        Some(r) => [
            1.0,
            duration_secs,
            r.scraped as f64,
            r.post_relabel as f64,
            r.series_added as f64,
        ],
        None => [0.0, duration_secs, 0.0, 0.0, 0.0],
    };
    for (i, v) in values.into_iter().enumerate() {
        append_synthetic(app, target_labels, &mut refs[i], REPORT_SERIES[i], t, v)?;
    }
    Ok(())
}

/// Stale markers for the synthetic series (when a target goes away).
pub fn stale_report(
    app: &mut dyn Appender,
    target_labels: &Labels,
    refs: &mut [Option<(Labels, Option<SeriesRef>)>; 5],
    t: i64,
) -> Result<(), StorageError> {
    for (i, name) in REPORT_SERIES.iter().enumerate() {
        if refs[i].is_none() {
            continue; // never written, nothing to end
        }
        append_synthetic(app, target_labels, &mut refs[i], name, t, stale_nan())?;
    }
    Ok(())
}

fn append_synthetic(
    app: &mut dyn Appender,
    target_labels: &Labels,
    slot: &mut Option<(Labels, Option<SeriesRef>)>,
    name: &str,
    t: i64,
    v: f64,
) -> Result<(), StorageError> {
    let (labels, r) = slot.get_or_insert_with(|| {
        let mut b = target_labels.builder();
        b.set(METRIC_NAME, name);
        (b.build(), None)
    });
    match app.append(*r, labels, t, v) {
        Ok(new) => {
            *r = Some(new);
            Ok(())
        }
        Err(e) if e.is_sample_error() => Ok(()),
        Err(e) => Err(e),
    }
}
