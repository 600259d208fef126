//! ATen operators that index: advanced indexing (`index`, `index_put`), gathers and scatters
//! along a dim, masks, `nonzero`, embedding lookups, searches and uniques.
//!
//! Every out-of-range index is an error in PyTorch's words ("index 5 is out of bounds for
//! dimension 0 with size 3"), never a panic.

use tensor::shape::wrap_dim;
use tensor::strided::for_each_offset;
use tensor::{with_dtype, Bool8, DType, Element, Tensor};

use super::common::*;
use super::shape::filled;
use crate::registry::Tag::*;
use crate::{Args, Registry, Result, Value};

pub fn register(r: &Registry) {
    let core = &[Core][..];
    let none = &[][..];
    let dynamic = &[Core, DynamicOutputShape][..];
    r.def("aten::index.Tensor(Tensor self, Tensor?[] indices) -> Tensor", core, |a| Ok(index(a.tensor("self")?, &a.opt_tensor_list("indices")?)?.into()));
    r.def("aten::_unsafe_index.Tensor(Tensor self, Tensor?[] indices) -> Tensor", none, |a| Ok(index(a.tensor("self")?, &a.opt_tensor_list("indices")?)?.into()));
    r.def("aten::index_put(Tensor self, Tensor?[] indices, Tensor values, bool accumulate=False) -> Tensor", core, |a| {
        let out = a.tensor("self")?.deep_clone();
        index_put_into(&out, &a.opt_tensor_list("indices")?, a.tensor("values")?, a.bool("accumulate")?)?;
        Ok(out.into())
    });
    r.def("aten::index_put_(Tensor(a!) self, Tensor?[] indices, Tensor values, bool accumulate=False) -> Tensor(a!)", none, |a| {
        let target = a.tensor("self")?;
        index_put_into(target, &a.opt_tensor_list("indices")?, a.tensor("values")?, a.bool("accumulate")?)?;
        Ok(target.clone().into())
    });
    r.def("aten::_unsafe_masked_index(Tensor self, Tensor mask, Tensor?[] indices, Scalar fill) -> Tensor", none, unsafe_masked_index);
    r.def("aten::_unsafe_masked_index_put_accumulate(Tensor self, Tensor mask, Tensor?[] indices, Tensor values) -> Tensor", none, unsafe_masked_index_put);
    r.def("aten::index_select(Tensor self, int dim, Tensor index) -> Tensor", core, index_select);
    r.def("aten::gather(Tensor self, int dim, Tensor index, *, bool sparse_grad=False) -> Tensor", core, gather);
    r.def("aten::scatter.src(Tensor self, int dim, Tensor index, Tensor src) -> Tensor", core, |a| scatter(a, Some("src"), None, Reduce::Assign, true));
    r.def("aten::scatter.value(Tensor self, int dim, Tensor index, Scalar value) -> Tensor", core, |a| scatter(a, None, Some("value"), Reduce::Assign, true));
    r.def("aten::scatter.reduce(Tensor self, int dim, Tensor index, Tensor src, *, str reduce) -> Tensor", none, |a| {
        let red = match a.str("reduce")? {
            "add" => Reduce::Sum,
            "multiply" => Reduce::Prod,
            other => bail!("reduce argument must be either add or multiply, got {other}"),
        };
        scatter(a, Some("src"), None, red, true)
    });
    r.def("aten::scatter_add(Tensor self, int dim, Tensor index, Tensor src) -> Tensor", core, |a| scatter(a, Some("src"), None, Reduce::Sum, true));
    r.def("aten::scatter_reduce.two(Tensor self, int dim, Tensor index, Tensor src, str reduce, *, bool include_self=True) -> Tensor", core, |a| {
        scatter(a, Some("src"), None, Reduce::parse(a.str("reduce")?)?, a.bool("include_self")?)
    });
    r.def("aten::masked_fill.Scalar(Tensor self, Tensor mask, Scalar value) -> Tensor", none, masked_fill);
    r.def("aten::masked_fill.Tensor(Tensor self, Tensor mask, Tensor value) -> Tensor", none, masked_fill);
    r.def("aten::masked_scatter(Tensor self, Tensor mask, Tensor source) -> Tensor", core, masked_scatter);
    r.def("aten::masked_select(Tensor self, Tensor mask) -> Tensor", &[DynamicOutputShape], masked_select);
    r.def("aten::nonzero(Tensor self) -> Tensor", dynamic, |a| Ok(nonzero(a.tensor("self")?)?.into()));
    r.def("aten::nonzero_static(Tensor self, *, SymInt size, int fill_value=-1) -> Tensor", none, nonzero_static);
    r.def("aten::embedding(Tensor weight, Tensor indices, SymInt padding_idx=-1, bool scale_grad_by_freq=False, bool sparse=False) -> Tensor", core, embedding);
    r.def("aten::take(Tensor self, Tensor index) -> Tensor", none, take);
    r.def("aten::put(Tensor self, Tensor index, Tensor source, bool accumulate=False) -> Tensor", none, put);
    r.def("aten::index_add(Tensor self, int dim, Tensor index, Tensor source, *, Scalar alpha=1) -> Tensor", none, |a| index_along(a, IndexOp::Add));
    r.def("aten::index_copy(Tensor self, int dim, Tensor index, Tensor source) -> Tensor", none, |a| index_along(a, IndexOp::Copy));
    r.def("aten::index_fill.int_Scalar(Tensor self, int dim, Tensor index, Scalar value) -> Tensor", none, |a| index_along(a, IndexOp::Fill));
    r.def("aten::index_fill.int_Tensor(Tensor self, int dim, Tensor index, Tensor value) -> Tensor", none, |a| index_along(a, IndexOp::Fill));
    r.def("aten::index_reduce(Tensor self, int dim, Tensor index, Tensor source, str reduce, *, bool include_self=True) -> Tensor", none, |a| {
        index_along(a, IndexOp::Reduce(Reduce::parse(a.str("reduce")?)?))
    });
    r.def("aten::searchsorted.Tensor(Tensor sorted_sequence, Tensor self, *, bool out_int32=False, bool right=False, str? side=None, Tensor? sorter=None) -> Tensor", none, searchsorted);
    r.def("aten::bucketize.Tensor(Tensor self, Tensor boundaries, *, bool out_int32=False, bool right=False) -> Tensor", none, bucketize);
    r.def("aten::isin.Tensor_Tensor(Tensor elements, Tensor test_elements, *, bool assume_unique=False, bool invert=False) -> Tensor", none, isin);
    r.def("aten::unique_consecutive(Tensor self, bool return_inverse=False, bool return_counts=False, int? dim=None) -> (Tensor, Tensor, Tensor)", &[DynamicOutputShape], unique_consecutive);
    r.def("aten::_unique2(Tensor self, bool sorted=True, bool return_inverse=False, bool return_counts=False) -> (Tensor, Tensor, Tensor)", &[DynamicOutputShape], unique2);
    r.def("aten::repeat_interleave.Tensor(Tensor repeats, *, SymInt? output_size=None) -> Tensor", &[DynamicOutputShape], repeat_interleave);
}

