//! What loading a configuration file can say back: a `ConfigError` that stops the load and a
//! `Warning` for what kmon accepts but does not act on yet. Both name the file, the line and
//! column, and the key path (`scrape_configs[0].scrape_timeout`), so the CLI and the TUI can
//! point at the spot.

use std::fmt;
use std::time::Duration;

use crate::model::{DurationError, RelabelError, format_duration};

use super::size::SizeError;

/// A configuration that cannot be loaded, and where.
#[derive(Debug)]
pub struct ConfigError {
    /// The file as the user named it (e.g. `prometheus.yml`).
    pub file: String,
    /// 1-based; 0 when the error is not tied to a line (e.g. the file cannot be read).
    pub line: u32,
    pub column: u32,
    /// Where in the document, e.g. `scrape_configs[0].scrape_timeout`; empty for the root.
    pub key_path: String,
    pub kind: ConfigErrorKind,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_location(f, &self.file, self.line, self.column, &self.key_path)?;
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ConfigErrorKind::Io(e) => Some(e),
            ConfigErrorKind::Duration(e) => Some(e),
            ConfigErrorKind::Relabel(e) => Some(e),
            ConfigErrorKind::Size(e) => Some(e),
            _ => None,
        }
    }
}

fn write_location(
    f: &mut fmt::Formatter<'_>,
    file: &str,
    line: u32,
    column: u32,
    key_path: &str,
) -> fmt::Result {
    f.write_str(file)?;
    if line > 0 {
        write!(f, ":{line}:{column}")?;
    }
    f.write_str(": ")?;
    if !key_path.is_empty() {
        write!(f, "{key_path}: ")?;
    }
    Ok(())
}

/// What is wrong. Messages follow Prometheus's wording where Prometheus has one.
#[derive(Debug, thiserror::Error)]
pub enum ConfigErrorKind {
    #[error("cannot read file: {0}")]
    Io(#[from] std::io::Error),
    /// Malformed YAML, or a value of the wrong type (a list where a string belongs).
    #[error("{0}")]
    Yaml(String),
    /// A key Prometheus does not know either: a typo, or a key from another version.
    #[error("field {field} not found in type {go_type}{}", .hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownField {
        field: String,
        go_type: &'static str,
        hint: Option<String>,
    },
    #[error("key {0:?} already set in map")]
    DuplicateKey(String),
    /// A list item that is empty or null, e.g. a bare `-` under `scrape_configs`.
    #[error("empty or null {0}")]
    NullSection(&'static str),
    #[error("{0}")]
    Duration(#[from] DurationError),
    #[error("{0}")]
    Size(#[from] SizeError),
    #[error("{0}")]
    Relabel(#[from] RelabelError),
    #[error("job_name is empty")]
    EmptyJobName,
    #[error("found multiple scrape configs with job name {0:?}")]
    DuplicateJobName(String),
    #[error("scrape timeout {} greater than scrape interval {}", format_duration(*.timeout), format_duration(*.interval))]
    TimeoutExceedsInterval {
        timeout: Duration,
        interval: Duration,
    },
    #[error("global scrape timeout {} greater than scrape interval {}", format_duration(*.timeout), format_duration(*.interval))]
    GlobalTimeoutExceedsInterval {
        timeout: Duration,
        interval: Duration,
    },
    #[error("{0:?} is not a valid label name")]
    InvalidLabelName(String),
    #[error("invalid scheme {0:?}: must be \"http\" or \"https\"")]
    InvalidScheme(String),
    #[error("scrape_protocols cannot be empty")]
    EmptyScrapeProtocols,
    #[error("duplicated protocol in scrape_protocols, got [{}]", .0.join(" "))]
    DuplicateScrapeProtocol(Vec<String>),
    #[error("unknown scrape protocol {0}, supported: [{list}]", list = super::types::ScrapeProtocol::supported_list())]
    UnknownScrapeProtocol(String),
    /// A static target that looks like a URL; targets are `host:port`.
    #[error("{0:?} is not a valid hostname")]
    InvalidTargetAddress(String),
    #[error("file service discovery config must contain at least one path name")]
    FileSdNoFiles,
    #[error("path name {0:?} is not valid for file discovery")]
    FileSdInvalidPath(String),
    #[error("invalid rule file path {0:?}")]
    InvalidRuleFilePath(String),
    #[error("unknown TLS version: {0}")]
    UnknownTlsVersion(String),
    /// Two settings that exclude each other, e.g. `password` and `password_file`.
    #[error("{0}")]
    Conflict(&'static str),
    /// A required setting that is missing, e.g. a TLS key without a certificate.
    #[error("{0}")]
    Missing(&'static str),
    #[error("authorization type cannot be set to \"basic\", use \"basic_auth\" instead")]
    BasicAuthorizationType,
    /// `alerting.alertmanagers[].api_version` other than v2 (v1 is gone in Prometheus 3).
    #[error("expected Alertmanager api version to be one of [v2] but got {0}")]
    AlertmanagerApiVersion(String),
    /// A `remote_write` check, in Prometheus's words where it has them.
    #[error("{0}")]
    RemoteWrite(String),
    /// A `kubernetes_sd_configs` check, in Prometheus's words.
    #[error("{0}")]
    Kubernetes(String),
}

/// Something kmon accepted but will not act on, most often a Prometheus feature kmon does not
/// support yet. Loading continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub key_path: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_location(f, &self.file, self.line, self.column, &self.key_path)?;
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_key_and_problem() {
        let e = ConfigError {
            file: "prometheus.yml".into(),
            line: 12,
            column: 5,
            key_path: "scrape_configs[0].scrape_timeout".into(),
            kind: ConfigErrorKind::TimeoutExceedsInterval {
                timeout: Duration::from_secs(20),
                interval: Duration::from_secs(15),
            },
        };
        assert_eq!(
            e.to_string(),
            "prometheus.yml:12:5: scrape_configs[0].scrape_timeout: scrape timeout 20s greater than scrape interval 15s"
        );
        let e = ConfigError {
            file: "p.yml".into(),
            line: 0,
            column: 0,
            key_path: String::new(),
            kind: ConfigErrorKind::Io(std::io::Error::from(std::io::ErrorKind::NotFound)),
        };
        assert!(e.to_string().starts_with("p.yml: cannot read file: "));
    }

    #[test]
    fn unknown_field_mentions_the_hint() {
        let k = ConfigErrorKind::UnknownField {
            field: "scrape_intervall".into(),
            go_type: "config.ScrapeConfig",
            hint: Some("did you mean \"scrape_interval\"?".into()),
        };
        assert_eq!(
            k.to_string(),
            "field scrape_intervall not found in type config.ScrapeConfig (did you mean \"scrape_interval\"?)"
        );
    }
}
