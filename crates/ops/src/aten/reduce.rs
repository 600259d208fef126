//! ATen operators: reductions (sum, mean, extrema, variance, norms, any/all), scans along a
//! dim (cumsum, cummax, ...), sorting and selection (sort, topk, median, mode), softmax.
//!
//! Reductions read each group of reduced elements as one slice (`kernels::reduce::reduce`);
//! scans and sorts read each lane along a dim (`kernels::reduce::map_lanes`). Floating point
//! accumulates in f64, integer sums in wrapping i64.

use crate::dtype::{self, DtypeRule};
use crate::meta;

use tensor::kernels::reduce::{map_lanes, reduce, reduction_dims, sum_as_f64};
use tensor::shape::wrap_dim;
use tensor::{Bool8, DType, Tensor};

use super::common::*;
use super::complex::{self, Complex};
use super::select_order::{self, SortKey};
use crate::registry::Tag::*;
use crate::{Args, Registry, Result, Value};

pub fn register(r: &Registry) {
    let core = &[Core][..];
    let none = &[][..];
    r.def_meta("aten::sum(Tensor self, *, ScalarType? dtype=None) -> Tensor", none, meta::reduction, |a| sum_like(a, Acc::Sum)).complex().wide_unsigned().dtype(DtypeRule::IntegralToLong);
    r.def_meta("aten::sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", core, meta::reduction, |a| sum_like(a, Acc::Sum)).complex().wide_unsigned().dtype(DtypeRule::IntegralToLong);
    r.def_meta("aten::nansum(Tensor self, int[1]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", none, meta::reduction, |a| sum_like(a, Acc::NanSum)).dtype(DtypeRule::IntegralToLong);
    r.def_meta("aten::prod(Tensor self, *, ScalarType? dtype=None) -> Tensor", core, meta::reduction, |a| sum_like(a, Acc::Prod)).complex().wide_unsigned().dtype(DtypeRule::IntegralToLong);
    r.def_meta("aten::prod.dim_int(Tensor self, int dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", core, meta::reduction, |a| sum_like(a, Acc::Prod)).complex().wide_unsigned().dtype(DtypeRule::IntegralToLong);
    r.def_meta("aten::mean(Tensor self, *, ScalarType? dtype=None) -> Tensor", core, meta::reduction, mean).complex().wide_unsigned();
    r.def_meta("aten::mean.dim(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", core, meta::reduction, mean).complex().wide_unsigned();
    r.def_meta("aten::amax(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor", core, meta::reduction, |a| extreme(a, true, "amax"));
    r.def_meta("aten::amin(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor", core, meta::reduction, |a| extreme(a, false, "amin"));
    r.def_meta("aten::max(Tensor self) -> Tensor", none, meta::reduction, |a| extreme(a, true, "max"));
    r.def_meta("aten::min(Tensor self) -> Tensor", none, meta::reduction, |a| extreme(a, false, "min"));
    r.def_meta("aten::max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)", core, meta::reduction, |a| extreme_with_index(a, true)).dtype(DtypeRule::ValuesAndIndices);
    r.def_meta("aten::min.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)", core, meta::reduction, |a| extreme_with_index(a, false)).dtype(DtypeRule::ValuesAndIndices);
    r.def_meta("aten::aminmax(Tensor self, *, int? dim=None, bool keepdim=False) -> (Tensor min, Tensor max)", none, meta::reduction_pair, aminmax);
    r.def_meta("aten::argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor", core, meta::reduction, |a| arg_extreme(a, true)).dtype(DtypeRule::Long);
    r.def_meta("aten::argmin(Tensor self, int? dim=None, bool keepdim=False) -> Tensor", core, meta::reduction, |a| arg_extreme(a, false)).dtype(DtypeRule::Long);
    r.def_meta("aten::var.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None, bool keepdim=False) -> Tensor", core, meta::reduction, |a| moments(a, Moment::Var)).complex().dtype(DtypeRule::Custom(dtype::real_parts));
    r.def_meta("aten::var.dim(Tensor self, int[1]? dim, bool unbiased=True, bool keepdim=False) -> Tensor", core, meta::reduction, |a| moments(a, Moment::Var)).complex().dtype(DtypeRule::Custom(dtype::real_parts));
    r.def_meta("aten::std.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None, bool keepdim=False) -> Tensor", none, meta::reduction, |a| moments(a, Moment::Std)).complex().dtype(DtypeRule::Custom(dtype::real_parts));
    r.def_meta("aten::var_mean.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None, bool keepdim=False) -> (Tensor, Tensor)", none, meta::reduction_pair, |a| moments(a, Moment::VarMean)).complex().dtype(DtypeRule::Custom(dtype::spread_and_mean));
    r.def_meta("aten::std_mean.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None, bool keepdim=False) -> (Tensor, Tensor)", none, meta::reduction_pair, |a| moments(a, Moment::StdMean)).complex().dtype(DtypeRule::Custom(dtype::spread_and_mean));
    r.def_meta("aten::any(Tensor self) -> Tensor", core, meta::reduction, |a| any_all(a, true)).any_dtype().dtype(DtypeRule::Custom(dtype::any_all));
    r.def_meta("aten::any.dim(Tensor self, int dim, bool keepdim=False) -> Tensor", core, meta::reduction, |a| any_all(a, true)).dtype(DtypeRule::Custom(dtype::any_all));
    r.def_meta("aten::any.dims(Tensor self, int[]? dim=None, bool keepdim=False) -> Tensor", core, meta::reduction, |a| any_all(a, true)).dtype(DtypeRule::Custom(dtype::any_all));
    r.def_meta("aten::all(Tensor self) -> Tensor", none, meta::reduction, |a| any_all(a, false)).any_dtype().dtype(DtypeRule::Custom(dtype::any_all));
    r.def_meta("aten::all.dim(Tensor self, int dim, bool keepdim=False) -> Tensor", none, meta::reduction, |a| any_all(a, false)).dtype(DtypeRule::Custom(dtype::any_all));
    r.def_meta("aten::all.dims(Tensor self, int[]? dim=None, bool keepdim=False) -> Tensor", none, meta::reduction, |a| any_all(a, false)).dtype(DtypeRule::Custom(dtype::any_all));
    r.def_meta("aten::logsumexp(Tensor self, int[1] dim, bool keepdim=False) -> Tensor", none, meta::reduction, logsumexp).complex().dtype(DtypeRule::PromoteToFloat);
    r.def_meta("aten::norm.ScalarOpt_dim(Tensor self, Scalar? p, int[1] dim, bool keepdim=False) -> Tensor", none, meta::reduction, norm);
    r.def_meta("aten::count_nonzero(Tensor self, int? dim=None) -> Tensor", none, meta::reduction, count_nonzero).any_dtype().dtype(DtypeRule::Long);
    r.def_meta("aten::count_nonzero.dim_IntList(Tensor self, int[] dim) -> Tensor", none, meta::reduction, count_nonzero).any_dtype().dtype(DtypeRule::Long);
    r.def_meta("aten::trace(Tensor self) -> Tensor", none, meta::scalar_result, trace).complex().dtype(DtypeRule::IntegralToLong);
    r.def("aten::equal(Tensor self, Tensor other) -> bool", none, equal).wide_unsigned();
    r.def_meta("aten::hash_tensor(Tensor self, int[1] dim=[], *, bool keepdim=False, int mode=0) -> Tensor", none, meta::reduction, hash_tensor)
        .wide_unsigned()
        .dtype(DtypeRule::Custom(|_| Ok(vec![DType::U64])));
    r.def("aten::allclose(Tensor self, Tensor other, float rtol=1.0000000000000001e-05, float atol=1e-08, bool equal_nan=False) -> bool", none, allclose);

    r.def_meta("aten::cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor", core, meta::same_as_self, |a| cumulative(a, false)).complex().wide_unsigned().dtype(DtypeRule::IntegralToLong);
    r.def_meta("aten::cumprod(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor", none, meta::same_as_self, |a| cumulative(a, true)).complex().dtype(DtypeRule::IntegralToLong);
    r.def_meta("aten::logcumsumexp(Tensor self, int dim) -> Tensor", none, meta::same_as_self, logcumsumexp).complex();
    r.def_meta("aten::cummax(Tensor self, int dim) -> (Tensor values, Tensor indices)", none, meta::same_as_self_twice, |a| cum_extreme(a, true)).dtype(DtypeRule::ValuesAndIndices);
    r.def_meta("aten::cummin(Tensor self, int dim) -> (Tensor values, Tensor indices)", none, meta::same_as_self_twice, |a| cum_extreme(a, false)).dtype(DtypeRule::ValuesAndIndices);

    r.def_meta("aten::sort(Tensor self, int dim=-1, bool descending=False) -> (Tensor values, Tensor indices)", core, meta::sort, sort).wide_unsigned().dtype(DtypeRule::ValuesAndIndices);
    // PyTorch's core programs keep it (it has no decomposition)
    r.def_meta("aten::sort.stable(Tensor self, *, bool? stable, int dim=-1, bool descending=False) -> (Tensor values, Tensor indices)", core, meta::sort, sort).wide_unsigned().dtype(DtypeRule::ValuesAndIndices);
    r.def_meta("aten::topk(Tensor self, SymInt k, int dim=-1, bool largest=True, bool sorted=True) -> (Tensor values, Tensor indices)", core, meta::topk, topk).dtype(DtypeRule::ValuesAndIndices);
    r.def_meta("aten::kthvalue(Tensor self, SymInt k, int dim=-1, bool keepdim=False) -> (Tensor values, Tensor indices)", none, meta::reduction, kthvalue).dtype(DtypeRule::ValuesAndIndices);
    r.def_meta("aten::median(Tensor self) -> Tensor", none, meta::reduction, |a| median_all(a, false));
    r.def_meta("aten::nanmedian(Tensor self) -> Tensor", none, meta::reduction, |a| median_all(a, true));
    r.def_meta("aten::median.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)", none, meta::reduction, |a| median_dim(a, false)).dtype(DtypeRule::ValuesAndIndices);
    r.def_meta("aten::nanmedian.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)", none, meta::reduction, |a| median_dim(a, true)).dtype(DtypeRule::ValuesAndIndices);
    r.def_meta("aten::mode(Tensor self, int dim=-1, bool keepdim=False) -> (Tensor values, Tensor indices)", none, meta::reduction, mode).dtype(DtypeRule::ValuesAndIndices);

    r.def_meta("aten::_softmax(Tensor self, int dim, bool half_to_float) -> Tensor", core, meta::same_as_self, |a| softmax(a, false, false));
    r.def_meta("aten::_log_softmax(Tensor self, int dim, bool half_to_float) -> Tensor", core, meta::same_as_self, |a| softmax(a, true, false));
    r.def_meta("aten::softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor", none, meta::same_as_self, |a| softmax(a, false, false));
    r.def_meta("aten::log_softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor", none, meta::same_as_self, |a| softmax(a, true, false));
    r.def_meta("aten::_safe_softmax(Tensor self, int dim, ScalarType? dtype=None) -> Tensor", none, meta::same_as_self, |a| softmax(a, false, true));
    r.def("aten::bincount(Tensor self, Tensor? weights=None, SymInt minlength=0) -> Tensor", &[DynamicOutputShape], bincount);
    r.def_meta("aten::histc(Tensor self, int bins=100, Scalar min=0, Scalar max=0) -> Tensor", none, meta::histc, histc);
    r.def_meta("aten::renorm(Tensor self, Scalar p, int dim, Scalar maxnorm) -> Tensor", none, meta::same_as_self, renorm);
}

