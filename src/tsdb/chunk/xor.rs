//! The XOR chunk encoding, byte for byte Prometheus's (`chunkenc` encoding 1): a 2-byte
//! big-endian sample count, then a bit stream. The first sample is a varint timestamp and
//! the raw 64 bits of its value; the second a uvarint time delta and an XOR-coded value;
//! every later one a delta-of-delta timestamp in variable-width buckets and an XOR-coded
//! value that reuses the previous leading/trailing-zero window when it fits. `XorEncoder`
//! builds the open chunk of a series; `XorIter` decodes any chunk for the querier.

use super::bstream::{BitReader, BitWriter};
use crate::model::Sample;
use crate::storage::SampleIterator;

/// Bytes before the bit stream: the big-endian sample count.
pub const HEADER_LEN: usize = 2;

/// "No window yet": the first XOR-coded value always opens a window.
const NO_WINDOW: u8 = 0xff;

/// Whether `x` fits the signed `nbits` bucket of the timestamp encoding. The range is
/// lopsided, -(2^(n-1) - 1) ..= 2^(n-1), exactly as the reference format defines it.
#[inline]
fn fits(x: i64, nbits: u32) -> bool {
    -((1i64 << (nbits - 1)) - 1) <= x && x <= 1i64 << (nbits - 1)
}

/// Writes a timestamp delta-of-delta: `0`, or `10`+14, `110`+17, `1110`+20, `1111`+64 bits.
#[inline]
pub(crate) fn write_dod(w: &mut BitWriter, dod: i64) {
    if dod == 0 {
        w.write_bit(false);
    } else if fits(dod, 14) {
        w.write_bits(0b10, 2);
        w.write_bits(dod as u64, 14);
    } else if fits(dod, 17) {
        w.write_bits(0b110, 3);
        w.write_bits(dod as u64, 17);
    } else if fits(dod, 20) {
        w.write_bits(0b1110, 4);
        w.write_bits(dod as u64, 20);
    } else {
        w.write_bits(0b1111, 4);
        w.write_bits(dod as u64, 64);
    }
}

/// The window (leading zeros, clamped to what 5 bits hold, and trailing zeros) of a
/// non-zero XOR delta.
#[inline]
pub(crate) fn window_of(delta: u64) -> (u8, u8) {
    (
        (delta.leading_zeros() as u8).min(31),
        delta.trailing_zeros() as u8,
    )
}

/// Writes a non-zero XOR delta inside a freshly opened window: `11`, 5 bits of leading
/// zeros, 6 bits of significant-bit count (64 written as 0), the significant bits.
#[inline]
pub(crate) fn write_new_window(w: &mut BitWriter, delta: u64, leading: u8, trailing: u8) {
    let sig = 64 - leading as u32 - trailing as u32;
    w.write_bits(0b11, 2);
    w.write_bits(leading as u64, 5);
    w.write_bits((sig & 63) as u64, 6);
    w.write_bits(delta >> trailing, sig);
}

/// Writes a non-zero XOR delta inside the current window: `10` and the window's bits.
#[inline]
pub(crate) fn write_in_window(w: &mut BitWriter, delta: u64, leading: u8, trailing: u8) {
    w.write_bits(0b10, 2);
    w.write_bits(delta >> trailing, 64 - leading as u32 - trailing as u32);
}

