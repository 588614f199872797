//! Behaviour tests of the head as a whole: the append rules, rollback, ref hints, the
//! commit log seam, gc, concurrency, and equivalence with `MemStorage` on random workloads.

use std::sync::Arc;

use parking_lot::Mutex;

use super::*;
use crate::model::{Labels, MatchOp, Matcher, STALE_NAN_BITS, Sample, stale_nan};
use crate::storage::{
    Appendable, MemStorage, Queryable, SampleIterator, SelectHints, Storage, StorageError,
    VecSampleIter,
};

const ALL: SelectHints = SelectHints {
    start: i64::MIN,
    end: i64::MAX,
    lazy: false,
};

fn head() -> Head {
    Head::new(HeadOptions::default())
}

fn up(job: &str) -> Labels {
    Labels::from_pairs(&[("__name__", "up"), ("job", job)])
}

fn dump(s: &dyn Storage, matchers: &[Matcher]) -> Vec<(Labels, Vec<(i64, u64)>)> {
    let q = s.querier(i64::MIN, i64::MAX).unwrap();
    q.select(matchers, &ALL)
        .unwrap()
        .into_iter()
        .map(|s| (s.labels, s.samples.map(|x| (x.t, x.v.to_bits())).collect()))
        .collect()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn works_as_a_storage_trait_object() {
    let s: Arc<dyn Storage> = Arc::new(head());
    let mut a = s.appender();
    let r = a.append(None, &up("a"), 1000, 1.0).unwrap();
    a.append(Some(r), &up("a"), 2000, 2.0).unwrap();
    a.commit().unwrap();
    assert_eq!(
        dump(&*s, &[Matcher::equal("job", "a")]),
        vec![(
            up("a"),
            vec![(1000, 1f64.to_bits()), (2000, 2f64.to_bits())]
        )]
    );
}

#[test]
fn out_of_order_duplicates_and_missing_names_are_rejected_per_sample() {
    let h = head();
    let mut a = h.appender();
    a.append(None, &up("a"), 2000, 1.0).unwrap();
    // Within the batch.
    let e = a.append(None, &up("a"), 1000, 1.0).unwrap_err();
    assert!(
        matches!(
            e,
            StorageError::OutOfOrder {
                t: 1000,
                last: 2000,
                ..
            }
        ),
        "{e}"
    );
    let e = a.append(None, &up("a"), 2000, 5.0).unwrap_err();
    assert!(
        matches!(e, StorageError::DuplicateSample { t: 2000, .. }),
        "{e}"
    );
    // Same bits, or a staleness marker, at the same timestamp: silently ignored.
    a.append(None, &up("a"), 2000, 1.0).unwrap();
    a.append(None, &up("a"), 2000, stale_nan()).unwrap();
    let e = a
        .append(None, &Labels::from_pairs(&[("job", "x")]), 1, 1.0)
        .unwrap_err();
    assert!(matches!(e, StorageError::NoMetricName(_)) && e.is_sample_error());
    a.commit().unwrap();
    // Against committed data.
    let mut a = h.appender();
    assert!(matches!(
        a.append(None, &up("a"), 1999, 1.0),
        Err(StorageError::OutOfOrder { .. })
    ));
    assert!(matches!(
        a.append(None, &up("a"), 2000, 3.0),
        Err(StorageError::DuplicateSample { .. })
    ));
    a.append(None, &up("a"), 3000, stale_nan()).unwrap();
    a.commit().unwrap();
    let got = dump(&h, &[]);
    assert_eq!(
        got[0].1,
        vec![(2000, 1f64.to_bits()), (3000, STALE_NAN_BITS)]
    );
    assert_eq!(h.stats().dropped_at_commit, 0);
}

#[test]
fn dropping_an_appender_rolls_back_samples_and_new_series() {
    let h = head();
    let mut a = h.appender();
    a.append(None, &up("a"), 1000, 1.0).unwrap();
    a.commit().unwrap();
    let mut a = h.appender();
    a.append(None, &up("a"), 2000, 2.0).unwrap();
    let r = a.append(None, &up("new"), 2000, 2.0).unwrap();
    drop(a);
    assert_eq!(dump(&h, &[])[0].1.len(), 1);
    assert_eq!(
        h.num_series(),
        1,
        "series of a rolled-back batch are never created"
    );
    let q = h.querier(i64::MIN, i64::MAX).unwrap();
    assert_eq!(q.label_values("job", &[]).unwrap(), vec!["a"]);
    // The abandoned ref is never reused for other labels.
    let mut a = h.appender();
    let r2 = a.append(Some(r), &up("other"), 3000, 1.0).unwrap();
    assert!(r2 > r);
    a.commit().unwrap();
}

#[test]
fn ref_hints_are_used_when_valid_and_ignored_otherwise() {
    let h = head();
    let (la, lb) = (up("a"), up("b"));
    let mut a = h.appender();
    let ra = a.append(None, &la, 1000, 1.0).unwrap();
    let rb = a.append(None, &lb, 1000, 1.0).unwrap();
    assert_ne!(ra, rb);
    // A pending series' ref works inside its batch.
    assert_eq!(a.append(Some(ra), &la, 2000, 2.0).unwrap(), ra);
    a.commit().unwrap();
    let mut a = h.appender();
    assert_eq!(a.append(Some(ra), &la, 3000, 3.0).unwrap(), ra);
    // An equal but separately built label set still matches the hint.
    assert_eq!(a.append(Some(rb), &up("b"), 3000, 3.0).unwrap(), rb);
    // A hint naming other labels, or no series at all, is ignored.
    assert_eq!(a.append(Some(rb), &la, 4000, 4.0).unwrap(), ra);
    assert_eq!(a.append(Some(987_654), &lb, 4000, 4.0).unwrap(), rb);
    a.commit().unwrap();
    let got = dump(&h, &[]);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1.len(), 4);
    assert_eq!(got[1].1.len(), 3);
}

