//! Loads and checks Prometheus rule files: reads the YAML into the position-aware tree of
//! `config::yaml`, walks it with the checks Prometheus 3.5's `rulefmt` makes (unknown keys,
//! group names, durations, one of `record`/`alert`, the expression parses, names and labels,
//! fields only alerting rules may have, templates parse) and turns it into `GroupSpec`s.
//! Every error names the file, line and column, group and rule. `parse_rule_file_lenient`
//! keeps the good groups of a file with bad ones, so a running kmon can go on with them.
//! `expand_rule_files` resolves `rule_files` and `--rules` patterns. `app` calls it for
//! `kmon check rules`, `check config` and at start and reload.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_saphyr::DuplicateKeyPolicy;

use crate::config::yaml::{Entry, Node, Pos, Value};
use crate::model::{Label, Labels, METRIC_NAME, glob, parse_duration};

use super::types::{GroupSpec, RuleKind, RuleSpec};

mod yaml_text;
pub use yaml_text::yaml_lines;
use yaml_text::{
    cannot_unmarshal, char_at, first_document, original_text, scalar_tag, short, value_pos,
    yaml_error, yaml_int,
};

/// One problem in a rule file, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFileError {
    /// The file as given (or `-`/a description for text not read from a file).
    pub file: String,
    /// 1-based; 0 when the problem is not tied to a line (the file cannot be read).
    pub line: u32,
    pub column: u32,
    /// The group's name, when the problem is inside a group.
    pub group: Option<String>,
    /// The rule's name (its `alert` or `record`), when the problem is inside a rule.
    pub rule: Option<String>,
    /// The rule's 1-based position in its group, when the problem is inside a rule (names
    /// the rule when it has no name).
    pub rule_index: Option<usize>,
    pub message: String,
}

impl fmt::Display for RuleFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        f.write_str(": ")?;
        if let Some(g) = &self.group {
            write!(f, "group {g:?}, ")?;
        }
        match (&self.rule, self.rule_index) {
            (Some(r), _) if !r.is_empty() => write!(f, "rule {r:?}: ")?,
            (_, Some(i)) => write!(f, "rule {i}: ")?,
            _ => {}
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleFileError {}

/// Parses and checks a rule file's text. `file` names it in errors and in each group.
pub fn parse_rule_file(file: &str, text: &str) -> Result<Vec<GroupSpec>, Vec<RuleFileError>> {
    let (groups, errors) = parse_rule_file_lenient(file, text);
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(errors)
    }
}

/// Parses a rule file's text, keeping every group without errors: the valid groups and
/// all errors. A file that is not YAML, or not a mapping with `groups`, has no valid group.
pub fn parse_rule_file_lenient(file: &str, text: &str) -> (Vec<GroupSpec>, Vec<RuleFileError>) {
    let mut w = Walker {
        file,
        text,
        errors: Vec::new(),
        group: None,
        rule: None,
    };
    let groups = w.document();
    (groups, w.errors)
}

/// Reads and checks a rule file. A file that cannot be read is one error naming the path.
pub fn load_rule_file(path: &Path) -> Result<Vec<GroupSpec>, Vec<RuleFileError>> {
    let (groups, errors) = load_rule_file_lenient(path);
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(errors)
    }
}

/// `load_rule_file`, keeping the valid groups of a file that also has bad ones.
pub fn load_rule_file_lenient(path: &Path) -> (Vec<GroupSpec>, Vec<RuleFileError>) {
    let file = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => parse_rule_file_lenient(&file, &text),
            Err(e) => (
                Vec::new(),
                vec![file_error(
                    &file,
                    format!(
                        "not UTF-8 text (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    ),
                )],
            ),
        },
        Err(e) => (
            Vec::new(),
            vec![file_error(&file, format!("cannot read file: {e}"))],
        ),
    }
}

fn file_error(file: &str, message: String) -> RuleFileError {
    RuleFileError {
        file: file.to_string(),
        line: 0,
        column: 0,
        group: None,
        rule: None,
        rule_index: None,
        message,
    }
}