/// Builds one chunk sample by sample. Values use the reference encoder's greedy rule: keep
/// the current window whenever the new delta fits in it.
#[derive(Debug, Clone)]
pub struct XorEncoder {
    w: BitWriter,
    num: u16,
    min_t: i64,
    t: i64,
    t_delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl XorEncoder {
    pub fn new() -> Self {
        XorEncoder {
            w: BitWriter::with_header(HEADER_LEN),
            num: 0,
            min_t: 0,
            t: 0,
            t_delta: 0,
            v: 0,
            leading: NO_WINDOW,
            trailing: 0,
        }
    }

    /// Appends a sample. The caller keeps timestamps increasing (the head checks) and stops
    /// at `u16::MAX` samples (the head cuts at 120); see `is_full`.
    pub fn append(&mut self, t: i64, v: f64) {
        debug_assert!(
            !self.is_full(),
            "an XOR chunk holds at most u16::MAX samples"
        );
        let bits = v.to_bits();
        match self.num {
            0 => {
                self.w.write_varint(t);
                self.w.write_bits(bits, 64);
                self.min_t = t;
            }
            1 => {
                let d = t.wrapping_sub(self.t);
                self.w.write_uvarint(d as u64);
                self.t_delta = d;
                self.write_value(bits);
            }
            _ => {
                let d = t.wrapping_sub(self.t);
                write_dod(&mut self.w, d.wrapping_sub(self.t_delta));
                self.t_delta = d;
                self.write_value(bits);
            }
        }
        self.t = t;
        self.v = bits;
        self.num += 1;
        self.w.bytes_mut()[..HEADER_LEN].copy_from_slice(&self.num.to_be_bytes());
    }

    #[inline]
    fn write_value(&mut self, bits: u64) {
        let delta = bits ^ self.v;
        if delta == 0 {
            self.w.write_bit(false);
            return;
        }
        let (lead, trail) = window_of(delta);
        if self.leading != NO_WINDOW && lead >= self.leading && trail >= self.trailing {
            write_in_window(&mut self.w, delta, self.leading, self.trailing);
        } else {
            write_new_window(&mut self.w, delta, lead, trail);
            self.leading = lead;
            self.trailing = trail;
        }
    }

    pub fn num_samples(&self) -> usize {
        self.num as usize
    }

    pub fn is_empty(&self) -> bool {
        self.num == 0
    }

    /// Whether the 16-bit sample count is exhausted.
    pub fn is_full(&self) -> bool {
        self.num == u16::MAX
    }

    /// The chunk as it stands: header plus stream, valid to decode at any point.
    pub fn bytes(&self) -> &[u8] {
        self.w.bytes()
    }

    /// Bytes reserved by the buffer (for memory accounting).
    pub fn capacity(&self) -> usize {
        self.w.capacity()
    }

    /// Timestamp of the first sample (meaningless while empty).
    pub fn min_time(&self) -> i64 {
        self.min_t
    }

    /// Timestamp of the last sample (meaningless while empty).
    pub fn max_time(&self) -> i64 {
        self.t
    }

    /// Starts a new chunk, keeping the buffer's allocation for reuse.
    pub fn reset(&mut self) {
        self.w.reset(HEADER_LEN);
        self.num = 0;
        self.leading = NO_WINDOW;
        self.trailing = 0;
    }

    /// Starts a new chunk and frees the buffer (the head does this when it seals a chunk,
    /// so a series between chunks holds no spare buffer).
    pub fn reset_and_release(&mut self) {
        self.reset();
        self.w.release(HEADER_LEN);
    }
}

/// The sample count a chunk's header declares (0 for a truncated chunk).
pub fn num_samples(chunk: &[u8]) -> usize {
    match chunk {
        [a, b, ..] => u16::from_be_bytes([*a, *b]) as usize,
        _ => 0,
    }
}

/// Decodes a chunk. `B` is anything that derefs to the chunk's bytes: `&[u8]` to borrow,
/// `Arc<[u8]>` to own a shared immutable chunk. A corrupt stream ends the iteration early.
#[derive(Debug, Clone)]
pub struct XorIter<B> {
    r: BitReader<B>,
    num: usize,
    i: usize,
    t: i64,
    t_delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
}

impl<B: AsRef<[u8]>> XorIter<B> {
    pub fn new(chunk: B) -> Self {
        let num = num_samples(chunk.as_ref());
        XorIter {
            r: BitReader::new(chunk, HEADER_LEN),
            num,
            i: 0,
            t: 0,
            t_delta: 0,
            v: 0,
            leading: 0,
            trailing: 0,
        }
    }

