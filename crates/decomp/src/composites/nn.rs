//! Neural-network composites: the `.vec` forms of resampling (sizes or scale factors) over
//! their sized kernels, `grid_sampler` over its 2-d kernel, 1-d max pooling over the 2-d
//! kernels, `adaptive_avg_pool3d`, and the classification losses `nll_loss_nd` and
//! `cross_entropy_loss`.

use export::retrace::DecompCall;
use export::trace::{call, Arg};
use export::{Error, Result, SymInt, Tensor};
use ops::names::aten;
use ops::{meta, MetaCall, OpName};
use symbolic::Expr;

use super::{one, op1, Composite, Sizes};
use crate::rules::reshape_to;

pub(super) const COMPOSITES: &[Composite] = &[
    Composite {
        schema: "aten::embedding_bag.padding_idx(Tensor weight, Tensor indices, Tensor offsets, bool scale_grad_by_freq, int mode, bool sparse, Tensor? per_sample_weights, bool include_last_offset, int? padding_idx) -> (Tensor, Tensor, Tensor, Tensor)",
        tags: &[],
        meta: Some(meta::embedding_bag),
        dtype: Some(ops::DtypeRule::Custom(ops::dtype::embedding_bag)), decompose: embedding_bag,
    },
    Composite {
        schema: "aten::conv1d.padding(Tensor input, Tensor weight, Tensor? bias=None, SymInt[1] stride=[1], str padding=\"valid\", SymInt[1] dilation=[1], SymInt groups=1) -> Tensor",
        tags: &[],
        meta: Some(conv_padding_meta),
        dtype: None, decompose: conv_padding_mode,
    },
    Composite {
        schema: "aten::conv2d.padding(Tensor input, Tensor weight, Tensor? bias=None, SymInt[2] stride=[1, 1], str padding=\"valid\", SymInt[2] dilation=[1, 1], SymInt groups=1) -> Tensor",
        tags: &[],
        meta: Some(conv_padding_meta),
        dtype: None, decompose: conv_padding_mode,
    },
    Composite {
        schema: "aten::conv3d.padding(Tensor input, Tensor weight, Tensor? bias=None, SymInt[3] stride=[1, 1, 1], str padding=\"valid\", SymInt[3] dilation=[1, 1, 1], SymInt groups=1) -> Tensor",
        tags: &[],
        meta: Some(conv_padding_meta),
        dtype: None, decompose: conv_padding_mode,
    },
    Composite { schema: "aten::upsample_nearest1d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor", tags: &[], meta: Some(meta::upsample), dtype: None, decompose: resampled },
    Composite { schema: "aten::_upsample_nearest_exact1d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor", tags: &[], meta: Some(meta::upsample), dtype: None, decompose: resampled },
    Composite {
        schema: "aten::upsample_linear1d.vec(Tensor input, SymInt[]? output_size, bool align_corners, float[]? scale_factors) -> Tensor",
        tags: &[],
        meta: Some(meta::upsample),
        dtype: None, decompose: resampled,
    },
    Composite {
        schema: "aten::upsample_bicubic2d.vec(Tensor input, SymInt[]? output_size, bool align_corners, float[]? scale_factors) -> Tensor",
        tags: &[],
        meta: Some(meta::upsample),
        dtype: None, decompose: resampled,
    },
    Composite {
        schema: "aten::instance_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, bool use_input_stats, float momentum, float eps, bool cudnn_enabled) -> Tensor",
        tags: &[],
        meta: Some(meta::same_as_input),
        dtype: None, decompose: instance_norm,
    },
    Composite { schema: "aten::bilinear(Tensor input1, Tensor input2, Tensor weight, Tensor? bias=None) -> Tensor", tags: &[], meta: Some(bilinear_meta), dtype: None, decompose: bilinear },
    Composite { schema: "aten::one_hot(Tensor self, int num_classes=-1) -> Tensor", tags: &[], meta: Some(one_hot_meta), dtype: Some(ops::DtypeRule::Long), decompose: one_hot },
    Composite { schema: "aten::_weight_norm(Tensor v, Tensor g, int dim=0) -> Tensor", tags: &[], meta: Some(weight_norm_meta), dtype: None, decompose: weight_norm },
    Composite {
        schema: "aten::grid_sampler(Tensor input, Tensor grid, int interpolation_mode, int padding_mode, bool align_corners) -> Tensor",
        tags: &[],
        meta: Some(meta::grid_sampler),
        dtype: None, decompose: grid_sampler,
    },
    Composite { schema: "aten::adaptive_max_pool1d(Tensor self, int[1] output_size) -> (Tensor, Tensor)", tags: &[], meta: Some(pool1d_meta), dtype: Some(ops::DtypeRule::ValuesAndIndices), decompose: adaptive_max_pool1d },
    Composite {
        schema: "aten::max_pool1d_with_indices(Tensor self, int[1] kernel_size, int[1] stride=[], int[1] padding=[0], int[1] dilation=[1], bool ceil_mode=False) -> (Tensor, Tensor)",
        tags: &[],
        meta: Some(pool1d_meta),
        dtype: Some(ops::DtypeRule::ValuesAndIndices), decompose: max_pool1d_with_indices,
    },
    Composite { schema: "aten::adaptive_avg_pool3d(Tensor self, SymInt[3] output_size) -> Tensor", tags: &[], meta: Some(meta::adaptive_pool), dtype: None, decompose: adaptive_avg_pool3d },
    Composite {
        schema: "aten::nll_loss_nd(Tensor self, Tensor target, Tensor? weight=None, int reduction=1, SymInt ignore_index=-100) -> Tensor",
        tags: &[],
        meta: Some(classification_loss_meta),
        dtype: None, decompose: nll_loss_nd,
    },
    Composite {
        schema: "aten::cross_entropy_loss(Tensor self, Tensor target, Tensor? weight=None, int reduction=1, SymInt ignore_index=-100, float label_smoothing=0.) -> Tensor",
        tags: &[],
        meta: Some(classification_loss_meta),
        dtype: None, decompose: cross_entropy_loss,
    },
];

