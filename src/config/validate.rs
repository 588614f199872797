//! Turns the raw mirror into the validated `Config`: applies Prometheus 3.5's defaults and
//! makes the checks Prometheus makes at load time (timeouts, duplicate jobs, relabel rules,
//! static targets, file SD patterns; HTTP client settings are in `http_client`, Kubernetes SD
//! in `kubernetes_sd`). Every failure carries the key path it is about; the loader turns the
//! path into a line.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::model::{
    Label, Labels, RelabelAction, RelabelConfig, RelabelRegex, is_valid_label_name, parse_duration,
};

use super::error::ConfigErrorKind as K;
use super::raw::{
    RawConfig, RawFileSdConfig, RawGlobal, RawLimits, RawRelabelConfig, RawScrapeConfig,
    RawStaticConfig,
};
use super::types::{
    Config, FileSdConfig, GlobalConfig, Limits, Scheme, ScrapeConfig, ScrapeProtocol, StaticConfig,
};
use super::yaml::Step;

/// A validation failure and the key path it is about.
#[derive(Debug)]
pub struct Invalid {
    pub path: Vec<Step>,
    pub kind: K,
}

pub(super) type Result<T> = std::result::Result<T, Invalid>;

/// What validation needs from outside: the directory relative paths are joined to, and the
/// environment for `external_labels`. Notes (not errors) are collected here.
pub struct Ctx<'a> {
    pub dir: Option<&'a Path>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub notes: Vec<(Vec<Step>, String)>,
}

/// Builds a key path from keys and indexes: `path![ "scrape_configs", i, "scrape_timeout" ]`.
macro_rules! path {
    ($($step:expr),* $(,)?) => { vec![$(Step::from($step)),*] };
}

impl From<&str> for Step {
    fn from(s: &str) -> Step {
        Step::Key(s.to_string())
    }
}

impl From<usize> for Step {
    fn from(i: usize) -> Step {
        Step::Index(i)
    }
}

pub(super) fn at(path: Vec<Step>, kind: impl Into<K>) -> Invalid {
    Invalid {
        path,
        kind: kind.into(),
    }
}

pub(super) fn child(base: &[Step], step: impl Into<Step>) -> Vec<Step> {
    let mut p = base.to_vec();
    p.push(step.into());
    p
}

fn under(base: &[Step], rest: Vec<Step>) -> Vec<Step> {
    let mut p = base.to_vec();
    p.extend(rest);
    p
}

const FILE_SD_DEFAULT_REFRESH: Duration = Duration::from_secs(300);

/// Validates a whole document.
pub fn validate(raw: RawConfig, ctx: &mut Ctx<'_>) -> Result<Config> {
    let global = global(raw.global.unwrap_or_default(), ctx)?;
    let mut scrape_configs = Vec::new();
    let mut seen = HashSet::new();
    for (i, item) in raw
        .scrape_configs
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let base = path!["scrape_configs", i];
        let Some(sc) = item else {
            return Err(at(base, K::NullSection("scrape config section")));
        };
        let sc = scrape_config(sc, &global, &base, ctx)?;
        if !seen.insert(sc.job_name.clone()) {
            let name = sc.job_name.clone();
            return Err(at(child(&base, "job_name"), K::DuplicateJobName(name)));
        }
        scrape_configs.push(sc);
    }
    let rule_files = raw.rule_files.unwrap_or_default();
    for (i, pattern) in rule_files.iter().enumerate() {
        // Prometheus's rule: a `*` only in the last path element.
        if let Some(star) = pattern.find('*')
            && pattern[star..].contains('/')
        {
            return Err(at(
                path!["rule_files", i],
                K::InvalidRuleFilePath(pattern.clone()),
            ));
        }
    }
    let alerting = super::alerting::validate(raw.alerting, ctx)?;
    let remote_write = super::remote_write::validate(raw.remote_write, ctx)?;
    Ok(Config {
        global,
        alerting,
        remote_write,
        scrape_configs,
        rule_files,
        rule_files_dir: ctx.dir.map(Path::to_path_buf).unwrap_or_default(),
        source_file: None,
    })
}

