//! ATen operators: index family (advanced indexing, gather/scatter, masked ops, searching,
//! uniqueness and the `*_scatter` view-inverse ops).
//!
//! Every op reduces to two primitives over contiguous element buffers: [`gather_flat`] (read
//! elements at flat offsets) and [`scatter_flat`] (write or reduce elements into flat offsets of
//! a copy of a base tensor). The ops differ only in how they compute the offsets.

use crate::dtype::{self, DtypeRule};
use crate::meta;
use tensor::shape::{broadcast_all, contiguous_strides, wrap_dim};
use std::cmp::Ordering;

use tensor::{promote_types, with_dtype, Bool8, DType, Element, Tensor};

use super::common::*;
use super::complex;
use crate::registry::Tag::*;
use crate::{Args, Registry, Result, Value};

pub fn register(r: &Registry) {
    r.def_meta("aten::index.Tensor(Tensor self, Tensor?[] indices) -> Tensor", &[Core, DynamicOutputShape], meta::index, index_tensor).any_dtype();
    r.def_meta("aten::index_put(Tensor self, Tensor?[] indices, Tensor values, bool accumulate=False) -> Tensor", &[Core], meta::same_as_self, index_put).complex();
    r.def_meta("aten::index_put_(Tensor(a!) self, Tensor?[] indices, Tensor values, bool accumulate=False) -> Tensor(a!)", &[], meta::same_as_self, index_put_inplace);
    r.def("aten::_unsafe_masked_index(Tensor self, Tensor mask, Tensor?[] indices, Scalar fill) -> Tensor", &[], unsafe_masked_index);
    r.def(
        "aten::_unsafe_masked_index_put_accumulate(Tensor self, Tensor mask, Tensor?[] indices, Tensor values) -> Tensor",
        &[],
        unsafe_masked_index_put_accumulate,
    )
    .complex();
    r.def_meta("aten::index_select(Tensor self, int dim, Tensor index) -> Tensor", &[Core], meta::index_select, index_select).any_dtype();
    r.def_meta("aten::index_add(Tensor self, int dim, Tensor index, Tensor source, *, Scalar alpha=1) -> Tensor", &[], meta::same_as_self, index_add).complex();
    r.def_meta("aten::index_copy(Tensor self, int dim, Tensor index, Tensor source) -> Tensor", &[], meta::same_as_self, index_copy).any_dtype();
    r.def_meta("aten::index_fill.int_Scalar(Tensor self, int dim, Tensor index, Scalar value) -> Tensor", &[], meta::same_as_self, index_fill);
    r.def_meta("aten::index_fill.int_Tensor(Tensor self, int dim, Tensor index, Tensor value) -> Tensor", &[], meta::same_as_self, index_fill).any_dtype();
    r.def(
        "aten::index_reduce(Tensor self, int dim, Tensor index, Tensor source, str reduce, *, bool include_self=True) -> Tensor",
        &[],
        index_reduce,
    );
    r.def_meta("aten::gather(Tensor self, int dim, Tensor index, *, bool sparse_grad=False) -> Tensor", &[Core], meta::gather, gather).any_dtype();
    r.def_meta("aten::scatter.src(Tensor self, int dim, Tensor index, Tensor src) -> Tensor", &[Core], meta::same_as_self, scatter).any_dtype();
    r.def_meta("aten::scatter.value(Tensor self, int dim, Tensor index, Scalar value) -> Tensor", &[Core], meta::same_as_self, scatter);
    r.def_meta("aten::scatter.reduce(Tensor self, int dim, Tensor index, Tensor src, *, str reduce) -> Tensor", &[], meta::same_as_self, scatter);
    r.def_meta("aten::scatter_add(Tensor self, int dim, Tensor index, Tensor src) -> Tensor", &[Core], meta::same_as_self, scatter_add).complex();
    r.def_meta(
        "aten::scatter_reduce.two(Tensor self, int dim, Tensor index, Tensor src, str reduce, *, bool include_self=True) -> Tensor",
        &[Core],
        meta::same_as_self,
        scatter_reduce,
    );
    r.def("aten::masked_fill.Scalar(Tensor self, Tensor mask, Scalar value) -> Tensor", &[Pointwise], masked_fill).any_dtype();
    r.def_meta("aten::masked_fill.Tensor(Tensor self, Tensor mask, Tensor value) -> Tensor", &[], meta::same_as_self, masked_fill);
    r.def_meta("aten::masked_scatter(Tensor self, Tensor mask, Tensor source) -> Tensor", &[Core], meta::masked_scatter, masked_scatter).any_dtype();
    r.def_meta("aten::masked_select(Tensor self, Tensor mask) -> Tensor", &[DynamicOutputShape], meta::masked_select, masked_select).any_dtype();
    r.def_meta("aten::nonzero(Tensor self) -> Tensor", &[Core, DynamicOutputShape], meta::nonzero, nonzero).any_dtype().dtype(DtypeRule::Long);
    r.def("aten::nonzero_static(Tensor self, *, SymInt size, int fill_value=-1) -> Tensor", &[], nonzero_static).dtype(DtypeRule::Long);
    r.def_meta("aten::take(Tensor self, Tensor index) -> Tensor", &[], meta::sizes_of_index, take).any_dtype();
    r.def_meta("aten::put(Tensor self, Tensor index, Tensor source, bool accumulate=False) -> Tensor", &[], meta::same_as_self, put).complex();
    r.def_meta(
        "aten::embedding(Tensor weight, Tensor indices, SymInt padding_idx=-1, bool scale_grad_by_freq=False, bool sparse=False) -> Tensor",
        &[Core], meta::embedding,
        embedding,
    );
    r.def(
        "aten::embedding_dense_backward(Tensor grad_output, Tensor indices, SymInt num_weights, SymInt padding_idx, bool scale_grad_by_freq) -> Tensor",
        &[Core],
        embedding_dense_backward,
    );
    r.def_meta(
        "aten::searchsorted.Tensor(Tensor sorted_sequence, Tensor self, *, bool out_int32=False, bool right=False, str? side=None, Tensor? sorter=None) -> Tensor",
        &[],
        meta::same_as_self,
        searchsorted,
    )
    .dtype(DtypeRule::Custom(dtype::bucket_indices));
    r.def_meta("aten::bucketize.Tensor(Tensor self, Tensor boundaries, *, bool out_int32=False, bool right=False) -> Tensor", &[], meta::same_as_self, bucketize)
        .dtype(DtypeRule::Custom(dtype::bucket_indices));
    r.def_meta(
        "aten::isin.Tensor_Tensor(Tensor elements, Tensor test_elements, *, bool assume_unique=False, bool invert=False) -> Tensor",
        &[],
        meta::sizes_of_elements,
        isin,
    )
    .dtype(DtypeRule::Bool);
    r.def("aten::isinf(Tensor self) -> Tensor", &[Core, Pointwise], isinf).complex().dtype(DtypeRule::Bool);
    r.def(
        "aten::unique_consecutive(Tensor self, bool return_inverse=False, bool return_counts=False, int? dim=None) -> (Tensor, Tensor, Tensor)",
        &[DynamicOutputShape],
        unique_consecutive,
    )
    .wide_unsigned();
    r.def(
        "aten::_unique2(Tensor self, bool sorted=True, bool return_inverse=False, bool return_counts=False) -> (Tensor, Tensor, Tensor)",
        &[DynamicOutputShape],
        unique2,
    )
    .wide_unsigned();
    r.def(
        "aten::segment_reduce(Tensor data, str reduce, *, Tensor? lengths=None, Tensor? indices=None, Tensor? offsets=None, int axis=0, bool unsafe=False, Scalar? initial=None) -> Tensor",
        &[],
        segment_reduce,
    );
    r.def("aten::repeat_interleave.Tensor(Tensor repeats, *, SymInt? output_size=None) -> Tensor", &[DynamicOutputShape], repeat_interleave);
    // a scatter's result has the sizes of the tensor scattered into
    r.def_meta(
        "aten::as_strided_scatter(Tensor self, Tensor src, SymInt[] size, SymInt[] stride, SymInt? storage_offset=None) -> Tensor",
        &[],
        meta::same_as_self,
        as_strided_scatter,
    ).any_dtype();
    r.def_meta("aten::diagonal_scatter(Tensor self, Tensor src, int offset=0, int dim1=0, int dim2=1) -> Tensor", &[], meta::same_as_self, diagonal_scatter).any_dtype();
    r.def_meta("aten::select_scatter(Tensor self, Tensor src, int dim, SymInt index) -> Tensor", &[Core], meta::same_as_self, select_scatter).any_dtype();
    r.def_meta(
        "aten::slice_scatter(Tensor self, Tensor src, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1) -> Tensor",
        &[Core],
        meta::same_as_self,
        slice_scatter,
    ).any_dtype();
}

