//! The cardinality report behind `kmon tsdb analyze`: from every series' labels in a store
//! (through `storage::Queryable`, without decoding samples), the totals and the top label
//! pairs, label names by cumulative value length, labels by distinct values, and metric
//! names by series, in the sections and wording of `promtool tsdb analyze` so that people
//! who know one read the other.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::model::{MatchOp, Matcher};
use crate::storage::{Queryable, SelectHints};

/// One ranked list: `(count, key)`, largest first, at most the report's limit.
pub type Ranking = Vec<(usize, String)>;

/// The report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cardinality {
    pub series: usize,
    /// Distinct label names.
    pub label_names: usize,
    /// Distinct `name=value` pairs (Prometheus's postings lists).
    pub label_pairs: usize,
    /// Label pairs over all series (Prometheus's postings entries).
    pub pair_entries: usize,
    pub common_pairs: Ranking,
    pub value_lengths: Ranking,
    pub label_cardinality: Ranking,
    pub metric_series: Ranking,
}

/// Counts the series with data in `[mint, maxt]` (ms), keeping the top `limit` of each
/// ranking.
pub fn analyze(
    storage: &dyn Queryable,
    mint: i64,
    maxt: i64,
    limit: usize,
) -> anyhow::Result<Cardinality> {
    analyze_with(storage, mint, maxt, limit, &mut |_, _| {})
}

