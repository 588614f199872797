//! `kubernetes_sd_configs`: the validated form of one entry (role, API server or kubeconfig
//! file, namespaces, selectors, attach_metadata and the inlined HTTP client settings) and the
//! checks Prometheus 3.5 makes in `kubernetes.SDConfig.UnmarshalYAML`, with its messages.
//! The scrape config validator calls `validate`; `app` turns the result into a discoverer.

use std::fmt;
use std::path::PathBuf;

use super::error::ConfigErrorKind as K;
use super::raw::{RawKubernetesSdConfig, RawKubernetesSelector};
use super::types::{Authorization, BasicAuth, TlsConfig};
use super::validate::{Ctx, Result, at, child, join, set};
use super::yaml::Step;

/// The Kubernetes objects a `kubernetes_sd_configs` entry discovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KubernetesRole {
    Node,
    Pod,
    Service,
    Endpoints,
    EndpointSlice,
    Ingress,
}

impl KubernetesRole {
    pub fn as_str(self) -> &'static str {
        match self {
            KubernetesRole::Node => "node",
            KubernetesRole::Pod => "pod",
            KubernetesRole::Service => "service",
            KubernetesRole::Endpoints => "endpoints",
            KubernetesRole::EndpointSlice => "endpointslice",
            KubernetesRole::Ingress => "ingress",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        use KubernetesRole::*;
        [Node, Pod, Service, Endpoints, EndpointSlice, Ingress]
            .into_iter()
            .find(|r| r.as_str() == name)
    }

    /// The roles whose selectors this role accepts, in Prometheus's order.
    fn allowed_selectors(self) -> &'static [KubernetesRole] {
        use KubernetesRole::*;
        match self {
            Pod => &[Pod],
            Service => &[Service],
            EndpointSlice => &[Pod, Service, EndpointSlice],
            Endpoints => &[Pod, Service, Endpoints],
            Node => &[Node],
            Ingress => &[Ingress],
        }
    }
}

impl fmt::Display for KubernetesRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `kubernetes_sd_configs` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct KubernetesSdConfig {
    pub role: KubernetesRole,
    /// As written; `None` means the kubeconfig (or in-cluster config).
    pub api_server: Option<String>,
    /// Joined to the config file's directory when relative.
    pub kubeconfig_file: Option<PathBuf>,
    /// `namespaces.own_namespace`: also the namespace kmon runs in (in-cluster).
    pub own_namespace: bool,
    /// `namespaces.names`; empty means all namespaces.
    pub namespaces: Vec<String>,
    pub selectors: Vec<KubernetesSelector>,
    /// `attach_metadata.node`.
    pub attach_node_metadata: bool,
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub tls_config: TlsConfig,
    /// Default true.
    pub follow_redirects: bool,
    /// Default true.
    pub enable_http2: bool,
}

/// A label and/or field selector applied to the objects of one role's watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesSelector {
    pub role: KubernetesRole,
    /// Kubernetes label selector syntax; empty for none.
    pub label: String,
    /// Kubernetes field selector syntax; empty for none.
    pub field: String,
}

const ROLE_MISSING: &str =
    "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)";

fn role(name: &str, path: Vec<Step>) -> Result<KubernetesRole> {
    KubernetesRole::from_name(name).ok_or_else(|| {
        at(
            path,
            K::Kubernetes(format!("unknown Kubernetes SD role {name:?}")),
        )
    })
}

