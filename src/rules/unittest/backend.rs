//! The real `Backend` of the unit-test runner: rule files through `rules::file`
//! (`load_rule_file`; globs expand like Go's `filepath.Glob`, wildcards in directories
//! too, with `model::glob`'s matcher, and a literal path that does not exist matches nothing) and evaluation through
//! `rules::eval::Group`, with every alerting rule marked restored before the first
//! evaluation, as promtool does (so ALERTS is written from the start). `app::test_rules`
//! runs files with it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::rules::eval::{EvalOptions, Group};
use crate::rules::{GroupSpec, GroupStatus};
use crate::storage::{Appendable, Queryable};

use super::runner::{Backend, GroupSettings, TestRuleGroup};

/// Rule files from disk, evaluated by `rules::eval`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RulesBackend;

/// A `rules::eval::Group` as the runner drives it.
pub struct EvalGroup(pub Group);

impl TestRuleGroup for EvalGroup {
    fn name(&self) -> &str {
        &self.0.spec().name
    }

    fn eval(&mut self, q: &dyn Queryable, a: &dyn Appendable, ts: i64) {
        self.0.eval(q, a, ts);
    }

    fn status(&self) -> GroupStatus {
        self.0.status()
    }
}

/// A restored group evaluated with the test group's settings.
pub fn eval_group(spec: GroupSpec, settings: &GroupSettings) -> Box<dyn TestRuleGroup> {
    let opts = EvalOptions {
        engine: settings.engine.clone(),
        external_labels: settings.external_labels.clone(),
        external_url: settings.external_url.clone(),
        default_interval: settings.default_interval,
        default_query_offset: 0,
        ..EvalOptions::default()
    };
    let mut g = Group::new(spec, Arc::new(opts));
    g.mark_restored();
    Box::new(EvalGroup(g))
}

impl Backend for RulesBackend {
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, String> {
        go_glob(pattern)
    }

    fn load_rule_file(&self, path: &Path) -> Result<Vec<GroupSpec>, Vec<String>> {
        crate::rules::file::load_rule_file(path)
            .map_err(|errs| errs.iter().map(ToString::to_string).collect())
    }

    fn new_group(&self, spec: GroupSpec, settings: &GroupSettings) -> Box<dyn TestRuleGroup> {
        eval_group(spec, settings)
    }
}

fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '[', '\\'])
}

/// Go's `filepath.Glob`: the paths (files or directories) matching `pattern`, in name order
/// per directory; wildcards may appear in any element. A malformed pattern is an error.
pub fn go_glob(pattern: &str) -> Result<Vec<PathBuf>, String> {
    if !has_meta(pattern) {
        return Ok(if std::fs::symlink_metadata(pattern).is_ok() {
            vec![PathBuf::from(pattern)]
        } else {
            Vec::new()
        });
    }
    let path = Path::new(pattern);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bad = || "syntax error in pattern".to_string();
    crate::model::glob::matches(&name, "").ok_or_else(bad)?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let dir_text = dir.to_string_lossy();
    let dirs = if has_meta(&dir_text) {
        go_glob(&dir_text)?
    } else {
        vec![dir.to_path_buf()]
    };
    let mut out = Vec::new();
    for d in dirs {
        let read_from = if d.as_os_str().is_empty() {
            Path::new(".")
        } else {
            d.as_path()
        };
        let Ok(entries) = std::fs::read_dir(read_from) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for n in names {
            if crate::model::glob::matches(&name, &n) == Some(true) {
                out.push(d.join(&n));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_expand_in_directories_too() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path();
        for p in ["a/x.yml", "a/y.yaml", "b/z.yml", "c.yml"] {
            let f = base.join(p);
            std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
            std::fs::write(f, "").expect("write");
        }
        let b = base.to_string_lossy();
        let got = go_glob(&format!("{b}/*/*.yml")).expect("globs");
        assert_eq!(got, vec![base.join("a/x.yml"), base.join("b/z.yml")]);
        assert_eq!(
            go_glob(&format!("{b}/c.yml")).expect("literal"),
            vec![base.join("c.yml")]
        );
        assert!(
            go_glob(&format!("{b}/none.yml"))
                .expect("literal")
                .is_empty()
        );
        assert_eq!(go_glob(&format!("{b}/[ab]")).expect("dirs").len(), 2);
        assert!(go_glob(&format!("{b}/[x")).is_err());
    }
}
