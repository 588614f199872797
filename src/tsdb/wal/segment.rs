//! The WAL's segment files and their framing, as Prometheus's `tsdb/wlog` lays them out:
//! numbered files (`00000000`, `00000001`, …) of 32 KiB pages, each record split into
//! fragments that never cross a page, each fragment behind a 7-byte header (type byte,
//! big-endian u16 length, big-endian CRC32-Castagnoli of the fragment's data). A page with
//! less than a header's room left is zero-padded; records never cross segments. This file
//! holds the writer side (`SegmentWriter`, used by `Wal`) and the segment listing; the
//! reader is in `reader`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Bytes per page: fragments never cross a page boundary.
pub const PAGE_SIZE: usize = 32 * 1024;
/// Fragment header: type (1), length (2), CRC32C (4).
pub const HEADER_SIZE: usize = 7;
/// Prometheus's default (and maximum regular) segment size.
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 * 1024 * 1024;

/// Fragment types (the low three bits of the header's first byte).
pub const FRAG_PAGE_TERM: u8 = 0;
pub const FRAG_FULL: u8 = 1;
pub const FRAG_FIRST: u8 = 2;
pub const FRAG_MIDDLE: u8 = 3;
pub const FRAG_LAST: u8 = 4;
/// Header bits that say the record is compressed (snappy, zstd).
pub const SNAPPY_FLAG: u8 = 1 << 3;
pub const ZSTD_FLAG: u8 = 1 << 4;
pub const TYPE_MASK: u8 = 0b111;

/// The file name of segment `i`.
pub fn segment_name(i: u32) -> String {
    format!("{i:08}")
}

/// The segments in `dir` (files named by a number only), by index. A missing directory
/// holds no segments.
pub fn list_segments(dir: &Path) -> io::Result<Vec<(u32, PathBuf)>> {
    list_numbered(dir, "", false)
}

/// The entries of `dir` named `prefix` then digits only — directories when `dirs`, files
/// otherwise — by their number, lowest first. A missing directory has none. The WAL's
/// segments and its checkpoints are both listed this way.
pub(super) fn list_numbered(
    dir: &Path,
    prefix: &str,
    dirs: bool,
) -> io::Result<Vec<(u32, PathBuf)>> {
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for e in rd {
        let e = e?;
        let name = e.file_name();
        let Some(digits) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let kind = e.file_type()?;
        if let Ok(i) = digits.parse::<u32>()
            && (if dirs { kind.is_dir() } else { kind.is_file() })
        {
            out.push((i, e.path()));
        }
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out)
}

/// Appends records to the newest segment, page by page, rolling over to a new segment when
/// a record would not fit in what is left of the current one. Every `log` call ends with
/// its bytes handed to the OS (a partial last page is written as far as it is filled);
/// `sync` makes them durable. A failed `log` is undone: the file is cut back and the page
/// restored, so a failed write never leaves half a record behind.
pub struct SegmentWriter {
    dir: PathBuf,
    segment_size: u64,
    file: File,
    index: u32,
    page: Box<[u8]>,
    /// Bytes of `page` filled, and of those already written to the file.
    alloc: usize,
    flushed: usize,
    /// Complete pages in the current segment.
    done_pages: usize,
    /// The page's filled prefix at the start of a `log` call, to restore on failure.
    undo_page: Vec<u8>,
    /// A failed `log` could not cut its bytes off again: the next `log` starts a new
    /// segment rather than append after them.
    broken: bool,
    /// Tests: bytes the "disk" still takes before writes fail with ENOSPC (after writing
    /// what fits, as a real full disk can).
    #[cfg(test)]
    pub(crate) space: Option<u64>,
    /// Tests: cutting a failed write off fails too.
    #[cfg(test)]
    pub(crate) fail_truncate: bool,
}

impl SegmentWriter {
    /// Creates segment `index` in `dir` (which must not exist yet) and writes there.
    pub fn create(dir: &Path, index: u32, segment_size: u64) -> io::Result<SegmentWriter> {
        let file = create_segment(dir, index)?;
        Ok(SegmentWriter {
            dir: dir.to_path_buf(),
            segment_size: segment_size.max(PAGE_SIZE as u64),
            file,
            index,
            page: vec![0u8; PAGE_SIZE].into_boxed_slice(),
            alloc: 0,
            flushed: 0,
            done_pages: 0,
            undo_page: Vec::new(),
            broken: false,
            #[cfg(test)]
            space: None,
            #[cfg(test)]
            fail_truncate: false,
        })
    }

    /// The index of the segment being written.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Bytes written to the current segment so far.
    pub fn offset(&self) -> u64 {
        (self.done_pages * PAGE_SIZE + self.flushed) as u64
    }

    /// fsyncs the current segment's data.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// A second handle on the current segment, to fsync without holding the writer.
    pub fn file_handle(&self) -> io::Result<File> {
        self.file.try_clone()
    }

