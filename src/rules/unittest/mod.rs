//! `kmon test rules`: promtool 3.5's rule unit tests. `format` reads the test file (rule
//! files, evaluation interval, group order, test groups with input series, alert tests and
//! expression tests), `input` expands and lazily appends the input series, `report` writes
//! promtool's failure text, and `runner` runs a file through a `Backend` (rule files and
//! rule evaluation, plugged in by `app::test_rules`, the CLI, which calls `run_files`).

pub mod backend;
#[cfg(test)]
mod eval_tests;
pub mod format;
pub mod input;
pub mod report;
pub mod runner;
#[cfg(test)]
mod runner_tests;

pub use backend::{EvalGroup, RulesBackend, eval_group, go_glob};
pub use format::{
    AlertTestCase, ExpAlert, ExpSample, InputSeries, PromqlTestCase, TestGroup, UnitTestFile,
    parse_test_file,
};
pub use input::Inputs;
pub use runner::{
    Backend, GroupSettings, RunOptions, TestRuleGroup, run_file, run_files, test_engine,
};
