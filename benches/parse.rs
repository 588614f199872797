//! Throughput of the exposition parser (`kmon::exposition`), in bytes and in samples per
//! second, on a real node_exporter page (text and OpenMetrics) and on a generated
//! ~10 MB kube-state-metrics-like page. Results go to BENCHMARKS.md.
//!
//! Run: `cargo bench --bench parse`

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kmon::exposition::{Entry, Format, parse};

const NODE_EXPORTER: &str = include_str!("../tests/data/exposition/node_exporter.prom");
const NODE_EXPORTER_OM: &str = include_str!("../tests/data/exposition/node_exporter.om.txt");

/// The size the generated kube-state-metrics page grows to, at least.
const KSM_BYTES: usize = 10 << 20;

/// A deterministic xorshift generator for names, hashes and uids.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `len` characters of `[a-z0-9]` minus vowels, like Kubernetes name suffixes.
    fn suffix(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len())] as char)
            .collect()
    }

    fn uid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

/// One generated pod and its containers.
struct Pod {
    namespace: &'static str,
    app: &'static str,
    name: String,
    template_hash: String,
    uid: String,
    node: String,
    host_ip: String,
    pod_ip: String,
    created: f64,
    containers: Vec<&'static str>,
    restarts: usize,
}

fn pods(count: usize) -> Vec<Pod> {
    const NAMESPACES: [&str; 10] = [
        "default",
        "kube-system",
        "monitoring",
        "ingress-nginx",
        "payments",
        "checkout",
        "search",
        "analytics",
        "auth",
        "logging",
    ];
    const APPS: [&str; 12] = [
        "api-gateway",
        "web-frontend",
        "order-worker",
        "redis-cache",
        "postgres-replica",
        "nginx",
        "fluent-bit",
        "prometheus-adapter",
        "grafana",
        "kafka-consumer",
        "payment-service",
        "search-indexer",
    ];
    const SIDECARS: [&str; 3] = ["istio-proxy", "log-shipper", "config-reloader"];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..count)
        .map(|i| {
            let app = APPS[rng.below(APPS.len())];
            let template_hash = rng.suffix(10);
            let mut containers = vec![app];
            if i % 3 == 0 {
                containers.push(SIDECARS[rng.below(SIDECARS.len())]);
            }
            Pod {
                namespace: NAMESPACES[rng.below(NAMESPACES.len())],
                app,
                name: format!("{app}-{template_hash}-{}", rng.suffix(5)),
                template_hash,
                uid: rng.uid(),
                node: format!(
                    "ip-10-0-{}-{}.eu-west-1.compute.internal",
                    rng.below(64),
                    rng.below(256)
                ),
                host_ip: format!("10.0.{}.{}", rng.below(64), rng.below(256)),
                pod_ip: format!("10.244.{}.{}", rng.below(256), rng.below(256)),
                created: 1.718e9 + rng.below(10_000_000) as f64,
                containers,
                restarts: rng.below(5),
            }
        })
        .collect()
}

/// Writes one family: HELP, TYPE, then a line per pod (or per container) from `line`.
fn family(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    pods: &[Pod],
    line: impl Fn(&mut String, &Pod),
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for pod in pods {
        line(out, pod);
    }
}

/// A kube-state-metrics-like page of at least `min_bytes`: 15 `kube_pod_*` families with
/// 3 to 10 labels per sample (5.2 on average), realistic names, hashes and uids. Deterministic.
fn kube_state_metrics(min_bytes: usize) -> String {
    let mut count = 1000;
    loop {
        let page = kube_state_metrics_pods(&pods(count));
        if page.len() >= min_bytes {
            return page;
        }
        count = count * min_bytes / page.len() + 1;
    }
}

