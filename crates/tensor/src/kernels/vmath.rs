//! Float32 transcendental functions written to vectorize, and slice maps compiled once per
//! instruction set so that they do.
//!
//! `f32::exp` is a libm call per element (~100 M elements/s a core); the functions here are
//! branch-free arithmetic (range reduction, a polynomial, exponent bits), which LLVM turns
//! into 16-lane AVX-512 or 8-lane AVX2 code inside [`map_slice`]'s per-ISA loops: 2–4 G
//! elements/s a core. Accuracy is within 2 ulp of the correctly rounded value (tests below
//! check against f64), well inside the float32 tolerance PyTorch's own vectorized (Sleef)
//! kernels are held to.

/// `1.5 * 2^23`: adding it rounds a float below 2^22 to the nearest integer, which is then
/// the low bits of the sum's representation.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// `e^x`. NaN stays NaN, overflow is `inf`, results below the normal range flush to 0.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that n * LN2_HI is exact for |n| < 2^9
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let c = x.clamp(-87.336_55, 88.722_84);
    let t = c * LOG2E + ROUND_MAGIC;
    let n = t - ROUND_MAGIC;
    let bits = t.to_bits().wrapping_sub(ROUND_MAGIC.to_bits()) as i32;
    let r = c - n * LN2_HI - n * LN2_LO;
    // e^r for |r| <= ln2/2: Taylor to r^7 (remainder < 6e-9 relative)
    let mut p = 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // 2^n as exponent bits; n in [-126, 128]: 2^128 is split as 2 * 2^127
    let half = (bits >> 1) as i32;
    let s1 = f32::from_bits(((half + 127) as u32) << 23);
    let s2 = f32::from_bits(((bits - half + 127) as u32) << 23);
    let y = p * s1 * s2;
    let y = if x > 88.722_84 { f32::INFINITY } else { y };
    let y = if x < -87.336_55 { 0.0 } else { y };
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// `if cond { a } else { b }` as bit masking: both sides are computed anyway, and written
/// this way LLVM keeps the loop branch-free (vectorized) instead of branching around the
/// costlier side.
#[inline(always)]
fn select(cond: bool, a: f32, b: f32) -> f32 {
    let mask = 0u32.wrapping_sub(cond as u32);
    f32::from_bits((a.to_bits() & mask) | (b.to_bits() & !mask))
}

/// `1 / (1 + e^-x)`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `x * sigmoid(x)`, as PyTorch computes it: `x / (1 + e^-x)`.
#[inline(always)]
pub fn silu(x: f32) -> f32 {
    x / (1.0 + exp(-x))
}

/// `erfc(z) * e^(z^2)` as `e^(g(z))` for `z` in `[1, 4]`: `g` fitted by least squares on
/// Chebyshev nodes (relative error of erfc below 1e-6).
#[inline(always)]
fn log_erfc_plus_square(z: f32) -> f32 {
    const G: [f32; 9] = [
        1.614_061_6e-6,
        -4.559_062_3e-5,
        5.927_695_4e-4,
        -4.740_222_3e-3,
        2.636_471_7e-2,
        -1.099_782_5e-1,
        3.680_629e-1,
        -1.130_166_7,
        3.032_129_8e-4,
    ];
    let mut p = G[0];
    for &c in &G[1..] {
        p = p * z + c;
    }
    p
}

/// `erf(x) / x` as a polynomial in `x^2` for `|x| <= 1` (fitted as above; 2 ulp).
#[inline(always)]
fn erf_over_x(z2: f32) -> f32 {
    const A: [f32; 7] = [7.933_494e-5, -8.034_847e-4, 5.191_218_4e-3, -2.685_54e-2, 1.128_362_6e-1, -3.761_263e-1, 1.128_379_2];
    let mut p = A[0];
    for &c in &A[1..] {
        p = p * z2 + c;
    }
    p
}

/// `1 + erf(z)`, accurate in relative terms also where it is tiny (`z` far below 0).
#[inline(always)]
pub fn one_plus_erf(z: f32) -> f32 {
    let a = z.abs();
    let small = 1.0 + z * erf_over_x(z * z);
    // erfc(|z|) for |z| >= 1, |z| capped at 4 inside g (erfc(4) < 2e-8)
    let erfc = exp(log_erfc_plus_square(a.min(4.0)) - a * a);
    select(a < 1.0, small, select(z > 0.0, 2.0 - erfc, erfc))
}

/// `erf(x)`.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let small = x * erf_over_x(x * x);
    let large = 1.0 - exp(log_erfc_plus_square(a.min(4.0)) - a * a);
    select(a < 1.0, small, select(x < 0.0, -large, large))
}

