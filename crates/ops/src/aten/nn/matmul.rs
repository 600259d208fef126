//! Matrix products: `mm`, `bmm`, the `add*` family, vector products, `matmul` with
//! broadcasting batch dims, and `linear`.

use tensor::kernels::matmul;
use tensor::kernels::vmath::Activation;
use tensor::{DType, Tensor};

use crate::aten::common::*;
use crate::{Args, Result, Value};

/// Brings two operands to their common dtype (matrix products do not mix dtypes in PyTorch,
/// but a 0-dim `self` in `addmm` may differ).
fn same_dtype(a: &Tensor, b: &Tensor, op: &str) -> Result<()> {
    if a.dtype() != b.dtype() {
        bail!("{op}: expected m1 and m2 to have the same dtype, but got: {} != {}", a.dtype().name(), b.dtype().name());
    }
    Ok(())
}

pub fn mm(a: &Args) -> Result<Value> {
    let (x, y) = (a.tensor("self")?, a.tensor("mat2")?);
    same_dtype(x, y, "mm")?;
    Ok(matmul::mm(x, y)?.into())
}

pub fn bmm(a: &Args) -> Result<Value> {
    let (x, y) = (a.tensor("self")?, a.tensor("mat2")?);
    same_dtype(x, y, "bmm")?;
    Ok(matmul::bmm(x, y)?.into())
}

/// `beta * self + alpha * product` (beta = 0 ignores `self`, even NaN, as PyTorch does).
fn scaled_sum(s: &Tensor, product: &Tensor, beta: f64, alpha: f64) -> Result<Tensor> {
    let out = product.dtype();
    let s = s.to_dtype(out);
    if out.is_complex() {
        return crate::aten::complex::zip(&s, product, out, move |p, q| if beta == 0.0 { q * alpha } else { p * beta + q * alpha });
    }
    if out.is_float() {
        let r = tensor::kernels::elementwise::zip::<f64, f64, f64>(&s.to_dtype(DType::F64), &product.to_dtype(DType::F64), move |p, q| {
            if beta == 0.0 {
                alpha * q
            } else {
                beta * p + alpha * q
            }
        })?;
        Ok(r.to_dtype(out))
    } else {
        let (bi, ai) = (beta as i64, alpha as i64);
        zip_i64(&s, product, out, move |p, q| bi.wrapping_mul(p).wrapping_add(ai.wrapping_mul(q)))
    }
}

fn betas(a: &Args) -> Result<(f64, f64)> {
    Ok((a.scalar("beta")?.to_f64(), a.scalar("alpha")?.to_f64()))
}

pub fn addmm(a: &Args) -> Result<Value> {
    addmm_then(a, None)
}

/// `addmm` with an activation fused into the product ([`ops::ActivationKernel`]).
pub fn addmm_activated(a: &Args, then: Activation) -> Result<Value> {
    addmm_then(a, Some(then))
}

fn addmm_then(a: &Args, then: Option<Activation>) -> Result<Value> {
    let (s, m1, m2) = (a.tensor("self")?, a.tensor("mat1")?, a.tensor("mat2")?);
    same_dtype(m1, m2, "addmm")?;
    let (beta, alpha) = betas(a)?;
    if (beta, alpha) == (1.0, 1.0) {
        if let Some(y) = matmul::addmm_f32(Some(s), m1, m2, then) {
            return Ok(y.into());
        }
    }
    let p = matmul::mm(m1, m2)?;
    let s = s.broadcast_to(p.shape())?;
    Ok(crate::then_activation(scaled_sum(&s, &p, beta, alpha)?, then)?.into())
}

pub fn baddbmm(a: &Args) -> Result<Value> {
    let (s, b1, b2) = (a.tensor("self")?, a.tensor("batch1")?, a.tensor("batch2")?);
    same_dtype(b1, b2, "baddbmm")?;
    let p = matmul::bmm(b1, b2)?;
    let (beta, alpha) = betas(a)?;
    Ok(scaled_sum(&s.broadcast_to(p.shape())?, &p, beta, alpha)?.into())
}

pub fn addbmm(a: &Args) -> Result<Value> {
    let (s, b1, b2) = (a.tensor("self")?, a.tensor("batch1")?, a.tensor("batch2")?);
    same_dtype(b1, b2, "addbmm")?;
    let p = matmul::bmm(b1, b2)?;
    let summed = if p.dtype().is_complex() {
        crate::aten::complex::reduce(&p, p.dtype(), &[0], false, |parts, _| parts.sum())?
    } else {
        tensor::kernels::reduce::reduce::<f64, f64>(&p.to_dtype(DType::F64), &[0], false, |g| g.iter().sum())?.to_dtype(p.dtype())
    };
    let (beta, alpha) = betas(a)?;
    Ok(scaled_sum(&s.broadcast_to(summed.shape())?, &summed, beta, alpha)?.into())
}