/// The sized kernel a `.vec` resampling operator runs, and how many spatial dims it has.
fn sized_kernel(op: &str) -> Result<(OpName, usize)> {
    Ok(if op.contains("_upsample_nearest_exact1d") {
        (aten::_upsample_nearest_exact1d, 1)
    } else if op.contains("upsample_nearest1d") {
        (aten::upsample_nearest1d, 1)
    } else if op.contains("upsample_linear1d") {
        (aten::upsample_linear1d, 1)
    } else if op.contains("upsample_bicubic2d") {
        (aten::upsample_bicubic2d, 2)
    } else {
        return Err(Error::msg(format!("{op}: no sized kernel")));
    })
}

/// The output sizes (given, or each input size times its scale, floored) and the scales passed
/// on to the kernel (only when scale factors were given), as PyTorch's `.vec` overloads do.
fn resampled(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("input")?;
    let (kernel, spatial) = sized_kernel(&c.args.op)?;
    if x.dim() != spatial + 2 {
        return Err(Error::msg(format!("{}: expected a {}-D input (batch, channels and {spatial} spatial dims), got {}-D", c.args.op, spatial + 2, x.dim())));
    }
    let scales: Option<Vec<f64>> = match c.args.get("scale_factors")? {
        Arg::Literal(ops::Value::List(v), _) => Some(v.iter().map(|f| match f {
            ops::Value::Float(f) => Ok(*f),
            ops::Value::Int(i) => Ok(*i as f64),
            _ => Err(Error::msg(format!("{}: scale_factors must be numbers", c.args.op))),
        }).collect::<Result<Vec<f64>>>()?),
        Arg::None => None,
        other => return Err(Error::msg(format!("{}: scale_factors must be floats or None, got {}", c.args.op, arg_kind(other)))),
    };
    let sizes = match (c.args.get("output_size")?, &scales) {
        (Arg::Ints(v), None) => v.clone(),
        (Arg::None, Some(s)) if s.len() == spatial => x.sizes()[2..].iter().zip(s).map(|(n, f)| SymInt::from((n.hint() as f64 * f).floor() as i64)).collect(),
        _ => return Err(Error::msg(format!("{}: must specify exactly one of output_size and scale_factors, with {spatial} values", c.args.op))),
    };
    let mut args = vec![Arg::Tensor(x), Arg::Ints(sizes)];
    if let Ok(Arg::Bool(align)) = c.args.get("align_corners") {
        args.push(Arg::Bool(*align));
    }
    for i in 0..spatial {
        args.push(scales.as_ref().map_or(Arg::None, |s| Arg::Float(s[i])));
    }
    one(op1(kernel, args)?)
}

