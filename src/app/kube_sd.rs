//! The discoverer of a user's `kubernetes_sd_configs` entry: it makes its client when it
//! runs (from `kubeconfig_file`, `api_server` with the entry's auth and TLS, the pod's
//! service account, or the kubeconfig kmon would use), translates the entry into the
//! watch layer's plain parameters, and hands over to `KubernetesSd`.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::kube::role;
use crate::config::{KubernetesRole, KubernetesSdConfig};
use crate::discovery::kubernetes::connect::{self, Cluster, Env, KubeOptions, Resolution};
use crate::discovery::kubernetes::watch::{KubernetesSd, ObjectSelector, SdParams};
use crate::discovery::{BoxFuture, Discoverer, TargetGroup};

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
