//! Composites that compute: division by other names, whole-tensor variance and standard
//! deviation, comparisons (`isclose`, `isreal`), products (`inner`, `tensordot`,
//! `linalg_vecdot`, `cross`), sorting by other names (`msort`, stable `argsort`), `nanmean`,
//! `float_power`, `prelu`, and the distance functions (`cdist`, `pdist`, `pairwise_distance`).

use export::retrace::DecompCall;
use export::trace::{call, Arg};
use export::{Error, Result, SymInt, Tensor};
use ops::names::aten;
use ops::{meta, DtypeRule, MetaCall, Tag, Value};
use symbolic::Expr;
use tensor::DType;

use super::{one, op1, wrap_dim, Composite, Sizes};
use crate::rules::{permute, product, reshape_to};

const POINTWISE: &[Tag] = &[Tag::Pointwise];

pub(super) const COMPOSITES: &[Composite] = &[
    Composite { schema: "aten::divide.Tensor(Tensor self, Tensor other) -> Tensor", tags: POINTWISE, meta: None, dtype: Some(DtypeRule::PromoteToFloat), decompose: divide },
    Composite { schema: "aten::true_divide.Tensor(Tensor self, Tensor other) -> Tensor", tags: POINTWISE, meta: None, dtype: Some(DtypeRule::PromoteToFloat), decompose: divide },
    Composite { schema: "aten::subtract.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor", tags: POINTWISE, meta: None, dtype: None, decompose: subtract },
    Composite { schema: "aten::var(Tensor self, bool unbiased=True) -> Tensor", tags: &[], meta: Some(meta::scalar), dtype: None, decompose: var_all },
    Composite { schema: "aten::std(Tensor self, bool unbiased=True) -> Tensor", tags: &[], meta: Some(meta::scalar), dtype: None, decompose: std_all },
    Composite { schema: "aten::var_mean(Tensor self, bool unbiased=True) -> (Tensor, Tensor)", tags: &[], meta: Some(scalar_pair), dtype: None, decompose: var_mean_all },
    Composite { schema: "aten::std_mean(Tensor self, bool unbiased=True) -> (Tensor, Tensor)", tags: &[], meta: Some(scalar_pair), dtype: None, decompose: std_mean_all },
    Composite {
        schema: "aten::std_mean.dim(Tensor self, int[1]? dim, bool unbiased=True, bool keepdim=False) -> (Tensor, Tensor)",
        tags: &[],
        meta: Some(meta::reduction_pair),
        dtype: None, decompose: std_mean_dim,
    },
    Composite { schema: "aten::gradient.scalarint(Tensor self, *, Scalar? spacing=None, int? dim=None, int edge_order=1) -> Tensor[]", tags: &[], meta: Some(gradient_meta), dtype: Some(DtypeRule::Custom(gradient_dtype)), decompose: gradient },
    Composite { schema: "aten::gradient.scalararray(Tensor self, *, Scalar spacing, int[] dim, int edge_order=1) -> Tensor[]", tags: &[], meta: Some(gradient_meta), dtype: Some(DtypeRule::Custom(gradient_dtype)), decompose: gradient },
    Composite { schema: "aten::gradient.array(Tensor self, *, int[] dim, int edge_order=1) -> Tensor[]", tags: &[], meta: Some(gradient_meta), dtype: Some(DtypeRule::Custom(gradient_dtype)), decompose: gradient },
    Composite { schema: "aten::special_polygamma(int n, Tensor self) -> Tensor", tags: POINTWISE, meta: None, dtype: Some(DtypeRule::PromoteToFloat), decompose: special_polygamma },
    Composite { schema: "aten::quantile(Tensor self, Tensor q, int? dim=None, bool keepdim=False, *, str interpolation=\"linear\") -> Tensor", tags: &[], meta: Some(quantile_meta), dtype: None, decompose: quantile },
    Composite { schema: "aten::quantile.scalar(Tensor self, float q, int? dim=None, bool keepdim=False, *, str interpolation=\"linear\") -> Tensor", tags: &[], meta: Some(quantile_meta), dtype: None, decompose: quantile },
    Composite { schema: "aten::nanquantile(Tensor self, Tensor q, int? dim=None, bool keepdim=False, *, str interpolation=\"linear\") -> Tensor", tags: &[], meta: Some(quantile_meta), dtype: None, decompose: quantile },
    Composite { schema: "aten::nanquantile.scalar(Tensor self, float q, int? dim=None, bool keepdim=False, *, str interpolation=\"linear\") -> Tensor", tags: &[], meta: Some(quantile_meta), dtype: None, decompose: quantile },
    Composite { schema: "aten::special_ndtr(Tensor self) -> Tensor", tags: POINTWISE, meta: None, dtype: Some(DtypeRule::PromoteToFloat), decompose: ndtr },
    Composite { schema: "aten::isreal(Tensor self) -> Tensor", tags: &[], meta: Some(meta::same_as_self), dtype: Some(DtypeRule::Bool), decompose: isreal },
    Composite {
        schema: "aten::isclose(Tensor self, Tensor other, float rtol=1.0000000000000001e-05, float atol=1e-08, bool equal_nan=False) -> Tensor",
        tags: &[],
        meta: Some(meta::pointwise),
        dtype: Some(DtypeRule::Bool), decompose: isclose,
    },
    Composite { schema: "aten::inner(Tensor self, Tensor other) -> Tensor", tags: &[], meta: Some(inner_meta), dtype: Some(DtypeRule::Promote), decompose: inner },
    Composite {
        schema: "aten::tensordot(Tensor self, Tensor other, int[] dims_self, int[] dims_other) -> Tensor",
        tags: &[],
        meta: Some(tensordot_meta),
        dtype: Some(DtypeRule::Promote), decompose: tensordot,
    },
    Composite { schema: "aten::linalg_vecdot(Tensor x, Tensor y, *, int dim=-1) -> Tensor", tags: &[], meta: Some(super::broadcast_reduced_meta), dtype: Some(DtypeRule::Promote), decompose: vecdot },
    Composite { schema: "aten::cross(Tensor self, Tensor other, int? dim=None) -> Tensor", tags: &[], meta: Some(meta::pointwise), dtype: Some(DtypeRule::Promote), decompose: cross },
    Composite { schema: "aten::msort(Tensor self) -> Tensor", tags: &[], meta: Some(meta::same_as_self), dtype: None, decompose: msort },
    Composite {
        schema: "aten::argsort.stable(Tensor self, *, bool stable, int dim=-1, bool descending=False) -> Tensor",
        tags: &[],
        meta: Some(meta::same_as_self),
        dtype: Some(DtypeRule::Long), decompose: argsort_stable,
    },
    Composite {
        schema: "aten::nanmean(Tensor self, int[1]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor",
        tags: &[],
        meta: Some(meta::reduction),
        dtype: None, decompose: nanmean,
    },
    Composite { schema: "aten::float_power.Tensor_Tensor(Tensor self, Tensor exponent) -> Tensor", tags: &[], meta: Some(float_power_meta), dtype: Some(DtypeRule::Custom(float64)), decompose: float_power },
    Composite { schema: "aten::float_power.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor", tags: &[], meta: Some(meta::same_as_self), dtype: Some(DtypeRule::Custom(float64)), decompose: float_power },
    Composite { schema: "aten::prelu(Tensor self, Tensor weight) -> Tensor", tags: &[], meta: Some(meta::same_as_self), dtype: None, decompose: prelu },
    Composite { schema: "aten::trapz.x(Tensor y, Tensor x, *, int dim=-1) -> Tensor", tags: &[], meta: Some(trapezoid_meta), dtype: None, decompose: trapezoid },
    Composite { schema: "aten::trapezoid.x(Tensor y, Tensor x, *, int dim=-1) -> Tensor", tags: &[], meta: Some(trapezoid_meta), dtype: None, decompose: trapezoid },
    Composite { schema: "aten::cumulative_trapezoid.x(Tensor y, Tensor x, *, int dim=-1) -> Tensor", tags: &[], meta: Some(trapezoid_meta), dtype: None, decompose: trapezoid },
    Composite { schema: "aten::cdist(Tensor x1, Tensor x2, float p=2., int? compute_mode=None) -> Tensor", tags: &[], meta: Some(meta::cdist), dtype: None, decompose: cdist },
    Composite { schema: "aten::pdist(Tensor self, float p=2.) -> Tensor", tags: &[], meta: Some(meta::pdist), dtype: None, decompose: pdist },
    Composite {
        schema: "aten::pairwise_distance(Tensor x1, Tensor x2, float p=2., float eps=9.9999999999999995e-07, bool keepdim=False) -> Tensor",
        tags: &[],
        meta: Some(pairwise_distance_meta),
        dtype: None, decompose: pairwise_distance,
    },
];

