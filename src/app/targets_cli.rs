//! `kmon targets`: discovers the targets of what kmon would watch (a `--config`, or the
//! kubeconfig's clusters with the default jobs) once, scrapes each once to learn its health,
//! and prints them: a table with the job, health, scrape duration, URL and final labels, or
//! with `-o json` also the labels as discovered. For scripting and for debugging relabel
//! rules without starting the TUI.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::kube::{self, Discovery, Work};
use crate::model::Labels;
use crate::scrape::{ScrapeClient, TargetSpec, targets_and_dropped};

/// How long discovery may take before the targets are printed as they are.
const SYNC_LIMIT: Duration = Duration::from_secs(30);
/// Probes in flight at once (proxy scrapes are further bounded per cluster).
const PROBES: usize = 16;

/// One probed target.
#[derive(Debug, Clone)]
pub struct Probed {
    pub spec: TargetSpec,
    pub up: bool,
    pub error: String,
    pub duration: Duration,
    pub samples: usize,
}

/// Everything `kmon targets` found.
#[derive(Debug, Default)]
pub struct Found {
    pub targets: Vec<Probed>,
    /// Targets relabeling dropped, per job.
    pub dropped: usize,
    /// Problems while discovering (relabel errors, watches that did not sync).
    pub warnings: Vec<String>,
}

/// `kmon targets [-o table|json]`.
pub fn targets(opts: super::RunOptions, json_out: bool) -> anyhow::Result<ExitCode> {
    let cfg = match &opts.config {
        Some(p) => Some(
            crate::config::load_file(p)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .0,
        ),
        None => None,
    };
    let rt = super::run::runtime()?;
    let found = rt.block_on(async {
        let work = kube::decide(cfg, &opts).await?;
        let cancel = CancellationToken::new();
        let d = match work {
            Work::ThisMachine(why) => {
                let why = why.unwrap_or_else(|| "no kubeconfig found".into());
                eprintln!(
                    "kmon targets: no scrape targets ({why}); kmon watches this machine with its built-in collector"
                );
                // Scripts still get the (empty) shape they asked for.
                return Ok::<_, anyhow::Error>(Found::default());
            }
            Work::Config(cfg) => kube::config_discovery(&cfg, &opts.kube),
            Work::Cluster(cm) => kube::cluster_discovery(&cm, &cancel)?,
        };
        let found = discover_and_probe(d, &cancel).await;
        cancel.cancel();
        Ok(found)
    })?;
    for w in &found.warnings {
        eprintln!("kmon targets: {w}");
    }
    let mut out = std::io::stdout().lock();
    let res = if json_out {
        writeln!(out, "{}", to_json(&found))
    } else {
        write_table(&mut out, &found)
    };
    match res {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("writing to standard output"),
    }
}

/// Runs discovery until the watches have synced and the groups have settled, then
/// scrapes every target once.
pub async fn discover_and_probe(d: Discovery, cancel: &CancellationToken) -> Found {
    let Discovery {
        manager,
        jobs,
        clients,
        watched,
    } = d;
    let mut found = Found::default();
    let (mut groups, _handle) = manager.start(cancel.clone());
    for w in &watched {
        if !w.watch.wait_synced(SYNC_LIMIT).await {
            found.warnings.push(format!(
                "context {}: not synced after {}s: {}",
                w.context,
                SYNC_LIMIT.as_secs(),
                w.watch.summary()
            ));
        }
    }
    // The manager debounces; wait until its output has been quiet for a second.
    let settle = Instant::now();
    loop {
        let quiet = tokio::time::timeout(Duration::from_secs(1), groups.changed()).await;
        if quiet.is_err() || settle.elapsed() > SYNC_LIMIT {
            break;
        }
        if quiet.is_ok_and(|r| r.is_err()) {
            break;
        }
    }
    let current = groups.borrow().clone();
    let clients: HashMap<String, ScrapeClient> = clients.into_iter().collect();
    let mut specs: Vec<(TargetSpec, ScrapeClient)> = Vec::new();
    for job in &jobs {
        let Some(gs) = current.get(&job.job_name) else {
            continue;
        };
        let (ts, dropped, errs) = targets_and_dropped(job, gs);
        found.dropped += dropped.len();
        found
            .warnings
            .extend(errs.iter().map(|e| format!("job {}: {e}", job.job_name)));
        let client = match clients.get(&job.job_name) {
            Some(c) => c.clone(),
            None => match ScrapeClient::new(job) {
                Ok(c) => c,
                Err(e) => {
                    found.warnings.push(format!("job {}: {e}", job.job_name));
                    continue;
                }
            },
        };
        // Targets that relabel to the same labels are one target, as in a scrape pool.
        let mut seen = std::collections::HashSet::new();
        specs.extend(
            ts.into_iter()
                .filter(|t| seen.insert(t.hash()))
                .map(|t| (t, client.clone())),
        );
    }
    let mut probed: Vec<Probed> = futures_util::stream::iter(specs)
        .map(|(spec, client)| async move { probe(spec, &client).await })
        .buffer_unordered(PROBES)
        .collect()
        .await;
    probed.sort_by(|a, b| (&a.spec.job, &a.spec.url).cmp(&(&b.spec.job, &b.spec.url)));
    found.targets = probed;
    found
}

