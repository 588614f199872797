//! Cluster mode's wiring: decides what kmon watches (a `--config`, the clusters of the
//! kubeconfig, or this machine) and builds the discovery for it: for a config, its static,
//! file and Kubernetes discoverers; for clusters, per context a `ClusterWatch`, the default
//! scrape jobs with their discoverers over it and the API-server proxy clients with their
//! concurrency bound, and the kube-state writers. `kube_runtime` runs this live (and
//! replaces it on `:ctx`); `kube_sd` is the discoverer of a user's `kubernetes_sd_configs`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::kube_jobs::{self, ScrapeMode};
use crate::config::{Config, KubernetesRole, ScrapeConfig};
use crate::discovery::Manager;
use crate::discovery::kubernetes::Role;
use crate::discovery::kubernetes::connect::{
    self, Cluster, Clusters, Env, KubeOptions, Resolution,
};
use crate::discovery::kubernetes::watch::{ClusterWatch, KubernetesSd, WatchScope};
use crate::model::{Label, Labels, RelabelConfig};
use crate::scrape::{ScrapeClient, ScrapeManager, TargetRegistry};
use crate::storage::Storage;

pub use super::kube_runtime::{ClusterRuntime, report_status};
pub use super::kube_sd::ConfiguredSd;

/// Proxy scrapes in flight at once per cluster: enough for a 200-node cluster's kubelet,
/// cAdvisor and resource endpoints inside a 15 s interval, few enough that the API server
/// never sees a burst.
pub const PROXY_SLOTS: usize = 16;

/// What kmon watches.
#[derive(Debug)]
pub enum Work {
    /// This machine, through the built-in collector; the text says why when a kubeconfig
    /// was looked for and not used.
    ThisMachine(Option<String>),
    /// The scrape jobs of a prometheus.yml.
    Config(Config),
    /// The clusters of the kubeconfig with kmon's default jobs.
    Cluster(ClusterMode),
}

impl From<Option<Config>> for Work {
    fn from(cfg: Option<Config>) -> Work {
        match cfg {
            Some(c) => Work::Config(c),
            None => Work::ThisMachine(None),
        }
    }
}

/// The clusters to watch and how to scrape them.
#[derive(Debug, Clone)]
pub struct ClusterMode {
    pub clusters: Clusters,
    pub mode: ScrapeMode,
    /// The default jobs' scrape interval (`--interval`, else 15 s).
    pub interval: Duration,
}

/// Decides what to watch: a config wins, then `--local`, then the kubeconfig (an explicit
/// `--kubeconfig` or `--context` that cannot be used is an error), else this machine.
pub async fn decide(cfg: Option<Config>, opts: &super::RunOptions) -> anyhow::Result<Work> {
    if let Some(cfg) = cfg {
        return Ok(Work::Config(cfg));
    }
    if opts.local {
        return Ok(Work::ThisMachine(None));
    }
    match connect::resolve(&opts.kube, &Env::current()).await? {
        Resolution::NoKubeconfig => Ok(Work::ThisMachine(None)),
        Resolution::ThisMachine(why) => {
            tracing::info!("{why}");
            Ok(Work::ThisMachine(Some(why)))
        }
        Resolution::Clusters(mut clusters) => {
            // An exec plugin signs in now, while the terminal is still the user's.
            for c in &mut clusters.clusters {
                if let Err(e) = c.prepare().await {
                    let explicit = opts.kube.kubeconfig.is_some() || !opts.kube.contexts.is_empty();
                    if explicit {
                        return Err(e.into());
                    }
                    let why = format!("{e}; monitoring this machine");
                    tracing::warn!("{why}");
                    return Ok(Work::ThisMachine(Some(why)));
                }
            }
            let in_cluster = clusters.clusters.iter().all(|c| c.in_cluster);
            let mode = opts.kube_scrape.unwrap_or(if in_cluster {
                ScrapeMode::Direct
            } else {
                ScrapeMode::Proxy
            });
            let interval = if opts.interval_set {
                opts.interval
            } else {
                kube_jobs::CLUSTER_INTERVAL
            };
            Ok(Work::Cluster(ClusterMode {
                clusters,
                mode,
                interval,
            }))
        }
    }
}

/// One watched context.
#[derive(Clone)]
pub struct Watched {
    pub context: String,
    /// The context's namespace (`:ns`'s pre-selection).
    pub namespace: Option<String>,
    pub watch: ClusterWatch,
}

/// The default jobs of one cluster: pool names carry the context when several are
/// watched (the `job` label stays the plain name), and every target gets the `cluster`
/// label then.
pub fn cluster_jobs(
    cluster: &Cluster,
    mode: ScrapeMode,
    interval: Duration,
    several: bool,
) -> anyhow::Result<Vec<ScrapeConfig>> {
    let (api, scheme) = kube_jobs::api_server_address(&cluster.server);
    let cfg = kube_jobs::default_jobs(mode, &api, &scheme, interval)
        .map_err(|e| anyhow::anyhow!("kmon's default jobs for {}: {e}", cluster.context))?;
    let mut jobs = cfg.scrape_configs;
    if several {
        for j in &mut jobs {
            let job = j.job_name.clone();
            j.job_name = format!("{job}@{}", cluster.context);
            j.relabel_configs.push(set_label("job", &job));
            j.relabel_configs
                .push(set_label("cluster", &cluster.context));
        }
    }
    Ok(jobs)
}

fn set_label(name: &str, value: &str) -> RelabelConfig {
    RelabelConfig {
        target_label: name.to_string(),
        replacement: value.to_string(),
        ..RelabelConfig::default()
    }
}