// `other` may be a number where the schema says Tensor (a Python scalar in the program)
fn divide(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(op1(aten::div_Tensor, vec![Arg::Tensor(c.args.tensor("self")?), c.args.get("other")?.clone()])?)
}

fn subtract(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let args = vec![Arg::Tensor(c.args.tensor("self")?), c.args.get("other")?.clone()];
    one(call(aten::sub_Tensor, args, vec![("alpha", c.args.get("alpha")?.clone())])?.remove(0))
}

/// `var.correction` over every element (correction 1 when unbiased).
fn var_of_all(c: &DecompCall) -> Result<Vec<Tensor>> {
    let correction = if c.args.bool("unbiased")? { 1.0 } else { 0.0 };
    let op = if c.args.op.contains("_mean") { aten::var_mean_correction } else { aten::var_correction };
    call(op, vec![Arg::Tensor(c.args.tensor("self")?)], vec![("correction", Arg::Float(correction))])
}

fn var_all(c: &mut DecompCall) -> Result<Vec<Arg>> {
    Ok(var_of_all(c)?.into_iter().map(Arg::Tensor).collect())
}

fn std_all(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let var = var_of_all(c)?.remove(0);
    one(op1(aten::sqrt, vec![Arg::Tensor(var)])?)
}

fn var_mean_all(c: &mut DecompCall) -> Result<Vec<Arg>> {
    var_all(c)
}

/// `var_mean`'s variance square-rooted, its mean as it is.
fn std_of(pair: Vec<Tensor>) -> Result<Vec<Arg>> {
    let mut it = pair.into_iter();
    let (var, mean) = (it.next().ok_or_else(|| Error::msg("var_mean gave no variance"))?, it.next().ok_or_else(|| Error::msg("var_mean gave no mean"))?);
    Ok(vec![Arg::Tensor(op1(aten::sqrt, vec![Arg::Tensor(var)])?), Arg::Tensor(mean)])
}

