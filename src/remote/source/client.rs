//! `Client`: the Prometheus HTTP API of one remote source over a `Transport`: instant and
//! range queries (form POSTs as Grafana sends them, GET after a 405), series, label names
//! and values, targets, rules, alerts, metadata and build info, each answer read by
//! `answer` into kmon's types. It remembers what the source lacks and backs off after
//! connection failures (`caps::Health`), so callers that ask on every refresh never
//! hammer a dead or limited server. `app`'s query backend and `kmon query` use it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value as Json;

use super::answer::{
    self, Answer, AnswerError, BuildInfo, MetricMetadata, QueryData, RemoteAlert, RemoteGroup,
    Targets,
};
use super::caps::{Feature, Health, means_unavailable};
use crate::model::Labels;
use crate::remote::transport::{ApiRequest, Method, Reply, Transport, TransportError};

/// The default time a request may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request to a source gave no usable answer. Messages name the source as its
/// transport describes it and never carry credentials.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// The server's own error (`errorType` and `error`), e.g. a bad query.
    #[error("{error_type}: {message}")]
    Api {
        status: u16,
        error_type: String,
        message: String,
    },
    /// The source lacks this feature (404, 405, 501 or an unreadable answer); asked
    /// again only every `caps::RECHECK`.
    #[error("{feature} unavailable on {target}")]
    Unavailable { feature: Feature, target: String },
    /// The source could not be reached; no request is sent until the backoff ends.
    #[error("{reason}; retrying in {}s", retry_in.as_secs().max(1))]
    Retrying { reason: String, retry_in: Duration },
    /// No answer in time, or another transport failure.
    #[error("{0}")]
    Transport(TransportError),
    /// An answer that is not Prometheus's JSON.
    #[error("{target}: {what}")]
    Malformed { target: String, what: String },
}

/// How a source is doing, for the source picker and the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceState {
    /// Reachable (or not asked yet).
    Ok,
    /// Reachable, without these features.
    Limited(Vec<Feature>),
    /// Unreachable: why, and the seconds until the next attempt.
    Down { reason: String, retry_in_secs: u64 },
}

/// `start`, `end` and `match[]` of the series and label endpoints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetaQuery {
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Series selectors, e.g. `up{job="node"}`.
    pub matchers: Vec<String>,
}

impl MetaQuery {
    fn params(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        if let Some(s) = self.start_ms {
            p.push(("start".into(), secs(s)));
        }
        if let Some(e) = self.end_ms {
            p.push(("end".into(), secs(e)));
        }
        p.extend(self.matchers.iter().map(|m| ("match[]".into(), m.clone())));
        p
    }
}

/// Milliseconds as the API's float seconds: `1700000000.250`.
pub fn secs(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let a = ms.unsigned_abs();
    format!("{sign}{}.{:03}", a / 1000, a % 1000)
}

/// The API client of one source.
pub struct Client {
    transport: Arc<dyn Transport>,
    timeout: Duration,
    health: Mutex<Health>,
    /// The source answered a POST query with 405: use GET from now on.
    get_only: AtomicBool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("source", &self.transport.describe())
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(transport: Arc<dyn Transport>, timeout: Duration) -> Client {
        Client {
            transport,
            timeout,
            health: Mutex::default(),
            get_only: AtomicBool::new(false),
        }
    }

    /// The source as messages name it.
    pub fn describe(&self) -> String {
        self.transport.describe()
    }

    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    /// Whether `feature` is marked unavailable now.
    pub fn is_unavailable(&self, feature: Feature) -> bool {
        self.health.lock().is_unavailable(feature, Instant::now())
    }

    /// Reachable, limited or down.
    pub fn state(&self) -> SourceState {
        let now = Instant::now();
        let h = self.health.lock();
        if h.is_down() {
            let (left, reason) = h
                .backing_off(now)
                .unwrap_or((Duration::ZERO, "unreachable"));
            return SourceState::Down {
                reason: reason.to_string(),
                retry_in_secs: left.as_secs_f64().ceil() as u64,
            };
        }
        let missing = h.unavailable(now);
        if missing.is_empty() {
            SourceState::Ok
        } else {
            SourceState::Limited(missing)
        }
    }

    /// Sends one request, minding the backoff; any HTTP status is an answer.
    async fn send(&self, req: ApiRequest) -> Result<Reply, SourceError> {
        if let Some((left, reason)) = self.health.lock().backing_off(Instant::now()) {
            return Err(SourceError::Retrying {
                reason: reason.to_string(),
                retry_in: left,
            });
        }
        match self.transport.send(req, self.timeout).await {
            Ok(reply) => {
                self.health.lock().reached();
                Ok(reply)
            }
            Err(e @ TransportError::Timeout { .. }) => Err(SourceError::Transport(e)),
            Err(e) => {
                let reason = e.to_string();
                let retry_in = self.health.lock().failed(reason.clone(), Instant::now());
                Err(SourceError::Retrying { reason, retry_in })
            }
        }
    }

    /// A query endpoint's raw answer (any status): a form POST, or a GET when the source
    /// refuses POST (405, remembered).
    pub async fn query_raw(
        &self,
        path: &str,
        params: Vec<(String, String)>,
    ) -> Result<Reply, SourceError> {
        let get = |params| ApiRequest {
            method: Method::Get,
            path: path.to_string(),
            params,
        };
        if self.get_only.load(Ordering::Relaxed) {
            return self.send(get(params)).await;
        }
        let reply = self
            .send(ApiRequest {
                method: Method::Post,
                path: path.to_string(),
                params: params.clone(),
            })
            .await?;
        if reply.status == 405 {
            self.get_only.store(true, Ordering::Relaxed);
            return self.send(get(params)).await;
        }
        Ok(reply)
    }

