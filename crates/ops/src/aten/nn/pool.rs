//! Pooling: max (with flat per-plane indices), average (padding counted or not, divisor
//! override, ceil mode) and adaptive average/max, for 1 to 3 spatial dims lifted to three.

use tensor::{DType, Tensor};

use crate::aten::common::*;
use crate::{Args, Result, Value};

/// Window geometry along one dim.
#[derive(Clone, Copy)]
struct Axis {
    input: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    output: usize,
}

/// PyTorch's pooling output size, with ceil mode's rule that the last window must start
/// inside the input or left padding.
fn pooled_size(input: usize, k: usize, s: usize, p: usize, d: usize, ceil: bool, op: &str) -> Result<usize> {
    if s == 0 {
        bail!("{op}: stride should be greater than zero, but got stride: 0");
    }
    if k == 0 {
        bail!("{op}: kernel_size should be greater than zero, but got 0");
    }
    if p > (d * (k - 1) + 1) / 2 {
        bail!("{op}: pad should be at most half of effective kernel size, but got pad={p}, kernel_size={k} and dilation={d}");
    }
    let span = d * (k - 1) + 1;
    let num = input as i64 + 2 * p as i64 - span as i64;
    let mut out = if ceil { (num + s as i64 - 1).div_euclid(s as i64) + 1 } else { num.div_euclid(s as i64) + 1 };
    if ceil && (out - 1) * s as i64 >= input as i64 + p as i64 {
        out -= 1;
    }
    if out <= 0 {
        bail!("{op}: Given input size: ({input}). Calculated output size: ({out}). Output size is too small");
    }
    Ok(out as usize)
}

/// Parameters of a pooling call, per spatial dim.
struct PoolArgs {
    spatial: usize,
    kernel: Vec<usize>,
    stride: Vec<usize>,
    padding: Vec<usize>,
    dilation: Vec<usize>,
    ceil: bool,
}

fn list(a: &Args, name: &str, n: usize, default: Option<&[usize]>) -> Result<Vec<usize>> {
    let v = a.int_list(name)?;
    if v.is_empty() {
        return default.map(|d| d.to_vec()).ok_or_else(|| tensor::Error::msg(format!("{name} must not be empty")));
    }
    let v = if v.len() == 1 { vec![v[0]; n] } else { v };
    if v.len() != n || v.iter().any(|&x| x < 0) {
        bail!("{name} must be {n} non-negative integers, got {v:?}");
    }
    Ok(v.into_iter().map(|x| x as usize).collect())
}

fn pool_args(a: &Args, spatial: usize, with_dilation: bool) -> Result<PoolArgs> {
    let kernel = list(a, "kernel_size", spatial, None)?;
    let stride = list(a, "stride", spatial, Some(&kernel))?;
    let padding = list(a, "padding", spatial, None)?;
    let dilation = if with_dilation { list(a, "dilation", spatial, None)? } else { vec![1; spatial] };
    Ok(PoolArgs { spatial, kernel, stride, padding, dilation, ceil: a.bool("ceil_mode")? })
}

/// The input as `[planes, D, H, W]` (f64) with its batch shape, checking the rank.
fn planes(x: &Tensor, spatial: usize, op: &str) -> Result<(Tensor, Vec<usize>)> {
    if x.dim() != spatial + 1 && x.dim() != spatial + 2 {
        bail!("{op}: Expected {}D or {}D input tensor, but got {:?}", spatial + 1, spatial + 2, x.shape());
    }
    let lead: Vec<usize> = x.shape()[..x.dim() - spatial].to_vec();
    let sp = &x.shape()[x.dim() - spatial..];
    if sp.contains(&0) {
        bail!("{op}: Expected input's non-batch dimensions to have positive length, but input has a shape of {:?}", x.shape());
    }
    let mut shape = vec![-1i64];
    shape.extend(std::iter::repeat_n(1i64, 3 - spatial));
    shape.extend(sp.iter().map(|&s| s as i64));
    // a reshape only: each caller reads the values in the type it computes in
    Ok((x.reshape(&shape)?, lead))
}

fn axes(x: &Tensor, p: &PoolArgs, op: &str) -> Result<[Axis; 3]> {
    let mut out = [Axis { input: 1, kernel: 1, stride: 1, padding: 0, dilation: 1, output: 1 }; 3];
    for d in 0..p.spatial {
        let i = 3 - p.spatial + d;
        let input = x.shape()[x.dim() - p.spatial + d];
        out[i] = Axis {
            input,
            kernel: p.kernel[d],
            stride: p.stride[d],
            padding: p.padding[d],
            dilation: p.dilation[d],
            output: pooled_size(input, p.kernel[d], p.stride[d], p.padding[d], p.dilation[d], p.ceil, op)?,
        };
    }
    Ok(out)
}

