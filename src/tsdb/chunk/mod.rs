//! Compressed sample chunks: the XOR encoding (Prometheus's chunk format, bit for bit), its
//! bit stream, the optimal-window re-encoder for finished chunks, and `Chunk`, an immutable
//! closed chunk with its time range that series keep and queriers share by `Arc`.

mod bstream;
mod compact;
mod xor;

use std::sync::Arc;

pub use compact::compact;
pub use xor::{HEADER_LEN, XorEncoder, XorIter, num_samples};

/// How many samples a chunk holds before the head cuts a new one (as Prometheus).
pub const SAMPLES_PER_CHUNK: usize = 120;

/// An immutable chunk and the time range it covers. Cloning shares the bytes.
#[derive(Debug, Clone)]
pub struct Chunk {
    data: Arc<[u8]>,
    min_t: i64,
    max_t: i64,
}

impl Chunk {
    /// Freezes what `enc` holds; with `compact` the values are re-encoded with optimal
    /// windows (same format, fewer bytes).
    pub fn seal(enc: &XorEncoder, compact: bool) -> Chunk {
        let data: Arc<[u8]> = if compact {
            self::compact(enc.bytes()).into()
        } else {
            enc.bytes().into()
        };
        Chunk {
            data,
            min_t: enc.min_time(),
            max_t: enc.max_time(),
        }
    }

    /// A chunk read back from storage: `data` is a whole encoded XOR chunk (header and
    /// stream) whose samples lie in `[min_t, max_t]`, as a block's index records them.
    pub fn from_parts(data: Arc<[u8]>, min_t: i64, max_t: i64) -> Chunk {
        Chunk { data, min_t, max_t }
    }

    pub fn min_time(&self) -> i64 {
        self.min_t
    }

    pub fn max_time(&self) -> i64 {
        self.max_t
    }

    pub fn num_samples(&self) -> usize {
        num_samples(&self.data)
    }

    /// The encoded chunk (header and stream), as a block file would store it.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Whether the chunk's time range meets `[lo, hi]`.
    pub fn overlaps(&self, lo: i64, hi: i64) -> bool {
        self.min_t <= hi && self.max_t >= lo
    }

    /// An owning iterator over the samples (shares the bytes).
    pub fn iter(&self) -> XorIter<Arc<[u8]>> {
        XorIter::new(self.data.clone())
    }
}
