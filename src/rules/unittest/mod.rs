//! `kmon test rules`: promtool 3.5's rule unit tests. `format` reads the test file (rule
//! files, evaluation interval, group order, test groups with input series, alert tests and
//! expression tests), `input` expands and lazily appends the input series, `report` writes
//! promtool's failure text. `app::test_rules` (the CLI) calls `run_file`.

pub mod format;
pub mod input;
pub mod report;

pub use format::{
    AlertTestCase, ExpAlert, ExpSample, InputSeries, PromqlTestCase, TestGroup, UnitTestFile,
    parse_test_file,
};
pub use input::Inputs;
