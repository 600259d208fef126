//! The rest of the neural-network operators: upsampling, grid sampling, attention, losses,
//! pixel and channel shuffles, distances, and small activations with weights.

use crate::meta;
use tensor::{DType, Tensor};

use super::matmul::matmul_tensors;
use crate::aten::common::*;
use crate::{Args, Result, Value};

// ----- upsampling ---------------------------------------------------------------------------

/// Output sizes from `output_size` or `scale_factors` (the `.vec` overloads) and the scales
/// used to map output to input coordinates.
fn resize_plan(x: &Tensor, spatial: usize, size: Option<Vec<i64>>, scales: Option<Vec<f64>>) -> Result<(Vec<usize>, Vec<Option<f64>>)> {
    let input = &x.shape()[x.dim() - spatial..];
    match (size, scales) {
        (Some(s), _) if !s.is_empty() => {
            if s.len() != spatial || s.iter().any(|&v| v <= 0) {
                bail!("Input and output sizes should be greater than 0, but got input {input:?} output {s:?}");
            }
            Ok((s.iter().map(|&v| v as usize).collect(), vec![None; spatial]))
        }
        (_, Some(f)) => {
            let f = if f.len() == 1 { vec![f[0]; spatial] } else { f };
            if f.len() != spatial {
                bail!("expected {spatial} scale factors, got {f:?}");
            }
            Ok((input.iter().zip(&f).map(|(&i, &s)| (i as f64 * s).floor() as usize).collect(), f.into_iter().map(Some).collect()))
        }
        _ => bail!("Must specify exactly one of output_size and scale_factors"),
    }
}

/// Source coordinate of output index `o` for linear modes.
fn linear_source(o: usize, input: usize, output: usize, align: bool, scale: Option<f64>) -> f64 {
    if align {
        if output > 1 {
            o as f64 * (input as f64 - 1.0) / (output as f64 - 1.0)
        } else {
            0.0
        }
    } else {
        let ratio = scale.filter(|s| *s > 0.0).map(|s| 1.0 / s).unwrap_or(input as f64 / output as f64);
        ((o as f64 + 0.5) * ratio - 0.5).max(0.0)
    }
}

/// Nearest source index (`exact` rounds to the nearest center, as `nearest-exact`).
fn nearest_source(o: usize, input: usize, output: usize, scale: Option<f64>, exact: bool) -> usize {
    let ratio = scale.filter(|s| *s > 0.0).map(|s| 1.0 / s).unwrap_or(input as f64 / output as f64);
    let src = if exact { ((o as f64 + 0.5) * ratio).floor() } else { (o as f64 * ratio).floor() };
    (src as usize).min(input - 1)
}

/// Resamples the last `spatial` dims separably: each dim is an interpolation between source
/// positions with weights.
fn resample(x: &Tensor, spatial: usize, out: &[usize], taps: impl Fn(usize, usize, usize) -> Vec<(usize, f64)>) -> Result<Tensor> {
    let mut cur = x.to_dtype(DType::F64);
    for d in 0..spatial {
        let dim = x.dim() - spatial + d;
        let input = cur.shape()[dim];
        let mut parts = Vec::with_capacity(out[d]);
        for o in 0..out[d] {
            let mut acc: Option<Tensor> = None;
            for (i, w) in taps(d, o, input) {
                let s = cur.narrow(dim as i64, i as i64, 1)?;
                let term = tensor::kernels::elementwise::map::<f64, f64>(&s, move |v| v * w);
                acc = Some(match acc {
                    None => term,
                    Some(a) => tensor::kernels::elementwise::zip::<f64, f64, f64>(&a, &term, |p, q| p + q)?,
                });
            }
            parts.push(acc.ok_or_else(|| tensor::Error::msg("resample: no taps"))?);
        }
        cur = crate::aten::shape::cat(&parts, dim as i64)?;
    }
    Ok(cur.to_dtype(x.dtype()))
}

fn scales_of(a: &Args, names: &[&str]) -> Result<Option<Vec<f64>>> {
    let mut v = Vec::new();
    for n in names {
        match a.opt_float(n)? {
            Some(s) => v.push(s),
            None => return Ok(None),
        }
    }
    Ok(Some(v))
}

fn upsample_nearest(a: &Args, spatial: usize, exact: bool) -> Result<Value> {
    let x = if a.schema().param_index("input").is_some() { a.tensor("input")? } else { a.tensor("self")? };
    let size = a.opt_int_list("output_size")?;
    let scales = if a.schema().param_index("scale_factors").is_some() {
        a.opt_float_list("scale_factors")?
    } else if spatial == 1 {
        scales_of(a, &["scales"])?
    } else {
        scales_of(a, &["scales_h", "scales_w"])?
    };
    let (out, sc) = resize_plan(x, spatial, size.clone(), if size.as_ref().is_some_and(|s| !s.is_empty()) && a.schema().param_index("scale_factors").is_some() { None } else { scales.clone() })?;
    let sc = if size.as_ref().is_some_and(|s| !s.is_empty()) { scales.map(|s| s.into_iter().map(Some).collect()).unwrap_or(sc) } else { sc };
    Ok(resample(x, spatial, &out, |d, o, input| vec![(nearest_source(o, input, out[d], sc.get(d).copied().flatten(), exact), 1.0)])?.into())
}

fn upsample_linear(a: &Args, spatial: usize) -> Result<Value> {
    let x = if a.schema().param_index("input").is_some() { a.tensor("input")? } else { a.tensor("self")? };
    let align = a.bool("align_corners")?;
    let size = a.opt_int_list("output_size")?;
    let scales = if a.schema().param_index("scale_factors").is_some() {
        a.opt_float_list("scale_factors")?
    } else {
        match spatial {
            1 => scales_of(a, &["scales"])?,
            2 => scales_of(a, &["scales_h", "scales_w"])?,
            _ => scales_of(a, &["scales_d", "scales_h", "scales_w"])?,
        }
    };
    let has_size = size.as_ref().is_some_and(|s| !s.is_empty());
    let (out, mut sc) = resize_plan(x, spatial, size, if has_size { None } else { scales.clone() })?;
    if has_size {
        if let Some(s) = scales {
            sc = s.into_iter().map(Some).collect();
        }
    }
    Ok(resample(x, spatial, &out, |d, o, input| {
        let src = linear_source(o, input, out[d], align, sc.get(d).copied().flatten());
        let i0 = (src.floor() as usize).min(input - 1);
        let i1 = (i0 + 1).min(input - 1);
        let l = src - i0 as f64;
        vec![(i0, 1.0 - l), (i1, l)]
    })?
    .into())
}

/// Cubic convolution weights (A = -0.75) of the 4 taps around a fractional position.
fn cubic_weights(t: f64) -> [f64; 4] {
    let a = -0.75;
    let w = |x: f64| {
        let x = x.abs();
        if x <= 1.0 {
            ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
        } else if x < 2.0 {
            ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
        } else {
            0.0
        }
    };
    [w(t + 1.0), w(t), w(1.0 - t), w(2.0 - t)]
}

fn upsample_bicubic(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let align = a.bool("align_corners")?;
    let size = a.opt_int_list("output_size")?;
    let scales = scales_of(a, &["scales_h", "scales_w"])?;
    let (out, _) = resize_plan(x, 2, size, None)?;
    let sc: Vec<Option<f64>> = scales.map(|s| s.into_iter().map(Some).collect()).unwrap_or(vec![None, None]);
    Ok(resample(x, 2, &out, |d, o, input| {
        // bicubic does not clamp the source coordinate at 0
        let src = if align {
            linear_source(o, input, out[d], true, None)
        } else {
            let ratio = sc[d].filter(|s| *s > 0.0).map(|s| 1.0 / s).unwrap_or(input as f64 / out[d] as f64);
            (o as f64 + 0.5) * ratio - 0.5
        };
        let i0 = src.floor();
        let t = src - i0;
        let ws = cubic_weights(t);
        (0..4).map(|k| (((i0 as i64 - 1 + k as i64).clamp(0, input as i64 - 1)) as usize, ws[k])).collect()
    })?
    .into())
}

