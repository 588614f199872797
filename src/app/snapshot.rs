//! The UI's read model: an immutable `UiSnapshot` that `app` builds from storage queries on
//! every refresh tick and publishes to the TUI, and the `Action`s the TUI sends back.
//! Everything here is plain data (serializable, for the data export); drawing it is the
//! TUI's job.

use ratatui::buffer::Buffer;
use serde::{Serialize, Serializer};

use crate::model::Labels;

/// Points of one graph, oldest first, already in the unit the box shows (percent, bytes/s).
/// `None` marks a gap (no data at that step); it serializes as `null`.
pub type History = Vec<Option<f64>>;

/// Everything the screen shows, at one instant.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UiSnapshot {
    /// When this snapshot was computed (ms since the epoch).
    pub at_ms: i64,
    /// The refresh step between history points (ms).
    pub step_ms: i64,
    pub host: HostInfo,
    pub cpu: CpuPanel,
    pub memory: MemoryPanel,
    pub network: NetworkPanel,
    pub disks: DisksPanel,
    pub targets: Vec<TargetRow>,
    /// Per scrape pool, how many discovered targets relabeling dropped (pools with none
    /// are left out), sorted by pool.
    pub dropped_targets: Vec<(String, usize)>,
    /// The dropped targets themselves (at most `MAX_DROPPED_ROWS`), as rows with only
    /// `job`, `url` (the address) and `discovered_labels` set, for the pane's `dropped`
    /// filter (Prometheus's service-discovery page).
    pub dropped: Vec<TargetRow>,
    /// The query panels (the query bar's panel first, then pinned and dashboard panels),
    /// each evaluated over the current time range on this refresh.
    pub panels: Vec<PanelData>,
    /// The time range the panels show.
    pub range: TimeRange,
    /// How the dashboard screen lays out its panels (their data is in `panels` while the
    /// dashboard is shown).
    #[serde(skip)]
    pub dashboard: std::sync::Arc<DashboardLayout>,
    /// kmon's own CPU and memory use, for the header.
    pub me: SelfUsage,
    /// The local time zone's offset from UTC at `at_ms` (seconds), for clocks and axes.
    pub tz_offset_secs: i32,
    /// One line for the status bar (last action result, warnings).
    pub status: String,
    /// What the query bar completes from (rebuilt from storage every little while).
    #[serde(skip)]
    pub completion: std::sync::Arc<crate::app::assist::CompletionIndex>,
    /// The cluster browser's data; `None` when not in cluster mode.
    pub cluster: Option<std::sync::Arc<crate::app::cluster::ClusterView>>,
    /// The rules' alerts, groups and the local silences (empty without rules).
    #[serde(skip)]
    pub alerts: std::sync::Arc<crate::app::alerts::AlertsView>,
    /// The query sources for the `:source` picker and the header: the active one's name
    /// and every option with its state.
    pub sources: std::sync::Arc<crate::app::sources::SourcesView>,
}

/// How many dropped targets a snapshot lists one by one (the counts cover them all).
pub const MAX_DROPPED_ROWS: usize = 1000;

/// kmon's own resource use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SelfUsage {
    /// Percent of one core over the last refresh.
    pub cpu_pct: Option<f64>,
    pub rss_bytes: Option<f64>,
}

/// The window of time the panels show: the last `span_ms` up to `end_ms`. A live view
/// follows now (`paused` false); a paused one keeps its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimeRange {
    pub span_ms: i64,
    pub end_ms: i64,
    pub paused: bool,
}

impl Default for TimeRange {
    fn default() -> Self {
        TimeRange {
            span_ms: 15 * 60 * 1000,
            end_ms: 0,
            paused: false,
        }
    }
}

/// How a panel's values are shown on its y axis and in its legend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Plain numbers with SI prefixes.
    #[default]
    None,
    Bytes,
    /// Bytes per second.
    BytesPerSec,
    Seconds,
    /// 0..100.
    Percent,
    /// Events per second.
    OpsPerSec,
}

/// How a panel draws its series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PanelKind {
    #[default]
    Graph,
    Stat,
    Gauge,
    Table,
}

