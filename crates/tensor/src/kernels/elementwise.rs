//! Element-wise maps over one, two or three tensors with broadcasting.
//!
//! Each map is monomorphized on its element types and closure, so the inner loop is a plain
//! loop over slices; inputs that are not contiguous in the output's shape are gathered first.

use rayon::prelude::*;

use super::PARALLEL_THRESHOLD;
use crate::shape::broadcast_all;
use crate::{Element, Result, Tensor};

/// The elements of `t` broadcast to `shape`, as a contiguous vector borrowed when possible.
fn expanded<T: Element>(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let e = t.broadcast_to(shape)?;
    Ok(if e.is_contiguous() { e } else { e.deep_clone() })
}

fn fill<U: Element + Send>(n: usize, out: &mut [U], f: impl Fn(usize) -> U + Sync) {
    if n >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(4096).enumerate().for_each(|(c, chunk)| {
            let base = c * 4096;
            for (i, o) in chunk.iter_mut().enumerate() {
                *o = f(base + i);
            }
        });
    } else {
        for (i, o) in out.iter_mut().enumerate() {
            *o = f(i);
        }
    }
}

/// `out[i] = f(x[i])`. `x` must have dtype `T`.
pub fn map<T: Element, U: Element>(x: &Tensor, f: impl Fn(T) -> U + Sync) -> Tensor {
    let n = x.numel();
    let mut out = crate::alloc::tensor_vec(U::default(), x.shape());
    x.with_contiguous::<T, _>(|xs| fill(n, &mut out, |i| f(xs[i])));
    Tensor::from_vec(out, x.shape()).unwrap()
}

/// `out[i] = f(x[i])` for a float32 `x`, in chunks over the threads, each chunk's loop
/// compiled for the CPU's vector instructions ([`super::vmath::map_slice`]): give it the
/// branch-free functions of [`super::vmath`] and it runs 16 lanes at a time.
pub fn map_f32(x: &Tensor, f: impl super::vmath::Unary) -> Tensor {
    assert_eq!(x.dtype(), crate::DType::F32, "map_f32: expected a float32 tensor");
    let mut out = crate::alloc::tensor_vec(0f32, x.shape());
    x.with_contiguous::<f32, _>(|xs| {
        if xs.len() >= PARALLEL_THRESHOLD {
            out.par_chunks_mut(CHUNK).zip(xs.par_chunks(CHUNK)).for_each(|(o, i)| super::vmath::map_slice(i, o, f));
        } else {
            super::vmath::map_slice(xs, &mut out, f);
        }
    });
    Tensor::from_vec(out, x.shape()).unwrap()
}

/// `f(x)` for a float32 `x`, an activation ([`super::vmath::Activation`]) as a pass of its own.
pub fn activation_f32(x: &Tensor, f: super::vmath::Activation) -> Tensor {
    assert_eq!(x.dtype(), crate::DType::F32, "activation_f32: expected a float32 tensor");
    let mut out = x.to_vec::<f32>();
    if out.len() >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(CHUNK).for_each(|c| f.apply(c));
    } else {
        f.apply(&mut out);
    }
    Tensor::from_vec(out, x.shape()).unwrap()
}

/// `x[i] = f(x[i])` in `x`'s own storage, for a contiguous float32 `x` (every view of the
/// storage sees it, as in-place operators require); `false`, doing nothing, for any other.
pub fn map_f32_in_place(x: &Tensor, f: impl super::vmath::Unary) -> bool {
    if x.dtype() != crate::DType::F32 || !x.is_contiguous() || x.storage().is_meta() {
        return false;
    }
    let (start, n) = (x.storage_offset(), x.numel());
    let mut guard = x.storage().write();
    let all: &mut [f32] = bytemuck::cast_slice_mut(guard.bytes_mut());
    let xs = &mut all[start..start + n];
    if n >= PARALLEL_THRESHOLD {
        xs.par_chunks_mut(CHUNK).for_each(|c| super::vmath::map_in_place(c, f));
    } else {
        super::vmath::map_in_place(xs, f);
    }
    true
}

