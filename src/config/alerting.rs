//! `alerting:` in `prometheus.yml`: where alerts go (`alertmanagers`, each with static
//! targets, scheme, path prefix, timeout, API version, HTTP client settings and relabeling
//! of the Alertmanager targets and of the alerts sent to them) and the alert relabeling
//! every alert goes through (`alert_relabel_configs`). The validated form and the checks
//! Prometheus 3.5 makes in `AlertingConfig` and `AlertmanagerConfig.UnmarshalYAML`, with its
//! messages. The document validator calls `validate`; `rules::notifier` reads the result.

use std::time::Duration;

use crate::model::RelabelConfig;

use super::error::ConfigErrorKind as K;
use super::raw::{RawAlerting, RawAlertmanagerConfig};
use super::types::{Authorization, BasicAuth, Scheme, StaticConfig, TlsConfig};
use super::validate::{Ctx, Result, at, child, duration, relabel_list, static_config};
use super::yaml::Step;

/// Alertmanager's default send timeout.
pub const DEFAULT_ALERTMANAGER_TIMEOUT: Duration = Duration::from_secs(10);

/// `alerting:`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertingConfig {
    /// Applied to every alert (after the external labels are added), before any
    /// Alertmanager's own `alert_relabel_configs`.
    pub alert_relabel_configs: Vec<RelabelConfig>,
    pub alertmanagers: Vec<AlertmanagerConfig>,
}

/// The Alertmanager API alerts are posted to. Prometheus 3 speaks only v2; `v1` is an error
/// at load time, as in Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AlertmanagerApiVersion {
    #[default]
    V2,
}

impl AlertmanagerApiVersion {
    /// The path element: `v2`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertmanagerApiVersion::V2 => "v2",
        }
    }
}

/// One `alerting.alertmanagers` entry: a set of Alertmanagers sharing settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertmanagerConfig {
    pub static_configs: Vec<StaticConfig>,
    /// Default http; relabeling may change it per target through `__scheme__`.
    pub scheme: Scheme,
    /// Put in front of `/api/v2/alerts`; default empty.
    pub path_prefix: String,
    /// How long one POST may take. Default 10s.
    pub timeout: Duration,
    pub api_version: AlertmanagerApiVersion,
    pub basic_auth: Option<BasicAuth>,
    /// Also set by the older `bearer_token` / `bearer_token_file` keys.
    pub authorization: Option<Authorization>,
    pub tls_config: TlsConfig,
    /// Default true.
    pub follow_redirects: bool,
    /// Default true.
    pub enable_http2: bool,
    /// Applied to the Alertmanager targets (`__address__`, `__scheme__`, `__alerts_path__`).
    pub relabel_configs: Vec<RelabelConfig>,
    /// Applied to the alerts sent to this set only.
    pub alert_relabel_configs: Vec<RelabelConfig>,
}

impl Default for AlertmanagerConfig {
    /// Prometheus's `DefaultAlertmanagerConfig`: http, 10s, v2, no targets.
    fn default() -> Self {
        AlertmanagerConfig {
            static_configs: Vec::new(),
            scheme: Scheme::Http,
            path_prefix: String::new(),
            timeout: DEFAULT_ALERTMANAGER_TIMEOUT,
            api_version: AlertmanagerApiVersion::V2,
            basic_auth: None,
            authorization: None,
            tls_config: TlsConfig::default(),
            follow_redirects: true,
            enable_http2: true,
            relabel_configs: Vec::new(),
            alert_relabel_configs: Vec::new(),
        }
    }
}

/// Validates `alerting:`.
pub(super) fn validate(raw: Option<RawAlerting>, ctx: &Ctx<'_>) -> Result<AlertingConfig> {
    let Some(raw) = raw else {
        return Ok(AlertingConfig::default());
    };
    let base = vec![Step::from("alerting")];
    let alert_relabel_configs = relabel_list(
        raw.alert_relabel_configs,
        &child(&base, "alert_relabel_configs"),
    )?;
    let list = child(&base, "alertmanagers");
    let alertmanagers = raw
        .alertmanagers
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, am)| alertmanager(am, &child(&list, i), ctx))
        .collect::<Result<Vec<_>>>()?;
    Ok(AlertingConfig {
        alert_relabel_configs,
        alertmanagers,
    })
}

