//! Builds the `UiSnapshot` from storage queries: the CPU, memory, network and disk boxes
//! of one node, computed from node_exporter-style series (counters turned into rates over
//! the refresh step). It reads only through `storage::Queryable`, never from a collector.

use std::collections::BTreeMap;

use super::snapshot::*;
use crate::model::{Labels, Matcher, Sample, is_stale_nan};
use crate::storage::{Queryable, SelectHints, StorageError};

/// How far back a point may look for its latest sample (Prometheus's default lookback).
const LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// The time grid of the graphs: `points` instants ending at `end`, `step` apart.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    pub end: i64,
    pub step: i64,
    pub points: usize,
}

impl Grid {
    fn times(&self) -> Vec<i64> {
        (0..self.points)
            .map(|i| self.end - (self.points - 1 - i) as i64 * self.step)
            .collect()
    }
    fn start(&self) -> i64 {
        self.end - (self.points as i64) * self.step
    }
}

/// The latest sample at or before each instant of `times`, within the lookback, skipping
/// stale markers (a stale marker ends the series until the next real sample).
pub fn values_at(samples: &[Sample], times: &[i64]) -> Vec<Option<f64>> {
    let mut out = Vec::with_capacity(times.len());
    let mut i = 0;
    for &t in times {
        while i < samples.len() && samples[i].t <= t {
            i += 1;
        }
        let v = i
            .checked_sub(1)
            .map(|j| samples[j])
            .filter(|s| t - s.t <= LOOKBACK_MS && !is_stale_nan(s.v))
            .map(|s| s.v);
        out.push(v);
    }
    out
}

/// Per-second rate between consecutive points of a counter sampled on the grid. The first
/// point and points after a gap or a counter reset have no rate.
pub fn rates(values: &[Option<f64>], step_ms: i64) -> Vec<Option<f64>> {
    let secs = step_ms as f64 / 1000.0;
    let mut out = Vec::with_capacity(values.len());
    out.push(None);
    for w in values.windows(2) {
        out.push(match (w[0], w[1]) {
            (Some(a), Some(b)) if b >= a && secs > 0.0 => Some((b - a) / secs),
            _ => None,
        });
    }
    out
}

/// Selects `metric{instance=...}` over the grid's range: each series' labels and samples.
fn select(
    store: &dyn Queryable,
    grid: &Grid,
    metric: &str,
    instance: Option<&str>,
) -> Result<Vec<(Labels, Vec<Sample>)>, StorageError> {
    let start = grid.start() - LOOKBACK_MS;
    let q = store.querier(start, grid.end)?;
    let mut ms = vec![Matcher::equal("__name__", metric)];
    if let Some(i) = instance {
        ms.push(Matcher::equal("instance", i));
    }
    let hints = SelectHints {
        start,
        end: grid.end,
        lazy: false,
    };
    Ok(q.select(&ms, &hints)?
        .into_iter()
        .map(|s| (s.labels, s.samples.collect()))
        .collect())
}

/// The instance whose boxes are shown: the first that has CPU data.
pub fn pick_instance(store: &dyn Queryable, grid: &Grid) -> Result<Option<String>, StorageError> {
    let q = store.querier(grid.start() - LOOKBACK_MS, grid.end)?;
    let m = Matcher::equal("__name__", "node_cpu_seconds_total");
    Ok(q.label_values("instance", &[m])?.into_iter().next())
}

fn latest(series: &[(Labels, Vec<Sample>)], grid: &Grid) -> Option<f64> {
    series
        .first()
        .and_then(|(_, s)| values_at(s, &[grid.end])[0])
}