fn out_of_bounds(i: i64, dim: usize, size: usize) -> tensor::Error {
    tensor::Error::msg(format!("index {i} is out of bounds for dimension {dim} with size {size}"))
}

/// Wraps a possibly negative index into `0..size`.
fn wrap_index(i: i64, dim: usize, size: usize) -> Result<usize> {
    let w = if i < 0 { i + size as i64 } else { i };
    if w < 0 || w >= size as i64 {
        return Err(out_of_bounds(i, dim, size));
    }
    Ok(w as usize)
}

fn check_index_dtype(t: &Tensor, op: &str) -> Result<()> {
    if t.dtype().is_float() {
        bail!("{op}(): Expected dtype int64 for index, got {}", t.dtype());
    }
    Ok(())
}

// ----- advanced indexing --------------------------------------------------------------------

/// The plan of an advanced-indexing expression `x[indices]`: which dims are indexed, the
/// broadcast index values, and the result layout.
struct IndexPlan {
    /// Storage offsets (into a contiguous `x`) of each indexed position, one per broadcast index.
    base: Vec<usize>,
    /// Offsets of the non-indexed dims, in order.
    rest: Vec<usize>,
    /// The shape of the result as computed: broadcast dims first, then the other dims.
    computed_shape: Vec<usize>,
    /// Where the broadcast dims go in the final result (0 unless indices are adjacent).
    insert_at: usize,
    broadcast_rank: usize,
}

/// Expands bool masks into long indices (a k-dim mask indexes k dims).
fn expand_masks(x: &Tensor, indices: &[Option<Tensor>]) -> Result<Vec<Option<Tensor>>> {
    let mut out = Vec::new();
    let mut d = 0;
    for idx in indices {
        match idx {
            Some(t) if matches!(t.dtype(), DType::Bool | DType::U8) => {
                for k in 0..t.dim() {
                    if d + k >= x.dim() || t.shape()[k] != x.shape()[d + k] {
                        bail!(
                            "The shape of the mask {:?} at index {k} does not match the shape of the indexed tensor {:?} at index {}",
                            t.shape(),
                            x.shape(),
                            d + k
                        );
                    }
                }
                let nz = nonzero(t)?;
                for k in 0..t.dim() {
                    out.push(Some(nz.select(1, k as i64)?.contiguous()));
                }
                d += t.dim().max(1);
            }
            other => {
                if let Some(t) = other {
                    check_index_dtype(t, "index")?;
                }
                out.push(other.clone());
                d += 1;
            }
        }
    }
    Ok(out)
}

