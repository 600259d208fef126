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
use export::{Error, Result, SymInt, Tensor};
use ops::names::aten;
use ops::{meta, Args, DtypeRule, MetaCall, MetaFn, OpName, Registry, Tag, Value};
use symbolic::Expr;

use crate::rules::{cpu, factory_kwargs, permute, product, reshape_to, scalar_tensor, strided};

mod fft;
mod losses;
mod nn;
mod linalg;
mod math;
mod shape;
use crate::DecompFn;
use tensor::DType;

/// One composite operator.
pub struct Composite {
    pub schema: &'static str,
    pub tags: &'static [Tag],
    /// Output sizes from symbolic input sizes, where the tags imply no rule.
    pub meta: Option<MetaFn>,
    /// Output dtypes, where the schema and tags imply another rule ([`ops::dtype`]).
    pub dtype: Option<DtypeRule>,
    pub decompose: DecompFn,
}

impl Composite {
    /// The overload's qualified name (`aten::square.default`), read off its schema.
    pub fn name(&self) -> String {
        ops::canonical_name(self.schema.split('(').next().unwrap_or(self.schema))
    }
}

const POINTWISE: &[Tag] = &[Tag::Pointwise];

pub const COMPOSITES: &[Composite] = &[
    Composite { schema: "aten::square(Tensor self) -> Tensor", tags: POINTWISE, meta: None, dtype: None, decompose: square },
    Composite { schema: "aten::min.other(Tensor self, Tensor other) -> Tensor", tags: POINTWISE, meta: None, dtype: None, decompose: min_other },
    Composite { schema: "aten::max.other(Tensor self, Tensor other) -> Tensor", tags: POINTWISE, meta: None, dtype: None, decompose: max_other },
    Composite { schema: "aten::__and__.Tensor(Tensor self, Tensor other) -> Tensor", tags: &[], meta: Some(meta::pointwise), dtype: Some(DtypeRule::Promote), decompose: and },
    Composite { schema: "aten::__or__.Tensor(Tensor self, Tensor other) -> Tensor", tags: &[], meta: Some(meta::pointwise), dtype: Some(DtypeRule::Promote), decompose: or },
    Composite { schema: "aten::__xor__.Tensor(Tensor self, Tensor other) -> Tensor", tags: POINTWISE, meta: None, dtype: None, decompose: xor },
    Composite { schema: "aten::broadcast_to(Tensor(a) self, SymInt[] size) -> Tensor(a)", tags: &[], meta: Some(meta::expand), dtype: None, decompose: broadcast_to },
    Composite { schema: "aten::tile(Tensor self, SymInt[] dims) -> Tensor", tags: &[], meta: Some(tile_meta), dtype: None, decompose: tile },
    Composite { schema: "aten::outer(Tensor self, Tensor vec2) -> Tensor", tags: &[], meta: Some(outer_meta), dtype: Some(DtypeRule::Promote), decompose: outer },
    Composite {
        schema: "aten::where.ScalarOther(Tensor condition, Tensor self, Scalar other) -> Tensor",
        tags: &[],
        meta: Some(meta::pointwise),
        dtype: Some(DtypeRule::Custom(where_dtype)), decompose: where_scalar_other,
    },
    Composite {
        schema: "aten::where.ScalarSelf(Tensor condition, Scalar self, Tensor other) -> Tensor",
        tags: &[],
        meta: Some(meta::pointwise),
        dtype: Some(DtypeRule::Custom(where_dtype)), decompose: where_scalar_other,
    },
    Composite {
        schema: "aten::arange.start(Scalar start, Scalar end, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor",
        tags: &[],
        meta: Some(meta::arange),
        dtype: Some(DtypeRule::Custom(ops::dtype::of_numbers)), decompose: arange_start,
    },
    Composite {
        schema: "aten::to.device(Tensor(a) self, Device device, ScalarType dtype, bool non_blocking=False, bool copy=False, MemoryFormat? memory_format=None) -> Tensor(a)",
        tags: &[],
        meta: Some(meta::same_as_self),
        dtype: None, decompose: to_device,
    },
    Composite {
        schema: "aten::to.dtype_layout(Tensor(a) self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None, bool non_blocking=False, bool copy=False, MemoryFormat? memory_format=None) -> Tensor(a)",
        tags: &[],
        meta: Some(meta::same_as_self),
        dtype: None, decompose: to_dtype_layout,
    },
    Composite { schema: "aten::type_as(Tensor self, Tensor other) -> Tensor", tags: &[], meta: Some(meta::same_as_self), dtype: Some(DtypeRule::Custom(dtype_of_other)), decompose: type_as },
    Composite {
        schema: "aten::new_ones(Tensor self, SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor",
        tags: &[],
        meta: Some(meta::factory),
        dtype: None, decompose: new_ones,
    },
    Composite {
        schema: "aten::new_zeros(Tensor self, SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor",
        tags: &[],
        meta: Some(meta::factory),
        dtype: None, decompose: new_zeros,
    },
    Composite {
        schema: "aten::new_full(Tensor self, SymInt[] size, Scalar fill_value, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor",
        tags: &[],
        meta: Some(meta::factory),
        dtype: None, decompose: new_full,
    },
    Composite {
        schema: "aten::einsum(str equation, Tensor[] tensors, *, int[]? path=None) -> Tensor",
        tags: &[],
        meta: Some(crate::einsum::einsum_meta),
        dtype: None, decompose: crate::einsum::einsum,
    },
    Composite { schema: "aten::swapaxes(Tensor(a) self, int axis0, int axis1) -> Tensor(a)", tags: &[], meta: Some(swapped_meta), dtype: None, decompose: swapaxes },
    Composite { schema: "aten::swapdims(Tensor(a) self, int dim0, int dim1) -> Tensor(a)", tags: &[], meta: Some(swapped_meta), dtype: None, decompose: swapdims },
    Composite { schema: "aten::roll(Tensor self, SymInt[1] shifts, int[1] dims=[]) -> Tensor", tags: &[], meta: Some(meta::same_as_self), dtype: None, decompose: roll },
    Composite {
        schema: "aten::pad(Tensor self, SymInt[] pad, str mode=\"constant\", float? value=None) -> Tensor",
        tags: &[],
        meta: Some(meta::pad),
        dtype: None, decompose: pad,
    },
    Composite { schema: "aten::diff(Tensor self, int n=1, int dim=-1, Tensor? prepend=None, Tensor? append=None) -> Tensor", tags: &[], meta: Some(diff_meta), dtype: None, decompose: diff },
    Composite { schema: "aten::isfinite(Tensor self) -> Tensor", tags: POINTWISE, meta: None, dtype: Some(DtypeRule::Bool), decompose: isfinite },
    Composite { schema: "aten::selu(Tensor self) -> Tensor", tags: POINTWISE, meta: None, dtype: None, decompose: selu },
    Composite {
        schema: "aten::rms_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None, float? eps=None) -> Tensor",
        tags: &[],
        meta: Some(meta::same_as_input),
        dtype: None, decompose: rms_norm,
    },
    Composite { schema: "aten::argsort(Tensor self, int dim=-1, bool descending=False) -> Tensor", tags: &[], meta: Some(meta::same_as_self), dtype: Some(DtypeRule::Long), decompose: argsort },
    Composite { schema: "aten::ravel(Tensor(a) self) -> Tensor(a)", tags: &[], meta: Some(ravel_meta), dtype: None, decompose: ravel },
    Composite { schema: "aten::take_along_dim(Tensor self, Tensor indices, int? dim=None) -> Tensor", tags: &[], meta: Some(take_along_dim_meta), dtype: None, decompose: take_along_dim },
    Composite { schema: "aten::log_sigmoid(Tensor self) -> Tensor", tags: &[], meta: Some(meta::same_as_self), dtype: None, decompose: log_sigmoid },
    Composite {
        schema: "aten::repeat_interleave.self_int(Tensor self, SymInt repeats, int? dim=None, *, SymInt? output_size=None) -> Tensor",
        tags: &[],
        meta: Some(repeat_interleave_meta),
        dtype: None, decompose: repeat_interleave_int,
    },
    Composite { schema: "aten::std.dim(Tensor self, int[1]? dim, bool unbiased=True, bool keepdim=False) -> Tensor", tags: &[], meta: Some(meta::reduction), dtype: None, decompose: std_dim },
    Composite {
        schema: "aten::var_mean.dim(Tensor self, int[1]? dim, bool unbiased=True, bool keepdim=False) -> (Tensor, Tensor)",
        tags: &[],
        meta: Some(meta::reduction_pair),
        dtype: None, decompose: var_mean_dim,
    },
    Composite { schema: "aten::kron(Tensor self, Tensor other) -> Tensor", tags: &[], meta: Some(kron_meta), dtype: Some(DtypeRule::Promote), decompose: kron },
    Composite { schema: "aten::cosine_similarity(Tensor x1, Tensor x2, int dim=1, float eps=1e-08) -> Tensor", tags: &[], meta: Some(broadcast_reduced_meta), dtype: Some(DtypeRule::Promote), decompose: cosine_similarity },
];

