//! The user-facing `Tensor`: torch's method names and defaults. Every method runs the
//! operator's kernel on real data; while `export` traces, it is also recorded in the graph.
//!
//! A `Tensor` is a handle, like a Python reference: clones are the same tensor, and an
//! in-place method (`add_`, `relu_`, `index_put_`) changes what every handle sees.

use ops::names::aten;
use ops::OpName;
use std::sync::{Arc, Mutex};

use symbolic::Expr;
use tensor::DType;

use crate::symint::SymInt;
use crate::trace::{call, Arg};
use crate::{Error, Result};

/// Where a tensor lives in the graph being traced.
#[derive(Debug)]
pub(crate) struct Traced {
    /// The graph (frame) the value belongs to: the program or one of its subgraphs.
    pub trace: u64,
    /// The export it belongs to (the same for the program and its subgraphs).
    pub family: u64,
    pub name: String,
    pub sizes: Vec<Expr>,
}

struct Inner {
    data: Mutex<tensor::Tensor>,
    traced: Mutex<Option<Arc<Traced>>>,
}

#[derive(Clone)]
pub struct Tensor(Arc<Inner>);

/// The values, as `print(tensor)` writes them (see `tensor::Tensor`'s `Display`).
impl std::fmt::Display for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.data().fmt(f)
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.data();
        write!(f, "Tensor({:?}, {:?}", d.dtype(), d.shape())?;
        if let Some(t) = self.0.traced.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            write!(f, ", traced as {}", t.name)?;
        }
        write!(f, ")")
    }
}

/// The other operand of a binary operator: a tensor or a Python-style number.
pub enum Operand {
    Tensor(Tensor),
    Int(i64),
    /// A size (`x.size(0)? + 1`), recorded as a symbol when it is one.
    SymInt(SymInt),
    Float(f64),
}

impl From<&Tensor> for Operand {
    fn from(t: &Tensor) -> Operand {
        Operand::Tensor(t.clone())
    }
}
impl From<i64> for Operand {
    fn from(v: i64) -> Operand {
        Operand::Int(v)
    }
}
impl From<SymInt> for Operand {
    fn from(v: SymInt) -> Operand {
        Operand::SymInt(v)
    }
}
impl From<f64> for Operand {
    fn from(v: f64) -> Operand {
        Operand::Float(v)
    }
}

impl Operand {
    fn arg(self) -> Arg {
        match self {
            Operand::Tensor(t) => Arg::Tensor(t),
            Operand::Int(v) => Arg::Int(v.into()),
            Operand::SymInt(v) => Arg::Int(v),
            Operand::Float(v) => Arg::Float(v),
        }
    }
}

fn one(mut v: Vec<Tensor>) -> Result<Tensor> {
    match v.len() {
        1 => Ok(v.pop().expect("one")),
        n => Err(Error::msg(format!("expected one tensor output, got {n}"))),
    }
}

/// A data tensor (`pt2::Tensor`) as a front-end tensor, sharing its storage.
impl From<tensor::Tensor> for Tensor {
    fn from(data: tensor::Tensor) -> Tensor {
        Tensor::eager(data)
    }
}

/// A front-end tensor's data, to run a loaded program with (`module.call(vec![x.into()], ..)`).
impl From<Tensor> for tensor::Tensor {
    fn from(t: Tensor) -> tensor::Tensor {
        t.data()
    }
}
impl From<&Tensor> for tensor::Tensor {
    fn from(t: &Tensor) -> tensor::Tensor {
        t.data()
    }
}
impl From<Tensor> for ops::Value {
    fn from(t: Tensor) -> ops::Value {
        ops::Value::Tensor(t.data())
    }
}
impl From<Tensor> for ir::pytree::PyTree {
    fn from(t: Tensor) -> ir::pytree::PyTree {
        ir::pytree::PyTree::Leaf(ops::Value::Tensor(t.data()))
    }
}
impl From<&Tensor> for ir::pytree::PyTree {
    fn from(t: &Tensor) -> ir::pytree::PyTree {
        ir::pytree::PyTree::Leaf(ops::Value::Tensor(t.data()))
    }
}

fn ints(v: &[i64]) -> Arg {
    Arg::Ints(v.iter().map(|&i| SymInt::from(i)).collect())
}

