//! Composite ATen operators that training-IR programs name (`flatten`, `dropout`, `conv1d`,
//! in-place activations, `lstm`, ...), each run by calling the registered operators it is
//! made of, as PyTorch's composite implementations do. In-place variants run their functional
//! operator and write the result into `self`.

use crate::meta;
use tensor::Tensor;

use super::common::*;
use crate::names::aten;
use crate::{Args, MetaFn, OpName, Registry, Result, Schema, Value};

/// Calls a registered operator with positional arguments.
fn call(op: OpName, args: Vec<Value>) -> Result<Value> {
    Registry::global().call(op, args, vec![])
}

fn tensor_of(v: Value, op: &str) -> Result<Tensor> {
    v.into_tensor().ok_or_else(|| tensor::Error::msg(format!("{op} returned no tensor")))
}

fn ints(v: &[i64]) -> Value {
    Value::List(v.iter().map(|&i| Value::Int(i)).collect())
}

/// Registers `name_(Tensor(a!) self, ...)` as "run its functional operator (the schema's
/// [`Schema::functional_name`]) on the same arguments, then copy into self": the in-place
/// variant is derived, never written.
fn inplace(r: &Registry, schema: &str) {
    let parsed = Schema::parse(schema).unwrap_or_else(|e| panic!("built-in operator: {e}"));
    let functional = parsed.functional_name().unwrap_or_else(|| panic!("built-in operator: {schema} writes none of its inputs"));
    // the result is `self`; an element-wise update also broadcasts its other operands against
    // it, with the guards that brings, as the functional operator's meta does
    let pointwise = r.get(&functional).is_some_and(|def| def.has_tag(crate::Tag::Pointwise));
    let meta: MetaFn = if pointwise { meta::pointwise } else { meta::same_as_self };
    let f = move |a: &Args| -> Result<Value> {
        let target = a.tensor("self")?;
        let out = Registry::global().call(&functional, a.values().to_vec(), vec![])?;
        target.copy_(&tensor_of(out, &functional)?)?;
        Ok(Value::Tensor(target.clone()))
    };
    r.def_with(schema, &[], Some(meta), std::sync::Arc::new(f));
}