fn arg_kind(a: &Arg) -> &'static str {
    match a {
        Arg::Tensor(_) => "a tensor",
        Arg::Int(_) | Arg::Ints(_) => "ints",
        _ => "another value",
    }
}

/// `grid_sampler_2d` for a 4-D input (the 3-D sampler is not supported yet).
fn grid_sampler(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("input")?;
    if x.dim() != 4 {
        return Err(Error::msg(format!("{}: only 4-D inputs (grid_sampler_2d) are supported, got {}-D", c.args.op, x.dim())));
    }
    let args = ["grid", "interpolation_mode", "padding_mode", "align_corners"].iter().map(|n| c.args.get(n).cloned()).collect::<Result<Vec<_>>>()?;
    one(op1(aten::grid_sampler_2d, [vec![Arg::Tensor(x)], args].concat())?)
}

/// A 1-d pooling as the 2-d one over a height of 1: unsqueeze, pool, squeeze both outputs.
fn pooled_1d(x: Tensor, pool: impl FnOnce(Tensor) -> Result<Vec<Tensor>>) -> Result<Vec<Arg>> {
    let x4 = op1(aten::unsqueeze, vec![Arg::Tensor(x), Arg::Int((-2).into())])?;
    let outs = pool(x4)?;
    if outs.len() != 2 {
        return Err(Error::msg("a 1-d max pooling gave no indices"));
    }
    outs.into_iter().map(|t| op1(aten::squeeze_dim, vec![Arg::Tensor(t), Arg::Int((-2).into())]).map(Arg::Tensor)).collect()
}

fn int1(c: &DecompCall, name: &str, default: i64) -> Result<i64> {
    Ok(c.args.ints(name)?.first().map_or(default, SymInt::hint))
}

fn adaptive_max_pool1d(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let size = int1(c, "output_size", 1)?;
    pooled_1d(x, |x4| call(aten::adaptive_max_pool2d, vec![Arg::Tensor(x4), Arg::Ints(vec![1.into(), size.into()])], vec![]))
}

fn max_pool1d_with_indices(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let k = int1(c, "kernel_size", 1)?;
    let s = int1(c, "stride", k)?;
    let (p, d) = (int1(c, "padding", 0)?, int1(c, "dilation", 1)?);
    let pair = |a: i64, b: i64| Arg::Ints(vec![a.into(), b.into()]);
    let args = vec![pair(1, k), pair(1, s), pair(0, p), pair(1, d), Arg::Bool(c.args.bool("ceil_mode")?)];
    pooled_1d(x, |x4| call(aten::max_pool2d_with_indices, [vec![Arg::Tensor(x4)], args].concat(), vec![]))
}

/// Values and indices of a 1-d pooling: the input's leading dims, then the pooled length.
fn pool1d_meta(call: &mut MetaCall) -> Sizes {
    let s = call.sizes("self")?;
    let n = s.last().cloned().ok_or_else(|| ops::Error::msg("a 1-d pooling needs an input with a length dim"))?;
    let out = if call.args.has("kernel_size") {
        let first = |name: &str, default: i64| -> ops::Result<i64> { Ok(call.args.int_list(name)?.first().copied().unwrap_or(default)) };
        let k = first("kernel_size", 1)?;
        let (st, p, d) = (first("stride", k)?, first("padding", 0)?, first("dilation", 1)?);
        let span = n + Expr::Int(2 * p - d * (k - 1) - 1);
        let len = if call.args.bool("ceil_mode")? {
            let n = span.as_int().ok_or_else(|| ops::Error::msg("max_pool1d: ceil_mode over a symbolic length is not supported"))?;
            let mut o = (n + st - 1).div_euclid(st) + 1;
            if (o - 1) * st >= n - (2 * p - d * (k - 1) - 1) + p {
                o -= 1;
            }
            Expr::Int(o)
        } else {
            Expr::floordiv(span, Expr::Int(st)) + Expr::Int(1)
        };
        len
    } else {
        Expr::Int(call.args.int_list("output_size")?.first().copied().unwrap_or(1))
    };
    let mut shape = s[..s.len() - 1].to_vec();
    shape.push(out);
    Ok(vec![shape.clone(), shape])
}