// ----- primitives ------------------------------------------------------------------------------

/// The elements of `x` (read in logical order) at flat `offsets`, as a tensor of `shape`.
fn gather_flat(x: &Tensor, offsets: &[usize], shape: &[usize]) -> Result<Tensor> {
    with_dtype!(x.dtype(), T => {
        // Borrows a contiguous input instead of copying all of it.
        let out: Vec<T> = x.with_contiguous::<T, _>(|v| offsets.iter().map(|&o| v[o]).collect());
        Tensor::from_vec(out, shape)
    })
}

/// How `scatter_flat` combines a source element with the destination.
#[derive(Clone, Copy, PartialEq, Debug)]
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
            _ => bail!("reduce argument must be either sum, prod, mean, amax or amin, got {s}"),
        })
    }
}

/// Arithmetic of the accumulation types (f64 for floats, wrapping i64 for integers and bool).
trait Acc: Element {
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn maximum(self, o: Self) -> Self;
    fn minimum(self, o: Self) -> Self;
    fn div_count(self, n: i64) -> Self;
    fn identity(r: Reduce) -> Self;
}

impl Acc for f64 {
    fn add(self, o: f64) -> f64 {
        self + o
    }
    fn mul(self, o: f64) -> f64 {
        self * o
    }
    // NaN propagates through max/min as in PyTorch's scatter kernels.
    fn maximum(self, o: f64) -> f64 {
        if self.is_nan() || o.is_nan() {
            f64::NAN
        } else {
            self.max(o)
        }
    }
    fn minimum(self, o: f64) -> f64 {
        if self.is_nan() || o.is_nan() {
            f64::NAN
        } else {
            self.min(o)
        }
    }
    fn div_count(self, n: i64) -> f64 {
        self / n as f64
    }
    fn identity(r: Reduce) -> f64 {
        match r {
            Reduce::Prod => 1.0,
            Reduce::Amax => f64::NEG_INFINITY,
            Reduce::Amin => f64::INFINITY,
            _ => 0.0,
        }
    }
}

impl Acc for f32 {
    fn add(self, o: f32) -> f32 {
        self + o
    }
    fn mul(self, o: f32) -> f32 {
        self * o
    }
    fn maximum(self, o: f32) -> f32 {
        if self.is_nan() || o.is_nan() {
            f32::NAN
        } else {
            self.max(o)
        }
    }
    fn minimum(self, o: f32) -> f32 {
        if self.is_nan() || o.is_nan() {
            f32::NAN
        } else {
            self.min(o)
        }
    }
    fn div_count(self, n: i64) -> f32 {
        self / n as f32
    }
    fn identity(r: Reduce) -> f32 {
        f64::identity(r) as f32
    }
}

impl Acc for i64 {
    fn add(self, o: i64) -> i64 {
        self.wrapping_add(o)
    }
    fn mul(self, o: i64) -> i64 {
        self.wrapping_mul(o)
    }
    fn maximum(self, o: i64) -> i64 {
        self.max(o)
    }
    fn minimum(self, o: i64) -> i64 {
        self.min(o)
    }
    /// Integer means round toward negative infinity (`div_(count, rounding_mode='floor')`).
    fn div_count(self, n: i64) -> i64 {
        self.div_euclid(n) // counts are positive, so Euclidean division is floor division
    }
    fn identity(r: Reduce) -> i64 {
        match r {
            Reduce::Prod => 1,
            Reduce::Amax => i64::MIN,
            Reduce::Amin => i64::MAX,
            _ => 0,
        }
    }
}

/// Reduces `src[s]` into `out[d]` for every `(d, s)` pair, in order.
fn accumulate<C: Acc>(out: &mut [C], src: &[C], pairs: &[(usize, usize)], red: Reduce, include_self: bool) {
    let mut counts: Vec<i64> = Vec::new();
    if red == Reduce::Mean || !include_self {
        counts = vec![if include_self { 1 } else { 0 }; out.len()];
    }
    for &(d, s) in pairs {
        let v = src[s];
        if !include_self && counts[d] == 0 {
            out[d] = C::identity(red);
        }
        if !counts.is_empty() {
            counts[d] += 1;
        }
        out[d] = match red {
            Reduce::Assign => v,
            Reduce::Sum | Reduce::Mean => out[d].add(v),
            Reduce::Prod => out[d].mul(v),
            Reduce::Amax => out[d].maximum(v),
            Reduce::Amin => out[d].minimum(v),
        };
    }
    if red == Reduce::Mean {
        for (o, &c) in out.iter_mut().zip(&counts) {
            if c > 1 || (!include_self && c > 0) {
                *o = o.div_count(c);
            }
        }
    }
}

/// A contiguous copy of `base` where `src[s]` (cast to `base`'s dtype) is reduced into flat
/// offset `d` for every pair `(d, s)`.
fn scatter_flat(base: &Tensor, src: &Tensor, pairs: &[(usize, usize)], red: Reduce, include_self: bool) -> Result<Tensor> {
    let dt = base.dtype();
    let src = src.to_dtype(dt);
    if red == Reduce::Assign {
        return with_dtype!(dt, T => {
            let mut out = base.to_vec::<T>();
            let s = src.to_vec::<T>();
            for &(d, i) in pairs {
                out[d] = s[i];
            }
            Tensor::from_vec(out, base.shape())
        });
    }
    if dt.is_complex() {
        return match red {
            Reduce::Sum => complex::scatter_add(base, &src, pairs),
            _ => bail!("reducing {dt} values with reduce='{}' is not supported by pt2 (only sums accumulate complex values)", format!("{red:?}").to_lowercase()),
        };
    }
    // Floats accumulate in their compute dtype (f32 for f32/f16/bf16) as PyTorch's kernels do.
    let r = if dt == DType::F64 {
        let mut out = base.to_vec::<f64>();
        accumulate(&mut out, &src.to_vec::<f64>(), pairs, red, include_self);
        Tensor::from_vec(out, base.shape())?
    } else if dt.is_float() {
        let mut out = base.to_vec::<f32>();
        accumulate(&mut out, &src.to_vec::<f32>(), pairs, red, include_self);
        Tensor::from_vec(out, base.shape())?
    } else {
        let mut out = base.to_vec::<i64>();
        accumulate(&mut out, &src.to_vec::<i64>(), pairs, red, include_self);
        Tensor::from_vec(out, base.shape())?
    };
    Ok(r.to_dtype(dt))
}

/// The values of an index tensor of `op`, which must be int64 or int32.
fn index_values(t: &Tensor, op: &str) -> Result<Vec<i64>> {
    if t.dtype() != DType::I64 && t.dtype() != DType::I32 {
        bail!("{op}: Expected dtype int32/int64 for index, but got {:?}", t.dtype());
    }
    Ok(t.to_i64_vec())
}

/// The values of an index tensor of an op that only takes int64 (take, put, index_copy, index_fill).
fn long_index_values(t: &Tensor, op: &str) -> Result<Vec<i64>> {
    if t.dtype() != DType::I64 {
        bail!("{op}: Expected dtype int64 for index, but got {:?}", t.dtype());
    }
    Ok(t.to_i64_vec())
}

/// Wraps a negative index and checks its range.
fn wrap_index(i: i64, size: usize, dim: usize) -> Result<usize> {
    let w = if i < 0 { i + size as i64 } else { i };
    if w < 0 || w >= size as i64 {
        bail!("index {i} is out of bounds for dimension {dim} with size {size}");
    }
    Ok(w as usize)
}

/// Checks a non-wrapping index (gather/scatter/index_add reject negative values).
fn check_index(i: i64, size: usize, dim: usize) -> Result<usize> {
    if i < 0 || i >= size as i64 {
        bail!("index {i} is out of bounds for dimension {dim} with size {size}");
    }
    Ok(i as usize)
}

/// Flat offsets of the row-major enumeration of `dims` of a tensor with `shape`/`strides`.
fn dim_offsets(shape: &[usize], strides: &[usize], dims: &[usize]) -> Vec<usize> {
    let mut offs = vec![0usize];
    for &d in dims {
        let mut next = Vec::with_capacity(offs.len() * shape[d]);
        for &o in &offs {
            for k in 0..shape[d] {
                next.push(o + k * strides[d]);
            }
        }
        offs = next;
    }
    offs
}

