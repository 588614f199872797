//! Per-process figures from Linux's /proc: CPU seconds (utime + stime, optionally with the
//! reaped children's cutime + cstime) from `/proc/PID/stat`, resident memory (VmRSS, VmHWM)
//! from `/proc/PID/status`, the thread count from `/proc/PID/task` and the open file
//! descriptor count from `/proc/PID/fd`. Every section of the suite samples the processes it
//! measures through [`sample`].

// A library for the suite's sections: not every item is used by every build.
#![allow(dead_code)]

use std::path::PathBuf;

use anyhow::{Context, Result};

/// One look at a process.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ProcSample {
    /// utime + stime in seconds.
    pub cpu_s: f64,
    /// cutime + cstime (waited-for children) in seconds.
    pub children_cpu_s: f64,
    /// VmRSS in bytes.
    pub rss_bytes: u64,
    /// VmHWM (peak RSS) in bytes.
    pub hwm_bytes: u64,
    pub threads: usize,
    pub fds: usize,
}

impl ProcSample {
    /// CPU seconds including waited-for children.
    pub fn cpu_total_s(&self) -> f64 {
        self.cpu_s + self.children_cpu_s
    }
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), 100 when unknown.
pub fn clk_tck() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 { v as f64 } else { 100.0 }
}

/// The fields after the `(comm)` of a `/proc/PID/stat` line: field 3 (state) is index 0.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let close = stat.rfind(')')?;
    Some(stat[close + 1..].split_whitespace().collect())
}

/// (utime + stime, cutime + cstime) in seconds from a `/proc/PID/stat` line.
pub fn parse_stat_cpu(stat: &str, tck: f64) -> Option<(f64, f64)> {
    let f = stat_fields(stat)?;
    // utime, stime, cutime, cstime are fields 14..=17, i.e. indexes 11..=14 here.
    let n = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok());
    Some(((n(11)? + n(12)?) / tck, (n(13)? + n(14)?) / tck))
}

/// A `kB` line of `/proc/PID/status` in bytes.
pub fn parse_status_kb(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let kb = rest.split_whitespace().next()?.parse::<u64>().ok()?;
        Some(kb * 1024)
    })
}

fn count_dir(path: PathBuf) -> Result<usize> {
    Ok(std::fs::read_dir(&path)
        .with_context(|| format!("reading {}", path.display()))?
        .count())
}

/// Samples process `pid`; an error when it is gone.
pub fn sample(pid: u32) -> Result<ProcSample> {
    let base = PathBuf::from(format!("/proc/{pid}"));
    let stat = std::fs::read_to_string(base.join("stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    let (cpu_s, children_cpu_s) =
        parse_stat_cpu(&stat, clk_tck()).context("malformed /proc/PID/stat")?;
    let status = std::fs::read_to_string(base.join("status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    Ok(ProcSample {
        cpu_s,
        children_cpu_s,
        rss_bytes: parse_status_kb(&status, "VmRSS").unwrap_or(0),
        hwm_bytes: parse_status_kb(&status, "VmHWM").unwrap_or(0),
        threads: count_dir(base.join("task"))?,
        fds: count_dir(base.join("fd"))?,
    })
}

/// Whether process `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => stat_fields(&s).is_some_and(|f| f.first() != Some(&"Z")),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_line_with_spaces_and_parens_in_comm() {
        let line =
            "1234 (my (odd) proc) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 4 0 123 0 0";
        let (cpu, children) = parse_stat_cpu(line, 100.0).expect("parses");
        assert!((cpu - 3.0).abs() < 1e-9);
        assert!((children - 0.1).abs() < 1e-9);
        assert_eq!(parse_stat_cpu("garbage", 100.0), None);
    }

    #[test]
    fn status_kb_lines() {
        let status = "Name:\tkmon\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t5\n";
        assert_eq!(parse_status_kb(status, "VmRSS"), Some(1024 * 1024));
        assert_eq!(parse_status_kb(status, "VmHWM"), Some(2048 * 1024));
        assert_eq!(parse_status_kb(status, "VmSwap"), None);
    }

    #[test]
    fn samples_this_process() {
        let s = sample(std::process::id()).expect("own process");
        assert!(s.rss_bytes > 0 && s.threads >= 1 && s.fds >= 1);
        assert!(alive(std::process::id()));
    }
}