fn std_mean_all(c: &mut DecompCall) -> Result<Vec<Arg>> {
    std_of(var_of_all(c)?)
}

fn std_mean_dim(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (args, kwargs) = super::correction_args(c)?;
    std_of(call(aten::var_mean_correction, args, kwargs)?)
}

fn scalar_pair(_: &mut MetaCall) -> Sizes {
    Ok(vec![vec![], vec![]])
}

/// Every element of a real tensor is real: `full_like(self, True)`; a complex element is real
/// when its imaginary part is zero (`imag(self) == 0`).
fn isreal(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    if x.dtype().is_complex() {
        let imag = super::shape::complex_part(&c.args.op, x, 1)?;
        return one(op1(aten::eq_Scalar, vec![Arg::Tensor(imag), Arg::Int(0.into())])?);
    }
    let kwargs = vec![("dtype", Arg::Dtype(DType::Bool)), ("pin_memory", Arg::Bool(false))];
    one(call(aten::full_like, vec![Arg::Tensor(c.args.tensor("self")?), Arg::Bool(true)], kwargs)?.remove(0))
}

/// `a == b | (finite(|a - b|) & |a - b| <= atol + rtol * |b|)`, NaNs equal when asked, as
/// PyTorch's reference computes it (booleans and integers compare exactly).
fn isclose(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (a, b) = (c.args.tensor("self")?, c.args.tensor("other")?);
    let (rtol, atol, equal_nan) = (c.args.float("rtol")?, c.args.float("atol")?, c.args.bool("equal_nan")?);
    if a.dtype() != b.dtype() {
        return Err(Error::msg(format!("{}: {} did not match {}", c.args.op, a.dtype(), b.dtype())));
    }
    if rtol < 0.0 || atol < 0.0 {
        return Err(Error::msg(format!("{}: rtol and atol must be non-negative, got rtol={rtol} and atol={atol}", c.args.op)));
    }
    let t = |x: Tensor| Arg::Tensor(x);
    let mut close = op1(aten::eq_Tensor, vec![t(a.clone()), t(b.clone())])?;
    if equal_nan && a.dtype().is_float() {
        let both_nan = op1(aten::logical_and, vec![t(op1(aten::isnan, vec![t(a.clone())])?), t(op1(aten::isnan, vec![t(b.clone())])?)])?;
        close = op1(aten::logical_or, vec![t(close), t(both_nan)])?;
    }
    if a.dtype() == DType::Bool || (!a.dtype().is_float() && rtol == 0.0 && atol == 0.0) {
        return one(close);
    }
    let allowed = op1(aten::add_Scalar, vec![t(op1(aten::abs, vec![t(op1(aten::mul_Scalar, vec![t(b.clone()), Arg::Float(rtol)])?)])?), Arg::Float(atol)])?;
    let gap = op1(aten::abs, vec![t(op1(aten::sub_Tensor, vec![t(a), t(b)])?)])?;
    let finite = op1(aten::mul_Tensor, vec![
        t(op1(aten::eq_Tensor, vec![t(gap.clone()), t(gap.clone())])?),
        t(op1(aten::ne_Scalar, vec![t(op1(aten::abs, vec![t(gap.clone())])?), Arg::Float(f64::INFINITY)])?),
    ])?;
    let within = op1(aten::bitwise_and_Tensor, vec![t(finite), t(op1(aten::le_Tensor, vec![t(gap), t(allowed)])?)])?;
    one(op1(aten::bitwise_or_Tensor, vec![t(close), t(within)])?)
}

/// The product of `a` and `b` summed over `dims_a` / `dims_b`: both permuted so the summed
/// dims meet, flattened to matrices, multiplied, and viewed as `a`'s free dims then `b`'s.
fn contract(op: &str, a: Tensor, b: Tensor, dims_a: &[i64], dims_b: &[i64]) -> Result<Tensor> {
    if dims_a.len() != dims_b.len() {
        return Err(Error::msg(format!("{op}: both dimension lists should have same length, got {} and {}", dims_a.len(), dims_b.len())));
    }
    let (ra, rb) = (a.dim() as i64, b.dim() as i64);
    let da = dims_a.iter().map(|&d| wrap_dim(op, d, ra.max(1))).collect::<Result<Vec<_>>>()?;
    let db = dims_b.iter().map(|&d| wrap_dim(op, d, rb.max(1))).collect::<Result<Vec<_>>>()?;
    let (sa, sb) = (a.sizes(), b.sizes());
    for (x, y) in da.iter().zip(&db) {
        if sa[*x as usize].hint() != sb[*y as usize].hint() {
            return Err(Error::msg(format!("{op}: contracted dimensions need to match, but first has size {} in dim {x} and second has size {} in dim {y}", sa[*x as usize].hint(), sb[*y as usize].hint())));
        }
    }
    let free_a: Vec<i64> = (0..ra).filter(|d| !da.contains(d)).collect();
    let free_b: Vec<i64> = (0..rb).filter(|d| !db.contains(d)).collect();
    let pick = |s: &[SymInt], dims: &[i64]| -> Vec<SymInt> { dims.iter().map(|&d| s[d as usize].clone()).collect() };
    let (fa, fb, k) = (pick(&sa, &free_a), pick(&sb, &free_b), pick(&sa, &da));
    let a2 = reshape_to(&permute(&a, &[free_a.clone(), da].concat())?, &[product(&fa), product(&k)])?;
    let b2 = reshape_to(&permute(&b, &[db, free_b.clone()].concat())?, &[product(&k), product(&fb)])?;
    let m = op1(aten::mm, vec![Arg::Tensor(a2), Arg::Tensor(b2)])?;
    reshape_to(&m, &[fa, fb].concat())
}

