//! ATen operators: views, their copying twins, joining and splitting, padding, and the small
//! metadata operators (`sym_size`, `_assert_scalar`, ...).
//!
//! View operators return tensors that share storage with their input (`Tensor`'s view
//! methods); each `*_copy` overload is the same view made contiguous.

use crate::meta;
use tensor::shape::wrap_dim;
use tensor::{DType, Scalar, Tensor};

use super::common::*;
use crate::registry::Tag::*;
use crate::{Args, Registry, Result, Value};

pub fn register(r: &Registry) {
    let core = &[Core][..];
    let none = &[][..];
    // views and their copies: one kernel serves both, `copy` decides
    macro_rules! view_and_copy {
        ($view:expr, $copy:expr, $tags:expr, $meta:expr, $f:expr) => {
            r.def_with($view, $tags, $meta, std::sync::Arc::new(|a: &Args| $f(a).map(Value::Tensor)));
            r.def_with($copy, none, $meta, std::sync::Arc::new(|a: &Args| $f(a).map(|t: Tensor| Value::Tensor(t.deep_clone())))).any_dtype();
        };
    }
    view_and_copy!("aten::view(Tensor(a) self, SymInt[] size) -> Tensor(a)", "aten::view_copy(Tensor self, SymInt[] size) -> Tensor", core, Some(meta::view), |a: &Args| a.tensor("self")?.view(&a.int_list("size")?));
    view_and_copy!("aten::permute(Tensor(a) self, int[] dims) -> Tensor(a)", "aten::permute_copy(Tensor self, int[] dims) -> Tensor", core, Some(meta::permute), |a: &Args| a.tensor("self")?.permute(&a.int_list("dims")?));
    view_and_copy!("aten::expand(Tensor(a) self, SymInt[] size, *, bool implicit=False) -> Tensor(a)", "aten::expand_copy(Tensor self, SymInt[] size, *, bool implicit=False) -> Tensor", core, Some(meta::expand), |a: &Args| a.tensor("self")?.expand(&a.int_list("size")?));
    view_and_copy!("aten::unsqueeze(Tensor(a) self, int dim) -> Tensor(a)", "aten::unsqueeze_copy(Tensor self, int dim) -> Tensor", core, Some(meta::unsqueeze), |a: &Args| a.tensor("self")?.unsqueeze(a.int("dim")?));
    view_and_copy!("aten::squeeze(Tensor(a) self) -> Tensor(a)", "aten::squeeze_copy(Tensor self) -> Tensor", none, Some(meta::squeeze), |a: &Args| a.tensor("self")?.squeeze(None));
    view_and_copy!("aten::squeeze.dim(Tensor(a) self, int dim) -> Tensor(a)", "aten::squeeze_copy.dim(Tensor self, int dim) -> Tensor", core, Some(meta::squeeze), |a: &Args| a.tensor("self")?.squeeze(Some(&[a.int("dim")?])));
    view_and_copy!("aten::transpose.int(Tensor(a) self, int dim0, int dim1) -> Tensor(a)", "aten::transpose_copy.int(Tensor self, int dim0, int dim1) -> Tensor", none, Some(meta::transpose), |a: &Args| a.tensor("self")?.transpose(a.int("dim0")?, a.int("dim1")?));
    view_and_copy!("aten::t(Tensor(a) self) -> Tensor(a)", "aten::t_copy(Tensor self) -> Tensor", none, Some(meta::t), t);
    view_and_copy!("aten::diagonal(Tensor(a) self, int offset=0, int dim1=0, int dim2=1) -> Tensor(a)", "aten::diagonal_copy(Tensor self, int offset=0, int dim1=0, int dim2=1) -> Tensor", core, Some(meta::diagonal), |a: &Args| a.tensor("self")?.diagonal(a.int("offset")?, a.int("dim1")?, a.int("dim2")?));
    view_and_copy!("aten::as_strided(Tensor(a) self, SymInt[] size, SymInt[] stride, SymInt? storage_offset=None) -> Tensor(a)", "aten::as_strided_copy(Tensor self, SymInt[] size, SymInt[] stride, SymInt? storage_offset=None) -> Tensor", core, Some(meta::as_strided), as_strided);
    view_and_copy!("aten::alias(Tensor(a) self) -> Tensor(a)", "aten::alias_copy(Tensor self) -> Tensor", core, Some(meta::same_as_self), |a: &Args| Ok(a.tensor("self")?.clone()));
    r.def_meta("aten::squeeze.dims(Tensor(a) self, int[] dim) -> Tensor(a)", core, meta::squeeze, |a| Ok(a.tensor("self")?.squeeze(Some(&a.int_list("dim")?))?.into()));
    r.def_meta("aten::select.int(Tensor(a) self, int dim, SymInt index) -> Tensor(a)", core, meta::select, |a| Ok(a.tensor("self")?.select(a.int("dim")?, a.int("index")?)?.into()));
    r.def_meta("aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1) -> Tensor(a)", core, meta::slice, |a| Ok(slice(a)?.into()));
    r.def_meta("aten::reshape(Tensor(a) self, SymInt[] shape) -> Tensor(a)", none, meta::view, |a| Ok(a.tensor("self")?.reshape(&a.int_list("shape")?)?.into()));
    r.def_meta("aten::_unsafe_view(Tensor self, SymInt[] size) -> Tensor", none, meta::view, |a| Ok(a.tensor("self")?.reshape(&a.int_list("size")?)?.into()));
    r.def_meta("aten::narrow_copy(Tensor self, int dim, SymInt start, SymInt length) -> Tensor", none, meta::narrow, narrow_copy).any_dtype();
    r.def_meta("aten::detach(Tensor(a) self) -> Tensor(a)", none, meta::same_as_self, |a| Ok(a.tensor("self")?.clone().into())).any_dtype();
    r.def_meta("aten::detach_(Tensor(a!) self) -> Tensor(a!)", none, meta::same_as_self, |a| Ok(a.tensor("self")?.clone().into())).any_dtype();

    // copies and conversions
    r.def_meta("aten::clone(Tensor self, *, MemoryFormat? memory_format=None) -> Tensor", core, meta::same_as_self, |a| Ok(a.tensor("self")?.deep_clone().into())).any_dtype();
    r.def_meta("aten::lift_fresh_copy(Tensor self) -> Tensor", none, meta::same_as_self, |a| Ok(a.tensor("self")?.deep_clone().into())).any_dtype();
    r.def_meta("aten::copy(Tensor self, Tensor src, bool non_blocking=False) -> Tensor", core, meta::same_as_self, copy).any_dtype();
    r.def_meta("aten::_to_copy(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None, bool non_blocking=False, MemoryFormat? memory_format=None) -> Tensor", core, meta::same_as_self, to_copy).any_dtype();
    r.def_meta("aten::to.dtype(Tensor(a) self, ScalarType dtype, bool non_blocking=False, bool copy=False, MemoryFormat? memory_format=None) -> Tensor(a)", none, meta::same_as_self, to_dtype);
    r.def_meta("aten::fill.Scalar(Tensor self, Scalar value) -> Tensor", core, meta::same_as_self, |a| {
        let x = a.tensor("self")?;
        Ok(filled(x.shape(), a.number("value")?, x.dtype())?.into())
    }).any_dtype();
    // what exporters before PyTorch 2.15 wrote for `x.fill_(tensor)`
    r.def_meta("aten::fill.Tensor(Tensor self, Tensor value) -> Tensor", none, meta::same_as_self, |a| {
        let (x, v) = (a.tensor("self")?, a.tensor("value")?);
        if v.dim() != 0 {
            bail!("fill_ only supports 0-dimension value tensor but got tensor with {} dimensions.", v.dim());
        }
        Ok(v.to_dtype(x.dtype()).broadcast_to(x.shape())?.contiguous().into())
    });
    r.def_meta("aten::movedim.int(Tensor(a) self, int source, int destination) -> Tensor(a)", none, meta::movedim, |a| {
        let x = a.tensor("self")?;
        Ok(x.permute(&movedim_order(x.dim(), a.int("source")?, a.int("destination")?)?)?.into())
    });
    for name in ["sym_constrain_range", "sym_constrain_range_for_size"] {
        r.def(&format!("aten::{name}(Scalar size, *, int? min=None, int? max=None) -> ()"), none, constrain_range);
    }

    // joining and splitting
    r.def_meta("aten::cat(Tensor[] tensors, int dim=0) -> Tensor", core, meta::cat, |a| Ok(cat(&a.tensor_list("tensors")?, a.int("dim")?)?.into())).any_dtype();
    r.def_meta("aten::stack(Tensor[] tensors, int dim=0) -> Tensor", none, meta::cat, stack).any_dtype();
    r.def_meta("aten::split.Tensor(Tensor(a -> *) self, SymInt split_size, int dim=0) -> Tensor(a)[]", none, meta::pieces, |a| split_every(a, false));
    r.def("aten::unsafe_split.Tensor(Tensor self, SymInt split_size, int dim=0) -> Tensor[]", none, |a| split_every(a, true)).any_dtype();
    r.def_meta("aten::split_with_sizes(Tensor(a -> *) self, SymInt[] split_sizes, int dim=0) -> Tensor(a)[]", core, meta::pieces, |a| split_sizes(a, false));
    r.def("aten::split_with_sizes_copy(Tensor self, SymInt[] split_sizes, int dim=0) -> Tensor[]", none, |a| split_sizes(a, true)).any_dtype();
    r.def_meta("aten::chunk(Tensor(a -> *) self, int chunks, int dim=0) -> Tensor(a)[]", none, meta::pieces, chunk);
    r.def_meta("aten::unbind.int(Tensor(a -> *) self, int dim=0) -> Tensor(a)[]", none, meta::pieces, |a| unbind(a, false));
    r.def("aten::unbind_copy.int(Tensor self, int dim=0) -> Tensor[]", none, |a| unbind(a, true)).any_dtype();
    r.def("aten::block_diag(Tensor[] tensors) -> Tensor", none, block_diag).any_dtype();
    r.def("aten::_chunk_cat(Tensor[] tensors, int dim, int num_chunks) -> Tensor", none, chunk_cat).any_dtype();

    // rearranging
    r.def_meta("aten::flip(Tensor self, int[] dims) -> Tensor", core, meta::same_as_self, |a| Ok(flip(a.tensor("self")?, &a.int_list("dims")?)?.into())).any_dtype();
    r.def_meta("aten::rot90(Tensor self, int k=1, int[] dims=[0, 1]) -> Tensor", none, meta::rot90, rot90).any_dtype();
    r.def_meta("aten::repeat(Tensor self, SymInt[] repeats) -> Tensor", core, meta::repeat, repeat).any_dtype();
    r.def_meta("aten::tril(Tensor self, SymInt diagonal=0) -> Tensor", none, meta::same_as_self, |a| triangle(a, true)).any_dtype();
    r.def_meta("aten::triu(Tensor self, SymInt diagonal=0) -> Tensor", none, meta::same_as_self, |a| triangle(a, false)).any_dtype();
    r.def_meta("aten::diag_embed(Tensor self, int offset=0, int dim1=-2, int dim2=-1) -> Tensor", none, meta::diag_embed, diag_embed).any_dtype();

    // padding
    r.def_meta("aten::constant_pad_nd(Tensor self, SymInt[] pad, Scalar value=0) -> Tensor", core, meta::pad, constant_pad).any_dtype();
    for (n, k) in [(1, 2), (2, 4), (3, 6)] {
        r.def_meta(&format!("aten::reflection_pad{n}d(Tensor self, SymInt[{k}] padding) -> Tensor"), core, meta::pad, reflection_pad).complex();
        r.def_meta(&format!("aten::replication_pad{n}d(Tensor self, SymInt[{k}] padding) -> Tensor"), if n == 1 { none } else { core }, meta::pad, replication_pad).complex();
    }

    // sizes and assertions
    r.def("aten::sym_size.int(Tensor self, int dim) -> SymInt", core, |a| Ok(Value::Int(a.tensor("self")?.size(a.int("dim")?)? as i64)));
    r.def("aten::sym_stride.int(Tensor self, int dim) -> SymInt", core, |a| {
        let t = a.tensor("self")?;
        Ok(Value::Int(t.strides()[wrap_dim(a.int("dim")?, t.dim())?] as i64))
    });
    r.def("aten::sym_numel(Tensor self) -> SymInt", core, |a| Ok(Value::Int(a.tensor("self")?.numel() as i64)));
    r.def("aten::sym_storage_offset(Tensor self) -> SymInt", core, |a| Ok(Value::Int(a.tensor("self")?.storage_offset() as i64))).any_dtype();
    r.def("aten::_local_scalar_dense(Tensor self) -> Scalar", core, item);
    r.def("aten::item(Tensor self) -> Scalar", none, item);
    r.def("aten::_assert_scalar(Scalar self, str assert_msg) -> ()", none, assert_scalar);
    r.def("aten::_assert_async.msg(Tensor self, str assert_msg) -> ()", none, assert_async);
    r.def("aten::_assert_tensor_metadata(Tensor a, SymInt[]? size=None, SymInt[]? stride=None, ScalarType? dtype=None, *, Device? device=None, Layout? layout=None) -> ()", none, assert_tensor_metadata).any_dtype();
}

