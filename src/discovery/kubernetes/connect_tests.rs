use super::*;

const TOKEN: &str = "s3cr3t-token-value-that-must-never-show";

fn kubeconfig(current: &str, contexts: &[(&str, &str, Option<&str>)], insecure: bool) -> String {
    let mut s = String::from("apiVersion: v1\nkind: Config\n");
    if !current.is_empty() {
        s.push_str(&format!("current-context: {current}\n"));
    }
    s.push_str("clusters:\n");
    for (name, server, _) in contexts {
        s.push_str(&format!(
            "- name: {name}\n  cluster:\n    server: {server}\n"
        ));
        if insecure {
            s.push_str("    insecure-skip-tls-verify: true\n");
        }
    }
    s.push_str("users:\n");
    for (name, _, _) in contexts {
        s.push_str(&format!("- name: {name}\n  user:\n    token: {TOKEN}\n"));
    }
    s.push_str("contexts:\n");
    for (name, _, ns) in contexts {
        s.push_str(&format!(
            "- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n"
        ));
        if let Some(ns) = ns {
            s.push_str(&format!("    namespace: {ns}\n"));
        }
    }
    s
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn clusters(r: Resolution) -> Clusters {
    match r {
        Resolution::Clusters(c) => c,
        Resolution::ThisMachine(why) => panic!("fell back: {why}"),
        Resolution::NoKubeconfig => panic!("no kubeconfig"),
    }
}

#[test]
fn home_kubeconfig_current_context_all_namespaces_and_no_client_retries() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".kube")).unwrap();
    let text = kubeconfig("a", &[("a", "https://127.0.0.1:6443", Some("apps"))], false);
    write(&dir.path().join(".kube"), "config", &text);
    let env = Env {
        home: Some(dir.path().into()),
        ..Env::default()
    };
    let c = clusters(
        rt().block_on(resolve(&KubeOptions::default(), &env))
            .unwrap(),
    );
    assert_eq!(c.origin, Origin::Home(dir.path().join(".kube/config")));
    assert_eq!(c.clusters.len(), 1);
    let a = &c.clusters[0];
    assert_eq!(a.context, "a");
    assert_eq!(a.server, "https://127.0.0.1:6443");
    // The context's namespace pre-selects `:ns`; it does not narrow the watches.
    assert_eq!(a.namespace.as_deref(), Some("apps"));
    assert!(c.namespaces.is_empty());
    assert!(!a.config.default_retry);
    assert!(!a.config.accept_invalid_certs);
    assert!(!a.in_cluster);
}

#[test]
fn kubeconfig_list_merges_first_wins_and_skips_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let first = write(
        dir.path(),
        "one",
        &kubeconfig("a", &[("a", "https://127.0.0.1:1111", None)], false),
    );
    // The second file also defines "a" (ignored: the first wins) and adds "b".
    let second = write(
        dir.path(),
        "two",
        &kubeconfig(
            "b",
            &[
                ("a", "https://127.0.0.1:9999", None),
                ("b", "https://127.0.0.1:2222", None),
            ],
            false,
        ),
    );
    let missing = dir.path().join("nope");
    let list = std::env::join_paths([&first, &missing, &second]).unwrap();
    let env = Env {
        kubeconfig: Some(list),
        ..Env::default()
    };
    let c = clusters(
        rt().block_on(resolve(&KubeOptions::default(), &env))
            .unwrap(),
    );
    assert_eq!(c.origin, Origin::Env(vec![first.clone(), second.clone()]));
    assert_eq!(c.available, ["a", "b"]);
    assert_eq!(c.clusters[0].context, "a");
    assert_eq!(c.clusters[0].server, "https://127.0.0.1:1111");

    let opts = KubeOptions {
        contexts: vec!["b".into(), "a".into()],
        namespace: Some("apps".into()),
        ..KubeOptions::default()
    };
    let c = clusters(rt().block_on(resolve(&opts, &env)).unwrap());
    let names: Vec<_> = c.clusters.iter().map(|c| c.server.as_str()).collect();
    assert_eq!(names, ["https://127.0.0.1:2222", "https://127.0.0.1:1111"]);
    assert_eq!(c.namespaces, ["apps"]);

    let all = KubeOptions {
        namespace: Some("apps".into()),
        all_namespaces: true,
        ..KubeOptions::default()
    };
    assert!(
        clusters(rt().block_on(resolve(&all, &env)).unwrap())
            .namespaces
            .is_empty()
    );
}

