//! Output dtypes without running a kernel: the dtype half of an operator's meta function (sizes
//! are the other half, [`crate::meta`]).
//!
//! Shapes-only export ("fake" tensors, PyTorch's meta device) needs each output's dtype from the
//! arguments' dtypes alone. Most operators follow one of a few rules, which registration infers
//! from the schema and tags: a `dtype=` argument, when given, decides; element-wise operators
//! promote their operands as PyTorch's `result_type` does; anything else keeps its first tensor
//! argument's dtype; a factory makes the default float dtype. Operators that differ name their
//! rule at registration (`r.def(..).dtype(DtypeRule::Bool)`).
//!
//! Every rule is checked against the kernel on each traced call and against the dtypes PyTorch
//! recorded for the operator samples (`pt2 conformance ops`).

use tensor::{result_type, DType, Operand};

use crate::aten::common::float_dtype;
use crate::schema::Type;
use crate::{Args, Error, Result, Value};

/// How an operator's output dtypes follow from its arguments.
#[derive(Clone, Copy)]
pub enum DtypeRule {
    /// PyTorch's element-wise type promotion over the tensor and number arguments (the
    /// `DEFAULT` promotion kind); `alpha`/`value`-style coefficients do not take part.
    Promote,
    /// Promotion, then an integral or bool result becomes float32 (`INT_TO_FLOAT`: `sin`,
    /// true division, ...).
    PromoteToFloat,
    /// The first tensor argument's dtype, with integral and bool widened to int64 (sums and
    /// products accumulate in int64: `sum`, `prod`, `cumsum`).
    IntegralToLong,
    /// Each output is bool (comparisons, `isnan`, ...).
    Bool,
    /// Each output is int64 (indices: `argmax`, `nonzero`, ...).
    Long,
    /// Each output has the dtype of the first tensor argument (views, most of `nn`).
    SameAsInput,
    /// The first output has the first tensor argument's dtype, the rest are int64 indices
    /// (`max.dim`, `sort`, `topk`, ...).
    ValuesAndIndices,
    /// A factory with no tensor argument: float32 (`zeros`, `rand`, ...).
    DefaultFloat,
    /// Anything else, computed from the bound arguments (one dtype per declared return).
    Custom(fn(&Args) -> Result<Vec<DType>>),
}

impl DtypeRule {
    /// The rule registration infers from an operator's schema and tags.
    pub fn inferred(args_have_tensor: bool, pointwise: bool) -> DtypeRule {
        match (args_have_tensor, pointwise) {
            (false, _) => DtypeRule::DefaultFloat,
            (true, true) => DtypeRule::Promote,
            (true, false) => DtypeRule::SameAsInput,
        }
    }

    /// The dtype of each declared return of the operator called with `args` (a `Tensor[]`
    /// return has one dtype for all its elements). A `dtype=` argument, when given, decides.
    pub fn output_dtypes(&self, args: &Args) -> Result<Vec<DType>> {
        let returns = args.schema().returns.len().max(1);
        if let Some(explicit) = explicit_dtype(args)? {
            return Ok(vec![explicit; returns]);
        }
        let all = |d: DType| Ok(vec![d; returns]);
        match self {
            DtypeRule::Promote => all(promoted(args)?),
            DtypeRule::PromoteToFloat => all(float_dtype(promoted(args)?)),
            DtypeRule::IntegralToLong => all(accumulated(first_tensor_dtype(args)?)),
            DtypeRule::Bool => all(DType::Bool),
            DtypeRule::Long => all(DType::I64),
            // LAPACK's pivots and status codes are int32 beside the factors, as PyTorch returns them
            DtypeRule::SameAsInput => {
                let d = first_tensor_dtype(args)?;
                Ok(args.schema().returns.iter().map(|r| if matches!(r.name.as_deref(), Some("pivots" | "info")) { DType::I32 } else { d }).collect::<Vec<_>>()).map(|v| if v.is_empty() { vec![d] } else { v })
            }
            DtypeRule::ValuesAndIndices => {
                let mut v = vec![DType::I64; returns];
                v[0] = first_tensor_dtype(args)?;
                Ok(v)
            }
            DtypeRule::DefaultFloat => all(DType::F32),
            DtypeRule::Custom(f) => f(args),
        }
    }
}

/// Division with an optional rounding mode: true division (no mode) makes floats.
pub fn division(args: &Args) -> Result<Vec<DType>> {
    let d = promoted(args)?;
    Ok(vec![if args.opt_str("rounding_mode")?.is_none() { float_dtype(d) } else { d }])
}

/// `any`/`all`: bool, except that a uint8 tensor gives uint8 (PyTorch keeps that legacy).
pub fn any_all(args: &Args) -> Result<Vec<DType>> {
    Ok(vec![if first_tensor_dtype(args)? == DType::U8 { DType::U8 } else { DType::Bool }])
}