/// One panel's latest evaluation: a range query per PromQL expression.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PanelData {
    /// Stable across refreshes (the query bar's panel is 0).
    pub id: u64,
    pub title: String,
    pub queries: Vec<String>,
    pub unit: Unit,
    pub kind: PanelKind,
    /// The evaluated steps: `start_ms`, `start_ms + step_ms`, … `end_ms`.
    pub start_ms: i64,
    pub end_ms: i64,
    pub step_ms: i64,
    /// Every result series of every query, in query order, each sorted by labels.
    pub series: Vec<PanelSeries>,
    /// Why a query failed (parse or evaluation error, with the query's number when
    /// there are several); the series of the other queries are still shown.
    pub error: Option<String>,
    /// Warnings and infos of the evaluation, as Prometheus words them.
    pub warnings: Vec<String>,
    /// Each query's own outcome, in query order (what the data export writes per query).
    pub outcomes: Vec<QueryOutcome>,
}

/// How one query of a panel went: Prometheus's `errorType` and message when it failed,
/// and its warnings and infos.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueryOutcome {
    /// `(errorType, error)` as Prometheus's API words them: `bad_data` for a query that
    /// does not parse; `execution`, `timeout`, `canceled` for an evaluation that failed.
    pub error: Option<(String, String)>,
    pub warnings: Vec<String>,
}

/// The dashboard screen's layout: rows of panels, top to bottom.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardLayout {
    pub title: String,
    pub rows: Vec<DashboardRow>,
}

/// One row of dashboard panels, side by side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardRow {
    /// Terminal rows it asks for; `None` shares what is left.
    pub height: Option<u16>,
    /// A row of pinned queries (`x` unpins them).
    pub pinned: bool,
    pub panels: Vec<DashboardCell>,
}

/// One panel's place in a row: which panel (`PanelData::id`) and its share of the width.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardCell {
    pub id: u64,
    pub title: String,
    pub kind: PanelKind,
    pub width: u16,
}

/// One result series of a panel query.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PanelSeries {
    /// Which of the panel's queries it came from.
    pub query: usize,
    #[serde(serialize_with = "labels_as_map")]
    pub labels: Labels,
    /// `(ms, value)` at step times, oldest first; steps without a value are absent.
    pub points: Vec<(i64, f64)>,
}

