//! Turns discovered target groups into scrape targets, as Prometheus does: merge group and
//! target labels, add the job's defaults (`job`, `__scheme__`, `__metrics_path__`,
//! `__param_*`, ...), run `relabel_configs`, default `instance` to `__address__`, build the
//! URL, and keep only the public labels. The scrape manager calls it on every update.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::ScrapeConfig;
use crate::discovery::TargetGroup;
use crate::model::{Label, Labels, LabelsBuilder, relabel};

pub const ADDRESS: &str = "__address__";
pub const SCHEME: &str = "__scheme__";
pub const METRICS_PATH: &str = "__metrics_path__";
pub const SCRAPE_INTERVAL: &str = "__scrape_interval__";
pub const SCRAPE_TIMEOUT: &str = "__scrape_timeout__";
pub const PARAM_PREFIX: &str = "__param_";

/// One target to scrape: what the scrape loop and the targets pane need to know.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    pub job: String,
    /// The labels every scraped series gets (job, instance, and user labels).
    pub labels: Labels,
    /// The labels before relabeling: as discovered, with the job's defaults (`job`,
    /// `__scheme__`, `__metrics_path__`, …), as Prometheus's API shows them.
    pub discovered_labels: Labels,
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
}

impl TargetSpec {
    /// Identity of a target within a job: its labels and URL. Stable across runs, so the
    /// scrape offset is deterministic.
    pub fn hash(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&self.labels.stable_hash().to_le_bytes());
        h.update(self.url.as_bytes());
        h.digest()
    }
}

/// Why a discovered target was not turned into a scrape target (other than being dropped by
/// relabeling, which is not an error).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetError {
    #[error("no __address__ label after relabeling: {0}")]
    NoAddress(Labels),
    #[error("invalid {label} {value:?} after relabeling")]
    InvalidLabel { label: &'static str, value: String },
}

/// The targets of one job, from its groups. Dropped targets are left out; invalid ones are
/// returned as errors beside the valid ones.
pub fn targets_from_groups(
    cfg: &ScrapeConfig,
    groups: &[TargetGroup],
) -> (Vec<TargetSpec>, Vec<TargetError>) {
    let (specs, _, errs) = targets_and_dropped(cfg, groups);
    (specs, errs)
}

/// As `targets_from_groups`, also returning the discovered labels (with the job's
/// defaults) of the targets that relabeling dropped, as Prometheus lists them.
pub fn targets_and_dropped(
    cfg: &ScrapeConfig,
    groups: &[TargetGroup],
) -> (Vec<TargetSpec>, Vec<Labels>, Vec<TargetError>) {
    let mut out = Vec::new();
    let mut dropped = Vec::new();
    let mut errs = Vec::new();
    for g in groups {
        for t in &g.targets {
            let mut b = g.labels.builder();
            for l in t.iter() {
                b.set(l.name, l.value);
            }
            match populate_target(cfg, b.build()) {
                Ok(Populated::Kept(spec)) => out.push(spec),
                Ok(Populated::Dropped(labels)) => dropped.push(labels),
                Err(e) => errs.push(e),
            }
        }
    }
    (out, dropped, errs)
}

/// One target: defaults, relabeling, validation (Prometheus's `PopulateLabels`).
pub fn populate(cfg: &ScrapeConfig, discovered: Labels) -> Result<Option<TargetSpec>, TargetError> {
    Ok(match populate_target(cfg, discovered)? {
        Populated::Kept(spec) => Some(spec),
        Populated::Dropped(_) => None,
    })
}

/// What relabeling made of a discovered target.
enum Populated {
    Kept(TargetSpec),
    /// Dropped by relabeling; the labels before relabeling.
    Dropped(Labels),
}

