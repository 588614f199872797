//! `kmon export-screen` as a user runs it: the real binary collects this machine for a few
//! seconds without a terminal, then writes one timestamped folder with the screen (SVG,
//! HTML, ANSI, text) and the data (JSON, CSV); bad sizes and unwritable folders fail with
//! a message that names them.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Runs kmon with `args`, killing it if it takes longer than `limit`. Returns (exit code,
/// stdout, stderr).
fn kmon(args: &[&str], limit: Duration) -> (Option<i32>, String, String) {
    super::support::run_kmon(args, &[], limit)
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

#[test]
fn export_screen_writes_six_files_of_this_machine() {
    let out = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let out_dir = out.path().to_str().expect("utf-8 temp path");
    let data_dir = data.path().to_str().expect("utf-8 temp path");
    let (code, stdout, stderr) = kmon(
        &[
            "export-screen",
            "--local",
            "--after",
            "3s",
            "--interval",
            "500ms",
            "--out",
            out_dir,
            "--size",
            "100x30",
            "--data-dir",
            data_dir,
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "stderr: {stderr}");

    // The one line on stdout is the new folder, under --out.
    let folder = PathBuf::from(stdout.trim_end());
    assert_eq!(folder.parent(), Some(out.path()), "stdout: {stdout}");
    let name = folder.file_name().and_then(|n| n.to_str()).unwrap_or("");
    assert!(name.starts_with("kmon-") && name.len() == "kmon-20250131-123456".len());
    for f in [
        "screen.svg",
        "screen.html",
        "screen.ansi",
        "screen.txt",
        "data.json",
        "data.csv",
    ] {
        assert!(
            folder.join(f).is_file(),
            "{f} missing in {}",
            folder.display()
        );
    }

    let txt = read(&folder, "screen.txt");
    assert!(
        txt.contains("cpu") && txt.contains('%'),
        "screen.txt:\n{txt}"
    );
    let lines: Vec<&str> = txt.lines().collect();
    assert_eq!(lines.len(), 30, "screen.txt:\n{txt}");
    assert!(lines.iter().all(|l| l.chars().count() <= 100), "{txt}");

    let json: serde_json::Value =
        serde_json::from_str(&read(&folder, "data.json")).expect("data.json parses");
    let boxes = json["boxes"].as_array().expect("boxes is a list");
    let names: Vec<&str> = boxes.iter().filter_map(|b| b["box"].as_str()).collect();
    // No query was run, so the query box holds no data.
    assert_eq!(names, ["cpu", "mem", "net", "disks"], "{json}");
    let cpu = &boxes[0]["results"][0];
    assert_eq!(cpu["status"], "success");
    assert_eq!(cpu["data"]["resultType"], "matrix");
    let series = cpu["data"]["result"].as_array().expect("a matrix");
    assert_eq!(series[0]["metric"]["cpu"], "total", "{cpu}");
    assert!(series.len() > 1, "per-core series too: {cpu}");
    let values = series[0]["values"].as_array().expect("values");
    assert!(!values.is_empty(), "{cpu}");
    assert!(
        values[0][0].as_f64().unwrap_or(0.0) > 1.6e9,
        "seconds: {cpu}"
    );
    assert!(values[0][1].is_string(), "values are strings: {cpu}");

    let csv = read(&folder, "data.csv");
    let mut rows = csv.lines();
    assert_eq!(rows.next(), Some("panel,series,timestamp_ms,value"));
    let rows: Vec<&str> = rows.collect();
    assert!(rows.iter().any(|r| r.starts_with("cpu,total,")), "{csv}");
    assert!(
        rows.iter().any(|r| r.starts_with("memory,used_pct,")),
        "{csv}"
    );
    assert!(rows.iter().all(|r| r.split(',').count() == 4), "{csv}");

    let svg = read(&folder, "screen.svg");
    assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.contains("width=\"840\" height=\"480\""),
        "100×8.4 by 30×16"
    );
    let html = read(&folder, "screen.html");
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<pre>"));
    let ansi = read(&folder, "screen.ansi");
    assert_eq!(ansi.matches("\x1b[0m\n").count(), 30);
}

/// `--keys` drives the screen as a user would: a query typed into the query bar and run,
/// then the targets pane; the data export holds what each screen showed.
#[test]
fn export_screen_keys_reach_the_query_box_and_the_targets_pane() {
    let out = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let run = |keys: &[&str]| {
        let mut args = vec![
            "export-screen",
            "--local",
            "--after",
            "2s",
            "--interval",
            "500ms",
            "--out",
            out.path().to_str().expect("utf-8"),
            "--data-dir",
            data.path().to_str().expect("utf-8"),
            "--keys",
        ];
        args.extend_from_slice(keys);
        let (code, stdout, stderr) = kmon(&args, Duration::from_secs(60));
        assert_eq!(code, Some(0), "stderr: {stderr}");
        PathBuf::from(stdout.trim_end())
    };

    let folder = run(&["/", "up", "Enter", "-"]);
    let txt = read(&folder, "screen.txt");
    assert!(txt.contains("up"), "{txt}");
    let json: serde_json::Value = serde_json::from_str(&read(&folder, "data.json")).expect("json");
    let query = json["boxes"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["box"] == "query"))
        .unwrap_or_else(|| panic!("no query box in {json}"));
    // `-` stepped the range down from 15m to 5m.
    let range = &query["range"];
    let span = range["end"].as_f64().unwrap_or(0.0) - range["start"].as_f64().unwrap_or(0.0);
    assert_eq!(span, 300.0, "{query}");
    let result = &query["results"][0];
    assert_eq!(result["expr"], "up");
    assert_eq!(result["status"], "success", "{result}");
    let metric = &result["data"]["result"][0]["metric"];
    assert_eq!(metric["__name__"], "up", "{result}");
    assert_eq!(metric["job"], "node", "{result}");
    let csv = read(&folder, "data.csv");
    assert!(
        csv.lines()
            .any(|r| r.starts_with("query,\"{__name__=\"\"up\"\", ") && r.ends_with(",1")),
        "{csv}"
    );

    let folder = run(&["t"]);
    let txt = read(&folder, "screen.txt");
    assert!(txt.contains("builtin:/proc"), "{txt}");
    let json: serde_json::Value = serde_json::from_str(&read(&folder, "data.json")).expect("json");
    assert_eq!(json["boxes"][0]["box"], "targets", "{json}");
    let active = &json["boxes"][0]["data"]["activeTargets"];
    assert_eq!(active[0]["scrapePool"], "node", "{json}");
    assert_eq!(active[0]["health"], "up", "{json}");
    assert_eq!(json["boxes"].as_array().map(Vec::len), Some(1));
}

