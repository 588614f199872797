//! The postings index: for every label name and value, the sorted list of refs of the
//! series carrying that pair, plus the list of all refs. `for_matchers` turns a selector
//! into a ref list with set operations on these lists only (equality is one lookup, a regex
//! unions the lists of the matching values of that one name, matchers that accept the empty
//! string subtract), so a select never scans every series. The head adds series when it
//! creates them, removes them in `gc`, and its querier reads it. Lists hold refs as `u32`
//! (half the memory per label pair of every series) until a ref no longer fits.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use crate::model::{Labels, MatchOp, Matcher};
use crate::storage::SeriesRef;

/// A series ref as a posting list holds it: `u32` while every ref fits (half the bytes
/// per label pair of every series), `u64` after.
trait Id: Copy + Ord + std::fmt::Debug {
    fn from_ref(r: SeriesRef) -> Option<Self>;
    fn to_ref(self) -> SeriesRef;
}

impl Id for u32 {
    fn from_ref(r: SeriesRef) -> Option<u32> {
        u32::try_from(r).ok()
    }
    fn to_ref(self) -> SeriesRef {
        SeriesRef::from(self)
    }
}

impl Id for u64 {
    fn from_ref(r: SeriesRef) -> Option<u64> {
        Some(r)
    }
    fn to_ref(self) -> SeriesRef {
        self
    }
}

/// Label name → value → sorted series refs.
#[derive(Debug)]
pub struct Postings {
    lists: Lists,
}

/// The index with refs as `u32` until a ref above `u32::MAX` arrives (after four billion
/// series were created), then as `u64`.
#[derive(Debug)]
enum Lists {
    Narrow(Index<u32>),
    Wide(Index<u64>),
}

impl Default for Postings {
    fn default() -> Self {
        Postings {
            lists: Lists::Narrow(Index::default()),
        }
    }
}

impl Postings {
    pub fn new() -> Self {
        Self::default()
    }

    /// Indexes a series. Refs usually arrive in increasing order (an append); a late one is
    /// inserted in place.
    pub fn add(&mut self, r: SeriesRef, labels: &Labels) {
        if let Lists::Narrow(idx) = &mut self.lists {
            match u32::from_ref(r) {
                Some(id) => return idx.add(id, labels),
                None => self.lists = Lists::Wide(std::mem::take(idx).widen()),
            }
        }
        if let Lists::Wide(idx) = &mut self.lists {
            idx.add(r, labels);
        }
    }

    /// Removes series; names and values left without series disappear.
    pub fn delete(&mut self, removed: &[(SeriesRef, Labels)]) {
        match &mut self.lists {
            Lists::Narrow(idx) => idx.delete(removed),
            Lists::Wide(idx) => idx.delete(removed),
        }
    }

    /// Refs of the series with `name="value"`.
    pub fn get(&self, name: &str, value: &str) -> Vec<SeriesRef> {
        match &self.lists {
            Lists::Narrow(idx) => widen(idx.get(name, value)),
            Lists::Wide(idx) => idx.get(name, value).to_vec(),
        }
    }

    /// Refs of every indexed series.
    pub fn all(&self) -> Vec<SeriesRef> {
        match &self.lists {
            Lists::Narrow(idx) => widen(&idx.all),
            Lists::Wide(idx) => idx.all.clone(),
        }
    }

    /// Every label name, sorted.
    pub fn label_names(&self) -> Vec<String> {
        match &self.lists {
            Lists::Narrow(idx) => idx.label_names(),
            Lists::Wide(idx) => idx.label_names(),
        }
    }

