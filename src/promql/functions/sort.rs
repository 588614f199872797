//! `sort`, `sort_desc` (by value) and `sort_by_label`, `sort_by_label_desc` (natural
//! order of label values). They reorder samples and leave labels and the name-dropping
//! mark as they are.

use std::cmp::Ordering;

use crate::promql::value::{Vector, VectorSample};

/// By value, ascending or descending, NaNs last either way. Samples with equal values
/// keep their order; NaNs end up in reverse order, as Go's insertion sort leaves them for
/// the small vectors Prometheus sorts that way.
pub(super) fn by_value(input: &[VectorSample], descending: bool) -> Vector {
    let (mut numbers, nans): (Vector, Vector) = input.iter().cloned().partition(|s| !s.f.is_nan());
    numbers.sort_by(|a, b| {
        let o = a.f.partial_cmp(&b.f).unwrap_or(Ordering::Equal);
        if descending { o.reverse() } else { o }
    });
    numbers.extend(nans.into_iter().rev());
    numbers
}

/// By the values of `names` in natural order (numbers within values compare as
/// numbers), then by the whole label set; `descending` reverses the order.
///
/// Prometheus's comparison is not a consistent order when a value is missing (empty) or
/// two values differ only in leading zeros, so its result then depends on the sorting
/// algorithm. For up to 12 samples Go sorts by insertion, which is repeated here with
/// Prometheus's comparison, so even those cases come out the same; larger vectors are
/// sorted by a consistent refinement of it.
pub(super) fn by_label(input: &[VectorSample], names: &[&str], descending: bool) -> Vector {
    let mut out = input.to_vec();
    if out.len() <= 12 {
        let before =
            |a: &VectorSample, b: &VectorSample| go_label_cmp(a, b, names, descending).is_lt();
        for i in 1..out.len() {
            let mut j = i;
            while j > 0 && before(&out[j], &out[j - 1]) {
                out.swap(j, j - 1);
                j -= 1;
            }
        }
        return out;
    }
    out.sort_by(|a, b| {
        let o = names
            .iter()
            .map(|n| {
                let (x, y) = (a.metric.get(n).unwrap_or(""), b.metric.get(n).unwrap_or(""));
                if x == y {
                    Ordering::Equal
                } else {
                    natural_cmp(x, y)
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.metric.cmp(&b.metric));
        if descending { o.reverse() } else { o }
    });
    out
}

/// Prometheus's comparison of two samples for `sort_by_label(_desc)`: the first label
/// whose values differ decides by `go_natsort_less` (never "equal"); then the label sets.
fn go_label_cmp(a: &VectorSample, b: &VectorSample, names: &[&str], descending: bool) -> Ordering {
    for n in names {
        let (x, y) = (a.metric.get(n).unwrap_or(""), b.metric.get(n).unwrap_or(""));
        if x == y {
            continue;
        }
        let less = go_natsort_less(x, y);
        return if less != descending {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    let o = a.metric.cmp(&b.metric);
    if descending { o.reverse() } else { o }
}

/// The natural-order "less" of the Go library Prometheus 3.5 uses, quirks included: a
/// value that runs out of runs while equal so far is "less" even when the other one ends
/// too (so `01` and `1` are each less than the other), and an empty value is never less.
fn go_natsort_less(a: &str, b: &str) -> bool {
    let ra: Vec<&[u8]> = Runs(a.as_bytes()).collect();
    let rb: Vec<&[u8]> = Runs(b.as_bytes()).collect();
    for (i, x) in ra.iter().enumerate() {
        let Some(y) = rb.get(i) else {
            return false;
        };
        let equal = match (go_atoi(x), go_atoi(y)) {
            (Some(p), Some(q)) if p != q => return p < q,
            (Some(_), Some(_)) => true,
            _ if x == y => true,
            _ => return x < y,
        };
        if equal {
            if i == ra.len() - 1 {
                return true;
            }
            if i == rb.len() - 1 {
                return false;
            }
        }
    }
    false
}

/// Go's `strconv.Atoi` of a run: its value when it is all digits and fits in an i64.
fn go_atoi(run: &[u8]) -> Option<i64> {
    if !is_digits(run) {
        return None;
    }
    std::str::from_utf8(run).ok()?.parse().ok()
}

/// Natural order as Prometheus's sort_by_label has it: the values are cut into runs of
/// ASCII digits and runs of other bytes; two digit runs compare as numbers, anything
/// else byte-wise; when one value runs out of runs first it sorts first. Unlike the Go
/// library, ties that are not byte-equal (`01` and `1`) and the empty value get a
/// consistent place (by bytes), so that the order is total.
pub(super) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut ra, mut rb) = (Runs(a.as_bytes()), Runs(b.as_bytes()));
    loop {
        match (ra.next(), rb.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = if is_digits(x) && is_digits(y) {
                    numeric_cmp(x, y)
                } else {
                    x.cmp(y)
                };
                if o.is_ne() {
                    return o;
                }
            }
        }
    }
}

fn is_digits(run: &[u8]) -> bool {
    run.first().is_some_and(u8::is_ascii_digit)
}

/// Compares two runs of digits by their numeric value, of any length.
fn numeric_cmp(x: &[u8], y: &[u8]) -> Ordering {
    let strip = |r: &[u8]| -> usize { r.iter().take_while(|&&c| c == b'0').count() };
    let (x, y) = (&x[strip(x)..], &y[strip(y)..]);
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

/// The maximal runs of ASCII digits and of other bytes of a string.
struct Runs<'a>(&'a [u8]);

impl<'a> Iterator for Runs<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let first = *self.0.first()?;
        let digits = first.is_ascii_digit();
        let len = self
            .0
            .iter()
            .position(|c| c.is_ascii_digit() != digits)
            .unwrap_or(self.0.len());
        let (run, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(run)
    }
}