/// Fills the host, CPU, memory, network and disk parts of a snapshot.
pub fn build(
    store: &dyn Queryable,
    grid: &Grid,
    snap: &mut UiSnapshot,
) -> Result<(), StorageError> {
    snap.at_ms = grid.end;
    snap.step_ms = grid.step;
    let instance = pick_instance(store, grid)?;
    let inst = instance.as_deref();
    let times = grid.times();

    // Host.
    if let Some((l, _)) = select(store, grid, "node_uname_info", inst)?.first() {
        snap.host.hostname = l.get("nodename").unwrap_or("").to_string();
        snap.host.kernel = l.get("release").unwrap_or("").to_string();
    }
    if let Some(boot) = latest(&select(store, grid, "node_boot_time_seconds", inst)?, grid) {
        snap.host.uptime_secs = (grid.end as f64 / 1000.0 - boot).max(0.0);
    }

    // CPU: busy share per core from the per-mode counters.
    // cpu → (all modes, idle + iowait) seconds per second, per grid point.
    let mut per_cpu: BTreeMap<u32, (History, History)> = BTreeMap::new();
    for (l, s) in select(store, grid, "node_cpu_seconds_total", inst)? {
        let (Some(cpu), Some(mode)) = (l.get("cpu"), l.get("mode")) else {
            continue;
        };
        let Ok(cpu) = cpu.parse::<u32>() else {
            continue;
        };
        let r = rates(&values_at(&s, &times), grid.step);
        let e = per_cpu
            .entry(cpu)
            .or_insert_with(|| (vec![Some(0.0); times.len()], vec![Some(0.0); times.len()]));
        let idle = mode == "idle" || mode == "iowait";
        for (k, v) in r.into_iter().enumerate() {
            add(&mut e.0[k], v);
            if idle {
                add(&mut e.1[k], v);
            }
        }
    }
    let mut total = vec![None; times.len()];
    let mut n = vec![0u32; times.len()];
    snap.cpu.cores = per_cpu
        .into_iter()
        .map(|(cpu, (all, idle))| {
            let busy: History = all
                .iter()
                .zip(&idle)
                .map(|(a, i)| match (a, i) {
                    (Some(a), Some(i)) if *a > 0.0 => Some(((a - i) / a * 100.0).clamp(0.0, 100.0)),
                    _ => None,
                })
                .collect();
            for (k, b) in busy.iter().enumerate() {
                if let Some(b) = b {
                    *total[k].get_or_insert(0.0) += b;
                    n[k] += 1;
                }
            }
            CoreRow {
                name: format!("cpu{cpu}"),
                busy,
            }
        })
        .collect();
    snap.cpu.total = total
        .into_iter()
        .zip(n)
        .map(|(t, n)| t.map(|t| t / n as f64))
        .collect();
    let load: Vec<Option<f64>> = ["node_load1", "node_load5", "node_load15"]
        .iter()
        .map(|m| Ok(latest(&select(store, grid, m, inst)?, grid)))
        .collect::<Result<_, StorageError>>()?;
    snap.cpu.load = match load[..] {
        [Some(a), Some(b), Some(c)] => Some([a, b, c]),
        _ => None,
    };

    // Memory.
    let mem = |name: &str| -> Result<Option<f64>, StorageError> {
        Ok(latest(&select(store, grid, name, inst)?, grid))
    };
    let tot = select(store, grid, "node_memory_MemTotal_bytes", inst)?;
    let avail = select(store, grid, "node_memory_MemAvailable_bytes", inst)?;
    let m = &mut snap.memory;
    m.total_bytes = latest(&tot, grid);
    m.available_bytes = latest(&avail, grid);
    m.free_bytes = mem("node_memory_MemFree_bytes")?;
    m.cached_bytes = mem("node_memory_Cached_bytes")?;
    m.swap_total_bytes = mem("node_memory_SwapTotal_bytes")?;
    m.swap_free_bytes = mem("node_memory_SwapFree_bytes")?;
    if let (Some((_, t)), Some((_, a))) = (tot.first(), avail.first()) {
        m.used_pct = values_at(t, &times)
            .into_iter()
            .zip(values_at(a, &times))
            .map(|(t, a)| match (t, a) {
                (Some(t), Some(a)) if t > 0.0 => Some(((t - a) / t * 100.0).clamp(0.0, 100.0)),
                _ => None,
            })
            .collect();
    }

    // Network: rates per device, busiest first, loopback last.
    let rx = device_rates(
        store,
        grid,
        "node_network_receive_bytes_total",
        inst,
        &times,
    )?;
    let mut tx = device_rates(
        store,
        grid,
        "node_network_transmit_bytes_total",
        inst,
        &times,
    )?;
    let mut ifaces: Vec<InterfaceRow> = rx
        .into_iter()
        .map(|(device, (rx, rx_total))| {
            let (tx, tx_total) = tx.remove(&device).unwrap_or_default();
            InterfaceRow {
                device,
                rx,
                tx,
                rx_total,
                tx_total,
            }
        })
        .collect();
    ifaces.sort_by(|a, b| {
        let key = |r: &InterfaceRow| (r.device == "lo", -(recent(&r.rx) + recent(&r.tx)));
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then_with(|| a.device.cmp(&b.device))
    });
    snap.network.interfaces = ifaces;

    // Disks: filesystems and per-device throughput.
    let sizes = select(store, grid, "node_filesystem_size_bytes", inst)?;
    let avails = select(store, grid, "node_filesystem_avail_bytes", inst)?;
    let mut fs: Vec<FilesystemRow> = Vec::new();
    for (l, s) in &sizes {
        let Some(size) = values_at(s, &[grid.end])[0] else {
            continue;
        };
        let mp = l.get("mountpoint").unwrap_or("");
        let avail = avails
            .iter()
            .find(|(al, _)| al.get("mountpoint") == Some(mp) && al.get("device") == l.get("device"))
            .and_then(|(_, s)| values_at(s, &[grid.end])[0])
            .unwrap_or(0.0);
        fs.push(FilesystemRow {
            mountpoint: mp.to_string(),
            device: l.get("device").unwrap_or("").to_string(),
            fstype: l.get("fstype").unwrap_or("").to_string(),
            size_bytes: size,
            avail_bytes: avail,
        });
    }
    fs.sort_by(|a, b| a.mountpoint.cmp(&b.mountpoint));
    snap.disks.filesystems = fs;
    let reads = device_rates(store, grid, "node_disk_read_bytes_total", inst, &times)?;
    let mut writes = device_rates(store, grid, "node_disk_written_bytes_total", inst, &times)?;
    snap.disks.devices = reads
        .into_iter()
        .map(|(device, (read, _))| {
            let (written, _) = writes.remove(&device).unwrap_or_default();
            DiskIoRow {
                device,
                read,
                written,
            }
        })
        .collect();
    Ok(())
}

