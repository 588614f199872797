//! The TSDB: the in-memory head of compressed series, and around it the persistent data
//! dir in Prometheus's formats (WAL, blocks, compaction, lock) tied together by `db::Db`.
//! Both implement the storage seams (`storage::Appendable`, `storage::Queryable`): scrape
//! loops and rules append through them; PromQL, the API and the UI query them. It uses
//! `model` and `storage` only.
//!
//! Map:
//! - `chunk`: Prometheus's XOR chunk format (bit-exact), its iterator, and the re-encoder
//!   that picks optimal XOR windows when a chunk closes.
//! - `series`: one series (labels, ref, closed chunks, open chunk, last sample).
//! - `stripes`: the series table, by ref and by label hash, in lock stripes.
//! - `postings`: label pair → sorted refs, and matcher sets as list operations.
//! - `appender`: buffers a batch until commit; drop rolls back.
//! - `commit`: the batch records and the `CommitLog` seam.
//! - `head`: `Head` itself (commit, stats, gc, WAL replay); `querier`: select and label
//!   queries.
//! - `wal`: the write-ahead log in Prometheus's WAL format (`Wal` implements `CommitLog`),
//!   replay into a head and repair of damaged segments.
//! - `block`: blocks in Prometheus's on-disk format (meta.json, index v2, chunk segments,
//!   tombstones): `write_block` and the memory-mapped `Block`/`BlockQuerier`.
//! - `compact`: merging blocks into a new block, the leveled compaction planner and
//!   time/size retention (pure functions the data dir's loop calls).
//! - `db`: `Db`, the persistent TSDB of a data dir (blocks + WAL + head, the merged
//!   querier across them, cutting blocks, retention, read-only opening).
//! - `lock`: the data dir's exclusive lock (`flock` on `lock`, naming the holder).
//! - `metrics`: the head's, WAL's and data dir's counters and their `kmon_tsdb_*` text.
//!
//! **Write path and the WAL seam.** `append` resolves the series (ref hint, else label
//! hash), checks the sample against the series' last committed sample and the batch's own
//! earlier samples, and buffers it; a series not in the head yet gets a fresh ref and is
//! buffered as a `SeriesRecord`. `commit` calls `Head::commit` with exactly the batch a
//! write-ahead log records — the new `SeriesRecord`s and the `SampleRecord`s, in order —
//! and that function first hands the batch to `HeadOptions::commit_log` (a WAL will
//! implement `CommitLog`), then applies it: create the series (mapping a ref to an existing
//! series when another batch created the same labels first, as replay must too), then
//! append each sample under that series' lock. Nothing is visible before the apply; a
//! dropped appender creates nothing.
//!
//! **Concurrency.** The series table is striped (ref → series and hash → series, one
//! `RwLock` per stripe), each series has its own mutex, and the postings index has one
//! `RwLock` written only when series are created or removed. Appenders from many scrape
//! loops therefore only meet on the same stripe's read lock or the same series.

mod appender;
pub mod block;
pub mod chunk;
mod commit;
pub mod compact;
pub mod db;
mod head;
pub mod lock;
pub mod metrics;
pub mod postings;
mod querier;
mod series;
mod stripes;
pub mod wal;

pub use commit::{CommitBatch, CommitLog, SampleRecord, SeriesRecord};
pub use head::{GcStats, Head, HeadOptions, HeadStats};

#[cfg(test)]
mod tests;
