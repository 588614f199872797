//! Template execution: walks the parsed tree with the alert data as the dot, evaluating
//! pipelines, fields, variables and function calls with Go text/template's rules (argument
//! type checks, `missingkey=zero`, truthiness, `range` over query results, maps and
//! integers, `break`/`continue`, `template` calls) and Go's error messages with the
//! position the real Prometheus reports (the alert preamble counted in the column).
//! Bounded: output size, steps and template call depth are capped. `mod` calls `execute`.

use super::funcs::{self, Env, P};
use super::parse::{Arg, Branch, Cmd, Node, Parsed, Pipe};
use super::value::{Value, print_action};

/// The alert preamble Prometheus prepends (all on line 1): its length shifts the columns
/// of positions on the template's first line.
pub(crate) const PREAMBLE: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

const MAX_OUTPUT: usize = 4 << 20;
const MAX_STEPS: u64 = 5_000_000;
const MAX_TEMPLATE_DEPTH: usize = 100;

enum Flow {
    Err(String),
    Break,
    Continue,
}

type R<T> = Result<T, Flow>;

#[derive(Clone, Copy)]
enum At<'a> {
    None,
    Node(&'a Node),
    Pipe(&'a Pipe),
    Cmd(&'a Cmd),
    Arg(&'a Arg),
}

pub(crate) struct Exec<'a> {
    parsed: &'a Parsed,
    name: &'a str,
    text: &'a str,
    env: Env<'a>,
    out: String,
    steps: u64,
    at: At<'a>,
    tmpl: &'a str,
    vars: Vec<(String, Value)>,
    depth: usize,
}

/// Runs the parsed template with `dot` and the initial variables; the error is Go's
/// message (`template: NAME:LINE:COL: executing "NAME" at <...>: ...`).
pub(crate) fn execute(
    parsed: &Parsed,
    name: &str,
    text: &str,
    env: Env<'_>,
    dot: Value,
    vars: Vec<(String, Value)>,
) -> Result<String, String> {
    let mut e = Exec {
        parsed,
        name,
        text,
        env,
        out: String::new(),
        steps: 0,
        at: At::None,
        tmpl: name,
        vars,
        depth: 0,
    };
    match e.walk_list(&dot, &parsed.root) {
        Ok(()) => Ok(e.out),
        Err(Flow::Err(msg)) => Err(msg),
        Err(_) => Err(format!("template: {name}: break or continue outside range")),
    }
}

fn fail<T>(msg: String) -> R<T> {
    Err(Flow::Err(msg))
}

impl<'a> Exec<'a> {
    fn pos(&self) -> Option<usize> {
        Some(match self.at {
            At::None => return None,
            At::Node(n) => match n {
                Node::Text(_) => 0,
                Node::Action { pipe } => pipe.pos,
                Node::If(b) | Node::Range(b) | Node::With(b) => b.pipe.pos,
                Node::Template { pos, .. } | Node::Break { pos } | Node::Continue { pos } => *pos,
            },
            At::Pipe(p) => p.pos,
            At::Cmd(c) => c.pos,
            At::Arg(a) => a.pos(),
        })
    }

    fn context(&self) -> String {
        match self.at {
            At::None => String::new(),
            At::Node(n) => n.to_string(),
            At::Pipe(p) => p.to_string(),
            At::Cmd(c) => c.to_string(),
            At::Arg(a) => a.to_string(),
        }
    }

    fn errorf<T>(&self, msg: impl std::fmt::Display) -> R<T> {
        let Some(pos) = self.pos() else {
            return fail(format!("template: {}: {msg}", self.tmpl));
        };
        let pos = pos.min(self.text.len());
        let before = &self.text.as_bytes()[..pos];
        let line = 1 + before.iter().filter(|b| **b == b'\n').count();
        let col = match before.iter().rposition(|b| *b == b'\n') {
            Some(nl) => pos - nl - 1,
            None => pos + PREAMBLE.len(),
        };
        fail(format!(
            "template: {}:{line}:{col}: executing {} at <{}>: {msg}",
            self.name,
            super::gofmt::go_quote(self.tmpl),
            self.context()
        ))
    }

    fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return self.errorf("template execution exceeded its step limit");
        }
        if self.out.len() > MAX_OUTPUT {
            return self.errorf("template output exceeded its size limit");
        }
        Ok(())
    }

    fn walk_list(&mut self, dot: &Value, list: &'a [Node]) -> R<()> {
        for n in list {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, node: &'a Node) -> R<()> {
        self.step()?;
        self.at = At::Node(node);
        match node {
            Node::Text(t) => self.out.push_str(t),
            Node::Action { pipe } => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at = At::Node(node);
                    print_action(&mut self.out, &v);
                }
            }
            Node::Break { .. } => return Err(Flow::Break),
            Node::Continue { .. } => return Err(Flow::Continue),
            Node::If(b) => self.walk_if_with(false, dot, b)?,
            Node::With(b) => self.walk_if_with(true, dot, b)?,
            Node::Range(b) => self.walk_range(dot, b)?,
            Node::Template { name, pipe, .. } => {
                let Some(body) = self.parsed.defs.get(name) else {
                    return self.errorf(format!(
                        "template {} not defined",
                        super::gofmt::go_quote(name)
                    ));
                };
                if self.depth >= MAX_TEMPLATE_DEPTH {
                    return self.errorf(format!(
                        "exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})"
                    ));
                }
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Invalid,
                };
                let saved_vars =
                    std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
                let saved_tmpl = std::mem::replace(&mut self.tmpl, name.as_str());
                self.depth += 1;
                let r = self.walk_list(&new_dot, body);
                self.depth -= 1;
                self.vars = saved_vars;
                self.tmpl = saved_tmpl;
                r?;
            }
        }
        Ok(())
    }

    fn walk_if_with(&mut self, with: bool, dot: &Value, b: &'a Branch) -> R<()> {
        let mark = self.vars.len();
        let r = (|| {
            let v = self.eval_pipeline(dot, &b.pipe)?;
            if v.truth() {
                if with {
                    self.walk_list(&v, &b.list)
                } else {
                    self.walk_list(dot, &b.list)
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, e)
            } else {
                Ok(())
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Value, b: &'a Branch) -> R<()> {
        let mark = self.vars.len();
        let r = self.walk_range_inner(dot, b);
        self.vars.truncate(mark);
        match r {
            Err(Flow::Break) => Ok(()),
            r => r,
        }
    }

    fn walk_range_inner(&mut self, dot: &Value, b: &'a Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let items: Vec<(Value, Value)> = match &val {
            Value::Int(n) | Value::Int64(n) => {
                if b.pipe.decl.len() > 1 {
                    return self.errorf(format!(
                        "can't use {n} to iterate over more than one variable"
                    ));
                }
                if *n > MAX_STEPS as i64 {
                    return self.errorf("template execution exceeded its step limit");
                }
                (0..*n).map(|i| (Value::Invalid, Value::Int(i))).collect()
            }
            Value::Samples(v) => v
                .iter()
                .enumerate()
                .map(|(i, s)| (Value::Int(i as i64), Value::Sample(s.clone())))
                .collect(),
            Value::StrMap(m) => m
                .iter()
                .map(|(k, v)| (Value::str(k), Value::str(v)))
                .collect(),
            Value::AnyMap(m) => m
                .iter()
                .map(|(k, v)| {
                    (
                        Value::str(k),
                        if matches!(v, Value::Nil) {
                            Value::Invalid
                        } else {
                            v.clone()
                        },
                    )
                })
                .collect(),
            Value::Invalid | Value::Nil => Vec::new(),
            other => {
                let mut s = String::new();
                super::value::write_v(&mut s, other, 0);
                return self.errorf(format!("range can't iterate over {s}"));
            }
        };
        if items.is_empty() {
            if let Some(e) = &b.else_list {
                return self.walk_list(dot, e);
            }
            return Ok(());
        }
        let mark = self.vars.len();
        for (index, elem) in items {
            self.step()?;
            let decl = &b.pipe.decl;
            if !decl.is_empty() {
                if b.pipe.is_assign {
                    let v = if decl.len() > 1 {
                        index.clone()
                    } else {
                        elem.clone()
                    };
                    self.set_var(&decl[0], v)?;
                } else {
                    self.set_top_var(1, elem.clone());
                }
            }
            if decl.len() > 1 {
                if b.pipe.is_assign {
                    self.set_var(&decl[1], elem.clone())?;
                } else {
                    self.set_top_var(2, index);
                }
            }
            let r = self.walk_list(&elem, &b.list);
            self.vars.truncate(mark);
            match r {
                Ok(()) | Err(Flow::Continue) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn set_var(&mut self, name: &str, v: Value) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }

    fn set_top_var(&mut self, n: usize, v: Value) {
        let len = self.vars.len();
        if let Some(slot) = len.checked_sub(n).and_then(|i| self.vars.get_mut(i)) {
            slot.1 = v;
        }
    }

    fn var_value(&self, name: &str) -> R<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> R<Value> {
        self.step()?;
        self.at = At::Pipe(pipe);
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            let mut v = self.eval_command(dot, cmd, value)?;
            if matches!(v, Value::Nil) {
                v = Value::Invalid;
            }
            value = Some(v);
        }
        let value = value.unwrap_or(Value::Invalid);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<Value>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return self.errorf(format!("can't give argument to non-function {}", args[0]));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'a Cmd, fin: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { ident, .. } => {
                return self.eval_field_chain(dot, dot.clone(), first, ident, &cmd.args, fin);
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, &cmd.args, fin),
            Arg::Ident { name, .. } => {
                return self.eval_call(dot, name, first, At::Cmd(cmd), &cmd.args[1..], fin);
            }
            Arg::Pipe(p) => {
                self.at = At::Arg(first);
                self.not_a_function(&cmd.args, &fin)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Var { .. } => return self.eval_variable(dot, first, &cmd.args, fin),
            _ => {}
        }
        self.at = At::Arg(first);
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => self.errorf("nil is not a command"),
            Arg::Number { .. } => self.ideal_constant(first),
            Arg::Str { text, .. } => Ok(Value::str(text)),
            _ => self.errorf(format!(
                "can't evaluate command {}",
                super::gofmt::go_quote(&first.to_string())
            )),
        }
    }

    fn ideal_constant(&mut self, arg: &'a Arg) -> R<Value> {
        self.at = At::Arg(arg);
        let Arg::Number { num, .. } = arg else {
            return Ok(Value::Invalid);
        };
        let t = &num.text;
        let hex_int = t.len() > 2
            && t.starts_with('0')
            && t[1..].starts_with(['x', 'X'])
            && !t.contains(['p', 'P']);
        if let Some((re, im)) = num.complex {
            return Ok(Value::Complex(re, im));
        }
        if let Some(f) = num.float {
            if !hex_int && !t.starts_with('\'') && t.contains(['.', 'e', 'E', 'p', 'P']) {
                return Ok(Value::Float(f));
            }
        }
        if let Some(i) = num.int {
            return Ok(Value::Int(i));
        }
        if num.uint.is_some() {
            return self.errorf(format!("{t} overflows int"));
        }
        Ok(Value::Invalid)
    }

    fn eval_chain(
        &mut self,
        dot: &Value,
        chain: &'a Arg,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        self.at = At::Arg(chain);
        let Arg::Chain { node, fields, .. } = chain else {
            return Ok(Value::Invalid);
        };
        if matches!(**node, Arg::Nil { .. }) {
            return self.errorf(format!("indirection through explicit nil in {chain}"));
        }
        let recv = self.eval_arg(dot, P::RValue, node)?;
        self.eval_field_chain(dot, recv, chain, fields, args, fin)
    }

    fn eval_variable(
        &mut self,
        dot: &Value,
        var: &'a Arg,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        self.at = At::Arg(var);
        let Arg::Var { ident, .. } = var else {
            return Ok(Value::Invalid);
        };
        let value = self.var_value(&ident[0])?;
        if ident.len() == 1 {
            self.not_a_function(args, &fin)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, var, &ident[1..], args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut recv: Value,
        node: &'a Arg,
        ident: &'a [String],
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let n = ident.len();
        for name in &ident[..n.saturating_sub(1)] {
            recv = self.eval_field(dot, name, node, &[], None, recv)?;
        }
        match ident.last() {
            Some(last) => self.eval_field(dot, last, node, args, fin, recv),
            None => Ok(recv),
        }
    }

    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        node: &'a Arg,
        args: &'a [Arg],
        fin: Option<Value>,
        recv: Value,
    ) -> R<Value> {
        let has_args = args.len() > 1 || fin.is_some();
        let struct_field = |this: &Self, v: Value| -> R<Value> {
            if has_args {
                return this.errorf(format!(
                    "{name} has arguments but cannot be invoked as function"
                ));
            }
            Ok(v)
        };
        match &recv {
            Value::Invalid | Value::Nil => Ok(Value::Invalid),
            Value::TimePtr(t) | Value::Time(t) => {
                let t = *t;
                if super::humanize::time_method(t, name, Some("")).is_none() {
                    return self.errorf(format!(
                        "can't evaluate field {name} in type {}",
                        recv.type_name()
                    ));
                }
                self.call_time_method(dot, t, name, node, args, fin)
            }
            Value::Data(d) => match name {
                "Labels" => struct_field(self, Value::StrMap(d.labels.clone())),
                "ExternalLabels" => struct_field(self, Value::StrMap(d.external_labels.clone())),
                "ExternalURL" => struct_field(self, Value::Str(d.external_url.clone())),
                "Value" => struct_field(self, Value::Float(d.value)),
                _ => self.errorf(format!(
                    "can't evaluate field {name} in type {}",
                    recv.type_name()
                )),
            },
            Value::Sample(s) => match name {
                "Labels" => struct_field(self, Value::StrMap(s.labels.clone())),
                "Value" => struct_field(self, Value::Float(s.value)),
                _ => self.errorf(format!(
                    "can't evaluate field {name} in type {}",
                    recv.type_name()
                )),
            },
            Value::StrMap(m) => {
                if has_args {
                    return self.errorf(format!("{name} is not a method but has arguments"));
                }
                Ok(Value::str(m.get(name).map_or("", String::as_str)))
            }
            Value::AnyMap(m) => {
                if has_args {
                    return self.errorf(format!("{name} is not a method but has arguments"));
                }
                Ok(m.get(name).cloned().unwrap_or(Value::Nil))
            }
            _ => self.errorf(format!(
                "can't evaluate field {name} in type {}",
                recv.type_name()
            )),
        }
    }

    fn call_time_method(
        &mut self,
        dot: &Value,
        t: super::value::TimeV,
        name: &str,
        node: &'a Arg,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let rest = if args.is_empty() { args } else { &args[1..] };
        let want = usize::from(name == "Format");
        let got = rest.len() + usize::from(fin.is_some());
        if got != want {
            return self.errorf(format!(
                "wrong number of args for {name}: want {want} got {got}"
            ));
        }
        let mut layout = None;
        if want == 1 {
            let v = match (rest.first(), fin) {
                (Some(a), _) => self.eval_arg(dot, P::Str, a)?,
                (None, Some(f)) => self.validate(f, P::Str)?,
                (None, None) => Value::Invalid,
            };
            layout = Some(match v {
                Value::Str(s) => s.to_string(),
                _ => String::new(),
            });
        }
        self.at = At::Arg(node);
        Ok(super::humanize::time_method(t, name, layout.as_deref()).unwrap_or(Value::Invalid))
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        name: &str,
        ident: &'a Arg,
        node: At<'a>,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        self.at = At::Arg(ident);
        let Some(sig) = funcs::signature(name) else {
            return self.errorf(format!(
                "{} is not a defined function",
                super::gofmt::go_quote(name)
            ));
        };
        let num_in = args.len() + usize::from(fin.is_some());
        let fixed = sig.fixed.len();
        if sig.variadic.is_some() {
            if num_in < fixed {
                return self.errorf(format!(
                    "wrong number of args for {name}: want at least {fixed} got {}",
                    args.len()
                ));
            }
        } else if num_in != fixed {
            return self.errorf(format!(
                "wrong number of args for {name}: want {fixed} got {num_in}"
            ));
        }
        if name == "and" || name == "or" {
            let mut v = Value::Invalid;
            for a in args {
                v = self.eval_arg(dot, P::RValue, a)?;
                if v.truth() == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            let ty = sig.fixed.get(i).copied().or(sig.variadic).unwrap_or(P::Any);
            argv.push(self.eval_arg(dot, ty, a)?);
        }
        if let Some(f) = fin {
            let ty = match sig.variadic {
                Some(v) if num_in - 1 >= fixed => v,
                _ => sig.fixed.get(num_in - 1).copied().unwrap_or(P::Any),
            };
            argv.push(self.validate(f, ty)?);
        }
        let r = funcs::call(name, &argv, &self.env);
        match r {
            Ok(v) => Ok(v),
            Err(e) => {
                self.at = node;
                self.errorf(format!("error calling {name}: {e}"))
            }
        }
    }

    fn validate(&self, v: Value, ty: P) -> R<Value> {
        if matches!(v, Value::Invalid | Value::Nil) {
            return match ty {
                P::RValue => Ok(Value::Invalid),
                t if t.can_be_nil() => Ok(Value::Nil),
                t => self.errorf(format!("invalid value; expected {}", t.name())),
            };
        }
        let ok = match ty {
            P::Any | P::RValue => true,
            P::Str => matches!(v, Value::Str(_)),
            P::Samples => matches!(v, Value::Samples(_)),
            P::Sample => matches!(v, Value::Sample(_)),
        };
        if !ok {
            return self.errorf(format!(
                "wrong type for value; expected {}; got {}",
                ty.name(),
                v.type_name()
            ));
        }
        Ok(v)
    }

    fn eval_arg(&mut self, dot: &Value, ty: P, arg: &'a Arg) -> R<Value> {
        self.at = At::Arg(arg);
        let v = match arg {
            Arg::Dot { .. } => dot.clone(),
            Arg::Nil { .. } => {
                if ty.can_be_nil() {
                    return Ok(if ty == P::RValue {
                        Value::Invalid
                    } else {
                        Value::Nil
                    });
                }
                return self.errorf(format!("cannot assign nil to {}", ty.name()));
            }
            Arg::Field { ident, .. } => self.eval_field_chain(
                dot,
                dot.clone(),
                arg,
                ident,
                std::slice::from_ref(arg),
                None,
            )?,
            Arg::Var { .. } => self.eval_variable(dot, arg, &[], None)?,
            Arg::Pipe(p) => self.eval_pipeline(dot, p)?,
            Arg::Ident { name, .. } => self.eval_call(dot, name, arg, At::Arg(arg), &[], None)?,
            Arg::Chain { .. } => self.eval_chain(dot, arg, &[], None)?,
            Arg::Bool { val, .. } => {
                return match ty {
                    P::Any | P::RValue => Ok(Value::Bool(*val)),
                    _ => self.literal_err(ty, arg),
                };
            }
            Arg::Str { text, .. } => {
                return match ty {
                    P::Str | P::Any | P::RValue => Ok(Value::str(text)),
                    _ => self.literal_err(ty, arg),
                };
            }
            Arg::Number { .. } => {
                return match ty {
                    P::Any | P::RValue => self.ideal_constant(arg),
                    _ => self.literal_err(ty, arg),
                };
            }
        };
        self.validate(v, ty)
    }

    fn literal_err<T>(&self, ty: P, arg: &Arg) -> R<T> {
        match ty {
            P::Str => self.errorf(format!("expected string; found {arg}")),
            _ => self.errorf(format!("can't handle {arg} for arg of type {}", ty.name())),
        }
    }
}

/// The initial variables of an alert template: `$` and the preamble's four.
pub(crate) fn alert_vars(dot: &Value) -> Vec<(String, Value)> {
    let mut vars = vec![("$".to_string(), dot.clone())];
    if let Value::Data(d) = dot {
        vars.push(("$labels".into(), Value::StrMap(d.labels.clone())));
        vars.push((
            "$externalLabels".into(),
            Value::StrMap(d.external_labels.clone()),
        ));
        vars.push(("$externalURL".into(), Value::Str(d.external_url.clone())));
        vars.push(("$value".into(), Value::Float(d.value)));
    }
    vars
}
