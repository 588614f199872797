//! Tests of the source registry: flags, kmon.yaml sources, detected ones, the active source.

use super::*;

fn setting(name: &str, url: &str) -> SourceSetting {
    SourceSetting {
        name: name.into(),
        url: url.into(),
        line: 7,
        ..SourceSetting::default()
    }
}

fn http(url: &str) -> Arc<dyn Transport> {
    transport_for_url(url, ClientAuth::None, &TlsConfig::default()).unwrap()
}

#[test]
fn flag_urls_become_sources_and_names_pick_configured_ones() {
    let settings = [
        setting("thanos", "http://t:10902/prometheus"),
        setting("bad", "ftp://x"),
    ];
    let (reg, warnings) = registry_for(
        Some("http://u:p@127.0.0.1:9090/"),
        &settings,
        Some("thanos"),
        "k.yaml",
    )
    .unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with("k.yaml:7: sources: bad: "),
        "{warnings:?}"
    );
    assert_eq!(reg.active_name(), "127.0.0.1:9090");
    let view = reg.view();
    let names: Vec<&str> = view.options.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["embedded", "thanos", "127.0.0.1:9090"]);
    assert_eq!(view.options[1].description, "http://t:10902/prometheus");
    assert_eq!(view.options[2].origin, SourceOrigin::Flag);
    assert!(view.remote_active());

    let (reg, _) = registry_for(None, &settings, Some("thanos"), "k.yaml").unwrap();
    assert_eq!(reg.active_name(), "thanos");
    let (reg, w) = registry_for(None, &settings, Some("nope"), "k.yaml").unwrap();
    assert_eq!((reg.active_name().as_str(), w.len()), ("embedded", 2));
    assert!(registry_for(Some("nope"), &settings, None, "k.yaml").is_err());
    assert!(registry_for(Some("embedded"), &settings, None, "k.yaml").is_ok());
}

#[test]
fn detected_sources_join_the_picker_and_switching_notifies() {
    let (reg, _) = registry_for(None, &[setting("a", "http://a")], None, "k.yaml").unwrap();
    let mut changes = reg.subscribe();
    changes.borrow_and_update();
    reg.set_detected(vec![
        DetectedSource {
            name: "monitoring/prometheus".into(),
            description: "k8s://monitoring/prometheus:9090".into(),
            transport: http("http://p"),
        },
        DetectedSource {
            name: "a".into(),
            description: "shadowed by the configured one".into(),
            transport: http("http://x"),
        },
    ]);
    assert!(changes.has_changed().unwrap());
    let names: Vec<String> = reg.view().options.into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["embedded", "a", "monitoring/prometheus"]);
    reg.set_active("monitoring/prometheus").unwrap();
    assert_eq!(reg.active_client().unwrap().0, "monitoring/prometheus");
    let e = reg.set_active("zzz").unwrap_err();
    assert_eq!(
        e,
        "no source \"zzz\" (known: embedded, a, monitoring/prometheus)"
    );
    // The detected source vanishes: back to the embedded engine.
    reg.set_detected(Vec::new());
    assert_eq!(reg.active_name(), EMBEDDED);
    assert!(reg.active_client().is_none());
}

#[test]
fn settings_become_bearer_or_basic_auth_and_tls() {
    let mut s = setting("a", "https://a");
    s.bearer_token_file = Some("/tok".into());
    s.ca_file = Some("/ca.pem".into());
    let (auth, tls) = client_settings(&s);
    assert!(
        matches!(auth, ClientAuth::Header { ref kind, credentials: Some(SecretSource::File(_)) } if kind == "Bearer")
    );
    assert_eq!(tls.ca, Some(PemSource::File("/ca.pem".into())));
    s.bearer_token_file = None;
    s.basic_auth = Some(super::super::source_settings::BasicAuthSetting {
        username: "me".into(),
        password: Some("pw".into()),
        password_file: None,
    });
    assert!(
        matches!(client_settings(&s).0, ClientAuth::Basic { ref username, .. } if username == "me")
    );
    assert_eq!(name_for_url("https://u:p@h:1/prom/"), "h:1/prom");
}
