//! The spectral functions of `torch.fft` (`fft`, `ifft`, `rfft`, `irfft`, `hfft` and their 2-d
//! and n-d forms), over the FFT kernels as PyTorch's `SpectralOps.cpp` composes them: the input
//! made complex (`_to_copy`) or real, cut or zero-padded to the signal sizes (`slice`,
//! `constant_pad_nd`), conjugated for the Hermitian forms, then `_fft_c2c` / `_fft_r2c` /
//! `_fft_c2r` with the normalization mode the `norm` string names.

use export::retrace::DecompCall;
use export::trace::{call, Arg};
use export::{Error, Result, SymInt, Tensor};
use ops::names::aten;
use ops::{Args, DtypeRule, MetaCall};
use symbolic::Expr;
use tensor::DType;

use super::{one, op1, wrap_dim, Composite, Sizes};

const REAL: Option<DtypeRule> = Some(DtypeRule::Custom(real_output));

const COMPLEX: Option<DtypeRule> = Some(DtypeRule::Custom(complex_output));

pub(super) const COMPOSITES: &[Composite] = &[
    Composite { schema: "aten::fft_fft(Tensor self, SymInt? n=None, int dim=-1, str? norm=None) -> Tensor", tags: &[], meta: Some(c2c_meta), dtype: COMPLEX, decompose: fft },
    Composite { schema: "aten::fft_ifft(Tensor self, SymInt? n=None, int dim=-1, str? norm=None) -> Tensor", tags: &[], meta: Some(c2c_meta), dtype: COMPLEX, decompose: ifft },
    Composite { schema: "aten::fft_fft2(Tensor self, SymInt[1]? s=None, int[1] dim=[-2, -1], str? norm=None) -> Tensor", tags: &[], meta: Some(c2c_meta), dtype: COMPLEX, decompose: fftn },
    Composite { schema: "aten::fft_ifft2(Tensor self, SymInt[1]? s=None, int[1] dim=[-2, -1], str? norm=None) -> Tensor", tags: &[], meta: Some(c2c_meta), dtype: COMPLEX, decompose: ifftn },
    Composite { schema: "aten::fft_fftn(Tensor self, SymInt[1]? s=None, int[1]? dim=None, str? norm=None) -> Tensor", tags: &[], meta: Some(c2c_meta), dtype: COMPLEX, decompose: fftn },
    Composite { schema: "aten::fft_ifftn(Tensor self, SymInt[1]? s=None, int[1]? dim=None, str? norm=None) -> Tensor", tags: &[], meta: Some(c2c_meta), dtype: COMPLEX, decompose: ifftn },
    Composite { schema: "aten::fft_rfft(Tensor self, SymInt? n=None, int dim=-1, str? norm=None) -> Tensor", tags: &[], meta: Some(r2c_meta), dtype: COMPLEX, decompose: rfft },
    Composite { schema: "aten::fft_rfft2(Tensor self, SymInt[1]? s=None, int[1] dim=[-2, -1], str? norm=None) -> Tensor", tags: &[], meta: Some(r2c_meta), dtype: COMPLEX, decompose: rfftn },
    Composite { schema: "aten::fft_rfftn(Tensor self, SymInt[1]? s=None, int[1]? dim=None, str? norm=None) -> Tensor", tags: &[], meta: Some(r2c_meta), dtype: COMPLEX, decompose: rfftn },
    Composite { schema: "aten::fft_irfft(Tensor self, SymInt? n=None, int dim=-1, str? norm=None) -> Tensor", tags: &[], meta: Some(c2r_meta), dtype: REAL, decompose: irfft },
    Composite { schema: "aten::fft_hfft(Tensor self, SymInt? n=None, int dim=-1, str? norm=None) -> Tensor", tags: &[], meta: Some(c2r_meta), dtype: REAL, decompose: hfft },
    Composite { schema: "aten::fft_irfft2(Tensor self, SymInt[1]? s=None, int[1] dim=[-2, -1], str? norm=None) -> Tensor", tags: &[], meta: Some(c2r_meta), dtype: REAL, decompose: irfftn },
    Composite { schema: "aten::fft_irfftn(Tensor self, SymInt[1]? s=None, int[1]? dim=None, str? norm=None) -> Tensor", tags: &[], meta: Some(c2r_meta), dtype: REAL, decompose: irfftn },
    Composite { schema: "aten::fft_hfft2(Tensor self, SymInt[1]? s=None, int[1] dim=[-2, -1], str? norm=None) -> Tensor", tags: &[], meta: Some(c2r_meta), dtype: REAL, decompose: hfftn },
    Composite { schema: "aten::fft_hfftn(Tensor self, SymInt[1]? s=None, int[1]? dim=None, str? norm=None) -> Tensor", tags: &[], meta: Some(c2r_meta), dtype: REAL, decompose: hfftn },
];

