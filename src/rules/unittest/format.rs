//! The unit-test file of `promtool test rules`, read from the position-aware YAML tree
//! (`config::yaml`) as strictly as promtool's `yaml.UnmarshalStrict`: an unknown key, a
//! repeated key or a value of the wrong kind is an error that names its line, and all such
//! errors of a file are reported together in yaml.v2's layout
//! (`yaml: unmarshal errors:\n  line 4: field foo not found in type main.testGroup`).
//! The runner (`super::runner`) takes the parsed `UnitTestFile`.

use serde_saphyr::{DuplicateKeyPolicy, NonFiniteFloatPolicy};

use crate::config::yaml::{Entry, Node, Pos, Value};
use crate::model::{Label, Labels, parse_duration};

/// The default `evaluation_interval` (1m), in ms.
pub const DEFAULT_EVALUATION_INTERVAL: i64 = 60_000;

/// A whole test file.
#[derive(Debug, Clone, Default)]
pub struct UnitTestFile {
    /// The `rule_files` patterns as written (relative to the test file's directory).
    pub rule_files: Vec<String>,
    /// `evaluation_interval` in ms; 0 when unset (the runner then uses 1m).
    pub evaluation_interval: i64,
    pub group_eval_order: Vec<String>,
    pub tests: Vec<TestGroup>,
    pub fuzzy_compare: bool,
}

/// One entry of `tests`: input series and the checks against them.
#[derive(Debug, Clone, Default)]
pub struct TestGroup {
    /// `interval` in ms; 0 when unset (the runner then uses the evaluation interval).
    pub interval: i64,
    pub input_series: Vec<InputSeries>,
    pub alert_rule_tests: Vec<AlertTestCase>,
    pub promql_expr_tests: Vec<PromqlTestCase>,
    pub external_labels: Labels,
    pub external_url: String,
    /// `name`, "" when unset.
    pub name: String,
}

/// One `input_series` item: the series in PromQL notation and its values in the expanding
/// notation of promqltest's `load` (`1+2x3 _ stale`).
#[derive(Debug, Clone, Default)]
pub struct InputSeries {
    pub series: String,
    pub values: String,
    /// Where the item starts in the file.
    pub line: u32,
}

/// One `alert_rule_test` item.
#[derive(Debug, Clone, Default)]
pub struct AlertTestCase {
    /// `eval_time` in ms.
    pub eval_time: i64,
    pub alertname: String,
    pub exp_alerts: Vec<ExpAlert>,
}

/// One expected alert: its labels (without `alertname`) and annotations, as written.
/// Pairs, not `Labels`, because an empty value is a value here (and then never matches).
#[derive(Debug, Clone, Default)]
pub struct ExpAlert {
    pub exp_labels: Vec<(String, String)>,
    pub exp_annotations: Vec<(String, String)>,
}

/// One `promql_expr_test` item.
#[derive(Debug, Clone, Default)]
pub struct PromqlTestCase {
    pub expr: String,
    /// `eval_time` in ms.
    pub eval_time: i64,
    pub exp_samples: Vec<ExpSample>,
}

/// One expected sample: the series as a string, and its value (or a histogram literal).
#[derive(Debug, Clone, Default)]
pub struct ExpSample {
    pub labels: String,
    pub value: f64,
    pub histogram: String,
}

/// Parses a test file. The error text is what promtool prints for the file.
pub fn parse_test_file(text: &str) -> Result<UnitTestFile, String> {
    // Repeated keys are let through here so the reader reports them with their line.
    let options = serde_saphyr::options! {
        duplicate_keys: DuplicateKeyPolicy::LastWins,
        non_finite_float_policy: NonFiniteFloatPolicy::AsString,
        strict_booleans: true,
    };
    let root: Node = match serde_saphyr::from_str_with_options::<Option<Node>>(text, options) {
        Ok(n) => n.unwrap_or_else(Node::null),
        Err(e) => return Err(syntax_error(&e)),
    };
    let mut r = Reader { errors: Vec::new() };
    let file = r.unit_test_file(&root);
    if r.errors.is_empty() {
        Ok(file)
    } else {
        let lines: Vec<String> = r
            .errors
            .iter()
            .map(|(pos, m)| format!("  line {}: {m}", pos.line))
            .collect();
        Err(format!("yaml: unmarshal errors:\n{}", lines.join("\n")))
    }
}