/// A duration key; `0` counts as unset, as in Prometheus.
pub(super) fn duration(
    value: Option<&str>,
    path: impl FnOnce() -> Vec<Step>,
) -> Result<Option<Duration>> {
    match value {
        None => Ok(None),
        Some(s) => match parse_duration(s) {
            Ok(d) if d.is_zero() => Ok(None),
            Ok(d) => Ok(Some(d)),
            Err(e) => Err(at(path(), e)),
        },
    }
}

fn global(g: RawGlobal, ctx: &mut Ctx<'_>) -> Result<GlobalConfig> {
    let raw_limits = g.limits();
    let p = |k: &str| path!["global", k];
    let defaults = GlobalConfig::default();
    let scrape_interval = duration(g.scrape_interval.as_deref(), || p("scrape_interval"))?
        .unwrap_or(defaults.scrape_interval);
    let timeout = duration(g.scrape_timeout.as_deref(), || p("scrape_timeout"))?;
    if let Some(t) = timeout
        && t > scrape_interval
    {
        return Err(at(
            p("scrape_timeout"),
            K::GlobalTimeoutExceedsInterval {
                timeout: t,
                interval: scrape_interval,
            },
        ));
    }
    let scrape_timeout = timeout.unwrap_or(defaults.scrape_timeout.min(scrape_interval));
    let evaluation_interval = duration(g.evaluation_interval.as_deref(), || {
        p("evaluation_interval")
    })?
    .unwrap_or(defaults.evaluation_interval);
    let rule_query_offset =
        duration(g.rule_query_offset.as_deref(), || p("rule_query_offset"))?.unwrap_or_default();

    let mut labels = Vec::new();
    for (name, value) in g.external_labels.unwrap_or_default() {
        let lp = path!["global", "external_labels", name.as_str()];
        if !is_valid_label_name(&name) {
            return Err(at(lp, K::InvalidLabelName(name)));
        }
        let value = expand_env(&value.unwrap_or_default(), |var| {
            let v = (ctx.env)(var).unwrap_or_default();
            if v.is_empty() {
                ctx.notes.push((
                    lp.clone(),
                    format!("environment variable {var:?} is empty or unset"),
                ));
            }
            v
        });
        labels.push(Label::new(name, value));
    }

    let scrape_protocols = match g.scrape_protocols {
        Some(list) => protocols(&list, &p("scrape_protocols"))?,
        None => defaults.scrape_protocols,
    };
    let limits = limits(raw_limits, &Limits::default(), &[Step::from("global")])?;
    Ok(GlobalConfig {
        scrape_interval,
        scrape_timeout,
        evaluation_interval,
        rule_query_offset,
        external_labels: Labels::new(labels),
        scrape_protocols,
        limits,
    })
}

/// Go's `os.Expand`: `$VAR`, `${VAR}`, and the one-character shell specials (`$$` is `$`).
fn expand_env(s: &str, mut lookup: impl FnMut(&str) -> String) -> String {
    let is_special = |b: u8| b"*#$@!?-".contains(&b) || b.is_ascii_digit();
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' || i + 1 >= bytes.len() {
            i += 1;
            continue;
        }
        out.push_str(&s[copied..i]);
        let rest = &s[i + 1..];
        let rb = rest.as_bytes();
        // (name, bytes consumed after the `$`)
        let (name, width): (&str, usize) = if rb[0] == b'{' {
            if rb.len() > 2 && is_special(rb[1]) && rb[2] == b'}' {
                (&rest[1..2], 3)
            } else {
                match rest[1..].find('}') {
                    Some(0) => ("", 2),
                    Some(end) => (&rest[1..=end], end + 2),
                    None => ("", 1),
                }
            }
        } else if is_special(rb[0]) {
            (&rest[..1], 1)
        } else {
            let end = rb
                .iter()
                .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                .unwrap_or(rb.len());
            (&rest[..end], end)
        };
        if (name.is_empty() && width == 0) || name == "$" {
            out.push('$');
        } else if !name.is_empty() {
            out.push_str(&lookup(name));
        }
        i += 1 + width;
        copied = i;
    }
    out.push_str(&s[copied..]);
    out
}

