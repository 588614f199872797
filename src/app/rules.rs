//! Rules in the running app, for the TUI and `kmon serve` alike: which rule files run (the
//! user's `--rules` and the config's `rule_files`, or the built-in rules in `rules/` when
//! kmon runs on its defaults), loading them file by file so a broken file never stops the
//! others, the rule manager, the Alertmanager notifier of `alerting`, and reloading (SIGHUP,
//! or the TUI's reload key) with the state of unchanged rules kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::run::RunOptions;
use crate::config::Config;
use crate::model::Labels;
use crate::promql::{Engine, EngineOptions};
use crate::rules::eval::EvalOptions;
use crate::rules::file::{RuleFileError, expand_rule_files, parse_rule_file_lenient};
use crate::rules::manager::{FileLoad, NotifyFn, RuleManager};
use crate::rules::notifier::{Notifier, NotifierOptions};
use crate::rules::{GroupSpec, GroupStatus};
use crate::storage::Storage;

/// The built-in rule files, as (name shown in the rules view, text). The files live in the
/// repository's `rules/` folder, where their unit tests are.
pub const BUILTIN_RULES: [(&str, &str); 2] = [
    ("builtin/host.yml", include_str!("../../rules/host.yml")),
    (
        "builtin/cluster.yml",
        include_str!("../../rules/cluster.yml"),
    ),
];

/// Where one rule file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSource {
    File(PathBuf),
    /// One of [`BUILTIN_RULES`], by index.
    Builtin(usize),
}

impl RuleSource {
    /// The name its groups carry as their `file`.
    pub fn name(&self) -> String {
        match self {
            RuleSource::File(p) => p.display().to_string(),
            RuleSource::Builtin(i) => BUILTIN_RULES[*i].0.to_string(),
        }
    }
}

/// The rule files to run: `--rules` (globs allowed, relative to the working directory)
/// and the config's `rule_files` (relative to the config file); the built-in rules only
/// when there is neither a config nor `--rules`, and `--no-default-rules` is not given.
pub fn rule_sources(opts: &RunOptions, config: Option<&Config>) -> Result<Vec<RuleSource>, String> {
    let mut out = Vec::new();
    let given: Vec<String> = opts
        .rule_files
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    for p in expand_rule_files(&given, Path::new(""))? {
        out.push(RuleSource::File(p));
    }
    if let Some(cfg) = config {
        for p in expand_rule_files(&cfg.rule_files, &cfg.rule_files_dir)? {
            let src = RuleSource::File(p);
            if !out.contains(&src) {
                out.push(src);
            }
        }
    }
    if opts.config.is_none() && opts.rule_files.is_empty() && !opts.no_default_rules {
        out.extend((0..BUILTIN_RULES.len()).map(RuleSource::Builtin));
    }
    Ok(out)
}

/// Loads each source: a file's valid groups run, and its problems (by group) are shown
/// with it in the rules view and the API; a file that cannot be read is one problem.
pub fn load_sources(sources: &[RuleSource]) -> Vec<FileLoad> {
    sources
        .iter()
        .map(|src| {
            let file = src.name();
            let text = match src {
                RuleSource::Builtin(i) => Ok(BUILTIN_RULES[*i].1.to_string()),
                RuleSource::File(p) => {
                    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))
                }
            };
            let (groups, errors) = match text {
                Ok(t) => {
                    let (groups, errors) = parse_rule_file_lenient(&file, &t);
                    let errors: Vec<(Option<String>, String)> = errors
                        .into_iter()
                        .map(|e: RuleFileError| (e.group.clone(), e.to_string()))
                        .collect();
                    (groups, errors)
                }
                Err(e) => (Vec::new(), vec![(None, e)]),
            };
            for (_, e) in &errors {
                tracing::warn!("rule file: {e}");
            }
            FileLoad {
                file,
                groups,
                errors,
            }
        })
        .collect()
}

