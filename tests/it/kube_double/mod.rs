//! An in-process Kubernetes API server double for the integration tests: HTTPS on a
//! loopback port with a CA and certificates made per test, a bearer-token user and a
//! client-certificate user, an in-memory store of nodes, pods, services, endpoints,
//! endpoint slices, ingresses, namespaces and the workload kinds (deployments, replicasets,
//! statefulsets, daemonsets, jobs, cronjobs, persistentvolumeclaims, and
//! horizontalpodautoscalers at autoscaling/v2) with LIST/WATCH (selectors, pagination,
//! bookmarks, 410 Gone), node/pod/service proxy paths serving kubelet, cAdvisor and app
//! expositions (or, for a service port a test chooses, a real HTTP server on loopback,
//! GET and POST), and switches for 403s and outages. Every Kubernetes test (discovery,
//! proxy scraping, kube state series, RBAC, outage, the cluster browser) runs against it.
//!
//! The double owns its own tokio runtime (one worker thread), so it works the same from
//! plain `#[test]`s that run the `kmon` binary and from `#[tokio::test]`s; dropping it
//! stops the server. Layout: `store` (objects, history), `selectors`, `api` (the HTTP
//! handlers), `discovery` (discovery documents), `proxy` (proxy subresources), `expo`
//! (metric expositions), `controllers` (Endpoints/EndpointSlices from pods), `fixture`
//! (a generated cluster), `kubeconfig` (files pointing at doubles), `tests` (the
//! double's own tests).

#![allow(dead_code)]

mod api;
mod controllers;
mod discovery;
mod expo;
mod fixture;
mod kubeconfig;
mod proxy;
mod selectors;
mod store;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use tokio::task::{JoinHandle, JoinSet};

#[allow(unused_imports)]
pub use fixture::{DEPLOYMENTS, FixtureSummary, node as fixture_node};
pub use kubeconfig::{KubeContext, write_kubeconfig};
pub use store::Kind;

/// The user name the bearer token authenticates as.
pub const TOKEN_USER: &str = "kmon-token-user";
/// The common name (and user name) of the client certificate.
pub const CERT_USER: &str = "kmon-cert-user";

/// How a kubeconfig written by the double authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum User {
    /// `token:` with the double's bearer token ([`TOKEN_USER`]).
    Token,
    /// `client-certificate-data`/`client-key-data` signed by the double's CA ([`CERT_USER`]).
    Cert,
}

/// Settings of a double; `Default` suits most tests.
#[derive(Clone, Debug)]
pub struct DoubleOptions {
    /// The bearer token accepted for [`TOKEN_USER`].
    pub token: String,
    /// How often an open watch that asked for bookmarks gets one.
    pub bookmark_interval: Duration,
    /// The longest a watch stays open, whatever `timeoutSeconds` asks.
    pub max_watch: Duration,
    /// `gitVersion` reported by `/version`.
    pub git_version: String,
}

impl Default for DoubleOptions {
    fn default() -> Self {
        DoubleOptions {
            token: "kmon-double-token-0123456789".to_string(),
            bookmark_interval: Duration::from_secs(2),
            max_watch: Duration::from_secs(300),
            git_version: "v1.33.2".to_string(),
        }
    }
}

/// What the handlers share with the `KubeDouble` handle.
pub(crate) struct Shared {
    pub store: Mutex<store::Store>,
    /// Bearer token -> user name.
    pub tokens: Mutex<HashMap<String, String>>,
    /// Client certificate (DER) -> user name.
    pub cert_users: Mutex<HashMap<Vec<u8>, String>>,
    /// (verb, resource) pairs answered with 403; verb or resource "*" matches any.
    pub forbidden: Mutex<HashSet<(String, String)>>,
    /// (verb, resource) pairs answered with 403 at the cluster scope only (a user whose
    /// RoleBindings cover some namespaces).
    pub forbidden_cluster_wide: Mutex<HashSet<(String, String)>>,
    /// Requests served, by URL path (no query).
    pub requests: Mutex<BTreeMap<String, u64>>,
    /// Authenticated API calls by (verb, resource), e.g. ("watch", "pods"),
    /// ("get", "nodes/proxy").
    pub calls: Mutex<BTreeMap<(String, String), u64>>,
    /// The part of `calls` answered 403.
    pub forbidden_calls: Mutex<BTreeMap<(String, String), u64>>,
    /// Path prefixes answered with an error code instead (after authentication).
    pub failures: Mutex<Vec<(String, u16)>>,
    /// Path prefixes answered only after a delay.
    pub delays: Mutex<Vec<(String, Duration)>>,
    /// Service ports whose proxy goes to a real HTTP server: (namespace, service, port)
    /// -> base URL.
    pub backends: Mutex<HashMap<(String, String, u16), String>>,
    pub started: Instant,
    pub opts: DoubleOptions,
    pub addr: SocketAddr,
}

