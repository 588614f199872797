//! The contents of WAL records, encoded exactly as Prometheus's `tsdb/record` package
//! encodes them, so either program can replay the other's log. The WAL writer encodes a
//! commit batch into a series record and a samples record; replay decodes them back.
//!
//! Layouts (all fixed-width integers big-endian; "varint" is Go's zig-zag signed varint,
//! "uvarint" its unsigned LEB128):
//! - series (type 1): per series, ref (u64) then the labels: uvarint count, then each name
//!   and value as uvarint length + bytes.
//! - samples (type 2): base ref (u64) and base time (i64) of the first sample, then per
//!   sample (the first included) varint ref delta, varint time delta, f64 bits (u64).
//! - tombstones (type 3): per interval, ref (u64), varint mint, varint maxt.

use crate::model::{Label, Labels};
use crate::storage::SeriesRef;
use crate::tsdb::commit::{SampleRecord, SeriesRecord};

pub const TYPE_SERIES: u8 = 1;
pub const TYPE_SAMPLES: u8 = 2;
pub const TYPE_TOMBSTONES: u8 = 3;

/// A deleted time range `[mint, maxt]` of one series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tombstone {
    pub r: SeriesRef,
    pub mint: i64,
    pub maxt: i64,
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Series(Vec<SeriesRecord>),
    Samples(Vec<SampleRecord>),
    Tombstones(Vec<Tombstone>),
    /// A record type kmon does not replay (exemplars, metadata, histograms, ...).
    Other(u8),
}

/// Why a record's contents could not be decoded (its frame's checksum was fine).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("empty record")]
    Empty,
    #[error("record truncated at byte {0}")]
    Truncated(usize),
    #[error("varint overflows at byte {0}")]
    Overflow(usize),
}

/// Appends `v` as an unsigned LEB128 varint (Go's `binary.PutUvarint`).
pub fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends `v` as a zig-zag signed varint (Go's `binary.PutVarint`).
pub fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_uvarint(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

/// Appends a series record for `series` to `buf`.
pub fn encode_series(series: &[SeriesRecord], buf: &mut Vec<u8>) {
    buf.push(TYPE_SERIES);
    for s in series {
        buf.extend_from_slice(&s.r.to_be_bytes());
        put_uvarint(buf, s.labels.len() as u64);
        for l in s.labels.iter() {
            put_str(buf, l.name);
            put_str(buf, l.value);
        }
    }
}

/// Appends a samples record for `samples` to `buf` (refs and times as deltas from the
/// first sample; ref deltas may be negative).
pub fn encode_samples(samples: &[SampleRecord], buf: &mut Vec<u8>) {
    buf.push(TYPE_SAMPLES);
    let Some(first) = samples.first() else {
        return;
    };
    buf.extend_from_slice(&first.r.to_be_bytes());
    buf.extend_from_slice(&first.t.to_be_bytes());
    for s in samples {
        put_varint(buf, (s.r as i64).wrapping_sub(first.r as i64));
        put_varint(buf, s.t.wrapping_sub(first.t));
        buf.extend_from_slice(&s.v.to_bits().to_be_bytes());
    }
}

/// Appends a tombstones record for `stones` to `buf`.
pub fn encode_tombstones(stones: &[Tombstone], buf: &mut Vec<u8>) {
    buf.push(TYPE_TOMBSTONES);
    for s in stones {
        buf.extend_from_slice(&s.r.to_be_bytes());
        put_varint(buf, s.mint);
        put_varint(buf, s.maxt);
    }
}

/// A bounds-checked cursor over a record's bytes.
struct Dec<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    fn done(&self) -> bool {
        self.pos >= self.b.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or(RecordError::Truncated(self.pos))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn be64(&mut self) -> Result<u64, RecordError> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_be_bytes(a))
    }

    fn uvarint(&mut self) -> Result<u64, RecordError> {
        let start = self.pos;
        let mut v: u64 = 0;
        for i in 0..10 {
            let Some(&byte) = self.b.get(self.pos) else {
                return Err(RecordError::Truncated(start));
            };
            self.pos += 1;
            if i == 9 && byte > 1 {
                return Err(RecordError::Overflow(start));
            }
            v |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Ok(v);
            }
        }
        Err(RecordError::Overflow(start))
    }

    fn varint(&mut self) -> Result<i64, RecordError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn str(&mut self) -> Result<Box<str>, RecordError> {
        let at = self.pos;
        let n = usize::try_from(self.uvarint()?).map_err(|_| RecordError::Truncated(at))?;
        Ok(String::from_utf8_lossy(self.take(n)?).into())
    }
}