/// A complex output: complex128 from double-precision input, else complex64.
fn complex_output(args: &Args) -> ops::Result<Vec<DType>> {
    Ok(vec![args.tensor("self")?.dtype().to_complex()])
}

/// A real output: float64 from double-precision input, else float32.
fn real_output(args: &Args) -> ops::Result<Vec<DType>> {
    Ok(vec![args.tensor("self")?.dtype().to_complex().to_real()])
}

/// PyTorch's `fft_norm_mode` for a `norm` string: 0 (none), 1 (`ortho`: by the square root of
/// the points) or 2 (by the points); `backward`, the default, normalizes the inverse.
fn norm_mode(c: &DecompCall, forward: bool) -> Result<i64> {
    let norm = match c.args.get("norm")? {
        Arg::Str(s) => Some(s.clone()),
        _ => None,
    };
    Ok(match norm.as_deref() {
        None | Some("backward") => if forward { 0 } else { 2 },
        Some("forward") => if forward { 2 } else { 0 },
        Some("ortho") => 1,
        Some(other) => return Err(Error::msg(format!("{}: Invalid normalization mode: \"{other}\"", c.args.op))),
    })
}

/// The input as complex numbers (`complex128` for double, else `complex64`).
fn complex_input(x: Tensor) -> Result<Tensor> {
    if x.dtype().is_complex() {
        return Ok(x);
    }
    let dtype = x.dtype().to_complex();
    Ok(call(aten::_to_copy, vec![Arg::Tensor(x)], vec![("dtype", Arg::Dtype(dtype))])?.remove(0))
}

/// The input as real numbers for `rfft`: floating dtypes as they are, integers as float32;
/// complex input is refused, as PyTorch refuses it.
fn real_input(op: &str, x: Tensor) -> Result<Tensor> {
    if x.dtype().is_complex() {
        return Err(Error::msg(format!("{op}: rfft expects a real input tensor, but got {}", x.dtype())));
    }
    if x.dtype().is_float() {
        return Ok(x);
    }
    Ok(call(aten::_to_copy, vec![Arg::Tensor(x)], vec![("dtype", Arg::Dtype(DType::F32))])?.remove(0))
}

/// `x` cut (`slice`) or zero-padded at the end (one `constant_pad_nd`) to `sizes` along `dims`.
fn resized(mut x: Tensor, dims: &[usize], sizes: &[SymInt]) -> Result<Tensor> {
    let rank = x.dim();
    let mut pad = vec![SymInt::from(0); 2 * rank];
    let mut padded = false;
    for (&d, size) in dims.iter().zip(sizes) {
        let current = x.size(d as i64)?;
        if current.hint() < size.hint() {
            pad[2 * rank - 2 * d - 1] = size.clone() - current.clone();
            padded = true;
        }
        if current.hint() > size.hint() {
            x = op1(aten::slice_Tensor, vec![Arg::Tensor(x), Arg::Int((d as i64).into()), Arg::Int(0.into()), Arg::Int(size.clone())])?;
        }
    }
    if padded {
        x = op1(aten::constant_pad_nd, vec![Arg::Tensor(x), Arg::Ints(pad)])?;
    }
    Ok(x)
}