/// Global average pooling is a mean over the three spatial dims ([`crate::rules::global_average`]);
/// other sizes, the core operator.
fn adaptive_avg_pool3d(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let size = c.args.ints("output_size")?;
    if size.iter().all(|s| s.is_static() && s.hint() == 1) {
        return one(crate::rules::global_average(x)?);
    }
    one(op1(aten::_adaptive_avg_pool3d, vec![Arg::Tensor(x), Arg::Ints(size)])?)
}

/// `v * (g / ‖v‖)`, the norm over every dim but `dim` (kept), as `pow(sum(v²), 0.5)` the way
/// PyTorch's decomposition writes it (`weight_norm`'s reparametrization).
fn weight_norm(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (v, g) = (c.args.tensor("v")?, c.args.tensor("g")?);
    let rank = v.dim() as i64;
    let dim = c.args.int("dim")?.hint();
    let dims: Vec<SymInt> = if dim == -1 { (0..rank).map(SymInt::from).collect() } else {
        let d = super::wrap_dim(&c.args.op, dim, rank.max(1))?;
        (0..rank).filter(|&i| i != d).map(SymInt::from).collect()
    };
    let squared = op1(aten::pow_Tensor_Scalar, vec![Arg::Tensor(v.clone()), Arg::Int(2.into())])?;
    let summed = op1(aten::sum_dim_IntList, vec![Arg::Tensor(squared), Arg::Ints(dims), Arg::Bool(true)])?;
    let norm = op1(aten::pow_Tensor_Scalar, vec![Arg::Tensor(summed), Arg::Float(0.5)])?;
    let scale = op1(aten::div_Tensor, vec![Arg::Tensor(g), Arg::Tensor(norm)])?;
    one(op1(aten::mul_Tensor, vec![Arg::Tensor(v), Arg::Tensor(scale)])?)
}

fn weight_norm_meta(call: &mut MetaCall) -> Sizes {
    Ok(vec![call.sizes("v")?])
}

/// `nll_loss_forward` for inputs of 1 or 2 dims, `nll_loss2d_forward` for 4; other ranks
/// flattened to `[N, C, -1]` and back, as PyTorch's `nll_loss_nd` does.
fn nll(op: &str, x: Tensor, target: Tensor, weight: Arg, reduction: i64, ignore: SymInt) -> Result<Tensor> {
    let tail = |kernel: OpName, x: Tensor, t: Tensor| -> Result<Tensor> {
        Ok(call(kernel, vec![Arg::Tensor(x), Arg::Tensor(t), weight.clone(), Arg::Int(reduction.into()), Arg::Int(ignore.clone())], vec![])?.remove(0))
    };
    match x.dim() {
        1 | 2 => tail(aten::nll_loss_forward, x, target),
        4 => tail(aten::nll_loss2d_forward, x, target),
        0 => Err(Error::msg(format!("{op}: input tensor should be 1D or more, got 0-D"))),
        _ => {
            let (n, ch) = (x.size(0)?, x.size(1)?);
            let spatial = x.sizes()[2..].to_vec();
            let x4 = reshape_to(&x, &[n.clone(), ch, SymInt::from(1), SymInt::from(-1)])?;
            let t3 = reshape_to(&target, &[n.clone(), SymInt::from(1), SymInt::from(-1)])?;
            let out = tail(aten::nll_loss2d_forward, x4, t3)?;
            if reduction != 0 {
                return Ok(out);
            }
            reshape_to(&out, &[vec![n], spatial].concat())
        }
    }
}

fn nll_loss_nd(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let weight = c.args.get("weight")?.clone();
    one(nll(&c.args.op, c.args.tensor("self")?, c.args.tensor("target")?, weight, c.args.int("reduction")?.hint(), c.args.int("ignore_index")?)?)
}

