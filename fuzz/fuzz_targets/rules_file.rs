//! Fuzz target for the rule file loader (`rules::file`): any text, checked strictly and
//! leniently, must never panic; the two must agree (strict succeeds exactly when the lenient
//! parse finds no error, with the same groups), every error must be on a line of the text
//! (as YAML counts lines; or 0 for none), and what loads must keep its group names unique and non-empty.
#![no_main]

use kmon::rules::file::{parse_rule_file, parse_rule_file_lenient, yaml_lines};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (groups, errors) = parse_rule_file_lenient("fuzz.yml", &text);
    let lines = yaml_lines(&text).count() as u32 + 1;
    for e in &errors {
        assert!(e.line <= lines, "{e}: beyond the text's {lines} lines");
        let _ = e.to_string();
    }
    let mut names = std::collections::HashSet::new();
    for g in &groups {
        assert!(!g.name.is_empty(), "a group without a name loaded");
        assert!(
            names.insert(g.name.clone()),
            "group {:?} loaded twice",
            g.name
        );
    }
    match parse_rule_file("fuzz.yml", &text) {
        Ok(strict) => {
            assert!(errors.is_empty());
            assert_eq!(strict.len(), groups.len());
        }
        Err(strict) => assert_eq!(strict, errors),
    }
});
