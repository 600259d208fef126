//! Complex tensors: the views between a complex tensor and its float parts, conjugation, and
//! the FFT kernels PyTorch's spectral functions (`fft_irfft`, `fft_hfftn`, `stft`, ...) lower to
//! (`_fft_r2c`, `_fft_c2c`, `_fft_c2r`). Transforms run in double precision (`rustfft`) along
//! one dim at a time and are rounded to the output dtype once.

use std::sync::Arc;

pub(crate) use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use symbolic::Expr;
use tensor::shape::wrap_dim;
use tensor::kernels::elementwise;
use tensor::{with_dtype, Bool8, DType, Element, Tensor};

use crate::registry::Tag::*;
use super::common::torch_type_name;
use tensor::bail;
use crate::{dtype, meta, Args, DtypeRule, MetaCall, Registry, Result, Value};

pub fn register(r: &Registry) {
    let core = &[Core][..];
    r.def_meta("aten::view_as_real(Tensor(a) self) -> Tensor(a)", core, view_as_real_meta, view_as_real).dtype(DtypeRule::Custom(dtype::real_parts));
    r.def_meta("aten::view_as_complex(Tensor(a) self) -> Tensor(a)", core, view_as_complex_meta, view_as_complex).dtype(DtypeRule::Custom(complex_of));
    r.def_meta("aten::_conj(Tensor(a) self) -> Tensor(a)", core, meta::same_as_self, conjugate);
    r.def_meta("aten::conj_physical(Tensor self) -> Tensor", core, meta::same_as_self, conjugate).complex();
    r.def_meta("aten::_conj_physical(Tensor self) -> Tensor", core, meta::same_as_self, conjugate).complex();
    r.def_meta("aten::_fft_r2c(Tensor self, int[] dim, int normalization, bool onesided) -> Tensor", core, r2c_meta, fft_r2c).dtype(DtypeRule::Custom(complex_of));
    r.def_meta("aten::_fft_c2c(Tensor self, SymInt[] dim, int normalization, bool forward) -> Tensor", core, meta::same_as_self, fft_c2c).complex();
    r.def_meta("aten::_fft_c2r(Tensor self, int[] dim, int normalization, SymInt last_dim_size) -> Tensor", core, c2r_meta, fft_c2r)
        .complex()
        .dtype(DtypeRule::Custom(dtype::real_parts));
    r.def_meta("aten::complex(Tensor real, Tensor imag) -> Tensor", &[], meta::pointwise, complex_from_parts).dtype(DtypeRule::Custom(complex_of_parts));
}

/// `torch.complex(real, imag)`: two float tensors of one dtype (broadcast) as one complex
/// tensor.
fn complex_from_parts(a: &Args) -> Result<Value> {
    let (re, im) = (a.tensor("real")?, a.tensor("imag")?);
    Ok(join(re, im, complex_of_parts(a)?[0])?.into())
}

fn complex_of_parts(a: &Args) -> Result<Vec<DType>> {
    let (re, im) = (a.tensor("real")?.dtype(), a.tensor("imag")?.dtype());
    if !re.is_float() || !im.is_float() || re == DType::BF16 || im == DType::BF16 {
        bail!("Expected both inputs to be Half, Float or Double tensors but got {} and {}", torch_type_name(re), torch_type_name(im));
    }
    if re != im {
        bail!("Expected object of scalar type {} but got scalar type {} for second argument", torch_type_name(re), torch_type_name(im));
    }
    if re == DType::F16 {
        bail!("torch.complex of float16 parts makes complex32, which pt2 does not support");
    }
    Ok(vec![re.to_complex()])
}

// ----- views and conjugation ------------------------------------------------------------------

/// `view_as_real`: a complex tensor's storage read as its float parts, a last dim of 2.
fn view_as_real(a: &Args) -> Result<Value> {
    match a.tensor("self")?.view_as_real() {
        Some(parts) => Ok(parts.into()),
        None => bail!("view_as_real is only supported for complex tensors"),
    }
}