fn op1(name: OpName, args: Vec<Arg>) -> Result<Tensor> {
    call(name, args, vec![])?.into_iter().next().ok_or_else(|| Error::msg(format!("{name} returned nothing")))
}

fn one(t: Tensor) -> Result<Vec<Arg>> {
    Ok(vec![Arg::Tensor(t)])
}

/// `d` counted from the end when negative, checked against `rank`, with PyTorch's message.
fn wrap_dim(op: &str, d: i64, rank: i64) -> Result<i64> {
    let wrapped = if d < 0 { d + rank } else { d };
    if (0..rank).contains(&wrapped) {
        Ok(wrapped)
    } else {
        Err(Error::msg(format!("{op}: dimension out of range (expected to be in range of [{}, {}], but got {d})", -rank, rank - 1)))
    }
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
    let n = x.sizes().into_iter().next().ok_or_else(|| Error::msg("outer: self must be a vector, got a 0-dim tensor"))?;
    let column = op1(aten::view, vec![Arg::Tensor(x), Arg::Ints(vec![n, 1.into()])])?;
    one(op1(aten::mul_Tensor, vec![Arg::Tensor(column), Arg::Tensor(c.args.tensor("vec2")?)])?)
}

/// `where(condition, self, scalar_tensor(other))`, the scalar in the dtype the result takes:
/// `self`'s, or the default float dtype for a float scalar beside an integer or bool `self`.
/// `where(condition, self, Scalar other)` and `where(condition, Scalar self, other)`: the number
/// becomes a 0-d tensor of the tensor's dtype (float32 when a float meets integers).
fn where_scalar_other(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let scalar_first = c.args.op.ends_with("ScalarSelf");
    let (tensor_param, scalar_param) = if scalar_first { ("other", "self") } else { ("self", "other") };
    let x = c.args.tensor(tensor_param)?;
    let number = c.args.get(scalar_param)?.clone();
    let dtype = match number {
        Arg::Float(_) if !x.dtype().is_float() => DType::F32,
        _ => x.dtype(),
    };
    let number = scalar_tensor(number, dtype)?;
    let (a, b) = if scalar_first { (number, x) } else { (x, number) };
    one(op1(aten::where_self, vec![Arg::Tensor(c.args.tensor("condition")?), Arg::Tensor(a), Arg::Tensor(b)])?)
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
        _ => Err(Error::msg(format!("{}: dtype must be a dtype or None", c.args.op))),
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

/// `self` with two dims exchanged, as the one `permute` PyTorch lowers `transpose` to.
fn swapped(c: &DecompCall, a: &str, b: &str) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let rank = x.dim().max(1) as i64;
    let (a, b) = (wrap_dim(&c.args.op, c.args.int(a)?.hint(), rank)?, wrap_dim(&c.args.op, c.args.int(b)?.hint(), rank)?);
    let mut order: Vec<i64> = (0..x.dim() as i64).collect();
    if x.dim() > 0 {
        order.swap(a as usize, b as usize);
    }
    one(permute(&x, &order)?)
}

