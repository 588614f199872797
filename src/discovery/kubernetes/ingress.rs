//! The `ingress` role (networking.k8s.io/v1): one target per rule host and path, addressed
//! by the host, with scheme `https` when a TLS entry's host (or `*.` wildcard) covers the
//! rule's host, and path `/` for rules without HTTP paths or with empty paths.

use k8s_openapi::api::networking::v1::{Ingress, IngressRule};

use super::{
    LabelMap, META_PREFIX, NAMESPACE_LABEL, Role, add_object_meta, name_of, namespace_of,
    str_or_empty,
};
use crate::discovery::{ADDRESS_LABEL, TargetGroup};

/// The group for an ingress (source `ingress/<ns>/<name>`).
pub fn ingress_group(ingress: &Ingress) -> TargetGroup {
    let namespace = namespace_of(&ingress.metadata);
    let name = name_of(&ingress.metadata);
    let spec = ingress.spec.as_ref();
    let p = format!("{META_PREFIX}ingress");

    let mut group = LabelMap::new();
    group.set(NAMESPACE_LABEL, namespace);
    if let Some(class) = spec.and_then(|s| s.ingress_class_name.as_deref()) {
        group.set(format!("{p}_class_name"), class);
    }
    add_object_meta(&mut group, &ingress.metadata, Role::Ingress);

    let tls_hosts: Vec<&str> = spec
        .and_then(|s| s.tls.as_ref())
        .into_iter()
        .flatten()
        .flat_map(|t| t.hosts.iter().flatten().map(String::as_str))
        .collect();
    let mut targets = Vec::new();
    for rule in spec.and_then(|s| s.rules.as_ref()).into_iter().flatten() {
        let host = str_or_empty(&rule.host);
        let scheme = if tls_hosts.iter().any(|pat| host_matches(pat, host)) {
            "https"
        } else {
            "http"
        };
        for path in rule_paths(rule) {
            let mut t = LabelMap::new();
            t.set(ADDRESS_LABEL, host);
            t.set(format!("{p}_scheme"), scheme);
            t.set(format!("{p}_host"), host);
            t.set(format!("{p}_path"), path);
            targets.push(t.into_labels());
        }
    }
    TargetGroup {
        source: Role::Ingress.source(namespace, name),
        labels: group.into_labels(),
        targets,
    }
}

/// The rule's paths, an empty path as `/`; a rule without an HTTP section has the one path
/// `/`, one with an empty path list has none.
fn rule_paths(rule: &IngressRule) -> Vec<&str> {
    match &rule.http {
        None => vec!["/"],
        Some(http) => http
            .paths
            .iter()
            .map(|p| match p.path.as_deref() {
                None | Some("") => "/",
                Some(path) => path,
            })
            .collect(),
    }
}

/// Whether a TLS host pattern covers `host`: equal, or `*.rest` where `host` has the same
/// number of dot-separated parts and equal parts after the first.
fn host_matches(pattern: &str, host: &str) -> bool {
    if pattern == host {
        return true;
    }
    let pat: Vec<&str> = pattern.split('.').collect();
    let parts: Vec<&str> = host.split('.').collect();
    pat.first() == Some(&"*") && pat.len() == parts.len() && pat[1..] == parts[1..]
}
