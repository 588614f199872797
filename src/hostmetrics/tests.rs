//! The collector against the hand-written fixture trees in `tests/data/{proc,sys,rootfs}`:
//! exact series, labels and values through `MemStorage`, staleness, caching and errors.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::model::is_stale_nan;
use crate::storage::{Appendable, MemStorage};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn opts_at(root: &Path) -> HostOptions {
    HostOptions {
        proc_path: root.join("proc"),
        sys_path: root.join("sys"),
        rootfs: root.join("rootfs"),
        instance: "fixture".into(),
        job: "node".into(),
    }
}

fn collect(c: &mut Collector, store: &MemStorage, t: i64) -> CollectReport {
    let mut app = store.appender();
    let report = c.collect(app.as_mut(), t);
    app.commit().unwrap();
    report
}

/// `name{a="1",b="2"}` (without job and instance) → last value, for series of `job`.
fn latest(store: &MemStorage, job: &str) -> BTreeMap<String, f64> {
    store
        .dump()
        .into_iter()
        .filter(|(l, _)| l.get("job") == Some(job))
        .map(|(l, samples)| {
            assert_eq!(l.get("instance"), Some("fixture"), "{l}");
            let labels: Vec<String> = l
                .iter()
                .filter(|l| !["__name__", "job", "instance"].contains(&l.name))
                .map(|l| format!("{}=\"{}\"", l.name, l.value))
                .collect();
            let key = format!("{}{{{}}}", l.metric_name(), labels.join(","));
            let v = samples.last().map_or(f64::NAN, |s| s.v);
            (key, v)
        })
        .collect()
}

fn hz() -> f64 {
    sysconf(libc::_SC_CLK_TCK).unwrap_or(100.0)
}

fn assert_values(got: &BTreeMap<String, f64>, want: &[(&str, f64)]) {
    for (k, v) in want {
        match got.get(*k) {
            Some(g) => assert_eq!(g, v, "{k}"),
            None => panic!("missing {k}; have:\n{:#?}", got.keys().collect::<Vec<_>>()),
        }
    }
}