// ----- grid sampling ------------------------------------------------------------------------

fn grid_sampler_2d(a: &Args) -> Result<Value> {
    let (x, grid) = (a.tensor("input")?, a.tensor("grid")?);
    let (mode, padding, align) = (a.int("interpolation_mode")?, a.int("padding_mode")?, a.bool("align_corners")?);
    if x.dim() != 4 || grid.dim() != 4 || grid.shape()[3] != 2 || grid.shape()[0] != x.shape()[0] {
        bail!("grid_sampler(): expected 4D input and grid with same batch size and grid of shape [N, H, W, 2], but got input {:?} and grid {:?}", x.shape(), grid.shape());
    }
    let (n, c, ih, iw) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (oh, ow) = (grid.shape()[1], grid.shape()[2]);
    let xv = x.to_f64_vec();
    let gv = grid.to_f64_vec();
    let unnormalize = |coord: f64, size: usize| if align { (coord + 1.0) / 2.0 * (size as f64 - 1.0) } else { ((coord + 1.0) * size as f64 - 1.0) / 2.0 };
    let reflect = |coord: f64, lo2: f64, hi2: f64| -> f64 {
        if lo2 == hi2 {
            return 0.0;
        }
        let min = lo2 / 2.0;
        let span = (hi2 - lo2) / 2.0;
        let c = (coord - min).abs();
        let extra = c % span;
        let flips = (c / span).floor() as i64;
        if flips % 2 == 0 {
            extra + min
        } else {
            span - extra + min
        }
    };
    let source = |coord: f64, size: usize| -> f64 {
        let mut c = unnormalize(coord, size);
        match padding {
            1 => c = c.clamp(0.0, size as f64 - 1.0),
            2 => {
                c = if align { reflect(c, 0.0, 2.0 * (size as f64 - 1.0)) } else { reflect(c, -1.0, 2.0 * size as f64 - 1.0) };
                c = c.clamp(0.0, size as f64 - 1.0);
            }
            _ => {}
        }
        c
    };
    let mut out = tensor::alloc::tensor_vec(0f64, &[n, c, oh, ow]);
    for b in 0..n {
        for y in 0..oh {
            for xo in 0..ow {
                let g = ((b * oh + y) * ow + xo) * 2;
                let (sx, sy) = (source(gv[g], iw), source(gv[g + 1], ih));
                for ch in 0..c {
                    let plane = &xv[(b * c + ch) * ih * iw..(b * c + ch + 1) * ih * iw];
                    let at = |yy: i64, xx: i64| -> f64 {
                        if yy < 0 || xx < 0 || yy >= ih as i64 || xx >= iw as i64 {
                            0.0
                        } else {
                            plane[yy as usize * iw + xx as usize]
                        }
                    };
                    let v = match mode {
                        1 => at(sy.round_ties_even() as i64, sx.round_ties_even() as i64),
                        2 => {
                            let (x0, y0) = (sx.floor(), sy.floor());
                            let (tx, ty) = (sx - x0, sy - y0);
                            let (wx, wy) = (cubic_weights(tx), cubic_weights(ty));
                            let mut acc = 0.0;
                            for (j, wyj) in wy.iter().enumerate() {
                                for (i, wxi) in wx.iter().enumerate() {
                                    let (xx, yy) = (x0 as i64 - 1 + i as i64, y0 as i64 - 1 + j as i64);
                                    let (xx, yy) = match padding {
                                        1 | 2 => (xx.clamp(0, iw as i64 - 1), yy.clamp(0, ih as i64 - 1)),
                                        _ => (xx, yy),
                                    };
                                    acc += at(yy, xx) * wxi * wyj;
                                }
                            }
                            acc
                        }
                        _ => {
                            let (x0, y0) = (sx.floor(), sy.floor());
                            let (tx, ty) = (sx - x0, sy - y0);
                            let (x0, y0) = (x0 as i64, y0 as i64);
                            at(y0, x0) * (1.0 - tx) * (1.0 - ty) + at(y0, x0 + 1) * tx * (1.0 - ty) + at(y0 + 1, x0) * (1.0 - tx) * ty + at(y0 + 1, x0 + 1) * tx * ty
                        }
                    };
                    out[((b * c + ch) * oh + y) * ow + xo] = v;
                }
            }
        }
    }
    Ok(Tensor::from_vec(out, &[n, c, oh, ow])?.to_dtype(x.dtype()).into())
}

// ----- attention ----------------------------------------------------------------------------

/// `softmax(q @ k^T * scale + mask) @ v`, with a causal mask when asked; returns the output
/// and the row log-sum-exp (what the flash kernel also returns).
fn attention(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>, causal: bool, scale: Option<f64>, gqa: bool) -> Result<(Tensor, Tensor)> {
    if q.dim() < 2 || k.dim() < 2 || v.dim() < 2 {
        bail!("scaled_dot_product_attention: query, key and value must be at least 2-D");
    }
    let e = q.shape()[q.dim() - 1];
    let scale = scale.unwrap_or(1.0 / (e as f64).sqrt());
    let (mut k, mut v) = (k.clone(), v.clone());
    if gqa && q.dim() >= 3 {
        let (hq, hk) = (q.shape()[q.dim() - 3], k.shape()[k.dim() - 3]);
        if hk != hq && hk > 0 && hq % hk == 0 {
            let rep = hq / hk;
            let widen = |t: &Tensor| -> Result<Tensor> {
                let d = t.dim() - 3;
                let parts: Vec<Tensor> = (0..hk).flat_map(|h| std::iter::repeat_n(h, rep)).map(|h| t.narrow(d as i64, h as i64, 1)).collect::<Result<_>>()?;
                crate::aten::shape::cat(&parts, d as i64)
            };
            k = widen(&k)?;
            v = widen(&v)?;
        }
    }
    let dt = q.dtype();
    if (dt, k.dtype(), v.dtype()) == (DType::F32, DType::F32, DType::F32) && mask.is_none_or(|m| matches!(m.dtype(), DType::Bool | DType::F32)) {
        return attention_f32(q, &k, &v, mask, causal, scale);
    }
    let (qf, kf, vf) = (q.to_dtype(DType::F64), k.to_dtype(DType::F64), v.to_dtype(DType::F64));
    let scores = matmul_tensors(&qf, &kf.transpose(-2, -1)?)?;
    let scores = tensor::kernels::elementwise::map::<f64, f64>(&scores, move |s| s * scale);
    let (l, s) = (scores.shape()[scores.dim() - 2], scores.shape()[scores.dim() - 1]);
    let scores = if causal {
        let m: Vec<f64> = (0..l * s).map(|i| if i % s <= i / s { 0.0 } else { f64::NEG_INFINITY }).collect();
        let m = Tensor::from_vec(m, &[l, s])?;
        tensor::kernels::elementwise::zip::<f64, f64, f64>(&scores, &m, |p, q| p + q)?
    } else {
        scores
    };
    let scores = match mask {
        None => scores,
        Some(m) if m.dtype() == DType::Bool => {
            tensor::kernels::elementwise::zip::<f64, tensor::Bool8, f64>(&scores, m, |p, keep| if keep.get() { p } else { f64::NEG_INFINITY })?
        }
        Some(m) => tensor::kernels::elementwise::zip::<f64, f64, f64>(&scores, &m.to_dtype(DType::F64), |p, q| p + q)?,
    };
    let last = scores.dim() - 1;
    let lse = tensor::kernels::reduce::reduce::<f64, f64>(&scores, &[last], false, |g| {
        let m = g.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        if m == f64::NEG_INFINITY {
            return m;
        }
        m + g.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
    })?;
    let probs = tensor::kernels::reduce::map_lanes::<f64, f64>(&scores, last, s, |lane, out| {
        let m = lane.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = lane.iter().map(|v| (v - m).exp()).sum();
        for (o, v) in out.iter_mut().zip(lane) {
            *o = (v - m).exp() / sum;
        }
    })?;
    let out = matmul_tensors(&probs, &vf)?;
    // the flash kernel's log-sum-exp is float32 for reduced precisions, float64 for float64
    Ok((out.to_dtype(dt), lse.to_dtype(if dt == DType::F64 { DType::F64 } else { DType::F32 })))
}

