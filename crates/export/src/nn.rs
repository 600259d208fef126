//! `torch.nn` layers with PyTorch's defaults and state-dict names.

use tensor::DType;

use crate::functional as F;
use crate::module::{Buffer, Module, Parameter, Scope, Visitor};
use export_derive::Module;
use crate::tensor::Tensor;
use crate::Result;

/// A layer with one tensor in and one out (what `Sequential` chains).
pub trait Layer: Module {
    fn forward(&self, x: &Tensor) -> Result<Tensor>;
}

/// A normalization's affine parameters as PyTorch initializes them: weight ones, bias zeros.
fn affine(shape: &[usize]) -> (Option<Parameter>, Option<Parameter>) {
    (Some(Parameter::new(tensor::Tensor::full(shape, 1.0, DType::F32))), Some(Parameter::new(tensor::Tensor::zeros(shape, DType::F32))))
}

/// The tensor of an optional parameter.
fn opt(p: &Option<Parameter>) -> Option<Tensor> {
    p.as_ref().map(Parameter::tensor)
}

/// Uniform values in `[-bound, bound)`, from a seed (PyTorch's default initializations are
/// uniform with `bound = 1/sqrt(fan_in)`; the values differ, the scale matches).
fn uniform(shape: &[usize], bound: f32, seed: u64) -> tensor::Tensor {
    let t = Tensor::rand_uniform(shape, seed).data();
    if t.is_meta() {
        return t;
    }
    let v: Vec<f32> = t.to_vec::<f32>().into_iter().map(|x| x * bound).collect();
    tensor::Tensor::from_vec(v, shape).expect("shape matches")
}

/// `nn.Linear(in_features, out_features, bias=True)`.
#[derive(Debug, Module)]
#[module(type_name = "torch.nn.modules.linear.Linear")]
pub struct Linear {
    pub weight: Option<Parameter>,
    pub bias: Option<Parameter>,
}

impl Linear {
    pub fn new(in_features: usize, out_features: usize, bias: bool, seed: u64) -> Linear {
        let bound = 1.0 / (in_features as f32).sqrt();
        Linear {
            weight: Some(Parameter::new(uniform(&[out_features, in_features], bound, seed))),
            bias: bias.then(|| Parameter::new(uniform(&[out_features], bound, seed + 1))),
        }
    }
}

impl Layer for Linear {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let _s = Scope::enter(self);
        let w = self.weight.as_ref().expect("weight").tensor();
        F::linear(x, &w, opt(&self.bias).as_ref())
    }
}

/// `nn.Conv2d(in, out, kernel_size, stride, padding, dilation, groups, bias)`.
#[derive(Debug, Module)]
#[module(type_name = "torch.nn.modules.conv.Conv2d")]
pub struct Conv2d {
    pub weight: Option<Parameter>,
    pub bias: Option<Parameter>,
    pub stride: [i64; 2],
    pub padding: [i64; 2],
    pub dilation: [i64; 2],
    pub groups: i64,
}

impl Conv2d {
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize, seed: u64) -> Conv2d {
        let fan_in = in_channels * kernel * kernel;
        let bound = 1.0 / (fan_in as f32).sqrt();
        Conv2d {
            weight: Some(Parameter::new(uniform(&[out_channels, in_channels, kernel, kernel], bound, seed))),
            bias: Some(Parameter::new(uniform(&[out_channels], bound, seed + 1))),
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
        }
    }
    pub fn stride(mut self, s: i64) -> Conv2d {
        self.stride = [s, s];
        self
    }
    pub fn padding(mut self, p: i64) -> Conv2d {
        self.padding = [p, p];
        self
    }
}

impl Layer for Conv2d {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let _s = Scope::enter(self);
        let w = self.weight.as_ref().expect("weight").tensor();
        F::conv2d(x, &w, opt(&self.bias).as_ref(), self.stride, self.padding, self.dilation, self.groups)
    }
}

/// `nn.BatchNorm2d(num_features)` (and 1d: the same computation). `training` picks batch
/// statistics and updates the running ones, as in PyTorch.
#[derive(Debug)]
pub struct BatchNorm {
    pub weight: Option<Parameter>,
    pub bias: Option<Parameter>,
    pub running_mean: Option<Buffer>,
    pub running_var: Option<Buffer>,
    pub num_batches_tracked: Option<Buffer>,
    pub training: bool,
    pub momentum: f64,
    pub eps: f64,
    dims: u8,
}