/// `tanh(x)`: an odd polynomial near 0 (where `1 - 2 / (e^2x + 1)` would cancel), that
/// form elsewhere.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let e = exp(2.0 * a.min(44.0));
    let far = 1.0 - 2.0 / (e + 1.0);
    let far = if x < 0.0 { -far } else { far };
    // Taylor series to x^11 for |x| < 0.3 (remainder < 2e-8 relative)
    let z = x * x;
    let mut p = -1_382.0 / 155_925.0;
    p = p * z + 62.0 / 2835.0;
    p = p * z - 17.0 / 315.0;
    p = p * z + 2.0 / 15.0;
    p = p * z - 1.0 / 3.0;
    let near = x + x * z * p;
    select(a < 0.3 || x.is_nan(), near, far)
}

/// `max(x, 0)`, NaN kept.
#[inline(always)]
pub fn relu(x: f32) -> f32 {
    select(x > 0.0 || x.is_nan(), x, 0.0)
}

/// `x * clamp(x + 3, 0, 6) / 6`.
#[inline(always)]
pub fn hardswish(x: f32) -> f32 {
    x * (x + 3.0).clamp(0.0, 6.0) / 6.0
}

/// `clamp(x + 3, 0, 6) / 6`.
#[inline(always)]
pub fn hardsigmoid(x: f32) -> f32 {
    (x + 3.0).clamp(0.0, 6.0) / 6.0
}

/// `gelu(x) = x/2 * (1 + erf(x / sqrt 2))`.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * one_plus_erf(x * std::f32::consts::FRAC_1_SQRT_2)
}

/// `gelu` with PyTorch's `approximate="tanh"`: `x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
#[inline(always)]
pub fn gelu_tanh(x: f32) -> f32 {
    const K: f32 = 0.797_884_6;
    0.5 * x * (1.0 + tanh(K * (x + 0.044_715 * x * x * x)))
}

/// A float32 function to map over slices. Closures are ones; so are the unit types below,
/// whose `apply` is always inlined: LLVM declines to inline a large closure body (`gelu`'s)
/// into the loop, which then calls it element by element instead of vectorizing it.
pub trait Unary: Copy + Send + Sync {
    fn apply(&self, x: f32) -> f32;
}

impl<F: Fn(f32) -> f32 + Copy + Send + Sync> Unary for F {
    #[inline(always)]
    fn apply(&self, x: f32) -> f32 {
        self(x)
    }
}

macro_rules! unary_kernels {
    ($($(#[$doc:meta])* $name:ident => $f:ident,)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name;

        impl Unary for $name {
            #[inline(always)]
            fn apply(&self, x: f32) -> f32 {
                $f(x)
            }
        }
    )*};
}

unary_kernels! {
    /// [`relu`] as a [`Unary`].
    Relu => relu,
    /// [`hardswish`] as a [`Unary`].
    Hardswish => hardswish,
    /// [`hardsigmoid`] as a [`Unary`].
    Hardsigmoid => hardsigmoid,
    /// [`exp`] as a [`Unary`].
    Exp => exp,
    /// [`sigmoid`] as a [`Unary`].
    Sigmoid => sigmoid,
    /// [`silu`] as a [`Unary`].
    Silu => silu,
    /// [`tanh`] as a [`Unary`].
    Tanh => tanh,
    /// [`gelu`] as a [`Unary`].
    Gelu => gelu,
    /// [`gelu_tanh`] as a [`Unary`].
    GeluTanh => gelu_tanh,
}

/// An activation function applied to a product's output while it is still in cache (the
/// epilogue of [`super::sgemm`] and of the convolutions): the element-wise operators a plan
/// fuses into the matrix product or convolution before them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Relu,
    Gelu,
    GeluTanh,
    Silu,
    Sigmoid,
    Tanh,
    Hardswish,
    Hardsigmoid,
    /// `clamp(x, min, max)` (`hardtanh`, `relu6`): NaN stays NaN.
    Clamp(f32, f32),
}

impl Activation {
    /// `xs[i] = f(xs[i])`, vectorized as [`map_in_place`].
    pub fn apply(self, xs: &mut [f32]) {
        match self {
            Activation::Relu => map_in_place(xs, Relu),
            Activation::Gelu => map_in_place(xs, Gelu),
            Activation::GeluTanh => map_in_place(xs, GeluTanh),
            Activation::Silu => map_in_place(xs, Silu),
            Activation::Sigmoid => map_in_place(xs, Sigmoid),
            Activation::Tanh => map_in_place(xs, Tanh),
            Activation::Hardswish => map_in_place(xs, Hardswish),
            Activation::Hardsigmoid => map_in_place(xs, Hardsigmoid),
            Activation::Clamp(lo, hi) => map_in_place(xs, move |x: f32| clamp(x, lo, hi)),
        }
    }
}

/// `min(max(x, lo), hi)`, NaN kept (`clamp`'s and `hardtanh`'s rule).
#[inline(always)]
pub fn clamp(x: f32, lo: f32, hi: f32) -> f32 {
    if x.is_nan() {
        x
    } else {
        x.max(lo).min(hi)
    }
}

