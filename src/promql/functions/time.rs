//! The calendar functions (`year`, `month`, `day_of_month`, `day_of_week`, `day_of_year`,
//! `days_in_month`, `hour`, `minute`), in UTC. A value is read as Unix seconds the way
//! Prometheus (Go on amd64) converts it: truncated to an integer, with NaN, ±Inf and
//! out-of-range values becoming the smallest 64-bit integer, and the calendar arithmetic
//! wraps as Go's does, so even those give Prometheus's answers.

use crate::model::Labels;

use super::{FnCtx, sample};
use crate::promql::value::{Vector, VectorSample};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DatePart {
    Year,
    Month,
    DayOfMonth,
    DayOfWeek,
    DayOfYear,
    DaysInMonth,
    Hour,
    Minute,
}

impl DatePart {
    pub(super) fn from_name(name: &str) -> Option<DatePart> {
        Some(match name {
            "year" => DatePart::Year,
            "month" => DatePart::Month,
            "day_of_month" => DatePart::DayOfMonth,
            "day_of_week" => DatePart::DayOfWeek,
            "day_of_year" => DatePart::DayOfYear,
            "days_in_month" => DatePart::DaysInMonth,
            "hour" => DatePart::Hour,
            "minute" => DatePart::Minute,
            _ => return None,
        })
    }
}

/// The function without an argument: the evaluation time, one sample without labels.
pub(super) fn date_of_eval_time(part: DatePart, ctx: &FnCtx<'_>) -> Vector {
    let v = date_part(part, ctx.ts / 1000);
    vec![sample(Labels::empty(), v, false, ctx)]
}

/// The function of each value (Unix seconds); the metric name is dropped.
pub(super) fn date_of_values(part: DatePart, input: &[VectorSample], ctx: &FnCtx<'_>) -> Vector {
    input
        .iter()
        .map(|s| {
            sample(
                s.metric.clone(),
                date_part(part, go_f64_to_i64(s.f)),
                true,
                ctx,
            )
        })
        .collect()
}

/// Go's `int64(f)` on amd64: truncation, and the "integer indefinite" value (the smallest
/// int64) for NaN and anything outside the range.
fn go_f64_to_i64(f: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if f.is_nan() || !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// Years between the calendar's zero (a March 1st long ago, a multiple of 400 years
/// before year 0) and year 0. The same epoch as Go's, so wrapped values agree.
const ABSOLUTE_YEARS: u64 = 292_277_022_400;
/// Days from March 1 through December 31.
const MARCH_THRU_DECEMBER: u32 = 306;
/// Seconds from the calendar's zero to the Unix epoch.
const UNIX_TO_ABSOLUTE: i64 = ((ABSOLUTE_YEARS / 400 * 146_097 + MARCH_THRU_DECEMBER as u64)
    * 86_400) as i64
    + (1969 * 365 + 1969 / 4 - 1969 / 100 + 1969 / 400) * 86_400;

/// A broken-down UTC date.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    /// 1-based.
    yday: u32,
    /// Sunday = 0.
    weekday: u32,
    hour: u32,
    minute: u32,
}

fn civil(unix_seconds: i64) -> Civil {
    let abs = unix_seconds.wrapping_add(UNIX_TO_ABSOLUTE) as u64;
    let days = abs / 86_400;
    // Split the days into centuries, years of the century and days of the (March-based)
    // year: the calendrical divisions of Neri and Schneider.
    let d = days.wrapping_mul(4).wrapping_add(3);
    let century = d / 146_097;
    let century_day4 = (d % 146_097) as u32 | 3;
    let cyear = century_day4 / 1461;
    let ayday = century_day4 % 1461 / 4;
    let amonth = (5 * ayday + 461) / 153;
    let mday = (5 * ayday + 461) % 153 / 5 + 1;
    let jan_feb = u32::from(ayday >= MARCH_THRU_DECEMBER);
    let leap = cyear.is_multiple_of(4) && (cyear != 0 || century.is_multiple_of(4));
    let year = (century.wrapping_mul(100).wrapping_sub(ABSOLUTE_YEARS) as i64)
        .wrapping_add(i64::from(cyear))
        .wrapping_add(i64::from(jan_feb));
    let yday = if jan_feb == 1 {
        ayday + 1 + 31 + 28 - 365
    } else {
        ayday + 1 + 31 + 28 + u32::from(leap)
    };
    Civil {
        year,
        month: amonth - 12 * jan_feb,
        day: mday,
        yday,
        // The calendar's zero was a Wednesday.
        weekday: ((days % 7 + 3) % 7) as u32,
        hour: (abs % 86_400 / 3_600) as u32,
        minute: (abs % 3_600 / 60) as u32,
    }
}

