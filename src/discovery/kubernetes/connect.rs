//! Finding the cluster: reads kubeconfig the way kubectl does (`--kubeconfig`, else every file
//! of `KUBECONFIG` merged with the first file winning, else `~/.kube/config`; in a pod with no
//! kubeconfig, the in-cluster service account), picks the contexts (`--context a,b` or the
//! current one) and the watch scope (`-n NS`, else all namespaces), and builds one
//! `kube::Config` per context. `app` calls it at start, for `:ctx` and for `kmon targets`.
//!
//! Credentials never leave this module in text: errors name files, contexts and servers,
//! never tokens, keys or passwords, and [`Cluster`]'s `Debug` leaves the config out.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

use super::exec::{ExecAuthLayer, ExecCredentials, Primed};

/// What the command line says about the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeOptions {
    /// `--kubeconfig FILE`: this file only; a problem with it is an error, not a fallback.
    pub kubeconfig: Option<PathBuf>,
    /// `--context a,b`: these contexts; empty means the kubeconfig's current context.
    pub contexts: Vec<String>,
    /// `-n NS`: watch and scrape this namespace only.
    pub namespace: Option<String>,
    /// `-A`: every namespace (the default; it wins over a context's namespace).
    pub all_namespaces: bool,
}

/// Where the cluster settings came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `--kubeconfig`.
    Flag(PathBuf),
    /// The files of `KUBECONFIG` that exist, in order.
    Env(Vec<PathBuf>),
    /// `~/.kube/config`.
    Home(PathBuf),
    /// The pod's service account (`KUBERNETES_SERVICE_HOST`).
    InCluster,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(p) | Origin::Home(p) => write!(f, "{}", p.display()),
            Origin::Env(ps) => {
                let names: Vec<String> = ps.iter().map(|p| p.display().to_string()).collect();
                write!(f, "KUBECONFIG={}", names.join(":"))
            }
            Origin::InCluster => f.write_str("in-cluster service account"),
        }
    }
}

/// One context to watch: its name, server and the client configuration.
#[derive(Clone)]
pub struct Cluster {
    /// The context's name (`in-cluster` for the service account).
    pub context: String,
    /// The API server's URL, without credentials.
    pub server: String,
    /// The context's namespace: only the pre-selection of `:ns`, never a scope.
    pub namespace: Option<String>,
    /// Whether kmon runs inside this cluster (targets are then reachable directly).
    pub in_cluster: bool,
    /// The client configuration (kube-client's retries of 429/503/504 switched off: a dead
    /// kubelet behind the node proxy must fail a scrape in its timeout, not stall it for
    /// minutes; kmon's loops retry on their own schedule).
    pub config: kube::Config,
    /// The user's exec plugin, run by kmon (taken out of `config`).
    pub exec: Option<Arc<ExecCredentials>>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("context", &self.context)
            .field("server", &self.server)
            .field("namespace", &self.namespace)
            .field("in_cluster", &self.in_cluster)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// A client for this context. Building one reads no network; the first request does.
    /// With an exec plugin, the plugin's token goes on every request and a 401 fetches a
    /// new one. Needs a tokio runtime.
    pub fn client(&self) -> Result<kube::Client, ConnectError> {
        let err = |e: kube::Error| ConnectError::Client {
            context: self.context.clone(),
            message: scrub(&e.to_string()),
        };
        match &self.exec {
            None => kube::Client::try_from(self.config.clone()).map_err(err),
            Some(exec) => Ok(kube::client::ClientBuilder::try_from(self.config.clone())
                .map_err(err)?
                .with_layer(&ExecAuthLayer(exec.clone()))
                .build()),
        }
    }

    /// Runs the exec plugin once if the user has one and no token yet (with the terminal,
    /// if it asks for one: call this before the TUI takes the screen).
    pub async fn prepare(&mut self) -> Result<(), ConnectError> {
        let Some(exec) = &self.exec else {
            return Ok(());
        };
        let primed = exec.prime().await.map_err(|message| ConnectError::Client {
            context: self.context.clone(),
            message,
        })?;
        if primed == Primed::Certificate {
            // kube-client's own exec support puts the certificate into its TLS setup.
            self.config.auth_info.exec = Some(exec.config().clone());
            self.exec = None;
        }
        Ok(())
    }
}

/// The clusters to watch and the namespaces to watch in them.
#[derive(Debug, Clone)]
pub struct Clusters {
    pub origin: Origin,
    /// The contexts that exist in the kubeconfig, in its order (for `:ctx`).
    pub available: Vec<String>,
    pub clusters: Vec<Cluster>,
    /// Namespaces to watch and scrape; empty means all.
    pub namespaces: Vec<String>,
}

