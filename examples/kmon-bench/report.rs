//! The suite's results: one [`Row`] per figure (kmon, the reference, their ratio and the
//! issue's goal), the table printed at the end of a run, the machine description, the
//! generated section of BENCHMARKS.md (between marker comments, replaced on every full run)
//! and the JSON of the raw figures in bench/results/. Every section of `kmon-bench suite`
//! hands its rows here; the statistics helpers (median, percentiles) are shared by them.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

/// The marker lines around the suite's generated section of BENCHMARKS.md.
pub const BEGIN: &str = "<!-- suite:begin -->";
pub const END: &str = "<!-- suite:end -->";

/// A figure's goal: the ratio kmon / reference (or the kmon figure itself, when there is
/// no reference) must be at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Goal {
    pub max: f64,
    /// True when the goal applies to the kmon figure itself (frame time, first frame):
    /// the ratio column then shows kmon / goal.
    pub absolute: bool,
}

/// One figure of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub section: String,
    pub figure: String,
    pub unit: String,
    pub kmon: Option<f64>,
    pub reference: Option<f64>,
    /// Who the reference is ("Prometheus 3.5.3", "btop 1.2.13", "goal").
    pub reference_name: String,
    pub goal: Option<Goal>,
    /// A ratio computed otherwise than kmon / reference (the median of per-query ratios).
    pub ratio_override: Option<f64>,
    /// A note printed under the table (how it was measured, sizes).
    pub note: String,
}

impl Row {
    pub fn new(section: &str, figure: &str, unit: &str) -> Row {
        Row {
            section: section.to_string(),
            figure: figure.to_string(),
            unit: unit.to_string(),
            kmon: None,
            reference: None,
            reference_name: String::new(),
            goal: None,
            ratio_override: None,
            note: String::new(),
        }
    }
    pub fn kmon(mut self, v: f64) -> Row {
        self.kmon = Some(v).filter(|v| v.is_finite());
        self
    }
    pub fn reference(mut self, name: &str, v: f64) -> Row {
        self.reference = Some(v).filter(|v| v.is_finite());
        self.reference_name = name.to_string();
        self
    }
    /// Goal on the ratio kmon / reference.
    pub fn ratio_goal(mut self, max: f64) -> Row {
        self.goal = Some(Goal {
            max,
            absolute: false,
        });
        self
    }
    /// Goal on the kmon figure itself (in the row's unit).
    pub fn absolute_goal(mut self, max: f64) -> Row {
        self.goal = Some(Goal {
            max,
            absolute: true,
        });
        self
    }
    /// Sets the ratio column to `r` instead of kmon / reference.
    pub fn ratio_is(mut self, r: f64) -> Row {
        self.ratio_override = Some(r).filter(|r| r.is_finite());
        self
    }
    pub fn note(mut self, note: impl Into<String>) -> Row {
        self.note = note.into();
        self
    }

    /// kmon / reference, or kmon / goal for an absolute goal.
    pub fn ratio(&self) -> Option<f64> {
        if self.ratio_override.is_some() {
            return self.ratio_override;
        }
        let k = self.kmon?;
        let d = match self.goal {
            Some(g) if g.absolute => g.max,
            _ => self.reference?,
        };
        (d > 0.0).then_some(k / d).filter(|r| r.is_finite())
    }

    /// Whether the goal is met; None without a goal or a figure.
    pub fn met(&self) -> Option<bool> {
        let g = self.goal?;
        let r = self.ratio()?;
        Some(if g.absolute { r <= 1.0 } else { r <= g.max })
    }
}

/// The median of `xs` (NaN-free input; 0 when empty).
pub fn median(xs: &[f64]) -> f64 {
    percentile(xs, 50.0)
}

/// The `p`th percentile (0..=100) of `xs` by linear interpolation between closest ranks
/// (as numpy's default); 0 when empty. NaNs are ignored.
pub fn percentile(xs: &[f64], p: f64) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (v.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
}

/// A number for the table: three significant digits, thousands separated.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "—".to_string();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".to_string()
    } else if a >= 1000.0 {
        group_thousands(v.round() as i64)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.01 {
        format!("{v:.3}")
    } else {
        format!("{v:.2e}")
    }
}

fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn with_unit(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(v) if unit.is_empty() => fmt_num(v),
        Some(v) => format!("{} {unit}", fmt_num(v)),
        None => "—".to_string(),
    }
}

