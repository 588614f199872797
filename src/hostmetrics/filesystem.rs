//! Mounted filesystems as node_exporter's `node_filesystem_*` series: the mount table of
//! process 1 (`/proc/1/mountinfo`, or the collector's own when that is hidden), filtered
//! by node_exporter 1.11's default mount-point and filesystem-type excludes, each mount
//! measured with `statfs(2)` under a deadline. Labels are `{device, mountpoint, fstype,
//! device_error}`; `device_error` holds the failed call's error text, so it is empty (and,
//! as in a Prometheus scrape, absent) for healthy mounts. The collector calls
//! `Filesystems::collect` once per collect.

use std::path::Path;
use std::time::Duration;

use regex::Regex;

use super::emit::Emitter;
use super::error::HostError;
use super::read::num;
use super::statfs::{Outcome, StatfsRunner, error_text};

/// node_exporter 1.11's default `--collector.filesystem.mount-points-exclude`. (Debian's
/// package patches its default to also exclude `/run`, `/mnt` and `/media`.)
pub const DEFAULT_MOUNT_POINTS_EXCLUDE: &str =
    "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";

/// node_exporter 1.11's default `--collector.filesystem.fs-types-exclude`.
pub const DEFAULT_FS_TYPES_EXCLUDE: &str = "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$";

/// How long one `statfs` may take before its mount point counts as stuck.
const STATFS_TIMEOUT: Duration = Duration::from_secs(5);

/// One line of mountinfo that passed the filters.
struct Mount<'t> {
    device: &'t str,
    mountpoint: String,
    fstype: &'t str,
    major: &'t str,
    minor: &'t str,
    read_only: bool,
}

/// The filters and the `statfs` runner, kept between collects.
pub(crate) struct Filesystems {
    mount_points_exclude: Regex,
    fs_types_exclude: Regex,
    statfs: StatfsRunner,
}

impl Filesystems {
    pub(crate) fn new(mount_points_exclude: Regex, fs_types_exclude: Regex) -> Self {
        Filesystems {
            mount_points_exclude,
            fs_types_exclude,
            statfs: StatfsRunner::new(STATFS_TIMEOUT),
        }
    }

    /// Parses `text` (mountinfo read from `path`) and emits every mount the filters keep.
    /// Mount points are looked up under `rootfs` and reported without it.
    pub(crate) fn collect(
        &mut self,
        path: &Path,
        text: &str,
        rootfs: &Path,
        out: &mut Emitter<'_>,
    ) -> Result<(), HostError> {
        let root = rootfs.to_string_lossy();
        let mut mounts: Vec<Mount<'_>> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            let m = parse_line(path, i + 1, line, &root)?;
            if self.mount_points_exclude.is_match(&m.mountpoint)
                || self.fs_types_exclude.is_match(m.fstype)
            {
                continue;
            }
            // The same filesystem mounted twice at one place is reported once.
            let dup = mounts.iter().any(|o| {
                o.device == m.device && o.mountpoint == m.mountpoint && o.fstype == m.fstype
            });
            if !dup {
                mounts.push(m);
            }
        }
        for m in &mounts {
            let target = rootfs.join(m.mountpoint.trim_start_matches('/'));
            match self.statfs.stat(&target) {
                Outcome::Stats(s) => {
                    let labels = [
                        ("device", m.device),
                        ("mountpoint", m.mountpoint.as_str()),
                        ("fstype", m.fstype),
                    ];
                    out.emit("node_filesystem_device_error", &labels, 0.0);
                    out.emit("node_filesystem_readonly", &labels, bool_f(m.read_only));
                    out.emit("node_filesystem_size_bytes", &labels, s.size);
                    out.emit("node_filesystem_free_bytes", &labels, s.free);
                    out.emit("node_filesystem_avail_bytes", &labels, s.avail);
                    out.emit("node_filesystem_files", &labels, s.files);
                    out.emit("node_filesystem_files_free", &labels, s.files_free);
                    // macOS's purgeable space; node_exporter 1.11 writes 0 on Linux.
                    out.emit("node_filesystem_purgeable_bytes", &labels, 0.0);
                    out.emit(
                        "node_filesystem_mount_info",
                        &[
                            ("device", m.device),
                            ("major", m.major),
                            ("minor", m.minor),
                            ("mountpoint", m.mountpoint.as_str()),
                        ],
                        1.0,
                    );
                }
                Outcome::Failed(e) => {
                    let err = error_text(&e);
                    emit_error(out, m, &err, bool_f(m.read_only));
                }
                Outcome::Stuck => emit_error(out, m, "mountpoint timeout", 0.0),
            }
        }
        Ok(())
    }
}

/// A mount whose `statfs` failed: only `device_error` (1) and `readonly`, labelled with
/// the error, as node_exporter does.
fn emit_error(out: &mut Emitter<'_>, m: &Mount<'_>, err: &str, read_only: f64) {
    let labels = [
        ("device", m.device),
        ("mountpoint", m.mountpoint.as_str()),
        ("fstype", m.fstype),
        ("device_error", err),
    ];
    out.emit("node_filesystem_device_error", &labels, 1.0);
    out.emit("node_filesystem_readonly", &labels, read_only);
}

fn bool_f(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// One mountinfo line: `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root
/// rw,errors=continue` (proc(5)). Fields are separated by single spaces; the optional
/// fields end at the `-`, which is the fourth field from the end.
fn parse_line<'t>(
    path: &Path,
    n: usize,
    line: &'t str,
    root: &str,
) -> Result<Mount<'t>, HostError> {
    let f: Vec<&str> = line.split(' ').collect();
    if f.len() < 10 {
        let reason = format!("expected at least 10 fields, found {}", f.len());
        return Err(HostError::parse(path, n, reason));
    }
    let len = f.len();
    if f[len - 4] != "-" {
        return Err(HostError::parse(
            path,
            n,
            "no \"-\" separator before the filesystem type",
        ));
    }
    let (major, minor) = f[2].split_once(':').ok_or_else(|| {
        HostError::parse(
            path,
            n,
            format!("device number {:?} is not major:minor", f[2]),
        )
    })?;
    num::<u32>(path, n, "major device number", major)?;
    num::<u32>(path, n, "minor device number", minor)?;
    // Spaces and tabs in mount points are written as octal escapes (fstab(5)).
    let mountpoint = f[4].replace("\\040", " ").replace("\\011", "\t");
    let mountpoint = strip_root(mountpoint, root);
    let has = |opts: &str, want: &[&str]| opts.split(',').any(|o| want.contains(&o));
    // Read-only per the mount or the superblock (`emergency_ro`: ext4 after an error).
    // node_exporter 1.11.1 reads this wrongly and says 0 for read-only mounts; fixed
    // upstream after 1.11.1 (prometheus/node_exporter#3659), which this follows.
    let read_only = has(f[5], &["ro"]) || has(f[len - 1], &["ro", "emergency_ro"]);
    Ok(Mount {
        device: f[len - 2],
        mountpoint,
        fstype: f[len - 3],
        major,
        minor,
        read_only,
    })
}

/// A mount point as seen from inside `root` (node_exporter's `--path.rootfs`).
fn strip_root(mountpoint: String, root: &str) -> String {
    if root == "/" || root.is_empty() {
        return mountpoint;
    }
    match mountpoint.strip_prefix(root.trim_end_matches('/')) {
        Some("") => "/".to_string(),
        Some(rest) if rest.starts_with('/') => rest.to_string(),
        _ => mountpoint,
    }
}
