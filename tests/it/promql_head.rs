//! The PromQL engine over the TSDB head gives the same answers as over `MemStorage` on
//! the same samples. The head's querier hands the engine its series lazily (not decoded,
//! some with no sample in the range) and the engine runs window functions series by
//! series; `MemStorage` returns decoded, non-empty series. The data has counter resets,
//! gaps longer than the lookback and the windows, stale markers, and more than one chunk
//! per series.

use kmon::model::{Labels, stale_nan};
use kmon::promql::{Cancel, Engine, EngineOptions, ParseOptions, parse_with};
use kmon::storage::{Appendable, MemStorage, Queryable};
use kmon::tsdb::{Head, HeadOptions};

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const STEP: i64 = 15_000;
const SAMPLES: i64 = 600;

/// Writes the same random series into every store.
fn fill(stores: &[&dyn Appendable]) {
    let mut rng = Rng(11);
    let mut apps: Vec<_> = stores.iter().map(|s| s.appender()).collect();
    for s in 0..24 {
        let name = ["req_total", "temp", "bytes_total"][s % 3];
        let labels = Labels::from_pairs(&[
            ("__name__", name),
            ("job", ["a", "b"][s % 2]),
            ("instance", &format!("i{s}")),
        ]);
        let mut v = 0.0;
        let mut i = rng.below(40) as i64;
        while i < SAMPLES {
            let t = i * STEP + rng.below(3_000) as i64;
            let value = match rng.below(60) {
                0 => stale_nan(),
                1 => {
                    v = rng.below(5) as f64; // a counter reset
                    v
                }
                _ => {
                    v += rng.below(100) as f64;
                    if name == "temp" { v % 37.0 } else { v }
                }
            };
            for a in &mut apps {
                a.append(None, &labels, t, value).unwrap();
            }
            // Mostly one step; sometimes a gap longer than the windows and the lookback.
            i += match rng.below(50) {
                0 => 40,
                1 => 8,
                _ => 1,
            };
        }
    }
    for a in apps {
        a.commit().unwrap();
    }
}

fn answer(store: &dyn Queryable, q: &str, range: Option<(i64, i64, i64)>, t: i64) -> String {
    let engine = Engine::new(EngineOptions::default());
    let opts = ParseOptions {
        experimental_functions: true,
        ..ParseOptions::default()
    };
    let expr = parse_with(q, &opts).unwrap_or_else(|e| panic!("{q}: {e:?}"));
    let res = match range {
        Some((start, end, step)) => engine.range(store, &expr, start, end, step, &Cancel::new()),
        None => engine.instant(store, &expr, t, &Cancel::new()),
    };
    match res {
        Ok(r) => format!("{:?}\n{:?}", r.value, r.annotations),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn the_engine_answers_the_same_over_the_head_and_over_mem_storage() {
    let head = Head::new(HeadOptions::default());
    let mem = MemStorage::new();
    fill(&[&head, &mem]);
    let queries = [
        "req_total",
        "temp offset 3m",
        "rate(req_total[1m])",
        "rate(temp[5m])",
        "increase(bytes_total[2m])",
        "delta(temp[3m])",
        "irate(req_total[1m])",
        "idelta(temp[1m])",
        "deriv(temp[4m])",
        "changes(temp[5m])",
        "resets(req_total[10m])",
        "sum_over_time(temp[2m])",
        "avg_over_time(temp[2m])",
        "min_over_time(temp[90s])",
        "max_over_time(temp[90s])",
        "count_over_time({job=\"a\"}[1m])",
        "last_over_time(temp[1m])",
        "present_over_time(req_total[30s])",
        "stddev_over_time(temp[5m])",
        "stdvar_over_time(temp[5m])",
        "mad_over_time(temp[5m])",
        "ts_of_max_over_time(temp[5m])",
        "quantile_over_time(0.9, temp[5m])",
        "predict_linear(temp[5m], 60)",
        "absent_over_time(nothing[1m])",
        "rate({__name__=~\".+_total\"}[1m])",
        "sum by (job) (rate({__name__=~\".+_total\"}[5m]))",
        "max_over_time(rate(req_total[1m])[10m:1m])",
        "rate(req_total[1m] @ 3000)",
        "count_over_time(temp[1m] offset 10m)",
    ];
    let end = SAMPLES * STEP;
    for q in queries {
        for t in [0, 200 * STEP + 7, end / 2, end - 1, end + 10 * 60_000] {
            assert_eq!(
                answer(&head, q, None, t),
                answer(&mem, q, None, t),
                "instant {q} at {t}"
            );
        }
        for (start, stop, step) in [(0, end, 60_000), (end / 3, end / 3 + 600_000, 7_000)] {
            assert_eq!(
                answer(&head, q, Some((start, stop, step)), 0),
                answer(&mem, q, Some((start, stop, step)), 0),
                "range {q} over {start}..{stop} step {step}"
            );
        }
    }
}
