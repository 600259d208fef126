//! Composites that rearrange, stack or split tensors: transposes by another name
//! (`mT`, `numpy_T`), views of real tensors that only matter for complex ones (`real`,
//! `resolve_conj`), `broadcast_tensors`, the `*stack` and `atleast_*d` family, `narrow`,
//! `flipud`/`fliplr`, `movedim` with lists, `unsafe_chunk`, `tensor_split` and `h/v/dsplit`,
//! `sum_to_size`, `diag`/`diagflat`, `meshgrid` and `cartesian_prod`.

use export::retrace::DecompCall;
use export::trace::{call, Arg};
use export::{Error, Result, SymInt, Tensor};
use ops::names::aten;
use ops::{meta, MetaCall};
use symbolic::Expr;

use super::{one, op1, wrap_dim, Composite, Sizes};
use crate::rules::{ints, permute, reshape_to};

pub(super) const COMPOSITES: &[Composite] = &[
    Composite { schema: "aten::mT(Tensor(a) self) -> Tensor(a)", tags: &[], meta: Some(last_two_swapped), dtype: None, decompose: last_two_transposed },
    Composite { schema: "aten::mH(Tensor(a) self) -> Tensor(a)", tags: &[], meta: Some(last_two_swapped), dtype: None, decompose: conjugate_transposed },
    Composite { schema: "aten::matrix_H(Tensor(a) self) -> Tensor(a)", tags: &[], meta: Some(last_two_swapped), dtype: None, decompose: conjugate_transposed },
    Composite { schema: "aten::adjoint(Tensor(a) self) -> Tensor(a)", tags: &[], meta: Some(last_two_swapped), dtype: None, decompose: conjugate_transposed },
    Composite { schema: "aten::numpy_T(Tensor(a) self) -> Tensor(a)", tags: &[], meta: Some(reversed_meta), dtype: None, decompose: numpy_t },
    Composite { schema: "aten::real(Tensor(a) self) -> Tensor(a)", tags: &[], meta: Some(meta::same_as_self), dtype: Some(ops::DtypeRule::Custom(real_part_dtype)), decompose: real },
    Composite { schema: "aten::imag(Tensor(a) self) -> Tensor(a)", tags: &[], meta: Some(meta::same_as_self), dtype: Some(ops::DtypeRule::Custom(real_part_dtype)), decompose: imag },
    Composite { schema: "aten::resolve_conj(Tensor(a) self) -> Tensor(a)", tags: &[], meta: Some(meta::same_as_self), dtype: None, decompose: real_itself },
    Composite { schema: "aten::resolve_neg(Tensor(a) self) -> Tensor(a)", tags: &[], meta: Some(meta::same_as_self), dtype: None, decompose: real_itself },
    Composite { schema: "aten::broadcast_tensors(Tensor[] tensors) -> Tensor[]", tags: &[], meta: Some(broadcast_tensors_meta), dtype: None, decompose: broadcast_tensors },
    Composite { schema: "aten::atleast_1d(Tensor self) -> Tensor", tags: &[], meta: Some(atleast_meta), dtype: None, decompose: atleast },
    Composite { schema: "aten::atleast_2d(Tensor self) -> Tensor", tags: &[], meta: Some(atleast_meta), dtype: None, decompose: atleast },
    Composite { schema: "aten::atleast_3d(Tensor self) -> Tensor", tags: &[], meta: Some(atleast_meta), dtype: None, decompose: atleast },
    Composite { schema: "aten::vstack(Tensor[] tensors) -> Tensor", tags: &[], meta: Some(stack_family_meta), dtype: None, decompose: stack_family },
    Composite { schema: "aten::hstack(Tensor[] tensors) -> Tensor", tags: &[], meta: Some(stack_family_meta), dtype: None, decompose: stack_family },
    Composite { schema: "aten::dstack(Tensor[] tensors) -> Tensor", tags: &[], meta: Some(stack_family_meta), dtype: None, decompose: stack_family },
    Composite { schema: "aten::column_stack(Tensor[] tensors) -> Tensor", tags: &[], meta: Some(stack_family_meta), dtype: None, decompose: stack_family },
    Composite { schema: "aten::narrow(Tensor(a) self, int dim, SymInt start, SymInt length) -> Tensor(a)", tags: &[], meta: Some(meta::narrow), dtype: None, decompose: narrow },
    Composite { schema: "aten::flipud(Tensor self) -> Tensor", tags: &[], meta: Some(meta::same_as_self), dtype: None, decompose: flipud },
    Composite { schema: "aten::fliplr(Tensor self) -> Tensor", tags: &[], meta: Some(meta::same_as_self), dtype: None, decompose: fliplr },
    Composite { schema: "aten::movedim.intlist(Tensor(a) self, int[] source, int[] destination) -> Tensor(a)", tags: &[], meta: Some(movedim_list_meta), dtype: None, decompose: movedim_list },
    Composite { schema: "aten::unsafe_chunk(Tensor self, int chunks, int dim=0) -> Tensor[]", tags: &[], meta: Some(unsafe_chunk_meta), dtype: None, decompose: unsafe_chunk },
    Composite { schema: "aten::tensor_split.sections(Tensor(a -> *) self, SymInt sections, int dim=0) -> Tensor(a)[]", tags: &[], meta: Some(split_meta), dtype: None, decompose: split_family },
    Composite { schema: "aten::tensor_split.indices(Tensor(a -> *) self, SymInt[] indices, int dim=0) -> Tensor(a)[]", tags: &[], meta: Some(split_meta), dtype: None, decompose: split_family },
    Composite {
        schema: "aten::tensor_split.tensor_indices_or_sections(Tensor(a -> *) self, Tensor tensor_indices_or_sections, int dim=0) -> Tensor(a)[]",
        tags: &[],
        meta: None,
        dtype: None,
        decompose: tensor_split_by_tensor,
    },
    Composite { schema: "aten::vsplit.int(Tensor(a -> *) self, int sections) -> Tensor(a)[]", tags: &[], meta: Some(split_meta), dtype: None, decompose: split_family },
    Composite { schema: "aten::vsplit.array(Tensor(a -> *) self, int[] indices) -> Tensor(a)[]", tags: &[], meta: Some(split_meta), dtype: None, decompose: split_family },
    Composite { schema: "aten::hsplit.int(Tensor(a -> *) self, int sections) -> Tensor(a)[]", tags: &[], meta: Some(split_meta), dtype: None, decompose: split_family },
    Composite { schema: "aten::hsplit.array(Tensor(a -> *) self, int[] indices) -> Tensor(a)[]", tags: &[], meta: Some(split_meta), dtype: None, decompose: split_family },
    Composite { schema: "aten::dsplit.int(Tensor(a -> *) self, int sections) -> Tensor(a)[]", tags: &[], meta: Some(split_meta), dtype: None, decompose: split_family },
    Composite { schema: "aten::dsplit.array(Tensor(a -> *) self, int[] indices) -> Tensor(a)[]", tags: &[], meta: Some(split_meta), dtype: None, decompose: split_family },
    Composite {
        schema: "aten::sum_to_size(Tensor self, SymInt[] size) -> Tensor",
        tags: &[],
        meta: Some(sum_to_size_meta),
        dtype: Some(ops::DtypeRule::Custom(sum_to_size_dtype)), decompose: sum_to_size,
    },
    Composite { schema: "aten::diag(Tensor self, int diagonal=0) -> Tensor", tags: &[], meta: Some(diag_meta), dtype: None, decompose: diag },
    Composite { schema: "aten::diagflat(Tensor self, int offset=0) -> Tensor", tags: &[], meta: Some(diag_meta), dtype: None, decompose: diag },
    Composite { schema: "aten::argwhere(Tensor self) -> Tensor", tags: &[], meta: Some(meta::nonzero), dtype: Some(ops::DtypeRule::Long), decompose: argwhere },
    Composite { schema: "aten::nonzero_numpy(Tensor self) -> Tensor[]", tags: &[], meta: Some(nonzero_numpy_meta), dtype: Some(ops::DtypeRule::Long), decompose: nonzero_numpy },
    Composite { schema: "aten::meshgrid(Tensor[] tensors) -> Tensor[]", tags: &[], meta: Some(meshgrid_meta), dtype: None, decompose: meshgrid },
    Composite { schema: "aten::meshgrid.indexing(Tensor[] tensors, *, str indexing) -> Tensor[]", tags: &[], meta: Some(meshgrid_meta), dtype: None, decompose: meshgrid },
    Composite { schema: "aten::cartesian_prod(Tensor[] tensors) -> Tensor", tags: &[], meta: Some(cartesian_prod_meta), dtype: None, decompose: cartesian_prod },
    Composite { schema: "aten::combinations(Tensor self, int r=2, bool with_replacement=False) -> Tensor", tags: &[], meta: Some(combinations_meta), dtype: None, decompose: combinations },
    Composite { schema: "aten::fft_fftshift(Tensor self, int[1]? dim=None) -> Tensor", tags: &[], meta: Some(meta::same_as_self), dtype: None, decompose: fftshift },
    Composite { schema: "aten::fft_ifftshift(Tensor self, int[1]? dim=None) -> Tensor", tags: &[], meta: Some(meta::same_as_self), dtype: None, decompose: fftshift },
    Composite { schema: "aten::resize(Tensor self, SymInt[] size, *, MemoryFormat? memory_format=None) -> Tensor", tags: &[], meta: Some(resize_meta), dtype: None, decompose: resize },
    // in place, the result is a new tensor of the new sizes: a program reads it from the node's
    // output (PyTorch's export names it), not from the resized input
    Composite { schema: "aten::resize_(Tensor(a!) self, SymInt[] size, *, MemoryFormat? memory_format=None) -> Tensor(a!)", tags: &[], meta: Some(resize_meta), dtype: None, decompose: resize },
    Composite { schema: "aten::resize_as_(Tensor(a!) self, Tensor the_template, *, MemoryFormat? memory_format=None) -> Tensor(a!)", tags: &[], meta: Some(template_sizes), dtype: None, decompose: resize_as },
];

