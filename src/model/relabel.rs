//! Relabeling with Prometheus 3.5's semantics: the eleven actions, their defaults, the checks
//! Prometheus makes when it loads a rule, and `$1`/`${name}` templates expanded exactly like
//! Go's `regexp.Expand`. The config loader builds and validates `RelabelConfig`s; the scraper
//! runs `relabel` on discovered targets and on scraped series.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use md5::{Digest, Md5};
use regex::{Captures, Regex};

use super::labels::{Labels, LabelsBuilder};

/// What a relabel rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RelabelAction {
    /// Writes the expanded `replacement` into the (expanded) `target_label` when `regex`
    /// matches the joined source values; an empty result deletes the target label.
    #[default]
    Replace,
    /// Drops the label set unless `regex` matches the joined source values.
    Keep,
    /// Drops the label set when `regex` matches the joined source values.
    Drop,
    /// Drops the label set unless the joined source values equal `target_label`'s value.
    KeepEqual,
    /// Drops the label set when the joined source values equal `target_label`'s value.
    DropEqual,
    /// Sets `target_label` to the MD5 of the joined source values modulo `modulus`.
    HashMod,
    /// Copies every label whose name matches `regex` to the name `replacement` expands to.
    LabelMap,
    /// Removes every label whose name matches `regex`.
    LabelDrop,
    /// Removes every label whose name does not match `regex`.
    LabelKeep,
    /// Sets `target_label` to the joined source values in lower case.
    Lowercase,
    /// Sets `target_label` to the joined source values in upper case.
    Uppercase,
}

impl RelabelAction {
    pub const ALL: [RelabelAction; 11] = [
        RelabelAction::Replace,
        RelabelAction::Keep,
        RelabelAction::Drop,
        RelabelAction::KeepEqual,
        RelabelAction::DropEqual,
        RelabelAction::HashMod,
        RelabelAction::LabelMap,
        RelabelAction::LabelDrop,
        RelabelAction::LabelKeep,
        RelabelAction::Lowercase,
        RelabelAction::Uppercase,
    ];

    /// The name used in configuration files, e.g. `labelmap`.
    pub fn as_str(self) -> &'static str {
        match self {
            RelabelAction::Replace => "replace",
            RelabelAction::Keep => "keep",
            RelabelAction::Drop => "drop",
            RelabelAction::KeepEqual => "keepequal",
            RelabelAction::DropEqual => "dropequal",
            RelabelAction::HashMod => "hashmod",
            RelabelAction::LabelMap => "labelmap",
            RelabelAction::LabelDrop => "labeldrop",
            RelabelAction::LabelKeep => "labelkeep",
            RelabelAction::Lowercase => "lowercase",
            RelabelAction::Uppercase => "uppercase",
        }
    }
}

impl fmt::Display for RelabelAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Action names are case-insensitive, as in Prometheus (`Replace` and `replace` both work).
impl FromStr for RelabelAction {
    type Err = RelabelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_lowercase();
        RelabelAction::ALL
            .into_iter()
            .find(|a| a.as_str() == lower)
            .ok_or_else(|| {
                if s.is_empty() {
                    RelabelError::EmptyAction
                } else {
                    RelabelError::UnknownAction(s.to_string())
                }
            })
    }
}

/// A relabel regex: anchored at both ends and with `.` matching newlines (`^(?s:...)$`), as
/// Prometheus compiles it, keeping the pattern as written for display and comparison.
#[derive(Clone)]
pub struct RelabelRegex {
    pattern: String,
    re: Regex,
}

/// The default pattern, `(.*)`.
pub const DEFAULT_RELABEL_REGEX: &str = "(.*)";

impl RelabelRegex {
    pub fn new(pattern: &str) -> Result<Self, RelabelError> {
        let anchored = format!("^(?s:{})$", go_compatible_classes(pattern));
        let re = Regex::new(&anchored).map_err(|source| RelabelError::InvalidRegex {
            pattern: pattern.to_string(),
            source: Box::new(source),
        })?;
        Ok(RelabelRegex {
            pattern: pattern.to_string(),
            re,
        })
    }

    /// The pattern as written in the configuration, without the anchors.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }

    /// The compiled, anchored regex.
    pub fn regex(&self) -> &Regex {
        &self.re
    }
}