impl Tensor {
    pub(crate) fn eager(data: tensor::Tensor) -> Tensor {
        Tensor(Arc::new(Inner { data: Mutex::new(data), traced: Mutex::new(None) }))
    }

    pub(crate) fn traced(data: tensor::Tensor, traced: Arc<Traced>) -> Tensor {
        Tensor(Arc::new(Inner { data: Mutex::new(data), traced: Mutex::new(Some(traced)) }))
    }

    /// A tensor over existing data (no copy).
    pub fn from_data(data: tensor::Tensor) -> Tensor {
        Tensor::eager(data)
    }

    /// A float32 tensor from values and a shape.
    pub fn from_vec(values: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
        tensor::Tensor::from_vec(values, shape).map(Tensor::eager)
    }

    /// `torch.tensor(values)` inside `forward`: while tracing, a constant of the program,
    /// copied into the graph as PyTorch records it (`lift_fresh_copy`, `detach_`).
    #[track_caller]
    pub fn constant(values: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
        let t = Tensor::from_vec(values, shape)?;
        if !crate::trace::is_tracing() {
            return Ok(t);
        }
        let copy = t.op(aten::lift_fresh_copy, vec![])?;
        copy.op_(aten::detach_, vec![])
    }

    /// An int64 tensor from values and a shape.
    pub fn from_i64(values: Vec<i64>, shape: &[usize]) -> Result<Tensor> {
        tensor::Tensor::from_vec(values, shape).map(Tensor::eager)
    }

