//! One scrape's worth of appending: parse the page, attach the target's labels (honoring
//! `honor_labels`), run `metric_relabel_configs`, enforce the sample and label limits,
//! append through cached series refs, and write stale markers for series that vanished.
//! The scrape loop owns one `Ingester` per target and calls it once per tick; it knows
//! nothing about HTTP.

use std::collections::HashMap;

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
    hash: u64,
    r: Option<SeriesRef>,
    last_iter: u64,
}

/// Per-target state that outlives a scrape: the series cache and the series of the last
/// successful scrape (for staleness).
pub struct Ingester {
    target_labels: Labels,
    opts: IngestOptions,
    cache: HashMap<String, CacheEntry>,
    iter: u64,
    /// Series of the previous scrape, by label hash.
    prev: HashMap<u64, Labels>,
    cur: HashMap<u64, Labels>,
}

impl Ingester {
    pub fn new(target_labels: Labels, opts: IngestOptions) -> Self {
        Ingester {
            target_labels,
            opts,
            cache: HashMap::new(),
            iter: 0,
            prev: HashMap::new(),
            cur: HashMap::new(),
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
        self.iter += 1;
        self.cur.clear();
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
            // The raw `name{...}` text is the cache key, as in Prometheus: no allocation
            // for series already seen.
            let key = s.series();
            let explicit_ts = self.opts.honor_timestamps && s.timestamp_ms.is_some();
            let ts = if explicit_ts {
                s.timestamp_ms.unwrap_or(t)
            } else {
                t
            };
            let iter = self.iter;
            let entry = match self.cache.get_mut(key) {
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
                    let hash = labels.as_ref().map(Labels::stable_hash).unwrap_or(0);
                    self.cache.entry(key.to_string()).or_insert(CacheEntry {
                        labels,
                        hash,
                        r: None,
                        last_iter: iter,
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
                self.cur.insert(entry.hash, labels.clone());
            }
        }
        rep.stale_markers = self.mark_stale(app, t);
        std::mem::swap(&mut self.prev, &mut self.cur);
        // Forget series not seen in the last two scrapes, so the cache cannot grow forever.
        let iter = self.iter;
        self.cache.retain(|_, e| e.last_iter + 2 > iter);
        Ok(rep)
    }

    /// After a failed scrape (fetch, parse or limit error): every series of the last good
    /// scrape gets a stale marker at `t`, as Prometheus does.
    pub fn ingest_failed(&mut self, app: &mut dyn Appender, t: i64) -> u64 {
        self.cur.clear();
        let n = self.mark_stale(app, t);
        std::mem::swap(&mut self.prev, &mut self.cur);
        n
    }

    /// Stale markers for series in `prev` but not in `cur`.
    fn mark_stale(&self, app: &mut dyn Appender, t: i64) -> u64 {
        let mut n = 0;
        for (h, labels) in &self.prev {
            if !self.cur.contains_key(h) && app.append(None, labels, t, stale_nan()).is_ok() {
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