/// The default regex, compiled once; clones share it.
static DEFAULT_REGEX: LazyLock<Regex> =
    // A constant pattern that always compiles.
    LazyLock::new(|| Regex::new("^(?s:(.*))$").unwrap_or_else(|_| unreachable!()));

impl Default for RelabelRegex {
    fn default() -> Self {
        RelabelRegex {
            pattern: DEFAULT_RELABEL_REGEX.to_string(),
            re: DEFAULT_REGEX.clone(),
        }
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for RelabelRegex {}

impl fmt::Debug for RelabelRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RelabelRegex({:?})", self.pattern)
    }
}

impl fmt::Display for RelabelRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

/// Rewrites the few spots where Go's RE2 syntax and Rust's `regex` read a pattern differently,
/// so a rule means what it means in Prometheus: `\d`, `\w`, `\s` (and their negations) are
/// ASCII-only in Go but Unicode-aware in Rust; inside a bracket class Go takes `[`, `&` and `~`
/// literally where Rust reads nested classes and set operators; Go has `\Q...\E` literals.
fn go_compatible_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push('\\');
                    break;
                };
                if next == 'Q' && !in_class {
                    // Go's quoted literal `\Q...\E`, which Rust's syntax lacks.
                    let mut literal = String::new();
                    while let Some(ch) = chars.next() {
                        if ch == '\\' && chars.peek() == Some(&'E') {
                            chars.next();
                            break;
                        }
                        literal.push(ch);
                    }
                    out.push_str(&regex::escape(&literal));
                    continue;
                }
                let (set, negated) = match next {
                    'd' => ("0-9", false),
                    'w' => ("0-9A-Za-z_", false),
                    's' => ("\\t\\n\\f\\r ", false),
                    'D' => ("0-9", true),
                    'W' => ("0-9A-Za-z_", true),
                    'S' => ("\\t\\n\\f\\r ", true),
                    _ => {
                        out.push('\\');
                        out.push(next);
                        continue;
                    }
                };
                if in_class && !negated {
                    out.push_str(set);
                } else {
                    // Inside a class, a nested class is a union member in Rust's syntax.
                    out.push_str(if negated { "[^" } else { "[" });
                    out.push_str(set);
                    out.push(']');
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                // A `]` right after the opening bracket is a literal.
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str("\\]");
                }
            }
            '[' => {
                // `[:alpha:]` is a POSIX class in both; any other `[` is literal in Go.
                let rest: String = chars.clone().collect();
                match rest.strip_prefix(':').and_then(|r| r.find(":]")) {
                    Some(end) => {
                        out.push('[');
                        for _ in 0..end + 3 {
                            if let Some(ch) = chars.next() {
                                out.push(ch);
                            }
                        }
                    }
                    None => out.push_str("\\["),
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// One relabel rule. `Default` gives Prometheus's defaults: separator `;`, regex `(.*)`,
/// replacement `$1`, action `replace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelabelConfig {
    pub source_labels: Vec<String>,
    pub separator: String,
    pub regex: RelabelRegex,
    pub modulus: u64,
    pub target_label: String,
    pub replacement: String,
    pub action: RelabelAction,
}

pub const DEFAULT_SEPARATOR: &str = ";";
pub const DEFAULT_REPLACEMENT: &str = "$1";

impl Default for RelabelConfig {
    fn default() -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: DEFAULT_SEPARATOR.to_string(),
            regex: RelabelRegex::default(),
            modulus: 0,
            target_label: String::new(),
            replacement: DEFAULT_REPLACEMENT.to_string(),
            action: RelabelAction::Replace,
        }
    }
}

