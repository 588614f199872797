//! The functions a Prometheus alert template can call: Go's text/template builtins (`and`,
//! `or`, `not`, `len`, `index`, `slice`, `print`, `printf`, `println`, `html`, `js`,
//! `urlquery`, `eq` ... `ge`) and Prometheus 3.5's template.go set (`query`, `first`,
//! `label`, `value`, `humanize*`, `title`, `reReplaceAll`, `graphLink`, ...), each with its
//! Go parameter types so `exec` can check arguments as Go does. `parse` asks `is_function`.

use std::rc::Rc;

use super::QueryFn;
use super::builtins::{eq, eval_args, html_escape, index, js_escape, length, lt, slice};
use super::gofmt::{go_quote, sprint, sprintf, sprintln};
use super::humanize;
use super::value::{SampleV, Value, write_v};

/// A Go parameter type, as far as template argument checking needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum P {
    Str,
    /// interface{}
    Any,
    /// reflect.Value (builtins): missing values stay missing.
    RValue,
    /// template.queryResult
    Samples,
    /// *template.sample
    Sample,
}

impl P {
    pub fn name(self) -> &'static str {
        match self {
            P::Str => "string",
            P::Any => "interface {}",
            P::RValue => "reflect.Value",
            P::Samples => "template.queryResult",
            P::Sample => "*template.sample",
        }
    }

    pub fn can_be_nil(self) -> bool {
        matches!(self, P::Any | P::RValue | P::Samples | P::Sample)
    }
}

/// A function's parameters: fixed ones, then an optional variadic one.
pub(crate) struct Sig {
    pub fixed: &'static [P],
    pub variadic: Option<P>,
}

const fn sig(fixed: &'static [P], variadic: Option<P>) -> Sig {
    Sig { fixed, variadic }
}

/// The signature of function `name`, or `None` when no such function exists.
pub(crate) fn signature(name: &str) -> Option<Sig> {
    use P::*;
    Some(match name {
        "and" | "or" => sig(&[RValue], Some(RValue)),
        "call" => sig(&[RValue], Some(RValue)),
        "html" | "js" | "urlquery" | "print" | "println" => sig(&[], Some(Any)),
        "index" | "slice" => sig(&[RValue], Some(RValue)),
        "len" | "not" => sig(&[RValue], None),
        "printf" => sig(&[Str], Some(Any)),
        "eq" => sig(&[RValue], Some(RValue)),
        "ne" | "lt" | "le" | "gt" | "ge" => sig(&[RValue, RValue], None),
        "query" => sig(&[Str], None),
        "first" => sig(&[Samples], None),
        "label" => sig(&[Str, Sample], None),
        "value" | "strvalue" => sig(&[Sample], None),
        "args" => sig(&[], Some(Any)),
        "reReplaceAll" => sig(&[Str, Str, Str], None),
        "safeHtml" | "title" | "toUpper" | "toLower" | "graphLink" | "tableLink" | "stripPort"
        | "stripDomain" | "parseDuration" => sig(&[Str], None),
        "match" => sig(&[Str, Str], None),
        "sortByLabel" => sig(&[Str, Samples], None),
        "humanize" | "humanize1024" | "humanizeDuration" | "humanizePercentage"
        | "humanizeTimestamp" | "toTime" => sig(&[Any], None),
        "pathPrefix" | "externalURL" => sig(&[], None),
        _ => return None,
    })
}

/// Whether `name` is a function templates may call (checked at parse time, as Go does).
pub(crate) fn is_function(name: &str) -> bool {
    signature(name).is_some()
}

/// What functions may reach: the query engine and the external URL.
pub(crate) struct Env<'a> {
    pub query: &'a dyn QueryFn,
    pub external_url: &'a str,
}

const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

fn s(v: &Value) -> &str {
    match v {
        Value::Str(s) => s,
        _ => "",
    }
}

fn sample(v: &Value) -> Result<&SampleV, String> {
    match v {
        Value::Sample(s) => Ok(s),
        _ => Err(NIL_DEREF.into()),
    }
}

