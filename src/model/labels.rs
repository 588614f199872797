//! `Labels`: the sorted, immutable, cheaply cloned set of name/value pairs that names a
//! series, with a stable hash and Prometheus's `{a="b"}` display; and `LabelsBuilder` to
//! derive a new set from an old one.

use std::fmt;
use std::sync::Arc;

/// The label that holds the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One name/value pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    pub name: Box<str>,
    pub value: Box<str>,
}

impl Label {
    pub fn new(name: impl Into<Box<str>>, value: impl Into<Box<str>>) -> Self {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A series' identity: labels sorted by name, names unique, no empty values (an empty value
/// means "no such label", as in Prometheus). Clones share one allocation.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Labels(Arc<[Label]>);

impl Labels {
    /// Builds a set from pairs in any order. Empty values are dropped; for a repeated name
    /// the last pair wins.
    pub fn new(mut pairs: Vec<Label>) -> Self {
        // Stable sort keeps source order among equal names, so "last wins" below is exact.
        pairs.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out: Vec<Label> = Vec::with_capacity(pairs.len());
        for l in pairs {
            match out.last_mut() {
                Some(prev) if prev.name == l.name => *prev = l,
                _ => out.push(l),
            }
        }
        out.retain(|l| !l.value.is_empty());
        Labels(out.into())
    }

    pub fn from_pairs<N: AsRef<str>, V: AsRef<str>>(pairs: &[(N, V)]) -> Self {
        Labels::new(
            pairs
                .iter()
                .map(|(n, v)| Label::new(n.as_ref(), v.as_ref()))
                .collect(),
        )
    }

    pub fn empty() -> Self {
        Labels::default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// The value of `name`, or `None` when the set has no such label.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| (*l.name).cmp(name))
            .ok()
            .map(|i| &*self.0[i].value)
    }

    /// The metric name (`__name__`), or "" when there is none.
    pub fn metric_name(&self) -> &str {
        // `__name__` sorts before every lowercase name, so it is nearly always the first
        // label: a scan finds it (or its absence) sooner than a binary search.
        for l in self.0.iter() {
            match (*l.name).cmp(METRIC_NAME) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return &l.value,
                std::cmp::Ordering::Greater => break,
            }
        }
        ""
    }

    /// A hash that is the same on every run and every machine (xxh3 over name, 0xff, value,
    /// 0xff, ...), for sharding, hashmod-like uses and persistent indexes.
    pub fn stable_hash(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in self.0.iter() {
            h.update(l.name.as_bytes());
            h.update(&[0xff]);
            h.update(l.value.as_bytes());
            h.update(&[0xff]);
        }
        h.digest()
    }

    /// A builder that starts from this set.
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            base: self.clone(),
            set: Vec::new(),
            del: Vec::new(),
        }
    }

    /// This set without the metric name.
    pub fn without_metric_name(&self) -> Labels {
        if self.get(METRIC_NAME).is_none() {
            return self.clone();
        }
        let mut b = self.builder();
        b.del(METRIC_NAME);
        b.build()
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Prometheus's notation: `{a="b", c="d"}`, with `\\`, `\"` and `\n` escaped in values.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}=\"", l.name)?;
            write_escaped(f, &l.value)?;
            f.write_str("\"")?;
        }
        f.write_str("}")
    }
}

/// Writes `s` with backslash, double quote and newline escaped, as label values are quoted.
pub(crate) fn write_escaped(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    for c in s.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '"' => f.write_str("\\\"")?,
            '\n' => f.write_str("\\n")?,
            c => f.write_char(c)?,
        }
    }
    Ok(())
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl FromIterator<Label> for Labels {
    fn from_iter<T: IntoIterator<Item = Label>>(iter: T) -> Self {
        Labels::new(iter.into_iter().collect())
    }
}

/// Derives a new label set from a base: `set` and `del` record changes, `build` applies
/// them. Setting an empty value deletes the label.
#[derive(Debug, Clone)]
pub struct LabelsBuilder {
    base: Labels,
    set: Vec<Label>,
    del: Vec<Box<str>>,
}

impl LabelsBuilder {
    pub fn new() -> Self {
        Labels::empty().builder()
    }

    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.del.retain(|d| &**d != name);
        self.set.retain(|l| &*l.name != name);
        if value.is_empty() {
            self.del.push(name.into());
        } else {
            self.set.push(Label::new(name, value));
        }
        self
    }

    pub fn del(&mut self, name: &str) -> &mut Self {
        self.set.retain(|l| &*l.name != name);
        if !self.del.iter().any(|d| &**d == name) {
            self.del.push(name.into());
        }
        self
    }

    /// The current value of `name`, with pending changes applied.
    pub fn get(&self, name: &str) -> Option<&str> {
        if let Some(l) = self.set.iter().find(|l| &*l.name == name) {
            return Some(&l.value);
        }
        if self.del.iter().any(|d| &**d == name) {
            return None;
        }
        self.base.get(name)
    }

    /// Calls `f` for every label of the current state (base with changes applied), in no
    /// particular order.
    pub fn for_each(&self, mut f: impl FnMut(&str, &str)) {
        for l in self.base.iter() {
            if self.del.contains(&l.name) || self.set.iter().any(|s| s.name == l.name) {
                continue;
            }
            f(&l.name, &l.value);
        }
        for l in &self.set {
            f(&l.name, &l.value);
        }
    }

    pub fn build(&self) -> Labels {
        if self.set.is_empty() && self.del.is_empty() {
            return self.base.clone();
        }
        let mut out = Vec::with_capacity(self.base.len() + self.set.len());
        self.for_each(|n, v| out.push(Label::new(n, v)));
        Labels::new(out)
    }
}

impl Default for LabelsBuilder {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_deduplicated_and_empty_values_dropped() {
        let l = Labels::from_pairs(&[("b", "2"), ("a", "1"), ("b", "3"), ("c", "")]);
        assert_eq!(l.to_string(), r#"{a="1", b="3"}"#);
        assert_eq!(l.get("b"), Some("3"));
        assert_eq!(l.get("c"), None);
    }

    #[test]
    fn display_escapes_values() {
        let l = Labels::from_pairs(&[("__name__", "up"), ("x", "a\"b\\c\nd")]);
        assert_eq!(l.to_string(), r#"{__name__="up", x="a\"b\\c\nd"}"#);
        assert_eq!(l.metric_name(), "up");
    }

    #[test]
    fn stable_hash_depends_on_content_only() {
        let a = Labels::from_pairs(&[("a", "1"), ("b", "2")]);
        let b = Labels::from_pairs(&[("b", "2"), ("a", "1")]);
        let c = Labels::from_pairs(&[("a", "12")]);
        assert_eq!(a.stable_hash(), b.stable_hash());
        assert_ne!(a.stable_hash(), c.stable_hash());
        // Separators keep {a="1b"} and {a1="b"}-like sets apart.
        let d = Labels::from_pairs(&[("a", "1b")]);
        let e = Labels::from_pairs(&[("a1", "b")]);
        assert_ne!(d.stable_hash(), e.stable_hash());
    }

    #[test]
    fn builder_sets_deletes_and_reads_through() {
        let base = Labels::from_pairs(&[("a", "1"), ("b", "2")]);
        let mut b = base.builder();
        b.set("c", "3").del("a").set("b", "");
        assert_eq!(b.get("a"), None);
        assert_eq!(b.get("c"), Some("3"));
        assert_eq!(b.build().to_string(), r#"{c="3"}"#);
        assert_eq!(base.builder().build(), base);
    }
}
