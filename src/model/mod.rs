//! The vocabulary every other module speaks: label sets, label matchers, samples and the
//! staleness marker, Prometheus durations, relabeling, and file name patterns (`glob`, for
//! file discovery and rule files). It depends on nothing else in the crate.

mod duration;
mod float;
pub mod glob;
mod labels;
mod matcher;
mod relabel;
mod sample;

pub use duration::{DurationError, format_duration, parse_duration};
pub use float::{format_go_float, format_go_float_exp, format_openmetrics_float};
pub use labels::{Label, LabelRef, Labels, LabelsBuilder, METRIC_NAME};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use relabel::{
    DEFAULT_RELABEL_REGEX, DEFAULT_REPLACEMENT, DEFAULT_SEPARATOR, RelabelAction, RelabelConfig,
    RelabelError, RelabelRegex, expand, hashmod, is_valid_label_name, is_valid_legacy_label_name,
    relabel, relabel_builder,
};
pub use sample::{STALE_NAN_BITS, Sample, is_stale_nan, stale_nan};
