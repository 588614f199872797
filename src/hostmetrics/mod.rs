//! The built-in collector of this machine: it reads the kernel's files and system calls
//! the way node_exporter 1.11 does with its default collectors and writes the same series
//! (names, labels, units) straight into storage, labelled `{job="node", instance=<host>}`
//! as if a node_exporter had been scraped — with no HTTP in between. Beside them it writes
//! kmon's own `process_*` and `kmon_*` series with `job="kmon"`. `app` owns a `Collector`
//! and calls `collect` on every tick with a fresh `Appender`; tests and benches drive it
//! against fixture trees or the real `/proc`.
//!
//! Each subsystem (a file under /proc or /sys, or a system call) parses its input first
//! and writes only when the whole input made sense; a failing subsystem is reported in the
//! `CollectReport` and skipped, and its series go stale like a scrape's would.

mod diskstats;
mod emit;
mod error;
mod filesystem;
mod loadavg;
mod meminfo;
mod netdev;
mod own;
mod read;
mod stat;
mod statfs;
mod system;
mod timex;

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use regex::Regex;

use crate::storage::{Appender, StorageError};

pub use diskstats::DEFAULT_DEVICE_EXCLUDE as DEFAULT_DISK_DEVICE_EXCLUDE;
pub use error::HostError;
pub use filesystem::{DEFAULT_FS_TYPES_EXCLUDE, DEFAULT_MOUNT_POINTS_EXCLUDE};
pub use system::hostname;

use emit::{Emitter, JobKind, SeriesCache};
use filesystem::Filesystems;
use stat::StatState;

/// Where the collector looks and how its series are labelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOptions {
    /// The proc filesystem (`/proc`), node_exporter's `--path.procfs`.
    pub proc_path: PathBuf,
    /// The sys filesystem (`/sys`), node_exporter's `--path.sysfs`.
    pub sys_path: PathBuf,
    /// The root the mount points are under (`/`), node_exporter's `--path.rootfs`. udev's
    /// database is read from `<rootfs>/run/udev/data`.
    pub rootfs: PathBuf,
    /// The `instance` label; empty means the host name.
    pub instance: String,
    /// The `job` label of the machine's series (`node`). kmon's own series use `kmon`.
    pub job: String,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            proc_path: "/proc".into(),
            sys_path: "/sys".into(),
            rootfs: "/".into(),
            instance: String::new(),
            job: "node".into(),
        }
    }
}

/// The `job` label of kmon's own series.
pub const KMON_JOB: &str = "kmon";

/// The parts of the machine collected separately; one failing does not stop the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subsystem {
    /// `/proc/stat`: CPU time, boot time, context switches, interrupts, forks, processes.
    Stat,
    Meminfo,
    Loadavg,
    /// `/proc/net/dev`.
    Netdev,
    Diskstats,
    /// Mounts and `statfs`.
    Filesystem,
    Uname,
    /// The clock, time zone and clock sources.
    Time,
    /// The kernel's clock discipline (adjtimex(2)): offset, error, synchronisation.
    Timex,
    /// kmon's own `process_*` series.
    Process,
}

impl Subsystem {
    pub const ALL: [Subsystem; 10] = [
        Subsystem::Stat,
        Subsystem::Meminfo,
        Subsystem::Loadavg,
        Subsystem::Netdev,
        Subsystem::Diskstats,
        Subsystem::Filesystem,
        Subsystem::Uname,
        Subsystem::Time,
        Subsystem::Timex,
        Subsystem::Process,
    ];

    /// The name used in reports and in `kmon_hostmetrics_errors_total{subsystem}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Subsystem::Stat => "stat",
            Subsystem::Meminfo => "meminfo",
            Subsystem::Loadavg => "loadavg",
            Subsystem::Netdev => "netdev",
            Subsystem::Diskstats => "diskstats",
            Subsystem::Filesystem => "filesystem",
            Subsystem::Uname => "uname",
            Subsystem::Time => "time",
            Subsystem::Timex => "timex",
            Subsystem::Process => "process",
        }
    }
}

impl fmt::Display for Subsystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One subsystem's failure in one collect.
#[derive(Debug, thiserror::Error)]
#[error("{subsystem}: {error}")]
pub struct SubsystemError {
    pub subsystem: Subsystem,
    #[source]
    pub error: HostError,
}

