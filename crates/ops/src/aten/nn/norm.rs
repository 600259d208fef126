//! Normalization: batch norm (training with running-stat updates, and inference), layer norm,
//! group norm, and dropout.

use tensor::kernels::vmath::Activation;
use tensor::{DType, Tensor};

use crate::aten::common::*;
use crate::{Args, Result, Value};

/// Per-channel statistics of `x` (`[N, C, ...]`) over every dim but 1: (mean, biased var, count).
fn channel_stats(x: &Tensor) -> Result<(Vec<f64>, Vec<f64>, usize)> {
    let dims: Vec<usize> = (0..x.dim()).filter(|&d| d != 1).collect();
    let xf = x.to_dtype(DType::F64);
    let mean = tensor::kernels::reduce::reduce::<f64, f64>(&xf, &dims, false, |g| g.iter().sum::<f64>() / g.len() as f64)?;
    let var = tensor::kernels::reduce::reduce::<f64, f64>(&xf, &dims, false, |g| {
        let n = g.len() as f64;
        let m = g.iter().sum::<f64>() / n;
        g.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n
    })?;
    let count = x.numel() / x.shape()[1].max(1);
    Ok((mean.to_f64_vec(), var.to_f64_vec(), count))
}

/// `(x - mean) * invstd * weight + bias`, per channel (dim 1).
/// `then`, an activation, follows on a float32 output in the same pass.
fn normalize_channels(x: &Tensor, mean: &[f64], invstd: &[f64], weight: Option<&Tensor>, bias: Option<&Tensor>, then: Option<Activation>) -> Result<Tensor> {
    let c = x.shape()[1];
    let w = weight.map(|t| t.to_f64_vec()).unwrap_or_else(|| vec![1.0; c]);
    let b = bias.map(|t| t.to_f64_vec()).unwrap_or_else(|| vec![0.0; c]);
    let mut shape = vec![1i64; x.dim()];
    shape[1] = c as i64;
    // fold into scale and shift per channel
    let scale: Vec<f64> = (0..c).map(|i| invstd[i] * w[i]).collect();
    let shift: Vec<f64> = (0..c).map(|i| b[i] - mean[i] * invstd[i] * w[i]).collect();
    let out = x.dtype();
    if out == DType::F32 {
        let narrow = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        return tensor::kernels::elementwise::channel_affine_f32(x, &narrow(&scale), &narrow(&shift), then);
    }
    let s = Tensor::from_vec(scale, &[c])?.reshape(&shape)?;
    let t = Tensor::from_vec(shift, &[c])?.reshape(&shape)?;
    let xs = tensor::kernels::elementwise::zip::<f64, f64, f64>(&x.to_dtype(DType::F64), &s, |p, q| p * q)?;
    crate::then_activation(tensor::kernels::elementwise::zip::<f64, f64, f64>(&xs, &t, |p, q| p + q)?.to_dtype(out), then)
}