/// [`attention`] for float32: both products in float32 through the matrix kernels, and one pass
/// over each row of scores that scales, masks, and turns it into probabilities (in float64,
/// rounded once) and its log-sum-exp.
fn attention_f32(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>, causal: bool, scale: f64) -> Result<(Tensor, Tensor)> {
    use rayon::prelude::*;
    use tensor::kernels::vmath;
    let scores = matmul_tensors(q, &k.transpose(-2, -1)?)?;
    let shape = scores.shape().to_vec();
    let (l, s) = (shape[shape.len() - 2], shape[shape.len() - 1]);
    // an additive mask over the scores' shape: boolean masks keep (0) or drop (-inf)
    let additive: Option<Vec<f32>> = match mask {
        None => None,
        Some(m) if m.dtype() == DType::Bool => {
            Some(m.broadcast_to(&shape)?.to_vec::<tensor::Bool8>().iter().map(|k| if k.get() { 0.0 } else { f32::NEG_INFINITY }).collect())
        }
        Some(m) => Some(m.broadcast_to(&shape)?.to_vec::<f32>()),
    };
    let lanes = shape[..shape.len() - 1].iter().product::<usize>();
    let mut probs = tensor::alloc::tensor_vec(0f32, &shape);
    let mut lse = tensor::alloc::tensor_vec(0f32, &shape[..shape.len() - 1]);
    scores.with_contiguous::<f32, _>(|xs| {
        let one = |(r, (o, lse)): (usize, (&mut [f32], &mut f32))| {
            let row = r % l.max(1);
            let x = &xs[r * s..(r + 1) * s];
            let add = additive.as_ref().map(|a| &a[r * s..(r + 1) * s]);
            let value = |j: usize| -> f64 {
                if causal && j > row {
                    return f64::NEG_INFINITY;
                }
                let v = x[j] as f64 * scale;
                add.map_or(v, |a| v + a[j] as f64)
            };
            // the scaled, masked scores in float32, then as PyTorch's float kernel: e^(x - max)
            // vectorized in float32, summed in float64, divided
            for (j, p) in o.iter_mut().enumerate() {
                *p = value(j) as f32;
            }
            let m = o.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            if m == f32::NEG_INFINITY {
                o.iter_mut().for_each(|p| *p = f32::NAN);
                *lse = f32::NEG_INFINITY;
                return;
            }
            vmath::map_in_place(o, move |v: f32| vmath::exp(v - m));
            let sum = tensor::kernels::reduce::sum_as_f64(o);
            vmath::map_in_place(o, move |v: f32| (v as f64 / sum) as f32);
            *lse = (m as f64 + sum.ln()) as f32;
        };
        if s > 0 {
            if lanes * s >= 1 << 15 {
                probs.par_chunks_mut(s).zip(lse.par_iter_mut()).enumerate().for_each(one);
            } else {
                probs.chunks_mut(s).zip(lse.iter_mut()).enumerate().for_each(one);
            }
        }
    });
    let probs = Tensor::from_vec(probs, &shape)?;
    let out = matmul_tensors(&probs, v)?;
    Ok((out, Tensor::from_vec(lse, &shape[..shape.len() - 1])?))
}

fn sdpa(a: &Args) -> Result<Value> {
    if a.float("dropout_p")? > 0.0 {
        bail!("scaled_dot_product_attention with dropout_p > 0 is random; pt2 runs inference (dropout_p must be 0)");
    }
    let (out, _) = attention(a.tensor("query")?, a.tensor("key")?, a.tensor("value")?, a.opt_tensor("attn_mask")?, a.bool("is_causal")?, a.opt_float("scale")?, a.bool("enable_gqa")?)?;
    Ok(out.into())
}

fn sdpa_flash_cpu(a: &Args) -> Result<Value> {
    if a.float("dropout_p")? > 0.0 {
        bail!("_scaled_dot_product_flash_attention_for_cpu with dropout_p > 0 is random; pt2 runs inference");
    }
    let (out, lse) = attention(a.tensor("query")?, a.tensor("key")?, a.tensor("value")?, a.opt_tensor("attn_mask")?, a.bool("is_causal")?, a.opt_float("scale")?, false)?;
    Ok((out, lse).into())
}

// ----- losses -------------------------------------------------------------------------------

/// Applies a reduction code (0 none, 1 mean, 2 sum) to elementwise losses.
fn reduce_loss(l: Tensor, reduction: i64, dtype: DType) -> Result<Tensor> {
    let v = l.to_f64_vec();
    Ok(match reduction {
        0 => l.to_dtype(dtype),
        1 => Tensor::full(&[], v.iter().sum::<f64>() / v.len() as f64, dtype),
        2 => Tensor::full(&[], v.iter().sum::<f64>(), dtype),
        r => bail!("{r} is not a valid value for reduction"),
    })
}

fn pointwise_loss(a: &Args, f: impl Fn(f64, f64) -> f64 + Sync) -> Result<Value> {
    let (x, t) = (a.tensor("self")?, a.tensor("target")?);
    let l = zip_f64(x, t, DType::F64, f)?;
    Ok(reduce_loss(l, a.int("reduction")?, x.dtype())?.into())
}

fn huber(a: &Args) -> Result<Value> {
    let d = a.float("delta")?;
    pointwise_loss(a, move |x, y| {
        let e = (x - y).abs();
        if e < d {
            0.5 * e * e
        } else {
            d * (e - 0.5 * d)
        }
    })
}

fn smooth_l1(a: &Args) -> Result<Value> {
    let b = a.float("beta")?;
    pointwise_loss(a, move |x, y| {
        let e = (x - y).abs();
        if b == 0.0 {
            e
        } else if e < b {
            0.5 * e * e / b
        } else {
            e - 0.5 * b
        }
    })
}

fn bce(a: &Args) -> Result<Value> {
    let (x, t) = (a.tensor("self")?, a.tensor("target")?);
    let mut l = zip_f64(x, t, DType::F64, |p, y| -(y * p.ln().max(-100.0) + (1.0 - y) * (1.0 - p).ln().max(-100.0)))?;
    if let Some(w) = a.opt_tensor("weight")? {
        l = zip_f64(&l, w, DType::F64, |p, q| p * q)?;
    }
    Ok(reduce_loss(l, a.int("reduction")?, x.dtype())?.into())
}

fn bce_logits(a: &Args) -> Result<Value> {
    let (x, t) = (a.tensor("self")?, a.tensor("target")?);
    let xf = x.to_dtype(DType::F64);
    let tf = t.to_dtype(DType::F64);
    let log_sig = |v: f64| -> f64 { v.min(0.0) - (-v.abs()).exp().ln_1p() };
    let l = match a.opt_tensor("pos_weight")? {
        Some(pw) => {
            let pwf = pw.to_dtype(DType::F64);
            let lw = tensor::kernels::elementwise::zip::<f64, f64, f64>(&tf, &pwf, |y, p| 1.0 + (p - 1.0) * y)?;
            let part = tensor::kernels::elementwise::zip3::<f64, f64, f64, f64>(&xf, &tf, &lw, move |v, y, w| (1.0 - y) * v - w * log_sig(v))?;
            part
        }
        None => tensor::kernels::elementwise::zip::<f64, f64, f64>(&xf, &tf, move |v, y| (1.0 - y) * v - log_sig(v))?,
    };
    let l = match a.opt_tensor("weight")? {
        Some(w) => zip_f64(&l, w, DType::F64, |p, q| p * q)?,
        None => l,
    };
    Ok(reduce_loss(l, a.int("reduction")?, x.dtype())?.into())
}

