//! Tests of the API server double itself, through kube-rs (the client kmon uses): both
//! users from a written kubeconfig, discovery, selectors, pagination, a watcher through
//! adds, deletes and a 410 Gone, the proxy expositions, 401/403 as kube errors, and an
//! outage with recovery. They are the proof that kmon's real client code works against
//! the double.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;

use super::{DoubleOptions, Kind, KubeContext, KubeDouble, User, write_kubeconfig};

/// Bound on every wait in these tests.
const WAIT: Duration = Duration::from_secs(20);

async fn client_from(path: &std::path::Path, context: Option<&str>) -> kube::Client {
    let kc = Kubeconfig::read_from(path).expect("read the kubeconfig");
    let opts = KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let cfg = kube::Config::from_custom_kubeconfig(kc, &opts)
        .await
        .expect("config from the kubeconfig");
    kube::Client::try_from(cfg).expect("client")
}

async fn client(d: &KubeDouble, user: User) -> (kube::Client, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kubeconfig");
    d.kubeconfig(&path, user).expect("write the kubeconfig");
    (client_from(&path, None).await, dir)
}

fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

fn get(path: &str) -> hyper::Request<Vec<u8>> {
    hyper::Request::get(path)
        .body(Vec::new())
        .expect("a GET request")
}

#[tokio::test]
async fn both_users_list_nodes_and_pods_with_selectors() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(3, 4);
    for user in [User::Token, User::Cert] {
        let (c, _dir) = client(&d, user).await;
        let nodes = Api::<Node>::all(c.clone())
            .list(&ListParams::default())
            .await
            .expect("list nodes");
        assert_eq!(nodes.items.len(), 3, "{user:?}");
        let n0 = &nodes.items[0];
        let status = n0.status.as_ref().expect("node status");
        let info = status.node_info.as_ref().expect("node info");
        assert_eq!(info.kubelet_version, "v1.33.2");
        assert!(
            status
                .addresses
                .as_ref()
                .is_some_and(|a| a.iter().any(|a| a.type_ == "InternalIP"))
        );
        assert!(nodes.metadata.resource_version.is_some());

        let pods = Api::<Pod>::all(c.clone());
        let all = pods.list(&ListParams::default()).await.expect("list pods");
        assert_eq!(all.items.len(), sum.pods.len());
        let on_node1 = pods
            .list(&ListParams::default().fields("spec.nodeName=node-1"))
            .await
            .expect("field selector");
        assert_eq!(on_node1.items.len(), 4);
        let web = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .expect("label selector");
        assert!(!web.items.is_empty());
        assert!(
            web.items
                .iter()
                .all(|p| p.metadata.labels.as_ref().unwrap()["app"] == "web")
        );
        let named = pods
            .list(&ListParams::default().fields(&format!("metadata.name={}", sum.pods[0].1)))
            .await
            .expect("by name");
        assert_eq!(named.items.len(), 1);
        let in_apps = Api::<Pod>::namespaced(c.clone(), "apps")
            .list(&ListParams::default())
            .await
            .expect("namespaced list");
        let want = sum.pods.iter().filter(|(ns, _)| ns == "apps").count();
        assert_eq!(in_apps.items.len(), want);
        let got = Api::<Pod>::namespaced(c.clone(), &sum.pods[1].0)
            .get(&sum.pods[1].1)
            .await
            .expect("get one pod");
        assert!(got.metadata.owner_references.is_some());

        // The other kinds deserialize into their k8s-openapi types.
        assert_eq!(
            Api::<Service>::all(c.clone())
                .list(&ListParams::default())
                .await
                .unwrap()
                .items
                .len(),
            sum.services.len()
        );
        assert!(
            !Api::<EndpointSlice>::all(c.clone())
                .list(&ListParams::default())
                .await
                .unwrap()
                .items
                .is_empty()
        );
        assert_eq!(
            Api::<Ingress>::all(c.clone())
                .list(&ListParams::default())
                .await
                .unwrap()
                .items
                .len(),
            1
        );
    }
}

