//! Reductions and lane-wise transforms along dims.
//!
//! Both move the dims they work on to the end and make the tensor contiguous, so the closure
//! sees each group (or lane) as one slice in logical order.

use rayon::prelude::*;

use super::PARALLEL_THRESHOLD;
use crate::shape::{wrap_dim, Shape};
use crate::{Element, Result, Tensor};

/// Normalized, sorted, de-duplicated dims; `None` or an empty list means every dim.
pub fn reduction_dims(dims: Option<&[i64]>, rank: usize) -> Result<Vec<usize>> {
    let mut out = match dims {
        None | Some([]) => (0..rank).collect::<Vec<_>>(),
        Some(ds) => {
            let mut v = Vec::with_capacity(ds.len());
            for &d in ds {
                let w = wrap_dim(d, rank)?;
                if v.contains(&w) {
                    crate::bail!("dim {w} appears multiple times in the list of dims");
                }
                v.push(w);
            }
            v
        }
    };
    out.sort_unstable();
    if rank == 0 {
        out.clear();
    }
    Ok(out)
}

/// The output shape of a reduction over `dims`.
pub fn reduced_shape(shape: &[usize], dims: &[usize], keepdim: bool) -> Shape {
    let mut out = Shape::new();
    for (d, &s) in shape.iter().enumerate() {
        if dims.contains(&d) {
            if keepdim {
                out.push(1);
            }
        } else {
            out.push(s);
        }
    }
    out
}

/// The sum of float32 values accumulated in float64, in eight interleaved partial sums so that
/// the loop vectorizes (a single running sum is one dependent add per element).
pub fn sum_as_f64(xs: &[f32]) -> f64 {
    let mut acc = [0f64; 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v as f64;
        }
    }
    acc.iter().sum::<f64>() + rest.iter().map(|&v| v as f64).sum::<f64>()
}

/// Reduces `x` (dtype `T`) over `dims`: `f` maps each group's elements, in logical order, to one
/// output element.
pub fn reduce<T: Element, U: Element>(x: &Tensor, dims: &[usize], keepdim: bool, f: impl Fn(&[T]) -> U + Sync) -> Result<Tensor> {
    let rank = x.dim();
    let kept: Vec<usize> = (0..rank).filter(|d| !dims.contains(d)).collect();
    let order: Vec<i64> = kept.iter().chain(dims.iter()).map(|&d| d as i64).collect();
    let moved = x.permute(&order)?;
    let group: usize = dims.iter().map(|&d| x.shape()[d]).product();
    let out_shape = reduced_shape(x.shape(), dims, keepdim);
    let groups: usize = kept.iter().map(|&d| x.shape()[d]).product();
    let mut out = crate::alloc::vec_filled(U::default(), groups);
    moved.with_contiguous::<T, _>(|xs| {
        let run = |(g, o): (usize, &mut U)| *o = f(&xs[g * group..(g + 1) * group]);
        if groups * group >= PARALLEL_THRESHOLD && groups > 1 {
            out.par_iter_mut().enumerate().for_each(run);
        } else {
            out.iter_mut().enumerate().for_each(run);
        }
    });
    Tensor::from_vec(out, &out_shape)
}

/// Transforms every lane along `dim`: `f(input_lane, output_lane)`, where the output lane has
/// `out_len` elements. Returns a tensor shaped like `x` with dim `dim` of size `out_len`.
pub fn map_lanes<T: Element, U: Element>(
    x: &Tensor,
    dim: usize,
    out_len: usize,
    f: impl Fn(&[T], &mut [U]) + Sync,
) -> Result<Tensor> {
    let rank = x.dim();
    if rank == 0 {
        let mut out = vec![U::default(); out_len.min(1)];
        x.with_contiguous::<T, _>(|xs| f(xs, &mut out));
        return Tensor::from_vec(out, &[]);
    }
    let mut order: Vec<i64> = (0..rank as i64).filter(|&d| d != dim as i64).collect();
    order.push(dim as i64);
    let moved = x.permute(&order)?;
    let lane = x.shape()[dim];
    let lanes: usize = x.shape().iter().enumerate().filter(|(d, _)| *d != dim).map(|(_, s)| s).product();
    let mut out = crate::alloc::vec_filled(U::default(), crate::shape::numel(&[lanes, out_len]));
    moved.with_contiguous::<T, _>(|xs| {
        if out_len == 0 {
            return;
        }
        let run = |(l, o): (usize, &mut [U])| f(&xs[l * lane..(l + 1) * lane], o);
        if lanes * lane >= PARALLEL_THRESHOLD && lanes > 1 {
            out.par_chunks_mut(out_len).enumerate().for_each(run);
        } else {
            out.chunks_mut(out_len).enumerate().for_each(run);
        }
    });
    let mut moved_shape: Vec<usize> = order[..rank - 1].iter().map(|&d| x.shape()[d as usize]).collect();
    moved_shape.push(out_len);
    let t = Tensor::from_vec(out, &moved_shape)?;
    // move the last dim back to `dim`
    let mut inverse: Vec<i64> = (0..rank as i64 - 1).collect();
    inverse.insert(dim, rank as i64 - 1);
    t.permute(&inverse)
}