/// `view_as_complex`: float pairs (a last dim of 2, adjacent) read as complex numbers.
fn view_as_complex(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if !matches!(x.dtype(), DType::F32 | DType::F64) {
        bail!("view_as_complex is only supported for float and double tensors, but got a tensor of scalar type: {}", x.dtype());
    }
    let (Some(&2), Some(&1)) = (x.shape().last(), x.strides().last()) else {
        match x.shape().last() {
            Some(&2) => bail!("Tensor must have a last dimension with stride 1"),
            _ => bail!("Tensor must have a last dimension of size 2"),
        }
    };
    let rank = x.dim() - 1;
    if x.strides()[..rank].iter().any(|s| s % 2 != 0) {
        bail!("Tensor must have a stride divisible by 2 for all but last dimension");
    }
    if x.storage_offset() % 2 != 0 {
        bail!("Tensor must have a storage_offset divisible by 2");
    }
    let strides: Vec<isize> = x.strides()[..rank].iter().map(|s| s / 2).collect();
    Ok(Tensor::from_storage(x.storage().clone(), x.dtype().to_complex(), &x.shape()[..rank], &strides, x.storage_offset() / 2).into())
}

/// `_conj` / `conj_physical`: the imaginary parts negated (a real tensor is its own conjugate).
/// PyTorch's `_conj` is a lazy view; pt2 materializes it, which is what every consumer reads.
fn conjugate(a: &Args) -> Result<Value> {
    Ok(conj(a.tensor("self")?).into())
}

fn view_as_real_meta(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    s.push(Expr::Int(2));
    Ok(vec![s])
}

fn view_as_complex_meta(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    s.pop();
    Ok(vec![s])
}

/// The complex dtype of a tensor's values: a complex one's own, `complex128` for double, else
/// `complex64` (integers and lower precisions are computed as float, as PyTorch promotes them).
fn complex_of(args: &Args) -> Result<Vec<DType>> {
    Ok(vec![args.tensor("self")?.dtype().to_complex()])
}

// ----- element-wise arithmetic ----------------------------------------------------------------

/// One element as a double-precision complex number.
#[inline(always)]
fn lift<T: Element>(v: T) -> Complex<f64> {
    let (re, im) = v.to_complex();
    Complex::new(re, im)
}

/// A double-precision complex number as an element of `T`, rounded once (a real `T` keeps the
/// real part).
#[inline(always)]
fn lower<T: Element>(c: Complex<f64>) -> T {
    T::from_complex(c.re, c.im)
}

/// `f` over each element of `x` (complex), computed in double precision and rounded once to
/// `out` (complex, or real for magnitudes and angles).
pub(crate) fn map(x: &Tensor, out: DType, f: impl Fn(Complex<f64>) -> Complex<f64> + Sync) -> Tensor {
    with_dtype!(x.dtype(), S => with_dtype!(out, T => elementwise::map::<S, T>(x, |v| lower::<T>(f(lift(v))))))
}

/// `f` over the broadcast elements of `x` and `y`, both read as the complex dtype `out`,
/// computed in double precision and rounded once.
pub(crate) fn zip(x: &Tensor, y: &Tensor, out: DType, f: impl Fn(Complex<f64>, Complex<f64>) -> Complex<f64> + Sync) -> Result<Tensor> {
    let (x, y) = (x.to_dtype(out), y.to_dtype(out));
    with_dtype!(out, T => elementwise::zip::<T, T, T>(&x, &y, |p, q| lower::<T>(f(lift(p), lift(q)))))
}

/// `f` over each group of `x`'s elements along `dims` (read as the complex dtype `out`), given
/// the group as double-precision values and its length; rounded once to `out`.
pub(crate) fn reduce(
    x: &Tensor,
    out: DType,
    dims: &[usize],
    keepdim: bool,
    f: impl Fn(&mut dyn Iterator<Item = Complex<f64>>, usize) -> Complex<f64> + Sync,
) -> Result<Tensor> {
    with_dtype!(out, T => tensor::kernels::reduce::reduce::<T, T>(&x.to_dtype(out), dims, keepdim, |g| {
        lower::<T>(f(&mut g.iter().map(|v| lift(*v)), g.len()))
    }))
}

