//! The upstream PromQL conformance corpus (`$KMON_PROMQL_CORPUS/v3.5`, Prometheus v3.5.3)
//! run through `promqltest::run_file` with unsupported cases skipped, joined with
//! `v3.5/CASES.tsv`: the pass rate over the core cases must reach `CORE_PASS_RATE_MIN`.
//! kmon's own cases in `tests/promql/*.test` must all pass. When `KMON_CORPUS_REPORT`
//! names a file, the per-file pass rates and the grouped failure reasons are written there.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kmon::promql::ast::{Expr, NumberLiteral, Span};
use kmon::promql::promqltest::{
    self, Command, EvalTime, FileReport, Outcome, RunOptions, parse_file_with,
};

/// The share of core cases (CASES.tsv `core` = yes) that must pass.
const CORE_PASS_RATE_MIN: f64 = 0.97;

/// The v3.5 corpus folder, or `None` (with a note) when it is not there. Under `CI=true`
/// a missing corpus is a failure.
fn corpus_dir() -> Option<PathBuf> {
    let root = std::env::var_os("KMON_PROMQL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/promql-tests"));
    let dir = root.join("v3.5");
    if dir.join("CASES.tsv").is_file() {
        return Some(dir);
    }
    let why = format!("PromQL corpus not found at {}", dir.display());
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{why}: CI must run the conformance corpus (set KMON_PROMQL_CORPUS)");
    }
    println!("skipping: {why} (set KMON_PROMQL_CORPUS)");
    None
}

fn test_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    files
}

