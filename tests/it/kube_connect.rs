//! kmon's connection to a cluster against the API server double: the kubeconfig read by
//! `discovery::kubernetes::connect` (token, client certificate and exec-plugin users), and
//! scrapes through the API server's proxy paths with `ScrapeClient::through_api_server`
//! (expositions, a 403 that names the verb and resource, a failing kubelet that fails the
//! scrape at once instead of being retried, and the bound on concurrent proxy requests).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::core::v1::Node;
use kmon::config::ScrapeConfig;
use kmon::discovery::kubernetes::connect::{Env, KubeOptions, Resolution, resolve};
use kmon::scrape::{FetchError, ScrapeClient};
use kube::api::{Api, ListParams};

use crate::kube_double::{DoubleOptions, KubeDouble, User};

fn clusters(r: Resolution) -> kmon::discovery::kubernetes::connect::Clusters {
    match r {
        Resolution::Clusters(c) => c,
        Resolution::ThisMachine(why) => panic!("fell back to this machine: {why}"),
        Resolution::NoKubeconfig => panic!("no kubeconfig"),
    }
}

async fn node_names(client: kube::Client) -> Vec<String> {
    let nodes: Api<Node> = Api::all(client);
    let mut names: Vec<String> = nodes
        .list(&ListParams::default())
        .await
        .expect("list nodes")
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_certificate_users_connect_through_the_kubeconfig() {
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(2, 1);
    let dir = tempfile::tempdir().unwrap();
    for user in [User::Token, User::Cert] {
        let path = dir.path().join(format!("{user:?}"));
        d.kubeconfig(&path, user).unwrap();
        let opts = KubeOptions {
            kubeconfig: Some(path),
            ..KubeOptions::default()
        };
        let c = clusters(resolve(&opts, &Env::default()).await.expect("resolve"));
        assert_eq!(c.clusters[0].context, "kube-double");
        assert_eq!(c.clusters[0].server, d.url());
        let client = c.clusters[0].client().unwrap();
        assert_eq!(node_names(client).await, ["node-0", "node-1"], "{user:?}");
    }
}

/// A kubeconfig whose user runs an exec credential plugin: a shell script that prints an
/// ExecCredential with the token in `<dir>/tok` and appends a line to `<dir>/runs` per run.
/// When `<dir>/need-login` exists it needs a terminal: without one it fails, with one it
/// asks for a code on standard error and reads it from standard input.
pub fn exec_kubeconfig(
    d: &KubeDouble,
    dir: &std::path::Path,
    interactive: &str,
) -> std::path::PathBuf {
    let script = dir.join("plugin.sh");
    std::fs::write(dir.join("tok"), d.token()).unwrap();
    let q = |name: &str| format!("'{}'", dir.join(name).display());
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
echo run >> {runs}
if [ -f {need} ]; then
  if [ -t 0 ]; then
    printf 'kmon-test sign-in code: ' >&2
    read code
    [ "$code" = "4711" ] || {{ echo 'wrong code' >&2; exit 1; }}
    rm {need}
  else
    echo 'interactive sign-in required' >&2
    exit 1
  fi
fi
printf '{{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{{"token":"%s"}}}}' "$(cat {tok})"
"#,
            runs = q("runs"),
            need = q("need-login"),
            tok = q("tok"),
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ca = base64::engine::general_purpose::STANDARD.encode(d.ca_pem());
    let cfg = serde_json::json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "exec",
        "clusters": [{"name": "exec", "cluster": {"server": d.url(), "certificate-authority-data": ca}}],
        "users": [{"name": "exec", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": script.display().to_string(),
            "interactiveMode": interactive
        }}}],
        "contexts": [{"name": "exec", "context": {"cluster": "exec", "user": "exec", "namespace": "apps"}}]
    });
    let path = dir.join("kubeconfig");
    std::fs::write(&path, cfg.to_string()).unwrap();
    path
}

