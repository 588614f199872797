//! Byte-level helpers for the block files: an append buffer (`Enc`) with the big-endian,
//! varint and length-prefixed string encodings Prometheus uses, a bounds-checked cursor
//! (`Dec`) whose every failure is a `BlockError::Corrupt` naming the file and offset, and
//! CRC32-Castagnoli. The index, chunk and tombstone writers and readers use them.

use std::path::Path;

use super::BlockError;

/// CRC32-Castagnoli of `b`, as every checksum in a block uses.
pub fn crc32c(b: &[u8]) -> u32 {
    crc32c::crc32c(b)
}

/// A growable output buffer.
#[derive(Debug, Default)]
pub struct Enc {
    pub b: Vec<u8>,
}

impl Enc {
    pub fn new() -> Self {
        Enc::default()
    }

    pub fn len(&self) -> usize {
        self.b.len()
    }

    pub fn put_u8(&mut self, v: u8) {
        self.b.push(v);
    }

    pub fn put_be32(&mut self, v: u32) {
        self.b.extend_from_slice(&v.to_be_bytes());
    }

    pub fn put_be64(&mut self, v: u64) {
        self.b.extend_from_slice(&v.to_be_bytes());
    }

    pub fn put_uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.b.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.b.push(v as u8);
    }

    /// Zig-zag signed varint (Go's `binary.PutVarint`).
    pub fn put_varint(&mut self, v: i64) {
        self.put_uvarint(((v << 1) ^ (v >> 63)) as u64);
    }

    /// A uvarint length followed by the bytes.
    pub fn put_uvarint_str(&mut self, s: &str) {
        self.put_uvarint(s.len() as u64);
        self.b.extend_from_slice(s.as_bytes());
    }

    pub fn put_bytes(&mut self, b: &[u8]) {
        self.b.extend_from_slice(b);
    }

    /// Appends the CRC32C of `self.b[from..]`.
    pub fn put_crc_of(&mut self, from: usize) {
        let c = crc32c(&self.b[from..]);
        self.put_be32(c);
    }
}

/// A cursor over a slice of a file. `origin` is the file offset of `buf[0]`, so errors can
/// name the absolute offset.
#[derive(Debug, Clone)]
pub struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
    origin: usize,
    path: &'a Path,
}

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8], origin: usize, path: &'a Path) -> Self {
        Dec {
            buf,
            pos: 0,
            origin,
            path,
        }
    }

    /// The absolute file offset of the next byte.
    pub fn offset(&self) -> usize {
        self.origin + self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// A `Corrupt` error at the current offset.
    pub fn err(&self, what: impl Into<String>) -> BlockError {
        BlockError::corrupt(self.path, self.offset() as u64, what)
    }

    pub fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8], BlockError> {
        if n > self.remaining() {
            return Err(self.err(format!(
                "{what}: needs {n} bytes, only {} left",
                self.remaining()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, BlockError> {
        Ok(self.bytes(1, what)?[0])
    }

    pub fn be32(&mut self, what: &str) -> Result<u32, BlockError> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn be64(&mut self, what: &str) -> Result<u64, BlockError> {
        let b = self.bytes(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    pub fn uvarint(&mut self, what: &str) -> Result<u64, BlockError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let Some(&byte) = self.buf.get(self.pos + i) else {
                return Err(self.err(format!("{what}: truncated varint")));
            };
            if i == 9 && byte > 1 {
                return Err(self.err(format!("{what}: varint overflows 64 bits")));
            }
            v |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                self.pos += i + 1;
                return Ok(v);
            }
        }
        Err(self.err(format!("{what}: varint overflows 64 bits")))
    }

    pub fn varint(&mut self, what: &str) -> Result<i64, BlockError> {
        let u = self.uvarint(what)?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A uvarint that must fit in 32 bits (Go's `Uvarint32`).
    pub fn uvarint32(&mut self, what: &str) -> Result<u32, BlockError> {
        let at = self.offset();
        let v = self.uvarint(what)?;
        u32::try_from(v)
            .map_err(|_| BlockError::corrupt(self.path, at as u64, format!("{what}: {v} > 2^32")))
    }

    /// A uvarint length, then that many bytes of UTF-8.
    pub fn uvarint_str(&mut self, what: &str) -> Result<&'a str, BlockError> {
        let n = self.uvarint(what)?;
        let at = self.offset();
        let n = usize::try_from(n).map_err(|_| self.err(format!("{what}: length {n}")))?;
        let b = self.bytes(n, what)?;
        std::str::from_utf8(b)
            .map_err(|_| BlockError::corrupt(self.path, at as u64, format!("{what}: not UTF-8")))
    }
}

/// Reads a `len <4b> | content | CRC32 <4b>` section at `off` of `file`, checks the CRC and
/// returns a cursor over the content.
pub fn section<'a>(
    file: &'a [u8],
    off: usize,
    path: &'a Path,
    what: &str,
) -> Result<Dec<'a>, BlockError> {
    let mut d = Dec::new(file, 0, path);
    if off > file.len() {
        return Err(BlockError::corrupt(
            path,
            off as u64,
            format!(
                "{what}: offset past the end of the file ({} bytes)",
                file.len()
            ),
        ));
    }
    d.pos = off;
    let len = d.be32(what)? as usize;
    let start = d.pos;
    let content = d.bytes(len, what)?;
    let want = d.be32(&format!("{what} checksum"))?;
    let got = crc32c(content);
    if want != got {
        return Err(BlockError::corrupt(
            path,
            off as u64,
            format!("{what}: checksum mismatch (stored {want:08x}, computed {got:08x})"),
        ));
    }
    Ok(Dec::new(content, start, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_reject_overflow() {
        let p = Path::new("x");
        let mut e = Enc::new();
        let vals = [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX];
        for v in vals {
            e.put_uvarint(v);
        }
        for v in [0i64, -1, 1, -64, 64, i64::MIN, i64::MAX] {
            e.put_varint(v);
        }
        let mut d = Dec::new(&e.b, 0, p);
        for v in vals {
            assert_eq!(d.uvarint("v").unwrap(), v);
        }
        for v in [0i64, -1, 1, -64, 64, i64::MIN, i64::MAX] {
            assert_eq!(d.varint("v").unwrap(), v);
        }
        assert!(d.is_empty());
        let bad = [0xffu8; 11];
        assert!(Dec::new(&bad, 0, p).uvarint("v").is_err());
        assert!(Dec::new(&[0x80], 0, p).uvarint("v").is_err());
    }

    #[test]
    fn crc32c_matches_the_castagnoli_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }
}