fn kube_state_metrics_pods(pods: &[Pod]) -> String {
    let mut out = String::new();
    let o = &mut out;
    family(
        o,
        "kube_pod_info",
        "gauge",
        "Information about pod.",
        pods,
        |o, p| {
            let _ = writeln!(
                o,
                "kube_pod_info{{namespace=\"{}\",pod=\"{}\",uid=\"{}\",host_ip=\"{}\",pod_ip=\"{}\",node=\"{}\",created_by_kind=\"ReplicaSet\",created_by_name=\"{}-{}\",priority_class=\"\",host_network=\"false\"}} 1",
                p.namespace, p.name, p.uid, p.host_ip, p.pod_ip, p.node, p.app, p.template_hash
            );
        },
    );
    family(
        o,
        "kube_pod_owner",
        "gauge",
        "Information about the Pod's owner.",
        pods,
        |o, p| {
            let _ = writeln!(
                o,
                "kube_pod_owner{{namespace=\"{}\",pod=\"{}\",uid=\"{}\",owner_kind=\"ReplicaSet\",owner_name=\"{}-{}\",owner_is_controller=\"true\"}} 1",
                p.namespace, p.name, p.uid, p.app, p.template_hash
            );
        },
    );
    family(
        o,
        "kube_pod_labels",
        "gauge",
        "Kubernetes labels converted to Prometheus labels.",
        pods,
        |o, p| {
            let _ = writeln!(
                o,
                "kube_pod_labels{{namespace=\"{}\",pod=\"{}\",uid=\"{}\",label_app_kubernetes_io_name=\"{}\",label_pod_template_hash=\"{}\"}} 1",
                p.namespace, p.name, p.uid, p.app, p.template_hash
            );
        },
    );
    family(
        o,
        "kube_pod_created",
        "gauge",
        "Unix creation timestamp",
        pods,
        |o, p| {
            let _ = writeln!(
                o,
                "kube_pod_created{{namespace=\"{}\",pod=\"{}\",uid=\"{}\"}} {:e}",
                p.namespace, p.name, p.uid, p.created
            );
        },
    );
    family(
        o,
        "kube_pod_start_time",
        "gauge",
        "Start time in unix timestamp for a pod.",
        pods,
        |o, p| {
            let _ = writeln!(
                o,
                "kube_pod_start_time{{namespace=\"{}\",pod=\"{}\",uid=\"{}\"}} {:e}",
                p.namespace,
                p.name,
                p.uid,
                p.created + 3.0
            );
        },
    );
    family(
        o,
        "kube_pod_status_phase",
        "gauge",
        "The pods current phase.",
        pods,
        |o, p| {
            for phase in ["Pending", "Succeeded", "Failed", "Unknown", "Running"] {
                let v = u8::from(phase == "Running");
                let _ = writeln!(
                    o,
                    "kube_pod_status_phase{{namespace=\"{}\",pod=\"{}\",uid=\"{}\",phase=\"{phase}\"}} {v}",
                    p.namespace, p.name, p.uid
                );
            }
        },
    );
    family(
        o,
        "kube_pod_status_ready",
        "gauge",
        "Describes whether the pod is ready to serve requests.",
        pods,
        |o, p| {
            for condition in ["true", "false", "unknown"] {
                let v = u8::from(condition == "true");
                let _ = writeln!(
                    o,
                    "kube_pod_status_ready{{namespace=\"{}\",pod=\"{}\",uid=\"{}\",condition=\"{condition}\"}} {v}",
                    p.namespace, p.name, p.uid
                );
            }
        },
    );
    family(
        o,
        "kube_pod_container_info",
        "gauge",
        "Information about a container in a pod.",
        pods,
        |o, p| {
            for c in &p.containers {
                let _ = writeln!(
                    o,
                    "kube_pod_container_info{{namespace=\"{}\",pod=\"{}\",uid=\"{}\",container=\"{c}\",image_spec=\"registry.example.com/{c}:v1.4.2\",image=\"registry.example.com/{c}:v1.4.2\",image_id=\"registry.example.com/{c}@sha256:{}\",container_id=\"containerd://{}\"}} 1",
                    p.namespace,
                    p.name,
                    p.uid,
                    p.uid.replace('-', ""),
                    p.template_hash
                );
            }
        },
    );
    family(
        o,
        "kube_pod_container_status_restarts_total",
        "counter",
        "The number of container restarts per container.",
        pods,
        |o, p| {
            for c in &p.containers {
                let _ = writeln!(
                    o,
                    "kube_pod_container_status_restarts_total{{namespace=\"{}\",pod=\"{}\",uid=\"{}\",container=\"{c}\"}} {}",
                    p.namespace, p.name, p.uid, p.restarts
                );
            }
        },
    );
    family(
        o,
        "kube_pod_container_status_running",
        "gauge",
        "Describes whether the container is currently in running state.",
        pods,
        |o, p| {
            for c in &p.containers {
                let _ = writeln!(
                    o,
                    "kube_pod_container_status_running{{namespace=\"{}\",pod=\"{}\",uid=\"{}\",container=\"{c}\"}} 1",
                    p.namespace, p.name, p.uid
                );
            }
        },
    );
    family(
        o,
        "kube_pod_container_status_waiting_reason",
        "gauge",
        "Describes the reason the container is currently in waiting state.",
        pods,
        |o, p| {
            for c in &p.containers {
                for reason in [
                    "ContainerCreating",
                    "CrashLoopBackOff",
                    "CreateContainerConfigError",
                    "ErrImagePull",
                    "ImagePullBackOff",
                    "CreateContainerError",
                    "InvalidImageName",
                ] {
                    let _ = writeln!(
                        o,
                        "kube_pod_container_status_waiting_reason{{namespace=\"{}\",pod=\"{}\",uid=\"{}\",container=\"{c}\",reason=\"{reason}\"}} 0",
                        p.namespace, p.name, p.uid
                    );
                }
            }
        },
    );
    family(
        o,
        "kube_pod_container_status_last_terminated_reason",
        "gauge",
        "Describes the last reason the container was in terminated state.",
        pods,
        |o, p| {
            for c in &p.containers {
                for reason in [
                    "OOMKilled",
                    "Completed",
                    "Error",
                    "ContainerCannotRun",
                    "DeadlineExceeded",
                    "Evicted",
                ] {
                    let v = u8::from(p.restarts > 0 && reason == "Error");
                    let _ = writeln!(
                        o,
                        "kube_pod_container_status_last_terminated_reason{{namespace=\"{}\",pod=\"{}\",uid=\"{}\",container=\"{c}\",reason=\"{reason}\"}} {v}",
                        p.namespace, p.name, p.uid
                    );
                }
            }
        },
    );
    family(
        o,
        "kube_pod_tolerations",
        "gauge",
        "Information about the pod tolerations",
        pods,
        |o, p| {
            for key in [
                "node.kubernetes.io/not-ready",
                "node.kubernetes.io/unreachable",
            ] {
                let _ = writeln!(
                    o,
                    "kube_pod_tolerations{{namespace=\"{}\",pod=\"{}\",uid=\"{}\",key=\"{key}\",operator=\"Exists\",effect=\"NoExecute\",toleration_seconds=\"300\"}} 1",
                    p.namespace, p.name, p.uid
                );
            }
        },
    );
    for (family_name, help) in [
        (
            "kube_pod_container_resource_requests",
            "The number of requested request resource by a container.",
        ),
        (
            "kube_pod_container_resource_limits",
            "The number of requested limit resource by a container.",
        ),
    ] {
        family(o, family_name, "gauge", help, pods, |o, p| {
            for c in &p.containers {
                let _ = writeln!(
                    o,
                    "{family_name}{{namespace=\"{}\",pod=\"{}\",uid=\"{}\",container=\"{c}\",node=\"{}\",resource=\"cpu\",unit=\"core\"}} 0.25",
                    p.namespace, p.name, p.uid, p.node
                );
                let _ = writeln!(
                    o,
                    "{family_name}{{namespace=\"{}\",pod=\"{}\",uid=\"{}\",container=\"{c}\",node=\"{}\",resource=\"memory\",unit=\"byte\"}} 2.68435456e+08",
                    p.namespace, p.name, p.uid, p.node
                );
            }
        });
    }
    out
}