fn to_i64s(s: &[usize]) -> Vec<i64> {
    s.iter().map(|&v| v as i64).collect()
}

/// The coordinates (row-major, one row per element) of the true elements of a bool view.
fn true_coords(mask: &[bool], shape: &[usize]) -> Vec<Vec<i64>> {
    let strides = contiguous_strides(shape);
    mask.iter()
        .enumerate()
        .filter(|(_, &m)| m)
        .map(|(i, _)| shape.iter().zip(strides.iter()).map(|(&s, &st)| ((i / st as usize) % s.max(1)) as i64).collect())
        .collect()
}

// ----- advanced indexing ------------------------------------------------------------------------

/// Result shape and flat source offsets (into contiguous `shape`) of `x[indices]`.
///
/// Bool masks become one long index per masked dim; the index tensors broadcast together; when
/// the indexed dims are adjacent the broadcast dims replace them in place, otherwise they move
/// to the front of the result. `clamp` clamps indices into range (`_unsafe_masked_index`).
fn advanced_index(shape: &[usize], indices: &[Option<Tensor>], clamp: bool) -> Result<(Vec<usize>, Vec<usize>)> {
    let ndim = shape.len();
    let mut expanded: Vec<Option<Tensor>> = Vec::new();
    for idx in indices {
        match idx {
            Some(t) if t.dtype() == DType::Bool || t.dtype() == DType::U8 => {
                let pos = expanded.len();
                for (j, &s) in t.shape().iter().enumerate() {
                    if pos + j >= ndim || shape[pos + j] != s {
                        bail!(
                            "The shape of the mask {:?} at index {j} does not match the shape of the indexed tensor {:?} at index {}",
                            t.shape(),
                            shape,
                            pos + j
                        );
                    }
                }
                let coords = true_coords(&t.to_bool_vec(), t.shape());
                for j in 0..t.dim() {
                    let col: Vec<i64> = coords.iter().map(|c| c[j]).collect();
                    let n = col.len();
                    expanded.push(Some(Tensor::from_vec(col, &[n])?));
                }
            }
            Some(t) if t.dtype() != DType::I64 && t.dtype() != DType::I32 => bail!("tensors used as indices must be long, int, byte or bool tensors"),
            other => expanded.push(other.clone()),
        }
    }
    if expanded.len() > ndim {
        bail!("too many indices for tensor of dimension {ndim} (got {})", expanded.len());
    }
    expanded.resize(ndim, None);
    let adv: Vec<usize> = (0..ndim).filter(|&d| expanded[d].is_some()).collect();
    let strides = contiguous_strides(shape).iter().map(|&s| s as usize).collect::<Vec<_>>();
    if adv.is_empty() {
        let all: Vec<usize> = (0..ndim).collect();
        return Ok((shape.to_vec(), dim_offsets(shape, &strides, &all)));
    }
    let adv_tensors: Vec<&Tensor> = adv.iter().filter_map(|&d| expanded[d].as_ref()).collect();
    let bshape = broadcast_all(&adv_tensors.iter().map(|t| t.shape()).collect::<Vec<_>>())?.to_vec();
    let nb: usize = bshape.iter().product();
    let mut adv_off = vec![0usize; nb];
    for (&d, t) in adv.iter().zip(&adv_tensors) {
        let vals = t.broadcast_to(&bshape)?.to_i64_vec();
        for (o, &i) in adv_off.iter_mut().zip(&vals) {
            let i = if clamp { i.clamp(-(shape[d] as i64), shape[d] as i64 - 1) } else { i };
            *o += wrap_index(i, shape[d], d)? * strides[d];
        }
    }
    let adjacent = adv.windows(2).all(|w| w[1] == w[0] + 1);
    let rest: Vec<usize> = (0..ndim).filter(|d| !adv.contains(d)).collect();
    let (pre, post): (Vec<usize>, Vec<usize>) =
        if adjacent { rest.iter().partition(|&&d| d < adv[0]) } else { (Vec::new(), rest) };
    let mut out_shape: Vec<usize> = pre.iter().map(|&d| shape[d]).collect();
    out_shape.extend(&bshape);
    out_shape.extend(post.iter().map(|&d| shape[d]));
    let (pre_off, post_off) = (dim_offsets(shape, &strides, &pre), dim_offsets(shape, &strides, &post));
    let mut offsets = Vec::with_capacity(pre_off.len() * nb * post_off.len());
    for &p in &pre_off {
        for &a in &adv_off {
            offsets.extend(post_off.iter().map(|&q| p + a + q));
        }
    }
    Ok((out_shape, offsets))
}

fn index_tensor(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let (shape, offs) = advanced_index(x.shape(), &a.opt_tensor_list("indices")?, false)?;
    Ok(gather_flat(x, &offs, &shape)?.into())
}

/// `x.index_put(indices, values, accumulate)` out of place.
fn index_put_impl(x: &Tensor, indices: &[Option<Tensor>], values: &Tensor, accumulate: bool, clamp: bool) -> Result<Tensor> {
    if values.dtype() != x.dtype() {
        bail!(
            "Index put requires the source and destination dtypes match, got {:?} for the destination and {:?} for the source.",
            x.dtype(),
            values.dtype()
        );
    }
    let (shape, offs) = advanced_index(x.shape(), indices, clamp)?;
    let v = values.broadcast_to(&shape).map_err(|_| {
        tensor::Error::msg(format!(
            "shape mismatch: value tensor of shape {:?} cannot be broadcast to indexing result of shape {:?}",
            values.shape(),
            shape
        ))
    })?;
    let pairs: Vec<(usize, usize)> = offs.into_iter().enumerate().map(|(i, d)| (d, i)).collect();
    scatter_flat(x, &v, &pairs, if accumulate { Reduce::Sum } else { Reduce::Assign }, true)
}

fn index_put(a: &Args) -> Result<Value> {
    let r = index_put_impl(a.tensor("self")?, &a.opt_tensor_list("indices")?, a.tensor("values")?, a.bool("accumulate")?, false)?;
    Ok(r.into())
}

fn index_put_inplace(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let r = index_put_impl(x, &a.opt_tensor_list("indices")?, a.tensor("values")?, a.bool("accumulate")?, false)?;
    x.copy_(&r)?;
    Ok(x.clone().into())
}

/// `where(mask, self[clamped indices], fill)`.
fn unsafe_masked_index(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let mask = a.tensor("mask")?;
    let (shape, offs) = advanced_index(x.shape(), &a.opt_tensor_list("indices")?, true)?;
    let picked = gather_flat(x, &offs, &shape)?;
    let fill = scalar_tensor(a.scalar("fill")?, x.dtype())?;
    Ok(select_where(mask, &picked, &fill)?.into())
}

/// `self.index_put(clamped indices, values.masked_fill(~mask, 0), accumulate=True)`.
fn unsafe_masked_index_put_accumulate(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let mask = a.tensor("mask")?;
    let values = a.tensor("values")?;
    let zero = Tensor::zeros(&[], values.dtype());
    let masked = select_where(mask, values, &zero)?;
    Ok(index_put_impl(x, &a.opt_tensor_list("indices")?, &masked, true, true)?.into())
}

/// `where(mask, a, b)` with broadcasting, keeping `a`'s dtype.
fn select_where(mask: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let shape = broadcast_all(&[mask.shape(), a.shape(), b.shape()])?.to_vec();
    let m = mask.broadcast_to(&shape)?.to_bool_vec();
    with_dtype!(a.dtype(), T => {
        let av = a.broadcast_to(&shape)?.to_vec::<T>();
        let bv = b.broadcast_to(&shape)?.to_vec::<T>();
        let out: Vec<T> = m.iter().zip(av.iter().zip(&bv)).map(|(&m, (&x, &y))| if m { x } else { y }).collect();
        Tensor::from_vec(out, &shape)
    })
}

// ----- dim-wise index ops (index_select / index_add / index_copy / index_fill / index_reduce) ---

/// The tensor's shape, with a 0-dim tensor seen as `[1]` (PyTorch treats scalars as 1-D here).
fn shape1(t: &Tensor) -> Vec<usize> {
    if t.dim() == 0 {
        vec![1]
    } else {
        t.shape().to_vec()
    }
}

