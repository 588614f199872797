//! File name patterns for file discovery and rule files, matched like Go's `filepath.Match`
//! (`*`, `?`, `[a-z]`, `[^...]`, `\` escapes) in the last path element only, which is all
//! Prometheus allows there. The file discoverer calls `expand` on every scan, and
//! `rules::file` when it resolves `rule_files` and `--rules`.

use std::path::{Path, PathBuf};

/// A pattern Go's `filepath.Match` would reject (e.g. an unclosed `[`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern {0:?}")]
pub struct BadPattern(pub String);

/// The regular files matching `pattern`, sorted. A pattern without wildcards names one file
/// and matches when it exists. The directory part is taken literally.
pub fn expand(pattern: &str) -> Result<Vec<PathBuf>, BadPattern> {
    let path = Path::new(pattern);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !has_meta(&name) {
        return Ok(if path.is_file() {
            vec![path.to_path_buf()]
        } else {
            Vec::new()
        });
    }
    // Validate the pattern even when the directory cannot be read, as Go does.
    matches(&name, "").ok_or_else(|| BadPattern(pattern.to_string()))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let Ok(entries) = std::fs::read_dir(dir.unwrap_or(Path::new("."))) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name();
            matches(&name, &n.to_string_lossy()) == Some(true)
        })
        .map(|e| match dir {
            Some(d) => d.join(e.file_name()),
            None => PathBuf::from(e.file_name()),
        })
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    Ok(out)
}

fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '[', '\\'])
}

/// Whether `name` matches `pattern`; `None` for a malformed pattern.
pub fn matches(pattern: &str, name: &str) -> Option<bool> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> Option<bool> {
    let mut pi = 0;
    let mut ni = 0;
    // Backtracking point for the last `*`: (pattern index after it, name index).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            if p[pi] == '*' {
                star = Some((pi + 1, ni));
                pi += 1;
                continue;
            }
            let (ok, width) = match_one(&p[pi..], n.get(ni).copied())?;
            if ok {
                pi += width;
                ni += 1;
                continue;
            }
        } else if ni == n.len() {
            return Some(true);
        }
        match star {
            Some((sp, sn)) if sn < n.len() && n[sn] != '/' => {
                star = Some((sp, sn + 1));
                pi = sp;
                ni = sn + 1;
            }
            _ => {
                // Check the rest of the pattern is well formed before answering "no".
                check_syntax(&p[pi.min(p.len())..])?;
                return Some(false);
            }
        }
    }
}

/// Matches one pattern element (a literal, `?`, `\x` or a class) against `c`. Returns
/// (matched, pattern chars consumed), `None` for bad syntax.
fn match_one(p: &[char], c: Option<char>) -> Option<(bool, usize)> {
    match p[0] {
        '?' => Some((c.is_some_and(|c| c != '/'), 1)),
        '\\' => {
            let lit = *p.get(1)?;
            Some((c == Some(lit), 2))
        }
        '[' => {
            let (set, width) = parse_class(p)?;
            Some((c.is_some_and(|c| set.contains(c)), width))
        }
        lit => Some((c == Some(lit), 1)),
    }
}

struct Class {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl Class {
    fn contains(&self, c: char) -> bool {
        c != '/' && (self.ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != self.negated)
    }
}

/// Parses `[...]` at the start of `p`: Go's syntax, `^` negates, `a-z` ranges, `\` escapes.
fn parse_class(p: &[char]) -> Option<(Class, usize)> {
    let mut i = 1;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *p.get(i)?;
        if c == ']' && !first {
            return Some((Class { negated, ranges }, i + 1));
        }
        first = false;
        let (lo, next) = class_char(p, i)?;
        i = next;
        let hi = if p.get(i) == Some(&'-') {
            let (hi, next) = class_char(p, i + 1)?;
            i = next;
            if hi < lo {
                return None;
            }
            hi
        } else {
            lo
        };
        ranges.push((lo, hi));
    }
}

/// One character inside a class: a literal or an escaped one. `-` and `]` need escaping
/// where they would be read as syntax.
fn class_char(p: &[char], i: usize) -> Option<(char, usize)> {
    match *p.get(i)? {
        '\\' => Some((*p.get(i + 1)?, i + 2)),
        '-' | ']' => None,
        c => Some((c, i + 1)),
    }
}

/// Walks the rest of a pattern, failing on malformed classes or a trailing `\`.
fn check_syntax(p: &[char]) -> Option<()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '*' => i += 1,
            _ => i += match_one(&p[i..], None)?.1,
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_go_filepath_match() {
        let cases: &[(&str, &str, Option<bool>)] = &[
            ("abc", "abc", Some(true)),
            ("*", "abc", Some(true)),
            ("*c", "abc", Some(true)),
            ("a*", "a", Some(true)),
            ("a*", "abc", Some(true)),
            ("a*/b", "abc/b", Some(true)),
            ("a*", "ab/c", Some(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Some(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Some(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Some(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Some(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Some(false)),
            ("ab[c]", "abc", Some(true)),
            ("ab[b-d]", "abc", Some(true)),
            ("ab[e-g]", "abc", Some(false)),
            ("ab[^c]", "abc", Some(false)),
            ("ab[^b-d]", "abc", Some(false)),
            ("ab[^e-g]", "abc", Some(true)),
            ("a\\*b", "a*b", Some(true)),
            ("a\\*b", "ab", Some(false)),
            ("a?b", "a☺b", Some(true)),
            ("a[^a]b", "a☺b", Some(true)),
            ("a???b", "a☺b", Some(false)),
            ("*x", "xxx", Some(true)),
            ("[\\-]", "-", Some(true)),
            ("[x\\-]", "z", Some(false)),
            ("[", "a", None),
            ("[^", "a", None),
            ("[^bc", "a", None),
            ("a[", "a", None),
            ("a[", "ab", None),
            ("*x[", "xxx", None),
            ("[]a]", "]", None),
            ("[-]", "-", None),
            ("[a-b-c]", "a", None),
            ("a\\", "a", None),
            ("targets-*.json", "targets-1.json", Some(true)),
            ("targets-*.json", ".targets-1.json", Some(false)),
            ("*.yml", ".hidden.yml", Some(true)),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(matches(pattern, name), *want, "{pattern} vs {name}");
        }
    }

    #[test]
    fn expands_in_a_directory_sorted_and_files_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["b.json", "a.json", "c.yml", "skip.txt"] {
            std::fs::write(dir.path().join(name), "[]").expect("write");
        }
        std::fs::create_dir(dir.path().join("d.json")).expect("mkdir");
        let pattern = dir.path().join("*.json");
        let got = expand(&pattern.to_string_lossy()).expect("valid pattern");
        assert_eq!(got, [dir.path().join("a.json"), dir.path().join("b.json")]);
        let literal = dir.path().join("c.yml");
        assert_eq!(
            expand(&literal.to_string_lossy()).expect("valid"),
            [literal]
        );
        let missing = dir.path().join("nope.yml");
        assert!(
            expand(&missing.to_string_lossy())
                .expect("valid")
                .is_empty()
        );
        let bad = dir.path().join("[.json");
        assert!(expand(&bad.to_string_lossy()).is_err());
        let no_dir = dir.path().join("missing/*.json");
        assert!(expand(&no_dir.to_string_lossy()).expect("valid").is_empty());
    }
}
