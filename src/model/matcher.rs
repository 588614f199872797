//! Label matchers (`=`, `!=`, `=~`, `!~`) as PromQL and the storage select them. Regexes
//! are fully anchored, as in Prometheus, and `.` matches newlines.

use std::fmt;

use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid regular expression {pattern:?} for label {name}: {source}")]
pub struct MatcherError {
    pub name: String,
    pub pattern: String,
    #[source]
    pub source: regex::Error,
}

/// One matcher. A missing label has the value "", so `{a=""}` selects series without `a`.
#[derive(Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    re: Option<Regex>,
}

impl Matcher {
    pub fn new(op: MatchOp, name: &str, value: &str) -> Result<Self, MatcherError> {
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(anchored_regex(value).map_err(|e| MatcherError {
                    name: name.to_string(),
                    pattern: value.to_string(),
                    source: e,
                })?)
            }
            _ => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            re,
        })
    }

    /// `name="value"`, which cannot fail.
    pub fn equal(name: &str, value: &str) -> Self {
        Matcher {
            name: name.to_string(),
            op: MatchOp::Equal,
            value: value.to_string(),
            re: None,
        }
    }

    /// Whether a label value (or "" for a missing label) satisfies this matcher.
    pub fn matches(&self, value: &str) -> bool {
        match (self.op, &self.re) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            // Regex matchers are always built with their regex.
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }

    /// True when this matcher accepts the empty string, i.e. also selects series that lack
    /// the label entirely.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

/// Compiles `pattern` anchored at both ends with `.` matching newline, as Prometheus does.
pub fn anchored_regex(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?s:{pattern})$"))
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"", self.name, self.op.as_str())?;
        super::labels::write_escaped(f, &self.value)?;
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_and_anchoring() {
        let m = Matcher::new(MatchOp::Regex, "job", "node|prom").unwrap();
        assert!(m.matches("node"));
        assert!(!m.matches("node_exporter"), "regex must be anchored");
        let m = Matcher::new(MatchOp::NotRegex, "job", "n.*").unwrap();
        assert!(!m.matches("node"));
        assert!(m.matches("prom"));
        let m = Matcher::new(MatchOp::Regex, "x", "a.b").unwrap();
        assert!(m.matches("a\nb"), "dot matches newline");
        assert!(Matcher::equal("a", "").matches_empty());
        assert!(
            !Matcher::new(MatchOp::NotEqual, "a", "")
                .unwrap()
                .matches_empty()
        );
    }

    #[test]
    fn bad_regex_is_a_typed_error_naming_the_label() {
        let e = Matcher::new(MatchOp::Regex, "job", "(").unwrap_err();
        assert!(e.to_string().contains("job"), "{e}");
    }

    #[test]
    fn displays_like_promql() {
        let m = Matcher::new(MatchOp::NotRegex, "a", "x\"y").unwrap();
        assert_eq!(m.to_string(), r#"a!~"x\"y""#);
    }
}