/// `fft.fftshift` / `fft.ifftshift`: a roll by half of each dim (all dims by default), rounded
/// down for `fftshift` and up for `ifftshift`.
fn fftshift(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let rank = x.dim() as i64;
    let dims: Vec<i64> = match c.args.get("dim")? {
        Arg::None => (0..rank).collect(),
        _ => c.args.ints("dim")?.iter().map(|d| wrap_dim(&c.args.op, d.hint(), rank)).collect::<Result<_>>()?,
    };
    let up = c.args.op.contains("ifftshift");
    let shifts = dims.iter().map(|&d| Ok(if up { (x.size(d)? + 1).floordiv(2) } else { x.size(d)?.floordiv(2) })).collect::<Result<Vec<SymInt>>>()?;
    if dims.is_empty() {
        return one(x);
    }
    one(super::rolled(x, &shifts, &dims)?)
}

/// `resize`: the first `prod(size)` elements in order, with the new sizes (PyTorch's
/// `as_strided` of the storage). Growing is refused: PyTorch leaves the new elements
/// uninitialized, which no program can rely on.
fn resize(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let size = c.args.ints("size")?;
    resized(&c.args.op, &x, &size)
}

fn resize_as(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let size = c.args.tensor("the_template")?.sizes();
    resized(&c.args.op, &x, &size)
}