// ----- views --------------------------------------------------------------------------------

fn t(a: &Args) -> Result<Tensor> {
    let x = a.tensor("self")?;
    if x.dim() > 2 {
        bail!("t() expects a tensor with <= 2 dimensions, but self is {}D", x.dim());
    }
    if x.dim() < 2 {
        return Ok(x.clone());
    }
    x.transpose(0, 1)
}

fn slice(a: &Args) -> Result<Tensor> {
    a.tensor("self")?.slice(a.int("dim")?, a.opt_int("start")?, a.opt_int("end")?, a.int("step")?)
}

fn usizes(v: &[i64], what: &str) -> Result<Vec<usize>> {
    v.iter()
        .map(|&s| if s < 0 { Err(tensor::Error::msg(format!("{what} must be non-negative, got {s}"))) } else { Ok(s as usize) })
        .collect()
}

fn strided_view(t: &Tensor, a: &Args) -> Result<Tensor> {
    let size = usizes(&a.int_list("size")?, "as_strided size")?;
    let stride: Vec<isize> = a.int_list("stride")?.iter().map(|&s| s as isize).collect();
    if size.len() != stride.len() {
        bail!("mismatch in length of strides and shape");
    }
    let offset = a.opt_int("storage_offset")?.map(|o| o as usize);
    t.as_strided(&size, &stride, offset)
}

