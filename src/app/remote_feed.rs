//! Asking remote sources without holding up the snapshots: on every refresh the
//! publisher hands `RemoteFeeds::round` one `Job` per remote source it needs (the panels
//! that source answers, and for the active source its targets, rules and now and then
//! its completion index). A job runs as its own task; the round waits for the running
//! ones at most the given time, keeps what finished as the source's latest answers, and
//! says which sources are still being waited for: their panels keep their last data.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::assist::CompletionIndex;
use super::backend::{QueryBackend, Remote};
use super::panels::PanelSpec;
use super::snapshot::{PanelData, TimeRange};
use crate::remote::source::{Client, RemoteGroup, SourceError, Targets};

/// What one remote source is asked on a refresh.
pub(super) struct Job {
    pub name: String,
    pub client: Arc<Client>,
    pub specs: Vec<PanelSpec>,
    /// The active source: also its targets and rules.
    pub extras: bool,
    /// Also rebuild its completion index.
    pub completion: bool,
    pub range: TimeRange,
    pub now_ms: i64,
    pub min_step_ms: i64,
}

/// A source's latest answers. `None` where it was not asked (yet).
#[derive(Default)]
pub(super) struct Fetched {
    pub panels: Vec<PanelData>,
    pub targets: Option<Result<Targets, SourceError>>,
    pub groups: Option<Result<Vec<RemoteGroup>, SourceError>>,
    pub completion: Option<Arc<CompletionIndex>>,
}

async fn run(job: Job) -> Fetched {
    let backend = Remote {
        name: job.name.clone(),
        client: job.client.clone(),
    };
    let client = job.client.clone();
    let panels = backend.panels(job.specs, job.range, job.now_ms, job.min_step_ms);
    let extras = async {
        if job.extras {
            let (t, g) = tokio::join!(client.targets(), client.rules());
            (Some(t.map(|a| a.data)), Some(g.map(|a| a.data)))
        } else {
            (None, None)
        }
    };
    let completion = async {
        if job.completion {
            backend.completion().await
        } else {
            None
        }
    };
    // Panels, targets and rules, and completion side by side.
    let (panels, (targets, groups), completion) = tokio::join!(panels, extras, completion);
    Fetched {
        panels,
        targets,
        groups,
        completion,
    }
}

/// The jobs running and every source's latest answers.
#[derive(Default)]
pub(super) struct RemoteFeeds {
    running: HashMap<String, tokio::task::JoinHandle<Fetched>>,
    last: HashMap<String, Fetched>,
}

impl RemoteFeeds {
    /// Starts each job whose source has none running, then waits up to `wait` for the
    /// running ones. Returns the sources still being waited for.
    pub async fn round(&mut self, jobs: Vec<Job>, wait: Duration) -> Vec<String> {
        for job in jobs {
            if !self.running.contains_key(&job.name) {
                self.running
                    .insert(job.name.clone(), tokio::spawn(run(job)));
            }
        }
        let deadline = tokio::time::Instant::now() + wait;
        let names: Vec<String> = self.running.keys().cloned().collect();
        let mut waiting = Vec::new();
        for name in names {
            let Some(handle) = self.running.get_mut(&name) else {
                continue;
            };
            match tokio::time::timeout_at(deadline, handle).await {
                Ok(joined) => {
                    self.running.remove(&name);
                    match joined {
                        Ok(f) => self.keep(&name, f),
                        Err(e) => tracing::error!("asking {name}: {e}"),
                    }
                }
                Err(_) => waiting.push(name),
            }
        }
        waiting.sort();
        waiting
    }

    /// Merges a finished job into the source's latest answers.
    fn keep(&mut self, name: &str, f: Fetched) {
        let last = self.last.entry(name.to_string()).or_default();
        last.panels = f.panels;
        if f.targets.is_some() {
            last.targets = f.targets;
        }
        if f.groups.is_some() {
            last.groups = f.groups;
        }
        if f.completion.is_some() {
            last.completion = f.completion;
        }
    }

    /// `name`'s latest answers.
    pub fn last(&self, name: &str) -> Option<&Fetched> {
        self.last.get(name)
    }

    /// The latest data of `spec` from `name`, if it still matches the spec's queries.
    pub fn panel(&self, name: &str, spec: &PanelSpec) -> Option<PanelData> {
        self.last
            .get(name)?
            .panels
            .iter()
            .find(|p| p.id == spec.id && p.queries == spec.queries)
            .cloned()
    }

