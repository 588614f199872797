//! The client of a remote query source: a Prometheus-compatible HTTP API (Prometheus,
//! Thanos Query, Mimir, VictoriaMetrics) reached over a `Transport` (`http::HttpTransport`
//! for `--source URL`; `app`'s Kubernetes service proxy for `k8s://`). `client::Client`
//! sends the API requests, `answer` reads the JSON answers into kmon's types, and `caps`
//! remembers missing features and backs off from unreachable sources. `app`'s query
//! backend and `kmon query --source` use it.

pub mod answer;
pub mod caps;
pub mod client;
pub mod http;

pub use answer::{
    Answer, AnswerError, BuildInfo, InstantSample, MetricMetadata, QueryData, RangeSeries,
    RemoteAlert, RemoteGroup, RemoteRule, RemoteTarget, Targets,
};
pub use caps::Feature;
pub use client::{Client, DEFAULT_TIMEOUT, MetaQuery, SourceError, SourceState};
pub use http::{HttpTransport, SetupError};