// ----- arguments ----------------------------------------------------------------------------

/// The dims a reduction runs over: the `dim` parameter (an int, a list, or None/[] for all).
fn dims_of(a: &Args, x: &Tensor) -> Result<Vec<usize>> {
    let dims = if a.schema().param_index("dim").is_none() {
        None
    } else {
        match a.get("dim")? {
            Value::None => None,
            Value::Int(d) => Some(vec![*d]),
            _ => a.opt_int_list("dim")?,
        }
    };
    reduction_dims(dims.as_deref(), x.dim())
}

fn keepdim(a: &Args) -> Result<bool> {
    if a.schema().param_index("keepdim").is_some() {
        a.bool("keepdim")
    } else {
        Ok(false)
    }
}

fn opt_dtype(a: &Args) -> Result<Option<DType>> {
    if a.schema().param_index("dtype").is_some() {
        a.opt_dtype("dtype")
    } else {
        Ok(None)
    }
}

/// One dim as a usize, for operators over a single dim (0-dim tensors accept 0 and -1).
fn one_dim(a: &Args, x: &Tensor, name: &str) -> Result<usize> {
    let d = wrap_dim(a.int(name)?, x.dim())?;
    Ok(if x.dim() == 0 { 0 } else { d })
}

fn check_nonempty(x: &Tensor, dims: &[usize], op: &str) -> Result<()> {
    for &d in dims {
        if x.shape()[d] == 0 {
            bail!("{op}(): Expected reduction dim {d} to have non-zero size.");
        }
    }
    if x.numel() == 0 && dims.is_empty() && x.dim() > 0 {
        bail!("{op}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.");
    }
    Ok(())
}