/// `x[i] = f(x[i], y[i])` in `x`'s own storage, for contiguous float32 `x` and `y` of the same
/// sizes in different storages; `false`, doing nothing, for any other pair.
pub fn zip_f32_in_place(x: &Tensor, y: &Tensor, f: impl Fn(f32, f32) -> f32 + Copy + Send + Sync) -> bool {
    let plain = |t: &Tensor| t.dtype() == crate::DType::F32 && t.is_contiguous() && !t.storage().is_meta();
    if !plain(x) || !plain(y) || x.shape() != y.shape() || x.shares_storage(y) {
        return false;
    }
    let n = x.numel();
    let (xs_at, ys_at) = (x.storage_offset(), y.storage_offset());
    let ys_guard = y.storage().read();
    let ys: &[f32] = &bytemuck::cast_slice(ys_guard.bytes())[ys_at..ys_at + n];
    let mut xs_guard = x.storage().write();
    let xs: &mut [f32] = &mut bytemuck::cast_slice_mut(xs_guard.bytes_mut())[xs_at..xs_at + n];
    let one = |(o, b): (&mut [f32], &[f32])| zip_in_place_run(o, b, &f);
    if n >= PARALLEL_THRESHOLD {
        xs.par_chunks_mut(CHUNK).zip(ys.par_chunks(CHUNK)).for_each(one);
    } else {
        one((xs, ys));
    }
    true
}

/// Elements per task of a parallel map: big enough to amortize the task, small enough to
/// spread a few hundred thousand elements over the threads.
const CHUNK: usize = 1 << 14;

/// How an operand is read along one run of the output's innermost dims.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Read {
    /// Element `j` of the run is at `start + j`.
    Contiguous,
    /// Every element of the run is the one at `start` (a broadcast dim).
    Repeated,
}

/// The output seen as runs of `inner` elements over its innermost dims (from `split` on), each
/// operand reading a run contiguously or as one repeated element — what TensorIterator calls
/// coalescing. A bias `[C]` over `[N, T, C]`, or a per-channel `[1, C, 1, 1]` scale over
/// `[N, C, H, W]`, is read in place this way, never expanded into a copy.
struct Runs {
    inner: usize,
    split: usize,
    reads: [Read; 2],
}

fn runs(shape: &[usize], strides: [&[isize]; 2]) -> Runs {
    let mut inner = 1usize;
    let mut split = shape.len();
    let mut reads: [Option<Read>; 2] = [None, None];
    for d in (0..shape.len()).rev() {
        if shape[d] == 1 {
            split = d;
            continue;
        }
        let mut next = reads;
        let fits = strides.iter().zip(next.iter_mut()).all(|(s, read)| {
            let here = match s[d] {
                0 => Read::Repeated,
                s if s == inner as isize => Read::Contiguous,
                _ => return false,
            };
            *read.get_or_insert(here) == here
        });
        if !fits {
            break;
        }
        reads = next;
        inner *= shape[d];
        split = d;
    }
    Runs { inner, split, reads: reads.map(|r| r.unwrap_or(Read::Repeated)) }
}

/// Where run `r` starts in an operand laid out with `strides` from `offset`.
fn run_start(r: usize, outer: &[usize], strides: &[isize], offset: usize) -> usize {
    let (mut rest, mut at) = (r, offset as isize);
    for (d, &size) in outer.iter().enumerate().rev() {
        at += (rest % size) as isize * strides[d];
        rest /= size;
    }
    at as usize
}

