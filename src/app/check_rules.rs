//! `kmon check rules [FILE...]`: checks rule files as `promtool check rules` does, with its
//! output: `Checking FILE`, then `  SUCCESS: N rules found` on standard output, or
//! `  FAILED:` and one line per error (file:line:col, group, rule) on standard error. With
//! no file it reads standard input. The `duplicate-rules` lint reports rules that would
//! write the same series; it fails the check only with `--lint-fatal` (exit 3, as
//! promtool). Exit 1 when any file has errors. `kmon check config` uses `check_rule_files`
//! for the config's `rule_files`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::rules::GroupSpec;
use crate::rules::file::{RuleFileError, duplicate_rules, load_rule_file, parse_rule_file};

/// Which lints run (`--lint`), and whether a lint finding fails the check (`--lint-fatal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LintOptions {
    pub duplicate_rules: bool,
    pub fatal: bool,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            duplicate_rules: true,
            fatal: false,
        }
    }
}

impl LintOptions {
    /// promtool's `--lint` values, comma-separated: `all`, `duplicate-rules`, `none`.
    /// Unknown values are named in the error.
    pub fn parse(list: &str, fatal: bool) -> Result<LintOptions, String> {
        let mut out = LintOptions {
            duplicate_rules: false,
            fatal,
        };
        for item in list.split(',') {
            match item.trim() {
                "all" | "duplicate-rules" => out.duplicate_rules = true,
                "none" | "" => {}
                other => {
                    return Err(format!(
                        "unknown lint option {other:?} (all, duplicate-rules, none)"
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// What checking files found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// A file had errors.
    pub errors: bool,
    /// A lint found something.
    pub lint: bool,
}

impl Outcome {
    /// promtool's exit code: 1 for errors, 3 for lint findings with `--lint-fatal`, else 0.
    pub fn exit_code(self, lint: LintOptions) -> ExitCode {
        if self.errors {
            ExitCode::from(1)
        } else if self.lint && lint.fatal {
            ExitCode::from(3)
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// `kmon check rules [--lint L] [--lint-fatal] [FILE...]`.
pub fn check_rules(files: &[PathBuf], lint: LintOptions) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let outcome = if files.is_empty() {
        check_stdin(lint, &mut out, &mut err)?
    } else {
        check_rule_files(files, lint, &mut out, &mut err)?
    };
    Ok(outcome.exit_code(lint))
}

fn check_stdin(
    lint: LintOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Outcome> {
    writeln!(out, "Checking standard input")?;
    let mut text = String::new();
    let result = match std::io::stdin().read_to_string(&mut text) {
        Ok(_) => parse_rule_file("standard input", &text),
        Err(e) => Err(vec![RuleFileError {
            file: "standard input".into(),
            line: 0,
            column: 0,
            group: None,
            rule: None,
            rule_index: None,
            message: format!("cannot read: {e}"),
        }]),
    };
    report(result, lint, out, err)
}

/// Checks each file in turn, writing promtool's report to `out` and `err`.
pub fn check_rule_files(
    files: &[PathBuf],
    lint: LintOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Outcome> {
    let mut total = Outcome::default();
    for f in files {
        writeln!(out, "Checking {}", f.display())?;
        let o = report(load_rule_file(f), lint, out, err)?;
        total.errors |= o.errors;
        total.lint |= o.lint;
    }
    Ok(total)
}

fn report(
    result: Result<Vec<GroupSpec>, Vec<RuleFileError>>,
    lint: LintOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Outcome> {
    let groups = match result {
        Ok(g) => g,
        Err(errors) => {
            writeln!(err, "  FAILED:")?;
            for e in &errors {
                writeln!(err, "{e}")?;
            }
            return Ok(Outcome {
                errors: true,
                lint: false,
            });
        }
    };
    let mut outcome = Outcome::default();
    let dups = if lint.duplicate_rules {
        duplicate_rules(&groups)
    } else {
        Vec::new()
    };
    if dups.is_empty() {
        let n: usize = groups.iter().map(|g| g.rules.len()).sum();
        writeln!(out, "  SUCCESS: {n} rules found")?;
    } else {
        outcome.lint = true;
        writeln!(err, "  FAILED:")?;
        writeln!(err, "lint error {} duplicate rule(s) found.", dups.len())?;
        for (name, labels) in &dups {
            writeln!(err, "Metric: {name}")?;
            writeln!(err, "Label(s):")?;
            for l in labels.iter() {
                writeln!(err, "\t{}: {}", l.name, l.value)?;
            }
        }
        writeln!(err, "Might cause inconsistency while recording expressions")?;
    }
    writeln!(out)?;
    Ok(outcome)
}

/// The rule files a config names, expanded, and the errors of the ones that do not load,
/// for `kmon check config`. A pattern without `*` that matches nothing is an error, as in
/// `promtool check config`.
pub fn config_rule_files(patterns: &[String], base_dir: &Path) -> Result<Vec<PathBuf>, String> {
    let files = crate::rules::file::expand_rule_files(patterns, base_dir)?;
    for p in patterns {
        if !p.contains('*') {
            let path = if Path::new(p).is_absolute() {
                PathBuf::from(p)
            } else {
                base_dir.join(p)
            };
            if !path.exists() {
                return Err(format!("{p:?} does not point to an existing file"));
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(files: &[PathBuf], lint: LintOptions) -> (Outcome, String, String) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let o = check_rule_files(files, lint, &mut out, &mut err).expect("write");
        (
            o,
            String::from_utf8(out).expect("utf8"),
            String::from_utf8(err).expect("utf8"),
        )
    }

    #[test]
    fn success_failure_and_lint_reports() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("good.yml");
        std::fs::write(
            &good,
            "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n",
        )
        .expect("write");
        let bad = dir.path().join("bad.yml");
        std::fs::write(
            &bad,
            "groups:\n  - name: g\n    rules:\n      - record: a\n",
        )
        .expect("write");
        let dup = dir.path().join("dup.yml");
        std::fs::write(
            &dup,
            "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n      - record: a\n        expr: up\n",
        )
        .expect("write");

        let (o, out, err) = run(std::slice::from_ref(&good), LintOptions::default());
        assert_eq!(o, Outcome::default());
        assert_eq!(
            out,
            format!("Checking {}\n  SUCCESS: 1 rules found\n\n", good.display())
        );
        assert_eq!(err, "");

        let (o, _, err) = run(&[bad.clone(), good.clone()], LintOptions::default());
        assert!(o.errors);
        assert_eq!(o.exit_code(LintOptions::default()), ExitCode::from(1));
        assert!(err.starts_with("  FAILED:\n"), "{err}");
        assert!(
            err.contains(&format!(
                "{}:4:9: group \"g\", rule \"a\": field 'expr' must be set in rule",
                bad.display()
            )),
            "{err}"
        );

        let (o, out, err) = run(std::slice::from_ref(&dup), LintOptions::default());
        assert_eq!(
            o,
            Outcome {
                errors: false,
                lint: true
            }
        );
        assert_eq!(o.exit_code(LintOptions::default()), ExitCode::SUCCESS);
        let fatal = LintOptions::parse("duplicate-rules", true).expect("lint");
        assert_eq!(o.exit_code(fatal), ExitCode::from(3));
        assert!(
            err.contains("lint error 1 duplicate rule(s) found.\nMetric: a\nLabel(s):\n"),
            "{err}"
        );
        assert!(out.ends_with("\n\n"), "{out}");
        let none = LintOptions::parse("none", false).expect("lint");
        let (o, _, _) = run(&[dup], none);
        assert_eq!(o, Outcome::default());
        assert!(LintOptions::parse("bogus", false).is_err());
    }

    #[test]
    fn config_rule_files_must_exist_unless_globbed() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.yml"), "groups: []\n").expect("write");
        let pats = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let files = config_rule_files(&pats(&["a.yml", "*.rules"]), dir.path()).expect("ok");
        assert_eq!(files, [dir.path().join("a.yml")]);
        let e = config_rule_files(&pats(&["missing.yml"]), dir.path()).expect_err("missing");
        assert!(e.contains("does not point to an existing file"), "{e}");
    }
}
