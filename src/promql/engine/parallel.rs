//! Splitting one query's heavy loops (reading and windowing many series) over worker
//! threads. Work is split into contiguous parts in series order; each worker gets a fork
//! of the query's limits and its own annotations, and everything is put back in order,
//! so results, annotations and the first error do not depend on the split.

use std::sync::OnceLock;

use super::super::value::Annotations;
use super::QueryError;
use super::eval::Limits;

/// Work (series × steps, at least 16 per series) below which one thread does it all.
const PARALLEL_MIN_WORK: usize = 16 * 1024;
/// Fewest series worth a thread of their own.
const MIN_SERIES_PER_THREAD: usize = 64;

/// How many threads a query may use: `KMON_PROMQL_THREADS`, else the machine's cores
/// (at most 8).
fn max_threads() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("KMON_PROMQL_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .clamp(1, 8)
    })
}

/// How many threads `n_series` series over `n_steps` steps deserve.
pub(super) fn threads_for(n_series: usize, n_steps: usize) -> usize {
    let work = n_series.saturating_mul(n_steps.max(16));
    if work < PARALLEL_MIN_WORK {
        return 1;
    }
    max_threads()
        .min(n_series.div_ceil(MIN_SERIES_PER_THREAD))
        .max(1)
}

/// Runs `work` on every part (the first on this thread, the others on scoped threads)
/// and returns the results in part order. Worker counters are joined into `limits` and
/// worker annotations appended to `annotations` in part order; the first error in part
/// order wins.
pub(super) fn run_parts<'q, P, R>(
    limits: &mut Limits<'q>,
    annotations: &mut Annotations,
    parts: Vec<P>,
    work: &(dyn Fn(P, &mut Limits<'q>, &mut Annotations) -> Result<R, QueryError> + Sync),
) -> Result<Vec<R>, QueryError>
where
    P: Send,
    R: Send,
{
    let mut workers: Vec<(Limits<'q>, Annotations)> = parts
        .iter()
        .map(|_| (limits.fork(), Annotations::default()))
        .collect();
    let results: Vec<Result<R, QueryError>> = std::thread::scope(|scope| {
        let mut it = parts.into_iter().zip(workers.iter_mut());
        let first = it.next();
        let handles: Vec<_> = it
            .map(|(p, (lim, ann))| scope.spawn(move || work(p, lim, ann)))
            .collect();
        let mut results = Vec::with_capacity(handles.len() + 1);
        if let Some((p, (lim, ann))) = first {
            results.push(work(p, lim, ann));
        }
        for h in handles {
            results.push(h.join().unwrap_or_else(|_| {
                Err(QueryError::Execution(
                    "unexpected error: a query worker thread panicked".into(),
                ))
            }));
        }
        results
    });
    let forks: Vec<Limits<'q>> = workers
        .into_iter()
        .map(|(lim, ann)| {
            annotations.extend(ann);
            lim
        })
        .collect();
    limits.join(&forks);
    results.into_iter().collect()
}