impl BatchNorm {
    pub fn new_2d(num_features: usize) -> BatchNorm {
        BatchNorm::new(num_features, 2)
    }
    pub fn new_1d(num_features: usize) -> BatchNorm {
        BatchNorm::new(num_features, 1)
    }
    fn new(n: usize, dims: u8) -> BatchNorm {
        let (weight, bias) = affine(&[n]);
        BatchNorm {
            weight,
            bias,
            running_mean: Some(Buffer::new(tensor::Tensor::zeros(&[n], DType::F32))),
            running_var: Some(Buffer::new(tensor::Tensor::full(&[n], 1.0, DType::F32))),
            num_batches_tracked: Some(Buffer::new(tensor::Tensor::zeros(&[], DType::I64))),
            training: true,
            momentum: 0.1,
            eps: 1e-5,
            dims,
        }
    }
    pub fn eval(mut self) -> BatchNorm {
        self.training = false;
        self
    }
}

impl Module for BatchNorm {
    fn visit<'a>(&'a self, v: &mut Visitor<'a>) {
        for (n, p) in [("weight", &self.weight), ("bias", &self.bias)] {
            if let Some(p) = p {
                v.parameter(n, p);
            }
        }
        for (n, b) in [("running_mean", &self.running_mean), ("running_var", &self.running_var), ("num_batches_tracked", &self.num_batches_tracked)] {
            if let Some(b) = b {
                v.buffer(n, b);
            }
        }
    }
    fn type_name(&self) -> String {
        format!("torch.nn.modules.batchnorm.BatchNorm{}d", self.dims)
    }
}

impl Layer for BatchNorm {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let _s = Scope::enter(self);
        if self.training {
            if let Some(n) = &self.num_batches_tracked {
                n.tensor().add_(1)?;
            }
        }
        let t = |b: &Option<Buffer>| b.as_ref().map(Buffer::tensor);
        F::batch_norm(x, t(&self.running_mean).as_ref(), t(&self.running_var).as_ref(), opt(&self.weight).as_ref(), opt(&self.bias).as_ref(), self.training, self.momentum, self.eps)
    }
}

/// `nn.LayerNorm(normalized_shape)`.
#[derive(Debug, Module)]
#[module(type_name = "torch.nn.modules.normalization.LayerNorm")]
pub struct LayerNorm {
    pub weight: Option<Parameter>,
    pub bias: Option<Parameter>,
    pub normalized_shape: Vec<i64>,
    pub eps: f64,
}

impl LayerNorm {
    pub fn new(normalized_shape: &[usize]) -> LayerNorm {
        let (weight, bias) = affine(normalized_shape);
        LayerNorm {
            weight,
            bias,
            normalized_shape: normalized_shape.iter().map(|&d| d as i64).collect(),
            eps: 1e-5,
        }
    }
}

impl Layer for LayerNorm {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let _s = Scope::enter(self);
        F::layer_norm(x, &self.normalized_shape, opt(&self.weight).as_ref(), opt(&self.bias).as_ref(), self.eps)
    }
}

/// `nn.Embedding(num_embeddings, embedding_dim)`.
#[derive(Debug, Module)]
#[module(type_name = "torch.nn.modules.sparse.Embedding")]
pub struct Embedding {
    pub weight: Option<Parameter>,
}

impl Embedding {
    pub fn new(num: usize, dim: usize, seed: u64) -> Embedding {
        Embedding { weight: Some(Parameter::new(uniform(&[num, dim], 1.0, seed))) }
    }
}

impl Layer for Embedding {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let _s = Scope::enter(self);
        F::embedding(x, &self.weight.as_ref().expect("weight").tensor())
    }
}

/// Layers without state: `nn.ReLU`, `nn.GELU`, `nn.MaxPool2d`, `nn.AdaptiveAvgPool2d`,
/// `nn.Dropout`, `nn.Flatten`.
#[derive(Debug, Clone)]
pub enum Stateless {
    ReLU,
    GELU,
    SiLU,
    Hardswish,
    MaxPool2d { kernel: i64, stride: Option<i64>, padding: i64 },
    AvgPool2d { kernel: i64, stride: Option<i64> },
    AdaptiveAvgPool2d([i64; 2]),
    Dropout { p: f64, training: bool },
    Flatten,
}

