//! Go (RE2) regular expressions in the regex crate's syntax, so that `label_replace`
//! matches what Prometheus matches. The two dialects mostly agree; where they differ the
//! pattern is rewritten:
//! - `\d`, `\w`, `\s`, `\b` and their negations are ASCII-only in Go;
//! - `\Q…\E` quotes literally; `\0`, `\12`, `\101` are octal character codes;
//! - a `{` that does not start a repetition (`a{,3}`, `a{x`) is a literal, and so is a
//!   lone `}`;
//! - inside a class, `[` (unless it starts `[:name:]`), `&` and `~` are plain characters
//!   in Go but set syntax in the regex crate.
//!
//! Anything Go rejects (`\1`, `\C`, `\Z`, `[a-\d]`) stays as it is and the regex crate
//! rejects it too.

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = "\\t\\n\\f\\r ";

/// `pattern` rewritten for the regex crate.
pub(super) fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    // Inside a class: how many of its items have been read (a leading `]` is literal).
    let mut class: Option<usize> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c == '\\' {
            i = escape(&chars, i, class.is_some(), &mut out);
            if let Some(n) = class.as_mut() {
                *n += 1;
            }
            continue;
        }
        let Some(n) = class else {
            match c {
                '[' => {
                    out.push('[');
                    class = Some(0);
                    if chars.get(i) == Some(&'^') {
                        out.push('^');
                        i += 1;
                    }
                }
                '{' => match repetition_len(&chars[i..]) {
                    Some(len) => {
                        out.push('{');
                        out.extend(&chars[i..i + len]);
                        i += len;
                    }
                    None => out.push_str("\\{"),
                },
                '}' => out.push_str("\\}"),
                c => out.push(c),
            }
            continue;
        };
        match c {
            ']' if n > 0 => {
                out.push(']');
                class = None;
                continue;
            }
            '[' if chars.get(i) == Some(&':') => {
                // A POSIX class `[:name:]`, copied whole.
                out.push('[');
                while let Some(&p) = chars.get(i) {
                    out.push(p);
                    i += 1;
                    if p == ']' {
                        break;
                    }
                }
            }
            '[' | '&' | '~' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        class = Some(n + 1);
    }
    out
}

/// Rewrites the escape after a backslash at `chars[i..]`; returns the index after it.
fn escape(chars: &[char], mut i: usize, in_class: bool, out: &mut String) -> usize {
    let Some(&e) = chars.get(i) else {
        out.push('\\');
        return i;
    };
    i += 1;
    let perl = match e {
        'd' | 'D' => Some(DIGIT),
        'w' | 'W' => Some(WORD),
        's' | 'S' => Some(SPACE),
        _ => None,
    };
    if let Some(set) = perl {
        let negated = e.is_ascii_uppercase();
        match (in_class, negated) {
            (true, false) => out.push_str(set),
            (true, true) | (false, true) => out.push_str(&format!("[^{set}]")),
            (false, false) => out.push_str(&format!("[{set}]")),
        }
        return i;
    }
    match e {
        'b' | 'B' if !in_class => out.push_str(&format!("(?-u:\\{e})")),
        'Q' => {
            let mut literal = String::new();
            while let Some(&q) = chars.get(i) {
                i += 1;
                if q == '\\' && chars.get(i) == Some(&'E') {
                    i += 1;
                    break;
                }
                literal.push(q);
            }
            if in_class {
                for q in literal.chars() {
                    out.push_str(&regex::escape(&q.to_string()));
                }
            } else {
                out.push_str(&regex::escape(&literal));
            }
        }
        // Octal: `\0` and up to two more digits, or `\1`–`\7` followed by another octal
        // digit (a lone `\1` is a back reference, which Go rejects).
        '0'..='7' if e == '0' || chars.get(i).is_some_and(|d| ('0'..='7').contains(d)) => {
            let mut code = e.to_digit(8).unwrap_or(0);
            let mut digits = 1;
            while digits < 3 {
                match chars.get(i).and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        code = code * 8 + d;
                        i += 1;
                        digits += 1;
                    }
                    None => break,
                }
            }
            out.push_str(&format!("\\x{{{code:x}}}"));
        }
        e => {
            out.push('\\');
            out.push(e);
        }
    }
    i
}