/// The evaluation settings of a config (or Prometheus's defaults without one), with the
/// query engine's settings when given.
pub fn eval_options(
    config: Option<&Config>,
    engine: Option<&EngineOptions>,
    external_url: &str,
) -> EvalOptions {
    let (interval, offset, external) = match config {
        Some(c) => (
            c.global.evaluation_interval,
            c.global.rule_query_offset,
            c.global.external_labels.clone(),
        ),
        None => (Duration::from_secs(60), Duration::ZERO, Labels::empty()),
    };
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    EvalOptions {
        engine: Engine::new(engine.cloned().unwrap_or_else(|| EngineOptions {
            default_subquery_step: ms(interval).max(1),
            ..EngineOptions::default()
        })),
        external_labels: external,
        external_url: external_url.to_string(),
        default_interval: ms(interval).max(1),
        default_query_offset: ms(offset),
        ..EvalOptions::default()
    }
}

/// The running rules: the manager, the notifier when `alerting` names Alertmanagers, and
/// what a reload needs.
pub struct RulesRuntime {
    pub manager: Arc<RuleManager>,
    pub notifier: Option<Notifier>,
    opts: RunOptions,
    /// True once the rule files read at the start are running.
    loaded: tokio::sync::watch::Receiver<bool>,
}

impl RulesRuntime {
    /// Starts the manager (and the notifier) and loads the rule files into it in the
    /// background (`wait_loaded` waits for that). Must run inside a runtime. Errors only when the rule file globs are invalid or the notifier's HTTP
    /// clients cannot be built; broken rule files are shown, not fatal.
    pub fn start(
        storage: Arc<dyn Storage>,
        opts: &RunOptions,
        config: Option<&Config>,
        external_url: &str,
        cancel: &CancellationToken,
    ) -> anyhow::Result<Arc<RulesRuntime>> {
        let sources = rule_sources(opts, config).map_err(|e| anyhow::anyhow!("rule_files: {e}"))?;
        let notifier = match config {
            Some(c) if !c.alerting.alertmanagers.is_empty() => Some(Notifier::start(
                NotifierOptions::from_config(c, external_url),
                &c.alerting.alertmanagers,
                cancel.child_token(),
            )?),
            _ => None,
        };
        let notify: Option<NotifyFn> = notifier.clone().map(|n| {
            let f: NotifyFn = Arc::new(move |expr: &str, alerts: Vec<crate::rules::Alert>| {
                n.send_rule(expr, &alerts);
            });
            f
        });
        let manager = Arc::new(RuleManager::new(
            Arc::new(eval_options(
                config,
                opts.rule_engine.as_ref(),
                external_url,
            )),
            storage,
            notify,
        ));
        let (loaded_tx, loaded) = tokio::sync::watch::channel(false);
        let rt = Arc::new(RulesRuntime {
            manager,
            notifier,
            opts: opts.clone(),
            loaded,
        });
        let m = Arc::clone(&rt.manager);
        tokio::spawn(async move {
            let loads = tokio::task::spawn_blocking(move || load_sources(&sources))
                .await
                .unwrap_or_default();
            m.update_files(loads).await;
            let _ = loaded_tx.send(true);
        });
        Ok(rt)
    }

    /// Waits until the rule files read at the start run (`kmon serve` answers
    /// `/api/v1/rules` only then).
    pub async fn wait_loaded(&self) {
        let mut rx = self.loaded.clone();
        let _ = rx.wait_for(|done| *done).await;
    }

    /// Stops every group without stale markers, as Prometheus does on shutdown.
    pub async fn stop(&self) {
        self.manager.stop().await;
    }

