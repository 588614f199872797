//! `/api/v1/series`, `/api/v1/labels` and `/api/v1/label/<name>/values`: series and label
//! lookups over a time range, with `match[]` selectors, `limit`, and Prometheus's
//! parameter errors.
//!
//! Ranges: Prometheus answers these from whole blocks, so a series is listed when its
//! block overlaps the range. kmon keeps everything in one head, and answers `series`
//! (and label queries that name a range) from the series that have a sample in it.

use std::collections::BTreeSet;

use super::error::ApiError;
use super::params::{Form, MAX_TIME, MIN_TIME, limit_param, time_param};
use super::{Api, Success, json};
use crate::model::{Labels, MatchOp, Matcher};
use crate::storage::{Querier, SelectHints, StorageError};

const TRUNCATED: &str = "results truncated due to limit";

impl Api {
    /// `GET|POST /api/v1/series`.
    pub fn series(&self, form: &Form) -> Result<Success, ApiError> {
        let selectors = form.values("match[]");
        if selectors.is_empty() {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        let limit =
            limit_param(form.value("limit")).map_err(|e| ApiError::invalid_param("limit", e))?;
        let (start, end) = self.range(form)?;
        let sets =
            parse_matcher_sets(&selectors).map_err(|e| ApiError::invalid_param("match[]", e))?;
        let querier = self.querier(start, end)?;
        let mut found: BTreeSet<Labels> = BTreeSet::new();
        for set in &sets {
            for s in querier
                .select(
                    set,
                    &SelectHints {
                        start,
                        end,
                        lazy: false,
                    },
                )
                .map_err(internal)?
            {
                found.insert(s.labels);
            }
        }
        let mut warnings = Vec::new();
        let mut series: Vec<Labels> = found.into_iter().collect();
        if limit > 0 && series.len() > limit {
            series.truncate(limit);
            warnings.push(TRUNCATED.to_string());
        }
        let mut data = String::from("[");
        for (i, l) in series.iter().enumerate() {
            if i > 0 {
                data.push(',');
            }
            json::push_labels(&mut data, l);
        }
        data.push(']');
        Ok(Success {
            data,
            warnings,
            infos: Vec::new(),
        })
    }

    /// `GET|POST /api/v1/labels`.
    pub fn label_names(&self, form: &Form) -> Result<Success, ApiError> {
        let limit =
            limit_param(form.value("limit")).map_err(|e| ApiError::invalid_param("limit", e))?;
        let (start, end) = self.range(form)?;
        let sets = parse_matcher_sets(&form.values("match[]")).map_err(ApiError::bad_data)?;
        let querier = self.querier(start, end)?;
        let whole = start <= MIN_TIME.from_time_ms() && end >= MAX_TIME.from_time_ms();
        let mut names = BTreeSet::new();
        for set in sets_or_all(&sets) {
            let found = if whole {
                querier.label_names(set).map_err(execution)?
            } else {
                let mut v = BTreeSet::new();
                for s in select_all(&*querier, set, start, end)? {
                    v.extend(s.iter().map(|l| l.name.to_string()));
                }
                v.into_iter().collect()
            };
            names.extend(found);
        }
        Ok(list(names, limit))
    }

    /// `GET /api/v1/label/<name>/values`.
    pub fn label_values(&self, name: &str, form: &Form) -> Result<Success, ApiError> {
        let name = unescape_name(name);
        if name.is_empty() {
            return Err(ApiError::bad_data(format!(
                "invalid label name: {}",
                super::params::go_quote(&name)
            )));
        }
        let limit =
            limit_param(form.value("limit")).map_err(|e| ApiError::invalid_param("limit", e))?;
        let (start, end) = self.range(form)?;
        let sets = parse_matcher_sets(&form.values("match[]")).map_err(ApiError::bad_data)?;
        let querier = self.querier(start, end)?;
        let whole = start <= MIN_TIME.from_time_ms() && end >= MAX_TIME.from_time_ms();
        let mut values = BTreeSet::new();
        for set in sets_or_all(&sets) {
            if whole {
                values.extend(querier.label_values(&name, set).map_err(execution)?);
            } else {
                for s in select_all(&*querier, set, start, end)? {
                    if let Some(v) = s.get(&name)
                        && !v.is_empty()
                    {
                        values.insert(v.to_string());
                    }
                }
            }
        }
        Ok(list(values, limit))
    }

    /// `start` and `end` in ms, defaulting to Prometheus's MinTime and MaxTime.
    fn range(&self, form: &Form) -> Result<(i64, i64), ApiError> {
        let start =
            time_param(form, "start", MIN_TIME).map_err(|e| ApiError::invalid_param("start", e))?;
        let end =
            time_param(form, "end", MAX_TIME).map_err(|e| ApiError::invalid_param("end", e))?;
        Ok((start.from_time_ms(), end.from_time_ms()))
    }

    fn querier(&self, start: i64, end: i64) -> Result<Box<dyn Querier + '_>, ApiError> {
        self.inner.storage.querier(start, end).map_err(internal)
    }
}

