//! The series of Jobs (`kube_job_*`, identified by `namespace` and `job_name`) and
//! CronJobs (`kube_cronjob_*`), as kube-state-metrics writes them. Called by
//! `KubeState::collect`.

use k8s_openapi::api::batch::v1::{CronJob, Job};

use super::{Emitter, bool_f64, owner_series, unix};

/// Job failure reasons kube-state-metrics reports by name in `kube_job_status_failed`.
const JOB_FAILURE_REASONS: [&str; 3] = ["BackoffLimitExceeded", "DeadlineExceeded", "Evicted"];

pub(super) fn job_series(j: &Job, e: &mut Emitter<'_>) {
    let m = &j.metadata;
    let ids: &[(&str, &str)] = &[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("job_name", m.name.as_deref().unwrap_or("")),
    ];
    e.emit("kube_job_info", ids, &[], 1.0);
    if let Some(t) = &m.creation_timestamp {
        e.emit("kube_job_created", ids, &[], unix(t));
    }
    owner_series(e, "kube_job_owner", ids, m, true);
    if let Some(spec) = &j.spec {
        if let Some(v) = spec.parallelism {
            e.emit("kube_job_spec_parallelism", ids, &[], f64::from(v));
        }
        if let Some(v) = spec.completions {
            e.emit("kube_job_spec_completions", ids, &[], f64::from(v));
        }
        if let Some(v) = spec.active_deadline_seconds {
            e.emit("kube_job_spec_active_deadline_seconds", ids, &[], v as f64);
        }
    }
    let st = j.status.as_ref();
    let count = |v: Option<i32>| f64::from(v.unwrap_or(0));
    e.emit(
        "kube_job_status_succeeded",
        ids,
        &[],
        count(st.and_then(|s| s.succeeded)),
    );
    e.emit(
        "kube_job_status_active",
        ids,
        &[],
        count(st.and_then(|s| s.active)),
    );
    e.emit(
        "kube_job_status_ready",
        ids,
        &[],
        count(st.and_then(|s| s.ready)),
    );
    let conditions = st.and_then(|s| s.conditions.as_deref()).unwrap_or(&[]);

    // Failed: without failures one plain series; with them, the known reasons of each
    // Failed condition, and the count without a reason when none of them matched.
    let failed = count(st.and_then(|s| s.failed));
    if failed == 0.0 {
        e.emit("kube_job_status_failed", ids, &[], 0.0);
    } else {
        let mut known = false;
        for c in conditions.iter().filter(|c| c.type_ == "Failed") {
            for r in JOB_FAILURE_REASONS {
                let hit = c.reason.as_deref() == Some(r);
                known |= hit;
                e.emit(
                    "kube_job_status_failed",
                    ids,
                    &[("reason", r)],
                    bool_f64(hit),
                );
            }
        }
        if !known {
            e.emit("kube_job_status_failed", ids, &[], failed);
        }
    }
    for c in conditions {
        let family = match c.type_.as_str() {
            "Complete" => "kube_job_complete",
            "Failed" => "kube_job_failed",
            "Suspended" => {
                e.emit(
                    "kube_job_status_suspended",
                    ids,
                    &[],
                    bool_f64(c.status == "True"),
                );
                continue;
            }
            _ => continue,
        };
        e.emit_condition(family, ids, &[], "condition", &c.status);
    }
    if let Some(t) = st.and_then(|s| s.start_time.as_ref()) {
        e.emit("kube_job_status_start_time", ids, &[], unix(t));
    }
    if let Some(t) = st.and_then(|s| s.completion_time.as_ref()) {
        e.emit("kube_job_status_completion_time", ids, &[], unix(t));
    }
}

pub(super) fn cronjob_series(c: &CronJob, e: &mut Emitter<'_>) {
    let m = &c.metadata;
    let ids: &[(&str, &str)] = &[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("cronjob", m.name.as_deref().unwrap_or("")),
    ];
    let spec = &c.spec;
    e.emit(
        "kube_cronjob_info",
        ids,
        &[
            ("schedule", &spec.schedule),
            (
                "concurrency_policy",
                spec.concurrency_policy.as_deref().unwrap_or(""),
            ),
            ("timezone", spec.time_zone.as_deref().unwrap_or("local")),
        ],
        1.0,
    );
    if let Some(t) = &m.creation_timestamp {
        e.emit("kube_cronjob_created", ids, &[], unix(t));
    }
    let st = c.status.as_ref();
    let active = st.and_then(|s| s.active.as_ref()).map_or(0, Vec::len);
    e.emit("kube_cronjob_status_active", ids, &[], active as f64);
    if let Some(t) = st.and_then(|s| s.last_schedule_time.as_ref()) {
        e.emit("kube_cronjob_status_last_schedule_time", ids, &[], unix(t));
    }
    if let Some(t) = st.and_then(|s| s.last_successful_time.as_ref()) {
        e.emit(
            "kube_cronjob_status_last_successful_time",
            ids,
            &[],
            unix(t),
        );
    }
    e.emit(
        "kube_cronjob_spec_suspend",
        ids,
        &[],
        bool_f64(spec.suspend.unwrap_or(false)),
    );
    if let Some(v) = spec.starting_deadline_seconds {
        e.emit(
            "kube_cronjob_spec_starting_deadline_seconds",
            ids,
            &[],
            v as f64,
        );
    }
    if let Some(v) = m
        .resource_version
        .as_deref()
        .and_then(|v| v.parse::<f64>().ok())
    {
        e.emit("kube_cronjob_metadata_resource_version", ids, &[], v);
    }
    if let Some(v) = spec.successful_jobs_history_limit {
        e.emit(
            "kube_cronjob_spec_successful_job_history_limit",
            ids,
            &[],
            f64::from(v),
        );
    }
    if let Some(v) = spec.failed_jobs_history_limit {
        e.emit(
            "kube_cronjob_spec_failed_job_history_limit",
            ids,
            &[],
            f64::from(v),
        );
    }
}
