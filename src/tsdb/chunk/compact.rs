//! Re-encodes a finished chunk with the cheapest choice of XOR windows. The format lets
//! every non-zero value delta either reuse the current leading/trailing-zero window (two
//! control bits plus the window's width) or open a new one (thirteen bits plus its width);
//! the reference encoder decides greedily, sample by sample. Knowing the whole chunk, a
//! small dynamic program picks the windows that minimise the total size. Timestamps are
//! written exactly as before, and any decoder of the format reads the result unchanged.
//! The head calls this when it closes a chunk.

use super::bstream::BitWriter;
use super::xor::{HEADER_LEN, XorIter, window_of, write_dod, write_in_window, write_new_window};

/// Bits a new window costs beyond a reused one: 5 bits of leading zeros, 6 of width.
const NEW_WINDOW_EXTRA: u32 = 11;

/// Returns the chunk re-encoded with optimal windows; never longer than the input. A chunk
/// that does not decode completely is returned as it is.
pub fn compact(chunk: &[u8]) -> Vec<u8> {
    let num = super::xor::num_samples(chunk);
    let mut ts = Vec::with_capacity(num);
    let mut vs = Vec::with_capacity(num);
    for s in XorIter::new(chunk) {
        ts.push(s.t);
        vs.push(s.v.to_bits());
    }
    if ts.len() != num || num < 3 {
        return chunk.to_vec();
    }
    let out = encode_with_plan(&ts, &vs, chunk.len());
    if out.len() <= chunk.len() {
        out
    } else {
        chunk.to_vec()
    }
}

/// Encodes samples (at least one) with timestamps as the reference does and value windows
/// chosen by `plan`.
fn encode_with_plan(ts: &[i64], vs: &[u64], capacity: usize) -> Vec<u8> {
    let deltas: Vec<u64> = vs.windows(2).map(|w| w[0] ^ w[1]).collect();
    let starts = plan(&deltas);
    let mut w = BitWriter::with_capacity(HEADER_LEN, capacity);
    w.write_varint(ts[0]);
    w.write_bits(vs[0], 64);
    let (mut lead, mut trail) = (0u8, 0u8);
    let mut nz = 0;
    let mut prev_delta = 0i64;
    for i in 1..ts.len() {
        let d = ts[i].wrapping_sub(ts[i - 1]);
        if i == 1 {
            w.write_uvarint(d as u64);
        } else {
            write_dod(&mut w, d.wrapping_sub(prev_delta));
        }
        prev_delta = d;
        let delta = deltas[i - 1];
        if delta == 0 {
            w.write_bit(false);
            continue;
        }
        if let Some(&(l, t)) = starts.get(nz).and_then(|s| s.as_ref()) {
            lead = l;
            trail = t;
            write_new_window(&mut w, delta, lead, trail);
        } else {
            write_in_window(&mut w, delta, lead, trail);
        }
        nz += 1;
    }
    let mut out = w.into_bytes();
    out[..HEADER_LEN].copy_from_slice(&(ts.len() as u16).to_be_bytes());
    out
}

/// For each non-zero delta (in order), `Some(window)` when a new window opens there. The
/// first non-zero delta always opens one. Zero deltas cost one bit whatever the plan, so
/// only the non-zero ones take part.
fn plan(deltas: &[u64]) -> Vec<Option<(u8, u8)>> {
    let wins: Vec<(u8, u8)> = deltas
        .iter()
        .filter(|&&d| d != 0)
        .map(|&d| window_of(d))
        .collect();
    let (_, from) = solve(&wins);
    let mut out = vec![None; wins.len()];
    let mut j = wins.len();
    while j > 0 {
        let i = from[j];
        let (l, t) = wins[i..j]
            .iter()
            .fold((u8::MAX, u8::MAX), |(l, t), w| (l.min(w.0), t.min(w.1)));
        out[i] = Some((l, t));
        j = i;
    }
    out
}

