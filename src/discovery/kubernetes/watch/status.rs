//! What each watch reports about itself ([`ResourceStatus`]) and the one-line summary of a
//! set of them for a status line. Used by [`super::ClusterWatch::status`] and `summary`.

use std::fmt;
use std::time::Duration;

/// The state of one watched resource (in one namespace, or in all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceState {
    /// The initial list has not completed yet.
    Syncing,
    /// Listed and watching; `objects` is how many the watch holds now.
    Synced { objects: usize },
    /// The API server refused the request (403); only this resource is affected, and the
    /// watch keeps retrying in case permissions change.
    Forbidden {
        verb: String,
        resource: String,
        message: String,
    },
    /// The API server does not serve the resource (404, e.g. an API version an older
    /// cluster lacks); only this resource is affected, and the watch keeps retrying.
    NotServed { message: String },
    /// The last attempt failed (no connection, a server error); the next one is in
    /// `retry_in`. Objects listed before stay in the store meanwhile.
    Disconnected { error: String, retry_in: Duration },
}

/// One watch's state with what it watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceStatus {
    /// The plural resource name, e.g. "pods".
    pub resource: &'static str,
    /// The namespace of a per-namespace watch; `None` for all namespaces or a
    /// cluster-scoped resource.
    pub namespace: Option<String>,
    pub state: ResourceState,
}

impl fmt::Display for ResourceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.resource)?;
        if let Some(ns) = &self.namespace {
            write!(f, " in {ns}")?;
        }
        match &self.state {
            ResourceState::Syncing => f.write_str(": syncing"),
            ResourceState::Synced { objects } => write!(f, ": {objects} objects"),
            ResourceState::Forbidden {
                verb,
                resource,
                message,
            } => write!(f, ": no permission to {verb} {resource}: {message}"),
            ResourceState::NotServed { message } => write!(f, ": not served: {message}"),
            ResourceState::Disconnected { error, retry_in } => write!(
                f,
                ": disconnected, retrying in {}: {error}",
                seconds(*retry_in)
            ),
        }
    }
}

fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f64().ceil() as u64)
}

/// One line for a status bar: "disconnected, retrying in 8s" when no watch works, the first
/// failing resource when only some fail ("deployments failing, retrying in 2s: 500 …"), else
/// the first refused resource ("no permission to list pods: …"), else the sync progress,
/// else the object count (resources the server does not serve are left out).
pub fn summarize(statuses: &[ResourceStatus]) -> String {
    if statuses.is_empty() {
        return "no watches".to_string();
    }
    let failing: Vec<_> = statuses
        .iter()
        .filter_map(|s| match &s.state {
            ResourceState::Disconnected { error, retry_in } => Some((s.resource, error, *retry_in)),
            _ => None,
        })
        .collect();
    let others_fine = statuses.iter().any(|s| {
        matches!(
            s.state,
            ResourceState::Synced { .. } | ResourceState::Syncing
        )
    });
    if let Some((resource, error, retry_in)) = failing.first() {
        if !others_fine {
            return format!("disconnected, retrying in {}", seconds(*retry_in));
        }
        let more = match failing.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return format!(
            "{resource} failing, retrying in {}: {error}{more}",
            seconds(*retry_in)
        );
    }
    let forbidden: Vec<_> = statuses
        .iter()
        .filter_map(|s| match &s.state {
            ResourceState::Forbidden {
                verb,
                resource,
                message,
            } => Some((verb, resource, message)),
            _ => None,
        })
        .collect();
    if let Some((verb, resource, message)) = forbidden.first() {
        let more = match forbidden.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return format!("no permission to {verb} {resource}: {message}{more}");
    }
    let syncing = statuses
        .iter()
        .filter(|s| s.state == ResourceState::Syncing)
        .count();
    if syncing > 0 {
        return format!("syncing {syncing} of {} resources", statuses.len());
    }
    let objects: usize = statuses
        .iter()
        .map(|s| match s.state {
            ResourceState::Synced { objects } => objects,
            _ => 0,
        })
        .sum();
    format!("synced, {objects} objects")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(resource: &'static str, state: ResourceState) -> ResourceStatus {
        ResourceStatus {
            resource,
            namespace: None,
            state,
        }
    }

    #[test]
    fn summary_prefers_disconnection_then_permission_then_progress() {
        let synced = st("pods", ResourceState::Synced { objects: 5 });
        let nodes = st("nodes", ResourceState::Synced { objects: 2 });
        assert_eq!(
            summarize(&[synced.clone(), nodes.clone()]),
            "synced, 7 objects"
        );
        let forbidden = st(
            "deployments",
            ResourceState::Forbidden {
                verb: "list".into(),
                resource: "deployments".into(),
                message: "no".into(),
            },
        );
        assert_eq!(
            summarize(&[synced.clone(), forbidden.clone()]),
            "no permission to list deployments: no"
        );
        let down = st(
            "nodes",
            ResourceState::Disconnected {
                error: "refused".into(),
                retry_in: Duration::from_millis(7200),
            },
        );
        assert_eq!(
            summarize(&[forbidden.clone(), down.clone()]),
            "disconnected, retrying in 8s"
        );
        assert_eq!(
            summarize(&[synced.clone(), forbidden, down.clone()]),
            "nodes failing, retrying in 8s: refused"
        );
        assert_eq!(
            down.to_string(),
            "nodes: disconnected, retrying in 8s: refused"
        );
        assert_eq!(
            summarize(&[synced, st("jobs", ResourceState::Syncing)]),
            "syncing 1 of 2 resources"
        );
        assert_eq!(summarize(&[]), "no watches");
    }
}
