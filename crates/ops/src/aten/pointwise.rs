//! ATen operators: element-wise arithmetic, comparison, logic and activation functions.
//!
//! Every operator here is a thin binding over a few shapes of computation: a float function of
//! one tensor (`float_unary`), a type-preserving unary map (`keep_unary`), a binary operation
//! with PyTorch's type promotion (`binary`), a comparison producing bools (`compare`). Floating
//! point runs in `f32` (or `f64` for `f64` tensors), as PyTorch's CPU kernels do.

use crate::dtype::{self, DtypeRule};
use crate::meta;
use tensor::kernels::{elementwise, vmath};
use tensor::{Bool8, DType, Scalar, Tensor};

use super::common::*;
use crate::registry::Tag::*;
use crate::{float_map, float_zip, Args, Registry, Result, Value};
use super::complex::{self, Complex};

pub fn register(r: &Registry) {
    let cp = &[Core, Pointwise][..];
    let p = &[Pointwise][..];
    // float functions of one tensor (integers promote to float32)
    r.def("aten::sin(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.sin(), |v| v.sin(), |z| z.sin())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::cos(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.cos(), |v| v.cos(), |z| z.cos())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::tan(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.tan(), |v| v.tan(), |z| z.tan())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::asin(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.asin(), |v| v.asin(), |z| z.asin())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::acos(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.acos(), |v| v.acos(), |z| z.acos())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::atan(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.atan(), |v| v.atan(), |z| z.atan())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::sinh(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.sinh(), |v| v.sinh(), |z| z.sinh())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::cosh(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.cosh(), |v| v.cosh(), |z| z.cosh())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::tanh(Tensor self) -> Tensor", cp, tanh).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::asinh(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.asinh(), |v| v.asinh(), |z| z.asinh())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::acosh(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.acosh(), |v| v.acosh(), |z| z.acosh())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::atanh(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.atanh(), |v| v.atanh(), |z| z.atanh())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::exp(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, vmath::Exp, |v| v.exp(), |z| z.exp())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::exp2(Tensor self) -> Tensor", p, |a| float_unary_or_complex(a, |v: f32| v.exp2(), |v| v.exp2(), |z| (z * std::f64::consts::LN_2).exp())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::expm1(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.exp_m1(), |v| v.exp_m1(), |z| z.exp() - 1.0)).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::log(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.ln(), |v| v.ln(), |z| z.ln())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::log2(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.log2(), |v| v.log2(), |z| z.ln() / std::f64::consts::LN_2)).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::log10(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.log10(), |v| v.log10(), |z| z.ln() / std::f64::consts::LN_10)).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::log1p(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.ln_1p(), |v| v.ln_1p(), complex::ln_1p)).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::sqrt(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| v.sqrt(), |v| v.sqrt(), |z| z.sqrt())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::rsqrt(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| 1.0 / v.sqrt(), |v| 1.0 / v.sqrt(), |z| z.sqrt().inv())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::reciprocal(Tensor self) -> Tensor", cp, |a| float_unary_or_complex(a, |v: f32| 1.0 / v, |v| 1.0 / v, |z| z.inv())).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::sigmoid(Tensor self) -> Tensor", cp, sigmoid).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::deg2rad(Tensor self) -> Tensor", p, |a| float_unary(a, |v: f32| v * (std::f32::consts::PI / 180.0), |v| v * (std::f64::consts::PI / 180.0))).dtype(DtypeRule::PromoteToFloat);
    r.def("aten::rad2deg(Tensor self) -> Tensor", p, |a| float_unary(a, |v: f32| v * (180.0 / std::f32::consts::PI), |v| v * (180.0 / std::f64::consts::PI))).dtype(DtypeRule::PromoteToFloat);
    r.def("aten::silu(Tensor self) -> Tensor", p, silu).complex().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::mish(Tensor self) -> Tensor", p, |a| float_unary(a, |v: f32| v * softplus32(v).tanh(), |v| v * softplus64(v).tanh())).dtype(DtypeRule::PromoteToFloat);
    r.def("aten::hardsigmoid(Tensor self) -> Tensor", p, hardsigmoid).dtype(DtypeRule::PromoteToFloat);
    r.def_meta("aten::hardswish(Tensor self) -> Tensor", &[], meta::same_as_self, hardswish).dtype(DtypeRule::PromoteToFloat);
    // in place over a contiguous float32 tensor's own storage; else the functional operator
    // and a copy back
    let same = meta::same_as_self;
    r.def_meta("aten::tanh_(Tensor(a!) self) -> Tensor(a!)", &[], same, |a| unary_in_place(a, vmath::Tanh, tanh));
    r.def_meta("aten::sigmoid_(Tensor(a!) self) -> Tensor(a!)", &[], same, |a| unary_in_place(a, vmath::Sigmoid, sigmoid));
    r.def_meta("aten::silu_(Tensor(a!) self) -> Tensor(a!)", &[], same, |a| unary_in_place(a, vmath::Silu, silu));
    r.def_meta("aten::hardsigmoid_(Tensor(a!) self) -> Tensor(a!)", &[], same, |a| unary_in_place(a, vmath::Hardsigmoid, hardsigmoid));
    r.def_meta("aten::hardswish_(Tensor(a!) self) -> Tensor(a!)", &[], same, |a| unary_in_place(a, vmath::Hardswish, hardswish));
    r.def("aten::angle(Tensor self) -> Tensor", p, angle).complex().dtype(DtypeRule::Custom(dtype::float_parts));

    // type-preserving maps
    r.def("aten::abs(Tensor self) -> Tensor", cp, abs).complex().dtype(DtypeRule::Custom(dtype::real_parts));
    r.def("aten::neg(Tensor self) -> Tensor", cp, neg).complex();
    r.def("aten::sign(Tensor self) -> Tensor", cp, sign).complex();
    r.def("aten::sgn(Tensor self) -> Tensor", p, sgn).complex();
    r.def("aten::ceil(Tensor self) -> Tensor", cp, |a| rounding(a, |v| v.ceil(), |v| v.ceil()));
    r.def("aten::floor(Tensor self) -> Tensor", cp, |a| rounding(a, |v| v.floor(), |v| v.floor()));
    r.def("aten::trunc(Tensor self) -> Tensor", cp, |a| rounding(a, |v| v.trunc(), |v| v.trunc()));
    r.def("aten::round(Tensor self) -> Tensor", cp, |a| rounding(a, |v| v.round_ties_even(), |v| v.round_ties_even()));
    r.def("aten::round.decimals(Tensor self, *, int decimals) -> Tensor", p, round_decimals);
    r.def("aten::frac(Tensor self) -> Tensor", p, |a| float_only_unary(a, "frac", |v: f32| v - v.trunc(), |v| v - v.trunc()));
    r.def("aten::relu(Tensor self) -> Tensor", cp, relu);
    r.def_meta("aten::relu_(Tensor(a!) self) -> Tensor(a!)", &[], meta::same_as_self, |a| unary_in_place(a, vmath::Relu, relu));
    r.def("aten::bitwise_not(Tensor self) -> Tensor", cp, bitwise_not);
    r.def("aten::logical_not(Tensor self) -> Tensor", cp, logical_not).any_dtype().dtype(DtypeRule::Bool);
    r.def("aten::isnan(Tensor self) -> Tensor", cp, |a| {
        let x = a.tensor("self")?;
        Ok(if x.dtype().is_complex() { complex::test(x, |z| z.re.is_nan() || z.im.is_nan()) } else { map_bool(x, |v| v.is_nan()) }.into())
    })
    .any_dtype()
    .dtype(DtypeRule::Bool);
    r.def("aten::isposinf(Tensor self) -> Tensor", p, |a| Ok(map_bool(a.tensor("self")?, |v| v == f64::INFINITY).into())).dtype(DtypeRule::Bool);
    r.def("aten::isneginf(Tensor self) -> Tensor", p, |a| Ok(map_bool(a.tensor("self")?, |v| v == f64::NEG_INFINITY).into())).dtype(DtypeRule::Bool);
    r.def("aten::signbit(Tensor self) -> Tensor", p, |a| Ok(map_bool(a.tensor("self")?, |v| v.is_sign_negative()).into())).dtype(DtypeRule::Bool);
    r.def("aten::nan_to_num(Tensor self, float? nan=None, float? posinf=None, float? neginf=None) -> Tensor", p, nan_to_num).complex();

    // arithmetic with type promotion
    r.def("aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor", cp, add).complex();
    r.def("aten::add.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor", cp, add).complex();
    r.def_meta("aten::add_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)", &[], meta::pointwise, |a| {
        // a residual add: float32 of the same sizes, written into `self`'s own storage
        let (x, y) = (a.tensor("self")?, a.get("other")?);
        if let Value::Tensor(y) = y {
            if a.scalar("alpha")?.to_f64() == 1.0 && elementwise::zip_f32_in_place(x, y, |p, q| p + q) {
                return Ok(x.clone().into());
            }
        }
        inplace(a, add)
    });
    r.def("aten::sub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor", cp, sub).complex();
    r.def("aten::sub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor", cp, sub).complex();
    r.def_meta("aten::rsub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor", &[], meta::pointwise, rsub).complex();
    r.def("aten::rsub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor", p, rsub).complex();
    r.def("aten::mul.Tensor(Tensor self, Tensor other) -> Tensor", cp, mul).complex().wide_unsigned();
    r.def("aten::mul.Scalar(Tensor self, Scalar other) -> Tensor", cp, mul).complex().wide_unsigned();
    r.def_meta("aten::mul_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)", &[], meta::pointwise, |a| inplace(a, mul));
    r.def("aten::div.Tensor(Tensor self, Tensor other) -> Tensor", cp, |a| div(a, None)).complex().wide_unsigned().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::div.Scalar(Tensor self, Scalar other) -> Tensor", cp, |a| div(a, None)).complex().wide_unsigned().dtype(DtypeRule::PromoteToFloat);
    r.def("aten::div.Tensor_mode(Tensor self, Tensor other, *, str? rounding_mode) -> Tensor", cp, div_mode).complex().dtype(DtypeRule::Custom(dtype::division));
    r.def("aten::div.Scalar_mode(Tensor self, Scalar other, *, str? rounding_mode) -> Tensor", cp, div_mode).complex().dtype(DtypeRule::Custom(dtype::division));
    r.def("aten::floor_divide(Tensor self, Tensor other) -> Tensor", &[], |a| div(a, Some("floor")));
    r.def("aten::remainder.Tensor(Tensor self, Tensor other) -> Tensor", cp, remainder);
    r.def("aten::remainder.Scalar(Tensor self, Scalar other) -> Tensor", cp, remainder);
    r.def("aten::fmod.Tensor(Tensor self, Tensor other) -> Tensor", cp, fmod);
    r.def("aten::fmod.Scalar(Tensor self, Scalar other) -> Tensor", cp, fmod);
    r.def("aten::pow.Tensor_Tensor(Tensor self, Tensor exponent) -> Tensor", cp, pow).complex();
    r.def("aten::pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor", cp, pow).complex();
    r.def("aten::pow.Scalar(Scalar self, Tensor exponent) -> Tensor", cp, pow).complex();
    r.def("aten::atan2(Tensor self, Tensor other) -> Tensor", cp, |a| float_binary(a, "self", "other", |x, y| x.atan2(y), |x, y| x.atan2(y))).dtype(DtypeRule::PromoteToFloat);
    r.def("aten::atan2.out(Tensor self, Tensor other, *, Tensor(a!) out) -> Tensor(a!)", cp, atan2_out);
    r.def("aten::hypot(Tensor self, Tensor other) -> Tensor", p, |a| float_binary(a, "self", "other", |x, y| x.hypot(y), |x, y| x.hypot(y))).dtype(DtypeRule::PromoteToFloat);
    r.def("aten::logaddexp(Tensor self, Tensor other) -> Tensor", p, |a| {
        let (x, y, out) = promoted(a, "self", "other")?;
        if out.is_complex() {
            return Ok(complex::zip(&x, &y, out, complex::log_add_exp)?.into());
        }
        float_binary(a, "self", "other", logaddexp32, logaddexp64)
    })
    .complex()
    .dtype(DtypeRule::PromoteToFloat);
    r.def("aten::logaddexp2(Tensor self, Tensor other) -> Tensor", p, |a| {
        float_binary(a, "self", "other", |x, y| logaddexp32(x * std::f32::consts::LN_2, y * std::f32::consts::LN_2) / std::f32::consts::LN_2, |x, y| {
            logaddexp64(x * std::f64::consts::LN_2, y * std::f64::consts::LN_2) / std::f64::consts::LN_2
        })
    })
    .dtype(DtypeRule::PromoteToFloat);
    r.def("aten::copysign.Tensor(Tensor self, Tensor other) -> Tensor", p, |a| float_binary(a, "self", "other", |x, y| x.copysign(y), |x, y| x.copysign(y))).dtype(DtypeRule::PromoteToFloat);
    r.def("aten::maximum(Tensor self, Tensor other) -> Tensor", cp, |a| extremum(a, true, true));
    r.def("aten::minimum(Tensor self, Tensor other) -> Tensor", cp, |a| extremum(a, false, true));
    r.def("aten::fmax(Tensor self, Tensor other) -> Tensor", p, |a| extremum(a, true, false));
    r.def("aten::fmin(Tensor self, Tensor other) -> Tensor", p, |a| extremum(a, false, false));
    r.def("aten::heaviside(Tensor self, Tensor values) -> Tensor", p, heaviside);
    r.def("aten::lerp.Scalar(Tensor self, Tensor end, Scalar weight) -> Tensor", p, lerp).complex();
    r.def("aten::addcmul(Tensor self, Tensor tensor1, Tensor tensor2, *, Scalar value=1) -> Tensor", p, |a| addc(a, false)).complex();
    r.def("aten::addcdiv(Tensor self, Tensor tensor1, Tensor tensor2, *, Scalar value=1) -> Tensor", p, |a| addc(a, true)).complex();

    // comparisons and logic (bool results)
    for op in Cmp::ALL {
        let name = op.name();
        let tensor_schema = format!("aten::{name}.Tensor(Tensor self, Tensor other) -> Tensor");
        let scalar_schema = format!("aten::{name}.Scalar(Tensor self, Scalar other) -> Tensor");
        r.def(&tensor_schema, cp, compare_kernel(op)).any_dtype().dtype(DtypeRule::Bool);
        r.def(&scalar_schema, cp, compare_kernel(op)).any_dtype().dtype(DtypeRule::Bool);
    }
    r.def("aten::logical_and(Tensor self, Tensor other) -> Tensor", cp, |a| logical(a, |x, y| x && y)).any_dtype().dtype(DtypeRule::Bool);
    r.def("aten::logical_or(Tensor self, Tensor other) -> Tensor", cp, |a| logical(a, |x, y| x || y)).any_dtype().dtype(DtypeRule::Bool);
    r.def("aten::logical_xor(Tensor self, Tensor other) -> Tensor", cp, |a| logical(a, |x, y| x != y)).any_dtype().dtype(DtypeRule::Bool);
    r.def("aten::bitwise_and.Tensor(Tensor self, Tensor other) -> Tensor", cp, |a| bitwise(a, |x, y| x & y)).wide_unsigned();
    r.def("aten::bitwise_and.Scalar(Tensor self, Scalar other) -> Tensor", cp, |a| bitwise(a, |x, y| x & y)).wide_unsigned();
    r.def("aten::bitwise_or.Tensor(Tensor self, Tensor other) -> Tensor", cp, |a| bitwise(a, |x, y| x | y)).wide_unsigned();
    r.def("aten::bitwise_or.Scalar(Tensor self, Scalar other) -> Tensor", cp, |a| bitwise(a, |x, y| x | y)).wide_unsigned();
    r.def("aten::bitwise_xor.Tensor(Tensor self, Tensor other) -> Tensor", cp, |a| bitwise(a, |x, y| x ^ y)).wide_unsigned();
    r.def("aten::bitwise_xor.Scalar(Tensor self, Scalar other) -> Tensor", cp, |a| bitwise(a, |x, y| x ^ y)).wide_unsigned();
    r.def("aten::bitwise_left_shift.Tensor(Tensor self, Tensor other) -> Tensor", p, |a| shift(a, true));
    r.def("aten::bitwise_right_shift.Tensor(Tensor self, Tensor other) -> Tensor", p, |a| shift(a, false));
    r.def("aten::where.self(Tensor condition, Tensor self, Tensor other) -> Tensor", cp, where_self).any_dtype();

    // clamps and activations
    r.def("aten::clamp(Tensor self, Scalar? min=None, Scalar? max=None) -> Tensor", cp, clamp_scalar);
    r.def("aten::clamp.Tensor(Tensor self, Tensor? min=None, Tensor? max=None) -> Tensor", cp, clamp_tensor);
    r.def("aten::clamp_min(Tensor self, Scalar min) -> Tensor", p, clamp_scalar);
    r.def("aten::clamp_min.Tensor(Tensor self, Tensor min) -> Tensor", p, clamp_tensor);
    r.def("aten::clamp_max.Tensor(Tensor self, Tensor max) -> Tensor", p, clamp_tensor);
    r.def("aten::hardtanh(Tensor self, Scalar min_val=-1, Scalar max_val=1) -> Tensor", cp, hardtanh).dtype(DtypeRule::SameAsInput);
    r.def("aten::threshold(Tensor self, Scalar threshold, Scalar value) -> Tensor", p, threshold);
    r.def("aten::leaky_relu(Tensor self, Scalar negative_slope=0.01) -> Tensor", cp, leaky_relu);
    r.def("aten::elu(Tensor self, Scalar alpha=1, Scalar scale=1, Scalar input_scale=1) -> Tensor", cp, elu);
    r.def("aten::celu(Tensor self, Scalar alpha=1.) -> Tensor", p, celu);
    r.def("aten::gelu(Tensor self, *, str approximate=\"none\") -> Tensor", cp, gelu);
    r.def("aten::softplus(Tensor self, Scalar beta=1, Scalar threshold=20) -> Tensor", p, softplus);
    r.def("aten::hardshrink(Tensor self, Scalar lambd=0.5) -> Tensor", p, |a| shrink(a, true));
    r.def("aten::softshrink(Tensor self, Scalar lambd=0.5) -> Tensor", p, |a| shrink(a, false));
    r.def("aten::log_sigmoid_forward(Tensor self) -> (Tensor output, Tensor buffer)", &[], log_sigmoid_forward);
}

