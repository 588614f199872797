//! Bytes per sample of real data: reads a Prometheus `/api/v1/query` answer holding a range
//! vector (a "matrix", e.g. `{__name__=~".+"}[4m]`), encodes every series into 120-sample
//! XOR chunks (the reference greedy encoder and kmon's compacted re-encoding) and prints
//! bytes/sample overall and for the largest metric families, plus how regular the
//! timestamps were (share of zero delta-of-deltas). With `--align MS`, timestamps within
//! MS of the previous one plus the series' usual interval are first moved onto that
//! schedule, to show what scrape-side alignment (Prometheus's `scrape.timestamp-tolerance`)
//! is worth.
//!
//! Run: `cargo run --release --example chunk_sizes -- FILE.json [--align MS]`

use std::collections::BTreeMap;

use kmon::tsdb::chunk::{SAMPLES_PER_CHUNK, XorEncoder, compact};

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Moves each timestamp onto previous + interval (the most common delta) when it is within
/// `tol` ms of it.
fn align_to_schedule(samples: &mut [(i64, f64)], tol: i64) {
    let mut deltas: Vec<i64> = samples.windows(2).map(|w| w[1].0 - w[0].0).collect();
    deltas.sort_unstable();
    let Some(&interval) = deltas.get(deltas.len() / 2) else {
        return;
    };
    for k in 1..samples.len() {
        let expected = samples[k - 1].0 + interval;
        if (samples[k].0 - expected).abs() <= tol {
            samples[k].0 = expected;
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: chunk_sizes FILE.json [--align MS]")?;
    let align: Option<i64> = match args.iter().position(|a| a == "--align") {
        Some(i) => Some(args.get(i + 1).ok_or("--align needs MS")?.parse()?),
        None => None,
    };
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let result = doc["data"]["result"]
        .as_array()
        .ok_or("not a Prometheus matrix answer")?;
    // family → (series, samples, greedy bytes, compacted bytes)
    let mut fams: BTreeMap<String, (usize, usize, usize, usize)> = BTreeMap::new();
    let (mut dods, mut zero_dods) = (0usize, 0usize);
    for series in result {
        let name = series["metric"]["__name__"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let mut samples = Vec::new();
        for pair in series["values"].as_array().into_iter().flatten() {
            let t = pair[0].as_f64().ok_or("timestamp")?;
            let v = parse_value(pair[1].as_str().ok_or("value")?).ok_or("value")?;
            samples.push(((t * 1000.0).round() as i64, v));
        }
        if let Some(tol) = align {
            align_to_schedule(&mut samples, tol);
        }
        for w in samples.windows(3) {
            dods += 1;
            zero_dods += usize::from(w[2].0 - w[1].0 == w[1].0 - w[0].0);
        }
        let e = fams.entry(name).or_default();
        e.0 += 1;
        e.1 += samples.len();
        for chunk in samples.chunks(SAMPLES_PER_CHUNK) {
            let mut enc = XorEncoder::new();
            for &(t, v) in chunk {
                enc.append(t, v);
            }
            e.2 += enc.bytes().len();
            e.3 += compact(enc.bytes()).len();
        }
    }
    let tot = fams.values().fold((0, 0, 0, 0), |a, b| {
        (a.0 + b.0, a.1 + b.1, a.2 + b.2, a.3 + b.3)
    });
    println!(
        "{} series, {} samples, {:.1}% of timestamp delta-of-deltas are 0",
        tot.0,
        tot.1,
        100.0 * zero_dods as f64 / dods.max(1) as f64
    );
    println!(
        "bytes/sample: prometheus xor {:.3}, compacted {:.3}",
        tot.2 as f64 / tot.1 as f64,
        tot.3 as f64 / tot.1 as f64
    );
    let mut by_size: Vec<_> = fams.iter().collect();
    by_size.sort_by_key(|(_, v)| std::cmp::Reverse(v.3));
    println!(
        "{:<50} {:>6} {:>10} {:>10}",
        "largest families", "series", "xor B/s", "compact"
    );
    for (name, (n, s, g, c)) in by_size.iter().take(12) {
        println!(
            "{:<50} {:>6} {:>10.3} {:>10.3}",
            name,
            n,
            *g as f64 / *s as f64,
            *c as f64 / *s as f64
        );
    }
    Ok(())
}
