//! Benchmarks of rule evaluation, the work kmon's rule manager does every group interval:
//! one evaluation of the built-in host group over 100 machines' node_exporter series, and
//! of the built-in cluster group over 2000 pods' kube-state series (6h at 15s in a TSDB
//! head, every alert pending or firing so templates are rendered), plus rendering one
//! alert's annotation template alone. The appender discards what the rules write, so every
//! iteration does the same work.
//!
//! Run: `cargo bench --bench rules`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use kmon::app::rules::builtin_groups;
use kmon::model::Labels;
use kmon::rules::eval::{EvalOptions, Group};
use kmon::rules::template::{NoQuery, TemplateData, expand_for_alert};
use kmon::storage::{Appendable, Appender, SeriesRef, StorageError};
use kmon::tsdb::{Head, HeadOptions};

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const INTERVAL: i64 = 15_000;
const SAMPLES: i64 = 6 * 3600 * 1000 / INTERVAL;
const HOSTS: usize = 100;
const PODS: usize = 2000;

/// Takes every sample and keeps none.
struct Discard;

struct DiscardAppender;

impl Appender for DiscardAppender {
    fn append(
        &mut self,
        r: Option<SeriesRef>,
        _labels: &Labels,
        _t: i64,
        _v: f64,
    ) -> Result<SeriesRef, StorageError> {
        Ok(r.unwrap_or(1))
    }

    fn commit(self: Box<Self>) -> Result<(), StorageError> {
        Ok(())
    }
}

impl Appendable for Discard {
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(DiscardAppender)
    }
}

/// Series by labels with a value for each step `k`.
type Gen = (Labels, Box<dyn Fn(i64) -> f64>);

fn host_series() -> Vec<Gen> {
    let mut out: Vec<Gen> = Vec::new();
    for h in 0..HOSTS {
        let inst = format!("host-{h}:9100");
        let l = |name: &str, extra: &[(&str, &str)]| {
            let mut pairs = vec![
                ("__name__", name),
                ("instance", inst.as_str()),
                ("job", "node"),
            ];
            pairs.extend_from_slice(extra);
            Labels::from_pairs(&pairs)
        };
        // Half the machines busy (idle 5%), half calm.
        let idle = if h % 2 == 0 { 0.05 } else { 0.8 };
        for cpu in ["0", "1", "2", "3", "4", "5", "6", "7"] {
            out.push((
                l("node_cpu_seconds_total", &[("cpu", cpu), ("mode", "idle")]),
                Box::new(move |k| k as f64 * 15.0 * idle),
            ));
        }
        out.push((l("node_memory_MemTotal_bytes", &[]), Box::new(|_| 16e9)));
        out.push((
            l("node_memory_MemAvailable_bytes", &[]),
            Box::new(move |_| if h % 3 == 0 { 1e9 } else { 8e9 }),
        ));
        for (dev, mp) in [
            ("/dev/sda1", "/"),
            ("/dev/sdb1", "/data"),
            ("/dev/sdc1", "/var"),
        ] {
            let fs = [("device", dev), ("fstype", "ext4"), ("mountpoint", mp)];
            out.push((l("node_filesystem_size_bytes", &fs), Box::new(|_| 1e12)));
            out.push((
                l("node_filesystem_avail_bytes", &fs),
                Box::new(move |k| 3e11 - k as f64 * 1e8 * (h % 4) as f64),
            ));
            out.push((l("node_filesystem_readonly", &fs), Box::new(|_| 0.0)));
        }
        out.push((l("node_load15", &[]), Box::new(move |_| (h % 12) as f64)));
        out.push((
            l("node_timex_offset_seconds", &[]),
            Box::new(move |k| if h % 10 == 0 { k as f64 * 0.001 } else { 0.0 }),
        ));
        out.push((l("node_timex_sync_status", &[]), Box::new(|_| 1.0)));
        out.push((l("node_timex_maxerror_seconds", &[]), Box::new(|_| 0.1)));
    }
    out
}

