use std::path::PathBuf;

use super::super::ast::{Expr, Span};
#[allow(unused_imports)]
use super::lexer::{TokenKind, lex};
use super::*;

fn all() -> ParseOptions {
    ParseOptions::all()
}

// ------------------------------------------------------------------ helpers

/// Clears every span and puts matchers in a canonical order (name matcher first, then
/// sorted), so two trees can be compared modulo layout.
fn normalize(e: &mut Expr) {
    fn vs(v: &mut super::super::ast::VectorSelector) {
        v.span = Span::default();
        let skip = usize::from(v.name.is_some());
        v.matchers[skip..].sort_by_key(|m| m.to_string());
    }
    match e {
        Expr::Number(n) => n.span = Span::default(),
        Expr::String(s) => s.span = Span::default(),
        Expr::VectorSelector(v) => vs(v),
        Expr::MatrixSelector(m) => {
            m.span = Span::default();
            vs(&mut m.selector);
        }
        Expr::Subquery(s) => {
            s.span = Span::default();
            normalize(&mut s.expr);
        }
        Expr::Paren(p) => {
            p.span = Span::default();
            normalize(&mut p.expr);
        }
        Expr::Unary(u) => {
            u.span = Span::default();
            normalize(&mut u.expr);
        }
        Expr::Binary(b) => {
            b.span = Span::default();
            normalize(&mut b.lhs);
            normalize(&mut b.rhs);
        }
        Expr::Aggregate(a) => {
            a.span = Span::default();
            if let Some(p) = a.param.as_mut() {
                normalize(p);
            }
            normalize(&mut a.expr);
        }
        Expr::Call(c) => {
            c.span = Span::default();
            for a in &mut c.args {
                normalize(a);
            }
        }
    }
}

/// NaN-aware comparison through Debug output (NaN literals compare unequal otherwise).
fn same(a: &Expr, b: &Expr) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

/// Parses, prints, re-parses and re-prints; checks the trees agree and printing is
/// idempotent. Returns the printed form.
fn round_trip(q: &str, opts: &ParseOptions) -> Result<String, String> {
    let mut e = parse_with(q, opts).map_err(|e| format!("{q}\n  {}", e.to_prometheus_string(q)))?;
    let printed = e.to_string();
    let mut again = parse_with(&printed, opts).map_err(|err| {
        format!(
            "{q}\n  printed {printed}\n  {}",
            err.to_prometheus_string(&printed)
        )
    })?;
    let printed2 = again.to_string();
    if printed != printed2 {
        return Err(format!("{q}\n  printed {printed}\n  then    {printed2}"));
    }
    normalize(&mut e);
    normalize(&mut again);
    if !same(&e, &again) {
        return Err(format!("{q}\n  printed {printed}\n  {e:?}\n  {again:?}"));
    }
    Ok(printed)
}

fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var("KMON_PROMQL_CORPUS") {
        Ok(d) => PathBuf::from(d),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/promql-tests"),
    };
    if dir.join("v3.5").is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("PromQL corpus not found at {}", dir.display());
    }
    eprintln!(
        "note: PromQL corpus not found at {}; set KMON_PROMQL_CORPUS (skipping)",
        dir.display()
    );
    None
}

/// The expression of an `eval…` line of a `.test` file.
fn eval_expr(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("eval")?;
    let rest = rest.trim_start_matches(|c: char| c == '_' || c.is_ascii_alphabetic());
    let mut words = rest.split_whitespace();
    let skip = match words.next()? {
        "instant" => 2, // at T
        "range" => 6,   // from A to B step S
        _ => return None,
    };
    // Find the byte offset after `skip` more words.
    let mut s = rest.trim_start();
    s = s[s.find(char::is_whitespace)?..].trim_start();
    for _ in 0..skip {
        s = s[s.find(char::is_whitespace)?..].trim_start();
    }
    Some(s.trim())
}

fn corpus_queries(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let v35 = dir.join("v3.5");
    let tsv = std::fs::read_to_string(v35.join("CASES.tsv")).expect("CASES.tsv");
    let mut header: Option<usize> = None;
    for (i, line) in tsv.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        match header {
            None => header = Some(cols.iter().position(|c| *c == "expr").expect("expr column")),
            Some(col) => out.push((format!("CASES.tsv:{}", i + 1), cols[col].to_string())),
        }
    }
    let mut files: Vec<_> = std::fs::read_dir(&v35)
        .expect("v3.5")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("test file");
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        for (i, line) in text.lines().enumerate() {
            if let Some(q) = eval_expr(line) {
                out.push((format!("{name}:{}", i + 1), q.to_string()));
            }
        }
    }
    out
}

// ------------------------------------------------------------------ corpus

#[test]
fn corpus_parses_and_round_trips() {
    let Some(dir) = corpus_dir() else { return };
    let queries = corpus_queries(&dir);
    assert!(queries.len() > 2500, "only {} queries found", queries.len());
    let mut failures = Vec::new();
    for (at, q) in &queries {
        if let Err(e) = round_trip(q, &all()) {
            failures.push(format!("{at}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus queries failed:\n{}",
        failures.len(),
        queries.len(),
        failures.join("\n")
    );
}
