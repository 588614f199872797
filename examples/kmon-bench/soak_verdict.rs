//! The soak's verdict: the checks over the samples `soak` took (RSS across the head's
//! compaction cycles, threads, fds, scrape p99, TUI responsiveness, targets up), the
//! report, its Markdown table and the files it is written to (samples.csv, summary.json,
//! verdict.md).
//!
//! RSS is judged per compaction cycle: with churn, series keep entering the head and the
//! head drops the ones without samples only when it is truncated after a head
//! compaction (a block cut), so RSS grows within a cycle by design. Warm-up ends at the
//! first cut; the verdict compares the anonymous part of the RSS (heap and stacks, what a
//! leak grows) of the last complete cycle with the first one after warm-up: its highest,
//! leaving out the minute after each cut (the cut and compaction's own working memory,
//! which a 30 s sample catches in one cycle and misses in the next), and its lowest. The
//! whole RSS is reported beside it as context: its file-backed part is the mmapped block
//! files kmon has read, page cache the kernel can reclaim, and it follows the data on disk,
//! which grows until retention. Without two complete cycles the verdict falls back to the
//! RSS from the end of `--warmup-minutes` to the end.

use std::path::Path;
use std::process::Command;

use anyhow::Result;
use serde::Serialize;

use crate::live;
use crate::soak::{SoakOpts, SoakSample};

/// A pass/fail line of the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub what: String,
    pub start: String,
    pub end: String,
    pub limit: String,
    pub pass: bool,
}

/// The whole result.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    pub opts: SoakOpts,
    pub kmon_version: String,
    pub samples: Vec<SoakSample>,
    /// One per complete compaction cycle after warm-up.
    pub cycles: Vec<Cycle>,
    pub scrape_p99_s: f64,
    pub scrape_max_s: f64,
    pub scrape_samples: usize,
    pub scrape_timeout_s: u64,
    pub series_start: f64,
    pub series_end: f64,
    pub checks: Vec<Check>,
    pub exit: String,
}

/// What kmon's data said after the run.
#[derive(Debug, Clone, Default)]
pub struct DataFigures {
    pub scrape_p99_s: f64,
    pub scrape_max_s: f64,
    pub scrape_samples: usize,
    pub series_start: f64,
    pub series_end: f64,
}

/// The samples between two head cuts: `cut` cuts had happened when they were taken.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cycle {
    pub cut: usize,
    pub from_s: f64,
    pub to_s: f64,
    pub max_rss_bytes: u64,
    pub min_rss_bytes: u64,
    /// The same for the anonymous part of the RSS (0 when it could not be read); the
    /// highest leaves out the samples of the cycle's first [`AFTER_CUT_S`] seconds.
    pub max_anon_bytes: u64,
    pub min_anon_bytes: u64,
    pub max_head_series: Option<u64>,
}

/// How long after a cut its samples are left out of a cycle's highest anonymous RSS.
pub const AFTER_CUT_S: f64 = 60.0;

/// The complete cycles (the head was cut again after them), in order; the one before
/// the first cut (warm-up) and the one still running at the end are left out.
pub fn cycles(samples: &[SoakSample]) -> Vec<Cycle> {
    let last_cut = samples.iter().map(|s| s.cuts).max().unwrap_or(0);
    let mut out: Vec<Cycle> = Vec::new();
    for s in samples.iter().filter(|s| s.cuts >= 1 && s.cuts < last_cut) {
        let anon = s.rss_anon_bytes.unwrap_or(0);
        match out.last_mut() {
            Some(c) if c.cut == s.cuts => {
                c.to_s = s.t_s;
                c.max_rss_bytes = c.max_rss_bytes.max(s.rss_bytes);
                c.min_rss_bytes = c.min_rss_bytes.min(s.rss_bytes);
                if s.t_s - c.from_s >= AFTER_CUT_S {
                    c.max_anon_bytes = c.max_anon_bytes.max(anon);
                }
                c.min_anon_bytes = c.min_anon_bytes.min(anon);
                c.max_head_series = c.max_head_series.max(s.head_series);
            }
            _ => out.push(Cycle {
                cut: s.cuts,
                from_s: s.t_s,
                to_s: s.t_s,
                max_rss_bytes: s.rss_bytes,
                min_rss_bytes: s.rss_bytes,
                max_anon_bytes: 0,
                min_anon_bytes: anon,
                max_head_series: s.head_series,
            }),
        }
    }
    out
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / 1048576.0)
}

pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    live::quantile(&mut v, 0.5)
}

/// One measure of memory across the cycles: its highest and lowest per cycle, first
/// complete cycle against the last.
fn cycle_checks(
    opts: &SoakOpts,
    cycles: &[Cycle],
    what: &str,
    max_min: impl Fn(&Cycle) -> (u64, u64),
) -> Vec<Check> {
    let (Some(first), Some(last)) = (cycles.first(), cycles.last()) else {
        return Vec::new();
    };
    let limit = format!("≤ +{:.0} %", opts.rss_tolerance * 100.0);
    let ((f_hi, f_lo), (l_hi, l_lo)) = (max_min(first), max_min(last));
    let growth = l_hi as f64 / f_hi.max(1) as f64 - 1.0;
    let maxima: Vec<String> = cycles.iter().map(|c| mib(max_min(c).0)).collect();
    let low_growth = l_lo as f64 / f_lo.max(1) as f64 - 1.0;
    let minima: Vec<String> = cycles.iter().map(|c| mib(max_min(c).1)).collect();
    vec![
        Check {
            what: format!(
                "{what}, highest of each head-compaction cycle after warm-up ({} cycles: {})",
                cycles.len(),
                maxima.join(", ")
            ),
            start: format!("{} (cycle from {:.0} s)", mib(f_hi), first.from_s),
            end: format!(
                "{} (cycle from {:.0} s; {:+.1} %)",
                mib(l_hi),
                last.from_s,
                growth * 100.0
            ),
            limit: limit.clone(),
            pass: growth <= opts.rss_tolerance,
        },
        Check {
            what: format!("{what}, lowest of each cycle ({})", minima.join(", ")),
            start: mib(f_lo),
            end: format!("{} ({:+.1} %)", mib(l_lo), low_growth * 100.0),
            limit,
            pass: low_growth <= opts.rss_tolerance,
        },
    ]
}

/// The RSS checks: per cycle (the anonymous part, then all of it) when there are two
/// complete cycles, else over a window.
fn rss_checks(opts: &SoakOpts, samples: &[SoakSample], cycles: &[Cycle], warm: f64) -> Vec<Check> {
    if cycles.len() >= 2 {
        let mut checks = Vec::new();
        if cycles.iter().all(|c| c.min_anon_bytes > 0) {
            checks.extend(cycle_checks(opts, cycles, "RSS anonymous (heap)", |c| {
                (c.max_anon_bytes, c.min_anon_bytes)
            }));
        }
        let mut total = cycle_checks(opts, cycles, "RSS total (with the mmapped blocks)", |c| {
            (c.max_rss_bytes, c.min_rss_bytes)
        });
        if checks.is_empty() {
            // Without the anonymous part the whole RSS is all there is to judge.
            checks.append(&mut total);
        } else {
            for c in &mut total {
                c.limit = "(context: file-backed pages of the blocks read)".into();
                c.pass = true;
            }
            checks.append(&mut total);
            let files: Vec<u64> = samples
                .iter()
                .filter(|s| s.t_s >= warm)
                .filter_map(|s| s.rss_file_bytes)
                .collect();
            if let (Some(a), Some(b)) = (files.first(), files.last()) {
                checks.push(Check {
                    what: "RSS file-backed (the kmon binary and the mmapped blocks)".into(),
                    start: mib(*a),
                    end: mib(*b),
                    limit: "(context)".into(),
                    pass: true,
                });
            }
        }
        let series: Vec<String> = cycles
            .iter()
            .map(|c| c.max_head_series.map_or("-".into(), |n| n.to_string()))
            .collect();
        checks.push(Check {
            what: "head series, highest of each cycle (kmon's log)".into(),
            start: series.first().cloned().unwrap_or_default(),
            end: series.join(", "),
            limit: "(context)".into(),
            pass: true,
        });
        return checks;
    }
    let mut checks = Vec::new();
    let limit = format!("≤ +{:.0} %", opts.rss_tolerance * 100.0);
    let base = samples.iter().find(|s| s.t_s >= warm).or(samples.first());
    if let (Some(b), Some(l)) = (base, samples.last()) {
        let growth = l.rss_bytes as f64 / b.rss_bytes.max(1) as f64 - 1.0;
        let served = l.samples_served.saturating_sub(b.samples_served).max(1) as f64;
        let per_sample = (l.rss_bytes as f64 - b.rss_bytes as f64) / served;
        checks.push(Check {
            what: format!(
                "RSS after warm-up ({:.0} s) → end (fewer than 2 compaction cycles)",
                b.t_s
            ),
            start: mib(b.rss_bytes),
            end: format!(
                "{} ({:+.1} %, {per_sample:.1} B per sample served)",
                mib(l.rss_bytes),
                growth * 100.0
            ),
            limit,
            pass: growth <= opts.rss_tolerance,
        });
    }
    checks
}

