//! Go text/template's builtin functions that need more than a line: `len`, `index`,
//! `slice`, the comparisons `eq`/`ne`/`lt`/`le`/`gt`/`ge` with Go's kind rules and error
//! messages, and the `html`, `js` and `urlquery` escapers' argument handling. `funcs`
//! dispatches to them.

use std::rc::Rc;

use super::gofmt::format_verb;
use super::value::Value;

/// Go's evalArgs for html/js/urlquery: one string as is, otherwise Sprint of the
/// printable values (a missing one prints `<no value>`).
pub(super) fn eval_args(a: &[Value]) -> String {
    if let [Value::Str(s)] = a {
        return s.to_string();
    }
    let args: Vec<Value> = a
        .iter()
        .map(|v| match v {
            Value::Invalid | Value::Nil => Value::str("<no value>"),
            v => v.clone(),
        })
        .collect();
    super::gofmt::sprint(&args)
}

pub(super) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn length(v: &Value) -> Result<Value, String> {
    match v {
        Value::Invalid | Value::Nil => {
            Err("reflect: call of reflect.Value.Type on zero Value".into())
        }
        v => v
            .len()
            .map(|n| Value::Int(n as i64))
            .ok_or_else(|| format!("len of type {}", v.elem_type_name())),
    }
}

