//! `/proc/meminfo` as `node_memory_*` gauges. node_exporter 1.11 exports a fixed set of
//! fields (those its procfs library knows), named `node_memory_<Field>_bytes` with `(anon)`
//! style suffixes turned into `_anon`; the `HugePages_*` page counts have no unit and no
//! `_bytes`. Fields outside that set (e.g. `KReclaimable`, `SecPageTables`) are skipped,
//! exactly as node_exporter 1.11 skips them. The collector calls `collect` once per collect.

use std::path::Path;

use super::emit::Emitter;
use super::error::HostError;
use super::read::num;

/// The metric name node_exporter 1.11 gives a `/proc/meminfo` field, or `None` when it
/// does not export the field. The flat table is node_exporter's naming, field by field.
fn metric_name(field: &str) -> Option<&'static str> {
    Some(match field {
        "Active" => "node_memory_Active_bytes",
        "Active(anon)" => "node_memory_Active_anon_bytes",
        "Active(file)" => "node_memory_Active_file_bytes",
        "AnonHugePages" => "node_memory_AnonHugePages_bytes",
        "AnonPages" => "node_memory_AnonPages_bytes",
        "Bounce" => "node_memory_Bounce_bytes",
        "Buffers" => "node_memory_Buffers_bytes",
        "Cached" => "node_memory_Cached_bytes",
        "CmaFree" => "node_memory_CmaFree_bytes",
        "CmaTotal" => "node_memory_CmaTotal_bytes",
        "CommitLimit" => "node_memory_CommitLimit_bytes",
        "Committed_AS" => "node_memory_Committed_AS_bytes",
        "DirectMap1G" => "node_memory_DirectMap1G_bytes",
        "DirectMap2M" => "node_memory_DirectMap2M_bytes",
        "DirectMap4k" => "node_memory_DirectMap4k_bytes",
        "Dirty" => "node_memory_Dirty_bytes",
        "HardwareCorrupted" => "node_memory_HardwareCorrupted_bytes",
        "Hugepagesize" => "node_memory_Hugepagesize_bytes",
        "Inactive" => "node_memory_Inactive_bytes",
        "Inactive(anon)" => "node_memory_Inactive_anon_bytes",
        "Inactive(file)" => "node_memory_Inactive_file_bytes",
        "KernelStack" => "node_memory_KernelStack_bytes",
        "Mapped" => "node_memory_Mapped_bytes",
        "MemAvailable" => "node_memory_MemAvailable_bytes",
        "MemFree" => "node_memory_MemFree_bytes",
        "MemTotal" => "node_memory_MemTotal_bytes",
        "Mlocked" => "node_memory_Mlocked_bytes",
        "NFS_Unstable" => "node_memory_NFS_Unstable_bytes",
        "PageTables" => "node_memory_PageTables_bytes",
        "Percpu" => "node_memory_Percpu_bytes",
        "SReclaimable" => "node_memory_SReclaimable_bytes",
        "SUnreclaim" => "node_memory_SUnreclaim_bytes",
        "Shmem" => "node_memory_Shmem_bytes",
        "ShmemHugePages" => "node_memory_ShmemHugePages_bytes",
        "ShmemPmdMapped" => "node_memory_ShmemPmdMapped_bytes",
        "Slab" => "node_memory_Slab_bytes",
        "SwapCached" => "node_memory_SwapCached_bytes",
        "SwapFree" => "node_memory_SwapFree_bytes",
        "SwapTotal" => "node_memory_SwapTotal_bytes",
        "Unevictable" => "node_memory_Unevictable_bytes",
        "VmallocChunk" => "node_memory_VmallocChunk_bytes",
        "VmallocTotal" => "node_memory_VmallocTotal_bytes",
        "VmallocUsed" => "node_memory_VmallocUsed_bytes",
        "Writeback" => "node_memory_Writeback_bytes",
        "WritebackTmp" => "node_memory_WritebackTmp_bytes",
        "Zswap" => "node_memory_Zswap_bytes",
        "Zswapped" => "node_memory_Zswapped_bytes",
        // Page counts, not sizes: no unit in the file, no `_bytes` in the name.
        "HugePages_Free" => "node_memory_HugePages_Free",
        "HugePages_Rsvd" => "node_memory_HugePages_Rsvd",
        "HugePages_Surp" => "node_memory_HugePages_Surp",
        "HugePages_Total" => "node_memory_HugePages_Total",
        _ => return None,
    })
}

/// Parses `text` (the content of `path`, lines like `MemTotal:  16318540 kB`) and emits
/// the exported fields. Every line is checked, exported or not, so a malformed file is
/// reported rather than half-read.
pub(crate) fn collect(path: &Path, text: &str, out: &mut Emitter<'_>) -> Result<(), HostError> {
    let mut values: Vec<(&'static str, f64)> = Vec::with_capacity(64);
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let (key, rest) = line
            .split_once(':')
            .ok_or_else(|| HostError::parse(path, n, "expected \"Field: value [kB]\""))?;
        let mut cols = rest.split_ascii_whitespace();
        let value: u64 = match cols.next() {
            Some(v) => num(path, n, key, v)?,
            None => return Err(HostError::parse(path, n, format!("{key}: missing value"))),
        };
        let scale = match cols.next() {
            None => 1,
            Some("kB") => 1024,
            Some(unit) => {
                return Err(HostError::parse(
                    path,
                    n,
                    format!("{key}: unknown unit {unit:?}"),
                ));
            }
        };
        if let Some(name) = metric_name(key) {
            values.push((name, value as f64 * scale as f64));
        }
    }
    for (name, v) in values {
        out.emit(name, &[], v);
    }
    Ok(())
}
