//! `kmon tsdb check`: kmon's own consistency check of a data dir, read-only (it writes
//! nothing and takes no lock, so it can run beside a live kmon). Every block is opened and
//! read through `Block::check` (index, every chunk's checksum and XOR decode, postings,
//! label indices, tombstones); the WAL's newest checkpoint and its segments are read end
//! to end without repair, every record decompressed and decoded. Each problem is one line
//! naming the file and offset (a chunk's also names its series and chunk ref); a summary
//! line follows, and the exit code is 1 when anything is wrong. Notes (not problems) name
//! overlapping blocks, leftover `.tmp` dirs and earlier quarantines. Beside a live writer (the
//! data dir's lock held), the newest WAL segment ending inside a record is a write in
//! flight and only noted. `main` calls `check_cli`;
//! the crash tests call `check_data_dir`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::tsdb::block::Block;
use crate::tsdb::db::{CORRUPT_SUFFIX, WAL_DIR};
use crate::tsdb::wal::{self, record};

/// What the check read and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub blocks: u64,
    pub series: u64,
    pub chunks: u64,
    pub samples: u64,
    /// The checkpoint read (its index), if there is one.
    pub checkpoint: Option<u32>,
    /// WAL segment files read (the checkpoint's included) and records in them.
    pub wal_segments: u64,
    pub wal_records: u64,
    /// Quarantined blocks (`*.corrupt`) and WAL bytes (`NNNNNNNN.corrupt`) left by earlier
    /// repairs: not problems, but worth saying.
    pub quarantined: Vec<PathBuf>,
    /// One line per problem, each naming its file and offset.
    pub problems: Vec<String>,
    /// Things worth saying that are not problems.
    pub notes: Vec<String>,
}

impl CheckReport {
    /// The summary line.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} blocks ({} series, {} chunks, {} samples), WAL: {} segments{}, {} records: ",
            self.blocks,
            self.series,
            self.chunks,
            self.samples,
            self.wal_segments,
            match self.checkpoint {
                Some(i) => format!(" from checkpoint {}", wal::checkpoint_name(i)),
                None => String::new(),
            },
            self.wal_records,
        );
        match self.problems.len() {
            0 => s.push_str("no problems"),
            1 => s.push_str("1 problem"),
            n => s.push_str(&format!("{n} problems")),
        }
        if !self.quarantined.is_empty() {
            s.push_str(&format!(
                " ({} quarantined by earlier repairs)",
                self.quarantined.len()
            ));
        }
        s
    }
}

/// Checks the data dir `dir`. Only an unreadable or missing dir is an error; everything
/// else that is wrong is listed in the report.
pub fn check_data_dir(dir: &Path) -> anyhow::Result<CheckReport> {
    check_data_dir_with(dir, &mut |_, _| {})
}

/// `check_data_dir`, telling `progress` (blocks checked, blocks in all) as it goes.
pub fn check_data_dir_with(
    dir: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> anyhow::Result<CheckReport> {
    let mut rep = CheckReport::default();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let mut ranges: Vec<(i64, i64, String)> = Vec::new();
    let is_block = |p: &PathBuf| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(crate::tsdb::block::Ulid::parse)
            .is_some()
            && p.is_dir()
    };
    let total = entries.iter().filter(|p| is_block(p)).count();
    let mut done = 0;
    for path in &entries {
        if is_block(path) {
            progress(done, total);
            done += 1;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(CORRUPT_SUFFIX) {
            rep.quarantined.push(path.clone());
            continue;
        }
        if name.contains(".tmp") && path.is_dir() {
            rep.notes.push(format!(
                "{} is left from a write or delete that did not finish (removed at the next \
                 writable open)",
                path.display()
            ));
            continue;
        }
        if crate::tsdb::block::Ulid::parse(name).is_none() || !path.is_dir() {
            continue;
        }
        if !path.join("meta.json").is_file() {
            rep.problems.push(format!(
                "{}: block directory without meta.json",
                path.display()
            ));
            continue;
        }
        ranges.extend(check_block(path, &mut rep));
    }
    // Overlapping blocks are legal (queries merge them, compaction joins them): say so.
    ranges.sort();
    let mut reach: Option<(i64, &str)> = None;
    for (lo, hi, ulid) in &ranges {
        if let Some((end, other)) = reach
            && *lo < end
        {
            rep.notes.push(format!(
                "block {ulid} overlaps block {other} in [{lo}, {}): queries merge them",
                end.min(*hi)
            ));
        }
        if reach.is_none_or(|(end, _)| *hi > end) {
            reach = Some((*hi, ulid));
        }
    }
    progress(total, total);
    let writer = lock_holder(dir);
    check_wal(&dir.join(WAL_DIR), writer, &mut rep);
    Ok(rep)
}

/// The pid holding the data dir's lock (a kmon or Prometheus writing it now), found in
/// `/proc/locks` without touching the lock (Linux; `None` elsewhere).
fn lock_holder(dir: &Path) -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(dir.join(crate::tsdb::lock::LOCK_FILE)).ok()?;
        let locks = std::fs::read_to_string("/proc/locks").ok()?;
        crate::tsdb::lock::holder_in(&locks, meta.dev(), meta.ino())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        None
    }
}

