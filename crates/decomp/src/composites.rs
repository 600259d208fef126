//! Composite operators, each defined once: by its decomposition. An entry holds the operator's
//! PyTorch schema, tags, meta rule and decomposition; [`register`] makes it an operator whose
//! kernel runs the decomposition eagerly ([`DecompCall::run_eagerly`]), and
//! [`crate::default_decompositions`] lowers it with the same function, so what runs and what is
//! lowered cannot differ. These are the `CompositeImplicitAutograd` operators that PyTorch's
//! training IR keeps (`torch.square`, `a & b`, `torch.tile`, ...).
//!
//! Adding one is adding an entry: the schema `torch.ops.aten.NAME.OVERLOAD._schema` prints, the
//! tags (`Pointwise` gives it the broadcasting meta rule), the meta rule where the tags imply
//! none, and the decomposition PyTorch's `torch/_decomp` / `torch/_refs` computes.

use export::retrace::DecompCall;
use export::trace::{call, Arg};
use export::{Error, Result, Tensor};
use ops::names::aten;
use ops::{meta, Args, MetaFn, OpName, Registry, Tag, Value};

use crate::rules::{cpu, factory_kwargs, scalar_tensor, strided};
use crate::DecompFn;
use tensor::DType;

/// One composite operator.
pub struct Composite {
    pub schema: &'static str,
    pub tags: &'static [Tag],
    /// Output sizes from symbolic input sizes, where the tags imply no rule.
    pub meta: Option<MetaFn>,
    pub decompose: DecompFn,
}

const POINTWISE: &[Tag] = &[Tag::Pointwise];

pub const COMPOSITES: &[Composite] = &[
    Composite { schema: "aten::square(Tensor self) -> Tensor", tags: POINTWISE, meta: None, decompose: square },
    Composite { schema: "aten::min.other(Tensor self, Tensor other) -> Tensor", tags: POINTWISE, meta: None, decompose: min_other },
    Composite { schema: "aten::max.other(Tensor self, Tensor other) -> Tensor", tags: POINTWISE, meta: None, decompose: max_other },
    Composite { schema: "aten::__and__.Tensor(Tensor self, Tensor other) -> Tensor", tags: &[], meta: Some(meta::pointwise), decompose: and },
    Composite { schema: "aten::__or__.Tensor(Tensor self, Tensor other) -> Tensor", tags: &[], meta: Some(meta::pointwise), decompose: or },
    Composite { schema: "aten::__xor__.Tensor(Tensor self, Tensor other) -> Tensor", tags: POINTWISE, meta: None, decompose: xor },
    Composite { schema: "aten::broadcast_to(Tensor(a) self, SymInt[] size) -> Tensor(a)", tags: &[], meta: Some(meta::expand), decompose: broadcast_to },
    Composite { schema: "aten::tile(Tensor self, SymInt[] dims) -> Tensor", tags: &[], meta: None, decompose: tile },
    Composite { schema: "aten::outer(Tensor self, Tensor vec2) -> Tensor", tags: &[], meta: None, decompose: outer },
    Composite {
        schema: "aten::where.ScalarOther(Tensor condition, Tensor self, Scalar other) -> Tensor",
        tags: &[],
        meta: Some(meta::pointwise),
        decompose: where_scalar_other,
    },
    Composite {
        schema: "aten::arange.start(Scalar start, Scalar end, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor",
        tags: &[],
        meta: Some(meta::arange),
        decompose: arange_start,
    },
    Composite {
        schema: "aten::to.device(Tensor(a) self, Device device, ScalarType dtype, bool non_blocking=False, bool copy=False, MemoryFormat? memory_format=None) -> Tensor(a)",
        tags: &[],
        meta: Some(meta::same_as_self),
        decompose: to_device,
    },
    Composite {
        schema: "aten::to.dtype_layout(Tensor(a) self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None, bool non_blocking=False, bool copy=False, MemoryFormat? memory_format=None) -> Tensor(a)",
        tags: &[],
        meta: Some(meta::same_as_self),
        decompose: to_dtype_layout,
    },
    Composite { schema: "aten::type_as(Tensor self, Tensor other) -> Tensor", tags: &[], meta: Some(meta::same_as_self), decompose: type_as },
    Composite {
        schema: "aten::new_ones(Tensor self, SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor",
        tags: &[],
        meta: Some(meta::factory),
        decompose: new_ones,
    },
    Composite {
        schema: "aten::new_zeros(Tensor self, SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor",
        tags: &[],
        meta: Some(meta::factory),
        decompose: new_zeros,
    },
    Composite {
        schema: "aten::new_full(Tensor self, SymInt[] size, Scalar fill_value, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor",
        tags: &[],
        meta: Some(meta::factory),
        decompose: new_full,
    },
];

