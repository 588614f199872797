//! Writes a block's `index` file in Prometheus's index format v2: header, symbol table,
//! series (16-byte aligned, label refs and delta-encoded chunk metas), label indices,
//! postings lists (4-byte aligned, the all-series list under the empty pair first), the
//! label offset table, the postings offset table and the TOC, every section with its
//! CRC32C. `writer::write_block` calls it once the chunks are written.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;

use super::BlockError;
use super::encoding::Enc;
use crate::model::Labels;

pub const MAGIC_INDEX: u32 = 0xBAAA_D700;
pub const INDEX_FORMAT_V2: u8 = 2;
pub const HEADER_LEN: usize = 5;
pub const TOC_LEN: usize = 6 * 8 + 4;
const SERIES_ALIGN: usize = 16;

/// Where one chunk of a series lies: its time range (inclusive) and its chunk ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    pub min_t: i64,
    pub max_t: i64,
    pub r: u64,
}

/// The section offsets the TOC records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Toc {
    pub symbols: u64,
    pub series: u64,
    pub label_indices: u64,
    pub label_offset_table: u64,
    pub postings: u64,
    pub postings_table: u64,
}

fn pad(e: &mut Enc, align: usize) {
    let n = e.len().next_multiple_of(align) - e.len();
    e.b.resize(e.len() + n, 0);
}

/// Writes a `len <4b> | content | CRC` section whose content `body` produces.
fn with_len_and_crc(e: &mut Enc, body: impl FnOnce(&mut Enc)) -> Result<(), BlockError> {
    let at = e.len();
    e.put_be32(0);
    body(e);
    let len = e.len() - at - 4;
    let len32 = u32::try_from(len)
        .map_err(|_| BlockError::Invalid(format!("index section of {len} bytes")))?;
    e.b[at..at + 4].copy_from_slice(&len32.to_be_bytes());
    e.put_crc_of(at + 4);
    Ok(())
}

/// Encodes the index of `series` (sorted by labels, no duplicates, chunk metas in time
/// order without overlap) and writes it to `path`.
pub fn write_index(path: &Path, series: &[(Labels, Vec<ChunkMeta>)]) -> Result<(), BlockError> {
    let b = encode_index(series)?;
    let mut f = std::fs::File::create(path).map_err(|e| BlockError::io(path, e))?;
    f.write_all(&b).map_err(|e| BlockError::io(path, e))?;
    f.sync_all().map_err(|e| BlockError::io(path, e))
}

