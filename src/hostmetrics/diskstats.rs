//! `/proc/diskstats` as node_exporter's `node_disk_*{device}` series, plus
//! `node_disk_info` from sysfs (`queue/rotational`) and udev's database (model, serial,
//! ...). Devices matching node_exporter's default exclude pattern (RAM disks, loop
//! devices, floppies and partitions of sd/hd/vd/xvd/nvme disks) are skipped. The collector
//! calls `collect` once per collect.

use std::path::Path;

use regex::Regex;

use super::emit::Emitter;
use super::error::HostError;
use super::read::{num, read_attr, read_to};

/// node_exporter's default `--collector.diskstats.device-exclude`, with `\d` spelled
/// `[0-9]` (Go's `\d` is ASCII only).
pub const DEFAULT_DEVICE_EXCLUDE: &str =
    "^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme[0-9]+n[0-9]+p)[0-9]+$";

/// The statistics columns after major, minor and name, in file order, with the factor
/// that turns each into the exported unit: sectors are 512 bytes whatever the device,
/// times are milliseconds. Older kernels write 11 or 15 columns; only those present are
/// exported, as node_exporter does.
const COLUMNS: [(&str, f64); 17] = [
    ("node_disk_reads_completed_total", 1.0),
    ("node_disk_reads_merged_total", 1.0),
    ("node_disk_read_bytes_total", 512.0),
    ("node_disk_read_time_seconds_total", 0.001),
    ("node_disk_writes_completed_total", 1.0),
    ("node_disk_writes_merged_total", 1.0),
    ("node_disk_written_bytes_total", 512.0),
    ("node_disk_write_time_seconds_total", 0.001),
    ("node_disk_io_now", 1.0),
    ("node_disk_io_time_seconds_total", 0.001),
    ("node_disk_io_time_weighted_seconds_total", 0.001),
    ("node_disk_discards_completed_total", 1.0),
    ("node_disk_discards_merged_total", 1.0),
    // node_exporter exports discarded sectors as sectors, not bytes.
    ("node_disk_discarded_sectors_total", 1.0),
    ("node_disk_discard_time_seconds_total", 0.001),
    ("node_disk_flush_requests_total", 1.0),
    ("node_disk_flush_requests_time_seconds_total", 0.001),
];

struct Disk<'t> {
    major: &'t str,
    minor: &'t str,
    name: &'t str,
    stats: [f64; 17],
    count: usize,
}

/// Where `node_disk_info`'s extra labels come from.
pub(crate) struct DiskPaths<'p> {
    /// `/sys/block`.
    pub sys_block: &'p Path,
    /// udev's database, `/run/udev/data`.
    pub udev_data: &'p Path,
}

/// Parses `text` (the content of `path`) and emits every device `exclude` does not match.
pub(crate) fn collect(
    path: &Path,
    text: &str,
    exclude: &Regex,
    paths: &DiskPaths<'_>,
    scratch: &mut String,
    out: &mut Emitter<'_>,
) -> Result<(), HostError> {
    let mut disks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let mut cols = line.split_ascii_whitespace();
        let (Some(major), Some(minor), Some(name)) = (cols.next(), cols.next(), cols.next()) else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(HostError::parse(
                path,
                n,
                "expected major, minor and device name",
            ));
        };
        num::<u32>(path, n, "major", major)?;
        num::<u32>(path, n, "minor", minor)?;
        let mut d = Disk {
            major,
            minor,
            name,
            stats: [0.0; 17],
            count: 0,
        };
        for (col, (stat, (what, scale))) in cols.zip(d.stats.iter_mut().zip(COLUMNS)) {
            *stat = num::<u64>(path, n, what, col)? as f64 * scale;
            d.count += 1;
        }
        if d.count < 11 {
            let reason = format!("{name}: expected at least 11 statistics, found {}", d.count);
            return Err(HostError::parse(path, n, reason));
        }
        if !exclude.is_match(name) {
            disks.push(d);
        }
    }
    for d in disks {
        let dev = [("device", d.name)];
        for ((name, _), v) in COLUMNS.iter().zip(d.stats).take(d.count) {
            out.emit(name, &dev, v);
        }
        emit_info(&d, paths, scratch, out);
    }
    Ok(())
}

/// `node_disk_info`: always written; labels the sources lack are empty (so absent).
fn emit_info(d: &Disk<'_>, paths: &DiskPaths<'_>, scratch: &mut String, out: &mut Emitter<'_>) {
    let rotational_path = paths.sys_block.join(d.name).join("queue/rotational");
    let rotational = match read_attr(&rotational_path, scratch) {
        Ok(true) if scratch.as_str() == "1" => "1",
        _ => "0",
    };
    let udev_file = paths.udev_data.join(format!("b{}:{}", d.major, d.minor));
    if read_to(&udev_file, scratch).is_err() {
        scratch.clear();
    }
    let prop = |key: &str| -> &str {
        scratch
            .lines()
            .filter_map(|l| l.strip_prefix("E:"))
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| *k == key)
            .map_or("", |(_, v)| v)
    };
    // The serial printed on the label, else the short serial, else the full one (virtio).
    let serial = [
        prop("SCSI_IDENT_SERIAL"),
        prop("ID_SERIAL_SHORT"),
        prop("ID_SERIAL"),
    ]
    .into_iter()
    .find(|s| !s.is_empty())
    .unwrap_or("");
    out.emit(
        "node_disk_info",
        &[
            ("device", d.name),
            ("major", d.major),
            ("minor", d.minor),
            ("path", prop("ID_PATH")),
            ("wwn", prop("ID_WWN")),
            ("model", prop("ID_MODEL")),
            ("serial", serial),
            ("revision", prop("ID_REVISION")),
            ("rotational", rotational),
        ],
        1.0,
    );
}
