//! Reads one WAL segment back into records, page by page (32 KiB in memory at a time),
//! checking every fragment's frame: type sequence, length, checksum, padding. Replay
//! uses it; where a segment stops being valid it reports the offset of the end of the last
//! good record (where a repair cuts) and what was wrong and where.
//!
//! Stricter than a plain decoder in one way: a page whose first byte is zero is corrupt
//! (the writer never starts a page with padding), so a page zeroed by a crash is caught
//! rather than read as an empty page, and so is padding inside a record.

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

/// A record as framed in the segment: its bytes and whether the frame says it is
/// compressed (snappy or zstd, which kmon does not decode).
pub struct Frame<'a> {
    pub data: &'a [u8],
    pub compressed: bool,
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
    let mut compressed = false;
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
                compressed = page[p] & (SNAPPY_FLAG | ZSTD_FLAG) != 0;
            }
            rec.extend_from_slice(data);
            p = body + flen;
            if typ == FRAG_FULL || typ == FRAG_LAST {
                in_record = false;
                good_until = page_start + p as u64;
                scan.records += 1;
                on_record(Frame {
                    data: &rec,
                    compressed,
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
