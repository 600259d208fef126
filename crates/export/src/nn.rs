//! `torch.nn` layers with PyTorch's defaults and state-dict names.

use tensor::DType;

use crate::functional as F;
use crate::module::{Buffer, Module, Parameter, Scope, Visitor};
use crate::tensor::Tensor;
use crate::Result;

/// A layer with one tensor in and one out (what `Sequential` chains).
pub trait Layer: Module {
    fn forward(&self, x: &Tensor) -> Result<Tensor>;
}

/// Uniform values in `[-bound, bound)`, from a seed (PyTorch's default initializations are
/// uniform with `bound = 1/sqrt(fan_in)`; the values differ, the scale matches).
fn uniform(shape: &[usize], bound: f32, seed: u64) -> tensor::Tensor {
    let t = Tensor::rand_uniform(shape, seed).data();
    let v: Vec<f32> = t.to_vec::<f32>().into_iter().map(|x| x * bound).collect();
    tensor::Tensor::from_vec(v, shape).expect("shape matches")
}

/// `nn.Linear(in_features, out_features, bias=True)`.
#[derive(Debug)]
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

impl Module for Linear {
    fn visit<'a>(&'a self, v: &mut Visitor<'a>) {
        if let Some(w) = &self.weight {
            v.parameter("weight", w);
        }
        if let Some(b) = &self.bias {
            v.parameter("bias", b);
        }
    }
    fn type_name(&self) -> String {
        "torch.nn.modules.linear.Linear".into()
    }
}

impl Layer for Linear {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let _s = Scope::enter(self);
        let w = self.weight.as_ref().expect("weight").tensor();
        F::linear(x, &w, self.bias.as_ref().map(Parameter::tensor).as_ref())
    }
}

/// `nn.Conv2d(in, out, kernel_size, stride, padding, dilation, groups, bias)`.
#[derive(Debug)]
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

impl Module for Conv2d {
    fn visit<'a>(&'a self, v: &mut Visitor<'a>) {
        if let Some(w) = &self.weight {
            v.parameter("weight", w);
        }
        if let Some(b) = &self.bias {
            v.parameter("bias", b);
        }
    }
    fn type_name(&self) -> String {
        "torch.nn.modules.conv.Conv2d".into()
    }
}

impl Layer for Conv2d {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let _s = Scope::enter(self);
        let w = self.weight.as_ref().expect("weight").tensor();
        F::conv2d(x, &w, self.bias.as_ref().map(Parameter::tensor).as_ref(), self.stride, self.padding, self.dilation, self.groups)
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
        BatchNorm {
            weight: Some(Parameter::new(tensor::Tensor::full(&[n], 1.0, DType::F32))),
            bias: Some(Parameter::new(tensor::Tensor::zeros(&[n], DType::F32))),
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
        let p = |b: &Option<Parameter>| b.as_ref().map(Parameter::tensor);
        F::batch_norm(x, t(&self.running_mean).as_ref(), t(&self.running_var).as_ref(), p(&self.weight).as_ref(), p(&self.bias).as_ref(), self.training, self.momentum, self.eps)
    }
}

/// `nn.LayerNorm(normalized_shape)`.
#[derive(Debug)]
pub struct LayerNorm {
    pub weight: Option<Parameter>,
    pub bias: Option<Parameter>,
    pub normalized_shape: Vec<i64>,
    pub eps: f64,
}

impl LayerNorm {
    pub fn new(normalized_shape: &[usize]) -> LayerNorm {
        LayerNorm {
            weight: Some(Parameter::new(tensor::Tensor::full(normalized_shape, 1.0, DType::F32))),
            bias: Some(Parameter::new(tensor::Tensor::zeros(normalized_shape, DType::F32))),
            normalized_shape: normalized_shape.iter().map(|&d| d as i64).collect(),
            eps: 1e-5,
        }
    }
}

impl Module for LayerNorm {
    fn visit<'a>(&'a self, v: &mut Visitor<'a>) {
        if let Some(w) = &self.weight {
            v.parameter("weight", w);
        }
        if let Some(b) = &self.bias {
            v.parameter("bias", b);
        }
    }
    fn type_name(&self) -> String {
        "torch.nn.modules.normalization.LayerNorm".into()
    }
}

impl Layer for LayerNorm {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let _s = Scope::enter(self);
        let p = |b: &Option<Parameter>| b.as_ref().map(Parameter::tensor);
        F::layer_norm(x, &self.normalized_shape, p(&self.weight).as_ref(), p(&self.bias).as_ref(), self.eps)
    }
}

/// `nn.Embedding(num_embeddings, embedding_dim)`.
#[derive(Debug)]
pub struct Embedding {
    pub weight: Option<Parameter>,
}

impl Embedding {
    pub fn new(num: usize, dim: usize, seed: u64) -> Embedding {
        Embedding { weight: Some(Parameter::new(uniform(&[num, dim], 1.0, seed))) }
    }
}

impl Module for Embedding {
    fn visit<'a>(&'a self, v: &mut Visitor<'a>) {
        if let Some(w) = &self.weight {
            v.parameter("weight", w);
        }
    }
    fn type_name(&self) -> String {
        "torch.nn.modules.sparse.Embedding".into()
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
