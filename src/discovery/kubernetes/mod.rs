//! Kubernetes support for discovery: the pure translation of watched cluster objects into
//! kube-state-metrics-compatible series (`state`), used by `app` on each tick.

pub mod state;
