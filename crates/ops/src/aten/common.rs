//! Helpers shared by the kernel families: operands that may be tensors or Python scalars,
//! dtype rules, and element-wise maps that compute floating point in `f32`/`f64` as PyTorch's
//! CPU kernels do (half types compute in `f32`).

use tensor::kernels::elementwise;
use tensor::{DType, Element, Operand as PromoteOperand, Result, Scalar, Tensor};

pub use tensor::bail;

/// A tensor or a Python number in an operator's argument list (`add.Tensor` vs `add.Scalar`).
#[derive(Clone, Copy, Debug)]
pub enum Operand<'a> {
    Tensor(&'a Tensor),
    Scalar(Scalar),
}

impl Operand<'_> {
    fn for_promotion(&self) -> PromoteOperand {
        match self {
            Operand::Tensor(t) => PromoteOperand::Tensor { dtype: t.dtype(), dim: t.dim() },
            Operand::Scalar(s) => PromoteOperand::Scalar(*s),
        }
    }

    /// The operand as a tensor of `dtype` (a 0-dim tensor for a scalar).
    /// The operand as a tensor of `dtype`: a tensor already of it keeps its layout (the
    /// element-wise kernels read any strides, and follow a permuted operand's layout as
    /// PyTorch does); others are converted.
    pub fn to_tensor(&self, dtype: DType) -> Result<Tensor> {
        Ok(match self {
            Operand::Tensor(t) if t.dtype() == dtype => (*t).clone(),
            Operand::Tensor(t) => t.to_dtype(dtype),
            Operand::Scalar(s) => scalar_tensor(*s, dtype)?,
        })
    }
}

/// `torch.result_type` over operands.
pub fn result_dtype(ops: &[Operand]) -> Result<DType> {
    Ok(tensor::result_type(&ops.iter().map(Operand::for_promotion).collect::<Vec<_>>())?)
}

/// A 0-dim tensor of `dtype` holding `s` (integers stay exact).
pub fn scalar_tensor(s: Scalar, dtype: DType) -> Result<Tensor> {
    super::shape::filled(&[], s, dtype)
}

/// The dtype an integer or bool input is promoted to by a floating-point op (`sin`, `div`):
/// float32; floating and complex dtypes stay as they are.
pub fn float_dtype(dt: DType) -> DType {
    if dt.is_float() || dt.is_complex() {
        dt
    } else {
        DType::F32
    }
}

/// The dtype in which floating-point math on `dt` runs: `f64` for `f64`, `f32` otherwise.
pub fn compute_dtype(dt: DType) -> DType {
    if dt == DType::F64 {
        DType::F64
    } else {
        DType::F32
    }
}

/// Applies `f` to every element in f64 and stores the result as `out` (any dtype).
pub fn map_f64(x: &Tensor, out: DType, f: impl Fn(f64) -> f64 + Sync) -> Tensor {
    // float32 and float64 in and out: one pass, widened and rounded element by element (the
    // same values as converting the whole tensor first)
    match (x.dtype(), out) {
        (DType::F32, DType::F32) => elementwise::map::<f32, f32>(x, |v| f(v as f64) as f32),
        (DType::F64, DType::F64) => elementwise::map::<f64, f64>(x, f),
        _ => elementwise::map::<f64, f64>(&x.to_dtype(DType::F64), f).to_dtype(out),
    }
}

/// Applies `f` to every pair of broadcast elements in f64, storing the result as `out`.
pub fn zip_f64(a: &Tensor, b: &Tensor, out: DType, f: impl Fn(f64, f64) -> f64 + Sync) -> Result<Tensor> {
    if (a.dtype(), b.dtype(), out) == (DType::F32, DType::F32, DType::F32) {
        return elementwise::zip::<f32, f32, f32>(a, b, |p, q| f(p as f64, q as f64) as f32);
    }
    let r = elementwise::zip::<f64, f64, f64>(&a.to_dtype(DType::F64), &b.to_dtype(DType::F64), f)?;
    Ok(r.to_dtype(out))
}

/// Applies `f` to every element as i64 (exact for every integer dtype), storing as `out`.
pub fn map_i64(x: &Tensor, out: DType, f: impl Fn(i64) -> i64 + Sync) -> Tensor {
    let r = elementwise::map::<i64, i64>(&x.to_dtype(DType::I64), f);
    r.to_dtype(out)
}

pub fn zip_i64(a: &Tensor, b: &Tensor, out: DType, f: impl Fn(i64, i64) -> i64 + Sync) -> Result<Tensor> {
    let r = elementwise::zip::<i64, i64, i64>(&a.to_dtype(DType::I64), &b.to_dtype(DType::I64), f)?;
    Ok(r.to_dtype(out))
}

