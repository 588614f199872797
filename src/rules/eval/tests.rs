//! Tests of rule evaluation on the in-memory storage: the alert state machine step by step,
//! recording rules, stale markers, limits, the for-state restore, reload state and sending.

use std::sync::Arc;

use super::*;
use crate::model::{Labels, Sample, is_stale_nan};
use crate::storage::{Appendable, MemStorage};

const S: i64 = 1000;
const M: i64 = 60 * S;

fn rec(name: &str, expr: &str, labels: &[(&str, &str)]) -> RuleSpec {
    RuleSpec {
        kind: RuleKind::Recording {
            record: name.into(),
        },
        expr_text: expr.into(),
        expr: crate::promql::parse(expr).expect("test expression parses"),
        labels: labels
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        line: 0,
    }
}

fn alert(name: &str, expr: &str, for_ms: i64, keep: i64, labels: &[(&str, &str)]) -> RuleSpec {
    RuleSpec {
        kind: RuleKind::Alerting {
            alert: name.into(),
            for_ms,
            keep_firing_for_ms: keep,
            annotations: vec![("summary".into(), "it is {{ $value }}".into())],
        },
        expr_text: expr.into(),
        expr: crate::promql::parse(expr).expect("test expression parses"),
        labels: labels
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        line: 0,
    }
}

fn spec(rules: Vec<RuleSpec>) -> GroupSpec {
    GroupSpec {
        file: "rules.yml".into(),
        name: "g".into(),
        interval: Some(10 * S),
        query_offset: None,
        limit: 0,
        labels: Labels::empty(),
        rules,
        line: 0,
    }
}

fn group(rules: Vec<RuleSpec>) -> Group {
    let mut g = Group::new(spec(rules), Arc::new(EvalOptions::default()));
    g.mark_restored();
    g
}

fn put(st: &MemStorage, series: &[(&str, &str)], t: i64, v: f64) {
    let mut app = st.appender();
    app.append(None, &Labels::from_pairs(series), t, v)
        .expect("test sample appends");
    app.commit().expect("test batch commits");
}

fn samples_of(st: &MemStorage, pairs: &[(&str, &str)]) -> Vec<Sample> {
    let want = Labels::from_pairs(pairs);
    st.dump()
        .into_iter()
        .find(|(l, _)| *l == want)
        .map(|(_, s)| s)
        .unwrap_or_default()
}

fn alerts(g: &Group, rule: usize) -> Vec<Alert> {
    g.status().rules[rule].alerts.clone()
}

#[test]
fn eval_timestamp_is_an_aligned_slot_at_or_before_now() {
    let g = group(vec![]);
    let now = 1_700_000_123_456;
    let slot = g.eval_timestamp(now);
    assert!(slot <= now && now - slot < g.interval());
    // The slot is a nanosecond instant truncated to ms: one ms later is surely past it.
    assert_eq!(g.eval_timestamp(slot + 1), slot);
    assert_eq!(g.eval_timestamp(slot + g.interval() - 1), slot);
    assert_eq!(
        g.eval_timestamp(slot + g.interval() + 1),
        slot + g.interval()
    );
    // Another group name gives another offset (almost surely).
    let mut other = spec(vec![]);
    other.name = "h".into();
    let h = Group::new(other, Arc::new(EvalOptions::default()));
    assert_ne!(h.eval_timestamp(now) % g.interval(), slot % g.interval());
}

#[test]
fn group_hash_is_xxhash64_of_the_stringlabels_encoding() {
    let g = group(vec![]);
    let bytes = b"\x04file\x09rules.yml\x04name\x01g";
    assert_eq!(g.hash(), xxhash_rust::xxh64::xxh64(bytes, 0));
    let mut long = spec(vec![]);
    long.file = "f".repeat(300);
    let g = Group::new(long, Arc::new(EvalOptions::default()));
    let mut want = b"\x04file\xff\x2c\x01\x00".to_vec();
    want.extend(std::iter::repeat_n(b'f', 300));
    want.extend_from_slice(b"\x04name\x01g");
    assert_eq!(g.hash(), xxhash_rust::xxh64::xxh64(&want, 0));
}

