//! The `kmon` command: parses the command line, loads the configuration, and hands over to
//! `app`. Nothing else lives here.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// A terminal monitoring tool that is its own Prometheus.
#[derive(Parser, Debug)]
#[command(name = "kmon", version, about)]
struct Cli {
    #[command(flatten)]
    flags: Flags,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Args, Debug, Clone)]
struct Flags {
    /// A Prometheus configuration file (prometheus.yml) whose scrape_configs kmon runs.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Refresh and built-in collection interval (Prometheus duration syntax: 2s, 500ms, 1m;
    /// default 2s, or what the options menu saved).
    #[arg(long, global = true, value_parser = parse_interval)]
    interval: Option<Duration>,
    /// Where kmon keeps its data and log (default: the platform's data directory).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Monitor this machine even when a kubeconfig is present.
    #[arg(long, global = true)]
    local: bool,
    /// The kubeconfig to use instead of KUBECONFIG or ~/.kube/config; a problem with it is an
    /// error instead of a fall-back to this machine.
    #[arg(long, global = true, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig contexts to watch, comma-separated (default: the current context).
    /// Several contexts are watched at once, each series labelled with its `cluster`.
    #[arg(long, global = true, value_name = "NAME[,NAME]", value_delimiter = ',')]
    context: Vec<String>,
    /// Watch and scrape this namespace only (default: all namespaces).
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    namespace: Option<String>,
    /// Watch and scrape every namespace (the default; overrides -n).
    #[arg(short = 'A', long, global = true)]
    all_namespaces: bool,
    /// How cluster targets are scraped: `proxy` (through the API server, with the
    /// kubeconfig's credentials), `direct` (to node and pod addresses; kmon runs in the
    /// cluster), or `auto` (direct in a pod, proxy elsewhere).
    #[arg(long, global = true, value_name = "MODE", value_enum, default_value_t = KubeScrape::Auto)]
    kube_scrape: KubeScrape,
    /// A colour theme: a built-in name (default, nord, gruvbox-dark, dracula,
    /// solarized-dark, tokyo-night, light, high-contrast, terminal), the name of a theme in
    /// kmon's, btop's or bpytop's theme directories, or a path to a .theme file.
    #[arg(long, global = true, value_name = "NAME")]
    theme: Option<String>,
    /// Colour depth: auto (NO_COLOR, then COLORTERM, then TERM), truecolor, 256, 16 or none.
    #[arg(long, global = true, value_name = "DEPTH", default_value = "auto", value_parser = parse_color)]
    color: ColorChoice,
    /// Where the `e` key writes export folders (default: the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    export_dir: Option<PathBuf>,
    /// A dashboard file (YAML: rows of panels) to start on, instead of the built-in one.
    #[arg(long, global = true, value_name = "FILE")]
    dashboard: Option<PathBuf>,
    /// Open the data dir (kmon's, or a Prometheus data dir or snapshot) read-only: no
    /// lock, no collection or scraping, nothing written into it.
    #[arg(long, global = true)]
    read_only: bool,
    /// Delete blocks whose data ends this long before the newest data (default 7d).
    #[arg(long, global = true, value_name = "DUR", default_value = "7d", value_parser = parse_interval)]
    retention: Duration,
    /// Delete the oldest blocks while all blocks take more than this (512MB, 1GiB; base 2).
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_size)]
    retention_size: Option<u64>,
    /// When the WAL is fsynced: a duration (at most that long after a commit; every commit
    /// reaches the OS at once), `always` (on every commit) or `never` (left to the OS).
    #[arg(long, global = true, value_name = "WHEN", default_value = "1s", value_parser = parse_fsync)]
    wal_fsync: kmon::tsdb::wal::SyncPolicy,
    /// The span of the blocks cut from the in-memory head (Prometheus's flag of the same
    /// name; at least 1m). For tests and benchmarks: a short one makes head compactions,
    /// and the dropping of series that stopped getting samples, happen within minutes.
    #[arg(long = "storage.tsdb.min-block-duration", global = true, value_name = "DUR", default_value = "2h", value_parser = parse_block_duration)]
    block_duration: Duration,
    /// Prometheus rule files to evaluate (repeatable, or several after one flag; put them
    /// after the subcommand). They replace the built-in rules.
    #[arg(long = "rules", global = true, value_name = "FILE", num_args = 1..)]
    rules: Vec<PathBuf>,
    /// Do not run the built-in rules (they run only without --config and --rules).
    #[arg(long, global = true)]
    no_default_rules: bool,
    /// The query source: a Prometheus-compatible API's URL (Prometheus, Thanos Query,
    /// Mimir, VictoriaMetrics; a path prefix is kept), a source named in kmon.yaml's
    /// `sources:`, or `embedded`. The TUI's graphs, completion, targets and alerts come
    /// from it while kmon's own engine keeps collecting; `kmon query` asks it.
    #[arg(long, global = true, value_name = "URL|NAME", visible_alias = "url")]
    source: Option<String>,
}