    /// Deterministic pseudo-random float32 values in [-1, 1) (a fixed generator, so examples
    /// and tests are reproducible).
    pub fn rand_uniform(shape: &[usize], seed: u64) -> Tensor {
        if tensor::meta::meta_device_active() {
            return Tensor::eager(tensor::Tensor::meta(shape, DType::F32));
        }
        let n: usize = shape.iter().product();
        let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
        let v: Vec<f32> = (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect();
        Tensor::eager(tensor::Tensor::from_vec(v, shape).expect("shape matches"))
    }

    /// A shapes-only ("meta") tensor: sizes and a dtype, no values — an example input for
    /// exporting without data (see [`tensor::meta`]).
    pub fn meta(shape: &[usize], dtype: DType) -> Tensor {
        Tensor::eager(tensor::Tensor::meta(shape, dtype))
    }

    /// Whether this is a shapes-only tensor, without values.
    pub fn is_meta(&self) -> bool {
        self.data().is_meta()
    }

    /// Reading values: refused for a meta tensor, which has none.
    fn check_has_values(&self, what: &str) -> Result<()> {
        if self.is_meta() {
            return Err(Error::NoValues { what: what.to_string(), shape: self.shape(), dtype: self.dtype() });
        }
        Ok(())
    }

    /// Whether `other` is this same tensor (not an equal one).
    pub fn same_as(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The data (the example's values while tracing).
    pub fn data(&self) -> tensor::Tensor {
        self.0.data.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn trace_info(&self) -> Option<Arc<Traced>> {
        self.0.traced.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The graph value name of this tensor in trace `trace`, if it belongs to it.
    pub(crate) fn name_in(&self, trace: u64) -> Option<String> {
        self.trace_info().filter(|t| t.trace == trace).map(|t| t.name.clone())
    }

    /// Symbolic sizes in export `family` (the concrete ones for a tensor from outside it).
    pub(crate) fn sym_sizes_in(&self, family: u64) -> Vec<Expr> {
        match self.trace_info().filter(|t| t.family == family) {
            Some(t) => t.sizes.clone(),
            None => self.data().shape().iter().map(|&d| Expr::Int(d as i64)).collect(),
        }
    }

    /// After an in-place operator, this tensor is the operator's output in the graph.
    fn become_(&self, out: Tensor) -> Tensor {
        *self.0.data.lock().unwrap_or_else(|e| e.into_inner()) = out.data();
        *self.0.traced.lock().unwrap_or_else(|e| e.into_inner()) = out.trace_info();
        self.clone()
    }

    pub fn dtype(&self) -> DType {
        self.data().dtype()
    }

    /// The example's shape.
    pub fn shape(&self) -> Vec<usize> {
        self.data().shape().to_vec()
    }

    pub fn dim(&self) -> usize {
        self.data().dim()
    }

    /// Size of dim `d` (negative counts from the end): symbolic while tracing a dynamic dim.
    pub fn size(&self, d: i64) -> Result<SymInt> {
        let data = self.data();
        let rank = data.dim() as i64;
        let i = if d < 0 { d + rank } else { d };
        if !(0..rank).contains(&i) {
            return Err(Error::msg(format!("dim {d} out of range for a tensor of rank {rank}")));
        }
        let hint = data.shape()[i as usize] as i64;
        Ok(match self.trace_info() {
            Some(t) => SymInt::symbolic(t.sizes[i as usize].clone(), hint),
            None => SymInt::from(hint),
        })
    }

    /// `x.item()` of an integer tensor. While tracing the value is *unbacked*: a symbol (`u0`)
    /// the program computes, usable as a size once constrained (`check_is_size`), and a
    /// data-dependent error when code branches on it.
    #[track_caller]
    pub fn item_int(&self) -> Result<SymInt> {
        self.scalar_read("item")
    }

    /// `item` as core ATen records it (`_local_scalar_dense`).
    #[track_caller]
    pub fn local_scalar_dense(&self) -> Result<SymInt> {
        self.scalar_read("_local_scalar_dense")
    }

    #[track_caller]
    fn scalar_read(&self, op: &str) -> Result<SymInt> {
        self.check_has_values("item()")?;
        let data = self.data();
        if data.numel() != 1 {
            return Err(Error::msg(format!("item() needs a tensor with one element, got shape {:?}", data.shape())));
        }
        let value = data.to_i64_vec()[0];
        let at = std::panic::Location::caller();
        let traced = self.trace_info();
        Ok(crate::trace::with_tracer(|t| match (t, traced) {
            (Some(t), Some(info)) if info.trace == t.id => SymInt::symbolic(t.record_scalar_read(op, &info.name, at), value),
            _ => SymInt::from(value),
        }))
    }

    /// `x.item()` of a float tensor (see [`crate::symint::SymFloat`]).
    pub fn item_f64(&self) -> Result<crate::symint::SymFloat> {
        self.check_has_values("item()")?;
        let data = self.data();
        if data.numel() != 1 {
            return Err(Error::msg(format!("item() needs a tensor with one element, got shape {:?}", data.shape())));
        }
        Ok(crate::symint::SymFloat::new(data.to_f64_vec()[0], self.trace_info().is_some() && crate::trace::is_tracing()))
    }

    /// The values (as f64). While tracing this is refused (strict and non-strict alike): a
    /// program that used values read into host code would keep the example's values for every
    /// input. Branch with `cond`, or use [`Tensor::specialize_values`] to keep them on purpose.
    #[track_caller]
    pub fn values(&self) -> Result<Vec<f64>> {
        self.check_has_values("values()")?;
        if self.trace_info().is_some() && crate::trace::is_tracing() {
            let at = std::panic::Location::caller();
            if crate::draft::drafting() {
                // a draft keeps the example's values, checked when the program runs
                let message = crate::trace::host_read("values()", at).err().map(|e| e.to_string()).unwrap_or_default();
                crate::draft::record(
                    crate::draft::ProblemKind::HostRead,
                    message,
                    Some(format!("{}:{}", at.file(), at.line())),
                    vec!["branch inside the program with `cond`, keep the computation in tensors, or call `Tensor::specialize_values()` to keep the example's values on purpose".into()],
                );
                return self.specialize_values_at(at);
            }
            crate::trace::host_read("values()", at)?;
        }
        Ok(self.data().to_f64_vec())
    }

    /// The values, read into host code on purpose. While tracing, the program is specialized to
    /// the example's values and records a runtime check that its input has them — as PyTorch
    /// records `torch._check`: `aten._assert_async.msg(all(eq(x, example)))` — so the saved
    /// program refuses any input on which the host code could have gone another way (pt2's
    /// module and PyTorch's both raise the check's message).
    #[track_caller]
    pub fn specialize_values(&self) -> Result<Vec<f64>> {
        self.check_has_values("specialize_values()")?;
        self.specialize_values_at(std::panic::Location::caller())
    }

    // the nodes it records name the user's line: the caller's caller, through `values()` or
    // `specialize_values()`
    #[track_caller]
    fn specialize_values_at(&self, at: &std::panic::Location) -> Result<Vec<f64>> {
        let values = self.data().to_f64_vec();
        if let Some(info) = self.trace_info().filter(|_| crate::trace::is_tracing()) {
            let example = Tensor::eager(self.data().deep_clone());
            let example = example.op(aten::lift_fresh_copy, vec![])?.op_(aten::detach_, vec![])?;
            let same = self.op(aten::eq_Tensor, vec![Arg::Tensor(example)])?.op(aten::all, vec![])?;
            let message = format!(
                "{}'s values were specialized to the example's at {}:{} (Tensor::specialize_values); this input's differ",
                info.name,
                at.file(),
                at.line()
            );
            call(aten::_assert_async_msg, vec![Arg::Tensor(same), Arg::Str(message)], vec![])?;
        }
        Ok(values)
    }

    /// Whether this value's data can be viewed with `sizes` (one of them -1, inferred) without
    /// a copy: contiguous, or strided so that the new dims fold onto the old.
    pub fn can_view(&self, sizes: &[SymInt]) -> bool {
        let data = self.data();
        let known: usize = sizes.iter().filter(|s| s.hint() >= 0).map(|s| s.hint() as usize).product();
        let hints: Vec<usize> = sizes.iter().map(|s| if s.hint() < 0 { data.numel().checked_div(known).unwrap_or(0) } else { s.hint() as usize }).collect();
        data.is_contiguous() || tensor::shape::view_strides(data.shape(), data.strides(), &hints).is_some()
    }

    /// Every size, symbolic where dynamic.
    pub fn sizes(&self) -> Vec<SymInt> {
        (0..self.dim() as i64).map(|d| self.size(d).expect("dim in range")).collect()
    }

    #[track_caller]
    fn op(&self, name: OpName, rest: Vec<Arg>) -> Result<Tensor> {
        let mut args = vec![Arg::Tensor(self.clone())];
        args.extend(rest);
        one(call(name, args, vec![])?)
    }

    #[track_caller]
    fn op_(&self, name: OpName, rest: Vec<Arg>) -> Result<Tensor> {
        let out = self.op(name, rest)?;
        Ok(self.become_(out))
    }

    // ---- arithmetic (aten.add.Tensor etc.; numbers are passed as PyTorch passes them) ----

    #[track_caller]
    pub fn add(&self, other: impl Into<Operand>) -> Result<Tensor> {
        self.op(aten::add_Tensor, vec![other.into().arg()])
    }
    #[track_caller]
    pub fn sub(&self, other: impl Into<Operand>) -> Result<Tensor> {
        self.op(aten::sub_Tensor, vec![other.into().arg()])
    }
    #[track_caller]
    pub fn mul(&self, other: impl Into<Operand>) -> Result<Tensor> {
        self.op(aten::mul_Tensor, vec![other.into().arg()])
    }
    #[track_caller]
    pub fn div(&self, other: impl Into<Operand>) -> Result<Tensor> {
        self.op(aten::div_Tensor, vec![other.into().arg()])
    }
    #[track_caller]
    pub fn pow(&self, exponent: impl Into<Operand>) -> Result<Tensor> {
        match exponent.into() {
            Operand::Tensor(t) => self.op(aten::pow_Tensor_Tensor, vec![Arg::Tensor(t)]),
            other => self.op(aten::pow_Tensor_Scalar, vec![other.arg()]),
        }
    }
    #[track_caller]
    pub fn add_(&self, other: impl Into<Operand>) -> Result<Tensor> {
        self.op_(aten::add__Tensor, vec![other.into().arg()])
    }
    #[track_caller]
    pub fn mul_(&self, other: impl Into<Operand>) -> Result<Tensor> {
        self.op_(aten::mul__Tensor, vec![other.into().arg()])
    }
    #[track_caller]
    pub fn neg(&self) -> Result<Tensor> {
        self.op(aten::neg, vec![])
    }
    #[track_caller]
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        self.op(aten::matmul, vec![other.into()])
    }
    /// A comparison: the `.Tensor` overload against a tensor, `.Scalar` against a number.
    #[track_caller]
    fn compare(&self, (with_tensor, with_scalar): (OpName, OpName), other: impl Into<Operand>) -> Result<Tensor> {
        match other.into() {
            Operand::Tensor(t) => self.op(with_tensor, vec![Arg::Tensor(t)]),
            o => self.op(with_scalar, vec![o.arg()]),
        }
    }
    #[track_caller]
    pub fn eq(&self, other: impl Into<Operand>) -> Result<Tensor> {
        self.compare((aten::eq_Tensor, aten::eq_Scalar), other)
    }
    #[track_caller]
    pub fn gt(&self, other: impl Into<Operand>) -> Result<Tensor> {
        self.compare((aten::gt_Tensor, aten::gt_Scalar), other)
    }
    #[track_caller]
    pub fn lt(&self, other: impl Into<Operand>) -> Result<Tensor> {
        self.compare((aten::lt_Tensor, aten::lt_Scalar), other)
    }

    // ---- element-wise functions ----

    #[track_caller]
    pub fn relu(&self) -> Result<Tensor> {
        self.op(aten::relu, vec![])
    }
    #[track_caller]
    pub fn relu_(&self) -> Result<Tensor> {
        self.op_(aten::relu_, vec![])
    }
    #[track_caller]
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.op(aten::sigmoid, vec![])
    }
    #[track_caller]
    pub fn tanh(&self) -> Result<Tensor> {
        self.op(aten::tanh, vec![])
    }
    #[track_caller]
    pub fn sin(&self) -> Result<Tensor> {
        self.op(aten::sin, vec![])
    }
    #[track_caller]
    pub fn cos(&self) -> Result<Tensor> {
        self.op(aten::cos, vec![])
    }
    #[track_caller]
    pub fn exp(&self) -> Result<Tensor> {
        self.op(aten::exp, vec![])
    }
    #[track_caller]
    pub fn sqrt(&self) -> Result<Tensor> {
        self.op(aten::sqrt, vec![])
    }
    #[track_caller]
    pub fn abs(&self) -> Result<Tensor> {
        self.op(aten::abs, vec![])
    }
    #[track_caller]
    pub fn softmax(&self, dim: i64) -> Result<Tensor> {
        self.op(aten::softmax_int, vec![dim.into()])
    }
    #[track_caller]
    pub fn log_softmax(&self, dim: i64) -> Result<Tensor> {
        self.op(aten::log_softmax_int, vec![dim.into()])
    }
    #[track_caller]
    pub fn masked_fill(&self, mask: &Tensor, value: f64) -> Result<Tensor> {
        self.op(aten::masked_fill_Scalar, vec![mask.into(), value.into()])
    }
    #[track_caller]
    pub fn triu(&self, diagonal: i64) -> Result<Tensor> {
        if diagonal == 0 {
            self.op(aten::triu, vec![])
        } else {
            self.op(aten::triu, vec![diagonal.into()])
        }
    }
    #[track_caller]
    pub fn tril(&self, diagonal: i64) -> Result<Tensor> {
        if diagonal == 0 {
            self.op(aten::tril, vec![])
        } else {
            self.op(aten::tril, vec![diagonal.into()])
        }
    }
    #[track_caller]
    pub fn clone_(&self) -> Result<Tensor> {
        self.op(aten::clone, vec![])
    }
    #[track_caller]
    pub fn contiguous(&self) -> Result<Tensor> {
        self.op(aten::contiguous, vec![])
    }
    /// `x.to(dtype)`.
    #[track_caller]
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        // as PyTorch's export records `.to(...)`: the source's metadata asserted first
        if crate::trace::is_tracing() {
            let strided = Arg::Literal(ops::Value::Layout("torch.strided".into()), ir::schema::Argument::AsLayout(ir::schema::Layout(7)));
            let kwargs = vec![("dtype", Arg::Dtype(self.dtype())), ("device", Arg::Device("cpu".into())), ("layout", strided)];
            call(aten::_assert_tensor_metadata, vec![Arg::Tensor(self.clone())], kwargs)?;
        }
        self.op(aten::to_dtype, vec![Arg::Dtype(dtype)])
    }

    #[track_caller]
    pub fn log(&self) -> Result<Tensor> {
        self.op(aten::log, vec![])
    }
    #[track_caller]
    pub fn rsqrt(&self) -> Result<Tensor> {
        self.op(aten::rsqrt, vec![])
    }
    #[track_caller]
    pub fn reciprocal(&self) -> Result<Tensor> {
        self.op(aten::reciprocal, vec![])
    }
    #[track_caller]
    pub fn floor(&self) -> Result<Tensor> {
        self.op(aten::floor, vec![])
    }
    #[track_caller]
    pub fn ceil(&self) -> Result<Tensor> {
        self.op(aten::ceil, vec![])
    }
    #[track_caller]
    pub fn erf(&self) -> Result<Tensor> {
        self.op(aten::erf, vec![])
    }
    #[track_caller]
    pub fn sign(&self) -> Result<Tensor> {
        self.op(aten::sign, vec![])
    }
    #[track_caller]
    pub fn logical_not(&self) -> Result<Tensor> {
        self.op(aten::logical_not, vec![])
    }
    /// `x.clamp(min, max)` (either bound may be absent).
    #[track_caller]
    pub fn clamp(&self, min: Option<f64>, max: Option<f64>) -> Result<Tensor> {
        let b = |v: Option<f64>| v.map(Arg::Float).unwrap_or(Arg::None);
        self.op(aten::clamp, vec![b(min), b(max)])
    }
    #[track_caller]
    pub fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        self.op(aten::maximum, vec![other.into()])
    }
    #[track_caller]
    pub fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        self.op(aten::minimum, vec![other.into()])
    }
    #[track_caller]
    pub fn cumsum(&self, dim: i64) -> Result<Tensor> {
        self.op(aten::cumsum, vec![dim.into()])
    }
    #[track_caller]
    pub fn flip(&self, dims: &[i64]) -> Result<Tensor> {
        self.op(aten::flip, vec![ints(dims)])
    }
    #[track_caller]
    pub fn index_select(&self, dim: i64, index: &Tensor) -> Result<Tensor> {
        self.op(aten::index_select, vec![dim.into(), index.into()])
    }
    #[track_caller]
    pub fn gather(&self, dim: i64, index: &Tensor) -> Result<Tensor> {
        self.op(aten::gather, vec![dim.into(), index.into()])
    }
    /// `x[indices]` with index tensors (`None` keeps a dim whole): `aten.index.Tensor`.
    #[track_caller]
    pub fn index(&self, indices: &[Option<&Tensor>]) -> Result<Tensor> {
        self.op(aten::index_Tensor, vec![Arg::OptTensors(indices.iter().map(|t| t.cloned()).collect())])
    }
    /// `torch.nonzero(x)`: the indices of non-zero elements; their number is read from data.
    #[track_caller]
    pub fn nonzero(&self) -> Result<Tensor> {
        self.op(aten::nonzero, vec![])
    }
    #[track_caller]
    pub fn masked_select(&self, mask: &Tensor) -> Result<Tensor> {
        self.op(aten::masked_select, vec![mask.into()])
    }
    /// The `k` largest (or smallest) along `dim`: values and indices.
    #[track_caller]
    pub fn topk(&self, k: i64, dim: i64, largest: bool) -> Result<(Tensor, Tensor)> {
        let mut out = call(aten::topk, vec![Arg::Tensor(self.clone()), k.into(), dim.into(), largest.into()], vec![])?;
        let i = out.pop().ok_or_else(|| Error::msg("topk returned nothing"))?;
        Ok((out.pop().ok_or_else(|| Error::msg("topk returned one tensor"))?, i))
    }
    #[track_caller]
    pub fn sort(&self, dim: i64, descending: bool) -> Result<(Tensor, Tensor)> {
        let mut out = call(aten::sort, vec![Arg::Tensor(self.clone()), dim.into(), descending.into()], vec![])?;
        let i = out.pop().ok_or_else(|| Error::msg("sort returned nothing"))?;
        Ok((out.pop().ok_or_else(|| Error::msg("sort returned one tensor"))?, i))
    }

