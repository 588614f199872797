//! What a remote source can do and whether it can be reached: features it answered 404,
//! 405 or 501 (or garbage) for are marked unavailable and asked again only every
//! `RECHECK` (Mimir and VictoriaMetrics have no `/api/v1/targets`, Thanos Query may lack
//! `/api/v1/rules`); a connection failure starts a capped exponential backoff during
//! which requests fail at once with "retrying in Ns". `client::Client` keeps one `Health`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a feature stays marked unavailable before it is asked again.
pub const RECHECK: Duration = Duration::from_secs(300);
/// The first and the longest wait after a connection failure.
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// A group of API endpoints a source may or may not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    /// `/api/v1/query` and `/api/v1/query_range`.
    Query,
    /// `/api/v1/series`.
    Series,
    /// `/api/v1/labels` and `/api/v1/label/NAME/values`.
    Labels,
    /// `/api/v1/targets`.
    Targets,
    /// `/api/v1/rules`.
    Rules,
    /// `/api/v1/alerts`.
    Alerts,
    /// `/api/v1/metadata`.
    Metadata,
    /// `/api/v1/status/buildinfo`.
    BuildInfo,
}

impl Feature {
    /// The word the TUI shows: "targets unavailable on …".
    pub fn name(self) -> &'static str {
        match self {
            Feature::Query => "queries",
            Feature::Series => "series",
            Feature::Labels => "labels",
            Feature::Targets => "targets",
            Feature::Rules => "rules",
            Feature::Alerts => "alerts",
            Feature::Metadata => "metadata",
            Feature::BuildInfo => "build info",
        }
    }
}

impl std::fmt::Display for Feature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether an HTTP status says "this server has no such endpoint".
pub fn means_unavailable(status: u16) -> bool {
    matches!(status, 404 | 405 | 501)
}

/// A source's reachability and missing features.
#[derive(Debug, Default)]
pub struct Health {
    unavailable: HashMap<Feature, Instant>,
    /// The backoff after connection failures: until when, the current delay and the last
    /// failure's message.
    down: Option<Down>,
}

#[derive(Debug, Clone)]
struct Down {
    until: Instant,
    delay: Duration,
    reason: String,
}

impl Health {
    /// Whether `feature` is marked unavailable now (marked less than `RECHECK` ago).
    pub fn is_unavailable(&self, feature: Feature, now: Instant) -> bool {
        self.unavailable
            .get(&feature)
            .is_some_and(|&at| now.duration_since(at) < RECHECK)
    }

    /// The features marked unavailable now, sorted.
    pub fn unavailable(&self, now: Instant) -> Vec<Feature> {
        let mut v: Vec<Feature> = self
            .unavailable
            .keys()
            .copied()
            .filter(|f| self.is_unavailable(*f, now))
            .collect();
        v.sort();
        v
    }

    pub fn mark_unavailable(&mut self, feature: Feature, now: Instant) {
        self.unavailable.insert(feature, now);
    }

    pub fn mark_available(&mut self, feature: Feature) {
        self.unavailable.remove(&feature);
    }

    /// While backing off: how long until the next attempt and why.
    pub fn backing_off(&self, now: Instant) -> Option<(Duration, &str)> {
        let d = self.down.as_ref()?;
        (now < d.until).then(|| (d.until - now, d.reason.as_str()))
    }

    /// Whether the last request failed to connect (backing off or due to retry).
    pub fn is_down(&self) -> bool {
        self.down.is_some()
    }

    /// A connection failure: the next wait doubles (from `BACKOFF_MIN` up to
    /// `BACKOFF_MAX`). Returns the wait.
    pub fn failed(&mut self, reason: String, now: Instant) -> Duration {
        let delay = match &self.down {
            Some(d) => (d.delay * 2).min(BACKOFF_MAX),
            None => BACKOFF_MIN,
        };
        self.down = Some(Down {
            until: now + delay,
            delay,
            reason,
        });
        delay
    }

    /// An answer arrived: the backoff ends.
    pub fn reached(&mut self) {
        self.down = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_features_are_rechecked_after_five_minutes() {
        let mut h = Health::default();
        let t0 = Instant::now();
        h.mark_unavailable(Feature::Targets, t0);
        assert!(h.is_unavailable(Feature::Targets, t0 + Duration::from_secs(299)));
        assert!(!h.is_unavailable(Feature::Rules, t0));
        assert_eq!(h.unavailable(t0), [Feature::Targets]);
        assert!(!h.is_unavailable(Feature::Targets, t0 + RECHECK));
        h.mark_available(Feature::Targets);
        assert!(h.unavailable(t0).is_empty());
        assert!(means_unavailable(404) && means_unavailable(501) && !means_unavailable(500));
    }

    #[test]
    fn connection_failures_back_off_exponentially_up_to_the_cap() {
        let mut h = Health::default();
        let t0 = Instant::now();
        let waits: Vec<u64> = (0..7)
            .map(|_| h.failed("refused".into(), t0).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        let (left, why) = h.backing_off(t0 + Duration::from_secs(10)).unwrap();
        assert_eq!((left.as_secs(), why), (20, "refused"));
        assert!(h.backing_off(t0 + BACKOFF_MAX).is_none());
        assert!(h.is_down());
        h.reached();
        assert!(!h.is_down() && h.backing_off(t0).is_none());
    }
}