fn plan_index(x: &Tensor, indices: &[Option<Tensor>]) -> Result<IndexPlan> {
    let indices = expand_masks(x, indices)?;
    if indices.len() > x.dim() {
        bail!("too many indices for tensor of dimension {} (got {})", x.dim(), indices.len());
    }
    let adv: Vec<usize> = indices.iter().enumerate().filter(|(_, t)| t.is_some()).map(|(i, _)| i).collect();
    let shapes: Vec<&[usize]> = adv.iter().map(|&i| indices[i].as_ref().map(|t| t.shape()).unwrap_or(&[])).collect();
    let bshape = tensor::shape::broadcast_all(&shapes).map_err(|e| tensor::Error::msg(format!("shape mismatch: indexing tensors could not be broadcast together: {e}")))?;
    let bnum: usize = bshape.iter().product();
    let strides = tensor::shape::contiguous_strides(x.shape());
    let mut base = vec![0usize; bnum];
    for &d in &adv {
        let idx = indices[d].as_ref().expect("advanced").broadcast_to(&bshape)?.to_i64_vec();
        for (b, &i) in idx.iter().enumerate() {
            base[b] += wrap_index(i, d, x.shape()[d])? * strides[d] as usize;
        }
    }
    let rest_dims: Vec<usize> = (0..x.dim()).filter(|d| !adv.contains(d)).collect();
    let rest_shape: Vec<usize> = rest_dims.iter().map(|&d| x.shape()[d]).collect();
    let rest_strides: Vec<isize> = rest_dims.iter().map(|&d| strides[d]).collect();
    let mut rest = Vec::with_capacity(rest_shape.iter().product());
    for_each_offset(&rest_shape, &rest_strides, 0, |_, o| rest.push(o));
    let adjacent = adv.windows(2).all(|w| w[1] == w[0] + 1);
    let insert_at = if adjacent { adv.first().copied().unwrap_or(0) } else { 0 };
    let mut computed_shape = bshape.to_vec();
    computed_shape.extend(&rest_shape);
    Ok(IndexPlan { base, rest, computed_shape, insert_at, broadcast_rank: bshape.len() })
}

impl IndexPlan {
    /// The permutation from the computed layout (broadcast dims first) to the result's.
    fn to_result(&self) -> Vec<i64> {
        let n = self.computed_shape.len();
        let b = self.broadcast_rank;
        let mut order: Vec<i64> = Vec::with_capacity(n);
        order.extend((b..b + self.insert_at).map(|d| d as i64));
        order.extend((0..b).map(|d| d as i64));
        order.extend((b + self.insert_at..n).map(|d| d as i64));
        order
    }

    fn from_result(&self) -> Vec<i64> {
        let fwd = self.to_result();
        let mut inv = vec![0i64; fwd.len()];
        for (i, &f) in fwd.iter().enumerate() {
            inv[f as usize] = i as i64;
        }
        inv
    }
}

fn index(x: &Tensor, indices: &[Option<Tensor>]) -> Result<Tensor> {
    let plan = plan_index(x, indices)?;
    let xc = x.contiguous();
    let out = with_dtype!(x.dtype(), T => {
        let mut data: Vec<T> = Vec::with_capacity(plan.base.len() * plan.rest.len());
        xc.with_contiguous::<T, _>(|xs| {
            for &b in &plan.base {
                for &r in &plan.rest {
                    data.push(xs[b + r]);
                }
            }
        });
        Tensor::from_vec(data, &plan.computed_shape)?
    });
    Ok(out.permute(&plan.to_result())?.contiguous())
}

/// `x[indices] = values` (or `+=` with `accumulate`), written into `x`'s storage.
fn index_put_into(x: &Tensor, indices: &[Option<Tensor>], values: &Tensor, accumulate: bool) -> Result<()> {
    let plan = plan_index(x, indices)?;
    let result_shape: Vec<usize> = plan.to_result().iter().map(|&d| plan.computed_shape[d as usize]).collect();
    let v = values
        .broadcast_to(&result_shape)
        .map_err(|_| tensor::Error::msg(format!("shape mismatch: value tensor of shape {:?} cannot be broadcast to indexing result of shape {result_shape:?}", values.shape())))?
        .permute(&plan.from_result())?
        .to_dtype(x.dtype());
    let updated = x.deep_clone();
    with_dtype!(x.dtype(), T => {
        let vals = v.to_vec::<T>();
        let mut buf = updated.to_vec::<T>();
        let mut k = 0;
        for &b in &plan.base {
            for &r in &plan.rest {
                buf[b + r] = if accumulate { add_elems(buf[b + r], vals[k]) } else { vals[k] };
                k += 1;
            }
        }
        x.copy_(&Tensor::from_vec(buf, x.shape())?)?;
    });
    Ok(())
}

/// `a + b` for any element type (bools or, integers wrap, floats in f64).
fn add_elems<T: Element>(a: T, b: T) -> T {
    if T::DTYPE.is_float() {
        T::from_f64(a.to_f64() + b.to_f64())
    } else if T::DTYPE == DType::Bool {
        T::from_bool(a.to_bool() || b.to_bool())
    } else {
        T::from_i64(a.to_i64().wrapping_add(b.to_i64()))
    }
}

