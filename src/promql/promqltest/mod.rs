//! The promqltest file format of Prometheus's conformance corpus (`load`, `clear`,
//! `eval*`, `expect` lines) and a runner that checks the engine against it the way the
//! upstream v3.5.3 harness does. `file` reads a file into commands (`load` reads series
//! lines), `store` is the storage a file runs against,
//! `runner` evaluates and `compare` checks, `report` prints. `kmon test promql` and the
//! corpus integration test both call `run_file`.

mod compare;
mod file;
mod load;
mod report;
mod runner;
mod store;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use super::gonum::{parse_go_float, parse_go_int, parse_go_number};
pub use compare::{EPSILON, almost_equal};
pub use file::{
    Command, EvalCmd, EvalTime, ExpectKind, ExpectedSeries, ExprParser, FileError, LoadCmd,
    PARSE_OPTIONS, TestFile, TextMatch, harness_duration, parse_file, parse_file_with,
};
pub use load::{HistogramLiteral, SeqValue, SeriesDesc, parse_series_desc};
pub use report::{
    CaseResult, FileReport, Outcome, Summary, total, write_file_report, write_report,
};
pub use runner::{RunOptions, at_eval_times, at_rewrite, harness_engine_options, run_source};
pub use store::TestStorage;

/// Reads and runs one test file. A file that cannot be read is reported as a file-level
/// error with no cases.
pub fn run_file(path: &Path, opts: &RunOptions) -> FileReport {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => run_source(&name, &text, opts),
        Err(e) => FileReport {
            file: name,
            cases: Vec::new(),
            errors: vec![format!("cannot read the file: {e}")],
        },
    }
}

/// The message of a caught panic.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}