/// Parses the whole page; returns the number of samples.
fn parse_all(text: &str, format: Format) -> usize {
    let mut samples = 0;
    for entry in parse(text, format) {
        if let Entry::Sample(s) = entry.expect("valid page") {
            black_box(&s);
            samples += 1;
        }
    }
    samples
}

/// Parses the whole page and reads every label of every sample; returns the number of
/// labels.
fn parse_with_labels(text: &str, format: Format) -> usize {
    let mut labels = 0;
    for entry in parse(text, format) {
        if let Entry::Sample(s) = entry.expect("valid page") {
            for label in s.labels() {
                black_box(&label);
                labels += 1;
            }
        }
    }
    labels
}

fn bench(c: &mut Criterion) {
    let ksm = kube_state_metrics(KSM_BYTES);
    let pages = [
        ("node_exporter_text", NODE_EXPORTER, Format::PromText),
        (
            "node_exporter_openmetrics",
            NODE_EXPORTER_OM,
            Format::OpenMetrics,
        ),
        (
            "kube_state_metrics_10mb_text",
            ksm.as_str(),
            Format::PromText,
        ),
    ];
    for (name, text, format) in pages {
        let samples = parse_all(text, format);
        let labels = parse_with_labels(text, format);
        eprintln!(
            "{name}: {} bytes, {samples} samples, {labels} labels",
            text.len()
        );
    }

    let mut bytes = c.benchmark_group("exposition_bytes");
    bytes.measurement_time(Duration::from_secs(8));
    for (name, text, format) in pages {
        bytes.throughput(Throughput::Bytes(text.len() as u64));
        if text.len() > 1 << 20 {
            bytes.sample_size(20);
        }
        bytes.bench_function(name, |b| b.iter(|| parse_all(black_box(text), format)));
        bytes.bench_function(format!("{name}+labels"), |b| {
            b.iter(|| parse_with_labels(black_box(text), format))
        });
    }
    bytes.finish();

    let mut samples = c.benchmark_group("exposition_samples");
    samples.measurement_time(Duration::from_secs(8));
    for (name, text, format) in pages {
        samples.throughput(Throughput::Elements(parse_all(text, format) as u64));
        if text.len() > 1 << 20 {
            samples.sample_size(20);
        }
        samples.bench_function(name, |b| b.iter(|| parse_all(black_box(text), format)));
    }
    samples.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
