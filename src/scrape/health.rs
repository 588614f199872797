//! The health record of each target (up/down/unknown, last error, last scrape, duration)
//! and the shared registry the targets pane and `kmon targets` read from. Scrape loops
//! write their own record; readers take a consistent copy.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use super::target::TargetSpec;
use crate::model::Labels;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetHealth {
    /// Not scraped yet.
    #[default]
    Unknown,
    Up,
    Down,
}

/// A target as the user sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub job: String,
    pub labels: Labels,
    pub discovered_labels: Labels,
    pub url: String,
    pub health: TargetHealth,
    /// Empty when the last scrape succeeded.
    pub last_error: String,
    /// Start of the last scrape, ms since the epoch.
    pub last_scrape: Option<i64>,
    pub duration: Duration,
    /// Samples ingested by the last scrape.
    pub samples: u64,
    pub interval: Duration,
    pub timeout: Duration,
}

impl Target {
    /// A target not scraped yet.
    pub fn new(spec: &TargetSpec) -> Self {
        Target {
            job: spec.job.clone(),
            labels: spec.labels.clone(),
            discovered_labels: spec.discovered_labels.clone(),
            url: spec.url.clone(),
            health: TargetHealth::Unknown,
            last_error: String::new(),
            last_scrape: None,
            duration: Duration::ZERO,
            samples: 0,
            interval: spec.interval,
            timeout: spec.timeout,
        }
    }
}

/// A target's key: its job and its hash within the job.
pub type TargetKey = (String, u64);

/// All targets, keyed by (job, target hash), and per scrape pool (job) the discovered
/// targets relabeling dropped. Cheap to clone; shared between the scrape manager, the loops
/// and readers.
#[derive(Clone, Default)]
pub struct TargetRegistry {
    inner: Arc<RwLock<BTreeMap<TargetKey, Arc<RwLock<Target>>>>>,
    dropped: Arc<RwLock<BTreeMap<String, Vec<Labels>>>>,
}

impl TargetRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a target and returns the record its loop updates.
    pub fn insert(&self, key: TargetKey, t: Target) -> Arc<RwLock<Target>> {
        let rec = Arc::new(RwLock::new(t));
        self.inner.write().insert(key, rec.clone());
        rec
    }

    pub fn remove(&self, key: &TargetKey) {
        self.inner.write().remove(key);
    }

    /// Forgets every target and pool (a context switch replaces them all).
    pub fn clear(&self) {
        self.inner.write().clear();
        self.dropped.write().clear();
    }

    /// Declares the configured scrape pools (jobs): each has a (possibly empty) list of
    /// dropped targets from now on.
    pub fn set_pools<'a>(&self, pools: impl IntoIterator<Item = &'a str>) {
        let mut d = self.dropped.write();
        for p in pools {
            d.entry(p.to_string()).or_default();
        }
    }

    /// Replaces the dropped targets of one pool (their labels before relabeling).
    pub fn set_dropped(&self, pool: &str, targets: Vec<Labels>) {
        self.dropped.write().insert(pool.to_string(), targets);
    }

    /// Every pool with its dropped targets, sorted by pool.
    pub fn dropped(&self) -> Vec<(String, Vec<Labels>)> {
        self.dropped
            .read()
            .iter()
            .map(|(p, t)| (p.clone(), t.clone()))
            .collect()
    }

    /// A copy of every target with its scrape pool (the job it is configured in, which
    /// relabeling cannot change), sorted by pool then labels.
    pub fn snapshot_by_pool(&self) -> Vec<(String, Target)> {
        let mut v: Vec<(String, Target)> = self
            .inner
            .read()
            .iter()
            .map(|((pool, _), t)| (pool.clone(), t.read().clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.labels.cmp(&b.1.labels)));
        v
    }

    /// A copy of every target, sorted by job then labels.
    pub fn snapshot(&self) -> Vec<Target> {
        let mut v: Vec<Target> = self
            .inner
            .read()
            .values()
            .map(|t| t.read().clone())
            .collect();
        v.sort_by(|a, b| a.job.cmp(&b.job).then_with(|| a.labels.cmp(&b.labels)));
        v
    }
}
