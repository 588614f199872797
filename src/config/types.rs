//! The validated configuration: every default applied, every duration parsed, every relative
//! path joined to the config file's directory. `app` reads it to wire discovery and scraping;
//! nothing here can be invalid once `load_file` returned it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::{Labels, RelabelConfig};

/// A loaded `prometheus.yml`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    pub global: GlobalConfig,
    /// `alerting:`: Alertmanagers and alert relabeling.
    pub alerting: super::AlertingConfig,
    /// `remote_write:`: where samples are sent, in configuration order.
    pub remote_write: Vec<super::RemoteWriteConfig>,
    pub scrape_configs: Vec<ScrapeConfig>,
    /// `rule_files`: glob patterns (`*` in the last path element only), as written.
    /// Relative ones are relative to `rule_files_dir`; `rules::file::expand_rule_files`
    /// resolves them.
    pub rule_files: Vec<String>,
    /// The config file's directory (empty when the config did not come from a file).
    pub rule_files_dir: PathBuf,
    /// The file it came from, when it came from a file.
    pub source_file: Option<PathBuf>,
}

/// `global:`, with Prometheus 3.5's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalConfig {
    /// Default 1m.
    pub scrape_interval: Duration,
    /// Default 10s, or the scrape interval when that is shorter.
    pub scrape_timeout: Duration,
    /// Default 1m.
    pub evaluation_interval: Duration,
    /// Default 0.
    pub rule_query_offset: Duration,
    /// With `$VAR` / `${VAR}` expanded from the environment, as Prometheus does.
    pub external_labels: Labels,
    /// In order of preference. Default: OpenMetrics 1.0, OpenMetrics 0.0.1, text 1.0, text 0.0.4.
    pub scrape_protocols: Vec<ScrapeProtocol>,
    /// Limits every job inherits unless it sets its own; 0 means no limit.
    pub limits: Limits,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: Duration::from_secs(60),
            scrape_timeout: Duration::from_secs(10),
            evaluation_interval: Duration::from_secs(60),
            rule_query_offset: Duration::ZERO,
            external_labels: Labels::empty(),
            scrape_protocols: ScrapeProtocol::DEFAULT.to_vec(),
            limits: Limits::default(),
        }
    }
}

/// Per-scrape limits; 0 means no limit. A job's zero falls back to the global value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Uncompressed body size in bytes (`body_size_limit: 10MB`).
    pub body_size_limit: u64,
    pub sample_limit: u64,
    pub target_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    pub keep_dropped_targets: u64,
}

/// One `scrape_configs` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeConfig {
    pub job_name: String,
    pub scrape_interval: Duration,
    pub scrape_timeout: Duration,
    pub scrape_protocols: Vec<ScrapeProtocol>,
    pub fallback_scrape_protocol: Option<ScrapeProtocol>,
    /// Default `/metrics`.
    pub metrics_path: String,
    /// Default http.
    pub scheme: Scheme,
    /// URL query parameters added to every scrape (`params: {module: [http_2xx]}`).
    pub params: BTreeMap<String, Vec<String>>,
    pub honor_labels: bool,
    /// Default true.
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    /// Default true.
    pub enable_compression: bool,
    pub limits: Limits,
    pub basic_auth: Option<BasicAuth>,
    /// Also set by the older `bearer_token` / `bearer_token_file` keys.
    pub authorization: Option<Authorization>,
    pub tls_config: TlsConfig,
    /// Default true.
    pub follow_redirects: bool,
    /// Default true.
    pub enable_http2: bool,
    pub static_configs: Vec<StaticConfig>,
    pub file_sd_configs: Vec<FileSdConfig>,
    pub kubernetes_sd_configs: Vec<super::KubernetesSdConfig>,
    pub relabel_configs: Vec<RelabelConfig>,
    pub metric_relabel_configs: Vec<RelabelConfig>,
}

impl ScrapeConfig {
    /// A job with Prometheus's defaults (1m interval, 10s timeout, `/metrics`, http, honor
    /// timestamps, compression on), as a scrape config that sets only `job_name` gets. Used
    /// for one-off scrapes (`kmon scrape URL`) and tests.
    pub fn new(job_name: impl Into<String>) -> Self {
        let g = GlobalConfig::default();
        ScrapeConfig {
            job_name: job_name.into(),
            scrape_interval: g.scrape_interval,
            scrape_timeout: g.scrape_timeout,
            scrape_protocols: g.scrape_protocols,
            fallback_scrape_protocol: None,
            metrics_path: "/metrics".to_string(),
            scheme: Scheme::Http,
            params: BTreeMap::new(),
            honor_labels: false,
            honor_timestamps: true,
            track_timestamps_staleness: false,
            enable_compression: true,
            limits: Limits::default(),
            basic_auth: None,
            authorization: None,
            tls_config: TlsConfig::default(),
            follow_redirects: true,
            enable_http2: true,
            static_configs: Vec::new(),
            file_sd_configs: Vec::new(),
            kubernetes_sd_configs: Vec::new(),
            relabel_configs: Vec::new(),
            metric_relabel_configs: Vec::new(),
        }
    }
}

