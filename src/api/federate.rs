//! `/federate`: the newest sample of every series matching one of the `match[]` selectors,
//! within the lookback delta before the request time, in Prometheus's text exposition
//! format 0.0.4, so a central Prometheus can scrape kmon (`honor_labels: true`,
//! `metrics_path: /federate`). It follows Prometheus 3.5's `web/federate.go`: series
//! grouped by metric name (sorted by name, label order within a name), a
//! `# TYPE name untyped` line per group, every sample with its timestamp, stale markers
//! and nameless series left out, and the external labels (plus `instance=""`) appended
//! to series that lack them. The format is negotiated from `Accept` as Prometheus's
//! `expfmt.Negotiate` does, including the `escaping` scheme for names that are not
//! valid legacy names; a request for protobuf is answered in text (the scraper's Accept
//! always offers text too).

use std::collections::BTreeMap;

use super::params::Form;
use super::{Api, ApiError, ErrorType};
use crate::model::{Labels, is_stale_nan};
use crate::storage::SelectHints;

/// The successful answer: `Content-Type` and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Federation {
    pub content_type: String,
    pub body: String,
}

/// How names that are not valid legacy Prometheus names are written (the `escaping`
/// parameter of the negotiated format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escaping {
    /// Quoted, as UTF-8 (`allow-utf-8`).
    AllowUtf8,
    /// Every invalid character becomes `_` (`underscores`, Prometheus's default).
    Underscores,
    /// `.` becomes `_dot_`, `_` becomes `__`, others `__` (`dots`).
    Dots,
    /// `U__` and `_<hex>_` for each invalid character (`values`).
    Values,
}

impl Escaping {
    fn from_param(s: &str) -> Option<Escaping> {
        match s {
            "allow-utf-8" => Some(Escaping::AllowUtf8),
            "underscores" => Some(Escaping::Underscores),
            "dots" => Some(Escaping::Dots),
            "values" => Some(Escaping::Values),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Escaping::AllowUtf8 => "allow-utf-8",
            Escaping::Underscores => "underscores",
            Escaping::Dots => "dots",
            Escaping::Values => "values",
        }
    }
}

/// One clause of an `Accept` header, as goautoneg parses it.
struct Clause<'a> {
    ty: &'a str,
    sub: &'a str,
    q: f64,
    params: Vec<(&'a str, &'a str)>,
}

impl Clause<'_> {
    fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| v)
    }
}

/// goautoneg's `ParseAccept`: clauses sorted by quality, then concrete before wildcard
/// types.
fn parse_accept(header: &str) -> Vec<Clause<'_>> {
    let mut out = Vec::new();
    for part in header.split(',') {
        let part = part.trim_matches(' ');
        let mut pieces = part.split(';');
        let range = pieces.next().unwrap_or("");
        let mut sp = range.split('/');
        let ty = sp.next().unwrap_or("").trim_matches(' ');
        let sub = match (sp.next(), sp.next()) {
            (None, _) if ty == "*" => "*",
            (Some(s), None) => s.trim_matches(' '),
            _ => continue,
        };
        let mut clause = Clause {
            ty,
            sub,
            q: 1.0,
            params: Vec::new(),
        };
        for p in pieces {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let k = k.trim_matches(' ');
            if k == "q" {
                // Go parses as float32 and ignores errors (leaving 0).
                clause.q = v.parse::<f32>().map_or(0.0, f64::from);
            } else {
                clause.params.push((k, v.trim_matches(' ')));
            }
        }
        out.push(clause);
    }
    out.sort_by(|a, b| {
        b.q.partial_cmp(&a.q)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| (a.ty == "*").cmp(&(b.ty == "*")))
            .then_with(|| (a.sub == "*").cmp(&(b.sub == "*")))
    });
    out
}

/// `expfmt.Negotiate` restricted to text: the escaping scheme of the clauses up to the
/// first text/plain 0.0.4 one (or protobuf, which kmon answers in text).
pub fn negotiate(accept: &str) -> Escaping {
    let mut escaping = Escaping::Underscores;
    for c in parse_accept(accept) {
        if let Some(e) = Escaping::from_param(c.param("escaping")) {
            escaping = e;
        }
        let version = c.param("version");
        let proto = c.ty == "application"
            && c.sub == "vnd.google.protobuf"
            && c.param("proto") == "io.prometheus.client.MetricFamily"
            && matches!(c.param("encoding"), "delimited" | "text" | "compact-text");
        if proto || (c.ty == "text" && c.sub == "plain" && matches!(version, "0.0.4" | "")) {
            return escaping;
        }
    }
    escaping
}

