//! The YAML text behind the tree, as Go's YAML decoder sees it: a scalar's text as written
//! (the tree has `yes`, `1.10` as the library read them), where a block scalar starts, the
//! tags and wording of Go's type errors, the first document of several, and the library's
//! own errors in one line. `file` calls these while it walks a rule file.

use serde_saphyr::{MessageFormatter, UserMessageFormatter};

use crate::config::yaml::{Entry, Pos, Value};

/// Go's YAML type error: "cannot unmarshal !!seq into string".
pub(super) fn cannot_unmarshal(value: &Value, text: &str, pos: Pos, go_type: &str) -> String {
    match value {
        Value::Seq(_) => format!("cannot unmarshal !!seq into {go_type}"),
        Value::Map(_) => format!("cannot unmarshal !!map into {go_type}"),
        Value::Null => format!("cannot unmarshal !!null into {go_type}"),
        Value::Scalar(s) => {
            let quoted = matches!(char_at(text, pos), Some('"' | '\''));
            let tag = if quoted { "!!str" } else { scalar_tag(s) };
            format!("cannot unmarshal {tag} `{}` into {go_type}", short(s))
        }
    }
}

/// The YAML 1.1-ish tag Go's decoder would give an unquoted scalar.
pub(super) fn scalar_tag(s: &str) -> &'static str {
    if yaml_int(s).is_some() && !s.contains(['.', 'e', 'E']) {
        "!!int"
    } else if s.parse::<f64>().is_ok() {
        "!!float"
    } else if matches!(s, "true" | "false" | "True" | "False" | "TRUE" | "FALSE") {
        "!!bool"
    } else {
        "!!str"
    }
}

/// An unquoted scalar as an `int`: decimal, `0x`, `0o` or `0b` integers, or a float that
/// fits (truncated toward zero).
pub(super) fn yaml_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let radix = [("0x", 16), ("0o", 8), ("0b", 2)]
        .iter()
        .find_map(|(p, r)| digits.strip_prefix(p).map(|d| (d, *r)));
    let magnitude = match radix {
        Some((d, r)) => i64::from_str_radix(d, r).ok(),
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<i64>().ok()
        }
        None => None,
    };
    if let Some(m) = magnitude {
        return Some(if neg { -m } else { m });
    }
    let f: f64 = s.parse().ok()?;
    // Only YAML float spellings, not Rust's extras ("inf", "nan").
    if !f.is_finite() || !s.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = f.trunc();
    if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&t) {
        Some(t as i64)
    } else {
        None
    }
}

/// Long scalars shortened as Go's YAML messages shorten them.
pub(super) fn short(s: &str) -> String {
    if s.chars().count() > 10 {
        let head: String = s.chars().take(7).collect();
        format!("{head}...")
    } else {
        s.to_string()
    }
}

/// A plain scalar's text as written. The YAML library reads `y`, `on`, `1.10` or `0x1f` as
/// booleans and numbers; Go's decoder puts the text as written into a string field, so
/// the source is read again at the scalar's position for those.
pub(super) fn original_text(text: &str, pos: Pos, parsed: &str) -> String {
    let coerced = matches!(parsed, "true" | "false") || parsed.parse::<f64>().is_ok();
    if !coerced || !pos.is_known() || pos.column == 0 {
        return parsed.to_string();
    }
    let Some(line) = yaml_lines(text).nth(pos.line as usize - 1) else {
        return parsed.to_string();
    };
    let rest: String = line.chars().skip(pos.column as usize - 1).collect();
    // A plain scalar ends at a comment, or in flow style at `,`, `]` or `}`.
    let mut end = rest.len();
    for (i, c) in rest.char_indices() {
        let comment = c == '#' && i > 0 && rest[..i].ends_with([' ', '\t']);
        if comment || matches!(c, ',' | ']' | '}') {
            end = i;
            break;
        }
    }
    let token = rest[..end].trim();
    let plain = !token.is_empty()
        && !token.starts_with(['"', '\'', '&', '*', '!', '|', '>', '[', '{'])
        && !token.contains(": ");
    if plain {
        token.to_string()
    } else {
        parsed.to_string()
    }
}

/// Where a mapping value starts as Go's YAML reports it: for a block scalar (`expr: |`)
/// its `|` or `>` on the key's line, not its first content line.
pub(super) fn value_pos(text: &str, e: &Entry) -> Pos {
    let v = e.value.pos;
    if v.line <= e.key_pos.line || !e.key_pos.is_known() {
        return v;
    }
    let Some(line) = yaml_lines(text).nth(e.key_pos.line as usize - 1) else {
        return v;
    };
    let skip = e.key_pos.column.saturating_sub(1) as usize;
    let after_key: String = line.chars().skip(skip).collect();
    let Some(colon) = after_key.find(':') else {
        return v;
    };
    let rest = &after_key[colon + 1..];
    let spaces = rest.len() - rest.trim_start().len();
    if rest.trim_start().starts_with(['|', '>']) {
        let chars_before = after_key[..colon + 1 + spaces].chars().count();
        Pos {
            line: e.key_pos.line,
            column: e.key_pos.column + chars_before as u32,
        }
    } else {
        v
    }
}

/// The character at a 1-based line and column (columns in characters).
pub(super) fn char_at(text: &str, pos: Pos) -> Option<char> {
    if !pos.is_known() || pos.column == 0 {
        return None;
    }
    let line = yaml_lines(text).nth(pos.line as usize - 1)?;
    line.chars().nth(pos.column as usize - 1)
}

/// A YAML library error: its position and one line of text.
pub(super) fn yaml_error(e: &serde_saphyr::Error) -> (Pos, String) {
    let pos = e
        .location()
        .map(|l| Pos {
            line: u32::try_from(l.line()).unwrap_or(u32::MAX),
            column: u32::try_from(l.column()).unwrap_or(u32::MAX),
        })
        .unwrap_or_default();
    let msg = UserMessageFormatter.format_message(e.without_snippet());
    let flat: String = msg
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    (pos, format!("yaml: {flat}"))
}

/// The first YAML document of a text with several (Go's decoder reads only the first):
/// everything before the first `---` or `...` line that follows some content.
pub(super) fn first_document(text: &str) -> &str {
    let mut seen_content = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let l = line.trim_end_matches(['\n', '\r']);
        let marker = l == "---" || l.starts_with("--- ") || l == "...";
        if marker && seen_content {
            return &text[..offset];
        }
        let t = l.trim_start();
        if !marker && !t.is_empty() && !t.starts_with('#') && !l.starts_with('%') {
            seen_content = true;
        }
        offset += line.len();
    }
    text
}

/// The lines of a text as YAML counts them: broken at `\n`, `\r\n` or a lone `\r`.
pub fn yaml_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n')
        .flat_map(|l| l.strip_suffix('\r').unwrap_or(l).split('\r'))
}
