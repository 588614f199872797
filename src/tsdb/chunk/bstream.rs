//! Bit-level writing and reading, most significant bit first, as the XOR chunk format lays
//! out its stream; plus the Go-style varints the format uses for its first timestamp and
//! first delta. Only the XOR encoder and decoder in this directory talk to it.

/// Growth step of a writer's buffer, in bytes.
const GROW_STEP: usize = 32;

/// Appends bits to a byte vector. Bits fill each byte from its high end; the unused low
/// bits of the last byte stay zero.
#[derive(Debug, Clone, Default)]
pub(crate) struct BitWriter {
    buf: Vec<u8>,
    /// How many low bits of the last byte are still free (0 when the last byte is full).
    free: u32,
}

impl BitWriter {
    /// A writer whose stream starts after `header` zero bytes (kept whole, byte aligned).
    pub(crate) fn with_header(header: usize) -> Self {
        BitWriter {
            buf: vec![0; header],
            free: 0,
        }
    }

    /// Like `with_header`, with room for `capacity` bytes reserved up front.
    pub(crate) fn with_capacity(header: usize, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity.max(header));
        buf.resize(header, 0);
        BitWriter { buf, free: 0 }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Truncates to `header` zero bytes, keeping the allocation.
    pub(crate) fn reset(&mut self, header: usize) {
        self.buf.clear();
        self.buf.resize(header, 0);
        self.free = 0;
    }

    /// Gives up the allocation (an idle open chunk then costs nothing).
    pub(crate) fn release(&mut self, header: usize) {
        self.buf = Vec::new();
        self.buf.resize(header, 0);
        self.free = 0;
    }

    /// Appends a byte. The buffer grows by a fixed step rather than doubling: an open
    /// chunk ends near 300-400 bytes, and doubling would leave up to half of that unused
    /// in every series. The step is small (32 bytes, a reallocation every ~20 samples of a
    /// typical series) because every series holds one open chunk at all times.
    #[inline]
    fn push(&mut self, b: u8) {
        if self.buf.len() == self.buf.capacity() {
            self.buf.reserve_exact(GROW_STEP);
        }
        self.buf.push(b);
    }

    #[inline]
    pub(crate) fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.push(0);
            self.free = 8;
        }
        self.free -= 1;
        if bit {
            // `free` was just decremented, so it is the index of the bit being written.
            if let Some(last) = self.buf.last_mut() {
                *last |= 1 << self.free;
            }
        }
    }

    /// Writes the low `n` bits of `v` (`n` in 0..=64), highest first.
    #[inline]
    pub(crate) fn write_bits(&mut self, v: u64, n: u32) {
        debug_assert!(n <= 64);
        if n == 0 {
            return;
        }
        // Left-align the n bits so the next bit to write is always bit 63.
        let mut v = v << (64 - n);
        let mut n = n;
        if self.free > 0 {
            let take = self.free.min(n);
            if let Some(last) = self.buf.last_mut() {
                *last |= ((v >> (64 - take)) << (self.free - take)) as u8;
            }
            self.free -= take;
            n -= take;
            if n == 0 {
                return;
            }
            v <<= take;
        }
        // The rest starts a fresh byte: append the whole bytes it touches at once.
        let nbytes = n.div_ceil(8) as usize;
        if self.buf.capacity() - self.buf.len() < nbytes {
            self.buf.reserve_exact(GROW_STEP.max(nbytes));
        }
        self.buf.extend_from_slice(&v.to_be_bytes()[..nbytes]);
        self.free = nbytes as u32 * 8 - n;
    }

    /// Writes `x` as a Go `binary.PutUvarint` would (7 bits per byte, low groups first).
    pub(crate) fn write_uvarint(&mut self, mut x: u64) {
        while x >= 0x80 {
            self.write_bits((x as u8 | 0x80) as u64, 8);
            x >>= 7;
        }
        self.write_bits(x, 8);
    }

    /// Writes `x` as a Go `binary.PutVarint` would (zig-zag, then uvarint).
    pub(crate) fn write_varint(&mut self, x: i64) {
        self.write_uvarint(((x << 1) ^ (x >> 63)) as u64);
    }
}

/// Reads bits back from a byte slice (or anything that derefs to one, so an iterator can own
/// an `Arc<[u8]>`). Running out of input yields `None`.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<B> {
    data: B,
    /// Next byte of `data` to load into `buf`.
    pos: usize,
    /// Loaded bits, left-aligned: bit 63 is the next bit of the stream.
    buf: u64,
    /// How many of `buf`'s high bits are loaded.
    valid: u32,
}

impl<B: AsRef<[u8]>> BitReader<B> {
    /// A reader positioned `skip` bytes into `data`.
    pub(crate) fn new(data: B, skip: usize) -> Self {
        BitReader {
            data,
            pos: skip,
            buf: 0,
            valid: 0,
        }
    }

