//! The node-level shapes of a synthetic page (a child of `shapes`): node_exporter-like CPU,
//! memory, filesystem, network, disk and host series, and the Go runtime/process series.

use std::f64::consts::TAU;

use super::super::Value;
use super::{Builder, CPU_MODES, prefix};
use crate::wave::{Counter, Gauge, Round};

impl Builder<'_> {
    pub(super) fn node(&mut self, ncpu: usize, uptime: f64) {
        for cpu in 0..ncpu {
            let util = self.rng.range(0.05, 0.5);
            let c = cpu.to_string();
            for (i, mode) in CPU_MODES.iter().enumerate() {
                let share = [0.0, 0.05, 0.01, 0.02, 0.03, 0.01, 0.28, 0.6][i];
                let a = if i == 0 {
                    1.0 - util
                } else {
                    util * share * self.rng.range(0.7, 1.3)
                };
                self.counter(
                    "node_cpu_seconds_total",
                    &[("cpu", &c), ("mode", mode)],
                    uptime * a,
                    a,
                    Round::Dp(2),
                );
            }
        }
        let total = *self.rng.pick(&[8.0, 16.0, 32.0, 64.0, 128.0]) * 1024f64.powi(3);
        let avail = self.rng.range(0.2, 0.7);
        for (name, frac) in [
            ("node_memory_Active_bytes", (1.0 - avail) * 0.8),
            ("node_memory_Buffers_bytes", 0.01),
            ("node_memory_Cached_bytes", avail * 0.6),
            ("node_memory_MemAvailable_bytes", avail),
            ("node_memory_MemFree_bytes", avail * 0.3),
            ("node_memory_SwapFree_bytes", 0.05),
        ] {
            self.gauge(name, &[], total * frac, 0.05, 0.002, Round::Int, 0);
        }
        self.constant("node_memory_MemTotal_bytes", &[], format!("{total}"), 0);
        self.constant(
            "node_memory_SwapTotal_bytes",
            &[],
            format!("{}", total / 16.0),
            0,
        );
        let fss = [
            ("/dev/nvme0n1p1", "ext4", "/"),
            ("/dev/nvme1n1", "xfs", "/var/lib/containerd"),
            ("tmpfs", "tmpfs", "/run"),
            ("/dev/sdb1", "ext4", "/mnt/share \"archive\"\\2019"),
        ];
        for (dev, fstype, mp) in fss {
            let pairs = [("device", dev), ("fstype", fstype), ("mountpoint", mp)];
            let size = *self.rng.pick(&[8.0, 50.0, 100.0, 500.0, 2000.0]) * 1024f64.powi(3);
            let free = size * self.rng.range(0.15, 0.9);
            let files = (size / 16384.0).floor();
            self.gauge(
                "node_filesystem_avail_bytes",
                &pairs,
                free * 0.95,
                0.05,
                0.001,
                Round::Int,
                0,
            );
            self.constant("node_filesystem_files", &pairs, format!("{files}"), 0);
            self.gauge(
                "node_filesystem_files_free",
                &pairs,
                files * 0.7,
                0.01,
                0.0005,
                Round::Int,
                0,
            );
            self.gauge(
                "node_filesystem_free_bytes",
                &pairs,
                free,
                0.05,
                0.001,
                Round::Int,
                0,
            );
            self.constant("node_filesystem_size_bytes", &pairs, format!("{size}"), 0);
        }
        for dev in ["eth0", "lo", "cni0"] {
            let bps = self.rng.range(1e4, 5e7);
            let pps = bps / self.rng.range(300.0, 1400.0);
            for (fam, a) in [
                ("node_network_receive_bytes_total", bps),
                ("node_network_receive_drop_total", pps * 1e-5),
                ("node_network_receive_errs_total", pps * 1e-6),
                ("node_network_receive_packets_total", pps),
                ("node_network_transmit_bytes_total", bps * 0.7),
                ("node_network_transmit_drop_total", pps * 1e-6),
                ("node_network_transmit_errs_total", pps * 1e-7),
                ("node_network_transmit_packets_total", pps * 0.8),
            ] {
                self.counter(fam, &[("device", dev)], uptime * a, a, Round::Int);
            }
        }
        for dev in ["nvme0n1", "nvme1n1"] {
            let (r, w) = (self.rng.range(1e4, 2e7), self.rng.range(1e4, 4e7));
            let io = self.rng.range(0.01, 0.3);
            let p = [("device", dev)];
            self.counter(
                "node_disk_io_time_seconds_total",
                &p,
                uptime * io,
                io,
                Round::Dp(2),
            );
            self.counter("node_disk_read_bytes_total", &p, uptime * r, r, Round::Int);
            self.counter(
                "node_disk_reads_completed_total",
                &p,
                uptime * r / 16384.0,
                r / 16384.0,
                Round::Int,
            );
            self.counter(
                "node_disk_writes_completed_total",
                &p,
                uptime * w / 8192.0,
                w / 8192.0,
                Round::Int,
            );
            self.counter(
                "node_disk_written_bytes_total",
                &p,
                uptime * w,
                w,
                Round::Int,
            );
        }
        let boot = (1_700_000_000.0 - uptime).round();
        self.constant("node_boot_time_seconds", &[], format!("{boot}"), 0);
        let cs = self.rng.range(2e3, 5e4) * ncpu as f64;
        self.counter(
            "node_context_switches_total",
            &[],
            uptime * cs,
            cs,
            Round::Int,
        );
        let forks = self.rng.range(1.0, 50.0);
        self.counter("node_forks_total", &[], uptime * forks, forks, Round::Int);
        self.counter(
            "node_intr_total",
            &[],
            uptime * cs * 0.7,
            cs * 0.7,
            Round::Int,
        );
        let load = ncpu as f64 * self.rng.range(0.1, 0.6);
        for name in ["node_load1", "node_load15", "node_load5"] {
            self.gauge(name, &[], load, 0.3, 0.1, Round::Dp(2), 0);
        }
        self.gauge("node_procs_blocked", &[], 1.0, 0.5, 1.5, Round::Int, 0);
        self.gauge(
            "node_procs_running",
            &[],
            ncpu as f64 * 0.4 + 1.0,
            0.5,
            0.8,
            Round::Int,
            0,
        );
        self.add(
            "node_time_seconds",
            prefix("node_time_seconds", &[]),
            Value::Clock {
                t0: 1_700_000_000.0,
            },
            0,
        );
        let node = self.node.clone();
        self.constant(
            "node_uname_info",
            &[
                ("machine", "x86_64"),
                ("nodename", &node),
                ("release", "6.1.0-18-amd64"),
                ("sysname", "Linux"),
                (
                    "version",
                    "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
                ),
            ],
            "1".into(),
            0,
        );
    }

    /// 15 series.
    pub(super) fn go(&mut self, uptime: f64) {
        let q0 = self.rng.range(1.5e-5, 4e-5);
        for (q, m) in [
            ("0", 1.0),
            ("0.25", 1.6),
            ("0.5", 2.4),
            ("0.75", 4.0),
            ("1", 25.0),
        ] {
            let sid = self.next_sid();
            let g = Gauge {
                off: 0.0,
                base: q0 * m,
                amp: 0.3,
                w: TAU / 600.0,
                p: 0.0,
                jit: 0.2,
                sid,
            };
            let value = Value::Gauge(g, Round::Dp(6));
            self.add(
                "go_gc_duration_seconds",
                prefix("go_gc_duration_seconds", &[("quantile", q)]),
                value,
                0,
            );
        }
        let gcs = self.rng.range(0.02, 0.3);
        let sid = self.next_sid();
        let sum = Value::Counter(
            Counter::steady(uptime * gcs * 2e-4, gcs * 2e-4, sid),
            Round::Dp(6),
        );
        self.add(
            "go_gc_duration_seconds",
            "go_gc_duration_seconds_sum ".into(),
            sum,
            0,
        );
        let sid = self.next_sid();
        let count = Value::Counter(Counter::steady(uptime * gcs, gcs, sid), Round::Int);
        self.add(
            "go_gc_duration_seconds",
            "go_gc_duration_seconds_count ".into(),
            count,
            0,
        );
        let g = self.rng.range(8.0, 40.0);
        self.gauge("go_goroutines", &[], g, 0.2, 0.2, Round::Int, 0);
        let a = self.rng.range(2e6, 4e7);
        self.gauge("go_memstats_alloc_bytes", &[], a, 0.3, 0.2, Round::Int, 0);
        self.gauge(
            "go_memstats_heap_inuse_bytes",
            &[],
            a * 1.5,
            0.2,
            0.1,
            Round::Int,
            0,
        );
        self.gauge("go_threads", &[], 12.0, 0.0, 0.0, Round::Int, 0);
        let cpu = self.rng.range(0.002, 0.05);
        self.counter(
            "process_cpu_seconds_total",
            &[],
            uptime * cpu,
            cpu,
            Round::Dp(2),
        );
        self.gauge("process_open_fds", &[], 20.0, 0.1, 0.1, Round::Int, 0);
        self.gauge(
            "process_resident_memory_bytes",
            &[],
            a * 2.0,
            0.1,
            0.05,
            Round::Int,
            0,
        );
        self.constant(
            "process_start_time_seconds",
            &[],
            format!("{}", (1_700_000_000.0 - uptime + 60.0).round()),
            0,
        );
    }
}