/// The conjugate, as PyTorch's Hermitian transforms take it (`_conj`, then a copy of its values).
fn conjugated(x: Tensor) -> Result<Tensor> {
    let x = op1(aten::_conj, vec![Arg::Tensor(x)])?;
    op1(aten::clone, vec![Arg::Tensor(x)])
}

/// `irfft` / `hfft`: one dim.
fn c2r_one(c: &mut DecompCall, forward: bool) -> Result<Vec<Arg>> {
    let op = c.args.op.clone();
    let mut x = complex_input(c.args.tensor("self")?)?;
    let d = wrap_dim(&op, c.args.int("dim")?.hint(), x.dim() as i64)? as usize;
    let n = match c.args.opt_int("n")? {
        Some(n) => {
            x = resized(x, &[d], &[SymInt::from(n.hint() / 2 + 1)])?;
            n
        }
        None => (x.size(d as i64)? - 1) * 2,
    };
    if n.hint() < 1 {
        return Err(Error::msg(format!("{op}: Invalid number of data points ({}) specified", n.hint())));
    }
    let norm = norm_mode(c, forward)?;
    if forward {
        x = conjugated(x)?;
    }
    one(op1(aten::_fft_c2r, vec![Arg::Tensor(x), Arg::Ints(vec![(d as i64).into()]), Arg::Int(norm.into()), Arg::Int(n)])?)
}

fn irfft(c: &mut DecompCall) -> Result<Vec<Arg>> {
    c2r_one(c, false)
}

fn hfft(c: &mut DecompCall) -> Result<Vec<Arg>> {
    c2r_one(c, true)
}

/// The dims an n-d transform runs along and the signal's size along each (`s`, with -1 for
/// the input's own size), as PyTorch's `canonicalize_fft_shape_and_dim_args` reads them; then,
/// for a real output, the last dim's output size and the half-spectrum it reads.
fn c2r_dims(c: &DecompCall, x: &Tensor) -> Result<(Vec<usize>, Vec<SymInt>, SymInt)> {
    let op = c.args.op.clone();
    let (dims, mut sizes, given) = signal_dims(c, x)?;
    let last = *dims.last().expect("at least one dim");
    let n = if given { sizes.last().expect("one size per dim").clone() } else { (x.size(last as i64)? - 1) * 2 };
    if n.hint() < 1 {
        return Err(Error::msg(format!("{op}: Invalid number of data points ({}) specified", n.hint())));
    }
    *sizes.last_mut().expect("one size per dim") = SymInt::from(n.hint() / 2 + 1);
    Ok((dims, sizes, n))
}

/// The dims an n-d transform runs along and the signal's size along each (`s`, with -1 for
/// the input's own size), as PyTorch's `canonicalize_fft_shape_and_dim_args` reads them, and
/// whether `s` was given.
fn signal_dims(c: &DecompCall, x: &Tensor) -> Result<(Vec<usize>, Vec<SymInt>, bool)> {
    let op = c.args.op.clone();
    let rank = x.dim() as i64;
    let s = match c.args.get("s")? {
        Arg::None => None,
        _ => Some(c.args.ints("s")?),
    };
    let dims: Vec<usize> = match (c.args.get("dim")?, &s) {
        (Arg::None, None) => (0..x.dim()).collect(),
        (Arg::None, Some(s)) => (x.dim() - s.len()..x.dim()).collect(),
        _ => c.args.ints("dim")?.iter().map(|d| wrap_dim(&op, d.hint(), rank).map(|d| d as usize)).collect::<Result<_>>()?,
    };
    if (1..dims.len()).any(|i| dims[..i].contains(&dims[i])) {
        return Err(Error::msg(format!("{op}: FFT dims must be unique")));
    }
    if s.as_ref().is_some_and(|s| s.len() != dims.len()) {
        return Err(Error::msg(format!("{op}: When given, dim and shape arguments must have the same length")));
    }
    if dims.is_empty() {
        return Err(Error::msg(format!("{op}: must have at least one dimension")));
    }
    let mut sizes = Vec::new();
    for (i, &d) in dims.iter().enumerate() {
        let size = match s.as_ref().map(|s| s[i].clone()) {
            Some(v) if v.hint() != -1 => v,
            _ => x.size(d as i64)?,
        };
        if size.hint() < 1 {
            return Err(Error::msg(format!("{op}: Invalid number of data points ({}) specified", size.hint())));
        }
        sizes.push(size);
    }
    Ok((dims, sizes, s.is_some()))
}