async fn probe(spec: TargetSpec, client: &ScrapeClient) -> Probed {
    let start = Instant::now();
    let result = client.fetch(&spec.url, spec.timeout).await;
    let duration = start.elapsed();
    match result {
        Ok(page) => {
            let samples = crate::exposition::parse(&page.body, page.format)
                .filter(|e| matches!(e, Ok(crate::exposition::Entry::Sample(_))))
                .count();
            Probed {
                spec,
                up: true,
                error: String::new(),
                duration,
                samples,
            }
        }
        Err(e) => Probed {
            spec,
            up: false,
            error: e.to_string(),
            duration,
            samples: 0,
        },
    }
}

fn labels_json(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|l| (l.name.to_string(), Value::String(l.value.to_string())))
            .collect(),
    )
}

/// The `-o json` shape: Prometheus's `activeTargets` fields, plus the sample count.
pub fn to_json(found: &Found) -> Value {
    let targets: Vec<Value> = found
        .targets
        .iter()
        .map(|p| {
            json!({
                "job": p.spec.job,
                "scrapeUrl": p.spec.url,
                "health": if p.up { "up" } else { "down" },
                "lastError": p.error,
                "scrapeDurationSeconds": p.duration.as_secs_f64(),
                "samples": p.samples,
                "labels": labels_json(&p.spec.labels),
                "discoveredLabels": labels_json(&p.spec.discovered_labels),
                "scrapeInterval": crate::model::format_duration(p.spec.interval),
                "scrapeTimeout": crate::model::format_duration(p.spec.timeout),
            })
        })
        .collect();
    json!({"activeTargets": targets, "droppedTargets": found.dropped})
}

/// The table: one line per target (the error last, so columns stay narrow), then a
/// summary line.
pub fn write_table(out: &mut dyn Write, found: &Found) -> std::io::Result<()> {
    const COLS: usize = 7;
    let head = [
        "JOB",
        "HEALTH",
        "SAMPLES",
        "DURATION",
        "SCRAPE URL",
        "LABELS",
        "ERROR",
    ];
    let rows: Vec<[String; COLS]> = found
        .targets
        .iter()
        .map(|p| {
            let labels: Vec<String> = p
                .spec
                .labels
                .iter()
                .filter(|l| l.name != "job")
                .map(|l| format!("{}={:?}", l.name, l.value))
                .collect();
            [
                p.spec.job.clone(),
                if p.up { "up" } else { "down" }.to_string(),
                p.samples.to_string(),
                format!("{}ms", p.duration.as_millis()),
                p.spec.url.clone(),
                labels.join(","),
                p.error.clone(),
            ]
        })
        .collect();
    let mut width = head.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: [&str; COLS]| {
        let mut text = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == COLS {
                text.push_str(c);
            } else {
                text.push_str(&format!("{c:w$}  ", w = width[i]));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, head)?;
    for r in &rows {
        line(out, std::array::from_fn(|i| r[i].as_str()))?;
    }
    let up = found.targets.iter().filter(|p| p.up).count();
    writeln!(
        out,
        "{} targets: {up} up, {} down; {} dropped by relabeling (discovered labels: -o json)",
        found.targets.len(),
        found.targets.len() - up,
        found.dropped
    )
}
