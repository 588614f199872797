//! Evaluation of pipelines for `exec`: commands, fields and field chains (struct fields,
//! map keys with `missingkey=zero`, `time.Time` methods), variables, number constants as
//! Go's ideal constants, and function calls with Go's argument count and type checks.

use super::ast::{Arg, Cmd, Pipe};
use super::exec::{At, Exec, R};
use super::funcs::{self, P};
use super::value::Value;

impl<'a> Exec<'a> {
    pub(super) fn eval_pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> R<Value> {
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

    pub(super) fn not_a_function(&self, args: &[Arg], fin: &Option<Value>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return self.errorf(format!("can't give argument to non-function {}", args[0]));
        }
        Ok(())
    }

    pub(super) fn eval_command(
        &mut self,
        dot: &Value,
        cmd: &'a Cmd,
        fin: Option<Value>,
    ) -> R<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { ident, .. } => {
                self.at = At::Arg(first);
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

    pub(super) fn ideal_constant(&mut self, arg: &'a Arg) -> R<Value> {
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
        if let Some(f) = num.float
            && !hex_int
            && !t.starts_with('\'')
            && t.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(f));
        }
        if let Some(i) = num.int {
            return Ok(Value::Int(i));
        }
        if num.uint.is_some() {
            return self.errorf(format!("{t} overflows int"));
        }
        Ok(Value::Invalid)
    }

    pub(super) fn eval_chain(
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

    pub(super) fn eval_variable(
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

    pub(super) fn eval_field_chain(
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

    pub(super) fn eval_field(
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

    pub(super) fn call_time_method(
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

    pub(super) fn eval_call(
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
                Some(v) if num_in > fixed => v,
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

    pub(super) fn validate(&self, v: Value, ty: P) -> R<Value> {
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

    pub(super) fn eval_arg(&mut self, dot: &Value, ty: P, arg: &'a Arg) -> R<Value> {
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

    pub(super) fn literal_err<T>(&self, ty: P, arg: &Arg) -> R<T> {
        match ty {
            P::Str => self.errorf(format!("expected string; found {arg}")),
            _ => self.errorf(format!("can't handle {arg} for arg of type {}", ty.name())),
        }
    }
}
