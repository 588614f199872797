//! Tests of `remote_write` validation: Prometheus 3.5's defaults and its errors.

use std::time::Duration;

use super::*;
use crate::config::load_str;

fn load(doc: &str) -> std::result::Result<Vec<RemoteWriteConfig>, String> {
    load_str(doc, "prometheus.yml")
        .map(|(c, _)| c.remote_write)
        .map_err(|e| e.to_string())
}

#[test]
fn defaults_match_prometheus() {
    let rw = load("remote_write:\n  - url: http://127.0.0.1:9090/api/v1/write\n").unwrap();
    assert_eq!(rw.len(), 1);
    let c = &rw[0];
    assert_eq!(c.url, "http://127.0.0.1:9090/api/v1/write");
    assert_eq!(c.remote_timeout, Duration::from_secs(30));
    assert!(!c.name_given);
    assert_eq!(c.name.len(), 6);
    assert!(c.hash.starts_with(&c.name));
    assert!(c.follow_redirects);
    assert!(!c.enable_http2);
    assert_eq!(c.queue_config, QueueConfig::default());
    let q = &c.queue_config;
    assert_eq!(
        (
            q.capacity,
            q.max_shards,
            q.min_shards,
            q.max_samples_per_send
        ),
        (10_000, 50, 1, 2000)
    );
    assert_eq!(q.batch_send_deadline, Duration::from_secs(5));
    assert_eq!(q.min_backoff, Duration::from_millis(30));
    assert_eq!(q.max_backoff, Duration::from_secs(5));
    assert!(!q.retry_on_http_429);
    assert_eq!(q.sample_age_limit, Duration::ZERO);
    assert_eq!(c.metadata_config, MetadataConfig::default());
    assert!(load("global: {}\n").unwrap().is_empty());
    // The generated name is stable.
    let again = load("remote_write:\n  - url: http://127.0.0.1:9090/api/v1/write\n").unwrap();
    assert_eq!(again[0].name, c.name);
}

#[test]
fn every_key_is_read() {
    let doc = "\
remote_write:
  - url: https://mimir.example:443/api/v1/push
    name: mimir
    remote_timeout: 10s
    headers:
      X-Scope-OrgID: team-a
    basic_auth: {username: u, password: p}
    tls_config: {insecure_skip_verify: true}
    follow_redirects: false
    enable_http2: true
    protobuf_message: prometheus.WriteRequest
    write_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
    queue_config:
      capacity: 500
      max_shards: 4
      min_shards: 2
      max_samples_per_send: 100
      batch_send_deadline: 1s
      min_backoff: 10ms
      max_backoff: 1s
      retry_on_http_429: true
      sample_age_limit: 1h
    metadata_config:
      send: false
      send_interval: 2m
      max_samples_per_send: 10
";
    let c = &load(doc).unwrap()[0];
    assert_eq!(c.name, "mimir");
    assert!(c.name_given);
    assert_eq!(c.remote_timeout, Duration::from_secs(10));
    assert_eq!(
        c.headers.get("X-Scope-OrgID").map(String::as_str),
        Some("team-a")
    );
    assert_eq!(c.basic_auth.as_ref().unwrap().username, "u");
    assert!(c.tls_config.insecure_skip_verify);
    assert!(!c.follow_redirects && c.enable_http2);
    assert_eq!(c.write_relabel_configs.len(), 1);
    let q = &c.queue_config;
    assert_eq!(
        (
            q.capacity,
            q.max_shards,
            q.min_shards,
            q.max_samples_per_send
        ),
        (500, 4, 2, 100)
    );
    assert_eq!(q.batch_send_deadline, Duration::from_secs(1));
    assert_eq!(q.min_backoff, Duration::from_millis(10));
    assert_eq!(q.max_backoff, Duration::from_secs(1));
    assert!(q.retry_on_http_429);
    assert_eq!(q.sample_age_limit, Duration::from_secs(3600));
    assert!(!c.metadata_config.send);
    assert_eq!(c.metadata_config.send_interval, Duration::from_secs(120));
    assert_eq!(c.metadata_config.max_samples_per_send, 10);
}