fn swapaxes(c: &mut DecompCall) -> Result<Vec<Arg>> {
    swapped(c, "axis0", "axis1")
}

fn swapdims(c: &mut DecompCall) -> Result<Vec<Arg>> {
    swapped(c, "dim0", "dim1")
}

/// The sizes of `self` with the two named dims exchanged.
fn swapped_meta(call: &mut MetaCall) -> ops::Result<Vec<Vec<symbolic::Expr>>> {
    let mut s = call.sizes("self")?;
    let names: Vec<&str> = call.args.schema().params[1..3].iter().map(|p| p.name.as_str()).collect();
    let rank = s.len().max(1);
    let a = call.wrap_dim(call.args.int(names[0])?, rank)?;
    let b = call.wrap_dim(call.args.int(names[1])?, rank)?;
    if !s.is_empty() {
        s.swap(a, b);
    }
    Ok(vec![s])
}

/// `roll` one dim at a time, as PyTorch's reference does: `index_select(x, dim, fmod(arange(n) +
/// (n - shift) % n, n))`; with no dims, the flattened tensor rolled and viewed back.
fn roll(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let shifts = c.args.ints("shifts")?;
    let dims: Vec<i64> = c.args.ints("dims")?.iter().map(SymInt::hint).collect();
    one(rolled(x, &shifts, &dims)?)
}

/// `x` rolled by `shifts` along `dims` (the flattened `x`, when `dims` is empty).
fn rolled(x: Tensor, shifts: &[SymInt], dims: &[i64]) -> Result<Tensor> {
    if dims.is_empty() {
        let [shift] = shifts else { return Err(Error::msg(format!("roll: with no dims, one shift is expected, got {}", shifts.len()))) };
        let sizes = x.sizes();
        let flat = reshape_to(&x, &[product(&sizes)])?;
        return reshape_to(&roll_one(flat, shift, 0)?, &sizes);
    }
    if dims.len() != shifts.len() {
        return Err(Error::msg(format!("roll: shifts and dims must align, got {} shifts and {} dims", shifts.len(), dims.len())));
    }
    let rank = x.dim().max(1) as i64;
    let mut out = x;
    for (shift, &d) in shifts.iter().zip(dims) {
        out = roll_one(out, shift, wrap_dim("roll", d, rank)?)?;
    }
    Ok(out)
}

