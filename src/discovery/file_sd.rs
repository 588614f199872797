//! File-based discovery (`file_sd_configs`): target groups read from JSON or YAML files
//! matching patterns, re-read when a file changes (polled by modification time and size) and
//! on every refresh interval. Each group gets `__meta_filepath` and the source
//! `<path>:<index>`; a file that disappears or holds fewer groups deletes the missing ones; a
//! malformed file is logged and keeps its previous groups, as in Prometheus. `app` builds it
//! from the config; the discovery manager runs it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{BoxFuture, Discoverer, TargetGroup};
use crate::model::{Label, Labels, glob, is_valid_label_name};

/// The label holding the file a group came from.
pub const META_FILEPATH: &str = "__meta_filepath";

/// How often files are checked for changes at most; a shorter refresh interval polls faster.
const MAX_POLL: Duration = Duration::from_secs(5);
/// Polling faster than this would only burn CPU.
const MIN_POLL: Duration = Duration::from_millis(10);

/// Why a file's groups could not be read. The previous groups stay in place.
#[derive(Debug, thiserror::Error)]
pub enum FileSdError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Yaml(String),
    #[error("nil target group item found (item {0})")]
    NullGroup(usize),
    #[error("{0:?} is not a valid label name")]
    InvalidLabelName(String),
    #[error("unsupported file extension; use .json, .yml or .yaml")]
    UnsupportedExtension,
}

/// Discovers target groups from files matching `files` (globs with `*`, `?` or `[...]` in the
/// last path element).
#[derive(Debug, Clone)]
pub struct FileSd {
    patterns: Vec<String>,
    refresh: Duration,
    poll: Duration,
}

impl FileSd {
    /// `refresh_interval` is the longest a change can go unnoticed even if its modification
    /// time and size look unchanged; files are polled every `min(refresh_interval, 5s)`.
    pub fn new(files: Vec<String>, refresh_interval: Duration) -> Self {
        FileSd {
            patterns: files,
            refresh: refresh_interval.max(MIN_POLL),
            poll: refresh_interval.clamp(MIN_POLL, MAX_POLL),
        }
    }

    /// Overrides how often modification times are checked.
    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll.max(MIN_POLL);
        self
    }
}

impl Discoverer for FileSd {
    fn run(
        self: Box<Self>,
        tx: mpsc::Sender<Vec<TargetGroup>>,
        cancel: CancellationToken,
    ) -> BoxFuture {
        Box::pin(run(*self, tx, cancel))
    }
}