/// All the checks and the report.
pub fn verdict(
    opts: &SoakOpts,
    samples: Vec<SoakSample>,
    data: DataFigures,
    exit: String,
    kmon: &Path,
) -> SoakReport {
    let timeout = opts.interval.min(10);
    let cycles = cycles(&samples);
    // Warm-up ends at the first head cut; without one, after `--warmup-minutes`.
    let warm = samples
        .iter()
        .find(|s| s.cuts >= 1)
        .map_or((opts.warmup_minutes * 60) as f64, |s| s.t_s);
    let mut checks = rss_checks(opts, &samples, &cycles, warm);
    let base = samples.iter().find(|s| s.t_s >= warm).or(samples.first());
    if let (Some(b), Some(l)) = (base, samples.last()) {
        checks.push(Check {
            what: format!("threads after warm-up ({:.0} s) → end", b.t_s),
            start: b.threads.to_string(),
            end: l.threads.to_string(),
            limit: "≤ +2".into(),
            pass: l.threads <= b.threads + 2,
        });
        let fd_limit = b.fds + (b.fds / 20).max(10);
        checks.push(Check {
            what: "open fds after warm-up → end".into(),
            start: b.fds.to_string(),
            end: l.fds.to_string(),
            limit: format!("≤ {fd_limit} (+5 %)"),
            pass: l.fds <= fd_limit,
        });
        checks.push(Check {
            what: "head cuts (blocks written) during the run".into(),
            start: b.cuts.to_string(),
            end: l.cuts.to_string(),
            limit: format!("(context; block range {})", opts.block_duration),
            pass: true,
        });
    }
    checks.push(Check {
        what: "active series after warm-up → end (kmon's data)".into(),
        start: format!("{:.0}", data.series_start),
        end: format!("{:.0}", data.series_end),
        limit: "(context)".into(),
        pass: true,
    });
    checks.push(Check {
        what: format!(
            "scrape_duration p99 over the run ({} scrapes)",
            data.scrape_samples
        ),
        start: "-".into(),
        end: format!(
            "{:.1} ms (max {:.1} ms)",
            data.scrape_p99_s * 1e3,
            data.scrape_max_s * 1e3
        ),
        limit: format!("< timeout {timeout} s"),
        pass: data.scrape_samples > 0 && data.scrape_p99_s < timeout as f64,
    });
    let keys: Vec<f64> = samples.iter().filter_map(|s| s.key_to_screen_ms).collect();
    let missed = samples
        .iter()
        .filter(|s| s.key_to_screen_ms.is_none())
        .count();
    let max = keys.iter().copied().fold(0.0, f64::max);
    checks.push(Check {
        what: format!("TUI key → screen ({} probes)", samples.len()),
        start: format!("median {:.0} ms", median(&keys)),
        end: format!("max {max:.0} ms, {missed} missed"),
        limit: "median ≤ 250 ms, max ≤ 2 s, none missed".into(),
        pass: !keys.is_empty() && missed == 0 && median(&keys) <= 250.0 && max <= 2000.0,
    });
    let closes: Vec<f64> = samples.iter().filter_map(|s| s.close_ms).collect();
    let close_missed = samples.len() - closes.len();
    checks.push(Check {
        what: "TUI Escape → query bar gone".into(),
        start: format!("median {:.0} ms", median(&closes)),
        end: format!(
            "max {:.0} ms, {close_missed} missed",
            closes.iter().copied().fold(0.0, f64::max)
        ),
        limit: "none missed".into(),
        pass: close_missed == 0,
    });
    let up: Vec<f64> = samples
        .iter()
        .filter(|s| s.t_s >= warm)
        .filter_map(|s| s.targets_up)
        .collect();
    let min_up = up.iter().copied().fold(f64::INFINITY, f64::min);
    checks.push(Check {
        what: "targets up after warm-up (kmon's data)".into(),
        start: format!(
            "min {}",
            if up.is_empty() {
                "-".into()
            } else {
                format!("{min_up:.0}")
            }
        ),
        end: format!("median {:.0}", median(&up)),
        limit: format!("≥ 95 % of {}", opts.targets),
        pass: !up.is_empty() && min_up >= opts.targets as f64 * 0.95,
    });
    SoakReport {
        opts: opts.clone(),
        kmon_version: Command::new(kmon)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default(),
        samples,
        cycles,
        scrape_p99_s: data.scrape_p99_s,
        scrape_max_s: data.scrape_max_s,
        scrape_samples: data.scrape_samples,
        scrape_timeout_s: timeout,
        series_start: data.series_start,
        series_end: data.series_end,
        checks,
        exit,
    }
}

