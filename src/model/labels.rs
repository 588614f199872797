//! `Labels`: the sorted, immutable, cheaply cloned set of name/value pairs that names a
//! series, with a stable hash and Prometheus's `{a="b"}` display; and `LabelsBuilder` to
//! derive a new set from an old one.

use std::fmt;
use std::sync::Arc;

/// The label that holds the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One name/value pair, owned: what callers build label sets from.
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

/// One name/value pair borrowed from a `Labels`: what iterating a set yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabelRef<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

impl LabelRef<'_> {
    /// An owned copy.
    pub fn to_label(&self) -> Label {
        Label::new(self.name, self.value)
    }
}

impl From<LabelRef<'_>> for Label {
    fn from(l: LabelRef<'_>) -> Self {
        l.to_label()
    }
}

/// Appends `n` as ASCII digits of 6 bits, most significant first, with 0x40 set on every
/// digit but the last: a length prefix that keeps the whole encoding valid UTF-8.
fn put_len(out: &mut String, n: usize) {
    let mut digits = [0u8; 11];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = (n & 0x3f) as u8;
        n >>= 6;
        if n == 0 {
            break;
        }
    }
    let last = digits.len() - 1;
    for (k, &d) in digits.iter().enumerate().skip(i) {
        out.push(char::from(if k == last { d } else { d | 0x40 }));
    }
}

/// Reads a length written by `put_len` at `*pos`, moving `*pos` past it.
#[inline]
fn get_len(b: &[u8], pos: &mut usize) -> usize {
    let mut n = 0usize;
    while let Some(&d) = b.get(*pos) {
        *pos += 1;
        n = (n << 6) | (d & 0x3f) as usize;
        if d & 0x40 == 0 {
            break;
        }
    }
    n
}

/// A series' identity: labels sorted by name, names unique, no empty values (an empty value
/// means "no such label", as in Prometheus). The pairs live in one shared allocation, each
/// name and value behind a short length prefix (as Prometheus's `stringlabels`), so a set
/// costs one allocation of about its text's size, and clones share it.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Labels(Arc<str>);

