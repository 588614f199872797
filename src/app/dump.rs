//! Streams stored series out, for `kmon export --match SELECTOR [--start --end] -o FORMAT`:
//! every series matching the selector with its samples in the range, as OpenMetrics text
//! (imports back losslessly into kmon, `kmon serve --load`, and into promtool's
//! `tsdb create-blocks-from openmetrics`), as Prometheus's `query_range` JSON shape, or as
//! CSV rows. It reads through `storage::Queryable` one series at a time and writes as it
//! goes, so memory stays flat whatever the range.

use std::io::Write;

use crate::model::{Labels, Matcher, format_go_float, is_stale_nan};
use crate::storage::{Queryable, SelectHints};

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpFormat {
    OpenMetrics,
    /// `{"status":"success","data":{"resultType":"matrix","result":[...]}}`.
    Json,
    /// `series,timestamp,value`, as `kmon query-range -o csv`.
    Csv,
}

/// What a dump wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DumpStats {
    pub series: usize,
    pub samples: usize,
    /// Staleness markers left out (OpenMetrics cannot say them; a gap says the same).
    pub stale_markers: usize,
}

/// Writes every series matching `matchers` with its samples in `[start, end]` (ms) to
/// `out` in `format`. Errors name what failed: the storage, or writing.
pub fn dump(
    storage: &dyn Queryable,
    matchers: &[Matcher],
    start: i64,
    end: i64,
    format: DumpFormat,
    out: &mut dyn Write,
) -> anyhow::Result<DumpStats> {
    dump_with(storage, matchers, start, end, format, out, &mut |_, _| {})
}

/// `dump`, telling `progress` (series written, series in all) as it goes.
pub fn dump_with(
    storage: &dyn Queryable,
    matchers: &[Matcher],
    start: i64,
    end: i64,
    format: DumpFormat,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(usize, usize),
) -> anyhow::Result<DumpStats> {
    let querier = storage.querier(start, end)?;
    let hints = SelectHints {
        start,
        end,
        lazy: false,
    };
    let series = querier.select(matchers, &hints)?;
    let mut stats = DumpStats::default();
    let mut family: Option<String> = None;
    match format {
        DumpFormat::Json => {
            out.write_all(br#"{"status":"success","data":{"resultType":"matrix","result":["#)?
        }
        DumpFormat::Csv => out.write_all(b"series,timestamp,value\n")?,
        DumpFormat::OpenMetrics => {}
    }
    let total = series.len();
    for (i, s) in series.into_iter().enumerate() {
        progress(i, total);
        stats.series += 1;
        let points = s.samples.filter(|p| {
            let stale = is_stale_nan(p.v);
            stats.stale_markers += usize::from(stale);
            !stale
        });
        match format {
            DumpFormat::OpenMetrics => {
                let name = s.labels.metric_name().to_string();
                if family.as_deref() != Some(name.as_str()) {
                    writeln!(out, "# TYPE {} unknown", om_name(&name))?;
                    family = Some(name);
                }
                let series = om_series(&s.labels);
                for p in points {
                    stats.samples += 1;
                    writeln!(out, "{series} {} {}", om_float(p.v), om_timestamp(p.t))?;
                }
            }
            DumpFormat::Json => {
                if i > 0 {
                    out.write_all(b",")?;
                }
                let mut head = String::from("{\"metric\":");
                crate::api::json::push_labels(&mut head, &s.labels);
                head.push_str(",\"values\":[");
                out.write_all(head.as_bytes())?;
                for (k, p) in points.enumerate() {
                    stats.samples += 1;
                    let mut point = String::from(if k > 0 { ",[" } else { "[" });
                    crate::api::json::push_timestamp(&mut point, p.t);
                    point.push(',');
                    crate::api::json::push_float(&mut point, p.v);
                    point.push(']');
                    out.write_all(point.as_bytes())?;
                }
                out.write_all(b"]}")?;
            }
            DumpFormat::Csv => {
                let name = super::export::data::csv_field(&s.labels.to_string());
                for p in points {
                    stats.samples += 1;
                    let mut t = String::new();
                    crate::api::json::push_timestamp(&mut t, p.t);
                    writeln!(out, "{name},{t},{}", format_go_float(p.v))?;
                }
            }
        }
    }
    match format {
        DumpFormat::OpenMetrics => out.write_all(b"# EOF\n")?,
        DumpFormat::Json => out.write_all(b"]}}\n")?,
        DumpFormat::Csv => {}
    }
    out.flush()?;
    progress(total, total);
    Ok(stats)
}

/// Whether `name` can be written bare in OpenMetrics (the legacy metric name charset).
fn legacy_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn om_name(name: &str) -> String {
    if legacy_name(name) {
        name.to_string()
    } else {
        format!("\"{}\"", om_escape(name))
    }
}

/// `name{a="1",b="2"}`, or `{"odd.name",a="1"}` for a name outside the legacy charset
/// (OpenMetrics with UTF-8 names, as Prometheus 3 writes and reads it); label names
/// outside the legacy charset are quoted too.
fn om_series(labels: &Labels) -> String {
    let name = labels.metric_name();
    let mut pairs: Vec<String> = Vec::new();
    let mut out = String::new();
    if legacy_name(name) {
        out.push_str(name);
    } else {
        pairs.push(format!("\"{}\"", om_escape(name)));
    }
    for l in labels.iter().filter(|l| l.name != "__name__") {
        let n = if crate::model::is_valid_legacy_label_name(l.name) {
            l.name.to_string()
        } else {
            format!("\"{}\"", om_escape(l.name))
        };
        pairs.push(format!("{n}=\"{}\"", om_escape(l.value)));
    }
    if !pairs.is_empty() {
        out.push('{');
        out.push_str(&pairs.join(","));
        out.push('}');
    }
    out
}

/// OpenMetrics' escapes in quoted strings: backslash, double quote, newline.
fn om_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A value as OpenMetrics writes it: shortest round-trip digits, `NaN`, `+Inf`, `-Inf`.
fn om_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        // Rust's Display and LowerExp both round-trip; the exponent form keeps huge and
        // tiny values short.
        let plain = format!("{v}");
        let exp = format!("{v:e}");
        if exp.len() < plain.len() { exp } else { plain }
    }
}