fn op1(name: OpName, args: Vec<Arg>) -> Result<Tensor> {
    call(name, args, vec![])?.into_iter().next().ok_or_else(|| Error(format!("{name} returned nothing")))
}

fn one(t: Tensor) -> Result<Vec<Arg>> {
    Ok(vec![Arg::Tensor(t)])
}

/// `self * self`, as PyTorch's reference computes it: `pow(self, 2)`.
fn square(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(op1(aten::pow_Tensor_Scalar, vec![Arg::Tensor(c.args.tensor("self")?), Arg::Int(2.into())])?)
}

fn binary(c: &DecompCall, op: OpName, other: &str) -> Result<Vec<Arg>> {
    one(op1(op, vec![Arg::Tensor(c.args.tensor("self")?), Arg::Tensor(c.args.tensor(other)?)])?)
}

fn min_other(c: &mut DecompCall) -> Result<Vec<Arg>> {
    binary(c, aten::minimum, "other")
}

fn max_other(c: &mut DecompCall) -> Result<Vec<Arg>> {
    binary(c, aten::maximum, "other")
}

fn and(c: &mut DecompCall) -> Result<Vec<Arg>> {
    binary(c, aten::bitwise_and_Tensor, "other")
}

fn or(c: &mut DecompCall) -> Result<Vec<Arg>> {
    binary(c, aten::bitwise_or_Tensor, "other")
}

fn xor(c: &mut DecompCall) -> Result<Vec<Arg>> {
    binary(c, aten::bitwise_xor_Tensor, "other")
}

fn broadcast_to(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(op1(aten::expand, vec![Arg::Tensor(c.args.tensor("self")?), Arg::Ints(c.args.ints("size")?)])?)
}

/// `repeat` with the repeats padded with leading ones to the tensor's rank (and the tensor
/// viewed with leading ones when there are more repeats than dims), as `torch.tile` does.
fn tile(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let mut dims = c.args.ints("dims")?;
    while dims.len() < x.dim() {
        dims.insert(0, 1.into());
    }
    one(op1(aten::repeat, vec![Arg::Tensor(x), Arg::Ints(dims)])?)
}

/// `self.reshape(-1, 1) * vec2`, as PyTorch's reference computes it.
fn outer(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let n = x.sizes().into_iter().next().ok_or_else(|| Error("outer: self must be a vector, got a 0-dim tensor".into()))?;
    let column = op1(aten::view, vec![Arg::Tensor(x), Arg::Ints(vec![n, 1.into()])])?;
    one(op1(aten::mul_Tensor, vec![Arg::Tensor(column), Arg::Tensor(c.args.tensor("vec2")?)])?)
}

/// `where(condition, self, scalar_tensor(other))`, the scalar in the dtype the result takes:
/// `self`'s, or the default float dtype for a float scalar beside an integer or bool `self`.
fn where_scalar_other(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let other = c.args.get("other")?.clone();
    let dtype = match other {
        Arg::Float(_) if !x.dtype().is_float() => DType::F32,
        _ => x.dtype(),
    };
    let other = scalar_tensor(other, dtype)?;
    one(op1(aten::where_self, vec![Arg::Tensor(c.args.tensor("condition")?), Arg::Tensor(x), Arg::Tensor(other)])?)
}

