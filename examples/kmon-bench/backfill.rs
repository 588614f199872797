//! The suite's backfill data: a deterministic OpenMetrics history file (what a scraper would
//! have stored after scraping `targets` node-like targets every `step_s` seconds for
//! `samples` scrapes) with node_exporter-, cAdvisor-, kube-state-metrics- and histogram-shaped
//! series, an exact number of series per target (padded with hwmon gauges), one family at a
//! time, HELP and TYPE once, samples of a series in time order, histogram points written
//! together per timestamp, timestamps in seconds and `# EOF` at the end. Both
//! `kmon import openmetrics` and `promtool tsdb create-blocks-from openmetrics` read it; the
//! storage, query and start-up sections of the suite use it. Values are pure functions of
//! (seed, target, series, k): two runs write the same bytes.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// What to write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackfillOpts {
    pub targets: usize,
    /// Series per target, exact (`up` included).
    pub series_per_target: usize,
    /// Unix seconds of sample 0.
    pub start_s: i64,
    pub step_s: i64,
    /// Samples per series.
    pub samples: usize,
    pub seed: u64,
    pub job: String,
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub series: u64,
    pub samples: u64,
    pub bytes: u64,
    pub start_s: i64,
    /// The newest sample's time.
    pub end_s: i64,
}

#[path = "backfill_layout.rs"]
mod layout;

use crate::wave::Round;
use layout::{BUCKETS, Kind, SCALE, layout};

