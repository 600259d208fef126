//! PyTorch's type promotion: `promote_types` and `result_type` with Python-scalar operands.

use crate::{Category, DType};

/// A Python number passed where a tensor could be (`x + 1`, `torch.add(x, 2.5)`, `x * 1j`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A Python `complex`: real and imaginary parts.
    Complex(f64, f64),
}

impl Scalar {
    /// The dtype a wrapped number takes in promotion: the default float dtype, `int64` or bool.
    pub fn dtype(self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::Int(_) => DType::I64,
            Scalar::Float(_) => DType::F32,
            Scalar::Complex(..) => DType::C64,
        }
    }

    /// The value as a real number (a complex one's real part: callers that compute in real
    /// numbers refuse complex scalars first, as `ops::Args::scalar` does).
    pub fn to_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => b as u8 as f64,
            Scalar::Int(i) => i as f64,
            Scalar::Float(f) | Scalar::Complex(f, _) => f,
        }
    }

    pub fn to_i64(self) -> i64 {
        match self {
            Scalar::Bool(b) => b as i64,
            Scalar::Int(i) => i,
            Scalar::Float(f) | Scalar::Complex(f, _) => f as i64,
        }
    }

    /// Real and imaginary parts (zero for a real number).
    pub fn to_complex(self) -> (f64, f64) {
        match self {
            Scalar::Complex(re, im) => (re, im),
            real => (real.to_f64(), 0.0),
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Scalar::Float(_))
    }

    pub fn is_complex(self) -> bool {
        matches!(self, Scalar::Complex(..))
    }
}

/// Operands whose promoted dtype pt2 cannot give.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PromotionError {
    /// PyTorch promotes `uint16`, `uint32` and `uint64` only with themselves and with floating
    /// dtypes.
    #[error("{a} and {b} have no common dtype: PyTorch promotes uint16, uint32 and uint64 only with themselves and floating dtypes (convert one with .to() first)")]
    NoCommonDtype { a: DType, b: DType },
    /// A half-precision tensor with a complex number or zero-dim complex tensor makes PyTorch's
    /// `complex32` (or `BComplex32`), which pt2 does not have.
    #[error("{real} with a complex number promotes to a half-precision complex dtype in PyTorch, which pt2 does not support (convert to torch.float32 first)")]
    HalfComplex { real: DType },
}

/// `torch.promote_types`.
pub fn promote_types(a: DType, b: DType) -> Result<DType, PromotionError> {
    use DType::*;
    if a == b {
        return Ok(a);
    }
    if a.is_wide_unsigned() || b.is_wide_unsigned() {
        return match (a.is_float(), b.is_float()) {
            (true, _) => Ok(a),
            (_, true) => Ok(b),
            _ => Err(PromotionError::NoCommonDtype { a, b }),
        };
    }
    Ok(match (a.category(), b.category()) {
        (Category::Bool, _) => b,
        (_, Category::Bool) => a,
        // complex wins; double precision on either side makes complex128
        (Category::Complex, _) | (_, Category::Complex) => {
            if [a, b].iter().any(|d| matches!(d, F64 | C128)) {
                C128
            } else {
                C64
            }
        }
        (Category::Floating, Category::Floating) => match (a, b) {
            (F16, BF16) | (BF16, F16) => F32,
            _ => {
                if a.size() >= b.size() {
                    a
                } else {
                    b
                }
            }
        },
        (Category::Floating, Category::Integral) => a,
        (Category::Integral, Category::Floating) => b,
        (Category::Integral, Category::Integral) => {
            // u8 is the only unsigned type: with a signed type it needs the next wider signed one.
            let (u, s) = match (a, b) {
                (U8, s) | (s, U8) => (true, s),
                _ => (false, a),
            };
            if u {
                match s {
                    I8 => I16,
                    other => other,
                }
            } else if a.size() >= b.size() {
                a
            } else {
                b
            }
        }
    })
}