pub fn addmv(a: &Args) -> Result<Value> {
    let (s, m, v) = (a.tensor("self")?, a.tensor("mat")?, a.tensor("vec")?);
    same_dtype(m, v, "addmv")?;
    let p = mv_of(m, v)?;
    let (beta, alpha) = betas(a)?;
    Ok(scaled_sum(&s.broadcast_to(p.shape())?, &p, beta, alpha)?.into())
}

pub fn addr(a: &Args) -> Result<Value> {
    let (s, v1, v2) = (a.tensor("self")?, a.tensor("vec1")?, a.tensor("vec2")?);
    if v1.dim() != 1 || v2.dim() != 1 {
        bail!("addr: Expected 1-D argument vec1, but got {}-D", v1.dim());
    }
    let p = matmul::mm(&v1.unsqueeze(1)?, &v2.unsqueeze(0)?)?;
    let (beta, alpha) = betas(a)?;
    if p.dtype() == DType::Bool {
        let s = s.broadcast_to(p.shape())?.to_dtype(DType::Bool);
        return Ok(zip_i64(&s, &p, DType::Bool, move |x, y| ((beta != 0.0 && x != 0) || (alpha != 0.0 && y != 0)) as i64)?.into());
    }
    Ok(scaled_sum(&s.broadcast_to(p.shape())?, &p, beta, alpha)?.into())
}

fn mv_of(m: &Tensor, v: &Tensor) -> Result<Tensor> {
    if m.dim() != 2 || v.dim() != 1 {
        bail!("vector + matrix @ vector expected, got {}, {}, {}", 1, m.dim(), v.dim());
    }
    if m.shape()[1] != v.shape()[0] {
        bail!("size mismatch, got input ({}), mat ({}x{}), vec ({})", m.shape()[0], m.shape()[0], m.shape()[1], v.shape()[0]);
    }
    matmul::mm(m, &v.unsqueeze(1)?)?.squeeze(Some(&[1]))
}

pub fn mv(a: &Args) -> Result<Value> {
    let (m, v) = (a.tensor("self")?, a.tensor("vec")?);
    same_dtype(m, v, "mv")?;
    Ok(mv_of(m, v)?.into())
}

pub fn dot(a: &Args) -> Result<Value> {
    dot_of(a, false)
}

/// `vdot`: `dot` with the first argument conjugated.
pub fn vdot(a: &Args) -> Result<Value> {
    dot_of(a, true)
}

fn dot_of(a: &Args, conjugate_first: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let y = if a.schema().param_index("tensor").is_some() { a.tensor("tensor")? } else { a.tensor("other")? };
    if x.dim() != 1 || y.dim() != 1 {
        bail!("1D tensors expected, but got {}D and {}D tensors", x.dim(), y.dim());
    }
    if x.shape() != y.shape() {
        bail!("inconsistent tensor size, expected tensor [{}] and src [{}] to have the same number of elements, but got {} and {} elements respectively", x.shape()[0], y.shape()[0], x.shape()[0], y.shape()[0]);
    }
    same_dtype(x, y, "dot")?;
    let x = if conjugate_first { crate::aten::complex::conj(x) } else { x.clone() };
    Ok(matmul::mm(&x.unsqueeze(0)?, &y.unsqueeze(1)?)?.reshape(&[])?.into())
}

/// `x: [..., k]` as a `[rows, k]` matrix, and the shape `[..., cols]` a `[rows, cols]` product
/// of it unfolds to.
fn fold_leading(x: &Tensor, cols: usize) -> Result<(Tensor, Vec<i64>)> {
    let last = x.dim() - 1;
    let unfold = x.shape()[..last].iter().map(|&s| s as i64).chain([cols as i64]).collect();
    Ok((x.reshape(&[-1, x.shape()[last] as i64])?, unfold))
}