#[test]
fn errors_name_the_key() {
    let cases: &[(&str, &str)] = &[
        (
            "remote_write:\n  - name: x\n",
            "prometheus.yml:2:5: remote_write[0]: url for remote_write is empty",
        ),
        (
            "remote_write:\n  - url: http://a/w\n    headers:\n      User-Agent: me\n",
            "prometheus.yml:4:7: remote_write[0].headers.User-Agent: User-Agent is a reserved header. It must not be changed",
        ),
        (
            "remote_write:\n  - url: http://a/w\n    headers:\n      authorization: Bearer x\n",
            "prometheus.yml:4:7: remote_write[0].headers.authorization: authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter",
        ),
        (
            "remote_write:\n  - url: http://a/w\n    protobuf_message: io.prometheus.write.v2.Request\n",
            "prometheus.yml:3:5: remote_write[0].protobuf_message: protobuf_message io.prometheus.write.v2.Request (remote-write 2.0) is not supported by kmon yet; use prometheus.WriteRequest",
        ),
        (
            "remote_write:\n  - url: http://a/w\n    protobuf_message: foo\n",
            "prometheus.yml:3:5: remote_write[0].protobuf_message: invalid protobuf_message value: unknown remote write protobuf message foo, supported: prometheus.WriteRequest, io.prometheus.write.v2.Request",
        ),
        (
            "remote_write:\n  - url: http://a/w\n    name: n\n  - url: http://b/w\n    name: n\n",
            "prometheus.yml:5:5: remote_write[1].name: found multiple remote write configs with job name \"n\"",
        ),
        (
            "remote_write:\n  - url: http://a/w\n  - url: http://a/w\n",
            "prometheus.yml:3:5: remote_write[1]: duplicate remote write configs are not allowed, found duplicate for URL: http://a/w",
        ),
        (
            "remote_write:\n  - url: http://a/w\n    queue_config:\n      max_shards: 0\n",
            "prometheus.yml:4:7: remote_write[0].queue_config.max_shards: max_shards must be at least 1",
        ),
        (
            "remote_write:\n  - url: http://a/w\n    queue_config:\n      min_shards: 5\n      max_shards: 2\n",
            "prometheus.yml:4:7: remote_write[0].queue_config.min_shards: min_shards (5) is greater than max_shards (2)",
        ),
        (
            "remote_write:\n  - url: http://a/w\n    queue_config:\n      batch_send_deadline: 5x\n",
            "prometheus.yml:4:7: remote_write[0].queue_config.batch_send_deadline: unknown unit \"x\" in duration \"5x\"",
        ),
        (
            "remote_write:\n  - url: http://a/w\n    queue_config:\n      capacityy: 5\n",
            "prometheus.yml:4:7: remote_write[0].queue_config.capacityy: field capacityy not found in type config.QueueConfig (did you mean \"capacity\"?)",
        ),
        (
            "remote_write:\n  - url: ftp://a/w\n",
            "prometheus.yml:2:5: remote_write[0].url: unsupported URL \"ftp://a/w\": scheme \"ftp\" (want http or https with a host)",
        ),
        (
            "remote_write:\n  -\n",
            "prometheus.yml:2:4: remote_write[0]: empty or null remote write config section",
        ),
        (
            "remote_write:\n  - url: http://a/w\n    write_relabel_configs:\n      -\n",
            "prometheus.yml:4:8: remote_write[0].write_relabel_configs[0]: empty or null relabeling rule in remote write config",
        ),
        (
            "remote_write:\n  - url: http://a/w\n    bearer_token: t\n    basic_auth: {username: u}\n",
            "prometheus.yml:4:5: remote_write[0].basic_auth: at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
        ),
    ];
    for (doc, want) in cases {
        assert_eq!(load(doc).unwrap_err(), *want, "{doc}");
    }
}

#[test]
fn unsupported_keys_are_warnings_by_name() {
    let doc = "remote_write:\n  - url: http://a/w\n    proxy_url: http://proxy:3128\n    send_exemplars: true\n    sigv4: {region: x}\n";
    let (config, warnings) = load_str(doc, "prometheus.yml").unwrap();
    assert_eq!(config.remote_write.len(), 1);
    let keys: Vec<&str> = warnings.iter().map(|w| w.key_path.as_str()).collect();
    assert_eq!(
        keys,
        [
            "remote_write[0].proxy_url",
            "remote_write[0].send_exemplars",
            "remote_write[0].sigv4"
        ]
    );
}

#[test]
fn entries_differing_only_by_secret_are_different() {
    let doc = "remote_write:\n  - url: http://a/w\n    basic_auth: {username: u, password: p1}\n  - url: http://a/w\n    basic_auth: {username: u, password: p2}\n";
    let rw = load(doc).unwrap();
    assert_ne!(rw[0].hash, rw[1].hash);
    assert_ne!(rw[0].name, rw[1].name);
}