    fn unavailable(&self, feature: Feature) -> SourceError {
        SourceError::Unavailable {
            feature,
            target: self.describe(),
        }
    }

    /// Reads `reply` as `feature`'s answer with `read`. A missing endpoint or an
    /// unreadable answer marks the feature unavailable (queries excepted: their
    /// unreadable answers are errors, a wrong base URL should not hide for minutes).
    fn read<T>(
        &self,
        feature: Feature,
        reply: Reply,
        read: impl FnOnce(&Json) -> Result<T, AnswerError>,
    ) -> Result<Answer<T>, SourceError> {
        let optional = feature != Feature::Query;
        if optional && means_unavailable(reply.status) {
            self.health.lock().mark_unavailable(feature, Instant::now());
            return Err(self.unavailable(feature));
        }
        let fail = |e: AnswerError| match e {
            AnswerError::Api {
                error_type,
                message,
            } => SourceError::Api {
                status: reply.status,
                error_type,
                message,
            },
            AnswerError::Malformed(what) if optional => {
                tracing::warn!("{}: {what}: {feature} marked unavailable", self.describe());
                self.health.lock().mark_unavailable(feature, Instant::now());
                self.unavailable(feature)
            }
            AnswerError::Malformed(what) => SourceError::Malformed {
                target: self.describe(),
                what,
            },
        };
        let env = answer::envelope(reply.status, &reply.body).map_err(fail)?;
        let data = read(&env.data).map_err(fail)?;
        self.health.lock().mark_available(feature);
        Ok(Answer {
            data,
            warnings: env.warnings,
            infos: env.infos,
        })
    }

    /// GETs `path` as `feature` and reads it.
    async fn get<T>(
        &self,
        feature: Feature,
        path: String,
        params: Vec<(String, String)>,
        read: impl FnOnce(&Json) -> Result<T, AnswerError>,
    ) -> Result<Answer<T>, SourceError> {
        if self.health.lock().is_unavailable(feature, Instant::now()) {
            return Err(self.unavailable(feature));
        }
        let reply = self
            .send(ApiRequest {
                method: Method::Get,
                path,
                params,
            })
            .await?;
        self.read(feature, reply, read)
    }

    /// `/api/v1/query` at `time_ms` (the server's now when `None`).
    pub async fn instant_query(
        &self,
        expr: &str,
        time_ms: Option<i64>,
    ) -> Result<Answer<QueryData>, SourceError> {
        let mut params = vec![("query".to_string(), expr.to_string())];
        if let Some(t) = time_ms {
            params.push(("time".into(), secs(t)));
        }
        let reply = self.query_raw("/api/v1/query", params).await?;
        self.read(Feature::Query, reply, answer::query_data)
    }

    /// `/api/v1/query_range` from `start_ms` to `end_ms` every `step_ms`.
    pub async fn range_query(
        &self,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Answer<QueryData>, SourceError> {
        let params = vec![
            ("query".to_string(), expr.to_string()),
            ("start".into(), secs(start_ms)),
            ("end".into(), secs(end_ms)),
            ("step".into(), secs(step_ms.max(1))),
        ];
        let reply = self.query_raw("/api/v1/query_range", params).await?;
        self.read(Feature::Query, reply, answer::query_data)
    }

    /// `/api/v1/series`.
    pub async fn series(&self, q: &MetaQuery) -> Result<Answer<Vec<Labels>>, SourceError> {
        self.get(
            Feature::Series,
            "/api/v1/series".into(),
            q.params(),
            answer::series_list,
        )
        .await
    }

    /// `/api/v1/labels`.
    pub async fn label_names(&self, q: &MetaQuery) -> Result<Answer<Vec<String>>, SourceError> {
        self.get(
            Feature::Labels,
            "/api/v1/labels".into(),
            q.params(),
            answer::string_list,
        )
        .await
    }

    /// `/api/v1/label/NAME/values` (`__name__` gives the metric names).
    pub async fn label_values(
        &self,
        name: &str,
        q: &MetaQuery,
    ) -> Result<Answer<Vec<String>>, SourceError> {
        let path = format!(
            "/api/v1/label/{}/values",
            form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
        );
        self.get(Feature::Labels, path, q.params(), answer::string_list)
            .await
    }

    /// `/api/v1/targets` (active and dropped).
    pub async fn targets(&self) -> Result<Answer<Targets>, SourceError> {
        self.get(
            Feature::Targets,
            "/api/v1/targets".into(),
            Vec::new(),
            answer::targets,
        )
        .await
    }

    /// `/api/v1/rules`, with each alerting rule's active alerts.
    pub async fn rules(&self) -> Result<Answer<Vec<RemoteGroup>>, SourceError> {
        self.get(
            Feature::Rules,
            "/api/v1/rules".into(),
            Vec::new(),
            answer::rule_groups,
        )
        .await
    }

    /// `/api/v1/alerts`.
    pub async fn alerts(&self) -> Result<Answer<Vec<RemoteAlert>>, SourceError> {
        self.get(
            Feature::Alerts,
            "/api/v1/alerts".into(),
            Vec::new(),
            answer::alerts,
        )
        .await
    }

    /// `/api/v1/metadata`.
    pub async fn metadata(&self) -> Result<Answer<BTreeMap<String, MetricMetadata>>, SourceError> {
        self.get(
            Feature::Metadata,
            "/api/v1/metadata".into(),
            Vec::new(),
            answer::metadata,
        )
        .await
    }

    /// `/api/v1/status/buildinfo`.
    pub async fn build_info(&self) -> Result<Answer<BuildInfo>, SourceError> {
        self.get(
            Feature::BuildInfo,
            "/api/v1/status/buildinfo".into(),
            Vec::new(),
            answer::build_info,
        )
        .await
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
