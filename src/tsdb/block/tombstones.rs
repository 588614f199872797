//! The `tombstones` file: magic 0x0130BA30, format version 1, then entries `series ref
//! <uvarint64> | mint <varint64> | maxt <varint64>` (deleted time ranges, inclusive), then the
//! CRC32C of the entries. A new block gets an empty one; `Db::delete` rewrites it
//! atomically (`write`: temp file, fsync, rename) with the intervals it adds; the reader
//! loads kmon's and Prometheus's so deleted samples stay hidden.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use super::BlockError;
use super::encoding::{Dec, Enc, crc32c};

pub const TOMBSTONES_FILE: &str = "tombstones";
pub const MAGIC_TOMBSTONES: u32 = 0x0130_BA30;
const FORMAT_V1: u8 = 1;

/// Deleted ranges per series ID, each `(mint, maxt)` inclusive.
pub type Tombstones = HashMap<u64, Vec<(i64, i64)>>;

/// Writes an empty tombstones file to `dir`.
pub fn write_empty(dir: &Path) -> Result<(), BlockError> {
    let path = dir.join(TOMBSTONES_FILE);
    let mut e = Enc::new();
    e.put_be32(MAGIC_TOMBSTONES);
    e.put_u8(FORMAT_V1);
    e.put_crc_of(e.len());
    let mut f = std::fs::File::create(&path).map_err(|err| BlockError::io(&path, err))?;
    f.write_all(&e.b)
        .map_err(|err| BlockError::io(&path, err))?;
    f.sync_all().map_err(|err| BlockError::io(&path, err))
}

/// Adds `[mint, maxt]` to a series' sorted list of deleted ranges, merging it with the
/// ranges it overlaps or touches (as Prometheus's `Intervals.Add`).
pub fn add_interval(list: &mut Vec<(i64, i64)>, mint: i64, maxt: i64) {
    list.push((mint, maxt));
    list.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(list.len());
    for &(a, z) in list.iter() {
        match out.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(z),
            _ => out.push((a, z)),
        }
    }
    *list = out;
}

/// The number of intervals (what `meta.json`'s `numTombstones` counts).
pub fn total(t: &Tombstones) -> u64 {
    t.values().map(|v| v.len() as u64).sum()
}

/// The file's bytes for `t`: entries by series ref, then by time.
pub fn encode(t: &Tombstones) -> Vec<u8> {
    let mut e = Enc::new();
    e.put_be32(MAGIC_TOMBSTONES);
    e.put_u8(FORMAT_V1);
    let mut refs: Vec<&u64> = t.keys().collect();
    refs.sort_unstable();
    for r in refs {
        for &(mint, maxt) in &t[r] {
            e.put_uvarint(*r);
            e.put_varint(mint);
            e.put_varint(maxt);
        }
    }
    e.put_crc_of(5);
    e.b
}

/// Replaces `dir/tombstones` with `t`: written to a temp file, synced, renamed over the
/// old file, and the directory synced, so a crash leaves the old or the new file whole.
pub fn write(dir: &Path, t: &Tombstones) -> Result<(), BlockError> {
    let path = dir.join(TOMBSTONES_FILE);
    let tmp = dir.join(format!("{TOMBSTONES_FILE}.tmp"));
    let write_tmp = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&encode(t))?;
        f.sync_all()
    };
    write_tmp().map_err(|err| BlockError::io(&tmp, err))?;
    std::fs::rename(&tmp, &path).map_err(|err| BlockError::io(&path, err))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|err| BlockError::io(dir, err))
}

/// Reads `dir/tombstones`; a missing file means none.
pub fn read(dir: &Path) -> Result<Tombstones, BlockError> {
    let path = dir.join(TOMBSTONES_FILE);
    let b = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Tombstones::new()),
        Err(e) => return Err(BlockError::io(&path, e)),
    };
    if b.len() < 9 {
        return Err(BlockError::corrupt(
            &path,
            0,
            format!("tombstones file of {} bytes is too short", b.len()),
        ));
    }
    let mut d = Dec::new(&b, 0, &path);
    let magic = d.be32("tombstones magic")?;
    if magic != MAGIC_TOMBSTONES {
        return Err(BlockError::corrupt(
            &path,
            0,
            format!("bad magic {magic:08x}, want {MAGIC_TOMBSTONES:08x}"),
        ));
    }
    let v = d.u8("tombstones version")?;
    if v != FORMAT_V1 {
        return Err(BlockError::corrupt(
            &path,
            4,
            format!("unsupported tombstones version {v}"),
        ));
    }
    let body = &b[5..b.len() - 4];
    let tail = &b[b.len() - 4..];
    let want = u32::from_be_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let got = crc32c(body);
    if want != got {
        return Err(BlockError::corrupt(
            &path,
            (b.len() - 4) as u64,
            format!("tombstones checksum mismatch (stored {want:08x}, computed {got:08x})"),
        ));
    }
    let mut d = Dec::new(body, 5, &path);
    let mut out = Tombstones::new();
    while !d.is_empty() {
        let r = d.uvarint("tombstone series ref")?;
        let mint = d.varint("tombstone mint")?;
        let maxt = d.varint("tombstone maxt")?;
        out.entry(r).or_default().push((mint, maxt));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_round_trips_and_bad_crc_is_named() {
        let dir = tempfile::tempdir().unwrap();
        write_empty(dir.path()).unwrap();
        let b = std::fs::read(dir.path().join(TOMBSTONES_FILE)).unwrap();
        assert_eq!(b, [0x01, 0x30, 0xBA, 0x30, 1, 0, 0, 0, 0]);
        assert!(read(dir.path()).unwrap().is_empty());

        let mut e = Enc::new();
        e.put_be32(MAGIC_TOMBSTONES);
        e.put_u8(1);
        e.put_uvarint(7);
        e.put_varint(100);
        e.put_varint(200);
        e.put_crc_of(5);
        std::fs::write(dir.path().join(TOMBSTONES_FILE), &e.b).unwrap();
        assert_eq!(read(dir.path()).unwrap()[&7], vec![(100, 200)]);
        let n = e.b.len();
        e.b[n - 1] ^= 1;
        std::fs::write(dir.path().join(TOMBSTONES_FILE), &e.b).unwrap();
        let err = read(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("tombstones") && err.contains("checksum"),
            "{err}"
        );
    }

    #[test]
    fn intervals_merge_and_write_round_trips() {
        let mut v = Vec::new();
        add_interval(&mut v, 10, 20);
        add_interval(&mut v, 30, 40);
        assert_eq!(v, vec![(10, 20), (30, 40)]);
        add_interval(&mut v, 21, 25);
        assert_eq!(v, vec![(10, 25), (30, 40)]);
        add_interval(&mut v, 0, 35);
        assert_eq!(v, vec![(0, 40)]);
        add_interval(&mut v, i64::MIN, i64::MAX);
        assert_eq!(v, vec![(i64::MIN, i64::MAX)]);

        let dir = tempfile::tempdir().unwrap();
        let mut t = Tombstones::new();
        t.insert(9, vec![(-5, 5), (100, 200)]);
        t.insert(3, vec![(i64::MIN, i64::MAX)]);
        write(dir.path(), &t).unwrap();
        assert_eq!(read(dir.path()).unwrap(), t);
        assert_eq!(total(&t), 3);
        assert!(!dir.path().join("tombstones.tmp").exists());
    }
}