/// The length of a valid repetition body `n}`, `n,}` or `n,m}` at the start of `rest`
/// (after its `{`), or `None` when Go would read the `{` as a literal.
fn repetition_len(rest: &[char]) -> Option<usize> {
    let digits = |from: usize| {
        rest[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let min = digits(0);
    if min == 0 {
        return None;
    }
    let mut i = min;
    if rest.get(i) == Some(&',') {
        i += 1;
        i += digits(i);
    }
    (rest.get(i) == Some(&'}')).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::translate;

    /// Whether `pattern`, anchored as label_replace anchors it, compiles and matches `s`.
    fn matches(pattern: &str, s: &str) -> Option<bool> {
        let re = regex::Regex::new(&format!("^(?s:{})$", translate(pattern))).ok()?;
        Some(re.is_match(s))
    }

    #[test]
    fn agrees_with_go_on_what_compiles_and_matches() {
        // Answers of Prometheus 3.5.3 for label_replace on the value below.
        let s = "a{,3}A\n12KK1z";
        for (pattern, want) in [
            ("a\\{,3}A.*", Some(true)),
            ("a{,3}A.*", Some(true)),
            (".*?\\101.*", Some(true)),
            (".*?\\0.*", Some(false)),
            (".*?\\12.*", Some(true)),
            (".*?\\1.*", None),
            ("(?i).*?K.*", Some(true)),
            (".*?\\pN+.*", Some(true)),
            (".*?[[:^alpha:]]+.*", Some(true)),
            (".*?\\z", Some(true)),
            (".*?x*?.*", Some(true)),
            ("(?U).*?x*.*", Some(true)),
            (".*?(?<n>a).*", Some(true)),
            (".*?[a-\\d].*", None),
            (".*?\\Z.*", None),
            (".*?\\C.*", None),
            ("a{1,2}\\{.*", Some(true)),
            ("a{2}.*", Some(false)),
            ("a{x.*", Some(false)),
            (".*z}?", Some(true)),
        ] {
            assert_eq!(
                matches(pattern, s),
                want,
                "{pattern:?} → {:?}",
                translate(pattern)
            );
        }
    }

    #[test]
    fn perl_classes_are_ascii() {
        assert_eq!(matches("\\d+", "١٢"), Some(false));
        assert_eq!(matches("\\d+", "12"), Some(true));
        assert_eq!(matches("[\\d]+", "١٢"), Some(false));
        assert_eq!(matches("[^\\D]+", "12"), Some(true));
        assert_eq!(matches("\\w+", "é"), Some(false));
        assert_eq!(matches("\\W", "é"), Some(true));
        assert_eq!(matches("\\s", "\u{a0}"), Some(false));
        assert_eq!(matches("\\s", "\u{b}"), Some(false));
        assert_eq!(matches("[\\s]", "\t"), Some(true));
        assert_eq!(matches("\\S", "\u{a0}"), Some(true));
        assert_eq!(matches("x\\b.*", "xé"), Some(true));
    }

    #[test]
    fn quoting_and_class_literals() {
        assert_eq!(matches("\\Qa.b(c\\E", "a.b(c"), Some(true));
        assert_eq!(matches("\\Qa.b", "axb"), Some(false));
        assert_eq!(matches("[\\Q]\\E]", "]"), Some(true));
        assert_eq!(matches("[[&&]+", "[&"), Some(true));
        assert_eq!(matches("[]a]+", "]a"), Some(true));
        assert_eq!(matches("[^]a]", "b"), Some(true));
        assert_eq!(matches("[~]", "~"), Some(true));
        assert_eq!(matches("\\", ""), None);
    }
}
