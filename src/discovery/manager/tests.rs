//! Manager tests with scripted discoverers: merging by job and source, deletion, coalescing
//! of bursts, jobs without targets, and shutdown. Every wait is bounded.

use super::*;
use crate::discovery::{BoxFuture, StaticSd};
use crate::model::Labels;

const WAIT: Duration = Duration::from_secs(5);
const DEBOUNCE: Duration = Duration::from_millis(50);

/// Sends each step after its delay, then waits for cancellation.
struct Scripted {
    steps: Vec<(Duration, Vec<TargetGroup>)>,
}

impl Discoverer for Scripted {
    fn run(
        self: Box<Self>,
        tx: mpsc::Sender<Vec<TargetGroup>>,
        cancel: CancellationToken,
    ) -> BoxFuture {
        Box::pin(async move {
            for (delay, groups) in self.steps {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
                if tx.send(groups).await.is_err() {
                    return;
                }
            }
            cancel.cancelled().await;
        })
    }
}

fn group(source: &str, addrs: &[&str]) -> TargetGroup {
    TargetGroup::from_addresses(source, addrs.iter().copied(), Labels::empty())
}

/// A job and the (source, addresses) of each of its groups.
type JobSummary = (String, Vec<(String, Vec<String>)>);

/// Job → (source, addresses) of each group.
fn summary(t: &DiscoveredTargets) -> Vec<JobSummary> {
    t.iter()
        .map(|(job, groups)| {
            let gs = groups
                .iter()
                .map(|g| {
                    let addrs = g
                        .targets
                        .iter()
                        .map(|l| l.get("__address__").unwrap_or("").to_string())
                        .collect();
                    (g.source.clone(), addrs)
                })
                .collect();
            (job.clone(), gs)
        })
        .collect()
}

fn job(name: &str, groups: &[(&str, &[&str])]) -> JobSummary {
    (
        name.to_string(),
        groups
            .iter()
            .map(|(s, a)| (s.to_string(), a.iter().map(|x| x.to_string()).collect()))
            .collect(),
    )
}

/// Waits until the published state satisfies `pred`, or panics after `WAIT`.
async fn wait_for(
    rx: &mut watch::Receiver<Arc<DiscoveredTargets>>,
    pred: impl Fn(&DiscoveredTargets) -> bool,
) -> Arc<DiscoveredTargets> {
    let got = tokio::time::timeout(WAIT, rx.wait_for(|t| pred(t)))
        .await
        .expect("state reached within the timeout")
        .expect("manager running");
    Arc::clone(&got)
}

async fn stop(cancel: CancellationToken, handle: JoinHandle<()>) {
    cancel.cancel();
    tokio::time::timeout(WAIT, handle)
        .await
        .expect("manager stops after cancel")
        .expect("no panic");
}

#[tokio::test]
async fn merges_static_and_dynamic_groups_per_job() {
    let mut m = Manager::new(DEBOUNCE);
    m.add(
        "node",
        Box::new(StaticSd::from_lists([(
            vec!["a:9100".to_string()],
            Labels::empty(),
        )])),
    );
    m.add(
        "node",
        Box::new(Scripted {
            steps: vec![(Duration::ZERO, vec![group("f.json:0", &["b:9100"])])],
        }),
    );
    m.add_job("idle");
    let cancel = CancellationToken::new();
    let (mut rx, handle) = m.start(cancel.clone());
    let got = wait_for(&mut rx, |t| t.get("node").is_some_and(|g| g.len() == 2)).await;
    assert_eq!(
        summary(&got),
        [
            job("idle", &[]),
            job(
                "node",
                &[("static/0", &["a:9100"]), ("f.json:0", &["b:9100"])]
            ),
        ]
    );
    stop(cancel, handle).await;
}

