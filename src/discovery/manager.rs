//! The discovery manager: runs every discoverer of every scrape job, merges their updates
//! per job by group source (a group replaces the one with the same source; an empty group
//! deletes it), and publishes the whole set as `Arc<BTreeMap<job, groups>>` over a
//! `tokio::sync::watch` channel, coalescing bursts of updates. `app` builds and starts it;
//! the scrape manager subscribes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Discoverer, TargetGroup};

/// The published state: for every job, its current target groups (ordered by discoverer,
/// then by source). Jobs without targets are present with an empty list, so consumers can
/// stop their targets.
pub type DiscoveredTargets = BTreeMap<String, Vec<TargetGroup>>;

/// Runs discoverers per job and publishes the merged result.
pub struct Manager {
    debounce: Duration,
    jobs: BTreeMap<String, ()>,
    providers: Vec<(String, Box<dyn Discoverer>)>,
}

impl Manager {
    /// The default delay between the first update of a burst and the publication that
    /// includes it. Prometheus waits 5s; a terminal UI wants targets sooner.
    pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(500);

    pub fn new(debounce: Duration) -> Self {
        Manager {
            debounce,
            jobs: BTreeMap::new(),
            providers: Vec::new(),
        }
    }

    /// Declares a job, so it is published (with no groups) even if nothing discovers targets
    /// for it.
    pub fn add_job(&mut self, job: impl Into<String>) -> &mut Self {
        self.jobs.insert(job.into(), ());
        self
    }

    /// Adds a discoverer for `job`. A job may have several; their sources do not collide.
    pub fn add(&mut self, job: impl Into<String>, discoverer: Box<dyn Discoverer>) -> &mut Self {
        let job = job.into();
        self.jobs.insert(job.clone(), ());
        self.providers.push((job, discoverer));
        self
    }

    /// Spawns the manager on the current Tokio runtime. The receiver starts with an empty
    /// map; the first real publication comes one debounce period after start. The handle
    /// completes once `cancel` fired and every discoverer returned.
    pub fn start(
        self,
        cancel: CancellationToken,
    ) -> (watch::Receiver<Arc<DiscoveredTargets>>, JoinHandle<()>) {
        let (tx, rx) = watch::channel(Arc::new(DiscoveredTargets::new()));
        let handle = tokio::spawn(self.run(tx, cancel));
        (rx, handle)
    }

    /// Runs until `cancel` fires, publishing into `tx`.
    pub async fn run(self, tx: watch::Sender<Arc<DiscoveredTargets>>, cancel: CancellationToken) {
        let tracker = TaskTracker::new();
        let (up_tx, mut up_rx) = mpsc::channel::<(usize, Vec<TargetGroup>)>(64);
        let mut job_of = Vec::with_capacity(self.providers.len());
        for (index, (job, discoverer)) in self.providers.into_iter().enumerate() {
            job_of.push(job);
            let (dtx, mut drx) = mpsc::channel(16);
            tracker.spawn(discoverer.run(dtx, cancel.child_token()));
            let up = up_tx.clone();
            tracker.spawn(async move {
                while let Some(groups) = drx.recv().await {
                    if up.send((index, groups)).await.is_err() {
                        break;
                    }
                }
            });
        }
        drop(up_tx);
        tracker.close();

        let mut state = State {
            jobs: self.jobs.into_keys().collect(),
            job_of,
            groups: Vec::new(),
        };
        state.groups.resize_with(state.job_of.len(), BTreeMap::new);

        let mut first = true;
        let mut publish_at = Some(Instant::now() + self.debounce);
        let mut updates_open = true;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                msg = up_rx.recv(), if updates_open => match msg {
                    Some((index, groups)) => {
                        state.apply(index, groups);
                        publish_at.get_or_insert_with(|| Instant::now() + self.debounce);
                    }
                    // Every discoverer is done (static ones finish after one send).
                    None => updates_open = false,
                },
                _ = sleep_until(publish_at), if publish_at.is_some() => {
                    publish_at = None;
                    let next = state.snapshot();
                    if first {
                        first = false;
                        tx.send_replace(Arc::new(next));
                    } else {
                        tx.send_if_modified(|current| {
                            let changed = **current != next;
                            if changed {
                                *current = Arc::new(next);
                            }
                            changed
                        });
                    }
                }
            }
        }
        // Let forwarders blocked on a full channel see it closed, then wait for everyone.
        drop(up_rx);
        tracker.wait().await;
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The merged groups: per discoverer, groups by source.
struct State {
    jobs: Vec<String>,
    /// The job of each discoverer, by index.
    job_of: Vec<String>,
    groups: Vec<BTreeMap<String, TargetGroup>>,
}

impl State {
    fn apply(&mut self, index: usize, groups: Vec<TargetGroup>) {
        let Some(by_source) = self.groups.get_mut(index) else {
            return;
        };
        for g in groups {
            if g.targets.is_empty() {
                by_source.remove(&g.source);
            } else {
                by_source.insert(g.source.clone(), g);
            }
        }
    }

    fn snapshot(&self) -> DiscoveredTargets {
        let mut out: DiscoveredTargets =
            self.jobs.iter().map(|j| (j.clone(), Vec::new())).collect();
        for (job, groups) in self.job_of.iter().zip(&self.groups) {
            out.entry(job.clone())
                .or_default()
                .extend(groups.values().cloned());
        }
        out
    }
}

#[cfg(test)]
mod tests;
