//! One scrape's worth of appending: parse the page, attach the target's labels (honoring
//! `honor_labels`), run `metric_relabel_configs`, enforce the sample and label limits,
//! append through cached series refs, and write stale markers for series that vanished.
//! The scrape loop owns one `Ingester` per target and calls it once per tick; it knows
//! nothing about HTTP.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

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

struct CacheEntry {
    /// None when metric relabeling dropped the series.
    labels: Option<Labels>,
    r: Option<SeriesRef>,
    /// The scrape that last saw the raw series.
    last_iter: u32,
    /// The last two scrapes that counted the series for staleness (0: none).
    tracked: [u32; 2],
}

impl CacheEntry {
    fn track(&mut self, iter: u32) {
        if self.tracked[0] != iter {
            self.tracked = [iter, self.tracked[0]];
        }
    }

    /// Whether scrape `iter` counted the series for staleness.
    fn in_scrape(&self, iter: u32) -> bool {
        iter != 0 && self.tracked.contains(&iter)
    }
}

/// Hashes a cache key, which is already a 128-bit hash: folds its halves.
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = (n as u64) ^ ((n >> 64) as u64);
    }
}

/// The scrape cache's key: the xxh3-128 hash of a sample's raw `name{...}` text. A
/// collision between two series of one target (odds about 2^-100 for millions of series)
/// is the price of not keeping every series' text a second time.
fn cache_key(series: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(series.as_bytes())
}

/// Per-target state that outlives a scrape: the series cache, which also records which
/// series the last successful scrape had (for staleness).
pub struct Ingester {
    target_labels: Labels,
    opts: IngestOptions,
    cache: HashMap<u128, CacheEntry, BuildHasherDefault<KeyHasher>>,
    /// The current scrape's number (wrapping, never 0).
    iter: u32,
    /// The last successful scrape, whose series get stale markers when they vanish; 0
    /// after a failed scrape.
    prev_iter: u32,
}

impl Ingester {
    pub fn new(target_labels: Labels, opts: IngestOptions) -> Self {
        Ingester {
            target_labels,
            opts,
            cache: HashMap::default(),
            iter: 0,
            prev_iter: 0,
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
        let mut rep = IngestReport::default();
        // The family of the last TYPE line, for Prometheus 3's normalization of `le` and
        // `quantile` values ("1" → "1.0") in classic histograms and summaries.
        let mut family: (&str, Option<NormalizedLabel>) = ("", None);
        for entry in exposition::parse(text, format) {
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
            let key = cache_key(s.series());
            let explicit_ts = self.opts.honor_timestamps && s.timestamp_ms.is_some();
            let ts = if explicit_ts {
                s.timestamp_ms.unwrap_or(t)
            } else {
                t
            };
            let iter = self.iter;
            let entry = match self.cache.get_mut(&key) {
                Some(e) => e,
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
                    self.cache.entry(key).or_insert(CacheEntry {
                        labels,
                        r: None,
                        last_iter: iter,
                        tracked: [0; 2],
                    })
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
            match app.append(entry.r, labels, ts, s.value) {
                Ok(r) => {
                    if entry.r.is_none() {
                        rep.series_added += 1;
                    }
                    entry.r = Some(r);
                }
                Err(e) if e.is_sample_error() => rep.rejected += 1,
                Err(e) => return Err(e.into()),
            }
            if !explicit_ts || self.opts.track_timestamps_staleness {
                entry.track(iter);
            }
        }
        let iter = self.iter;
        rep.stale_markers = self.mark_stale(app, t, iter);
        self.prev_iter = iter;
        // Forget series not seen in the last two scrapes, so the cache cannot grow forever.
        self.cache.retain(|_, e| iter.wrapping_sub(e.last_iter) < 2);
        Ok(rep)
    }

    /// After a failed scrape (fetch, parse or limit error): every series of the last good
    /// scrape gets a stale marker at `t`, as Prometheus does.
    pub fn ingest_failed(&mut self, app: &mut dyn Appender, t: i64) -> u64 {
        let n = self.mark_stale(app, t, 0);
        self.prev_iter = 0;
        n
    }

    /// Stale markers for the series of the last successful scrape that scrape `cur` (0:
    /// none, the scrape failed) does not have. A series can come from several raw texts
    /// (metric relabeling can make them equal): it is gone only when none of them is in
    /// `cur`, and it gets one marker.
    fn mark_stale(&self, app: &mut dyn Appender, t: i64, cur: u32) -> u64 {
        let prev = self.prev_iter;
        if prev == 0 {
            return 0;
        }
        let gone: Vec<&Labels> = self
            .cache
            .values()
            .filter(|e| e.in_scrape(prev) && !e.in_scrape(cur))
            .filter_map(|e| e.labels.as_ref())
            .collect();
        if gone.is_empty() {
            return 0;
        }
        let live: HashSet<&Labels> = self
            .cache
            .values()
            .filter(|e| e.in_scrape(cur))
            .filter_map(|e| e.labels.as_ref())
            .collect();
        let mut done: HashSet<&Labels> = HashSet::new();
        let mut n = 0;
        for labels in gone {
            if live.contains(labels) || !done.insert(labels) {
                continue;
            }
            if app.append(None, labels, t, stale_nan()).is_ok() {
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
