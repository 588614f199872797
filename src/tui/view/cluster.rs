//! The view state's cluster browser intents: `n`/`p` open the nodes and pods tables,
//! the table keys move, sort and filter, Enter opens a pod's detail (asking the app for its
//! graphs with `Action::ShowPod`) or a node's pods, Esc goes back; and the `:ns` and
//! `:ctx` commands. Split from `view` to keep it short.

use super::{Flow, Mode, ViewState};
use crate::app::cluster::PodRef;
use crate::app::{Action, UiSnapshot};
use crate::tui::cluster_view::{ClusterScreen, PAGE};
use crate::tui::keymap::Intent;

impl ViewState {
    /// A cluster browser intent, with the snapshot for the ones that need its rows.
    pub(super) fn apply_cluster(&mut self, intent: Intent, snap: &UiSnapshot) -> Flow {
        self.message = None;
        let Some(view) = snap.cluster.as_deref() else {
            if matches!(intent, Intent::Nodes | Intent::Pods) {
                self.message = Some("not in cluster mode: no kubeconfig context in use".into());
            }
            return Flow::Continue;
        };
        let b = &mut self.cluster;
        let mut flow = Flow::Continue;
        match intent {
            Intent::Nodes | Intent::Pods => {
                if b.screen == ClusterScreen::Detail {
                    flow = Flow::Send(Action::ShowPod(None));
                    b.detail = None;
                }
                b.screen = if intent == Intent::Nodes {
                    ClusterScreen::Nodes
                } else {
                    ClusterScreen::Pods
                };
                self.mode = Mode::Cluster;
            }
            Intent::ClusterUp | Intent::ClusterDown if b.screen == ClusterScreen::Detail => {
                b.detail_scroll = if intent == Intent::ClusterUp {
                    b.detail_scroll.saturating_sub(1)
                } else {
                    (b.detail_scroll + 1).min(500)
                };
            }
            Intent::ClusterUp
            | Intent::ClusterDown
            | Intent::ClusterPageUp
            | Intent::ClusterPageDown
            | Intent::ClusterTop
            | Intent::ClusterBottom => {
                let len = b.listed(view);
                let delta: isize = match intent {
                    Intent::ClusterUp => -1,
                    Intent::ClusterDown => 1,
                    Intent::ClusterPageUp => -(PAGE as isize),
                    Intent::ClusterPageDown => PAGE as isize,
                    Intent::ClusterTop => isize::MIN / 2,
                    _ => isize::MAX / 2,
                };
                b.table().move_by(delta, len);
            }
            Intent::ClusterSort | Intent::ClusterSortReverse => {
                let columns = b.columns();
                let t = b.table();
                if intent == Intent::ClusterSort {
                    t.sort = (t.sort + 1) % columns;
                } else {
                    t.descending = !t.descending;
                }
                t.selected = 0;
            }
            Intent::ClusterFilter if b.screen != ClusterScreen::Detail => {
                self.mode = Mode::ClusterFilter;
            }
            Intent::ClusterOpen => match b.screen {
                ClusterScreen::Pods => {
                    if let Some(p) = b.selected_pod(view) {
                        let pod = PodRef {
                            namespace: p.namespace.clone(),
                            name: p.name.clone(),
                        };
                        b.detail = Some(pod.clone());
                        b.detail_scroll = 0;
                        b.screen = ClusterScreen::Detail;
                        flow = Flow::Send(Action::ShowPod(Some(pod)));
                    }
                }
                ClusterScreen::Nodes => {
                    // A node's pods: the pods table filtered by its name.
                    if let Some(n) = b.selected_node(view) {
                        let name = n.name.clone();
                        b.pods.filter.set(&name);
                        b.pods.selected = 0;
                        b.screen = ClusterScreen::Pods;
                    }
                }
                ClusterScreen::Detail => {}
            },
            _ => {}
        }
        flow
    }

    /// Esc on the cluster browser: the detail back to its table, a table back to the
    /// boxes.
    pub(super) fn cluster_back(&mut self) -> Flow {
        let b = &mut self.cluster;
        if b.screen == ClusterScreen::Detail {
            b.screen = ClusterScreen::Pods;
            b.detail = None;
            return Flow::Send(Action::ShowPod(None));
        }
        self.mode = Mode::Normal;
        Flow::Continue
    }

    /// `:ns [NAME|all]`: narrows the tables to a namespace, or lists them all.
    pub(super) fn namespace_command(&mut self, arg: Option<&str>) -> Flow {
        self.cluster.pods.selected = 0;
        match arg {
            None | Some("all" | "-A" | "*") => {
                self.cluster.namespace = None;
                self.message = Some("namespace: all".into());
            }
            Some(ns) => {
                self.cluster.namespace = Some(ns.to_string());
                self.message = Some(format!("namespace: {ns}"));
            }
        }
        // The app widens its watches when they do not cover the namespace.
        Flow::Send(Action::ShowNamespace(self.cluster.namespace.clone()))
    }

    /// `:ctx NAME[,NAME]`: asks the app to switch contexts.
    pub(super) fn context_command(&mut self, arg: Option<&str>) -> Flow {
        let names: Vec<String> = arg
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if names.is_empty() {
            self.message = Some(":ctx NAME[,NAME…]: which context?".into());
            return Flow::Continue;
        }
        Flow::Send(Action::SwitchContext(names))
    }
}
