//! remote_write in the running app (the TUI and `kmon serve`): one `remote::write` queue
//! per `remote_write` entry of the config, following the data dir's WAL, started by the
//! `Engine` when the storage is the persistent TSDB (never with `--read-only`); reloaded on
//! SIGHUP (an entry whose settings or the external labels changed restarts its queue, which
//! goes on from its saved position; removed entries stop, new ones start); stopped with the
//! engine, each queue flushing what it holds and saving its position. `/metrics` shows the
//! queues' `prometheus_remote_storage_*` series through `write_metrics`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::model::Labels;
use crate::remote::write::{QueueManager, QueueMetrics, QueueOptions};
use crate::storage::WalSource;

/// The running queues of one config.
pub struct RemoteWriteRuntime {
    source: Arc<dyn WalSource>,
    data_dir: PathBuf,
    /// The config file SIGHUP re-reads (none: reload keeps what runs).
    config_path: Option<PathBuf>,
    queues: tokio::sync::Mutex<Running>,
    /// The queues' metrics, readable without waiting (for `/metrics`).
    metrics: parking_lot::Mutex<Vec<Arc<QueueMetrics>>>,
    flush_deadline: Duration,
}

#[derive(Default)]
struct Running {
    queues: Vec<QueueManager>,
    external_labels: Labels,
}

impl RemoteWriteRuntime {
    /// Starts a queue for each of `config`'s `remote_write` entries, positions kept under
    /// `data_dir`. Must run inside a runtime. A queue that cannot start (a bad certificate
    /// file, say) is logged and skipped; the others run.
    pub fn start(
        source: Arc<dyn WalSource>,
        config: &Config,
        data_dir: &Path,
        config_path: Option<PathBuf>,
    ) -> Arc<RemoteWriteRuntime> {
        let mut rt = RemoteWriteRuntime {
            source,
            data_dir: data_dir.to_path_buf(),
            config_path,
            queues: tokio::sync::Mutex::new(Running::default()),
            metrics: parking_lot::Mutex::new(Vec::new()),
            // Within the engine's bound on stopping tasks (3 s).
            flush_deadline: Duration::from_secs(2),
        };
        let (queues, _) = rt.start_queues(config, &[]);
        rt.set_metrics(&queues);
        *rt.queues.get_mut() = Running {
            queues,
            external_labels: config.global.external_labels.clone(),
        };
        Arc::new(rt)
    }

    fn options(&self, config: &Config) -> QueueOptions {
        QueueOptions {
            external_labels: config.global.external_labels.clone(),
            data_dir: self.data_dir.clone(),
            flush_deadline: self.flush_deadline,
            ..QueueOptions::default()
        }
    }

    /// Starts the entries of `config` whose name is not in `skip`; returns them and the
    /// problems.
    fn start_queues(&self, config: &Config, skip: &[String]) -> (Vec<QueueManager>, Vec<String>) {
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for entry in &config.remote_write {
            if skip.contains(&entry.name) {
                continue;
            }
            match QueueManager::start(entry.clone(), self.options(config), self.source.clone()) {
                Ok(q) => {
                    tracing::info!(queue = %entry.name, url = %entry.url, "remote_write started");
                    out.push(q);
                }
                Err(e) => {
                    tracing::error!("{e}");
                    problems.push(e.to_string());
                }
            }
        }
        (out, problems)
    }

    fn set_metrics(&self, queues: &[QueueManager]) {
        *self.metrics.lock() = queues.iter().map(|q| q.metrics().clone()).collect();
    }

    /// The names of the running queues, in config order.
    pub async fn names(&self) -> Vec<String> {
        let r = self.queues.lock().await;
        r.queues.iter().map(|q| q.name().to_string()).collect()
    }

    /// Whether every queue's reader follows the log (a first start follows from the end of
    /// the log as it is then: what is logged after this is true will be sent).
    pub async fn all_following(&self) -> bool {
        let r = self.queues.lock().await;
        r.queues.iter().all(QueueManager::is_following)
    }

