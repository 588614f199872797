//! The progress bar of the data-dir commands (`kmon import`, `export`, `snapshot`,
//! `tsdb analyze`, `tsdb check`): drawn on standard error, and only when standard error is
//! a terminal, so pipes, files and CI logs get nothing but the command's own output. It
//! starts as a spinner naming the slow first step (reading a file, opening the blocks) and
//! becomes a bar once the work has a known size.

use std::io::IsTerminal;
use std::time::Duration;

/// A spinner, then a bar counting `unit`s (blocks, series) done out of a total.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    msg: &'static str,
    unit: &'static str,
    counting: std::cell::Cell<bool>,
}

impl Progress {
    /// A spinner saying `first` (the step before anything can be counted), which turns
    /// into a bar labelled `msg` counting `unit`s; nothing off a terminal.
    pub fn new(first: impl Into<String>, msg: &'static str, unit: &'static str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            b.set_message(first.into());
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Progress {
            bar,
            msg,
            unit,
            counting: std::cell::Cell::new(false),
        }
    }

    /// `done` of `total` units; the first call with a total turns the spinner into a bar.
    pub fn update(&self, done: u64, total: u64) {
        let Some(b) = &self.bar else {
            return;
        };
        if total == 0 {
            return;
        }
        if !self.counting.replace(true) {
            b.disable_steady_tick();
            let template = format!("{{msg}} [{{bar:30}}] {{pos}}/{{len}} {}", self.unit);
            b.set_style(
                indicatif::ProgressStyle::with_template(&template)
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_message(self.msg);
        }
        b.set_length(total);
        b.set_position(done);
    }

    /// Removes the bar, so the command's summary line stands alone.
    pub fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}