fn inner(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (a, b) = (c.args.tensor("self")?, c.args.tensor("other")?);
    if a.dim() == 0 || b.dim() == 0 {
        return one(op1(aten::mul_Tensor, vec![Arg::Tensor(a), Arg::Tensor(b)])?);
    }
    one(contract(&c.args.op, a, b, &[-1], &[-1])?)
}

fn inner_meta(call: &mut MetaCall) -> Sizes {
    let (a, b) = (call.sizes("self")?, call.sizes("other")?);
    if a.is_empty() || b.is_empty() {
        return Ok(vec![meta::broadcast(call, &a, &b)?]);
    }
    Ok(vec![a[..a.len() - 1].iter().chain(&b[..b.len() - 1]).cloned().collect()])
}

fn tensordot(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let hints = |name: &str| -> Result<Vec<i64>> { Ok(c.args.ints(name)?.iter().map(SymInt::hint).collect()) };
    one(contract(&c.args.op, c.args.tensor("self")?, c.args.tensor("other")?, &hints("dims_self")?, &hints("dims_other")?)?)
}

fn tensordot_meta(call: &mut MetaCall) -> Sizes {
    let (a, b) = (call.sizes("self")?, call.sizes("other")?);
    let da: Vec<usize> = call.args.int_list("dims_self")?.iter().map(|&d| call.wrap_dim(d, a.len())).collect::<ops::Result<_>>()?;
    let db: Vec<usize> = call.args.int_list("dims_other")?.iter().map(|&d| call.wrap_dim(d, b.len())).collect::<ops::Result<_>>()?;
    let free = |s: &[Expr], dims: &[usize]| -> Vec<Expr> { s.iter().enumerate().filter(|(i, _)| !dims.contains(i)).map(|(_, e)| e.clone()).collect() };
    Ok(vec![[free(&a, &da), free(&b, &db)].concat()])
}

/// `sum(x * y, dim)` (real tensors need no conjugate).
fn vecdot(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let product = op1(aten::mul_Tensor, vec![Arg::Tensor(c.args.tensor("x")?), Arg::Tensor(c.args.tensor("y")?)])?;
    one(op1(aten::sum_dim_IntList, vec![Arg::Tensor(product), Arg::Ints(vec![c.args.int("dim")?]), Arg::Bool(false)])?)
}

/// `linalg_cross` along `dim`, or (the deprecated default) the first dim of size 3.
fn cross(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (a, b) = (c.args.tensor("self")?, c.args.tensor("other")?);
    let dim = match c.args.get("dim")? {
        Arg::Int(d) => d.hint(),
        _ => a.shape().iter().position(|&s| s == 3).map(|d| d as i64).ok_or_else(|| Error::msg(format!("{}: no dimension of size 3 in input", c.args.op)))?,
    };
    one(op1(aten::linalg_cross, vec![Arg::Tensor(a), Arg::Tensor(b), Arg::Int(dim.into())])?)
}

/// `sort(self, 0)`'s values.
fn msort(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(call(aten::sort, vec![Arg::Tensor(c.args.tensor("self")?), Arg::Int(0.into())], vec![])?.remove(0))
}

/// `sort.stable`'s indices.
fn argsort_stable(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let kwargs = vec![("stable", Arg::Bool(c.args.bool("stable")?)), ("dim", Arg::Int(c.args.int("dim")?)), ("descending", Arg::Bool(c.args.bool("descending")?))];
    let mut sorted = call(aten::sort_stable, vec![Arg::Tensor(c.args.tensor("self")?)], kwargs)?;
    if sorted.len() != 2 {
        return Err(Error::msg("argsort: sort gave no indices"));
    }
    one(sorted.remove(1))
}

/// The mean of the elements that are not NaN: their sum over their count.
fn nanmean(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    if !x.dtype().is_float() {
        return Err(Error::msg(format!("{}: nanmean(): expected input to have floating point dtype but got {}", c.args.op, x.dtype())));
    }
    let (dim, keepdim) = (c.args.get("dim")?.clone(), Arg::Bool(c.args.bool("keepdim")?));
    let dims = match dim {
        Arg::None => Arg::Ints(vec![]),
        Arg::Int(d) => Arg::Ints(vec![d]),
        other => other,
    };
    let present = op1(aten::logical_not, vec![Arg::Tensor(op1(aten::isnan, vec![Arg::Tensor(x.clone())])?)])?;
    let zeroed = op1(aten::where_self, vec![Arg::Tensor(present.clone()), Arg::Tensor(x.clone()), Arg::Tensor(crate::rules::scalar_tensor(Arg::Int(0.into()), x.dtype())?)])?;
    let sum = op1(aten::sum_dim_IntList, vec![Arg::Tensor(zeroed), dims.clone(), keepdim.clone()])?;
    let count = op1(aten::sum_dim_IntList, vec![Arg::Tensor(present), dims, keepdim])?;
    one(op1(aten::div_Tensor, vec![Arg::Tensor(sum), Arg::Tensor(count)])?)
}