// ----- sums and products --------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Acc {
    Sum,
    NanSum,
    Prod,
}

fn sum_like(a: &Args, acc: Acc) -> Result<Value> {
    let x = a.tensor("self")?;
    let dims = dims_of(a, x)?;
    let keep = keepdim(a)?;
    let out = opt_dtype(a)?.unwrap_or(dtype::accumulated(x.dtype()));
    let input = x.to_dtype(out);
    if out.is_complex() {
        return Ok(complex::reduce(&input, out, &dims, keep, move |parts, _| match acc {
            Acc::Prod => parts.product(),
            Acc::NanSum => parts.filter(|c| !c.is_nan()).sum(),
            Acc::Sum => parts.sum(),
        })?
        .into());
    }
    if acc == Acc::Sum && input.dtype() == DType::F32 {
        // float32 read in place, summed in float64
        return Ok(reduce::<f32, f64>(&input, &dims, keep, sum_as_f64)?.to_dtype(out).into());
    }
    if out.is_float() {
        let r = reduce::<f64, f64>(&input.to_dtype(DType::F64), &dims, keep, move |g| match acc {
            Acc::Sum => g.iter().sum(),
            Acc::NanSum => g.iter().filter(|v| !v.is_nan()).sum(),
            Acc::Prod => g.iter().product(),
        })?;
        return Ok(r.to_dtype(out).into());
    }
    if acc == Acc::NanSum && !x.dtype().is_float() {
        // nansum of integers is a plain sum
    }
    let r = reduce::<i64, i64>(&input.to_dtype(DType::I64), &dims, keep, move |g| match acc {
        Acc::Prod => g.iter().fold(1i64, |p, v| p.wrapping_mul(*v)),
        _ => g.iter().fold(0i64, |s, v| s.wrapping_add(*v)),
    })?;
    Ok(r.to_dtype(if out == DType::Bool { DType::Bool } else { out }).into())
}

fn mean(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let out = opt_dtype(a)?.unwrap_or(x.dtype());
    if out.is_complex() {
        return Ok(complex::mean(x, out, &dims_of(a, x)?, keepdim(a)?)?.into());
    }
    if !out.is_float() {
        bail!(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: {}",
            torch_type_name(x.dtype())
        );
    }
    let dims = dims_of(a, x)?;
    if x.dtype() == DType::F32 {
        let r = reduce::<f32, f64>(x, &dims, keepdim(a)?, |g| sum_as_f64(g) / g.len() as f64)?;
        return Ok(r.to_dtype(out).into());
    }
    let r = reduce::<f64, f64>(&x.to_dtype(DType::F64), &dims, keepdim(a)?, |g| g.iter().sum::<f64>() / g.len() as f64)?;
    Ok(r.to_dtype(out).into())
}

// ----- extrema ------------------------------------------------------------------------------

/// Max or min of a group, NaN propagating.
fn extreme_f64(g: &[f64], max: bool) -> f64 {
    let mut best = g[0];
    for &v in &g[1..] {
        if best.is_nan() {
            break;
        }
        if v.is_nan() || (max && v > best) || (!max && v < best) {
            best = v;
        }
    }
    best
}

/// Index of the first max (or min) of a group; the first NaN wins.
fn arg_extreme_f64(g: &[f64], max: bool) -> usize {
    let mut best = 0;
    for (i, &v) in g.iter().enumerate().skip(1) {
        let b = g[best];
        if b.is_nan() {
            break;
        }
        if v.is_nan() || (max && v > b) || (!max && v < b) {
            best = i;
        }
    }
    best
}

fn extreme(a: &Args, max: bool, name: &str) -> Result<Value> {
    let x = a.tensor("self")?;
    let dims = dims_of(a, x)?;
    check_nonempty(x, &dims, name)?;
    let keep = keepdim(a)?;
    Ok(reduce_extreme(x, &dims, keep, max)?.into())
}

