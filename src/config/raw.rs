//! The raw mirror of `prometheus.yml`: serde structs with Prometheus's key names and no
//! defaults or checks. Keys kmon does not support are not here; the schema check has already
//! reported them. `validate` turns these into `types`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// Absent → `None`; explicit `null` → `Some(None)`; a value → `Some(Some(v))`. Prometheus
/// treats an explicit null as the zero value, which differs from the default for a few keys
/// (a relabel rule's `regex:` left empty means the empty regex, not `(.*)`).
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Default, Deserialize)]
pub struct RawConfig {
    pub global: Option<RawGlobal>,
    pub rule_files: Option<Vec<String>>,
    pub scrape_configs: Option<Vec<Option<RawScrapeConfig>>>,
    pub alerting: Option<RawAlerting>,
    pub remote_write: Option<Vec<Option<RawRemoteWriteConfig>>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawGlobal {
    pub scrape_interval: Option<String>,
    pub scrape_timeout: Option<String>,
    pub scrape_protocols: Option<Vec<String>>,
    pub evaluation_interval: Option<String>,
    pub rule_query_offset: Option<String>,
    pub external_labels: Option<BTreeMap<String, Option<String>>>,
    pub body_size_limit: Option<String>,
    pub sample_limit: Option<u64>,
    pub target_limit: Option<u64>,
    pub label_limit: Option<u64>,
    pub label_name_length_limit: Option<u64>,
    pub label_value_length_limit: Option<u64>,
    pub keep_dropped_targets: Option<u64>,
}

/// The limit keys both `global` and a scrape config carry.
#[derive(Debug, Default, Clone)]
pub struct RawLimits {
    pub body_size_limit: Option<String>,
    pub sample_limit: Option<u64>,
    pub target_limit: Option<u64>,
    pub label_limit: Option<u64>,
    pub label_name_length_limit: Option<u64>,
    pub label_value_length_limit: Option<u64>,
    pub keep_dropped_targets: Option<u64>,
}

macro_rules! limits_of {
    ($t:ty) => {
        impl $t {
            pub fn limits(&self) -> RawLimits {
                RawLimits {
                    body_size_limit: self.body_size_limit.clone(),
                    sample_limit: self.sample_limit,
                    target_limit: self.target_limit,
                    label_limit: self.label_limit,
                    label_name_length_limit: self.label_name_length_limit,
                    label_value_length_limit: self.label_value_length_limit,
                    keep_dropped_targets: self.keep_dropped_targets,
                }
            }
        }
    };
}

limits_of!(RawGlobal);
limits_of!(RawScrapeConfig);

#[derive(Debug, Default, Deserialize)]
pub struct RawScrapeConfig {
    pub job_name: Option<String>,
    pub honor_labels: Option<bool>,
    pub honor_timestamps: Option<bool>,
    pub track_timestamps_staleness: Option<bool>,
    pub params: Option<BTreeMap<String, Vec<String>>>,
    pub scrape_interval: Option<String>,
    pub scrape_timeout: Option<String>,
    pub scrape_protocols: Option<Vec<String>>,
    pub fallback_scrape_protocol: Option<String>,
    pub metrics_path: Option<String>,
    pub scheme: Option<String>,
    pub enable_compression: Option<bool>,
    pub body_size_limit: Option<String>,
    pub sample_limit: Option<u64>,
    pub target_limit: Option<u64>,
    pub label_limit: Option<u64>,
    pub label_name_length_limit: Option<u64>,
    pub label_value_length_limit: Option<u64>,
    pub keep_dropped_targets: Option<u64>,

    // HTTP client settings, inlined in the scrape config as in Prometheus.
    pub basic_auth: Option<RawBasicAuth>,
    pub authorization: Option<RawAuthorization>,
    pub bearer_token: Option<String>,
    pub bearer_token_file: Option<String>,
    pub tls_config: Option<RawTlsConfig>,
    pub follow_redirects: Option<bool>,
    pub enable_http2: Option<bool>,

    pub static_configs: Option<Vec<Option<RawStaticConfig>>>,
    pub file_sd_configs: Option<Vec<Option<RawFileSdConfig>>>,
    pub kubernetes_sd_configs: Option<Vec<Option<RawKubernetesSdConfig>>>,
    pub relabel_configs: Option<Vec<Option<RawRelabelConfig>>>,
    pub metric_relabel_configs: Option<Vec<Option<RawRelabelConfig>>>,
}

/// Borrows the inlined HTTP client keys of a section.
macro_rules! http_of {
    ($t:ty) => {
        impl $t {
            pub fn http(&self) -> super::http_client::RawHttp<'_> {
                super::http_client::RawHttp {
                    basic_auth: &self.basic_auth,
                    authorization: &self.authorization,
                    bearer_token: &self.bearer_token,
                    bearer_token_file: &self.bearer_token_file,
                    tls_config: &self.tls_config,
                }
            }
        }
    };
}

http_of!(RawScrapeConfig);
http_of!(RawKubernetesSdConfig);

