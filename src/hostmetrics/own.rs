//! kmon's own metrics, written with `job="kmon"` beside the machine's: the usual
//! `process_*` series of the kmon process itself (from `/proc/self`, as every Prometheus
//! client library exports them), and `kmon_build_info`,
//! `kmon_hostmetrics_collect_duration_seconds` and `kmon_hostmetrics_errors_total`. The
//! collector calls these at the end of every collect.

use std::path::Path;

use super::emit::Emitter;
use super::error::HostError;
use super::read::{num, read_to};

/// The numbers `process_*` needs from `/proc/self/stat`.
#[derive(Debug)]
struct SelfStat {
    cpu_ticks: u64,
    start_ticks: u64,
    vsize: u64,
    rss_pages: u64,
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may itself
/// contain spaces and parentheses, so fields are counted from the last `)`.
fn parse_stat(path: &Path, text: &str) -> Result<SelfStat, HostError> {
    let after = text
        .rfind(')')
        .map(|i| &text[i + 1..])
        .ok_or_else(|| HostError::parse(path, 1, "no \")\" after the command name"))?;
    let f: Vec<&str> = after.split_ascii_whitespace().collect();
    // f[0] is field 3 (state); stat(5) numbers fields from 1.
    let get = |field_no: usize, what: &str| -> Result<u64, HostError> {
        let s = f.get(field_no - 3).ok_or_else(|| {
            HostError::parse(path, 1, format!("{what} (field {field_no}) is missing"))
        })?;
        num(path, 1, what, s)
    };
    Ok(SelfStat {
        cpu_ticks: get(14, "utime")? + get(15, "stime")?,
        start_ticks: get(22, "starttime")?,
        vsize: get(23, "vsize")?,
        rss_pages: get(24, "rss")?,
    })
}

/// The soft "Max open files" limit from `/proc/<pid>/limits`; "unlimited" is the largest
/// count there is.
fn parse_max_fds(path: &Path, text: &str) -> Result<f64, HostError> {
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("Max open files") {
            let soft = rest.split_ascii_whitespace().next().unwrap_or("");
            if soft == "unlimited" {
                return Ok(u64::MAX as f64);
            }
            return Ok(num::<u64>(path, i + 1, "Max open files", soft)? as f64);
        }
    }
    Err(HostError::parse(path, 1, "no \"Max open files\" line"))
}

/// Where to read and what to scale by.
pub(crate) struct ProcessInputs<'p> {
    /// `/proc/self`.
    pub dir: &'p Path,
    pub user_hz: f64,
    pub page_size: f64,
    /// The machine's boot time (`btime`), which process start times count from, and the
    /// file it comes from (`/proc/stat`), for the error when it is missing.
    pub boot_time: Option<f64>,
    pub stat_path: &'p Path,
}

/// The `process_*` values of the process `inputs.dir` describes, by metric name.
pub(crate) fn process_values(
    inputs: &ProcessInputs<'_>,
    buf: &mut String,
) -> Result<[(&'static str, f64); 6], HostError> {
    let stat_path = inputs.dir.join("stat");
    read_to(&stat_path, buf)?;
    let st = parse_stat(&stat_path, buf)?;
    let limits_path = inputs.dir.join("limits");
    read_to(&limits_path, buf)?;
    let max_fds = parse_max_fds(&limits_path, buf)?;
    let fd_dir = inputs.dir.join("fd");
    let open_fds = std::fs::read_dir(&fd_dir)
        .map_err(|e| HostError::read(&fd_dir, e))?
        .count();
    let boot_time = inputs.boot_time.ok_or_else(|| HostError::Missing {
        path: inputs.stat_path.to_path_buf(),
        what: "btime line, so no process start time",
    })?;
    Ok([
        (
            "process_cpu_seconds_total",
            st.cpu_ticks as f64 / inputs.user_hz,
        ),
        (
            "process_start_time_seconds",
            boot_time + st.start_ticks as f64 / inputs.user_hz,
        ),
        ("process_virtual_memory_bytes", st.vsize as f64),
        (
            "process_resident_memory_bytes",
            st.rss_pages as f64 * inputs.page_size,
        ),
        ("process_open_fds", open_fds as f64),
        ("process_max_fds", max_fds),
    ])
}

/// Emits the `process_*` series of the process `inputs.dir` describes.
pub(crate) fn collect_process(
    inputs: &ProcessInputs<'_>,
    buf: &mut String,
    out: &mut Emitter<'_>,
) -> Result<(), HostError> {
    for (name, v) in process_values(inputs, buf)? {
        out.emit(name, &[], v);
    }
    Ok(())
}

/// kmon's version and the collector's own health: the time this collect took so far and,
/// per subsystem, how many collects it failed.
pub(crate) fn collect_kmon(
    duration_seconds: f64,
    errors_total: &[(&'static str, u64)],
    out: &mut Emitter<'_>,
) {
    out.emit(
        "kmon_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
    out.emit(
        "kmon_hostmetrics_collect_duration_seconds",
        &[],
        duration_seconds,
    );
    for (subsystem, n) in errors_total {
        out.emit(
            "kmon_hostmetrics_errors_total",
            &[("subsystem", subsystem)],
            *n as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_count_from_the_last_parenthesis() {
        let text = "42 (a) b) c) S 1 42 42 0 -1 4194560 500 0 0 0 150 50 0 0 20 0 3 0 1000 \
                    123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let s = parse_stat(Path::new("stat"), text).unwrap();
        assert_eq!((s.cpu_ticks, s.start_ticks), (200, 1000));
        assert_eq!((s.vsize, s.rss_pages), (123456789, 2048));
        let e = parse_stat(Path::new("/proc/self/stat"), "42 (x) S 1").unwrap_err();
        assert!(e.to_string().contains("/proc/self/stat:1: utime"), "{e}");
    }

    #[test]
    fn max_fds_reads_the_soft_limit() {
        let text = "Limit                     Soft Limit           Hard Limit           Units\n\
                    Max open files            1024                 524288               files\n";
        assert_eq!(parse_max_fds(Path::new("l"), text).unwrap(), 1024.0);
        let unl = "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_max_fds(Path::new("l"), unl).unwrap(), u64::MAX as f64);
    }
}