fn reduce_extreme(x: &Tensor, dims: &[usize], keep: bool, max: bool) -> Result<Tensor> {
    if x.dtype().is_float() {
        Ok(reduce::<f64, f64>(&x.to_dtype(DType::F64), dims, keep, move |g| extreme_f64(g, max))?.to_dtype(x.dtype()))
    } else {
        Ok(reduce::<i64, i64>(&x.to_dtype(DType::I64), dims, keep, move |g| {
            if max {
                *g.iter().max().unwrap_or(&0)
            } else {
                *g.iter().min().unwrap_or(&0)
            }
        })?
        .to_dtype(x.dtype()))
    }
}

fn extreme_with_index(a: &Args, max: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = one_dim(a, x, "dim")?;
    let dims: Vec<usize> = if x.dim() == 0 { vec![] } else { vec![d] };
    check_nonempty(x, &dims, if max { "max" } else { "min" })?;
    let keep = keepdim(a)?;
    let values = reduce_extreme(x, &dims, keep, max)?;
    let indices = reduce::<f64, i64>(&x.to_dtype(DType::F64), &dims, keep, move |g| arg_extreme_f64(g, max) as i64)?;
    Ok((values, indices).into())
}

fn aminmax(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let dims = match a.opt_int("dim")? {
        Some(d) => vec![one_dim(a, x, "dim").map(|_| wrap_dim(d, x.dim()))??].into_iter().filter(|_| x.dim() > 0).collect(),
        None => reduction_dims(None, x.dim())?,
    };
    check_nonempty(x, &dims, "aminmax")?;
    let keep = a.bool("keepdim")?;
    Ok((reduce_extreme(x, &dims, keep, false)?, reduce_extreme(x, &dims, keep, true)?).into())
}

fn arg_extreme(a: &Args, max: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let keep = a.bool("keepdim")?;
    let name = if max { "argmax" } else { "argmin" };
    match a.opt_int("dim")? {
        None => {
            if x.numel() == 0 {
                bail!("{name}(): Expected reduction dim to be specified for input.numel() == 0.");
            }
            let flat = x.reshape(&[-1])?;
            let r = reduce::<f64, i64>(&flat.to_dtype(DType::F64), &[0], false, move |g| arg_extreme_f64(g, max) as i64)?;
            Ok(if keep { r.reshape(&vec![1; x.dim()])? } else { r }.into())
        }
        Some(_) => {
            let d = one_dim(a, x, "dim")?;
            let dims: Vec<usize> = if x.dim() == 0 { vec![] } else { vec![d] };
            check_nonempty(x, &dims, name)?;
            Ok(reduce::<f64, i64>(&x.to_dtype(DType::F64), &dims, keep, move |g| arg_extreme_f64(g, max) as i64)?.into())
        }
    }
}

// ----- moments ------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Moment {
    Var,
    Std,
    VarMean,
    StdMean,
}

fn moments(a: &Args, which: Moment) -> Result<Value> {
    let x = a.tensor("self")?;
    if !x.dtype().is_float() && !x.dtype().is_complex() {
        bail!("std and var only support floating point and complex dtypes");
    }
    let dims = dims_of(a, x)?;
    let keep = a.bool("keepdim")?;
    let correction = if a.schema().param_index("unbiased").is_some() {
        if a.bool("unbiased")? {
            1.0
        } else {
            0.0
        }
    } else {
        a.opt_scalar("correction")?.map(|s| s.to_f64()).unwrap_or(1.0)
    };
    let variance = |part: &Tensor| {
        reduce::<f64, f64>(&part.to_dtype(DType::F64), &dims, keep, move |g| {
            let n = g.len() as f64;
            let m = g.iter().sum::<f64>() / n;
            g.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - correction).max(0.0)
        })
    };
    // a complex tensor's variance is the mean squared distance from its mean: its real parts'
    // variance plus its imaginary parts' (a real tensor)
    let var = if x.dtype().is_complex() {
        let (re, im) = complex::split(x)?;
        tensor::kernels::elementwise::zip::<f64, f64, f64>(&variance(&re)?, &variance(&im)?, |p, q| p + q)?
    } else {
        variance(x)?
    };
    let spread = match which {
        Moment::Std | Moment::StdMean => tensor::kernels::elementwise::map::<f64, f64>(&var, |v| v.sqrt()),
        _ => var,
    }
    .to_dtype(x.dtype().to_real());
    Ok(match which {
        Moment::Var | Moment::Std => spread.into(),
        _ if x.dtype().is_complex() => {
            (spread, complex::mean(x, x.dtype(), &dims, keep)?).into()
        }
        _ => {
            let mean = reduce::<f64, f64>(&x.to_dtype(DType::F64), &dims, keep, |g| g.iter().sum::<f64>() / g.len() as f64)?.to_dtype(x.dtype());
            (spread, mean).into()
        }
    })
}

/// `torch.hash_tensor` (mode 0, the only one): the XOR of the elements' 64-bit patterns, floats
/// as float64 and integers and bools as int64 (so `-1` is all ones), as uint64.
fn hash_tensor(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let mode = a.int("mode")?;
    if mode != 0 {
        bail!("hash_tensor: mode {mode} is not supported (mode 0, an XOR of the elements' bits, is)");
    }
    let bits = if x.dtype().is_float() {
        let wide = x.to_dtype(DType::F64).to_vec::<f64>();
        Tensor::from_vec(wide.into_iter().map(f64::to_bits).collect::<Vec<u64>>(), x.shape())?
    } else {
        x.to_dtype(DType::I64).to_dtype(DType::U64)
    };
    Ok(reduce::<u64, u64>(&bits, &dims_of(a, x)?, keepdim(a)?, |g| g.iter().fold(0, |h, v| h ^ v))?.into())
}