    // ---- reductions ----

    /// `x.max(dim)`: values and indices.
    #[track_caller]
    pub fn max_dim(&self, dim: i64, keepdim: bool) -> Result<(Tensor, Tensor)> {
        let mut out = call(aten::max_dim, vec![Arg::Tensor(self.clone()), dim.into(), keepdim.into()], vec![])?;
        let i = out.pop().ok_or_else(|| Error::msg("max returned nothing"))?;
        Ok((out.pop().ok_or_else(|| Error::msg("max returned one tensor"))?, i))
    }
    #[track_caller]
    pub fn prod(&self) -> Result<Tensor> {
        self.op(aten::prod, vec![])
    }
    /// `x.var(dims, correction, keepdim)`.
    #[track_caller]
    pub fn var(&self, dims: &[i64], correction: i64, keepdim: bool) -> Result<Tensor> {
        call(aten::var_correction, vec![Arg::Tensor(self.clone()), ints(dims)], vec![("correction", Arg::Int(correction.into())), ("keepdim", keepdim.into())])?
            .pop()
            .ok_or_else(|| Error::msg("var returned nothing"))
    }
    #[track_caller]
    pub fn any_dim(&self, dim: i64, keepdim: bool) -> Result<Tensor> {
        self.op(aten::any_dim, vec![dim.into(), keepdim.into()])
    }

