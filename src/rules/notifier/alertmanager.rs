//! The Alertmanagers of one `alerting.alertmanagers` entry: its static targets turned into
//! push URLs as Prometheus's `AlertmanagerFromGroup` does (`__address__`, `__scheme__` and
//! `__alerts_path__` set, group labels added, target relabeling applied, duplicates
//! removed), and the HTTP client that posts to them with the entry's timeout, TLS,
//! redirect and auth settings. The notifier builds one `AlertmanagerSet` per entry.

use std::time::Duration;

use crate::config::{AlertmanagerConfig, ClientAuth, client_builder};
use crate::model::{Labels, LabelsBuilder, relabel_builder};

/// The label holding the push path.
pub const ALERTS_PATH_LABEL: &str = "__alerts_path__";
const SCHEME_LABEL: &str = "__scheme__";
const ADDRESS_LABEL: &str = "__address__";

/// One Alertmanager, after target relabeling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertmanagerTarget {
    /// The push URL, e.g. `http://127.0.0.1:9093/api/v2/alerts`.
    pub url: String,
    /// The target's labels (after relabeling for active ones, before for dropped ones).
    pub labels: Labels,
}

impl AlertmanagerTarget {
    fn from_labels(labels: Labels) -> Self {
        let scheme = labels.get(SCHEME_LABEL).unwrap_or("");
        let host = labels.get(ADDRESS_LABEL).unwrap_or("");
        let path = labels.get(ALERTS_PATH_LABEL).unwrap_or("");
        // Go's url.URL.String(): a path after a host always starts with a slash.
        let slash = if !host.is_empty() && !path.is_empty() && !path.starts_with('/') {
            "/"
        } else {
            ""
        };
        let url = if scheme.is_empty() {
            format!("//{host}{slash}{path}")
        } else {
            format!("{scheme}://{host}{slash}{path}")
        };
        AlertmanagerTarget { url, labels }
    }
}

/// The push path for a prefix: Go's `path.Join("/", prefix, "/api/v2/alerts")`.
pub fn post_path(prefix: &str, api_version: &str) -> String {
    let joined = format!("/{prefix}/api/{api_version}/alerts");
    let mut parts: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The active and the dropped Alertmanagers of `cfg`'s static targets. A target group with
/// an address that is not a host (contains `/` after relabeling) is left out whole, with
/// an error for the log, as in Prometheus. Active targets are unique by URL.
pub fn resolve_targets(
    cfg: &AlertmanagerConfig,
) -> (
    Vec<AlertmanagerTarget>,
    Vec<AlertmanagerTarget>,
    Vec<String>,
) {
    let path = post_path(&cfg.path_prefix, cfg.api_version.as_str());
    let mut active: Vec<AlertmanagerTarget> = Vec::new();
    let mut dropped = Vec::new();
    let mut errors = Vec::new();
    'groups: for group in &cfg.static_configs {
        let mut group_active = Vec::new();
        let mut group_dropped = Vec::new();
        for target in &group.targets {
            let mut b = LabelsBuilder::new();
            b.set(ADDRESS_LABEL, target);
            b.set(SCHEME_LABEL, cfg.scheme.as_str());
            b.set(ALERTS_PATH_LABEL, &path);
            for l in group.labels.iter() {
                if l.name != ADDRESS_LABEL {
                    b.set(l.name, l.value);
                }
            }
            let pre = b.build();
            if !relabel_builder(&mut b, &cfg.relabel_configs) {
                group_dropped.push(AlertmanagerTarget::from_labels(pre));
                continue;
            }
            let addr = b.get(ADDRESS_LABEL).unwrap_or("");
            if addr.contains('/') {
                errors.push(format!("{addr:?} is not a valid hostname"));
                continue 'groups;
            }
            group_active.push(AlertmanagerTarget::from_labels(b.build()));
        }
        active.extend(group_active);
        dropped.extend(group_dropped);
    }
    let mut seen = std::collections::HashSet::new();
    active.retain(|t| seen.insert(t.url.clone()));
    (active, dropped, errors)
}

