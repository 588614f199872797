//! kmon-bench: the side-by-side benchmark tool of kmon against Prometheus 3.5 (and btop for
//! the TUI footprint). A thin dispatcher: every subcommand lives in its own module.
//! `cargo build --release --example kmon-bench`, then `target/release/examples/kmon-bench --help`.

#[path = "gen.rs"]
mod generator; // `gen` is a reserved word in edition 2024
mod live;
mod page;
mod procfs;
mod soak;

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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Gen(args) => generator::cmd(&args),
        Cmd::Live(args) => live::cmd(&args),
        Cmd::Soak(opts) => soak::cmd(&opts),
    }
}
