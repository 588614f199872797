//! Crash safety of the data dir, end to end:
//! - kill -9 during ingestion, 24 times at seeded random points on the same dir: a child
//!   process (this test binary re-run on `child_ingests_until_killed`) appends through
//!   `Db` with 5 s blocks, so cuts, checkpoints and compactions happen all the time, and
//!   prints every commit once it has returned; after each kill the dir reopens with every
//!   printed sample present exactly once with its value, `kmon tsdb check` passes, and so
//!   does `promtool tsdb analyze` (when KMON_REF_BIN is set); at the end the real
//!   Prometheus, started on a copy of the dir, serves the same samples as kmon;
//! - kill -9 of a real `kmon serve` scraping itself: the dir reopens cleanly;
//! - a torn WAL tail, a bit-flipped WAL tail and a corrupt middle segment: `kmon tsdb
//!   check` names them, `kmon serve` logs the repair with segment and offset and serves
//!   every earlier (and, for the middle segment, every later) sample;
//! - a bit-flipped block chunk: `kmon tsdb check` names it, `kmon serve` answers for the
//!   other series and the other chunks of the same series.
//!
//! Set KMON_CRASH_SEED to repeat a run's kill points (the seed is printed).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kmon::model::{Labels, MatchOp, Matcher};
use kmon::storage::{Appendable, Queryable, SelectHints};
use kmon::tsdb::db::{Db, DbOptions};
use kmon::tsdb::wal::{SyncPolicy, WalOptions};

use crate::support::{
    ChildGuard, Http, PromOnDir, copy_tree, free_port, ref_bin, run_kmon, urlencode,
};

/// Where the child writes; without it the child test does nothing.
const CHILD_ENV: &str = "KMON_CRASH_CHILD_DIR";
const COMMIT_PREFIX: &str = "KMON_COMMITTED ";
const FIXED: usize = 20;
const STEP: i64 = 100;
const BASE: i64 = 1_700_000_000_000;
/// A new churn series every this many steps.
const CHURN_EVERY: i64 = 37;

fn fixed(i: usize) -> Labels {
    Labels::from_pairs(&[("__name__", "crash_fixed"), ("i", &i.to_string())])
}

fn churn(t: i64) -> Labels {
    let g = (t - BASE) / STEP / CHURN_EVERY;
    Labels::from_pairs(&[("__name__", "crash_churn"), ("g", &g.to_string())])
}

/// The value series `i` (FIXED for the churn series) has at `t`.
fn value(i: usize, t: i64) -> f64 {
    (t - BASE) as f64 / STEP as f64 + i as f64 * 1000.0 + 0.25
}

fn crash_options() -> DbOptions {
    DbOptions {
        block_range_ms: 5_000,
        wal: WalOptions {
            segment_size: 64 * 1024,
            sync: SyncPolicy::Never,
        },
        ..DbOptions::default()
    }
}

/// The child: appends until killed (at most 60 s), printing each commit after it returned.
#[test]
fn child_ingests_until_killed() {
    use std::io::Write;
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let db = Db::open(Path::new(&dir), crash_options()).expect("child: open");
    let mut t = db.time_range().map_or(BASE, |(_, hi)| hi + STEP);
    let mut out = std::io::stdout().lock();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(60) {
        let mut a = db.appender();
        for i in 0..FIXED {
            a.append(None, &fixed(i), t, value(i, t)).expect("append");
        }
        a.append(None, &churn(t), t, value(FIXED, t))
            .expect("append");
        a.commit().expect("commit");
        writeln!(out, "{COMMIT_PREFIX}{t}").expect("stdout");
        out.flush().expect("stdout");
        n += 1;
        if n.is_multiple_of(20) {
            db.cut().expect("cut");
        }
        t += STEP;
    }
}

/// A small seeded generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn seed() -> u64 {
    std::env::var("KMON_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        })
}

fn kill9(child: &ChildGuard) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    // SAFETY: kill(2) with the pid of our own child has no memory-safety preconditions.
    let r = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(r, 0, "kill -9 {pid}");
}

