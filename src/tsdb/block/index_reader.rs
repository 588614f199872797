//! Reads a block's `index` file (format v2) from a memory map: checks the magic, version
//! and TOC, loads the symbol table and the postings offset table at open, and decodes
//! series, postings lists and label values on demand, checking each section's CRC32C and
//! every bound. `Block` and its querier use it; matchers resolve to series IDs here.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::BlockError;
use super::encoding::{Dec, crc32c, section};
use super::index_writer::{ChunkMeta, HEADER_LEN, INDEX_FORMAT_V2, MAGIC_INDEX, TOC_LEN, Toc};
use crate::model::{Label, Labels, MatchOp, Matcher};
use crate::tsdb::postings::{intersect, subtract, union_many};

/// One label name's values (sorted) with the offsets of their postings lists.
type ValueOffsets = Vec<(Box<str>, u64)>;

pub struct IndexReader {
    path: PathBuf,
    map: Mmap,
    toc: Toc,
    /// (start, len) of each symbol's bytes in the map; validated UTF-8.
    symbols: Vec<(usize, usize)>,
    /// Label name → its values and postings offsets; sorted by name. The empty name holds
    /// the all-series list.
    postings: Vec<(Box<str>, ValueOffsets)>,
    by_name: HashMap<Box<str>, usize>,
}

impl IndexReader {
    pub fn open(path: &Path) -> Result<IndexReader, BlockError> {
        let f = File::open(path).map_err(|e| BlockError::io(path, e))?;
        let len = f.metadata().map_err(|e| BlockError::io(path, e))?.len();
        if len < (HEADER_LEN + TOC_LEN) as u64 {
            return Err(BlockError::corrupt(
                path,
                0,
                format!("index of {len} bytes is shorter than header and TOC"),
            ));
        }
        // SAFETY: block files are immutable once written; kmon never writes into a
        // finished block, and the map is only read through bounds-checked slices.
        let map = unsafe { Mmap::map(&f) }.map_err(|e| BlockError::io(path, e))?;
        let mut r = IndexReader {
            path: path.to_path_buf(),
            map,
            toc: Toc::default(),
            symbols: Vec::new(),
            postings: Vec::new(),
            by_name: HashMap::new(),
        };
        r.read_header()?;
        r.read_symbols()?;
        r.read_postings_table()?;
        Ok(r)
    }

    fn read_header(&mut self) -> Result<(), BlockError> {
        let b: &[u8] = &self.map;
        let mut d = Dec::new(b, 0, &self.path);
        let magic = d.be32("index magic")?;
        if magic != MAGIC_INDEX {
            return Err(d.err(format!("bad magic {magic:08x}, want {MAGIC_INDEX:08x}")));
        }
        let v = d.u8("index version")?;
        if v != INDEX_FORMAT_V2 {
            return Err(BlockError::corrupt(
                &self.path,
                4,
                format!("unsupported index format version {v} (kmon reads v2)"),
            ));
        }
        let at = b.len() - TOC_LEN;
        let want = u32::from_be_bytes([
            b[b.len() - 4],
            b[b.len() - 3],
            b[b.len() - 2],
            b[b.len() - 1],
        ]);
        let got = crc32c(&b[at..b.len() - 4]);
        if want != got {
            return Err(BlockError::corrupt(
                &self.path,
                at as u64,
                format!("TOC checksum mismatch (stored {want:08x}, computed {got:08x})"),
            ));
        }
        let mut d = Dec::new(&b[at..], at, &self.path);
        let mut next = || d.be64("TOC");
        self.toc = Toc {
            symbols: next()?,
            series: next()?,
            label_indices: next()?,
            label_offset_table: next()?,
            postings: next()?,
            postings_table: next()?,
        };
        for (name, off) in [
            ("symbols", self.toc.symbols),
            ("series", self.toc.series),
            ("label indices", self.toc.label_indices),
            ("label offset table", self.toc.label_offset_table),
            ("postings", self.toc.postings),
            ("postings offset table", self.toc.postings_table),
        ] {
            if off > at as u64 {
                return Err(BlockError::corrupt(
                    &self.path,
                    at as u64,
                    format!("TOC: {name} offset {off} lies past the TOC"),
                ));
            }
        }
        Ok(())
    }