// ----- shared shapes of computation ---------------------------------------------------------

/// A float function of one tensor; integer and bool inputs promote to float32.
/// Generic over the two functions (not `fn` pointers) so that each operator's loop is its own,
/// with the function inlined into it.
fn float_unary(a: &Args, f32f: impl vmath::Unary, f64f: impl Fn(f64) -> f64 + Sync) -> Result<Value> {
    let x = a.tensor("self")?;
    let out = float_dtype(x.dtype());
    Ok(apply_float(x, out, f32f, f64f).into())
}

/// [`float_unary`], or `complex` over a complex tensor.
fn float_unary_or_complex(a: &Args, f32f: impl vmath::Unary, f64f: impl Fn(f64) -> f64 + Sync, complex: impl Fn(Complex<f64>) -> Complex<f64> + Sync) -> Result<Value> {
    let x = a.tensor("self")?;
    if x.dtype().is_complex() {
        return Ok(complex::map(x, x.dtype(), complex).into());
    }
    float_unary(a, f32f, f64f)
}

/// Runs `f32f` (or `f64f` for float64) over `x` and stores as `out`.
fn apply_float(x: &Tensor, out: DType, f32f: impl vmath::Unary, f64f: impl Fn(f64) -> f64 + Sync) -> Tensor {
    if out == DType::F64 {
        elementwise::map::<f64, f64>(&x.to_dtype(DType::F64), f64f).to_dtype(out)
    } else {
        elementwise::map_f32(&x.to_dtype(DType::F32), f32f).to_dtype(out)
    }
}