#[test]
fn recording_rule_sets_name_and_labels_and_marks_vanished_series_stale() {
    let st = MemStorage::new();
    put(&st, &[("__name__", "up"), ("job", "a")], 0, 1.0);
    put(&st, &[("__name__", "up"), ("job", "b")], 0, 0.0);
    let mut g = group(vec![rec("job:up", "up * 2", &[("team", "x")])]);
    g.eval(&st, &st, 10 * S);
    let s = samples_of(&st, &[("__name__", "job:up"), ("job", "a"), ("team", "x")]);
    assert_eq!(s, vec![Sample::new(10 * S, 2.0)]);
    let st_status = g.status();
    assert_eq!(st_status.rules[0].health, RuleHealth::Ok);
    assert!(st_status.rules[0].last_evaluation > 0);
    // job b vanishes: its recorded series gets a stale marker at the next evaluation.
    put(
        &st,
        &[("__name__", "up"), ("job", "b")],
        15 * S,
        crate::model::stale_nan(),
    );
    g.eval(&st, &st, 20 * S);
    let b = samples_of(&st, &[("__name__", "job:up"), ("job", "b"), ("team", "x")]);
    assert_eq!(b.len(), 2);
    assert!(is_stale_nan(b[1].v) && b[1].t == 20 * S);
}

#[test]
fn recording_rule_of_a_scalar_and_query_offset() {
    let st = MemStorage::new();
    let mut s = spec(vec![rec("answer", "42", &[])]);
    s.query_offset = Some(2 * S);
    let mut g = Group::new(s, Arc::new(EvalOptions::default()));
    g.eval(&st, &st, 10 * S);
    assert_eq!(
        samples_of(&st, &[("__name__", "answer")]),
        vec![Sample::new(8 * S, 42.0)]
    );
}

#[test]
fn recording_rule_errors_duplicate_labelsets_and_limit() {
    let st = MemStorage::new();
    put(&st, &[("__name__", "up"), ("job", "a")], 0, 1.0);
    put(&st, &[("__name__", "up"), ("job", "b")], 0, 1.0);
    let mut g = group(vec![rec("x", "up", &[("job", "same")])]);
    g.eval(&st, &st, 10 * S);
    let r = &g.status().rules[0];
    assert_eq!(r.health, RuleHealth::Err);
    assert_eq!(
        r.last_error.as_deref(),
        Some("vector contains metrics with the same labelset after applying rule labels")
    );
    let mut s = spec(vec![rec("y", "up", &[])]);
    s.limit = 1;
    let mut g = Group::new(s, Arc::new(EvalOptions::default()));
    g.eval(&st, &st, 10 * S);
    let r = &g.status().rules[0];
    assert_eq!(
        r.last_error.as_deref(),
        Some("exceeded limit of 1 with 2 series")
    );
    assert!(samples_of(&st, &[("__name__", "y"), ("job", "a")]).is_empty());
}

#[test]
fn a_failing_query_records_the_error_and_writes_nothing() {
    let st = MemStorage::new();
    let mut g = group(vec![rec("x", "\"a string\"", &[])]);
    g.eval(&st, &st, 10 * S);
    let r = &g.status().rules[0];
    assert_eq!(r.health, RuleHealth::Err);
    assert_eq!(
        r.last_error.as_deref(),
        Some("rule result is not a vector or scalar")
    );
}

#[test]
fn later_rules_see_earlier_results_of_the_same_evaluation() {
    let st = MemStorage::new();
    put(&st, &[("__name__", "up"), ("job", "a")], 0, 3.0);
    let mut g = group(vec![
        rec("step1", "up + 1", &[]),
        rec("step2", "step1 * 10", &[]),
    ]);
    g.eval(&st, &st, 10 * S);
    assert_eq!(
        samples_of(&st, &[("__name__", "step2"), ("job", "a")]),
        vec![Sample::new(10 * S, 40.0)]
    );
}