fn resized(op: &str, x: &Tensor, size: &[SymInt]) -> Result<Vec<Arg>> {
    let (old, new) = (crate::rules::product(&x.sizes()), crate::rules::product(size));
    if !new.le(old.clone())? {
        return Err(Error::msg(format!("{op}: resizing a tensor of {old} elements to {new} would leave the new elements uninitialized; pt2 refuses it")));
    }
    let mut strides = vec![SymInt::from(1); size.len()];
    for i in (0..size.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1].clone() * size[i + 1].clone();
    }
    let base = x.contiguous()?;
    one(op1(aten::as_strided, vec![Arg::Tensor(base), Arg::Ints(size.to_vec()), Arg::Ints(strides), Arg::Int(0.into())])?)
}

fn resize_meta(call: &mut MetaCall) -> Sizes {
    Ok(vec![call.ints("size")?])
}

fn template_sizes(call: &mut MetaCall) -> Sizes {
    Ok(vec![call.sizes("the_template")?])
}


fn list(tensors: Vec<Tensor>) -> Result<Vec<Arg>> {
    Ok(vec![Arg::Tensors(tensors)])
}

/// The conjugate transpose (`mH`, `adjoint`): the last two dims exchanged, then (of a complex
/// tensor) `_conj`, as PyTorch decomposes it; a real tensor's is its transpose.
fn conjugate_transposed(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let t = matrix_transpose(c)?;
    one(if t.dtype().is_complex() { op1(aten::_conj, vec![Arg::Tensor(t)])? } else { t })
}

/// The last two dims exchanged (a matrix transpose of each matrix in a batch).
fn last_two_transposed(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(matrix_transpose(c)?)
}

fn matrix_transpose(c: &DecompCall) -> Result<Tensor> {
    let x = c.args.tensor("self")?;
    let rank = x.dim() as i64;
    if rank < 2 {
        return Err(Error::msg(format!("{}: tensor.mT is only supported on matrices or batches of matrices. Got {rank}-D tensor.", c.args.op)));
    }
    let mut order: Vec<i64> = (0..rank).collect();
    order.swap(rank as usize - 2, rank as usize - 1);
    permute(&x, &order)
}

fn last_two_swapped(call: &mut MetaCall) -> Sizes {
    let mut s = call.sizes("self")?;
    let n = s.len();
    if n < 2 {
        return Err(ops::Error::msg(format!("{}: expected a matrix or a batch of matrices, got {n} dims", call.args.schema().qualified_name())));
    }
    s.swap(n - 2, n - 1);
    Ok(vec![s])
}

/// Every dim reversed (`x.T`).
fn numpy_t(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let order: Vec<i64> = (0..x.dim() as i64).rev().collect();
    one(permute(&x, &order)?)
}

fn reversed_meta(call: &mut MetaCall) -> Sizes {
    let mut s = call.sizes("self")?;
    s.reverse();
    Ok(vec![s])
}

/// The tensor itself: pt2's tensors are real (no complex dtypes, no lazy conjugate or negative
/// bits), so these views change nothing, as PyTorch's core program of a real tensor shows.
fn real_itself(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(c.args.tensor("self")?)
}

/// The real part: a real tensor itself; of a complex one, the first of its float pairs
/// (`view_as_real`, `select`), a view as in PyTorch.
fn real(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(part(c, 0)?)
}

/// The imaginary part of a complex tensor; real tensors have none (PyTorch refuses them too).
fn imag(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(part(c, 1)?)
}

fn part(c: &DecompCall, index: i64) -> Result<Tensor> {
    complex_part(&c.args.op, c.args.tensor("self")?, index)
}

/// Part `index` (0 real, 1 imaginary) of `x`, for the composite `op`.
pub(super) fn complex_part(op: &str, x: Tensor, index: i64) -> Result<Tensor> {
    if !x.dtype().is_complex() {
        return match index {
            0 => Ok(x),
            _ => Err(Error::msg(format!("{op}: imag is not implemented for tensors with non-complex dtypes."))),
        };
    }
    let pairs = op1(aten::view_as_real, vec![Arg::Tensor(x)])?;
    let last = pairs.dim() as i64 - 1;
    op1(aten::select_int, vec![Arg::Tensor(pairs), Arg::Int(last.into()), Arg::Int(index.into())])
}

fn real_part_dtype(args: &ops::Args) -> ops::Result<Vec<tensor::DType>> {
    Ok(vec![args.tensor("self")?.dtype().to_real()])
}

/// The broadcast shape of `shapes`, as sizes of the example (guards on symbolic sizes are
/// taken by the `expand` meta function when traced).
fn broadcast_shape(op: &str, shapes: &[Vec<SymInt>]) -> Result<Vec<SymInt>> {
    let n = shapes.iter().map(Vec::len).max().unwrap_or(0);
    let mut out: Vec<SymInt> = vec![SymInt::from(1); n];
    for s in shapes {
        for (i, size) in s.iter().enumerate() {
            let at = n - s.len() + i;
            if size.is_static() && size.hint() == 1 {
                continue;
            }
            if out[at].is_static() && out[at].hint() == 1 {
                out[at] = size.clone();
            } else if out[at].hint() != size.hint() {
                return Err(Error::msg(format!("{op}: the shapes cannot be broadcast together: size {} against {} at dim {at}", out[at].hint(), size.hint())));
            }
        }
    }
    Ok(out)
}

fn broadcast_tensors(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let tensors = c.args.tensors("tensors")?;
    let shapes: Vec<Vec<SymInt>> = tensors.iter().map(Tensor::sizes).collect();
    let target = broadcast_shape(&c.args.op, &shapes)?;
    list(tensors.into_iter().map(|t| op1(aten::expand, vec![Arg::Tensor(t), Arg::Ints(target.clone())])).collect::<Result<_>>()?)
}