fn protocols(list: &[String], p: &[Step]) -> Result<Vec<ScrapeProtocol>> {
    if list.is_empty() {
        return Err(at(p.to_vec(), K::EmptyScrapeProtocols));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, name) in list.iter().enumerate() {
        if !seen.insert(name.to_lowercase()) {
            return Err(at(child(p, i), K::DuplicateScrapeProtocol(list.to_vec())));
        }
        let proto = ScrapeProtocol::from_name(name)
            .ok_or_else(|| at(child(p, i), K::UnknownScrapeProtocol(name.clone())))?;
        out.push(proto);
    }
    Ok(out)
}

/// A scrape config's limits: its own where set and non-zero, else the global ones.
fn limits(raw: RawLimits, fallback: &Limits, base: &[Step]) -> Result<Limits> {
    let body_size_limit = match raw.body_size_limit.as_deref() {
        None => 0,
        Some(s) => super::size::parse_base2_bytes(s)
            .map_err(|e| at(child(base, "body_size_limit"), e))?
            .max(0)
            .unsigned_abs(),
    };
    let pick = |own: Option<u64>, global: u64| own.filter(|v| *v != 0).unwrap_or(global);
    Ok(Limits {
        body_size_limit: if body_size_limit != 0 {
            body_size_limit
        } else {
            fallback.body_size_limit
        },
        sample_limit: pick(raw.sample_limit, fallback.sample_limit),
        target_limit: pick(raw.target_limit, fallback.target_limit),
        label_limit: pick(raw.label_limit, fallback.label_limit),
        label_name_length_limit: pick(
            raw.label_name_length_limit,
            fallback.label_name_length_limit,
        ),
        label_value_length_limit: pick(
            raw.label_value_length_limit,
            fallback.label_value_length_limit,
        ),
        keep_dropped_targets: pick(raw.keep_dropped_targets, fallback.keep_dropped_targets),
    })
}