#[test]
fn alert_goes_pending_then_firing_then_resolves_and_is_dropped_after_15m() {
    let st = MemStorage::new();
    let mut g = group(vec![alert(
        "Down",
        "up == 0",
        20 * S,
        0,
        &[("sev", "page")],
    )]);
    put(&st, &[("__name__", "up"), ("job", "a")], 0, 0.0);
    g.eval(&st, &st, 10 * S);
    let a = alerts(&g, 0);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].state, AlertState::Pending);
    assert_eq!(a[0].active_at, 10 * S);
    assert_eq!(
        a[0].labels,
        Labels::from_pairs(&[("alertname", "Down"), ("job", "a"), ("sev", "page")])
    );
    assert_eq!(
        a[0].annotations,
        Labels::from_pairs(&[("summary", "it is 0")])
    );
    let pending = [
        ("__name__", "ALERTS"),
        ("alertname", "Down"),
        ("alertstate", "pending"),
        ("job", "a"),
        ("sev", "page"),
    ];
    assert_eq!(samples_of(&st, &pending), vec![Sample::new(10 * S, 1.0)]);
    let for_state = [
        ("__name__", "ALERTS_FOR_STATE"),
        ("alertname", "Down"),
        ("job", "a"),
        ("sev", "page"),
    ];
    assert_eq!(samples_of(&st, &for_state), vec![Sample::new(10 * S, 10.0)]);

    put(&st, &[("__name__", "up"), ("job", "a")], 20 * S, 0.0);
    g.eval(&st, &st, 20 * S);
    assert_eq!(alerts(&g, 0)[0].state, AlertState::Pending);
    g.eval(&st, &st, 30 * S);
    let a = alerts(&g, 0);
    assert_eq!(a[0].state, AlertState::Firing);
    assert_eq!(a[0].fired_at, Some(30 * S));
    // The pending series goes stale when the alert fires.
    let p = samples_of(&st, &pending);
    assert!(is_stale_nan(p.last().map(|s| s.v).unwrap_or(0.0)));
    let firing: Vec<_> = pending
        .iter()
        .map(|&(n, v)| {
            if n == "alertstate" {
                (n, "firing")
            } else {
                (n, v)
            }
        })
        .collect();
    assert_eq!(samples_of(&st, &firing), vec![Sample::new(30 * S, 1.0)]);

    // Resolved: kept as inactive with resolved_at, the ALERTS series goes stale.
    put(&st, &[("__name__", "up"), ("job", "a")], 35 * S, 1.0);
    g.eval(&st, &st, 40 * S);
    let a = alerts(&g, 0);
    assert_eq!(a[0].state, AlertState::Inactive);
    assert_eq!(a[0].resolved_at, Some(40 * S));
    assert!(is_stale_nan(samples_of(&st, &firing)[1].v));
    // Kept for 15 minutes, then dropped.
    put(
        &st,
        &[("__name__", "up"), ("job", "a")],
        15 * M + 40 * S,
        1.0,
    );
    g.eval(&st, &st, 15 * M + 40 * S);
    assert_eq!(alerts(&g, 0).len(), 1);
    g.eval(&st, &st, 15 * M + 50 * S);
    assert!(alerts(&g, 0).is_empty());
}

#[test]
fn a_pending_alert_that_vanishes_is_dropped_at_once() {
    let st = MemStorage::new();
    let mut g = group(vec![alert("Down", "up == 0", M, 0, &[])]);
    put(&st, &[("__name__", "up")], 0, 0.0);
    g.eval(&st, &st, 10 * S);
    assert_eq!(alerts(&g, 0).len(), 1);
    put(&st, &[("__name__", "up")], 15 * S, 1.0);
    g.eval(&st, &st, 20 * S);
    assert!(alerts(&g, 0).is_empty());
}

#[test]
fn keep_firing_for_holds_a_firing_alert_then_resolves_it() {
    let st = MemStorage::new();
    let mut g = group(vec![alert("Down", "up == 0", 0, 20 * S, &[])]);
    put(&st, &[("__name__", "up")], 0, 0.0);
    g.eval(&st, &st, 10 * S);
    assert_eq!(alerts(&g, 0)[0].state, AlertState::Firing);
    put(&st, &[("__name__", "up")], 15 * S, 1.0);
    g.eval(&st, &st, 20 * S);
    let a = alerts(&g, 0);
    assert_eq!(a[0].state, AlertState::Firing);
    assert_eq!(a[0].keep_firing_since, Some(20 * S));
    g.eval(&st, &st, 30 * S);
    assert_eq!(alerts(&g, 0)[0].state, AlertState::Firing);
    g.eval(&st, &st, 40 * S);
    let a = alerts(&g, 0);
    assert_eq!(a[0].state, AlertState::Inactive);
    assert_eq!(a[0].resolved_at, Some(40 * S));
    // Coming back while kept firing clears keep_firing_since.
    let mut g = group(vec![alert("Down", "up == 0", 0, 60 * S, &[])]);
    put(&st, &[("__name__", "up")], 45 * S, 0.0);
    g.eval(&st, &st, 50 * S);
    put(&st, &[("__name__", "up")], 55 * S, 1.0);
    g.eval(&st, &st, 60 * S);
    assert_eq!(alerts(&g, 0)[0].keep_firing_since, Some(60 * S));
    put(&st, &[("__name__", "up")], 65 * S, 0.0);
    g.eval(&st, &st, 70 * S);
    let a = alerts(&g, 0);
    assert_eq!(a[0].keep_firing_since, None);
    assert_eq!(a[0].active_at, 50 * S);
}