fn unsafe_masked_index(a: &Args) -> Result<Value> {
    let (x, mask) = (a.tensor("self")?, a.tensor("mask")?);
    let fill = a.scalar("fill")?;
    // indices under a false mask may be out of range: clamp them before indexing
    let indices: Vec<Option<Tensor>> = a
        .opt_tensor_list("indices")?
        .into_iter()
        .enumerate()
        .map(|(d, t)| t.map(|t| map_i64(&t, DType::I64, move |i| i.clamp(-(x.shape()[d] as i64), x.shape()[d] as i64 - 1))))
        .collect();
    let gathered = index(x, &indices)?;
    let f = filled(&[], fill, x.dtype());
    let r = with_dtype!(x.dtype(), T => tensor::kernels::elementwise::zip3::<Bool8, T, T, T>(&mask.to_dtype(DType::Bool), &gathered, &f, |m, v, z| if m.get() { v } else { z })?);
    Ok(r.into())
}

fn unsafe_masked_index_put(a: &Args) -> Result<Value> {
    let (x, mask, values) = (a.tensor("self")?, a.tensor("mask")?, a.tensor("values")?);
    let indices: Vec<Option<Tensor>> = a
        .opt_tensor_list("indices")?
        .into_iter()
        .enumerate()
        .map(|(d, t)| t.map(|t| map_i64(&t, DType::I64, move |i| i.clamp(-(x.shape()[d] as i64), x.shape()[d] as i64 - 1))))
        .collect();
    let zero = Tensor::zeros(&[], values.dtype());
    let masked = with_dtype!(values.dtype(), T => tensor::kernels::elementwise::zip3::<Bool8, T, T, T>(&mask.to_dtype(DType::Bool), values, &zero, |m, v, z| if m.get() { v } else { z })?);
    let out = x.deep_clone();
    index_put_into(&out, &indices, &masked, true)?;
    Ok(out.into())
}

// ----- gathers and scatters along a dim -----------------------------------------------------

fn index_select(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let idx = a.tensor("index")?;
    check_index_dtype(idx, "index_select")?;
    if idx.dim() > 1 {
        bail!("index_select(): Index is supposed to be a vector");
    }
    let d = wrap_dim(a.int("dim")?, x.dim())?;
    if x.dim() == 0 {
        for &i in &idx.to_i64_vec() {
            wrap_index(i, 0, 1)?;
        }
        return Ok(x.deep_clone().into());
    }
    let mut idxs: Vec<Option<Tensor>> = vec![None; d];
    idxs.push(Some(idx.reshape(&[-1])?));
    let r = index(x, &idxs)?;
    Ok(r.into())
}

/// Iterates the positions of `index` (any shape), yielding (flat position, coordinate vector).
fn for_each_coord(shape: &[usize], mut f: impl FnMut(usize, &[usize]) -> Result<()>) -> Result<()> {
    let n: usize = shape.iter().product();
    let mut coord = vec![0usize; shape.len()];
    for p in 0..n {
        f(p, &coord)?;
        for d in (0..shape.len()).rev() {
            coord[d] += 1;
            if coord[d] < shape[d] {
                break;
            }
            coord[d] = 0;
        }
    }
    Ok(())
}

fn gather(a: &Args) -> Result<Value> {
    let (x, idx) = (a.tensor("self")?, a.tensor("index")?);
    check_index_dtype(idx, "gather")?;
    let d = wrap_dim(a.int("dim")?, x.dim())?;
    if idx.dim() != x.dim() && !(x.dim() == 0 && idx.dim() <= 1) {
        bail!("Index tensor must have the same number of dimensions as input tensor");
    }
    for k in 0..idx.dim() {
        if k != d && idx.shape()[k] > x.shape().get(k).copied().unwrap_or(1) {
            bail!("Size does not match at dimension {k} expected index {:?} to be no larger than self {:?} apart from dimension {d}", idx.shape(), x.shape());
        }
    }
    let iv = idx.to_i64_vec();
    let xs = x.shape().to_vec();
    let strides = tensor::shape::contiguous_strides(&xs);
    let xc = x.contiguous();
    let out = with_dtype!(x.dtype(), T => {
        let src = xc.to_vec::<T>();
        let mut data = Vec::with_capacity(iv.len());
        for_each_coord(idx.shape(), |p, c| {
            let mut off = 0usize;
            for k in 0..c.len() {
                let i = if k == d { wrap_index(iv[p], d, *xs.get(k).unwrap_or(&1))? } else { c[k] };
                off += i * *strides.get(k).unwrap_or(&1) as usize;
            }
            data.push(src[off]);
            Ok(())
        })?;
        Tensor::from_vec(data, idx.shape())?
    });
    Ok(out.into())
}

#[derive(Clone, Copy, PartialEq)]
enum Reduce {
    Assign,
    Sum,
    Prod,
    Mean,
    Amax,
    Amin,
}