fn any_all(a: &Args, any: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let dims = dims_of(a, x)?;
    let keep = keepdim(a)?;
    // truth as `to_dtype(bool)` reads it: nonzero, either part of a complex value (a mask is
    // read as it is)
    let truth = if x.dtype() == DType::Bool { x.clone() } else { x.to_dtype(DType::Bool) };
    let r = reduce::<Bool8, Bool8>(&truth, &dims, keep, move |g| (if any { g.iter().any(|v| v.get()) } else { g.iter().all(|v| v.get()) }).into())?;
    // uint8 inputs keep uint8, as in PyTorch
    Ok(if x.dtype() == DType::U8 { r.to_dtype(DType::U8) } else { r }.into())
}

fn logsumexp(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let dims = dims_of(a, x)?;
    let out = float_dtype(x.dtype());
    if out.is_complex() {
        // PyTorch shifts by the largest real part (0 when it is infinite)
        return Ok(complex::reduce(x, out, &dims, a.bool("keepdim")?, |parts, _| {
            let g: Vec<Complex<f64>> = parts.collect();
            let m = g.iter().map(|z| z.re).fold(f64::NEG_INFINITY, |m, r| if r.is_nan() || m.is_nan() { f64::NAN } else { m.max(r) });
            let m = if m.is_infinite() { 0.0 } else { m };
            g.iter().map(|z| (z - m).exp()).sum::<Complex<f64>>().ln() + m
        })?
        .into());
    }
    let r = reduce::<f64, f64>(&x.to_dtype(DType::F64), &dims, a.bool("keepdim")?, |g| {
        let m = g.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        if g.iter().any(|v| v.is_nan()) {
            return f64::NAN;
        }
        if m.is_infinite() {
            return m;
        }
        m + g.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
    })?;
    Ok(r.to_dtype(out).into())
}

fn p_norm(g: &[f64], p: f64) -> f64 {
    if p == f64::INFINITY {
        g.iter().map(|v| v.abs()).fold(0.0, f64::max)
    } else if p == f64::NEG_INFINITY {
        g.iter().map(|v| v.abs()).fold(f64::INFINITY, f64::min)
    } else if p == 0.0 {
        g.iter().filter(|v| **v != 0.0).count() as f64
    } else if p == 1.0 {
        g.iter().map(|v| v.abs()).sum()
    } else if p == 2.0 {
        g.iter().map(|v| v * v).sum::<f64>().sqrt()
    } else {
        g.iter().map(|v| v.abs().powf(p)).sum::<f64>().powf(1.0 / p)
    }
}

fn norm(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if !x.dtype().is_float() {
        bail!("linalg.vector_norm: Expected a floating point or complex tensor as input. Got {}", torch_type_name(x.dtype()));
    }
    let p = a.opt_scalar("p")?.map(|s| s.to_f64()).unwrap_or(2.0);
    let dims = dims_of(a, x)?;
    let r = reduce::<f64, f64>(&x.to_dtype(DType::F64), &dims, a.bool("keepdim")?, move |g| p_norm(g, p))?;
    Ok(r.to_dtype(x.dtype()).into())
}

fn count_nonzero(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let dims = match a.get("dim")? {
        Value::None => reduction_dims(None, x.dim())?,
        Value::Int(d) => reduction_dims(Some(&[*d]), x.dim())?,
        _ => {
            let l = a.int_list("dim")?;
            reduction_dims(Some(&l), x.dim())?
        }
    };
    // nonzero as `to_dtype(bool)` reads it (either part of a complex value, every bit of an integer)
    Ok(reduce::<Bool8, i64>(&x.to_dtype(DType::Bool), &dims, false, |g| g.iter().filter(|v| v.get()).count() as i64)?.into())
}

fn trace(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if x.dim() != 2 {
        bail!("trace: expected a matrix, but got tensor with dim {}", x.dim());
    }
    let d = x.diagonal(0, 0, 1)?;
    if x.dtype().is_complex() {
        return Ok(complex::reduce(&d, x.dtype(), &[0], false, |parts, _| parts.sum())?.into());
    }
    let out = if x.dtype().is_float() { x.dtype() } else { DType::I64 };
    Ok(if out.is_float() {
        reduce::<f64, f64>(&d.to_dtype(DType::F64), &[0], false, |g| g.iter().sum())?.to_dtype(out)
    } else {
        reduce::<i64, i64>(&d.to_dtype(DType::I64), &[0], false, |g| g.iter().fold(0i64, |s, v| s.wrapping_add(*v)))?
    }
    .into())
}

fn equal(a: &Args) -> Result<Value> {
    let (x, y) = (a.tensor("self")?, a.tensor("other")?);
    if x.shape() != y.shape() {
        return Ok(Value::Bool(false));
    }
    let common = tensor::promote_types(x.dtype(), y.dtype())?;
    Ok(Value::Bool(if common.is_float() { x.to_f64_vec() == y.to_f64_vec() } else { x.to_i64_vec() == y.to_i64_vec() }))
}

fn allclose(a: &Args) -> Result<Value> {
    let (x, y) = (a.tensor("self")?, a.tensor("other")?);
    let (rtol, atol, equal_nan) = (a.float("rtol")?, a.float("atol")?, a.bool("equal_nan")?);
    let shape = tensor::shape::broadcast_shapes(x.shape(), y.shape())?;
    let (xv, yv) = (x.broadcast_to(&shape)?.to_f64_vec(), y.broadcast_to(&shape)?.to_f64_vec());
    Ok(Value::Bool(xv.iter().zip(&yv).all(|(p, q)| {
        if p.is_nan() || q.is_nan() {
            equal_nan && p.is_nan() && q.is_nan()
        } else if p == q {
            true
        } else {
            (p - q).abs() <= atol + rtol * q.abs()
        }
    })))
}