fn nll_loss(a: &Args) -> Result<Value> {
    let (x, t) = (a.tensor("self")?, a.tensor("target")?);
    let reduction = a.int("reduction")?;
    let ignore = a.int("ignore_index")?;
    // move classes to the last dim: [N, C, d...] -> [N, d..., C]
    let xm = if x.dim() >= 2 {
        let mut order: Vec<i64> = (0..x.dim() as i64).filter(|&d| d != 1).collect();
        order.push(1);
        x.permute(&order)?.contiguous()
    } else {
        x.unsqueeze(0)?
    };
    let c = *xm.shape().last().unwrap_or(&1);
    let xv = xm.to_f64_vec();
    let tv = t.to_i64_vec();
    let w = a.opt_tensor("weight")?.map(|w| w.to_f64_vec());
    let mut losses = Vec::with_capacity(tv.len());
    let (mut total, mut total_w) = (0.0, 0.0);
    for (i, &cls) in tv.iter().enumerate() {
        if cls == ignore {
            losses.push(0.0);
            continue;
        }
        if cls < 0 || cls as usize >= c {
            bail!("Target {cls} is out of bounds.");
        }
        let wi = w.as_ref().map(|w| w[cls as usize]).unwrap_or(1.0);
        let l = -xv[i * c + cls as usize] * wi;
        losses.push(l);
        total += l;
        total_w += wi;
    }
    let dt = x.dtype();
    let out = match reduction {
        0 => Tensor::from_vec(losses, t.shape())?.to_dtype(dt),
        1 => Tensor::full(&[], total / total_w, dt),
        2 => Tensor::full(&[], total, dt),
        r => bail!("{r} is not a valid value for reduction"),
    };
    // PyTorch reports no total weight when the loss is not reduced
    let total_w = if reduction == 0 { 0.0 } else { total_w };
    Ok((out, Tensor::full(&[], total_w, dt)).into())
}

// ----- shuffles and small operators ---------------------------------------------------------

fn pixel_shuffle(a: &Args, down: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let r = if down { a.int("downscale_factor")? } else { a.int("upscale_factor")? };
    if x.dim() < 3 || r <= 0 {
        bail!("pixel_shuffle expects input to have at least 3 dimensions and a positive factor, but got input with sizes {:?}", x.shape());
    }
    let n = x.dim();
    let lead: Vec<i64> = x.shape()[..n - 3].iter().map(|&s| s as i64).collect();
    let (c, h, w) = (x.shape()[n - 3] as i64, x.shape()[n - 2] as i64, x.shape()[n - 1] as i64);
    let l = lead.len() as i64;
    let out = if !down {
        if c % (r * r) != 0 {
            bail!("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor, but input.size(-3)={c} is not divisible by {}", r * r);
        }
        let oc = c / (r * r);
        let v = x.reshape(&[lead.clone(), vec![oc, r, r, h, w]].concat())?;
        let p: Vec<i64> = (0..l).chain([l, l + 3, l + 1, l + 4, l + 2]).collect();
        v.permute(&p)?.reshape(&[lead, vec![oc, h * r, w * r]].concat())?
    } else {
        if h % r != 0 || w % r != 0 {
            bail!("pixel_unshuffle expects height and width to be divisible by downscale_factor, but got {h}x{w} and {r}");
        }
        let v = x.reshape(&[lead.clone(), vec![c, h / r, r, w / r, r]].concat())?;
        let p: Vec<i64> = (0..l).chain([l, l + 2, l + 4, l + 1, l + 3]).collect();
        v.permute(&p)?.reshape(&[lead, vec![c * r * r, h / r, w / r]].concat())?
    };
    Ok(out.deep_clone().into())
}

fn channel_shuffle(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let g = a.int("groups")?;
    if x.dim() < 3 || g <= 0 || x.shape()[1] as i64 % g != 0 {
        bail!("Number of channels must be divisible by groups. Got {} channels and {g} groups.", x.shape().get(1).copied().unwrap_or(0));
    }
    let c = x.shape()[1] as i64;
    let mut shape: Vec<i64> = vec![x.shape()[0] as i64, g, c / g];
    shape.extend(x.shape()[2..].iter().map(|&s| s as i64));
    let v = x.reshape(&shape)?.transpose(1, 2)?.deep_clone();
    Ok(v.reshape(&x.shape().iter().map(|&s| s as i64).collect::<Vec<_>>())?.into())
}

fn glu(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = tensor::shape::wrap_dim(a.int("dim")?, x.dim())?;
    let n = x.shape()[d];
    if n % 2 != 0 {
        bail!("Halving dimension must be even, but dimension {d} is size {n}");
    }
    let (first, second) = (x.narrow(d as i64, 0, n / 2)?, x.narrow(d as i64, (n / 2) as i64, n / 2)?);
    Ok(zip_f64(&first, &second, x.dtype(), |p, q| p / (1.0 + (-q).exp()))?.into())
}

fn prelu(a: &Args) -> Result<Value> {
    let (x, w) = (a.tensor("self")?, a.tensor("weight")?);
    let w = if x.dim() >= 2 && w.numel() > 1 {
        let mut shape = vec![1i64; x.dim()];
        shape[1] = -1;
        w.reshape(&shape)?
    } else {
        w.clone()
    };
    Ok(zip_f64(x, &w, x.dtype(), |v, s| if v > 0.0 { v } else { v * s })?.into())
}

fn unfold(a: &Args, copy: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let (size, step) = (a.int("size")?, a.int("step")?);
    if size < 0 || step <= 0 {
        bail!("unfold: size must be non-negative and step positive, got size={size}, step={step}");
    }
    let v = x.unfold(a.int("dimension")?, size as usize, step as usize)?;
    Ok(if copy { v.deep_clone() } else { v }.into())
}

fn pairwise_p(x: &[f64], y: &[f64], p: f64) -> f64 {
    let diffs = x.iter().zip(y).map(|(a, b)| (a - b).abs());
    if p == 0.0 {
        diffs.filter(|d| *d != 0.0).count() as f64
    } else if p == f64::INFINITY {
        diffs.fold(0.0, f64::max)
    } else if p == 1.0 {
        diffs.sum()
    } else if p == 2.0 {
        diffs.map(|d| d * d).sum::<f64>().sqrt()
    } else {
        diffs.map(|d| d.powf(p)).sum::<f64>().powf(1.0 / p)
    }
}

fn cdist(a: &Args) -> Result<Value> {
    let (x1, x2) = (a.tensor("x1")?, a.tensor("x2")?);
    let p = a.float("p")?;
    if x1.dim() < 2 || x2.dim() < 2 || x1.shape()[x1.dim() - 1] != x2.shape()[x2.dim() - 1] {
        bail!("cdist only supports at least 2D tensors with matching last dims, got {:?} and {:?}", x1.shape(), x2.shape());
    }
    let (r1, r2, m) = (x1.shape()[x1.dim() - 2], x2.shape()[x2.dim() - 2], x1.shape()[x1.dim() - 1]);
    let batch = tensor::shape::broadcast_shapes(&x1.shape()[..x1.dim() - 2], &x2.shape()[..x2.dim() - 2])?;
    let b: usize = batch.iter().product();
    let e1: Vec<i64> = batch.iter().map(|&s| s as i64).chain([r1 as i64, m as i64]).collect();
    let e2: Vec<i64> = batch.iter().map(|&s| s as i64).chain([r2 as i64, m as i64]).collect();
    let v1 = x1.expand(&e1)?.to_f64_vec();
    let v2 = x2.expand(&e2)?.to_f64_vec();
    let mut out = Vec::with_capacity(b * r1 * r2);
    for bi in 0..b {
        for i in 0..r1 {
            for j in 0..r2 {
                let a1 = &v1[(bi * r1 + i) * m..(bi * r1 + i + 1) * m];
                let a2 = &v2[(bi * r2 + j) * m..(bi * r2 + j + 1) * m];
                out.push(pairwise_p(a1, a2, p));
            }
        }
    }
    let shape: Vec<usize> = batch.iter().copied().chain([r1, r2]).collect();
    Ok(Tensor::from_vec(out, &shape)?.to_dtype(x1.dtype()).into())
}

