//! One target's scrape loop: waits a deterministic offset, then on every interval fetches,
//! ingests and commits, writes the synthetic series, and records health. When the target
//! goes away it writes stale markers for everything it wrote. The manager starts and
//! stops loops.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;
use tokio_util::sync::CancellationToken;

use super::client::{FetchError, ScrapeClient};
use super::health::{Target, TargetHealth};
use super::ingest::{Ingester, append_report, stale_report};
use super::manager::ingest_options;
use super::target::TargetSpec;
use crate::config::ScrapeConfig;
use crate::model::Labels;
use crate::storage::{SeriesRef, Storage};

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// How long to wait before the first scrape: the target's hash spreads targets over the
/// interval, the same for the same target on every run (Prometheus's scheme).
pub fn scrape_offset(hash: u64, interval: Duration, now: SystemTime) -> Duration {
    let iv = interval.as_nanos().max(1) as u64;
    let now_ns = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let base = iv - now_ns % iv;
    let mut next = base + hash % iv;
    if next > iv {
        next -= iv;
    }
    Duration::from_nanos(next)
}

/// Snaps tick timestamps onto the loop's own schedule when timer jitter moved them by at
/// most 2 ms (and at most 1% of the interval), as Prometheus does: regular timestamps cost
/// 1 bit each in a chunk instead of ~16, so this roughly halves a series' storage.
#[derive(Debug, Clone)]
pub struct TimestampAligner {
    interval_ms: i64,
    aligned: Option<i64>,
    last: i64,
}

/// Prometheus's `ScrapeTimestampTolerance`.
const ALIGN_TOLERANCE_MS: i64 = 2;

impl TimestampAligner {
    pub fn new(interval: Duration) -> Self {
        TimestampAligner {
            interval_ms: (interval.as_millis() as i64).max(1),
            aligned: None,
            last: i64::MIN,
        }
    }

    /// The timestamp to store for a tick that started at `t` (ms).
    pub fn align(&mut self, t: i64) -> i64 {
        let Some(mut aligned) = self.aligned else {
            self.aligned = Some(t);
            self.last = t;
            return t;
        };
        let tolerance = (self.interval_ms / 100).min(ALIGN_TOLERANCE_MS);
        // Skipped ticks: move the schedule forward by whole intervals.
        if t - aligned >= self.interval_ms {
            aligned += (t - aligned) / self.interval_ms * self.interval_ms;
        }
        let out = if (t - aligned).abs() <= tolerance {
            aligned
        } else if aligned + self.interval_ms - t <= tolerance {
            // A tick that came a hair early (Prometheus's Go timers never do; be robust).
            aligned += self.interval_ms;
            aligned
        } else {
            t
        };
        self.aligned = Some(aligned);
        // Never hand out a timestamp at or before the previous one: an extra tick within the
        // same interval (a manual refresh, a test) keeps its real time.
        let out = if out <= self.last { t } else { out };
        self.last = self.last.max(out);
        out
    }
}

pub struct ScrapeLoop {
    pub spec: TargetSpec,
    pub client: ScrapeClient,
    pub storage: Arc<dyn Storage>,
    pub ingester: Ingester,
    pub record: Arc<RwLock<Target>>,
    report_refs: [Option<(Labels, Option<SeriesRef>)>; 5],
    aligner: TimestampAligner,
}

impl ScrapeLoop {
    pub fn new(
        spec: TargetSpec,
        client: ScrapeClient,
        storage: Arc<dyn Storage>,
        ingester: Ingester,
        record: Arc<RwLock<Target>>,
    ) -> Self {
        let spec_interval = spec.interval;
        ScrapeLoop {
            spec,
            client,
            storage,
            ingester,
            record,
            report_refs: Default::default(),
            aligner: TimestampAligner::new(spec_interval),
        }
    }

    /// A loop for `spec` with the job's client and ingest rules, and a fresh health record
    /// (also returned, for whoever shows it).
    pub fn for_job(
        spec: TargetSpec,
        cfg: &ScrapeConfig,
        storage: Arc<dyn Storage>,
    ) -> Result<(Self, Arc<RwLock<Target>>), FetchError> {
        let client = ScrapeClient::new(cfg)?;
        let record = Arc::new(RwLock::new(Target::new(&spec)));
        let ingester = Ingester::new(spec.labels.clone(), ingest_options(cfg));
        let lp = ScrapeLoop::new(spec, client, storage, ingester, record.clone());
        Ok((lp, record))
    }