#[test]
fn alerts_are_not_written_before_restore() {
    let st = MemStorage::new();
    let mut g = Group::new(
        spec(vec![alert("Down", "up == 0", 0, 0, &[])]),
        Arc::new(EvalOptions::default()),
    );
    put(&st, &[("__name__", "up")], 0, 0.0);
    g.eval(&st, &st, 10 * S);
    assert_eq!(alerts(&g, 0)[0].state, AlertState::Firing);
    assert!(
        samples_of(
            &st,
            &[
                ("__name__", "ALERTS"),
                ("alertname", "Down"),
                ("alertstate", "firing")
            ]
        )
        .is_empty()
    );
    g.restore_for_state(&st, 11 * S);
    g.eval(&st, &st, 20 * S);
    assert_eq!(
        samples_of(
            &st,
            &[
                ("__name__", "ALERTS"),
                ("alertname", "Down"),
                ("alertstate", "firing")
            ]
        ),
        vec![Sample::new(20 * S, 1.0)]
    );
}

#[test]
fn alert_limit_and_duplicate_labelsets_are_errors() {
    let st = MemStorage::new();
    put(&st, &[("__name__", "up"), ("job", "a")], 0, 0.0);
    put(&st, &[("__name__", "up"), ("job", "b")], 0, 0.0);
    let mut s = spec(vec![alert("Down", "up == 0", 0, 0, &[])]);
    s.limit = 1;
    let mut g = Group::new(s, Arc::new(EvalOptions::default()));
    g.mark_restored();
    g.eval(&st, &st, 10 * S);
    let r = &g.status().rules[0];
    assert_eq!(r.health, RuleHealth::Err);
    assert_eq!(
        r.last_error.as_deref(),
        Some("exceeded limit of 1 with 2 alerts")
    );
    assert!(r.alerts.is_empty());
    assert!(
        samples_of(
            &st,
            &[
                ("__name__", "ALERTS"),
                ("alertname", "Down"),
                ("alertstate", "firing"),
                ("job", "a")
            ]
        )
        .is_empty()
    );
    let mut g = group(vec![alert("Down", "up == 0", 0, 0, &[("job", "x")])]);
    g.eval(&st, &st, 10 * S);
    assert_eq!(
        g.status().rules[0].last_error.as_deref(),
        Some("vector contains metrics with the same labelset after applying alert labels")
    );
}

#[test]
fn group_labels_apply_and_rule_labels_win() {
    let st = MemStorage::new();
    put(&st, &[("__name__", "up")], 0, 0.0);
    let mut s = spec(vec![
        alert("Down", "up == 0", 0, 0, &[("team", "rule")]),
        rec("r", "up", &[]),
    ]);
    s.labels = Labels::from_pairs(&[("team", "group"), ("env", "prod")]);
    let mut g = Group::new(s, Arc::new(EvalOptions::default()));
    g.mark_restored();
    g.eval(&st, &st, 10 * S);
    assert_eq!(
        alerts(&g, 0)[0].labels,
        Labels::from_pairs(&[("alertname", "Down"), ("env", "prod"), ("team", "rule")])
    );
    assert_eq!(
        samples_of(
            &st,
            &[("__name__", "r"), ("env", "prod"), ("team", "group")]
        )
        .len(),
        1
    );
}

