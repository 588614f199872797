//! File discovery against a temporary directory: initial read, change, shrink, malformed
//! content, deletion, new files matching the pattern, and the periodic full refresh. Every
//! wait is bounded.

use std::fs;
use std::path::Path;

use super::*;

const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(300);
const POLL: Duration = Duration::from_millis(20);

struct Running {
    rx: mpsc::Receiver<Vec<TargetGroup>>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    fn start(sd: FileSd) -> Running {
        let (tx, rx) = mpsc::channel(16);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(Box::new(sd).run(tx, cancel.clone()));
        Running { rx, cancel, task }
    }

    async fn next(&mut self) -> Vec<TargetGroup> {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("an update within the timeout")
            .expect("discoverer still running")
    }

    async fn assert_quiet(&mut self) {
        if let Ok(Some(update)) = tokio::time::timeout(QUIET, self.rx.recv()).await {
            panic!("unexpected update: {update:?}");
        }
    }

    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("stops after cancel")
            .expect("no panic");
    }
}

fn pattern(dir: &Path, p: &str) -> String {
    dir.join(p).to_string_lossy().into_owned()
}

/// (source, addresses, labels without __meta_filepath) of each group.
fn summary(groups: &[TargetGroup]) -> Vec<(String, Vec<String>, String)> {
    groups
        .iter()
        .map(|g| {
            let addrs = g
                .targets
                .iter()
                .map(|t| t.get("__address__").unwrap_or("").to_string())
                .collect();
            let mut b = g.labels.builder();
            b.del(META_FILEPATH);
            (g.source.clone(), addrs, b.build().to_string())
        })
        .collect()
}

fn s(v: &str) -> String {
    v.to_string()
}

/// Writes through a temporary file and a rename, as careful tools do, so a poll never sees a
/// half-written file (an empty YAML file is a valid "no groups").
fn write(path: &Path, content: &str) {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, content).expect("write temp file");
    fs::rename(&tmp, path).expect("rename into place");
}