fn add(acc: &mut Option<f64>, v: Option<f64>) {
    match (acc.as_mut(), v) {
        (Some(a), Some(v)) => *a += v,
        _ => *acc = None,
    }
}

/// Mean of the last few points, for ordering rows by activity.
fn recent(h: &History) -> f64 {
    h.iter().rev().take(5).flatten().sum()
}

type DeviceRates = BTreeMap<String, (History, Option<f64>)>;

/// Per-`device` rate history and latest counter value of a counter metric.
fn device_rates(
    store: &dyn Queryable,
    grid: &Grid,
    metric: &str,
    inst: Option<&str>,
    times: &[i64],
) -> Result<DeviceRates, StorageError> {
    let mut out = BTreeMap::new();
    for (l, s) in select(store, grid, metric, inst)? {
        let Some(dev) = l.get("device") else { continue };
        let v = values_at(&s, times);
        let last = v.last().copied().flatten();
        out.insert(dev.to_string(), (rates(&v, grid.step), last));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Appendable, MemStorage};

    fn lbl(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs)
    }

    #[test]
    fn values_at_respects_lookback_and_staleness() {
        let s = vec![
            Sample::new(1000, 1.0),
            Sample::new(3000, crate::model::stale_nan()),
            Sample::new(5000, 5.0),
        ];
        assert_eq!(
            values_at(&s, &[0, 1000, 2000, 3000, 4000, 6000, 6000 + LOOKBACK_MS]),
            vec![None, Some(1.0), Some(1.0), None, None, Some(5.0), None]
        );
    }

    #[test]
    fn rates_skip_resets_and_gaps() {
        let v = [
            Some(0.0),
            Some(10.0),
            Some(4.0),
            None,
            Some(8.0),
            Some(12.0),
        ];
        assert_eq!(
            rates(&v, 2000),
            vec![None, Some(5.0), None, None, None, Some(2.0)]
        );
    }

    #[test]
    fn cpu_busy_memory_and_network_from_storage() {
        let st = MemStorage::new();
        let mut a = st.appender();
        for k in 0..5i64 {
            let t = k * 2000;
            let base = [("instance", "h:9100"), ("job", "node")];
            for (cpu, busy_per_step) in [("0", 1.0), ("1", 0.5)] {
                // Each step: 2s of CPU time, of which `busy_per_step` is user.
                let user = busy_per_step * k as f64;
                let idle = (2.0 - busy_per_step) * k as f64;
                for (mode, v) in [("user", user), ("idle", idle)] {
                    let mut p = base.to_vec();
                    p.extend([
                        ("__name__", "node_cpu_seconds_total"),
                        ("cpu", cpu),
                        ("mode", mode),
                    ]);
                    a.append(None, &lbl(&p), t, v).unwrap();
                }
            }
            let mut p = base.to_vec();
            p.push(("__name__", "node_memory_MemTotal_bytes"));
            a.append(None, &lbl(&p), t, 1000.0).unwrap();
            let mut p = base.to_vec();
            p.push(("__name__", "node_memory_MemAvailable_bytes"));
            a.append(None, &lbl(&p), t, 250.0).unwrap();
            let mut p = base.to_vec();
            p.extend([
                ("__name__", "node_network_receive_bytes_total"),
                ("device", "eth0"),
            ]);
            a.append(None, &lbl(&p), t, 4096.0 * k as f64).unwrap();
        }
        a.commit().unwrap();
        let grid = Grid {
            end: 8000,
            step: 2000,
            points: 5,
        };
        let mut snap = UiSnapshot::default();
        build(&st, &grid, &mut snap).unwrap();
        assert_eq!(snap.cpu.cores.len(), 2);
        assert_eq!(snap.cpu.cores[0].busy[4], Some(50.0));
        assert_eq!(snap.cpu.cores[1].busy[4], Some(25.0));
        assert_eq!(snap.cpu.total[4], Some(37.5));
        assert_eq!(snap.cpu.total[0], None, "no rate at the first point");
        assert_eq!(snap.memory.used_pct[4], Some(75.0));
        assert_eq!(snap.network.interfaces[0].device, "eth0");
        assert_eq!(snap.network.interfaces[0].rx[4], Some(2048.0));
    }
}