fn broadcast_tensors_meta(call: &mut MetaCall) -> Sizes {
    let shapes: Vec<Vec<Expr>> = call.tensors("tensors")?.into_iter().flatten().collect();
    let mut out: Vec<Expr> = vec![];
    for s in &shapes {
        out = meta::broadcast(call, &out, s)?;
    }
    Ok(shapes.iter().map(|_| out.clone()).collect())
}

/// The rank `atleast_Nd` / the stacking operators raise a tensor to.
fn min_rank(op: &str) -> usize {
    if op.contains("atleast_3d") || op.contains("dstack") {
        3
    } else if op.contains("atleast_2d") || op.contains("vstack") {
        2
    } else {
        1
    }
}

/// `x` with dims added as `atleast_{rank}d` adds them: a 0-dim tensor becomes `[1, .., 1]`, a
/// vector a row (`[1, n]`, and `[1, n, 1]` for 3-d), a matrix gains a last dim for 3-d.
fn raised(x: Tensor, rank: usize) -> Result<Tensor> {
    let unsqueeze = |t: Tensor, d: i64| op1(aten::unsqueeze, vec![Arg::Tensor(t), Arg::Int(d.into())]);
    match (x.dim(), rank) {
        (0, _) => reshape_to(&x, &vec![SymInt::from(1); rank]),
        (1, 2) => unsqueeze(x, 0),
        (1, 3) => unsqueeze(unsqueeze(x, 0)?, -1),
        (2, 3) => unsqueeze(x, -1),
        _ => Ok(x),
    }
}

fn raised_sizes(mut s: Vec<Expr>, rank: usize) -> Vec<Expr> {
    match (s.len(), rank) {
        (0, _) => vec![Expr::Int(1); rank],
        (1, 2) => vec![Expr::Int(1), s.remove(0)],
        (1, 3) => vec![Expr::Int(1), s.remove(0), Expr::Int(1)],
        (2, 3) => {
            s.push(Expr::Int(1));
            s
        }
        _ => s,
    }
}

fn atleast(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let rank = min_rank(&c.args.op);
    one(raised(c.args.tensor("self")?, rank)?)
}

fn atleast_meta(call: &mut MetaCall) -> Sizes {
    let rank = min_rank(&call.args.schema().qualified_name());
    Ok(vec![raised_sizes(call.sizes("self")?, rank)])
}

/// How each stacking operator shapes its tensors and the dim it joins them along: `vstack`
/// rows of at least 2-d, `hstack` columns (dim 0 of vectors), `dstack` depth of at least 3-d,
/// `column_stack` columns with vectors as `[n, 1]`.
fn stacking(op: &str, first_rank: usize) -> (usize, i64) {
    if op.contains("vstack") {
        (2, 0)
    } else if op.contains("dstack") {
        (3, 2)
    } else if op.contains("column_stack") {
        (0, 1)
    } else {
        (1, if first_rank <= 1 { 0 } else { 1 })
    }
}

fn stack_family(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let tensors = c.args.tensors("tensors")?;
    let first_rank = tensors.first().ok_or_else(|| Error::msg(format!("{}: expects a non-empty TensorList", c.args.op)))?.dim();
    let (rank, dim) = stacking(&c.args.op, first_rank.max(1));
    let shaped = tensors
        .into_iter()
        .map(|t| if rank == 0 { if t.dim() <= 1 { reshape_to(&t, &[crate::rules::product(&t.sizes()), SymInt::from(1)]) } else { Ok(t) } } else { raised(t, rank) })
        .collect::<Result<Vec<_>>>()?;
    one(op1(aten::cat, vec![Arg::Tensors(shaped), Arg::Int(dim.into())])?)
}

fn stack_family_meta(call: &mut MetaCall) -> Sizes {
    let op = call.args.schema().qualified_name();
    let shapes: Vec<Vec<Expr>> = call.tensors("tensors")?.into_iter().flatten().collect();
    let first_rank = shapes.first().map_or(1, Vec::len).max(1);
    let (rank, dim) = stacking(&op, first_rank);
    let shaped: Vec<Vec<Expr>> = shapes
        .into_iter()
        .map(|s| if rank == 0 { if s.len() <= 1 { vec![s.first().cloned().unwrap_or(Expr::Int(1)), Expr::Int(1)] } else { s } } else { raised_sizes(s, rank) })
        .collect();
    let mut out = shaped[0].clone();
    let d = dim as usize;
    out[d] = Expr::add_all(shaped.iter().map(|s| s[d].clone()));
    Ok(vec![out])
}

/// `slice(dim, start, start + length)`.
fn narrow(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let d = wrap_dim(&c.args.op, c.args.int("dim")?.hint(), x.dim() as i64)?;
    let mut start = c.args.int("start")?;
    if start.hint() < 0 {
        start = x.size(d)? + start;
    }
    let end = start.clone() + c.args.int("length")?;
    one(op1(aten::slice_Tensor, vec![Arg::Tensor(x), Arg::Int(d.into()), Arg::Int(start), Arg::Int(end)])?)
}

fn flipped(c: &DecompCall, dim: i64, least: usize) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    if x.dim() < least {
        return Err(Error::msg(format!("{}: input must be >= {least}-d.", c.args.op)));
    }
    one(op1(aten::flip, vec![Arg::Tensor(x), ints(&[dim])])?)
}

fn flipud(c: &mut DecompCall) -> Result<Vec<Arg>> {
    flipped(c, 0, 1)
}

fn fliplr(c: &mut DecompCall) -> Result<Vec<Arg>> {
    flipped(c, 1, 2)
}