/// What [`resolve`] found.
#[derive(Debug, Clone)]
pub enum Resolution {
    Clusters(Clusters),
    /// No kubeconfig anywhere and not in a pod: kmon monitors this machine.
    NoKubeconfig,
    /// An implicit kubeconfig that cannot be used: kmon monitors this machine. The text is
    /// the one-line explanation.
    ThisMachine(String),
}

/// Why the cluster settings cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig { path: String, message: String },
    #[error("context {name:?} is not in {origin} (it has: {available})")]
    NoContext {
        name: String,
        origin: String,
        available: String,
    },
    #[error("{origin} has no current-context; choose one with --context (it has: {available})")]
    NoCurrentContext { origin: String, available: String },
    #[error("context {context:?} in {origin}: {message}")]
    Context {
        context: String,
        origin: String,
        message: String,
    },
    #[error("in-cluster configuration: {0}")]
    InCluster(String),
    #[error("context {context:?}: building the client: {message}")]
    Client { context: String, message: String },
}

/// The environment the lookup reads (a value, so tests need not change the process's).
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `KUBECONFIG`.
    pub kubeconfig: Option<OsString>,
    /// `HOME`.
    pub home: Option<OsString>,
    /// Whether `KUBERNETES_SERVICE_HOST` is set (kmon runs in a pod).
    pub in_pod: bool,
}

impl Env {
    /// This process's environment.
    pub fn current() -> Env {
        Env {
            kubeconfig: std::env::var_os("KUBECONFIG"),
            home: std::env::var_os("HOME"),
            in_pod: std::env::var_os("KUBERNETES_SERVICE_HOST").is_some(),
        }
    }
}

/// Reads the kubeconfig (or the in-cluster account) as kubectl would and builds one
/// configuration per context. An explicit `--kubeconfig` or `--context` that cannot be used is
/// an error; no kubeconfig is [`Resolution::NoKubeconfig`] and a broken implicit one
/// [`Resolution::ThisMachine`] with the reason, so plain `kmon` always starts.
pub async fn resolve(opts: &KubeOptions, env: &Env) -> Result<Resolution, ConnectError> {
    let explicit = opts.kubeconfig.is_some() || !opts.contexts.is_empty();
    let loaded = match load(opts, env) {
        Ok(Some(l)) => l,
        Ok(None) => {
            if env.in_pod {
                return in_cluster(opts).map(Resolution::Clusters);
            }
            return Ok(Resolution::NoKubeconfig);
        }
        Err(e) if explicit => return Err(e),
        Err(e) => {
            return Ok(Resolution::ThisMachine(format!(
                "{e}; monitoring this machine"
            )));
        }
    };
    match clusters(loaded, opts).await {
        Ok(c) => Ok(Resolution::Clusters(c)),
        Err(e) if explicit => Err(e),
        Err(e) => Ok(Resolution::ThisMachine(format!(
            "{e}; monitoring this machine"
        ))),
    }
}

/// Builds the clusters of one kubeconfig file (a `kubeconfig_file` of `kubernetes_sd_configs`):
/// its current context, all namespaces.
pub async fn from_file(path: &Path) -> Result<Cluster, ConnectError> {
    let opts = KubeOptions {
        kubeconfig: Some(path.to_path_buf()),
        ..KubeOptions::default()
    };
    let loaded = Loaded {
        origin: Origin::Flag(path.to_path_buf()),
        kubeconfig: read_file(path)?,
    };
    let mut c = clusters(loaded, &opts).await?;
    Ok(c.clusters.remove(0))
}

/// The in-cluster service account (for `kubernetes_sd_configs` without `kubeconfig_file` or
/// `api_server` when kmon runs in a pod).
pub fn in_cluster_cluster() -> Result<Cluster, ConnectError> {
    let mut config =
        kube::Config::incluster().map_err(|e| ConnectError::InCluster(e.to_string()))?;
    config.default_retry = false;
    let namespace =
        std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
    Ok(Cluster {
        context: "in-cluster".into(),
        server: server_text(&config.cluster_url),
        namespace,
        in_cluster: true,
        config,
        exec: None,
    })
}

struct Loaded {
    origin: Origin,
    kubeconfig: Kubeconfig,
}