fn roll_one(x: Tensor, shift: &SymInt, dim: i64) -> Result<Tensor> {
    let n = x.size(dim)?;
    if n.hint() == 0 {
        // guarded: an empty dim has nothing to roll (and `% 0` is no index)
        if n.eq(0)? {
            return Ok(x);
        }
    }
    let start = (n.clone() - shift.clone()).modulo(n.clone());
    let kwargs = vec![("layout", strided()), ("device", cpu()), ("pin_memory", Arg::Bool(false))];
    let idx = call(aten::arange_start_step, vec![Arg::Int(0.into()), Arg::Int(n.clone())], kwargs)?.remove(0);
    let idx = op1(aten::add_Tensor, vec![Arg::Tensor(idx), Arg::Int(start)])?;
    let idx = op1(aten::fmod_Scalar, vec![Arg::Tensor(idx), Arg::Int(n)])?;
    op1(aten::index_select, vec![Arg::Tensor(x), Arg::Int(dim.into()), Arg::Tensor(idx)])
}

/// `pad` by mode: `constant_pad_nd`, `reflection_padNd` / `replication_padNd`, or circular
/// padding as slices of the other end concatenated on.
fn pad(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let pads = c.args.ints("pad")?;
    let mode = match c.args.get("mode")? {
        Arg::Str(m) => m.clone(),
        _ => "constant".to_string(),
    };
    let spatial = pads.len() / 2;
    let modal = |reflect: bool| -> Result<OpName> {
        Ok(match (reflect, spatial) {
            (true, 1) => aten::reflection_pad1d,
            (true, 2) => aten::reflection_pad2d,
            (true, 3) => aten::reflection_pad3d,
            (false, 1) => aten::replication_pad1d,
            (false, 2) => aten::replication_pad2d,
            (false, 3) => aten::replication_pad3d,
            _ => return Err(Error::msg(format!("pad: {mode} padding takes 2, 4 or 6 values, got {}", pads.len()))),
        })
    };
    match mode.as_str() {
        "constant" => {
            let value = match c.args.get("value")? {
                Arg::Float(v) => *v,
                _ => 0.0,
            };
            one(op1(aten::constant_pad_nd, vec![Arg::Tensor(x), Arg::Ints(pads), Arg::Float(value)])?)
        }
        "reflect" | "replicate" => one(op1(modal(mode == "reflect")?, vec![Arg::Tensor(x), Arg::Ints(pads)])?),
        "circular" => {
            let rank = x.dim() as i64;
            let mut t = x;
            for (i, pair) in pads.chunks(2).enumerate() {
                let d = rank - 1 - i as i64;
                let n = t.size(d)?;
                let (before, after) = (pair[0].hint(), pair[1].hint());
                if before < 0 || after < 0 || before > n.hint() || after > n.hint() {
                    return Err(Error::msg(format!("pad: circular padding of {before} and {after} on a dim of size {n} is not supported")));
                }
                let slice = |t: &Tensor, start: SymInt, end: SymInt| op1(aten::slice_Tensor, vec![Arg::Tensor(t.clone()), Arg::Int(d.into()), Arg::Int(start), Arg::Int(end), Arg::Int(1.into())]);
                let mut parts = Vec::new();
                if before > 0 {
                    parts.push(slice(&t, n.clone() - before, n.clone())?);
                }
                parts.push(t.clone());
                if after > 0 {
                    parts.push(slice(&t, 0.into(), after.into())?);
                }
                if parts.len() > 1 {
                    t = op1(aten::cat, vec![Arg::Tensors(parts), Arg::Int(d.into())])?;
                }
            }
            one(t)
        }
        other => Err(Error::msg(format!("pad: unknown padding mode `{other}` (expected constant, reflect, replicate or circular)"))),
    }
}

/// `x[..., 1:] - x[..., :-1]` along `dim`, `n` times (with `prepend`/`append` concatenated
/// on first), as PyTorch's reference computes it.
fn diff(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let mut x = c.args.tensor("self")?;
    let n = c.args.int("n")?.hint();
    let rank = x.dim() as i64;
    if rank == 0 {
        return Err(Error::msg("diff: expected an input with at least one dim, got a 0-dim tensor"));
    }
    let d = wrap_dim("diff", c.args.int("dim")?.hint(), rank)?;
    if n < 0 {
        return Err(Error::msg(format!("diff: order must be non-negative but got {n}")));
    }
    let (prepend, append) = (c.args.opt_tensor("prepend")?, c.args.opt_tensor("append")?);
    if prepend.is_some() || append.is_some() {
        let parts: Vec<Tensor> = prepend.into_iter().chain([x]).chain(append).collect();
        x = op1(aten::cat, vec![Arg::Tensors(parts), Arg::Int(d.into())])?;
    }
    let slice = |t: &Tensor, start: i64, end: i64| op1(aten::slice_Tensor, vec![Arg::Tensor(t.clone()), Arg::Int(d.into()), Arg::Int(start.into()), Arg::Int(end.into()), Arg::Int(1.into())]);
    for _ in 0..n {
        let (later, earlier) = (slice(&x, 1, i64::MAX)?, slice(&x, 0, -1)?);
        x = if x.dtype() == DType::Bool {
            op1(aten::logical_xor, vec![Arg::Tensor(later), Arg::Tensor(earlier)])?
        } else {
            op1(aten::sub_Tensor, vec![Arg::Tensor(later), Arg::Tensor(earlier)])?
        };
    }
    one(x)
}