/// The verdict as a Markdown table.
pub fn table(r: &SoakReport) -> String {
    let mut s = format!(
        "soak: {} targets x {} series every {} s for {} min, {} swaps ({:.0} % each), block range {}, retention {}, kmon TUI ({}); exit: {}\n\n| check | after warm-up | end | limit | verdict |\n|---|---|---|---|---|\n",
        r.opts.targets,
        r.opts.series_per_target,
        r.opts.interval,
        r.opts.minutes,
        r.samples.last().map_or(0, |s| s.swaps),
        r.opts.swap_fraction * 100.0,
        r.opts.block_duration,
        r.opts.retention,
        r.kmon_version,
        r.exit
    );
    for c in &r.checks {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            c.what,
            c.start,
            c.end,
            c.limit,
            if c.pass { "pass" } else { "FAIL" }
        ));
    }
    s
}

/// samples.csv, summary.json and verdict.md in `out`.
pub fn write_files(r: &SoakReport, out: &Path) -> Result<()> {
    let mut csv = String::from(
        "t_s,rss_bytes,rss_anon_bytes,rss_file_bytes,threads,fds,cpu_s,key_to_screen_ms,close_ms,active_targets,swaps,samples_served,targets_up,header_targets_up,cuts,blocks,head_series,trim_released_bytes\n",
    );
    let opt = |v: Option<f64>| v.map(|x| format!("{x:.1}")).unwrap_or_default();
    let opt_n = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
    for s in &r.samples {
        csv.push_str(&format!(
            "{:.1},{},{},{},{},{},{:.2},{},{},{},{},{},{},{},{},{},{},{}\n",
            s.t_s,
            s.rss_bytes,
            opt_n(s.rss_anon_bytes),
            opt_n(s.rss_file_bytes),
            s.threads,
            s.fds,
            s.cpu_s,
            opt(s.key_to_screen_ms),
            opt(s.close_ms),
            s.active_targets,
            s.swaps,
            s.samples_served,
            opt(s.targets_up),
            opt_n(s.header_targets_up.map(|n| n as u64)),
            s.cuts,
            s.blocks,
            opt_n(s.head_series),
            opt_n(s.trim_released),
        ));
    }
    std::fs::write(out.join("samples.csv"), csv)?;
    std::fs::write(out.join("summary.json"), serde_json::to_vec_pretty(r)?)?;
    std::fs::write(out.join("verdict.md"), table(r))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_s: f64, rss_mib: u64, cuts: usize) -> SoakSample {
        SoakSample {
            t_s,
            rss_bytes: rss_mib << 20,
            rss_anon_bytes: Some((rss_mib - 100) << 20),
            threads: 8,
            fds: 100,
            key_to_screen_ms: Some(20.0),
            close_ms: Some(20.0),
            cuts,
            head_series: Some(1000 + rss_mib),
            ..SoakSample::default()
        }
    }

    /// RSS that climbs within each cycle and drops at each cut.
    fn sawtooth(peaks: &[u64]) -> Vec<SoakSample> {
        let mut out = Vec::new();
        let mut t = 0.0;
        for (cut, &peak) in peaks.iter().enumerate() {
            for step in 0..4 {
                out.push(sample(t, peak - 30 + step * 10, cut));
                t += 30.0;
            }
        }
        out
    }

    #[test]
    fn cycles_leave_out_warm_up_and_the_running_one() {
        let c = cycles(&sawtooth(&[500, 700, 710, 705, 900]));
        assert_eq!(c.len(), 3);
        assert_eq!(c.iter().map(|c| c.cut).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(c[0].max_rss_bytes, 700 << 20);
        assert_eq!(c[0].min_rss_bytes, 670 << 20);
        assert_eq!((c[0].from_s, c[0].to_s), (120.0, 210.0));
        assert_eq!(c[2].max_head_series, Some(1705));
        assert_eq!(c[0].max_anon_bytes, 600 << 20);
        assert!(cycles(&sawtooth(&[500])).is_empty());
    }

    #[test]
    fn a_sawtooth_passes_and_growth_across_cycles_fails() {
        let opts = SoakOpts::default();
        let flat = sawtooth(&[500, 700, 710, 720, 900]);
        let checks = rss_checks(&opts, &flat, &cycles(&flat), 120.0);
        assert!(checks[0].what.contains("3 cycles"), "{checks:?}");
        assert!(checks[0].what.starts_with("RSS anonymous"), "{checks:?}");
        assert!(checks[2].what.starts_with("RSS total"), "{checks:?}");
        assert_eq!(checks.len(), 5);
        assert!(checks.iter().all(|c| c.pass), "{checks:?}");
        let growing = sawtooth(&[500, 700, 800, 900, 900]);
        let checks = rss_checks(&opts, &growing, &cycles(&growing), 120.0);
        assert!(!checks[0].pass, "{checks:?}");
    }

    #[test]
    fn a_spike_just_after_a_cut_and_a_growing_file_part_do_not_fail() {
        let opts = SoakOpts::default();
        let mut s = sawtooth(&[500, 700, 700, 700, 900]);
        // The cut's working memory, in the first sample of the last complete cycle.
        s[12].rss_anon_bytes = Some(1500 << 20);
        // Blocks read: the file-backed part, and so the whole RSS, keeps growing.
        for (i, x) in s.iter_mut().enumerate() {
            x.rss_file_bytes = Some((100 + i as u64 * 10) << 20);
            x.rss_bytes += (i as u64 * 10) << 20;
        }
        let checks = rss_checks(&opts, &s, &cycles(&s), 120.0);
        assert!(checks.iter().all(|c| c.pass), "{checks:?}");
        assert!(
            checks.iter().any(|c| c.what.starts_with("RSS file-backed")),
            "{checks:?}"
        );
        // The same memory a minute and a half into the cycle is not the cut's.
        let mut late = sawtooth(&[500, 700, 700, 700, 900]);
        late[15].rss_anon_bytes = Some(1500 << 20);
        let checks = rss_checks(&opts, &late, &cycles(&late), 120.0);
        assert!(!checks[0].pass, "{checks:?}");
    }

    #[test]
    fn without_cycles_the_window_decides() {
        let opts = SoakOpts::default();
        let s: Vec<SoakSample> = (0..10)
            .map(|i| sample(i as f64 * 30.0, 500 + i, 0))
            .collect();
        let checks = rss_checks(&opts, &s, &cycles(&s), 60.0);
        assert_eq!(checks.len(), 1);
        assert!(checks[0].what.contains("fewer than 2"));
        assert!(checks[0].pass);
    }
}