/// A timestamp in ms as OpenMetrics seconds: `1700000000`, `1700000000.5`, `-1.25`.
fn om_timestamp(ms: i64) -> String {
    let mut s = String::new();
    crate::api::json::push_timestamp(&mut s, ms);
    // Three fraction digits; the trailing zeros are noise.
    if s.contains('.') {
        let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(trimmed);
    }
    s
}

/// `kmon export --match SELECTOR [--start T] [--end T] -o FORMAT --data-dir D`: opens
/// the data dir read-only (nothing in it is written, so it may belong to a running kmon or
/// a Prometheus) and dumps the matching series to standard output; the counts go to
/// standard error. Times are Unix seconds or RFC 3339, as in Prometheus's API; without
/// them, everything.
pub fn export_cli(
    data_dir: &std::path::Path,
    selector: &str,
    start: Option<&str>,
    end: Option<&str>,
    format: DumpFormat,
) -> anyhow::Result<std::process::ExitCode> {
    let matchers = crate::promql::parser::parse_metric_selector(selector).map_err(|e| {
        anyhow::anyhow!("--match {selector:?}: {}", e.to_prometheus_string(selector))
    })?;
    let time = |flag: &str, v: Option<&str>, default: i64| -> anyhow::Result<i64> {
        match v {
            None => Ok(default),
            Some(t) => crate::api::params::parse_time(t)
                .map(|g| g.from_time_ms())
                .map_err(|e| anyhow::anyhow!("--{flag} {t:?}: {e}")),
        }
    };
    let (start, end) = (
        time("start", start, i64::MIN / 2)?,
        time("end", end, i64::MAX / 2)?,
    );
    let db = crate::tsdb::db::Db::open(
        data_dir,
        crate::tsdb::db::DbOptions {
            read_only: true,
            ..Default::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("opening {}: {e}", data_dir.display()))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let bar = super::progress::Progress::new("selecting series", "exporting", "series");
    let stats = dump_with(
        &db,
        &matchers,
        start,
        end,
        format,
        &mut out,
        &mut |done, total| bar.update(done as u64, total as u64),
    );
    bar.finish();
    let stats = stats?;
    eprintln!(
        "kmon: exported {} series, {} samples{}",
        stats.series,
        stats.samples,
        if stats.stale_markers > 0 {
            format!(" ({} staleness markers left out)", stats.stale_markers)
        } else {
            String::new()
        }
    );
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests;
