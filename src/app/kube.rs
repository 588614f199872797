//! Cluster mode's wiring: decides what kmon watches (a `--config`, the clusters of the
//! kubeconfig, or this machine) and, for clusters, starts per context the `ClusterWatch`,
//! the default scrape jobs with their discoverers over it, the API-server proxy clients
//! with their concurrency bound, and the kube-state writer. Also builds the discoverer
//! of a user's `kubernetes_sd_configs` entry, whose client is made when it runs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::kube_jobs::{self, ScrapeMode};
use crate::config::{Config, KubernetesRole, KubernetesSdConfig, ScrapeConfig};
use crate::discovery::kubernetes::Role;
use crate::discovery::kubernetes::connect::{
    self, Cluster, Clusters, Env, KubeOptions, Resolution,
};
use crate::discovery::kubernetes::state::ClusterObjects;
use crate::discovery::kubernetes::watch::{
    ClusterWatch, KubernetesSd, ObjectSelector, SdParams, WatchScope,
};
use crate::discovery::{BoxFuture, Discoverer, Manager, TargetGroup};
use crate::model::{Label, Labels, RelabelConfig};
use crate::scrape::{ScrapeClient, ScrapeManager, TargetRegistry};

use crate::storage::Storage;

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
    pub server: String,
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
            server: cluster.server.clone(),
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

/// The discoverer of a user's `kubernetes_sd_configs` entry. Its client comes from
/// `kubeconfig_file`, else `api_server` with the entry's auth and TLS, else the pod's service
/// account when kmon runs in one, else (so a prometheus.yml written for an in-cluster
/// Prometheus works from a laptop) the kubeconfig's current context. A client that cannot
/// be made is logged and tried again every 30 s.
pub struct ConfiguredSd {
    job: String,
    sd: KubernetesSdConfig,
    /// The command line's kubeconfig options, for the last fall-back.
    kube: KubeOptions,
}

impl ConfiguredSd {
    pub fn new(job: &str, sd: &KubernetesSdConfig, kube: &KubeOptions) -> Self {
        ConfiguredSd {
            job: job.to_string(),
            sd: sd.clone(),
            kube: kube.clone(),
        }
    }

    async fn client(&self) -> Result<(kube::Client, Option<String>), String> {
        let sd = &self.sd;
        let mut cluster = if let Some(path) = &sd.kubeconfig_file {
            connect::from_file(path).await.map_err(|e| e.to_string())?
        } else if let Some(server) = &sd.api_server {
            api_server_cluster(server, sd).await?
        } else if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            connect::in_cluster_cluster().map_err(|e| e.to_string())?
        } else {
            match connect::resolve(&self.kube, &Env::current()).await {
                Ok(Resolution::Clusters(mut c)) => c.clusters.remove(0),
                Ok(Resolution::ThisMachine(why)) => return Err(why),
                Ok(Resolution::NoKubeconfig) => {
                    return Err("no kubeconfig_file or api_server, kmon is not in a pod, and no kubeconfig was found".into());
                }
                Err(e) => return Err(e.to_string()),
            }
        };
        cluster.prepare().await.map_err(|e| e.to_string())?;
        // `own_namespace`: the pod's namespace in the cluster, else the context's.
        let own = cluster.namespace.clone();
        Ok((cluster.client().map_err(|e| e.to_string())?, own))
    }

    fn params(&self, own_namespace: Option<String>) -> SdParams {
        let sd = &self.sd;
        let mut namespaces = sd.namespaces.clone();
        if sd.own_namespace
            && let Some(ns) = own_namespace
            && !namespaces.contains(&ns)
        {
            namespaces.push(ns);
        }
        // A selector of the entry's own role filters its objects; pod and service
        // selectors also filter the pods and services endpoints roles join (Prometheus).
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let selector = |r: KubernetesRole| {
            sd.selectors
                .iter()
                .find(|s| s.role == r)
                .map(|s| ObjectSelector {
                    label: nonempty(&s.label),
                    field: nonempty(&s.field),
                })
                .unwrap_or_default()
        };
        let own = selector(sd.role);
        let mut p = SdParams::new(role(sd.role));
        p.namespaces = namespaces;
        p.label_selector = own.label;
        p.field_selector = own.field;
        p.attach_node_metadata = sd.attach_node_metadata;
        p.joined_pods = selector(KubernetesRole::Pod);
        p.joined_services = selector(KubernetesRole::Service);
        p
    }
}