/// `nll_loss_nd(log_softmax(self, 1), target)` for class indices without smoothing; targets
/// of class probabilities (float) as `-sum(log_softmax * target)` per sample.
fn cross_entropy_loss(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (x, target) = (c.args.tensor("self")?, c.args.tensor("target")?);
    let reduction = c.args.int("reduction")?.hint();
    if c.args.float("label_smoothing")? != 0.0 {
        return Err(Error::msg(format!("{}: label_smoothing is not supported yet", c.args.op)));
    }
    let class_dim = if x.dim() == 1 { 0 } else { 1 };
    let logp = op1(aten::_log_softmax, vec![Arg::Tensor(x), Arg::Int(class_dim.into()), Arg::Bool(false)])?;
    if target.dtype().is_float() {
        if !matches!(c.args.get("weight")?, Arg::None | Arg::OptTensor(None)) {
            return Err(Error::msg(format!("{}: class weights with probability targets are not supported yet", c.args.op)));
        }
        let per_class = op1(aten::mul_Tensor, vec![Arg::Tensor(logp), Arg::Tensor(target)])?;
        let summed = op1(aten::sum_dim_IntList, vec![Arg::Tensor(per_class), Arg::Ints(vec![class_dim.into()]), Arg::Bool(false)])?;
        return super::losses::reduced(&c.args.op, op1(aten::neg, vec![Arg::Tensor(summed)])?, reduction);
    }
    let weight = c.args.get("weight")?.clone();
    one(nll(&c.args.op, logp, target, weight, reduction, c.args.int("ignore_index")?)?)
}

/// One loss per sample (the class dim dropped) without reduction, else a 0-dim result.
fn classification_loss_meta(call: &mut MetaCall) -> Sizes {
    if call.args.int("reduction")? != 0 {
        return Ok(vec![vec![]]);
    }
    let mut s = call.sizes("self")?;
    if s.len() >= 2 {
        s.remove(1);
    } else {
        s.clear();
    }
    Ok(vec![s])
}

/// Each sample's channels normalized on their own: the input viewed as one batch of `N × C`
/// channels, batch norm with batch statistics, viewed back (weight and bias repeated per sample).
fn instance_norm(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("input")?;
    let (momentum, eps) = (Arg::Float(c.args.float("momentum")?), Arg::Float(c.args.float("eps")?));
    if !c.args.bool("use_input_stats")? {
        // the running statistics are per channel, the same for every sample: plain eval-mode
        // batch norm
        let stat = |name: &str| -> Result<Arg> { Ok(Arg::OptTensor(c.args.opt_tensor(name)?)) };
        let args = vec![Arg::Tensor(x), stat("weight")?, stat("bias")?, stat("running_mean")?, stat("running_var")?, Arg::Bool(false), momentum, eps, Arg::Bool(false)];
        return one(op1(aten::batch_norm, args)?);
    }
    // with batch statistics, PyTorch's kernel also updates any running statistics in place; the
    // schema declares no write, so a program never sees that update, and it is not made here
    let sizes = x.sizes();
    if sizes.len() < 3 {
        return Err(Error::msg(format!("{}: expected an input with a batch, channels and at least one more dim, got {} dims", c.args.op, sizes.len())));
    }
    let (n, ch) = (sizes[0].clone(), sizes[1].clone());
    let merged = reshape_to(&x, &[vec![SymInt::from(1), n.clone() * ch], sizes[2..].to_vec()].concat())?;
    let per_sample = |name: &str| -> Result<Arg> {
        Ok(match c.args.opt_tensor(name)? {
            Some(t) => Arg::Tensor(op1(aten::repeat, vec![Arg::Tensor(t), Arg::Ints(vec![n.clone()])])?),
            None => Arg::OptTensor(None),
        })
    };
    let args = vec![
        Arg::Tensor(merged),
        per_sample("weight")?,
        per_sample("bias")?,
        Arg::OptTensor(None),
        Arg::OptTensor(None),
        Arg::Bool(true),
        momentum,
        eps,
        Arg::Bool(false),
    ];
    let normed = op1(aten::batch_norm, args)?;
    one(reshape_to(&normed, &sizes)?)
}