/// A `kubernetes_sd_configs` entry, with its inlined HTTP client keys.
#[derive(Debug, Default, Deserialize)]
pub struct RawKubernetesSdConfig {
    pub role: Option<String>,
    pub api_server: Option<String>,
    pub kubeconfig_file: Option<String>,
    pub namespaces: Option<RawKubernetesNamespaces>,
    pub selectors: Option<Vec<Option<RawKubernetesSelector>>>,
    pub attach_metadata: Option<RawKubernetesAttachMetadata>,

    pub basic_auth: Option<RawBasicAuth>,
    pub authorization: Option<RawAuthorization>,
    pub bearer_token: Option<String>,
    pub bearer_token_file: Option<String>,
    pub tls_config: Option<RawTlsConfig>,
    pub follow_redirects: Option<bool>,
    pub enable_http2: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawKubernetesNamespaces {
    pub own_namespace: Option<bool>,
    pub names: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawKubernetesSelector {
    pub role: Option<String>,
    pub label: Option<String>,
    pub field: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawKubernetesAttachMetadata {
    pub node: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawBasicAuth {
    pub username: Option<String>,
    pub username_file: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawAuthorization {
    #[serde(rename = "type")]
    pub auth_type: Option<String>,
    pub credentials: Option<String>,
    pub credentials_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawTlsConfig {
    pub ca: Option<String>,
    pub ca_file: Option<String>,
    pub cert: Option<String>,
    pub cert_file: Option<String>,
    pub key: Option<String>,
    pub key_file: Option<String>,
    pub server_name: Option<String>,
    pub insecure_skip_verify: Option<bool>,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawStaticConfig {
    pub targets: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, Option<String>>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawFileSdConfig {
    pub files: Option<Vec<String>>,
    pub refresh_interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawRelabelConfig {
    pub source_labels: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub separator: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub regex: Option<Option<String>>,
    pub modulus: Option<u64>,
    pub target_label: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub replacement: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub action: Option<Option<String>>,
}

// `alerting:` (Prometheus's AlertingConfig and AlertmanagerConfig).

#[derive(Debug, Default, Deserialize)]
pub struct RawAlerting {
    pub alert_relabel_configs: Option<Vec<Option<RawRelabelConfig>>>,
    pub alertmanagers: Option<Vec<Option<RawAlertmanagerConfig>>>,
}

/// An `alerting.alertmanagers` entry, with its inlined HTTP client keys.
#[derive(Debug, Default, Deserialize)]
pub struct RawAlertmanagerConfig {
    pub static_configs: Option<Vec<Option<RawStaticConfig>>>,
    pub scheme: Option<String>,
    pub path_prefix: Option<String>,
    pub timeout: Option<String>,
    pub api_version: Option<String>,
    pub relabel_configs: Option<Vec<Option<RawRelabelConfig>>>,
    pub alert_relabel_configs: Option<Vec<Option<RawRelabelConfig>>>,

    pub basic_auth: Option<RawBasicAuth>,
    pub authorization: Option<RawAuthorization>,
    pub bearer_token: Option<String>,
    pub bearer_token_file: Option<String>,
    pub tls_config: Option<RawTlsConfig>,
    pub follow_redirects: Option<bool>,
    pub enable_http2: Option<bool>,
}

http_of!(RawAlertmanagerConfig);

// `remote_write:` (Prometheus's RemoteWriteConfig, QueueConfig and MetadataConfig).

/// A `remote_write` entry, with its inlined HTTP client keys.
#[derive(Debug, Default, Deserialize)]
pub struct RawRemoteWriteConfig {
    pub url: Option<String>,
    pub remote_timeout: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub write_relabel_configs: Option<Vec<Option<RawRelabelConfig>>>,
    pub name: Option<String>,
    pub protobuf_message: Option<String>,
    pub queue_config: Option<RawQueueConfig>,
    pub metadata_config: Option<RawMetadataConfig>,

    pub basic_auth: Option<RawBasicAuth>,
    pub authorization: Option<RawAuthorization>,
    pub bearer_token: Option<String>,
    pub bearer_token_file: Option<String>,
    pub tls_config: Option<RawTlsConfig>,
    pub follow_redirects: Option<bool>,
    pub enable_http2: Option<bool>,
}

http_of!(RawRemoteWriteConfig);

#[derive(Debug, Default, Deserialize)]
pub struct RawQueueConfig {
    pub capacity: Option<u64>,
    pub max_shards: Option<u64>,
    pub min_shards: Option<u64>,
    pub max_samples_per_send: Option<u64>,
    pub batch_send_deadline: Option<String>,
    pub min_backoff: Option<String>,
    pub max_backoff: Option<String>,
    pub retry_on_http_429: Option<bool>,
    pub sample_age_limit: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawMetadataConfig {
    pub send: Option<bool>,
    pub send_interval: Option<String>,
    pub max_samples_per_send: Option<u64>,
}