/// `(x == x) * (|x| != inf)` for floating point (not NaN, not infinite); every integer is finite.
fn isfinite(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    if !x.dtype().is_float() {
        let kwargs = vec![("dtype", Arg::Dtype(DType::Bool)), ("pin_memory", Arg::Bool(false))];
        return one(call(aten::full_like, vec![Arg::Tensor(x), Arg::Bool(true)], kwargs)?.remove(0));
    }
    let not_inf = op1(aten::ne_Scalar, vec![Arg::Tensor(op1(aten::abs, vec![Arg::Tensor(x.clone())])?), Arg::Float(f64::INFINITY)])?;
    let not_nan = op1(aten::eq_Tensor, vec![Arg::Tensor(x.clone()), Arg::Tensor(x)])?;
    one(op1(aten::mul_Tensor, vec![Arg::Tensor(not_nan), Arg::Tensor(not_inf)])?)
}

/// `scale * elu(x, alpha)` with SELU's constants, as one `elu`.
fn selu(c: &mut DecompCall) -> Result<Vec<Arg>> {
    const ALPHA: f64 = 1.6732632423543772;
    const SCALE: f64 = 1.0507009873554805;
    one(op1(aten::elu, vec![Arg::Tensor(c.args.tensor("self")?), Arg::Float(ALPHA), Arg::Float(SCALE)])?)
}

/// `x * rsqrt(mean(x², last dims) + eps) [* weight]`, eps defaulting to the dtype's machine
/// epsilon, as PyTorch's composite computes it.
fn rms_norm(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("input")?;
    let normalized = c.args.ints("normalized_shape")?.len() as i64;
    let rank = x.dim() as i64;
    if normalized > rank {
        return Err(Error::msg(format!("rms_norm: normalized_shape has {normalized} dims, the input only {rank}")));
    }
    let eps = match c.args.get("eps")? {
        Arg::Float(e) => *e,
        _ => match x.dtype() {
            DType::F64 => f64::EPSILON,
            DType::F16 => 0.0009765625,
            DType::BF16 => 0.0078125,
            _ => f32::EPSILON as f64,
        },
    };
    let dims: Vec<SymInt> = (rank - normalized..rank).map(SymInt::from).collect();
    let squared = op1(aten::pow_Tensor_Scalar, vec![Arg::Tensor(x.clone()), Arg::Int(2.into())])?;
    let mean = op1(aten::mean_dim, vec![Arg::Tensor(squared), Arg::Ints(dims), Arg::Bool(true)])?;
    let shifted = op1(aten::add_Scalar, vec![Arg::Tensor(mean), Arg::Float(eps)])?;
    let scale = op1(aten::rsqrt, vec![Arg::Tensor(shifted)])?;
    let mut out = op1(aten::mul_Tensor, vec![Arg::Tensor(x), Arg::Tensor(scale)])?;
    if let Some(w) = c.args.opt_tensor("weight")? {
        out = op1(aten::mul_Tensor, vec![Arg::Tensor(out), Arg::Tensor(w)])?;
    }
    one(out)
}

/// The indices of `sort`.
fn argsort(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let args = vec![Arg::Tensor(c.args.tensor("self")?), Arg::Int(c.args.int("dim")?), Arg::Bool(c.args.bool("descending")?)];
    let mut sorted = call(aten::sort, args, vec![])?;
    if sorted.len() != 2 {
        return Err(Error::msg("argsort: sort gave no indices"));
    }
    one(sorted.remove(1))
}

/// The tensor flattened: a view when its layout allows, else a contiguous copy viewed.
fn ravel(c: &mut DecompCall) -> Result<Vec<Arg>> {
    // `-1`, as PyTorch writes it: no size arithmetic in the program
    one(reshape_to(&c.args.tensor("self")?, &[SymInt::from(-1)])?)
}