    #[track_caller]
    pub fn sum(&self) -> Result<Tensor> {
        self.op(aten::sum, vec![])
    }
    #[track_caller]
    pub fn sum_dim(&self, dims: &[i64], keepdim: bool) -> Result<Tensor> {
        if keepdim {
            self.op(aten::sum_dim_IntList, vec![ints(dims), keepdim.into()])
        } else {
            self.op(aten::sum_dim_IntList, vec![ints(dims)])
        }
    }
    #[track_caller]
    pub fn mean_dim(&self, dims: &[i64], keepdim: bool) -> Result<Tensor> {
        if keepdim {
            self.op(aten::mean_dim, vec![ints(dims), keepdim.into()])
        } else {
            self.op(aten::mean_dim, vec![ints(dims)])
        }
    }
    #[track_caller]
    pub fn argmax(&self, dim: Option<i64>, keepdim: bool) -> Result<Tensor> {
        match (dim, keepdim) {
            (None, false) => self.op(aten::argmax, vec![]),
            (Some(d), false) => self.op(aten::argmax, vec![d.into()]),
            (d, true) => self.op(aten::argmax, vec![d.map(Arg::from).unwrap_or(Arg::None), true.into()]),
        }
    }
    #[track_caller]
    pub fn amax(&self, dims: &[i64], keepdim: bool) -> Result<Tensor> {
        self.op(aten::amax, vec![ints(dims), keepdim.into()])
    }