    /// Applies a new config: unchanged entries keep running; changed and removed ones
    /// stop (saving their position); changed and new ones start. Returns a line for the
    /// log or status line.
    pub async fn apply(&self, config: &Config) -> String {
        let mut r = self.queues.lock().await;
        let labels_changed = r.external_labels != config.global.external_labels;
        let old = std::mem::take(&mut r.queues);
        let mut keep = Vec::new();
        let mut stopping = Vec::new();
        for q in old {
            let same = !labels_changed
                && config
                    .remote_write
                    .iter()
                    .any(|c| c.name == q.name() && c.hash == q.config().hash);
            if same {
                keep.push(q);
            } else {
                stopping.push(q);
            }
        }
        let stopped = stopping.len();
        futures_util::future::join_all(stopping.into_iter().map(QueueManager::stop)).await;
        let kept: Vec<String> = keep.iter().map(|q| q.name().to_string()).collect();
        let (started, problems) = self.start_queues(config, &kept);
        let n_started = started.len();
        keep.extend(started);
        // Config order.
        keep.sort_by_key(|q| {
            config
                .remote_write
                .iter()
                .position(|c| c.name == q.name())
                .unwrap_or(usize::MAX)
        });
        self.set_metrics(&keep);
        r.queues = keep;
        r.external_labels = config.global.external_labels.clone();
        let mut msg = format!(
            "remote_write reloaded: {} running ({n_started} started, {stopped} stopped)",
            r.queues.len()
        );
        if !problems.is_empty() {
            msg.push_str(&format!("; {}", problems.join("; ")));
        }
        msg
    }

    /// Re-reads the config file and applies it; a config that does not load leaves the
    /// queues as they are.
    pub async fn reload(&self) -> String {
        let Some(path) = &self.config_path else {
            return "remote_write: no config file to reload".to_string();
        };
        match crate::config::load_file(path) {
            Ok((c, _)) => self.apply(&c).await,
            Err(e) => format!("remote_write reload failed, the old queues keep running: {e}"),
        }
    }

    /// Stops every queue: each delivers what it holds within the flush deadline and saves
    /// its position.
    pub async fn stop(&self) {
        let mut r = self.queues.lock().await;
        let queues = std::mem::take(&mut r.queues);
        futures_util::future::join_all(queues.into_iter().map(QueueManager::stop)).await;
    }