/// The mean of `x` (read as the complex dtype `out`) over `dims`, summed in double precision.
pub(crate) fn mean(x: &Tensor, out: DType, dims: &[usize], keepdim: bool) -> Result<Tensor> {
    reduce(x, out, dims, keepdim, |parts, n| parts.sum::<Complex<f64>>() / n as f64)
}

/// A contiguous copy of `base` (complex) with `src[s]` added into flat offset `d` for every pair
/// `(d, s)`, each addition rounded to the dtype as PyTorch's in-place accumulation rounds it.
pub(crate) fn scatter_add(base: &Tensor, src: &Tensor, pairs: &[(usize, usize)]) -> Result<Tensor> {
    let src = src.to_dtype(base.dtype());
    with_dtype!(base.dtype(), T => {
        let mut out = base.to_vec::<T>();
        let s = src.to_vec::<T>();
        for &(d, i) in pairs {
            out[d] = lower::<T>(lift(out[d]) + lift(s[i]));
        }
        Tensor::from_vec(out, base.shape())
    })
}

/// A tensor of `shape` and the complex `dtype` holding `re + im·j` everywhere.
pub(crate) fn full(shape: &[usize], re: f64, im: f64, dtype: DType) -> Tensor {
    map(&Tensor::full(shape, 0.0, dtype), dtype, move |_| Complex::new(re, im))
}

/// The real and imaginary parts of a complex tensor, as real tensors of its shape.
pub(crate) fn split(x: &Tensor) -> Result<(Tensor, Tensor)> {
    let pairs = x.view_as_real().ok_or_else(|| tensor::Error::msg(format!("expected a complex tensor, got {}", x.dtype())))?;
    let last = pairs.dim() as i64 - 1;
    Ok((pairs.select(last, 0)?.contiguous(), pairs.select(last, 1)?.contiguous()))
}

/// The complex tensor `re + im·j` (broadcast) of the complex dtype `out`, from real tensors.
pub(crate) fn join(re: &Tensor, im: &Tensor, out: DType) -> Result<Tensor> {
    zip(re, im, out, |p, q| Complex::new(p.re, q.re))
}

/// `log(exp(x) + exp(y))` as PyTorch's complex kernel computes it: ordered by real part, NaN in
/// either part is infectious, equal infinite real parts are summed directly (or kept, when
/// both are -inf), otherwise `log1p(exp(min - max)) + max`.
pub(crate) fn log_add_exp(x: Complex<f64>, y: Complex<f64>) -> Complex<f64> {
    let (min, max) = if y.re.is_nan() || y.im.is_nan() {
        (y, y)
    } else if x.re.is_nan() || x.im.is_nan() {
        (x, x)
    } else if x.re < y.re {
        (x, y)
    } else {
        (y, x)
    };
    if min.re.is_nan() || min.im.is_nan() {
        Complex::new(f64::NAN, f64::NAN)
    } else if min.re.is_infinite() && min.re == max.re {
        if min.re < 0.0 {
            min
        } else {
            (min.exp() + max.exp()).ln()
        }
    } else {
        ln_1p((min - max).exp()) + max
    }
}

/// `log(1 + z)`, accurate for small `z` (c10's complex `log1p`): the real part from
/// `log1p(2x + x² + y²) / 2` when `|z| < 0.5`.
pub(crate) fn ln_1p(z: Complex<f64>) -> Complex<f64> {
    let (x, y) = (z.re, z.im);
    let theta = y.atan2(x + 1.0);
    if z.norm() < 0.5 {
        let r = x * (2.0 + x) + y * y;
        if r == 0.0 {
            return Complex::new(x, theta);
        }
        Complex::new(0.5 * r.ln_1p(), theta)
    } else {
        Complex::new((x + 1.0).hypot(y).ln(), theta)
    }
}

/// Whether `f` holds of each element of the complex tensor `x`, as bool.
pub(crate) fn test(x: &Tensor, f: impl Fn(Complex<f64>) -> bool + Sync) -> Tensor {
    with_dtype!(x.dtype(), T => elementwise::map::<T, Bool8>(x, |v| f(lift(v)).into()))
}

