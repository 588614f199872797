//! The query sources the TUI can show: "embedded" (kmon's own engine), the `--source`
//! and `kmon.yaml` sources, and sources detected in the cluster (added by the
//! Kubernetes detection through `SourceRegistry::set_detected`, each with a ready-built
//! `Transport`). `SourceRegistry` knows which one is active (`:source NAME` switches
//! it), hands the query backend each source's API client, and describes them all with
//! their state for the `:source` picker (`SourcesView` in every snapshot).

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use serde::Serialize;
use tokio::sync::watch;

use super::source_settings::SourceSetting;
use crate::config::{BasicAuth, ClientAuth, PemSource, Secret, SecretSource, TlsConfig};
use crate::remote::Transport;
use crate::remote::source::{Client, DEFAULT_TIMEOUT, HttpTransport, SourceState};

/// The name of kmon's own engine in the picker, in dashboards and in `:source`.
pub const EMBEDDED: &str = "embedded";

/// How a source is doing, as the picker shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceStatus {
    Ok,
    /// Reachable, but some features are missing (the text names them).
    Unavailable(String),
    /// Unreachable (the text says why and when it is tried again).
    Error(String),
}

impl SourceStatus {
    /// `ok`, `unavailable: …`, `error: …`.
    pub fn label(&self) -> String {
        match self {
            SourceStatus::Ok => "ok".into(),
            SourceStatus::Unavailable(what) => format!("unavailable: {what}"),
            SourceStatus::Error(why) => format!("error: {why}"),
        }
    }
}

/// Where a source came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceOrigin {
    Embedded,
    /// `--source URL` on the command line.
    Flag,
    /// `sources:` in kmon.yaml.
    Configured,
    /// Found in the cluster.
    Detected,
}

/// One line of the `:source` picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceOption {
    pub name: String,
    /// The URL (without credentials) or what it is, e.g. `k8s://monitoring/prometheus:9090`.
    pub description: String,
    pub origin: SourceOrigin,
    pub status: SourceStatus,
}

/// The picker's content: every source and the active one's name; and while a remote
/// source is active, what its panes should say instead of their rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourcesView {
    pub active: String,
    pub options: Vec<SourceOption>,
    /// Why the targets pane has no rows from the active source: "targets unavailable on
    /// …", a connection error with "retrying in Ns", or "waiting for …".
    pub targets_note: Option<String>,
    /// The same for the alerts pane and the rules view.
    pub rules_note: Option<String>,
    /// "waiting for NAME" while the active source's answers are late.
    pub waiting: Option<String>,
}

impl SourcesView {
    /// Whether the active source is a remote one.
    pub fn remote_active(&self) -> bool {
        !self.active.is_empty() && self.active != EMBEDDED
    }
}

/// A source found in the cluster, with the transport that reaches it.
pub struct DetectedSource {
    pub name: String,
    pub description: String,
    pub transport: Arc<dyn Transport>,
}

struct Entry {
    name: String,
    description: String,
    origin: SourceOrigin,
    client: Arc<Client>,
}

#[derive(Default)]
struct Inner {
    /// `--source` and kmon.yaml sources, in that order.
    fixed: Vec<Entry>,
    detected: Vec<Entry>,
    /// `EMBEDDED` or a source's name.
    active: String,
}

impl Inner {
    fn all(&self) -> impl Iterator<Item = &Entry> {
        self.fixed.iter().chain(self.detected.iter())
    }
}

/// The sources and the active one; cheap to clone, shared by the app's action loop, the
/// publisher and the cluster detection.
#[derive(Clone)]
pub struct SourceRegistry {
    inner: Arc<RwLock<Inner>>,
    /// Bumped on every change (a switch, new detected sources), so the publisher
    /// publishes at once.
    changed: watch::Sender<u64>,
}

impl Default for SourceRegistry {
    fn default() -> Self {
        SourceRegistry::new()
    }
}

impl std::fmt::Debug for SourceRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceRegistry")
            .field("active", &self.active_name())
            .finish_non_exhaustive()
    }
}

