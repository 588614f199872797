//! Wiring of `k8s://` query sources: the kubeconfig cluster a source goes through (the
//! same `--kubeconfig` and `--context` as cluster mode; the first context when several
//! are given), `--source k8s://...` and kmon.yaml `sources:` with a `k8s://` URL as
//! ready [`KubeTransport`]s for the TUI's `SourceRegistry` and for `kmon query`, and the
//! detected services handed to the registry for the `:source` picker. `run`, `main` and
//! `query_cli` call it; `sources_for` builds the registry of every source for the TUI and
//! `export-screen`, setting the `k8s://` ones aside until the cluster is known.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::source_detect::{self, Detection};
use super::source_k8s::{K8sAddress, KubeTransport};
use super::source_settings::SourceSetting;
use super::sources::{self, SourceOrigin, SourceRegistry};
use crate::discovery::kubernetes::connect::{self, Cluster, Env, KubeOptions, Resolution};
use crate::remote::Transport;
use crate::remote::source::{Client, SourceError};

/// The cluster `k8s://` sources go through, signed in (an exec plugin runs now, with the
/// terminal if it asks for it), and the namespaces kmon's scope allows (empty: all).
pub async fn cluster_for(kube: &KubeOptions) -> anyhow::Result<(Cluster, Vec<String>)> {
    match connect::resolve(kube, &Env::current()).await? {
        Resolution::Clusters(mut c) => {
            if c.clusters.is_empty() {
                anyhow::bail!("{} has no context to use", c.origin);
            }
            let mut first = c.clusters.swap_remove(0);
            first.prepare().await?;
            Ok((first, c.namespaces))
        }
        Resolution::NoKubeconfig => anyhow::bail!(
            "no kubeconfig found (--kubeconfig, KUBECONFIG or ~/.kube/config) to reach the \
             cluster through"
        ),
        Resolution::ThisMachine(why) => anyhow::bail!("{why}"),
    }
}

/// `--source k8s://...`: the address read, the cluster resolved and the Service checked.
pub async fn connect(address: &str, kube: &KubeOptions) -> anyhow::Result<KubeTransport> {
    let parsed = K8sAddress::parse(address)?;
    let (cluster, _) = cluster_for(kube)
        .await
        .with_context(|| format!("--source {address}"))?;
    Ok(KubeTransport::connect(&cluster, &parsed).await?)
}

/// The `k8s://` sources of the command line and the settings, set aside until the
/// runtime runs (they need the cluster connection); the rest goes to
/// `sources::registry_for` as usual.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct K8sPlan {
    /// `--source k8s://...` given literally.
    pub flag_address: Option<String>,
    /// kmon.yaml sources with a `k8s://` URL.
    pub configured: Vec<SourceSetting>,
    /// The configured `k8s://` source to start on (named by `--source NAME` or the
    /// settings' `source:`).
    pub start: Option<String>,
}

/// What `registry_for` gets once the `k8s://` sources are set aside.
pub struct ForRegistry {
    pub flag: Option<String>,
    pub settings: Vec<SourceSetting>,
    pub default: Option<String>,
}

/// Splits the `k8s://` sources from the others.
pub fn plan(
    flag: Option<&str>,
    settings: &[SourceSetting],
    default: Option<&str>,
) -> (K8sPlan, ForRegistry) {
    let (k8s, http): (Vec<SourceSetting>, Vec<SourceSetting>) = settings
        .iter()
        .cloned()
        .partition(|s| K8sAddress::is_k8s(&s.url));
    let is_k8s_name = |n: &str| k8s.iter().any(|s| s.name == n);
    let mut plan = K8sPlan::default();
    let mut rest = ForRegistry {
        flag: None,
        settings: http,
        default: None,
    };
    match flag {
        Some(f) if K8sAddress::is_k8s(f) => plan.flag_address = Some(f.to_string()),
        Some(f) if is_k8s_name(f) => plan.start = Some(f.to_string()),
        Some(f) => rest.flag = Some(f.to_string()),
        None => match default {
            Some(d) if is_k8s_name(d) => plan.start = Some(d.to_string()),
            d => rest.default = d.map(str::to_string),
        },
    }
    plan.configured = k8s;
    (plan, rest)
}

/// The query sources of `flag`, the settings file's `settings` (named `file` in
/// messages) and its `default`: the registry of every source but the `k8s://` ones, its
/// warnings, and the plan of the `k8s://` ones, which `connect_planned` adds once the
/// runtime runs. The TUI and `export-screen` start from it.
pub fn sources_for(
    flag: Option<&str>,
    settings: &[SourceSetting],
    default: Option<&str>,
    file: &str,
) -> anyhow::Result<(K8sPlan, SourceRegistry, Vec<String>)> {
    let (plan, rest) = self::plan(flag, settings, default);
    let (reg, warnings) = super::sources::registry_for(
        rest.flag.as_deref(),
        &rest.settings,
        rest.default.as_deref(),
        file,
    )
    .map_err(anyhow::Error::msg)?;
    Ok((plan, reg, warnings))
}