/// A running `f` along `dim` of `x` (read as the complex dtype `out`): element `i` of each lane
/// is `f(acc, x_i)` from `init` (`cumsum`, `cumprod`), in double precision, rounded once.
pub(crate) fn scan(x: &Tensor, out: DType, dim: usize, init: Complex<f64>, f: impl Fn(Complex<f64>, Complex<f64>) -> Complex<f64> + Sync) -> Result<Tensor> {
    let n = if x.dim() == 0 { 1 } else { x.shape()[dim] };
    with_dtype!(out, T => tensor::kernels::reduce::map_lanes::<T, T>(&x.to_dtype(out), dim, n, |lane, o| {
        let mut acc = init;
        for (v, o) in lane.iter().zip(o.iter_mut()) {
            acc = f(acc, lift(*v));
            *o = lower::<T>(acc);
        }
    }))
}

/// The complex conjugate of `x` as a new tensor (a real tensor is its own).
pub(crate) fn conj(x: &Tensor) -> Tensor {
    if x.dtype().is_complex() {
        map(x, x.dtype(), |z| z.conj())
    } else {
        x.clone()
    }
}

/// `base ** exponent` as PyTorch's complex `pow` computes it: squares exactly, zero to a
/// power with a positive real part is zero, otherwise `exp(exponent * log(base))`.
pub(crate) fn pow(base: Complex<f64>, exponent: Complex<f64>) -> Complex<f64> {
    if exponent == Complex::new(2.0, 0.0) {
        base * base
    } else if exponent == Complex::new(1.0, 0.0) {
        base
    } else if exponent == Complex::new(0.0, 0.0) {
        Complex::new(1.0, 0.0)
    } else if base == Complex::new(0.0, 0.0) && exponent.re > 0.0 {
        Complex::new(0.0, 0.0)
    } else {
        (exponent * base.ln()).exp()
    }
}

/// Element-wise equality of two complex operands (both parts), as bool.
pub(crate) fn equal(x: &Tensor, y: &Tensor, out: DType, want: bool) -> Result<Tensor> {
    let (x, y) = (x.to_dtype(out), y.to_dtype(out));
    with_dtype!(out, T => elementwise::zip::<T, T, Bool8>(&x, &y, |p, q| ((lift(p) == lift(q)) == want).into()))
}

/// `sgn`: `z / |z|`, zero at zero.
pub(crate) fn sgn(z: Complex<f64>) -> Complex<f64> {
    let r = z.norm();
    if r == 0.0 {
        Complex::new(0.0, 0.0)
    } else {
        z / r
    }
}

// ----- FFTs -----------------------------------------------------------------------------------

/// A tensor's elements in logical order as complex numbers.
fn parts(t: &Tensor) -> Vec<Complex<f64>> {
    with_dtype!(t.dtype(), T => t.to_vec::<T>().into_iter().map(lift).collect())
}

/// A contiguous tensor of `dtype` from complex values (a real dtype keeps the real parts).
fn from_parts(values: &[Complex<f64>], shape: &[usize], dtype: DType) -> Result<Tensor> {
    with_dtype!(dtype, T => Tensor::from_vec(values.iter().map(|&c| lower::<T>(c)).collect::<Vec<T>>(), shape))
}

/// The transform dims, wrapped and checked.
fn dims(a: &Args, x: &Tensor) -> Result<Vec<usize>> {
    let dims = a.int_list("dim")?.into_iter().map(|d| Ok(wrap_dim(d, x.dim())?)).collect::<Result<Vec<usize>>>()?;
    if dims.is_empty() {
        bail!("{}: no dims to transform", a.schema().qualified_name());
    }
    Ok(dims)
}

/// `data` (contiguous, of `shape`) transformed along `dim` by `fft`, in place.
fn transform_along(data: &mut [Complex<f64>], shape: &[usize], dim: usize, fft: &Arc<dyn Fft<f64>>) {
    let n = shape[dim];
    let inner: usize = shape[dim + 1..].iter().product();
    let outer: usize = shape[..dim].iter().product();
    let mut line = vec![Complex::new(0.0, 0.0); n];
    let mut scratch = vec![Complex::new(0.0, 0.0); fft.get_inplace_scratch_len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * n + k) * inner + i;
            for (k, v) in line.iter_mut().enumerate() {
                *v = data[at(k)];
            }
            fft.process_with_scratch(&mut line, &mut scratch);
            for (k, v) in line.iter().enumerate() {
                data[at(k)] = *v;
            }
        }
    }
}