fn syntax_error(e: &serde_saphyr::Error) -> String {
    let msg: String = e
        .without_snippet()
        .to_string()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match e.location() {
        Some(l) => format!("yaml: line {}: {msg}", l.line()),
        None => format!("yaml: {msg}"),
    }
}

struct Reader {
    errors: Vec<(Pos, String)>,
}

/// yaml.v2's tag names for the kinds of node, as its "cannot unmarshal" errors show them.
fn tag_of(n: &Node) -> &'static str {
    match &n.value {
        Value::Null => "!!null",
        Value::Scalar(_) => "!!str",
        Value::Seq(_) => "!!seq",
        Value::Map(_) => "!!map",
    }
}

impl Reader {
    fn fail(&mut self, pos: Pos, msg: String) {
        self.errors.push((pos, msg));
    }

    fn wrong_kind(&mut self, n: &Node, into: &str) {
        let shown = match &n.value {
            Value::Scalar(s) => format!("{} `{s}`", tag_of(n)),
            _ => tag_of(n).to_string(),
        };
        self.fail(n.pos, format!("cannot unmarshal {shown} into {into}"));
    }

    /// The entries of a mapping; null is an empty mapping. Repeated keys are errors.
    fn map<'a>(&mut self, n: &'a Node, ty: &str) -> &'a [Entry] {
        match &n.value {
            Value::Map(entries) => {
                for (i, e) in entries.iter().enumerate() {
                    if entries[..i].iter().any(|p| p.key == e.key) {
                        self.fail(e.key_pos, format!("key {:?} already set in map", e.key));
                    }
                }
                entries
            }
            Value::Null => &[],
            _ => {
                self.wrong_kind(n, ty);
                &[]
            }
        }
    }

    fn seq<'a>(&mut self, n: &'a Node, ty: &str) -> &'a [Node] {
        match &n.value {
            Value::Seq(items) => items,
            Value::Null => &[],
            _ => {
                self.wrong_kind(n, ty);
                &[]
            }
        }
    }

    fn unknown(&mut self, e: &Entry, ty: &str) {
        self.fail(
            e.key_pos,
            format!("field {} not found in type main.{ty}", e.key),
        );
    }

    fn string(&mut self, n: &Node) -> String {
        match &n.value {
            Value::Scalar(s) => s.clone(),
            Value::Null => String::new(),
            _ => {
                self.wrong_kind(n, "string");
                String::new()
            }
        }
    }

    fn strings(&mut self, n: &Node) -> Vec<String> {
        let items = self.seq(n, "[]string");
        items.iter().map(|i| self.string(i)).collect()
    }

    /// A `model.Duration`: Prometheus's notation, in ms.
    fn duration(&mut self, n: &Node) -> i64 {
        let text = match &n.value {
            Value::Null => return 0,
            Value::Scalar(s) => s.clone(),
            _ => {
                self.wrong_kind(n, "string");
                return 0;
            }
        };
        match parse_duration(&text) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => {
                self.fail(n.pos, e.to_string());
                0
            }
        }
    }

    fn bool(&mut self, n: &Node) -> bool {
        match &n.value {
            Value::Null => false,
            Value::Scalar(s) => match s.as_str() {
                "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y"
                | "Y" => true,
                "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n"
                | "N" => false,
                _ => {
                    self.wrong_kind(n, "bool");
                    false
                }
            },
            _ => {
                self.wrong_kind(n, "bool");
                false
            }
        }
    }

    fn float(&mut self, n: &Node) -> f64 {
        match &n.value {
            Value::Null => 0.0,
            Value::Scalar(s) => match yaml_float(s) {
                Some(v) => v,
                None => {
                    self.wrong_kind(n, "float64");
                    0.0
                }
            },
            _ => {
                self.wrong_kind(n, "float64");
                0.0
            }
        }
    }

    /// A `map[string]string`, sorted by name.
    fn string_map(&mut self, n: &Node) -> Vec<(String, String)> {
        let entries = self.map(n, "map[string]string");
        let mut out: Vec<(String, String)> = Vec::with_capacity(entries.len());
        for e in entries {
            let v = self.string(&e.value);
            out.retain(|(k, _)| *k != e.key);
            out.push((e.key.clone(), v));
        }
        out.sort();
        out
    }

    fn unit_test_file(&mut self, n: &Node) -> UnitTestFile {
        let mut f = UnitTestFile::default();
        for e in self.map(n, "main.unitTestFile") {
            let v = &e.value;
            match e.key.as_str() {
                "rule_files" => f.rule_files = self.strings(v),
                "evaluation_interval" => f.evaluation_interval = self.duration(v),
                "group_eval_order" => f.group_eval_order = self.strings(v),
                "tests" => {
                    let items = self.seq(v, "[]main.testGroup");
                    f.tests = items.iter().map(|i| self.test_group(i)).collect();
                }
                "fuzzy_compare" => f.fuzzy_compare = self.bool(v),
                _ => self.unknown(e, "unitTestFile"),
            }
        }
        f
    }

    fn test_group(&mut self, n: &Node) -> TestGroup {
        let mut g = TestGroup::default();
        for e in self.map(n, "main.testGroup") {
            let v = &e.value;
            match e.key.as_str() {
                "interval" => g.interval = self.duration(v),
                "input_series" => {
                    let items = self.seq(v, "[]main.series");
                    g.input_series = items.iter().map(|i| self.series(i)).collect();
                }
                "alert_rule_test" => {
                    let items = self.seq(v, "[]main.alertTestCase");
                    g.alert_rule_tests = items.iter().map(|i| self.alert_test(i)).collect();
                }
                "promql_expr_test" => {
                    let items = self.seq(v, "[]main.promqlTestCase");
                    g.promql_expr_tests = items.iter().map(|i| self.promql_test(i)).collect();
                }
                "external_labels" => {
                    let pairs = self.string_map(v);
                    g.external_labels = Labels::new(
                        pairs
                            .into_iter()
                            .map(|(k, v)| Label::new(k.as_str(), v.as_str()))
                            .collect(),
                    );
                }
                "external_url" => g.external_url = self.string(v),
                "name" => g.name = self.string(v),
                _ => self.unknown(e, "testGroup"),
            }
        }
        g
    }

    fn series(&mut self, n: &Node) -> InputSeries {
        let mut s = InputSeries {
            line: n.pos.line,
            ..InputSeries::default()
        };
        for e in self.map(n, "main.series") {
            match e.key.as_str() {
                "series" => s.series = self.string(&e.value),
                "values" => s.values = self.string(&e.value),
                _ => self.unknown(e, "series"),
            }
        }
        s
    }

    fn alert_test(&mut self, n: &Node) -> AlertTestCase {
        let mut t = AlertTestCase::default();
        for e in self.map(n, "main.alertTestCase") {
            let v = &e.value;
            match e.key.as_str() {
                "eval_time" => t.eval_time = self.duration(v),
                "alertname" => t.alertname = self.string(v),
                "exp_alerts" => {
                    let items = self.seq(v, "[]main.alert");
                    t.exp_alerts = items.iter().map(|i| self.exp_alert(i)).collect();
                }
                _ => self.unknown(e, "alertTestCase"),
            }
        }
        t
    }

    fn exp_alert(&mut self, n: &Node) -> ExpAlert {
        let mut a = ExpAlert::default();
        for e in self.map(n, "main.alert") {
            match e.key.as_str() {
                "exp_labels" => a.exp_labels = self.string_map(&e.value),
                "exp_annotations" => a.exp_annotations = self.string_map(&e.value),
                _ => self.unknown(e, "alert"),
            }
        }
        a
    }

    fn promql_test(&mut self, n: &Node) -> PromqlTestCase {
        let mut t = PromqlTestCase::default();
        for e in self.map(n, "main.promqlTestCase") {
            let v = &e.value;
            match e.key.as_str() {
                "expr" => t.expr = self.string(v),
                "eval_time" => t.eval_time = self.duration(v),
                "exp_samples" => {
                    let items = self.seq(v, "[]main.sample");
                    t.exp_samples = items.iter().map(|i| self.sample(i)).collect();
                }
                _ => self.unknown(e, "promqlTestCase"),
            }
        }
        t
    }

    fn sample(&mut self, n: &Node) -> ExpSample {
        let mut s = ExpSample::default();
        for e in self.map(n, "main.sample") {
            match e.key.as_str() {
                "labels" => s.labels = self.string(&e.value),
                "value" => s.value = self.float(&e.value),
                "histogram" => s.histogram = self.string(&e.value),
                _ => self.unknown(e, "sample"),
            }
        }
        s
    }
}