    /// Forgets sources that are no longer asked (a switch away), so a later switch back
    /// starts fresh instead of showing stale answers.
    pub fn retain(&mut self, wanted: &[String]) {
        self.last.retain(|k, _| wanted.contains(k));
    }
}

/// The active remote source's latest answers, for the targets pane, the alerts pane and
/// completion.
pub(super) struct ActiveRemote {
    pub name: String,
    pub targets: Option<Result<Targets, SourceError>>,
    pub groups: Option<Result<Vec<RemoteGroup>, SourceError>>,
    pub completion: Option<Arc<CompletionIndex>>,
    pub waiting: bool,
}

/// What one refresh gets from the query sources.
pub(super) struct Round {
    /// The wanted panels, in request order.
    pub panels: Vec<PanelData>,
    /// `None` while the embedded engine is active.
    pub active: Option<ActiveRemote>,
}

impl RemoteFeeds {
    /// Evaluates the request's wanted panels, each on its source (its own `source:`, or
    /// the active one): the embedded ones on the engine, the remote ones through
    /// `round`, waiting at most `wait`; and asks the active remote source for its targets,
    /// rules and (when `completion_due`, or never built) completion index.
    #[allow(clippy::too_many_arguments)]
    pub async fn evaluate(
        &mut self,
        storage: &Arc<dyn crate::storage::Storage>,
        reg: &super::sources::SourceRegistry,
        request: &super::panels::PanelRequest,
        now_ms: i64,
        step_ms: i64,
        completion_due: bool,
        wait: Duration,
    ) -> Round {
        use super::sources::EMBEDDED;
        use std::collections::BTreeMap;
        let active = reg.active_name();
        let active_client = reg.active_client();
        let wanted: Vec<PanelSpec> = request.wanted().cloned().collect();
        let source_of = |spec: &PanelSpec| spec.source.clone().unwrap_or_else(|| active.clone());
        let mut embedded = Vec::new();
        let mut by_source: BTreeMap<String, Vec<PanelSpec>> = BTreeMap::new();
        if let Some((name, _)) = &active_client {
            by_source.entry(name.clone()).or_default();
        }
        for spec in &wanted {
            match source_of(spec) {
                s if s == EMBEDDED => embedded.push(spec.clone()),
                s => by_source.entry(s).or_default().push(spec.clone()),
            }
        }
        let mut jobs = Vec::new();
        for (name, specs) in by_source {
            let Some(client) = reg.client(&name) else {
                continue;
            };
            let is_active = name == active;
            let never = self.last(&name).is_none_or(|f| f.completion.is_none());
            jobs.push(Job {
                completion: is_active && (completion_due || never),
                extras: is_active,
                name,
                client,
                specs,
                range: request.range,
                now_ms,
                min_step_ms: step_ms,
            });
        }
        let asked: Vec<String> = jobs.iter().map(|j| j.name.clone()).collect();
        let local = super::backend::Embedded {
            storage: storage.clone(),
        };
        let local = local.panels(embedded, request.range, now_ms, step_ms);
        let (local, waiting) = tokio::join!(local, self.round(jobs, wait));
        self.retain(&asked);
        let panels = wanted
            .iter()
            .map(|spec| {
                let src = source_of(spec);
                if src == EMBEDDED {
                    return local
                        .iter()
                        .find(|p| p.id == spec.id)
                        .cloned()
                        .unwrap_or_default();
                }
                let window = super::panels::window(request.range, now_ms, step_ms);
                if !asked.contains(&src) {
                    let mut p = super::panels::blank(spec, window);
                    p.error = Some(format!("no source {src:?}"));
                    return p;
                }
                let mut p = self
                    .panel(&src, spec)
                    .unwrap_or_else(|| super::panels::blank(spec, window));
                if waiting.contains(&src) {
                    p.warnings.push(format!("waiting for {src}"));
                }
                p
            })
            .collect();
        let active = active_client.map(|(name, _)| {
            let last = self.last(&name);
            ActiveRemote {
                targets: last.and_then(|f| f.targets.clone()),
                groups: last.and_then(|f| f.groups.clone()),
                completion: last.and_then(|f| f.completion.clone()),
                waiting: waiting.contains(&name),
                name,
            }
        });
        Round { panels, active }
    }
}

#[cfg(test)]
#[path = "remote_feed_tests.rs"]
mod tests;