#[tokio::test]
async fn discovery_version_and_kubeconfig_variants() {
    let d = KubeDouble::start(DoubleOptions::default());
    let other = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(2, 1);
    other.fixture_cluster(5, 1);
    let (c, dir) = client(&d, User::Token).await;
    let v = c.apiserver_version().await.expect("/version");
    assert_eq!(v.git_version, "v1.33.2");
    let disc = kube::discovery::Discovery::new(c.clone())
        .run()
        .await
        .expect("discovery");
    for g in ["", "discovery.k8s.io", "networking.k8s.io"] {
        assert!(disc.has_group(g), "group {g:?}");
    }
    let agg = kube::discovery::Discovery::new(c.clone())
        .run_aggregated()
        .await
        .expect("aggregated discovery");
    for g in ["", "discovery.k8s.io", "networking.k8s.io"] {
        assert!(agg.has_group(g), "aggregated group {g:?}");
    }
    let (ar, caps) = agg
        .resolve_gvk(&kube::api::GroupVersionKind::gvk(
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
        ))
        .expect("EndpointSlice resolves");
    assert_eq!(ar.plural, "endpointslices");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);

    let insecure = dir.path().join("insecure");
    d.kubeconfig_insecure(&insecure, User::Cert).unwrap();
    let c = client_from(&insecure, None).await;
    let n = Api::<Node>::all(c).list(&ListParams::default()).await;
    assert_eq!(n.expect("insecure-skip-tls-verify").items.len(), 2);

    let two = dir.path().join("two");
    write_kubeconfig(
        &two,
        &[
            KubeContext::new("first", &d, User::Token),
            KubeContext::new("second", &other, User::Cert),
        ],
        "first",
    )
    .unwrap();
    for (ctx, want) in [(None, 2), (Some("first"), 2), (Some("second"), 5)] {
        let c = client_from(&two, ctx).await;
        let n = Api::<Node>::all(c)
            .list(&ListParams::default())
            .await
            .unwrap();
        assert_eq!(n.items.len(), want, "{ctx:?}");
    }
}

#[tokio::test]
async fn pagination_returns_everything_across_pages() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(5, 7);
    let (c, _dir) = client(&d, User::Token).await;
    let pods = Api::<Pod>::all(c);
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut lp = ListParams::default().limit(4);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = pods.list(&lp).await.expect("a page");
        assert!(page.items.len() <= 4);
        pages += 1;
        seen.extend(page.items.iter().map(|p| p.metadata.name.clone().unwrap()));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() || pages > 100 {
            break;
        }
    }
    assert_eq!(pages, sum.pods.len().div_ceil(4));
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), sum.pods.len());
    assert_eq!(seen.len(), sum.pods.len());

    // A continue token from before a compaction is 410 Gone.
    let first = pods.list(&ListParams::default().limit(2)).await.unwrap();
    d.expire_history();
    d.apply(&super::fixture_node(99));
    let t = first.metadata.continue_.unwrap();
    let err = pods
        .list(&ListParams::default().limit(2).continue_token(&t))
        .await;
    assert_eq!(api_code(&err.expect_err("expired continue")), Some(410));
}

fn new_pod(name: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "namespace": "apps", "labels": {"app": "extra"}},
        "spec": {"nodeName": "node-0", "containers": [{"name": "c", "image": "busybox"}]},
        "status": {"phase": "Running", "podIP": "10.244.0.200"},
    }))
    .unwrap()
}