fn populate_target(cfg: &ScrapeConfig, discovered: Labels) -> Result<Populated, TargetError> {
    let mut b: LabelsBuilder = discovered.builder();
    let interval = format_go_duration(cfg.scrape_interval);
    let timeout = format_go_duration(cfg.scrape_timeout);
    let defaults: [(&str, &str); 5] = [
        ("job", &cfg.job_name),
        (SCRAPE_INTERVAL, &interval),
        (SCRAPE_TIMEOUT, &timeout),
        (METRICS_PATH, &cfg.metrics_path),
        (SCHEME, cfg.scheme.as_str()),
    ];
    for (name, value) in defaults {
        if b.get(name).is_none() {
            b.set(name, value);
        }
    }
    for (name, values) in &cfg.params {
        let key = format!("{PARAM_PREFIX}{name}");
        if let Some(first) = values.first()
            && b.get(&key).is_none()
        {
            b.set(&key, first);
        }
    }
    let pre = b.build();
    let Some(relabeled) = relabel(&pre, &cfg.relabel_configs) else {
        return Ok(Populated::Dropped(pre));
    };
    let Some(address) = relabeled.get(ADDRESS).map(str::to_string) else {
        return Err(TargetError::NoAddress(relabeled));
    };
    if address.contains('/') || address.is_empty() {
        return Err(TargetError::InvalidLabel {
            label: ADDRESS,
            value: address,
        });
    }
    let interval = parse_label_duration(&relabeled, SCRAPE_INTERVAL)?;
    let timeout = parse_label_duration(&relabeled, SCRAPE_TIMEOUT)?;
    let scheme = relabeled.get(SCHEME).unwrap_or("http").to_string();
    if scheme != "http" && scheme != "https" {
        return Err(TargetError::InvalidLabel {
            label: SCHEME,
            value: scheme,
        });
    }
    let path = relabeled
        .get(METRICS_PATH)
        .unwrap_or("/metrics")
        .to_string();
    let url = build_url(&scheme, &address, &path, &relabeled, &cfg.params);

    // Public labels: everything not starting with "__", plus instance defaulting to address.
    let mut public: Vec<Label> = relabeled
        .iter()
        .filter(|l| !l.name.starts_with("__"))
        .map(|l| l.to_label())
        .collect();
    if relabeled.get("instance").is_none() {
        public.push(Label::new("instance", address.as_str()));
    }
    let labels = Labels::new(public);
    Ok(Populated::Kept(TargetSpec {
        job: labels.get("job").unwrap_or(&cfg.job_name).to_string(),
        labels,
        discovered_labels: pre,
        url,
        interval,
        timeout,
    }))
}

fn parse_label_duration(labels: &Labels, name: &'static str) -> Result<Duration, TargetError> {
    let v = labels.get(name).unwrap_or("");
    crate::model::parse_duration(v)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| TargetError::InvalidLabel {
            label: name,
            value: v.to_string(),
        })
}

/// `scheme://address/path?params`, where `__param_*` labels override the configured params.
fn build_url(
    scheme: &str,
    address: &str,
    path: &str,
    labels: &Labels,
    params: &BTreeMap<String, Vec<String>>,
) -> String {
    let mut query: BTreeMap<String, Vec<String>> = params.clone();
    for l in labels.iter() {
        if let Some(name) = l.name.strip_prefix(PARAM_PREFIX) {
            let values = query.entry(name.to_string()).or_default();
            if values.is_empty() {
                values.push(l.value.to_string());
            } else {
                values[0] = l.value.to_string();
            }
        }
    }
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let mut url = format!("{scheme}://{address}{path}");
    let mut sep = if url.contains('?') { '&' } else { '?' };
    for (k, vs) in &query {
        for v in vs {
            url.push(sep);
            url.push_str(&url_escape(k));
            url.push('=');
            url.push_str(&url_escape(v));
            sep = '&';
        }
    }
    url
}

/// Percent-encodes a query component (RFC 3986 unreserved characters pass through).
fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Formats a duration as Prometheus prints it in `__scrape_interval__` (e.g. "15s", "1m",
/// "1m30s", "500ms").
pub fn format_go_duration(d: Duration) -> String {
    crate::model::format_duration(d)
}