fn scrape_config(
    sc: RawScrapeConfig,
    global: &GlobalConfig,
    base: &[Step],
    ctx: &Ctx<'_>,
) -> Result<ScrapeConfig> {
    let p = |k: &str| child(base, k);
    let raw_limits = sc.limits();
    let job_name = sc.job_name.clone().unwrap_or_default();
    if job_name.is_empty() {
        let where_ = if sc.job_name.is_some() {
            p("job_name")
        } else {
            base.to_vec()
        };
        return Err(at(where_, K::EmptyJobName));
    }
    let (basic_auth, authorization, tls_config) =
        super::http_client::validate(sc.http(), base, ctx)?;

    let static_configs = sc
        .static_configs
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, s)| static_config(s, &child(&p("static_configs"), i)))
        .collect::<Result<Vec<_>>>()?;
    let file_sd_configs = sc
        .file_sd_configs
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, f)| file_sd_config(f, &child(&p("file_sd_configs"), i), ctx))
        .collect::<Result<Vec<_>>>()?;
    let kubernetes_sd_configs = sc
        .kubernetes_sd_configs
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            super::kubernetes_sd::validate(k, &child(&p("kubernetes_sd_configs"), i), ctx)
        })
        .collect::<Result<Vec<_>>>()?;
    let relabel_configs = relabel_list(sc.relabel_configs, &p("relabel_configs"))?;
    let metric_relabel_configs =
        relabel_list(sc.metric_relabel_configs, &p("metric_relabel_configs"))?;
    // Without relabeling a URL in a static target can never become a valid address.
    if relabel_configs.is_empty() {
        for (i, s) in static_configs.iter().enumerate() {
            if let Some(k) = s.targets.iter().position(|t| t.contains('/')) {
                let tp = under(base, path!["static_configs", i, "targets", k]);
                return Err(at(tp, K::InvalidTargetAddress(s.targets[k].clone())));
            }
        }
    }

    let scrape_interval = duration(sc.scrape_interval.as_deref(), || p("scrape_interval"))?
        .unwrap_or(global.scrape_interval);
    let timeout = duration(sc.scrape_timeout.as_deref(), || p("scrape_timeout"))?;
    if let Some(t) = timeout
        && t > scrape_interval
    {
        return Err(at(
            p("scrape_timeout"),
            K::TimeoutExceedsInterval {
                timeout: t,
                interval: scrape_interval,
            },
        ));
    }
    let scrape_timeout = timeout.unwrap_or(global.scrape_timeout.min(scrape_interval));
    let scrape_protocols = match &sc.scrape_protocols {
        Some(list) => protocols(list, &p("scrape_protocols"))?,
        None => global.scrape_protocols.clone(),
    };
    let fallback_scrape_protocol = match &sc.fallback_scrape_protocol {
        None => None,
        Some(name) => Some(ScrapeProtocol::from_name(name).ok_or_else(|| {
            at(
                p("fallback_scrape_protocol"),
                K::UnknownScrapeProtocol(name.clone()),
            )
        })?),
    };
    let scheme = match sc.scheme.as_deref() {
        None | Some("http") => Scheme::Http,
        Some("https") => Scheme::Https,
        Some(other) => return Err(at(p("scheme"), K::InvalidScheme(other.to_string()))),
    };
    let limits = limits(raw_limits, &global.limits, base)?;
    Ok(ScrapeConfig {
        job_name,
        scrape_interval,
        scrape_timeout,
        scrape_protocols,
        fallback_scrape_protocol,
        metrics_path: sc.metrics_path.unwrap_or_else(|| "/metrics".to_string()),
        scheme,
        params: sc.params.unwrap_or_default(),
        honor_labels: sc.honor_labels.unwrap_or(false),
        honor_timestamps: sc.honor_timestamps.unwrap_or(true),
        track_timestamps_staleness: sc.track_timestamps_staleness.unwrap_or(false),
        enable_compression: sc.enable_compression.unwrap_or(true),
        limits,
        basic_auth,
        authorization,
        tls_config,
        follow_redirects: sc.follow_redirects.unwrap_or(true),
        enable_http2: sc.enable_http2.unwrap_or(true),
        static_configs,
        file_sd_configs,
        kubernetes_sd_configs,
        relabel_configs,
        metric_relabel_configs,
    })
}

/// Joins a relative path to the config file's directory, as Prometheus's `JoinDir` does.
pub(super) fn join(ctx: &Ctx<'_>, file: &str) -> PathBuf {
    match ctx.dir {
        Some(dir) if !Path::new(file).is_absolute() && !dir.as_os_str().is_empty() => {
            dir.join(file)
        }
        _ => PathBuf::from(file),
    }
}