/// Expands rule file patterns as Prometheus's `rule_files` does (`*`, `?` and `[...]` in
/// the last path element, Go's `filepath.Match` syntax), relative patterns joined to
/// `base_dir`, in the order given, each file once. A pattern without wildcards names its
/// file even when it does not exist, so loading it reports the missing file by name.
pub fn expand_rule_files(patterns: &[String], base_dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for pattern in patterns {
        // Prometheus's check: a `*` only in the last path element.
        if let Some(i) = pattern.find('*')
            && pattern[i..].contains('/')
        {
            return Err(format!("invalid rule file path {pattern:?}"));
        }
        let joined = if Path::new(pattern).is_absolute() || base_dir.as_os_str().is_empty() {
            PathBuf::from(pattern)
        } else {
            base_dir.join(pattern)
        };
        let name = joined
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let paths = if name.contains(['*', '?', '[', '\\']) {
            glob::expand(&joined.to_string_lossy()).map_err(|e| e.to_string())?
        } else {
            vec![joined]
        };
        for p in paths {
            if seen.insert(p.clone()) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// Rules that produce the same series: the same name (recorded metric or alert) with the
/// same labels (the group's and the rule's), as promtool's `duplicate-rules` lint finds
/// them. Each duplicate is listed once, sorted by name and labels.
pub fn duplicate_rules(groups: &[GroupSpec]) -> Vec<(String, Labels)> {
    let mut all: Vec<(String, Vec<(String, String)>)> = groups
        .iter()
        .flat_map(|g| {
            g.rules.iter().map(move |r| {
                let mut labels: BTreeMap<String, String> = g
                    .labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect();
                labels.extend(r.labels.iter().cloned());
                (r.name().to_string(), labels.into_iter().collect())
            })
        })
        .collect();
    all.sort();
    let mut out: Vec<(String, Labels)> = Vec::new();
    for pair in all.windows(2) {
        if pair[0] == pair[1] {
            let labels = Labels::from_pairs(&pair[0].1);
            if out.last() != Some(&(pair[0].0.clone(), labels.clone())) {
                out.push((pair[0].0.clone(), labels));
            }
        }
    }
    out
}

/// Walks the tree, collecting errors with the current group and rule.
struct Walker<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<RuleFileError>,
    group: Option<String>,
    /// (1-based index, name) of the rule being read.
    rule: Option<(usize, String)>,
}

/// A rule's fields as read, before the checks that need all of them.
#[derive(Default)]
struct RawRule<'n> {
    record: Option<&'n Node>,
    alert: Option<&'n Node>,
    expr: Option<&'n Node>,
    expr_pos: Pos,
    for_ms: i64,
    keep_firing_for_ms: i64,
    labels: Vec<(String, String, Pos)>,
    annotations: Vec<(String, String, Pos)>,
}

impl<'a> Walker<'a> {
    fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.errors.push(RuleFileError {
            file: self.file.to_string(),
            line: pos.line,
            column: pos.column,
            group: self.group.clone(),
            rule: self.rule.as_ref().map(|(_, n)| n.clone()),
            rule_index: self.rule.as_ref().map(|(i, _)| *i),
            message: message.into(),
        });
    }

    fn document(&mut self) -> Vec<GroupSpec> {
        let lenient = serde_saphyr::options! { duplicate_keys: DuplicateKeyPolicy::LastWins };
        let mut parsed = serde_saphyr::from_str_with_options::<Option<Node>>(self.text, lenient);
        // Go's decoder reads the first document of several; so does this.
        if parsed.is_err() {
            let first = first_document(self.text);
            if first.len() < self.text.len() {
                let lenient =
                    serde_saphyr::options! { duplicate_keys: DuplicateKeyPolicy::LastWins };
                if let Ok(root) =
                    serde_saphyr::from_str_with_options::<Option<Node>>(first, lenient)
                {
                    parsed = Ok(root);
                }
            }
        }
        let root = match parsed {
            Ok(Some(root)) => root,
            Ok(None) => return Vec::new(),
            Err(e) => {
                let (pos, message) = yaml_error(&e);
                self.error(pos, message);
                return Vec::new();
            }
        };
        let Some(entries) = self.map_entries(&root, "rulefmt.RuleGroups") else {
            return Vec::new();
        };
        let mut groups_node = None;
        for e in entries {
            match e.key.as_str() {
                "groups" => groups_node = Some(&e.value),
                _ => self.unknown_field(e, "rulefmt.RuleGroups"),
            }
        }
        let Some(items) = groups_node.and_then(|n| self.seq_items(n, "[]rulefmt.RuleGroup")) else {
            return Vec::new();
        };
        let mut groups = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for item in items {
            // A null item is dropped, as Go's YAML decoder drops it.
            if matches!(item.value, Value::Null) {
                continue;
            }
            let before = self.errors.len();
            let group = self.group(item, &mut seen);
            self.group = None;
            if let Some(g) = group
                && self.errors.len() == before
            {
                groups.push(g);
            }
        }
        groups
    }

    fn group(&mut self, node: &Node, seen: &mut HashSet<String>) -> Option<GroupSpec> {
        let entries = self.map_entries(node, "rulefmt.RuleGroup")?;
        // The name first, so every message about the group can name it.
        let name_entry = entries.iter().rev().find(|e| e.key == "name");
        let name = match name_entry {
            Some(e) => self.string(&e.value).unwrap_or_default(),
            None => String::new(),
        };
        let name_pos = name_entry.map_or(node.pos, |e| e.value.pos);
        self.group = Some(name.clone());
        if name.is_empty() {
            self.error(name_pos, "Groupname must not be empty");
        }
        if !seen.insert(name.clone()) {
            self.error(
                name_pos,
                format!("groupname: {name:?} is repeated in the same file"),
            );
        }
        let mut spec = GroupSpec {
            file: self.file.to_string(),
            name,
            interval: None,
            query_offset: None,
            limit: 0,
            labels: Labels::empty(),
            rules: Vec::new(),
            line: name_entry.map_or(0, |e| e.key_pos.line),
        };
        let mut rules_node = None;
        for e in entries {
            match e.key.as_str() {
                "name" => {}
                "interval" => {
                    spec.interval = self.duration(&e.value).filter(|ms| *ms != 0);
                }
                "query_offset" => {
                    if !matches!(e.value.value, Value::Null) {
                        spec.query_offset = self.duration(&e.value);
                    }
                }
                "limit" => spec.limit = self.int(&e.value).map_or(0, |n| n.max(0) as usize),
                "labels" => {
                    let labels = self.string_map(&e.value);
                    let mut out = Vec::new();
                    for (k, v, pos) in labels {
                        if !valid_label_name(&k) {
                            self.error(pos, format!("invalid label name: {k}"));
                        }
                        out.push(Label::new(k, v));
                    }
                    spec.labels = Labels::new(out);
                }
                "rules" => rules_node = Some(&e.value),
                _ => self.unknown_field(e, "rulefmt.RuleGroup"),
            }
        }
        if let Some(items) = rules_node.and_then(|n| self.seq_items(n, "[]rulefmt.Rule")) {
            let mut index = 0;
            for item in items {
                if matches!(item.value, Value::Null) {
                    continue;
                }
                index += 1;
                let rule = self.rule(item, index);
                self.rule = None;
                if let Some(r) = rule {
                    spec.rules.push(r);
                }
            }
        }
        Some(spec)
    }

    fn rule(&mut self, node: &Node, index: usize) -> Option<RuleSpec> {
        self.rule = Some((index, String::new()));
        let entries = self.map_entries(node, "rulefmt.Rule")?;
        let before = self.errors.len();
        let mut raw = RawRule::default();
        for e in entries {
            match e.key.as_str() {
                "record" => raw.record = Some(&e.value),
                "alert" => raw.alert = Some(&e.value),
                "expr" => {
                    raw.expr = Some(&e.value);
                    raw.expr_pos = value_pos(self.text, e);
                }
                "for" => raw.for_ms = self.duration(&e.value).unwrap_or(0),
                "keep_firing_for" => {
                    raw.keep_firing_for_ms = self.duration(&e.value).unwrap_or(0);
                }
                "labels" => raw.labels = self.string_map(&e.value),
                "annotations" => raw.annotations = self.string_map(&e.value),
                _ => self.unknown_field(e, "rulefmt.Rule"),
            }
        }
        let record = raw.record.and_then(|n| self.string(n)).unwrap_or_default();
        let alert = raw.alert.and_then(|n| self.string(n)).unwrap_or_default();
        let expr_text = raw.expr.and_then(|n| self.string(n));
        let name = if alert.is_empty() { &record } else { &alert };
        self.rule = Some((index, name.clone()));
        // Earlier messages (unknown keys, types) are about this rule too: name it.
        for e in &mut self.errors[before..] {
            e.rule = Some(name.clone());
        }
        // As in Prometheus, a rule that does not decode is not checked further.
        if self.errors.len() != before {
            return None;
        }
        // Prometheus places the messages about a recording rule's fields on its name.
        let record_pos = raw.record.map_or(node.pos, |n| n.pos);

        if !record.is_empty() && !alert.is_empty() {
            self.error(record_pos, "only one of 'record' and 'alert' must be set");
        }
        if record.is_empty() && alert.is_empty() {
            self.error(node.pos, "one of 'record' or 'alert' must be set");
        }
        let expr_text = expr_text.unwrap_or_default();
        let expr_pos = if raw.expr.is_some() {
            raw.expr_pos
        } else {
            node.pos
        };
        let expr = if expr_text.is_empty() {
            self.error(expr_pos, "field 'expr' must be set in rule");
            None
        } else {
            match crate::promql::parse(&expr_text) {
                Ok(e) => Some(e),
                Err(e) => {
                    let msg = e.to_prometheus_string(&expr_text);
                    self.error(expr_pos, format!("could not parse expression: {msg}"));
                    None
                }
            }
        };
        if !record.is_empty() {
            if !raw.annotations.is_empty() {
                self.error(record_pos, "invalid field 'annotations' in recording rule");
            }
            if raw.for_ms != 0 {
                self.error(record_pos, "invalid field 'for' in recording rule");
            }
            if raw.keep_firing_for_ms != 0 {
                self.error(
                    record_pos,
                    "invalid field 'keep_firing_for' in recording rule",
                );
            }
            if record.contains(['{', '}']) {
                self.error(
                    record_pos,
                    format!(
                        "braces present in the recording rule name; should it be in expr?: {record}"
                    ),
                );
            }
        }
        for (k, _, pos) in &raw.labels {
            if !valid_label_name(k) {
                self.error(*pos, format!("invalid label name: {k}"));
            }
        }
        for (k, _, pos) in &raw.annotations {
            if k.is_empty() {
                self.error(*pos, format!("invalid annotation name: {k}"));
            }
        }
        if !alert.is_empty() {
            for (what, list) in [("label", &raw.labels), ("annotation", &raw.annotations)] {
                for (k, v, pos) in list {
                    if let Err(msg) = check_templates(&alert, v) {
                        self.error(*pos, format!("{what} {k:?}: {msg}"));
                    }
                }
            }
        }
        if self.errors.len() != before {
            return None;
        }
        let mut labels: Vec<(String, String)> =
            raw.labels.into_iter().map(|(k, v, _)| (k, v)).collect();
        labels.sort();
        let kind = if alert.is_empty() {
            RuleKind::Recording { record }
        } else {
            let mut annotations: Vec<(String, String)> = raw
                .annotations
                .into_iter()
                .map(|(k, v, _)| (k, v))
                .collect();
            annotations.sort();
            RuleKind::Alerting {
                alert,
                for_ms: raw.for_ms,
                keep_firing_for_ms: raw.keep_firing_for_ms,
                annotations,
            }
        };
        let key_line = entries
            .iter()
            .find(|e| e.key == "alert" || e.key == "record")
            .map_or(node.pos.line, |e| e.key_pos.line);
        Some(RuleSpec {
            kind,
            expr_text,
            expr: expr?,
            labels,
            line: key_line,
        })
    }

    /// A mapping's entries, each key once (a repeated key is an error, as in Go's YAML).
    /// Null is an empty mapping; anything else is a type error.
    fn map_entries<'n>(&mut self, node: &'n Node, go_type: &str) -> Option<&'n [Entry]> {
        match &node.value {
            Value::Map(entries) => {
                for (i, e) in entries.iter().enumerate() {
                    if let Some(first) = entries[..i].iter().find(|p| p.key == e.key) {
                        self.error(
                            e.key_pos,
                            format!(
                                "mapping key {:?} already defined at line {}",
                                e.key, first.key_pos.line
                            ),
                        );
                    }
                }
                Some(entries)
            }
            Value::Null => Some(&[]),
            other => {
                let msg = cannot_unmarshal(other, self.text, node.pos, go_type);
                self.error(node.pos, msg);
                None
            }
        }
    }

    fn seq_items<'n>(&mut self, node: &'n Node, go_type: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            Value::Null => Some(&[]),
            other => {
                let msg = cannot_unmarshal(other, self.text, node.pos, go_type);
                self.error(node.pos, msg);
                None
            }
        }
    }

    fn unknown_field(&mut self, e: &Entry, go_type: &str) {
        self.error(
            e.key_pos,
            format!("field {} not found in type {go_type}", e.key),
        );
    }

    /// A scalar as text (Go decodes any scalar into a string); null is empty.
    fn string(&mut self, node: &Node) -> Option<String> {
        match &node.value {
            Value::Scalar(s) => Some(original_text(self.text, node.pos, s)),
            Value::Null => Some(String::new()),
            other => {
                let msg = cannot_unmarshal(other, self.text, node.pos, "string");
                self.error(node.pos, msg);
                None
            }
        }
    }

    /// A duration in ms, in Prometheus's notation; null is zero.
    fn duration(&mut self, node: &Node) -> Option<i64> {
        if matches!(node.value, Value::Null) {
            return Some(0);
        }
        let s = self.string(node)?;
        match parse_duration(&s) {
            Ok(d) => Some(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Err(e) => {
                self.error(node.pos, e.to_string());
                None
            }
        }
    }

    /// An integer as Go's YAML decoder reads one into an `int`: a plain (unquoted) integer,
    /// or a float, truncated, when it fits.
    fn int(&mut self, node: &Node) -> Option<i64> {
        let s = match &node.value {
            Value::Null => return Some(0),
            Value::Scalar(s) => s,
            other => {
                let msg = cannot_unmarshal(other, self.text, node.pos, "int");
                self.error(node.pos, msg);
                return None;
            }
        };
        let quoted = matches!(char_at(self.text, node.pos), Some('"' | '\''));
        let parsed = if quoted { None } else { yaml_int(s) };
        if parsed.is_none() {
            let tag = if quoted { "!!str" } else { scalar_tag(s) };
            let written = original_text(self.text, node.pos, s);
            self.error(
                node.pos,
                format!("cannot unmarshal {tag} `{}` into int", short(&written)),
            );
        }
        parsed
    }

    /// A `map[string]string`: each key with its value's text and the key's position.
    fn string_map(&mut self, node: &Node) -> Vec<(String, String, Pos)> {
        let Some(entries) = self.map_entries(node, "map[string]string") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries {
            if let Some(v) = self.string(&e.value) {
                out.push((e.key.clone(), v, e.key_pos));
            }
        }
        out
    }
}

/// Checks that a template of an alerting rule's labels or annotations parses, as
/// promtool does (parsing only; named `__alert_<alertname>` in messages).
fn check_templates(alert: &str, text: &str) -> Result<(), String> {
    super::template::Template::parse(&format!("__alert_{alert}"), text)
        .map(|_| ())
        .map_err(|e| e.message)
}

/// A label name as Prometheus 3.5 checks it (UTF-8 names allowed): non-empty, and not
/// `__name__`, which a rule's result gets from the rule itself.
fn valid_label_name(name: &str) -> bool {
    crate::model::is_valid_label_name(name) && name != METRIC_NAME
}

#[cfg(test)]
mod tests;