/// A float function defined only on floating-point tensors.
fn float_only_unary(a: &Args, name: &str, f32f: impl vmath::Unary, f64f: impl Fn(f64) -> f64 + Sync) -> Result<Value> {
    let x = a.tensor("self")?;
    if !x.dtype().is_float() {
        bail!("\"{name}_cpu\" not implemented for '{}'", torch_type_name(x.dtype()));
    }
    Ok(apply_float(x, x.dtype(), f32f, f64f).into())
}

/// Rounding functions: identity on integers.
fn rounding(a: &Args, f32f: fn(f32) -> f32, f64f: fn(f64) -> f64) -> Result<Value> {
    let x = a.tensor("self")?;
    if !x.dtype().is_float() {
        return Ok(x.deep_clone().into());
    }
    Ok(apply_float(x, x.dtype(), f32f, f64f).into())
}

/// A binary float function with promotion (integers promote to float32).
fn float_binary(a: &Args, l: &str, r: &str, f32f: fn(f32, f32) -> f32, f64f: fn(f64, f64) -> f64) -> Result<Value> {
    let (x, y) = (operand(a, l)?, operand(a, r)?);
    let out = float_dtype(result_dtype(&[x, y])?);
    let (tx, ty) = (x.to_tensor(out)?, y.to_tensor(out)?);
    Ok(if out == DType::F64 {
        elementwise::zip::<f64, f64, f64>(&tx, &ty, f64f)?
    } else {
        elementwise::zip::<f32, f32, f32>(&tx.to_dtype(DType::F32), &ty.to_dtype(DType::F32), f32f)?.to_dtype(out)
    }
    .into())
}