/// Every sample of every series whose name matches `name_re`, by labels.
fn dump(db: &Db, name_re: &str) -> BTreeMap<Labels, Vec<(i64, f64)>> {
    let q = db.querier(i64::MIN / 2, i64::MAX / 2).expect("querier");
    let hints = SelectHints {
        start: i64::MIN / 2,
        end: i64::MAX / 2,
        lazy: false,
    };
    let m = Matcher::new(MatchOp::Regex, "__name__", name_re).expect("matcher");
    q.select(&[m], &hints)
        .expect("select")
        .into_iter()
        .map(|s| (s.labels, s.samples.map(|x| (x.t, x.v)).collect()))
        .collect()
}

/// Checks that the dir holds every committed sample exactly once with its value.
fn verify_committed(dir: &Path, committed: &[i64], round: usize) {
    let db = Db::open(dir, crash_options()).expect("reopen after kill -9");
    let rep = db.open_report();
    assert!(
        rep.quarantined.is_empty(),
        "round {round}: blocks set aside: {:?}",
        rep.quarantined
    );
    for r in &rep.wal.repairs {
        println!("round {round}: WAL repair: {r}");
    }
    let all = dump(&db, "crash_.*");
    let mut by_t: BTreeMap<i64, usize> = BTreeMap::new();
    for (labels, samples) in &all {
        let i = match labels.metric_name() {
            "crash_fixed" => labels
                .get("i")
                .and_then(|v| v.parse::<usize>().ok())
                .expect("an i label"),
            _ => FIXED,
        };
        for w in samples.windows(2) {
            assert!(
                w[0].0 < w[1].0,
                "round {round}: {labels} has {} twice or out of order",
                w[1].0
            );
        }
        for &(t, v) in samples {
            assert_eq!(
                v.to_bits(),
                value(i, t).to_bits(),
                "round {round}: {labels} at {t}"
            );
            if i == FIXED {
                assert_eq!(*labels, churn(t), "round {round}: churn sample at {t}");
            }
            *by_t.entry(t).or_default() += 1;
        }
    }
    for &t in committed {
        assert_eq!(
            by_t.get(&t).copied().unwrap_or(0),
            FIXED + 1,
            "round {round}: the commit at {t} is not whole after kill -9"
        );
    }
    drop(db);
}

/// Runs `kmon tsdb check` on `dir`; panics with its output unless it passes.
fn kmon_check(dir: &Path, what: &str) {
    let (code, out, err) = run_kmon(
        &["tsdb", "check", "--data-dir", &dir.display().to_string()],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{what}: kmon tsdb check:\n{out}{err}");
}

fn promtool_analyze(promtool: &Path, dir: &Path, what: &str) {
    let has_block = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .any(|e| e.path().join("meta.json").is_file());
    if !has_block {
        return;
    }
    let out = Command::new(promtool)
        .args(["tsdb", "analyze"])
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "{what}: promtool tsdb analyze: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn kill_9_during_ingestion_keeps_every_committed_sample() {
    let promtool = ref_bin("promtool");
    let seed = seed();
    println!("kill -9 loop: KMON_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("data");
    let exe = std::env::current_exe().expect("the test binary");
    let mut committed: Vec<i64> = Vec::new();
    const ROUNDS: usize = 24;
    for round in 0..ROUNDS {
        let child = Command::new(&exe)
            .args([
                "--exact",
                "tsdb_crash::child_ingests_until_killed",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD_ENV, &dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the child");
        let mut child = ChildGuard::new(child);
        let stdout = child.stdout().expect("child stdout");
        let (tx, rx) = mpsc::channel::<i64>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(t) = line
                    .strip_prefix(COMMIT_PREFIX)
                    .and_then(|t| t.parse().ok())
                {
                    let _ = tx.send(t);
                }
            }
        });
        // Most kills land while commits run (counted from the first one); one in five
        // counts from the start, so some land while the child opens and replays.
        let delay = Duration::from_millis(10 + rng.below(250));
        if rng.below(5) != 0 {
            let first = rx.recv_timeout(Duration::from_secs(30));
            assert!(first.is_ok(), "round {round}: the child never committed");
            committed.push(first.unwrap_or_default());
        }
        std::thread::sleep(delay);
        kill9(&child);
        assert!(
            child.wait_for_exit(Duration::from_secs(10)).is_some(),
            "round {round}: the child outlived kill -9"
        );
        reader.join().expect("reader");
        committed.extend(rx.try_iter());
        println!(
            "round {round}: killed after {delay:?}, {} commits so far",
            committed.len()
        );
        verify_committed(&dir, &committed, round);
        kmon_check(&dir, &format!("round {round}"));
        if let Some(p) = &promtool {
            promtool_analyze(p, &dir, &format!("round {round}"));
        }
    }
    let metas: Vec<serde_json::Value> = std::fs::read_dir(&dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path().join("meta.json")).ok())
        .filter_map(|b| serde_json::from_slice(&b).ok())
        .collect();
    let top_level = metas
        .iter()
        .filter_map(|m| m["compaction"]["level"].as_u64())
        .max();
    let checkpoint = kmon::tsdb::wal::last_checkpoint(&dir.join("wal")).expect("wal dir");
    println!(
        "{} commits over {ROUNDS} kills, {} blocks (highest compaction level {top_level:?}), \
         WAL checkpoint {checkpoint:?}",
        committed.len(),
        metas.len()
    );
    assert!(committed.len() > ROUNDS, "the children hardly committed");
    prometheus_serves_the_crashed_dir(&dir, work.path());
}

