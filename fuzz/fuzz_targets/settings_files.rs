//! Fuzz target for kmon's own YAML files and key names: the settings file
//! (`app::settings::parse`), a dashboard file (`app::dashboard::parse`) and
//! `KeyBinding`'s `FromStr`. None may panic; what parses as a dashboard writes back
//! (`to_yaml`) to a file that parses to the same dashboard, and a key that parses prints
//! (`label`) to a name that parses to the same key.
#![no_main]

use kmon::app::{dashboard, settings};
use kmon::tui::KeyBinding;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = settings::parse(&text, "kmon.yaml");
    if let Ok(d) = dashboard::parse(&text, "dash.yaml") {
        let back = dashboard::to_yaml(&d, "fuzz");
        let again = dashboard::parse(&back, "back.yaml")
            .unwrap_or_else(|e| panic!("the written dashboard does not parse: {e}\n{back}"));
        assert_eq!(again, d, "{back}");
    }
    for word in text.split_whitespace().take(16) {
        if let Ok(key) = word.parse::<KeyBinding>() {
            assert_eq!(key.label().parse::<KeyBinding>(), Ok(key), "{word}");
        }
    }
});