/// The permutation that moves dims `source` to `destination`, the others keeping their order.
fn movedim_order(op: &str, rank: usize, source: &[i64], destination: &[i64]) -> Result<Vec<i64>> {
    if source.len() != destination.len() {
        return Err(Error::msg(format!("{op}: Invalid source or destination dims: source ({source:?} dims) should contain the same number of dims as destination ({destination:?} dims)")));
    }
    let r = rank as i64;
    let src = source.iter().map(|&d| wrap_dim(op, d, r.max(1))).collect::<Result<Vec<_>>>()?;
    let dst = destination.iter().map(|&d| wrap_dim(op, d, r.max(1))).collect::<Result<Vec<_>>>()?;
    let mut order = vec![-1i64; rank];
    for (s, d) in src.iter().zip(&dst) {
        order[*d as usize] = *s;
    }
    let mut rest = (0..r).filter(|d| !src.contains(d));
    for slot in order.iter_mut().filter(|o| **o < 0) {
        *slot = rest.next().ok_or_else(|| Error::msg(format!("{op}: repeated dim in source or destination")))?;
    }
    Ok(order)
}

fn movedim_list(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let hints = |name: &str| -> Result<Vec<i64>> { Ok(c.args.ints(name)?.iter().map(SymInt::hint).collect()) };
    let order = movedim_order(&c.args.op, x.dim(), &hints("source")?, &hints("destination")?)?;
    one(permute(&x, &order)?)
}

fn movedim_list_meta(call: &mut MetaCall) -> Sizes {
    let s = call.sizes("self")?;
    let op = call.args.schema().qualified_name();
    let order = movedim_order(&op, s.len(), &call.args.int_list("source")?, &call.args.int_list("destination")?).map_err(|e| ops::Error::msg(e.to_string()))?;
    Ok(vec![order.iter().map(|&d| s[d as usize].clone()).collect()])
}

/// `chunk` without the view relation: `split_with_sizes` of chunks of `ceil(n / chunks)`.
fn unsafe_chunk(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let chunks = c.args.int("chunks")?.hint();
    let d = wrap_dim(&c.args.op, c.args.int("dim")?.hint(), x.dim() as i64)?;
    let n = x.size(d)?.hint();
    if chunks <= 0 {
        return Err(Error::msg(format!("{}: chunk expects `chunks` to be greater than 0, got: {chunks}", c.args.op)));
    }
    let each = (n + chunks - 1) / chunks;
    let sizes = piece_lengths(n, each);
    split_at_lengths(x, d, &sizes)
}

/// `[each, each, .., rest]` covering `n` (one empty piece for an empty dim).
fn piece_lengths(n: i64, each: i64) -> Vec<i64> {
    if n == 0 || each == 0 {
        return vec![0];
    }
    let mut v = vec![each; (n / each) as usize];
    if n % each != 0 {
        v.push(n % each);
    }
    v
}

fn split_at_lengths(x: Tensor, d: i64, lengths: &[i64]) -> Result<Vec<Arg>> {
    let pieces = export::trace::call(aten::split_with_sizes, vec![Arg::Tensor(x), ints(lengths), Arg::Int(d.into())], vec![])?;
    list(pieces)
}

fn unsafe_chunk_meta(call: &mut MetaCall) -> Sizes {
    let s = call.sizes("self")?;
    let d = call.wrap_dim(call.args.int("dim")?, s.len())?;
    let n = s[d].as_int().ok_or_else(|| ops::Error::msg("unsafe_chunk: a symbolic size cannot be chunked"))?;
    let chunks = call.args.int("chunks")?.max(1);
    Ok(piece_lengths(n, (n + chunks - 1) / chunks).into_iter().map(|len| with_dim(&s, d, Expr::Int(len))).collect())
}

fn with_dim(s: &[Expr], d: usize, size: Expr) -> Vec<Expr> {
    let mut v = s.to_vec();
    v[d] = size;
    v
}

/// The dim a `tensor_split`-family operator splits and where its pieces start and end:
/// `sections` pieces as even as possible (the first `n % sections` one longer), or the
/// pieces between `indices` (clamped to the size).
fn split_bounds(op: &str, rank: usize, n_of: &dyn Fn(usize) -> Result<i64>, sections: Option<i64>, indices: Option<Vec<i64>>, dim: Option<i64>) -> Result<(usize, Vec<(i64, i64)>)> {
    let d = if op.contains("vsplit") {
        if rank < 2 {
            return Err(Error::msg(format!("{op}: torch.vsplit requires a tensor with at least 2 dimension, but got a tensor with {rank} dimensions!")));
        }
        0
    } else if op.contains("hsplit") {
        if rank < 1 {
            return Err(Error::msg(format!("{op}: torch.hsplit requires a tensor with at least 1 dimension, but got a tensor with {rank} dimensions!")));
        }
        if rank == 1 { 0 } else { 1 }
    } else if op.contains("dsplit") {
        if rank < 3 {
            return Err(Error::msg(format!("{op}: torch.dsplit requires a tensor with at least 3 dimension, but got a tensor with {rank} dimensions!")));
        }
        2
    } else {
        wrap_dim(op, dim.unwrap_or(0), rank as i64)? as usize
    };
    let n = n_of(d)?;
    let bounds = match (sections, indices) {
        (Some(s), _) if s <= 0 => return Err(Error::msg(format!("{op}: number of sections must be larger than 0, got {s}"))),
        (Some(s), _) => {
            // h/v/dsplit with an int split evenly or refuse, as PyTorch does
            if !op.contains("tensor_split") && n % s != 0 {
                return Err(Error::msg(format!("{op}: the size of the split dimension ({n}) must be divisible by the number of sections ({s})")));
            }
            let (base, extra) = (n / s, n % s);
            let mut at = 0;
            (0..s)
                .map(|i| {
                    let len = base + i64::from(i < extra);
                    let b = (at, at + len);
                    at += len;
                    b
                })
                .collect()
        }
        (None, Some(idx)) => {
            let mut bounds = Vec::new();
            let mut start = 0;
            for i in idx.into_iter().chain([n]) {
                let end = i.clamp(0, n).max(start);
                bounds.push((start, end));
                start = end;
            }
            bounds
        }
        (None, None) => return Err(Error::msg(format!("{op}: neither sections nor indices given"))),
    };
    Ok((d, bounds))
}

