//! Service discovery: discoverers turn configuration (static lists, files, later the
//! Kubernetes API) into `TargetGroup`s, and the manager merges them per scrape job and
//! publishes the current set. It never calls the scraper; the scraper subscribes.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::model::Labels;

/// A set of targets that share labels, from one source. A group replaces the previous group
/// with the same `source`; a group with no targets deletes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    /// Unique within a discoverer, e.g. "static/0" or "file:/etc/targets.json:2".
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
