//! Fuzz target for the TSDB's on-disk readers: the first byte picks a file, the rest is
//! its content. 0: a WAL segment, scanned frame by frame with every record decompressed
//! and decoded. 1–4: a block's `index`, `chunks/000001`, `tombstones` or `meta.json`,
//! swapped into an otherwise valid block (written once by kmon), then opened, checked
//! (`Block::check`) and queried in full. Nothing may panic or read out of bounds; damage
//! must come back as errors.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kmon::model::{Labels, MatchOp, Matcher};
use kmon::storage::{Appendable, Queryable, SelectHints};
use kmon::tsdb::block::{Block, series_from_head, write_block};
use kmon::tsdb::wal::{record, scan_segment};
use kmon::tsdb::{Head, HeadOptions};
use libfuzzer_sys::fuzz_target;

/// A valid block of a few series (the template the fuzzer damages one file of).
fn template() -> &'static (tempfile::TempDir, PathBuf) {
    static T: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let head = Head::new(HeadOptions::default());
        let mut app = head.appender();
        for s in 0..4 {
            let l = Labels::from_pairs(&[("__name__", "fuzz"), ("s", &s.to_string())]);
            for t in 0..300i64 {
                app.append(None, &l, t * 15_000, (t * (s + 1)) as f64).expect("append");
            }
        }
        app.commit().expect("commit");
        let meta = write_block(dir.path(), 0, 7_200_000, series_from_head(&head, 0, 7_200_000))
            .expect("write block");
        let block = dir.path().join(meta.ulid);
        (dir, block)
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    if pick % 5 == 0 {
        let seg = work.path().join("00000000");
        std::fs::write(&seg, content).expect("write");
        let _ = scan_segment(&seg, |frame| {
            if let Ok(bytes) = frame.record() {
                let _ = record::decode(&bytes);
            }
        });
        return;
    }
    let (_, block) = template();
    let dir = work.path().join(block.file_name().expect("ulid"));
    copy_dir(block, &dir);
    let file = match pick % 5 {
        1 => "index",
        2 => "chunks/000001",
        3 => "tombstones",
        _ => "meta.json",
    };
    std::fs::write(dir.join(file), content).expect("write");
    let Ok(b) = Block::open(&dir) else {
        return;
    };
    let _ = b.check();
    let Ok(q) = Queryable::querier(&b, i64::MIN, i64::MAX) else {
        return;
    };
    let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").expect("matcher")];
    let hints = SelectHints {
        start: i64::MIN,
        end: i64::MAX,
        lazy: false,
    };
    if let Ok(series) = q.select(&all, &hints) {
        for s in series {
            for _ in s.samples {}
        }
    }
    let _ = q.label_names(&[]);
});
