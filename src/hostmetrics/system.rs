//! What the kernel says about the machine through system calls rather than files:
//! `node_uname_info` (uname(2)), `node_time_seconds` and `node_time_zone_offset_seconds`
//! (the clock and the local time zone), `node_time_clocksource_*_info` (sysfs), and the
//! host name that becomes the default `instance`. The collector calls these once per
//! collect.

use std::ffi::CStr;
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::emit::Emitter;
use super::error::HostError;
use super::read::read_attr;

/// uname(2)'s six strings.
pub(crate) struct Uname {
    pub sysname: String,
    pub nodename: String,
    pub release: String,
    pub version: String,
    pub machine: String,
    pub domainname: String,
}

pub(crate) fn uname() -> Result<Uname, HostError> {
    // SAFETY: `utsname` is plain old data; all-zero is a valid value.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable `utsname`.
    if unsafe { libc::uname(&mut u) } != 0 {
        return Err(HostError::Sys {
            call: "uname",
            source: io::Error::last_os_error(),
        });
    }
    let s = |f: &[libc::c_char]| -> String {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Ok(Uname {
        sysname: s(&u.sysname),
        nodename: s(&u.nodename),
        release: s(&u.release),
        version: s(&u.version),
        machine: s(&u.machine),
        domainname: s(&u.domainname),
    })
}

/// The host name (uname's node name), or "localhost" if even uname fails.
pub fn hostname() -> String {
    uname().map_or_else(|_| "localhost".to_string(), |u| u.nodename)
}

pub(crate) fn collect_uname(out: &mut Emitter<'_>) -> Result<(), HostError> {
    let u = uname()?;
    out.emit(
        "node_uname_info",
        &[
            ("sysname", &u.sysname),
            ("release", &u.release),
            ("version", &u.version),
            ("machine", &u.machine),
            ("nodename", &u.nodename),
            ("domainname", &u.domainname),
        ],
        1.0,
    );
    Ok(())
}

/// `node_time_seconds` (now, with sub-second precision), the local zone's offset and name,
/// and the clock sources under `clocksource_dir` (`/sys/devices/system/clocksource`); the
/// `device` label of those is the position in the sorted list, as node_exporter numbers it.
pub(crate) fn collect_time(
    clocksource_dir: &Path,
    scratch: &mut String,
    out: &mut Emitter<'_>,
) -> Result<(), HostError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| HostError::Sys {
            call: "clock_gettime",
            source: io::Error::other(e),
        })?;
    out.emit("node_time_seconds", &[], now.as_secs_f64());
    let (zone, offset) = local_zone(now.as_secs() as libc::time_t);
    out.emit(
        "node_time_zone_offset_seconds",
        &[("time_zone", &zone)],
        offset,
    );

    let entries = match std::fs::read_dir(clocksource_dir) {
        Ok(e) => e,
        // No clock sources to report (a container's sysfs, a fixture tree).
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(HostError::read(clocksource_dir, e)),
    };
    let mut dirs: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            n.strip_prefix("clocksource")
                .is_some_and(|d| d.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    dirs.sort();
    for (i, dir) in dirs.iter().enumerate() {
        let device = i.to_string();
        let base = clocksource_dir.join(dir);
        if read_attr(&base.join("available_clocksource"), scratch)? {
            for cs in scratch.split_ascii_whitespace() {
                out.emit(
                    "node_time_clocksource_available_info",
                    &[("device", &device), ("clocksource", cs)],
                    1.0,
                );
            }
        }
        if read_attr(&base.join("current_clocksource"), scratch)? {
            out.emit(
                "node_time_clocksource_current_info",
                &[("device", &device), ("clocksource", scratch.trim())],
                1.0,
            );
        }
    }
    Ok(())
}

/// The local time zone's abbreviation and offset from UTC in seconds at `t`.
fn local_zone(t: libc::time_t) -> (String, f64) {
    // SAFETY: `tm` is plain old data; all-zero is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; glibc's localtime_r reads TZ itself.
    let ok = !unsafe { libc::localtime_r(&t, &mut tm) }.is_null();
    if !ok || tm.tm_zone.is_null() {
        return ("UTC".to_string(), 0.0);
    }
    // SAFETY: tm_zone points at a NUL-terminated string owned by the C library that lives
    // for the rest of the process.
    let zone = unsafe { CStr::from_ptr(tm.tm_zone) }
        .to_string_lossy()
        .into_owned();
    (zone, tm.tm_gmtoff as f64)
}
