//! Rules in a running kmon: which rule files to evaluate (`--rules`, the config's
//! `rule_files` globs, or the built-in rules when kmon runs on its own defaults), loading
//! them file by file into the rule manager (a bad group or file is shown with its error
//! while the rest runs), the evaluation settings from the config's `global` section, and
//! reloading on SIGHUP. `serve` starts it; the TUI can call `reload` for its reload key.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::run::RunOptions;
use crate::config::Config;
use crate::promql::{Engine, EngineOptions};
use crate::rules::eval::EvalOptions;
use crate::rules::file::{expand_rule_files, load_rule_file_lenient};
use crate::rules::manager::{FileLoad, NotifyFn, RuleManager};
use crate::rules::types::GroupSpec;
use crate::storage::Storage;

/// The built-in rule groups, used when kmon runs on its own defaults (no `--config`, no
/// `--rules`, no `--no-default-rules`).
pub fn default_rule_groups() -> Vec<GroupSpec> {
    // The built-in rules file is wired in here.
    Vec::new()
}

/// Where the rules come from; kept for reloads, which expand the globs again.
#[derive(Debug, Clone, Default)]
pub struct RuleSources {
    /// `--rules` files, as given.
    pub files: Vec<PathBuf>,
    /// The config's `rule_files` patterns and the directory they are relative to.
    pub patterns: Vec<String>,
    pub base_dir: PathBuf,
    /// The config file, re-read on reload for its `rule_files`.
    pub config: Option<PathBuf>,
    /// Use the built-in rules.
    pub builtin: bool,
}

impl RuleSources {
    pub fn new(run: &RunOptions, cfg: Option<&Config>) -> RuleSources {
        RuleSources {
            files: run.rule_files.clone(),
            patterns: cfg.map(|c| c.rule_files.clone()).unwrap_or_default(),
            base_dir: cfg.map(|c| c.rule_files_dir.clone()).unwrap_or_default(),
            config: run.config.clone(),
            builtin: cfg.is_none() && run.rule_files.is_empty() && !run.no_default_rules,
        }
    }

    /// Whether there is anything to evaluate.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.patterns.is_empty() && !self.builtin
    }

    /// Loads every file: each file's valid groups and its problems (by group).
    pub fn load(&self) -> Vec<FileLoad> {
        let mut loads = Vec::new();
        if self.builtin {
            let groups = default_rule_groups();
            if !groups.is_empty() {
                loads.push(FileLoad {
                    file: groups[0].file.clone(),
                    groups,
                    errors: Vec::new(),
                });
            }
        }
        let mut paths = self.files.clone();
        match expand_rule_files(&self.patterns, &self.base_dir) {
            Ok(p) => paths.extend(p),
            Err(e) => loads.push(FileLoad {
                file: "rule_files".into(),
                groups: Vec::new(),
                errors: vec![(None, e)],
            }),
        }
        let mut seen = std::collections::HashSet::new();
        for path in paths {
            if !seen.insert(path.clone()) {
                continue;
            }
            let (groups, errors) = load_rule_file_lenient(&path);
            for e in &errors {
                tracing::warn!("rule file: {e}");
            }
            loads.push(FileLoad {
                file: path.display().to_string(),
                groups,
                errors: errors
                    .into_iter()
                    .map(|e| (e.group.clone(), e.to_string()))
                    .collect(),
            });
        }
        loads
    }

    /// Re-reads the config file's `rule_files` (a config that no longer loads keeps the
    /// patterns it had, with a warning).
    fn refresh_patterns(&mut self) {
        let Some(path) = &self.config else {
            return;
        };
        match crate::config::load_file(path) {
            Ok((cfg, _)) => {
                self.patterns = cfg.rule_files;
                self.base_dir = cfg.rule_files_dir;
            }
            Err(e) => {
                tracing::warn!("reload: the config does not load, keeping its rule files: {e}")
            }
        }
    }
}

/// The evaluation settings: the engine's, the config's global section, kmon's external URL.
pub fn eval_options(
    cfg: Option<&Config>,
    engine: EngineOptions,
    external_url: String,
) -> EvalOptions {
    let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let mut o = EvalOptions {
        engine: Engine::new(engine),
        external_url,
        ..EvalOptions::default()
    };
    if let Some(c) = cfg {
        o.default_interval = ms(c.global.evaluation_interval).max(1);
        o.default_query_offset = ms(c.global.rule_query_offset);
        o.external_labels = c.global.external_labels.clone();
    }
    o
}

/// Starts the rule manager with the groups of `sources` and reloads it on SIGHUP until
/// `stop` fires. Returns the manager (for the API, the TUI and the shutdown).
pub async fn start(
    sources: RuleSources,
    opts: EvalOptions,
    storage: Arc<dyn Storage>,
    notify: Option<NotifyFn>,
    stop: CancellationToken,
) -> Arc<RuleManager> {
    let manager = Arc::new(RuleManager::new(Arc::new(opts), storage, notify));
    let loads = {
        let s = sources.clone();
        tokio::task::spawn_blocking(move || s.load())
            .await
            .unwrap_or_default()
    };
    manager.update_files(loads).await;
    tokio::spawn(reload_on_sighup(Arc::clone(&manager), sources, stop));
    manager
}

/// Reloads the rule files into `manager` (the TUI's reload key and SIGHUP).
pub async fn reload(manager: &RuleManager, sources: &mut RuleSources) {
    sources.refresh_patterns();
    let s = sources.clone();
    let loads = tokio::task::spawn_blocking(move || s.load())
        .await
        .unwrap_or_default();
    manager.update_files(loads).await;
    tracing::info!("rules reloaded");
}

async fn reload_on_sighup(
    manager: Arc<RuleManager>,
    mut sources: RuleSources,
    stop: CancellationToken,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: rules reload only on restart");
            return;
        };
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                got = hup.recv() => {
                    if got.is_none() {
                        return;
                    }
                    reload(&manager, &mut sources).await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (manager, sources);
        stop.cancelled().await;
    }
}