/// Element-wise predicate producing a bool tensor, evaluated in f64.
pub fn map_bool(x: &Tensor, f: impl Fn(f64) -> bool + Sync) -> Tensor {
    // bool and float32 read as they are (exact in f64); others widened first
    match x.dtype() {
        DType::Bool => elementwise::map::<tensor::Bool8, tensor::Bool8>(x, |v| f(v.get() as u8 as f64).into()),
        DType::F32 => elementwise::map::<f32, tensor::Bool8>(x, |v| f(v as f64).into()),
        _ => elementwise::map::<f64, tensor::Bool8>(&x.to_dtype(DType::F64), |v| f(v).into()),
    }
}

/// Applies a type-generic float expression element-wise: the body is compiled for `f32` and
/// `f64`, and runs in `compute_dtype(out)`; the result is stored as `out`. Name the element type
/// (`|v: F|`) to write constants of it (`c as F`).
///
/// `float_map!(x, out, |v| v.sin())`, `float_map!(x, out, |v: F| v * (k as F))`
#[macro_export]
macro_rules! float_map {
    ($x:expr, $out:expr, |$v:ident| $body:expr) => {
        $crate::float_map!($x, $out, |$v: __F| $body)
    };
    ($x:expr, $out:expr, |$v:ident : $F:ident| $body:expr) => {{
        let x: &tensor::Tensor = $x;
        let out: tensor::DType = $out;
        let r = if out == tensor::DType::F64 {
            #[allow(dead_code)]
            type $F = f64;
            tensor::kernels::elementwise::map::<f64, f64>(&x.to_dtype(tensor::DType::F64), |$v: f64| $body)
        } else {
            #[allow(dead_code)]
            type $F = f32;
            tensor::kernels::elementwise::map::<f32, f32>(&x.to_dtype(tensor::DType::F32), |$v: f32| $body)
        };
        r.to_dtype(out)
    }};
}

/// The two-input form of [`float_map!`], with broadcasting.
#[macro_export]
macro_rules! float_zip {
    ($a:expr, $b:expr, $out:expr, |$x:ident, $y:ident| $body:expr) => {
        $crate::float_zip!($a, $b, $out, |$x: __F, $y| $body)
    };
    ($a:expr, $b:expr, $out:expr, |$x:ident : $F:ident, $y:ident| $body:expr) => {{
        let (a, b): (&tensor::Tensor, &tensor::Tensor) = ($a, $b);
        let out: tensor::DType = $out;
        let r = if out == tensor::DType::F64 {
            #[allow(dead_code)]
            type $F = f64;
            tensor::kernels::elementwise::zip::<f64, f64, f64>(
                &a.to_dtype(tensor::DType::F64),
                &b.to_dtype(tensor::DType::F64),
                |$x: f64, $y: f64| $body,
            )
        } else {
            #[allow(dead_code)]
            type $F = f32;
            tensor::kernels::elementwise::zip::<f32, f32, f32>(
                &a.to_dtype(tensor::DType::F32),
                &b.to_dtype(tensor::DType::F32),
                |$x: f32, $y: f32| $body,
            )
        };
        r.map(|t| t.to_dtype(out))
    }};
}

/// Reads any tensor as `T` element values, in logical order.
pub fn values<T: Element>(t: &Tensor) -> Vec<T> {
    t.to_vec::<T>()
}

/// The `Operand` for a parameter that may hold a tensor or a number.
pub fn operand<'a>(args: &'a crate::Args, name: &str) -> Result<Operand<'a>> {
    match args.get(name)? {
        crate::Value::Tensor(t) => Ok(Operand::Tensor(t)),
        v => v
            .as_scalar()
            .map(Operand::Scalar)
            .ok_or_else(|| tensor::Error::msg(format!("argument '{name}' must be a Tensor or a number, not {}", v.kind()))),
    }
}

/// PyTorch's C++ type name in errors ("not implemented for 'Float'", "Got: Long").
pub fn torch_type_name(d: DType) -> &'static str {
    match d {
        DType::U8 => "Byte",
        DType::U16 => "UInt16",
        DType::U32 => "UInt32",
        DType::U64 => "UInt64",
        DType::I8 => "Char",
        DType::I16 => "Short",
        DType::I32 => "Int",
        DType::I64 => "Long",
        DType::F16 => "Half",
        DType::F32 => "Float",
        DType::F64 => "Double",
        DType::Bool => "Bool",
        DType::BF16 => "BFloat16",
        DType::C64 => "ComplexFloat",
        DType::C128 => "ComplexDouble",
    }
}