pub fn register(r: &Registry) {
    let none = &[][..];
    r.def_meta("aten::zero_(Tensor(a!) self) -> Tensor(a!)", none, meta::same_as_self, |a| {
        let t = a.tensor("self")?;
        t.copy_(&Tensor::zeros(&[], t.dtype()))?;
        Ok(t.clone().into())
    }).any_dtype();
    r.def_meta("aten::flatten.using_ints(Tensor(a) self, int start_dim=0, int end_dim=-1) -> Tensor(a)", none, meta::flatten, flatten);
    r.def_meta("aten::unflatten.int(Tensor(a) self, int dim, SymInt[] sizes) -> Tensor(a)", none, meta::unflatten, unflatten);
    r.def_meta("aten::contiguous(Tensor(a) self, *, MemoryFormat memory_format=0) -> Tensor(a)", none, meta::same_as_self, |a| Ok(a.tensor("self")?.contiguous().into()));
    r.def_meta("aten::expand_as(Tensor(a) self, Tensor other) -> Tensor(a)", none, meta::sizes_of_other, |a| Ok(a.tensor("self")?.broadcast_to(a.tensor("other")?.shape())?.into()));
    r.def_meta("aten::view_as(Tensor(a) self, Tensor other) -> Tensor(a)", none, meta::sizes_of_other, |a| Ok(a.tensor("self")?.view(&dims_of(a.tensor("other")?))?.into()));
    r.def_meta("aten::reshape_as(Tensor(a) self, Tensor other) -> Tensor(a)", none, meta::sizes_of_other, |a| Ok(a.tensor("self")?.reshape(&dims_of(a.tensor("other")?))?.into()));
    for name in ["dropout", "feature_dropout", "alpha_dropout"] {
        r.def_meta(&format!("aten::{name}(Tensor input, float p, bool train) -> Tensor"), none, meta::same_as_self, dropout);
    }
    r.def_meta("aten::relu6(Tensor self) -> Tensor", none, meta::same_as_self, |a| call(aten::hardtanh, vec![a.get("self")?.clone(), Value::Int(0), Value::Int(6)]));
    r.def_meta("aten::adaptive_avg_pool2d(Tensor self, SymInt[2] output_size) -> Tensor", none, meta::adaptive_pool, |a| call(aten::_adaptive_avg_pool2d, a.values().to_vec()));
    r.def_meta("aten::adaptive_avg_pool1d(Tensor self, int[1] output_size) -> Tensor", none, meta::adaptive_pool, |a| {
        let x = a.tensor("self")?;
        let mut size = vec![1i64];
        size.extend(a.int_list("output_size")?);
        let r = tensor_of(call(aten::_adaptive_avg_pool2d, vec![x.unsqueeze(-2)?.into(), ints(&size)])?, "adaptive_avg_pool2d")?;
        Ok(r.squeeze(Some(&[-2]))?.into())
    });
    r.def_meta("aten::max_pool1d(Tensor self, int[1] kernel_size, int[1] stride=[], int[1] padding=[0], int[1] dilation=[1], bool ceil_mode=False) -> Tensor", none, meta::pool, |a| pool1d(a, aten::max_pool2d));
    r.def_meta("aten::avg_pool1d(Tensor self, int[1] kernel_size, int[1] stride=[], int[1] padding=[0], bool ceil_mode=False, bool count_include_pad=True) -> Tensor", none, meta::pool, |a| pool1d(a, aten::avg_pool2d));
    r.def_meta("aten::max_pool3d(Tensor self, int[3] kernel_size, int[3] stride=[], int[3] padding=0, int[3] dilation=1, bool ceil_mode=False) -> Tensor", none, meta::pool, |a| {
        let v = call(aten::max_pool3d_with_indices, a.values().to_vec())?;
        match v {
            Value::List(mut vs) if !vs.is_empty() => Ok(vs.swap_remove(0)),
            other => Ok(other),
        }
    });
    r.def_meta("aten::conv1d(Tensor input, Tensor weight, Tensor? bias=None, SymInt[1] stride=[1], SymInt[1] padding=[0], SymInt[1] dilation=[1], SymInt groups=1) -> Tensor", none, meta::conv, |a| conv(a, false)).complex();
    r.def_meta("aten::conv3d(Tensor input, Tensor weight, Tensor? bias=None, SymInt[3] stride=[1, 1, 1], SymInt[3] padding=[0, 0, 0], SymInt[3] dilation=[1, 1, 1], SymInt groups=1) -> Tensor", none, meta::conv, |a| conv(a, false)).complex();
    r.def_meta("aten::conv_transpose1d(Tensor input, Tensor weight, Tensor? bias=None, SymInt[1] stride=[1], SymInt[1] padding=[0], SymInt[1] output_padding=[0], SymInt groups=1, SymInt[1] dilation=[1]) -> Tensor", none, meta::conv, |a| conv(a, true)).complex();
    r.def_meta("aten::conv_transpose2d.input(Tensor input, Tensor weight, Tensor? bias=None, SymInt[2] stride=[1, 1], SymInt[2] padding=[0, 0], SymInt[2] output_padding=[0, 0], SymInt groups=1, SymInt[2] dilation=[1, 1]) -> Tensor", none, meta::conv, |a| conv(a, true)).complex();
    r.def_meta("aten::conv_transpose3d.input(Tensor input, Tensor weight, Tensor? bias=None, SymInt[3] stride=[1, 1, 1], SymInt[3] padding=[0, 0, 0], SymInt[3] output_padding=[0, 0, 0], SymInt groups=1, SymInt[3] dilation=[1, 1, 1]) -> Tensor", none, meta::conv, |a| conv(a, true)).complex();
    r.def_meta("aten::group_norm(Tensor input, int num_groups, Tensor? weight=None, Tensor? bias=None, float eps=1.0000000000000001e-05, bool cudnn_enabled=True) -> Tensor", none, meta::same_as_self, group_norm);
    r.def_meta("aten::lstm.input(Tensor input, Tensor[] hx, Tensor[] params, bool has_biases, int num_layers, float dropout, bool train, bool bidirectional, bool batch_first) -> (Tensor, Tensor, Tensor)", none, meta::lstm, lstm);
    // after every functional operator they stand for
    for schema in [
        "aten::masked_fill_.Scalar(Tensor(a!) self, Tensor mask, Scalar value) -> Tensor(a!)",
        "aten::masked_fill_.Tensor(Tensor(a!) self, Tensor mask, Tensor value) -> Tensor(a!)",
        "aten::hardtanh_(Tensor(a!) self, Scalar min_val=-1, Scalar max_val=1) -> Tensor(a!)",
        "aten::mish_(Tensor(a!) self) -> Tensor(a!)",
        "aten::gelu_(Tensor(a!) self, *, str approximate=\"none\") -> Tensor(a!)",
        "aten::leaky_relu_(Tensor(a!) self, Scalar negative_slope=0.01) -> Tensor(a!)",
        "aten::elu_(Tensor(a!) self, Scalar alpha=1, Scalar scale=1, Scalar input_scale=1) -> Tensor(a!)",
        "aten::clamp_(Tensor(a!) self, Scalar? min=None, Scalar? max=None) -> Tensor(a!)",
        "aten::sub_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)",
        "aten::div_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)",
        "aten::fill_.Scalar(Tensor(a!) self, Scalar value) -> Tensor(a!)",
        "aten::fill_.Tensor(Tensor(a!) self, Tensor value) -> Tensor(a!)",
        "aten::copy_(Tensor(a!) self, Tensor src, bool non_blocking=False) -> Tensor(a!)",
        "aten::dropout_(Tensor(a!) self, float p, bool train) -> Tensor(a!)",
        "aten::feature_dropout_(Tensor(a!) self, float p, bool train) -> Tensor(a!)",
        "aten::alpha_dropout_(Tensor(a!) self, float p, bool train) -> Tensor(a!)",
        "aten::relu6_(Tensor(a!) self) -> Tensor(a!)",
    ] {
        inplace(r, schema);
    }
}