/// The one dim of `fft`, `ifft` and `rfft`, and `x` cut or padded to `n` points along it.
fn signal_dim(c: &DecompCall, x: Tensor) -> Result<(usize, Tensor)> {
    let op = c.args.op.clone();
    let d = wrap_dim(&op, c.args.int("dim")?.hint(), x.dim() as i64)? as usize;
    match c.args.opt_int("n")? {
        Some(n) if n.hint() < 1 => Err(Error::msg(format!("{op}: Invalid number of data points ({}) specified", n.hint()))),
        Some(n) => Ok((d, resized(x, &[d], &[n])?)),
        None => Ok((d, x)),
    }
}

fn sym_dims(dims: &[usize]) -> Vec<SymInt> {
    dims.iter().map(|&d| SymInt::from(d as i64)).collect()
}

/// `fft` / `ifft`: one dim, complex to complex.
fn c2c_one(c: &mut DecompCall, forward: bool) -> Result<Vec<Arg>> {
    let (d, x) = signal_dim(c, complex_input(c.args.tensor("self")?)?)?;
    let norm = norm_mode(c, forward)?;
    one(op1(aten::_fft_c2c, vec![Arg::Tensor(x), Arg::Ints(sym_dims(&[d])), Arg::Int(norm.into()), Arg::Bool(forward)])?)
}

fn fft(c: &mut DecompCall) -> Result<Vec<Arg>> {
    c2c_one(c, true)
}

fn ifft(c: &mut DecompCall) -> Result<Vec<Arg>> {
    c2c_one(c, false)
}

/// `fft2` / `fftn` / `ifft2` / `ifftn`: complex to complex along several dims.
fn c2c_n(c: &mut DecompCall, forward: bool) -> Result<Vec<Arg>> {
    let x = complex_input(c.args.tensor("self")?)?;
    let (dims, sizes, _) = signal_dims(c, &x)?;
    let x = resized(x, &dims, &sizes)?;
    let norm = norm_mode(c, forward)?;
    one(op1(aten::_fft_c2c, vec![Arg::Tensor(x), Arg::Ints(sym_dims(&dims)), Arg::Int(norm.into()), Arg::Bool(forward)])?)
}

fn fftn(c: &mut DecompCall) -> Result<Vec<Arg>> {
    c2c_n(c, true)
}

fn ifftn(c: &mut DecompCall) -> Result<Vec<Arg>> {
    c2c_n(c, false)
}

/// `rfft`: a real signal's half spectrum along one dim.
fn rfft(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let op = c.args.op.clone();
    let (d, x) = signal_dim(c, real_input(&op, c.args.tensor("self")?)?)?;
    let norm = norm_mode(c, true)?;
    one(op1(aten::_fft_r2c, vec![Arg::Tensor(x), Arg::Ints(sym_dims(&[d])), Arg::Int(norm.into()), Arg::Bool(true)])?)
}

/// `rfft2` / `rfftn`: the half spectrum along the last of the dims, full along the others.
fn rfftn(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let op = c.args.op.clone();
    let x = real_input(&op, c.args.tensor("self")?)?;
    let (dims, sizes, _) = signal_dims(c, &x)?;
    let x = resized(x, &dims, &sizes)?;
    let norm = norm_mode(c, true)?;
    one(op1(aten::_fft_r2c, vec![Arg::Tensor(x), Arg::Ints(sym_dims(&dims)), Arg::Int(norm.into()), Arg::Bool(true)])?)
}