/// `tensor_split` by a tensor: a 0-d one holds the number of sections, a 1-d one the indices,
/// read one by one as PyTorch's composite reads them (`slice`, `squeeze`, `_local_scalar_dense`),
/// so that a traced split stays data-dependent; the pieces lie between consecutive indices as
/// `slice` cuts them.
fn tensor_split_by_tensor(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let op = c.args.op.clone();
    let x = c.args.tensor("self")?;
    let spec = c.args.tensor("tensor_indices_or_sections")?;
    let dim = c.args.int("dim")?.hint();
    if spec.dtype() != tensor::DType::I64 {
        return Err(Error::msg(format!("{op}: tensor_split expected tensor_indices_or_sections to have long dtype, but got {}", spec.dtype())));
    }
    match spec.dim() {
        0 => {
            let sizes = x.sizes();
            let sections = Some(spec.item_int()?.hint());
            let (d, bounds) = split_bounds(&op, x.dim(), &|d| Ok(sizes[d].hint()), sections, None, Some(dim))?;
            let pieces = bounds.into_iter().map(|(a, b)| x.slice(d as i64, Some(a.into()), Some(b.into()))).collect::<Result<Vec<_>>>()?;
            list(pieces)
        }
        1 => {
            let d = wrap_dim(&op, dim, x.dim() as i64)?;
            let mut indices = Vec::new();
            for i in 0..spec.shape()[0] as i64 {
                let element = spec.slice(0, Some(i.into()), Some((i + 1).into()))?;
                let element = op1(aten::squeeze_dims, vec![Arg::Tensor(element), ints(&[0])])?;
                indices.push(element.local_scalar_dense()?);
            }
            let end = x.size(d)?;
            let mut start = SymInt::from(0);
            let mut pieces = Vec::new();
            for idx in indices.into_iter().chain([end]) {
                pieces.push(x.slice(d, Some(start), Some(idx.clone()))?);
                start = idx;
            }
            list(pieces)
        }
        n => Err(Error::msg(format!("{op}: tensor_split expected tensor_indices_or_sections to be a zero-dimensional or one-dimensional tensor, but got a tensor with {n} dims"))),
    }
}

fn split_family(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let op = c.args.op.clone();
    let sections = ["sections"].iter().find_map(|n| c.args.int(n).ok()).map(|s| s.hint());
    let indices = c.args.ints("indices").ok().map(|v| v.iter().map(SymInt::hint).collect::<Vec<_>>());
    let dim = c.args.int("dim").ok().map(|d| d.hint());
    let sizes = x.sizes();
    let (d, bounds) = split_bounds(&op, x.dim(), &|d| Ok(sizes[d].hint()), sections, indices, dim)?;
    let pieces = bounds
        .into_iter()
        .map(|(a, b)| op1(aten::slice_Tensor, vec![Arg::Tensor(x.clone()), Arg::Int((d as i64).into()), Arg::Int(a.into()), Arg::Int(b.into())]))
        .collect::<Result<Vec<_>>>()?;
    list(pieces)
}

fn split_meta(call: &mut MetaCall) -> Sizes {
    let s = call.sizes("self")?;
    let op = call.args.schema().qualified_name();
    let has = |n: &str| call.args.schema().param_index(n).is_some();
    let sections = if has("sections") { Some(call.args.int("sections")?) } else { None };
    let indices = if has("indices") { Some(call.args.int_list("indices")?) } else { None };
    let dim = if has("dim") { Some(call.args.int("dim")?) } else { None };
    let n_of = |d: usize| s[d].as_int().ok_or_else(|| Error::msg(format!("{op}: a symbolic size cannot be split")));
    let (d, bounds) = split_bounds(&op, s.len(), &n_of, sections, indices, dim).map_err(|e| ops::Error::msg(e.to_string()))?;
    Ok(bounds.into_iter().map(|(a, b)| with_dim(&s, d, Expr::Int(b - a))).collect())
}

/// The dims `sum_to_size` sums: the leading ones, and those where `size` is 1 and the tensor's
/// is not, as PyTorch's `sum_to` does (`None`: an empty `size`, a sum of everything).
fn summed_dims(xs: &[i64], size: &[i64]) -> Option<Vec<i64>> {
    if size.is_empty() {
        return None;
    }
    let lead = xs.len().saturating_sub(size.len());
    let mut dims: Vec<i64> = (0..lead as i64).collect();
    dims.extend(size.iter().enumerate().filter(|(i, s)| **s == 1 && xs.get(lead + i).is_some_and(|&x| x != 1)).map(|(i, _)| (lead + i) as i64));
    Some(dims)
}