/// Decodes one record. Unknown types decode to `Record::Other`; malformed contents are an
/// error naming the byte offset within the record.
pub fn decode(rec: &[u8]) -> Result<Record, RecordError> {
    let Some(&typ) = rec.first() else {
        return Err(RecordError::Empty);
    };
    let mut d = Dec { b: rec, pos: 1 };
    match typ {
        TYPE_SERIES => {
            let mut out = Vec::new();
            while !d.done() {
                let r = d.be64()?;
                let n = d.uvarint()?;
                // Each label takes at least two bytes; refuse counts the record cannot hold.
                if n > (rec.len() - d.pos) as u64 / 2 {
                    return Err(RecordError::Truncated(d.pos));
                }
                let mut pairs = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let name = d.str()?;
                    let value = d.str()?;
                    pairs.push(Label { name, value });
                }
                out.push(SeriesRecord {
                    r,
                    labels: Labels::new(pairs),
                });
            }
            Ok(Record::Series(out))
        }
        TYPE_SAMPLES => {
            let mut out = Vec::new();
            if d.done() {
                return Ok(Record::Samples(out));
            }
            let base_ref = d.be64()?;
            let base_t = d.be64()? as i64;
            out.reserve((rec.len() - d.pos) / 10);
            while !d.done() {
                let dr = d.varint()?;
                let dt = d.varint()?;
                let v = f64::from_bits(d.be64()?);
                out.push(SampleRecord {
                    r: (base_ref as i64).wrapping_add(dr) as u64,
                    t: base_t.wrapping_add(dt),
                    v,
                });
            }
            Ok(Record::Samples(out))
        }
        TYPE_TOMBSTONES => {
            let mut out = Vec::new();
            while !d.done() {
                let r = d.be64()?;
                let mint = d.varint()?;
                let maxt = d.varint()?;
                out.push(Tombstone { r, mint, maxt });
            }
            Ok(Record::Tombstones(out))
        }
        other => Ok(Record::Other(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ser(r: u64, pairs: &[(&str, &str)]) -> SeriesRecord {
        SeriesRecord {
            r,
            labels: Labels::from_pairs(pairs),
        }
    }

    #[test]
    fn varints_match_go() {
        let mut b = Vec::new();
        put_uvarint(&mut b, 300);
        assert_eq!(b, [0xac, 0x02]);
        b.clear();
        // Zig-zag: 0→0, -1→1, 1→2, -2→3, 150→300.
        for v in [0i64, -1, 1, -2] {
            put_varint(&mut b, v);
        }
        put_varint(&mut b, 150);
        assert_eq!(b, [0, 1, 2, 3, 0xac, 0x02]);
        b.clear();
        put_uvarint(&mut b, u64::MAX);
        assert_eq!(b.len(), 10);
        let mut d = Dec { b: &b, pos: 0 };
        assert_eq!(d.uvarint(), Ok(u64::MAX));
        let mut d = Dec {
            b: &[0xff; 11],
            pos: 0,
        };
        assert_eq!(d.uvarint(), Err(RecordError::Overflow(0)));
        let mut b = Vec::new();
        put_varint(&mut b, i64::MIN);
        let mut d = Dec { b: &b, pos: 0 };
        assert_eq!(d.varint(), Ok(i64::MIN));
    }

    #[test]
    fn series_bytes() {
        let mut b = Vec::new();
        encode_series(&[ser(5, &[("__name__", "up"), ("job", "a")])], &mut b);
        let mut want = vec![1u8, 0, 0, 0, 0, 0, 0, 0, 5, 2];
        want.extend_from_slice(b"\x08__name__\x02up\x03job\x01a");
        assert_eq!(b, want);
        assert_eq!(
            decode(&b),
            Ok(Record::Series(vec![ser(
                5,
                &[("__name__", "up"), ("job", "a")]
            )]))
        );
    }

    #[test]
    fn samples_bytes() {
        let s = [
            SampleRecord {
                r: 10,
                t: 1000,
                v: 1.0,
            },
            SampleRecord {
                r: 8,
                t: 1150,
                v: -2.5,
            },
        ];
        let mut b = Vec::new();
        encode_samples(&s, &mut b);
        let mut want = vec![2u8];
        want.extend_from_slice(&10u64.to_be_bytes());
        want.extend_from_slice(&1000i64.to_be_bytes());
        want.extend_from_slice(&[0, 0]);
        want.extend_from_slice(&1.0f64.to_bits().to_be_bytes());
        // ref delta -2 → zig-zag 3; time delta 150 → 300 = ac 02.
        want.extend_from_slice(&[3, 0xac, 0x02]);
        want.extend_from_slice(&(-2.5f64).to_bits().to_be_bytes());
        assert_eq!(b, want);
        assert_eq!(decode(&b), Ok(Record::Samples(s.to_vec())));
        // An empty samples record is the type byte alone.
        let mut b = Vec::new();
        encode_samples(&[], &mut b);
        assert_eq!(b, [2]);
        assert_eq!(decode(&b), Ok(Record::Samples(vec![])));
    }

    #[test]
    fn tombstones_bytes() {
        let t = [Tombstone {
            r: 1,
            mint: -1,
            maxt: 64,
        }];
        let mut b = Vec::new();
        encode_tombstones(&t, &mut b);
        assert_eq!(b, [3, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x80, 0x01]);
        assert_eq!(decode(&b), Ok(Record::Tombstones(t.to_vec())));
    }

    #[test]
    fn round_trip_and_truncation_never_panics() {
        let series = vec![
            ser(1, &[("__name__", "a"), ("x", "ü")]),
            ser(u64::MAX, &[("__name__", "b")]),
        ];
        let samples: Vec<SampleRecord> = (0..50)
            .map(|i| SampleRecord {
                r: (i * 7919) % 13,
                t: -5000 + i as i64 * 15_000,
                v: f64::from(i as u32) * 0.1,
            })
            .collect();
        let mut a = Vec::new();
        encode_series(&series, &mut a);
        let mut b = Vec::new();
        encode_samples(&samples, &mut b);
        assert_eq!(decode(&a), Ok(Record::Series(series)));
        assert_eq!(decode(&b), Ok(Record::Samples(samples)));
        for rec in [&a, &b] {
            for n in 0..rec.len() {
                let _ = decode(&rec[..n]);
            }
        }
        assert_eq!(decode(&[]), Err(RecordError::Empty));
        assert_eq!(decode(&[9, 1, 2]), Ok(Record::Other(9)));
    }
}