/// The real Prometheus 3.5, started on a copy of the dir the kill loop left, serves the
/// same samples as kmon (counts, minimum, maximum and last value of every series).
fn prometheus_serves_the_crashed_dir(dir: &Path, work: &Path) {
    let Some(prom) = ref_bin("prometheus") else {
        return;
    };
    let (kmon_view, end) = {
        let db = Db::open(
            dir,
            DbOptions {
                read_only: true,
                ..crash_options()
            },
        )
        .expect("open read-only");
        let view: BTreeMap<String, (usize, f64, f64, f64)> = dump(&db, "crash_fixed")
            .into_iter()
            .map(|(l, s)| {
                let min = s.iter().map(|x| x.1).fold(f64::INFINITY, f64::min);
                let max = s.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
                let last = s.last().map_or(f64::NAN, |x| x.1);
                (
                    l.get("i").unwrap_or("").to_string(),
                    (s.len(), min, max, last),
                )
            })
            .collect();
        (view, db.time_range().expect("data").1)
    };
    let copy = work.join("prom");
    copy_tree(dir, &copy);
    let prom = PromOnDir::start(&prom, work, &copy);
    let http = Http::new();
    let url = prom.url.clone();
    let prom_log = || prom.log();
    let mut prom_view: BTreeMap<String, (usize, f64, f64, f64)> = BTreeMap::new();
    for (k, f) in ["count", "min", "max", "last"].iter().enumerate() {
        for (m, v) in instant(&http, &url, &format!("{f}_over_time(crash_fixed[1d])"), end) {
            let e = prom_view
                .entry(m["i"].as_str().unwrap_or("").to_string())
                .or_insert((0, 0.0, 0.0, 0.0));
            match k {
                0 => e.0 = v as usize,
                1 => e.1 = v,
                2 => e.2 = v,
                _ => e.3 = v,
            }
        }
    }
    assert_eq!(prom_view, kmon_view, "log:\n{}", prom_log());
    assert!(
        !prom_log().to_lowercase().contains("corrupt"),
        "{}",
        prom_log()
    );
    println!(
        "prometheus serves the crashed dir as kmon does: {} series",
        prom_view.len()
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A running `kmon serve` on `dir` with its URL.
struct Serve {
    child: ChildGuard,
    url: String,
}

fn start_serve(dir: &Path, config: Option<&Path>, port: u16, http: &Http) -> Serve {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kmon"));
    cmd.args(["serve", "--local", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir)
        .args(["--interval", "500ms"]);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kmon serve");
    let mut child = ChildGuard::new(child);
    let url = format!("http://127.0.0.1:{port}");
    assert!(
        http.wait_ok(&format!("{url}/-/ready"), Duration::from_secs(30)),
        "kmon serve not ready (exited: {:?})",
        child.exited()
    );
    Serve { child, url }
}

/// The result vector of an instant query as (labels text, value).
fn instant(http: &Http, url: &str, q: &str, t_ms: i64) -> Vec<(serde_json::Value, f64)> {
    let u = format!(
        "{url}/api/v1/query?query={}&time={}",
        urlencode(q),
        t_ms as f64 / 1000.0
    );
    let (code, body) = http.get(&u).expect("query answered");
    assert_eq!(code, 200, "{q}: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    v["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|s| {
            let x = s["value"][1]
                .as_str()
                .and_then(|x| x.parse().ok())
                .unwrap_or(f64::NAN);
            (s["metric"].clone(), x)
        })
        .collect()
}

#[test]
fn kill_9_of_kmon_serve_scraping_reopens_cleanly() {
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("data");
    let http = Http::new();
    let mut rng = Rng(seed());
    let mut seen_before = 0.0;
    for round in 0..3 {
        let port = free_port();
        let cfg = work.path().join("prometheus.yml");
        std::fs::write(
            &cfg,
            format!(
                "global:\n  scrape_interval: 500ms\n  scrape_timeout: 400ms\nscrape_configs:\n  - job_name: self\n    \
                 static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
            ),
        )
        .expect("config");
        let s = start_serve(&dir, Some(&cfg), port, &http);
        let q = "sum(count_over_time(up{job=\"self\"}[1h]))";
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut count = 0.0;
        while Instant::now() < deadline {
            count = instant(&http, &s.url, q, now_ms())
                .first()
                .map_or(0.0, |r| r.1);
            if count > seen_before {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        assert!(
            count > seen_before,
            "round {round}: no new scrape of itself ({count} up samples, {seen_before} before)"
        );
        std::thread::sleep(Duration::from_millis(200 + rng.below(1500)));
        let before = instant(&http, &s.url, q, now_ms())
            .first()
            .map_or(0.0, |r| r.1);
        let mut child = s.child;
        kill9(&child);
        assert!(child.wait_for_exit(Duration::from_secs(10)).is_some());
        {
            let db = Db::open(&dir, DbOptions::default()).expect("reopen after kill -9");
            assert!(db.open_report().quarantined.is_empty());
            let up = dump(&db, "up");
            let n: usize = up
                .iter()
                .filter(|(l, _)| l.get("job") == Some("self"))
                .map(|(_, s)| s.len())
                .sum();
            assert!(
                n as f64 >= before,
                "round {round}: {n} up samples after the kill, {before} served before"
            );
            seen_before = n as f64;
        }
        kmon_check(&dir, &format!("serve round {round}"));
    }
}

/// A data dir whose WAL (3 segments of 64 KiB) holds `n` commits of 3 series `tail_m`
/// at 1 s steps ending about now; returns the commits' timestamps.
fn wal_data_dir(dir: &Path, n: i64) -> Vec<i64> {
    let t0 = (now_ms() - n * 1000 - 60_000) / 1000 * 1000;
    let db = Db::open(
        dir,
        DbOptions {
            wal: WalOptions {
                segment_size: 64 * 1024,
                sync: SyncPolicy::Always,
            },
            ..DbOptions::default()
        },
    )
    .expect("open");
    let mut ts = Vec::new();
    for k in 0..n {
        let t = t0 + k * 1000;
        let mut a = db.appender();
        for i in 0..3 {
            let l = Labels::from_pairs(&[("__name__", "tail_m"), ("i", &i.to_string())]);
            a.append(None, &l, t, (k * 10 + i) as f64).expect("append");
        }
        a.commit().expect("commit");
        ts.push(t);
    }
    ts
}

/// The WAL segments holding data, in order.
fn data_segments(dir: &Path) -> Vec<PathBuf> {
    kmon::tsdb::wal::list_segments(&dir.join("wal"))
        .expect("segments")
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| std::fs::metadata(p).map_or(0, |m| m.len()) > 0)
        .collect()
}

/// The sample timestamps each record of the segment holds, with the record's offset.
fn record_times(seg: &Path) -> Vec<(u64, Vec<i64>)> {
    use kmon::tsdb::wal::record::{Record, decode};
    let mut out = Vec::new();
    kmon::tsdb::wal::scan_segment(seg, |f| {
        if let Ok(Record::Samples(s)) = decode(f.data) {
            let mut ts: Vec<i64> = s.iter().map(|x| x.t).collect();
            ts.dedup();
            out.push((f.offset, ts));
        }
    })
    .expect("scan");
    out
}

/// The `tail_m` timestamps `kmon serve` answers with, per series.
fn served_times(http: &Http, url: &str, t_end: i64) -> Vec<Vec<i64>> {
    let u = format!(
        "{url}/api/v1/query?query={}&time={}",
        urlencode("tail_m[2h]"),
        t_end as f64 / 1000.0
    );
    let (code, body) = http.get(&u).expect("query answered");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let mut out = vec![Vec::new(); 3];
    for s in v["data"]["result"].as_array().cloned().unwrap_or_default() {
        let i: usize = s["metric"]["i"]
            .as_str()
            .and_then(|x| x.parse().ok())
            .expect("i label");
        for p in s["values"].as_array().cloned().unwrap_or_default() {
            let t = (p[0].as_f64().unwrap_or(0.0) * 1000.0).round() as i64;
            out[i].push(t);
        }
    }
    out
}

fn stop(mut s: Serve) {
    let pid = libc::pid_t::try_from(s.child.id()).expect("a pid");
    // SAFETY: kill(2) with the pid of our own child has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    s.child.wait_for_exit(Duration::from_secs(20));
}

/// Damages the WAL of a fresh data dir with `damage` (given the data segments), then
/// checks that `kmon tsdb check` names the damaged file, that `kmon serve` logs the
/// repair with its segment and offset and serves exactly the samples of `kept(ts, segs)`.
fn wal_damage_case(
    what: &str,
    damage: impl FnOnce(&[PathBuf]) -> PathBuf,
    lost: impl FnOnce(&[i64], &[PathBuf]) -> Vec<i64>,
) {
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("data");
    let ts = wal_data_dir(&dir, 3000);
    let segs = data_segments(&dir);
    assert!(segs.len() >= 3, "{what}: {} segments", segs.len());
    let gone = lost(&ts, &segs);
    let damaged = damage(&segs);
    let name = damaged
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (code, out, _) = run_kmon(
        &["tsdb", "check", "--data-dir", &dir.display().to_string()],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(1), "{what}: check should fail:\n{out}");
    assert!(
        out.lines()
            .any(|l| l.contains(&damaged.display().to_string()) && l.contains("at offset")),
        "{what}: check does not name {name}:\n{out}"
    );

    let http = Http::new();
    let s = start_serve(&dir, None, free_port(), &http);
    let served = served_times(&http, &s.url, now_ms());
    let want: Vec<i64> = ts.iter().copied().filter(|t| !gone.contains(t)).collect();
    for (i, got) in served.iter().enumerate() {
        assert_eq!(got, &want, "{what}: series {i}");
    }
    stop(s);
    let log = std::fs::read_to_string(dir.join("kmon.log")).expect("kmon.log");
    let seg_no: u32 = name.parse().expect("segment number");
    assert!(
        log.lines().any(|l| l.contains("WAL segment damaged")
            && l.contains(&format!("segment={seg_no}"))
            && l.contains("offset=")),
        "{what}: no repair logged for segment {seg_no}:\n{log}"
    );
    kmon_check(&dir, &format!("{what}, after the repair"));
}

#[test]
fn a_torn_wal_tail_is_cut_and_every_earlier_sample_served() {
    wal_damage_case(
        "torn tail",
        |segs| {
            let last = segs.last().expect("a segment").clone();
            let len = std::fs::metadata(&last).expect("len").len();
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&last)
                .expect("open");
            f.set_len(len - 5).expect("truncate");
            last
        },
        |ts, _| vec![*ts.last().expect("a commit")],
    );
}

#[test]
fn a_bit_flipped_wal_tail_is_cut_and_every_earlier_sample_served() {
    wal_damage_case(
        "bit-flipped tail",
        |segs| {
            let last = segs.last().expect("a segment").clone();
            let mut b = std::fs::read(&last).expect("read");
            let n = b.len();
            b[n - 3] ^= 0x20;
            std::fs::write(&last, &b).expect("write");
            last
        },
        |ts, _| vec![*ts.last().expect("a commit")],
    );
}

#[test]
fn a_corrupt_middle_segment_keeps_every_good_record_around_it() {
    // The records of the middle segment from the one holding the middle of the file on.
    let cut_at = std::cell::Cell::new(0u64);
    wal_damage_case(
        "corrupt middle segment",
        |segs| {
            let mid = segs[1].clone();
            let mut b = std::fs::read(&mid).expect("read");
            let at = cut_at.get() as usize + 10;
            b[at] ^= 0x01;
            std::fs::write(&mid, &b).expect("write");
            mid
        },
        |_, segs| {
            let recs = record_times(&segs[1]);
            let half = recs.len() / 2;
            cut_at.set(recs[half].0);
            recs[half..].iter().flat_map(|(_, t)| t.clone()).collect()
        },
    );
}

#[test]
fn a_bit_flipped_block_chunk_is_named_and_everything_else_served() {
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("data");
    const N: i64 = 6 * 240; // 6h at 15 s
    // Start on a 2h boundary, so the oldest block is whole (four chunks per series)
    // whatever the time of day: the flipped chunk is then one of several.
    let t0 = (now_ms() - N * 15_000) / 7_200_000 * 7_200_000;
    {
        let db = Db::open(&dir, DbOptions::default()).expect("open");
        for k in 0..N {
            let mut a = db.appender();
            for i in 0..3 {
                let l = Labels::from_pairs(&[("__name__", "blk_m"), ("i", &i.to_string())]);
                a.append(None, &l, t0 + k * 15_000, k as f64)
                    .expect("append");
            }
            a.commit().expect("commit");
        }
        assert!(!db.cut().expect("cut").written.is_empty());
    }
    // The oldest block; its first chunk belongs to blk_m{i="0"}.
    let mut blocks: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("meta.json").is_file())
        .collect();
    blocks.sort();
    let block = blocks[0].clone();
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(block.join("meta.json")).expect("meta"))
            .expect("json");
    let (bmin, bmax) = (
        meta["minTime"].as_i64().expect("minTime"),
        meta["maxTime"].as_i64().expect("maxTime"),
    );
    let seg = block.join("chunks").join("000001");
    let mut b = std::fs::read(&seg).expect("read");
    b[8 + 30] ^= 0x08;
    std::fs::write(&seg, &b).expect("write");

    let (code, out, _) = run_kmon(
        &["tsdb", "check", "--data-dir", &dir.display().to_string()],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(1), "{out}");
    let ulid = block
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let line = out
        .lines()
        .find(|l| l.contains(&ulid))
        .unwrap_or_else(|| panic!("check does not name block {ulid}:\n{out}"));
    assert!(
        line.contains("000001 at offset 8")
            && line.contains("i=\"0\"")
            && line.contains("chunk 0x8"),
        "{line}"
    );

    let http = Http::new();
    let s = start_serve(&dir, None, free_port(), &http);
    // Samples in the damaged block's range, per series.
    let q = format!("count_over_time(blk_m[{}ms])", bmax - bmin);
    let in_block = (bmin..bmax).step_by(15_000).filter(|t| *t >= t0).count() as f64;
    let res = instant(&http, &s.url, &q, bmax - 1);
    assert_eq!(res.len(), 3, "{res:?}");
    for (m, n) in &res {
        if m["i"] == "0" {
            assert!(
                *n > 0.0 && *n < in_block,
                "series 0 keeps its other chunks: {n}"
            );
        } else {
            assert_eq!(*n, in_block, "{m}");
        }
    }
    // Later blocks and the head answer for every series.
    let all = instant(
        &http,
        &s.url,
        "count_over_time(blk_m[1h])",
        t0 + (N - 1) * 15_000,
    );
    assert_eq!(all.len(), 3);
    for (m, n) in &all {
        assert_eq!(*n, 240.0, "{m}");
    }
    stop(s);
    let log = std::fs::read_to_string(dir.join("kmon.log")).expect("kmon.log");
    assert!(
        log.lines()
            .filter(|l| l.contains("corrupt chunk skipped"))
            .count()
            == 1
            && log.contains(&ulid),
        "{log}"
    );
}