#[test]
fn fixture_collect_writes_node_exporter_series() {
    let store = MemStorage::new();
    let mut c = Collector::new(opts_at(&data_dir()));
    let report = collect(&mut c, &store, 1_000);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.rejected, 0);
    let got = latest(&store, "node");
    let hz = hz();
    let k = 1024.0;
    // The target's `up`, as Prometheus would add it.
    assert_eq!(got.get("up{}"), Some(&1.0));

    assert_values(
        &got,
        &[
            // /proc/stat
            (
                r#"node_cpu_seconds_total{cpu="0",mode="user"}"#,
                2301.0 / hz,
            ),
            (
                r#"node_cpu_seconds_total{cpu="0",mode="idle"}"#,
                45020.0 / hz,
            ),
            (r#"node_cpu_seconds_total{cpu="1",mode="nice"}"#, 7.0 / hz),
            (
                r#"node_cpu_seconds_total{cpu="1",mode="system"}"#,
                746.0 / hz,
            ),
            (
                r#"node_cpu_seconds_total{cpu="1",mode="iowait"}"#,
                48.0 / hz,
            ),
            (r#"node_cpu_seconds_total{cpu="1",mode="irq"}"#, 0.0),
            (
                r#"node_cpu_seconds_total{cpu="1",mode="softirq"}"#,
                36.0 / hz,
            ),
            (r#"node_cpu_seconds_total{cpu="1",mode="steal"}"#, 4.0 / hz),
            (
                r#"node_cpu_guest_seconds_total{cpu="1",mode="user"}"#,
                120.0 / hz,
            ),
            (
                r#"node_cpu_guest_seconds_total{cpu="1",mode="nice"}"#,
                6.0 / hz,
            ),
            ("node_intr_total{}", 123456.0),
            ("node_context_switches_total{}", 987654.0),
            ("node_boot_time_seconds{}", 1_700_000_000.0),
            ("node_forks_total{}", 4321.0),
            ("node_procs_running{}", 3.0),
            ("node_procs_blocked{}", 1.0),
            // /proc/meminfo
            ("node_memory_MemTotal_bytes{}", 8048096.0 * k),
            ("node_memory_MemAvailable_bytes{}", 5012340.0 * k),
            ("node_memory_Active_anon_bytes{}", 1500000.0 * k),
            ("node_memory_Inactive_file_bytes{}", 2060000.0 * k),
            ("node_memory_SwapCached_bytes{}", 0.0),
            ("node_memory_HugePages_Total{}", 4.0),
            ("node_memory_HugePages_Free{}", 2.0),
            ("node_memory_Hugepagesize_bytes{}", 2048.0 * k),
            // /proc/loadavg
            ("node_load1{}", 0.52),
            ("node_load5{}", 0.58),
            ("node_load15{}", 0.59),
            // /proc/net/dev and sysfs
            (
                r#"node_network_receive_bytes_total{device="eth0"}"#,
                7340032000.0,
            ),
            (
                r#"node_network_receive_packets_total{device="eth0"}"#,
                5123456.0,
            ),
            (r#"node_network_receive_errs_total{device="eth0"}"#, 3.0),
            (r#"node_network_receive_drop_total{device="eth0"}"#, 17.0),
            (r#"node_network_receive_frame_total{device="eth0"}"#, 1.0),
            (
                r#"node_network_receive_multicast_total{device="eth0"}"#,
                4242.0,
            ),
            (
                r#"node_network_receive_nohandler_total{device="eth0"}"#,
                5.0,
            ),
            (
                r#"node_network_transmit_bytes_total{device="eth0"}"#,
                1048576000.0,
            ),
            (
                r#"node_network_transmit_packets_total{device="eth0"}"#,
                2345678.0,
            ),
            (r#"node_network_transmit_drop_total{device="eth0"}"#, 2.0),
            (r#"node_network_transmit_carrier_total{device="eth0"}"#, 1.0),
            (
                r#"node_network_transmit_bytes_total{device="lo"}"#,
                914550.0,
            ),
            // /proc/diskstats
            (r#"node_disk_reads_completed_total{device="sda"}"#, 50000.0),
            (
                r#"node_disk_read_bytes_total{device="sda"}"#,
                4000000.0 * 512.0,
            ),
            (
                r#"node_disk_written_bytes_total{device="sda"}"#,
                3000000.0 * 512.0,
            ),
            (r#"node_disk_writes_completed_total{device="sda"}"#, 20000.0),
            (r#"node_disk_io_time_seconds_total{device="sda"}"#, 60.0),
            (r#"node_disk_io_now{device="sda"}"#, 2.0),
            (r#"node_disk_discarded_sectors_total{device="sda"}"#, 2048.0),
            (
                r#"node_disk_flush_requests_time_seconds_total{device="sda"}"#,
                0.34,
            ),
            (
                r#"node_disk_io_time_weighted_seconds_total{device="dm-0"}"#,
                35.0,
            ),
            (
                r#"node_disk_discard_time_seconds_total{device="nvme0n1"}"#,
                0.0,
            ),
            (
                r#"node_disk_info{device="sda",major="8",minor="0",model="KMON_TEST_DISK",path="pci-0000:00:17.0-ata-1",revision="1.0",rotational="1",serial="K1234",wwn="0x5000000000000001"}"#,
                1.0,
            ),
            (
                r#"node_disk_info{device="dm-0",major="253",minor="0",rotational="0"}"#,
                1.0,
            ),
            (
                r#"node_disk_info{device="nvme0n1",major="259",minor="0",rotational="0"}"#,
                1.0,
            ),
            // clock sources
            (
                r#"node_time_clocksource_available_info{clocksource="hpet",device="0"}"#,
                1.0,
            ),
            (
                r#"node_time_clocksource_current_info{clocksource="tsc",device="0"}"#,
                1.0,
            ),
        ],
    );

    // Label sets, per name: exactly these and no more.
    let label_sets = |name: &str| -> BTreeSet<&str> {
        got.keys()
            .filter(|k| k.split('{').next() == Some(name))
            .map(|k| &k[name.len()..])
            .collect()
    };
    assert_eq!(label_sets("node_cpu_seconds_total").len(), 16);
    assert_eq!(label_sets("node_cpu_guest_seconds_total").len(), 4);
    assert_eq!(
        label_sets("node_network_receive_nohandler_total"),
        BTreeSet::from([r#"{device="eth0"}"#]),
        "lo has no rx_nohandler in the fixture"
    );
    // Excluded: loop0, sda1, nvme0n1p1. Counts follow each line's column count.
    assert_eq!(
        label_sets("node_disk_reads_completed_total"),
        BTreeSet::from([
            r#"{device="dm-0"}"#,
            r#"{device="nvme0n1"}"#,
            r#"{device="sda"}"#
        ])
    );
    assert_eq!(
        label_sets("node_disk_flush_requests_total"),
        BTreeSet::from([r#"{device="sda"}"#])
    );
    assert_eq!(
        label_sets("node_disk_discards_completed_total"),
        BTreeSet::from([r#"{device="nvme0n1"}"#, r#"{device="sda"}"#])
    );
    let disk_series = got.keys().filter(|k| k.starts_with("node_disk_")).count();
    assert_eq!(disk_series, 17 + 11 + 15 + 3);
    let net_series = got
        .keys()
        .filter(|k| k.starts_with("node_network_"))
        .count();
    assert_eq!(net_series, 2 * 16 + 1);
    let mem: Vec<&str> = got
        .keys()
        .filter(|k| k.starts_with("node_memory_"))
        .map(|k| k.trim_end_matches("{}"))
        .collect();
    assert_eq!(
        mem.len(),
        17,
        "KReclaimable is not a node_exporter 1.11 field: {mem:?}"
    );
    assert!(!mem.iter().any(|m| m.contains("KReclaimable")));

    let uname = system::uname().unwrap();
    let uname_key = format!(
        r#"node_uname_info{{domainname="{}",machine="{}",nodename="{}",release="{}",sysname="{}",version="{}"}}"#,
        uname.domainname,
        uname.machine,
        uname.nodename,
        uname.release,
        uname.sysname,
        uname.version
    );
    assert_eq!(got.get(&uname_key), Some(&1.0), "{uname_key}");
    let now = got["node_time_seconds{}"];
    assert!((now - chrono::Utc::now().timestamp() as f64).abs() < 60.0);
}

#[test]
fn filesystems_follow_node_exporter_filters_labels_and_errors() {
    let store = MemStorage::new();
    let root = data_dir();
    let mut c = Collector::new(opts_at(&root));
    collect(&mut c, &store, 1_000);
    let got = latest(&store, "node");
    let fs: BTreeSet<&str> = got
        .keys()
        .filter(|k| k.starts_with("node_filesystem_readonly"))
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        fs,
        BTreeSet::from([
            r#"node_filesystem_readonly{device="/dev/sda1",fstype="ext4",mountpoint="/"}"#,
            r#"node_filesystem_readonly{device="/dev/sda2",fstype="ext4",mountpoint="/home"}"#,
            r#"node_filesystem_readonly{device="/dev/sdb1",fstype="vfat",mountpoint="/media/my usb"}"#,
            r#"node_filesystem_readonly{device="tmpfs",fstype="tmpfs",mountpoint="/run/user/1000"}"#,
            r#"node_filesystem_readonly{device="tmpfs",device_error="no such file or directory",fstype="tmpfs",mountpoint="/gone"}"#,
        ]),
        "proc, devtmpfs, cgroup2, squashfs, /run/credentials and docker are excluded"
    );
    assert_eq!(
        got[r#"node_filesystem_readonly{device="/dev/sdb1",fstype="vfat",mountpoint="/media/my usb"}"#],
        1.0
    );
    assert_eq!(
        got[r#"node_filesystem_device_error{device="tmpfs",device_error="no such file or directory",fstype="tmpfs",mountpoint="/gone"}"#],
        1.0
    );
    assert!(
        !got.keys()
            .any(|k| k.starts_with("node_filesystem_size_bytes") && k.contains("/gone"))
    );

    // Sizes are statfs of the mount point under rootfs (a live filesystem: other tests
    // write to it, so free space is only compared within 64 MiB).
    let s = statfs::statfs(&root.join("rootfs/home")).unwrap();
    let home = r#"{device="/dev/sda2",fstype="ext4",mountpoint="/home"}"#;
    for (name, v) in [
        ("node_filesystem_size_bytes", s.size),
        ("node_filesystem_files", s.files),
        ("node_filesystem_device_error", 0.0),
        ("node_filesystem_readonly", 0.0),
        ("node_filesystem_purgeable_bytes", 0.0),
    ] {
        assert_eq!(got[&format!("{name}{home}")], v, "{name}");
    }
    let avail = got[&format!("node_filesystem_avail_bytes{home}")];
    assert!(
        (avail - s.avail).abs() <= 64.0 * 1024.0 * 1024.0,
        "{avail} vs {}",
        s.avail
    );
    assert!(got.contains_key(&format!("node_filesystem_free_bytes{home}")));
    assert!(got.contains_key(&format!("node_filesystem_files_free{home}")));
    assert_eq!(
        got[r#"node_filesystem_mount_info{device="/dev/sda2",major="8",minor="2",mountpoint="/home"}"#],
        1.0
    );
    assert_eq!(
        got.keys()
            .filter(|k| k.starts_with("node_filesystem_mount_info"))
            .count(),
        4
    );
}

#[test]
fn own_metrics_are_job_kmon() {
    let store = MemStorage::new();
    let mut c = Collector::new(opts_at(&data_dir()));
    collect(&mut c, &store, 1_000);
    let got = latest(&store, "kmon");
    let hz = hz();
    let page = sysconf(libc::_SC_PAGESIZE).unwrap_or(4096.0);
    assert_values(
        &got,
        &[
            ("process_cpu_seconds_total{}", (250.0 + 75.0) / hz),
            (
                "process_start_time_seconds{}",
                1_700_000_000.0 + 5000.0 / hz,
            ),
            ("process_virtual_memory_bytes{}", 734003200.0),
            ("process_resident_memory_bytes{}", 12800.0 * page),
            ("process_open_fds{}", 3.0),
            ("process_max_fds{}", 4096.0),
            (
                &format!(
                    "kmon_build_info{{version=\"{}\"}}",
                    env!("CARGO_PKG_VERSION")
                ),
                1.0,
            ),
            (r#"kmon_hostmetrics_errors_total{subsystem="stat"}"#, 0.0),
            (r#"kmon_hostmetrics_errors_total{subsystem="process"}"#, 0.0),
        ],
    );
    assert!(got["kmon_hostmetrics_collect_duration_seconds{}"] > 0.0);
    assert_eq!(
        got.keys()
            .filter(|k| k.starts_with("kmon_hostmetrics_errors_total"))
            .count(),
        Subsystem::ALL.len()
    );
}

/// Copies the fixture tree so a test can change it between collects.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn vanished_interface_gets_stale_markers_and_refs_are_reused() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&data_dir(), tmp.path());
    let store = MemStorage::new();
    let mut c = Collector::new(opts_at(tmp.path()));
    let first = collect(&mut c, &store, 1_000);
    let series = c.series_count();
    assert_eq!(first.samples, series);
    assert_eq!(first.stale_markers, 0);

    let dev = tmp.path().join("proc/net/dev");
    let text = fs::read_to_string(&dev).unwrap();
    let without_eth0: String = text
        .lines()
        .filter(|l| !l.contains("eth0"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&dev, without_eth0).unwrap();
    let second = collect(&mut c, &store, 2_000);
    assert!(second.errors.is_empty(), "{:?}", second.errors);
    assert_eq!(
        second.stale_markers, 17,
        "16 counters and nohandler of eth0"
    );
    assert_eq!(c.series_count(), series - 17);

    let eth0: Vec<_> = store
        .dump()
        .into_iter()
        .filter(|(l, _)| l.get("device") == Some("eth0"))
        .collect();
    assert_eq!(eth0.len(), 17);
    for (l, samples) in &eth0 {
        assert_eq!(samples.len(), 2, "{l}");
        assert!(is_stale_nan(samples[1].v) && samples[1].t == 2_000, "{l}");
    }
    let third = collect(&mut c, &store, 3_000);
    assert_eq!(third.stale_markers, 0, "a marker is written once");
}

#[test]
fn a_failing_subsystem_is_reported_with_file_and_line_and_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&data_dir(), tmp.path());
    let meminfo = tmp.path().join("proc/meminfo");
    fs::write(&meminfo, "MemTotal:  100 kB\nMemFree:  lots kB\n").unwrap();
    fs::remove_file(tmp.path().join("proc/loadavg")).unwrap();
    let store = MemStorage::new();
    let mut c = Collector::new(opts_at(tmp.path()));
    let report = collect(&mut c, &store, 1_000);
    let msgs: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert_eq!(
        msgs[0],
        format!(
            "meminfo: {}:2: MemFree: \"lots\" is not a number",
            meminfo.display()
        )
    );
    assert!(msgs[1].starts_with("loadavg: reading "), "{}", msgs[1]);
    assert!(msgs[1].contains("proc/loadavg"), "{}", msgs[1]);

    let got = latest(&store, "node");
    assert!(
        !got.keys().any(|k| k.starts_with("node_memory_")),
        "nothing from a bad file"
    );
    assert!(
        got.contains_key("node_boot_time_seconds{}"),
        "others still collected"
    );
    let kmon = latest(&store, "kmon");
    assert_eq!(
        kmon[r#"kmon_hostmetrics_errors_total{subsystem="meminfo"}"#],
        1.0
    );
    assert_eq!(
        kmon[r#"kmon_hostmetrics_errors_total{subsystem="loadavg"}"#],
        1.0
    );
}

#[test]
fn cpu_counters_never_go_backwards_unless_the_cpu_was_replugged() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&data_dir(), tmp.path());
    let stat = tmp.path().join("proc/stat");
    let store = MemStorage::new();
    let mut c = Collector::new(opts_at(tmp.path()));
    collect(&mut c, &store, 1_000);
    let hz = hz();
    // user drops by 1 tick (a kernel accounting wobble): the old value stays.
    fs::write(
        &stat,
        "cpu0 2300 5 790 45021 40 0 25 3 0 0\nbtime 1700000000\n",
    )
    .unwrap();
    collect(&mut c, &store, 2_000);
    let got = latest(&store, "node");
    assert_eq!(
        got[r#"node_cpu_seconds_total{cpu="0",mode="user"}"#],
        2301.0 / hz
    );
    assert_eq!(
        got[r#"node_cpu_seconds_total{cpu="0",mode="idle"}"#],
        45021.0 / hz
    );
    assert!(
        !got.contains_key(r#"node_cpu_seconds_total{cpu="1",mode="user"}"#) || {
            // cpu1 vanished: its last sample is a staleness marker.
            is_stale_nan(got[r#"node_cpu_seconds_total{cpu="1",mode="user"}"#])
        }
    );
    // Idle drops by more than 3 s: the CPU starts afresh.
    let idle = 45021.0 - 4.0 * hz;
    fs::write(
        &stat,
        format!("cpu0 10 0 5 {idle} 0 0 0 0 0 0\nbtime 1700000000\n"),
    )
    .unwrap();
    collect(&mut c, &store, 3_000);
    let got = latest(&store, "node");
    assert_eq!(
        got[r#"node_cpu_seconds_total{cpu="0",mode="user"}"#],
        10.0 / hz
    );
}

#[test]
fn malformed_inputs_name_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&data_dir(), tmp.path());
    let p = tmp.path().join("proc");
    fs::write(p.join("stat"), "cpu  1 2 3 4\ncpu0 1 2 3\n").unwrap();
    fs::write(p.join("diskstats"), "   8       0 sda 1 2 3\n").unwrap();
    fs::write(p.join("net/dev"), "h1\nh2\n eth0: 1 2 3\n").unwrap();
    fs::write(p.join("1/mountinfo"), "22 1 8:1 / / rw - ext4\n").unwrap();
    let store = MemStorage::new();
    let mut c = Collector::new(opts_at(tmp.path()));
    let report = collect(&mut c, &store, 1_000);
    let msgs: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    let want = [
        ("stat", "stat:2: cpu0: expected at least 8 columns, found 3"),
        ("netdev", "net/dev:3: eth0: expected 16 counters, found 3"),
        (
            "diskstats",
            "diskstats:1: sda: expected at least 11 statistics, found 3",
        ),
        (
            "filesystem",
            "1/mountinfo:1: expected at least 10 fields, found 8",
        ),
        // Without btime there is no start time for kmon's own process.
        ("process", "proc/stat: no btime line"),
    ];
    assert_eq!(msgs.len(), want.len(), "{msgs:?}");
    for (m, (sub, text)) in msgs.iter().zip(want) {
        assert!(m.starts_with(&format!("{sub}: ")), "{m}");
        assert!(m.contains(text), "{m} should contain {text}");
    }
}

#[test]
fn the_collector_can_move_to_another_thread() {
    fn send<T: Send>() {}
    send::<Collector>();
    send::<CollectReport>();
}

#[test]
fn non_utf8_bytes_in_a_file_do_not_fail_the_subsystem() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&data_dir(), tmp.path());
    let mut raw = fs::read(tmp.path().join("proc/1/mountinfo")).unwrap();
    raw.extend_from_slice(b"40 22 8:5 / /data/caf");
    raw.push(0xe9); // Latin-1 e-acute: not UTF-8
    raw.extend_from_slice(b" rw - ext4 /dev/sda5 rw\n");
    fs::write(tmp.path().join("proc/1/mountinfo"), raw).unwrap();
    let store = MemStorage::new();
    let mut c = Collector::new(opts_at(tmp.path()));
    let report = collect(&mut c, &store, 1_000);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let got = latest(&store, "node");
    assert!(
        got.keys()
            .any(|k| k.contains("mountpoint=\"/data/caf\u{fffd}\"")),
        "the mount is reported with a replacement character"
    );
}

#[test]
fn builtin_patterns_compile_and_match_like_node_exporter() {
    let disk = Regex::new(diskstats::DEFAULT_DEVICE_EXCLUDE).unwrap();
    for d in [
        "ram0",
        "zram0",
        "loop7",
        "fd0",
        "sda1",
        "vdb2",
        "xvda1",
        "hda3",
        "nvme0n1p1",
    ] {
        assert!(disk.is_match(d), "{d} is excluded");
    }
    for d in ["sda", "vda", "nvme0n1", "dm-0", "md0", "mmcblk0p1", "sr0"] {
        assert!(!disk.is_match(d), "{d} is kept");
    }
    let mp = Regex::new(filesystem::DEFAULT_MOUNT_POINTS_EXCLUDE).unwrap();
    for m in [
        "/dev",
        "/dev/shm",
        "/proc",
        "/sys/fs/cgroup",
        "/run/credentials/x.service",
        "/var/lib/docker/overlay2/x",
    ] {
        assert!(mp.is_match(m), "{m} is excluded");
    }
    for m in [
        "/",
        "/home",
        "/run",
        "/run/user/1000",
        "/devices",
        "/var/lib/docker",
        "/mnt",
    ] {
        assert!(!mp.is_match(m), "{m} is kept");
    }
    let fst = Regex::new(filesystem::DEFAULT_FS_TYPES_EXCLUDE).unwrap();
    assert!(fst.is_match("cgroup2") && fst.is_match("overlay") && fst.is_match("squashfs"));
    assert!(!fst.is_match("ext4") && !fst.is_match("tmpfs") && !fst.is_match("xfs"));
}

#[test]
fn the_real_machine_collects_without_errors() {
    if !Path::new("/proc/stat").exists() {
        return;
    }
    let store = MemStorage::new();
    let mut c = Collector::new(HostOptions::default());
    assert!(!c.options().instance.is_empty());
    let report = collect(&mut c, &store, 1_000);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.samples > 50);
    let again = collect(&mut c, &store, 2_000);
    assert!(again.errors.is_empty(), "{:?}", again.errors);
}

#[test]
fn process_metrics_read_the_same_values_as_the_collector() {
    let got: BTreeMap<String, f64> = super::process_metrics(&data_dir().join("proc"))
        .expect("fixture /proc")
        .into_iter()
        .map(|(n, v)| (format!("{n}{{}}"), v))
        .collect();
    let hz = hz();
    assert_values(
        &got,
        &[
            ("process_cpu_seconds_total{}", (250.0 + 75.0) / hz),
            (
                "process_start_time_seconds{}",
                1_700_000_000.0 + 5000.0 / hz,
            ),
            ("process_virtual_memory_bytes{}", 734003200.0),
            ("process_open_fds{}", 3.0),
            ("process_max_fds{}", 4096.0),
        ],
    );
    assert_eq!(got.len(), 6);
    let e = super::process_metrics(std::path::Path::new("/nonexistent")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/stat"), "{e}");
}
