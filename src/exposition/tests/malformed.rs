//! Malformed pages: each must fail at the given line:col with a message naming the
//! problem, after yielding the entries before it.

use super::run;
use crate::exposition::Format::{self, OpenMetrics as Om, PromText as Txt};

struct Case {
    format: Format,
    input: &'static str,
    line: usize,
    col: usize,
    message: &'static str,
}

const fn case(
    format: Format,
    input: &'static str,
    line: usize,
    col: usize,
    message: &'static str,
) -> Case {
    Case {
        format,
        input,
        line,
        col,
        message,
    }
}

const CASES: &[Case] = &[
    // ---- Text 0.0.4 -------------------------------------------------------------
    case(Txt, "m{a=\"b} 1\n", 1, 5, "unterminated label value"),
    case(Txt, "m{a=\"b\",c=\"d\"\n", 1, 2, "unterminated label set"),
    case(Txt, "m{a=\"b\"}\n", 1, 9, "expected a sample value"),
    case(Txt, "m\n", 1, 2, "expected a sample value"),
    case(Txt, "m 1.2.3\n", 1, 3, "invalid sample value `1.2.3`"),
    case(Txt, "m 1e999\n", 1, 3, "invalid sample value `1e999`"),
    case(Txt, "m -NaN\n", 1, 3, "invalid sample value `-NaN`"),
    case(Txt, "m 0x1p3\n", 1, 3, "invalid sample value `0x1p3`"),
    case(Txt, "m 1_000\n", 1, 3, "invalid sample value `1_000`"),
    case(Txt, "m 1 12x\n", 1, 5, "invalid timestamp `12x`"),
    case(Txt, "m 1 -5\n", 1, 5, "invalid timestamp `-5`"),
    case(Txt, "m 1 99999999999999999999\n", 1, 5, "invalid timestamp"),
    case(
        Txt,
        "m 1 2 3\n",
        1,
        7,
        "expected the end of the line after the timestamp",
    ),
    case(
        Txt,
        "m 1 # comment\n",
        1,
        5,
        "expected a timestamp or the end of the line",
    ),
    case(Txt, "m{1a=\"b\"} 1\n", 1, 3, "invalid label name"),
    case(Txt, "m{a.b=\"c\"} 1\n", 1, 4, "invalid label name"),
    case(Txt, "m{=\"c\"} 1\n", 1, 3, "expected a label name"),
    case(Txt, "m{a} 1\n", 1, 4, "expected `=`"),
    case(Txt, "m{a=b} 1\n", 1, 5, "expected a quoted label value"),
    case(Txt, "m{\"\"=\"x\"} 1\n", 1, 3, "label name is empty"),
    case(
        Txt,
        "m{a=\"1\",b=\"2\",a=\"3\"} 1\n",
        1,
        15,
        "duplicate label name `a`",
    ),
    case(
        Txt,
        "m{a=\"1\",\"a\"=\"3\"} 1\n",
        1,
        9,
        "duplicate label name `a`",
    ),
    case(
        Txt,
        "m{__name__=\"x\"} 1\n",
        1,
        3,
        "duplicate label name `__name__`",
    ),
    case(Txt, "m{a=\"x\\\n\"} 1\n", 1, 7, "invalid escape sequence"),
    case(Txt, "{a=\"b\"} 1\n", 1, 1, "sample has no metric name"),
    case(Txt, "m{\"n\"} 1\n", 1, 3, "metric name is given twice"),
    case(Txt, "{\"\"} 1\n", 1, 2, "metric name is empty"),
    case(
        Txt,
        "# TYPE m gaugehistogram\n",
        1,
        10,
        "invalid metric type `gaugehistogram`",
    ),
    case(
        Txt,
        "# TYPE m counter \n",
        1,
        10,
        "invalid metric type `counter `",
    ),
    case(
        Txt,
        "# HELP 9m text\n",
        1,
        8,
        "expected a metric name after `HELP`",
    ),
    case(Txt, "-m 1\n", 1, 1, "expected a metric name, `{` or `#`"),
    case(
        Txt,
        "ok 1\n\nm{a=b} 1\n",
        3,
        5,
        "expected a quoted label value",
    ),
    // ---- OpenMetrics 1.0 --------------------------------------------------------
    case(Om, "m 1\n", 2, 1, "does not end with `# EOF`"),
    case(Om, "m 1", 1, 4, "does not end with `# EOF`"),
    case(Om, "", 1, 1, "does not end with `# EOF`"),
    case(Om, "# EOF\nm 1\n", 2, 1, "unexpected data after `# EOF`"),
    case(Om, "# EOF \n", 1, 6, "unexpected data after `# EOF`"),
    case(Om, "m 1\n\n# EOF\n", 2, 1, "blank lines are not allowed"),
    case(
        Om,
        " m 1\n# EOF\n",
        1,
        1,
        "expected a metric name, `{` or `#`",
    ),
    case(
        Om,
        "# TYPE m untyped\n# EOF\n",
        1,
        10,
        "invalid metric type `untyped`",
    ),
    case(Om, "# a comment\n# EOF\n", 1, 1, "invalid comment"),
    case(Om, "#EOF\n", 1, 1, "invalid comment"),
    case(Om, "# HELP m\n# EOF\n", 1, 9, "expected a space and text"),
    case(
        Om,
        "# UNIT m seconds\n# EOF\n",
        1,
        10,
        "unit `seconds` is not a suffix of metric name `m`",
    ),
    case(Om, "m  1\n# EOF\n", 1, 3, "expected a sample value"),
    case(Om, "m{a=\"b\"}1\n# EOF\n", 1, 9, "expected a sample value"),
    case(
        Om,
        "m{a=\"b\", c=\"d\"} 1\n# EOF\n",
        1,
        9,
        "expected a label name",
    ),
    case(
        Om,
        "m{a=\"b\"c=\"d\"} 1\n# EOF\n",
        1,
        8,
        "expected `,` or `}`",
    ),
    case(
        Om,
        "m{a=\"x\ny\"} 1\n# EOF\n",
        1,
        5,
        "unterminated label value",
    ),
    case(Om, "m 1 \n# EOF\n", 1, 5, "expected a timestamp"),
    case(Om, "m 1 NaN\n# EOF\n", 1, 5, "invalid timestamp `NaN`"),
    case(Om, "m 1 1.2.3\n# EOF\n", 1, 5, "invalid timestamp `1.2.3`"),
    case(
        Om,
        "m 1 # {\"x\"} 1\n# EOF\n",
        1,
        8,
        "exemplar labels cannot hold a metric name",
    ),
    case(
        Om,
        "m 1 # {a=\"b\"}\n# EOF\n",
        1,
        14,
        "expected an exemplar value",
    ),
    case(
        Om,
        "m 1 # {a=\"b\"} x\n# EOF\n",
        1,
        15,
        "invalid exemplar value `x`",
    ),
    case(
        Om,
        "m 1 # {a=\"b\"} 1 2 3\n# EOF\n",
        1,
        18,
        "expected the end of the line after the exemplar",
    ),
    case(
        Om,
        "m{a=\"1\",a=\"2\"} 1\n# EOF\n",
        1,
        9,
        "duplicate label name `a`",
    ),
];

