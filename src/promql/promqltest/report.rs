//! Per-case results of a run and their text form: `FAIL file:line: reason` lines (with
//! `-v` also `ok`/`skip` lines) and the closing `N passed, N failed, N skipped`.

use std::fmt;
use std::io::{self, Write};

/// How one eval case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// Why it failed: expected versus got, or the error.
    Fail(String),
    /// Not run because it needs something kmon does not have yet (native histograms).
    Skip(String),
}

impl Outcome {
    pub fn is_pass(&self) -> bool {
        matches!(self, Outcome::Pass)
    }

    pub fn is_fail(&self) -> bool {
        matches!(self, Outcome::Fail(_))
    }
}

/// One eval command of a file and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The file as it was named to the runner.
    pub file: String,
    /// The 1-based line of the eval command.
    pub line: usize,
    /// The expression as written ("" when the file did not parse).
    pub expr: String,
    pub outcome: Outcome,
}

impl fmt::Display for CaseResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Pass => write!(f, "ok   {}:{}: {}", self.file, self.line, self.expr),
            Outcome::Fail(r) => write!(f, "FAIL {}:{}: {r}", self.file, self.line),
            Outcome::Skip(r) => write!(f, "skip {}:{}: {r}", self.file, self.line),
        }
    }
}

/// Everything a run of one file found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    pub file: String,
    pub cases: Vec<CaseResult>,
    /// Problems that are not one case's: the file does not parse, a load block was
    /// rejected (the cases they affect fail with a reason that says so).
    pub errors: Vec<String>,
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Summary {
    pub fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Pass => self.passed += 1,
            Outcome::Fail(_) => self.failed += 1,
            Outcome::Skip(_) => self.skipped += 1,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

impl FileReport {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.cases {
            s.add(&c.outcome);
        }
        s
    }
}

/// The totals over several files.
pub fn total(reports: &[FileReport]) -> Summary {
    let mut s = Summary::default();
    for r in reports {
        for c in &r.cases {
            s.add(&c.outcome);
        }
    }
    s
}

/// Writes one file's part of the report: its file-level errors and one line per failed
/// case (every case with `verbose`).
pub fn write_file_report(out: &mut dyn Write, r: &FileReport, verbose: bool) -> io::Result<()> {
    for e in &r.errors {
        writeln!(out, "ERROR {}: {e}", r.file)?;
    }
    for c in &r.cases {
        if verbose || c.outcome.is_fail() {
            writeln!(out, "{c}")?;
        }
    }
    Ok(())
}

/// Writes the whole report, the summary as its last line.
pub fn write_report(out: &mut dyn Write, reports: &[FileReport], verbose: bool) -> io::Result<()> {
    for r in reports {
        write_file_report(out, r, verbose)?;
    }
    writeln!(out, "{}", total(reports))
}
