//! Cluster mode's running part: `ClusterRuntime` runs the discovery, scraping and kube
//! state of the current contexts under a token of its own, so `:ctx` and a `:ns` beyond
//! the `-n` scope replace them live; it feeds the cluster browser, and `report_status`
//! keeps the status line told about the watches' problems.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::kube::{ClusterMode, Watched, cluster_discovery, start_kube_state};
use crate::discovery::kubernetes::connect::{self, Env, KubeOptions, Resolution};
use crate::discovery::kubernetes::state::ClusterObjects;
use crate::scrape::TargetRegistry;
use crate::storage::Storage;

/// The first problem of the watched clusters worth a status line: a disconnection or a
/// refused resource (prefixed with the context when there are several).
pub fn problem(watched: &[Watched]) -> Option<String> {
    watched.iter().find_map(|w| {
        let summary = w.watch.summary();
        // Everything but progress is worth saying: disconnected, a failing or a refused
        // resource.
        let bad = !(summary.starts_with("synced") || summary.starts_with("syncing"));
        bad.then(|| {
            if watched.len() > 1 {
                format!("{}: {summary}", w.context)
            } else {
                summary
            }
        })
    })
}

/// What the cluster part of the engine watches now (replaced by a context switch).
#[derive(Default)]
pub struct ClusterState {
    pub watched: Vec<Watched>,
    /// Every context of the kubeconfig, for `:ctx`.
    pub available: Vec<String>,
}

/// Cluster mode's running part: discovery, scraping and kube state for the current
/// contexts, under a token of its own so `:ctx` can replace them without a restart. The
/// target registry stays the same across switches, so the targets pane simply refills.
pub struct ClusterRuntime {
    storage: Arc<dyn Storage>,
    /// What runs now (its namespaces are the watch scope).
    mode_now: std::sync::Mutex<ClusterMode>,
    registry: TargetRegistry,
    kube: KubeOptions,
    parent: CancellationToken,
    running: tokio::sync::Mutex<(CancellationToken, Vec<tokio::task::JoinHandle<()>>)>,
    pub state: Arc<std::sync::RwLock<ClusterState>>,
}

impl ClusterRuntime {
    /// Starts cluster mode for `cm` under `parent`.
    pub fn start(
        storage: Arc<dyn Storage>,
        cm: &ClusterMode,
        kube: &KubeOptions,
        parent: &CancellationToken,
    ) -> anyhow::Result<Arc<ClusterRuntime>> {
        let mut rt = ClusterRuntime {
            mode_now: std::sync::Mutex::new(cm.clone()),
            storage,
            registry: TargetRegistry::new(),
            kube: kube.clone(),
            parent: parent.clone(),
            running: tokio::sync::Mutex::new((parent.child_token(), Vec::new())),
            state: Arc::default(),
        };
        let (cancel, tasks) = rt.launch(cm)?;
        *rt.running.get_mut() = (cancel, tasks);
        Ok(Arc::new(rt))
    }

    /// The registry every cluster scrape reports into.
    pub fn registry(&self) -> TargetRegistry {
        self.registry.clone()
    }

