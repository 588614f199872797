//! The real `Backend` of the unit-test runner: rule files through `rules::file`
//! (`load_rule_file`; globs expand like Go's `filepath.Glob` through `model::glob`, a
//! pattern naming no existing file matching nothing) and evaluation through
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
        crate::model::glob::expand(pattern).map_err(|e| e.to_string())
    }

    fn load_rule_file(&self, path: &Path) -> Result<Vec<GroupSpec>, Vec<String>> {
        crate::rules::file::load_rule_file(path)
            .map_err(|errs| errs.iter().map(ToString::to_string).collect())
    }

    fn new_group(&self, spec: GroupSpec, settings: &GroupSettings) -> Box<dyn TestRuleGroup> {
        eval_group(spec, settings)
    }
}