#[derive(Default)]
struct RecordingLog {
    batches: Mutex<Vec<(Vec<SeriesRecord>, Vec<SampleRecord>)>>,
    fail: bool,
}

impl CommitLog for RecordingLog {
    fn log(&self, batch: &CommitBatch<'_>) -> Result<(), StorageError> {
        if self.fail {
            return Err(StorageError::Io(std::io::Error::other("disk full")));
        }
        self.batches
            .lock()
            .push((batch.series.to_vec(), batch.samples.to_vec()));
        Ok(())
    }
}

#[test]
fn commit_hands_the_batch_to_the_log_before_applying_it() {
    let log = Arc::new(RecordingLog::default());
    let h = Head::new(HeadOptions {
        commit_log: Some(log.clone()),
        ..HeadOptions::default()
    });
    let mut a = h.appender();
    let r = a.append(None, &up("a"), 1000, 1.0).unwrap();
    a.append(Some(r), &up("a"), 2000, 2.0).unwrap();
    a.commit().unwrap();
    let mut a = h.appender();
    a.append(Some(r), &up("a"), 3000, 3.0).unwrap();
    a.commit().unwrap();
    h.appender().commit().unwrap(); // empty batches are not logged
    let b = log.batches.lock();
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].0, vec![SeriesRecord { r, labels: up("a") }]);
    assert_eq!(
        b[0].1,
        vec![
            SampleRecord { r, t: 1000, v: 1.0 },
            SampleRecord { r, t: 2000, v: 2.0 }
        ]
    );
    assert!(b[1].0.is_empty());
    assert_eq!(b[1].1, vec![SampleRecord { r, t: 3000, v: 3.0 }]);

    let failing = Head::new(HeadOptions {
        commit_log: Some(Arc::new(RecordingLog {
            fail: true,
            ..RecordingLog::default()
        })),
        ..HeadOptions::default()
    });
    let mut a = failing.appender();
    a.append(None, &up("a"), 1000, 1.0).unwrap();
    assert!(matches!(a.commit(), Err(StorageError::Io(_))));
    assert_eq!(failing.num_series(), 0);
    assert!(dump(&failing, &[]).is_empty());
}