fn as_strided(a: &Args) -> Result<Tensor> {
    strided_view(a.tensor("self")?, a)
}

fn narrow_copy(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let len = a.int("length")?;
    if len < 0 {
        bail!("narrow(): length must be non-negative.");
    }
    Ok(x.narrow(a.int("dim")?, a.int("start")?, len as usize)?.deep_clone().into())
}

// ----- copies -------------------------------------------------------------------------------

fn copy(a: &Args) -> Result<Value> {
    let (x, src) = (a.tensor("self")?, a.tensor("src")?);
    let out = x.deep_clone();
    out.copy_(src)?;
    Ok(out.into())
}

fn to_copy(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let dt = a.opt_dtype("dtype")?.unwrap_or(x.dtype());
    let t = if dt == x.dtype() { x.deep_clone() } else { x.to_dtype(dt) };
    Ok(t.into())
}

fn to_dtype(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let dt = a.opt_dtype("dtype")?.unwrap_or(x.dtype());
    if dt == x.dtype() && !a.bool("copy")? {
        return Ok(x.clone().into());
    }
    Ok(if dt == x.dtype() { x.deep_clone() } else { x.to_dtype(dt) }.into())
}

/// A tensor of `shape` and `dtype` filled with a number: integers exactly, a complex number in
/// both parts. One with an imaginary part goes only into a complex dtype, as in PyTorch.
pub fn filled(shape: &[usize], v: Scalar, dtype: DType) -> Result<Tensor> {
    Ok(match v {
        Scalar::Complex(re, im) if dtype.is_complex() => super::complex::full(shape, re, im, dtype),
        Scalar::Complex(re, im) if im != 0.0 => {
            bail!("value {} cannot be converted to type {dtype} without overflow", crate::repr::python_complex(re, im))
        }
        Scalar::Float(f) | Scalar::Complex(f, _) => Tensor::full(shape, f, dtype),
        s => Tensor::full_i64(shape, s.to_i64(), dtype),
    })
}

