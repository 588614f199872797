//! Local silences: the alerts pane's `s` key mutes an alert for a while, kmon-side only
//! (Alertmanager's silences are its own). A silence is a set of label equality matchers
//! (an alert's labels, or just its `alertname`) and an end time; an alert whose labels
//! carry every matcher is shown as silenced. `Silences` is the plain list (what the
//! snapshot's `AlertsView` reads); `SilenceStore` keeps it in `silences.json` in the data
//! dir (written through a temporary file and a rename), loads it at start (a corrupt file
//! is a warning and an empty list, never a failure), prunes expired silences, and carries
//! out `Action::Silence` / `Action::Unsilence` for `run`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::model::Labels;

/// The file in the data dir.
pub const FILE_NAME: &str = "silences.json";

/// One local silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    /// Unique in its list (never reused while the list lives).
    pub id: u64,
    /// `(label, value)` pairs an alert's labels must all have, sorted by label.
    pub matchers: Vec<(String, String)>,
    /// When it was made (ms since the epoch).
    pub created_ms: i64,
    /// When it ends (ms since the epoch).
    pub until_ms: i64,
}

impl Silence {
    /// Whether it mutes an alert with `labels` at `now_ms`.
    pub fn matches(&self, labels: &Labels, now_ms: i64) -> bool {
        now_ms < self.until_ms
            && !self.matchers.is_empty()
            && self
                .matchers
                .iter()
                .all(|(n, v)| labels.get(n) == Some(v.as_str()))
    }

    /// The matchers as a selector: `{alertname="X", severity="page"}`.
    pub fn selector(&self) -> String {
        let parts: Vec<String> = self
            .matchers
            .iter()
            .map(|(n, v)| format!("{n}={v:?}"))
            .collect();
        format!("{{{}}}", parts.join(", "))
    }
}

/// The silences, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silences {
    pub silences: Vec<Silence>,
}

impl Silences {
    /// Adds a silence of `matchers` (sorted, duplicates and empty values dropped) until
    /// `until_ms`; returns its id.
    pub fn add(&mut self, matchers: Vec<(String, String)>, until_ms: i64, now_ms: i64) -> u64 {
        let mut matchers: Vec<(String, String)> = matchers
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        matchers.sort();
        matchers.dedup_by(|a, b| a.0 == b.0);
        let id = self.silences.iter().map(|s| s.id).max().unwrap_or(0) + 1;
        self.silences.push(Silence {
            id,
            matchers,
            created_ms: now_ms,
            until_ms,
        });
        id
    }

    /// Removes silence `id`; returns it if there was one.
    pub fn remove(&mut self, id: u64) -> Option<Silence> {
        let at = self.silences.iter().position(|s| s.id == id)?;
        Some(self.silences.remove(at))
    }

    /// Drops the silences that ended at or before `now_ms`; returns how many.
    pub fn prune(&mut self, now_ms: i64) -> usize {
        let before = self.silences.len();
        self.silences.retain(|s| s.until_ms > now_ms);
        before - self.silences.len()
    }

    /// The first silence muting an alert with `labels` at `now_ms`.
    pub fn silencing(&self, labels: &Labels, now_ms: i64) -> Option<&Silence> {
        self.silences.iter().find(|s| s.matches(labels, now_ms))
    }
}

/// Reads silences from `text` (the file's content); `file` names it in the error, which
/// gives the line and column where the JSON goes wrong.
pub fn parse(text: &str, file: &str) -> Result<Silences, String> {
    serde_json::from_str::<Silences>(text).map_err(|e| {
        format!(
            "{file}:{}:{}: not a silences file ({e}); starting with no silences",
            e.line(),
            e.column()
        )
    })
}

/// Loads `path`: a missing file is no silences; an unreadable or corrupt one is no
/// silences and a warning naming the file (and the line and column).
pub fn load(path: &Path) -> (Silences, Option<String>) {
    match std::fs::read_to_string(path) {
        Ok(text) => match parse(&text, &path.display().to_string()) {
            Ok(s) => (s, None),
            Err(w) => (Silences::default(), Some(w)),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Silences::default(), None),
        Err(e) => (
            Silences::default(),
            Some(format!(
                "{}: {e}; starting with no silences",
                path.display()
            )),
        ),
    }
}

/// Writes `s` to `path` through a sibling temporary file and a rename, so a crash never
/// leaves half a file. Errors name the path.
pub fn save(path: &Path, s: &Silences) -> std::io::Result<()> {
    let at = |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(at)?;
    }
    let text = serde_json::to_string_pretty(s).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(at)?;
    std::fs::rename(&tmp, path).map_err(at)
}

/// The silences kmon runs with: the list (watched by whoever builds snapshots) and the
/// file it persists to (`None`: kept in memory only, e.g. with a read-only data dir and
/// no state dir).
#[derive(Debug)]
pub struct SilenceStore {
    path: Option<PathBuf>,
    list: watch::Sender<Silences>,
}

impl SilenceStore {
    /// Loads `dir/silences.json` (see [`load`]), pruned of silences ended by `now_ms`.
    /// Returns the store and the warning of a file that could not be read.
    pub fn open(dir: Option<&Path>, now_ms: i64) -> (SilenceStore, Option<String>) {
        let path = dir.map(|d| d.join(FILE_NAME));
        let (mut list, warning) = match &path {
            Some(p) => load(p),
            None => (Silences::default(), None),
        };
        list.prune(now_ms);
        let (tx, _) = watch::channel(list);
        (SilenceStore { path, list: tx }, warning)
    }

    /// The current silences, and every change to them.
    pub fn subscribe(&self) -> watch::Receiver<Silences> {
        self.list.subscribe()
    }

