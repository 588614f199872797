//! A test group's `input_series`, expanded with promqltest's load notation
//! (`promql::promqltest::parse_series_desc`: `a+bxn`, `a-bxn`, `axn`, `_`, `_xn`, `stale`)
//! and appended lazily, as promtool's LazyLoader does: before each evaluation at `ts` the
//! samples at or before `ts` that are not in storage yet are written in one batch through
//! the history appender. A series listed twice keeps its last line.

use crate::model::Labels;
use crate::promql::promqltest::{SeqValue, parse_series_desc};
use crate::storage::Appendable;

use super::format::InputSeries;

/// The input series of one test group with a cursor of what has been appended.
#[derive(Debug, Default)]
pub struct Inputs {
    series: Vec<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    labels: Labels,
    /// (t, v) in time order.
    samples: Vec<(i64, f64)>,
    /// How many of `samples` are in storage.
    next: usize,
}

impl Inputs {
    /// Expands the series with samples `interval` ms apart from time 0. The error names the
    /// item (1-based, and its line in the file) and the column of the problem.
    pub fn parse(items: &[InputSeries], interval: i64) -> Result<Inputs, String> {
        let mut series: Vec<Loaded> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            // promtool joins the two fields into one `load` line; so do we.
            let line = format!("{} {}", item.series, item.values);
            let desc = parse_series_desc(&line).map_err(|e| {
                format!(
                    "input_series[{i}] (line {}): {:?}: {}",
                    item.line,
                    line.trim(),
                    e
                )
            })?;
            if desc.has_histograms() {
                return Err(format!(
                    "input_series[{i}] (line {}): native histogram values are not supported by kmon yet",
                    item.line
                ));
            }
            let mut samples = Vec::with_capacity(desc.values.len());
            for (k, v) in desc.values.iter().enumerate() {
                let t = i64::try_from(k)
                    .ok()
                    .and_then(|k| k.checked_mul(interval))
                    .ok_or_else(|| {
                        format!(
                            "input_series[{i}] (line {}): timestamp out of range",
                            item.line
                        )
                    })?;
                if let SeqValue::Float(f) = v {
                    samples.push((t, *f));
                }
            }
            series.retain(|s| s.labels != desc.labels);
            series.push(Loaded {
                labels: desc.labels,
                samples,
                next: 0,
            });
        }
        Ok(Inputs { series })
    }

    /// Appends every sample at or before `ts` not appended yet, in one batch.
    pub fn append_till(&mut self, a: &dyn Appendable, ts: i64) -> Result<(), String> {
        let mut app = a.history_appender();
        for s in &mut self.series {
            while let Some(&(t, v)) = s.samples.get(s.next) {
                if t > ts {
                    break;
                }
                app.append(None, &s.labels, t, v)
                    .map_err(|e| e.to_string())?;
                s.next += 1;
            }
        }
        app.commit().map_err(|e| e.to_string())
    }

    /// The input series' labels, in the order they were listed.
    pub fn labels(&self) -> impl Iterator<Item = &Labels> {
        self.series.iter().map(|s| &s.labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Matcher, is_stale_nan};
    use crate::storage::{MemStorage, Queryable, SelectHints};

    fn item(series: &str, values: &str) -> InputSeries {
        InputSeries {
            series: series.into(),
            values: values.into(),
            line: 1,
        }
    }

    fn dump(m: &MemStorage) -> Vec<(String, Vec<(i64, f64)>)> {
        m.dump()
            .into_iter()
            .map(|(l, s)| (l.to_string(), s.iter().map(|s| (s.t, s.v)).collect()))
            .collect()
    }

    #[test]
    fn samples_arrive_up_to_each_time_only() {
        let items = [
            item("up{job=\"a\"}", "1+1x3"),
            item("down", "_ 5 _x2 7"),
            item("up{job=\"a\"}", "0 0"),
        ];
        let mut inp = Inputs::parse(&items, 60_000).expect("parses");
        assert_eq!(inp.labels().count(), 2);
        let m = MemStorage::new();
        inp.append_till(&m, 60_000).expect("appends");
        let d = dump(&m);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].1, vec![(60_000, 5.0)]);
        assert_eq!(d[1].1, vec![(0, 0.0), (60_000, 0.0)]);
        inp.append_till(&m, 10 * 60_000).expect("appends");
        assert_eq!(dump(&m)[0].1, vec![(60_000, 5.0), (240_000, 7.0)]);
        // Nothing is appended twice.
        inp.append_till(&m, 10 * 60_000).expect("appends again");
        assert_eq!(dump(&m)[0].1.len(), 2);
        let q = m.querier(0, i64::MAX).expect("querier");
        let sel = q
            .select(
                &[Matcher::equal("__name__", "down")],
                &SelectHints {
                    start: 0,
                    end: i64::MAX,
                    lazy: false,
                },
            )
            .expect("select");
        assert_eq!(sel.len(), 1);
    }

    #[test]
    fn stale_markers_are_appended() {
        let mut inp = Inputs::parse(&[item("x", "1 stale 2")], 1000).expect("parses");
        let m = MemStorage::new();
        inp.append_till(&m, 5000).expect("appends");
        let d = m.dump();
        assert!(is_stale_nan(d[0].1[1].v));
        assert_eq!(d[0].1[2].t, 2000);
    }

    #[test]
    fn bad_lines_name_the_item() {
        let e = Inputs::parse(&[item("x", "1"), item("y{", "1")], 1000).unwrap_err();
        assert!(e.starts_with("input_series[1] (line 1): "), "{e}");
        let e = Inputs::parse(&[item("x", "1 a")], 1000).unwrap_err();
        assert!(e.contains("column"), "{e}");
        let e = Inputs::parse(&[item("x", "{{schema:1 sum:1}}")], 1000).unwrap_err();
        assert!(e.contains("native histogram"), "{e}");
    }
}