    /// Loads whole bytes until at least 57 bits are loaded or the input ends. With eight
    /// bytes left it loads them as one word: the bits of that word past the whole bytes it
    /// counts stay in `buf` below `valid`, and they are the same stream bits the next refill
    /// ORs in at the same place, so nothing is ever masked.
    #[inline]
    fn refill(&mut self) {
        let data = self.data.as_ref();
        if let Some(word) = data.get(self.pos..self.pos + 8) {
            let word = u64::from_be_bytes(word.try_into().unwrap_or([0; 8]));
            // `valid` < 64 here: every caller refills only when it needs more bits.
            self.buf |= word >> self.valid;
            let nbytes = (64 - self.valid) >> 3;
            self.pos += nbytes as usize;
            self.valid += nbytes * 8;
            return;
        }
        while self.valid <= 56 {
            let Some(&b) = data.get(self.pos) else { break };
            self.buf |= (b as u64) << (56 - self.valid);
            self.valid += 8;
            self.pos += 1;
        }
    }

    /// Takes `n` (1..=valid) loaded bits.
    #[inline]
    fn take(&mut self, n: u32) -> u64 {
        debug_assert!(n >= 1 && n <= self.valid);
        let v = self.buf >> (64 - n);
        // Two shifts, so that n = 64 empties the buffer without a branch.
        self.buf = (self.buf << (n - 1)) << 1;
        self.valid -= n;
        v
    }

    #[inline]
    pub(crate) fn read_bit(&mut self) -> Option<bool> {
        if self.valid == 0 {
            self.refill();
            if self.valid == 0 {
                return None;
            }
        }
        Some(self.take(1) == 1)
    }

    /// Reads `n` bits (0..=64) as the low bits of the result.
    #[inline]
    pub(crate) fn read_bits(&mut self, n: u32) -> Option<u64> {
        debug_assert!(n <= 64);
        if n == 0 {
            return Some(0);
        }
        if self.valid < n {
            self.refill();
            if self.valid < n {
                return self.read_bits_split(n);
            }
        }
        Some(self.take(n))
    }

    /// `read_bits` past a refill that left fewer than `n` bits: a long unaligned read
    /// (a refill leaves at least 57 bits unless the input ended) is read in two parts.
    #[cold]
    #[inline(never)]
    fn read_bits_split(&mut self, n: u32) -> Option<u64> {
        let first = self.valid;
        if first == 0 || n <= 56 {
            return None;
        }
        let hi = self.take(first);
        self.refill();
        let rest = n - first;
        if self.valid < rest {
            return None;
        }
        Some((hi << rest) | self.take(rest))
    }

    pub(crate) fn read_uvarint(&mut self) -> Option<u64> {
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.read_bits(8)?;
            x |= (b & 0x7f) << shift;
            if b < 0x80 {
                return Some(x);
            }
        }
        None
    }

    pub(crate) fn read_varint(&mut self) -> Option<i64> {
        let u = self.read_uvarint()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 11 ^ *seed << 7
    }

    #[test]
    fn bits_round_trip_at_every_width_and_alignment() {
        let mut seed = 7;
        let mut w = BitWriter::with_header(2);
        let mut written = Vec::new();
        for i in 0..5000 {
            let n = (lcg(&mut seed) % 65) as u32;
            let v = lcg(&mut seed) & if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
            if i % 7 == 0 {
                w.write_bit(v & 1 == 1);
                written.push((1, v & 1));
            } else {
                w.write_bits(v, n);
                written.push((n, v));
            }
        }
        let mut r = BitReader::new(w.bytes(), 2);
        for (i, &(n, v)) in written.iter().enumerate() {
            if i % 7 == 0 {
                assert_eq!(r.read_bit(), Some(v == 1), "bit {i}");
            } else {
                assert_eq!(r.read_bits(n), Some(v), "item {i} n={n}");
            }
        }
    }

    #[test]
    fn varints_match_go_encoding() {
        let mut w = BitWriter::with_header(0);
        w.write_uvarint(300);
        assert_eq!(w.bytes(), &[0xac, 0x02]);
        let mut w = BitWriter::with_header(0);
        w.write_varint(-1);
        w.write_varint(1);
        assert_eq!(w.bytes(), &[0x01, 0x02]);
        let mut w = BitWriter::with_header(0);
        w.write_bit(true); // unaligned varints still round trip
        for x in [0, 1, -1, i64::MIN, i64::MAX, 1_700_000_000_000] {
            w.write_varint(x);
        }
        w.write_uvarint(u64::MAX);
        let mut r = BitReader::new(w.bytes(), 0);
        assert_eq!(r.read_bit(), Some(true));
        for x in [0, 1, -1, i64::MIN, i64::MAX, 1_700_000_000_000] {
            assert_eq!(r.read_varint(), Some(x));
        }
        assert_eq!(r.read_uvarint(), Some(u64::MAX));
    }

    #[test]
    fn reading_past_the_end_is_none() {
        let mut w = BitWriter::with_header(0);
        w.write_bits(0b101, 3);
        let mut r = BitReader::new(w.bytes(), 0);
        assert_eq!(r.read_bits(3), Some(0b101));
        assert_eq!(r.read_bits(5), Some(0)); // padding of the last byte
        assert_eq!(r.read_bit(), None);
        assert_eq!(r.read_bits(64), None);
    }
}