/// A non-empty string, as Go's `len(s) > 0` tests for "set".
pub(super) fn set(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

pub(super) fn static_config(s: Option<RawStaticConfig>, base: &[Step]) -> Result<StaticConfig> {
    let s = s.ok_or_else(|| at(base.to_vec(), K::NullSection("section in static_configs")))?;
    let mut labels = Vec::new();
    for (name, value) in s.labels.unwrap_or_default() {
        if !is_valid_label_name(&name) {
            return Err(at(
                under(base, path!["labels", name.as_str()]),
                K::InvalidLabelName(name),
            ));
        }
        labels.push(Label::new(name, value.unwrap_or_default()));
    }
    Ok(StaticConfig {
        targets: s.targets.unwrap_or_default(),
        labels: Labels::new(labels),
    })
}

/// Prometheus's file SD pattern rule: a JSON or YAML extension, and `*` only in the last
/// path element.
fn valid_file_sd_pattern(name: &str) -> bool {
    const EXTS: [&str; 6] = [".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"];
    let has_ext = EXTS
        .iter()
        .any(|e| name.len() > e.len() - 1 && name.ends_with(e));
    let star_ok = name.find('*').is_none_or(|i| !name[i..].contains('/'));
    has_ext && star_ok
}

fn file_sd_config(
    f: Option<RawFileSdConfig>,
    base: &[Step],
    ctx: &Ctx<'_>,
) -> Result<FileSdConfig> {
    let f = f.ok_or_else(|| at(base.to_vec(), K::NullSection("section in file_sd_configs")))?;
    let files = f.files.unwrap_or_default();
    if files.is_empty() {
        return Err(at(base.to_vec(), K::FileSdNoFiles));
    }
    for (i, name) in files.iter().enumerate() {
        if !valid_file_sd_pattern(name) {
            return Err(at(
                under(base, path!["files", i]),
                K::FileSdInvalidPath(name.clone()),
            ));
        }
    }
    let refresh_interval = duration(f.refresh_interval.as_deref(), || {
        child(base, "refresh_interval")
    })?
    .unwrap_or(FILE_SD_DEFAULT_REFRESH);
    Ok(FileSdConfig {
        files: files
            .iter()
            .map(|f| join(ctx, f).to_string_lossy().into_owned())
            .collect(),
        refresh_interval,
    })
}

pub(super) fn relabel_list(
    list: Option<Vec<Option<RawRelabelConfig>>>,
    base: &[Step],
) -> Result<Vec<RelabelConfig>> {
    list.unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, r)| relabel(r, &child(base, i)))
        .collect()
}

fn relabel(r: Option<RawRelabelConfig>, base: &[Step]) -> Result<RelabelConfig> {
    let r = r.ok_or_else(|| {
        at(
            base.to_vec(),
            K::NullSection("relabeling rule in scrape config"),
        )
    })?;
    let d = RelabelConfig::default();
    // An explicit null is Go's zero value; absence keeps the default.
    let or_zero = |v: Option<Option<String>>, default: String| match v {
        None => default,
        Some(v) => v.unwrap_or_default(),
    };
    let regex = match r.regex {
        None => d.regex,
        Some(pattern) => RelabelRegex::new(&pattern.unwrap_or_default())
            .map_err(|e| at(child(base, "regex"), e))?,
    };
    let action = match r.action {
        None => RelabelAction::Replace,
        Some(name) => name
            .unwrap_or_default()
            .parse()
            .map_err(|e| at(child(base, "action"), K::Relabel(e)))?,
    };
    let cfg = RelabelConfig {
        source_labels: r.source_labels.unwrap_or_default(),
        separator: or_zero(r.separator, d.separator),
        regex,
        modulus: r.modulus.unwrap_or(0),
        target_label: r.target_label.unwrap_or_default(),
        replacement: or_zero(r.replacement, d.replacement),
        action,
    };
    cfg.validate().map_err(|e| at(base.to_vec(), e))?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_env_follows_go_os_expand() {
        let env = |name: &str| match name {
            "HOST" => "h1".to_string(),
            "1" => "one".to_string(),
            _ => String::new(),
        };
        let cases: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("$HOST", "h1"),
            ("${HOST}", "h1"),
            ("a-$HOST-b", "a-h1-b"),
            ("$$", "$"),
            ("cost$", "cost$"),
            ("$1x", "onex"),
            ("${}", ""),
            ("${HOST", "HOST"),
            ("$MISSING.x", ".x"),
            ("$-", ""),
            ("$ x", "$ x"),
        ];
        for (input, want) in cases {
            assert_eq!(expand_env(input, env), *want, "{input}");
        }
    }

    #[test]
    fn file_sd_patterns() {
        for ok in [
            "a.json",
            "dir/*.yml",
            "/etc/sd/targets-*.yaml",
            "x.JSON",
            "*.json",
        ] {
            assert!(valid_file_sd_pattern(ok), "{ok}");
        }
        for bad in ["a.txt", "*/a.json", "a.Json", "dir*/x.yml", "json"] {
            assert!(!valid_file_sd_pattern(bad), "{bad}");
        }
    }
}