/// `(outer, size, inner)` of `shape` around `dim`.
fn split_at_dim(shape: &[usize], dim: usize) -> (usize, usize, usize) {
    (shape[..dim].iter().product(), shape[dim], shape[dim + 1..].iter().product())
}

/// Pairs `(self offset, source offset)` moving slice `i` of the source along `dim` to slice
/// `index[i]` of self, for tensors of `self_shape` / `src_shape` equal except at `dim`.
fn slice_pairs(self_shape: &[usize], dim: usize, index: &[usize], src_len: usize) -> Vec<(usize, usize)> {
    let (outer, size, inner) = split_at_dim(self_shape, dim);
    let mut pairs = Vec::with_capacity(outer * index.len() * inner);
    for o in 0..outer {
        for (i, &k) in index.iter().enumerate() {
            let (d0, s0) = ((o * size + k) * inner, (o * src_len + i) * inner);
            pairs.extend((0..inner).map(|j| (d0 + j, s0 + j)));
        }
    }
    pairs
}

/// The dim and checked index values of an `index_*` op; `wrap` accepts negative indices.
/// `op` names the op in errors; index_copy and index_fill take only int64 indices (`op` ends in
/// `_`), the others int32 too.
fn dim_index(a: &Args, x: &Tensor, wrap: bool, op: &str) -> Result<(usize, Vec<usize>)> {
    let shape = shape1(x);
    let dim = wrap_dim(a.int("dim")?, shape.len())?;
    let index = a.tensor("index")?;
    if index.dim() > 1 {
        bail!("index_select(): Index is supposed to be a vector");
    }
    let vals = if op.ends_with("_()") { long_index_values(index, op)? } else { index_values(index, op)? };
    let idx = vals
        .iter()
        .map(|&i| if wrap { wrap_index(i, shape[dim], dim) } else { check_index(i, shape[dim], dim) })
        .collect::<Result<Vec<_>>>()?;
    Ok((dim, idx))
}

fn index_select(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let (dim, idx) = dim_index(a, x, false, "index_select()")?;
    let shape = shape1(x);
    let mut out_shape = shape.clone();
    out_shape[dim] = idx.len();
    // Output slice i along `dim` is source slice idx[i]: for each position before `dim`, one
    // run of `inner` contiguous elements per index, copied whole (a roll, an embedding lookup)
    let (n, inner) = (shape[dim], shape[dim + 1..].iter().product::<usize>());
    let r = with_dtype!(x.dtype(), T => {
        let mut out = tensor::alloc::tensor_vec(T::default(), &out_shape);
        x.with_contiguous::<T, _>(|xs| {
            if inner > 0 && !idx.is_empty() {
                for (o, dst) in out.chunks_mut(idx.len() * inner).enumerate() {
                    let src = &xs[o * n * inner..(o + 1) * n * inner];
                    for (d, &i) in dst.chunks_mut(inner).zip(&idx) {
                        d.copy_from_slice(&src[i * inner..(i + 1) * inner]);
                    }
                }
            }
        });
        Tensor::from_vec(out, &out_shape)?
    });
    Ok(if x.dim() == 0 { r.reshape(&[])? } else { r }.into())
}

/// Checks that `source` has `self`'s shape except `index_len` at `dim`.
fn check_source(x_shape: &[usize], src: &Tensor, dim: usize, index_len: usize, op: &str) -> Result<()> {
    let s = shape1(src);
    let ok = s.len() == x_shape.len() && s.iter().zip(x_shape).enumerate().all(|(d, (&a, &b))| if d == dim { a == index_len } else { a == b });
    if !ok {
        bail!("{op}: source shape {:?} does not match self shape {:?} with {index_len} indices along dim {dim}", src.shape(), x_shape);
    }
    Ok(())
}

/// Shared body of index_add / index_copy / index_reduce.
fn index_scatter(a: &Args, source: &Tensor, red: Reduce, include_self: bool, op: &str) -> Result<Tensor> {
    let x = a.tensor("self")?;
    let (dim, idx) = dim_index(a, x, false, op)?;
    let shape = shape1(x);
    check_source(&shape, source, dim, idx.len(), op)?;
    let pairs = slice_pairs(&shape, dim, &idx, idx.len());
    let r = scatter_flat(&x.reshape(&to_i64s(&shape))?, source, &pairs, red, include_self)?;
    r.reshape(&to_i64s(x.shape()))
}

fn index_add(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let src = a.tensor("source")?;
    let alpha = a.scalar("alpha")?;
    let scaled = if alpha.to_f64() == 1.0 {
        src.clone()
    } else if x.dtype().is_complex() {
        let al = alpha.to_f64();
        complex::map(src, x.dtype(), move |z| z * al)
    } else if x.dtype().is_float() {
        let al = alpha.to_f64();
        map_f64(src, x.dtype(), |v| v * al)
    } else {
        let al = alpha.to_i64();
        map_i64(src, x.dtype(), |v| v.wrapping_mul(al))
    };
    Ok(index_scatter(a, &scaled, Reduce::Sum, true, "index_add()")?.into())
}

fn index_copy(a: &Args) -> Result<Value> {
    Ok(index_scatter(a, a.tensor("source")?, Reduce::Assign, true, "index_copy_()")?.into())
}

fn index_reduce(a: &Args) -> Result<Value> {
    let red = match a.str("reduce")? {
        r @ ("prod" | "mean" | "amax" | "amin") => Reduce::parse(r)?,
        r => bail!("index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {r}."),
    };
    Ok(index_scatter(a, a.tensor("source")?, red, a.bool("include_self")?, "index_reduce()")?.into())
}

fn index_fill(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let value = match a.get("value")? {
        Value::Tensor(t) => {
            if t.dim() != 0 {
                bail!("index_fill_ only supports a 0-dimensional value tensor, but got tensor with {} dimension(s).", t.dim());
            }
            t.to_dtype(x.dtype())
        }
        _ => scalar_tensor(a.scalar("value")?, x.dtype())?,
    };
    let (dim, idx) = dim_index(a, x, true, "index_fill_()")?;
    let shape = shape1(x);
    let pairs: Vec<(usize, usize)> = slice_pairs(&shape, dim, &idx, idx.len()).into_iter().map(|(d, _)| (d, 0)).collect();
    let r = scatter_flat(&x.reshape(&to_i64s(&shape))?, &value.reshape(&[1])?, &pairs, Reduce::Assign, true)?;
    Ok(r.reshape(&to_i64s(x.shape()))?.into())
}

// ----- gather / scatter ------------------------------------------------------------------------

/// For every element of `index` (row-major): the flat offset into contiguous `target` with
/// coordinate `dim` replaced by the index value, and the flat offset of the same coordinate in
/// contiguous `other`. Sizes follow gather/scatter's rule: `index.size(d) <= target.size(d)` for
/// `d != dim` and `index.size(d) <= other.size(d)` for all `d`.
fn dim_index_pairs(index: &Tensor, dim: usize, target: &[usize], other: &[usize], op: &str) -> Result<Vec<(usize, usize)>> {
    let ishape = shape1(index);
    if ishape.len() != target.len() {
        bail!("Index tensor must have the same number of dimensions as input tensor");
    }
    if ishape.len() != other.len() {
        bail!("Index tensor must have the same number of dimensions as src tensor");
    }
    for d in 0..ishape.len() {
        if d != dim && ishape[d] > target[d] {
            bail!("Size does not match at dimension {d} expected index {:?} to be no larger than self {:?} apart from dimension {dim}", ishape, target);
        }
        if ishape[d] > other[d] {
            bail!("Size does not match at dimension {d} expected index {:?} to be no larger than src {:?}", ishape, other);
        }
    }
    let vals = index_values(index, op)?;
    let (ts, os) = (contiguous_strides(target), contiguous_strides(other));
    let istr = contiguous_strides(&ishape);
    let mut pairs = Vec::with_capacity(vals.len());
    for (n, &v) in vals.iter().enumerate() {
        let k = check_index(v, target[dim], dim)?;
        let (mut t, mut o) = (0usize, 0usize);
        for d in 0..ishape.len() {
            let c = (n / istr[d] as usize) % ishape[d];
            t += if d == dim { k } else { c } * ts[d] as usize;
            o += c * os[d] as usize;
        }
        pairs.push((t, o));
    }
    Ok(pairs)
}