/// Checks one block into `rep`; its time range and ULID when it opened.
fn check_block(path: &Path, rep: &mut CheckReport) -> Option<(i64, i64, String)> {
    let block = match Block::open(path) {
        Ok(b) => b,
        Err(e) => {
            rep.problems.push(format!("block {}: {e}", name_of(path)));
            return None;
        }
    };
    rep.blocks += 1;
    let (v, problems) = block.check();
    rep.series += v.series;
    rep.chunks += v.chunks;
    rep.samples += v.samples;
    let ulid = block.meta().ulid.clone();
    // What meta.json says the block holds must be what it holds (zero means not recorded).
    let stats = &block.meta().stats;
    if problems.is_empty() {
        for (what, said, found) in [
            ("series", stats.num_series, v.series),
            ("chunks", stats.num_chunks, v.chunks),
            ("samples", stats.num_samples, v.samples),
        ] {
            if said != 0 && said != found {
                rep.problems.push(format!(
                    "block {ulid}: {}: says {said} {what}, the block holds {found}",
                    path.join("meta.json").display()
                ));
            }
        }
    }
    for e in problems {
        rep.problems.push(format!("block {ulid}: {e}"));
    }
    if block.meta().compaction_failed() {
        rep.notes.push(format!(
            "block {ulid} is marked compaction.failed: it is served but never compacted"
        ));
    }
    Some((block.meta().min_time, block.meta().max_time, ulid))
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// `writer`: the process writing the data dir now, if any; then the newest segment ending
/// inside a record is a write in flight, noted rather than reported.
fn check_wal(dir: &Path, writer: Option<u32>, rep: &mut CheckReport) {
    let list_err = |rep: &mut CheckReport, e: std::io::Error| {
        rep.problems.push(format!("{}: {e}", dir.display()));
    };
    let mut segs = match wal::list_segments(dir) {
        Ok(s) => s,
        Err(e) => return list_err(rep, e),
    };
    if let Ok(rd) = std::fs::read_dir(dir) {
        let mut q: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(CORRUPT_SUFFIX))
            .collect();
        q.sort();
        rep.quarantined.extend(q);
    }
    match wal::last_checkpoint(dir) {
        Ok(Some((ci, cdir))) => {
            rep.checkpoint = Some(ci);
            match wal::list_segments(&cdir) {
                Ok(csegs) => check_segments(&csegs, None, rep),
                Err(e) => rep.problems.push(format!("{}: {e}", cdir.display())),
            }
            segs.retain(|(i, _)| *i > ci);
        }
        Ok(None) => {}
        Err(e) => return list_err(rep, e),
    }
    check_segments(&segs, writer, rep);
}

