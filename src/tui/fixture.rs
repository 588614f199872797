//! A fixed, realistic `UiSnapshot` for screen tests, screenshots and demos: one host with
//! 4 cores, 2 network interfaces, 3 filesystems and 2 disks, and 240-point histories made
//! with integer arithmetic only, so every platform draws the same screen. Tests in `tui`
//! and the screen export call `sample_snapshot` (and `sample_dashboard_snapshot`, the same
//! with a dashboard of every panel kind); the running app never does.

use crate::app::{
    CoreRow, CpuPanel, DiskIoRow, DisksPanel, FilesystemRow, Health, History, HostInfo,
    InterfaceRow, MemoryPanel, NetworkPanel, PanelData, PanelKind, PanelSeries, SelfUsage,
    TargetRow, TimeRange, UiSnapshot, Unit,
};
use crate::model::Labels;

mod alerts;
mod cluster;
mod dashboard;

pub use alerts::{sample_alert_panel, sample_alerts, sample_alerts_snapshot};
pub use cluster::{large_cluster, sample_cluster, sample_cluster_snapshot, sample_detail};
pub use dashboard::sample_dashboard_snapshot;

/// Points per history in the fixture.
pub const HISTORY_LEN: usize = 240;

const KIB: f64 = 1024.0;
const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// A deterministic value in `0.0..1.0` for point `i` of stream `seed`.
fn jitter(i: usize, seed: u64) -> f64 {
    let mut x = (i as u64).wrapping_add(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    (x % 1000) as f64 / 1000.0
}

/// A triangle wave in `0.0..=1.0` with the given period, shifted by `phase` points.
fn wave(i: usize, period: usize, phase: usize) -> f64 {
    let p = (i + phase) % period;
    let half = period as f64 / 2.0;
    let p = p as f64;
    if p < half {
        p / half
    } else {
        (period as f64 - p) / half
    }
}

/// `HISTORY_LEN` points from `f`, rounded to one decimal so text renders stably.
fn history(f: impl Fn(usize) -> f64) -> History {
    (0..HISTORY_LEN)
        .map(|i| Some((f(i) * 10.0).round() / 10.0))
        .collect()
}

fn core(name: &str, seed: u64, base: f64, swing: f64, period: usize) -> CoreRow {
    let busy = history(|i| {
        (base + swing * wave(i, period, seed as usize * 7) + 12.0 * jitter(i, seed)).min(100.0)
    });
    CoreRow {
        name: name.to_string(),
        busy,
    }
}

/// The fixture snapshot. Notable features: `cpu3` has a 6-point gap (a missed scrape), core
/// `cpu1` ends at 100 %, `eth0` is the busy interface, `/boot/efi` is almost empty and
/// `/` is 62 % full.
pub fn sample_snapshot() -> UiSnapshot {
    let mut cores = vec![
        core("cpu0", 1, 18.0, 40.0, 60),
        core("cpu1", 2, 35.0, 50.0, 90),
        core("cpu2", 3, 8.0, 20.0, 45),
        core("cpu3", 4, 22.0, 30.0, 120),
    ];
    if let Some(last) = cores[1].busy.last_mut() {
        *last = Some(100.0);
    }
    for point in cores[3].busy.iter_mut().skip(200).take(6) {
        *point = None;
    }
    let total = (0..HISTORY_LEN)
        .map(|i| {
            let known: Vec<f64> = cores.iter().filter_map(|c| c.busy[i]).collect();
            let mean = known.iter().sum::<f64>() / known.len().max(1) as f64;
            Some((mean * 10.0).round() / 10.0)
        })
        .collect();

    let memory = MemoryPanel {
        total_bytes: Some(16.0 * GIB),
        available_bytes: Some(9.5 * GIB),
        free_bytes: Some(2.1 * GIB),
        cached_bytes: Some(5.8 * GIB),
        swap_total_bytes: Some(4.0 * GIB),
        swap_free_bytes: Some(3.5 * GIB),
        used_pct: history(|i| 38.0 + 8.0 * wave(i, 150, 20) + 2.0 * jitter(i, 11)),
    };

    let interfaces = vec![
        InterfaceRow {
            device: "eth0".to_string(),
            rx: history(|i| (1.0 + 11.0 * wave(i, 80, 0) * jitter(i, 21)) * MIB),
            tx: history(|i| (100.0 + 800.0 * wave(i, 50, 10) * jitter(i, 22)) * KIB),
            rx_total: Some(12.3 * GIB),
            tx_total: Some(1.9 * GIB),
        },
        InterfaceRow {
            device: "wlan0".to_string(),
            rx: history(|i| (2.0 + 6.0 * jitter(i, 31)) * KIB),
            tx: history(|i| 300.0 + 500.0 * jitter(i, 32)),
            rx_total: Some(640.0 * MIB),
            tx_total: Some(85.0 * MIB),
        },
    ];

    let filesystems = vec![
        FilesystemRow {
            mountpoint: "/".to_string(),
            device: "/dev/nvme0n1p2".to_string(),
            fstype: "ext4".to_string(),
            size_bytes: 475.0 * GIB,
            avail_bytes: 180.5 * GIB,
        },
        FilesystemRow {
            mountpoint: "/boot/efi".to_string(),
            device: "/dev/nvme0n1p1".to_string(),
            fstype: "vfat".to_string(),
            size_bytes: 511.0 * MIB,
            avail_bytes: 505.0 * MIB,
        },
        FilesystemRow {
            mountpoint: "/mnt/backup".to_string(),
            device: "/dev/sda1".to_string(),
            fstype: "xfs".to_string(),
            size_bytes: 1863.0 * GIB,
            avail_bytes: 402.0 * GIB,
        },
    ];
    let devices = vec![
        DiskIoRow {
            device: "nvme0n1".to_string(),
            read: history(|i| (0.2 + 30.0 * wave(i, 70, 5) * jitter(i, 41)) * MIB),
            written: history(|i| (50.0 + 4000.0 * jitter(i, 42) * wave(i, 40, 0)) * KIB),
        },
        DiskIoRow {
            device: "sda".to_string(),
            read: history(|i| 2.0 * KIB * jitter(i, 51)),
            written: history(|i| if i % 30 < 3 { 8.0 * MIB } else { 0.0 }),
        },
    ];

    UiSnapshot {
        at_ms: 1_700_000_000_000,
        step_ms: 1_000,
        host: HostInfo {
            hostname: "kmon-demo".to_string(),
            kernel: "6.8.0-45-generic".to_string(),
            uptime_secs: 274_325.0,
            source: "this machine".to_string(),
        },
        cpu: CpuPanel {
            total,
            cores,
            load: Some([0.52, 0.48, 0.40]),
        },
        memory,
        network: NetworkPanel { interfaces },
        disks: DisksPanel {
            filesystems,
            devices,
        },
        targets: sample_targets(),
        dropped_targets: vec![("node-exporter".to_string(), 3)],
        dropped: (1..=3)
            .map(|i| {
                let addr = format!("10.0.1.{i}:9100");
                TargetRow {
                    job: "node-exporter".into(),
                    url: addr.clone(),
                    discovered_labels: crate::model::Labels::from_pairs(&[
                        ("__address__", addr.as_str()),
                        ("__meta_env", "staging"),
                        ("job", "node-exporter"),
                    ]),
                    ..TargetRow::default()
                }
            })
            .collect(),
        panels: vec![sample_panel()],
        me: SelfUsage {
            cpu_pct: Some(0.8),
            rss_bytes: Some(23.5 * MIB),
        },
        tz_offset_secs: 0,
        range: TimeRange {
            span_ms: 15 * 60 * 1000,
            end_ms: 1_700_000_000_000,
            paused: false,
        },
        status: String::new(),
        alerts: Default::default(),
        completion: Default::default(),
        cluster: None,
        dashboard: Default::default(),
        sources: Default::default(),
    }
}

/// The fixture's targets: the built-in collector (up), two `node-exporter` targets (one
/// up, one down with a connection error) and a `kmon` target not scraped yet.
pub fn sample_targets() -> Vec<TargetRow> {
    let target = |job: &str, addr: &str, health: Health, err: &str, scraped: Option<i64>| {
        let url = if addr.starts_with("builtin") {
            addr.to_string()
        } else {
            format!("http://{addr}/metrics")
        };
        TargetRow {
            job: job.to_string(),
            url,
            health,
            last_error: err.to_string(),
            last_scrape_ms: scraped,
            duration_secs: if scraped.is_some() { 0.004 } else { 0.0 },
            labels: Labels::from_pairs(&[("instance", addr), ("job", job)]),
            discovered_labels: Labels::from_pairs(&[
                ("__address__", addr),
                ("__meta_filepath", "/etc/prometheus/targets.json"),
                ("__scheme__", "http"),
                ("job", job),
            ]),
            samples: if health == Health::Up { 1204 } else { 0 },
            interval_secs: 15.0,
        }
    };
    vec![
        TargetRow {
            labels: Labels::from_pairs(&[("instance", "kmon-demo"), ("job", "node")]),
            discovered_labels: Labels::from_pairs(&[("__address__", "builtin:/proc")]),
            ..target(
                "node",
                "builtin:/proc",
                Health::Up,
                "",
                Some(1_699_999_999_000),
            )
        },
        target(
            "node-exporter",
            "10.0.0.7:9100",
            Health::Up,
            "",
            Some(1_699_999_997_000),
        ),
        target(
            "node-exporter",
            "10.0.0.8:9100",
            Health::Down,
            "Get \"http://10.0.0.8:9100/metrics\": dial tcp 10.0.0.8:9100: connect: connection refused",
            Some(1_699_999_988_000),
        ),
        target("kmon", "127.0.0.1:9090", Health::Unknown, "", None),
    ]
}

/// The query bar's panel in the fixture: receive rates of three interfaces over the last
/// 15 minutes at 10 s steps; `wlan0` stops 20 steps before the end (a gap at the right),
/// and `lo` is nearly flat.
pub fn sample_panel() -> PanelData {
    const STEP: i64 = 10_000;
    const STEPS: i64 = 90;
    let end = 1_700_000_000_000;
    let start = end - (STEPS - 1) * STEP;
    let series = [
        ("eth0", 0, 2.0 * MIB),
        ("lo", 1, 3.0 * KIB),
        ("wlan0", 2, 400.0 * KIB),
    ]
    .into_iter()
    .map(|(device, seed, scale)| PanelSeries {
        query: 0,
        labels: Labels::from_pairs(&[("device", device), ("instance", "kmon-demo:9100")]),
        points: (0..STEPS)
            .filter(|&i| device != "wlan0" || i < STEPS - 20)
            .map(|i| {
                let i = i as usize;
                let v = scale * (0.3 + 0.7 * wave(i, 40, seed * 9) * jitter(i, seed as u64 + 60));
                (start + i as i64 * STEP, (v * 10.0).round() / 10.0)
            })
            .collect(),
    })
    .collect();
    PanelData {
        id: 0,
        title: String::new(),
        queries: vec!["rate(node_network_receive_bytes_total[1m])".to_string()],
        unit: Unit::BytesPerSec,
        kind: PanelKind::Graph,
        start_ms: start,
        end_ms: end,
        step_ms: STEP,
        series,
        error: None,
        warnings: Vec::new(),
        outcomes: vec![crate::app::QueryOutcome::default()],
    }
}

/// Three query sources for the `:source` picker: the embedded engine, a kmon.yaml source
/// without targets and rules (active), and a detected one that cannot be reached.
pub fn sample_sources() -> std::sync::Arc<crate::app::SourcesView> {
    use crate::app::{SourceOption, SourceOrigin, SourceStatus, SourcesView};
    let opt = |name: &str, description: &str, origin, status| SourceOption {
        name: name.into(),
        description: description.into(),
        origin,
        status,
    };
    std::sync::Arc::new(SourcesView {
        active: "thanos".into(),
        options: vec![
            opt(
                "embedded",
                "kmon's own engine and storage",
                SourceOrigin::Embedded,
                SourceStatus::Ok,
            ),
            opt(
                "thanos",
                "https://thanos.example/prometheus",
                SourceOrigin::Configured,
                SourceStatus::Unavailable("targets, rules".into()),
            ),
            opt(
                "monitoring/prometheus",
                "k8s://monitoring/prometheus:9090",
                SourceOrigin::Detected,
                SourceStatus::Error("connection refused; retrying in 4s".into()),
            ),
        ],
        ..SourcesView::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_is_deterministic_and_in_range() {
        let a = sample_snapshot();
        assert_eq!(a, sample_snapshot());
        assert_eq!(a.cpu.cores.len(), 4);
        assert_eq!(a.network.interfaces.len(), 2);
        assert_eq!(a.disks.filesystems.len(), 3);
        for core in &a.cpu.cores {
            assert_eq!(core.busy.len(), HISTORY_LEN);
            assert!(
                core.busy
                    .iter()
                    .flatten()
                    .all(|v| (0.0..=100.0).contains(v))
            );
        }
        assert_eq!(
            a.cpu.cores[3].busy.iter().filter(|v| v.is_none()).count(),
            6
        );
        assert_eq!(a.cpu.cores[1].busy.last(), Some(&Some(100.0)));
    }
}