fn finish(data: Vec<f64>, lead: &[usize], out_sp: &[usize], dtype: DType) -> Result<Tensor> {
    let mut shape = lead.to_vec();
    shape.extend(out_sp);
    Ok(Tensor::from_vec(data, &shape)?.to_dtype(dtype))
}

fn max_pool(a: &Args, spatial: usize, with_indices: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let op = format!("max_pool{spatial}d");
    let p = pool_args(a, spatial, true)?;
    let ax = axes(x, &p, &op)?;
    let (xp, lead) = planes(x, spatial, &op)?;
    let out_sp: Vec<usize> = ax[3 - spatial..].iter().map(|a| a.output).collect();
    let mut shape = lead.clone();
    shape.extend(&out_sp);
    let floor_sized = ax.iter().all(|a| a.output == (a.input + 2 * a.padding - (a.dilation * (a.kernel - 1) + 1)) / a.stride + 1);
    if x.dtype() == DType::F32 && ax[0].input == 1 && ax[0].kernel == 1 && floor_sized {
        return max_pool_2d_f32(&xp, &ax, &shape, with_indices);
    }
    // a maximum is one of the values: computed in the input's own dtype, exactly
    let (values, idx) = tensor::with_dtype!(x.dtype(), T => max_pool_planes::<T>(&xp, &ax, &shape)?);
    if !with_indices {
        return Ok(values.into());
    }
    Ok((values, Tensor::from_vec(idx, &shape)?).into())
}

/// Float32 max pooling over 2-d (or 1-d, lifted) planes through the sliding-window kernel.
fn max_pool_2d_f32(xp: &Tensor, ax: &[Axis; 3], shape: &[usize], with_indices: bool) -> Result<Value> {
    let g = tensor::kernels::depthwise::Depthwise {
        channels: 1,
        input: [ax[1].input, ax[2].input],
        kernel: [ax[1].kernel, ax[2].kernel],
        stride: [ax[1].stride, ax[2].stride],
        padding: [ax[1].padding, ax[2].padding],
        dilation: [ax[1].dilation, ax[2].dilation],
        output: [ax[1].output, ax[2].output],
    };
    let mut vals = tensor::alloc::tensor_vec(0f32, shape);
    let mut idx = if with_indices { Some(tensor::alloc::tensor_vec(0i64, shape)) } else { None };
    xp.with_contiguous::<f32, _>(|xs| tensor::kernels::depthwise::max_pool_f32(xs, &g, &mut vals, idx.as_deref_mut()));
    let values = Tensor::from_vec(vals, shape)?;
    Ok(match idx {
        Some(idx) => (values, Tensor::from_vec(idx, shape)?).into(),
        None => values.into(),
    })
}

/// The maximum of each window of each plane of `xp` (`[planes, d, h, w]`), and its flat index
/// in the plane; NaN wins, the first of equal values wins, as in PyTorch.
fn max_pool_planes<T: tensor::Element>(xp: &Tensor, ax: &[Axis; 3], shape: &[usize]) -> Result<(Tensor, Vec<i64>)> {
    let n_planes = xp.shape()[0];
    let in_plane = ax[0].input * ax[1].input * ax[2].input;
    let out_plane = ax[0].output * ax[1].output * ax[2].output;
    let mut vals = tensor::alloc::tensor_vec(T::default(), &[n_planes, out_plane]);
    let mut idx = tensor::alloc::tensor_vec(0i64, &[n_planes, out_plane]);
    #[allow(clippy::eq_op)]
    let is_nan = |v: T| v != v;
    xp.with_contiguous::<T, _>(|v| {
        let one_plane = |pl: usize, vals: &mut [T], idx: &mut [i64]| {
            let src = &v[pl * in_plane..(pl + 1) * in_plane];
            let mut o = 0;
            for z in 0..ax[0].output {
                for y in 0..ax[1].output {
                    for xo in 0..ax[2].output {
                        let (mut best, mut bi) = (T::default(), -1i64);
                        for a0 in 0..ax[0].kernel {
                            let iz = (z * ax[0].stride + a0 * ax[0].dilation) as isize - ax[0].padding as isize;
                            if iz < 0 || iz as usize >= ax[0].input {
                                continue;
                            }
                            for a1 in 0..ax[1].kernel {
                                let iy = (y * ax[1].stride + a1 * ax[1].dilation) as isize - ax[1].padding as isize;
                                if iy < 0 || iy as usize >= ax[1].input {
                                    continue;
                                }
                                let row = (iz as usize * ax[1].input + iy as usize) * ax[2].input;
                                for a2 in 0..ax[2].kernel {
                                    let ix = (xo * ax[2].stride + a2 * ax[2].dilation) as isize - ax[2].padding as isize;
                                    if ix < 0 || ix as usize >= ax[2].input {
                                        continue;
                                    }
                                    let flat = row + ix as usize;
                                    let val = src[flat];
                                    if bi < 0 || val > best || is_nan(val) && !is_nan(best) {
                                        best = val;
                                        bi = flat as i64;
                                    }
                                }
                            }
                        }
                        vals[o] = best;
                        idx[o] = bi.max(0);
                        o += 1;
                    }
                }
            }
        };
        if n_planes * out_plane >= 1 << 14 {
            use rayon::prelude::*;
            vals.par_chunks_mut(out_plane).zip(idx.par_chunks_mut(out_plane)).enumerate().for_each(|(pl, (v, i))| one_plane(pl, v, i));
        } else {
            for (pl, (v, i)) in vals.chunks_mut(out_plane).zip(idx.chunks_mut(out_plane)).enumerate() {
                one_plane(pl, v, i);
            }
        }
    });
    Ok((Tensor::from_vec(vals, shape)?, idx))
}

