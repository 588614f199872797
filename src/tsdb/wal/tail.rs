//! Reads one WAL segment record by record from a record boundary while it may still be
//! written: the follower (`follow`) uses it to tail the segment the TSDB is appending to.
//! Unlike `reader::scan_segment`, which validates a finished segment in one pass, it
//! tells apart the end of what has been written so far (the file ends at a record
//! boundary or inside page padding: `End`), a record the writer has not finished (the
//! file ends inside one: `Torn`, which the follower waits on in the live segment) and bad
//! bytes (`Corrupt`). The framing checks are the reader's: fragment type sequence, length
//! within the page, CRC32C, zero padding.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::reader::{Codec, Frame};
use super::segment::{
    FRAG_FIRST, FRAG_FULL, FRAG_LAST, FRAG_MIDDLE, FRAG_PAGE_TERM, HEADER_SIZE, PAGE_SIZE,
    SNAPPY_FLAG, TYPE_MASK, ZSTD_FLAG,
};

/// Bytes read ahead at a time.
const READ_AHEAD: usize = 256 * 1024;

/// What the next read of a segment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// A complete record starting at `start`, whose last fragment ends at `end` (the
    /// offset of the next record); its framed bytes are `SegmentTail::frame`.
    Record { start: u64, end: u64 },
    /// The file ends at a record boundary (or inside the padding after one).
    End,
    /// The file ends inside a fragment or a record, at `at`.
    Torn { at: u64, reason: String },
    /// Bad bytes at `at`.
    Corrupt { at: u64, reason: String },
}

/// A cursor over one segment file, at the record boundary `offset`.
pub(super) struct SegmentTail {
    file: File,
    /// The offset of the next record.
    offset: u64,
    /// File bytes from `buf_start` on, read ahead.
    buf: Vec<u8>,
    buf_start: u64,
    /// The data of the last record read, its codec.
    rec: Vec<u8>,
    codec: Codec,
}

impl SegmentTail {
    /// Opens the segment at `path` to read from `offset` (which must be a record boundary).
    pub(super) fn open(path: &Path, offset: u64) -> io::Result<SegmentTail> {
        let file = File::open(path)?;
        Ok(SegmentTail {
            file,
            offset,
            buf: Vec::new(),
            buf_start: offset,
            rec: Vec::new(),
            codec: Codec::None,
        })
    }

    /// The offset of the next record.
    pub(super) fn offset(&self) -> u64 {
        self.offset
    }

