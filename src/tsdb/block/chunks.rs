//! Chunk segment files (`chunks/000001`, …): an 8-byte header (magic 0x85BD40DD, format
//! version 1, three bytes of padding), then chunks, each as `len <uvarint> | encoding <1b> |
//! data | CRC32C(encoding, data)`. A chunk's ref is `segment index << 32 | offset`. The
//! block writer appends through `ChunkWriter`; `Block` reads through `ChunkReader`, which
//! memory-maps the segments and checks every bound and checksum.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use super::BlockError;
use super::encoding::{Dec, Enc, crc32c};

pub const MAGIC_CHUNKS: u32 = 0x85BD_40DD;
pub const CHUNKS_FORMAT_V1: u8 = 1;
pub const SEGMENT_HEADER_LEN: u64 = 8;
/// The encoding byte of an XOR (float) chunk.
pub const ENCODING_XOR: u8 = 1;

/// The file name of segment number `n` (1-based).
fn segment_name(n: usize) -> String {
    format!("{n:06}")
}

/// Appends chunks to segment files in a `chunks/` directory, cutting a new file when the
/// current one would pass `max_bytes`.
pub struct ChunkWriter {
    dir: PathBuf,
    max_bytes: u64,
    /// Segments started so far; the current one has index `segments - 1`.
    segments: usize,
    cur: Option<(BufWriter<File>, PathBuf)>,
    pos: u64,
    buf: Enc,
}

impl ChunkWriter {
    pub fn new(dir: &Path, max_bytes: u64) -> Result<Self, BlockError> {
        std::fs::create_dir_all(dir).map_err(|e| BlockError::io(dir, e))?;
        Ok(ChunkWriter {
            dir: dir.to_path_buf(),
            max_bytes,
            segments: 0,
            cur: None,
            pos: 0,
            buf: Enc::new(),
        })
    }

    /// Writes one chunk (`data` is the whole encoded chunk, header included) and returns
    /// its ref.
    pub fn write(&mut self, encoding: u8, data: &[u8]) -> Result<u64, BlockError> {
        self.buf.b.clear();
        self.buf.put_uvarint(data.len() as u64);
        let crc_from = self.buf.len();
        self.buf.put_u8(encoding);
        self.buf.put_bytes(data);
        self.buf.put_crc_of(crc_from);
        let size = self.buf.len() as u64;
        if self.cur.is_none() || (self.pos > SEGMENT_HEADER_LEN && self.pos + size > self.max_bytes)
        {
            self.cut()?;
        }
        if self.pos + size > u64::from(u32::MAX) {
            return Err(BlockError::Invalid(format!(
                "chunk of {size} bytes does not fit a segment"
            )));
        }
        let r = ((self.segments as u64 - 1) << 32) | self.pos;
        let Some((w, path)) = &mut self.cur else {
            return Err(BlockError::Invalid("no open chunk segment".into()));
        };
        w.write_all(&self.buf.b)
            .map_err(|e| BlockError::io(path, e))?;
        self.pos += size;
        Ok(r)
    }