pub fn encode_index(series: &[(Labels, Vec<ChunkMeta>)]) -> Result<Vec<u8>, BlockError> {
    for w in series.windows(2) {
        if w[0].0 >= w[1].0 {
            return Err(BlockError::Invalid(format!(
                "series out of order or repeated: {} then {}",
                w[0].0, w[1].0
            )));
        }
    }
    // Symbols: every label name and value, sorted; a string's ref is its position.
    // Prometheus's table always starts with the empty string; so does kmon's.
    let mut set: BTreeSet<&str> = BTreeSet::from([""]);
    for (l, _) in series {
        for p in l {
            set.insert(p.name);
            set.insert(p.value);
        }
    }
    let symbols: Vec<&str> = set.into_iter().collect();
    let sym: HashMap<&str, u32> = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as u32))
        .collect();
    let sym_of = |s: &str| sym.get(s).copied().unwrap_or(0);

    let mut e = Enc::new();
    let mut toc = Toc::default();
    e.put_be32(MAGIC_INDEX);
    e.put_u8(INDEX_FORMAT_V2);

    toc.symbols = e.len() as u64;
    with_len_and_crc(&mut e, |e| {
        e.put_be32(symbols.len() as u32);
        for s in &symbols {
            e.put_uvarint_str(s);
        }
    })?;

    // Series, each 16-byte aligned; its ID is offset / 16. Postings by (name, value) refs,
    // which sort as the strings do.
    toc.series = e.len() as u64;
    let mut all: Vec<u32> = Vec::with_capacity(series.len());
    let mut postings: BTreeMap<(u32, u32), Vec<u32>> = BTreeMap::new();
    let mut entry = Enc::new();
    for (labels, metas) in series {
        pad(&mut e, SERIES_ALIGN);
        let id = u32::try_from(e.len() / SERIES_ALIGN)
            .map_err(|_| BlockError::Invalid("index series section passes 64 GiB".into()))?;
        all.push(id);
        entry.b.clear();
        entry.put_uvarint(labels.len() as u64);
        for l in labels {
            let (n, v) = (sym_of(l.name), sym_of(l.value));
            entry.put_uvarint(u64::from(n));
            entry.put_uvarint(u64::from(v));
            postings.entry((n, v)).or_default().push(id);
        }
        encode_chunk_metas(&mut entry, labels, metas)?;
        e.put_uvarint(entry.len() as u64);
        e.put_bytes(&entry.b);
        e.put_crc_of(e.len() - entry.len());
    }

    // Label indices (one per name: its values' symbol refs), kept for old readers.
    toc.label_indices = e.len() as u64;
    let mut by_name: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &(n, v) in postings.keys() {
        by_name.entry(n).or_default().push(v);
    }
    let mut label_offsets: Vec<(u32, u64)> = Vec::with_capacity(by_name.len());
    for (n, values) in &by_name {
        pad(&mut e, 4);
        label_offsets.push((*n, e.len() as u64));
        with_len_and_crc(&mut e, |e| {
            e.put_be32(1);
            e.put_be32(values.len() as u32);
            for v in values {
                e.put_be32(*v);
            }
        })?;
    }

    // Postings lists, 4-byte aligned: all series under ("", ""), then every pair.
    pad(&mut e, 4);
    toc.postings = e.len() as u64;
    let mut postings_offsets: Vec<(&str, &str, u64)> = Vec::with_capacity(postings.len() + 1);
    let lists = std::iter::once(("", "", &all)).chain(
        postings
            .iter()
            .map(|(&(n, v), l)| (symbols[n as usize], symbols[v as usize], l)),
    );
    for (name, value, list) in lists {
        pad(&mut e, 4);
        postings_offsets.push((name, value, e.len() as u64));
        with_len_and_crc(&mut e, |e| {
            e.put_be32(list.len() as u32);
            for id in list {
                e.put_be32(*id);
            }
        })?;
    }

    toc.label_offset_table = e.len() as u64;
    with_len_and_crc(&mut e, |e| {
        e.put_be32(label_offsets.len() as u32);
        for (n, off) in &label_offsets {
            e.put_uvarint(1);
            e.put_uvarint_str(symbols[*n as usize]);
            e.put_uvarint(*off);
        }
    })?;

    toc.postings_table = e.len() as u64;
    with_len_and_crc(&mut e, |e| {
        e.put_be32(postings_offsets.len() as u32);
        for (n, v, off) in &postings_offsets {
            e.put_uvarint(2);
            e.put_uvarint_str(n);
            e.put_uvarint_str(v);
            e.put_uvarint(*off);
        }
    })?;

    let at = e.len();
    for v in [
        toc.symbols,
        toc.series,
        toc.label_indices,
        toc.label_offset_table,
        toc.postings,
        toc.postings_table,
    ] {
        e.put_be64(v);
    }
    e.put_crc_of(at);
    Ok(e.b)
}

/// Chunk count, then the first chunk's mint, length and ref, then for each later chunk its
/// gap after the previous one, its length and its ref delta.
fn encode_chunk_metas(e: &mut Enc, labels: &Labels, metas: &[ChunkMeta]) -> Result<(), BlockError> {
    e.put_uvarint(metas.len() as u64);
    let mut prev: Option<&ChunkMeta> = None;
    for m in metas {
        if m.max_t < m.min_t {
            return Err(BlockError::Invalid(format!(
                "chunk of {labels} ends ({}) before it starts ({})",
                m.max_t, m.min_t
            )));
        }
        let len = m.max_t.wrapping_sub(m.min_t) as u64;
        match prev {
            None => {
                e.put_varint(m.min_t);
                e.put_uvarint(len);
                e.put_uvarint(m.r);
            }
            Some(p) => {
                if m.min_t < p.max_t {
                    return Err(BlockError::Invalid(format!(
                        "chunks of {labels} overlap: one ends at {}, the next starts at {}",
                        p.max_t, m.min_t
                    )));
                }
                e.put_uvarint(m.min_t.wrapping_sub(p.max_t) as u64);
                e.put_uvarint(len);
                e.put_varint(m.r.wrapping_sub(p.r) as i64);
            }
        }
        prev = Some(m);
    }
    Ok(())
}