/// `zip` over runs read in place; `None` when the runs are too short for this to pay.
fn zip_runs<A: Element, B: Element, U: Element>(a: &Tensor, b: &Tensor, shape: &[usize], f: &(impl Fn(A, B) -> U + Sync)) -> Result<Option<Tensor>> {
    if shape.contains(&0) {
        return Ok(None);
    }
    let (ea, eb) = (a.broadcast_to(shape)?, b.broadcast_to(shape)?);
    let plan = runs(shape, [ea.strides(), eb.strides()]);
    if plan.inner < 64 {
        return Ok(None);
    }
    let outer = &shape[..plan.split];
    let (ga, gb) = (ea.storage().read(), eb.storage().read());
    let (xa, xb): (&[A], &[B]) = (bytemuck::cast_slice(ga.bytes()), bytemuck::cast_slice(gb.bytes()));
    let mut out = crate::alloc::tensor_vec(U::default(), shape);
    let one_run = |(r, o): (usize, &mut [U])| {
        let sa = run_start(r, outer, ea.strides(), ea.storage_offset());
        let sb = run_start(r, outer, eb.strides(), eb.storage_offset());
        let n = o.len();
        let len = |read: Read| if read == Read::Contiguous { n } else { 1 };
        zip_run(plan.reads, o, &xa[sa..sa + len(plan.reads[0])], &xb[sb..sb + len(plan.reads[1])], f);
    };
    if out.len() >= PARALLEL_THRESHOLD {
        // tasks of whole runs, about CHUNK elements each
        let per_task = CHUNK.div_ceil(plan.inner);
        out.par_chunks_mut(plan.inner * per_task)
            .enumerate()
            .for_each(|(t, runs)| runs.chunks_mut(plan.inner).enumerate().for_each(|(r, o)| one_run((t * per_task + r, o))));
    } else {
        out.chunks_mut(plan.inner).enumerate().for_each(one_run);
    }
    drop((ga, gb));
    Ok(Some(Tensor::from_vec(out, shape)?))
}

crate::per_isa!(
    /// One run of [`zip_runs`], its loop compiled for the best instruction set this CPU has (a
    /// small closure such as `|p, q| p * q` is inlined and vectorized there).
    fn zip_run[A: Element, B: Element, U: Element, F: Fn(A, B) -> U](reads: [Read; 2], o: &mut [U], a: &[A], b: &[B], f: &F) => zip_run_portable
);

crate::per_isa!(
    /// `o[j] = f(o[j], b[j])`, compiled like [`zip_run`].
    fn zip_in_place_run[F: Fn(f32, f32) -> f32](o: &mut [f32], b: &[f32], f: &F) => zip_in_place_portable
);

#[inline(always)]
fn zip_in_place_portable<F: Fn(f32, f32) -> f32>(o: &mut [f32], b: &[f32], f: &F) {
    for (o, &q) in o.iter_mut().zip(b) {
        *o = f(*o, q);
    }
}

/// `o[j] = f(a[j or 0], b[j or 0])` as `reads` says.
#[inline(always)]
fn zip_run_portable<A: Element, B: Element, U: Element, F: Fn(A, B) -> U>(reads: [Read; 2], o: &mut [U], a: &[A], b: &[B], f: &F) {
    let n = o.len();
    match reads {
        [Read::Contiguous, Read::Contiguous] => {
            for ((o, &p), &q) in o.iter_mut().zip(&a[..n]).zip(&b[..n]) {
                *o = f(p, q);
            }
        }
        [Read::Contiguous, Read::Repeated] => {
            let q = b[0];
            for (o, &p) in o.iter_mut().zip(&a[..n]) {
                *o = f(p, q);
            }
        }
        [Read::Repeated, Read::Contiguous] => {
            let p = a[0];
            for (o, &q) in o.iter_mut().zip(&b[..n]) {
                *o = f(p, q);
            }
        }
        [Read::Repeated, Read::Repeated] => o.fill(f(a[0], b[0])),
    }
}

/// The order of `t`'s dims from outermost to innermost in memory (by stride), when that is not
/// the row-major order: a channels-last image, a transposed matrix, attention heads split off a
/// sequence (a slice of a fused projection, not dense).
fn memory_order(t: &Tensor) -> Option<Vec<usize>> {
    if t.is_contiguous() || t.shape().contains(&0) {
        return None;
    }
    let mut order: Vec<usize> = (0..t.dim()).collect();
    // size-1 dims go outermost, where their stride does not matter; ties keep their order
    order.sort_by_key(|&d| (t.shape()[d] != 1, std::cmp::Reverse(t.strides()[d].unsigned_abs())));
    let moved = order.iter().enumerate().any(|(i, &d)| i != d && t.shape()[d] != 1);
    moved.then_some(order)
}