fn float64(_: &ops::Args) -> ops::Result<Vec<DType>> {
    Ok(vec![DType::F64])
}

/// `pow` in float64.
fn float_power(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let to64 = |t: Tensor| -> Result<Tensor> { Ok(call(aten::_to_copy, vec![Arg::Tensor(t)], vec![("dtype", Arg::Dtype(DType::F64))])?.remove(0)) };
    let x = to64(c.args.tensor("self")?)?;
    match c.args.get("exponent")?.clone() {
        Arg::Tensor(e) => one(op1(aten::pow_Tensor_Tensor, vec![Arg::Tensor(x), Arg::Tensor(to64(e)?)])?),
        Arg::Int(e) => one(op1(aten::pow_Tensor_Scalar, vec![Arg::Tensor(x), Arg::Float(e.hint() as f64)])?),
        e => one(op1(aten::pow_Tensor_Scalar, vec![Arg::Tensor(x), e])?),
    }
}

fn float_power_meta(call: &mut MetaCall) -> Sizes {
    let (a, b) = (call.sizes("self")?, call.sizes("exponent")?);
    Ok(vec![meta::broadcast(call, &a, &b)?])
}

/// `_prelu_kernel`, after PyTorch's checks of the weight.
fn prelu(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (x, w) = (c.args.tensor("self")?, c.args.tensor("weight")?);
    let n = w.shape().iter().product::<usize>();
    if w.dim() > 1 {
        return Err(Error::msg(format!("{}: prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {}", c.args.op, w.dim())));
    }
    let channels = if x.dim() >= 2 { x.shape()[1] } else { 1 };
    if n != 1 && n != channels {
        return Err(Error::msg(format!("{}: Mismatch of parameter numbers and input channel size. Found parameter numbers = {n} and channel size = {channels}.", c.args.op)));
    }
    // the weight broadcast along the channel dim
    let w = if x.dim() >= 2 && n > 1 {
        let mut view = vec![SymInt::from(1); x.dim()];
        view[1] = SymInt::from(n as i64);
        reshape_to(&w, &view)?
    } else {
        w
    };
    one(op1(aten::_prelu_kernel, vec![Arg::Tensor(x), Arg::Tensor(w)])?)
}

fn cdist(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let args = vec![Arg::Tensor(c.args.tensor("x1")?), Arg::Tensor(c.args.tensor("x2")?), Arg::Float(c.args.float("p")?), c.args.get("compute_mode")?.clone()];
    one(op1(aten::_cdist_forward, args)?)
}

fn pdist(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(op1(aten::_pdist_forward, vec![Arg::Tensor(c.args.tensor("self")?), Arg::Float(c.args.float("p")?)])?)
}

/// `‖x1 - x2 + eps‖_p` over the last dim, as PyTorch's composite computes it.
fn pairwise_distance(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (x1, x2) = (c.args.tensor("x1")?, c.args.tensor("x2")?);
    one(pairwise(x1, x2, c.args.float("p")?, c.args.float("eps")?, c.args.bool("keepdim")?)?)
}

pub(super) fn pairwise(x1: Tensor, x2: Tensor, p: f64, eps: f64, keepdim: bool) -> Result<Tensor> {
    let rank = x1.dim().max(x2.dim()) as i64;
    let diff = op1(aten::sub_Tensor, vec![Arg::Tensor(x1), Arg::Tensor(x2)])?;
    let shifted = op1(aten::add_Scalar, vec![Arg::Tensor(diff), Arg::Float(eps)])?;
    let dim = if rank == 0 { vec![] } else { vec![SymInt::from(-1)] };
    op1(aten::linalg_vector_norm, vec![Arg::Tensor(shifted), Arg::Float(p), Arg::Ints(dim), Arg::Bool(keepdim)])
}

fn pairwise_distance_meta(call: &mut MetaCall) -> Sizes {
    let (a, b) = (call.sizes("x1")?, call.sizes("x2")?);
    let mut s = meta::broadcast(call, &a, &b)?;
    let keepdim = call.args.bool("keepdim")?;
    if let Some(last) = s.last_mut() {
        if keepdim {
            *last = Expr::Int(1);
        } else {
            s.pop();
        }
    }
    Ok(vec![s])
}