/// Calls function `name` (not `and`/`or`, which `exec` evaluates lazily) with arguments
/// already checked against its signature.
pub(crate) fn call(name: &str, a: &[Value], env: &Env) -> Result<Value, String> {
    let arg = |i: usize| a.get(i).unwrap_or(&Value::Invalid);
    Ok(match name {
        "not" => Value::Bool(!arg(0).truth()),
        "len" => length(arg(0))?,
        "index" => index(arg(0), &a[1.min(a.len())..])?,
        "slice" => slice(arg(0), &a[1.min(a.len())..])?,
        "print" => Value::str(&sprint(a)),
        "println" => Value::str(&sprintln(a)),
        "printf" => Value::str(&sprintf(s(arg(0)), &a[1.min(a.len())..])),
        "html" => Value::str(&html_escape(&eval_args(a))),
        "js" => Value::str(&js_escape(&eval_args(a))),
        "urlquery" => Value::str(&query_escape(&eval_args(a))),
        "call" => {
            return Err(match arg(0) {
                Value::Invalid | Value::Nil => "call of nil".into(),
                v => {
                    let mut t = String::new();
                    write_v(&mut t, v, 0);
                    format!("non-function {t} of type {}", v.type_name())
                }
            });
        }
        "eq" => Value::Bool(eq(arg(0), &a[1.min(a.len())..])?),
        "ne" => Value::Bool(!eq(arg(0), &a[1.min(a.len())..])?),
        "lt" => Value::Bool(lt(arg(0), arg(1))?),
        "le" => Value::Bool(lt(arg(0), arg(1))? || eq(arg(0), &a[1..])?),
        "gt" => Value::Bool(!(lt(arg(0), arg(1))? || eq(arg(0), &a[1..])?)),
        "ge" => Value::Bool(!lt(arg(0), arg(1))?),
        "query" => {
            let res = env.query.query(s(arg(0)))?;
            let v = res
                .into_iter()
                .map(|smp| {
                    Rc::new(SampleV {
                        labels: Rc::new(
                            smp.labels
                                .iter()
                                .map(|l| (l.name.to_string(), l.value.to_string()))
                                .collect(),
                        ),
                        value: smp.value,
                    })
                })
                .collect();
            Value::Samples(Rc::new(v))
        }
        "first" => match arg(0) {
            Value::Samples(v) if !v.is_empty() => Value::Sample(v[0].clone()),
            _ => return Err("first() called on vector with no elements".into()),
        },
        "label" => {
            let smp = sample(arg(1))?;
            Value::str(smp.labels.get(s(arg(0))).map_or("", String::as_str))
        }
        "value" => Value::Float(sample(arg(0))?.value),
        "strvalue" => {
            let smp = sample(arg(0))?;
            Value::str(smp.labels.get("__value__").map_or("", String::as_str))
        }
        "args" => Value::AnyMap(Rc::new(
            a.iter()
                .enumerate()
                .map(|(i, v)| (format!("arg{i}"), v.clone()))
                .collect(),
        )),
        "reReplaceAll" => {
            let re = regex::Regex::new(s(arg(0))).map_err(|e| {
                format!(
                    "regexp: Compile({}): {}",
                    re_quote(s(arg(0))),
                    regex_err(s(arg(0)), &e)
                )
            })?;
            Value::str(&re.replace_all(s(arg(2)), s(arg(1))))
        }
        "match" => {
            let re = regex::Regex::new(s(arg(0))).map_err(|e| regex_err(s(arg(0)), &e))?;
            Value::Bool(re.is_match(s(arg(1))))
        }
        "safeHtml" => Value::Html(Rc::from(s(arg(0)))),
        "title" => Value::str(&title(s(arg(0)))),
        "toUpper" => Value::str(&map_chars(s(arg(0)), true)),
        "toLower" => Value::str(&map_chars(s(arg(0)), false)),
        "graphLink" => Value::str(&format!(
            "/graph?g0.expr={}&g0.tab=0",
            query_escape(s(arg(0)))
        )),
        "tableLink" => Value::str(&format!(
            "/graph?g0.expr={}&g0.tab=1",
            query_escape(s(arg(0)))
        )),
        "sortByLabel" => {
            let by = s(arg(0));
            let mut v: Vec<Rc<SampleV>> = match arg(1) {
                Value::Samples(v) => v.as_ref().clone(),
                _ => Vec::new(),
            };
            v.sort_by(|x, y| {
                let k = |s: &SampleV| s.labels.get(by).cloned().unwrap_or_default();
                k(x).cmp(&k(y))
            });
            Value::Samples(Rc::new(v))
        }
        "stripPort" => {
            let hp = s(arg(0));
            Value::str(split_host_port(hp).map_or(hp, |(h, _)| h))
        }
        "stripDomain" => Value::str(&strip_domain(s(arg(0)))),
        "humanize" => Value::str(&humanize::humanize(arg(0))?),
        "humanize1024" => Value::str(&humanize::humanize1024(arg(0))?),
        "humanizeDuration" => Value::str(&humanize::humanize_duration(arg(0))?),
        "humanizePercentage" => Value::str(&humanize::humanize_percentage(arg(0))?),
        "humanizeTimestamp" => Value::str(&humanize::humanize_timestamp(arg(0))?),
        "toTime" => humanize::to_time(arg(0))?,
        "pathPrefix" | "externalURL" => {
            if env.external_url.is_empty() {
                return Err(NIL_DEREF.into());
            }
            if name == "externalURL" {
                Value::str(env.external_url)
            } else {
                Value::str(url_path(env.external_url))
            }
        }
        "parseDuration" => {
            let d = crate::model::parse_duration(s(arg(0))).map_err(|e| e.to_string())?;
            Value::Float(d.as_secs_f64())
        }
        _ => return Err(format!("function {} not defined", go_quote(name))),
    })
}