    /// A copy of the current silences.
    pub fn current(&self) -> Silences {
        self.list.borrow().clone()
    }

    /// Adds a silence (expired ones pruned first) and saves; the message is for the
    /// status line.
    pub fn silence(&self, matchers: Vec<(String, String)>, until_ms: i64, now_ms: i64) -> String {
        if matchers.iter().all(|(_, v)| v.is_empty()) {
            return "not silenced: a silence needs at least one label".into();
        }
        if until_ms <= now_ms {
            return "not silenced: the silence would end before it starts".into();
        }
        let mut made = None;
        self.list.send_modify(|l| {
            l.prune(now_ms);
            let id = l.add(matchers, until_ms, now_ms);
            made = l.silences.iter().find(|s| s.id == id).cloned();
        });
        let Some(s) = made else {
            return "not silenced".into();
        };
        let what = format!(
            "silenced {} for {}",
            s.selector(),
            crate::model::format_duration(std::time::Duration::from_millis(
                (until_ms - now_ms).max(0) as u64
            ))
        );
        self.persist(what)
    }

    /// Removes silence `id` and saves; the message is for the status line.
    pub fn unsilence(&self, id: u64, now_ms: i64) -> String {
        let mut removed = None;
        self.list.send_modify(|l| {
            removed = l.remove(id);
            l.prune(now_ms);
        });
        match removed {
            Some(s) => self.persist(format!("silence {} removed", s.selector())),
            None => format!("no silence {id}"),
        }
    }

    fn persist(&self, done: String) -> String {
        let Some(path) = &self.path else {
            return format!("{done} (not saved: no data dir)");
        };
        match save(path, &self.list.borrow()) {
            Ok(()) => done,
            Err(e) => {
                tracing::warn!("saving silences: {e}");
                format!("{done} (not saved: {e})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        Labels::from_pairs(&[
            ("alertname", "HighCpu"),
            ("instance", "a"),
            ("severity", "warning"),
        ])
    }

    #[test]
    fn matchers_select_alerts_until_the_silence_ends() {
        let mut s = Silences::default();
        let id = s.add(
            vec![
                ("severity".into(), "warning".into()),
                ("alertname".into(), "HighCpu".into()),
                ("empty".into(), String::new()),
            ],
            2_000,
            1_000,
        );
        assert_eq!(id, 1);
        let sil = &s.silences[0];
        assert_eq!(
            sil.selector(),
            r#"{alertname="HighCpu", severity="warning"}"#
        );
        assert_eq!(s.silencing(&labels(), 1_500).map(|s| s.id), Some(1));
        assert!(s.silencing(&labels(), 2_000).is_none(), "ended");
        let other = Labels::from_pairs(&[("alertname", "HighCpu"), ("severity", "critical")]);
        assert!(s.silencing(&other, 1_500).is_none());
        assert_eq!(
            s.add(vec![("alertname".into(), "X".into())], 9_000, 1_000),
            2
        );
        assert_eq!(s.prune(2_000), 1);
        assert_eq!(s.silences[0].id, 2);
        assert_eq!(s.add(vec![("a".into(), "b".into())], 9_000, 1_000), 3);
        assert!(s.remove(2).is_some());
        assert!(s.remove(2).is_none());
    }

    #[test]
    fn the_store_persists_atomically_and_survives_a_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        let (store, warning) = SilenceStore::open(Some(dir.path()), 1_000);
        assert_eq!(warning, None);
        let rx = store.subscribe();
        let msg = store.silence(
            vec![("alertname".into(), "HighCpu".into())],
            3_601_000,
            1_000,
        );
        assert_eq!(msg, r#"silenced {alertname="HighCpu"} for 1h"#);
        assert_eq!(rx.borrow().silences.len(), 1);
        assert!(dir.path().join(FILE_NAME).is_file());
        assert!(!dir.path().join("silences.json.tmp").exists());

        // Loaded again at start; expired ones pruned.
        let (again, _) = SilenceStore::open(Some(dir.path()), 2_000);
        assert_eq!(again.current().silences.len(), 1);
        let (later, _) = SilenceStore::open(Some(dir.path()), 4_000_000);
        assert!(later.current().silences.is_empty());

        let id = again.current().silences[0].id;
        assert_eq!(
            again.unsilence(id, 2_000),
            r#"silence {alertname="HighCpu"} removed"#
        );
        assert_eq!(again.unsilence(id, 2_000), format!("no silence {id}"));
        let (empty, _) = SilenceStore::open(Some(dir.path()), 2_000);
        assert!(empty.current().silences.is_empty());

        assert!(
            store
                .silence(vec![], 9_000, 1_000)
                .starts_with("not silenced")
        );
        assert!(
            store
                .silence(vec![("a".into(), "b".into())], 500, 1_000)
                .starts_with("not silenced")
        );

        // A corrupt file: a warning with the file, line and column, and no silences.
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "{\"silences\": [\n  {\"id\": \"x\"").unwrap();
        let (broken, warning) = SilenceStore::open(Some(dir.path()), 0);
        assert!(broken.current().silences.is_empty());
        let w = warning.expect("a warning");
        assert!(w.starts_with(&format!("{}:2:", path.display())), "{w}");
        for junk in ["", "null", "[]", "\u{0}\u{1}", "{\"silences\": 5}"] {
            std::fs::write(&path, junk).unwrap();
            let (s, w) = SilenceStore::open(Some(dir.path()), 0);
            assert!(s.current().silences.is_empty() && w.is_some(), "{junk:?}");
        }
        // Without a data dir it works in memory.
        let (mem, _) = SilenceStore::open(None, 0);
        assert!(
            mem.silence(vec![("a".into(), "b".into())], 10, 0)
                .ends_with("(not saved: no data dir)")
        );
    }
}
