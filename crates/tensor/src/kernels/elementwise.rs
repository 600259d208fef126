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

/// `out[i] = f(a[i], b[i])` after broadcasting `a` and `b`. Inputs must have dtypes `A` and `B`.
pub fn zip<A: Element, B: Element, U: Element>(a: &Tensor, b: &Tensor, f: impl Fn(A, B) -> U + Sync) -> Result<Tensor> {
    let shape = broadcast_all(&[a.shape(), b.shape()])?;
    let (ea, eb) = (expanded::<A>(a, &shape)?, expanded::<B>(b, &shape)?);
    let n = crate::shape::numel(&shape);
    let mut out = crate::alloc::tensor_vec(U::default(), &shape);
    ea.with_contiguous::<A, _>(|xa| eb.with_contiguous::<B, _>(|xb| fill(n, &mut out, |i| f(xa[i], xb[i]))));
    Tensor::from_vec(out, &shape)
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
