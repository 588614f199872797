//! The postings index: for every label name and value, the sorted list of refs of the
//! series carrying that pair, plus the list of all refs. `for_matchers` turns a selector
//! into a ref list with set operations on these lists only (equality is one lookup, a regex
//! unions the lists of the matching values of that one name, matchers that accept the empty
//! string subtract), so a select never scans every series. The head adds series when it
//! creates them, removes them in `gc`, and its querier reads it.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use crate::model::{Labels, MatchOp, Matcher};
use crate::storage::SeriesRef;

/// Label name → value → sorted series refs.
#[derive(Debug, Default)]
pub struct Postings {
    all: Vec<SeriesRef>,
    by_label: HashMap<Box<str>, BTreeMap<Box<str>, Vec<SeriesRef>>>,
}

impl Postings {
    pub fn new() -> Self {
        Self::default()
    }

    /// Indexes a series. Refs usually arrive in increasing order (an append); a late one is
    /// inserted in place.
    pub fn add(&mut self, r: SeriesRef, labels: &Labels) {
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

    /// Removes series; names and values left without series disappear.
    pub fn delete(&mut self, removed: &[(SeriesRef, Labels)]) {
        let mut dead: Vec<SeriesRef> = removed.iter().map(|(r, _)| *r).collect();
        dead.sort_unstable();
        dead.dedup();
        let gone = |r: &SeriesRef| dead.binary_search(r).is_ok();
        self.all.retain(|r| !gone(r));
        for (_, labels) in removed {
            for l in labels {
                let Some(values) = self.by_label.get_mut(l.name) else {
                    continue;
                };
                if let Some(list) = values.get_mut(l.value) {
                    list.retain(|r| !gone(r));
                    if list.is_empty() {
                        values.remove(l.value);
                    }
                }
                if values.is_empty() {
                    self.by_label.remove(l.name);
                }
            }
        }
    }

    /// Refs of the series with `name="value"`.
    pub fn get(&self, name: &str, value: &str) -> &[SeriesRef] {
        self.by_label
            .get(name)
            .and_then(|v| v.get(value))
            .map_or(&[], |l| l.as_slice())
    }

    /// Refs of every indexed series.
    pub fn all(&self) -> &[SeriesRef] {
        &self.all
    }

    /// Every label name, sorted.
    pub fn label_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_label.keys().map(|k| k.to_string()).collect();
        names.sort_unstable();
        names
    }

    /// Every value of `name`, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.by_label
            .get(name)
            .map(|v| v.keys().map(|k| k.to_string()).collect())
            .unwrap_or_default()
    }

    /// Approximate heap bytes held (lists, keys, map nodes).
    pub fn memory_bytes(&self) -> usize {
        const PER_ENTRY: usize = 64; // map slot or tree node share, plus key header
        let mut n = self.all.capacity() * 8;
        for (name, values) in &self.by_label {
            n += name.len() + PER_ENTRY;
            for (value, list) in values {
                n += value.len() + list.capacity() * 8 + PER_ENTRY;
            }
        }
        n
    }

    /// The sorted refs of the series whose labels satisfy every matcher (a missing label
    /// reads as ""), computed as Prometheus does: intersect the lists of the matchers that
    /// need the label present, then subtract what the matchers that accept the empty string
    /// exclude. With only such matchers, the start is the list of all series.
    pub fn for_matchers(&self, matchers: &[Matcher]) -> Vec<SeriesRef> {
        let mut positive: Vec<Cow<'_, [SeriesRef]>> = Vec::new();
        let mut negative: Vec<Cow<'_, [SeriesRef]>> = Vec::new();
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
    fn values_where(&self, name: &str, keep: impl Fn(&str) -> bool) -> Cow<'_, [SeriesRef]> {
        let Some(values) = self.by_label.get(name) else {
            return Cow::Borrowed(&[]);
        };
        let lists: Vec<&[SeriesRef]> = values
            .iter()
            .filter(|(v, _)| keep(v))
            .map(|(_, l)| l.as_slice())
            .collect();
        union_many(&lists)
    }

    fn union_of_values(&self, name: &str, values: &[&str]) -> Cow<'_, [SeriesRef]> {
        let lists: Vec<&[SeriesRef]> = values.iter().map(|v| self.get(name, v)).collect();
        union_many(&lists)
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

fn insert_sorted(list: &mut Vec<SeriesRef>, r: SeriesRef) {
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
pub fn intersect(a: &[SeriesRef], b: &[SeriesRef]) -> Vec<SeriesRef> {
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
pub fn union(a: &[SeriesRef], b: &[SeriesRef]) -> Vec<SeriesRef> {
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
pub fn union_many<'a>(lists: &[&'a [SeriesRef]]) -> Cow<'a, [SeriesRef]> {
    match lists {
        [] => Cow::Borrowed(&[]),
        [one] => Cow::Borrowed(one),
        [a, b] => Cow::Owned(union(a, b)),
        _ => {
            let mut out: Vec<SeriesRef> = Vec::with_capacity(lists.iter().map(|l| l.len()).sum());
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
pub fn subtract(a: &[SeriesRef], b: &[SeriesRef]) -> Vec<SeriesRef> {
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
        assert_eq!(p.all(), &[1, 2]);
        assert_eq!(p.get("__name__", "up"), &[1, 2]);
        assert_eq!(p.label_names(), vec!["__name__", "job", "x"]);
        assert_eq!(p.label_values("job"), vec!["a", "b"]);
        p.delete(&[(2, b)]);
        assert_eq!(p.label_names(), vec!["__name__", "job"]);
        assert_eq!(p.label_values("job"), vec!["a"]);
        assert_eq!(p.all(), &[1]);
        assert!(p.memory_bytes() > 0);
    }
}