fn pdist(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if x.dim() != 2 {
        bail!("pdist only supports 2D tensors, got: {}D", x.dim());
    }
    let p = a.float("p")?;
    let (n, m) = (x.shape()[0], x.shape()[1]);
    let v = x.to_f64_vec();
    let mut out = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            out.push(pairwise_p(&v[i * m..(i + 1) * m], &v[j * m..(j + 1) * m], p));
        }
    }
    let len = out.len();
    Ok(Tensor::from_vec(out, &[len])?.to_dtype(x.dtype()).into())
}

fn dist(a: &Args) -> Result<Value> {
    let (x, y) = (a.tensor("self")?, a.tensor("other")?);
    let shape = tensor::shape::broadcast_shapes(x.shape(), y.shape())?;
    let common = float_dtype(tensor::promote_types(x.dtype(), y.dtype())?);
    let p = a.scalar("p")?.to_f64();
    if common.is_complex() {
        // the p-norm of the differences' magnitudes, a real number
        let gaps = crate::aten::complex::zip(x, y, common, |p, q| p - q)?;
        let magnitudes: Vec<f64> = gaps.to_vec::<tensor::Complex64>().iter().map(|z| z.re.hypot(z.im)).collect();
        return Ok(Tensor::full(&[], pairwise_p(&magnitudes, &vec![0.0; magnitudes.len()], p), common.to_real()).into());
    }
    let (xv, yv) = (x.broadcast_to(&shape)?.to_f64_vec(), y.broadcast_to(&shape)?.to_f64_vec());
    Ok(Tensor::full(&[], pairwise_p(&xv, &yv, p), common).into())
}

pub fn register(r: &crate::Registry) {
    use crate::registry::Tag::*;
    let core = &[Core][..];
    let none = &[][..];
    r.def_meta("aten::upsample_nearest2d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor", core, meta::upsample, |a| upsample_nearest(a, 2, false));
    r.def_meta("aten::upsample_nearest1d(Tensor self, SymInt[1] output_size, float? scales=None) -> Tensor", none, meta::upsample, |a| upsample_nearest(a, 1, false));
    r.def_meta("aten::_upsample_nearest_exact1d(Tensor self, SymInt[1] output_size, float? scales=None) -> Tensor", none, meta::upsample, |a| upsample_nearest(a, 1, true));
    r.def_meta("aten::upsample_bilinear2d.vec(Tensor input, SymInt[]? output_size, bool align_corners, float[]? scale_factors) -> Tensor", core, meta::upsample, |a| upsample_linear(a, 2));
    r.def_meta("aten::upsample_bilinear2d(Tensor self, SymInt[2] output_size, bool align_corners, float? scales_h=None, float? scales_w=None) -> Tensor", none, meta::upsample, |a| upsample_linear(a, 2));
    r.def_meta("aten::upsample_linear1d(Tensor self, SymInt[1] output_size, bool align_corners, float? scales=None) -> Tensor", none, meta::upsample, |a| upsample_linear(a, 1));
    r.def_meta("aten::upsample_trilinear3d(Tensor self, SymInt[3] output_size, bool align_corners, float? scales_d=None, float? scales_h=None, float? scales_w=None) -> Tensor", none, meta::upsample, |a| upsample_linear(a, 3));
    r.def_meta("aten::upsample_bicubic2d(Tensor self, SymInt[2] output_size, bool align_corners, float? scales_h=None, float? scales_w=None) -> Tensor", none, meta::upsample, upsample_bicubic);
    r.def_meta("aten::grid_sampler_2d(Tensor input, Tensor grid, int interpolation_mode, int padding_mode, bool align_corners) -> Tensor", core, meta::grid_sampler, grid_sampler_2d);
    r.def_meta("aten::scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask=None, float dropout_p=0., bool is_causal=False, *, float? scale=None, bool enable_gqa=False) -> Tensor", none, meta::sdpa, sdpa);
    r.def("aten::_scaled_dot_product_flash_attention_for_cpu(Tensor query, Tensor key, Tensor value, float dropout_p=0., bool is_causal=False, *, Tensor? attn_mask=None, float? scale=None) -> (Tensor output, Tensor logsumexp)", none, sdpa_flash_cpu);
    r.def_meta("aten::mse_loss(Tensor self, Tensor target, int reduction=1) -> Tensor", none, meta::loss, |a| pointwise_loss(a, |x, y| (x - y) * (x - y)));
    r.def_meta("aten::huber_loss(Tensor self, Tensor target, int reduction=1, float delta=1.) -> Tensor", none, meta::loss, huber);
    r.def_meta("aten::smooth_l1_loss(Tensor self, Tensor target, int reduction=1, float beta=1.) -> Tensor", none, meta::loss, smooth_l1);
    r.def_meta("aten::soft_margin_loss(Tensor self, Tensor target, int reduction=1) -> Tensor", none, meta::loss, |a| pointwise_loss(a, |x, y| (-x * y).exp().ln_1p()));
    r.def_meta("aten::binary_cross_entropy(Tensor self, Tensor target, Tensor? weight=None, int reduction=1) -> Tensor", none, meta::loss, bce);
    r.def_meta("aten::binary_cross_entropy_with_logits(Tensor self, Tensor target, Tensor? weight=None, Tensor? pos_weight=None, int reduction=1) -> Tensor", none, meta::loss, bce_logits);
    r.def_meta("aten::nll_loss_forward(Tensor self, Tensor target, Tensor? weight, int reduction, SymInt ignore_index) -> (Tensor output, Tensor total_weight)", none, meta::nll_loss, nll_loss);
    r.def_meta("aten::nll_loss2d_forward(Tensor self, Tensor target, Tensor? weight, int reduction, SymInt ignore_index) -> (Tensor output, Tensor total_weight)", none, meta::nll_loss, nll_loss);
    r.def_meta("aten::pixel_shuffle(Tensor self, int upscale_factor) -> Tensor", none, meta::pixel_shuffle, |a| pixel_shuffle(a, false)).any_dtype();
    r.def_meta("aten::pixel_unshuffle(Tensor self, int downscale_factor) -> Tensor", none, meta::pixel_shuffle, |a| pixel_shuffle(a, true)).any_dtype();
    r.def_meta("aten::channel_shuffle(Tensor self, SymInt groups) -> Tensor", none, meta::same_as_self, channel_shuffle);
    r.def_meta("aten::glu(Tensor self, int dim=-1) -> Tensor", none, meta::glu, glu);
    r.def_meta("aten::_prelu_kernel(Tensor self, Tensor weight) -> Tensor", none, meta::same_as_self, prelu);
    r.def_meta("aten::unfold(Tensor(a) self, int dimension, int size, int step) -> Tensor(a)", none, meta::unfold, |a| unfold(a, false));
    r.def_meta("aten::unfold_copy(Tensor self, int dimension, int size, int step) -> Tensor", none, meta::unfold, |a| unfold(a, true)).any_dtype();
    r.def_meta("aten::_cdist_forward(Tensor x1, Tensor x2, float p, int? compute_mode) -> Tensor", core, meta::cdist, cdist);
    r.def_meta("aten::_pdist_forward(Tensor self, float p=2.) -> Tensor", core, meta::pdist, pdist);
    r.def_meta("aten::dist(Tensor self, Tensor other, Scalar p=2) -> Tensor", none, meta::scalar_result, dist).complex();
}

// ----- unpooling, gradients of pooling and softmax ------------------------------------------

