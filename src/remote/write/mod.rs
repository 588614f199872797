//! remote_write: samples followed from the write-ahead log (`storage::WalFollower`) and sent
//! to a Prometheus-compatible receiver with the remote-write 1.0 protocol, one queue per
//! `remote_write` entry. `proto` is the wire format, `client` one HTTP send and what its
//! answer means, `position` the saved place in the log, `metrics` the queue's counters under
//! Prometheus's names, `shard` the batching and retrying senders, `queue` the manager that
//! ties them together. `app::remote_write` starts and reloads the queues.

pub mod client;
pub mod mem_wal;
pub mod metrics;
pub mod position;
pub mod proto;
mod queue;
mod shard;
mod tracker;

pub use client::{StoreError, WriteClient};
pub use mem_wal::MemWal;
pub use metrics::{QueueMetrics, write_metrics};
pub use position::SavedPosition;
pub use queue::{QueueError, QueueManager, QueueOptions, shard_count};

#[cfg(test)]
mod tests;
