//! The kernel clock discipline, read with adjtimex(2) in read-only mode, as node_exporter's
//! `timex` collector reports it: the clock's offset from its reference, the error bounds,
//! the frequency adjustment, and whether the clock is synchronised. The built-in clock-skew
//! rules read `node_timex_offset_seconds` and `node_timex_sync_status`.

use std::io;

use super::emit::Emitter;
use super::error::HostError;

/// `STA_NANO`: the offset is in nanoseconds rather than microseconds.
const STA_NANO: i32 = 0x2000;
/// adjtimex's return value when the clock is not synchronised.
const TIME_ERROR: i32 = 5;

/// What adjtimex says, already scaled to node_exporter's units.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Timex {
    pub offset_seconds: f64,
    pub frequency_adjustment_ratio: f64,
    pub maxerror_seconds: f64,
    pub estimated_error_seconds: f64,
    pub status: f64,
    pub loop_time_constant: f64,
    pub tick_seconds: f64,
    pub pps_frequency_hertz: f64,
    pub pps_jitter_seconds: f64,
    pub pps_shift_seconds: f64,
    pub pps_stability_hertz: f64,
    pub pps_jitter_total: f64,
    pub pps_calibration_total: f64,
    pub pps_error_total: f64,
    pub pps_stability_exceeded_total: f64,
    pub tai_offset_seconds: f64,
    pub sync_status: f64,
}

/// Scales the raw kernel structure and return code as node_exporter does.
pub(crate) fn scale(t: &libc::timex, state: i32) -> Timex {
    let divisor = if t.status & STA_NANO != 0 { 1e9 } else { 1e6 };
    // `freq` and `ppsfreq` are parts per million with a 16-bit fraction.
    let ppm16 = 65536.0 * 1e6;
    Timex {
        offset_seconds: t.offset as f64 / divisor,
        frequency_adjustment_ratio: 1.0 + t.freq as f64 / ppm16,
        maxerror_seconds: t.maxerror as f64 / 1e6,
        estimated_error_seconds: t.esterror as f64 / 1e6,
        status: f64::from(t.status),
        loop_time_constant: t.constant as f64,
        tick_seconds: t.tick as f64 / 1e6,
        pps_frequency_hertz: t.ppsfreq as f64 / ppm16,
        pps_jitter_seconds: t.jitter as f64 / divisor,
        pps_shift_seconds: t.shift as f64,
        pps_stability_hertz: t.stabil as f64 / ppm16,
        pps_jitter_total: t.jitcnt as f64,
        pps_calibration_total: t.calcnt as f64,
        pps_error_total: t.errcnt as f64,
        pps_stability_exceeded_total: t.stbcnt as f64,
        tai_offset_seconds: f64::from(t.tai),
        sync_status: if state == TIME_ERROR { 0.0 } else { 1.0 },
    }
}

/// Reads the clock discipline without changing it (`modes` = 0).
pub(crate) fn read() -> Result<Timex, HostError> {
    // SAFETY: `timex` is plain old data; all-zero (modes = 0: read only) is a valid value.
    let mut t: libc::timex = unsafe { std::mem::zeroed() };
    // SAFETY: `t` is a valid, writable `timex`; with modes = 0 the call changes nothing.
    let state = unsafe { libc::adjtimex(&mut t) };
    if state < 0 {
        return Err(HostError::Sys {
            call: "adjtimex",
            source: io::Error::last_os_error(),
        });
    }
    Ok(scale(&t, state))
}

pub(crate) fn collect(out: &mut Emitter<'_>) -> Result<(), HostError> {
    let t = read()?;
    for (name, v) in [
        ("node_timex_offset_seconds", t.offset_seconds),
        (
            "node_timex_frequency_adjustment_ratio",
            t.frequency_adjustment_ratio,
        ),
        ("node_timex_maxerror_seconds", t.maxerror_seconds),
        (
            "node_timex_estimated_error_seconds",
            t.estimated_error_seconds,
        ),
        ("node_timex_status", t.status),
        ("node_timex_loop_time_constant", t.loop_time_constant),
        ("node_timex_tick_seconds", t.tick_seconds),
        ("node_timex_pps_frequency_hertz", t.pps_frequency_hertz),
        ("node_timex_pps_jitter_seconds", t.pps_jitter_seconds),
        ("node_timex_pps_shift_seconds", t.pps_shift_seconds),
        ("node_timex_pps_stability_hertz", t.pps_stability_hertz),
        ("node_timex_pps_jitter_total", t.pps_jitter_total),
        ("node_timex_pps_calibration_total", t.pps_calibration_total),
        ("node_timex_pps_error_total", t.pps_error_total),
        (
            "node_timex_pps_stability_exceeded_total",
            t.pps_stability_exceeded_total,
        ),
        ("node_timex_tai_offset_seconds", t.tai_offset_seconds),
        ("node_timex_sync_status", t.sync_status),
    ] {
        out.emit(name, &[], v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(status: i32) -> libc::timex {
        // SAFETY: plain old data.
        let mut t: libc::timex = unsafe { std::mem::zeroed() };
        t.status = status;
        t.offset = -1500;
        t.freq = 65536 * 12; // +12 ppm
        t.maxerror = 16_000;
        t.esterror = 250;
        t.tick = 10_000;
        t.tai = 37;
        t
    }

    #[test]
    fn microsecond_and_nanosecond_offsets_scale_to_seconds() {
        let us = scale(&raw(0), 0);
        assert_eq!(us.offset_seconds, -0.0015);
        let ns = scale(&raw(STA_NANO), 0);
        assert_eq!(ns.offset_seconds, -0.0000015);
        assert_eq!(us.frequency_adjustment_ratio, 1.000012);
        assert_eq!(us.maxerror_seconds, 0.016);
        assert_eq!(us.estimated_error_seconds, 0.00025);
        assert_eq!(us.tick_seconds, 0.01);
        assert_eq!(us.tai_offset_seconds, 37.0);
    }

    #[test]
    fn time_error_means_not_synchronised() {
        assert_eq!(scale(&raw(0), TIME_ERROR).sync_status, 0.0);
        assert_eq!(scale(&raw(0), 0).sync_status, 1.0);
    }

    #[test]
    fn reading_the_real_clock_changes_nothing_and_succeeds() {
        let t = read().expect("adjtimex(2) in read-only mode");
        assert!(t.sync_status == 0.0 || t.sync_status == 1.0);
        assert!(t.tick_seconds > 0.0);
    }
}
