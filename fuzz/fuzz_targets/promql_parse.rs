//! Fuzz target for the PromQL parser: lexes and parses the input with every feature
//! switch combination, checks that errors point inside the input, that the lexer covers
//! every byte, and that whatever parses prints to canonical PromQL that parses back to
//! the same text (printing is idempotent).
#![no_main]

use libfuzzer_sys::fuzz_target;

// The parser needs only `model` and these `promql` modules; compile them directly so a
// fuzz build does not pull in the whole application.
#[path = "../../src/model/mod.rs"]
#[allow(dead_code, unused_imports)]
mod model;

#[path = "../../src/promql"]
#[allow(dead_code, unused_imports)]
mod promql {
    pub mod ast;
    pub mod parser;
    pub mod signatures;
}

use promql::parser::{ParseOptions, lexer, parse_metric_selector, parse_with};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let covered: usize = lexer::lex(&text)
        .iter()
        .map(|t| {
            assert!(t.span.start < t.span.end);
            t.span.end - t.span.start
        })
        .sum();
    assert_eq!(covered, text.len());
    for (experimental_functions, duration_expressions) in
        [(false, false), (true, false), (false, true), (true, true)]
    {
        let opts = ParseOptions {
            experimental_functions,
            duration_expressions,
        };
        match parse_with(&text, &opts) {
            Ok(e) => {
                let printed = e.to_string();
                let again = parse_with(&printed, &opts).unwrap_or_else(|err| {
                    panic!(
                        "{text:?} printed as {printed:?}, which does not parse: {}",
                        err.to_prometheus_string(&printed)
                    )
                });
                assert_eq!(again.to_string(), printed, "{text:?}");
                assert_eq!(again.value_type(), e.value_type(), "{text:?}");
            }
            Err(err) => {
                assert!(err.span.start <= err.span.end && err.span.end <= text.len());
                assert!(!err.message.is_empty());
                let (line, col) = err.position(&text);
                assert!(line >= 1 && col >= 1);
                std::hint::black_box(err.to_prometheus_string(&text));
            }
        }
    }
    if let Ok(ms) = parse_metric_selector(&text) {
        std::hint::black_box(ms);
    }
});