/// The dynamic program over the windows of the non-zero deltas. Returns the fewest bits
/// the value deltas can take and `from[j]`: where the last window of the best encoding of
/// the first `j` deltas opens.
///
/// A window opened at delta `i` and kept through delta `j - 1` must be the running minimum
/// of leading and trailing zeros over `i..j` and costs `best[i] + 11 + (j - i) * (2 +
/// width)`. Once two starts reach the same running window they share it from then on, and
/// a window only widens; so if the later start is already no dearer, the earlier one
/// (paying the width for more deltas) can never win again and is dropped. Running minima
/// only shrink as the start moves back, so starts with equal windows are neighbours. What
/// remains is a short staircase of windows (a handful in practice): the work is about
/// linear in the chunk length.
fn solve(wins: &[(u8, u8)]) -> (u32, Vec<usize>) {
    let m = wins.len();
    let mut best = vec![0u32; m + 1];
    let mut from = vec![0usize; m + 1];
    // (start, leading, trailing), oldest start (widest window) first.
    let mut cands: Vec<(usize, u8, u8)> = Vec::new();
    let cost = |best: &[u32], j: usize, &(i, l, t): &(usize, u8, u8)| {
        best[i] + NEW_WINDOW_EXTRA + (j - i) as u32 * (66 - l as u32 - t as u32)
    };
    for j in 1..=m {
        let (lk, tk) = wins[j - 1];
        cands.push((j - 1, lk, tk));
        // Narrow every window by the new delta's and merge as described above, in place.
        let mut kept = 0;
        for r in 0..cands.len() {
            let mut c = cands[r];
            c.1 = c.1.min(lk);
            c.2 = c.2.min(tk);
            if kept > 0 {
                let prev = cands[kept - 1];
                if (prev.1, prev.2) == (c.1, c.2) && cost(&best, j, &c) <= cost(&best, j, &prev) {
                    cands[kept - 1] = c;
                    continue;
                }
            }
            cands[kept] = c;
            kept += 1;
        }
        cands.truncate(kept);
        let (mut b, mut f) = (u32::MAX, 0);
        for c in &cands {
            let x = cost(&best, j, c);
            if x < b {
                (b, f) = (x, c.0);
            }
        }
        best[j] = b;
        from[j] = f;
    }
    (best[m], from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sample;
    use crate::tsdb::chunk::XorEncoder;

    fn greedy(samples: &[(i64, f64)]) -> Vec<u8> {
        let mut e = XorEncoder::new();
        for &(t, v) in samples {
            e.append(t, v);
        }
        e.bytes().to_vec()
    }

    #[test]
    fn compacted_chunks_decode_identically_and_are_never_larger() {
        let mut seed = 42u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut saved = 0;
        for round in 0..300 {
            let mut t = 1_700_000_000_000i64;
            let mut v = 1000.0f64;
            let samples: Vec<(i64, f64)> = (0..120)
                .map(|_| {
                    t += 2000 + (next() % 7) as i64 - 3;
                    v = match round % 4 {
                        0 => v + (next() % 2000) as f64 / 1000.0,
                        1 => (next() % 400) as f64 / 100.0,
                        2 => v + ((next() % 3) * 4096) as f64,
                        _ => f64::from_bits(next()),
                    };
                    (t, v)
                })
                .collect();
            let g = greedy(&samples);
            let c = compact(&g);
            assert!(c.len() <= g.len());
            saved += g.len() - c.len();
            let a: Vec<Sample> = XorIter::new(&g[..]).collect();
            let b: Vec<Sample> = XorIter::new(&c[..]).collect();
            assert_eq!(a.len(), 120);
            for (x, y) in a.iter().zip(&b) {
                assert_eq!((x.t, x.v.to_bits()), (y.t, y.v.to_bits()));
            }
        }
        assert!(saved > 0, "the optimal plan should beat greedy somewhere");
    }

    /// The plain quadratic program: every start for every end.
    fn solve_quadratic(wins: &[(u8, u8)]) -> u32 {
        let m = wins.len();
        let mut best = vec![u32::MAX; m + 1];
        best[0] = 0;
        for j in 1..=m {
            let (mut l, mut t) = (u8::MAX, u8::MAX);
            for i in (0..j).rev() {
                l = l.min(wins[i].0);
                t = t.min(wins[i].1);
                let c = best[i] + NEW_WINDOW_EXTRA + (j - i) as u32 * (66 - l as u32 - t as u32);
                best[j] = best[j].min(c);
            }
        }
        best[m]
    }

    #[test]
    fn the_fast_program_finds_the_optimum() {
        let mut seed = 3u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let m = (next() % 120) as usize;
            let wins: Vec<(u8, u8)> = (0..m)
                .map(|_| {
                    let lead = (next() % 32) as u8;
                    let trail = (next() % (64 - lead as u64)) as u8;
                    // Clustered windows, like real data, plus outliers.
                    if next() % 4 == 0 {
                        (lead, trail)
                    } else {
                        (12 + (next() % 3) as u8, 30 + (next() % 5) as u8)
                    }
                })
                .collect();
            assert_eq!(solve(&wins).0, solve_quadratic(&wins), "{wins:?}");
        }
    }

    #[test]
    fn small_or_damaged_chunks_are_left_alone() {
        let g = greedy(&[(1, 1.0), (2, 2.0)]);
        assert_eq!(compact(&g), g);
        let g = greedy(&[(1, 1.0), (2, 2.0), (3, 5.0), (4, 9.0)]);
        assert_eq!(compact(&g[..g.len() - 3]), &g[..g.len() - 3]);
    }
}
