//! Reads one WAL segment back into records, page by page (32 KiB in memory at a time),
//! checking every fragment's frame: type sequence, length, checksum, padding. Replay
//! uses it; where a segment stops being valid it reports the offset of the end of the last
//! good record (where a repair cuts) and what was wrong and where.
//!
//! Stricter than a plain decoder in one way: a page whose first byte is zero is corrupt
//! (the writer never starts a page with padding), so a page zeroed by a crash is caught
//! rather than read as an empty page, and so is padding inside a record.
//!
//! Records Prometheus compressed (snappy by default since 2.20/3.x, zstd with
//! `--storage.tsdb.wal-compression-type=zstd`; flagged in the fragment type byte) are
//! handed over as framed and decoded by `Frame::record`, with the decoded size bounded.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::segment::{
    FRAG_FIRST, FRAG_FULL, FRAG_LAST, FRAG_MIDDLE, FRAG_PAGE_TERM, HEADER_SIZE, PAGE_SIZE,
    SNAPPY_FLAG, TYPE_MASK, ZSTD_FLAG,
};

/// Where and why a segment stops being readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// End of the last complete record (0 if none): everything before is good.
    pub good_until: u64,
    /// Where the problem was found.
    pub at: u64,
    /// The segment ends inside a fragment or record (a torn write) rather than holding
    /// bad bytes.
    pub torn: bool,
    pub reason: String,
}

/// What a scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Complete records read (compressed ones included).
    pub records: u64,
    /// Size of the file.
    pub len: u64,
    /// `None` when the whole segment is valid.
    pub corruption: Option<Corruption>,
}

/// How a record's bytes are compressed (the flag bits of its first fragment's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    /// Snappy block format (Go's `snappy.Encode`).
    Snappy,
    /// One zstd frame.
    Zstd,
}

/// Largest decoded record accepted: a record never crosses a segment, and Prometheus's
/// largest segment is 128 MiB; a bit more allows for compression that did not pay.
pub const MAX_DECODED_RECORD: usize = 256 * 1024 * 1024;

/// A record as framed in the segment: its bytes, whether and how the frame says it is
/// compressed, and where its first fragment starts in the segment.
pub struct Frame<'a> {
    pub data: &'a [u8],
    pub compressed: bool,
    pub codec: Codec,
    pub offset: u64,
}

impl<'a> Frame<'a> {
    /// The record's decoded bytes (borrowed when it was not compressed), or why they
    /// cannot be decoded.
    pub fn record(&self) -> Result<Cow<'a, [u8]>, String> {
        match self.codec {
            Codec::None => Ok(Cow::Borrowed(self.data)),
            Codec::Snappy => {
                let n = snap::raw::decompress_len(self.data)
                    .map_err(|e| format!("snappy record: {e}"))?;
                if n > MAX_DECODED_RECORD {
                    return Err(format!("snappy record claims {n} bytes decoded"));
                }
                snap::raw::Decoder::new()
                    .decompress_vec(self.data)
                    .map(Cow::Owned)
                    .map_err(|e| format!("snappy record: {e}"))
            }
            Codec::Zstd => {
                let data = self.data;
                // The decoder is pure Rust and fuzzed; the guard makes sure no input can
                // take replay down with it.
                std::panic::catch_unwind(move || zstd_decode(data))
                    .unwrap_or_else(|_| Err("zstd record: the decoder gave up".into()))
                    .map(Cow::Owned)
            }
        }
    }
}

fn zstd_decode(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut src = data;
    let dec = ruzstd::decoding::StreamingDecoder::new(&mut src)
        .map_err(|e| format!("zstd record: {e}"))?;
    let mut out = Vec::new();
    dec.take(MAX_DECODED_RECORD as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("zstd record: {e}"))?;
    if out.len() > MAX_DECODED_RECORD {
        return Err(format!(
            "zstd record decodes to more than {MAX_DECODED_RECORD} bytes"
        ));
    }
    Ok(out)
}