pub fn max_pool2d_with_indices(a: &Args) -> Result<Value> {
    max_pool(a, 2, true)
}
pub fn max_pool3d_with_indices(a: &Args) -> Result<Value> {
    max_pool(a, 3, true)
}
pub fn max_pool2d(a: &Args) -> Result<Value> {
    max_pool(a, 2, false)
}

fn avg_pool(a: &Args, spatial: usize) -> Result<Value> {
    let x = a.tensor("self")?;
    let op = format!("avg_pool{spatial}d");
    let p = pool_args(a, spatial, false)?;
    let ax = axes(x, &p, &op)?;
    let include_pad = a.bool("count_include_pad")?;
    let divisor = a.opt_int("divisor_override")?;
    if divisor == Some(0) {
        bail!("divisor must be not zero");
    }
    let (xp, lead) = planes(x, spatial, &op)?;
    let n_planes = xp.shape()[0];
    let in_plane = ax[0].input * ax[1].input * ax[2].input;
    let out_plane = ax[0].output * ax[1].output * ax[2].output;
    let mut out = tensor::alloc::tensor_vec(0f64, &[n_planes, out_plane]);
    // window bounds along one axis: (start, end) with padding, then clipped to the input
    let window = |a: &Axis, o: usize| -> (i64, i64, i64, i64) {
        let start = (o * a.stride) as i64 - a.padding as i64;
        let end = (start + a.kernel as i64).min((a.input + a.padding) as i64);
        (start, end, start.max(0), end.min(a.input as i64))
    };
    // one plane's averages (summed in f64), from its values read as f64
    let plane = |src: &dyn Fn(usize) -> f64, dst: &mut [f64]| {
        let mut o = 0;
        for z in 0..ax[0].output {
            let (zs, ze, zs0, ze0) = window(&ax[0], z);
            for y in 0..ax[1].output {
                let (ys, ye, ys0, ye0) = window(&ax[1], y);
                for xo in 0..ax[2].output {
                    let (xs, xe, xs0, xe0) = window(&ax[2], xo);
                    let mut sum = 0.0;
                    for iz in zs0..ze0 {
                        for iy in ys0..ye0 {
                            for ix in xs0..xe0 {
                                sum += src(((iz as usize) * ax[1].input + iy as usize) * ax[2].input + ix as usize);
                            }
                        }
                    }
                    let count = match divisor {
                        Some(d) => d as f64,
                        None if include_pad => ((ze - zs) * (ye - ys) * (xe - xs)) as f64,
                        None => ((ze0 - zs0) * (ye0 - ys0) * (xe0 - xs0)) as f64,
                    };
                    dst[o] = sum / count;
                    o += 1;
                }
            }
        }
    };
    if out_plane > 0 {
        use rayon::prelude::*;
        if x.dtype() == DType::F32 {
            // float32 planes read in place, in parallel
            xp.with_contiguous::<f32, _>(|v| {
                out.par_chunks_mut(out_plane).enumerate().for_each(|(pl, dst)| plane(&|i| v[pl * in_plane + i] as f64, dst))
            });
        } else {
            let v = xp.to_f64_vec();
            out.par_chunks_mut(out_plane).enumerate().for_each(|(pl, dst)| plane(&|i| v[pl * in_plane + i], dst));
        }
    }
    let out_sp: Vec<usize> = ax[3 - spatial..].iter().map(|a| a.output).collect();
    let dtype = x.dtype();
    let r = finish(out, &lead, &out_sp, if dtype.is_float() { dtype } else { DType::F64 })?;
    Ok(if dtype.is_float() { r } else { map_f64(&r, dtype, |v| v.trunc()) }.into())
}