fn gather(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let index = a.tensor("index")?;
    let shape = shape1(x);
    let dim = wrap_dim(a.int("dim")?, shape.len())?;
    if index.numel() == 0 {
        return Ok(Tensor::zeros(index.shape(), x.dtype()).into());
    }
    let pairs = dim_index_pairs(index, dim, &shape, &shape1(index), "gather()")?;
    let offs: Vec<usize> = pairs.iter().map(|&(t, _)| t).collect();
    Ok(gather_flat(x, &offs, index.shape())?.into())
}

/// Shared body of the scatter ops: `src` is a tensor or a scalar `value`.
fn scatter_impl(a: &Args, src: Option<&Tensor>, red: Reduce, include_self: bool) -> Result<Tensor> {
    let x = a.tensor("self")?;
    let index = a.tensor("index")?;
    let shape = shape1(x);
    let dim = wrap_dim(a.int("dim")?, shape.len())?;
    if index.numel() == 0 {
        return Ok(x.deep_clone());
    }
    let src = match src {
        Some(s) => s.clone(),
        None => scalar_tensor(a.scalar("value")?, x.dtype())?.broadcast_to(&shape1(index))?.contiguous(),
    };
    if src.dtype() != x.dtype() {
        bail!("scatter(): Expected self.dtype to be equal to src.dtype");
    }
    let pairs = dim_index_pairs(index, dim, &shape, &shape1(&src), "scatter()")?;
    let r = scatter_flat(&x.reshape(&to_i64s(&shape))?, &src.contiguous(), &pairs, red, include_self)?;
    r.reshape(&to_i64s(x.shape()))
}

/// The overloads of `scatter` differ in their parameters: `src` or `value`, and `reduce`.
fn has_param(a: &Args, name: &str) -> bool {
    a.schema().param_index(name).is_some()
}

fn scatter(a: &Args) -> Result<Value> {
    let src = if has_param(a, "src") { Some(a.tensor("src")?) } else { None };
    let red = match has_param(a, "reduce") {
        true => match a.str("reduce")? {
            "add" => Reduce::Sum,
            "multiply" => Reduce::Prod,
            r => bail!("reduce argument must be either add or multiply, got {r}"),
        },
        false => Reduce::Assign,
    };
    Ok(scatter_impl(a, src, red, true)?.into())
}

fn scatter_add(a: &Args) -> Result<Value> {
    Ok(scatter_impl(a, Some(a.tensor("src")?), Reduce::Sum, true)?.into())
}

fn scatter_reduce(a: &Args) -> Result<Value> {
    let red = Reduce::parse(a.str("reduce")?)?;
    Ok(scatter_impl(a, Some(a.tensor("src")?), red, a.bool("include_self")?)?.into())
}

// ----- masked ops --------------------------------------------------------------------------------

fn check_bool_mask(mask: &Tensor, op: &str) -> Result<()> {
    if mask.dtype() != DType::Bool {
        bail!("{op} only supports boolean masks, but got mask with dtype {:?}", mask.dtype());
    }
    Ok(())
}

fn masked_fill(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let mask = a.tensor("mask")?;
    check_bool_mask(mask, "masked_fill_")?;
    let value = match a.get("value")? {
        Value::Tensor(t) => {
            if t.dim() != 0 {
                bail!("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with {} dimension(s).", t.dim());
            }
            t.to_dtype(x.dtype())
        }
        // A Python float is truncated to an integer self's dtype.
        _ => scalar_tensor(a.number("value")?, x.dtype())?,
    };
    Ok(select_where(mask, &value, x)?.into())
}

fn masked_select(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let mask = a.tensor("mask")?;
    check_bool_mask(mask, "masked_select:")?;
    let shape = broadcast_all(&[x.shape(), mask.shape()])?.to_vec();
    let m = mask.broadcast_to(&shape)?.to_bool_vec();
    let offs: Vec<usize> = m.iter().enumerate().filter(|(_, &b)| b).map(|(i, _)| i).collect();
    let n = offs.len();
    Ok(gather_flat(&x.broadcast_to(&shape)?.contiguous(), &offs, &[n])?.into())
}

fn masked_scatter(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let mask = a.tensor("mask")?;
    let source = a.tensor("source")?;
    check_bool_mask(mask, "masked_scatter_")?;
    if source.dtype() != x.dtype() {
        bail!("masked_scatter: expected self and source to have same dtypes but got {:?} and {:?}", x.dtype(), source.dtype());
    }
    let shape = broadcast_all(&[x.shape(), mask.shape()])?.to_vec();
    let m = mask.broadcast_to(&shape)?.to_bool_vec();
    let pairs: Vec<(usize, usize)> =
        m.iter().enumerate().filter(|(_, &b)| b).map(|(i, _)| i).enumerate().map(|(s, d)| (d, s)).collect();
    if pairs.len() > source.numel() {
        bail!("masked_scatter: expected source to have at least {} elements, got {}", pairs.len(), source.numel());
    }
    let base = x.broadcast_to(&shape)?.contiguous();
    Ok(scatter_flat(&base, &source.contiguous(), &pairs, Reduce::Assign, true)?.into())
}

/// `nonzero` coordinates as an `[n, ndim]` int64 tensor (padded/truncated to `rows` if given).
fn nonzero_coords(x: &Tensor, rows: Option<(usize, i64)>) -> Result<Tensor> {
    let shape = x.shape().to_vec();
    let mut coords = true_coords(&x.to_bool_vec(), &shape);
    if let Some((n, fill)) = rows {
        coords.truncate(n);
        coords.resize(n, vec![fill; shape.len()]);
    }
    let n = coords.len();
    Tensor::from_vec(coords.concat(), &[n, shape.len()])
}

fn nonzero(a: &Args) -> Result<Value> {
    Ok(nonzero_coords(a.tensor("self")?, None)?.into())
}

fn nonzero_static(a: &Args) -> Result<Value> {
    let size = a.int("size")?;
    if size < 0 {
        bail!("nonzero_static: 'size' must be an non-negative integer, but got size: {size}");
    }
    Ok(nonzero_coords(a.tensor("self")?, Some((size as usize, a.int("fill_value")?)))?.into())
}

// ----- flat index ops (take / put / embedding) -------------------------------------------------

/// Index values wrapped into `[0, numel)` of a flattened tensor.
fn flat_indices(index: &Tensor, numel: usize, op: &str) -> Result<Vec<usize>> {
    long_index_values(index, op)?
        .into_iter()
        .map(|i| {
            let w = if i < 0 { i + numel as i64 } else { i };
            if w < 0 || w >= numel as i64 {
                bail!("out of range: tried to access index {i} on a tensor of {numel} elements.");
            }
            Ok(w as usize)
        })
        .collect()
}

fn take(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let index = a.tensor("index")?;
    let offs = flat_indices(index, x.numel(), "take()")?;
    Ok(gather_flat(x, &offs, index.shape())?.into())
}

fn put(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let index = a.tensor("index")?;
    let source = a.tensor("source")?;
    if index.numel() != source.numel() {
        bail!("put_(): Expected source and index to have the same number of elements, but got source.numel() = {}, index.numel() = {}", source.numel(), index.numel());
    }
    if source.dtype() != x.dtype() {
        bail!("put_(): self and source expected to have the same dtype, but got self.dtype = {:?} and source.dtype = {:?}", x.dtype(), source.dtype());
    }
    let pairs: Vec<(usize, usize)> = flat_indices(index, x.numel(), "put_()")?.into_iter().enumerate().map(|(s, d)| (d, s)).collect();
    let red = if a.bool("accumulate")? { Reduce::Sum } else { Reduce::Assign };
    Ok(scatter_flat(x, source, &pairs, red, true)?.into())
}

fn embedding(a: &Args) -> Result<Value> {
    let w = a.tensor("weight")?;
    let idx = a.tensor("indices")?;
    if w.dim() != 2 {
        bail!("'weight' must be 2-D");
    }
    let (rows, cols) = (w.shape()[0], w.shape()[1]);
    let mut offs = Vec::with_capacity(idx.numel() * cols);
    for i in index_values(idx, "embedding(): indices")? {
        let r = check_index(i, rows, 0)?;
        offs.extend(r * cols..(r + 1) * cols);
    }
    let mut shape = idx.shape().to_vec();
    shape.push(cols);
    Ok(gather_flat(w, &offs, &shape)?.into())
}

