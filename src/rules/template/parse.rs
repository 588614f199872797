//! The template parser: builds the tree of text, actions, pipelines and the `if`, `range`,
//! `with`, `define`, `template`, `break` and `continue` forms from the lexer's tokens, as
//! Go's text/template/parse does, checking at parse time that functions exist and variables
//! are declared (with the alert preamble's `$labels`, `$externalLabels`, `$externalURL` and
//! `$value` in scope). Errors read like Go's (`template: NAME:LINE: ...`). `exec` walks the
//! tree; `mod` calls `parse`.

use std::collections::HashMap;
use std::fmt;

use super::ast::{Arg, Branch, Cmd, Node, Parsed, Pipe};
use super::funcs::is_function;
use super::lex::{Item, Lexer, Tok};
use super::literal::{parse_number, unquote};

/// The deepest nesting of parentheses and control structures accepted (keeps recursion
/// bounded; Go's own limit is far deeper, but no real template comes near this).
const MAX_DEPTH: usize = 200;

/// The variables the alert preamble declares.
pub(crate) const PREAMBLE_VARS: [&str; 4] =
    ["$labels", "$externalLabels", "$externalURL", "$value"];

enum Step {
    Node(Node),
    End,
    Else,
}

struct Parser<'a> {
    name: &'a str,
    lex: Lexer<'a>,
    token: [Item; 3],
    peek_count: usize,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    action_line: usize,
    defs: HashMap<String, Vec<Node>>,
}

type PResult<T> = Result<T, String>;

fn eof_item() -> Item {
    Item {
        typ: Tok::Eof,
        pos: 0,
        val: String::new(),
        line: 1,
    }
}

/// Parses `text` as the body of template `name` (an alert template: the preamble's
/// variables are in scope).
pub(crate) fn parse(name: &str, text: &str) -> Result<Parsed, String> {
    let mut p = Parser {
        name,
        lex: Lexer::new(text),
        token: [eof_item(), eof_item(), eof_item()],
        peek_count: 0,
        vars: Vec::new(),
        range_depth: 0,
        depth: 0,
        action_line: 0,
        defs: HashMap::new(),
    };
    p.vars.push("$".into());
    p.vars.extend(PREAMBLE_VARS.iter().map(|v| v.to_string()));
    let root = p.parse_top()?;
    if p.defs.contains_key(name) {
        // The main template is never empty (the preamble), so a define of its name clashes.
        return Err(format!(
            "template: {name}:{}: template: multiple definition of template {}",
            p.token[0].line,
            super::gofmt::go_quote(name)
        ));
    }
    Ok(Parsed { root, defs: p.defs })
}

