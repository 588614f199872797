//! kmon's links to Prometheus-compatible systems beyond its own engine: remote_write
//! (samples followed from the write-ahead log, sent to Prometheus, Thanos, Mimir or
//! VictoriaMetrics) and the client of a remote query source's HTTP API (`--source`).
//! `app` wires both; this module names only `model`, `storage` and `config`.

pub mod transport;
pub mod write;

pub use transport::{ApiRequest, Method, Reply, Transport, TransportError};