fn index_arg(i: &Value, cap: usize) -> Result<usize, String> {
    let x = match i {
        Value::Int(x) | Value::Int64(x) => *x,
        Value::Uint8(x) => i64::from(*x),
        Value::Invalid | Value::Nil => return Err("cannot index slice/array with nil".into()),
        v => {
            return Err(format!(
                "cannot index slice/array with type {}",
                v.type_name()
            ));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

pub(super) fn index(item: &Value, idx: &[Value]) -> Result<Value, String> {
    let mut item = item.clone();
    if matches!(item, Value::Invalid | Value::Nil) {
        return Err("index of untyped nil".into());
    }
    for i in idx {
        item = match &item {
            Value::Str(s) | Value::Html(s) => {
                let x = index_arg(i, s.len())?;
                Value::Uint8(
                    *s.as_bytes()
                        .get(x)
                        .ok_or("reflect: string index out of range")?,
                )
            }
            Value::Samples(v) => {
                let x = index_arg(i, v.len())?;
                Value::Sample(v.get(x).ok_or("reflect: slice index out of range")?.clone())
            }
            Value::StrMap(m) => match i {
                Value::Str(k) => Value::str(m.get(&**k).map_or("", String::as_str)),
                v => return Err(map_key_err(v)),
            },
            Value::AnyMap(m) => match i {
                Value::Str(k) => m.get(&**k).cloned().unwrap_or(Value::Nil),
                v => return Err(map_key_err(v)),
            },
            v => return Err(format!("can't index item of type {}", v.elem_type_name())),
        };
    }
    Ok(item)
}

fn map_key_err(v: &Value) -> String {
    match v {
        Value::Invalid | Value::Nil => "value is nil; should be of type string".into(),
        v => format!("value has type {}; should be string", v.type_name()),
    }
}

pub(super) fn slice(item: &Value, idx: &[Value]) -> Result<Value, String> {
    if matches!(item, Value::Invalid | Value::Nil) {
        return Err("slice of untyped nil".into());
    }
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let len = match item {
        Value::Str(s) | Value::Html(s) => {
            if idx.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::Samples(v) => v.len(),
        v => return Err(format!("can't slice item of type {}", v.elem_type_name())),
    };
    let mut b = [0, len, len];
    for (i, x) in idx.iter().enumerate() {
        b[i] = index_arg(x, len)?;
    }
    if b[0] > b[1] {
        return Err(format!("invalid slice index: {} > {}", b[0], b[1]));
    }
    if idx.len() == 3 && b[1] > b[2] {
        return Err(format!("invalid slice index: {} > {}", b[1], b[2]));
    }
    Ok(match item {
        Value::Str(s) | Value::Html(s) => {
            let sub = match s.get(b[0]..b[1]) {
                Some(sub) => sub.to_string(),
                None => String::from_utf8_lossy(&s.as_bytes()[b[0]..b[1]]).into_owned(),
            };
            match item {
                Value::Html(_) => Value::Html(Rc::from(sub.as_str())),
                _ => Value::str(&sub),
            }
        }
        Value::Samples(v) => Value::Samples(Rc::new(v[b[0]..b[1]].to_vec())),
        _ => Value::Invalid,
    })
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Complex,
    Int,
    Uint,
    Float,
    Str,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Uint8(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::Complex(..) => Kind::Complex,
        Value::Str(_) | Value::Html(_) => Kind::Str,
        _ => Kind::Invalid,
    }
}

/// Go's reflect kind of a composite value.
fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::StrMap(_) | Value::AnyMap(_) => "map",
        Value::Samples(_) => "slice",
        Value::Sample(_) | Value::TimePtr(_) => "ptr",
        Value::Time(_) | Value::Data(_) => "struct",
        _ => "basic",
    }
}

/// An integer of either signedness, for Go's mixed int/uint comparisons.
fn int_of(v: &Value) -> Option<i128> {
    match v {
        Value::Int(x) | Value::Int64(x) => Some(i128::from(*x)),
        Value::Uint8(x) => Some(i128::from(*x)),
        _ => None,
    }
}

fn valid(v: &Value) -> bool {
    !matches!(v, Value::Invalid | Value::Nil)
}

pub(super) fn eq(a: &Value, rest: &[Value]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = kind(a);
    for b in rest {
        let k2 = kind(b);
        let truth = if k1 != k2 {
            if let (Some(x), Some(y)) = (int_of(a), int_of(b)) {
                x == y
            } else if valid(a) && valid(b) {
                return Err(format!(
                    "incompatible types for comparison: {} and {}",
                    a.type_name(),
                    b.type_name()
                ));
            } else {
                false
            }
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Complex(a1, b1), Value::Complex(a2, b2)) => a1 == a2 && b1 == b2,
                (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x == y,
                (Value::Uint8(x), Value::Uint8(y)) => x == y,
                (Value::Str(x) | Value::Html(x), Value::Str(y) | Value::Html(y)) => x == y,
                _ => {
                    if !valid(a) || !valid(b) {
                        valid(a) == valid(b)
                    } else {
                        match (a, b) {
                            (Value::Sample(x), Value::Sample(y)) => Rc::ptr_eq(x, y),
                            // Distinct toTime results are distinct pointers in Go.
                            (Value::TimePtr(_), Value::TimePtr(_)) => false,
                            (Value::Time(x), Value::Time(y)) => x == y,
                            _ if go_kind(a) != go_kind(b) => {
                                let x = format_verb(a, 's');
                                let y = format_verb(b, 'v');
                                return Err(format!(
                                    "non-comparable types {x}: {}, {}: {y}",
                                    a.type_name(),
                                    b.type_name()
                                ));
                            }
                            _ if matches!(
                                b,
                                Value::StrMap(_)
                                    | Value::AnyMap(_)
                                    | Value::Samples(_)
                                    | Value::Data(_)
                            ) =>
                            {
                                let y = format_verb(b, 's');
                                return Err(format!("non-comparable type {y}: {}", b.type_name()));
                            }
                            _ => false,
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

pub(super) fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let (k1, k2) = (kind(a), kind(b));
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if let (Some(x), Some(y)) = (int_of(a), int_of(b))
        && k1 != k2
    {
        return Ok(x < y);
    }
    if k1 != k2 {
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        ));
    }
    Ok(match (a, b) {
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x < y,
        (Value::Uint8(x), Value::Uint8(y)) => x < y,
        (Value::Str(x) | Value::Html(x), Value::Str(y) | Value::Html(y)) => x < y,
        _ => return Err("invalid type for comparison".into()),
    })
}