fn alertmanager(
    am: Option<RawAlertmanagerConfig>,
    base: &[Step],
    ctx: &Ctx<'_>,
) -> Result<AlertmanagerConfig> {
    let am = am.ok_or_else(|| at(base.to_vec(), K::NullSection("Alertmanager config section")))?;
    let p = |k: &str| child(base, k);
    let (basic_auth, authorization, tls_config) =
        super::http_client::validate(am.http(), base, ctx)?;
    let static_configs = am
        .static_configs
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, s)| static_config(s, &child(&p("static_configs"), i)))
        .collect::<Result<Vec<_>>>()?;
    let relabel_configs = relabel_list(am.relabel_configs, &p("relabel_configs"))?;
    let alert_relabel_configs =
        relabel_list(am.alert_relabel_configs, &p("alert_relabel_configs"))?;
    // Without target relabeling a URL in a static target can never become an address.
    if relabel_configs.is_empty() {
        for (i, s) in static_configs.iter().enumerate() {
            if let Some(k) = s.targets.iter().position(|t| t.contains('/')) {
                let mut tp = p("static_configs");
                tp.extend([Step::from(i), Step::from("targets"), Step::from(k)]);
                return Err(at(tp, K::InvalidTargetAddress(s.targets[k].clone())));
            }
        }
    }
    let scheme = match am.scheme.as_deref() {
        None | Some("") | Some("http") => Scheme::Http,
        Some("https") => Scheme::Https,
        Some(other) => return Err(at(p("scheme"), K::InvalidScheme(other.to_string()))),
    };
    let api_version = match am.api_version.as_deref() {
        None | Some("v2") => AlertmanagerApiVersion::V2,
        Some(other) => {
            return Err(at(
                p("api_version"),
                K::AlertmanagerApiVersion(other.to_string()),
            ));
        }
    };
    // Prometheus keeps an explicit `timeout: 0`; a zero timeout would fail every send, so
    // kmon treats it like the other zero durations: unset.
    let timeout =
        duration(am.timeout.as_deref(), || p("timeout"))?.unwrap_or(DEFAULT_ALERTMANAGER_TIMEOUT);
    Ok(AlertmanagerConfig {
        static_configs,
        scheme,
        path_prefix: am.path_prefix.unwrap_or_default(),
        timeout,
        api_version,
        basic_auth,
        authorization,
        tls_config,
        follow_redirects: am.follow_redirects.unwrap_or(true),
        enable_http2: am.enable_http2.unwrap_or(true),
        relabel_configs,
        alert_relabel_configs,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::load_str;

    fn load(doc: &str) -> std::result::Result<AlertingConfig, String> {
        load_str(doc, "prometheus.yml")
            .map(|(c, _)| c.alerting)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_match_prometheus() {
        let a = load("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:9093']\n").unwrap();
        assert_eq!(a.alertmanagers.len(), 1);
        let am = &a.alertmanagers[0];
        assert_eq!(am.scheme, Scheme::Http);
        assert_eq!(am.timeout, Duration::from_secs(10));
        assert_eq!(am.api_version, AlertmanagerApiVersion::V2);
        assert_eq!(am.path_prefix, "");
        assert!(am.follow_redirects);
        assert_eq!(am.static_configs[0].targets, ["127.0.0.1:9093"]);
        assert!(a.alert_relabel_configs.is_empty());
        assert_eq!(load("global: {}\n").unwrap(), AlertingConfig::default());
    }

    #[test]
    fn every_key_is_read() {
        let doc = "\
alerting:
  alert_relabel_configs:
    - source_labels: [severity]
      regex: debug
      action: drop
  alertmanagers:
    - scheme: https
      path_prefix: /am
      timeout: 3s
      api_version: v2
      follow_redirects: false
      basic_auth: {username: u, password: p}
      tls_config: {insecure_skip_verify: true}
      static_configs:
        - targets: ['a:9093', 'b:9093']
          labels: {dc: eu}
      relabel_configs:
        - source_labels: [dc]
          target_label: __alerts_path__
          replacement: /x/api/v2/alerts
      alert_relabel_configs:
        - target_label: via
          replacement: am
";
        let a = load(doc).unwrap();
        assert_eq!(a.alert_relabel_configs.len(), 1);
        let am = &a.alertmanagers[0];
        assert_eq!(am.scheme, Scheme::Https);
        assert_eq!(am.path_prefix, "/am");
        assert_eq!(am.timeout, Duration::from_secs(3));
        assert!(!am.follow_redirects);
        assert_eq!(am.basic_auth.as_ref().unwrap().username, "u");
        assert!(am.tls_config.insecure_skip_verify);
        assert_eq!(am.static_configs[0].labels.get("dc"), Some("eu"));
        assert_eq!(am.relabel_configs.len(), 1);
        assert_eq!(am.alert_relabel_configs.len(), 1);
    }

    #[test]
    fn errors_name_the_key() {
        let cases: &[(&str, &str)] = &[
            (
                "alerting:\n  alertmanagers:\n    - api_version: v1\n",
                "prometheus.yml:3:7: alerting.alertmanagers[0].api_version: expected Alertmanager api version to be one of [v2] but got v1",
            ),
            (
                "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['http://a:9093']\n",
                "prometheus.yml:4:21: alerting.alertmanagers[0].static_configs[0].targets[0]: \"http://a:9093\" is not a valid hostname",
            ),
            (
                "alerting:\n  alertmanagers:\n    - scheme: ftp\n",
                "prometheus.yml:3:7: alerting.alertmanagers[0].scheme: invalid scheme \"ftp\": must be \"http\" or \"https\"",
            ),
            (
                "alerting:\n  alertmanagers:\n    - timeout: 5x\n",
                "prometheus.yml:3:7: alerting.alertmanagers[0].timeout: unknown unit \"x\" in duration \"5x\"",
            ),
            (
                "alerting:\n  alertmanagers:\n    - relabel_configs:\n        -\n",
                "prometheus.yml:4:10: alerting.alertmanagers[0].relabel_configs[0]: empty or null Alertmanager target relabeling rule",
            ),
            (
                "alerting:\n  alert_relabel_configs:\n    -\n",
                "prometheus.yml:3:6: alerting.alert_relabel_configs[0]: empty or null alert relabeling rule",
            ),
            (
                "alerting:\n  alertmanagers:\n    - static_config: []\n",
                "prometheus.yml:3:7: alerting.alertmanagers[0].static_config: field static_config not found in type config.AlertmanagerConfig (did you mean \"static_configs\"?)",
            ),
            (
                "alerting:\n  alertmanagers:\n    - bearer_token: a\n      basic_auth: {username: u}\n",
                "prometheus.yml:4:7: alerting.alertmanagers[0].basic_auth: at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
            ),
        ];
        let got: Vec<String> = cases
            .iter()
            .map(|(doc, _)| load(doc).unwrap_err())
            .collect();
        let want: Vec<&str> = cases.iter().map(|(_, w)| *w).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn kubernetes_discovery_of_alertmanagers_is_a_warning() {
        let doc =
            "alerting:\n  alertmanagers:\n    - kubernetes_sd_configs:\n        - role: pod\n";
        let (config, warnings) = load_str(doc, "prometheus.yml").unwrap();
        assert_eq!(config.alerting.alertmanagers.len(), 1);
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            warnings[0].key_path,
            "alerting.alertmanagers[0].kubernetes_sd_configs"
        );
    }
}