fn re_quote(s: &str) -> String {
    if !s.contains('`')
        && s.chars()
            .all(|c| c == '\t' || (super::gofmt::is_print(c) && c != '\u{feff}'))
    {
        format!("`{s}`")
    } else {
        go_quote(s)
    }
}

/// A regexp error in Go's words as far as the common cases go.
fn regex_err(pattern: &str, e: &regex::Error) -> String {
    let msg = e.to_string();
    let what = if msg.contains("unclosed group") {
        format!("missing closing ): {}", re_quote(pattern))
    } else if msg.contains("unopened group") {
        format!("unexpected ): {}", re_quote(pattern))
    } else if msg.contains("unclosed character class") {
        format!(
            "missing closing ]: {}",
            re_quote(&pattern[pattern.rfind('[').unwrap_or(0)..])
        )
    } else if msg.contains("repetition operator missing expression") {
        format!(
            "missing argument to repetition operator: {}",
            re_quote(pattern)
        )
    } else {
        let last = msg
            .lines()
            .rev()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("error: invalid regexp");
        format!(
            "{}: {}",
            last.trim_start_matches("error: "),
            re_quote(pattern)
        )
    };
    format!("error parsing regexp: {what}")
}

/// Go's `strings.ToUpper`/`ToLower`: rune by rune, keeping runes whose case mapping is
/// not a single rune.
fn map_chars(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mut m: Vec<char> = if upper {
                c.to_uppercase().collect()
            } else {
                c.to_lowercase().collect()
            };
            if m.len() == 1 { m.remove(0) } else { c }
        })
        .collect()
}

/// x/text/cases Title with NoLower: the first cased letter of each word is upper-cased;
/// the rest is left alone. `'`, `.` and `:` inside a word do not end it, and `_` and
/// digits neither start nor end one (`1st` → `1St`, `__name__` → `__Name__`).
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut started = false;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            // A connector neither starts nor ends a word, as x/text/cases treats it.
            out.push(c);
            continue;
        }
        if c.is_lowercase() || c.is_uppercase() {
            if started {
                out.push(c);
            } else {
                out.extend(c.to_uppercase());
                started = true;
            }
            continue;
        }
        out.push(c);
        let mid_word = matches!(c, '\'' | '.' | ':' | '_' | '\u{2019}')
            && i > 0
            && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_alphanumeric() || *n == '_');
        if !c.is_alphanumeric() && !mid_word {
            started = false;
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn url_path(u: &str) -> &str {
    let after = u.find("://").map_or(u, |i| &u[i + 3..]);
    let path = after.find('/').map_or("", |i| &after[i..]);
    let end = path.find(['?', '#']).unwrap_or(path.len());
    &path[..end]
}

/// Go's `net.SplitHostPort`.
pub(crate) fn split_host_port(hp: &str) -> Option<(&str, &str)> {
    let i = hp.rfind(':')?;
    let host = if let Some(rest) = hp.strip_prefix('[') {
        let end = rest.find(']')? + 1;
        if end + 1 != i {
            return None;
        }
        &hp[1..end]
    } else {
        let h = &hp[..i];
        if h.contains([':', '[', ']']) {
            return None;
        }
        h
    };
    let port = &hp[i + 1..];
    if port.contains(['[', ']']) || hp[..i].matches('[').count() > 1 {
        return None;
    }
    Some((host, port))
}

fn strip_domain(hp: &str) -> String {
    let (host, port) = split_host_port(hp).unwrap_or((hp, ""));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return hp.to_string();
    }
    let host = host.split('.').next().unwrap_or("");
    if port.is_empty() {
        host.to_string()
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