/// Runs an in-place variant: the functional kernel, then a copy into `self`.
fn inplace(a: &Args, f: fn(&Args) -> Result<Value>) -> Result<Value> {
    let target = a.tensor("self")?;
    let result = f(a)?;
    let Value::Tensor(r) = result else { bail!("in-place kernel returned a {}", result.kind()) };
    if r.shape() != target.shape() {
        bail!(
            "output with shape {:?} doesn't match the broadcast shape {:?}",
            target.shape(),
            r.shape()
        );
    }
    if !r.dtype().is_float() || target.dtype().is_float() || r.dtype() == target.dtype() {
        target.copy_(&r)?;
    } else {
        bail!("result type {} can't be cast to the desired output type {}", torch_type_name(r.dtype()), torch_type_name(target.dtype()));
    }
    Ok(Value::Tensor(target.clone()))
}

fn softplus32(v: f32) -> f32 {
    if v > 20.0 {
        v
    } else {
        v.exp().ln_1p()
    }
}

fn softplus64(v: f64) -> f64 {
    if v > 20.0 {
        v
    } else {
        v.exp().ln_1p()
    }
}

fn logaddexp32(x: f32, y: f32) -> f32 {
    if x.is_infinite() && x == y {
        return x;
    }
    let m = x.max(y);
    m + (-(x - y).abs()).exp().ln_1p()
}

fn logaddexp64(x: f64, y: f64) -> f64 {
    if x.is_infinite() && x == y {
        return x;
    }
    let m = x.max(y);
    m + (-(x - y).abs()).exp().ln_1p()
}

// ----- unary --------------------------------------------------------------------------------

fn abs(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    Ok(match x.dtype() {
        DType::Bool => bail!("abs is not supported for bool tensors"),
        dt if dt.is_complex() => complex::map(x, dt.to_real(), |z| Complex::new(z.norm(), 0.0)),
        dt if dt.is_float() => float_map!(x, dt, |v| v.abs()),
        dt => map_i64(x, dt, |v| v.wrapping_abs()),
    }
    .into())
}

fn neg(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    Ok(match x.dtype() {
        DType::Bool => bail!("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."),
        dt if dt.is_complex() => complex::map(x, dt, |z| -z),
        dt if dt.is_float() => float_map!(x, dt, |v| -v),
        dt => map_i64(x, dt, |v| v.wrapping_neg()),
    }
    .into())
}

/// `sgn`: `sign` for real tensors, `z / |z|` for complex ones.
fn sgn(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if x.dtype().is_complex() {
        return Ok(complex::map(x, x.dtype(), complex::sgn).into());
    }
    sign(a)
}

fn sign(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    Ok(match x.dtype() {
        dt if dt.is_complex() => bail!("Unlike NumPy, torch.sign is not intended to support complex numbers. Please use torch.sgn instead."),
        DType::Bool => x.deep_clone(),
        dt if dt.is_float() => float_map!(x, dt, |v: F| if v > 0.0 {
            1.0
        } else if v < 0.0 {
            -1.0
        } else {
            v * (0.0 as F)
        }),
        dt => map_i64(x, dt, |v| v.signum()),
    }
    .into())
}

fn angle(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if x.dtype().is_complex() {
        return Ok(complex::map(x, x.dtype().to_real(), |z| Complex::new(z.arg(), 0.0)).into());
    }
    let out = float_dtype(x.dtype());
    Ok(apply_float(
        x,
        out,
        |v: f32| if v.is_nan() { v } else if v < 0.0 { std::f32::consts::PI } else { 0.0 },
        |v| if v.is_nan() { v } else if v < 0.0 { std::f64::consts::PI } else { 0.0 },
    )
    .into())
}

fn round_decimals(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let d = a.int("decimals")?;
    if !x.dtype().is_float() {
        return Ok(x.deep_clone().into());
    }
    // PyTorch scales by 10^d (or divides by 10^-d), rounds half to even, and scales back.
    let (neg, ten) = (d < 0, 10f64.powi(d.unsigned_abs() as i32));
    Ok(if x.dtype() == DType::F64 {
        float_map!(x, DType::F64, |v: F| if neg { (v / (ten as F)).round_ties_even() * (ten as F) } else { (v * (ten as F)).round_ties_even() / (ten as F) })
    } else {
        float_map!(x, x.dtype(), |v: F| if neg { (v / (ten as F)).round_ties_even() * (ten as F) } else { (v * (ten as F)).round_ties_even() / (ten as F) })
    }
    .into())
}

fn tanh(a: &Args) -> Result<Value> {
    float_unary_or_complex(a, vmath::Tanh, |v| v.tanh(), |z| z.tanh())
}

fn sigmoid(a: &Args) -> Result<Value> {
    float_unary_or_complex(a, vmath::Sigmoid, |v| 1.0 / (1.0 + (-v).exp()), |z| (1.0 + (-z).exp()).inv())
}

fn silu(a: &Args) -> Result<Value> {
    float_unary_or_complex(a, vmath::Silu, |v| v / (1.0 + (-v).exp()), |z| z / (1.0 + (-z).exp()))
}

fn hardsigmoid(a: &Args) -> Result<Value> {
    float_unary(a, vmath::Hardsigmoid, |v| (v + 3.0).clamp(0.0, 6.0) / 6.0)
}

fn hardswish(a: &Args) -> Result<Value> {
    float_unary(a, vmath::Hardswish, |v| v * (v + 3.0).clamp(0.0, 6.0) / 6.0)
}

/// An in-place unary operator: `f32f` over `self`'s own storage when it is contiguous float32,
/// else `functional` and a copy back ([`inplace`]).
fn unary_in_place(a: &Args, f32f: impl vmath::Unary, functional: fn(&Args) -> Result<Value>) -> Result<Value> {
    let x = a.tensor("self")?;
    if elementwise::map_f32_in_place(x, f32f) {
        return Ok(x.clone().into());
    }
    inplace(a, functional)
}

fn relu(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    Ok(match x.dtype() {
        DType::Bool => bail!("\"clamp_min_cpu\" not implemented for 'Bool'"),
        DType::F32 => elementwise::map_f32(x, vmath::Relu),
        dt if dt.is_float() => float_map!(x, dt, |v| if v > 0.0 || v.is_nan() { v } else { 0.0 }),
        dt => map_i64(x, dt, |v| v.max(0)),
    }
    .into())
}