/// `irfft2` / `irfftn`.
fn irfftn(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = complex_input(c.args.tensor("self")?)?;
    let (dims, sizes, n) = c2r_dims(c, &x)?;
    let x = resized(x, &dims, &sizes)?;
    let norm = norm_mode(c, false)?;
    let dims = dims.iter().map(|&d| SymInt::from(d as i64)).collect();
    one(op1(aten::_fft_c2r, vec![Arg::Tensor(x), Arg::Ints(dims), Arg::Int(norm.into()), Arg::Int(n)])?)
}

/// `hfft2` / `hfftn`: forward complex transforms along all but the last dim, then the
/// conjugate's real transform along it.
fn hfftn(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = complex_input(c.args.tensor("self")?)?;
    let (dims, sizes, n) = c2r_dims(c, &x)?;
    let mut x = resized(x, &dims, &sizes)?;
    let norm = norm_mode(c, true)?;
    let (last, others) = dims.split_last().expect("at least one dim");
    if !others.is_empty() {
        let others = others.iter().map(|&d| SymInt::from(d as i64)).collect();
        x = op1(aten::_fft_c2c, vec![Arg::Tensor(x), Arg::Ints(others), Arg::Int(norm.into()), Arg::Bool(true)])?;
    }
    let x = conjugated(x)?;
    one(op1(aten::_fft_c2r, vec![Arg::Tensor(x), Arg::Ints(vec![(*last as i64).into()]), Arg::Int(norm.into()), Arg::Int(n)])?)
}

/// What a transform does to the size of the last dim it runs along.
#[derive(Clone, Copy, PartialEq)]
enum LastDim {
    /// Complex to complex: the signal size.
    Same,
    /// Real to a half spectrum: `n / 2 + 1` of the signal size `n`.
    Halved,
    /// A half spectrum to real: the signal size, `2 * (size - 1)` by default.
    Doubled,
}

fn c2c_meta(call: &mut MetaCall) -> Sizes {
    spectral_meta(call, LastDim::Same)
}

fn r2c_meta(call: &mut MetaCall) -> Sizes {
    spectral_meta(call, LastDim::Halved)
}

fn c2r_meta(call: &mut MetaCall) -> Sizes {
    spectral_meta(call, LastDim::Doubled)
}

/// Output sizes: the input's, with the transformed dims at their signal sizes and the last
/// as `last` makes it.
fn spectral_meta(call: &mut MetaCall, last_dim: LastDim) -> Sizes {
    let mut out = call.sizes("self")?;
    let rank = out.len();
    let wrap = |d: i64| if d < 0 { (d + rank as i64) as usize } else { d as usize };
    let has = |name: &str| call.args.has(name) && !matches!(call.args.get(name), Ok(ops::Value::None));
    // the transformed dims, each with the signal size given for it (if any)
    let (dims, given): (Vec<usize>, Vec<Option<Expr>>) = if call.args.has("n") {
        (vec![wrap(call.args.int("dim")?)], vec![if has("n") { Some(call.int("n")?) } else { None }])
    } else {
        let s = if has("s") { Some(call.ints("s")?) } else { None };
        let dims: Vec<usize> = match (has("dim"), &s) {
            (false, None) => (0..rank).collect(),
            (false, Some(s)) => (rank - s.len()..rank).collect(),
            (true, _) => call.args.int_list("dim")?.into_iter().map(wrap).collect(),
        };
        let given = (0..dims.len()).map(|i| s.as_ref().and_then(|s| s.get(i).cloned()).filter(|v| *v != Expr::Int(-1))).collect();
        (dims, given)
    };
    let count = dims.len();
    for (i, (d, size)) in dims.into_iter().zip(given).enumerate() {
        let signal = size.unwrap_or_else(|| out[d].clone());
        out[d] = match last_dim {
            _ if i + 1 < count => signal,
            LastDim::Same => signal,
            LastDim::Halved => Expr::floordiv(signal, Expr::Int(2)) + Expr::Int(1),
            LastDim::Doubled if has("n") || has("s") => signal,
            LastDim::Doubled => (out[d].clone() - Expr::Int(1)) * Expr::Int(2),
        };
    }
    Ok(vec![out])
}
