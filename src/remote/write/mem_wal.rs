//! An in-memory write-ahead log implementing `storage::WalSource`: the reference the
//! remote-write queue is tested against (unit tests, the interop test, benchmarks) while
//! the TSDB's own follower lives in `tsdb`. Records get positions in segment 0, ten bytes
//! apart; `truncate` forgets the oldest records so followers see a `Gap`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::model::Labels;
use crate::storage::{StorageError, WalEvent, WalFollower, WalPosition, WalSample, WalSource};

const STEP: u64 = 10;

#[derive(Debug, Default)]
struct Log {
    /// (start offset, event); a record ends where the next starts.
    records: Vec<(u64, WalEvent)>,
    /// Offsets below this are gone; their series are kept (as a checkpoint would).
    truncated_below: u64,
    kept_series: Vec<(u64, Labels)>,
}

/// An in-memory log. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct MemWal {
    log: Arc<(Mutex<Log>, Condvar)>,
}

fn pos(offset: u64) -> WalPosition {
    WalPosition { segment: 0, offset }
}

impl MemWal {
    pub fn new() -> MemWal {
        MemWal::default()
    }

    /// Logs one event; returns the position after it.
    pub fn append(&self, event: WalEvent) -> WalPosition {
        let (lock, cv) = &*self.log;
        let mut log = lock.lock();
        let start = log
            .truncated_below
            .max(log.records.last().map_or(0, |(o, _)| o + STEP));
        log.records.push((start, event));
        cv.notify_all();
        pos(start + STEP)
    }

    /// Logs series by id.
    pub fn series(&self, list: &[(u64, Labels)]) -> WalPosition {
        self.append(WalEvent::Series(list.to_vec()))
    }

    /// Logs samples `(series, t, v)`.
    pub fn samples(&self, list: &[(u64, i64, f64)]) -> WalPosition {
        self.append(WalEvent::Samples(
            list.iter()
                .map(|&(series, t, v)| WalSample { series, t, v })
                .collect(),
        ))
    }

    /// Forgets the records that start before `before`, keeping their series.
    pub fn truncate(&self, before: WalPosition) {
        let (lock, _) = &*self.log;
        let mut log = lock.lock();
        let cut = log
            .records
            .iter()
            .take_while(|(o, _)| *o < before.offset)
            .count();
        let gone: Vec<(u64, WalEvent)> = log.records.drain(..cut).collect();
        for (_, e) in gone {
            if let WalEvent::Series(s) = e {
                log.kept_series.extend(s);
            }
        }
        log.truncated_below = log.truncated_below.max(before.offset);
    }

    /// The position after the last record.
    pub fn end(&self) -> WalPosition {
        let (lock, _) = &*self.log;
        let log = lock.lock();
        pos(log
            .records
            .last()
            .map_or(log.truncated_below, |(o, _)| o + STEP))
    }
}

impl WalSource for MemWal {
    fn follow(&self, from: Option<WalPosition>) -> Result<Box<dyn WalFollower>, StorageError> {
        let (lock, _) = &*self.log;
        let log = lock.lock();
        let end = log
            .records
            .last()
            .map_or(log.truncated_below, |(o, _)| o + STEP);
        let from = from.map_or(end, |p| p.offset);
        let mut series = log.kept_series.clone();
        for (o, e) in &log.records {
            if let (true, WalEvent::Series(s)) = (*o < from, e) {
                series.extend(s.iter().cloned());
            }
        }
        let mut first = Vec::new();
        if !series.is_empty() {
            first.push((pos(from), WalEvent::Series(series)));
        }
        if from < log.truncated_below {
            first.push((
                pos(log.truncated_below),
                WalEvent::Gap {
                    from: pos(from),
                    to: pos(log.truncated_below),
                },
            ));
        }
        Ok(Box::new(MemFollower {
            wal: self.clone(),
            first,
            next: from.max(log.truncated_below),
        }))
    }
}

struct MemFollower {
    wal: MemWal,
    /// Events reported before the log's records.
    first: Vec<(WalPosition, WalEvent)>,
    /// The offset of the next record to report.
    next: u64,
}

impl WalFollower for MemFollower {
    fn next(&mut self, wait: Duration) -> Result<Option<(WalPosition, WalEvent)>, StorageError> {
        if !self.first.is_empty() {
            return Ok(Some(self.first.remove(0)));
        }
        let deadline = Instant::now() + wait;
        let (lock, cv) = &*self.wal.log;
        let mut log = lock.lock();
        loop {
            if self.next < log.truncated_below {
                let gap = WalEvent::Gap {
                    from: pos(self.next),
                    to: pos(log.truncated_below),
                };
                self.next = log.truncated_below;
                return Ok(Some((pos(self.next), gap)));
            }
            if let Some((o, e)) = log.records.iter().find(|(o, _)| *o >= self.next) {
                self.next = o + STEP;
                return Ok(Some((pos(self.next), e.clone())));
            }
            if cv.wait_until(&mut log, deadline).timed_out() {
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followers_see_series_before_the_start_then_records() {
        let wal = MemWal::new();
        let a = Labels::from_pairs(&[("__name__", "a")]);
        wal.series(&[(1, a.clone())]);
        let after_first = wal.samples(&[(1, 10, 1.0)]);
        wal.samples(&[(1, 20, 2.0)]);
        let mut f = wal.follow(Some(after_first)).unwrap();
        let w = Duration::from_millis(1);
        assert_eq!(
            f.next(w).unwrap(),
            Some((after_first, WalEvent::Series(vec![(1, a.clone())])))
        );
        let (_, e) = f.next(w).unwrap().unwrap();
        assert!(matches!(e, WalEvent::Samples(ref s) if s[0].t == 20));
        assert_eq!(f.next(w).unwrap(), None);
        // From the end: only what comes later.
        let mut tail = wal.follow(None).unwrap();
        assert!(matches!(
            tail.next(w).unwrap(),
            Some((_, WalEvent::Series(_)))
        ));
        assert_eq!(tail.next(w).unwrap(), None);
        wal.samples(&[(1, 30, 3.0)]);
        assert!(matches!(
            tail.next(w).unwrap(),
            Some((_, WalEvent::Samples(_)))
        ));
        // Truncation: a follower behind it sees a gap.
        wal.truncate(wal.end());
        let mut old = wal.follow(Some(after_first)).unwrap();
        assert!(matches!(
            old.next(w).unwrap(),
            Some((_, WalEvent::Series(_)))
        ));
        assert!(matches!(
            old.next(w).unwrap(),
            Some((_, WalEvent::Gap { .. }))
        ));
    }
}
