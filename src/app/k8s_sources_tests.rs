//! Tests of how `k8s://` sources are set aside from the rest of the sources for planning.

use super::*;

fn setting(name: &str, url: &str) -> SourceSetting {
    SourceSetting {
        name: name.into(),
        url: url.into(),
        line: 3,
        ..SourceSetting::default()
    }
}

#[test]
fn k8s_sources_are_set_aside_and_the_rest_goes_to_the_registry() {
    let settings = vec![
        setting("thanos", "http://thanos:10902"),
        setting("cluster", "k8s://monitoring/prometheus-k8s:9090"),
    ];
    let (plan, rest) = super::plan(
        Some("k8s://monitoring/prometheus-operated"),
        &settings,
        None,
    );
    assert_eq!(
        plan.flag_address.as_deref(),
        Some("k8s://monitoring/prometheus-operated")
    );
    assert_eq!(plan.configured, vec![settings[1].clone()]);
    assert_eq!(plan.start, None);
    assert_eq!(rest.flag, None);
    assert_eq!(rest.settings, vec![settings[0].clone()]);

    // --source NAME of a k8s:// setting: started on once connected.
    let (plan, rest) = super::plan(Some("cluster"), &settings, Some("thanos"));
    assert_eq!(
        (plan.start.as_deref(), rest.flag, rest.default),
        (Some("cluster"), None, None)
    );
    // The settings' `source:` naming one.
    let (plan, rest) = super::plan(None, &settings, Some("cluster"));
    assert_eq!(
        (plan.start.as_deref(), rest.default),
        (Some("cluster"), None)
    );
    // Other sources pass through untouched.
    let (plan, rest) = super::plan(Some("thanos"), &settings, None);
    assert_eq!((plan.start, rest.flag.as_deref()), (None, Some("thanos")));
    let (plan, rest) = super::plan(None, &settings, Some("thanos"));
    assert_eq!(
        (plan.start, rest.default.as_deref()),
        (None, Some("thanos"))
    );
}
