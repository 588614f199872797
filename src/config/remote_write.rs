//! `remote_write:` in `prometheus.yml`: where samples are sent with the remote-write 1.0
//! protocol (url, name, timeout, extra headers, HTTP client settings, write relabeling) and
//! how the queue sending them is shaped (`queue_config`), with Prometheus 3.5's defaults
//! (`DefaultRemoteWriteConfig`, `DefaultQueueConfig`, `DefaultMetadataConfig`) and the checks
//! it makes at load time: a URL is required, reserved headers cannot be set, names are
//! unique, identical entries are refused, only `prometheus.WriteRequest` is spoken. The
//! document validator calls `validate`; `app::remote_write` and `remote::write` read it.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use md5::{Digest, Md5};

use crate::model::RelabelConfig;

use super::error::ConfigErrorKind as K;
use super::raw::{RawMetadataConfig, RawQueueConfig, RawRemoteWriteConfig};
use super::types::{Authorization, BasicAuth, PemSource, SecretSource, TlsConfig};
use super::validate::{Ctx, Result, at, child, duration, relabel_list};
use super::yaml::Step;

/// The only protobuf message kmon sends (remote-write 1.0).
pub const REMOTE_WRITE_PROTO_V1: &str = "prometheus.WriteRequest";
/// Remote-write 2.0's message, which kmon does not speak yet.
pub const REMOTE_WRITE_PROTO_V2: &str = "io.prometheus.write.v2.Request";

/// Headers a config may not set (lower case), as Prometheus's `reservedHeaders`.
const RESERVED_HEADERS: [&str; 16] = [
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// One `remote_write` entry, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteWriteConfig {
    /// An http or https URL.
    pub url: String,
    /// The given name, or the first 6 hex digits of `hash` when none was given (as
    /// Prometheus names a queue).
    pub name: String,
    /// Whether `name` was written in the config.
    pub name_given: bool,
    /// md5 (hex) of the entry's settings: two entries with the same hash are refused, and
    /// a changed entry gets a new hash (its queue restarts on reload).
    pub hash: String,
    /// Default 30s.
    pub remote_timeout: Duration,
    /// Sent on every request, after the protocol's own headers.
    pub headers: BTreeMap<String, String>,
    pub basic_auth: Option<BasicAuth>,
    /// Also set by the older `bearer_token` / `bearer_token_file` keys.
    pub authorization: Option<Authorization>,
    pub tls_config: TlsConfig,
    /// Default true.
    pub follow_redirects: bool,
    /// Default false for remote write, as in Prometheus.
    pub enable_http2: bool,
    /// Applied to each series after the external labels are added.
    pub write_relabel_configs: Vec<RelabelConfig>,
    pub queue_config: QueueConfig,
    pub metadata_config: MetadataConfig,
}

/// `queue_config`, with Prometheus 3.5's `DefaultQueueConfig`.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueConfig {
    /// Samples each shard buffers before the reader waits. Default 10000.
    pub capacity: usize,
    /// Default 50.
    pub max_shards: usize,
    /// Default 1.
    pub min_shards: usize,
    /// Default 2000.
    pub max_samples_per_send: usize,
    /// How long a partial batch waits before it is sent. Default 5s.
    pub batch_send_deadline: Duration,
    /// Default 30ms.
    pub min_backoff: Duration,
    /// Default 5s.
    pub max_backoff: Duration,
    /// Retry on HTTP 429 (honouring Retry-After). Default false: a 429 drops the batch.
    pub retry_on_http_429: bool,
    /// Samples older than this are dropped instead of sent; zero (the default) keeps all.
    pub sample_age_limit: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 10_000,
            max_shards: 50,
            min_shards: 1,
            max_samples_per_send: 2000,
            batch_send_deadline: Duration::from_secs(5),
            min_backoff: Duration::from_millis(30),
            max_backoff: Duration::from_secs(5),
            retry_on_http_429: false,
            sample_age_limit: Duration::ZERO,
        }
    }
}

/// `metadata_config`: accepted and validated; kmon does not send metric metadata yet.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataConfig {
    /// Default true.
    pub send: bool,
    /// Default 1m.
    pub send_interval: Duration,
    /// Default 2000.
    pub max_samples_per_send: usize,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig {
            send: true,
            send_interval: Duration::from_secs(60),
            max_samples_per_send: 2000,
        }
    }
}

impl RemoteWriteConfig {
    /// An entry for `url` with every default (tests, and one-off tools).
    pub fn new(url: impl Into<String>) -> RemoteWriteConfig {
        let mut c = RemoteWriteConfig {
            url: url.into(),
            name: String::new(),
            name_given: false,
            hash: String::new(),
            remote_timeout: Duration::from_secs(30),
            headers: BTreeMap::new(),
            basic_auth: None,
            authorization: None,
            tls_config: TlsConfig::default(),
            follow_redirects: true,
            enable_http2: false,
            write_relabel_configs: Vec::new(),
            queue_config: QueueConfig::default(),
            metadata_config: MetadataConfig::default(),
        };
        c.hash = c.compute_hash();
        c.name = c.hash[..6].to_string();
        c
    }

