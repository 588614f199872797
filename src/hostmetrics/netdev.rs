//! `/proc/net/dev` as node_exporter's `node_network_{receive,transmit}_*_total{device}`
//! counters. node_exporter 1.11 reads the same counters over netlink by default and folds
//! the detailed error counters into the legacy names exactly as the kernel does for
//! `/proc/net/dev`, so the values agree; the one netlink counter the file lacks,
//! `rx_nohandler`, comes from `/sys/class/net/<device>/statistics/rx_nohandler`. No device
//! is excluded by default. The collector calls `collect` once per collect.

use std::path::Path;

use super::emit::Emitter;
use super::error::HostError;
use super::read::{num, read_attr};

/// The sixteen columns of `/proc/net/dev`, in file order.
const NAMES: [&str; 16] = [
    "node_network_receive_bytes_total",
    "node_network_receive_packets_total",
    "node_network_receive_errs_total",
    "node_network_receive_drop_total",
    "node_network_receive_fifo_total",
    "node_network_receive_frame_total",
    "node_network_receive_compressed_total",
    "node_network_receive_multicast_total",
    "node_network_transmit_bytes_total",
    "node_network_transmit_packets_total",
    "node_network_transmit_errs_total",
    "node_network_transmit_drop_total",
    "node_network_transmit_fifo_total",
    "node_network_transmit_colls_total",
    "node_network_transmit_carrier_total",
    "node_network_transmit_compressed_total",
];

/// Parses `text` (the content of `path`) and emits each device's counters; `sys_class_net`
/// is `/sys/class/net` (its absence only drops `node_network_receive_nohandler_total`).
pub(crate) fn collect(
    path: &Path,
    text: &str,
    sys_class_net: &Path,
    scratch: &mut String,
    out: &mut Emitter<'_>,
) -> Result<(), HostError> {
    let mut devices: Vec<(&str, [u64; 16])> = Vec::new();
    // Two header lines, then one line per device: "  eth0: 123 45 ...".
    for (i, line) in text.lines().enumerate().skip(2) {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let (dev, rest) = line
            .split_once(':')
            .ok_or_else(|| HostError::parse(path, n, "expected \"device: counters...\""))?;
        let dev = dev.trim();
        let mut vals = [0u64; 16];
        let mut cols = rest.split_ascii_whitespace();
        for (c, v) in vals.iter_mut().enumerate() {
            let col = cols.next().ok_or_else(|| {
                HostError::parse(path, n, format!("{dev}: expected 16 counters, found {c}"))
            })?;
            *v = num(path, n, NAMES[c], col)?;
        }
        devices.push((dev, vals));
    }
    for (dev, vals) in devices {
        let labels = [("device", dev)];
        for (name, v) in NAMES.iter().zip(vals) {
            out.emit(name, &labels, v as f64);
        }
        let attr = sys_class_net.join(dev).join("statistics/rx_nohandler");
        // Optional: kernels before 4.6 and some virtual devices have no such file.
        if let Ok(true) = read_attr(&attr, scratch)
            && let Ok(v) = scratch.parse::<u64>()
        {
            out.emit("node_network_receive_nohandler_total", &labels, v as f64);
        }
    }
    Ok(())
}