fn embedding_dense_backward(a: &Args) -> Result<Value> {
    let grad = a.tensor("grad_output")?;
    let idx = index_values(a.tensor("indices")?, "embedding_backward(): indices")?;
    let num_weights = a.int("num_weights")?.max(0) as usize;
    let padding = a.int("padding_idx")?;
    let cols = grad.shape().last().copied().unwrap_or(1);
    let mut counts = vec![0i64; num_weights];
    for &i in &idx {
        counts[check_index(i, num_weights, 0)?] += 1;
    }
    let scale = a.bool("scale_grad_by_freq")?;
    // Scale each gradient row by 1/count of its index before summing.
    let g = grad.reshape(&[idx.len() as i64, cols as i64])?.to_f64_vec();
    let mut out = tensor::alloc::tensor_vec(0.0f64, &[num_weights, cols]);
    for (n, &i) in idx.iter().enumerate() {
        if i == padding {
            continue;
        }
        let k = i as usize;
        let f = if scale { 1.0 / counts[k] as f64 } else { 1.0 };
        for c in 0..cols {
            out[k * cols + c] += g[n * cols + c] * f;
        }
    }
    Ok(Tensor::from_vec(out, &[num_weights, cols])?.to_dtype(grad.dtype()).into())
}

// ----- searching -------------------------------------------------------------------------------

/// For each value, the insertion point in its row of sorted boundaries.
fn search(boundaries: &Tensor, values: &Tensor, right: bool, sorter: Option<&Tensor>, out_int32: bool) -> Result<Tensor> {
    let inner = boundaries.shape().last().copied().unwrap_or(1);
    let one_d = boundaries.dim() <= 1;
    if !one_d && (boundaries.shape()[..boundaries.dim() - 1] != values.shape()[..values.dim().saturating_sub(1)] || values.dim() != boundaries.dim()) {
        bail!(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries tensor and input value tensor must match, but we got boundaries tensor {:?} and input value tensor {:?}",
            boundaries.shape(),
            values.shape()
        );
    }
    let sorted = match sorter {
        Some(s) => gather_flat(boundaries, &sorter_offsets(s, boundaries.numel(), inner)?, boundaries.shape())?,
        None => boundaries.clone(),
    };
    let vinner = if one_d { values.numel().max(1) } else { values.shape().last().copied().unwrap_or(1).max(1) };
    let dt = promote_types(boundaries.dtype(), values.dtype())?;
    let out: Vec<i64> = with_dtype!(dt, T => {
        let (b, v) = (sorted.to_vec::<T>(), values.to_vec::<T>());
        v.iter()
            .enumerate()
            .map(|(n, &x)| {
                let row = if one_d { &b[..] } else { &b[(n / vinner) * inner..(n / vinner + 1) * inner] };
                // Written as PyTorch's negated comparisons so NaN values and NaN boundaries land
                // where its bisection puts them (a NaN value goes past every boundary).
                row.partition_point(|&e| if right { !(e > x) } else { !(e >= x) }) as i64
            })
            .collect()
    });
    let t = Tensor::from_vec(out, values.shape())?;
    Ok(if out_int32 { t.to_dtype(DType::I32) } else { t })
}

/// Flat offsets that reorder each row of `inner` boundaries by `sorter`.
fn sorter_offsets(sorter: &Tensor, numel: usize, inner: usize) -> Result<Vec<usize>> {
    let sv = index_values(sorter, "torch.searchsorted(): sorter")?;
    if sv.len() != numel {
        bail!("torch.searchsorted(): boundary and sorter must have the same size");
    }
    sv.iter().enumerate().map(|(n, &k)| Ok(n - n % inner.max(1) + check_index(k, inner, 0)?)).collect()
}

fn searchsorted(a: &Args) -> Result<Value> {
    let side = a.opt_str("side")?;
    let right = a.bool("right")?;
    if let Some(s) = side {
        if s != "left" && s != "right" {
            bail!("torch.searchsorted(): side can only be 'left' or 'right' but got {s}");
        }
        if right && s == "left" {
            bail!("torch.searchsorted(): side and right can't be set to opposites, got side of left while right was True");
        }
    }
    let right = right || side == Some("right");
    Ok(search(a.tensor("sorted_sequence")?, a.tensor("self")?, right, a.opt_tensor("sorter")?, a.bool("out_int32")?)?.into())
}

fn bucketize(a: &Args) -> Result<Value> {
    let b = a.tensor("boundaries")?;
    if b.dim() != 1 {
        bail!("boundaries tensor must be 1 dimension, but got dim({})", b.dim());
    }
    Ok(search(b, a.tensor("self")?, a.bool("right")?, None, a.bool("out_int32")?)?.into())
}

/// Orders values with NaN after everything (a total order for sorting and binary search).
fn total_order<T: PartialOrd>(a: &T, b: &T) -> Ordering {
    #[allow(clippy::eq_op)]
    let (a_nan, b_nan) = (a != a, b != b);
    a.partial_cmp(b).unwrap_or_else(|| a_nan.cmp(&b_nan))
}

fn isin(a: &Args) -> Result<Value> {
    let e = a.tensor("elements")?;
    let t = a.tensor("test_elements")?;
    let invert = a.bool("invert")?;
    // Compare in the promoted dtype so large int64 values stay exact.
    let out: Vec<Bool8> = with_dtype!(promote_types(e.dtype(), t.dtype())?, T => {
        let mut tv = t.to_vec::<T>();
        tv.sort_by(total_order);
        // NaN is never a member (NaN != NaN).
        e.to_vec::<T>().iter().map(|x| Bool8::from((x == x && tv.binary_search_by(|y| total_order(y, x)).is_ok()) != invert)).collect()
    });
    Ok(Tensor::from_vec(out, e.shape())?.into())
}

fn isinf(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    Ok(match x.dtype() {
        d if d.is_complex() => complex::test(x, |z| z.re.is_infinite() || z.im.is_infinite()),
        d if d.is_float() => map_bool(x, |v| v.is_infinite()),
        _ => Tensor::zeros(x.shape(), DType::Bool),
    }
    .into())
}

// ----- uniqueness ------------------------------------------------------------------------------

/// Outputs of the unique ops from group ids: values (gathered by `firsts`), inverse and counts.
fn unique_outputs(
    x: &Tensor,
    firsts: &[usize],
    vshape: &[usize],
    inverse: Vec<i64>,
    inv_shape: &[usize],
    counts: Vec<i64>,
    want_inv: bool,
    want_counts: bool,
) -> Result<Value> {
    let values = gather_flat(x, firsts, vshape)?;
    let inv = if want_inv { Tensor::from_vec(inverse, inv_shape)? } else { Tensor::zeros(&[0], DType::I64) };
    let n = counts.len();
    let cnt = if want_counts { Tensor::from_vec(counts, &[n])? } else { Tensor::zeros(&[0], DType::I64) };
    Ok((values, inv, cnt).into())
}

fn unique_consecutive(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let (want_inv, want_counts) = (a.bool("return_inverse")?, a.bool("return_counts")?);
    match a.opt_int("dim")? {
        None => {
            // NaNs never compare equal, so each NaN is its own run as in PyTorch.
            let (firsts, inverse, counts) = with_dtype!(x.dtype(), T => {
                let v = x.to_vec::<T>();
                group_runs(v.len(), |i, j| v[i] == v[j])
            });
            let n = firsts.len();
            unique_outputs(x, &firsts, &[n], inverse, x.shape(), counts, want_inv, want_counts)
        }
        Some(d) => {
            let shape = shape1(x);
            let dim = wrap_dim(d, shape.len())?;
            // Move `dim` to the front so each slice is one contiguous row.
            let moved = x.reshape(&to_i64s(&shape))?.transpose(0, dim as i64)?.contiguous();
            let rows = shape[dim];
            let width = if rows == 0 { 0 } else { moved.numel() / rows };
            let (firsts, inverse, counts) = with_dtype!(x.dtype(), T => {
                let v = moved.to_vec::<T>();
                let row = |i: usize| &v[i * width..(i + 1) * width];
                group_runs(rows, |i, j| row(i) == row(j))
            });
            let mut mshape = moved.shape().to_vec();
            mshape[0] = firsts.len();
            let offs: Vec<usize> = firsts.iter().flat_map(|&f| f * width..(f + 1) * width).collect();
            let vals = gather_flat(&moved, &offs, &mshape)?.transpose(0, dim as i64)?.contiguous();
            let inv = if want_inv { Tensor::from_vec(inverse, &[rows])? } else { Tensor::zeros(&[0], DType::I64) };
            let n = counts.len();
            let cnt = if want_counts { Tensor::from_vec(counts, &[n])? } else { Tensor::zeros(&[0], DType::I64) };
            Ok((vals, inv, cnt).into())
        }
    }
}

