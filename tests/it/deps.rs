//! Enforces DESIGN.md's module dependency rule by reading every `crate::<module>` path in
//! src/: a module may name only the modules the table below allows.

use std::collections::BTreeSet;
use std::path::Path;

/// module → the modules it may use.
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("storage", &["model"]),
    ("tsdb", &["model", "storage"]),
    ("exposition", &[]),
    ("discovery", &["model"]),
    ("hostmetrics", &["model", "storage"]),
    ("config", &["model"]),
    ("promql", &["model", "storage"]),
    ("rules", &["model", "storage", "promql", "config"]),
    ("remote", &["model", "storage", "config"]),
    ("api", &["model", "storage", "promql", "scrape", "rules"]),
    (
        "scrape",
        &["model", "storage", "exposition", "discovery", "config"],
    ),
    (
        "app",
        &[
            "model",
            "storage",
            "tsdb",
            "exposition",
            "discovery",
            "hostmetrics",
            "config",
            "scrape",
            "promql",
            "rules",
            "remote",
            "api",
            "tui",
        ],
    ),
    ("tui", &["model", "app"]),
];

fn rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("reading src/") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The modules named as `crate::NAME` in `text`, outside line comments.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn modules_respect_the_dependency_rule() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    let mut seen_modules = BTreeSet::new();
    for (module, allowed) in ALLOWED {
        let dir = src.join(module);
        let mut files = Vec::new();
        if dir.is_dir() {
            rs_files(&dir, &mut files);
        }
        let single = src.join(format!("{module}.rs"));
        if single.is_file() {
            files.push(single);
        }
        if !files.is_empty() {
            seen_modules.insert(*module);
        }
        for f in files {
            let text = std::fs::read_to_string(&f).expect("reading a source file");
            for used in named_modules(&text) {
                if used != *module && !allowed.contains(&used.as_str()) {
                    violations.push(format!("{} uses crate::{used}", f.display()));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "dependency rule broken:\n{}",
        violations.join("\n")
    );
    // Every module in src/ must be in the table, so new modules get a rule.
    for e in std::fs::read_dir(&src).expect("reading src/") {
        let p = e.expect("dir entry").path();
        let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if p.is_dir() {
            assert!(
                ALLOWED.iter().any(|(m, _)| *m == name),
                "module {name} has no dependency rule in tests/it/deps.rs"
            );
        }
    }
    assert!(seen_modules.contains("model"));
}

#[test]
fn the_checker_sees_paths() {
    let found = named_modules(
        "use crate::model::Labels;\n// crate::tsdb in a comment\nlet x = crate::storage::X;",
    );
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        vec!["model".to_string(), "storage".to_string()]
    );
}