fn labels_as_map<S: Serializer>(labels: &Labels, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(labels.iter().map(|l| (l.name, l.value)))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostInfo {
    pub hostname: String,
    pub kernel: String,
    pub uptime_secs: f64,
    /// Where the data comes from, e.g. "this machine" or "prometheus.yml: 3 targets".
    pub source: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CpuPanel {
    /// Busy percent of all cores together, 0..=100.
    pub total: History,
    /// Per core, in core order ("cpu0", "cpu1", ...).
    pub cores: Vec<CoreRow>,
    /// node_load1, node_load5, node_load15.
    pub load: Option<[f64; 3]>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CoreRow {
    pub name: String,
    /// Busy percent history, 0..=100.
    pub busy: History,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MemoryPanel {
    pub total_bytes: Option<f64>,
    pub available_bytes: Option<f64>,
    pub free_bytes: Option<f64>,
    pub cached_bytes: Option<f64>,
    pub swap_total_bytes: Option<f64>,
    pub swap_free_bytes: Option<f64>,
    /// Used percent (total - available) / total history.
    pub used_pct: History,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NetworkPanel {
    pub interfaces: Vec<InterfaceRow>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InterfaceRow {
    pub device: String,
    /// Bytes per second.
    pub rx: History,
    pub tx: History,
    /// Counters' latest values (bytes since boot).
    pub rx_total: Option<f64>,
    pub tx_total: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DisksPanel {
    pub filesystems: Vec<FilesystemRow>,
    pub devices: Vec<DiskIoRow>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FilesystemRow {
    pub mountpoint: String,
    pub device: String,
    pub fstype: String,
    pub size_bytes: f64,
    pub avail_bytes: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DiskIoRow {
    pub device: String,
    /// Bytes per second.
    pub read: History,
    pub written: History,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    #[default]
    Unknown,
    Up,
    Down,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TargetRow {
    /// The scrape pool (the job's name).
    pub job: String,
    pub url: String,
    pub health: Health,
    pub last_error: String,
    /// ms since the epoch; None before the first scrape.
    pub last_scrape_ms: Option<i64>,
    pub duration_secs: f64,
    /// The target's labels after relabeling.
    #[serde(serialize_with = "labels_as_map")]
    pub labels: Labels,
    /// The labels service discovery gave it, before relabeling.
    #[serde(serialize_with = "labels_as_map")]
    pub discovered_labels: Labels,
    /// Samples the last scrape stored.
    pub samples: u64,
    pub interval_secs: f64,
}

/// A box on the screen, for the data export: the data behind exactly the boxes the user
/// saw is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shown {
    Cpu,
    Memory,
    Network,
    Disks,
    /// A query panel, by `PanelData::id` (0 is the query bar's).
    Panel(u64),
    /// The targets pane.
    Targets,
    /// The cluster browser (its overview, a table or a pod's detail): the whole
    /// `ClusterView` in `data.json`, the overview's graphs in `data.csv`.
    Cluster,
}

/// Intents from the TUI that the app carries out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Stop everything and exit.
    Quit,
    /// Write an export folder: `screen` is the screen as the TUI drew it (at the terminal's
    /// size) in `theme`; the data of the `shown` boxes comes from the latest snapshot. The
    /// result shows in the status line.
    Export {
        screen: Buffer,
        theme: Box<crate::tui::Theme>,
        shown: Vec<Shown>,
    },
    /// Show `expr` in the query panel (evaluated over the time range on every refresh) and
    /// keep it in the query history. An empty expression empties the panel.
    RunQuery { expr: String },
    /// Show this time range from the next snapshot on.
    SetRange(TimeRange),
    /// Refresh (and collect, in this-machine mode) at this interval from now on.
    SetInterval(std::time::Duration),
    /// Write the options menu's choices to the settings file.
    SaveOptions(SavedOptions),
    /// Pin `expr` as a new panel of the dashboard (kept in the data dir across runs).
    Pin { expr: String },
    /// Remove the pinned panel `id` from the dashboard.
    Unpin { id: u64 },
    /// The dashboard screen is shown (its panels are evaluated) or not.
    ShowDashboard(bool),
    /// Build the detail of this pod (its graphs) from the next snapshot on; `None` when
    /// the pod detail closes.
    ShowPod(Option<crate::app::cluster::PodRef>),
    /// Switch the cluster browser to these kubeconfig contexts (`:ctx a,b`).
    SwitchContext(Vec<String>),
    /// The tables show this namespace (`None`: all) (`:ns`). When kmon was started with
    /// `-n` and the namespace is outside what it watches, the watches widen to it.
    ShowNamespace(Option<String>),
    /// Silence the alerts whose labels have all of `matchers` (`(label, value)` pairs)
    /// until `until_ms` (ms since the epoch), locally; kept in the data dir.
    Silence {
        matchers: Vec<(String, String)>,
        until_ms: i64,
    },
    /// End the local silence `id` (`Silence::id`).
    Unsilence { id: u64 },
    /// Reload the rule files as SIGHUP does (the `R` key, `:reload`); the outcome goes to
    /// the status line.
    ReloadRules,
    /// Make the source `name` (`embedded` or a remote source's name) the one the query
    /// bar, the dashboard, completion, targets and alerts come from (`:source`).
    SwitchSource(String),
    /// Evaluate `expr` as the alert detail's graph panel (`panels::ALERT_PANEL_ID`) over
    /// the time range on every refresh; `None` when the detail closes.
    ShowAlertGraph(Option<String>),
}

/// What the options menu saves in the settings file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedOptions {
    /// `None` when the menu never learnt the interval (no snapshot yet).
    pub interval_ms: Option<i64>,
    pub theme: String,
    /// `braille`, `block` or `tty`.
    pub graph: String,
    /// The boxes shown, by settings-file name.
    pub boxes: Vec<String>,
    /// Ring the terminal bell when an alert starts firing.
    pub bell: bool,
}