    fn read_sample(&mut self) -> Option<Sample> {
        match self.i {
            0 => {
                self.t = self.r.read_varint()?;
                self.v = self.r.read_bits(64)?;
            }
            1 => {
                self.t_delta = self.r.read_uvarint()? as i64;
                self.t = self.t.wrapping_add(self.t_delta);
                self.read_value()?;
            }
            _ => {
                let mut prefix = 0;
                while prefix < 4 && self.r.read_bit()? {
                    prefix += 1;
                }
                let dod = match prefix {
                    0 => 0,
                    4 => self.r.read_bits(64)? as i64,
                    _ => {
                        let sz = [0, 14, 17, 20][prefix];
                        let bits = self.r.read_bits(sz)?;
                        if bits > 1 << (sz - 1) {
                            bits.wrapping_sub(1 << sz) as i64
                        } else {
                            bits as i64
                        }
                    }
                };
                self.t_delta = self.t_delta.wrapping_add(dod);
                self.t = self.t.wrapping_add(self.t_delta);
                self.read_value()?;
            }
        }
        Some(Sample::new(self.t, f64::from_bits(self.v)))
    }

    #[inline]
    fn read_value(&mut self) -> Option<()> {
        if !self.r.read_bit()? {
            return Some(());
        }
        if self.r.read_bit()? {
            let leading = self.r.read_bits(5)? as u32;
            let sig = match self.r.read_bits(6)? as u32 {
                0 => 64,
                n => n,
            };
            self.trailing = 64u32.checked_sub(leading + sig)? as u8;
            self.leading = leading as u8;
        }
        let sig = 64 - self.leading as u32 - self.trailing as u32;
        let bits = self.r.read_bits(sig)?;
        self.v ^= bits << self.trailing;
        Some(())
    }
}

impl<B: AsRef<[u8]>> Iterator for XorIter<B> {
    type Item = Sample;

    #[inline]
    fn next(&mut self) -> Option<Sample> {
        if self.i >= self.num {
            return None;
        }
        match self.read_sample() {
            Some(s) => {
                self.i += 1;
                Some(s)
            }
            None => {
                self.num = self.i;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.num - self.i))
    }
}

impl<B: AsRef<[u8]> + Send> SampleIterator for XorIter<B> {
    fn seek(&mut self, t: i64) -> Option<Sample> {
        self.find(|s| s.t >= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{STALE_NAN_BITS, stale_nan};

    fn encode(samples: &[(i64, f64)]) -> XorEncoder {
        let mut e = XorEncoder::new();
        for &(t, v) in samples {
            e.append(t, v);
        }
        e
    }

    fn same_bits(a: &[Sample], b: &[(i64, f64)]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x.t, y.0);
            assert_eq!(x.v.to_bits(), y.1.to_bits(), "at t={}", y.0);
        }
    }

    #[test]
    fn known_bytes_for_a_tiny_chunk() {
        // Worked by hand from the format: count=2; varint(1000)=0xd0 0x0f; 1.0 raw;
        // uvarint(1000)=0xe8 0x07; value unchanged -> one 0 bit.
        let e = encode(&[(1000, 1.0), (2000, 1.0)]);
        assert_eq!(
            e.bytes(),
            &[
                0x00, 0x02, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xe8, 0x07, 0x00
            ]
        );
    }

    #[test]
    fn edge_values_round_trip_bit_exactly() {
        let vals = [
            0.0,
            -0.0,
            f64::NAN,
            stale_nan(),
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            1.0,
            stale_nan(),
            stale_nan(),
            -0.0,
            f64::from_bits(1),
            f64::from_bits(u64::MAX),
        ];
        let samples: Vec<(i64, f64)> = vals
            .iter()
            .enumerate()
            .map(|(i, &v)| (i as i64 * 15_000, v))
            .collect();
        let e = encode(&samples);
        let got: Vec<Sample> = XorIter::new(e.bytes()).collect();
        same_bits(&got, &samples);
        assert_eq!(got[3].v.to_bits(), STALE_NAN_BITS);
    }

