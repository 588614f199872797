//! `kmon serve --load FILE`: fills storage before the API starts, from an OpenMetrics file
//! (text ending in `# EOF`, as `promtool tsdb create-blocks-from openmetrics` reads it) or
//! from the `load` blocks of a promqltest file.
//!
//! OpenMetrics: every sample keeps its timestamp (a sample written without one gets the
//! load time); counters, histograms and summaries become their float series (`_total`,
//! `_bucket{le}`, `_sum`, `_count`, quantiles) with `le`/`quantile` values normalized as
//! Prometheus 3 does. promqltest: the `load` blocks in file order, each series item at
//! `index × step` ms; `eval` and `clear` lines are ignored, and native-histogram items
//! are skipped (kmon stores floats only). Samples the storage rejects (out of order,
//! duplicates) are counted, not fatal.

use std::path::Path;

use anyhow::Context;

use crate::exposition::{self, Entry, Format, MetricType};
use crate::model::{Label, Labels, METRIC_NAME, format_openmetrics_float};
use crate::promql::promqltest::{self, Command, SeqValue};
use crate::storage::{Appendable, Appender};

/// Samples per commit, so a large file is not held in one batch.
const BATCH: usize = 50_000;

/// What a load did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub samples: u64,
    pub series: usize,
    pub rejected: u64,
    /// The first rejection's message, when there were any.
    pub first_rejection: Option<String>,
    /// Native-histogram items of a promqltest file that were not loaded.
    pub skipped_histograms: u64,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} samples in {} series", self.samples, self.series)?;
        if self.rejected > 0 {
            write!(f, ", {} rejected", self.rejected)?;
            if let Some(e) = &self.first_rejection {
                write!(f, " (first: {e})")?;
            }
        }
        if self.skipped_histograms > 0 {
            write!(
                f,
                ", {} native-histogram samples skipped",
                self.skipped_histograms
            )?;
        }
        Ok(())
    }
}

/// Loads `path` into `storage`: OpenMetrics when the text ends with `# EOF`, a promqltest
/// file otherwise.
pub fn load_file(path: &Path, storage: &dyn Appendable, now_ms: i64) -> anyhow::Result<LoadReport> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let r = if text.trim_end().ends_with("# EOF") {
        load_openmetrics(&text, storage, now_ms)
    } else {
        load_promqltest(&text, storage)
    };
    r.with_context(|| format!("loading {}", path.display()))
}

/// Appends in batches and keeps the counts.
struct Loader<'a> {
    storage: &'a dyn Appendable,
    app: Option<Box<dyn Appender + 'a>>,
    pending: usize,
    report: LoadReport,
    series: std::collections::HashSet<Labels>,
}

impl<'a> Loader<'a> {
    fn new(storage: &'a dyn Appendable) -> Self {
        Loader {
            storage,
            app: None,
            pending: 0,
            report: LoadReport::default(),
            series: std::collections::HashSet::new(),
        }
    }

    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> anyhow::Result<()> {
        let storage = self.storage;
        let app = self.app.get_or_insert_with(|| storage.history_appender());
        match app.append(None, labels, t, v) {
            Ok(_) => {
                self.report.samples += 1;
                if !self.series.contains(labels) {
                    self.series.insert(labels.clone());
                }
            }
            Err(e) if e.is_sample_error() => {
                self.report.rejected += 1;
                if self.report.first_rejection.is_none() {
                    self.report.first_rejection = Some(e.to_string());
                }
            }
            Err(e) => return Err(e).context("appending"),
        }
        self.pending += 1;
        if self.pending >= BATCH {
            self.commit()?;
        }
        Ok(())
    }