/// `zip` computed in the memory order of an operand of the output's sizes whose dims lie in
/// another order in memory, as PyTorch's TensorIterator does: the result is dense in that order
/// (a channels-last image times a per-channel `[C, 1, 1]` scale is a channels-last image, read
/// and written in runs), instead of both operands being copied into the default layout first.
fn zip_in_layout_of<A: Element, B: Element, U: Element>(a: &Tensor, b: &Tensor, shape: &[usize], f: &(impl Fn(A, B) -> U + Sync)) -> Result<Option<Tensor>> {
    let leader = [a, b].into_iter().find(|t| t.shape() == shape).and_then(memory_order);
    let Some(order) = leader else { return Ok(None) };
    let perm: Vec<i64> = order.iter().map(|&d| d as i64).collect();
    let (pa, pb) = (a.broadcast_to(shape)?.permute(&perm)?, b.broadcast_to(shape)?.permute(&perm)?);
    let permuted: Vec<usize> = order.iter().map(|&d| shape[d]).collect();
    let out = zip_in_order(&pa, &pb, &permuted, f)?;
    let mut inverse = vec![0i64; order.len()];
    for (i, &d) in order.iter().enumerate() {
        inverse[d] = i as i64;
    }
    Ok(Some(out.permute(&inverse)?))
}

/// `out[i] = f(a[i], b[i])` after broadcasting `a` and `b`. Inputs must have dtypes `A` and `B`.
pub fn zip<A: Element, B: Element, U: Element>(a: &Tensor, b: &Tensor, f: impl Fn(A, B) -> U + Sync) -> Result<Tensor> {
    let shape = broadcast_all(&[a.shape(), b.shape()])?;
    assert_eq!((A::DTYPE, B::DTYPE), (a.dtype(), b.dtype()), "zip: element types do not match the dtypes");
    if let Some(t) = zip_in_layout_of(a, b, &shape, &f)? {
        return Ok(t);
    }
    zip_in_order(a, b, &shape, &f)
}

/// `zip` with the output in the default (row-major) layout of `shape`.
fn zip_in_order<A: Element, B: Element, U: Element>(a: &Tensor, b: &Tensor, shape: &[usize], f: &(impl Fn(A, B) -> U + Sync)) -> Result<Tensor> {
    if let Some(t) = zip_runs(a, b, shape, f)? {
        return Ok(t);
    }
    let (ea, eb) = (expanded::<A>(a, shape)?, expanded::<B>(b, shape)?);
    let n = crate::shape::numel(shape);
    let mut out = crate::alloc::tensor_vec(U::default(), shape);
    ea.with_contiguous::<A, _>(|xa| eb.with_contiguous::<B, _>(|xb| fill(n, &mut out, |i| f(xa[i], xb[i]))));
    Tensor::from_vec(out, shape)
}

/// `out[i] = f(a[i], b[i], c[i])` after broadcasting all three.
pub fn zip3<A: Element, B: Element, C: Element, U: Element>(
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    f: impl Fn(A, B, C) -> U + Sync,
) -> Result<Tensor> {
    let shape = broadcast_all(&[a.shape(), b.shape(), c.shape()])?;
    let (ea, eb, ec) = (expanded::<A>(a, &shape)?, expanded::<B>(b, &shape)?, expanded::<C>(c, &shape)?);
    let n = crate::shape::numel(&shape);
    let mut out = crate::alloc::tensor_vec(U::default(), &shape);
    ea.with_contiguous::<A, _>(|xa| {
        eb.with_contiguous::<B, _>(|xb| ec.with_contiguous::<C, _>(|xc| fill(n, &mut out, |i| f(xa[i], xb[i], xc[i]))))
    });
    Tensor::from_vec(out, &shape)
}

