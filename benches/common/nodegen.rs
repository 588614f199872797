//! Synthetic node_exporter-like hosts for benchmarks: per host ~400 series in the mix a
//! real node_exporter shows (many constants, integer counters at very different rates,
//! `node_cpu_seconds_total` in USER_HZ ticks, memory/filesystem gauges in whole pages that
//! drift slowly, load averages with two decimals, and a few full-entropy floats such as
//! collector durations), sampled every 2s with a few ms of scrape jitter shared by all
//! series of a host. Deterministic for a given seed. Used by `benches/head.rs` and
//! `examples/head_memory.rs`.
#![allow(dead_code)]

use kmon::model::Labels;

/// xorshift64*: small, fast, good enough for synthetic data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// Log-uniform in [lo, hi).
    pub fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + self.f64() * (hi.ln() - lo.ln())).exp()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Constant,
    Counter,
    CpuSeconds,
    SlowGauge,
    LoadAvg,
    NoisyFloat,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Constant,
        Kind::Counter,
        Kind::CpuSeconds,
        Kind::SlowGauge,
        Kind::LoadAvg,
        Kind::NoisyFloat,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Constant => "constant",
            Kind::Counter => "integer counter",
            Kind::CpuSeconds => "cpu seconds (ticks/100)",
            Kind::SlowGauge => "memory/fs bytes gauge",
            Kind::LoadAvg => "load average (2 decimals)",
            Kind::NoisyFloat => "full-entropy float",
        }
    }
}

/// The value process of one series.
pub struct Gen {
    pub kind: Kind,
    value: f64,
    rate: f64,
    ticks: u64,
    idle_prob: f64,
    target: f64,
}

impl Gen {
    fn new(kind: Kind, rng: &mut Rng) -> Gen {
        let mut g = Gen {
            kind,
            value: 0.0,
            rate: 0.0,
            ticks: 0,
            idle_prob: 0.0,
            target: 0.0,
        };
        match kind {
            Kind::Constant => {
                g.value = match rng.below(4) {
                    0 => 0.0,
                    1 => 1.0,
                    2 => (rng.below(1 << 20) * 4096) as f64,
                    _ => 1_699_000_000.0 + rng.below(1_000_000) as f64,
                }
            }
            Kind::Counter => {
                g.rate = rng.log_uniform(0.05, 200_000.0);
                g.idle_prob = if rng.below(4) == 0 { 0.7 } else { 0.0 };
                g.value = (rng.below(1 << 30)) as f64;
            }
            Kind::CpuSeconds => {
                g.ticks = 10_000_000 + rng.below(50_000_000);
            }
            Kind::SlowGauge => {
                g.value = ((1u64 << 18) + rng.below(1 << 21)) as f64 * 4096.0;
            }
            Kind::LoadAvg => {
                g.target = rng.f64() * 4.0;
                g.value = g.target;
            }
            Kind::NoisyFloat => {
                g.rate = rng.log_uniform(0.0001, 0.05);
            }
        }
        g
    }

    /// A cpu mode's busy fraction of one core.
    fn cpu(rate: f64, rng: &mut Rng) -> Gen {
        let mut g = Gen::new(Kind::CpuSeconds, rng);
        g.rate = rate;
        g
    }

    pub fn next(&mut self, rng: &mut Rng) -> f64 {
        match self.kind {
            Kind::Constant => self.value,
            Kind::Counter => {
                if rng.f64() >= self.idle_prob {
                    self.value += (self.rate * 2.0 * (0.7 + 0.6 * rng.f64())).round();
                }
                self.value
            }
            Kind::CpuSeconds => {
                // node_exporter reads /proc/stat in USER_HZ (1/100 s) and divides.
                self.ticks += (self.rate * 200.0 * (0.9 + 0.2 * rng.f64())).round() as u64;
                self.ticks as f64 / 100.0
            }
            Kind::SlowGauge => {
                if rng.below(10) < 4 {
                    self.value += (rng.below(129) as f64 - 64.0) * 4096.0;
                }
                self.value
            }
            Kind::LoadAvg => {
                if rng.below(30) == 0 {
                    self.target = rng.f64() * 4.0;
                }
                self.value += (self.target - self.value) * 0.08 + (rng.f64() - 0.5) * 0.05;
                (self.value.max(0.0) * 100.0).round() / 100.0
            }
            Kind::NoisyFloat => self.rate * (0.5 + rng.f64()),
        }
    }
}

pub struct SeriesSpec {
    pub labels: Labels,
    pub values: Gen,
}