#[test]
fn select_clamps_to_the_range_omits_empty_series_and_seeks_across_chunks() {
    let h = head();
    let mut a = h.appender();
    for i in 0..1000i64 {
        a.append(None, &up("a"), i * 10, i as f64).unwrap();
    }
    a.append(None, &up("b"), 5, 1.0).unwrap();
    a.append(None, &up("b"), 9995, 1.0).unwrap();
    a.commit().unwrap();
    let q = h.querier(1000, 5000).unwrap();
    let hints = SelectHints {
        start: 0,
        end: 4000,
        lazy: false,
    };
    // `b` has chunks around the range but no sample inside it.
    let mut res = q.select(&[], &hints).unwrap();
    assert_eq!(res.len(), 1);
    let s = &mut res[0].samples;
    assert_eq!(s.next(), Some(Sample::new(1000, 100.0)));
    assert_eq!(s.seek(2345), Some(Sample::new(2350, 235.0)));
    assert_eq!(
        s.seek(100),
        Some(Sample::new(2360, 236.0)),
        "never backwards"
    );
    assert_eq!(s.seek(3995), Some(Sample::new(4000, 400.0)));
    assert_eq!(s.next(), None);
    // Lazily, `b` is returned without being decoded, and yields nothing.
    let lazy = SelectHints {
        lazy: true,
        ..hints
    };
    let mut res = q.select(&[], &lazy).unwrap();
    assert_eq!(res.len(), 2);
    assert_eq!(res[0].samples.next(), Some(Sample::new(1000, 100.0)));
    assert_eq!(res[1].labels, up("b"));
    assert_eq!(res[1].samples.next(), None);

    // Random seeks agree with the reference iterator over the same samples.
    let mut rng = Rng(5);
    for _ in 0..200 {
        let (lo, hi) = (rng.below(10_000) as i64, rng.below(10_000) as i64);
        let q = h.querier(lo, hi).unwrap();
        let res = q.select(&[Matcher::equal("job", "a")], &ALL).unwrap();
        let want: Vec<Sample> = (0..1000i64)
            .map(|i| Sample::new(i * 10, i as f64))
            .filter(|s| s.t >= lo && s.t <= hi)
            .collect();
        if want.is_empty() {
            assert!(res.is_empty());
            continue;
        }
        let mut got = res.into_iter().next().unwrap().samples;
        let mut reference = VecSampleIter::new(want);
        for _ in 0..20 {
            if rng.below(3) == 0 {
                assert_eq!(got.next(), reference.next());
            } else {
                let t = rng.below(10_500) as i64 - 200;
                assert_eq!(got.seek(t), reference.seek(t), "seek {t}");
            }
        }
    }
}

#[test]
fn gc_drops_old_chunks_and_empty_series_and_keeps_the_index_consistent() {
    let h = head();
    let mut a = h.appender();
    for i in 0..360i64 {
        a.append(None, &up("old"), i * 1000, 1.0).unwrap();
        a.append(None, &up("live"), i * 1000 + 1_000_000, 1.0)
            .unwrap();
    }
    a.commit().unwrap();
    assert_eq!(h.stats().chunks, 6);
    let g = h.gc(240_000);
    assert_eq!(
        g,
        GcStats {
            chunks_removed: 2,
            series_removed: 0
        }
    );
    let g = h.gc(1_000_000);
    assert_eq!(g.series_removed, 1);
    assert_eq!(g.chunks_removed, 1);
    let q = h.querier(i64::MIN, i64::MAX).unwrap();
    assert_eq!(q.label_values("job", &[]).unwrap(), vec!["live"]);
    assert!(
        q.select(&[Matcher::equal("job", "old")], &ALL)
            .unwrap()
            .is_empty()
    );
    let st = h.stats();
    assert_eq!((st.series, st.samples, st.chunks), (1, 360, 3));
    // The dropped series comes back as a new one.
    let mut a = h.appender();
    a.append(None, &up("old"), 5, 5.0).unwrap();
    a.commit().unwrap();
    assert_eq!(h.num_series(), 2);
    assert_eq!(
        dump(&h, &[Matcher::equal("job", "old")])[0].1,
        vec![(5, 5f64.to_bits())]
    );
}