/// `gather(self, dim, indices % size)` with `self` and `indices` broadcast against each other
/// in every other dim, as PyTorch's reference does.
fn take_along_dim(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (x, idx) = (c.args.tensor("self")?, c.args.tensor("indices")?);
    let d = match c.args.get("dim")? {
        Arg::Int(d) => d.hint(),
        _ => return Err(Error::msg("take_along_dim: only a given dim is supported (dim=None flattens; flatten the inputs first)")),
    };
    let rank = x.dim() as i64;
    if idx.dim() as i64 != rank {
        return Err(Error::msg(format!("take_along_dim: input and indices should have the same number of dimensions, but got {rank} and {}", idx.dim())));
    }
    let d = wrap_dim("take_along_dim", d, rank)?;
    let (xs, is) = (x.sizes(), idx.sizes());
    let mut common = Vec::new();
    for (a, b) in xs.iter().zip(&is) {
        common.push(if a.is_static() && a.hint() == 1 { b.clone() } else { a.clone() });
    }
    let with_dim = |mut sizes: Vec<SymInt>, size: SymInt| {
        sizes[d as usize] = size;
        sizes
    };
    let x_e = op1(aten::expand, vec![Arg::Tensor(x), Arg::Ints(with_dim(common.clone(), xs[d as usize].clone()))])?;
    let i_e = op1(aten::expand, vec![Arg::Tensor(idx), Arg::Ints(with_dim(common, is[d as usize].clone()))])?;
    let wrapped = op1(aten::remainder_Scalar, vec![Arg::Tensor(i_e), Arg::Int(xs[d as usize].clone())])?;
    one(op1(aten::gather, vec![Arg::Tensor(x_e), Arg::Int(d.into()), Arg::Tensor(wrapped)])?)
}

/// `min(0, x) - log1p(exp(-|x|))`, stable for large |x|.
fn log_sigmoid(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let kwargs = vec![("dtype", Arg::Dtype(x.dtype())), ("layout", strided()), ("device", cpu()), ("pin_memory", Arg::Bool(false))];
    let zero = call(aten::full, vec![Arg::Ints(vec![]), Arg::Int(0.into())], kwargs)?.remove(0);
    let low = op1(aten::minimum, vec![Arg::Tensor(zero), Arg::Tensor(x.clone())])?;
    let neg_abs = op1(aten::neg, vec![Arg::Tensor(op1(aten::abs, vec![Arg::Tensor(x)])?)])?;
    let soft = op1(aten::log1p, vec![Arg::Tensor(op1(aten::exp, vec![Arg::Tensor(neg_abs)])?)])?;
    one(op1(aten::sub_Tensor, vec![Arg::Tensor(low), Arg::Tensor(soft)])?)
}

/// Each element repeated `repeats` times along `dim`: unsqueeze after `dim`, expand, copy, and
/// merge the two dims, as PyTorch's reference does (the flattened tensor when `dim` is None).
fn repeat_interleave_int(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let mut x = c.args.tensor("self")?;
    let repeats = c.args.int("repeats")?;
    let d = match c.args.get("dim")? {
        Arg::Int(d) => d.hint(),
        _ => {
            x = reshape_to(&x, &[SymInt::from(-1)])?;
            0
        }
    };
    if x.dim() == 0 {
        return Err(Error::msg("repeat_interleave: expected an input with at least one dim along `dim`, got a 0-dim tensor"));
    }
    let d = wrap_dim("repeat_interleave", d, x.dim() as i64)?;
    let sizes = x.sizes();
    let unsqueezed = op1(aten::unsqueeze, vec![Arg::Tensor(x), Arg::Int((d + 1).into())])?;
    let mut expanded_sizes = sizes.clone();
    expanded_sizes.insert(d as usize + 1, repeats.clone());
    let expanded = op1(aten::expand, vec![Arg::Tensor(unsqueezed), Arg::Ints(expanded_sizes)])?;
    let copied = op1(aten::clone, vec![Arg::Tensor(expanded)])?;
    let mut out_sizes = sizes;
    out_sizes[d as usize] = out_sizes[d as usize].clone() * repeats;
    one(op1(aten::view, vec![Arg::Tensor(copied), Arg::Ints(out_sizes)])?)
}