/// Validates one entry at `base` (`scrape_configs[i].kubernetes_sd_configs[j]`).
pub(super) fn validate(
    raw: Option<RawKubernetesSdConfig>,
    base: &[Step],
    ctx: &Ctx<'_>,
) -> Result<KubernetesSdConfig> {
    let p = |k: &str| child(base, k);
    let msg = |path: Vec<Step>, m: &str| at(path, K::Kubernetes(m.to_string()));
    let raw = raw.ok_or_else(|| {
        at(
            base.to_vec(),
            K::NullSection("section in kubernetes_sd_configs"),
        )
    })?;

    // Decoding errors come first in Prometheus: unknown role names, then null selectors.
    let role_name = raw.role.clone().unwrap_or_default();
    let parsed_role = match role_name.as_str() {
        "" => None,
        name => Some(role(name, p("role"))?),
    };
    let mut selectors_raw: Vec<(Vec<Step>, &RawKubernetesSelector, Option<KubernetesRole>)> =
        Vec::new();
    for (i, s) in raw.selectors.iter().flatten().enumerate() {
        let sp = child(&p("selectors"), i);
        let s = s.as_ref().ok_or_else(|| {
            at(
                sp.clone(),
                K::NullSection("selector in kubernetes_sd_configs"),
            )
        })?;
        let r = match s.role.as_deref().unwrap_or("") {
            "" => None,
            name => Some(role(name, child(&sp, "role"))?),
        };
        selectors_raw.push((sp, s, r));
    }
    let Some(sd_role) = parsed_role else {
        return Err(msg(base.to_vec(), ROLE_MISSING));
    };

    let (basic_auth, authorization, tls_config) =
        super::http_client::validate(raw.http(), base, ctx)?;
    let follow_redirects = raw.follow_redirects.unwrap_or(true);
    let enable_http2 = raw.enable_http2.unwrap_or(true);
    let custom_http = basic_auth.is_some()
        || authorization.is_some()
        || tls_config != TlsConfig::default()
        || !follow_redirects
        || !enable_http2;
    let own_namespace = raw
        .namespaces
        .as_ref()
        .and_then(|n| n.own_namespace)
        .unwrap_or(false);
    // An empty string still counts as set, as Go's URL and string checks do.
    let api_server = raw.api_server.clone();
    if let Some(url) = &api_server {
        check_url(url).map_err(|e| msg(p("api_server"), &format!("parse {url:?}: {e}")))?;
    }
    let kubeconfig = set(&raw.kubeconfig_file);
    if api_server.is_some() && kubeconfig.is_some() {
        return Err(msg(
            p("kubeconfig_file"),
            "cannot use 'kubeconfig_file' and 'api_server' simultaneously",
        ));
    }
    if kubeconfig.is_some() && custom_http {
        return Err(msg(
            p("kubeconfig_file"),
            "cannot use a custom HTTP client configuration together with 'kubeconfig_file'",
        ));
    }
    if api_server.is_none() && custom_http {
        return Err(msg(
            base.to_vec(),
            "to use custom HTTP client configuration please provide the 'api_server' URL explicitly",
        ));
    }
    if api_server.is_some() && own_namespace {
        return Err(msg(
            p("namespaces"),
            "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously",
        ));
    }
    if kubeconfig.is_some() && own_namespace {
        return Err(msg(
            p("namespaces"),
            "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously",
        ));
    }

    let mut selectors = Vec::new();
    let mut seen: Vec<Option<KubernetesRole>> = Vec::new();
    for (sp, s, r) in selectors_raw {
        if seen.contains(&r) {
            let name = r.map_or("", KubernetesRole::as_str);
            return Err(msg(sp, &format!("duplicated selector role: {name}")));
        }
        seen.push(r);
        let allowed = sd_role.allowed_selectors();
        let Some(r) = r.filter(|r| allowed.contains(r)) else {
            let list: Vec<&str> = allowed.iter().map(|a| a.as_str()).collect();
            return Err(msg(
                sp,
                &format!("{sd_role} role supports only {} selectors", list.join(", ")),
            ));
        };
        let field = s.field.clone().unwrap_or_default();
        super::kubernetes_selector::check_field_selector(&field)
            .map_err(|e| msg(child(&sp, "field"), &e))?;
        let label = s.label.clone().unwrap_or_default();
        super::kubernetes_selector::check_label_selector(&label)
            .map_err(|e| msg(child(&sp, "label"), &e))?;
        selectors.push(KubernetesSelector {
            role: r,
            label,
            field,
        });
    }

    Ok(KubernetesSdConfig {
        role: sd_role,
        api_server,
        kubeconfig_file: kubeconfig.map(|k| join(ctx, k)),
        own_namespace,
        namespaces: raw.namespaces.and_then(|n| n.names).unwrap_or_default(),
        selectors,
        attach_node_metadata: raw.attach_metadata.and_then(|a| a.node).unwrap_or(false),
        basic_auth,
        authorization,
        tls_config,
        follow_redirects,
        enable_http2,
    })
}