/// The table as Markdown: figure, kmon, reference, ratio, goal, met?. `verdicts` false
/// (the smoke run) leaves the met? column at "(smoke)".
pub fn table(rows: &[Row], verdicts: bool) -> String {
    let mut out = String::new();
    out.push_str("| figure | kmon | reference | ratio | goal | met? |\n");
    out.push_str("|---|---:|---:|---:|---|---|\n");
    for r in rows {
        let reference = match (&r.reference, r.reference_name.as_str()) {
            (Some(_), name) if !name.is_empty() => {
                format!("{} ({name})", with_unit(r.reference, &r.unit))
            }
            (Some(_), _) => with_unit(r.reference, &r.unit),
            (None, _) => "—".to_string(),
        };
        let goal = match r.goal {
            Some(g) if g.absolute => format!("≤ {}", with_unit(Some(g.max), &r.unit)),
            Some(g) => format!("ratio ≤ {}", g.max),
            None => String::new(),
        };
        let ratio = r.ratio().map(|x| format!("{x:.2}")).unwrap_or_default();
        let met = match (verdicts, r.met()) {
            (_, None) => String::new(),
            (false, Some(_)) => "(smoke)".to_string(),
            (true, Some(true)) => "yes".to_string(),
            (true, Some(false)) => "**no**".to_string(),
        };
        let _ = writeln!(
            out,
            "| {}: {} | {} | {} | {} | {} | {} |",
            r.section,
            r.figure,
            with_unit(r.kmon, &r.unit),
            reference,
            ratio,
            goal,
            met
        );
    }
    out
}

/// What the machine and the compared programs are.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub ram_gib: f64,
    pub kernel: String,
    pub os: String,
    pub load: String,
    /// (program, version line)
    pub versions: Vec<(String, String)>,
}

impl Machine {
    /// Reads /proc and /etc/os-release; `versions` runs each `(name, command)` with
    /// `--version` (btop, tmux: `-V` is passed when the name is tmux).
    pub fn probe(programs: &[(&str, &Path)]) -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|x| x.1))
            .unwrap_or("unknown")
            .trim()
            .to_string();
        let ram_kib: f64 = read("/proc/meminfo")
            .lines()
            .find_map(|l| {
                l.strip_prefix("MemTotal:")?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or(0.0);
        let os = read("/etc/os-release")
            .lines()
            .find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let versions = programs
            .iter()
            .map(|(name, path)| {
                let flag = if *name == "tmux" { "-V" } else { "--version" };
                let v = std::process::Command::new(path)
                    .arg(flag)
                    .output()
                    .ok()
                    .map(|o| {
                        let text = String::from_utf8_lossy(&o.stdout).to_string()
                            + &String::from_utf8_lossy(&o.stderr);
                        text.lines().next().unwrap_or("").trim().to_string()
                    })
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "not found".into());
                (name.to_string(), v)
            })
            .collect();
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ram_gib: ram_kib / 1024.0 / 1024.0,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            os,
            load: read("/proc/loadavg")
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            versions,
        }
    }

    pub fn describe(&self) -> String {
        let mut s = format!(
            "{}, {} cores, {:.1} GiB RAM, Linux {}, {}; load average at the start {}",
            self.cpu, self.cores, self.ram_gib, self.kernel, self.os, self.load
        );
        for (name, v) in &self.versions {
            let _ = write!(s, "\n- {name}: {v}");
        }
        s
    }
}

/// Everything one run produced (`date`: when it started).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub date: String,
    pub commit: String,
    pub command: String,
    pub smoke: bool,
    pub machine: Machine,
    pub rows: Vec<Row>,
    /// Section name → its raw figures.
    pub raw: serde_json::Map<String, serde_json::Value>,
    pub problems: Vec<String>,
}

impl RunReport {
    /// The Markdown of the generated BENCHMARKS.md section (without the markers).
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "### Suite run {} (`{}`)\n", self.date, self.command);
        let _ = writeln!(
            s,
            "Commit {}. Machine: {}\n",
            self.commit,
            self.machine.describe()
        );
        s.push_str(&table(&self.rows, !self.smoke));
        let notes: Vec<&Row> = self.rows.iter().filter(|r| !r.note.is_empty()).collect();
        if !notes.is_empty() {
            s.push('\n');
            for r in notes {
                let _ = writeln!(s, "- {}: {}: {}", r.section, r.figure, r.note);
            }
        }
        if !self.problems.is_empty() {
            s.push_str("\nProblems found in this run:\n\n");
            for p in &self.problems {
                let _ = writeln!(s, "- {p}");
            }
        }
        s
    }
}