impl Module for Stateless {
    fn visit<'a>(&'a self, _: &mut Visitor<'a>) {}
    fn type_name(&self) -> String {
        match self {
            Stateless::ReLU => "torch.nn.modules.activation.ReLU",
            Stateless::GELU => "torch.nn.modules.activation.GELU",
            Stateless::SiLU => "torch.nn.modules.activation.SiLU",
            Stateless::Hardswish => "torch.nn.modules.activation.Hardswish",
            Stateless::MaxPool2d { .. } => "torch.nn.modules.pooling.MaxPool2d",
            Stateless::AvgPool2d { .. } => "torch.nn.modules.pooling.AvgPool2d",
            Stateless::AdaptiveAvgPool2d(_) => "torch.nn.modules.pooling.AdaptiveAvgPool2d",
            Stateless::Dropout { .. } => "torch.nn.modules.dropout.Dropout",
            Stateless::Flatten => "torch.nn.modules.flatten.Flatten",
        }
        .into()
    }
}

impl Layer for Stateless {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let _s = Scope::enter(self);
        match self {
            Stateless::ReLU => F::relu(x),
            Stateless::GELU => F::gelu(x),
            Stateless::SiLU => F::silu(x),
            Stateless::Hardswish => F::hardswish(x),
            // nn.MaxPool2d passes stride = kernel_size when none is given
            Stateless::MaxPool2d { kernel, stride, padding } => F::max_pool2d(x, [*kernel; 2], Some([stride.unwrap_or(*kernel); 2]), [*padding; 2]),
            Stateless::AvgPool2d { kernel, stride } => F::avg_pool2d(x, [*kernel; 2], Some([stride.unwrap_or(*kernel); 2])),
            Stateless::AdaptiveAvgPool2d(s) => F::adaptive_avg_pool2d(x, *s),
            Stateless::Dropout { p, training } => F::dropout(x, *p, *training),
            Stateless::Flatten => x.flatten(1, -1),
        }
    }
}

/// `nn.Sequential`: layers named `0`, `1`, ... applied in order.
#[derive(Default)]
pub struct Sequential {
    pub layers: Vec<Box<dyn Layer>>,
}

impl Sequential {
    pub fn new() -> Sequential {
        Sequential::default()
    }
    pub fn push(mut self, layer: impl Layer + 'static) -> Sequential {
        self.layers.push(Box::new(layer));
        self
    }
}

impl Module for Sequential {
    fn visit<'a>(&'a self, v: &mut Visitor<'a>) {
        for (i, l) in self.layers.iter().enumerate() {
            v.module(&i.to_string(), l.as_ref());
        }
    }
    fn type_name(&self) -> String {
        "torch.nn.modules.container.Sequential".into()
    }
}

impl Layer for Sequential {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let _s = Scope::enter(self);
        let mut x = x.clone();
        for l in &self.layers {
            x = l.forward(&x)?;
        }
        Ok(x)
    }
}

/// `nn.Conv1d(in, out, kernel_size)` with stride, padding, dilation and groups.
#[derive(Debug, Module)]
#[module(type_name = "torch.nn.modules.conv.Conv1d")]
pub struct Conv1d {
    pub weight: Option<Parameter>,
    pub bias: Option<Parameter>,
    #[module(skip)]
    pub stride: i64,
    #[module(skip)]
    pub padding: i64,
    #[module(skip)]
    pub dilation: i64,
    #[module(skip)]
    pub groups: i64,
}

impl Conv1d {
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize, seed: u64) -> Conv1d {
        let bound = 1.0 / ((in_channels * kernel) as f32).sqrt();
        Conv1d {
            weight: Some(Parameter::new(uniform(&[out_channels, in_channels, kernel], bound, seed))),
            bias: Some(Parameter::new(uniform(&[out_channels], bound, seed + 1))),
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
        }
    }
}

impl Layer for Conv1d {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let _s = Scope::enter(self);
        let w = self.weight.as_ref().expect("weight").tensor();
        F::conv1d(x, &w, opt(&self.bias).as_ref(), self.stride, self.padding, self.dilation, self.groups)
    }
}

/// `nn.GroupNorm(num_groups, num_channels)`.
#[derive(Debug, Module)]
#[module(type_name = "torch.nn.modules.normalization.GroupNorm")]
pub struct GroupNorm {
    pub weight: Option<Parameter>,
    pub bias: Option<Parameter>,
    #[module(skip)]
    pub num_groups: i64,
    #[module(skip)]
    pub eps: f64,
}

impl GroupNorm {
    pub fn new(num_groups: usize, num_channels: usize) -> GroupNorm {
        let (weight, bias) = affine(&[num_channels]);
        GroupNorm {
            weight,
            bias,
            num_groups: num_groups as i64,
            eps: 1e-5,
        }
    }
}

