//! Wiring of `k8s://` query sources: the kubeconfig cluster a source goes through (the
//! same `--kubeconfig` and `--context` as cluster mode; the first context when several
//! are given), `--source k8s://...` as a ready [`KubeTransport`] for the TUI's
//! `SourceRegistry` and for `kmon query`, and the detected services handed to the
//! registry for the `:source` picker. `run` and `query_cli` call it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::source_detect::{self, Detection};
use super::source_k8s::{K8sAddress, KubeTransport};
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