/// The content type of the text format with `escaping`.
pub fn content_type(escaping: Escaping) -> String {
    format!(
        "text/plain; version=0.0.4; charset=utf-8; escaping={}",
        escaping.as_str()
    )
}

impl Api {
    /// `GET /federate` at the API's clock.
    pub fn federate(&self, form: &Form, accept: &str) -> Result<Federation, ApiError> {
        self.federate_at(form, accept, (self.inner.clock)())
    }

    /// `GET /federate` at `now` (ms). A bad selector is `bad_data` (400, plain text).
    pub fn federate_at(&self, form: &Form, accept: &str, now: i64) -> Result<Federation, ApiError> {
        let mut sets = Vec::new();
        for s in form.values("match[]") {
            let set = crate::promql::parser::parse_metric_selector(s)
                .map_err(|e| ApiError::bad_data(super::query::parse_error_text(&e, s)))?;
            sets.push(set);
        }
        let escaping = negotiate(accept);
        let lookback = self.inner.engine.opts.lookback_delta;
        let (mint, maxt) = (now.saturating_sub(lookback), now);
        let querier = self
            .inner
            .storage
            .querier(mint, maxt)
            .map_err(|e| ApiError::new(ErrorType::Internal, e.to_string()))?;
        let hints = SelectHints {
            start: mint,
            end: maxt,
            lazy: false,
        };
        // The newest sample of each series, merged over the selectors.
        let mut newest: BTreeMap<Labels, (i64, f64)> = BTreeMap::new();
        for set in &sets {
            let found = querier
                .select(set, &hints)
                .map_err(|e| ApiError::new(ErrorType::Internal, e.to_string()))?;
            for s in found {
                if newest.contains_key(&s.labels) {
                    continue;
                }
                let last = s.samples.filter(|p| p.t >= mint && p.t <= maxt).last();
                if let Some(p) = last
                    && !is_stale_nan(p.v)
                {
                    newest.insert(s.labels, (p.t, p.v));
                }
            }
        }
        let mut samples: Vec<(Labels, i64, f64)> =
            newest.into_iter().map(|(l, (t, v))| (l, t, v)).collect();
        // Prometheus sorts by name alone; its sort keeps the label order of input that is
        // already sorted by name, as a stable sort does.
        samples.sort_by(|a, b| a.0.metric_name().cmp(b.0.metric_name()));
        let body = encode(&samples, &self.inner.opts.external_labels, escaping);
        Ok(Federation {
            content_type: content_type(escaping),
            body,
        })
    }
}

/// The text exposition of the samples, grouped by name.
fn encode(samples: &[(Labels, i64, f64)], external: &Labels, escaping: Escaping) -> String {
    // The external labels, with `instance` always among them (empty unless configured),
    // sorted by name.
    let mut ext: Vec<(&str, &str)> = external.iter().map(|l| (l.name, l.value)).collect();
    if !ext.iter().any(|(n, _)| *n == "instance") {
        ext.push(("instance", ""));
    }
    ext.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    let mut last_name: Option<&str> = None;
    for (labels, t, v) in samples {
        let name = labels.metric_name();
        if name.is_empty() {
            continue;
        }
        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(labels.len() + ext.len());
        for l in labels.iter() {
            if l.value.is_empty() || l.name == crate::model::METRIC_NAME {
                continue;
            }
            pairs.push((l.name, l.value));
        }
        for (n, val) in &ext {
            if labels.get(n).is_none_or(|own| own.is_empty()) {
                pairs.push((n, val));
            }
        }
        if last_name != Some(name) {
            out.push_str("# TYPE ");
            push_name(&mut out, name, escaping, false);
            out.push_str(" untyped\n");
            last_name = Some(name);
        }
        push_sample(&mut out, name, &pairs, *t, *v, escaping);
    }
    out
}