/// Writes a value as Prometheus would read it back: integers without a fraction.
fn push_value(out: &mut Vec<u8>, v: f64) {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Writes the whole file to `w`.
pub fn write(o: &BackfillOpts, w: &mut impl Write) -> Result<Summary> {
    if o.targets == 0 || o.series_per_target == 0 || o.samples == 0 || o.step_s <= 0 {
        bail!("backfill sizes must be positive: {o:?}");
    }
    let fams = layout(o);
    let ts: Vec<String> = (0..o.samples)
        .map(|k| (o.start_s + k as i64 * o.step_s).to_string())
        .collect();
    let mut s = Summary {
        start_s: o.start_s,
        end_s: o.start_s + (o.samples as i64 - 1) * o.step_s,
        ..Summary::default()
    };
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut flush = |buf: &mut Vec<u8>, s: &mut Summary, force: bool| -> Result<()> {
        if force || buf.len() > (1 << 20) {
            w.write_all(buf).context("writing the backfill file")?;
            s.bytes += buf.len() as u64;
            buf.clear();
        }
        Ok(())
    };
    for (name, fam) in &fams {
        if !fam.hists.is_empty() {
            let _ = write!(
                buf,
                "# HELP {name} Request latency\n# TYPE {name} histogram\n"
            );
            for h in &fam.hists {
                let pre: Vec<String> = BUCKETS
                    .iter()
                    .map(|b| format!("{name}_bucket{{{},le=\"{b}\"}} ", h.labels))
                    .chain([
                        format!("{name}_bucket{{{},le=\"+Inf\"}} ", h.labels),
                        format!("{name}_sum{{{}}} ", h.labels),
                        format!("{name}_count{{{}}} ", h.labels),
                    ])
                    .collect();
                for (k, tk) in ts.iter().enumerate() {
                    let t = k as f64 * o.step_s as f64;
                    let nf = h.fast.value(k as u64, t) as u64;
                    let ns = h.slow.value(k as u64, t) as u64;
                    for (i, p) in pre.iter().take(12).enumerate() {
                        buf.extend_from_slice(p.as_bytes());
                        push_value(&mut buf, ((nf * h.f[i] + ns * h.g[i]) / SCALE) as f64);
                        let _ = writeln!(buf, " {tk}");
                    }
                    buf.extend_from_slice(pre[12].as_bytes());
                    push_value(
                        &mut buf,
                        Round::Dp(6).apply(nf as f64 * h.mean_f + ns as f64 * h.mean_s),
                    );
                    let _ = writeln!(buf, " {tk}");
                    buf.extend_from_slice(pre[13].as_bytes());
                    push_value(&mut buf, (nf + ns) as f64);
                    let _ = writeln!(buf, " {tk}");
                    flush(&mut buf, &mut s, false)?;
                }
                s.series += 14;
                s.samples += 14 * o.samples as u64;
            }
            continue;
        }
        let (kind, sample_name) = match fam.kind {
            Some(Kind::Counter) => ("counter", format!("{name}_total")),
            _ => ("gauge", name.to_string()),
        };
        let _ = write!(buf, "# HELP {name} {}\n# TYPE {name} {kind}\n", fam.help);
        for se in &fam.series {
            let pre = format!("{sample_name}{{{}}} ", se.labels);
            for (k, tk) in ts.iter().enumerate() {
                buf.extend_from_slice(pre.as_bytes());
                push_value(
                    &mut buf,
                    se.model.value(k as u64, k as f64 * o.step_s as f64),
                );
                let _ = writeln!(buf, " {tk}");
                flush(&mut buf, &mut s, false)?;
            }
            s.series += 1;
            s.samples += o.samples as u64;
        }
    }
    buf.extend_from_slice(b"# EOF\n");
    flush(&mut buf, &mut s, true)?;
    Ok(s)
}

/// Writes the file at `path`.
pub fn write_file(o: &BackfillOpts, path: &Path) -> Result<Summary> {
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    let s = write(o, &mut w)?;
    w.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(s)
}

/// Bytes of the block directories under a data dir: (whole blocks, their chunks/ only,
/// block count). A block dir is a directory with a `meta.json`.
pub fn block_bytes(data_dir: &Path) -> Result<(u64, u64, usize)> {
    fn dir_bytes(p: &Path) -> u64 {
        let Ok(rd) = std::fs::read_dir(p) else {
            return 0;
        };
        rd.flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    }
    let (mut all, mut chunks, mut n) = (0, 0, 0);
    let rd =
        std::fs::read_dir(data_dir).with_context(|| format!("reading {}", data_dir.display()))?;
    for e in rd.flatten() {
        let p = e.path();
        if p.join("meta.json").is_file() {
            all += dir_bytes(&p);
            chunks += dir_bytes(&p.join("chunks"));
            n += 1;
        }
    }
    Ok((all, chunks, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmon::exposition::{Entry, Format, parse};
    use std::collections::{HashMap, HashSet};

    fn opts(targets: usize, series: usize, samples: usize) -> BackfillOpts {
        BackfillOpts {
            targets,
            series_per_target: series,
            start_s: 1_699_999_200,
            step_s: 15,
            samples,
            seed: 42,
            job: "node".into(),
        }
    }

    fn check(o: &BackfillOpts) -> String {
        let mut out = Vec::new();
        let s = write(o, &mut out).expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(s.bytes as usize, text.len());
        let mut series = HashSet::new();
        let mut last: HashMap<String, i64> = HashMap::new();
        let mut samples = 0u64;
        for e in parse(&text, Format::OpenMetrics) {
            if let Entry::Sample(x) = e.expect("valid OpenMetrics") {
                let ts = x.timestamp_ms.expect("timestamped");
                let prev = last.insert(x.series().to_string(), ts);
                assert!(prev.is_none_or(|p| p < ts), "time order of {}", x.series());
                assert!(x.value.is_finite());
                series.insert(x.series().to_string());
                samples += 1;
            }
        }
        assert_eq!(series.len(), o.targets * o.series_per_target);
        assert_eq!(s.series as usize, series.len());
        assert_eq!(samples, s.samples);
        assert_eq!(
            samples,
            (o.targets * o.series_per_target * o.samples) as u64
        );
        text
    }

    #[test]
    fn exact_series_counts_and_valid_openmetrics() {
        for (t, n) in [(1, 1), (1, 5), (2, 37), (1, 300), (3, 2000)] {
            check(&opts(t, n, 4));
        }
    }

    #[test]
    fn deterministic_and_counters_never_fall() {
        let o = opts(2, 500, 40);
        let a = check(&o);
        let mut b = Vec::new();
        write(&o, &mut b).expect("writes");
        assert_eq!(a.as_bytes(), &b[..]);
        let mut last: HashMap<String, f64> = HashMap::new();
        for e in parse(&a, Format::OpenMetrics) {
            if let Ok(Entry::Sample(x)) = e
                && (x.name.ends_with("_total")
                    || x.name.ends_with("_bucket")
                    || x.name.ends_with("_count"))
            {
                let prev = last.insert(x.series().to_string(), x.value);
                assert!(prev.is_none_or(|p| p <= x.value), "{} fell", x.series());
            }
        }
        assert!(
            a.contains("kube_pod_info{") && a.contains("http_request_duration_seconds_bucket{")
        );
        assert!(a.ends_with("# EOF\n"));
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(write(&opts(0, 10, 1), &mut Vec::new()).is_err());
        assert!(write(&opts(1, 10, 0), &mut Vec::new()).is_err());
    }
}
