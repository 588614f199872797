//! The vocabulary every other module speaks: label sets, label matchers, samples and the
//! staleness marker, and relabeling. It depends on nothing else in the crate.

mod labels;
mod matcher;
mod sample;

pub use labels::{Label, Labels, LabelsBuilder, METRIC_NAME};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use sample::{STALE_NAN_BITS, Sample, is_stale_nan, stale_nan};