    fn read_symbols(&mut self) -> Result<(), BlockError> {
        let mut d = section(
            &self.map,
            self.toc.symbols as usize,
            &self.path,
            "symbol table",
        )?;
        let n = d.be32("symbol count")? as usize;
        let mut symbols = Vec::with_capacity(n.min(d.remaining()));
        for _ in 0..n {
            let s = d.uvarint_str("symbol")?;
            symbols.push((d.offset() - s.len(), s.len()));
        }
        self.symbols = symbols;
        Ok(())
    }

    fn read_postings_table(&mut self) -> Result<(), BlockError> {
        let mut d = section(
            &self.map,
            self.toc.postings_table as usize,
            &self.path,
            "postings offset table",
        )?;
        let n = d.be32("postings offset count")?;
        let mut postings: Vec<(Box<str>, ValueOffsets)> = Vec::new();
        for _ in 0..n {
            let at = d.offset();
            let keys = d.uvarint("postings offset key count")?;
            if keys != 2 {
                return Err(BlockError::corrupt(
                    &self.path,
                    at as u64,
                    format!("postings offset entry with {keys} keys, want 2"),
                ));
            }
            let name = d.uvarint_str("label name")?;
            let value = d.uvarint_str("label value")?;
            let off = d.uvarint("postings offset")?;
            match postings.last_mut() {
                Some((last, values)) if **last == *name => {
                    if values.last().is_some_and(|(v, _)| **v >= *value) {
                        return Err(BlockError::corrupt(
                            &self.path,
                            at as u64,
                            format!("postings offset table not sorted at {name}={value:?}"),
                        ));
                    }
                    values.push((value.into(), off));
                }
                last => {
                    if last.is_some_and(|(l, _)| **l > *name) {
                        return Err(BlockError::corrupt(
                            &self.path,
                            at as u64,
                            format!("postings offset table not sorted at label {name}"),
                        ));
                    }
                    postings.push((name.into(), vec![(value.into(), off)]));
                }
            }
        }
        self.by_name = postings
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.clone(), i))
            .collect();
        self.postings = postings;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn size_bytes(&self) -> u64 {
        self.map.len() as u64
    }

    pub fn num_symbols(&self) -> usize {
        self.symbols.len()
    }

    /// Symbol number `i`.
    pub fn symbol(&self, i: u32, at: usize) -> Result<&str, BlockError> {
        let Some(&(start, len)) = self.symbols.get(i as usize) else {
            return Err(BlockError::corrupt(
                &self.path,
                at as u64,
                format!(
                    "symbol ref {i} out of range ({} symbols)",
                    self.symbols.len()
                ),
            ));
        };
        let b = &self.map[start..start + len];
        // SAFETY: `read_symbols` checked these bytes as UTF-8 (`uvarint_str`) and the map
        // never changes (block files are immutable, see `open`).
        Ok(unsafe { std::str::from_utf8_unchecked(b) })
    }

    /// All label names, sorted (without the empty name of the all-series list).
    pub fn label_names(&self) -> Vec<String> {
        self.postings
            .iter()
            .filter(|(n, _)| !n.is_empty())
            .map(|(n, _)| n.to_string())
            .collect()
    }

    /// All values of `name`, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.values_of(name)
            .iter()
            .map(|(v, _)| v.to_string())
            .collect()
    }

    fn values_of(&self, name: &str) -> &[(Box<str>, u64)] {
        match self.by_name.get(name) {
            Some(&i) => &self.postings[i].1,
            None => &[],
        }
    }

    /// The series IDs under `(name, value)`, sorted; empty when the pair does not exist.
    pub fn postings(&self, name: &str, value: &str) -> Result<Vec<u64>, BlockError> {
        let values = self.values_of(name);
        match values.binary_search_by(|(v, _)| (**v).cmp(value)) {
            Ok(i) => self.postings_at(values[i].1),
            Err(_) => Ok(Vec::new()),
        }
    }

    /// Every series ID in the block, in label order.
    pub fn all_postings(&self) -> Result<Vec<u64>, BlockError> {
        self.postings("", "")
    }

    fn postings_at(&self, off: u64) -> Result<Vec<u64>, BlockError> {
        let mut d = section(&self.map, off as usize, &self.path, "postings list")?;
        let n = d.be32("postings count")? as usize;
        if n.checked_mul(4) != Some(d.remaining()) {
            return Err(d.err(format!(
                "postings list of {n} entries in {} bytes",
                d.remaining()
            )));
        }
        let mut out = Vec::with_capacity(n);
        let mut prev = None;
        for _ in 0..n {
            let id = u64::from(d.be32("series ref")?);
            if prev.is_some_and(|p| p >= id) {
                return Err(d.err("postings list not strictly increasing"));
            }
            prev = Some(id);
            out.push(id);
        }
        Ok(out)
    }

    /// The union of the postings of the values of `name` that `keep` accepts.
    fn postings_where(
        &self,
        name: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<u64>, BlockError> {
        let mut lists = Vec::new();
        for (v, off) in self.values_of(name) {
            if keep(v) {
                lists.push(self.postings_at(*off)?);
            }
        }
        let refs: Vec<&[u64]> = lists.iter().map(Vec::as_slice).collect();
        Ok(union_many(&refs).into_owned())
    }

    /// The sorted IDs of the series whose labels satisfy every matcher (a missing label
    /// reads as ""): intersect what the matchers that need the label select, then remove
    /// what the matchers that accept "" exclude.
    pub fn postings_for_matchers(&self, matchers: &[Matcher]) -> Result<Vec<u64>, BlockError> {
        let mut positive: Vec<Vec<u64>> = Vec::new();
        let mut negative: Vec<Vec<u64>> = Vec::new();
        for m in matchers {
            if m.matches_empty() {
                let list = match m.op {
                    MatchOp::NotEqual => self.postings(&m.name, &m.value)?,
                    _ => self.postings_where(&m.name, |v| !m.matches(v))?,
                };
                negative.push(list);
            } else {
                let list = match m.op {
                    MatchOp::Equal => self.postings(&m.name, &m.value)?,
                    _ => self.postings_where(&m.name, |v| m.matches(v))?,
                };
                if list.is_empty() {
                    return Ok(Vec::new());
                }
                positive.push(list);
            }
        }
        let mut result = if positive.is_empty() {
            self.all_postings()?
        } else {
            positive.sort_by_key(Vec::len);
            let mut lists = positive.into_iter();
            let mut acc = lists.next().unwrap_or_default();
            for l in lists {
                acc = intersect(&acc, &l);
            }
            acc
        };
        for n in &negative {
            if !n.is_empty() && !result.is_empty() {
                result = subtract(&result, n);
            }
        }
        Ok(result)
    }

    /// The labels and chunk metas of series `id`.
    pub fn series(&self, id: u64) -> Result<(Labels, Vec<ChunkMeta>), BlockError> {
        let mut metas = Vec::new();
        let labels = self.series_into(id, &mut metas)?;
        Ok((labels, metas))
    }

    /// The labels of series `id`; its chunk metas replace the contents of `metas` (a
    /// buffer a caller reading many series reuses).
    pub fn series_into(&self, id: u64, metas: &mut Vec<ChunkMeta>) -> Result<Labels, BlockError> {
        metas.clear();
        let off = id.saturating_mul(16);
        let end = (self.map.len() - TOC_LEN) as u64;
        if off < self.toc.series || off >= end {
            return Err(BlockError::corrupt(
                &self.path,
                off.min(end),
                format!("series ref {id} points outside the series section"),
            ));
        }
        let off = off as usize;
        let mut d = Dec::new(&self.map[off..end as usize], off, &self.path);
        let len = d.uvarint("series length")?;
        let len = usize::try_from(len).map_err(|_| d.err("series length"))?;
        let start = d.offset();
        let body = d.bytes(len, "series entry")?;
        let want = d.be32("series checksum")?;
        let got = crc32c(body);
        if want != got {
            return Err(BlockError::corrupt(
                &self.path,
                off as u64,
                format!("series checksum mismatch (stored {want:08x}, computed {got:08x})"),
            ));
        }
        let mut d = Dec::new(body, start, &self.path);
        let n = d.uvarint("label count")? as usize;
        // The symbol refs first (checked), then the set is encoded straight from the
        // symbol table: no allocation per label.
        let mut small = [(0u32, 0u32); 24];
        let mut large = Vec::new();
        for i in 0..n {
            let at = d.offset();
            let name = d.uvarint32("label name ref")?;
            self.symbol(name, at)?;
            let at = d.offset();
            let value = d.uvarint32("label value ref")?;
            self.symbol(value, at)?;
            match small.get_mut(i) {
                Some(slot) if large.is_empty() => *slot = (name, value),
                _ => {
                    if large.is_empty() {
                        large.extend_from_slice(&small);
                    }
                    large.push((name, value));
                }
            }
        }
        let refs = if large.is_empty() {
            &small[..n]
        } else {
            &large[..]
        };
        // Checked above; "" cannot come back.
        let sym = |r: u32| self.symbol(r, 0).unwrap_or("");
        let pairs = refs.iter().map(|&(a, b)| (sym(a), sym(b)));
        // A well-formed index stores the pairs sorted, unique and non-empty; anything
        // else is normalised as `Labels::new` does.
        let labels = Labels::from_sorted_pairs(pairs.clone())
            .unwrap_or_else(|| Labels::new(pairs.map(|(a, b)| Label::new(a, b)).collect()));
        let n = d.uvarint("chunk count")? as usize;
        metas.reserve(n.min(body.len()));
        for i in 0..n {
            let m = if i == 0 {
                let min_t = d.varint("chunk mint")?;
                let len = d.uvarint("chunk time span")?;
                let r = d.uvarint("chunk ref")?;
                ChunkMeta {
                    min_t,
                    max_t: min_t.wrapping_add(len as i64),
                    r,
                }
            } else {
                let p = metas[i - 1];
                let min_t = p.max_t.wrapping_add(d.uvarint("chunk mint delta")? as i64);
                let len = d.uvarint("chunk time span")?;
                let r = p.r.wrapping_add(d.varint("chunk ref delta")? as u64);
                ChunkMeta {
                    min_t,
                    max_t: min_t.wrapping_add(len as i64),
                    r,
                }
            };
            metas.push(m);
        }
        Ok(labels)
    }

    /// Reads every label index and the label offset table (not needed for queries; the
    /// full check uses it). Returns how many label indices there are.
    pub fn check_label_indices(&self) -> Result<usize, BlockError> {
        let mut d = section(
            &self.map,
            self.toc.label_offset_table as usize,
            &self.path,
            "label offset table",
        )?;
        let n = d.be32("label offset count")?;
        for _ in 0..n {
            let at = d.offset();
            if d.uvarint("label offset key count")? != 1 {
                return Err(BlockError::corrupt(
                    &self.path,
                    at as u64,
                    "label offset entry needs 1 key",
                ));
            }
            let name = d.uvarint_str("label name")?;
            let off = d.uvarint("label index offset")?;
            let mut li = section(&self.map, off as usize, &self.path, "label index")?;
            let names = li.be32("label index name count")?;
            let entries = li.be32("label index entry count")?;
            if names != 1 || (entries as usize).checked_mul(4) != Some(li.remaining()) {
                return Err(li.err(format!("label index of {name} is malformed")));
            }
            for _ in 0..entries {
                let at = li.offset();
                self.symbol(li.be32("label value ref")?, at)?;
            }
        }
        Ok(n as usize)
    }
}