/// The shared batch norm: returns (out, save_mean, save_invstd, new running mean, new running var).
#[allow(clippy::too_many_arguments)]
fn batch_norm_core(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    running_mean: Option<&Tensor>,
    running_var: Option<&Tensor>,
    training: bool,
    momentum: f64,
    eps: f64,
    then: Option<Activation>,
) -> Result<(Tensor, Tensor, Tensor, Option<Tensor>, Option<Tensor>)> {
    if x.dim() < 2 {
        bail!("batch_norm: expected input with at least 2 dims, got {:?}", x.shape());
    }
    let c = x.shape()[1];
    let stat_dtype = x.dtype();
    if training {
        let (mean, var, count) = channel_stats(x)?;
        if count <= 1 {
            bail!("Expected more than 1 value per channel when training, got input size {:?}", x.shape());
        }
        let invstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        let out = normalize_channels(x, &mean, &invstd, weight, bias, then)?;
        let update = |running: Option<&Tensor>, batch: Vec<f64>| -> Result<Option<Tensor>> {
            running
                .map(|r| {
                    let rv = r.to_f64_vec();
                    let new: Vec<f64> = rv.iter().zip(&batch).map(|(r, b)| (1.0 - momentum) * r + momentum * b).collect();
                    Tensor::from_vec(new, &[c]).map(|t| t.to_dtype(r.dtype()))
                })
                .transpose()
        };
        let unbiased: Vec<f64> = var.iter().map(|v| v * count as f64 / (count - 1) as f64).collect();
        let new_mean = update(running_mean, mean.clone())?;
        let new_var = update(running_var, unbiased)?;
        Ok((out, Tensor::from_vec(mean, &[c])?.to_dtype(stat_dtype), Tensor::from_vec(invstd, &[c])?.to_dtype(stat_dtype), new_mean, new_var))
    } else {
        let (Some(rm), Some(rv)) = (running_mean, running_var) else {
            bail!("running_mean and running_var must be defined in evaluation mode");
        };
        let mean = rm.to_f64_vec();
        let invstd: Vec<f64> = rv.to_f64_vec().iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        let out = normalize_channels(x, &mean, &invstd, weight, bias, then)?;
        Ok((out, Tensor::zeros(&[0], stat_dtype), Tensor::zeros(&[0], stat_dtype), None, None))
    }
}

/// Writes updated running statistics back into the caller's buffers (in-place, as PyTorch).
fn write_back(target: Option<&Tensor>, new: Option<Tensor>) -> Result<()> {
    if let (Some(t), Some(n)) = (target, new) {
        t.copy_(&n)?;
    }
    Ok(())
}

pub fn native_batch_norm(a: &Args) -> Result<Value> {
    let (rm, rv) = (a.opt_tensor("running_mean")?, a.opt_tensor("running_var")?);
    let (out, m, s, nm, nv) = batch_norm_core(a.tensor("input")?, a.opt_tensor("weight")?, a.opt_tensor("bias")?, rm, rv, a.bool("training")?, a.float("momentum")?, a.float("eps")?, None)?;
    write_back(rm, nm)?;
    write_back(rv, nv)?;
    Ok((out, m, s).into())
}

pub fn batch_norm_legit(a: &Args) -> Result<Value> {
    let has_stats = a.schema().param_index("running_mean").is_some();
    let (rm, rv) = if has_stats { (Some(a.tensor("running_mean")?), Some(a.tensor("running_var")?)) } else { (None, None) };
    let (out, m, s, nm, nv) = batch_norm_core(a.tensor("input")?, a.opt_tensor("weight")?, a.opt_tensor("bias")?, rm, rv, a.bool("training")?, a.float("momentum")?, a.float("eps")?, None)?;
    write_back(rm, nm)?;
    write_back(rv, nv)?;
    Ok((out, m, s).into())
}

pub fn batch_norm_legit_no_training(a: &Args) -> Result<Value> {
    batch_norm_legit_no_training_then(a, None)
}

/// `_native_batch_norm_legit_no_training` with an activation on its output in the same pass
/// ([`crate::ActivationKernel`]).
pub fn batch_norm_legit_no_training_activated(a: &Args, then: Activation) -> Result<Value> {
    batch_norm_legit_no_training_then(a, Some(then))
}

fn batch_norm_legit_no_training_then(a: &Args, then: Option<Activation>) -> Result<Value> {
    let (rm, rv) = (Some(a.tensor("running_mean")?), Some(a.tensor("running_var")?));
    let (out, m, s, _, _) = batch_norm_core(a.tensor("input")?, a.opt_tensor("weight")?, a.opt_tensor("bias")?, rm, rv, false, a.float("momentum")?, a.float("eps")?, then)?;
    Ok((out, m, s).into())
}

