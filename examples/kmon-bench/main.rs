//! kmon-bench: the side-by-side benchmark tool of kmon against Prometheus 3.5 (and btop for
//! the TUI footprint). A thin dispatcher: every subcommand lives in its own module.
//! `cargo build --release --example kmon-bench`, then `target/release/examples/kmon-bench --help`.

mod backfill;
#[path = "gen.rs"]
mod generator; // `gen` is a reserved word in edition 2024
mod page;
mod procfs;
mod report;

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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Gen(args) => generator::cmd(&args),
    }
}