    /// The contexts watched now.
    pub fn contexts(&self) -> Vec<String> {
        self.read()
            .watched
            .iter()
            .map(|w| w.context.clone())
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, ClusterState> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn launch(
        &self,
        cm: &ClusterMode,
    ) -> anyhow::Result<(CancellationToken, Vec<tokio::task::JoinHandle<()>>)> {
        let cancel = self.parent.child_token();
        let mut tasks = Vec::new();
        let d = cluster_discovery(cm, &cancel)?;
        start_kube_state(&self.storage, &d.watched, cm.interval, &cancel, &mut tasks);
        {
            let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
            st.watched = d.watched.clone();
            st.available = cm.clusters.available.clone();
        }
        self.registry.clear();
        d.start_scraping(
            self.storage.clone(),
            self.registry.clone(),
            &cancel,
            &mut tasks,
        );
        Ok((cancel, tasks))
    }

    /// Switches to `contexts` (of the same kubeconfig, same namespace scope): the new
    /// clusters are resolved first, and only if that works the current ones stop (their
    /// scrapes and kube state end with stale markers) and the new ones start. Returns the
    /// status line's message.
    pub async fn switch(&self, contexts: Vec<String>) -> Result<String, String> {
        let opts = KubeOptions {
            contexts: contexts.clone(),
            ..self.kube.clone()
        };
        let mut clusters = match connect::resolve(&opts, &Env::current()).await {
            Ok(Resolution::Clusters(c)) => c,
            Ok(Resolution::ThisMachine(why)) => return Err(why),
            Ok(Resolution::NoKubeconfig) => return Err("no kubeconfig found".into()),
            Err(e) => return Err(e.to_string()),
        };
        for c in &mut clusters.clusters {
            c.prepare().await.map_err(|e| e.to_string())?;
        }
        let cm = ClusterMode {
            clusters,
            ..self
                .mode_now
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
        };
        self.relaunch(cm).await?;
        Ok(format!("switched to context {}", contexts.join(",")))
    }

    /// The first watched context's cluster and the namespace scope (empty: all), where
    /// the `:source` picker's services are looked for.
    pub fn first_cluster(&self) -> Option<(connect::Cluster, Vec<String>)> {
        let cm = self.mode_now.lock().unwrap_or_else(|p| p.into_inner());
        cm.clusters
            .clusters
            .first()
            .map(|c| (c.clone(), cm.clusters.namespaces.clone()))
    }

    /// Stops what runs and starts `cm` instead.
    async fn relaunch(&self, cm: ClusterMode) -> Result<(), String> {
        let mut running = self.running.lock().await;
        running.0.cancel();
        for t in running.1.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(3), t).await;
        }
        let r = self.launch(&cm).map_err(|e| format!("{e:#}"))?;
        *running = r;
        *self.mode_now.lock().unwrap_or_else(|p| p.into_inner()) = cm;
        Ok(())
    }

    /// `:ns`: when the watches are narrowed (`-n`) and do not cover `namespace` (`None`:
    /// all), they are started again over it; otherwise the tables just filter. Returns the
    /// status line's message when the watches changed.
    pub async fn show_namespace(
        &self,
        namespace: Option<String>,
    ) -> Option<Result<String, String>> {
        let mut cm = self
            .mode_now
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let scope = &cm.clusters.namespaces;
        let covered = match &namespace {
            _ if scope.is_empty() => true,
            None => false,
            Some(ns) => scope.contains(ns),
        };
        if covered {
            return None;
        }
        cm.clusters.namespaces = namespace.iter().cloned().collect();
        let what = namespace.clone().unwrap_or_else(|| "all namespaces".into());
        Some(
            self.relaunch(cm)
                .await
                .map(|()| format!("now watching {what}")),
        )
    }

    /// Feeds the cluster browser: the contexts and namespace pre-selection, the current
    /// problem, and the watched objects of every context.
    pub fn feed(self: &Arc<Self>) -> super::cluster::ClusterFeed {
        let meta_state = self.state.clone();
        let objects_state = self.state.clone();
        let namespaces = self
            .kube
            .namespace
            .clone()
            .filter(|_| !self.kube.all_namespaces);
        super::cluster::ClusterFeed {
            meta: Arc::new(move || {
                let st = meta_state.read().unwrap_or_else(|p| p.into_inner());
                super::cluster::ClusterMeta {
                    context: st
                        .watched
                        .iter()
                        .map(|w| w.context.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    namespace_preselect: namespaces
                        .clone()
                        .or_else(|| st.watched.iter().find_map(|w| w.namespace.clone())),
                    contexts: st.available.clone(),
                    status: problem(&st.watched),
                }
            }),
            objects: Some(Arc::new(move || {
                let st = objects_state.read().unwrap_or_else(|p| p.into_inner());
                merged_objects(&st.watched)
            })),
        }
    }
}

/// The objects of every watched cluster in one set.
fn merged_objects(watched: &[Watched]) -> ClusterObjects {
    let mut all = ClusterObjects::default();
    for w in watched {
        let o = w.watch.objects();
        all.pods.extend(o.pods);
        all.nodes.extend(o.nodes);
        all.namespaces.extend(o.namespaces);
        all.deployments.extend(o.deployments);
        all.stateful_sets.extend(o.stateful_sets);
        all.daemon_sets.extend(o.daemon_sets);
        all.replica_sets.extend(o.replica_sets);
        all.jobs.extend(o.jobs);
        all.cron_jobs.extend(o.cron_jobs);
        all.persistent_volume_claims
            .extend(o.persistent_volume_claims);
        all.horizontal_pod_autoscalers
            .extend(o.horizontal_pod_autoscalers);
    }
    all
}

/// Keeps the status line told about the clusters' watches: a disconnection ("prod:
/// disconnected, retrying in 8s") or a refused resource, and clears what it said once the
/// problem is gone (unless something else has taken the line since).
pub async fn report_status(
    state: Arc<std::sync::RwLock<ClusterState>>,
    status: watch::Sender<String>,
    cancel: CancellationToken,
) {
    let mut said = String::new();
    loop {
        let now = {
            let st = state.read().unwrap_or_else(|p| p.into_inner());
            problem(&st.watched)
        };
        match now {
            Some(p) if p != said => {
                status.send_replace(p.clone());
                said = p;
            }
            None if !said.is_empty() => {
                status.send_if_modified(|s| {
                    let mine = *s == said;
                    if mine {
                        s.clear();
                    }
                    mine
                });
                said.clear();
            }
            _ => {}
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