    /// Re-reads the config file (for `rule_files` and the Alertmanagers of `alerting`) and
    /// the rule files, and applies what changed. The global evaluation settings
    /// (`evaluation_interval`, `rule_query_offset`, external labels for rules) and starting a
    /// notifier where there was none take a restart. Returns a line for the status bar.
    pub async fn reload(&self) -> String {
        let config = match &self.opts.config {
            Some(p) => match crate::config::load_file(p) {
                Ok((c, _)) => Some(c),
                Err(e) => return format!("reload failed, the old rules keep running: {e}"),
            },
            None => None,
        };
        let sources = match rule_sources(&self.opts, config.as_ref()) {
            Ok(s) => s,
            Err(e) => return format!("reload failed: rule_files: {e}"),
        };
        if let (Some(n), Some(c)) = (&self.notifier, &config)
            && let Err(e) = n.apply_config(c)
        {
            return format!("reload failed: {e}");
        }
        let sources2 = sources.clone();
        let loads = tokio::task::spawn_blocking(move || load_sources(&sources2))
            .await
            .unwrap_or_default();
        let failed = loads.iter().filter(|l| !l.errors.is_empty()).count();
        self.manager.update_files(loads).await;
        let groups = self.manager.status().len();
        if failed == 0 {
            format!("rules reloaded: {} files, {groups} groups", sources.len())
        } else {
            format!(
                "rules reloaded: {failed} of {} files have errors; their bad groups keep their old rules (see the rules view)",
                sources.len()
            )
        }
    }

    pub fn status(&self) -> Vec<GroupStatus> {
        self.manager.status()
    }
}

/// The built-in rules parsed.
pub fn builtin_groups() -> Vec<GroupSpec> {
    load_sources(&[RuleSource::Builtin(0), RuleSource::Builtin(1)])
        .into_iter()
        .flat_map(|l| l.groups)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> RunOptions {
        RunOptions::for_tests(None)
    }

    #[test]
    fn the_builtin_rules_parse_with_every_group_and_alert() {
        let groups = builtin_groups();
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["kmon-host", "kmon-cluster"]);
        assert_eq!(groups[0].rules.len(), 7);
        assert_eq!(groups[1].rules.len(), 10);
        assert!(groups.iter().all(|g| g.interval == Some(15_000)));
    }

    #[test]
    fn builtin_rules_run_only_on_defaults() {
        let o = opts();
        assert_eq!(
            rule_sources(&o, None).unwrap(),
            [RuleSource::Builtin(0), RuleSource::Builtin(1)]
        );
        let mut off = opts();
        off.no_default_rules = true;
        assert!(rule_sources(&off, None).unwrap().is_empty());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("mine.yml");
        std::fs::write(&f, "groups: []\n").unwrap();
        let mut mine = opts();
        mine.rule_files = vec![f.clone()];
        assert_eq!(rule_sources(&mine, None).unwrap(), [RuleSource::File(f)]);
        let mut with_config = opts();
        with_config.config = Some(dir.path().join("prometheus.yml"));
        let cfg = Config::default();
        assert!(rule_sources(&with_config, Some(&cfg)).unwrap().is_empty());
    }

    #[test]
    fn a_broken_file_is_a_load_error_and_a_partly_broken_one_keeps_its_good_groups() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.yml");
        std::fs::write(
            &bad,
            "groups:\n  - name: g\n    rules:\n      - record: x\n        expr: sum(\n",
        )
        .unwrap();
        let mixed = dir.path().join("mixed.yml");
        std::fs::write(
            &mixed,
            "groups:\n  - name: ok\n    rules:\n      - record: x\n        expr: up\n  - name: broken\n    rules:\n      - alert: A\n        expr: up ==\n",
        )
        .unwrap();
        let missing = dir.path().join("missing.yml");
        let loads = load_sources(&[
            RuleSource::File(bad.clone()),
            RuleSource::File(mixed),
            RuleSource::File(missing.clone()),
        ]);
        assert!(loads[0].groups.is_empty());
        let err = &loads[0].errors[0];
        assert_eq!(err.0.as_deref(), Some("g"));
        assert!(
            err.1.contains("bad.yml:5") && err.1.contains("group \"g\""),
            "{err:?}"
        );
        let ok = &loads[1].groups;
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].name, "ok");
        assert_eq!(loads[1].errors[0].0.as_deref(), Some("broken"));
        assert!(
            loads[2].errors[0].1.contains("missing.yml"),
            "{:?}",
            loads[2].errors
        );
    }
}