impl SourceRegistry {
    /// Only the embedded engine, active.
    pub fn new() -> SourceRegistry {
        SourceRegistry {
            inner: Arc::new(RwLock::new(Inner {
                active: EMBEDDED.into(),
                ..Inner::default()
            })),
            changed: watch::channel(0).0,
        }
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v += 1);
    }

    /// A receiver that sees every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Adds (or replaces, by name) a `--source` or kmon.yaml source.
    pub fn add(
        &self,
        name: &str,
        description: &str,
        origin: SourceOrigin,
        transport: Arc<dyn Transport>,
    ) {
        let entry = Entry {
            name: name.to_string(),
            description: description.to_string(),
            origin,
            client: Arc::new(Client::new(transport, DEFAULT_TIMEOUT)),
        };
        let mut inner = self.inner.write();
        inner.fixed.retain(|e| e.name != name);
        inner.fixed.push(entry);
        drop(inner);
        self.bump();
    }

    /// Replaces the detected sources with `detected` (names already used by a
    /// `--source` or kmon.yaml source are left out). A detected source that is active
    /// and gone makes the embedded engine active again.
    pub fn set_detected(&self, detected: Vec<DetectedSource>) {
        let mut inner = self.inner.write();
        let mut kept: Vec<Entry> = Vec::new();
        for d in detected {
            if d.name == EMBEDDED
                || inner.fixed.iter().any(|e| e.name == d.name)
                || kept.iter().any(|e| e.name == d.name)
            {
                continue;
            }
            // Keep the client (and what it learnt) of a source seen before.
            let client = inner
                .detected
                .iter()
                .find(|e| e.name == d.name && e.description == d.description)
                .map(|e| e.client.clone())
                .unwrap_or_else(|| Arc::new(Client::new(d.transport, DEFAULT_TIMEOUT)));
            kept.push(Entry {
                name: d.name,
                description: d.description,
                origin: SourceOrigin::Detected,
                client,
            });
        }
        inner.detected = kept;
        if inner.active != EMBEDDED && !inner.all().any(|e| e.name == inner.active) {
            inner.active = EMBEDDED.into();
        }
        drop(inner);
        self.bump();
    }

    /// Makes `name` active (`embedded` is kmon's engine); an unknown name is an error
    /// that lists the known ones.
    pub fn set_active(&self, name: &str) -> Result<(), String> {
        let mut inner = self.inner.write();
        if name != EMBEDDED && !inner.all().any(|e| e.name == name) {
            let mut known = vec![EMBEDDED.to_string()];
            known.extend(inner.all().map(|e| e.name.clone()));
            return Err(format!("no source {name:?} (known: {})", known.join(", ")));
        }
        inner.active = name.to_string();
        drop(inner);
        self.bump();
        Ok(())
    }

    /// `embedded` or the active source's name.
    pub fn active_name(&self) -> String {
        self.inner.read().active.clone()
    }

    /// The API client of the source `name`; `None` for `embedded` and unknown names.
    pub fn client(&self, name: &str) -> Option<Arc<Client>> {
        self.inner
            .read()
            .all()
            .find(|e| e.name == name)
            .map(|e| e.client.clone())
    }

    /// The active source's name and client; `None` when the embedded engine is active.
    pub fn active_client(&self) -> Option<(String, Arc<Client>)> {
        let inner = self.inner.read();
        let active = inner.active.clone();
        inner
            .all()
            .find(|e| e.name == active)
            .map(|e| (active, e.client.clone()))
    }

    /// Every source's client, for the background prober.
    pub fn clients(&self) -> Vec<(String, Arc<Client>)> {
        self.inner
            .read()
            .all()
            .map(|e| (e.name.clone(), e.client.clone()))
            .collect()
    }

    /// The picker's view: embedded first, then the sources in order, with their state.
    pub fn view(&self) -> SourcesView {
        let inner = self.inner.read();
        let mut options = vec![SourceOption {
            name: EMBEDDED.into(),
            description: "kmon's own engine and storage".into(),
            origin: SourceOrigin::Embedded,
            status: SourceStatus::Ok,
        }];
        options.extend(inner.all().map(|e| SourceOption {
            name: e.name.clone(),
            description: e.description.clone(),
            origin: e.origin,
            status: status_of(&e.client),
        }));
        SourcesView {
            active: inner.active.clone(),
            options,
            ..SourcesView::default()
        }
    }
}