/// The trapezoid rule along `dim`: `sum(dx * (y[1:] + y[:-1])) / 2` with `dx` the spacing of
/// `x` (a vector of sample points along `dim`, or `x` of `y`'s rank); the running sum for
/// `cumulative_trapezoid`.
fn trapezoid(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (y, x) = (c.args.tensor("y")?, c.args.tensor("x")?);
    let rank = y.dim() as i64;
    let d = wrap_dim(&c.args.op, c.args.int("dim")?.hint(), rank.max(1))?;
    let n = y.size(d)?;
    let slice = |t: &Tensor, dim: i64, start: SymInt, end: SymInt| op1(aten::slice_Tensor, vec![Arg::Tensor(t.clone()), Arg::Int(dim.into()), Arg::Int(start), Arg::Int(end)]);
    let dx = if x.dim() == 1 {
        let k = x.size(0)?;
        let dx = op1(aten::sub_Tensor, vec![Arg::Tensor(slice(&x, 0, 1.into(), k.clone())?), Arg::Tensor(slice(&x, 0, 0.into(), k - 1)?)])?;
        let mut view = vec![SymInt::from(1); rank as usize];
        view[d as usize] = SymInt::from(-1);
        reshape_to(&dx, &view)?
    } else {
        let k = x.size(d)?;
        op1(aten::sub_Tensor, vec![Arg::Tensor(slice(&x, d, 1.into(), k.clone())?), Arg::Tensor(slice(&x, d, 0.into(), k - 1)?)])?
    };
    let pairs = op1(aten::add_Tensor, vec![Arg::Tensor(slice(&y, d, 1.into(), n.clone())?), Arg::Tensor(slice(&y, d, 0.into(), n - 1)?)])?;
    let areas = op1(aten::mul_Tensor, vec![Arg::Tensor(dx), Arg::Tensor(pairs)])?;
    let summed = if c.args.op.contains("cumulative") {
        op1(aten::cumsum, vec![Arg::Tensor(areas), Arg::Int(d.into())])?
    } else {
        op1(aten::sum_dim_IntList, vec![Arg::Tensor(areas), Arg::Ints(vec![d.into()]), Arg::Bool(false)])?
    };
    one(op1(aten::div_Tensor, vec![Arg::Tensor(summed), Arg::Int(2.into())])?)
}

fn trapezoid_meta(call: &mut MetaCall) -> Sizes {
    let (y, x) = (call.sizes("y")?, call.sizes("x")?);
    let shape = if x.len() == y.len() { meta::broadcast(call, &y, &x)? } else { y };
    let d = call.wrap_dim(call.args.int("dim")?, shape.len())?;
    let mut out = shape.clone();
    if call.args.schema().qualified_name().contains("cumulative") {
        out[d] = Expr::max_of([shape[d].clone() - Expr::Int(1), Expr::Int(0)]);
    } else {
        out.remove(d);
    }
    Ok(vec![out])
}

/// The standard normal distribution function: `(1 + erf(x / √2)) / 2`.
fn ndtr(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let x = if x.dtype().is_float() { x } else { call(aten::_to_copy, vec![Arg::Tensor(x)], vec![("dtype", Arg::Dtype(DType::F32))])?.remove(0) };
    let scaled = op1(aten::mul_Tensor, vec![Arg::Tensor(x), Arg::Float(std::f64::consts::FRAC_1_SQRT_2)])?;
    let e = op1(aten::erf, vec![Arg::Tensor(scaled)])?;
    let shifted = op1(aten::add_Tensor, vec![Arg::Tensor(e), Arg::Int(1.into())])?;
    one(op1(aten::mul_Tensor, vec![Arg::Tensor(shifted), Arg::Float(0.5)])?)
}

/// `special.polygamma(n, x)` is `polygamma(n, x)`.
fn special_polygamma(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (n, x) = (c.args.int("n")?, c.args.tensor("self")?);
    one(op1(aten::polygamma, vec![Arg::Int(n), Arg::Tensor(x)])?)
}

/// The reduced sizes of `quantile`: `dim` removed (or kept as 1), all dims when `dim` is None;
/// a 1-d `q` puts its length first.
fn quantile_meta(call: &mut MetaCall) -> Sizes {
    let x = call.sizes("self")?;
    let keepdim = call.args.bool("keepdim")?;
    let mut out = match call.args.opt_int("dim")? {
        None if keepdim => vec![Expr::Int(1); x.len()],
        None => vec![],
        Some(d) => {
            let d = call.wrap_dim(d, x.len())?;
            let mut s = x.clone();
            if keepdim && !s.is_empty() {
                s[d] = Expr::Int(1);
            } else if !s.is_empty() {
                s.remove(d);
            }
            s
        }
    };
    if let Ok(q) = call.sizes("q") {
        if q.len() == 1 {
            out.insert(0, q[0].clone());
        }
    }
    Ok(vec![out])
}