impl Layer for GroupNorm {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let _s = Scope::enter(self);
        F::group_norm(x, self.num_groups, opt(&self.weight).as_ref(), opt(&self.bias).as_ref(), self.eps)
    }
}

/// `nn.MultiheadAttention(embed_dim, num_heads)`: PyTorch's parameter names (`in_proj_weight`,
/// `out_proj.weight`); inputs are `(L, N, E)` unless `batch_first`.
#[derive(Debug, Module)]
#[module(type_name = "torch.nn.modules.activation.MultiheadAttention")]
pub struct MultiheadAttention {
    pub in_proj_weight: Parameter,
    pub in_proj_bias: Parameter,
    pub out_proj: Linear,
    #[module(skip)]
    pub num_heads: i64,
    #[module(skip)]
    pub batch_first: bool,
}

impl MultiheadAttention {
    pub fn new(embed_dim: usize, num_heads: usize, seed: u64) -> MultiheadAttention {
        let bound = (6.0 / (embed_dim as f32 * 4.0)).sqrt();
        MultiheadAttention {
            in_proj_weight: Parameter::new(uniform(&[3 * embed_dim, embed_dim], bound, seed)),
            in_proj_bias: Parameter::new(tensor::Tensor::zeros(&[3 * embed_dim], DType::F32)),
            out_proj: Linear::new(embed_dim, embed_dim, true, seed + 2),
            num_heads: num_heads as i64,
            batch_first: false,
        }
    }

    /// The attention output and, with `need_weights`, the weights averaged over heads
    /// (`(N, L, S)`), as `nn.MultiheadAttention.forward` returns them.
    #[track_caller]
    pub fn forward(&self, query: &Tensor, key: &Tensor, value: &Tensor, attn_mask: Option<&Tensor>, need_weights: bool) -> Result<(Tensor, Option<Tensor>)> {
        let _s = Scope::enter(self);
        let (q, k, v) = if self.batch_first {
            (query.clone(), key.clone(), value.clone())
        } else {
            (query.transpose(0, 1)?, key.transpose(0, 1)?, value.transpose(0, 1)?)
        };
        let e = q.size(2)?;
        let w = self.in_proj_weight.tensor();
        let b = self.in_proj_bias.tensor();
        let part = |t: &Tensor, i: i64| -> Result<Tensor> { t.slice(0, Some(e.clone() * i), Some(e.clone() * (i + 1))) };
        let (n, l, s) = (q.size(0)?, q.size(1)?, k.size(1)?);
        let head = e.floordiv(self.num_heads);
        let heads = |x: Tensor, len: &crate::SymInt| -> Result<Tensor> { x.view(&[n.clone(), len.clone(), self.num_heads.into(), head.clone()])?.transpose(1, 2) };
        let qh = heads(F::linear(&q, &part(&w, 0)?, Some(&part(&b, 0)?))?, &l)?;
        let kh = heads(F::linear(&k, &part(&w, 1)?, Some(&part(&b, 1)?))?, &s)?;
        let vh = heads(F::linear(&v, &part(&w, 2)?, Some(&part(&b, 2)?))?, &s)?;
        let (attended, weights) = if need_weights {
            let scale = 1.0 / (head.guard_int()? as f64).sqrt();
            let mut scores = qh.matmul(&kh.transpose(-2, -1)?)?.mul(scale)?;
            if let Some(m) = attn_mask {
                scores = if m.dtype() == DType::Bool { scores.masked_fill(m, f64::NEG_INFINITY)? } else { scores.add(m)? };
            }
            let p = scores.softmax(-1)?;
            (p.matmul(&vh)?, Some(p.mean_dim(&[1], false)?))
        } else {
            // a boolean mask marks the pairs that may *not* attend (SDPA's marks those that may)
            let mask = match attn_mask {
                Some(m) if m.dtype() == DType::Bool => Some(crate::zeros(&m.sizes(), DType::F32)?.masked_fill(m, f64::NEG_INFINITY)?),
                other => other.cloned(),
            };
            (F::scaled_dot_product_attention(&qh, &kh, &vh, mask.as_ref(), false)?, None)
        };
        let merged = attended.transpose(1, 2)?.reshape(&[n, l, e])?;
        let out = self.out_proj.forward(&merged)?;
        let out = if self.batch_first { out } else { out.transpose(0, 1)? };
        Ok((out, weights))
    }
}
