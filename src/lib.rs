//! kmon: a terminal monitoring tool that is its own Prometheus.

pub mod exposition;