    /// Appends `recs` (in order) and writes them through to the OS. On error nothing of
    /// this call remains in the current segment.
    pub fn log(&mut self, recs: &[&[u8]]) -> io::Result<()> {
        if self.broken {
            self.open_next()?;
            self.broken = false;
        }
        let start_index = self.index;
        let start_len = self.offset();
        let (start_alloc, start_done) = (self.alloc, self.done_pages);
        self.undo_page.clear();
        self.undo_page.extend_from_slice(&self.page[..self.alloc]);
        let mut result = Ok(());
        for rec in recs {
            result = self.log_one(rec);
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() && self.alloc > self.flushed {
            result = self.flush_page(false);
        }
        if let Err(e) = result {
            self.page.fill(0);
            if self.index == start_index {
                self.page[..start_alloc].copy_from_slice(&self.undo_page);
                self.alloc = start_alloc;
                self.done_pages = start_done;
                // What this call wrote is cut off again (a disk-full write may have
                // landed in part). The prefix of the page was already on disk.
                self.flushed = start_alloc;
                self.broken = self.truncate(start_len).is_err();
            } else {
                // The previous segment was completed and padded before the rollover;
                // the new one keeps nothing of this call.
                self.alloc = 0;
                self.flushed = 0;
                self.done_pages = 0;
                self.broken = self.truncate(0).is_err();
            }
            return Err(e);
        }
        Ok(())
    }

    fn full(&self) -> bool {
        PAGE_SIZE - self.alloc < HEADER_SIZE
    }

    fn log_one(&mut self, rec: &[u8]) -> io::Result<()> {
        if self.full() {
            self.flush_page(true)?;
        }
        // Room left in this segment: the rest of this page and every page after it, each
        // less one header. A record that does not fit starts a new segment (a record
        // larger than a whole segment then makes that segment larger, as in Prometheus).
        let pages = (self.segment_size / PAGE_SIZE as u64) as usize;
        let left = (PAGE_SIZE - self.alloc - HEADER_SIZE)
            + (PAGE_SIZE - HEADER_SIZE) * pages.saturating_sub(self.done_pages + 1);
        if rec.len() > left {
            self.next_segment()?;
        }
        let mut rest = rec;
        let mut first = true;
        while first || !rest.is_empty() {
            let n = rest.len().min(PAGE_SIZE - self.alloc - HEADER_SIZE);
            let (part, tail) = rest.split_at(n);
            let typ = match (first, tail.is_empty()) {
                (true, true) => FRAG_FULL,
                (true, false) => FRAG_FIRST,
                (false, true) => FRAG_LAST,
                (false, false) => FRAG_MIDDLE,
            };
            let at = self.alloc;
            self.page[at] = typ;
            self.page[at + 1..at + 3].copy_from_slice(&(n as u16).to_be_bytes());
            self.page[at + 3..at + 7].copy_from_slice(&crc32c::crc32c(part).to_be_bytes());
            self.page[at + HEADER_SIZE..at + HEADER_SIZE + n].copy_from_slice(part);
            self.alloc += HEADER_SIZE + n;
            if self.full() {
                self.flush_page(true)?;
            }
            rest = tail;
            first = false;
        }
        Ok(())
    }

    /// Writes the unwritten part of the page; with `clear` (or when the page is full),
    /// writes it to its end (zero padding) and starts a new page.
    fn flush_page(&mut self, clear: bool) -> io::Result<()> {
        let clear = clear || self.full();
        if clear {
            self.alloc = PAGE_SIZE;
        }
        self.write_out(self.flushed, self.alloc)?;
        self.flushed = self.alloc;
        if clear {
            self.page.fill(0);
            self.alloc = 0;
            self.flushed = 0;
            self.done_pages += 1;
        }
        Ok(())
    }

    /// Cuts the current segment back to `len` bytes.
    fn truncate(&self, len: u64) -> io::Result<()> {
        #[cfg(test)]
        if self.fail_truncate {
            return Err(io::Error::other("truncate failed (test)"));
        }
        self.file.set_len(len)
    }

    /// Writes `page[from..to]` to the segment.
    fn write_out(&mut self, from: usize, to: usize) -> io::Result<()> {
        #[cfg(test)]
        if let Some(space) = self.space {
            let n = (to - from).min(usize::try_from(space).unwrap_or(usize::MAX));
            self.file.write_all(&self.page[from..from + n])?;
            self.space = Some(space - n as u64);
            if n < to - from {
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            return Ok(());
        }
        self.file.write_all(&self.page[from..to])
    }

    /// Pads and fsyncs the current segment and starts the next one.
    fn next_segment(&mut self) -> io::Result<()> {
        if self.alloc > 0 {
            self.flush_page(true)?;
        }
        self.file.sync_data()?;
        self.open_next()
    }

    /// Starts writing segment `index + 1` (the current one is left as it is).
    fn open_next(&mut self) -> io::Result<()> {
        let next = self
            .index
            .checked_add(1)
            .ok_or_else(|| io::Error::other("WAL segment numbers exhausted"))?;
        self.file = create_segment(&self.dir, next)?;
        self.index = next;
        self.page.fill(0);
        self.done_pages = 0;
        self.alloc = 0;
        self.flushed = 0;
        Ok(())
    }
}

fn create_segment(dir: &Path, index: u32) -> io::Result<File> {
    let path = dir.join(segment_name(index));
    let f = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("create {}: {e}", path.display())))?;
    // Make the new name durable, so a crash cannot lose a segment that was synced.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(f)
}
