//! Tests of `k8s://` addresses, the Service's port choice, proxy paths and error sentences.

use k8s_openapi::api::core::v1::Service;
use serde_json::json;

use super::*;

fn svc(ports: serde_json::Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": "prometheus-k8s", "namespace": "monitoring"},
        "spec": {"ports": ports},
    }))
    .expect("a valid Service")
}

#[test]
fn parses_addresses() {
    let a = K8sAddress::parse("k8s://monitoring/prometheus-k8s:9090").unwrap();
    assert_eq!(a.namespace, "monitoring");
    assert_eq!(a.service, "prometheus-k8s");
    assert_eq!(a.port, Some(PortRef::Number(9090)));
    assert_eq!(a.base_path, "");
    let a = K8sAddress::parse("k8s://monitoring/prometheus-operated").unwrap();
    assert_eq!(a.port, None);
    let a = K8sAddress::parse("k8s://mimir/mimir-query-frontend:http-metrics/prometheus/").unwrap();
    assert_eq!(a.port, Some(PortRef::Name("http-metrics".into())));
    assert_eq!(a.base_path, "/prometheus");
    assert!(K8sAddress::is_k8s("K8S://a/b"));
    assert!(!K8sAddress::is_k8s("http://a/b"));
}

#[test]
fn address_errors_name_the_part() {
    let err = |s: &str| K8sAddress::parse(s).unwrap_err().to_string();
    assert!(
        err("k8s://").contains("namespace and service are missing"),
        "{}",
        err("k8s://")
    );
    assert!(err("k8s://monitoring").contains("service is missing"));
    assert!(err("k8s://monitoring/").contains("service is missing"));
    assert!(err("k8s:///svc").contains("namespace is missing"));
    assert!(err("k8s://Monitoring/svc").contains("namespace \"Monitoring\""));
    assert!(err("k8s://ns/svc_1").contains("service \"svc_1\""));
    assert!(err("k8s://ns/svc:").contains("port after ':' is empty"));
    assert!(err("k8s://ns/svc:70000").contains("not between 1 and 65535"));
    assert!(err("k8s://ns/svc:0").contains("not between 1 and 65535"));
    assert!(err("k8s://ns/svc:Web").contains("neither a number nor a port name"));
    assert!(err("http://ns/svc").contains("does not start with k8s://"));
    assert!(err("k8s://ns/svc:9090/a b").contains("path"));
    // Every message shows the expected form.
    assert!(err("k8s://").contains("k8s://NAMESPACE/SERVICE[:PORT]"));
}

#[test]
fn chooses_web_http_9090_or_the_only_port() {
    let s = svc(json!([
        {"name": "reloader-web", "port": 8080},
        {"name": "web", "port": 9090},
    ]));
    assert_eq!(choose_port(&s, None, &[]).unwrap().number, 9090);
    let s = svc(json!([{"name": "grpc", "port": 10901}, {"name": "http", "port": 10902}]));
    let p = choose_port(&s, None, &[]).unwrap();
    assert_eq!((p.number, p.name.as_str(), p.https), (10902, "http", false));
    let s = svc(json!([{"name": "metrics", "port": 8080}, {"name": "api", "port": 9090}]));
    assert_eq!(choose_port(&s, None, &[]).unwrap().name, "api");
    let s = svc(json!([{"port": 8428}]));
    let p = choose_port(&s, None, &[]).unwrap();
    assert_eq!((p.number, p.name.as_str()), (8428, ""));
    let s = svc(json!([{"name": "grpc", "port": 9095}, {"name": "http-metrics", "port": 8080}]));
    assert!(choose_port(&s, None, &[]).is_err());
    assert_eq!(
        choose_port(&s, None, &["http-metrics"]).unwrap().number,
        8080
    );
}

#[test]
fn a_named_or_numbered_port_must_exist() {
    let s = svc(json!([{"name": "web", "port": 9090}, {"name": "grpc", "port": 10901}]));
    assert_eq!(
        choose_port(&s, Some(&PortRef::Name("grpc".into())), &[])
            .unwrap()
            .number,
        10901
    );
    assert_eq!(
        choose_port(&s, Some(&PortRef::Number(9090)), &[])
            .unwrap()
            .name,
        "web"
    );
    let e = choose_port(&s, Some(&PortRef::Number(80)), &[]).unwrap_err();
    assert_eq!(e, "has no port 80 (it has: web 9090, grpc 10901)");
    let e = choose_port(
        &svc(json!([{"name": "a", "port": 1}, {"name": "b", "port": 2}])),
        None,
        &[],
    )
    .unwrap_err();
    assert!(
        e.contains("no port named web or http") && e.contains("it has: a 1, b 2"),
        "{e}"
    );
    let empty: Service = serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap();
    assert!(
        choose_port(&empty, None, &[])
            .unwrap_err()
            .contains("it has no ports")
    );
}