/// `quantile` / `nanquantile` as PyTorch's CPU kernel computes them: the values sorted along
/// the reduced dim (NaNs last), the rank `q * (n - 1)` in the input's dtype (`n` the count of
/// non-NaN values for `nanquantile`; a row with a NaN gives NaN for `quantile`), and the
/// values at the ranks below and above, interpolated as asked.
fn quantile(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let op = c.args.op.clone();
    let x = c.args.tensor("self")?;
    let dtype = x.dtype();
    if !matches!(dtype, DType::F32 | DType::F64) {
        return Err(Error::msg(format!("{op}: quantile() input tensor must be either float or double dtype")));
    }
    let ignore_nan = op.contains("nanquantile");
    let interpolation = match c.args.get("interpolation")? {
        Arg::Str(s) => s.clone(),
        _ => "linear".into(),
    };
    // q as a 1-d tensor of the input's dtype; a number (or 0-d q) gives a reduced result
    let (q, q_is_vector) = match c.args.get("q")? {
        Arg::Float(v) => (crate::rules::scalar_tensor(Arg::Float(*v), dtype)?, false),
        _ => {
            let q = c.args.tensor("q")?;
            if q.dtype() != dtype {
                return Err(Error::msg(format!("{op}: quantile() q tensor must be same dtype as the input tensor")));
            }
            if q.dim() > 1 {
                return Err(Error::msg(format!("{op}: quantile() q must be a scalar or 1D tensor")));
            }
            let vector = q.dim() == 1;
            (q, vector)
        }
    };
    let q = reshape_to(&q, &[SymInt::from(-1)])?;
    let keepdim = c.args.bool("keepdim")?;
    let rank = x.dim() as i64;
    let dim = match c.args.get("dim")? {
        Arg::None => None,
        _ => Some(wrap_dim(&op, c.args.int("dim")?.hint(), rank.max(1))?),
    };
    // the reduced values along the last dim: [rows..., n]
    let rows = match dim {
        None => reshape_to(&x, &[SymInt::from(-1)])?,
        Some(_) if rank == 0 => reshape_to(&x, &[SymInt::from(1)])?,
        Some(d) => {
            let order: Vec<i64> = (0..rank).filter(|&i| i != d).chain([d]).collect();
            permute(&x, &order)?
        }
    };
    let n = rows.size(-1)?;
    if n.hint() == 0 {
        return Err(Error::msg(format!("{op}: quantile() input tensor must be non-empty")));
    }
    let sorted = call(aten::sort, vec![Arg::Tensor(rows), Arg::Int((-1).into())], vec![])?.remove(0);
    let last = sorted.slice(-1, Some(n.clone() - 1), Some(n.clone()))?;
    // one rank per q, per row: [rows..., Q]
    let mut lead = sorted.sizes();
    lead.pop();
    let q_row = reshape_to(&q, &std::iter::repeat_n(SymInt::from(1), lead.len()).chain([SymInt::from(-1)]).collect::<Vec<_>>())?;
    let top = crate::rules::scalar_tensor(Arg::Int(n.clone() - 1), dtype)?;
    let ranks = if ignore_nan {
        let valid = op1(aten::sum_dim_IntList, vec![Arg::Tensor(op1(aten::logical_not, vec![Arg::Tensor(op1(aten::isnan, vec![Arg::Tensor(sorted.clone())])?)])?), Arg::Ints(vec![(-1).into()]), Arg::Bool(true)])?;
        let k = op1(aten::sub_Tensor, vec![Arg::Tensor(valid.clone()), Arg::Int(1.into())])?;
        let r = op1(aten::mul_Tensor, vec![Arg::Tensor(q_row), Arg::Tensor(k)])?;
        let none_valid = op1(aten::eq_Scalar, vec![Arg::Tensor(valid), Arg::Int(0.into())])?;
        op1(aten::where_self, vec![Arg::Tensor(none_valid), Arg::Tensor(top), Arg::Tensor(r)])?
    } else {
        let r = op1(aten::mul_Scalar, vec![Arg::Tensor(q_row), Arg::Int(n.clone() - 1)])?;
        let has_nan = op1(aten::isnan, vec![Arg::Tensor(last)])?;
        op1(aten::where_self, vec![Arg::Tensor(has_nan), Arg::Tensor(top), Arg::Tensor(r)])?
    };
    let mut shape = lead.clone();
    shape.push(q.size(0)?);
    let ranks = ranks.expand(&shape)?;
    let long = |t: Tensor| -> Result<Tensor> { Ok(call(aten::_to_copy, vec![Arg::Tensor(t)], vec![("dtype", Arg::Dtype(DType::I64))])?.remove(0)) };
    let at = |r: Tensor| -> Result<Tensor> { op1(aten::gather, vec![Arg::Tensor(sorted.clone()), Arg::Int((-1).into()), Arg::Tensor(r)]) };
    let below_rank = long(ranks.clone())?;
    let values = match interpolation.as_str() {
        "lower" => at(below_rank)?,
        "higher" => at(long(op1(aten::ceil, vec![Arg::Tensor(ranks)])?)?)?,
        "nearest" => at(long(op1(aten::round, vec![Arg::Tensor(ranks)])?)?)?,
        "linear" | "midpoint" => {
            let below = at(below_rank.clone())?;
            let above = at(long(op1(aten::ceil, vec![Arg::Tensor(ranks.clone())])?)?)?;
            let weights = if interpolation == "linear" {
                op1(aten::sub_Tensor, vec![Arg::Tensor(ranks), Arg::Tensor(below_rank)])?
            } else {
                crate::rules::scalar_tensor(Arg::Float(0.5), dtype)?
            };
            // lerp as PyTorch computes it: from the nearer end
            let diff = op1(aten::sub_Tensor, vec![Arg::Tensor(above.clone()), Arg::Tensor(below.clone())])?;
            let from_below = op1(aten::add_Tensor, vec![Arg::Tensor(below), Arg::Tensor(op1(aten::mul_Tensor, vec![Arg::Tensor(weights.clone()), Arg::Tensor(diff.clone())])?)])?;
            let rest = op1(aten::sub_Tensor, vec![Arg::Tensor(crate::rules::scalar_tensor(Arg::Int(1.into()), dtype)?), Arg::Tensor(weights.clone())])?;
            let from_above = op1(aten::sub_Tensor, vec![Arg::Tensor(above), Arg::Tensor(op1(aten::mul_Tensor, vec![Arg::Tensor(diff), Arg::Tensor(rest)])?)])?;
            let near_below = op1(aten::lt_Scalar, vec![Arg::Tensor(weights), Arg::Float(0.5)])?;
            op1(aten::where_self, vec![Arg::Tensor(near_below), Arg::Tensor(from_below), Arg::Tensor(from_above)])?
        }
        other => return Err(Error::msg(format!("{op}: interpolation must be one of linear, lower, higher, midpoint or nearest. Got {other}"))),
    };
    // [rows..., Q] -> [Q, reduced...] with the reduced dim kept as 1 when asked
    let q_dim = values.dim() as i64 - 1;
    let mut out = permute(&values, &[q_dim].into_iter().chain(0..q_dim).collect::<Vec<_>>())?;
    let mut reduced: Vec<SymInt> = vec![out.size(0)?];
    match dim {
        None if keepdim => reduced.extend(std::iter::repeat_n(SymInt::from(1), rank as usize)),
        None => {}
        Some(d) => {
            let mut s = x.sizes();
            if !s.is_empty() {
                if keepdim {
                    s[d as usize] = 1.into();
                } else {
                    s.remove(d as usize);
                }
            }
            reduced.extend(s);
        }
    }
    out = reshape_to(&out, &reduced)?;
    if !q_is_vector {
        out = op1(aten::squeeze_dims, vec![Arg::Tensor(out), Arg::Ints(vec![0.into()])])?;
    }
    one(out)
}

