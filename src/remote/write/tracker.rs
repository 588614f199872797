//! Which samples read from the log are not yet acknowledged, so the queue knows where a
//! restart must follow from: every log event with samples in flight is held with the
//! position it started at and how many of its samples are outstanding; the oldest such
//! event's start is the low watermark, or, with nothing in flight, the end of the last
//! event read. Per shard it also keeps the log position up to which that shard's samples
//! were all acknowledged (a shard sends in log order), which lets a restart skip what was
//! already delivered. The reader registers events, the shards acknowledge batches, the
//! queue saves `snapshot`. With a file to save to (`saving_to`), every acknowledgement that
//! moves a shard's position also writes the snapshot (without fsync), so a process killed
//! right after a delivery does not send it again: a receiver such as Prometheus refuses a
//! whole request that holds one sample older than what it has, and the queue would then
//! have to split that request to get the newer samples in it through.

use std::collections::BTreeMap;
use std::path::PathBuf;

use parking_lot::Mutex;

use crate::storage::WalPosition;

use super::position::{self, PositionError, SavedPosition};

#[derive(Debug, Default)]
struct Inner {
    /// event number → (its start position, samples not yet acknowledged)
    in_flight: BTreeMap<u64, (WalPosition, usize)>,
    /// The end of the last event the reader finished with.
    read: Option<WalPosition>,
    /// Per shard: every sample of the shard logged before this was acknowledged.
    acked: Vec<Option<WalPosition>>,
}

/// Where snapshots are saved; the lock keeps saves from interleaving.
#[derive(Debug)]
struct SaveTo {
    path: PathBuf,
    url_hash: String,
    lock: Mutex<()>,
}

/// Shared by a queue's reader and shards.
#[derive(Debug)]
pub struct Tracker {
    inner: Mutex<Inner>,
    save_to: Option<SaveTo>,
}

impl Tracker {
    /// A tracker for `shards` shards, carrying over the per-shard positions of a saved
    /// run with the same number of shards.
    pub fn new(shards: usize, saved: Option<&SavedPosition>) -> Tracker {
        let mut acked = vec![None; shards];
        if let Some(s) = saved
            && usize::try_from(s.shards).ok() == Some(shards)
        {
            for (slot, a) in acked.iter_mut().zip(&s.acked) {
                *slot = a.map(|(segment, offset)| WalPosition { segment, offset });
            }
        }
        Tracker {
            inner: Mutex::new(Inner {
                in_flight: BTreeMap::new(),
                read: saved.map(SavedPosition::position),
                acked,
            }),
            save_to: None,
        }
    }

    /// Saves snapshots for a receiver whose URL hashes to `url_hash` to `path`.
    pub fn saving_to(mut self, path: PathBuf, url_hash: String) -> Tracker {
        self.save_to = Some(SaveTo {
            path,
            url_hash,
            lock: Mutex::new(()),
        });
        self
    }

    /// Writes the snapshot now (fsynced when `durable`); the snapshot written, if any.
    pub fn save(&self, durable: bool) -> Result<Option<SavedPosition>, PositionError> {
        let Some(to) = &self.save_to else {
            return Ok(None);
        };
        let _one = to.lock.lock();
        let Some(s) = self.snapshot(&to.url_hash) else {
            return Ok(None);
        };
        position::save_with(&to.path, &s, durable)?;
        Ok(Some(s))
    }

    /// Event `seq`, which started at `start`, has `samples` samples on their way to shards.
    pub fn begin(&self, seq: u64, start: WalPosition, samples: usize) {
        if samples > 0 {
            self.inner.lock().in_flight.insert(seq, (start, samples));
        }
    }

    /// The reader is done with everything up to `end`.
    pub fn read_up_to(&self, end: WalPosition) {
        self.inner.lock().read = Some(end);
    }

    /// Shard `shard` delivered (or dropped for good) `counts` samples per event; all its
    /// samples logged before `through`, when given, are now acknowledged.
    pub fn ack(&self, shard: usize, counts: &[(u64, usize)], through: Option<WalPosition>) {
        let mut g = self.inner.lock();
        for (seq, n) in counts {
            if let Some(entry) = g.in_flight.get_mut(seq) {
                entry.1 = entry.1.saturating_sub(*n);
                if entry.1 == 0 {
                    g.in_flight.remove(seq);
                }
            }
        }
        if let (Some(t), Some(slot)) = (through, g.acked.get_mut(shard)) {
            *slot = Some(slot.map_or(t, |old| old.max(t)));
        }
        drop(g);
        if through.is_some()
            && let Err(e) = self.save(false)
        {
            tracing::warn!("remote_write: {e}");
        }
    }

    /// Where a restart must follow from; `None` before anything was read.
    #[cfg(test)]
    pub fn low_watermark(&self) -> Option<WalPosition> {
        let g = self.inner.lock();
        g.in_flight.values().next().map(|(p, _)| *p).or(g.read)
    }

    /// Samples still in flight.
    pub fn outstanding(&self) -> usize {
        self.inner.lock().in_flight.values().map(|(_, n)| n).sum()
    }

    /// What to save, for a receiver whose URL hashes to `url_hash`.
    pub fn snapshot(&self, url_hash: &str) -> Option<SavedPosition> {
        let g = self.inner.lock();
        let pos = g.in_flight.values().next().map(|(p, _)| *p).or(g.read)?;
        Some(SavedPosition {
            segment: pos.segment,
            offset: pos.offset,
            url_hash: url_hash.to_string(),
            shards: u32::try_from(g.acked.len()).unwrap_or(0),
            acked: g
                .acked
                .iter()
                .map(|a| a.map(|p| (p.segment, p.offset)))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: u64) -> WalPosition {
        WalPosition { segment: 0, offset }
    }

    #[test]
    fn the_watermark_is_the_oldest_event_in_flight() {
        let t = Tracker::new(2, None);
        assert_eq!(t.low_watermark(), None);
        t.begin(1, at(10), 3);
        t.read_up_to(at(20));
        t.begin(2, at(20), 2);
        t.read_up_to(at(30));
        assert_eq!(t.low_watermark(), Some(at(10)));
        // The later event is acknowledged first: the watermark stays.
        t.ack(1, &[(2, 2)], Some(at(30)));
        assert_eq!(t.low_watermark(), Some(at(10)));
        t.ack(0, &[(1, 2)], None);
        assert_eq!(t.outstanding(), 1);
        t.ack(0, &[(1, 1)], Some(at(20)));
        assert_eq!(t.low_watermark(), Some(at(30)));
        let s = t.snapshot("h").unwrap();
        assert_eq!((s.segment, s.offset, s.shards), (0, 30, 2));
        assert_eq!(s.acked, vec![Some((0, 20)), Some((0, 30))]);
        // A restart with the same shards keeps the per-shard positions.
        let again = Tracker::new(2, Some(&s));
        assert_eq!(again.snapshot("h").unwrap().acked, s.acked);
        let other = Tracker::new(3, Some(&s));
        assert_eq!(other.snapshot("h").unwrap().acked, vec![None, None, None]);
    }
}