impl Discoverer for ConfiguredSd {
    fn run(
        self: Box<Self>,
        tx: mpsc::Sender<Vec<TargetGroup>>,
        cancel: CancellationToken,
    ) -> BoxFuture {
        Box::pin(async move {
            loop {
                match self.client().await {
                    Ok((client, own)) => {
                        let sd = KubernetesSd::new(client, self.params(own));
                        return Box::new(sd).run(tx, cancel).await;
                    }
                    Err(e) => {
                        tracing::error!(job = %self.job, "kubernetes_sd_configs: {e}; trying again in 30s")
                    }
                }
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                }
            }
        })
    }
}

/// A cluster for `api_server` with the entry's `tls_config`, `authorization` (bearer) or
/// `basic_auth`, written as a kubeconfig so kube reads the certificates as usual.
async fn api_server_cluster(server: &str, sd: &KubernetesSdConfig) -> Result<Cluster, String> {
    use crate::config::{PemSource, SecretSource};
    let mut cluster = serde_json::json!({"server": server});
    let tls = &sd.tls_config;
    if tls.insecure_skip_verify {
        cluster["insecure-skip-tls-verify"] = true.into();
    }
    if let Some(name) = &tls.server_name {
        cluster["tls-server-name"] = name.clone().into();
    }
    let b64 = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    match &tls.ca {
        Some(PemSource::File(p)) => {
            cluster["certificate-authority"] = p.display().to_string().into()
        }
        Some(PemSource::Inline(pem)) => cluster["certificate-authority-data"] = b64(pem).into(),
        None => {}
    }
    let mut user = serde_json::json!({});
    match &tls.cert {
        Some(PemSource::File(p)) => user["client-certificate"] = p.display().to_string().into(),
        Some(PemSource::Inline(pem)) => user["client-certificate-data"] = b64(pem).into(),
        None => {}
    }
    match &tls.key {
        Some(SecretSource::File(p)) => user["client-key"] = p.display().to_string().into(),
        Some(SecretSource::Inline(k)) => user["client-key-data"] = b64(k.expose()).into(),
        None => {}
    }
    if let Some(a) = &sd.authorization {
        if !a.auth_type.eq_ignore_ascii_case("bearer") {
            return Err(format!(
                "authorization type {:?} is not supported for the API server (only Bearer)",
                a.auth_type
            ));
        }
        match &a.credentials {
            Some(SecretSource::File(p)) => user["tokenFile"] = p.display().to_string().into(),
            Some(SecretSource::Inline(t)) => user["token"] = t.expose().to_string().into(),
            None => {}
        }
    }
    if let Some(b) = &sd.basic_auth {
        let name = match &b.username_file {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| format!("basic_auth.username_file {}: {e}", p.display()))?
                .trim_end()
                .to_string(),
            None => b.username.clone(),
        };
        user["username"] = name.into();
        match &b.password {
            Some(SecretSource::File(p)) => {
                let pw = std::fs::read_to_string(p)
                    .map_err(|e| format!("basic_auth.password_file {}: {e}", p.display()))?;
                user["password"] = pw.trim_end().to_string().into();
            }
            Some(SecretSource::Inline(pw)) => user["password"] = pw.expose().to_string().into(),
            None => {}
        }
    }
    let kubeconfig = serde_json::json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "api_server",
        "clusters": [{"name": "api_server", "cluster": cluster}],
        "users": [{"name": "api_server", "user": user}],
        "contexts": [{"name": "api_server", "context": {"cluster": "api_server", "user": "api_server"}}],
    });
    let kubeconfig: kube::config::Kubeconfig =
        serde_json::from_value(kubeconfig).map_err(|e| format!("api_server {server}: {e}"))?;
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(|e| format!("api_server {server}: {}", connect::scrub(&e.to_string())))?;
    config.default_retry = false;
    Ok(Cluster {
        context: "api_server".into(),
        server: connect::server_text(&config.cluster_url),
        namespace: None,
        in_cluster: false,
        config,
        exec: None,
    })
}

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
    mode: ScrapeMode,
    interval: Duration,
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
        let rt = ClusterRuntime {
            mode_now: std::sync::Mutex::new(cm.clone()),
            storage,
            registry: TargetRegistry::new(),
            kube: kube.clone(),
            mode: cm.mode,
            interval: cm.interval,
            parent: parent.clone(),
            running: tokio::sync::Mutex::new((parent.child_token(), Vec::new())),
            state: Arc::default(),
        };
        let (cancel, tasks) = rt.launch(cm)?;
        *rt.running.try_lock().expect("not shared yet") = (cancel, tasks);
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
            mode: self.mode,
            interval: self.interval,
        };
        self.relaunch(cm).await?;
        Ok(format!("switched to context {}", contexts.join(",")))
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