fn dims_of(t: &Tensor) -> Vec<i64> {
    t.shape().iter().map(|&s| s as i64).collect()
}

fn flatten(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if x.dim() == 0 {
        return Ok(x.reshape(&[1])?.into());
    }
    let s = tensor::shape::wrap_dim(a.int("start_dim")?, x.dim())?;
    let e = tensor::shape::wrap_dim(a.int("end_dim")?, x.dim())?;
    if s > e {
        bail!("flatten() has invalid args: start_dim cannot come after end_dim");
    }
    let mut shape: Vec<i64> = x.shape()[..s].iter().map(|&v| v as i64).collect();
    shape.push(x.shape()[s..=e].iter().product::<usize>() as i64);
    shape.extend(x.shape()[e + 1..].iter().map(|&v| v as i64));
    Ok(x.reshape(&shape)?.into())
}

fn unflatten(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = tensor::shape::wrap_dim(a.int("dim")?, x.dim())?;
    let sizes = a.int_list("sizes")?;
    let known: i64 = sizes.iter().filter(|&&s| s != -1).product();
    let mut shape: Vec<i64> = x.shape()[..d].iter().map(|&v| v as i64).collect();
    for &s in &sizes {
        shape.push(if s == -1 && known > 0 { x.shape()[d] as i64 / known } else { s });
    }
    if shape[d..d + sizes.len()].iter().product::<i64>() != x.shape()[d] as i64 {
        bail!("unflatten: Provided sizes {sizes:?} don't multiply up to the size of dim {d} ({}) in the input tensor", x.shape()[d]);
    }
    shape.extend(x.shape()[d + 1..].iter().map(|&v| v as i64));
    Ok(x.reshape(&shape)?.into())
}

fn dropout(a: &Args) -> Result<Value> {
    let x = a.tensor("input")?;
    if !a.bool("train")? || a.float("p")? == 0.0 {
        return Ok(x.clone().into());
    }
    let v = call(aten::native_dropout, vec![x.clone().into(), Value::Float(a.float("p")?), Value::Bool(true)])?;
    match v {
        Value::List(mut vs) if !vs.is_empty() => Ok(vs.swap_remove(0)),
        other => Ok(other),
    }
}

fn pool1d(a: &Args, pool2d: OpName) -> Result<Value> {
    let x = a.tensor("self")?;
    let lift = |name: &str, fill: i64| -> Result<Value> {
        let v = a.int_list(name)?;
        Ok(if v.is_empty() { ints(&[]) } else { ints(&[fill, v[0]]) })
    };
    let mut args = vec![x.unsqueeze(-2)?.into(), lift("kernel_size", 1)?, lift("stride", 1)?, lift("padding", 0)?];
    if pool2d == aten::max_pool2d {
        args.push(lift("dilation", 1)?);
        args.push(a.get("ceil_mode")?.clone());
    } else {
        args.push(a.get("ceil_mode")?.clone());
        args.push(a.get("count_include_pad")?.clone());
    }
    let r = tensor_of(call(pool2d, args)?, pool2d.as_str())?;
    Ok(r.squeeze(Some(&[-2]))?.into())
}

fn conv(a: &Args, transposed: bool) -> Result<Value> {
    let groups = a.get("groups")?.clone();
    let output_padding = if transposed { a.get("output_padding")?.clone() } else { ints(&[0]) };
    call(
        aten::convolution,
        vec![
            a.get("input")?.clone(),
            a.get("weight")?.clone(),
            a.get("bias")?.clone(),
            a.get("stride")?.clone(),
            a.get("padding")?.clone(),
            a.get("dilation")?.clone(),
            Value::Bool(transposed),
            output_padding,
            groups,
        ],
    )
}