    /// Every value of `name`, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        match &self.lists {
            Lists::Narrow(idx) => idx.label_values(name),
            Lists::Wide(idx) => idx.label_values(name),
        }
    }

    /// Approximate heap bytes held (lists, keys, map nodes).
    pub fn memory_bytes(&self) -> usize {
        match &self.lists {
            Lists::Narrow(idx) => idx.memory_bytes(),
            Lists::Wide(idx) => idx.memory_bytes(),
        }
    }

    /// The sorted refs of the series whose labels satisfy every matcher (a missing label
    /// reads as ""), computed as Prometheus does: intersect the lists of the matchers that
    /// need the label present, then subtract what the matchers that accept the empty string
    /// exclude. With only such matchers, the start is the list of all series.
    pub fn for_matchers(&self, matchers: &[Matcher]) -> Vec<SeriesRef> {
        match &self.lists {
            Lists::Narrow(idx) => widen(&idx.for_matchers(matchers)),
            Lists::Wide(idx) => idx.for_matchers(matchers),
        }
    }
}

fn widen<T: Id>(ids: &[T]) -> Vec<SeriesRef> {
    ids.iter().map(|&i| i.to_ref()).collect()
}

/// The lists with one width of ref.
#[derive(Debug)]
struct Index<T> {
    all: Vec<T>,
    by_label: HashMap<Box<str>, BTreeMap<Box<str>, Vec<T>>>,
}

impl<T> Default for Index<T> {
    fn default() -> Self {
        Index {
            all: Vec::new(),
            by_label: HashMap::new(),
        }
    }
}

impl Index<u32> {
    /// The same index with `u64` refs.
    fn widen(self) -> Index<u64> {
        let w = |l: Vec<u32>| l.into_iter().map(u64::from).collect::<Vec<u64>>();
        Index {
            all: w(self.all),
            by_label: self
                .by_label
                .into_iter()
                .map(|(n, values)| (n, values.into_iter().map(|(v, l)| (v, w(l))).collect()))
                .collect(),
        }
    }
}

impl<T: Id> Index<T> {
    fn add(&mut self, r: T, labels: &Labels) {
        insert_sorted(&mut self.all, r);
        for l in labels {
            let values = match self.by_label.get_mut(l.name) {
                Some(v) => v,
                None => self.by_label.entry(l.name.into()).or_default(),
            };
            match values.get_mut(l.value) {
                Some(list) => insert_sorted(list, r),
                None => {
                    values.insert(l.value.into(), vec![r]);
                }
            }
        }
    }

    fn delete(&mut self, removed: &[(SeriesRef, Labels)]) {
        // A ref that does not fit this width was never indexed here.
        let mut dead: Vec<T> = removed
            .iter()
            .filter_map(|(r, _)| T::from_ref(*r))
            .collect();
        dead.sort_unstable();
        dead.dedup();
        let gone = |r: &T| dead.binary_search(r).is_ok();
        self.all.retain(|r| !gone(r));
        shrink_slack(&mut self.all);
        for (_, labels) in removed {
            for l in labels {
                let Some(values) = self.by_label.get_mut(l.name) else {
                    continue;
                };
                if let Some(list) = values.get_mut(l.value) {
                    list.retain(|r| !gone(r));
                    if list.is_empty() {
                        values.remove(l.value);
                    } else {
                        shrink_slack(list);
                    }
                }
                if values.is_empty() {
                    self.by_label.remove(l.name);
                }
            }
        }
    }

    fn get(&self, name: &str, value: &str) -> &[T] {
        self.by_label
            .get(name)
            .and_then(|v| v.get(value))
            .map_or(&[], |l| l.as_slice())
    }