/// The dims `torch.gradient` differentiates along: `dim` (one or a list), or every dim.
fn gradient_dims(dim: Option<Vec<i64>>, rank: usize) -> Vec<i64> {
    dim.unwrap_or_else(|| (0..rank as i64).collect())
}

/// The `dim` a `gradient` overload was given, when it has one and it is not None.
fn gradient_dim_arg(args: &ops::Args) -> ops::Result<Option<Vec<i64>>> {
    let given = args.schema().param_index("dim").is_some() && !matches!(args.get("dim"), Ok(Value::None));
    given.then(|| args.int_list("dim")).transpose()
}

fn gradient_meta(call: &mut MetaCall) -> Sizes {
    let x = call.sizes("self")?;
    Ok(gradient_dims(gradient_dim_arg(call.args)?, x.len()).iter().map(|_| x.clone()).collect())
}

/// Each result is the input divided by a spacing: floating point (integers become float32).
fn gradient_dtype(args: &ops::Args) -> ops::Result<Vec<DType>> {
    let x = args.tensor("self")?;
    let dt = if x.dtype().is_float() { x.dtype() } else { DType::F32 };
    Ok(vec![dt; gradient_dims(gradient_dim_arg(args)?, x.dim()).len()])
}

/// `torch.gradient` with uniform spacing, as PyTorch computes it: the central difference
/// `(x[2:] - x[:-2]) / h / 2` inside, one-sided differences of `edge_order` 1 or 2 at the ends.
fn gradient(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let op = c.args.op.clone();
    let x = c.args.tensor("self")?;
    let edge = c.args.int("edge_order")?.hint();
    if edge != 1 && edge != 2 {
        return Err(Error::msg(format!("{op}: torch.gradient only supports edge_order=1 and edge_order=2.")));
    }
    let h = match c.args.get("spacing") {
        Ok(Arg::None) | Err(_) => Arg::Float(1.0),
        Ok(a) => a.clone(),
    };
    let dim = match c.args.get("dim") {
        Ok(Arg::None) | Err(_) => None,
        Ok(_) => Some(c.args.ints("dim")?.iter().map(|d| d.hint()).collect()),
    };
    let rank = x.dim() as i64;
    let mut out = Vec::new();
    for d in gradient_dims(dim, x.dim()) {
        let d = wrap_dim(&op, d, rank)?;
        if x.size(d)?.hint() < edge + 1 {
            return Err(Error::msg(format!("{op}: torch.gradient expected each dimension size to be at least edge_order+1")));
        }
        let part = |a: i64, b: Option<i64>| x.slice(d, Some(a.into()), b.map(SymInt::from));
        let div = |t: Tensor, by: Arg| op1(aten::div_Scalar, vec![Arg::Tensor(t), by]);
        let scaled = |t: Tensor, by: f64| op1(aten::mul_Scalar, vec![Arg::Tensor(t), Arg::Float(by)]);
        let center = div(part(2, None)?.sub(&part(0, Some(-2))?)?, h.clone())?;
        let (first, last) = if edge == 1 {
            (div(part(1, Some(2))?.sub(&part(0, Some(1))?)?, h.clone())?, div(part(-1, None)?.sub(&part(-2, Some(-1))?)?, h.clone())?)
        } else {
            // as PyTorch writes them: (-1.5 x0 + 2 x1) - 0.5 x2 and (0.5 x[-3] - 2 x[-2]) + 1.5 x[-1]
            let first = scaled(part(0, Some(1))?, -1.5)?.add(&scaled(part(1, Some(2))?, 2.0)?)?.sub(&scaled(part(2, Some(3))?, 0.5)?)?;
            let last = scaled(part(-3, Some(-2))?, 0.5)?.sub(&scaled(part(-2, Some(-1))?, 2.0)?)?.add(&scaled(part(-1, None)?, 1.5)?)?;
            (div(first, h.clone())?, div(last, h.clone())?)
        };
        let center = div(center, Arg::Int(2.into()))?;
        out.push(op1(aten::cat, vec![Arg::Tensors(vec![first, center, last]), Arg::Int(d.into())])?);
    }
    Ok(vec![Arg::Tensors(out)])
}
