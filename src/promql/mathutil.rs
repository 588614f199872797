//! Numeric helpers shared by aggregations and `*_over_time` functions.

/// One step of Neumaier-compensated summation: adds `inc` to `sum` with compensation `c`
/// and returns the new `(sum, c)`. The true sum is `sum + c`. Once the sum is infinite
/// the compensation is dropped, so it cannot turn an infinity into NaN.
pub fn kahan_sum_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    if t.is_infinite() {
        (t, 0.0)
    } else if sum.abs() >= inc.abs() {
        (t, c + ((sum - t) + inc))
    } else {
        (t, c + ((inc - t) + sum))
    }
}

/// The φ-quantile of `values` as PromQL's `quantile` and `quantile_over_time` compute it:
/// linear interpolation between the closest ranks of the sorted values. `values` is
/// sorted in place, NaNs first (Prometheus's order: a NaN sorts below every number, so
/// `quantile(0, …)` of values holding a NaN is NaN). NaN for an empty slice or a NaN `q`;
/// −Inf for q < 0; +Inf for q > 1.
pub fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensated_sum_keeps_small_terms() {
        let (mut s, mut c) = (0.0, 0.0);
        for x in [1e100, 1.0, -1e100] {
            (s, c) = kahan_sum_inc(x, s, c);
        }
        assert_eq!(s + c, 1.0);
        let (s, c) = kahan_sum_inc(f64::INFINITY, 1.0, 0.5);
        assert!(s.is_infinite() && c == 0.0);
    }

    #[test]
    fn quantile_interpolates_between_ranks() {
        assert_eq!(quantile(0.5, &mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(quantile(0.0, &mut [3.0, 1.0]), 1.0);
        assert_eq!(quantile(1.0, &mut [3.0, 1.0]), 3.0);
        assert_eq!(quantile(-1.0, &mut [1.0]), f64::NEG_INFINITY);
        assert_eq!(quantile(2.0, &mut [1.0]), f64::INFINITY);
        assert!(quantile(0.5, &mut []).is_nan());
    }

    #[test]
    fn quantile_sorts_nans_first_as_prometheus() {
        // Prometheus 3.5: quantile_over_time(0, …) of NaN 1 2 3 is NaN, (0.5, …) is 1.5.
        assert!(quantile(0.0, &mut [1.0, f64::NAN, 2.0, 3.0]).is_nan());
        assert_eq!(quantile(0.5, &mut [3.0, 2.0, f64::NAN, 1.0]), 1.5);
        assert_eq!(quantile(1.0, &mut [f64::NAN, 1.0]), 1.0);
    }
}