    fn commit(&mut self) -> anyhow::Result<()> {
        self.pending = 0;
        if let Some(app) = self.app.take() {
            app.commit().context("committing")?;
        }
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<LoadReport> {
        self.commit()?;
        self.report.series = self.series.len();
        Ok(self.report)
    }
}

/// An OpenMetrics text into storage. A parse error stops the load with its line:col.
pub fn load_openmetrics(
    text: &str,
    storage: &dyn Appendable,
    now_ms: i64,
) -> anyhow::Result<LoadReport> {
    let mut loader = Loader::new(storage);
    // The family of the last TYPE line, whose `le` (histogram) or `quantile` (summary)
    // values Prometheus 3 normalizes.
    let mut family: Option<(String, &'static str)> = None;
    for entry in exposition::parse(text, Format::OpenMetrics) {
        let s = match entry.map_err(|e| anyhow::anyhow!("{e}"))? {
            Entry::Type { metric, kind } => {
                family = match kind {
                    MetricType::Histogram => Some((metric.to_string(), "le")),
                    MetricType::Summary => Some((metric.to_string(), "quantile")),
                    _ => None,
                };
                continue;
            }
            Entry::Sample(s) => s,
            _ => continue,
        };
        let normalize = family
            .as_ref()
            .filter(|(fam, _)| s.name.starts_with(fam.as_str()))
            .map(|(_, label)| *label);
        let labels: Vec<Label> = std::iter::once(Label::new(METRIC_NAME, &*s.name))
            .chain(s.labels().map(|(n, v)| {
                if Some(&*n) == normalize
                    && let Ok(f) = v.trim().parse::<f64>()
                {
                    return Label::new(&*n, format_openmetrics_float(f));
                }
                Label::new(&*n, &*v)
            }))
            .collect();
        let labels = Labels::new(labels);
        loader.append(&labels, s.timestamp_ms.unwrap_or(now_ms), s.value)?;
    }
    loader.finish()
}

/// The `load` blocks of a promqltest file into storage.
pub fn load_promqltest(text: &str, storage: &dyn Appendable) -> anyhow::Result<LoadReport> {
    let file = promqltest::parse_file(text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut loader = Loader::new(storage);
    let mut skipped = 0;
    let mut blocks = 0;
    for cmd in &file.commands {
        let Command::Load(load) = cmd else { continue };
        blocks += 1;
        for (_, desc) in &load.series {
            for (i, v) in desc.values.iter().enumerate() {
                let t = (i as i64)
                    .checked_mul(load.step)
                    .context("a timestamp is out of range")?;
                match v {
                    SeqValue::Float(f) => loader.append(&desc.labels, t, *f)?,
                    SeqValue::Histogram(_) => skipped += 1,
                    SeqValue::Omitted => {}
                }
            }
        }
        // One load block is one batch, as in the test harness.
        loader.commit()?;
    }
    if blocks == 0 {
        anyhow::bail!("no load block (and no \"# EOF\" line, so not OpenMetrics either)");
    }
    let mut report = loader.finish()?;
    report.skipped_histograms = skipped;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Matcher;
    use crate::storage::{Queryable, SelectHints};
    use crate::tsdb::{Head, HeadOptions};

    fn dump(head: &Head, name: &str) -> Vec<(String, Vec<(i64, f64)>)> {
        let q = head.querier(i64::MIN, i64::MAX).unwrap();
        q.select(
            &[Matcher::equal(METRIC_NAME, name)],
            &SelectHints {
                start: i64::MIN,
                end: i64::MAX,
                lazy: false,
            },
        )
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.samples.map(|x| (x.t, x.v)).collect(),
            )
        })
        .collect()
    }

    #[test]
    fn openmetrics_keeps_timestamps_of_any_age_and_normalizes_le() {
        let text = "# TYPE h histogram\n\
                    h_bucket{le=\"1\"} 1 1000\n\
                    h_bucket{le=\"+Inf\"} 2 1000\n\
                    h_count 2 1000\n\
                    h_sum 3.5 1000\n\
                    h_bucket{le=\"1\"} 2 1015.5\n\
                    h_bucket{le=\"+Inf\"} 4 1015.5\n\
                    h_count 4 1015.5\n\
                    h_sum 7 1015.5\n\
                    # TYPE c counter\n\
                    c_total{a=\"x\"} 1 100\n\
                    c_total{a=\"x\"} NaN 200\n\
                    c_total{a=\"x\"} 0 150\n\
                    # TYPE g gauge\n\
                    g 5\n\
                    # EOF\n";
        let head = Head::new(HeadOptions::default());
        let r = load_openmetrics(text, &head, 9_000_000).unwrap();
        assert_eq!(r.samples, 11);
        assert_eq!(r.series, 6);
        assert_eq!(r.rejected, 1, "{r}");
        assert!(
            r.first_rejection
                .as_deref()
                .unwrap_or("")
                .contains("out of order")
        );
        assert_eq!(
            dump(&head, "h_bucket"),
            vec![
                (
                    "{__name__=\"h_bucket\", le=\"+Inf\"}".to_string(),
                    vec![(1_000_000, 2.0), (1_015_500, 4.0)]
                ),
                (
                    "{__name__=\"h_bucket\", le=\"1.0\"}".to_string(),
                    vec![(1_000_000, 1.0), (1_015_500, 2.0)]
                ),
            ]
        );
        let c = dump(&head, "c_total");
        assert_eq!(c[0].1[0], (100_000, 1.0));
        assert!(c[0].1[1].1.is_nan());
        assert_eq!(dump(&head, "g")[0].1, vec![(9_000_000, 5.0)]);
    }

    #[test]
    fn openmetrics_errors_name_the_line() {
        let head = Head::new(HeadOptions::default());
        let e = load_openmetrics("a{ 1\n# EOF\n", &head, 0).unwrap_err();
        assert!(format!("{e}").contains("1:"), "{e}");
    }

    #[test]
    fn promqltest_load_blocks_are_loaded_in_order() {
        let text = "load 5m\n  m{a=\"1\"} 0+1x3 _ 7\n  n 1 {{schema:0 sum:1 count:1}}\n\n\
                    eval instant at 5m m\n  m{a=\"1\"} 1\n\n\
                    load 1m\n  late 1 2\n";
        let head = Head::new(HeadOptions::default());
        let r = load_promqltest(text, &head).unwrap();
        assert_eq!(r.samples, 8);
        assert_eq!(r.skipped_histograms, 1);
        assert_eq!(
            dump(&head, "m")[0].1,
            vec![
                (0, 0.0),
                (300_000, 1.0),
                (600_000, 2.0),
                (900_000, 3.0),
                (1_500_000, 7.0)
            ]
        );
        assert_eq!(dump(&head, "late")[0].1, vec![(0, 1.0), (60_000, 2.0)]);
        let e = load_promqltest("eval instant at 0 1\n  {} 1\n", &head).unwrap_err();
        assert!(e.to_string().contains("no load block"), "{e}");
    }
}
