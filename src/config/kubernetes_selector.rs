//! Syntax checks of Kubernetes label and field selectors, as Prometheus makes them when it
//! loads `kubernetes_sd_configs` selectors (apimachinery's `labels.Parse` and
//! `fields.ParseSelector`), with their messages where they are simple. Only the
//! `kubernetes_sd` validator uses it; the selectors themselves are sent to the API server.

/// Checks a field selector: comma-separated `key=value`, `key==value` or `key!=value` terms,
/// values escaping `\`, `,` and `=` with a backslash.
pub(super) fn check_field_selector(selector: &str) -> Result<(), String> {
    for term in split_unescaped_commas(selector) {
        if term.is_empty() {
            continue;
        }
        let Some((_, value)) = split_term(term) else {
            return Err(format!(
                "invalid selector: '{selector}'; can't understand '{term}'"
            ));
        };
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('\\' | ',' | '=') => {}
                    _ => {
                        return Err(format!(
                            "invalid field selector: invalid escape sequence: {value}"
                        ));
                    }
                },
                ',' | '=' => {
                    return Err(format!(
                        "invalid field selector: unescaped character '{c}' in value: {value}"
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn split_unescaped_commas(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}

/// The first operator in the term (at the leftmost position, `!=` and `==` before `=`).
fn split_term(term: &str) -> Option<(&str, &str)> {
    for (i, _) in term.char_indices() {
        for op in ["!=", "==", "="] {
            if term[i..].starts_with(op) {
                return Some((&term[..i], &term[i + op.len()..]));
            }
        }
    }
    None
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    End,
    Ident(String),
    Not,
    NotEquals,
    Equals,
    DoubleEquals,
    Gt,
    Lt,
    In,
    NotIn,
    Open,
    Close,
    Comma,
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::End => String::new(),
            Token::Ident(s) => s.clone(),
            Token::Not => "!".into(),
            Token::NotEquals => "!=".into(),
            Token::Equals => "=".into(),
            Token::DoubleEquals => "==".into(),
            Token::Gt => ">".into(),
            Token::Lt => "<".into(),
            Token::In => "in".into(),
            Token::NotIn => "notin".into(),
            Token::Open => "(".into(),
            Token::Close => ")".into(),
            Token::Comma => ",".into(),
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '!' | '=' | '>' | '<' | '(' | ')' | ',')
}

fn lex(s: &str) -> Vec<Token> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if is_special(c) {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let (tok, n) = match (c, two.as_str()) {
                (_, "!=") => (Token::NotEquals, 2),
                (_, "==") => (Token::DoubleEquals, 2),
                ('!', _) => (Token::Not, 1),
                ('=', _) => (Token::Equals, 1),
                ('>', _) => (Token::Gt, 1),
                ('<', _) => (Token::Lt, 1),
                ('(', _) => (Token::Open, 1),
                (')', _) => (Token::Close, 1),
                _ => (Token::Comma, 1),
            };
            out.push(tok);
            i += n;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && !is_special(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        out.push(match word.as_str() {
            "in" => Token::In,
            "notin" => Token::NotIn,
            _ => Token::Ident(word),
        });
    }
    out.push(Token::End);
    out
}

/// Checks a label selector: comma-separated requirements `key`, `!key`, `key=v`, `key==v`,
/// `key!=v`, `key in (a,b)`, `key notin (a,b)`, `key>n`, `key<n`, with valid label keys and
/// values, with apimachinery's messages.
pub(super) fn check_label_selector(selector: &str) -> Result<(), String> {
    let tokens = lex(selector);
    let mut pos = 0;
    let next = |pos: &mut usize| -> Token {
        let t = tokens.get(*pos).cloned().unwrap_or(Token::End);
        *pos += 1;
        t
    };
    let req = |m: String| Err(format!("unable to parse requirement: {m}"));
    if tokens.first() == Some(&Token::End) {
        return Ok(());
    }
    loop {
        // Key, or `!key`.
        let mut t = next(&mut pos);
        let not_exists = t == Token::Not;
        if not_exists {
            t = next(&mut pos);
        }
        let key = match t {
            Token::Ident(k) => k,
            other => {
                return Err(format!(
                    "found '{}', expected: !, identifier, or 'end of string'",
                    other.text()
                ));
            }
        };
        if let Err(m) = check_label_key(&key) {
            return req(m);
        }
        if !not_exists {
            let op = tokens.get(pos).cloned().unwrap_or(Token::End);
            match op {
                Token::End | Token::Comma => {}
                Token::In | Token::NotIn => {
                    pos += 1;
                    let open = next(&mut pos);
                    if open != Token::Open {
                        return req(format!("found '{}' expected: '('", open.text()));
                    }
                    let mut values = Vec::new();
                    loop {
                        match next(&mut pos) {
                            Token::Ident(v) => {
                                values.push(v);
                                match next(&mut pos) {
                                    Token::Comma => continue,
                                    Token::Close => break,
                                    other => {
                                        return req(format!(
                                            "found '{}', expected: ',' or ')'",
                                            other.text()
                                        ));
                                    }
                                }
                            }
                            Token::Close => break,
                            Token::Comma => continue,
                            other => {
                                return req(format!(
                                    "found '{}', expected: ',', ')' or identifier",
                                    other.text()
                                ));
                            }
                        }
                    }
                    // Validated as a sorted set, so indexes count in sorted order.
                    values.sort();
                    values.dedup();
                    for (i, v) in values.iter().enumerate() {
                        check_label_value(v, i, &key).or_else(req)?;
                    }
                }
                Token::Equals | Token::DoubleEquals | Token::NotEquals | Token::Gt | Token::Lt => {
                    pos += 1;
                    let numeric = matches!(op, Token::Gt | Token::Lt);
                    let value = match tokens.get(pos).cloned().unwrap_or(Token::End) {
                        Token::Ident(v) => {
                            pos += 1;
                            v
                        }
                        Token::End | Token::Comma => String::new(),
                        other => {
                            return req(format!("found '{}', expected: identifier", other.text()));
                        }
                    };
                    check_label_value(&value, 0, &key).or_else(req)?;
                    if numeric && value.parse::<i64>().is_err() {
                        return req(format!(
                            "values[0]: Invalid value: {value:?}: for 'Gt', 'Lt' operators, the value must be an integer"
                        ));
                    }
                }
                other => {
                    return req(format!(
                        "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                        other.text()
                    ));
                }
            }
        }
        match next(&mut pos) {
            Token::End => return Ok(()),
            Token::Comma => {
                if tokens.get(pos) == Some(&Token::End) {
                    return Err("found '', expected: identifier after ','".to_string());
                }
            }
            other => {
                return Err(format!(
                    "found '{}', expected: ',' or 'end of string'",
                    other.text()
                ));
            }
        }
    }
}

const NAME_FORMAT: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63
/// characters.
fn check_label_key(key: &str) -> Result<(), String> {
    let bad = |why: String| Err(format!("<nil>: Invalid value: {key:?}: {why}"));
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            return bad("prefix part must be non-empty".into());
        }
        if p.len() > 253 {
            return bad("prefix part must be no more than 253 characters".into());
        }
        let dns_ok = p.split('.').all(|part| {
            let b = part.as_bytes();
            b.first()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && b.last()
                    .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        });
        if !dns_ok {
            return bad("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into());
        }
    }
    if name.is_empty() {
        return bad("name part must be non-empty".into());
    }
    if name.len() > 63 {
        return bad("name part must be no more than 63 characters".into());
    }
    if !is_name(name) {
        return bad(format!(
            "name part {NAME_FORMAT} (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        ));
    }
    Ok(())
}

/// A label value: empty, or a name of at most 63 characters.
fn check_label_value(value: &str, index: usize, key: &str) -> Result<(), String> {
    let at = format!("values[{index}][{key}]: Invalid value: {value:?}");
    if value.len() > 63 {
        return Err(format!("{at}: must be no more than 63 characters"));
    }
    if !value.is_empty() && !is_name(value) {
        return Err(format!(
            "{at}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_selectors() {
        for ok in [
            "",
            "metadata.name=x",
            "spec.nodeName!=y,status.phase==Running",
            "a=b\\,c",
            "a=",
        ] {
            assert_eq!(check_field_selector(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_field_selector("a").unwrap_err(),
            "invalid selector: 'a'; can't understand 'a'"
        );
        assert!(check_field_selector("a=b=c").is_err());
        assert!(check_field_selector("a=b\\x").is_err());
    }

    #[test]
    fn label_selectors() {
        for ok in [
            "",
            "a",
            "!a",
            "a=b",
            "a==b,c!=d",
            "app.kubernetes.io/name=web",
            "a in (b, c),d notin (e)",
            "a in ()",
            "a=",
            "a>3",
            "a in (b,,c)",
        ] {
            assert_eq!(check_label_selector(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_label_selector("a in (b").unwrap_err(),
            "unable to parse requirement: found '', expected: ',' or ')'"
        );
        for bad in [
            "a=b,", "a b", "=b", "a>x", "a in b", "-a=b", "a=b c", "a=-b", "A/b=c",
        ] {
            assert!(check_label_selector(bad).is_err(), "{bad}");
        }
    }
}
