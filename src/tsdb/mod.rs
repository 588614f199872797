//! The TSDB: compressed in-memory storage of series that implements the storage seams.
//! It uses `model` and `storage` only.
//!
//! Map:
//! - `chunk`: Prometheus's XOR chunk format (bit-exact), its iterator, and the re-encoder
//!   that picks optimal XOR windows when a chunk closes.
//! - `postings`: label pair → sorted refs, and matcher sets as list operations.

pub mod chunk;
pub mod postings;
