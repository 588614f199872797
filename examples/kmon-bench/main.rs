//! kmon-bench: the side-by-side benchmark tool of kmon against Prometheus 3.5 (and btop for
//! the TUI footprint). A thin dispatcher: every subcommand lives in its own module.
//! `cargo build --release --example kmon-bench`, then `target/release/examples/kmon-bench --help`.

mod backfill;
#[path = "gen.rs"]
mod generator; // `gen` is a reserved word in edition 2024
mod live;
mod page;
mod procfs;
mod query;
mod report;
mod servers;
mod soak;
mod startup;
mod suite;
mod tui;
mod wave;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "kmon-bench", about = "kmon's side-by-side benchmark suite")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve synthetic scrape targets on loopback.
    Gen(generator::GenArgs),
    /// The live ingest section: kmon serve and Prometheus scraping the same targets.
    Live(live::LiveArgs),
    /// The bounded soak: the kmon TUI scraping many churning targets.
    Soak(soak::SoakOpts),
    /// Run the side-by-side suite and print (and write) its table.
    Suite(suite::SuiteArgs),
    /// Write the suite's deterministic OpenMetrics backfill file.
    Backfill(BackfillArgs),
}

#[derive(Debug, clap::Args)]
struct BackfillArgs {
    #[arg(long, default_value_t = 5)]
    targets: usize,
    #[arg(long, default_value_t = 2000)]
    series_per_target: usize,
    /// Unix seconds of the first sample.
    #[arg(long, default_value_t = 1_699_999_200)]
    start: i64,
    #[arg(long, default_value_t = 15)]
    step: i64,
    /// Samples per series.
    #[arg(long, default_value_t = 480)]
    samples: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value = "node")]
    job: String,
    #[arg(long)]
    out: std::path::PathBuf,
}

/// Runs the subcommand; an error is printed as one line (with its causes) and exit 1.
fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kmon-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Gen(args) => generator::cmd(&args),
        Cmd::Suite(args) => suite::cmd(&args),
        Cmd::Backfill(a) => {
            let o = backfill::BackfillOpts {
                targets: a.targets,
                series_per_target: a.series_per_target,
                start_s: a.start,
                step_s: a.step,
                samples: a.samples,
                seed: a.seed,
                job: a.job,
            };
            let s = backfill::write_file(&o, &a.out)?;
            println!("{}", serde_json::to_string(&s)?);
            Ok(())
        }
        Cmd::Live(args) => live::cmd(&args),
        Cmd::Soak(opts) => soak::cmd(&opts),
    }
}