fn sum_to_size(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let size = c.args.ints("size")?;
    let xs = x.sizes();
    if size.len() > xs.len() {
        return Err(Error::msg(format!("{}: size {{{}}} is not expandable to size {{{}}}", c.args.op, hints(&size), hints(&xs))));
    }
    let hinted = |v: &[SymInt]| v.iter().map(SymInt::hint).collect::<Vec<_>>();
    match summed_dims(&hinted(&xs), &hinted(&size)) {
        None => one(op1(aten::sum, vec![Arg::Tensor(x)])?),
        Some(dims) if dims.is_empty() => one(x),
        Some(dims) => {
            let lead = xs.len() - size.len();
            let summed = op1(aten::sum_dim_IntList, vec![Arg::Tensor(x), ints(&dims), Arg::Bool(lead == 0)])?;
            // without leading dims the kept dims are the result; else view to `size`
            one(if lead == 0 { summed } else { reshape_to(&summed, &size)? })
        }
    }
}

/// A sum's dtype (integers become int64) when anything is summed, else the input's.
fn sum_to_size_dtype(args: &ops::Args) -> ops::Result<Vec<tensor::DType>> {
    let x = args.tensor("self")?;
    let xs: Vec<i64> = x.shape().iter().map(|&d| d as i64).collect();
    let sums = summed_dims(&xs, &args.int_list("size")?).is_none_or(|d| !d.is_empty());
    let d = x.dtype();
    Ok(vec![if sums && !d.is_float() { tensor::DType::I64 } else { d }])
}

fn hints(v: &[SymInt]) -> String {
    v.iter().map(|s| s.hint().to_string()).collect::<Vec<_>>().join(", ")
}

fn sum_to_size_meta(call: &mut MetaCall) -> Sizes {
    Ok(vec![call.ints("size")?])
}

/// `diag`: a vector becomes a matrix with it on the `diagonal`-th diagonal (`diag_embed`), a
/// matrix gives that diagonal (a copy); `diagflat` flattens first.
fn diag(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let mut x = c.args.tensor("self")?;
    let offset = c.args.int(if c.args.op.contains("diagflat") { "offset" } else { "diagonal" })?.hint();
    if c.args.op.contains("diagflat") {
        x = reshape_to(&x, &[SymInt::from(-1)])?;
    }
    match x.dim() {
        1 => one(op1(aten::diag_embed, vec![Arg::Tensor(x), Arg::Int(offset.into()), Arg::Int(0.into()), Arg::Int(1.into())])?),
        2 => {
            let d = op1(aten::diagonal, vec![Arg::Tensor(x), Arg::Int(offset.into()), Arg::Int(0.into()), Arg::Int(1.into())])?;
            one(op1(aten::clone, vec![Arg::Tensor(d)])?)
        }
        r => Err(Error::msg(format!("{}: diag(): Supports 1D or 2D tensors. Got {r}D", c.args.op))),
    }
}

fn diag_meta(call: &mut MetaCall) -> Sizes {
    let op = call.args.schema().qualified_name();
    let flat = op.contains("diagflat");
    let offset = call.args.int(if flat { "offset" } else { "diagonal" })?;
    let mut s = call.sizes("self")?;
    if flat {
        s = vec![meta_product(&s)];
    }
    match s.as_slice() {
        [n] => {
            let side = n.clone() + Expr::Int(offset.abs());
            Ok(vec![vec![side.clone(), side]])
        }
        [r, c] => {
            let (rows, cols) = (r.clone() - Expr::Int(offset.min(0).abs()), c.clone() - Expr::Int(offset.max(0)));
            Ok(vec![vec![Expr::max_of([Expr::min_of([rows, cols]), Expr::Int(0)])]])
        }
        _ => Err(ops::Error::msg(format!("{op}: diag(): Supports 1D or 2D tensors. Got {}D", s.len()))),
    }
}

fn meta_product(s: &[Expr]) -> Expr {
    Expr::mul_all(s.iter().cloned())
}

/// Each 0/1-d tensor viewed along its own dim and expanded to every tensor's length; `xy`
/// indexing exchanges the first two dims' roles.
fn meshgrid(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let xy = matches!(c.args.get("indexing"), Ok(Arg::Str(s)) if s == "xy");
    list(grids(&c.args.op, c.args.tensors("tensors")?, xy)?)
}

fn grids(op: &str, tensors: Vec<Tensor>, xy: bool) -> Result<Vec<Tensor>> {
    let mut lengths = Vec::new();
    for t in &tensors {
        if t.dim() > 1 {
            return Err(Error::msg(format!("{op}: torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {}D", t.dim())));
        }
        lengths.push(if t.dim() == 0 { SymInt::from(1) } else { t.size(0)? });
    }
    let n = tensors.len();
    let position = |i: usize| if xy && n >= 2 && i < 2 { 1 - i } else { i };
    let mut shape: Vec<SymInt> = vec![SymInt::from(1); n];
    for (i, len) in lengths.iter().enumerate() {
        shape[position(i)] = len.clone();
    }
    tensors
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let mut view = vec![SymInt::from(1); n];
            view[position(i)] = SymInt::from(-1);
            let v = reshape_to(&t, &view)?;
            op1(aten::expand, vec![Arg::Tensor(v), Arg::Ints(shape.clone())])
        })
        .collect()
}

fn meshgrid_meta(call: &mut MetaCall) -> Sizes {
    let shapes: Vec<Vec<Expr>> = call.tensors("tensors")?.into_iter().flatten().collect();
    let xy = call.args.schema().param_index("indexing").is_some() && matches!(call.args.get("indexing"), Ok(ops::Value::Str(s)) if s == "xy");
    let mut shape: Vec<Expr> = shapes.iter().map(|s| s.first().cloned().unwrap_or(Expr::Int(1))).collect();
    if xy && shape.len() >= 2 {
        shape.swap(0, 1);
    }
    Ok(shapes.iter().map(|_| shape.clone()).collect())
}

