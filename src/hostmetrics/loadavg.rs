//! `/proc/loadavg` as `node_load1`, `node_load5` and `node_load15`. The collector calls
//! `collect` once per collect.

use std::path::Path;

use super::emit::Emitter;
use super::error::HostError;
use super::read::{field, num};

pub(crate) fn collect(path: &Path, text: &str, out: &mut Emitter<'_>) -> Result<(), HostError> {
    let cols: Vec<&str> = text.split_ascii_whitespace().take(3).collect();
    let mut loads = [0.0; 3];
    for (i, (l, what)) in loads
        .iter_mut()
        .zip(["load1", "load5", "load15"])
        .enumerate()
    {
        *l = num(path, 1, what, field(&cols, i, path, 1, "loadavg")?)?;
    }
    for (name, v) in ["node_load1", "node_load5", "node_load15"]
        .iter()
        .zip(loads)
    {
        out.emit(name, &[], v);
    }
    Ok(())
}