// ----- scans --------------------------------------------------------------------------------

fn cumulative(a: &Args, product: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = one_dim(a, x, "dim")?;
    let out = opt_dtype(a)?.unwrap_or(dtype::accumulated(x.dtype()));
    let input = x.to_dtype(out);
    let n = if x.dim() == 0 { 1 } else { x.shape()[d] };
    if out.is_complex() {
        let (init, f): (Complex<f64>, fn(Complex<f64>, Complex<f64>) -> Complex<f64>) =
            if product { (Complex::new(1.0, 0.0), |acc, v| acc * v) } else { (Complex::new(0.0, 0.0), |acc, v| acc + v) };
        return Ok(complex::scan(&input, out, d, init, f)?.into());
    }
    Ok(if out.is_float() {
        map_lanes::<f64, f64>(&input.to_dtype(DType::F64), d, n, move |l, o| {
            let mut acc = if product { 1.0 } else { 0.0 };
            for (i, v) in l.iter().enumerate() {
                acc = if product { acc * v } else { acc + v };
                o[i] = acc;
            }
        })?
        .to_dtype(out)
    } else {
        map_lanes::<i64, i64>(&input.to_dtype(DType::I64), d, n, move |l, o| {
            let mut acc: i64 = if product { 1 } else { 0 };
            for (i, v) in l.iter().enumerate() {
                acc = if product { acc.wrapping_mul(*v) } else { acc.wrapping_add(*v) };
                o[i] = acc;
            }
        })?
        .to_dtype(out)
    }
    .into())
}

fn logcumsumexp(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = one_dim(a, x, "dim")?;
    let n = if x.dim() == 0 { 1 } else { x.shape()[d] };
    let out = float_dtype(x.dtype());
    if out.is_complex() {
        return Ok(complex::scan(x, out, d, Complex::new(f64::NEG_INFINITY, 0.0), complex::log_add_exp)?.into());
    }
    Ok(map_lanes::<f64, f64>(&x.to_dtype(DType::F64), d, n, |l, o| {
        let mut acc = f64::NEG_INFINITY;
        for (i, &v) in l.iter().enumerate() {
            let (hi, lo) = if acc > v { (acc, v) } else { (v, acc) };
            acc = if hi == f64::NEG_INFINITY { hi } else if v.is_nan() || acc.is_nan() { f64::NAN } else { hi + (lo - hi).exp().ln_1p() };
            o[i] = acc;
        }
    })?
    .to_dtype(out)
    .into())
}

fn cum_extreme(a: &Args, max: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = one_dim(a, x, "dim")?;
    let n = if x.dim() == 0 { 1 } else { x.shape()[d] };
    let xf = x.to_dtype(DType::F64);
    // PyTorch updates on `>=` (`<=`), so ties move the index to the latest position; a NaN
    // sticks once seen, each later NaN taking the index.
    let scan = move |l: &[f64]| -> Vec<(f64, usize)> {
        let mut out = Vec::with_capacity(l.len());
        let (mut best, mut idx) = (l.first().copied().unwrap_or(0.0), 0usize);
        for (i, &v) in l.iter().enumerate() {
            if v.is_nan() || (!best.is_nan() && ((max && v >= best) || (!max && v <= best))) {
                best = v;
                idx = i;
            }
            out.push((best, idx));
        }
        out
    };
    let values = map_lanes::<f64, f64>(&xf, d, n, move |l, o| scan(l).iter().zip(o.iter_mut()).for_each(|((v, _), o)| *o = *v))?;
    let indices = map_lanes::<f64, i64>(&xf, d, n, move |l, o| scan(l).iter().zip(o.iter_mut()).for_each(|((_, i), o)| *o = *i as i64))?;
    Ok((values.to_dtype(x.dtype()), indices).into())
}

// ----- sorting and selection ----------------------------------------------------------------

/// Which positions of a lane a sorting or selection operator picks, in PyTorch's order.
#[derive(Clone, Copy)]
enum Pick {
    /// every position, stably sorted (NaN last ascending, first descending)
    Sort { descending: bool },
    /// the first `k` of `topk`
    TopK { k: usize, largest: bool },
    /// the `k`-th smallest (0-based), as `kthvalue`'s quickselect leaves it
    Kth(usize),
    /// the lower median; with `skip_nan` NaNs are ignored, otherwise a NaN is the median
    Median { skip_nan: bool },
    /// the most frequent value (the smallest among ties), at its last position
    Mode,
}

impl Pick {
    fn positions<K: SortKey>(self, l: &[K]) -> Vec<usize> {
        match self {
            Pick::Sort { descending } => argsort(l, descending),
            Pick::TopK { k, largest } => select_order::topk_order(l, k, largest),
            Pick::Kth(k) => vec![select_order::kth_index(l, k)],
            Pick::Median { skip_nan } => vec![median_index(l, skip_nan)],
            Pick::Mode => vec![mode_index(l)],
        }
    }
}

/// The permutation that sorts a lane (stable; NaN last ascending, first descending).
fn argsort<K: SortKey>(l: &[K], descending: bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..l.len()).collect();
    if descending {
        idx.sort_by(|&i, &j| l[j].nan_last(l[i]));
    } else {
        idx.sort_by(|&i, &j| l[i].nan_last(l[j]));
    }
    idx
}

fn median_index<K: SortKey>(l: &[K], skip_nan: bool) -> usize {
    let order = argsort(l, false);
    let nans = l.iter().filter(|v| v.is_nan()).count();
    if !skip_nan && nans > 0 {
        return order[l.len() - nans];
    }
    let valid = l.len() - nans;
    if valid == 0 {
        return order[0];
    }
    order[(valid - 1) / 2]
}

