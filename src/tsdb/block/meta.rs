//! `meta.json`: a block's ID, time range `[minTime, maxTime)`, stats and compaction
//! history, with Prometheus's field names and layout (tab-indented, zero stats left out).
//! The writer creates it; the reader loads it (fields it does not know are kept); a block
//! whose compaction failed on corrupt data gets `compaction.failed` set in place.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::BlockError;

/// The file name inside a block directory.
pub const META_FILE: &str = "meta.json";

/// The block format version Prometheus writes into `meta.json`.
pub const META_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockMeta {
    pub ulid: String,
    #[serde(rename = "minTime")]
    pub min_time: i64,
    /// Exclusive.
    #[serde(rename = "maxTime")]
    pub max_time: i64,
    #[serde(default)]
    pub stats: BlockStats,
    pub compaction: Compaction,
    pub version: u32,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockStats {
    #[serde(rename = "numSamples", default, skip_serializing_if = "is_zero")]
    pub num_samples: u64,
    #[serde(rename = "numFloatSamples", default, skip_serializing_if = "is_zero")]
    pub num_float_samples: u64,
    #[serde(
        rename = "numHistogramSamples",
        default,
        skip_serializing_if = "is_zero"
    )]
    pub num_histogram_samples: u64,
    #[serde(rename = "numSeries", default, skip_serializing_if = "is_zero")]
    pub num_series: u64,
    #[serde(rename = "numChunks", default, skip_serializing_if = "is_zero")]
    pub num_chunks: u64,
    #[serde(rename = "numTombstones", default, skip_serializing_if = "is_zero")]
    pub num_tombstones: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compaction {
    pub level: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// What else Prometheus recorded (parents, deletable, hints …), kept as it was.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl BlockMeta {
    /// Prometheus's layout: `json.MarshalIndent` with a tab.
    pub fn to_json(&self) -> Result<Vec<u8>, BlockError> {
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        self.serialize(&mut ser)
            .map_err(|e| BlockError::Invalid(format!("meta.json: {e}")))?;
        Ok(out)
    }

    /// Whether a compaction of this block failed on its data (Prometheus's
    /// `compaction.failed`): the planner leaves it alone from then on.
    pub fn compaction_failed(&self) -> bool {
        self.compaction.other.get("failed") == Some(&serde_json::Value::Bool(true))
    }

    /// Marks the block as one whose compaction failed (see `compaction_failed`).
    pub fn set_compaction_failed(&mut self) {
        self.compaction
            .other
            .insert("failed".into(), serde_json::Value::Bool(true));
    }

    /// Replaces `dir/meta.json` with this meta: written to `meta.json.tmp`, synced, and
    /// renamed over the old one, so a crash leaves one or the other whole.
    pub fn store(&self, dir: &Path) -> Result<(), BlockError> {
        let tmp = dir.join(format!("{META_FILE}.tmp"));
        let path = dir.join(META_FILE);
        let json = self.to_json()?;
        let mut f = std::fs::File::create(&tmp).map_err(|e| BlockError::io(&tmp, e))?;
        std::io::Write::write_all(&mut f, &json).map_err(|e| BlockError::io(&tmp, e))?;
        f.sync_all().map_err(|e| BlockError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| BlockError::io(&path, e))?;
        let d = std::fs::File::open(dir).map_err(|e| BlockError::io(dir, e))?;
        d.sync_all().map_err(|e| BlockError::io(dir, e))
    }

    /// Reads and checks `dir/meta.json`.
    pub fn load(dir: &Path) -> Result<BlockMeta, BlockError> {
        let path = dir.join(META_FILE);
        let b = std::fs::read(&path).map_err(|e| BlockError::io(&path, e))?;
        let meta: BlockMeta = serde_json::from_slice(&b).map_err(|e| {
            // serde_json knows the line and column, not the byte offset: find it.
            let offset: usize = b
                .split_inclusive(|&c| c == b'\n')
                .take(e.line().saturating_sub(1))
                .map(<[u8]>::len)
                .sum::<usize>()
                + e.column().saturating_sub(1);
            BlockError::corrupt(&path, offset as u64, e.to_string())
        })?;
        if meta.version != META_VERSION {
            return Err(BlockError::corrupt(
                &path,
                0,
                format!("unsupported block version {}", meta.version),
            ));
        }
        Ok(meta)
    }
}

/// Replaces `dir/meta.json` with `meta` atomically (temp file, sync, rename, dir sync), as
/// Prometheus rewrites it after a deletion.
pub(crate) fn write_atomic(dir: &Path, meta: &BlockMeta) -> Result<(), BlockError> {
    let path = dir.join(META_FILE);
    let tmp = dir.join(format!("{META_FILE}.tmp"));
    let json = meta.to_json()?;
    let write_tmp = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut f, &json)?;
        f.sync_all()
    };
    write_tmp().map_err(|e| BlockError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| BlockError::io(&path, e))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| BlockError::io(dir, e))
}