fn cluster_series() -> Vec<Gen> {
    let mut out: Vec<Gen> = Vec::new();
    let ksm = |name: &str, pairs: &[(&str, &str)]| {
        let mut all = vec![("__name__", name), ("job", "kmon-kube-state")];
        all.extend_from_slice(pairs);
        Labels::from_pairs(&all)
    };
    for p in 0..PODS {
        let pod = format!("app-{p:05}");
        let ns = ["shop", "apps", "batch", "kube-system"][p % 4];
        let id = [("namespace", ns), ("pod", pod.as_str())];
        let c = [
            ("namespace", ns),
            ("pod", pod.as_str()),
            ("container", "app"),
        ];
        let crashing = p % 25 == 0;
        out.push((
            ksm("kube_pod_container_status_restarts_total", &c),
            Box::new(move |k| if crashing { (k / 20) as f64 } else { 0.0 }),
        ));
        let mut waiting = c.to_vec();
        waiting.push(("reason", "CrashLoopBackOff"));
        out.push((
            ksm("kube_pod_container_status_waiting_reason", &waiting),
            Box::new(move |_| if crashing { 1.0 } else { 0.0 }),
        ));
        let mut last = c.to_vec();
        last.push((
            "reason",
            if p % 50 == 0 {
                "OOMKilled"
            } else {
                "Completed"
            },
        ));
        out.push((
            ksm("kube_pod_container_status_last_terminated_reason", &last),
            Box::new(|_| 1.0),
        ));
        for phase in ["Pending", "Running", "Succeeded", "Failed", "Unknown"] {
            let mut l = id.to_vec();
            l.push(("phase", phase));
            let on = match phase {
                "Pending" => p % 40 == 1,
                "Running" => p % 40 != 1,
                _ => false,
            };
            out.push((
                ksm("kube_pod_status_phase", &l),
                Box::new(move |_| f64::from(u8::from(on))),
            ));
        }
        for cond in ["true", "false"] {
            let mut l = id.to_vec();
            l.push(("condition", cond));
            let ready = !crashing;
            let v = if (cond == "true") == ready { 1.0 } else { 0.0 };
            out.push((ksm("kube_pod_status_ready", &l), Box::new(move |_| v)));
        }
        out.push((
            Labels::from_pairs(&[
                ("__name__", "up"),
                ("job", "kubernetes-pods"),
                ("instance", &format!("10.0.{}.{}:8080", p / 250, p % 250)),
            ]),
            Box::new(move |_| if p % 100 == 7 { 0.0 } else { 1.0 }),
        ));
    }
    for n in 0..PODS / 25 {
        let node = format!("node-{n}");
        for cond in ["Ready", "MemoryPressure", "DiskPressure"] {
            let bad = n % 20 == 3;
            let v = match (cond, bad) {
                ("Ready", b) => f64::from(u8::from(!b)),
                (_, b) => f64::from(u8::from(b)),
            };
            out.push((
                ksm(
                    "kube_node_status_condition",
                    &[
                        ("node", node.as_str()),
                        ("condition", cond),
                        ("status", "true"),
                    ],
                ),
                Box::new(move |_| v),
            ));
        }
    }
    for d in 0..PODS / 10 {
        let dep = format!("dep-{d}");
        out.push((
            ksm(
                "kube_deployment_status_replicas_unavailable",
                &[("namespace", "apps"), ("deployment", dep.as_str())],
            ),
            Box::new(move |_| if d % 15 == 0 { 2.0 } else { 0.0 }),
        ));
    }
    out
}

fn head_of(series: &[Gen]) -> Head {
    let head = Head::new(HeadOptions::default());
    let mut refs: Vec<Option<SeriesRef>> = vec![None; series.len()];
    for k in 0..SAMPLES {
        let mut app = head.history_appender();
        for (i, (l, f)) in series.iter().enumerate() {
            refs[i] = Some(
                app.append(refs[i], l, START + k * INTERVAL, f(k))
                    .expect("append"),
            );
        }
        app.commit().expect("commit");
    }
    head
}

fn bench_rules(c: &mut Criterion) {
    let groups = builtin_groups();
    let end = START + (SAMPLES - 1) * INTERVAL;
    let opts = Arc::new(EvalOptions::default());
    let mut g = c.benchmark_group("rules");
    g.sample_size(10);
    for (name, spec, series) in [
        ("builtin_host_group/100_hosts", &groups[0], host_series()),
        (
            "builtin_cluster_group/2000_pods",
            &groups[1],
            cluster_series(),
        ),
    ] {
        let head = head_of(&series);
        let mut group = Group::new(spec.clone(), Arc::clone(&opts));
        group.mark_restored();
        // Warm up the alert states: the next evaluations render every active alert.
        group.eval(&head, &Discard, end - INTERVAL);
        let active: usize = group.status().rules.iter().map(|r| r.alerts.len()).sum();
        eprintln!("{name}: {} series, {active} active alerts", series.len());
        g.bench_function(name, |b| {
            b.iter(|| {
                group.eval(black_box(&head), &Discard, black_box(end));
            })
        });
    }
    let labels = Labels::from_pairs(&[("instance", "host-1:9100"), ("job", "node")]);
    let external = Labels::empty();
    let data = TemplateData {
        labels: &labels,
        value: 97.25,
        external_labels: &external,
        external_url: "",
    };
    let text = "The CPUs of {{ $labels.instance }} have been more than 90% busy, averaged over all cores, for 10 minutes (now {{ printf \"%.1f\" $value }}%).";
    g.bench_function("annotation_template/parse_and_render", |b| {
        b.iter(|| expand_for_alert("__alert_HostHighCpuUsage", black_box(text), &data, &NoQuery))
    });
    g.finish();
}

criterion_group!(benches, bench_rules);
criterion_main!(benches);