/// Next watcher event whose description satisfies `want`, skipping others.
async fn wait_for<S>(stream: &mut S, what: &str, want: impl Fn(&str) -> bool)
where
    S: futures_util::Stream<Item = Result<watcher::Event<Pod>, watcher::Error>> + Unpin,
{
    let found = tokio::time::timeout(WAIT, async {
        while let Some(ev) = stream.next().await {
            let desc = match &ev {
                Ok(watcher::Event::Apply(p)) => {
                    format!("apply {}", p.metadata.name.as_deref().unwrap_or(""))
                }
                Ok(watcher::Event::Delete(p)) => {
                    format!("delete {}", p.metadata.name.as_deref().unwrap_or(""))
                }
                Ok(watcher::Event::Init) => "init".to_string(),
                Ok(watcher::Event::InitApply(p)) => {
                    format!("initapply {}", p.metadata.name.as_deref().unwrap_or(""))
                }
                Ok(watcher::Event::InitDone) => "initdone".to_string(),
                Err(e) => format!("error {e}"),
            };
            if want(&desc) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "waiting for {what}");
}

#[tokio::test]
async fn watcher_sees_adds_and_deletes_and_relists_after_410() {
    let d = KubeDouble::start(DoubleOptions {
        bookmark_interval: Duration::from_millis(200),
        ..DoubleOptions::default()
    });
    d.fixture_cluster(2, 3);
    let (c, _dir) = client(&d, User::Cert).await;
    let cfg = watcher::Config::default().page_size(2);
    let mut w = Box::pin(watcher(Api::<Pod>::all(c), cfg));
    wait_for(&mut w, "initial list", |e| e == "initdone").await;

    d.apply(&new_pod("extra-1"));
    wait_for(&mut w, "the added pod", |e| e == "apply extra-1").await;
    assert!(d.delete(Kind::Pod, "apps", "extra-1"));
    wait_for(&mut w, "the deleted pod", |e| e == "delete extra-1").await;

    d.expire_history();
    wait_for(&mut w, "410 Gone", |e| {
        e.starts_with("error") && e.contains("xpired")
    })
    .await;
    wait_for(&mut w, "the re-list", |e| e == "initdone").await;
    d.apply(&new_pod("extra-2"));
    wait_for(&mut w, "a pod after the re-list", |e| e == "apply extra-2").await;
    assert!(d.requests("/api/v1/pods") >= 3, "{:?}", d.request_counts());
}

#[tokio::test]
async fn proxy_paths_serve_expositions_and_are_counted() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(2, 4);
    let (c, _dir) = client(&d, User::Token).await;
    let cad = c
        .request_text(get("/api/v1/nodes/node-0/proxy/metrics/cadvisor"))
        .await
        .expect("cadvisor");
    let (ns, pod) = &sum.pods[0];
    assert!(cad.contains("# TYPE container_cpu_usage_seconds_total counter"));
    assert!(
        cad.contains(&format!("namespace=\"{ns}\",pod=\"{pod}\"")),
        "{cad}"
    );
    assert!(cad.contains("container_network_receive_bytes_total{"));
    assert!(cad.contains("container_memory_working_set_bytes{"));
    let kubelet = c
        .request_text(get("/api/v1/nodes/node-1/proxy/metrics"))
        .await
        .unwrap();
    assert!(kubelet.contains("kubelet_running_pods 4"), "{kubelet}");
    let res = c
        .request_text(get("/api/v1/nodes/node-1/proxy/metrics/resource"))
        .await
        .unwrap();
    assert!(res.contains("node_cpu_usage_seconds_total "));
    assert!(res.contains("pod_memory_working_set_bytes{"));

    let (ans, apod) = &sum.annotated_pods[0];
    for path in [
        format!("/api/v1/namespaces/{ans}/pods/{apod}/proxy/metrics"),
        format!("/api/v1/namespaces/{ans}/pods/{apod}:8080/proxy/metrics"),
        format!("/api/v1/namespaces/{ans}/pods/http:{apod}:8080/proxy/metrics"),
        "/api/v1/namespaces/apps/services/web:8080/proxy/metrics".to_string(),
        "/api/v1/namespaces/apps/services/http:web:http/proxy/metrics".to_string(),
    ] {
        let text = c.request_text(get(&path)).await.expect(&path);
        assert!(
            text.contains("http_requests_total{code=\"200\""),
            "{path}: {text}"
        );
    }
    let missing = c
        .request_text(get("/api/v1/nodes/nope/proxy/metrics"))
        .await;
    assert_eq!(api_code(&missing.expect_err("missing node")), Some(404));

    // Counters never go backwards between two scrapes.
    let value = |text: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with("http_requests_total{code=\"200\""))
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|v| v.parse().ok())
            .expect("a sample")
    };
    let path = "/api/v1/namespaces/apps/services/web/proxy/metrics";
    let a = value(&c.request_text(get(path)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = value(&c.request_text(get(path)).await.unwrap());
    assert!(b >= a);
    assert_eq!(d.requests(path), 2);
    assert_eq!(d.requests("/api/v1/nodes/node-0/proxy/metrics/cadvisor"), 1);
    assert_eq!(d.requests_matching("/api/v1/nodes/"), 4);
}

#[tokio::test]
async fn unauthorized_and_forbidden_come_back_as_kube_errors() {
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(1, 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad");
    d.kubeconfig(&path, User::Token).unwrap();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(d.token(), "wrong-token");
    std::fs::write(&path, text).unwrap();
    let bad = client_from(&path, None).await;
    let err = Api::<Node>::all(bad).list(&ListParams::default()).await;
    assert_eq!(api_code(&err.expect_err("wrong token")), Some(401));

    // No credentials at all.
    let anon = dir.path().join("anon");
    d.kubeconfig(&anon, User::Token).unwrap();
    let text = std::fs::read_to_string(&anon)
        .unwrap()
        .replace(d.token(), "");
    std::fs::write(
        &anon,
        text.replace("\"token\": \"\"", "\"username\": \"nobody\""),
    )
    .unwrap();
    let anon = client_from(&anon, None).await;
    let err = Api::<Node>::all(anon).list(&ListParams::default()).await;
    assert_eq!(api_code(&err.expect_err("no credentials")), Some(401));

    d.forbid("list", "pods");
    d.forbid("get", "nodes/proxy");
    for (user, name) in [
        (User::Token, super::TOKEN_USER),
        (User::Cert, super::CERT_USER),
    ] {
        let (c, _dir) = client(&d, user).await;
        let err = Api::<Pod>::all(c.clone())
            .list(&ListParams::default())
            .await;
        let err = err.expect_err("forbidden list");
        assert_eq!(api_code(&err), Some(403));
        let kube::Error::Api(s) = &err else {
            unreachable!()
        };
        assert!(
            s.message.contains("cannot list resource \"pods\""),
            "{}",
            s.message
        );
        assert!(s.message.contains(name), "{}", s.message);
        assert_eq!(s.reason, "Forbidden");
        let err = Api::<Pod>::namespaced(c.clone(), "apps")
            .list(&ListParams::default())
            .await;
        let err = err.expect_err("forbidden namespaced list");
        let kube::Error::Api(s) = &err else {
            panic!("{err}")
        };
        assert!(
            s.message.contains("in the namespace \"apps\""),
            "{}",
            s.message
        );
        assert!(
            Api::<Node>::all(c.clone())
                .list(&ListParams::default())
                .await
                .is_ok()
        );
        let err = c
            .request_text(get("/api/v1/nodes/node-0/proxy/metrics"))
            .await;
        let err = err.expect_err("forbidden proxy");
        let kube::Error::Api(s) = &err else {
            panic!("{err}")
        };
        assert_eq!(s.code, 403);
        let want = format!(
            "nodes \"node-0\" is forbidden: User \"{name}\" cannot get resource \"nodes/proxy\" in API group \"\" at the cluster scope"
        );
        assert_eq!(s.message, want);
    }
    d.allow("list", "pods");
    let (c, _dir) = client(&d, User::Token).await;
    assert!(
        Api::<Pod>::all(c)
            .list(&ListParams::default())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn outage_then_recovery() {
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(2, 2);
    let (c, _dir) = client(&d, User::Token).await;
    let nodes = Api::<Node>::all(c.clone());
    assert!(nodes.list(&ListParams::default()).await.is_ok());
    let mut w = Box::pin(watcher(
        Api::<Pod>::all(c.clone()),
        watcher::Config::default(),
    ));
    wait_for(&mut w, "initial list", |e| e == "initdone").await;

    d.set_down(true);
    assert!(d.is_down());
    assert!(!d.wait_for_requests("/nowhere", 1, Duration::from_millis(50)));
    let err = tokio::time::timeout(WAIT, nodes.list(&ListParams::default()))
        .await
        .expect("a refused connection answers at once");
    let err = err.expect_err("the server is down");
    assert_eq!(api_code(&err), None, "{err}");
    wait_for(&mut w, "the watch to fail", |e| e.starts_with("error")).await;

    d.set_down(false);
    let back = tokio::time::timeout(WAIT, async {
        loop {
            if nodes.list(&ListParams::default()).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(back.is_ok(), "the server came back");
    d.apply(&new_pod("after-outage"));
    wait_for(&mut w, "a pod after the outage", |e| {
        e == "apply after-outage" || e == "initapply after-outage"
    })
    .await;
    assert!(d.wait_for_calls("list", "pods", 1, WAIT));
}

#[tokio::test]
async fn filtered_watch_sees_objects_enter_and_leave_its_selector() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(2, 2);
    let (c, _dir) = client(&d, User::Token).await;
    let cfg = watcher::Config::default().fields("spec.nodeName=node-0");
    let mut w = Box::pin(watcher(Api::<Pod>::all(c.clone()), cfg));
    wait_for(&mut w, "initial list", |e| e == "initdone").await;
    // A pod on node-1 moves to node-0 (enters: ADDED), then back (leaves: DELETED).
    let (ns, name) = sum
        .pods
        .iter()
        .find(|(ns, n)| d.get(Kind::Pod, ns, n).unwrap()["spec"]["nodeName"] == "node-1")
        .cloned()
        .unwrap();
    assert!(d.modify(Kind::Pod, &ns, &name, |p| p["spec"]["nodeName"] =
        "node-0".into()));
    wait_for(&mut w, "the pod entering", |e| e == format!("apply {name}")).await;
    assert!(d.modify(Kind::Pod, &ns, &name, |p| {
        p["status"]["containerStatuses"][0]["restartCount"] = 9.into()
    }));
    wait_for(&mut w, "the pod changing", |e| e == format!("apply {name}")).await;
    let got = Api::<Pod>::namespaced(c, &ns).get(&name).await.unwrap();
    let restarts = got.status.unwrap().container_statuses.unwrap()[0].restart_count;
    assert_eq!(restarts, 9);
    assert!(d.modify(Kind::Pod, &ns, &name, |p| p["spec"]["nodeName"] =
        "node-1".into()));
    wait_for(&mut w, "the pod leaving", |e| e == format!("delete {name}")).await;
    assert!(d.calls("watch", "pods") >= 1);
    assert!(d.calls("list", "pods") >= 1);
    assert!(!d.modify(Kind::Pod, "apps", "no-such-pod", |_| {}));
}

#[tokio::test]
async fn streaming_list_watcher_gets_initial_events_and_bookmark() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(2, 3);
    let (c, _dir) = client(&d, User::Token).await;
    let cfg = watcher::Config::default().streaming_lists();
    let mut w = Box::pin(watcher(Api::<Pod>::all(c), cfg));
    let count = std::sync::atomic::AtomicUsize::new(0);
    wait_for(&mut w, "the initial-events-end bookmark", |e| {
        if e.starts_with("initapply") {
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        e == "initdone"
    })
    .await;
    assert_eq!(count.into_inner(), sum.pods.len());
    // Streaming lists never LIST.
    assert_eq!(d.calls("list", "pods"), 0);
    d.apply(&new_pod("streamed"));
    wait_for(&mut w, "a later pod", |e| e == "apply streamed").await;
}

#[tokio::test]
async fn injected_failures_and_delays() {
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(2, 1);
    // kube-rs retries 429/503/504 (15 times, backing off up to minutes) unless told not
    // to: kmon's clients must turn that off for proxy scrapes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    d.kubeconfig(&path, User::Token).unwrap();
    let kc = Kubeconfig::read_from(&path).unwrap();
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    cfg.default_retry = false;
    let c = kube::Client::try_from(cfg).unwrap();
    d.fail_path("/api/v1/nodes/node-1/proxy/", 503);
    let down = c
        .request_text(get("/api/v1/nodes/node-1/proxy/metrics/cadvisor"))
        .await;
    assert_eq!(api_code(&down.expect_err("kubelet down")), Some(503));
    assert!(
        c.request_text(get("/api/v1/nodes/node-0/proxy/metrics/cadvisor"))
            .await
            .is_ok()
    );
    d.fail_path("/api/v1/pods", 500);
    let err = Api::<Pod>::all(c.clone())
        .list(&ListParams::default())
        .await;
    assert_eq!(api_code(&err.expect_err("injected 500")), Some(500));
    d.clear_faults();
    d.delay_path("/api/v1/nodes", Duration::from_millis(100));
    assert!(
        Api::<Node>::all(c.clone())
            .list(&ListParams::default())
            .await
            .is_ok()
    );
    d.clear_faults();
    assert!(
        Api::<Pod>::all(c)
            .list(&ListParams::default())
            .await
            .is_ok()
    );
}

/// The double works from plain tests too (its own runtime), e.g. around the `kmon`
/// binary, and an outage refuses connections.
#[test]
fn plain_test_start_outage_and_drop() {
    let d = KubeDouble::start(DoubleOptions::default());
    let addr = format!("127.0.0.1:{}", d.port());
    assert!(std::net::TcpStream::connect(&addr).is_ok());
    d.set_down(true);
    assert!(std::net::TcpStream::connect(&addr).is_err());
    d.set_down(false);
    assert!(std::net::TcpStream::connect(&addr).is_ok());
    assert!(d.url().starts_with("https://127.0.0.1:"));
    assert!(d.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    drop(d);
    assert!(std::net::TcpStream::connect(&addr).is_err());
}

/// The benchmark's cluster (200 nodes, 5000 pods) builds and lists through a paging
/// watcher; the elapsed times are printed, never asserted.
#[tokio::test]
async fn scale_cluster_lists_through_a_paging_watcher() {
    let d = KubeDouble::start(DoubleOptions::default());
    let t0 = std::time::Instant::now();
    let sum = d.fixture_cluster(200, 25);
    println!(
        "fixture of {} pods built in {:?}",
        sum.pods.len(),
        t0.elapsed()
    );
    assert_eq!(sum.pods.len(), 5000);
    assert_eq!(d.count(Kind::Node), 200);
    let (c, _dir) = client(&d, User::Token).await;
    let t0 = std::time::Instant::now();
    let mut w = Box::pin(watcher(Api::<Pod>::all(c), watcher::Config::default()));
    let count = std::sync::atomic::AtomicUsize::new(0);
    wait_for(&mut w, "the initial list", |e| {
        if e.starts_with("initapply") {
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        e == "initdone"
    })
    .await;
    println!("5000 pods listed by a watcher in {:?}", t0.elapsed());
    assert_eq!(count.into_inner(), 5000);
    assert_eq!(d.calls("list", "pods"), 10, "pages of 500");
}

#[tokio::test]
async fn raw_watch_streams_events_bookmarks_timeouts_and_gone() {
    use kube::api::{WatchEvent, WatchParams};
    let d = KubeDouble::start(DoubleOptions {
        bookmark_interval: Duration::from_millis(100),
        ..DoubleOptions::default()
    });
    d.fixture_cluster(1, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    let mut ctx = KubeContext::new("ns-ctx", &d, User::Token);
    ctx.namespace = Some("apps".to_string());
    write_kubeconfig(&path, &[ctx], "ns-ctx").unwrap();
    let c = client_from(&path, None).await;
    assert_eq!(c.default_namespace(), "apps");
    assert_eq!(c.request_text(get("/readyz")).await.unwrap(), "ok");

    // From "0": the current objects as ADDED, then bookmarks, and the stream ends when
    // timeoutSeconds runs out.
    let pods = Api::<Pod>::all(c.clone());
    let wp = WatchParams::default().timeout(1);
    let stream = pods.watch(&wp, "0").await.expect("watch");
    let events: Vec<_> = tokio::time::timeout(WAIT, stream.collect::<Vec<_>>())
        .await
        .expect("the watch ends after timeoutSeconds");
    let added = events
        .iter()
        .filter(|e| matches!(e, Ok(WatchEvent::Added(_))))
        .count();
    assert_eq!(added, 3);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Ok(WatchEvent::Bookmark(_))))
    );

    // From a compacted resourceVersion: one ERROR event with a 410 Status.
    let old = d.resource_version().to_string();
    d.expire_history();
    let stream = pods.watch(&wp, &old).await.expect("watch");
    let events: Vec<_> = tokio::time::timeout(WAIT, stream.collect::<Vec<_>>())
        .await
        .expect("the watch ends");
    match events.first() {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!(e.code, 410),
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn endpoints_follow_pods_and_the_apiserver_serves_metrics() {
    use k8s_openapi::api::core::v1::Endpoints;
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(2, 4);
    let (c, _dir) = client(&d, User::Token).await;
    let eps = Api::<Endpoints>::namespaced(c.clone(), "apps");
    let before = eps.get("web").await.unwrap();
    let count = |e: &Endpoints| -> (usize, usize) {
        let s = e.subsets.as_ref().and_then(|s| s.first());
        (
            s.and_then(|s| s.addresses.as_ref()).map_or(0, Vec::len),
            s.and_then(|s| s.not_ready_addresses.as_ref())
                .map_or(0, Vec::len),
        )
    };
    let (ready, _) = count(&before);
    assert!(ready > 0);
    let port = before.subsets.as_ref().unwrap()[0].ports.as_ref().unwrap()[0].port;
    assert_eq!(
        port, 8080,
        "the named target port resolves to the container port"
    );

    // A new ready web pod and a not-ready one.
    let mut p = new_pod("web-extra");
    p.metadata.labels = Some([("app".to_string(), "web".to_string())].into());
    d.apply(&p);
    let rv = d.resource_version();
    d.sync_endpoints();
    let after = eps.get("web").await.unwrap();
    assert_eq!(
        count(&after),
        (ready, 1),
        "a pod without a Ready condition is not ready"
    );
    d.modify(Kind::Pod, "apps", "web-extra", |p| {
        p["status"]["conditions"] = serde_json::json!([{"type": "Ready", "status": "True"}]);
    });
    d.sync_endpoints();
    assert_eq!(count(&eps.get("web").await.unwrap()), (ready + 1, 0));
    let slices = Api::<EndpointSlice>::namespaced(c.clone(), "apps")
        .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
        .await
        .unwrap();
    assert_eq!(
        slices.items[0].endpoints.as_ref().map_or(0, Vec::len),
        ready + 1
    );
    // Nothing changed: no new revisions.
    let rv2 = d.resource_version();
    assert!(rv2 > rv);
    d.sync_endpoints();
    assert_eq!(d.resource_version(), rv2);

    // The kubernetes service's endpoint is the double itself, whose /metrics answers.
    let k = Api::<Endpoints>::namespaced(c.clone(), "default")
        .get("kubernetes")
        .await
        .unwrap();
    let ports = k.subsets.unwrap()[0].ports.clone().unwrap();
    assert_eq!(ports[0].port, i32::from(d.port()));
    let text = c.request_text(get("/metrics")).await.unwrap();
    assert!(text.contains("verb=\"LIST\",version=\"v1\"} "), "{text}");
    assert!(text.contains("apiserver_storage_objects{resource=\"pods\"} "));
    d.forbid("get", "/metrics");
    let err = c.request_text(get("/metrics")).await;
    assert_eq!(api_code(&err.expect_err("forbidden /metrics")), Some(403));
}

#[tokio::test]
async fn workloads_and_unhealthy_pods_look_real() {
    use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(5, 10);
    assert_eq!(sum.crashlooping_pods.len(), 1);
    assert_eq!(sum.pending_pods.len(), 1);
    let (c, _dir) = client(&d, User::Cert).await;
    let deps = Api::<Deployment>::all(c.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(deps.items.len(), sum.deployments.len());
    let total: i32 = deps
        .items
        .iter()
        .map(|d| d.status.as_ref().unwrap().replicas.unwrap())
        .sum();
    let available: i32 = deps
        .items
        .iter()
        .map(|d| d.status.as_ref().unwrap().available_replicas.unwrap_or(0))
        .sum();
    assert_eq!(total as usize, sum.pods.len());
    assert_eq!(available as usize, sum.pods.len() - 2);
    let rss = Api::<ReplicaSet>::namespaced(c.clone(), "apps")
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(
        rss.items
            .iter()
            .all(|r| r.metadata.owner_references.as_ref().unwrap()[0].kind == "Deployment")
    );

    let (ns, name) = &sum.crashlooping_pods[0];
    let p = Api::<Pod>::namespaced(c.clone(), ns)
        .get(name)
        .await
        .unwrap();
    let cs = &p
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0];
    let waiting = cs.state.as_ref().unwrap().waiting.as_ref().unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
    assert_eq!(cs.restart_count, 12);
    let last = cs.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!(last.reason.as_deref(), Some("Error"));
    let oom = sum.restarts.iter().any(|((ns, n), _)| {
        let v = d.get(Kind::Pod, ns, n).unwrap();
        v["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "OOMKilled"
    });
    assert!(oom, "some restarted container was OOMKilled");
    let (ns, name) = &sum.pending_pods[0];
    let p = Api::<Pod>::namespaced(c, ns).get(name).await.unwrap();
    assert_eq!(p.status.unwrap().phase.as_deref(), Some("Pending"));
}

/// A loopback HTTP server that answers every request with what it got (as JSON), status
/// 418 on `/teapot`.
async fn echo_backend() -> String {
    use axum::extract::Request;
    async fn echo(req: Request) -> axum::response::Response {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20)
            .await
            .unwrap_or_default();
        let v = serde_json::json!({
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "query": parts.uri.query(),
            "content_type": parts.headers.get("content-type").and_then(|v| v.to_str().ok()),
            "body": String::from_utf8_lossy(&body),
        });
        let status = if parts.uri.path() == "/teapot" {
            418
        } else {
            200
        };
        axum::response::Response::builder()
            .status(status)
            .header("content-type", "application/x-echo")
            .body(axum::body::Body::from(v.to_string()))
            .expect("a response")
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the backend");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, axum::Router::new().fallback(echo)).await;
    });
    url
}

#[tokio::test]
async fn a_service_proxy_forwards_to_a_real_backend() {
    let d = KubeDouble::start(DoubleOptions::default());
    let svc: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "prometheus-k8s", "namespace": "monitoring",
                     "labels": {"app.kubernetes.io/name": "prometheus"}},
        "spec": {"ports": [{"name": "web", "port": 9090}, {"name": "reloader-web", "port": 8080}]},
    }))
    .expect("a Service");
    d.apply(&svc);
    d.proxy_service_to("monitoring", "prometheus-k8s", 9090, &echo_backend().await);
    let (c, _dir) = client(&d, User::Token).await;
    let send = |req: hyper::Request<Vec<u8>>| {
        let c = c.clone();
        async move {
            use http_body_util::BodyExt;
            let resp = c
                .send(req.map(kube::client::Body::from))
                .await
                .expect("an answer");
            let status = resp.status().as_u16();
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = resp.into_body().collect().await.expect("body").to_bytes();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            (status, ct, v)
        }
    };
    // By port name and by number, with the query passed on.
    for name in [
        "prometheus-k8s:web",
        "prometheus-k8s:9090",
        "http:prometheus-k8s:9090",
    ] {
        let path = format!(
            "/api/v1/namespaces/monitoring/services/{name}/proxy/api/v1/query?query=up%7Bjob%3D%22a%22%7D&time=5"
        );
        let (status, ct, v) = send(get(&path)).await;
        assert_eq!((status, ct.as_str()), (200, "application/x-echo"), "{name}");
        assert_eq!(v["method"], "GET");
        assert_eq!(v["path"], "/api/v1/query");
        assert_eq!(v["query"], "query=up%7Bjob%3D%22a%22%7D&time=5");
    }
    // A POST form with its content type, and the backend's status.
    let post = hyper::Request::post(
        "/api/v1/namespaces/monitoring/services/prometheus-k8s:web/proxy/teapot",
    )
    .header("content-type", "application/x-www-form-urlencoded")
    .body(b"query=up&time=5".to_vec())
    .expect("a POST");
    let (status, _, v) = send(post).await;
    assert_eq!(status, 418);
    assert_eq!(v["method"], "POST");
    assert_eq!(v["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(v["body"], "query=up&time=5");
    assert_eq!(d.calls("create", "services/proxy"), 1);
    // A port without a backend keeps the synthetic exposition; a missing service is 404.
    let (status, _, _) = send(get(
        "/api/v1/namespaces/monitoring/services/prometheus-k8s:reloader-web/proxy/api/v1/query",
    ))
    .await;
    assert_eq!(status, 404);
    let (status, _, v) = send(get(
        "/api/v1/namespaces/monitoring/services/x:9090/proxy/api/v1/query",
    ))
    .await;
    assert_eq!((status, v["kind"].as_str()), (404, Some("Status")));
    // A forbidden POST is refused by the API server, not passed on.
    d.forbid("create", "services/proxy");
    let post = hyper::Request::post(
        "/api/v1/namespaces/monitoring/services/prometheus-k8s:web/proxy/api/v1/query",
    )
    .body(b"query=up".to_vec())
    .expect("a POST");
    let (status, _, v) = send(post).await;
    assert_eq!((status, v["reason"].as_str()), (403, Some("Forbidden")));
}