/// Connects the planned `k8s://` sources into `reg` and activates the start one, all
/// through one cluster: in cluster mode (`work`) its first context, already signed in,
/// else the kubeconfig resolved once here. A configured source that cannot be reached is a
/// warning (`file:line`); the `--source` one, or a configured one `--source` names, is an
/// error.
pub async fn connect_planned(
    plan: &K8sPlan,
    reg: &SourceRegistry,
    kube: &KubeOptions,
    file: &str,
    work: &super::kube::Work,
) -> anyhow::Result<Vec<String>> {
    let mut warnings = Vec::new();
    if plan.flag_address.is_none() && plan.configured.is_empty() {
        return Ok(warnings);
    }
    let known = match work {
        super::kube::Work::Cluster(cm) => cm.clusters.clusters.first().cloned(),
        _ => None,
    };
    let cluster = match known {
        Some(c) => Ok(c),
        None => cluster_for(kube).await.map(|(c, _)| c),
    };
    if let Some(address) = &plan.flag_address {
        let cluster = cluster
            .as_ref()
            .map_err(|e| anyhow::anyhow!("--source {address}: {e:#}"))?;
        let parsed = K8sAddress::parse(address)?;
        let transport = KubeTransport::connect(cluster, &parsed).await?;
        add_flag_source(reg, transport)?;
    }
    for s in &plan.configured {
        let at = format!("{file}:{}: sources: {}", s.line, s.name);
        if s.bearer_token.is_some() || s.bearer_token_file.is_some() || s.basic_auth.is_some() {
            warnings.push(format!(
                "{at}: a k8s:// source uses the kubeconfig's credentials; its own auth \
                 settings are ignored"
            ));
        }
        let connected = match &cluster {
            Ok(c) => match K8sAddress::parse(&s.url) {
                Ok(a) => KubeTransport::connect(c, &a)
                    .await
                    .map_err(anyhow::Error::from),
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(anyhow::anyhow!("{e:#}")),
        };
        match connected {
            Ok(t) => {
                let description = t.describe();
                reg.add(&s.name, &description, SourceOrigin::Configured, Arc::new(t));
            }
            Err(e) if plan.start.as_deref() == Some(s.name.as_str()) => {
                return Err(e.context(at));
            }
            Err(e) => warnings.push(format!("{at}: {e:#}")),
        }
    }
    if let Some(start) = &plan.start {
        reg.set_active(start).map_err(anyhow::Error::msg)?;
    }
    Ok(warnings)
}

/// The `k8s://` address `source` stands for: itself, or the URL of the kmon.yaml source
/// of that name (for `kmon query --source NAME`).
pub fn address_for(source: &str) -> Option<String> {
    if K8sAddress::is_k8s(source) {
        return Some(source.to_string());
    }
    let file = super::settings::default_path()?;
    let (settings, _) = super::settings::load(&file);
    settings
        .sources
        .into_iter()
        .find(|s| s.name == source && K8sAddress::is_k8s(&s.url))
        .map(|s| s.url)
}

/// Adds `--source k8s://...` to the registry as the flag's source and makes it active;
/// returns its name.
pub fn add_flag_source(reg: &SourceRegistry, transport: KubeTransport) -> anyhow::Result<String> {
    let name = transport.source_name();
    let description = transport.describe();
    reg.add(&name, &description, SourceOrigin::Flag, Arc::new(transport));
    reg.set_active(&name).map_err(anyhow::Error::msg)?;
    Ok(name)
}

/// The registry's entries for what a detection found: named `k8s://ns/svc:port`, the
/// description saying what it is and through which context.
pub fn registry_entries(d: &Detection) -> Vec<sources::DetectedSource> {
    d.sources
        .iter()
        .map(|s| sources::DetectedSource {
            name: s.name.clone(),
            description: format!("{} in context {}", s.kind.label(), s.context),
            transport: s.transport.clone(),
        })
        .collect()
}

/// Detects the cluster's Prometheus-like services once and offers them in the picker;
/// returns the problem line, if any (for the status line: it is not retried).
pub async fn detect_into(
    reg: &SourceRegistry,
    cluster: &Cluster,
    namespaces: &[String],
) -> Option<String> {
    let d = source_detect::detect(cluster, namespaces).await;
    tracing::info!(
        "detected query sources in {}: {}",
        cluster.context,
        d.sources
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    reg.set_detected(registry_entries(&d));
    d.problem
        .map(|p| format!("detecting Prometheus services: {p}"))
}

/// `kmon query --source k8s://...`: sends `params` to `path` through the service proxy
/// (a form POST, GET if refused) and returns the answer as it came.
pub fn ask(
    address: &str,
    kube: &KubeOptions,
    path: &str,
    params: &[(&str, &str)],
    timeout: Duration,
) -> anyhow::Result<super::query_cli::Answer> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let params = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    rt.block_on(async {
        let transport = connect(address, kube).await?;
        let client = Client::new(Arc::new(transport), timeout);
        match client.query_raw(path, params).await {
            Ok(reply) => Ok(super::query_cli::Answer {
                status: reply.status,
                body: String::from_utf8_lossy(&reply.body).into_owned(),
            }),
            // One attempt: the backoff's "retrying" does not apply to a one-shot command.
            Err(SourceError::Retrying { reason, .. }) => Err(anyhow::anyhow!(reason)),
            Err(e) => Err(e.into()),
        }
    })
}

#[cfg(test)]
#[path = "k8s_sources_tests.rs"]
mod tests;
