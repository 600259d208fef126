//! Shapes, strides, dimension wrapping and broadcasting.

use smallvec::SmallVec;

use crate::{Error, Result};

pub type Shape = SmallVec<[usize; 6]>;
pub type Strides = SmallVec<[isize; 6]>;

/// Row-major (C-contiguous) strides for `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Strides {
    let mut strides: Strides = smallvec::smallvec![0; shape.len()];
    let mut acc = 1isize;
    for i in (0..shape.len()).rev() {
        strides[i] = acc;
        acc *= shape[i].max(1) as isize;
    }
    strides
}

/// The element count of a shape; saturates at `usize::MAX` (a size no allocation can have)
/// instead of wrapping, so that a huge broadcast view is refused when materialized.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).unwrap_or(usize::MAX)
}

/// Wraps a possibly negative dim into `0..rank` (rank 0 accepts -1 and 0, as PyTorch does).
pub fn wrap_dim(dim: i64, rank: usize) -> Result<usize> {
    let r = rank.max(1) as i64;
    let d = if dim < 0 { dim + r } else { dim };
    if d < 0 || d >= r {
        return Err(Error::msg(format!(
            "Dimension out of range (expected to be in range of [{}, {}], but got {dim})",
            -r,
            r - 1
        )));
    }
    Ok(d as usize)
}

/// The broadcast of two shapes, or an error naming both.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Shape> {
    let n = a.len().max(b.len());
    let mut out: Shape = smallvec::smallvec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::msg(format!(
                "The size of tensor a ({da}) must match the size of tensor b ({db}) at non-singleton dimension {i}"
            )));
        };
    }
    Ok(out)
}

pub fn broadcast_all(shapes: &[&[usize]]) -> Result<Shape> {
    let mut out: Shape = Shape::new();
    for s in shapes {
        out = broadcast_shapes(&out, s)?;
    }
    Ok(out)
}

/// Resolves a single `-1` in a requested view/reshape shape against `numel`.
pub fn infer_size(shape: &[i64], numel: usize) -> Result<Shape> {
    let mut out: Shape = Shape::with_capacity(shape.len());
    let mut infer = None;
    let mut known = 1usize;
    for (i, &s) in shape.iter().enumerate() {
        if s == -1 {
            if infer.is_some() {
                return Err(Error::msg("only one dimension can be inferred"));
            }
            infer = Some(i);
            out.push(1);
        } else if s < 0 {
            return Err(Error::msg(format!("invalid shape dimension {s}")));
        } else {
            known *= s as usize;
            out.push(s as usize);
        }
    }
    match infer {
        Some(i) => {
            if known == 0 || numel % known != 0 {
                return Err(Error::msg(format!("shape '{shape:?}' is invalid for input of size {numel}")));
            }
            out[i] = numel / known;
        }
        None if known != numel => {
            return Err(Error::msg(format!("shape '{shape:?}' is invalid for input of size {numel}")));
        }
        None => {}
    }
    Ok(out)
}

/// Strides for viewing a tensor of `old_shape`/`old_strides` as `new_shape` without copying,
/// if possible (PyTorch's `computeStride`).
pub fn view_strides(old_shape: &[usize], old_strides: &[isize], new_shape: &[usize]) -> Option<Strides> {
    let numel: usize = old_shape.iter().product();
    let mut new_strides: Strides = smallvec::smallvec![0; new_shape.len()];
    if numel == 0 {
        return Some(contiguous_strides(new_shape));
    }
    if old_shape.is_empty() {
        return Some(smallvec::smallvec![1; new_shape.len()]);
    }
    let mut view_d = new_shape.len() as isize - 1;
    let mut chunk_base_stride = *old_strides.last().unwrap();
    let mut tensor_numel = 1usize;
    let mut view_numel = 1usize;
    for tensor_d in (0..old_shape.len()).rev() {
        tensor_numel *= old_shape[tensor_d];
        if tensor_d == 0
            || (old_shape[tensor_d - 1] != 1
                && old_strides[tensor_d - 1] != tensor_numel as isize * chunk_base_stride)
        {
            while view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d as usize] == 1) {
                new_strides[view_d as usize] = view_numel as isize * chunk_base_stride;
                view_numel *= new_shape[view_d as usize];
                view_d -= 1;
            }
            if view_numel != tensor_numel {
                return None;
            }
            if tensor_d > 0 {
                chunk_base_stride = old_strides[tensor_d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    if view_d != -1 {
        return None;
    }
    Some(new_strides)
}