/// How requests to one set authenticate; secrets in files are read at request time.
pub(super) fn auth_of(cfg: &AlertmanagerConfig) -> ClientAuth {
    ClientAuth::new(cfg.basic_auth.as_ref(), cfg.authorization.as_ref())
}

/// The client for one set: its TLS, redirect and HTTP/2 settings and its timeout.
pub(super) fn build_client(cfg: &AlertmanagerConfig) -> Result<reqwest::Client, String> {
    client_builder(
        &cfg.tls_config,
        cfg.follow_redirects,
        cfg.enable_http2,
        concat!("kmon/", env!("CARGO_PKG_VERSION")),
    )
    .map_err(|e| e.to_string())?
    .timeout(cfg.timeout.max(Duration::from_millis(1)))
    .build()
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PemSource, Scheme, StaticConfig};
    use crate::model::{RelabelAction, RelabelConfig, RelabelRegex};

    fn cfg(targets: &[&str]) -> AlertmanagerConfig {
        AlertmanagerConfig {
            static_configs: vec![StaticConfig {
                targets: targets.iter().map(|t| t.to_string()).collect(),
                labels: Labels::from_pairs(&[("dc", "eu")]),
            }],
            ..AlertmanagerConfig::default()
        }
    }

    #[test]
    fn post_path_joins_like_go() {
        assert_eq!(post_path("", "v2"), "/api/v2/alerts");
        assert_eq!(post_path("am/", "v2"), "/am/api/v2/alerts");
        assert_eq!(post_path("/a//b/../c", "v2"), "/a/c/api/v2/alerts");
    }

    #[test]
    fn static_targets_become_push_urls() {
        let mut c = cfg(&["a:9093", "b:9093", "a:9093"]);
        c.path_prefix = "/prefix".into();
        c.scheme = Scheme::Https;
        let (active, dropped, errors) = resolve_targets(&c);
        let urls: Vec<&str> = active.iter().map(|t| t.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://a:9093/prefix/api/v2/alerts",
                "https://b:9093/prefix/api/v2/alerts"
            ]
        );
        assert_eq!(active[0].labels.get("dc"), Some("eu"));
        assert!(dropped.is_empty() && errors.is_empty());
    }

    #[test]
    fn relabeling_rewrites_drops_and_rejects() {
        let mut c = cfg(&["a:9093", "b:9093"]);
        c.relabel_configs = vec![
            RelabelConfig {
                source_labels: vec!["__address__".into()],
                regex: RelabelRegex::new("b:.*").unwrap(),
                action: RelabelAction::Drop,
                ..RelabelConfig::default()
            },
            RelabelConfig {
                target_label: "__alerts_path__".into(),
                replacement: "custom/path".into(),
                ..RelabelConfig::default()
            },
        ];
        let (active, dropped, errors) = resolve_targets(&c);
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].url, "http://a:9093/custom/path");
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].url, "http://b:9093/api/v2/alerts");
        assert!(errors.is_empty());

        let mut bad = cfg(&["a:9093"]);
        bad.relabel_configs = vec![RelabelConfig {
            target_label: "__address__".into(),
            replacement: "http://x/y".into(),
            ..RelabelConfig::default()
        }];
        let (active, _, errors) = resolve_targets(&bad);
        assert!(active.is_empty());
        assert_eq!(errors, ["\"http://x/y\" is not a valid hostname"]);
    }

    #[test]
    fn a_client_builds_from_defaults_and_bad_pem_is_an_error() {
        assert!(build_client(&AlertmanagerConfig::default()).is_ok());
        let mut c = AlertmanagerConfig::default();
        c.tls_config.ca = Some(PemSource::File("/nonexistent/ca.pem".into()));
        let err = build_client(&c).unwrap_err();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }
}