/// Scatters each plane's values to the flat positions `indices` names, into planes of
/// `out_elems` elements (max_unpool; the pooling gradient with `accumulate`).
fn scatter_planes(values: &Tensor, indices: &Tensor, lead: &[usize], out_sp: &[usize], accumulate: bool, dtype: DType) -> Result<Tensor> {
    let out_elems: usize = out_sp.iter().product();
    let planes: usize = lead.iter().product();
    let v = values.to_f64_vec();
    let idx = indices.to_i64_vec();
    if v.len() != idx.len() {
        bail!("Expected shape of indices to be same as that of the input tensor ({:?}) but got indices tensor with shape: {:?}", values.shape(), indices.shape());
    }
    let per_plane = if planes == 0 { 0 } else { v.len() / planes };
    let mut out = tensor::alloc::tensor_vec(0f64, &[planes, out_elems]);
    for p in 0..planes {
        for k in 0..per_plane {
            let i = idx[p * per_plane + k];
            if i < 0 || i as usize >= out_elems {
                bail!("Found an invalid max index: {i} (output volumes are of size {})", out_sp.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("x"));
            }
            let o = &mut out[p * out_elems + i as usize];
            *o = if accumulate { *o + v[p * per_plane + k] } else { v[p * per_plane + k] };
        }
    }
    let mut shape = lead.to_vec();
    shape.extend(out_sp);
    Ok(Tensor::from_vec(out, &shape)?.to_dtype(dtype))
}

fn max_unpool(a: &Args, spatial: usize) -> Result<Value> {
    let (x, idx) = (a.tensor("self")?, a.tensor("indices")?);
    let size: Vec<usize> = a.int_list("output_size")?.into_iter().map(|s| s.max(0) as usize).collect();
    if size.len() != spatial || x.dim() < spatial + 1 {
        bail!("max_unpool{spatial}d: output_size must have {spatial} elements and input at least {} dims, got {size:?} and {:?}", spatial + 1, x.shape());
    }
    let lead = &x.shape()[..x.dim() - spatial];
    Ok(scatter_planes(x, idx, lead, &size, false, x.dtype())?.into())
}

fn max_pool2d_backward(a: &Args) -> Result<Value> {
    let (g, x, idx) = (a.tensor("grad_output")?, a.tensor("self")?, a.tensor("indices")?);
    let lead = &x.shape()[..x.dim() - 2];
    let sp = &x.shape()[x.dim() - 2..];
    Ok(scatter_planes(g, idx, lead, sp, true, x.dtype())?.into())
}

fn softmax_backward(a: &Args) -> Result<Value> {
    let (g, y) = (a.tensor("grad_output")?, a.tensor("output")?);
    let d = tensor::shape::wrap_dim(a.int("dim")?, g.dim())?;
    let gy = zip_f64(g, y, DType::F64, |p, q| p * q)?;
    let dims: Vec<usize> = if g.dim() == 0 { vec![] } else { vec![d] };
    let s = tensor::kernels::reduce::reduce::<f64, f64>(&gy, &dims, true, |v| v.iter().sum())?;
    let diff = zip_f64(g, &s, DType::F64, |p, q| p - q)?;
    let out = a.opt_dtype("input_dtype")?.unwrap_or(g.dtype());
    Ok(zip_f64(y, &diff, out, |p, q| p * q)?.into())
}

// ----- bags, trilinear, margin losses -------------------------------------------------------

/// Whether PyTorch's CPU embedding bag takes its sum fast path (float32, float16 or bfloat16 weights, no
/// padding index), which reports no bag membership (an empty `offset2bag`) nor sizes.
pub(crate) fn embedding_bag_fast_sum(mode: i64, weight: DType, padding_idx: i64) -> bool {
    mode == 0 && matches!(weight, DType::F32 | DType::F16 | DType::BF16) && padding_idx < 0
}

fn embedding_bag(a: &Args) -> Result<Value> {
    let (w, idx, offsets) = (a.tensor("weight")?, a.tensor("indices")?, a.tensor("offsets")?);
    let mode = a.int("mode")?;
    let include_last = a.bool("include_last_offset")?;
    let padding_idx = a.int("padding_idx")?;
    let psw = a.opt_tensor("per_sample_weights")?.map(|t| t.to_f64_vec());
    if w.dim() != 2 || idx.dim() != 1 {
        bail!("embedding_bag: expected 2-D weight and 1-D indices, got {:?} and {:?}", w.shape(), idx.shape());
    }
    let (rows, dim) = (w.shape()[0], w.shape()[1]);
    let wv = w.to_f64_vec();
    let iv = idx.to_i64_vec();
    let mut ov = offsets.to_i64_vec();
    if !include_last {
        ov.push(iv.len() as i64);
    }
    let bags = ov.len().saturating_sub(1);
    let mut out = vec![0f64; bags * dim];
    let mut bag_size = vec![0i64; bags];
    let mut max_idx = vec![0i64; if mode == 2 { bags * dim } else { bags }];
    let mut offset2bag = vec![0i64; iv.len()];
    for b in 0..bags {
        let (s, e) = (ov[b].max(0) as usize, (ov[b + 1].max(0) as usize).min(iv.len()));
        let mut first = true;
        for k in s..e.max(s) {
            offset2bag[k] = b as i64;
            let i = iv[k];
            if i < 0 || i as usize >= rows {
                bail!("embedding_bag: index {i} is out of bounds for dimension 0 with size {rows}");
            }
            if i == padding_idx {
                continue;
            }
            bag_size[b] += 1;
            let scale = psw.as_ref().map(|p| p[k]).unwrap_or(1.0);
            for j in 0..dim {
                let v = wv[i as usize * dim + j] * scale;
                let o = &mut out[b * dim + j];
                if mode == 2 {
                    if first || v > *o {
                        *o = v;
                        max_idx[b * dim + j] = i;
                    }
                } else {
                    *o += v;
                }
            }
            first = false;
        }
        if mode == 1 && bag_size[b] > 0 {
            (0..dim).for_each(|j| out[b * dim + j] /= bag_size[b] as f64);
        }
    }
    // the sum mode's fast path reports neither bag membership nor sizes, as PyTorch's
    let (offset2bag, bag_size) = if embedding_bag_fast_sum(mode, w.dtype(), padding_idx) { (Vec::new(), vec![0; bags]) } else { (offset2bag, bag_size) };
    let o2b_len = offset2bag.len();
    let max_shape: Vec<usize> = if mode == 2 { vec![bags, dim] } else { vec![bags] };
    Ok(Value::List(vec![
        Tensor::from_vec(out, &[bags, dim])?.to_dtype(w.dtype()).into(),
        Tensor::from_vec(offset2bag, &[o2b_len])?.into(),
        Tensor::from_vec(bag_size, &[bags])?.into(),
        Tensor::from_vec(max_idx, &max_shape)?.into(),
    ]))
}

fn trilinear(a: &Args) -> Result<Value> {
    let (i1, i2, i3) = (a.tensor("i1")?, a.tensor("i2")?, a.tensor("i3")?);
    let expand = |t: &Tensor, dims: Vec<i64>| -> Result<Tensor> {
        let mut r = t.clone();
        let mut ds = dims;
        ds.sort();
        for d in ds {
            r = r.unsqueeze(d)?;
        }
        Ok(r)
    };
    let (e1, e2, e3) = (expand(i1, a.int_list("expand1")?)?, expand(i2, a.int_list("expand2")?)?, expand(i3, a.int_list("expand3")?)?);
    let p = zip_f64(&e1, &e2, DType::F64, |x, y| x * y)?;
    let p = zip_f64(&p, &e3, DType::F64, |x, y| x * y)?;
    let sum: Vec<usize> = a.int_list("sumdim")?.into_iter().map(|d| tensor::shape::wrap_dim(d, p.dim())).collect::<Result<_>>()?;
    let r = if sum.is_empty() { p } else { tensor::kernels::reduce::reduce::<f64, f64>(&p, &sum, false, |g| g.iter().sum())? };
    Ok(r.to_dtype(i1.dtype()).into())
}

fn rows_of(x: &Tensor) -> (usize, usize, Vec<f64>) {
    let c = if x.dim() == 0 { 1 } else { x.shape()[x.dim() - 1] };
    let n = if c == 0 { 0 } else { x.numel() / c };
    (n, c, x.to_f64_vec())
}