#[test]
fn restore_moves_active_at_by_the_downtime() {
    let st = MemStorage::new();
    // The alert went pending at 1000s and kmon went down at 1300s (last for-state sample);
    // it restarts at 2000s with a `for` of 30m.
    let fs = [("__name__", "ALERTS_FOR_STATE"), ("alertname", "Down")];
    put(&st, &fs, 1300 * S, 1000.0);
    put(&st, &[("__name__", "up")], 1990 * S, 0.0);
    let mut g = Group::new(
        spec(vec![alert("Down", "up == 0", 30 * M, 0, &[])]),
        Arc::new(EvalOptions::default()),
    );
    g.eval(&st, &st, 2000 * S);
    g.restore_for_state(&st, 2000 * S);
    // 300s spent pending before the outage, 700s down: active_at = 1000 + 700.
    assert_eq!(alerts(&g, 0)[0].active_at, 1700 * S);

    // Little time left: moved so the alert waits the grace period (10m).
    let st = MemStorage::new();
    put(&st, &fs, 2500 * S, 1000.0);
    put(&st, &[("__name__", "up")], 2990 * S, 0.0);
    let mut g = Group::new(
        spec(vec![alert("Down", "up == 0", 30 * M, 0, &[])]),
        Arc::new(EvalOptions::default()),
    );
    g.eval(&st, &st, 3000 * S);
    g.restore_for_state(&st, 3000 * S);
    assert_eq!(alerts(&g, 0)[0].active_at, 3000 * S + 10 * M - 30 * M);

    // Firing when it went down: active_at is the recorded one.
    let st = MemStorage::new();
    put(&st, &fs, 3000 * S, 100.0);
    put(&st, &[("__name__", "up")], 3090 * S, 0.0);
    let mut g = Group::new(
        spec(vec![alert("Down", "up == 0", 30 * M, 0, &[])]),
        Arc::new(EvalOptions::default()),
    );
    g.eval(&st, &st, 3100 * S);
    g.restore_for_state(&st, 3100 * S);
    assert_eq!(alerts(&g, 0)[0].active_at, 100 * S);
    g.eval(&st, &st, 3110 * S);
    assert_eq!(alerts(&g, 0)[0].state, AlertState::Firing);
}

#[test]
fn restore_skips_short_for_stale_markers_and_old_samples() {
    let fs = [("__name__", "ALERTS_FOR_STATE"), ("alertname", "Down")];
    // `for` below the grace period: nothing restored.
    let st = MemStorage::new();
    put(&st, &fs, 1300 * S, 1000.0);
    put(&st, &[("__name__", "up")], 1990 * S, 0.0);
    let mut g = Group::new(
        spec(vec![alert("Down", "up == 0", 5 * M, 0, &[])]),
        Arc::new(EvalOptions::default()),
    );
    g.eval(&st, &st, 2000 * S);
    g.restore_for_state(&st, 2000 * S);
    assert_eq!(alerts(&g, 0)[0].active_at, 2000 * S);
    // A stale marker last: the alert was not active.
    let st = MemStorage::new();
    put(&st, &fs, 1300 * S, 1000.0);
    put(&st, &fs, 1310 * S, crate::model::stale_nan());
    put(&st, &[("__name__", "up")], 1990 * S, 0.0);
    let mut g = Group::new(
        spec(vec![alert("Down", "up == 0", 30 * M, 0, &[])]),
        Arc::new(EvalOptions::default()),
    );
    g.eval(&st, &st, 2000 * S);
    g.restore_for_state(&st, 2000 * S);
    assert_eq!(alerts(&g, 0)[0].active_at, 2000 * S);
    // Older than the outage tolerance (1h): not restored.
    let st = MemStorage::new();
    put(&st, &fs, 1300 * S, 1000.0);
    put(&st, &[("__name__", "up")], 9990 * S, 0.0);
    let mut g = Group::new(
        spec(vec![alert("Down", "up == 0", 30 * M, 0, &[])]),
        Arc::new(EvalOptions::default()),
    );
    g.eval(&st, &st, 10000 * S);
    g.restore_for_state(&st, 10000 * S);
    assert_eq!(alerts(&g, 0)[0].active_at, 10000 * S);
}

#[test]
fn copy_state_keeps_alerts_of_the_same_rules_and_stales_removed_ones() {
    let st = MemStorage::new();
    put(&st, &[("__name__", "up")], 0, 0.0);
    let mut old = group(vec![
        alert("Down", "up == 0", M, 0, &[]),
        rec("gone", "up", &[]),
    ]);
    old.eval(&st, &st, 10 * S);
    let mut new = group(vec![alert("Down", "up == 0", M, 0, &[])]);
    new.copy_state_from(&old);
    assert_eq!(alerts(&new, 0)[0].active_at, 10 * S);
    new.eval(&st, &st, 20 * S);
    assert_eq!(alerts(&new, 0)[0].active_at, 10 * S);
    let gone = samples_of(&st, &[("__name__", "gone")]);
    assert_eq!(gone.len(), 2);
    assert!(is_stale_nan(gone[1].v));
    // A rule with other labels is another rule: no state taken.
    let mut other = group(vec![alert("Down", "up == 0", M, 0, &[("x", "y")])]);
    other.copy_state_from(&old);
    assert!(alerts(&other, 0).is_empty());
}