/// How many times the plugin of [`exec_kubeconfig`] ran.
pub fn plugin_runs(dir: &std::path::Path) -> usize {
    std::fs::read_to_string(dir.join("runs"))
        .unwrap_or_default()
        .lines()
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_plugin_user_gets_its_token_from_the_plugin() {
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(1, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = exec_kubeconfig(&d, dir.path(), "Never");
    let env = Env {
        kubeconfig: Some(path.clone().into()),
        ..Env::default()
    };
    let mut c = clusters(
        resolve(&KubeOptions::default(), &env)
            .await
            .expect("resolve"),
    );
    assert_eq!(c.clusters[0].namespace.as_deref(), Some("apps"));
    assert!(c.namespaces.is_empty(), "all namespaces unless -n");
    assert_eq!(
        plugin_runs(dir.path()),
        0,
        "nothing runs before the first use"
    );
    c.clusters[0].prepare().await.expect("the plugin signs in");
    let client = c.clusters[0].client().unwrap();
    assert_eq!(node_names(client).await, ["node-0"]);
    assert_eq!(plugin_runs(dir.path()), 1, "the plugin ran once");

    // The token stops working: the next 401 runs the plugin again, which hands out the
    // new one, and requests work again without a restart.
    let c2 = c.clusters[0].client().unwrap();
    std::fs::write(dir.path().join("tok"), "rotated-token").unwrap();
    d.add_token("rotated-token", crate::kube_double::TOKEN_USER);
    d.revoke_token(d.token());
    let nodes: Api<Node> = Api::all(c2);
    let first = nodes.list(&ListParams::default()).await;
    assert!(first.is_err(), "the revoked token is refused");
    let start = std::time::Instant::now();
    loop {
        if let Ok(l) = nodes.list(&ListParams::default()).await {
            assert_eq!(l.items.len(), 1);
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no new token after 30s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(plugin_runs(dir.path()), 2);
}

async fn proxy_client(d: &KubeDouble, slots: usize) -> (ScrapeClient, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    d.kubeconfig(&path, User::Token).unwrap();
    let opts = KubeOptions {
        kubeconfig: Some(path),
        ..KubeOptions::default()
    };
    let c = clusters(resolve(&opts, &Env::default()).await.expect("resolve"));
    let client = c.clusters[0].client().unwrap();
    let sc = ScrapeConfig::new("cadvisor");
    let slots = Arc::new(tokio::sync::Semaphore::new(slots));
    (ScrapeClient::through_api_server(&sc, client, slots), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_go_through_the_node_and_pod_proxies() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(2, 4);
    let (client, _dir) = proxy_client(&d, 4).await;
    let base = d.url();
    let page = client
        .fetch(
            &format!("{base}/api/v1/nodes/node-1/proxy/metrics/cadvisor"),
            Duration::from_secs(10),
        )
        .await
        .expect("cadvisor through the node proxy");
    assert!(
        page.body.contains("container_cpu_usage_seconds_total{"),
        "{}",
        &page.body[..200.min(page.body.len())]
    );
    let n = kmon::exposition::parse(&page.body, page.format)
        .filter(|e| e.is_ok())
        .count();
    assert!(n > 10, "{n} entries");
    assert_eq!(d.requests("/api/v1/nodes/node-1/proxy/metrics/cadvisor"), 1);

    let page = client
        .fetch(
            &format!("{base}/api/v1/nodes/node-0/proxy/metrics/resource"),
            Duration::from_secs(10),
        )
        .await
        .expect("resource metrics");
    assert!(page.body.contains("node_cpu_usage_seconds_total"));

    // An annotated pod through the pod proxy: the double serves an app exposition.
    let (ns, pod) = sum
        .annotated_pods
        .first()
        .expect("an annotated pod")
        .clone();
    let page = client
        .fetch(
            &format!("{base}/api/v1/namespaces/{ns}/pods/{pod}:8080/proxy/metrics"),
            Duration::from_secs(10),
        )
        .await
        .expect("pod proxy");
    assert!(page.body.contains("http_requests_total"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_proxy_names_verb_and_resource_and_a_dead_kubelet_fails_at_once() {
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(2, 1);
    let (client, _dir) = proxy_client(&d, 4).await;
    let base = d.url();
    d.forbid("get", "nodes/proxy");
    let e = client
        .fetch(
            &format!("{base}/api/v1/nodes/node-0/proxy/metrics"),
            Duration::from_secs(10),
        )
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, FetchError::Status(_)), "{text}");
    assert!(
        text.contains("403") && text.contains("nodes/proxy") && text.contains("get"),
        "{text}"
    );
    d.allow("get", "nodes/proxy");

    // kube-client would retry a 503 for minutes; kmon's connection does not.
    d.fail_path("/api/v1/nodes/node-1/proxy/", 503);
    let e = client
        .fetch(
            &format!("{base}/api/v1/nodes/node-1/proxy/metrics"),
            Duration::from_secs(20),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("503"), "{e}");
    assert_eq!(
        d.requests("/api/v1/nodes/node-1/proxy/metrics"),
        1,
        "no retries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_requests_wait_for_a_free_slot_within_the_timeout() {
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(2, 1);
    let (client, _dir) = proxy_client(&d, 1).await;
    let base = d.url();
    d.delay_path("/api/v1/nodes/node-0/proxy/", Duration::from_secs(2));
    let (u1, u2) = (
        format!("{base}/api/v1/nodes/node-0/proxy/metrics"),
        format!("{base}/api/v1/nodes/node-0/proxy/metrics/cadvisor"),
    );
    let first = client.fetch(&u1, Duration::from_secs(3));
    let second = client.fetch(&u2, Duration::from_secs(3));
    let (a, b) = tokio::join!(first, second);
    // One slot: whichever goes second waits ~2 s for it and cannot finish its own 2 s
    // request inside its 3 s timeout.
    let oks = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(oks, 1, "{a:?} / {b:?}");
    let timed_out = [a, b].into_iter().find_map(|r| r.err()).unwrap();
    assert!(matches!(timed_out, FetchError::Timeout(_)), "{timed_out}");
}

/// A plugin that answers with a client certificate (not a token) is handed back to
/// kube-client, whose TLS setup takes the certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_plugin_with_a_client_certificate_works_too() {
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(1, 1);
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = d.client_cert(crate::kube_double::CERT_USER);
    let cred = serde_json::json!({
        "apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
        "status": {"clientCertificateData": cert, "clientKeyData": key}
    });
    std::fs::write(dir.path().join("cred.json"), cred.to_string()).unwrap();
    let script = dir.path().join("plugin.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat '{}'\n",
            dir.path().join("cred.json").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ca = base64::engine::general_purpose::STANDARD.encode(d.ca_pem());
    let cfg = serde_json::json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": d.url(), "certificate-authority-data": ca}}],
        "users": [{"name": "x", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": script.display().to_string(), "interactiveMode": "Never"}}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}]
    });
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, cfg.to_string()).unwrap();
    let opts = KubeOptions {
        kubeconfig: Some(path),
        ..KubeOptions::default()
    };
    let mut c = clusters(resolve(&opts, &Env::default()).await.expect("resolve"));
    c.clusters[0].prepare().await.expect("prepare");
    assert!(c.clusters[0].exec.is_none(), "handed back to kube-client");
    let client = c.clusters[0].client().unwrap();
    assert_eq!(node_names(client).await, ["node-0"]);
}