#[test]
fn concurrent_appenders_and_queriers() {
    let h = Arc::new(head());
    let threads = 4;
    let per_thread_series = 50;
    let scrapes = 150;
    std::thread::scope(|sc| {
        for th in 0..threads {
            let h = h.clone();
            sc.spawn(move || {
                let labels: Vec<Labels> = (0..per_thread_series)
                    .map(|i| {
                        Labels::from_pairs(&[
                            ("__name__", "m"),
                            ("thread", &th.to_string()),
                            ("i", &i.to_string()),
                        ])
                    })
                    .collect();
                // Every thread also writes one shared series; only one commit per
                // timestamp can win.
                let shared = up("shared");
                let mut refs = vec![None; per_thread_series];
                for k in 0..scrapes {
                    let mut a = h.appender();
                    for (i, l) in labels.iter().enumerate() {
                        refs[i] = Some(a.append(refs[i], l, k * 1000, k as f64).unwrap());
                    }
                    let _ = a.append(None, &shared, k * 1000, th as f64);
                    a.commit().unwrap();
                }
            });
        }
        for _ in 0..2 {
            let h = h.clone();
            sc.spawn(move || {
                for _ in 0..100 {
                    let q = h.querier(i64::MIN, i64::MAX).unwrap();
                    let res = q.select(&[Matcher::equal("__name__", "m")], &ALL).unwrap();
                    for s in res {
                        let ts: Vec<i64> = s.samples.map(|x| x.t).collect();
                        assert!(ts.windows(2).all(|w| w[0] < w[1]));
                    }
                }
            });
        }
    });
    let st = h.stats();
    assert_eq!(st.series, threads * per_thread_series + 1);
    // Commits raced on the shared series: it holds at most one sample per timestamp, in
    // order, and the losers were rejected at append or dropped at commit.
    let shared = dump(&*h, &[Matcher::equal("job", "shared")]);
    let n_shared = shared[0].1.len();
    assert!(n_shared >= 1 && n_shared <= scrapes as usize);
    assert!(shared[0].1.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(
        st.samples,
        (threads * per_thread_series * scrapes as usize + n_shared) as u64
    );
    for (_, samples) in dump(&*h, &[Matcher::equal("__name__", "m")]) {
        assert_eq!(samples.len(), scrapes as usize);
    }
}

fn random_matcher(rng: &mut Rng) -> Matcher {
    let name = ["__name__", "job", "instance", "mode", "cpu", "nope"][rng.below(6) as usize];
    let value = match rng.below(9) {
        0 => String::new(),
        1 => format!("v{}", rng.below(4)),
        2 => format!("v{}|v{}", rng.below(4), rng.below(4)),
        3 => "v[0-1]".to_string(),
        4 => ".+".to_string(),
        5 => ".*".to_string(),
        6 => format!("v{}|", rng.below(4)),
        7 => format!("m{}", rng.below(3)),
        _ => "m.*".to_string(),
    };
    let op = [
        MatchOp::Equal,
        MatchOp::NotEqual,
        MatchOp::Regex,
        MatchOp::NotRegex,
    ][rng.below(4) as usize];
    Matcher::new(op, name, &value).expect("valid test regex")
}

#[test]
fn select_and_label_queries_match_mem_storage_on_a_random_workload() {
    let h = Head::new(HeadOptions {
        chunk_range_ms: 50_000,
        ..HeadOptions::default()
    });
    let m = MemStorage::new();
    let mut rng = Rng(77);
    let mut universe = Vec::new();
    for _ in 0..120 {
        let mut pairs = vec![("__name__".to_string(), format!("m{}", rng.below(3)))];
        for name in ["job", "instance", "mode", "cpu"] {
            if rng.below(4) > 0 {
                pairs.push((name.to_string(), format!("v{}", rng.below(4))));
            }
        }
        universe.push(Labels::from_pairs(&pairs));
    }
    universe.sort();
    universe.dedup();
    let mut last = vec![0i64; universe.len()];
    let (mut rejected, mut non_empty) = (0, 0);
    for _batch in 0..60 {
        // MemStorage has no time bound: compare with the head's history appender.
        let mut ah = h.history_appender();
        let mut am = m.appender();
        for _ in 0..200 {
            let i = rng.below(universe.len() as u64) as usize;
            let t = match rng.below(6) {
                0 => last[i] - 500,
                1 => last[i],
                _ => last[i] + 1000 + rng.below(7) as i64 - 3,
            };
            let v = match rng.below(6) {
                0 => stale_nan(),
                1 => f64::NAN,
                2 => -0.0,
                _ => (rng.below(1000) as f64) / 8.0,
            };
            let rh = ah.append(None, &universe[i], t, v);
            let rm = am.append(None, &universe[i], t, v);
            assert_eq!(rh.is_ok(), rm.is_ok(), "{rh:?} vs {rm:?}");
            rejected += usize::from(rh.is_err());
            if rh.is_ok() {
                last[i] = last[i].max(t);
            }
        }
        if rng.below(5) == 0 {
            // Both roll back.
            drop(ah);
            drop(am);
        } else {
            ah.commit().unwrap();
            am.commit().unwrap();
        }
    }
    assert_eq!(
        h.stats().samples as usize,
        m.dump().iter().map(|x| x.1.len()).sum::<usize>()
    );
    assert!(
        rejected > 100,
        "the workload exercises rejections ({rejected})"
    );
    let max_t = *last.iter().max().unwrap();
    for _ in 0..400 {
        let ms: Vec<Matcher> = (0..rng.below(4))
            .map(|_| random_matcher(&mut rng))
            .collect();
        let (mint, maxt) = if rng.below(3) == 0 {
            (i64::MIN, i64::MAX)
        } else {
            let a = rng.below(max_t as u64 + 1) as i64;
            (a, a + rng.below(max_t as u64 / 2 + 1) as i64)
        };
        let hints = SelectHints {
            start: mint + rng.below(2000) as i64,
            end: maxt - rng.below(2000) as i64,
            lazy: false,
        };
        let qh = h.querier(mint, maxt).unwrap();
        let qm = m.querier(mint, maxt).unwrap();
        let flat = |v: Vec<crate::storage::Series>| -> Vec<(Labels, Vec<(i64, u64)>)> {
            v.into_iter()
                .map(|s| (s.labels, s.samples.map(|x| (x.t, x.v.to_bits())).collect()))
                .collect()
        };
        let got = flat(qh.select(&ms, &hints).unwrap());
        non_empty += usize::from(!got.is_empty());
        assert_eq!(
            got,
            flat(qm.select(&ms, &hints).unwrap()),
            "select {ms:?} [{mint}, {maxt}]"
        );
        assert_eq!(qh.label_names(&ms).unwrap(), qm.label_names(&ms).unwrap());
        for name in ["job", "mode", "__name__", "nope"] {
            assert_eq!(
                qh.label_values(name, &ms).unwrap(),
                qm.label_values(name, &ms).unwrap(),
                "label_values {name} {ms:?}"
            );
        }
    }
    assert!(non_empty > 150, "most selects find something ({non_empty})");
}

#[test]
fn a_chunk_holds_120_samples_and_the_121st_starts_another() {
    let h = head();
    let mut a = h.appender();
    let mut r = None;
    for i in 0..120i64 {
        r = Some(a.append(r, &up("a"), i * 2000, i as f64).unwrap());
    }
    a.commit().unwrap();
    assert_eq!(h.stats().chunks, 1);
    let mut a = h.appender();
    a.append(r, &up("a"), 120 * 2000, 0.0).unwrap();
    a.commit().unwrap();
    let st = h.stats();
    assert_eq!((st.chunks, st.samples), (2, 121));
    assert_eq!(dump(&h, &[])[0].1.len(), 121);
}

#[test]
fn stats_count_what_was_stored() {
    let h = Head::new(HeadOptions {
        compact_chunks: false,
        ..HeadOptions::default()
    });
    let mut a = h.appender();
    for i in 0..250i64 {
        a.append(None, &up("a"), i * 2000, (i % 3) as f64).unwrap();
    }
    a.commit().unwrap();
    let st = h.stats();
    assert_eq!((st.series, st.samples, st.chunks), (1, 250, 3));
    assert!(st.chunk_bytes > 0 && st.memory_bytes > st.chunk_bytes);
}

#[test]
fn samples_before_the_min_valid_time_are_out_of_bounds_as_in_prometheus() {
    let h = head();
    let mut app = h.appender();
    app.append(None, &up("a"), 100, 1.0).unwrap();
    app.commit().unwrap();
    h.raise_min_valid_time(50);
    // Lowering is not possible.
    h.raise_min_valid_time(10);
    assert_eq!(h.min_valid_time(), 50);

    let mut app = h.appender();
    // Older than the min valid time: out of bounds, even for a new series and even when
    // it is also out of order (Prometheus checks the bound first).
    for (labels, t) in [(up("new"), 49), (up("a"), 20)] {
        let e = app.append(None, &labels, t, 1.0).unwrap_err();
        assert!(
            matches!(e, StorageError::OutOfBounds { t: et, min: 50, .. } if et == t),
            "{e}"
        );
        assert!(e.is_sample_error());
    }
    // At or after the bound but before the series' last sample: out of order.
    let e = app.append(None, &up("a"), 50, 1.0).unwrap_err();
    assert!(
        matches!(e, StorageError::OutOfOrder { last: 100, .. }),
        "{e}"
    );
    // Same time, other value: duplicate.
    let e = app.append(None, &up("a"), 100, 2.0).unwrap_err();
    assert!(matches!(e, StorageError::DuplicateSample { .. }), "{e}");
    // Exactly at the bound is fine for a new series.
    app.append(None, &up("new"), 50, 1.0).unwrap();
    app.append(None, &up("a"), 101, 1.0).unwrap();
    app.commit().unwrap();

    let c = h.counters();
    assert_eq!(
        (
            c.out_of_bounds(),
            c.out_of_order(),
            c.duplicates(),
            c.appended()
        ),
        (2, 1, 1, 3)
    );
    // No series was created for the refused sample of the new series.
    assert_eq!(h.num_series(), 2);
}

#[test]
fn a_commit_after_the_bound_was_raised_drops_what_is_now_out_of_bounds() {
    // A sample passed the appender's check, then a cut raised the bound before the
    // commit: it must not enter the window the cut is reading.
    let h = head();
    let mut app = h.appender();
    app.append(None, &up("a"), 10, 1.0).unwrap();
    app.append(None, &up("b"), 30, 1.0).unwrap();
    h.raise_min_valid_time(20);
    app.commit().unwrap();
    assert_eq!(h.counters().out_of_bounds(), 1);
    assert_eq!(h.counters().appended(), 1);
    assert_eq!(h.stats().dropped_at_commit, 1);
    let all = [Matcher::new(MatchOp::Equal, "__name__", "up").unwrap()];
    let got = dump(&h, &all);
    let samples: Vec<(i64, u64)> = got.into_iter().flat_map(|(_, s)| s).collect();
    assert_eq!(samples, vec![(30, 1.0f64.to_bits())]);
}

#[test]
fn a_live_appender_refuses_samples_half_a_range_behind_the_newest() {
    // Prometheus's head bound: max(min valid time, newest sample − chunk range / 2).
    let h = Head::new(HeadOptions::default());
    let hour = 3_600_000;
    let a = Labels::from_pairs(&[("__name__", "a")]);
    let b = Labels::from_pairs(&[("__name__", "b")]);
    assert_eq!(h.max_time(), None);
    let mut app = h.appender();
    app.append(None, &a, 0, 1.0).expect("empty head: no bound");
    app.append(None, &a, 2 * hour, 2.0).expect("in order");
    app.commit().expect("commit");
    assert_eq!(h.max_time(), Some(2 * hour));
    let mut app = h.appender();
    let e = app.append(None, &b, hour - 1, 1.0).unwrap_err();
    assert!(
        matches!(e, StorageError::OutOfBounds { min, .. } if min == hour),
        "{e}"
    );
    app.append(None, &b, hour, 1.0).expect("at the bound");
    app.commit().expect("commit");
    // Loading history (series after series over the whole range) is not bounded so.
    let mut app = h.history_appender();
    app.append(None, &b, 2 * hour, 1.0).expect("in order");
    let c = Labels::from_pairs(&[("__name__", "c")]);
    app.append(None, &c, 0, 1.0).expect("history");
    app.commit().expect("commit");
    assert_eq!(h.counters().out_of_bounds(), 1);
}