    /// md5 over every setting (secrets included, so entries differing only by a password
    /// are different entries), as Prometheus hashes the marshalled config.
    fn compute_hash(&self) -> String {
        let mut h = Md5::new();
        let given = if self.name_given {
            self.name.as_str()
        } else {
            ""
        };
        h.update(format!(
            "url={}\nname={given}\ntimeout={:?}\nheaders={:?}\nredirects={}\nhttp2={}\nrelabel={:?}\nqueue={:?}\nmeta={:?}\n",
            self.url,
            self.remote_timeout,
            self.headers,
            self.follow_redirects,
            self.enable_http2,
            self.write_relabel_configs,
            self.queue_config,
            self.metadata_config,
        ));
        let secret = |s: &Option<SecretSource>| match s {
            None => String::new(),
            Some(SecretSource::Inline(s)) => format!("inline:{}", s.expose()),
            Some(SecretSource::File(p)) => format!("file:{}", p.display()),
        };
        if let Some(b) = &self.basic_auth {
            h.update(format!(
                "basic={}|{:?}|{}\n",
                b.username,
                b.username_file,
                secret(&b.password)
            ));
        }
        if let Some(a) = &self.authorization {
            h.update(format!("auth={}|{}\n", a.auth_type, secret(&a.credentials)));
        }
        let t = &self.tls_config;
        let pem = |p: &Option<PemSource>| format!("{p:?}");
        h.update(format!(
            "tls={}|{}|{}|{:?}|{}|{:?}|{:?}\n",
            pem(&t.ca),
            pem(&t.cert),
            secret(&t.key),
            t.server_name,
            t.insecure_skip_verify,
            t.min_version,
            t.max_version
        ));
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    }
}

/// Validates the `remote_write` list.
pub(super) fn validate(
    raw: Option<Vec<Option<RawRemoteWriteConfig>>>,
    ctx: &Ctx<'_>,
) -> Result<Vec<RemoteWriteConfig>> {
    let list = vec![Step::from("remote_write")];
    let mut out: Vec<RemoteWriteConfig> = Vec::new();
    let mut names = HashSet::new();
    let mut hashes = HashSet::new();
    for (i, item) in raw.unwrap_or_default().into_iter().enumerate() {
        let base = child(&list, i);
        let Some(rw) = item else {
            return Err(at(base, K::NullSection("remote write config section")));
        };
        let c = entry(rw, &base, ctx)?;
        if c.name_given && !names.insert(c.name.clone()) {
            return Err(at(
                child(&base, "name"),
                K::RemoteWrite(format!(
                    "found multiple remote write configs with job name {:?}",
                    c.name
                )),
            ));
        }
        if !hashes.insert(c.hash.clone()) {
            return Err(at(
                base,
                K::RemoteWrite(format!(
                    "duplicate remote write configs are not allowed, found duplicate for URL: {}",
                    c.url
                )),
            ));
        }
        out.push(c);
    }
    // An unnamed entry's hash prefix must not collide with a given name either.
    let given: HashSet<&str> = out
        .iter()
        .filter(|c| c.name_given)
        .map(|c| c.name.as_str())
        .collect();
    if let Some(i) = out
        .iter()
        .position(|c| !c.name_given && given.contains(c.name.as_str()))
    {
        return Err(at(
            child(&list, i),
            K::RemoteWrite(format!(
                "remote write config's generated name {:?} is also given to another entry; name it",
                out[i].name
            )),
        ));
    }
    Ok(out)
}