/// The pairs of a `Labels`, in name order.
#[derive(Clone)]
pub struct Iter<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = LabelRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<LabelRef<'a>> {
        if self.pos >= self.s.len() {
            return None;
        }
        let b = self.s.as_bytes();
        let n = get_len(b, &mut self.pos);
        let name = self.s.get(self.pos..self.pos + n).unwrap_or("");
        self.pos += n;
        let n = get_len(b, &mut self.pos);
        let value = self.s.get(self.pos..self.pos + n).unwrap_or("");
        self.pos += n;
        Some(LabelRef { name, value })
    }
}

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
        Labels::encode(out.iter().map(|l| (&*l.name, &*l.value)))
    }

    /// Encodes pairs that are already sorted by name, unique and non-empty.
    fn encode<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Self {
        let size: usize = pairs.clone().map(|(n, v)| n.len() + v.len() + 4).sum();
        let mut s = String::with_capacity(size);
        for (n, v) in pairs {
            put_len(&mut s, n.len());
            s.push_str(n);
            put_len(&mut s, v.len());
            s.push_str(v);
        }
        Labels(Arc::from(s))
    }

    pub fn from_pairs<N: AsRef<str>, V: AsRef<str>>(pairs: &[(N, V)]) -> Self {
        Labels::new(
            pairs
                .iter()
                .map(|(n, v)| Label::new(n.as_ref(), v.as_ref()))
                .collect(),
        )
    }

    /// Builds a set from pairs that are already sorted by name, with unique names and no
    /// empty value (as a block's index stores them), without an allocation per pair;
    /// `None` when they are not.
    pub fn from_sorted_pairs<'a>(
        pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Option<Self> {
        let mut prev: Option<&str> = None;
        for (n, v) in pairs.clone() {
            if v.is_empty() || prev.is_some_and(|p| p >= n) {
                return None;
            }
            prev = Some(n);
        }
        Some(Labels::encode(pairs))
    }

    pub fn empty() -> Self {
        Labels::default()
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter { s: &self.0, pos: 0 }
    }

    /// Owned copies of the pairs, in name order.
    pub fn to_vec(&self) -> Vec<Label> {
        self.iter().map(|l| l.to_label()).collect()
    }

    /// Whether both sets share one allocation (then they are equal).
    pub fn ptr_eq(&self, other: &Labels) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// An identity of the shared allocation (its address and size): equal for clones.
    pub fn identity(&self) -> (usize, usize) {
        (self.0.as_ptr() as usize, self.0.len())
    }

    /// Heap bytes of the shared allocation (counted once however many clones exist).
    pub fn heap_bytes(&self) -> usize {
        self.0.len() + 2 * std::mem::size_of::<usize>()
    }

    /// The value of `name`, or `None` when the set has no such label.
    pub fn get(&self, name: &str) -> Option<&str> {
        for l in self.iter() {
            match l.name.cmp(name) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return Some(l.value),
                std::cmp::Ordering::Greater => break,
            }
        }
        None
    }

    /// The metric name (`__name__`), or "" when there is none.
    pub fn metric_name(&self) -> &str {
        // `__name__` sorts before every lowercase name, so it is nearly always the first
        // label.
        self.get(METRIC_NAME).unwrap_or("")
    }

    /// A hash that is the same on every run and every machine (xxh3 over name, 0xff, value,
    /// 0xff, ...), for sharding, hashmod-like uses and persistent indexes.
    pub fn stable_hash(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in self.iter() {
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

/// Pair by pair (name, then value), a shorter set first when it is a prefix: the order of
/// the sets' pair lists.
impl Ord for Labels {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if self.ptr_eq(other) {
            return std::cmp::Ordering::Equal;
        }
        self.iter().cmp(other.iter())
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
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
        for (i, l) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}=\"", l.name)?;
            write_escaped(f, l.value)?;
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
    type Item = LabelRef<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// From borrowed pairs in any order, as `Labels::new` (the last of a repeated name wins).
impl<'a> FromIterator<LabelRef<'a>> for Labels {
    fn from_iter<T: IntoIterator<Item = LabelRef<'a>>>(iter: T) -> Self {
        let mut pairs: Vec<LabelRef<'a>> = iter.into_iter().collect();
        pairs.sort_by(|a, b| a.name.cmp(b.name));
        let mut out: Vec<LabelRef<'a>> = Vec::with_capacity(pairs.len());
        for l in pairs {
            match out.last_mut() {
                Some(prev) if prev.name == l.name => *prev = l,
                _ => out.push(l),
            }
        }
        out.retain(|l| !l.value.is_empty());
        Labels::encode(out.iter().map(|l| (l.name, l.value)))
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
            if self.del.iter().any(|d| **d == *l.name)
                || self.set.iter().any(|s| *s.name == *l.name)
            {
                continue;
            }
            f(l.name, l.value);
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

    #[test]
    fn long_and_unicode_strings_round_trip() {
        let long = "x".repeat(70_000);
        let pairs = [
            ("__name__", "m"),
            ("a", "é ü ✓"),
            ("b", long.as_str()),
            ("c", "?"),
        ];
        let l = Labels::from_pairs(&pairs);
        let got: Vec<(&str, &str)> = l.iter().map(|l| (l.name, l.value)).collect();
        assert_eq!(got, pairs.to_vec());
        assert_eq!(l.len(), 4);
        assert_eq!(l.get("b").map(str::len), Some(70_000));
        assert_eq!(l.get("bb"), None);
        for n in [0, 1, 63, 64, 4095, 4096, 1 << 20] {
            let mut s = String::new();
            put_len(&mut s, n);
            let mut pos = 0;
            assert_eq!(get_len(s.as_bytes(), &mut pos), n);
            assert_eq!(pos, s.len());
        }
    }

    #[test]
    fn order_is_pairwise_as_a_list_of_pairs() {
        let a = Labels::from_pairs(&[("a", "1")]);
        let ab = Labels::from_pairs(&[("a", "1"), ("b", "1")]);
        let a2 = Labels::from_pairs(&[("a", "2")]);
        let long_name = Labels::from_pairs(&[(
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "0",
        )]);
        assert!(a < ab && ab < a2 && a < long_name && a2 < long_name);
        assert!(Labels::empty() < a);
    }
}