/// Groups `0..n` into runs of consecutive equal items: first index of each run, run id of each
/// item, and run lengths.
fn group_runs(n: usize, eq: impl Fn(usize, usize) -> bool) -> (Vec<usize>, Vec<i64>, Vec<i64>) {
    let (mut firsts, mut inverse, mut counts) = (Vec::new(), Vec::with_capacity(n), Vec::new());
    for i in 0..n {
        if i == 0 || !eq(*firsts.last().unwrap_or(&0), i) {
            firsts.push(i);
            counts.push(0);
        }
        if let Some(c) = counts.last_mut() {
            *c += 1;
        }
        inverse.push(firsts.len() as i64 - 1);
    }
    (firsts, inverse, counts)
}

/// `torch.unique` (always sorted, as PyTorch's CPU kernel returns sorted values).
fn unique2(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let n = x.numel();
    let (order, (runs, run_of, counts)) = with_dtype!(x.dtype(), T => {
        let v = x.to_vec::<T>();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| total_order(&v[i], &v[j]).then(i.cmp(&j)));
        let groups = group_runs(n, |i, j| v[order[i]] == v[order[j]]);
        (order, groups)
    });
    let firsts: Vec<usize> = runs.iter().map(|&r| order[r]).collect();
    let mut inverse = vec![0i64; n];
    for (k, &o) in order.iter().enumerate() {
        inverse[o] = run_of[k];
    }
    let n = firsts.len();
    unique_outputs(x, &firsts, &[n], inverse, x.shape(), counts, a.bool("return_inverse")?, a.bool("return_counts")?)
}

// ----- segment_reduce / repeat_interleave ------------------------------------------------------

fn segment_reduce(a: &Args) -> Result<Value> {
    let data = a.tensor("data")?;
    let reduce = a.str("reduce")?;
    let axis = wrap_dim(a.int("axis")?, data.dim().max(1))?;
    let shape = shape1(data);
    let (outer, size, inner) = split_at_dim(&shape, axis);
    let rows = segment_lengths(a, axis, outer, size)?;
    let nseg = rows.first().map_or(0, Vec::len);
    let initial = a.opt_scalar("initial")?.map(|s| s.to_f64());
    let v = data.to_f64_vec();
    let mut out = Vec::with_capacity(outer * nseg * inner);
    for o in 0..outer {
        let mut start = 0usize;
        for &len in &rows[o] {
            let len = len as usize;
            for j in 0..inner {
                let items = (start..start + len).map(|k| v[(o * size + k) * inner + j]);
                out.push(segment_value(reduce, items, len, initial)?);
            }
            start += len;
        }
    }
    let mut oshape = shape.clone();
    oshape[axis] = nseg;
    Ok(Tensor::from_vec(out, &oshape)?.to_dtype(data.dtype()).into())
}

/// Segment lengths per outer row: `lengths`/`offsets` have the data's dims before `axis` plus
/// one segment dim. Each row must cover `size` elements.
fn segment_lengths(a: &Args, axis: usize, outer: usize, size: usize) -> Result<Vec<Vec<i64>>> {
    let (t, is_offsets) = match (a.opt_tensor("lengths")?, a.opt_tensor("offsets")?) {
        (Some(l), _) => (l, false),
        (None, Some(o)) => (o, true),
        (None, None) => bail!("segment_reduce(): Either lengths or offsets must be defined"),
    };
    if t.dim() != axis + 1 {
        bail!("segment_reduce(): Expected axis to be the last dimension of lengths but got {axis}.");
    }
    let vals = index_values(t, "segment_reduce()")?;
    let width = t.shape().last().copied().unwrap_or(1).max(1);
    if vals.len() / width != outer {
        bail!("segment_reduce(): lengths/offsets of shape {:?} do not match the data dims before axis", t.shape());
    }
    let rows: Vec<Vec<i64>> = vals
        .chunks(width)
        .map(|r| if is_offsets { r.windows(2).map(|w| w[1] - w[0]).collect() } else { r.to_vec() })
        .collect();
    for r in &rows {
        if r.iter().any(|&l| l < 0) {
            bail!("lengths contains negative value!");
        }
        if r.iter().sum::<i64>() != size as i64 {
            bail!("segment_reduce(): Expected all rows of lengths along axis to sum up to data.size(axis)");
        }
    }
    Ok(rows)
}

/// One segment's reduction; empty segments give `initial` or the reduction's identity (NaN for
/// mean).
fn segment_value(reduce: &str, items: impl Iterator<Item = f64>, len: usize, initial: Option<f64>) -> Result<f64> {
    let nan_max = |a: f64, b: f64| if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) };
    let nan_min = |a: f64, b: f64| if a.is_nan() || b.is_nan() { f64::NAN } else { a.min(b) };
    Ok(match reduce {
        "sum" => items.fold(initial.unwrap_or(0.0), |s, x| s + x),
        "prod" => items.fold(initial.unwrap_or(1.0), |s, x| s * x),
        "max" => items.fold(initial.unwrap_or(f64::NEG_INFINITY), nan_max),
        "min" => items.fold(initial.unwrap_or(f64::INFINITY), nan_min),
        "mean" => {
            let s = items.fold(initial.unwrap_or(0.0), |s, x| s + x);
            if len == 0 {
                initial.unwrap_or(f64::NAN)
            } else {
                s / len as f64
            }
        }
        r => bail!("segment_reduce(): unsupported reduction {r}"),
    })
}

fn repeat_interleave(a: &Args) -> Result<Value> {
    let rep = a.tensor("repeats")?;
    if rep.dim() > 1 {
        bail!("repeat_interleave only accept 1D vector as repeat");
    }
    let r = index_values(rep, "repeats")?;
    if r.iter().any(|&x| x < 0) {
        bail!("repeats can not be negative");
    }
    let out: Vec<i64> = r.iter().enumerate().flat_map(|(i, &n)| std::iter::repeat(i as i64).take(n as usize)).collect();
    if let Some(size) = a.opt_int("output_size")? {
        if size != out.len() as i64 {
            bail!("allocated size does not match required size");
        }
    }
    let n = out.len();
    Ok(Tensor::from_vec(out, &[n])?.to_dtype(rep.dtype()).into())
}

// ----- *_scatter (inverses of views) -------------------------------------------------------------

/// A fresh copy of `self` with `src` written into the view that `view` takes of it.
fn scatter_into_view(a: &Args, view: impl Fn(&Tensor) -> Result<Tensor>) -> Result<Value> {
    let x = a.tensor("self")?;
    let src = a.tensor("src")?;
    let out = x.deep_clone();
    let v = view(&out)?;
    if v.shape() != src.shape() {
        bail!("expected src to have a size equal to the slice of self. src size = {:?}, slice size = {:?}", src.shape(), v.shape());
    }
    v.copy_(src)?;
    Ok(out.into())
}

fn as_strided_scatter(a: &Args) -> Result<Value> {
    let size: Vec<usize> = a.int_list("size")?.iter().map(|&s| s.max(0) as usize).collect();
    let stride: Vec<isize> = a.int_list("stride")?.iter().map(|&s| s as isize).collect();
    let offset = a.opt_int("storage_offset")?.map(|o| o.max(0) as usize);
    scatter_into_view(a, |t| t.as_strided(&size, &stride, offset))
}

fn diagonal_scatter(a: &Args) -> Result<Value> {
    let (off, d1, d2) = (a.int("offset")?, a.int("dim1")?, a.int("dim2")?);
    scatter_into_view(a, |t| t.diagonal(off, d1, d2))
}

fn select_scatter(a: &Args) -> Result<Value> {
    let (dim, index) = (a.int("dim")?, a.int("index")?);
    scatter_into_view(a, |t| t.select(dim, index))
}

