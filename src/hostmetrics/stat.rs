//! `/proc/stat`: per-CPU time (`node_cpu_seconds_total`, `node_cpu_guest_seconds_total`)
//! and the kernel's counters (`node_boot_time_seconds`, `node_context_switches_total`,
//! `node_intr_total`, `node_forks_total`, `node_procs_running`, `node_procs_blocked`).
//! The collector calls `StatState::collect` once per collect; the state keeps each CPU's
//! counters from going backwards, as node_exporter does.

use std::path::Path;

use super::emit::Emitter;
use super::error::HostError;
use super::read::num;

/// The `/proc/stat` columns of a CPU line, in file order.
const MODES: [&str; 10] = [
    "user",
    "nice",
    "system",
    "idle",
    "iowait",
    "irq",
    "softirq",
    "steal",
    "guest",
    "guest_nice",
];
const IDLE: usize = 3;
const GUEST: usize = 8;
const GUEST_NICE: usize = 9;

/// If a CPU's idle time drops by this many seconds, the CPU was probably unplugged and
/// plugged back: start its counters afresh (node_exporter's rule).
const IDLE_JUMP_BACK_SECONDS: f64 = 3.0;

struct CpuSeconds {
    id: u32,
    label: String,
    secs: [f64; 10],
    present: bool,
}

/// What survives between collects: the last exported CPU seconds and the boot time.
#[derive(Default)]
pub(crate) struct StatState {
    cpus: Vec<CpuSeconds>,
    /// `btime` of the last successful read, for `process_start_time_seconds`.
    pub(crate) boot_time: Option<f64>,
}

impl StatState {
    /// Parses `text` (the content of `path`) and emits its series.
    pub(crate) fn collect(
        &mut self,
        path: &Path,
        text: &str,
        user_hz: f64,
        out: &mut Emitter<'_>,
    ) -> Result<(), HostError> {
        let mut scalars: [Option<u64>; 6] = [None; 6];
        for c in &mut self.cpus {
            c.present = false;
        }
        // Parse everything first, so a malformed file emits nothing.
        let mut fresh: Vec<(u32, [f64; 10])> = Vec::with_capacity(self.cpus.len());
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let mut it = line.split_ascii_whitespace();
            let Some(key) = it.next() else { continue };
            if let Some(id) = key.strip_prefix("cpu") {
                if id.is_empty() {
                    continue; // the all-CPU total line
                }
                let id: u32 = num(path, n, "cpu number", id)?;
                let mut secs = [0.0; 10];
                for (m, s) in secs.iter_mut().enumerate() {
                    let Some(col) = it.next() else {
                        // Kernels before 2.6.24 have no guest columns; those count as zero.
                        if m >= GUEST {
                            break;
                        }
                        let reason = format!("{key}: expected at least {GUEST} columns, found {m}");
                        return Err(HostError::parse(path, n, reason));
                    };
                    let ticks: u64 = num(path, n, MODES[m], col)?;
                    *s = ticks as f64 / user_hz;
                }
                fresh.push((id, secs));
                continue;
            }
            let slot = match key {
                "intr" => 0,
                "ctxt" => 1,
                "btime" => 2,
                "processes" => 3,
                "procs_running" => 4,
                "procs_blocked" => 5,
                _ => continue,
            };
            let v = it
                .next()
                .ok_or_else(|| HostError::parse(path, n, format!("{key}: missing value")))?;
            scalars[slot] = Some(num(path, n, key, v)?);
        }

        for (id, secs) in fresh {
            self.update_cpu(id, secs);
        }
        self.cpus.retain(|c| c.present);
        self.cpus.sort_by_key(|c| c.id);
        for c in &self.cpus {
            for (m, mode) in MODES.iter().enumerate().take(GUEST) {
                out.emit(
                    "node_cpu_seconds_total",
                    &[("cpu", &c.label), ("mode", mode)],
                    c.secs[m],
                );
            }
            let guest = &[("user", c.secs[GUEST]), ("nice", c.secs[GUEST_NICE])];
            for (mode, v) in guest {
                out.emit(
                    "node_cpu_guest_seconds_total",
                    &[("cpu", &c.label), ("mode", mode)],
                    *v,
                );
            }
        }

        const NAMES: [&str; 6] = [
            "node_intr_total",
            "node_context_switches_total",
            "node_boot_time_seconds",
            "node_forks_total",
            "node_procs_running",
            "node_procs_blocked",
        ];
        for (name, v) in NAMES.iter().zip(scalars) {
            if let Some(v) = v {
                out.emit(name, &[], v as f64);
            }
        }
        self.boot_time = scalars[2].map(|b| b as f64);
        Ok(())
    }

    /// Takes a CPU's new reading: each mode only moves forward, unless idle jumped back
    /// far enough to mean the CPU was re-plugged, which resets it.
    fn update_cpu(&mut self, id: u32, new: [f64; 10]) {
        let Some(c) = self.cpus.iter_mut().find(|c| c.id == id) else {
            self.cpus.push(CpuSeconds {
                id,
                label: id.to_string(),
                secs: new,
                present: true,
            });
            return;
        };
        c.present = true;
        if c.secs[IDLE] - new[IDLE] >= IDLE_JUMP_BACK_SECONDS {
            c.secs = new;
            return;
        }
        for (old, new) in c.secs.iter_mut().zip(new) {
            if new >= *old {
                *old = new;
            }
        }
    }
}
