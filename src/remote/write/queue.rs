//! The queue manager of one `remote_write` entry: a reader thread follows the log from the
//! saved position (or from its end the first time), keeps each series' labels as they will
//! be sent (external labels added, then `write_relabel_configs`; dropped series
//! remembered), and hands every sample to the shard of its series, waiting when a shard
//! holds `capacity` samples (never dropping); the shards batch and send. The low watermark
//! of unacknowledged samples is saved every second and at shutdown, so a restart
//! resends only that tail, skipping what each shard had already delivered. The shard count
//! is fixed for a run (see `shard_count`). `app::remote_write` owns the queues.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{ClientSetupError, QueueConfig, RemoteWriteConfig};
use crate::model::{Label, Labels, relabel};
use crate::storage::{WalEvent, WalFollower, WalPosition, WalSample, WalSource};

use super::client::WriteClient;
use super::metrics::{QueueMetrics, REASON_DROPPED_SERIES, REASON_TOO_OLD, REASON_UNKNOWN_SERIES};
use super::position::{self, SavedPosition};
use super::shard::{self, Pending, ShardCtx};
use super::tracker::Tracker;

/// How a queue runs beyond its config entry.
#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// `global.external_labels`: added to every series that lacks them.
    pub external_labels: Labels,
    /// The data dir; positions go to `<data_dir>/remote_write/<name>.pos`.
    pub data_dir: PathBuf,
    /// How long `stop` lets the shards deliver what they hold.
    pub flush_deadline: Duration,
    /// How often the position is saved.
    pub save_interval: Duration,
    /// How long one wait for the log lasts (bounds how fast the reader sees `stop`).
    pub poll: Duration,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            external_labels: Labels::empty(),
            data_dir: PathBuf::from("."),
            flush_deadline: Duration::from_secs(5),
            save_interval: Duration::from_secs(1),
            poll: Duration::from_millis(200),
        }
    }
}

/// A queue that could not start.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("remote_write {name}: {source}")]
    Client {
        name: String,
        source: ClientSetupError,
    },
    #[error("remote_write {name}: cannot start the reader thread: {source}")]
    Thread {
        name: String,
        source: std::io::Error,
    },
}

/// The shards a run uses: at least `min_shards`, at most `max_shards`, four when the
/// range allows (kmon does not reshard while running).
pub fn shard_count(q: &QueueConfig) -> usize {
    4usize.clamp(q.min_shards.max(1), q.max_shards.max(q.min_shards).max(1))
}

/// One running `remote_write` entry.
pub struct QueueManager {
    cfg: RemoteWriteConfig,
    metrics: Arc<QueueMetrics>,
    tracker: Arc<Tracker>,
    stop_reader: Arc<AtomicBool>,
    following: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
    shards: Vec<tokio::task::JoinHandle<()>>,
    abort: CancellationToken,
    url_hash: String,
    flush_deadline: Duration,
}