/// A YAML 1.1 number as yaml.v2 reads one into a float64: `.inf`, `-.Inf`, `.nan`, decimal
/// and `0x`/`0o`/`0b`/leading-zero octal integers (with `_` separators), and decimal floats.
pub fn yaml_float(s: &str) -> Option<f64> {
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        // How the YAML reader renders the special floats it has already decoded.
        "NaN" => return Some(f64::NAN),
        "inf" => return Some(f64::INFINITY),
        "-inf" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match plain.as_bytes().first() {
        Some(b'-') => (true, &plain[1..]),
        Some(b'+') => (false, &plain[1..]),
        _ => (false, plain.as_str()),
    };
    let int = |digits: &str, radix: u32| -> Option<f64> {
        if digits.is_empty() {
            return None;
        }
        let v = u64::from_str_radix(digits, radix).ok()? as f64;
        Some(if neg { -v } else { v })
    };
    if let Some(h) = body.strip_prefix("0x") {
        return int(h, 16);
    }
    if let Some(b) = body.strip_prefix("0b") {
        return int(b, 2);
    }
    if let Some(o) = body.strip_prefix("0o") {
        return int(o, 8);
    }
    if body.len() > 1 && body.starts_with('0') && body.bytes().all(|b| b.is_ascii_digit()) {
        return int(&body[1..], 8);
    }
    // Decimal: digits with an optional fraction and exponent, or a leading-dot fraction.
    let b = body.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    let whole = digits(&mut i);
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac = digits(&mut i);
        if !whole && !frac {
            return None;
        }
    } else if !whole {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if !digits(&mut i) {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    let v: f64 = body.parse().ok()?;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
rule_files: [rules.yml, 'more/*.yml']
evaluation_interval: 30s
group_eval_order: [b, a]
fuzzy_compare: true
tests:
  - interval: 1m
    name: first
    external_labels: {cluster: c1}
    external_url: http://x/
    input_series:
      - series: 'up{job="a"}'
        values: '1+1x3 _ stale'
    alert_rule_test:
      - eval_time: 5m
        alertname: Down
        exp_alerts:
          - exp_labels: {severity: page, code: 500}
            exp_annotations: {summary: "s"}
      - eval_time: 1h
        alertname: Other
    promql_expr_test:
      - expr: up
        eval_time: 2m
        exp_samples:
          - labels: 'up{job="a"}'
            value: 3
          - labels: 'x'
            value: .nan
  - input_series:
"#;

    #[test]
    fn a_full_file_parses() {
        let f = parse_test_file(GOOD).expect("parses");
        assert_eq!(f.rule_files, vec!["rules.yml", "more/*.yml"]);
        assert_eq!(f.evaluation_interval, 30_000);
        assert_eq!(f.group_eval_order, vec!["b", "a"]);
        assert!(f.fuzzy_compare);
        assert_eq!(f.tests.len(), 2);
        let t = &f.tests[0];
        assert_eq!(t.interval, 60_000);
        assert_eq!(t.name, "first");
        assert_eq!(t.external_labels.get("cluster"), Some("c1"));
        assert_eq!(t.external_url, "http://x/");
        assert_eq!(t.input_series[0].series, "up{job=\"a\"}");
        assert_eq!(t.input_series[0].values, "1+1x3 _ stale");
        assert_eq!(t.alert_rule_tests[0].eval_time, 300_000);
        assert_eq!(
            t.alert_rule_tests[0].exp_alerts[0].exp_labels,
            vec![
                ("code".to_string(), "500".to_string()),
                ("severity".to_string(), "page".to_string())
            ]
        );
        assert!(t.alert_rule_tests[1].exp_alerts.is_empty());
        assert_eq!(t.promql_expr_tests[0].exp_samples[0].value, 3.0);
        assert!(t.promql_expr_tests[0].exp_samples[1].value.is_nan());
        assert!(f.tests[1].input_series.is_empty());
        assert_eq!(f.tests[1].interval, 0);
    }

    #[test]
    fn unknown_fields_and_bad_values_name_their_lines() {
        let doc = "tests:\n  - interval: 1m\n    inptu_series: []\n    promql_expr_test:\n      - expr: up\n        eval_time: 5x\n        exp_samples:\n          - value: abc\n";
        let e = parse_test_file(doc).unwrap_err();
        assert!(e.starts_with("yaml: unmarshal errors:\n"), "{e}");
        assert!(
            e.contains("  line 3: field inptu_series not found in type main.testGroup"),
            "{e}"
        );
        assert!(
            e.contains("line 6: unknown unit \"x\" in duration \"5x\""),
            "{e}"
        );
        assert!(
            e.contains("line 8: cannot unmarshal !!str `abc` into float64"),
            "{e}"
        );
    }

    #[test]
    fn repeated_keys_and_wrong_kinds_are_errors() {
        let e = parse_test_file("tests: []\ntests: []\n").unwrap_err();
        assert!(
            e.contains("line 2: key \"tests\" already set in map"),
            "{e}"
        );
        let e = parse_test_file("tests: 3\n").unwrap_err();
        assert!(
            e.contains("cannot unmarshal !!str `3` into []main.testGroup"),
            "{e}"
        );
        let e = parse_test_file("rule_files: [a\n").unwrap_err();
        assert!(e.starts_with("yaml: "), "{e}");
    }

    #[test]
    fn an_empty_file_is_an_empty_test_file() {
        let f = parse_test_file("").expect("parses");
        assert!(f.tests.is_empty());
        assert_eq!(f.evaluation_interval, 0);
    }

    #[test]
    fn mutated_files_never_panic() {
        // Every single-character deletion and a few replacements at every position.
        let chars: Vec<char> = GOOD.chars().collect();
        for i in 0..chars.len() {
            let mut v = chars.clone();
            v.remove(i);
            let _ = parse_test_file(&v.iter().collect::<String>());
            for c in [':', '\n', '{'] {
                let mut v = chars.clone();
                v[i] = c;
                let _ = parse_test_file(&v.iter().collect::<String>());
            }
        }
    }

    #[test]
    fn yaml_floats_read_like_yaml_v2() {
        assert_eq!(yaml_float("1"), Some(1.0));
        assert_eq!(yaml_float("-2.5e3"), Some(-2500.0));
        assert_eq!(yaml_float(".5"), Some(0.5));
        assert_eq!(yaml_float("0x10"), Some(16.0));
        assert_eq!(yaml_float("010"), Some(8.0));
        assert_eq!(yaml_float("1_000"), Some(1000.0));
        assert_eq!(yaml_float("-.inf"), Some(f64::NEG_INFINITY));
        assert!(yaml_float(".nan").is_some_and(f64::is_nan));
        assert_eq!(yaml_float("abc"), None);
        assert_eq!(yaml_float("1e"), None);
        assert_eq!(yaml_float("."), None);
    }
}