// ----- joining and splitting ----------------------------------------------------------------

/// `torch.cat`: promotes to a common dtype; legacy empty 1-d tensors are skipped.
pub fn cat(tensors: &[Tensor], dim: i64) -> Result<Tensor> {
    if tensors.is_empty() {
        bail!("torch.cat(): expected a non-empty list of Tensors");
    }
    let out_dtype = tensors[1..].iter().try_fold(tensors[0].dtype(), |d, t| tensor::promote_types(d, t.dtype()))?;
    let parts: Vec<&Tensor> = tensors.iter().filter(|t| !(t.dim() == 1 && t.numel() == 0)).collect();
    let Some(first) = parts.first() else {
        return Ok(Tensor::zeros(&[0], out_dtype));
    };
    if first.dim() == 0 {
        bail!("zero-dimensional tensor (at position 0) cannot be concatenated");
    }
    let d = wrap_dim(dim, first.dim())?;
    let mut shape = first.shape().to_vec();
    shape[d] = 0;
    for (i, t) in parts.iter().enumerate() {
        if t.dim() != first.dim() {
            bail!(
                "Tensors must have same number of dimensions: got {} and {}",
                first.dim(),
                t.dim()
            );
        }
        for k in 0..t.dim() {
            if k != d && t.shape()[k] != first.shape()[k] {
                bail!(
                    "Sizes of tensors must match except in dimension {d}. Expected size {} but got size {} for tensor number {i} in the list.",
                    first.shape()[k],
                    t.shape()[k]
                );
            }
        }
        shape[d] += t.shape()[d];
    }
    if parts.iter().all(|t| t.dtype() == out_dtype) {
        return Ok(concatenated(&parts, d, &shape));
    }
    let out = Tensor::zeros(&shape, out_dtype);
    let mut offset = 0;
    for t in parts {
        let n = t.shape()[d];
        if n > 0 {
            out.narrow(d as i64, offset as i64, n)?.copy_(&t.to_dtype(out_dtype))?;
        }
        offset += n;
    }
    Ok(out)
}

