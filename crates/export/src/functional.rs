//! `torch.nn.functional`: the operators layers are made of, with PyTorch's defaults.

use ops::names::aten;
use tensor::DType;

use crate::tensor::Tensor;
use crate::trace::{call, Arg};
use crate::{Error, Result};

fn one_tensor(v: Vec<Tensor>) -> Result<Tensor> {
    one(v)
}

fn one(mut v: Vec<Tensor>) -> Result<Tensor> {
    v.pop().ok_or_else(|| Error::msg("the operator returned no tensor"))
}

fn opt(t: Option<&Tensor>) -> Arg {
    Arg::OptTensor(t.cloned())
}

fn pair(v: [i64; 2]) -> Arg {
    Arg::Ints(v.iter().map(|&i| i.into()).collect())
}

#[track_caller]
pub fn relu(x: &Tensor) -> Result<Tensor> {
    x.relu()
}

/// `F.relu(x, inplace=True)`.
#[track_caller]
pub fn relu_(x: &Tensor) -> Result<Tensor> {
    x.relu_()
}

#[track_caller]
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    one(call(aten::gelu, vec![x.into()], vec![])?)
}

#[track_caller]
pub fn silu(x: &Tensor) -> Result<Tensor> {
    one(call(aten::silu, vec![x.into()], vec![])?)
}

#[track_caller]
pub fn hardswish(x: &Tensor) -> Result<Tensor> {
    one(call(aten::hardswish, vec![x.into()], vec![])?)
}

#[track_caller]
pub fn softmax(x: &Tensor, dim: i64) -> Result<Tensor> {
    x.softmax(dim)
}

#[track_caller]
pub fn log_softmax(x: &Tensor, dim: i64) -> Result<Tensor> {
    x.log_softmax(dim)
}

/// `F.linear`: `x @ weight.T + bias`, recorded as `aten.linear`.
#[track_caller]
pub fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let mut args = vec![x.into(), weight.into()];
    if let Some(b) = bias {
        args.push(b.into());
    }
    one(call(aten::linear, args, vec![])?)
}

/// `F.conv2d` with stride, padding, dilation and groups (defaults 1, 0, 1, 1 are omitted as
/// PyTorch omits them).
#[track_caller]
pub fn conv2d(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, stride: [i64; 2], padding: [i64; 2], dilation: [i64; 2], groups: i64) -> Result<Tensor> {
    let mut args = vec![x.into(), weight.into(), opt(bias)];
    let extras = [stride != [1, 1], padding != [0, 0], dilation != [1, 1], groups != 1];
    let last = extras.iter().rposition(|&e| e).map(|i| i + 1).unwrap_or(0);
    let all = [pair(stride), pair(padding), pair(dilation), groups.into()];
    args.extend(all.into_iter().take(last));
    if bias.is_none() && last == 0 {
        args.pop();
    }
    one(call(aten::conv2d, args, vec![])?)
}

/// `F.conv1d`.
#[track_caller]
pub fn conv1d(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, stride: i64, padding: i64, dilation: i64, groups: i64) -> Result<Tensor> {
    let one = |v: i64| Arg::Ints(vec![v.into()]);
    let mut args = vec![x.into(), weight.into(), opt(bias)];
    let extras = [stride != 1, padding != 0, dilation != 1, groups != 1];
    let last = extras.iter().rposition(|&e| e).map(|i| i + 1).unwrap_or(0);
    args.extend([one(stride), one(padding), one(dilation), groups.into()].into_iter().take(last));
    if bias.is_none() && last == 0 {
        args.pop();
    }
    one_tensor(call(aten::conv1d, args, vec![])?)
}

#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn batch_norm(
    x: &Tensor,
    running_mean: Option<&Tensor>,
    running_var: Option<&Tensor>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    training: bool,
    momentum: f64,
    eps: f64,
) -> Result<Tensor> {
    let args = vec![x.into(), opt(weight), opt(bias), opt(running_mean), opt(running_var), training.into(), momentum.into(), eps.into(), false.into()];
    one(call(aten::batch_norm, args, vec![])?)
}

#[track_caller]
pub fn layer_norm(x: &Tensor, normalized_shape: &[i64], weight: Option<&Tensor>, bias: Option<&Tensor>, eps: f64) -> Result<Tensor> {
    let shape = Arg::Ints(normalized_shape.iter().map(|&i| i.into()).collect());
    let args = vec![x.into(), shape, opt(weight), opt(bias), eps.into(), false.into()];
    one(call(aten::layer_norm, args, vec![])?)
}

#[track_caller]
pub fn group_norm(x: &Tensor, num_groups: i64, weight: Option<&Tensor>, bias: Option<&Tensor>, eps: f64) -> Result<Tensor> {
    let args = vec![x.into(), num_groups.into(), opt(weight), opt(bias), eps.into(), false.into()];
    one(call(aten::group_norm, args, vec![])?)
}

/// `F.max_pool2d(x, kernel_size, stride=kernel_size, padding=0)`.
#[track_caller]
pub fn max_pool2d(x: &Tensor, kernel: [i64; 2], stride: Option<[i64; 2]>, padding: [i64; 2]) -> Result<Tensor> {
    let mut args = vec![x.into(), pair(kernel)];
    if stride.is_some() || padding != [0, 0] {
        args.push(stride.map(pair).unwrap_or_else(|| Arg::Ints(vec![])));
    }
    if padding != [0, 0] {
        args.push(pair(padding));
    }
    one(call(aten::max_pool2d, args, vec![])?)
}

#[track_caller]
pub fn avg_pool2d(x: &Tensor, kernel: [i64; 2], stride: Option<[i64; 2]>) -> Result<Tensor> {
    let mut args = vec![x.into(), pair(kernel)];
    if let Some(s) = stride {
        args.push(pair(s));
    }
    one(call(aten::avg_pool2d, args, vec![])?)
}

#[track_caller]
pub fn adaptive_avg_pool2d(x: &Tensor, output_size: [i64; 2]) -> Result<Tensor> {
    one(call(aten::adaptive_avg_pool2d, vec![x.into(), pair(output_size)], vec![])?)
}

#[track_caller]
pub fn embedding(indices: &Tensor, weight: &Tensor) -> Result<Tensor> {
    one(call(aten::embedding, vec![weight.into(), indices.into()], vec![])?)
}

/// `F.dropout`: the identity in eval mode (PyTorch records it at the default IR).
#[track_caller]
pub fn dropout(x: &Tensor, p: f64, training: bool) -> Result<Tensor> {
    one(call(aten::dropout, vec![x.into(), p.into(), training.into()], vec![])?)
}

#[track_caller]
pub fn scaled_dot_product_attention(q: &Tensor, k: &Tensor, v: &Tensor, attn_mask: Option<&Tensor>, is_causal: bool) -> Result<Tensor> {
    let mut args = vec![q.into(), k.into(), v.into()];
    if attn_mask.is_some() || is_causal {
        args.push(opt(attn_mask));
    }
    if is_causal {
        args.push(0.0.into());
        args.push(true.into());
    }
    one(call(aten::scaled_dot_product_attention, args, vec![])?)
}

/// `x.to(dtype)`.
#[track_caller]
pub fn to_dtype(x: &Tensor, dtype: DType) -> Result<Tensor> {
    x.to_dtype(dtype)
}
