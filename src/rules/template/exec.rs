//! Template execution: walks the parsed tree with the alert data as the dot, evaluating
//! pipelines, fields, variables and function calls with Go text/template's rules (argument
//! type checks, `missingkey=zero`, truthiness, `range` over query results, maps and
//! integers, `break`/`continue`, `template` calls) and Go's error messages with the
//! position the real Prometheus reports (the alert preamble counted in the column).
//! Bounded: output size, steps and template call depth are capped. `mod` calls `execute`.

use super::ast::{Arg, Branch, Cmd, Node, Parsed, Pipe};
use super::funcs::Env;
use super::value::{Value, print_action};

/// The alert preamble Prometheus prepends (all on line 1): its length shifts the columns
/// of positions on the template's first line.
pub(crate) const PREAMBLE: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

const MAX_OUTPUT: usize = 4 << 20;
const MAX_STEPS: u64 = 5_000_000;
const MAX_TEMPLATE_DEPTH: usize = 100;

pub(super) enum Flow {
    Err(String),
    Break,
    Continue,
}

pub(super) type R<T> = Result<T, Flow>;

#[derive(Clone, Copy)]
pub(super) enum At<'a> {
    None,
    Node(&'a Node),
    Pipe(&'a Pipe),
    Cmd(&'a Cmd),
    Arg(&'a Arg),
}

pub(crate) struct Exec<'a> {
    pub(super) parsed: &'a Parsed,
    pub(super) name: &'a str,
    pub(super) text: &'a str,
    pub(super) env: Env<'a>,
    pub(super) out: String,
    pub(super) steps: u64,
    pub(super) at: At<'a>,
    pub(super) tmpl: &'a str,
    pub(super) vars: Vec<(String, Value)>,
    pub(super) depth: usize,
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

    pub(super) fn errorf<T>(&self, msg: impl std::fmt::Display) -> R<T> {
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

    pub(super) fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return self.errorf("template execution exceeded its step limit");
        }
        if self.out.len() > MAX_OUTPUT {
            return self.errorf("template output exceeded its size limit");
        }
        Ok(())
    }

    pub(super) fn walk_list(&mut self, dot: &Value, list: &'a [Node]) -> R<()> {
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
            Value::Uint8(n) => {
                if b.pipe.decl.len() > 1 {
                    return self.errorf(format!(
                        "can't use {n} to iterate over more than one variable"
                    ));
                }
                (0..*n).map(|i| (Value::Invalid, Value::Uint8(i))).collect()
            }
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

    pub(super) fn set_var(&mut self, name: &str, v: Value) -> R<()> {
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

    pub(super) fn var_value(&self, name: &str) -> R<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.errorf(format!("undefined variable: {name}")),
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