/// `x * scale[c] + shift[c]` for float32 `x: [N, C, ...]`, `c` the channel (dim 1): eval-mode
/// batch norm in one pass, plane by plane (two roundings, as PyTorch's CPU kernel computes it);
/// `then`, an activation, follows on each plane while it is in cache.
pub fn channel_affine_f32(x: &Tensor, scale: &[f32], shift: &[f32], then: Option<super::vmath::Activation>) -> Result<Tensor> {
    let c = x.shape().get(1).copied().unwrap_or(1);
    if x.dim() < 2 || scale.len() != c || shift.len() != c || x.dtype() != crate::DType::F32 {
        crate::bail!("channel_affine_f32: expected a float32 [N, {}, ...] tensor, got {} {:?}", scale.len(), x.dtype().name(), x.shape());
    }
    let plane: usize = x.shape()[2..].iter().product();
    let mut out = crate::alloc::tensor_vec(0f32, x.shape());
    if plane > 0 {
        x.with_contiguous::<f32, _>(|xs| {
            let one = |(p, (o, i)): (usize, (&mut [f32], &[f32]))| {
                let (s, t) = (scale[p % c], shift[p % c]);
                for (o, &v) in o.iter_mut().zip(i) {
                    *o = v * s + t;
                }
                if let Some(f) = then {
                    f.apply(o);
                }
            };
            let planes = out.chunks_mut(plane).zip(xs.chunks(plane));
            if xs.len() >= PARALLEL_THRESHOLD {
                planes.collect::<Vec<_>>().into_par_iter().enumerate().for_each(one);
            } else {
                planes.enumerate().for_each(one);
            }
        });
    }
    Tensor::from_vec(out, x.shape())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `[2, 4, 3, 8]` view of a `[2, 3, 4, 8]` tensor (attention heads split off a sequence).
    fn heads() -> Tensor {
        let data: Vec<f32> = (0..192).map(|i| i as f32).collect();
        Tensor::from_vec(data, &[2, 3, 4, 8]).unwrap().permute(&[0, 2, 1, 3]).unwrap()
    }

    #[test]
    fn a_permuted_operand_keeps_its_layout_as_in_pytorch() {
        let q = heads();
        let scale = Tensor::from_vec(vec![0.5f32], &[]).unwrap();
        let per_channel = Tensor::from_vec((0..8).map(|i| i as f32).collect::<Vec<_>>(), &[8]).unwrap();
        for (other, f) in [(&scale, 0usize), (&per_channel, 1)] {
            let out = zip::<f32, f32, f32>(&q, other, |p, s| p * s).unwrap();
            assert_eq!(out.strides(), q.strides(), "times {:?}: the layout of the permuted operand", other.shape());
            let want: Vec<f32> = q.to_vec::<f32>().iter().enumerate().map(|(i, v)| v * if f == 0 { 0.5 } else { (i % 8) as f32 }).collect();
            assert_eq!(out.to_vec::<f32>(), want);
        }
        // a slice of a fused projection (not dense): the result is dense in its dims' order
        let qkv = Tensor::from_vec((0..2 * 3 * 96).map(|i| i as f32).collect::<Vec<_>>(), &[2, 3, 96]).unwrap();
        let q = qkv.narrow(2, 32, 32).unwrap().reshape(&[2, 3, 4, 8]).unwrap().permute(&[0, 2, 1, 3]).unwrap();
        let out = zip::<f32, f32, f32>(&q, &scale, |p, s| p * s).unwrap();
        assert_eq!(out.strides(), [96, 8, 32, 1]);
        assert_eq!(out.to_vec::<f32>(), q.to_vec::<f32>().iter().map(|v| v * 0.5).collect::<Vec<_>>());
        // a contiguous operand gives a contiguous result
        let c = q.contiguous();
        assert!(zip::<f32, f32, f32>(&c, &scale, |p, s| p * s).unwrap().is_contiguous());
    }
}
