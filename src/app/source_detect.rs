//! Finding the cluster's own Prometheus-compatible services: which Service objects are
//! query APIs (Prometheus, prometheus-operator's `prometheus-operated`, Thanos Query,
//! Mimir, VictoriaMetrics, told by their labels and names), on which port and under which
//! path, and the listing of Services across the namespaces kmon's scope allows (a
//! forbidden cluster-wide list falls back to the context's namespace). The result is a
//! list of ready sources for the `:source` picker, each with its [`KubeTransport`]; a
//! problem is one line of text, never a retry loop. `app` runs it once per start or
//! context switch.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::api::ListParams;

use super::source_k8s::{ChosenPort, KubeTransport, choose_port};
use crate::discovery::kubernetes::connect::{Cluster, scrub};
use crate::remote::Transport;

/// How long a detection may take in all before it gives up with a problem.
pub const DETECT_TIMEOUT: Duration = Duration::from_secs(20);

/// What a detected service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SourceKind {
    Prometheus,
    /// prometheus-operator's governing service of its Prometheus pods.
    PrometheusOperated,
    ThanosQuery,
    Mimir,
    VictoriaMetrics,
}

impl SourceKind {
    /// The kind as the picker shows it.
    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Prometheus => "Prometheus",
            SourceKind::PrometheusOperated => "Prometheus (operator)",
            SourceKind::ThanosQuery => "Thanos Query",
            SourceKind::Mimir => "Mimir",
            SourceKind::VictoriaMetrics => "VictoriaMetrics",
        }
    }
}

/// A Service that serves a Prometheus-compatible query API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub namespace: String,
    pub service: String,
    pub kind: SourceKind,
    pub port: ChosenPort,
    /// The API's prefix on the service (`/prometheus` for Mimir), or empty.
    pub base_path: String,
}

impl Candidate {
    /// `k8s://namespace/service:port[/path]`, as `--source` takes it.
    pub fn name(&self) -> String {
        format!(
            "k8s://{}/{}:{}{}",
            self.namespace, self.service, self.port.number, self.base_path
        )
    }
}

const NAME: &str = "app.kubernetes.io/name";
const COMPONENT: &str = "app.kubernetes.io/component";

/// Components of Prometheus charts that are not the query API (the old `stable/prometheus`
/// chart labels all of them `app=prometheus`).
const NOT_QUERY: [&str; 4] = [
    "alertmanager",
    "node-exporter",
    "pushgateway",
    "kube-state-metrics",
];

/// What `svc` is as a query source, if it is one: by `app.kubernetes.io/name`
/// (`prometheus`; `thanos-query`, or `thanos` with component `query`/`query-frontend` as
/// Bitnami's chart has it; `mimir` alone or its `query-frontend`, `gateway` or `nginx`
/// component, under `/prometheus`; `victoria-metrics`, `victoria-metrics-single`,
/// `vmsingle`, and `vmselect` under `/select/0/prometheus`), by `app=prometheus`, or as
/// prometheus-operator's `prometheus-operated`; with a port chosen as `choose_port` does
/// (Mimir's `http-metrics` also counts). ExternalName services cannot be proxied and are
/// left out, as are services without a usable port.
pub fn candidate(svc: &Service) -> Option<Candidate> {
    let meta = &svc.metadata;
    let name = meta.name.as_deref()?;
    let namespace = meta.namespace.as_deref().unwrap_or("default");
    if svc
        .spec
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .is_some_and(|t| t == "ExternalName")
    {
        return None;
    }
    let label = |k: &str| {
        meta.labels
            .as_ref()
            .and_then(|l| l.get(k))
            .map(String::as_str)
    };
    let component = label(COMPONENT);
    let query_component = component.is_none_or(|c| !NOT_QUERY.contains(&c));
    let (kind, base, also): (SourceKind, &str, &[&str]) = match label(NAME) {
        Some("prometheus") if query_component => (SourceKind::Prometheus, "", &[]),
        Some("thanos-query") => (SourceKind::ThanosQuery, "", &[]),
        Some("thanos") if matches!(component, Some("query" | "query-frontend")) => {
            (SourceKind::ThanosQuery, "", &[])
        }
        Some("mimir")
            if matches!(
                component,
                None | Some("query-frontend" | "gateway" | "nginx")
            ) =>
        {
            (
                SourceKind::Mimir,
                "/prometheus",
                &["http-metrics", "http-metric"],
            )
        }
        Some("victoria-metrics" | "victoria-metrics-single" | "vmsingle") => {
            (SourceKind::VictoriaMetrics, "", &[])
        }
        Some("vmselect") => (SourceKind::VictoriaMetrics, "/select/0/prometheus", &[]),
        _ if name == "prometheus-operated" => (SourceKind::PrometheusOperated, "", &[]),
        _ if label("app") == Some("prometheus")
            && label("component").is_none_or(|c| c == "server")
            && query_component =>
        {
            (SourceKind::Prometheus, "", &[])
        }
        _ => return None,
    };
    let port = choose_port(svc, None, also).ok()?;
    Some(Candidate {
        namespace: namespace.to_string(),
        service: name.to_string(),
        kind,
        port,
        base_path: base.to_string(),
    })
}