#[tokio::test]
async fn groups_replace_by_source_and_empty_groups_delete() {
    let step = Duration::from_millis(150);
    let mut m = Manager::new(DEBOUNCE);
    m.add(
        "j",
        Box::new(Scripted {
            steps: vec![
                (
                    Duration::ZERO,
                    vec![group("s:0", &["a:1"]), group("s:1", &["b:1"])],
                ),
                (step, vec![group("s:0", &["c:1", "d:1"])]),
                (step, vec![group("s:1", &[])]),
            ],
        }),
    );
    let cancel = CancellationToken::new();
    let (mut rx, handle) = m.start(cancel.clone());
    let got = wait_for(&mut rx, |t| t.get("j").is_some_and(|g| g.len() == 2)).await;
    assert_eq!(
        summary(&got),
        [job("j", &[("s:0", &["a:1"]), ("s:1", &["b:1"])])]
    );
    let got = wait_for(&mut rx, |t| {
        t.get("j")
            .is_some_and(|g| g.iter().any(|g| g.targets.len() == 2))
    })
    .await;
    assert_eq!(
        summary(&got),
        [job("j", &[("s:0", &["c:1", "d:1"]), ("s:1", &["b:1"])])]
    );
    let got = wait_for(&mut rx, |t| t.get("j").is_some_and(|g| g.len() == 1)).await;
    assert_eq!(summary(&got), [job("j", &[("s:0", &["c:1", "d:1"])])]);
    stop(cancel, handle).await;
}

#[tokio::test]
async fn same_sources_from_two_discoverers_do_not_collide() {
    let mut m = Manager::new(DEBOUNCE);
    for addr in ["a:1", "b:1"] {
        m.add(
            "j",
            Box::new(Scripted {
                steps: vec![(Duration::ZERO, vec![group("x:0", &[addr])])],
            }),
        );
    }
    let cancel = CancellationToken::new();
    let (mut rx, handle) = m.start(cancel.clone());
    let got = wait_for(&mut rx, |t| t.get("j").is_some_and(|g| g.len() == 2)).await;
    assert_eq!(
        summary(&got),
        [job("j", &[("x:0", &["a:1"]), ("x:0", &["b:1"])])]
    );
    stop(cancel, handle).await;
}

#[tokio::test]
async fn bursts_coalesce_into_few_publications() {
    let debounce = Duration::from_millis(500);
    let burst: Vec<(Duration, Vec<TargetGroup>)> = (0..100)
        .map(|i| {
            let addr = format!("host{i}:1");
            (Duration::ZERO, vec![group("s:0", &[addr.as_str()])])
        })
        .collect();
    let mut m = Manager::new(debounce);
    m.add("j", Box::new(Scripted { steps: burst }));
    let cancel = CancellationToken::new();
    let (mut rx, handle) = m.start(cancel.clone());
    let mut publications = 0;
    let last = loop {
        tokio::time::timeout(WAIT, rx.changed())
            .await
            .expect("a publication within the timeout")
            .expect("manager running");
        publications += 1;
        let now = Arc::clone(&rx.borrow_and_update());
        if summary(&now) == [job("j", &[("s:0", &["host99:1"])])] {
            break now;
        }
    };
    assert!(
        publications <= 3,
        "100 updates in a burst gave {publications} publications"
    );
    assert_eq!(last["j"].len(), 1);
    stop(cancel, handle).await;
}

#[tokio::test]
async fn first_publication_lists_jobs_even_without_targets() {
    let mut m = Manager::new(DEBOUNCE);
    m.add_job("a").add_job("b");
    m.add("c", Box::new(Scripted { steps: vec![] }));
    let cancel = CancellationToken::new();
    let (mut rx, handle) = m.start(cancel.clone());
    let got = wait_for(&mut rx, |t| !t.is_empty()).await;
    assert_eq!(summary(&got), [job("a", &[]), job("b", &[]), job("c", &[])]);
    stop(cancel, handle).await;
}

#[tokio::test]
async fn stops_promptly_with_a_blocked_discoverer() {
    // Nobody reads the watch channel and a discoverer floods the manager.
    let flood: Vec<(Duration, Vec<TargetGroup>)> = (0..10_000)
        .map(|i| (Duration::ZERO, vec![group(&format!("s:{i}"), &["a:1"])]))
        .collect();
    let mut m = Manager::new(Duration::from_secs(3600));
    m.add("j", Box::new(Scripted { steps: flood }));
    let cancel = CancellationToken::new();
    let (_rx, handle) = m.start(cancel.clone());
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop(cancel, handle).await;
}