/// `cat` of tensors of one dtype: for each position before `dim`, each part's run of
/// contiguous elements is copied whole, one after the other (DenseNet's growing feature maps
/// are copied at memory speed, not element by element).
fn concatenated(parts: &[&Tensor], d: usize, shape: &[usize]) -> Tensor {
    let inner: usize = shape[d + 1..].iter().product();
    let outer: usize = shape[..d].iter().product();
    let row = shape[d] * inner;
    tensor::with_dtype!(parts[0].dtype(), T => {
        let mut out = tensor::alloc::tensor_vec(T::default(), shape);
        let mut offset = 0;
        for t in parts {
            let run = t.shape()[d] * inner;
            if run > 0 {
                t.with_contiguous::<T, _>(|src| {
                    for o in 0..outer {
                        out[o * row + offset..o * row + offset + run].copy_from_slice(&src[o * run..(o + 1) * run]);
                    }
                });
            }
            offset += run;
        }
        Tensor::from_vec(out, shape).expect("sized by shape")
    })
}

fn stack(a: &Args) -> Result<Value> {
    let ts = a.tensor_list("tensors")?;
    if ts.is_empty() {
        bail!("stack expects a non-empty TensorList");
    }
    let d = wrap_dim(a.int("dim")?, ts[0].dim() + 1)?;
    for (i, t) in ts.iter().enumerate() {
        if t.shape() != ts[0].shape() {
            bail!("stack expects each tensor to be equal size, but got {:?} at entry 0 and {:?} at entry {i}", ts[0].shape(), t.shape());
        }
    }
    let us = ts.iter().map(|t| t.unsqueeze(d as i64)).collect::<Result<Vec<_>>>()?;
    Ok(cat(&us, d as i64)?.into())
}

fn pieces(x: &Tensor, d: usize, sizes: &[usize], copy: bool) -> Result<Value> {
    let mut out = Vec::with_capacity(sizes.len());
    let mut start = 0;
    for &s in sizes {
        let p = x.narrow(d as i64, start as i64, s)?;
        out.push(if copy { p.deep_clone() } else { p });
        start += s;
    }
    Ok(out.into())
}

fn split_every(a: &Args, copy: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = wrap_dim(a.int("dim")?, x.dim())?;
    let size = a.int("split_size")?;
    if size < 0 {
        bail!("split expects split_size be non-negative, but got split_size={size}");
    }
    let n = x.shape()[d];
    let sizes: Vec<usize> = if size == 0 {
        if n != 0 {
            bail!("split_size can only be 0 if dimension size is 0, but got dimension size of {n}");
        }
        vec![0]
    } else {
        let k = (n.max(1)).div_ceil(size as usize);
        (0..k).map(|i| (size as usize).min(n - i * size as usize)).collect()
    };
    pieces(x, d, &sizes, copy)
}

fn split_sizes(a: &Args, copy: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = wrap_dim(a.int("dim")?, x.dim())?;
    let sizes = usizes(&a.int_list("split_sizes")?, "split_with_sizes sizes")?;
    let total: usize = sizes.iter().sum();
    if total != x.shape()[d] {
        bail!(
            "split_with_sizes expects split_sizes to sum exactly to {} (input tensor's size at dimension {d}), but got split_sizes={sizes:?}",
            x.shape()[d]
        );
    }
    pieces(x, d, &sizes, copy)
}

fn chunk(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let chunks = a.int("chunks")?;
    if chunks <= 0 {
        bail!("chunk expects `chunks` to be greater than 0, got: {chunks}");
    }
    let d = wrap_dim(a.int("dim")?, x.dim())?;
    let n = x.shape()[d];
    let each = n.div_ceil(chunks as usize);
    if each == 0 {
        return pieces(x, d, &vec![0; chunks as usize], false);
    }
    let k = n.div_ceil(each);
    let sizes: Vec<usize> = (0..k).map(|i| each.min(n - i * each)).collect();
    pieces(x, d, &sizes, false)
}

fn unbind(a: &Args, copy: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = wrap_dim(a.int("dim")?, x.dim())?;
    let out = (0..x.shape()[d])
        .map(|i| x.select(d as i64, i as i64).map(|t| if copy { t.deep_clone() } else { t }))
        .collect::<Result<Vec<_>>>()?;
    Ok(out.into())
}