    // ---- shapes and views ----

    /// `x.view(sizes)`, sizes may be symbolic (`x.size(0)`) and one may be -1.
    #[track_caller]
    pub fn view(&self, sizes: &[SymInt]) -> Result<Tensor> {
        self.op(aten::view, vec![Arg::Ints(sizes.to_vec())])
    }
    #[track_caller]
    pub fn reshape(&self, sizes: &[SymInt]) -> Result<Tensor> {
        self.op(aten::reshape, vec![Arg::Ints(sizes.to_vec())])
    }
    #[track_caller]
    pub fn transpose(&self, dim0: i64, dim1: i64) -> Result<Tensor> {
        self.op(aten::transpose_int, vec![dim0.into(), dim1.into()])
    }
    #[track_caller]
    pub fn t(&self) -> Result<Tensor> {
        self.op(aten::t, vec![])
    }
    #[track_caller]
    pub fn permute(&self, dims: &[i64]) -> Result<Tensor> {
        self.op(aten::permute, vec![ints(dims)])
    }
    #[track_caller]
    pub fn unsqueeze(&self, dim: i64) -> Result<Tensor> {
        self.op(aten::unsqueeze, vec![dim.into()])
    }
    #[track_caller]
    pub fn squeeze(&self, dim: i64) -> Result<Tensor> {
        self.op(aten::squeeze_dim, vec![dim.into()])
    }
    #[track_caller]
    pub fn flatten(&self, start_dim: i64, end_dim: i64) -> Result<Tensor> {
        self.op(aten::flatten_using_ints, vec![start_dim.into(), end_dim.into()])
    }
    #[track_caller]
    pub fn expand(&self, sizes: &[SymInt]) -> Result<Tensor> {
        self.op(aten::expand, vec![Arg::Ints(sizes.to_vec())])
    }
    #[track_caller]
    pub fn repeat(&self, repeats: &[i64]) -> Result<Tensor> {
        self.op(aten::repeat, vec![ints(repeats)])
    }
    /// `x[.., start:end, ..]` along `dim`, recorded as Python indexing records it: a missing
    /// start is 0 and a missing end is the largest int64.
    #[track_caller]
    pub fn slice(&self, dim: i64, start: Option<SymInt>, end: Option<SymInt>) -> Result<Tensor> {
        self.slice_step(dim, start, end, 1)
    }
    /// `x[.., start:end:step, ..]` along `dim` (`step` ≥ 1; recorded only when it is not 1, as
    /// Python indexing records it).
    #[track_caller]
    pub fn slice_step(&self, dim: i64, start: Option<SymInt>, end: Option<SymInt>, step: i64) -> Result<Tensor> {
        let start = start.unwrap_or_else(|| SymInt::from(0));
        let end = end.unwrap_or_else(|| SymInt::from(i64::MAX));
        let mut args = vec![dim.into(), Arg::Int(start), Arg::Int(end)];
        if step != 1 {
            args.push(step.into());
        }
        self.op(aten::slice_Tensor, args)
    }
    #[track_caller]
    pub fn select(&self, dim: i64, index: i64) -> Result<Tensor> {
        self.op(aten::select_int, vec![dim.into(), index.into()])
    }
    #[track_caller]
    pub fn chunk(&self, chunks: i64, dim: i64) -> Result<Vec<Tensor>> {
        call(aten::chunk, vec![Arg::Tensor(self.clone()), chunks.into(), dim.into()], vec![])
    }
    #[track_caller]
    pub fn split(&self, split_size: i64, dim: i64) -> Result<Vec<Tensor>> {
        call(aten::split_Tensor, vec![Arg::Tensor(self.clone()), split_size.into(), dim.into()], vec![])
    }
    /// `x[indices] = values` (`None` indices take the whole dim), in place.
    #[track_caller]
    pub fn index_put_(&self, indices: &[Option<&Tensor>], values: &Tensor) -> Result<Tensor> {
        let idx = Arg::OptTensors(indices.iter().map(|t| t.cloned()).collect());
        self.op_(aten::index_put_, vec![idx, values.into()])
    }
}

