//! remote_write: samples followed from the write-ahead log (`storage::WalFollower`) and sent
//! to a Prometheus-compatible receiver with the remote-write 1.0 protocol, one queue per
//! `remote_write` entry. `proto` is the wire format, `client` one HTTP send and what its
//! answer means, `position` the saved place in the log, `metrics` the queue's counters under
//! Prometheus's names, `shard` the batching and retrying senders, `queue` the manager that
//! ties them together. `app::remote_write` starts and reloads the queues.

pub mod proto;
