use super::*;
use crate::model::{Label, MatchOp, stale_nan};
use crate::storage::Appendable;
use crate::storage::MemStorage;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().map(|(n, v)| Label::new(*n, *v)).collect())
}

fn store(data: &[(Labels, Vec<(i64, f64)>)]) -> MemStorage {
    let s = MemStorage::new();
    let mut app = s.appender();
    for (l, points) in data {
        for (t, v) in points {
            app.append(None, l, *t, *v).expect("append");
        }
    }
    app.commit().expect("commit");
    s
}

fn sample_data() -> Vec<(Labels, Vec<(i64, f64)>)> {
    vec![
        (
            labels(&[("__name__", "up"), ("job", "a"), ("instance", "h:1")]),
            vec![(1_700_000_000_000, 1.0), (1_700_000_015_500, 0.0)],
        ),
        (
            labels(&[("__name__", "up"), ("job", "b")]),
            vec![(1_700_000_000_000, 1.0), (1_700_000_015_000, stale_nan())],
        ),
        (
            labels(&[
                ("__name__", "odd.name"),
                ("we ird", "x\"y\nz\\"),
                ("plain", "é ✓"),
            ]),
            vec![
                (1_700_000_000_001, f64::NAN),
                (1_700_000_000_002, f64::INFINITY),
                (1_700_000_000_003, -1e300),
                (1_700_000_000_004, 1.5e-9),
                (1_700_000_000_005, -0.0),
            ],
        ),
    ]
}

fn dumped(s: &MemStorage, m: &[Matcher], format: DumpFormat) -> (String, DumpStats) {
    let mut out = Vec::new();
    let stats = dump(s, m, i64::MIN / 2, i64::MAX / 2, format, &mut out).expect("dump");
    (String::from_utf8(out).expect("utf-8"), stats)
}

fn all() -> Vec<Matcher> {
    vec![Matcher::new(MatchOp::Regex, "__name__", ".+").expect("matcher")]
}

#[test]
fn openmetrics_text() {
    let s = store(&sample_data());
    let (text, stats) = dumped(&s, &all(), DumpFormat::OpenMetrics);
    assert_eq!(
        text,
        "# TYPE \"odd.name\" unknown\n\
         {\"odd.name\",plain=\"é ✓\",\"we ird\"=\"x\\\"y\\nz\\\\\"} NaN 1700000000.001\n\
         {\"odd.name\",plain=\"é ✓\",\"we ird\"=\"x\\\"y\\nz\\\\\"} +Inf 1700000000.002\n\
         {\"odd.name\",plain=\"é ✓\",\"we ird\"=\"x\\\"y\\nz\\\\\"} -1e300 1700000000.003\n\
         {\"odd.name\",plain=\"é ✓\",\"we ird\"=\"x\\\"y\\nz\\\\\"} 1.5e-9 1700000000.004\n\
         {\"odd.name\",plain=\"é ✓\",\"we ird\"=\"x\\\"y\\nz\\\\\"} -0 1700000000.005\n\
         # TYPE up unknown\n\
         up{instance=\"h:1\",job=\"a\"} 1 1700000000\n\
         up{instance=\"h:1\",job=\"a\"} 0 1700000015.5\n\
         up{job=\"b\"} 1 1700000000\n\
         # EOF\n"
    );
    assert_eq!(
        stats,
        DumpStats {
            series: 3,
            samples: 8,
            stale_markers: 1
        }
    );
}

#[test]
fn openmetrics_loads_back_losslessly() {
    let original = store(&sample_data());
    let (text, _) = dumped(&original, &all(), DumpFormat::OpenMetrics);
    let copy = MemStorage::new();
    crate::app::load::load_openmetrics(&text, &copy, 0).expect("loads back");
    let (again, _) = dumped(&copy, &all(), DumpFormat::OpenMetrics);
    assert_eq!(again, text);
    // Bit for bit, but for the staleness marker OpenMetrics cannot carry.
    let bits = |s: &MemStorage| -> Vec<(Labels, Vec<(i64, u64)>)> {
        s.dump()
            .into_iter()
            .map(|(l, ss)| {
                let pts = ss
                    .into_iter()
                    .filter(|p| !is_stale_nan(p.v))
                    .map(|p| {
                        (
                            p.t,
                            if p.v.is_nan() {
                                f64::NAN.to_bits()
                            } else {
                                p.v.to_bits()
                            },
                        )
                    })
                    .collect();
                (l, pts)
            })
            .collect()
    };
    assert_eq!(bits(&copy), bits(&original));
}

#[test]
fn json_and_csv_and_the_selector_and_range() {
    let s = store(&sample_data());
    let job_a = vec![
        Matcher::new(MatchOp::Equal, "__name__", "up").expect("m"),
        Matcher::new(MatchOp::Equal, "job", "a").expect("m"),
    ];
    let (json, stats) = dumped(&s, &job_a, DumpFormat::Json);
    assert_eq!(
        json,
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[\
         {\"metric\":{\"__name__\":\"up\",\"instance\":\"h:1\",\"job\":\"a\"},\
         \"values\":[[1700000000,\"1\"],[1700000015.500,\"0\"]]}]}}\n"
    );
    assert_eq!((stats.series, stats.samples), (1, 2));
    serde_json::from_str::<serde_json::Value>(&json).expect("valid JSON");

    let (csv, _) = dumped(&s, &job_a, DumpFormat::Csv);
    assert_eq!(
        csv,
        "series,timestamp,value\n\
         \"{__name__=\"\"up\"\", instance=\"\"h:1\"\", job=\"\"a\"\"}\",1700000000,1\n\
         \"{__name__=\"\"up\"\", instance=\"\"h:1\"\", job=\"\"a\"\"}\",1700000015.500,0\n"
    );

    // The range cuts samples; nothing matching is an empty but well-formed document.
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let st = dump_with(
        &s,
        &job_a,
        1_700_000_010_000,
        1_700_000_020_000,
        DumpFormat::OpenMetrics,
        &mut out,
        &mut |done, total| seen.push((done, total)),
    )
    .expect("dump");
    // The progress bar hears of every series and of the end.
    assert_eq!(seen.last(), Some(&(1, 1)), "{seen:?}");
    assert_eq!(
        String::from_utf8(out).expect("utf-8"),
        "# TYPE up unknown\nup{instance=\"h:1\",job=\"a\"} 0 1700000015.5\n# EOF\n"
    );
    assert_eq!(st.samples, 1);
    let none = vec![Matcher::new(MatchOp::Equal, "__name__", "nope").expect("m")];
    assert_eq!(dumped(&s, &none, DumpFormat::OpenMetrics).0, "# EOF\n");
    assert_eq!(
        dumped(&s, &none, DumpFormat::Json).0,
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}\n"
    );
}

#[test]
fn floats_and_timestamps() {
    for (v, text) in [
        (0.0, "0"),
        (1.0, "1"),
        (0.1, "0.1"),
        (123456789.0, "123456789"),
        (1e21, "1e21"),
        (1e-7, "1e-7"),
        (f64::NEG_INFINITY, "-Inf"),
    ] {
        assert_eq!(om_float(v), text, "{v}");
        assert_eq!(
            text.parse::<f64>().ok().filter(|p| p.is_finite()),
            Some(v).filter(|v| v.is_finite())
        );
    }
    assert_eq!(om_timestamp(1_500), "1.5");
    assert_eq!(om_timestamp(-1_250), "-1.25");
    assert_eq!(om_timestamp(7_000), "7");
    assert!(legacy_name("a_b:c1") && !legacy_name("1a") && !legacy_name("a.b") && !legacy_name(""));
}