/// `arange.start_step(start, end, 1)` with the factory arguments passed on.
fn arange_start(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (start, end) = (c.args.get("start")?.clone(), c.args.get("end")?.clone());
    one(call(aten::arange_start_step, vec![start, end], factory_kwargs(c)?)?.remove(0))
}

/// A conversion to `dtype` (the input's own when `None`): the input itself when nothing changes
/// and no copy is asked for, else `_to_copy`, as PyTorch's `to` overloads lower.
fn converted(c: &DecompCall, dtype: Option<DType>) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let copy = matches!(c.args.get("copy"), Ok(Arg::Bool(true)));
    let dtype = dtype.unwrap_or(x.dtype());
    if dtype == x.dtype() && !copy {
        return one(x);
    }
    one(call(aten::_to_copy, vec![Arg::Tensor(x)], vec![("dtype", Arg::Dtype(dtype)), ("device", cpu())])?.remove(0))
}

fn opt_dtype(c: &DecompCall) -> Result<Option<DType>> {
    match c.args.get("dtype")? {
        Arg::Dtype(d) => Ok(Some(*d)),
        Arg::None => Ok(None),
        _ => Err(Error(format!("{}: dtype must be a dtype or None", c.args.op))),
    }
}

fn to_device(c: &mut DecompCall) -> Result<Vec<Arg>> {
    converted(c, opt_dtype(c)?)
}

fn to_dtype_layout(c: &mut DecompCall) -> Result<Vec<Arg>> {
    converted(c, opt_dtype(c)?)
}

fn type_as(c: &mut DecompCall) -> Result<Vec<Arg>> {
    converted(c, Some(c.args.tensor("other")?.dtype()))
}

/// `full(size, value)` in the given dtype or `self`'s, as PyTorch's `new_*` factories lower.
fn new_filled(c: &DecompCall, value: Arg) -> Result<Vec<Arg>> {
    let dtype = opt_dtype(c)?.unwrap_or(c.args.tensor("self")?.dtype());
    let value = match (dtype, value) {
        (DType::Bool, Arg::Int(v)) => Arg::Bool(v.hint() != 0),
        (_, v) => v,
    };
    let kwargs = vec![("dtype", Arg::Dtype(dtype)), ("layout", strided()), ("device", cpu()), ("pin_memory", Arg::Bool(false))];
    one(call(aten::full, vec![Arg::Ints(c.args.ints("size")?), value], kwargs)?.remove(0))
}

fn new_ones(c: &mut DecompCall) -> Result<Vec<Arg>> {
    new_filled(c, Arg::Int(1.into()))
}

fn new_zeros(c: &mut DecompCall) -> Result<Vec<Arg>> {
    new_filled(c, Arg::Int(0.into()))
}

fn new_full(c: &mut DecompCall) -> Result<Vec<Arg>> {
    new_filled(c, c.args.get("fill_value")?.clone())
}

/// Registers every composite (run from [`Registry::global`] through [`ops::Extension`]).
pub fn register(r: &Registry) {
    for c in COMPOSITES {
        let f = c.decompose;
        let kernel = move |a: &Args| -> ops::Result<Value> { DecompCall::run_eagerly(f, a).map_err(|e| ops::Error::msg(e.0)) };
        let registered = match c.meta {
            Some(meta) => r.register_with_meta(c.schema, c.tags, kernel, meta),
            None => r.register(c.schema, c.tags, kernel),
        };
        if let Err(e) = registered {
            panic!("built-in composite operator: {e}");
        }
    }
}

ops::inventory::submit! { ops::Extension(register) }

/// Each composite's decomposition, for the lowering table.
pub(crate) fn decompositions() -> impl Iterator<Item = (String, DecompFn)> {
    COMPOSITES.iter().map(|c| {
        let name = c.schema.split('(').next().unwrap_or(c.schema);
        (ops::canonical_name(name), c.decompose)
    })
}