/// One sample line: `name{l="v",…} value timestamp`.
fn push_sample(
    out: &mut String,
    name: &str,
    pairs: &[(&str, &str)],
    t: i64,
    v: f64,
    escaping: Escaping,
) {
    let quoted_name = escaping == Escaping::AllowUtf8 && !is_legacy_name(name);
    if quoted_name {
        out.push('{');
        push_name(out, name, escaping, true);
    } else {
        push_name(out, name, escaping, false);
    }
    if !pairs.is_empty() || quoted_name {
        if !quoted_name {
            out.push('{');
        }
        for (i, (n, val)) in pairs.iter().enumerate() {
            if i > 0 || quoted_name {
                out.push(',');
            }
            push_name(out, n, escaping, false);
            out.push_str("=\"");
            push_escaped(out, val);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(&text_float(v));
    out.push(' ');
    out.push_str(&t.to_string());
    out.push('\n');
}

/// A float as the text format writes it (`strconv` 'g' shortest, `0` for ±0).
fn text_float(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    crate::model::format_go_float(v)
}

/// A metric or label name: as is when it is a valid legacy name, else quoted (UTF-8
/// allowed) or escaped by the scheme.
fn push_name(out: &mut String, name: &str, escaping: Escaping, force_quotes: bool) {
    if is_legacy_name(name) && !force_quotes {
        out.push_str(name);
        return;
    }
    match escaping {
        Escaping::AllowUtf8 => {
            out.push('"');
            push_escaped(out, name);
            out.push('"');
        }
        _ => out.push_str(&escape_name(name, escaping)),
    }
}

/// Label values (and quoted names): `\` `"` and newline escaped.
fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn legacy_char(c: char, first: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (!first && c.is_ascii_digit())
}

/// `model.IsValidLegacyMetricName`.
fn is_legacy_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .enumerate()
            .all(|(i, c)| legacy_char(c, i == 0))
}

/// `model.EscapeName` for the schemes other than allow-utf-8.
pub fn escape_name(name: &str, escaping: Escaping) -> String {
    if name.is_empty() || is_legacy_name(name) {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 8);
    match escaping {
        Escaping::AllowUtf8 => out.push_str(name),
        Escaping::Underscores => {
            for (i, c) in name.chars().enumerate() {
                out.push(if legacy_char(c, i == 0) { c } else { '_' });
            }
        }
        Escaping::Dots => {
            for (i, c) in name.chars().enumerate() {
                match c {
                    '_' => out.push_str("__"),
                    '.' => out.push_str("_dot_"),
                    c if legacy_char(c, i == 0) => out.push(c),
                    _ => out.push_str("__"),
                }
            }
        }
        Escaping::Values => {
            out.push_str("U__");
            for (i, c) in name.chars().enumerate() {
                match c {
                    '_' => out.push_str("__"),
                    c if legacy_char(c, i == 0) => out.push(c),
                    c => out.push_str(&format!("_{:x}_", c as u32)),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_negotiate_the_escaping_as_expfmt_does() {
        // Each answer was checked against Prometheus 3.5.3's Content-Type.
        let scraper = crate::scrape::ACCEPT_HEADER;
        assert_eq!(negotiate(scraper), Escaping::AllowUtf8);
        assert_eq!(negotiate(""), Escaping::Underscores);
        assert_eq!(
            negotiate("text/plain;version=0.0.4;escaping=values"),
            Escaping::Values
        );
        assert_eq!(negotiate("text/plain;version=1.0.0"), Escaping::Underscores);
        assert_eq!(negotiate("application/json"), Escaping::Underscores);
        assert_eq!(
            negotiate("text/plain;escaping=bogus"),
            Escaping::Underscores
        );
        assert_eq!(
            content_type(Escaping::AllowUtf8),
            "text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8"
        );
    }

    #[test]
    fn names_escape_by_scheme() {
        assert_eq!(escape_name("ok_name:x", Escaping::Underscores), "ok_name:x");
        assert_eq!(escape_name("my.metric", Escaping::Underscores), "my_metric");
        assert_eq!(escape_name("my.me_tric", Escaping::Dots), "my_dot_me__tric");
        assert_eq!(
            escape_name("my.métric", Escaping::Values),
            "U__my_2e_m_e9_tric"
        );
        assert_eq!(escape_name("1x", Escaping::Underscores), "_x");
    }

    #[test]
    fn floats_are_written_as_the_text_format_writes_them() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (21.5001, "21.5001"),
            (1.5e-5, "1.5e-05"),
            (1e22, "1e+22"),
            (1234567.0, "1.234567e+06"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (f, want) in cases {
            assert_eq!(text_float(*f), *want, "{f}");
        }
    }

    #[test]
    fn utf8_names_are_quoted_with_allow_utf8() {
        let mut out = String::new();
        push_sample(
            &mut out,
            "my.metric",
            &[("a.b", "x\"y"), ("job", "j")],
            5,
            1.5,
            Escaping::AllowUtf8,
        );
        assert_eq!(out, "{\"my.metric\",\"a.b\"=\"x\\\"y\",job=\"j\"} 1.5 5\n");
        let mut out = String::new();
        push_sample(
            &mut out,
            "my.metric",
            &[("a.b", "v")],
            5,
            2.0,
            Escaping::Underscores,
        );
        assert_eq!(out, "my_metric{a_b=\"v\"} 2 5\n");
    }

    use crate::api::{Api, ApiOptions};
    use crate::storage::{Appendable, MemStorage};
    use std::sync::Arc;

    const NOW: i64 = 1_700_000_000_000;

    fn api(external: &[(&str, &str)]) -> Api {
        let s = MemStorage::new();
        let mut app = s.appender();
        let mut add = |pairs: &[(&str, &str)], samples: &[(i64, f64)]| {
            let l = Labels::from_pairs(pairs);
            for (t, v) in samples {
                app.append(None, &l, *t, *v).unwrap();
            }
        };
        add(
            &[("__name__", "up"), ("job", "api"), ("instance", "a:1")],
            &[(NOW - 90_000, 0.0), (NOW - 30_000, 1.0)],
        );
        // Newest sample is a stale marker: left out.
        add(
            &[("__name__", "up"), ("job", "api"), ("instance", "b:1")],
            &[
                (NOW - 60_000, 1.0),
                (NOW - 15_000, crate::model::stale_nan()),
            ],
        );
        // Older than the lookback: left out.
        add(
            &[("__name__", "up"), ("job", "db"), ("instance", "c:1")],
            &[(NOW - 400_000, 1.0)],
        );
        // After the request time: not seen.
        add(
            &[("__name__", "up"), ("job", "late"), ("instance", "d:1")],
            &[(NOW + 10_000, 1.0)],
        );
        add(
            &[("__name__", "temp"), ("Zone", "A"), ("job", "node")],
            &[(NOW, 1.5e-5)],
        );
        add(
            &[
                ("__name__", "temp"),
                ("job", "node"),
                ("zone", "x\\y\"q\nz"),
                ("region", "us"),
            ],
            &[(NOW - 1_500, -0.0)],
        );
        add(
            &[("__name__", "a_total"), ("job", "api"), ("code", "200")],
            &[(NOW - 1, 1234567.0)],
        );
        app.commit().unwrap();
        let opts = ApiOptions {
            external_labels: Labels::from_pairs(external),
            ..ApiOptions::default()
        };
        Api::with_clock(Arc::new(s), opts, || NOW)
    }

    fn federate(api: &Api, q: &str) -> Result<Federation, crate::api::ApiError> {
        api.federate(&Form::new(Some(q), None), "")
    }

    #[test]
    fn federation_writes_the_newest_samples_grouped_by_name() {
        let api = api(&[("region", "eu")]);
        let f = federate(&api, "match[]={job=~\".%2B\"}").unwrap();
        assert_eq!(
            f.content_type,
            "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
        );
        assert_eq!(
            f.body,
            "# TYPE a_total untyped\n\
             a_total{code=\"200\",job=\"api\",instance=\"\",region=\"eu\"} 1.234567e+06 1699999999999\n\
             # TYPE temp untyped\n\
             temp{Zone=\"A\",job=\"node\",instance=\"\",region=\"eu\"} 1.5e-05 1700000000000\n\
             temp{job=\"node\",region=\"us\",zone=\"x\\\\y\\\"q\\nz\",instance=\"\"} 0 1699999998500\n\
             # TYPE up untyped\n\
             up{instance=\"a:1\",job=\"api\",region=\"eu\"} 1 1699999970000\n"
        );
    }

    #[test]
    fn selectors_merge_without_duplicates_and_errors_are_bad_data() {
        let api = api(&[]);
        let f = federate(&api, "match[]=up&match[]={instance=\"a:1\"}").unwrap();
        assert_eq!(
            f.body,
            "# TYPE up untyped\nup{instance=\"a:1\",job=\"api\"} 1 1699999970000\n"
        );
        // No selector: an empty answer, as Prometheus gives.
        assert_eq!(federate(&api, "").unwrap().body, "");
        // A selector that matches everything by empty matchers is allowed.
        assert!(
            federate(&api, "match[]={a=\"\"}")
                .unwrap()
                .body
                .contains("# TYPE up")
        );
        let e = federate(&api, "match[]=up{").unwrap_err();
        assert_eq!(e.kind, crate::api::ErrorType::BadData);
        assert_eq!(
            e.message,
            "1:4: parse error: unexpected end of input inside braces"
        );
    }

    #[test]
    fn an_accept_header_chooses_quoting_for_utf8_names() {
        let api = api(&[]);
        let f = api
            .federate(
                &Form::new(Some("match[]=up"), None),
                crate::scrape::ACCEPT_HEADER,
            )
            .unwrap();
        assert!(f.content_type.ends_with("escaping=allow-utf-8"));
        assert!(f.body.starts_with("# TYPE up untyped\n"), "{}", f.body);
    }
}
