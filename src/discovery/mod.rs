//! Service discovery: discoverers turn configuration (static lists, files) into
//! `TargetGroup`s, and the manager merges them per scrape job and publishes the current
//! set. `kubernetes` holds the pure translation of Kubernetes objects into Prometheus's
//! target groups and into kube-state-metrics' series, and (`kubernetes::watch`) the
//! kube-runtime watches that feed them: a shared per-cluster object cache and the
//! `kubernetes_sd_configs` discoverer. It never calls the scraper; the scraper subscribes.
//! Discovery takes plain parameters (file patterns, target lists), not config types: `app`
//! translates the config.

mod file_sd;
pub mod kubernetes;
mod manager;
mod static_sd;

pub use file_sd::{FileSd, FileSdError, META_FILEPATH};
pub use manager::{DiscoveredTargets, Manager};
pub use static_sd::StaticSd;

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::model::{Label, Labels};

/// The label that holds a target's `host:port`.
pub const ADDRESS_LABEL: &str = "__address__";

/// A set of targets that share labels, from one source. A group replaces the previous group
/// with the same `source`; a group with no targets deletes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    /// Unique within a discoverer, e.g. "static/0" or "/etc/prometheus/targets.json:2".
    pub source: String,
    /// Labels common to every target of the group (e.g. from `labels:` in the config).
    pub labels: Labels,
    /// One label set per target; each holds at least `__address__`.
    pub targets: Vec<Labels>,
}

/// A boxed future, so discoverers can be stored as trait objects.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Something that discovers targets. `run` sends full or partial updates (lists of groups)
/// until `cancel` fires, then returns.
pub trait Discoverer: Send {
    fn run(
        self: Box<Self>,
        tx: mpsc::Sender<Vec<TargetGroup>>,
        cancel: CancellationToken,
    ) -> BoxFuture;
}

impl TargetGroup {
    /// A group of `host:port` targets (each becomes `{__address__="host:port"}`) sharing
    /// `labels`.
    pub fn from_addresses(
        source: impl Into<String>,
        addresses: impl IntoIterator<Item = impl AsRef<str>>,
        labels: Labels,
    ) -> Self {
        TargetGroup {
            source: source.into(),
            labels,
            targets: addresses
                .into_iter()
                .map(|a| Labels::new(vec![Label::new(ADDRESS_LABEL, a.as_ref())]))
                .collect(),
        }
    }

    /// An empty group: sending it deletes the group with this source.
    pub fn deleted(source: impl Into<String>) -> Self {
        TargetGroup {
            source: source.into(),
            labels: Labels::empty(),
            targets: Vec::new(),
        }
    }
}