fn bitwise_not(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    Ok(match x.dtype() {
        DType::Bool => map_bool(x, |v| v == 0.0),
        dt if dt.is_float() => bail!("\"bitwise_not_cpu\" not implemented for '{}'", torch_type_name(dt)),
        dt => map_i64(x, dt, |v| !v),
    }
    .into())
}

fn nan_to_num(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let dt = x.dtype();
    if !dt.is_float() && !dt.is_complex() {
        return Ok(x.deep_clone().into());
    }
    // a complex tensor's parts are replaced each on its own, with its real dtype's limits
    let real = dt.to_real();
    let nan = a.opt_float("nan")?.unwrap_or(0.0);
    let posinf = a.opt_float("posinf")?.unwrap_or(real.max_value());
    let neginf = a.opt_float("neginf")?.unwrap_or(real.min_value());
    let fix = move |v: f64| if v.is_nan() { nan } else if v == f64::INFINITY { posinf } else if v == f64::NEG_INFINITY { neginf } else { v };
    if dt.is_complex() {
        return Ok(complex::map(x, dt, move |z| Complex::new(fix(z.re), fix(z.im))).into());
    }
    Ok(map_f64(x, dt, fix).into())
}

// ----- binary arithmetic --------------------------------------------------------------------

/// Promotes `self` and `other` and returns both as tensors of the result dtype.
fn promoted(a: &Args, l: &str, r: &str) -> Result<(Tensor, Tensor, DType)> {
    let (x, y) = (operand(a, l)?, operand(a, r)?);
    let out = result_dtype(&[x, y])?;
    Ok((x.to_tensor(out)?, y.to_tensor(out)?, out))
}

/// `self + alpha * other` (and `-` with `sign = -1`).
fn add_like(a: &Args, sign: i64, swap: bool) -> Result<Value> {
    let (l, r) = if swap { ("other", "self") } else { ("self", "other") };
    let (x, y, out) = promoted(a, l, r)?;
    let alpha = a.scalar("alpha")?;
    if out == DType::Bool && sign < 0 {
        bail!("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator instead.");
    }
    Ok(match out {
        dt if dt.is_complex() => {
            let al = alpha.to_f64() * sign as f64;
            complex::zip(&x, &y, dt, |p, q| p + q * al)?
        }
        DType::Bool => zip_i64(&x, &y, out, |p, q| ((p != 0) || (q != 0 && alpha.to_i64() != 0)) as i64)?,
        DType::F32 if alpha.to_f64() == 1.0 && sign == 1 => elementwise::zip::<f32, f32, f32>(&x, &y, |p, q| p + q)?,
        DType::F32 if alpha.to_f64() == 1.0 => elementwise::zip::<f32, f32, f32>(&x, &y, |p, q| p - q)?,
        dt if dt.is_float() => {
            let al = alpha.to_f64() * sign as f64;
            float_zip!(&x, &y, dt, |p: F, q| p + (al as F) * q)?
        }
        dt => {
            if alpha.is_float() {
                bail!("For integral input tensors, argument alpha must not be a floating point number.");
            }
            let al = alpha.to_i64().wrapping_mul(sign);
            zip_i64(&x, &y, dt, |p, q| p.wrapping_add(q.wrapping_mul(al)))?
        }
    }
    .into())
}

fn add(a: &Args) -> Result<Value> {
    add_like(a, 1, false)
}

fn sub(a: &Args) -> Result<Value> {
    add_like(a, -1, false)
}

/// `other - alpha * self`.
fn rsub(a: &Args) -> Result<Value> {
    let (x, y, out) = promoted(a, "self", "other")?;
    let alpha = a.scalar("alpha")?;
    Ok(match out {
        dt if dt.is_complex() => {
            let al = alpha.to_f64();
            complex::zip(&y, &x, dt, |p, q| p - q * al)?
        }
        DType::Bool => bail!("Subtraction, the `-` operator, with two bool tensors is not supported."),
        dt if dt.is_float() => {
            let al = alpha.to_f64();
            float_zip!(&y, &x, dt, |p: F, q| p - (al as F) * q)?
        }
        dt => {
            let al = alpha.to_i64();
            zip_i64(&y, &x, dt, |p, q| p.wrapping_sub(q.wrapping_mul(al)))?
        }
    }
    .into())
}

fn mul(a: &Args) -> Result<Value> {
    let (x, y, out) = promoted(a, "self", "other")?;
    Ok(match out {
        dt if dt.is_complex() => complex::zip(&x, &y, dt, |p, q| p * q)?,
        DType::Bool => zip_i64(&x, &y, out, |p, q| ((p != 0) && (q != 0)) as i64)?,
        DType::F32 => elementwise::zip::<f32, f32, f32>(&x, &y, |p, q| p * q)?,
        dt if dt.is_float() => float_zip!(&x, &y, dt, |p, q| p * q)?,
        dt => zip_i64(&x, &y, dt, |p, q| p.wrapping_mul(q))?,
    }
    .into())
}

fn div_mode(a: &Args) -> Result<Value> {
    let mode = a.opt_str("rounding_mode")?;
    match mode {
        None | Some("floor") | Some("trunc") => div(a, mode),
        Some(other) => bail!("div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{other}'"),
    }
}

/// Python's floor division of floats, as PyTorch computes it (exact when the quotient is an
/// integer, sign of zero from the true quotient).
fn floor_div<F: num_traits::Float>(a: F, b: F) -> F {
    let (zero, one, half) = (F::zero(), F::one(), F::from(0.5).expect("0.5 fits every float"));
    if b == zero {
        return a / b;
    }
    let m = a % b;
    let mut div = (a - m) / b;
    if m != zero && ((b < zero) != (m < zero)) {
        div = div - one;
    }
    if div != zero {
        let f = div.floor();
        if div - f > half {
            f + one
        } else {
            f
        }
    } else {
        zero.copysign(a / b)
    }
}

/// Division: true division (integers promote to float), or rounded by `mode`.
fn div(a: &Args, mode: Option<&str>) -> Result<Value> {
    let (x, y, common) = promoted(a, "self", "other")?;
    if common.is_complex() {
        return match mode {
            None => Ok(complex::zip(&x, &y, common, |p, q| p / q)?.into()),
            Some(m) => bail!("\"div_{m}_cpu\" not implemented for '{}'", torch_type_name(common)),
        };
    }
    match mode {
        None => {
            let out = float_dtype(common);
            Ok(float_zip!(&x.to_dtype(out), &y.to_dtype(out), out, |p, q| p / q)?.into())
        }
        Some(m) if common.is_float() => Ok(if m == "floor" {
            if common == DType::F64 {
                elementwise::zip::<f64, f64, f64>(&x, &y, floor_div::<f64>)?
            } else {
                elementwise::zip::<f32, f32, f32>(&x.to_dtype(DType::F32), &y.to_dtype(DType::F32), floor_div::<f32>)?.to_dtype(common)
            }
        } else {
            float_zip!(&x, &y, common, |p, q| (p / q).trunc())?
        }
        .into()),
        Some(m) => {
            if y.to_i64_vec().contains(&0) {
                bail!("ZeroDivisionError");
            }
            let floor = m == "floor";
            let dt = if common == DType::Bool { DType::I64 } else { common };
            Ok(zip_i64(&x, &y, dt, move |p, q| {
                let t = p.wrapping_div(q);
                if floor && (p % q != 0) && ((p < 0) != (q < 0)) {
                    t - 1
                } else {
                    t
                }
            })?
            .into())
        }
    }
}