/// Reads the kubeconfig files; `None` when there is none to read.
fn load(opts: &KubeOptions, env: &Env) -> Result<Option<Loaded>, ConnectError> {
    if let Some(path) = &opts.kubeconfig {
        let kubeconfig = read_file(path)?;
        return Ok(Some(Loaded {
            origin: Origin::Flag(path.clone()),
            kubeconfig,
        }));
    }
    if let Some(value) = &env.kubeconfig {
        // kubectl skips names that are empty or do not exist, and merges the rest: the first
        // file to set a value wins.
        let paths: Vec<PathBuf> = std::env::split_paths(value)
            .filter(|p| !p.as_os_str().is_empty() && p.exists())
            .collect();
        if !paths.is_empty() {
            let mut merged = Kubeconfig::default();
            for p in &paths {
                let next = read_file(p)?;
                merged = merged.merge(next).map_err(|e| ConnectError::Kubeconfig {
                    path: p.display().to_string(),
                    message: describe(&e),
                })?;
            }
            return Ok(Some(Loaded {
                origin: Origin::Env(paths),
                kubeconfig: merged,
            }));
        }
    }
    let Some(home) = env.home.as_ref().filter(|h| !h.is_empty()) else {
        return Ok(None);
    };
    let path = Path::new(home).join(".kube").join("config");
    if !path.exists() {
        return Ok(None);
    }
    let kubeconfig = read_file(&path)?;
    Ok(Some(Loaded {
        origin: Origin::Home(path),
        kubeconfig,
    }))
}

fn read_file(path: &Path) -> Result<Kubeconfig, ConnectError> {
    Kubeconfig::read_from(path).map_err(|e| ConnectError::Kubeconfig {
        path: path.display().to_string(),
        message: describe(&e),
    })
}

/// A kubeconfig error in words that cannot carry a secret: YAML errors keep their position
/// and kind but not the excerpt of the file the parser may quote.
fn describe(e: &KubeconfigError) -> String {
    match e {
        KubeconfigError::ReadConfig(io, _) => io.to_string(),
        KubeconfigError::Parse(p) => {
            format!("not valid YAML: {}", first_line(&scrub(&p.to_string())))
        }
        other => scrub(&other.to_string()),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Removes anything that looks like a credential from an error text from a dependency:
/// words after `token`, `password`, `Bearer` or `Basic`, and base64 runs of 40+ characters.
pub fn scrub(text: &str) -> String {
    let mut out = Vec::new();
    let mut hide_next = false;
    for word in text.split(' ') {
        let lower = word.to_ascii_lowercase();
        let long_b64 = word.len() >= 40
            && word
                .trim_matches(|c: char| "\"'`,.;:()[]{}".contains(c))
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+/=-_.".contains(c));
        if hide_next || long_b64 {
            out.push("[redacted]".to_string());
            hide_next = false;
            continue;
        }
        if lower == "bearer"
            || lower == "basic"
            || lower.ends_with("token:")
            || lower.ends_with("password:")
        {
            hide_next = true;
        }
        out.push(word.to_string());
    }
    out.join(" ")
}

async fn clusters(loaded: Loaded, opts: &KubeOptions) -> Result<Clusters, ConnectError> {
    let Loaded { origin, kubeconfig } = loaded;
    let available: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    let names: Vec<String> = if opts.contexts.is_empty() {
        match &kubeconfig.current_context {
            Some(c) if !c.is_empty() => vec![c.clone()],
            _ => {
                return Err(ConnectError::NoCurrentContext {
                    origin: origin.to_string(),
                    available: list(&available),
                });
            }
        }
    } else {
        opts.contexts.clone()
    };
    let mut clusters = Vec::new();
    for name in names {
        if !available.contains(&name) {
            return Err(ConnectError::NoContext {
                name,
                origin: origin.to_string(),
                available: list(&available),
            });
        }
        let options = KubeConfigOptions {
            context: Some(name.clone()),
            ..KubeConfigOptions::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
            .await
            .map_err(|e| ConnectError::Context {
                context: name.clone(),
                origin: origin.to_string(),
                message: describe(&e),
            })?;
        config.default_retry = false;
        let exec = ExecCredentials::take_from(&mut config);
        let namespace = kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.context.as_ref())
            .and_then(|c| c.namespace.clone());
        clusters.push(Cluster {
            context: name,
            server: server_text(&config.cluster_url),
            namespace,
            in_cluster: false,
            config,
            exec,
        });
    }
    Ok(Clusters {
        origin,
        available,
        clusters,
        namespaces: scope(opts),
    })
}

fn in_cluster(opts: &KubeOptions) -> Result<Clusters, ConnectError> {
    let cluster = in_cluster_cluster()?;
    Ok(Clusters {
        origin: Origin::InCluster,
        available: vec![cluster.context.clone()],
        clusters: vec![cluster],
        namespaces: scope(opts),
    })
}

fn scope(opts: &KubeOptions) -> Vec<String> {
    match (&opts.namespace, opts.all_namespaces) {
        (Some(ns), false) => vec![ns.clone()],
        _ => Vec::new(),
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "no contexts".into()
    } else {
        names.join(", ")
    }
}

/// The server URL as shown to the user: scheme, host, port and path, never user info.
pub fn server_text(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("https");
    let host = uri.host().unwrap_or("");
    let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
    let path = uri.path().trim_end_matches('/');
    format!("{scheme}://{host}{port}{path}")
}

#[cfg(test)]
#[path = "connect_tests.rs"]
mod tests;