fn mode_index<K: SortKey>(l: &[K]) -> usize {
    let order = argsort(l, false);
    let (mut best_count, mut best_idx) = (0usize, 0usize);
    let mut i = 0;
    while i < order.len() {
        let v = l[order[i]];
        let mut j = i;
        let mut last = order[i];
        while j < order.len() && (l[order[j]] == v || (v.is_nan() && l[order[j]].is_nan())) {
            last = last.max(order[j]);
            j += 1;
        }
        if j - i > best_count {
            best_count = j - i;
            best_idx = last;
        }
        i = j;
    }
    best_idx
}

/// Values and indices of the positions `pick` chooses in each lane along `d` (`k` per lane).
/// Lanes are compared as their `SortKey`: float dtypes as f64, integers exactly.
fn select_lanes(x: &Tensor, d: usize, k: usize, pick: Pick) -> Result<(Tensor, Tensor)> {
    if x.dim() == 0 {
        // a 0-dim tensor is its own single lane
        let n = pick.positions(&x.to_f64_vec()).len().min(1);
        let shape: &[usize] = if k == 1 { &[] } else { &[0] };
        let v = if n == 1 { x.deep_clone() } else { Tensor::zeros(&[0], x.dtype()) };
        return Ok((v.reshape(&shape.iter().map(|&s| s as i64).collect::<Vec<_>>())?, Tensor::zeros(shape, DType::I64)));
    }
    let (values, indices) = match x.dtype() {
        DType::U64 => select_by_key::<u64>(&x.to_dtype(DType::U64), d, k, pick)?,
        dt if dt.is_float() => select_by_key::<f64>(&x.to_dtype(DType::F64), d, k, pick)?,
        _ => select_by_key::<i64>(&x.to_dtype(DType::I64), d, k, pick)?,
    };
    Ok((values.to_dtype(x.dtype()), indices))
}

fn select_by_key<K: SortKey>(keys: &Tensor, d: usize, k: usize, pick: Pick) -> Result<(Tensor, Tensor)> {
    let indices = map_lanes::<K, i64>(keys, d, k, move |l, o| pick.positions(l).iter().zip(o.iter_mut()).for_each(|(&i, o)| *o = i as i64))?;
    Ok((gather_lanes::<K>(keys, &indices, d)?, indices))
}

/// `out[.., j, ..] = x[.., idx[.., j, ..], ..]` along `d` (a `gather`).
fn gather_lanes<T: tensor::Element>(x: &Tensor, idx: &Tensor, d: usize) -> Result<Tensor> {
    let (xv, iv) = (x.to_vec::<T>(), idx.to_i64_vec());
    let shape = idx.shape().to_vec();
    let xs = x.shape().to_vec();
    let inner: usize = shape[d + 1..].iter().product();
    let (n_out, n_in) = (shape[d], xs[d]);
    let out: Vec<T> = (0..iv.len())
        .map(|p| {
            let (outer, rest) = (p / (n_out * inner), p % (n_out * inner));
            xv[outer * n_in * inner + iv[p] as usize * inner + rest % inner]
        })
        .collect();
    Tensor::from_vec(out, &shape)
}

fn sort(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = one_dim(a, x, "dim")?;
    let n = if x.dim() == 0 { 1 } else { x.shape()[d] };
    let (v, i) = select_lanes(x, d, n, Pick::Sort { descending: a.bool("descending")? })?;
    Ok((v, i).into())
}

fn topk(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = one_dim(a, x, "dim")?;
    let k = a.int("k")?;
    let n = if x.dim() == 0 { 1 } else { x.shape()[d] };
    if k < 0 || k as usize > n {
        bail!("selected index k out of range");
    }
    let largest = a.bool("largest")?;
    let (v, i) = select_lanes(x, d, k as usize, Pick::TopK { k: k as usize, largest })?;
    Ok((v, i).into())
}

/// Values and indices of one chosen position per lane, with the lane dim removed (or kept).
fn pick_one(x: &Tensor, d: usize, keep: bool, pick: Pick) -> Result<Value> {
    let (v, i) = select_lanes(x, d, 1, pick)?;
    if keep || x.dim() == 0 {
        return Ok((v, i).into());
    }
    Ok((v.squeeze(Some(&[d as i64]))?, i.squeeze(Some(&[d as i64]))?).into())
}

fn kthvalue(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = one_dim(a, x, "dim")?;
    let k = a.int("k")?;
    let n = if x.dim() == 0 { 1 } else { x.shape()[d] };
    if k < 1 || k as usize > n {
        bail!("kthvalue(): selected number k out of range for dimension {d}");
    }
    pick_one(x, d, a.bool("keepdim")?, Pick::Kth(k as usize - 1))
}

fn median_all(a: &Args, skip_nan: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    if x.numel() == 0 {
        return Ok(Tensor::full(&[], f64::NAN, x.dtype()).into());
    }
    let flat = x.reshape(&[-1])?;
    let Value::List(vs) = pick_one(&flat, 0, false, Pick::Median { skip_nan })? else { unreachable!("pick_one returns a pair") };
    Ok(vs.into_iter().next().unwrap_or(Value::None))
}

fn median_dim(a: &Args, skip_nan: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = one_dim(a, x, "dim")?;
    if x.dim() > 0 && x.shape()[d] == 0 {
        bail!("median(): Expected reduction dim {d} to have non-zero size.");
    }
    pick_one(x, d, a.bool("keepdim")?, Pick::Median { skip_nan })
}

fn mode(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = one_dim(a, x, "dim")?;
    pick_one(x, d, a.bool("keepdim")?, Pick::Mode)
}

// ----- softmax and friends ------------------------------------------------------------------