/// `dst[i] = f(src[i])`, the loop compiled for the best instruction set this CPU has.
#[inline]
pub fn map_slice<F: Unary>(src: &[f32], dst: &mut [f32], f: F) {
    assert_eq!(src.len(), dst.len(), "map_slice: lengths differ");
    map_best(src, dst, f)
}

crate::per_isa!(fn map_best[F: Unary](src: &[f32], dst: &mut [f32], f: F) => map_portable);

crate::per_isa!(
    /// `xs[i] = f(xs[i])`, compiled like [`map_slice`].
    pub fn map_in_place[F: Unary](xs: &mut [f32], f: F) => in_place_portable
);

#[inline(always)]
fn map_portable<F: Unary>(src: &[f32], dst: &mut [f32], f: F) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f.apply(s);
    }
}

#[inline(always)]
fn in_place_portable<F: Unary>(xs: &mut [f32], f: F) {
    for v in xs.iter_mut() {
        *v = f.apply(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every float in [lo, hi] at `n` evenly spaced points, plus the edges.
    fn points(lo: f32, hi: f32, n: usize) -> Vec<f32> {
        (0..=n).map(|i| lo + (hi - lo) * i as f32 / n as f32).collect()
    }

    fn ulps(a: f32, b: f64) -> f64 {
        let b32 = b as f32;
        if a == b32 || (a.is_nan() && b.is_nan()) {
            return 0.0;
        }
        let ulp = (f32::from_bits(b32.abs().to_bits() + 1) - b32.abs()) as f64;
        (a as f64 - b).abs() / ulp
    }

    fn max_ulps(f: impl Fn(f32) -> f32, reference: impl Fn(f64) -> f64, xs: &[f32]) -> f64 {
        xs.iter().map(|&x| ulps(f(x), reference(x as f64))).fold(0.0, f64::max)
    }

    #[test]
    fn exp_is_within_two_ulp() {
        assert!(max_ulps(exp, f64::exp, &points(-87.0, 88.0, 200_000)) <= 2.0);
        assert_eq!(exp(100.0), f32::INFINITY);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn sigmoid_and_silu_match_f64() {
        let xs = points(-80.0, 80.0, 100_000);
        assert!(max_ulps(sigmoid, |x| 1.0 / (1.0 + (-x).exp()), &xs) <= 3.0);
        assert!(max_ulps(silu, |x| x / (1.0 + (-x).exp()), &xs) <= 3.0);
        assert!(sigmoid(f32::NAN).is_nan());
        assert_eq!(sigmoid(-200.0), 0.0);
        assert_eq!(sigmoid(200.0), 1.0);
    }

    #[test]
    fn erf_and_gelu_match_libm() {
        let xs = points(-6.0, 6.0, 100_000);
        let worst = xs.iter().map(|&x| (erf(x) as f64 - libm::erf(x as f64)).abs()).fold(0.0, f64::max);
        assert!(worst < 2.5e-7, "erf off by {worst}");
        // gelu: relative error where it is not tiny, absolute where it is (the exponent's
        // argument, about -z^2, carries a rounding of up to 5e-7 relative into erfc)
        let exact = |x: f64| 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
        for &x in &xs {
            let (got, want) = (gelu(x) as f64, exact(x as f64));
            assert!((got - want).abs() <= 1e-9 + 2e-6 * want.abs(), "gelu({x}) = {got}, expected {want}");
        }
        assert!(gelu(f32::NAN).is_nan());
        assert_eq!(gelu(20.0), 20.0);
    }

    #[test]
    fn tanh_matches_f64() {
        let xs = points(-12.0, 12.0, 100_000);
        let worst = xs.iter().map(|&x| ((tanh(x) as f64 - (x as f64).tanh()) / (x as f64).tanh().abs().max(1e-30)).abs()).fold(0.0, f64::max);
        assert!(worst < 3e-7, "tanh relative error {worst}");
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(100.0), 1.0);
        assert!(tanh(f32::NAN).is_nan());
        // absolute error: 1 + tanh(..) in float32 is a multiple of 6e-8 where tanh nears -1,
        // in PyTorch's float kernel as here
        let exact = |x: f64| 0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh());
        for &x in &xs {
            let (got, want) = (gelu_tanh(x) as f64, exact(x as f64));
            assert!((got - want).abs() <= 3e-7 + 1e-6 * want.abs(), "gelu_tanh({x}) = {got}, expected {want}");
        }
    }

    #[test]
    fn maps_agree_with_the_scalar_function() {
        let xs = points(-10.0, 10.0, 1000);
        let mut out = vec![0.0; xs.len()];
        map_slice(&xs, &mut out, Silu);
        assert!(xs.iter().zip(&out).all(|(&x, &y)| y.to_bits() == silu(x).to_bits()));
        let mut ys = xs.clone();
        map_in_place(&mut ys, Gelu);
        assert!(xs.iter().zip(&ys).all(|(&x, &y)| y.to_bits() == gelu(x).to_bits()));
    }
}

