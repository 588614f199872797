//! What the soak reads from kmon besides procfs: kmon's own data after the run (`kmon query`
//! and `kmon query-range --read-only` on the data dir), and during the run kmon's log
//! (`kmon.log` in the data dir): the head cuts the TSDB logs at info ("tsdb: wrote blocks
//! [...]") and the head's series and the memory trims `kmon::app::trim` logs at debug
//! (the soak starts kmon with `KMON_LOG=info,kmon::app::trim=debug`). `soak` uses it.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The `KMON_LOG` filter the soak runs kmon with.
pub const KMON_LOG_FILTER: &str = "info,kmon::app::trim=debug";

/// Runs `kmon query --read-only` at `time` on the data dir; the answer's `data`.
pub fn kmon_query(kmon: &Path, data: &Path, expr: &str, time: f64) -> Result<serde_json::Value> {
    let out = Command::new(kmon)
        .args(["query", "--read-only", "-o", "json", "--time"])
        .arg(format!("{time:.3}"))
        .arg("--data-dir")
        .arg(data)
        .arg(expr)
        .output()
        .context("running kmon query")?;
    if !out.status.success() {
        bail!(
            "kmon query {expr:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("kmon query JSON")?;
    Ok(v["data"].clone())
}

/// The same as a range query from `start` to `end` every `step` seconds.
pub fn kmon_range(
    kmon: &Path,
    data: &Path,
    expr: &str,
    start: f64,
    end: f64,
    step: u64,
) -> Result<serde_json::Value> {
    let out = Command::new(kmon)
        .args(["query-range", "--read-only", "-o", "json"])
        .arg(format!("--start={start:.3}"))
        .arg(format!("--end={end:.3}"))
        .arg(format!("--step={step}"))
        .arg("--data-dir")
        .arg(data)
        .arg(expr)
        .output()
        .context("running kmon query-range")?;
    if !out.status.success() {
        bail!(
            "kmon query-range {expr:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("kmon query-range JSON")?;
    Ok(v["data"].clone())
}

/// `(time, value)` of the first series of a matrix answer.
pub fn points(data: &serde_json::Value) -> Vec<(f64, f64)> {
    data["result"][0]["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p[0].as_f64()?, p[1].as_str()?.parse().ok()?)))
        .collect()
}

/// Seconds since the Unix epoch.
pub fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Block directories (named by a 26-character ULID) in the data dir now.
pub fn count_blocks(data: &Path) -> usize {
    std::fs::read_dir(data)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    n.len() == 26
                        && n.chars().all(|c| c.is_ascii_alphanumeric())
                        && e.path().is_dir()
                })
                .count()
        })
        .unwrap_or(0)
}

/// The anonymous (heap, stacks) and file-backed (the binary, mmapped blocks) parts of a
/// process's RSS, from `/proc/PID/status` (`RssAnon`, `RssFile`); `None` when unreadable.
pub fn rss_split(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_rss_split(&status)
}

fn parse_rss_split(status: &str) -> Option<(u64, u64)> {
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))?
            .split_whitespace()
            .next()?
            .parse::<u64>()
            .ok()
            .map(|n| n * 1024)
    };
    Some((kib("RssAnon:")?, kib("RssFile:")?))
}

/// What kmon's log said so far, read a little more at each sample.
#[derive(Debug, Default)]
pub struct KmonLog {
    path: PathBuf,
    offset: u64,
    partial: String,
    /// Head cuts (blocks written from the head) logged so far.
    pub cuts: usize,
    /// The head's series at the last trim line.
    pub head_series: Option<u64>,
    /// What the last trim gave back (bytes).
    pub trim_released: Option<u64>,
}

impl KmonLog {
    pub fn new(path: PathBuf) -> Self {
        KmonLog {
            path,
            ..KmonLog::default()
        }
    }