fn group_norm(a: &Args) -> Result<Value> {
    let x = a.tensor("input")?;
    let (n, c) = (x.shape()[0] as i64, x.shape()[1] as i64);
    let hw: i64 = x.shape()[2..].iter().product::<usize>() as i64;
    let v = call(
        aten::native_group_norm,
        vec![x.clone().into(), a.get("weight")?.clone(), a.get("bias")?.clone(), Value::Int(n), Value::Int(c), Value::Int(hw), a.get("num_groups")?.clone(), a.get("eps")?.clone()],
    )?;
    match v {
        Value::List(mut vs) if !vs.is_empty() => Ok(vs.swap_remove(0)),
        other => Ok(other),
    }
}


/// A multi-layer (optionally bidirectional) LSTM; gates in PyTorch's order (input, forget,
/// cell, output).
fn lstm(a: &Args) -> Result<Value> {
    let x = a.tensor("input")?;
    let hx = a.tensor_list("hx")?;
    let params = a.tensor_list("params")?;
    let (has_bias, layers, bidir, batch_first) = (a.bool("has_biases")?, a.int("num_layers")? as usize, a.bool("bidirectional")?, a.bool("batch_first")?);
    if hx.len() != 2 {
        bail!("lstm expects hx to hold (h0, c0)");
    }
    let dirs = if bidir { 2 } else { 1 };
    let per = if has_bias { 4 } else { 2 };
    if params.len() != layers * dirs * per {
        bail!("lstm: expected {} parameter tensors, got {}", layers * dirs * per, params.len());
    }
    let dt = x.dtype();
    // work as [seq, batch, feature] in f64
    let seq_first = if batch_first { x.transpose(0, 1)? } else { x.clone() };
    let (t_len, b, _) = (seq_first.shape()[0], seq_first.shape()[1], seq_first.shape()[2]);
    let hidden = hx[0].shape()[2];
    let mut layer_in: Vec<Vec<f64>> = (0..t_len).map(|t| seq_first.select(0, t as i64).map(|s| s.to_f64_vec())).collect::<Result<_>>()?;
    let (h0, c0) = (hx[0].to_f64_vec(), hx[1].to_f64_vec());
    let (mut hn, mut cn) = (Vec::new(), Vec::new());
    for l in 0..layers {
        let mut outs: Vec<Vec<f64>> = vec![vec![0.0; b * hidden * dirs]; t_len];
        for d in 0..dirs {
            let base = (l * dirs + d) * per;
            let w_ih = params[base].to_f64_vec();
            let w_hh = params[base + 1].to_f64_vec();
            let (b_ih, b_hh) = if has_bias { (params[base + 2].to_f64_vec(), params[base + 3].to_f64_vec()) } else { (vec![0.0; 4 * hidden], vec![0.0; 4 * hidden]) };
            let in_f = params[base].shape()[1];
            let slot = l * dirs + d;
            let mut h = h0[slot * b * hidden..(slot + 1) * b * hidden].to_vec();
            let mut c = c0[slot * b * hidden..(slot + 1) * b * hidden].to_vec();
            let steps: Vec<usize> = if d == 0 { (0..t_len).collect() } else { (0..t_len).rev().collect() };
            for t in steps {
                let xt = &layer_in[t];
                let mut hnew = vec![0.0; b * hidden];
                for bi in 0..b {
                    let mut gates = vec![0.0; 4 * hidden];
                    for (g, gate) in gates.iter_mut().enumerate() {
                        let mut s = b_ih[g] + b_hh[g];
                        for k in 0..in_f {
                            s += w_ih[g * in_f + k] * xt[bi * in_f + k];
                        }
                        for k in 0..hidden {
                            s += w_hh[g * hidden + k] * h[bi * hidden + k];
                        }
                        *gate = s;
                    }
                    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
                    for j in 0..hidden {
                        let (i, f, g, o) = (sig(gates[j]), sig(gates[hidden + j]), gates[2 * hidden + j].tanh(), sig(gates[3 * hidden + j]));
                        let cv = f * c[bi * hidden + j] + i * g;
                        c[bi * hidden + j] = cv;
                        hnew[bi * hidden + j] = o * cv.tanh();
                    }
                }
                h = hnew;
                for bi in 0..b {
                    for j in 0..hidden {
                        outs[t][bi * hidden * dirs + d * hidden + j] = h[bi * hidden + j];
                    }
                }
            }
            hn.extend(h);
            cn.extend(c);
        }
        layer_in = outs;
    }
    let out = Tensor::from_vec(layer_in.concat(), &[t_len, b, hidden * dirs])?;
    let out = if batch_first { out.transpose(0, 1)?.contiguous() } else { out };
    let hshape = [layers * dirs, b, hidden];
    Ok((out.to_dtype(dt), Tensor::from_vec(hn, &hshape)?.to_dtype(dt), Tensor::from_vec(cn, &hshape)?.to_dtype(dt)).into())
}