    /// The file's current length.
    pub(super) fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// The record the last `Step::Record` returned, as framed.
    pub(super) fn frame(&self, start: u64) -> Frame<'_> {
        Frame {
            data: &self.rec,
            compressed: self.codec != Codec::None,
            codec: self.codec,
            offset: start,
        }
    }

    /// Forgets what was read ahead, so the next read sees the file as it is now (the
    /// writer may have cut a failed write off and written something else there).
    pub(super) fn reset(&mut self) {
        self.buf.clear();
        self.buf_start = self.offset;
    }

    /// Makes `buf` hold the file's bytes up to `want` (absolute), as far as the file has
    /// them; returns the absolute end of what it holds.
    fn fill(&mut self, want: u64) -> io::Result<u64> {
        loop {
            let have = self.buf_start + self.buf.len() as u64;
            if have >= want {
                return Ok(have);
            }
            let n = usize::try_from(want - have)
                .unwrap_or(usize::MAX)
                .max(READ_AHEAD);
            let old = self.buf.len();
            self.buf.resize(old + n, 0);
            let got = loop {
                match self.file.read_at(&mut self.buf[old..], have) {
                    Ok(k) => break k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.buf.truncate(old);
                        return Err(e);
                    }
                }
            };
            self.buf.truncate(old + got);
            if got == 0 {
                return Ok(have);
            }
        }
    }

    /// The byte at absolute offset `at` (which `fill` made available).
    fn byte(&self, at: u64) -> u8 {
        self.buf
            .get((at - self.buf_start) as usize)
            .copied()
            .unwrap_or(0)
    }

    fn slice(&self, from: u64, to: u64) -> &[u8] {
        let a = (from - self.buf_start) as usize;
        let b = (to - self.buf_start) as usize;
        self.buf.get(a..b).unwrap_or(&[])
    }

    /// Reads the next record. After `End` or `Torn` the read-ahead is dropped, so the
    /// next call reads the file afresh from `offset`.
    pub(super) fn step(&mut self) -> io::Result<Step> {
        let s = self.step_inner()?;
        match &s {
            Step::End | Step::Torn { .. } => self.reset(),
            Step::Record { .. } => {
                // Drop consumed read-ahead now and then.
                let used = (self.offset - self.buf_start) as usize;
                if used >= READ_AHEAD && used <= self.buf.len() {
                    self.buf.drain(..used);
                    self.buf_start = self.offset;
                }
            }
            Step::Corrupt { .. } => {}
        }
        Ok(s)
    }

    fn step_inner(&mut self) -> io::Result<Step> {
        let page = PAGE_SIZE as u64;
        let mut pos = self.offset;
        let mut in_record = false;
        let mut start = pos;
        self.rec.clear();
        self.codec = Codec::None;
        loop {
            let page_end = (pos / page + 1) * page;
            if self.fill(pos + 1)? <= pos {
                return Ok(if in_record {
                    Step::Torn {
                        at: pos,
                        reason: "the segment ends inside a record".into(),
                    }
                } else {
                    Step::End
                });
            }
            let lead = self.byte(pos);
            let typ = lead & TYPE_MASK;
            if typ == FRAG_PAGE_TERM {
                if in_record {
                    return Ok(corrupt(pos, "zero padding inside a record"));
                }
                if pos.is_multiple_of(page) {
                    return Ok(corrupt(pos, "page starts with zero padding"));
                }
                let have = self.fill(page_end)?.min(page_end);
                if let Some(i) = self.slice(pos, have).iter().position(|&b| b != 0) {
                    return Ok(corrupt(pos + i as u64, "non-zero byte in page padding"));
                }
                if have < page_end {
                    return Ok(Step::End);
                }
                pos = page_end;
                self.offset = pos;
                start = pos;
                continue;
            }
            if pos + HEADER_SIZE as u64 > page_end {
                return Ok(corrupt(pos, "fragment header crosses a page"));
            }
            let hdr_end = pos + HEADER_SIZE as u64;
            if self.fill(hdr_end)? < hdr_end {
                return Ok(Step::Torn {
                    at: pos,
                    reason: "the segment ends inside a fragment header".into(),
                });
            }
            let h = self.slice(pos, hdr_end);
            let flen = u64::from(u16::from_be_bytes([h[1], h[2]]));
            let crc = u32::from_be_bytes([h[3], h[4], h[5], h[6]]);
            let end = hdr_end + flen;
            if end > page_end {
                return Ok(corrupt(
                    pos,
                    &format!("fragment of {flen} bytes crosses a page"),
                ));
            }
            if self.fill(end)? < end {
                return Ok(Step::Torn {
                    at: pos,
                    reason: "the segment ends inside a fragment".into(),
                });
            }
            let data = self.slice(hdr_end, end);
            let got = crc32c::crc32c(data);
            if got != crc {
                return Ok(corrupt(
                    pos,
                    &format!("checksum {got:08x}, header says {crc:08x}"),
                ));
            }
            let order_ok = match typ {
                FRAG_FULL | FRAG_FIRST => !in_record,
                FRAG_MIDDLE | FRAG_LAST => in_record,
                _ => return Ok(corrupt(pos, &format!("unknown fragment type {typ}"))),
            };
            if !order_ok {
                return Ok(corrupt(
                    pos,
                    &format!("fragment type {typ} out of sequence"),
                ));
            }
            if typ == FRAG_FULL || typ == FRAG_FIRST {
                start = pos;
                self.codec = if lead & SNAPPY_FLAG != 0 {
                    Codec::Snappy
                } else if lead & ZSTD_FLAG != 0 {
                    Codec::Zstd
                } else {
                    Codec::None
                };
            }
            let a = (hdr_end - self.buf_start) as usize;
            let b = (end - self.buf_start) as usize;
            if let Some(d) = self.buf.get(a..b) {
                self.rec.extend_from_slice(d);
            }
            pos = end;
            if typ == FRAG_FULL || typ == FRAG_LAST {
                self.offset = pos;
                return Ok(Step::Record { start, end: pos });
            }
            in_record = true;
        }
    }
}

fn corrupt(at: u64, reason: &str) -> Step {
    Step::Corrupt {
        at,
        reason: reason.to_string(),
    }
}
