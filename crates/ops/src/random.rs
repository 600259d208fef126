//! pt2's random numbers: one process-wide generator, seeded like `torch.manual_seed`.
//!
//! The stream is xoshiro256++ (seeded through SplitMix64), not PyTorch's Mersenne Twister and
//! Philox, so values differ from PyTorch's for the same seed: random operators are tagged
//! `Nondeterministic` and checked for their distribution, not against PyTorch's values. A seed
//! makes pt2's own runs repeatable.

use std::sync::Mutex;

use tensor::{DType, Tensor};

/// xoshiro256++: 256 bits of state, period 2^256 − 1, passes BigCrush.
#[derive(Clone, Debug)]
pub struct Generator {
    s: [u64; 4],
}

impl Generator {
    /// The generator `torch.manual_seed(seed)` would give, in pt2's stream.
    pub fn from_seed(seed: u64) -> Generator {
        // SplitMix64 spreads one word of seed over the four words of state
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Generator { s: [next(), next(), next(), next()] }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform on `[0, 1)` with `bits` random mantissa bits: every value is exactly
    /// representable in a float type with that precision, so none rounds up to 1.
    pub fn uniform_bits(&mut self, bits: u32) -> f64 {
        (self.next_u64() >> (64 - bits)) as f64 / (1u64 << bits) as f64
    }

    /// Uniform on `[0, 1)` in double precision.
    pub fn uniform(&mut self) -> f64 {
        self.uniform_bits(53)
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: the logarithm stays finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Uniform on `0..n` (n > 0), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// The bits of precision a uniform sample in `dtype` may carry (its significand).
pub fn precision_bits(dtype: DType) -> u32 {
    match dtype {
        DType::F64 => 53,
        DType::F16 => 11,
        DType::BF16 => 8,
        _ => 24,
    }
}

const DEFAULT_SEED: u64 = 0x2545_F491_4F6C_DD1D;

static GENERATOR: Mutex<Option<Generator>> = Mutex::new(None);

/// Reseeds the process-wide generator, as `torch.manual_seed(seed)` does.
pub fn manual_seed(seed: u64) {
    *GENERATOR.lock().unwrap_or_else(|e| e.into_inner()) = Some(Generator::from_seed(seed));
}

/// Draws from the process-wide generator (locked for the whole of `f`, so one tensor's values
/// are one contiguous run of the stream).
pub fn with_generator<R>(f: impl FnOnce(&mut Generator) -> R) -> R {
    let mut guard = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(|| Generator::from_seed(DEFAULT_SEED)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seed_one_stream() {
        let draw = |seed| {
            let mut g = Generator::from_seed(seed);
            (0..4).map(|_| g.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn uniform_samples_never_reach_one_in_any_precision() {
        let mut g = Generator::from_seed(3);
        for bits in [8, 11, 24, 53] {
            assert!((0..10_000).map(|_| g.uniform_bits(bits)).all(|u| (0.0..1.0).contains(&u)));
        }
        // the largest 8-bit sample is 255/256, below 1 in bfloat16 too
        assert_eq!(tensor::half::bf16::from_f64(255.0 / 256.0).to_f64(), 255.0 / 256.0);
    }
}

/// A tensor of `shape` in float dtype `dtype` drawn from `g`: standard normal, or uniform on
/// `[0, 1)` at the dtype's precision. What `aten::rand`/`aten::randn` and [`rand`]/[`randn`]
/// all draw with.
pub(crate) fn sample(g: &mut Generator, shape: &[usize], dtype: DType, normal: bool) -> tensor::Result<Tensor> {
    if !dtype.is_float() {
        return Err(tensor::Error::msg(format!("{} is implemented only for floating types, not {dtype}", if normal { "randn" } else { "rand" })));
    }
    let mut v = tensor::alloc::try_tensor_vec(0f64, shape)?;
    let bits = precision_bits(dtype);
    for x in &mut v {
        *x = if normal { g.normal() } else { g.uniform_bits(bits) };
    }
    Ok(Tensor::from_vec(v, shape)?.to_dtype(dtype))
}

/// `torch.rand(shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))`: uniform
/// on `[0, 1)`, from a generator of its own (the process-wide one is left as it was), so the
/// same seed gives the same tensor.
///
/// ```
/// // `pt2::rand` in the facade
/// let x = ops::random::rand(&[2, 3], tensor::DType::F32, 7)?;
/// assert!(x.to_vec::<f32>().iter().all(|&v| (0.0..1.0).contains(&v)));
/// assert!(x.allclose(&ops::random::rand(&[2, 3], tensor::DType::F32, 7)?, 0.0, 0.0, false));
/// # Ok::<(), tensor::Error>(())
/// ```
pub fn rand(shape: &[usize], dtype: DType, seed: u64) -> tensor::Result<Tensor> {
    sample(&mut Generator::from_seed(seed), shape, dtype, false)
}

/// `torch.randn(shape, dtype=dtype, generator=...manual_seed(seed))`: standard normal, from a
/// generator of its own seeded with `seed`.
///
/// ```
/// // `pt2::randn` in the facade
/// let x = ops::random::randn(&[1000], tensor::DType::F64, 1)?;
/// let mean = x.to_vec::<f64>().iter().sum::<f64>() / 1000.0;
/// assert!(mean.abs() < 0.15);
/// # Ok::<(), tensor::Error>(())
/// ```
pub fn randn(shape: &[usize], dtype: DType, seed: u64) -> tensor::Result<Tensor> {
    sample(&mut Generator::from_seed(seed), shape, dtype, true)
}