    /// Appends the queues' metrics in the text format.
    pub fn write_metrics(&self, out: &mut String) {
        let list = self.metrics.lock().clone();
        let refs: Vec<&QueueMetrics> = list.iter().map(Arc::as_ref).collect();
        crate::remote::write::write_metrics(&refs, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::write::MemWal;

    fn config(text: &str) -> Config {
        crate::config::load_str(text, "prometheus.yml").unwrap().0
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reload_restarts_only_changed_entries() {
        let dir = tempfile::tempdir().unwrap();
        let wal: Arc<dyn WalSource> = Arc::new(MemWal::new());
        let c1 = config(
            "remote_write:\n  - url: http://127.0.0.1:9/a\n    name: a\n  - url: http://127.0.0.1:9/b\n    name: b\n",
        );
        let rt = RemoteWriteRuntime::start(wal, &c1, dir.path(), None);
        assert_eq!(rt.names().await, ["a", "b"]);
        let mut text = String::new();
        rt.write_metrics(&mut text);
        assert!(text.contains("remote_name=\"b\""));
        let c2 = config(
            "remote_write:\n  - url: http://127.0.0.1:9/a\n    name: a\n  - url: http://127.0.0.1:9/c\n    name: c\n    remote_timeout: 5s\n",
        );
        let msg = rt.apply(&c2).await;
        assert_eq!(
            msg,
            "remote_write reloaded: 2 running (1 started, 1 stopped)"
        );
        assert_eq!(rt.names().await, ["a", "c"]);
        // New external labels restart everything.
        let c3 = config(
            "global:\n  external_labels: {x: y}\nremote_write:\n  - url: http://127.0.0.1:9/a\n    name: a\n",
        );
        assert_eq!(
            rt.apply(&c3).await,
            "remote_write reloaded: 1 running (1 started, 2 stopped)"
        );
        rt.stop().await;
        assert!(rt.names().await.is_empty());
        assert_eq!(rt.reload().await, "remote_write: no config file to reload");
    }

    /// A receiver on 127.0.0.1 keeping (labels, t, v) of what it is sent.
    async fn receiver() -> (String, Arc<parking_lot::Mutex<Vec<(String, i64, f64)>>>) {
        let got = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let g = got.clone();
        let app = axum::Router::new().route(
            "/w",
            axum::routing::post(move |body: axum::body::Bytes| {
                let g = g.clone();
                async move {
                    let req = crate::remote::write::proto::decode_request(&body).expect("decode");
                    for ts in req.timeseries {
                        let pairs: Vec<(String, String)> =
                            ts.labels.into_iter().map(|l| (l.name, l.value)).collect();
                        let name = Labels::from_pairs(&pairs).to_string();
                        for s in ts.samples {
                            g.lock().push((name.clone(), s.timestamp, s.value));
                        }
                    }
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/w", l.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        (url, got)
    }

    async fn wait_for(what: &str, cond: impl Fn() -> bool) {
        let until = std::time::Instant::now() + Duration::from_secs(30);
        while !cond() {
            assert!(
                std::time::Instant::now() < until,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_tsdb_wal_is_sent_and_a_restart_resends_nothing_twice() {
        use crate::storage::Appendable;
        use crate::tsdb::db::{Db, DbOptions};
        let (url, got) = receiver().await;
        let data = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(data.path(), DbOptions::default()).unwrap());
        let c = config(&format!(
            "global:\n  external_labels: {{site: a}}\nremote_write:\n  - url: {url}\n    name: r\n    queue_config: {{batch_send_deadline: 50ms}}\n"
        ));
        let now = chrono::Utc::now().timestamp_millis();
        let append = |from: i64, to: i64| {
            let mut a = db.appender();
            for k in from..to {
                for s in ["a", "b", "c"] {
                    let l = Labels::from_pairs(&[("__name__", "m"), ("s", s)]);
                    a.append(None, &l, now + k * 1000, k as f64).unwrap();
                }
            }
            a.commit().unwrap();
        };
        let wal: Arc<dyn WalSource> = db.clone();
        let rt = RemoteWriteRuntime::start(wal.clone(), &c, data.path(), None);
        // A first start follows from the end of the log: wait until it does.
        let m = rt.metrics.lock()[0].clone();
        let until = std::time::Instant::now() + Duration::from_secs(30);
        while !rt.all_following().await {
            assert!(
                std::time::Instant::now() < until,
                "the queue never followed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for k in 0..5 {
            append(k, k + 1);
        }
        wait_for("15 samples", || got.lock().len() == 15).await;
        rt.stop().await;
        assert!(m.highest_sent_ms.load(std::sync::atomic::Ordering::Relaxed) >= now + 4000);
        // Logged while kmon's queue is down, then sent after the restart, once.
        append(5, 8);
        let rt = RemoteWriteRuntime::start(wal, &c, data.path(), None);
        wait_for("24 samples", || got.lock().len() >= 24).await;
        rt.stop().await;
        let all = got.lock().clone();
        assert_eq!(all.len(), 24, "every sample once");
        for s in ["a", "b", "c"] {
            let name = format!("{{__name__=\"m\", s=\"{s}\", site=\"a\"}}");
            let ts: Vec<i64> = all.iter().filter(|x| x.0 == name).map(|x| x.1).collect();
            assert_eq!(
                ts,
                (0..8).map(|k| now + k * 1000).collect::<Vec<_>>(),
                "{name}"
            );
        }
    }
}