    /// Runs until `cancel` fires, then writes end-of-target stale markers.
    pub async fn run(mut self, cancel: CancellationToken) {
        let offset = scrape_offset(self.spec.hash(), self.spec.interval, SystemTime::now());
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(offset) => {}
        }
        let mut ticker = tokio::time::interval(self.spec.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = ticker.tick() => {
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = self.scrape_once() => {}
                    }
                }
            }
        }
        self.stale_everything(now_ms());
    }

    /// One tick: fetch, ingest, report, commit (all in one batch), record health. As in
    /// Prometheus, `scrape_duration_seconds` covers fetch, parse and append but not the
    /// commit (its WAL write), and a failed page's samples are rolled back before its
    /// stale markers and report go into a fresh batch.
    pub async fn scrape_once(&mut self) {
        let t = self.aligner.align(now_ms());
        let start = Instant::now();
        let fetched = self.client.fetch(&self.spec.url, self.spec.timeout).await;
        let storage = self.storage.clone();
        let mut app = storage.appender();
        let ingested = match fetched {
            Ok(page) => self
                .ingester
                .ingest(&mut *app, &page.body, page.format, t)
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if ingested.is_err() {
            drop(app);
            app = storage.appender();
            self.ingester.ingest_failed(&mut *app, t);
        }
        let duration = start.elapsed();
        let appended = append_report(
            &mut *app,
            self.ingester.target_labels(),
            &mut self.report_refs,
            t,
            duration.as_secs_f64(),
            ingested.as_ref().ok(),
        );
        let committed = appended.and_then(|_| app.commit());
        let result = match (ingested, committed) {
            (Ok(rep), Ok(())) => Ok(rep),
            (Ok(_), Err(e)) => {
                // As before the batch failed to commit: stale markers and `up` 0 in a
                // batch of their own.
                let mut app = storage.appender();
                self.ingester.ingest_failed(&mut *app, t);
                if let Err(c) = append_report(
                    &mut *app,
                    self.ingester.target_labels(),
                    &mut self.report_refs,
                    t,
                    duration.as_secs_f64(),
                    None,
                )
                .and_then(|_| app.commit())
                {
                    tracing::warn!(target = %self.spec.url, "appending scrape report: {c}");
                }
                Err(e.to_string())
            }
            (Err(e), done) => {
                if let Err(c) = done {
                    tracing::warn!(target = %self.spec.url, "appending scrape report: {c}");
                }
                Err(e)
            }
        };
        let mut rec = self.record.write();
        rec.last_scrape = Some(t);
        rec.duration = duration;
        match &result {
            Ok(r) => {
                rec.health = TargetHealth::Up;
                rec.last_error.clear();
                rec.samples = r.post_relabel;
            }
            Err(e) => {
                tracing::debug!(target = %self.spec.url, "scrape failed: {e}");
                rec.health = TargetHealth::Down;
                rec.last_error = e.clone();
                rec.samples = 0;
            }
        }
    }

    /// Stale markers for every series this target wrote, including the synthetic ones.
    fn stale_everything(&mut self, t: i64) {
        let storage = self.storage.clone();
        let mut app = storage.appender();
        self.ingester.ingest_failed(&mut *app, t);
        let res = stale_report(
            &mut *app,
            self.ingester.target_labels(),
            &mut self.report_refs,
            t,
        )
        .and_then(|_| app.commit());
        if let Err(e) = res {
            tracing::warn!(target = %self.spec.url, "writing stale markers: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligner_snaps_small_jitter_only() {
        let mut a = TimestampAligner::new(Duration::from_secs(2));
        assert_eq!(a.align(10_000), 10_000);
        assert_eq!(a.align(12_001), 12_000, "1 ms late snaps");
        assert_eq!(a.align(13_999), 14_000, "1 ms early snaps");
        assert_eq!(a.align(16_005), 16_005, "5 ms off is kept as is");
        assert_eq!(a.align(20_002), 20_000, "a skipped tick keeps the schedule");
        // Tolerance is at most 1% of the interval.
        let mut a = TimestampAligner::new(Duration::from_millis(100));
        a.align(0);
        assert_eq!(a.align(101), 100);
        assert_eq!(a.align(202), 202);
        // Two ticks within one interval never share a timestamp.
        let mut a = TimestampAligner::new(Duration::from_secs(60));
        assert_eq!(a.align(1_000), 1_000);
        assert_eq!(a.align(1_001), 1_001);
    }
}
