//! The scrape manager: subscribes to discovery's published target groups, turns them into
//! targets per job, diffs them against the running loops, and starts and stops loops so
//! that exactly one runs per target. It owns the target registry.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::client::ScrapeClient;
use super::health::{Target, TargetHealth, TargetRegistry};
use super::ingest::{IngestOptions, Ingester};
use super::scrape_loop::ScrapeLoop;
use super::target::targets_and_dropped;
use crate::config::ScrapeConfig;
use crate::discovery::TargetGroup;
use crate::storage::Storage;

/// What discovery publishes: the groups of every job.
pub type GroupsByJob = Arc<BTreeMap<String, Vec<TargetGroup>>>;

struct Running {
    cancel: CancellationToken,
    handle: JoinHandle<()>,
}

pub struct ScrapeManager {
    storage: Arc<dyn Storage>,
    jobs: HashMap<String, (ScrapeConfig, Result<ScrapeClient, String>)>,
    running: HashMap<(String, u64), Running>,
    registry: TargetRegistry,
}

impl ScrapeManager {
    pub fn new(storage: Arc<dyn Storage>, jobs: &[ScrapeConfig]) -> Self {
        Self::with_registry(storage, jobs, TargetRegistry::new())
    }

    /// A manager that reports into an existing `registry` (whose readers then see the new
    /// jobs' targets; cluster mode keeps one registry across context switches).
    pub fn with_registry(
        storage: Arc<dyn Storage>,
        jobs: &[ScrapeConfig],
        registry: TargetRegistry,
    ) -> Self {
        let jobs: HashMap<_, _> = jobs
            .iter()
            .map(|c| {
                let client = ScrapeClient::new(c).map_err(|e| e.to_string());
                (c.job_name.clone(), (c.clone(), client))
            })
            .collect();
        registry.set_pools(jobs.keys().map(String::as_str));
        ScrapeManager {
            storage,
            jobs,
            running: HashMap::new(),
            registry,
        }
    }

    /// Uses `client` for `job`'s scrapes instead of the one built from its config (cluster
    /// mode's jobs go through the API server with the kubeconfig's credentials).
    pub fn set_client(&mut self, job: &str, client: ScrapeClient) {
        if let Some((_, c)) = self.jobs.get_mut(job) {
            *c = Ok(client);
        }
    }

    /// The registry readers use to see target health.
    pub fn registry(&self) -> TargetRegistry {
        self.registry.clone()
    }

    /// Follows `groups` until `cancel` fires; then stops every loop (each writes its stale
    /// markers) and waits for them.
    pub async fn run(
        mut self,
        mut groups: watch::Receiver<GroupsByJob>,
        cancel: CancellationToken,
    ) {
        loop {
            let current = groups.borrow_and_update().clone();
            self.sync(&current, &cancel);
            tokio::select! {
                _ = cancel.cancelled() => break,
                changed = groups.changed() => if changed.is_err() { break },
            }
        }
        for (_, r) in self.running.drain() {
            r.cancel.cancel();
            let _ = r.handle.await;
        }
    }

    /// Starts loops for new targets and stops loops for targets that went away.
    pub fn sync(
        &mut self,
        groups: &BTreeMap<String, Vec<TargetGroup>>,
        cancel: &CancellationToken,
    ) {
        let mut wanted = HashMap::new();
        for (job, gs) in groups {
            let Some((cfg, client)) = self.jobs.get(job) else {
                tracing::warn!(job, "target groups for a job that is not configured");
                continue;
            };
            let (specs, dropped, errs) = targets_and_dropped(cfg, gs);
            self.registry.set_dropped(job, dropped);
            for e in errs {
                tracing::warn!(job, "dropping target: {e}");
            }
            for spec in specs {
                wanted.insert((job.clone(), spec.hash()), (spec, cfg, client));
            }
        }
        let gone: Vec<_> = self
            .running
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for k in gone {
            if let Some(r) = self.running.remove(&k) {
                r.cancel.cancel(); // the loop writes stale markers and exits by itself
            }
            self.registry.remove(&k);
        }
        for (k, (spec, cfg, client)) in wanted {
            if self.running.contains_key(&k) {
                continue;
            }
            let mut target = Target::new(&spec);
            let client = match client {
                Ok(c) => c.clone(),
                Err(e) => {
                    target.health = TargetHealth::Down;
                    target.last_error = e.clone();
                    self.registry.insert(k, target);
                    continue;
                }
            };
            let record = self.registry.insert(k.clone(), target);
            let ingester = Ingester::new(spec.labels.clone(), ingest_options(cfg));
            let lp = ScrapeLoop::new(spec, client, self.storage.clone(), ingester, record);
            let child = cancel.child_token();
            let handle = tokio::spawn(lp.run(child.clone()));
            self.running.insert(
                k,
                Running {
                    cancel: child,
                    handle,
                },
            );
        }
    }
}

/// The ingest rules of a job.
pub fn ingest_options(cfg: &ScrapeConfig) -> IngestOptions {
    IngestOptions {
        honor_labels: cfg.honor_labels,
        honor_timestamps: cfg.honor_timestamps,
        track_timestamps_staleness: cfg.track_timestamps_staleness,
        sample_limit: cfg.limits.sample_limit,
        label_limit: cfg.limits.label_limit,
        label_name_length_limit: cfg.limits.label_name_length_limit,
        label_value_length_limit: cfg.limits.label_value_length_limit,
        metric_relabel_configs: cfg.metric_relabel_configs.clone(),
    }
}