/// A rule Prometheus would refuse to load, or a bad regex or action name.
#[derive(Debug, thiserror::Error)]
pub enum RelabelError {
    #[error("relabel action cannot be empty")]
    EmptyAction,
    #[error("unknown relabel action {0:?}")]
    UnknownAction(String),
    #[error("invalid regular expression {pattern:?}: {}", regex_message(.source))]
    InvalidRegex {
        pattern: String,
        #[source]
        source: Box<regex::Error>,
    },
    #[error("relabel configuration for hashmod requires non-zero modulus")]
    ZeroModulus,
    #[error("relabel configuration for {0} action requires 'target_label' value")]
    MissingTargetLabel(RelabelAction),
    #[error("{target:?} is invalid 'target_label' for {action} action")]
    InvalidTargetLabel {
        target: String,
        action: RelabelAction,
    },
    #[error("{replacement:?} is invalid 'replacement' for {action} action")]
    InvalidReplacement {
        replacement: String,
        action: RelabelAction,
    },
    #[error("'replacement' can not be set for {0} action")]
    ReplacementNotAllowed(RelabelAction),
    #[error("{0} action requires only 'source_labels' and `target_label`, and no other fields")]
    OnlySourceAndTarget(RelabelAction),
    #[error("{0} action requires only 'regex', and no other fields")]
    OnlyRegex(RelabelAction),
    #[error("{0:?} is not a valid label name")]
    InvalidSourceLabel(String),
}

/// The one-line reason from a regex error, whose `Display` is a multi-line diagram.
fn regex_message(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or_else(|| text.lines().last().unwrap_or(""))
        .to_string()
}

/// Whether `name` is a valid label name under Prometheus 3's default UTF-8 scheme: any
/// non-empty string.
pub fn is_valid_label_name(name: &str) -> bool {
    !name.is_empty()
}

/// Whether `name` is a valid label name under the legacy scheme: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_legacy_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl RelabelConfig {
    /// The checks Prometheus 3.5 makes when it loads a rule (`relabel.Config.Validate`).
    pub fn validate(&self) -> Result<(), RelabelError> {
        use RelabelAction::*;
        let action = self.action;
        if let Some(bad) = self.source_labels.iter().find(|l| !is_valid_label_name(l)) {
            return Err(RelabelError::InvalidSourceLabel(bad.clone()));
        }
        if action == HashMod && self.modulus == 0 {
            return Err(RelabelError::ZeroModulus);
        }
        let needs_target = matches!(
            action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return Err(RelabelError::MissingTargetLabel(action));
        }
        // Under UTF-8 names every non-empty target is valid; a template's expansion is
        // checked again when the rule runs.
        if needs_target && !is_valid_label_name(&self.target_label) {
            return Err(RelabelError::InvalidTargetLabel {
                target: self.target_label.clone(),
                action,
            });
        }
        let target_only = matches!(action, Lowercase | Uppercase | KeepEqual | DropEqual);
        if target_only && self.replacement != DEFAULT_REPLACEMENT {
            return Err(RelabelError::ReplacementNotAllowed(action));
        }
        if action == LabelMap && !is_valid_label_name(&self.replacement) {
            return Err(RelabelError::InvalidReplacement {
                replacement: self.replacement.clone(),
                action,
            });
        }
        if matches!(action, KeepEqual | DropEqual)
            && (self.regex.as_str() != DEFAULT_RELABEL_REGEX
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(RelabelError::OnlySourceAndTarget(action));
        }
        if matches!(action, LabelDrop | LabelKeep)
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(RelabelError::OnlyRegex(action));
        }
        Ok(())
    }
}

/// Applies `cfgs` in order. `None` means a `keep`, `drop`, `keepequal` or `dropequal` rule
/// dropped the label set.
pub fn relabel(labels: &Labels, cfgs: &[RelabelConfig]) -> Option<Labels> {
    let mut b = labels.builder();
    relabel_builder(&mut b, cfgs).then(|| b.build())
}

/// Like `relabel`, on a builder the caller owns (the scraper reuses one per target).
/// Returns false when the label set was dropped; the builder is then in an unspecified state.
pub fn relabel_builder(b: &mut LabelsBuilder, cfgs: &[RelabelConfig]) -> bool {
    cfgs.iter().all(|cfg| apply(cfg, b))
}