#[test]
fn https_from_the_port_name_or_app_protocol() {
    let s = svc(json!([{"name": "https", "port": 9091}]));
    assert!(choose_port(&s, None, &[]).unwrap().https);
    let s = svc(json!([{"name": "https-web", "port": 9091}, {"name": "x", "port": 1}]));
    assert!(
        choose_port(&s, Some(&PortRef::Number(9091)), &[])
            .unwrap()
            .https
    );
    let s = svc(json!([{"name": "web", "port": 9090, "appProtocol": "HTTPS"}]));
    assert!(choose_port(&s, None, &[]).unwrap().https);
    let s = svc(json!([{"name": "web", "port": 9090, "appProtocol": "http"}]));
    assert!(!choose_port(&s, None, &[]).unwrap().https);
}

fn transport(port: ChosenPort, base: &str) -> KubeTransport {
    let config = kube::Config::new("https://127.0.0.1:6443".parse().unwrap());
    let client = kube::Client::try_from(config).expect("a client");
    KubeTransport::new(
        client,
        "https://127.0.0.1:6443",
        "monitoring",
        "prometheus-k8s",
        &port,
        base,
    )
}

#[tokio::test]
async fn proxy_uris_and_description() {
    let web = ChosenPort {
        number: 9090,
        name: "web".into(),
        https: false,
    };
    let t = transport(web.clone(), "");
    assert_eq!(
        t.describe(),
        "k8s://monitoring/prometheus-k8s:9090 (via https://127.0.0.1:6443)"
    );
    let get = ApiRequest {
        method: Method::Get,
        path: "/api/v1/query".into(),
        params: vec![
            ("query".into(), "up{a=\"b c\"}".into()),
            ("time".into(), "1".into()),
        ],
    };
    assert_eq!(
        t.uri(&get),
        "/api/v1/namespaces/monitoring/services/prometheus-k8s:web/proxy/api/v1/query?query=up%7Ba%3D%22b+c%22%7D&time=1"
    );
    let post = ApiRequest {
        method: Method::Post,
        ..get.clone()
    };
    assert_eq!(
        t.uri(&post),
        "/api/v1/namespaces/monitoring/services/prometheus-k8s:web/proxy/api/v1/query"
    );
    let https = ChosenPort {
        number: 8443,
        name: String::new(),
        https: true,
    };
    let t = transport(https, "/prometheus");
    assert_eq!(
        t.uri(&post),
        "/api/v1/namespaces/monitoring/services/https:prometheus-k8s:8443/proxy/prometheus/api/v1/query"
    );
    assert_eq!(
        t.describe(),
        "k8s://monitoring/prometheus-k8s:8443/prometheus (via https://127.0.0.1:6443)"
    );
}

#[tokio::test]
async fn api_server_statuses_become_sentences() {
    let t = transport(
        ChosenPort {
            number: 9090,
            name: "web".into(),
            https: false,
        },
        "",
    );
    let status = |code: u16, msg: &str| {
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": msg, "code": code})
            .to_string()
            .into_bytes()
    };
    let json_ct = Some("application/json");
    let r = api_server_refusal(401, json_ct, &status(401, "Unauthorized"), &t).unwrap();
    assert!(r.contains("401 Unauthorized"), "{r}");
    let r = api_server_refusal(
        404,
        json_ct,
        &status(404, "services \"prometheus-k8s\" not found"),
        &t,
    )
    .unwrap();
    assert_eq!(r, "service monitoring/prometheus-k8s not found");
    let r = api_server_refusal(
        403,
        json_ct,
        &status(403, "User \"x\" cannot get services/proxy"),
        &t,
    )
    .unwrap();
    assert!(r.starts_with("forbidden (403): User"), "{r}");
    // The service's own answers pass through, whatever their status.
    let prom = br#"{"status":"error","errorType":"bad_data","error":"x"}"#;
    assert_eq!(api_server_refusal(400, json_ct, prom, &t), None);
    assert_eq!(
        api_server_refusal(404, Some("text/plain"), b"404 page not found", &t),
        None
    );
    assert_eq!(api_server_refusal(200, json_ct, &status(200, ""), &t), None);
}