#[test]
fn an_unknown_context_is_an_error_naming_the_ones_there_are() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "cfg",
        &kubeconfig(
            "a",
            &[
                ("a", "https://127.0.0.1:1", None),
                ("b", "https://127.0.0.1:2", None),
            ],
            false,
        ),
    );
    let opts = KubeOptions {
        kubeconfig: Some(p),
        contexts: vec!["prod".into()],
        ..KubeOptions::default()
    };
    let e = rt().block_on(resolve(&opts, &Env::default())).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("\"prod\"") && text.contains("a, b"), "{text}");
}

#[test]
fn no_current_context_names_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "cfg",
        &kubeconfig("", &[("x", "https://127.0.0.1:1", None)], false),
    );
    let opts = KubeOptions {
        kubeconfig: Some(p),
        ..KubeOptions::default()
    };
    let text = rt()
        .block_on(resolve(&opts, &Env::default()))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("no current-context") && text.contains("x"),
        "{text}"
    );
}

#[test]
fn insecure_skip_tls_verify_only_when_the_kubeconfig_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "cfg",
        &kubeconfig("a", &[("a", "https://127.0.0.1:1", None)], true),
    );
    let c = rt().block_on(from_file(&p)).unwrap();
    assert!(c.config.accept_invalid_certs);
    assert!(!c.config.default_retry);
}

#[test]
fn missing_kubeconfig_falls_back_unless_it_was_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env {
        home: Some(dir.path().into()),
        ..Env::default()
    };
    match rt()
        .block_on(resolve(&KubeOptions::default(), &env))
        .unwrap()
    {
        Resolution::NoKubeconfig => {}
        other => panic!("found {other:?}"),
    }
    let opts = KubeOptions {
        kubeconfig: Some(dir.path().join("absent")),
        ..KubeOptions::default()
    };
    let text = rt().block_on(resolve(&opts, &env)).unwrap_err().to_string();
    assert!(
        text.contains("absent") && text.contains("No such file"),
        "{text}"
    );
}

#[test]
fn a_broken_kubeconfig_never_shows_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".kube")).unwrap();
    let mut text = kubeconfig("a", &[("a", "https://127.0.0.1:1", None)], false);
    // Break the YAML right on the token's line.
    text = text.replace(
        &format!("token: {TOKEN}"),
        &format!("token: {TOKEN}\n   - [: {{"),
    );
    let p = write(&dir.path().join(".kube"), "config", &text);
    let env = Env {
        home: Some(dir.path().into()),
        ..Env::default()
    };
    let why = match rt()
        .block_on(resolve(&KubeOptions::default(), &env))
        .unwrap()
    {
        Resolution::ThisMachine(why) => why,
        other => panic!("parsed {other:?}"),
    };
    assert!(why.contains(&p.display().to_string()), "{why}");
    assert!(why.contains("monitoring this machine"), "{why}");
    assert!(!why.contains("s3cr3t"), "{why}");
    assert_eq!(why.lines().count(), 1, "{why}");

    // The same file given explicitly is an error, just as clean.
    let opts = KubeOptions {
        kubeconfig: Some(p),
        ..KubeOptions::default()
    };
    let e = rt().block_on(resolve(&opts, &env)).unwrap_err().to_string();
    assert!(!e.contains("s3cr3t"), "{e}");
}

#[test]
fn debug_output_of_a_cluster_carries_no_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "cfg",
        &kubeconfig("a", &[("a", "https://127.0.0.1:1", None)], false),
    );
    let c = rt().block_on(from_file(&p)).unwrap();
    let text = format!("{c:?}");
    assert!(
        !text.contains("s3cr3t") && text.contains("https://127.0.0.1:1"),
        "{text}"
    );
}

#[test]
fn scrub_hides_tokens_and_long_base64() {
    let b64 = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg==";
    let text = format!("header Authorization: Bearer abc.def and data {b64} end; token: xyz");
    let s = scrub(&text);
    assert!(
        !s.contains("abc.def") && !s.contains(b64) && !s.contains("xyz"),
        "{s}"
    );
    assert!(s.contains("header") && s.contains("end;"), "{s}");
    assert_eq!(
        server_text(&"https://user:pw@10.0.0.1:6443/".parse().unwrap()),
        "https://10.0.0.1:6443"
    );
}