/// The errors Go's `url.Parse` reports for a URL (its lenient grammar: a relative reference or
/// an opaque `scheme:rest` is fine).
fn check_url(raw: &str) -> std::result::Result<(), String> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let raw = raw.split('#').next().unwrap_or("");
    let mut scheme = "";
    let mut rest = raw;
    for (i, c) in raw.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return Err("missing protocol scheme".into()),
            ':' => {
                scheme = &raw[..i];
                rest = &raw[i + 1..];
                break;
            }
            _ => break,
        }
    }
    let rest = rest.split('?').next().unwrap_or("");
    if !rest.starts_with('/') {
        let first = rest.split('/').next().unwrap_or("");
        if scheme.is_empty() && first.contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
        return Ok(());
    }
    let Some(authority) = rest.strip_prefix("//") else {
        return Ok(());
    };
    if scheme.is_empty() && authority.starts_with('/') {
        return Ok(());
    }
    let authority = authority.split('/').next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let port = if let Some(inner) = host.strip_prefix('[') {
        let Some(end) = inner.find(']') else {
            return Err("missing ']' in host".into());
        };
        let after = &inner[end + 1..];
        if !after.is_empty() && !after.starts_with(':') {
            return Err(format!("invalid port {after:?} after host"));
        }
        after
    } else {
        host.rfind(':').map_or("", |i| &host[i..])
    };
    if !port.is_empty() && !port[1..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid port {port:?} after host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{SecretSource, load_file};
    use super::*;

    #[test]
    fn the_full_fixture_reads_every_field() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/config/valid/kubernetes_sd.yml");
        let (config, warnings) = load_file(&path).expect("loads");
        // Only the proxy setting kmon cannot honour yet is reported.
        let keys: Vec<&str> = warnings.iter().map(|w| w.key_path.as_str()).collect();
        assert_eq!(
            keys,
            ["scrape_configs[3].kubernetes_sd_configs[0].proxy_url"]
        );
        let dir = path.parent().expect("dir");
        let sd = |job: usize, i: usize| &config.scrape_configs[job].kubernetes_sd_configs[i];

        let pods = sd(0, 0);
        assert_eq!(pods.role, KubernetesRole::Pod);
        assert_eq!(pods.api_server, None);
        assert_eq!(pods.kubeconfig_file, Some(dir.join("kube/config.yml")));
        assert_eq!(pods.namespaces, ["default", "shop"]);
        assert!(!pods.own_namespace);
        assert!(pods.attach_node_metadata);
        assert_eq!(
            pods.selectors,
            [KubernetesSelector {
                role: KubernetesRole::Pod,
                label: "app.kubernetes.io/name in (web, api),tier!=cache".into(),
                field: "spec.nodeName=n1,status.phase!=Failed".into(),
            }]
        );
        assert!(pods.follow_redirects && pods.enable_http2);

        let eps = sd(1, 0);
        assert_eq!(eps.role, KubernetesRole::Endpoints);
        assert_eq!(
            eps.api_server.as_deref(),
            Some("https://k8s.example.org:6443")
        );
        let auth = eps.authorization.as_ref().expect("bearer token file");
        assert_eq!(auth.auth_type, "Bearer");
        assert!(
            matches!(&auth.credentials, Some(SecretSource::File(f)) if *f == dir.join("token"))
        );
        assert!(eps.tls_config.ca.is_some());
        assert!(!eps.follow_redirects && !eps.enable_http2);
        let roles: Vec<_> = eps.selectors.iter().map(|s| s.role).collect();
        use KubernetesRole::*;
        assert_eq!(roles, [Pod, Service, Endpoints]);
        assert_eq!(eps.selectors[2].label, "");
        assert_eq!(sd(1, 1).role, EndpointSlice);
        assert!(sd(1, 1).attach_node_metadata);

        assert!(sd(2, 0).own_namespace);
        assert_eq!(sd(2, 0).role, Node);
        assert_eq!(sd(2, 1).role, Service);
        assert_eq!(sd(2, 2).role, Ingress);
        assert_eq!(
            sd(2, 2).selectors[0].field,
            "metadata.namespace!=kube-system"
        );
    }

    #[test]
    fn api_server_urls_are_checked_as_go_parses_them() {
        for ok in [
            "https://k8s:6443",
            "http://[::1]:8080/x",
            "k8s:6443",
            "",
            "/api",
            "http://u:p@h",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        let bad = [
            ("http://[::1", "missing ']' in host"),
            ("http://h:x", "invalid port \":x\" after host"),
            ("http://[::1]x", "invalid port \"x\" after host"),
            ("://x", "missing protocol scheme"),
            ("a b:c/d", "first path segment in URL cannot contain colon"),
            ("http://h\n", "net/url: invalid control character in URL"),
        ];
        for (url, want) in bad {
            assert_eq!(check_url(url), Err(want.to_string()), "{url}");
        }
    }

    #[test]
    fn an_empty_tls_section_is_not_a_custom_http_client() {
        let text = "scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs:\n      - role: pod\n        kubeconfig_file: k.yml\n        tls_config: {}\n";
        let (config, _) = super::super::load_str(text, "t.yml").expect("Prometheus accepts it too");
        assert_eq!(config.scrape_configs[0].kubernetes_sd_configs.len(), 1);
    }
}