#[test]
fn malformed_pages() {
    for case in CASES {
        let err = match run(case.format, case.input) {
            Ok(entries) => panic!(
                "{:?} ({:?}): parsed, want an error: {entries:?}",
                case.input, case.format
            ),
            Err(err) => err,
        };
        let shown = err.to_string();
        assert!(
            (err.line, err.col) == (case.line, case.col) && shown.contains(case.message),
            "{:?} ({:?}):\n  got  {shown}\n  want line {}:{}: …{}…",
            case.input,
            case.format,
            case.line,
            case.col,
            case.message,
        );
    }
}

#[test]
fn error_display_and_excerpt() {
    let page = "# TYPE m gauge\nm{instance=\"a\",job=\"b\",path=\"/x\",instance=\"c\"} 1\n";
    let err = run(Txt, page).expect_err("duplicate label");
    assert_eq!((err.line, err.col), (2, 34));
    assert_eq!(err.excerpt, "th=\"/x\",instance=\"c\"} 1");
    assert_eq!(
        err.to_string(),
        "line 2:34: duplicate label name `instance` near `th=\"/x\",instance=\"c\"} 1`"
    );
    // Columns count characters, not bytes; excerpts stop at 40 characters.
    let page = "m{ä=\"b\"} 1\n";
    let err = run(Txt, page).expect_err("non-ASCII label name");
    assert_eq!((err.line, err.col), (1, 3));
    let long = format!("m 1 # {}\n", "v".repeat(100));
    let err = run(Txt, &long).expect_err("no timestamp");
    assert_eq!((err.line, err.col), (1, 5));
    assert_eq!(err.excerpt, format!("m 1 # {}", "v".repeat(34)));
}

#[test]
fn entries_before_an_error_are_yielded() {
    let page = "a 1\nb 2\nc{ 3\nd 4\n";
    let mut parser = crate::exposition::parse(page, Txt);
    assert!(matches!(parser.next(), Some(Ok(_))));
    assert!(matches!(parser.next(), Some(Ok(_))));
    assert!(matches!(parser.next(), Some(Err(_))));
    assert!(parser.next().is_none());
    assert!(parser.next().is_none());
}

#[test]
fn duplicates_among_many_labels() {
    // More than 16 labels take the sorting path of the duplicate check.
    let mut labels: Vec<String> = (0..20).map(|i| format!("l{i:02}=\"v\"")).collect();
    let ok = format!("m{{{}}} 1\n", labels.join(","));
    assert_eq!(run(Txt, &ok).map(|e| e.len()), Ok(1));
    labels.insert(15, "l18=\"x\"".to_owned());
    labels.insert(3, "l07=\"x\"".to_owned());
    let bad = format!("m{{{}}} 1\n", labels.join(","));
    let err = run(Txt, &bad).expect_err("duplicates");
    // Reported: the first label whose name repeats an earlier one (the original `l07`,
    // after the inserted copy), as the pairwise check does.
    let col = bad.find("l07=\"v\"").map(|i| i + 1);
    assert_eq!((err.line, Some(err.col)), (1, col));
    assert!(
        err.to_string().contains("duplicate label name `l07`"),
        "{err}"
    );
}