impl Flags {
    fn run_options(self) -> kmon::app::RunOptions {
        kmon::app::RunOptions {
            config: self.config,
            interval: self.interval.unwrap_or(Duration::from_secs(2)),
            kube: kmon::discovery::kubernetes::connect::KubeOptions {
                kubeconfig: self.kubeconfig,
                contexts: self.context,
                namespace: self.namespace,
                all_namespaces: self.all_namespaces,
            },
            kube_scrape: match self.kube_scrape {
                KubeScrape::Auto => None,
                KubeScrape::Proxy => Some(kmon::app::kube_jobs::ScrapeMode::Proxy),
                KubeScrape::Direct => Some(kmon::app::kube_jobs::ScrapeMode::Direct),
            },
            interval_set: self.interval.is_some(),
            data_dir: self.data_dir,
            local: self.local,
            theme: self.theme,
            color: self.color.0,
            export_dir: self.export_dir,
            dashboard: self.dashboard,
            read_only: self.read_only,
            retention: self.retention,
            retention_size: self.retention_size.filter(|&n| n > 0),
            wal_fsync: self.wal_fsync,
            block_range: self.block_duration,
            rule_files: self.rules,
            no_default_rules: self.no_default_rules,
            external_url: String::new(),
            rule_engine: None,
            source: self.source,
            sources: Default::default(),
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Fetch and parse one exposition (URL or file); exit 1 with line:col on errors.
    Scrape {
        /// http(s) URL or a file path ("-" for standard input).
        source: String,
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Discover the targets kmon would scrape (a --config's jobs, or the default jobs of the
    /// kubeconfig's clusters), scrape each once, and print them with their health.
    Targets {
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Check configuration files.
    Check {
        #[command(subcommand)]
        what: CheckCommand,
    },
    /// Run test files.
    Test {
        #[command(subcommand)]
        what: TestCommand,
    },
    /// Run the engine headless (scraping with --config, this machine without) and answer
    /// Prometheus's HTTP API; SIGINT or SIGTERM stops it.
    Serve {
        /// Where the HTTP API listens.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9090")]
        listen: String,
        /// Load an OpenMetrics file (ending in "# EOF") or the load blocks of a promqltest
        /// file before serving; repeatable.
        #[arg(long = "load", value_name = "FILE")]
        load: Vec<PathBuf>,
        /// Prometheus feature flags: promql-experimental-functions, promql-duration-expr,
        /// promql-delayed-name-removal (comma-separated or repeated).
        #[arg(long = "enable-feature", value_name = "NAME")]
        features: Vec<String>,
        /// How far back an instant selector looks (Prometheus's --query.lookback-delta).
        #[arg(long = "query.lookback-delta", value_name = "DUR", value_parser = parse_after)]
        lookback_delta: Option<Duration>,
        /// The longest a query may run (Prometheus's --query.timeout; default 2m).
        #[arg(long = "query.timeout", value_name = "DUR", value_parser = parse_interval)]
        query_timeout: Option<Duration>,
        /// The most samples a query may hold (Prometheus's --query.max-samples).
        #[arg(long = "query.max-samples", value_name = "N")]
        max_samples: Option<usize>,
        /// Answer the TSDB admin API (delete_series, clean_tombstones, snapshot), as
        /// Prometheus's --web.enable-admin-api; off by default.
        #[arg(long = "web.enable-admin-api")]
        enable_admin_api: bool,
    },
    /// Evaluate an instant query against a Prometheus-compatible API (--source URL or a
    /// kmon.yaml source; default http://127.0.0.1:9090), or with --data-dir on a data dir
    /// opened read-only; exit 1 with the query's error.
    Query {
        /// The PromQL expression.
        expr: String,
        /// Evaluation time: Unix seconds or RFC 3339 (default: the server's now).
        #[arg(long, value_name = "T")]
        time: Option<String>,
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Evaluate a range query; CSV output is one row per point (series,timestamp,value).
    QueryRange {
        /// The PromQL expression.
        expr: String,
        /// Start and end: Unix seconds or RFC 3339.
        #[arg(long, value_name = "T")]
        start: String,
        #[arg(long, value_name = "T")]
        end: String,
        /// Resolution: a Prometheus duration (15s, 1m) or seconds.
        #[arg(long, value_name = "DUR")]
        step: String,
        #[arg(short = 'o', long, value_enum, default_value_t = RangeOutput::Table)]
        output: RangeOutput,
    },
    /// Write the series matching a selector, with their samples, from the data dir (opened
    /// read-only) to standard output.
    Export {
        /// A series selector, e.g. 'up{job="node"}' or '{__name__=~"node_.*"}'.
        #[arg(long = "match", value_name = "SELECTOR")]
        selector: String,
        /// From (Unix seconds or RFC 3339; default: the oldest data).
        #[arg(long, value_name = "T")]
        start: Option<String>,
        /// To (Unix seconds or RFC 3339; default: the newest data).
        #[arg(long, value_name = "T")]
        end: Option<String>,
        #[arg(short = 'o', long, value_enum, default_value_t = DumpOutput::Openmetrics)]
        output: DumpOutput,
    },
    /// Backfill data into blocks of the data dir.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Write a consistent snapshot of the data dir into OUTDIR (missing or empty): its
    /// blocks hard-linked and the in-memory head written as blocks, openable by
    /// Prometheus. Works beside a running kmon that holds the data dir.
    Snapshot {
        #[arg(value_name = "OUTDIR")]
        out: PathBuf,
    },
    /// TSDB tools.
    Tsdb {
        #[command(subcommand)]
        what: TsdbCommand,
    },
    /// Run headless for a while, then write the screen (SVG, HTML, ANSI, text) and the data
    /// (JSON, CSV) to a new timestamped folder, and print its path.
    ExportScreen {
        /// How long to collect before drawing (Prometheus duration syntax: 20s, 1m).
        #[arg(long, value_name = "DUR", value_parser = parse_after)]
        after: Duration,
        /// The folder the export folder goes into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The screen size in cells.
        #[arg(long, value_name = "COLSxROWS", default_value = "120x40")]
        size: kmon::app::ScreenSize,
        /// Keys to press before drawing, as in the TUI: one character (t, /), a capitalised
        /// key name (Enter, Esc, Tab, Up, PgDn, F1) or a modified key (C-u, M-b) is that
        /// key; other text is typed. E.g. `--keys / 'rate(x[1m])' Enter`.
        #[arg(long, value_name = "KEY", num_args = 1.., allow_hyphen_values = true)]
        keys: Vec<String>,
    },
}

/// `--kube-scrape`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum KubeScrape {
    Auto,
    Proxy,
    Direct,
}

#[derive(Subcommand, Debug)]
enum ImportCommand {
    /// An OpenMetrics file (ending in `# EOF`) into 2-hour blocks, as promtool's
    /// tsdb create-blocks-from openmetrics.
    Openmetrics { file: PathBuf },
}

#[derive(Subcommand, Debug)]
enum TsdbCommand {
    /// Report the series cardinality of the data dir (opened read-only), as promtool's
    /// tsdb analyze does.
    Analyze {
        /// How many entries each list shows.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Check the data dir's blocks (index, every chunk) and WAL end to end, read-only;
    /// print one line per problem and exit 1 if there is any.
    Check,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum DumpOutput {
    Openmetrics,
    Json,
    Csv,
}

#[derive(Subcommand, Debug)]
enum CheckCommand {
    /// Validate a prometheus.yml and the rule files it names; exit 1 with file:line and
    /// the key on errors.
    Config { file: PathBuf },
    /// Check rule files as promtool does (standard input without FILE): expressions,
    /// names, labels, templates; exit 1 on errors, 3 on lint findings with --lint-fatal.
    Rules {
        /// Lints to run, comma-separated: duplicate-rules, all, none.
        #[arg(long, value_name = "LINTS", default_value = "duplicate-rules")]
        lint: String,
        /// Make lint findings fail the check (exit 3).
        #[arg(long)]
        lint_fatal: bool,
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum TestCommand {
    /// Run promqltest files (Prometheus's PromQL conformance format) against kmon's engine;
    /// prints one line per failed case and "N passed, N failed, N skipped"; exit 1 on failures.
    Promql {
        /// Skip cases that need native histograms instead of running them.
        #[arg(long)]
        skip_unsupported: bool,
        /// Also print a line for every passed and skipped case.
        #[arg(short, long)]
        verbose: bool,
        /// The .test files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Run rule unit tests in promtool's `test rules` format; prints "  SUCCESS" or
    /// "  FAILED:" and the failures per file, as promtool does; exit 1 on failures.
    Rules {
        /// Only run test groups whose name matches this regular expression (repeatable).
        #[arg(long, value_name = "REGEX")]
        run: Vec<String>,
        /// The unit-test files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Table,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum RangeOutput {
    Table,
    Json,
    Csv,
}

impl Output {
    fn query_output(self) -> kmon::app::query_cli::QueryOutput {
        match self {
            Output::Table => kmon::app::query_cli::QueryOutput::Table,
            Output::Json => kmon::app::query_cli::QueryOutput::Json,
        }
    }
}

impl RangeOutput {
    fn query_output(self) -> kmon::app::query_cli::QueryOutput {
        match self {
            RangeOutput::Table => kmon::app::query_cli::QueryOutput::Table,
            RangeOutput::Json => kmon::app::query_cli::QueryOutput::Json,
            RangeOutput::Csv => kmon::app::query_cli::QueryOutput::Csv,
        }
    }
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    match kmon::model::parse_duration(s) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("the interval must be greater than zero".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// `--storage.tsdb.min-block-duration`: a duration of at least 1m.
fn parse_block_duration(s: &str) -> Result<Duration, String> {
    let d = kmon::model::parse_duration(s).map_err(|e| e.to_string())?;
    if d < kmon::app::MIN_BLOCK_RANGE {
        return Err(format!(
            "{s:?}: the block duration must be at least 1m (the default is 2h)"
        ));
    }
    Ok(d)
}

/// `--wal-fsync`: `always`, `never` or a duration.
fn parse_fsync(s: &str) -> Result<kmon::tsdb::wal::SyncPolicy, String> {
    use kmon::tsdb::wal::SyncPolicy;
    match s {
        "always" => Ok(SyncPolicy::Always),
        "never" => Ok(SyncPolicy::Never),
        _ => parse_interval(s)
            .map(SyncPolicy::Every)
            .map_err(|e| format!("{e} (or always, never)")),
    }
}

/// `--color`: `None` inside is "auto" (detect).
#[derive(Debug, Clone, Copy)]
struct ColorChoice(Option<kmon::tui::ColorDepth>);

fn parse_color(s: &str) -> Result<ColorChoice, String> {
    kmon::tui::ColorDepth::from_name(s)
        .map(ColorChoice)
        .ok_or_else(|| format!("{s:?}: expected auto, truecolor, 256, 16 or none"))
}

/// `--retention-size`: a base-2 byte size as Prometheus reads it; 0 means no limit.
fn parse_size(s: &str) -> Result<u64, String> {
    match kmon::config::parse_base2_bytes(s) {
        Ok(n) => Ok(u64::try_from(n).unwrap_or(0)),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_after(s: &str) -> Result<Duration, String> {
    kmon::model::parse_duration(s).map_err(|e| e.to_string())
}

/// `--source` (alias `--url`) or `--data-dir` (not both); neither is kmon.yaml's `source:`, else the default URL. A
/// `k8s://` source goes through the kubeconfig's API server (`--kubeconfig`, `--context`).
fn query_source(f: Flags) -> anyhow::Result<kmon::app::query_cli::Source> {
    use kmon::app::query_cli::{DEFAULT_URL, Source};
    match (f.source.clone(), f.data_dir.clone()) {
        (Some(_), Some(_)) => anyhow::bail!("give --source or --data-dir, not both"),
        (None, Some(dir)) => Ok(Source::DataDir(dir)),
        (flag, None) => {
            let Some(s) = flag.or_else(kmon::app::query_cli::default_source) else {
                return Ok(Source::Url(DEFAULT_URL.into()));
            };
            match kmon::app::k8s_sources::address_for(&s) {
                Some(address) => Ok(Source::K8s {
                    address,
                    kube: f.run_options().kube,
                }),
                None => Ok(Source::Url(s)),
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let f = cli.flags;
    let result = match cli.command {
        None => kmon::app::run_tui(f.run_options()),
        Some(Command::Targets { output }) => {
            kmon::app::targets_cli::targets(f.run_options(), output == Output::Json)
        }
        Some(Command::Scrape { source, output }) => {
            kmon::app::cli::scrape(&source, output == Output::Json)
        }
        Some(Command::Check {
            what: CheckCommand::Config { file },
        }) => kmon::app::cli::check_config(&file),
        Some(Command::Check {
            what:
                CheckCommand::Rules {
                    lint,
                    lint_fatal,
                    files,
                },
        }) => kmon::app::check_rules::LintOptions::parse(&lint, lint_fatal)
            .map_err(anyhow::Error::msg)
            .and_then(|l| kmon::app::check_rules::check_rules(&files, l)),
        Some(Command::Test {
            what:
                TestCommand::Promql {
                    skip_unsupported,
                    verbose,
                    files,
                },
        }) => kmon::app::cli::test_promql(&files, skip_unsupported, verbose),
        Some(Command::Test {
            what: TestCommand::Rules { run, files },
        }) => kmon::app::test_rules::test_rules(&files, &run),
        Some(Command::Serve {
            listen,
            load,
            features,
            lookback_delta,
            query_timeout,
            max_samples,
            enable_admin_api,
        }) => kmon::app::serve(
            f.run_options(),
            kmon::app::ServeOptions {
                listen,
                load,
                features,
                lookback_delta,
                query_timeout,
                max_samples,
                enable_admin_api,
            },
        ),
        Some(Command::Query { expr, time, output }) => query_source(f).and_then(|source| {
            kmon::app::query_cli::query(&source, &expr, time.as_deref(), output.query_output())
        }),
        Some(Command::QueryRange {
            expr,
            start,
            end,
            step,
            output,
        }) => query_source(f).and_then(|source| {
            kmon::app::query_cli::query_range(
                &source,
                &expr,
                &start,
                &end,
                &step,
                output.query_output(),
            )
        }),
        Some(Command::Export {
            selector,
            start,
            end,
            output,
        }) => {
            let format = match output {
                DumpOutput::Openmetrics => kmon::app::dump::DumpFormat::OpenMetrics,
                DumpOutput::Json => kmon::app::dump::DumpFormat::Json,
                DumpOutput::Csv => kmon::app::dump::DumpFormat::Csv,
            };
            let dir = kmon::app::data_dir(f.data_dir.as_deref());
            kmon::app::dump::export_cli(&dir, &selector, start.as_deref(), end.as_deref(), format)
        }
        Some(Command::Import {
            what: ImportCommand::Openmetrics { file },
        }) => {
            let dir = kmon::app::data_dir(f.data_dir.as_deref());
            kmon::app::import::import_cli(&file, &dir)
        }
        Some(Command::Snapshot { out }) => {
            let dir = kmon::app::data_dir(f.data_dir.as_deref());
            kmon::app::tsdb_snapshot::snapshot_cli(&dir, &out)
        }
        Some(Command::Tsdb {
            what: TsdbCommand::Analyze { limit },
        }) => {
            let dir = kmon::app::data_dir(f.data_dir.as_deref());
            kmon::app::analyze::analyze_cli(&dir, limit)
        }
        Some(Command::Tsdb {
            what: TsdbCommand::Check,
        }) => {
            let dir = kmon::app::data_dir(f.data_dir.as_deref());
            kmon::app::check::check_cli(&dir)
        }
        Some(Command::ExportScreen {
            after,
            out,
            size,
            keys,
        }) => kmon::app::export_screen(f.run_options(), after, &out, size, &keys),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kmon: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmon::tsdb::wal::SyncPolicy;

    #[test]
    fn rules_flags_on_the_tui_serve_and_export_screen() {
        let cli = Cli::try_parse_from(["kmon", "--rules", "a.yml", "b.yml", "--no-default-rules"])
            .expect("tui flags");
        assert!(cli.command.is_none());
        let o = cli.flags.run_options();
        assert_eq!(
            o.rule_files,
            [PathBuf::from("a.yml"), PathBuf::from("b.yml")]
        );
        assert!(o.no_default_rules);
        let cli = Cli::try_parse_from(["kmon", "serve", "--rules", "a.yml", "--rules", "c.yml"])
            .expect("serve flags");
        assert!(matches!(cli.command, Some(Command::Serve { .. })));
        let o = cli.flags.run_options();
        assert_eq!(
            o.rule_files,
            [PathBuf::from("a.yml"), PathBuf::from("c.yml")]
        );
        assert!(!o.no_default_rules);
        let cli = Cli::try_parse_from([
            "kmon",
            "export-screen",
            "--after",
            "1s",
            "--out",
            "x",
            "--no-default-rules",
            "--rules",
            "r.yml",
        ])
        .expect("export-screen flags");
        assert_eq!(cli.flags.run_options().rule_files, [PathBuf::from("r.yml")]);
        let cli = Cli::try_parse_from(["kmon", "check", "rules", "--lint", "none", "x.yml"])
            .expect("check rules");
        assert!(matches!(
            cli.command,
            Some(Command::Check {
                what: CheckCommand::Rules { .. }
            })
        ));
    }

    #[test]
    fn wal_fsync_takes_always_never_or_a_duration() {
        assert_eq!(parse_fsync("always"), Ok(SyncPolicy::Always));
        assert_eq!(parse_fsync("never"), Ok(SyncPolicy::Never));
        assert_eq!(
            parse_fsync("250ms"),
            Ok(SyncPolicy::Every(Duration::from_millis(250)))
        );
        let e = parse_fsync("sometimes").unwrap_err();
        assert!(e.contains("always, never"), "{e}");
        assert!(parse_fsync("0s").is_err());
    }

    #[test]
    fn min_block_duration_reaches_the_db_options() {
        let cli = Cli::try_parse_from(["kmon"]).expect("no flags");
        let o = cli.flags.run_options();
        assert_eq!(o.block_range, kmon::app::DEFAULT_BLOCK_RANGE);
        assert_eq!(o.db_options().block_range_ms, 2 * 3600 * 1000);
        for args in [
            &["kmon", "--storage.tsdb.min-block-duration", "5m"][..],
            &["kmon", "serve", "--storage.tsdb.min-block-duration=5m"][..],
        ] {
            let cli = Cli::try_parse_from(args).expect("5m");
            let o = cli.flags.run_options();
            assert_eq!(o.block_range, Duration::from_secs(300));
            assert_eq!(o.db_options().block_range_ms, 300_000, "{args:?}");
        }
        assert_eq!(parse_block_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_block_duration("1h30m"), Ok(Duration::from_secs(5400)));
        for bad in ["59s", "0s", "-5m", "5", "soon", ""] {
            let e = parse_block_duration(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(
            parse_block_duration("30s")
                .unwrap_err()
                .contains("at least 1m")
        );
        let e = Cli::try_parse_from(["kmon", "--storage.tsdb.min-block-duration", "10s"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 1m"), "{e}");
    }
}