/// One operand of `result_type`.
#[derive(Clone, Copy, Debug)]
pub enum Operand {
    /// A tensor and its number of dimensions.
    Tensor { dtype: DType, dim: usize },
    Scalar(Scalar),
}

fn promote_opt(a: Option<DType>, b: DType) -> Result<Option<DType>, PromotionError> {
    Ok(Some(match a {
        None => b,
        Some(a) => promote_types(a, b)?,
    }))
}

/// The higher-priority operands' dtype, changed by the lower ones' only where those are of a
/// higher category (bool < integral < floating < complex), as c10's `combine_categories`: a
/// complex one over floats keeps the floats' precision (`float32` with `1j` or a zero-dim
/// `complex128` is `complex64`) and over integers is taken as it is (`uint32` with `1j` is
/// `complex64`); a float one over integers or bools is promoted with them.
fn combine_categories(higher: Option<DType>, lower: Option<DType>) -> Result<Option<DType>, PromotionError> {
    let (h, l) = match (higher, lower) {
        (Some(h), Some(l)) => (h, l),
        (None, l) => return Ok(l),
        (h, None) => return Ok(h),
    };
    Ok(Some(match () {
        _ if h.is_complex() => h,
        _ if l.is_complex() && h.is_float() => match h {
            DType::F32 | DType::F64 => h.to_complex(),
            _ => return Err(PromotionError::HalfComplex { real: h }),
        },
        _ if l.is_complex() => l,
        _ if h.is_float() => h,
        _ if h == DType::Bool || l.is_float() => promote_types(h, l)?,
        _ => h,
    }))
}