impl Reduce {
    fn parse(s: &str) -> Result<Reduce> {
        Ok(match s {
            "sum" => Reduce::Sum,
            "prod" => Reduce::Prod,
            "mean" => Reduce::Mean,
            "amax" => Reduce::Amax,
            "amin" => Reduce::Amin,
            other => bail!("reduce argument must be either sum, prod, mean, amax or amin, got {other}"),
        })
    }
}

/// Applies scattered contributions per destination: `contrib[dst]` lists values in order.
fn combine(start: f64, include_self: bool, vals: &[f64], red: Reduce) -> f64 {
    if vals.is_empty() {
        return start;
    }
    let mut items: Vec<f64> = Vec::with_capacity(vals.len() + 1);
    if include_self || red == Reduce::Assign {
        items.push(start);
    }
    items.extend_from_slice(vals);
    match red {
        Reduce::Assign => *vals.last().expect("non-empty"),
        Reduce::Sum => items.iter().sum(),
        Reduce::Prod => items.iter().product(),
        Reduce::Mean => items.iter().sum::<f64>() / items.len() as f64,
        Reduce::Amax => items.iter().cloned().fold(f64::NEG_INFINITY, |m, v| if v.is_nan() || m.is_nan() { f64::NAN } else { m.max(v) }),
        Reduce::Amin => items.iter().cloned().fold(f64::INFINITY, |m, v| if v.is_nan() || m.is_nan() { f64::NAN } else { m.min(v) }),
    }
}

/// Scatter along `dim`: destinations from `index`, values from `src` (or a scalar `value`).
fn scatter(a: &Args, src_name: Option<&str>, value_name: Option<&str>, red: Reduce, include_self: bool) -> Result<Value> {
    let (x, idx) = (a.tensor("self")?, a.tensor("index")?);
    check_index_dtype(idx, "scatter")?;
    let d = wrap_dim(a.int("dim")?, x.dim())?;
    let src: Option<Tensor> = src_name.map(|n| a.tensor(n).cloned()).transpose()?;
    let value = value_name.map(|n| a.scalar(n)).transpose()?;
    if let Some(s) = &src {
        for k in 0..idx.dim() {
            if idx.shape()[k] > s.shape().get(k).copied().unwrap_or(1) {
                bail!("Expected index {:?} to be smaller than self {:?} apart from dimension {d} and to be smaller size than src {:?}", idx.shape(), x.shape(), s.shape());
            }
        }
    }
    let xs = x.shape().to_vec();
    let xstr = tensor::shape::contiguous_strides(&xs);
    let iv = idx.to_i64_vec();
    let sv = src.as_ref().map(|s| (s.to_f64_vec(), tensor::shape::contiguous_strides(s.shape()), s.to_i64_vec()));
    let n = x.numel();
    let mut contrib: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut contrib_i: Vec<Vec<i64>> = vec![Vec::new(); n];
    for_each_coord(idx.shape(), |p, c| {
        let mut off = 0usize;
        for k in 0..c.len() {
            let i = if k == d { wrap_index(iv[p], d, *xs.get(k).unwrap_or(&1))? } else { c[k] };
            off += i * *xstr.get(k).unwrap_or(&1) as usize;
        }
        match (&sv, value) {
            (Some((f, st, ints)), _) => {
                let so: usize = c.iter().zip(st.iter()).map(|(ci, s)| ci * *s as usize).sum();
                contrib[off].push(f[so]);
                contrib_i[off].push(ints[so]);
            }
            (None, Some(v)) => {
                contrib[off].push(v.to_f64());
                contrib_i[off].push(v.to_i64());
            }
            _ => {}
        }
        Ok(())
    })?;
    let dt = x.dtype();
    if dt.is_float() {
        let base = x.to_f64_vec();
        let out: Vec<f64> = base.iter().zip(&contrib).map(|(&s, c)| combine(s, include_self, c, red)).collect();
        return Ok(Tensor::from_vec(out, x.shape())?.to_dtype(dt).into());
    }
    // integers combine exactly
    let base = x.to_i64_vec();
    let out: Vec<i64> = base
        .iter()
        .zip(&contrib_i)
        .map(|(&s, c)| {
            if c.is_empty() {
                return s;
            }
            let mut items: Vec<i64> = Vec::new();
            if include_self || red == Reduce::Assign {
                items.push(s);
            }
            items.extend_from_slice(c);
            match red {
                Reduce::Assign => *c.last().expect("non-empty"),
                Reduce::Sum => items.iter().fold(0i64, |a, v| a.wrapping_add(*v)),
                Reduce::Prod => items.iter().fold(1i64, |a, v| a.wrapping_mul(*v)),
                Reduce::Mean => items.iter().fold(0i64, |a, v| a.wrapping_add(*v)).div_euclid(items.len() as i64),
                Reduce::Amax => *items.iter().max().expect("non-empty"),
                Reduce::Amin => *items.iter().min().expect("non-empty"),
            }
        })
        .collect();
    Ok(Tensor::from_vec(out, x.shape())?.to_dtype(dt).into())
}

#[derive(Clone, Copy, PartialEq)]
enum IndexOp {
    Add,
    Copy,
    Fill,
    Reduce(Reduce),
}

