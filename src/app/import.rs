//! `kmon import openmetrics FILE --data-dir D`: backfills an OpenMetrics file into blocks
//! of D, as `promtool tsdb create-blocks-from openmetrics` does: the samples are loaded
//! into a scratch in-memory head, then written out as one block per 2-hour window
//! (aligned as Prometheus aligns them), with a progress bar on a terminal. D is locked
//! while it is written, so a running kmon on it makes the import fail with its name.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::tsdb::block::{series_from_head, write_block};
use crate::tsdb::lock::DirLock;
use crate::tsdb::{Head, HeadOptions};

/// Prometheus's default block range.
pub const BLOCK_RANGE_MS: i64 = 2 * 3600 * 1000;

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub samples: u64,
    pub series: usize,
    /// The blocks written, by ULID, oldest first.
    pub blocks: Vec<String>,
}

/// Imports the OpenMetrics text in `file` into new blocks under `data_dir` (created if
/// missing), calling `progress(done, total)` after each block.
pub fn import_openmetrics(
    file: &Path,
    data_dir: &Path,
    mut progress: impl FnMut(usize, usize),
) -> anyhow::Result<ImportReport> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let _lock = DirLock::acquire(data_dir)?;
    let head = Head::new(HeadOptions::default());
    let loaded = super::load::load_openmetrics(&text, &head, 0)
        .with_context(|| format!("{}", file.display()))?;
    if loaded.rejected > 0 {
        anyhow::bail!(
            "{}: {} samples rejected (first: {})",
            file.display(),
            loaded.rejected,
            loaded.first_rejection.unwrap_or_default()
        );
    }
    let mut report = ImportReport {
        samples: loaded.samples,
        series: loaded.series,
        ..ImportReport::default()
    };
    let Some((lo, hi)) = head.time_range() else {
        return Ok(report);
    };
    let first = lo.div_euclid(BLOCK_RANGE_MS) * BLOCK_RANGE_MS;
    let windows: Vec<i64> = (0..)
        .map(|i| first + i * BLOCK_RANGE_MS)
        .take_while(|a| *a <= hi)
        .collect();
    for (i, a) in windows.iter().enumerate() {
        let series = series_from_head(&head, *a, a + BLOCK_RANGE_MS);
        if !series.is_empty() {
            let meta = write_block(data_dir, *a, a + BLOCK_RANGE_MS, series)?;
            report.blocks.push(meta.ulid);
        }
        progress(i + 1, windows.len());
    }
    Ok(report)
}

/// The command: imports with a progress bar when standard error is a terminal, then says
/// what it wrote.
pub fn import_cli(file: &Path, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let bar = super::progress::Progress::new(
        format!("reading {}", file.display()),
        "writing blocks",
        "blocks",
    );
    let report = import_openmetrics(file, data_dir, |done, total| {
        bar.update(done as u64, total as u64)
    })?;
    bar.finish();
    eprintln!(
        "kmon: imported {} samples of {} series into {} block(s) in {}",
        report.samples,
        report.series,
        report.blocks.len(),
        data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Querier, SelectHints};

    #[test]
    fn an_openmetrics_file_becomes_aligned_blocks_with_every_sample() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("in.om");
        // 5 hours at 1-minute steps of two series: three 2h windows.
        let mut text = String::from("# TYPE m gauge\n");
        for s in ["a", "b"] {
            for i in 0..300 {
                let t = 1_700_000_000 + i * 60;
                text.push_str(&format!("m{{s=\"{s}\"}} {i} {t}\n"));
            }
        }
        text.push_str("# EOF\n");
        std::fs::write(&file, text).expect("write");
        let data = tmp.path().join("data");
        let mut calls = Vec::new();
        let r = import_openmetrics(&file, &data, |d, t| calls.push((d, t))).expect("import");
        assert_eq!((r.samples, r.series), (600, 2));
        assert_eq!(r.blocks.len(), 3, "{r:?}");
        assert_eq!(calls.last(), Some(&(3, 3)));
        let mut total = 0;
        for ulid in &r.blocks {
            let b = crate::tsdb::block::Block::open(&data.join(ulid)).expect("open");
            let m = b.meta();
            assert_eq!(m.min_time.rem_euclid(BLOCK_RANGE_MS), 0, "aligned");
            let v = b.verify().expect("verifies");
            total += v.samples;
            let q = b.querier(m.min_time, m.max_time);
            let all = [
                crate::model::Matcher::new(crate::model::MatchOp::Equal, "__name__", "m")
                    .expect("m"),
            ];
            let hints = SelectHints {
                start: m.min_time,
                end: m.max_time,
                lazy: false,
            };
            assert_eq!(q.select(&all, &hints).expect("select").len(), 2);
        }
        assert_eq!(total, 600);
        // A second import while the dir is locked is refused naming the holder.
        let lock = DirLock::acquire(&data).expect("lock");
        let err = import_openmetrics(&file, &data, |_, _| {}).expect_err("locked");
        assert!(err.to_string().contains("is in use"), "{err}");
        drop(lock);
        // A file that does not parse names its line.
        std::fs::write(&file, "m{ 1\n").expect("write");
        let err = import_openmetrics(&file, &data, |_, _| {}).expect_err("bad file");
        assert!(format!("{err:#}").contains("in.om"), "{err:#}");
    }
}
