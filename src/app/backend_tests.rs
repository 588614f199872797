//! Tests of the remote backend's readers: a remote source's rules and targets turned into
//! the rule groups and target rows the panes show.

use super::*;
use crate::remote::source::answer;

fn data(body: &str) -> serde_json::Value {
    answer::envelope(200, body.as_bytes()).unwrap().data
}

#[test]
fn remote_rules_become_groups_the_alerts_view_reads() {
    let g = answer::rule_groups(&data(
        r#"{"status":"success","data":{"groups":[{"name":"g","file":"/r.yml","interval":15,
        "rules":[{"name":"HighCpu","query":"cpu > 90","duration":300,"labels":{"severity":"page"},
        "annotations":{"summary":"hot"},"alerts":[{"labels":{"alertname":"HighCpu","severity":"page"},
        "annotations":{"summary":"hot"},"state":"firing","activeAt":"2023-11-14T22:13:20Z","value":"95"}],
        "health":"ok","type":"alerting"},
        {"name":"r","query":"some_vendor_function(x)","health":"ok","type":"recording"}]}]}}"#,
    ))
    .unwrap();
    let groups = remote_groups(&g);
    assert_eq!(groups[0].interval, 15_000);
    assert_eq!(groups[0].rules.len(), 2);
    let view =
        crate::app::alerts::AlertsView::build(&groups, &Default::default(), 1_700_000_100_000);
    assert_eq!(view.counts.firing, 1);
    assert_eq!(view.alerts[0].labels.get("severity"), Some("page"));
    // A query kmon cannot parse is still listed, by its text.
    assert_eq!(groups[0].rules[1].spec.expr_text, "some_vendor_function(x)");
}

#[test]
fn remote_targets_become_rows() {
    let t = answer::targets(&data(
        r#"{"status":"success","data":{"activeTargets":[{"discoveredLabels":{"__address__":"a:1"},
        "labels":{"job":"a"},"scrapePool":"a","scrapeUrl":"http://a:1/metrics","lastError":"",
        "lastScrape":"2023-11-14T22:13:20Z","lastScrapeDuration":0.5,"health":"down",
        "scrapeInterval":"30s"}],"droppedTargets":[{"discoveredLabels":{"__address__":"b:2","job":"b"}}]}}"#,
    ))
    .unwrap();
    let (active, dropped) = remote_target_rows(&t);
    assert_eq!(active[0].health, Health::Down);
    assert_eq!(active[0].interval_secs, 30.0);
    assert_eq!(active[0].url, "http://a:1/metrics");
    assert_eq!(
        (dropped[0].job.as_str(), dropped[0].url.as_str()),
        ("b", "b:2")
    );
}
