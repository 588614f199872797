//! The metric expositions behind the double's proxy paths, in the text format the real
//! components serve: the kubelet's own `/metrics`, cAdvisor's `/metrics/cadvisor` (per
//! container CPU, memory and per pod network, with sample timestamps as cAdvisor sends
//! them), the resource metrics of `/metrics/resource`, an application exposition for
//! pods and services, and the API server's own `/metrics`. Values are deterministic per
//! object and advance with `t`, the seconds since the double started. Used by api.rs.
use std::fmt::Write as _;

use serde_json::Value;

use super::Shared;
use super::store::Kind;

/// A stable number per name, so each pod gets its own rates.
fn seed(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn str_of<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut v = v;
    for p in path {
        v = &v[*p];
    }
    v.as_str().unwrap_or("")
}

/// (namespace, pod, uid, [(container, image)]) of a pod object.
fn pod_parts(p: &Value) -> (&str, &str, &str, Vec<(&str, &str)>) {
    let containers = p["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| (str_of(c, &["name"]), str_of(c, &["image"])))
                .collect()
        })
        .unwrap_or_default();
    (
        str_of(p, &["metadata", "namespace"]),
        str_of(p, &["metadata", "name"]),
        str_of(p, &["metadata", "uid"]),
        containers,
    )
}

/// CPU seconds used by a container by time `t`.
fn cpu(key: &str, t: f64) -> f64 {
    let s = seed(key);
    let rate = 0.005 + (s % 200) as f64 / 1000.0;
    (s % 5000) as f64 + rate * t
}

/// Working-set bytes of a container at time `t`.
fn mem(key: &str, t: f64) -> f64 {
    let s = seed(key);
    let base = (20 + s % 300) as f64 * 1024.0 * 1024.0;
    (base + (t / 7.0 + (s % 10) as f64).sin() * 2.0 * 1024.0 * 1024.0).round()
}

fn header(out: &mut String, name: &str, typ: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {typ}");
}

/// The kubelet's own metrics.
pub fn kubelet(node: &str, pods: &[Value], t: f64) -> String {
    let mut o = String::new();
    let containers: usize = pods.iter().map(|p| pod_parts(p).3.len()).sum();
    header(
        &mut o,
        "kubelet_node_name",
        "gauge",
        "The node's name. The count is always 1.",
    );
    let _ = writeln!(o, "kubelet_node_name{{node=\"{}\"}} 1", esc(node));
    header(
        &mut o,
        "kubelet_running_pods",
        "gauge",
        "Number of pods that have a running pod sandbox",
    );
    let _ = writeln!(o, "kubelet_running_pods {}", pods.len());
    header(
        &mut o,
        "kubelet_running_containers",
        "gauge",
        "Number of containers currently running",
    );
    let _ = writeln!(
        o,
        "kubelet_running_containers{{container_state=\"running\"}} {containers}"
    );
    header(
        &mut o,
        "kubelet_http_requests_total",
        "counter",
        "Number of the http requests received since the server started",
    );
    let _ = writeln!(
        o,
        "kubelet_http_requests_total{{long_running=\"false\",method=\"GET\",path=\"metrics\",server_type=\"readonly\"}} {}",
        (100.0 + t / 10.0).floor()
    );
    header(
        &mut o,
        "kubelet_pleg_relist_duration_seconds",
        "histogram",
        "Duration in seconds for relisting pods in PLEG.",
    );
    let n = (1000.0 + t).floor();
    for (le, frac) in [
        ("0.005", 0.2),
        ("0.01", 0.7),
        ("0.025", 0.95),
        ("0.1", 0.99),
        ("+Inf", 1.0),
    ] {
        let _ = writeln!(
            o,
            "kubelet_pleg_relist_duration_seconds_bucket{{le=\"{le}\"}} {}",
            (n * frac).floor()
        );
    }
    let _ = writeln!(
        o,
        "kubelet_pleg_relist_duration_seconds_sum {:.3}",
        n * 0.008
    );
    let _ = writeln!(o, "kubelet_pleg_relist_duration_seconds_count {n}");
    header(
        &mut o,
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
    );
    let _ = writeln!(o, "process_cpu_seconds_total {:.2}", cpu(node, t));
    header(
        &mut o,
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
    );
    let _ = writeln!(o, "process_resident_memory_bytes {}", mem(node, t));
    o
}