pub fn avg_pool2d(a: &Args) -> Result<Value> {
    avg_pool(a, 2)
}
pub fn avg_pool3d(a: &Args) -> Result<Value> {
    avg_pool(a, 3)
}

fn adaptive(a: &Args, spatial: usize, max: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let op = format!("adaptive_{}_pool{spatial}d", if max { "max" } else { "avg" });
    let sizes = a.int_list("output_size")?;
    let sizes = if sizes.len() == 1 { vec![sizes[0]; spatial] } else { sizes };
    if sizes.len() != spatial || sizes.iter().any(|&s| s < 0) {
        bail!("{op}: output_size must be {spatial} non-negative integers, got {sizes:?}");
    }
    let (xp, lead) = planes(x, spatial, &op)?;
    let mut ins = [1usize; 3];
    let mut outs = [1usize; 3];
    for d in 0..spatial {
        ins[3 - spatial + d] = x.shape()[x.dim() - spatial + d];
        outs[3 - spatial + d] = sizes[d] as usize;
    }
    let n_planes = xp.shape()[0];
    let in_plane: usize = ins.iter().product();
    let out_plane: usize = outs.iter().product();
    if !max && out_plane == 1 && x.dtype() == DType::F32 && in_plane > 0 {
        // global average pooling (squeeze-and-excitation, classifier heads): a mean per plane,
        // the float32 planes read in place
        let means = tensor::kernels::reduce::reduce::<f32, f64>(&xp.reshape(&[n_planes as i64, in_plane as i64])?, &[1], false, |g| {
            tensor::kernels::reduce::sum_as_f64(g) / g.len() as f64
        })?;
        let mut shape = lead.clone();
        shape.extend(&outs[3 - spatial..]);
        return Ok(means.to_dtype(DType::F32).reshape(&shape.iter().map(|&s| s as i64).collect::<Vec<_>>())?.into());
    }
    let v = xp.to_f64_vec();
    let mut vals = tensor::alloc::tensor_vec(0f64, &[n_planes, out_plane]);
    let mut idx = tensor::alloc::tensor_vec(0i64, &[n_planes, out_plane]);
    let bounds = |o: usize, out: usize, inp: usize| ((o * inp) / out, ((o + 1) * inp).div_ceil(out));
    for pl in 0..n_planes {
        let src = &v[pl * in_plane..(pl + 1) * in_plane];
        let mut o = pl * out_plane;
        for z in 0..outs[0] {
            let (zs, ze) = bounds(z, outs[0], ins[0]);
            for y in 0..outs[1] {
                let (ys, ye) = bounds(y, outs[1], ins[1]);
                for xo in 0..outs[2] {
                    let (xs, xe) = bounds(xo, outs[2], ins[2]);
                    let (mut sum, mut best, mut bi) = (0.0, f64::NEG_INFINITY, -1i64);
                    for iz in zs..ze {
                        for iy in ys..ye {
                            for ix in xs..xe {
                                let flat = (iz * ins[1] + iy) * ins[2] + ix;
                                let val = src[flat];
                                sum += val;
                                if bi < 0 || val > best || val.is_nan() && !best.is_nan() {
                                    best = val;
                                    bi = flat as i64;
                                }
                            }
                        }
                    }
                    let count = ((ze - zs) * (ye - ys) * (xe - xs)) as f64;
                    vals[o] = if max { best } else { sum / count };
                    idx[o] = bi.max(0);
                    o += 1;
                }
            }
        }
    }
    let out_sp: Vec<usize> = outs[3 - spatial..].to_vec();
    let values = finish(vals, &lead, &out_sp, x.dtype())?;
    if !max {
        return Ok(values.into());
    }
    let mut shape = lead.clone();
    shape.extend(&out_sp);
    Ok((values, Tensor::from_vec(idx, &shape)?).into())
}

pub fn adaptive_avg_pool2d(a: &Args) -> Result<Value> {
    adaptive(a, 2, false)
}
pub fn adaptive_avg_pool3d(a: &Args) -> Result<Value> {
    adaptive(a, 3, false)
}
pub fn adaptive_max_pool2d(a: &Args) -> Result<Value> {
    adaptive(a, 2, true)
}
pub fn adaptive_max_pool3d(a: &Args) -> Result<Value> {
    adaptive(a, 3, true)
}