    fn label_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_label.keys().map(|k| k.to_string()).collect();
        names.sort_unstable();
        names
    }

    fn label_values(&self, name: &str) -> Vec<String> {
        self.by_label
            .get(name)
            .map(|v| v.keys().map(|k| k.to_string()).collect())
            .unwrap_or_default()
    }

    fn memory_bytes(&self) -> usize {
        const PER_ENTRY: usize = 64; // map slot or tree node share, plus key header
        let id = std::mem::size_of::<T>();
        let mut n = self.all.capacity() * id;
        for (name, values) in &self.by_label {
            n += name.len() + PER_ENTRY;
            for (value, list) in values {
                n += value.len() + list.capacity() * id + PER_ENTRY;
            }
        }
        n
    }

    fn for_matchers(&self, matchers: &[Matcher]) -> Vec<T> {
        let mut positive: Vec<Cow<'_, [T]>> = Vec::new();
        let mut negative: Vec<Cow<'_, [T]>> = Vec::new();
        for m in matchers {
            if m.matches_empty() {
                // Series without the label pass; those whose value fails `m` do not.
                negative.push(match m.op {
                    MatchOp::NotEqual => Cow::Borrowed(self.get(&m.name, &m.value)),
                    MatchOp::NotRegex => match literal_alternatives(&m.value) {
                        Some(lits) => self.union_of_values(&m.name, &lits),
                        None => self.values_where(&m.name, |v| !m.matches(v)),
                    },
                    _ => self.values_where(&m.name, |v| !m.matches(v)),
                });
            } else {
                let list = match m.op {
                    MatchOp::Equal => Cow::Borrowed(self.get(&m.name, &m.value)),
                    MatchOp::Regex => match literal_alternatives(&m.value) {
                        Some(lits) => self.union_of_values(&m.name, &lits),
                        None => self.values_where(&m.name, |v| m.matches(v)),
                    },
                    _ => self.values_where(&m.name, |v| m.matches(v)),
                };
                if list.is_empty() {
                    return Vec::new();
                }
                positive.push(list);
            }
        }
        let mut result = if positive.is_empty() {
            self.all.clone()
        } else {
            positive.sort_by_key(|l| l.len());
            let mut lists = positive.into_iter();
            let mut acc = lists.next().map(Cow::into_owned).unwrap_or_default();
            for l in lists {
                if acc.is_empty() {
                    break;
                }
                acc = intersect(&acc, &l);
            }
            acc
        };
        for n in &negative {
            if result.is_empty() {
                break;
            }
            if !n.is_empty() {
                result = subtract(&result, n);
            }
        }
        result
    }

    /// The union of the lists of the values of `name` that satisfy `keep`.
    fn values_where(&self, name: &str, keep: impl Fn(&str) -> bool) -> Cow<'_, [T]> {
        let Some(values) = self.by_label.get(name) else {
            return Cow::Borrowed(&[]);
        };
        let lists: Vec<&[T]> = values
            .iter()
            .filter(|(v, _)| keep(v))
            .map(|(_, l)| l.as_slice())
            .collect();
        union_many(&lists)
    }

    fn union_of_values(&self, name: &str, values: &[&str]) -> Cow<'_, [T]> {
        let lists: Vec<&[T]> = values.iter().map(|v| self.get(name, v)).collect();
        union_many(&lists)
    }
}

/// Gives back a list's spare capacity once it is mostly unused (after deletions).
fn shrink_slack<T>(list: &mut Vec<T>) {
    if list.capacity() > 2 * list.len() + 4 {
        list.shrink_to_fit();
    }
}

/// The alternatives of a regex that is only literals joined by `|` (like `a|b|c`), which can
/// be looked up instead of tested against every value.
fn literal_alternatives(pattern: &str) -> Option<Vec<&str>> {
    if pattern.contains([
        '\\', '.', '+', '*', '?', '(', ')', '[', ']', '{', '}', '^', '$',
    ]) {
        return None;
    }
    let mut lits: Vec<&str> = pattern.split('|').collect();
    lits.sort_unstable();
    lits.dedup();
    Some(lits)
}

fn insert_sorted<T: Ord + Copy>(list: &mut Vec<T>, r: T) {
    match list.last() {
        Some(&last) if last >= r => {
            if let Err(i) = list.binary_search(&r) {
                list.insert(i, r);
            }
        }
        _ => list.push(r),
    }
}