fn date_part(part: DatePart, unix_seconds: i64) -> f64 {
    let c = civil(unix_seconds);
    let v = match part {
        DatePart::Year => return c.year as f64,
        DatePart::Month => c.month,
        DatePart::DayOfMonth => c.day,
        DatePart::DayOfWeek => c.weekday,
        DatePart::DayOfYear => c.yday,
        DatePart::DaysInMonth => days_in_month(c.year, c.month),
        DatePart::Hour => c.hour,
        DatePart::Minute => c.minute,
    };
    f64::from(v)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 => {
            let leap =
                year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0);
            if leap { 29 } else { 28 }
        }
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(secs: i64) -> [f64; 8] {
        use DatePart::*;
        [
            Year,
            Month,
            DayOfMonth,
            DayOfWeek,
            DayOfYear,
            DaysInMonth,
            Hour,
            Minute,
        ]
        .map(|p| date_part(p, secs))
    }

    #[test]
    fn ordinary_dates() {
        // 2006-01-02T22:04:05Z, a Monday.
        assert_eq!(all(1_136_239_445), [2006., 1., 2., 1., 2., 31., 22., 4.]);
        // The epoch, a Thursday.
        assert_eq!(all(0), [1970., 1., 1., 4., 1., 31., 0., 0.]);
        // One second before: 1969-12-31T23:59:59Z, a Wednesday.
        assert_eq!(all(-1), [1969., 12., 31., 3., 365., 31., 23., 59.]);
        // 2016-02-29T23:59:59Z and 2016-03-01T00:00:00Z.
        assert_eq!(all(1_456_790_399)[..3], [2016., 2., 29.]);
        assert_eq!(all(1_456_790_400)[..3], [2016., 3., 1.]);
        assert_eq!(date_part(DatePart::DayOfYear, 1_483_191_420), 366.);
        assert_eq!(date_part(DatePart::DayOfYear, 1_672_493_820), 365.);
        assert_eq!(date_part(DatePart::DaysInMonth, 1_454_284_800), 29.);
        assert_eq!(date_part(DatePart::DaysInMonth, 1_485_907_200), 28.);
        // 10000-01-01T00:00:00Z, a Saturday.
        assert_eq!(all(253_402_300_800), [10000., 1., 1., 6., 1., 31., 0., 0.]);
        // -1e11 s: year -1199, Feb 15, 14:13, a Thursday.
        assert_eq!(
            all(-100_000_000_000),
            [-1199., 2., 15., 4., 46., 28., 14., 13.]
        );
    }

    #[test]
    fn out_of_range_values_wrap_like_go() {
        // What Prometheus 3.5 on amd64 answers for NaN, ±Inf and 1e20.
        for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e20] {
            let secs = go_f64_to_i64(f);
            assert_eq!(secs, i64::MIN);
            assert_eq!(
                all(secs),
                [292_277_026_596., 12., 4., 0., 339., 31., 15., 30.]
            );
        }
        assert_eq!(go_f64_to_i64(-1.5), -1);
        assert_eq!(civil(i64::MAX).month, civil(i64::MAX).month);
    }
}
