//! The `tombstones` file: magic 0x0130BA30, format version 1, then entries `series ref
//! <uvarint64> | mint <varint64> | maxt <varint64>` (deleted time ranges, inclusive), then the
//! CRC32C of the entries. kmon writes it empty; the reader loads Prometheus's so deleted
//! samples stay hidden.

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
}