fn remainder(a: &Args) -> Result<Value> {
    let (x, y, out) = promoted(a, "self", "other")?;
    if out.is_float() {
        return Ok(float_zip!(&x, &y, out, |p, q| {
            let r = p % q;
            if r != 0.0 && ((r < 0.0) != (q < 0.0)) {
                r + q
            } else {
                r
            }
        })?
        .into());
    }
    if y.to_i64_vec().contains(&0) {
        bail!("ZeroDivisionError");
    }
    Ok(zip_i64(&x, &y, out, |p, q| {
        let r = p.wrapping_rem(q);
        if r != 0 && ((r < 0) != (q < 0)) {
            r + q
        } else {
            r
        }
    })?
    .into())
}

fn fmod(a: &Args) -> Result<Value> {
    let (x, y, out) = promoted(a, "self", "other")?;
    if out.is_float() {
        return Ok(float_zip!(&x, &y, out, |p, q| p % q)?.into());
    }
    if y.to_i64_vec().contains(&0) {
        bail!("ZeroDivisionError");
    }
    Ok(zip_i64(&x, &y, out, |p, q| p.wrapping_rem(q))?.into())
}

/// Integer power as PyTorch defines it for negative exponents (only ±1 survive).
fn int_pow(base: i64, exp: i64) -> i64 {
    if exp < 0 {
        return match base {
            1 => 1,
            -1 => {
                if exp % 2 == 0 {
                    1
                } else {
                    -1
                }
            }
            _ => 0,
        };
    }
    let (mut result, mut b, mut e) = (1i64, base, exp as u64);
    while e > 0 {
        if e & 1 == 1 {
            result = result.wrapping_mul(b);
        }
        b = b.wrapping_mul(b);
        e >>= 1;
    }
    result
}

fn pow(a: &Args) -> Result<Value> {
    let (x, y, out) = promoted(a, "self", "exponent")?;
    if out.is_complex() {
        return Ok(complex::zip(&x, &y, out, complex::pow)?.into());
    }
    if out == DType::F32 && y.dim() == 0 {
        if let Some(r) = pow_f32_by_constant(&x, y.item_f64()? as f32) {
            return Ok(r.into());
        }
    }
    if out.is_float() {
        return Ok(float_zip!(&x, &y, out, |p: F, q| if q == (2.0 as F) { p * p } else { p.powf(q) })?.into());
    }
    if let Ok(Scalar::Int(e)) = a.scalar("exponent") {
        if e < 0 {
            bail!("Integers to negative integer powers are not allowed.");
        }
    }
    let dt = if out == DType::Bool { DType::Bool } else { out };
    Ok(zip_i64(&x, &y, dt, int_pow)?.into())
}

fn atan2_out(a: &Args) -> Result<Value> {
    let out = a.tensor("out")?;
    let r = float_binary(a, "self", "other", |x, y| x.atan2(y), |x, y| x.atan2(y))?;
    let Value::Tensor(r) = r else { unreachable!("float_binary returns a tensor") };
    if out.shape() != r.shape() {
        bail!("atan2.out: out has shape {:?} but the result has shape {:?}", out.shape(), r.shape());
    }
    out.copy_(&r)?;
    Ok(Value::Tensor(out.clone()))
}

/// A float32 tensor to a constant power that has a cheaper form than `powf`, in one vectorized
/// pass: the exponents PyTorch's CPU kernel also special-cases (GPT-2's tanh GELU cubes its
/// activations; `powf(x, 3.0)` ran at a tenth of the speed of `x * x * x`).
fn pow_f32_by_constant(x: &Tensor, e: f32) -> Option<Tensor> {
    Some(match e {
        1.0 => elementwise::map_f32(x, |v: f32| v),
        2.0 => elementwise::map_f32(x, |v: f32| v * v),
        3.0 => elementwise::map_f32(x, |v: f32| v * v * v),
        0.5 => elementwise::map_f32(x, |v: f32| v.sqrt()),
        -0.5 => elementwise::map_f32(x, |v: f32| 1.0 / v.sqrt()),
        -1.0 => elementwise::map_f32(x, |v: f32| 1.0 / v),
        -2.0 => elementwise::map_f32(x, |v: f32| 1.0 / (v * v)),
        _ => return None,
    })
}

/// `maximum`/`minimum` propagate NaN; `fmax`/`fmin` ignore it.
fn extremum(a: &Args, max: bool, propagate_nan: bool) -> Result<Value> {
    let (x, y, out) = promoted(a, "self", "other")?;
    if out.is_float() {
        return Ok(float_zip!(&x, &y, out, |p, q| {
            if p.is_nan() || q.is_nan() {
                if propagate_nan {
                    p + q
                } else if p.is_nan() {
                    q
                } else {
                    p
                }
            } else if (p > q) == max {
                p
            } else {
                q
            }
        })?
        .into());
    }
    Ok(zip_i64(&x, &y, out, move |p, q| if max { p.max(q) } else { p.min(q) })?.into())
}

fn heaviside(a: &Args) -> Result<Value> {
    let (x, y, out) = promoted(a, "self", "values")?;
    Ok(zip_f64(&x, &y, out, |p, q| if p == 0.0 { q } else if p.is_nan() { p } else if p > 0.0 { 1.0 } else { 0.0 })?.into())
}

fn lerp(a: &Args) -> Result<Value> {
    let (x, y) = (a.tensor("self")?, a.tensor("end")?);
    let out = x.dtype();
    if out.is_complex() {
        let (re, im) = a.number("weight")?.to_complex();
        let w = Complex::new(re, im);
        return Ok(complex::zip(x, y, out, move |p, q| if w.norm() < 0.5 { p + w * (q - p) } else { q - (q - p) * (1.0 - w) })?.into());
    }
    let w = a.scalar("weight")?.to_f64();
    // PyTorch's formula is exact at both ends: start + w*(end-start) below 0.5, end - (1-w)*(end-start) above
    Ok(float_zip!(&x.to_dtype(out), &y.to_dtype(out), out, |p: F, q| {
        let d = q - p;
        if (w as F).abs() < (0.5 as F) {
            p + (w as F) * d
        } else {
            q - d * ((1.0 - w) as F)
        }
    })?
    .into())
}

