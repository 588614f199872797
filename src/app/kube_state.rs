//! Writes the cluster's state as kube-state-metrics series on every tick: asks the cluster
//! watch for its objects, turns them into series through `discovery::kubernetes::state`, and
//! appends them with one timestamp, plus a stale marker for every series the previous tick had
//! and this one has not (a deleted pod, a container that stopped waiting), as a scrape would.
//! Nothing is written until the watches have listed everything once, so a half-synced cluster
//! never shows up as pods that vanished.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::publish::ticker_for;
use crate::discovery::kubernetes::state::{ClusterObjects, KubeState};
use crate::model::{Labels, stale_nan};
use crate::scrape::{TimestampAligner, now_ms};
use crate::storage::{SeriesRef, Storage, StorageError};

/// Where the objects come from: `None` until the watches have synced.
pub type ObjectSource = Arc<dyn Fn() -> Option<ClusterObjects> + Send + Sync>;

/// What one tick wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    pub series: usize,
    pub stale: usize,
}

/// The series state between ticks: the kube-state cache and the storage refs of its series.
pub struct KubeStateWriter {
    state: KubeState,
    refs: HashMap<Labels, SeriesRef>,
    out: Vec<(Labels, f64)>,
}

impl KubeStateWriter {
    /// `labels` go on every series (the `cluster` label when several contexts are watched).
    pub fn new(labels: &Labels) -> Self {
        KubeStateWriter {
            state: KubeState::with_labels(labels),
            refs: HashMap::new(),
            out: Vec::new(),
        }
    }

    /// Appends the series of `objects` at `t`, and stale markers for the ones that vanished,
    /// in one commit.
    pub fn write(
        &mut self,
        storage: &dyn Storage,
        objects: &ClusterObjects,
        t: i64,
    ) -> Result<TickReport, StorageError> {
        self.out.clear();
        self.state.collect(objects, &mut self.out);
        let mut app = storage.appender();
        let mut report = TickReport::default();
        for (labels, v) in &self.out {
            let r = self.refs.get(labels).copied();
            match app.append(r, labels, t, *v) {
                Ok(r) => {
                    self.refs.insert(labels.clone(), r);
                    report.series += 1;
                }
                // One bad sample (out of order after a clock step) must not lose the tick.
                Err(e) if e.is_sample_error() => {}
                Err(e) => return Err(e),
            }
        }
        for labels in self.state.vanished() {
            let r = self.refs.remove(labels);
            match app.append(r, labels, t, stale_nan()) {
                Ok(_) => report.stale += 1,
                Err(e) if e.is_sample_error() => {}
                Err(e) => return Err(e),
            }
        }
        app.commit()?;
        Ok(report)
    }
}

impl KubeStateWriter {
    /// Writes a stale marker for every series written so far (the writer stops: a context
    /// switch or shutdown), as a scrape loop does for its target.
    pub fn write_all_stale(
        &mut self,
        storage: &dyn Storage,
        t: i64,
    ) -> Result<usize, StorageError> {
        let mut app = storage.appender();
        let mut n = 0;
        for (labels, r) in self.refs.drain() {
            match app.append(Some(r), &labels, t, stale_nan()) {
                Ok(_) => n += 1,
                Err(e) if e.is_sample_error() => {}
                Err(e) => return Err(e),
            }
        }
        app.commit()?;
        Ok(n)
    }
}

/// Writes the kube state series every `interval` until `cancel` fires, then stale markers
/// for all of them; each tick's timestamp is aligned to the interval like a scrape's.
pub async fn run_kube_state(
    storage: Arc<dyn Storage>,
    objects: ObjectSource,
    labels: Labels,
    mut every: watch::Receiver<Duration>,
    cancel: CancellationToken,
) {
    let mut writer = KubeStateWriter::new(&labels);
    let mut interval = *every.borrow_and_update();
    let mut aligner = TimestampAligner::new(interval);
    let mut ticker = ticker_for(interval);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {}
            Ok(()) = every.changed() => {
                interval = *every.borrow_and_update();
                aligner = TimestampAligner::new(interval);
                ticker = ticker_for(interval);
                continue;
            }
        }
        // Until the watches have synced, look again soon rather than a whole interval
        // later, so the cluster's state shows up as soon as it is known.
        let current = loop {
            if let Some(c) = objects() {
                break Some(c);
            }
            tokio::select! {
                _ = cancel.cancelled() => break None,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        };
        let Some(current) = current else { break };
        let t = aligner.align(now_ms());
        let storage = storage.clone();
        // 5000 pods are ~150k series: off the runtime's threads.
        let result = tokio::task::block_in_place(|| writer.write(&*storage, &current, t));
        match result {
            Ok(r) => tracing::debug!(series = r.series, stale = r.stale, "kube state written"),
            Err(e) => tracing::error!("writing the kube state series: {e}"),
        }
    }
    let storage = storage.clone();
    let t = now_ms();
    if let Err(e) = tokio::task::block_in_place(|| writer.write_all_stale(&*storage, t)) {
        tracing::warn!("writing the kube state's stale markers: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Label, Matcher};
    use crate::storage::MemStorage;

    fn fixture() -> ClusterObjects {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/kube-state/cluster.json"
        ))
        .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn values(s: &MemStorage, name: &str) -> Vec<(Labels, Vec<f64>)> {
        s.dump()
            .into_iter()
            .filter(|(l, _)| l.get("__name__") == Some(name))
            .map(|(l, v)| (l, v.iter().map(|s| s.v).collect()))
            .collect()
    }

    #[test]
    fn writes_every_tick_and_stale_markers_for_what_vanished() {
        let s = MemStorage::new();
        let cluster = Labels::new(vec![Label::new("cluster", "prod")]);
        let mut w = KubeStateWriter::new(&cluster);
        let mut objects = fixture();
        let first = w.write(&s, &objects, 1_000).unwrap();
        assert!(first.series > 100, "{first:?}");
        assert_eq!(first.stale, 0);
        let second = w.write(&s, &objects, 2_000).unwrap();
        assert_eq!(second, first, "an unchanged cluster writes the same series");

        let phases = values(&s, "kube_pod_status_phase");
        assert!(!phases.is_empty());
        for (l, v) in &phases {
            assert_eq!(l.get("job"), Some("kmon-kube-state"));
            assert_eq!(l.get("cluster"), Some("prod"));
            assert_eq!(v.len(), 2, "{l}");
        }

        let gone = objects.pods.remove(0);
        let before = w.refs.len();
        let gone_name = gone.metadata.name.clone().unwrap();
        let third = w.write(&s, &objects, 3_000).unwrap();
        assert!(third.stale > 0 && third.series < first.series, "{third:?}");
        let m = Matcher::equal("pod", &gone_name);
        for (l, v) in values(&s, "kube_pod_info") {
            if m.matches(l.get("pod").unwrap_or("")) {
                assert_eq!(v.len(), 3);
                assert!(crate::model::is_stale_nan(v[2]), "{l}: {v:?}");
            }
        }
        assert!(w.refs.len() < before);

        // Stopping ends every series that is left.
        let n = w.write_all_stale(&s, 4_000).unwrap();
        assert_eq!(n, third.series);
        for (l, v) in values(&s, "kube_node_info") {
            assert!(crate::model::is_stale_nan(*v.last().unwrap()), "{l}");
        }
    }
}