    fn cut(&mut self) -> Result<(), BlockError> {
        self.finish_current()?;
        self.segments += 1;
        let path = self.dir.join(segment_name(self.segments));
        let f = File::create(&path).map_err(|e| BlockError::io(&path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let mut h = Enc::new();
        h.put_be32(MAGIC_CHUNKS);
        h.put_u8(CHUNKS_FORMAT_V1);
        h.put_bytes(&[0, 0, 0]);
        w.write_all(&h.b).map_err(|e| BlockError::io(&path, e))?;
        self.pos = SEGMENT_HEADER_LEN;
        self.cur = Some((w, path));
        Ok(())
    }

    fn finish_current(&mut self) -> Result<(), BlockError> {
        if let Some((w, path)) = self.cur.take() {
            let f = w
                .into_inner()
                .map_err(|e| BlockError::io(&path, e.into_error()))?;
            f.sync_all().map_err(|e| BlockError::io(&path, e))?;
        }
        Ok(())
    }

    /// Flushes and syncs the last segment.
    pub fn finish(mut self) -> Result<(), BlockError> {
        self.finish_current()
    }
}

/// The memory-mapped segments of a block's `chunks/` directory.
pub struct ChunkReader {
    segments: Vec<(PathBuf, Arc<Mmap>)>,
}

/// A chunk's bytes inside a shared segment map: what a query iterates without copying
/// them out (the map lives as long as any of these).
#[derive(Clone)]
pub struct MappedBytes {
    map: Arc<Mmap>,
    start: usize,
    end: usize,
}

impl AsRef<[u8]> for MappedBytes {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        &self.map[self.start..self.end]
    }
}

impl ChunkReader {
    pub fn open(dir: &Path) -> Result<Self, BlockError> {
        let mut files: Vec<(u64, PathBuf)> = Vec::new();
        for e in std::fs::read_dir(dir).map_err(|e| BlockError::io(dir, e))? {
            let e = e.map_err(|e| BlockError::io(dir, e))?;
            let name = e.file_name();
            if let Some(n) = name.to_str().and_then(|s| s.parse::<u64>().ok()) {
                files.push((n, e.path()));
            }
        }
        files.sort();
        let mut segments = Vec::with_capacity(files.len());
        for (_, path) in files {
            let f = File::open(&path).map_err(|e| BlockError::io(&path, e))?;
            let len = f.metadata().map_err(|e| BlockError::io(&path, e))?.len();
            if len < SEGMENT_HEADER_LEN {
                return Err(BlockError::corrupt(
                    &path,
                    0,
                    format!("segment of {len} bytes is shorter than its header"),
                ));
            }
            // SAFETY: block files are immutable once written; kmon never writes into a
            // finished block, and the map is only read through bounds-checked slices.
            let map = unsafe { Mmap::map(&f) }.map_err(|e| BlockError::io(&path, e))?;
            let mut d = Dec::new(&map, 0, &path);
            let magic = d.be32("segment magic")?;
            if magic != MAGIC_CHUNKS {
                return Err(BlockError::corrupt(
                    &path,
                    0,
                    format!("bad magic {magic:08x}, want {MAGIC_CHUNKS:08x}"),
                ));
            }
            let v = d.u8("segment version")?;
            if v != CHUNKS_FORMAT_V1 {
                return Err(BlockError::corrupt(
                    &path,
                    4,
                    format!("unsupported chunk format version {v}"),
                ));
            }
            segments.push((path, Arc::new(map)));
        }
        Ok(ChunkReader { segments })
    }

    /// The bytes of all segment files.
    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(|(_, m)| m.len() as u64).sum()
    }

    /// The segment file a chunk ref names (for error messages).
    pub fn segment_path(&self, r: u64) -> Option<&Path> {
        self.segments
            .get((r >> 32) as usize)
            .map(|(p, _)| p.as_path())
    }

    /// The chunk at `r` as (encoding, data), after checking its checksum.
    pub fn chunk(&self, r: u64) -> Result<(u8, &[u8]), BlockError> {
        let (seg, enc, start, end) = self.locate(r)?;
        Ok((enc, &self.segments[seg].1[start..end]))
    }

    /// `chunk`, with the data as a handle on the shared map instead of a borrow.
    pub fn chunk_shared(&self, r: u64) -> Result<(u8, MappedBytes), BlockError> {
        let (seg, enc, start, end) = self.locate(r)?;
        let map = self.segments[seg].1.clone();
        Ok((enc, MappedBytes { map, start, end }))
    }

    /// The segment, encoding and data range of the chunk at `r`, its checksum checked.
    fn locate(&self, r: u64) -> Result<(usize, u8, usize, usize), BlockError> {
        let seg = (r >> 32) as usize;
        let off = (r & 0xffff_ffff) as usize;
        let Some((path, map)) = self.segments.get(seg) else {
            let path = self.segments.first().map(|(p, _)| p.as_path());
            let path = path.and_then(Path::parent).unwrap_or(Path::new("chunks"));
            return Err(BlockError::corrupt(
                path,
                off as u64,
                format!(
                    "chunk ref {r:#x} names segment {seg}, only {} exist",
                    self.segments.len()
                ),
            ));
        };
        if off < SEGMENT_HEADER_LEN as usize || off >= map.len() {
            return Err(BlockError::corrupt(
                path,
                off as u64,
                format!("chunk ref {r:#x} points outside the segment"),
            ));
        }
        let mut d = Dec::new(&map[off..], off, path);
        let len = d.uvarint("chunk length")?;
        let len = usize::try_from(len).map_err(|_| d.err("chunk length"))?;
        let crc_at = d.offset();
        let enc = d.u8("chunk encoding")?;
        let start = d.offset();
        d.bytes(len, "chunk data")?;
        let want = d.be32("chunk checksum")?;
        let got = crc32c(&map[crc_at..crc_at + 1 + len]);
        if want != got {
            return Err(BlockError::corrupt(
                path,
                off as u64,
                format!("chunk checksum mismatch (stored {want:08x}, computed {got:08x})"),
            ));
        }
        Ok((seg, enc, start, start + len))
    }
}