impl QueueManager {
    /// Starts the queue of `cfg` on `source`. Must run inside a Tokio runtime.
    pub fn start(
        cfg: RemoteWriteConfig,
        opts: QueueOptions,
        source: Arc<dyn WalSource>,
    ) -> Result<QueueManager, QueueError> {
        let client = WriteClient::new(&cfg).map_err(|source| QueueError::Client {
            name: cfg.name.clone(),
            source,
        })?;
        let client = Arc::new(client);
        let q = cfg.queue_config.clone();
        let n = shard_count(&q);
        let metrics = Arc::new(QueueMetrics::new(&cfg.name, &cfg.url));
        for (cell, v) in [
            (&metrics.shards, n),
            (&metrics.shards_desired, n),
            (&metrics.shards_min, q.min_shards),
            (&metrics.shards_max, q.max_shards),
            (&metrics.shard_capacity, q.capacity),
            (&metrics.max_samples_per_send, q.max_samples_per_send),
        ] {
            cell.store(i64::try_from(v).unwrap_or(i64::MAX), Ordering::Relaxed);
        }
        let pos_file = position::path_for(&opts.data_dir, &cfg.name);
        let url_hash = position::url_hash(&cfg.url);
        let saved = match position::load(&pos_file) {
            Ok(Some(s)) if s.url_hash == url_hash => Some(s),
            Ok(Some(_)) => {
                tracing::info!(queue = %cfg.name, "remote_write: the saved position is for another URL; following from the end of the log");
                None
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(queue = %cfg.name, "remote_write: {e}; following from the end of the log");
                None
            }
        };
        let tracker =
            Arc::new(Tracker::new(n, saved.as_ref()).saving_to(pos_file, url_hash.clone()));
        let abort = CancellationToken::new();
        let mut senders = Vec::with_capacity(n);
        let mut shards = Vec::with_capacity(n);
        for index in 0..n {
            let (tx, rx) = mpsc::channel(q.capacity.max(1));
            senders.push(tx);
            let ctx = ShardCtx {
                index,
                client: client.clone(),
                queue: q.clone(),
                metrics: metrics.clone(),
                tracker: tracker.clone(),
                abort: abort.clone(),
            };
            shards.push(tokio::spawn(shard::run(ctx, rx)));
        }
        let stop_reader = Arc::new(AtomicBool::new(false));
        let following = Arc::new(AtomicBool::new(false));
        let reader = Reader {
            following: following.clone(),
            name: cfg.name.clone(),
            relabel: cfg.write_relabel_configs.clone(),
            external: opts.external_labels.clone(),
            age_limit: q.sample_age_limit,
            series: HashMap::new(),
            senders,
            metrics: metrics.clone(),
            tracker: tracker.clone(),
            stop: stop_reader.clone(),
            poll: opts.poll,
            save_every: opts.save_interval,
            url_hash: url_hash.clone(),
            last_saved: saved.clone(),
            last_save: Instant::now(),
            seq: AtomicU64::new(0),
            last_pos: saved.as_ref().map(SavedPosition::position),
            skip: saved,
        };
        let handle = std::thread::Builder::new()
            .name(format!("kmon-rw-{}", cfg.name))
            .spawn(move || reader.run(source))
            .map_err(|source| QueueError::Thread {
                name: cfg.name.clone(),
                source,
            })?;
        Ok(QueueManager {
            cfg,
            metrics,
            tracker,
            stop_reader,
            following,
            reader: Some(handle),
            shards,
            abort,
            url_hash,
            flush_deadline: opts.flush_deadline,
        })
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn config(&self) -> &RemoteWriteConfig {
        &self.cfg
    }

    pub fn metrics(&self) -> &Arc<QueueMetrics> {
        &self.metrics
    }

    /// Whether the reader follows the log (false before its first follower opened, and
    /// while it cannot open one).
    pub fn is_following(&self) -> bool {
        self.following.load(Ordering::Relaxed)
    }

    /// What would be saved now.
    pub fn position(&self) -> Option<SavedPosition> {
        self.tracker.snapshot(&self.url_hash)
    }

    /// Stops reading, lets the shards deliver what they hold for up to the flush deadline
    /// (then abandons it: it is sent again after a restart), and saves the position.
    pub async fn stop(mut self) {
        self.stop_reader.store(true, Ordering::Relaxed);
        if let Some(h) = self.reader.take() {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        let shards = std::mem::take(&mut self.shards);
        let all = futures_util::future::join_all(shards);
        if tokio::time::timeout(self.flush_deadline, all)
            .await
            .is_err()
        {
            tracing::warn!(queue = %self.cfg.name, "remote_write: {} samples not delivered before shutdown; they are sent after the next start", self.tracker.outstanding());
            self.abort.cancel();
        }
        if let Err(e) = self.tracker.save(true) {
            tracing::error!(queue = %self.cfg.name, "remote_write: {e}");
        }
    }
}

impl Drop for QueueManager {
    fn drop(&mut self) {
        self.stop_reader.store(true, Ordering::Relaxed);
        self.abort.cancel();
    }
}

/// The reader thread's state.
struct Reader {
    name: String,
    following: Arc<AtomicBool>,
    relabel: Vec<crate::model::RelabelConfig>,
    external: Labels,
    age_limit: Duration,
    /// series id → labels to send (`None`: dropped by relabeling).
    series: HashMap<u64, Option<Labels>>,
    senders: Vec<mpsc::Sender<Pending>>,
    metrics: Arc<QueueMetrics>,
    tracker: Arc<Tracker>,
    stop: Arc<AtomicBool>,
    poll: Duration,
    save_every: Duration,
    url_hash: String,
    last_saved: Option<SavedPosition>,
    last_save: Instant,
    seq: AtomicU64,
    /// The end of the last event read.
    last_pos: Option<WalPosition>,
    /// The run before this one, whose delivered samples are skipped.
    skip: Option<SavedPosition>,
}

impl Reader {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn run(mut self, source: Arc<dyn WalSource>) {
        let mut retry = Duration::from_millis(100);
        'follow: while !self.stopped() {
            // The first time from the saved position; after an error from the end of the
            // last event handled (what is in flight stays with the shards).
            let from = self.last_pos;
            let mut follower: Box<dyn WalFollower> = match source.follow(from) {
                Ok(f) => {
                    self.following.store(true, Ordering::Relaxed);
                    f
                }
                Err(e) => {
                    self.following.store(false, Ordering::Relaxed);
                    tracing::error!(queue = %self.name, "remote_write: cannot follow the log: {e}; retrying in {retry:?}");
                    self.pause(retry);
                    retry = (retry * 2).min(Duration::from_secs(30));
                    continue;
                }
            };
            // Series are reported again from the start of the log's memory.
            self.series.clear();
            while !self.stopped() {
                self.maybe_save();
                match follower.next(self.poll) {
                    Ok(None) => {}
                    Ok(Some((end, event))) => {
                        retry = Duration::from_millis(100);
                        if !self.handle(end, event) {
                            break 'follow;
                        }
                    }
                    Err(e) => {
                        self.following.store(false, Ordering::Relaxed);
                        tracing::error!(queue = %self.name, "remote_write: reading the log: {e}; following again in {retry:?}");
                        self.pause(retry);
                        retry = (retry * 2).min(Duration::from_secs(30));
                        continue 'follow;
                    }
                }
            }
        }
        // Dropping the senders lets the shards finish.
    }

    fn pause(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.stopped() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20).min(d));
        }
    }

    fn maybe_save(&mut self) {
        if self.last_save.elapsed() < self.save_every {
            return;
        }
        self.last_save = Instant::now();
        if self.tracker.snapshot(&self.url_hash).as_ref() == self.last_saved.as_ref() {
            return;
        }
        match self.tracker.save(true) {
            Ok(s) => self.last_saved = s,
            Err(e) => tracing::error!(queue = %self.name, "remote_write: {e}"),
        }
    }

    /// Handles one event; `false` when stopped while waiting for a shard.
    fn handle(&mut self, end: WalPosition, event: WalEvent) -> bool {
        let start = self.last_pos.unwrap_or(end);
        self.last_pos = Some(end);
        match event {
            WalEvent::Series(list) => {
                for (id, labels) in list {
                    let sent = self.labels_to_send(&labels);
                    self.series.insert(id, sent);
                }
                self.tracker.read_up_to(end);
                true
            }
            WalEvent::Gap { from, to } => {
                self.metrics.wal_gaps.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(queue = %self.name, "remote_write: the log from {from} to {to} was truncated before it was read; its samples are lost to this receiver");
                self.tracker.read_up_to(end);
                true
            }
            WalEvent::Samples(samples) => self.enqueue(start, end, &samples),
        }
    }

    /// External labels first (a series' own label wins), then write relabeling.
    fn labels_to_send(&self, labels: &Labels) -> Option<Labels> {
        let with_external = if self.external.is_empty() {
            labels.clone()
        } else {
            let mut all: Vec<Label> = self
                .external
                .iter()
                .filter(|l| labels.get(l.name).is_none())
                .map(|l| l.to_label())
                .collect();
            all.extend(labels.iter().map(|l| l.to_label()));
            Labels::new(all)
        };
        let out = if self.relabel.is_empty() {
            with_external
        } else {
            relabel(&with_external, &self.relabel)?
        };
        (!out.is_empty()).then_some(out)
    }

    fn enqueue(&mut self, start: WalPosition, end: WalPosition, samples: &[WalSample]) -> bool {
        let n = self.senders.len().max(1) as u64;
        let now = chrono::Utc::now().timestamp_millis();
        let oldest_ok = (!self.age_limit.is_zero()).then(|| {
            now.saturating_sub(i64::try_from(self.age_limit.as_millis()).unwrap_or(i64::MAX))
        });
        if let Some(s) = &self.skip
            && s.skip_horizon().is_none_or(|h| end > h)
        {
            self.skip = None;
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let mut per_shard: Vec<Vec<Pending>> = vec![Vec::new(); self.senders.len()];
        let (mut dropped, mut unknown, mut too_old) = (0u64, 0u64, 0u64);
        for s in samples {
            QueueMetrics::raise(&self.metrics.highest_read_ms, s.t);
            if self
                .skip
                .as_ref()
                .is_some_and(|p| p.already_sent(s.series, end))
            {
                continue;
            }
            if oldest_ok.is_some_and(|o| s.t < o) {
                too_old += 1;
                continue;
            }
            let labels = match self.series.get(&s.series) {
                Some(Some(l)) => l.clone(),
                Some(None) => {
                    dropped += 1;
                    continue;
                }
                None => {
                    unknown += 1;
                    continue;
                }
            };
            let k = usize::try_from(s.series % n).unwrap_or(0);
            per_shard[k].push(Pending {
                labels,
                t: s.t,
                v: s.v,
                event: seq,
                end: None,
            });
        }
        for (reason, count) in [
            (REASON_DROPPED_SERIES, dropped),
            (REASON_UNKNOWN_SERIES, unknown),
            (REASON_TOO_OLD, too_old),
        ] {
            if count > 0 {
                self.metrics.drop_read(reason, count);
            }
        }
        if unknown > 0 {
            tracing::debug!(queue = %self.name, "remote_write: {unknown} samples of series the log never named");
        }
        let total: usize = per_shard.iter().map(Vec::len).sum();
        self.tracker.begin(seq, start, total);
        for (k, list) in per_shard.into_iter().enumerate() {
            let len = list.len();
            for (i, mut p) in list.into_iter().enumerate() {
                if i + 1 == len {
                    p.end = Some(end);
                }
                if !self.push(k, p) {
                    return false;
                }
            }
        }
        self.tracker.read_up_to(end);
        true
    }

    /// Puts `p` on shard `k`, waiting while the shard is full. `false` when stopped.
    fn push(&mut self, k: usize, mut p: Pending) -> bool {
        let mut wait = Duration::from_millis(5);
        loop {
            match self.senders[k].try_send(p) {
                Ok(()) => {
                    self.metrics.samples_pending.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                Err(mpsc::error::TrySendError::Full(back)) => {
                    p = back;
                    self.metrics.enqueue_retries.fetch_add(1, Ordering::Relaxed);
                    if self.stopped() {
                        return false;
                    }
                    self.maybe_save();
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_millis(100));
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
    }
}