/// `analyze`, telling `progress` (series counted, series in all) as it goes.
pub fn analyze_with(
    storage: &dyn Queryable,
    mint: i64,
    maxt: i64,
    limit: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> anyhow::Result<Cardinality> {
    let querier = storage.querier(mint, maxt)?;
    let hints = SelectHints {
        start: mint,
        end: maxt,
        lazy: true,
    };
    let all = [Matcher::new(MatchOp::Regex, "__name__", ".*")?];
    let series = querier.select(&all, &hints)?;
    let mut pairs: HashMap<(String, String), usize> = HashMap::new();
    let mut metrics: HashMap<String, usize> = HashMap::new();
    let mut report = Cardinality {
        series: series.len(),
        ..Cardinality::default()
    };
    for (i, s) in series.iter().enumerate() {
        if i % 4096 == 0 {
            progress(i, series.len());
        }
        for l in s.labels.iter() {
            report.pair_entries += 1;
            *pairs
                .entry((l.name.to_string(), l.value.to_string()))
                .or_default() += 1;
        }
        *metrics
            .entry(s.labels.metric_name().to_string())
            .or_default() += 1;
    }
    progress(series.len(), series.len());
    let mut values: HashMap<&str, usize> = HashMap::new();
    let mut lengths: HashMap<&str, usize> = HashMap::new();
    for (name, value) in pairs.keys() {
        *values.entry(name).or_default() += 1;
        *lengths.entry(name).or_default() += value.len();
    }
    report.label_names = values.len();
    report.label_pairs = pairs.len();
    report.common_pairs = top(
        pairs.iter().map(|((n, v), c)| (*c, format!("{n}={v}"))),
        limit,
    );
    report.value_lengths = top(lengths.iter().map(|(n, c)| (*c, n.to_string())), limit);
    report.label_cardinality = top(values.iter().map(|(n, c)| (*c, n.to_string())), limit);
    report.metric_series = top(metrics.into_iter().map(|(n, c)| (c, n)), limit);
    Ok(report)
}

/// The largest `limit` entries, ties by key.
fn top(items: impl Iterator<Item = (usize, String)>, limit: usize) -> Ranking {
    let mut v: Ranking = items.collect();
    v.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    v.truncate(limit);
    v
}

/// The report as text, under `title` (what was analysed).
pub fn render(r: &Cardinality, title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{title}");
    let _ = writeln!(out, "Total Series: {}", r.series);
    let _ = writeln!(out, "Label names: {}", r.label_names);
    let _ = writeln!(out, "Postings (unique label pairs): {}", r.label_pairs);
    let _ = writeln!(
        out,
        "Postings entries (total label pairs): {}",
        r.pair_entries
    );
    for (heading, list) in [
        ("Most common label pairs", &r.common_pairs),
        (
            "Label names with highest cumulative label value length",
            &r.value_lengths,
        ),
        ("Highest cardinality labels", &r.label_cardinality),
        ("Highest cardinality metric names", &r.metric_series),
    ] {
        let _ = writeln!(out, "\n{heading}:");
        for (n, key) in list {
            let _ = writeln!(out, "{n} {key}");
        }
    }
    out
}

/// `kmon tsdb analyze [--limit N] --data-dir D`: the report over everything in the data
/// dir, opened read-only (nothing in it is written).
pub fn analyze_cli(
    data_dir: &std::path::Path,
    limit: usize,
) -> anyhow::Result<std::process::ExitCode> {
    let db = crate::tsdb::db::Db::open(
        data_dir,
        crate::tsdb::db::DbOptions {
            read_only: true,
            ..Default::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("opening {}: {e}", data_dir.display()))?;
    let bar = super::progress::Progress::new("selecting series", "counting", "series");
    let report = analyze_with(
        &db,
        i64::MIN / 2,
        i64::MAX / 2,
        limit,
        &mut |done, total| bar.update(done as u64, total as u64),
    );
    bar.finish();
    let report = report?;
    let title = match db.time_range() {
        Some((lo, hi)) => format!(
            "Data dir: {} ({} blocks and the head, {} to {})",
            data_dir.display(),
            db.blocks().len(),
            crate::api::targets::go_time(Some(lo)),
            crate::api::targets::go_time(Some(hi))
        ),
        None => format!("Data dir: {} (empty)", data_dir.display()),
    };
    print!("{}", render(&report, &title));
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Label, Labels};
    use crate::storage::{Appendable, MemStorage};

    #[test]
    fn counts_and_rankings_like_promtool() {
        let store = MemStorage::new();
        let mut app = store.appender();
        let mut add = |pairs: &[(&str, &str)], t: i64| {
            let l = Labels::new(pairs.iter().map(|(n, v)| Label::new(*n, *v)).collect());
            app.append(None, &l, t, 1.0).expect("append");
        };
        for pod in ["a", "b", "c"] {
            add(
                &[
                    ("__name__", "http_requests_total"),
                    ("pod", pod),
                    ("job", "api"),
                ],
                1000,
            );
        }
        add(&[("__name__", "up"), ("job", "api")], 1000);
        add(&[("__name__", "up"), ("job", "db")], 1000);
        // Outside the analysed range: not counted.
        add(&[("__name__", "old"), ("job", "gone")], -10_000);
        app.commit().expect("commit");

        let r = analyze(&store, 0, 2000, 3).expect("analyze");
        assert_eq!(r.series, 5);
        assert_eq!(r.label_names, 3);
        // __name__ ×2, job ×2, pod ×3.
        assert_eq!(r.label_pairs, 7);
        assert_eq!(r.pair_entries, 3 * 3 + 2 * 2);
        assert_eq!(
            r.common_pairs,
            [
                (4, "job=api".to_string()),
                (3, "__name__=http_requests_total".to_string()),
                (2, "__name__=up".to_string()),
            ]
        );
        assert_eq!(
            r.label_cardinality,
            [
                (3, "pod".to_string()),
                (2, "__name__".to_string()),
                (2, "job".to_string()),
            ]
        );
        assert_eq!(r.value_lengths[0], (21, "__name__".to_string()));
        assert_eq!(
            r.metric_series,
            [
                (3, "http_requests_total".to_string()),
                (2, "up".to_string())
            ]
        );
        let text = render(&r, "Head: 5 series");
        assert!(
            text.starts_with("Head: 5 series\nTotal Series: 5\nLabel names: 3\n"),
            "{text}"
        );
        assert!(
            text.contains("\nHighest cardinality labels:\n3 pod\n2 __name__\n2 job\n"),
            "{text}"
        );
        assert!(text.ends_with("Highest cardinality metric names:\n3 http_requests_total\n2 up\n"));

        let empty = analyze(&MemStorage::new(), 0, 1, 20).expect("analyze");
        assert_eq!(empty, Cardinality::default());
    }
}