/// `torch.cat`.
#[track_caller]
pub fn cat(tensors: &[&Tensor], dim: i64) -> Result<Tensor> {
    let list = Arg::Tensors(tensors.iter().map(|t| (*t).clone()).collect());
    if dim == 0 {
        one(call(aten::cat, vec![list], vec![])?)
    } else {
        one(call(aten::cat, vec![list, dim.into()], vec![])?)
    }
}

/// `torch.stack`.
#[track_caller]
pub fn stack(tensors: &[&Tensor], dim: i64) -> Result<Tensor> {
    let list = Arg::Tensors(tensors.iter().map(|t| (*t).clone()).collect());
    one(call(aten::stack, vec![list, dim.into()], vec![])?)
}

/// `torch.where(cond, a, b)`.
#[track_caller]
pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    one(call(aten::where_self, vec![cond.into(), a.into(), b.into()], vec![])?)
}

/// `torch.arange(start, end, step)` of int64.
#[track_caller]
pub fn arange(start: impl Into<SymInt>, end: impl Into<SymInt>, step: i64) -> Result<Tensor> {
    let args = vec![Arg::Int(start.into()), Arg::Int(end.into()), step.into()];
    one(call(aten::arange_start_step, args, vec![("device", Arg::Device("cpu".into())), ("pin_memory", Arg::Bool(false))])?)
}

/// `torch.full(size, value, dtype=...)`.
#[track_caller]
pub fn full(size: &[SymInt], value: f64, dtype: DType) -> Result<Tensor> {
    one(call(aten::full, vec![Arg::Ints(size.to_vec()), value.into()], vec![("dtype", Arg::Dtype(dtype)), ("device", Arg::Device("cpu".into())), ("pin_memory", Arg::Bool(false))])?)
}

/// `torch.ones(size, dtype=...)`.
#[track_caller]
pub fn ones(size: &[SymInt], dtype: DType) -> Result<Tensor> {
    factory(aten::ones, size, dtype)
}

/// `torch.zeros(size, dtype=...)`.
#[track_caller]
pub fn zeros(size: &[SymInt], dtype: DType) -> Result<Tensor> {
    factory(aten::zeros, size, dtype)
}

#[track_caller]
fn factory(op: OpName, size: &[SymInt], dtype: DType) -> Result<Tensor> {
    one(call(op, vec![Arg::Ints(size.to_vec())], vec![("dtype", Arg::Dtype(dtype)), ("device", Arg::Device("cpu".into())), ("pin_memory", Arg::Bool(false))])?)
}