/// `index_add`/`index_copy`/`index_fill`/`index_reduce`: slices of `dim` chosen by a 1-d index.
fn index_along(a: &Args, op: IndexOp) -> Result<Value> {
    let x = a.tensor("self")?;
    let idx = a.tensor("index")?;
    check_index_dtype(idx, "index")?;
    if idx.dim() > 1 {
        bail!("Index is supposed to be a vector");
    }
    let d = if x.dim() == 0 { 0 } else { wrap_dim(a.int("dim")?, x.dim())? };
    let size = if x.dim() == 0 { 1 } else { x.shape()[d] };
    let iv = idx.to_i64_vec();
    let xv = if x.dim() == 0 { x.reshape(&[1])? } else { x.clone() };
    let out = xv.deep_clone();
    let slice = |t: &Tensor, i: usize| t.narrow(d as i64, i as i64, 1);
    match op {
        IndexOp::Fill => {
            let v = match a.get("value") {
                Value::Tensor(t) => filled(&[], if t.dtype().is_float() { tensor::Scalar::Float(t.item_f64()?) } else { tensor::Scalar::Int(t.item_i64()?) }, x.dtype()),
                other => filled(&[], other.as_scalar().ok_or_else(|| tensor::Error::msg("index_fill value must be a number"))?, x.dtype()),
            };
            for &i in &iv {
                slice(&out, wrap_index(i, d, size)?)?.copy_(&v)?;
            }
        }
        IndexOp::Copy | IndexOp::Add => {
            let src = a.tensor("source")?;
            let src = if src.dim() == 0 { src.reshape(&[1])? } else { src.clone() };
            let alpha = if op == IndexOp::Add { a.scalar("alpha")?.to_f64() } else { 1.0 };
            for (k, &i) in iv.iter().enumerate() {
                let dst = slice(&out, wrap_index(i, d, size)?)?;
                let s = slice(&src, k)?;
                if op == IndexOp::Copy {
                    dst.copy_(&s)?;
                } else {
                    let sum = zip_f64(&dst, &s, x.dtype(), move |p, q| p + alpha * q)?;
                    dst.copy_(&sum)?;
                }
            }
        }
        IndexOp::Reduce(red) => {
            let src = a.tensor("source")?;
            let src = &if src.dim() == 0 { src.reshape(&[1])? } else { src.clone() };
            let include_self = a.bool("include_self")?;
            let mut groups: Vec<Vec<usize>> = vec![Vec::new(); size];
            for (k, &i) in iv.iter().enumerate() {
                groups[wrap_index(i, d, size)?].push(k);
            }
            for (i, ks) in groups.iter().enumerate() {
                if ks.is_empty() {
                    continue;
                }
                let dst = slice(&out, i)?;
                let base = dst.to_f64_vec();
                let contributions: Vec<Vec<f64>> = ks.iter().map(|&k| slice(src, k).map(|t| t.to_f64_vec())).collect::<Result<_>>()?;
                let vals: Vec<f64> = (0..base.len())
                    .map(|p| {
                        let c: Vec<f64> = contributions.iter().map(|v| v[p]).collect();
                        let r = combine(base[p], include_self, &c, red);
                        if red == Reduce::Mean && !x.dtype().is_float() {
                            r.floor()
                        } else {
                            r
                        }
                    })
                    .collect();
                dst.copy_(&Tensor::from_vec(vals, dst.shape())?)?;
            }
        }
    }
    Ok(if x.dim() == 0 { out.reshape(&[])? } else { out }.into())
}

// ----- masks --------------------------------------------------------------------------------

fn masked_fill(a: &Args) -> Result<Value> {
    let (x, mask) = (a.tensor("self")?, a.tensor("mask")?);
    if mask.dtype() != DType::Bool {
        bail!("masked_fill_ only supports boolean masks, but got mask with dtype {}", mask.dtype());
    }
    let v = match a.get("value") {
        Value::Tensor(t) => {
            if t.dim() != 0 {
                bail!("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with {} dimension(s).", t.dim());
            }
            t.to_dtype(x.dtype())
        }
        other => filled(&[], other.as_scalar().ok_or_else(|| tensor::Error::msg("masked_fill value must be a number"))?, x.dtype()),
    };
    let r = with_dtype!(x.dtype(), T => tensor::kernels::elementwise::zip3::<Bool8, T, T, T>(mask, x, &v, |m, p, q| if m.get() { q } else { p })?);
    if r.shape() != x.shape() {
        bail!("masked_fill: the mask {:?} must broadcast to the input {:?}, not enlarge it", mask.shape(), x.shape());
    }
    Ok(r.into())
}