/// Reads the segment at `path`, calling `on_record` for every complete record in order.
/// I/O errors are returned; format problems end the scan and are described in
/// `Scan::corruption`.
pub fn scan_segment(path: &Path, mut on_record: impl FnMut(Frame<'_>)) -> io::Result<Scan> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let mut page = vec![0u8; PAGE_SIZE];
    let mut rec: Vec<u8> = Vec::new();
    let mut in_record = false;
    let mut codec = Codec::None;
    let mut rec_start = 0u64;
    let mut scan = Scan {
        records: 0,
        len,
        corruption: None,
    };
    let mut good_until = 0u64;
    let mut page_start = 0u64;
    loop {
        let n = read_full(&mut f, &mut page)?;
        if n == 0 {
            break;
        }
        let fail = |good_until: u64, p: usize, torn: bool, reason: String| Corruption {
            good_until,
            at: page_start + p as u64,
            torn,
            reason,
        };
        let mut p = 0;
        let mut bad = None;
        while p < n {
            let typ = page[p] & TYPE_MASK;
            if typ == FRAG_PAGE_TERM {
                if p == 0 {
                    bad = Some(fail(
                        good_until,
                        p,
                        false,
                        "page starts with zero padding".into(),
                    ));
                } else if in_record {
                    bad = Some(fail(
                        good_until,
                        p,
                        false,
                        "zero padding inside a record".into(),
                    ));
                } else if let Some(i) = page[p..n].iter().position(|&b| b != 0) {
                    bad = Some(fail(
                        good_until,
                        p + i,
                        false,
                        "non-zero byte in page padding".into(),
                    ));
                }
                break;
            }
            if p + HEADER_SIZE > PAGE_SIZE {
                bad = Some(fail(
                    good_until,
                    p,
                    false,
                    "fragment header crosses a page".into(),
                ));
                break;
            }
            if p + HEADER_SIZE > n {
                bad = Some(fail(
                    good_until,
                    p,
                    true,
                    "segment ends inside a fragment header".into(),
                ));
                break;
            }
            let flen = usize::from(u16::from_be_bytes([page[p + 1], page[p + 2]]));
            let crc = u32::from_be_bytes([page[p + 3], page[p + 4], page[p + 5], page[p + 6]]);
            let body = p + HEADER_SIZE;
            if body + flen > PAGE_SIZE {
                bad = Some(fail(
                    good_until,
                    p,
                    false,
                    format!("fragment of {flen} bytes crosses a page"),
                ));
                break;
            }
            if body + flen > n {
                bad = Some(fail(
                    good_until,
                    p,
                    true,
                    "segment ends inside a fragment".into(),
                ));
                break;
            }
            let data = &page[body..body + flen];
            let got = crc32c::crc32c(data);
            if got != crc {
                bad = Some(fail(
                    good_until,
                    p,
                    false,
                    format!("checksum {got:08x}, header says {crc:08x}"),
                ));
                break;
            }
            let order_ok = match typ {
                FRAG_FULL | FRAG_FIRST => !in_record,
                FRAG_MIDDLE | FRAG_LAST => in_record,
                _ => {
                    bad = Some(fail(
                        good_until,
                        p,
                        false,
                        format!("unknown fragment type {typ}"),
                    ));
                    break;
                }
            };
            if !order_ok {
                bad = Some(fail(
                    good_until,
                    p,
                    false,
                    format!("fragment type {typ} out of sequence"),
                ));
                break;
            }
            if typ == FRAG_FULL || typ == FRAG_FIRST {
                rec.clear();
                rec_start = page_start + p as u64;
                codec = if page[p] & SNAPPY_FLAG != 0 {
                    Codec::Snappy
                } else if page[p] & ZSTD_FLAG != 0 {
                    Codec::Zstd
                } else {
                    Codec::None
                };
            }
            rec.extend_from_slice(data);
            p = body + flen;
            if typ == FRAG_FULL || typ == FRAG_LAST {
                in_record = false;
                good_until = page_start + p as u64;
                scan.records += 1;
                on_record(Frame {
                    data: &rec,
                    compressed: codec != Codec::None,
                    codec,
                    offset: rec_start,
                });
            } else {
                in_record = true;
            }
        }
        if bad.is_some() {
            scan.corruption = bad;
            return Ok(scan);
        }
        page_start += n as u64;
        if n < PAGE_SIZE {
            break;
        }
    }
    if in_record {
        scan.corruption = Some(Corruption {
            good_until,
            at: page_start,
            torn: true,
            reason: "segment ends inside a record".into(),
        });
    }
    Ok(scan)
}

/// Reads until `buf` is full or the file ends; the count read.
fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
