//! The synthetic value model shared by the live targets (`page` and its shapes) and the
//! suite's backfill file (`backfill`): a deterministic noise source, the SplitMix64 generator
//! behind every layout choice, counter and gauge waves, and how a value is rounded and
//! printed. Everything here is a pure function of its inputs, so two runs agree byte for byte.

use std::cell::Cell;
use std::io::Write as _;

/// A deterministic uniform value in [0, 1) from `(k, sid)` (a SplitMix64 finaliser).
pub fn noise(k: u64, sid: u64) -> f64 {
    let mut x = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ sid.wrapping_mul(0xD1B5_4A32_D192_ED03);
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// SplitMix64 for layout choices. Its methods take `&self` so that one generator can feed
/// several arguments of the same call.
#[derive(Debug)]
pub struct Rng(Cell<u64>);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(Cell::new(seed))
    }

    pub fn next(&self) -> u64 {
        let s = self.0.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.0.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn range(&self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in 0..n (0 when n is 0).
    pub fn below(&self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `n` characters drawn from `alphabet`.
    pub fn word(&self, n: usize, alphabet: &[u8]) -> String {
        (0..n).map(|_| *self.pick(alphabet) as char).collect()
    }
}

/// How a value is rounded, and so printed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Round {
    /// Floored and printed as an integer.
    Int,
    /// Rounded to this many decimal places.
    Dp(i32),
    /// As it is.
    Full,
}

impl Round {
    pub fn apply(self, v: f64) -> f64 {
        match self {
            Round::Int => v.floor(),
            Round::Dp(d) => {
                let m = 10f64.powi(d);
                (v * m).round() / m
            }
            Round::Full => v,
        }
    }

    /// Appends `v`, rounded, as exposition text.
    pub fn put(self, out: &mut Vec<u8>, v: f64) {
        let _ = match self {
            Round::Int => write!(out, "{}", v.floor() as i64),
            _ => write!(out, "{}", self.apply(v)),
        };
    }
}

/// A counter: `base + a t + c (cos p − cos(w t + p)) + jit · noise(k, sid)`. The rate wanders
/// around `a` with period `2π / w`; with `c ≤ a / w` and `jit` below one step's growth every
/// increment is positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counter {
    pub base: f64,
    pub a: f64,
    pub c: f64,
    pub w: f64,
    pub p: f64,
    pub jit: f64,
    pub sid: u64,
}

impl Counter {
    /// A counter whose rate swings by 40 % over a period drawn from `period_s`, with a jitter
    /// of 30 % of one step's growth.
    pub fn wandering(
        rng: &Rng,
        sid: u64,
        base: f64,
        a: f64,
        step: f64,
        period_s: (f64, f64),
    ) -> Counter {
        let w = std::f64::consts::TAU / rng.range(period_s.0, period_s.1);
        Counter {
            base,
            a,
            c: 0.4 * a / w,
            w,
            p: rng.range(0.0, std::f64::consts::TAU),
            jit: 0.3 * a * step,
            sid,
        }
    }

    /// A counter growing at exactly `a` per second.
    pub fn steady(base: f64, a: f64, sid: u64) -> Counter {
        Counter {
            base,
            a,
            c: 0.0,
            w: 1.0,
            p: 0.0,
            jit: 0.0,
            sid,
        }
    }

    /// The value of sample `k`, `t` seconds after the counter's start.
    pub fn at(&self, k: u64, t: f64) -> f64 {
        self.base
            + self.a * t
            + self.c * (self.p.cos() - (self.w * t + self.p).cos())
            + self.jit * noise(k, self.sid)
    }
}

/// A gauge: `off + base (1 + amp sin(w t + p) + jit (noise(k, sid) − ½))`, never below 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gauge {
    pub off: f64,
    pub base: f64,
    pub amp: f64,
    pub w: f64,
    pub p: f64,
    pub jit: f64,
    pub sid: u64,
}

impl Gauge {
    /// A gauge around `base` with a period drawn from `period_s`.
    pub fn wave(rng: &Rng, sid: u64, base: f64, amp: f64, jit: f64, period_s: (f64, f64)) -> Gauge {
        Gauge {
            off: 0.0,
            base,
            amp,
            w: std::f64::consts::TAU / rng.range(period_s.0, period_s.1),
            p: rng.range(0.0, std::f64::consts::TAU),
            jit,
            sid,
        }
    }

    /// The value of sample `k` at `t` seconds.
    pub fn at(&self, k: u64, t: f64) -> f64 {
        let v = self.off
            + self.base
                * (1.0
                    + self.amp * (self.w * t + self.p).sin()
                    + self.jit * (noise(k, self.sid) - 0.5));
        v.max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_uniform_enough_and_deterministic() {
        let xs: Vec<f64> = (0..10_000).map(|k| noise(k, 7)).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
        assert_eq!(noise(3, 9), noise(3, 9));
        assert_ne!(noise(3, 9), noise(3, 10));
    }

    #[test]
    fn rng_draws_stay_in_range() {
        let r = Rng::new(42);
        for _ in 0..1000 {
            assert!(r.below(7) < 7);
            let x = r.range(2.0, 3.0);
            assert!((2.0..3.0).contains(&x));
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.word(5, b"ab").len(), 5);
        assert_eq!(Rng::new(1).next(), Rng::new(1).next());
    }

    #[test]
    fn wandering_counters_only_grow() {
        let r = Rng::new(5);
        for sid in 0..50 {
            let c = Counter::wandering(&r, sid, 100.0, r.range(0.01, 10.0), 15.0, (120.0, 1800.0));
            let mut last = c.at(0, 0.0);
            for k in 1..2000 {
                let v = c.at(k, k as f64 * 15.0);
                assert!(v > last, "sid {sid} k {k}: {v} after {last}");
                last = v;
            }
        }
    }

    #[test]
    fn gauges_stay_non_negative_and_rounding_prints() {
        let r = Rng::new(9);
        let g = Gauge::wave(&r, 1, 10.0, 2.0, 0.5, (60.0, 600.0));
        assert!((0..1000).all(|k| g.at(k, k as f64) >= 0.0));
        let mut out = Vec::new();
        Round::Int.put(&mut out, 3.9);
        out.push(b' ');
        Round::Dp(2).put(&mut out, 1.23456);
        out.push(b' ');
        Round::Full.put(&mut out, 0.5);
        assert_eq!(out, b"3 1.23 0.5");
        assert_eq!(Round::Dp(1).apply(2.26), 2.3);
    }
}