/// The candidates among `services`, ordered by namespace and name.
pub fn candidates(services: &[Service]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = services.iter().filter_map(candidate).collect();
    out.sort_by(|a, b| (&a.namespace, &a.service).cmp(&(&b.namespace, &b.service)));
    out.dedup_by(|a, b| a.namespace == b.namespace && a.service == b.service);
    out
}

/// A detected source, ready to query.
#[derive(Clone)]
pub struct DetectedSource {
    /// `k8s://namespace/service:port[/path]`.
    pub name: String,
    pub kind: SourceKind,
    /// The kubeconfig context it was found in.
    pub context: String,
    pub transport: Arc<dyn Transport>,
}

impl std::fmt::Debug for DetectedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DetectedSource")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

/// What a detection found, and what stopped it from looking everywhere (one line).
#[derive(Debug, Clone, Default)]
pub struct Detection {
    pub sources: Vec<DetectedSource>,
    pub problem: Option<String>,
}

/// Lists the Services of `namespaces` (empty: all, falling back to the context's
/// namespace, else `default`, when a cluster-wide list is forbidden) on `cluster` and
/// makes a source of each candidate. Bounded by [`DETECT_TIMEOUT`].
pub async fn detect(cluster: &Cluster, namespaces: &[String]) -> Detection {
    match tokio::time::timeout(DETECT_TIMEOUT, detect_inner(cluster, namespaces)).await {
        Ok(d) => d,
        Err(_) => Detection {
            sources: Vec::new(),
            problem: Some(format!(
                "looking for Prometheus services in {} took longer than {DETECT_TIMEOUT:?}",
                cluster.context
            )),
        },
    }
}

async fn detect_inner(cluster: &Cluster, namespaces: &[String]) -> Detection {
    let client = match cluster.client() {
        Ok(c) => c,
        Err(e) => {
            return Detection {
                sources: Vec::new(),
                problem: Some(e.to_string()),
            };
        }
    };
    let mut services = Vec::new();
    let mut problems = Vec::new();
    let lp = ListParams::default();
    if namespaces.is_empty() {
        let all: kube::Api<Service> = kube::Api::all(client.clone());
        match all.list(&lp).await {
            Ok(list) => services.extend(list.items),
            Err(kube::Error::Api(s)) if s.code == 403 => {
                let ns = cluster.namespace.as_deref().unwrap_or("default");
                problems.push(format!(
                    "listing services in all namespaces is forbidden; looked in {ns} only"
                ));
                list_namespace(&client, ns, &mut services, &mut problems).await;
            }
            Err(e) => problems.push(list_error("all namespaces", &e)),
        }
    } else {
        for ns in namespaces {
            list_namespace(&client, ns, &mut services, &mut problems).await;
        }
    }
    let sources = candidates(&services)
        .into_iter()
        .map(|c| DetectedSource {
            name: c.name(),
            kind: c.kind,
            context: cluster.context.clone(),
            transport: Arc::new(KubeTransport::new(
                client.clone(),
                &cluster.server,
                &c.namespace,
                &c.service,
                &c.port,
                &c.base_path,
            )),
        })
        .collect();
    Detection {
        sources,
        problem: (!problems.is_empty()).then(|| problems.join("; ")),
    }
}

async fn list_namespace(
    client: &kube::Client,
    ns: &str,
    services: &mut Vec<Service>,
    problems: &mut Vec<String>,
) {
    let api: kube::Api<Service> = kube::Api::namespaced(client.clone(), ns);
    match api.list(&ListParams::default()).await {
        Ok(list) => services.extend(list.items),
        Err(e) => problems.push(list_error(&format!("namespace {ns}"), &e)),
    }
}

fn list_error(scope: &str, e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if s.code == 403 => {
            format!("listing services in {scope} is forbidden")
        }
        kube::Error::Api(s) => format!(
            "listing services in {scope}: {} ({})",
            scrub(&s.message),
            s.code
        ),
        other => format!("listing services in {scope}: {}", scrub(&other.to_string())),
    }
}

#[cfg(test)]
#[path = "source_detect_tests.rs"]
mod tests;