/// What one `collect` did.
#[derive(Debug, Default)]
pub struct CollectReport {
    /// Samples the appender accepted (staleness markers not included).
    pub samples: usize,
    /// Staleness markers written for series that disappeared since the last collect.
    pub stale_markers: usize,
    /// Samples the appender rejected (e.g. out of order); see `first_rejection`.
    pub rejected: usize,
    pub first_rejection: Option<StorageError>,
    /// Subsystems that failed and were skipped.
    pub errors: Vec<SubsystemError>,
    /// Wall time of the collect.
    pub duration: Duration,
}

/// Paths read on every collect, joined once.
struct Paths {
    stat: PathBuf,
    meminfo: PathBuf,
    loadavg: PathBuf,
    net_dev: PathBuf,
    diskstats: PathBuf,
    mountinfo_init: PathBuf,
    mountinfo_self: PathBuf,
    proc_self: PathBuf,
    sys_class_net: PathBuf,
    sys_block: PathBuf,
    udev_data: PathBuf,
    clocksource: PathBuf,
}

/// The machine's collector. Keeps series refs, CPU counters and filters between collects,
/// so repeated collects allocate little.
pub struct Collector {
    opts: HostOptions,
    paths: Paths,
    cache: SeriesCache,
    buf: String,
    scratch: String,
    user_hz: f64,
    page_size: f64,
    stat: StatState,
    disk_exclude: Regex,
    filesystems: Filesystems,
    errors_total: [(&'static str, u64); Subsystem::ALL.len()],
}

impl Collector {
    pub fn new(mut opts: HostOptions) -> Self {
        if opts.instance.is_empty() {
            opts.instance = system::hostname();
        }
        let p = &opts.proc_path;
        let s = &opts.sys_path;
        let paths = Paths {
            stat: p.join("stat"),
            meminfo: p.join("meminfo"),
            loadavg: p.join("loadavg"),
            net_dev: p.join("net/dev"),
            diskstats: p.join("diskstats"),
            mountinfo_init: p.join("1/mountinfo"),
            mountinfo_self: p.join("self/mountinfo"),
            proc_self: p.join("self"),
            sys_class_net: s.join("class/net"),
            sys_block: s.join("block"),
            udev_data: opts.rootfs.join("run/udev/data"),
            clocksource: s.join("devices/system/clocksource"),
        };
        Collector {
            paths,
            cache: SeriesCache::default(),
            buf: String::with_capacity(16 * 1024),
            scratch: String::with_capacity(256),
            user_hz: sysconf(libc::_SC_CLK_TCK).unwrap_or(100.0),
            page_size: sysconf(libc::_SC_PAGESIZE).unwrap_or(4096.0),
            stat: StatState::default(),
            disk_exclude: builtin_regex(diskstats::DEFAULT_DEVICE_EXCLUDE),
            filesystems: Filesystems::new(
                builtin_regex(filesystem::DEFAULT_MOUNT_POINTS_EXCLUDE),
                builtin_regex(filesystem::DEFAULT_FS_TYPES_EXCLUDE),
            ),
            errors_total: Subsystem::ALL.map(|s| (s.as_str(), 0)),
            opts,
        }
    }

    /// The options in effect (with the host name filled in).
    pub fn options(&self) -> &HostOptions {
        &self.opts
    }

    /// How many series the last collect wrote (and the cache holds refs for).
    pub fn series_count(&self) -> usize {
        self.cache.len()
    }

    /// Reads the machine once and appends every series at `t_ms` (the caller commits).
    /// Never panics on what it reads: failures are in the report.
    pub fn collect(&mut self, app: &mut dyn Appender, t_ms: i64) -> CollectReport {
        let start = Instant::now();
        let Collector {
            opts,
            paths,
            cache,
            buf,
            scratch,
            user_hz,
            page_size,
            stat,
            disk_exclude,
            filesystems,
            errors_total,
        } = self;
        let mut out = Emitter::begin(cache, app, t_ms, &opts.job, KMON_JOB, &opts.instance);
        let mut errors = Vec::new();
        let mut check = |subsystem: Subsystem, r: Result<(), HostError>| {
            if let Err(error) = r {
                errors.push(SubsystemError { subsystem, error });
            }
        };

        let r = read::read_to(&paths.stat, buf)
            .and_then(|()| stat.collect(&paths.stat, buf, *user_hz, &mut out));
        if r.is_err() {
            stat.boot_time = None;
        }
        check(Subsystem::Stat, r);
        let r = read::read_to(&paths.meminfo, buf)
            .and_then(|()| meminfo::collect(&paths.meminfo, buf, &mut out));
        check(Subsystem::Meminfo, r);
        let r = read::read_to(&paths.loadavg, buf)
            .and_then(|()| loadavg::collect(&paths.loadavg, buf, &mut out));
        check(Subsystem::Loadavg, r);
        let r = read::read_to(&paths.net_dev, buf).and_then(|()| {
            netdev::collect(&paths.net_dev, buf, &paths.sys_class_net, scratch, &mut out)
        });
        check(Subsystem::Netdev, r);
        let disk_paths = diskstats::DiskPaths {
            sys_block: &paths.sys_block,
            udev_data: &paths.udev_data,
        };
        let r = read::read_to(&paths.diskstats, buf).and_then(|()| {
            diskstats::collect(
                &paths.diskstats,
                buf,
                disk_exclude,
                &disk_paths,
                scratch,
                &mut out,
            )
        });
        check(Subsystem::Diskstats, r);
        // Process 1's mounts are the machine's; when hidepid hides them, use our own.
        let r = match read::read_to(&paths.mountinfo_init, buf) {
            Err(HostError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                read::read_to(&paths.mountinfo_self, buf).map(|()| &paths.mountinfo_self)
            }
            r => r.map(|()| &paths.mountinfo_init),
        }
        .and_then(|path| filesystems.collect(path, buf, &opts.rootfs, &mut out));
        check(Subsystem::Filesystem, r);
        check(Subsystem::Uname, system::collect_uname(&mut out));
        check(
            Subsystem::Time,
            system::collect_time(&paths.clocksource, scratch, &mut out),
        );
        check(Subsystem::Timex, timex::collect(&mut out));
        // What Prometheus adds for every target it scrapes: the built-in collector is this
        // machine's target, so `up{job="node"}` works as it would against node_exporter.
        out.emit("up", &[], 1.0);

        out.set_job(JobKind::Kmon);
        let inputs = own::ProcessInputs {
            dir: &paths.proc_self,
            user_hz: *user_hz,
            page_size: *page_size,
            boot_time: stat.boot_time,
            stat_path: &paths.stat,
        };
        check(
            Subsystem::Process,
            own::collect_process(&inputs, buf, &mut out),
        );
        for e in &errors {
            if let Some(slot) = errors_total
                .iter_mut()
                .find(|(n, _)| *n == e.subsystem.as_str())
            {
                slot.1 += 1;
            }
        }
        own::collect_kmon(start.elapsed().as_secs_f64(), errors_total, &mut out);

        let (counts, first_rejection) = out.finish();
        CollectReport {
            samples: counts.samples,
            stale_markers: counts.stale_markers,
            rejected: counts.rejected,
            first_rejection,
            errors,
            duration: start.elapsed(),
        }
    }
}

/// The usual `process_*` values of the running process (CPU seconds, start time, memory,
/// file descriptors) read from `proc_path` (normally `/proc`), by metric name: what a
/// client library exports on `/metrics`. `kmon serve` puts them on its own `/metrics`.
pub fn process_metrics(proc_path: &std::path::Path) -> Result<Vec<(&'static str, f64)>, HostError> {
    let stat_path = proc_path.join("stat");
    let mut buf = String::new();
    read::read_to(&stat_path, &mut buf)?;
    let boot_time = buf
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse::<f64>().ok());
    let inputs = own::ProcessInputs {
        dir: &proc_path.join("self"),
        user_hz: sysconf(libc::_SC_CLK_TCK).unwrap_or(100.0),
        page_size: sysconf(libc::_SC_PAGESIZE).unwrap_or(4096.0),
        boot_time,
        stat_path: &stat_path,
    };
    Ok(own::process_values(&inputs, &mut buf)?.to_vec())
}

/// A pattern written in this module; they are tested to compile.
fn builtin_regex(pattern: &str) -> Regex {
    // Falls back to a pattern that matches nothing rather than panicking.
    Regex::new(pattern).unwrap_or_else(|_| Regex::new("[^\\s\\S]").expect("valid regex"))
}

/// `sysconf(name)` as a float, `None` when the system does not know it.
fn sysconf(name: libc::c_int) -> Option<f64> {
    // SAFETY: sysconf has no memory-safety preconditions.
    let v = unsafe { libc::sysconf(name) };
    (v > 0).then_some(v as f64)
}

#[cfg(test)]
mod tests;
