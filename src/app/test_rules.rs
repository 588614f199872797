//! `kmon test rules [--run REGEX]... FILE...`: promtool 3.5's rule unit tests, run by
//! `rules::unittest` with the real rule files and evaluator (`RulesBackend`). Prints
//! promtool's output (`  SUCCESS`, or `  FAILED:` and the failures, per file) and exits 1
//! when any file failed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::rules::unittest::{RulesBackend, RunOptions, run_files};

/// Runs the files; exit 1 when one failed (or `--run` is not a valid regex).
pub fn test_rules(files: &[PathBuf], run: &[String]) -> anyhow::Result<ExitCode> {
    // promtool's argument parser wants every file to exist before anything runs.
    if let Some(missing) = files.iter().find(|f| !f.exists()) {
        eprintln!("kmon: error: path '{}' does not exist", missing.display());
        return Ok(ExitCode::from(1));
    }
    let opts = match RunOptions::with_run(run) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: invalid --run regular expression: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let result = run_files(files, &opts, &RulesBackend, &mut out, &mut err)
        .and_then(|ok| out.flush().map(|()| ok));
    match result {
        Ok(true) => Ok(ExitCode::SUCCESS),
        Ok(false) => Ok(ExitCode::from(1)),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::from(1)),
        Err(e) => Err(e).context("writing the test results"),
    }
}