#[test]
fn bad_sizes_and_unwritable_folders_are_named() {
    let (code, _, stderr) = kmon(
        &[
            "export-screen",
            "--after",
            "0s",
            "--out",
            ".",
            "--size",
            "120",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("expected COLSxROWS"), "{stderr}");

    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let data = tmp.path().join("data");
    let (code, _, stderr) = kmon(
        &[
            "export-screen",
            "--local",
            "--after",
            "0s",
            "--interval",
            "200ms",
            "--out",
            file.to_str().expect("utf-8"),
            "--data-dir",
            data.to_str().expect("utf-8"),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains(file.to_str().expect("utf-8")), "{stderr}");
}

#[test]
fn export_screen_in_a_theme_and_with_a_broken_one() {
    let out = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let out_dir = out.path().to_str().expect("utf-8 temp path");
    let data_dir = data.path().to_str().expect("utf-8 temp path");
    let broken = out.path().join("broken.theme");
    std::fs::write(
        &broken,
        "theme[main_bg]=\"#000000\"\ntheme[title]=\"nope\"\n",
    )
    .unwrap();
    let run = |theme: &str| {
        kmon(
            &[
                "export-screen",
                "--local",
                "--after",
                "1s",
                "--interval",
                "500ms",
                "--out",
                out_dir,
                "--size",
                "80x24",
                "--data-dir",
                data_dir,
                "--theme",
                theme,
            ],
            Duration::from_secs(60),
        )
    };
    // A shipped theme: the SVG has its exact colours (light's paper background, its cpu
    // box blue), whatever the terminal the command runs in.
    let (code, stdout, stderr) = run("light");
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let svg = read(Path::new(stdout.trim_end()), "screen.svg");
    assert!(svg.contains("#fafaf7"), "light background in the SVG");
    assert!(svg.contains("#2563eb"), "light cpu box in the SVG");

    // A broken file: a warning naming file and line on stderr, and the default theme.
    let (code, stdout, stderr) = run(broken.to_str().unwrap());
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("broken.theme:2:"),
        "{stderr}"
    );
    assert!(stderr.contains("using the default theme"), "{stderr}");
    let svg = read(Path::new(stdout.trim_end()), "screen.svg");
    assert!(svg.contains("#12161d"), "the default background");
}