fn block_diag(a: &Args) -> Result<Value> {
    let ts = a.tensor_list("tensors")?;
    let dtype = ts.iter().skip(1).try_fold(ts.first().map(|t| t.dtype()).unwrap_or(DType::F32), |d, t| tensor::promote_types(d, t.dtype()))?;
    let mats = ts
        .iter()
        .map(|t| match t.dim() {
            0 => t.reshape(&[1, 1]),
            1 => t.reshape(&[1, -1]),
            2 => Ok(t.clone()),
            n => bail!("torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {n} has {n} dimensions"),
        })
        .collect::<Result<Vec<_>>>()?;
    let rows: usize = mats.iter().map(|m| m.shape()[0]).sum();
    let cols: usize = mats.iter().map(|m| m.shape()[1]).sum();
    let out = Tensor::zeros(&[rows, cols], dtype);
    let (mut r, mut c) = (0, 0);
    for m in mats {
        let (h, w) = (m.shape()[0], m.shape()[1]);
        if h > 0 && w > 0 {
            out.narrow(0, r as i64, h)?.narrow(1, c as i64, w)?.copy_(&m.to_dtype(dtype))?;
        }
        r += h;
        c += w;
    }
    Ok(out.into())
}

/// `_chunk_cat`: each tensor padded along `dim` to a multiple of `num_chunks`, viewed as
/// `[..., num_chunks, -1]`, and the pieces concatenated along the last of those dims.
fn chunk_cat(a: &Args) -> Result<Value> {
    let ts = a.tensor_list("tensors")?;
    let chunks = a.int("num_chunks")?;
    if ts.is_empty() || chunks < 1 {
        bail!("_chunk_cat expects a non-empty input tensor list and num_chunks >= 1");
    }
    let d = wrap_dim(a.int("dim")?, ts[0].dim())?;
    let mut parts = Vec::with_capacity(ts.len());
    for t in &ts {
        let n = t.shape()[d] as i64;
        let padded_len = (n + chunks - 1) / chunks * chunks;
        let mut shape: Vec<usize> = t.shape().to_vec();
        shape[d] = padded_len as usize;
        let padded = Tensor::zeros(&shape, t.dtype());
        if n > 0 {
            padded.narrow(d as i64, 0, n as usize)?.copy_(t)?;
        }
        let mut view: Vec<i64> = t.shape()[..d].iter().map(|&s| s as i64).collect();
        view.extend([chunks, -1]);
        parts.push(padded.reshape(&view)?);
    }
    Ok(cat(&parts, d as i64 + 1)?.into())
}

// ----- rearranging --------------------------------------------------------------------------

/// A copy with the given dims reversed.
pub fn flip(x: &Tensor, dims: &[i64]) -> Result<Tensor> {
    let mut strides = x.strides().to_vec();
    let mut offset = x.storage_offset() as isize;
    let mut seen = vec![false; x.dim()];
    for &d in dims {
        let d = wrap_dim(d, x.dim())?;
        if seen[d] {
            bail!("dims has duplicates, original flip dims size={}, but unique flip dims size={}", dims.len(), dims.len() - 1);
        }
        seen[d] = true;
        if x.shape()[d] > 0 {
            offset += (x.shape()[d] as isize - 1) * strides[d];
        }
        strides[d] = -strides[d];
    }
    if x.numel() == 0 {
        return Ok(x.deep_clone());
    }
    Ok(Tensor::from_storage(x.storage().clone(), x.dtype(), x.shape(), &strides, offset as usize).deep_clone())
}


fn rot90(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let dims = a.int_list("dims")?;
    if dims.len() != 2 {
        bail!("expected total rotation dims == 2, but got dims = {}", dims.len());
    }
    if x.dim() < 2 {
        bail!("expected total dims >= 2, but got total dims = {}", x.dim());
    }
    let (d0, d1) = (wrap_dim(dims[0], x.dim())?, wrap_dim(dims[1], x.dim())?);
    if d0 == d1 {
        bail!("expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}");
    }
    let (d0, d1) = (d0 as i64, d1 as i64);
    Ok(match a.int("k")?.rem_euclid(4) {
        1 => flip(x, &[d1])?.transpose(d0, d1)?.deep_clone(),
        2 => flip(x, &[d0, d1])?,
        3 => flip(x, &[d0])?.transpose(d0, d1)?.deep_clone(),
        _ => x.deep_clone(),
    }
    .into())
}

fn repeat(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let reps = a.int_list("repeats")?;
    if reps.len() < x.dim() {
        bail!("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor");
    }
    if let Some(r) = reps.iter().find(|&&r| r < 0) {
        bail!("Trying to create tensor with negative dimension {r}");
    }
    let lead = reps.len() - x.dim();
    let padded: Vec<usize> = std::iter::repeat_n(1, lead).chain(x.shape().iter().copied()).collect();
    // view as [1, s0, 1, s1, ...], expand to [r0, s0, r1, s1, ...], then merge pairs
    let interleaved: Vec<i64> = padded.iter().flat_map(|&s| [1, s as i64]).collect();
    let expanded: Vec<i64> = padded.iter().zip(&reps).flat_map(|(&s, &r)| [r, s as i64]).collect();
    let out_shape: Vec<i64> = padded.iter().zip(&reps).map(|(&s, &r)| r * s as i64).collect();
    let v = x.reshape(&interleaved)?.expand(&expanded)?.deep_clone();
    Ok(v.reshape(&out_shape)?.into())
}