fn labels(name: &str, instance: &str, extra: &[(&str, &str)]) -> Labels {
    let mut pairs = vec![("__name__", name), ("instance", instance), ("job", "node")];
    pairs.extend_from_slice(extra);
    Labels::from_pairs(&pairs)
}

const COUNTERS: [&str; 10] = [
    "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total",
    "node_network_receive_packets_total",
    "node_network_transmit_packets_total",
    "node_disk_reads_completed_total",
    "node_disk_writes_completed_total",
    "node_disk_read_bytes_total",
    "node_disk_written_bytes_total",
    "node_vmstat_pgfault",
    "node_netstat_Tcp_InSegs",
];
const CONSTANT_NAMES: [&str; 9] = [
    "node_network_receive_errs_total",
    "node_network_transmit_drop_total",
    "node_filesystem_size_bytes",
    "node_network_info",
    "node_cpu_guest_seconds_total",
    "node_boot_time_seconds",
    "node_memory_MemTotal_bytes",
    "node_filesystem_readonly",
    "node_hwmon_chip_names",
];
const GAUGES: [&str; 4] = [
    "node_memory_MemAvailable_bytes",
    "node_memory_Cached_bytes",
    "node_filesystem_avail_bytes",
    "node_filesystem_free_bytes",
];
const DEVICES: [&str; 10] = [
    "eth0", "eth1", "lo", "docker0", "sda", "sdb", "nvme0n1", "veth1a2b", "br-01", "tun0",
];
const CPU_MODES: [(&str, f64); 8] = [
    ("idle", 0.85),
    ("user", 0.08),
    ("system", 0.03),
    ("iowait", 0.005),
    ("irq", 0.001),
    ("softirq", 0.004),
    ("nice", 0.0),
    ("steal", 0.0),
];

/// The series of host `i`: 4 cpus × 8 modes, 100 counters, 48 gauges, 3 load averages,
/// 36 noisy floats, 180 constants (399 in all).
pub fn host(i: usize, rng: &mut Rng) -> Vec<SeriesSpec> {
    let instance = format!("10.{}.{}.{}:9100", i / 65536 % 256, i / 256 % 256, i % 256);
    let inst = instance.as_str();
    let mut out = Vec::with_capacity(400);
    for cpu in 0..4 {
        for (mode, busy) in CPU_MODES {
            let cpu = cpu.to_string();
            out.push(SeriesSpec {
                labels: labels(
                    "node_cpu_seconds_total",
                    inst,
                    &[("cpu", &cpu), ("mode", mode)],
                ),
                values: Gen::cpu(busy * (0.5 + rng.f64()), rng),
            });
        }
    }
    for (n, name) in COUNTERS.iter().cycle().take(100).enumerate() {
        let dev = DEVICES[n / COUNTERS.len()];
        out.push(SeriesSpec {
            labels: labels(name, inst, &[("device", dev)]),
            values: Gen::new(Kind::Counter, rng),
        });
    }
    for (n, name) in GAUGES.iter().cycle().take(48).enumerate() {
        let mp = format!("/mnt/disk{}", n / GAUGES.len());
        out.push(SeriesSpec {
            labels: labels(name, inst, &[("mountpoint", &mp)]),
            values: Gen::new(Kind::SlowGauge, rng),
        });
    }
    for name in ["node_load1", "node_load5", "node_load15"] {
        out.push(SeriesSpec {
            labels: labels(name, inst, &[]),
            values: Gen::new(Kind::LoadAvg, rng),
        });
    }
    for n in 0..36 {
        let collector = format!("collector{n:02}");
        out.push(SeriesSpec {
            labels: labels(
                "node_scrape_collector_duration_seconds",
                inst,
                &[("collector", &collector)],
            ),
            values: Gen::new(Kind::NoisyFloat, rng),
        });
    }
    for (n, name) in CONSTANT_NAMES.iter().cycle().take(180).enumerate() {
        let dev = format!("{}{}", DEVICES[n % DEVICES.len()], n / CONSTANT_NAMES.len());
        out.push(SeriesSpec {
            labels: labels(name, inst, &[("device", &dev)]),
            values: Gen::new(Kind::Constant, rng),
        });
    }
    out
}

/// `n` scrape timestamps every `interval_ms` from `start`, each moved by a uniform jitter
/// in `[-jitter_ms, jitter_ms]`.
pub fn scrape_times(
    start: i64,
    n: usize,
    interval_ms: i64,
    jitter_ms: i64,
    rng: &mut Rng,
) -> Vec<i64> {
    (0..n as i64)
        .map(|k| {
            let j = if jitter_ms > 0 {
                rng.below(2 * jitter_ms as u64 + 1) as i64 - jitter_ms
            } else {
                0
            };
            start + k * interval_ms + j
        })
        .collect()
}