#[tokio::test]
async fn reads_changes_shrinks_survives_malformed_and_deletes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("nodes.json");
    let src = |i: usize| format!("{}:{i}", file.display());
    write(
        &file,
        r#"[{"targets": ["a:9100", "b:9100"], "labels": {"env": "prod"}},
            {"targets": ["c:9100"]}]"#,
    );
    let sd = FileSd::new(
        vec![pattern(dir.path(), "*.json")],
        Duration::from_secs(3600),
    )
    .with_poll_interval(POLL);
    let mut run = Running::start(sd);

    let first = run.next().await;
    assert_eq!(
        summary(&first),
        [
            (src(0), vec![s("a:9100"), s("b:9100")], s(r#"{env="prod"}"#)),
            (src(1), vec![s("c:9100")], s("{}")),
        ]
    );
    assert_eq!(
        first[0].labels.get(META_FILEPATH),
        Some(file.to_string_lossy().as_ref())
    );

    // One group fewer: the first changes, the second is deleted.
    write(
        &file,
        r#"[{"targets": ["a:9100"], "labels": {"env": "staging"}}]"#,
    );
    let update = run.next().await;
    assert_eq!(
        summary(&update),
        [
            (src(0), vec![s("a:9100")], s(r#"{env="staging"}"#)),
            (src(1), vec![], s("{}")),
        ]
    );

    // A half-written file is reported in the log and changes nothing.
    write(&file, r#"[{"targets": ["a:91"#);
    run.assert_quiet().await;
    // An empty JSON file is not valid JSON either: the groups stay, as in Prometheus.
    write(&file, "");
    run.assert_quiet().await;

    // Fixed again: the new content is sent.
    write(&file, r#"[{"targets": ["z:9100", "y:9100"]}]"#);
    let update = run.next().await;
    assert_eq!(
        summary(&update),
        [(src(0), vec![s("z:9100"), s("y:9100")], s("{}"))]
    );

    // The file goes away: its group is deleted.
    fs::remove_file(&file).expect("remove");
    let update = run.next().await;
    assert_eq!(summary(&update), [(src(0), vec![], s("{}"))]);
    run.assert_quiet().await;
    run.stop().await;
}

#[tokio::test]
async fn yaml_files_new_matches_and_emptied_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.yml");
    write(
        &a,
        "- targets: ['pi1:9100', 'pi2:9100']\n  labels:\n    room: attic\n",
    );
    let sd = FileSd::new(
        vec![pattern(dir.path(), "*.yml")],
        Duration::from_secs(3600),
    )
    .with_poll_interval(POLL);
    let mut run = Running::start(sd);
    let first = run.next().await;
    assert_eq!(
        summary(&first),
        [(
            format!("{}:0", a.display()),
            vec![s("pi1:9100"), s("pi2:9100")],
            s(r#"{room="attic"}"#)
        )]
    );

    // A new file matching the pattern is picked up; a non-matching one is not.
    let b = dir.path().join("b.yml");
    write(&dir.path().join("c.json"), r#"[{"targets": ["x:1"]}]"#);
    write(&b, "- targets: ['pi3:9100']\n");
    let update = run.next().await;
    assert_eq!(
        summary(&update),
        [(format!("{}:0", b.display()), vec![s("pi3:9100")], s("{}"))]
    );

    // An emptied YAML file holds no groups: its group is deleted.
    write(&a, "");
    let update = run.next().await;
    assert_eq!(
        summary(&update),
        [(format!("{}:0", a.display()), vec![], s("{}"))]
    );

    // A group with an unknown key is rejected as a whole; b keeps its group.
    write(&b, "- targets: ['pi3:9100']\n  lables: {a: b}\n");
    run.assert_quiet().await;
    run.stop().await;
}

/// Replaces the file's content with content of the same size, keeping its modification
/// time, so only a full refresh can notice.
fn swap_keeping_stamp(path: &Path, content: &str) {
    let modified = fs::metadata(path)
        .and_then(|m| m.modified())
        .expect("mtime");
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, content).expect("write temp file");
    fs::File::options()
        .write(true)
        .open(&tmp)
        .and_then(|f| f.set_modified(modified))
        .expect("set mtime");
    fs::rename(&tmp, path).expect("rename into place");
}

#[tokio::test]
async fn full_refresh_catches_changes_that_keep_mtime_and_size() {
    for (refresh, noticed) in [
        (Duration::from_secs(3600), false),
        (Duration::from_millis(400), true),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("t.json");
        write(&file, r#"[{"targets": ["aaaa:1"]}]"#);
        let sd = FileSd::new(vec![pattern(dir.path(), "t.json")], refresh).with_poll_interval(POLL);
        let mut run = Running::start(sd);
        run.next().await;
        swap_keeping_stamp(&file, r#"[{"targets": ["bbbb:1"]}]"#);
        if noticed {
            let update = run.next().await;
            assert_eq!(
                summary(&update),
                [(format!("{}:0", file.display()), vec![s("bbbb:1")], s("{}"))]
            );
        } else {
            run.assert_quiet().await;
        }
        run.stop().await;
    }
}

#[test]
fn read_groups_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    // (file name, content, Ok(number of groups) or Err(message fragment))
    let cases: &[(&str, &str, Result<usize, &str>)] = &[
        (
            "ok.json",
            r#"[{"targets": ["a:1"], "labels": {"x": "y"}}]"#,
            Ok(1),
        ),
        ("empty-list.json", "[]", Ok(0)),
        ("null.json", "null", Ok(0)),
        ("no-targets.json", r#"[{"labels": {"x": "y"}}]"#, Ok(1)),
        ("upper.JSON", r#"[{"targets": ["a:1"]}]"#, Ok(1)),
        ("empty.json", "", Err("EOF")),
        (
            "unknown.json",
            r#"[{"targets": [], "label": {}}]"#,
            Err("unknown field"),
        ),
        (
            "number.json",
            r#"[{"targets": ["a:1"], "labels": {"x": 1}}]"#,
            Err("invalid type"),
        ),
        ("nullitem.json", r#"[null]"#, Err("nil target group item")),
        (
            "badname.json",
            r#"[{"labels": {"": "v"}}]"#,
            Err("not a valid label name"),
        ),
        ("ok.yaml", "- targets: [a:1]\n  labels: {n: 1}\n", Ok(1)),
        ("empty.yml", "", Ok(0)),
        ("comment.yml", "# nothing yet\n", Ok(0)),
        ("bad.yml", "- targets: [a:1\n", Err("")),
        ("unknown.yml", "- targetz: [a]\n", Err("")),
        ("file.txt", "[]", Err("unsupported file extension")),
    ];
    for (name, content, want) in cases {
        let path = dir.path().join(name);
        fs::write(&path, content).expect("write");
        match (read_groups(&path), want) {
            (Ok(groups), Ok(n)) => {
                assert_eq!(groups.len(), *n, "{name}");
                for (i, g) in groups.iter().enumerate() {
                    assert_eq!(g.source, format!("{}:{i}", path.display()), "{name}");
                }
            }
            (Err(e), Err(fragment)) => {
                assert!(e.to_string().contains(fragment), "{name}: {e}")
            }
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}