/// `doc` with the text between the markers replaced by `section` (markers kept); the
/// section with its markers is appended when the markers are missing.
pub fn replace_section(doc: &str, section: &str) -> String {
    let block = format!("{BEGIN}\n{}\n{END}", section.trim_end());
    match (doc.find(BEGIN), doc.find(END)) {
        (Some(b), Some(e)) if e > b => {
            format!("{}{}{}", &doc[..b], block, &doc[e + END.len()..])
        }
        _ => {
            let sep = if doc.ends_with('\n') || doc.is_empty() {
                ""
            } else {
                "\n"
            };
            format!("{doc}{sep}\n{block}\n")
        }
    }
}

/// Writes the section into the Markdown file at `path` (created if missing).
pub fn write_markdown(path: &Path, report: &RunReport) -> Result<()> {
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let new = replace_section(&doc, &report.markdown());
    std::fs::write(path, new).with_context(|| format!("writing {}", path.display()))
}

/// Writes the report as JSON to `path` (its directory created).
pub fn write_json(path: &Path, report: &RunReport) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0]), 3.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert!((percentile(&xs, 95.0) - 95.05).abs() < 1e-9);
        assert_eq!(percentile(&xs, 0.0), 1.0);
        assert_eq!(percentile(&xs, 100.0), 100.0);
        assert_eq!(percentile(&[f64::NAN, 2.0], 50.0), 2.0);
    }

    #[test]
    fn ratios_and_verdicts() {
        let r = Row::new("ingest", "CPU", "s")
            .kmon(1.0)
            .reference("P", 4.0)
            .ratio_goal(0.33);
        assert_eq!(r.ratio(), Some(0.25));
        assert_eq!(r.met(), Some(true));
        let a = Row::new("tui", "frame", "ms").kmon(3.0).absolute_goal(2.0);
        assert_eq!(a.ratio(), Some(1.5));
        assert_eq!(a.met(), Some(false));
        let none = Row::new("x", "y", "").kmon(1.0);
        assert_eq!(none.ratio(), None);
        assert_eq!(none.met(), None);
        let zero = Row::new("x", "y", "")
            .kmon(1.0)
            .reference("P", 0.0)
            .ratio_goal(1.0);
        assert_eq!(zero.ratio(), None);
    }

    #[test]
    fn table_rows_and_smoke_verdicts() {
        let rows = vec![
            Row::new("storage", "bytes per sample", "B")
                .kmon(2.5)
                .reference("Prometheus 3.5.3", 2.75)
                .ratio_goal(1.0),
            Row::new("tui", "frame render", "ms")
                .kmon(3.0)
                .absolute_goal(2.0),
        ];
        let t = table(&rows, true);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[2],
            "| storage: bytes per sample | 2.50 B | 2.75 B (Prometheus 3.5.3) | 0.91 | ratio ≤ 1 | yes |"
        );
        assert_eq!(
            lines[3],
            "| tui: frame render | 3.00 ms | — | 1.50 | ≤ 2.00 ms | **no** |"
        );
        assert!(table(&rows, false).contains("| (smoke) |"));
        assert!(!table(&rows, false).contains("**no**"));
    }

    #[test]
    fn numbers() {
        assert_eq!(fmt_num(1234567.0), "1,234,567");
        assert_eq!(fmt_num(-1234.4), "-1,234");
        assert_eq!(fmt_num(123.4), "123");
        assert_eq!(fmt_num(12.34), "12.3");
        assert_eq!(fmt_num(0.1234), "0.123");
        assert_eq!(fmt_num(0.001234), "1.23e-3");
        assert_eq!(fmt_num(f64::NAN), "—");
    }

    #[test]
    fn section_replacement_keeps_the_rest() {
        let doc = "# T\n\nintro\n";
        let once = replace_section(doc, "A\n");
        assert_eq!(once, format!("# T\n\nintro\n\n{BEGIN}\nA\n{END}\n"));
        let twice = replace_section(&once, "B");
        assert_eq!(twice, format!("# T\n\nintro\n\n{BEGIN}\nB\n{END}\n"));
        let mid = format!("head\n{BEGIN}\nold\n{END}\ntail\n");
        assert_eq!(
            replace_section(&mid, "new"),
            format!("head\n{BEGIN}\nnew\n{END}\ntail\n")
        );
    }
}