fn slice_scatter(a: &Args) -> Result<Value> {
    let (dim, start, end, step) = (a.int("dim")?, a.opt_int("start")?, a.opt_int("end")?, a.int("step")?);
    scatter_into_view(a, |t| t.slice(dim, start, end, step))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::aten;

    fn call(op: crate::OpName, args: Vec<Value>, kwargs: Vec<(&str, Value)>) -> Result<Value> {
        let r = Registry::new();
        register(&r);
        r.call(op, args, kwargs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn t_i64(v: &[i64], shape: &[usize]) -> Value {
        Value::Tensor(Tensor::from_vec(v.to_vec(), shape).unwrap())
    }

    fn t_f32(v: &[f32], shape: &[usize]) -> Value {
        Value::Tensor(Tensor::from_vec(v.to_vec(), shape).unwrap())
    }

    fn out(v: Value) -> Tensor {
        match v {
            Value::Tensor(t) => t,
            other => panic!("expected a tensor, got {other:?}"),
        }
    }

    #[test]
    fn non_adjacent_advanced_indices_move_to_front() {
        let x = Tensor::from_vec((0..24).map(|v| v as f32).collect(), &[2, 3, 4]).unwrap();
        let i0 = t_i64(&[1, 0], &[2]);
        let i2 = t_i64(&[3, -1], &[2]);
        let idx = Value::List(vec![i0, Value::None, i2]);
        let r = out(call(aten::index_Tensor, vec![Value::Tensor(x), idx], vec![]).unwrap());
        assert_eq!(r.shape(), &[2, 3]);
        assert_eq!(r.to_vec::<f32>(), vec![15.0, 19.0, 23.0, 3.0, 7.0, 11.0]);
    }

    #[test]
    fn out_of_range_index_is_an_error() {
        let idx = Value::List(vec![t_i64(&[5], &[1])]);
        let e = call(aten::index_Tensor, vec![t_f32(&[1.0, 2.0], &[2]), idx], vec![]).unwrap_err();
        assert!(e.to_string().ends_with("index 5 is out of bounds for dimension 0 with size 2"));
        let e = call(aten::gather, vec![t_f32(&[1.0, 2.0], &[2]), Value::Int(0), t_i64(&[-1], &[1])], vec![]);
        assert!(e.is_err());
    }

    #[test]
    fn integer_index_reduce_mean_floors() {
        let args = |inc: bool| {
            call(
                aten::index_reduce,
                vec![t_i64(&[5, 7], &[2]), Value::Int(0), t_i64(&[0, 0, 1], &[3]), t_i64(&[2, 3, -4], &[3]), Value::Str("mean".into())],
                vec![("include_self", Value::Bool(inc))],
            )
        };
        assert_eq!(out(args(true).unwrap()).to_i64_vec(), vec![3, 1]);
        assert_eq!(out(args(false).unwrap()).to_i64_vec(), vec![2, -4]);
    }

    #[test]
    fn searchsorted_places_nan_last() {
        let b = t_f32(&[1.0, 2.0, f32::NAN], &[3]);
        let v = t_f32(&[f32::NAN, 2.0, 5.0], &[3]);
        let r = out(call(aten::searchsorted_Tensor, vec![b, v], vec![]).unwrap());
        assert_eq!(r.to_i64_vec(), vec![3, 1, 3]);
    }

    #[test]
    fn index_put_accumulates_duplicates() {
        let idx = Value::List(vec![t_i64(&[0, 0, 2], &[3])]);
        let r = call(aten::index_put, vec![t_f32(&[0.0; 3], &[3]), idx, t_f32(&[1.0, 2.0, 3.0], &[3]), Value::Bool(true)], vec![]);
        assert_eq!(out(r.unwrap()).to_vec::<f32>(), vec![3.0, 0.0, 3.0]);
    }

    #[test]
    fn isin_is_exact_for_large_int64() {
        let e = t_i64(&[(1 << 53) + 1, 1 << 53], &[2]);
        let r = out(call(aten::isin_Tensor_Tensor, vec![e, t_i64(&[1 << 53], &[1])], vec![]).unwrap());
        assert_eq!(r.to_bool_vec(), vec![false, true]);
    }

    #[test]
    fn unique_keeps_nans_apart() {
        let x = t_f32(&[f32::NAN, f32::NAN, 1.0], &[3]);
        let r = call(aten::unique_consecutive, vec![x.clone()], vec![("return_counts", Value::Bool(true))]).unwrap();
        let Value::List(parts) = r else { panic!("expected three outputs") };
        assert_eq!(out(parts[2].clone()).to_i64_vec(), vec![1, 1, 1]);
        let r = call(aten::_unique2, vec![x], vec![("return_inverse", Value::Bool(true))]).unwrap();
        let Value::List(parts) = r else { panic!("expected three outputs") };
        assert_eq!(out(parts[1].clone()).to_i64_vec(), vec![1, 2, 0]);
    }

    #[test]
    fn scatter_value_fills_indexed_positions() {
        let x = Value::Tensor(Tensor::zeros(&[3], DType::I64));
        let r = call(aten::scatter_value, vec![x, Value::Int(0), t_i64(&[1], &[1]), Value::Float(2.5)], vec![]).unwrap();
        assert_eq!(out(r).to_i64_vec(), vec![0, 2, 0]);
    }

    #[test]
    fn segment_reduce_takes_per_row_lengths() {
        let d = Value::Tensor(Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[2, 6]).unwrap());
        let l = t_i64(&[2, 4, 3, 3], &[2, 2]);
        let r = call(aten::segment_reduce, vec![d, Value::Str("sum".into())], vec![("lengths", l), ("axis", Value::Int(1))]);
        assert_eq!(out(r.unwrap()).to_vec::<f32>(), vec![1.0, 14.0, 21.0, 30.0]);
    }

    #[test]
    fn scatter_rejects_src_of_other_rank() {
        let x = Value::Tensor(Tensor::zeros(&[2, 2], DType::F32));
        let r = call(aten::scatter_src, vec![x, Value::Int(0), t_i64(&[0, 1, 1, 0], &[2, 2]), t_f32(&[1.0, 2.0], &[2])], vec![]);
        assert!(r.is_err());
    }

    /// Odd shapes (0-dim, empty, mismatched ranks) and out-of-range values must give results or
    /// errors, never panics.
    #[test]
    fn odd_inputs_never_panic() {
        let shapes: [&[usize]; 4] = [&[], &[0], &[3], &[2, 3]];
        let tensor = |shape: &[usize], v: i64| Value::Tensor(Tensor::full_i64(shape, v, DType::I64));
        let fl = |shape: &[usize]| Value::Tensor(Tensor::full(shape, 1.5, DType::F32));
        let mask = |shape: &[usize]| Value::Tensor(Tensor::full_i64(shape, 1, DType::Bool));
        for a in shapes {
            for b in shapes {
                for v in [-4i64, -1, 0, 2, 7] {
                    let calls: Vec<(crate::OpName, Vec<Value>)> = vec![
                        (aten::index_Tensor, vec![fl(a), Value::List(vec![tensor(b, v)])]),
                        (aten::index_Tensor, vec![fl(a), Value::List(vec![mask(b)])]),
                        (aten::index_put, vec![fl(a), Value::List(vec![tensor(b, v)]), fl(b)]),
                        (aten::index_select, vec![fl(a), Value::Int(v), tensor(b, v)]),
                        (aten::index_add, vec![fl(a), Value::Int(0), tensor(b, v), fl(b)]),
                        (aten::index_fill_int_Scalar, vec![fl(a), Value::Int(v), tensor(b, v), Value::Float(2.0)]),
                        (aten::gather, vec![fl(a), Value::Int(v), tensor(b, v)]),
                        (aten::scatter_src, vec![fl(a), Value::Int(0), tensor(b, v), fl(b)]),
                        (aten::scatter_reduce_two, vec![fl(a), Value::Int(0), tensor(b, v), fl(a), Value::Str("mean".into())]),
                        (aten::masked_scatter, vec![fl(a), mask(b), fl(a)]),
                        (aten::masked_select, vec![fl(a), mask(b)]),
                        (aten::take, vec![fl(a), tensor(b, v)]),
                        (aten::put, vec![fl(a), tensor(b, v), fl(b)]),
                        (aten::embedding, vec![fl(a), tensor(b, v)]),
                        (aten::searchsorted_Tensor, vec![fl(a), fl(b)]),
                        (aten::unique_consecutive, vec![fl(a), Value::Bool(true), Value::Bool(true), Value::Int(v)]),
                        (aten::segment_reduce, vec![fl(a), Value::Str("max".into())]),
                        (aten::select_scatter, vec![fl(a), fl(b), Value::Int(0), Value::Int(v)]),
                        (aten::diagonal_scatter, vec![fl(a), fl(b), Value::Int(v)]),
                        (aten::nonzero_static, vec![fl(a)]),
                    ];
                    for (op, args) in calls {
                        let kwargs = match op {
                            aten::segment_reduce => vec![("lengths", tensor(b, v))],
                            aten::nonzero_static => vec![("size", Value::Int(v.max(0)))],
                            _ => vec![],
                        };
                        let _ = call(op, args, kwargs);
                    }
                }
            }
        }
    }
}
