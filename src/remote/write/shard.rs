//! One sending shard of a remote-write queue: it takes the samples of its series in log
//! order, batches up to `max_samples_per_send` or for `batch_send_deadline`, and sends each
//! batch until it is delivered — retrying 5xx, 429 (when configured, after Retry-After) and
//! connection errors with exponential backoff from `min_backoff` to `max_backoff`, for as
//! long as it takes — or refused for good (other statuses: dropped, counted by reason).
//! Only then is the batch acknowledged to the tracker, so a batch never delivered is sent
//! again after a restart. The queue runs one task per shard.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::QueueConfig;
use crate::model::Labels;
use crate::storage::WalPosition;

use super::client::{StoreError, WriteClient};
use super::metrics::{QueueMetrics, REASON_TOO_OLD};
use super::proto::{BatchSample, Encoder};
use super::tracker::Tracker;

/// A sample on its way to a shard.
#[derive(Debug, Clone)]
pub struct Pending {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
    /// The log event it was read in.
    pub event: u64,
    /// Set on the shard's last sample of its event: the event's end.
    pub end: Option<WalPosition>,
}

/// What a shard works with.
pub struct ShardCtx {
    pub index: usize,
    pub client: Arc<WriteClient>,
    pub queue: QueueConfig,
    pub metrics: Arc<QueueMetrics>,
    pub tracker: Arc<Tracker>,
    /// Cancelled when the shard must stop at once (a batch in flight is abandoned and
    /// sent again after a restart).
    pub abort: CancellationToken,
}

/// Runs until its channel closes (after sending what it holds) or `abort`.
pub async fn run(ctx: ShardCtx, mut rx: mpsc::Receiver<Pending>) {
    let max = ctx.queue.max_samples_per_send.max(1);
    let mut batch: Vec<Pending> = Vec::with_capacity(max);
    let mut encoder = Encoder::new();
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let next = tokio::select! {
            biased;
            _ = ctx.abort.cancelled() => return,
            got = rx.recv() => Some(got),
            _ = sleep_until(deadline) => None,
        };
        match next {
            Some(Some(p)) => {
                if batch.is_empty() {
                    deadline = Some(tokio::time::Instant::now() + ctx.queue.batch_send_deadline);
                }
                batch.push(p);
                while batch.len() < max {
                    match rx.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
                if batch.len() >= max {
                    deadline = None;
                    if !send(&ctx, &mut encoder, std::mem::take(&mut batch)).await {
                        return;
                    }
                }
            }
            Some(None) => {
                if !batch.is_empty() {
                    send(&ctx, &mut encoder, batch).await;
                }
                return;
            }
            None => {
                deadline = None;
                if !batch.is_empty() && !send(&ctx, &mut encoder, std::mem::take(&mut batch)).await
                {
                    return;
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Delivers `batch` (or drops it for good) and acknowledges it. `false` when aborted.
async fn send(ctx: &ShardCtx, encoder: &mut Encoder, mut batch: Vec<Pending>) -> bool {
    let m = &ctx.metrics;
    let mut backoff = ctx.queue.min_backoff;
    let mut attempt: u32 = 0;
    let mut logged_at: Option<Instant> = None;
    loop {
        if attempt > 0 && !ctx.queue.sample_age_limit.is_zero() {
            let (old, keep) = split_too_old(batch, ctx.queue.sample_age_limit);
            if !old.is_empty() {
                m.drop_read(REASON_TOO_OLD, old.len() as u64);
                // Newer samples before them may still be unsent: the shard's position
                // does not move for these.
                acknowledge(ctx, &old, false);
            }
            batch = keep;
        }
        if batch.is_empty() {
            return true;
        }
        let samples: Vec<BatchSample> = batch
            .iter()
            .map(|p| BatchSample {
                labels: p.labels.clone(),
                t: p.t,
                v: p.v,
            })
            .collect();
        let n = samples.len() as u64;
        let body = match encoder.encode(&samples) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(queue = %m.remote_name, "remote_write: {e}; batch dropped");
                m.drop_refused("encode", n);
                acknowledge(ctx, &batch, true);
                return true;
            }
        };
        m.samples_total.fetch_add(n, Ordering::Relaxed);
        let started = Instant::now();
        let result = tokio::select! {
            biased;
            _ = ctx.abort.cancelled() => return false,
            r = ctx.client.store(&body, attempt) => r,
        };
        m.observe_send(started.elapsed().as_secs_f64());
        let newest = samples.iter().map(|s| s.t).max().unwrap_or(0);
        match result {
            Ok(()) => {
                m.bytes_total
                    .fetch_add(body.len() as u64, Ordering::Relaxed);
                QueueMetrics::raise(&m.highest_sent_ms, newest);
                acknowledge(ctx, &batch, true);
                if logged_at.is_some() {
                    tracing::info!(queue = %m.remote_name, "remote_write: sending again after {attempt} retries");
                }
                return true;
            }
            Err(StoreError::Fatal { reason, message }) => {
                tracing::error!(queue = %m.remote_name, "remote_write: {message}; {n} samples dropped");
                m.bytes_total
                    .fetch_add(body.len() as u64, Ordering::Relaxed);
                QueueMetrics::raise(&m.highest_sent_ms, newest);
                m.drop_refused(&reason, n);
                acknowledge(ctx, &batch, true);
                return true;
            }
            Err(StoreError::Recoverable {
                reason,
                retry_after,
            }) => {
                let wait = retry_after.unwrap_or(backoff);
                // One warning, then one a minute while the outage lasts.
                if logged_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(queue = %m.remote_name, "remote_write: {reason}; retrying in {wait:?}");
                    logged_at = Some(Instant::now());
                }
                tokio::select! {
                    biased;
                    _ = ctx.abort.cancelled() => return false,
                    _ = tokio::time::sleep(wait) => {}
                }
                m.samples_retried.fetch_add(n, Ordering::Relaxed);
                backoff = (wait * 2)
                    .min(ctx.queue.max_backoff)
                    .max(ctx.queue.min_backoff);
                attempt = attempt.saturating_add(1);
            }
        }
    }
}

/// Splits off the samples older than `limit` before now.
fn split_too_old(batch: Vec<Pending>, limit: Duration) -> (Vec<Pending>, Vec<Pending>) {
    let now = chrono::Utc::now().timestamp_millis();
    let oldest_ok = now.saturating_sub(i64::try_from(limit.as_millis()).unwrap_or(i64::MAX));
    batch.into_iter().partition(|p| p.t < oldest_ok)
}

/// Tells the tracker `done` are delivered or dropped for good; with `advance`, that
/// everything of this shard before them is too.
fn acknowledge(ctx: &ShardCtx, done: &[Pending], advance: bool) {
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    let mut through = None;
    for p in done {
        *counts.entry(p.event).or_default() += 1;
        if let Some(e) = p.end.filter(|_| advance) {
            through = Some(e);
        }
    }
    let counts: Vec<(u64, usize)> = counts.into_iter().collect();
    ctx.tracker.ack(ctx.index, &counts, through);
    ctx.metrics.samples_pending.fetch_sub(
        i64::try_from(done.len()).unwrap_or(i64::MAX),
        Ordering::Relaxed,
    );
}