    #[test]
    fn extreme_timestamps_and_every_dod_bucket() {
        let ts = [
            i64::MIN,
            i64::MIN + 1,
            -1_000_000,
            -5,
            0,
            1,
            8193,  // dod fits 14 bits exactly at the lopsided edge
            16387, // ...
            16388, // dod 0
            16388 + 1 + (1 << 16),
            16388 + 2 + (1 << 16) + (1 << 19),
            1 << 40,
            (1 << 40) + 1,
            i64::MAX - 1,
            i64::MAX,
        ];
        let samples: Vec<(i64, f64)> = ts.iter().map(|&t| (t, t as f64)).collect();
        let e = encode(&samples);
        let got: Vec<Sample> = XorIter::new(e.bytes()).collect();
        same_bits(&got, &samples);
        // The bucket edges: +2^13 fits 14 bits, -2^13 does not.
        for dod in [
            8192i64,
            -8191,
            -8192,
            65536,
            -65535,
            -65536,
            1 << 19,
            -(1 << 19),
        ] {
            let s = [(0, 0.0), (1000, 0.0), (2000 + dod, 0.0), (3000 + dod, 0.0)];
            let got: Vec<Sample> = XorIter::new(encode(&s).bytes()).collect();
            same_bits(&got, &s);
        }
    }

    #[test]
    fn random_chunks_round_trip() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..200 {
            let n = 1 + (next() % 240) as usize;
            let mut t = (next() as i64) >> (next() % 40);
            let mut v = f64::from_bits(next());
            let mut samples = Vec::with_capacity(n);
            for _ in 0..n {
                samples.push((t, v));
                let step = match next() % 4 {
                    0 => 1 + (next() % 5) as i64,
                    1 => 15_000,
                    2 => 15_000 + (next() % 50) as i64 - 25,
                    _ => 1 + (next() >> 40) as i64,
                };
                t = t.saturating_add(step);
                v = match (round + next() as usize) % 5 {
                    0 => v,
                    1 => v + 1.0,
                    2 => f64::from_bits(next()),
                    3 => (next() % 1000) as f64 / 100.0,
                    _ => -v,
                };
            }
            samples.dedup_by_key(|s| s.0);
            let e = encode(&samples);
            assert_eq!(num_samples(e.bytes()), samples.len());
            let got: Vec<Sample> = XorIter::new(e.bytes()).collect();
            same_bits(&got, &samples);
        }
    }

    #[test]
    fn seek_moves_forward_only_and_next_continues_after_it() {
        let samples: Vec<(i64, f64)> = (0..10).map(|i| (i * 10, i as f64)).collect();
        let e = encode(&samples);
        let mut it = XorIter::new(e.bytes());
        assert_eq!(it.seek(35), Some(Sample::new(40, 4.0)));
        assert_eq!(it.next(), Some(Sample::new(50, 5.0)));
        // Seeking backwards does not rewind: the next unread sample is returned.
        assert_eq!(it.seek(0), Some(Sample::new(60, 6.0)));
        assert_eq!(it.seek(90), Some(Sample::new(90, 9.0)));
        assert_eq!(it.seek(91), None);
        assert_eq!(it.next(), None);
    }

    #[test]
    fn garbage_bytes_never_panic_and_compact_preserves_what_decodes() {
        let mut seed = 0xdead_beefu64;
        for _ in 0..3000 {
            let len = (seed % 300) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let got: Vec<Sample> = XorIter::new(&bytes[..]).collect();
            let again: Vec<Sample> = XorIter::new(&super::super::compact(&bytes)[..]).collect();
            assert_eq!(got.len(), again.len());
            for (a, b) in got.iter().zip(&again) {
                assert_eq!((a.t, a.v.to_bits()), (b.t, b.v.to_bits()));
            }
        }
    }

    #[test]
    fn truncated_chunk_ends_early_instead_of_panicking() {
        let samples: Vec<(i64, f64)> = (0..50).map(|i| (i * 1000, (i * i) as f64)).collect();
        let e = encode(&samples);
        for cut in 0..e.bytes().len() {
            let got: Vec<Sample> = XorIter::new(&e.bytes()[..cut]).collect();
            assert!(got.len() <= samples.len());
        }
    }
}
