//! The values a template computes with, modelled on the Go types Prometheus's templates
//! see (float64, int, string, map[string]string, the query result, `*time.Time`, ...), with
//! their Go type names for error messages, Go's truthiness, and Go's `%v` printing. `exec`,
//! `funcs` and `gofmt` share them.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::model::format_go_float;

/// One query result sample: `.Labels` (a map) and `.Value` (a float).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SampleV {
    pub labels: Rc<BTreeMap<String, String>>,
    pub value: f64,
}

/// The alert template data (`.Labels`, `.ExternalLabels`, `.ExternalURL`, `.Value`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DataV {
    pub labels: Rc<BTreeMap<String, String>>,
    pub external_labels: Rc<BTreeMap<String, String>>,
    pub external_url: Rc<str>,
    pub value: f64,
}

/// A UTC instant: seconds and nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TimeV {
    pub secs: i64,
    pub nanos: u32,
}

pub(crate) const DATA_TYPE: &str = "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }";

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// Go's invalid reflect.Value: a missing value, printed as `<no value>`.
    Invalid,
    /// A nil interface{} (prints `<nil>` inside fmt).
    Nil,
    Bool(bool),
    /// Go `int`.
    Int(i64),
    /// Go `int64` (time methods).
    Int64(i64),
    /// Go `uint8` (a byte from indexing a string).
    Uint8(u8),
    Float(f64),
    Complex(f64, f64),
    Str(Rc<str>),
    /// html/template.HTML from safeHtml.
    Html(Rc<str>),
    /// map[string]string.
    StrMap(Rc<BTreeMap<String, String>>),
    /// map[string]interface{} (from args).
    AnyMap(Rc<BTreeMap<String, Value>>),
    /// template.queryResult ([]*sample).
    Samples(Rc<Vec<Rc<SampleV>>>),
    /// *template.sample.
    Sample(Rc<SampleV>),
    /// *time.Time (from toTime).
    TimePtr(TimeV),
    /// time.Time (from a method such as UTC).
    Time(TimeV),
    /// The alert data struct (the template's dot).
    Data(Rc<DataV>),
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }

    /// The Go type name, as `%T` and error messages print it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Invalid | Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Uint8(_) => "uint8",
            Value::Float(_) => "float64",
            Value::Complex(..) => "complex128",
            Value::Str(_) => "string",
            Value::Html(_) => "template.HTML",
            Value::StrMap(_) => "map[string]string",
            Value::AnyMap(_) => "map[string]interface {}",
            Value::Samples(_) => "template.queryResult",
            Value::Sample(_) => "*template.sample",
            Value::TimePtr(_) => "*time.Time",
            Value::Time(_) => "time.Time",
            Value::Data(_) => DATA_TYPE,
        }
    }

    /// Go's truth: false, 0, nil, and empty strings, maps and slices are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Invalid | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Uint8(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::Complex(r, i) => *r != 0.0 || *i != 0.0,
            Value::Str(s) | Value::Html(s) => !s.is_empty(),
            Value::StrMap(m) => !m.is_empty(),
            Value::AnyMap(m) => !m.is_empty(),
            Value::Samples(v) => !v.is_empty(),
            Value::Sample(_) | Value::TimePtr(_) | Value::Time(_) | Value::Data(_) => true,
        }
    }

    /// The type Go reports after dereferencing a pointer (`len`, `index`, `slice`).
    pub fn elem_type_name(&self) -> &'static str {
        match self {
            Value::Sample(_) => "template.sample",
            Value::TimePtr(_) => "time.Time",
            v => v.type_name(),
        }
    }

    /// The length for `len`, or `None` for types without one.
    pub fn len(&self) -> Option<usize> {
        match self {
            Value::Str(s) | Value::Html(s) => Some(s.len()),
            Value::StrMap(m) => Some(m.len()),
            Value::AnyMap(m) => Some(m.len()),
            Value::Samples(v) => Some(v.len()),
            _ => None,
        }
    }
}

/// Go's `%v` of a value at nesting `depth` (0 at the top of a Print argument). Pointers
/// below the top print as addresses, as Go does; the addresses here are stand-ins.
pub(crate) fn write_v(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Invalid => out.push_str("<invalid reflect.Value>"),
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Uint8(u) => out.push_str(&u.to_string()),
        Value::Float(f) => out.push_str(&format_go_float(*f)),
        Value::Complex(r, i) => {
            out.push('(');
            out.push_str(&format_go_float(*r));
            let im = format_go_float(*i);
            if !im.starts_with(['+', '-']) {
                out.push('+');
            }
            out.push_str(&im);
            out.push_str("i)");
        }
        Value::Str(s) | Value::Html(s) => out.push_str(s),
        Value::StrMap(m) => {
            out.push_str("map[");
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                out.push_str(v);
            }
            out.push(']');
        }
        Value::AnyMap(m) => {
            out.push_str("map[");
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_v(out, v, depth + 1);
            }
            out.push(']');
        }
        Value::Samples(s) => {
            out.push('[');
            for (i, smp) in s.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&fake_addr(smp));
            }
            out.push(']');
        }
        Value::Sample(s) => {
            if depth == 0 {
                out.push('&');
                write_sample(out, s);
            } else {
                out.push_str(&fake_addr(s));
            }
        }
        Value::TimePtr(t) | Value::Time(t) => out.push_str(&super::humanize::time_string(*t)),
        Value::Data(d) => {
            out.push('{');
            write_v(out, &Value::StrMap(d.labels.clone()), depth + 1);
            out.push(' ');
            write_v(out, &Value::StrMap(d.external_labels.clone()), depth + 1);
            out.push(' ');
            out.push_str(&d.external_url);
            out.push(' ');
            out.push_str(&format_go_float(d.value));
            out.push('}');
        }
    }
}

/// A sample struct as Go prints it: `{map[...] 1.5}`.
pub(crate) fn write_sample(out: &mut String, s: &SampleV) {
    out.push('{');
    write_v(out, &Value::StrMap(s.labels.clone()), 1);
    out.push(' ');
    out.push_str(&format_go_float(s.value));
    out.push('}');
}

fn fake_addr(s: &Rc<SampleV>) -> String {
    // Go prints the pointer; any stable hex number stands in for it.
    format!("0xc{:09x}", (Rc::as_ptr(s) as usize) & 0xf_ffff_fff0)
}

/// How a value prints as the result of an action (`{{ x }}`): Go's text/template first
/// dereferences pointers, then prints with fmt's `%v`; a missing value is `<no value>`.
pub(crate) fn print_action(out: &mut String, v: &Value) {
    match v {
        Value::Invalid | Value::Nil => out.push_str("<no value>"),
        Value::Sample(s) => write_sample(out, s),
        v => write_v(out, v, 0),
    }
}