/// The functional form: running statistics are returned, not written.
pub fn batch_norm_legit_functional(a: &Args) -> Result<Value> {
    let (rm, rv) = (a.tensor("running_mean")?, a.tensor("running_var")?);
    let training = a.bool("training")?;
    let (out, m, s, nm, nv) = batch_norm_core(a.tensor("input")?, a.opt_tensor("weight")?, a.opt_tensor("bias")?, Some(rm), Some(rv), training, a.float("momentum")?, a.float("eps")?, None)?;
    Ok(Value::List(vec![out.into(), m.into(), s.into(), nm.unwrap_or_else(|| rm.deep_clone()).into(), nv.unwrap_or_else(|| rv.deep_clone()).into()]))
}

/// `_batch_norm_with_update` (what `F.batch_norm` in training mode exports to): batch
/// statistics, running statistics updated in place, and the empty uint8 `reserve` PyTorch's CPU
/// kernel returns; `_batch_norm_with_update_functional` returns the updated statistics instead.
pub fn batch_norm_with_update(a: &Args) -> Result<Value> {
    let (rm, rv) = (a.tensor("running_mean")?, a.tensor("running_var")?);
    let (out, m, s, nm, nv) = batch_norm_core(a.tensor("input")?, a.opt_tensor("weight")?, a.opt_tensor("bias")?, Some(rm), Some(rv), true, a.float("momentum")?, a.float("eps")?, None)?;
    let reserve = Tensor::zeros(&[0], tensor::DType::U8);
    if a.schema().name.ends_with("_functional") {
        let (nm, nv) = (nm.unwrap_or_else(|| rm.deep_clone()), nv.unwrap_or_else(|| rv.deep_clone()));
        return Ok(Value::List(vec![out.into(), m.into(), s.into(), reserve.into(), nm.into(), nv.into()]));
    }
    write_back(Some(rm), nm)?;
    write_back(Some(rv), nv)?;
    Ok(Value::List(vec![out.into(), m.into(), s.into(), reserve.into()]))
}

pub fn batch_norm(a: &Args) -> Result<Value> {
    batch_norm_then(a, None)
}

/// `batch_norm` with an activation on its output in the same pass ([`crate::ActivationKernel`]).
pub fn batch_norm_activated(a: &Args, then: Activation) -> Result<Value> {
    batch_norm_then(a, Some(then))
}

fn batch_norm_then(a: &Args, then: Option<Activation>) -> Result<Value> {
    let (rm, rv) = (a.opt_tensor("running_mean")?, a.opt_tensor("running_var")?);
    let training = a.bool("training")? || rm.is_none();
    let (out, _, _, nm, nv) = batch_norm_core(a.tensor("input")?, a.opt_tensor("weight")?, a.opt_tensor("bias")?, rm, rv, training, a.float("momentum")?, a.float("eps")?, then)?;
    write_back(rm, nm)?;
    write_back(rv, nv)?;
    Ok(out.into())
}