/// The dtype sums and products of `d` accumulate in (`sum`, `prod`, `cumsum`): int64 for
/// integers and bool, the dtype itself for floating and complex ones.
pub fn accumulated(d: DType) -> DType {
    if d.is_float() || d.is_complex() {
        d
    } else {
        DType::I64
    }
}

/// The real dtype of `self`'s values: a complex tensor's parts (`abs`, `view_as_real`), a real
/// tensor's own dtype.
pub fn real_parts(args: &Args) -> Result<Vec<DType>> {
    Ok(vec![args.tensor("self")?.dtype().to_real()])
}

/// `var_mean` / `std_mean`: the spread in the real dtype of `self`'s values, the mean in
/// `self`'s own (complex for a complex tensor).
pub fn spread_and_mean(args: &Args) -> Result<Vec<DType>> {
    let d = args.tensor("self")?.dtype();
    Ok(vec![d.to_real(), d])
}

/// The real floating dtype of a float function of `self` (`angle`): a complex tensor's parts,
/// a float tensor's own dtype, float32 for integers and bool.
pub fn float_parts(args: &Args) -> Result<Vec<DType>> {
    Ok(vec![float_dtype(args.tensor("self")?.dtype()).to_real()])
}

/// Bucket indices (`searchsorted`, `bucketize`): int64, or int32 with `out_int32=True`.
pub fn bucket_indices(args: &Args) -> Result<Vec<DType>> {
    Ok(vec![if args.bool("out_int32")? { DType::I32 } else { DType::I64 }])
}

/// The `dtype=` argument, where the schema has one and the call gives it.
fn explicit_dtype(args: &Args) -> Result<Option<DType>> {
    let has_dtype_param = args.schema().params.iter().any(|p| p.name == "dtype" && is_type(&p.ty, &Type::ScalarType));
    if has_dtype_param {
        args.opt_dtype("dtype")
    } else {
        Ok(None)
    }
}

/// Whether a parameter's type is `base` or `base?`.
fn is_type(t: &Type, base: &Type) -> bool {
    match t {
        Type::Optional(inner) => is_type(inner, base),
        t => t == base,
    }
}

/// Coefficients that scale an operand rather than take part in promotion.
const COEFFICIENTS: &[&str] = &["alpha", "value", "beta"];

/// `result_type` over the tensor and number arguments.
fn promoted(args: &Args) -> Result<DType> {
    let mut operands = Vec::new();
    for (p, v) in args.schema().params.iter().zip(args.values()) {
        // numbers typed `Scalar` take part (`other`, `fill_value`, `end`); `int`/`float`/`bool`
        // parameters configure the operator (dims, eps, flags)
        if COEFFICIENTS.contains(&p.name.as_str()) || !(p.ty.is_tensor_like() || is_type(&p.ty, &Type::Scalar)) {
            continue;
        }
        push_operands(v, &mut operands);
    }
    if operands.is_empty() {
        return Err(Error::msg(format!("{}: no tensor or number argument to take a dtype from", args.schema().qualified_name())));
    }
    Ok(result_type(&operands)?)
}

fn push_operands(v: &Value, out: &mut Vec<Operand>) {
    match v {
        Value::Tensor(t) => out.push(Operand::Tensor { dtype: t.dtype(), dim: t.dim() }),
        Value::List(items) => items.iter().filter(|i| matches!(i, Value::Tensor(_))).for_each(|i| push_operands(i, out)),
        number => out.extend(number.as_scalar().map(Operand::Scalar)),
    }
}

/// The dtype of the first tensor argument (or of the first tensor of the first tensor list).
pub fn first_tensor_dtype(args: &Args) -> Result<DType> {
    fn find(v: &Value) -> Option<DType> {
        match v {
            Value::Tensor(t) => Some(t.dtype()),
            Value::List(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    args.values()
        .iter()
        .find_map(find)
        .ok_or_else(|| Error::msg(format!("{}: no tensor argument to take a dtype from", args.schema().qualified_name())))
}

/// `_embedding_bag`: the bag results in the weight's dtype, the three index tensors int64.
pub fn embedding_bag(args: &Args) -> Result<Vec<DType>> {
    Ok(vec![args.tensor("weight")?.dtype(), DType::I64, DType::I64, DType::I64])
}

/// `_batch_norm_with_update(_functional)`: the input's dtype, except the uint8 `reserve` (the
/// fourth output).
pub fn batch_norm_with_update(args: &Args) -> Result<Vec<DType>> {
    let x = args.tensor("input")?.dtype();
    Ok((0..args.schema().returns.len()).map(|i| if i == 3 { DType::U8 } else { x }).collect())
}

/// A factory whose numbers decide its dtype (`arange`, `full`): int64 for ints, float32 if any
/// is a float, bool for bools — `result_type` over the numbers.
pub fn of_numbers(args: &Args) -> Result<Vec<DType>> {
    Ok(vec![promoted(args)?])
}