impl Parser<'_> {
    fn errorf(&self, msg: impl fmt::Display) -> String {
        format!("template: {}:{}: {}", self.name, self.token[0].line, msg)
    }

    fn next(&mut self) -> Item {
        if self.peek_count > 0 {
            self.peek_count -= 1;
        } else {
            self.token[0] = self.lex.next_item();
        }
        self.token[self.peek_count].clone()
    }

    fn backup(&mut self) {
        self.peek_count += 1;
    }

    fn backup2(&mut self, t1: Item) {
        self.token[1] = t1;
        self.peek_count = 2;
    }

    fn backup3(&mut self, t2: Item, t1: Item) {
        self.token[1] = t1;
        self.token[2] = t2;
        self.peek_count = 3;
    }

    fn peek(&mut self) -> Item {
        if self.peek_count > 0 {
            return self.token[self.peek_count - 1].clone();
        }
        self.peek_count = 1;
        self.token[0] = self.lex.next_item();
        self.token[0].clone()
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.typ != Tok::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn expect(&mut self, typ: Tok, context: &str) -> PResult<Item> {
        let t = self.next_non_space();
        if t.typ != typ {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn unexpected(&self, t: &Item, context: &str) -> String {
        if t.typ == Tok::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != t.line {
                extra = format!(" in action started at {}:{}", self.name, self.action_line);
                if t.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{t}{extra}"));
        }
        self.errorf(format!("unexpected {t} in {context}"))
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().typ != Tok::Eof {
            if self.peek().typ == Tok::LeftDelim {
                let delim = self.next();
                if self.next_non_space().typ == Tok::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.backup2(delim);
            }
            match self.text_or_action()? {
                Step::Node(n) => root.push(n),
                Step::End => return Err(self.errorf("unexpected {{end}}")),
                Step::Else => return Err(self.errorf("unexpected {{else}}")),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let t = self.next_non_space();
        if t.typ != Tok::String && t.typ != Tok::RawString {
            return Err(self.unexpected(&t, context));
        }
        let name = unquote(&t.val).map_err(|e| self.errorf(e))?;
        self.expect(Tok::RightDelim, context)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let r = self.item_list();
        self.vars = saved;
        self.range_depth = saved_range;
        let (list, end) = r?;
        if !matches!(end, Step::End) {
            return Err(self.errorf(format!("unexpected {} in {context}", step_str(&end))));
        }
        self.add_def(name, list)
    }

    fn add_def(&mut self, name: String, list: Vec<Node>) -> PResult<()> {
        let empty = |l: &[Node]| {
            l.iter()
                .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
        };
        match self.defs.get(&name) {
            Some(old) if !empty(old) && !empty(&list) => Err(self.errorf(format!(
                "template: multiple definition of template {}",
                super::gofmt::go_quote(&name)
            ))),
            Some(old) if !empty(old) => Ok(()),
            _ => {
                self.defs.insert(name, list);
                Ok(())
            }
        }
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, Step)> {
        let mut list = Vec::new();
        while self.peek_non_space().typ != Tok::Eof {
            match self.text_or_action()? {
                Step::Node(n) => list.push(n),
                end => return Ok((list, end)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Step> {
        let t = self.next_non_space();
        match t.typ {
            Tok::Text => Ok(Step::Node(Node::Text(t.val))),
            Tok::LeftDelim => {
                self.action_line = t.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&t, "input")),
        }
    }

    fn action(&mut self) -> PResult<Step> {
        let t = self.next_non_space();
        match t.typ {
            Tok::Block => return self.block_control(),
            Tok::Break | Tok::Continue => {
                let word = if t.typ == Tok::Break {
                    "break"
                } else {
                    "continue"
                };
                let n = self.next_non_space();
                if n.typ != Tok::RightDelim {
                    return Err(self.unexpected(&n, &format!("{{{{{word}}}}}")));
                }
                if self.range_depth == 0 {
                    return Err(self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}")));
                }
                return Ok(Step::Node(if t.typ == Tok::Break {
                    Node::Break { pos: t.pos }
                } else {
                    Node::Continue { pos: t.pos }
                }));
            }
            Tok::Else => return self.else_control(),
            Tok::End => {
                self.expect(Tok::RightDelim, "end")?;
                return Ok(Step::End);
            }
            Tok::If => return Ok(Step::Node(Node::If(self.parse_control("if")?))),
            Tok::Range => return Ok(Step::Node(Node::Range(self.parse_control("range")?))),
            Tok::With => return Ok(Step::Node(Node::With(self.parse_control("with")?))),
            Tok::Template => return self.template_control(),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", Tok::RightDelim)?;
        Ok(Step::Node(Node::Action { pipe }))
    }

    fn block_control(&mut self) -> PResult<Step> {
        let context = "block clause";
        let t = self.next_non_space();
        if t.typ != Tok::String && t.typ != Tok::RawString {
            return Err(self.unexpected(&t, context));
        }
        let name = unquote(&t.val).map_err(|e| self.errorf(e))?;
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let r = self.item_list();
        self.vars = saved;
        self.range_depth = saved_range;
        let (list, end) = r?;
        if !matches!(end, Step::End) {
            return Err(self.errorf(format!("unexpected {} in {context}", step_str(&end))));
        }
        self.add_def(name.clone(), list)?;
        Ok(Step::Node(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn else_control(&mut self) -> PResult<Step> {
        let peek = self.peek_non_space();
        if peek.typ == Tok::If || peek.typ == Tok::With {
            return Ok(Step::Else);
        }
        self.expect(Tok::RightDelim, "else")?;
        Ok(Step::Else)
    }

    fn template_control(&mut self) -> PResult<Step> {
        let context = "template clause";
        let t = self.next_non_space();
        if t.typ != Tok::String && t.typ != Tok::RawString {
            return Err(self.unexpected(&t, context));
        }
        let name = unquote(&t.val).map_err(|e| self.errorf(e))?;
        let mut pipe = None;
        if self.next_non_space().typ != Tok::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, Tok::RightDelim)?);
        }
        Ok(Step::Node(Node::Template {
            pos: t.pos,
            name,
            pipe,
        }))
    }

    fn parse_control(&mut self, context: &str) -> PResult<Branch> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.errorf("max expression depth exceeded"));
        }
        let nvars = self.vars.len();
        let r = self.parse_control_inner(context);
        self.vars.truncate(nvars);
        self.depth -= 1;
        r
    }

    fn parse_control_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        match next {
            Step::End => {}
            Step::Else => {
                let pk = self.peek().typ;
                if context == "if" && pk == Tok::If {
                    self.next();
                    else_list = Some(vec![Node::If(self.parse_control("if")?)]);
                } else if context == "with" && pk == Tok::With {
                    self.next();
                    else_list = Some(vec![Node::With(self.parse_control("with")?)]);
                } else {
                    let (l, next) = self.item_list()?;
                    if !matches!(next, Step::End) {
                        return Err(self.errorf(format!("expected end; found {}", step_str(&next))));
                    }
                    else_list = Some(l);
                }
            }
            Step::Node(_) => {}
        }
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        let first = self.peek_non_space();
        let mut pipe = Pipe {
            pos: first.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ != Tok::Variable {
                break;
            }
            self.next();
            let after = self.peek();
            let next = self.peek_non_space();
            if next.typ == Tok::Assign || next.typ == Tok::Declare {
                pipe.is_assign = next.typ == Tok::Assign;
                self.next_non_space();
                pipe.decl.push(v.val.clone());
                self.vars.push(v.val);
            } else if next.typ == Tok::Char && next.val == "," {
                self.next_non_space();
                pipe.decl.push(v.val.clone());
                self.vars.push(v.val);
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().typ {
                        Tok::Variable | Tok::RightDelim | Tok::RightParen => continue 'decls,
                        _ => return Err(self.errorf("range can only initialize variables")),
                    }
                }
                return Err(self.errorf(format!("too many declarations in {context}")));
            } else if after.typ == Tok::Space {
                self.backup3(v, after);
            } else {
                self.backup2(v);
            }
            break;
        }
        loop {
            let t = self.next_non_space();
            match t.typ {
                x if x == end => {
                    if pipe.cmds.is_empty() {
                        return Err(self.errorf(format!("missing value for {context}")));
                    }
                    for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                        if matches!(
                            c.args.first(),
                            Some(
                                Arg::Bool { .. }
                                    | Arg::Dot { .. }
                                    | Arg::Nil { .. }
                                    | Arg::Number { .. }
                                    | Arg::Str { .. }
                            )
                        ) {
                            return Err(self.errorf(format!(
                                "non executable command in pipeline stage {}",
                                i + 1
                            )));
                        }
                    }
                    return Ok(pipe);
                }
                Tok::Bool
                | Tok::CharConstant
                | Tok::Complex
                | Tok::Dot
                | Tok::Field
                | Tok::Identifier
                | Tok::Number
                | Tok::Nil
                | Tok::RawString
                | Tok::String
                | Tok::Variable
                | Tok::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return Err(self.unexpected(&t, context)),
            }
        }
    }

    fn command(&mut self) -> PResult<Cmd> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Cmd {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.next();
            match t.typ {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                _ => return Err(self.unexpected(&t, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != Tok::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == Tok::Field {
            let f = self.next().val;
            fields.push(f[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { mut ident, .. } => {
                ident.extend(fields);
                Arg::Field { pos, ident }
            }
            Arg::Var { mut ident, .. } => {
                ident.extend(fields);
                Arg::Var { pos, ident }
            }
            Arg::Bool { .. }
            | Arg::Str { .. }
            | Arg::Number { .. }
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return Err(self.errorf(format!(
                    "unexpected . after term {}",
                    super::gofmt::go_quote(&node.to_string())
                )));
            }
            node => Arg::Chain {
                pos,
                node: Box::new(node),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        let pos = t.pos;
        Ok(Some(match t.typ {
            Tok::Identifier => {
                if !is_function(&t.val) {
                    return Err(self.errorf(format!(
                        "function {} not defined",
                        super::gofmt::go_quote(&t.val)
                    )));
                }
                Arg::Ident { pos, name: t.val }
            }
            Tok::Dot => Arg::Dot { pos },
            Tok::Nil => Arg::Nil { pos },
            Tok::Variable => {
                let ident: Vec<String> = t.val.split('.').map(str::to_string).collect();
                if !self.vars.iter().any(|v| *v == ident[0]) {
                    return Err(self.errorf(format!(
                        "undefined variable {}",
                        super::gofmt::go_quote(&ident[0])
                    )));
                }
                Arg::Var { pos, ident }
            }
            Tok::Field => Arg::Field {
                pos,
                ident: t.val[1..].split('.').map(str::to_string).collect(),
            },
            Tok::Bool => Arg::Bool {
                pos,
                val: t.val == "true",
            },
            Tok::CharConstant | Tok::Complex | Tok::Number => {
                let num = parse_number(&t.val, t.typ).map_err(|e| self.errorf(e))?;
                Arg::Number { pos, num }
            }
            Tok::LeftParen => {
                if self.depth >= MAX_DEPTH {
                    return Err(self.errorf("max expression depth exceeded"));
                }
                self.depth += 1;
                let p = self.pipeline("parenthesized pipeline", Tok::RightParen);
                self.depth -= 1;
                Arg::Pipe(Box::new(p?))
            }
            Tok::String | Tok::RawString => {
                let text = unquote(&t.val).map_err(|e| self.errorf(e))?;
                Arg::Str {
                    pos,
                    quoted: t.val,
                    text,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

fn step_str(s: &Step) -> String {
    match s {
        Step::Node(n) => n.to_string(),
        Step::End => "{{end}}".into(),
        Step::Else => "{{else}}".into(),
    }
}