/// `torch.result_type` over tensors and Python scalars: dimensioned tensors decide the dtype
/// unless a zero-dim tensor or a scalar is of a higher category (bool < integral < floating <
/// complex).
pub fn result_type(operands: &[Operand]) -> Result<DType, PromotionError> {
    let (mut dim, mut zero, mut wrapped) = (None, None, None);
    for op in operands {
        match *op {
            Operand::Tensor { dtype, dim: d } if d > 0 => dim = promote_opt(dim, dtype)?,
            Operand::Tensor { dtype, .. } => zero = promote_opt(zero, dtype)?,
            Operand::Scalar(s) => wrapped = promote_opt(wrapped, s.dtype())?,
        }
    }
    Ok(combine_categories(dim, combine_categories(zero, wrapped)?)?.unwrap_or(DType::F32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use DType::*;

    #[test]
    fn promote_table_matches_torch() {
        // Expected values from torch.promote_types in PyTorch 2.15.
        let p = |a, b| promote_types(a, b).unwrap();
        assert_eq!(p(U8, I8), I16);
        assert_eq!(p(U8, I64), I64);
        assert_eq!(p(Bool, U8), U8);
        assert_eq!(p(I32, F16), F16);
        assert_eq!(p(F16, BF16), F32);
        assert_eq!(p(F32, F64), F64);
        assert_eq!(p(I64, F32), F32);
    }

    #[test]
    fn wide_unsigned_promote_only_with_floats() {
        // torch.promote_types in PyTorch 2.15: uint16/32/64 with a floating dtype give the
        // floating one; with anything else (bool, uint8, signed, complex, another width) it
        // raises "Promotion for uint16, uint32, uint64 types is not supported".
        for u in [U16, U32, U64] {
            assert_eq!(promote_types(u, u), Ok(u));
            for f in [F16, BF16, F32, F64] {
                assert_eq!(promote_types(u, f), Ok(f));
                assert_eq!(promote_types(f, u), Ok(f));
            }
            for other in [Bool, U8, I8, I16, I32, I64, C64, C128, U16, U32, U64].into_iter().filter(|&d| d != u) {
                assert_eq!(promote_types(u, other), Err(PromotionError::NoCommonDtype { a: u, b: other }));
            }
        }
        let t = |dtype, dim| Operand::Tensor { dtype, dim };
        // torch.result_type(torch.ones(2, dtype=torch.uint32), x) for x = 1, True, tensor(1),
        // 1.5, tensor(1.5, dtype=float64), 1j and torch.ones(2, dtype=torch.bool)
        assert_eq!(result_type(&[t(U32, 1), Operand::Scalar(Scalar::Int(1))]), Ok(U32));
        assert_eq!(result_type(&[t(U32, 1), Operand::Scalar(Scalar::Bool(true))]), Ok(U32));
        assert_eq!(result_type(&[t(U32, 1), t(I64, 0)]), Ok(U32));
        assert_eq!(result_type(&[t(U32, 1), Operand::Scalar(Scalar::Float(1.5))]), Ok(F32));
        assert_eq!(result_type(&[t(U32, 1), t(F64, 0)]), Ok(F64));
        assert_eq!(result_type(&[t(U32, 1), t(C64, 0)]), Ok(C64));
        assert!(result_type(&[t(U32, 1), t(Bool, 1)]).is_err());
    }

    /// `torch.result_type` in PyTorch 2.15 with complex operands of a lower priority.
    #[test]
    fn complex_numbers_keep_a_float_tensors_precision() {
        let t = |dtype, dim| Operand::Tensor { dtype, dim };
        let j = Operand::Scalar(Scalar::Complex(0.0, 1.0));
        assert_eq!(result_type(&[t(F32, 1), t(C128, 0)]), Ok(C64));
        assert_eq!(result_type(&[t(F64, 1), t(C64, 0)]), Ok(C128));
        assert_eq!(result_type(&[t(I32, 1), t(C128, 0)]), Ok(C128));
        assert_eq!(result_type(&[t(F32, 1), j]), Ok(C64));
        assert_eq!(result_type(&[t(F64, 1), j]), Ok(C128));
        assert_eq!(result_type(&[t(I64, 1), j]), Ok(C64));
        assert_eq!(result_type(&[t(F64, 0), j]), Ok(C128));
        // complex32 in PyTorch
        assert_eq!(result_type(&[t(F16, 1), j]), Err(PromotionError::HalfComplex { real: F16 }));
        // a float zero-dim tensor lifts integers to its own dtype, not over a float tensor
        assert_eq!(result_type(&[t(I32, 1), t(F64, 0)]), Ok(F64));
        assert_eq!(result_type(&[t(F32, 1), t(F64, 0)]), Ok(F32));
    }

    #[test]
    fn scalars_do_not_widen_tensors() {
        let t = |dtype, dim| Operand::Tensor { dtype, dim };
        let result_type = |ops: &[Operand]| result_type(ops).unwrap();
        // torch.result_type(torch.ones(2, dtype=torch.int32), 5) == int32
        assert_eq!(result_type(&[t(I32, 1), Operand::Scalar(Scalar::Int(5))]), I32);
        // ... with 2.5 -> float32 (the default dtype)
        assert_eq!(result_type(&[t(I32, 1), Operand::Scalar(Scalar::Float(2.5))]), F32);
        // f16 tensor with a float scalar stays f16
        assert_eq!(result_type(&[t(F16, 1), Operand::Scalar(Scalar::Float(2.5))]), F16);
        // a zero-dim float64 tensor does not widen a float32 tensor
        assert_eq!(result_type(&[t(F32, 1), t(F64, 0)]), F32);
        // but a zero-dim float tensor lifts an integer tensor to its own dtype
        assert_eq!(result_type(&[t(I64, 2), t(F64, 0)]), F64);
        // bool tensor with an int scalar -> int64
        assert_eq!(result_type(&[t(Bool, 1), Operand::Scalar(Scalar::Int(1))]), I64);
        assert_eq!(result_type(&[t(U8, 1), t(I8, 1)]), I16);
        // torch.result_type(torch.ones(2), torch.tensor(1j)) == complex64; with float64, complex128
        assert_eq!(result_type(&[t(F32, 1), t(C64, 0)]), C64);
        assert_eq!(result_type(&[t(F64, 1), t(C64, 0)]), C128);
        // a zero-dim float64 tensor does not widen a complex64 one
        assert_eq!(result_type(&[t(C64, 1), t(F64, 0)]), C64);
    }
}
