//! The one-shot subcommands that are not the TUI: `kmon scrape` (fetch or read one
//! exposition and print every sample), `kmon check config` (with the rule files it names)
//! and `kmon test promql`. Output
//! formats live here.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Map, Value, json};

use crate::config::{self, ScrapeConfig};
use crate::exposition::{self, Entry, Format};
use crate::scrape::ScrapeClient;

/// One parsed sample, owned, for printing.
#[derive(Debug, Clone, PartialEq)]
pub struct PrintedSample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp: Option<i64>,
}

/// Parses a whole page. On error: "line L:C: ..." from the parser.
pub fn parse_page(
    text: &str,
    format: Format,
) -> Result<Vec<PrintedSample>, exposition::ParseError> {
    let mut out = Vec::new();
    for e in exposition::parse(text, format) {
        if let Entry::Sample(s) = e? {
            out.push(PrintedSample {
                name: s.name.to_string(),
                labels: s
                    .labels()
                    .map(|(n, v)| (n.into_owned(), v.into_owned()))
                    .collect(),
                value: s.value,
                timestamp: s.timestamp_ms,
            });
        }
    }
    Ok(out)
}

/// A file's format: OpenMetrics when it ends with `# EOF`, text 0.0.4 otherwise.
pub fn sniff_format(text: &str) -> Format {
    if text.trim_end().ends_with("# EOF") {
        Format::OpenMetrics
    } else {
        Format::PromText
    }
}