fn masked_scatter(a: &Args) -> Result<Value> {
    let (x, mask, src) = (a.tensor("self")?, a.tensor("mask")?, a.tensor("source")?);
    let shape = tensor::shape::broadcast_shapes(x.shape(), mask.shape())?;
    let m = mask.broadcast_to(&shape)?.to_bool_vec();
    let x = &x.broadcast_to(&shape)?.contiguous();
    let count = m.iter().filter(|b| **b).count();
    if count > src.numel() {
        bail!("masked_scatter: expected source to have at least {count} elements, got {}", src.numel());
    }
    let out = with_dtype!(x.dtype(), T => {
        let mut v = x.to_vec::<T>();
        let s = src.to_vec::<T>();
        let mut k = 0;
        for (o, keep) in v.iter_mut().zip(&m) {
            if *keep {
                *o = s[k];
                k += 1;
            }
        }
        Tensor::from_vec(v, x.shape())?
    });
    Ok(out.into())
}

fn masked_select(a: &Args) -> Result<Value> {
    let (x, mask) = (a.tensor("self")?, a.tensor("mask")?);
    let shape = tensor::shape::broadcast_shapes(x.shape(), mask.shape())?;
    let m = mask.broadcast_to(&shape)?.to_bool_vec();
    let out = with_dtype!(x.dtype(), T => {
        let v = x.broadcast_to(&shape)?.to_vec::<T>();
        let sel: Vec<T> = v.into_iter().zip(&m).filter(|(_, k)| **k).map(|(v, _)| v).collect();
        let n = sel.len();
        Tensor::from_vec(sel, &[n])?
    });
    Ok(out.into())
}

/// Coordinates of the non-zero elements, one row each, in row-major order.
pub fn nonzero(x: &Tensor) -> Result<Tensor> {
    let v = x.to_bool_vec();
    let rank = x.dim();
    let mut rows = Vec::new();
    let mut count = 0;
    for_each_coord(x.shape(), |p, c| {
        if v[p] {
            rows.extend(c.iter().map(|&i| i as i64));
            count += 1;
        }
        Ok(())
    })?;
    if rank == 0 && v.first().copied().unwrap_or(false) {
        return Tensor::from_vec(Vec::<i64>::new(), &[1, 0]);
    }
    Tensor::from_vec(rows, &[count, rank])
}

fn nonzero_static(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let size = a.int("size")?;
    if size < 0 {
        bail!("nonzero_static: 'size' must be an non-negative integer");
    }
    let fill = a.int("fill_value")?;
    let nz = nonzero(x)?;
    let r = x.dim();
    let mut v = nz.to_i64_vec();
    v.truncate(size as usize * r);
    v.resize(size as usize * r, fill);
    Ok(Tensor::from_vec(v, &[size as usize, r])?.into())
}

// ----- lookups and searches -----------------------------------------------------------------

fn embedding(a: &Args) -> Result<Value> {
    let (w, idx) = (a.tensor("weight")?, a.tensor("indices")?);
    check_index_dtype(idx, "embedding")?;
    if w.dim() != 2 {
        bail!("'weight' must be 2-D");
    }
    let flat = idx.reshape(&[-1])?;
    let rows = index(w, &[Some(flat)])?;
    let mut shape: Vec<i64> = idx.shape().iter().map(|&s| s as i64).collect();
    shape.push(w.shape()[1] as i64);
    Ok(rows.reshape(&shape)?.into())
}

fn take(a: &Args) -> Result<Value> {
    let (x, idx) = (a.tensor("self")?, a.tensor("index")?);
    check_index_dtype(idx, "take")?;
    let flat = x.reshape(&[-1])?;
    let n = flat.numel();
    let iv: Vec<i64> = idx.to_i64_vec().into_iter().map(|i| wrap_index(i, 0, n).map(|w| w as i64)).collect::<Result<_>>()?;
    let r = index(&flat, &[Some(Tensor::from_vec(iv, idx.shape())?)])?;
    Ok(r.into())
}

fn put(a: &Args) -> Result<Value> {
    let (x, idx, src) = (a.tensor("self")?, a.tensor("index")?, a.tensor("source")?);
    let out = x.deep_clone();
    let flat = out.reshape(&[-1])?;
    let n = flat.numel();
    let iv: Vec<i64> = idx.to_i64_vec().into_iter().map(|i| wrap_index(i, 0, n).map(|w| w as i64)).collect::<Result<_>>()?;
    let li = Tensor::from_vec(iv.clone(), &[iv.len()])?;
    index_put_into(&flat, &[Some(li)], &src.reshape(&[-1])?, a.bool("accumulate")?)?;
    Ok(out.into())
}

/// Index of the first element of `seq` not ordered before `v` (`right`: first greater).
fn bound(seq: &[f64], v: f64, right: bool) -> usize {
    seq.partition_point(|&s| if right { !(v < s) } else { s < v })
}