/// `self + value * t1 * t2` or `self + value * t1 / t2`.
fn addc(a: &Args, divide: bool) -> Result<Value> {
    let (s, t1, t2) = (a.tensor("self")?, a.tensor("tensor1")?, a.tensor("tensor2")?);
    let out = tensor::result_type(&[
        tensor::Operand::Tensor { dtype: s.dtype(), dim: s.dim() },
        tensor::Operand::Tensor { dtype: t1.dtype(), dim: t1.dim() },
        tensor::Operand::Tensor { dtype: t2.dtype(), dim: t2.dim() },
    ])?;
    if out.is_complex() {
        let (re, im) = a.number("value")?.to_complex();
        let v = Complex::new(re, im);
        let product = complex::zip(t1, t2, out, move |q, r| if divide { q / r } else { q * r })?;
        return Ok(complex::zip(s, &product, out, move |p, m| p + v * m)?.into());
    }
    let value = a.scalar("value")?;
    if divide && !out.is_float() {
        bail!("Integer division with addcdiv is no longer supported, and in a future release addcdiv will perform a true division of tensor1 and tensor2.");
    }
    if out.is_float() {
        let v = value.to_f64();
        let c = if out == DType::F64 { DType::F64 } else { DType::F32 };
        let r = if c == DType::F64 {
            elementwise::zip3::<f64, f64, f64, f64>(&s.to_dtype(c), &t1.to_dtype(c), &t2.to_dtype(c), |p, q, r| if divide { p + v * (q / r) } else { p + v * q * r })?
        } else {
            let v = v as f32;
            elementwise::zip3::<f32, f32, f32, f32>(&s.to_dtype(c), &t1.to_dtype(c), &t2.to_dtype(c), |p, q, r| if divide { p + v * (q / r) } else { p + v * q * r })?
        };
        return Ok(r.to_dtype(out).into());
    }
    let v = value.to_i64();
    let i = DType::I64;
    Ok(elementwise::zip3::<i64, i64, i64, i64>(&s.to_dtype(i), &t1.to_dtype(i), &t2.to_dtype(i), |p, q, r| p.wrapping_add(v.wrapping_mul(q).wrapping_mul(r)))?
        .to_dtype(out)
        .into())
}

// ----- comparisons and logic ----------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    const ALL: [Cmp; 6] = [Cmp::Eq, Cmp::Ne, Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge];

    /// The operator's name (`aten::lt`).
    fn name(self) -> &'static str {
        match self {
            Cmp::Eq => "eq",
            Cmp::Ne => "ne",
            Cmp::Lt => "lt",
            Cmp::Le => "le",
            Cmp::Gt => "gt",
            Cmp::Ge => "ge",
        }
    }

    fn f(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }

    fn i(self, a: i64, b: i64) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }
}

/// Compares in the promoted dtype, so `int_tensor < 2.5` compares as floats.
fn compare(a: &Args, op: Cmp) -> Result<Value> {
    let (x, y, out) = promoted(a, "self", "other")?;
    if out.is_complex() {
        return match op {
            Cmp::Eq | Cmp::Ne => Ok(complex::equal(&x, &y, out, op == Cmp::Eq)?.into()),
            _ => bail!("\"{}_cpu\" not implemented for '{}'", op.name(), torch_type_name(out)),
        };
    }
    if out.is_wide_unsigned() && !matches!(op, Cmp::Eq | Cmp::Ne) {
        // as in PyTorch, which orders no uint16/32/64 values (compared as int64, uint64 values
        // past 2^63 would be ordered wrongly anyway; equality survives the wrap)
        bail!("\"{}_cpu\" not implemented for '{}'", op.name(), torch_type_name(out));
    }
    Ok(if out == DType::F32 {
        // both sides are float32 already: widening to f64 is exact and keeps every order, so
        // comparing in f32 gives the same answer without a double-size copy of each operand
        elementwise::zip::<f32, f32, Bool8>(&x, &y, move |p, q| op.f(p as f64, q as f64).into())?
    } else if out.is_float() {
        elementwise::zip::<f64, f64, Bool8>(&x.to_dtype(DType::F64), &y.to_dtype(DType::F64), move |p, q| op.f(p, q).into())?
    } else {
        elementwise::zip::<i64, i64, Bool8>(&x.to_dtype(DType::I64), &y.to_dtype(DType::I64), move |p, q| op.i(p, q).into())?
    }
    .into())
}

fn compare_kernel(op: Cmp) -> fn(&Args) -> Result<Value> {
    match op {
        Cmp::Eq => |a| compare(a, Cmp::Eq),
        Cmp::Ne => |a| compare(a, Cmp::Ne),
        Cmp::Lt => |a| compare(a, Cmp::Lt),
        Cmp::Le => |a| compare(a, Cmp::Le),
        Cmp::Gt => |a| compare(a, Cmp::Gt),
        Cmp::Ge => |a| compare(a, Cmp::Ge),
    }
}

/// Truth as `logical_and` and friends read it (`to_dtype(bool)`: nonzero, either part of a
/// complex value), negated.
fn logical_not(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?.to_dtype(DType::Bool);
    Ok(elementwise::map::<Bool8, Bool8>(&x, |v| (!v.get()).into()).into())
}

fn logical(a: &Args, f: fn(bool, bool) -> bool) -> Result<Value> {
    let (x, y) = (a.tensor("self")?, a.tensor("other")?);
    let (bx, by) = (x.to_dtype(DType::Bool), y.to_dtype(DType::Bool));
    Ok(elementwise::zip::<Bool8, Bool8, Bool8>(&bx, &by, move |p, q| f(p.get(), q.get()).into())?.into())
}

fn bitwise(a: &Args, f: fn(i64, i64) -> i64) -> Result<Value> {
    let (x, y, out) = promoted(a, "self", "other")?;
    if out.is_float() {
        bail!("\"bitwise_cpu\" not implemented for '{}'", torch_type_name(out));
    }
    Ok(zip_i64(&x, &y, out, f)?.into())
}

fn shift(a: &Args, left: bool) -> Result<Value> {
    let (x, y, out) = promoted(a, "self", "other")?;
    if out.is_float() {
        bail!("\"{}_cpu\" not implemented for '{}'", if left { "lshift" } else { "rshift" }, torch_type_name(out));
    }
    let bits = (out.size() * 8) as i64;
    Ok(zip_i64(&x, &y, out, move |p, q| {
        // shifting by the width or more (or a negative amount) gives 0 (or the sign) in PyTorch
        if q < 0 || q >= bits {
            if left || p >= 0 {
                0
            } else {
                -1
            }
        } else if left {
            p.wrapping_shl(q as u32)
        } else {
            p >> q
        }
    })?
    .into())
}

fn where_self(a: &Args) -> Result<Value> {
    let cond = a.tensor("condition")?;
    let (x, y, out) = promoted(a, "self", "other")?;
    let c = cond.to_dtype(DType::Bool);
    let r = tensor::with_dtype!(out, T => elementwise::zip3::<Bool8, T, T, T>(&c, &x, &y, |k, p, q| if k.get() { p } else { q })?);
    Ok(r.into())
}

// ----- clamps and activations ---------------------------------------------------------------