fn multi_margin(a: &Args) -> Result<Value> {
    let (x, t) = (a.tensor("self")?, a.tensor("target")?);
    let (p, margin) = (a.scalar("p")?.to_f64(), a.scalar("margin")?.to_f64());
    let w = a.opt_tensor("weight")?.map(|w| w.to_f64_vec());
    let (n, c, xv) = rows_of(x);
    let tv = t.to_i64_vec();
    let mut losses = Vec::with_capacity(n);
    for i in 0..n {
        let y = tv[i];
        if y < 0 || y as usize >= c {
            bail!("target out of range");
        }
        let y = y as usize;
        let row = &xv[i * c..(i + 1) * c];
        let mut l = 0.0;
        for j in 0..c {
            if j != y {
                let z = (margin - row[y] + row[j]).max(0.0);
                let z = if p == 1.0 { z } else { z * z };
                l += z * w.as_ref().map(|w| w[y]).unwrap_or(1.0);
            }
        }
        losses.push(l / c as f64);
    }
    let shape: Vec<usize> = if x.dim() <= 1 { vec![] } else { vec![n] };
    Ok(reduce_loss(Tensor::from_vec(losses, &shape)?, a.int("reduction")?, x.dtype())?.into())
}

fn multilabel_margin(a: &Args) -> Result<Value> {
    let (x, t) = (a.tensor("self")?, a.tensor("target")?);
    let (n, c, xv) = rows_of(x);
    let tv = t.to_i64_vec();
    let (mut losses, mut is_target) = (Vec::with_capacity(n), vec![0f64; n * c]);
    for i in 0..n {
        let row = &xv[i * c..(i + 1) * c];
        let targets: Vec<usize> = tv[i * c..(i + 1) * c].iter().take_while(|&&v| v >= 0).map(|&v| v as usize).collect();
        if targets.iter().any(|&v| v >= c) {
            bail!("multilabel_margin_loss: target index out of range");
        }
        targets.iter().for_each(|&j| is_target[i * c + j] = 1.0);
        let mut l = 0.0;
        for &j in &targets {
            for k in 0..c {
                if is_target[i * c + k] == 0.0 {
                    l += (1.0 - (row[j] - row[k])).max(0.0);
                }
            }
        }
        losses.push(l / c as f64);
    }
    let shape: Vec<usize> = if x.dim() <= 1 { vec![] } else { vec![n] };
    let loss = reduce_loss(Tensor::from_vec(losses, &shape)?, a.int("reduction")?, x.dtype())?;
    Ok((loss, Tensor::from_vec(is_target, x.shape())?.to_dtype(x.dtype())).into())
}

pub fn register_more(r: &crate::Registry) {
    let none = &[][..];
    r.def_meta("aten::max_unpool2d(Tensor self, Tensor indices, SymInt[2] output_size) -> Tensor", none, meta::unpool, |a| max_unpool(a, 2));
    r.def_meta("aten::max_unpool3d(Tensor self, Tensor indices, SymInt[3] output_size, int[3] stride, int[3] padding) -> Tensor", none, meta::unpool, |a| max_unpool(a, 3));
    r.def("aten::max_pool2d_with_indices_backward(Tensor grad_output, Tensor self, int[2] kernel_size, int[2] stride, int[2] padding, int[2] dilation, bool ceil_mode, Tensor indices) -> Tensor", &[crate::registry::Tag::Core], max_pool2d_backward);
    r.def("aten::_softmax_backward_data(Tensor grad_output, Tensor output, int dim, ScalarType input_dtype) -> Tensor", none, softmax_backward);
    r.def_meta("aten::_embedding_bag(Tensor weight, Tensor indices, Tensor offsets, bool scale_grad_by_freq=False, int mode=0, bool sparse=False, Tensor? per_sample_weights=None, bool include_last_offset=False, int padding_idx=-1) -> (Tensor, Tensor, Tensor, Tensor)", &[crate::registry::Tag::Core], meta::embedding_bag, embedding_bag).dtype(crate::DtypeRule::Custom(crate::dtype::embedding_bag));
    r.def_meta(
        "aten::_embedding_bag_forward_only(Tensor weight, Tensor indices, Tensor offsets, bool scale_grad_by_freq=False, int mode=0, bool sparse=False, Tensor? per_sample_weights=None, bool include_last_offset=False, int padding_idx=-1) -> (Tensor, Tensor, Tensor, Tensor)",
        // left by PyTorch's run_decompositions as it is (an inference program's embedding bag)
        &[crate::registry::Tag::Core],
        meta::embedding_bag,
        embedding_bag,
    )
    .dtype(crate::DtypeRule::Custom(crate::dtype::embedding_bag));
    r.def("aten::_trilinear(Tensor i1, Tensor i2, Tensor i3, int[] expand1, int[] expand2, int[] expand3, int[] sumdim, int unroll_dim=1) -> Tensor", none, trilinear);
    r.def_meta("aten::multi_margin_loss(Tensor self, Tensor target, Scalar p=1, Scalar margin=1, Tensor? weight=None, int reduction=1) -> Tensor", none, meta::per_sample_loss, multi_margin);
    r.def("aten::multilabel_margin_loss_forward(Tensor self, Tensor target, int reduction) -> (Tensor output, Tensor is_target)", none, multilabel_margin);
}

// ----- fractional max pooling ---------------------------------------------------------------

/// Window starts along one dim, from a random sample in [0, 1), computed in f32 as PyTorch does.
fn fractional_starts(sample: f32, input: usize, output: usize, pool: usize) -> Vec<usize> {
    let mut seq = vec![0usize; output];
    if output > 1 {
        let alpha = (input - pool) as f32 / (output - 1) as f32;
        for (i, s) in seq.iter_mut().enumerate().take(output - 1) {
            *s = (((i as f32 + sample) * alpha) as i64 - (sample * alpha) as i64).max(0) as usize;
        }
    }
    if output > 0 {
        seq[output - 1] = input - pool;
    }
    seq
}

fn fractional_max_pool(a: &Args, spatial: usize) -> Result<Value> {
    let (x, samples) = (a.tensor("self")?, a.tensor("random_samples")?);
    let (k, o) = (a.int_list("kernel_size")?, a.int_list("output_size")?);
    if k.len() != spatial || o.len() != spatial || x.dim() < spatial + 1 {
        bail!("fractional_max_pool{spatial}d: kernel_size and output_size must have {spatial} elements");
    }
    let sp: Vec<usize> = x.shape()[x.dim() - spatial..].to_vec();
    for d in 0..spatial {
        if o[d] as usize + k[d] as usize - 1 > sp[d] {
            bail!("fractional_max_pool{spatial}d(): pool size {} too large relative to input size {} for output size {}", k[d], sp[d], o[d]);
        }
    }
    let planes: usize = x.shape()[..x.dim() - spatial].iter().product();
    let plane_in: usize = sp.iter().product();
    let plane_out: usize = o.iter().map(|&v| v as usize).product();
    let xv = x.to_f64_vec();
    let sv = samples.to_f64_vec();
    let (mut vals, mut idx) = (tensor::alloc::tensor_vec(0f64, &[planes, plane_out]), tensor::alloc::tensor_vec(0i64, &[planes, plane_out]));
    // lifted to three dims; samples are ordered (t, h, w) for 3-d and (w, h) for 2-d
    let lift = |v: &[usize]| -> [usize; 3] { let mut r = [1; 3]; r[3 - v.len()..].copy_from_slice(v); r };
    let (ins, ks, os) = (lift(&sp), lift(&k.iter().map(|&v| v as usize).collect::<Vec<_>>()), lift(&o.iter().map(|&v| v as usize).collect::<Vec<_>>()));
    for p in 0..planes {
        let s = &sv[p * spatial..(p + 1) * spatial];
        let sample_for = |d: usize| -> f32 { if spatial == 2 { if d == 2 { s[0] as f32 } else { s[1] as f32 } } else { s[d] as f32 } };
        let starts: Vec<Vec<usize>> = (0..3).map(|d| if d < 3 - spatial { vec![0] } else { fractional_starts(sample_for(d), ins[d], os[d], ks[d]) }).collect();
        let src = &xv[p * plane_in..(p + 1) * plane_in];
        let mut q = p * plane_out;
        for &t0 in &starts[0] {
            for &h0 in &starts[1] {
                for &w0 in &starts[2] {
                    let (mut best, mut bi) = (f64::NEG_INFINITY, ((t0 * ins[1] + h0) * ins[2] + w0) as i64);
                    for t in t0..t0 + ks[0] {
                        for h in h0..h0 + ks[1] {
                            for w in w0..w0 + ks[2] {
                                let flat = (t * ins[1] + h) * ins[2] + w;
                                let v = src[flat];
                                if v > best || v.is_nan() {
                                    best = v;
                                    bi = flat as i64;
                                }
                            }
                        }
                    }
                    vals[q] = best;
                    idx[q] = bi;
                    q += 1;
                }
            }
        }
    }
    let mut shape = x.shape()[..x.dim() - spatial].to_vec();
    shape.extend(o.iter().map(|&v| v as usize));
    Ok((Tensor::from_vec(vals, &shape)?.to_dtype(x.dtype()), Tensor::from_vec(idx, &shape)?).into())
}