/// Layer norm over the trailing `normalized_shape` dims: (out, mean, rstd) with the statistics
/// shaped `[..., 1, 1]`.
fn layer_norm_core(x: &Tensor, normalized: &[i64], weight: Option<&Tensor>, bias: Option<&Tensor>, eps: f64) -> Result<(Tensor, Tensor, Tensor)> {
    let k = normalized.len();
    if k > x.dim() || x.shape()[x.dim() - k..].iter().zip(normalized).any(|(&s, &n)| s as i64 != n) {
        bail!("Given normalized_shape={normalized:?}, expected input with shape [*, {}], but got input of size{:?}", normalized.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "), x.shape());
    }
    let inner: usize = normalized.iter().map(|&n| n as usize).product();
    let outer = x.numel() / inner.max(1);
    let mut stat_shape: Vec<usize> = x.shape()[..x.dim() - k].to_vec();
    stat_shape.extend(std::iter::repeat_n(1, k));
    let all_f32 = [Some(x), weight, bias].into_iter().flatten().all(|t| t.dtype() == DType::F32);
    if all_f32 && inner > 0 {
        return layer_norm_f32(x, inner, weight, bias, eps, &stat_shape);
    }
    let v = x.to_f64_vec();
    let w = weight.map(|t| t.to_f64_vec());
    let b = bias.map(|t| t.to_f64_vec());
    let mut out = vec![0f64; v.len()];
    let (mut means, mut rstds) = (vec![0f64; outer], vec![0f64; outer]);
    for o in 0..outer {
        let row = &v[o * inner..(o + 1) * inner];
        let m = row.iter().sum::<f64>() / inner as f64;
        let var = row.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / inner as f64;
        let r = 1.0 / (var + eps).sqrt();
        means[o] = m;
        rstds[o] = r;
        for i in 0..inner {
            let mut y = (row[i] - m) * r;
            if let Some(w) = &w {
                y *= w[i];
            }
            if let Some(b) = &b {
                y += b[i];
            }
            out[o * inner + i] = y;
        }
    }
    let dt = x.dtype();
    Ok((
        Tensor::from_vec(out, x.shape())?.to_dtype(dt),
        Tensor::from_vec(means, &stat_shape)?.to_dtype(dt),
        Tensor::from_vec(rstds, &stat_shape)?.to_dtype(dt),
    ))
}

/// Float32 layer norm without copies: rows in parallel, each row's mean and variance
/// accumulated in f64 (two passes, as exact as the general path), the output computed in f32.
fn layer_norm_f32(x: &Tensor, inner: usize, weight: Option<&Tensor>, bias: Option<&Tensor>, eps: f64, stat_shape: &[usize]) -> Result<(Tensor, Tensor, Tensor)> {
    use rayon::prelude::*;
    let outer = x.numel() / inner;
    let w = weight.map(|t| t.to_vec::<f32>());
    let b = bias.map(|t| t.to_vec::<f32>());
    let mut out = tensor::alloc::tensor_vec(0f32, x.shape());
    let (mut means, mut rstds) = (vec![0f32; outer], vec![0f32; outer]);
    x.with_contiguous::<f32, _>(|xs| {
        let row = |((o, v), (m, r)): ((&mut [f32], &[f32]), (&mut f32, &mut f32))| {
            let mean = v.iter().map(|&e| e as f64).sum::<f64>() / inner as f64;
            let var = v.iter().map(|&e| (e as f64 - mean) * (e as f64 - mean)).sum::<f64>() / inner as f64;
            let rstd = 1.0 / (var + eps).sqrt();
            let (mf, rf) = (mean as f32, rstd as f32);
            match (&w, &b) {
                (Some(w), Some(b)) => o.iter_mut().zip(v).zip(w.iter().zip(b)).for_each(|((o, &e), (&w, &b))| *o = (e - mf) * rf * w + b),
                (Some(w), None) => o.iter_mut().zip(v).zip(w).for_each(|((o, &e), &w)| *o = (e - mf) * rf * w),
                (None, Some(b)) => o.iter_mut().zip(v).zip(b).for_each(|((o, &e), &b)| *o = (e - mf) * rf + b),
                (None, None) => o.iter_mut().zip(v).for_each(|(o, &e)| *o = (e - mf) * rf),
            }
            (*m, *r) = (mf, rf);
        };
        let rows = out.par_chunks_mut(inner).zip(xs.par_chunks(inner)).zip(means.par_iter_mut().zip(rstds.par_iter_mut()));
        // a few rows at least per task: a row of a small model is a few hundred values
        let per_task = (tensor::kernels::PARALLEL_THRESHOLD / inner).max(1);
        if x.numel() >= tensor::kernels::PARALLEL_THRESHOLD {
            rows.with_min_len(per_task).for_each(row);
        } else {
            rows.with_min_len(outer.max(1)).for_each(row);
        }
    });
    Ok((Tensor::from_vec(out, x.shape())?, Tensor::from_vec(means, stat_shape)?, Tensor::from_vec(rstds, stat_shape)?))
}

pub fn native_layer_norm(a: &Args) -> Result<Value> {
    let (o, m, r) = layer_norm_core(a.tensor("input")?, &a.int_list("normalized_shape")?, a.opt_tensor("weight")?, a.opt_tensor("bias")?, a.float("eps")?)?;
    Ok((o, m, r).into())
}

pub fn layer_norm(a: &Args) -> Result<Value> {
    let (o, _, _) = layer_norm_core(a.tensor("input")?, &a.int_list("normalized_shape")?, a.opt_tensor("weight")?, a.opt_tensor("bias")?, a.float("eps")?)?;
    Ok(o.into())
}

pub fn native_group_norm(a: &Args) -> Result<Value> {
    let x = a.tensor("input")?;
    let (n, c, hw, groups) = (a.int("N")? as usize, a.int("C")? as usize, a.int("HxW")? as usize, a.int("group")?.max(1) as usize);
    let eps = a.float("eps")?;
    if c % groups != 0 || n * c * hw != x.numel() {
        bail!("Expected number of channels in input to be divisible by num_groups, but got input of shape {:?} and num_groups={groups}", x.shape());
    }
    let v = x.to_f64_vec();
    let w = a.opt_tensor("weight")?.map(|t| t.to_f64_vec());
    let b = a.opt_tensor("bias")?.map(|t| t.to_f64_vec());
    let cg = c / groups;
    let group_len = cg * hw;
    let mut out = vec![0f64; v.len()];
    let (mut means, mut rstds) = (vec![0f64; n * groups], vec![0f64; n * groups]);
    for i in 0..n * groups {
        let seg = &v[i * group_len..(i + 1) * group_len];
        let m = seg.iter().sum::<f64>() / group_len.max(1) as f64;
        let var = seg.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / group_len.max(1) as f64;
        let r = 1.0 / (var + eps).sqrt();
        means[i] = m;
        rstds[i] = r;
        for j in 0..group_len {
            let ch = (i % groups) * cg + j / hw.max(1);
            let mut y = (seg[j] - m) * r;
            if let Some(w) = &w {
                y *= w[ch];
            }
            if let Some(b) = &b {
                y += b[ch];
            }
            out[i * group_len + j] = y;
        }
    }
    let dt = x.dtype();
    Ok((
        Tensor::from_vec(out, x.shape())?.to_dtype(dt),
        Tensor::from_vec(means, &[n, groups])?.to_dtype(dt),
        Tensor::from_vec(rstds, &[n, groups])?.to_dtype(dt),
    )
        .into())
}

/// Dropout: identity (with an all-true mask) outside training or when `p` is 0.
pub fn native_dropout(a: &Args) -> Result<Value> {
    let x = a.tensor("input")?;
    let p = a.float("p")?;
    let train = a.opt_bool("train")?.unwrap_or(true);
    if !train || p == 0.0 {
        return Ok((x.deep_clone(), Tensor::full_i64(x.shape(), 1, DType::Bool)).into());
    }
    if !(0.0..=1.0).contains(&p) {
        bail!("dropout probability has to be between 0 and 1, but got {p}");
    }
    let rand = crate::Registry::global().call(crate::names::aten::rand, vec![Value::List(x.shape().iter().map(|&s| Value::Int(s as i64)).collect())], vec![])?;
    let Value::Tensor(r) = rand else { bail!("rand returned no tensor") };
    let keep = map_bool(&r, move |u| u >= p);
    let scale = if p < 1.0 { 1.0 / (1.0 - p) } else { 0.0 };
    let out = tensor::kernels::elementwise::zip::<f64, tensor::Bool8, f64>(&x.to_dtype(DType::F64), &keep, move |v, k| if k.get() { v * scale } else { 0.0 })?;
    Ok((out.to_dtype(x.dtype()), keep).into())
}