/// Each `match[]` parsed as a series selector; every set needs a matcher that does not
/// match the empty string.
pub(super) fn parse_matcher_sets(selectors: &[&str]) -> Result<Vec<Vec<Matcher>>, String> {
    let mut sets = Vec::with_capacity(selectors.len());
    for s in selectors {
        let set = crate::promql::parser::parse_metric_selector(s)
            .map_err(|e| super::query::parse_error_text(&e, s))?;
        sets.push(set);
    }
    if sets
        .iter()
        .any(|set| set.iter().all(Matcher::matches_empty))
    {
        return Err("match[] must contain at least one non-empty matcher".into());
    }
    Ok(sets)
}

/// The matcher sets, or one empty set (everything) when there are none.
fn sets_or_all(sets: &[Vec<Matcher>]) -> Vec<&[Matcher]> {
    if sets.is_empty() {
        vec![&[]]
    } else {
        sets.iter().map(Vec::as_slice).collect()
    }
}

/// The label sets of the series matching `set` with a sample in `[start, end]`.
fn select_all(
    querier: &dyn Querier,
    set: &[Matcher],
    start: i64,
    end: i64,
) -> Result<Vec<Labels>, ApiError> {
    let any_name;
    let set = if set.is_empty() {
        any_name = [
            Matcher::new(MatchOp::Regex, crate::model::METRIC_NAME, ".+")
                .map_err(|e| ApiError::new(super::ErrorType::Internal, e.to_string()))?,
        ];
        &any_name[..]
    } else {
        set
    };
    Ok(querier
        .select(
            set,
            &SelectHints {
                start,
                end,
                lazy: false,
            },
        )
        .map_err(execution)?
        .into_iter()
        .map(|s| s.labels)
        .collect())
}

/// A sorted string list, truncated to `limit` with Prometheus's warning.
fn list(items: BTreeSet<String>, limit: usize) -> Success {
    let mut items: Vec<String> = items.into_iter().collect();
    let mut warnings = Vec::new();
    if limit > 0 && items.len() > limit {
        items.truncate(limit);
        warnings.push(TRUNCATED.to_string());
    }
    let mut data = String::new();
    json::push_str_list(&mut data, &items);
    Success {
        data,
        warnings,
        infos: Vec::new(),
    }
}

fn internal(e: StorageError) -> ApiError {
    ApiError::new(super::ErrorType::Internal, e.to_string())
}

fn execution(e: StorageError) -> ApiError {
    ApiError::new(super::ErrorType::Execution, e.to_string())
}

/// A label name from the URL path: `U__` names are in Prometheus's value-encoding escape
/// (`_` for `__`, `_<hex>_` for a code point); anything malformed is taken as written.
pub fn unescape_name(name: &str) -> String {
    let Some(escaped) = name.strip_prefix("U__") else {
        return name.to_string();
    };
    let b = escaped.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'_' {
            // Copy one whole character.
            let ch_len = escaped[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&escaped[i..i + ch_len]);
            i += ch_len;
            continue;
        }
        i += 1;
        match b.get(i) {
            None => return name.to_string(),
            Some(b'_') => {
                out.push('_');
                i += 1;
            }
            Some(_) => {
                // Prometheus gives up after five hex digits without the closing `_`.
                let close = match b[i..].iter().take(6).position(|c| *c == b'_') {
                    Some(n) if n > 0 => i + n,
                    _ => return name.to_string(),
                };
                let hex = &escaped[i..close];
                let Some(c) = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) else {
                    return name.to_string();
                };
                out.push(c);
                i = close + 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_label_names_are_decoded() {
        assert_eq!(unescape_name("job"), "job");
        assert_eq!(unescape_name("U__my_2e_label"), "my.label");
        assert_eq!(unescape_name("U__a__b"), "a_b");
        assert_eq!(unescape_name("U__caf_e9_"), "café");
        assert_eq!(unescape_name("U__bad_zz_"), "U__bad_zz_");
        assert_eq!(unescape_name("U__open_2e"), "U__open_2e");
        assert_eq!(unescape_name("U__trail_"), "U__trail_");
    }
}