/// Elements of both sorted lists. Gallops through the longer list when the lengths differ
/// a lot.
pub fn intersect<T: Ord + Copy>(a: &[T], b: &[T]) -> Vec<T> {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut out = Vec::with_capacity(small.len());
    if small.len() * 16 < large.len() {
        let mut rest = large;
        for &x in small {
            let i = rest.partition_point(|&y| y < x);
            rest = &rest[i..];
            match rest.first() {
                None => break,
                Some(&y) if y == x => out.push(x),
                Some(_) => {}
            }
        }
        return out;
    }
    let (mut i, mut j) = (0, 0);
    while i < small.len() && j < large.len() {
        match small[i].cmp(&large[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(small[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Elements of either sorted list, once.
pub fn union<T: Ord + Copy>(a: &[T], b: &[T]) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// The union of any number of sorted lists.
pub fn union_many<'a, T: Ord + Copy>(lists: &[&'a [T]]) -> Cow<'a, [T]> {
    match lists {
        [] => Cow::Borrowed(&[]),
        [one] => Cow::Borrowed(one),
        [a, b] => Cow::Owned(union(a, b)),
        _ => {
            let mut out: Vec<T> = Vec::with_capacity(lists.iter().map(|l| l.len()).sum());
            for l in lists {
                out.extend_from_slice(l);
            }
            out.sort_unstable();
            out.dedup();
            Cow::Owned(out)
        }
    }
}

/// Elements of sorted `a` that are not in sorted `b`.
pub fn subtract<T: Ord + Copy>(a: &[T], b: &[T]) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len());
    if b.len() > a.len() * 16 {
        let mut rest = b;
        for &x in a {
            let i = rest.partition_point(|&y| y < x);
            rest = &rest[i..];
            if rest.first() != Some(&x) {
                out.push(x);
            }
        }
        return out;
    }
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j >= b.len() || b[j] != x {
            out.push(x);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::matches_all;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn random_sorted(rng: &mut Rng, len: u64, max: u64) -> Vec<u64> {
        let mut v: Vec<u64> = (0..len).map(|_| rng.below(max)).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    #[test]
    fn set_operations_agree_with_a_btreeset() {
        use std::collections::BTreeSet;
        let mut rng = Rng(99);
        for _ in 0..500 {
            let (la, lb) = (rng.below(200), rng.below(200));
            let max = 1 + rng.below(400);
            // Skewed sizes exercise the galloping paths.
            let skew = 1 + rng.below(30);
            let a = random_sorted(&mut rng, la / skew, max);
            let b = random_sorted(&mut rng, lb, max);
            let (sa, sb): (BTreeSet<u64>, BTreeSet<u64>) =
                (a.iter().copied().collect(), b.iter().copied().collect());
            let v = |s: BTreeSet<u64>| s.into_iter().collect::<Vec<_>>();
            assert_eq!(intersect(&a, &b), v(&sa & &sb));
            assert_eq!(intersect(&b, &a), v(&sa & &sb));
            assert_eq!(union(&a, &b), v(&sa | &sb));
            assert_eq!(subtract(&a, &b), v(&sa - &sb));
            assert_eq!(subtract(&b, &a), v(&sb - &sa));
            let c = random_sorted(&mut rng, 50, max);
            let sc: BTreeSet<u64> = c.iter().copied().collect();
            assert_eq!(
                union_many(&[&a, &b, &c]).into_owned(),
                v(&(&sa | &sb) | &sc)
            );
        }
    }

    fn random_labels(rng: &mut Rng) -> Labels {
        let mut pairs = vec![("__name__".to_string(), format!("m{}", rng.below(4)))];
        for name in ["job", "instance", "mode", "le"] {
            if rng.below(3) > 0 {
                pairs.push((name.to_string(), format!("{}{}", &name[..1], rng.below(5))));
            }
        }
        Labels::from_pairs(&pairs)
    }

    fn random_matcher(rng: &mut Rng) -> Matcher {
        let name = ["__name__", "job", "instance", "mode", "le", "absent"][rng.below(6) as usize];
        let first = if name == "__name__" { "m" } else { &name[..1] };
        let value = match rng.below(8) {
            0 => String::new(),
            1 => format!("{first}{}|{first}{}", rng.below(5), rng.below(5)),
            2 => format!("{first}[0-2]"),
            3 => format!("{first}.*"),
            4 => ".*".to_string(),
            5 => format!("{first}{}|", rng.below(5)),
            _ => format!("{first}{}", rng.below(5)),
        };
        let op = [
            MatchOp::Equal,
            MatchOp::NotEqual,
            MatchOp::Regex,
            MatchOp::NotRegex,
        ][rng.below(4) as usize];
        Matcher::new(op, name, &value).expect("test regexes are valid")
    }

    #[test]
    fn for_matchers_agrees_with_brute_force_filtering() {
        let mut rng = Rng(2024);
        let mut p = Postings::new();
        let mut series = Vec::new();
        for r in 1..=600u64 {
            let l = random_labels(&mut rng);
            if series.iter().any(|(_, x)| x == &l) {
                continue;
            }
            p.add(r, &l);
            series.push((r, l));
        }
        // Remove some so deletion is covered too.
        let removed: Vec<(u64, Labels)> =
            series.iter().filter(|(r, _)| r % 7 == 0).cloned().collect();
        p.delete(&removed);
        series.retain(|(r, _)| r % 7 != 0);
        for _ in 0..3000 {
            let n = rng.below(4) as usize;
            let ms: Vec<Matcher> = (0..n).map(|_| random_matcher(&mut rng)).collect();
            let want: Vec<u64> = series
                .iter()
                .filter(|(_, l)| matches_all(l, &ms))
                .map(|(r, _)| *r)
                .collect();
            assert_eq!(p.for_matchers(&ms), want, "matchers {ms:?}");
        }
    }

    #[test]
    fn names_values_and_deletion_keep_the_index_tidy() {
        let mut p = Postings::new();
        let a = Labels::from_pairs(&[("__name__", "up"), ("job", "a")]);
        let b = Labels::from_pairs(&[("__name__", "up"), ("job", "b"), ("x", "1")]);
        p.add(2, &b);
        p.add(1, &a); // out of order insert
        assert_eq!(p.all(), vec![1, 2]);
        assert_eq!(p.get("__name__", "up"), vec![1, 2]);
        assert_eq!(p.label_names(), vec!["__name__", "job", "x"]);
        assert_eq!(p.label_values("job"), vec!["a", "b"]);
        p.delete(&[(2, b)]);
        assert_eq!(p.label_names(), vec!["__name__", "job"]);
        assert_eq!(p.label_values("job"), vec!["a"]);
        assert_eq!(p.all(), vec![1]);
        assert!(p.memory_bytes() > 0);
    }

    #[test]
    fn a_ref_above_u32_widens_the_index_and_keeps_every_list() {
        let mut p = Postings::new();
        let a = Labels::from_pairs(&[("__name__", "up"), ("job", "a")]);
        let b = Labels::from_pairs(&[("__name__", "up"), ("job", "b")]);
        let big = u64::from(u32::MAX) + 5;
        p.add(7, &a);
        p.add(big, &b);
        assert!(matches!(p.lists, Lists::Wide(_)));
        assert_eq!(p.all(), vec![7, big]);
        assert_eq!(p.get("__name__", "up"), vec![7, big]);
        let m = |v: &str| Matcher::new(MatchOp::Equal, "job", v).expect("valid");
        assert_eq!(p.for_matchers(&[m("b")]), vec![big]);
        assert_eq!(p.for_matchers(&[m("a")]), vec![7]);
        p.delete(&[(big, b)]);
        assert_eq!(p.all(), vec![7]);
        assert_eq!(p.label_values("job"), vec!["a"]);
    }
}