/// Complex transforms of `data` along each of `dims`.
fn c2c(data: &mut [Complex<f64>], shape: &[usize], dims: &[usize], forward: bool) {
    let mut planner = FftPlanner::new();
    for &d in dims {
        if shape[d] == 0 {
            continue;
        }
        let fft = if forward { planner.plan_fft_forward(shape[d]) } else { planner.plan_fft_inverse(shape[d]) };
        transform_along(data, shape, d, &fft);
    }
}

/// PyTorch's `fft_norm_mode`: 0 none, 1 by `1/sqrt(n)`, 2 by `1/n`, where `n` is the number of
/// points of the signal transformed (the product of its sizes along the transformed dims).
fn normalize(data: &mut [Complex<f64>], normalization: i64, points: usize) -> Result<()> {
    let scale = match normalization {
        0 => return Ok(()),
        1 => 1.0 / (points as f64).sqrt(),
        2 => 1.0 / points as f64,
        other => bail!("unknown FFT normalization mode {other}"),
    };
    data.iter_mut().for_each(|v| *v *= scale);
    Ok(())
}

/// `_fft_c2c`: complex to complex, forward or inverse, along `dim`.
fn fft_c2c(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if !x.dtype().is_complex() {
        bail!("_fft_c2c expects a complex input tensor, but got {}", x.dtype());
    }
    let dims = dims(a, x)?;
    let mut data = parts(x);
    c2c(&mut data, x.shape(), &dims, a.bool("forward")?);
    normalize(&mut data, a.int("normalization")?, dims.iter().map(|&d| x.shape()[d]).product())?;
    Ok(from_parts(&data, x.shape(), x.dtype())?.into())
}

/// `_fft_r2c`: a real signal's forward transform along `dim`; `onesided` keeps the last dim's
/// first `n/2 + 1` frequencies (the rest are their conjugates).
fn fft_r2c(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if !x.dtype().is_float() {
        bail!("_fft_r2c expects a floating point input tensor, but got {}", x.dtype());
    }
    let dims = dims(a, x)?;
    let mut data = parts(x);
    c2c(&mut data, x.shape(), &dims, true);
    normalize(&mut data, a.int("normalization")?, dims.iter().map(|&d| x.shape()[d]).product())?;
    let full = from_parts(&data, x.shape(), x.dtype().to_complex())?;
    if !a.bool("onesided")? {
        return Ok(full.into());
    }
    let last = *dims.last().expect("dims checked non-empty");
    let kept = x.shape()[last] / 2 + 1;
    Ok(full.narrow(last as i64, 0, kept)?.contiguous().into())
}

/// `_fft_c2r`: the inverse transform of a Hermitian-symmetric signal given by its first
/// `last_dim_size / 2 + 1` frequencies along the last of `dim` (complex inverses along the
/// others first), a real signal of `last_dim_size` points. The imaginary parts of the zero and
/// Nyquist frequencies are ignored, as PyTorch's pocketfft ignores them.
fn fft_c2r(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if !x.dtype().is_complex() {
        bail!("_fft_c2r expects a complex input tensor, but got {}", x.dtype());
    }
    let dims = dims(a, x)?;
    let n = a.int("last_dim_size")?;
    if n < 1 {
        bail!("Invalid number of data points ({n}) specified");
    }
    let n = n as usize;
    let (last, others) = dims.split_last().expect("dims checked non-empty");
    let mut data = parts(x);
    c2c(&mut data, x.shape(), others, false);
    // the full spectrum along the last dim: the given half and its mirrored conjugates
    let mut shape = x.shape().to_vec();
    let given = shape[*last];
    shape[*last] = n;
    let inner: usize = shape[last + 1..].iter().product();
    let outer: usize = shape[..*last].iter().product();
    let mut full = vec![Complex::new(0.0, 0.0); outer * n * inner];
    for o in 0..outer {
        for i in 0..inner {
            let src = |k: usize| data[(o * given + k) * inner + i];
            let dst = |k: usize| (o * n + k) * inner + i;
            for k in 0..(n / 2 + 1).min(given) {
                full[dst(k)] = src(k);
                if k > 0 && n - k != k {
                    full[dst(n - k)] = src(k).conj();
                }
            }
        }
    }
    let fft = FftPlanner::new().plan_fft_inverse(n);
    transform_along(&mut full, &shape, *last, &fft);
    normalize(&mut full, a.int("normalization")?, dims.iter().map(|&d| shape[d]).product())?;
    Ok(from_parts(&full, &shape, x.dtype().to_real())?.into())
}