#[test]
fn mark_all_stale_writes_markers_for_every_series() {
    let st = MemStorage::new();
    put(&st, &[("__name__", "up")], 0, 1.0);
    let mut g = group(vec![rec("r", "up", &[])]);
    g.eval(&st, &st, 10 * S);
    g.mark_all_stale(&st, 30 * S);
    let r = samples_of(&st, &[("__name__", "r")]);
    assert_eq!(r.len(), 2);
    assert!(is_stale_nan(r[1].v) && r[1].t == 30 * S);
}

#[test]
fn alerts_to_send_follows_resend_delay_and_resolution() {
    let st = MemStorage::new();
    let mut g = group(vec![alert("Down", "up == 0", 10 * S, 0, &[])]);
    put(&st, &[("__name__", "up")], 0, 0.0);
    g.eval(&st, &st, 10 * S);
    assert!(g.alerts_to_send(10 * S).is_empty(), "pending is not sent");
    put(&st, &[("__name__", "up")], 20 * S, 0.0);
    g.eval(&st, &st, 20 * S);
    let sent = g.alerts_to_send(20 * S);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].state, AlertState::Firing);
    assert_eq!(sent[0].valid_until, Some(20 * S + 4 * M));
    g.eval(&st, &st, 30 * S);
    assert!(
        g.alerts_to_send(30 * S).is_empty(),
        "within the resend delay"
    );
    put(&st, &[("__name__", "up")], 80 * S, 0.0);
    g.eval(&st, &st, 81 * S);
    assert_eq!(g.alerts_to_send(81 * S).len(), 1, "resent after 1m");
    put(&st, &[("__name__", "up")], 85 * S, 1.0);
    g.eval(&st, &st, 90 * S);
    let sent = g.alerts_to_send(90 * S);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].state, AlertState::Inactive);
    assert_eq!(sent[0].resolved_at, Some(90 * S));
    g.eval(&st, &st, 100 * S);
    assert!(
        g.alerts_to_send(100 * S).is_empty(),
        "resolved is sent once"
    );
}

#[test]
fn same_as_compares_what_evaluation_depends_on() {
    let g = group(vec![rec("r", "up", &[])]);
    assert!(g.same_as(&spec(vec![rec("r", "up", &[])])));
    assert!(!g.same_as(&spec(vec![rec("r", "up + 1", &[])])));
    assert!(!g.same_as(&spec(vec![rec("r", "up", &[("a", "b")])])));
    let mut s = spec(vec![rec("r", "up", &[])]);
    s.limit = 3;
    assert!(!g.same_as(&s));
}

#[test]
fn templates_render_labels_annotations_and_queries_at_the_eval_time() {
    let st = MemStorage::new();
    put(&st, &[("__name__", "up"), ("job", "api")], 0, 0.0);
    put(&st, &[("__name__", "limit")], 0, 7.0);
    let mut r = alert(
        "Down",
        "up == 0",
        0,
        0,
        &[("who", "{{ $labels.job }}-team")],
    );
    if let RuleKind::Alerting { annotations, .. } = &mut r.kind {
        *annotations = vec![
            ("bad".into(), "{{ nosuchfunc }}".into()),
            (
                "limit".into(),
                "{{ query \"limit\" | first | value }}".into(),
            ),
            ("summary".into(), "{{ $labels.job }} is {{ $value }}".into()),
        ];
    }
    let mut g = group(vec![r]);
    g.eval(&st, &st, 10 * S);
    let a = &alerts(&g, 0)[0];
    assert_eq!(a.labels.get("who"), Some("api-team"));
    assert_eq!(a.annotations.get("summary"), Some("api is 0"));
    assert_eq!(a.annotations.get("limit"), Some("7"));
    let bad = a.annotations.get("bad").unwrap_or("");
    assert!(bad.starts_with("<error expanding template: "), "{bad}");
    assert_eq!(g.status().rules[0].health, RuleHealth::Ok);
}