/// Reads `segs` end to end: frames, then every record decompressed and decoded.
fn check_segments(segs: &[(u32, PathBuf)], writer: Option<u32>, rep: &mut CheckReport) {
    let mut prev: Option<u32> = None;
    let newest = segs.last().map(|(i, _)| *i);
    for (i, path) in segs {
        if let Some(p) = prev
            && p + 1 != *i
        {
            rep.problems.push(format!(
                "{}: segment {} follows segment {p}: segments in between are missing",
                path.display(),
                i
            ));
        }
        prev = Some(*i);
        rep.wal_segments += 1;
        let mut bad_records: Vec<String> = Vec::new();
        let scan = wal::scan_segment(path, |frame| {
            let why = match frame.record() {
                Err(e) => Some(e),
                Ok(bytes) => record::decode(&bytes)
                    .err()
                    .map(|e| format!("record does not decode: {e}")),
            };
            if let Some(why) = why {
                bad_records.push(format!(
                    "{} at offset {}: {why}",
                    path.display(),
                    frame.offset
                ));
            }
        });
        match scan {
            Err(e) => rep.problems.push(format!("{}: {e}", path.display())),
            Ok(scan) => {
                rep.wal_records += scan.records;
                rep.problems.append(&mut bad_records);
                if let Some(c) = scan.corruption {
                    if let (Some(pid), true, true) = (writer, c.torn, newest == Some(*i)) {
                        rep.notes.push(format!(
                            "{} ends inside a record at offset {}: process {pid} is writing \
                             the data dir",
                            path.display(),
                            c.at
                        ));
                        continue;
                    }
                    rep.problems.push(format!(
                        "{} at offset {}: {} ({} bytes from offset {} on are unreadable{})",
                        path.display(),
                        c.at,
                        c.reason,
                        scan.len.saturating_sub(c.good_until),
                        c.good_until,
                        if c.torn { ", a torn write" } else { "" }
                    ));
                }
            }
        }
    }
}