/// cAdvisor's container metrics for the pods on a node, plus the node's root cgroup.
pub fn cadvisor(node: &str, pods: &[Value], t: f64) -> String {
    let ts = now_ms();
    let mut o = String::new();
    let mut cpu_lines = Vec::new();
    let mut mem_lines = Vec::new();
    let mut net_lines: [Vec<String>; 4] = Default::default();
    let root_cpu: f64 = cpu(node, t) * 4.0;
    cpu_lines.push(format!(
        "container_cpu_usage_seconds_total{{container=\"\",cpu=\"total\",id=\"/\",image=\"\",name=\"\",namespace=\"\",pod=\"\"}} {root_cpu:.6} {ts}"
    ));
    mem_lines.push(format!(
        "container_memory_working_set_bytes{{container=\"\",id=\"/\",image=\"\",name=\"\",namespace=\"\",pod=\"\"}} {} {ts}",
        mem(node, t) * 20.0
    ));
    for p in pods {
        let (ns, pod, uid, containers) = pod_parts(p);
        let (ns, pod) = (esc(ns), esc(pod));
        let pod_id = format!("/kubepods/burstable/pod{uid}");
        for (c, image) in containers {
            let key = format!("{ns}/{pod}/{c}");
            let cid = format!("{:016x}", seed(&key));
            let labels = format!(
                "container=\"{}\",id=\"{pod_id}/{cid}\",image=\"{}\",name=\"{cid}\",namespace=\"{ns}\",pod=\"{pod}\"",
                esc(c),
                esc(image)
            );
            cpu_lines.push(format!(
                "container_cpu_usage_seconds_total{{{labels},cpu=\"total\"}} {:.6} {ts}",
                cpu(&key, t)
            ));
            mem_lines.push(format!(
                "container_memory_working_set_bytes{{{labels}}} {} {ts}",
                mem(&key, t)
            ));
        }
        let key = format!("{ns}/{pod}");
        let s = seed(&key);
        let labels = format!(
            "container=\"\",id=\"{pod_id}\",image=\"\",interface=\"eth0\",name=\"\",namespace=\"{ns}\",pod=\"{pod}\""
        );
        let rx = (s % 100_000) as f64 + (1000 + s % 50_000) as f64 * t;
        let tx = (s % 70_000) as f64 + (500 + s % 30_000) as f64 * t;
        for (i, v) in [rx, tx, rx / 800.0, tx / 700.0].into_iter().enumerate() {
            net_lines[i].push(format!("{{{labels}}} {} {ts}", v.floor()));
        }
    }
    header(
        &mut o,
        "container_cpu_usage_seconds_total",
        "counter",
        "Cumulative cpu time consumed in seconds.",
    );
    for l in cpu_lines {
        let _ = writeln!(o, "{l}");
    }
    header(
        &mut o,
        "container_memory_working_set_bytes",
        "gauge",
        "Current working set in bytes.",
    );
    for l in mem_lines {
        let _ = writeln!(o, "{l}");
    }
    for (i, (name, help)) in [
        (
            "container_network_receive_bytes_total",
            "Cumulative count of bytes received",
        ),
        (
            "container_network_transmit_bytes_total",
            "Cumulative count of bytes transmitted",
        ),
        (
            "container_network_receive_packets_total",
            "Cumulative count of packets received",
        ),
        (
            "container_network_transmit_packets_total",
            "Cumulative count of packets transmitted",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        header(&mut o, name, "counter", help);
        for l in &net_lines[i] {
            let _ = writeln!(o, "{name}{l}");
        }
    }
    header(
        &mut o,
        "machine_cpu_cores",
        "gauge",
        "Number of logical CPU cores.",
    );
    let _ = writeln!(o, "machine_cpu_cores 4");
    header(
        &mut o,
        "machine_memory_bytes",
        "gauge",
        "Amount of memory installed on the machine.",
    );
    let _ = writeln!(o, "machine_memory_bytes {}", 16u64 << 30);
    o
}

/// The kubelet's resource metrics (what metrics-server reads).
pub fn resource(node: &str, pods: &[Value], t: f64) -> String {
    let ts = now_ms();
    let mut o = String::new();
    let mut lines: [Vec<String>; 4] = Default::default();
    let mut node_cpu = cpu(node, t);
    let mut node_mem = mem(node, t) * 4.0;
    for p in pods {
        let (ns, pod, _, containers) = pod_parts(p);
        let (ns, pod) = (esc(ns), esc(pod));
        let (mut pc, mut pm) = (0.0, 0.0);
        for (c, _) in containers {
            let key = format!("{ns}/{pod}/{c}");
            let (cc, cm) = (cpu(&key, t), mem(&key, t));
            pc += cc;
            pm += cm;
            let l = format!(
                "{{container=\"{}\",namespace=\"{ns}\",pod=\"{pod}\"}}",
                esc(c)
            );
            lines[0].push(format!("container_cpu_usage_seconds_total{l} {cc:.6} {ts}"));
            lines[1].push(format!("container_memory_working_set_bytes{l} {cm} {ts}"));
        }
        let l = format!("{{namespace=\"{ns}\",pod=\"{pod}\"}}");
        lines[2].push(format!("pod_cpu_usage_seconds_total{l} {pc:.6} {ts}"));
        lines[3].push(format!("pod_memory_working_set_bytes{l} {pm} {ts}"));
        node_cpu += pc;
        node_mem += pm;
    }
    let groups = [
        (
            "container_cpu_usage_seconds_total",
            "counter",
            "Cumulative cpu time consumed by the container in core-seconds",
        ),
        (
            "container_memory_working_set_bytes",
            "gauge",
            "Current working set of the container in bytes",
        ),
        (
            "pod_cpu_usage_seconds_total",
            "counter",
            "Cumulative cpu time consumed by the pod in core-seconds",
        ),
        (
            "pod_memory_working_set_bytes",
            "gauge",
            "Current working set of the pod in bytes",
        ),
    ];
    for (i, (name, typ, help)) in groups.into_iter().enumerate() {
        header(&mut o, name, typ, help);
        for l in &lines[i] {
            let _ = writeln!(o, "{l}");
        }
    }
    header(
        &mut o,
        "node_cpu_usage_seconds_total",
        "counter",
        "Cumulative cpu time consumed by the node in core-seconds",
    );
    let _ = writeln!(o, "node_cpu_usage_seconds_total {node_cpu:.6} {ts}");
    header(
        &mut o,
        "node_memory_working_set_bytes",
        "gauge",
        "Current working set of the node in bytes",
    );
    let _ = writeln!(o, "node_memory_working_set_bytes {node_mem} {ts}");
    header(
        &mut o,
        "resource_scrape_error",
        "gauge",
        "1 if there was an error while getting container metrics, 0 otherwise",
    );
    let _ = writeln!(o, "resource_scrape_error 0");
    o
}

/// An application's exposition (annotated pods, services).
pub fn app(ns: &str, name: &str, t: f64) -> String {
    let key = format!("{ns}/{name}");
    let s = seed(&key);
    let rate = 1.0 + (s % 50) as f64;
    let ok = ((s % 1000) as f64 + rate * t).floor();
    let errors = (ok / 97.0).floor();
    let mut o = String::new();
    header(
        &mut o,
        "http_requests_total",
        "counter",
        "Requests served, by method and code.",
    );
    let _ = writeln!(o, "http_requests_total{{code=\"200\",method=\"GET\"}} {ok}");
    let _ = writeln!(
        o,
        "http_requests_total{{code=\"500\",method=\"GET\"}} {errors}"
    );
    header(
        &mut o,
        "http_request_duration_seconds",
        "histogram",
        "Request latency.",
    );
    let n = ok + errors;
    for (le, frac) in [
        ("0.05", 0.6),
        ("0.1", 0.8),
        ("0.5", 0.97),
        ("1", 0.99),
        ("+Inf", 1.0),
    ] {
        let _ = writeln!(
            o,
            "http_request_duration_seconds_bucket{{le=\"{le}\"}} {}",
            (n * frac).floor()
        );
    }
    let _ = writeln!(o, "http_request_duration_seconds_sum {:.3}", n * 0.042);
    let _ = writeln!(o, "http_request_duration_seconds_count {n}");
    header(&mut o, "app_build_info", "gauge", "Build information.");
    let _ = writeln!(o, "app_build_info{{version=\"1.{}.0\"}} 1", s % 10);
    header(
        &mut o,
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
    );
    let _ = writeln!(o, "process_cpu_seconds_total {:.2}", cpu(&key, t));
    o
}

/// The API server's own exposition: requests by verb, resource and code (from the calls
/// this double answered), and its objects by kind.
pub fn apiserver(shared: &Shared) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code."
    );
    let _ = writeln!(o, "# TYPE apiserver_request_total counter");
    let forbidden = shared.forbidden_calls.lock().clone();
    for ((verb, resource), n) in shared.calls.lock().iter() {
        let denied = forbidden
            .get(&(verb.clone(), resource.clone()))
            .copied()
            .unwrap_or(0);
        let (res, sub) = resource.split_once('/').unwrap_or((resource, ""));
        let group = Kind::ALL
            .iter()
            .find(|k| k.plural() == res)
            .map_or("", |k| k.group());
        let version = super::store::group_version(group);
        for (code, count) in [("200", n - denied), ("403", denied)] {
            if count > 0 {
                let _ = writeln!(
                    o,
                    "apiserver_request_total{{code=\"{code}\",component=\"apiserver\",group=\"{group}\",resource=\"{res}\",subresource=\"{sub}\",verb=\"{}\",version=\"{version}\"}} {count}",
                    verb.to_uppercase()
                );
            }
        }
    }
    let store = shared.store.lock();
    let _ = writeln!(
        o,
        "# HELP apiserver_storage_objects Number of stored objects at the time of last check split by kind."
    );
    let _ = writeln!(o, "# TYPE apiserver_storage_objects gauge");
    for k in Kind::ALL {
        let res = if k.group().is_empty() {
            k.plural().to_string()
        } else {
            format!("{}.{}", k.plural(), k.group())
        };
        let _ = writeln!(
            o,
            "apiserver_storage_objects{{resource=\"{res}\"}} {}",
            store.list(k, None).len()
        );
    }
    o
}