/// `kmon scrape URL|FILE [-o table|json]`.
pub fn scrape(source: &str, json_out: bool) -> anyhow::Result<ExitCode> {
    let (text, format) = if source.starts_with("http://") || source.starts_with("https://") {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let cfg = ScrapeConfig::new("scrape");
        let client = ScrapeClient::new(&cfg).context("building the HTTP client")?;
        match rt.block_on(client.fetch(source, Duration::from_secs(10))) {
            Ok(page) => (page.body, page.format),
            Err(e) => {
                eprintln!("kmon scrape: {source}: {e}");
                return Ok(ExitCode::from(1));
            }
        }
    } else {
        let mut text = String::new();
        if source == "-" {
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading standard input")?;
        } else {
            text = std::fs::read_to_string(source).with_context(|| format!("reading {source}"))?;
        }
        let f = sniff_format(&text);
        (text, f)
    };
    let samples = match parse_page(&text, format) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kmon scrape: {source}: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let mut out = std::io::stdout().lock();
    let res = if json_out {
        writeln!(out, "{}", to_json(&samples))
    } else {
        write_table(&mut out, &samples)
    };
    match res {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A closed pipe (`kmon scrape ... | head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("writing to standard output"),
    }
}

/// A float as JSON: a number, or "NaN", "+Inf", "-Inf".
pub fn json_value(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v == f64::INFINITY {
        json!("+Inf")
    } else if v == f64::NEG_INFINITY {
        json!("-Inf")
    } else {
        json!(v)
    }
}

/// The `-o json` shape: one array, an object per sample.
pub fn to_json(samples: &[PrintedSample]) -> Value {
    Value::Array(
        samples
            .iter()
            .map(|s| {
                let labels: Map<String, Value> = s
                    .labels
                    .iter()
                    .map(|(n, v)| (n.clone(), Value::String(v.clone())))
                    .collect();
                json!({
                    "name": s.name,
                    "labels": labels,
                    "value": json_value(s.value),
                    "timestamp": s.timestamp,
                })
            })
            .collect(),
    )
}

fn write_table(out: &mut impl Write, samples: &[PrintedSample]) -> std::io::Result<()> {
    let rows: Vec<(String, String, String)> = samples
        .iter()
        .map(|s| {
            let mut series = s.name.clone();
            if !s.labels.is_empty() {
                let ls: Vec<String> = s.labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
                series = format!("{series}{{{}}}", ls.join(", "));
            }
            let ts = s.timestamp.map(|t| t.to_string()).unwrap_or_default();
            (series, crate::model::format_go_float(s.value), ts)
        })
        .collect();
    let w0 = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(5).max(5);
    writeln!(out, "{:<w0$}  {:>w1$}  TIMESTAMP", "SERIES", "VALUE")?;
    for (s, v, t) in rows {
        writeln!(out, "{s:<w0$}  {v:>w1$}  {t}")?;
    }
    writeln!(out, "{} samples", samples.len())
}

/// `kmon check config FILE`: the config, then the rule files its `rule_files` name (each
/// checked as `kmon check rules` does, as `promtool check config` does).
pub fn check_config(path: &Path) -> anyhow::Result<ExitCode> {
    match config::load_file(path) {
        Ok((cfg, warnings)) => {
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            let rule_files =
                match super::check_rules::config_rule_files(&cfg.rule_files, &cfg.rule_files_dir) {
                    Ok(files) => files,
                    Err(e) => {
                        eprintln!("{}: rule_files: {e}", path.display());
                        return Ok(ExitCode::from(1));
                    }
                };
            println!(
                "{}: OK ({} scrape configs, {} rule files{})",
                path.display(),
                cfg.scrape_configs.len(),
                rule_files.len(),
                if warnings.is_empty() {
                    String::new()
                } else {
                    format!(", {} warnings", warnings.len())
                }
            );
            if rule_files.is_empty() {
                return Ok(ExitCode::SUCCESS);
            }
            println!();
            let lint = super::check_rules::LintOptions::default();
            let outcome = super::check_rules::check_rule_files(
                &rule_files,
                lint,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
            )
            .context("writing the report")?;
            Ok(outcome.exit_code(lint))
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// `kmon test promql [--skip-unsupported] [-v] FILE...`: runs promqltest files against the
/// engine, prints `FAIL file:line: reason` lines (all cases with `verbose`) as each file
/// finishes and `N passed, N failed, N skipped` last. Exit 1 when a case failed or a file
/// could not be read or loaded.
pub fn test_promql(
    files: &[std::path::PathBuf],
    skip_unsupported: bool,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    use crate::promql::promqltest::{self, RunOptions, Summary};
    let opts = RunOptions {
        skip_unsupported,
        ..RunOptions::default()
    };
    // Engine panics become failed cases with their message; keep them off the terminal.
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut total = Summary::default();
    let mut file_errors = false;
    let mut out = std::io::stdout().lock();
    let mut result = Ok(());
    for f in files {
        let report = promqltest::run_file(f, &opts);
        file_errors |= !report.errors.is_empty();
        for c in &report.cases {
            total.add(&c.outcome);
        }
        result = promqltest::write_file_report(&mut out, &report, verbose);
        if result.is_err() {
            break;
        }
    }
    std::panic::set_hook(previous_hook);
    let result = result.and_then(|()| writeln!(out, "{total}"));
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(e).context("writing to standard output"),
    }
    Ok(if total.failed > 0 || file_errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_and_special_values() {
        let s = vec![
            PrintedSample {
                name: "a".into(),
                labels: vec![("x".into(), "y".into())],
                value: 1.5,
                timestamp: Some(1000),
            },
            PrintedSample {
                name: "b".into(),
                labels: vec![],
                value: f64::NEG_INFINITY,
                timestamp: None,
            },
        ];
        assert_eq!(
            to_json(&s).to_string(),
            r#"[{"name":"a","labels":{"x":"y"},"value":1.5,"timestamp":1000},{"name":"b","labels":{},"value":"-Inf","timestamp":null}]"#
        );
        assert_eq!(json_value(f64::NAN), json!("NaN"));
        assert_eq!(json_value(f64::INFINITY), json!("+Inf"));
    }

    #[test]
    fn sniffs_openmetrics_by_eof() {
        assert_eq!(sniff_format("a 1\n# EOF\n"), Format::OpenMetrics);
        assert_eq!(sniff_format("a 1\n"), Format::PromText);
    }
}