fn entry(rw: RawRemoteWriteConfig, base: &[Step], ctx: &Ctx<'_>) -> Result<RemoteWriteConfig> {
    let p = |k: &str| child(base, k);
    let url = match rw.url.as_deref().map(str::trim) {
        None | Some("") => {
            return Err(at(
                base.to_vec(),
                K::RemoteWrite("url for remote_write is empty".into()),
            ));
        }
        Some(u) => u.to_string(),
    };
    match reqwest::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
        Ok(u) => {
            return Err(at(
                p("url"),
                K::RemoteWrite(format!(
                    "unsupported URL {url:?}: scheme {:?} (want http or https with a host)",
                    u.scheme()
                )),
            ));
        }
        Err(e) => {
            return Err(at(p("url"), K::RemoteWrite(format!("parse {url:?}: {e}"))));
        }
    }
    let headers = rw.headers.clone().unwrap_or_default();
    for name in headers.keys() {
        let lower = name.to_ascii_lowercase();
        let msg = if lower == "authorization" {
            "authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter".to_string()
        } else if RESERVED_HEADERS.contains(&lower.as_str()) {
            format!("{name} is a reserved header. It must not be changed")
        } else if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            format!("{name:?} is not a valid HTTP header name")
        } else {
            continue;
        };
        return Err(at(under(&p("headers"), name), K::RemoteWrite(msg)));
    }
    for (name, value) in &headers {
        if reqwest::header::HeaderValue::from_str(value).is_err() {
            return Err(at(
                under(&p("headers"), name),
                K::RemoteWrite(format!(
                    "the value of header {name} is not a valid HTTP header value"
                )),
            ));
        }
    }
    match rw.protobuf_message.as_deref() {
        None | Some("") | Some(REMOTE_WRITE_PROTO_V1) => {}
        Some(REMOTE_WRITE_PROTO_V2) => {
            return Err(at(
                p("protobuf_message"),
                K::RemoteWrite(format!(
                    "protobuf_message {REMOTE_WRITE_PROTO_V2} (remote-write 2.0) is not supported by kmon yet; use {REMOTE_WRITE_PROTO_V1}"
                )),
            ));
        }
        Some(other) => {
            return Err(at(
                p("protobuf_message"),
                K::RemoteWrite(format!(
                    "invalid protobuf_message value: unknown remote write protobuf message {other}, supported: {REMOTE_WRITE_PROTO_V1}, {REMOTE_WRITE_PROTO_V2}"
                )),
            ));
        }
    }
    let (basic_auth, authorization, tls_config) =
        super::http_client::validate(rw.http(), base, ctx)?;
    let write_relabel_configs =
        relabel_list(rw.write_relabel_configs, &p("write_relabel_configs"))?;
    let remote_timeout = duration(rw.remote_timeout.as_deref(), || p("remote_timeout"))?
        .unwrap_or(Duration::from_secs(30));
    let queue_config = queue(rw.queue_config, &p("queue_config"))?;
    let metadata_config = metadata(rw.metadata_config, &p("metadata_config"))?;
    let name = rw.name.unwrap_or_default();
    let name_given = !name.is_empty();
    let mut c = RemoteWriteConfig {
        url,
        name,
        name_given,
        hash: String::new(),
        remote_timeout,
        headers,
        basic_auth,
        authorization,
        tls_config,
        follow_redirects: rw.follow_redirects.unwrap_or(true),
        enable_http2: rw.enable_http2.unwrap_or(false),
        write_relabel_configs,
        queue_config,
        metadata_config,
    };
    c.hash = c.compute_hash();
    if !c.name_given {
        c.name = c.hash[..6].to_string();
    }
    Ok(c)
}

fn under(base: &[Step], key: &str) -> Vec<Step> {
    child(base, Step::Key(key.to_string()))
}

fn queue(raw: Option<RawQueueConfig>, base: &[Step]) -> Result<QueueConfig> {
    let d = QueueConfig::default();
    let Some(q) = raw else {
        return Ok(d);
    };
    let p = |k: &str| child(base, k);
    let positive = |v: Option<u64>, key: &str, default: usize| -> Result<usize> {
        match v {
            None => Ok(default),
            Some(0) => Err(at(
                p(key),
                K::RemoteWrite(format!("{key} must be at least 1")),
            )),
            Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        }
    };
    let capacity = positive(q.capacity, "capacity", d.capacity)?;
    let max_shards = positive(q.max_shards, "max_shards", d.max_shards)?;
    let min_shards = positive(q.min_shards, "min_shards", d.min_shards)?;
    let max_samples_per_send = positive(
        q.max_samples_per_send,
        "max_samples_per_send",
        d.max_samples_per_send,
    )?;
    if min_shards > max_shards {
        return Err(at(
            p("min_shards"),
            K::RemoteWrite(format!(
                "min_shards ({min_shards}) is greater than max_shards ({max_shards})"
            )),
        ));
    }
    let batch_send_deadline = duration(q.batch_send_deadline.as_deref(), || {
        p("batch_send_deadline")
    })?
    .unwrap_or(d.batch_send_deadline);
    let min_backoff =
        duration(q.min_backoff.as_deref(), || p("min_backoff"))?.unwrap_or(d.min_backoff);
    let max_backoff =
        duration(q.max_backoff.as_deref(), || p("max_backoff"))?.unwrap_or(d.max_backoff);
    if min_backoff > max_backoff {
        return Err(at(
            p("min_backoff"),
            K::RemoteWrite("min_backoff is greater than max_backoff".into()),
        ));
    }
    let sample_age_limit =
        duration(q.sample_age_limit.as_deref(), || p("sample_age_limit"))?.unwrap_or_default();
    Ok(QueueConfig {
        capacity,
        max_shards,
        min_shards,
        max_samples_per_send,
        batch_send_deadline,
        min_backoff,
        max_backoff,
        retry_on_http_429: q.retry_on_http_429.unwrap_or(false),
        sample_age_limit,
    })
}

fn metadata(raw: Option<RawMetadataConfig>, base: &[Step]) -> Result<MetadataConfig> {
    let d = MetadataConfig::default();
    let Some(m) = raw else {
        return Ok(d);
    };
    let send_interval = duration(m.send_interval.as_deref(), || child(base, "send_interval"))?
        .unwrap_or(d.send_interval);
    Ok(MetadataConfig {
        send: m.send.unwrap_or(d.send),
        send_interval,
        max_samples_per_send: m
            .max_samples_per_send
            .filter(|n| *n > 0)
            .map_or(d.max_samples_per_send, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            }),
    })
}

#[cfg(test)]
#[path = "remote_write_tests.rs"]
mod tests;