/// `kmon tsdb check`: prints the problems and the summary; exit 1 when anything is
/// wrong.
pub fn check_cli(data_dir: &Path) -> anyhow::Result<ExitCode> {
    if !data_dir.is_dir() {
        anyhow::bail!("{}: no such data dir", data_dir.display());
    }
    let bar = super::progress::Progress::new("listing blocks", "checking", "blocks");
    let rep = check_data_dir_with(data_dir, &mut |done, total| {
        bar.update(done as u64, total as u64)
    });
    bar.finish();
    let rep = rep?;
    for p in &rep.problems {
        println!("{p}");
    }
    for q in &rep.quarantined {
        println!("note: {} was set aside by an earlier repair", q.display());
    }
    for n in &rep.notes {
        println!("note: {n}");
    }
    println!("{}: {}", data_dir.display(), rep.summary());
    Ok(if rep.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::storage::Appendable;
    use crate::tsdb::db::{Db, DbOptions};
    use crate::tsdb::wal::{SyncPolicy, WalOptions};

    /// A data dir with two cut blocks and a WAL, written by `Db`.
    fn data_dir(dir: &Path) {
        let db = Db::open(
            dir,
            DbOptions {
                block_range_ms: 60_000,
                wal: WalOptions {
                    segment_size: 64 * 1024,
                    sync: SyncPolicy::Never,
                },
                ..DbOptions::default()
            },
        )
        .unwrap();
        for t in 0..400i64 {
            let mut a = db.appender();
            for s in 0..5 {
                let l = Labels::from_pairs(&[("__name__", "m"), ("s", &s.to_string())]);
                a.append(None, &l, t * 1000, t as f64).unwrap();
            }
            a.commit().unwrap();
        }
        db.cut().unwrap();
    }

    #[test]
    fn a_clean_dir_passes_and_damage_is_named() {
        let d = tempfile::tempdir().unwrap();
        data_dir(d.path());
        let rep = check_data_dir(d.path()).unwrap();
        assert!(rep.problems.is_empty(), "{:?}", rep.problems);
        assert!(rep.notes.is_empty(), "{:?}", rep.notes);
        assert!(
            rep.blocks >= 2 && rep.chunks > 0 && rep.wal_records > 0,
            "{rep:?}"
        );

        let block = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| Block::is_block_dir(p))
            .unwrap();
        // meta.json's stats must match the block.
        let good = crate::tsdb::block::BlockMeta::load(&block).unwrap();
        let mut bad = good.clone();
        bad.stats.num_samples += 1;
        bad.store(&block).unwrap();
        let rep = check_data_dir(d.path()).unwrap();
        assert_eq!(rep.problems.len(), 1, "{:?}", rep.problems);
        assert!(
            rep.problems[0].contains("meta.json: says"),
            "{}",
            rep.problems[0]
        );
        good.store(&block).unwrap();

        // A bit flip in a block's chunk.
        let chunks = block.join("chunks").join("000001");
        let mut b = std::fs::read(&chunks).unwrap();
        b[20] ^= 0x04;
        std::fs::write(&chunks, &b).unwrap();
        // A bit flip near the WAL's end.
        let wal_dir = d.path().join(WAL_DIR);
        let (_, seg) = wal::list_segments(&wal_dir).unwrap().pop().unwrap();
        let mut w = std::fs::read(&seg).unwrap();
        let n = w.len();
        w[n - 3] ^= 0x80;
        std::fs::write(&seg, &w).unwrap();
        let before = std::fs::read(&seg).unwrap();

        let rep = check_data_dir(d.path()).unwrap();
        assert_eq!(rep.problems.len(), 2, "{:?}", rep.problems);
        let ulid = name_of(&block);
        assert!(rep.problems[0].contains(&ulid), "{}", rep.problems[0]);
        assert!(
            rep.problems[0].contains("000001 at offset"),
            "{}",
            rep.problems[0]
        );
        assert!(rep.problems[0].contains("s=\""), "{}", rep.problems[0]);
        assert!(
            rep.problems[1].contains(&seg.display().to_string()),
            "{}",
            rep.problems[1]
        );
        assert!(rep.summary().ends_with("2 problems"), "{}", rep.summary());
        // Read-only: the damage is still there.
        assert_eq!(std::fs::read(&seg).unwrap(), before);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_torn_tail_beside_a_live_writer_is_only_noted() {
        let d = tempfile::tempdir().unwrap();
        data_dir(d.path());
        let (_, seg) = wal::list_segments(&d.path().join(WAL_DIR))
            .unwrap()
            .into_iter()
            .rfind(|(_, p)| std::fs::metadata(p).unwrap().len() > 0)
            .unwrap();
        // Make the segment with the torn record the newest one.
        for (_, p) in wal::list_segments(&d.path().join(WAL_DIR)).unwrap() {
            if p > seg {
                std::fs::remove_file(p).unwrap();
            }
        }
        let len = std::fs::metadata(&seg).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
        f.set_len(len - 4).unwrap();
        let rep = check_data_dir(d.path()).unwrap();
        assert_eq!(rep.problems.len(), 1, "{:?}", rep.problems);
        let lock = crate::tsdb::lock::DirLock::acquire(d.path()).unwrap();
        let rep = check_data_dir(d.path()).unwrap();
        assert!(rep.problems.is_empty(), "{:?}", rep.problems);
        assert!(
            rep.notes.iter().any(|n| n.contains("is writing")),
            "{:?}",
            rep.notes
        );
        drop(lock);
    }

    #[test]
    fn overlapping_blocks_and_leftover_tmp_dirs_are_noted() {
        use crate::tsdb::block::{BlockSeries, write_block};
        use crate::tsdb::chunk::{Chunk, XorEncoder};
        let d = tempfile::tempdir().unwrap();
        let block = |lo: i64, hi: i64| {
            let mut e = XorEncoder::new();
            for t in (lo..hi).step_by(1000) {
                e.append(t, 1.0);
            }
            let s = BlockSeries {
                labels: Labels::from_pairs(&[("__name__", "m")]),
                chunks: vec![Chunk::seal(&e, false)],
            };
            write_block(d.path(), lo, hi, vec![s]).unwrap().ulid
        };
        let a = block(0, 60_000);
        let b = block(30_000, 90_000);
        block(90_000, 120_000);
        std::fs::create_dir(d.path().join("01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp-for-creation")).unwrap();
        let rep = check_data_dir(d.path()).unwrap();
        assert!(rep.problems.is_empty(), "{:?}", rep.problems);
        assert_eq!(rep.notes.len(), 2, "{:?}", rep.notes);
        assert!(
            rep.notes[0].contains(".tmp-for-creation"),
            "{:?}",
            rep.notes
        );
        assert!(
            rep.notes[1].contains(&format!("block {b} overlaps block {a} in [30000, 60000)")),
            "{:?}",
            rep.notes
        );
    }
}