/// `y[.., k] = x1[.., :] · W[k] · x2[.., :] + b[k]`: over the flattened leading dims,
/// `(x1 W_k) * x2` summed for every `k` at once by one batched product.
/// `x1ᵀ W_k x2 + b_k` for each output `k`, as PyTorch composes it: both inputs flattened to
/// rows, one `_trilinear` contraction with the weight, the leading dims restored, then the bias.
fn bilinear(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (x1, x2, w) = (c.args.tensor("input1")?, c.args.tensor("input2")?, c.args.tensor("weight")?);
    let s1 = x1.sizes();
    let lead = s1[..s1.len() - 1].to_vec();
    let (i, j, k) = (s1[s1.len() - 1].clone(), x2.size(-1)?, w.size(0)?);
    let a = reshape_to(&x1, &[SymInt::from(-1), i])?;
    let b = reshape_to(&x2, &[SymInt::from(-1), j])?;
    let ints = |v: &[i64]| Arg::Ints(v.iter().map(|&d| SymInt::from(d)).collect());
    let t = op1(aten::_trilinear, vec![Arg::Tensor(a), Arg::Tensor(w), Arg::Tensor(b), ints(&[1, 3]), ints(&[0]), ints(&[1, 2]), ints(&[2, 3])])?;
    let mut out = reshape_to(&t, &[lead, vec![k]].concat())?;
    if let Some(bias) = c.args.opt_tensor("bias")? {
        out = op1(aten::add_Tensor, vec![Arg::Tensor(out), Arg::Tensor(bias)])?;
    }
    one(out)
}

fn bilinear_meta(call: &mut MetaCall) -> Sizes {
    let mut s = call.sizes("input1")?;
    let k = call.sizes("weight")?.first().cloned().ok_or_else(|| ops::Error::msg("bilinear: the weight needs 3 dims"))?;
    if let Some(last) = s.last_mut() {
        *last = k;
    }
    Ok(vec![s])
}

/// `self.unsqueeze(-1) == arange(num_classes)` as int64; `num_classes = -1` takes the largest
/// class plus one, which only the data tells (an eager call, not a lowering).
fn one_hot(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    if x.dtype() != tensor::DType::I64 {
        return Err(Error::msg(format!("{}: one_hot is only applicable to index tensor of type LongTensor, got {}", c.args.op, x.dtype())));
    }
    let mut classes = c.args.int("num_classes")?;
    if classes.hint() == -1 {
        if export::trace::is_tracing() {
            return Err(Error::msg(format!("{}: num_classes=-1 depends on the data; pass the number of classes", c.args.op)));
        }
        let top = x.data().to_i64_vec().into_iter().max().unwrap_or(-1);
        classes = SymInt::from(top + 1);
    }
    let kwargs = vec![("dtype", Arg::Dtype(tensor::DType::I64)), ("device", crate::rules::cpu()), ("pin_memory", Arg::Bool(false))];
    let labels = call(aten::arange_start_step, vec![Arg::Int(0.into()), Arg::Int(classes), Arg::Int(1.into())], kwargs)?.remove(0);
    let column = op1(aten::unsqueeze, vec![Arg::Tensor(x), Arg::Int((-1).into())])?;
    let hits = op1(aten::eq_Tensor, vec![Arg::Tensor(column), Arg::Tensor(labels)])?;
    one(call(aten::_to_copy, vec![Arg::Tensor(hits)], vec![("dtype", Arg::Dtype(tensor::DType::I64))])?.remove(0))
}

fn one_hot_meta(call: &mut MetaCall) -> Sizes {
    let classes = call.args.int("num_classes")?;
    if classes < 0 {
        return Err(ops::Error::msg("one_hot: num_classes=-1 depends on the data; pass the number of classes"));
    }
    Ok(vec![[call.sizes("self")?, vec![Expr::Int(classes)]].concat()])
}