    /// Reads what was appended since the last call (a missing file is no news).
    pub fn update(&mut self) {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return;
        };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut buf = Vec::new();
        if let Ok(n) = f.read_to_end(&mut buf) {
            self.offset += n as u64;
        }
        self.partial.push_str(&String::from_utf8_lossy(&buf));
        let Some(end) = self.partial.rfind('\n') else {
            return;
        };
        let complete: String = self.partial.drain(..=end).collect();
        for line in complete.lines() {
            self.line(line);
        }
    }

    fn line(&mut self, line: &str) {
        if let Some(rest) = line.split("tsdb: wrote blocks [").nth(1)
            && !rest.starts_with(']')
        {
            self.cuts += 1;
        }
        if line.contains("memory: trim released") {
            if let Some(n) = field(line, "head_series") {
                self.head_series = Some(n);
            }
            if let (Some(b), Some(a)) = (field(line, "rss_before"), field(line, "rss_after")) {
                self.trim_released = Some(b.saturating_sub(a));
            }
        }
    }
}

/// The number after `name=` in a log line.
fn field(line: &str, name: &str) -> Option<u64> {
    let key = format!("{name}=");
    let start = line
        .match_indices(&key)
        .find(|(i, _)| *i == 0 || line.as_bytes()[i - 1].is_ascii_whitespace())?
        .0
        + key.len();
    let digits: String = line[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_gives_cuts_and_head_series() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kmon.log");
        let mut log = KmonLog::new(path.clone());
        log.update();
        assert_eq!((log.cuts, log.head_series), (0, None));
        std::fs::write(
            &path,
            "2026-11-22T06:00:00Z  INFO kmon::tsdb::db: tsdb: wrote blocks [\"01JAAAAAAAAAAAAAAAAAAAAAAA\"], deleted blocks []\n\
             2026-11-22T06:00:01Z  INFO kmon::tsdb::db: tsdb: wrote blocks [], deleted blocks [\"01J\"]\n\
             2026-11-22T06:00:02Z DEBUG kmon::app::trim: memory: trim released 10 KiB head_series=1234 blocks=1 rss_before=50000 rss_after=40000\n\
             2026-11-22T06:00:03Z DEBUG kmon::app::trim: memory: trim rel",
        )
        .expect("write");
        log.update();
        assert_eq!(log.cuts, 1);
        assert_eq!(log.head_series, Some(1234));
        assert_eq!(log.trim_released, Some(10000));
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        std::io::Write::write_all(
            &mut f,
            b"eased 0 KiB head_series=99 blocks=2 rss_before=1 rss_after=1\n",
        )
        .expect("append");
        log.update();
        assert_eq!(log.head_series, Some(99));
        assert_eq!(log.trim_released, Some(0));
    }

    #[test]
    fn rss_splits_into_anonymous_and_file() {
        let status = "Name:\tkmon\nVmRSS:\t  725468 kB\nRssAnon:\t  535728 kB\nRssFile:\t  189740 kB\nRssShmem:\t0 kB\n";
        assert_eq!(
            parse_rss_split(status),
            Some((535728 * 1024, 189740 * 1024))
        );
        assert_eq!(parse_rss_split("VmRSS: 1 kB\n"), None);
        assert!(rss_split(std::process::id()).is_some_and(|(a, _)| a > 0));
    }

    #[test]
    fn fields_need_their_whole_name() {
        assert_eq!(field("x head_series=5 series=7", "series"), Some(7));
        assert_eq!(field("head_series=5", "head_series"), Some(5));
        assert_eq!(field("nothing", "series"), None);
    }

    #[test]
    fn blocks_are_ulid_dirs() {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in [
            "01JAAAAAAAAAAAAAAAAAAAAAAA",
            "wal",
            "01JBBBBBBBBBBBBBBBBBBBBBBB.tmp-for-creation",
        ] {
            std::fs::create_dir(dir.path().join(d)).expect("mkdir");
        }
        std::fs::write(dir.path().join("01JCCCCCCCCCCCCCCCCCCCCCCC"), "").expect("file");
        assert_eq!(count_blocks(dir.path()), 1);
    }
}