fn search(seqs: &Tensor, values: &Tensor, right: bool, out_int32: bool, sorter: Option<&Tensor>) -> Result<Tensor> {
    let inner = *seqs.shape().last().unwrap_or(&0);
    let sv = seqs.to_f64_vec();
    let sorter = sorter.map(|s| s.to_i64_vec());
    let one_seq = seqs.dim() == 1;
    let vals = values.to_f64_vec();
    let per_row = if one_seq { vals.len().max(1) } else { *values.shape().last().unwrap_or(&1) };
    let out: Vec<i64> = vals
        .iter()
        .enumerate()
        .map(|(p, &v)| {
            let row = if one_seq { 0 } else { p / per_row.max(1) };
            let mut seq: Vec<f64> = sv[row * inner..(row + 1) * inner].to_vec();
            if let Some(s) = &sorter {
                seq = s[row * inner..(row + 1) * inner].iter().map(|&i| sv[row * inner + i as usize]).collect();
            }
            bound(&seq, v, right) as i64
        })
        .collect();
    let t = Tensor::from_vec(out, values.shape())?;
    Ok(if out_int32 { t.to_dtype(DType::I32) } else { t })
}

fn searchsorted(a: &Args) -> Result<Value> {
    let (seq, v) = (a.tensor("sorted_sequence")?, a.tensor("self")?);
    let right = a.bool("right")? || a.opt_str("side")? == Some("right");
    Ok(search(seq, v, right, a.bool("out_int32")?, a.opt_tensor("sorter")?)?.into())
}

fn bucketize(a: &Args) -> Result<Value> {
    let (v, b) = (a.tensor("self")?, a.tensor("boundaries")?);
    if b.dim() != 1 {
        bail!("boundaries tensor must be 1 dimension, but got dim({})", b.dim());
    }
    Ok(search(b, v, a.bool("right")?, a.bool("out_int32")?, None)?.into())
}

fn isin(a: &Args) -> Result<Value> {
    let (e, t) = (a.tensor("elements")?, a.tensor("test_elements")?);
    let invert = a.bool("invert")?;
    let tv = t.to_f64_vec();
    Ok(map_bool(e, move |v| tv.contains(&v) != invert).into())
}

fn unique_consecutive(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if a.opt_int("dim")?.is_some() && x.dim() > 1 {
        bail!("unique_consecutive with dim on a multi-dimensional tensor is not supported by pt2 yet");
    }
    let v = x.reshape(&[-1])?;
    let vals = v.to_f64_vec();
    let (mut keep, mut inverse, mut counts) = (Vec::new(), Vec::with_capacity(vals.len()), Vec::new());
    for (i, &val) in vals.iter().enumerate() {
        if i == 0 || val != vals[i - 1] {
            keep.push(i as i64);
            counts.push(0i64);
        }
        *counts.last_mut().expect("pushed") += 1;
        inverse.push(keep.len() as i64 - 1);
    }
    let n = keep.len();
    let uniq = index(&v, &[Some(Tensor::from_vec(keep, &[n])?)])?;
    let inv = if a.bool("return_inverse")? { Tensor::from_vec(inverse, x.shape())? } else { Tensor::zeros(&[0], DType::I64) };
    let cnt = if a.bool("return_counts")? { Tensor::from_vec(counts, &[n])? } else { Tensor::zeros(&[0], DType::I64) };
    Ok((uniq, inv, cnt).into())
}

fn unique2(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let vals = x.to_f64_vec();
    let mut order: Vec<usize> = (0..vals.len()).collect();
    order.sort_by(|&i, &j| vals[i].partial_cmp(&vals[j]).unwrap_or(std::cmp::Ordering::Equal));
    let mut firsts: Vec<i64> = Vec::new();
    let mut inverse = vec![0i64; vals.len()];
    let mut counts: Vec<i64> = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        if k == 0 || vals[i] != vals[order[k - 1]] {
            firsts.push(i as i64);
            counts.push(0);
        }
        *counts.last_mut().expect("pushed") += 1;
        inverse[i] = firsts.len() as i64 - 1;
    }
    let n = firsts.len();
    let flat = x.reshape(&[-1])?;
    let uniq = index(&flat, &[Some(Tensor::from_vec(firsts, &[n])?)])?;
    let inv = if a.bool("return_inverse")? { Tensor::from_vec(inverse, x.shape())? } else { Tensor::zeros(&[0], DType::I64) };
    let cnt = if a.bool("return_counts")? { Tensor::from_vec(counts, &[n])? } else { Tensor::zeros(&[0], DType::I64) };
    Ok((uniq, inv, cnt).into())
}

fn repeat_interleave(a: &Args) -> Result<Value> {
    let r = a.tensor("repeats")?;
    if r.dim() > 1 {
        bail!("repeat_interleave only accept 1D vector as repeat");
    }
    let reps = r.to_i64_vec();
    if reps.iter().any(|&v| v < 0) {
        bail!("repeats can not be negative");
    }
    let out: Vec<i64> = reps.iter().enumerate().flat_map(|(i, &n)| std::iter::repeat_n(i as i64, n as usize)).collect();
    let n = out.len();
    if let Some(size) = a.opt_int("output_size")? {
        if size as usize != n {
            bail!("repeat_interleave: output_size {size} does not match the sum of repeats {n}");
        }
    }
    Ok(Tensor::from_vec(out, &[n])?.to_dtype(r.dtype()).into())
}