/// `padding="same"` / `"valid"` as explicit paddings: for "same", each dim's total
/// `dilation * (kernel - 1)`, its left half on both sides and any odd extra on the right (a
/// `constant_pad_nd` of the input first, as PyTorch's `_convolution_mode` does).
fn same_padding(c: &DecompCall) -> Result<(Vec<i64>, Vec<i64>)> {
    let weight = c.args.tensor("weight")?;
    let dilation: Vec<i64> = c.args.ints("dilation")?.iter().map(SymInt::hint).collect();
    let spatial = weight.dim().saturating_sub(2);
    let mode = match c.args.get("padding")? {
        Arg::Str(s) => s.clone(),
        _ => return Err(Error::msg(format!("{}: padding must be the string \"same\" or \"valid\"", c.args.op))),
    };
    match mode.as_str() {
        "valid" => Ok((vec![0; spatial], vec![0; spatial])),
        "same" => {
            if c.args.ints("stride")?.iter().any(|s| s.hint() != 1) {
                return Err(Error::msg(format!("{}: padding='same' is not supported for strided convolutions", c.args.op)));
            }
            let kernel: Vec<i64> = (0..spatial).map(|i| weight.size(i as i64 + 2).map(|s| s.hint())).collect::<Result<_>>()?;
            let total: Vec<i64> = (0..spatial).map(|i| dilation.get(i).or(dilation.first()).copied().unwrap_or(1) * (kernel[i] - 1)).collect();
            Ok((total.iter().map(|t| t / 2).collect(), total.iter().map(|t| t - t / 2).collect()))
        }
        other => Err(Error::msg(format!("{}: Invalid padding string: '{other}'", c.args.op))),
    }
}

fn conv_padding_mode(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (left, right) = same_padding(c)?;
    let mut input = c.args.tensor("input")?;
    if left != right {
        // the extra on the right end of each dim, last dim first (constant_pad_nd's order)
        let pad: Vec<i64> = left.iter().zip(&right).rev().flat_map(|(l, r)| [0, r - l]).collect();
        input = op1(aten::constant_pad_nd, vec![Arg::Tensor(input), crate::rules::ints(&pad), Arg::Float(0.0)])?;
    }
    let spatial = left.len();
    let args = vec![
        Arg::Tensor(input),
        Arg::Tensor(c.args.tensor("weight")?),
        c.args.get("bias")?.clone(),
        Arg::Ints(c.args.ints("stride")?),
        crate::rules::ints(&left),
        Arg::Ints(c.args.ints("dilation")?),
        Arg::Bool(false),
        crate::rules::ints(&vec![0; spatial]),
        Arg::Int(c.args.int("groups")?),
    ];
    one(op1(aten::convolution, args)?)
}

/// "same": the input's spatial sizes; "valid": the unpadded convolution's.
fn conv_padding_meta(call: &mut MetaCall) -> Sizes {
    let x = call.sizes("input")?;
    let w = call.sizes("weight")?;
    let spatial = w.len().saturating_sub(2);
    let batched = x.len() == spatial + 2;
    let mut out = x.clone();
    out[if batched { 1 } else { 0 }] = w[0].clone();
    if call.args.str("padding")? == "valid" {
        let stride = call.ints("stride")?;
        let dilation = call.ints("dilation")?;
        let first = x.len() - spatial;
        for i in 0..spatial {
            let (s, d) = (stride.get(i).or(stride.first()).cloned().unwrap_or(Expr::Int(1)), dilation.get(i).or(dilation.first()).cloned().unwrap_or(Expr::Int(1)));
            // (x - (d * (k - 1) + 1)) // s + 1
            let span = Expr::add_all([Expr::mul_all([d, Expr::add_all([w[i + 2].clone(), Expr::Int(-1)])]), Expr::Int(1)]);
            let room = Expr::add_all([x[first + i].clone(), Expr::mul_all([Expr::Int(-1), span])]);
            out[first + i] = Expr::add_all([Expr::floordiv(room, s), Expr::Int(1)]);
        }
    }
    Ok(vec![out])
}

/// `embedding_bag` with an optional padding index: the forward-only kernel, as PyTorch lowers it
/// for inference (no padding index is -1).
fn embedding_bag(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let mut args: Vec<Arg> = ["weight", "indices", "offsets", "scale_grad_by_freq", "mode", "sparse", "per_sample_weights", "include_last_offset"]
        .iter()
        .map(|n| c.args.get(n).cloned())
        .collect::<Result<_>>()?;
    if let Arg::Int(p) = c.args.get("padding_idx")? {
        args.push(Arg::Int(p.clone()));
    }
    Ok(call(aten::_embedding_bag_forward_only, args, vec![])?.into_iter().map(Arg::Tensor).collect())
}
