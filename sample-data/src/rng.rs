//! A small seeded pseudo-random generator (splitmix64) and the draws the history needs.
//!
//! The crate owns its generator instead of using `rand`: the demo must look the same on
//! every run and every platform, and twenty lines of our own mean no upstream release
//! can change the stream. For the same reason the one transcendental function needed,
//! `exp`, is computed here with plain IEEE arithmetic rather than the platform's libm,
//! whose last bit may differ between systems and shift a rounded second.

use std::f64::consts::LN_2;

/// splitmix64 (Steele, Lea and Flood, 2014). Chosen over xorshift64* because every
/// seed, 0 included, starts a good stream, and one `u64` of state is all it keeps.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, from the top 53 bits (all an `f64` mantissa holds).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// Uniform in `[0, n)`, 0 when `n` is 0. Multiply-and-shift instead of `%`: its bias
    /// is below `n / 2^64`, invisible at the sizes used here.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[lo, hi]`, both ends included; `lo` when the range is empty.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let offset = self.below(hi.abs_diff(lo).saturating_add(1));
        lo.saturating_add_unsigned(offset)
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element, uniformly. `items` must not be empty (the catalog's lists never are).
    /// Returns a copy: every list picked from holds `&'static str`s.
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A count with the given mean, spread binomially. Poisson would need `ln`; the
    /// binomial with twice the mean's ceiling of trials has nearly the same shape.
    pub(crate) fn count(&mut self, mean: f64) -> u32 {
        if mean <= 0.0 {
            return 0;
        }
        let trials = mean.ceil() as u32 * 2 + 2;
        let p = mean / f64::from(trials);
        (0..trials).filter(|_| self.chance(p)).count() as u32
    }

    /// Log-normal-ish: `median · e^(sigma · z)`, where z is the Irwin–Hall sum of twelve
    /// uniforms less six (mean 0, variance 1, tails cut at ±6). Box–Muller would need
    /// `ln` and `cos`; this needs only `exp`, and the cut tails suit durations anyway.
    pub(crate) fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        let z = (0..12).map(|_| self.unit()).sum::<f64>() - 6.0;
        median * exp(sigma * z)
    }

    /// A duration in whole seconds: log-normal around `median` seconds, within `[min, max]`.
    pub(crate) fn duration(&mut self, median: f64, sigma: f64, min: i64, max: i64) -> i64 {
        (self.log_normal(median, sigma).round() as i64).clamp(min, max.max(min))
    }

    /// A commit id: 40 lowercase hex digits.
    pub(crate) fn sha(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        let c = self.next_u64() >> 32;
        format!("{a:016x}{b:016x}{c:08x}")
    }
}

/// `e^x` from basic IEEE operations only (see the module note): reduce to
/// `2^k · e^r` with `|r| ≤ ln 2 / 2`, sum the Taylor series of `e^r`, and build `2^k`
/// from its bits.
fn exp(x: f64) -> f64 {
    let x = x.clamp(-700.0, 700.0);
    let k = (x / LN_2).round();
    let r = x - k * LN_2;
    let mut term = 1.0;
    let mut sum = 1.0;
    for i in 1..=20_u32 {
        term *= r / f64::from(i);
        sum += term;
    }
    // |k| ≤ 1010 after the clamp, so the biased exponent stays in 13..=2033.
    sum * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::{Rng, exp};

    #[test]
    fn same_seed_gives_same_stream() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        assert!((0..100).all(|_| a.next_u64() == b.next_u64()));
    }

    #[test]
    fn range_stays_inside_its_ends() {
        let mut rng = Rng::new(1);
        for _ in 0..10_000 {
            let v = rng.range(-3, 5);
            assert!((-3..=5).contains(&v));
        }
        assert_eq!(rng.range(9, 2), 9);
    }

    #[test]
    fn exp_agrees_with_libm() {
        for x in [-9.0, -1.5, -0.1, 0.0, 0.3, 1.0, 2.5, 9.0] {
            let ours = exp(x);
            let theirs = f64::exp(x);
            assert!(
                (ours - theirs).abs() <= theirs * 1e-14,
                "{x}: {ours} vs {theirs}"
            );
        }
    }

    #[test]
    fn sha_is_forty_lowercase_hex_digits() {
        let sha = Rng::new(3).sha();
        assert_eq!(sha.len(), 40);
        assert!(sha.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    }

    #[test]
    fn count_has_roughly_the_asked_mean() {
        let mut rng = Rng::new(5);
        let total: u32 = (0..10_000).map(|_| rng.count(2.5)).sum();
        assert!((23_000..27_000).contains(&total), "{total}");
    }
}
