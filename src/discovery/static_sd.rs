//! Static discovery: the target groups written in a job's `static_configs`, sent once. `app`
//! builds it from the config; the discovery manager runs it.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{BoxFuture, Discoverer, TargetGroup};
use crate::model::Labels;

/// Sends its groups once, with sources `static/0`, `static/1`, … in list order.
#[derive(Debug, Clone)]
pub struct StaticSd {
    groups: Vec<TargetGroup>,
}

impl StaticSd {
    /// Takes the groups as listed; their sources are replaced by `static/<index>`.
    pub fn new(groups: Vec<TargetGroup>) -> Self {
        let groups = groups
            .into_iter()
            .enumerate()
            .map(|(i, g)| TargetGroup {
                source: format!("static/{i}"),
                ..g
            })
            .collect();
        StaticSd { groups }
    }

    /// One group per `(addresses, labels)` entry, as `static_configs` lists them.
    pub fn from_lists(lists: impl IntoIterator<Item = (Vec<String>, Labels)>) -> Self {
        StaticSd::new(
            lists
                .into_iter()
                .map(|(addresses, labels)| TargetGroup::from_addresses("", addresses, labels))
                .collect(),
        )
    }

    pub fn groups(&self) -> &[TargetGroup] {
        &self.groups
    }
}

impl Discoverer for StaticSd {
    fn run(
        self: Box<Self>,
        tx: mpsc::Sender<Vec<TargetGroup>>,
        cancel: CancellationToken,
    ) -> BoxFuture {
        Box::pin(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                // A closed channel means nobody listens any more; nothing to do either way.
                _ = tx.send(self.groups) => {}
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn sends_every_group_once_with_static_sources() {
        let sd = StaticSd::from_lists([
            (
                vec!["a:9100".to_string(), "b:9100".to_string()],
                Labels::from_pairs(&[("rack", "1")]),
            ),
            (vec!["c:9100".to_string()], Labels::empty()),
        ]);
        let (tx, mut rx) = mpsc::channel(4);
        let done = tokio::spawn(Box::new(sd).run(tx, CancellationToken::new()));
        let groups = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("sent in time")
            .expect("one update");
        let sources: Vec<&str> = groups.iter().map(|g| g.source.as_str()).collect();
        assert_eq!(sources, ["static/0", "static/1"]);
        assert_eq!(
            groups[0].targets,
            [
                Labels::from_pairs(&[("__address__", "a:9100")]),
                Labels::from_pairs(&[("__address__", "b:9100")])
            ]
        );
        assert_eq!(groups[0].labels, Labels::from_pairs(&[("rack", "1")]));
        // It returns after sending, and sends nothing more.
        tokio::time::timeout(Duration::from_secs(5), done)
            .await
            .expect("returns")
            .expect("no panic");
        assert!(rx.recv().await.is_none());
    }

    #[tokio::test]
    async fn returns_on_cancel_when_nobody_reads() {
        let sd = StaticSd::from_lists([(vec!["a:1".to_string()], Labels::empty())]);
        let (tx, _rx) = mpsc::channel(1);
        // Fill the channel so the send blocks.
        tx.send(Vec::new()).await.expect("room for one");
        let cancel = CancellationToken::new();
        let task = tokio::spawn(Box::new(sd).run(tx, cancel.clone()));
        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("returns after cancel")
            .expect("no panic");
    }
}