fn apply(cfg: &RelabelConfig, b: &mut LabelsBuilder) -> bool {
    let joined = join_sources(cfg, b);
    let val = joined.as_str();
    match cfg.action {
        RelabelAction::Drop => return !cfg.regex.is_match(val),
        RelabelAction::Keep => return cfg.regex.is_match(val),
        RelabelAction::DropEqual => return b.get(&cfg.target_label).unwrap_or("") != val,
        RelabelAction::KeepEqual => return b.get(&cfg.target_label).unwrap_or("") == val,
        RelabelAction::Replace => {
            // No match: no replacement. The regex is anchored, so a match is the whole value.
            if let Some(caps) = cfg.regex.regex().captures(val) {
                let target = expand(&cfg.target_label, &caps);
                if is_valid_label_name(&target) {
                    let res = expand(&cfg.replacement, &caps);
                    // Setting an empty value deletes the label.
                    b.set(&target, &res);
                }
            }
        }
        RelabelAction::Lowercase => {
            b.set(&cfg.target_label, &val.to_lowercase());
        }
        RelabelAction::Uppercase => {
            b.set(&cfg.target_label, &val.to_uppercase());
        }
        RelabelAction::HashMod => {
            if cfg.modulus != 0 {
                let m = hashmod(val, cfg.modulus);
                b.set(&cfg.target_label, &m.to_string());
            }
        }
        RelabelAction::LabelMap => {
            for (name, value) in snapshot(b) {
                if let Some(caps) = cfg.regex.regex().captures(&name) {
                    let new_name = expand(&cfg.replacement, &caps);
                    if is_valid_label_name(&new_name) {
                        b.set(&new_name, &value);
                    }
                }
            }
        }
        RelabelAction::LabelDrop => {
            for (name, _) in snapshot(b) {
                if cfg.regex.is_match(&name) {
                    b.del(&name);
                }
            }
        }
        RelabelAction::LabelKeep => {
            for (name, _) in snapshot(b) {
                if !cfg.regex.is_match(&name) {
                    b.del(&name);
                }
            }
        }
    }
    true
}

/// The source labels' values (missing labels count as "") joined with the separator.
fn join_sources(cfg: &RelabelConfig, b: &LabelsBuilder) -> String {
    let mut out = String::new();
    for (i, name) in cfg.source_labels.iter().enumerate() {
        if i > 0 {
            out.push_str(&cfg.separator);
        }
        out.push_str(b.get(name).unwrap_or(""));
    }
    out
}

/// The builder's current labels, copied, so a rule can change the builder while iterating.
fn snapshot(b: &LabelsBuilder) -> Vec<(String, String)> {
    let mut out = Vec::new();
    b.for_each(|n, v| out.push((n.to_string(), v.to_string())));
    out
}

/// The low 8 bytes of the MD5 of `val`, big-endian, modulo `modulus`; the same numbers
/// Prometheus computes.
pub fn hashmod(val: &str, modulus: u64) -> u64 {
    let digest = Md5::digest(val.as_bytes());
    let mut low = [0u8; 8];
    low.copy_from_slice(&digest[8..16]);
    u64::from_be_bytes(low) % modulus
}

/// Expands `$1`, `${1}`, `$name`, `${name}` and `$$` in `template` like Go's
/// `regexp.Expand`: a name is the longest run of letters, digits and `_` (so `$1a` is the
/// group named `1a`), a name of only digits without a leading zero is a group number, a
/// group that does not exist or did not take part in the match expands to "", and a `$`
/// not followed by a valid reference is copied literally.
pub fn expand(template: &str, caps: &Captures<'_>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        match parse_reference(rest) {
            Some((reference, after)) => {
                let m = match reference {
                    GroupRef::Index(i) => caps.get(i),
                    GroupRef::Name(name) => caps.name(name),
                };
                if let Some(m) = m {
                    out.push_str(m.as_str());
                }
                rest = after;
            }
            None => out.push('$'),
        }
    }
    out.push_str(rest);
    out
}

enum GroupRef<'a> {
    Index(usize),
    Name(&'a str),
}

/// Parses what follows a `$`: `name` or `{name}`. Returns the reference and the remaining
/// text, or `None` when the reference is malformed (empty name, missing `}`).
fn parse_reference(s: &str) -> Option<(GroupRef<'_>, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|(_, c)| !(c.is_alphabetic() || c.is_numeric() || *c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    let rest = if braced {
        body[end..].strip_prefix('}')?
    } else {
        &body[end..]
    };
    // Go reads digits as a group number only without a leading zero and up to 9 digits.
    let numeric = name.bytes().all(|b| b.is_ascii_digit())
        && !(name.len() > 1 && name.starts_with('0'))
        && name.len() <= 9;
    let reference = match name.parse::<usize>() {
        Ok(i) if numeric => GroupRef::Index(i),
        _ => GroupRef::Name(name),
    };
    Some((reference, rest))
}

#[cfg(test)]
mod tests;