/// `torch.matmul`: vectors are promoted to matrices and back, batch dims broadcast.
pub fn matmul_tensors(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let (dx, dy) = (x.dim(), y.dim());
    if dx == 0 || dy == 0 {
        bail!("both arguments to matmul need to be at least 1D, but they are {dx}D and {dy}D");
    }
    if dx == 1 && dy == 1 {
        return matmul::mm(&x.unsqueeze(0)?, &y.unsqueeze(1)?)?.reshape(&[]);
    }
    if dx == 2 && dy == 1 {
        return mv_of(x, y);
    }
    if dx == 1 && dy == 2 {
        return matmul::mm(&x.unsqueeze(0)?, y)?.squeeze(Some(&[0]));
    }
    if dx == 2 && dy == 2 {
        return matmul::mm(x, y);
    }
    if dx >= 3 && dy == 2 {
        // [..., n, k] @ [k, m]: one product over the folded leading dims, as PyTorch folds them
        // (the right operand is packed once, not once per batch)
        let (rows, unfold) = fold_leading(x, y.shape()[1])?;
        return matmul::mm(&rows, y)?.reshape(&unfold);
    }
    // batched: treat vectors as matrices, broadcast the batch dims, run bmm
    let xm = if dx == 1 { x.unsqueeze(0)? } else { x.clone() };
    let ym = if dy == 1 { y.unsqueeze(1)? } else { y.clone() };
    let (bx, by) = (&xm.shape()[..xm.dim() - 2], &ym.shape()[..ym.dim() - 2]);
    let batch = tensor::shape::broadcast_shapes(bx, by)?;
    let (n, k) = (xm.shape()[xm.dim() - 2], xm.shape()[xm.dim() - 1]);
    let (k2, m) = (ym.shape()[ym.dim() - 2], ym.shape()[ym.dim() - 1]);
    if k != k2 {
        bail!("Expected size for first two dimensions of batch2 tensor to be: [{}, {k}] but got: [{}, {k2}].", batch.iter().product::<usize>(), batch.iter().product::<usize>());
    }
    let b: usize = batch.iter().product();
    let shape_of = |rows: usize, cols: usize| -> Vec<i64> { batch.iter().map(|&s| s as i64).chain([rows as i64, cols as i64]).collect() };
    let xe = xm.expand(&shape_of(n, k))?.reshape(&[b as i64, n as i64, k as i64])?;
    let ye = ym.expand(&shape_of(k, m))?.reshape(&[b as i64, k as i64, m as i64])?;
    let mut out_shape: Vec<i64> = batch.iter().map(|&s| s as i64).collect();
    if dx > 1 {
        out_shape.push(n as i64);
    }
    if dy > 1 {
        out_shape.push(m as i64);
    }
    matmul::bmm(&xe, &ye)?.reshape(&out_shape)
}

pub fn matmul(a: &Args) -> Result<Value> {
    let (x, y) = (a.tensor("self")?, a.tensor("other")?);
    same_dtype(x, y, "matmul")?;
    Ok(matmul_tensors(x, y)?.into())
}

/// `x @ weight.T + bias`.
pub fn linear_tensors(x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    linear_then(x, w, bias, None)
}

/// `linear`, then `then` (if any) on its output: fused into the product on its float32 path.
fn linear_then(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, then: Option<Activation>) -> Result<Tensor> {
    if x.dim() >= 2 && w.dim() == 2 {
        // float32 over the folded leading dims, the bias accumulated into by the product
        let (rows, unfold) = fold_leading(x, w.shape()[0])?;
        if let Some(y) = matmul::addmm_f32(bias, &rows, &w.transpose(0, 1)?, then) {
            return y.reshape(&unfold);
        }
    }
    crate::then_activation(linear_unfused(x, w, bias)?, then)
}

fn linear_unfused(x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let y = matmul_tensors(x, &w.transpose(-1, -2).or_else(|_| Ok::<_, tensor::Error>(w.clone()))?)?;
    match bias {
        None => Ok(y),
        Some(b) => {
            let shape = tensor::shape::broadcast_shapes(y.shape(), b.shape())?;
            if y.dtype() == DType::F32 && b.dtype() == DType::F32 {
                return tensor::kernels::elementwise::zip::<f32, f32, f32>(&y, b, |p, q| p + q);
            }
            scaled_sum(&b.broadcast_to(&shape)?, &y.broadcast_to(&shape)?.contiguous(), 1.0, 1.0)
        }
    }
}

pub fn linear(a: &Args) -> Result<Value> {
    let (x, w) = (a.tensor("input")?, a.tensor("weight")?);
    Ok(linear_tensors(x, w, a.opt_tensor("bias")?)?.into())
}

/// `linear` with an activation fused into the product ([`ops::ActivationKernel`]).
pub fn linear_activated(a: &Args, then: Activation) -> Result<Value> {
    let (x, w) = (a.tensor("input")?, a.tensor("weight")?);
    Ok(linear_then(x, w, a.opt_tensor("bias")?, Some(then))?.into())
}