/// `(dim, correction)` of the `unbiased` overloads, as their `correction` forms take them.
fn correction_args(c: &DecompCall) -> Result<(Vec<Arg>, Vec<(&'static str, Arg)>)> {
    let correction = if c.args.bool("unbiased")? { 1 } else { 0 };
    let dim = c.args.get("dim")?.clone();
    Ok((vec![Arg::Tensor(c.args.tensor("self")?), dim], vec![("correction", Arg::Int(correction.into())), ("keepdim", Arg::Bool(c.args.bool("keepdim")?))]))
}

/// `sqrt(var.correction(...))`.
fn std_dim(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (args, kwargs) = correction_args(c)?;
    let var = call(aten::var_correction, args, kwargs)?.remove(0);
    one(op1(aten::sqrt, vec![Arg::Tensor(var)])?)
}

fn var_mean_dim(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (args, kwargs) = correction_args(c)?;
    Ok(call(aten::var_mean_correction, args, kwargs)?.into_iter().map(Arg::Tensor).collect())
}

/// `a ⊗ b`: `a` viewed with a one after each dim, `b` with a one before each, multiplied, and
/// each pair of dims merged (the smaller rank padded with leading ones).
fn kron(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (a, b) = (c.args.tensor("self")?, c.args.tensor("other")?);
    let rank = a.dim().max(b.dim());
    let padded = |t: &Tensor| -> Vec<SymInt> { std::iter::repeat_n(SymInt::from(1), rank - t.dim()).chain(t.sizes()).collect() };
    let (sa, sb) = (padded(&a), padded(&b));
    let a_view: Vec<SymInt> = sa.iter().flat_map(|s| [s.clone(), 1.into()]).collect();
    let b_view: Vec<SymInt> = sb.iter().flat_map(|s| [1.into(), s.clone()]).collect();
    let a2 = op1(aten::view, vec![Arg::Tensor(a), Arg::Ints(a_view)])?;
    let b2 = op1(aten::view, vec![Arg::Tensor(b), Arg::Ints(b_view)])?;
    let product = op1(aten::mul_Tensor, vec![Arg::Tensor(a2), Arg::Tensor(b2)])?;
    let out: Vec<SymInt> = sa.iter().zip(&sb).map(|(x, y)| x.clone() * y.clone()).collect();
    one(op1(aten::view, vec![Arg::Tensor(product), Arg::Ints(out)])?)
}

/// `sum(x1 / max(‖x1‖, eps) * x2 / max(‖x2‖, eps), dim)`, each norm as `pow(sum(x²), 0.5)`,
/// as PyTorch's composite computes it.
fn cosine_similarity(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (x1, x2) = (c.args.tensor("x1")?, c.args.tensor("x2")?);
    let dim = c.args.int("dim")?;
    let eps = c.args.float("eps")?;
    let norm = |x: &Tensor| -> Result<Tensor> {
        let squared = op1(aten::pow_Tensor_Scalar, vec![Arg::Tensor(x.clone()), Arg::Int(2.into())])?;
        let summed = op1(aten::sum_dim_IntList, vec![Arg::Tensor(squared), Arg::Ints(vec![dim.clone()]), Arg::Bool(true)])?;
        let root = op1(aten::pow_Tensor_Scalar, vec![Arg::Tensor(summed), Arg::Float(0.5)])?;
        op1(aten::clone, vec![Arg::Tensor(root)])
    };
    let (n1, n2) = (norm(&x1)?, norm(&x2)?);
    let dtype = x1.dtype();
    let floor = call(aten::scalar_tensor, vec![Arg::Float(eps)], vec![("dtype", Arg::Dtype(dtype)), ("device", cpu())])?.remove(0);
    let n1 = op1(aten::clamp_Tensor, vec![Arg::Tensor(n1), Arg::Tensor(floor.clone())])?;
    let n2 = op1(aten::clamp_Tensor, vec![Arg::Tensor(n2), Arg::Tensor(floor)])?;
    let u2 = op1(aten::div_Tensor, vec![Arg::Tensor(x2), Arg::Tensor(n2)])?;
    let u1 = op1(aten::div_Tensor, vec![Arg::Tensor(x1), Arg::Tensor(n1)])?;
    let product = op1(aten::mul_Tensor, vec![Arg::Tensor(u1), Arg::Tensor(u2)])?;
    one(op1(aten::sum_dim_IntList, vec![Arg::Tensor(product), Arg::Ints(vec![dim]), Arg::Bool(false)])?)
}

/// Every composite: this module's and its families' (`shape`, ...).
pub fn all() -> impl Iterator<Item = &'static Composite> {
    COMPOSITES.iter().chain(shape::COMPOSITES).chain(math::COMPOSITES).chain(losses::COMPOSITES).chain(nn::COMPOSITES).chain(linalg::COMPOSITES).chain(fft::COMPOSITES)
}

/// Registers every composite (run from [`Registry::global`] through [`ops::Extension`]).
pub fn register(r: &Registry) {
    for c in all() {
        let f = c.decompose;
        let kernel = move |a: &Args| -> ops::Result<Value> { DecompCall::run_eagerly(f, a) };
        // a composite computes nothing itself: the operators it calls refuse what they cannot do
        let registered = r.def_with(c.schema, c.tags, c.meta, std::sync::Arc::new(kernel)).any_dtype();
        if let Some(rule) = c.dtype {
            registered.dtype(rule);
        }
    }
}

ops::inventory::submit! { ops::Extension(register) }

/// Each composite's decomposition, for the lowering table.
pub(crate) fn decompositions() -> impl Iterator<Item = (String, DecompFn)> {
    all().map(|c| (c.name(), c.decompose))
}

// ----- meta functions and dtype rules the tags do not imply ----------------------------------

type Sizes = ops::Result<Vec<Vec<Expr>>>;

/// `type_as(self, other)`: `other`'s dtype.
fn dtype_of_other(args: &Args) -> ops::Result<Vec<DType>> {
    Ok(vec![args.tensor("other")?.dtype()])
}