fn clamp_scalar(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let schema_has = |n: &str| a.schema().param_index(n).is_some();
    let lo = if schema_has("min") { a.opt_scalar("min")? } else { None };
    let hi = if schema_has("max") { a.opt_scalar("max")? } else { None };
    if lo.is_none() && hi.is_none() {
        bail!("torch.clamp: At least one of 'min' or 'max' must not be None");
    }
    let mut ops = vec![Operand::Tensor(x)];
    ops.extend(lo.map(Operand::Scalar));
    ops.extend(hi.map(Operand::Scalar));
    let out = result_dtype(&ops)?;
    clamp_values(&x.to_dtype(out), lo.map(|s| scalar_tensor(s, out)).transpose()?, hi.map(|s| scalar_tensor(s, out)).transpose()?, out)
}

fn clamp_tensor(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let get = |n: &str| -> Result<Option<Tensor>> {
        if a.schema().param_index(n).is_some() {
            Ok(a.opt_tensor(n)?.cloned())
        } else {
            Ok(None)
        }
    };
    let (lo, hi) = (get("min")?, get("max")?);
    if lo.is_none() && hi.is_none() {
        bail!("torch.clamp: At least one of 'min' or 'max' must not be None");
    }
    let mut ops = vec![Operand::Tensor(x)];
    ops.extend(lo.as_ref().map(Operand::Tensor));
    ops.extend(hi.as_ref().map(Operand::Tensor));
    let out = result_dtype(&ops)?;
    clamp_values(&x.to_dtype(out), lo.map(|t| t.to_dtype(out)), hi.map(|t| t.to_dtype(out)), out)
}

/// `min(max(x, lo), hi)` with NaN propagating from `x` and from the bounds.
fn clamp_values(x: &Tensor, lo: Option<Tensor>, hi: Option<Tensor>, out: DType) -> Result<Value> {
    let mut r = x.clone();
    if let Some(l) = lo {
        r = if out.is_float() {
            float_zip!(&r, &l, out, |p, q| if p.is_nan() || q.is_nan() { p + q } else if p < q { q } else { p })?
        } else {
            zip_i64(&r, &l, out, |p, q| p.max(q))?
        };
    }
    if let Some(h) = hi {
        r = if out.is_float() {
            float_zip!(&r, &h, out, |p, q| if p.is_nan() || q.is_nan() { p + q } else if p > q { q } else { p })?
        } else {
            zip_i64(&r, &h, out, |p, q| p.min(q))?
        };
    }
    Ok(r.into())
}

fn hardtanh(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let (lo, hi) = (a.scalar("min_val")?, a.scalar("max_val")?);
    if x.dtype() == DType::Bool {
        bail!("\"hardtanh_cpu\" not implemented for 'Bool'");
    }
    clamp_values(x, Some(scalar_tensor(lo, x.dtype())?), Some(scalar_tensor(hi, x.dtype())?), x.dtype())
}

fn threshold(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let (t, v) = (a.scalar("threshold")?.to_f64(), a.scalar("value")?.to_f64());
    Ok(map_f64(x, x.dtype(), |p| if p <= t { v } else { p }).into())
}

fn leaky_relu(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let s = a.scalar("negative_slope")?.to_f64();
    if !x.dtype().is_float() {
        bail!("\"leaky_relu_cpu\" not implemented for '{}'", torch_type_name(x.dtype()));
    }
    Ok(float_map!(x, x.dtype(), |v: F| if v > (0.0 as F) { v } else { v * (s as F) }).into())
}

fn elu(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let (alpha, scale, input_scale) = (a.scalar("alpha")?.to_f64(), a.scalar("scale")?.to_f64(), a.scalar("input_scale")?.to_f64());
    if !x.dtype().is_float() {
        bail!("\"elu_cpu\" not implemented for '{}'", torch_type_name(x.dtype()));
    }
    Ok(float_map!(x, x.dtype(), |v: F| if v > (0.0 as F) {
        v * (scale as F)
    } else {
        ((v * (input_scale as F)).exp_m1()) * ((alpha * scale) as F)
    })
    .into())
}

fn celu(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let alpha = a.scalar("alpha")?.to_f64();
    if !x.dtype().is_float() {
        bail!("\"elu_cpu\" not implemented for '{}'", torch_type_name(x.dtype()));
    }
    Ok(float_map!(x, x.dtype(), |v: F| if v > (0.0 as F) { v } else { ((v / (alpha as F)).exp_m1()) * (alpha as F) }).into())
}

fn gelu(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let approx = a.str("approximate")?;
    if !x.dtype().is_float() {
        bail!("\"GeluKernelImpl\" not implemented for '{}'", torch_type_name(x.dtype()));
    }
    match (approx, x.dtype()) {
        ("none", DType::F32) => return Ok(elementwise::map_f32(x, vmath::Gelu).into()),
        ("tanh", DType::F32) => return Ok(elementwise::map_f32(x, vmath::GeluTanh).into()),
        _ => {}
    }
    Ok(match approx {
        "none" => map_f64(x, x.dtype(), |v| 0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2))),
        "tanh" => map_f64(x, x.dtype(), |v| {
            let k = (2.0 / std::f64::consts::PI).sqrt();
            0.5 * v * (1.0 + (k * (v + 0.044715 * v * v * v)).tanh())
        }),
        other => bail!("approximate argument must be either none or tanh, got {other}"),
    }
    .into())
}

fn softplus(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let (beta, th) = (a.scalar("beta")?.to_f64(), a.scalar("threshold")?.to_f64());
    if !x.dtype().is_float() {
        bail!("\"softplus_cpu\" not implemented for '{}'", torch_type_name(x.dtype()));
    }
    Ok(float_map!(x, x.dtype(), |v: F| if v * (beta as F) > (th as F) { v } else { ((v * (beta as F)).exp().ln_1p()) / (beta as F) }).into())
}

fn shrink(a: &Args, hard: bool) -> Result<Value> {
    let x = a.tensor("self")?;
    let l = a.scalar("lambd")?.to_f64();
    if !x.dtype().is_float() {
        bail!("shrink is only implemented for floating-point tensors, got '{}'", torch_type_name(x.dtype()));
    }
    Ok(float_map!(x, x.dtype(), |v: F| {
        let lam = l as F;
        if v > lam {
            if hard {
                v
            } else {
                v - lam
            }
        } else if v < -lam {
            if hard {
                v
            } else {
                v + lam
            }
        } else if v.is_nan() {
            v
        } else {
            0.0
        }
    })
    .into())
}

/// `log(sigmoid(x))` computed stably, and the buffer PyTorch's CPU kernel returns with it.
fn log_sigmoid_forward(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    if !x.dtype().is_float() {
        bail!("\"log_sigmoid_forward_cpu\" not implemented for '{}'", torch_type_name(x.dtype()));
    }
    let out = float_map!(x, x.dtype(), |v: F| {
        let m = if v < (0.0 as F) { v } else { 0.0 };
        m - ((-v.abs()).exp()).ln_1p()
    });
    let buffer = float_map!(x, x.dtype(), |v: F| (-v.abs()).exp());
    Ok((out, buffer).into())
}