/// A client's state as the picker words it.
pub fn status_of(client: &Client) -> SourceStatus {
    match client.state() {
        SourceState::Ok => SourceStatus::Ok,
        SourceState::Limited(missing) => SourceStatus::Unavailable(
            missing
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        SourceState::Down {
            reason,
            retry_in_secs,
        } => SourceStatus::Error(format!("{reason}; retrying in {retry_in_secs}s")),
    }
}

/// The transport for a source URL: `http(s)://…` directly; `k8s://` through the
/// Kubernetes API server (not wired here: the cluster connection provides it).
pub fn transport_for_url(
    url: &str,
    auth: ClientAuth,
    tls: &TlsConfig,
) -> Result<Arc<dyn Transport>, String> {
    if url.starts_with("k8s://") {
        return Err(format!(
            "{url}: k8s:// sources need the cluster connection (not available here)"
        ));
    }
    HttpTransport::new(url, auth, tls)
        .map(|t| Arc::new(t) as Arc<dyn Transport>)
        .map_err(|e| e.to_string())
}

/// A kmon.yaml source's auth and TLS settings as the HTTP client takes them.
pub fn client_settings(s: &SourceSetting) -> (ClientAuth, TlsConfig) {
    let auth = if let Some(b) = &s.basic_auth {
        let password = match (&b.password, &b.password_file) {
            (Some(p), _) => Some(SecretSource::Inline(Secret::new(p.clone()))),
            (None, Some(f)) => Some(SecretSource::File(f.clone())),
            (None, None) => None,
        };
        ClientAuth::new(
            Some(&BasicAuth {
                username: b.username.clone(),
                username_file: None,
                password,
            }),
            None,
        )
    } else {
        let credentials = match (&s.bearer_token, &s.bearer_token_file) {
            (Some(t), _) => Some(SecretSource::Inline(Secret::new(t.clone()))),
            (None, Some(f)) => Some(SecretSource::File(f.clone())),
            (None, None) => None,
        };
        match credentials {
            Some(c) => ClientAuth::Header {
                kind: "Bearer".into(),
                credentials: Some(c),
            },
            None => ClientAuth::None,
        }
    };
    let tls = TlsConfig {
        ca: s.ca_file.clone().map(PemSource::File),
        cert: s.cert_file.clone().map(PemSource::File),
        key: s.key_file.clone().map(SecretSource::File),
        insecure_skip_verify: s.insecure_skip_verify,
        ..TlsConfig::default()
    };
    (auth, tls)
}

/// The name a `--source URL` gets: its host, port and path.
pub fn name_for_url(url: &str) -> String {
    let redacted = crate::remote::source::http::redact(url);
    let rest = redacted
        .split_once("://")
        .map_or(redacted.as_str(), |(_, r)| r);
    rest.trim_end_matches('/').to_string()
}

/// The registry of the settings' sources plus `--source` (a configured name, or a URL
/// that becomes a source of its own), with the start source active: `--source`, else the
/// settings' `source:`. Problems (a bad URL, an unknown name) come back as messages for
/// the status line; `Err` only when `--source` itself cannot be used.
pub fn registry_for(
    flag: Option<&str>,
    settings: &[SourceSetting],
    default: Option<&str>,
    file: &str,
) -> Result<(SourceRegistry, Vec<String>), String> {
    let reg = SourceRegistry::new();
    let mut warnings = Vec::new();
    for s in settings {
        let (auth, tls) = client_settings(s);
        match transport_for_url(&s.url, auth, &tls) {
            Ok(t) => {
                let description = t.describe();
                reg.add(&s.name, &description, SourceOrigin::Configured, t);
            }
            Err(e) => warnings.push(format!("{file}:{}: sources: {}: {e}", s.line, s.name)),
        }
    }
    let start = match flag {
        Some(f) if f == EMBEDDED || reg.client(f).is_some() => f.to_string(),
        Some(url) if url.contains("://") => {
            let t = transport_for_url(url, ClientAuth::None, &TlsConfig::default())
                .map_err(|e| format!("--source {e}"))?;
            let name = name_for_url(url);
            let description = t.describe();
            reg.add(&name, &description, SourceOrigin::Flag, t);
            name
        }
        Some(other) => {
            return Err(format!(
                "--source {other:?}: neither a URL nor a source in {file}"
            ));
        }
        None => match default {
            Some(d) if d == EMBEDDED || reg.client(d).is_some() => d.to_string(),
            Some(d) => {
                warnings.push(format!("{file}: source: no source named {d:?}"));
                EMBEDDED.to_string()
            }
            None => EMBEDDED.to_string(),
        },
    };
    reg.set_active(&start)?;
    Ok((reg, warnings))
}

/// Asks every source that is not active for its build info every `every`, so the picker
/// shows whether it can be reached (the active one is asked on every refresh anyway).
pub async fn probe_sources(
    reg: SourceRegistry,
    every: Duration,
    cancel: tokio_util::sync::CancellationToken,
) {
    loop {
        let active = reg.active_name();
        for (name, client) in reg.clients() {
            if name != active {
                let _ = client.build_info().await;
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

#[cfg(test)]
#[path = "sources_tests.rs"]
mod tests;