fn softmax(a: &Args, log: bool, safe: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = one_dim(a, x, "dim")?;
    let out = match opt_dtype(a)? {
        Some(dt) => dt,
        None if a.schema().param_index("half_to_float").is_some() && a.bool("half_to_float")? => DType::F32,
        None => x.dtype(),
    };
    if !out.is_float() {
        bail!("\"softmax_lastdim_kernel_impl\" not implemented for '{}'", torch_type_name(x.dtype()));
    }
    let n = if x.dim() == 0 { 1 } else { x.shape()[d] };
    // float32 lanes are read and written as they are; other dtypes go through float64
    if (x.dtype(), out) == (DType::F32, DType::F32) {
        return Ok(map_lanes::<f32, f32>(x, d, n, move |l, o| softmax_lane_f32(l, o, log, safe))?.into());
    }
    let r = map_lanes::<f64, f64>(&x.to_dtype(DType::F64), d, n, move |l, o| softmax_lane(l, o, log, safe))?;
    Ok(r.to_dtype(out).into())
}

/// Softmax (or log-softmax) of one float32 lane as PyTorch's vectorized kernel computes it:
/// `e^(x - max)` in float32 (vectorized, [`vmath::exp`]), summed in float64, then divided (or
/// the log of the sum subtracted).
fn softmax_lane_f32(l: &[f32], o: &mut [f32], log: bool, safe: bool) {
    use tensor::kernels::vmath;
    let m = l.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if safe && m == f32::NEG_INFINITY {
        o.fill(0.0);
        return;
    }
    vmath::map_slice(l, o, move |v: f32| vmath::exp(v - m));
    let sum = sum_as_f64(o);
    if log {
        let log_sum = sum.ln();
        for (o, &v) in o.iter_mut().zip(l) {
            *o = ((v - m) as f64 - log_sum) as f32;
        }
    } else {
        vmath::map_in_place(o, move |v: f32| (v as f64 / sum) as f32);
    }
}

/// Softmax (or log-softmax) of one lane, computed in float64 and rounded once to `T`.
fn softmax_lane<T: tensor::Element>(l: &[T], o: &mut [T], log: bool, safe: bool) {
    let m = l.iter().map(|v| v.to_f64()).fold(f64::NEG_INFINITY, f64::max);
    if safe && m == f64::NEG_INFINITY {
        o.iter_mut().for_each(|v| *v = T::from_f64(0.0));
        return;
    }
    let sum: f64 = l.iter().map(|v| (v.to_f64() - m).exp()).sum();
    let log_sum = sum.ln();
    for (o, v) in o.iter_mut().zip(l) {
        let d = v.to_f64() - m;
        *o = T::from_f64(if log { d - log_sum } else { d.exp() / sum });
    }
}

fn bincount(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if x.dim() != 1 || x.dtype().is_float() {
        bail!("bincount only supports 1-d non-negative integral inputs.");
    }
    let vals = x.to_i64_vec();
    if vals.iter().any(|v| *v < 0) {
        bail!("bincount only supports 1-d non-negative integral inputs.");
    }
    let minlength = a.int("minlength")?.max(0) as usize;
    let n = vals.iter().map(|v| *v as usize + 1).max().unwrap_or(0).max(minlength);
    match a.opt_tensor("weights")? {
        None => {
            let mut c = vec![0i64; n];
            vals.iter().for_each(|v| c[*v as usize] += 1);
            Ok(Tensor::from_vec(c, &[n])?.into())
        }
        Some(w) => {
            let wv = w.to_f64_vec();
            if wv.len() != vals.len() {
                bail!("weights should be 1-d and have the same length as input");
            }
            let mut c = vec![0f64; n];
            vals.iter().zip(&wv).for_each(|(v, w)| c[*v as usize] += w);
            let out = if w.dtype() == DType::F32 { DType::F32 } else { DType::F64 };
            Ok(Tensor::from_vec(c, &[n])?.to_dtype(out).into())
        }
    }
}

fn histc(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if !x.dtype().is_float() {
        bail!("\"histogram_cpu\" not implemented for '{}'", torch_type_name(x.dtype()));
    }
    let bins = a.int("bins")?;
    if bins <= 0 {
        bail!("torch.histc: bins must be > 0, but got {bins} for dimension 0");
    }
    let v = x.to_f64_vec();
    let (mut lo, mut hi) = (a.scalar("min")?.to_f64(), a.scalar("max")?.to_f64());
    if lo == hi && !v.is_empty() {
        lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
        hi = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    }
    if lo == hi {
        lo -= 1.0;
        hi += 1.0;
    }
    if lo > hi {
        bail!("torch.histc: max must be larger than min");
    }
    let nb = bins as usize;
    let mut c = vec![0f64; nb];
    for &p in &v {
        if p >= lo && p <= hi {
            let mut b = ((p - lo) / (hi - lo) * nb as f64) as usize;
            if b == nb {
                b -= 1;
            }
            c[b] += 1.0;
        }
    }
    Ok(Tensor::from_vec(c, &[nb])?.to_dtype(x.dtype()).into())
}

fn renorm(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let p = a.scalar("p")?.to_f64();
    let maxnorm = a.scalar("maxnorm")?.to_f64();
    let d = one_dim(a, x, "dim")?;
    if p <= 0.0 {
        bail!("renorm: non-positive-norm not supported");
    }
    let others: Vec<usize> = (0..x.dim()).filter(|&k| k != d).collect();
    let norms = reduce::<f64, f64>(&x.to_dtype(DType::F64), &others, true, move |g| p_norm(g, p))?;
    let scale = tensor::kernels::elementwise::map::<f64, f64>(&norms, move |n| if n > maxnorm { maxnorm / (n + 1e-7) } else { 1.0 });
    let r = tensor::kernels::elementwise::zip::<f64, f64, f64>(&x.to_dtype(DType::F64), &scale, |v, s| v * s)?;
    Ok(r.to_dtype(x.dtype()).into())
}