fn triangle(a: &Args, lower: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    if x.dim() < 2 {
        bail!("{}: input tensor must have at least 2 dimensions", if lower { "tril" } else { "triu" });
    }
    let k = a.int("diagonal")?;
    let (rows, cols) = (x.shape()[x.dim() - 2], x.shape()[x.dim() - 1]);
    let mask: Vec<tensor::Bool8> = (0..rows * cols)
        .map(|i| {
            let (r, c) = ((i / cols) as i64, (i % cols) as i64);
            (if lower { c - r <= k } else { c - r >= k }).into()
        })
        .collect();
    let mask = Tensor::from_vec(mask, &[rows, cols])?;
    let zero = Tensor::zeros(&[], x.dtype());
    let r = tensor::with_dtype!(x.dtype(), T => tensor::kernels::elementwise::zip3::<tensor::Bool8, T, T, T>(&mask, x, &zero, |m, v, z| if m.get() { v } else { z })?);
    Ok(r.into())
}

fn diag_embed(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let offset = a.int("offset")?;
    let out_rank = x.dim() + 1;
    let (d1, d2) = (wrap_dim(a.int("dim1")?, out_rank)?, wrap_dim(a.int("dim2")?, out_rank)?);
    if d1 == d2 {
        bail!("diagonal dimensions cannot be identical {d1}, {d2}");
    }
    let n = x.shape().last().copied().unwrap_or(1) + offset.unsigned_abs() as usize;
    let mut shape: Vec<usize> = x.shape()[..x.dim().saturating_sub(1)].to_vec();
    let (lo, hi) = (d1.min(d2), d1.max(d2));
    shape.insert(lo, n);
    shape.insert(hi, n);
    let out = Tensor::zeros(&shape, x.dtype());
    let diag = out.diagonal(offset, d1 as i64, d2 as i64)?;
    diag.copy_(x)?;
    Ok(out.into())
}

// ----- padding ------------------------------------------------------------------------------

/// Pairs `(before, after)` per padded dim, last dim first, as PyTorch's pad lists give them.
fn pad_pairs(pad: &[i64], rank: usize) -> Result<Vec<(usize, i64, i64)>> {
    if pad.len() % 2 != 0 {
        bail!("Length of pad must be even but instead it equals {}", pad.len());
    }
    if pad.len() / 2 > rank {
        bail!("Length of pad should be no more than twice the number of dimensions of the input. Pad length is {} while the input has {rank} dimensions.", pad.len());
    }
    Ok(pad.chunks(2).enumerate().map(|(i, p)| (rank - 1 - i, p[0], p[1])).collect())
}

fn constant_pad(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let pairs = pad_pairs(&a.int_list("pad")?, x.dim())?;
    let mut shape: Vec<i64> = x.shape().iter().map(|&s| s as i64).collect();
    for &(d, b, e) in &pairs {
        shape[d] += b + e;
        if shape[d] < 0 {
            bail!("The input size {}, plus negative padding {b} and {e} resulted in a negative output size, which is invalid. Check dimension {d} of your input.", x.shape()[d]);
        }
    }
    let out = filled(&shape.iter().map(|&s| s as usize).collect::<Vec<_>>(), a.number("value")?, x.dtype())?;
    // the region of the input that survives, and where it lands
    let (mut src, mut dst) = (x.clone(), out.clone());
    for &(d, b, e) in &pairs {
        let n = x.shape()[d] as i64;
        let (src_start, dst_start) = (if b < 0 { -b } else { 0 }, if b > 0 { b } else { 0 });
        let len = n + b.min(0) + e.min(0);
        if len <= 0 {
            return Ok(out.into());
        }
        src = src.narrow(d as i64, src_start, len as usize)?;
        dst = dst.narrow(d as i64, dst_start, len as usize)?;
    }
    dst.copy_(&src)?;
    Ok(out.into())
}