fn r2c_meta(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    if call.args.bool("onesided")? {
        let dims = call.args.int_list("dim")?;
        let last = call.wrap_dim(*dims.last().unwrap_or(&-1), s.len())?;
        s[last] = Expr::floordiv(s[last].clone(), Expr::Int(2)) + Expr::Int(1);
    }
    Ok(vec![s])
}

fn c2r_meta(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    let dims = call.args.int_list("dim")?;
    let last = call.wrap_dim(*dims.last().unwrap_or(&-1), s.len())?;
    s[last] = call.int("last_dim_size")?;
    Ok(vec![s])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tensor::Complex32;

    fn run(name: &str, args: Vec<Value>) -> Tensor {
        let r = Registry::global();
        match r.call(name, args, vec![]).unwrap() {
            Value::Tensor(t) => t,
            other => panic!("{other:?}"),
        }
    }

    /// `torch.fft.irfft(torch.tensor([1., 2., 3.]), n=4)` and `torch.fft.hfft` of the same, in
    /// PyTorch 2.15: [2., -0.5, 0., -0.5] and [8., -2., 0., -2.] (a real input's zero
    /// imaginary parts; hfft is the conjugate's unnormalized c2r).
    #[test]
    fn c2r_of_a_real_half_spectrum_is_pytorchs() {
        let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap().to_dtype(DType::C64);
        let irfft = run("aten::_fft_c2r", vec![x.clone().into(), Value::List(vec![Value::Int(0)]), Value::Int(2), Value::Int(4)]);
        assert_eq!((irfft.dtype(), irfft.to_f64_vec()), (DType::F32, vec![2.0, -0.5, 0.0, -0.5]));
        let hfft = run("aten::_fft_c2r", vec![x.into(), Value::List(vec![Value::Int(0)]), Value::Int(0), Value::Int(4)]);
        assert_eq!(hfft.to_f64_vec(), vec![8.0, -2.0, 0.0, -2.0]);
    }

    /// `torch.view_as_real(torch.fft.rfft(torch.tensor([1., 2., 3., 4.])))`: [[10, 0], [-2, 2], [-2, 0]].
    #[test]
    fn r2c_then_view_as_real_is_pytorchs() {
        let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[4]).unwrap();
        let spectrum = run("aten::_fft_r2c", vec![x.into(), Value::List(vec![Value::Int(0)]), Value::Int(0), Value::Bool(true)]);
        assert_eq!((spectrum.dtype(), spectrum.shape()), (DType::C64, &[3usize][..]));
        let parts = run("aten::view_as_real", vec![spectrum.into()]);
        assert_eq!((parts.shape(), parts.to_f64_vec()), (&[3usize, 2][..], vec![10.0, 0.0, -2.0, 2.0, -2.0, 0.0]));
    }

    /// A kernel that reads only real parts refuses complex tensors instead of dropping the
    /// imaginary parts.
    #[test]
    fn real_only_kernels_refuse_complex_tensors() {
        let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap().to_dtype(DType::C64);
        let err = Registry::global().call("aten::erf", vec![x.into()], vec![]).unwrap_err().to_string();
        assert!(err.contains("aten::erf") && err.contains("torch.complex64"), "{err}");
    }

    /// A complex value is true when either part is nonzero: in PyTorch 2.15,
    /// `torch.logical_not(torch.tensor([1j, 0, 2]))` is `[False, True, False]`,
    /// `torch.any(torch.tensor([1j]))` and `torch.all(torch.tensor([1j, 3]))` are `True`.
    #[test]
    fn truth_reads_both_parts() {
        let c = |v: &[(f32, f32)]| Tensor::from_vec(v.iter().map(|&(re, im)| Complex32 { re, im }).collect::<Vec<_>>(), &[v.len()]).unwrap();
        let not = run("aten::logical_not", vec![c(&[(0.0, 1.0), (0.0, 0.0), (2.0, 0.0)]).into()]);
        assert_eq!(not.to_bool_vec(), vec![false, true, false]);
        assert!(run("aten::any", vec![c(&[(0.0, 1.0)]).into()]).to_bool_vec()[0]);
        assert!(run("aten::all", vec![c(&[(0.0, 1.0), (3.0, 0.0)]).into()]).to_bool_vec()[0]);
    }

    fn c64(v: &[(f32, f32)]) -> Tensor {
        Tensor::from_vec(v.iter().map(|&(re, im)| Complex32 { re, im }).collect::<Vec<_>>(), &[v.len()]).unwrap()
    }

    fn parts(t: &Tensor) -> Vec<(f32, f32)> {
        t.to_vec::<Complex32>().iter().map(|c| (c.re, c.im)).collect()
    }

    /// Accumulating scatters sum both parts. In PyTorch 2.15:
    /// `torch.full((3,), 1+1j).index_put((torch.tensor([0, 0]),), torch.full((2,), 2j), accumulate=True)`
    /// is `[1+5j, 1+1j, 1+1j]`, and
    /// `torch.full((3,), 1+1j).index_add(0, torch.tensor([2, 2]), torch.tensor([1, 1j]), alpha=2)`
    /// is `[1+1j, 1+1j, 3+3j]`.
    #[test]
    fn accumulating_scatters_sum_complex_values() {
        let index = Tensor::from_vec(vec![0i64, 0], &[2]).unwrap();
        let args = vec![c64(&[(1.0, 1.0); 3]).into(), Value::List(vec![index.into()]), c64(&[(0.0, 2.0); 2]).into(), Value::Bool(true)];
        assert_eq!(parts(&run("aten::index_put", args)), vec![(1.0, 5.0), (1.0, 1.0), (1.0, 1.0)]);
        let index = Tensor::from_vec(vec![2i64, 2], &[2]).unwrap();
        let args = vec![c64(&[(1.0, 1.0); 3]).into(), Value::Int(0), index.into(), c64(&[(1.0, 0.0), (0.0, 1.0)]).into()];
        let added = Registry::global().call("aten::index_add", args, vec![("alpha".into(), Value::Int(2))]).unwrap();
        let Value::Tensor(added) = added else { panic!("{added:?}") };
        assert_eq!(parts(&added), vec![(1.0, 1.0), (1.0, 1.0), (3.0, 3.0)]);
    }

    /// Only sums accumulate complex values; PyTorch's `scatter_reduce(..., "amax")` refuses
    /// complex tensors too.
    #[test]
    fn reducing_complex_values_by_extremes_is_refused() {
        let index = Tensor::from_vec(vec![0i64], &[1]).unwrap();
        let args = vec![c64(&[(1.0, 1.0)]).into(), Value::Int(0), index.into(), c64(&[(2.0, 0.0)]).into(), Value::Str("amax".into())];
        let err = Registry::global().call("aten::scatter_reduce.two", args, vec![]).unwrap_err().to_string();
        assert!(err.contains("complex64"), "{err}");
    }


    /// Complex Python numbers, as PyTorch 2.15 computes with them:
    /// `aten.mul.Scalar(tensor([1+2j]), 1j)` is `[-2+1j]`; `aten.mul.Scalar(tensor([2.]), 1j)` is
    /// complex64 `[2j]` (complex128 from float64, complex64 from int64 `[3]`: `[3j]`);
    /// `aten.full([2], 1j, dtype=complex64)` is `[1j, 1j]`; `aten.scalar_tensor(nan+nanj)` keeps
    /// both NaNs; `masked_fill(tensor([1+1j, 2]), [True, False], 1j)` is `[1j, 2]`.
    #[test]
    fn complex_numbers_compute_as_pytorchs() {
        let call = |name: &str, args: Vec<Value>, kwargs: Vec<(&str, Value)>| {
            let out = Registry::global().call(name, args, kwargs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()).unwrap();
            let Value::Tensor(t) = out else { panic!("{out:?}") };
            t
        };
        let j = Value::Complex(0.0, 1.0);
        let product = call("aten::mul.Scalar", vec![c64(&[(1.0, 2.0)]).into(), j.clone()], vec![]);
        assert_eq!(parts(&product), vec![(-2.0, 1.0)]);
        let real = Tensor::from_vec(vec![2.0f32], &[1]).unwrap();
        let product = call("aten::mul.Scalar", vec![real.clone().into(), j.clone()], vec![]);
        assert_eq!((product.dtype(), parts(&product)), (DType::C64, vec![(0.0, 2.0)]));
        let product = call("aten::mul.Scalar", vec![real.to_dtype(DType::F64).into(), j.clone()], vec![]);
        assert_eq!(product.dtype(), DType::C128);
        let product = call("aten::mul.Scalar", vec![Tensor::from_vec(vec![3i64], &[1]).unwrap().into(), j.clone()], vec![]);
        assert_eq!((product.dtype(), parts(&product)), (DType::C64, vec![(0.0, 3.0)]));
        let full = call("aten::full", vec![Value::List(vec![Value::Int(2)]), j.clone()], vec![("dtype", Value::Dtype(DType::C64))]);
        assert_eq!(parts(&full), vec![(0.0, 1.0); 2]);
        let full = call("aten::full", vec![Value::List(vec![Value::Int(1)]), j.clone()], vec![]);
        assert_eq!(full.dtype(), DType::C64, "a complex fill value's own dtype");
        let nan = call("aten::scalar_tensor", vec![Value::Complex(f64::NAN, f64::NAN)], vec![("dtype", Value::Dtype(DType::C64))]);
        assert!(parts(&nan).iter().all(|(re, im)| re.is_nan() && im.is_nan()));
        let mask = Tensor::from_vec(vec![tensor::Bool8::from(true), false.into()], &[2]).unwrap();
        let filled = call("aten::masked_fill.Scalar", vec![c64(&[(1.0, 1.0), (2.0, 0.0)]).into(), mask.into(), j], vec![]);
        assert_eq!(parts(&filled), vec![(0.0, 1.0), (2.0, 0.0)]);
    }

    /// Where PyTorch's result is real a complex number is refused, not read as its real part:
    /// `aten.full([2], 1j, dtype=float32)` raises "value cannot be converted to type float
    /// without overflow" in PyTorch 2.15; `clamp(x, 1j)` raises too; pt2 also refuses a complex
    /// `alpha` (PyTorch takes it for complex tensors), naming it.
    #[test]
    fn complex_numbers_where_a_real_is_needed_are_refused() {
        let r = Registry::global();
        let err = r
            .call("aten::full", vec![Value::List(vec![Value::Int(2)]), Value::Complex(0.0, 1.0)], vec![("dtype".into(), Value::Dtype(DType::F32))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("1j cannot be converted to type torch.float32"), "{err}");
        let x = Tensor::from_vec(vec![1.0f32], &[1]).unwrap();
        let err = r.call("aten::clamp", vec![x.into(), Value::Complex(0.0, 1.0)], vec![]).unwrap_err().to_string();
        assert!(err.contains("aten::clamp") && err.contains("complex64"), "{err}");
        let alpha = vec![("alpha".to_string(), Value::Complex(0.0, 1.0))];
        let err = r.call("aten::add.Tensor", vec![c64(&[(1.0, 0.0)]).into(), c64(&[(1.0, 0.0)]).into()], alpha).unwrap_err().to_string();
        assert!(err.contains("'alpha' is the complex number 1j"), "{err}");
    }

}