/// A running API server double; stops when dropped.
pub struct KubeDouble {
    shared: Arc<Shared>,
    rt: Option<tokio::runtime::Runtime>,
    tls: Arc<rustls::ServerConfig>,
    server: Mutex<Option<JoinHandle<()>>>,
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
    /// The client certificate and key (PEM) of [`CERT_USER`].
    cert_pem: String,
    key_pem: String,
}

fn crypto() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl KubeDouble {
    /// Makes a CA, a server certificate for 127.0.0.1 and a client certificate, and
    /// starts serving HTTPS on a free loopback port.
    pub fn start(opts: DoubleOptions) -> KubeDouble {
        let ca_key = KeyPair::generate().expect("generate the CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "kube-double-ca");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign the CA");
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().expect("generate the server key");
        let mut sp = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("server params");
        sp.distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = sp
            .signed_by(&server_key, &issuer)
            .expect("sign the server certificate");

        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(ca_cert.der().clone())
            .expect("add the CA to the client roots");
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), crypto())
                .allow_unauthenticated()
                .build()
                .expect("client certificate verifier");
        let mut tls = rustls::ServerConfig::builder_with_provider(crypto())
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![server_cert.der().clone(), ca_cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
            )
            .expect("server certificate and key");
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];

        let std_listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = std_listener.local_addr().expect("local address");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("kube-double")
            .enable_all()
            .build()
            .expect("the double's runtime");
        let mut tokens = HashMap::new();
        tokens.insert(opts.token.clone(), TOKEN_USER.to_string());
        let shared = Arc::new(Shared {
            store: Mutex::new(store::Store::new()),
            tokens: Mutex::new(tokens),
            cert_users: Mutex::new(HashMap::new()),
            forbidden: Mutex::new(HashSet::new()),
            forbidden_cluster_wide: Mutex::new(HashSet::new()),
            requests: Mutex::new(BTreeMap::new()),
            calls: Mutex::new(BTreeMap::new()),
            forbidden_calls: Mutex::new(BTreeMap::new()),
            failures: Mutex::new(Vec::new()),
            delays: Mutex::new(Vec::new()),
            backends: Mutex::new(HashMap::new()),
            started: Instant::now(),
            opts,
            addr,
        });
        let mut double = KubeDouble {
            shared,
            rt: Some(rt),
            tls: Arc::new(tls),
            server: Mutex::new(None),
            ca_pem: ca_cert.pem(),
            issuer,
            cert_pem: String::new(),
            key_pem: String::new(),
        };
        let (cert_pem, key_pem) = double.client_cert(CERT_USER);
        double.cert_pem = cert_pem;
        double.key_pem = key_pem;
        double.spawn_server(std_listener);
        double
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.rt
            .as_ref()
            .expect("the runtime lives until drop")
            .handle()
    }

    fn spawn_server(&self, listener: std::net::TcpListener) {
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let _enter = self.handle().enter();
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        let acceptor = tokio_rustls::TlsAcceptor::from(self.tls.clone());
        let task = self
            .handle()
            .spawn(serve(listener, acceptor, self.shared.clone()));
        *self.server.lock() = Some(task);
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.shared.addr)
    }

    pub fn port(&self) -> u16 {
        self.shared.addr.port()
    }

    /// The CA certificate (PEM) that signed the server and client certificates.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The bearer token of [`TOKEN_USER`].
    pub fn token(&self) -> &str {
        &self.shared.opts.token
    }

    /// Accepts `token` as user `user` from now on.
    pub fn add_token(&self, token: &str, user: &str) {
        self.shared
            .tokens
            .lock()
            .insert(token.to_string(), user.to_string());
    }

    /// Refuses `token` from now on (401), as an API server does once a token expires.
    pub fn revoke_token(&self, token: &str) {
        self.shared.tokens.lock().remove(token);
    }

    /// A new client certificate and key (PEM) for user `user`, signed by the CA and
    /// accepted from now on.
    pub fn client_cert(&self, user: &str) -> (String, String) {
        let key = KeyPair::generate().expect("generate a client key");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("client params");
        p.distinguished_name.push(DnType::CommonName, user);
        p.distinguished_name
            .push(DnType::OrganizationName, "system:masters");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = p
            .signed_by(&key, &self.issuer)
            .expect("sign a client certificate");
        self.shared
            .cert_users
            .lock()
            .insert(cert.der().to_vec(), user.to_string());
        (cert.pem(), key.serialize_pem())
    }

    /// Adds or replaces an object (any k8s-openapi type of a served kind); returns the
    /// resourceVersion it got.
    pub fn apply<K>(&self, obj: &K) -> u64
    where
        K: k8s_openapi::Resource + serde::Serialize,
    {
        let mut v = serde_json::to_value(obj).expect("k8s-openapi objects serialize");
        v["kind"] = Value::from(K::KIND);
        let stored = self
            .apply_json(v)
            .unwrap_or_else(|e| panic!("apply a {}: {e}", K::KIND));
        stored["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_default()
    }

    /// Adds or replaces an object given as JSON (`kind` and `metadata.name` set); returns
    /// it as stored.
    pub fn apply_json(&self, obj: Value) -> Result<Value, String> {
        self.shared.store.lock().apply(obj)
    }

    /// Deletes an object; `false` when there was none.
    pub fn delete(&self, kind: Kind, ns: &str, name: &str) -> bool {
        self.shared.store.lock().delete(kind, ns, name)
    }

    /// Changes a stored object in place (`f` edits its JSON) and stores it as a new
    /// revision (a MODIFIED event); `false` when there is no such object.
    pub fn modify(&self, kind: Kind, ns: &str, name: &str, f: impl FnOnce(&mut Value)) -> bool {
        let mut store = self.shared.store.lock();
        let Some(mut obj) = store.get(kind, ns, name).cloned() else {
            return false;
        };
        f(&mut obj);
        if !obj.is_object() {
            return false;
        }
        obj["kind"] = Value::from(kind.name());
        store.apply(obj).is_ok()
    }

    /// The stored object, as JSON.
    pub fn get(&self, kind: Kind, ns: &str, name: &str) -> Option<Value> {
        self.shared.store.lock().get(kind, ns, name).cloned()
    }

    /// How many objects of `kind` there are.
    pub fn count(&self, kind: Kind) -> usize {
        self.shared.store.lock().list(kind, None).len()
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.store.lock().rv()
    }

    /// Compacts the history: open watches end with a 410 Gone ERROR event, and watches or
    /// continue tokens from an older resourceVersion get 410 too.
    pub fn expire_history(&self) {
        self.shared.store.lock().expire_history();
    }

    /// Answers `verb` (get, list, watch) on `resource` (pods, nodes, nodes/proxy,
    /// pods/proxy, services/proxy, ...) with 403 Forbidden; "*" matches any. The API
    /// server's own `/metrics` is ("get", "/metrics").
    pub fn forbid(&self, verb: &str, resource: &str) {
        self.shared
            .forbidden
            .lock()
            .insert((verb.to_string(), resource.to_string()));
    }

    /// Answers `verb` on `resource` with 403 when asked across all namespaces, as for a
    /// user with RoleBindings but no ClusterRoleBinding; namespaced requests still pass.
    pub fn forbid_cluster_wide(&self, verb: &str, resource: &str) {
        self.shared
            .forbidden_cluster_wide
            .lock()
            .insert((verb.to_string(), resource.to_string()));
    }

    /// Undoes [`KubeDouble::forbid`] for the same pair.
    pub fn allow(&self, verb: &str, resource: &str) {
        self.shared
            .forbidden
            .lock()
            .remove(&(verb.to_string(), resource.to_string()));
    }

    /// `true`: close the port and every open connection (connections are refused);
    /// `false`: listen on the same port again.
    pub fn set_down(&self, down: bool) {
        let mut server = self.server.lock();
        match (down, server.is_some()) {
            (true, true) => {
                if let Some(task) = server.take() {
                    task.abort();
                }
                // Wait (bounded) until the task, and with it the listener, is gone.
                let deadline = Instant::now() + Duration::from_secs(5);
                while std::net::TcpStream::connect(self.shared.addr).is_ok()
                    && Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            (false, false) => {
                drop(server);
                let deadline = Instant::now() + Duration::from_secs(10);
                let listener = loop {
                    match std::net::TcpListener::bind(self.shared.addr) {
                        Ok(l) => break l,
                        Err(e) if Instant::now() >= deadline => {
                            panic!("rebind {}: {e}", self.shared.addr)
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                };
                self.spawn_server(listener);
            }
            _ => {}
        }
    }

    pub fn is_down(&self) -> bool {
        self.server.lock().is_none()
    }

    /// Requests served at exactly `path` (no query), whatever their answer.
    pub fn requests(&self, path: &str) -> u64 {
        self.shared.requests.lock().get(path).copied().unwrap_or(0)
    }

    /// Requests served at paths starting with `prefix`.
    pub fn requests_matching(&self, prefix: &str) -> u64 {
        self.shared
            .requests
            .lock()
            .iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// Authenticated calls of `verb` (get, list, watch) on `resource` (pods,
    /// nodes/proxy, ...) so far, answered or forbidden.
    pub fn calls(&self, verb: &str, resource: &str) -> u64 {
        self.shared
            .calls
            .lock()
            .get(&(verb.to_string(), resource.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Answers every request whose path starts with `prefix` with `code` (500, 503, 429,
    /// ...) and a Status body, e.g. a kubelet that is down behind the node proxy:
    /// `fail_path("/api/v1/nodes/node-1/proxy/", 503)`.
    pub fn fail_path(&self, prefix: &str, code: u16) {
        self.shared.failures.lock().push((prefix.to_string(), code));
    }

    /// Answers requests whose path starts with `prefix` only after `delay` (a slow API
    /// server or kubelet).
    pub fn delay_path(&self, prefix: &str, delay: Duration) {
        self.shared.delays.lock().push((prefix.to_string(), delay));
    }

    /// Undoes every [`KubeDouble::fail_path`] and [`KubeDouble::delay_path`].
    pub fn clear_faults(&self) {
        self.shared.failures.lock().clear();
        self.shared.delays.lock().clear();
    }

    /// Waits (polling, at most `limit`) until at least `n` requests were served at paths
    /// starting with `prefix`; `false` on timeout. For tests of a running `kmon`.
    pub fn wait_for_requests(&self, prefix: &str, n: u64, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.requests_matching(prefix) >= n {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (polling, at most `limit`) until at least `n` calls of `verb` on `resource`
    /// were made; `false` on timeout.
    pub fn wait_for_calls(&self, verb: &str, resource: &str, n: u64, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.calls(verb, resource) >= n {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every path served so far with its request count.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.shared.requests.lock().clone()
    }
}

impl Drop for KubeDouble {
    fn drop(&mut self) {
        // Close the port first (bounded wait), so nothing answers once the double is gone.
        self.set_down(true);
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Accepts TLS connections and serves each on its own task until aborted (an outage or
/// drop), which also ends every open connection.
async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    shared: Arc<Shared>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let acceptor = acceptor.clone();
                let shared = shared.clone();
                conns.spawn(async move {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let peer: Option<Arc<CertificateDer<'static>>> = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .map(|c| Arc::new(c.clone().into_owned()));
                    let svc = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        let peer = peer.clone();
                        async move {
                            Ok::<_, Infallible>(api::handle(shared, peer.as_deref(), req).await)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                        .await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}