async fn run(sd: FileSd, tx: mpsc::Sender<Vec<TargetGroup>>, cancel: CancellationToken) {
    let mut scanner = Scanner {
        patterns: sd.patterns,
        known: BTreeMap::new(),
    };
    let mut last_full = Instant::now();
    let mut full = true;
    loop {
        // File system calls block; keep them off the async workers.
        let scan = tokio::task::spawn_blocking(move || {
            let updates = scanner.scan(full);
            (scanner, updates)
        });
        let updates = match scan.await {
            Ok((s, updates)) => {
                scanner = s;
                updates
            }
            Err(e) => {
                tracing::error!(error = %e, "file_sd: scan task failed; stopping");
                return;
            }
        };
        if !updates.is_empty() {
            tokio::select! {
                _ = cancel.cancelled() => return,
                sent = tx.send(updates) => if sent.is_err() { return },
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(sd.poll) => {}
        }
        full = last_full.elapsed() >= sd.refresh;
        if full {
            last_full = Instant::now();
        }
    }
}

/// What a file looked like when last read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

struct Known {
    stamp: Stamp,
    /// The groups last sent for this file (kept when a later read fails).
    groups: Vec<TargetGroup>,
}

/// The scan state: which files were seen and what they held.
struct Scanner {
    patterns: Vec<String>,
    known: BTreeMap<PathBuf, Known>,
}

impl Scanner {
    /// Lists the files, reads those that changed (all of them when `full`), and returns the
    /// groups to send: changed groups, and empty groups for sources that went away.
    fn scan(&mut self, full: bool) -> Vec<TargetGroup> {
        let mut updates = Vec::new();
        let listed = self.list_files();
        for path in &listed {
            let stamp = match std::fs::metadata(path) {
                Ok(m) => Stamp {
                    modified: m.modified().ok(),
                    len: m.len(),
                },
                Err(e) => {
                    warn_read(path, &FileSdError::Io(e));
                    continue;
                }
            };
            let previous = self.known.get(path);
            if !full && previous.is_some_and(|k| k.stamp == stamp) {
                continue;
            }
            match read_groups(path) {
                Ok(groups) => {
                    let old: &[TargetGroup] = previous.map_or(&[], |k| &k.groups);
                    if old != groups.as_slice() {
                        updates.extend(groups.iter().cloned());
                        for i in groups.len()..old.len() {
                            updates.push(TargetGroup::deleted(source(path, i)));
                        }
                    }
                    self.known.insert(path.clone(), Known { stamp, groups });
                }
                Err(e) => {
                    warn_read(path, &e);
                    // Remember the stamp so the warning repeats only when the file changes
                    // again (or on the next full refresh); keep the groups.
                    let groups = self
                        .known
                        .remove(path)
                        .map(|k| k.groups)
                        .unwrap_or_default();
                    self.known.insert(path.clone(), Known { stamp, groups });
                }
            }
        }
        let gone: Vec<PathBuf> = self
            .known
            .keys()
            .filter(|p| !listed.contains(*p))
            .cloned()
            .collect();
        for path in gone {
            if let Some(k) = self.known.remove(&path) {
                for i in 0..k.groups.len() {
                    updates.push(TargetGroup::deleted(source(&path, i)));
                }
            }
        }
        updates
    }

    fn list_files(&self) -> BTreeSet<PathBuf> {
        let mut out = BTreeSet::new();
        for pattern in &self.patterns {
            match glob::expand(pattern) {
                Ok(paths) => out.extend(paths),
                Err(e) => tracing::error!(glob = %pattern, error = %e, "file_sd: bad pattern"),
            }
        }
        out
    }
}

fn warn_read(path: &Path, e: &FileSdError) {
    tracing::warn!(
        path = %path.display(),
        error = %e,
        "file_sd: cannot read target groups; keeping the previous ones"
    );
}

fn source(path: &Path, index: usize) -> String {
    format!("{}:{index}", path.display())
}

/// One group as written in the file: `{targets: [...], labels: {...}}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    targets: Option<Vec<String>>,
    labels: Option<BTreeMap<String, Option<String>>>,
}

/// Reads one file into groups with their sources and `__meta_filepath`.
pub(super) fn read_groups(path: &Path) -> Result<Vec<TargetGroup>, FileSdError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let raw: Option<Vec<Option<RawGroup>>> = match ext.as_str() {
        "json" => serde_json::from_slice(&std::fs::read(path)?)?,
        "yml" | "yaml" => {
            let text = std::fs::read_to_string(path)?;
            serde_saphyr::from_str(&text)
                .map_err(|e| FileSdError::Yaml(e.without_snippet().to_string()))?
        }
        _ => return Err(FileSdError::UnsupportedExtension),
    };
    let file = path.display().to_string();
    let mut groups = Vec::new();
    for (i, g) in raw.unwrap_or_default().into_iter().enumerate() {
        let g = g.ok_or(FileSdError::NullGroup(i))?;
        let mut labels = Vec::new();
        for (name, value) in g.labels.unwrap_or_default() {
            if !is_valid_label_name(&name) {
                return Err(FileSdError::InvalidLabelName(name));
            }
            labels.push(Label::new(name, value.unwrap_or_default()));
        }
        labels.push(Label::new(META_FILEPATH, file.as_str()));
        groups.push(TargetGroup::from_addresses(
            source(path, i),
            g.targets.unwrap_or_default(),
            Labels::new(labels),
        ));
    }
    Ok(groups)
}

#[cfg(test)]
mod tests;
