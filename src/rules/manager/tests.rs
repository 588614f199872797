//! Tests of the rule manager on the in-memory storage with short intervals: groups run,
//! reloads keep state, failed files keep their groups, removed groups go stale, alerts
//! reach the notify hook. Every wait is a bounded poll.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::model::{Labels, is_stale_nan};
use crate::rules::types::{AlertState, RuleKind, RuleSpec};
use crate::storage::{Appendable, MemStorage};

fn rule(kind: RuleKind, expr: &str) -> RuleSpec {
    RuleSpec {
        kind,
        expr_text: expr.into(),
        expr: crate::promql::parse(expr).expect("test expression parses"),
        labels: Vec::new(),
        line: 0,
    }
}

fn rec(name: &str, expr: &str) -> RuleSpec {
    rule(
        RuleKind::Recording {
            record: name.into(),
        },
        expr,
    )
}

fn firing(name: &str, expr: &str) -> RuleSpec {
    rule(
        RuleKind::Alerting {
            alert: name.into(),
            for_ms: 0,
            keep_firing_for_ms: 0,
            annotations: Vec::new(),
        },
        expr,
    )
}

fn group(file: &str, name: &str, rules: Vec<RuleSpec>) -> GroupSpec {
    GroupSpec {
        file: file.into(),
        name: name.into(),
        interval: Some(50),
        query_offset: None,
        limit: 0,
        labels: Labels::empty(),
        rules,
        line: 0,
    }
}

fn setup(notify: Option<NotifyFn>) -> (Arc<MemStorage>, RuleManager) {
    let st = Arc::new(MemStorage::new());
    let mut app = st.appender();
    let now = now_ms();
    app.append(None, &Labels::from_pairs(&[("__name__", "up")]), now, 0.0)
        .expect("append");
    app.commit().expect("commit");
    let m = RuleManager::new(
        Arc::new(EvalOptions::default()),
        Arc::clone(&st) as Arc<dyn Storage>,
        notify,
    );
    (st, m)
}

/// Polls `f` every 20ms for at most 10s.
async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn evaluated(m: &RuleManager, name: &str) -> bool {
    m.status()
        .iter()
        .any(|g| g.name == name && g.last_evaluation > 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_run_and_publish_status() {
    let (st, m) = setup(None);
    m.update(vec![group("a.yml", "g", vec![rec("r", "up + 1")])])
        .await;
    assert!(eventually(|| evaluated(&m, "g")).await);
    let s = m.status();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].rules[0].health, RuleHealth::Ok);
    assert!(
        st.dump()
            .iter()
            .any(|(l, _)| l.get("__name__") == Some("r"))
    );
    let mut text = String::new();
    m.write_metrics(&mut text);
    assert!(text.contains("prometheus_rule_evaluations_total{rule_group=\"a.yml;g\"}"));
    m.stop().await;
    assert!(m.status().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_the_state_of_unchanged_and_changed_groups() {
    let (_st, m) = setup(None);
    let alert = firing("Up0", "up == 0");
    m.update(vec![group("a.yml", "g", vec![alert.clone()])])
        .await;
    let active_at = |m: &RuleManager| {
        m.status()
            .first()
            .and_then(|g| g.rules.first())
            .and_then(|r| r.alerts.first())
            .map(|a| a.active_at)
    };
    assert!(eventually(|| active_at(&m).is_some()).await);
    let first = active_at(&m);
    // The same group again: it keeps running as it is.
    m.update(vec![group("a.yml", "g", vec![alert.clone()])])
        .await;
    assert_eq!(active_at(&m), first);
    // A changed group (a rule added) takes the alert's state over.
    m.update(vec![group(
        "a.yml",
        "g",
        vec![alert.clone(), rec("r", "up")],
    )])
    .await;
    assert_eq!(active_at(&m), first);
    assert!(eventually(|| m.status()[0].rules[1].last_evaluation > 0).await);
    assert_eq!(active_at(&m), first);
    assert_eq!(m.status()[0].rules[0].alerts[0].state, AlertState::Firing);
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_file_keeps_its_groups_and_shows_the_error() {
    let (_st, m) = setup(None);
    m.update(vec![
        group("a.yml", "ga", vec![rec("ra", "up")]),
        group("b.yml", "gb", vec![rec("rb", "up")]),
    ])
    .await;
    m.update_files(vec![
        FileLoad {
            file: "a.yml".into(),
            groups: Vec::new(),
            errors: vec![(None, "a.yml:3:5: bad".into())],
        },
        FileLoad {
            file: "b.yml".into(),
            groups: vec![group("b.yml", "gb", vec![rec("rb", "up")])],
            errors: vec![(Some("gnew".into()), "b.yml:9:1: group \"gnew\": bad".into())],
        },
        FileLoad {
            file: "c.yml".into(),
            groups: Vec::new(),
            errors: vec![(None, "c.yml: no such file".into())],
        },
    ])
    .await;
    let s = m.status();
    assert_eq!(s.len(), 4);
    assert_eq!(s[0].name, "ga");
    assert_eq!(s[0].load_error.as_deref(), Some("a.yml:3:5: bad"));
    assert_eq!(s[0].rules.len(), 1);
    assert_eq!((s[1].name.as_str(), &s[1].load_error), ("gb", &None));
    assert_eq!(s[2].name, "gnew");
    assert!(s[2].rules.is_empty() && s[2].load_error.is_some());
    assert_eq!(s[3].file, "c.yml");
    assert_eq!(s[3].name, "");
    assert!(eventually(|| evaluated(&m, "ga")).await);
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_group_writes_stale_markers() {
    let (st, m) = setup(None);
    m.update(vec![group("a.yml", "g", vec![rec("gone", "up")])])
        .await;
    let has = |st: &MemStorage, stale: bool| {
        st.dump().iter().any(|(l, s)| {
            l.get("__name__") == Some("gone") && s.iter().any(|x| is_stale_nan(x.v) == stale)
        })
    };
    assert!(eventually(|| has(&st, false)).await);
    m.update(Vec::new()).await;
    assert!(m.status().is_empty());
    assert!(eventually(|| has(&st, true)).await);
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firing_alerts_reach_the_notify_hook() {
    let got: Arc<Mutex<Vec<Alert>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&got);
    let notify: NotifyFn = Arc::new(move |_expr: &str, alerts| sink.lock().extend(alerts));
    let (_st, m) = setup(Some(notify));
    m.update(vec![group("a.yml", "g", vec![firing("Up0", "up == 0")])])
        .await;
    assert!(eventually(|| !got.lock().is_empty()).await);
    let a = got.lock()[0].clone();
    assert_eq!(a.state, AlertState::Firing);
    assert_eq!(a.labels.get("alertname"), Some("Up0"));
    m.stop().await;
}