// ----- histograms ---------------------------------------------------------------------------

/// Counts (or weights) of points `[n, d]` in the bins given by per-dim edges; values outside the
/// edges are ignored, the last bin includes its right edge.
fn histogram_counts(points: &[f64], d: usize, edges: &[Vec<f64>], weights: Option<&[f64]>, density: bool) -> Vec<f64> {
    let bins: Vec<usize> = edges.iter().map(|e| e.len().saturating_sub(1)).collect();
    let total: usize = bins.iter().product();
    let mut hist = tensor::alloc::tensor_vec(0f64, &[total]);
    let n = if d == 0 { 0 } else { points.len() / d };
    'points: for i in 0..n {
        let mut flat = 0;
        for k in 0..d {
            let e = &edges[k];
            let v = points[i * d + k];
            if bins[k] == 0 || !(v >= e[0] && v <= e[bins[k]]) {
                continue 'points;
            }
            // the last edge not above v, clamped into the bins
            let pos = e.partition_point(|&x| x <= v).saturating_sub(1).min(bins[k] - 1);
            flat = flat * bins[k] + pos;
        }
        hist[flat] += weights.map(|w| w[i]).unwrap_or(1.0);
    }
    if density {
        let sum: f64 = hist.iter().sum();
        for (f, h) in hist.iter_mut().enumerate() {
            let mut rem = f;
            let mut volume = 1.0;
            for k in (0..d).rev() {
                let b = rem % bins[k];
                rem /= bins[k];
                volume *= edges[k][b + 1] - edges[k][b];
            }
            *h /= sum * volume;
        }
    }
    hist
}

/// Evenly spaced edges over each dim's range (the data's min and max unless given; an empty
/// range is widened by 0.5 on each side), rounded to the input dtype as PyTorch's are.
fn computed_edges(points: &[f64], d: usize, bins: &[i64], range: Option<&[f64]>, dtype: DType) -> Result<Vec<Vec<f64>>> {
    let n = if d == 0 { 0 } else { points.len() / d };
    let round = |v: f64| tensor::Tensor::full(&[], v, dtype).item_f64().unwrap_or(v);
    (0..d)
        .map(|k| {
            let (mut lo, mut hi) = match range {
                Some(r) => (r[2 * k], r[2 * k + 1]),
                None if n == 0 => (0.0, 0.0),
                None => (0..n).map(|i| points[i * d + k]).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v))),
            };
            if lo > hi {
                bail!("torch.histogramdd: expected min ({lo}) <= max ({hi})");
            }
            if lo == hi {
                lo -= 0.5;
                hi += 0.5;
            }
            let b = bins[k].max(0) as usize;
            if b == 0 {
                bail!("torch.histogramdd(): bins must be > 0, but got 0 for dimension {k}");
            }
            let (lo, hi) = (round(lo), round(hi));
            Ok((0..=b).map(|i| if i == b { hi } else { round(lo + (hi - lo) * i as f64 / b as f64) }).collect())
        })
        .collect()
}

/// The points of a histogram input: `[..., d]` rows for histogramdd, every element for the 1-d
/// histogram.
fn points_of(x: &Tensor, one_dim: bool) -> (Vec<f64>, usize) {
    let d = if one_dim || x.dim() == 0 { 1 } else { x.shape()[x.dim() - 1] };
    (x.to_f64_vec(), d)
}

fn histogram(a: &Args, given_edges: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let (pts, d) = points_of(x, true);
    let weights = a.opt_tensor("weight")?.map(|w| w.to_f64_vec());
    let edges = if given_edges {
        vec![a.tensor("bins")?.to_f64_vec()]
    } else {
        let range = a.opt_float_list("range")?;
        computed_edges(&pts, d, &[a.int("bins")?], range.as_deref(), x.dtype())?
    };
    let hist = histogram_counts(&pts, d, &edges, weights.as_deref(), a.bool("density")?);
    let nb = hist.len();
    let ne = edges[0].len();
    Ok((Tensor::from_vec(hist, &[nb])?.to_dtype(x.dtype()), Tensor::from_vec(edges[0].clone(), &[ne])?.to_dtype(x.dtype())).into())
}

fn histogramdd_edges(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let (pts, d) = points_of(x, false);
    let range = a.opt_float_list("range")?;
    let edges = computed_edges(&pts, d, &a.int_list("bins")?, range.as_deref(), x.dtype())?;
    let out: Vec<Tensor> = edges.into_iter().map(|e| { let n = e.len(); Tensor::from_vec(e, &[n]).map(|t| t.to_dtype(x.dtype())) }).collect::<Result<_>>()?;
    Ok(out.into())
}

fn histogramdd_counts(a: &Args, given_edges: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let (pts, d) = points_of(x, false);
    let weights = a.opt_tensor("weight")?.map(|w| w.to_f64_vec());
    let edges = if given_edges {
        a.tensor_list("bins")?.iter().map(|t| t.to_f64_vec()).collect()
    } else {
        let range = a.opt_float_list("range")?;
        computed_edges(&pts, d, &a.int_list("bins")?, range.as_deref(), x.dtype())?
    };
    let hist = histogram_counts(&pts, d, &edges, weights.as_deref(), a.bool("density")?);
    let shape: Vec<usize> = edges.iter().map(|e| e.len().saturating_sub(1)).collect();
    Ok(Tensor::from_vec(hist, &shape)?.to_dtype(x.dtype()).into())
}

pub fn register_pooling_and_histograms(r: &crate::Registry) {
    let none = &[][..];
    r.def("aten::fractional_max_pool2d(Tensor self, int[2] kernel_size, int[2] output_size, Tensor random_samples) -> (Tensor, Tensor)", none, |a| fractional_max_pool(a, 2));
    r.def("aten::fractional_max_pool3d(Tensor self, int[3] kernel_size, int[3] output_size, Tensor random_samples) -> (Tensor, Tensor)", none, |a| fractional_max_pool(a, 3));
    r.def("aten::histogram.bin_ct(Tensor self, int bins=100, *, float[]? range=None, Tensor? weight=None, bool density=False) -> (Tensor hist, Tensor bin_edges)", none, |a| histogram(a, false));
    r.def("aten::histogram.bins_tensor(Tensor self, Tensor bins, *, Tensor? weight=None, bool density=False) -> (Tensor hist, Tensor bin_edges)", none, |a| histogram(a, true));
    r.def("aten::_histogramdd_bin_edges(Tensor self, int[] bins, *, float[]? range=None, Tensor? weight=None, bool density=False) -> Tensor[]", none, histogramdd_edges);
    r.def("aten::_histogramdd_from_bin_cts(Tensor self, int[] bins, *, float[]? range=None, Tensor? weight=None, bool density=False) -> Tensor", none, |a| histogramdd_counts(a, false));
    r.def("aten::_histogramdd_from_bin_tensors(Tensor self, Tensor[] bins, *, Tensor? weight=None, bool density=False) -> Tensor", none, |a| histogramdd_counts(a, true));
}