fn file_name(p: &str) -> String {
    Path::new(p)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Runs `f` on a thread whose panics (engine bugs turned into failed cases) stay quiet;
/// panics on other threads still reach the previous hook. The hook is installed once.
fn quietly<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    const NAME: &str = "promqltest-quiet";
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some(NAME) {
                previous(info);
            }
        }));
    });
    let r = std::thread::Builder::new()
        .name(NAME.into())
        .spawn(f)
        .expect("spawn the corpus thread")
        .join();
    match r {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// One row of CASES.tsv.
struct CaseRow {
    file: String,
    line: usize,
    core: bool,
    /// `native_histogram` is not `-`.
    hist: bool,
    /// `experimental` is not `-`.
    experimental: bool,
    /// `annotations` is not `-`.
    annotations: bool,
    expr: String,
}

fn read_cases(dir: &Path) -> Vec<CaseRow> {
    let text = std::fs::read_to_string(dir.join("CASES.tsv")).expect("reading CASES.tsv");
    let mut rows = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for l in text.lines() {
        if l.starts_with('#') || l.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = l.split('\t').collect();
        let Some(h) = &header else {
            header = Some(cols.iter().map(|s| s.to_string()).collect());
            continue;
        };
        let col = |name: &str| {
            let i = h
                .iter()
                .position(|c| c == name)
                .unwrap_or_else(|| panic!("CASES.tsv has no column {name}"));
            cols.get(i).copied().unwrap_or("")
        };
        rows.push(CaseRow {
            file: col("file").to_string(),
            line: col("line").parse().expect("a line number"),
            core: col("core") == "yes",
            hist: col("native_histogram") != "-",
            experimental: col("experimental") != "-",
            annotations: col("annotations") != "-",
            expr: col("expr").to_string(),
        });
    }
    rows
}

/// A failure reason with the case-specific parts (label sets, numbers, quoted text)
/// blanked, so that reasons of the same kind group together.
fn reason_class(reason: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    let mut in_quote = false;
    let mut prev_digit = false;
    for c in reason.chars() {
        if in_quote {
            if c == '"' {
                in_quote = false;
            }
            continue;
        }
        match c {
            '{' => {
                if depth == 0 {
                    out.push_str("{…}");
                }
                depth += 1;
            }
            '}' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            '"' => {
                in_quote = true;
                out.push_str("\"…\"");
            }
            c if c.is_ascii_digit() || (prev_digit && matches!(c, '.' | 'e' | '+' | '-')) => {
                if !prev_digit {
                    out.push('N');
                }
                prev_digit = true;
                continue;
            }
            c => out.push(c),
        }
        prev_digit = false;
    }
    let out = out.replace("with @ N evaluated at Nms: ", "with @: ");
    out.chars().take(140).collect()
}

type CaseKey = (String, usize);

fn outcomes(reports: &[FileReport]) -> HashMap<CaseKey, &Outcome> {
    reports
        .iter()
        .flat_map(|r| {
            let name = file_name(&r.file);
            r.cases
                .iter()
                .map(move |c| ((name.clone(), c.line), &c.outcome))
        })
        .collect()
}

/// Failure reasons grouped by `reason_class`, most frequent first: (class, count, core
/// count, up to three example cases).
fn grouped_reasons(
    reports: &[FileReport],
    core: &HashMap<CaseKey, bool>,
) -> Vec<(String, usize, usize, Vec<String>)> {
    let mut groups: BTreeMap<String, (usize, usize, Vec<String>)> = BTreeMap::new();
    for r in reports {
        let name = file_name(&r.file);
        for c in &r.cases {
            if let Outcome::Fail(why) = &c.outcome {
                let is_core = core.get(&(name.clone(), c.line)).copied().unwrap_or(false);
                let g = groups.entry(reason_class(why)).or_default();
                g.0 += 1;
                g.1 += usize::from(is_core);
                if g.2.len() < 3 {
                    g.2.push(format!("{name}:{}", c.line));
                }
            }
        }
    }
    let mut out: Vec<_> = groups
        .into_iter()
        .map(|(k, (n, nc, ex))| (k, n, nc, ex))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// Writes the corpus report: per-file and per-category pass counts with and without
/// `--skip-unsupported`, grouped failure reasons, and the failing core cases.
fn write_corpus_report(
    path: &Path,
    skipping: &[FileReport],
    full: &[FileReport],
    cases: &[CaseRow],
    core_rate: f64,
) {
    let core: HashMap<CaseKey, bool> = cases
        .iter()
        .map(|c| ((c.file.clone(), c.line), c.core))
        .collect();
    let (o_skip, o_full) = (outcomes(skipping), outcomes(full));
    let pass = |o: &HashMap<CaseKey, &Outcome>, c: &CaseRow| {
        o.get(&(c.file.clone(), c.line))
            .is_some_and(|o| o.is_pass())
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "kmon PromQL conformance report: corpus v3.5 (Prometheus v3.5.3), {} cases\n\
         core pass rate: {:.1}% (threshold {:.0}%)\n\
         made by: KMON_CORPUS_REPORT=<file> cargo test --test it promql_corpus\n\
         \"skip\" columns: kmon test promql --skip-unsupported; \"all\": without it\n",
        cases.len(),
        core_rate * 100.0,
        CORE_PASS_RATE_MIN * 100.0
    );
    let _ = writeln!(
        s,
        "{:<26} {:>5} {:>9} | {:>5} {:>5} {:>5} | {:>5} {:>5}",
        "file", "cases", "core", "pass", "fail", "skip", "pass", "fail"
    );
    let _ = writeln!(
        s,
        "{:<26} {:>5} {:>9} | {:^17} | {:^11}",
        "", "", "", "skip", "all"
    );
    let full_by_file: HashMap<String, &FileReport> =
        full.iter().map(|r| (file_name(&r.file), r)).collect();
    for r in skipping {
        let name = file_name(&r.file);
        let sum = r.summary();
        let fsum = full_by_file
            .get(&name)
            .map(|f| f.summary())
            .unwrap_or_default();
        let in_file: Vec<&CaseRow> = cases.iter().filter(|c| c.file == name).collect();
        let core_n = in_file.iter().filter(|c| c.core).count();
        let core_p = in_file
            .iter()
            .filter(|c| c.core && pass(&o_skip, c))
            .count();
        let _ = writeln!(
            s,
            "{:<26} {:>5} {:>9} | {:>5} {:>5} {:>5} | {:>5} {:>5}",
            name,
            r.cases.len(),
            format!("{core_p}/{core_n}"),
            sum.passed,
            sum.failed,
            sum.skipped,
            fsum.passed,
            fsum.failed
        );
    }
    let (t, ft) = (promqltest::total(skipping), promqltest::total(full));
    let _ = writeln!(
        s,
        "{:<26} {:>5} {:>9} | {:>5} {:>5} {:>5} | {:>5} {:>5}\n",
        "TOTAL",
        cases.len(),
        "",
        t.passed,
        t.failed,
        t.skipped,
        ft.passed,
        ft.failed
    );
    let _ = writeln!(
        s,
        "by CASES.tsv category:      cases   pass(skip)   pass(all)"
    );
    type Category<'a> = (&'a str, &'a dyn Fn(&CaseRow) -> bool);
    let cats: [Category<'_>; 5] = [
        ("core", &|c| c.core),
        ("core, annotations checked", &|c| c.core && c.annotations),
        ("experimental", &|c| c.experimental),
        ("native_histogram", &|c| c.hist),
        ("annotations checked", &|c| c.annotations),
    ];
    for (name, f) in cats {
        let sel: Vec<&CaseRow> = cases.iter().filter(|c| f(c)).collect();
        let _ = writeln!(
            s,
            "  {:<26} {:>5} {:>12} {:>11}",
            name,
            sel.len(),
            sel.iter().filter(|c| pass(&o_skip, c)).count(),
            sel.iter().filter(|c| pass(&o_full, c)).count()
        );
    }
    for (title, reports) in [
        ("with --skip-unsupported", skipping),
        ("without --skip-unsupported", full),
    ] {
        let _ = writeln!(
            s,
            "\nfailure reasons {title} (count, of them core, reason with specifics blanked):"
        );
        for (class, n, n_core, ex) in grouped_reasons(reports, &core).iter().take(60) {
            let _ = writeln!(
                s,
                "{n:>5} {n_core:>4}  {class}\n            e.g. {}",
                ex.join(" ")
            );
        }
    }
    let _ = writeln!(s, "\nfailing core cases (--skip-unsupported):");
    for r in skipping {
        let name = file_name(&r.file);
        for c in &r.cases {
            if core.get(&(name.clone(), c.line)).copied().unwrap_or(false)
                && let Outcome::Fail(why) = &c.outcome
            {
                let _ = writeln!(s, "{name}:{}: {}\n    {why}", c.line, c.expr);
            }
        }
    }
    std::fs::write(path, s).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

#[test]
fn v35_corpus_reads_with_the_documented_counts() {
    let Some(dir) = corpus_dir() else { return };
    // The file reader alone, with a stand-in for the PromQL parser.
    let stub = |_: &str| -> Result<Expr, String> {
        Ok(Expr::Number(NumberLiteral {
            value: 0.0,
            span: Span::default(),
        }))
    };
    let (mut evals, mut ranges, mut loads, mut nhcb, mut clears) = (0, 0, 0, 0, 0);
    let mut commands: BTreeMap<String, usize> = BTreeMap::new();
    let mut load_errors = Vec::new();
    for f in test_files(&dir) {
        let text = std::fs::read_to_string(&f).expect("reading a test file");
        let parsed =
            parse_file_with(&text, &stub).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        // Every load block must be accepted, as the upstream storage accepts it.
        let mut store = promqltest::TestStorage::new();
        for c in &parsed.commands {
            match c {
                Command::Eval(e) => {
                    evals += 1;
                    ranges += usize::from(matches!(e.time, EvalTime::Range { .. }));
                    *commands.entry(e.command.clone()).or_default() += 1;
                }
                Command::Load(l) => {
                    loads += 1;
                    nhcb += usize::from(l.with_nhcb);
                    if let Err(e) = store.load(l) {
                        load_errors.push(format!("{}:{}: {e}", f.display(), l.line));
                    }
                }
                Command::Clear { .. } => {
                    clears += 1;
                    store = promqltest::TestStorage::new();
                }
            }
        }
    }
    assert_eq!(
        (evals, ranges, loads, nhcb, clears),
        (1479, 163, 171, 11, 136)
    );
    let want: BTreeMap<String, usize> = [
        ("eval", 1283),
        ("eval_info", 114),
        ("eval_warn", 47),
        ("eval_ordered", 24),
        ("eval_fail", 11),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(commands, want);
}

#[test]
fn v35_corpus_core_pass_rate() {
    let Some(dir) = corpus_dir() else { return };
    let cases = read_cases(&dir);
    assert_eq!(cases.len(), 1479, "CASES.tsv rows");
    let files = test_files(&dir);
    let run = move |skip_unsupported: bool| {
        let files = files.clone();
        quietly(move || {
            let opts = RunOptions {
                skip_unsupported,
                ..RunOptions::default()
            };
            files
                .iter()
                .map(|f| promqltest::run_file(f, &opts))
                .collect::<Vec<FileReport>>()
        })
    };
    let reports = run(true);
    let results: HashMap<(String, usize), (&Outcome, &str)> = reports
        .iter()
        .flat_map(|r| {
            let name = file_name(&r.file);
            r.cases
                .iter()
                .map(move |c| ((name.clone(), c.line), (&c.outcome, c.expr.as_str())))
        })
        .collect();
    let mut missing = Vec::new();
    let (mut core, mut core_pass) = (0usize, 0usize);
    let mut failing = Vec::new();
    for c in &cases {
        let Some((outcome, _)) = results.get(&(c.file.clone(), c.line)) else {
            missing.push(format!("{}:{}", c.file, c.line));
            continue;
        };
        if !c.core {
            continue;
        }
        core += 1;
        match outcome {
            Outcome::Pass => core_pass += 1,
            Outcome::Fail(why) => {
                failing.push(format!("{}:{}: {}\n    {why}", c.file, c.line, c.expr))
            }
            Outcome::Skip(why) => failing.push(format!(
                "{}:{}: {} (skipped: {why})",
                c.file, c.line, c.expr
            )),
        }
    }
    assert!(
        missing.is_empty(),
        "CASES.tsv rows without a result: {missing:?}"
    );
    assert_eq!(
        results.len(),
        cases.len(),
        "results without a CASES.tsv row"
    );
    let rate = core_pass as f64 / core.max(1) as f64;
    let total = promqltest::total(&reports);
    println!(
        "v3.5 corpus: {total}; core {core_pass}/{core} = {:.1}%",
        rate * 100.0
    );
    if let Some(path) = std::env::var_os("KMON_CORPUS_REPORT") {
        let full = run(false);
        write_corpus_report(Path::new(&path), &reports, &full, &cases, rate);
    }
    if rate < CORE_PASS_RATE_MIN {
        for f in &failing {
            println!("{f}");
        }
    }
    assert!(
        rate >= CORE_PASS_RATE_MIN,
        "core pass rate {:.1}% is below {:.0}% ({} failing core cases listed above)",
        rate * 100.0,
        CORE_PASS_RATE_MIN * 100.0,
        failing.len()
    );
}

#[test]
fn kmon_own_promql_cases_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promql");
    let files = test_files(&dir);
    assert!(!files.is_empty(), "no tests/promql/*.test files");
    let reports: Vec<FileReport> = quietly(move || {
        files
            .iter()
            .map(|f| promqltest::run_file(f, &RunOptions::default()))
            .collect()
    });
    let mut out = Vec::new();
    promqltest::write_report(&mut out, &reports, false).expect("writing to memory");
    let text = String::from_utf8_lossy(&out);
    let total = promqltest::total(&reports);
    assert!(
        total.failed == 0 && total.skipped == 0 && reports.iter().all(|r| r.errors.is_empty()),
        "{text}"
    );
    assert!(total.passed > 0, "{text}");
}

/// `kmon test promql` as a user runs it: the report lines, the summary and the exit code.
#[test]
fn kmon_test_promql_command() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("writing a test file");
        p.display().to_string()
    };
    let good = write(
        "good.test",
        "load 1m\n  m{a=\"1\"} 1 2 3\n  h {{schema:0 sum:1 count:1}}\n\n\
         eval instant at 2m m\n  m{a=\"1\"} 3\n\n\
         eval instant at 2m h\n  {} 1\n",
    );
    let bad = write(
        "bad.test",
        "load 1m\n  m 1 2 3\n\neval instant at 1m m\n  m 5\n\neval instant at 1m m\n  m 2\n",
    );
    let broken = write("broken.test", "eval instant at 1m m\n\nbogus line\n");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kmon"))
            .args(["test", "promql"])
            .args(args)
            .output()
            .expect("running kmon");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };

    let (code, out) = run(&["--skip-unsupported", "-v", &good]);
    assert_eq!(code, Some(0), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with(&format!("ok   {good}:5: m")), "{out}");
    assert!(
        lines[1].starts_with(&format!("skip {good}:8: unsupported")),
        "{out}"
    );
    assert_eq!(lines[2], "1 passed, 0 failed, 1 skipped");

    let (code, out) = run(&["--skip-unsupported", &good, &bad, &broken]);
    assert_eq!(code, Some(1), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("FAIL {bad}:4: expected 5 for {{__name__=\"m\"}} but got 2")
    );
    assert!(
        lines[1].starts_with(&format!("ERROR {broken}: file does not parse: line 3:")),
        "{out}"
    );
    assert!(
        lines[2].starts_with(&format!("FAIL {broken}:1: file does not parse: line 3:")),
        "{out}"
    );
    assert_eq!(
        lines.last().copied(),
        Some("2 passed, 2 failed, 1 skipped"),
        "{out}"
    );

    // Without --skip-unsupported the histogram case runs, and fails.
    let (code, out) = run(&[&good]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&format!("FAIL {good}:8:")), "{out}");
}