/// Pads by gathering, per padded dim, the source index each output position reads.
fn index_pad(a: &Args, name: &str, source: fn(i64, i64) -> i64) -> Result<Value> {
    let x = a.tensor("self")?;
    let pad = a.int_list("padding")?;
    let spatial = pad.len() / 2;
    if x.dim() < spatial + 1 {
        bail!("{name}: expected {}D or {}D input, got {}D", spatial + 1, spatial + 2, x.dim());
    }
    let mut r = x.clone();
    for (d, b, e) in pad_pairs(&pad, x.dim())? {
        let n = x.shape()[d] as i64;
        if name.starts_with("reflection") && (b >= n || e >= n) {
            bail!("Argument #4: Padding size should be less than the corresponding input dimension, but got: padding ({b}, {e}) at dimension {d} of input {:?}", x.shape());
        }
        if n == 0 && (b > 0 || e > 0) {
            bail!("{name}: input tensor has a zero-sized padded dimension {d}");
        }
        let out_len = n + b + e;
        if out_len < 0 {
            bail!("{name}: padding ({b}, {e}) gives a negative output size for dimension {d}");
        }
        let parts = (0..out_len)
            .map(|i| r.narrow(d as i64, source(i - b, n), 1))
            .collect::<Result<Vec<_>>>()?;
        r = if parts.is_empty() {
            let mut s: Vec<usize> = r.shape().to_vec();
            s[d] = 0;
            Tensor::zeros(&s, r.dtype())
        } else {
            cat(&parts, d as i64)?
        };
    }
    Ok(r.deep_clone().into())
}

fn reflection_pad(a: &Args) -> Result<Value> {
    index_pad(a, "reflection_pad", |i, n| {
        if n == 1 {
            return 0;
        }
        let period = 2 * (n - 1);
        let m = i.rem_euclid(period);
        if m < n {
            m
        } else {
            period - m
        }
    })
}

fn replication_pad(a: &Args) -> Result<Value> {
    index_pad(a, "replication_pad", |i, n| i.clamp(0, n - 1))
}

// ----- sizes and assertions -----------------------------------------------------------------

fn item(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if x.numel() != 1 {
        bail!("a Tensor with {} elements cannot be converted to Scalar", x.numel());
    }
    Ok(match x.dtype() {
        DType::Bool => Value::Bool(x.item_i64()? != 0),
        d if d.is_float() => Value::Float(x.item_f64()?),
        _ => Value::Int(x.item_i64()?),
    })
}

/// The permutation `movedim(source, destination)` applies: `source` moved to `destination`,
/// the other dims in their order.
pub fn movedim_order(rank: usize, source: i64, destination: i64) -> Result<Vec<i64>> {
    let (s, d) = (wrap_dim(source, rank)?, wrap_dim(destination, rank)?);
    let mut rest: Vec<i64> = (0..rank as i64).filter(|&i| i != s as i64).collect();
    rest.insert(d, s as i64);
    Ok(rest)
}

/// `torch._constrain_as_size` and friends at run time: the value must lie in `[min, max]`.
fn constrain_range(a: &Args) -> Result<Value> {
    let v = a.scalar("size")?.to_i64();
    let (lo, hi) = (a.opt_int("min")?, a.opt_int("max")?);
    if lo.is_some_and(|lo| v < lo) || hi.is_some_and(|hi| v > hi) {
        let bound = |b: Option<i64>, inf: &str| b.map_or(inf.to_string(), |b| b.to_string());
        bail!("Invalid value range for {v} between [{}, {}].", bound(lo, "-int_oo"), bound(hi, "int_oo"));
    }
    Ok(Value::None)
}

/// `_assert_async.msg`: a one-element tensor that must be nonzero (true) when the program runs.
fn assert_async(a: &Args) -> Result<Value> {
    let t = a.tensor("self")?;
    if t.numel() != 1 {
        bail!("Boolean value of Tensor with more than one value is ambiguous");
    }
    if t.to_f64_vec()[0] == 0.0 {
        bail!("{}", a.str("assert_msg")?);
    }
    Ok(Value::None)
}

fn assert_scalar(a: &Args) -> Result<Value> {
    let ok = match a.get("self")? {
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Float(f) => *f != 0.0,
        other => bail!("_assert_scalar expects a bool, got {}", other.kind()),
    };
    if !ok {
        bail!("{}", a.str("assert_msg")?);
    }
    Ok(Value::None)
}

fn assert_tensor_metadata(a: &Args) -> Result<Value> {
    let x = a.tensor("a")?;
    if let Some(d) = a.opt_dtype("dtype")? {
        if d != x.dtype() {
            bail!("Tensor dtype mismatch! Expected dtype {d}, but got dtype {}", x.dtype());
        }
    }
    if let Some(size) = a.opt_int_list("size")? {
        if size.iter().map(|&s| s as usize).ne(x.shape().iter().copied()) {
            bail!("Tensor size mismatch! Expected size {size:?}, but got size {:?}", x.shape());
        }
    }
    Ok(Value::None)
}