/// A list of `host:port` targets sharing labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticConfig {
    pub targets: Vec<String>,
    pub labels: Labels,
}

/// `file_sd_configs` entry: file patterns (`*` allowed in the last path element) and how often
/// to re-read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSdConfig {
    /// Joined to the config file's directory when relative.
    pub files: Vec<String>,
    /// Default 5m.
    pub refresh_interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An exposition format kmon may ask a target for, by Prometheus's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScrapeProtocol {
    PrometheusProto,
    PrometheusText0_0_4,
    PrometheusText1_0_0,
    OpenMetricsText0_0_1,
    OpenMetricsText1_0_0,
}

impl ScrapeProtocol {
    pub const ALL: [ScrapeProtocol; 5] = [
        ScrapeProtocol::OpenMetricsText0_0_1,
        ScrapeProtocol::OpenMetricsText1_0_0,
        ScrapeProtocol::PrometheusProto,
        ScrapeProtocol::PrometheusText0_0_4,
        ScrapeProtocol::PrometheusText1_0_0,
    ];

    /// Prometheus 3.5's default preference order.
    pub const DEFAULT: [ScrapeProtocol; 4] = [
        ScrapeProtocol::OpenMetricsText1_0_0,
        ScrapeProtocol::OpenMetricsText0_0_1,
        ScrapeProtocol::PrometheusText1_0_0,
        ScrapeProtocol::PrometheusText0_0_4,
    ];

    /// The name used in configuration files (case-sensitive), e.g. `OpenMetricsText1.0.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => "PrometheusProto",
            ScrapeProtocol::PrometheusText0_0_4 => "PrometheusText0.0.4",
            ScrapeProtocol::PrometheusText1_0_0 => "PrometheusText1.0.0",
            ScrapeProtocol::OpenMetricsText0_0_1 => "OpenMetricsText0.0.1",
            ScrapeProtocol::OpenMetricsText1_0_0 => "OpenMetricsText1.0.0",
        }
    }

    /// The media type with parameters, as sent in the Accept header.
    pub fn header(self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => {
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
            }
            ScrapeProtocol::PrometheusText0_0_4 => "text/plain;version=0.0.4",
            ScrapeProtocol::PrometheusText1_0_0 => "text/plain;version=1.0.0",
            ScrapeProtocol::OpenMetricsText0_0_1 => "application/openmetrics-text;version=0.0.1",
            ScrapeProtocol::OpenMetricsText1_0_0 => "application/openmetrics-text;version=1.0.0",
        }
    }

    pub fn from_name(name: &str) -> Option<ScrapeProtocol> {
        ScrapeProtocol::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The accepted names, sorted and space-separated, for error messages.
    pub(crate) fn supported_list() -> String {
        let names: Vec<&str> = ScrapeProtocol::ALL.iter().map(|p| p.as_str()).collect();
        names.join(" ")
    }
}

impl fmt::Display for ScrapeProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret from the config file. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// A secret written inline or read from a file at request time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Inline(Secret),
    File(PathBuf),
}

/// PEM data written inline or read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemSource {
    Inline(String),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: String,
    /// Read instead of `username` when set.
    pub username_file: Option<PathBuf>,
    pub password: Option<SecretSource>,
}

/// `Authorization: <type> <credentials>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Default `Bearer`.
    pub auth_type: String,
    pub credentials: Option<SecretSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsConfig {
    pub ca: Option<PemSource>,
    pub cert: Option<PemSource>,
    pub key: Option<SecretSource>,
    pub server_name: Option<String>,
    pub insecure_skip_verify: bool,
    pub min_version: Option<TlsVersion>,
    pub max_version: Option<TlsVersion>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl TlsVersion {
    /// Parses Prometheus's spelling: `TLS10` … `TLS13`.
    pub fn from_name(s: &str) -> Option<TlsVersion> {
        match s {
            "TLS10" => Some(TlsVersion::Tls10),
            "TLS11" => Some(TlsVersion::Tls11),
            "TLS12" => Some(TlsVersion::Tls12),
            "TLS13" => Some(TlsVersion::Tls13),
            _ => None,
        }
    }
}