/// `where(condition, self, Scalar other)`: `self` promoted with the number; the condition
/// takes no part.
fn where_dtype(args: &Args) -> ops::Result<Vec<DType>> {
    let scalar_first = args.schema().overload == "ScalarSelf";
    let (tensor_param, scalar_param) = if scalar_first { ("other", "self") } else { ("self", "other") };
    let x = args.tensor(tensor_param)?;
    let operands = [tensor::Operand::Tensor { dtype: x.dtype(), dim: x.dim() }, tensor::Operand::Scalar(args.scalar(scalar_param)?)];
    Ok(vec![tensor::result_type(&operands)?])
}

/// Sizes left-padded with ones to `rank`.
fn padded_sizes(s: &[Expr], rank: usize) -> Vec<Expr> {
    std::iter::repeat_n(Expr::Int(1), rank.saturating_sub(s.len())).chain(s.iter().cloned()).collect()
}

fn outer_meta(call: &mut MetaCall) -> Sizes {
    let (a, b) = (call.sizes("self")?, call.sizes("vec2")?);
    Ok(vec![a.into_iter().chain(b).collect()])
}

/// `kron`: both padded to one rank, each dim the product.
fn kron_meta(call: &mut MetaCall) -> Sizes {
    let (a, b) = (call.sizes("self")?, call.sizes("other")?);
    let rank = a.len().max(b.len());
    Ok(vec![padded_sizes(&a, rank).into_iter().zip(padded_sizes(&b, rank)).map(|(x, y)| x * y).collect()])
}

/// `cosine_similarity`: the operands broadcast, then `dim` reduced away.
/// Two tensors broadcast, `dim` reduced away (`cosine_similarity`, `linalg_vecdot`: the first
/// two parameters, whatever their names).
pub(super) fn broadcast_reduced_meta(call: &mut MetaCall) -> Sizes {
    let names: Vec<String> = call.args.schema().params[..2].iter().map(|p| p.name.clone()).collect();
    let (a, b) = (call.sizes(&names[0])?, call.sizes(&names[1])?);
    let mut s = meta::broadcast(call, &a, &b)?;
    let d = call.wrap_dim(call.args.int("dim")?, s.len())?;
    if d < s.len() {
        s.remove(d);
    }
    Ok(vec![s])
}

/// `tile`: sizes and repeats padded to one rank, each dim the product.
fn tile_meta(call: &mut MetaCall) -> Sizes {
    let (s, reps) = (call.sizes("self")?, call.ints("dims")?);
    let rank = s.len().max(reps.len());
    Ok(vec![padded_sizes(&s, rank).into_iter().zip(padded_sizes(&reps, rank)).map(|(x, r)| x * r).collect()])
}

/// `diff`: along `dim`, the prepended and appended lengths added and `n` taken off.
fn diff_meta(call: &mut MetaCall) -> Sizes {
    let mut s = call.sizes("self")?;
    let d = call.wrap_dim(call.args.int("dim")?, s.len())?;
    let n = call.args.int("n")?;
    for extra in ["prepend", "append"] {
        if let Some(e) = call.opt_sizes(extra)? {
            let along = if e.len() == s.len() { e[d].clone() } else { Expr::Int(1) };
            s[d] = s[d].clone() + along;
        }
    }
    s[d] = Expr::max_of([s[d].clone() - n, Expr::Int(0)]);
    Ok(vec![s])
}

fn ravel_meta(call: &mut MetaCall) -> Sizes {
    Ok(vec![vec![Expr::mul_all(call.sizes("self")?)]])
}

/// `take_along_dim`: without a dim, the flattened indices' length; with one, the operands
/// broadcast everywhere but `dim`, which the indices decide.
fn take_along_dim_meta(call: &mut MetaCall) -> Sizes {
    let (s, idx) = (call.sizes("self")?, call.sizes("indices")?);
    let Some(dim) = call.args.opt_int("dim")? else { return Ok(vec![vec![Expr::mul_all(idx)]]) };
    let d = call.wrap_dim(dim, s.len())?;
    let (mut a, mut b) = (s.clone(), idx.clone());
    a[d] = Expr::Int(1);
    b[d] = Expr::Int(1);
    let mut out = meta::broadcast(call, &a, &b)?;
    out[d] = idx[d].clone();
    Ok(vec![out])
}

/// `repeat_interleave(self, repeats: int, dim)`: the dim (or the flattened tensor) times `repeats`.
fn repeat_interleave_meta(call: &mut MetaCall) -> Sizes {
    let s = call.sizes("self")?;
    let repeats = call.int("repeats")?;
    Ok(vec![match call.args.opt_int("dim")? {
        None => vec![Expr::mul_all(s) * repeats],
        Some(dim) => {
            let d = call.wrap_dim(dim, s.len())?;
            let mut out = s;
            out[d] = out[d].clone() * repeats;
            out
        }
    }])
}