/// The role a default job discovers.
fn job_role(job: &ScrapeConfig) -> Option<Role> {
    job.kubernetes_sd_configs.first().map(|k| role(k.role))
}

/// `config`'s role as discovery's.
pub fn role(r: KubernetesRole) -> Role {
    match r {
        KubernetesRole::Node => Role::Node,
        KubernetesRole::Pod => Role::Pod,
        KubernetesRole::Service => Role::Service,
        KubernetesRole::Endpoints => Role::Endpoints,
        KubernetesRole::EndpointSlice => Role::EndpointSlice,
        KubernetesRole::Ingress => Role::Ingress,
    }
}

/// Discovery set up for a workload, not started yet: the manager with a discoverer per
/// job, the jobs, the clients that replace a job's own (proxy mode), and the watched
/// clusters (whose watches already run).
pub struct Discovery {
    pub manager: Manager,
    pub jobs: Vec<ScrapeConfig>,
    pub clients: Vec<(String, ScrapeClient)>,
    pub watched: Vec<Watched>,
}

impl Discovery {
    /// Starts the manager and a scrape manager over it, reporting into `registry`.
    pub fn start_scraping(
        self,
        storage: Arc<dyn Storage>,
        registry: TargetRegistry,
        cancel: &CancellationToken,
        tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    ) -> TargetRegistry {
        let (groups, handle) = self.manager.start(cancel.clone());
        tasks.push(handle);
        let mut sm = ScrapeManager::with_registry(storage, &self.jobs, registry);
        for (job, client) in self.clients {
            sm.set_client(&job, client);
        }
        let registry = sm.registry();
        tasks.push(tokio::spawn(sm.run(groups, cancel.clone())));
        registry
    }
}

/// The discoverers of a prometheus.yml's jobs: static, file and Kubernetes SD.
pub fn config_discovery(cfg: &Config, kube: &KubeOptions) -> Discovery {
    use crate::discovery::{FileSd, StaticSd};
    let mut mgr = Manager::new(Duration::from_millis(200));
    for sc in &cfg.scrape_configs {
        mgr.add_job(sc.job_name.clone());
        if !sc.static_configs.is_empty() {
            let lists = sc
                .static_configs
                .iter()
                .map(|s| (s.targets.clone(), s.labels.clone()));
            mgr.add(sc.job_name.clone(), Box::new(StaticSd::from_lists(lists)));
        }
        for ksd in &sc.kubernetes_sd_configs {
            mgr.add(
                sc.job_name.clone(),
                Box::new(ConfiguredSd::new(&sc.job_name, ksd, kube)),
            );
        }
        for fsd in &sc.file_sd_configs {
            mgr.add(
                sc.job_name.clone(),
                Box::new(FileSd::new(fsd.files.clone(), fsd.refresh_interval)),
            );
        }
    }
    Discovery {
        manager: mgr,
        jobs: cfg.scrape_configs.clone(),
        clients: Vec::new(),
        watched: Vec::new(),
    }
}

/// Cluster mode's discovery: per context a running `ClusterWatch`, the default jobs
/// discovered over it, and (proxy mode) their API-server clients, `PROXY_SLOTS` at a time
/// per cluster.
pub fn cluster_discovery(
    cm: &ClusterMode,
    cancel: &CancellationToken,
) -> anyhow::Result<Discovery> {
    let several = cm.clusters.clusters.len() > 1;
    let scope = WatchScope {
        namespaces: cm.clusters.namespaces.clone(),
    };
    let mut mgr = Manager::new(Duration::from_millis(200));
    let mut all_jobs = Vec::new();
    let mut clients = Vec::new();
    let mut watched = Vec::new();
    for cluster in &cm.clusters.clusters {
        let client = cluster.client()?;
        let watch = ClusterWatch::start(client.clone(), scope.clone(), cancel.child_token());
        let jobs = cluster_jobs(cluster, cm.mode, cm.interval, several)?;
        let slots = Arc::new(tokio::sync::Semaphore::new(PROXY_SLOTS));
        for job in &jobs {
            let Some(role) = job_role(job) else { continue };
            let sd = KubernetesSd::from_cluster(&watch, role, scope.namespaces.clone(), false)
                .map_err(|e| anyhow::anyhow!("job {}: {e}", job.job_name))?;
            mgr.add(job.job_name.clone(), Box::new(sd));
            if cm.mode == ScrapeMode::Proxy {
                clients.push((
                    job.job_name.clone(),
                    ScrapeClient::through_api_server(job, client.clone(), slots.clone()),
                ));
            }
        }
        all_jobs.extend(jobs);
        watched.push(Watched {
            context: cluster.context.clone(),
            namespace: cluster.namespace.clone(),
            watch,
        });
    }
    Ok(Discovery {
        manager: mgr,
        jobs: all_jobs,
        clients,
        watched,
    })
}

/// Starts a kube-state writer per watched cluster on `interval` (with a `cluster` label
/// when there are several).
pub fn start_kube_state(
    storage: &Arc<dyn Storage>,
    watched: &[Watched],
    interval: Duration,
    cancel: &CancellationToken,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) {
    for w in watched {
        let labels = if watched.len() > 1 {
            Labels::new(vec![Label::new("cluster", w.context.as_str())])
        } else {
            Labels::empty()
        };
        let source_watch = w.watch.clone();
        let objects: super::kube_state::ObjectSource =
            Arc::new(move || source_watch.synced().then(|| source_watch.objects()));
        let (every_tx, every) = watch::channel(interval);
        let (st, done) = (storage.clone(), cancel.clone());
        tasks.push(tokio::spawn(async move {
            let _open = every_tx; // the interval never changes, but the channel stays open
            super::kube_state::run_kube_state(st, objects, labels, every, done).await
        }));
    }
}