/// Every combination of the vectors' elements, one per row: `meshgrid` (ij), each grid
/// flattened, stacked as columns.
fn cartesian_prod(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let tensors = c.args.tensors("tensors")?;
    if tensors.len() == 1 {
        return one(tensors[0].clone());
    }
    let flat = grids(&c.args.op, tensors, false)?.iter().map(|g| reshape_to(g, &[SymInt::from(-1)])).collect::<Result<Vec<_>>>()?;
    one(op1(aten::stack, vec![Arg::Tensors(flat), Arg::Int(1.into())])?)
}

fn cartesian_prod_meta(call: &mut MetaCall) -> Sizes {
    let shapes: Vec<Vec<Expr>> = call.tensors("tensors")?.into_iter().flatten().collect();
    if shapes.len() == 1 {
        return Ok(vec![shapes[0].clone()]);
    }
    let rows = meta_product(&shapes.iter().map(|s| s.first().cloned().unwrap_or(Expr::Int(1))).collect::<Vec<_>>());
    Ok(vec![vec![rows, Expr::Int(shapes.len() as i64)]])
}

/// `nonzero(self)`: the indices of the non-zero elements, one row each.
fn argwhere(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(op1(aten::nonzero, vec![Arg::Tensor(c.args.tensor("self")?)])?)
}

/// `nonzero` as one index tensor per dim (`torch.nonzero(x, as_tuple=True)`): the indices'
/// columns, a 0-dim input read as one element.
fn nonzero_numpy(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let x = if x.dim() == 0 { op1(aten::unsqueeze, vec![Arg::Tensor(x), Arg::Int(0.into())])? } else { x };
    let rank = x.dim() as i64;
    let indices = op1(aten::nonzero, vec![Arg::Tensor(x)])?;
    // each column sliced out and squeezed, as PyTorch's lowering of `unbind` writes it
    let columns = (0..rank)
        .map(|d| {
            let column = op1(aten::slice_Tensor, vec![Arg::Tensor(indices.clone()), Arg::Int(1.into()), Arg::Int(d.into()), Arg::Int((d + 1).into())])?;
            op1(aten::squeeze_dims, vec![Arg::Tensor(column), Arg::Ints(vec![1.into()])])
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(vec![Arg::Tensors(columns)])
}

fn nonzero_numpy_meta(call: &mut MetaCall) -> Sizes {
    let rank = call.sizes("self")?.len().max(1);
    let count = meta::nonzero(call)?.remove(0).remove(0);
    Ok(vec![vec![count]; rank])
}

/// How many `r`-element combinations (with replacement: multisets) `n` values have.
fn combination_count(n: i64, r: i64, with_replacement: bool) -> i64 {
    let n = if with_replacement { n + r - 1 } else { n };
    if r > n {
        return 0;
    }
    // C(n, r) built up exactly: each partial product is itself a binomial coefficient
    (0..r.min(n - r)).fold(1i128, |acc, i| acc * (n - i) as i128 / (i + 1) as i128) as i64
}

fn combinations_args(op: &str, n: Option<i64>, r: i64) -> ops::Result<i64> {
    if r < 0 {
        return Err(ops::Error::msg(format!("{op}: Expect a non-negative number, but got {r}")));
    }
    n.ok_or_else(|| ops::Error::msg(format!("{op}: the number of combinations of a dynamic size has no static size; export with that dim static")))
}

fn combinations_meta(call: &mut MetaCall) -> Sizes {
    let x = call.sizes("self")?;
    if x.len() != 1 {
        return Err(ops::Error::msg(format!("torch.combinations: Expect a 1D vector, but got shape {x:?}")));
    }
    let r = call.args.int("r")?;
    let n = combinations_args("torch.combinations", x[0].as_int(), r)?;
    if r == 0 {
        return Ok(vec![vec![Expr::Int(0)]]);
    }
    Ok(vec![vec![Expr::Int(combination_count(n, r, call.args.bool("with_replacement")?)), Expr::Int(r)]])
}

/// `torch.combinations`: the index tuples of an r-dimensional grid over `arange(n)` that
/// increase (or never decrease, with replacement) along it, in order (`nonzero_static` of that
/// mask), read from the vector.
fn combinations(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    if x.dim() != 1 {
        return Err(Error::msg(format!("{}: Expect a 1D vector, but got shape {:?}", c.args.op, x.data().shape())));
    }
    let r = c.args.int("r")?.hint();
    let n = x.size(0)?;
    let n = combinations_args(&c.args.op, n.is_static().then(|| n.hint()), r).map_err(|e| Error::msg(e.to_string()))?;
    if r == 0 {
        return one(export::tensor::zeros(&[SymInt::from(0)], x.dtype())?);
    }
    let with_replacement = c.args.bool("with_replacement")?;
    let indices = export::tensor::arange(0, n, 1)?;
    let along = |j: i64| -> Result<Tensor> {
        let shape: Vec<SymInt> = (0..r).map(|k| SymInt::from(if k == j { n } else { 1 })).collect();
        reshape_to(&indices, &shape)
    };
    let mut mask = export::tensor::ones(&vec![SymInt::from(n); r as usize], tensor::DType::Bool)?;
    for j in 0..r - 1 {
        let order = if with_replacement { aten::le_Tensor } else { aten::lt_Tensor };
        let step = op1(order, vec![Arg::Tensor(along(j)?), Arg::Tensor(along(j + 1)?)])?;
        mask = op1(aten::logical_and, vec![Arg::Tensor(mask), Arg::Tensor(step)])?;
    }
    let count = combination_count(n, r, with_replacement);
    let tuples = call(aten::nonzero_static, vec![Arg::Tensor(mask)], vec![("size", Arg::Int(count.into()))])?.remove(0);
    one(op1(aten::index_Tensor, vec![Arg::Tensor(x), Arg::OptTensors(vec![Some(tuples)])])?)
}
